//! `mcp-soak mock`.

use super::Exit;

/// Arguments of `mcp-soak mock`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak mock`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak mock` is not built yet")
}
