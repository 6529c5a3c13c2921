//! The recorder: one cheap [`Record`] per call, fanned out to the `metrics` facade (→ `/metrics`),
//! HDR histograms per operation and stage (→ summary), the timeline, bounded error tables and the
//! optional raw JSON-lines stream. Memory never grows with run length.
//!
//! How it is used: the engine hands over one [`Record`] per call (dropped slots included) with
//! `Recorder::record` (the hot path, in `call`), sets the run's `t0` and the schedule's end
//! (`start`, `end_schedule`) and the live gauges (here); reports read `Recorder::snapshot`
//! ([`snapshot`]). Per-operation counts, histograms and timelines are in `ops`; per-stage rows are
//! wall-clock windows (`stages`); the live SLO window is [`window`]; every exported metric is
//! described in one table in [`names`] (docs/metrics.md is held to it).
//!
//! The metric handles come from a private `PrometheusRecorder` (no global recorder, see
//! `exporter`), so many recorders can live in one process; [`Recorder::prometheus`] gives the
//! handle `/metrics` renders. A background thread runs the exporter's upkeep every few seconds
//! while the recorder lives.

mod call;
pub mod errors;
pub mod events;
mod exporter;
pub mod names;
mod ops;
pub mod raw;
pub mod resources;
pub mod snapshot;
mod stages;
pub(crate) mod timeline;
pub mod window;

pub use exporter::latency_buckets;
pub use ops::new_hist;
pub use snapshot::Snapshot;
pub use stages::StagePlan;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use metrics::{Counter, Gauge, Label, Recorder as _};
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};

use crate::mcp::{OutcomeKind, SessionStats};
use crate::plan::Slo;

use exporter::{Gauges, META, export_slos, key};
use ops::{OpSlot, timeline_hist};
use snapshot::Hist;
use stages::Stages;

/// One finished (or dropped) call.
#[derive(Debug, Clone)]
pub struct Record {
    /// Index of the operation in `plan.mix.ops`.
    pub op: usize,
    /// Index of the stage the call was scheduled in.
    pub stage: usize,
    pub kind: OutcomeKind,
    pub status: Option<u16>,
    pub rpc_code: Option<i64>,
    /// When the schedule meant the call to start; latency is measured from here.
    pub intended: Instant,
    /// When the request actually left; `None` for dropped slots.
    pub sent: Option<Instant>,
    /// When the outcome was known (for dropped slots: when the drop was decided).
    pub done: Instant,
    pub bytes: u64,
    pub detail: Option<String>,
    pub session: Option<u32>,
    pub retry_after: Option<f64>,
}

/// What the run is; exported as `mcp_soak_run_info` and echoed in the summary.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunInfo {
    pub run_id: String,
    /// Target URL; credentials, query and fragment are stripped by [`Recorder::new`].
    pub target: String,
    /// Negotiated (or requested) protocol revision.
    pub protocol: String,
    /// How the target is reached (`streamable-http`, `legacy-sse` or `stdio`).
    pub transport: crate::mcp::TargetTransport,
    /// Static labels (`[run.labels]`); with `run_id`, global labels on every exported series.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Everything the recorder needs to know up front (label sets are fixed here: bounded).
#[derive(Debug, Clone, Default)]
pub struct RecorderSetup {
    /// Operation names in plan order (`Record::op` indexes this).
    pub op_names: Vec<String>,
    /// Every stage in plan order (`Record::stage` indexes this): target rate and window start.
    pub stages: Vec<StagePlan>,
    pub slos: Vec<Slo>,
    /// Raw JSON-lines stream path, if any.
    pub raw: Option<PathBuf>,
    pub run_info: RunInfo,
}

