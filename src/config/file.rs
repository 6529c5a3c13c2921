//! The file schema (TOML or YAML), also the shape environment variables are merged into.
//! Every table rejects unknown keys, so a typo is an error and not a silently ignored setting.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// `[target]`: the server under test and how to reach it.
    pub target: TargetCfg,
    /// `[load]`: the load model (open: rate/duration or stages; closed: users × requests) and its limits.
    pub load: LoadCfg,
    /// `[[mix]]`: the weighted operations, one table each.
    pub mix: Vec<MixCfg>,
    /// `[[slo]]`: latency, throughput and error-ratio objectives, judged live and at the end.
    pub slo: Vec<SloCfg>,
    /// `[output]`: report files, the metrics listener and console behaviour.
    pub output: OutputCfg,
    /// `[run]`: the run id and static labels.
    pub run: RunCfg,
    /// `[soak]`: limits and windows of the memory-leak and p95-drift verdicts.
    pub soak: SoakCfg,
    /// `[control]`: runtime control over the `/control/…` endpoints.
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
    /// Time excluded from both verdicts at the start, e.g. `"30s"` (default 30s, at most a fifth of the run).
    pub warmup: Option<String>,
    /// Length of one drift window, e.g. `"10m"` (default: a tenth of the steady part, clamped to 30s..1h).
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
    /// The MCP endpoint (`http(s)://…`; for legacy SSE the `/sse` URL); conflicts with `command`.
    pub url: Option<String>,
    /// A stdio server to start instead of a URL: `"node server.js stdio"` or `["node", "server.js"]`.
    pub command: Option<CommandCfg>,
    /// Extra environment of the stdio server processes.
    pub env: BTreeMap<String, String>,
    /// Working directory of the stdio server processes.
    pub cwd: Option<String>,
    /// How many stdio server processes to run.
    pub processes: Option<i64>,
    /// `"streamable-http"` (default) or `"legacy-sse"`.
    pub transport: Option<String>,
    /// Protocol version to offer: `"auto"` (default, newest with fallback) or a dated version.
    pub protocol: Option<String>,
    /// Per-call timeout, e.g. `"30s"` (must be > 0).
    pub timeout: Option<String>,
    /// Time allowed to open a connection, e.g. `"5s"`.
    pub connect_timeout: Option<String>,
    /// Session-era pool size (1..=100000).
    pub sessions: Option<i64>,
    /// Calls on the wire at once, one connection each (1..=100000).
    pub max_connections: Option<i64>,
    /// `pooled` (default), `churn:K`, `per-call`, `abandon`, `idle:D[:P%]` or `stale`.
    pub session_strategy: Option<String>,
    /// Extra headers sent on every MCP request (never to the token URL, never logged).
    pub headers: BTreeMap<String, String>,
    /// A PEM file of extra CA certificates to trust.
    pub ca_file: Option<String>,
    /// Skip TLS certificate verification (default false).
    pub insecure: Option<bool>,
    /// Largest reply body read, in bytes; a longer one is cut and counted `protocol`.
    pub max_body_bytes: Option<i64>,
    /// `[target.auth]`: how to obtain the bearer credential.
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
    /// The whole line, split like a shell would (quotes, no expansion).
    Line(String),
    /// The program followed by its arguments, taken as they are.
    Words(Vec<String>),
}

/// `[target.auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthCfg {
    /// `none`, `bearer`, `offline-token` or `offline-token-header` (default: bearer when a token is given).
    pub kind: Option<String>,
    /// The token itself (prefer `token_env` or `token_file`: this one sits in the file).
    pub token: Option<String>,
    /// Name of an environment variable holding the token.
    pub token_env: Option<String>,
    /// A file holding the token (trimmed).
    pub token_file: Option<String>,
    /// OAuth2 `refresh_token` grant endpoint for `offline-token`.
    pub token_url: Option<String>,
    /// OAuth2 client id for `offline-token` (default `cloud-services`).
    pub client_id: Option<String>,
}

/// Stages as a list of tables or as the text form `50:5m,100:5m@30s`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StagesCfg {
    /// The text form, e.g. `"50:5m,100:5m@30s,200:forever"`.
    Text(String),
    /// One table per stage.
    List(Vec<StageCfg>),
}

/// One `[[load.stages]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCfg {
    /// Target rate at the end of the stage, in calls/s (0 pauses).
    pub rate: f64,
    /// A duration, or `forever`.
    pub duration: String,
    /// Time over which the rate rises linearly from the previous stage's rate, e.g. `"30s"`; absent = a step.
    #[serde(default)]
    pub ramp: Option<String>,
}

