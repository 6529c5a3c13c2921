//! The stdio transport against real processes: the built-in mock (`mcp-soak mock --stdio`), the
//! TypeScript server-everything and the Python SDK over stdio, and deliberately broken servers
//! (crash mid-run, stall, logs on stdout, ignores end of input and SIGTERM).

mod mcp_common;

use std::time::{Duration, Instant};

use mcp_common::*;
use mcp_soak::mcp::stdio::StdioTarget;
use mcp_soak::mcp::{ClientConfig, Era, McpClient, McpRequest, OutcomeKind, ProtocolChoice};
use serde_json::json;

fn target(command: &[&str], processes: u32) -> StdioTarget {
    StdioTarget {
        command: command.iter().map(|s| s.to_string()).collect(),
        processes,
        ..StdioTarget::default()
    }
}

fn stdio_config(t: StdioTarget, protocol: ProtocolChoice) -> ClientConfig {
    ClientConfig {
        stdio: Some(t),
        protocol,
        timeout: Duration::from_secs(20),
        ..ClientConfig::default()
    }
}

fn mock_cmd() -> Vec<&'static str> {
    vec![env!("CARGO_BIN_EXE_mcp-soak"), "mock", "--stdio"]
}

fn faulty(mode: &str, n: &str) -> StdioTarget {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/stdio_faulty.py");
    target(&["python3", script, mode, n], 1)
}

/// A connected client of one `stdio_faulty.py MODE N` process.
async fn faulty_client(mode: &str, n: &str) -> McpClient {
    McpClient::connect(stdio_config(faulty(mode, n), ProtocolChoice::Auto))
        .await
        .expect("connect")
}

fn echo(message: &str) -> McpRequest {
    McpRequest::ToolsCall {
        name: "echo".into(),
        arguments: json!({ "message": message }),
    }
}

/// True while a process with this pid runs (a zombie has ended: only its exit status is left).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .is_some_and(|state| state != "Z")
}

/// Waits (bounded) until none of `pids` exists.
async fn gone(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Many concurrent calls over a pool of `n` processes: all ok, spread over every process.
async fn soak_briefly(client: &McpClient, n: u32, calls: usize) {
    let outs = futures_util::future::join_all(
        (0..calls).map(|i| async move { client.call(&echo(&format!("m{i}")), true).await }),
    )
    .await;
    for o in &outs {
        assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
        assert!(o.bytes > 0 && o.status.is_none(), "{o:?}");
    }
    let mut used: Vec<u32> = outs.iter().filter_map(|o| o.session).collect();
    used.sort();
    used.dedup();
    assert_eq!(
        used,
        (0..n).collect::<Vec<_>>(),
        "calls spread over every process"
    );
    let text = outs[7]
        .result
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    assert!(text.contains("m7"), "replies routed by id: {text}");
}

#[tokio::test]
async fn mock_pool_stateless_multiplexes_and_leaves_no_process() {
    let client = McpClient::connect(stdio_config(target(&mock_cmd(), 3), ProtocolChoice::Auto))
        .await
        .expect("connect");
    assert_eq!(client.negotiated().era, Era::Stateless);
    assert_eq!(
        client.negotiated().server_name.as_deref(),
        Some("mcp-soak-mock")
    );
    let tools = client.list_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "echo"));
    soak_briefly(&client, 3, 200).await;
    let pool = client.stdio().expect("stdio pool");
    let pids = pool.pids();
    assert_eq!(pids.len(), 3);
    let usage = pool.resources();
    assert_eq!(usage.len(), 3);
    assert!(
        usage
            .iter()
            .all(|(_, u)| u.resident_bytes > 0 && u.open_fds >= 3 && u.processes >= 1),
        "{usage:?}"
    );
    client.shutdown().await;
    assert!(gone(&pids).await, "every server process ended: {pids:?}");
}

#[tokio::test]
async fn mock_pool_session_era_initializes_each_process() {
    let rev = ProtocolChoice::Revision("2025-11-25".into());
    let client = McpClient::connect(stdio_config(target(&mock_cmd(), 2), rev))
        .await
        .expect("connect");
    assert_eq!(client.negotiated().era, Era::Session);
    assert_eq!(client.negotiated().protocol_version, "2025-11-25");
    soak_briefly(&client, 2, 50).await;
    let s = client.session_stats();
    assert_eq!((s.active, s.initialized, s.expired), (2, 2, 0));
    client.shutdown().await;
}

