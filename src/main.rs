//! The `mcp-soak` command line: parses arguments and hands each subcommand to `mcp_soak::commands`.

use clap::{Parser, Subcommand};
use mcp_soak::commands::{self, Exit, ExitError};
use mcp_soak::telemetry::{self, LogFormat};

/// Soak tester for MCP servers: a paced, weighted stream of MCP calls, Prometheus metrics, SLO verdicts.
#[derive(Debug, Parser)]
#[command(name = "mcp-soak", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log line format on stderr (filter with RUST_LOG, e.g. RUST_LOG=mcp_soak=debug).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "MCP_SOAK_LOG_FORMAT")]
    log_format: LogFormat,
    /// Threads running the engine. Default: 1 for `run` (one thread keeps pacing precise and each
    /// call cheap; raise it past ~15,000 calls/s), one per core for `mock` and `demo`.
    #[arg(long, global = true, value_name = "N", env = "MCP_SOAK_THREADS")]
    threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a soak or load test against an MCP server.
    Run(commands::run::Args),
    /// Serve the built-in mock MCP server (with fault injection).
    Mock(commands::mock::Args),
    /// Start the built-in mock in-process and run a short stepped soak against it.
    Demo(commands::demo::Args),
    /// Connect to a server, list its tools and print a starting config.
    Discover(commands::discover::Args),
    /// Check a config file without sending traffic.
    Validate(commands::validate::Args),
    /// Compare two JSON summaries and flag regressions.
    Compare(commands::compare::Args),
    /// Write HTML, JUnit or Markdown reports from a saved summary.
    Report(commands::report::Args),
    /// Merge the JSON summaries of a load's shards (`--instance-share`) into one, exactly.
    Merge(commands::merge::Args),
    /// Steer a running soak: state, pause, resume, rate N, mix tool=W,... (`run --control`).
    Ctl(commands::ctl::Args),
    /// Print the JSON Schema of the summary file.
    Schema(commands::schema::Args),
    /// Entry point for the MCP conformance suite's client mode.
    #[command(hide = true)]
    ConformanceClient(commands::conformance::Args),
}

fn main() {
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or(match cli.command {
        Command::Mock(_) | Command::Demo(_) => 0,
        _ => 1,
    });
    let runtime = match runtime(threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(Exit::CannotStart as i32);
        }
    };
    // Built inside the runtime (the OTLP batch exporter may need it), flushed after the command
    // ended, outside it: its shutdown blocks, and no async thread may wait on it.
    let telemetry = runtime.block_on(async { telemetry::init(cli.log_format) });
    let result = match &telemetry {
        Err(e) => Err(ExitError::usage(anyhow::anyhow!("{e:#}")).into()),
        Ok(_) => runtime.block_on(async move {
            match cli.command {
                Command::Run(a) => commands::run::run(a).await,
                Command::Mock(a) => commands::mock::run(a).await,
                Command::Demo(a) => commands::demo::run(a).await,
                Command::Discover(a) => commands::discover::run(a).await,
                Command::Validate(a) => commands::validate::run(a).await,
                Command::Compare(a) => commands::compare::run(a).await,
                Command::Report(a) => commands::report::run(a).await,
                Command::Merge(a) => commands::merge::run(a).await,
                Command::Schema(a) => commands::schema::run(a).await,
                Command::Ctl(a) => commands::ctl::run(a).await,
                Command::ConformanceClient(a) => commands::conformance::run(a).await,
            }
        }),
    };
    drop(telemetry);
    let code = match result {
        Ok(exit) => exit as i32,
        Err(err) => {
            let code = err
                .downcast_ref::<ExitError>()
                .map_or(Exit::Usage, |e| e.code);
            eprintln!("error: {err:#}");
            code as i32
        }
    };
    std::process::exit(code);
}

/// The async runtime: one thread for 1, `n` worker threads for n > 1, one per core for 0.
fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if threads > 1 {
        builder.worker_threads(threads);
    }
    builder.enable_all().build()
}