/// `[load]`: the load model and the limits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadCfg {
    /// Open model: calls/s of one steady stage (default 10).
    pub rate: Option<f64>,
    /// Open model: length of the steady stage, or `"forever"` (default 1m).
    pub duration: Option<String>,
    /// Open model: a list of stages instead of `rate`/`duration`.
    pub stages: Option<StagesCfg>,
    /// Stop after this many calls in total.
    pub max_calls: Option<i64>,
    /// Closed model: concurrent users.
    pub users: Option<i64>,
    /// Closed model: calls per user.
    pub requests: Option<i64>,
    /// Closed model: pause after each reply (`"0.5s"` or plain seconds).
    pub delay: Option<String>,
    /// Closed model: `total` calls shared by this many users (`users = concurrent`).
    pub concurrent: Option<i64>,
    /// Closed model: calls in total, with `concurrent` (`requests = ceil(total / concurrent)`).
    pub total: Option<i64>,
    /// Closed model preset: `light`, `moderate`, `heavy` or `stress` (users × requests and delay).
    pub scenario: Option<String>,
    /// Calls in flight at once; slots beyond are not sent and are counted `dropped`.
    pub max_in_flight: Option<i64>,
    /// Hard ceiling on the whole run's rate, in calls/s.
    pub max_rate: Option<f64>,
    /// RNG seed for argument generation and the mix (default random, printed): same seed, same calls.
    pub seed: Option<u64>,
    /// How long in-flight calls may finish after the schedule ends, e.g. `"10s"`.
    pub grace: Option<String>,
    /// A reply carrying `Retry-After` pauses that operation; its due slots count `dropped` (default false).
    pub honor_retry_after: Option<bool>,
    /// Exit 3 when the target is unreachable at start, instead of keeping the schedule and counting `connect`.
    pub require_target: Option<bool>,
    /// Stop the run once an SLO has been failing this long (over `slo_window`), e.g. `"5m"`.
    pub abort_on_breach: Option<String>,
    /// The sliding window live SLO state is judged over, e.g. `"5m"`.
    pub slo_window: Option<String>,
    /// `"i/n"`: this instance is shard i of n and sends 1/n of every rate.
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
    /// Tool to call with `tools/call` (or set `method`).
    pub tool: Option<String>,
    /// A method other than `tools/call`: `tools/list`, `resources/list`, `resources/read`, `prompts/list`, `prompts/get`, `ping`.
    pub method: Option<String>,
    /// The resource URI for `method = "resources/read"`.
    pub uri: Option<String>,
    /// The prompt name for `method = "prompts/get"`.
    pub prompt: Option<String>,
    /// Label in reports and metrics (default: the tool name or the method).
    pub name: Option<String>,
    /// Relative weight in the mix (0..=1000000; not all 0).
    pub weight: Option<i64>,
    /// A template (see `plan::args`) or the string `"auto"`.
    pub args: Option<Value>,
    /// Pool name → JSON pointer into the result.
    pub capture: BTreeMap<String, String>,
    /// Ceiling on this operation alone, in calls/s; slots over it are counted `dropped`.
    pub max_rate: Option<f64>,
    /// Allow calling a tool not annotated read-only or non-destructive.
    pub allow_destructive: Option<bool>,
}

/// One `[[slo]]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloCfg {
    /// Operation name; absent = the whole run.
    pub tool: Option<String>,
    /// Objective on the 95th-percentile latency, e.g. `"150ms"`.
    pub p95: Option<String>,
    /// Objective on the minimum throughput, in successful calls/s.
    pub min_tps: Option<f64>,
    /// Objective on the largest share of failed calls (0.001 = 0.1 %).
    pub max_error_ratio: Option<f64>,
}

/// `[output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputCfg {
    /// Path of the JSON summary (`{timestamp}` is expanded).
    pub summary: Option<String>,
    /// Path of the HTML report.
    pub html: Option<String>,
    /// Path of the JUnit XML of the SLO verdicts.
    pub junit: Option<String>,
    /// Path of the Markdown report.
    pub markdown: Option<String>,
    /// Path of the raw per-call JSON-lines stream.
    pub raw: Option<String>,
    /// Address of the `/metrics` listener, e.g. `"127.0.0.1:9464"`, or `"none"`.
    pub metrics_listen: Option<String>,
    /// How long `/metrics` stays up after the run (default 15s; 0s on port 0 or interactive runs).
    pub linger: Option<String>,
    /// Time between console progress lines, e.g. `"5s"`.
    pub progress_interval: Option<String>,
    /// Rewrite the summary (`"final": false`) this often while running; `"off"` never (default 5m for runs past an hour).
    pub checkpoint_every: Option<String>,
    /// No progress lines on the console (default false).
    pub quiet: Option<bool>,
    /// Exit 0 even when an SLO fails (default false).
    pub no_fail_on_slo: Option<bool>,
}
