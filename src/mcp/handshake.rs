//! Time a call spent on handshakes rather than on its own request: a session (re-)initialize, an
//! access-token refresh.
//!
//! Service time is from the request leaving to its reply; a call that first had to open a session
//! or refresh a token would otherwise carry that handshake in its service time. The client runs
//! each call inside [`timed`]; the places that do a handshake report it with [`add`] (a no-op
//! outside a call, e.g. during the first connect). The totals come back with the call's outcome and
//! are recorded apart, per kind.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

/// A kind of handshake.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HandshakeKind {
    /// `initialize` + `notifications/initialized` (a new or replaced session), or waiting for
    /// another call's.
    Initialize,
    /// Exchanging the offline token for an access token.
    TokenRefresh,
}

impl HandshakeKind {
    /// Every kind, in a fixed order (the index of [`Handshakes::spent`]).
    pub const ALL: [HandshakeKind; 2] = [HandshakeKind::Initialize, HandshakeKind::TokenRefresh];

    /// The metric label and summary name.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeKind::Initialize => "initialize",
            HandshakeKind::TokenRefresh => "token_refresh",
        }
    }
}

/// What one call spent on handshakes, per kind (in [`HandshakeKind::ALL`] order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handshakes {
    pub spent: [Option<Duration>; 2],
}

impl Handshakes {
    /// Time spent on every kind together.
    pub fn total(&self) -> Duration {
        self.spent.iter().flatten().sum()
    }
}

/// Nanoseconds per kind; lives in the call's task-local slot (no allocation, no atomics: only the
/// call's own task touches it) and is taken back out when the call ends.
#[derive(Default)]
struct Spent([Cell<u64>; 2]);

tokio::task_local! {
    static SPENT: Spent;
}

/// Runs `f` (one call) and returns what it spent on handshakes.
pub async fn timed<F: Future>(f: F) -> (F::Output, Handshakes) {
    let mut scoped = std::pin::pin!(SPENT.scope(Spent::default(), f));
    let out = scoped.as_mut().await;
    let mut h = Handshakes::default();
    if let Some(spent) = scoped.as_mut().take_value() {
        for (slot, ns) in h.spent.iter_mut().zip(&spent.0) {
            let ns = ns.get();
            if ns > 0 {
                *slot = Some(Duration::from_nanos(ns));
            }
        }
    }
    (out, h)
}

/// Reports a handshake of `kind` that took `d`, inside the current call (if any).
pub fn add(kind: HandshakeKind, d: Duration) {
    let i = kind as usize;
    let _ = SPENT.try_with(|s| {
        let c = &s.0[i];
        c.set(c.get() + d.as_nanos().max(1) as u64);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handshakes_inside_a_call_are_summed_per_kind_and_ignored_outside() {
        add(HandshakeKind::Initialize, Duration::from_millis(5));
        let ((), h) = timed(async {
            add(HandshakeKind::Initialize, Duration::from_millis(3));
            add(HandshakeKind::Initialize, Duration::from_millis(4));
            add(HandshakeKind::TokenRefresh, Duration::from_millis(10));
        })
        .await;
        assert_eq!(h.spent[0], Some(Duration::from_millis(7)));
        assert_eq!(h.spent[1], Some(Duration::from_millis(10)));
        assert_eq!(h.total(), Duration::from_millis(17));
        let ((), none) = timed(async {}).await;
        assert_eq!(none, Handshakes::default());
    }
}
