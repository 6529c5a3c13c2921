//! Reload on SIGHUP: the config is re-read and validated the way `run` read it (same file, same
//! flags), and what can change live applies at once, through the same controls as `/control/…`:
//! the SLO objectives, the rate of the stage running now (a re-rate for the rest of it), stages
//! appended after the last one (as `ctl append`), and the mix weights. Each applied change is logged, counted and kept as an event (source `reload`).
//!
//! Everything else the new plan changes is refused with a message naming it, and the running plan is
//! kept whole (nothing of a refused reload applies); so is an invalid file, with its error logged.
//! Refused: the target (url, command, transport, protocol, auth, headers, TLS, timeouts, sessions),
//! the load's shape (the model, stages removed, a duration or ramp changed, the rate of a stage other
//! than the running one, max calls), operations added, removed or
//! renamed, their arguments and per-operation ceilings, the limits, the output and the labels (global
//! labels of the Prometheus exporter, fixed when it is built). Histograms, timeline, sessions and
//! counters are never reset by a reload.

use std::collections::BTreeMap;

use super::control::{Controller, Request, slos_change};
use crate::config::RunArgs;
use crate::mcp::{Auth, ClientConfig};
use crate::plan::{Limits, Load, Output, Plan, Stage};
use crate::record::events::ChangeSource;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The SLO objectives were replaced (count before, after).
    pub slos: Option<(usize, usize)>,
    /// The rate of the stage running now (calls/s).
    pub rate: Option<f64>,
    /// Stages appended after the last one.
    pub appended: usize,
    /// The mix weights.
    pub weights: bool,
}

/// The fields `new` changes that cannot apply while the run goes on (empty: it can apply).
/// `args_before` are the operations' arguments as configured at the start (the running plan's may
/// have been filled in from the server's schemas); `now` is the stage running now (0-based; None
/// once the schedule ended).
pub fn not_live(
    old: &Plan,
    new: &Plan,
    args_before: Option<&[String]>,
    now: Option<usize>,
) -> Vec<&'static str> {
    let mut refused = target_changes(&old.client, &new.client);
    if let Some(field) = load_change(&old.load, &new.load, now) {
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

/// What new stages change that applies live: the rate of the stage running now, and stages
/// appended after the last one.
#[derive(Debug, Clone, Default, PartialEq)]
struct StagesChange {
    rate: Option<f64>,
    appended: Vec<Stage>,
}

/// What `b` changes of the running stages `a` (the stage `now` running), or why it cannot apply.
fn stages_change(
    a: &[Stage],
    b: &[Stage],
    now: Option<usize>,
) -> Result<StagesChange, &'static str> {
    const STAGES: &str = "load.stages (only the rate of the stage running now, and stages appended after the last, change live)";
    if b.len() < a.len() {
        return Err(STAGES);
    }
    let mut change = StagesChange::default();
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x == y {
            continue;
        }
        if x.duration != y.duration && a.len() == 1 {
            return Err("load.duration");
        }
        if (x.duration, x.ramp) != (y.duration, y.ramp) {
            return Err(STAGES);
        }
        if now != Some(i) {
            return Err(STAGES);
        }
        change.rate = Some(y.rate);
    }
    change.appended = b[a.len()..].to_vec();
    if !change.appended.is_empty() && a.last().is_some_and(|s| s.duration.is_none()) {
        return Err("load.stages (the last stage runs forever: no stage can follow it)");
    }
    Ok(change)
}

/// Why a load change cannot apply live (None: the same load, or only what [`stages_change`] takes).
fn load_change(old: &Load, new: &Load, now: Option<usize>) -> Option<&'static str> {
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
        ) if ma == mb => stages_change(a, b, now).err(),
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
    // The stage running when the file was read: a rate change applies to the rest of it.
    let now = controller.recorder().stage_now();
    let refused = not_live(plan, &new, args_before, now);
    if !refused.is_empty() {
        return Err(ReloadError::NotLive(refused));
    }
    let mut applied = Applied::default();
    if let (Load::Open { stages: a, .. }, Load::Open { stages: b, .. }) = (&plan.load, &new.load)
        && let Ok(change) = stages_change(a, b, now)
    {
        // Appended first: it is the one that can still be refused (then nothing applied).
        if !change.appended.is_empty() {
            controller
                .apply(
                    &Request::Append(change.appended.clone()),
                    ChangeSource::Reload,
                )
                .map_err(|e| ReloadError::Invalid(e.into()))?;
            applied.appended = change.appended.len();
        }
        if let Some(rate) = change.rate {
            controller
                .apply(&Request::Rate(rate), ChangeSource::Reload)
                .map_err(|e| ReloadError::Invalid(e.into()))?;
            applied.rate = Some(rate);
        }
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
                    appended = a.appended,
                    weights = a.weights,
                    "reloaded: applied live"
                ),
                Err(e) => tracing::error!("reload refused: {e}"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn st(rate: f64, secs: Option<u64>) -> Stage {
        Stage::steady(rate, secs.map(Duration::from_secs))
    }

    #[test]
    fn new_stages_apply_live_as_a_rerate_of_the_running_one_and_appended_ones() {
        let running = [st(10.0, Some(60)), st(20.0, Some(60))];
        let ok = |b: &[Stage], now| stages_change(&running, b, now);
        assert_eq!(ok(&running, Some(1)), Ok(StagesChange::default()));
        // The running stage's rate: a re-rate; another stage's rate: refused.
        let rerated = [st(10.0, Some(60)), st(25.0, Some(60))];
        assert_eq!(ok(&rerated, Some(1)).map(|c| c.rate), Ok(Some(25.0)));
        assert!(ok(&rerated, Some(0)).is_err(), "stage 2 is not running");
        assert!(ok(&rerated, None).is_err(), "the schedule ended");
        // Stages after the last: appended.
        let more = [st(10.0, Some(60)), st(20.0, Some(60)), st(5.0, None)];
        assert_eq!(
            ok(&more, Some(0)).map(|c| c.appended),
            Ok(vec![st(5.0, None)])
        );
        // Removed, or a duration changed: refused, naming load.stages.
        for bad in [&running[..1], &[st(10.0, Some(60)), st(20.0, Some(30))][..]] {
            let e = ok(bad, Some(0)).expect_err("refused");
            assert!(e.starts_with("load.stages"), "{e}");
        }
        // Nothing follows a stage that runs forever.
        let forever = [st(10.0, None)];
        let e = stages_change(&forever, &[st(10.0, None), st(1.0, Some(1))], Some(0));
        assert!(e.is_err_and(|e| e.contains("forever")));
        // One stage: a new duration is `load.duration`.
        let one = [st(10.0, Some(60))];
        assert_eq!(
            stages_change(&one, &[st(10.0, Some(120))], Some(0)),
            Err("load.duration")
        );
    }
}
