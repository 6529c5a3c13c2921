//! `mcp-soak merge`: one run's records split over three shard recorders, merged, equal the summary of
//! one recorder that saw every record; mixed runs and repeated shards are refused.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use mcp_soak::mcp::OutcomeKind;
use mcp_soak::plan::Slo;
use mcp_soak::record::{Record, Recorder, RecorderSetup, RunInfo, StagePlan};
use mcp_soak::report::merge::{self, MergeError, Shard};
use mcp_soak::report::{self, RunMeta, Summary, compare};
use serde_json::{Value, json};

const OPS: [&str; 3] = ["echo", "slow", "idle"];
const SHARDS: u64 = 3;

fn slos() -> Vec<Slo> {
    vec![
        Slo {
            op: Some("echo".into()),
            p95: Some(Duration::from_millis(5)),
            min_tps: None,
            max_error_ratio: Some(0.2),
        },
        Slo {
            op: None,
            p95: None,
            min_tps: Some(100.0),
            max_error_ratio: Some(0.5),
        },
    ]
}

/// A recorder of a two-stage plan (1 s each) at `share` of the rates (1 for the whole, 1/3 for a shard).
fn recorder(run_id: &str, share: f64) -> Recorder {
    Recorder::new(RecorderSetup {
        op_names: OPS.iter().map(|s| s.to_string()).collect(),
        stages: StagePlan::steps(&[
            (50.0 * share, Duration::from_secs(1)),
            (100.0 * share, Duration::from_secs(1)),
        ]),
        slos: slos(),
        raw: None,
        run_info: RunInfo {
            run_id: run_id.into(),
            target: "http://127.0.0.1:1/mcp".into(),
            protocol: "2025-11-25".into(),
            transport: mcp_soak::mcp::TargetTransport::StreamableHttp,
            labels: [("test".to_string(), "merge".to_string())].into(),
        },
    })
    .expect("recorder")
}

/// The record of call `i`: two ops, a spread of latencies, tool errors, HTTP errors and drops.
fn record(base: Instant, i: u64) -> Record {
    let op = (i % 2) as usize;
    let kind = if op == 0 && i.is_multiple_of(20) {
        OutcomeKind::ToolError
    } else if i % 60 == 1 {
        OutcomeKind::Dropped
    } else if i % 100 == 3 {
        OutcomeKind::HttpError
    } else {
        OutcomeKind::Ok
    };
    let intended = base + Duration::from_micros(i * 1_500);
    let lag = Duration::from_micros(i % 97);
    let svc = Duration::from_micros(if op == 0 {
        1_000 + (i * 7919) % 9_000
    } else {
        50_000 + (i * 104_729) % 400_000
    });
    let sent = (kind != OutcomeKind::Dropped).then_some(intended + lag);
    let detail = (!kind.is_ok()).then(|| format!("{kind} detail {}", i % 3));
    let status = (kind == OutcomeKind::HttpError).then_some(503);
    Record {
        detail,
        status,
        sent,
        done: intended + lag + svc,
        intended,
        kind,
        op,
        stage: usize::from(i >= 1000),
        bytes: 10,
        rpc_code: None,
        session: None,
        retry_after: None,
    }
}

