//! `mcp-soak run`: load the plan, connect, soak, report, and exit with the SLO verdict.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Context;
use serde_json::json;

use super::checkpoint::{self, Checkpointer};
use super::control::Controller;
use super::{Exit, ExitError};
use crate::engine::{self, Finished, FirstConnect, Stop, StopReason};
use crate::mcp::{Auth, Negotiated};
use crate::plan::{Load, Plan};
use crate::record::events::Events;
use crate::record::{Recorder, RecorderSetup, RunInfo, StagePlan, names};
use crate::report::summary::{self, ProtocolInfo, RunMeta, Summary};
use crate::report::{console, write};
use crate::schedule::Pacer;
use crate::schedule::control::Steering;
use crate::secret::strip_credentials;
use crate::serve::{ControlAct, ControlRoutes, ControlState, Readiness};

/// Arguments of `mcp-soak run`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak run --url http://127.0.0.1:8080/mcp --rate 50 --duration 10m
  mcp-soak run --url http://127.0.0.1:8080/mcp --stages 50:5m,100:5m,200:5m --summary results/{timestamp}.json
  mcp-soak run -c config/payments.toml --slo 'create_payment:p95=150ms,tps=1000,errors=0.1%'
  mcp-soak run --url http://127.0.0.1:8080/mcp --scenario moderate --mixed --allow-destructive create_payment")]
pub struct Args {
    /// The config file, the environment and every flag.
    #[command(flatten)]
    pub config: Box<crate::config::RunArgs>,
}

/// Runs `mcp-soak run`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let plan = crate::config::load(&args.config).map_err(ExitError::usage)?;
    let stop = Stop::new();
    stop.listen_for_signals();
    execute_with(plan, &stop, Some(*args.config)).await
}

/// Runs a loaded plan end to end; shared by `run` and `demo`.
///
/// Once the run has started, the summary is written however it ends: completed, interrupted, or
/// failed half-way.
pub async fn execute(plan: Plan, stop: &Stop) -> anyhow::Result<Exit> {
    execute_with(plan, stop, None).await
}

