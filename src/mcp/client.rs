//! The client facade the engine uses: connect (negotiation), one classified outcome per call,
//! tools listing, session counters and shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use reqwest::header::HeaderValue;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio_util::task::TaskTracker;

use super::jsonrpc;
use super::session::{self, Pool};
use super::transport::{self, Exchange, Http, PostHeaders};
use super::*;

/// The stateless era's per-request constants.
struct Stateless {
    proto: HeaderValue,
    meta: Box<RawValue>,
    next_id: AtomicU64,
}

enum Mode {
    Stateless(Stateless),
    Session(Pool),
    Legacy(super::legacy::Legacy),
    Stdio(super::stdio::Stdio),
}

/// Whose request a call is: the load's, shaped by the session strategy, or the client's own.
#[derive(Clone, Copy)]
enum Purpose {
    Load,
    Own,
}

struct Inner {
    http: Http,
    url: String,
    mode: Mode,
    strategy: SessionStrategy,
    negotiated: Negotiated,
    tasks: TaskTracker,
}

/// A connected MCP client: cheap to clone, shared by every in-flight call.
#[derive(Clone)]
pub struct McpClient {
    inner: Arc<Inner>,
}

/// The stateless era's `_meta` of every request (also sent over stdio).
pub(super) fn stateless_meta(version: &str, config: &ClientConfig) -> Box<RawValue> {
    let meta = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": config.client_name, "version": config.client_version},
    });
    serde_json::value::to_raw_value(&meta)
        .unwrap_or_else(|_| RawValue::from_string("{}".into()).unwrap_or_default())
}

/// What a `server/discover` result says (HTTP and stdio).
pub(super) struct Discovered {
    /// It lists the stateless revision among its supported versions.
    pub modern: bool,
    pub server_name: Option<String>,
    pub server_version: Option<String>,
}

/// Reads a `server/discover` result.
pub(super) fn read_discover(r: &Value) -> Discovered {
    let modern = r
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|s| s.as_str() == Some(STATELESS_REVISION)));
    let info = r
        .pointer("/_meta/io.modelcontextprotocol~1serverInfo")
        .or_else(|| r.get("serverInfo"))
        .cloned()
        .unwrap_or(Value::Null);
    let field = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_owned);
    Discovered {
        modern,
        server_name: field("name"),
        server_version: field("version"),
    }
}

/// What `server/discover` told us, or why it failed.
enum Discovery {
    Stateless {
        server_name: Option<String>,
        server_version: Option<String>,
    },
    /// The server is older (or says it supports only session revisions): use `initialize`.
    Older,
}

async fn discover(
    http: &Http,
    url: &str,
    config: &ClientConfig,
    explicit: bool,
) -> Result<Discovery, ClientError> {
    let meta = stateless_meta(STATELESS_REVISION, config);
    let proto = HeaderValue::from_static(STATELESS_REVISION);
    let req = McpRequest::ServerDiscover;
    let body = jsonrpc::request_body(0, &req, None, Some(&meta));
    let h = PostHeaders {
        protocol: Some(&proto),
        method: Some(HeaderValue::from_static("server/discover")),
        ..Default::default()
    };
    let mut x =
        match tokio::time::timeout(http.timeout, http.request(0, body.clone(), &h, false, true))
            .await
        {
            Ok(x) => x,
            Err(_) => Exchange::failed(OutcomeKind::Timeout, "server/discover timed out"),
        };
    // -32022 naming our revision as supported: the server asks for a retry at that version (once).
    let retry = x.error.as_ref().is_some_and(|e| {
        e.code == -32022
            && e.data
                .as_ref()
                .and_then(|d| d.get("supported"))
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(STATELESS_REVISION)))
    });
    if retry {
        x = match tokio::time::timeout(http.timeout, http.request(0, body, &h, false, true)).await {
            Ok(x) => x,
            Err(_) => Exchange::failed(OutcomeKind::Timeout, "server/discover timed out"),
        };
    }
    match x.kind {
        OutcomeKind::Ok => {
            let d = read_discover(&x.result.unwrap_or(Value::Null));
            if !d.modern && !explicit {
                return Ok(Discovery::Older);
            }
            Ok(Discovery::Stateless {
                server_name: d.server_name,
                server_version: d.server_version,
            })
        }
        OutcomeKind::Connect | OutcomeKind::Timeout => {
            Err(ClientError::from_exchange(url, "server/discover", &x))
        }
        _ if explicit => Err(ClientError::from_exchange(url, "server/discover", &x)),
        _ => {
            // -32022 naming only stateless revisions we do not speak is a real incompatibility.
            if let Some(err) = &x.error
                && err.code == -32022
                && let Some(supported) = err
                    .data
                    .as_ref()
                    .and_then(|d| d.get("supported"))
                    .and_then(Value::as_array)
                && !supported.iter().any(|v| {
                    v.as_str()
                        .is_some_and(|v| SUPPORTED_REVISIONS[1..].contains(&v))
                })
            {
                return Err(ClientError::Failed(format!(
                    "server supports no revision this client speaks: {}",
                    jsonrpc::truncate(&Value::Array(supported.clone()).to_string(), 120)
                )));
            }
            Ok(Discovery::Older)
        }
    }
}

