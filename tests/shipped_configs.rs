//! Every shipped config under `config/` works as shipped: its arguments fit the tools' schemas
//! (the pre-traffic check passes), a brief run of it (its own load shape, cut to a few seconds by
//! `max_calls`) against the built-in mock — server-everything.toml against the real
//! server-everything — ends without a single error, and its
//! `min_tps` SLOs ask for no more than the mix sends each tool.

mod mcp_common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mcp_soak::commands::Exit;
use mcp_soak::commands::run::execute;
use mcp_soak::config::{RunArgs, load_with_env};
use mcp_soak::engine::Stop;
use mcp_soak::plan::{Load, Plan};
use serde_json::Value;

/// The shipped configs and the server each runs against here.
const CONFIGS: &[(&str, Target)] = &[
    ("assisted-service.toml", Target::Mock),
    ("compose-soak.toml", Target::Mock),
    ("demo.toml", Target::Mock),
    ("payments.toml", Target::Mock),
    ("server-everything.toml", Target::Everything),
    ("stepped-mock.toml", Target::Mock),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Mock,
    Everything,
}

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

#[test]
fn every_shipped_config_is_listed_here() {
    let mut files: Vec<String> = std::fs::read_dir(config_dir())
        .expect("config/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    let listed: Vec<String> = CONFIGS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(files, listed, "add the new config to CONFIGS");
}

/// The config with the target, a summary in `dir`, no metrics server, and a few seconds of its
/// own load: the first stage's rate for 3 s (at least 30 calls).
fn brief_plan(name: &str, url: &str, dir: &Path) -> (Plan, PathBuf) {
    let summary = dir.join(format!("{name}.json"));
    let args = RunArgs {
        config: Some(config_dir().join(name)),
        url: Some(url.to_owned()),
        metrics_listen: Some("none".into()),
        quiet: true,
        no_fail_on_slo: true,
        summary: Some(summary.clone()),
        ..RunArgs::default()
    };
    let mut plan =
        load_with_env(&args, &HashMap::new()).unwrap_or_else(|e| panic!("{name} loads: {e:#}"));
    match &mut plan.load {
        Load::Open { stages, max_calls } => {
            let first = stages.first().map_or(10.0, |s| s.rate);
            *max_calls = Some(((first * 3.0) as u64).clamp(30, 1500));
        }
        Load::Closed {
            requests_per_user, ..
        } => *requests_per_user = (*requests_per_user).min(5),
    }
    (plan, summary)
}

fn op_counts(summary: &Value) -> Vec<(String, Value)> {
    summary["ops"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or("?").to_string(),
                o["totals"]["counts"].clone(),
            )
        })
        .collect()
}

/// Runs `name` briefly against `url` and checks that every call was `ok` (captures included:
/// `verify_payment` waits for the first id `create_payment` captured).
async fn run_clean(name: &str, url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (plan, summary_path) = brief_plan(name, url, dir.path());
    let exit = execute(plan, &Stop::new())
        .await
        .unwrap_or_else(|e| panic!("{name}: run fails before traffic: {e:#}"));
    assert_eq!(exit, Exit::Ok, "{name}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(&summary_path).expect("summary written"))
            .expect("summary is JSON");
    let calls = summary["totals"]["calls"].as_u64().unwrap_or(0);
    assert!(calls >= 30, "{name}: {calls} calls");
    for (op, counts) in op_counts(&summary) {
        let map = counts.as_object().cloned().unwrap_or_default();
        for (outcome, n) in map {
            assert!(
                outcome == "ok" || n == 0,
                "{name}: {op} had {n} {outcome}\nerrors: {}",
                summary["errors"]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_configs_run_clean_against_the_mock() {
    let mock = mcp_common::mock().await;
    for (name, target) in CONFIGS {
        if *target == Target::Mock {
            run_clean(name, &mock.url).await;
        }
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_config_runs_clean_against_server_everything() {
    let (_server, port) = mcp_common::everything("streamableHttp");
    let url = format!("http://127.0.0.1:{port}/mcp");
    for (name, target) in CONFIGS {
        if *target == Target::Everything {
            run_clean(name, &url).await;
        }
    }
}

/// Calls/s the plan sends over its finite stages (ramps ignored), or at its open-ended stage.
fn mean_rate(plan: &Plan) -> f64 {
    let stages = plan.stages();
    if let Some(forever) = stages.iter().find(|s| s.duration.is_none()) {
        return forever.rate;
    }
    let secs: f64 = stages
        .iter()
        .filter_map(|s| s.duration)
        .map(|d| d.as_secs_f64())
        .sum();
    let calls: f64 = stages
        .iter()
        .filter_map(|s| Some(s.rate * s.duration?.as_secs_f64()))
        .sum();
    if secs > 0.0 { calls / secs } else { 0.0 }
}

#[test]
fn min_tps_slos_are_achievable_as_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, _) in CONFIGS {
        let (plan, _) = brief_plan(name, "http://127.0.0.1:1/mcp", dir.path());
        let rate = mean_rate(&plan);
        let total = plan.mix.total_weight().max(1) as f64;
        for slo in &plan.slos {
            let Some(min_tps) = slo.min_tps else { continue };
            let share = match &slo.op {
                None => 1.0,
                Some(op) => {
                    plan.mix
                        .ops
                        .iter()
                        .find(|o| &o.name == op)
                        .map_or(0.0, |o| f64::from(o.weight))
                        / total
                }
            };
            let sent = rate * share;
            assert!(
                min_tps <= sent * 0.95,
                "{name}: slo {:?} asks {min_tps} ok/s, the mix sends it {sent:.1}/s",
                slo.op
            );
        }
    }
}
