//! Compare two summaries: per-operation deltas of p50/p95/p99 (from the intended send time),
//! completed calls/s and error ratio; a change is a regression only when it is beyond the tolerance
//! *and* beyond the run-to-run noise both summaries let us estimate.
//!
//! Tolerance rules (tolerance `t`, e.g. 0.10):
//! * latency: new > base × (1 + t) and new − base > 1 ms (noise floor for sub-millisecond calls);
//! * calls/s: new < base × (1 − t);
//! * error ratio: new − base > max(base × t, 0.001) (0.1 point floor, so 0 → 0.05 % is not flagged);
//! * an operation present in the base but missing from the new summary.
//!
//! Noise rule: the change must also exceed [`NOISE_Z`] standard errors of the difference,
//! σ = √(σ_base² + σ_new²). Each run's σ comes from its timeline, from the spread of the
//! per-interval values (estimated from successive differences, so stage steps do not count as
//! noise): for calls/s and the error ratio (counts, whose whole-run value is a mean of the
//! intervals) that spread divided by √(intervals); for latency percentiles the spread itself
//! (a percentile is no mean, and latency drifts with the machine from interval to interval, so a
//! rerun can land anywhere in that drift). An operation's share of the calls is a random draw of the mix
//! (binomial: its calls/s varies by rate·√((1−share)/calls) between seeds), and its latency
//! percentiles rest on fewer calls than the run's (σ scaled by √(run calls / operation calls));
//! its error ratio varies at least binomially, √(p(1−p)/calls). With fewer than 3 timeline
//! intervals the timeline part is unknown and counts as 0. Different seeds are warned about: the
//! mix draws then differ, which is exactly the noise estimated here.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::summary::{LatencyPair, SCHEMA_VERSION, Summary, Totals};
use crate::record::snapshot::TimelinePoint;

/// Absolute latency change below which nothing is a regression, ms.
pub const LATENCY_FLOOR_MS: f64 = 1.0;
/// Absolute error-ratio change below which nothing is a regression.
pub const ERROR_RATIO_FLOOR: f64 = 0.001;
/// Standard errors of the difference a change must exceed to be a regression (3σ: about one false
/// flag in 700 comparisons of one metric between two healthy runs).
pub const NOISE_Z: f64 = 3.0;

/// Errors loading a summary.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The summary's path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not JSON of the summary's shape.
    #[error("{path} is not an mcp-soak summary: {error}")]
    Parse {
        /// The summary's path.
        path: PathBuf,
        /// Where and how it failed to parse.
        error: serde_json::Error,
    },
    /// A summary of another schema version.
    #[error("{path}: field `schema_version` is {found}, this mcp-soak reads {SCHEMA_VERSION}")]
    Version {
        /// The summary's path.
        path: PathBuf,
        /// Its `schema_version`.
        found: u64,
    },
    /// `--tolerance` is neither a percentage nor a fraction (the text given).
    #[error("invalid tolerance {0:?}: use a percentage like 10% or a fraction like 0.1")]
    Tolerance(String),
}

