//! Per-stage aggregation by wall-clock window.
//!
//! A stage's row answers "what happened while the schedule was in this stage": the calls that
//! *ended* inside the stage's window (counts by outcome, latency), the requests that *left* inside
//! it, and — separately — the slots the schedule *meant* for it. The windows are made of segments
//! (offsets from the run's `t0`, each running to the next one's start, or to the end of the
//! schedule): at the start the plan's segment starts, then after every runtime change (pause,
//! re-rate, jump, append) the pacer's actual ones ([`Stages::relayout`] with
//! [`Course::layout`](crate::schedule::control::Course::layout)). So a pause in stage 1 keeps
//! stage 1's calls in stage 1's row, a stage's length leaves out time paused, and its target rate
//! is the rate in force. What ends after the schedule ended (the drain of in-flight calls) is a row
//! of its own. So a stage that asks 100/s of a server that takes 50/s shows ~50/s achieved, and the
//! last stage does not absorb the drain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::mcp::OutcomeKind;
use crate::schedule::control::Segment;

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

/// The stages' windows and where each begins: grows only at a runtime change.
struct Layout {
    windows: Vec<Window>,
    /// Each stage's planned rate (shown for a stage that never ran).
    planned: Vec<f64>,
    /// In time order; the window of an instant is that of the last segment begun by then.
    segments: Vec<Segment>,
}

impl Layout {
    /// The segment holding offset `us`, if any began by then.
    fn segment_at(&self, us: u64) -> Option<&Segment> {
        let n = self
            .segments
            .partition_point(|s| s.start.as_micros() as u64 <= us);
        n.checked_sub(1).and_then(|i| self.segments.get(i))
    }
}

