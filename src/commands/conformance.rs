//! `mcp-soak conformance-client URL`: the entry point the MCP conformance suite runs in client
//! mode. It connects (auto negotiation), lists tools, makes the call the scenario expects
//! (`MCP_CONFORMANCE_SCENARIO`), and shuts down. Exit 0 when everything answered.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::{Exit, ExitError};
use crate::mcp::{ClientConfig, McpClient, McpRequest, OutcomeKind, ToolInfo};
use crate::plan::{ArgTemplate, CapturePool};

/// Arguments of `mcp-soak conformance-client`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The scenario name (the suite sets `MCP_CONFORMANCE_SCENARIO`).
    #[arg(long, env = "MCP_CONFORMANCE_SCENARIO", default_value = "")]
    pub scenario: String,
    /// The server URL (the suite passes it as the last argument).
    #[arg(last = false)]
    pub url: String,
}

/// Arguments for a tool from its input schema, by the same synthesis as `args = "auto"`
/// (seeded, so a conformance run repeats).
fn sample_arguments(tool: &ToolInfo) -> Value {
    let mut rng = StdRng::seed_from_u64(0);
    ArgTemplate::from_schema(&tool.input_schema).render(&mut rng, &CapturePool::default())
}

/// Runs `mcp-soak conformance-client`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let config = ClientConfig {
        url: args.url.clone(),
        timeout: Duration::from_secs(20),
        sessions: 1,
        ..ClientConfig::default()
    };
    let client = McpClient::connect(config).await.map_err(|e| {
        if e.is_unreachable() {
            ExitError::cannot_start(e)
        } else {
            ExitError::usage(e)
        }
    })?;
    let tools = client.list_tools().await;
    let result = async {
        let tools = tools?;
        let call = if args.scenario == "tools_call" || tools.iter().any(|t| t.name == "add_numbers")
        {
            Some(McpRequest::ToolsCall {
                name: "add_numbers".into(),
                arguments: json!({"a": 5, "b": 3}),
            })
        } else {
            tools
                .iter()
                .find(|t| !t.destructive)
                .map(|t| McpRequest::ToolsCall {
                    name: t.name.clone(),
                    arguments: sample_arguments(t),
                })
        };
        if let Some(req) = call {
            let o = client.call(&req, false).await;
            if !matches!(o.kind, OutcomeKind::Ok | OutcomeKind::ToolError) {
                anyhow::bail!(
                    "{} failed: {} {}",
                    req.method(),
                    o.kind,
                    o.detail.unwrap_or_default()
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    client.shutdown().await;
    result?;
    Ok(Exit::Ok)
}
