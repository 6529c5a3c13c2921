//! Runtime control of a running soak, through the binary: pause, re-rate and reweigh over
//! `/control/…`, checked against what the mock received; bad bodies refused naming the field; the
//! token enforced when required; `mcp-soak ctl` as the front; every change kept as a summary event
//! and counted on `/metrics`.
//!
//! The target is the built-in mock, in this test process on port 0; the binary runs as a child.
//! Rates are measured over windows of seconds with generous bounds (a loaded 2-core machine).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Soak, fixed_latency, get_text, mock, read_summary, wait_until};

/// POSTs `body` (raw) to `url` with an optional bearer token: (status, JSON answer).
async fn post(url: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Calls the mock received over `window` (after in-flight calls of before settled).
async fn calls_in(m: &mcp_soak::mock::MockHandle, window: Duration) -> u64 {
    let start = m.stats().total_calls();
    tokio::time::sleep(window).await;
    m.stats().total_calls() - start
}

fn start(
    dir: &std::path::Path,
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Soak, std::path::PathBuf) {
    let summary = dir.join("summary.json");
    let mut args = vec![
        "run",
        "--url",
        url,
        "--protocol",
        "2025-11-25",
        "--mix",
        "list_clusters=1,list_versions=1",
        "--control",
        "--metrics-listen",
        "127.0.0.1:0",
        "--quiet",
        "--summary",
        summary.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    (Soak::start(dir, &args, env), summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_rerate_and_reweigh_change_what_the_server_receives() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut soak, summary) = start(
        dir.path(),
        &m.url,
        &["--rate", "10", "--duration", "90s"],
        &[],
    );
    let addr = soak.metrics_addr().await;
    let ctl = |a: &str| format!("http://{addr}/control/{a}");
    wait_until(Duration::from_secs(30), "calls to reach the mock", || {
        m.stats().total_calls() >= 5
    })
    .await;

    // Bad bodies: 400 naming the field, nothing changes.
    for (action, body, field) in [
        ("rate", r#"{"rate": -5}"#, "rate"),
        ("rate", r#"{"rate": "#, "body"),
        ("rate", r#"{}"#, "rate"),
        ("mix", r#"{"weights": {"nope": 1}}"#, "weights.nope"),
        (
            "mix",
            r#"{"weights": {"list_versions": 0, "list_clusters": 0}}"#,
            "weights",
        ),
        (
            "mix",
            r#"{"weights": {"list_versions": -1}}"#,
            "weights.list_versions",
        ),
    ] {
        let (status, answer) = post(&ctl(action), body, None).await;
        assert_eq!(status, 400, "{action} {body}: {answer}");
        assert_eq!(answer["field"], field, "{action} {body}: {answer}");
    }
    let state: Value = serde_json::from_str(&get_text(&ctl("state")).await).expect("json");
    assert_eq!(state["control"]["paused"], false, "{state}");
    assert_eq!(state["control"]["rate"], Value::Null, "{state}");

    // Re-rate: 10/s → 50/s, measured at the mock over 3 s windows.
    let before = calls_in(&m, Duration::from_secs(3)).await;
    let (status, answer) = post(&ctl("rate"), r#"{"rate": 50}"#, None).await;
    assert_eq!(
        (status, answer["to"].as_str()),
        (200, Some("50/s")),
        "{answer}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = calls_in(&m, Duration::from_secs(3)).await;
    assert!((15..=60).contains(&before), "10/s over 3 s: {before}");
    assert!((90..=240).contains(&after), "50/s over 3 s: {after}");

    // Reweigh: only list_versions from now on.
    let lv0 = m.stats().calls_of("list_versions");
    let lc0 = m.stats().calls_of("list_clusters");
    let (status, answer) = post(&ctl("mix"), r#"{"weights": {"list_clusters": 0}}"#, None).await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let lc1 = m.stats().calls_of("list_clusters");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        m.stats().calls_of("list_clusters"),
        lc1,
        "no list_clusters after the reweigh"
    );
    assert!(
        lc1 - lc0 <= 10,
        "at most the calls already under way: {lc0} → {lc1}"
    );
    assert!(
        m.stats().calls_of("list_versions") > lv0 + 40,
        "list_versions takes all the calls"
    );

    // Pause: nothing reaches the mock; resume: the calls come back without a late burst.
    let (status, _) = post(&ctl("pause"), "", None).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = calls_in(&m, Duration::from_secs(2)).await;
    assert_eq!(during, 0, "no call while paused");
    let (status, answer) = post(&ctl("resume"), "", None).await;
    assert_eq!(
        (status, answer["to"].as_str()),
        (200, Some("running")),
        "{answer}"
    );
    let resumed = Instant::now();
    let after_resume = calls_in(&m, Duration::from_secs(1)).await;
    assert!(resumed.elapsed() < Duration::from_secs(5));
    assert!(
        (10..=120).contains(&after_resume),
        "50/s again, no burst of the paused 2 s: {after_resume}"
    );

    let page = get_text(&format!("http://{addr}/metrics")).await;
    for action in ["pause", "resume", "rate", "mix"] {
        let label = format!("action=\"{action}\"");
        assert!(
            page.lines()
                .any(|l| l.starts_with("mcp_soak_control_changes_total{")
                    && l.contains(&label)
                    && l.ends_with(" 1")),
            "{action}:\n{page}"
        );
    }

    soak.signal("INT");
    soak.wait(Duration::from_secs(60)).await;
    let s = read_summary(&summary);
    let events = support::events(&s);
    assert_eq!(
        events,
        [
            ("rate", "control"),
            ("mix", "control"),
            ("pause", "control"),
            ("resume", "control")
        ]
    );
    // The paused 2 s were not counted as lag: the schedule moved by the pause.
    let lag_max = s["schedule"]["lag"]["max_ms"].as_f64().expect("lag");
    assert!(
        lag_max < 1_500.0,
        "schedule lag after a 2 s pause: {lag_max} ms"
    );
}

/// Runs `mcp-soak ctl --url URL ARGS…` with `token` (if any) in its environment.
fn ctl(url: &str, args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(support::bin());
    cmd.arg("ctl")
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("MCP_SOAK_CONTROL_TOKEN");
    if let Some(t) = token {
        cmd.env("MCP_SOAK_CONTROL_TOKEN", t);
    }
    cmd.output().expect("run mcp-soak ctl")
}

/// A stepped run paused in stage 1, jumped to stage 2 and given a third stage: every row of the
/// summary holds its own stage's calls, over the time the stage really ran (the pause left out),
/// at the rate in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepped_rows_follow_a_pause_a_jump_and_an_appended_stage() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let began = Instant::now();
    // Stage 1 is long (a slow start cannot leave it); the test jumps out of it.
    let (mut soak, summary) = start(dir.path(), &m.url, &["--stages", "20:120s,40:3s"], &[]);
    let addr = soak.metrics_addr().await;
    let url = format!("http://{addr}");
    let state = || async {
        serde_json::from_str::<Value>(&get_text(&format!("{url}/control/state")).await)
            .expect("state JSON")
    };
    wait_until(Duration::from_secs(30), "calls to reach the mock", || {
        m.stats().total_calls() >= 10
    })
    .await;

    let out = ctl(&url, &["pause"], None);
    assert!(out.status.success(), "{out:?}");
    let paused = state().await;
    assert_eq!(paused["position"]["stage"], 1, "{paused}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(ctl(&url, &["resume"], None).status.success());
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Bad input: refused naming the field, nothing changed.
    for (args, field) in [
        (&["stage", "0"][..], "`stage`"),
        (&["stage", "3"][..], "`stage`"),
        (&["append", "x:1s"][..], "`stages[0]`"),
        (&["append", "10:1s,5:forever,5:1s"][..], "`stages[1]`"),
    ] {
        let out = ctl(&url, args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("400") && err.contains(field),
            "{args:?}: {err}"
        );
    }
    let out = ctl(&url, &["append", "30:2s"], None);
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("answer JSON");
    assert_eq!(answer["to"], "3 stages", "{answer}");
    let out = ctl(&url, &["stage", "2"], None);
    assert!(out.status.success(), "{out:?}");
    let jumped = began.elapsed();
    let answer: Value = serde_json::from_slice(&out.stdout).expect("answer JSON");
    assert_eq!(
        (answer["from"].as_str(), answer["to"].as_str()),
        (Some("stage 1"), Some("stage 2")),
        "{answer}"
    );

    // Stage 2 (3 s) and the appended stage 3 (2 s) run, then the run ends by itself.
    let status = soak.wait(Duration::from_secs(60)).await;
    assert!(status.success(), "{status:?}");
    let s = read_summary(&summary);
    let rows = s["stages"].as_array().expect("stages");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let f = |i: usize, key: &str| rows[i][key].as_f64().unwrap_or(f64::NAN);
    let n = |i: usize, key: &str| rows[i]["totals"][key].as_u64().unwrap_or(u64::MAX);
    let scheduled = |i: usize| rows[i]["scheduled"].as_u64().unwrap_or(u64::MAX);
    assert_eq!(
        [
            f(0, "target_rate"),
            f(1, "target_rate"),
            f(2, "target_rate")
        ],
        [20.0, 40.0, 30.0]
    );
    // Whole stages from the jump on: exactly their slots, and (2 ms calls) most of them ended
    // inside their own window (a loaded machine may send the last few late, into the next;
    // calls in flight at a boundary end in the next one).
    assert_eq!((scheduled(1), scheduled(2)), (120, 60));
    assert!((100..=130).contains(&n(1, "calls")), "{}", rows[1]);
    assert!((45..=90).contains(&n(2, "calls")), "{}", rows[2]);
    assert!(
        n(0, "calls").abs_diff(scheduled(0)) <= 10,
        "stage 1's calls in stage 1's row: {}",
        rows[0]
    );
    assert!((f(1, "duration_s") - 3.0).abs() < 0.05, "{}", rows[1]);
    assert!((f(2, "start_s") - f(1, "start_s") - 3.0).abs() < 0.05);
    // Stage 1 ran until the jump, less the ~3 s pause (inside its window, not its time).
    assert!(
        f(0, "duration_s") < jumped.as_secs_f64() - 2.0,
        "paused time left out: {} (jump after {jumped:?})",
        rows[0]
    );
    assert!(f(1, "start_s") > f(0, "duration_s") + 2.0, "{rows:?}");
    let events: Vec<&str> = support::events(&s).into_iter().map(|e| e.0).collect();
    assert_eq!(events, ["pause", "resume", "append", "stage"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_token_is_enforced_and_ctl_carries_it() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("MCP_SOAK_CONTROL_TOKEN", "s3cret-token"),
        ("MCP_SOAK__CONTROL__REQUIRE_TOKEN", "true"),
    ];
    let (mut soak, _summary) = start(
        dir.path(),
        &m.url,
        &["--rate", "5", "--duration", "90s"],
        &env,
    );
    let addr = soak.metrics_addr().await;
    let url = format!("http://{addr}");
    for token in [None, Some("wrong")] {
        let (status, answer) = post(&format!("{url}/control/pause"), "", token).await;
        assert_eq!(status, 401, "{token:?}: {answer}");
    }
    let ctl = |args: &[&str], token: Option<&str>| ctl(&url, args, token);
    let out = ctl(&["state"], Some("s3cret-token"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: Value = serde_json::from_slice(&out.stdout).expect("state JSON");
    assert_eq!(
        state["control"]["paused"], false,
        "the refused pauses changed nothing"
    );
    assert_eq!(state["control"]["enabled"], true);

    let out = ctl(&["pause"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let out = ctl(&["rate", "-3"], Some("s3cret-token"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`rate`"),
        "{out:?}"
    );
    let out = ctl(&["mix", "list_versions=4"], Some("s3cret-token"));
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("answer JSON");
    assert_eq!(answer["to"], json!("list_clusters=1,list_versions=4"));
    soak.signal("INT");
    soak.wait(Duration::from_secs(60)).await;
}
