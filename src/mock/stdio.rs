//! The mock served over stdio (`mcp-soak mock --stdio`): the same tools and tool-level faults
//! (latency, stalls, tool and JSON-RPC errors) on stdin/stdout, for soaking the stdio transport
//! without a third-party server. HTTP-level faults have no meaning here and are ignored. Logs go to
//! stderr: stdout carries JSON-RPC only.

use rmcp::ServiceExt;

use super::MockError;
use super::config::MockConfig;
use super::server::{MockServer, Shared};
use super::stats::MockStats;

/// Serves one client on this process's stdin/stdout until stdin closes; returns what it saw.
pub async fn serve_stdio(cfg: MockConfig) -> Result<MockStats, MockError> {
    let shared = Shared::new(&cfg)?;
    let running = MockServer(shared.clone())
        .serve(rmcp::transport::io::stdio_pipes())
        .await
        .map_err(|e| MockError::Stdio(e.to_string()))?;
    let _ = running.waiting().await;
    Ok(shared.counters.snapshot())
}
