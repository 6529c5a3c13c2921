//! `mcp-soak demo`: starts the built-in mock in-process and runs a short stepped soak against it with
//! the embedded `config/demo.toml`, then prints the report. Every `run` flag still applies.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::engine::Stop;
use crate::mock::{Degradation, ErrorRatios, Latency, MockConfig};

/// The embedded demo configuration.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

/// Arguments of `mcp-soak demo`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak demo
  mcp-soak demo --degrade            # the mock degrades half-way: watch the SLOs fail (exit 1)
  mcp-soak demo --summary demo.json --metrics-listen 127.0.0.1:9464
  mcp-soak demo --print-config > my-soak.toml")]
pub struct Args {
    /// Make the mock degrade half-way through (added latency and tool errors), so SLOs fail.
    #[arg(long)]
    pub degrade: bool,
    /// Print the embedded demo configuration and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Every `run` flag; without `--config` the embedded demo config is the file.
    #[command(flatten)]
    pub run: Box<crate::config::RunArgs>,
}

/// Runs `mcp-soak demo`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    if args.print_config {
        print!("{DEMO_CONFIG}");
        return Ok(Exit::Ok);
    }
    let mut mock = MockConfig::default();
    // A little realistic latency: median 3 ms, p95 12 ms.
    mock.faults.latency = Some(Latency::Lognormal {
        p50: Duration::from_millis(3),
        p95: Duration::from_millis(12),
    });
    if args.degrade {
        mock.faults.degradation = Some(Degradation {
            after: Duration::from_secs(7),
            duration: None,
            latency: Some(Latency::Fixed {
                delay: Duration::from_millis(200),
            }),
            errors: ErrorRatios {
                tool_error: 0.05,
                ..ErrorRatios::default()
            },
        });
    }
    let server = crate::mock::spawn(mock, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("starting the built-in mock")
        .map_err(ExitError::cannot_start)?;
    eprintln!("demo: built-in mock MCP server at {}", server.url);

    let mut run_args = (*args.run).clone();
    let _embedded = if run_args.config.is_none() {
        let file = tempfile_with(DEMO_CONFIG)?;
        run_args.config = Some(file.path.clone());
        Some(file)
    } else {
        None
    };
    run_args.url.get_or_insert_with(|| server.url.clone());
    let plan = crate::config::load(&run_args).map_err(ExitError::usage)?;
    let stop = Stop::new();
    stop.listen_for_signals();
    let exit = super::run::execute(plan, &stop).await;
    server.shutdown().await;
    exit
}

/// A temporary `.toml` file removed on drop.
struct TempConfig {
    path: std::path::PathBuf,
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn tempfile_with(text: &str) -> anyhow::Result<TempConfig> {
    let path = std::env::temp_dir().join(format!("mcp-soak-demo-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(TempConfig { path })
}
