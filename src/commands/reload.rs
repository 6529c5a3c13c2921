//! Reload on SIGHUP: the config is re-read and validated the way `run` read it (same file, same
//! flags), and what can change live applies at once, through the same controls as `/control/…`:
//! the SLO objectives, the rate of a single-stage open load (a re-rate from now on), and the mix
//! weights. Each applied change is logged, counted and kept as an event (source `reload`).
//!
//! Everything else the new plan changes is refused with a message naming it, and the running plan is
//! kept whole (nothing of a refused reload applies); so is an invalid file, with its error logged.
//! Refused: the target (url, command, transport, protocol, auth, headers, TLS, timeouts, sessions),
//! the load's shape (model, stage count, durations, ramps, max calls), operations added, removed or
//! renamed, their arguments and per-operation ceilings, the limits, the output and the labels (global
//! labels of the Prometheus exporter, fixed when it is built). Histograms, timeline, sessions and
//! counters are never reset by a reload.

use std::collections::BTreeMap;

use super::control::{Controller, Request, slos_change};
use crate::config::RunArgs;
use crate::mcp::{Auth, ClientConfig};
use crate::plan::{Limits, Load, Output, Plan};
use crate::record::events::ChangeSource;

/// Why a reload was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new config does not load or lower into a plan (the error).
    #[error("the config is invalid, the running plan is kept: {0:#}")]
    Invalid(anyhow::Error),
    /// The new config changes settings that only a restart can change (their keys).
    #[error(
        "cannot change live (restart the soak for it): {}; the running plan is kept",
        .0.join(", ")
    )]
    NotLive(Vec<&'static str>),
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The SLO objectives were replaced (count before, after).
    pub slos: Option<(usize, usize)>,
    /// The rate of the load's one stage (calls/s).
    pub rate: Option<f64>,
    /// The mix weights.
    pub weights: bool,
}

/// The fields `new` changes that cannot apply while the run goes on (empty: it can apply).
/// `args_before` are the operations' arguments as configured at the start (the running plan's may
/// have been filled in from the server's schemas).
pub fn not_live(old: &Plan, new: &Plan, args_before: Option<&[String]>) -> Vec<&'static str> {
    let mut refused = target_changes(&old.client, &new.client);
    if let Some(field) = load_change(&old.load, &new.load) {
        refused.push(field);
    }
    let shape = |p: &Plan| -> Vec<(String, String)> {
        let ops = p.mix.ops.iter();
        ops.map(|o| (o.name.clone(), format!("{:?}", o.method)))
            .collect()
    };
    if shape(old) != shape(new) {
        refused.push("mix (operations added, removed, renamed or reordered)");
    } else {
        let ceilings = |p: &Plan| p.mix.ops.iter().map(|o| o.max_rate).collect::<Vec<_>>();
        if ceilings(old) != ceilings(new) {
            refused.push("mix.max_rate");
        }
        if args_before.is_some_and(|before| before != args_of(new)) {
            refused.push("mix.args (tool arguments)");
        }
        let weights = |p: &Plan| p.mix.ops.iter().map(|o| o.weight).collect::<Vec<_>>();
        if matches!(old.load, Load::Closed { .. }) && weights(old) != weights(new) {
            refused.push("mix.weight (the closed model draws from a fixed mix)");
        }
    }
    if old.limits.slo_window != new.limits.slo_window {
        refused.push("limits.slo_window");
    }
    if old.identity.labels != new.identity.labels {
        refused.push("run.labels");
    }
    let limits = Limits {
        slo_window: old.limits.slo_window,
        ..new.limits.clone()
    };
    if limits != old.limits {
        refused.push("limits");
    }
    // The running plan's summary path has `{timestamp}` expanded already.
    let output = Output {
        summary: old.output.summary.clone(),
        ..new.output.clone()
    };
    if output != old.output {
        refused.push("output");
    }
    if old.control != new.control {
        refused.push("control");
    }
    refused
}

/// The operations' arguments as configured, to compare across reloads.
pub fn args_of(plan: &Plan) -> Vec<String> {
    plan.mix
        .ops
        .iter()
        .map(|o| format!("{:?}", o.args))
        .collect()
}

