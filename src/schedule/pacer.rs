//! Intended send times as a pure function of the stages (no clock): testable as tables.
//!
//! The k-th call (0-based) of a run is due at the time where the integral of the target rate reaches
//! k, counted per stage: inside a stage the j-th call is due at the `t` where the calls "owed" since the
//! stage began, `∫ rate`, equal `j`. Steady stages give `t = j / rate`; a ramp (rate rising or falling
//! linearly from the previous stage's rate over `ramp`) gives a quadratic, solved in closed form. Every
//! time is computed from `k` directly, never by adding intervals, so a run of days does not drift.
//!
//! A stage of duration `D` holds the calls `j` with `t_j < D`: a steady stage of 50/s for 5 min holds
//! exactly 15,000 calls, the first at the stage's start.

use std::time::Duration;

use crate::plan::Stage;

/// When the k-th call is due and which stage it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Offset from the run's start (t0).
    pub at: Duration,
    /// Index of the stage in the plan.
    pub stage: usize,
}

/// One stage, prepared for closed-form answers.
#[derive(Debug, Clone)]
struct Seg {
    /// Offset of the stage's start from t0.
    start: Duration,
    /// Rate at the stage's start (the previous stage's rate, 0 for the first) when ramped.
    from: f64,
    /// Rate after the ramp.
    to: f64,
    /// Ramp length in seconds (0 = a step).
    ramp: f64,
    /// Stage length; None = forever.
    duration: Option<Duration>,
    /// Calls in the stage; None = unbounded.
    count: Option<u64>,
    /// Calls of all earlier stages.
    before: u64,
}

impl Seg {
    /// Rate `t` seconds into the stage.
    fn rate_at(&self, t: f64) -> f64 {
        if self.ramp > 0.0 && t < self.ramp {
            self.from + (self.to - self.from) * t / self.ramp
        } else {
            self.to
        }
    }

    /// Calls owed `t` seconds into the stage: `∫0^t rate`.
    fn area(&self, t: f64) -> f64 {
        if self.ramp > 0.0 {
            let r = t.min(self.ramp);
            let ramp_part = self.from * r + (self.to - self.from) * r * r / (2.0 * self.ramp);
            ramp_part + self.to * (t - r).max(0.0)
        } else {
            self.to * t
        }
    }

    /// Seconds into the stage at which the area reaches `j` (None when it never does).
    fn time_of(&self, j: u64) -> Option<f64> {
        if j == 0 {
            return Some(0.0);
        }
        let jf = j as f64;
        if self.ramp > 0.0 {
            let ramp_area = self.area(self.ramp);
            if jf <= ramp_area {
                // from*t + a*t^2 = j with a = (to-from)/(2 ramp); stable root 2j / (b + sqrt(b^2 + 4aj)).
                let a = (self.to - self.from) / (2.0 * self.ramp);
                let b = self.from;
                let disc = (b * b + 4.0 * a * jf).max(0.0);
                let denom = b + disc.sqrt();
                if denom <= 0.0 {
                    return None;
                }
                return Some((2.0 * jf / denom).min(self.ramp));
            }
            if self.to <= 0.0 {
                return None;
            }
            return Some(self.ramp + (jf - ramp_area) / self.to);
        }
        if self.to <= 0.0 {
            return None;
        }
        Some(jf / self.to)
    }
}

/// Number of non-negative integers `j` with `j < x` (tolerant of float noise around integers).
fn count_below(x: f64) -> u64 {
    if x <= 0.0 || !x.is_finite() {
        return 0;
    }
    let n = x.round();
    if (x - n).abs() <= 1e-9 * x.max(1.0) {
        n as u64
    } else {
        x.ceil() as u64
    }
}

/// Turns stages into intended send times. Pure: no clock, no state, cheap to call per slot.
#[derive(Debug, Clone)]
pub struct Pacer {
    segs: Vec<Seg>,
    max_calls: Option<u64>,
}

