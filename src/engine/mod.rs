//! A run from start to end: connect, check the mix against the server, schedule, record, stop, report.
//!
//! The engine owns no measurement logic of its own: it wires the [`crate::schedule`] loops to the
//! [`crate::mcp`] client and hands one [`crate::record::Record`] per call to the recorder.

mod call;
mod connector;
mod progress;
pub mod shutdown;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::mcp::{McpClient, Negotiated};
use crate::plan::{CapturePool, Load, Mix, Plan, PlanError};
use crate::record::Recorder;
use crate::schedule::admission::{Admission, Admit};
use crate::schedule::control::{Course, Steer};
use crate::schedule::{closed, open};
use crate::secret::{scrub_url_secrets, strip_credentials};
use crate::serve::Readiness;
use crate::timer::Clock;

pub use crate::report::summary::StopReason;
use connector::Connection;
pub use shutdown::Stop;

/// What a finished run hands to the report.
pub struct Finished {
    /// Wall-clock time the run started.
    pub started: SystemTime,
    /// Wall-clock time the run ended (after the grace period).
    pub ended: SystemTime,
    /// The negotiated protocol; None when the target never came up.
    pub negotiated: Option<Negotiated>,
    /// Why the run ended: its plan completed, a signal, an SLO breach or a mix mismatch.
    pub stop_reason: StopReason,
    /// In-flight calls still running when the grace period ended (counted as timeouts).
    pub cancelled_in_flight: u64,
    /// The target came up late and its tools did not fit the mix: the run stopped
    /// ([`StopReason::MixMismatch`]); the caller exits 2 after writing the summary.
    pub mix_error: Option<PlanError>,
}

/// The connection calls go through: the client and the mix resolved against its tools.
/// Published once (at start, or by the connector when the target comes up late) and never replaced.
struct Live {
    client: McpClient,
    mix: Mix,
}

/// What every call task of one running soak reads: the connection, the plan, the recorder and the
/// admission it goes through, the captures it feeds, and the counts it keeps. The progress ticker
/// ([`progress::Ticker`]) and the connector ([`connector::Connector`]) get their own parts.
struct Shared {
    /// The live connection, or why there is none yet (the connector writes it).
    conn: Arc<Connection>,
    recorder: Recorder,
    plan: Plan,
    captures: CapturePool,
    /// Cancelled when the grace period is over: in-flight calls give up and are counted.
    hard_stop: CancellationToken,
    /// Calls cancelled by `hard_stop`.
    cancelled: AtomicU64,
    /// Calls started and not yet recorded (the progress ticker reads it).
    in_flight: Arc<AtomicU64>,
    /// Whether a due slot may start (in-flight cap, operation ceilings, Retry-After pauses).
    admission: Admission,
}

/// Runs the plan against a connected client until it completes or `stop` fires, then drains.
///
/// The plan's mix must already be resolved against the server's tools ([`Plan::resolve_tools`]).
/// `steer` carries the runtime controls' changes ([`crate::schedule::control::idle`] for none).
pub async fn run(
    plan: Plan,
    client: McpClient,
    recorder: Recorder,
    stop: &Stop,
    steer: watch::Receiver<Steer>,
) -> anyhow::Result<Finished> {
    let live = Live {
        mix: plan.mix.clone(),
        client,
    };
    run_with(plan, Ok(live), recorder, stop, steer).await
}

/// Runs the plan while the target is down at start (`reason`: why the first connect failed).
///
/// The schedule starts at once: every slot due while not connected is recorded as a `connect`
/// outcome (`not connected: <reason>`) without sending anything. A background connector retries
/// with backoff; once connected it resolves the mix against the server's tools, publishes the
/// client, marks `readiness` ready, and calls go out normally. If the tools do not fit the mix the
/// run stops with [`StopReason::MixMismatch`] and [`Finished::mix_error`] set.
pub async fn run_connecting(
    plan: Plan,
    reason: String,
    readiness: Readiness,
    recorder: Recorder,
    stop: &Stop,
    steer: watch::Receiver<Steer>,
) -> anyhow::Result<Finished> {
    run_with(plan, Err((reason, readiness)), recorder, stop, steer).await
}