/// The whole run's summary, and the summaries of its three shards (call `i` went to shard `i % 3`).
fn split_run(run_ids: [&str; 3]) -> (Summary, Vec<Shard>) {
    let whole = recorder(run_ids[0], 1.0);
    let shards: Vec<Recorder> = run_ids
        .iter()
        .map(|id| recorder(id, 1.0 / SHARDS as f64))
        .collect();
    let all: Vec<&Recorder> = std::iter::once(&whole).chain(&shards).collect();
    // Each shard runs a third of every stage's rate (`--instance-share i/3`).
    let stage = |i: usize, rate: f64| {
        whole.set_stage(i, rate);
        for s in &shards {
            s.set_stage(i, rate / SHARDS as f64);
        }
    };
    for r in &all {
        r.set_running(true);
    }
    stage(0, 50.0);
    // One t0 for all: stage windows and the timeline count from it.
    let base = Instant::now();
    for r in &all {
        r.start(base);
    }
    for i in 0..2000u64 {
        if i == 1000 {
            stage(1, 100.0);
        }
        whole.record(record(base, i));
        shards[(i % SHARDS) as usize].record(record(base, i));
    }
    for r in &all {
        r.set_running(false);
    }
    // One wall-clock window for all: the shards ran the same plan at the same time.
    let reference = whole.snapshot();
    let started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_600_000_123);
    let ended = started + Duration::from_secs(3);
    let slos = serde_json::to_value(slos()).expect("slos");
    let summary = |r: &Recorder, share: Option<String>| {
        let mut snap = r.snapshot();
        snap.elapsed = reference.elapsed;
        for (s, w) in snap.stages.iter_mut().zip(&reference.stages) {
            s.elapsed = w.elapsed;
        }
        snap.drain.start = reference.drain.start;
        snap.drain.elapsed = reference.drain.elapsed;
        let mut meta = RunMeta::new(started, ended);
        meta.config = json!({"limits": {"instance_share": share}, "slos": slos});
        report::build(&snap, meta)
    };
    let shard_summaries = shards
        .iter()
        .enumerate()
        .map(|(i, r)| Shard {
            file: format!("shard-{i}.json"),
            summary: summary(r, Some(format!("{i}/{SHARDS}"))),
        })
        .collect();
    (summary(&whole, None), shard_summaries)
}

/// The summary as JSON without what merging changes on purpose: the config (it lists the shards)
/// and the timeline (per-interval percentiles are approximated; its counts are checked apart).
fn comparable(s: &Summary) -> Value {
    let mut v = serde_json::to_value(s).expect("serialize");
    let obj = v.as_object_mut().expect("object");
    obj.remove("config");
    obj.remove("timeline");
    // Timelines merge counts exactly but percentiles only approximately: compared apart.
    for op in obj
        .get_mut("ops")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(op) = op.as_object_mut() {
            op.remove("timeline");
        }
    }
    v
}

fn timeline_counts(s: &Summary) -> (u64, u64) {
    s.timeline
        .iter()
        .chain(s.ops.iter().flat_map(|o| &o.timeline))
        .fold((0, 0), |(c, e), p| (c + p.calls, e + p.errors))
}

#[test]
fn merge_of_split_run_equals_the_run() {
    let (whole, shards) = split_run(["r1"; 3]);
    // Each shard alone is a third of the load and sees different percentiles.
    assert!(
        shards
            .iter()
            .all(|s| s.summary.totals.calls < whole.totals.calls)
    );
    let merged = merge::merge(&shards).expect("merge");
    assert!(merged.missing.is_empty());
    let m = &merged.summary;
    assert_eq!(comparable(m), comparable(&whole));
    // The points that matter, spelled out (the line above already holds them).
    assert_eq!(m.latency, whole.latency);
    assert_eq!(m.latency.corrected.p99_ms, whole.latency.corrected.p99_ms);
    assert_eq!(
        m.ops[1].latency.service.p999_ms,
        whole.ops[1].latency.service.p999_ms
    );
    assert_eq!(m.stages, whole.stages);
    assert_eq!(m.totals, whole.totals);
    assert_eq!(m.slos, whole.slos);
    assert_eq!(m.totals.calls, 2000);
    assert_eq!(timeline_counts(m), timeline_counts(&whole));
    assert_eq!(m.config["limits"]["instance_share"], Value::Null);
    assert_eq!(m.config["merged_shards"][2]["instance_share"], "2/3");
}

