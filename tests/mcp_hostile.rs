//! The client against a hostile in-process server: every misbehaviour ends in the right
//! OutcomeKind, sessions expire and come back, DELETEs are sent, tokens never leak.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use mcp_soak::mcp::{
    Auth, ClientConfig, McpClient, McpRequest, OutcomeKind, ProtocolChoice, SessionStrategy,
};
use mcp_soak::secret::Secret;
use serde_json::{Value, json};
use support::resp;

#[derive(Default)]
struct Seen {
    sessions: Mutex<HashSet<String>>,
    deletes: Mutex<Vec<String>>,
    auth: Mutex<Vec<String>>,
    next_session: AtomicU64,
    tokens_issued: AtomicU64,
    huge_served: AtomicU64,
}

type S = Arc<Seen>;

fn json_reply(id: &Value, result: Value) -> Response {
    resp(
        200,
        "application/json",
        json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
    )
}

async fn token(State(seen): State<S>, body: Bytes) -> Response {
    let form = String::from_utf8_lossy(&body);
    if !form.contains("grant_type=refresh_token")
        || !form.contains("refresh_token=REFRESH-SECRET")
        || !form.contains("client_id=soak")
    {
        return resp(400, "application/json", r#"{"error":"invalid_grant"}"#);
    }
    let n = seen.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    resp(200, "application/json", json!({"access_token": format!("ACCESS-SECRET-{n}"), "expires_in": 1, "token_type": "Bearer"}).to_string())
}

async fn handler(
    State(seen): State<S>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        seen.auth.lock().unwrap().push(a.to_owned());
    }
    let sid = headers
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if method == Method::DELETE {
        seen.deletes.lock().unwrap().push(sid.unwrap_or_default());
        return resp(200, "text/plain", "");
    }
    let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    let m = msg.get("method").and_then(Value::as_str).unwrap_or("");
    if path == "/echo401" {
        let a = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return resp(401, "text/plain", format!("rejected credential {a}"));
    }
    let stateless = path.starts_with("/stateless/");
    match m {
        "server/discover" if stateless => {
            return json_reply(
                &id,
                json!({"supportedVersions": ["2026-07-28"], "capabilities": {}, "resultType": "complete",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "hostile", "version": "0.0.1"}}}),
            );
        }
        "server/discover" => return resp(400, "text/plain", "Bad Request: no session"),
        "initialize" => {
            let n = seen.next_session.fetch_add(1, Ordering::SeqCst);
            let sid = format!("sess-{n}");
            seen.sessions.lock().unwrap().insert(sid.clone());
            let mut r = json_reply(
                &id,
                json!({"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {},
                "serverInfo": {"name": "hostile", "version": "0.0.1"}}),
            );
            r.headers_mut()
                .insert("mcp-session-id", sid.parse().unwrap());
            return r;
        }
        "notifications/initialized" => return resp(202, "text/plain", ""),
        _ => {}
    }
    if !stateless {
        let known = sid
            .as_ref()
            .is_some_and(|s| seen.sessions.lock().unwrap().contains(s));
        if !known {
            return if path == "/expire400" {
                resp(
                    400,
                    "application/json",
                    r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#,
                )
            } else {
                resp(404, "text/plain", "session not found")
            };
        }
    }
    let kind = path.trim_start_matches("/stateless");
    match kind {
        "/invalid-json" => resp(200, "application/json", "{\"jsonrpc\": \"2.0\", \"id\": "),
        "/html" => resp(
            500,
            "text/html",
            "<html><body><h1>Internal Server Error</h1></body></html>",
        ),
        "/html200" => resp(200, "text/html", "<html>hello</html>"),
        "/wrong-id" => json_reply(&json!(987654), json!({"content": []})),
        "/sse" => {
            let reply = json!({"jsonrpc": "2.0", "id": id, "result": {"content": [{"type": "text", "text": "fine"}]}});
            let body = format!(
                "id: p1\ndata:\n\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{}}}}\n\nevent: message\nid: 2\ndata: {reply}\n\nid: 3\ndata:\n\n"
            );
            resp(200, "text/event-stream", body)
        }
        "/sse-truncated" => resp(
            200,
            "text/event-stream",
            "id: p1\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":",
        ),
        "/sse-endless" => {
            let s = futures_util::stream::unfold(0u32, |n| async move {
                if n >= 300 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(b": keep-alive\n\n")),
                    n + 1,
                ))
            });
            resp(200, "text/event-stream", Body::from_stream(s))
        }
        // The first tools/call gets the huge body, every later one a plain reply.
        "/huge-once" if seen.huge_served.fetch_add(1, Ordering::SeqCst) > 0 => {
            json_reply(&id, json!({"content": [{"type": "text", "text": "ok"}]}))
        }
        "/huge" | "/huge-once" => {
            // 64 MiB of JSON, streamed without a Content-Length.
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let s = futures_util::stream::iter(
                (0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            resp(200, "application/json", Body::from_stream(s))
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json_reply(&id, json!({}))
        }
        "/tool-error" => json_reply(
            &id,
            json!({"isError": true, "content": [{"type": "text", "text": "upstream down"}]}),
        ),
        "/rpc-error" => resp(
            200,
            "application/json",
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "bad params"}})
                .to_string(),
        ),
        p if p.starts_with("/status/") => {
            let code: u16 = p["/status/".len()..].parse().unwrap_or(500);
            let mut r = resp(code, "text/plain", format!("status {code} for you"));
            if code == 429 || code == 503 {
                r.headers_mut().insert("retry-after", "7".parse().unwrap());
            }
            r
        }
        _ => json_reply(&id, json!({"content": [{"type": "text", "text": "ok"}]})),
    }
}

