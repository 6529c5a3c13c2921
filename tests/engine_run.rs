//! The load engine end to end against the built-in mock on port 0: exact counts per stage, mix
//! proportions as the server saw them, captures feeding later calls, the closed model, and the
//! session era through a pooled session set.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use mcp_soak::commands::Exit;
use mcp_soak::commands::run::execute;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::engine::Stop;
use mcp_soak::mock::{MockConfig, MockHandle, spawn};
use serde_json::Value;

mod support;

async fn mock() -> MockHandle {
    spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts")
}

/// Flags every test shares: quiet, no metrics server, a summary in `dir`.
fn args(url: &str, dir: &Path) -> RunArgs {
    RunArgs {
        url: Some(url.to_owned()),
        metrics_listen: Some("none".into()),
        quiet: true,
        summary: Some(dir.join("summary.json")),
        ..RunArgs::default()
    }
}

async fn run(args: RunArgs) -> (Exit, Value) {
    let plan = load_with_env(&args, &HashMap::new()).expect("valid plan");
    let exit = execute(plan, &Stop::new()).await.expect("run completes");
    let path = args.summary.expect("summary path");
    let summary: Value = serde_json::from_slice(&std::fs::read(&path).expect("summary written"))
        .expect("summary is JSON");
    (exit, summary)
}