/// The one run loop: `start` is the live connection, or the first connect error and the readiness
/// flag the connector flips.
async fn run_with(
    plan: Plan,
    start: Result<Live, (String, Readiness)>,
    recorder: Recorder,
    stop: &Stop,
    steer: watch::Receiver<Steer>,
) -> anyhow::Result<Finished> {
    let started = SystemTime::now();
    let grace = plan.limits.grace;
    // One clock for the schedule and the progress ticker: the course's stages start from this t0.
    let clock = Clock::Precise;
    let t0 = clock.now();
    let op_max_rates: Vec<_> = plan.mix.ops.iter().map(|o| o.max_rate).collect();
    let admission = Admission::new(
        t0,
        &op_max_rates,
        plan.limits.max_in_flight,
        plan.limits.honor_retry_after,
    );
    let (conn, readiness) = match start {
        Ok(l) => (Connection::new(Ok(l)), None),
        Err((reason, readiness)) => (Connection::new(Err(&reason)), Some(readiness)),
    };
    let conn = Arc::new(conn);
    let in_flight = Arc::new(AtomicU64::new(0));
    let ticker = progress::Ticker::new(
        &plan,
        recorder.clone(),
        conn.clone(),
        in_flight.clone(),
        stop.clone(),
        clock.clone(),
    );
    let shared = Arc::new(Shared {
        conn,
        recorder,
        plan,
        captures: CapturePool::default(),
        hard_stop: stop.hard.clone(),
        cancelled: AtomicU64::new(0),
        in_flight,
        admission,
    });
    let tracker = TaskTracker::new();
    shared.recorder.start(t0);
    shared.recorder.set_running(true);
    let ticker = progress::spawn(ticker, t0, steer.clone());
    // Stopped when the schedule ends (or at the soft stop), whichever comes first.
    let halt = stop.soft.child_token();
    let connector = readiness.map(|r| {
        let connector = connector::Connector {
            conn: shared.conn.clone(),
            plan: shared.plan.clone(),
            stop: stop.clone(),
        };
        connector::spawn(connector, r, halt.clone())
    });

    let stop_reason = match shared.plan.load.clone() {
        Load::Open { stages, max_calls } => {
            let mut course = Course::new(&stages, max_calls, t0);
            let reason = run_open(&shared, &clock, &mut course, &tracker, stop, steer, t0).await;
            // A schedule that ran to its end ends where the pacer (as steered) says (the last slot
            // fires before that); a stopped one ends now.
            let end = match (reason, course.end()) {
                (StopReason::Completed, Some(end)) => end.max(clock.now()),
                _ => clock.now(),
            };
            shared.recorder.end_schedule(end);
            reason
        }
        Load::Closed {
            users,
            requests_per_user,
            delay,
        } => {
            let shared2 = shared.clone();
            let soft = stop.soft.clone();
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
                    let soft = soft.clone();
                    async move {
                        let now = Instant::now();
                        let started = {
                            let mut rng = rng.lock().unwrap_or_else(|p| p.into_inner());
                            let op = shared.plan.mix.pick_ready(&mut *rng, &shared.captures);
                            call::live(&shared, op, 0, now).map(|live| {
                                let request =
                                    live.mix.ops[op].build_request(&mut *rng, &shared.captures);
                                (live, op, request)
                            })
                        };
                        match started {
                            Some((live, op, request)) => {
                                call::execute(&shared, &live, op, 0, now, request).await
                            }
                            // Not connected (recorded as `connect`): one failed call per connect
                            // attempt, not a busy loop.
                            None => connector::wait_for_attempt(&shared.conn, &soft).await,
                        }
                    }
                },
            )
            .await;
            shared.recorder.end_schedule(Instant::now());
            stop.reason(StopReason::Completed)
        }
    };

    // Stop scheduling and connecting; let in-flight calls finish within the grace period, then
    // cancel them.
    halt.cancel();
    if let Some(connector) = connector {
        let _ = connector.await;
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        shared.hard_stop.cancel();
        tracker.wait().await;
    }
    let cancelled_in_flight = shared.cancelled.load(Ordering::Relaxed);
    ticker.abort();
    shared.recorder.set_running(false);
    shared.recorder.set_in_flight(0);
    let negotiated = match shared.conn.live() {
        Some(live) => {
            live.client.shutdown().await;
            Some(live.client.negotiated().clone())
        }
        None => None,
    };
    if let Some(sessions) = shared.conn.session_stats() {
        shared.recorder.set_sessions(sessions);
    }
    Ok(Finished {
        started,
        ended: SystemTime::now(),
        negotiated,
        stop_reason,
        cancelled_in_flight,
        mix_error: shared.conn.mix_error(),
    })
}

