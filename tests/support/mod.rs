//! Helpers shared by the reliability integration tests: the `mcp-soak` binary as a child process,
//! the built-in mock on loopback, GETs of the binary's HTTP endpoints, and reading what a run wrote
//! (summary JSON, Prometheus text).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mcp_soak::mock::{Latency, MockConfig, MockHandle};

/// The `mcp-soak` binary cargo built for this test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-soak")
}

/// A loopback port bound but not listening: connecting to it is refused, and no other socket can
/// bind it (no `SO_REUSEADDR`) while this is held. A port bound, learned and released could be
/// taken by another process before its user binds it, and a client connecting to a released
/// ephemeral port can even meet itself (TCP simultaneous open).
pub struct ClosedPort(tokio::net::TcpSocket);

impl ClosedPort {
    /// Binds a socket to `127.0.0.1:0` without listening.
    pub fn new() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(false).expect("no SO_REUSEADDR");
        socket.bind(loopback(0)).expect("bind 127.0.0.1:0");
        ClosedPort(socket)
    }

    /// The port held.
    pub fn port(&self) -> u16 {
        self.0.local_addr().expect("local addr").port()
    }

    /// The built-in mock serving on this very socket: the target "comes up" on a port that was
    /// never free in between.
    pub async fn mock(self, cfg: MockConfig) -> MockHandle {
        let listener = self.0.listen(1024).expect("listen");
        mcp_soak::mock::spawn_on(cfg, listener)
            .await
            .unwrap_or_else(|e| panic!("mock starts on a held port: {e}"))
    }
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The built-in mock on `addr`.
pub async fn mock_on(cfg: MockConfig, addr: SocketAddr) -> MockHandle {
    mcp_soak::mock::spawn(cfg, addr)
        .await
        .unwrap_or_else(|e| panic!("mock starts on {addr}: {e}"))
}

/// The built-in mock on a loopback port 0.
pub async fn mock(cfg: MockConfig) -> MockHandle {
    mock_on(cfg, loopback(0)).await
}

/// A mock configuration whose every call takes `delay`.
pub fn fixed_latency(delay: Duration) -> MockConfig {
    let mut cfg = MockConfig::default();
    cfg.faults.latency = Some(Latency::Fixed { delay });
    cfg
}

/// A child `mcp-soak` with stdout/stderr going to files in its directory (no pipe can fill up and
/// block it). Killed on drop if still running; then its temp directory, if it owns one, goes.
pub struct Soak {
    pub child: Child,
    dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
}

impl Soak {
    /// Starts `mcp-soak ARGS` with `RUST_LOG` removed, then `env` set.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Soak {
        let out = std::fs::File::create(dir.join("stdout")).expect("stdout file");
        let err = std::fs::File::create(dir.join("stderr")).expect("stderr file");
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn mcp-soak");
        Soak {
            child,
            dir: dir.to_owned(),
            tmp: None,
        }
    }

    /// Sends `kill -SIG` to the child.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Waits for the exit at most `limit`; kills the child and panics past it.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
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

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    /// Everything written to stderr so far, as written.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Stderr so far without terminal colour escapes.
    pub fn stderr_plain(&self) -> String {
        strip_ansi(&self.stderr())
    }

    /// The metrics server's address, from the "serving /metrics" log line (waits up to 30 s).
    pub async fn metrics_addr(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let stderr = self.stderr_plain();
            if let Some(addr) = metrics_addr(&stderr) {
                return addr;
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

/// Starts `mcp-soak run --url URL ARGS --summary DIR/summary.json` (`ARGS` split at whitespace, no
/// `env`) in a temp directory DIR the child owns; returns the child and the summary's path.
pub fn start_run(url: &str, args: &str) -> (Soak, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let summary = tmp.path().join("summary.json");
    let mut full = vec!["run", "--url", url];
    full.extend(args.split_whitespace());
    full.extend(["--summary", summary.to_str().expect("utf-8 path")]);
    let mut soak = Soak::start(tmp.path(), &full, &[]);
    soak.tmp = Some(tmp);
    (soak, summary)
}

/// Finds `addr=127.0.0.1:PORT` on the "serving /metrics" log line of `stderr`.
pub fn metrics_addr(stderr: &str) -> Option<String> {
    let stderr = strip_ansi(stderr);
    let line = stderr.lines().find(|l| l.contains("serving /metrics"))?;
    let at = line.find("addr=")? + "addr=".len();
    let rest = &line[at..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"').to_owned())
}

/// Removes terminal colour escapes (`ESC [ ... m`).
pub fn strip_ansi(s: &str) -> String {
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

/// Polls `cond` every 50 ms for at most `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The summary JSON a run wrote to `path`.
pub fn read_summary(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("summary written");
    serde_json::from_str(&text).expect("summary is valid JSON")
}

/// The summary's `events` as (action, source) pairs, oldest first.
pub fn events(summary: &serde_json::Value) -> Vec<(&str, &str)> {
    let list = summary["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    list.iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["source"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

/// GETs a loopback URL: (status, body). Installs rustls' ring provider first, once.
pub async fn get(url: &str) -> (u16, String) {
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

/// GETs a loopback URL and returns the body, whatever the status.
pub async fn get_text(url: &str) -> String {
    get(url).await.1
}

/// `mcp_soak_calls_total{…outcome="<outcome>"…}` summed over tools, from a Prometheus text page.
pub fn calls_total(page: &str, outcome: &str) -> u64 {
    let needle = format!("outcome=\"{outcome}\"");
    page.lines()
        .filter(|l| l.starts_with("mcp_soak_calls_total{") && l.contains(&needle))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// Sums a counter's samples by the value of `label`, skipping the `_all` aggregate series.
pub fn sum_by(metrics: &str, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !rest.starts_with('{') || rest.contains("tool=\"_all\"") {
            continue;
        }
        let Some(close) = rest.find('}') else {
            continue;
        };
        let labels = &rest[1..close];
        let value: f64 = rest[close + 1..].trim().parse().unwrap_or(f64::NAN);
        let needle = format!("{label}=\"");
        let Some(at) = labels.find(&needle) else {
            continue;
        };
        let v = &labels[at + needle.len()..];
        let v = &v[..v.find('"').unwrap_or(v.len())];
        *out.entry(v.to_owned()).or_insert(0.0) += value;
    }
    out
}

/// A reply of a hand-written test server: `status`, `content-type: ct` and `body`.
pub fn resp(status: u16, ct: &str, body: impl Into<axum::body::Body>) -> axum::response::Response {
    axum::response::Response::builder()
        .status(status)
        .header("content-type", ct)
        .body(body.into())
        .unwrap_or_default()
}
