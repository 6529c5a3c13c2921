//! One typed plan for a run: every CLI shortcut, config file and environment variable is lowered into
//! this, with `Duration`s and enums, before anything is sent.
//!
//! CONTRACT (used by the engine, recorder and report; keep these names):
//! * [`Plan`] with [`Load`] (open stages or closed users), [`Operation`]s with weights, [`Slo`]s.
//! * [`Operation::build_request`] makes the next request from the argument generators and captures.
//! * [`Plan::resolve_tools`] checks the mix against `tools/list` and fills `auto` arguments.

pub mod args;
pub mod mix;
pub mod stage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::ClientConfig;

pub use args::{ArgTemplate, CapturePool, CaptureSpec, Generator};
pub use mix::{Method, Mix, Operation};
pub use stage::Stage;

/// Everything a run does, fully resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How to reach the server: URL or stdio command, transport, timeouts, sessions, auth, TLS.
    pub client: ClientConfig,
    /// The load model: open (stages) or closed (users × requests).
    pub load: Load,
    /// The weighted operations and their argument templates.
    pub mix: Mix,
    /// The `[[slo]]` objectives, judged live and at the end.
    pub slos: Vec<Slo>,
    /// In-flight and rate ceilings, the grace period and the stop conditions.
    pub limits: Limits,
    /// Report paths, the metrics listener and console settings.
    pub output: Output,
    /// Seed of every random generator in the run (a run is reproducible with the same seed).
    pub seed: u64,
    /// Who the run is, on every exported series and in the summary.
    pub identity: Identity,
    /// Where the target server's own resources are sampled from, if anywhere.
    pub resources: Resources,
    /// The soak verdicts' limits and windows (`[soak]`).
    pub soak: SoakLimits,
    /// Runtime control over the metrics listener (`[control]`).
    pub control: Control,
}

/// `[control]`: may `/control/…` change the running soak, and with which token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Control {
    /// `/control/…` may pause, resume, re-rate and reweigh the run.
    pub enabled: bool,
    /// The bearer token a request must carry (from the environment or a file, never a flag).
    pub token: Option<crate::secret::Secret>,
    /// Require the token on a loopback listener too.
    pub require_token: bool,
}

/// `[soak]`: limits on the leak and drift verdicts (each an SLO when set) and their windows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SoakLimits {
    /// Memory growth above this many bytes per hour fails (`max_memory_growth = "50MB/h"`).
    pub max_memory_growth: Option<f64>,
    /// p95 of the last window above the first steady one by more than this fails (0.2 = 20 %).
    pub max_p95_drift: Option<f64>,
    /// Excluded at the start (default 30 s, at most a fifth of the run).
    pub warmup: Option<Duration>,
    /// Width of the drift windows (default a tenth of the steady part, 30 s to 1 h).
    pub window: Option<Duration>,
}

/// Where the target's memory, fds and CPU are read from.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceSource {
    /// The server's Prometheus endpoint (`target.metrics_url`).
    Metrics(String),
    /// A local process (`target.pid`), read from `/proc`.
    Pid(u32),
    /// The stdio server processes mcp-soak started (`target.command`), summed over the pool.
    StdioPool,
}

/// Sampling of the target server's own resources (`target.metrics_url` / `target.pid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    /// Where samples come from: a Prometheus endpoint or a local pid; None = no sampling.
    pub source: Option<ResourceSource>,
    /// Series to scrape besides the `process_*` defaults (`target.metrics_series`).
    pub series: Vec<String>,
    /// Time between samples (`target.metrics_interval`, default 5 s).
    pub interval: Duration,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            source: None,
            series: Vec::new(),
            interval: Duration::from_secs(5),
        }
    }
}

/// The run's identity: the shards of one load (`--instance-share`) share it and their series sum;
/// different runs never mix. Exported as global labels on every series (`run_id` plus `labels`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// From `run.id` / `--run-id`, else a random UUID.
    pub run_id: String,
    /// Static labels from `[run.labels]` / `--label`, e.g. `test`, `env`, `target`; names checked.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The load model.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Open model: calls start at intended times whatever the server does.
    Open {
        /// The load shape, in order; the last may run forever.
        stages: Vec<Stage>,
        /// Stop after this many calls (scheduled, dropped included), if set.
        max_calls: Option<u64>,
    },
    /// Closed model (the scripts we replace): each user sends, waits for the reply, sleeps.
    Closed {
        /// Concurrent users, each a sequence of calls.
        users: u32,
        /// Calls each user makes.
        requests_per_user: u64,
        /// Pause after each reply before the user's next call.
        delay: Duration,
    },
}

