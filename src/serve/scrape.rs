//! `GET /metrics` and `GET /readyz`: the Prometheus text the recorder's handle renders, and whether
//! the run has reached its target yet.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::AppState;

/// The content type of the Prometheus text exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: the recorder's series in the text format.
pub(super) async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    // Rendering drains histogram samples (CPU-bound, short): fine on the runtime.
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], s.handle.render())
}

/// `GET /readyz`: 200 once the run is ready, 503 before.
pub(super) async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if s.ready.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}
