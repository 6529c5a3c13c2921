//! The running server: rmcp's Streamable HTTP service behind an axum middleware that counts requests
//! and injects HTTP-level faults, a session manager that counts and can forget sessions, and the
//! `ServerHandler` that serves the tools and injects latency, stalls and MCP-level errors.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use http::{Method, StatusCode, header};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientJsonRpcMessage, ContentBlock,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    ServerJsonRpcMessage, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{
    ServerSseMessage, SessionId, SessionManager,
};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use super::MockError;
use super::config::MockConfig;
use super::faults::{ErrorPick, Faults, pick_error, sample_latency};
use super::stats::{Counters, InFlight, MockStats, bump};
use super::tools::{self, PaymentStore, ToolId};

/// Largest request body the fault middleware buffers (same as rmcp's default limit).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// State shared by the middleware, the handler and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    pub(crate) payments: PaymentStore,
    pub(crate) leak: super::leak::Leak,
}

impl Shared {
    /// The state of one mock server, from a validated `cfg` (HTTP or stdio).
    pub(crate) fn new(cfg: &MockConfig) -> Result<Arc<Shared>, MockError> {
        cfg.validate()?;
        Ok(Arc::new(Shared {
            faults: Faults::new(cfg.faults.clone(), cfg.seed),
            counters: Counters::default(),
            payments: PaymentStore::new(cfg.payment_store_capacity, cfg.seed),
            leak: super::leak::Leak::new(cfg.leak.clone()),
        }))
    }
}

/// The uniform draw the middleware made for a request, passed to the tool handler so one draw
/// decides among all error kinds (exact ratios).
#[derive(Debug, Clone, Copy)]
struct FaultRoll(f64);

/// The MCP handler: cheap to clone (rmcp builds one per session or stateless request).
#[derive(Debug, Clone)]
pub(crate) struct MockServer(pub(crate) Arc<Shared>);

impl ServerHandler for MockServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "mcp-soak-mock",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "mcp-soak's built-in mock: assisted-service style list tools, payments and echo, \
                 with optional fault injection.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::tool_list().to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::tool_list().iter().find(|t| t.name == name).cloned()
    }

    async fn on_initialized(&self, _context: NotificationContext<RoleServer>) {
        // rmcp's default logs every session at info level; a soak creates many.
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let s = &*self.0;
        let Some(id) = ToolId::from_name(&request.name) else {
            bump(&s.counters.calls[ToolId::COUNT]);
            return Err(ErrorData::invalid_params(
                format!("unknown tool {:?}", request.name),
                None,
            ));
        };
        bump(&s.counters.calls[id.index()]);
        s.leak.call();
        let _in_flight = InFlight::enter(&s.counters);
        if s.faults.in_scope(id.name()) {
            let phase = s.faults.phase(Instant::now());
            if let Some(until) = phase.stall_until {
                bump(&s.counters.stall);
                tokio::time::sleep_until(until.into()).await;
            }
            let mut delay = Duration::ZERO;
            if let Some(l) = &s.faults.cfg.latency {
                delay += sample_latency(l, &s.faults.rng);
            }
            if let Some(l) = &phase.extra_latency {
                delay += sample_latency(l, &s.faults.rng);
            }
            if !delay.is_zero() {
                bump(&s.counters.latency);
                // Precise to ~0.1 ms (a tokio timer overshoots by up to 2 ms).
                crate::timer::sleep(delay).await;
            }
            let u = context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<FaultRoll>())
                .map_or_else(|| s.faults.rng.next_f64(), |r| r.0);
            match pick_error(&phase.errors, u) {
                ErrorPick::ToolError => {
                    bump(&s.counters.tool_error);
                    return Ok(CallToolResult::error(vec![ContentBlock::text(
                        "injected fault: tool error",
                    )])
                    .into());
                }
                ErrorPick::RpcError => {
                    bump(&s.counters.rpc_error);
                    return Err(ErrorData::internal_error(
                        "injected fault: JSON-RPC error",
                        None,
                    ));
                }
                // HTTP faults were handled by the middleware (or the roll was not for us).
                ErrorPick::Http500 | ErrorPick::Http429 | ErrorPick::None => {}
            }
        }
        let args = request.arguments.unwrap_or_default();
        Ok(tools::run(id, &args, &s.payments).into())
    }
}

