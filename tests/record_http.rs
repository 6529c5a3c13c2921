//! The /metrics server answers only its paths and methods.

use std::time::Duration;

use mcp_soak::record::{Readiness, Recorder, RecorderSetup, names, serve};

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

    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        503
    );
    ready.set_ready(true);
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );

    for path in ["/", "/metric", "/metrics/x", "/favicon.ico"] {
        assert_eq!(
            http.get(format!("{base}{path}"))
                .send()
                .await
                .expect("get")
                .status(),
            404,
            "{path}"
        );
    }
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(
            http.post(format!("{base}{path}"))
                .send()
                .await
                .expect("post")
                .status(),
            405,
            "{path}"
        );
        assert_eq!(
            http.delete(format!("{base}{path}"))
                .send()
                .await
                .expect("delete")
                .status(),
            405,
            "{path}"
        );
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
