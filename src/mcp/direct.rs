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
//! Connections: at most one request at a time each (HTTP/1.1, no pipelining). hyper's connection
//! state machine (the part that writes the request and reads the reply off the socket) is not a
//! task of its own: the call that holds a connection polls it beside its own futures — the reply
//! head, then each body frame — so a call costs no hop to a second task and back (three polls of
//! a second task per JSON call gone; BENCHMARKS.md has what that buys). Between calls nobody
//! polls it; the next checkout polls it once, which is when it reads a server's close (or drains
//! what is left of an abandoned body, or closes), then peeks at the socket itself (Linux): the
//! runtime may not have seen a close the kernel already holds, and a request written onto it would
//! fail as a call. A connection that is not ready for a request after that poll and peek is
//! dropped, never waited on. A connection goes back to the pool when its reply is dropped, and is
//! closed with the call when the call is dropped (deadline, cancellation). The number on the wire
//! is bounded by the caller's permits (`max_connections`). A request that hyper hands back unsent
//! (its pooled connection closed before the request was written) is sent once on a fresh
//! connection: it never reached the server, so this is not a retry of a call.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, HeaderMap, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{Connection, SendRequest};
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
    #[expect(
        clippy::vec_box,
        reason = "a pooled connection moves into a call and back: a pointer, not the state machine"
    )]
    idle: Mutex<Vec<Box<Conn>>>,
}

/// One keep-alive connection: the request handle and the connection state machine behind it,
/// polled by whichever call holds them (boxed: the pair moves between the pool and calls).
struct Conn {
    send: SendRequest<Full<Bytes>>,
    driver: Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>,
    /// The state machine has finished (closed by either side, or failed): never reused.
    done: bool,
    /// The socket under `driver`, for [`Conn::quiet_socket`].
    #[cfg(target_os = "linux")]
    fd: std::os::fd::RawFd,
}

impl Conn {
    /// Polls the state machine unless it has finished; true once it has.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.done && Pin::new(&mut self.driver).poll(cx).is_ready() {
            self.done = true;
        }
        self.done
    }

    /// `fut` (a reply head or a body frame, which only the state machine can deliver), awaited
    /// while the connection is driven from this task. `fut` is polled with a waker that does
    /// nothing: the state machine (polled with this task's waker, so the socket wakes it) is what
    /// completes `fut`, and a channel wake-up from it would only poll this task once more for
    /// nothing. Once the state machine has finished, hyper has already resolved `fut` (an error or
    /// the end of the body); the task's own waker is then used, so nothing can hang.
    async fn with<F: Future>(&mut self, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            let mut quiet = Context::from_waker(Waker::noop());
            if let Poll::Ready(out) = fut.as_mut().poll(&mut quiet) {
                return Poll::Ready(out);
            }
            if self.drive(cx) {
                return fut.as_mut().poll(cx);
            }
            fut.as_mut().poll(&mut quiet)
        })
        .await
    }

    /// Ready for a request after one poll (a server's close or an abandoned body dealt with).
    /// The state machine is polled with a waker that does nothing: the request sent next would
    /// otherwise wake this very task through hyper's request channel, for one more poll of the
    /// whole call. Polled again with the task's waker as soon as the request is sent.
    fn ready_now(&mut self) -> bool {
        let mut quiet = Context::from_waker(Waker::noop());
        !self.drive(&mut quiet)
            && matches!(self.send.poll_ready(&mut quiet), Poll::Ready(Ok(())))
            && self.quiet_socket()
    }

    /// Nothing to read on the idle socket: no close (end of stream or reset) and no stray bytes.
    /// Asks the kernel (`recv` with `MSG_PEEK | MSG_DONTWAIT`, nothing consumed) rather than the
    /// runtime, whose readiness for this socket is only as fresh as its last look at epoll: a
    /// server's close that arrived since is in the kernel already, and one poll of the state
    /// machine would not see it.
    #[cfg(target_os = "linux")]
    fn quiet_socket(&self) -> bool {
        use rustix::net::{RecvFlags, recv};
        // SAFETY: `fd` belongs to the TcpStream inside `driver`, which `self` owns and which keeps
        // its stream until it is dropped (hyper hands it back from `into_parts` even after the
        // connection has finished), so the descriptor is open and is that socket while `self` is.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        let mut byte = [0u8; 1];
        matches!(
            recv(fd, &mut byte[..], RecvFlags::PEEK | RecvFlags::DONTWAIT),
            Err(rustix::io::Errno::AGAIN)
        )
    }

    /// Elsewhere the state machine's poll is all there is.
    #[cfg(not(target_os = "linux"))]
    fn quiet_socket(&self) -> bool {
        true
    }
}

/// A reply whose connection returns to the pool when it is dropped.
pub struct Reply<'a> {
    /// HTTP status code of the reply.
    pub status: u16,
    /// The reply's headers; the body is read with [`Reply::chunk`].
    pub headers: HeaderMap,
    body: Incoming,
    conn: Option<Box<Conn>>,
    pool: &'a Direct,
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        // Dropped mid-body too: the next checkout's poll drains the rest or closes it.
        if let Some(conn) = self.conn.take()
            && !conn.done
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
            let frame = match self.conn.as_mut() {
                Some(conn) => conn.with(self.body.frame()).await,
                None => self.body.frame().await,
            };
            match frame {
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
            let mut conn = match self.idle_conn() {
                Some(c) => c,
                None => {
                    fresh = true;
                    self.dial().await?
                }
            };
            let sent = conn.send.try_send_request(req);
            match conn.with(sent).await {
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
    fn idle_conn(&self) -> Option<Box<Conn>> {
        loop {
            let mut conn = self.idle.lock().ok()?.pop()?;
            if conn.ready_now() {
                return Some(conn);
            }
        }
    }

    /// A new connection (TCP_NODELAY, HTTP/1.1), driven by the call that dialled it.
    async fn dial(&self) -> Result<Box<Conn>, (OutcomeKind, String)> {
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
        #[cfg(target_os = "linux")]
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let (send, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| {
                (
                    OutcomeKind::Connect,
                    format!("sending request: {}", error_chain(&e)),
                )
            })?;
        Ok(Box::new(Conn {
            send,
            driver,
            done: false,
            #[cfg(target_os = "linux")]
            fd,
        }))
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
