//! OpenTelemetry end to end: the binary, pointed at a local OTLP/HTTP receiver, exports one span per
//! call with the call's attributes, and sends a W3C `traceparent` on its MCP requests so a tracing
//! server joins the trace.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use mcp_soak::mock::{MockConfig, spawn};

#[derive(Clone, Default)]
struct Seen {
    otlp_bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    traceparents: Arc<Mutex<Vec<String>>>,
}

async fn otlp(State(seen): State<Seen>, body: Bytes) -> StatusCode {
    seen.otlp_bodies.lock().unwrap().push(body.to_vec());
    StatusCode::OK
}

/// A pass-through proxy in front of the mock that notes every `traceparent` it sees.
async fn proxy(
    State((seen, upstream)): State<(Seen, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        seen.traceparents.lock().unwrap().push(tp.to_owned());
    }
    let client = reqwest::Client::new();
    let mut req = client.request(method, &upstream).body(body.to_vec());
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.expect("upstream answers");
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let mut out = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            out.insert(k, v.clone());
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    (status, out, bytes.to_vec())
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_with_call_attributes_and_traceparent_is_sent() {
    mcp_soak::tls::install_crypto_provider();
    let mock = spawn(MockConfig::default(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let seen = Seen::default();
    let collector = serve(
        axum::Router::new()
            .route("/v1/traces", axum::routing::post(otlp))
            .with_state(seen.clone()),
    )
    .await;
    let front = serve(
        axum::Router::new()
            .fallback(proxy)
            .with_state((seen.clone(), mock.url.clone())),
    )
    .await;

    let bin = env!("CARGO_BIN_EXE_mcp-soak");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(bin)
            .args([
                "run",
                "--url",
                &format!("http://{front}/mcp"),
                "--rate",
                "20",
                "--duration",
                "1s",
            ])
            .args(["--mix", "echo=1", "--metrics-listen", "none", "--quiet"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
            .env("OTEL_SERVICE_NAME", "soak-under-test")
            .env("OTEL_TRACES_SAMPLER_ARG", "1.0")
            .output(),
    )
    .await
    .expect("run ends in time")
    .expect("binary runs");
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bodies = seen.otlp_bodies.lock().unwrap().concat();
    assert!(!bodies.is_empty(), "the OTLP receiver got spans");
    for needle in [
        "mcp.call",
        "mcp.tool",
        "echo",
        "mcp.outcome",
        "ok",
        "mcp.protocol",
        "soak-under-test",
    ] {
        assert!(contains(&bodies, needle), "exported spans carry {needle:?}");
    }
    let tps = seen.traceparents.lock().unwrap().clone();
    let valid = tps
        .iter()
        .filter(|t| t.len() == 55 && t.starts_with("00-"))
        .count();
    assert!(
        valid >= 20,
        "every call carried a W3C traceparent: {} of {}",
        valid,
        tps.len()
    );
    mock.shutdown().await;
}
