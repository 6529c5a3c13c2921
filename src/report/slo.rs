//! SLO verdicts: each objective of each SLO, measured over the whole run (the final verdict) or over
//! a sliding window (the live state: abort-on-breach, the progress line), and the [`BreachTracker`]
//! that turns the live verdicts into time in breach and the worst window per objective.
//!
//! The latency SLI is the p95 from the intended send time of the *successful* calls (errors are
//! the error ratio's job); the rate SLI counts successful calls per second; the error ratio is
//! errors over completed calls.

use std::time::Duration;

use crate::plan::{Objective, Slo};
use crate::record::Snapshot;
use crate::record::names::ALL_TOOLS;
use crate::record::snapshot::{self, Hist, OutcomeCounts};
use crate::record::window::WindowView;

/// One objective of one SLO: measured against target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SloVerdict {
    /// Operation name, or `_all` for an SLO over every operation.
    pub op: String,
    /// `p95_latency_ms` (from the intended send time), `min_calls_per_second` (successful calls/s)
    /// or `max_error_ratio` (errors / completed calls); the soak verdicts add
    /// `max_memory_growth_bytes_per_hour` and `max_p95_drift`.
    pub objective: Objective,
    /// The objective's limit, in the objective's unit.
    pub target: f64,
    /// None when nothing could be measured (see `reason`).
    pub measured: Option<f64>,
    /// True when `measured` meets `target`.
    pub passed: bool,
    /// Why the objective failed without a measurement (no calls, unknown operation).
    pub reason: Option<String>,
    /// Seconds during the run that the objective failed over the sliding window (0 when the
    /// window was never evaluated, e.g. a run shorter than one progress interval).
    #[serde(default)]
    pub breach_s: f64,
    /// The worst value measured over a full sliding window (highest p95 or error ratio, lowest
    /// rate); None when the run was shorter than one window.
    #[serde(default)]
    pub worst_window: Option<f64>,
}

/// One operation's numbers an SLO is measured on.
#[derive(Debug, Clone, Copy)]
pub struct ScopeOp<'a> {
    /// The operation's name.
    pub name: &'a str,
    /// Its calls by outcome.
    pub counts: &'a OutcomeCounts,
    /// Latency from the intended send of the successful calls, µs.
    pub ok_latency: &'a Hist,
}

/// The counts and latency an SLO covers.
fn scope(op: Option<&str>, all: &[ScopeOp<'_>]) -> Option<(OutcomeCounts, Hist)> {
    let ops: Vec<_> = match op {
        Some(name) => all.iter().filter(|o| o.name == name).collect(),
        None => all.iter().collect(),
    };
    let first = ops.first()?;
    let mut counts = [0u64; crate::mcp::OutcomeKind::ALL.len()];
    let mut hist = first.ok_latency.clone();
    hist.reset();
    for o in &ops {
        for (c, v) in counts.iter_mut().zip(o.counts) {
            *c += v;
        }
        // Same bounds everywhere (the recorder makes them): adding cannot fail; if it did, the
        // verdict would be computed on fewer samples rather than panic.
        let _ = hist.add(o.ok_latency);
    }
    Some((counts, hist))
}

/// Evaluates every objective of every SLO over the whole run. An SLO on an operation with no calls
/// fails with a reason.
pub fn evaluate(slos: &[Slo], snap: &Snapshot) -> Vec<SloVerdict> {
    let ops = snap.ops.iter().map(|o| (&o.name, &o.counts, &o.ok_latency));
    evaluate_over(slos, &scope_ops(ops), snap.elapsed.as_secs_f64())
}

/// Evaluates every objective over a sliding-window view (the live SLO state).
pub fn evaluate_window(slos: &[Slo], view: &WindowView) -> Vec<SloVerdict> {
    let ops = view.ops.iter().map(|o| (&o.name, &o.counts, &o.ok_latency));
    evaluate_over(slos, &scope_ops(ops), view.secs)
}

fn scope_ops<'a>(
    ops: impl Iterator<Item = (&'a String, &'a OutcomeCounts, &'a Hist)>,
) -> Vec<ScopeOp<'a>> {
    ops.map(|(name, counts, ok_latency)| ScopeOp {
        name,
        counts,
        ok_latency,
    })
    .collect()
}

