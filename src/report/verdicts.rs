//! The verdicts a soak is judged by, beside the whole-run ones: **leak** (does the server's memory
//! grow over the steady part of the run?) and **drift** (is the last window slower or more error-prone
//! than the first steady one?). Both are pure functions of sampled timelines, so they are tested with
//! tables and no clock.
//!
//! The leak slope is Theil–Sen: the median of the slopes between every pair of samples. One GC pause
//! or a late allocation spike moves a least-squares fit; it barely moves the median. The warm-up
//! (runtime JIT, pools filling) is excluded because a server that grows 40 MB while warming up and
//! then stays flat is not leaking. A verdict that lacks data says "not measured" with the reason;
//! it never reads as "passed".

use std::collections::BTreeMap;

use crate::mcp::SessionStats;
use crate::plan::{Objective, SoakLimits};
use crate::record::resources::{self, Observed, Sample};
use crate::record::snapshot::TimelinePoint;
use crate::report::SloVerdict;

/// One sample of a growing quantity (defined beside the sampler that makes it).
pub use crate::record::resources::Point;

/// A verdict computed from data, or why it could not be.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Measured<T> {
    /// The verdict's value.
    Measured(T),
    /// Not computed, e.g. too few samples.
    NotMeasured {
        /// Why, in words.
        reason: String,
    },
}

impl<T> Measured<T> {
    fn not(reason: impl Into<String>) -> Self {
        Measured::NotMeasured {
            reason: reason.into(),
        }
    }

    /// The value, if measured.
    pub fn value(&self) -> Option<&T> {
        match self {
            Measured::Measured(v) => Some(v),
            Measured::NotMeasured { .. } => None,
        }
    }
}

/// Growth of one quantity over the steady part of the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Growth {
    /// Theil–Sen slope, units per hour.
    pub per_hour: f64,
    /// The interquartile range of the pairwise slopes (units per hour): how sure the slope is.
    pub per_hour_low: f64,
    /// Upper quartile of the pairwise slopes, units per hour (see `per_hour_low`).
    pub per_hour_high: f64,
    /// The slope times the steady span: what the fitted line grew by, units.
    pub growth: f64,
    /// Samples used (after the warm-up) and the span they cover, seconds.
    pub samples: usize,
    /// The span the samples cover, seconds.
    pub span_s: f64,
}

/// Fewer samples than this after the warm-up and no slope is given.
pub const MIN_SAMPLES: usize = 5;

/// Theil–Sen: the median of the pairwise slopes (value per second) and their 25th/75th percentiles.
/// Pairs at the same instant are skipped. `None` with fewer than two distinct instants.
pub fn theil_sen(points: &[Point]) -> Option<(f64, f64, f64)> {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt = b.at_s - a.at_s;
            if dt.abs() > f64::EPSILON && a.value.is_finite() && b.value.is_finite() {
                slopes.push((b.value - a.value) / dt);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let x = p * (slopes.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        slopes[lo] + (slopes[hi] - slopes[lo]) * (x - lo as f64)
    };
    Some((q(0.5), q(0.25), q(0.75)))
}

/// The growth of `points` after `warmup_s`, per hour. Not measured with fewer than
/// [`MIN_SAMPLES`] samples after the warm-up.
pub fn growth(points: &[Point], warmup_s: f64) -> Measured<Growth> {
    let steady: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.at_s >= warmup_s && p.value.is_finite())
        .collect();
    if steady.len() < MIN_SAMPLES {
        return Measured::not(format!(
            "{} sample(s) after the {warmup_s:.0} s warm-up; need {MIN_SAMPLES}",
            steady.len()
        ));
    }
    let Some((slope, low, high)) = theil_sen(&steady) else {
        return Measured::not("every sample at the same instant");
    };
    let span_s = steady.last().map_or(0.0, |l| l.at_s) - steady[0].at_s;
    Measured::Measured(Growth {
        per_hour: slope * 3600.0,
        per_hour_low: low * 3600.0,
        per_hour_high: high * 3600.0,
        growth: slope * span_s,
        samples: steady.len(),
        span_s,
    })
}

/// Memory growth below this many bytes over the steady span is never called a leak, whatever the
/// slope (a short run's noise extrapolated to an hour looks large).
pub const MIN_LEAK_GROWTH_BYTES: f64 = 5e6;

