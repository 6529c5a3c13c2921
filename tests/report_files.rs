//! The report files (HTML, JUnit, Markdown; the compare HTML and Markdown) read back: parsed as XML,
//! every chart's data points compared with the summary they were drawn from, every table row and
//! test case counted against it. The summaries are real: `mcp-soak demo --degrade` (SLOs fail half-way)
//! and `mcp-soak demo`, saved under tests/fixtures (re-create them with
//! `mcp-soak demo [--degrade] --summary tests/fixtures/summary-{degraded,baseline}.json` when the
//! schema changes). Chromium and the JUnit XSD are checked by scripts/test-reports.sh.

use std::collections::BTreeMap;
use std::path::Path;

use mcp_soak::commands::{self, Exit};
use mcp_soak::mcp::OutcomeKind;
use mcp_soak::report::format::stage_number;
use mcp_soak::report::write::{ReportPaths, write_reports};
use mcp_soak::report::{Summary, compare, html, junit, markdown};

fn fixture(name: &str) -> Summary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    compare::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn degraded() -> Summary {
    fixture("summary-degraded.json")
}

fn baseline() -> Summary {
    fixture("summary-baseline.json")
}

/// `data-values="x,y x,y"` back into numbers.
fn values(node: roxmltree::Node) -> Vec<(f64, f64)> {
    node.attribute("data-values")
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().expect("x"), y.parse().expect("y"))
        })
        .collect()
}

/// True for nodes of the wide drawing (each full-width chart is also drawn narrow for phones).
fn wide(n: &roxmltree::Node) -> bool {
    !n.ancestors()
        .any(|a| a.has_tag_name("svg") && a.attribute("class") == Some("narrow"))
}

/// Every series of every chart (the wide drawing): chart id → series name → points.
fn chart_data(doc: &roxmltree::Document) -> BTreeMap<String, BTreeMap<String, Vec<(f64, f64)>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<(f64, f64)>>> = BTreeMap::new();
    for fig in doc.descendants().filter(|n| n.has_attribute("data-chart")) {
        let id = fig.attribute("data-chart").unwrap_or_default().to_owned();
        let series = out.entry(id).or_default();
        for s in fig
            .descendants()
            .filter(|n| n.has_attribute("data-series") && wide(n))
        {
            series.insert(
                s.attribute("data-series").unwrap_or_default().to_owned(),
                values(s),
            );
        }
    }
    out
}

fn parse(text: &str) -> roxmltree::Document<'_> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, opts)
        .unwrap_or_else(|e| panic!("the report is not well-formed: {e}"))
}

fn rows<'a>(doc: &'a roxmltree::Document, table: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("data-table") == Some(table))
        .flat_map(|t| t.descendants().filter(|n| n.has_tag_name("tbody")))
        .flat_map(|b| b.children().filter(|n| n.has_tag_name("tr")))
        .collect()
}

