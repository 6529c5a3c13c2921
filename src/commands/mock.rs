//! `mcp-soak mock`: serves the built-in mock MCP server until SIGINT/SIGTERM.
//!
//! CONTRACT: [`Args`] (clap, also embeddable by `demo`) lowers into a [`MockConfig`] with
//! [`Args::to_config`]; [`run`] serves it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{Exit, ExitError};
use crate::mock::{self, Degradation, ErrorRatios, Latency, MockConfig, Stall};

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 250ms, 2s, 1m)"))
}

fn ratio(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be within 0..=1, got {v}"))
    }
}

/// Arguments of `mcp-soak mock`. Flags override the config file.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak mock                                        # 127.0.0.1:8080/mcp, no faults
  mcp-soak mock --latency-p50 5ms --latency-p95 40ms --tool-error-ratio 0.01
  mcp-soak mock --degrade-after 10m --degrade-for 5m --degrade-latency 400ms --degrade-tool-error-ratio 0.05
  mcp-soak mock --listen 0.0.0.0:8080 --allowed-host mock   # in docker-compose
  mcp-soak mock --stdio --latency 2ms                       # one client on stdin/stdout")]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "MCP_SOAK_MOCK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A mock config file (YAML, TOML or JSON; the `MockConfig` fields).
    #[arg(long, env = "MCP_SOAK_MOCK_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP path of the MCP endpoint [default: /mcp].
    #[arg(long)]
    pub path: Option<String>,
    /// Accept this Host besides loopback (repeatable; e.g. a docker-compose service name; `*` = any).
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Accept this browser Origin (repeatable; with scheme, `:*` for any port).
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,
    /// Serve one client on stdin/stdout instead of HTTP (logs go to stderr); ends when stdin closes.
    #[arg(long)]
    pub stdio: bool,
    /// Serve every request without sessions.
    #[arg(long)]
    pub stateless: bool,
    /// Answer stateless requests with application/json instead of SSE.
    #[arg(long)]
    pub json_response: bool,
    /// Seed of the fault RNG.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Cap open sessions at N: past it `initialize` gets HTTP 503 -32603 "Too many open sessions"
    /// (like the PyPI `mcp` server past 10,000).
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<usize>,

    /// Fault injection flags (boxed: keeps the CLI enum small).
    #[command(flatten)]
    pub faults: Box<FaultArgs>,
}

/// Fault-injection flags of `mcp-soak mock`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FaultArgs {
    /// Fixed latency added to every in-scope tool call (with --jitter: base of a uniform range).
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub latency: Option<Duration>,
    /// Uniform jitter added on top of --latency.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub jitter: Option<Duration>,
    /// Median of a lognormal latency (needs --latency-p95).
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "latency_p95", conflicts_with = "latency")]
    pub latency_p50: Option<Duration>,
    /// 95th percentile of a lognormal latency (needs --latency-p50).
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "latency_p50")]
    pub latency_p95: Option<Duration>,
    /// Ratio of tool calls answered with `isError: true`.
    #[arg(long, value_parser = ratio, value_name = "RATIO")]
    pub tool_error_ratio: Option<f64>,
    /// Ratio of tool calls answered with a JSON-RPC error.
    #[arg(long, value_parser = ratio, value_name = "RATIO")]
    pub rpc_error_ratio: Option<f64>,
    /// Ratio of tool calls answered with HTTP 500.
    #[arg(long, value_parser = ratio, value_name = "RATIO")]
    pub http_500_ratio: Option<f64>,
    /// Ratio of tool calls answered with HTTP 429 (and Retry-After).
    #[arg(long, value_parser = ratio, value_name = "RATIO")]
    pub http_429_ratio: Option<f64>,
    /// Retry-After of injected 429s [default: 1s].
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub retry_after: Option<Duration>,
    /// Inject faults into this tool only (default: every tool).
    #[arg(long, value_name = "NAME")]
    pub fault_tool: Option<String>,

    /// Start a degradation this long after the server starts.
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub degrade_after: Option<Duration>,
    /// How long the degradation lasts (default: until the server stops).
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "degrade_after")]
    pub degrade_for: Option<Duration>,
    /// Fixed latency added while degraded.
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "degrade_after")]
    pub degrade_latency: Option<Duration>,
    /// Tool-error ratio added while degraded.
    #[arg(long, value_parser = ratio, value_name = "RATIO", requires = "degrade_after")]
    pub degrade_tool_error_ratio: Option<f64>,
    /// JSON-RPC error ratio added while degraded.
    #[arg(long, value_parser = ratio, value_name = "RATIO", requires = "degrade_after")]
    pub degrade_rpc_error_ratio: Option<f64>,
    /// HTTP 500 ratio added while degraded.
    #[arg(long, value_parser = ratio, value_name = "RATIO", requires = "degrade_after")]
    pub degrade_http_500_ratio: Option<f64>,
    /// HTTP 429 ratio added while degraded.
    #[arg(long, value_parser = ratio, value_name = "RATIO", requires = "degrade_after")]
    pub degrade_http_429_ratio: Option<f64>,

    /// Start a stall this long after the server starts: tool calls wait until it ends.
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "stall_for")]
    pub stall_at: Option<Duration>,
    /// How long the stall lasts.
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "stall_at")]
    pub stall_for: Option<Duration>,
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