/// Errors of the recorder.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot create a latency histogram: {0}")]
    Histogram(#[from] hdrhistogram::CreationError),
    #[error("invalid histogram buckets: {0}")]
    Buckets(#[from] metrics_exporter_prometheus::BuildError),
    #[error("cannot open the raw stream {path}: {error}")]
    RawOpen {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write the raw stream {path}: {error}")]
    RawWrite {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Largest latency the histograms track (longer values are clamped to it): one hour, in µs.
pub const MAX_TRACKED_US: u64 = 3_600_000_000;
/// Distinct (op, kind, message) entries kept in the error table.
pub const ERROR_TABLE_CAP: usize = 100;
/// Timeline points kept before adjacent points are merged.
pub const TIMELINE_MAX_POINTS: usize = 1000;
/// Points kept per operation's own timeline (coarser than the run's: one per tool adds up).
pub const OP_TIMELINE_MAX_POINTS: usize = 120;
/// First timeline interval.
pub const TIMELINE_INTERVAL: Duration = Duration::from_secs(1);
/// How often the exporter's upkeep runs (drains histogram samples into buckets).
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

struct Inner {
    prom: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Set when the run stops sending (frozen elapsed), cleared when it runs again.
    ended: Mutex<Option<Instant>>,
    ops: Vec<OpSlot>,
    stages: Stages,
    /// Latency of calls that got no answer but were attempted, per outcome kind (µs).
    failed: Mutex<Vec<Hist>>,
    gauges: Gauges,
    lag: Mutex<Hist>,
    /// Handshake times per [`HandshakeKind::ALL`] (µs).
    handshakes: Mutex<Vec<Hist>>,
    timeline: Mutex<timeline::Timeline>,
    errors: Mutex<errors::ErrorTable>,
    raw: Option<raw::RawSink>,
    run_info: RunInfo,
    /// The SLOs judged now: replaced by a reload (SIGHUP).
    slos: Mutex<Vec<Slo>>,
    in_flight: AtomicU64,
    sessions: Mutex<SessionStats>,
    /// Per SLO objective: seconds in breach over the sliding window and the worst full window.
    slo_windows: Mutex<Vec<(f64, Option<f64>)>>,
    /// Per SLO objective: `mcp_soak_slo_failing` (1 while it fails over the window).
    slo_failing: Mutex<Vec<Gauge>>,
    /// Records whose `op` index was out of range (a bug upstream; counted, never a panic).
    unknown_op: AtomicU64,
    /// The stdio pool's latest resource sample (the soak sampler reads it for a stdio target).
    server_sample: Mutex<Option<crate::mcp::stdio::ProcessSample>>,
    _upkeep_stop: mpsc::Sender<()>,
}

/// The recorder; clone it freely (it is an `Arc`).
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("run_info", &self.inner.run_info)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    /// Builds the exporter (real histogram buckets, one on every SLO threshold), registers every
    /// metric handle, and opens the raw stream if asked. Call it right before the run sends.
    pub fn new(setup: RecorderSetup) -> Result<Recorder, RecordError> {
        let prom = exporter::build(&setup)?;
        let handle = prom.handle();

        let mut run_info = setup.run_info.clone();
        run_info.target = crate::secret::strip_credentials(&run_info.target);

        let ops = setup
            .op_names
            .iter()
            .map(|name| OpSlot::register(&prom, name))
            .collect::<Result<Vec<_>, RecordError>>()?;
        let gauges = Gauges::register(&prom, setup.stages.first().map(|s| s.target_rate));
        exporter::register_info(&prom, &run_info);
        let slo_failing = export_slos(&prom, &setup.slos);
        let start = Instant::now();
        let start_wall = SystemTime::now();
        let raw = match &setup.raw {
            Some(path) => Some(raw::RawSink::open(
                path,
                setup.op_names.clone(),
                (start, start_wall),
            )?),
            None => None,
        };
        let stop_tx = exporter::spawn_upkeep(handle.clone());

        let failed = OutcomeKind::ALL
            .iter()
            .map(|_| new_hist())
            .collect::<Result<_, _>>()?;
        let inner = Inner {
            prom,
            handle,
            ended: Mutex::new(None),
            ops,
            stages: Stages::new(setup.stages, start)?,
            failed: Mutex::new(failed),
            gauges,
            lag: Mutex::new(new_hist()?),
            handshakes: Mutex::new(vec![new_hist()?, new_hist()?]),
            timeline: Mutex::new(timeline::Timeline::new(
                TIMELINE_INTERVAL,
                TIMELINE_MAX_POINTS,
                timeline_hist()?,
            )),
            errors: Mutex::new(errors::ErrorTable::new(ERROR_TABLE_CAP)),
            raw,
            run_info,
            slos: Mutex::new(setup.slos),
            in_flight: AtomicU64::new(0),
            sessions: Mutex::new(SessionStats::default()),
            slo_windows: Mutex::new(Vec::new()),
            slo_failing: Mutex::new(slo_failing),
            unknown_op: AtomicU64::new(0),
            server_sample: Mutex::new(None),
            _upkeep_stop: stop_tx,
        };
        Ok(Recorder {
            inner: Arc::new(inner),
        })
    }

    /// The handle `/metrics` renders.
    pub fn prometheus(&self) -> PrometheusHandle {
        self.inner.handle.clone()
    }

    /// The schedule starts at `t0`: stage windows, the timeline and elapsed time count from here.
    /// The engine calls it once, with the same `t0` the pacer uses.
    pub fn start(&self, t0: Instant) {
        self.inner.stages.start(t0);
    }

    /// The schedule changed at `at` (or started): from then on its stages begin as `segments`
    /// say (offsets from `t0`, from the pacer's [`Course::layout`](crate::schedule::control::Course::layout)),
    /// and the per-stage windows follow.
    pub fn relayout(
        &self,
        at: Instant,
        segments: &[crate::schedule::control::Segment],
    ) -> Result<(), RecordError> {
        self.inner.stages.relayout(at, segments)
    }

    /// The stage (0-based) the schedule is in now, by the per-stage windows; None once it ended.
    pub fn stage_now(&self) -> Option<usize> {
        self.inner.stages.stage_at(Instant::now())
    }

    /// The schedule stopped sending at `at` (it ran to its end, or was stopped): calls that end
    /// later belong to the drain row, and the last stage's window ends here.
    pub fn end_schedule(&self, at: Instant) {
        self.inner.stages.end_schedule(at);
    }

    /// The schedule is in stage `idx` (0-based) and asks for `target_rate` now (a ramp changes it
    /// within a stage). `mcp_soak_stage` shows the stage number as everywhere else: from 1.
    pub fn set_stage(&self, idx: usize, target_rate: f64) {
        let inner = &*self.inner;
        inner.gauges.stage.set((idx + 1) as f64);
        inner.gauges.target_rate.set(target_rate);
    }

    /// Calls in flight now.
    pub fn set_in_flight(&self, n: u64) {
        self.inner.in_flight.store(n, Ordering::Relaxed);
        self.inner.gauges.in_flight.set(n as f64);
    }

    /// Session counters from the client (all but `active` are cumulative).
    pub fn set_sessions(&self, s: SessionStats) {
        *lock(&self.inner.sessions) = s;
        let g = &self.inner.gauges;
        g.sessions_active.set(s.active as f64);
        g.sessions_initialized.absolute(s.initialized);
        g.sessions_expired.absolute(s.expired);
        g.sessions_deleted.absolute(s.deleted);
        g.sessions_abandoned.absolute(s.abandoned);
        g.sessions_reinitialized.absolute(s.reinitialized);
        g.sessions_refused.absolute(s.refused);
    }

    /// A gauge on this run's exporter (with the run identity labels), for the target's resource
    /// sampler ([`resources::sample`]).
    pub fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.inner.prom.register_gauge(&key(name, labels), &META)
    }

    /// A counter on this run's exporter, like [`Recorder::gauge`].
    pub fn counter(&self, name: &'static str, labels: Vec<Label>) -> Counter {
        self.inner.prom.register_counter(&key(name, labels), &META)
    }

    /// The stdio server processes' resource use (sampled by the engine's ticker).
    pub fn set_server_processes(&self, p: &crate::mcp::stdio::ProcessSample) {
        let g = &self.inner.gauges.server;
        g.processes.set(p.running as f64);
        g.restarts.absolute(p.restarts);
        g.resident.set(p.resident_bytes as f64);
        g.cpu.set(p.cpu_seconds);
        g.fds.set(p.open_fds as f64);
        *lock(&self.inner.server_sample) = Some(*p);
    }

    /// The stdio pool's latest resource sample, if the target is a stdio pool that was sampled.
    pub fn server_processes(&self) -> Option<crate::mcp::stdio::ProcessSample> {
        *lock(&self.inner.server_sample)
    }

    /// The run sends traffic (true) or has stopped (false: see [`Recorder::stop_at`], now).
    pub fn set_running(&self, running: bool) {
        if running {
            self.inner.gauges.running.set(1.0);
            *lock(&self.inner.ended) = None;
        } else {
            self.stop_at(Instant::now());
        }
    }

    /// The run ended at `at`: elapsed time freezes there, and the schedule (if it had not ended
    /// yet) ends there too.
    pub fn stop_at(&self, at: Instant) {
        let inner = &*self.inner;
        inner.gauges.running.set(0.0);
        lock(&inner.ended).get_or_insert(at);
        inner.stages.end_schedule(at);
    }

    /// Per SLO objective (in verdict order): seconds in breach over the sliding window and the
    /// worst full window, as tracked by the engine.
    /// The SLOs judged now (the plan's, or the last reload's).
    pub fn slos(&self) -> Vec<Slo> {
        lock(&self.inner.slos).clone()
    }

    /// Replaces the SLOs judged from now on (a reload): the final verdict and the exported
    /// thresholds follow. The histogram buckets stay those of the start.
    pub fn set_slos(&self, slos: Vec<Slo>) {
        let mut failing = lock(&self.inner.slo_failing);
        // An objective the reload dropped is not failing any more.
        for g in failing.iter() {
            g.set(0.0);
        }
        *failing = export_slos(&self.inner.prom, &slos);
        *lock(&self.inner.slos) = slos;
    }

    pub fn set_slo_windows(&self, tracked: Vec<(f64, Option<f64>)>) {
        *lock(&self.inner.slo_windows) = tracked;
    }

    /// Per SLO objective (in verdict order): whether it fails over the sliding window now.
    pub fn set_slo_failing(&self, failing: &[bool]) {
        for (g, f) in lock(&self.inner.slo_failing).iter().zip(failing) {
            g.set(if *f { 1.0 } else { 0.0 });
        }
    }

    /// Calls/s completed over the last progress interval (computed by the engine).
    pub fn set_achieved_rate(&self, rate: f64) {
        self.inner.gauges.achieved_rate.set(rate);
    }

    /// Flushes and closes the raw stream (if any). Call once when the run is over.
    pub fn finish(&self) -> Result<(), RecordError> {
        match &self.inner.raw {
            Some(raw) => raw.close(),
            None => Ok(()),
        }
    }

    /// Records whose operation index was out of range (should stay 0).
    pub fn unknown_op_records(&self) -> u64 {
        self.inner.unknown_op.load(Ordering::Relaxed)
    }
}
