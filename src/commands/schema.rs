//! `mcp-soak schema`: prints the JSON Schema of the summary file (committed as `schema/summary.schema.json`).

use std::io::Write;

use super::Exit;

/// Arguments of `mcp-soak schema`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak schema > summary.schema.json")]
pub struct Args {}

/// Runs `mcp-soak schema`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    std::io::stdout()
        .lock()
        .write_all(crate::report::summary::schema_json().as_bytes())?;
    Ok(Exit::Ok)
}
