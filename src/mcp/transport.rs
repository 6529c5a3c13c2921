//! Streamable HTTP transport: one POST per request, the reply read as JSON or SSE with a byte cap,
//! and every result turned into an [`Exchange`] (never an error).
//!
//! MCP POSTs to a plain `http://` target go on our own HTTP/1.1 connections ([`super::direct`]);
//! everything else (TLS, proxies, GET streams, DELETE, legacy endpoints) goes through one shared
//! reqwest client. A reply is read the same way whichever carried it ([`Reply`]).

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use super::OutcomeKind;
use super::auth::{AuthError, AuthProvider};
use super::direct::{self, Direct};
use super::jsonrpc::{self, Classified, Message, RpcErrorObj};
use super::sse::SseParser;
use crate::tls::install_crypto_provider;

/// `Mcp-Session-Id`.
pub static SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version`.
pub static PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Mcp-Method` (stateless era).
pub static MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name` (stateless era).
pub static MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// `traceparent` (W3C trace context), sent when spans are exported.
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static ACCEPT_NAME: HeaderName = ACCEPT;
static CONTENT_TYPE_NAME: HeaderName = CONTENT_TYPE;

const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
static JSON: HeaderValue = HeaderValue::from_static("application/json");
/// How much of an error body is read to classify it and quote it.
const ERROR_BODY_PEEK: usize = 4096;

/// The result of one HTTP exchange, already classified.
#[derive(Debug)]
pub struct Exchange {
    /// The outcome the exchange counts as.
    pub kind: OutcomeKind,
    /// HTTP status, when a reply head arrived.
    pub status: Option<u16>,
    /// JSON-RPC error code, for an error reply.
    pub rpc_code: Option<i64>,
    /// Short cause for anything but `Ok` (never a secret).
    pub detail: Option<String>,
    /// Response body bytes read.
    pub bytes: u64,
    /// The JSON-RPC `result`, when the caller asked to keep it.
    pub result: Option<serde_json::Value>,
    /// `Retry-After` of a 429/503, in seconds.
    pub retry_after: Option<f64>,
    /// The JSON-RPC error, from a JSON-RPC reply or an HTTP error body that held one.
    pub error: Option<RpcErrorObj>,
    /// `Mcp-Session-Id` of the reply.
    pub session_id: Option<HeaderValue>,
}

impl Exchange {
    /// An `initialize` that ended like this was refused: the server answered and said no (an HTTP
    /// or a JSON-RPC error). A timeout or a reset is not a refusal.
    pub fn is_refusal(&self) -> bool {
        matches!(self.kind, OutcomeKind::HttpError | OutcomeKind::RpcError)
    }

    /// An exchange that ended before any reply.
    pub fn failed(kind: OutcomeKind, detail: impl AsRef<str>) -> Self {
        Exchange {
            kind,
            status: None,
            rpc_code: None,
            detail: Some(jsonrpc::detail(detail)),
            bytes: 0,
            result: None,
            retry_after: None,
            error: None,
            session_id: None,
        }
    }

    pub(crate) fn from_classified(
        c: Classified,
        status: u16,
        bytes: u64,
        session_id: Option<HeaderValue>,
    ) -> Self {
        Exchange {
            kind: c.kind,
            status: Some(status),
            rpc_code: c.rpc_code,
            detail: c.detail,
            bytes,
            result: c.result,
            retry_after: None,
            error: c.error,
            session_id,
        }
    }

    fn with_status(mut self, status: u16, bytes: u64) -> Self {
        self.status = Some(status);
        self.bytes = bytes;
        self
    }
}

/// The per-request headers besides the fixed ones.
#[derive(Default)]
pub struct PostHeaders<'a> {
    /// `Mcp-Session-Id` (session era).
    pub session: Option<&'a HeaderValue>,
    /// `MCP-Protocol-Version` (2025-06-18 and later).
    pub protocol: Option<&'a HeaderValue>,
    /// `Mcp-Method` (stateless era).
    pub method: Option<HeaderValue>,
    /// `Mcp-Name`: the tool, prompt or resource the request names (stateless era).
    pub name: Option<HeaderValue>,
}

/// Every header of one MCP request, borrowed where it can be: the extra ones (less any the
/// credential replaces), the credential, Accept, Content-Type (with a body), the per-request ones
/// and `traceparent` when spans are exported. The direct path writes them straight into the
/// request; reqwest gets them as a map.
struct RequestHeaders<'a> {
    extra: &'a HeaderMap,
    auth: Option<(HeaderName, HeaderValue)>,
    accept: HeaderValue,
    with_body: bool,
    post: &'a PostHeaders<'a>,
    traceparent: Option<HeaderValue>,
}

impl RequestHeaders<'_> {
    /// Each header, in the order sent.
    fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        let replaced = self.auth.as_ref().map(|(name, _)| name);
        let post = self.post;
        self.extra
            .iter()
            .filter(move |(name, _)| Some(*name) != replaced)
            .chain(self.auth.as_ref().map(|(n, v)| (n, v)))
            .chain(std::iter::once((&ACCEPT_NAME, &self.accept)))
            .chain(self.with_body.then_some((&CONTENT_TYPE_NAME, &JSON)))
            .chain(post.session.map(|v| (&SESSION_ID, v)))
            .chain(post.protocol.map(|v| (&PROTOCOL_VERSION, v)))
            .chain(post.method.as_ref().map(|v| (&MCP_METHOD, v)))
            .chain(post.name.as_ref().map(|v| (&MCP_NAME, v)))
            .chain(self.traceparent.as_ref().map(|v| (&TRACEPARENT, v)))
    }

    /// The headers as a map, for reqwest.
    fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.extra.len() + 8);
        for (name, value) in self.iter() {
            map.append(name.clone(), value.clone());
        }
        map
    }
}

/// The shared HTTP side of the client.
pub struct Http {
    /// The reqwest client: TLS, timeouts and the connection pool.
    pub client: reqwest::Client,
    /// The MCP endpoint (legacy SSE: the `/sse` URL).
    pub url: reqwest::Url,
    /// Supplies the `Authorization` (or offline-token) header, refreshing when due.
    pub auth: AuthProvider,
    /// The extra `--header`s: sent on MCP requests only (never default headers of the client).
    pub headers: HeaderMap,
    /// Largest reply body read, in bytes; a longer one is cut and counted `protocol`.
    pub max_body: usize,
    /// Per-call timeout.
    pub timeout: Duration,
    /// One permit per call on the wire (`max_connections`): bounds the connections the pool opens.
    pub slots: tokio::sync::Semaphore,
    /// The hyper path for MCP POSTs when the target is plain, unproxied `http://`.
    pub direct: Option<Direct>,
}

