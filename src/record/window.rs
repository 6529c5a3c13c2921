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

use super::snapshot::{Hist, OutcomeCounts, Snapshot};

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
    pub name: String,
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

    /// Takes `snap` (taken `snap.elapsed` after the run's start) into the window and returns what
    /// happened in the window that ends there.
    pub fn view(&mut self, snap: &Snapshot) -> WindowView {
        let at = snap.elapsed;
        let slice = self.length / SLICES;
        if self
            .marks
            .back()
            .is_none_or(|m| at.saturating_sub(m.at) >= slice)
        {
            self.marks.push_back(Mark {
                at,
                ops: snap
                    .ops
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
        let ops = snap
            .ops
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
