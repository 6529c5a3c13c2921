//! The plain-HTTP hot path: MCP POSTs on HTTP/1.1 keep-alive connections of our own, with the
//! target parsed once and the framing in [`super::http1`].
//!
//! reqwest costs a call ~22,000 instructions before hyper sees it (profiled with callgrind): the
//! URL is parsed again for its redirect layer and its response, the request crosses a retry and a
//! redirect layer, and its pool keys every checkout by scheme and authority. hyper's client
//! connection then costs ~13,000 more: a request channel to its connection state machine, the
//! head encoded through its generic writer, the reply head parsed into a fresh header map and the
//! body handed back frame by frame through a second channel. None of that does anything for a
//! soak's POSTs to one `http://` origin, so they go here instead: the origin-form path and `Host`
//! are built once; a call takes an idle connection (or dials one), writes its request with one
//! `write`, and reads the reply off the socket itself into the connection's buffer. reqwest keeps
//! everything else — TLS, proxies (`HTTP_PROXY`/`ALL_PROXY`), legacy SSE streams, DELETE, OAuth —
//! so [`Direct::for_url`] declines an `https://` target or one a proxy variable may route.
//!
//! Connections: one request at a time each (HTTP/1.1, no pipelining), owned by the call that
//! holds it, so reading the reply wakes that call and nothing else. A connection goes back to the
//! pool when its reply is dropped, unless the reply said it closes (`Connection: close`, HTTP/1.0,
//! a body that ends with the connection) or failed to frame; a reply dropped before its body's end
//! (an SSE stream once our response is in, a body cut at the cap, a call past its deadline) goes
//! back with what is left to read. The next checkout reads that rest if it has arrived, without
//! waiting, then peeks at the socket (Linux: `recv` with `MSG_PEEK | MSG_DONTWAIT`): the runtime's
//! readiness is only as fresh as its last look at epoll, and a close the server sent since is
//! already in the kernel. A connection with a body still arriving, stray bytes, or a close is
//! dropped, never waited on. The number on the wire is bounded by the caller's permits
//! (`max_connections`). A request whose write fails on a pooled connection never reached a
//! server that could answer it, so it is written once more on another connection: this is not a
//! retry of a call.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::OutcomeKind;
use super::http1::{self, Body, Step};

/// Proxy variables reqwest honours for `http://` targets: any of them set keeps calls on reqwest.
const PROXY_VARS: [&str; 4] = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// Room made in a connection's read buffer before each read.
const READ_ROOM: usize = 8 * 1024;

/// Most of an abandoned body a checkout reads to save its connection; a longer rest closes it.
const DRAIN_MAX: usize = 64 * 1024;

/// A plain-HTTP origin and its idle connections.
pub struct Direct {
    /// `host:port` to dial (brackets stripped from an IPv6 literal).
    host: String,
    port: u16,
    /// The request target, origin-form (`/mcp?x=y`).
    path: String,
    /// `Host` of every request.
    authority: String,
    connect_timeout: Duration,
    #[expect(
        clippy::vec_box,
        reason = "a pooled connection moves into a call and back: a pointer, not its buffers"
    )]
    idle: Mutex<Vec<Box<Conn>>>,
}

/// One keep-alive connection and its buffers (boxed: it moves between the pool and calls).
struct Conn {
    stream: TcpStream,
    /// Read off the socket and not yet taken: a reply head, body framing, body data.
    read: BytesMut,
    /// The request being written (kept for the next one).
    write: Vec<u8>,
    /// What is left of the last reply's body when its reader stopped before the end.
    unread: Option<Body>,
}

impl Conn {
    fn new(stream: TcpStream) -> Box<Conn> {
        Box::new(Conn {
            stream,
            read: BytesMut::with_capacity(READ_ROOM),
            write: Vec::with_capacity(512),
            unread: None,
        })
    }