/// A reply head and its body, from reqwest or from the direct path.
pub enum Reply<'a> {
    /// A reply through reqwest.
    Reqwest(reqwest::Response),
    /// A reply through the direct hyper path.
    Direct(direct::Reply<'a>),
}

impl Reply<'_> {
    /// HTTP status code of the reply.
    pub fn status(&self) -> u16 {
        match self {
            Reply::Reqwest(r) => r.status().as_u16(),
            Reply::Direct(r) => r.status(),
        }
    }

    /// The first header called `name`.
    pub fn header(&self, name: &HeaderName) -> Option<HeaderValue> {
        match self {
            Reply::Reqwest(r) => r.headers().get(name).cloned(),
            Reply::Direct(r) => r.header(name),
        }
    }

    /// The `Content-Length` the reply announced, if any.
    pub fn content_length(&self) -> Option<u64> {
        match self {
            Reply::Reqwest(r) => r.content_length(),
            Reply::Direct(r) => r.content_length(),
        }
    }

    /// The next piece of the body (`None` at its end); an error is classified and described.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, (OutcomeKind, String)> {
        match self {
            Reply::Reqwest(r) => r.chunk().await.map_err(|e| map_reqwest(e, true)),
            Reply::Direct(r) => r.chunk().await,
        }
    }
}

