//! `mcp-soak discover`.

use super::Exit;

/// Arguments of `mcp-soak discover`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak discover`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak discover` is not built yet")
}
