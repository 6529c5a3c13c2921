//! The leak verdict end to end: a run against the mock with a fake server `/metrics` beside it,
//! leaking (resident memory +1 MB a scrape), healthy (flat), or broken (not Prometheus text). The
//! memory SLO sets the exit code; a source that cannot be read is "not measured", never a pass.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mcp_soak::commands::Exit;
use mcp_soak::commands::run::execute;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::engine::Stop;
use mcp_soak::mock::{MockConfig, spawn};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Body {
    Leaking,
    Flat,
    Html,
}

/// A server's `/metrics` on port 0; returns its URL.
async fn fake_metrics(body: Body) -> String {
    let scrapes = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = scrapes.fetch_add(1, Ordering::Relaxed);
            async move {
                match body {
                    Body::Leaking | Body::Flat => {
                        let grow = if matches!(body, Body::Leaking) { n } else { 0 };
                        format!(
                            "# TYPE process_resident_memory_bytes gauge\n\
                             process_resident_memory_bytes {}\n\
                             process_open_fds 12\n\
                             process_cpu_seconds_total {}\n\
                             app_sessions{{pool=\"a\"}} {n}\n",
                            100_000_000 + grow * 1_000_000,
                            n as f64 * 0.01
                        )
                    }
                    Body::Html => "<html>sign in</html>".to_owned(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/metrics")
}

async fn soak(dir: &Path, target_extra: &str) -> (Exit, Value) {
    soak_with(dir, MockConfig::default(), |_| target_extra.to_owned()).await
}

/// A 2 s run at 20 calls/s against a mock built from `mock_cfg`; `target_extra` gets the mock's
/// MCP URL and returns the `[target]` lines to add.
async fn soak_with(
    dir: &Path,
    mock_cfg: MockConfig,
    target_extra: impl FnOnce(&str) -> String,
) -> (Exit, Value) {
    soak_sessions(dir, mock_cfg, None, target_extra).await
}

async fn soak_sessions(
    dir: &Path,
    mock_cfg: MockConfig,
    strategy: Option<&str>,
    target_extra: impl FnOnce(&str) -> String,
) -> (Exit, Value) {
    let mock = spawn(mock_cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    let out = soak_url(dir, &mock.url, strategy, target_extra(&mock.url)).await;
    mock.shutdown().await;
    out
}

/// A 2 s run at 20 calls/s against the MCP server at `url`.
async fn soak_url(
    dir: &Path,
    url: &str,
    strategy: Option<&str>,
    target_extra: String,
) -> (Exit, Value) {
    let cfg = dir.join("soak.toml");
    std::fs::write(
        &cfg,
        format!(
            "[target]\nmetrics_interval = \"100ms\"\n{target_extra}\n\
             [soak]\nwarmup = \"0s\"\nmax_memory_growth = \"50MB/h\"\n"
        ),
    )
    .expect("config written");
    let args = RunArgs {
        config: Some(cfg),
        url: Some(url.to_owned()),
        metrics_listen: Some("none".into()),
        quiet: true,
        rate: Some(20.0),
        duration: Some("2s".into()),
        mix: Some("echo=1".into()),
        summary: Some(dir.join("summary.json")),
        // Session profiles need the session era (the mock negotiates the stateless one by default).
        protocol: strategy.map(|_| "2025-11-25".to_owned()),
        session_strategy: strategy.map(str::to_owned),
        ..RunArgs::default()
    };
    run(args, dir).await
}

/// Runs `args` (whose summary goes to `dir/summary.json`); the exit and the summary.
async fn run(args: RunArgs, dir: &Path) -> (Exit, Value) {
    let plan = load_with_env(&args, &HashMap::new()).expect("valid plan");
    let exit = execute(plan, &Stop::new()).await.expect("run completes");
    let s = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
        .expect("JSON");
    (exit, s)
}

/// `mcp-soak mock --config <cfg>` in its own process on a free port (its resident memory is its own,
/// not shared with the tests running beside it); returns the child (killed on drop) and its MCP URL,
/// read from its "listening" log line.
struct MockProcess {
    child: std::process::Child,
    url: String,
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mock_process(dir: &Path, config: &str) -> MockProcess {
    use std::io::BufRead;
    let cfg = dir.join("mock.toml");
    std::fs::write(&cfg, config).expect("mock config");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-soak"))
        .args(["mock", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mock starts");
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err) as Box<dyn std::io::Read + Send>,
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(at) = line.find("url=") {
                    let url: String = line[at + 4..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(url);
                }
            }
        });
    }
    let url = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the mock logs its URL");
    MockProcess { child, url }
}

fn memory_slo(s: &Value) -> &Value {
    s["slos"]
        .as_array()
        .expect("slos")
        .iter()
        .find(|v| v["objective"] == "max_memory_growth_bytes_per_hour")
        .expect("memory SLO verdict")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaking_server_fails_its_memory_slo_with_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake_metrics(Body::Leaking).await;
    let extra = format!("metrics_url = \"{url}\"\nmetrics_series = [\"app_sessions\"]");
    let (exit, s) = soak(dir.path(), &extra).await;
    assert_eq!(exit, Exit::SloFailed);
    let mem = &s["soak"]["memory"];
    assert_eq!(mem["status"], "measured", "{mem}");
    // +1 MB every ~100 ms scrape: ~36 GB/h, far above 50 MB/h, whatever the machine's jitter.
    let per_hour = mem["per_hour"].as_f64().expect("rate");
    assert!(per_hour > 5e9, "{per_hour}");
    assert!(mem["samples"].as_u64().expect("samples") >= 5);
    assert_eq!(s["soak"]["open_fds"]["per_hour"], 0.0);
    let slo = memory_slo(&s);
    assert_eq!(slo["passed"], false);
    assert_eq!(slo["measured"].as_f64(), Some(per_hour));
    // The named series is kept beside the defaults.
    let samples = s["soak"]["samples"].as_array().expect("samples");
    assert!(
        samples[0]["values"]["app_sessions"].is_number(),
        "{}",
        samples[0]
    );
    assert!(samples[0]["values"]["resident_bytes"].is_number());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flat_server_passes() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake_metrics(Body::Flat).await;
    let (exit, s) = soak(dir.path(), &format!("metrics_url = \"{url}\"")).await;
    assert_eq!(exit, Exit::Ok, "{}", s["slos"]);
    assert_eq!(s["soak"]["memory"]["per_hour"], 0.0);
    assert_eq!(memory_slo(&s)["passed"], true);
    // The effective config says where the resources came from and which limits applied.
    assert_eq!(s["config"]["target"]["resources"], url.as_str());
    assert_eq!(s["config"]["soak"]["max_memory_growth_bytes_per_hour"], 5e7);
    // Drift is reported even without a limit: first second against the last.
    let drift = &s["soak"]["drift"];
    assert_eq!(drift["status"], "measured", "{drift}");
    assert!(drift["first_p95_ms"].as_f64() > Some(0.0));
}

/// A server that caps its sessions (503 -32603 "Too many open sessions" past the cap, like the PyPI
/// `mcp` server) stops growing at the cap: under `abandon` its flat memory line is "capped", not
/// healthy, and the memory SLO fails with that reason. Without the cap the same flat line passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cap_is_capped_not_healthy() {
    let flat = fake_metrics(Body::Flat).await;
    let extra = |_: &str| format!("metrics_url = \"{flat}\"");

    let dir = tempfile::tempdir().unwrap();
    let mock = spawn(
        MockConfig {
            max_sessions: Some(5),
            ..MockConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("mock starts");
    let (exit, s) = soak_url(dir.path(), &mock.url, Some("abandon"), extra(&mock.url)).await;
    let seen = mock.stats();
    mock.shutdown().await;
    // 40 calls, at most 5 sessions open (the DELETEd start-up sessions let as many more in): every
    // initialize past that was refused, and the client counted exactly what the server refused.
    let refused = s["sessions"]["refused"].as_u64().expect("refused");
    assert!(refused >= 10, "{}", s["sessions"]);
    assert_eq!(refused, seen.sessions_refused, "{seen:?}");
    assert!(seen.sessions_created <= 5 + seen.deletes, "{seen:?}");
    assert_eq!(s["soak"]["capped"], true);
    let mem = &s["soak"]["memory"];
    assert_eq!(mem["status"], "not_measured", "{mem}");
    let reason = mem["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(&format!("capped: the server refused {refused} of ")),
        "{reason}"
    );
    assert!(reason.contains("a session cap hides a leak"), "{reason}");
    let slo = memory_slo(&s);
    assert_eq!(slo["passed"], false, "{slo}");
    assert_eq!(slo["reason"], format!("not measured: {reason}"));
    assert_eq!(exit, Exit::SloFailed);

    let dir = tempfile::tempdir().unwrap();
    let (exit, s) = soak_sessions(dir.path(), MockConfig::default(), Some("abandon"), extra).await;
    assert_eq!(s["sessions"]["refused"], 0, "{}", s["sessions"]);
    assert_eq!(s["soak"]["capped"], false);
    assert_eq!(memory_slo(&s)["passed"], true, "{}", s["soak"]);
    assert_eq!(exit, Exit::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_source_is_not_measured_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let url = fake_metrics(Body::Html).await;
    let (exit, s) = soak(dir.path(), &format!("metrics_url = \"{url}\"")).await;
    assert_eq!(exit, Exit::SloFailed);
    let mem = &s["soak"]["memory"];
    assert_eq!(mem["status"], "not_measured");
    assert!(
        mem["reason"]
            .as_str()
            .expect("reason")
            .contains("not a Prometheus text exposition"),
        "{mem}"
    );
    // The reason names the config key to fix.
    assert!(
        mem["reason"]
            .as_str()
            .is_some_and(|r| r.contains("target.metrics_url")),
        "{mem}"
    );
    assert!(s["soak"]["sample_failures"]["not_prometheus"].as_u64() >= Some(5));
    let slo = memory_slo(&s);
    assert_eq!(slo["passed"], false);
    assert!(
        slo["reason"]
            .as_str()
            .expect("reason")
            .starts_with("not measured")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_pid_is_sampled_from_proc() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, s) = soak(dir.path(), &format!("pid = {}", std::process::id())).await;
    assert_eq!(s["soak"]["source"], format!("pid {}", std::process::id()));
    assert_eq!(
        s["soak"]["memory"]["status"], "measured",
        "{}",
        s["soak"]["memory"]
    );
    let first = &s["soak"]["samples"][0]["values"];
    assert!(first["threads"].as_f64() >= Some(1.0) && first["open_fds"].as_f64() > Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_leaking_per_call_is_caught_from_its_own_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mock = mock_process(dir.path(), "[leak]\nper_call = 1000000\n");
    let extra = format!(
        "metrics_url = \"{}\"\nmetrics_series = [\"mcp_mock_leaked_bytes\"]",
        mock.url.replace("/mcp", "/metrics")
    );
    let (exit, s) = soak_url(dir.path(), &mock.url, None, extra).await;
    assert_eq!(exit, Exit::SloFailed, "{}", s["soak"]);
    // 20 calls/s × 1 MB of the mock's own resident memory: ~72 GB/h.
    let per_hour = s["soak"]["memory"]["per_hour"].as_f64().expect("measured");
    assert!(per_hour > 1e10, "{per_hour}");
    let last = s["soak"]["samples"]
        .as_array()
        .expect("samples")
        .last()
        .cloned()
        .expect("one");
    assert!(
        last["values"]["mcp_mock_leaked_bytes"].as_f64() >= Some(30e6),
        "{last}"
    );
    assert_eq!(memory_slo(&s)["passed"], false);
}

/// `abandon` opens a session per call and never DELETEs it: a server that keeps memory per session
/// grows with every call; `pooled` holds a fixed few.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_sessions_grow_the_server_and_pooled_ones_do_not() {
    let leaky = "[leak]\nper_session = 1000000\n";
    let metrics = |mcp_url: &str| {
        format!(
            "metrics_url = \"{}\"\nmetrics_series = [\"mcp_mock_leaky_sessions\"]",
            mcp_url.replace("/mcp", "/metrics")
        )
    };
    let last_sessions = |s: &Value| {
        let samples = s["soak"]["samples"].as_array().expect("samples");
        samples.last().expect("sampled")["values"]["mcp_mock_leaky_sessions"]
            .as_f64()
            .expect("series")
    };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock_process(dir.path(), leaky);
    let (exit, abandoned) =
        soak_url(dir.path(), &mock.url, Some("abandon"), metrics(&mock.url)).await;
    drop(mock);
    assert_eq!(exit, Exit::SloFailed, "{}", abandoned["soak"]);
    assert!(
        last_sessions(&abandoned) >= 30.0,
        "{}",
        last_sessions(&abandoned)
    );
    assert!(abandoned["soak"]["memory"]["per_hour"].as_f64() > Some(5e9));

    let dir = tempfile::tempdir().unwrap();
    let mock = mock_process(dir.path(), leaky);
    let (exit, pooled) = soak_url(dir.path(), &mock.url, Some("pooled"), metrics(&mock.url)).await;
    drop(mock);
    assert!(last_sessions(&pooled) <= 16.0, "{}", last_sessions(&pooled));
    // The pool's few sessions were opened before the first sample: nothing grows after.
    assert_eq!(exit, Exit::Ok, "{}", pooled["soak"]);
}

/// A stdio target: the server processes mcp-soak started are sampled by default (no metrics_url or
/// pid), and a mock leaking per call in its own process is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_is_sampled_from_the_processes_mcp_soak_started() {
    let dir = tempfile::tempdir().unwrap();
    let mock_cfg = dir.path().join("mock.toml");
    std::fs::write(&mock_cfg, "[leak]\nper_call = 1000000\n").expect("mock config");
    let cfg = dir.path().join("soak.toml");
    std::fs::write(
        &cfg,
        format!(
            "[target]\ncommand = [{:?}, \"mock\", \"--stdio\", \"--config\", {:?}]\n\
             metrics_interval = \"100ms\"\n[soak]\nwarmup = \"0s\"\nmax_memory_growth = \"50MB/h\"\n",
            env!("CARGO_BIN_EXE_mcp-soak"),
            mock_cfg.display().to_string()
        ),
    )
    .expect("config written");
    let args = RunArgs {
        config: Some(cfg),
        metrics_listen: Some("none".into()),
        quiet: true,
        rate: Some(20.0),
        duration: Some("2s".into()),
        mix: Some("echo=1".into()),
        progress_interval: Some("100ms".into()),
        summary: Some(dir.path().join("summary.json")),
        ..RunArgs::default()
    };
    let plan = load_with_env(&args, &HashMap::new()).expect("valid plan");
    let exit = execute(plan, &Stop::new()).await.expect("run completes");
    let s: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("summary"))
            .expect("JSON");
    assert_eq!(s["soak"]["source"], "stdio server processes");
    assert_eq!(s["soak"]["memory"]["status"], "measured", "{}", s["soak"]);
    assert!(s["soak"]["memory"]["per_hour"].as_f64() > Some(5e9));
    assert_eq!(exit, Exit::SloFailed);
}

/// Drift as an SLO: the mock slows down by 1 s half-way; the last window's p95 against the first
/// one breaks `max_p95_drift = "20%"`, and without a resource source the memory verdict says why it
/// was not measured (and sets no SLO: none was asked for).
///
/// The degradation is timed from the mock's start, the windows from the run's: the first 1 s window
/// stays clean as long as the run starts within 1 s of the mock, and 1 s is far beyond what a
/// loaded machine adds to the first window's p95 (latency counts from the intended send, so a
/// generator starved while starting shows there: 18 to 438 ms seen under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_slows_down_fails_its_drift_slo() {
    use mcp_soak::mock::{Degradation, ErrorRatios, Latency};
    let dir = tempfile::tempdir().unwrap();
    let mut mock_cfg = MockConfig::default();
    mock_cfg.faults.degradation = Some(Degradation {
        after: std::time::Duration::from_secs(2),
        duration: None,
        latency: Some(Latency::Fixed {
            delay: std::time::Duration::from_secs(1),
        }),
        errors: ErrorRatios::default(),
    });
    let mock = spawn(mock_cfg, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    let cfg = dir.path().join("soak.toml");
    std::fs::write(
        &cfg,
        "[soak]\nwarmup = \"0s\"\nwindow = \"1s\"\nmax_p95_drift = \"20%\"\n",
    )
    .expect("config written");
    let args = RunArgs {
        config: Some(cfg),
        url: Some(mock.url.clone()),
        metrics_listen: Some("none".into()),
        quiet: true,
        rate: Some(20.0),
        duration: Some("4s".into()),
        mix: Some("echo=1".into()),
        summary: Some(dir.path().join("summary.json")),
        ..RunArgs::default()
    };
    let (exit, s) = run(args, dir.path()).await;
    mock.shutdown().await;
    let drift = &s["soak"]["drift"];
    assert_eq!(drift["status"], "measured", "{drift}");
    assert!(drift["last_p95_ms"].as_f64() > Some(900.0), "{drift}");
    assert!(drift["p95_change"].as_f64() > Some(0.2), "{drift}");
    // Per tool too, from the tool's own timeline.
    let echo = &s["soak"]["drift_by_tool"]["echo"];
    assert_eq!(echo["status"], "measured", "{echo}");
    assert!(echo["p95_change"].as_f64() > Some(0.2), "{echo}");
    assert_eq!(exit, Exit::SloFailed);
    let slos = s["slos"].as_array().expect("slos");
    assert_eq!(slos.len(), 1, "only the drift SLO was asked for: {slos:?}");
    assert_eq!(slos[0]["objective"], "max_p95_drift");
    assert_eq!(slos[0]["passed"], false);
    assert_eq!(s["soak"]["memory"]["status"], "not_measured");
}

/// `run --session-strategy stale` end to end: it starts (the tools are listed in a fresh session),
/// every call is rejected as `session_expired`, and that is the answer asked for, so the run exits 0
/// without SLOs instead of "no call succeeded".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_run_starts_and_rejections_are_not_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let mock = spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    let args = RunArgs {
        url: Some(mock.url.clone()),
        metrics_listen: Some("none".into()),
        quiet: true,
        rate: Some(20.0),
        duration: Some("1s".into()),
        mix: Some("echo=1".into()),
        summary: Some(dir.path().join("summary.json")),
        protocol: Some("2025-11-25".into()),
        session_strategy: Some("stale".into()),
        ..RunArgs::default()
    };
    let (exit, s) = run(args, dir.path()).await;
    mock.shutdown().await;
    let counts = &s["totals"]["counts"];
    assert!(counts["session_expired"].as_u64() > Some(0), "{counts}");
    assert_eq!(counts["ok"], 0, "{counts}");
    assert_eq!(exit, Exit::Ok, "{}", s["totals"]);
}
