//! `mcp-soak compare`.

use super::Exit;

/// Arguments of `mcp-soak compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak compare`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak compare` is not built yet")
}
