//! Legacy HTTP+SSE (2024-11-05): `GET` the SSE URL, learn the POST endpoint from the `endpoint`
//! event, POST requests (answered 202) and receive the replies as `message` events on the stream,
//! routed to the waiting call by JSON-RPC id. One stream per session.
//!
//! A stream that ends (server restart, reset, a framing error or an event over the size cap) ends
//! its session: calls waiting on it fail as `connect` ("stream closed before the reply"), and the
//! next call that lands on its slot re-opens it (GET + handshake, one opener per slot, like the
//! session pool). A failed re-open waits out a backoff (100 ms doubling to 5 s) during which calls on
//! that slot fail fast as `connect` instead of hammering a server that is down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde_json::Value;
use tokio::sync::oneshot;

use super::error::ClientError;
use super::initialize::{initialize_params, server_info};
use super::jsonrpc::{self, Message};
use super::sse::SseParser;
use super::transport::{Exchange, Http};
use super::*;

type Pending = Mutex<HashMap<u64, oneshot::Sender<String>>>;

struct Conn {
    post_url: reqwest::Url,
    pending: Arc<Pending>,
    alive: Arc<AtomicBool>,
    next_id: AtomicU64,
    reader: tokio::task::AbortHandle,
}

/// Removes a pending id when the call ends, however it ends (reply, error, timeout).
struct PendingGuard<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut g) = self.pending.lock() {
            g.remove(&self.id);
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// First and longest wait before re-opening a stream after a failed attempt.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// One session's place in the pool: the open stream, if any, and the re-open backoff.
struct Slot {
    current: Mutex<Option<Arc<Conn>>>,
    opening: tokio::sync::Mutex<()>,
    /// No re-open attempt before this instant; the wait doubles after each failure.
    retry: Mutex<(Option<Instant>, Duration)>,
}

/// What every handshake asks for.
struct Hello {
    version: String,
    client_name: String,
    client_version: String,
}

/// The legacy transport: a few SSE streams used round-robin.
pub struct Legacy {
    slots: Vec<Slot>,
    rr: AtomicUsize,
    hello: Hello,
    initialized: AtomicU64,
    expired: AtomicU64,
    /// What the handshake said.
    pub negotiated: Negotiated,
}

#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<IgnoredAny>,
}

fn id_of(data: &str) -> Option<u64> {
    let m: IdOnly = serde_json::from_str(data).ok()?;
    if m.method.is_some() {
        return None;
    }
    match m.id? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

async fn open_conn(http: &Http) -> Result<Conn, Exchange> {
    let mut resp = http.get_stream().await?;
    let mut parser = SseParser::new(http.max_body);
    let mut seen = 0usize;
    let endpoint = 'outer: loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(Exchange::failed(
                    OutcomeKind::Protocol,
                    "SSE stream ended before the endpoint event",
                ));
            }
            Err(e) => {
                let (k, d) = super::transport::map_reqwest(e, true);
                return Err(Exchange::failed(k, d));
            }
        };
        seen += chunk.len();
        if seen > 64 * 1024 {
            return Err(Exchange::failed(
                OutcomeKind::Protocol,
                "no endpoint event in the first 64 KiB",
            ));
        }
        parser.push(&chunk);
        while let Some(ev) = parser
            .next_event()
            .map_err(|e| Exchange::failed(OutcomeKind::Protocol, e.to_string()))?
        {
            if ev.event.as_deref() == Some("endpoint") {
                break 'outer ev.data;
            }
        }
    };
    let post_url = http
        .url
        .join(endpoint.trim())
        .map_err(|e| Exchange::failed(OutcomeKind::Protocol, format!("bad endpoint URI: {e}")))?;
    let pending: Arc<Pending> = Arc::new(Mutex::new(HashMap::new()));
    let alive = Arc::new(AtomicBool::new(true));
    let (p2, a2) = (pending.clone(), alive.clone());
    let reader = tokio::spawn(async move {
        'stream: loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                _ => break,
            };
            parser.push(&chunk);
            loop {
                match parser.next_event() {
                    Ok(Some(ev)) => {
                        if ev.event.as_deref().is_some_and(|t| t != "message") || ev.data.is_empty()
                        {
                            continue;
                        }
                        if let Some(id) = id_of(&ev.data) {
                            let tx = p2.lock().ok().and_then(|mut g| g.remove(&id));
                            if let Some(tx) = tx {
                                let _ = tx.send(ev.data);
                            }
                        }
                    }
                    Ok(None) => break,
                    // Bad framing or an event over the cap: the stream is unusable.
                    Err(_) => break 'stream,
                }
            }
        }
        // Dead first, then the waiters go (see `Conn::request`).
        a2.store(false, Ordering::Relaxed);
        if let Ok(mut g) = p2.lock() {
            g.clear(); // waiters see the stream closed
        }
    })
    .abort_handle();
    Ok(Conn {
        post_url,
        pending,
        alive,
        next_id: AtomicU64::new(1),
        reader,
    })
}

