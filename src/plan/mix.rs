//! The weighted operation mix and how each operation builds its request.

use rand::Rng;
use serde_json::Value;

use super::args::{ArgTemplate, CapturePool, CaptureSpec};
use crate::mcp::McpRequest;

/// The MCP method an operation sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    ToolsCall { tool: String },
    ToolsList,
    ResourcesList,
    ResourcesRead { uri: String },
    PromptsList,
    PromptsGet { name: String },
    Ping,
}

/// One weighted operation of the mix.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Label in metrics and reports: the tool name for `tools/call`, else the method (`tools/list`).
    pub name: String,
    pub method: Method,
    pub weight: u32,
    /// Arguments for `tools/call` / `prompts/get`.
    pub args: ArgTemplate,
    /// Values to take from this operation's results into named pools.
    pub captures: Vec<CaptureSpec>,
    /// Optional ceiling for this operation alone (calls/s).
    pub max_rate: Option<f64>,
}

impl Operation {
    /// Builds the next request: generators drawn from `rng`, captured values from `pool`.
    pub fn build_request<R: Rng + ?Sized>(&self, _rng: &mut R, _pool: &CapturePool) -> McpRequest {
        todo!("load engine issue: plan")
    }
    /// True when results must be kept (the operation captures values).
    pub fn wants_result(&self) -> bool {
        !self.captures.is_empty()
    }
    /// Takes this operation's captures out of a successful result.
    pub fn capture(&self, _result: &Value, _pool: &CapturePool) {}
}

/// The operations and their weights.
#[derive(Debug, Clone, Default)]
pub struct Mix {
    pub ops: Vec<Operation>,
}

impl Mix {
    /// Picks an operation index with probability weight / total weight.
    pub fn pick<R: Rng + ?Sized>(&self, _rng: &mut R) -> usize {
        todo!("load engine issue: plan")
    }
}
