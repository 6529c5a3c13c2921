//! A run from start to end: connect, check the mix against the server, schedule, record, stop, report.
//!
//! The engine owns no measurement logic of its own: it wires the [`crate::schedule`] loops to the
//! [`crate::mcp`] client and hands one [`crate::record::Record`] per call to the recorder.

mod call;
mod progress;
pub mod shutdown;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::mcp::{McpClient, Negotiated};
use crate::plan::{CapturePool, Load, Plan};
use crate::record::Recorder;
use crate::schedule::{closed, open, pacer::Pacer};

pub use shutdown::Stop;

/// Why sending stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The plan ran to its end (duration, stages, count).
    Completed,
    /// SIGINT / SIGTERM (or the caller's stop).
    Signal,
    /// An SLO failed for longer than `abort_on_breach`.
    SloBreach,
}

impl StopReason {
    /// The name used in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Completed => "completed",
            StopReason::Signal => "signal",
            StopReason::SloBreach => "slo_breach",
        }
    }
}

/// What a finished run hands to the report.
pub struct Finished {
    pub started: SystemTime,
    pub ended: SystemTime,
    pub negotiated: Option<Negotiated>,
    pub stop_reason: StopReason,
    /// In-flight calls still running when the grace period ended (counted as timeouts).
    pub cancelled_in_flight: u64,
}

/// Shared state of one running soak, handed to every call task.
struct Shared {
    client: McpClient,
    recorder: Recorder,
    plan: Plan,
    captures: CapturePool,
    /// Cancelled when the grace period is over: in-flight calls give up and are counted.
    hard_stop: CancellationToken,
    /// Calls cancelled by `hard_stop`.
    cancelled: AtomicU64,
    /// Calls started and not yet recorded.
    in_flight: AtomicU64,
    /// The run's stop handle (progress may ask for a stop on an SLO breach).
    stop: Stop,
    /// When the run's clock started (monotonic).
    t0: Instant,
    /// Per operation: µs after `t0` until which its slots are paused for a `Retry-After`
    /// (only with `honor_retry_after`).
    paused_until: Vec<AtomicU64>,
}

impl Shared {
    /// Whether operation `op` is paused for a `Retry-After` at `now`.
    fn paused(&self, op: usize, now: Instant) -> bool {
        let until = self
            .paused_until
            .get(op)
            .map_or(0, |p| p.load(Ordering::Relaxed));
        until > 0 && (now.saturating_duration_since(self.t0).as_micros() as u64) < until
    }

    /// Pauses operation `op` for `secs` from `now` (with `honor_retry_after`); the longest pause wins.
    fn pause(&self, op: usize, now: Instant, secs: f64) {
        if !self.plan.limits.honor_retry_after || !secs.is_finite() || secs <= 0.0 {
            return;
        }
        // Bounded: a hostile Retry-After cannot park an operation for more than an hour.
        let secs = secs.min(3600.0);
        let until = now.saturating_duration_since(self.t0) + Duration::from_secs_f64(secs);
        if let Some(p) = self.paused_until.get(op) {
            p.fetch_max(until.as_micros() as u64, Ordering::Relaxed);
        }
    }
}

/// Runs the plan against a connected client until it completes or `stop` fires, then drains.
pub async fn run(
    plan: Plan,
    client: McpClient,
    recorder: Recorder,
    stop: &Stop,
) -> anyhow::Result<Finished> {
    let started = SystemTime::now();
    let negotiated = Some(client.negotiated().clone());
    let grace = plan.limits.grace;
    let t0 = Instant::now();
    let paused_until = plan.mix.ops.iter().map(|_| AtomicU64::new(0)).collect();
    let shared = Arc::new(Shared {
        client,
        recorder,
        plan,
        captures: CapturePool::default(),
        hard_stop: stop.hard.clone(),
        cancelled: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        stop: stop.clone(),
        t0,
        paused_until,
    });
    let tracker = TaskTracker::new();
    shared.recorder.set_running(true);
    let ticker = progress::spawn(shared.clone(), t0, stop.soft.clone());

    let stop_reason = match shared.plan.load.clone() {
        Load::Open { stages, max_calls } => {
            let pacer = Pacer::new(&stages, max_calls);
            run_open(&shared, &pacer, t0, &tracker, stop).await
        }
        Load::Closed {
            users,
            requests_per_user,
            delay,
        } => {
            let shared2 = shared.clone();
            let rng = Arc::new(std::sync::Mutex::new(StdRng::seed_from_u64(
                shared.plan.seed,
            )));
            closed::run(
                users,
                requests_per_user,
                delay,
                &stop.soft,
                move |_user, _i| {
                    let shared = shared2.clone();
                    let rng = rng.clone();
                    async move {
                        let now = Instant::now();
                        let (op, request) = {
                            let mut rng = rng.lock().unwrap_or_else(|p| p.into_inner());
                            let op = shared.plan.mix.pick(&mut *rng);
                            (
                                op,
                                shared.plan.mix.ops[op].build_request(&mut *rng, &shared.captures),
                            )
                        };
                        call::execute(&shared, op, 0, now, request).await;
                    }
                },
            )
            .await;
            stop.reason(StopReason::Completed)
        }
    };

    // Stop scheduling; let in-flight calls finish within the grace period, then cancel them.
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        shared.hard_stop.cancel();
        tracker.wait().await;
    }
    let cancelled_in_flight = shared.cancelled.load(Ordering::Relaxed);
    ticker.abort();
    shared.recorder.set_running(false);
    shared.recorder.set_in_flight(0);
    shared.client.shutdown().await;
    shared.recorder.set_sessions(shared.client.session_stats());
    Ok(Finished {
        started,
        ended: SystemTime::now(),
        negotiated,
        stop_reason,
        cancelled_in_flight,
    })
}

