//! The MCP operations a soak can send, independent of transport and protocol generation.

use serde_json::Value;

/// One MCP request to send. The client turns it into a JSON-RPC message for the negotiated revision.
#[derive(Debug, Clone, PartialEq)]
pub enum McpRequest {
    /// `tools/call`.
    ToolsCall {
        /// The tool's name.
        name: String,
        /// The `arguments` object.
        arguments: Value,
    },
    /// `tools/list`.
    ToolsList,
    /// `resources/list`.
    ResourcesList,
    /// `resources/read`.
    ResourcesRead {
        /// The resource's URI.
        uri: String,
    },
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get`.
    PromptsGet {
        /// The prompt's name.
        name: String,
        /// The prompt's `arguments` object.
        arguments: Value,
    },
    /// `ping`.
    Ping,
    /// `server/discover`: stateless era only (2026-07-28).
    ServerDiscover,
}

impl McpRequest {
    /// The JSON-RPC method name.
    pub fn method(&self) -> &'static str {
        match self {
            McpRequest::ToolsCall { .. } => "tools/call",
            McpRequest::ToolsList => "tools/list",
            McpRequest::ResourcesList => "resources/list",
            McpRequest::ResourcesRead { .. } => "resources/read",
            McpRequest::PromptsList => "prompts/list",
            McpRequest::PromptsGet { .. } => "prompts/get",
            McpRequest::Ping => "ping",
            McpRequest::ServerDiscover => "server/discover",
        }
    }

    /// The `Mcp-Name` header value for methods that carry one (stateless era).
    pub fn name(&self) -> Option<&str> {
        match self {
            McpRequest::ToolsCall { name, .. } | McpRequest::PromptsGet { name, .. } => Some(name),
            McpRequest::ResourcesRead { uri } => Some(uri),
            _ => None,
        }
    }
}
