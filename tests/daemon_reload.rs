//! Reload on SIGHUP, through the binary: an invalid file and a change that cannot apply live are
//! refused with the running plan kept; a new SLO applies at once (the exported threshold and the
//! final verdict follow) while the counters go on from where they were; `GET /control/state` shows
//! where the run is and the SLOs judged now.
//!
//! The target is the built-in mock, in this test process on port 0; the binary runs as a child.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Soak, fixed_latency, get, get_text, mock, read_summary, wait_until};

fn config(url: &str, rate: u32, p95: &str) -> String {
    format!(
        "[target]\nurl = \"{url}\"\n\n[load]\nstages = [{{ rate = {rate}, duration = \"12s\" }}]\n\n\
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
    let mut soak = Soak::start(
        dir.path(),
        &[
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
        ],
        &[],
    );
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

    write(&cfg, &config(&m.url, 40, "10s"));
    soak.signal("HUP");
    logged(
        &soak,
        "cannot change live (restart the soak for it): load",
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
    logged(&soak, "reloaded: SLO objectives replaced", 1).await;
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
}
