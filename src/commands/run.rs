//! `mcp-soak run`.

use super::Exit;

/// Arguments of `mcp-soak run`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak run`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak run` is not built yet")
}