/// Does the memory growth breach `max_per_hour` (bytes/h)? `None` when not measured.
pub fn leak_breached(g: &Measured<Growth>, max_per_hour: f64) -> Option<bool> {
    g.value()
        .map(|g| g.per_hour > max_per_hour && g.growth > MIN_LEAK_GROWTH_BYTES)
}

/// Refused initializes needed, at least, to call a run capped (a few refusals are noise).
pub const CAPPED_MIN_REFUSED: u64 = 10;
/// …and their least share of the initialize attempts (sessions created plus refused).
pub const CAPPED_MIN_SHARE: f64 = 0.01;

/// Why the memory slope says nothing when the server capped its sessions, or `None`: at least
/// [`CAPPED_MIN_REFUSED`] initializes refused and at least [`CAPPED_MIN_SHARE`] of the attempts. A
/// server that refuses new sessions past a cap (the PyPI `mcp` server: 503 "Too many open sessions"
/// past 10,000) stops growing at the cap, so its flat line would otherwise read as healthy.
pub fn capped(sessions: &SessionStats) -> Option<String> {
    let refused = sessions.refused;
    let attempts = sessions.initialized + refused;
    (refused >= CAPPED_MIN_REFUSED && refused as f64 >= CAPPED_MIN_SHARE * attempts as f64).then(
        || {
            format!(
                "capped: the server refused {refused} of {attempts} new sessions (an HTTP or \
                 JSON-RPC error to initialize, e.g. HTTP 503 \"Too many open sessions\") — a \
                 session cap hides a leak from the slope"
            )
        },
    )
}

/// The last window against the first steady one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Drift {
    /// Calls-weighted mean of the per-interval p95 in each window, milliseconds.
    pub first_p95_ms: f64,
    /// The same in the last window, milliseconds.
    pub last_p95_ms: f64,
    /// (last − first) / first; `None` when the first window's p95 is 0.
    pub p95_change: Option<f64>,
    /// Errors / completed calls in the first window.
    pub first_error_ratio: f64,
    /// The same in the last window.
    pub last_error_ratio: f64,
    /// The first steady window's bounds, seconds since the start.
    pub first_window_s: (f64, f64),
    /// The last window's bounds, seconds since the start.
    pub last_window_s: (f64, f64),
}

/// Drift of the timeline: the first `window_s` after `warmup_s` against the last `window_s` (each
/// the timeline intervals whose middle falls inside). Not
/// measured when the two windows would overlap or either holds no calls.
pub fn drift(points: &[TimelinePoint], warmup_s: f64, window_s: f64) -> Measured<Drift> {
    let Some(end) = points
        .iter()
        .map(|p| p.start_s + p.duration_s)
        .reduce(f64::max)
    else {
        return Measured::not("no calls completed");
    };
    let first = (warmup_s, warmup_s + window_s);
    let last = (end - window_s, end);
    if first.1 > last.0 + 1e-9 {
        return Measured::not(format!(
            "the run's steady part ({:.0} s) is shorter than two {window_s:.0} s windows",
            (end - warmup_s).max(0.0)
        ));
    }
    let window = |(from, to): (f64, f64)| {
        let mut calls = 0u64;
        let mut errors = 0u64;
        let mut p95_weighted = 0.0;
        let mut answered = 0u64;
        // An interval belongs to the window its middle falls in (timeline intervals need not line
        // up with the run's end).
        for p in points.iter().filter(|p| {
            let mid = p.start_s + p.duration_s / 2.0;
            mid >= from && mid < to
        }) {
            calls += p.calls;
            errors += p.errors;
            if p.p95_ms > 0.0 {
                p95_weighted += p.p95_ms * p.calls as f64;
                answered += p.calls;
            }
        }
        (calls > 0).then(|| {
            (
                if answered > 0 {
                    p95_weighted / answered as f64
                } else {
                    0.0
                },
                errors as f64 / calls as f64,
            )
        })
    };
    let (Some((f95, ferr)), Some((l95, lerr))) = (window(first), window(last)) else {
        return Measured::not("no calls completed in the first or the last window");
    };
    Measured::Measured(Drift {
        first_p95_ms: f95,
        last_p95_ms: l95,
        p95_change: (f95 > 0.0).then(|| (l95 - f95) / f95),
        first_error_ratio: ferr,
        last_error_ratio: lerr,
        first_window_s: first,
        last_window_s: last,
    })
}

