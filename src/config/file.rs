//! The file schema (TOML or YAML), also the shape environment variables are merged into.
//! Every table rejects unknown keys, so a typo is an error and not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub target: TargetCfg,
    pub load: LoadCfg,
    pub mix: Vec<MixCfg>,
    pub slo: Vec<SloCfg>,
    pub output: OutputCfg,
    pub run: RunCfg,
    pub soak: SoakCfg,
    pub control: ControlCfg,
}

/// `[control]`: runtime control of a running soak over the `/metrics` listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlCfg {
    /// Allow `/control/…` to pause, resume, re-rate and reweigh the run (default false).
    pub enabled: Option<bool>,
    /// A file holding the bearer token (when `MCP_SOAK_CONTROL_TOKEN` is not set).
    pub token_file: Option<String>,
    /// Require the token even on a loopback listener (default: only off loopback).
    pub require_token: Option<bool>,
}

/// `[soak]`: the leak and drift verdicts' limits and windows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoakCfg {
    /// e.g. `"50MB/h"`.
    pub max_memory_growth: Option<String>,
    /// e.g. `"20%"` or `0.2`.
    pub max_p95_drift: Option<String>,
    pub warmup: Option<String>,
    pub window: Option<String>,
}

/// `[run]`: the run's identity on every exported series and in the summary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunCfg {
    /// Shared by the shards of one load (`--instance-share`); a random UUID when unset.
    pub id: Option<String>,
    /// Static labels, e.g. `{ test = "checkout", env = "staging" }`.
    pub labels: BTreeMap<String, String>,
}

/// `[target]`: where and how to connect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetCfg {
    pub url: Option<String>,
    /// A stdio server to start instead of a URL: `"node server.js stdio"` or `["node", "server.js"]`.
    pub command: Option<CommandCfg>,
    /// Extra environment of the stdio server processes.
    pub env: BTreeMap<String, String>,
    /// Working directory of the stdio server processes.
    pub cwd: Option<String>,
    /// How many stdio server processes to run.
    pub processes: Option<i64>,
    pub transport: Option<String>,
    pub protocol: Option<String>,
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub sessions: Option<i64>,
    pub max_connections: Option<i64>,
    pub session_strategy: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub ca_file: Option<String>,
    pub insecure: Option<bool>,
    /// Largest reply body read, in bytes; a longer one is cut and counted `protocol`.
    pub max_body_bytes: Option<i64>,
    pub auth: AuthCfg,
    /// The server's own Prometheus endpoint, scraped for its memory, fds and CPU.
    pub metrics_url: Option<String>,
    /// Series to scrape from `metrics_url` besides the `process_*` defaults.
    pub metrics_series: Vec<String>,
    /// Time between samples of the server's resources (default 5s).
    pub metrics_interval: Option<String>,
    /// A local server process to sample from `/proc` (instead of `metrics_url`).
    pub pid: Option<i64>,
}

/// `target.command`: one shell-like line or the program and its arguments.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandCfg {
    Line(String),
    Words(Vec<String>),
}

/// `[target.auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthCfg {
    pub kind: Option<String>,
    pub token: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
}

/// Stages as a list of tables or as the text form `50:5m,100:5m@30s`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StagesCfg {
    Text(String),
    List(Vec<StageCfg>),
}

/// One `[[load.stages]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCfg {
    pub rate: f64,
    /// A duration, or `forever`.
    pub duration: String,
    #[serde(default)]
    pub ramp: Option<String>,
}

/// `[load]`: the load model and the limits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadCfg {
    pub rate: Option<f64>,
    pub duration: Option<String>,
    pub stages: Option<StagesCfg>,
    pub max_calls: Option<i64>,
    pub users: Option<i64>,
    pub requests: Option<i64>,
    pub delay: Option<String>,
    pub concurrent: Option<i64>,
    pub total: Option<i64>,
    pub scenario: Option<String>,
    pub max_in_flight: Option<i64>,
    pub max_rate: Option<f64>,
    pub seed: Option<u64>,
    pub grace: Option<String>,
    pub honor_retry_after: Option<bool>,
    pub require_target: Option<bool>,
    pub abort_on_breach: Option<String>,
    pub slo_window: Option<String>,
    pub instance_share: Option<String>,
}

/// Which load keys a higher layer (the environment, or the flags) set: a layer that picks one load
/// model clears the other model's keys from the layers below it, so `MCP_SOAK__LOAD__RATE=50` over a
/// stages-based file works like `--rate 50`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadPick {
    /// `rate` or `duration` (a steady open-model stage).
    pub steady: bool,
    /// `stages`.
    pub stages: bool,
    /// Any closed-model key (`users`, `requests`, `scenario`, `total`, `concurrent`).
    pub closed: bool,
}

impl LoadCfg {
    /// Clears what the layers below set for the model(s) `pick` did not choose. Keys the picking
    /// layer set itself are kept, so a layer that sets both models still gets the conflict error.
    pub fn switch_model(&mut self, pick: LoadPick) {
        let open = pick.steady || pick.stages;
        if open && !pick.closed {
            (
                self.users,
                self.requests,
                self.scenario,
                self.total,
                self.concurrent,
            ) = (None, None, None, None, None);
        }
        if pick.closed && !open {
            (self.rate, self.duration, self.stages) = (None, None, None);
        }
        if pick.stages && !pick.steady {
            (self.rate, self.duration) = (None, None);
        }
        if pick.steady && !pick.stages {
            self.stages = None;
        }
    }
}

/// One `[[mix]]` entry: `tool = "..."` or `method = "tools/list"` (or `resources/read` + `uri`,
/// `prompts/get` + `prompt`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixCfg {
    pub tool: Option<String>,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub prompt: Option<String>,
    /// Label in reports and metrics (default: the tool name or the method).
    pub name: Option<String>,
    pub weight: Option<i64>,
    /// A template (see `plan::args`) or the string `"auto"`.
    pub args: Option<Value>,
    /// Pool name → JSON pointer into the result.
    pub capture: BTreeMap<String, String>,
    pub max_rate: Option<f64>,
    pub allow_destructive: Option<bool>,
}

/// One `[[slo]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloCfg {
    /// Operation name; absent = the whole run.
    pub tool: Option<String>,
    pub p95: Option<String>,
    pub min_tps: Option<f64>,
    pub max_error_ratio: Option<f64>,
}

/// `[output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputCfg {
    pub summary: Option<String>,
    pub html: Option<String>,
    pub junit: Option<String>,
    pub markdown: Option<String>,
    pub raw: Option<String>,
    pub metrics_listen: Option<String>,
    pub linger: Option<String>,
    pub progress_interval: Option<String>,
    pub checkpoint_every: Option<String>,
    pub quiet: Option<bool>,
    pub no_fail_on_slo: Option<bool>,
}
