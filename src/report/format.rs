//! Number formatting shared by the HTML, Markdown and JUnit reports, so a value reads the same in
//! every file: milliseconds with 2–3 significant digits, ratios as percentages, rates to 0.1/s.

use crate::plan::Objective;

/// Milliseconds: `0.42`, `12.5`, `180`.
pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A ratio as a percentage: `0.25 %`.
pub fn pct(r: f64) -> String {
    format!("{:.2} %", r * 100.0)
}

/// A rate or count-like number: `12.3`, `250`.
pub fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// An SLO objective's target or measurement with its unit.
pub fn slo_value(objective: Objective, v: f64) -> String {
    match objective {
        Objective::P95LatencyMs => format!("{} ms", ms(v)),
        Objective::MaxErrorRatio | Objective::MaxP95Drift => pct(v),
        Objective::MinCallsPerSecond => format!("{} /s", num(v)),
        Objective::MaxMemoryGrowthBytesPerHour => format!("{:.1} MB/h", v / 1e6),
    }
}

/// A stage's number as every report shows it (from 1, as the progress line and the console do).
pub fn stage_number(st: &super::summary::StageSummary) -> usize {
    st.stage
}

/// The one-word assessment and its reason (the summary's own `assessment`).
pub fn assessment(s: &super::Summary) -> (&'static str, String) {
    (s.assessment.band.as_str(), s.assessment.reason.clone())
}

/// Why the run stopped, in the summary's word (`stopped early` when it does not say).
pub fn stop_reason(s: &super::Summary) -> &'static str {
    s.stop_reason.map_or("stopped early", |r| r.as_str())
}

/// Why the run stopped early, when it did (for report headers).
pub fn aborted(s: &super::Summary) -> Option<&'static str> {
    s.aborted.then(|| stop_reason(s))
}

/// A compare metric's value (`p95_ms`, `calls_per_s`, `error_ratio`).
pub fn delta_value(metric: &str, v: f64) -> String {
    if metric.contains("error") {
        pct(v)
    } else if metric.ends_with("_ms") {
        ms(v)
    } else {
        num(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ms(0.4234), "0.42");
        assert_eq!(ms(12.46), "12.5");
        assert_eq!(ms(180.2), "180");
        assert_eq!(pct(0.0025), "0.25 %");
        assert_eq!(slo_value(Objective::P95LatencyMs, 150.0), "150 ms");
        assert_eq!(slo_value(Objective::MaxErrorRatio, 0.001), "0.10 %");
        assert_eq!(slo_value(Objective::MinCallsPerSecond, 50.0), "50.0 /s");
        assert_eq!(
            slo_value(Objective::MaxMemoryGrowthBytesPerHour, 5e7),
            "50.0 MB/h"
        );
        assert_eq!(slo_value(Objective::MaxP95Drift, 0.2), "20.00 %");
        assert_eq!(delta_value("calls_per_s", 1234.6), "1235");
    }
}