/// Hard limits that protect the target and the tester.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Calls in flight at most; a slot that cannot start is counted as dropped.
    pub max_in_flight: usize,
    /// Ceiling (calls/s) the stream never exceeds, catching up included.
    pub max_rate: Option<f64>,
    /// How long in-flight calls may finish after a stop.
    pub grace: Duration,
    /// Keep the schedule (false) or pause an operation for a 429/503's `Retry-After` (true).
    pub honor_retry_after: bool,
    /// Exit 3 when the target is unreachable at start instead of counting connect errors.
    pub require_target: bool,
    /// Stop early when an SLO has failed for this long (None = never).
    pub abort_on_breach: Option<Duration>,
    /// The sliding window the live SLO state is judged over (abort-on-breach, progress line);
    /// the final verdict is over the whole run.
    pub slo_window: Duration,
    /// Split of a shared load: this instance sends `1/n` of every rate (`i` in `0..n`).
    pub instance_share: Option<(u32, u32)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 1024,
            max_rate: None,
            grace: Duration::from_secs(10),
            honor_retry_after: false,
            require_target: false,
            abort_on_breach: None,
            slo_window: Duration::from_secs(300),
            instance_share: None,
        }
    }
}

/// Where results go and how the run is observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// JSON summary path (`{timestamp}` expanded), if any.
    pub summary: Option<PathBuf>,
    /// Report files written with the summary (`{timestamp}` expanded), if any.
    pub html: Option<PathBuf>,
    /// JUnit XML of the SLO verdicts, if any.
    pub junit: Option<PathBuf>,
    /// Markdown report, if any.
    pub markdown: Option<PathBuf>,
    /// Raw JSON-lines stream, one line per call, if any.
    pub raw: Option<PathBuf>,
    /// `/metrics`, `/healthz`, `/readyz` listen address (None = no metrics server).
    pub metrics_listen: Option<SocketAddr>,
    /// How long `/metrics` stays up after the run.
    pub linger: Duration,
    /// Progress line / log interval.
    pub progress_interval: Duration,
    /// How often the summary is rewritten while the run goes on: `Auto` = [`Checkpoints::AUTO`]
    /// for runs planned longer than an hour.
    pub checkpoints: Checkpoints,
    /// No progress lines on the console.
    pub quiet: bool,
    /// Exit 0 even when an SLO failed.
    pub no_fail_on_slo: bool,
}

impl Default for Output {
    fn default() -> Self {
        Output {
            summary: None,
            html: None,
            junit: None,
            markdown: None,
            raw: None,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            linger: Duration::from_secs(15),
            progress_interval: Duration::from_secs(5),
            checkpoints: Checkpoints::Auto,
            quiet: false,
            no_fail_on_slo: false,
        }
    }
}

/// When the summary is checkpointed while the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoints {
    /// Every [`Checkpoints::AUTO`] when the run is planned to last longer than
    /// [`Checkpoints::AUTO_PAST`] (or has no planned end); never for shorter runs.
    Auto,
    /// Every this often, whatever the planned length.
    Every(Duration),
    /// Never (`checkpoint_every = "off"`).
    Off,
}

impl Checkpoints {
    /// The default interval: a killed soak loses at most five minutes of its summary.
    pub const AUTO: Duration = Duration::from_secs(300);
    /// Runs planned longer than this are checkpointed by default.
    pub const AUTO_PAST: Duration = Duration::from_secs(3600);

    /// The interval for a run planned to last `planned` (None: no planned end); None = no checkpoints.
    pub fn interval(self, planned: Option<Duration>) -> Option<Duration> {
        match self {
            Checkpoints::Every(d) => Some(d),
            Checkpoints::Off => None,
            Checkpoints::Auto => match planned {
                Some(p) if p <= Self::AUTO_PAST => None,
                _ => Some(Self::AUTO),
            },
        }
    }
}

/// A service-level objective for one operation (by name) or for the whole run (`op = None`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slo {
    /// Operation name as in the mix (a tool name, or `tools/list`, ...); None = all operations.
    pub op: Option<String>,
    /// p95 of latency (from the intended send time) must be at most this.
    pub p95: Option<Duration>,
    /// Achieved successful calls/s must be at least this.
    pub min_tps: Option<f64>,
    /// Errors / completed calls must be at most this (0.001 = 0.1 %).
    pub max_error_ratio: Option<f64>,
}

/// What an SLO verdict measures: the three objectives of `[[slo]]` and the two the soak verdicts
/// add. Serialized (summary, `objective` label) as the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// p95 latency from the intended send of the successful calls, ms.
    P95LatencyMs,
    /// Successful calls per second.
    MinCallsPerSecond,
    /// Errors over completed calls.
    MaxErrorRatio,
    /// The server's memory growth, bytes per hour (a soak verdict).
    MaxMemoryGrowthBytesPerHour,
    /// The change of p95 from the first to the last window (a soak verdict).
    MaxP95Drift,
}

