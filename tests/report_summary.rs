//! Summary, schema, console, SLO verdicts, atomic write and compare, from a recorder fed synthetic records.

use std::time::{Duration, Instant, SystemTime};

use mcp_soak::commands::{self, Exit};
use mcp_soak::mcp::OutcomeKind;
use mcp_soak::plan::Slo;
use mcp_soak::record::{Record, Recorder, RecorderSetup, RunInfo, StagePlan};
use mcp_soak::report::{self, RunMeta, Summary, compare, console, summary};

const OPS: [&str; 3] = ["echo", "slow", "idle"];

fn slo(op: Option<&str>, p95_ms: Option<u64>, min_tps: Option<f64>, max_err: Option<f64>) -> Slo {
    Slo {
        op: op.map(str::to_string),
        p95: p95_ms.map(Duration::from_millis),
        min_tps,
        max_error_ratio: max_err,
    }
}

/// echo: fast, 10 % tool errors; slow: ~300 ms; idle: never called. Two stages.
fn run_summary(slow_ms: u64) -> Summary {
    let rec = Recorder::new(RecorderSetup {
        op_names: OPS.iter().map(|s| s.to_string()).collect(),
        stages: StagePlan::steps(&[
            (50.0, Duration::from_secs(1)),
            (100.0, Duration::from_secs(1)),
        ]),
        slos: vec![
            slo(Some("echo"), Some(50), None, Some(0.2)), // pass, pass
            slo(Some("slow"), Some(100), None, None),     // fail
            slo(Some("idle"), Some(100), None, Some(0.1)), // no calls: fail with reason
            slo(Some("nope"), None, None, Some(0.1)),     // unknown op: fail with reason
            slo(None, None, Some(1.0), Some(0.5)),        // pass, pass
        ],
        raw: None,
        run_info: RunInfo {
            run_id: "r1".into(),
            target: "https://u:p@example.test/mcp".into(),
            protocol: "2025-11-25".into(),
            transport: mcp_soak::mcp::TargetTransport::StreamableHttp,
            labels: [("env".to_owned(), "test".to_owned())].into(),
        },
    })
    .expect("recorder");
    let started = SystemTime::now();
    rec.set_running(true);
    rec.set_stage(0, 50.0);
    let base = Instant::now();
    for i in 0..2000u64 {
        if i == 1000 {
            rec.set_stage(1, 100.0);
        }
        let op = (i % 2) as usize;
        let kind = match i % 20 {
            0 if op == 0 => OutcomeKind::ToolError,
            1 if i % 60 == 1 => OutcomeKind::Dropped,
            3 if i % 100 == 3 => OutcomeKind::HttpError,
            _ => OutcomeKind::Ok,
        };
        let intended = base + Duration::from_micros(i * 10);
        let svc = if op == 0 {
            Duration::from_millis(2 + i % 5)
        } else {
            Duration::from_millis(slow_ms + i % 7)
        };
        rec.record(Record {
            op,
            stage: usize::from(i >= 1000),
            kind,
            status: (kind == OutcomeKind::HttpError).then_some(503),
            rpc_code: None,
            intended,
            sent: (kind != OutcomeKind::Dropped).then_some(intended),
            done: intended + svc,
            bytes: 10,
            detail: (!kind.is_ok()).then(|| format!("{kind} detail")),
            session: None,
            retry_after: None,
        });
    }
    std::thread::sleep(Duration::from_millis(20));
    rec.set_running(false);
    let snap = rec.snapshot();
    let mut meta = RunMeta::new(started, SystemTime::now());
    meta.config = serde_json::json!({"load": {"rate": 50}, "auth": "***"});
    report::build(&snap, meta)
}

fn schema() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/summary.schema.json"
    ))
    .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/summary.schema.json"
    ))
    .expect("schema file");
    assert_eq!(
        committed,
        summary::schema_json(),
        "run `mcp-soak schema > schema/summary.schema.json`"
    );
}

