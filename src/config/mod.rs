//! Configuration: built-in defaults < config file (TOML or YAML) < environment (`MCP_SOAK__…`) < flags,
//! lowered into one [`crate::plan::Plan`]. A mistake names the source, the key and what was expected.
//!
//! Environment variables use `__` both after the prefix and between levels:
//! `MCP_SOAK__LOAD__RATE=50`, `MCP_SOAK__TARGET__URL=...`, `MCP_SOAK__TARGET__AUTH__TOKEN_FILE=...`
//! (`MCP_SOAK_LOAD__RATE`, with one underscore after the prefix, is ignored by the `config` crate).
//! The old scripts' variables are honoured too: `API_BASE_URL` (→ target.url), `LOAD_TEST_CONCURRENT`,
//! `LOAD_TEST_TOTAL`, `LOAD_TEST_TIMEOUT` (seconds), below the `MCP_SOAK__` ones.

mod args;
pub mod file;
mod starter;

pub use args::RunArgs;
pub use starter::starter_config;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::mcp::{
    Auth, ClientConfig, ProtocolChoice, SUPPORTED_REVISIONS, SessionStrategy, Transport,
};
use crate::plan::args::CaptureSpec;
use crate::plan::stage::check_stages;
use crate::plan::{ArgTemplate, Limits, Load, Method, Mix, Operation, Output, Plan, Slo, Stage};
use crate::secret::Secret;
use file::{FileConfig, MixCfg, SloCfg, StagesCfg};

/// Environment variable prefix (followed by `__`).
pub const ENV_PREFIX: &str = "MCP_SOAK";

/// A configuration mistake: where it came from, which key, what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: `{key}`: {message}")]
pub struct ConfigError {
    /// `file config/x.toml`, `env MCP_SOAK__LOAD__RATE`, `flag --rate`, `defaults`.
    pub origin: String,
    /// Dotted key, e.g. `load.rate`, `mix[2].weight`.
    pub key: String,
    pub message: String,
}

/// The old scripts' environment variables and the keys they set (below `MCP_SOAK__…`).
pub const LEGACY_ENV: [(&str, &str); 4] = [
    ("API_BASE_URL", "target.url"),
    ("LOAD_TEST_CONCURRENT", "load.concurrent"),
    ("LOAD_TEST_TOTAL", "load.total"),
    ("LOAD_TEST_TIMEOUT", "target.timeout"),
];

/// Closed-model presets of `--scenario`: (name, users, requests per user).
pub const SCENARIOS: [(&str, u32, u64); 4] = [
    ("light", 5, 3),
    ("moderate", 20, 5),
    ("heavy", 50, 10),
    ("stress", 100, 20),
];

/// Loads the plan from defaults, `args.config`, the process environment and `args`.
pub fn load(args: &RunArgs) -> Result<Plan, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    load_with_env(args, &env)
}

/// Like [`load`] with an explicit environment (tests use this to avoid racing on the process env).
pub fn load_with_env(args: &RunArgs, env: &HashMap<String, String>) -> Result<Plan, ConfigError> {
    let mut l = Loader {
        env,
        file: args.config.clone(),
        origins: BTreeMap::new(),
    };
    let mut cfg = l.read_layers()?;
    l.apply_flags(&mut cfg, args)?;
    l.lower(cfg, args)
}

struct Loader<'a> {
    env: &'a HashMap<String, String>,
    file: Option<PathBuf>,
    /// Keys set by flags → the flag.
    origins: BTreeMap<String, String>,
}

fn env_name(key: &str) -> String {
    let mut s = format!("{ENV_PREFIX}__");
    let base: String = key.split('[').next().unwrap_or(key).into();
    s.push_str(&base.replace('.', "__").to_uppercase());
    s
}

