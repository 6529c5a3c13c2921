//! `mcp-soak demo`.

use super::Exit;

/// Arguments of `mcp-soak demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak demo`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak demo` is not built yet")
}
