//! The MCP client: Streamable HTTP in the session era (2025-03-26, 2025-06-18, 2025-11-25) and the
//! stateless era (2026-07-28), legacy HTTP+SSE (2024-11-05), auth, and outcome classification.
//!
//! Layers, bottom up: HTTP/SSE transport → JSON-RPC message → typed MCP call → [`CallOutcome`].
//! The client never retries a call and never hides a status: what the server did is what is counted.
//!
//! CONTRACT (used by the engine; keep these signatures):
//! * [`ClientConfig`] — everything needed to reach the server (lives inside `plan::Plan`).
//! * [`McpClient::connect`] — negotiates the protocol, opens the session pool.
//! * [`McpClient::call`] — one request → one classified [`CallOutcome`]; never panics, never retries.
//! * [`McpClient::list_tools`], [`McpClient::negotiated`], [`McpClient::session_stats`], [`McpClient::shutdown`].

pub mod handshake;
pub mod outcome;
pub mod request;

pub use outcome::{CallOutcome, OutcomeKind};
pub use request::McpRequest;

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The newest revision of the session era.
pub const LATEST_SESSION_REVISION: &str = "2025-11-25";
/// The stateless revision.
pub const STATELESS_REVISION: &str = "2026-07-28";
/// Legacy HTTP+SSE revision.
pub const LEGACY_SSE_REVISION: &str = "2024-11-05";
/// Every revision the client can speak, newest first.
pub const SUPPORTED_REVISIONS: [&str; 5] = [
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// Which wire transport to use.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP (one POST endpoint, JSON or SSE replies).
    #[default]
    StreamableHttp,
    /// Legacy HTTP+SSE (2024-11-05): `GET /sse`, then POSTs whose replies arrive on the stream.
    LegacySse,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 2] = [Transport::StreamableHttp, Transport::LegacySse];

    /// The name used in configs, flags, metrics and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::StreamableHttp => "streamable-http",
            Transport::LegacySse => "legacy-sse",
        }
    }

    /// The transport with this name, if any.
    pub fn from_name(name: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Which protocol revision to speak.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProtocolChoice {
    /// Try the stateless era, fall back to the session era when the server says it is older.
    #[default]
    Auto,
    /// Exactly this revision (one of [`SUPPORTED_REVISIONS`]).
    Revision(String),
}

/// How session-era calls use sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionStrategy {
    /// A fixed pool, reused round-robin.
    #[default]
    Pooled,
    /// A session is retired (DELETE) and replaced after this many calls.
    Churn {
        /// Calls a session carries before it is replaced.
        calls_per_session: u64,
    },
    /// A new session for every call (initialize, call, DELETE).
    PerCall,
    /// A new session for every call, never DELETEd: what a careless client does to a server, and
    /// the leak many servers suffer (each abandoned session stays until the server expires it).
    Abandon,
    /// A pool in which `share_pct` % of the sessions (at least one, never all) are left idle for
    /// `after`, then given one call: the server's idle expiry and the re-initialize cost, measured
    /// while the rest of the pool carries the load.
    Idle {
        /// How long an idle session waits between its calls.
        after: Duration,
        /// Percent of the pool's sessions that idle.
        share_pct: u8,
    },
    /// Every call on a session the server must not know: alternately an id never issued and one
    /// just DELETEd. The expected answer is `session_expired`; an `ok` is the finding.
    Stale,
}

impl SessionStrategy {
    /// One session (or none) per call (`per-call`, `abandon`, `stale`): no pool.
    pub fn session_per_call(self) -> bool {
        matches!(
            self,
            SessionStrategy::PerCall | SessionStrategy::Abandon | SessionStrategy::Stale
        )
    }

    /// Sessions of a pool of `size` left idle by [`SessionStrategy::Idle`]: `share_pct` % rounded,
    /// at least one and at most all but one (0 for other strategies or a pool of one).
    pub fn idle_sessions(self, size: usize) -> usize {
        match self {
            SessionStrategy::Idle { share_pct, .. } if size >= 2 => {
                let n = (size * share_pct as usize + 50) / 100;
                n.clamp(1, size - 1)
            }
            _ => 0,
        }
    }
}

