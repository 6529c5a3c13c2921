//! The mock MCP server driven with plain reqwest JSON-RPC: both protocol eras, payments, every fault
//! kind, Host/Origin checks, session expiry and the stats it keeps. Port 0, loopback only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mcp_soak::mock::{self, Degradation, ErrorRatios, Latency, MockConfig, MockHandle, Stall};
use serde_json::{Value, json};

const ACCEPT: &str = "application/json, text/event-stream";
const SESSION_VERSION: &str = "2025-11-25";
const STATELESS_VERSION: &str = "2026-07-28";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client builds")
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn start(cfg: MockConfig) -> MockHandle {
    mock::spawn(cfg, any_port()).await.expect("mock starts")
}

/// The JSON-RPC message in a reply body: plain JSON, or the SSE `data:` event that has an `id`.
fn parse_reply(content_type: &str, body: &str) -> Value {
    if content_type.starts_with("text/event-stream") {
        for line in body.lines() {
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                && v.get("id").is_some()
            {
                return v;
            }
        }
        panic!("no JSON-RPC response in SSE body: {body:?}");
    }
    serde_json::from_str(body).unwrap_or_else(|e| panic!("bad JSON body {body:?}: {e}"))
}

async fn reply(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.text().await.expect("body");
    (status, parse_reply(&ct, &body))
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS_VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "mock-test", "version": "0"}
    })
}

/// A stateless-era (2026-07-28) request: `_meta` in params and the standard headers.
async fn stateless(
    c: &reqwest::Client,
    url: &str,
    id: u64,
    method: &str,
    mut params: Value,
) -> reqwest::Response {
    params["_meta"] = meta();
    let mut req = c
        .post(url)
        .header("Accept", ACCEPT)
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", STATELESS_VERSION)
        .header("Mcp-Method", method);
    if let Some(name) = params.get("name").and_then(Value::as_str) {
        req = req.header("Mcp-Name", name);
    }
    req.json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .send()
        .await
        .expect("request sent")
}

async fn call(
    c: &reqwest::Client,
    url: &str,
    id: u64,
    tool: &str,
    args: Value,
) -> reqwest::Response {
    stateless(
        c,
        url,
        id,
        "tools/call",
        json!({"name": tool, "arguments": args}),
    )
    .await
}

async fn call_result(c: &reqwest::Client, url: &str, id: u64, tool: &str, args: Value) -> Value {
    let (status, v) = reply(call(c, url, id, tool, args).await).await;
    assert_eq!(status, 200, "{v}");
    v["result"].clone()
}

/// A session-era POST.
async fn session_post(
    c: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = c
        .post(url)
        .header("Accept", ACCEPT)
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", SESSION_VERSION);
    if let Some(s) = session {
        req = req.header("Mcp-Session-Id", s);
    }
    req.json(&body).send().await.expect("request sent")
}

/// A `tools/list` POST in `session`.
async fn tools_list_post(
    c: &reqwest::Client,
    url: &str,
    session: &str,
    id: u64,
) -> reqwest::Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"});
    session_post(c, url, Some(session), body).await
}

/// `tools/list` in `session`: status and parsed reply.
async fn tools_list(c: &reqwest::Client, url: &str, session: &str, id: u64) -> (u16, Value) {
    reply(tools_list_post(c, url, session, id).await).await
}

async fn initialize(c: &reqwest::Client, url: &str) -> String {
    let resp = session_post(
        c,
        url,
        None,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": SESSION_VERSION, "capabilities": {},
            "clientInfo": {"name": "mock-test", "version": "0"}}}),
    )
    .await;
    let session = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("Mcp-Session-Id header")
        .to_string();
    let (status, v) = reply(resp).await;
    assert_eq!(status, 200);
    assert_eq!(v["result"]["protocolVersion"], SESSION_VERSION, "{v}");
    assert_eq!(v["result"]["serverInfo"]["name"], "mcp-soak-mock");
    let resp = session_post(
        c,
        url,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 202);
    session
}

