//! The built-in MCP server (`mcp-soak mock`): rmcp's Streamable HTTP server with the tools our users
//! test (assisted-service and payments style, `echo`) and fault injection (latency, errors,
//! degradation, stalls).
//!
//! It is the target of `demo`, of the tests and of the docker-compose stack, and the benchmark
//! target: counters are atomics, no lock is held across requests and nothing is logged per request.
//!
//! * [`config`]: [`MockConfig`] (serde) and the fault shapes.
//! * `faults`: the lock-free seeded RNG and the schedule (degradation, stall).
//! * `tools`: the tool definitions and their behaviour (bounded payment store).
//! * `server`: rmcp service + axum middleware (HTTP 500/429, request counts) + session manager.
//!
//! Both protocol generations are served: session era (`initialize` → `Mcp-Session-Id`, SSE replies)
//! and, on the same endpoint, the stateless 2026-07-28 era (`server/discover`, `_meta`, headers).
//! `stateless: true` serves every request without sessions.

pub mod config;
mod faults;
mod leak;
mod server;
mod stats;
mod stdio;
mod tools;

use std::net::SocketAddr;

pub use config::{Degradation, ErrorRatios, FaultConfig, Latency, MockConfig, Stall};
pub use leak::LeakConfig;
pub use server::{MockHandle, spawn, spawn_on};
pub use stats::{FaultCounts, MockStats};
pub use stdio::serve_stdio;
pub use tools::TOOL_NAMES;

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The configuration is invalid.
    #[error("invalid mock configuration: {0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, #[source] std::io::Error),
    /// The stdio session could not start (`mock --stdio`).
    #[error("cannot serve on stdio: {0}")]
    Stdio(String),
}
