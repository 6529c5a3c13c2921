//! Per-stage aggregation by wall-clock window.
//!
//! A stage's row answers "what happened while the schedule was in this stage": the calls that
//! *ended* inside the stage's window (counts by outcome, latency), the requests that *left* inside
//! it, and — separately — the slots the schedule *meant* for it. The window of stage `i` runs from
//! the pacer's start of segment `i` (an offset from the run's `t0`) to the next segment's start, or
//! to the end of the schedule; what ends after the schedule ended (the drain of in-flight calls) is
//! a row of its own. So a stage that asks 100/s of a server that takes 50/s shows ~50/s achieved,
//! and the last stage does not absorb the drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::mcp::OutcomeKind;

use super::snapshot::{Hist, StageStats, load_counts};
use super::{RecordError, lock, new_hist};

/// One stage as planned: its target rate and where its window starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StagePlan {
    /// Calls per second the stage asks for (0 for the closed model, which has no target rate).
    pub target_rate: f64,
    /// Offset of the stage's start from the run's `t0` (the pacer's segment start); None for a
    /// stage the schedule never reaches (after a stage that runs forever).
    pub start: Option<Duration>,
}

impl StagePlan {
    /// Back-to-back steps from `t0`: `(rate, length)` each.
    pub fn steps(steps: &[(f64, Duration)]) -> Vec<StagePlan> {
        let mut at = Duration::ZERO;
        steps
            .iter()
            .map(|&(target_rate, len)| {
                let p = StagePlan {
                    target_rate,
                    start: Some(at),
                };
                at += len;
                p
            })
            .collect()
    }
}

/// The numbers of one window.
pub(super) struct Window {
    counts: [AtomicU64; OutcomeKind::ALL.len()],
    /// Slots the schedule meant for this stage (by intended send time).
    scheduled: AtomicU64,
    /// Requests that left inside the window.
    sent: AtomicU64,
    hists: Mutex<(Hist, Hist)>,
}

impl Window {
    fn new() -> Result<Window, RecordError> {
        Ok(Window {
            counts: Default::default(),
            scheduled: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            hists: Mutex::new((new_hist()?, new_hist()?)),
        })
    }
}

/// Every stage's window plus the drain, and the instants that bound them.
pub(super) struct Stages {
    plans: Vec<StagePlan>,
    windows: Vec<Window>,
    drain: Window,
    /// The run's time zero (the pacer's `t0`); set once by the engine.
    t0: OnceLock<Instant>,
    /// Used when the engine never set `t0` (a recorder fed by hand).
    created: Instant,
    /// When the schedule ended, µs after `t0` (`u64::MAX` while it runs).
    schedule_end_us: AtomicU64,
}

impl Stages {
    pub(super) fn new(plans: Vec<StagePlan>, created: Instant) -> Result<Stages, RecordError> {
        let windows = plans
            .iter()
            .map(|_| Window::new())
            .collect::<Result<_, _>>()?;
        Ok(Stages {
            plans,
            windows,
            drain: Window::new()?,
            t0: OnceLock::new(),
            created,
            schedule_end_us: AtomicU64::new(u64::MAX),
        })
    }

    pub(super) fn t0(&self) -> Instant {
        *self.t0.get().unwrap_or(&self.created)
    }

    /// Sets the run's time zero (first call wins).
    pub(super) fn start(&self, t0: Instant) {
        let _ = self.t0.set(t0);
    }

    /// The schedule stopped sending at `at`: what ends later belongs to the drain.
    pub(super) fn end_schedule(&self, at: Instant) {
        let us = self.offset_us(at);
        let _ = self.schedule_end_us.fetch_min(us, Ordering::Relaxed);
    }

