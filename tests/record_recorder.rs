//! The recorder fed synthetic records: snapshot counts, /metrics text, raw stream, bounded tables.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use mcp_soak::mcp::{OutcomeKind, SessionStats};
use mcp_soak::plan::Slo;
use mcp_soak::record::{Record, Recorder, RecorderSetup, RunInfo, StagePlan, names, snapshot};

const OPS: [&str; 3] = ["echo", "get-sum", "tools/list"];

fn setup(raw: Option<std::path::PathBuf>) -> RecorderSetup {
    RecorderSetup {
        op_names: OPS.iter().map(|s| s.to_string()).collect(),
        stages: StagePlan::steps(&[
            (10.0, Duration::from_secs(1)),
            (20.0, Duration::from_secs(1)),
        ]),
        slos: vec![
            Slo {
                op: Some("echo".into()),
                p95: Some(Duration::from_millis(123)),
                min_tps: None,
                max_error_ratio: None,
            },
            Slo {
                op: None,
                p95: Some(Duration::from_millis(400)),
                min_tps: Some(5.0),
                max_error_ratio: Some(0.01),
            },
        ],
        raw,
        run_info: RunInfo {
            run_id: "run-1".into(),
            target: "http://user:secret@127.0.0.1:9/mcp?token=abc".into(),
            protocol: "2025-11-25".into(),
            transport: mcp_soak::mcp::TargetTransport::StreamableHttp,
            labels: [("env".to_owned(), "test".to_owned())].into(),
        },
    }
}

/// A deterministic record stream: every op × outcome, two stages, a 5 s stall on some calls.
fn records(n: usize) -> Vec<Record> {
    let base = Instant::now();
    (0..n)
        .map(|i| {
            let kind = OutcomeKind::ALL[(i / 3) % OutcomeKind::ALL.len()];
            let intended = base + Duration::from_millis(i as u64);
            let stall = if i % 97 == 0 {
                Duration::from_secs(5)
            } else {
                Duration::ZERO
            };
            let sent =
                (kind != OutcomeKind::Dropped).then(|| intended + Duration::from_micros(200));
            let done = intended + Duration::from_millis(2 + (i % 40) as u64) + stall;
            Record {
                op: i % 3,
                stage: usize::from(i >= n / 2),
                kind,
                status: match kind {
                    OutcomeKind::HttpError => Some(if i % 2 == 0 { 503 } else { 599 }),
                    OutcomeKind::Ok | OutcomeKind::ToolError | OutcomeKind::RpcError => Some(200),
                    _ => None,
                },
                rpc_code: (kind == OutcomeKind::RpcError).then_some(-32602),
                intended,
                sent,
                done,
                bytes: 100,
                detail: (!kind.is_ok()).then(|| format!("{kind} happened")),
                session: Some((i % 4) as u32),
                retry_after: None,
            }
        })
        .collect()
}

/// Records of [`records`] that got no answer but were sent (timed apart, per outcome).
fn recs_unanswered_sent(n: usize) -> u64 {
    records(n)
        .iter()
        .filter(|r| !snapshot::answered(r.kind) && r.sent.is_some())
        .count() as u64
}

fn expected_counts(recs: &[Record]) -> BTreeMap<(usize, OutcomeKind), u64> {
    let mut m = BTreeMap::new();
    for r in recs {
        *m.entry((r.op, r.kind)).or_insert(0) += 1;
    }
    m
}

/// Parses `name{a="b",c="d"} value` lines into (name, labels, value).
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match head.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (head, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((k.to_string(), v.trim_matches('"').to_string()))
                })
                .collect();
            Some((name.to_string(), labels, value))
        })
        .collect()
}

