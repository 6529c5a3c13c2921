//! Applying the command-line flags (`RunArgs`) onto the layered file config, recording each key a flag
//! set so errors name the flag.

use serde_json::Value;

use super::file::{FileConfig, LoadPick, MixCfg, SloCfg, StagesCfg};
use super::lower::mix_label;
use super::{ConfigError, Loader, RunArgs};
use crate::plan::Method;

impl Loader<'_> {
    fn set<T>(&mut self, slot: &mut Option<T>, v: Option<T>, key: &str, flag: &str) {
        if let Some(v) = v {
            *slot = Some(v);
            self.origins.insert(key.into(), format!("flag --{flag}"));
        }
    }

    pub(super) fn apply_flags(
        &mut self,
        c: &mut FileConfig,
        a: &RunArgs,
    ) -> Result<(), ConfigError> {
        let t = &mut c.target;
        // A flag that picks the kind of target clears the other kind from lower layers.
        if a.url.is_some() && a.stdio.is_none() {
            t.command = None;
        }
        if a.stdio.is_some() && a.url.is_none() {
            t.url = None;
        }
        self.set(&mut t.url, a.url.clone(), "target.url", "url");
        // Likewise for the server's resources: `--pid` or `--metrics-url` picks the one source.
        if a.pid.is_some() && a.metrics_url.is_none() {
            t.metrics_url = None;
        }
        if a.metrics_url.is_some() && a.pid.is_none() {
            t.pid = None;
        }
        match a.metrics_url.as_deref() {
            Some("none") => t.metrics_url = None,
            other => self.set(
                &mut t.metrics_url,
                other.map(str::to_owned),
                "target.metrics_url",
                "metrics-url",
            ),
        }
        self.set(&mut t.pid, a.pid, "target.pid", "pid");
        self.set(
            &mut t.command,
            a.stdio.clone().map(super::file::CommandCfg::Line),
            "target.command",
            "stdio",
        );
        self.set(
            &mut t.processes,
            a.processes,
            "target.processes",
            "processes",
        );
        self.set(
            &mut t.transport,
            a.transport.clone(),
            "target.transport",
            "transport",
        );
        self.set(
            &mut t.protocol,
            a.protocol.clone(),
            "target.protocol",
            "protocol",
        );
        self.set(
            &mut t.timeout,
            a.timeout.clone(),
            "target.timeout",
            "timeout",
        );
        self.set(&mut t.sessions, a.sessions, "target.sessions", "sessions");
        self.set(
            &mut t.max_connections,
            a.max_connections,
            "target.max_connections",
            "max-connections",
        );
        self.set(
            &mut t.session_strategy,
            a.session_strategy.clone(),
            "target.session_strategy",
            "session-strategy",
        );
        self.set(
            &mut t.ca_file,
            a.ca_file.as_ref().map(|p| p.display().to_string()),
            "target.ca_file",
            "ca-file",
        );
        if a.insecure {
            self.set(&mut t.insecure, Some(true), "target.insecure", "insecure");
        }
        for h in &a.headers {
            let (k, v) = h.split_once(':').ok_or_else(|| ConfigError {
                origin: "flag --header".into(),
                key: "target.headers".into(),
                message: format!("expected 'Name: value', got {h:?}"),
            })?;
            t.headers.insert(k.trim().to_string(), v.trim().to_string());
        }
        let au = &mut t.auth;
        self.set(&mut au.kind, a.auth.clone(), "target.auth.kind", "auth");
        self.set(&mut au.token, a.token.clone(), "target.auth.token", "token");
        self.set(
            &mut au.token_env,
            a.token_env.clone(),
            "target.auth.token_env",
            "token-env",
        );
        self.set(
            &mut au.token_file,
            a.token_file.as_ref().map(|p| p.display().to_string()),
            "target.auth.token_file",
            "token-file",
        );
        self.set(
            &mut au.token_url,
            a.token_url.clone(),
            "target.auth.token_url",
            "token-url",
        );
        self.set(
            &mut au.client_id,
            a.client_id.clone(),
            "target.auth.client_id",
            "client-id",
        );

        let l = &mut c.load;
        // A flag that picks one load model clears the other model's keys from lower layers.
        l.switch_model(LoadPick {
            steady: a.rate.is_some() || a.duration.is_some(),
            stages: a.stages.is_some(),
            closed: a.users.is_some()
                || a.requests.is_some()
                || a.scenario.is_some()
                || a.quick
                || a.total.is_some()
                || a.concurrent.is_some(),
        });
        self.set(&mut l.rate, a.rate, "load.rate", "rate");
        self.set(
            &mut l.duration,
            a.duration.clone(),
            "load.duration",
            "duration",
        );
        self.set(
            &mut l.stages,
            a.stages.clone().map(StagesCfg::Text),
            "load.stages",
            "stages",
        );
        self.set(&mut l.max_calls, a.max_calls, "load.max_calls", "max-calls");
        self.set(&mut l.users, a.users, "load.users", "users");
        self.set(&mut l.requests, a.requests, "load.requests", "requests");
        self.set(&mut l.delay, a.delay.clone(), "load.delay", "delay");
        self.set(
            &mut l.scenario,
            a.scenario.clone(),
            "load.scenario",
            "scenario",
        );
        if a.quick {
            l.scenario = None;
            self.set(&mut l.concurrent, Some(10), "load.concurrent", "quick");
            self.set(&mut l.total, Some(100), "load.total", "quick");
        }
        self.set(&mut l.total, a.total, "load.total", "total");
        self.set(
            &mut l.concurrent,
            a.concurrent,
            "load.concurrent",
            "concurrent",
        );
        self.set(
            &mut l.max_in_flight,
            a.max_in_flight,
            "load.max_in_flight",
            "max-in-flight",
        );
        self.set(&mut l.max_rate, a.max_rate, "load.max_rate", "max-rate");
        self.set(&mut l.seed, a.seed, "load.seed", "seed");
        self.set(
            &mut l.instance_share,
            a.instance_share.clone(),
            "load.instance_share",
            "instance-share",
        );
        self.set(&mut l.grace, a.grace.clone(), "load.grace", "grace");
        self.set(
            &mut l.abort_on_breach,
            a.abort_on_breach.clone(),
            "load.abort_on_breach",
            "abort-on-breach",
        );
        self.set(
            &mut l.slo_window,
            a.slo_window.clone(),
            "load.slo_window",
            "slo-window",
        );
        if a.honor_retry_after {
            self.set(
                &mut l.honor_retry_after,
                Some(true),
                "load.honor_retry_after",
                "honor-retry-after",
            );
        }
        if a.require_target {
            self.set(
                &mut l.require_target,
                Some(true),
                "load.require_target",
                "require-target",
            );
        }

        if a.mixed {
            c.mix = super::presets::mixed_payments_mix();
            self.origins.insert("mix".into(), "flag --mixed".into());
        }
        if let Some(spec) = &a.mix {
            c.mix = self.mix_from_flag(spec, &c.mix)?;
        }
        if !a.slos.is_empty() {
            let mut slos = Vec::new();
            for s in &a.slos {
                slos.push(parse_slo_flag(s).map_err(|m| ConfigError {
                    origin: "flag --slo".into(),
                    key: "slo".into(),
                    message: format!(
                        "{m} in {s:?} (expected 'NAME:p95=150ms,tps=1000,errors=0.1%')"
                    ),
                })?);
            }
            c.slo = slos;
            self.origins.insert("slo".into(), "flag --slo".into());
        }

        self.set(&mut c.run.id, a.run_id.clone(), "run.id", "run-id");
        for l in &a.labels {
            let (k, v) = l.split_once('=').ok_or_else(|| ConfigError {
                origin: "flag --label".into(),
                key: "run.labels".into(),
                message: format!("expected KEY=VALUE, got {l:?}"),
            })?;
            c.run
                .labels
                .insert(k.trim().to_owned(), v.trim().to_owned());
            self.origins
                .insert(format!("run.labels.{}", k.trim()), "flag --label".into());
        }

        if a.control {
            self.set(
                &mut c.control.enabled,
                Some(true),
                "control.enabled",
                "control",
            );
        }
        let o = &mut c.output;
        self.set(
            &mut o.summary,
            a.summary.as_ref().map(|p| p.display().to_string()),
            "output.summary",
            "summary",
        );
        for (slot, flag, key, name) in [
            (&mut o.html, &a.reports.html, "output.html", "html"),
            (&mut o.junit, &a.reports.junit, "output.junit", "junit"),
            (
                &mut o.markdown,
                &a.reports.markdown,
                "output.markdown",
                "markdown",
            ),
        ] {
            self.set(
                slot,
                flag.as_ref().map(|p| p.display().to_string()),
                key,
                name,
            );
        }
        self.set(
            &mut o.raw,
            a.raw.as_ref().map(|p| p.display().to_string()),
            "output.raw",
            "raw",
        );
        self.set(
            &mut o.metrics_listen,
            a.metrics_listen.clone(),
            "output.metrics_listen",
            "metrics-listen",
        );
        self.set(&mut o.linger, a.linger.clone(), "output.linger", "linger");
        self.set(
            &mut o.progress_interval,
            a.progress_interval.clone(),
            "output.progress_interval",
            "progress-interval",
        );
        self.set(
            &mut o.checkpoint_every,
            a.checkpoint_every.clone(),
            "output.checkpoint_every",
            "checkpoint-every",
        );
        if a.quiet {
            self.set(&mut o.quiet, Some(true), "output.quiet", "quiet");
        }
        if a.no_fail_on_slo {
            self.set(
                &mut o.no_fail_on_slo,
                Some(true),
                "output.no_fail_on_slo",
                "no-fail-on-slo",
            );
        }
        Ok(())
    }

    /// `--mix a=40,b=30,tools/list=10`: the listed operations with these weights; entries of the
    /// file with the same name keep their args and captures, new tools get `args = "auto"`.
    fn mix_from_flag(
        &mut self,
        spec: &str,
        file_mix: &[MixCfg],
    ) -> Result<Vec<MixCfg>, ConfigError> {
        self.origins.insert("mix".into(), "flag --mix".into());
        let mut out = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = |m: String| ConfigError {
                origin: "flag --mix".into(),
                key: "mix".into(),
                message: m,
            };
            let (name, w) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("expected NAME=WEIGHT, got {part:?}")))?;
            let name = name.trim();
            let weight: i64 = w
                .trim()
                .parse()
                .map_err(|_| bad(format!("weight of {name:?} is not an integer: {w:?}")))?;
            let existing = file_mix
                .iter()
                .find(|m| mix_label(m).as_deref() == Some(name));
            let mut m = match existing {
                Some(m) => m.clone(),
                None if Method::parse_simple(name).is_some() => MixCfg {
                    method: Some(name.into()),
                    ..MixCfg::default()
                },
                None => MixCfg {
                    tool: Some(name.into()),
                    args: Some(Value::String("auto".into())),
                    ..MixCfg::default()
                },
            };
            m.weight = Some(weight);
            out.push(m);
        }
        Ok(out)
    }
}

