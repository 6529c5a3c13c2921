//! The plain-HTTP hot path: MCP POSTs on hyper's HTTP/1.1 client connections directly, with the
//! target parsed once and a small keep-alive pool of our own.
//!
//! reqwest costs a call ~22,000 instructions before hyper sees it (profiled with callgrind): the
//! URL is parsed again for its redirect layer and its response, the request crosses a retry and a
//! redirect layer, and its pool keys every checkout by scheme and authority. None of that does
//! anything for a soak's POSTs to one `http://` origin, so they go here instead: the origin-form
//! path and `Host` are built once, each call clones a ready header map, takes an idle connection
//! (or dials one) and hands hyper the request. reqwest keeps everything else — TLS, proxies
//! (`HTTP_PROXY`/`ALL_PROXY`), legacy SSE streams, DELETE, OAuth — so [`Direct::for_url`] declines
//! an `https://` target or one a proxy variable may route.
//!
//! Connections: at most one request at a time each (HTTP/1.1, no pipelining). A connection goes
//! back to the pool when its reply is dropped, and is taken again only once hyper says it is ready
//! for the next request (the previous body fully read; a connection whose body was abandoned is
//! closed by hyper and skipped). The number on the wire is bounded by the caller's permits
//! (`max_connections`). A request that hyper hands back unsent (its pooled connection closed
//! before the request was written) is sent once on a fresh connection: it never reached the server,
//! so this is not a retry of a call.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, HeaderMap, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::OutcomeKind;
use super::transport::error_chain;

/// Proxy variables reqwest honours for `http://` targets: any of them set keeps calls on reqwest.
const PROXY_VARS: [&str; 4] = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// A plain-HTTP origin and its idle connections.
pub struct Direct {
    /// `host:port` to dial (brackets stripped from an IPv6 literal).
    host: String,
    port: u16,
    /// The request target, origin-form (`/mcp?x=y`).
    path: Uri,
    /// `Host` of every request.
    authority: HeaderValue,
    connect_timeout: Duration,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// A reply whose connection returns to the pool when it is dropped.
pub struct Reply<'a> {
    /// HTTP status code of the reply.
    pub status: u16,
    /// The reply's headers; the body is read with [`Reply::chunk`].
    pub headers: HeaderMap,
    body: Incoming,
    conn: Option<SendRequest<Full<Bytes>>>,
    pool: &'a Direct,
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(conn);
        }
    }
}

impl Reply<'_> {
    /// The body's length when the server announced it.
    pub fn content_length(&self) -> Option<u64> {
        hyper::body::Body::size_hint(&self.body).exact()
    }

    /// The next piece of the body; `None` at its end. Trailers are skipped.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, (OutcomeKind, String)> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
                Some(Err(e)) => {
                    let kind = if e.is_timeout() {
                        OutcomeKind::Timeout
                    } else {
                        OutcomeKind::Protocol
                    };
                    return Err((kind, format!("reading reply: {}", error_chain(&e))));
                }
            }
        }
    }
}

impl Direct {
    /// The direct path for `url`, or None when reqwest must carry it (not `http://`, a proxy
    /// variable set, credentials in the URL, no host).
    pub fn for_url(url: &reqwest::Url, connect_timeout: Duration) -> Option<Direct> {
        let proxied = PROXY_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        Self::plain(url, connect_timeout, proxied)
    }

    fn plain(url: &reqwest::Url, connect_timeout: Duration, proxied: bool) -> Option<Direct> {
        if url.scheme() != "http"
            || proxied
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Some(Direct {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            path: path.parse().ok()?,
            authority: HeaderValue::from_str(&authority).ok()?,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// POSTs `body` with `headers` (everything but `Host`) and returns the reply head; the
    /// error is classified as reqwest's would be (connect, timeout) and described.
    pub async fn post(
        &self,
        mut headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Reply<'_>, (OutcomeKind, String)> {
        headers.insert(HOST, self.authority.clone());
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = headers;
        let mut fresh = false;
        loop {
            let mut conn = match self.idle_conn().await {
                Some(c) => c,
                None => {
                    fresh = true;
                    self.dial().await?
                }
            };
            match conn.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    return Ok(Reply {
                        status: parts.status.as_u16(),
                        headers: parts.headers,
                        body,
                        conn: Some(conn),
                        pool: self,
                    });
                }
                Err(mut e) => match e.take_message() {
                    // Never written: a pooled connection that closed under us. Once more, fresh.
                    Some(unsent) if !fresh => req = unsent,
                    _ => {
                        let e = e.into_error();
                        let kind = if e.is_timeout() {
                            OutcomeKind::Timeout
                        } else {
                            OutcomeKind::Connect
                        };
                        return Err((kind, format!("sending request: {}", error_chain(&e))));
                    }
                },
            }
        }
    }

    /// An idle connection that is ready for a request, closed ones dropped on the way.
    async fn idle_conn(&self) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let mut conn = self.idle.lock().ok()?.pop()?;
            if conn.is_ready() || conn.ready().await.is_ok() {
                return Some(conn);
            }
        }
    }

    /// A new connection (TCP_NODELAY, HTTP/1.1); its driver runs as its own task.
    async fn dial(&self) -> Result<SendRequest<Full<Bytes>>, (OutcomeKind, String)> {
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err((
                    OutcomeKind::Connect,
                    format!("sending request: connecting: {e}"),
                ));
            }
            Err(_) => {
                return Err((
                    OutcomeKind::Timeout,
                    format!(
                        "sending request: connecting: no connection within {:?}",
                        self.connect_timeout
                    ),
                ));
            }
        };
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| {
                (
                    OutcomeKind::Connect,
                    format!("sending request: {}", error_chain(&e)),
                )
            })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(url: &str, proxied: bool) -> Option<Direct> {
        let url = reqwest::Url::parse(url).expect("url");
        Direct::plain(&url, Duration::from_secs(1), proxied)
    }

    #[test]
    fn only_plain_unproxied_http_goes_direct() {
        let d = direct("http://127.0.0.1:8080/mcp?x=1", false).expect("direct");
        assert_eq!((d.host.as_str(), d.port), ("127.0.0.1", 8080));
        assert_eq!(d.path, "/mcp?x=1");
        assert_eq!(d.authority, "127.0.0.1:8080");
        let d = direct("http://[::1]/mcp", false).expect("direct");
        assert_eq!((d.host.as_str(), d.port), ("::1", 80));
        assert_eq!(d.authority, "[::1]");
        assert!(direct("https://127.0.0.1/mcp", false).is_none(), "TLS");
        assert!(direct("http://127.0.0.1/mcp", true).is_none(), "proxy");
        assert!(
            direct("http://u:p@127.0.0.1/mcp", false).is_none(),
            "userinfo"
        );
    }
}