/// As written in configs and flags: `pooled`, `churn:K`, `per-call`, `abandon`, `idle:D:S%`, `stale`.
impl std::fmt::Display for SessionStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionStrategy::Pooled => f.write_str("pooled"),
            SessionStrategy::Churn { calls_per_session } => write!(f, "churn:{calls_per_session}"),
            SessionStrategy::PerCall => f.write_str("per-call"),
            SessionStrategy::Abandon => f.write_str("abandon"),
            SessionStrategy::Idle { after, share_pct } => {
                write!(
                    f,
                    "idle:{}:{share_pct}%",
                    humantime::format_duration(*after)
                )
            }
            SessionStrategy::Stale => f.write_str("stale"),
        }
    }
}

/// As written in configs and flags: `auto` or the revision.
impl std::fmt::Display for ProtocolChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtocolChoice::Auto => f.write_str("auto"),
            ProtocolChoice::Revision(r) => f.write_str(r),
        }
    }
}

/// Credentials sent with every request.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No credential.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// The offline token as it is, in an `OCM-Offline-Token` header on every MCP request (the
    /// assisted-service script's `--auth-type offline-token`).
    OfflineTokenHeader(Secret),
    /// Exchange an offline/refresh token for access tokens (OAuth2 `refresh_token` grant), refreshed
    /// before expiry.
    OfflineToken {
        /// The offline token exchanged at the endpoint.
        refresh_token: Secret,
        /// The OAuth2 token endpoint.
        token_url: String,
        /// The OAuth2 client id (default `cloud-services`).
        client_id: String,
    },
}

/// Everything the client needs to reach and talk to one server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The MCP endpoint, e.g. `http://127.0.0.1:8080/mcp` (for legacy SSE: the `/sse` URL).
    pub url: String,
    /// The wire protocol of a URL target.
    pub transport: Transport,
    /// Which revision to offer: the newest with fallback, or one pinned.
    pub protocol: ProtocolChoice,
    /// Where the credential comes from.
    pub auth: Auth,
    /// Extra headers on every MCP request, never on the token endpoint's (values may be secrets:
    /// never logged).
    pub headers: Vec<(String, Secret)>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (only when asked).
    pub insecure: bool,
    /// Per-call timeout, headers and body included.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// A reply body larger than this is a protocol error, not an out-of-memory.
    pub max_body_bytes: usize,
    /// Session-era pool size.
    pub sessions: u32,
    /// At most this many calls on the wire at once (HTTP/1.1: one connection each); a call over it
    /// waits for a free one, and the wait counts as schedule lag, not service time.
    pub max_connections: usize,
    /// How sessions are opened, reused, retired or left idle (session era).
    pub session_strategy: SessionStrategy,
    /// `clientInfo.name` / `version`.
    pub client_name: String,
    /// `clientInfo.version` (this crate's version by default).
    pub client_version: String,
    /// When set, the target is this command run as a pool of stdio servers, and `url` is ignored.
    pub stdio: Option<stdio::StdioTarget>,
}

impl ClientConfig {
    /// How the target is reached, for metrics and the summary: `stdio` for a command target.
    pub fn target_transport(&self) -> TargetTransport {
        match (&self.stdio, self.transport) {
            (Some(_), _) => TargetTransport::Stdio,
            (None, Transport::StreamableHttp) => TargetTransport::StreamableHttp,
            (None, Transport::LegacySse) => TargetTransport::LegacySse,
        }
    }
}

/// How the target is reached, as the summary's `transport` and the `transport` label name it: a
/// URL's wire [`Transport`], or a command run as a pool of stdio processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TargetTransport {
    /// Streamable HTTP (a POST per message).
    #[default]
    StreamableHttp,
    /// The deprecated HTTP+SSE transport of 2024-11-05.
    LegacySse,
    /// A pool of server processes speaking over stdin/stdout.
    Stdio,
}

