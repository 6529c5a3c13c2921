//! The open-model loop: sleeps until each slot's intended time and hands every due slot to a sink.
//!
//! The loop never waits on the server. If it falls behind (a busy machine), it fires every slot that
//! is due at once, so the count stays right and the lateness shows up as schedule lag. `governor`
//! is the hard ceiling: when catching up would exceed `max_rate`, slots wait for the limiter (and
//! their latency, measured from the intended time, says so).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use super::pacer::{Pacer, Slot};
use crate::timer::Timer;

/// Why the open loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// The last stage (or `max_calls`) is done.
    Finished,
    /// The stop token was cancelled.
    Stopped,
}

/// A hard ceiling on the send rate that allows a burst of `burst` worth of calls (FACTS: a burst of
/// one call loses rate; ~10 ms of rate holds it when waiting on the limiter).
pub fn ceiling(max_rate: f64, burst: Duration) -> Option<Arc<DefaultDirectRateLimiter>> {
    if !(max_rate.is_finite() && max_rate > 0.0) {
        return None;
    }
    let per_second = NonZeroU32::new(max_rate.ceil().min(u32::MAX as f64) as u32)?;
    let burst = NonZeroU32::new(((max_rate * burst.as_secs_f64()).ceil() as u32).max(1))?;
    Some(Arc::new(RateLimiter::direct(
        Quota::per_second(per_second).allow_burst(burst),
    )))
}

/// Runs the pacer from `t0`, calling `fire(k, slot, intended)` for every slot, until the pacer ends or
/// `stop` is cancelled. Sleeps on the precise [`Timer`].
pub async fn run<F>(
    pacer: &Pacer,
    t0: Instant,
    ceiling: Option<&DefaultDirectRateLimiter>,
    stop: &CancellationToken,
    mut fire: F,
) -> LoopEnd
where
    F: FnMut(u64, Slot, Instant),
{
    let timer = Timer::new();
    let mut k: u64 = 0;
    loop {
        let Some(slot) = pacer.slot(k) else {
            return LoopEnd::Finished;
        };
        let intended = t0 + slot.at;
        if intended > Instant::now() {
            tokio::select! {
                _ = timer.sleep_until(intended) => {}
                _ = stop.cancelled() => return LoopEnd::Stopped,
            }
        }
        // Fire everything that is due now (one slot, or a batch after a late wake-up).
        let now = Instant::now();
        let mut slot = slot;
        loop {
            if stop.is_cancelled() {
                return LoopEnd::Stopped;
            }
            if let Some(limiter) = ceiling
                && limiter.check().is_err()
            {
                tokio::select! {
                    _ = limiter.until_ready() => {}
                    _ = stop.cancelled() => return LoopEnd::Stopped,
                }
            }
            fire(k, slot, t0 + slot.at);
            k += 1;
            match pacer.slot(k) {
                Some(next) if t0 + next.at <= now => slot = next,
                Some(_) => break,
                None => return LoopEnd::Finished,
            }
        }
    }
}
