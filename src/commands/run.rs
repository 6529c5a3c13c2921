//! `mcp-soak run`: load the plan, connect, soak, report, and exit with the SLO verdict.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::engine::{self, Finished, Stop, StopReason};
use crate::plan::Plan;
use crate::record::http::{MetricsServer, Readiness};
use crate::record::{Recorder, RecorderSetup, RunInfo};
use crate::report::summary::{self, RunMeta, Summary};
use crate::report::{console, write};

/// Arguments of `mcp-soak run`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak run --url http://127.0.0.1:8080/mcp --rate 50 --duration 10m
  mcp-soak run --url http://127.0.0.1:8080/mcp --stages 50:5m,100:5m,200:5m --summary results/{timestamp}.json
  mcp-soak run -c config/payments.toml --slo 'create_payment:p95=150ms,tps=1000,errors=0.1%'
  mcp-soak run --url http://127.0.0.1:8080/mcp --scenario moderate --mixed")]
pub struct Args {
    #[command(flatten)]
    pub config: Box<crate::config::RunArgs>,
}

/// Runs `mcp-soak run`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let plan = crate::config::load(&args.config).map_err(ExitError::usage)?;
    let stop = Stop::new();
    stop.listen_for_signals();
    execute(plan, &stop).await
}

/// Runs a loaded plan end to end; shared by `run` and `demo`.
///
/// The summary is written whenever the run got as far as starting, including when it was
/// interrupted or failed half-way.
pub async fn execute(mut plan: Plan, stop: &Stop) -> anyhow::Result<Exit> {
    let run_id = uuid::Uuid::new_v4().to_string();
    let recorder = Recorder::new(RecorderSetup::from_plan(
        &plan,
        RunInfo::new(&run_id, &plan),
    ))
    .context("setting up the recorder")?;
    let readiness = Readiness::default();
    let server = match plan.output.metrics_listen {
        Some(addr) => Some(
            crate::record::http::serve(addr, recorder.prometheus_handle(), readiness.clone())
                .await
                .map_err(ExitError::cannot_start)?,
        ),
        None => None,
    };
    if let Some(server) = &server {
        tracing::info!(addr = %server.addr(), "serving /metrics, /healthz, /readyz");
    }

    // Could not connect or negotiate at all: nothing was measured, exit 3.
    let client = engine::connect(&plan)
        .await
        .map_err(ExitError::cannot_start)?;
    let negotiated = client.negotiated().clone();
    tracing::info!(
        protocol = %negotiated.protocol_version,
        server = negotiated.server_name.as_deref().unwrap_or("?"),
        version = negotiated.server_version.as_deref().unwrap_or("?"),
        "connected"
    );
    let tools = client
        .list_tools()
        .await
        .context("listing the server's tools")?;
    plan.resolve_tools(&tools).map_err(ExitError::usage)?;
    readiness.set(true);

    let started = SystemTime::now();
    let finished = engine::run(plan.clone(), client, recorder.clone(), stop).await;
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("run failed: {e:#}");
            Finished {
                started,
                ended: SystemTime::now(),
                negotiated: Some(negotiated),
                stop_reason: StopReason::Signal,
                cancelled_in_flight: 0,
            }
        }
    };
    let exit = report(&plan, &run_id, &recorder, &finished)?;
    readiness.set(false);
    if let Some(server) = server {
        engine::linger(plan.output.linger, stop).await;
        server.shutdown().await;
    }
    Ok(exit)
}

/// Builds the summary, writes the JSON file and the console report, and returns the exit code.
fn report(
    plan: &Plan,
    run_id: &str,
    recorder: &Recorder,
    finished: &Finished,
) -> anyhow::Result<Exit> {
    let snapshot = recorder.snapshot();
    let meta = RunMeta::new(plan, run_id, finished);
    let summary: Summary = summary::build(&snapshot, &plan.slos, meta);
    if let Some(path) = &plan.output.summary {
        let written = write::write_summary(path, &summary)
            .with_context(|| format!("writing the summary to {}", path.display()))?;
        tracing::info!(path = %written.display(), "summary written");
    }
    let mut out = std::io::stdout().lock();
    console::write(&summary, &mut out).context("writing the report")?;
    out.flush().ok();
    let failed = summary.slo_failed();
    Ok(if failed && !plan.output.no_fail_on_slo {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}