/// rmcp's in-memory session manager, counting created sessions and able to forget them all.
#[derive(Debug)]
pub(crate) struct CountingSessions {
    inner: LocalSessionManager,
    shared: Arc<Shared>,
    /// `MockConfig::max_sessions`.
    max_sessions: Option<usize>,
    /// Held from the cap check until the session exists, so the cap is exact under concurrency.
    opening: tokio::sync::Mutex<()>,
}

impl CountingSessions {
    /// Forgets every session now (their ids get 404 afterwards); returns how many there were.
    pub(crate) async fn expire_all(&self) -> usize {
        let handles: Vec<_> = self.inner.sessions.write().await.drain().collect();
        let n = handles.len();
        for (_, handle) in handles {
            let _ = handle.close().await;
        }
        self.shared
            .counters
            .sessions_expired
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        n
    }
}

impl SessionManager for CountingSessions {
    type Error = LocalSessionManagerError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let created = self.inner.create_session().await?;
        bump(&self.shared.counters.sessions_created);
        self.shared.leak.session_opened(&created.0);
        Ok(created)
    }
    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }
    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }
    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.shared.leak.session_deleted(id);
        self.inner.close_session(id).await
    }
    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }
    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }
    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }
    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }
}

/// The tool name of a `tools/call` body, if it is one.
fn peek_tool_call(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Params<'a> {
        #[serde(borrow)]
        name: Option<Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        method: Option<Cow<'a, str>>,
        #[serde(borrow)]
        params: Option<Params<'a>>,
    }
    let p: Peek<'_> = serde_json::from_slice(body).ok()?;
    if p.method.as_deref() != Some("tools/call") {
        return None;
    }
    p.params?.name.map(Cow::into_owned)
}

/// Counts requests and DELETEs; injects HTTP 500/429 on in-scope `tools/call` POSTs.
async fn http_layer(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    bump(&s.counters.http_requests);
    if req.method() == Method::DELETE {
        bump(&s.counters.deletes);
    }
    if req.method() != Method::POST || !s.faults.http_possible() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large or unreadable",
            )
                .into_response();
        }
    };
    let u = s.faults.rng.next_f64();
    if let Some(tool) = peek_tool_call(&bytes)
        && s.faults.in_scope(&tool)
    {
        let phase = s.faults.phase(Instant::now());
        match pick_error(&phase.errors, u) {
            ErrorPick::Http500 => {
                bump(&s.counters.http_500);
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "injected fault: HTTP 500",
                )
                    .into_response();
            }
            ErrorPick::Http429 => {
                bump(&s.counters.http_429);
                let secs = s.faults.cfg.retry_after.as_secs().max(1);
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, secs.to_string())],
                    "injected fault: HTTP 429",
                )
                    .into_response();
            }
            _ => {}
        }
    }
    parts.extensions.insert(FaultRoll(u));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The body the PyPI `mcp` server sends with its 503 past the session cap.
const TOO_MANY_SESSIONS: &str = r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32603,"message":"Too many open sessions"}}"#;

/// With `max_sessions` set, answers a session-less POST (an `initialize`) with 503 and JSON-RPC
/// -32603 "Too many open sessions" while that many sessions are open.
async fn session_cap(State(c): State<Arc<CountingSessions>>, req: Request, next: Next) -> Response {
    let Some(max) = c.max_sessions else {
        return next.run(req).await;
    };
    if req.method() != Method::POST || req.headers().contains_key("mcp-session-id") {
        return next.run(req).await;
    }
    let _one_at_a_time = c.opening.lock().await;
    if c.inner.sessions.read().await.len() >= max {
        bump(&c.shared.counters.sessions_refused);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            TOO_MANY_SESSIONS,
        )
            .into_response();
    }
    next.run(req).await
}

/// Origins on an allowed host: any port, http or https (an explicit `host:port` pins the port).
fn origins_for_host(host: &str) -> Vec<String> {
    let has_port = !host.contains('[')
        && host.matches(':').count() == 1
        && http::uri::Authority::try_from(host).is_ok_and(|a| a.port().is_some());
    let authority = if has_port {
        host.to_string()
    } else if host.contains(':') {
        format!("[{}]:*", host.trim_matches(['[', ']']))
    } else {
        format!("{host}:*")
    };
    vec![
        format!("http://{authority}"),
        format!("https://{authority}"),
    ]
}

