//! Stopping a run: a soft stop (no new calls, drain in-flight ones) and a hard stop (cancel them).
//!
//! The first SIGINT/SIGTERM asks for a soft stop; a second SIGINT makes it hard. Either way the
//! summary is still written.

use std::sync::{Arc, Mutex};

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

    /// Listens for SIGINT/SIGTERM in the background: the first soft-stops, the next hard-stops.
    pub fn listen_for_signals(&self) -> tokio::task::JoinHandle<()> {
        let stop = self.clone();
        tokio::spawn(async move {
            let mut signals = 0;
            while wait_for_signal().await {
                signals += 1;
                if signals == 1 {
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

/// Waits for SIGINT or SIGTERM; false if signals cannot be listened for.
#[cfg(unix)]
async fn wait_for_signal() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return false;
    };
    tokio::select! {
        _ = int.recv() => true,
        _ = term.recv() => true,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> bool {
    tokio::signal::ctrl_c().await.is_ok()
}