/// Parses one `--slo` value: `[NAME:]p95=150ms,tps=1000,errors=0.1%`.
fn parse_slo_flag(s: &str) -> Result<SloCfg, String> {
    let (op, body) = match s.split_once(':') {
        Some((op, body)) if !op.contains('=') => (Some(op.trim().to_string()), body),
        _ => (None, s),
    };
    let mut slo = SloCfg {
        tool: op.filter(|o| !o.is_empty() && o != "*" && o != "all"),
        ..SloCfg::default()
    };
    for kv in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("expected KEY=VALUE, got {kv:?}"))?;
        let v = v.trim();
        match k.trim() {
            "p95" => slo.p95 = Some(v.to_string()),
            "tps" | "min_tps" => {
                slo.min_tps = Some(
                    v.parse()
                        .map_err(|_| format!("tps {v:?} is not a number"))?,
                )
            }
            "errors" | "max_error_ratio" => {
                slo.max_error_ratio = Some(match v.strip_suffix('%') {
                    Some(p) => {
                        p.trim()
                            .parse::<f64>()
                            .map_err(|_| format!("errors {v:?} is not a percentage"))?
                            / 100.0
                    }
                    None => v
                        .parse()
                        .map_err(|_| format!("errors {v:?} is not a ratio"))?,
                })
            }
            other => {
                return Err(format!(
                    "unknown SLO key {other:?} (expected p95, tps, errors)"
                ));
            }
        }
    }
    Ok(slo)
}
