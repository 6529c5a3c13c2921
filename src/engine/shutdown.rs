//! Stopping a run: a soft stop (no new calls, drain in-flight ones) and a hard stop (cancel them).
//!
//! The first SIGINT/SIGTERM asks for a soft stop; a second SIGINT makes it hard. Either way the
//! summary is still written.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::StopReason;

/// The two stop tokens of a run and why it stopped.
#[derive(Clone, Default)]
pub struct Stop {
    /// Stop scheduling; in-flight calls may finish within the grace period.
    pub soft: CancellationToken,
    /// Give up on in-flight calls now (they are counted, not lost).
    pub hard: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
    /// Woken on every signal received (ends a linger even when the run already stopped).
    signalled: Arc<Notify>,
}

impl Stop {
    /// A fresh pair of tokens.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks for a soft stop; the first reason given wins.
    pub fn request(&self, reason: StopReason) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
            r.get_or_insert(reason);
        }
        self.soft.cancel();
    }

    /// The reason given to [`Stop::request`], or `default` when nobody asked.
    pub fn reason(&self, default: StopReason) -> StopReason {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(default)
    }

    /// Resolves at the next signal received after this call (see [`Stop::listen_for_signals`]).
    pub async fn next_signal(&self) {
        self.signalled.notified().await;
    }

    /// Listens for SIGINT/SIGTERM in the background: the first soft-stops, the next hard-stops.
    ///
    /// The handlers are installed before this returns, so a signal sent right after is not lost.
    pub fn listen_for_signals(&self) -> tokio::task::JoinHandle<()> {
        let stop = self.clone();
        let mut signals = Signals::install();
        tokio::spawn(async move {
            let mut signals_seen = 0;
            while signals.next().await {
                stop.signalled.notify_waiters();
                signals_seen += 1;
                if signals_seen == 1 {
                    tracing::warn!(
                        "stop requested: finishing in-flight calls (signal again to stop at once)"
                    );
                    stop.request(StopReason::Signal);
                } else {
                    tracing::warn!("stopping at once");
                    stop.hard.cancel();
                    return;
                }
            }
        })
    }
}

/// SIGINT and SIGTERM streams, installed once (re-installing per wait could miss a signal).
#[cfg(unix)]
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

#[cfg(unix)]
impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Signals(Some((int, term))),
            _ => {
                tracing::warn!("cannot listen for SIGINT/SIGTERM");
                Signals(None)
            }
        }
    }

    /// Waits for SIGINT or SIGTERM; false if signals cannot be listened for.
    async fn next(&mut self) -> bool {
        let Some((int, term)) = &mut self.0 else {
            return false;
        };
        tokio::select! {
            s = int.recv() => s.is_some(),
            s = term.recv() => s.is_some(),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Self {
        Signals
    }
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
