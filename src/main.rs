//! The `mcp-soak` command line: parses arguments and hands each subcommand to `mcp_soak::commands`.

use clap::{Parser, Subcommand};
use mcp_soak::commands::{self, Exit, ExitError};

/// Soak tester for MCP servers: a paced, weighted stream of MCP calls, Prometheus metrics, SLO verdicts.
#[derive(Debug, Parser)]
#[command(name = "mcp-soak", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    /// Print the JSON Schema of the summary file.
    Schema(commands::schema::Args),
    /// Entry point for the MCP conformance suite's client mode.
    #[command(hide = true)]
    ConformanceClient(commands::conformance::Args),
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(Exit::CannotStart as i32);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(a) => commands::run::run(a).await,
            Command::Mock(a) => commands::mock::run(a).await,
            Command::Demo(a) => commands::demo::run(a).await,
            Command::Discover(a) => commands::discover::run(a).await,
            Command::Validate(a) => commands::validate::run(a).await,
            Command::Compare(a) => commands::compare::run(a).await,
            Command::Schema(a) => commands::schema::run(a).await,
            Command::ConformanceClient(a) => commands::conformance::run(a).await,
        }
    });
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
