//! The sliding window the live SLO state is judged over.
//!
//! A whole-run verdict registers a breach late in a long soak only after hours; abort-on-breach,
//! the progress line and the live SLO gauges look instead at the last `length` of the run (default
//! five minutes). Memory stays bounded: the window keeps cumulative marks (per operation: counts and
//! the successful calls' latency) every tenth of its length, and a view is the latest snapshot minus
//! the oldest mark still inside the window — so a window covers between `length` and `length` plus
//! one tenth (or the whole run while the run is shorter than `length`).

use std::collections::VecDeque;
use std::time::Duration;

use super::snapshot::{Hist, OpStats, OutcomeCounts};

/// Marks per window length.
const SLICES: u32 = 10;

/// Per operation: counts and the `ok` latency histogram, cumulative at `at`.
struct Mark {
    at: Duration,
    ops: Vec<(OutcomeCounts, Option<Hist>)>,
}

/// The window's marks.
pub struct SloWindow {
    length: Duration,
    marks: VecDeque<Mark>,
}

/// What happened in the window: per operation, counts and the successful calls' latency.
#[derive(Debug, Clone)]
pub struct WindowView {
    /// Seconds the view covers.
    pub secs: f64,
    /// True once the run is at least one window long (before that the view is the whole run).
    pub full: bool,
    /// Per operation in plan order.
    pub ops: Vec<WindowOp>,
}

/// One operation inside the window.
#[derive(Debug, Clone)]
pub struct WindowOp {
    /// The operation's name, as in the mix.
    pub name: String,
    /// Calls that ended inside the window, by outcome.
    pub counts: OutcomeCounts,
    /// Latency from the intended send of the successful calls, µs.
    pub ok_latency: Hist,
}

impl SloWindow {
    /// A window of `length` (at least 1 ms).
    pub fn new(length: Duration) -> SloWindow {
        SloWindow {
            length: length.max(Duration::from_millis(1)),
            marks: VecDeque::from([Mark {
                at: Duration::ZERO,
                ops: Vec::new(),
            }]),
        }
    }

    /// The window's length.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// Takes the cumulative per-operation numbers `ops` (as of `at` after the run's start) into the
    /// window and returns what happened in the window that ends there.
    pub fn view(&mut self, at: Duration, ops: &[OpStats]) -> WindowView {
        let slice = self.length / SLICES;
        if self
            .marks
            .back()
            .is_none_or(|m| at.saturating_sub(m.at) >= slice)
        {
            self.marks.push_back(Mark {
                at,
                ops: ops
                    .iter()
                    .map(|o| (o.counts, Some(o.ok_latency.clone())))
                    .collect(),
            });
        }
        let horizon = at.saturating_sub(self.length);
        while self.marks.len() > 1 && self.marks[1].at <= horizon {
            self.marks.pop_front();
        }
        let base = &self.marks[0];
        let ops = ops
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let (counts, ok_latency) = match base.ops.get(i) {
                    Some((c0, h0)) => {
                        let counts = std::array::from_fn(|k| o.counts[k].saturating_sub(c0[k]));
                        let mut h = o.ok_latency.clone();
                        if let Some(h0) = h0 {
                            // Cumulative: the base is always contained in the later histogram.
                            let _ = h.subtract(h0);
                        }
                        (counts, h)
                    }
                    None => (o.counts, o.ok_latency.clone()),
                };
                WindowOp {
                    name: o.name.clone(),
                    counts,
                    ok_latency,
                }
            })
            .collect();
        WindowView {
            secs: at.saturating_sub(base.at).as_secs_f64(),
            full: at >= self.length,
            ops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::OutcomeKind;
    use crate::record::new_hist;

    /// One operation with `ok` calls at `fast_ms` and `slow` calls at 1 s, cumulative.
    fn op(ok: u64, slow: u64) -> OpStats {
        let mut h = new_hist().expect("hist");
        h.record_n(10_000, ok).expect("record");
        h.record_n(1_000_000, slow).expect("record");
        let mut counts = [0; OutcomeKind::ALL.len()];
        counts[OutcomeKind::Ok.index()] = ok + slow;
        OpStats {
            name: "echo".into(),
            counts,
            latency: h.clone(),
            service: h.clone(),
            ok_latency: h,
            timeline: Vec::new(),
        }
    }

    #[test]
    fn a_view_is_the_last_window_not_the_whole_run() {
        let mut w = SloWindow::new(Duration::from_secs(300));
        // 15 minutes at 10 calls/s, all fast; then 30 s in which every call takes 1 s.
        let mut v = None;
        for s in 1..=930u64 {
            let fast = 10 * s.min(900);
            let slow = 10 * s.saturating_sub(900);
            v = Some(w.view(Duration::from_secs(s), &[op(fast, slow)]));
        }
        let v = v.expect("a view");
        assert!(v.full);
        assert!((300.0..=330.0).contains(&v.secs), "covers {} s", v.secs);
        let h = &v.ops[0].ok_latency;
        assert_eq!(h.len(), v.ops[0].counts[OutcomeKind::Ok.index()]);
        // 300 slow of ~3,000 in the window: the window's p95 is the slow one; the run's is not.
        assert!(
            h.value_at_quantile(0.95) >= 900_000,
            "window p95 {}",
            h.value_at_quantile(0.95)
        );
        let whole = op(9000, 300);
        assert!(whole.ok_latency.value_at_quantile(0.95) < 100_000);
    }

    #[test]
    fn a_run_shorter_than_the_window_is_seen_whole() {
        let mut w = SloWindow::new(Duration::from_secs(300));
        let v = w.view(Duration::from_secs(42), &[op(420, 0)]);
        assert!(!v.full);
        assert_eq!(v.secs, 42.0);
        assert_eq!(v.ops[0].counts[OutcomeKind::Ok.index()], 420);
    }

    #[test]
    fn marks_stay_bounded() {
        let mut w = SloWindow::new(Duration::from_secs(60));
        for s in 1..=2_000u64 {
            w.view(Duration::from_secs(s), &[op(s, 0)]);
        }
        assert!(
            w.marks.len() <= SLICES as usize + 2,
            "{} marks",
            w.marks.len()
        );
    }
}
