//! `mcp-soak discover`: connect, list the server's tools (annotations and schemas), and print a
//! starting config with `auto` arguments. It reaches the server exactly as `run` would: the same
//! target, header, TLS and auth options (and `-c FILE` / `MCP_SOAK__TARGET__…` layers).

use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::config::RunArgs;
use crate::mcp::McpClient;

/// Arguments of `mcp-soak discover`: the target and auth options of `run`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak discover --url http://127.0.0.1:8080/mcp > soak.toml
  mcp-soak discover --url http://127.0.0.1:3001/sse --transport legacy-sse
  mcp-soak discover --stdio 'npx -y @modelcontextprotocol/server-everything' > soak.toml
  MCP_SOAK_TOKEN=... mcp-soak discover --url https://mcp.example.com/mcp --token-env MCP_SOAK_TOKEN
  mcp-soak discover --url https://mcp.example.com/mcp --header 'X-Api-Key: ...' --auth offline-token \\
      --token-file ~/.ocm-token --token-url https://sso.example.com/token")]
pub struct Args {
    /// Config file whose `[target]` to use (TOML or YAML).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The server's MCP endpoint (legacy SSE: the `/sse` URL).
    #[arg(long, value_name = "URL", conflicts_with = "stdio")]
    pub url: Option<String>,
    /// Start this stdio MCP server instead: `--stdio 'node server.js stdio'`.
    #[arg(long, value_name = "'CMD ARGS'")]
    pub stdio: Option<String>,
    /// Wire transport: `streamable-http` (default) or `legacy-sse`.
    #[arg(long, value_name = "KIND")]
    pub transport: Option<String>,
    /// `auto` (default) or an exact protocol revision (e.g. 2025-06-18).
    #[arg(long, value_name = "REV")]
    pub protocol: Option<String>,
    /// Per-request timeout, e.g. `30s`.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Extra header on every MCP request, repeatable: `--header 'X-Api-Key: abc'`.
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// Extra CA certificate (PEM) to trust.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification of the MCP server.
    #[arg(long)]
    pub insecure: bool,
    /// `none`, `bearer`, `offline-token` or `offline-token-header` (as for `run`).
    #[arg(long, value_name = "KIND")]
    pub auth: Option<String>,
    /// The token itself (prefer --token-env or --token-file: flags show in `ps`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Read the token from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// Read the token from this file (trailing whitespace trimmed).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// OAuth2 token endpoint for `offline-token`.
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// OAuth2 client id for `offline-token`.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
}

impl Args {
    /// The same options as `run` flags, so both load the target alike.
    fn run_args(&self) -> RunArgs {
        RunArgs {
            config: self.config.clone(),
            url: self.url.clone(),
            stdio: self.stdio.clone(),
            transport: self.transport.clone(),
            protocol: self.protocol.clone(),
            timeout: self.timeout.clone(),
            headers: self.headers.clone(),
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            auth: self.auth.clone(),
            token: self.token.clone(),
            token_env: self.token_env.clone(),
            token_file: self.token_file.clone(),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            ..RunArgs::default()
        }
    }
}

/// Runs `mcp-soak discover`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    if args.url.is_none() && args.stdio.is_none() && args.config.is_none() {
        return Err(ExitError::usage(anyhow::anyhow!(
            "discover needs --url URL, --stdio 'CMD ARGS' or -c FILE with a [target]"
        ))
        .into());
    }
    let mut config = crate::config::load_client(&args.run_args()).map_err(ExitError::usage)?;
    config.sessions = 1;
    let url = config.url.clone();
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
    let risky: Vec<&str> = tools
        .iter()
        .filter(|t| t.destructive)
        .map(|t| t.name.as_str())
        .collect();
    if !tools.is_empty() && tools.iter().all(|t| t.annotations.is_none()) {
        eprintln!(
            "the server declares no annotations on any tool: by the MCP spec's defaults each may be \
             destructive, so all are commented out"
        );
    } else if !risky.is_empty() {
        eprintln!("may be destructive (commented out): {}", risky.join(", "));
    }
    print!("{}", crate::config::starter_config(&url, &tools));
    Ok(Exit::Ok)
}