/// Does the p95 drift breach `max_change` (0.2 = +20 %)? `None` when not measured.
pub fn drift_breached(d: &Measured<Drift>, max_change: f64) -> Option<bool> {
    d.value().and_then(|d| d.p95_change).map(|c| c > max_change)
}

/// The warm-up excluded from both verdicts: 30 s (what a V8 or CPython server takes to settle in
/// the measured runs), but never more than a fifth of the run.
pub fn default_warmup_s(run_s: f64) -> f64 {
    30f64.min(run_s / 5.0)
}

/// The drift window: a tenth of the steady part, at least one minute when the run allows it, at
/// most an hour.
pub fn default_window_s(run_s: f64, warmup_s: f64) -> f64 {
    let steady = (run_s - warmup_s).max(0.0);
    (steady / 10.0).clamp(steady.min(60.0) / 2.0, 3600.0)
}

/// One line for the console: "memory +212.0 MB/h (…)" or "memory not measured: …".
pub fn describe_growth(what: &str, g: &Measured<Growth>, unit: f64, unit_name: &str) -> String {
    match g {
        Measured::Measured(g) => format!(
            "{what} {:+.1} {unit_name}/h (IQR {:+.1}…{:+.1}, {:+.1} {unit_name} over {:.0} s, {} samples)",
            g.per_hour / unit,
            g.per_hour_low / unit,
            g.per_hour_high / unit,
            g.growth / unit,
            g.span_s,
            g.samples
        ),
        Measured::NotMeasured { reason } => format!("{what} not measured: {reason}"),
    }
}

/// One line for the console: "p95 +38.0 % first→last window (…)" or "drift not measured: …".
pub fn describe_drift(d: &Measured<Drift>) -> String {
    match d {
        Measured::Measured(d) => format!(
            "p95 {} first→last window ({:.1} → {:.1} ms), error ratio {:.2} % → {:.2} %",
            d.p95_change
                .map_or("n/a".to_owned(), |c| format!("{:+.1} %", c * 100.0)),
            d.first_p95_ms,
            d.last_p95_ms,
            d.first_error_ratio * 100.0,
            d.last_error_ratio * 100.0
        ),
        Measured::NotMeasured { reason } => format!("drift not measured: {reason}"),
    }
}

/// The soak part of the summary: the server's sampled resources and both verdicts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SoakSummary {
    /// Where the server's resources were read (`target.metrics_url` without credentials, or
    /// `pid N`); None when neither was set.
    pub source: Option<String>,
    /// The sampled timeline (bounded: thinned evenly past a few hundred samples).
    pub samples: Vec<Sample>,
    /// Failed samples by reason (`unreachable`, `not_prometheus`, `process_gone`, …).
    pub sample_failures: BTreeMap<String, u64>,
    /// The last sample failure, in words.
    pub last_failure: Option<String>,
    /// Seconds at the start excluded from both verdicts.
    pub warmup_s: f64,
    /// Resident memory growth, bytes per hour.
    pub memory: Measured<Growth>,
    /// Open file descriptor growth, per hour.
    pub open_fds: Measured<Growth>,
    /// p95 and error ratio, last window against the first steady one (every tool together).
    pub drift: Measured<Drift>,
    /// The same per tool (or method) of the mix, from each one's own timeline, same windows.
    #[serde(default)]
    pub drift_by_tool: BTreeMap<String, Measured<Drift>>,
    /// The server refused new sessions often enough to be capped ([`capped`]): memory and fds
    /// are then not measured, whatever their slope.
    #[serde(default)]
    pub capped: bool,
}

const NO_SOURCE: &str = "no target.metrics_url or target.pid set";

impl Default for SoakSummary {
    fn default() -> Self {
        SoakSummary {
            source: None,
            samples: Vec::new(),
            sample_failures: BTreeMap::new(),
            last_failure: None,
            warmup_s: 0.0,
            memory: Measured::not(NO_SOURCE),
            open_fds: Measured::not(NO_SOURCE),
            drift: Measured::not("no calls completed"),
            drift_by_tool: BTreeMap::new(),
            capped: false,
        }
    }
}

