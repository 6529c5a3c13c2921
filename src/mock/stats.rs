//! What the mock saw, as relaxed atomic counters (no lock on the hot path) and a plain snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::tools::ToolId;

/// Counts of injected faults by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultCounts {
    /// Tool calls that got added latency (> 0).
    pub latency: u64,
    /// Tool calls that waited for a stall to end.
    pub stall: u64,
    /// Injected `isError: true` results.
    pub tool_error: u64,
    /// Injected JSON-RPC errors.
    pub rpc_error: u64,
    /// Injected HTTP 500s.
    pub http_500: u64,
    /// Injected HTTP 429s.
    pub http_429: u64,
}

/// A snapshot of the mock's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MockStats {
    /// `tools/call` requests that reached a tool handler, by tool name (unknown names under
    /// `"<unknown>"`); injected JSON-RPC and tool errors are included, HTTP-level faults are not.
    pub calls: BTreeMap<String, u64>,
    /// HTTP requests to the MCP path (any method).
    pub http_requests: u64,
    /// Sessions created by `initialize`.
    pub sessions_created: u64,
    /// HTTP DELETE requests received on the MCP path.
    pub deletes: u64,
    /// Sessions forgotten by [`super::MockHandle::expire_sessions`].
    pub sessions_expired: u64,
    /// `initialize` requests answered 503 because `max_sessions` sessions were open.
    pub sessions_refused: u64,
    /// The most tool calls the mock was handling at the same time.
    pub peak_in_flight: u64,
    /// Injected faults by kind.
    pub faults: FaultCounts,
}

impl MockStats {
    /// Calls of one tool (0 if never called).
    pub fn calls_of(&self, tool: &str) -> u64 {
        self.calls.get(tool).copied().unwrap_or(0)
    }
    /// All tool calls.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) calls: [AtomicU64; ToolId::COUNT + 1],
    pub(crate) http_requests: AtomicU64,
    pub(crate) sessions_created: AtomicU64,
    pub(crate) deletes: AtomicU64,
    pub(crate) sessions_expired: AtomicU64,
    pub(crate) sessions_refused: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) peak_in_flight: AtomicU64,
    pub(crate) latency: AtomicU64,
    pub(crate) stall: AtomicU64,
    pub(crate) tool_error: AtomicU64,
    pub(crate) rpc_error: AtomicU64,
    pub(crate) http_500: AtomicU64,
    pub(crate) http_429: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Counts one tool call in flight for as long as it lives (and keeps the peak).
pub(crate) struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    pub(crate) fn enter(c: &'a Counters) -> Self {
        let now = c.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        c.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> MockStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut calls = BTreeMap::new();
        for (i, c) in self.calls.iter().enumerate() {
            let n = get(c);
            if n > 0 {
                let name = ToolId::ALL.get(i).map_or("<unknown>", |t| t.name());
                calls.insert(name.to_string(), n);
            }
        }
        MockStats {
            calls,
            http_requests: get(&self.http_requests),
            sessions_created: get(&self.sessions_created),
            deletes: get(&self.deletes),
            sessions_expired: get(&self.sessions_expired),
            sessions_refused: get(&self.sessions_refused),
            peak_in_flight: get(&self.peak_in_flight),
            faults: FaultCounts {
                latency: get(&self.latency),
                stall: get(&self.stall),
                tool_error: get(&self.tool_error),
                rpc_error: get(&self.rpc_error),
                http_500: get(&self.http_500),
                http_429: get(&self.http_429),
            },
        }
    }
}
