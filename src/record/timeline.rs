//! The bounded timeline: completed calls grouped into fixed intervals. When it holds more than
//! `max_points`, adjacent points are merged and the interval doubles, so a multi-day soak stays small.

use std::time::Duration;

use super::snapshot::{Hist, TimelinePoint};

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
        }
    }

    /// Adds one completed call that ended `at_us` after the run start; `latency_us` only for a call
    /// that got an answer (the percentiles are over those).
    pub(crate) fn add(&mut self, at_us: u64, latency_us: Option<u64>, is_error: bool) {
        let end = self.cur_start_us.saturating_add(self.interval_us);
        if at_us >= end {
            // Close the current interval (this may coarsen and widen the interval), then start the
            // interval that holds `at_us`, counted from the end of the closed one: no overlaps.
            self.close();
            let steps = (at_us - end) / self.interval_us;
            self.cur_start_us = end + steps * self.interval_us;
        }
        if let Some(l) = latency_us {
            self.cur.saturating_record(l);
        }
        self.cur_calls += 1;
        if is_error {
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
        if self.cur_calls > 0 {
            out.push(self.current_point());
        }
        out
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
        }
    }

    fn close(&mut self) {
        if self.cur_calls == 0 {
            return;
        }
        let point = self.current_point();
        self.points.push(point);
        self.cur.reset();
        self.cur_calls = 0;
        self.cur_errors = 0;
        if self.points.len() > self.max_points {
            self.coarsen();
        }
    }

    /// Merges adjacent pairs and doubles the interval. Counts stay exact; p50 becomes the
    /// calls-weighted mean and p95/p99 the max of the pair (a conservative upper bound).
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist() -> Hist {
        Hist::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds")
    }

    #[test]
    fn intervals_and_counts() {
        let mut t = Timeline::new(Duration::from_secs(1), 100, hist());
        t.add(100, Some(1_000), false);
        t.add(900_000, Some(3_000), true);
        t.add(1_500_000, Some(2_000), false);
        t.add(5_200_000, None, false);
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
            t.add(i * 1_000_000 + 10, Some(1_000 + i % 50), i % 10 == 0);
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
}