fn value(
    s: &[(String, BTreeMap<String, String>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    s.iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|x| x.2)
}

#[test]
fn snapshot_counts_are_exact() {
    let rec = Recorder::new(setup(None)).expect("recorder");
    rec.set_running(true);
    rec.set_stage(0, 10.0);
    let recs = records(3000);
    let want = expected_counts(&recs);
    for (i, r) in recs.iter().cloned().enumerate() {
        if i == 1500 {
            rec.set_stage(1, 20.0);
        }
        rec.record(r);
    }
    rec.set_running(false);
    let snap = rec.snapshot();

    for (op_idx, op) in snap.ops.iter().enumerate() {
        assert_eq!(op.name, OPS[op_idx]);
        for k in OutcomeKind::ALL {
            assert_eq!(
                op.counts[k.index()],
                want.get(&(op_idx, k)).copied().unwrap_or(0),
                "{} {k}",
                op.name
            );
        }
        // Timed: calls that got an answer; the SLO's latency: successes only.
        let answered: u64 = OutcomeKind::ALL
            .iter()
            .filter(|k| snapshot::answered(**k))
            .map(|k| op.counts[k.index()])
            .sum();
        assert_eq!(op.latency.len(), answered, "{}", op.name);
        assert_eq!(op.ok_latency.len(), op.counts[OutcomeKind::Ok.index()]);
    }
    let total: u64 = snap.ops.iter().map(|o| snapshot::total(&o.counts)).sum();
    assert_eq!(total, 3000);
    // Scheduled by intended stage; ended by wall-clock window, the drain included: every call once.
    let scheduled: Vec<u64> = snap.stages.iter().map(|s| s.scheduled).collect();
    assert_eq!(scheduled, vec![1500, 1500]);
    let ended: u64 = snap
        .stages
        .iter()
        .chain([&snap.drain])
        .map(|s| snapshot::total(&s.counts))
        .sum();
    assert_eq!(ended, 3000);
    // Timeouts and connects that left are timed apart; never-sent slots are not timed at all.
    let failed: u64 = snap.failed_latency.iter().map(|(_, h)| h.len()).sum();
    let unanswered_sent = recs_unanswered_sent(3000);
    assert_eq!(failed, unanswered_sent);
    assert_eq!(snap.stages[1].target_rate, 20.0);
    // The stall shows in the latency from the intended time (5 s) but p50 stays small.
    let all_lat = &snap.ops[0].latency;
    assert!(all_lat.max() >= 4_900_000, "max {}", all_lat.max());
    assert!(all_lat.value_at_quantile(0.5) < 100_000);
    // Timeline counts every completed call exactly once.
    let completed: u64 = snap
        .ops
        .iter()
        .map(|o| snapshot::completed(&o.counts))
        .sum();
    assert_eq!(
        snap.timeline.iter().map(|p| p.calls).sum::<u64>(),
        completed
    );
    assert_eq!(snap.run_info.target, "http://127.0.0.1:9/mcp");
    assert!(!snap.top_errors.is_empty() && snap.top_errors.len() <= 100);
    assert_eq!(rec.unknown_op_records(), 0);
}

#[test]
fn metrics_text_agrees_with_counts_and_slos() {
    let rec = Recorder::new(setup(None)).expect("recorder");
    let recs = records(900);
    let want = expected_counts(&recs);
    for r in recs {
        rec.record(r);
    }
    rec.set_sessions(SessionStats {
        active: 3,
        initialized: 7,
        expired: 2,
        deleted: 4,
        abandoned: 1,
        reinitialized: 2,
        refused: 6,
    });
    rec.set_in_flight(11);
    // Objectives in verdict order: echo p95; _all p95, min rate, max error ratio.
    rec.set_slo_failing(&[false, true, false, false]);
    let text = rec.prometheus().render();
    let s = samples(&text);

    for ((op, k), n) in &want {
        let got = value(
            &s,
            names::CALLS_TOTAL,
            &[("tool", OPS[*op]), ("outcome", k.as_str())],
        );
        assert_eq!(got, Some(*n as f64), "{} {k}", OPS[*op]);
    }
    // Every outcome label is pre-registered, even with zero calls.
    assert_eq!(
        s.iter().filter(|(n, _, _)| n == names::CALLS_TOTAL).count(),
        OPS.len() * OutcomeKind::ALL.len()
    );
    let dropped: u64 = want
        .iter()
        .filter(|((_, k), _)| *k == OutcomeKind::Dropped)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        value(&s, names::DROPPED_SLOTS_TOTAL, &[]),
        Some(dropped as f64)
    );

    // Real histograms with a boundary exactly on every SLO threshold.
    for le in ["0.123", "0.4", "0.001", "60"] {
        for tool in OPS {
            let name = format!("{}_bucket", names::CALL_LATENCY_SECONDS);
            assert!(
                value(&s, &name, &[("tool", tool), ("le", le)]).is_some(),
                "{name} {tool} le={le}\n{text}"
            );
        }
    }
    for (op_idx, tool) in OPS.iter().enumerate() {
        let completed: u64 = want
            .iter()
            .filter(|((o, k), _)| *o == op_idx && snapshot::answered(*k))
            .map(|(_, n)| n)
            .sum();
        let count = value(
            &s,
            &format!("{}_count", names::CALL_LATENCY_SECONDS),
            &[("tool", tool)],
        );
        assert_eq!(count, Some(completed as f64));
        let inf = value(
            &s,
            &format!("{}_bucket", names::CALL_LATENCY_SECONDS),
            &[("tool", tool), ("le", "+Inf")],
        );
        assert_eq!(inf, Some(completed as f64));
    }

    assert_eq!(
        value(&s, names::SLO_LATENCY_P95_SECONDS, &[("tool", "echo")]),
        Some(0.123)
    );
    assert_eq!(
        value(&s, names::SLO_LATENCY_P95_SECONDS, &[("tool", "_all")]),
        Some(0.4)
    );
    assert_eq!(
        value(&s, names::SLO_MIN_CALLS_PER_SECOND, &[("tool", "_all")]),
        Some(5.0)
    );
    assert_eq!(
        value(&s, names::SLO_MAX_ERROR_RATIO, &[("tool", "_all")]),
        Some(0.01)
    );
    let failing = |tool, objective| {
        value(
            &s,
            names::SLO_FAILING,
            &[("tool", tool), ("objective", objective)],
        )
    };
    assert_eq!(failing("echo", "p95_latency_ms"), Some(0.0));
    assert_eq!(failing("_all", "p95_latency_ms"), Some(1.0));
    assert_eq!(failing("_all", "max_error_ratio"), Some(0.0));
    assert_eq!(value(&s, names::SESSIONS_INITIALIZED_TOTAL, &[]), Some(7.0));
    for (name, n) in [
        (names::SESSIONS_EXPIRED_TOTAL, 2.0),
        (names::SESSIONS_DELETED_TOTAL, 4.0),
        (names::SESSIONS_ABANDONED_TOTAL, 1.0),
        (names::SESSIONS_REINITIALIZED_TOTAL, 2.0),
        (names::SESSIONS_REFUSED_TOTAL, 6.0),
    ] {
        assert_eq!(value(&s, name, &[]), Some(n), "{name}");
    }
    assert_eq!(value(&s, names::IN_FLIGHT, &[]), Some(11.0));
    assert!(
        value(
            &s,
            names::HTTP_ERRORS_TOTAL,
            &[("tool", "echo"), ("status", "other")]
        )
        .is_some()
    );
    assert!(value(&s, names::HTTP_ERRORS_TOTAL, &[("status", "503")]).is_some());
    assert!(value(&s, names::RPC_ERRORS_TOTAL, &[("code", "-32602")]).is_some());
    assert_eq!(
        value(
            &s,
            names::RUN_INFO,
            &[("target", "http://127.0.0.1:9/mcp"), ("run_id", "run-1")]
        ),
        Some(1.0)
    );
    assert!(!text.contains("secret") && !text.contains("token=abc"));
    // The run's identity is on every series, so shards of one run sum and runs never mix.
    assert!(s.len() > 100);
    for (name, labels, _) in &s {
        assert_eq!(
            labels.get("run_id").map(String::as_str),
            Some("run-1"),
            "{name} {labels:?}"
        );
        assert_eq!(
            labels.get("env").map(String::as_str),
            Some("test"),
            "{name} {labels:?}"
        );
    }
    assert!(
        value(
            &s,
            names::BUILD_INFO,
            &[("version", env!("CARGO_PKG_VERSION"))]
        )
        .is_some()
    );
}

