//! Reliability of the `mcp-soak` binary as a process: stopping on SIGTERM / a second SIGINT with a
//! complete summary and the verdict as exit code, planted secrets never leaking into any output, and
//! every bad input failing with exit 2 before a single `tools/call` reaches the target.
//!
//! The target is the built-in mock, in this test process on port 0; the binary runs as a child.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use mcp_soak::mock::MockConfig;

use support::{
    ClosedPort, Soak, bin, fixed_latency, get_text, metrics_addr, mock, read_summary, start_run,
    wait_until,
};

/// Checks the summary is complete: every call has exactly one outcome and the shape is there.
fn assert_complete(s: &serde_json::Value) {
    for key in [
        "schema_version",
        "run_id",
        "started",
        "ended",
        "totals",
        "latency",
        "ops",
        "errors",
        "slos",
    ] {
        assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
    }
    let totals = &s["totals"];
    let calls = totals["calls"].as_u64().expect("totals.calls");
    let by_kind: u64 = totals["counts"]
        .as_object()
        .expect("counts")
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        calls, by_kind,
        "every call has exactly one outcome: {totals}"
    );
    let ops: u64 = s["ops"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| o["totals"]["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(calls, ops, "per-op calls add up to the total");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_writes_a_complete_summary_and_exits_with_the_verdict() {
    let m = mock(fixed_latency(Duration::from_millis(20))).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix list_clusters=1 --protocol 2025-11-25 --rate 40 --duration 10m \
         --metrics-listen none --quiet --slo p95=1ms",
    );
    wait_until(Duration::from_secs(60), "calls to reach the mock", || {
        m.stats().total_calls() >= 40
    })
    .await;
    soak.signal("TERM");
    let st = soak.wait(Duration::from_secs(60)).await;
    // The p95 SLO of 1 ms cannot hold against 20 ms of latency: the verdict is "failed" = 1.
    assert_eq!(st.code(), Some(1), "stderr:\n{}", soak.stderr());
    let s = read_summary(&summary);
    assert_complete(&s);
    assert_eq!(s["stop_reason"], "signal");
    assert_eq!(s["aborted"], true);
    assert_eq!(s["slo_passed"], false);
    let ok = s["totals"]["counts"]["ok"].as_u64().expect("ok count");
    assert!(ok >= 40, "calls before the signal are kept: {ok}");
    // In-flight calls were let finish within the grace period, not cancelled.
    assert_eq!(s["totals"]["counts"]["timeout"], 0);
    // The mock saw every call the summary counts as answered (+ none lost in between).
    let seen = m.stats().total_calls();
    assert_eq!(seen, ok, "mock saw {seen} calls, summary counts {ok} ok");
    assert!(
        soak.stdout().contains("signal") || soak.stdout().contains("SLO"),
        "the console report is printed:\n{}",
        soak.stdout()
    );
    // A graceful stop ends the sessions it opened (session era forced above).
    assert!(m.stats().sessions_created >= 1);
    assert!(
        m.stats().deletes >= 1,
        "sessions are DELETEd: {:?}",
        m.stats()
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_sigint_stops_at_once_and_still_writes_the_summary() {
    // Every call hangs for 60 s: a graceful drain would take a minute.
    let m = mock(fixed_latency(Duration::from_secs(60))).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix list_clusters=1 --rate 20 --duration 10m --timeout 120s --grace 120s \
         --metrics-listen none --quiet",
    );
    wait_until(
        Duration::from_secs(60),
        "calls in flight at the mock",
        || m.stats().total_calls() >= 10,
    )
    .await;
    soak.signal("INT");
    // Wait until the first signal is handled (the run is then draining, for up to 120 s): two
    // signals that arrive before the handler runs count as one.
    wait_until(Duration::from_secs(60), "the first SIGINT handled", || {
        soak.stderr_plain().contains("stop requested")
    })
    .await;
    assert!(
        soak.child.try_wait().expect("try_wait").is_none(),
        "the first SIGINT drains (calls still hang)"
    );
    let stopped_at = Instant::now();
    soak.signal("INT");
    let st = soak.wait(Duration::from_secs(60)).await;
    // "At once": far sooner than the 60 s the calls would still hang (generous for a loaded box).
    assert!(
        stopped_at.elapsed() < Duration::from_secs(30),
        "second SIGINT took {:?}",
        stopped_at.elapsed()
    );
    // No SLO set, but no call succeeded (they all hung until cancelled): never a silent 0.
    assert_eq!(
        st.code(),
        Some(1),
        "no call succeeded: exit 1\n{}",
        soak.stderr()
    );
    let s = read_summary(&summary);
    assert_complete(&s);
    assert_eq!(s["stop_reason"], "signal");
    // The calls that were still hanging are counted (as timeouts), not lost.
    let timeouts = s["totals"]["counts"]["timeout"].as_u64().expect("timeouts");
    assert!(timeouts >= 10, "cancelled calls counted: {}", s["totals"]);
    assert!(
        soak.stderr().contains("stopping at once"),
        "stderr:\n{}",
        soak.stderr()
    );
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_never_appear_in_any_output() {
    const TOKEN: &str = "s3cr3t-BEARER-tok-7f1e";
    const HEADER: &str = "s3cr3t-HEADER-val-93ab";
    const PASSWORD: &str = "s3cr3t-PASS-41d0";
    const FILE_TOKEN: &str = "s3cr3t-FILE-tok-c2aa";
    // Faults make error messages (HTTP 500, JSON-RPC errors, tool errors) that could echo a request.
    let mut cfg = MockConfig::default();
    cfg.faults.errors.http_500 = 0.1;
    cfg.faults.errors.rpc_error = 0.1;
    cfg.faults.errors.tool_error = 0.1;
    cfg.faults.errors.http_429 = 0.1;
    let m = mock(cfg).await;
    let url = m
        .url
        .replacen("http://", &format!("http://soakuser:{PASSWORD}@"), 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.json");
    let raw = dir.path().join("raw.jsonl");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{FILE_TOKEN}\n")).expect("token file");

    let mut outputs = Vec::new();
    // Once with the token as a flag, once from a file; both with a secret header and URL password.
    for (i, auth) in [
        vec!["--token", TOKEN],
        vec!["--token-file", token_file.to_str().expect("utf-8")],
    ]
    .into_iter()
    .enumerate()
    {
        let run_dir = dir.path().join(format!("run{i}"));
        std::fs::create_dir_all(&run_dir).expect("run dir");
        let header = format!("X-Api-Key: {HEADER}");
        let mut args = vec![
            "run",
            "--url",
            &url,
            "--auth",
            "bearer",
            "--header",
            &header,
            "--mix",
            "list_clusters=3,echo=1,tools/list=1",
            "--rate",
            "50",
            "--duration",
            "3s",
            "--metrics-listen",
            "127.0.0.1:0",
            "--linger",
            "60s",
            "--progress-interval",
            "1s",
            "--summary",
            summary.to_str().expect("utf-8"),
            "--raw",
            raw.to_str().expect("utf-8"),
        ];
        args.extend(auth);
        let _ = std::fs::remove_file(&summary);
        let mut soak = Soak::start(&run_dir, &args, &[("RUST_LOG", "debug")]);
        // The summary is written before the linger: scrape /metrics while it lingers.
        wait_until(Duration::from_secs(90), "the summary", || summary.exists()).await;
        let stderr = soak.stderr();
        let addr =
            metrics_addr(&stderr).unwrap_or_else(|| panic!("no metrics address logged:\n{stderr}"));
        let metrics = get_text(&format!("http://{addr}/metrics")).await;
        assert!(metrics.contains("mcp_soak_calls_total"), "{metrics}");
        soak.signal("TERM");
        let st = soak.wait(Duration::from_secs(60)).await;
        assert_eq!(st.code(), Some(0), "{}", soak.stderr());
        let s = read_summary(&summary);
        assert_complete(&s);
        assert!(
            s["totals"]["counts"]["http_error"].as_u64().unwrap_or(0) > 0
                && s["totals"]["counts"]["rpc_error"].as_u64().unwrap_or(0) > 0,
            "errors were provoked: {}",
            s["totals"]
        );
        outputs.push((format!("run{i} stdout"), soak.stdout()));
        outputs.push((format!("run{i} stderr (RUST_LOG=debug)"), soak.stderr()));
        outputs.push((format!("run{i} /metrics"), metrics));
        outputs.push((
            format!("run{i} summary"),
            std::fs::read_to_string(&summary).expect("summary"),
        ));
        outputs.push((
            format!("run{i} raw stream"),
            std::fs::read_to_string(&raw).expect("raw stream"),
        ));
    }
    // An error path: a config mistake while secrets are set.
    let bad = Command::new(bin())
        .args([
            "run",
            "--url",
            &url,
            "--auth",
            "bearer",
            "--token",
            TOKEN,
            "--header",
            &format!("X-Api-Key: {HEADER}"),
            "--rate",
            "-1",
            "--duration",
            "1s",
        ])
        .env("RUST_LOG", "debug")
        .output()
        .expect("run bad config");
    assert_eq!(bad.status.code(), Some(2));
    outputs.push((
        "error stderr".into(),
        String::from_utf8_lossy(&bad.stderr).into(),
    ));
    outputs.push((
        "error stdout".into(),
        String::from_utf8_lossy(&bad.stdout).into(),
    ));
    // And an unreachable target (exit 3) whose message names the URL.
    let dead = format!("http://soakuser:{PASSWORD}@127.0.0.1:1/mcp");
    let down = Command::new(bin())
        .args([
            "run",
            "--url",
            &dead,
            "--auth",
            "bearer",
            "--token",
            TOKEN,
            "--rate",
            "1",
            "--duration",
            "1s",
            "--mix",
            "echo=1",
            "--metrics-listen",
            "none",
            "--require-target",
        ])
        .env("RUST_LOG", "debug")
        .output()
        .expect("run against a closed port");
    assert_eq!(
        down.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    outputs.push((
        "unreachable stderr".into(),
        String::from_utf8_lossy(&down.stderr).into(),
    ));

    for (what, text) in &outputs {
        assert!(
            !text.is_empty() || what.contains("stdout"),
            "{what} is empty"
        );
        for secret in [TOKEN, HEADER, PASSWORD, FILE_TOKEN] {
            assert!(
                !text.contains(secret),
                "{what} leaks a planted secret ({secret}):\n{text}"
            );
        }
    }
    m.shutdown().await;
}

/// Runs the binary with `args` against the mock and expects a usage error (exit 2) that mentions
/// every string of `expect`.
fn expect_usage_error(args: &[&str], expect: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run mcp-soak");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should be a usage error\nstderr:\n{stderr}"
    );
    for e in expect {
        assert!(
            stderr.to_lowercase().contains(&e.to_lowercase()),
            "{args:?}: message should mention {e:?}:\n{stderr}"
        );
    }
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_naming_source_and_key_and_sends_no_calls() {
    let m = mock(MockConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write config");
        p.to_str().expect("utf-8").to_owned()
    };
    let unknown_key = file("unknown.toml", "[load]\nrate = 5\nratee = 5\n");
    let wrong_type = file("wrongtype.toml", "[load]\nrate = \"fast\"\n");
    let zero_weights = file(
        "zero.toml",
        "[load]\nrate = 5\nduration = \"1s\"\n[[mix]]\ntool = \"list_clusters\"\nweight = 0\n",
    );
    let missing_token = dir.path().join("no-such-token");
    let missing_token = missing_token.to_str().expect("utf-8");
    let url = m.url.as_str();
    let common = ["--metrics-listen", "none", "--quiet"];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // unknown key in a file: names the file and the key
        (
            vec!["-c", &unknown_key, "--duration", "1s"],
            vec!["unknown.toml", "ratee"],
        ),
        // wrong type: names the file and the key
        (
            vec!["-c", &wrong_type, "--duration", "1s"],
            vec!["wrongtype.toml", "rate"],
        ),
        // negative rate from a flag: names the flag
        (vec!["--rate=-5", "--duration", "1s"], vec!["--rate"]),
        // weights summing to zero (file) and from the flag
        (vec!["-c", &zero_weights], vec!["zero.toml", "weight"]),
        (
            vec![
                "--rate",
                "5",
                "--duration",
                "1s",
                "--mix",
                "list_clusters=0",
            ],
            vec!["--mix", "weight"],
        ),
        // stage syntax
        (vec!["--stages", "50:abc"], vec!["--stages"]),
        (vec!["--stages", "fast:5s"], vec!["--stages"]),
        // unreadable token file: names the flag and the path
        (
            vec![
                "--rate",
                "5",
                "--duration",
                "1s",
                "--auth",
                "bearer",
                "--token-file",
                missing_token,
            ],
            vec!["token", "no-such-token"],
        ),
        // a duration without a unit, from the environment is covered by config tests; here a flag
        (vec!["--rate", "5", "--duration", "10"], vec!["--duration"]),
        // unknown tool: found only after tools/list, still exit 2 with no tools/call
        (
            vec!["--rate", "5", "--duration", "1s", "--mix", "no_such_tool=1"],
            vec!["no_such_tool"],
        ),
    ];
    for (args, expect) in &cases {
        let mut full = vec!["run", "--url", url];
        full.extend(args.iter().copied());
        full.extend(common);
        expect_usage_error(&full, expect);
    }
    let stats = m.stats();
    assert_eq!(stats.total_calls(), 0, "no tools/call was sent: {stats:?}");
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_target_exits_3_at_once_with_require_target_at_the_end_without() {
    // A port held bound but not listening: connections are refused.
    let closed = ClosedPort::new();
    let port = closed.port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    // With --require-target: exit 3 at once, with a message naming the target.
    // Without: the run keeps its schedule (every call `connect`) and, the target never reached,
    // exits 3 at the end; see tests/reliability_target_down.rs for the details.
    for (extra, code) in [(&["--require-target"][..], 3), (&[][..], 3)] {
        let mut args = vec![
            "run",
            "--url",
            &url,
            "--mix",
            "echo=1",
            "--rate",
            "5",
            "--duration",
            "1s",
            "--metrics-listen",
            "none",
        ];
        args.extend(extra);
        let out = Command::new(bin())
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .expect("run mcp-soak");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}\n{stderr}");
        assert!(
            stderr.contains(&format!("127.0.0.1:{port}")),
            "the message names the target:\n{stderr}"
        );
    }
}