impl Loader<'_> {
    fn origin(&self, key: &str) -> String {
        if let Some(f) = self.origins.get(key) {
            return f.clone();
        }
        // Flags that replace a whole list (`--mix`, `--slo`) own its items.
        for (k, f) in &self.origins {
            if key.starts_with(&format!("{k}[")) {
                return f.clone();
            }
        }
        let var = env_name(key);
        if self.env.contains_key(&var) {
            return format!("env {var}");
        }
        if let Some((old, _)) = LEGACY_ENV
            .iter()
            .find(|(old, new)| *new == key && self.env.contains_key(*old))
        {
            return format!("env {old}");
        }
        match &self.file {
            Some(p) => format!("file {}", p.display()),
            None => "defaults".into(),
        }
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: self.origin(key),
            key: key.into(),
            message: message.into(),
        }
    }

    fn read_layers(&self) -> Result<FileConfig, ConfigError> {
        let mut b = config::Config::builder();
        if let Some(path) = &self.file {
            let origin = format!("file {}", path.display());
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("toml") => config::FileFormat::Toml,
                Some("yaml" | "yml") => config::FileFormat::Yaml,
                _ => {
                    return Err(ConfigError {
                        origin,
                        key: "-c".into(),
                        message: "expected a .toml, .yaml or .yml file".into(),
                    });
                }
            };
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                origin: origin.clone(),
                key: "-c".into(),
                message: format!("cannot read: {e}"),
            })?;
            b = b.add_source(config::File::from_str(&text, format));
        }
        let mut env = BTreeMap::new();
        // The old scripts' variables, below MCP_SOAK__ ones.
        for (old, new) in LEGACY_ENV {
            if let Some(v) = self.env.get(old)
                && !self.env.contains_key(&env_name(new))
            {
                let v = if old == "LOAD_TEST_TIMEOUT" && v.parse::<f64>().is_ok() {
                    format!("{v}s")
                } else {
                    v.clone()
                };
                env.insert(env_name(new), v);
            }
        }
        for (k, v) in self.env {
            if k.starts_with(&format!("{ENV_PREFIX}__")) {
                env.insert(k.clone(), v.clone());
            }
        }
        let env: config::Map<String, String> = env.into_iter().collect();
        b = b.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let built = b.build().map_err(|e| self.layer_err(e))?;
        built
            .try_deserialize::<FileConfig>()
            .map_err(|e| self.layer_err(e))
    }

    fn layer_err(&self, e: config::ConfigError) -> ConfigError {
        let msg = e.to_string();
        // The config crate says "... for key `load.rate` in <origin>"; keep its words, name the key.
        let mut key = msg
            .split("key `")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .unwrap_or("")
            .to_string();
        // The config crate writes `mix[0]weight`; say `mix[0].weight`.
        let mut fixed = String::with_capacity(key.len() + 4);
        let mut prev = ' ';
        for ch in key.chars() {
            if prev == ']' && ch != '.' && ch != '[' {
                fixed.push('.');
            }
            fixed.push(ch);
            prev = ch;
        }
        key = fixed;
        if let Some(field) = msg
            .split("unknown field `")
            .nth(1)
            .and_then(|r| r.split('`').next())
        {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
        }
        let origin = if key.is_empty() {
            self.file
                .as_ref()
                .map_or("environment".into(), |p| format!("file {}", p.display()))
        } else {
            self.origin(&key)
        };
        let key = if key.is_empty() {
            "(config)".into()
        } else {
            key
        };
        ConfigError {
            origin,
            key,
            message: msg,
        }
    }

    fn set<T>(&mut self, slot: &mut Option<T>, v: Option<T>, key: &str, flag: &str) {
        if let Some(v) = v {
            *slot = Some(v);
            self.origins.insert(key.into(), format!("flag --{flag}"));
        }
    }

    fn apply_flags(&mut self, c: &mut FileConfig, a: &RunArgs) -> Result<(), ConfigError> {
        let t = &mut c.target;
        self.set(&mut t.url, a.url.clone(), "target.url", "url");
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
        let open_flag = a.rate.is_some() || a.duration.is_some() || a.stages.is_some();
        let closed_flag = a.users.is_some()
            || a.requests.is_some()
            || a.scenario.is_some()
            || a.quick
            || a.total.is_some()
            || a.concurrent.is_some();
        if open_flag && !closed_flag {
            (l.users, l.requests, l.scenario, l.total, l.concurrent) =
                (None, None, None, None, None);
        }
        if closed_flag && !open_flag {
            (l.rate, l.duration, l.stages) = (None, None, None);
        }
        if a.stages.is_some() {
            l.rate = None;
            l.duration = None;
        }
        if a.rate.is_some() || a.duration.is_some() {
            l.stages = None;
        }
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
            c.mix = mixed_payments_mix();
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

        let o = &mut c.output;
        self.set(
            &mut o.summary,
            a.summary.as_ref().map(|p| p.display().to_string()),
            "output.summary",
            "summary",
        );
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

    fn duration(&self, key: &str, v: &Option<String>) -> Result<Option<Duration>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => parse_duration(s).map(Some).map_err(|m| {
                self.err(
                    key,
                    format!("expected a duration like 500ms, 30s, 10m, 2h: {m} (got {s:?})"),
                )
            }),
        }
    }

    fn lower(&self, c: FileConfig, a: &RunArgs) -> Result<Plan, ConfigError> {
        let client = self.lower_client(&c)?;
        let limits = self.lower_limits(&c)?;
        let load = share(self.lower_load(&c)?, limits.instance_share);
        let mix = self.lower_mix(&c.mix)?;
        let slos = self.lower_slos(&c.slo, &mix)?;
        let output = self.lower_output(&c)?;
        let seed = c.load.seed.unwrap_or_else(rand::random);
        let _ = a;
        Ok(Plan {
            client,
            load,
            mix,
            slos,
            limits,
            output,
            seed,
        })
    }

    fn lower_client(&self, c: &FileConfig) -> Result<ClientConfig, ConfigError> {
        let t = &c.target;
        let mut cc = ClientConfig::default();
        if let Some(url) = &t.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(self.err(
                    "target.url",
                    format!("expected an http:// or https:// URL, got {url:?}"),
                ));
            }
            cc.url = url.clone();
        }
        cc.transport = match t.transport.as_deref() {
            None | Some("streamable-http") => Transport::StreamableHttp,
            Some("legacy-sse") => Transport::LegacySse,
            Some(o) => {
                return Err(self.err(
                    "target.transport",
                    format!("expected streamable-http or legacy-sse, got {o:?}"),
                ));
            }
        };
        cc.protocol = match t.protocol.as_deref() {
            None | Some("auto") => ProtocolChoice::Auto,
            Some(r) if SUPPORTED_REVISIONS.contains(&r) => ProtocolChoice::Revision(r.into()),
            Some(o) => {
                return Err(self.err(
                    "target.protocol",
                    format!(
                        "expected auto or one of {}, got {o:?}",
                        SUPPORTED_REVISIONS.join(", ")
                    ),
                ));
            }
        };
        if let Some(d) = self.duration("target.timeout", &t.timeout)? {
            if d.is_zero() {
                return Err(self.err("target.timeout", "expected a duration > 0"));
            }
            cc.timeout = d;
        }
        if let Some(d) = self.duration("target.connect_timeout", &t.connect_timeout)? {
            cc.connect_timeout = d;
        }
        if let Some(n) = t.sessions {
            if !(1..=100_000).contains(&n) {
                return Err(self.err(
                    "target.sessions",
                    format!("expected 1 to 100000 sessions, got {n}"),
                ));
            }
            cc.sessions = n as u32;
        }
        cc.session_strategy = match t.session_strategy.as_deref() {
            None | Some("pooled") => SessionStrategy::Pooled,
            Some("per-call") => SessionStrategy::PerCall,
            Some(s) if s.starts_with("churn:") => match s["churn:".len()..].parse::<u64>() {
                Ok(k) if k > 0 => SessionStrategy::Churn {
                    calls_per_session: k,
                },
                _ => {
                    return Err(self.err(
                        "target.session_strategy",
                        format!("expected churn:K with K > 0, got {s:?}"),
                    ));
                }
            },
            Some(o) => {
                return Err(self.err(
                    "target.session_strategy",
                    format!("expected pooled, churn:K or per-call, got {o:?}"),
                ));
            }
        };
        for (k, v) in &t.headers {
            if k.is_empty()
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            {
                return Err(self.err("target.headers", format!("bad header name {k:?}")));
            }
            cc.headers.push((k.clone(), Secret::new(v.clone())));
        }
        cc.ca_file = t.ca_file.as_ref().map(PathBuf::from);
        cc.insecure = t.insecure.unwrap_or(false);
        cc.auth = self.lower_auth(c)?;
        Ok(cc)
    }

    fn token(&self, c: &FileConfig) -> Result<Option<Secret>, ConfigError> {
        let au = &c.target.auth;
        if let Some(t) = &au.token {
            return Ok(Some(Secret::new(t.clone())));
        }
        if let Some(var) = &au.token_env {
            return match self.env.get(var) {
                Some(v) if !v.is_empty() => Ok(Some(Secret::new(v.clone()))),
                _ => Err(self.err(
                    "target.auth.token_env",
                    format!("environment variable {var} is not set or empty"),
                )),
            };
        }
        if let Some(path) = &au.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                self.err(
                    "target.auth.token_file",
                    format!("cannot read token file {path}: {e}"),
                )
            })?;
            let tok = text.trim();
            if tok.is_empty() {
                return Err(self.err(
                    "target.auth.token_file",
                    format!("token file {path} is empty"),
                ));
            }
            return Ok(Some(Secret::new(tok)));
        }
        Ok(None)
    }

    fn lower_auth(&self, c: &FileConfig) -> Result<Auth, ConfigError> {
        let au = &c.target.auth;
        let token = self.token(c)?;
        let kind = au.kind.clone().unwrap_or_else(|| {
            if token.is_some() {
                "bearer".into()
            } else {
                "none".into()
            }
        });
        match kind.as_str() {
            "none" => Ok(Auth::None),
            "bearer" => token.map(Auth::Bearer).ok_or_else(|| {
                self.err(
                    "target.auth.kind",
                    "bearer needs a token: set token, token_env or token_file",
                )
            }),
            "offline-token" => {
                let refresh_token = token.ok_or_else(|| {
                    self.err(
                        "target.auth.kind",
                        "offline-token needs the offline token: set token, token_env or token_file",
                    )
                })?;
                let token_url = au.token_url.clone().ok_or_else(|| {
                    self.err("target.auth.token_url", "offline-token needs token_url")
                })?;
                let client_id = au
                    .client_id
                    .clone()
                    .unwrap_or_else(|| "cloud-services".into());
                Ok(Auth::OfflineToken {
                    refresh_token,
                    token_url,
                    client_id,
                })
            }
            o => Err(self.err(
                "target.auth.kind",
                format!("expected none, bearer or offline-token, got {o:?}"),
            )),
        }
    }

    fn count(&self, key: &str, v: Option<i64>, min: i64) -> Result<Option<u64>, ConfigError> {
        match v {
            Some(n) if n < min => {
                Err(self.err(key, format!("expected an integer >= {min}, got {n}")))
            }
            Some(n) => Ok(Some(n as u64)),
            None => Ok(None),
        }
    }

    fn lower_load(&self, c: &FileConfig) -> Result<Load, ConfigError> {
        let l = &c.load;
        let closed_key = [
            ("load.users", l.users.is_some()),
            ("load.requests", l.requests.is_some()),
            ("load.scenario", l.scenario.is_some()),
            ("load.total", l.total.is_some()),
            ("load.concurrent", l.concurrent.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k);
        let open_key = [
            ("load.rate", l.rate.is_some()),
            ("load.duration", l.duration.is_some()),
            ("load.stages", l.stages.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k);
        if let (Some(ck), Some(ok)) = (closed_key, open_key) {
            return Err(self.err(
                ck,
                format!("closed-model key conflicts with open-model key `{ok}` ({}): use one load model", self.origin(ok)),
            ));
        }
        if closed_key.is_some() {
            return self.lower_closed(c);
        }
        let max_calls = self.count("load.max_calls", l.max_calls, 1)?;
        let stages = match &l.stages {
            Some(_) if l.rate.is_some() || l.duration.is_some() => {
                return Err(self.err(
                    "load.stages",
                    "set either stages or rate/duration, not both",
                ));
            }
            Some(StagesCfg::Text(t)) => {
                Stage::parse_list(t).map_err(|e| self.err("load.stages", e.to_string()))?
            }
            Some(StagesCfg::List(list)) => {
                let mut out = Vec::new();
                for (i, s) in list.iter().enumerate() {
                    let key = format!("load.stages[{i}]");
                    let duration = match s.duration.as_str() {
                        "forever" | "inf" => None,
                        d => Some(
                            parse_duration(d)
                                .map_err(|m| self.err(&format!("{key}.duration"), m))?,
                        ),
                    };
                    let ramp = match &s.ramp {
                        Some(r) => {
                            parse_duration(r).map_err(|m| self.err(&format!("{key}.ramp"), m))?
                        }
                        None => Duration::ZERO,
                    };
                    out.push(Stage {
                        rate: s.rate,
                        duration,
                        ramp,
                    });
                }
                check_stages(&out).map_err(|(i, m)| self.err(&format!("load.stages[{i}]"), m))?;
                out
            }
            None => {
                let rate = l.rate.unwrap_or(10.0);
                if !rate.is_finite() || rate <= 0.0 {
                    return Err(self.err("load.rate", format!("expected calls/s > 0, got {rate}")));
                }
                let duration = match l.duration.as_deref() {
                    Some("forever" | "inf") => None,
                    None => Some(Duration::from_secs(60)),
                    Some(_) => {
                        let d = self.duration("load.duration", &l.duration)?;
                        if d.is_some_and(|d| d.is_zero()) {
                            return Err(self.err("load.duration", "expected a duration > 0"));
                        }
                        d
                    }
                };
                vec![Stage::steady(rate, duration)]
            }
        };
        Ok(Load::Open { stages, max_calls })
    }

    fn lower_closed(&self, c: &FileConfig) -> Result<Load, ConfigError> {
        let l = &c.load;
        let (mut users, mut requests) = (None, None);
        if let Some(name) = &l.scenario {
            let (_, u, r) = SCENARIOS
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| {
                    self.err(
                        "load.scenario",
                        format!("expected light, moderate, heavy or stress, got {name:?}"),
                    )
                })?;
            (users, requests) = (Some(u64::from(*u)), Some(*r));
        }
        if let Some(conc) = self.count("load.concurrent", l.concurrent, 1)? {
            users = Some(conc);
        }
        if let Some(total) = self.count("load.total", l.total, 1)? {
            let u = users.unwrap_or(10).max(1);
            users = Some(u.min(total));
            requests = Some(total.div_ceil(u.min(total)));
        }
        if let Some(u) = self.count("load.users", l.users, 1)? {
            users = Some(u);
        }
        if let Some(r) = self.count("load.requests", l.requests, 1)? {
            requests = Some(r);
        }
        let users = users.unwrap_or(10);
        if users > 100_000 {
            return Err(self.err(
                "load.users",
                format!("expected at most 100000 users, got {users}"),
            ));
        }
        let delay = match &l.delay {
            Some(s) if s.parse::<f64>().is_ok_and(|x| x >= 0.0 && x.is_finite()) => {
                Duration::from_secs_f64(s.parse::<f64>().unwrap_or(0.0))
            }
            other => self
                .duration("load.delay", other)?
                .unwrap_or(Duration::ZERO),
        };
        Ok(Load::Closed {
            users: users as u32,
            requests_per_user: requests.unwrap_or(10),
            delay,
        })
    }

    fn lower_limits(&self, c: &FileConfig) -> Result<Limits, ConfigError> {
        let l = &c.load;
        let mut lim = Limits::default();
        if let Some(n) = self.count("load.max_in_flight", l.max_in_flight, 1)? {
            lim.max_in_flight = n as usize;
        }
        if let Some(r) = l.max_rate {
            if !r.is_finite() || r <= 0.0 {
                return Err(self.err("load.max_rate", format!("expected calls/s > 0, got {r}")));
            }
            lim.max_rate = Some(r);
        }
        if let Some(g) = self.duration("load.grace", &l.grace)? {
            lim.grace = g;
        }
        lim.honor_retry_after = l.honor_retry_after.unwrap_or(false);
        lim.require_target = l.require_target.unwrap_or(false);
        lim.abort_on_breach = self.duration("load.abort_on_breach", &l.abort_on_breach)?;
        if let Some(s) = &l.instance_share {
            let parsed = s.split_once('/').and_then(|(i, n)| {
                Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
            });
            match parsed {
                Some((i, n)) if n > 0 && i < n => lim.instance_share = Some((i, n)),
                _ => {
                    return Err(self.err(
                        "load.instance_share",
                        format!("expected i/n with 0 <= i < n, got {s:?}"),
                    ));
                }
            }
        }
        Ok(lim)
    }

    fn lower_mix(&self, mix: &[MixCfg]) -> Result<Mix, ConfigError> {
        if mix.is_empty() {
            return Err(self.err("mix", "no operations: add [[mix]] entries or --mix 'tool=1' (`mcp-soak discover` prints a starting config)"));
        }
        let mut ops: Vec<Operation> = Vec::new();
        for (i, m) in mix.iter().enumerate() {
            let key = format!("mix[{i}]");
            let e = |field: &str, msg: String| self.err(&format!("{key}.{field}"), msg);
            let method = match (&m.tool, m.method.as_deref()) {
                (Some(_), Some(me)) if me != "tools/call" => {
                    return Err(e("method", format!("set either tool or method, got tool and method {me:?}")));
                }
                (Some(t), _) if t.is_empty() => return Err(e("tool", "empty tool name".into())),
                (Some(t), _) => Method::ToolsCall { tool: t.clone() },
                (None, Some("resources/read")) => Method::ResourcesRead {
                    uri: m.uri.clone().ok_or_else(|| e("uri", "resources/read needs uri".into()))?,
                },
                (None, Some("prompts/get")) => Method::PromptsGet {
                    name: m.prompt.clone().ok_or_else(|| e("prompt", "prompts/get needs prompt".into()))?,
                },
                (None, Some(me)) => Method::parse_simple(me).ok_or_else(|| {
                    e("method", format!("expected tools/list, resources/list, resources/read, prompts/list, prompts/get or ping, got {me:?}"))
                })?,
                (None, None) => return Err(self.err(&key, "expected tool = \"NAME\" or method = \"tools/list\"")),
            };
            let name = m.name.clone().or_else(|| mix_label(m)).unwrap_or_default();
            if ops.iter().any(|o| o.name == name) {
                return Err(e(
                    "name",
                    format!("operation {name:?} appears twice; give one a distinct `name`"),
                ));
            }
            let weight = m.weight.unwrap_or(1);
            if !(0..=1_000_000).contains(&weight) {
                return Err(e(
                    "weight",
                    format!("expected an integer from 0 to 1000000, got {weight}"),
                ));
            }
            let args = match &m.args {
                None => ArgTemplate::default(),
                Some(v) => ArgTemplate::parse(v)
                    .map_err(|ae| e(&format!("args.{}", ae.path), ae.message))?,
            };
            let mut captures = Vec::new();
            for (pool, pointer) in &m.capture {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    return Err(e(
                        &format!("capture.{pool}"),
                        format!("expected a JSON pointer like \"/payment_id\", got {pointer:?}"),
                    ));
                }
                captures.push(CaptureSpec {
                    pool: pool.clone(),
                    pointer: pointer.clone(),
                });
            }
            if let Some(r) = m.max_rate
                && (!r.is_finite() || r <= 0.0)
            {
                return Err(e("max_rate", format!("expected calls/s > 0, got {r}")));
            }
            ops.push(Operation {
                name,
                method,
                weight: weight as u32,
                args,
                captures,
                max_rate: m.max_rate,
                allow_destructive: m.allow_destructive.unwrap_or(false),
            });
        }
        let mix = Mix { ops };
        if mix.total_weight() == 0 {
            return Err(self.err(
                "mix",
                "the weights sum to 0: at least one operation needs a weight > 0",
            ));
        }
        Ok(mix)
    }

    fn lower_slos(&self, slos: &[SloCfg], mix: &Mix) -> Result<Vec<Slo>, ConfigError> {
        let mut out = Vec::new();
        for (i, s) in slos.iter().enumerate() {
            let key = format!("slo[{i}]");
            if let Some(op) = &s.tool
                && mix.index_of(op).is_none()
            {
                let names: Vec<&str> = mix.ops.iter().map(|o| o.name.as_str()).collect();
                return Err(self.err(
                    &format!("{key}.tool"),
                    format!(
                        "no operation {op:?} in the mix (have: {})",
                        names.join(", ")
                    ),
                ));
            }
            let p95 = match &s.p95 {
                Some(p) => Some(parse_duration(p).map_err(|m| {
                    self.err(
                        &format!("{key}.p95"),
                        format!("expected a duration like 150ms: {m} (got {p:?})"),
                    )
                })?),
                None => None,
            };
            if let Some(t) = s.min_tps
                && (!t.is_finite() || t < 0.0)
            {
                return Err(self.err(
                    &format!("{key}.min_tps"),
                    format!("expected calls/s >= 0, got {t}"),
                ));
            }
            if let Some(r) = s.max_error_ratio
                && !(0.0..=1.0).contains(&r)
            {
                return Err(self.err(
                    &format!("{key}.max_error_ratio"),
                    format!("expected a ratio from 0 to 1 (0.001 = 0.1 %), got {r}"),
                ));
            }
            out.push(Slo {
                op: s.tool.clone(),
                p95,
                min_tps: s.min_tps,
                max_error_ratio: s.max_error_ratio,
            });
        }
        Ok(out)
    }

    fn lower_output(&self, c: &FileConfig) -> Result<Output, ConfigError> {
        let o = &c.output;
        let mut out = Output {
            summary: o.summary.as_ref().map(PathBuf::from),
            raw: o.raw.as_ref().map(PathBuf::from),
            ..Output::default()
        };
        if let Some(addr) = &o.metrics_listen {
            out.metrics_listen = if addr == "none" {
                None
            } else {
                Some(addr.parse::<SocketAddr>().map_err(|_| {
                    self.err(
                        "output.metrics_listen",
                        format!("expected IP:PORT (e.g. 0.0.0.0:9464) or none, got {addr:?}"),
                    )
                })?)
            };
        }
        if let Some(d) = self.duration("output.linger", &o.linger)? {
            out.linger = d;
        }
        if let Some(d) = self.duration("output.progress_interval", &o.progress_interval)? {
            if d.is_zero() {
                return Err(self.err("output.progress_interval", "expected a duration > 0"));
            }
            out.progress_interval = d;
        }
        out.quiet = o.quiet.unwrap_or(false);
        out.no_fail_on_slo = o.no_fail_on_slo.unwrap_or(false);
        Ok(out)
    }
}

