//! The human report, written from the same [`Summary`] as the JSON file, so the two always agree.
//!
//! Unlike the scripts it replaces: success means an `ok` outcome (not HTTP 200), failures are broken
//! down by kind, latency covers every call that got an answer (error replies included) from the
//! intended send time and as service time, and rates count completed calls and successful calls
//! separately. Stages are numbered from 1, as in the progress line, the JSON and `mcp_soak_stage`.

use std::io::{self, Write};

use crate::mcp::OutcomeKind;

use super::format::{ms, pct, slo_value};
use super::summary::{LatencyStats, Summary, Totals};

fn lat_row(w: &mut impl Write, label: &str, l: &LatencyStats) -> io::Result<()> {
    if l.count == 0 {
        return writeln!(w, "  {label:<22} (no completed calls)");
    }
    writeln!(
        w,
        "  {label:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        ms(l.min_ms),
        ms(l.mean_ms),
        ms(l.p50_ms),
        ms(l.p90_ms),
        ms(l.p95_ms),
        ms(l.p99_ms),
        ms(l.p999_ms),
        ms(l.max_ms)
    )
}

/// One row of the per-stage table (a stage, or the drain).
#[allow(clippy::too_many_arguments)]
fn stage_row(
    w: &mut impl Write,
    label: &str,
    target: &str,
    sent: &str,
    scheduled: &str,
    secs: f64,
    t: &Totals,
    l: &LatencyStats,
) -> io::Result<()> {
    writeln!(
        w,
        "  {label:<6} {target:>9} {:>10.2} {sent:>8} {secs:>10.1} {scheduled:>10} {:>10} {:>8} {:>9} {:>9} {:>9}",
        t.calls_per_second,
        t.calls,
        success(t),
        ms(l.p50_ms),
        ms(l.p95_ms),
        ms(l.p99_ms)
    )
}

fn success(t: &Totals) -> String {
    if t.completed == 0 {
        "-".into()
    } else {
        format!("{:.2}", t.success_ratio * 100.0)
    }
}