/// DELETEs `session`; the server must accept it.
async fn delete(c: &reqwest::Client, url: &str, session: &str) {
    let del = c
        .delete(url)
        .header("Mcp-Session-Id", session)
        .header("MCP-Protocol-Version", SESSION_VERSION)
        .send()
        .await
        .expect("delete sent");
    assert!(del.status().is_success(), "DELETE → {}", del.status());
}

#[tokio::test]
async fn session_era_initialize_list_call_delete() {
    let m = start(MockConfig::default()).await;
    let c = client();
    let session = initialize(&c, &m.url).await;

    let (status, v) = tools_list(&c, &m.url, &session, 1).await;
    assert_eq!(status, 200);
    let tools = v["result"]["tools"].as_array().expect("tools array");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in mock::TOOL_NAMES {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let create = tools
        .iter()
        .find(|t| t["name"] == "create_payment")
        .expect("create_payment");
    assert_eq!(create["annotations"]["destructiveHint"], true);
    assert_eq!(
        create["inputSchema"]["required"],
        json!(["amount", "currency", "method", "customer_id"])
    );
    let list = tools
        .iter()
        .find(|t| t["name"] == "list_clusters")
        .expect("list_clusters");
    assert_eq!(list["annotations"]["readOnlyHint"], true);

    let (status, v) = reply(
        session_post(
            &c,
            &m.url,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["result"]["content"][0]["text"], "hi", "{v}");
    assert_eq!(v["result"]["isError"], false);

    let (status, v) = reply(
        session_post(
            &c,
            &m.url,
            Some(&session),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_clusters", "arguments": {}}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let text = v["result"]["content"][0]["text"].as_str().expect("text");
    let parsed: Value = serde_json::from_str(text).expect("list_clusters text is JSON");
    assert!(parsed["clusters"].as_array().is_some_and(|a| !a.is_empty()));

    delete(&c, &m.url, &session).await;
    let after = tools_list_post(&c, &m.url, &session, 4).await;
    assert_eq!(after.status().as_u16(), 404);

    let s = m.stats();
    assert_eq!(s.sessions_created, 1);
    assert_eq!(s.deletes, 1);
    assert_eq!(s.calls_of("echo"), 1);
    assert_eq!(s.calls_of("list_clusters"), 1);
    assert_eq!(s.total_calls(), 2);
    assert!(s.http_requests >= 7, "{s:?}");
    m.shutdown().await;
}

/// Past `max_sessions` the mock refuses `initialize` as the PyPI `mcp` server does past its cap (503,
/// -32603 "Too many open sessions"), and one DELETE lets exactly one new session in.
#[tokio::test]
async fn past_its_session_cap_initialize_gets_503_until_a_session_is_deleted() {
    let m = start(MockConfig {
        max_sessions: Some(2),
        ..MockConfig::default()
    })
    .await;
    let c = client();
    let first = initialize(&c, &m.url).await;
    initialize(&c, &m.url).await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": SESSION_VERSION, "capabilities": {},
        "clientInfo": {"name": "mock-test", "version": "0"}}});
    let refused = session_post(&c, &m.url, None, init.clone()).await;
    assert!(refused.headers().get("mcp-session-id").is_none());
    let (status, v) = reply(refused).await;
    assert_eq!(status, 503);
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert_eq!(v["error"]["message"], "Too many open sessions");
    // The open sessions still work.
    assert_eq!(tools_list(&c, &m.url, &first, 1).await.0, 200);

    delete(&c, &m.url, &first).await;
    initialize(&c, &m.url).await;
    let again = session_post(&c, &m.url, None, init).await;
    assert_eq!(again.status().as_u16(), 503);

    let s = m.stats();
    assert_eq!((s.sessions_created, s.sessions_refused), (3, 2), "{s:?}");
    m.shutdown().await;
}

#[tokio::test]
async fn stateless_era_discover_and_call_sse_and_json() {
    for (stateless, json_response) in [(false, false), (true, true)] {
        let m = start(MockConfig {
            stateless,
            json_response,
            ..Default::default()
        })
        .await;
        let c = client();
        let resp = stateless_post_discover(&c, &m.url).await;
        assert!(resp.headers().get("mcp-session-id").is_none());
        let (status, v) = reply(resp).await;
        assert_eq!(status, 200, "{v}");
        let versions = v["result"]["supportedVersions"]
            .as_array()
            .expect("supportedVersions");
        assert!(versions.iter().any(|x| x == STATELESS_VERSION), "{v}");
        assert!(v["result"]["capabilities"]["tools"].is_object());

        let resp = call(&c, &m.url, 2, "echo", json!({"message": "stateless"})).await;
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if json_response {
            assert!(ct.starts_with("application/json"), "{ct}");
        }
        let (status, v) = reply(resp).await;
        assert_eq!(status, 200);
        assert_eq!(v["result"]["content"][0]["text"], "stateless", "{v}");
        assert_eq!(v["result"]["resultType"], "complete");
        assert_eq!(m.stats().sessions_created, 0);
        assert_eq!(m.stats().calls_of("echo"), 1);
    }
}

async fn stateless_post_discover(c: &reqwest::Client, url: &str) -> reqwest::Response {
    stateless(c, url, 1, "server/discover", json!({})).await
}

#[tokio::test]
async fn stateless_mode_still_answers_initialize_without_session() {
    let m = start(MockConfig {
        stateless: true,
        json_response: true,
        ..Default::default()
    })
    .await;
    let c = client();
    let resp = session_post(
        &c,
        &m.url,
        None,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
    )
    .await;
    assert!(resp.headers().get("mcp-session-id").is_none());
    let (status, v) = reply(resp).await;
    assert_eq!(status, 200);
    assert_eq!(v["result"]["protocolVersion"], SESSION_VERSION);
    let (status, v) = reply(
        session_post(
            &c,
            &m.url,
            None,
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "x"}}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["result"]["content"][0]["text"], "x");
}

