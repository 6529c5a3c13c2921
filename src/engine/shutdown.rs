//! Stopping a run: a soft stop (no new calls, drain in-flight ones) and a hard stop (cancel them).
//!
//! The first SIGINT/SIGTERM asks for a soft stop; a second SIGINT makes it hard. Either way the
//! summary is still written.

use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Signals received so far, and a wake-up on each (ends a linger even when the run already
    /// stopped). A count, not only a wake-up: a signal that arrives before anyone waits (while the
    /// report is written) must still end the linger that follows.
    signals: Arc<AtomicU64>,
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

    /// How many signals were received so far (see [`Stop::signal_after`]).
    pub fn signals(&self) -> u64 {
        self.signals.load(Ordering::SeqCst)
    }

    /// Resolves once more than `seen` signals were received (`seen` from [`Stop::signals`]): at
    /// once if one came in between.
    pub async fn signal_after(&self, seen: u64) {
        loop {
            let notified = self.signalled.notified();
            tokio::pin!(notified);
            // Registered before the count is read: a signal after the read wakes this waiter.
            notified.as_mut().enable();
            if self.signals() > seen {
                return;
            }
            notified.await;
        }
    }

    /// Counts a signal and wakes whoever waits for one.
    fn received(&self) {
        self.signals.fetch_add(1, Ordering::SeqCst);
        self.signalled.notify_waiters();
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
                stop.received();
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::timeout;

    use super::*;

    /// Far longer than a wait that is over should take, even on a loaded machine.
    const AT_ONCE: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_signal_before_anyone_waits_is_not_lost() {
        let stop = Stop::new();
        let seen = stop.signals();
        // Ctrl-C while the report is written, before the linger waits.
        stop.received();
        timeout(AT_ONCE, stop.signal_after(seen))
            .await
            .expect("the earlier signal counts");
    }

    #[tokio::test]
    async fn a_signal_while_waiting_ends_the_wait_and_earlier_ones_do_not() {
        let stop = Stop::new();
        stop.received(); // the soft stop of the run itself
        let seen = stop.signals();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.signal_after(seen).await }
        });
        // Not over on the signal before `seen` (a wait that returned would be finished by now).
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "a signal from before `seen` ended it"
        );
        stop.received();
        timeout(AT_ONCE, waiter)
            .await
            .expect("the new signal ends the wait")
            .expect("join");
    }
}
