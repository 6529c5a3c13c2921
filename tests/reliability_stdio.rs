//! No stdio server outlives mcp-soak: not after SIGTERM mid-run (orderly: stdin closed, SIGTERM,
//! SIGKILL by process group) and not after SIGKILL (the parent-death signal, then end of input).
//! Each server is wrapped in a shell that forks it, so grandchildren are checked too.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use support::{Soak, get_text, wait_until};

/// pid → (parent pid, state) of every process now.
fn processes() -> HashMap<u32, (u32, char)> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.insert(pid, (ppid, state));
    }
    out
}

/// Every live (not zombie) descendant of `root`.
fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            all.iter()
                .filter(|(_, (pp, st))| *pp == parent && *st != 'Z')
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn alive(pids: &[u32]) -> Vec<u32> {
    let all = processes();
    pids.iter()
        .copied()
        .filter(|p| all.get(p).is_some_and(|(_, st)| *st != 'Z'))
        .collect()
}

/// Starts a soak of two shell-wrapped mock servers; returns it once all four processes run.
async fn soak_with_servers(dir: &std::path::Path, metrics_listen: &str) -> (Soak, Vec<u32>) {
    let bin = support::bin();
    // `; true` keeps the shell from exec-ing: the mock is a grandchild of mcp-soak.
    let cmd = format!("sh -c '{bin} mock --stdio; true'");
    let args = [
        "run",
        "--stdio",
        &cmd,
        "--processes",
        "2",
        "--mix",
        "echo=1",
        "--rate",
        "20",
        "--duration",
        "10m",
        "--metrics-listen",
        metrics_listen,
        "--linger",
        "0s",
        "--quiet",
    ];
    let soak = Soak::start(dir, &args, &[]);
    let pid = soak.child.id();
    wait_until(
        Duration::from_secs(60),
        "two shells and two servers",
        || descendants(pid).len() >= 4,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tree = descendants(pid);
    (soak, tree)
}

#[tokio::test]
async fn sigterm_mid_run_stops_every_server_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut soak, tree) = soak_with_servers(dir.path(), "none").await;
    soak.signal("TERM");
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "stderr:\n{}", soak.stderr());
    wait_until(Duration::from_secs(10), "no server left", || {
        alive(&tree).is_empty()
    })
    .await;
    let err = soak.stderr_plain();
    assert!(
        !err.contains("restarting"),
        "an orderly stop is not a crash:\n{err}"
    );
}

#[tokio::test]
async fn sigkill_mid_run_leaves_no_orphan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut soak, tree) = soak_with_servers(dir.path(), "none").await;
    soak.signal("KILL");
    soak.wait(Duration::from_secs(10)).await;
    wait_until(Duration::from_secs(10), "no orphaned server", || {
        alive(&tree).is_empty()
    })
    .await;
}

/// The value of an unlabelled-by-us series (global labels only) on a Prometheus page.
fn value(page: &str, name: &str) -> f64 {
    page.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not on the page:\n{page}"))
}

#[tokio::test]
async fn server_processes_are_sampled_on_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut soak, _) = soak_with_servers(dir.path(), "127.0.0.1:0").await;
    let addr = soak.metrics_addr().await;
    let url = format!("http://{addr}/metrics");
    let mut page = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        page = get_text(&url).await;
        if page.contains("mcp_soak_server_processes")
            && value(&page, "mcp_soak_server_processes") == 2.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value(&page, "mcp_soak_server_processes"), 2.0, "{page}");
    assert_eq!(value(&page, "mcp_soak_server_process_restarts_total"), 0.0);
    // Two shells and two mocks: several MB resident, a handful of fds each.
    assert!(
        value(&page, "mcp_soak_server_resident_bytes") > 4e6,
        "{page}"
    );
    assert!(value(&page, "mcp_soak_server_open_fds") >= 12.0, "{page}");
    assert!(value(&page, "mcp_soak_server_cpu_seconds") >= 0.0);
    soak.signal("TERM");
    soak.wait(Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_crashing_server_mid_run_is_counted_and_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/stdio_faulty.py");
    let cmd = format!("python3 {script} crash 30");
    let summary = dir.path().join("summary.json");
    let args = [
        "run",
        "--stdio",
        &cmd,
        "--mix",
        "echo=1",
        "--rate",
        "40",
        "--duration",
        "3s",
        "--metrics-listen",
        "none",
        "--quiet",
        "--summary",
        summary.to_str().expect("utf-8"),
    ];
    let mut soak = Soak::start(dir.path(), &args, &[]);
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    let s = support::read_summary(&summary);
    let c = &s["totals"]["counts"];
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    // ~120 calls, a crash every 30: restarts, every call accounted for exactly once. More than 30
    // ok means a restarted process answered; how many depends on how fast Python starts again,
    // which a loaded machine stretches (52 ok of 120 seen under load).
    assert!(n("ok") > 30, "{c}");
    assert!(n("protocol") + n("connect") >= 1, "{c}");
    assert_eq!(
        n("timeout"),
        0,
        "a dead process never leaves a call hanging: {c}"
    );
    let total: u64 = ["ok", "protocol", "connect", "dropped"]
        .iter()
        .map(|k| n(k))
        .sum();
    assert_eq!(total, s["totals"]["calls"].as_u64().unwrap_or(0), "{c}");
    let err = soak.stderr_plain();
    assert!(
        err.contains("crashing on purpose") && err.contains("restarting"),
        "{err}"
    );
}

#[tokio::test]
async fn a_command_that_cannot_start_exits_3_with_require_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "run",
        "--stdio",
        "/nonexistent/mcp-server --stdio",
        "--mix",
        "echo=1",
        "--rate",
        "5",
        "--duration",
        "2s",
        "--metrics-listen",
        "none",
        "--quiet",
        "--require-target",
    ];
    let mut soak = Soak::start(dir.path(), &args, &[]);
    let st = soak.wait(Duration::from_secs(30)).await;
    assert_eq!(st.code(), Some(3), "{}", soak.stderr());
    let err = soak.stderr_plain();
    assert!(
        err.contains("stdio:/nonexistent/mcp-server --stdio") && err.contains("No such file"),
        "{err}"
    );
}