#[tokio::test]
async fn server_everything_over_stdio_falls_back_to_the_session_era() {
    let js = peer("everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let js = js.to_str().expect("utf-8 path");
    let client = McpClient::connect(stdio_config(
        target(&["node", js, "stdio"], 2),
        ProtocolChoice::Auto,
    ))
    .await
    .expect("connect");
    assert_eq!(client.negotiated().era, Era::Session);
    assert_eq!(client.negotiated().protocol_version, "2025-11-25");
    let tools = client.list_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "get-sum"), "{}", tools.len());
    soak_briefly(&client, 2, 40).await;
    let pids = client.stdio().expect("pool").pids();
    client.shutdown().await;
    assert!(gone(&pids).await);
}

#[tokio::test]
async fn python_sdk_over_stdio_is_stateless() {
    let py = peer("pyenv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/mcp_py_server.py");
    let t = target(&[py.to_str().expect("utf-8"), script, "stdio"], 1);
    let client = McpClient::connect(stdio_config(t, ProtocolChoice::Auto))
        .await
        .expect("connect");
    assert_eq!(client.negotiated().era, Era::Stateless);
    let add = McpRequest::ToolsCall {
        name: "add".into(),
        arguments: json!({"a": 2, "b": 3}),
    };
    let ok = client.call(&add, true).await;
    assert_eq!(ok.kind, OutcomeKind::Ok, "{ok:?}");
    let fail = McpRequest::ToolsCall {
        name: "fail".into(),
        arguments: json!({"message": "kaput"}),
    };
    assert_eq!(client.call(&fail, false).await.kind, OutcomeKind::ToolError);
    client.shutdown().await;
}

#[tokio::test]
async fn a_crashing_server_fails_calls_in_flight_and_is_restarted() {
    let client = faulty_client("crash", "5").await;
    assert_eq!(client.negotiated().era, Era::Session);
    let first_pid = client.stdio().expect("pool").pids()[0];
    let outs = futures_util::future::join_all((0..8).map(|i| {
        let c = client.clone();
        async move { c.call(&echo(&i.to_string()), false).await }
    }))
    .await;
    let ok = outs.iter().filter(|o| o.kind == OutcomeKind::Ok).count();
    assert_eq!(ok, 5, "{outs:?}");
    let lost: Vec<_> = outs.iter().filter(|o| o.kind != OutcomeKind::Ok).collect();
    for o in &lost {
        assert_eq!(o.kind, OutcomeKind::Protocol, "{o:?}");
        let d = o.detail.as_deref().unwrap_or_default();
        assert!(
            d.contains("exited (exit status: 3) with the call in flight; last stderr line: faulty: crashing"),
            "{d}"
        );
    }
    // Down until the restart: calls get `connect` and say why; then the new process answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut saw_connect = false;
    loop {
        let o = client.call(&echo("again"), false).await;
        if o.kind == OutcomeKind::Ok {
            break;
        }
        assert_eq!(o.kind, OutcomeKind::Connect, "{o:?}");
        let d = o.detail.as_deref().unwrap_or_default();
        assert!(
            d.contains("exited (exit status: 3)") && !d.contains("in flight"),
            "{d}"
        );
        saw_connect = true;
        assert!(Instant::now() < deadline, "restarted within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pool = client.stdio().expect("pool");
    assert_ne!(pool.pids()[0], first_pid, "a new process");
    let st = pool.pool_stats();
    assert_eq!(
        (st.restarts, st.started, st.running),
        (1, 2, 1),
        "saw connect: {saw_connect}"
    );
    assert!(!alive(first_pid) || gone(&[first_pid]).await);
    client.shutdown().await;
}

#[tokio::test]
async fn a_stalled_server_times_out_and_does_not_leak_waiters() {
    // The timeout also bounds the handshake, which waits for Python to start: on a loaded machine
    // that alone can take longer than a few hundred milliseconds.
    let mut cfg = stdio_config(faulty("stall", "0"), ProtocolChoice::Auto);
    cfg.timeout = Duration::from_secs(2);
    let client = McpClient::connect(cfg).await.expect("connect");
    let t0 = Instant::now();
    let o = client.call(&echo("x"), false).await;
    assert_eq!(o.kind, OutcomeKind::Timeout, "{o:?}");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "ends at its timeout, not before, not much after: {took:?}"
    );
    // The handshake-era requests still work: the process is alive, only tools/call stalls.
    assert!(client.list_tools().await.is_ok());
    client.shutdown().await;
}

#[tokio::test]
async fn a_server_that_stops_reading_stdin_costs_a_bounded_queue() {
    let mut cfg = stdio_config(faulty("no-read", "0"), ProtocolChoice::Auto);
    cfg.timeout = Duration::from_secs(3);
    cfg.max_connections = 5000;
    let client = McpClient::connect(cfg).await.expect("connect");
    // ~100 bytes a call: the pipe (64 KiB) and the queue (1,024) fill well before 3,000.
    let outs = futures_util::future::join_all((0..3000).map(|i| {
        let c = client.clone();
        async move { c.call(&echo(&i.to_string()), false).await }
    }))
    .await;
    let refused = outs
        .iter()
        .filter(|o| {
            o.kind == OutcomeKind::Connect
                && o.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("not reading its stdin"))
        })
        .count();
    let timeouts = outs
        .iter()
        .filter(|o| o.kind == OutcomeKind::Timeout)
        .count();
    assert!(refused >= 1000, "refused {refused}, timeouts {timeouts}");
    assert_eq!(refused + timeouts, 3000);
    client.shutdown().await;
}