#[test]
fn html_charts_plot_the_summary() {
    let s = degraded();
    let text = html::render(&s);
    let doc = parse(&text);
    let charts = chart_data(&doc);

    // Latency: one point per interval that completed a call, exactly the summary's percentiles.
    let lat = &charts["latency"];
    let answered: Vec<_> = s.timeline.iter().filter(|p| p.calls > 0).collect();
    assert!(answered.len() >= 10, "a 15 s run has ~15 intervals");
    for (name, pick) in [
        (
            "p50",
            (|p| p.p50_ms) as fn(&mcp_soak::record::snapshot::TimelinePoint) -> f64,
        ),
        ("p95", |p| p.p95_ms),
        ("p99", |p| p.p99_ms),
    ] {
        let want: Vec<(f64, f64)> = answered.iter().map(|p| (p.start_s, pick(p))).collect();
        assert_eq!(lat[name], want, "latency {name}");
    }
    // The p95 SLO targets are drawn as lines at their targets.
    let mut slo_lines: Vec<f64> = doc
        .descendants()
        .filter(|n| {
            n.attribute("class") == Some("hline")
                && wide(n)
                && n.ancestors()
                    .any(|a| a.attribute("data-chart") == Some("latency"))
        })
        .map(|n| n.attribute("data-y").expect("data-y").parse().expect("y"))
        .collect();
    let mut want: Vec<f64> = s
        .slos
        .iter()
        .filter(|v| v.objective.as_str() == "p95_latency_ms")
        .map(|v| v.target)
        .collect();
    slo_lines.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    assert_eq!(slo_lines, want);

    // Per tool: each tool's p95 from its own timeline.
    for op in &s.ops {
        let want: Vec<(f64, f64)> = op
            .timeline
            .iter()
            .filter(|p| p.calls > 0)
            .map(|p| (p.start_s, p.p95_ms))
            .collect();
        assert!(!want.is_empty(), "{} has a timeline", op.name);
        assert_eq!(charts["tool_latency"][&op.name], want, "{}", op.name);
    }

    // Rate: achieved = completed calls / covered seconds of each interval; the target has a
    // corner at every stage's start time and its rate is held to the end.
    let rate = &charts["rate"];
    for (p, (x, y)) in s.timeline.iter().zip(&rate["achieved (completed calls/s)"]) {
        let secs = p.duration_s.min(s.duration_s - p.start_s);
        assert_eq!((*x, *y), (p.start_s, p.calls as f64 / secs));
    }
    let target = &rate["target"];
    for st in &s.stages {
        let at = st.start_s + ramp(&s, stage_number(st) - 1);
        assert!(
            target.contains(&(at, st.target_rate)),
            "stage {}: {target:?}",
            stage_number(st)
        );
    }
    let last = s.stages.last().expect("stages");
    assert_eq!(
        target.last(),
        Some(&(last.start_s + last.duration_s, last.target_rate))
    );
    // Stage boundaries are marked where stages 2.. start.
    let marks = doc
        .descendants()
        .filter(|n| {
            n.attribute("class") == Some("vline")
                && wide(n)
                && n.ancestors()
                    .any(|a| a.attribute("data-chart") == Some("rate"))
        })
        .count();
    assert_eq!(marks, s.stages.len() - 1);

    // Outcomes: each kind's bars add up to the run's count of that kind.
    let outcomes = &charts["outcomes"];
    for k in OutcomeKind::ALL {
        let drawn: f64 = outcomes
            .get(k.as_str())
            .map_or(0.0, |pts| pts.iter().map(|p| p.1).sum());
        assert_eq!(drawn, s.totals.counts.get(k) as f64, "{k}");
    }
    assert!(
        outcomes.contains_key("tool_error"),
        "the degraded run has tool errors"
    );

    // In flight and lag: the timeline's maxima, point for point.
    let in_flight: Vec<_> = s
        .timeline
        .iter()
        .map(|p| (p.start_s, p.max_in_flight as f64))
        .collect();
    assert_eq!(charts["in_flight"]["in flight"], in_flight);
    let lag: Vec<_> = s
        .timeline
        .iter()
        .map(|p| (p.start_s, p.max_lag_ms))
        .collect();
    assert_eq!(charts["lag"]["lag"], lag);
}

