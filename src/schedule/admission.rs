//! Admission: whether a slot that is due may start now, or is dropped — and why.
//!
//! The open model never queues a slot without bound: a slot starts with a permit of the in-flight
//! cap, or it is counted `dropped` with its reason. Three rules, checked in order:
//! 1. the operation is paused for a server's `Retry-After` (only with `honor_retry_after`);
//! 2. the operation's own ceiling (`max_rate` on a mix entry) is reached;
//! 3. the in-flight cap is full.
//!
//! Time is a parameter (`now`, offsets from the run's `t0`), so the rules are unit-tested without
//! sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::DefaultDirectRateLimiter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::open;

/// The longest pause a `Retry-After` can impose (a hostile value cannot park an operation longer).
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);

/// Why a due slot was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The operation is paused for a `Retry-After`.
    Paused,
    /// The operation's `max_rate` ceiling is reached.
    OperationCeiling,
    /// `max_in_flight` calls are running.
    InFlightCap,
}

impl DropReason {
    /// The message recorded with the dropped slot.
    pub fn message(self) -> &'static str {
        match self {
            DropReason::Paused => "paused: honoring Retry-After",
            DropReason::OperationCeiling => "operation ceiling reached (mix max_rate)",
            DropReason::InFlightCap => "in-flight cap reached",
        }
    }
}

/// The decision for one slot.
#[derive(Debug)]
pub enum Admit {
    /// Start the call; hold the permit until it ends.
    Go(OwnedSemaphorePermit),
    /// Count the slot as dropped.
    Drop(DropReason),
}

/// The admission policy of one run.
pub struct Admission {
    t0: Instant,
    in_flight: Arc<Semaphore>,
    /// Per operation: its rate ceiling, if any.
    ceilings: Vec<Option<Arc<DefaultDirectRateLimiter>>>,
    /// Per operation: µs after `t0` until which it is paused (0 = not paused).
    paused_until: Vec<AtomicU64>,
    honor_retry_after: bool,
}

impl Admission {
    /// A policy for operations with these `max_rate` ceilings (a 100 ms burst absorbs the
    /// randomness of the weighted pick), at most `max_in_flight` calls at once.
    pub fn new(
        t0: Instant,
        op_max_rates: &[Option<f64>],
        max_in_flight: usize,
        honor_retry_after: bool,
    ) -> Admission {
        Admission {
            t0,
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            ceilings: op_max_rates
                .iter()
                .map(|r| r.and_then(|r| open::ceiling(r, Duration::from_millis(100))))
                .collect(),
            paused_until: op_max_rates.iter().map(|_| AtomicU64::new(0)).collect(),
            honor_retry_after,
        }
    }

    /// May a slot of operation `op` start at `now`?
    pub fn admit(&self, op: usize, now: Instant) -> Admit {
        if self.paused(op, now) {
            return Admit::Drop(DropReason::Paused);
        }
        if self
            .ceilings
            .get(op)
            .and_then(Option::as_ref)
            .is_some_and(|l| l.check().is_err())
        {
            return Admit::Drop(DropReason::OperationCeiling);
        }
        match self.in_flight.clone().try_acquire_owned() {
            Ok(permit) => Admit::Go(permit),
            Err(_) => Admit::Drop(DropReason::InFlightCap),
        }
    }

    /// Whether operation `op` is paused at `now`.
    pub fn paused(&self, op: usize, now: Instant) -> bool {
        let until = self
            .paused_until
            .get(op)
            .map_or(0, |p| p.load(Ordering::Relaxed));
        until > 0 && (now.saturating_duration_since(self.t0).as_micros() as u64) < until
    }

    /// A reply to operation `op` at `now` asked to retry after `secs`: with `honor_retry_after`
    /// its slots are dropped until then (the longest pause wins; at most [`MAX_PAUSE`]).
    pub fn pause(&self, op: usize, now: Instant, secs: f64) {
        if !self.honor_retry_after || !secs.is_finite() || secs <= 0.0 {
            return;
        }
        let pause = Duration::from_secs_f64(secs.min(MAX_PAUSE.as_secs_f64()));
        let until = now.saturating_duration_since(self.t0) + pause;
        if let Some(p) = self.paused_until.get(op) {
            p.fetch_max(until.as_micros() as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_in_flight_cap_drops_what_cannot_start_and_a_finished_call_frees_its_place() {
        let t0 = Instant::now();
        let a = Admission::new(t0, &[None], 2, false);
        let p1 = a.admit(0, t0);
        let p2 = a.admit(0, t0);
        assert!(matches!((&p1, &p2), (Admit::Go(_), Admit::Go(_))));
        assert!(matches!(
            a.admit(0, t0),
            Admit::Drop(DropReason::InFlightCap)
        ));
        drop(p1);
        assert!(matches!(a.admit(0, t0), Admit::Go(_)));
    }

    #[test]
    fn retry_after_pauses_only_its_operation_only_when_honored_and_the_longest_wins() {
        let t0 = Instant::now();
        let a = Admission::new(t0, &[None, None], 10, true);
        a.pause(0, t0 + ms(100), 2.0);
        a.pause(0, t0 + ms(100), 0.5);
        assert!(matches!(
            a.admit(0, t0 + ms(2000)),
            Admit::Drop(DropReason::Paused)
        ));
        assert!(matches!(a.admit(1, t0 + ms(2000)), Admit::Go(_)));
        assert!(matches!(a.admit(0, t0 + ms(2100)), Admit::Go(_)));
        // Not honored: the schedule is kept.
        let kept = Admission::new(t0, &[None], 10, false);
        kept.pause(0, t0, 30.0);
        assert!(!kept.paused(0, t0 + ms(1)));
        // Hostile values: never negative, NaN or longer than an hour.
        a.pause(1, t0, f64::NAN);
        a.pause(1, t0, -5.0);
        assert!(!a.paused(1, t0 + ms(1)));
        a.pause(1, t0, 1e12);
        assert!(a.paused(1, t0 + MAX_PAUSE - ms(1)));
        assert!(!a.paused(1, t0 + MAX_PAUSE + ms(1)));
    }

    #[test]
    fn an_operation_ceiling_drops_past_its_burst_and_leaves_others_alone() {
        let t0 = Instant::now();
        // 10/s with a 100 ms burst: one slot at once, then dropped until the limiter refills.
        let a = Admission::new(t0, &[Some(10.0), None], 100, false);
        assert!(matches!(a.admit(0, t0), Admit::Go(_)));
        assert!(matches!(
            a.admit(0, t0),
            Admit::Drop(DropReason::OperationCeiling)
        ));
        assert!(matches!(a.admit(1, t0), Admit::Go(_)));
    }
}