fn rmcp_config(cfg: &MockConfig, ct: CancellationToken) -> StreamableHttpServerConfig {
    let base = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!cfg.stateless)
        .with_json_response(cfg.json_response)
        .with_cancellation_token(ct);
    if cfg.allowed_hosts.iter().any(|h| h == "*") {
        return base.disable_allowed_hosts().disable_allowed_origins();
    }
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    hosts.extend(cfg.allowed_hosts.iter().cloned());
    let mut origins: Vec<String> = hosts.iter().flat_map(|h| origins_for_host(h)).collect();
    origins.extend(cfg.allowed_origins.iter().cloned());
    base.with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .enforce_origin_validation()
}

/// A running mock server. Dropping it stops the server.
#[derive(Debug)]
pub struct MockHandle {
    /// The bound address (port 0 resolved).
    pub addr: SocketAddr,
    /// The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp` (loopback if bound to all interfaces).
    pub url: String,
    shared: Arc<Shared>,
    sessions: Arc<CountingSessions>,
    ct: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockHandle {
    /// What the server saw so far.
    pub fn stats(&self) -> MockStats {
        self.shared.counters.snapshot()
    }

    /// Forgets every session now, so requests with an old `Mcp-Session-Id` get 404; returns how many.
    pub async fn expire_sessions(&self) -> usize {
        self.sessions.expire_all().await
    }

    /// A token that stops the server when cancelled.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.ct.clone()
    }

    /// Stops the server: closes sessions and streams, lets open connections finish (at most 5 s).
    pub async fn shutdown(mut self) {
        self.ct.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        self.ct.cancel();
    }
}

/// Binds `listen` (port 0 works) and serves the mock in the background.
pub async fn spawn(cfg: MockConfig, listen: SocketAddr) -> Result<MockHandle, MockError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| MockError::Bind(listen, e))?;
    spawn_on(cfg, listener).await
}

/// Serves the mock in the background on a listener the caller bound: a port held from before
/// (e.g. one a test kept closed until the target "comes up") is never free for another process.
pub async fn spawn_on(
    cfg: MockConfig,
    listener: tokio::net::TcpListener,
) -> Result<MockHandle, MockError> {
    use axum::serve::ListenerExt;

    let addr = listener
        .local_addr()
        .map_err(|e| MockError::Bind(SocketAddr::from(([0, 0, 0, 0], 0)), e))?;
    let shared = Shared::new(&cfg)?;
    let mut inner = LocalSessionManager::default();
    inner.session_config.keep_alive = cfg.session_idle_timeout;
    let sessions = Arc::new(CountingSessions {
        inner,
        shared: shared.clone(),
        max_sessions: cfg.max_sessions.filter(|_| !cfg.stateless),
        opening: tokio::sync::Mutex::new(()),
    });
    let ct = CancellationToken::new();
    let server = MockServer(shared.clone());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        sessions.clone(),
        rmcp_config(&cfg, ct.clone()),
    );
    let app = axum::Router::new()
        .route_service(&cfg.path, service)
        .route_layer(axum::middleware::from_fn_with_state(
            sessions.clone(),
            session_cap,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            http_layer,
        ))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/metrics", {
            let shared = shared.clone();
            axum::routing::get(move || async move { shared.leak.render() })
        });

    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let stop = ct.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!("mock server stopped: {e}");
        }
    });
    let url_host = if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => format!("127.0.0.1:{}", addr.port()),
            SocketAddr::V6(_) => format!("[::1]:{}", addr.port()),
        }
    } else {
        addr.to_string()
    };
    let url = format!("http://{url_host}{}", cfg.path);
    Ok(MockHandle {
        addr,
        url,
        shared,
        sessions,
        ct,
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_finds_tool_calls_only() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}}"#;
        assert_eq!(peek_tool_call(call).as_deref(), Some("echo"));
        assert_eq!(
            peek_tool_call(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            None
        );
        assert_eq!(peek_tool_call(b"not json"), None);
    }

    #[test]
    fn origins_cover_hosts() {
        assert_eq!(
            origins_for_host("mock"),
            vec!["http://mock:*", "https://mock:*"]
        );
        assert_eq!(
            origins_for_host("mock:8080"),
            vec!["http://mock:8080", "https://mock:8080"]
        );
        assert_eq!(
            origins_for_host("::1"),
            vec!["http://[::1]:*", "https://[::1]:*"]
        );
    }
}