fn op<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["ops"]
        .as_array()
        .expect("ops")
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("op {name} in summary"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepped_stages_send_exact_counts_and_the_server_sees_them_all() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = RunArgs {
        stages: Some("40:1s,80:1s".into()),
        mix: Some("echo=1".into()),
        ..args(&mock.url, dir.path())
    };
    let (exit, s) = run(a).await;
    assert_eq!(exit, Exit::Ok);
    let stages = s["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 2);
    // Scheduled per stage exactly; ended per wall-clock window, the drain its own row.
    assert_eq!(stages[0]["scheduled"], 40, "stage 1: {}", stages[0]);
    assert_eq!(stages[1]["scheduled"], 80, "stage 2: {}", stages[1]);
    assert_eq!(
        (stages[0]["stage"].as_u64(), stages[1]["stage"].as_u64()),
        (Some(1), Some(2))
    );
    let ok = |v: &Value| v["totals"]["counts"]["ok"].as_u64().unwrap_or(0);
    assert_eq!(ok(&stages[0]) + ok(&stages[1]) + ok(&s["drain"]), 120);
    assert_eq!(s["totals"]["calls"], 120);
    assert_eq!(
        mock.stats().calls_of("echo"),
        120,
        "the server saw every call exactly once"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mix_proportions_follow_the_weights() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = RunArgs {
        rate: Some(400.0),
        duration: Some("2s".into()),
        mix: Some(
            "list_clusters=40,list_versions=30,list_operator_bundles=20,tools/list=10".into(),
        ),
        seed: Some(7),
        ..args(&mock.url, dir.path())
    };
    let (exit, s) = run(a).await;
    assert_eq!(exit, Exit::Ok);
    let n: f64 = 800.0;
    let stats = mock.stats();
    for (tool, weight) in [
        ("list_clusters", 0.4f64),
        ("list_versions", 0.3),
        ("list_operator_bundles", 0.2),
    ] {
        let seen = stats.calls_of(tool) as f64;
        let expected = n * weight;
        let sigma = (n * weight * (1.0 - weight)).sqrt();
        assert!(
            (seen - expected).abs() < 5.0 * sigma,
            "{tool}: server saw {seen}, expected {expected} ± {}",
            5.0 * sigma
        );
        assert_eq!(
            op(&s, tool)["totals"]["counts"]["ok"].as_f64(),
            Some(seen),
            "summary and server agree for {tool}"
        );
    }
    let listed = op(&s, "tools/list")["totals"]["counts"]["ok"]
        .as_f64()
        .unwrap();
    assert!(
        (listed - 80.0).abs() < 5.0 * (n * 0.1f64 * 0.9).sqrt(),
        "tools/list: {listed}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_feed_later_calls() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("captures.toml");
    std::fs::write(
        &config,
        r#"
[load]
stages = [{ rate = 50, duration = "1s" }, { rate = 100, duration = "1s" }]
seed = 3

[[mix]]
tool = "create_payment"
weight = 1
allow_destructive = true
capture = { payment_ids = "/payment_id" }
args = { amount = { gen = "decimal", min = 1.0, max = 50.0, precision = 2 }, currency = "EUR", method = "card", customer_id = { gen = "seq", prefix = "cus_" } }

[[mix]]
tool = "verify_payment"
weight = 1
args = { payment_id = { capture = "payment_ids" } }
"#,
    )
    .unwrap();
    let a = RunArgs {
        config: Some(config),
        ..args(&mock.url, dir.path())
    };
    let (_exit, s) = run(a).await;
    let created = op(&s, "create_payment");
    assert_eq!(
        created["totals"]["counts"]["tool_error"], 0,
        "valid generated payments: {created}"
    );
    let verified = op(&s, "verify_payment");
    let ok = verified["totals"]["counts"]["ok"].as_u64().unwrap();
    let failed = verified["totals"]["counts"]["tool_error"].as_u64().unwrap();
    // Only the verifies scheduled before the first create returned can miss (empty pool).
    assert!(
        ok > 50 && failed <= 5,
        "verify_payment used captured ids: ok {ok}, unknown id {failed}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_sends_users_times_requests() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = RunArgs {
        users: Some(5),
        requests: Some(3),
        delay: Some("0.01".into()),
        mix: Some("echo=1".into()),
        ..args(&mock.url, dir.path())
    };
    let (exit, s) = run(a).await;
    assert_eq!(exit, Exit::Ok);
    assert_eq!(s["totals"]["calls"], 15);
    assert_eq!(mock.stats().calls_of("echo"), 15);
    // The closed model's one stage is the run's window: real duration and rate, no target.
    let stage = &s["stages"][0];
    assert_eq!(stage["totals"]["calls"], 15, "{stage}");
    assert!(stage["duration_s"].as_f64().unwrap_or(0.0) > 0.0, "{stage}");
    assert!(
        stage["totals"]["calls_per_second"].as_f64().unwrap_or(0.0) > 0.0,
        "{stage}"
    );
    assert_eq!(stage["target_rate"], 0.0);
    assert_eq!(
        s["drain"]["totals"]["calls"], 0,
        "a closed loop waits for its calls"
    );
    let a = RunArgs {
        scenario: Some("light".into()),
        mix: Some("echo=1".into()),
        ..args(&mock.url, dir.path())
    };
    let (_, s) = run(a).await;
    assert_eq!(s["totals"]["calls"], 15, "light = 5 users × 3 requests");
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_era_pool_initializes_and_deletes_sessions() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let a = RunArgs {
        protocol: Some("2025-11-25".into()),
        sessions: Some(3),
        rate: Some(60.0),
        duration: Some("1s".into()),
        mix: Some("echo=1".into()),
        ..args(&mock.url, dir.path())
    };
    let (exit, s) = run(a).await;
    assert_eq!(exit, Exit::Ok);
    assert_eq!(s["protocol"]["version"], "2025-11-25");
    assert_eq!(s["totals"]["counts"]["ok"], 60);
    let stats = mock.stats();
    assert!(stats.sessions_created >= 3, "pool of 3 sessions: {stats:?}");
    assert!(
        stats.deletes >= stats.sessions_created,
        "every session is DELETEd at the end: {stats:?}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_ceiling_is_never_exceeded_and_the_rest_is_counted_dropped() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ceiling.toml");
    std::fs::write(
        &config,
        r#"
[load]
rate = 300
duration = "1s"
seed = 11

[[mix]]
tool = "echo"
weight = 1
max_rate = 50
args = { message = "hi" }

[[mix]]
method = "tools/list"
weight = 1
"#,
    )
    .unwrap();
    let (_exit, s) = run(RunArgs {
        config: Some(config),
        ..args(&mock.url, dir.path())
    })
    .await;
    let echo = &op(&s, "echo")["totals"]["counts"];
    let sent = echo["ok"].as_u64().unwrap();
    let dropped = echo["dropped"].as_u64().unwrap();
    // Half of 300 slots go to echo (~150); it may send 50/s plus the limiter's 100 ms burst.
    assert!(
        sent + dropped >= 100,
        "echo got its share of the slots: {echo}"
    );
    assert!(
        (40..=60).contains(&sent),
        "echo held to its ceiling: {echo}"
    );
    assert!(dropped >= 40, "the rest is counted, not lost: {echo}");
    assert_eq!(
        mock.stats().calls_of("echo"),
        sent,
        "the server saw only what was sent"
    );
    assert_eq!(
        op(&s, "tools/list")["totals"]["counts"]["dropped"],
        0,
        "other operations are not held back"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_bounds_concurrency_and_its_wait_shows_as_lag() {
    // 50 ms per call at 100/s wants ~5 calls on the wire; 3 connections carry at most ~60/s, so
    // calls queue for a connection: nothing is lost, the server never sees more than 3 at once, and
    // the wait is schedule lag (latency from the intended send), not service time.
    let mock = support::mock(support::fixed_latency(std::time::Duration::from_millis(50))).await;
    let dir = tempfile::tempdir().unwrap();
    let (exit, s) = run(RunArgs {
        rate: Some(100.0),
        duration: Some("1s".into()),
        mix: Some("echo=1".into()),
        max_connections: Some(3),
        ..args(&mock.url, dir.path())
    })
    .await;
    assert_eq!(exit, Exit::Ok);
    assert_eq!(s["totals"]["counts"]["ok"], 100, "{}", s["totals"]);
    assert_eq!(mock.stats().calls_of("echo"), 100);
    let peak = mock.stats().peak_in_flight;
    assert!((1..=3).contains(&peak), "server saw {peak} calls at once");
    let lat = &op(&s, "echo")["latency"];
    let service_p99 = lat["service"]["p99_ms"].as_f64().unwrap();
    let corrected_max = lat["corrected"]["max_ms"].as_f64().unwrap();
    let lag_max = s["schedule"]["lag"]["max_ms"].as_f64().unwrap();
    assert!(
        service_p99 * 2.0 < corrected_max,
        "service time stays the server's: {lat}"
    );
    assert!(
        corrected_max > 300.0 && lag_max > 250.0,
        "the queue for a connection shows from the intended send: {lat} lag {}",
        s["schedule"]["lag"]
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_timeout_counts_from_the_intended_send() {
    // 50 ms per call at 100/s through one connection (~20/s): calls queue for the connection. A
    // 300 ms timeout counts from the intended send, so a call that waited 280 ms for the connection
    // times out 20 ms into its service, and no answered call is slower than the timeout.
    let mock = support::mock(support::fixed_latency(std::time::Duration::from_millis(50))).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = run(RunArgs {
        rate: Some(100.0),
        duration: Some("1s".into()),
        mix: Some("echo=1".into()),
        max_connections: Some(1),
        timeout: Some("300ms".into()),
        ..args(&mock.url, dir.path())
    })
    .await;
    let counts = &s["totals"]["counts"];
    let (ok, timeout) = (
        counts["ok"].as_u64().unwrap_or(0),
        counts["timeout"].as_u64().unwrap_or(0),
    );
    assert_eq!(ok + timeout, 100, "{counts}");
    assert!(timeout > 50, "most calls wait past the timeout: {counts}");
    let answered_max = s["latency"]["corrected"]["max_ms"]
        .as_f64()
        .unwrap_or(f64::MAX);
    assert!(
        answered_max <= 330.0,
        "answered within the timeout of the intended send: {}",
        s["latency"]
    );
    let failed = s["failed_latency"].as_array().expect("failed_latency");
    let t = failed
        .iter()
        .find(|f| f["kind"] == "timeout")
        .expect("timeouts timed apart");
    let p50 = t["latency"]["p50_ms"].as_f64().unwrap_or(0.0);
    assert!((300.0..400.0).contains(&p50), "timed to the timeout: {t}");
    assert!(
        s["errors"]["top_messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["message"]
                .as_str()
                .is_some_and(|t| t.contains("of the intended send")))),
        "{}",
        s["errors"]
    );
    mock.shutdown().await;
}