#[test]
fn docs_table_matches_exported_names() {
    let rec = Recorder::new(setup(None)).expect("recorder");
    for r in records(300) {
        rec.record(r);
    }
    // The target's resource gauges exist once a sampler runs (`target.metrics_url` / `target.pid`).
    let _target = mcp_soak::record::resources::Handles::new(&rec, &["a_series".to_owned()]);
    // The soak limits are set by `run` when `[soak]` asks for them.
    for name in [names::SLO_MAX_MEMORY_GROWTH, names::SLO_MAX_P95_DRIFT] {
        rec.gauge(name, vec![]).set(1.0);
    }
    // A runtime change (`/control/…`, a reload) is counted once one is made.
    rec.counter(
        names::CONTROL_CHANGES_TOTAL,
        vec![metrics::Label::new("action", "pause")],
    )
    .increment(1);
    let text = rec.prometheus().render();
    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    // The metrics table in docs/metrics.md is the contract dashboards and rules are written against.
    let section = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
        .expect("docs/metrics.md");
    let documented: BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let declared: BTreeSet<String> = names::METRICS.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(
        exported, documented,
        "exported vs the docs/metrics.md table"
    );
    assert_eq!(
        declared, documented,
        "names.rs vs the docs/metrics.md table"
    );
}

#[test]
fn raw_stream_has_one_line_per_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raw.jsonl");
    let rec = Recorder::new(setup(Some(path.clone()))).expect("recorder");
    let recs = records(2000);
    for r in recs.iter().cloned() {
        rec.record(r);
    }
    rec.finish().expect("raw stream closes");
    rec.finish().expect("finish is idempotent");
    let snap = rec.snapshot();
    assert_eq!(snap.raw_lost, 0);
    assert_eq!(snap.raw_written, 2000);
    let text = std::fs::read_to_string(&path).expect("raw file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2000);
    for (l, r) in lines.iter().zip(&recs) {
        assert_eq!(l["op"], OPS[r.op]);
        assert_eq!(l["outcome"], r.kind.as_str());
        assert_eq!(l["stage"], r.stage);
        assert!(
            l["time"]
                .as_str()
                .is_some_and(|t| humantime::parse_rfc3339(t).is_ok()),
            "{l}"
        );
        assert_eq!(l["latency_ms"].is_null(), r.kind == OutcomeKind::Dropped);
    }
    // After close, further lines are counted as lost, never a panic.
    rec.record(recs[0].clone());
    assert_eq!(rec.snapshot().raw_lost, 1);
}

#[test]
fn error_table_is_bounded() {
    let rec = Recorder::new(setup(None)).expect("recorder");
    let base = Instant::now();
    for i in 0..5000u64 {
        rec.record(Record {
            op: (i % 3) as usize,
            stage: 0,
            kind: OutcomeKind::Protocol,
            status: Some(200),
            rpc_code: None,
            intended: base,
            sent: Some(base),
            done: base + Duration::from_millis(1),
            bytes: 0,
            detail: Some(if i % 2 == 0 {
                "bad json".into()
            } else {
                format!("unique {i} {}", "x".repeat(500))
            }),
            session: None,
            retry_after: None,
        });
    }
    // Out-of-range indexes are counted, not a panic.
    rec.record(Record {
        op: 99,
        ..records(1).remove(0)
    });
    let snap = rec.snapshot();
    assert!(snap.top_errors.len() <= mcp_soak::record::ERROR_TABLE_CAP);
    assert_eq!(snap.top_errors[0].message, "bad json");
    assert!(
        snap.top_errors
            .iter()
            .all(|e| e.message.chars().count() <= 200)
    );
    assert_eq!(rec.unknown_op_records(), 1);
}