impl TargetTransport {
    /// The name used in metrics and the summary (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetTransport::StreamableHttp => Transport::StreamableHttp.as_str(),
            TargetTransport::LegacySse => Transport::LegacySse.as_str(),
            TargetTransport::Stdio => "stdio",
        }
    }
}

impl std::fmt::Display for TargetTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: "http://127.0.0.1:8080/mcp".into(),
            transport: Transport::StreamableHttp,
            protocol: ProtocolChoice::Auto,
            auth: Auth::None,
            headers: Vec::new(),
            ca_file: None,
            insecure: false,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_body_bytes: 16 * 1024 * 1024,
            sessions: 8,
            max_connections: 256,
            session_strategy: SessionStrategy::Pooled,
            client_name: "mcp-soak".into(),
            client_version: env!("CARGO_PKG_VERSION").into(),
            stdio: None,
        }
    }
}

/// Which era a negotiated revision belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Era {
    /// 2026-07-28 and later: no session, every request self-contained.
    Stateless,
    /// 2025-03-26 to 2025-11-25: calls ride on a session that `initialize` opened.
    Session,
    /// 2024-11-05's HTTP+SSE: replies arrive on a long-lived event stream.
    LegacySse,
}

impl Era {
    /// The name used in the summary (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Stateless => "stateless",
            Era::Session => "session",
            Era::LegacySse => "legacy_sse",
        }
    }
}

/// What `connect` learned about the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Negotiated {
    /// The revision both sides speak.
    pub protocol_version: String,
    /// The era that revision belongs to.
    pub era: Era,
    /// `serverInfo.name`, when the server sent it.
    pub server_name: Option<String>,
    /// `serverInfo.version`, when the server sent it.
    pub server_version: Option<String>,
}

/// A tool as `tools/list` describes it.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    /// The tool's name, as `tools/call` takes it.
    pub name: String,
    /// Its `description`, when it has one.
    pub description: Option<String>,
    /// Its `inputSchema` (JSON Schema of the arguments).
    pub input_schema: serde_json::Value,
    /// The tool may be destructive by the MCP spec's defaults (see [`hints`]): true unless
    /// `annotations` say `readOnlyHint: true` or `destructiveHint: false`.
    pub destructive: bool,
    /// The whole `annotations` object, when present.
    pub annotations: Option<serde_json::Value>,
}

/// Session counters the recorder exports and the summary keeps (cumulative except `active`); the
/// session lifecycle is described in docs/client.md.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[schemars(rename = "SessionSummary")]
pub struct SessionStats {
    /// Open now (at the end, in the summary).
    pub active: u64,
    /// Sessions created: every successful initialize.
    pub initialized: u64,
    /// Sessions the server forgot (404, or a 400 naming the session, to a request that carried it).
    pub expired: u64,
    /// DELETEs the server accepted (2xx).
    #[serde(default)]
    pub deleted: u64,
    /// Sessions opened and left open on purpose (`abandon`).
    #[serde(default)]
    pub abandoned: u64,
    /// Initializes that replaced an expired session.
    #[serde(default)]
    pub reinitialized: u64,
    /// Initializes the server refused: answered with an HTTP error (e.g. the PyPI server's 503
    /// "Too many open sessions" past its cap) or a JSON-RPC error.
    #[serde(default)]
    pub refused: u64,
}

impl std::ops::AddAssign for SessionStats {
    /// Another shard's counters.
    fn add_assign(&mut self, o: SessionStats) {
        self.active += o.active;
        self.initialized += o.initialized;
        self.expired += o.expired;
        self.deleted += o.deleted;
        self.abandoned += o.abandoned;
        self.reinitialized += o.reinitialized;
        self.refused += o.refused;
    }
}

pub mod auth;
pub mod client;
pub mod direct;
pub mod error;
pub mod hints;
pub mod http1;
pub mod initialize;
pub mod jsonrpc;
pub mod legacy;
pub mod session;
pub mod sse;
pub mod stdio;
pub mod transport;
pub use client::McpClient;
pub use error::ClientError;
pub use hints::{DestructiveReason, ToolHints};