impl Conn {
    async fn request(
        &self,
        http: &Http,
        id: u64,
        body: Vec<u8>,
        is_tool: bool,
        keep: bool,
    ) -> Exchange {
        if !self.alive.load(Ordering::Relaxed) {
            return Exchange::failed(OutcomeKind::Connect, "legacy SSE stream is closed");
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut g) = self.pending.lock() {
            g.insert(id, tx);
        }
        let _guard = PendingGuard {
            pending: &self.pending,
            id,
        };
        // The reader marks the stream dead before it clears the waiters: a waiter added after
        // the clear sees it here instead of waiting for the timeout.
        if !self.alive.load(Ordering::Relaxed) {
            return Exchange::failed(OutcomeKind::Connect, "legacy SSE stream is closed");
        }
        let status = match http.post_legacy(&self.post_url, body).await {
            Ok(s) => s,
            Err(x) => return x,
        };
        let Ok(data) = rx.await else {
            return Exchange::failed(
                OutcomeKind::Connect,
                "legacy SSE stream closed before the reply",
            );
        };
        let bytes = data.len() as u64;
        let mut x = match jsonrpc::classify_message(data.as_bytes(), id, is_tool, keep) {
            Message::Response(c) => Exchange::from_classified(c, status, bytes, None),
            _ => Exchange::failed(
                OutcomeKind::Protocol,
                "reply id does not match the request id",
            ),
        };
        x.status = Some(status);
        x.bytes = bytes;
        x
    }
}

/// GET the stream, then `initialize` + `notifications/initialized` on it; the initialize result.
async fn handshake(http: &Http, hello: &Hello) -> Result<(Conn, Value), Exchange> {
    let conn = open_conn(http).await?;
    let params = initialize_params(&hello.version, &hello.client_name, &hello.client_version);
    let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
    let fut = conn.request(
        http,
        id,
        jsonrpc::raw_request_body(id, "initialize", &params),
        false,
        true,
    );
    let x = tokio::time::timeout(http.timeout, fut)
        .await
        .unwrap_or_else(|_| Exchange::failed(OutcomeKind::Timeout, "initialize timed out"));
    if x.kind != OutcomeKind::Ok {
        return Err(x);
    }
    let result = x.result.unwrap_or(Value::Null);
    http.post_legacy(
        &conn.post_url,
        jsonrpc::notification_body("notifications/initialized"),
    )
    .await?;
    Ok((conn, result))
}

impl Legacy {
    /// Opens `config.sessions` streams and runs the 2024-11-05 handshake on each.
    pub async fn connect(http: &Http, config: &ClientConfig) -> Result<Legacy, ClientError> {
        let url = &config.url;
        let hello = Hello {
            version: match &config.protocol {
                ProtocolChoice::Revision(v) => v.clone(),
                ProtocolChoice::Auto => LEGACY_SSE_REVISION.to_owned(),
            },
            client_name: config.client_name.clone(),
            client_version: config.client_version.clone(),
        };
        let mut slots = Vec::new();
        let mut negotiated = None;
        for _ in 0..config.sessions.max(1) {
            let (conn, r) = handshake(http, &hello)
                .await
                .map_err(|x| ClientError::from_legacy(url, &x))?;
            negotiated.get_or_insert_with(|| {
                let (server_name, server_version) = server_info(&r);
                Negotiated {
                    protocol_version: r
                        .get("protocolVersion")
                        .and_then(Value::as_str)
                        .unwrap_or(&hello.version)
                        .to_owned(),
                    era: Era::LegacySse,
                    server_name,
                    server_version,
                }
            });
            slots.push(Slot {
                current: Mutex::new(Some(Arc::new(conn))),
                opening: tokio::sync::Mutex::new(()),
                retry: Mutex::new((None, BACKOFF_FIRST)),
            });
        }
        let negotiated =
            negotiated.ok_or_else(|| ClientError::Failed("no legacy session opened".into()))?;
        Ok(Legacy {
            initialized: AtomicU64::new(slots.len() as u64),
            slots,
            rr: AtomicUsize::new(0),
            hello,
            expired: AtomicU64::new(0),
            negotiated,
        })
    }

