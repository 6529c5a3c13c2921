//! The client against server-everything: Streamable HTTP (session era, SSE replies) and legacy SSE.

mod mcp_common;

use mcp_common::*;
use mcp_soak::mcp::{
    CallOutcome, Era, McpClient, McpRequest, OutcomeKind, ProtocolChoice, Transport,
};
use serde_json::json;

/// A tools/call with its result kept.
async fn call(client: &McpClient, name: &str, arguments: serde_json::Value) -> CallOutcome {
    let request = McpRequest::ToolsCall {
        name: name.into(),
        arguments,
    };
    client.call(&request, true).await
}

/// `tools/call` echo and get-sum answer ok with the expected text in the result.
async fn echo_and_sum(client: &McpClient) {
    for (name, args, expect) in [
        ("echo", json!({"message": "hi soak"}), "hi soak"),
        ("get-sum", json!({"a": 40, "b": 2}), "42"),
    ] {
        let out = call(client, name, args).await;
        assert_eq!(out.kind, OutcomeKind::Ok, "{name}: {out:?}");
        assert!(
            out.result
                .as_ref()
                .is_some_and(|r| r.to_string().contains(expect)),
            "{name}: {out:?}"
        );
    }
}

/// `n` concurrent calls on the shared client: ids stay unique per session, every call answered.
async fn concurrent_ok(client: &McpClient, n: usize, name: &str, arguments: serde_json::Value) {
    let calls = (0..n).map(|_| call(client, name, arguments.clone()));
    let outs = futures_util::future::join_all(calls).await;
    assert!(outs.iter().all(|o| o.kind == OutcomeKind::Ok), "{outs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_streamable_http_auto() {
    let (_server, client) = everything_client("streamableHttp").await;
    let n = client.negotiated();
    assert_eq!(n.era, Era::Session, "{n:?}");
    assert!(n.server_name.is_some(), "{n:?}");
    echo_and_sum(&client).await;
    concurrent_ok(&client, 20, "echo", json!({"message": "m"})).await;
    assert_eq!(client.session_stats().active, 2);
    client.shutdown().await;
    assert_eq!(client.session_stats().active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_session_expiry_after_restart() {
    let (server, port) = everything("streamableHttp");
    let mut cfg = config(format!("http://127.0.0.1:{port}/mcp"), ProtocolChoice::Auto);
    cfg.sessions = 1;
    let client = McpClient::connect(cfg).await.expect("connect");
    let ping = client.call(&McpRequest::Ping, false).await;
    assert_eq!(ping.kind, OutcomeKind::Ok, "{ping:?}");
    drop(server);
    // Same port again: the new process knows none of the old sessions (answers 400 -32000).
    let _restarted = everything_on("streamableHttp", port);
    let expired = client.call(&McpRequest::Ping, false).await;
    assert_eq!(expired.kind, OutcomeKind::SessionExpired, "{expired:?}");
    let again = client.call(&McpRequest::Ping, false).await;
    assert_eq!(again.kind, OutcomeKind::Ok, "{again:?}");
    let s = client.session_stats();
    assert_eq!((s.expired, s.initialized, s.active), (1, 2, 1), "{s:?}");
    assert_eq!(s.reinitialized, 1, "{s:?}");
    client.shutdown().await;
}

/// `stale` against a server that answers unknown sessions with 400 -32000 (not 404): both a
/// never-issued id and a DELETEd one are rejected, classified `session_expired`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_rejects_stale_session_ids() {
    let (_server, port) = everything("streamableHttp");
    let mut cfg = config(format!("http://127.0.0.1:{port}/mcp"), ProtocolChoice::Auto);
    cfg.session_strategy = mcp_soak::mcp::SessionStrategy::Stale;
    let client = McpClient::connect(cfg).await.expect("connect");
    for i in 0..4 {
        let out = call(&client, "echo", json!({"message": "stale"})).await;
        assert_eq!(out.kind, OutcomeKind::SessionExpired, "call {i}: {out:?}");
    }
    client.shutdown().await;
    let s = client.session_stats();
    // The connect handshake's session and one per DELETEd-id call, each DELETEd.
    assert_eq!((s.initialized, s.deleted, s.active), (3, 3, 0), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_legacy_sse() {
    let (_server, port) = everything("sse");
    let mut cfg = config(format!("http://127.0.0.1:{port}/sse"), ProtocolChoice::Auto);
    cfg.transport = Transport::LegacySse;
    let client = McpClient::connect(cfg).await.expect("connect legacy");
    assert_eq!(client.negotiated().era, Era::LegacySse);
    echo_and_sum(&client).await;
    concurrent_ok(&client, 10, "get-sum", json!({"a": 1, "b": 2})).await;
    assert_eq!(client.session_stats().active, 2);
    client.shutdown().await;
}