impl McpClient {
    /// Connects: negotiates the revision (auto: stateless first), opens the session pool.
    pub async fn connect(config: ClientConfig) -> Result<McpClient, ClientError> {
        // A stdio target's "URL" only labels it; its calls share Http's timeout, in-flight permits
        // and secret scrubbing, and never reach the reqwest client.
        let url = match &config.stdio {
            Some(t) => t.label(),
            None => config.url.clone(),
        };
        let parsed = reqwest::Url::parse(if config.stdio.is_some() {
            "stdio:"
        } else {
            &config.url
        })
        .map_err(|e| ClientError::Failed(format!("invalid URL: {e}")))?;
        let client = transport::client_for(&config).map_err(ClientError::Failed)?;
        let extra_secrets = config.headers.iter().map(|(_, v)| v.clone()).collect();
        let auth =
            super::auth::AuthProvider::new(&config.auth, extra_secrets, config.ca_file.as_deref())
                .map_err(|e| ClientError::Failed(e.to_string()))?;
        let headers = transport::extra_headers(&config.headers).map_err(ClientError::Failed)?;
        // MCP POSTs skip reqwest when the target is plain http:// (see `direct`).
        let direct = (config.stdio.is_none() && config.transport != Transport::LegacySse)
            .then(|| super::direct::Direct::for_url(&parsed, config.connect_timeout))
            .flatten();
        let http = Http {
            client,
            url: parsed,
            auth,
            headers,
            max_body: config.max_body_bytes,
            timeout: config.timeout,
            slots: tokio::sync::Semaphore::new(config.max_connections.max(1)),
            direct,
        };
        let tasks = TaskTracker::new();
        // A credential that cannot be had is reported as itself (token URL, status, OAuth error),
        // not as a failed handshake with the MCP server; a fetched token is cached for the calls.
        http.auth
            .header()
            .await
            .map_err(|e| ClientError::Failed(e.to_string()))?;

        if let Some(target) = &config.stdio {
            let pool = super::stdio::Stdio::connect(&config, target).await?;
            let inner = Inner {
                http,
                url,
                negotiated: pool.negotiated.clone(),
                mode: Mode::Stdio(pool),
                strategy: config.session_strategy,
                tasks,
            };
            return Ok(McpClient {
                inner: Arc::new(inner),
            });
        }

        if config.transport == Transport::LegacySse {
            let legacy = super::legacy::Legacy::connect(&http, &config).await?;
            let negotiated = legacy.negotiated.clone();
            let inner = Inner {
                http,
                url,
                mode: Mode::Legacy(legacy),
                strategy: config.session_strategy,
                negotiated,
                tasks,
            };
            return Ok(McpClient {
                inner: Arc::new(inner),
            });
        }

        let wanted = match &config.protocol {
            ProtocolChoice::Auto => None,
            ProtocolChoice::Revision(v) if SUPPORTED_REVISIONS.contains(&v.as_str()) => {
                Some(v.clone())
            }
            ProtocolChoice::Revision(v) => {
                return Err(ClientError::Failed(format!(
                    "unsupported protocol revision {v:?}"
                )));
            }
        };
        let try_stateless = wanted.as_deref().is_none_or(|v| v == STATELESS_REVISION);
        if try_stateless {
            match discover(&http, &url, &config, wanted.is_some()).await? {
                Discovery::Stateless {
                    server_name,
                    server_version,
                } => {
                    let st = Stateless {
                        proto: HeaderValue::from_static(STATELESS_REVISION),
                        meta: stateless_meta(STATELESS_REVISION, &config),
                        next_id: AtomicU64::new(1),
                    };
                    let negotiated = Negotiated {
                        protocol_version: STATELESS_REVISION.to_owned(),
                        era: Era::Stateless,
                        server_name,
                        server_version,
                    };
                    let inner = Inner {
                        http,
                        url,
                        mode: Mode::Stateless(st),
                        strategy: config.session_strategy,
                        negotiated,
                        tasks,
                    };
                    return Ok(McpClient {
                        inner: Arc::new(inner),
                    });
                }
                Discovery::Older => {}
            }
        }

        let ask = wanted.unwrap_or_else(|| LATEST_SESSION_REVISION.to_owned());
        let (first, info) =
            session::initialize(&http, &ask, &config.client_name, &config.client_version)
                .await
                .map_err(|x| ClientError::from_initialize(&url, &x))?;
        if matches!(config.protocol, ProtocolChoice::Revision(_)) && info.protocol_version != ask {
            session::delete(
                &http,
                &first,
                session::protocol_header(&info.protocol_version).as_ref(),
            )
            .await;
            return Err(ClientError::Failed(format!(
                "asked for protocol {ask}, server answered {}",
                jsonrpc::truncate(&info.protocol_version, 40)
            )));
        }
        let pool = Pool::new(
            config.sessions,
            info.protocol_version.clone(),
            config.client_name.clone(),
            config.client_version.clone(),
        );
        let pool = match config.session_strategy {
            SessionStrategy::Idle { after, .. } => {
                let count = config.session_strategy.idle_sessions(pool.len());
                pool.with_idle(after, count, Instant::now())
            }
            _ => pool,
        };
        pool.opened();
        let negotiated = Negotiated {
            protocol_version: info.protocol_version.clone(),
            era: Era::Session,
            server_name: info.server_name,
            server_version: info.server_version,
        };
        if config.session_strategy.session_per_call() {
            // The handshake's own session is the client's, not the load's: always deleted.
            pool.retire(&http, &first).await;
            pool.closed();
        } else {
            pool.adopt(0, first);
        }
        let inner = Arc::new(Inner {
            http,
            url,
            mode: Mode::Session(pool),
            strategy: config.session_strategy,
            negotiated,
            tasks,
        });
        if !config.session_strategy.session_per_call()
            && let Mode::Session(pool) = &inner.mode
        {
            // Open the rest of the pool now so the first calls do not pay for initialize; a slot
            // that fails stays empty and is opened by its first call.
            let opens = (1..pool.len()).map(|slot| pool.acquire(&inner.http, slot));
            let _ = futures_util::future::join_all(opens).await;
        }
        Ok(McpClient { inner })
    }

