//! Tool hints as the MCP spec defines them, end to end: `run` refuses tools that may be destructive
//! before any traffic (exit 2, naming each and how to allow it), `--allow-destructive` lets named
//! ones through, and `discover` writes them commented out — against the mock (annotated and
//! unannotated tools) and the PyPI `mcp` server (which declares no annotations at all).

mod mcp_common;
mod support;

use std::time::Duration;

use mcp_soak::mock::MockConfig;
use support::{Soak, mock, read_summary, start_run};

async fn finish(soak: &mut Soak) -> (Option<i32>, String) {
    let st = soak.wait(Duration::from_secs(60)).await;
    (st.code(), soak.stderr_plain())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_tools_that_may_be_destructive_before_any_call() {
    let m = mock(MockConfig::default()).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix echo=1,install_cluster=1,create_payment=1 --rate 50 --duration 2s \
         --metrics-listen none --quiet",
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(2), "{stderr}");
    for needle in [
        "`install_cluster` (no annotations; the MCP spec's default is destructiveHint: true)",
        "`create_payment` (annotations.destructiveHint: true)",
        "allow_destructive = true",
        "--allow-destructive install_cluster,create_payment",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing:\n{stderr}");
    }
    assert!(!stderr.contains("`echo`"), "echo is read-only:\n{stderr}");
    assert_eq!(m.stats().total_calls(), 0, "no tool was called");
    assert!(!summary.exists(), "no run, no summary");
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_destructive_names_the_tools_that_may_be_called() {
    let m = mock(MockConfig::default()).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--mix install_cluster=1,echo=1 --allow-destructive install_cluster \
         --rate 50 --max-calls 20 --duration 10s --metrics-listen none --quiet",
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(0), "{stderr}");
    let s = read_summary(&summary);
    assert_eq!(s["totals"]["counts"]["ok"], 20, "{s}");
    assert!(m.stats().calls_of("install_cluster") > 0);

    // Allowing one tool does not allow another.
    let (mut soak, _) = start_run(
        &m.url,
        "--mix install_cluster=1,create_payment=1 --allow-destructive create_payment \
         --rate 50 --max-calls 20 --metrics-listen none --quiet",
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--allow-destructive install_cluster`"),
        "{stderr}"
    );
    m.shutdown().await;
}

fn discover(url: &str) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(support::bin())
        .args(["discover", "--url", url])
        .env_remove("RUST_LOG")
        .output()
        .expect("discover runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        support::strip_ansi(&String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_comments_out_what_may_be_destructive_and_describes_arguments() {
    let m = mock(MockConfig::default()).await;
    let url = m.url.clone();
    let (code, config, stderr) = tokio::task::spawn_blocking(move || discover(&url))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("may be destructive (commented out): create_payment, install_cluster"),
        "{stderr}"
    );
    assert!(config.contains("\n[[mix]]\ntool = \"echo\""), "{config}");
    assert!(
        config.contains("\n# [[mix]]\n# tool = \"install_cluster\""),
        "{config}"
    );
    assert!(
        config.contains("\n# [[mix]]\n# tool = \"create_payment\""),
        "{config}"
    );
    assert!(
        config.contains("# required: amount, currency, method, customer_id"),
        "{config}"
    );
    assert!(
        config.contains("#   currency*: string, pattern ^[A-Z]{3}$"),
        "{config}"
    );
    // The starter config runs as written: nothing it leaves active is refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("soak.toml");
    std::fs::write(&path, &config).expect("write config");
    let summary = dir.path().join("summary.json");
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "-c",
            path.to_str().expect("utf-8"),
            "--mix",
            "echo=1,list_clusters=1,tools/list=1",
            "--rate",
            "50",
            "--max-calls",
            "10",
            "--metrics-listen",
            "none",
            "--quiet",
            "--summary",
            summary.to_str().expect("utf-8"),
        ],
        &[],
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(m.stats().calls_of("install_cluster"), 0);
    assert_eq!(m.stats().calls_of("create_payment"), 0);
    m.shutdown().await;
}

/// The PyPI `mcp` server declares no annotations: every tool may be destructive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_server_without_annotations_is_refused_until_allowed() {
    let (_server, port) = mcp_common::python_server(false);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let u = url.clone();
    let (code, config, stderr) = tokio::task::spawn_blocking(move || discover(&u))
        .await
        .expect("join");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("declares no annotations on any tool"),
        "{stderr}"
    );
    assert!(
        config.contains("declares no annotations on any tool"),
        "{config}"
    );
    assert!(config.contains("\n# tool = \"add\""), "{config}");
    assert!(config.contains("#   a*: integer"), "{config}");
    assert!(!config.contains("\ntool = \"add\""), "{config}");

    let (mut soak, _) = start_run(
        &url,
        "--mix add=1 --rate 20 --max-calls 5 --metrics-listen none --quiet",
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`add` (no annotations"), "{stderr}");

    let (mut soak, summary) = start_run(
        &url,
        "--mix add=1 --allow-destructive add --rate 20 --max-calls 5 --metrics-listen none --quiet",
    );
    let (code, stderr) = finish(&mut soak).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(read_summary(&summary)["totals"]["counts"]["ok"], 5);
}