#[test]
fn summary_validates_and_round_trips() {
    let s = run_summary(300);
    let json = serde_json::to_value(&s).expect("serialize");
    let validator = jsonschema::validator_for(&schema()).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let back: Summary = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, s);
    assert_eq!(s.schema_version, 2);
    assert_eq!(s.target, "https://example.test/mcp");
    assert!(humantime::parse_rfc3339(&s.started).is_ok());
    assert_eq!(s.totals.calls, 2000);
    assert_eq!(s.ops.iter().map(|o| o.totals.calls).sum::<u64>(), 2000);
    assert_eq!(
        s.stages.iter().map(|o| o.totals.calls).sum::<u64>() + s.drain.totals.calls,
        2000
    );
    assert_eq!(s.stages.iter().map(|o| o.scheduled).sum::<u64>(), 2000);
    assert_eq!(s.totals.completed, s.latency.corrected.count);
    assert_eq!(s.schedule.dropped, s.totals.counts.dropped);
    assert!(s.ops[1].latency.corrected.p50_ms >= 300.0);
    assert_eq!(s.ops[2].totals.calls, 0);
}

#[test]
fn slo_verdicts() {
    let s = run_summary(300);
    let v = |op: &str, obj: &str| {
        s.slos
            .iter()
            .find(|v| v.op == op && v.objective.as_str() == obj)
            .unwrap_or_else(|| panic!("{op} {obj} in {:?}", s.slos))
            .clone()
    };
    assert!(v("echo", "p95_latency_ms").passed);
    assert!(v("echo", "max_error_ratio").passed);
    let slow = v("slow", "p95_latency_ms");
    assert!(
        !slow.passed && slow.measured.is_some_and(|m| m >= 300.0),
        "{slow:?}"
    );
    let idle = v("idle", "p95_latency_ms");
    assert!(
        !idle.passed && idle.measured.is_none() && idle.reason.is_some(),
        "{idle:?}"
    );
    assert!(!v("idle", "max_error_ratio").passed);
    let nope = v("nope", "max_error_ratio");
    assert!(!nope.passed && nope.reason.as_deref().is_some_and(|r| r.contains("nope")));
    assert!(v("_all", "min_calls_per_second").passed);
    assert!(v("_all", "max_error_ratio").passed);
    assert!(!s.slo_passed);
    assert_eq!(s.slos.len(), 8);
}

/// The number after `label` on the console line that starts with it.
fn console_number(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{text}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number on {line:?}"))
}