#[test]
fn compare_takes_a_merged_summary_like_a_single_run() {
    let (whole, shards) = split_run(["r1"; 3]);
    let merged = merge::merge(&shards).expect("merge").summary;
    let c = compare::compare(&whole, &merged, 0.0);
    assert_eq!(c.regressions(), 0, "a merged run compares equal to the run");
    // A single shard is a third of the load: against the whole it regresses on throughput.
    let c = compare::compare(&whole, &shards[0].summary, 0.1);
    assert!(c.regressions() > 0);
}

#[test]
fn timelines_align_on_wall_clock_time() {
    let (_, mut shards) = split_run(["r1"; 3]);
    // Shard 1 started 2 s after the others (a pod scheduled late): its points move 2 s later.
    let late = humantime::parse_rfc3339(&shards[1].summary.started).expect("time")
        + Duration::from_secs(2);
    shards[1].summary.started = humantime::format_rfc3339_millis(late).to_string();
    let last_late = shards[1].summary.timeline.last().expect("points").start_s + 2.0;
    let m = merge::merge(&shards).expect("merge").summary;
    assert_eq!(
        m.started, shards[0].summary.started,
        "the merged run starts with the earliest shard"
    );
    let calls = |s: &Summary| s.timeline.iter().map(|p| p.calls).sum::<u64>();
    assert_eq!(
        calls(&m),
        shards.iter().map(|s| calls(&s.summary)).sum::<u64>()
    );
    let last = m.timeline.last().expect("points");
    assert_eq!(
        last.start_s, last_late,
        "the late shard's last interval, 2 s later"
    );
    assert_eq!(
        last.calls,
        shards[1].summary.timeline.last().expect("points").calls
    );
    for w in m.timeline.windows(2) {
        assert!(w[0].start_s < w[1].start_s, "points in time order");
    }
}

#[test]
fn a_merged_summary_merges_again() {
    let (whole, shards) = split_run(["r1"; 3]);
    let first_two = merge::merge(&shards[..2]).expect("merge 0 and 1");
    assert_eq!(first_two.missing, vec!["2/3".to_string()]);
    let again = merge::merge(&[
        Shard {
            file: "merged-01.json".into(),
            summary: first_two.summary,
        },
        shards[2].clone(),
    ])
    .expect("merge again");
    assert_eq!(comparable(&again.summary), comparable(&whole));
}

#[test]
fn refuses_mixed_runs_repeated_shards_and_summaries_without_histograms() {
    let (_, shards) = split_run(["r1", "r1", "r2"]);
    match merge::merge(&shards) {
        Err(e @ MergeError::OtherRun { .. }) => {
            let text = e.to_string();
            assert!(text.starts_with("shard-2.json:"), "{text}");
            assert!(text.contains("\"r2\"") && text.contains("\"r1\""), "{text}");
        }
        other => panic!("expected OtherRun, got {other:?}"),
    }
    let (_, shards) = split_run(["r1"; 3]);
    let twice = [shards[0].clone(), shards[1].clone(), {
        let mut s = shards[0].clone();
        s.file = "again.json".into();
        s
    }];
    let e = merge::merge(&twice).expect_err("same shard twice");
    assert!(matches!(e, MergeError::DuplicateShard { .. }), "{e}");
    assert!(e.to_string().starts_with("again.json:"), "{e}");
    let mut old = shards[1].clone();
    old.summary.histograms = None;
    let e = merge::merge(&[shards[0].clone(), old]).expect_err("no histograms");
    assert!(matches!(e, MergeError::NoHistograms { .. }), "{e}");
}

