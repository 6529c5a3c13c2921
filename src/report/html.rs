//! The self-contained HTML report of one run (and of a comparison): one file with inline CSS and
//! inline SVG charts, no JavaScript, nothing fetched from the network, so it opens from disk, from a
//! mail attachment or from a CI artifact store.
//!
//! [`charts`] turns a [`Summary`] into chart data (pure, tested against the summary's numbers);
//! [`write`] lays out the page: verdict and identity, key numbers, SLO verdicts, the charts, the
//! per-stage and per-tool tables, top errors and the configuration. The markup is well-formed XML
//! (every element closed, only XML entities), so tests can parse it with an XML parser.

use std::fmt::Write as _;

use crate::mcp::OutcomeKind;
use crate::plan::Objective;

use super::chart::{Chart, HLine, Series, VLine, clock, esc};
use super::compare::{Comparison, Delta, change};
use super::format::{aborted, assessment, delta_value, ms, num, pct, slo_value, stage_number};
use super::summary::{LatencyPair, LatencyStats, Summary, Totals};

/// Series colours (colour-blind-safe where it matters: ok vs errors, p50 vs p99).
const BLUE: &str = "#1f77b4";
const ORANGE: &str = "#e67e22";
const RED: &str = "#c0392b";
const GREY: &str = "#7f8c8d";
const GREEN: &str = "#2e7d32";
const PURPLE: &str = "#7b1fa2";

/// The colour of an outcome kind in the stacked chart.
pub fn kind_color(k: OutcomeKind) -> &'static str {
    match k {
        OutcomeKind::Ok => GREEN,
        OutcomeKind::ToolError => ORANGE,
        OutcomeKind::RpcError => "#ad1457",
        OutcomeKind::HttpError => RED,
        OutcomeKind::Timeout => PURPLE,
        OutcomeKind::Connect => "#37474f",
        OutcomeKind::Protocol => "#6d4c41",
        OutcomeKind::SessionExpired => "#00838f",
        OutcomeKind::Dropped => "#9e9e9e",
    }
}

/// Where each stage starts (seconds from the run start), in plan order.
pub fn stage_starts(s: &Summary) -> Vec<f64> {
    s.stages.iter().map(|st| st.start_s).collect()
}

/// Seconds of a timeline point that the run covered (the last interval may be partial).
fn covered(s: &Summary, start: f64, duration: f64) -> f64 {
    duration.min(s.duration_s - start).max(0.0)
}

/// Each stage's ramp in seconds, from the configuration echoed in the summary (`load.stages[i].ramp`;
/// 0 when absent or unreadable): the rate moves linearly from the previous stage's over the ramp.
fn ramps(s: &Summary) -> Vec<f64> {
    let cfg = s.config.pointer("/load/stages").and_then(|v| v.as_array());
    (0..s.stages.len())
        .map(|i| {
            cfg.and_then(|a| a.get(i))
                .and_then(|st| st.get("ramp"))
                .and_then(|r| r.as_str())
                .and_then(|r| humantime::parse_duration(r).ok())
                .map_or(0.0, |d| d.as_secs_f64())
        })
        .collect()
}

/// The target rate as drawn: a corner at each stage start (a slope over the stage's ramp), held to
/// the end of the last stage.
pub fn target_points(s: &Summary) -> Vec<(f64, f64)> {
    let starts = stage_starts(s);
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut prev = 0.0;
    for ((st, &x), ramp) in s.stages.iter().zip(&starts).zip(ramps(s)) {
        let ramp = ramp.min(st.duration_s);
        if ramp > 0.0 {
            out.push((x, prev));
            out.push((x + ramp, st.target_rate));
        } else {
            if !out.is_empty() {
                out.push((x, prev));
            }
            out.push((x, st.target_rate));
        }
        prev = st.target_rate;
    }
    if let (Some(last), Some(&x)) = (s.stages.last(), starts.last()) {
        out.push((x + last.duration_s, last.target_rate));
    }
    out
}