impl Pacer {
    /// A pacer over `stages` (run in order), stopping after `max_calls` calls when set.
    ///
    /// Negative or non-finite rates are treated as 0; a stage with `duration: None` ends the schedule
    /// (later stages are never reached).
    pub fn new(stages: &[Stage], max_calls: Option<u64>) -> Pacer {
        Pacer::from_rate(stages, 0.0, max_calls)
    }

    /// Like [`Pacer::new`], the first stage's ramp starting at `start_rate` instead of 0 (a schedule
    /// resumed mid-ramp by the controls).
    pub fn from_rate(stages: &[Stage], start_rate: f64, max_calls: Option<u64>) -> Pacer {
        let mut segs = Vec::with_capacity(stages.len());
        let mut start = Duration::ZERO;
        let mut before = 0u64;
        let mut prev_rate = start_rate;
        for st in stages {
            let to = if st.rate.is_finite() && st.rate > 0.0 {
                st.rate
            } else {
                0.0
            };
            let mut seg = Seg {
                start,
                from: prev_rate,
                to,
                ramp: st.ramp.as_secs_f64(),
                duration: st.duration,
                count: None,
                before,
            };
            seg.count = match st.duration {
                Some(d) => Some(count_below(seg.area(d.as_secs_f64()))),
                // Forever: unbounded unless the stage settles at rate 0 (then only the ramp's calls).
                None if to <= 0.0 => Some(count_below(seg.area(seg.ramp))),
                None => None,
            };
            prev_rate = to;
            let forever = st.duration.is_none();
            if let (Some(d), Some(c)) = (st.duration, seg.count) {
                start += d;
                before = before.saturating_add(c);
            }
            segs.push(seg);
            if forever {
                break;
            }
        }
        Pacer { segs, max_calls }
    }

    /// The intended offset from t0 of the k-th call (0-based) and its stage; None past the last
    /// stage or at/after `max_calls`.
    pub fn slot(&self, k: u64) -> Option<Slot> {
        if self.max_calls.is_some_and(|m| k >= m) {
            return None;
        }
        let idx = self
            .segs
            .partition_point(|s| s.before <= k)
            .checked_sub(1)?;
        let seg = &self.segs[idx];
        let j = k - seg.before;
        if seg.count.is_some_and(|c| j >= c) {
            return None;
        }
        let t = seg.time_of(j)?;
        let mut off = Duration::try_from_secs_f64(t).ok()?;
        if let Some(d) = seg.duration {
            // Float noise must never push a call past its stage's end.
            off = off.min(d.saturating_sub(Duration::from_nanos(1)));
        }
        Some(Slot {
            at: seg.start + off,
            stage: idx,
        })
    }

    /// The stage running `elapsed` after t0 and its instantaneous target rate; None after the last stage.
    pub fn stage_at(&self, elapsed: Duration) -> Option<(usize, f64)> {
        for (i, seg) in self.segs.iter().enumerate() {
            if elapsed < seg.start {
                continue;
            }
            let inside = elapsed - seg.start;
            match seg.duration {
                Some(d) if inside >= d => continue,
                _ => return Some((i, seg.rate_at(inside.as_secs_f64()))),
            }
        }
        None
    }

    /// Offset from t0 at which stage `i` starts; None for a stage the schedule never reaches
    /// (after a stage that runs forever).
    pub fn stage_start(&self, i: usize) -> Option<Duration> {
        self.segs.get(i).map(|s| s.start)
    }

    /// Length of the schedule (sum of the stage durations); None when the last stage runs forever.
    /// A `max_calls` limit may end the run earlier: see [`Pacer::slot`].
    pub fn total_duration(&self) -> Option<Duration> {
        let mut total = Duration::ZERO;
        for seg in &self.segs {
            total += seg.duration?;
        }
        Some(total)
    }

    /// Calls the whole schedule sends (capped by `max_calls`); None when unbounded.
    pub fn expected_calls(&self) -> Option<u64> {
        let mut total = 0u64;
        let mut bounded = true;
        for seg in &self.segs {
            match seg.count {
                Some(c) => total = total.saturating_add(c),
                None => bounded = false,
            }
        }
        match (bounded, self.max_calls) {
            (true, Some(m)) => Some(total.min(m)),
            (true, None) => Some(total),
            (false, m) => m,
        }
    }