    /// What was negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.inner.negotiated
    }

    /// Sends one request and classifies the result. Never retries, never panics.
    /// `keep_result` keeps the JSON-RPC `result` in the outcome (for captures).
    pub async fn call(&self, request: &McpRequest, keep_result: bool) -> CallOutcome {
        self.call_page(request, None, keep_result, Purpose::Load)
            .await
    }

    /// [`McpClient::call`] bounded by the caller's `deadline` instead of the client's own timeout
    /// (one timer for the engine's call, which counts from the intended send). Waiting for a
    /// connection permit counts against the deadline too. None when the deadline passed first:
    /// the caller knows what it waited for and reports the timeout itself.
    pub async fn call_until(
        &self,
        request: &McpRequest,
        keep_result: bool,
        deadline: tokio::time::Instant,
    ) -> Option<CallOutcome> {
        let attempt = self.attempt(request, None, keep_result, Purpose::Load, false);
        tokio::time::timeout_at(deadline, attempt).await.ok()
    }

    async fn call_page(
        &self,
        request: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
        purpose: Purpose,
    ) -> CallOutcome {
        self.attempt(request, cursor, keep, purpose, true).await
    }

    /// One call; bounded by the client's timeout (from the send) when `own_timeout`.
    async fn attempt(
        &self,
        request: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
        purpose: Purpose,
        own_timeout: bool,
    ) -> CallOutcome {
        let inner = &self.inner;
        // Waiting for a free connection is schedule lag, not service time: `sent` is taken after.
        // The semaphore is never closed, so acquiring cannot fail.
        let _slot = inner.http.slots.acquire().await.ok();
        let sent = Instant::now();
        let mut session_slot = None;
        let fut = async {
            match &inner.mode {
                Mode::Stateless(st) => self.stateless_call(st, request, cursor, keep).await,
                Mode::Session(pool) => {
                    self.session_call(pool, request, cursor, keep, purpose, &mut session_slot)
                        .await
                }
                Mode::Legacy(l) => l.call(&inner.http, request, cursor, keep).await,
                Mode::Stdio(p) => p.call(request, cursor, keep, &mut session_slot).await,
            }
        };
        let (x, handshakes) = if own_timeout {
            let (x, h) = handshake::timed(tokio::time::timeout(inner.http.timeout, fut)).await;
            let x = x.unwrap_or_else(|_| {
                Exchange::failed(
                    OutcomeKind::Timeout,
                    format!("no complete reply within {:?}", inner.http.timeout),
                )
            });
            (x, h)
        } else {
            handshake::timed(fut).await
        };
        let done = Instant::now();
        // Service time starts when the request left: after any handshake the call had to do first.
        let sent = (sent + handshakes.total()).min(done);
        CallOutcome {
            kind: x.kind,
            status: x.status,
            rpc_code: x.rpc_code,
            detail: x.detail.map(|d| jsonrpc::detail(inner.http.auth.scrub(&d))),
            sent,
            done,
            bytes: x.bytes,
            result: x.result,
            retry_after: x.retry_after,
            session: session_slot,
            handshakes,
        }
    }

    async fn stateless_call(
        &self,
        st: &Stateless,
        req: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
    ) -> Exchange {
        let id = st.next_id.fetch_add(1, Ordering::Relaxed);
        let body = jsonrpc::request_body(id, req, cursor, Some(&st.meta));
        let name = match req.name() {
            Some(n) => match HeaderValue::from_str(&jsonrpc::encode_header_value(n)) {
                Ok(v) => Some(v),
                Err(_) => {
                    return Exchange::failed(
                        OutcomeKind::Protocol,
                        "name cannot be sent as a header",
                    );
                }
            },
            None => None,
        };
        let h = PostHeaders {
            session: None,
            protocol: Some(&st.proto),
            method: Some(HeaderValue::from_static(req.method())),
            name,
        };
        self.inner
            .http
            .request(
                id,
                body,
                &h,
                matches!(req, McpRequest::ToolsCall { .. }),
                keep,
            )
            .await
    }

    async fn session_call(
        &self,
        pool: &Pool,
        req: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
        purpose: Purpose,
        slot_out: &mut Option<u32>,
    ) -> Exchange {
        let http = &self.inner.http;
        let is_tool = matches!(req, McpRequest::ToolsCall { .. });
        // Only the load is shaped by a one-session-per-call strategy. The client's own requests
        // (listing tools before the run) get a fresh session and DELETE it, as `per-call` does: under
        // `stale` they must succeed, under `abandon` they are not the load's abandoned sessions.
        let strategy = match (self.inner.strategy, purpose) {
            (s, Purpose::Own) if s.session_per_call() => SessionStrategy::PerCall,
            (s, _) => s,
        };
        if strategy.session_per_call() {
            let s = if strategy == SessionStrategy::Stale {
                pool.stale(http).await
            } else {
                pool.open(http).await
            };
            let s = match s {
                Ok(s) => s,
                Err(x) => return x,
            };
            // A stale call's outcome is what the server did with an id it must not know.
            let x = send_in_session(http, pool, &s, req, cursor, is_tool, keep).await;
            match strategy {
                SessionStrategy::PerCall => {
                    pool.closed();
                    self.spawn_delete(s);
                }
                SessionStrategy::Abandon => pool.abandon(),
                _ => {}
            }
            return x;
        }
        let slot = pool.next_slot(Instant::now());
        *slot_out = Some(slot as u32);
        let s = match pool.acquire(http, slot).await {
            Ok(s) => s,
            Err(x) => return x,
        };
        let x = send_in_session(http, pool, &s, req, cursor, is_tool, keep).await;
        if x.kind == OutcomeKind::SessionExpired {
            pool.expire(slot, &s);
        } else if let SessionStrategy::Churn { calls_per_session } = strategy
            && pool.count_call(slot, &s, calls_per_session)
        {
            self.spawn_delete(s);
        }
        x
    }

    fn spawn_delete(&self, s: Arc<session::Session>) {
        let inner = self.inner.clone();
        self.inner.tasks.spawn(async move {
            if let Mode::Session(pool) = &inner.mode {
                pool.retire(&inner.http, &s).await;
            }
        });
    }

    /// Every tool the server lists (all pages).
    pub async fn list_tools(&self) -> Result<Vec<ToolInfo>, ClientError> {
        const MAX_PAGES: usize = 1000;
        const MAX_TOOLS: usize = 10_000;
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let o = self
                .call_page(
                    &McpRequest::ToolsList,
                    cursor.as_deref(),
                    true,
                    Purpose::Own,
                )
                .await;
            if o.kind != OutcomeKind::Ok {
                let x = Exchange {
                    kind: o.kind,
                    status: o.status,
                    rpc_code: o.rpc_code,
                    detail: o.detail,
                    bytes: 0,
                    result: None,
                    retry_after: None,
                    error: None,
                    session_id: None,
                };
                return Err(ClientError::from_exchange(
                    &self.inner.url,
                    "tools/list",
                    &x,
                ));
            }
            let result = o.result.unwrap_or(Value::Null);
            let Some(list) = result.get("tools").and_then(Value::as_array) else {
                return Err(ClientError::Failed(
                    "tools/list result has no tools array".into(),
                ));
            };
            tools.extend(list.iter().filter_map(ToolInfo::from_listing));
            // Each page is capped by the body cap; the pages together by this.
            if tools.len() > MAX_TOOLS {
                return Err(ClientError::Failed(format!(
                    "tools/list: the server lists more than {MAX_TOOLS} tools"
                )));
            }
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(c) if !c.is_empty() && cursor.as_deref() != Some(c) => {
                    cursor = Some(c.to_owned())
                }
                _ => return Ok(tools),
            }
        }
        Err(ClientError::Failed(format!(
            "tools/list did not end within {MAX_PAGES} pages"
        )))
    }

    /// Session counters for metrics.
    pub fn session_stats(&self) -> SessionStats {
        match &self.inner.mode {
            Mode::Session(p) => p.stats(),
            Mode::Legacy(l) => l.stats(),
            Mode::Stdio(p) => p.session_stats(),
            Mode::Stateless(_) => SessionStats::default(),
        }
    }

    /// The stdio process pool, when the target is a command.
    pub fn stdio(&self) -> Option<&super::stdio::Stdio> {
        match &self.inner.mode {
            Mode::Stdio(p) => Some(p),
            _ => None,
        }
    }

    /// Retires every session (DELETE). Idempotent.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        match &inner.mode {
            Mode::Session(pool) => {
                let sessions = pool.drain();
                let deletes = sessions.iter().map(|s| pool.retire(&inner.http, s));
                futures_util::future::join_all(deletes).await;
            }
            Mode::Legacy(l) => l.shutdown(),
            Mode::Stdio(p) => p.shutdown().await,
            Mode::Stateless(_) => {}
        }
        inner.tasks.close();
        let _ = tokio::time::timeout(inner.http.timeout, inner.tasks.wait()).await;
    }
}

/// One request on an open session: a fresh id, the session and protocol headers.
async fn send_in_session(
    http: &Http,
    pool: &session::Pool,
    s: &session::Session,
    req: &McpRequest,
    cursor: Option<&str>,
    is_tool: bool,
    keep: bool,
) -> Exchange {
    let id = s.next_id();
    let body = jsonrpc::request_body(id, req, cursor, None);
    let h = PostHeaders {
        session: s.id.as_ref(),
        protocol: pool.proto.as_ref(),
        ..Default::default()
    };
    http.request(id, body, &h, is_tool, keep).await
}
