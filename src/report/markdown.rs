//! Markdown for CI: a compact report of one run (verdict, key numbers, SLOs, stages, tools, top
//! errors) or of a comparison (regressions first), sized for a PR comment or `$GITHUB_STEP_SUMMARY`.
//! Table cells are escaped so a tool name or an error message cannot break the table.

use std::fmt::Write as _;

use super::compare::{Comparison, OpDelta, change};
use super::format::{aborted, assessment, delta_value, ms, num, pct, slo_value, stage_number};
use super::summary::{LatencyStats, Summary, Totals};

/// Top error messages shown (the HTML report shows all the summary keeps).
pub const TOP_ERRORS: usize = 5;

/// Escapes a table cell: pipes, newlines and markup characters.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            c => out.push(c),
        }
    }
    // Long server messages would stretch the table past a PR's width.
    if out.chars().count() > 160 {
        out = out.chars().take(157).collect::<String>() + "...";
    }
    out
}

fn lat(l: &LatencyStats) -> String {
    if l.count == 0 {
        "- | - | -".into()
    } else {
        format!("{} | {} | {}", ms(l.p50_ms), ms(l.p95_ms), ms(l.p99_ms))
    }
}

fn totals(t: &Totals) -> String {
    format!(
        "{} | {} | {} | {}",
        t.calls,
        num(t.calls_per_second),
        pct(t.error_ratio),
        t.counts.dropped
    )
}

/// The run report as Markdown.
pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    let verdict = if s.slos.is_empty() {
        "⚪ no SLOs set"
    } else if s.slo_passed {
        "✅ SLOs passed"
    } else {
        "❌ SLOs failed"
    };
    let (band, reason) = assessment(s);
    let _ = writeln!(o, "### mcp-soak: {verdict}\n");
    let _ = writeln!(
        o,
        "`{}` · run `{}` · {:.0} s · **{band}**: {}{}\n",
        cell(&s.target),
        cell(&s.run_id),
        s.duration_s,
        cell(&reason),
        aborted(s).map_or_else(String::new, |r| format!(" · aborted: {}", cell(r)))
    );
    let t = &s.totals;
    let c = &s.latency.corrected;
    let _ = writeln!(
        o,
        "| calls | completed/s | ok/s | errors | dropped | p50 ms | p95 ms | p99 ms |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        t.calls,
        num(t.calls_per_second),
        num(t.ok_per_second),
        pct(t.error_ratio),
        t.counts.dropped,
        ms(c.p50_ms),
        ms(c.p95_ms),
        ms(c.p99_ms)
    );
    if !s.slos.is_empty() {
        o.push_str("| SLO | objective | target | measured | |\n|---|---|---:|---:|---|\n");
        for v in &s.slos {
            let measured = match (v.measured, &v.reason) {
                (Some(m), _) => slo_value(v.objective, m),
                (None, Some(r)) => cell(r),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(&v.op),
                v.objective,
                slo_value(v.objective, v.target),
                measured,
                if v.passed { "✅" } else { "❌" }
            );
        }
        o.push('\n');
    }
    if s.stages.len() > 1 {
        o.push_str(
            "| stage | target/s | calls | achieved/s | errors | dropped | p50 ms | p95 ms | p99 ms |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for st in &s.stages {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                stage_number(st),
                num(st.target_rate),
                totals(&st.totals),
                lat(&st.latency.corrected)
            );
        }
        if s.drain.totals.calls > 0 {
            let _ = writeln!(
                o,
                "| drain | - | {} | {} |",
                totals(&s.drain.totals),
                lat(&s.drain.latency.corrected)
            );
        }
        o.push('\n');
    }
    o.push_str(
        "| tool | calls | calls/s | errors | dropped | p50 ms | p95 ms | p99 ms |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for op in &s.ops {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&op.name),
            totals(&op.totals),
            lat(&op.latency.corrected)
        );
    }
    o.push('\n');
    if !s.errors.top_messages.is_empty() {
        o.push_str("| top errors | kind | count | message |\n|---|---|---:|---|\n");
        for e in s.errors.top_messages.iter().take(TOP_ERRORS) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&e.op),
                cell(&e.kind.to_string()),
                e.count,
                cell(&e.message)
            );
        }
        o.push('\n');
    }
    o
}

/// One row per scope, one cell per metric (`base → new (change)`, 🔴 on a regression),
/// regressed scopes first.
fn delta_lines(o: &mut String, rows: &[OpDelta]) {
    let metrics: Vec<&str> = rows
        .iter()
        .find_map(|r| r.deltas.as_ref())
        .map(|ds| ds.iter().map(|d| d.metric).collect())
        .unwrap_or_default();
    o.push_str("| scope |");
    for m in &metrics {
        let _ = write!(o, " {} |", m.replace('_', " "));
    }
    o.push_str("\n|---|");
    for _ in &metrics {
        o.push_str("---:|");
    }
    o.push('\n');
    let mut order: Vec<&OpDelta> = rows.iter().collect();
    order.sort_by_key(|r| !r.regressed());
    for r in order {
        let _ = write!(o, "| {} |", cell(&r.op));
        match &r.deltas {
            None => {
                o.push_str(" 🔴 missing from the new summary |");
                for _ in 1..metrics.len() {
                    o.push_str(" |");
                }
            }
            Some(ds) => {
                for d in ds {
                    let _ = write!(
                        o,
                        " {} → {} ({}){} |",
                        delta_value(d.metric, d.base),
                        delta_value(d.metric, d.new),
                        change(d),
                        if d.regression { " 🔴" } else { "" }
                    );
                }
            }
        }
        o.push('\n');
    }
    o.push('\n');
}

/// The comparison as Markdown: regressions first, unchanged metrics left out.
pub fn render_compare(c: &Comparison, base: &Summary, new: &Summary) -> String {
    let mut o = String::new();
    let n = c.regressions();
    let verdict = if n == 0 {
        "✅ no regression".to_owned()
    } else {
        format!("❌ {n} regressed")
    };
    let _ = writeln!(
        o,
        "### mcp-soak compare: {verdict}\n\nbase `{}` → new `{}` · tolerance {:.1} %\n",
        cell(&base.run_id),
        cell(&new.run_id),
        c.tolerance * 100.0
    );
    delta_lines(&mut o, &c.rows);
    let stages = super::compare::stages(base, new, c.tolerance);
    if stages.len() > 1 {
        delta_lines(&mut o, &stages);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d>`e`"), "a\\|b c&lt;d&gt;'e'");
        assert_eq!(cell(&"x".repeat(500)).chars().count(), 160);
    }
}