/// The extra headers as a map of sensitive values (never logged).
pub fn extra_headers(extra: &[(String, crate::secret::Secret)]) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (k, v) in extra {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("invalid header name {k:?}"))?;
        let mut value = HeaderValue::from_str(v.expose())
            .map_err(|_| format!("invalid value for header {k:?}"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// The HTTP client of a client configuration (TLS, connection pool; headers go with each request).
pub fn client_for(config: &super::ClientConfig) -> Result<reqwest::Client, String> {
    build_client(
        config.ca_file.as_deref(),
        config.insecure,
        config.connect_timeout,
        config.max_connections,
    )
}

/// Builds the one reqwest client every MCP call shares (no default headers: see [`Http::headers`]).
pub fn build_client(
    ca_file: Option<&std::path::Path>,
    insecure: bool,
    connect_timeout: Duration,
    max_connections: usize,
) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(max_connections)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none());
    b = crate::tls::trust_ca(b, ca_file)?;
    if insecure {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build()
        .map_err(|e| format!("cannot build HTTP client: {}", error_chain(&e)))
}

/// An error and its sources on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// Classifies a reqwest error.
pub fn map_reqwest(e: reqwest::Error, reading_body: bool) -> (OutcomeKind, String) {
    let e = e.without_url();
    let kind = if e.is_timeout() {
        OutcomeKind::Timeout
    } else if e.is_connect() {
        OutcomeKind::Connect
    } else if reading_body || e.is_body() || e.is_decode() {
        OutcomeKind::Protocol
    } else {
        OutcomeKind::Connect
    };
    let what = if reading_body {
        "reading reply"
    } else {
        "sending request"
    };
    (kind, format!("{what}: {}", error_chain(&e)))
}

fn auth_failure(e: AuthError) -> Exchange {
    let kind = match e {
        AuthError::Status { .. } => OutcomeKind::HttpError,
        AuthError::Unreachable { .. } => OutcomeKind::Connect,
        AuthError::BadReply { .. } | AuthError::BadHeader | AuthError::Client(_) => {
            OutcomeKind::Protocol
        }
    };
    let status = if let AuthError::Status { status, .. } = e {
        Some(status)
    } else {
        None
    };
    let mut x = Exchange::failed(kind, e.to_string());
    x.status = status;
    x
}

fn parse_retry_after(v: &HeaderValue) -> Option<f64> {
    let s = v.to_str().ok()?.trim();
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

fn is_content_type(v: Option<&HeaderValue>, want: &str) -> bool {
    v.and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(want)
        })
        .unwrap_or(false)
}