#[test]
fn cli_merges_files_and_exits_2_naming_the_file_of_another_run() {
    let dir = std::env::temp_dir().join(format!("mcp-soak-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let write = |name: &str, s: &Summary| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(s).expect("json")).expect("write");
        path
    };
    let (whole, shards) = split_run(["r1"; 3]);
    let paths: Vec<_> = shards.iter().map(|s| write(&s.file, &s.summary)).collect();
    let out = dir.join("merged.json");
    let status = Command::new(env!("CARGO_BIN_EXE_mcp-soak"))
        .arg("merge")
        .args(&paths)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run mcp-soak merge");
    // The exit code is the verdict of the whole load.
    assert_eq!(
        status.status.code(),
        Some(i32::from(!whole.slo_passed)),
        "{status:?}"
    );
    let merged: Summary =
        serde_json::from_slice(&std::fs::read(&out).expect("merged file")).expect("summary");
    assert_eq!(comparable(&merged), comparable(&whole));

    let (_, other) = split_run(["r2"; 3]);
    let stranger = write("other-run.json", &other[0].summary);
    let refused = Command::new(env!("CARGO_BIN_EXE_mcp-soak"))
        .arg("merge")
        .args(&paths[..2])
        .arg(&stranger)
        .output()
        .expect("run mcp-soak merge");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("other-run.json"), "{stderr}");
    assert!(refused.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_soak_section_of_the_shard_that_sampled_the_server_is_kept() {
    use mcp_soak::plan::Objective;
    use mcp_soak::report::verdicts::{Growth, Measured};
    let (_, mut shards) = split_run(["soak-run"; 3]);
    let growth = Growth {
        per_hour: 3e8,
        per_hour_low: 2.9e8,
        per_hour_high: 3.1e8,
        growth: 2e7,
        samples: 40,
        span_s: 240.0,
    };
    let s = &mut shards[1].summary;
    s.soak.source = Some("http://server:9100/metrics".into());
    s.soak.memory = Measured::Measured(growth.clone());
    let mut failed = s.slos[0].clone();
    failed.objective = Objective::MaxMemoryGrowthBytesPerHour;
    failed.passed = false;
    s.slos.push(failed);
    let m = merge::merge(&shards).expect("merge").summary;
    assert_eq!(m.soak.memory, Measured::Measured(growth));
    assert!(
        m.slos
            .iter()
            .any(|v| v.objective == Objective::MaxMemoryGrowthBytesPerHour && !v.passed)
    );
    assert!(!m.slo_passed, "the failed memory SLO fails the merged run");
}

/// Refusals add up across shards: three shards each under the "capped" threshold (fewer than 10
/// refused) cross it together, and the merged memory verdict is then "capped", not a healthy slope.
#[test]
fn refusals_that_cap_the_run_together_cap_the_merged_soak() {
    use mcp_soak::plan::Objective;
    use mcp_soak::report::verdicts::{Growth, Measured};
    let (_, mut shards) = split_run(["capped-run"; 3]);
    for sh in &mut shards {
        sh.summary.sessions.initialized = 300;
        sh.summary.sessions.refused = 5;
        assert!(mcp_soak::report::verdicts::capped(&sh.summary.sessions).is_none());
    }
    let s = &mut shards[0].summary;
    s.soak.source = Some("http://server:9100/metrics".into());
    s.soak.memory = Measured::Measured(Growth {
        per_hour: 1e3,
        per_hour_low: 0.0,
        per_hour_high: 2e3,
        growth: 1e2,
        samples: 40,
        span_s: 240.0,
    });
    let mut flat = s.slos[0].clone();
    flat.objective = Objective::MaxMemoryGrowthBytesPerHour;
    flat.passed = true;
    s.slos.push(flat);
    let m = merge::merge(&shards).expect("merge").summary;
    assert_eq!((m.sessions.refused, m.sessions.initialized), (15, 900));
    assert!(m.soak.capped, "15 of 915 refused caps the merged run");
    match &m.soak.memory {
        Measured::NotMeasured { reason } => {
            assert!(
                reason.starts_with("capped: the server refused 15 of 915"),
                "{reason}"
            )
        }
        other => panic!("a capped run's memory is not measured: {other:?}"),
    }
    let memory = m
        .slos
        .iter()
        .find(|v| v.objective == Objective::MaxMemoryGrowthBytesPerHour)
        .expect("the memory SLO is carried");
    assert!(!memory.passed && memory.measured.is_none(), "{memory:?}");
    assert!(!m.slo_passed);
}
