//! The `/control/…` routes: `GET /control/state` answers where the run is as JSON, and
//! `POST /control/{action}` (a JSON body) hands a change to the run's controls: 200 with what
//! changed, 400 naming the field of a bad body, 401 without the bearer token when one is set, 403
//! when the controls are off, 404 when the listener has no control routes. A refused request
//! changes nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::secret::Secret;

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

/// `GET /control/state`: where the run is, as the run's [`ControlState`] says.
pub(super) async fn state(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match &s.control {
        Some(c) if !authorized(c, &headers) => unauthorized(),
        Some(c) => axum::Json((c.state)()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// `POST /control/{action}`: the body parsed (empty = `null`) and handed to [`ControlAct`].
pub(super) async fn change(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(token: Option<&str>) -> ControlRoutes {
        ControlRoutes {
            state: Arc::new(|| serde_json::Value::Null),
            act: None,
            token: token.map(Secret::new),
        }
    }

    fn bearer(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().expect("header value"));
        h
    }

    #[test]
    fn the_bearer_token_must_match_exactly_when_one_is_set() {
        assert!(authorized(&routes(None), &HeaderMap::new()));
        let r = routes(Some("s3cret"));
        assert!(authorized(&r, &bearer("Bearer s3cret")));
        assert!(!authorized(&r, &HeaderMap::new()));
        assert!(!authorized(&r, &bearer("Bearer s3cre")));
        assert!(!authorized(&r, &bearer("Bearer s3cret2")));
        assert!(!authorized(&r, &bearer("Basic s3cret")));
        assert!(!authorized(&r, &bearer("s3cret")));
    }
}
