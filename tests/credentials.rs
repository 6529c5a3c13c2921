//! Credentials go only where they belong. A recording server on loopback plays both the MCP server
//! and the OAuth token endpoint; a secret is planted in every header and field (`--header`, the
//! offline token, the access token the endpoint issues), and the test asserts where each arrives and
//! where none ever appears: the token request, the other credentials' requests, stdout, stderr and
//! the summary.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use support::{Soak, resp};

const HEADER_SECRET: &str = "HDR-SECRET-7f3a";
const REFRESH_SECRET: &str = "REFRESH-SECRET-91bc";
const ACCESS_SECRET: &str = "ACCESS-SECRET-c0de";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn contains(&self, needle: &str) -> bool {
        self.body.contains(needle)
            || self
                .headers
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn handler(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    log.lock().unwrap().push(seen);
    match uri.path() {
        "/token" => {
            return resp(
                200,
                "application/json",
                json!({"access_token": ACCESS_SECRET, "expires_in": 300, "token_type": "Bearer"})
                    .to_string(),
            );
        }
        "/token-denied" => {
            return resp(
                400,
                "application/json",
                r#"{"error":"invalid_grant","error_description":"Token is not active"}"#,
            );
        }
        "/token-huge" => {
            // 16 MiB of chunks without a Content-Length: only a streaming cap stops it early.
            let chunks = (0..256).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 65536])));
            return resp(
                200,
                "application/json",
                Body::from_stream(futures_util::stream::iter(chunks)),
            );
        }
        _ => {}
    }
    if method == Method::DELETE {
        return resp(200, "text/plain", "");
    }
    let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    let reply = |result: Value| {
        resp(
            200,
            "application/json",
            json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string(),
        )
    };
    match msg.get("method").and_then(Value::as_str).unwrap_or("") {
        "initialize" => {
            let mut r = reply(
                json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "recorder", "version": "1"}}),
            );
            r.headers_mut()
                .insert("mcp-session-id", "s-1".parse().unwrap());
            r
        }
        "notifications/initialized" => resp(202, "text/plain", ""),
        "tools/list" => reply(
            json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}}]}),
        ),
        "tools/call" => reply(json!({"content": [{"type": "text", "text": "ok"}]})),
        _ => resp(400, "text/plain", "unsupported"),
    }
}

async fn recorder() -> (String, Log, tokio::task::JoinHandle<()>) {
    let log: Log = Arc::default();
    let app = axum::Router::new()
        .fallback(handler)
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, log, task)
}

