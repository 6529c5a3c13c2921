//! `compare` knows noise (issue 21): two healthy runs against the mock that differ only in the seed
//! are not a regression (and the seeds are warned about), a real slowdown of the server is flagged,
//! and a change inside the noise a timeline shows is not flagged while the same change far beyond it is.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use mcp_soak::commands::run::execute;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::engine::Stop;
use mcp_soak::mock::{Latency, MockConfig, spawn};
use mcp_soak::report::compare;
use mcp_soak::report::summary::Summary;

/// A mock whose every call takes `ms`.
fn latency(ms: u64) -> MockConfig {
    let mut cfg = MockConfig::default();
    cfg.faults.latency = Some(Latency::Fixed {
        delay: Duration::from_millis(ms),
    });
    cfg
}

/// 5 s at 60 calls/s over three tools of unequal weight, against a mock built from `cfg`.
async fn soak(cfg: MockConfig, seed: u64, dir: &Path) -> Summary {
    let mock = spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    let path = dir.join(format!("seed-{seed}-{}.json", uuid::Uuid::new_v4()));
    let args = RunArgs {
        url: Some(mock.url.clone()),
        metrics_listen: Some("none".into()),
        quiet: true,
        summary: Some(path.clone()),
        rate: Some(60.0),
        duration: Some("5s".into()),
        mix: Some("echo=60,list_clusters=25,list_versions=15".into()),
        seed: Some(seed),
        ..RunArgs::default()
    };
    let plan = load_with_env(&args, &HashMap::new()).expect("valid plan");
    execute(plan, &Stop::new()).await.expect("run completes");
    mock.shutdown().await;
    compare::load(&path).expect("summary reads back")
}

fn table(c: &compare::Comparison) -> String {
    let mut out = Vec::new();
    compare::write(c, &mut out).expect("write");
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_runs_with_different_seeds_pass_and_a_slower_server_is_flagged() {
    // A server taking 500 ms a call: a loaded test machine adds tens of ms of jitter, and more in
    // one run than in the next, within the 10 % tolerance of that (with a 30 ms server, p50 went
    // 33.8 → 40.5 ms between two runs under two busy loops, past both the tolerance and the noise).
    let dir = tempfile::tempdir().expect("tempdir");
    let one = soak(latency(500), 1, dir.path()).await;
    let two = soak(latency(500), 2, dir.path()).await;

    let c = compare::compare(&one, &two, 0.10);
    let text = table(&c);
    assert_eq!(c.regressions(), 0, "two healthy runs:\n{text}");
    assert!(
        text.contains("seeds differ (base 1, new 2)") && text.contains("--seed"),
        "the seeds are warned about:\n{text}"
    );
    assert!(text.contains("noise ±"), "{text}");

    // The same server answering 1 s slower: a real regression, far beyond any noise. (Under load,
    // 30 → 70 ms once measured a p95 change of +142 ms against a noise of ±207 ms: not flagged.)
    let slower = soak(latency(1500), 1, dir.path()).await;
    let c = compare::compare(&one, &slower, 0.10);
    let text = table(&c);
    assert!(c.regressions() > 0, "a slower server:\n{text}");
    let all = &c.rows[0];
    assert_eq!(all.op, "_all");
    let p95 = all
        .deltas
        .as_ref()
        .and_then(|d| d.iter().find(|d| d.metric == "p95_ms"))
        .expect("p95 row");
    assert!(p95.regression, "{text}");
    assert!(
        !text.contains("seeds differ"),
        "same seed: no warning\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_inside_the_noise_is_not_flagged_one_far_beyond_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = soak(MockConfig::default(), 7, dir.path()).await;
    let op = base
        .ops
        .iter()
        .position(|o| o.name == "list_versions")
        .expect("op");

    // −13.5 % calls/s for the rarest tool (the case): beyond 10 % tolerance, but its share
    // of ~45 calls varies by more than that between seeds.
    let mut drift = base.clone();
    drift.ops[op].totals.calls_per_second *= 0.865;
    let c = compare::compare(&base, &drift, 0.10);
    let row = c
        .rows
        .iter()
        .find(|r| r.op == "list_versions")
        .expect("row");
    assert!(!row.regressed(), "within noise:\n{}", table(&c));
    let rate = row
        .deltas
        .as_ref()
        .and_then(|d| d.iter().find(|d| d.metric == "calls_per_s"))
        .expect("calls/s row");
    assert!(
        rate.noise > rate.base - rate.new,
        "noise {} covers the drop {}",
        rate.noise,
        rate.base - rate.new
    );

    // A fifth of it is beyond the noise (3σ of the difference of two draws of ~45 calls is ~60 %).
    let mut halved = base.clone();
    halved.ops[op].totals.calls_per_second *= 0.2;
    let c = compare::compare(&base, &halved, 0.10);
    assert!(
        c.rows
            .iter()
            .any(|r| r.op == "list_versions" && r.regressed()),
        "far beyond noise:\n{}",
        table(&c)
    );
}
