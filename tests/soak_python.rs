//! The `abandon` session profile against a real server: the PyPI `mcp` server (stateful) keeps every
//! session nobody DELETEs until its 30-minute idle timeout, so opening one per call grows its resident
//! memory in a straight line (~37 KB a session, /work/shared/FACTS.md), while a fixed pool does not.
//! The server's memory is sampled from `/proc` through `target.pid`.
//!
//! Bounded: two runs of 10 s at 30 calls/s, each against a fresh server (~30 s in all). The asserts
//! are on the verdict's direction with a wide margin, so a loaded machine that gets through half the
//! calls still passes: the leak is ~4,000 MB/h at full rate, a pool stays within noise of flat.

mod mcp_common;

use std::collections::HashMap;

use mcp_common::python_server;
use mcp_soak::commands::run::execute;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::engine::Stop;
use serde_json::Value;

/// A 10 s run at 30 calls/s with `strategy` against a fresh Python server, its memory sampled from
/// its pid every 250 ms after a 2 s warm-up; the summary.
async fn run_against_python(strategy: &str) -> Value {
    let (server, port) = python_server(false);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soak.toml");
    std::fs::write(
        &cfg,
        format!(
            "[target]\npid = {}\nmetrics_interval = \"250ms\"\n[soak]\nwarmup = \"2s\"\n",
            server.0.id()
        ),
    )
    .expect("config written");
    let args = RunArgs {
        config: Some(cfg),
        url: Some(format!("http://127.0.0.1:{port}/mcp")),
        metrics_listen: Some("none".into()),
        quiet: true,
        rate: Some(30.0),
        duration: Some("10s".into()),
        mix: Some("add=1".into()),
        // `add` has no annotations: by the spec it may be destructive (it is not).
        allow_destructive: vec!["add".into()],
        sessions: Some(2),
        summary: Some(dir.path().join("summary.json")),
        // The Python server negotiates the stateless era under `auto`: sessions need this.
        protocol: Some("2025-11-25".into()),
        session_strategy: Some(strategy.to_owned()),
        ..RunArgs::default()
    };
    let plan = load_with_env(&args, &HashMap::new()).expect("valid plan");
    execute(plan, &Stop::new()).await.expect("run completes");
    drop(server);
    serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("summary"))
        .expect("JSON")
}

/// The memory slope (bytes/h) and fitted growth (bytes) a run measured.
fn memory(s: &Value) -> (f64, f64) {
    let m = &s["soak"]["memory"];
    let per_hour = m["per_hour"].as_f64();
    let growth = m["growth"].as_f64();
    match (per_hour, growth) {
        (Some(p), Some(g)) => (p, g),
        _ => panic!("memory not measured: {}", s["soak"]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandon_grows_the_python_server_and_pooled_does_not() {
    let abandoned = run_against_python("abandon").await;
    let pooled = run_against_python("pooled").await;
    let (a_rate, a_growth) = memory(&abandoned);
    let (p_rate, p_growth) = memory(&pooled);
    let sessions = |s: &Value, k: &str| s["sessions"][k].as_u64().unwrap_or(0);
    let report = format!(
        "abandon {:.0} MB/h (+{:.1} MB, {} abandoned), pooled {:.0} MB/h (+{:.1} MB)",
        a_rate / 1e6,
        a_growth / 1e6,
        sessions(&abandoned, "abandoned"),
        p_rate / 1e6,
        p_growth / 1e6
    );
    // The run did what the profile says: a session per call left open, against a pool of two.
    assert!(sessions(&abandoned, "abandoned") >= 100, "{report}");
    assert_eq!(sessions(&pooled, "abandoned"), 0, "{report}");
    assert!(sessions(&pooled, "initialized") <= 4, "{report}");
    // ≥ 100 abandoned sessions × ~37 KB ≈ 3.7 MB at the least; measured by hand ~1.2 MB/s.
    assert!(a_rate > 200e6, "abandon grows the server: {report}");
    assert!(a_growth > 2e6, "abandon grows the server: {report}");
    // A pool is flat within noise: well under a third of the abandon slope, and under the 200 MB/h
    // that separates leaking from leak-free runs (FACTS: leak-free worst 35 MB/h on 90 s runs).
    assert!(p_rate < a_rate / 3.0, "pooled stays flat: {report}");
    assert!(p_growth < a_growth / 3.0, "pooled stays flat: {report}");
    eprintln!("{report}");
}