#[tokio::test]
async fn payments_create_verify_and_validation() {
    let m = start(MockConfig::default()).await;
    let c = client();
    let r = call_result(
        &c,
        &m.url,
        1,
        "create_payment",
        json!({"amount": 42.5, "currency": "EUR", "method": "card", "customer_id": "cust_1", "idempotency_key": "k1"}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");
    let pid = r["structuredContent"]["payment_id"]
        .as_str()
        .expect("payment_id")
        .to_string();
    assert!(pid.starts_with("pay_"));
    assert_eq!(r["structuredContent"]["status"], "succeeded");
    let text: Value =
        serde_json::from_str(r["content"][0]["text"].as_str().expect("text")).expect("JSON text");
    assert_eq!(text["payment_id"], pid.as_str());

    let r = call_result(&c, &m.url, 2, "verify_payment", json!({"payment_id": pid})).await;
    assert_eq!(r["isError"], false, "{r}");
    let r = call_result(
        &c,
        &m.url,
        3,
        "verify_payment",
        json!({"payment_id": "pay_0123456789abcdef"}),
    )
    .await;
    assert_eq!(r["isError"], true, "{r}");

    for (i, bad) in [
        json!({"amount": -1, "currency": "EUR", "method": "card", "customer_id": "c"}),
        json!({"amount": 5, "currency": "EURO", "method": "card", "customer_id": "c"}),
        json!({"amount": 5, "currency": "EUR", "method": "cheque", "customer_id": "c"}),
        json!({"currency": "EUR", "method": "card", "customer_id": "c"}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = call_result(&c, &m.url, 10 + i as u64, "create_payment", bad.clone()).await;
        assert_eq!(r["isError"], true, "{bad} → {r}");
        assert!(
            r["content"][0]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    let r = call_result(
        &c,
        &m.url,
        20,
        "get_wallet_balance",
        json!({"customer_id": "cust_1", "currency": "USD"}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");
    assert!(r["structuredContent"]["balance"].is_number());
    assert_eq!(m.stats().calls_of("create_payment"), 5);
}

fn faults(errors: ErrorRatios) -> MockConfig {
    let mut cfg = MockConfig::default();
    cfg.faults.errors = errors;
    cfg
}

#[tokio::test]
async fn each_error_fault_kind_is_observable() {
    let c = client();

    let m = start(faults(ErrorRatios {
        http_500: 1.0,
        ..Default::default()
    }))
    .await;
    let resp = call(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    assert_eq!(resp.status().as_u16(), 500);
    // Not a tool call: no HTTP fault.
    let (status, _) = reply(stateless_post_discover(&c, &m.url).await).await;
    assert_eq!(status, 200);
    assert_eq!(m.stats().faults.http_500, 1);

    let mut cfg = faults(ErrorRatios {
        http_429: 1.0,
        ..Default::default()
    });
    cfg.faults.retry_after = Duration::from_secs(7);
    let m = start(cfg).await;
    let resp = call(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(m.stats().faults.http_429, 1);

    let m = start(faults(ErrorRatios {
        rpc_error: 1.0,
        ..Default::default()
    }))
    .await;
    let (status, v) = reply(call(&c, &m.url, 1, "echo", json!({"message": "x"})).await).await;
    assert_eq!(status, 200);
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert_eq!(m.stats().faults.rpc_error, 1);

    let m = start(faults(ErrorRatios {
        tool_error: 1.0,
        ..Default::default()
    }))
    .await;
    let r = call_result(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert_eq!(m.stats().faults.tool_error, 1);
}

#[tokio::test]
async fn ratios_and_tool_scope_hold() {
    let mut cfg = faults(ErrorRatios {
        tool_error: 0.3,
        http_500: 0.2,
        ..Default::default()
    });
    cfg.faults.tool = Some("echo".into());
    let m = start(cfg).await;
    let c = client();
    let n = 200;
    let (mut ok, mut tool_err, mut http_err) = (0, 0, 0);
    for i in 0..n {
        let resp = call(&c, &m.url, i, "echo", json!({"message": "x"})).await;
        if resp.status().as_u16() == 500 {
            http_err += 1;
            continue;
        }
        let (_, v) = reply(resp).await;
        if v["result"]["isError"] == true {
            tool_err += 1
        } else {
            ok += 1
        }
    }
    // Generous bounds around 50 % / 30 % / 20 % of 200.
    assert!((60..=140).contains(&ok), "ok {ok}");
    assert!((30..=90).contains(&tool_err), "tool errors {tool_err}");
    assert!((15..=70).contains(&http_err), "http errors {http_err}");
    // Out of scope: never faulted.
    for i in 0..30 {
        let r = call_result(&c, &m.url, 1000 + i, "list_versions", json!({})).await;
        assert_eq!(r["isError"], false);
    }
    let s = m.stats();
    assert_eq!(s.faults.tool_error, tool_err);
    assert_eq!(s.faults.http_500, http_err);
}

#[tokio::test]
async fn latency_is_applied() {
    let mut cfg = MockConfig::default();
    cfg.faults.latency = Some(Latency::Fixed {
        delay: Duration::from_millis(300),
    });
    let m = start(cfg).await;
    let c = client();
    let t = Instant::now();
    let r = call_result(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    let took = t.elapsed();
    assert_eq!(r["isError"], false);
    assert!(took >= Duration::from_millis(290), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(m.stats().faults.latency, 1);
}

#[tokio::test]
async fn degradation_starts_after_its_delay() {
    let mut cfg = MockConfig::default();
    cfg.faults.degradation = Some(Degradation {
        // Long enough for the first call to be answered before it on a loaded machine.
        after: Duration::from_secs(3),
        duration: None,
        latency: None,
        errors: ErrorRatios {
            tool_error: 1.0,
            ..Default::default()
        },
    });
    let m = start(cfg).await;
    let c = client();
    let r = call_result(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    assert_eq!(r["isError"], false, "degraded too early: {r}");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let r = call_result(&c, &m.url, 2, "echo", json!({"message": "x"})).await;
    assert_eq!(r["isError"], true, "not degraded after the delay: {r}");
}

#[tokio::test]
async fn stall_holds_calls_until_it_ends() {
    let mut cfg = MockConfig::default();
    cfg.faults.stall = Some(Stall {
        at: Duration::from_millis(300),
        duration: Duration::from_secs(4),
    });
    let m = start(cfg).await;
    let c = client();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let t = Instant::now();
    let r = call_result(&c, &m.url, 1, "echo", json!({"message": "x"})).await;
    assert_eq!(r["isError"], false);
    // The stall ends 4.3 s after start; we called at ≥ 0.4 s, so at least 1.4 s of waiting remain
    // even if a loaded machine delayed the call by up to 2.5 s.
    assert!(
        t.elapsed() >= Duration::from_millis(1400),
        "took {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    call_result(&c, &m.url, 2, "echo", json!({"message": "x"})).await;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "after the stall took {:?}",
        t.elapsed()
    );
    assert_eq!(m.stats().faults.stall, 1);
}

#[tokio::test]
async fn foreign_host_and_origin_refused_allowed_host_accepted() {
    let c = client();
    let m = start(MockConfig {
        allowed_hosts: vec!["mock".into()],
        ..Default::default()
    })
    .await;
    let port = m.addr.port();
    let send = |host: String, origin: Option<&'static str>| {
        let mut req = c
            .post(&m.url)
            .header("Host", host)
            .header("Accept", ACCEPT)
            .header("Content-Type", "application/json");
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}))
            .send()
    };
    let evil = send(format!("evil.example:{port}"), None)
        .await
        .expect("sent");
    assert_eq!(evil.status().as_u16(), 403);
    let ok = send(format!("mock:{port}"), None).await.expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    let ok = send(format!("localhost:{port}"), Some("http://mock:3000"))
        .await
        .expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    let bad_origin = send(format!("localhost:{port}"), Some("https://evil.example"))
        .await
        .expect("sent");
    assert_eq!(bad_origin.status().as_u16(), 403);

    let open = start(MockConfig {
        allowed_hosts: vec!["*".into()],
        ..Default::default()
    })
    .await;
    let url = open.url.clone();
    let resp = c
        .post(&url)
        .header("Host", "anything.example")
        .header("Accept", ACCEPT)
        .header("Content-Type", "application/json")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": SESSION_VERSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn expired_sessions_get_404() {
    let m = start(MockConfig::default()).await;
    let c = client();
    let s1 = initialize(&c, &m.url).await;
    let s2 = initialize(&c, &m.url).await;
    assert_eq!(m.expire_sessions().await, 2);
    for s in [&s1, &s2] {
        let status = tools_list_post(&c, &m.url, s, 5).await.status();
        assert_eq!(status.as_u16(), 404);
    }
    // A new session works.
    let s3 = initialize(&c, &m.url).await;
    let (status, _) = tools_list(&c, &m.url, &s3, 6).await;
    assert_eq!(status, 200);
    let st = m.stats();
    assert_eq!(st.sessions_created, 3);
    assert_eq!(st.sessions_expired, 2);
}

#[tokio::test]
async fn healthz_and_shutdown() {
    let m = start(MockConfig::default()).await;
    let c = client();
    let base = format!("http://{}", m.addr);
    let resp = c.get(format!("{base}/healthz")).send().await.expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    m.shutdown().await;
    assert!(c.get(format!("{base}/healthz")).send().await.is_err());
}

#[tokio::test]
async fn invalid_config_is_refused() {
    let cfg = faults(ErrorRatios {
        tool_error: 0.8,
        rpc_error: 0.8,
        ..Default::default()
    });
    assert!(matches!(
        mock::spawn(cfg, any_port()).await,
        Err(mock::MockError::Config(_))
    ));
}
