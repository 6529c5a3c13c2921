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
use crate::timer::{Clock, Timer};

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
/// `stop` is cancelled. Sleeps on `clock` (the precise [`Timer`] in production).
pub async fn run<F>(
    clock: &Clock,
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
        if intended > clock.now() {
            tokio::select! {
                _ = clock.sleep_until(&timer, intended) => {}
                _ = stop.cancelled() => return LoopEnd::Stopped,
            }
        }
        // Fire everything that is due now (one slot, or a batch after a late wake-up).
        let now = clock.now();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Stage;

    fn stages() -> Vec<Stage> {
        vec![
            Stage::steady(100.0, Some(Duration::from_secs(1))),
            Stage::steady(50.0, Some(Duration::from_secs(2))),
        ]
    }

    /// Fires the pacer in virtual time, stopping once a slot is due at or after `stop_at`;
    /// returns (stage, intended, fired) offsets per slot.
    async fn fire_all(stop_at: Option<Duration>) -> (LoopEnd, Vec<(usize, Duration, Duration)>) {
        let clock = Clock::virtual_time();
        let pacer = Pacer::new(&stages(), None);
        let t0 = clock.now();
        let stop = CancellationToken::new();
        let mut fired = Vec::new();
        let end = run(&clock, &pacer, t0, None, &stop, |_k, slot, at| {
            fired.push((slot.stage, at - t0, clock.now() - t0));
            if stop_at.is_some_and(|s| at - t0 >= s) {
                stop.cancel();
            }
        })
        .await;
        (end, fired)
    }

    #[tokio::test]
    async fn every_slot_fires_at_its_intended_time_in_its_stage() {
        let (end, fired) = fire_all(None).await;
        assert_eq!(end, LoopEnd::Finished);
        let per_stage = |i| fired.iter().filter(|f| f.0 == i).count();
        assert_eq!((per_stage(0), per_stage(1)), (100, 100));
        for (stage, intended, at) in &fired {
            assert_eq!(intended, at, "stage {stage}: no lag in virtual time");
        }
        assert_eq!(
            fired[100].1,
            Duration::from_secs(1),
            "stage 2 starts at its segment start"
        );
    }

    #[tokio::test]
    async fn a_stop_ends_the_loop_and_fires_nothing_after() {
        let (end, fired) = fire_all(Some(Duration::from_millis(1_500))).await;
        assert_eq!(end, LoopEnd::Stopped);
        // 100 in the first second, then 50/s: slots at 1.00, 1.02, …, 1.50 s.
        assert_eq!(fired.len(), 126);
        assert_eq!(
            fired.last().map(|f| f.1),
            Some(Duration::from_millis(1_500))
        );
    }
}
