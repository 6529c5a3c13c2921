//! `RunArgs`: the flags shared by `run`, `validate` and `demo`. Flags are the top layer: they beat
//! the environment, the file and the defaults.

use std::path::PathBuf;

/// Flags that shape a run. Every flag is optional: unset flags leave lower layers alone.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Config file (TOML or YAML, by extension), e.g. `-c config/payments.toml`.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    // ---- target ----
    /// MCP endpoint, e.g. `http://127.0.0.1:8080/mcp` (legacy SSE: the `/sse` URL).
    #[arg(long, value_name = "URL", help_heading = "Target")]
    pub url: Option<String>,
    /// Start this stdio MCP server instead of using a URL: `--stdio "node server.js stdio"`
    /// (split like a shell would, no expansion).
    #[arg(long = "stdio", value_name = "'CMD ARGS'", help_heading = "Target")]
    pub stdio: Option<String>,
    /// The server's own Prometheus endpoint, sampled for its memory, fds and CPU (`target.metrics_url`;
    /// `none` turns off a lower layer's).
    #[arg(long = "metrics-url", value_name = "URL|none", help_heading = "Target")]
    pub metrics_url: Option<String>,
    /// A local server process to sample for its memory, fds, CPU and threads from /proc
    /// (`target.pid`).
    #[arg(long, value_name = "PID", help_heading = "Target")]
    pub pid: Option<i64>,
    /// How many stdio server processes to run (with --stdio); calls are spread over them. Default 1.
    #[arg(long, value_name = "N", help_heading = "Target")]
    pub processes: Option<i64>,
    /// Wire transport: `streamable-http` (default) or `legacy-sse`.
    #[arg(long, value_name = "KIND", help_heading = "Target")]
    pub transport: Option<String>,
    /// Protocol revision: `auto` (default) or one of 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05.
    #[arg(long, value_name = "REV", help_heading = "Target")]
    pub protocol: Option<String>,
    /// Per-call timeout, e.g. `30s`, `500ms`.
    #[arg(long, value_name = "DURATION", help_heading = "Target")]
    pub timeout: Option<String>,
    /// Session pool size (session era), e.g. `8`.
    #[arg(long, value_name = "N", help_heading = "Target")]
    pub sessions: Option<i64>,
    /// At most N calls on the wire at once (one HTTP/1.1 connection each); more wait, and the
    /// wait shows as schedule lag. Default 256.
    #[arg(long, value_name = "N", help_heading = "Target")]
    pub max_connections: Option<i64>,
    /// `pooled` (default), `churn:K` (new session every K calls), `per-call`, `abandon` (a new
    /// session per call, never DELETEd: the leak many servers suffer), `idle:DURATION[:SHARE%]`
    /// (a share of the pool, default 25 %, left idle that long, then used: the server's expiry and
    /// the re-initialize cost) or `stale` (every call on a deleted or never-issued session id).
    #[arg(long, value_name = "STRATEGY", help_heading = "Target")]
    pub session_strategy: Option<String>,
    /// Extra header on every request, repeatable: `--header 'X-Api-Key: abc'`.
    #[arg(long = "header", value_name = "'K: V'", help_heading = "Target")]
    pub headers: Vec<String>,
    /// Extra CA certificate (PEM) to trust.
    #[arg(long, value_name = "FILE", help_heading = "Target")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification.
    #[arg(long, help_heading = "Target")]
    pub insecure: bool,

    // ---- auth ----
    /// `none`, `bearer`, `offline-token` (refresh-token grant at `--token-url`) or
    /// `offline-token-header` (the token as an `OCM-Offline-Token` header, like the
    /// assisted-service script's `--auth-type offline-token`).
    #[arg(long, value_name = "KIND", help_heading = "Auth")]
    pub auth: Option<String>,
    /// The token itself (prefer --token-env or --token-file: flags show in `ps`).
    #[arg(long, value_name = "TOKEN", help_heading = "Auth")]
    pub token: Option<String>,
    /// Read the token from this environment variable, e.g. `--token-env MCP_TOKEN`.
    #[arg(long, value_name = "VAR", help_heading = "Auth")]
    pub token_env: Option<String>,
    /// Read the token from this file (trailing whitespace trimmed).
    #[arg(long, value_name = "FILE", help_heading = "Auth")]
    pub token_file: Option<PathBuf>,
    /// OAuth2 token endpoint for `offline-token`.
    #[arg(long, value_name = "URL", help_heading = "Auth")]
    pub token_url: Option<String>,
    /// OAuth2 client id for `offline-token`, e.g. `cloud-services`.
    #[arg(long, value_name = "ID", help_heading = "Auth")]
    pub client_id: Option<String>,

    // ---- safety ----
    /// Call these tools although they may be destructive (the MCP spec's hints: a tool without
    /// `readOnlyHint: true` or `destructiveHint: false`), comma-separated or repeated,
    /// e.g. `--allow-destructive create_payment`.
    #[arg(
        long = "allow-destructive",
        value_name = "TOOLS",
        value_delimiter = ',',
        help_heading = "Safety"
    )]
    pub allow_destructive: Vec<String>,

    // ---- open model ----
    /// Steady rate in calls/s, e.g. `--rate 50` (with --duration).
    #[arg(long, value_name = "CALLS_PER_S", help_heading = "Load (open model)")]
    pub rate: Option<f64>,
    /// How long the steady rate runs, e.g. `10m`, `2h`, `forever`.
    #[arg(long, value_name = "DURATION", help_heading = "Load (open model)")]
    pub duration: Option<String>,
    /// Stages `RATE:DURATION[@RAMP],...`, e.g. `50:5m,100:5m@30s,200:forever`.
    #[arg(long, value_name = "LIST", help_heading = "Load (open model)")]
    pub stages: Option<String>,
    /// Stop after this many calls.
    #[arg(long, value_name = "N", help_heading = "Load (open model)")]
    pub max_calls: Option<i64>,
    /// Operations and weights, e.g. `list_clusters=40,list_versions=30,tools/list=10`.
    #[arg(long, value_name = "LIST", help_heading = "Load (open model)")]
    pub mix: Option<String>,
    /// Calls in flight at most; slots beyond are counted as dropped.
    #[arg(long, value_name = "N", help_heading = "Load (open model)")]
    pub max_in_flight: Option<i64>,
    /// Hard ceiling in calls/s.
    #[arg(long, value_name = "CALLS_PER_S", help_heading = "Load (open model)")]
    pub max_rate: Option<f64>,
    /// Seed of every random generator (same seed, same request sequence).
    #[arg(long, value_name = "N", help_heading = "Load (open model)")]
    pub seed: Option<u64>,
    /// This instance's share of a split load, `i/n` (i in 0..n), e.g. `0/3`.
    #[arg(long, value_name = "I/N", help_heading = "Load (open model)")]
    pub instance_share: Option<String>,

    // ---- closed model ----
    /// Closed model: concurrent users, each sending --requests calls, e.g. `--users 20`.
    #[arg(
        long,
        value_name = "N",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub users: Option<i64>,
    /// Closed model: calls per user.
    #[arg(
        long,
        value_name = "M",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub requests: Option<i64>,
    /// Closed model: pause after each reply, e.g. `0.5s` or `0.5` (seconds).
    #[arg(
        long,
        value_name = "DURATION",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub delay: Option<String>,
    /// Preset users×requests, delay: light 5×3 0.1s, moderate 20×5 0.1s, heavy 50×10 0.05s,
    /// stress 100×20 0.02s; without a mix it calls the assisted-service tools (list_clusters 40,
    /// list_versions 30, list_operator_bundles 20, tools/list 10).
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub scenario: Option<String>,
    /// 100 calls by 10 concurrent users.
    #[arg(long, help_heading = "Load (closed model, like the old scripts)")]
    pub quick: bool,
    /// Closed model: total calls (with --concurrent; rounded up to a multiple of it).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub total: Option<i64>,
    /// Closed model: concurrent users (with --total).
    #[arg(
        long,
        value_name = "N",
        help_heading = "Load (closed model, like the old scripts)"
    )]
    pub concurrent: Option<i64>,
    /// The payments script's mixed mode: create_payment / verify_payment / get_wallet_balance
    /// (create_payment needs `--allow-destructive create_payment`).
    #[arg(long, help_heading = "Load (closed model, like the old scripts)")]
    pub mixed: bool,

    // ---- run control & output ----
    /// How long in-flight calls may finish after the schedule ends, e.g. `10s`.
    #[arg(long, value_name = "DURATION", help_heading = "Run control")]
    pub grace: Option<String>,
    /// Pause an operation for a 429/503's Retry-After (default: keep the schedule).
    #[arg(long, help_heading = "Run control")]
    pub honor_retry_after: bool,
    /// Exit 3 when the target is unreachable at start.
    #[arg(long, help_heading = "Run control")]
    pub require_target: bool,
    /// Stop early when an SLO has failed for this long, e.g. `5m`.
    #[arg(long, value_name = "DURATION", help_heading = "Run control")]
    pub abort_on_breach: Option<String>,
    /// Sliding window the live SLO state (abort-on-breach, progress) is judged over [default: 5m].
    #[arg(long, value_name = "DURATION", help_heading = "Run control")]
    pub slo_window: Option<String>,
    /// SLO, repeatable: `'create_payment:p95=150ms,tps=1000,errors=0.1%'` (no `NAME:` = whole run).
    #[arg(long = "slo", value_name = "SPEC", help_heading = "Run control")]
    pub slos: Vec<String>,
    /// Exit 0 even when an SLO failed.
    #[arg(long, help_heading = "Run control")]
    pub no_fail_on_slo: bool,
    /// Let `/control/…` on the metrics listener pause, resume, re-rate and reweigh the run
    /// (`[control] enabled`); off loopback it needs a token from `MCP_SOAK_CONTROL_TOKEN` or
    /// `control.token_file`.
    #[arg(long, help_heading = "Run control")]
    pub control: bool,
    /// Run id on every series and in the summary; give the shards of one load the same id.
    #[arg(long, value_name = "ID", help_heading = "Output")]
    pub run_id: Option<String>,
    /// Static label on every series and in the summary, repeatable, e.g. `--label env=staging`.
    #[arg(long = "label", value_name = "KEY=VALUE", help_heading = "Output")]
    pub labels: Vec<String>,
    /// JSON summary path; `{timestamp}` is expanded, e.g. `results/{timestamp}.json`.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub summary: Option<PathBuf>,
    /// The HTML, JUnit and Markdown report paths (`--html`, `--junit`, `--markdown`).
    #[command(flatten)]
    pub reports: ReportArgs,
    /// Raw JSON-lines stream, one line per call.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub raw: Option<PathBuf>,
    /// `/metrics` listen address, e.g. `0.0.0.0:9464`; `none` disables it.
    #[arg(long, value_name = "ADDR", help_heading = "Output")]
    pub metrics_listen: Option<String>,
    /// Keep `/metrics` up this long after the run, e.g. `30s`. Default 15s, or 0s when the port is
    /// ephemeral (`:0`) or the run is interactive (stdin and stderr on a terminal).
    #[arg(long, value_name = "DURATION", help_heading = "Output")]
    pub linger: Option<String>,
    /// Rewrite the summary (marked `"final": false`) this often while the run goes on, e.g. `5m`;
    /// `off` never. Default: every 5m for runs planned longer than an hour (or without an end).
    #[arg(long, value_name = "DURATION", help_heading = "Output")]
    pub checkpoint_every: Option<String>,
    /// Progress line interval, e.g. `5s`.
    #[arg(long, value_name = "DURATION", help_heading = "Output")]
    pub progress_interval: Option<String>,
    /// No progress lines.
    #[arg(long, help_heading = "Output")]
    pub quiet: bool,
}

/// The report-file flags, shared by `run`/`demo` (written with the summary) and `mcp-soak report`.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct ReportArgs {
    /// Self-contained HTML report with charts (no JavaScript, nothing fetched); `{timestamp}` is expanded.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub html: Option<PathBuf>,
    /// JUnit XML: one test case per SLO objective, for CI test reporters.
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub junit: Option<PathBuf>,
    /// Markdown report (also appended to `$GITHUB_STEP_SUMMARY` when that is set).
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub markdown: Option<PathBuf>,
}
