//! Reload on SIGHUP, through the binary: an invalid file and a change that cannot apply live are
//! refused with the running plan kept; a new SLO applies at once (the exported threshold and the
//! final verdict follow) while the counters go on from where they were; a new rate applies as a
//! re-rate (the mock sees it), in a stepped load to the running stage, and stages appended to the
//! file are appended to the run; `GET /control/state` shows where the run is and the SLOs judged now.
//!
//! The target is the built-in mock, in this test process on port 0; the binary runs as a child.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Soak, fixed_latency, get, get_text, mock, read_summary, wait_until};

fn config(url: &str, rate: u32, p95: &str) -> String {
    config_for(url, rate, p95, "12s")
}

fn config_for(url: &str, rate: u32, p95: &str, duration: &str) -> String {
    format!(
        "[target]\nurl = \"{url}\"\n\n[load]\nstages = [{{ rate = {rate}, duration = \"{duration}\" }}]\n\n\
         [[mix]]\ntool = \"list_clusters\"\nweight = 1\n\n[[slo]]\np95 = \"{p95}\"\n"
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write config");
}

/// The exported p95 threshold of the whole run, as written on the page.
async fn p95_threshold(metrics: &str) -> String {
    let page = get_text(metrics).await;
    page.lines()
        .find(|l| l.starts_with("mcp_soak_slo_latency_p95_seconds{") && l.contains("tool=\"_all\""))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_else(|| panic!("no p95 threshold:\n{page}"))
        .to_owned()
}

/// Waits (10 s at most) for `mcp_soak_slo_failing` of the whole run's p95 to read `value`.
async fn wait_until_failing(metrics: &str, value: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = get_text(metrics).await;
        let now = page
            .lines()
            .find(|l| l.starts_with("mcp_soak_slo_failing{") && l.contains("p95_latency_ms"))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned);
        if now.as_deref() == Some(value) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mcp_soak_slo_failing is {now:?}, not {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET /control/state` as JSON.
async fn state(url: &str) -> serde_json::Value {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("state is JSON")
}

/// `mcp-soak run -c CFG` with its metrics on an ephemeral port and its summary at `summary`.
fn start(dir: &Path, cfg: &Path, summary: &Path) -> Soak {
    let args = [
        "run",
        "-c",
        cfg.to_str().expect("utf-8"),
        "--protocol",
        "2025-11-25",
        "--metrics-listen",
        "127.0.0.1:0",
        "--quiet",
        "--summary",
        summary.to_str().expect("utf-8"),
    ];
    Soak::start(dir, &args, &[])
}

/// Waits for the `n`th stderr line containing `what`.
async fn logged(soak: &Soak, what: &str, n: usize) {
    wait_until(Duration::from_secs(30), what, || {
        soak.stderr_plain().matches(what).count() >= n
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_new_slos_and_refuses_bad_files_and_live_load_changes() {
    let m = mock(fixed_latency(Duration::from_millis(20))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soak.toml");
    let summary = dir.path().join("summary.json");
    // 1 ms cannot hold against 20 ms of latency: without the reload the verdict is "failed".
    write(&cfg, &config(&m.url, 20, "1ms"));
    let mut soak = start(dir.path(), &cfg, &summary);
    let addr = soak.metrics_addr().await;
    let metrics = format!("http://{addr}/metrics");
    let control = format!("http://{addr}/control/state");
    wait_until(Duration::from_secs(30), "calls to reach the mock", || {
        m.stats().total_calls() >= 10
    })
    .await;
    let before = state(&control).await;
    assert_eq!(before["position"]["stage"], 1, "{before}");
    assert!(before["position"]["elapsed_s"].as_f64().expect("elapsed") > 0.0);
    assert!(before["calls"].as_u64().expect("calls") >= 1, "{before}");

    wait_until_failing(&metrics, "1").await;

    write(&cfg, "[load\nstages = ");
    soak.signal("HUP");
    logged(&soak, "reload refused: the config is invalid", 1).await;

    // A new SLO beside a new target: nothing of it applies.
    write(&cfg, &config("http://127.0.0.1:9/mcp", 20, "10s"));
    soak.signal("HUP");
    logged(
        &soak,
        "cannot change live (restart the soak for it): target.url",
        1,
    )
    .await;
    assert_eq!(
        p95_threshold(&metrics).await,
        "0.001",
        "a refused reload changes nothing"
    );

    write(&cfg, &config(&m.url, 20, "10s"));
    soak.signal("HUP");
    logged(&soak, "reloaded: applied live", 1).await;
    assert_eq!(
        p95_threshold(&metrics).await,
        "10",
        "the new threshold is exported"
    );
    // The live judgment follows the reloaded SLO: 20 ms is well within 10 s.
    wait_until_failing(&metrics, "0").await;
    let after = state(&control).await;
    assert_eq!(after["slos"].as_array().map(Vec::len), Some(1));
    assert_ne!(
        after["slos"], before["slos"],
        "the state shows the reloaded SLO"
    );
    assert!(
        after["calls"].as_u64() >= before["calls"].as_u64(),
        "counters go on: {before} then {after}"
    );

    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "the reloaded SLO holds:\n{}",
        soak.stderr()
    );
    let s = read_summary(&summary);
    assert_eq!(s["slo_passed"], true);
    assert_eq!(s["slos"][0]["target"], 10000.0, "{}", s["slos"]);
    // Nothing was reset and the refused rate never applied: 20/s for 12 s.
    assert_eq!(s["totals"]["calls"], 240, "{}", s["totals"]);
    assert_eq!(s["stages"].as_array().map(Vec::len), Some(1));
    let events = s["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "only the applied reload: {events:?}");
    assert_eq!(
        (events[0]["action"].as_str(), events[0]["source"].as_str()),
        (Some("slos"), Some("reload"))
    );
}

/// Calls the mock received over `window`.
async fn calls_in(m: &mcp_soak::mock::MockHandle, window: Duration) -> u64 {
    let start = m.stats().total_calls();
    tokio::time::sleep(window).await;
    m.stats().total_calls() - start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rerates_a_running_soak_and_refuses_a_new_duration() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soak.toml");
    let summary = dir.path().join("summary.json");
    write(&cfg, &config_for(&m.url, 10, "10s", "90s"));
    let mut soak = start(dir.path(), &cfg, &summary);
    soak.metrics_addr().await;
    wait_until(Duration::from_secs(30), "calls to reach the mock", || {
        m.stats().total_calls() >= 5
    })
    .await;
    let before = calls_in(&m, Duration::from_secs(3)).await;

    write(&cfg, &config_for(&m.url, 10, "10s", "91s"));
    soak.signal("HUP");
    logged(
        &soak,
        "cannot change live (restart the soak for it): load.duration",
        1,
    )
    .await;

    write(&cfg, &config_for(&m.url, 50, "10s", "90s"));
    soak.signal("HUP");
    logged(&soak, "reloaded: applied live", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = calls_in(&m, Duration::from_secs(3)).await;
    assert!((15..=60).contains(&before), "10/s over 3 s: {before}");
    assert!(
        (90..=240).contains(&after),
        "50/s over 3 s after the reload: {after}"
    );

    soak.signal("INT");
    soak.wait(Duration::from_secs(60)).await;
    let s = read_summary(&summary);
    let events = s["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["action"], "rate");
    assert_eq!(events[0]["source"], "reload");
    assert_eq!(events[0]["to"], "50/s");
}

/// A stepped load: `(rate, duration)` per stage.
fn stepped(url: &str, stages: &[(u32, &str)]) -> String {
    let list: Vec<String> = stages
        .iter()
        .map(|(r, d)| format!("{{ rate = {r}, duration = \"{d}\" }}"))
        .collect();
    format!(
        "[target]\nurl = \"{url}\"\n\n[load]\nstages = [{}]\n\n[[mix]]\ntool = \"list_clusters\"\nweight = 1\n",
        list.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rerates_the_running_stage_and_appends_stages_of_a_stepped_load() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("soak.toml");
    let summary = dir.path().join("summary.json");
    // Stage 1 is long: the test stops the run in it.
    write(&cfg, &stepped(&m.url, &[(10, "120s"), (5, "2s")]));
    let mut soak = start(dir.path(), &cfg, &summary);
    soak.metrics_addr().await;
    wait_until(Duration::from_secs(30), "calls to reach the mock", || {
        m.stats().total_calls() >= 5
    })
    .await;

    // A stage that is not running cannot change: refused, nothing applies.
    write(&cfg, &stepped(&m.url, &[(10, "120s"), (7, "2s")]));
    soak.signal("HUP");
    logged(
        &soak,
        "cannot change live (restart the soak for it): load.stages",
        1,
    )
    .await;

    // The running stage's rate and a stage appended: both apply.
    write(
        &cfg,
        &stepped(&m.url, &[(50, "120s"), (5, "2s"), (30, "1s")]),
    );
    soak.signal("HUP");
    logged(&soak, "reloaded: applied live", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = calls_in(&m, Duration::from_secs(3)).await;
    assert!((90..=240).contains(&after), "50/s over 3 s: {after}");

    soak.signal("INT");
    soak.wait(Duration::from_secs(60)).await;
    let s = read_summary(&summary);
    let rows = s["stages"].as_array().expect("stages");
    let rates: Vec<f64> = rows
        .iter()
        .map(|r| r["target_rate"].as_f64().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(
        rates,
        [50.0, 5.0, 30.0],
        "the rate in force; the appended stage"
    );
    let events = support::events(&s);
    assert_eq!(events, [("append", "reload"), ("rate", "reload")]);
}
