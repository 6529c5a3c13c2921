//! The client against the built-in mock: every protocol generation and `auto`, tool errors, and a
//! session expiry in the middle that is counted and recovered.

use std::net::SocketAddr;
use std::time::Duration;

use mcp_soak::mcp::{ClientConfig, Era, McpClient, McpRequest, OutcomeKind, ProtocolChoice};
use mcp_soak::mock::{MockConfig, MockHandle, spawn};
use serde_json::json;

async fn mock() -> MockHandle {
    spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("mock starts")
}

fn config(url: &str, protocol: ProtocolChoice) -> ClientConfig {
    ClientConfig {
        url: url.to_owned(),
        protocol,
        sessions: 2,
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

/// A session-era (2025-11-25) client of `url` with `strategy`.
fn with_strategy(url: &str, strategy: mcp_soak::mcp::SessionStrategy) -> ClientConfig {
    ClientConfig {
        session_strategy: strategy,
        ..config(url, ProtocolChoice::Revision("2025-11-25".into()))
    }
}

fn echo(message: &str) -> McpRequest {
    McpRequest::ToolsCall {
        name: "echo".into(),
        arguments: json!({ "message": message }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generation_and_auto_against_the_mock() {
    let mock = mock().await;
    let cases = [
        (ProtocolChoice::Auto, "2026-07-28", Era::Stateless),
        (
            ProtocolChoice::Revision("2026-07-28".into()),
            "2026-07-28",
            Era::Stateless,
        ),
        (
            ProtocolChoice::Revision("2025-11-25".into()),
            "2025-11-25",
            Era::Session,
        ),
        (
            ProtocolChoice::Revision("2025-06-18".into()),
            "2025-06-18",
            Era::Session,
        ),
        (
            ProtocolChoice::Revision("2025-03-26".into()),
            "2025-03-26",
            Era::Session,
        ),
    ];
    for (choice, revision, era) in cases {
        let label = format!("{choice:?}");
        let client = McpClient::connect(config(&mock.url, choice))
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let n = client.negotiated();
        assert_eq!(
            (n.protocol_version.as_str(), n.era),
            (revision, era),
            "{label}"
        );
        assert_eq!(n.server_name.as_deref(), Some("mcp-soak-mock"), "{label}");
        let tools = client.list_tools().await.expect("tools/list");
        assert!(
            tools
                .iter()
                .any(|t| t.name == "create_payment" && t.destructive),
            "{label}: annotations kept"
        );
        let ok = client.call(&echo("hello"), true).await;
        assert_eq!(ok.kind, OutcomeKind::Ok, "{label}: {ok:?}");
        assert!(
            ok.result.is_some() && ok.bytes > 0,
            "{label}: result kept on request"
        );
        let bad = client
            .call(
                &McpRequest::ToolsCall {
                    name: "create_payment".into(),
                    arguments: json!({ "amount": -1 }),
                },
                false,
            )
            .await;
        assert_eq!(
            bad.kind,
            OutcomeKind::ToolError,
            "{label}: isError is a tool error, never ok: {bad:?}"
        );
        let ping = client.call(&McpRequest::Ping, false).await;
        if era == Era::Session {
            assert_eq!(ping.kind, OutcomeKind::Ok, "{label}: ping");
        } else {
            // rmcp's stateless handler answers ping with -32601: classified, not hidden.
            assert!(
                matches!(ping.kind, OutcomeKind::Ok | OutcomeKind::RpcError),
                "{label}: ping {ping:?}"
            );
        }
        client.shutdown().await;
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_mid_run_is_counted_and_recovered() {
    let mock = mock().await;
    let client = McpClient::connect(config(
        &mock.url,
        ProtocolChoice::Revision("2025-11-25".into()),
    ))
    .await
    .expect("connect");
    for i in 0..4 {
        assert_eq!(
            client.call(&echo(&format!("before {i}")), false).await.kind,
            OutcomeKind::Ok
        );
    }
    let before = client.session_stats();
    assert_eq!(before.active, 2);
    assert!(
        mock.expire_sessions().await >= 2,
        "the mock forgot the sessions"
    );
    let mut kinds = Vec::new();
    for i in 0..6 {
        kinds.push(client.call(&echo(&format!("after {i}")), false).await.kind);
    }
    let expired = kinds
        .iter()
        .filter(|k| **k == OutcomeKind::SessionExpired)
        .count();
    assert!(
        (1..=2).contains(&expired),
        "each pooled session expires once: {kinds:?}"
    );
    assert!(
        kinds[kinds.len() - 2..]
            .iter()
            .all(|k| *k == OutcomeKind::Ok),
        "recovered: {kinds:?}"
    );
    let after = client.session_stats();
    assert_eq!(after.expired, before.expired + expired as u64);
    assert!(
        after.initialized >= before.initialized + expired as u64,
        "re-initialized: {after:?}"
    );
    assert_eq!(
        after.reinitialized, after.expired,
        "every expired slot was re-opened once: {after:?}"
    );
    client.shutdown().await;
    assert_eq!(
        client.session_stats().deleted,
        2,
        "shutdown DELETEs the two pooled sessions and the mock accepts"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        mock.stats().deletes >= 2,
        "sessions DELETEd on shutdown: {:?}",
        mock.stats()
    );
    mock.shutdown().await;
}

/// Each strategy's lifecycle in the counters: `per-call` creates and DELETEs a session per call,
/// `abandon` creates one per call and leaves it (only the handshake's own session is DELETEd).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_lifecycle_is_counted_per_strategy() {
    use mcp_soak::mcp::{SessionStats, SessionStrategy};
    let mock = mock().await;
    for (strategy, want) in [
        (
            SessionStrategy::PerCall,
            SessionStats {
                initialized: 6,
                deleted: 6,
                ..SessionStats::default()
            },
        ),
        (
            SessionStrategy::Abandon,
            SessionStats {
                initialized: 6,
                deleted: 1,
                abandoned: 5,
                ..SessionStats::default()
            },
        ),
    ] {
        let client = McpClient::connect(with_strategy(&mock.url, strategy))
            .await
            .expect("connects");
        for i in 0..5 {
            let out = client.call(&echo(&format!("{strategy} {i}")), false).await;
            assert_eq!(out.kind, OutcomeKind::Ok, "{:?}", out.detail);
        }
        // shutdown waits for the DELETEs in flight.
        client.shutdown().await;
        assert_eq!(client.session_stats(), want, "{strategy}");
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_era_server_that_issues_no_session_id_has_no_active_sessions() {
    // The same session-era revision against a stateful mock and a stateless one (no
    // `Mcp-Session-Id`): sessions are counted open only where the server keeps them.
    for (stateless, want_active) in [(false, true), (true, false)] {
        let mock = spawn(
            MockConfig {
                stateless,
                ..MockConfig::default()
            },
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .expect("mock starts");
        let client = McpClient::connect(config(
            &mock.url,
            ProtocolChoice::Revision("2025-11-25".into()),
        ))
        .await
        .expect("connects");
        for i in 0..4 {
            let out = client.call(&echo(&format!("m{i}")), false).await;
            assert_eq!(out.kind, OutcomeKind::Ok, "{:?}", out.detail);
        }
        let stats = client.session_stats();
        assert!(stats.initialized >= 1, "{stats:?}");
        assert_eq!(
            stats.active > 0,
            want_active,
            "stateless={stateless}: {stats:?}"
        );
        client.shutdown().await;
        mock.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_initialize_inside_a_call_is_timed_apart_from_its_service_time() {
    use mcp_soak::mcp::SessionStrategy;
    use std::time::Instant;
    let mock = mock().await;
    let cfg = |strategy| with_strategy(&mock.url, strategy);
    // Per call: every call opens its own session first.
    let client = McpClient::connect(cfg(SessionStrategy::PerCall))
        .await
        .expect("connects");
    for i in 0..3 {
        let before = Instant::now();
        let out = client.call(&echo(&format!("p{i}")), false).await;
        assert_eq!(out.kind, OutcomeKind::Ok, "{:?}", out.detail);
        let init = out.handshakes.spent[0].expect("an initialize was timed");
        assert!(
            out.sent >= before + init,
            "service time starts after the handshake"
        );
    }
    client.shutdown().await;
    // Pooled: the pool is opened at connect, so calls do no handshake — until the server forgets
    // the sessions: the call that finds its session expired fails, and the next call on that slot
    // re-initializes inside its own time.
    let client = McpClient::connect(cfg(SessionStrategy::Pooled))
        .await
        .expect("connects");
    let mut initialized = 0;
    for i in 0..8 {
        if i == 4 {
            assert!(mock.expire_sessions().await >= 2);
        }
        let out = client.call(&echo(&format!("q{i}")), false).await;
        initialized += usize::from(out.handshakes.spent[0].is_some());
        assert_eq!(out.handshakes.spent[1], None, "no token to refresh");
        if i < 4 {
            assert_eq!(out.handshakes.spent[0], None, "pool opened at connect");
        }
    }
    assert_eq!(initialized, 2, "each slot re-initialized once");
    client.shutdown().await;
    mock.shutdown().await;
}

/// `idle`: one of two sessions sits unused past the server's idle timeout, then gets a call. The
/// mock forgets it (404): that call is `session_expired`, counted once, and the next call on the
/// slot re-initializes at once; the busy session carries every other call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_past_the_server_timeout_expires_and_is_reinitialized() {
    use mcp_soak::mcp::SessionStrategy;
    let mock = spawn(
        MockConfig {
            session_idle_timeout: Some(Duration::from_millis(300)),
            ..MockConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("mock starts");
    let idle = SessionStrategy::Idle {
        after: Duration::from_secs(1),
        share_pct: 50,
    };
    let client = McpClient::connect(with_strategy(&mock.url, idle))
        .await
        .expect("connects");
    // Calls for 2.5 s, one at a time: the idle session is due at 1 s and 2 s.
    let started = std::time::Instant::now();
    let mut kinds = Vec::new();
    while started.elapsed() < Duration::from_millis(2500) {
        kinds.push(client.call(&echo("i"), false).await.kind);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = client.session_stats();
    let expired = kinds
        .iter()
        .filter(|k| **k == OutcomeKind::SessionExpired)
        .count() as u64;
    assert!(expired >= 1, "the idle session expired: {kinds:?}");
    assert_eq!(stats.expired, expired, "{stats:?} {kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|k| matches!(k, OutcomeKind::Ok | OutcomeKind::SessionExpired)),
        "{kinds:?}"
    );
    // The call after an expiry re-opens the slot (at least the first one was followed by one).
    assert!(
        stats.reinitialized >= 1 && stats.reinitialized <= stats.expired,
        "{stats:?}"
    );
    client.shutdown().await;
    mock.shutdown().await;
}

/// `stale`: every call carries a session id the server must not know, alternately never issued and
/// just DELETEd; the mock answers 404, so every call is `session_expired` and nothing re-initializes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_session_ids_are_rejected_and_counted() {
    use mcp_soak::mcp::SessionStrategy;
    let mock = mock().await;
    let client = McpClient::connect(with_strategy(&mock.url, SessionStrategy::Stale))
        .await
        .expect("connects");
    for i in 0..6 {
        let out = client.call(&echo(&format!("s{i}")), false).await;
        assert_eq!(out.kind, OutcomeKind::SessionExpired, "call {i}: {out:?}");
        if i % 2 == 1 {
            assert!(
                out.handshakes.spent[0].is_some(),
                "the initialize + DELETE that made the id stale is timed apart"
            );
        }
    }
    client.shutdown().await;
    let stats = client.session_stats();
    // The handshake's own session, then one per deleted-id call.
    assert_eq!(
        (stats.initialized, stats.deleted, stats.active),
        (4, 4, 0),
        "{stats:?}"
    );
    assert_eq!((stats.expired, stats.reinitialized), (0, 0), "{stats:?}");
    mock.shutdown().await;
}

/// `stale` and `abandon` shape the load only: the client's own tools/list (which `run` sends before
/// the schedule) gets a fresh session that is DELETEd after, so a stale run can start against a
/// server that rejects unknown ids (every real one does), and an abandon run abandons only its calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_client_still_lists_tools() {
    use mcp_soak::mcp::SessionStrategy;
    let mock = mock().await;
    let client = McpClient::connect(with_strategy(&mock.url, SessionStrategy::Stale))
        .await
        .expect("connects");
    let tools = client
        .list_tools()
        .await
        .expect("tools/list in a fresh session");
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let out = client.call(&echo("after listing"), false).await;
    assert_eq!(out.kind, OutcomeKind::SessionExpired, "{out:?}");
    client.shutdown().await;
    let stats = client.session_stats();
    // The handshake's own session and the listing's: both DELETEd, nothing counted as expired.
    assert_eq!(
        (
            stats.initialized,
            stats.deleted,
            stats.active,
            stats.expired
        ),
        (2, 2, 0, 0),
        "{stats:?}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandon_client_deletes_its_own_listing_session() {
    use mcp_soak::mcp::SessionStrategy;
    let mock = mock().await;
    let client = McpClient::connect(with_strategy(&mock.url, SessionStrategy::Abandon))
        .await
        .expect("connects");
    client.list_tools().await.expect("tools/list");
    let out = client.call(&echo("abandoned"), false).await;
    assert_eq!(out.kind, OutcomeKind::Ok, "{out:?}");
    client.shutdown().await;
    let stats = client.session_stats();
    // The handshake's and the listing's sessions DELETEd; only the call's abandoned.
    assert_eq!(
        (
            stats.initialized,
            stats.deleted,
            stats.abandoned,
            stats.active
        ),
        (3, 2, 1, 0),
        "{stats:?}"
    );
    mock.shutdown().await;
}
