//! Legacy HTTP+SSE (2024-11-05): `GET` the SSE URL, learn the POST endpoint from the `endpoint`
//! event, POST requests (answered 202) and receive the replies as `message` events on the stream,
//! routed to the waiting call by JSON-RPC id. One stream per session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::de::IgnoredAny;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::client::ClientError;
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

/// The legacy transport: a few SSE streams used round-robin.
pub struct Legacy {
    conns: Vec<Conn>,
    rr: AtomicUsize,
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
    let mut parser = SseParser::new();
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
        loop {
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
                    Err(_) => {
                        a2.store(false, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }
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

impl Legacy {
    /// Opens `config.sessions` streams and runs the 2024-11-05 handshake on each.
    pub async fn connect(http: &Http, config: &ClientConfig) -> Result<Legacy, ClientError> {
        let url = &config.url;
        let version = match &config.protocol {
            ProtocolChoice::Revision(v) => v.clone(),
            ProtocolChoice::Auto => LEGACY_SSE_REVISION.to_owned(),
        };
        let mut conns = Vec::new();
        let mut negotiated = None;
        for _ in 0..config.sessions.max(1) {
            let conn = open_conn(http)
                .await
                .map_err(|x| ClientError::from_legacy(url, &x))?;
            let params = json!({
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": config.client_name, "version": config.client_version},
            });
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
                conn.reader.abort();
                return Err(ClientError::from_legacy(url, &x));
            }
            let r = x.result.unwrap_or(Value::Null);
            if let Err(x) = http
                .post_legacy(
                    &conn.post_url,
                    jsonrpc::notification_body("notifications/initialized"),
                )
                .await
            {
                conn.reader.abort();
                return Err(ClientError::from_legacy(url, &x));
            }
            negotiated.get_or_insert_with(|| Negotiated {
                protocol_version: r
                    .get("protocolVersion")
                    .and_then(Value::as_str)
                    .unwrap_or(&version)
                    .to_owned(),
                era: Era::LegacySse,
                server_name: r
                    .pointer("/serverInfo/name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                server_version: r
                    .pointer("/serverInfo/version")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
            conns.push(conn);
        }
        let negotiated =
            negotiated.ok_or_else(|| ClientError::Failed("no legacy session opened".into()))?;
        Ok(Legacy {
            conns,
            rr: AtomicUsize::new(0),
            negotiated,
        })
    }

    /// One call on the next stream.
    pub async fn call(
        &self,
        http: &Http,
        req: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
    ) -> Exchange {
        let conn = &self.conns[self.rr.fetch_add(1, Ordering::Relaxed) % self.conns.len()];
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
        let active = self
            .conns
            .iter()
            .filter(|c| c.alive.load(Ordering::Relaxed))
            .count() as u64;
        SessionStats {
            active,
            initialized: self.conns.len() as u64,
            expired: 0,
        }
    }

    /// Closes every stream (ends the sessions).
    pub fn shutdown(&self) {
        for c in &self.conns {
            c.reader.abort();
            c.alive.store(false, Ordering::Relaxed);
        }
    }
}
