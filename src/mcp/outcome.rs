//! The one classification every call ends in, and what the client hands back for it.

use std::time::Instant;

/// How a call ended. Every call gets exactly one; the set is fixed (it is a metric label).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A result, and for `tools/call` one without `isError: true`.
    Ok,
    /// `tools/call` answered with `isError: true`.
    ToolError,
    /// A JSON-RPC error object (code kept in [`CallOutcome::rpc_code`]).
    RpcError,
    /// HTTP 4xx/5xx (status kept in [`CallOutcome::status`]).
    HttpError,
    /// No complete answer within the call timeout.
    Timeout,
    /// Connection refused, reset, DNS failure, TLS failure.
    Connect,
    /// Bad JSON, wrong id, broken SSE framing, wrong content type, missing result, body over the cap.
    Protocol,
    /// The server no longer knows the session (404, or server-everything's 400); re-initialized after.
    SessionExpired,
    /// The scheduler could not start the call (in-flight cap); it was never sent.
    Dropped,
}

impl OutcomeKind {
    /// Every kind, in report order.
    pub const ALL: [OutcomeKind; 9] = [
        OutcomeKind::Ok,
        OutcomeKind::ToolError,
        OutcomeKind::RpcError,
        OutcomeKind::HttpError,
        OutcomeKind::Timeout,
        OutcomeKind::Connect,
        OutcomeKind::Protocol,
        OutcomeKind::SessionExpired,
        OutcomeKind::Dropped,
    ];

    /// The label value used in metrics, JSON and the console.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::ToolError => "tool_error",
            OutcomeKind::RpcError => "rpc_error",
            OutcomeKind::HttpError => "http_error",
            OutcomeKind::Timeout => "timeout",
            OutcomeKind::Connect => "connect",
            OutcomeKind::Protocol => "protocol",
            OutcomeKind::SessionExpired => "session_expired",
            OutcomeKind::Dropped => "dropped",
        }
    }

    /// Position in [`OutcomeKind::ALL`]; handy for fixed-size counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// True only for [`OutcomeKind::Ok`].
    pub fn is_ok(self) -> bool {
        self == OutcomeKind::Ok
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the client returns for one call: the classification and the timings it saw.
///
/// `sent` is when the request left (service time is `done - sent`); the scheduler owns the
/// intended send time and adds it when it builds the [`crate::record::Record`].
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The one class this call counts as.
    pub kind: OutcomeKind,
    /// HTTP status of the reply, when one arrived.
    pub status: Option<u16>,
    /// JSON-RPC error code, for [`OutcomeKind::RpcError`].
    pub rpc_code: Option<i64>,
    /// Short human-readable cause for anything but `Ok` (never contains a secret; bounded length).
    pub detail: Option<String>,
    /// When the request left (after any handshake).
    pub sent: Instant,
    /// When the reply was read in full, or the call failed.
    pub done: Instant,
    /// Response body bytes read.
    pub bytes: u64,
    /// The JSON-RPC `result` of a successful call, kept only when the caller asked for it (captures).
    pub result: Option<serde_json::Value>,
    /// `Retry-After` of a 429/503, in seconds, when the server sent one.
    pub retry_after: Option<f64>,
    /// Which pooled session carried the call (session era), for the raw stream and spans.
    pub session: Option<u32>,
    /// Handshakes done inside the call (session initialize, token refresh): not service time.
    pub handshakes: super::handshake::Handshakes,
}

impl CallOutcome {
    /// An outcome with no reply details: fill in the rest with struct update syntax.
    pub fn new(kind: OutcomeKind, sent: Instant, done: Instant) -> Self {
        CallOutcome {
            kind,
            status: None,
            rpc_code: None,
            detail: None,
            sent,
            done,
            bytes: 0,
            result: None,
            retry_after: None,
            session: None,
            handshakes: Default::default(),
        }
    }
}
