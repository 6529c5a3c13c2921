//! SLO verdicts: each objective of each SLO, measured against the snapshot.

use crate::plan::Slo;
use crate::record::Snapshot;
use crate::record::names::ALL_TOOLS;
use crate::record::snapshot::{self, Hist, OutcomeCounts};

/// One objective of one SLO: measured against target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SloVerdict {
    /// Operation name, or `_all` for an SLO over every operation.
    pub op: String,
    /// `p95_latency_ms` (from the intended send time), `min_calls_per_second` (successful calls/s)
    /// or `max_error_ratio` (errors / completed calls).
    pub objective: String,
    pub target: f64,
    /// None when nothing could be measured (see `reason`).
    pub measured: Option<f64>,
    pub passed: bool,
    /// Why the objective failed without a measurement (no calls, unknown operation).
    pub reason: Option<String>,
}

/// The counts and latency an SLO covers.
fn scope(op: Option<&str>, snap: &Snapshot) -> Option<(OutcomeCounts, Hist)> {
    let ops: Vec<_> = match op {
        Some(name) => snap.ops.iter().filter(|o| o.name == name).collect(),
        None => snap.ops.iter().collect(),
    };
    let first = ops.first()?;
    let mut counts = [0u64; crate::mcp::OutcomeKind::ALL.len()];
    let mut hist = first.latency.clone();
    hist.reset();
    for o in &ops {
        for (c, v) in counts.iter_mut().zip(o.counts) {
            *c += v;
        }
        // Same bounds everywhere (the recorder makes them): adding cannot fail; if it did, the
        // verdict would be computed on fewer samples rather than panic.
        let _ = hist.add(&o.latency);
    }
    Some((counts, hist))
}

/// Evaluates every objective of every SLO. An SLO on an operation with no calls fails with a reason.
pub fn evaluate(slos: &[Slo], snap: &Snapshot) -> Vec<SloVerdict> {
    let secs = snap.elapsed.as_secs_f64();
    let mut out = Vec::new();
    for slo in slos {
        let op = slo.op.clone().unwrap_or_else(|| ALL_TOOLS.to_owned());
        let scoped = scope(slo.op.as_deref(), snap);
        let verdict = |objective: &str,
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
                    objective: objective.into(),
                    target,
                    measured: Some(m),
                    passed: ok(m),
                    reason: None,
                },
                Err(reason) => SloVerdict {
                    op: op.clone(),
                    objective: objective.into(),
                    target,
                    measured: None,
                    passed: false,
                    reason: Some(reason),
                },
            }
        };
        if let Some(p95) = slo.p95 {
            let target = p95.as_secs_f64() * 1e3;
            out.push(verdict(
                "p95_latency_ms",
                target,
                &|c, h| {
                    if snapshot::completed(c) == 0 || h.is_empty() {
                        Err("no completed calls".into())
                    } else {
                        Ok(h.value_at_quantile(0.95) as f64 / 1e3)
                    }
                },
                &|m| m <= target,
            ));
        }
        if let Some(min) = slo.min_tps {
            out.push(verdict(
                "min_calls_per_second",
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
                "max_error_ratio",
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
