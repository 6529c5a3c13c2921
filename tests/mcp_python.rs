//! The client against the Python SDK server (mcp==2.3.0), stateful and stateless.

mod mcp_common;

use mcp_common::*;
use mcp_soak::mcp::{Era, McpClient, McpRequest, OutcomeKind, ProtocolChoice};
use serde_json::json;

async fn exercise(client: &McpClient) {
    let stateless = client.negotiated().era == Era::Stateless;
    let tools = client.list_tools().await.expect("tools/list");
    let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"add") && names.contains(&"fail"),
        "{names:?}"
    );

    let ok = client
        .call(
            &McpRequest::ToolsCall {
                name: "add".into(),
                arguments: json!({"a": 2, "b": 3}),
            },
            true,
        )
        .await;
    assert_eq!(ok.kind, OutcomeKind::Ok, "{ok:?}");
    assert!(
        ok.result
            .as_ref()
            .is_some_and(|r| r.to_string().contains('5')),
        "{ok:?}"
    );
    assert!(ok.bytes > 0 && ok.status == Some(200));

    let err = client
        .call(
            &McpRequest::ToolsCall {
                name: "fail".into(),
                arguments: json!({"message": "kaput"}),
            },
            false,
        )
        .await;
    assert_eq!(err.kind, OutcomeKind::ToolError, "{err:?}");
    assert!(
        err.detail.as_deref().is_some_and(|d| d.contains("fail")),
        "{err:?}"
    );

    let unknown = client
        .call(
            &McpRequest::ToolsCall {
                name: "no_such_tool".into(),
                arguments: json!({}),
            },
            false,
        )
        .await;
    assert!(
        matches!(unknown.kind, OutcomeKind::ToolError | OutcomeKind::RpcError),
        "{unknown:?}"
    );

    let ping = client.call(&McpRequest::Ping, false).await;
    if stateless {
        // 2026-07-28 has no ping: the server answers method-not-found (over HTTP 404).
        assert_eq!(
            (ping.kind, ping.rpc_code),
            (OutcomeKind::RpcError, Some(-32601)),
            "{ping:?}"
        );
    } else {
        assert_eq!(ping.kind, OutcomeKind::Ok, "{ping:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_stateful_auto_and_explicit_revisions() {
    let (_server, port) = python_server(false);
    let url = format!("http://127.0.0.1:{port}/mcp");

    let client = McpClient::connect(config(url.clone(), ProtocolChoice::Auto))
        .await
        .expect("connect auto");
    let n = client.negotiated().clone();
    // The Python SDK speaks both eras on one endpoint: auto picks the stateless one.
    assert_eq!(n.server_name.as_deref(), Some("py-test-server"), "{n:?}");
    exercise(&client).await;
    client.shutdown().await;

    for rev in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let client = McpClient::connect(config(url.clone(), ProtocolChoice::Revision(rev.into())))
            .await
            .unwrap_or_else(|e| panic!("connect {rev}: {e}"));
        assert_eq!(client.negotiated().era, Era::Session);
        assert_eq!(client.negotiated().protocol_version, rev);
        assert_eq!(client.negotiated().server_version.as_deref(), Some("1.2.3"));
        exercise(&client).await;
        let stats = client.session_stats();
        assert_eq!(stats.active, 2, "{stats:?}");
        assert_eq!(stats.initialized, 2, "{stats:?}");
        client.shutdown().await;
        assert_eq!(client.session_stats().active, 0);
        client.shutdown().await; // idempotent
    }

    let client = McpClient::connect(config(
        url.clone(),
        ProtocolChoice::Revision("2026-07-28".into()),
    ))
    .await
    .expect("connect stateless");
    assert_eq!(client.negotiated().era, Era::Stateless);
    exercise(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_stateless_json() {
    let (_server, port) = python_server(true);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let client = McpClient::connect(config(url.clone(), ProtocolChoice::Auto))
        .await
        .expect("connect auto");
    assert_eq!(
        client.negotiated().era,
        Era::Stateless,
        "{:?}",
        client.negotiated()
    );
    assert_eq!(client.negotiated().protocol_version, "2026-07-28");
    exercise(&client).await;
    assert_eq!(client.session_stats().active, 0);

    let client = McpClient::connect(config(url, ProtocolChoice::Revision("2025-11-25".into())))
        .await
        .expect("connect 2025-11-25");
    assert_eq!(client.negotiated().era, Era::Session);
    exercise(&client).await;
    client.shutdown().await;
}
