//! The built-in MCP server (`mcp-soak mock`): rmcp's Streamable HTTP server with the tools our users
//! test (assisted-service and payments style, `echo`) and fault injection (latency, errors, degradation).
//!
//! CONTRACT: [`MockArgs`] (clap, also embedded by `demo`), [`serve`] on a bound listener.