/// Builds the soak summary from what the sampler saw, the call timeline and each tool's own
/// (`per_tool`: name, timeline), and the SLO verdicts for the limits that are set (`not measured`
/// fails: a soak that could not see its server's memory has not shown it does not leak). The drift
/// SLO judges every tool together; the per-tool drift is reported beside it. When the `sessions`
/// counters say the server was [`capped`], memory and fds are not measured, for that reason.
pub fn soak_summary<'a>(
    seen: &Observed,
    sessions: &SessionStats,
    timeline: &[TimelinePoint],
    per_tool: impl IntoIterator<Item = (&'a str, &'a [TimelinePoint])>,
    run_s: f64,
    limits: &SoakLimits,
) -> (SoakSummary, Vec<SloVerdict>) {
    let warmup_s = limits
        .warmup
        .map_or_else(|| default_warmup_s(run_s), |d| d.as_secs_f64());
    let window_s = limits
        .window
        .map_or_else(|| default_window_s(run_s, warmup_s), |d| d.as_secs_f64());
    let cap = capped(sessions);
    let sampled = |key: &str| {
        if let Some(reason) = &cap {
            return Measured::not(reason.clone());
        }
        if seen.source.is_empty() {
            return Measured::not(NO_SOURCE);
        }
        match growth(&seen.timeline.series(key), warmup_s) {
            Measured::NotMeasured { reason } => Measured::not(match &seen.last_failure {
                Some(f) => format!("{reason} (last failure: {f})"),
                None => reason,
            }),
            m => m,
        }
    };
    let s = SoakSummary {
        source: (!seen.source.is_empty()).then(|| seen.source.clone()),
        samples: seen.timeline.samples().to_vec(),
        sample_failures: seen
            .failures
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        last_failure: seen.last_failure.clone(),
        warmup_s,
        memory: sampled(resources::RESIDENT_BYTES),
        open_fds: sampled(resources::OPEN_FDS),
        drift: drift(timeline, warmup_s, window_s),
        drift_by_tool: per_tool
            .into_iter()
            .map(|(name, points)| (name.to_owned(), drift(points, warmup_s, window_s)))
            .collect(),
        capped: cap.is_some(),
    };
    let mut slos = Vec::new();
    let verdict = |objective: Objective,
                   target: f64,
                   measured: Option<f64>,
                   breached: Option<bool>,
                   why: Option<String>| SloVerdict {
        op: crate::record::names::ALL_TOOLS.to_owned(),
        objective,
        target,
        measured,
        passed: breached == Some(false),
        reason: if breached.is_none() { why } else { None },
        breach_s: 0.0,
        worst_window: None,
    };
    if let Some(max) = limits.max_memory_growth {
        slos.push(verdict(
            Objective::MaxMemoryGrowthBytesPerHour,
            max,
            s.memory.value().map(|g| g.per_hour),
            leak_breached(&s.memory, max),
            not_measured(&s.memory),
        ));
    }
    if let Some(max) = limits.max_p95_drift {
        slos.push(verdict(
            Objective::MaxP95Drift,
            max,
            s.drift.value().and_then(|d| d.p95_change),
            drift_breached(&s.drift, max),
            not_measured(&s.drift).or_else(|| Some("the first window's p95 is 0".to_owned())),
        ));
    }
    (s, slos)
}

/// Marks `s` capped for `reason` after the fact (memory and fds not measured) and fails its memory
/// SLO in `slos` the same way: `mcp-soak merge`, when the shards together cross the [`capped`]
/// threshold that none crossed alone.
pub fn apply_cap(s: &mut SoakSummary, slos: &mut [SloVerdict], reason: String) {
    s.memory = Measured::not(reason.clone());
    s.open_fds = Measured::not(reason);
    s.capped = true;
    for v in slos
        .iter_mut()
        .filter(|v| v.objective == Objective::MaxMemoryGrowthBytesPerHour)
    {
        v.measured = None;
        v.passed = false;
        v.reason = not_measured(&s.memory);
    }
}

