//! The closed-model loop: `users` tasks, each sending a call, waiting for the reply, then sleeping.
//!
//! This is what the assisted-service and payments scripts did; it hides server stalls (a stalled
//! server slows the senders down), which is why the open model is the default.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs `users` loops of `requests` calls each (`call(user, i)`), sleeping `delay` between calls,
/// until done or `stop` is cancelled. Returns when every user has finished.
pub async fn run<F, Fut>(
    users: u32,
    requests: u64,
    delay: Duration,
    stop: &CancellationToken,
    call: F,
) where
    F: Fn(u32, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tracker = TaskTracker::new();
    for user in 0..users {
        let call = call.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            for i in 0..requests {
                if stop.is_cancelled() {
                    return;
                }
                call(user, i).await;
                if i + 1 < requests && !delay.is_zero() {
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => return,
                    }
                }
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}