/// The open model: a task per slot, an in-flight cap that drops what cannot start. The controls
/// (`steer`) pause and re-rate the course and change the weights slots are drawn with.
async fn run_open(
    shared: &Arc<Shared>,
    clock: &Clock,
    course: &mut Course,
    tracker: &TaskTracker,
    stop: &Stop,
    mut steer: watch::Receiver<Steer>,
    t0: Instant,
) -> StopReason {
    // The global ceiling is waited on (slots are delayed, never lost): a 10 ms burst holds the rate.
    let ceiling = shared
        .plan
        .limits
        .max_rate
        .and_then(|r| open::ceiling(r, Duration::from_millis(10)));
    let mut rng = StdRng::seed_from_u64(shared.plan.seed);
    // The weights slots are drawn with: the plan's until the controls change them.
    let mut weights = Weights::new(&shared.plan.mix, steer.clone());
    let end = open::run(
        clock,
        course,
        ceiling.as_deref(),
        &stop.soft,
        &mut steer,
        // The recorder's stage windows follow the schedule as it is steered.
        |course, at| {
            if let Err(e) = shared.recorder.relayout(at, &course.layout(at, t0)) {
                tracing::warn!("per-stage windows not moved: {e}");
            }
        },
        |_k, slot, intended| {
            let op = weights.mix().pick_ready(&mut rng, &shared.captures);
            let Some(live) = call::live(shared, op, slot.stage, intended) else {
                return;
            };
            let permit = match shared.admission.admit(op, Instant::now()) {
                Admit::Go(permit) => permit,
                Admit::Drop(why) => {
                    shared
                        .recorder
                        .record(call::dropped(op, slot.stage, intended, why.message()));
                    return;
                }
            };
            let request = live.mix.ops[op].build_request(&mut rng, &shared.captures);
            let shared = shared.clone();
            tracker.spawn(async move {
                call::execute(&shared, &live, op, slot.stage, intended, request).await;
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

/// The mix slots are drawn from, with the weights the controls set last (checked at each slot: a
/// cheap look at the watch's version).
struct Weights {
    mix: Mix,
    steer: watch::Receiver<Steer>,
}

impl Weights {
    fn new(mix: &Mix, mut steer: watch::Receiver<Steer>) -> Weights {
        let mut w = Weights {
            mix: mix.clone(),
            steer: steer.clone(),
        };
        w.take(steer.borrow_and_update().weights.clone());
        w
    }

    fn mix(&mut self) -> &Mix {
        if self.steer.has_changed().unwrap_or(false) {
            let ws = self.steer.borrow_and_update().weights.clone();
            self.take(ws);
        }
        &self.mix
    }

    fn take(&mut self, weights: Option<Vec<u32>>) {
        for (op, w) in self.mix.ops.iter_mut().zip(weights.into_iter().flatten()) {
            op.weight = w;
        }
    }
}

/// Waits up to `linger` so a final scrape of `/metrics` can happen; a signal received after the
/// run ended (`signals_at_end`, from [`Stop::signals`]) or a hard stop ends it at once, even one
/// that came while the report was being written.
pub async fn linger(linger: Duration, stop: &Stop, signals_at_end: u64) {
    if linger.is_zero() {
        return;
    }
    tracing::info!(linger = ?linger, "run finished; /metrics stays up for a final scrape (Ctrl-C to skip)");
    tokio::select! {
        _ = tokio::time::sleep(linger) => {}
        _ = stop.hard.cancelled() => {}
        _ = stop.signal_after(signals_at_end) => {}
    }
}

/// Connects, reporting an unreachable target distinctly (exit 3 when required).
///
/// The error names the target without credentials: the client's own message may quote the URL as
/// given, so its chain is rendered once and scrubbed of the URL's userinfo.
pub async fn connect(plan: &Plan) -> anyhow::Result<McpClient> {
    McpClient::connect(plan.client.clone())
        .await
        .map_err(|e| connect_error(&plan.client.url, &e))
}

/// How a run's first connect went (see [`first_connect`]).
pub enum FirstConnect {
    /// Connected and negotiated.
    Connected(McpClient),
    /// The target is unreachable (refused, DNS, TLS, timeout) and not required: the run starts
    /// anyway ([`run_connecting`]). The reason names the target without credentials.
    Down(String),
}

/// The first connect of a run. An unreachable target is [`FirstConnect::Down`] unless
/// `limits.require_target` is set; that, or any other failure (the server answered but the
/// negotiation failed: wrong path, auth, protocol), is an error with a clear message (exit 3).
pub async fn first_connect(plan: &Plan) -> anyhow::Result<FirstConnect> {
    match McpClient::connect(plan.client.clone()).await {
        Ok(client) => Ok(FirstConnect::Connected(client)),
        Err(e) if e.is_unreachable() && !plan.limits.require_target => Ok(FirstConnect::Down(
            scrub_url_secrets(&e.to_string(), &plan.client.url),
        )),
        Err(e) => Err(connect_error(&plan.client.url, &e)),
    }
}

/// "connecting to <url>: <error>", without the URL's credentials.
fn connect_error(url: &str, e: &crate::mcp::ClientError) -> anyhow::Error {
    let safe = strip_credentials(url);
    anyhow::anyhow!(
        "connecting to {safe}: {}",
        scrub_url_secrets(&format!("{e:#}"), url)
    )
}
