//! `mcp-soak validate`: exit 0 with a plan summary for a good config, exit 2 naming the key for a bad one.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mcp-soak"))
}

#[test]
fn validate_exit_codes() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/stepped-mock.toml");
    let out = bin()
        .args(["validate", "-c", cfg, "--metrics-listen", "127.0.0.1:0"])
        .env_remove("MCP_SOAK__LOAD__RATE")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("expected calls: 6400") && stdout.contains("create_payment"),
        "{stdout}"
    );

    let out = bin()
        .args(["validate", "-c", cfg])
        .env("MCP_SOAK__LOAD__MAX_IN_FLIGHT", "0")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("MCP_SOAK__LOAD__MAX_IN_FLIGHT") && stderr.contains("load.max_in_flight"),
        "{stderr}"
    );
}
