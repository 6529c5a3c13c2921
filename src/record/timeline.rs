//! The bounded timeline: completed calls grouped into fixed intervals. When it holds more than
//! `max_points`, adjacent points are merged and the interval doubles, so a multi-day soak stays small.
//! Besides latency each interval keeps its calls by outcome (dropped slots included), the most calls
//! in flight and the worst schedule lag seen, so a report can chart them over time.

use std::time::Duration;

use super::snapshot::{Hist, TimelinePoint};
use crate::mcp::OutcomeKind;

/// Interval buckets of completed calls with per-interval percentiles.
#[derive(Debug)]
pub(crate) struct Timeline {
    interval_us: u64,
    max_points: usize,
    points: Vec<TimelinePoint>,
    cur_start_us: u64,
    cur: Hist,
    cur_calls: u64,
    cur_errors: u64,
    /// Calls of the current interval by outcome, indexed by [`OutcomeKind::index`] (a counter bump
    /// per call; the map the summary shows is built when the interval is read).
    cur_outcomes: [u64; OutcomeKind::ALL.len()],
    cur_max_in_flight: u64,
    cur_max_lag_us: u64,
}

/// One call (or dropped slot) as the timeline sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// When it ended (or was dropped), from the run start.
    pub at_us: u64,
    pub kind: OutcomeKind,
    /// Latency from the intended send; None for a call without an answer (timed apart) or a slot
    /// never sent (not timed).
    pub latency_us: Option<u64>,
    /// Actual send − intended send; None when nothing was sent.
    pub lag_us: Option<u64>,
    /// Calls in flight as last set by the engine.
    pub in_flight: u64,
}

impl Timeline {
    /// A timeline with this first interval; `max_points` is clamped to at least 2.
    pub(crate) fn new(interval: Duration, max_points: usize, hist: Hist) -> Self {
        Timeline {
            interval_us: (interval.as_micros() as u64).max(1),
            max_points: max_points.max(2),
            points: Vec::new(),
            cur_start_us: 0,
            cur: hist,
            cur_calls: 0,
            cur_errors: 0,
            cur_outcomes: [0; OutcomeKind::ALL.len()],
            cur_max_in_flight: 0,
            cur_max_lag_us: 0,
        }
    }

    /// Adds one call; only calls that were sent count in `calls` and `errors`, and only those with a
    /// `latency_us` (calls that got an answer) in the percentiles.
    pub(crate) fn add(&mut self, s: Sample) {
        let at_us = s.at_us;
        let end = self.cur_start_us.saturating_add(self.interval_us);
        if at_us >= end {
            // Close the current interval (this may coarsen and widen the interval), then start the
            // interval that holds `at_us`, counted from the end of the closed one: no overlaps.
            self.close();
            let steps = (at_us - end) / self.interval_us;
            self.cur_start_us = end + steps * self.interval_us;
        }
        self.cur_outcomes[s.kind.index()] += 1;
        self.cur_max_in_flight = self.cur_max_in_flight.max(s.in_flight);
        self.cur_max_lag_us = self.cur_max_lag_us.max(s.lag_us.unwrap_or(0));
        if s.kind == OutcomeKind::Dropped {
            return;
        }
        if let Some(l) = s.latency_us {
            self.cur.saturating_record(l);
        }
        self.cur_calls += 1;
        if !s.kind.is_ok() {
            self.cur_errors += 1;
        }
    }

    /// The current interval width.
    pub(crate) fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us)
    }

    /// Closed points plus the current partial interval, oldest first.
    pub(crate) fn points(&self) -> Vec<TimelinePoint> {
        let mut out = self.points.clone();
        if !self.is_empty() {
            out.push(self.current_point());
        }
        out
    }

    /// Nothing recorded in the current interval.
    fn is_empty(&self) -> bool {
        self.cur_outcomes.iter().all(|&n| n == 0)
    }

    fn current_point(&self) -> TimelinePoint {
        TimelinePoint {
            start_s: self.cur_start_us as f64 / 1e6,
            duration_s: self.interval_us as f64 / 1e6,
            calls: self.cur_calls,
            errors: self.cur_errors,
            p50_ms: self.cur.value_at_quantile(0.50) as f64 / 1e3,
            p95_ms: self.cur.value_at_quantile(0.95) as f64 / 1e3,
            p99_ms: self.cur.value_at_quantile(0.99) as f64 / 1e3,
            outcomes: OutcomeKind::ALL
                .into_iter()
                .filter(|k| self.cur_outcomes[k.index()] > 0)
                .map(|k| (k, self.cur_outcomes[k.index()]))
                .collect(),
            max_in_flight: self.cur_max_in_flight,
            max_lag_ms: self.cur_max_lag_us as f64 / 1e3,
        }
    }

    fn close(&mut self) {
        if self.is_empty() {
            return;
        }
        let point = self.current_point();
        self.points.push(point);
        self.cur.reset();
        self.cur_calls = 0;
        self.cur_errors = 0;
        self.cur_outcomes = [0; OutcomeKind::ALL.len()];
        self.cur_max_in_flight = 0;
        self.cur_max_lag_us = 0;
        if self.points.len() > self.max_points {
            self.coarsen();
        }
    }

    /// Merges adjacent pairs and doubles the interval. Counts stay exact; p50 becomes the
    /// calls-weighted mean and p95/p99 the max of the pair (a conservative upper bound); outcome counts
    /// add up, in-flight and lag keep the max.
    fn coarsen(&mut self) {
        let old = std::mem::take(&mut self.points);
        let mut it = old.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => self.points.push(merge(&a, &b)),
                None => self.points.push(a),
            }
        }
        self.interval_us = self.interval_us.saturating_mul(2);
    }
}