/// Writes the report.
pub fn write(s: &Summary, w: &mut impl Write) -> io::Result<()> {
    let t = &s.totals;
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!(" ({})", labels.join(", "))
    };
    writeln!(
        w,
        "mcp-soak {} report — run {}{labels}",
        s.tool.version, s.run_id
    )?;
    let server = match (&s.protocol.server_name, &s.protocol.server_version) {
        (Some(n), Some(v)) => format!(", server {n} {v}"),
        (Some(n), None) => format!(", server {n}"),
        _ => String::new(),
    };
    writeln!(
        w,
        "Target: {} ({}, protocol {}{server})",
        s.target,
        s.transport,
        s.protocol.version.as_deref().unwrap_or("unknown")
    )?;
    writeln!(
        w,
        "Started {}  ended {}  duration {:.1} s",
        s.started, s.ended, s.duration_s
    )?;
    if s.aborted {
        writeln!(w, "ABORTED: {}", super::format::stop_reason(s))?;
    } else if let Some(r) = &s.stop_reason {
        writeln!(w, "Stopped: {r}")?;
    }

    writeln!(w, "\nSUMMARY")?;
    writeln!(w, "  {:<22} {}", "Calls scheduled", t.calls)?;
    writeln!(w, "  {:<22} {}", "Completed", t.completed)?;
    writeln!(
        w,
        "  {:<22} {}  ({} of completed)",
        "Successful (ok)",
        t.counts.ok,
        pct(t.success_ratio)
    )?;
    writeln!(
        w,
        "  {:<22} {}  ({} of completed)",
        "Failed",
        t.completed - t.counts.ok,
        pct(t.error_ratio)
    )?;
    for k in OutcomeKind::ALL
        .iter()
        .filter(|k| !k.is_ok() && **k != OutcomeKind::Dropped)
    {
        let n = t.counts.get(*k);
        if n > 0 {
            writeln!(w, "    {:<20} {n}", k.as_str())?;
        }
    }
    writeln!(
        w,
        "  {:<22} {}  ({} of scheduled)",
        "Dropped slots",
        t.counts.dropped,
        pct(t.dropped_ratio)
    )?;
    writeln!(
        w,
        "  {:<22} {:.2} calls/s completed, {:.2} ok/s",
        "Throughput", t.calls_per_second, t.ok_per_second
    )?;
    let ss = &s.sessions;
    if ss.initialized > 0 || ss.refused > 0 {
        writeln!(
            w,
            "  {:<22} {} created, {} deleted, {} expired, {} re-initialized, {} abandoned, {} refused, {} open at the end",
            "Sessions",
            ss.initialized,
            ss.deleted,
            ss.expired,
            ss.reinitialized,
            ss.abandoned,
            ss.refused,
            ss.active
        )?;
    }

    writeln!(
        w,
        "\nLATENCY (ms, calls that got an answer, error replies included)"
    )?;
    writeln!(
        w,
        "  {:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    )?;
    lat_row(w, "from intended send", &s.latency.corrected)?;
    lat_row(w, "service time", &s.latency.service)?;
    for f in &s.failed_latency {
        lat_row(w, &format!("no answer: {}", f.kind.as_str()), &f.latency)?;
    }
    for h in &s.handshakes {
        lat_row(w, &format!("handshake: {}", h.kind.as_str()), &h.latency)?;
    }

    writeln!(w, "\nPER TOOL (latency from intended send, ms)")?;
    // The name column fits the longest tool name, so long names never push the numbers out of line.
    let name_w = s
        .ops
        .iter()
        .map(|o| o.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    writeln!(
        w,
        "  {:<name_w$} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "tool", "calls", "ok %", "calls/s", "p50", "p95", "p99"
    )?;
    for o in &s.ops {
        let l = &o.latency.corrected;
        writeln!(
            w,
            "  {:<name_w$} {:>10} {:>8} {:>9.2} {:>9} {:>9} {:>9}",
            o.name,
            o.totals.calls,
            success(&o.totals),
            o.totals.calls_per_second,
            ms(l.p50_ms),
            ms(l.p95_ms),
            ms(l.p99_ms)
        )?;
    }

    if s.stages.len() > 1 || s.drain.totals.calls > 0 {
        writeln!(
            w,
            "\nPER STAGE (calls that ended in the stage's window; latency from intended send, ms)"
        )?;
        writeln!(
            w,
            "  {:<6} {:>9} {:>10} {:>8} {:>10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>9}",
            "stage",
            "target/s",
            "achieved/s",
            "sent/s",
            "seconds",
            "scheduled",
            "ended",
            "ok %",
            "p50",
            "p95",
            "p99"
        )?;
        for st in &s.stages {
            stage_row(
                w,
                &st.stage.to_string(),
                &format!("{:.1}", st.target_rate),
                &format!("{:.2}", st.sent_per_second),
                &st.scheduled.to_string(),
                st.duration_s,
                &st.totals,
                &st.latency.corrected,
            )?;
        }
        let d = &s.drain;
        if d.totals.calls > 0 {
            stage_row(
                w,
                "drain",
                "-",
                "-",
                "-",
                d.duration_s,
                &d.totals,
                &d.latency.corrected,
            )?;
        }
    }

    writeln!(w, "\nERRORS")?;
    if s.errors.by_kind.is_empty() {
        writeln!(w, "  none")?;
    } else {
        for k in &s.errors.by_kind {
            writeln!(w, "  {:<22} {}", k.kind.as_str(), k.count)?;
        }
        writeln!(w, "  top messages:")?;
        for m in s.errors.top_messages.iter().take(10) {
            writeln!(w, "  {:>8}x  {} [{}] {}", m.count, m.op, m.kind, m.message)?;
        }
    }

    writeln!(w, "\nSCHEDULE")?;
    writeln!(w, "  {:<22} {}", "Dropped slots", s.schedule.dropped)?;
    let lag = &s.schedule.lag;
    writeln!(
        w,
        "  {:<22} p50 {} ms, p99 {} ms, max {} ms",
        "Send lag",
        ms(lag.p50_ms),
        ms(lag.p99_ms),
        ms(lag.max_ms)
    )?;
    if s.raw_lines_lost > 0 {
        writeln!(
            w,
            "  {:<22} {} lines lost (disk too slow)",
            "Raw stream", s.raw_lines_lost
        )?;
    }

    crate::report::verdicts::write_console(&s.soak, w)?;

    writeln!(w, "\nSLO")?;
    if s.slos.is_empty() {
        writeln!(w, "  none set")?;
    }
    for v in &s.slos {
        let measured = match (v.measured, &v.reason) {
            (Some(m), _) => slo_value(v.objective, m),
            (None, Some(r)) => r.clone(),
            (None, None) => "-".into(),
        };
        let verdict = if v.passed { "PASS" } else { "FAIL" };
        writeln!(
            w,
            "  {verdict}  {:<20} {:<22} target {:<12} measured {measured}",
            v.op,
            v.objective,
            slo_value(v.objective, v.target)
        )?;
    }

    writeln!(
        w,
        "\nASSESSMENT: {} — {}",
        s.assessment.band.as_str(),
        s.assessment.reason
    )?;
    Ok(())
}
