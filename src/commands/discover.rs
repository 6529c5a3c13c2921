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

impl Args {
    /// How discover reached the server, as `[target]` lines for the starter config, so `run -c`
    /// reaches it the same way. Secret values (a `--token`, header values) are never written.
    fn target_lines(&self) -> Vec<String> {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let path = |p: &PathBuf| q(&p.display().to_string());
        let mut v = Vec::new();
        if let Some(t) = &self.transport {
            v.push(format!("transport = {}", q(t)));
        }
        if let Some(p) = &self.protocol {
            v.push(format!("protocol = {}", q(p)));
        }
        if let Some(c) = &self.ca_file {
            v.push(format!("ca_file = {}", path(c)));
        }
        if self.insecure {
            v.push("insecure = true".into());
        }
        let names: Vec<String> = self
            .headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(k, _)| format!("{} = \"...\"", q(k.trim())))
            .collect();
        if !names.is_empty() {
            v.push(
                "# Header values are not written (they may be secrets): fill them in, or pass"
                    .into(),
            );
            v.push("# the same --header flags to run.".into());
            v.push(format!("# headers = {{ {} }}", names.join(", ")));
        }
        let mut auth = Vec::new();
        if let Some(k) = &self.auth {
            auth.push(format!("kind = {}", q(k)));
        }
        if let Some(e) = &self.token_env {
            auth.push(format!("token_env = {}", q(e)));
        }
        if let Some(f) = &self.token_file {
            auth.push(format!("token_file = {}", path(f)));
        }
        if self.token.is_some() {
            auth.push("# token: not written (a secret); set token_env or token_file".into());
        }
        if let Some(u) = &self.token_url {
            auth.push(format!("token_url = {}", q(u)));
        }
        if let Some(c) = &self.client_id {
            auth.push(format!("client_id = {}", q(c)));
        }
        if !auth.is_empty() {
            v.push("\n[target.auth]".into());
            v.extend(auth);
        }
        v
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
    print!(
        "{}",
        crate::config::starter_config_with(&url, &args.target_lines(), &tools)
    );
    Ok(Exit::Ok)
}