/// Reads and checks one summary file; errors name the file and the field.
pub fn load(path: &Path) -> Result<Summary, CompareError> {
    let text = std::fs::read_to_string(path).map_err(|error| CompareError::Read {
        path: path.to_owned(),
        error,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| CompareError::Parse {
            path: path.to_owned(),
            error,
        })?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let value = match found {
        1 => upgrade_v1(value),
        v if v == u64::from(SCHEMA_VERSION) => value,
        _ => {
            return Err(CompareError::Version {
                path: path.to_owned(),
                found,
            });
        }
    };
    let mut summary: Summary =
        serde_json::from_value(value).map_err(|error| CompareError::Parse {
            path: path.to_owned(),
            error,
        })?;
    if found == 1 {
        summary.assessment = super::assess::assess(&summary);
    }
    Ok(summary)
}

/// A schema-1 summary in schema 2's shape, for `compare` and the reports. Version 1 numbered stages
/// from 0 (`index`) and grouped their calls by intended send time; it had no drain row, no latency of
/// unanswered calls and no assessment object. Stages become `stage = index + 1` with their start
/// summed from the durations and `scheduled`/`sent` taken from their counts (what v1 knew), the drain
/// is empty, and the assessment is graded again by the caller. Counts and latencies are v1's own.
fn upgrade_v1(mut v: serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let empty_latency = json!({
        "count": 0, "min_ms": 0.0, "mean_ms": 0.0, "p50_ms": 0.0, "p90_ms": 0.0,
        "p95_ms": 0.0, "p99_ms": 0.0, "p999_ms": 0.0, "max_ms": 0.0
    });
    let zero_totals = json!({
        "calls": 0, "completed": 0,
        "counts": {"ok": 0, "tool_error": 0, "rpc_error": 0, "http_error": 0, "timeout": 0,
                   "connect": 0, "protocol": 0, "session_expired": 0, "dropped": 0},
        "success_ratio": 0.0, "error_ratio": 0.0, "dropped_ratio": 0.0,
        "calls_per_second": 0.0, "ok_per_second": 0.0
    });
    let Some(o) = v.as_object_mut() else {
        return v;
    };
    let mut start = 0.0;
    if let Some(Value::Array(stages)) = o.get_mut("stages") {
        for st in stages.iter_mut().filter_map(Value::as_object_mut) {
            let index = st.remove("index").and_then(|i| i.as_u64()).unwrap_or(0);
            let duration = st.get("duration_s").and_then(Value::as_f64).unwrap_or(0.0);
            let totals = st.get("totals").cloned().unwrap_or(Value::Null);
            let count = |k: &str| totals.get(k).and_then(Value::as_u64).unwrap_or(0);
            let (calls, completed) = (count("calls"), count("completed"));
            st.insert("stage".into(), json!(index + 1));
            st.insert("start_s".into(), json!(start));
            st.insert("scheduled".into(), json!(calls));
            st.insert("sent".into(), json!(completed));
            let per_s = if duration > 0.0 {
                completed as f64 / duration
            } else {
                0.0
            };
            st.insert("sent_per_second".into(), json!(per_s));
            start += duration;
        }
    }
    o.entry("failed_latency").or_insert_with(|| json!([]));
    o.entry("drain").or_insert_with(|| {
        json!({
            "start_s": start, "duration_s": 0.0, "totals": zero_totals,
            "latency": {"corrected": empty_latency.clone(), "service": empty_latency}
        })
    });
    o.entry("assessment")
        .or_insert_with(|| json!({"band": "GOOD", "drivers": [], "reason": ""}));
    o.insert("schema_version".into(), json!(SCHEMA_VERSION));
    v
}

/// Parses `10%`, `10 %` or `0.1` into a fraction.
pub fn parse_tolerance(s: &str) -> Result<f64, CompareError> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    match v {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(CompareError::Tolerance(s.to_owned())),
    }
}

/// One metric of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    /// The metric's name: `p50_ms`, `p95_ms`, `p99_ms`, `calls_per_s` or `error_ratio`.
    pub metric: &'static str,
    /// Its value in the baseline.
    pub base: f64,
    /// Its value in the new summary.
    pub new: f64,
    /// Run-to-run noise of `new − base`, as [`NOISE_Z`] standard errors (same unit as the metric).
    pub noise: f64,
    /// Beyond the tolerance and beyond the noise.
    pub regression: bool,
}

/// One operation's deltas (`_all` for the whole run).
#[derive(Debug, Clone, PartialEq)]
pub struct OpDelta {
    /// The operation's name, or `_all` for the whole run.
    pub op: String,
    /// None when the operation is missing from the new summary.
    pub deltas: Option<Vec<Delta>>,
}

impl OpDelta {
    /// True when any metric regressed or the operation disappeared.
    pub fn regressed(&self) -> bool {
        self.deltas
            .as_ref()
            .is_none_or(|d| d.iter().any(|x| x.regression))
    }
}

/// The comparison of two summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Allowed relative worsening before a delta counts (0.1 = 10 %).
    pub tolerance: f64,
    /// `_all` first, then one row per operation of the baseline.
    pub rows: Vec<OpDelta>,
    /// Warnings for the reader (different seeds, too short a timeline to estimate noise).
    pub notes: Vec<String>,
}

impl Comparison {
    /// Rows (operations) with a regression.
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.regressed()).count()
    }
}

/// One run's standard errors of whole-run values, from its timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct RunNoise {
    calls_per_s: f64,
    error_ratio: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    /// Completed calls of the whole run (to scale to an operation's share).
    completed: u64,
}

/// The spread of `xs` estimated from successive differences (σ² ≈ Σ(xᵢ₊₁ − xᵢ)² / 2(n − 1)): a step
/// between stages adds one term, not a whole variance. 0 with fewer than 3 values.
fn spread(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 3 {
        return 0.0;
    }
    let ss: f64 = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    (ss / (2.0 * (n - 1) as f64)).sqrt()
}

