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

use anyhow::Context;
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
    let shared = Arc::new(Shared {
        client,
        recorder,
        plan,
        captures: CapturePool::default(),
        hard_stop: stop.hard.clone(),
        cancelled: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        stop: stop.clone(),
    });
    let tracker = TaskTracker::new();
    let t0 = Instant::now();
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
    let ceiling = limits.max_rate.and_then(open::ceiling);
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let mut rng = StdRng::seed_from_u64(shared.plan.seed);
    let end = open::run(
        pacer,
        t0,
        ceiling.as_deref(),
        &stop.soft,
        |_k, slot, intended| {
            let op = shared.plan.mix.pick(&mut rng);
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                shared
                    .recorder
                    .record(call::dropped(op, slot.stage, intended));
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

/// Keeps `/metrics` up for `linger` so a final scrape sees the final counts; a signal that arrives
/// meanwhile (or a second one) ends the wait.
pub async fn linger(linger: Duration, stop: &Stop) {
    if linger.is_zero() {
        return;
    }
    tracing::info!(linger = ?linger, "run finished; /metrics stays up for a final scrape (Ctrl-C to skip)");
    let soft_already = stop.soft.is_cancelled();
    tokio::select! {
        _ = tokio::time::sleep(linger) => {}
        _ = stop.hard.cancelled() => {}
        _ = stop.soft.cancelled(), if !soft_already => {}
    }
}

/// Connects, reporting an unreachable target distinctly (exit 3 when required).
pub async fn connect(plan: &Plan) -> anyhow::Result<McpClient> {
    McpClient::connect(plan.client.clone())
        .await
        .with_context(|| {
            format!(
                "connecting to {}",
                crate::record::strip_credentials(&plan.client.url)
            )
        })
}