/// Two points as one (also how `mcp-soak merge` joins shards' points of one interval).
pub(crate) fn merge(a: &TimelinePoint, b: &TimelinePoint) -> TimelinePoint {
    let calls = a.calls + b.calls;
    let weighted = if calls == 0 {
        0.0
    } else {
        (a.p50_ms * a.calls as f64 + b.p50_ms * b.calls as f64) / calls as f64
    };
    TimelinePoint {
        start_s: a.start_s,
        duration_s: (b.start_s + b.duration_s - a.start_s).max(a.duration_s),
        calls,
        errors: a.errors + b.errors,
        p50_ms: weighted,
        p95_ms: a.p95_ms.max(b.p95_ms),
        p99_ms: a.p99_ms.max(b.p99_ms),
        outcomes: {
            let mut o = a.outcomes.clone();
            for (k, v) in &b.outcomes {
                *o.entry(*k).or_insert(0) += v;
            }
            o
        },
        max_in_flight: a.max_in_flight.max(b.max_in_flight),
        max_lag_ms: a.max_lag_ms.max(b.max_lag_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at_us: u64, latency_us: u64, is_error: bool) -> Sample {
        Sample {
            at_us,
            kind: if is_error {
                OutcomeKind::ToolError
            } else {
                OutcomeKind::Ok
            },
            latency_us: Some(latency_us),
            lag_us: Some(0),
            in_flight: 1,
        }
    }

    fn hist() -> Hist {
        Hist::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds")
    }

    #[test]
    fn intervals_and_counts() {
        let mut t = Timeline::new(Duration::from_secs(1), 100, hist());
        t.add(call(100, 1_000, false));
        t.add(call(900_000, 3_000, true));
        t.add(call(1_500_000, 2_000, false));
        t.add(call(5_200_000, 2_000, false));
        let p = t.points();
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].calls, p[0].errors), (2, 1));
        assert_eq!(p[1].start_s, 1.0);
        assert_eq!(p[2].start_s, 5.0);
    }

    #[test]
    fn stays_bounded_over_100k_intervals() {
        let mut t = Timeline::new(Duration::from_secs(1), 1000, hist());
        for i in 0..100_000u64 {
            t.add(call(i * 1_000_000 + 10, 1_000 + i % 50, i % 10 == 0));
        }
        let p = t.points();
        assert!(p.len() <= 1001, "{} points", p.len());
        assert_eq!(p.iter().map(|p| p.calls).sum::<u64>(), 100_000);
        assert_eq!(p.iter().map(|p| p.errors).sum::<u64>(), 10_000);
        assert!(t.interval() >= Duration::from_secs(100));
        // Points stay in time order and do not overlap.
        for w in p.windows(2) {
            assert!(w[0].start_s + w[0].duration_s <= w[1].start_s + 1e-9);
        }
    }

    #[test]
    fn outcomes_in_flight_and_lag_per_interval() {
        let mut t = Timeline::new(Duration::from_secs(1), 2, hist());
        let dropped = |at_us| Sample {
            at_us,
            kind: OutcomeKind::Dropped,
            latency_us: None,
            lag_us: None,
            in_flight: 9,
        };
        t.add(Sample {
            lag_us: Some(4_000),
            in_flight: 3,
            ..call(100, 1_000, false)
        });
        t.add(dropped(200));
        t.add(call(300, 1_000, true));
        t.add(dropped(1_500_000));
        let p = t.points();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].calls, p[0].errors),
            (2, 1),
            "a dropped slot is no call"
        );
        let kinds: Vec<_> = p[0].outcomes.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(
            kinds,
            [
                (OutcomeKind::Ok, 1),
                (OutcomeKind::ToolError, 1),
                (OutcomeKind::Dropped, 1)
            ]
        );
        assert_eq!((p[0].max_in_flight, p[0].max_lag_ms), (9, 4.0));
        assert_eq!((p[1].calls, p[1].outcomes[&OutcomeKind::Dropped]), (0, 1));
        // Coarsening (max 2 points) adds outcomes up and keeps the maxima.
        t.add(call(2_500_000, 1_000, false));
        t.add(call(3_500_000, 1_000, false));
        let p = t.points();
        assert_eq!(p[0].outcomes[&OutcomeKind::Dropped], 2);
        assert_eq!(p[0].max_lag_ms, 4.0);
        let total: u64 = p.iter().flat_map(|p| p.outcomes.values()).sum();
        assert_eq!(total, 6);
    }
}
