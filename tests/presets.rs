//! The old scripts' presets work as they did: `--scenario` with the assisted-service script's users,
//! requests and delays and, without a mix, its tools; `--mixed` with arguments the payments tools
//! accept and create_payment allowed explicitly; both clean against the mock.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use clap::Parser;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::mock::MockConfig;
use mcp_soak::plan::{Load, Plan};
use support::{mock, read_summary, start_run};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

fn plan(flags: &[&str]) -> Result<Plan, mcp_soak::config::ConfigError> {
    let mut argv = vec!["mcp-soak", "--url", "http://127.0.0.1:9/mcp"];
    argv.extend_from_slice(flags);
    let args = Cli::try_parse_from(argv).expect("flags parse").run;
    load_with_env(&args, &HashMap::new())
}

fn names(p: &Plan) -> Vec<&str> {
    p.mix.ops.iter().map(|o| o.name.as_str()).collect()
}

#[test]
fn scenarios_carry_the_assisted_service_delays_and_mix() {
    for (name, users, requests, delay_ms) in [
        ("light", 5, 3, 100),
        ("moderate", 20, 5, 100),
        ("heavy", 50, 10, 50),
        ("stress", 100, 20, 20),
    ] {
        let p = plan(&["--scenario", name]).expect("a scenario alone loads");
        assert_eq!(
            p.load,
            Load::Closed {
                users,
                requests_per_user: requests,
                delay: Duration::from_millis(delay_ms)
            },
            "{name}"
        );
        assert_eq!(
            names(&p),
            [
                "list_clusters",
                "list_versions",
                "list_operator_bundles",
                "tools/list"
            ]
        );
        let weights: Vec<u32> = p.mix.ops.iter().map(|o| o.weight).collect();
        assert_eq!(weights, [40, 30, 20, 10]);
    }
    // An explicit delay and an explicit mix win over the preset's.
    let p = plan(&["--scenario", "heavy", "--delay", "0", "--mix", "echo=1"]).expect("loads");
    assert!(matches!(p.load, Load::Closed { delay, .. } if delay.is_zero()));
    assert_eq!(names(&p), ["echo"]);
    // `--quick` and `--total/--concurrent` alone take the same preset mix.
    for flags in [&["--quick"][..], &["--total", "50", "--concurrent", "5"]] {
        let p = plan(flags).expect("a closed-model preset alone loads");
        assert_eq!(names(&p).len(), 4, "{flags:?}");
        assert_eq!(names(&p)[0], "list_clusters", "{flags:?}");
    }
}

#[test]
fn mixed_needs_create_payment_allowed_by_name() {
    let p = plan(&["--scenario", "moderate", "--mixed"]).expect("loads");
    assert_eq!(
        names(&p),
        ["create_payment", "verify_payment", "get_wallet_balance"]
    );
    assert!(p.mix.ops.iter().all(|o| !o.allow_destructive));
    let p = plan(&[
        "--scenario",
        "moderate",
        "--mixed",
        "--allow-destructive",
        "create_payment",
    ])
    .expect("loads");
    let allowed: Vec<bool> = p.mix.ops.iter().map(|o| o.allow_destructive).collect();
    assert_eq!(allowed, [true, false, false]);

    let err = plan(&["--mixed", "--allow-destructive", "create_paymnet"]).expect_err("typo");
    assert_eq!(err.origin, "flag --allow-destructive");
    assert!(
        err.message.contains("\"create_paymnet\"") && err.message.contains("create_payment"),
        "{err}"
    );
}

/// Every count but `ok` is zero, and `ok` is `calls`.
fn assert_clean(s: &serde_json::Value, calls: u64) {
    let counts = s["totals"]["counts"].as_object().expect("counts");
    for (kind, n) in counts {
        let want = if kind == "ok" { calls } else { 0 };
        assert_eq!(n.as_u64(), Some(want), "{kind}: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_moderate_mixed_runs_clean_against_the_mock() {
    let m = mock(MockConfig::default()).await;
    let (mut soak, summary) = start_run(
        &m.url,
        "--scenario moderate --mixed --allow-destructive create_payment \
         --metrics-listen none --quiet",
    );
    let st = soak.wait(Duration::from_secs(120)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    assert_clean(&read_summary(&summary), 100);
    let stats = m.stats();
    assert!(stats.calls_of("create_payment") > 0, "{stats:?}");
    assert!(stats.calls_of("verify_payment") > 0, "{stats:?}");
    assert!(stats.calls_of("get_wallet_balance") > 0, "{stats:?}");

    // Without the allow, nothing is called.
    let before = m.stats().total_calls();
    let (mut soak, _) = start_run(
        &m.url,
        "--scenario moderate --mixed --metrics-listen none --quiet",
    );
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(2), "{}", soak.stderr());
    assert!(
        soak.stderr_plain()
            .contains("--allow-destructive create_payment"),
        "{}",
        soak.stderr()
    );
    assert_eq!(m.stats().total_calls(), before);
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_alone_runs_the_assisted_service_mix_clean() {
    let m = mock(MockConfig::default()).await;
    let (mut soak, summary) = start_run(&m.url, "--scenario light --metrics-listen none --quiet");
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    let s = read_summary(&summary);
    assert_clean(&s, 15);
    // 5 users × 3 calls with 0.1 s after each reply but the last: at least 0.2 s.
    let took = s["duration_s"].as_f64().expect("duration_s");
    assert!(took >= 0.2, "the preset's delay was not applied: {took} s");
    let stats = m.stats();
    assert!(
        stats.calls_of("list_clusters")
            + stats.calls_of("list_versions")
            + stats.calls_of("list_operator_bundles")
            > 0,
        "{stats:?}"
    );
    m.shutdown().await;
}
