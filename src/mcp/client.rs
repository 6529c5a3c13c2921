//! The client facade the engine uses. (Stub: the MCP client issue replaces the bodies.)

use super::*;

/// Why the client could not do something outside a measured call (connect, discovery, tools/list).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached at all (refused, DNS, TLS, timeout).
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// Anything else the server did wrong, described.
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    /// True when the target is down or unreachable (exit code 3 territory).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

/// A connected MCP client: cheap to clone, shared by every in-flight call.
#[derive(Clone)]
pub struct McpClient {
    negotiated: std::sync::Arc<Negotiated>,
}

impl McpClient {
    /// Connects: negotiates the revision (auto: stateless first), opens the session pool.
    pub async fn connect(_config: ClientConfig) -> Result<McpClient, ClientError> {
        todo!("MCP client issue")
    }
    /// What was negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }
    /// Sends one request and classifies the result. Never retries, never panics.
    /// `keep_result` keeps the JSON-RPC `result` in the outcome (for captures).
    pub async fn call(&self, _request: &McpRequest, _keep_result: bool) -> CallOutcome {
        todo!("MCP client issue")
    }
    /// Every tool the server lists (all pages).
    pub async fn list_tools(&self) -> Result<Vec<ToolInfo>, ClientError> {
        todo!("MCP client issue")
    }
    /// Session counters for metrics.
    pub fn session_stats(&self) -> SessionStats {
        SessionStats::default()
    }
    /// Retires every session (DELETE). Idempotent.
    pub async fn shutdown(&self) {}
}