/// The ramp of stage `i` as the config echo in the summary gives it (seconds).
fn ramp(s: &Summary, i: usize) -> f64 {
    s.config
        .pointer(&format!("/load/stages/{i}/ramp"))
        .and_then(|r| r.as_str())
        .and_then(|r| humantime::parse_duration(r).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

#[test]
fn html_tables_verdicts_and_nothing_external() {
    let s = degraded();
    let text = html::render(&s);
    let doc = parse(&text);
    let slos = rows(&doc, "slos");
    assert_eq!(slos.len(), s.slos.len());
    for (row, v) in slos.iter().zip(&s.slos) {
        let class = if v.passed { "pass" } else { "fail" };
        assert_eq!(row.attribute("class"), Some(class), "{v:?}");
    }
    let verdict = doc
        .descendants()
        .find(|n| n.has_attribute("data-verdict"))
        .expect("verdict badge");
    assert_eq!(verdict.attribute("data-verdict"), Some("fail"));
    let drain = usize::from(s.drain.totals.calls > 0);
    assert_eq!(rows(&doc, "stages").len(), s.stages.len() + drain);
    assert!(
        drain == 1,
        "the demo drains in-flight calls after its schedule"
    );
    assert_eq!(rows(&doc, "tools").len(), s.ops.len() + 1, "tools + all");
    assert_eq!(rows(&doc, "errors").len(), s.errors.top_messages.len());
    // Each tool row starts with its name and its call count.
    for (row, op) in rows(&doc, "tools").iter().zip(&s.ops) {
        let cells: Vec<String> = row
            .children()
            .filter(|n| n.has_tag_name("td"))
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(cells[0], op.name);
        assert_eq!(cells[1], op.totals.calls.to_string());
    }
    // Self-contained: no scripts, nothing loaded from anywhere.
    for n in doc.descendants() {
        assert!(!n.has_tag_name("script") && !n.has_tag_name("link") && !n.has_tag_name("img"));
        assert!(n.attribute("src").is_none() && n.attribute("href").is_none());
    }
    assert!(!text.contains("url("), "no CSS fetches");
    // The configuration and identity are on the page.
    assert!(text.contains(&s.run_id) && text.contains("create_payment"));
}

#[test]
fn html_from_a_summary_without_timeline_extras_still_renders() {
    // A summary written before the timeline kept outcomes, in-flight and lag.
    let mut s = baseline();
    for p in &mut s.timeline {
        p.outcomes.clear();
        p.max_in_flight = 0;
        p.max_lag_ms = 0.0;
    }
    for op in &mut s.ops {
        op.timeline.clear();
    }
    let text = html::render(&s);
    let doc = parse(&text);
    let charts = chart_data(&doc);
    let ok: f64 = charts["outcomes"]["ok"].iter().map(|p| p.1).sum();
    let errors: f64 = charts["outcomes"]["errors"].iter().map(|p| p.1).sum();
    let calls: u64 = s.timeline.iter().map(|p| p.calls).sum();
    assert_eq!(ok + errors, calls as f64);
    assert!(charts["lag"].values().all(Vec::is_empty));
    assert_eq!(text.matches("No data for this chart").count(), 3);
    assert_eq!(
        doc.descendants()
            .find(|n| n.has_attribute("data-verdict"))
            .and_then(|n| n.attribute("data-verdict")),
        Some("pass")
    );
}

#[test]
fn junit_has_a_case_per_objective_with_measured_and_target() {
    let s = degraded();
    let text = junit::render(&s);
    let doc = parse(&text);
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        cases.len(),
        s.slos.len() + 2,
        "one per objective + the run's two"
    );
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let want = s.slos.iter().filter(|v| !v.passed).count();
    assert_eq!(failed, want);
    assert_eq!(suite.attribute("failures"), Some(want.to_string().as_str()));
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    for (case, v) in cases[2..].iter().zip(&s.slos) {
        assert_eq!(
            case.attribute("classname"),
            Some(format!("mcp-soak.slo.{}", v.op).as_str())
        );
        if let Some(f) = case.children().find(|n| n.has_tag_name("failure")) {
            let msg = f.attribute("message").expect("message");
            assert!(
                msg.starts_with("measured ") && msg.contains("target"),
                "{msg}"
            );
            let body = f.text().expect("body");
            assert!(body.contains(&v.target.to_string()), "{body}");
            assert!(
                body.contains(&v.measured.expect("measured").to_string()),
                "{body}"
            );
        }
    }
    // An aborted run fails the run case; a passing one has no failure at all.
    let mut aborted = baseline();
    aborted.aborted = true;
    aborted.stop_reason = Some(mcp_soak::report::summary::StopReason::Signal);
    let text = junit::render(&aborted);
    assert_eq!(text.matches("<failure").count(), 1);
    assert!(text.contains("run aborted: signal"));
    assert!(!junit::render(&baseline()).contains("<failure"));
}

#[test]
fn markdown_is_compact_and_agrees() {
    let s = degraded();
    let md = markdown::render(&s);
    assert!(md.starts_with("### mcp-soak: ❌ SLOs failed"));
    assert_eq!(
        md.matches("| ❌ |").count(),
        s.slos.iter().filter(|v| !v.passed).count()
    );
    for op in &s.ops {
        assert!(
            md.contains(&format!("| {} | {} |", op.name, op.totals.calls)),
            "{}",
            op.name
        );
    }
    assert!(
        md.lines().count() < 60,
        "compact: {} lines",
        md.lines().count()
    );
    assert!(markdown::render(&baseline()).starts_with("### mcp-soak: ✅ SLOs passed"));
}

#[test]
fn compare_reports_put_regressions_first_and_overlay_both_distributions() {
    let (base, new) = (baseline(), degraded());
    let c = compare::compare(&base, &new, 0.1);
    assert!(c.regressions() > 0);
    let text = html::render_compare(&c, &base, &new);
    let doc = parse(&text);
    // Per tool: the regressed tools' rows come first, then the others, each in summary order.
    let mut drawn: Vec<String> = Vec::new();
    for r in rows(&doc, "deltas") {
        let name = r
            .children()
            .find(|n| n.has_tag_name("td"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned();
        if drawn.last() != Some(&name) {
            drawn.push(name);
        }
    }
    let (bad, good): (Vec<_>, Vec<_>) = c.rows.iter().partition(|r| r.regressed());
    let want: Vec<String> = bad.iter().chain(&good).map(|r| r.op.clone()).collect();
    assert_eq!(drawn, want);
    assert_eq!(rows(&doc, "deltas").len(), c.rows.len());
    assert_eq!(rows(&doc, "stage-deltas").len(), base.stages.len());
    // Each cell carries the two values it compares, exactly.
    for r in &c.rows {
        let row = rows(&doc, "deltas")
            .into_iter()
            .find(|n| {
                n.children()
                    .find(|n| n.has_tag_name("td"))
                    .and_then(|n| n.text())
                    == Some(r.op.as_str())
            })
            .expect("row");
        assert_eq!(
            row.attribute("data-regression"),
            Some(r.regressed().to_string().as_str())
        );
        for d in r.deltas.as_deref().unwrap_or_default() {
            let cell = row
                .children()
                .find(|n| n.attribute("data-metric") == Some(d.metric))
                .expect("cell");
            assert_eq!(
                cell.attribute("data-base"),
                Some(d.base.to_string().as_str())
            );
            assert_eq!(cell.attribute("data-new"), Some(d.new.to_string().as_str()));
        }
    }
    let dist = &chart_data(&doc)["distribution"];
    let pct = |l: &mcp_soak::report::summary::LatencyStats| {
        [
            l.min_ms, l.p50_ms, l.p90_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as f64, v))
        .collect::<Vec<_>>()
    };
    assert_eq!(dist["base"], pct(&base.latency.corrected));
    assert_eq!(dist["new"], pct(&new.latency.corrected));

    let md = markdown::render_compare(&c, &base, &new);
    assert!(md.starts_with("### mcp-soak compare: ❌"));
    let table: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| scope"))
        .take(c.rows.len())
        .collect();
    let first_clean = table
        .iter()
        .position(|l| !l.contains('🔴'))
        .unwrap_or(table.len());
    assert_eq!(
        first_clean,
        c.regressions(),
        "regressions first: {table:#?}"
    );
    assert!(table[first_clean..].iter().all(|l| !l.contains('🔴')));
}

#[tokio::test]
async fn report_command_writes_every_file_and_refuses_nothing_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/summary-degraded.json");
    let out = |ext: &str| dir.path().join(format!("out/r-{{timestamp}}.{ext}"));
    let args = commands::report::Args {
        summary: summary.clone(),
        files: mcp_soak::config::ReportArgs {
            html: Some(out("html")),
            junit: Some(out("xml")),
            markdown: Some(out("md")),
        },
    };
    assert_eq!(commands::report::run(args).await.expect("report"), Exit::Ok);
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("r-2026") && !n.contains('{')),
        "{names:?}"
    );

    let nothing = commands::report::Args {
        summary,
        files: mcp_soak::config::ReportArgs::default(),
    };
    if std::env::var_os("GITHUB_STEP_SUMMARY").is_none() {
        assert!(commands::report::run(nothing).await.is_err());
    }
}

