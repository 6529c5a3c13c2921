//! The /metrics server answers only its paths and methods.

use std::time::Duration;

use mcp_soak::record::{Recorder, RecorderSetup, names};
use mcp_soak::serve::{Readiness, serve};

#[tokio::test]
async fn metrics_server_answers_only_its_paths() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rec = Recorder::new(RecorderSetup {
        op_names: vec!["echo".into()],
        ..Default::default()
    })
    .expect("recorder");
    let ready = Readiness::new();
    let server = serve(
        "127.0.0.1:0".parse().expect("addr"),
        rec.prometheus(),
        ready.clone(),
    )
    .await
    .expect("serve");
    let base = format!("http://{}", server.addr());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    let r = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let body = r.text().await.expect("body");
    assert!(body.contains(names::CALLS_TOTAL), "{body}");

    let status = |method: reqwest::Method, path: &str| {
        let req = http.request(method, format!("{base}{path}"));
        async move { req.send().await.expect("request").status().as_u16() }
    };
    assert_eq!(status(reqwest::Method::GET, "/healthz").await, 200);
    assert_eq!(status(reqwest::Method::GET, "/readyz").await, 503);
    ready.set_ready(true);
    assert_eq!(status(reqwest::Method::GET, "/readyz").await, 200);

    for path in ["/", "/metric", "/metrics/x", "/favicon.ico"] {
        assert_eq!(status(reqwest::Method::GET, path).await, 404, "{path}");
    }
    for path in ["/metrics", "/healthz", "/readyz"] {
        for method in [reqwest::Method::POST, reqwest::Method::DELETE] {
            assert_eq!(status(method.clone(), path).await, 405, "{method} {path}");
        }
    }

    let addr = server.addr();
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown in time");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}
