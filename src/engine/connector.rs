//! The background connector of a run whose target was down at start.
//!
//! It retries [`McpClient::connect`] with jittered exponential backoff (0.5 s doubling to 15 s)
//! until it succeeds or the run stops. Once connected it lists the tools, resolves the mix against
//! them, publishes the client and the resolved mix in the run's [`Connection`] (read lock-free by
//! every call), marks the run ready and logs "connected". A mix that does not fit the server stops
//! the run with [`StopReason::MixMismatch`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use rand::RngExt;
use tokio_util::sync::CancellationToken;

use super::{Live, Stop, StopReason};
use crate::mcp::{McpClient, SessionStats};
use crate::plan::{Plan, PlanError};
use crate::secret::scrub_url_secrets;
use crate::serve::Readiness;

/// First retry delay (before jitter).
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// Longest retry delay (before jitter).
const MAX_DELAY: Duration = Duration::from_secs(15);

/// The Record detail of a slot due while not connected.
fn not_connected(reason: &str) -> Arc<str> {
    format!("not connected: {reason}").into()
}

/// The run's connection state: the live connection once there is one, and while there is none,
/// why, and a signal after every attempt. Owned by the connector (the only writer).
pub(super) struct Connection {
    /// The live connection; empty while the target is down (read lock-free on every call).
    live: OnceLock<Arc<Live>>,
    /// The Record detail of a slot due while not connected: "not connected: <last connect error>".
    down: Mutex<Arc<str>>,
    /// Woken after every connect attempt (closed-model users wait on it while not connected).
    attempted: Notify,
    /// Set when the late target's tools did not fit the mix.
    mix_error: OnceLock<PlanError>,
    /// Initializes the late target refused before it connected (the client's pool counts the rest).
    refused: AtomicU64,
}

impl Connection {
    /// Connected from the start (`Ok`), or down for `reason`.
    pub(super) fn new(start: Result<Live, &str>) -> Connection {
        let live = OnceLock::new();
        let reason = match start {
            Ok(l) => {
                let _ = live.set(Arc::new(l));
                ""
            }
            Err(reason) => reason,
        };
        Connection {
            live,
            down: Mutex::new(not_connected(reason)),
            attempted: Notify::new(),
            mix_error: OnceLock::new(),
            refused: AtomicU64::new(0),
        }
    }

    /// The session counters: the live client's, plus the initializes refused before it connected;
    /// `None` while there is nothing to count.
    pub(super) fn session_stats(&self) -> Option<SessionStats> {
        let refused = self.refused.load(Ordering::Relaxed);
        let mut stats = match self.live() {
            Some(live) => live.client.session_stats(),
            None if refused > 0 => SessionStats::default(),
            None => return None,
        };
        stats.refused += refused;
        Some(stats)
    }

    /// The live connection, if the target has been reached.
    pub(super) fn live(&self) -> Option<&Arc<Live>> {
        self.live.get()
    }

    /// Why there is no connection yet ("not connected: <last connect error>").
    pub(super) fn down_detail(&self) -> String {
        self.down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_string()
    }

    /// The late target's tools did not fit the mix.
    pub(super) fn mix_error(&self) -> Option<PlanError> {
        self.mix_error.get().cloned()
    }
}

/// The connector of a run: the connection it publishes to, the plan it connects and resolves the
/// mix with, and the run's stop (it requests one on a mix mismatch).
pub(super) struct Connector {
    pub conn: Arc<Connection>,
    pub plan: Plan,
    pub stop: Stop,
}

/// Starts the connector; it ends once connected, on a mix mismatch, or when `halt` is cancelled.
pub(super) fn spawn(
    connector: Connector,
    readiness: Readiness,
    halt: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        connect_loop(&connector, &readiness, &halt).await;
        // Nobody waits for an attempt that will not come.
        connector.conn.attempted.notify_waiters();
    })
}

/// Waits until the connector's next attempt ends, the run is connected, or `stop` (the run's soft
/// stop) is cancelled.
pub(super) async fn wait_for_attempt(conn: &Connection, stop: &CancellationToken) {
    let attempted = conn.attempted.notified();
    tokio::pin!(attempted);
    attempted.as_mut().enable();
    if conn.live().is_some() {
        return;
    }
    tokio::select! {
        _ = attempted => {}
        _ = stop.cancelled() => {}
    }
}

/// Why an attempt did not connect.
enum Failed {
    /// Try again later (the reason, credential-free).
    Retry(String),
    /// The server is up but does not fit the mix: stop the run.
    Mix(PlanError),
}

async fn connect_loop(connector: &Connector, readiness: &Readiness, halt: &CancellationToken) {
    let mut delay = FIRST_DELAY;
    loop {
        // Jitter in [delay/2, delay]: several soak instances do not retry in lockstep.
        let wait = delay.mul_f64(rand::rng().random_range(0.5..=1.0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = halt.cancelled() => return,
        }
        let attempt = tokio::select! {
            a = attempt(connector) => a,
            _ = halt.cancelled() => return,
        };
        match attempt {
            Ok(live) => {
                let n = &live.client.negotiated();
                tracing::info!(
                    protocol = %n.protocol_version,
                    server = n.server_name.as_deref().unwrap_or("?"),
                    version = n.server_version.as_deref().unwrap_or("?"),
                    "connected"
                );
                if halt.is_cancelled() {
                    live.client.shutdown().await;
                    return;
                }
                let _ = connector.conn.live.set(Arc::new(live));
                readiness.set_ready(true);
                return;
            }
            Err(Failed::Mix(e)) => {
                tracing::error!("the target came up but does not fit the mix: {e}");
                let _ = connector.conn.mix_error.set(e);
                connector.stop.request(StopReason::MixMismatch);
                return;
            }
            Err(Failed::Retry(reason)) => {
                delay = (delay * 2).min(MAX_DELAY);
                let detail = not_connected(&reason);
                let mut down = connector
                    .conn
                    .down
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                // Warn when the reason changes; the same failure again is only debug.
                if *down != detail {
                    tracing::warn!(retry_within = ?delay, "still not connected: {reason}");
                } else {
                    tracing::debug!(retry_within = ?delay, "still not connected: {reason}");
                }
                *down = detail;
            }
        }
        connector.conn.attempted.notify_waiters();
    }
}

/// One attempt: connect, list the tools, resolve the mix against them.
async fn attempt(connector: &Connector) -> Result<Live, Failed> {
    let url = &connector.plan.client.url;
    let scrub = |e: &dyn std::fmt::Display| scrub_url_secrets(&e.to_string(), url);
    let client = McpClient::connect(connector.plan.client.clone())
        .await
        .map_err(|e| {
            if e.is_refused() {
                connector.conn.refused.fetch_add(1, Ordering::Relaxed);
            }
            Failed::Retry(scrub(&e))
        })?;
    let tools = match client.list_tools().await {
        Ok(t) => t,
        Err(e) => {
            client.shutdown().await;
            return Err(Failed::Retry(format!("listing the tools: {}", scrub(&e))));
        }
    };
    let mut plan = connector.plan.clone();
    if let Err(e) = plan.resolve_tools(&tools) {
        client.shutdown().await;
        return Err(Failed::Mix(e));
    }
    Ok(Live {
        client,
        mix: plan.mix,
    })
}