    /// Calls scheduled in stage `i` (None when unbounded or out of range).
    pub fn calls_in_stage(&self, i: usize) -> Option<u64> {
        self.segs.get(i)?.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(rate: f64, secs: Option<u64>, ramp: u64) -> Stage {
        Stage {
            rate,
            duration: secs.map(Duration::from_secs),
            ramp: Duration::from_secs(ramp),
        }
    }

    fn per_stage(p: &Pacer, limit: u64) -> Vec<u64> {
        let mut counts = vec![0u64; p.segs.len()];
        let mut k = 0;
        while let Some(s) = p.slot(k) {
            counts[s.stage] += 1;
            k += 1;
            assert!(k <= limit, "pacer did not end");
        }
        counts
    }

    #[test]
    fn exact_counts_table() {
        // (stages, expected calls per stage)
        let table: Vec<(Vec<Stage>, Vec<u64>)> = vec![
            (vec![st(50.0, Some(300), 0)], vec![15_000]),
            (vec![st(0.3, Some(10), 0)], vec![3]),
            (
                vec![
                    st(10.0, Some(1), 0),
                    st(20.0, Some(1), 0),
                    st(30.0, Some(2), 0),
                ],
                vec![10, 20, 60],
            ),
            // Ramp 0 → 100 over 10 s then 10 s steady: 500 + 1000.
            (vec![st(100.0, Some(20), 10)], vec![1500]),
            // Step up, ramp down to a pause, resume.
            (
                vec![
                    st(10.0, Some(10), 0),
                    st(0.0, Some(10), 4),
                    st(0.0, Some(5), 0),
                    st(5.0, Some(2), 0),
                ],
                vec![100, 20, 0, 10],
            ),
            // Ramp longer than the stage: 0 → 100 over 20 s, cut at 10 s: area 250.
            (vec![st(100.0, Some(10), 20)], vec![250]),
            (vec![st(0.0, Some(60), 0)], vec![0]),
        ];
        for (stages, want) in table {
            let p = Pacer::new(&stages, None);
            assert_eq!(per_stage(&p, 100_000), want, "stages {stages:?}");
            assert_eq!(
                p.expected_calls(),
                Some(want.iter().sum()),
                "stages {stages:?}"
            );
        }
    }

    #[test]
    fn slot_times_table() {
        let p = Pacer::new(
            &[
                st(10.0, Some(1), 0),
                st(0.0, Some(1), 0),
                st(2.0, Some(2), 0),
            ],
            None,
        );
        let table = [
            (0, 0, 0),
            (1, 100, 0),
            (9, 900, 0),
            (10, 2000, 2),
            (11, 2500, 2),
            (13, 3500, 2),
        ];
        for (k, ms, stage) in table {
            assert_eq!(
                p.slot(k),
                Some(Slot {
                    at: Duration::from_millis(ms),
                    stage
                }),
                "k={k}"
            );
        }
        assert_eq!(p.slot(14), None);
        // Ramp 0 → 2/s over 2 s: area t^2/2, so call 1 at sqrt(2) s, call 2 at 2 s.
        let p = Pacer::new(&[st(2.0, Some(10), 2)], None);
        let t1 = p.slot(1).map(|s| s.at.as_secs_f64()).unwrap_or(0.0);
        assert!((t1 - 2f64.sqrt()).abs() < 1e-9, "{t1}");
        assert_eq!(p.slot(2).map(|s| s.at), Some(Duration::from_secs(2)));
        assert_eq!(p.slot(3).map(|s| s.at), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn monotonic_through_ramps_and_steps() {
        let p = Pacer::new(
            &[
                st(50.0, Some(10), 3),
                st(200.0, Some(10), 5),
                st(20.0, Some(10), 5),
                st(80.0, Some(5), 0),
            ],
            None,
        );
        let mut prev = Duration::ZERO;
        let mut prev_stage = 0;
        let mut k = 0;
        while let Some(s) = p.slot(k) {
            assert!(s.at >= prev, "k={k} went back: {:?} < {prev:?}", s.at);
            assert!(s.stage >= prev_stage);
            let (si, _) = p.stage_at(s.at).unwrap_or((usize::MAX, 0.0));
            assert_eq!(si, s.stage, "k={k} at {:?}", s.at);
            prev = s.at;
            prev_stage = s.stage;
            k += 1;
            assert!(k < 10_000);
        }
        assert_eq!(Some(k), p.expected_calls());
    }

    #[test]
    fn stage_at_table() {
        let p = Pacer::new(&[st(100.0, Some(10), 10), st(50.0, Some(10), 0)], None);
        let table = [
            (0u64, Some((0, 0.0))),
            (5000, Some((0, 50.0))),
            (9999, Some((0, 99.99))),
            (10_000, Some((1, 50.0))),
            (20_000, None),
        ];
        for (ms, want) in table {
            let got = p.stage_at(Duration::from_millis(ms));
            match (got, want) {
                (Some((i, r)), Some((wi, wr))) => {
                    assert_eq!(i, wi, "{ms}ms");
                    assert!((r - wr).abs() < 1e-6, "{ms}ms: {r} vs {wr}");
                }
                (g, w) => assert_eq!(g.map(|x| x.0), w.map(|x| x.0), "{ms}ms"),
            }
        }
        assert_eq!(p.total_duration(), Some(Duration::from_secs(20)));
    }

    #[test]
    fn forever_never_ends() {
        let p = Pacer::new(&[st(10.0, Some(1), 0), st(1000.0, None, 0)], None);
        assert_eq!(p.total_duration(), None);
        assert_eq!(p.expected_calls(), None);
        for k in [10u64, 1_000, 1_000_000, 10_000_000_000] {
            let s = p.slot(k).map(|s| (s.stage, s.at));
            let want = Duration::from_secs(1) + Duration::from_secs_f64((k - 10) as f64 / 1000.0);
            assert_eq!(s, Some((1, want)), "k={k}");
        }
        assert_eq!(
            p.stage_at(Duration::from_secs(86_400 * 30)),
            Some((1, 1000.0))
        );
    }

    #[test]
    fn no_drift_over_days() {
        // 10^10 calls at 1000/s: exactly 10^7 s, to the nanosecond.
        let p = Pacer::new(&[st(1000.0, None, 0)], None);
        assert_eq!(
            p.slot(10_000_000_000).map(|s| s.at),
            Some(Duration::from_secs(10_000_000))
        );
        let p = Pacer::new(&[st(3.0, Some(86_400 * 3), 0)], None);
        assert_eq!(p.expected_calls(), Some(3 * 86_400 * 3));
        let last = p
            .slot(3 * 86_400 * 3 - 1)
            .map(|s| s.at.as_secs_f64())
            .unwrap_or(0.0);
        assert!((last - (86_400.0 * 3.0 - 1.0 / 3.0)).abs() < 1e-6, "{last}");
    }

    #[test]
    fn max_calls_caps() {
        let p = Pacer::new(&[st(100.0, None, 0)], Some(250));
        assert_eq!(p.expected_calls(), Some(250));
        assert!(p.slot(249).is_some());
        assert_eq!(p.slot(250), None);
        let p = Pacer::new(&[st(10.0, Some(1), 0)], Some(1_000));
        assert_eq!(p.expected_calls(), Some(10));
        assert_eq!(p.slot(10), None);
    }

    #[test]
    fn forever_pause_and_empty() {
        let p = Pacer::new(&[st(10.0, Some(1), 0), st(0.0, None, 0)], None);
        assert_eq!(p.expected_calls(), Some(10));
        assert_eq!(p.slot(10), None);
        assert_eq!(p.stage_at(Duration::from_secs(1_000)), Some((1, 0.0)));
        let p = Pacer::new(&[], None);
        assert_eq!(p.slot(0), None);
        assert_eq!(p.expected_calls(), Some(0));
    }
}
