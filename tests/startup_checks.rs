//! Exit codes as documented (issue 21): every startup check (the `/metrics` address, the CA file, the
//! summary and raw folders) fails with exit 2 before any traffic, and `validate` runs the same checks;
//! a run in which no call succeeds says so during the run and exits non-zero (3 when the target was
//! never reached, 1 when it was reached but nothing succeeded); `validate` prints what a reader writes.

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use mcp_soak::mock::MockConfig;

use support::{ClosedPort, bin, mock};

fn mcp_soak(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("MCP_SOAK__OUTPUT__METRICS_LISTEN")
        .output()
        .expect("run mcp-soak")
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A "target" that only counts connections: the test asserts nobody ever connected.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        Untouched(l)
    }
    fn url(&self) -> String {
        format!("http://{}/mcp", self.0.local_addr().expect("addr"))
    }
    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => panic!("the target was contacted: {other:?}"),
        }
    }
}

/// `run` and `validate` against `target` with `extra` flags: both exit 2 naming every `expect`.
fn both_refuse(target: &Untouched, extra: &[&str], expect: &[&str]) {
    let url = target.url();
    for cmd in ["validate", "run"] {
        let mut args = vec![cmd, "--url", &url, "--mix", "echo=1", "--rate", "5"];
        args.extend(["--duration", "1s", "--linger", "0s"]);
        args.extend(extra);
        let out = mcp_soak(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{cmd} {extra:?}\n{}",
            text(&out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        for e in expect {
            assert!(err.contains(e), "{cmd}: message names {e:?}\n{err}");
        }
    }
    target.assert_untouched();
}

#[test]
fn a_busy_metrics_address_exits_2_before_any_traffic() {
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = held.local_addr().expect("addr").to_string();
    both_refuse(
        &Untouched::new(),
        &["--metrics-listen", &addr],
        &[&addr, "--metrics-listen", "pick a free port"],
    );
}

/// `flag` naming a missing file, then a file holding `bad`: both refused, naming `bad_message`.
fn missing_and_bad_file_refused(flag: &str, bad: &str, bad_message: &str) {
    let missing = "/nonexistent/file";
    both_refuse(
        &Untouched::new(),
        &["--metrics-listen", "none", flag, missing],
        &[flag, missing],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("file");
    std::fs::write(&path, bad).expect("write");
    let path = path.to_string_lossy().into_owned();
    both_refuse(
        &Untouched::new(),
        &["--metrics-listen", "none", flag, &path],
        &[bad_message],
    );
}

#[test]
fn a_missing_or_invalid_ca_file_exits_2_before_any_traffic() {
    missing_and_bad_file_refused("--ca-file", "not a certificate\n", "no PEM certificate");
}

#[test]
fn a_missing_or_empty_token_file_exits_2_before_any_traffic() {
    missing_and_bad_file_refused("--token-file", "\n", "is empty");
}

#[test]
fn an_unwritable_summary_or_raw_folder_exits_2_before_any_traffic() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A parent that is a file: no user (root included) can create a file under it.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").expect("write");
    let summary = file.join("summary.json").to_string_lossy().into_owned();
    both_refuse(
        &Untouched::new(),
        &["--metrics-listen", "none", "--summary", &summary],
        &["--summary", "not-a-folder", "is a file"],
    );
    let raw = dir.path().join("missing/raw.jsonl");
    let raw = raw.to_string_lossy().into_owned();
    both_refuse(
        &Untouched::new(),
        &["--metrics-listen", "none", "--raw", &raw],
        &["--raw", "mkdir -p"],
    );
}

#[test]
fn validate_prints_what_a_reader_writes() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/stepped-mock.toml");
    let out = mcp_soak(&[
        "validate",
        "-c",
        cfg,
        "--metrics-listen",
        "127.0.0.1:0",
        "--stages",
        "10:1m,20:1m@30s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for debug in ["StreamableHttp", "Auto", "Pooled", "0ns", "ramp 0", "Some("] {
        assert!(
            !stdout.contains(debug),
            "Rust spelling {debug:?} in:\n{stdout}"
        );
    }
    for plain in [
        "streamable-http",
        "protocol auto",
        "sessions pooled",
        "20 calls/s for 1m, ramp 30s",
        "startup checks: metrics address 127.0.0.1:",
    ] {
        assert!(stdout.contains(plain), "{plain:?} in:\n{stdout}");
    }
    let out = mcp_soak(&[
        "validate",
        "--url",
        "http://127.0.0.1:1/mcp",
        "--mix",
        "echo=1",
        "--scenario",
        "light",
        "--delay",
        "0.5",
        "--metrics-listen",
        "none",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("5 users x 3 requests (= 15 calls), delay 500ms"),
        "{}",
        text(&out)
    );
}

/// Runs against `url` for 3 s with a progress line every second; returns the output.
fn short_run(url: &str, dir: &Path, extra: &[&str]) -> Output {
    let summary = dir.join("s.json").to_string_lossy().into_owned();
    let mut args = vec!["run", "--url", url, "--rate", "5", "--duration", "3s"];
    args.extend(["--progress-interval", "1s", "--metrics-listen", "none"]);
    args.extend(["--summary", &summary, "--quiet"]);
    args.extend(extra);
    mcp_soak(&args)
}

#[test]
fn a_target_never_reached_warns_during_the_run_and_exits_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = ClosedPort::new();
    let url = format!("http://127.0.0.1:{}/mcp", closed.port());
    let out = short_run(&url, dir.path(), &["--mix", "echo=1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NO CALL HAS SUCCEEDED YET") && err.contains("`connect`"),
        "a warning during the run:\n{err}"
    );
    assert!(
        err.contains("the target was never reached"),
        "the end says why:\n{err}"
    );
    assert!(dir.path().join("s.json").exists(), "the summary is written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reached_target_where_every_call_fails_exits_1() {
    let mut cfg = MockConfig::default();
    cfg.faults.errors.tool_error = 1.0;
    let m = mock(cfg).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = m.url.clone();
    let path = dir.path().to_owned();
    let out =
        tokio::task::spawn_blocking(move || short_run(&url, &path, &["--mix", "list_clusters=1"]))
            .await
            .expect("join");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NO CALL HAS SUCCEEDED YET") && err.contains("`tool_error`"),
        "{err}"
    );
    assert!(err.contains("no call succeeded"), "{err}");
    m.shutdown().await;
}
