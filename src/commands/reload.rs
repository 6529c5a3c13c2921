//! Reload on SIGHUP: the config is re-read and validated the way `run` read it (same file, same
//! flags), and what can change without touching the pacer applies at once: the SLO objectives.
//! Everything else the new plan changes — target, transport, load, mix, limits (the SLO window
//! among them), output, labels — is refused with a message naming it, and the running plan is kept; so is an invalid file, with its
//! error logged. Histograms, timeline, sessions and counters are never reset by a reload.
//!
//! Labels are global labels of the Prometheus exporter, fixed when it is built: they cannot change
//! live. The SLO window sizes the engine's sliding window at the start: it cannot either.

use crate::config::RunArgs;
use crate::plan::{Limits, Output, Plan};
use crate::record::Recorder;

/// Why a reload was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the config is invalid, the running plan is kept: {0:#}")]
    Invalid(anyhow::Error),
    #[error(
        "cannot change live (restart the soak for it): {}; the running plan is kept",
        .0.join(", ")
    )]
    NotLive(Vec<&'static str>),
}

/// What a reload changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The SLO objectives were replaced (count before, after).
    Slos(usize, usize),
    Nothing,
}

/// The sections `new` changes that cannot apply while the run goes on (empty: it can apply).
pub fn not_live(old: &Plan, new: &Plan) -> Vec<&'static str> {
    let mut refused = Vec::new();
    if old.client.url != new.client.url {
        refused.push("target.url");
    }
    if old.client.target_transport() != new.client.target_transport() {
        refused.push("target transport");
    }
    if old.load != new.load {
        refused.push("load");
    }
    let weights = |p: &Plan| -> Vec<(String, u32, Option<f64>)> {
        p.mix
            .ops
            .iter()
            .map(|o| (o.name.clone(), o.weight, o.max_rate))
            .collect()
    };
    if weights(old) != weights(new) {
        refused.push("mix");
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
    refused
}

/// Re-reads the config from `args` and applies what can change live to the running `plan`.
pub fn reload(
    args: &RunArgs,
    plan: &mut Plan,
    recorder: &Recorder,
) -> Result<Applied, ReloadError> {
    let new = crate::config::load(args).map_err(|e| ReloadError::Invalid(e.into()))?;
    let refused = not_live(plan, &new);
    if !refused.is_empty() {
        return Err(ReloadError::NotLive(refused));
    }
    if new.slos == plan.slos {
        return Ok(Applied::Nothing);
    }
    let applied = Applied::Slos(plan.slos.len(), new.slos.len());
    recorder.set_slos(new.slos.clone());
    plan.slos = new.slos;
    Ok(applied)
}

/// Reloads on every SIGHUP until the returned task is aborted; each outcome is logged.
#[cfg(unix)]
pub fn on_sighup(args: RunArgs, mut plan: Plan, recorder: Recorder) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let hup = signal(SignalKind::hangup());
    tokio::spawn(async move {
        let mut hup = match hup {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("no reload on SIGHUP: {e}");
                return;
            }
        };
        while hup.recv().await.is_some() {
            match reload(&args, &mut plan, &recorder) {
                Ok(Applied::Slos(before, after)) => {
                    tracing::info!(before, after, "reloaded: SLO objectives replaced")
                }
                Ok(Applied::Nothing) => tracing::info!("reloaded: nothing changed"),
                Err(e) => tracing::error!("reload refused: {e}"),
            }
        }
    })
}
