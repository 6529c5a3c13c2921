//! "Target down at start" (issue 7): without `--require-target` the run keeps its schedule, counts
//! every slot due while not connected as `connect`, reports `/readyz` 503 until connected, and
//! retries the connection in the background; the target may come up mid-run.
//!
//! The binary runs as a child process; the target is the built-in mock on a loopback port that was
//! free when the test started (bound, learned, closed).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mcp_soak::mock::MockConfig;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-soak")
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child `mcp-soak` with stdout/stderr going to files (no pipe can fill up and block it).
struct Soak {
    child: Child,
    dir: PathBuf,
}

impl Soak {
    fn start(dir: &Path, args: &[&str]) -> Soak {
        let out = std::fs::File::create(dir.join("stdout")).expect("stdout file");
        let err = std::fs::File::create(dir.join("stderr")).expect("stderr file");
        let child = Command::new(bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env_remove("RUST_LOG")
            .spawn()
            .expect("spawn mcp-soak");
        Soak {
            child,
            dir: dir.to_owned(),
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits for the exit at most `limit`; kills the child and panics past it.
    async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "mcp-soak did not exit within {limit:?}\nstderr:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stderr(&self) -> String {
        strip_ansi(&std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default())
    }

    /// The metrics server's address, from the "serving /metrics" log line (waits up to 30 s).
    async fn metrics_addr(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stderr = self.stderr();
            if let Some(line) = stderr.lines().find(|l| l.contains("serving /metrics"))
                && let Some(at) = line.find("addr=")
            {
                let rest = &line[at + "addr=".len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                return rest[..end].trim_matches('"').to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no metrics address logged:\n{stderr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Soak {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// GETs a loopback URL: (status, body). Installs rustls' ring provider first, once.
async fn get(url: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let body = resp
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url} body: {e}"));
    (status, body)
}

/// `mcp_soak_calls_total{…outcome="<outcome>"…}` summed over tools, from a Prometheus text page.
fn calls_total(page: &str, outcome: &str) -> u64 {
    let needle = format!("outcome=\"{outcome}\"");
    page.lines()
        .filter(|l| l.starts_with("mcp_soak_calls_total{") && l.contains(&needle))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

fn read_summary(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("summary written");
    serde_json::from_str(&text).expect("summary is valid JSON")
}

fn count(s: &serde_json::Value, outcome: &str) -> u64 {
    s["totals"]["counts"][outcome]
        .as_u64()
        .unwrap_or_else(|| panic!("count {outcome} in {}", s["totals"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_down_for_the_whole_run_counts_every_call_as_connect() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.json");
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "--url",
            &url,
            "--mix",
            "list_clusters=1",
            "--rate",
            "10",
            "--duration",
            "3s",
            "--metrics-listen",
            "127.0.0.1:0",
            "--linger",
            "0s",
            "--quiet",
            "--slo",
            "errors=1%",
            "--summary",
            summary.to_str().expect("utf-8 path"),
        ],
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
    // The error SLO fails: every call failed.
    assert_eq!(st.code(), Some(1), "stderr:\n{}", soak.stderr());
    let stderr = soak.stderr();
    assert!(
        stderr.contains("target down at start") && stderr.contains(&format!("127.0.0.1:{port}")),
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
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.json");
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "--url",
            &url,
            "--mix",
            "list_clusters=1",
            "--rate",
            "20",
            "--duration",
            "8s",
            "--metrics-listen",
            "127.0.0.1:0",
            "--linger",
            "60s",
            "--quiet",
            "--summary",
            summary.to_str().expect("utf-8 path"),
        ],
    );
    let addr = soak.metrics_addr().await;
    let (readyz, _) = get(&format!("http://{addr}/readyz")).await;
    assert_eq!(readyz, 503, "not ready before the target is up");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let m = mcp_soak::mock::spawn(
        MockConfig::default(),
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
    .expect("mock starts on the port the soak targets");

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
            soak.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(soak.stderr().contains("connected"));

    // The run ends at its planned end; /metrics lingers for a final scrape.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !soak.stderr().contains("summary written") {
        assert!(
            Instant::now() < deadline,
            "no summary written:\n{}",
            soak.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, page) = get(&format!("http://{addr}/metrics")).await;
    soak.signal("INT"); // ends the linger
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "no SLO set: exit 0\n{}", soak.stderr());

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
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.json");
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "--url",
            &url,
            "--mix",
            "no_such_tool=1",
            "--rate",
            "10",
            "--duration",
            "10m",
            "--metrics-listen",
            "none",
            "--quiet",
            "--summary",
            summary.to_str().expect("utf-8 path"),
        ],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = mcp_soak::mock::spawn(
        MockConfig::default(),
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
    .expect("mock starts on the port the soak targets");
    let st = soak.wait(Duration::from_secs(60)).await;
    let stderr = soak.stderr();
    assert_eq!(st.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("no_such_tool"), "names the tool:\n{stderr}");
    let s = read_summary(&summary);
    assert_eq!(s["stop_reason"], "mix_mismatch");
    assert_eq!(count(&s, "ok"), 0);
    assert_eq!(m.stats().total_calls(), 0, "no tools/call was sent");
    m.shutdown().await;
}