/// Evaluates every objective over `ops`, which cover `secs` seconds.
pub fn evaluate_over(slos: &[Slo], ops: &[ScopeOp<'_>], secs: f64) -> Vec<SloVerdict> {
    let mut out = Vec::new();
    for slo in slos {
        let op = slo.op.clone().unwrap_or_else(|| ALL_TOOLS.to_owned());
        let scoped = scope(slo.op.as_deref(), ops);
        let verdict = |objective: Objective,
                       target: f64,
                       measure: &dyn Fn(&OutcomeCounts, &Hist) -> Result<f64, String>,
                       ok: &dyn Fn(f64) -> bool| {
            let result = match &scoped {
                None => Err(format!("no operation named {op:?} in this run")),
                Some((c, h)) => measure(c, h),
            };
            match result {
                Ok(m) => SloVerdict {
                    op: op.clone(),
                    objective,
                    target,
                    measured: Some(m),
                    passed: ok(m),
                    reason: None,
                    breach_s: 0.0,
                    worst_window: None,
                },
                Err(reason) => SloVerdict {
                    op: op.clone(),
                    objective,
                    target,
                    measured: None,
                    passed: false,
                    reason: Some(reason),
                    breach_s: 0.0,
                    worst_window: None,
                },
            }
        };
        if let Some(p95) = slo.p95 {
            let target = p95.as_secs_f64() * 1e3;
            out.push(verdict(
                Objective::P95LatencyMs,
                target,
                &|c, h| {
                    if snapshot::completed(c) == 0 || h.is_empty() {
                        Err("no successful calls".into())
                    } else {
                        Ok(h.value_at_quantile(0.95) as f64 / 1e3)
                    }
                },
                &|m| m <= target,
            ));
        }
        if let Some(min) = slo.min_tps {
            out.push(verdict(
                Objective::MinCallsPerSecond,
                min,
                &|c, _| {
                    if snapshot::total(c) == 0 {
                        Err("no calls".into())
                    } else if secs <= 0.0 {
                        Err("run too short to measure a rate".into())
                    } else {
                        Ok(c[crate::mcp::OutcomeKind::Ok.index()] as f64 / secs)
                    }
                },
                &|m| m >= min,
            ));
        }
        if let Some(max) = slo.max_error_ratio {
            out.push(verdict(
                Objective::MaxErrorRatio,
                max,
                &|c, _| {
                    let done = snapshot::completed(c);
                    if done == 0 {
                        Err("no completed calls".into())
                    } else {
                        Ok(snapshot::errors(c) as f64 / done as f64)
                    }
                },
                &|m| m <= max,
            ));
        }
    }
    out
}

/// Time in breach and worst window of one objective, as tracked during the run.
#[derive(Debug, Clone, Default, PartialEq)]
struct Track {
    breach: Duration,
    failing_since: Option<Duration>,
    worst: Option<f64>,
}

/// Follows the sliding-window verdicts through the run: how long each objective has failed, since
/// when it fails without a break (abort-on-breach), and its worst full window.
#[derive(Debug, Clone, Default)]
pub struct BreachTracker {
    /// Per objective, in [`evaluate`] order.
    tracks: Vec<Track>,
    last: Option<Duration>,
}

impl BreachTracker {
    /// Takes the window verdicts evaluated `at` after the run's start; `full` when the window
    /// covered its whole length. The time since the previous update counts as breach for every
    /// objective failing now.
    pub fn update(&mut self, at: Duration, full: bool, verdicts: &[SloVerdict]) {
        let dt = self.last.map_or(at, |l| at.saturating_sub(l));
        self.last = Some(at);
        self.tracks.resize(verdicts.len(), Track::default());
        for (t, v) in self.tracks.iter_mut().zip(verdicts) {
            if v.passed {
                t.failing_since = None;
            } else {
                t.breach += dt;
                t.failing_since.get_or_insert(at.saturating_sub(dt));
            }
            if full && let Some(m) = v.measured {
                let higher_is_worse = v.objective.lower_is_better();
                t.worst = Some(match t.worst {
                    Some(w) if higher_is_worse => w.max(m),
                    Some(w) => w.min(m),
                    None => m,
                });
            }
        }
    }

    /// The longest time, at `at`, that any objective has been failing without a break.
    pub fn failing_for(&self, at: Duration) -> Option<Duration> {
        self.tracks
            .iter()
            .filter_map(|t| t.failing_since)
            .map(|since| at.saturating_sub(since))
            .max()
    }

    /// Per objective (in [`evaluate`] order): whether it fails now.
    pub fn failing(&self) -> Vec<bool> {
        self.tracks
            .iter()
            .map(|t| t.failing_since.is_some())
            .collect()
    }

    /// Whether any objective fails now.
    pub fn failing_now(&self) -> bool {
        self.tracks.iter().any(|t| t.failing_since.is_some())
    }

    /// Per objective (in [`evaluate`] order): seconds in breach and the worst full window.
    pub fn results(&self) -> Vec<(f64, Option<f64>)> {
        self.tracks
            .iter()
            .map(|t| (t.breach.as_secs_f64(), t.worst))
            .collect()
    }
}

/// Copies the tracked breach time and worst window onto the whole-run verdicts (same order).
pub fn attach_windows(verdicts: &mut [SloVerdict], tracked: &[(f64, Option<f64>)]) {
    for (v, (breach, worst)) in verdicts.iter_mut().zip(tracked) {
        v.breach_s = *breach;
        v.worst_window = *worst;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(objective: Objective, measured: f64, passed: bool) -> SloVerdict {
        SloVerdict {
            op: "_all".into(),
            objective,
            target: 0.0,
            measured: Some(measured),
            passed,
            reason: None,
            breach_s: 0.0,
            worst_window: None,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn breach_time_adds_up_failing_intervals_and_a_pass_breaks_the_run() {
        let mut t = BreachTracker::default();
        t.update(
            secs(10),
            false,
            &[verdict(Objective::P95LatencyMs, 50.0, true)],
        );
        t.update(
            secs(20),
            false,
            &[verdict(Objective::P95LatencyMs, 500.0, false)],
        );
        t.update(
            secs(30),
            false,
            &[verdict(Objective::P95LatencyMs, 600.0, false)],
        );
        assert_eq!(t.failing_for(secs(30)), Some(secs(20)));
        assert!(t.failing_now());
        t.update(
            secs(40),
            false,
            &[verdict(Objective::P95LatencyMs, 60.0, true)],
        );
        assert_eq!(t.failing_for(secs(40)), None);
        t.update(
            secs(50),
            false,
            &[verdict(Objective::P95LatencyMs, 700.0, false)],
        );
        assert_eq!(
            t.failing_for(secs(50)),
            Some(secs(10)),
            "a new breach starts afresh"
        );
        assert_eq!(
            t.results(),
            vec![(30.0, None)],
            "no full window yet: no worst"
        );
    }

    #[test]
    fn the_worst_full_window_is_the_highest_latency_and_the_lowest_rate() {
        let mut t = BreachTracker::default();
        for (at, p95, tps) in [(300, 80.0, 50.0), (310, 120.0, 40.0), (320, 90.0, 45.0)] {
            t.update(
                secs(at),
                true,
                &[
                    verdict(Objective::P95LatencyMs, p95, p95 <= 100.0),
                    verdict(Objective::MinCallsPerSecond, tps, tps >= 42.0),
                ],
            );
        }
        let r = t.results();
        assert_eq!(r[0].1, Some(120.0));
        assert_eq!(r[1].1, Some(40.0));
        assert_eq!((r[0].0, r[1].0), (10.0, 10.0));
    }
}
