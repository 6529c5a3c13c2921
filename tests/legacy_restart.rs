//! Legacy HTTP+SSE survives a server restart (server-everything in `sse` mode): a call pending on
//! the dying stream ends as `connect`, calls while the server is down fail fast as `connect`, and
//! the stream is re-opened (new session) once the server is back — for the client alone and for a
//! whole `mcp-soak run` restarted mid-run, like the Streamable HTTP test in reliability_faults.

mod mcp_common;
mod support;

use std::time::{Duration, Instant};

use mcp_common::{config, everything, everything_on};
use mcp_soak::mcp::{McpClient, McpRequest, OutcomeKind, ProtocolChoice, Transport};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_stream_is_reopened_after_a_server_restart() {
    let (server, port) = everything("sse");
    let mut cfg = config(format!("http://127.0.0.1:{port}/sse"), ProtocolChoice::Auto);
    cfg.transport = Transport::LegacySse;
    cfg.sessions = 1;
    cfg.timeout = Duration::from_secs(10);
    let client = McpClient::connect(cfg).await.expect("connect legacy");
    let ping = client.call(&McpRequest::Ping, false).await;
    assert_eq!(ping.kind, OutcomeKind::Ok, "{ping:?}");

    // A call in flight when the server dies: its reply can never come on the dead stream.
    let c2 = client.clone();
    let pending = tokio::spawn(async move {
        let req = McpRequest::ToolsCall {
            name: "trigger-long-running-operation".into(),
            arguments: json!({"duration": 8, "steps": 4}),
        };
        c2.call(&req, false).await
    });
    // Nothing tells when the POST was accepted: give it 2 s (the operation runs 8 s, so the call
    // is still pending then), not 500 ms, which a loaded machine can spend before sending it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    drop(server);
    let out = pending.await.expect("join");
    assert_eq!(out.kind, OutcomeKind::Connect, "{out:?}");
    assert!(
        out.detail
            .as_deref()
            .is_some_and(|d| d.contains("closed before the reply")),
        "{out:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the pending call ended with the stream, not at its timeout"
    );

    // Down: every call fails fast as `connect`.
    for _ in 0..3 {
        let t = Instant::now();
        let down = client.call(&McpRequest::Ping, false).await;
        assert_eq!(down.kind, OutcomeKind::Connect, "{down:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "{down:?}");
    }

    // Back on the same port: within the backoff (≤ 5 s) a call re-opens the stream.
    let _restarted = tokio::task::spawn_blocking(move || everything_on("sse", port))
        .await
        .expect("join");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < deadline {
        let o = client.call(&McpRequest::Ping, false).await;
        if o.kind == OutcomeKind::Ok {
            last = None;
            break;
        }
        last = Some(o);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.is_none(), "never recovered: {last:?}");
    let echo = client
        .call(
            &McpRequest::ToolsCall {
                name: "echo".into(),
                arguments: json!({"message": "back"}),
            },
            false,
        )
        .await;
    assert_eq!(echo.kind, OutcomeKind::Ok, "{echo:?}");
    let s = client.session_stats();
    assert_eq!((s.expired, s.initialized, s.active), (1, 2, 1), "{s:?}");
    client.shutdown().await;
}

/// `outcome`'s count on the run's `/metrics` page at `addr`.
async fn calls(addr: &str, outcome: &str) -> u64 {
    support::calls_total(
        &support::get_text(&format!("http://{addr}/metrics")).await,
        outcome,
    )
}

/// Polls `addr`'s `/metrics` (bounded) until `outcome` reaches `at_least`.
async fn wait_for_calls(addr: &str, outcome: &str, at_least: u64, soak: &support::Soak) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while calls(addr, outcome).await < at_least {
        assert!(
            Instant::now() < deadline,
            "never {at_least} `{outcome}` calls:\n{}",
            soak.stderr_plain()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_target_restarted_mid_run_is_counted_and_the_run_recovers() {
    // Each step waits for what the run shows on /metrics, not for a fixed time: how long mcp-soak
    // and Node take to start, and so when the client's backoff next retries, varies with the load.
    let (server, port) = everything("sse");
    let url = format!("http://127.0.0.1:{port}/sse");
    let (mut soak, summary) = support::start_run(
        &url,
        "--transport legacy-sse --sessions 2 --timeout 3s --mix echo=1 --rate 20 --duration 10m \
         --metrics-listen 127.0.0.1:0 --linger 0s --quiet",
    );
    let addr = soak.metrics_addr().await;
    wait_for_calls(&addr, "ok", 20, &soak).await;
    drop(server);
    wait_for_calls(&addr, "connect", 1, &soak).await;
    let _restarted = tokio::task::spawn_blocking(move || everything_on("sse", port))
        .await
        .expect("join");
    // Recovered, then 4 s (80 calls at 20/s) of answered calls: the last two 1 s points are clean.
    let ok_at_restart = calls(&addr, "ok").await;
    wait_for_calls(&addr, "ok", ok_at_restart + 80, &soak).await;
    soak.signal("TERM");
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    let s = support::read_summary(&summary);
    let counts = &s["totals"]["counts"];
    assert!(
        counts["connect"].as_u64() > Some(0),
        "outage counted: {counts}"
    );
    // The schedule was kept through the outage: ~20 slots a second of the run.
    let slots = 20.0 * s["duration_s"].as_f64().expect("duration_s");
    let scheduled = s["totals"]["calls"].as_u64().expect("calls") as f64;
    assert!(
        scheduled >= 0.8 * slots,
        "{scheduled} calls in {} s: {}",
        s["duration_s"],
        s["totals"]
    );
    // It recovered: the last seconds of the run are answered.
    let timeline = s["timeline"].as_array().expect("timeline");
    let tail = &timeline[timeline.len().saturating_sub(2)..];
    for b in tail {
        assert!(
            b["calls"].as_u64() > Some(0) && b["errors"] == 0,
            "not recovered by the end: {timeline:?}"
        );
    }
    assert!(
        s["sessions"]["initialized"].as_u64() >= Some(3),
        "{}",
        s["sessions"]
    );
}
