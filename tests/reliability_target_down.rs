//! "Target down at start" (issue 7): without `--require-target` the run keeps its schedule, counts
//! every slot due while not connected as `connect`, reports `/readyz` 503 until connected, and
//! retries the connection in the background; the target may come up mid-run.
//!
//! The binary runs as a child process; the target is the built-in mock on a loopback port the test
//! holds bound but not listening (connections refused) until the mock listens on that very socket.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcp_soak::mock::MockConfig;

use support::{ClosedPort, Soak, calls_total, get, read_summary, start_run, wait_until};

/// The count of `outcome` in a summary's totals.
fn count(s: &serde_json::Value, outcome: &str) -> u64 {
    s["totals"]["counts"][outcome]
        .as_u64()
        .unwrap_or_else(|| panic!("count {outcome} in {}", s["totals"]))
}

/// Starts `mcp-soak run --url http://127.0.0.1:PORT/mcp ARGS` (see `start_run`) against a port held
/// closed: nothing listens there (yet). Returns the port, the child and the summary's path.
fn start_against_a_closed_port(args: &str) -> (ClosedPort, Soak, PathBuf) {
    let port = ClosedPort::new();
    let url = format!("http://127.0.0.1:{}/mcp", port.port());
    let (soak, summary) = start_run(&url, args);
    (port, soak, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_down_for_the_whole_run_counts_every_call_as_connect() {
    let (port, mut soak, summary) = start_against_a_closed_port(
        "--mix list_clusters=1 --rate 10 --duration 3s --metrics-listen 127.0.0.1:0 --linger 0s \
         --quiet --slo errors=1%",
    );
    let addr = soak.metrics_addr().await;
    // Alive but not ready: the target was never reached.
    let (healthz, _) = get(&format!("http://{addr}/healthz")).await;
    assert_eq!(healthz, 200);
    let (readyz, _) = get(&format!("http://{addr}/readyz")).await;
    assert_eq!(readyz, 503, "not ready while the target is down");
    // The schedule runs: connect errors are counted live.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, page) = get(&format!("http://{addr}/metrics")).await;
        if calls_total(&page, "connect") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no connect errors exported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let st = soak.wait(Duration::from_secs(60)).await;
    // Never reached for the whole run: could not start (3), whatever the SLOs say.
    assert_eq!(st.code(), Some(3), "stderr:\n{}", soak.stderr_plain());
    let stderr = soak.stderr_plain();
    assert!(
        stderr.contains("target down at start")
            && stderr.contains(&format!("127.0.0.1:{}", port.port())),
        "a warning names the target:\n{stderr}"
    );
    let s = read_summary(&summary);
    assert_eq!(s["stop_reason"], "completed");
    let calls = s["totals"]["calls"].as_u64().expect("calls");
    // 10/s for 3 s: 30 slots (generous bounds for a loaded machine).
    assert!((20..=40).contains(&calls), "calls {calls}");
    assert_eq!(count(&s, "connect"), calls, "every call is `connect`");
    assert_eq!(count(&s, "ok"), 0);
    assert!(
        s["protocol"]["version"].is_null(),
        "no negotiated protocol: {}",
        s["protocol"]
    );
    let detail = s.to_string();
    assert!(
        detail.contains("not connected: "),
        "errors say why: {}",
        s["errors"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_coming_up_mid_run_flips_readyz_and_calls_go_out() {
    let (port, mut soak, summary) = start_against_a_closed_port(
        "--mix list_clusters=1 --rate 20 --duration 8s --metrics-listen 127.0.0.1:0 --linger 60s \
         --quiet",
    );
    let addr = soak.metrics_addr().await;
    let (readyz, _) = get(&format!("http://{addr}/readyz")).await;
    assert_eq!(readyz, 503, "not ready before the target is up");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let m = port.mock(MockConfig::default()).await;

    // The connector's backoff is 0.5 s doubling: it reaches the mock within seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (readyz, _) = get(&format!("http://{addr}/readyz")).await;
        if readyz == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never became 200:\n{}",
            soak.stderr_plain()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(soak.stderr_plain().contains("connected"));

    // The run ends at its planned end; /metrics lingers for a final scrape.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !soak.stderr_plain().contains("summary written") {
        assert!(
            Instant::now() < deadline,
            "no summary written:\n{}",
            soak.stderr_plain()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, page) = get(&format!("http://{addr}/metrics")).await;
    soak.signal("INT"); // ends the linger
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "no SLO set: exit 0\n{}",
        soak.stderr_plain()
    );

    let s = read_summary(&summary);
    let (connect, ok) = (count(&s, "connect"), count(&s, "ok"));
    assert!(connect > 0, "early calls are `connect`: {}", s["totals"]);
    assert!(ok > 0, "later calls are `ok`: {}", s["totals"]);
    assert_eq!(
        connect + ok,
        s["totals"]["calls"].as_u64().expect("calls"),
        "nothing else happened: {}",
        s["totals"]
    );
    // Summary and /metrics agree, and the mock saw every `ok` call.
    assert_eq!(calls_total(&page, "connect"), connect);
    assert_eq!(calls_total(&page, "ok"), ok);
    assert_eq!(m.stats().total_calls(), ok, "{:?}", m.stats());
    assert!(
        s["protocol"]["version"].is_string(),
        "the negotiated protocol is reported: {}",
        s["protocol"]
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_target_whose_tools_do_not_fit_the_mix_stops_the_run_with_exit_2() {
    let (port, mut soak, summary) = start_against_a_closed_port(
        "--mix no_such_tool=1 --rate 10 --duration 10m --metrics-listen none --quiet",
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = port.mock(MockConfig::default()).await;
    let st = soak.wait(Duration::from_secs(60)).await;
    let stderr = soak.stderr_plain();
    assert_eq!(st.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("no_such_tool"), "names the tool:\n{stderr}");
    let s = read_summary(&summary);
    assert_eq!(s["stop_reason"], "mix_mismatch");
    assert_eq!(count(&s, "ok"), 0);
    assert_eq!(m.stats().total_calls(), 0, "no tools/call was sent");
    m.shutdown().await;
}

/// A late target that refuses every initialize (503 "Too many open sessions", a server at its
/// session cap): the run never connects, and every refused attempt of the background connector is
/// counted in `sessions.refused`, as the session pool counts its own, so the soak reads "capped".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_target_refusing_every_initialize_counts_the_refusals() {
    let (port, mut soak, summary) = start_against_a_closed_port(
        // A pinned session-era revision: no `server/discover` probe, which the mock's cap refuses too.
        "--mix list_clusters=1 --rate 10 --duration 4s --metrics-listen none --quiet \
         --protocol 2025-11-25",
    );
    // Up only after the run's first connect found it down (a refusal then is exit 3 at once).
    wait_until(Duration::from_secs(30), "the target-down warning", || {
        soak.stderr_plain().contains("target down at start")
    })
    .await;
    let m = port
        .mock(MockConfig {
            max_sessions: Some(0),
            ..MockConfig::default()
        })
        .await;
    let st = soak.wait(Duration::from_secs(60)).await;
    let stderr = soak.stderr_plain();
    assert_eq!(st.code(), Some(3), "never connected:\n{stderr}");
    let s = read_summary(&summary);
    let refused = s["sessions"]["refused"].as_u64().expect("sessions.refused");
    // The connector retries within 0.5 s, then backs off: at least two attempts in 4 s.
    assert!(refused >= 2, "refusals counted: {}", s["sessions"]);
    assert_eq!(
        refused,
        m.stats().sessions_refused,
        "every refusal the mock sent is counted, and nothing else: {}",
        s["sessions"]
    );
    assert_eq!(s["sessions"]["initialized"], 0);
    assert_eq!(count(&s, "ok"), 0);
    m.shutdown().await;
}
