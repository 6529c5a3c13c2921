//! The pre-traffic argument check end to end: `validate --url` and `run` against the built-in mock
//! exit 2 with one line per mismatch naming entry, tool and key, and `run` sends no tool call.

use std::net::SocketAddr;
use std::process::Command;

use mcp_soak::mock::{MockConfig, spawn};

const BAD: &str = r#"
[load]
rate = 20
duration = "2s"

[[mix]]
tool = "echo"
args = { message = "hi" }

[[mix]]
tool = "create_payment"
allow_destructive = true
args = { amount = "12.50", currency = "USD", customer_id = "c1", method = "paypal" }

[[mix]]
tool = "get_wallet_balance"
args = { customer_id = { gen = "string" } }
"#;

fn mcp_soak(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-soak"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_arguments_stop_validate_and_run_before_traffic() {
    let mock = spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, BAD).expect("write config");
    let cfg = cfg.to_str().expect("utf-8");
    let url = mock.url.clone();
    let want = [
        r#"mix[1] create_payment: argument "amount": expected number, the template gives string"#,
        r#"mix[1] create_payment: argument "method": "paypal" is not one of "card", "bank_transfer", "wallet""#,
        r#"mix[2] get_wallet_balance: required argument "currency" missing"#,
    ];

    // Without --url, validate does not connect: the file alone is fine.
    let (code, _, stderr) = mcp_soak(&["validate", "-c", cfg]);
    assert_eq!(code, Some(0), "{stderr}");

    let (code, _, stderr) = tokio::task::spawn_blocking({
        let (cfg, url) = (cfg.to_string(), url.clone());
        move || mcp_soak(&["validate", "-c", &cfg, "--url", &url])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(2), "{stderr}");
    for w in want {
        assert!(stderr.contains(w), "missing {w}\n{stderr}");
    }

    let (code, _, stderr) = tokio::task::spawn_blocking({
        let (cfg, url) = (cfg.to_string(), url.clone());
        move || {
            mcp_soak(&[
                "run",
                "-c",
                &cfg,
                "--url",
                &url,
                "--metrics-listen",
                "none",
                "--quiet",
            ])
        }
    })
    .await
    .expect("join");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(want[2]), "{stderr}");
    assert_eq!(
        mock.stats().total_calls(),
        0,
        "no tool call before the check"
    );

    // Fixed, the same config validates against the server.
    let good = BAD
        .replace(r#""12.50""#, "12.5")
        .replace(r#""paypal""#, r#""card""#)
        .replace(
            r#"{ gen = "string" } }"#,
            r#"{ gen = "string" }, currency = "EUR" }"#,
        );
    let good_cfg = dir.path().join("good.toml");
    std::fs::write(&good_cfg, good).expect("write config");
    let (code, stdout, stderr) = tokio::task::spawn_blocking({
        let (cfg, url) = (good_cfg.to_str().expect("utf-8").to_string(), url.clone());
        move || mcp_soak(&["validate", "-c", &cfg, "--url", &url])
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("server OK"), "{stdout}");
    mock.shutdown().await;
}