impl Args {
    /// Lowers the config file (if any) and the flags into one [`MockConfig`]; flags win.
    pub fn to_config(&self) -> anyhow::Result<MockConfig> {
        let mut cfg = match &self.config {
            Some(path) => config::Config::builder()
                .add_source(config::File::from(path.as_path()))
                .build()
                .and_then(|c| c.try_deserialize::<MockConfig>())
                .map_err(|e| anyhow::anyhow!("cannot read mock config {}: {e}", path.display()))?,
            None => MockConfig::default(),
        };
        set(&mut cfg.path, self.path.clone());
        cfg.allowed_hosts.extend(self.allowed_hosts.iter().cloned());
        cfg.allowed_origins
            .extend(self.allowed_origins.iter().cloned());
        cfg.stateless |= self.stateless;
        cfg.json_response |= self.json_response;
        set(&mut cfg.seed, self.seed);
        if self.max_sessions.is_some() {
            cfg.max_sessions = self.max_sessions;
        }

        let fa = &*self.faults;
        let f = &mut cfg.faults;
        if let (Some(p50), Some(p95)) = (fa.latency_p50, fa.latency_p95) {
            f.latency = Some(Latency::Lognormal { p50, p95 });
        } else if let Some(base) = fa.latency {
            f.latency = Some(match fa.jitter {
                Some(jitter) if !jitter.is_zero() => Latency::Uniform { base, jitter },
                _ => Latency::Fixed { delay: base },
            });
        } else if let Some(jitter) = fa.jitter {
            f.latency = Some(Latency::Uniform {
                base: Duration::ZERO,
                jitter,
            });
        }
        set(&mut f.errors.tool_error, fa.tool_error_ratio);
        set(&mut f.errors.rpc_error, fa.rpc_error_ratio);
        set(&mut f.errors.http_500, fa.http_500_ratio);
        set(&mut f.errors.http_429, fa.http_429_ratio);
        set(&mut f.retry_after, fa.retry_after);
        if fa.fault_tool.is_some() {
            f.tool = fa.fault_tool.clone();
        }
        if let Some(after) = fa.degrade_after {
            let mut d = f.degradation.unwrap_or(Degradation {
                after,
                ..Default::default()
            });
            d.after = after;
            if fa.degrade_for.is_some() {
                d.duration = fa.degrade_for;
            }
            if let Some(delay) = fa.degrade_latency {
                d.latency = Some(Latency::Fixed { delay });
            }
            let e: &mut ErrorRatios = &mut d.errors;
            set(&mut e.tool_error, fa.degrade_tool_error_ratio);
            set(&mut e.rpc_error, fa.degrade_rpc_error_ratio);
            set(&mut e.http_500, fa.degrade_http_500_ratio);
            set(&mut e.http_429, fa.degrade_http_429_ratio);
            f.degradation = Some(d);
        }
        if let (Some(at), Some(duration)) = (fa.stall_at, fa.stall_for) {
            f.stall = Some(Stall { at, duration });
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs `mcp-soak mock`: serves until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    // A subscriber may already be installed by the caller; then keep it.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let cfg = args.to_config().map_err(ExitError::usage)?;
    if args.stdio {
        let stats = mock::serve_stdio(cfg).await.map_err(|e| match e {
            mock::MockError::Config(_) => ExitError::usage(e),
            _ => ExitError::cannot_start(e),
        })?;
        tracing::debug!(?stats, "mock MCP server on stdio: input closed");
        return Ok(Exit::Ok);
    }
    let handle = mock::spawn(cfg.clone(), args.listen)
        .await
        .map_err(|e| match e {
            mock::MockError::Config(_) => ExitError::usage(e),
            mock::MockError::Bind(..) | mock::MockError::Stdio(_) => ExitError::cannot_start(e),
        })?;
    tracing::info!(
        url = %handle.url,
        addr = %handle.addr,
        stateless = cfg.stateless,
        faults = ?cfg.faults,
        "mock MCP server listening (GET /healthz for health checks)"
    );
    shutdown_signal().await;
    tracing::info!(stats = ?handle.stats(), "mock MCP server stopping");
    handle.shutdown().await;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flags_lower_into_config() {
        let cli = Cli::try_parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--allowed-host",
            "mock",
            "--latency-p50",
            "20ms",
            "--latency-p95",
            "80ms",
            "--http-429-ratio",
            "0.1",
            "--fault-tool",
            "create_payment",
            "--degrade-after",
            "30s",
            "--degrade-for",
            "1m",
            "--degrade-rpc-error-ratio",
            "0.2",
            "--stall-at",
            "5s",
            "--stall-for",
            "2s",
            "--max-sessions",
            "7",
        ])
        .map_err(|e| e.to_string());
        let cfg = cli.and_then(|c| c.args.to_config().map_err(|e| e.to_string()));
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cfg.allowed_hosts, vec!["mock"]);
        assert_eq!(cfg.max_sessions, Some(7));
        assert!(matches!(
            cfg.faults.latency,
            Some(Latency::Lognormal { .. })
        ));
        assert_eq!(cfg.faults.errors.http_429, 0.1);
        assert_eq!(cfg.faults.tool.as_deref(), Some("create_payment"));
        let d = cfg.faults.degradation.unwrap_or_default();
        assert_eq!(d.after, Duration::from_secs(30));
        assert_eq!(d.duration, Some(Duration::from_secs(60)));
        assert_eq!(d.errors.rpc_error, 0.2);
        assert_eq!(
            cfg.faults.stall,
            Some(Stall {
                at: Duration::from_secs(5),
                duration: Duration::from_secs(2)
            })
        );
    }

    #[test]
    fn bad_ratios_are_usage_errors() {
        assert!(Cli::try_parse_from(["x", "--tool-error-ratio", "1.5"]).is_err());
        let cli =
            Cli::try_parse_from(["x", "--tool-error-ratio", "0.7", "--rpc-error-ratio", "0.7"]);
        assert!(cli.is_ok_and(|c| c.args.to_config().is_err()));
    }

    #[test]
    fn config_file_is_read() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { panic!("no tempdir") };
        let path = dir.path().join("mock.yaml");
        let yaml = "stateless: true\nfaults:\n  latency: {kind: uniform, base: 5ms, jitter: 10ms}\n  errors: {tool_error: 0.25}\n  degradation: {after: 10s, errors: {http_500: 0.5}}\n";
        assert!(std::fs::write(&path, yaml).is_ok());
        let cli = Cli::try_parse_from([
            "x",
            "--config",
            path.to_str().unwrap_or_default(),
            "--seed",
            "9",
        ]);
        let cfg = cli
            .map_err(|e| e.to_string())
            .and_then(|c| c.args.to_config().map_err(|e| e.to_string()));
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert!(cfg.stateless);
        assert_eq!(cfg.seed, 9);
        assert_eq!(cfg.faults.errors.tool_error, 0.25);
        assert!(matches!(cfg.faults.latency, Some(Latency::Uniform { .. })));
        assert_eq!(cfg.faults.degradation.map(|d| d.errors.http_500), Some(0.5));
    }
}
