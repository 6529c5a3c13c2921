//! Our own small `/metrics` server: `GET /metrics` (Prometheus text), `GET /healthz` (200 while the
//! process lives), `GET /readyz` (200 once the run is ready, 503 before). Any other path is 404,
//! any other method 405. Sockets get `TCP_NODELAY`. With [`ControlRoutes`], `GET /control/state` answers
//! where the run is as JSON, and `POST /control/{action}` (a JSON body) hands a change to the run's
//! controls: 200 with what changed, 400 naming the field of a bad body, 401 without the bearer token
//! when one is set, 403 when the controls are off. A refused request changes nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::RecordError;
use crate::secret::Secret;

/// The shared "ready" flag behind `/readyz`; the engine flips it once the target is reached.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// A flag that starts not ready.
    pub fn new() -> Self {
        Readiness::default()
    }
    /// Marks the run ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }
    /// True once marked ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What `GET /control/state` answers, computed at each request.
pub type ControlState = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Applies `POST /control/{action}` with its JSON body (`null` when empty): what changed, or why not.
pub type ControlAct =
    Arc<dyn Fn(&str, serde_json::Value) -> Result<serde_json::Value, Refusal> + Send + Sync>;

/// A control request refused: its status (400, 404), the field at fault and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub field: Option<String>,
    pub message: String,
}

/// The `/control/…` routes of the listener.
#[derive(Clone)]
pub struct ControlRoutes {
    pub state: ControlState,
    /// None: the controls are off (changes get 403).
    pub act: Option<ControlAct>,
    /// When set, every `/control/…` request needs `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
}

#[derive(Clone)]
struct AppState {
    handle: PrometheusHandle,
    ready: Readiness,
    control: Option<ControlRoutes>,
}

/// A running metrics server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// The address it listens on (the real port when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight scrapes finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The content type of the Prometheus text exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Binds `addr` (port 0 works) and serves `/metrics`, `/healthz` and `/readyz` on the current runtime.
pub async fn serve(
    addr: SocketAddr,
    handle: PrometheusHandle,
    ready: Readiness,
) -> Result<MetricsServer, RecordError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| RecordError::Bind { addr, error })?;
    serve_on(listener, handle, ready, None)
}

/// Like [`serve`] on a socket bound earlier and set non-blocking (the startup checks bind it before
/// any traffic, so nothing can take the port in between), plus the `/control/…` routes when given.
pub fn serve_bound(
    listener: std::net::TcpListener,
    handle: PrometheusHandle,
    ready: Readiness,
    control: Option<ControlRoutes>,
) -> Result<MetricsServer, RecordError> {
    let listener =
        tokio::net::TcpListener::from_std(listener).map_err(|error| RecordError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            error,
        })?;
    serve_on(listener, handle, ready, control)
}

fn serve_on(
    listener: tokio::net::TcpListener,
    handle: PrometheusHandle,
    ready: Readiness,
    control: Option<ControlRoutes>,
) -> Result<MetricsServer, RecordError> {
    let local = listener.local_addr().map_err(|error| RecordError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        error,
    })?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/control/state", get(control_state))
        .route("/control/{action}", post(control_change))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(AppState {
            handle,
            ready,
            control,
        });
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });
    Ok(MetricsServer {
        addr: local,
        stop: Some(stop_tx),
        task,
    })
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    // Rendering drains histogram samples (CPU-bound, short): fine on the runtime.
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], s.handle.render())
}

async fn control_state(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match &s.control {
        Some(c) if !authorized(c, &headers) => unauthorized(),
        Some(c) => axum::Json((c.state)()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

async fn control_change(
    State(s): State<AppState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(c) = &s.control else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    if !authorized(c, &headers) {
        return unauthorized();
    }
    let Some(act) = &c.act else {
        return refused(Refusal {
            status: 403,
            field: None,
            message: "runtime control is off: start the run with --control ([control] enabled)"
                .into(),
        });
    };
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return refused(Refusal {
                    status: 400,
                    field: Some("body".into()),
                    message: format!("malformed JSON: {e}"),
                });
            }
        }
    };
    match act(&action, body) {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => refused(r),
    }
}

/// True when no token is set or the request carries it (compared in constant time).
fn authorized(c: &ControlRoutes, headers: &HeaderMap) -> bool {
    let Some(token) = &c.token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let want = token.expose().as_bytes();
    let given = given.as_bytes();
    given.len() == want.len() && given.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

fn unauthorized() -> Response {
    let body = serde_json::json!({ "error": "missing or wrong bearer token" });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(body),
    )
        .into_response()
}

fn refused(r: Refusal) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::json!({ "error": r.message, "field": r.field });
    (status, axum::Json(body)).into_response()
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if s.ready.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