/// This instance's part of a load split `n` ways (`--instance-share i/n`): every rate and the call
/// count divided by `n`; the instances' sums are the configured load.
fn share(load: Load, share: Option<(u32, u32)>) -> Load {
    let Some((i, n)) = share else { return load };
    match load {
        Load::Open { stages, max_calls } => Load::Open {
            stages: stages
                .into_iter()
                .map(|s| Stage {
                    rate: s.rate / f64::from(n),
                    ..s
                })
                .collect(),
            // Spread the remainder over the first instances so the total stays exact.
            max_calls: max_calls
                .map(|m| m / u64::from(n) + u64::from(u64::from(i) < m % u64::from(n))),
        },
        closed => closed,
    }
}

/// The label of a mix entry before `name` overrides: the tool, or the method.
fn mix_label(m: &MixCfg) -> Option<String> {
    if let Some(n) = &m.name {
        return Some(n.clone());
    }
    m.tool.clone().or_else(|| m.method.clone())
}

/// Parses `500ms`, `30s`, `10m`, `1h 30m` (humantime). A bare number is refused: `150` could mean
/// seconds or milliseconds (only `--delay` takes plain seconds, like the old scripts).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.parse::<f64>().is_ok() {
        return Err(format!("{t} has no unit (write {t}s or {t}ms)"));
    }
    humantime::parse_duration(t).map_err(|e| e.to_string())
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