/// [`execute`], reloading the SLOs from `reload_from` (the run's config) on SIGHUP when given.
async fn execute_with(
    mut plan: Plan,
    stop: &Stop,
    reload_from: Option<crate::config::RunArgs>,
) -> anyhow::Result<Exit> {
    let run_id = plan.identity.run_id.clone();
    // Everything that can be wrong before a call is sent is a configuration error (exit 2), found now.
    let checked = super::checks::startup(&plan).map_err(ExitError::usage)?;
    // Could not connect or negotiate at all, and it matters: nothing was measured, exit 3.
    let first = engine::first_connect(&plan)
        .await
        .map_err(ExitError::cannot_start)?;
    let client = match first {
        FirstConnect::Connected(client) => {
            let negotiated = client.negotiated().clone();
            tracing::info!(
                protocol = %negotiated.protocol_version,
                server = negotiated.server_name.as_deref().unwrap_or("?"),
                version = negotiated.server_version.as_deref().unwrap_or("?"),
                "connected"
            );
            warn_sessionless(&plan, &negotiated);
            let tools = client
                .list_tools()
                .await
                .context("listing the server's tools")?;
            fit_mix(&mut plan, &tools)?;
            Ok(client)
        }
        FirstConnect::Down(reason) => {
            tracing::warn!(
                "target down at start ({reason}): the schedule starts anyway, every call counts \
                 as `connect` until the target is reached; retrying in the background \
                 (--require-target exits 3 instead)"
            );
            Err(reason)
        }
    };
    let protocol = match &client {
        Ok(c) => c.negotiated().protocol_version.clone(),
        Err(_) => plan.client.protocol.to_string(),
    };

    let recorder = Recorder::new(recorder_setup(&plan, &run_id, &protocol))
        .context("setting up the recorder")?;
    let readiness = Readiness::new();
    let events = Events::new(std::time::Instant::now());
    let controller = Controller::new(steering(&plan), recorder.clone(), events.clone());
    let server = match checked.metrics_listener {
        Some(listener) => {
            let routes = control_routes(&plan, &listener, &recorder, &controller)
                .map_err(ExitError::usage)?;
            Some(
                crate::serve::serve_bound(
                    listener,
                    recorder.prometheus(),
                    readiness.clone(),
                    Some(routes),
                )
                .map_err(ExitError::cannot_start)?,
            )
        }
        None if plan.control.enabled => {
            return Err(ExitError::usage(anyhow::anyhow!(
                "`control.enabled`: the controls live on the metrics listener, which is off \
                 (set --metrics-listen 127.0.0.1:9464)"
            ))
            .into());
        }
        None => None,
    };
    if let Some(server) = &server {
        tracing::info!(addr = %server.addr(), "serving /metrics, /healthz, /readyz, /control/state");
    }

    // The seed makes the run reproducible: say it, since the default is random.
    tracing::info!(
        seed = plan.seed,
        operations = plan.mix.ops.len(),
        "starting the schedule"
    );
    // The soak limits as gauges, so alert rules compare against them instead of fixed numbers.
    for (name, limit) in [
        (names::SLO_MAX_MEMORY_GROWTH, plan.soak.max_memory_growth),
        (names::SLO_MAX_P95_DRIFT, plan.soak.max_p95_drift),
    ] {
        if let Some(v) = limit {
            recorder.gauge(name, vec![]).set(v);
        }
    }
    // The server's own memory, fds and CPU, sampled beside the load (nothing without a source).
    let sampling = tokio_util::sync::CancellationToken::new();
    let sampler = tokio::spawn(crate::record::resources::sample(
        plan.resources.clone(),
        recorder.clone(),
        sampling.clone(),
    ));
    let started = SystemTime::now();
    let negotiated = client.as_ref().ok().map(|c| c.negotiated().clone());
    // Checkpoints and the final summary share one file: expand `{timestamp}` once.
    plan.output.summary =
        (plan.output.summary.as_deref()).map(|p| write::expand_timestamp(p, started));
    let checkpoints = start_checkpoints(&plan, &recorder, &events, negotiated.as_ref(), started);
    #[cfg(unix)]
    let reloads =
        reload_from.map(|args| super::reload::on_sighup(args, plan.clone(), controller.clone()));
    let watch = super::no_success::watch(
        recorder.clone(),
        plan.output.progress_interval,
        stale(&plan),
    );
    let result = match client {
        Ok(client) => {
            readiness.set_ready(true);
            engine::run(
                plan.clone(),
                client,
                recorder.clone(),
                stop,
                controller.subscribe(),
            )
            .await
        }
        // The connector flips readiness once the target is reached.
        Err(reason) => {
            engine::run_connecting(
                plan.clone(),
                reason,
                readiness.clone(),
                recorder.clone(),
                stop,
                controller.subscribe(),
            )
            .await
        }
    };
    watch.abort();
    // Signals from here on skip the linger, even those that come while the report is written.
    let signals_at_end = stop.signals();
    let mut finished = match result {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("run failed: {e:#}");
            Finished {
                started,
                ended: SystemTime::now(),
                negotiated,
                stop_reason: StopReason::Signal,
                cancelled_in_flight: 0,
                mix_error: None,
            }
        }
    };
    #[cfg(unix)]
    if let Some(r) = reloads {
        r.abort();
    }
    if let Some(c) = checkpoints {
        c.stop().await;
    }
    sampling.cancel();
    let observed = sampler.await.unwrap_or_default();
    let mix_error = finished.mix_error.take();
    // Joining the raw writer and the fsyncs block: off the async threads, so `/metrics` keeps
    // answering (the final scrape) while the files are written.
    let exit = {
        let (plan, recorder, events) = (plan.clone(), recorder.clone(), events.list());
        tokio::task::spawn_blocking(move || report(&plan, &recorder, &finished, &observed, events))
            .await
            .context("the report task failed")??
    };
    readiness.set_ready(false);
    if let Some(server) = server {
        engine::linger(plan.output.linger, stop, signals_at_end).await;
        server.shutdown().await;
    }
    // The target came up late with tools that do not fit the mix: a configuration error (exit 2),
    // reported after the summary of what was measured until then.
    if let Some(e) = mix_error {
        return Err(ExitError::usage(e).into());
    }
    Ok(exit)
}

/// The protocol label of `mcp_soak_run_info` before anything was negotiated: `auto` or the revision.
/// Fits the mix to the server's tools before any traffic: written arguments checked against each
/// tool's `inputSchema`, unknown and destructive tools refused, `auto` arguments synthesized.
/// A mismatch is a configuration error (exit 2). Shared by `run` and `validate --url`.
pub(crate) fn fit_mix(plan: &mut Plan, tools: &[crate::mcp::ToolInfo]) -> Result<(), ExitError> {
    crate::plan::args::check_mix(&plan.mix, tools).map_err(ExitError::usage)?;
    plan.resolve_tools(tools).map_err(ExitError::usage)
}

