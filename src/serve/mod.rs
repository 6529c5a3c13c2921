//! The run's HTTP listener: `GET /metrics` (Prometheus text), `GET /healthz` (200 while the process
//! lives), `GET /readyz` (200 once the run is ready, 503 before), and with [`ControlRoutes`] the
//! `/control/…` routes ([`control`]). Any other path is 404, any other method 405. Sockets get
//! `TCP_NODELAY`. It only serves: what `/metrics` renders comes from the recorder's
//! `PrometheusHandle`, what `/control/…` answers from the closures the run hands in.

mod control;
mod scrape;

pub use control::{ControlAct, ControlRoutes, ControlState, Refusal};
pub use scrape::TEXT_FORMAT;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Errors of the listener.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen for /metrics on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

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

/// Binds `addr` (port 0 works) and serves `/metrics`, `/healthz` and `/readyz` on the current runtime.
pub async fn serve(
    addr: SocketAddr,
    handle: PrometheusHandle,
    ready: Readiness,
) -> Result<MetricsServer, ServeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| ServeError::Bind { addr, error })?;
    serve_on(listener, handle, ready, None)
}

/// Like [`serve`] on a socket bound earlier and set non-blocking (the startup checks bind it before
/// any traffic, so nothing can take the port in between), plus the `/control/…` routes when given.
pub fn serve_bound(
    listener: std::net::TcpListener,
    handle: PrometheusHandle,
    ready: Readiness,
    control: Option<ControlRoutes>,
) -> Result<MetricsServer, ServeError> {
    let listener =
        tokio::net::TcpListener::from_std(listener).map_err(|error| ServeError::Bind {
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
) -> Result<MetricsServer, ServeError> {
    let local = listener.local_addr().map_err(|error| ServeError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        error,
    })?;
    let app = Router::new()
        .route("/metrics", get(scrape::metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(scrape::readyz))
        .route("/control/state", get(control::state))
        .route("/control/{action}", post(control::change))
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