/// The standard error of the mean of `xs` (their [`spread`] over √n).
fn standard_error(xs: &[f64]) -> f64 {
    spread(xs) / (xs.len().max(1) as f64).sqrt()
}

impl RunNoise {
    /// Minimum timeline intervals with calls for a noise estimate.
    const MIN_POINTS: usize = 3;

    fn of(s: &Summary) -> RunNoise {
        let points: Vec<&TimelinePoint> = s
            .timeline
            .iter()
            .filter(|p| p.calls > 0 && p.duration_s > 0.0)
            .collect();
        let values = |f: &dyn Fn(&TimelinePoint) -> f64| -> Vec<f64> {
            points.iter().map(|p| f(p)).collect()
        };
        let se = |f: &dyn Fn(&TimelinePoint) -> f64| standard_error(&values(f));
        // Counts add up over intervals (their whole-run value is a mean); a percentile does not, and
        // latency drifts with the machine on the scale of intervals: a rerun can land anywhere in
        // that drift, so latency is judged against the intervals' spread itself.
        let sd = |f: &dyn Fn(&TimelinePoint) -> f64| spread(&values(f));
        RunNoise {
            calls_per_s: se(&|p| p.calls as f64 / p.duration_s),
            error_ratio: se(&|p| p.errors as f64 / p.calls as f64),
            p50_ms: sd(&|p| p.p50_ms),
            p95_ms: sd(&|p| p.p95_ms),
            p99_ms: sd(&|p| p.p99_ms),
            completed: s.totals.completed,
        }
    }

    /// The standard errors of one operation with totals `t` (the whole run when `t` is the run's).
    fn for_op(&self, t: &Totals) -> RunNoise {
        let n = t.completed.max(1) as f64;
        let share = (n / self.completed.max(1) as f64).min(1.0);
        let fewer = (1.0 / share).sqrt();
        let p = t.error_ratio;
        RunNoise {
            calls_per_s: (self.calls_per_s * share)
                .hypot(t.calls_per_second * ((1.0 - share) / n).sqrt()),
            error_ratio: (self.error_ratio * fewer).max((p * (1.0 - p) / n).sqrt()),
            p50_ms: self.p50_ms * fewer,
            p95_ms: self.p95_ms * fewer,
            p99_ms: self.p99_ms * fewer,
            completed: t.completed,
        }
    }
}

fn deltas(
    (bt, bl, bn): (&Totals, &LatencyPair, RunNoise),
    (nt, nl, nn): (&Totals, &LatencyPair, RunNoise),
    tol: f64,
) -> Vec<Delta> {
    let noise = |b: f64, n: f64| NOISE_Z * b.hypot(n);
    let lat = |metric, b: f64, n: f64, noise: f64| Delta {
        metric,
        base: b,
        new: n,
        noise,
        regression: n > b * (1.0 + tol) && n - b > LATENCY_FLOOR_MS && n - b > noise,
    };
    let rate_noise = noise(bn.calls_per_s, nn.calls_per_s);
    let error_noise = noise(bn.error_ratio, nn.error_ratio);
    vec![
        lat(
            "p50_ms",
            bl.corrected.p50_ms,
            nl.corrected.p50_ms,
            noise(bn.p50_ms, nn.p50_ms),
        ),
        lat(
            "p95_ms",
            bl.corrected.p95_ms,
            nl.corrected.p95_ms,
            noise(bn.p95_ms, nn.p95_ms),
        ),
        lat(
            "p99_ms",
            bl.corrected.p99_ms,
            nl.corrected.p99_ms,
            noise(bn.p99_ms, nn.p99_ms),
        ),
        Delta {
            metric: "calls_per_s",
            base: bt.calls_per_second,
            new: nt.calls_per_second,
            noise: rate_noise,
            regression: nt.calls_per_second < bt.calls_per_second * (1.0 - tol)
                && bt.calls_per_second - nt.calls_per_second > rate_noise,
        },
        Delta {
            metric: "error_ratio",
            base: bt.error_ratio,
            new: nt.error_ratio,
            noise: error_noise,
            regression: nt.error_ratio - bt.error_ratio
                > (bt.error_ratio * tol)
                    .max(ERROR_RATIO_FLOOR)
                    .max(error_noise),
        },
    ]
}

/// The seed a summary's run used, from its configuration echo.
fn seed(s: &Summary) -> Option<u64> {
    s.config.get("seed").and_then(serde_json::Value::as_u64)
}

