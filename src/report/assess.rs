//! The one-word assessment at the end of the report, and what drove it.
//!
//! A run is judged on five factors, each graded EXCELLENT, GOOD or POOR; the run gets the worst
//! grade, and the reason names the factor(s) that gave it:
//! * **SLOs** — any failed objective is POOR (latency is judged here when an SLO sets a p95);
//! * **errors** — error ratio ≥ 1 % POOR, ≥ 0.1 % GOOD;
//! * **drops** — dropped slots ≥ 1 % POOR, any GOOD;
//! * **rate** — per stage, calls completed in the stage's window over the calls it scheduled per
//!   second: below 80 % POOR, below 95 % GOOD (the stage that asked for more than the server took);
//! * **lag** — schedule lag p99 ≥ 1 s POOR, ≥ 100 ms GOOD (the generator could not keep up);
//! * **latency** — with no latency SLO, each later stage's p95 against the first stage's (the
//!   baseline): ≥ 10× POOR, ≥ 3× GOOD.

use crate::plan::Objective;

use super::format::pct;
use super::summary::Summary;

/// Error (or dropped) ratio at or above which a run is POOR.
pub const POOR_RATIO: f64 = 0.01;
/// Error ratio below which a run can be EXCELLENT.
pub const EXCELLENT_ERROR_RATIO: f64 = 0.001;
/// Achieved over scheduled rate below which a stage is POOR / only GOOD.
pub const POOR_ACHIEVED: f64 = 0.80;
/// Achieved over scheduled rate below which a stage is only GOOD (at or above: EXCELLENT).
pub const GOOD_ACHIEVED: f64 = 0.95;
/// Schedule lag p99 (ms) at or above which a run is POOR / only GOOD.
pub const POOR_LAG_MS: f64 = 1000.0;
/// Schedule lag p99 (ms) below which a run can be EXCELLENT.
pub const GOOD_LAG_MS: f64 = 100.0;
/// Stage p95 over the first stage's at or above which a run is POOR / only GOOD.
pub const POOR_SLOWDOWN: f64 = 10.0;
/// Stage p95 over the first stage's below which a run can be EXCELLENT.
pub const GOOD_SLOWDOWN: f64 = 3.0;

/// The grade, best first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Band {
    /// Every factor graded well.
    Excellent,
    /// Some factor was worth a look, none was bad.
    Good,
    /// Some factor was bad.
    Poor,
}

impl Band {
    /// The word in the console report.
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Excellent => "EXCELLENT",
            Band::Good => "GOOD",
            Band::Poor => "POOR",
        }
    }
}

/// A factor the assessment weighs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Whether any call completed at all (POOR when none did).
    Completion,
    /// A failed SLO objective (always POOR).
    Slo,
    /// The error ratio.
    Errors,
    /// The ratio of dropped slots.
    Drops,
    /// The worst stage's achieved over scheduled rate.
    Rate,
    /// The schedule lag p99.
    Lag,
    /// The worst stage's p95 over the first stage's (only without a p95 SLO).
    Latency,
}

/// The verdict: the band, the factors that set it, and why in words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Assessment {
    /// EXCELLENT, GOOD or POOR: the worst grade of any factor.
    pub band: Band,
    /// The factors graded as badly as the band (empty for EXCELLENT).
    pub drivers: Vec<Factor>,
    /// The drivers' numbers in words, e.g. `error rate 2.1 %`.
    pub reason: String,
}

/// POOR at or above `poor`, GOOD at or above `good`, EXCELLENT below (higher is worse).
fn grade(v: f64, poor: f64, good: f64) -> Band {
    if v >= poor {
        Band::Poor
    } else if v >= good {
        Band::Good
    } else {
        Band::Excellent
    }
}

/// Grades every factor of the summary and keeps the worst.
pub fn assess(s: &Summary) -> Assessment {
    let t = &s.totals;
    if t.completed == 0 {
        return Assessment {
            band: Band::Poor,
            drivers: vec![Factor::Completion],
            reason: "no call completed".into(),
        };
    }
    let mut grades: Vec<(Band, Factor, String)> = Vec::new();
    let failed: Vec<String> = s
        .slos
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{} {}", v.op, v.objective))
        .collect();
    if !failed.is_empty() {
        grades.push((
            Band::Poor,
            Factor::Slo,
            format!("SLO failed: {}", failed.join(", ")),
        ));
    }
    grades.push((
        grade(t.error_ratio, POOR_RATIO, EXCELLENT_ERROR_RATIO),
        Factor::Errors,
        format!("error rate {}", pct(t.error_ratio)),
    ));
    grades.push((
        grade(t.dropped_ratio, POOR_RATIO, f64::MIN_POSITIVE),
        Factor::Drops,
        format!("dropped {}", pct(t.dropped_ratio)),
    ));
    if let Some((stage, achieved, asked)) = s
        .stages
        .iter()
        .filter(|st| st.target_rate > 0.0 && st.duration_s >= 1.0 && st.scheduled > 0)
        .map(|st| {
            let asked = st.scheduled as f64 / st.duration_s;
            (st.stage, st.totals.calls_per_second, asked)
        })
        .min_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)))
    {
        let ratio = achieved / asked;
        // Lower is worse: grade the shortfall.
        grades.push((
            grade(1.0 - ratio, 1.0 - POOR_ACHIEVED, 1.0 - GOOD_ACHIEVED),
            Factor::Rate,
            format!(
                "stage {stage} achieved {achieved:.1}/s of {asked:.1}/s asked ({:.0} %)",
                ratio * 100.0
            ),
        ));
    }
    let lag = s.schedule.lag.p99_ms;
    grades.push((
        grade(lag, POOR_LAG_MS, GOOD_LAG_MS),
        Factor::Lag,
        format!("schedule lag p99 {lag:.1} ms"),
    ));
    let latency_slo = s
        .slos
        .iter()
        .any(|v| v.objective == Objective::P95LatencyMs);
    if !latency_slo
        && let Some(first) = s.stages.first().map(|st| st.latency.corrected.p95_ms)
        && first > 0.0
        && let Some((stage, p95)) = s
            .stages
            .iter()
            .skip(1)
            .filter(|st| st.latency.corrected.count > 0)
            .map(|st| (st.stage, st.latency.corrected.p95_ms))
            .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        let slowdown = p95 / first;
        grades.push((
            grade(slowdown, POOR_SLOWDOWN, GOOD_SLOWDOWN),
            Factor::Latency,
            format!("stage {stage} p95 {p95:.1} ms vs {first:.1} ms in stage 1 ({slowdown:.1}×)"),
        ));
    }
    let band = grades.iter().map(|g| g.0).max().unwrap_or(Band::Excellent);
    let (drivers, reasons): (Vec<Factor>, Vec<String>) = if band == Band::Excellent {
        (Vec::new(), grades.into_iter().map(|g| g.2).collect())
    } else {
        grades
            .into_iter()
            .filter(|g| g.0 == band)
            .map(|g| (g.1, g.2))
            .unzip()
    };
    let mut reason = reasons.join("; ");
    if band == Band::Excellent {
        reason.push_str(if s.slos.is_empty() {
            "; no SLOs set"
        } else {
            "; every SLO held"
        });
    }
    Assessment {
        band,
        drivers,
        reason,
    }
}