#[test]
fn console_and_json_agree_on_every_count() {
    let mut s = run_summary(300);
    s.sessions = mcp_soak::mcp::SessionStats {
        active: 2,
        initialized: 9,
        expired: 3,
        deleted: 5,
        abandoned: 0,
        reinitialized: 2,
        refused: 4,
    };
    let mut out = Vec::new();
    console::write(&s, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    let t = &s.totals;
    assert_eq!(console_number(&text, "Calls scheduled"), t.calls);
    assert_eq!(console_number(&text, "Completed"), t.completed);
    assert_eq!(console_number(&text, "Successful (ok)"), t.counts.ok);
    assert_eq!(console_number(&text, "Failed"), t.completed - t.counts.ok);
    assert_eq!(console_number(&text, "Dropped slots"), t.counts.dropped);
    assert_eq!(console_number(&text, "Sessions"), s.sessions.initialized);
    assert!(
        text.contains(
            "9 created, 5 deleted, 3 expired, 2 re-initialized, 0 abandoned, 4 refused, 2 open at the end"
        ),
        "{text}"
    );
    for k in &s.errors.by_kind {
        assert_eq!(
            console_number(&text, k.kind.as_str()),
            k.count,
            "{}",
            k.kind
        );
    }
    for o in &s.ops {
        assert_eq!(console_number(&text, &o.name), o.totals.calls, "{}", o.name);
    }
    assert!(text.contains("calls that got an answer"));
    assert!(text.contains("PER STAGE"));
    // The run's identity heads the report, as it labels every series.
    assert!(text.contains("report — run r1 (env=test)"), "{text}");
    assert_eq!(
        text.matches("FAIL ").count(),
        s.slos.iter().filter(|v| !v.passed).count()
    );
    assert_eq!(
        text.matches("PASS ").count(),
        s.slos.iter().filter(|v| v.passed).count()
    );
    assert!(text.contains("ASSESSMENT: POOR"), "{text}");
}

#[tokio::test]
async fn compare_flags_regressions_and_passes_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = run_summary(300);
    let base_path = summary_file(&dir, "base-{timestamp}.json", &base);
    assert!(!base_path.to_string_lossy().contains("{timestamp}"));

    // Identical pair: no regression, exit 0.
    let c = compare::compare(&base, &base, 0.1);
    assert_eq!(c.regressions(), 0);
    let args = |new: &std::path::Path| commands::compare::Args {
        base: base_path.clone(),
        new: new.to_owned(),
        tolerance: "10%".into(),
        html: None,
        markdown: None,
    };
    assert_eq!(
        commands::compare::run(args(&base_path))
            .await
            .expect("compare"),
        Exit::Ok
    );

    // Injected regression: `slow` twice as slow.
    let mut worse = base.clone();
    let l = &mut worse.ops[1].latency.corrected;
    l.p95_ms *= 2.0;
    l.p99_ms *= 2.0;
    let c = compare::compare(&base, &worse, 0.1);
    assert_eq!(c.regressions(), 1);
    assert!(c.rows.iter().any(|r| r.op == "slow" && r.regressed()));
    let mut out = Vec::new();
    compare::write(&c, &mut out).expect("write");
    assert!(String::from_utf8_lossy(&out).contains("REGRESSION"));
    let worse_path = summary_file(&dir, "worse.json", &worse);
    assert_eq!(
        commands::compare::run(args(&worse_path))
            .await
            .expect("compare"),
        Exit::SloFailed
    );

    // A faster, error-free run is not a regression; a missing op is.
    let mut gone = base.clone();
    gone.ops.retain(|o| o.name != "echo");
    assert!(
        compare::compare(&base, &gone, 0.1)
            .rows
            .iter()
            .any(|r| r.op == "echo" && r.deltas.is_none() && r.regressed())
    );

    // Bad files: the error names the file and the field.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"schema_version": 2, "run_id": "x"}"#).expect("write");
    let err = commands::compare::run(args(&bad))
        .await
        .expect_err("bad file")
        .to_string();
    assert!(
        err.contains("bad.json") && err.contains("missing field"),
        "{err}"
    );
    std::fs::write(&bad, r#"{"schema_version": 7}"#).expect("write");
    let err = commands::compare::run(args(&bad))
        .await
        .expect_err("bad version")
        .to_string();
    assert!(
        err.contains("bad.json") && err.contains("schema_version"),
        "{err}"
    );
    let err = commands::compare::run(args(&dir.path().join("absent.json")))
        .await
        .expect_err("absent");
    assert!(err.to_string().contains("absent.json"));
    assert!(compare::parse_tolerance("abc").is_err());
    assert_eq!(compare::parse_tolerance("5%").ok(), Some(0.05));
}

fn summary_file(dir: &tempfile::TempDir, name: &str, s: &Summary) -> std::path::PathBuf {
    report::write::write_summary(&dir.path().join(name), s).expect("write summary")
}

#[test]
fn summaries_are_final_unless_they_are_checkpoints() {
    let s = run_summary(300);
    assert!(s.is_final && s.checkpoint.is_none());
    let mut json = serde_json::to_value(&s).expect("serialize");
    assert_eq!(json["final"], true);
    assert!(
        json.get("checkpoint").is_none(),
        "no checkpoint in a final summary"
    );
    // A summary written before checkpoints existed has no `final`: it was final.
    json.as_object_mut().expect("object").remove("final");
    let old: Summary = serde_json::from_value(json).expect("an old summary still reads");
    assert!(old.is_final);
}