/// The target fields that differ (none of them can change on a live connection).
fn target_changes(old: &ClientConfig, new: &ClientConfig) -> Vec<&'static str> {
    let auth = |a: &Auth| match a {
        Auth::None => String::new(),
        Auth::Bearer(t) => format!("bearer {}", t.expose()),
        Auth::OfflineTokenHeader(t) => format!("header {}", t.expose()),
        Auth::OfflineToken {
            refresh_token,
            token_url,
            client_id,
        } => format!("{} {token_url} {client_id}", refresh_token.expose()),
    };
    let checks: [(&'static str, bool); 9] = [
        ("target.url", old.url != new.url),
        ("target.command", old.stdio != new.stdio),
        (
            "target.transport",
            old.target_transport() != new.target_transport(),
        ),
        ("target.protocol", old.protocol != new.protocol),
        ("target.auth", auth(&old.auth) != auth(&new.auth)),
        ("target.headers", old.headers != new.headers),
        (
            "target TLS (ca_file, insecure)",
            (&old.ca_file, old.insecure) != (&new.ca_file, new.insecure),
        ),
        (
            "target timeouts",
            (old.timeout, old.connect_timeout) != (new.timeout, new.connect_timeout),
        ),
        (
            "target sessions",
            (old.sessions, old.max_connections, old.session_strategy)
                != (new.sessions, new.max_connections, new.session_strategy),
        ),
    ];
    checks.into_iter().filter(|c| c.1).map(|c| c.0).collect()
}

/// Why a load change cannot apply live (None: the same load, or only the rate of its one stage).
fn load_change(old: &Load, new: &Load) -> Option<&'static str> {
    match (old, new) {
        _ if old == new => None,
        (
            Load::Open {
                stages: a,
                max_calls: ma,
            },
            Load::Open {
                stages: b,
                max_calls: mb,
            },
        ) if ma == mb => match (a.as_slice(), b.as_slice()) {
            ([x], [y]) if (x.duration, x.ramp) == (y.duration, y.ramp) => None,
            ([_], [_]) => Some("load.duration"),
            _ => Some("load.stages (only the rate of a single-stage load changes live)"),
        },
        (Load::Open { .. }, Load::Open { .. }) => Some("load.max_calls"),
        _ => Some("load"),
    }
}

/// Re-reads the config from `args` and applies what can change live to the running `plan`.
pub fn reload(
    args: &RunArgs,
    plan: &mut Plan,
    args_before: Option<&[String]>,
    controller: &Controller,
) -> Result<Applied, ReloadError> {
    let new = crate::config::load(args).map_err(|e| ReloadError::Invalid(e.into()))?;
    let refused = not_live(plan, &new, args_before);
    if !refused.is_empty() {
        return Err(ReloadError::NotLive(refused));
    }
    let mut applied = Applied::default();
    if let (Load::Open { stages: a, .. }, Load::Open { stages: b, .. }) = (&plan.load, &new.load)
        && let ([x], [y]) = (a.as_slice(), b.as_slice())
        && x.rate != y.rate
    {
        let req = Request::Rate(y.rate);
        controller
            .apply(&req, ChangeSource::Reload)
            .map_err(|e| ReloadError::Invalid(e.into()))?;
        applied.rate = Some(y.rate);
    }
    let weights = |p: &Plan| -> BTreeMap<String, f64> {
        let ops = p.mix.ops.iter();
        ops.map(|o| (o.name.clone(), f64::from(o.weight))).collect()
    };
    if weights(plan) != weights(&new) {
        controller
            .apply(&Request::Mix(weights(&new)), ChangeSource::Reload)
            .map_err(|e| ReloadError::Invalid(e.into()))?;
        applied.weights = true;
    }
    if new.slos != plan.slos {
        applied.slos = Some((plan.slos.len(), new.slos.len()));
        controller.recorder().set_slos(new.slos.clone());
        controller.note(
            &slos_change(plan.slos.len(), new.slos.len()),
            ChangeSource::Reload,
        );
    }
    // The running plan now says what runs: the next reload compares against it.
    plan.load = new.load;
    for (op, w) in plan.mix.ops.iter_mut().zip(&new.mix.ops) {
        op.weight = w.weight;
    }
    plan.slos = new.slos;
    Ok(applied)
}

/// Reloads on every SIGHUP until the returned task is aborted; each outcome is logged.
#[cfg(unix)]
pub fn on_sighup(
    args: RunArgs,
    mut plan: Plan,
    controller: Controller,
) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let hup = signal(SignalKind::hangup());
    // The arguments as configured (before `auto` ones were filled from the server's schemas).
    let args_before = crate::config::load(&args).ok().map(|p| args_of(&p));
    tokio::spawn(async move {
        let mut hup = match hup {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("no reload on SIGHUP: {e}");
                return;
            }
        };
        while hup.recv().await.is_some() {
            match reload(&args, &mut plan, args_before.as_deref(), &controller) {
                Ok(a) if a == Applied::default() => tracing::info!("reloaded: nothing changed"),
                Ok(a) => tracing::info!(
                    slos = ?a.slos,
                    rate = ?a.rate,
                    weights = a.weights,
                    "reloaded: applied live"
                ),
                Err(e) => tracing::error!("reload refused: {e}"),
            }
        }
    })
}
