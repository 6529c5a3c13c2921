//! `mcp-soak validate`: loads a config and runs the same startup checks as `run` (listen address,
//! TLS material, output folders) without sending traffic, then prints the plan as a reader writes it.

use std::fmt::Write as _;

use super::{Exit, ExitError};
use crate::config::{self, RunArgs};
use crate::mcp::McpClient;
use crate::plan::{Load, Plan};
use crate::schedule::Pacer;

/// Arguments of `mcp-soak validate`: the same flags as `run`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak validate -c config/payments.toml
  mcp-soak validate -c config/stepped-mock.toml --stages 10:1m,20:1m   # flags layer over the file
  mcp-soak validate -c config/payments.toml --url http://127.0.0.1:8080/mcp   # also check arguments against the server")]
pub struct Args {
    /// The same config and flags `run` takes.
    #[command(flatten)]
    pub run: Box<RunArgs>,
}

/// Runs `mcp-soak validate`: exit 0 with a plan summary, or the error with exit 2.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let mut plan = config::load(&args.run).map_err(ExitError::usage)?;
    // The same checks as the start of a run; the socket they bind is released when this returns.
    let checked = super::checks::startup(&plan).map_err(ExitError::usage)?;
    print!("{}", describe(&plan));
    print!("{}", describe_checks(&plan, &checked));
    drop(checked);
    if args.run.url.is_some() {
        check_against_server(&mut plan).await?;
    }
    Ok(Exit::Ok)
}

/// `validate --url`: connects, lists the tools and fits the mix to them as `run` does before any
/// traffic (arguments against each tool's schema, unknown and destructive tools).
async fn check_against_server(plan: &mut Plan) -> Result<(), ExitError> {
    let client = McpClient::connect(plan.client.clone())
        .await
        .map_err(ExitError::cannot_start)?;
    let tools = client.list_tools().await;
    client.shutdown().await;
    let tools = tools.map_err(ExitError::cannot_start)?;
    super::run::fit_mix(plan, &tools)?;
    println!(
        "server OK: {} tool(s); every entry's arguments fit its tool's schema",
        tools.len()
    );
    Ok(())
}

/// What the startup checks found, one line.
fn describe_checks(plan: &Plan, checked: &super::checks::Checked) -> String {
    let mut done = Vec::new();
    if let Some(addr) = checked
        .metrics_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
    {
        done.push(format!("metrics address {addr} free"));
    }
    if plan.client.ca_file.is_some() {
        done.push("CA file read".into());
    }
    if plan.output.summary.is_some() {
        done.push("summary folder writable".into());
    }
    if plan.output.raw.is_some() {
        done.push("raw folder writable".into());
    }
    if done.is_empty() {
        done.push("nothing to check".into());
    }
    format!("startup checks: {}\n", done.join(", "))
}

fn dur(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A human-readable summary of a plan (no secrets).
pub fn describe(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "config OK");
    let c = &plan.client;
    match &c.stdio {
        Some(t) => writeln!(
            s,
            "target: {} (stdio, {} process(es), protocol {}, timeout {})",
            c.url,
            t.processes,
            c.protocol,
            dur(c.timeout)
        ),
        None => writeln!(
            s,
            "target: {} ({}, protocol {}, timeout {}, {} sessions {})",
            crate::secret::strip_credentials(&c.url),
            c.transport.as_str(),
            c.protocol,
            dur(c.timeout),
            c.sessions,
            c.session_strategy
        ),
    }
    .unwrap_or_default();
    match &plan.load {
        Load::Open { stages, max_calls } => {
            let p = Pacer::new(stages, *max_calls);
            let _ = writeln!(s, "load: open model, {} stage(s)", stages.len());
            for (i, st) in stages.iter().enumerate() {
                let dur = st.duration.map_or("forever".into(), |d| {
                    humantime::format_duration(d).to_string()
                });
                let calls = p
                    .calls_in_stage(i)
                    .map_or("unbounded".into(), |n| n.to_string());
                let ramp = if st.ramp.is_zero() {
                    String::new()
                } else {
                    format!(", ramp {}", self::dur(st.ramp))
                };
                let _ = writeln!(
                    s,
                    "  stage {i}: {} calls/s for {dur}{ramp} = {calls} calls",
                    st.rate
                );
            }
            let total = p
                .expected_calls()
                .map_or("unbounded".into(), |n| n.to_string());
            let _ = writeln!(s, "  expected calls: {total}");
        }
        Load::Closed {
            users,
            requests_per_user,
            delay,
        } => {
            let _ = writeln!(
                s,
                "load: closed model, {users} users x {requests_per_user} requests (= {} calls), delay {}",
                u64::from(*users) * requests_per_user,
                dur(*delay)
            );
        }
    }
    let total = plan.mix.total_weight().max(1) as f64;
    let _ = writeln!(s, "mix:");
    for op in &plan.mix.ops {
        let pct = f64::from(op.weight) * 100.0 / total;
        let auto = if op.args.is_auto() {
            " (auto args)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:<28} weight {:>5} ({pct:5.1} %){auto}",
            op.name, op.weight
        );
    }
    for slo in &plan.slos {
        let mut targets = Vec::new();
        if let Some(p95) = slo.p95 {
            targets.push(format!("p95 <= {}", humantime::format_duration(p95)));
        }
        if let Some(tps) = slo.min_tps {
            targets.push(format!("ok calls/s >= {tps}"));
        }
        if let Some(ratio) = slo.max_error_ratio {
            targets.push(format!("errors <= {} %", ratio * 100.0));
        }
        let _ = writeln!(
            s,
            "slo {}: {}",
            slo.op.as_deref().unwrap_or("(whole run)"),
            targets.join(", ")
        );
    }
    let _ = writeln!(s, "seed: {}", plan.seed);
    s
}