async fn start() -> (String, S) {
    let seen: S = Arc::default();
    let app = axum::Router::new()
        .route("/token", axum::routing::post(token))
        .fallback(handler)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn cfg(url: String) -> ClientConfig {
    ClientConfig {
        url,
        timeout: Duration::from_secs(2),
        sessions: 1,
        max_body_bytes: 1024 * 1024,
        ..ClientConfig::default()
    }
}

/// A client of the stateless generation (2026-07-28: no handshake to hold a connection) on `url`,
/// with at most `max_connections` connections.
async fn stateless_client(url: String, max_connections: usize) -> McpClient {
    let mut c = cfg(url);
    c.protocol = ProtocolChoice::Revision("2026-07-28".into());
    c.max_connections = max_connections;
    McpClient::connect(c).await.expect("connect")
}

fn tool() -> McpRequest {
    McpRequest::ToolsCall {
        name: "t".into(),
        arguments: json!({}),
    }
}

/// Connecting with `c` fails (the server answers 401 and echoes the credentials it got); the error's
/// Display and Debug contain none of `secrets`. Returns that text.
async fn rejected_without(c: &ClientConfig, secrets: &[&str]) -> String {
    let err = McpClient::connect(c.clone())
        .await
        .err()
        .expect("401 must fail");
    let text = format!("{err} {err:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    text
}

async fn outcome(base: &str, path: &str) -> mcp_soak::mcp::CallOutcome {
    let client = McpClient::connect(cfg(format!("{base}{path}")))
        .await
        .expect("connect");
    let o = client.call(&tool(), false).await;
    client.shutdown().await;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_replies_are_classified() {
    let (base, _seen) = start().await;
    let cases: &[(&str, OutcomeKind, Option<u16>)] = &[
        ("/ok", OutcomeKind::Ok, Some(200)),
        ("/sse", OutcomeKind::Ok, Some(200)),
        ("/tool-error", OutcomeKind::ToolError, Some(200)),
        ("/rpc-error", OutcomeKind::RpcError, Some(200)),
        ("/invalid-json", OutcomeKind::Protocol, Some(200)),
        ("/html", OutcomeKind::HttpError, Some(500)),
        ("/html200", OutcomeKind::Protocol, Some(200)),
        ("/wrong-id", OutcomeKind::Protocol, Some(200)),
        ("/sse-truncated", OutcomeKind::Protocol, Some(200)),
        ("/sse-endless", OutcomeKind::Timeout, None),
        ("/huge", OutcomeKind::Protocol, Some(200)),
        ("/slow", OutcomeKind::Timeout, None),
        ("/status/401", OutcomeKind::HttpError, Some(401)),
        ("/status/403", OutcomeKind::HttpError, Some(403)),
        ("/status/406", OutcomeKind::HttpError, Some(406)),
        ("/status/429", OutcomeKind::HttpError, Some(429)),
        ("/status/500", OutcomeKind::HttpError, Some(500)),
        ("/status/503", OutcomeKind::HttpError, Some(503)),
        // A 404 to a request that carried a session id means the session is gone.
        ("/status/404", OutcomeKind::SessionExpired, Some(404)),
        // Without a session (stateless era) a 404 is just an HTTP error.
        ("/stateless/status/404", OutcomeKind::HttpError, Some(404)),
        ("/stateless/sse", OutcomeKind::Ok, Some(200)),
        ("/stateless/wrong-id", OutcomeKind::Protocol, Some(200)),
    ];
    for (path, kind, status) in cases {
        let o = outcome(&base, path).await;
        assert_eq!(o.kind, *kind, "{path}: {o:?}");
        if o.kind != OutcomeKind::Timeout {
            assert_eq!(o.status, *status, "{path}: {o:?}");
        }
        assert!(
            o.detail.as_ref().is_none_or(|d| d.len() <= 200),
            "{path}: {o:?}"
        );
        if !kind.is_ok() {
            assert!(o.detail.is_some(), "{path}: {o:?}");
        }
    }
    let o = outcome(&base, "/status/429").await;
    assert_eq!(o.retry_after, Some(7.0));
    assert!(
        o.detail
            .as_deref()
            .is_some_and(|d| d.contains("status 429 for you")),
        "{o:?}"
    );
    // The huge body was cut at the cap, not read whole.
    let o = outcome(&base, "/huge").await;
    assert!(o.bytes <= 2 * 1024 * 1024, "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_is_unreachable_and_connect() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = McpClient::connect(cfg(format!("http://127.0.0.1:{port}/mcp")))
        .await
        .err()
        .expect("must fail");
    assert!(err.is_unreachable(), "{err}");

    // A connected client whose server goes away: the call is a Connect outcome.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (seen, _) = (Arc::new(Seen::default()), ());
    let app = axum::Router::new().fallback(handler).with_state(seen);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = stateless_client(
        format!("http://{addr}/stateless/ok"),
        ClientConfig::default().max_connections,
    )
    .await;
    server.abort();
    let _ = server.await;
    let mut last = None;
    for _ in 0..5 {
        let o = client.call(&tool(), false).await;
        if o.kind == OutcomeKind::Connect {
            last = Some(o);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = Some(o);
    }
    let o = last.expect("a call");
    assert_eq!(o.kind, OutcomeKind::Connect, "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_reinit_and_shutdown_deletes() {
    for path in ["/mcp", "/expire400"] {
        let (base, seen) = start().await;
        let mut c = cfg(format!("{base}{path}"));
        c.sessions = 2;
        let client = McpClient::connect(c).await.expect("connect");
        assert_eq!(client.session_stats().initialized, 2);
        for _ in 0..2 {
            assert_eq!(client.call(&tool(), false).await.kind, OutcomeKind::Ok);
        }
        seen.sessions.lock().unwrap().clear(); // the server forgets everything
        let a = client.call(&tool(), false).await;
        let b = client.call(&tool(), false).await;
        assert_eq!(
            (a.kind, b.kind),
            (OutcomeKind::SessionExpired, OutcomeKind::SessionExpired),
            "{path}: {a:?} {b:?}"
        );
        for _ in 0..4 {
            let o = client.call(&tool(), false).await;
            assert_eq!(o.kind, OutcomeKind::Ok, "{path}: {o:?}");
        }
        let s = client.session_stats();
        assert_eq!(
            (s.active, s.initialized, s.expired),
            (2, 4, 2),
            "{path}: {s:?}"
        );
        client.shutdown().await;
        client.shutdown().await;
        let mut deletes = seen.deletes.lock().unwrap().clone();
        deletes.sort();
        assert_eq!(
            deletes,
            vec!["sess-2".to_owned(), "sess-3".to_owned()],
            "{path}"
        );
        assert_eq!(client.session_stats().active, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_and_per_call_strategies_delete_sessions() {
    let (base, seen) = start().await;
    let mut c = cfg(format!("{base}/mcp"));
    c.session_strategy = SessionStrategy::Churn {
        calls_per_session: 2,
    };
    let client = McpClient::connect(c).await.expect("connect");
    for _ in 0..6 {
        assert_eq!(client.call(&tool(), false).await.kind, OutcomeKind::Ok);
    }
    client.shutdown().await;
    let s = client.session_stats();
    assert_eq!((s.initialized, s.active), (3, 0), "{s:?}");
    assert_eq!(seen.deletes.lock().unwrap().len(), 3);

    let (base, seen) = start().await;
    let mut c = cfg(format!("{base}/mcp"));
    c.session_strategy = SessionStrategy::PerCall;
    let client = McpClient::connect(c).await.expect("connect");
    for _ in 0..3 {
        assert_eq!(client.call(&tool(), false).await.kind, OutcomeKind::Ok);
    }
    client.shutdown().await;
    assert_eq!(client.session_stats().initialized, 4); // negotiation + one per call
    assert_eq!(seen.deletes.lock().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_offline_token_never_leak() {
    let (base, seen) = start().await;
    let mut c = cfg(format!("{base}/mcp"));
    c.auth = Auth::Bearer(Secret::new("BEARER-SECRET-123"));
    c.headers = vec![("x-api-key".into(), Secret::new("HEADER-SECRET-9"))];
    let client = McpClient::connect(c.clone()).await.expect("connect");
    assert_eq!(client.call(&tool(), false).await.kind, OutcomeKind::Ok);
    assert!(
        seen.auth
            .lock()
            .unwrap()
            .iter()
            .all(|a| a == "Bearer BEARER-SECRET-123")
    );
    client.shutdown().await;

    c.url = format!("{base}/echo401");
    let text = rejected_without(&c, &["BEARER-SECRET", "HEADER-SECRET"]).await;
    assert!(text.contains("401"), "{text}");
    assert!(!format!("{c:?}").contains("SECRET"));

    // Offline token: exchanged, sent, refreshed before expiry (expires_in = 1 s).
    let (base, seen) = start().await;
    let mut c = cfg(format!("{base}/mcp"));
    c.auth = Auth::OfflineToken {
        refresh_token: Secret::new("REFRESH-SECRET"),
        token_url: format!("{base}/token"),
        client_id: "soak".into(),
    };
    let client = McpClient::connect(c.clone())
        .await
        .expect("connect offline");
    assert_eq!(client.call(&tool(), false).await.kind, OutcomeKind::Ok);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let refreshed = client.call(&tool(), false).await;
    assert_eq!(refreshed.kind, OutcomeKind::Ok);
    // The refresh happened inside that call: timed apart, not part of its service time.
    assert!(refreshed.handshakes.spent[1].is_some(), "{refreshed:?}");
    let auths = seen.auth.lock().unwrap().clone();
    assert!(
        auths.contains(&"Bearer ACCESS-SECRET-1".to_owned()),
        "{auths:?}"
    );
    assert!(seen.tokens_issued.load(Ordering::SeqCst) >= 2, "{auths:?}");
    assert!(
        auths.iter().any(|a| a != "Bearer ACCESS-SECRET-1"),
        "{auths:?}"
    );
    client.shutdown().await;

    // A 401 that echoes the access token: the detail and the error never show it.
    c.url = format!("{base}/echo401");
    rejected_without(&c, &["ACCESS-SECRET", "REFRESH-SECRET"]).await;
    // A wrong refresh token: the call fails at the token endpoint, no secret in the error.
    c.url = format!("{base}/mcp");
    c.auth = Auth::OfflineToken {
        refresh_token: Secret::new("WRONG-SECRET"),
        token_url: format!("{base}/token"),
        client_id: "soak".into(),
    };
    let err = McpClient::connect(c)
        .await
        .err()
        .expect("bad grant must fail");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("400") && !text.contains("WRONG-SECRET"),
        "{text}"
    );
}

/// Listens on loopback, counts the connections it accepts and hands each to `serve` in a task.
async fn counting_listener<F, Fut>(serve: F) -> (String, Arc<AtomicU64>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicU64::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream));
        }
    });
    (format!("http://{addr}"), accepted)
}

/// Starts a TCP relay to `to` that counts the connections it accepts.
async fn counting_relay(to: String) -> (String, Arc<AtomicU64>) {
    counting_listener(move |mut inbound| {
        let to = to.clone();
        async move {
            if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reuse_keep_alive_connections_and_never_open_more_than_the_cap() {
    let (base, _seen) = start().await;
    let (relay, accepted) = counting_relay(base.trim_start_matches("http://").to_owned()).await;
    let client = stateless_client(format!("{relay}/stateless/ok"), 2).await;
    // One after another: the discover and every call share one connection.
    for _ in 0..30 {
        let o = client.call(&tool(), false).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one keep-alive connection"
    );
    // Many at once: the cap bounds the connections, and idle ones are reused.
    let request = tool();
    let calls = (0..60).map(|_| client.call(&request, false));
    for o in futures_util::future::join_all(calls).await {
        assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
    }
    let n = accepted.load(Ordering::SeqCst);
    assert!((1..=2).contains(&n), "{n} connections for a cap of 2");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_abandoned_half_way_does_not_spoil_the_next_call() {
    let (base, _seen) = start().await;
    let client = stateless_client(format!("{base}/stateless/huge-once"), 1).await;
    // Cut at the body cap: its connection is left mid-body and must not be handed out again as is.
    let o = client.call(&tool(), false).await;
    assert_eq!(o.kind, OutcomeKind::Protocol, "{o:?}");
    for _ in 0..3 {
        let o = client.call(&tool(), false).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
    }
    client.shutdown().await;
}

/// A relay whose connections are all cut when `cut` is sent; `closed` counts the cut ones.
async fn cutting_relay(
    to: String,
) -> (
    String,
    tokio::sync::watch::Sender<u32>,
    Arc<AtomicU64>,
    Arc<AtomicU64>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (cut, cuts) = tokio::sync::watch::channel(0u32);
    let (accepted, closed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (a, c) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let (to, c, mut cuts) = (to.clone(), c.clone(), cuts.clone());
            cuts.mark_unchanged();
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(to).await {
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                        _ = cuts.changed() => {}
                    }
                }
                drop(inbound);
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (format!("http://{addr}"), cut, accepted, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_server_closed_is_noticed_and_replaced() {
    let (base, _seen) = start().await;
    let (relay, cut, accepted, closed) =
        cutting_relay(base.trim_start_matches("http://").to_owned()).await;
    let client = stateless_client(format!("{relay}/stateless/ok"), 1).await;
    for round in 1..=3u64 {
        let o = client.call(&tool(), false).await;
        assert_eq!(o.kind, OutcomeKind::Ok, "round {round}: {o:?}");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            round,
            "one connection per round"
        );
        // The server side goes away while the client's connection sits idle in its pool.
        cut.send_modify(|n| *n += 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while closed.load(Ordering::SeqCst) < round {
            assert!(std::time::Instant::now() < deadline, "the relay never cut");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // Every cut connection was dropped from the pool: the next call dials a fresh one.
    let o = client.call(&tool(), false).await;
    assert_eq!(o.kind, OutcomeKind::Ok, "{o:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
    client.shutdown().await;
}

/// How a [`raw_server`] frames its reply to a tool call.
fn raw_reply(path: &str, json: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
    let cl = |extra: &str| {
        let head = format!("{ok}{extra}content-length: {}\r\n\r\n", json.len());
        vec![head.into_bytes(), json.to_vec()]
    };
    let (a, b) = json.split_at(json.len() / 2);
    let chunked = |first: &[u8], rest: &[u8]| {
        vec![
            format!("{ok}transfer-encoding: chunked\r\n\r\n").into_bytes(),
            format!("{:x};ext=1\r\n", first.len()).into_bytes(),
            [first, b"\r\n"].concat(),
            format!("{:X}\r\n", rest.len()).into_bytes(),
            [rest, b"\r\n0\r\n", b"x-trailer: 1\r\n\r\n"].concat(),
        ]
    };
    match path {
        "/interim-chunked" => {
            let mut v = vec![b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()];
            v.extend(chunked(a, b));
            (v, false)
        }
        "/until-close" => (vec![format!("{ok}\r\n").into_bytes(), json.to_vec()], true),
        "/close-header" => (cl("connection: close\r\n"), false),
        "/http10" => {
            let head = format!(
                "HTTP/1.0 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                json.len()
            );
            (vec![head.into_bytes(), json.to_vec()], true)
        }
        "/garbage" => (vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()], true),
        "/short" => (
            vec![
                format!("{ok}content-length: 500\r\n\r\n").into_bytes(),
                a.to_vec(),
            ],
            true,
        ),
        "/bad-chunk" => (
            vec![format!("{ok}transfer-encoding: chunked\r\n\r\nzz\r\n").into_bytes()],
            true,
        ),
        _ => (cl(""), false),
    }
}

/// A stateless-era server written on raw TCP: it answers `server/discover` plainly and every other
/// request as [`raw_reply`] frames it for the request's path, each piece its own write; `true`
/// closes the connection after the reply. Counts the connections it accepts.
async fn raw_server() -> (String, Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn read_more(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
        let mut more = [0u8; 4096];
        match s.read(&mut more).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                buf.extend_from_slice(&more[..n]);
                true
            }
        }
    }
    counting_listener(|mut s| async move {
        let _ = s.set_nodelay(true);
        let mut buf = Vec::new();
        loop {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                if !read_more(&mut s, &mut buf).await {
                    return;
                }
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                if !read_more(&mut s, &mut buf).await {
                    return;
                }
            }
            let msg: Value =
                serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
            buf.drain(..end + 4 + len);
            let discover = msg["method"] == "server/discover";
            let result = if discover {
                json!({"supportedVersions": ["2026-07-28"], "capabilities": {},
                    "resultType": "complete",
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "raw", "version": "0"}}})
            } else {
                json!({"content": [{"type": "text", "text": "ok"}]})
            };
            let body = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}).to_string();
            let (pieces, close) = raw_reply(if discover { "/" } else { &path }, body.as_bytes());
            for p in pieces {
                if s.write_all(&p).await.is_err() {
                    return;
                }
            }
            if close {
                return;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http1_framing_is_read_and_only_keep_alive_connections_are_reused() {
    let (base, accepted) = raw_server().await;
    // (path, outcome, connections for the discover and three calls: the discover's is kept open)
    let cases: &[(&str, OutcomeKind, u64)] = &[
        ("/plain", OutcomeKind::Ok, 1),
        ("/interim-chunked", OutcomeKind::Ok, 1),
        ("/until-close", OutcomeKind::Ok, 3),
        ("/close-header", OutcomeKind::Ok, 3),
        ("/http10", OutcomeKind::Ok, 3),
        ("/garbage", OutcomeKind::Protocol, 3),
        ("/short", OutcomeKind::Protocol, 3),
        ("/bad-chunk", OutcomeKind::Protocol, 3),
    ];
    for (path, kind, conns) in cases {
        let before = accepted.load(Ordering::SeqCst);
        let client = stateless_client(format!("{base}{path}"), 1).await;
        for _ in 0..3 {
            let o = client.call(&tool(), false).await;
            assert_eq!(o.kind, *kind, "{path}: {o:?}");
            if !kind.is_ok() {
                assert!(
                    o.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("reading reply")),
                    "{path}: {o:?}"
                );
            }
        }
        let used = accepted.load(Ordering::SeqCst) - before;
        assert_eq!(used, *conns, "{path}: connections");
        client.shutdown().await;
    }
}
