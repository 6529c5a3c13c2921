//! Faults the soak must ride through, in process against the built-in mock on port 0: a stalled
//! server (seen in the corrected latency, the schedule kept), the in-flight cap (dropped slots), the
//! target restarted mid-run (counted, recovered, counts agree across summary, console and /metrics),
//! and 429 with `Retry-After` (http_error with its status visible).

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use mcp_soak::config::RunArgs;
use mcp_soak::engine::{self, Stop};
use mcp_soak::mock::{MockConfig, MockHandle, Stall};

use mcp_soak::record::{Recorder, RecorderSetup, RunInfo};
use mcp_soak::report::console;
use mcp_soak::report::summary::{self, RunMeta, Summary};
use mcp_soak::serve::{self, Readiness};

use support::{fixed_latency, get_text, mock, sum_by, wait_until};

fn args(url: &str, rate: f64, duration: &str, mix: &str) -> RunArgs {
    RunArgs {
        url: Some(url.to_owned()),
        rate: Some(rate),
        duration: Some(duration.to_owned()),
        mix: Some(mix.to_owned()),
        metrics_listen: Some("none".into()),
        quiet: true,
        ..RunArgs::default()
    }
}

/// What a finished in-process run produced.
struct Out {
    summary: Summary,
    console: String,
    metrics: String,
}

/// Runs `args` like `mcp-soak run` does (connect, resolve tools, record, drain), with a /metrics
/// server on port 0 that is scraped once the run is over.
async fn soak(args: RunArgs) -> Out {
    let mut plan = mcp_soak::config::load_with_env(&args, &HashMap::new()).expect("valid plan");
    let client = engine::connect(&plan).await.expect("connect");
    let tools = client.list_tools().await.expect("tools/list");
    plan.resolve_tools(&tools).expect("tools exist");
    let recorder = Recorder::new(RecorderSetup {
        op_names: plan.mix.ops.iter().map(|o| o.name.clone()).collect(),
        stages: mcp_soak::commands::run::stage_plans(&plan.load),
        slos: plan.slos.clone(),
        raw: None,
        run_info: RunInfo::default(),
    })
    .expect("recorder");
    let server = serve::serve(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        recorder.prometheus(),
        Readiness::new(),
    )
    .await
    .expect("metrics server");
    let stop = Stop::new();
    let fin = engine::run(
        plan,
        client,
        recorder.clone(),
        &stop,
        mcp_soak::schedule::control::idle(),
    )
    .await
    .expect("run");
    let summary = summary::build(&recorder.snapshot(), RunMeta::new(fin.started, fin.ended));
    let metrics = get_text(&format!("http://{}/metrics", server.addr())).await;
    server.shutdown().await;
    let mut console = Vec::new();
    console::write(&summary, &mut console).expect("console report");
    Out {
        summary,
        console: String::from_utf8_lossy(&console).into_owned(),
        metrics,
    }
}

/// The summary's counts equal /metrics' `mcp_soak_calls_total` by outcome, and the console shows the totals.
fn assert_counts_agree(out: &Out) {
    let by_outcome = sum_by(&out.metrics, "mcp_soak_calls_total", "outcome");
    let c = &out.summary.totals.counts;
    let expect = [
        ("ok", c.ok),
        ("tool_error", c.tool_error),
        ("rpc_error", c.rpc_error),
        ("http_error", c.http_error),
        ("timeout", c.timeout),
        ("connect", c.connect),
        ("protocol", c.protocol),
        ("session_expired", c.session_expired),
        ("dropped", c.dropped),
    ];
    let mut sum = 0;
    for (k, n) in expect {
        let m = by_outcome.get(k).copied().unwrap_or(0.0);
        assert_eq!(m, n as f64, "/metrics {k} = {m}, summary {n}");
        sum += n;
    }
    assert_eq!(sum, out.summary.totals.calls, "each call has one outcome");
    assert!(
        out.console
            .lines()
            .any(|l| l.contains("Calls scheduled")
                && l.contains(&out.summary.totals.calls.to_string())),
        "console shows {} calls:\n{}",
        out.summary.totals.calls,
        out.console
    );
}