fn not_measured<T>(m: &Measured<T>) -> Option<String> {
    match m {
        Measured::NotMeasured { reason } => Some(format!("not measured: {reason}")),
        Measured::Measured(_) => None,
    }
}

/// The soak verdicts as labelled lines, shared by the console and the HTML report: where the
/// resources were read, memory and fd growth, drift (every tool, then each tool when there are
/// several) — or why each was not measured.
pub fn soak_rows(s: &SoakSummary) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            "Server resources".to_owned(),
            s.source
                .clone()
                .unwrap_or_else(|| "not sampled (set target.metrics_url or target.pid)".into()),
        ),
        (
            "Leak".to_owned(),
            describe_growth("memory", &s.memory, 1e6, "MB"),
        ),
        (
            String::new(),
            describe_growth("open fds", &s.open_fds, 1.0, "fds"),
        ),
        ("Drift".to_owned(), describe_drift(&s.drift)),
    ];
    if s.drift_by_tool.len() > 1 {
        rows.extend(
            s.drift_by_tool
                .iter()
                .map(|(tool, d)| (format!("  {tool}"), describe_drift(d))),
        );
    }
    rows
}

/// The console section for the soak verdicts (failed samples right under the source).
pub fn write_console(s: &SoakSummary, w: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(w, "\nSOAK")?;
    for (i, (label, text)) in soak_rows(s).into_iter().enumerate() {
        writeln!(w, "  {label:<22} {text}")?;
        if i == 0 && !s.sample_failures.is_empty() {
            let f: Vec<String> = s
                .sample_failures
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            writeln!(
                w,
                "  {:<22} {} — last: {}",
                "Failed samples",
                f.join(", "),
                s.last_failure.as_deref().unwrap_or("-")
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, step_s: f64, start: f64, per_s: f64) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                at_s: i as f64 * step_s,
                value: start + per_s * i as f64 * step_s,
            })
            .collect()
    }

    #[test]
    fn theil_sen_table() {
        let cases: Vec<(&str, Vec<Point>, Option<f64>)> = vec![
            ("empty", vec![], None),
            ("one point", line(1, 1.0, 5.0, 1.0), None),
            ("flat", line(10, 1.0, 5.0, 0.0), Some(0.0)),
            ("straight line", line(10, 2.0, 100.0, 3.0), Some(3.0)),
            ("falling", line(10, 1.0, 100.0, -2.0), Some(-2.0)),
            (
                "same instant twice",
                vec![
                    Point {
                        at_s: 1.0,
                        value: 1.0,
                    },
                    Point {
                        at_s: 1.0,
                        value: 9.0,
                    },
                ],
                None,
            ),
        ];
        for (name, pts, want) in cases {
            let got = theil_sen(&pts).map(|s| s.0);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{name}: {g} != {w}"),
                (g, w) => assert_eq!(g, w, "{name}"),
            }
        }
    }

    #[test]
    fn one_spike_does_not_move_the_slope() {
        let mut pts = line(20, 5.0, 100e6, 0.0);
        pts[10].value = 900e6; // a GC pause sampled at the worst moment
        pts[19].value = 500e6; // and a spike at the very end
        let (s, _, _) = theil_sen(&pts).expect("slope");
        assert!(s.abs() < 1e-9, "flat with outliers gave {s}");
    }

    #[test]
    fn growth_excludes_the_warm_up_and_reports_per_hour() {
        // +40 MB in the first 30 s (warming up), then +1 MB/s = 3600 MB/h.
        let mut pts: Vec<Point> = (0..=6)
            .map(|i| Point {
                at_s: i as f64 * 5.0,
                value: 100e6 + i as f64 * 40e6 / 6.0,
            })
            .collect();
        pts.extend((1..=18).map(|i| Point {
            at_s: 30.0 + i as f64 * 5.0,
            value: 140e6 + i as f64 * 5e6,
        }));
        let g = growth(&pts, 30.0);
        let g = g.value().expect("measured");
        assert!((g.per_hour - 3600e6).abs() < 1.0, "{}", g.per_hour);
        assert_eq!(g.samples, 19);
        assert!((g.growth - 90e6).abs() < 1.0);
        assert!(leak_breached(&Measured::Measured(g.clone()), 50e6) == Some(true));
    }

    #[test]
    fn leak_verdict_table() {
        let flat = growth(&line(20, 10.0, 100e6, 0.0), 0.0);
        // 3 MB/h over 190 s: a steep slope per hour but 0.16 MB of growth → noise, not a leak.
        let tiny = growth(&line(20, 10.0, 100e6, 3e6 / 3600.0), 0.0);
        let leaking = growth(&line(20, 10.0, 100e6, 1e5), 0.0); // 360 MB/h, 19 MB over 190 s
        let short = growth(&line(3, 10.0, 100e6, 1e5), 0.0);
        for (name, g, max, want) in [
            ("flat passes", &flat, 50e6, Some(false)),
            ("tiny growth passes", &tiny, 1e6, Some(false)),
            ("leak fails", &leaking, 50e6, Some(true)),
            (
                "leak under a loose limit passes",
                &leaking,
                400e6,
                Some(false),
            ),
            ("too few samples: not measured", &short, 50e6, None),
        ] {
            assert_eq!(leak_breached(g, max), want, "{name}");
        }
        assert!(
            matches!(short, Measured::NotMeasured { ref reason } if reason.contains("3 sample"))
        );
        assert!(describe_growth("memory", &leaking, 1e6, "MB").starts_with("memory +360.0 MB/h"));
        assert!(describe_growth("memory", &short, 1e6, "MB").contains("not measured"));
    }

    fn tp(start_s: f64, calls: u64, errors: u64, p95_ms: f64) -> TimelinePoint {
        TimelinePoint {
            start_s,
            duration_s: 1.0,
            calls,
            errors,
            p50_ms: p95_ms / 2.0,
            p95_ms,
            p99_ms: p95_ms,
            outcomes: Default::default(),
            max_in_flight: 0,
            max_lag_ms: 0.0,
        }
    }

    #[test]
    fn drift_table() {
        // 0–9 s warm-up at 50 ms, then 10 ms rising linearly to 19 ms at the end (second 29).
        let pts: Vec<TimelinePoint> = (0..30)
            .map(|s| {
                let p95 = if s < 10 { 50.0 } else { s as f64 };
                tp(s as f64, 10, u64::from(s >= 25), p95)
            })
            .collect();
        let d = drift(&pts, 10.0, 5.0);
        let v = d.value().expect("measured");
        assert_eq!(v.first_window_s, (10.0, 15.0));
        assert_eq!(v.last_window_s, (25.0, 30.0));
        assert!((v.first_p95_ms - 12.0).abs() < 1e-9);
        assert!((v.last_p95_ms - 27.0).abs() < 1e-9);
        assert!((v.p95_change.expect("change") - 1.25).abs() < 1e-9);
        assert_eq!((v.first_error_ratio, v.last_error_ratio), (0.0, 0.1));
        assert_eq!(drift_breached(&d, 0.2), Some(true));
        assert_eq!(drift_breached(&d, 2.0), Some(false));
        assert!(describe_drift(&d).starts_with("p95 +125.0 % first→last window"));

        // Too short for two windows; empty.
        let short = drift(&pts, 10.0, 15.0);
        assert_eq!(drift_breached(&short, 0.2), None);
        assert!(describe_drift(&short).contains("shorter than two 15 s windows"));
        assert!(matches!(drift(&[], 0.0, 1.0), Measured::NotMeasured { .. }));
    }

    #[test]
    fn drift_is_judged_for_every_tool_together_and_reported_per_tool() {
        // 20 s, warm-up 0, 5 s windows: `fast` flat at 10 ms, `slow` from 20 ms to 40 ms.
        let fast: Vec<TimelinePoint> = (0..20).map(|s| tp(s as f64, 10, 0, 10.0)).collect();
        let slow: Vec<TimelinePoint> = (0..20)
            .map(|s| tp(s as f64, 10, 0, if s < 10 { 20.0 } else { 40.0 }))
            .collect();
        let all: Vec<TimelinePoint> = (0..20)
            .map(|s| tp(s as f64, 20, 0, if s < 10 { 20.0 } else { 40.0 }))
            .collect();
        let limits = SoakLimits {
            max_p95_drift: Some(0.2),
            warmup: Some(std::time::Duration::ZERO),
            window: Some(std::time::Duration::from_secs(5)),
            ..SoakLimits::default()
        };
        let per_tool = [("fast", fast.as_slice()), ("slow", slow.as_slice())];
        let (s, slos) = soak_summary(
            &Observed::default(),
            &SessionStats::default(),
            &all,
            per_tool,
            20.0,
            &limits,
        );
        let change = |tool: &str| {
            s.drift_by_tool[tool]
                .value()
                .and_then(|d| d.p95_change)
                .expect("measured")
        };
        assert!(change("fast").abs() < 1e-9);
        assert!((change("slow") - 1.0).abs() < 1e-9);
        // The SLO is on every tool together: one verdict, `_all`.
        assert_eq!(slos.len(), 1);
        assert_eq!(slos[0].op, crate::record::names::ALL_TOOLS);
        assert!(!slos[0].passed);
        let mut out = Vec::new();
        write_console(&s, &mut out).expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("    fast                 p95 +0.0 %"),
            "{text}"
        );
        assert!(
            text.contains("    slow                 p95 +100.0 %"),
            "{text}"
        );
        // One tool: its drift is the run's, not repeated.
        let (one, _) = soak_summary(
            &Observed::default(),
            &SessionStats::default(),
            &all,
            [("slow", slow.as_slice())],
            20.0,
            &limits,
        );
        assert_eq!(soak_rows(&one).len(), 4);
    }

    /// 60 s of a server whose memory stays at 100 MB, sampled every 5 s.
    fn flat_memory_observed() -> Observed {
        let mut timeline = resources::Timeline::new(100);
        for i in 0..=12 {
            timeline.push(Sample {
                at_s: i as f64 * 5.0,
                values: BTreeMap::from([(resources::RESIDENT_BYTES.to_owned(), 100e6)]),
            });
        }
        Observed {
            source: "pid 1".into(),
            timeline,
            ..Observed::default()
        }
    }

    #[test]
    fn sustained_refused_initializes_make_the_memory_verdict_capped() {
        let stats = |initialized, refused| SessionStats {
            initialized,
            refused,
            ..SessionStats::default()
        };
        // A few refusals, or a sliver of the attempts, are noise; ≥ 10 and ≥ 1 % is a cap.
        assert_eq!(capped(&stats(100, 9)), None);
        assert_eq!(capped(&stats(10_000, 100)), None);
        assert!(capped(&stats(9_900, 100)).is_some());
        let why = capped(&stats(10, 990)).expect("capped");
        assert!(why.contains("refused 990 of 1000 new sessions"), "{why}");
        assert!(why.contains("a session cap hides a leak"), "{why}");

        // A flat memory line that would pass: capped, it is not measured and the SLO fails.
        let seen = flat_memory_observed();
        let limits = SoakLimits {
            max_memory_growth: Some(50e6),
            warmup: Some(std::time::Duration::ZERO),
            ..SoakLimits::default()
        };
        let none: [(&str, &[TimelinePoint]); 0] = [];
        let (healthy, slos) = soak_summary(&seen, &stats(10, 0), &[], none, 60.0, &limits);
        assert!(!healthy.capped);
        assert!(slos[0].passed, "{slos:?}");
        let (s, slos) = soak_summary(&seen, &stats(10, 990), &[], none, 60.0, &limits);
        assert!(s.capped);
        assert!(matches!(&s.memory, Measured::NotMeasured { reason } if reason == &why));
        assert!(!slos[0].passed);
        let reason = slos[0].reason.as_deref().expect("a reason");
        assert!(
            reason.starts_with("not measured: capped: the server refused 990"),
            "{reason}"
        );
        assert!(
            soak_rows(&s)[1]
                .1
                .starts_with("memory not measured: capped:"),
            "{:?}",
            soak_rows(&s)
        );
    }

    #[test]
    fn defaults_scale_with_the_run() {
        assert_eq!(default_warmup_s(3600.0), 30.0);
        assert_eq!(default_warmup_s(60.0), 12.0);
        assert_eq!(default_window_s(3630.0, 30.0), 360.0);
        assert_eq!(default_window_s(90.0, 30.0), 30.0);
        assert_eq!(default_window_s(200_000.0, 30.0), 3600.0);
    }
}