/// Compares `new` against `base` with a relative tolerance (0.1 = 10 %).
pub fn compare(base: &Summary, new: &Summary, tolerance: f64) -> Comparison {
    let (bn, nn) = (RunNoise::of(base), RunNoise::of(new));
    let mut notes = Vec::new();
    if let (Some(b), Some(n)) = (seed(base), seed(new))
        && b != n
    {
        notes.push(format!(
            "seeds differ (base {b}, new {n}): the mix and arguments were drawn differently, so \
             per-tool counts differ by chance; the noise column allows for it. For a like-for-like \
             comparison run both with the same --seed."
        ));
    }
    for (which, s) in [("base", base), ("new", new)] {
        let points = s.timeline.iter().filter(|p| p.calls > 0).count();
        if points < RunNoise::MIN_POINTS {
            notes.push(format!(
                "the {which} summary's timeline has {points} interval(s) with calls: too few to \
                 estimate its noise (judged on the tolerance alone); run longer"
            ));
        }
    }
    let mut rows = vec![OpDelta {
        op: crate::record::names::ALL_TOOLS.to_owned(),
        deltas: Some(deltas(
            (&base.totals, &base.latency, bn.for_op(&base.totals)),
            (&new.totals, &new.latency, nn.for_op(&new.totals)),
            tolerance,
        )),
    }];
    for b in &base.ops {
        let n = new.ops.iter().find(|o| o.name == b.name);
        rows.push(OpDelta {
            op: b.name.clone(),
            deltas: n.map(|n| {
                deltas(
                    (&b.totals, &b.latency, bn.for_op(&b.totals)),
                    (&n.totals, &n.latency, nn.for_op(&n.totals)),
                    tolerance,
                )
            }),
        });
    }
    Comparison {
        tolerance,
        rows,
        notes,
    }
}

/// The relative change as text: `+12.3%`, `=` (both 0) or `new` (the base was 0).
pub fn change(d: &Delta) -> String {
    if d.base == 0.0 {
        if d.new == 0.0 {
            "=".into()
        } else {
            "new".into()
        }
    } else {
        format!("{:+.1}%", (d.new - d.base) / d.base * 100.0)
    }
}

/// Writes the comparison table.
pub fn write(c: &Comparison, w: &mut impl Write) -> io::Result<()> {
    for note in &c.notes {
        writeln!(w, "note: {note}")?;
    }
    writeln!(
        w,
        "COMPARE (tolerance {:.1} %, noise = {NOISE_Z}σ of the difference; latency from intended send)",
        c.tolerance * 100.0
    )?;
    writeln!(
        w,
        "  {:<24} {:<12} {:>12} {:>12} {:>10} {:>10}",
        "tool", "metric", "base", "new", "change", "noise ±"
    )?;
    for r in &c.rows {
        match &r.deltas {
            None => writeln!(w, "  {:<24} missing from the new summary  REGRESSION", r.op)?,
            Some(ds) => {
                for d in ds {
                    let fmt = |v: f64| {
                        if d.metric == "error_ratio" {
                            format!("{:.4}", v)
                        } else {
                            format!("{:.2}", v)
                        }
                    };
                    let flag = if d.regression { "  REGRESSION" } else { "" };
                    writeln!(
                        w,
                        "  {:<24} {:<12} {:>12} {:>12} {:>10} {:>10}{flag}",
                        r.op,
                        d.metric,
                        fmt(d.base),
                        fmt(d.new),
                        change(d),
                        fmt(d.noise)
                    )?;
                }
            }
        }
    }
    let n = c.regressions();
    if n == 0 {
        writeln!(w, "\nNo regression beyond tolerance and noise.")
    } else {
        writeln!(
            w,
            "\n{n} operation(s) regressed beyond tolerance and noise."
        )
    }
}

/// Per-stage deltas: stage N of the base against stage N of the new run, labelled `stage N`
/// (None when the new run has no such stage). Shown in reports; not counted in the exit code.
pub fn stages(base: &Summary, new: &Summary, tolerance: f64) -> Vec<OpDelta> {
    let (bn, nn) = (RunNoise::of(base), RunNoise::of(new));
    base.stages
        .iter()
        .map(|b| OpDelta {
            op: format!("stage {}", super::format::stage_number(b)),
            deltas: new
                .stages
                .iter()
                .find(|n| super::format::stage_number(n) == super::format::stage_number(b))
                .map(|n| {
                    deltas(
                        (&b.totals, &b.latency, bn.for_op(&b.totals)),
                        (&n.totals, &n.latency, nn.for_op(&n.totals)),
                        tolerance,
                    )
                }),
        })
        .collect()
}