/// Every stage's window plus the drain, and the instants that bound them.
pub(super) struct Stages {
    layout: RwLock<Layout>,
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
        let segments = plans
            .iter()
            .enumerate()
            .filter_map(|(stage, p)| {
                Some(Segment {
                    start: p.start?,
                    stage,
                    rate: p.target_rate,
                    paused: false,
                })
            })
            .collect();
        Ok(Stages {
            layout: RwLock::new(Layout {
                windows,
                planned: plans.iter().map(|p| p.target_rate).collect(),
                segments,
            }),
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

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Layout> {
        self.layout.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The schedule changed at `at`: from then on it runs as `segments` say (offsets from `t0`,
    /// in time order, the first at `at`). What the windows held before `at` stays; segments laid
    /// out for later are replaced. Stages beyond the plan (appended) get windows.
    pub(super) fn relayout(&self, at: Instant, segments: &[Segment]) -> Result<(), RecordError> {
        let at = at.saturating_duration_since(self.t0());
        let mut l = self.layout.write().unwrap_or_else(PoisonError::into_inner);
        l.segments.retain(|s| s.start < at);
        for seg in segments {
            while l.windows.len() <= seg.stage {
                l.windows.push(Window::new()?);
                l.planned.push(seg.rate);
            }
            // Kept in time order: a segment before the last one is dropped, never reordered.
            if seg.start >= at && l.segments.last().is_none_or(|s| s.start <= seg.start) {
                l.segments.push(*seg);
            }
        }
        Ok(())
    }

    /// The stage the schedule is in at `at` (0-based); None once it ended.
    pub(super) fn stage_at(&self, at: Instant) -> Option<usize> {
        let us = self.offset_us(at);
        if us >= self.schedule_end_us.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.read().segment_at(us).map_or(0, |s| s.stage))
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
    fn window_at<'a>(&'a self, l: &'a Layout, at: Instant) -> &'a Window {
        let us = self.offset_us(at);
        if us >= self.schedule_end_us.load(Ordering::Relaxed) {
            return &self.drain;
        }
        let idx = l.segment_at(us).map_or(0, |s| s.stage);
        l.windows.get(idx).unwrap_or(&self.drain)
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
        let l = self.read();
        if let Some(w) = l.windows.get(stage).or(l.windows.last()) {
            w.scheduled.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(sent) = sent {
            self.window_at(&l, sent)
                .sent
                .fetch_add(1, Ordering::Relaxed);
        }
        let w = self.window_at(&l, done);
        w.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
        if let Some((lat, svc)) = latency {
            let mut h = lock(&w.hists);
            h.0.saturating_record(lat);
            if let Some(s) = svc {
                h.1.saturating_record(s);
            }
        }
    }

    /// Every stage's row and the drain row, as of `end` (when the run ended, or now). A stage's
    /// start is its first segment's, its length the sum of its segments' not paused (up to the
    /// end of the schedule), its target rate that of its last segment not paused.
    pub(super) fn snapshot(&self, end: Instant) -> (Vec<StageStats>, StageStats) {
        let end_us = self.offset_us(end);
        let sched_end = self.schedule_end_us.load(Ordering::Relaxed).min(end_us);
        let l = self.read();
        let us = |s: &Segment| s.start.as_micros() as u64;
        let rows = l
            .windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut start = None;
                let mut len = 0u64;
                let mut rate = l.planned.get(i).copied().unwrap_or(0.0);
                for (j, seg) in l.segments.iter().enumerate() {
                    if seg.stage != i {
                        continue;
                    }
                    start.get_or_insert(us(seg));
                    if seg.paused {
                        continue;
                    }
                    rate = seg.rate;
                    let stop = l.segments.get(j + 1).map_or(u64::MAX, us).min(sched_end);
                    len += stop.saturating_sub(us(seg));
                }
                stats(i, rate, start.unwrap_or(sched_end), len, w)
            })
            .collect();
        let drain = stats(
            l.windows.len(),
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
    use crate::schedule::control::seg;

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

    fn ok(s: &Stages, stage: usize, done: Instant) {
        s.add(
            stage,
            OutcomeKind::Ok,
            Some(done),
            done,
            Some((1_000, None)),
        );
    }

    #[test]
    fn a_pause_keeps_the_stage_s_calls_in_its_row_and_its_time_out_of_it() {
        let (s, t0) = two_steps();
        ok(&s, 0, t0 + ms(500));
        // Paused at 0.6 s for 10 s: stage 1 begins 10 s late, at 11 s.
        s.relayout(t0 + ms(600), &[seg(600, 0, 10.0, true)])
            .expect("relayout");
        ok(&s, 0, t0 + ms(1_500)); // an in-flight call ending while paused
        s.relayout(
            t0 + ms(10_600),
            &[seg(10_600, 0, 10.0, false), seg(11_000, 1, 20.0, false)],
        )
        .expect("relayout");
        ok(&s, 0, t0 + ms(10_900));
        ok(&s, 1, t0 + ms(11_100));
        s.end_schedule(t0 + ms(12_000));
        let (rows, _) = s.snapshot(t0 + ms(12_000));
        assert_eq!(rows[0].counts[OutcomeKind::Ok.index()], 3);
        assert_eq!(rows[1].counts[OutcomeKind::Ok.index()], 1);
        assert_eq!(
            (rows[0].start, rows[0].elapsed),
            (ms(0), ms(1_000)),
            "0.6 s before the pause and 0.4 s after"
        );
        assert_eq!((rows[1].start, rows[1].elapsed), (ms(11_000), ms(1_000)));
    }

    #[test]
    fn a_rerate_shows_the_rate_in_force_and_a_jump_back_adds_to_the_row() {
        let (s, t0) = two_steps();
        // Re-rated to 15/s at 0.5 s; at 1.2 s a jump back to stage 0 for its whole second.
        s.relayout(
            t0 + ms(500),
            &[seg(500, 0, 15.0, false), seg(1_000, 1, 20.0, false)],
        )
        .expect("relayout");
        ok(&s, 1, t0 + ms(1_100));
        s.relayout(
            t0 + ms(1_200),
            &[seg(1_200, 0, 10.0, false), seg(2_200, 1, 20.0, false)],
        )
        .expect("relayout");
        ok(&s, 0, t0 + ms(1_300));
        assert_eq!(s.stage_at(t0 + ms(1_300)), Some(0));
        let (rows, _) = s.snapshot(t0 + ms(2_500));
        assert_eq!(rows[0].target_rate, 10.0, "the rate in force last");
        assert_eq!(rows[0].elapsed, ms(2_000), "1 s, then 1 s again");
        assert_eq!(rows[0].counts[OutcomeKind::Ok.index()], 1);
        assert_eq!(rows[1].counts[OutcomeKind::Ok.index()], 1);
        assert_eq!(rows[1].elapsed, ms(200 + 300));
        assert_eq!(rows[1].start, ms(1_000));
    }

    #[test]
    fn appended_stages_get_rows() {
        let (s, t0) = two_steps();
        s.relayout(
            t0 + ms(1_500),
            &[seg(1_500, 1, 20.0, false), seg(2_000, 2, 7.0, false)],
        )
        .expect("relayout");
        ok(&s, 2, t0 + ms(2_100));
        s.end_schedule(t0 + ms(3_000));
        assert_eq!(s.stage_at(t0 + ms(3_000)), None, "the schedule ended");
        let (rows, drain) = s.snapshot(t0 + ms(3_000));
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[2].index, rows[2].target_rate), (2, 7.0));
        assert_eq!((rows[2].start, rows[2].elapsed), (ms(2_000), ms(1_000)));
        assert_eq!(rows[2].scheduled, 1);
        assert_eq!(drain.index, 3);
    }
}
