//! Checkpoints of a running soak, through the binary: a SIGKILLed run leaves its last checkpoint, a
//! valid summary (`"final": false`, the pacer's position) that the schema, `compare`, `merge`
//! and `report` accept; a run that ends replaces its checkpoints with the final summary in the same file.
//!
//! The target is the built-in mock, in this test process on port 0; the binary runs as a child.

mod support;

use std::process::Command;
use std::time::Duration;

use support::{bin, fixed_latency, mock, read_summary, start_run, wait_until};

/// Validates against the summary schema (the committed file is this one: `report_summary` checks).
fn assert_valid(s: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&mcp_soak::report::summary::schema_json()).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator.iter_errors(s).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// The checkpoint's elapsed seconds, once the file is there and parses.
fn checkpoint_elapsed(path: &std::path::Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let s: serde_json::Value = serde_json::from_str(&text).ok()?;
    s["checkpoint"]["elapsed_s"].as_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_soak_leaves_a_valid_checkpoint_that_compare_merge_and_report_accept() {
    let m = mock(fixed_latency(Duration::from_millis(5))).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix list_clusters=1 --protocol 2025-11-25 --stages 20:3s,40:10m \
         --metrics-listen none --quiet --checkpoint-every 1s",
    );
    // Into the second stage, so the position is not just the start.
    wait_until(Duration::from_secs(60), "a checkpoint past 4 s", || {
        checkpoint_elapsed(&summary).is_some_and(|e| e >= 4.0)
    })
    .await;
    soak.signal("KILL");
    let st = soak.wait(Duration::from_secs(30)).await;
    assert_eq!(
        st.code(),
        None,
        "killed by the signal, nothing ran after it"
    );

    let s = read_summary(&summary);
    assert_valid(&s);
    assert_eq!(s["final"], false, "a checkpoint says so");
    let cp = &s["checkpoint"];
    assert_eq!(cp["every_s"], 1.0);
    assert_eq!(cp["stage"], 2, "the pacer's stage: {cp}");
    let elapsed = cp["elapsed_s"].as_f64().expect("elapsed_s");
    assert!(elapsed >= 4.0, "{cp}");
    // 20/s for 3 s, then 40/s: the slots laid out by then, within a second of either side.
    let scheduled = cp["scheduled"].as_u64().expect("scheduled") as f64;
    let expected = 60.0 + 40.0 * (elapsed - 3.0);
    assert!(
        (scheduled - expected).abs() <= 45.0,
        "scheduled {scheduled}, expected ~{expected}"
    );
    let ok = s["totals"]["counts"]["ok"].as_u64().expect("ok");
    assert!(ok >= 60, "calls before the checkpoint are kept: {ok}");
    assert!(
        m.stats().total_calls() >= ok,
        "the checkpoint counts no call the mock did not get"
    );
    assert_eq!(s["aborted"], false);

    // `compare` reads it (against itself: no regression, exit 0) and `merge` takes it as a shard.
    let out = Command::new(bin())
        .args(["compare"])
        .arg(&summary)
        .arg(&summary)
        .output()
        .expect("run compare");
    assert_eq!(
        out.status.code(),
        Some(0),
        "compare: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin())
        .arg("merge")
        .arg(&summary)
        .output()
        .expect("run merge");
    assert!(
        out.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).expect("merged JSON");
    assert_eq!(
        merged["final"], false,
        "a merge of checkpoints is no final summary"
    );
    assert_eq!(merged["totals"]["calls"], s["totals"]["calls"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_ends_replaces_its_checkpoints_with_the_final_summary() {
    let m = mock(fixed_latency(Duration::from_millis(5))).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix list_clusters=1 --protocol 2025-11-25 --rate 20 --duration 3s \
         --metrics-listen none --quiet --checkpoint-every 1s",
    );
    wait_until(Duration::from_secs(60), "a first checkpoint", || {
        checkpoint_elapsed(&summary).is_some()
    })
    .await;
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "stderr:\n{}", soak.stderr());
    let s = read_summary(&summary);
    assert_valid(&s);
    assert_eq!(s["final"], true);
    assert!(s.get("checkpoint").is_none(), "{}", s["checkpoint"]);
    assert_eq!(s["totals"]["calls"], 60);
    let leftovers = std::fs::read_dir(summary.parent().expect("dir"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0, "no temp file left behind");
}
