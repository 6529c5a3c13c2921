//! `mcp-soak conformance`.

use super::Exit;

/// Arguments of `mcp-soak conformance`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {}

/// Runs `mcp-soak conformance`.
pub async fn run(_args: Args) -> anyhow::Result<Exit> {
    anyhow::bail!("`mcp-soak conformance` is not built yet")
}
