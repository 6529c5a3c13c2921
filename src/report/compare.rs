//! Compare two summaries: per-operation deltas of p50/p95/p99 (from the intended send time),
//! completed calls/s and error ratio; regressions beyond a tolerance are flagged.
//!
//! Regression rules (tolerance `t`, e.g. 0.10):
//! * latency: new > base × (1 + t) and new − base > 1 ms (noise floor for sub-millisecond calls);
//! * calls/s: new < base × (1 − t);
//! * error ratio: new − base > max(base × t, 0.001) (0.1 point floor, so 0 → 0.05 % is not flagged);
//! * an operation present in the base but missing from the new summary.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::summary::{LatencyPair, SCHEMA_VERSION, Summary, Totals};

/// Absolute latency change below which nothing is a regression, ms.
pub const LATENCY_FLOOR_MS: f64 = 1.0;
/// Absolute error-ratio change below which nothing is a regression.
pub const ERROR_RATIO_FLOOR: f64 = 0.001;

/// Errors loading a summary.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not an mcp-soak summary: {error}")]
    Parse {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("{path}: field `schema_version` is {found}, this mcp-soak reads {SCHEMA_VERSION}")]
    Version { path: PathBuf, found: u64 },
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
    if found != u64::from(SCHEMA_VERSION) {
        return Err(CompareError::Version {
            path: path.to_owned(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|error| CompareError::Parse {
        path: path.to_owned(),
        error,
    })
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
    pub metric: &'static str,
    pub base: f64,
    pub new: f64,
    pub regression: bool,
}

/// One operation's deltas (`_all` for the whole run).
#[derive(Debug, Clone, PartialEq)]
pub struct OpDelta {
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
    pub tolerance: f64,
    pub rows: Vec<OpDelta>,
}

impl Comparison {
    /// Rows (operations) with a regression.
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.regressed()).count()
    }
}

fn deltas(bt: &Totals, bl: &LatencyPair, nt: &Totals, nl: &LatencyPair, tol: f64) -> Vec<Delta> {
    let lat = |metric, b: f64, n: f64| Delta {
        metric,
        base: b,
        new: n,
        regression: n > b * (1.0 + tol) && n - b > LATENCY_FLOOR_MS,
    };
    vec![
        lat("p50_ms", bl.corrected.p50_ms, nl.corrected.p50_ms),
        lat("p95_ms", bl.corrected.p95_ms, nl.corrected.p95_ms),
        lat("p99_ms", bl.corrected.p99_ms, nl.corrected.p99_ms),
        Delta {
            metric: "calls_per_s",
            base: bt.calls_per_second,
            new: nt.calls_per_second,
            regression: nt.calls_per_second < bt.calls_per_second * (1.0 - tol),
        },
        Delta {
            metric: "error_ratio",
            base: bt.error_ratio,
            new: nt.error_ratio,
            regression: nt.error_ratio - bt.error_ratio
                > (bt.error_ratio * tol).max(ERROR_RATIO_FLOOR),
        },
    ]
}

/// Compares `new` against `base` with a relative tolerance (0.1 = 10 %).
pub fn compare(base: &Summary, new: &Summary, tolerance: f64) -> Comparison {
    let mut rows = vec![OpDelta {
        op: crate::record::names::ALL_TOOLS.to_owned(),
        deltas: Some(deltas(
            &base.totals,
            &base.latency,
            &new.totals,
            &new.latency,
            tolerance,
        )),
    }];
    for b in &base.ops {
        let n = new.ops.iter().find(|o| o.name == b.name);
        rows.push(OpDelta {
            op: b.name.clone(),
            deltas: n.map(|n| deltas(&b.totals, &b.latency, &n.totals, &n.latency, tolerance)),
        });
    }
    Comparison { tolerance, rows }
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
    writeln!(
        w,
        "COMPARE (tolerance {:.1} %; latency from intended send)",
        c.tolerance * 100.0
    )?;
    writeln!(
        w,
        "  {:<24} {:<12} {:>12} {:>12} {:>10}",
        "tool", "metric", "base", "new", "change"
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
                        "  {:<24} {:<12} {:>12} {:>12} {:>10}{flag}",
                        r.op,
                        d.metric,
                        fmt(d.base),
                        fmt(d.new),
                        change(d)
                    )?;
                }
            }
        }
    }
    let n = c.regressions();
    if n == 0 {
        writeln!(w, "\nNo regression beyond tolerance.")
    } else {
        writeln!(w, "\n{n} operation(s) regressed beyond tolerance.")
    }
}

/// Per-stage deltas: stage N of the base against stage N of the new run, labelled `stage N`
/// (None when the new run has no such stage). Shown in reports; not counted in the exit code.
pub fn stages(base: &Summary, new: &Summary, tolerance: f64) -> Vec<OpDelta> {
    base.stages
        .iter()
        .map(|b| OpDelta {
            op: format!("stage {}", super::format::stage_number(b)),
            deltas: new
                .stages
                .iter()
                .find(|n| super::format::stage_number(n) == super::format::stage_number(b))
                .map(|n| deltas(&b.totals, &b.latency, &n.totals, &n.latency, tolerance)),
        })
        .collect()
}