    /// Reads more off the socket into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        self.read.reserve(READ_ROOM / 8);
        self.stream.read_buf(&mut self.read).await
    }

    /// Writes the request in `self.write`.
    async fn send(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.write).await
    }

    /// The next reply head (interim 1xx heads skipped). A close or a failure before a whole head
    /// is `connect` (the request may not have been read), a head that is not HTTP `protocol`.
    async fn head(&mut self) -> Result<http1::Head, (OutcomeKind, String)> {
        loop {
            match http1::parse_head(&mut self.read) {
                Ok(Some(head)) if !head.is_interim() => return Ok(head),
                // An interim head: the next one may be buffered already.
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => return Err((OutcomeKind::Protocol, format!("reading reply: {e}"))),
            }
            match self.fill().await {
                Ok(0) => {
                    return Err((
                        OutcomeKind::Connect,
                        "sending request: connection closed before the reply".into(),
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err((OutcomeKind::Connect, format!("sending request: {e}"))),
            }
        }
    }

    /// Ready for a request now: what was left of the last body read if it has arrived (without
    /// waiting), nothing else buffered, and no close or stray bytes waiting on the socket.
    fn ready_now(&mut self) -> bool {
        if let Some(mut body) = self.unread.take() {
            let mut budget = DRAIN_MAX;
            loop {
                match body.next(&mut self.read) {
                    Ok(Step::Data(d)) if d.len() <= budget => budget -= d.len(),
                    Ok(Step::End) => break,
                    Ok(Step::More) if self.read_now() => {}
                    _ => return false,
                }
            }
        }
        self.read.is_empty() && self.quiet_socket()
    }

    /// Whatever the kernel holds for this socket, read without waiting; false when there was
    /// nothing (or the stream ended, or failed).
    #[cfg(target_os = "linux")]
    fn read_now(&mut self) -> bool {
        use rustix::net::{RecvFlags, recv};
        let mut room = [0u8; 4096];
        match recv(&self.stream, &mut room[..], RecvFlags::DONTWAIT) {
            Ok((n, _)) if n > 0 => {
                self.read.extend_from_slice(&room[..n]);
                true
            }
            _ => false,
        }
    }

    /// Elsewhere, what the runtime has seen of the socket.
    #[cfg(not(target_os = "linux"))]
    fn read_now(&mut self) -> bool {
        matches!(self.stream.try_read_buf(&mut self.read), Ok(n) if n > 0)
    }

    /// Nothing to read on the idle socket: no close (end of stream or reset) and no stray bytes.
    /// Asks the kernel (`recv` with `MSG_PEEK | MSG_DONTWAIT`, nothing consumed) rather than the
    /// runtime, whose readiness for this socket is only as fresh as its last look at epoll: a
    /// server's close that arrived since is in the kernel already.
    #[cfg(target_os = "linux")]
    fn quiet_socket(&self) -> bool {
        use rustix::net::{RecvFlags, recv};
        let mut byte = [0u8; 1];
        matches!(
            recv(
                &self.stream,
                &mut byte[..],
                RecvFlags::PEEK | RecvFlags::DONTWAIT
            ),
            Err(rustix::io::Errno::AGAIN)
        )
    }

    /// Elsewhere the runtime's view is all there is.
    #[cfg(not(target_os = "linux"))]
    fn quiet_socket(&self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A reply whose connection returns to the pool when it is dropped.
pub struct Reply<'a> {
    /// Its head; `head.body` is what is left of the body, `head.keep_alive` turns false when the
    /// connection must not carry another request.
    head: http1::Head,
    /// Taken when the reply is dropped.
    conn: Option<Box<Conn>>,
    pool: &'a Direct,
}

impl Drop for Reply<'_> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.head.keep_alive {
            return;
        }
        // What is already buffered of the rest of the body is taken now; the rest at checkout.
        loop {
            match self.head.body.next(&mut conn.read) {
                Ok(Step::Data(_)) => {}
                Ok(Step::End) => break,
                Ok(Step::More) => {
                    conn.unread = Some(std::mem::replace(&mut self.head.body, Body::empty()));
                    break;
                }
                Err(_) => return,
            }
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(conn);
        }
    }
}

impl Reply<'_> {
    /// HTTP status code of the reply.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The body's length when the server announced it.
    pub fn content_length(&self) -> Option<u64> {
        self.head.length
    }

    /// The first header called `name`.
    pub fn header(&self, name: &HeaderName) -> Option<HeaderValue> {
        self.head.header(name)
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, (OutcomeKind, String)> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(None);
        };
        let read = next_piece(&mut self.head, conn).await;
        read.map_err(|why| {
            // A body that cannot be read on: its connection is not reused.
            self.head.keep_alive = false;
            (OutcomeKind::Protocol, format!("reading reply: {why}"))
        })
    }
}

/// The next piece of `head`'s body, read off `conn` as needed.
async fn next_piece(head: &mut http1::Head, conn: &mut Conn) -> Result<Option<Bytes>, String> {
    loop {
        match head.body.next(&mut conn.read).map_err(|e| e.to_string())? {
            Step::Data(data) => return Ok(Some(data)),
            Step::End => return Ok(None),
            Step::More => {}
        }
        if conn.fill().await.map_err(|e| e.to_string())? == 0 {
            head.keep_alive = false;
            head.body.at_eof().map_err(|e| e.to_string())?;
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
            path,
            authority,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// POSTs `body` with `headers` (everything but `Host` and `Content-Length`) and returns the
    /// reply head; the error is classified as reqwest's would be (connect, timeout) and described.
    pub async fn post<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
        body: Vec<u8>,
    ) -> Result<Reply<'_>, (OutcomeKind, String)> {
        let (mut conn, mut fresh) = self.checkout().await?;
        conn.write.clear();
        http1::write_post(
            &mut conn.write,
            &self.path,
            self.authority.as_bytes(),
            headers,
            &body,
        );
        while let Err(e) = conn.send().await {
            if fresh {
                return Err((OutcomeKind::Connect, format!("sending request: {e}")));
            }
            // A pooled connection that closed under us: nothing reached a server that could
            // answer. The same request, once more, on another connection.
            let request = std::mem::take(&mut conn.write);
            (conn, fresh) = self.checkout().await?;
            conn.write = request;
        }
        let head = conn.head().await?;
        Ok(Reply {
            head,
            conn: Some(conn),
            pool: self,
        })
    }

    /// A connection for the next request, and whether it was dialled for it (not pooled).
    async fn checkout(&self) -> Result<(Box<Conn>, bool), (OutcomeKind, String)> {
        match self.idle_conn() {
            Some(conn) => Ok((conn, false)),
            None => Ok((self.dial().await?, true)),
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

    /// A new connection (TCP_NODELAY), read and written by the call that dialled it.
    async fn dial(&self) -> Result<Box<Conn>, (OutcomeKind, String)> {
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                Ok(Conn::new(stream))
            }
            Ok(Err(e)) => Err((
                OutcomeKind::Connect,
                format!("sending request: connecting: {e}"),
            )),
            Err(_) => Err((
                OutcomeKind::Timeout,
                format!(
                    "sending request: connecting: no connection within {:?}",
                    self.connect_timeout
                ),
            )),
        }
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