/// Runs `mcp-soak run` against the recorder with the planted secrets; returns exit code, stdout,
/// stderr and the summary text.
async fn run(base: &str, auth: &[&str]) -> (Option<i32>, String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{REFRESH_SECRET}\n")).expect("token file");
    let summary = dir.path().join("summary.json");
    let url = format!("{base}/mcp");
    let header = format!("X-Api-Key: {HEADER_SECRET}");
    let mut args = vec![
        "run",
        "--url",
        &url,
        "--protocol",
        "2025-06-18",
        "--header",
        &header,
        "--token-file",
        token_file.to_str().expect("utf-8"),
        "--client-id",
        "soak",
        "--mix",
        "echo=1",
        "--rate",
        "20",
        "--max-calls",
        "10",
        "--duration",
        "10s",
        "--metrics-listen",
        "none",
        "--summary",
        summary.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(auth);
    let mut soak = Soak::start(dir.path(), &args, &[("RUST_LOG", "debug")]);
    let st = soak.wait(Duration::from_secs(60)).await;
    let summary = std::fs::read_to_string(&summary).unwrap_or_default();
    (st.code(), soak.stdout(), soak.stderr(), summary)
}

fn assert_no_secret(what: &str, text: &str) {
    for s in [HEADER_SECRET, REFRESH_SECRET, ACCESS_SECRET] {
        assert!(!text.contains(s), "{s} leaked into {what}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_reaches_only_its_destination() {
    let (base, log, server) = recorder().await;
    let token_url = format!("{base}/token");
    let (code, stdout, stderr, summary) = run(
        &base,
        &["--auth", "offline-token", "--token-url", &token_url],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(read_summary_text(&summary)["totals"]["counts"]["ok"], 10);
    // stderr is a file here: log lines carry no colour escapes.
    assert!(
        stderr.contains("INFO") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_no_secret("the summary", &summary);

    let seen = log.lock().unwrap().clone();
    let (token, mcp): (Vec<&Seen>, Vec<&Seen>) = seen.iter().partition(|s| s.path == "/token");
    // The token endpoint: exactly the grant's fields, no other credential, no MCP header.
    assert_eq!(
        token.len(),
        1,
        "one exchange, then the cached token: {token:?}"
    );
    let t = token[0];
    let mut fields: Vec<&str> = t
        .body
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["client_id", "grant_type", "refresh_token"],
        "{t:?}"
    );
    assert!(
        t.body.contains(&format!("refresh_token={REFRESH_SECRET}")),
        "{t:?}"
    );
    assert!(
        !t.contains(HEADER_SECRET) && !t.contains(ACCESS_SECRET),
        "{t:?}"
    );
    for (name, _) in &t.headers {
        assert!(
            ["host", "content-type", "content-length", "accept"].contains(&name.as_str()),
            "unexpected header {name} on the token request: {t:?}"
        );
    }
    // The MCP server: the extra header and the access token on every request, never the
    // offline token itself.
    assert!(mcp.len() >= 12, "{}", mcp.len());
    for s in &mcp {
        assert_eq!(s.header("x-api-key"), Some(HEADER_SECRET), "{s:?}");
        assert_eq!(
            s.header("authorization"),
            Some(format!("Bearer {ACCESS_SECRET}").as_str()),
            "{s:?}"
        );
        assert!(!s.contains(REFRESH_SECRET), "{s:?}");
    }
    server.abort();
}

fn read_summary_text(text: &str) -> Value {
    serde_json::from_str(text).expect("summary JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_token_header_mode_sends_the_token_to_the_mcp_server_only() {
    let (base, log, server) = recorder().await;
    let (code, stdout, stderr, summary) = run(&base, &["--auth", "offline-token-header"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    assert_no_secret("the summary", &summary);
    let seen = log.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.path == "/mcp"), "no token exchange");
    for s in &seen {
        assert_eq!(s.header("ocm-offline-token"), Some(REFRESH_SECRET), "{s:?}");
        assert_eq!(s.header("authorization"), None, "{s:?}");
        assert_eq!(s.header("x-api-key"), Some(HEADER_SECRET), "{s:?}");
    }
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_exchange_names_the_token_url_status_and_oauth_error() {
    let (base, log, server) = recorder().await;
    let token_url = format!("{base}/token-denied");
    let (code, stdout, stderr, _) = run(
        &base,
        &["--auth", "offline-token", "--token-url", &token_url],
    )
    .await;
    assert_ne!(code, Some(0), "{stderr}");
    let plain = support::strip_ansi(&stderr);
    assert!(
        !plain.contains("initialize failed"),
        "an auth failure is not a failed handshake:\n{plain}"
    );
    for needle in [
        token_url.as_str(),
        "HTTP 400",
        "invalid_grant: Token is not active",
    ] {
        assert!(plain.contains(needle), "{needle:?} missing:\n{plain}");
    }
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
    let seen = log.lock().unwrap().clone();
    assert!(
        seen.iter()
            .filter(|s| s.path == "/mcp")
            .all(|s| s.header("authorization").is_none()),
        "nothing reached the MCP server with a credential"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_token_reply_is_refused_while_streaming() {
    let (base, _log, server) = recorder().await;
    let cfg = mcp_soak::mcp::ClientConfig {
        url: format!("{base}/mcp"),
        protocol: mcp_soak::mcp::ProtocolChoice::Revision("2025-06-18".into()),
        auth: mcp_soak::mcp::Auth::OfflineToken {
            refresh_token: mcp_soak::secret::Secret::new(REFRESH_SECRET),
            token_url: format!("{base}/token-huge"),
            client_id: "soak".into(),
        },
        sessions: 1,
        ..mcp_soak::mcp::ClientConfig::default()
    };
    let err = match mcp_soak::mcp::McpClient::connect(cfg).await {
        Ok(_) => panic!("connected with an oversized token reply"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("reply larger than 65536 bytes"), "{err}");
    assert!(err.contains("/token-huge"), "{err}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_reaches_the_server_with_the_same_headers_and_auth_as_run() {
    let (base, log, server) = recorder().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, REFRESH_SECRET).expect("token file");
    let url = format!("{base}/mcp");
    let token_url = format!("{base}/token");
    let header = format!("X-Api-Key: {HEADER_SECRET}");
    let args: Vec<String> = [
        "discover",
        "--url",
        &url,
        "--header",
        &header,
        "--auth",
        "offline-token",
        "--token-file",
        token_file.to_str().expect("utf-8"),
        "--token-url",
        &token_url,
        "--client-id",
        "soak",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(support::bin())
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .expect("discover runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("tool = \"echo\""), "{stdout}");
    // The starter config reaches the server the same way, without a secret value in it.
    for needle in [
        "[target.auth]\nkind = \"offline-token\"\n",
        "token_url = ",
        "client_id = \"soak\"",
        "token_file = ",
        "# headers = { \"X-Api-Key\" = \"...\" }",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
    assert_no_secret("discover's stdout", &stdout);
    assert_no_secret("discover's stderr", &stderr);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|s| s.path == "/token").count(), 1);
    for s in seen.iter().filter(|s| s.path == "/mcp") {
        assert_eq!(s.header("x-api-key"), Some(HEADER_SECRET), "{s:?}");
        assert_eq!(
            s.header("authorization"),
            Some(format!("Bearer {ACCESS_SECRET}").as_str()),
            "{s:?}"
        );
    }
    for s in seen.iter().filter(|s| s.path == "/token") {
        assert!(!s.contains(HEADER_SECRET), "{s:?}");
    }

    // `run -c` on what discover wrote (plus the header, whose value it did not write) is
    // authenticated like discover was.
    let config = dir.path().join("soak.toml");
    std::fs::write(&config, stdout.as_bytes()).expect("write config");
    log.lock().unwrap().clear();
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "-c",
            config.to_str().expect("utf-8"),
            "--header",
            &format!("X-Api-Key: {HEADER_SECRET}"),
            "--mix",
            "echo=1",
            "--rate",
            "20",
            "--max-calls",
            "5",
            "--metrics-listen",
            "none",
            "--quiet",
        ],
        &[],
    );
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|s| s.path == "/token").count(), 1);
    assert!(
        seen.iter()
            .filter(|s| s.path == "/mcp")
            .all(|s| s.header("authorization") == Some(format!("Bearer {ACCESS_SECRET}").as_str())),
        "{seen:?}"
    );
    server.abort();
}