impl Objective {
    /// The name used in the summary and the `objective` label (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::P95LatencyMs => "p95_latency_ms",
            Objective::MinCallsPerSecond => "min_calls_per_second",
            Objective::MaxErrorRatio => "max_error_ratio",
            Objective::MaxMemoryGrowthBytesPerHour => "max_memory_growth_bytes_per_hour",
            Objective::MaxP95Drift => "max_p95_drift",
        }
    }

    /// True for the objectives the soak verdicts add (beside the per-tool ones of `[[slo]]`).
    pub fn is_soak(self) -> bool {
        matches!(
            self,
            Objective::MaxMemoryGrowthBytesPerHour | Objective::MaxP95Drift
        )
    }

    /// True when a lower measurement is better (all but the rate).
    pub fn lower_is_better(self) -> bool {
        self != Objective::MinCallsPerSecond
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mix that does not fit the server it runs against.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// Operations of the mix name tools missing from the server's `tools/list`.
    #[error("the mix calls tools the server does not have: {}; the server has: {}", unknown.join(", "), if available.is_empty() { "(no tools)".to_string() } else { available.join(", ") })]
    UnknownTools {
        /// The mix's tool names the server does not have.
        unknown: Vec<String>,
        /// Every tool the server lists, for the error message.
        available: Vec<String>,
    },
    /// The mix would call tools that may be destructive and the config does not allow them.
    #[error("{}", refusal(tools))]
    Destructive {
        /// Every such tool, with the reason.
        tools: Vec<RefusedTool>,
    },
}

/// A tool the mix would call although it may be destructive, and why it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedTool {
    /// The tool's name as the server lists it.
    pub name: String,
    /// Why it may be destructive (its annotations, or their absence).
    pub reason: crate::mcp::DestructiveReason,
}

fn refusal(tools: &[RefusedTool]) -> String {
    let each: Vec<String> = tools
        .iter()
        .map(|t| format!("`{}` ({})", t.name, t.reason.describe()))
        .collect();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    format!(
        "refusing to call tools that may be destructive: {}. Allow each by name: \
         `allow_destructive = true` in its [[mix]] entry, or `--allow-destructive {}`",
        each.join(", "),
        names.join(",")
    )
}

impl Plan {
    /// Checks the mix against the server's `tools/list`: every `tools/call` names a tool the server
    /// has, tools that may be destructive (the MCP spec's hints, defaults applied) are refused
    /// unless allowed by name, and `auto` arguments are built from each tool's `inputSchema`.
    pub fn resolve_tools(&mut self, tools: &[crate::mcp::ToolInfo]) -> Result<(), PlanError> {
        let mut unknown = Vec::new();
        for op in &self.mix.ops {
            if let Method::ToolsCall { tool } = &op.method
                && !tools.iter().any(|t| &t.name == tool)
                && !unknown.contains(tool)
            {
                unknown.push(tool.clone());
            }
        }
        if !unknown.is_empty() {
            return Err(PlanError::UnknownTools {
                unknown,
                available: tools.iter().map(|t| t.name.clone()).collect(),
            });
        }
        let mut refused: Vec<RefusedTool> = Vec::new();
        for op in &self.mix.ops {
            let Method::ToolsCall { tool } = &op.method else {
                continue;
            };
            let reason = tools
                .iter()
                .find(|t| &t.name == tool)
                .and_then(|t| t.destructive_reason());
            if let Some(reason) = reason
                && !op.allow_destructive
                && !refused.iter().any(|r| &r.name == tool)
            {
                refused.push(RefusedTool {
                    name: tool.clone(),
                    reason,
                });
            }
        }
        if !refused.is_empty() {
            return Err(PlanError::Destructive { tools: refused });
        }
        for op in &mut self.mix.ops {
            let Method::ToolsCall { tool } = &op.method else {
                continue;
            };
            if let Some(info) = tools.iter().find(|t| &t.name == tool)
                && op.args.is_auto()
            {
                op.args = ArgTemplate::from_schema(&info.input_schema);
            }
        }
        Ok(())
    }

    /// The stages of an open-model run (empty for the closed model).
    pub fn stages(&self) -> &[Stage] {
        match &self.load {
            Load::Open { stages, .. } => stages,
            Load::Closed { .. } => &[],
        }
    }
}

impl Plan {
    /// A plan with default client, limits and output for `url`, the given load and mix.
    pub fn new(url: impl Into<String>, load: Load, mix: Mix) -> Plan {
        Plan {
            client: ClientConfig {
                url: url.into(),
                ..ClientConfig::default()
            },
            load,
            mix,
            slos: Vec::new(),
            limits: Limits::default(),
            output: Output::default(),
            seed: 0,
            identity: Identity {
                run_id: uuid::Uuid::new_v4().to_string(),
                labels: Default::default(),
            },
            resources: Resources::default(),
            soak: SoakLimits::default(),
            control: Control::default(),
        }
    }
}