#[test]
fn step_summary_is_appended_not_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let step = dir.path().join("step.md");
    std::fs::write(&step, "earlier step\n").expect("write");
    let paths = ReportPaths {
        step_summary: Some(step.clone()),
        ..ReportPaths::default()
    };
    write_reports(&degraded(), &paths).expect("write");
    let text = std::fs::read_to_string(&step).expect("read");
    assert!(text.starts_with("earlier step\n### mcp-soak: ❌"), "{text}");
}

#[test]
fn hostile_names_and_an_empty_run_stay_well_formed() {
    // A server controls tool names and error messages: they must never become markup.
    let mut s = degraded();
    let evil = "<script>alert(\"x\")</script> & ' \u{1} |pipe|\nnewline";
    s.ops[0].name = evil.into();
    s.errors.top_messages[0].message = evil.into();
    s.target = format!("http://127.0.0.1/{evil}");
    let text = html::render(&s);
    let doc = parse(&text);
    assert!(doc.descendants().all(|n| !n.has_tag_name("script")));
    assert!(text.contains("&lt;script&gt;"));
    let xml = junit::render(&s);
    parse(&xml);
    let md = markdown::render(&s);
    let row = md
        .lines()
        .find(|l| l.contains("alert"))
        .expect("the tool row");
    assert!(
        !row.contains("<script>") && row.contains("\\|pipe\\|"),
        "{row}"
    );

    // Nothing measured at all (the target never answered): every chart says so, nothing breaks.
    let mut empty = baseline();
    empty.timeline.clear();
    empty.stages.clear();
    empty.ops.clear();
    empty.slos.clear();
    empty.errors.top_messages.clear();
    empty.errors.by_kind.clear();
    let text = html::render(&empty);
    let doc = parse(&text);
    assert_eq!(text.matches("No data for this chart").count(), 6);
    assert!(text.contains("No SLOs were set"));
    assert_eq!(
        doc.descendants()
            .find(|n| n.has_attribute("data-verdict"))
            .and_then(|n| n.attribute("data-verdict")),
        Some("pass"),
        "no SLO set = nothing failed"
    );
    parse(&junit::render(&empty));
    assert!(markdown::render(&empty).starts_with("### mcp-soak: ⚪ no SLOs set"));
}