/// The open model: a task per slot, an in-flight cap that drops what cannot start.
async fn run_open(
    shared: &Arc<Shared>,
    pacer: &Pacer,
    t0: Instant,
    tracker: &TaskTracker,
    stop: &Stop,
) -> StopReason {
    let limits = &shared.plan.limits;
    // The global ceiling is waited on (slots are delayed, never lost): a 10 ms burst holds the rate.
    let ceiling = limits
        .max_rate
        .and_then(|r| open::ceiling(r, Duration::from_millis(10)));
    // Per-operation ceilings: a slot over its operation's `max_rate` is not sent (counted dropped);
    // a 100 ms burst absorbs the randomness of the weighted pick.
    let op_ceilings: Vec<_> = shared
        .plan
        .mix
        .ops
        .iter()
        .map(|o| {
            o.max_rate
                .and_then(|r| open::ceiling(r, Duration::from_millis(100)))
        })
        .collect();
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut rng = StdRng::seed_from_u64(shared.plan.seed);
    let end = open::run(
        pacer,
        t0,
        ceiling.as_deref(),
        &stop.soft,
        |_k, slot, intended| {
            let op = shared.plan.mix.pick(&mut rng);
            let skip = if shared.paused(op, Instant::now()) {
                Some("paused: honoring Retry-After")
            } else if op_ceilings[op].as_ref().is_some_and(|l| l.check().is_err()) {
                Some("operation ceiling reached (mix max_rate)")
            } else {
                None
            };
            let permit = match skip {
                None => in_flight.clone().try_acquire_owned().ok(),
                Some(_) => None,
            };
            let Some(permit) = permit else {
                let why = skip.unwrap_or("in-flight cap reached");
                shared
                    .recorder
                    .record(call::dropped(op, slot.stage, intended, why));
                return;
            };
            let request = shared.plan.mix.ops[op].build_request(&mut rng, &shared.captures);
            let shared = shared.clone();
            tracker.spawn(async move {
                call::execute(&shared, op, slot.stage, intended, request).await;
                drop(permit);
            });
        },
    )
    .await;
    match end {
        open::LoopEnd::Finished => stop.reason(StopReason::Completed),
        open::LoopEnd::Stopped => stop.reason(StopReason::Signal),
    }
}

/// Waits up to `linger` so a final scrape of `/metrics` can happen; a signal received during the
/// linger (or a hard stop) ends it at once.
pub async fn linger(linger: Duration, stop: &Stop) {
    if linger.is_zero() {
        return;
    }
    tracing::info!(linger = ?linger, "run finished; /metrics stays up for a final scrape (Ctrl-C to skip)");
    tokio::select! {
        _ = tokio::time::sleep(linger) => {}
        _ = stop.hard.cancelled() => {}
        _ = stop.next_signal() => {}
    }
}

/// Connects, reporting an unreachable target distinctly (exit 3 when required).
///
/// The error names the target without credentials: the client's own message may quote the URL as
/// given, so its chain is rendered once and scrubbed of the URL's userinfo.
pub async fn connect(plan: &Plan) -> anyhow::Result<McpClient> {
    let url = &plan.client.url;
    McpClient::connect(plan.client.clone()).await.map_err(|e| {
        let safe = crate::record::strip_credentials(url);
        anyhow::anyhow!(
            "connecting to {safe}: {}",
            scrub_url_secrets(&format!("{e:#}"), url)
        )
    })
}

/// Replaces every occurrence of `url` (and of its userinfo) in `text` by the credential-free form.
pub fn scrub_url_secrets(text: &str, url: &str) -> String {
    let safe = crate::record::strip_credentials(url);
    let mut out = text.replace(url, &safe);
    if let Some(rest) = url.split_once("://").map(|(_, r)| r)
        && let Some((userinfo, _)) = rest
            .split('/')
            .next()
            .and_then(|auth| auth.rsplit_once('@'))
        && !userinfo.is_empty()
    {
        out = out.replace(userinfo, "***");
    }
    out
}