/// Target rate (with ramps) and achieved rate (completed calls per second of each timeline
/// interval), with the stage boundaries.
pub fn rate_chart(s: &Summary) -> Chart {
    let achieved = s
        .timeline
        .iter()
        .filter_map(|p| {
            let secs = covered(s, p.start_s, p.duration_s);
            (secs > 0.0).then(|| (p.start_s, p.calls as f64 / secs))
        })
        .collect();
    let closed = s.stages.iter().all(|st| st.target_rate == 0.0);
    let mut series = Vec::new();
    if !closed {
        series.push(Series {
            dashed: true,
            ..Series::line("target", GREY, target_points(s))
        });
    }
    series.push(Series::line("achieved (completed calls/s)", BLUE, achieved));
    Chart {
        id: "rate",
        title: "Target vs achieved rate".into(),
        y_unit: "calls/s",
        series,
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

fn stage_lines(s: &Summary) -> Vec<VLine> {
    stage_starts(s)
        .into_iter()
        .enumerate()
        .skip(1)
        .map(|(i, x)| VLine {
            label: format!("stage {}", i + 1),
            x,
        })
        .collect()
}

/// A line per p95 SLO whose scope passes `keep`, green when it held, red when it failed.
fn slo_lines(s: &Summary, keep: impl Fn(&str) -> bool) -> Vec<HLine> {
    s.slos
        .iter()
        .filter(|v| v.objective == Objective::P95LatencyMs && keep(&v.op))
        .map(|v| HLine {
            label: format!("SLO p95 ≤ {} ms ({})", v.target, v.op),
            y: v.target,
            color: if v.passed { GREEN } else { RED },
        })
        .collect()
}

/// p50/p95/p99 per timeline interval (intervals with no completed call are left out), with a
/// line per p95 SLO target.
pub fn latency_chart(s: &Summary) -> Chart {
    let pick = |f: fn(&crate::record::snapshot::TimelinePoint) -> f64| -> Vec<(f64, f64)> {
        s.timeline
            .iter()
            .filter(|p| p.calls > 0)
            .map(|p| (p.start_s, f(p)))
            .collect()
    };
    let hlines = slo_lines(s, |_| true);
    Chart {
        id: "latency",
        title: "Latency from the intended send time".into(),
        y_unit: "ms",
        series: vec![
            Series::line("p50", BLUE, pick(|p| p.p50_ms)),
            Series::line("p95", ORANGE, pick(|p| p.p95_ms)),
            Series::line("p99", RED, pick(|p| p.p99_ms)),
        ],
        hlines,
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

/// Colours for per-tool series, in turn.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#e67e22", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// p95 over time per tool (each tool's own, coarser timeline), with each tool's p95 SLO line.
pub fn tool_latency_chart(s: &Summary) -> Chart {
    let series = s
        .ops
        .iter()
        .filter(|op| op.timeline.iter().any(|p| p.calls > 0))
        .enumerate()
        .map(|(i, op)| {
            let pts = op
                .timeline
                .iter()
                .filter(|p| p.calls > 0)
                .map(|p| (p.start_s, p.p95_ms))
                .collect();
            Series::line(op.name.clone(), PALETTE[i % PALETTE.len()], pts)
        })
        .collect();
    Chart {
        id: "tool_latency",
        title: "p95 latency per tool".into(),
        y_unit: "ms",
        series,
        hlines: slo_lines(s, |op| op != crate::record::names::ALL_TOOLS),
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

/// Calls per interval stacked by outcome. Summaries without per-kind counts fall back to ok vs
/// errors from the interval's totals.
pub fn outcomes_chart(s: &Summary) -> Chart {
    let per_kind = s.timeline.iter().any(|p| !p.outcomes.is_empty());
    let series = if per_kind {
        OutcomeKind::ALL
            .iter()
            .filter(|k| s.timeline.iter().any(|p| p.outcomes.contains_key(k)))
            .map(|k| {
                let pts = s
                    .timeline
                    .iter()
                    .map(|p| (p.start_s, p.outcomes.get(k).copied().unwrap_or(0) as f64))
                    .collect();
                Series::line(k.as_str(), kind_color(*k), pts)
            })
            .collect()
    } else {
        let pts = |f: fn(u64, u64) -> u64| {
            s.timeline
                .iter()
                .map(|p| (p.start_s, f(p.calls, p.errors) as f64))
                .collect::<Vec<_>>()
        };
        vec![
            Series::line("ok", GREEN, pts(|c, e| c - e.min(c))),
            Series::line("errors", RED, pts(|_, e| e)),
        ]
    };
    Chart {
        id: "outcomes",
        title: "Outcomes per interval".into(),
        y_unit: "calls",
        series,
        vlines: stage_lines(s),
        x_max: s.duration_s,
        stacked_bar_width: Some(s.timeline_interval_s.max(1e-3)),
        ..Chart::default()
    }
}

/// Most calls in flight per interval.
pub fn in_flight_chart(s: &Summary) -> Chart {
    Chart {
        id: "in_flight",
        title: "Calls in flight (max per interval)".into(),
        compact: true,
        y_unit: "calls",
        series: vec![Series::line(
            "in flight",
            PURPLE,
            s.timeline
                .iter()
                .map(|p| (p.start_s, p.max_in_flight as f64))
                .collect(),
        )],
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

/// Worst schedule lag per interval.
pub fn lag_chart(s: &Summary) -> Chart {
    Chart {
        id: "lag",
        title: "Schedule lag (max per interval)".into(),
        compact: true,
        y_unit: "ms",
        series: vec![Series::line(
            "lag",
            ORANGE,
            s.timeline
                .iter()
                .map(|p| (p.start_s, p.max_lag_ms))
                .collect(),
        )],
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

/// The server's resident memory over the run (MB), from the soak section's samples; no points when
/// nothing was sampled (then the chart is left out of the page).
pub fn server_memory_chart(s: &Summary) -> Chart {
    let key = crate::record::resources::RESIDENT_BYTES;
    Chart {
        id: "server_memory",
        title: "Server resident memory".into(),
        y_unit: "MB",
        series: vec![Series::line(
            "resident",
            GREEN,
            s.soak
                .samples
                .iter()
                .filter_map(|p| p.values.get(key).map(|v| (p.at_s, v / 1e6)))
                .collect(),
        )],
        vlines: stage_lines(s),
        x_max: s.duration_s,
        ..Chart::default()
    }
}

/// Every chart of the run report, in page order. A summary written before the timeline kept
/// in-flight and lag (all zeros, no per-kind counts) gets those two charts empty.
pub fn charts(s: &Summary) -> Vec<Chart> {
    let mut out = vec![
        rate_chart(s),
        latency_chart(s),
        tool_latency_chart(s),
        outcomes_chart(s),
        in_flight_chart(s),
        lag_chart(s),
    ];
    let memory = server_memory_chart(s);
    if memory.series.iter().any(|x| !x.points.is_empty()) {
        out.push(memory);
    }
    let old = s.timeline.iter().all(|p| p.outcomes.is_empty());
    if old {
        for c in out
            .iter_mut()
            .filter(|c| c.id == "in_flight" || c.id == "lag")
        {
            c.series.iter_mut().for_each(|s| s.points.clear());
        }
    }
    out
}

const CSS: &str = r#"
:root{--fg:#1d2329;--muted:#5f6b76;--line:#dde3e8;--bg:#fff;--pass:#1b7f3b;--fail:#b3261e;--warn:#a15c00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f5f7f9}
main{max-width:1240px;margin:0 auto;padding:16px}
h1{font-size:1.35em;margin:.2em 0}
h2{font-size:1.1em;margin:1.4em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.sub{color:var(--muted);margin:0;word-break:break-all}
.badge{display:inline-block;padding:.15em .6em;border-radius:4px;color:#fff;font-weight:600;font-size:.9em;vertical-align:middle}
.pass{background:var(--pass)}.fail{background:var(--fail)}.warn{background:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:12px 0}
.card{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:1.3em}.card span{color:var(--muted);font-size:.85em}
.charts{display:grid;grid-template-columns:1fr;gap:12px}
@media (min-width:1000px){.charts .half{grid-column:span 1}.charts{grid-template-columns:1fr 1fr}.charts .full{grid-column:1/-1}}
figure.chart{margin:0;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px}
figure.chart figcaption{font-weight:600;margin-bottom:4px}
figure.chart svg{width:100%;height:auto;display:block}
figure.chart svg.narrow{display:none}@media (max-width:700px){figure.chart svg.wide{display:none}figure.chart svg.narrow{display:block}}
.grid{stroke:#e6eaee;stroke-width:1}.vline{stroke:#95a5a6;stroke-dasharray:3 3}
.hline{stroke-width:1.5;stroke-dasharray:8 4}
.ylab{font-size:12px;fill:#5f6b76;text-anchor:end}.xlab{font-size:12px;fill:#5f6b76}
.unit{font-size:11px;fill:#5f6b76}.vlab{font-size:11px;fill:#5f6b76}.hlab{font-size:12px;font-weight:600}
.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85em}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.swatch.dash{height:0;border-top:2px dashed;border-radius:0;vertical-align:3px}
.empty{color:var(--muted);font-style:italic}
.scroll{overflow-x:auto;background:var(--bg);border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,[data-table=slos] th:nth-child(2),[data-table=slos] td:nth-child(2){text-align:left}
td.msg{text-align:left;white-space:normal;word-break:break-word;min-width:16em}
tr.fail td{background:#fdecea}tr.pass td:first-child{border-left:3px solid var(--pass)}tr.fail td:first-child{border-left:3px solid var(--fail)}
td.worse{color:var(--fail);font-weight:600}td.better{color:var(--pass)}td small{color:var(--muted)}td.worse small{color:var(--fail)}td.better small{color:var(--pass)}
.bar{display:inline-block;height:8px;background:#f39c12;border-radius:2px;vertical-align:middle;margin-left:6px}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow-x:auto;font-size:.82em}
footer{color:var(--muted);font-size:.8em;margin:2em 0 1em}
"#;

fn head(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"/>\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        esc(title)
    );
}

fn tail(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "<footer>Written by {} {} from summary schema {}. Latency is measured from the intended \
         send time unless marked as service time.</footer></main></body></html>",
        esc(&s.tool.name),
        esc(&s.tool.version),
        s.schema_version
    );
}

fn card(o: &mut String, value: &str, label: &str) {
    let _ = write!(
        o,
        "<div class=\"card\"><b>{}</b><span>{}</span></div>",
        esc(value),
        esc(label)
    );
}

/// A section heading, then either `empty` as a note (returns false) or the start of a table
/// with these column headers (returns true; the caller writes the rows and `</tbody></table></div>`).
fn table_start(
    o: &mut String,
    id: &str,
    title: &str,
    empty: Option<&str>,
    headers: &[&str],
) -> bool {
    let _ = write!(o, "<h2 id=\"{id}\">{title}</h2>");
    if let Some(note) = empty {
        let _ = write!(o, "<p class=\"empty\">{note}</p>");
        return false;
    }
    let _ = write!(
        o,
        "<div class=\"scroll\"><table data-table=\"{id}\"><thead><tr>"
    );
    for h in headers {
        let _ = write!(o, "<th>{h}</th>");
    }
    o.push_str("</tr></thead><tbody>");
    true
}

fn slo_table(o: &mut String, s: &Summary) {
    let empty = s
        .slos
        .is_empty()
        .then_some("No SLOs were set for this run.");
    let headers = [
        "scope",
        "objective",
        "target",
        "measured",
        "worst window",
        "in breach",
        "verdict",
    ];
    if !table_start(o, "slos", "SLO verdicts", empty, &headers) {
        return;
    }
    for v in &s.slos {
        let class = if v.passed { "pass" } else { "fail" };
        let measured = match (v.measured, &v.reason) {
            (Some(m), _) => slo_value(v.objective, m),
            (None, Some(r)) => r.clone(),
            (None, None) => "-".into(),
        };
        let _ = write!(
            o,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td><span class=\"badge {class}\">{}</span></td></tr>",
            esc(&v.op),
            esc(v.objective.as_str()),
            esc(&slo_value(v.objective, v.target)),
            esc(&measured),
            v.worst_window
                .map_or_else(|| "-".into(), |w| slo_value(v.objective, w)),
            clock(v.breach_s),
            if v.passed { "PASS" } else { "FAIL" }
        );
    }
    o.push_str("</tbody></table></div>");
}

fn lat_cells(o: &mut String, l: &LatencyStats) {
    if l.count == 0 {
        o.push_str("<td>-</td><td>-</td><td>-</td><td>-</td>");
        return;
    }
    for v in [l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms] {
        let _ = write!(o, "<td>{}</td>", ms(v));
    }
}

/// The columns [`totals_cells`] and [`lat_cells`] fill, in order.
const COUNT_COLUMNS: [&str; 9] = [
    "calls", "calls /s", "errors", "dropped", "ok /s", "p50 ms", "p95 ms", "p99 ms", "max ms",
];

fn totals_cells(o: &mut String, t: &Totals) {
    let _ = write!(
        o,
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        t.calls,
        num(t.calls_per_second),
        pct(t.error_ratio),
        t.counts.dropped,
        num(t.ok_per_second)
    );
}

fn stage_table(o: &mut String, s: &Summary) {
    let empty = s.stages.is_empty().then_some("No stages in this summary.");
    let headers = [
        &["stage", "start", "duration", "target /s"][..],
        &COUNT_COLUMNS,
    ]
    .concat();
    if !table_start(o, "stages", "Stages", empty, &headers) {
        return;
    }
    for (st, start) in s.stages.iter().zip(stage_starts(s)) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.1} s</td><td>{}</td>",
            stage_number(st),
            clock(start),
            st.duration_s,
            num(st.target_rate)
        );
        totals_cells(o, &st.totals);
        lat_cells(o, &st.latency.corrected);
        o.push_str("</tr>");
    }
    // Calls that ended after the schedule stopped: their own row, never the last stage's.
    let d = &s.drain;
    if d.totals.calls > 0 {
        let _ = write!(
            o,
            "<tr data-row=\"drain\"><td>drain</td><td>{}</td><td>{:.1} s</td><td>-</td>",
            clock(d.start_s),
            d.duration_s
        );
        totals_cells(o, &d.totals);
        lat_cells(o, &d.latency.corrected);
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

fn op_table(o: &mut String, s: &Summary) {
    let headers = [
        &["tool"][..],
        &COUNT_COLUMNS,
        &["service p95 ms", "p99 (bar)"],
    ]
    .concat();
    table_start(o, "tools", "Per tool", None, &headers);
    let worst = s
        .ops
        .iter()
        .map(|op| op.latency.corrected.p99_ms)
        .fold(0.0, f64::max);
    let row = |o: &mut String, name: &str, t: &Totals, l: &LatencyPair| {
        let _ = write!(o, "<tr><td>{}</td>", esc(name));
        totals_cells(o, t);
        lat_cells(o, &l.corrected);
        let width = if worst > 0.0 {
            (l.corrected.p99_ms / worst * 120.0).round()
        } else {
            0.0
        };
        let _ = write!(
            o,
            "<td>{}</td><td style=\"text-align:left\"><span class=\"bar\" style=\"width:{width}px\"></span></td></tr>",
            if l.service.count == 0 {
                "-".into()
            } else {
                ms(l.service.p95_ms)
            }
        );
    };
    for op in &s.ops {
        row(o, &op.name, &op.totals, &op.latency);
    }
    row(o, "all tools", &s.totals, &s.latency);
    o.push_str("</tbody></table></div>");
}

fn errors_table(o: &mut String, s: &Summary) {
    let empty = s.errors.top_messages.is_empty().then_some("No errors.");
    if !table_start(
        o,
        "errors",
        "Top errors",
        empty,
        &["tool", "kind", "count", "message"],
    ) {
        return;
    }
    for e in &s.errors.top_messages {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"msg\">{}</td></tr>",
            esc(&e.op),
            esc(&e.kind.to_string()),
            e.count,
            esc(&e.message)
        );
    }
    o.push_str("</tbody></table></div><p>Failed calls by kind: ");
    for (i, k) in s.errors.by_kind.iter().enumerate() {
        let _ = write!(
            o,
            "{}<b>{}</b> {}",
            if i > 0 { " · " } else { "" },
            esc(&k.kind.to_string()),
            k.count
        );
    }
    o.push_str("</p>");
}

fn identity(o: &mut String, s: &Summary) {
    o.push_str(
        "<h2 id=\"identity\">Run</h2><div class=\"scroll\"><table data-table=\"identity\"><tbody>",
    );
    let p = &s.protocol;
    let server = match (&p.server_name, &p.server_version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => "unknown".into(),
    };
    let rows: [(&str, String); 10] = [
        ("run id", s.run_id.clone()),
        ("target", s.target.clone()),
        ("transport", s.transport.to_string()),
        (
            "protocol",
            format!(
                "{} ({})",
                p.version.as_deref().unwrap_or("unknown"),
                p.era.map_or("?", |e| e.as_str())
            ),
        ),
        ("server", server),
        ("started", s.started.clone()),
        ("ended", s.ended.clone()),
        ("duration", format!("{:.1} s", s.duration_s)),
        (
            "stopped",
            s.stop_reason.map_or("-", |r| r.as_str()).to_owned()
                + if s.aborted { " (aborted)" } else { "" },
        ),
        ("written by", format!("{} {}", s.tool.name, s.tool.version)),
    ];
    for (k, v) in rows {
        let _ = write!(o, "<tr><td>{k}</td><td class=\"msg\">{}</td></tr>", esc(&v));
    }
    o.push_str("</tbody></table></div>");
    let config = serde_json::to_string_pretty(&s.config).unwrap_or_default();
    let _ = write!(
        o,
        "<h2 id=\"config\">Configuration</h2><pre>{}</pre>",
        esc(&config)
    );
}

/// The soak verdicts (server resources, leak, drift) in the console's words, always shown: "not
/// measured" says why.
fn soak_section(o: &mut String, s: &Summary) {
    let rows = super::verdicts::soak_rows(&s.soak);
    o.push_str("<h2 id=\"soak\">Soak verdicts</h2><div class=\"scroll\"><table data-table=\"soak\"><tbody>");
    for (label, text) in rows {
        let _ = write!(
            o,
            "<tr><th>{}</th><td class=\"msg\">{}</td></tr>",
            esc(&label),
            esc(&text)
        );
    }
    o.push_str("</tbody></table></div>");
}

/// The run report as a string.
pub fn render(s: &Summary) -> String {
    let mut o = String::with_capacity(64 * 1024);
    head(&mut o, &format!("mcp-soak report — {}", s.target));
    let (band, reason) = assessment(s);
    let (class, verdict) = if s.slos.is_empty() {
        ("warn", "NO SLOs SET")
    } else if s.slo_passed {
        ("pass", "SLOs PASSED")
    } else {
        ("fail", "SLOs FAILED")
    };
    let _ = write!(
        o,
        "<header><h1>mcp-soak report <span class=\"badge {class}\" data-verdict=\"{}\">{verdict}</span></h1>\
         <p class=\"sub\">{} · {} · {} → {}</p><p class=\"sub\"><b>{band}</b>: {}{}</p></header>",
        if s.slo_passed { "pass" } else { "fail" },
        esc(&s.target),
        esc(&s.run_id),
        esc(&s.started),
        esc(&s.ended),
        esc(&reason),
        aborted(s).map_or_else(String::new, |r| format!(" — aborted: {}", esc(r)))
    );
    let t = &s.totals;
    o.push_str("<div class=\"cards\">");
    card(&mut o, &t.calls.to_string(), "calls scheduled");
    card(&mut o, &num(t.calls_per_second), "completed calls/s");
    card(&mut o, &num(t.ok_per_second), "successful calls/s");
    card(&mut o, &pct(t.error_ratio), "error ratio");
    card(&mut o, &t.counts.dropped.to_string(), "dropped slots");
    card(&mut o, &ms(s.latency.corrected.p50_ms), "p50 ms");
    card(&mut o, &ms(s.latency.corrected.p95_ms), "p95 ms");
    card(&mut o, &ms(s.latency.corrected.p99_ms), "p99 ms");
    card(&mut o, &ms(s.schedule.lag.p99_ms), "schedule lag p99 ms");
    card(&mut o, &format!("{:.0} s", s.duration_s), "duration");
    o.push_str("</div>");
    slo_table(&mut o, s);
    soak_section(&mut o, s);
    o.push_str("<h2 id=\"charts\">Over time</h2><div class=\"charts\">");
    for c in charts(s) {
        let class = if matches!(c.id, "in_flight" | "lag") {
            "half"
        } else {
            "full"
        };
        let _ = write!(o, "<div class=\"{class}\">{}</div>", c.svg());
    }
    o.push_str("</div>");
    stage_table(&mut o, s);
    op_table(&mut o, s);
    errors_table(&mut o, s);
    identity(&mut o, s);
    tail(&mut o, s);
    o
}

/// How a metric moved, for colouring: lower latency and error ratio are better, higher rate is.
fn direction(d: &Delta) -> &'static str {
    let higher_is_better = d.metric.contains("per_s");
    if d.regression {
        "worse"
    } else if d.new == d.base {
        ""
    } else if (d.new > d.base) == higher_is_better {
        "better"
    } else {
        ""
    }
}

/// One row per scope, one cell per metric (`base → new` and the change), regressed scopes first.
fn delta_rows(o: &mut String, table: &str, rows: &[(String, Option<Vec<Delta>>)]) {
    let metrics: Vec<&str> = rows
        .iter()
        .find_map(|(_, d)| d.as_ref())
        .map(|ds| ds.iter().map(|d| d.metric).collect())
        .unwrap_or_default();
    let _ = write!(
        o,
        "<div class=\"scroll\"><table data-table=\"{table}\"><thead><tr><th>scope</th>"
    );
    for m in &metrics {
        let _ = write!(o, "<th>{}</th>", m.replace('_', " "));
    }
    o.push_str("</tr></thead><tbody>");
    let regressed =
        |d: &Option<Vec<Delta>>| d.as_ref().is_none_or(|ds| ds.iter().any(|x| x.regression));
    let mut order: Vec<&(String, Option<Vec<Delta>>)> = rows.iter().collect();
    order.sort_by_key(|(_, d)| !regressed(d));
    for (name, deltas) in order {
        let bad = regressed(deltas);
        let _ = write!(
            o,
            "<tr class=\"{}\" data-regression=\"{bad}\"><td>{}</td>",
            if bad { "fail" } else { "" },
            esc(name)
        );
        match deltas {
            None => {
                let _ = write!(
                    o,
                    "<td colspan=\"{}\" class=\"worse\">missing from the new summary</td>",
                    metrics.len().max(1)
                );
            }
            Some(ds) => {
                for d in ds {
                    let _ = write!(
                        o,
                        "<td class=\"{}\" data-metric=\"{}\" data-base=\"{}\" data-new=\"{}\">{} → {}<br/><small>{}</small></td>",
                        direction(d),
                        d.metric,
                        d.base,
                        d.new,
                        delta_value(d.metric, d.base),
                        delta_value(d.metric, d.new),
                        change(d)
                    );
                }
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
}

/// The latency distribution of both runs overlaid: percentile (x) against milliseconds (y).
pub fn distribution_chart(base: &Summary, new: &Summary) -> Chart {
    const LABELS: [&str; 7] = ["min", "p50", "p90", "p95", "p99", "p99.9", "max"];
    let pts = |l: &LatencyStats| {
        [
            l.min_ms, l.p50_ms, l.p90_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms,
        ]
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64, *v))
        .collect::<Vec<_>>()
    };
    Chart {
        id: "distribution",
        title: "Latency distribution, base vs new (from the intended send time)".into(),
        y_unit: "ms",
        series: vec![
            Series {
                dashed: true,
                ..Series::line("base", GREY, pts(&base.latency.corrected))
            },
            Series::line("new", BLUE, pts(&new.latency.corrected)),
        ],
        x_max: (LABELS.len() - 1) as f64,
        x_ticks: LABELS
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, (*l).to_owned()))
            .collect(),
        ..Chart::default()
    }
}

/// The comparison report: verdict, deltas (regressions first), per-stage deltas, both runs'
/// latency distributions overlaid and both identities.
pub fn render_compare(c: &Comparison, base: &Summary, new: &Summary) -> String {
    let mut o = String::with_capacity(32 * 1024);
    head(&mut o, "mcp-soak compare");
    let n = c.regressions();
    let (class, verdict) = if n == 0 {
        ("pass", "NO REGRESSION".to_owned())
    } else {
        ("fail", format!("{n} REGRESSED"))
    };
    let _ = write!(
        o,
        "<header><h1>mcp-soak compare <span class=\"badge {class}\" data-verdict=\"{}\">{verdict}</span></h1>\
         <p class=\"sub\">base {} ({}) → new {} ({}) · tolerance {:.1} %</p></header>",
        if n == 0 { "pass" } else { "fail" },
        esc(&base.run_id),
        esc(&base.started),
        esc(&new.run_id),
        esc(&new.started),
        c.tolerance * 100.0
    );
    o.push_str("<h2 id=\"deltas\">Per tool</h2>");
    let rows: Vec<(String, Option<Vec<Delta>>)> = c
        .rows
        .iter()
        .map(|r| (r.op.clone(), r.deltas.clone()))
        .collect();
    delta_rows(&mut o, "deltas", &rows);
    o.push_str("<h2 id=\"stage-deltas\">Per stage</h2>");
    let stages = super::compare::stages(base, new, c.tolerance);
    if stages.is_empty() {
        o.push_str("<p class=\"empty\">No stages to compare.</p>");
    } else {
        let rows: Vec<(String, Option<Vec<Delta>>)> =
            stages.into_iter().map(|r| (r.op, r.deltas)).collect();
        delta_rows(&mut o, "stage-deltas", &rows);
    }
    o.push_str("<h2 id=\"distribution\">Latency</h2><div class=\"charts\"><div class=\"full\">");
    o.push_str(&distribution_chart(base, new).svg());
    o.push_str(
        "</div></div><h2>Runs</h2><div class=\"scroll\"><table data-table=\"runs\"><thead><tr>\
                <th></th><th>base</th><th>new</th></tr></thead><tbody>",
    );
    type Field = fn(&Summary) -> String;
    let both: [(&str, Field); 6] = [
        ("run id", |s| s.run_id.clone()),
        ("target", |s| s.target.clone()),
        ("started", |s| s.started.clone()),
        ("duration", |s| format!("{:.1} s", s.duration_s)),
        ("calls", |s| s.totals.calls.to_string()),
        ("version", |s| format!("{} {}", s.tool.name, s.tool.version)),
    ];
    for (k, f) in both {
        let _ = write!(
            o,
            "<tr><td>{k}</td><td class=\"msg\">{}</td><td class=\"msg\">{}</td></tr>",
            esc(&f(base)),
            esc(&f(new))
        );
    }
    o.push_str("</tbody></table></div>");
    tail(&mut o, new);
    o
}