/// Soaks a mock that stalls from 1 s to 3 s in, at 100 calls/s for 5 s with `max_in_flight`.
async fn soak_through_a_stall(max_in_flight: i64) -> (MockHandle, Out) {
    let mut cfg = MockConfig::default();
    cfg.faults.stall = Some(Stall {
        at: Duration::from_secs(1),
        duration: Duration::from_secs(2),
    });
    let m = mock(cfg).await;
    let mut a = args(&m.url, 100.0, "5s", "list_clusters=1");
    a.max_in_flight = Some(max_in_flight);
    let out = soak(a).await;
    (m, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_corrected_latency_while_the_schedule_keeps_going() {
    let (m, out) = soak_through_a_stall(2000).await;
    let s = &out.summary;
    let stats = m.stats();
    // The schedule never waited for the server: ~500 slots, none dropped with a high cap.
    assert!(
        (400..=560).contains(&s.totals.calls),
        "calls scheduled: {}",
        s.totals.calls
    );
    assert_eq!(s.totals.counts.dropped, 0);
    assert_eq!(s.totals.counts.ok, s.totals.calls, "{:?}", s.totals.counts);
    // Calls arriving during the stall ≈ rate × stall = 200 (generous: connect time shifts the window).
    assert!(
        (100..=300).contains(&stats.faults.stall),
        "calls that hit the stall: {}",
        stats.faults.stall
    );
    // The stall shows in the percentiles measured from the intended send time.
    let p99 = s.latency.corrected.p99_ms;
    assert!(p99 >= 1500.0, "corrected p99 {p99} ms");
    assert!(
        s.latency.corrected.max_ms >= 1800.0,
        "{:?}",
        s.latency.corrected
    );
    assert_counts_agree(&out);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_turns_a_stall_into_dropped_slots() {
    let (m, out) = soak_through_a_stall(20).await;
    let s = &out.summary;
    // ~200 slots fall in the stall; 20 of them can be in flight, the rest are dropped, not queued.
    assert!(
        s.totals.counts.dropped >= 100,
        "dropped: {:?}",
        s.totals.counts
    );
    assert!(
        m.stats().total_calls() <= s.totals.calls - s.totals.counts.dropped,
        "dropped slots never reach the server"
    );
    assert!(s.totals.counts.ok >= 200, "{:?}", s.totals.counts);
    let dropped_metric: f64 = out
        .metrics
        .lines()
        .find_map(|l| l.strip_prefix("mcp_soak_dropped_slots_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("mcp_soak_dropped_slots_total exported");
    assert_eq!(dropped_metric, s.totals.counts.dropped as f64);
    assert_counts_agree(&out);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_restarted_mid_run_is_counted_and_the_run_recovers() {
    let m = mock(MockConfig::default()).await;
    let addr = m.addr;
    let mut a = args(&m.url, 50.0, "8s", "list_clusters=1");
    a.timeout = Some("2s".into());
    a.sessions = Some(4);
    // The session era: the restart also forgets every session.
    a.protocol = Some("2025-11-25".into());
    let run = tokio::spawn(soak(a));

    // Let it run ~1 s, then take the target down for ~1 s and bring a new one up on the same port.
    wait_until(
        Duration::from_secs(30),
        "traffic to reach the first mock",
        || m.stats().total_calls() >= 50,
    )
    .await;
    let before = m.stats();
    m.shutdown().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut second = None;
    for _ in 0..100 {
        match mcp_soak::mock::spawn(MockConfig::default(), addr).await {
            Ok(h) => {
                second = Some(h);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let second = second.expect("a new mock binds the same port");
    let out = run.await.expect("run task");
    let s = &out.summary;
    let after = second.stats();

    // The outage is counted: refused connections, and the old sessions unknown to the new server.
    let outage =
        s.totals.counts.connect + s.totals.counts.session_expired + s.totals.counts.http_error;
    assert!(
        s.totals.counts.connect > 0 || s.totals.counts.session_expired > 0,
        "outage counted: {:?}",
        s.totals.counts
    );
    // The schedule was kept through the outage (~400 slots at 50/s for 8 s).
    assert!(s.totals.calls >= 300, "calls {}", s.totals.calls);
    // It recovered: the new server answered calls, on re-initialized sessions...
    assert!(after.total_calls() >= 100, "after restart: {after:?}");
    assert!(after.sessions_created >= 1);
    // ...and not as a thundering herd: a handful of sessions for a pool of 4.
    assert!(
        after.sessions_created <= 16,
        "sessions created after the restart: {}",
        after.sessions_created
    );
    assert!(
        s.totals.counts.ok
            >= before.total_calls() + after.total_calls() - outage.min(after.total_calls()),
        "ok {} vs mock calls {} + {}",
        s.totals.counts.ok,
        before.total_calls(),
        after.total_calls()
    );
    assert_counts_agree(&out);
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_with_retry_after_is_an_http_error_with_its_status_visible() {
    let mut cfg = fixed_latency(Duration::from_millis(1));
    cfg.faults.errors.http_429 = 0.3;
    cfg.faults.retry_after = Duration::from_secs(1);
    let m = mock(cfg).await;
    let out = soak(args(&m.url, 50.0, "3s", "list_clusters=1")).await;
    let s = &out.summary;
    let injected = m.stats().faults.http_429;
    assert!(injected > 10, "{:?}", m.stats().faults);
    assert_eq!(
        s.totals.counts.http_error, injected,
        "{:?}",
        s.totals.counts
    );
    // The schedule is kept (honor_retry_after is off): no slot dropped or paused.
    assert_eq!(s.totals.counts.dropped, 0);
    assert!(s.totals.calls >= 120, "calls {}", s.totals.calls);
    let by_status = sum_by(&out.metrics, "mcp_soak_http_errors_total", "status");
    assert_eq!(
        by_status.get("429").copied(),
        Some(injected as f64),
        "http errors by status: {by_status:?}"
    );
    let json = serde_json::to_string(&s.errors).expect("errors to JSON");
    assert!(
        json.contains("429"),
        "summary error breakdown shows 429: {json}"
    );
    assert!(
        out.console.contains("429"),
        "console shows 429:\n{}",
        out.console
    );
    assert_counts_agree(&out);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honor_retry_after_pauses_the_operation_and_counts_its_slots_as_dropped() {
    let mut cfg = MockConfig::default();
    cfg.faults.errors.http_429 = 0.3;
    cfg.faults.retry_after = Duration::from_secs(1);
    let m = mock(cfg).await;
    let mut a = args(&m.url, 50.0, "3s", "list_clusters=1");
    a.honor_retry_after = true;
    let out = soak(a).await;
    let s = &out.summary;
    // Slots are kept on the schedule (counted) but not sent while paused.
    assert!(s.totals.calls >= 120, "calls {}", s.totals.calls);
    assert!(s.totals.counts.dropped > 20, "{:?}", s.totals.counts);
    assert!(
        s.errors
            .top_messages
            .iter()
            .any(|e| e.message.contains("Retry-After")),
        "{:?}",
        s.errors.top_messages
    );
    let reached = m.stats().http_requests;
    assert!(
        s.totals.calls - s.totals.counts.dropped >= m.stats().total_calls(),
        "paused slots never reach the server ({reached} HTTP requests)"
    );
    assert_counts_agree(&out);
    m.shutdown().await;
}