    fn live(&self, slot: usize) -> Option<Arc<Conn>> {
        let g = self.slots[slot].current.lock().ok()?;
        g.as_ref()
            .filter(|c| c.alive.load(Ordering::Relaxed))
            .cloned()
    }

    /// The open stream of `slot`, re-opening a dead one unless its backoff says wait.
    async fn acquire(&self, http: &Http, slot: usize) -> Result<Arc<Conn>, Exchange> {
        if let Some(c) = self.live(slot) {
            return Ok(c);
        }
        let s = &self.slots[slot];
        let _one_opener = s.opening.lock().await;
        if let Some(c) = self.live(slot) {
            return Ok(c);
        }
        // A stream that died ended its session: count it once, when it leaves the slot.
        if let Ok(mut g) = s.current.lock()
            && g.take().is_some()
        {
            self.expired.fetch_add(1, Ordering::Relaxed);
        }
        let now = Instant::now();
        if let Some(at) = s.retry.lock().ok().and_then(|r| r.0)
            && now < at
        {
            return Err(Exchange::failed(
                OutcomeKind::Connect,
                format!(
                    "legacy SSE stream closed; re-opening in {} ms",
                    (at - now).as_millis()
                ),
            ));
        }
        match handshake(http, &self.hello).await {
            Ok((conn, _)) => {
                let conn = Arc::new(conn);
                if let Ok(mut g) = s.current.lock() {
                    *g = Some(conn.clone());
                }
                if let Ok(mut r) = s.retry.lock() {
                    *r = (None, BACKOFF_FIRST);
                }
                self.initialized.fetch_add(1, Ordering::Relaxed);
                Ok(conn)
            }
            Err(mut x) => {
                if let Ok(mut r) = s.retry.lock() {
                    let wait = r.1;
                    *r = (Some(Instant::now() + wait), (wait * 2).min(BACKOFF_MAX));
                }
                x.detail = Some(format!(
                    "re-opening the legacy SSE stream: {}",
                    x.detail.as_deref().unwrap_or("failed")
                ));
                Err(x)
            }
        }
    }

    /// One call on the next stream.
    pub async fn call(
        &self,
        http: &Http,
        req: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
    ) -> Exchange {
        let slot = self.rr.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let conn = match self.acquire(http, slot).await {
            Ok(c) => c,
            Err(x) => return x,
        };
        let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
        let body = jsonrpc::request_body(id, req, cursor, None);
        conn.request(
            http,
            id,
            body,
            matches!(req, McpRequest::ToolsCall { .. }),
            keep,
        )
        .await
    }

    /// Session counters: one session per stream.
    pub fn stats(&self) -> SessionStats {
        let active = (0..self.slots.len())
            .filter(|&i| self.live(i).is_some())
            .count() as u64;
        let initialized = self.initialized.load(Ordering::Relaxed);
        SessionStats {
            active,
            initialized,
            expired: self.expired.load(Ordering::Relaxed),
            // Every stream past the first per slot re-opened an ended session.
            reinitialized: initialized.saturating_sub(self.slots.len() as u64),
            ..SessionStats::default()
        }
    }

    /// Closes every stream (ends the sessions).
    pub fn shutdown(&self) {
        for s in &self.slots {
            if let Ok(mut g) = s.current.lock()
                && let Some(c) = g.take()
            {
                c.reader.abort();
                c.alive.store(false, Ordering::Relaxed);
            }
        }
    }
}