    fn offset_us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.t0()).as_micros() as u64
    }

    /// The window holding instant `at`.
    fn window_at(&self, at: Instant) -> &Window {
        let us = self.offset_us(at);
        if us >= self.schedule_end_us.load(Ordering::Relaxed) {
            return &self.drain;
        }
        let idx = self
            .plans
            .iter()
            .rposition(|p| p.start.is_some_and(|s| s.as_micros() as u64 <= us))
            .unwrap_or(0);
        self.windows.get(idx).unwrap_or(&self.drain)
    }

    /// Adds one record: scheduled in `stage`, sent at `sent`, ended at `done` with `kind`; the
    /// latency pair only for a call that got an answer.
    pub(super) fn add(
        &self,
        stage: usize,
        kind: OutcomeKind,
        sent: Option<Instant>,
        done: Instant,
        latency: Option<(u64, Option<u64>)>,
    ) {
        if let Some(w) = self.windows.get(stage).or(self.windows.last()) {
            w.scheduled.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(sent) = sent {
            self.window_at(sent).sent.fetch_add(1, Ordering::Relaxed);
        }
        let w = self.window_at(done);
        w.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        if let Some((lat, svc)) = latency {
            let mut h = lock(&w.hists);
            h.0.saturating_record(lat);
            if let Some(s) = svc {
                h.1.saturating_record(s);
            }
        }
    }

    /// Every stage's row and the drain row, as of `end` (when the run ended, or now).
    pub(super) fn snapshot(&self, end: Instant) -> (Vec<StageStats>, StageStats) {
        let end_us = self.offset_us(end);
        let sched_end = self.schedule_end_us.load(Ordering::Relaxed).min(end_us);
        let starts: Vec<Option<u64>> = self
            .plans
            .iter()
            .map(|p| p.start.map(|s| s.as_micros() as u64))
            .collect();
        let rows = self
            .plans
            .iter()
            .zip(&self.windows)
            .enumerate()
            .map(|(i, (plan, w))| {
                let (start, len) = match starts[i] {
                    Some(s) => {
                        let next = starts[i + 1..].iter().flatten().next().copied();
                        let stop = next.unwrap_or(u64::MAX).min(sched_end);
                        (s, stop.saturating_sub(s))
                    }
                    None => (sched_end, 0),
                };
                stats(i, plan.target_rate, start, len, w)
            })
            .collect();
        let drain = stats(
            self.plans.len(),
            0.0,
            sched_end,
            end_us.saturating_sub(sched_end),
            &self.drain,
        );
        (rows, drain)
    }
}

fn stats(index: usize, target_rate: f64, start_us: u64, len_us: u64, w: &Window) -> StageStats {
    let h = lock(&w.hists);
    StageStats {
        index,
        target_rate,
        start: Duration::from_micros(start_us),
        elapsed: Duration::from_micros(len_us),
        scheduled: w.scheduled.load(Ordering::Relaxed),
        sent: w.sent.load(Ordering::Relaxed),
        counts: load_counts(&w.counts),
        latency: h.0.clone(),
        service: h.1.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 10/s then 20/s, a second each, started now.
    fn two_steps() -> (Stages, Instant) {
        let t0 = Instant::now();
        let s = Stages::new(StagePlan::steps(&[(10.0, ms(1000)), (20.0, ms(1000))]), t0)
            .expect("stages");
        s.start(t0);
        (s, t0)
    }

    #[test]
    fn calls_land_in_the_window_they_ended_in_and_the_drain_is_its_own_row() {
        let (s, t0) = two_steps();
        // Scheduled in stage 0, ended in stage 1.
        s.add(
            0,
            OutcomeKind::Ok,
            Some(t0 + ms(990)),
            t0 + ms(1010),
            Some((20_000, Some(20_000))),
        );
        // Scheduled and ended in stage 1.
        s.add(
            1,
            OutcomeKind::Ok,
            Some(t0 + ms(1500)),
            t0 + ms(1510),
            Some((10_000, None)),
        );
        s.end_schedule(t0 + ms(2000));
        // Ended after the schedule: the drain.
        s.add(
            1,
            OutcomeKind::Timeout,
            Some(t0 + ms(1999)),
            t0 + ms(2300),
            None,
        );
        let (rows, drain) = s.snapshot(t0 + ms(2500));
        assert_eq!(rows[0].scheduled, 1);
        assert_eq!(rows[0].counts.iter().sum::<u64>(), 0);
        assert_eq!(rows[0].sent, 1);
        assert_eq!(rows[0].elapsed, ms(1000));
        assert_eq!(rows[1].scheduled, 2);
        assert_eq!(rows[1].counts[OutcomeKind::Ok.index()], 2);
        assert_eq!(rows[1].sent, 2);
        assert_eq!(rows[1].latency.len(), 2);
        assert_eq!((rows[1].start, rows[1].elapsed), (ms(1000), ms(1000)));
        assert_eq!(drain.counts[OutcomeKind::Timeout.index()], 1);
        assert_eq!(drain.latency.len(), 0, "an unanswered call is not timed");
        assert_eq!((drain.start, drain.elapsed), (ms(2000), ms(500)));
    }

    #[test]
    fn a_stop_in_the_first_stage_leaves_later_stages_empty_and_zero_long() {
        let (s, t0) = two_steps();
        s.end_schedule(t0 + ms(400));
        let (rows, drain) = s.snapshot(t0 + ms(450));
        assert_eq!(rows[0].elapsed, ms(400));
        assert_eq!(rows[1].elapsed, Duration::ZERO);
        assert_eq!(drain.elapsed, ms(50));
    }

    #[test]
    fn a_running_stage_is_as_long_as_it_has_run() {
        let (s, t0) = two_steps();
        let (rows, drain) = s.snapshot(t0 + ms(1250));
        assert_eq!(rows[0].elapsed, ms(1000));
        assert_eq!(rows[1].elapsed, ms(250));
        assert_eq!(drain.elapsed, Duration::ZERO);
    }
}
