//! `mcp-soak discover`: connect, list the server's tools (annotations and schemas), and print a
//! starting config with `auto` arguments.

use std::time::Duration;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::mcp::stdio::{StdioTarget, split_command};
use crate::mcp::{Auth, ClientConfig, McpClient, ProtocolChoice, Transport};
use crate::secret::Secret;

/// Arguments of `mcp-soak discover`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak discover --url http://127.0.0.1:8080/mcp > soak.toml
  mcp-soak discover --url http://127.0.0.1:3001/sse --transport legacy-sse
  mcp-soak discover --stdio 'npx -y @modelcontextprotocol/server-everything' > soak.toml
  MCP_SOAK_TOKEN=... mcp-soak discover --url https://mcp.example.com/mcp --token-env MCP_SOAK_TOKEN")]
pub struct Args {
    /// The server's MCP endpoint.
    #[arg(long, required_unless_present = "stdio", conflicts_with = "stdio")]
    pub url: Option<String>,
    /// Start this stdio MCP server instead: `--stdio 'node server.js stdio'`.
    #[arg(long, value_name = "'CMD ARGS'")]
    pub stdio: Option<String>,
    /// Wire transport.
    #[arg(long, value_enum, default_value = "streamable-http")]
    pub transport: Transport,
    /// `auto` or an exact protocol revision (e.g. 2025-06-18).
    #[arg(long, default_value = "auto")]
    pub protocol: String,
    /// Name of an environment variable holding a bearer token.
    #[arg(long)]
    pub token_env: Option<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Runs `mcp-soak discover`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let auth = match &args.token_env {
        Some(var) => {
            let token = std::env::var(var).map_err(|_| {
                ExitError::usage(anyhow::anyhow!(
                    "--token-env: environment variable {var} is not set"
                ))
            })?;
            Auth::Bearer(Secret::new(token))
        }
        None => Auth::None,
    };
    let stdio = match &args.stdio {
        Some(line) => Some(StdioTarget {
            command: split_command(line)
                .map_err(|e| ExitError::usage(anyhow::anyhow!("--stdio: {e}")))?,
            processes: 1,
            ..StdioTarget::default()
        }),
        None => None,
    };
    let url = match &stdio {
        Some(t) => t.label(),
        None => args.url.clone().unwrap_or_default(),
    };
    let config = ClientConfig {
        url: url.clone(),
        stdio,
        transport: args.transport,
        protocol: if args.protocol == "auto" {
            ProtocolChoice::Auto
        } else {
            ProtocolChoice::Revision(args.protocol.clone())
        },
        auth,
        timeout: args.timeout,
        sessions: 1,
        ..ClientConfig::default()
    };
    let client = McpClient::connect(config)
        .await
        .map_err(ExitError::cannot_start)?;
    let tools = client.list_tools().await.context("listing tools")?;
    client.shutdown().await;
    let negotiated = client.negotiated();
    eprintln!(
        "connected: protocol {}, server {} {}, {} tools",
        negotiated.protocol_version,
        negotiated.server_name.as_deref().unwrap_or("?"),
        negotiated.server_version.as_deref().unwrap_or(""),
        tools.len()
    );
    print!("{}", crate::config::starter_config(&url, &tools));
    Ok(Exit::Ok)
}