#[tokio::test]
async fn logs_on_stdout_are_a_protocol_error_naming_the_line() {
    let client = faulty_client("stdout-log", "0").await;
    let o = client.call(&echo("x"), false).await;
    assert_eq!(o.kind, OutcomeKind::Protocol, "{o:?}");
    let d = o.detail.unwrap_or_default();
    assert!(
        d.contains("non-JSON") && d.contains("handling tools/call"),
        "{d}"
    );
    assert!(client.stdio().expect("pool").pool_stats().not_json_lines >= 1);
    client.shutdown().await;
}

#[tokio::test]
async fn a_server_that_ignores_eof_and_sigterm_is_killed() {
    let client = faulty_client("ignore-eof", "0").await;
    let pids = client.stdio().expect("pool").pids();
    let t0 = Instant::now();
    client.shutdown().await;
    // stdin grace (2 s) + SIGTERM grace (3 s), then SIGKILL.
    assert!(t0.elapsed() >= Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(gone(&pids).await, "SIGKILLed");
}

#[tokio::test]
async fn a_command_that_cannot_start_is_unreachable() {
    let e = McpClient::connect(stdio_config(
        target(&["/nonexistent/server"], 1),
        ProtocolChoice::Auto,
    ))
    .await
    .err()
    .expect("fails");
    assert!(e.is_unreachable(), "{e}");
    assert!(e.to_string().contains("stdio:/nonexistent/server"), "{e}");
    // A server that exits during the handshake fails it at once (not after the 20 s timeout).
    let t0 = Instant::now();
    let e = McpClient::connect(stdio_config(
        target(
            &[
                "python3",
                "-c",
                "import sys; sys.stderr.write('no config\\n'); sys.exit(2)",
            ],
            1,
        ),
        ProtocolChoice::Auto,
    ))
    .await
    .err()
    .expect("fails");
    assert!(
        e.is_unreachable()
            && e.to_string().contains("no config")
            && t0.elapsed() < Duration::from_secs(5),
        "{e}"
    );
}

#[test]
fn discover_over_stdio_prints_a_config_that_validates() {
    let bin = env!("CARGO_BIN_EXE_mcp-soak");
    let line = format!("{bin} mock --stdio");
    let out = std::process::Command::new(bin)
        .args(["discover", "--stdio", &line])
        .output()
        .expect("run discover");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains(&format!("command = {line:?}")), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("soak.toml");
    std::fs::write(&file, &text).expect("write");
    let v = std::process::Command::new(bin)
        .args(["validate", "-c", file.to_str().expect("utf-8")])
        .output()
        .expect("run validate");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[tokio::test]
async fn dropping_the_client_without_shutdown_still_stops_the_servers() {
    let client = McpClient::connect(stdio_config(target(&mock_cmd(), 2), ProtocolChoice::Auto))
        .await
        .expect("connect");
    let pids = client.stdio().expect("pool").pids();
    drop(client);
    assert!(gone(&pids).await, "{pids:?}");
}

/// The pids whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

#[test]
fn a_dropped_runtime_kills_the_whole_server_group() {
    // A shell that forks a server which ignores end of input and SIGTERM: killing only the shell
    // (what `kill_on_drop` does) would orphan it; the drop path kills the group.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/stdio_faulty.py");
    let line = format!("python3 {script} ignore-eof; true");
    let t = target(&["sh", "-c", &line], 1);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (client, mut pids) = rt.block_on(async {
        let c = McpClient::connect(stdio_config(t, ProtocolChoice::Auto))
            .await
            .expect("connect");
        let pids = c.stdio().expect("pool").pids();
        (c, pids)
    });
    let grandchildren = children(pids[0]);
    assert_eq!(grandchildren.len(), 1, "the shell forked the server");
    pids.extend(grandchildren);
    drop(rt);
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| alive(*p)) {
        assert!(Instant::now() < deadline, "still alive: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