impl Http {
    /// POSTs `body` to the MCP endpoint: on the direct path when there is one.
    async fn post(&self, body: Vec<u8>, h: &PostHeaders<'_>) -> Result<Reply<'_>, Exchange> {
        let Some(direct) = &self.direct else {
            return self
                .send_to(&self.url, reqwest::Method::POST, Some(body), h, ACCEPT_BOTH)
                .await
                .map(Reply::Reqwest);
        };
        let headers = self.request_headers(true, h, ACCEPT_BOTH).await?;
        direct
            .post(headers.iter(), body)
            .await
            .map(Reply::Direct)
            .map_err(|(kind, d)| Exchange::failed(kind, self.auth.scrub(&d)))
    }

    /// The headers of an MCP request (see [`RequestHeaders`]), the credential fetched or refreshed.
    async fn request_headers<'a>(
        &'a self,
        with_body: bool,
        post: &'a PostHeaders<'a>,
        accept: HeaderValue,
    ) -> Result<RequestHeaders<'a>, Exchange> {
        Ok(RequestHeaders {
            extra: &self.headers,
            auth: self.auth.header().await.map_err(auth_failure)?,
            accept,
            with_body,
            post,
            traceparent: crate::telemetry::traceparent(),
        })
    }

    async fn send_to(
        &self,
        url: &reqwest::Url,
        method: reqwest::Method,
        body: Option<Vec<u8>>,
        h: &PostHeaders<'_>,
        accept: HeaderValue,
    ) -> Result<reqwest::Response, Exchange> {
        let headers = self.request_headers(body.is_some(), h, accept).await?;
        let mut req = self
            .client
            .request(method, url.clone())
            .headers(headers.to_map());
        if let Some(b) = body {
            req = req.body(b);
        }
        req.send().await.map_err(|e| {
            let (kind, d) = map_reqwest(e, false);
            Exchange::failed(kind, self.auth.scrub(&d))
        })
    }

    /// Reads at most `cap` bytes of an error body.
    async fn peek_body(&self, resp: &mut Reply<'_>, cap: usize) -> (Vec<u8>, u64) {
        let mut buf = Vec::new();
        let mut total = 0u64;
        while let Ok(Some(chunk)) = resp.chunk().await {
            total += chunk.len() as u64;
            let room = cap.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if buf.len() >= cap {
                break;
            }
        }
        (buf, total)
    }

    /// Turns an HTTP error reply into an exchange (session expiry recognised when a session was sent).
    ///
    /// A 4xx (other than 401/403/408/429) whose body is a JSON-RPC error for our `id` is an
    /// [`OutcomeKind::RpcError`] with the status kept: stateless-era servers map JSON-RPC errors onto
    /// HTTP statuses (404 for method-not-found), and the code is the more precise answer.
    async fn http_error(
        &self,
        mut resp: Reply<'_>,
        session_sent: bool,
        id: Option<u64>,
    ) -> Exchange {
        let status = resp.status();
        let retry_after = resp
            .header(&RETRY_AFTER)
            .as_ref()
            .and_then(parse_retry_after);
        let (body, bytes) = self.peek_body(&mut resp, ERROR_BODY_PEEK).await;
        let text = String::from_utf8_lossy(&body);
        let snippet: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet = self.auth.scrub(jsonrpc::truncate(&snippet, 150));
        #[derive(serde::Deserialize)]
        struct ErrBody {
            #[serde(default)]
            id: Option<serde_json::Value>,
            error: RpcErrorObj,
        }
        let parsed = serde_json::from_slice::<ErrBody>(&body).ok();
        let ours = parsed.as_ref().is_some_and(|b| match (&b.id, id) {
            (Some(serde_json::Value::Number(n)), Some(id)) => n.as_u64() == Some(id),
            _ => false,
        });
        let error = parsed.map(|b| b.error);
        let expired = session_sent
            && (status == 404 || (status == 400 && text.to_ascii_lowercase().contains("session")));
        let rpc = ours && (400..500).contains(&status) && ![401, 403, 408, 429].contains(&status);
        if !expired
            && rpc
            && let Some(err) = error
        {
            let mut x = Exchange::failed(
                OutcomeKind::RpcError,
                format!(
                    "HTTP {status}: {}: {}",
                    err.code,
                    self.auth.scrub(&err.message)
                ),
            );
            x.status = Some(status);
            x.bytes = bytes;
            x.rpc_code = Some(err.code);
            x.error = Some(err);
            return x;
        }
        let kind = if expired {
            OutcomeKind::SessionExpired
        } else {
            OutcomeKind::HttpError
        };
        let mut x = Exchange::failed(kind, format!("HTTP {status}: {snippet}"));
        x.status = Some(status);
        x.bytes = bytes;
        x.retry_after = retry_after;
        x.error = error;
        x
    }

    /// POSTs one JSON-RPC request and classifies the reply (JSON or SSE). No timeout here: the
    /// caller bounds the whole call.
    pub async fn request(
        &self,
        id: u64,
        body: Vec<u8>,
        h: &PostHeaders<'_>,
        is_tool_call: bool,
        keep: bool,
    ) -> Exchange {
        let mut resp = match self.post(body, h).await {
            Ok(r) => r,
            Err(x) => return x,
        };
        let status = resp.status();
        if status >= 400 {
            return self.http_error(resp, h.session.is_some(), Some(id)).await;
        }
        let session_id = resp.header(&SESSION_ID);
        if let Some(len) = resp.content_length()
            && len > self.max_body as u64
        {
            return Exchange::failed(
                OutcomeKind::Protocol,
                format!(
                    "reply of {len} bytes exceeds the {} byte cap",
                    self.max_body
                ),
            )
            .with_status(status, 0);
        }
        let ct = resp.header(&CONTENT_TYPE);
        let ct = ct.as_ref();
        if is_content_type(ct, "application/json") {
            let mut buf = Vec::with_capacity(
                resp.content_length()
                    .unwrap_or(1024)
                    .min(self.max_body as u64) as usize,
            );
            loop {
                match resp.chunk().await {
                    Ok(Some(c)) => {
                        if buf.len() + c.len() > self.max_body {
                            return Exchange::failed(
                                OutcomeKind::Protocol,
                                format!("reply exceeds the {} byte cap", self.max_body),
                            )
                            .with_status(status, (buf.len() + c.len()) as u64);
                        }
                        buf.extend_from_slice(&c);
                    }
                    Ok(None) => break,
                    Err((k, d)) => {
                        return Exchange::failed(k, d).with_status(status, buf.len() as u64);
                    }
                }
            }
            let bytes = buf.len() as u64;
            return match jsonrpc::classify_message(&buf, id, is_tool_call, keep) {
                Message::Response(c) => Exchange::from_classified(c, status, bytes, session_id),
                Message::OtherResponse => Exchange::failed(
                    OutcomeKind::Protocol,
                    "reply id does not match the request id",
                )
                .with_status(status, bytes),
                Message::ServerMessage => Exchange::failed(
                    OutcomeKind::Protocol,
                    "JSON reply is a server message, not a response",
                )
                .with_status(status, bytes),
            };
        }
        if is_content_type(ct, "text/event-stream") {
            return self
                .read_sse(resp, id, status, session_id, is_tool_call, keep)
                .await;
        }
        if status == 202 || status == 204 {
            return Exchange::failed(
                OutcomeKind::Protocol,
                format!("HTTP {status} without a reply to a request"),
            )
            .with_status(status, 0);
        }
        let ct = ct.and_then(|v| v.to_str().ok()).unwrap_or("none");
        let ct = jsonrpc::truncate(ct, 60).to_owned();
        Exchange::failed(
            OutcomeKind::Protocol,
            format!("unexpected content type {ct} (HTTP {status})"),
        )
        .with_status(status, 0)
    }

    async fn read_sse(
        &self,
        mut resp: Reply<'_>,
        id: u64,
        status: u16,
        session_id: Option<HeaderValue>,
        is_tool_call: bool,
        keep: bool,
    ) -> Exchange {
        let mut parser = SseParser::new(self.max_body);
        let mut bytes = 0u64;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    return Exchange::failed(
                        OutcomeKind::Protocol,
                        "SSE stream ended before the response",
                    )
                    .with_status(status, bytes);
                }
                Err((k, d)) => {
                    return Exchange::failed(k, format!("SSE {d}")).with_status(status, bytes);
                }
            };
            bytes += chunk.len() as u64;
            if bytes > self.max_body as u64 {
                return Exchange::failed(
                    OutcomeKind::Protocol,
                    format!("SSE reply exceeds the {} byte cap", self.max_body),
                )
                .with_status(status, bytes);
            }
            parser.push(&chunk);
            loop {
                let ev = match parser.next_event() {
                    Ok(Some(ev)) => ev,
                    Ok(None) => break,
                    Err(e) => {
                        return Exchange::failed(OutcomeKind::Protocol, e.to_string())
                            .with_status(status, bytes);
                    }
                };
                if ev.data.is_empty() || ev.event.as_deref().is_some_and(|t| t != "message") {
                    continue; // priming, keep-alive, or an event type that is not a JSON-RPC message
                }
                match jsonrpc::classify_message(ev.data.as_bytes(), id, is_tool_call, keep) {
                    Message::Response(c) => {
                        return Exchange::from_classified(c, status, bytes, session_id);
                    }
                    Message::OtherResponse => {
                        return Exchange::failed(
                            OutcomeKind::Protocol,
                            "SSE response id does not match the request id",
                        )
                        .with_status(status, bytes);
                    }
                    Message::ServerMessage => {}
                }
            }
        }
    }

    /// POSTs a notification (or a response); any 2xx is fine.
    pub async fn notify(&self, body: Vec<u8>, h: &PostHeaders<'_>) -> Exchange {
        let resp = match self.post(body, h).await {
            Ok(r) => r,
            Err(x) => return x,
        };
        let status = resp.status();
        if status >= 400 {
            return self.http_error(resp, h.session.is_some(), None).await;
        }
        let mut x = Exchange::failed(OutcomeKind::Ok, "");
        x.detail = None;
        x.status = Some(status);
        x
    }

    /// Opens a legacy SSE stream (`GET` with `Accept: text/event-stream`); HTTP errors are exchanges.
    pub async fn get_stream(&self) -> Result<reqwest::Response, Exchange> {
        let accept = HeaderValue::from_static("text/event-stream");
        let resp = self
            .send_to(
                &self.url,
                reqwest::Method::GET,
                None,
                &PostHeaders::default(),
                accept,
            )
            .await?;
        if resp.status().as_u16() >= 400 {
            return Err(self.http_error(Reply::Reqwest(resp), false, None).await);
        }
        if !is_content_type(resp.headers().get(CONTENT_TYPE), "text/event-stream") {
            return Err(Exchange::failed(
                OutcomeKind::Protocol,
                "SSE endpoint did not answer text/event-stream",
            ));
        }
        Ok(resp)
    }

    /// POSTs a message to a legacy endpoint; the reply comes on the stream. Returns the status.
    pub async fn post_legacy(&self, url: &reqwest::Url, body: Vec<u8>) -> Result<u16, Exchange> {
        let resp = self
            .send_to(
                url,
                reqwest::Method::POST,
                Some(body),
                &PostHeaders::default(),
                ACCEPT_BOTH,
            )
            .await?;
        let status = resp.status().as_u16();
        if status >= 400 {
            return Err(self.http_error(Reply::Reqwest(resp), true, None).await);
        }
        Ok(status)
    }

    /// DELETEs a session; returns the status (405 is a fine answer).
    pub async fn delete(&self, h: &PostHeaders<'_>) -> Option<u16> {
        let fut = self.send_to(&self.url, reqwest::Method::DELETE, None, h, ACCEPT_BOTH);
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(r)) => Some(r.status().as_u16()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_headers_put_the_credential_in_place_of_an_extra_one() {
        let mut extra = HeaderMap::new();
        extra.insert("authorization", HeaderValue::from_static("Basic old"));
        extra.insert("x-extra", HeaderValue::from_static("1"));
        let session = HeaderValue::from_static("s-1");
        let post = PostHeaders {
            session: Some(&session),
            ..PostHeaders::default()
        };
        let headers = RequestHeaders {
            extra: &extra,
            auth: Some((
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_static("Bearer new"),
            )),
            accept: ACCEPT_BOTH,
            with_body: true,
            post: &post,
            traceparent: None,
        };
        let sent: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let want = [
            ("x-extra", "1"),
            ("authorization", "Bearer new"),
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
            ("mcp-session-id", "s-1"),
        ];
        assert_eq!(
            sent,
            want.map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec()
        );
        assert_eq!(headers.to_map().len(), want.len());
    }
}