/// A session profile does nothing against a server that negotiated the stateless era (no session to
/// pool, churn or abandon), nor over legacy SSE or stdio (one session per stream or process): say so,
/// since `--protocol auto` picks the stateless era by itself.
fn warn_sessionless(plan: &Plan, negotiated: &Negotiated) {
    let strategy = plan.client.session_strategy;
    if strategy == crate::mcp::SessionStrategy::Pooled {
        return;
    }
    if negotiated.era == crate::mcp::Era::Stateless {
        tracing::warn!(
            protocol = %negotiated.protocol_version,
            "session strategy {strategy} does nothing: the server negotiated the stateless era; \
             pass --protocol 2025-11-25 for session profiles"
        );
    } else if plan.client.stdio.is_some() || negotiated.era == crate::mcp::Era::LegacySse {
        tracing::warn!(
            era = negotiated.era.as_str(),
            "session strategy {strategy} does nothing over this transport (one session per stream \
             or process); session profiles need Streamable HTTP"
        );
    }
}

/// Builds the summary, writes the JSON file and the console report, and returns the exit code.
fn report(
    plan: &Plan,
    recorder: &Recorder,
    finished: &Finished,
    observed: &crate::record::resources::Observed,
    events: Vec<crate::record::events::ControlEvent>,
) -> anyhow::Result<Exit> {
    if let Err(e) = recorder.finish() {
        tracing::warn!("raw stream: {e}");
    }
    let snapshot = recorder.snapshot();
    let meta = RunMeta {
        ended: finished.ended,
        aborted: finished.stop_reason != StopReason::Completed,
        stop_reason: Some(finished.stop_reason),
        events,
        ..run_meta(plan, finished.negotiated.as_ref(), finished.started)
    };
    let mut summary: Summary = summary::build(&snapshot, meta);
    let (soak, soak_slos) = crate::report::verdicts::soak_summary(
        observed,
        &summary.sessions,
        &summary.timeline,
        summary
            .ops
            .iter()
            .map(|o| (o.name.as_str(), o.timeline.as_slice())),
        summary.duration_s,
        &plan.soak,
    );
    summary.soak = soak;
    summary.slo_passed &= soak_slos.iter().all(|v| v.passed);
    summary.slos.extend(soak_slos);
    // The assessment weighs every SLO verdict, the soak ones included.
    summary.assessment = crate::report::assess::assess(&summary);
    // The console report first: whatever happens to the file, the numbers are shown.
    let mut out = std::io::stdout().lock();
    console::write(&summary, &mut out).context("writing the report")?;
    out.flush().ok();
    if let Some(path) = &plan.output.summary {
        let written = write::write_summary(path, &summary)
            .with_context(|| format!("writing the summary to {}", path.display()))?;
        tracing::info!(path = %written.display(), "summary written");
    }
    let o = &plan.output;
    let paths = super::report::report_paths(o.html.clone(), o.junit.clone(), o.markdown.clone());
    for written in write::write_reports(&summary, &paths).context("writing the reports")? {
        tracing::info!(path = %written.display(), "report written");
    }
    if let Some((exit, message)) =
        super::no_success::verdict(&summary, finished.negotiated.is_some(), stale(plan))
    {
        tracing::error!("{message}");
        return Ok(exit);
    }
    Ok(if !summary.slo_passed && !plan.output.no_fail_on_slo {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}

/// Whether the load runs on stale session ids, where `session_expired` is the answer asked for.
fn stale(plan: &Plan) -> bool {
    plan.client.session_strategy == crate::mcp::SessionStrategy::Stale
}

/// The summary's meta of a run that started at `started` and has not ended (yet).
fn run_meta(plan: &Plan, negotiated: Option<&Negotiated>, started: SystemTime) -> RunMeta {
    RunMeta {
        // Never connected: no protocol (not the requested one the run_info label carries).
        protocol: Some(negotiated.map(protocol_info).unwrap_or_default()),
        config: config_echo(plan),
        ..RunMeta::new(started, started)
    }
}

/// How often the summary is checkpointed (None: never; there must be a summary file).
fn checkpoint_every(plan: &Plan) -> Option<std::time::Duration> {
    plan.output.summary.as_ref()?;
    plan.output
        .checkpoints
        .interval(checkpoint::planned(&plan.load))
}

/// Starts rewriting the summary while the run goes on, when there is a summary file and the
/// interval (`--checkpoint-every`, or the default for long runs) asks for it.
fn start_checkpoints(
    plan: &Plan,
    recorder: &Recorder,
    events: &Events,
    negotiated: Option<&Negotiated>,
    started: SystemTime,
) -> Option<Checkpointer> {
    let every = checkpoint_every(plan)?;
    let path = plan.output.summary.clone()?;
    tracing::info!(every = %humantime::format_duration(every), path = %path.display(), "checkpointing the summary");
    let setup = checkpoint::Setup {
        path,
        every,
        meta: run_meta(plan, negotiated, started),
        events: events.clone(),
    };
    Some(Checkpointer::start(setup, recorder.clone()))
}

/// The run's steering: the mix's weights, and the first stage's rate (None for the closed model).
fn steering(plan: &Plan) -> Steering {
    let ops = plan
        .mix
        .ops
        .iter()
        .map(|o| (o.name.clone(), o.weight))
        .collect();
    match &plan.load {
        Load::Open { stages, .. } => {
            Steering::new(ops, Some(stages.first().map_or(0.0, |s| s.rate))).with_stages(stages)
        }
        Load::Closed { .. } => Steering::new(ops, None),
    }
}

/// Refuses to let the network change a run without a token: `[control] enabled` on a listener
/// that is not loopback (`0.0.0.0`, a pod address, an address unknown) needs one.
fn check_control_exposure(
    c: &crate::plan::Control,
    listening: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let loopback = listening.is_some_and(|a| a.ip().is_loopback());
    if c.enabled && c.token.is_none() && !loopback {
        anyhow::bail!(
            "`control.enabled` on a listener that is not loopback needs a token: set {} or \
             control.token_file",
            crate::config::CONTROL_TOKEN_ENV
        );
    }
    Ok(())
}

/// The `/control/…` routes: the state always, changes when `[control] enabled`. A token is required
/// off loopback (and with `control.require_token`); one configured is always checked.
fn control_routes(
    plan: &Plan,
    listener: &std::net::TcpListener,
    recorder: &Recorder,
    controller: &Controller,
) -> anyhow::Result<ControlRoutes> {
    let c = &plan.control;
    check_control_exposure(c, listener.local_addr().ok())?;
    let progress = checkpoint::control_state(recorder.clone(), checkpoint_every(plan));
    let (ctl, enabled) = (controller.clone(), c.enabled);
    let state: ControlState = std::sync::Arc::new(move || {
        let mut v = progress();
        if let Some(o) = v.as_object_mut() {
            let mut control = ctl.state();
            control["enabled"] = json!(enabled);
            o.insert("control".into(), control);
        }
        v
    });
    let ctl = controller.clone();
    let act: Option<ControlAct> = c
        .enabled
        .then(|| std::sync::Arc::new(move |action: &str, body| ctl.handle(action, body)) as _);
    Ok(ControlRoutes {
        state,
        act,
        token: c.token.clone(),
    })
}

/// What the recorder must know up front: the bounded label sets and the run's identity.
fn recorder_setup(plan: &Plan, run_id: &str, protocol: &str) -> RecorderSetup {
    RecorderSetup {
        op_names: plan.mix.ops.iter().map(|o| o.name.clone()).collect(),
        stages: stage_plans(&plan.load),
        slos: plan.slos.clone(),
        raw: plan.output.raw.clone(),
        run_info: RunInfo {
            run_id: run_id.to_owned(),
            target: plan.client.url.clone(),
            protocol: protocol.to_owned(),
            transport: plan.client.target_transport(),
            labels: plan.identity.labels.clone(),
        },
    }
}

/// The stages' windows as the pacer lays them out from `t0` (the closed model: one stage, no target).
pub fn stage_plans(load: &Load) -> Vec<StagePlan> {
    match load {
        Load::Open { stages, max_calls } => {
            let pacer = Pacer::new(stages, *max_calls);
            stages
                .iter()
                .enumerate()
                .map(|(i, s)| StagePlan {
                    target_rate: s.rate,
                    start: pacer.stage_start(i),
                })
                .collect()
        }
        Load::Closed { .. } => vec![StagePlan {
            target_rate: 0.0,
            start: Some(std::time::Duration::ZERO),
        }],
    }
}

fn protocol_info(n: &Negotiated) -> ProtocolInfo {
    ProtocolInfo {
        version: Some(n.protocol_version.clone()),
        era: Some(n.era),
        server_name: n.server_name.clone(),
        server_version: n.server_version.clone(),
    }
}

/// The effective configuration for the summary, with nothing secret in it: auth is named by kind,
/// headers by name, the URL without credentials.
fn config_echo(plan: &Plan) -> serde_json::Value {
    let c = &plan.client;
    let auth = match &c.auth {
        Auth::None => "none",
        Auth::Bearer(_) => "bearer",
        Auth::OfflineTokenHeader(_) => "offline-token-header",
        Auth::OfflineToken { .. } => "offline-token",
    };
    let protocol = c.protocol.to_string();
    let load = match &plan.load {
        Load::Open { stages, max_calls } => {
            json!({ "model": "open", "stages": stages, "max_calls": max_calls })
        }
        Load::Closed {
            users,
            requests_per_user,
            delay,
        } => json!({
            "model": "closed", "users": users, "requests_per_user": requests_per_user,
            "delay": humantime::format_duration(*delay).to_string(),
        }),
    };
    let mix: Vec<_> = plan
        .mix
        .ops
        .iter()
        .map(|o| json!({ "name": o.name, "weight": o.weight, "max_rate": o.max_rate }))
        .collect();
    let l = &plan.limits;
    let dur = |d: std::time::Duration| humantime::format_duration(d).to_string();
    json!({
        "target": {
            "url": strip_credentials(&c.url),
            "transport": c.target_transport(),
            "processes": c.stdio.as_ref().map(|t| t.processes),
            "protocol": protocol,
            "auth": auth,
            "headers": c.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            "timeout": dur(c.timeout),
            "sessions": c.sessions,
            "max_connections": c.max_connections,
            "session_strategy": c.session_strategy.to_string(),
            "insecure": c.insecure,
            "resources": match &plan.resources.source {
                Some(crate::plan::ResourceSource::Metrics(u)) => strip_credentials(u),
                Some(crate::plan::ResourceSource::Pid(p)) => format!("pid {p}"),
                Some(crate::plan::ResourceSource::StdioPool) => "stdio".to_owned(),
                None => "none".to_owned(),
            },
        },
        "load": load,
        "mix": mix,
        "slos": plan.slos,
        "limits": {
            "max_in_flight": l.max_in_flight,
            "max_rate": l.max_rate,
            "grace": dur(l.grace),
            "honor_retry_after": l.honor_retry_after,
            "abort_on_breach": l.abort_on_breach.map(dur),
            "slo_window": dur(l.slo_window),
            "instance_share": l.instance_share.map(|(i, n)| format!("{i}/{n}")),
        },
        "soak": {
            "max_memory_growth_bytes_per_hour": plan.soak.max_memory_growth,
            "max_p95_drift": plan.soak.max_p95_drift,
            "warmup": plan.soak.warmup.map(dur),
            "window": plan.soak.window.map(dur),
        },
        "seed": plan.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Control;

    #[test]
    fn control_off_loopback_needs_a_token() {
        let open = Control {
            enabled: true,
            ..Control::default()
        };
        let err = |addr: Option<&str>| {
            let a = addr.map(|a| a.parse().expect("address"));
            check_control_exposure(&open, a).map_err(|e| e.to_string())
        };
        for exposed in [
            Some("0.0.0.0:9464"),
            Some("192.0.2.7:9464"),
            Some("[::]:9464"),
            None,
        ] {
            let e = err(exposed).expect_err("refused");
            assert!(
                e.contains("not loopback") && e.contains(crate::config::CONTROL_TOKEN_ENV),
                "{exposed:?}: {e}"
            );
        }
        for local in ["127.0.0.1:9464", "[::1]:9464"] {
            assert!(err(Some(local)).is_ok(), "{local}");
        }
        let with_token = Control {
            token: Some(crate::secret::Secret::new("t")),
            ..open.clone()
        };
        assert!(check_control_exposure(&with_token, "0.0.0.0:9464".parse().ok()).is_ok());
        let read_only = Control::default();
        assert!(check_control_exposure(&read_only, "0.0.0.0:9464".parse().ok()).is_ok());
    }
}