/// The payments script's `--mixed` mode as a mix.
fn mixed_payments_mix() -> Vec<MixCfg> {
    let create_args = serde_json::json!({
        "amount": {"gen": "decimal", "min": 1.0, "max": 500.0, "precision": 2},
        "currency": {"gen": "choice", "values": ["USD", "EUR", "GBP"]},
        "customer_id": {"gen": "string", "len": 12, "prefix": "cus_"}
    });
    let verify_args =
        serde_json::json!({"payment_id": {"capture": "payment_ids", "fallback": {"gen": "uuid"}}});
    let wallet_args =
        serde_json::json!({"customer_id": {"gen": "string", "len": 12, "prefix": "cus_"}});
    vec![
        MixCfg {
            tool: Some("create_payment".into()),
            weight: Some(40),
            args: Some(create_args),
            capture: [("payment_ids".to_string(), "/payment_id".to_string())]
                .into_iter()
                .collect(),
            ..MixCfg::default()
        },
        MixCfg {
            tool: Some("verify_payment".into()),
            weight: Some(30),
            args: Some(verify_args),
            ..MixCfg::default()
        },
        MixCfg {
            tool: Some("get_wallet_balance".into()),
            weight: Some(30),
            args: Some(wallet_args),
            ..MixCfg::default()
        },
    ]
}

/// Reads a config file's path for messages (used by `validate`).
pub fn describe_source(path: Option<&Path>) -> String {
    path.map_or_else(
        || "flags and environment".into(),
        |p| p.display().to_string(),
    )
}
