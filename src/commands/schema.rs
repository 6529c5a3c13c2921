//! `mcp-soak schema`.

use super::Exit;

/// Arguments of `mcp-soak schema`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak schema`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak schema` is not built yet")
}