#[test]
fn html_charts_the_servers_memory_when_the_summary_has_it() {
    let mut s = degraded();
    let doc_text = html::render(&s);
    assert!(
        !chart_data(&parse(&doc_text)).contains_key("server_memory"),
        "no samples, no chart"
    );
    let key = mcp_soak::record::resources::RESIDENT_BYTES.to_owned();
    s.soak.samples = [(0.0, 10e6), (5.0, 12.5e6), (10.0, 15e6)]
        .into_iter()
        .map(|(at_s, v)| mcp_soak::record::resources::Sample {
            at_s,
            values: [(key.clone(), v)].into(),
        })
        .collect();
    let text = html::render(&s);
    assert_eq!(
        rows(&parse(&text), "soak").len(),
        4,
        "source, memory, fds, drift"
    );
    assert!(text.contains("memory not measured"), "the reason is shown");
    let charts = chart_data(&parse(&text));
    assert_eq!(
        charts["server_memory"]["resident"],
        vec![(0.0, 10.0), (5.0, 12.5), (10.0, 15.0)]
    );
}

#[test]
fn compare_and_reports_read_a_schema_1_summary() {
    // Written by mcp-soak before schema 2 (`demo --summary`): stages numbered from 0 as `index`, no
    // drain row, no assessment object.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/summary-v1.json");
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("json");
    assert_eq!(raw["schema_version"], 1);
    let old = compare::load(&path).expect("a schema-1 summary loads");
    let stages: Vec<usize> = old.stages.iter().map(|st| st.stage).collect();
    assert_eq!(
        stages,
        [1, 2, 3],
        "v1's 0-based index becomes the stage number"
    );
    assert_eq!(old.drain.totals.calls, 0);
    assert_eq!(
        old.totals.calls,
        raw["totals"]["calls"].as_u64().expect("calls")
    );
    let sum: u64 = old.stages.iter().map(|st| st.totals.calls).sum();
    assert_eq!(
        sum, old.totals.calls,
        "every call still in exactly one stage row"
    );
    // Against a schema-2 run: every operation of both is compared, stage N against stage N.
    let new = baseline();
    let c = compare::compare(&old, &new, 0.10);
    assert!(
        c.rows
            .iter()
            .filter(|r| r.op != "_all")
            .all(|r| r.deltas.is_some())
    );
    assert_eq!(compare::stages(&old, &new, 0.10).len(), 3);
    // The reports render from it.
    parse(&html::render(&old));
    assert!(markdown::render(&old).contains("|"));
}
