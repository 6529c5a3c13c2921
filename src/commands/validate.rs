//! `mcp-soak validate`.

use super::Exit;

/// Arguments of `mcp-soak validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak validate`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak validate` is not built yet")
}
