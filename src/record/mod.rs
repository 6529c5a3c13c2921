//! The recorder: one cheap [`Record`] per call, fanned out to the `metrics` facade (→ `/metrics`),
//! HDR histograms per operation and stage (→ summary), the timeline, bounded error tables and the
//! optional raw JSON-lines stream. Memory never grows with run length.
//!
//! How it is used: the engine hands over one [`Record`] per call (dropped slots included) with
//! `Recorder::record`, sets the run's `t0` and the schedule's end (`start`, `end_schedule`) and the
//! live gauges; reports read `Recorder::snapshot`. Per-stage rows are wall-clock windows
//! ([`stages`]); the live SLO window is [`window`]; every exported metric is described in one
//! table in [`names`] (docs/metrics.md is written against it).
//!
//! The metric handles come from a private `PrometheusRecorder` (no global recorder), so many
//! recorders can live in one process; [`Recorder::prometheus`] gives the handle `/metrics` renders.
//! A background thread runs the exporter's upkeep every few seconds while the recorder lives.

pub mod errors;
pub mod events;
pub mod http;
pub mod names;
pub mod raw;
pub mod resources;
pub mod snapshot;
mod stages;
pub(crate) mod timeline;
pub mod window;

pub use http::{MetricsServer, Readiness, serve};
pub use snapshot::Snapshot;
pub use stages::StagePlan;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use metrics::{Counter, Gauge, Key, Label, Metadata, Recorder as _};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::mcp::handshake::{HandshakeKind, Handshakes};
use crate::mcp::{OutcomeKind, SessionStats};
use crate::plan::Slo;

use snapshot::{Hist, OpStats, answered};
use stages::{Stages, load_counts};

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
    /// `streamable-http` or `legacy-sse`.
    pub transport: String,
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

/// Errors of the recorder and the metrics server.
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
    #[error("cannot listen for /metrics on {addr}: {error}")]
    Bind {
        addr: std::net::SocketAddr,
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

/// A latency histogram in µs, 3 significant digits, 1 µs to one hour, no auto-resize.
pub fn new_hist() -> Result<Hist, RecordError> {
    let mut h = Hist::new_with_bounds(1, MAX_TRACKED_US, 3)?;
    h.auto(false);
    Ok(h)
}

/// A timeline interval's histogram: 2 significant digits are plenty for a chart point.
fn timeline_hist() -> Result<Hist, RecordError> {
    let mut h = Hist::new_with_bounds(1, MAX_TRACKED_US, 2)?;
    h.auto(false);
    Ok(h)
}

/// `url` without user-info, query and fragment (they may carry credentials).
pub fn strip_credentials(url: &str) -> String {
    // A stdio target's label is a command line, not a URL: `@` and `/` there are not userinfo.
    if url.starts_with("stdio:") {
        return url.to_owned();
    }
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(auth_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}{host}{path}")
}

static META: Metadata<'static> =
    Metadata::new("mcp_soak", metrics::Level::INFO, Some(module_path!()));

#[derive(Debug)]
struct Hists {
    latency: Hist,
    service: Hist,
    ok: Hist,
}

struct OpSlot {
    name: String,
    counts: [AtomicU64; OutcomeKind::ALL.len()],
    calls: Vec<Counter>,
    latency: metrics::Histogram,
    service: metrics::Histogram,
    hists: Mutex<Hists>,
    /// This operation's latency over time (for per-tool charts).
    timeline: Mutex<timeline::Timeline>,
}

struct Gauges {
    target_rate: Gauge,
    achieved_rate: Gauge,
    in_flight: Gauge,
    sessions_active: Gauge,
    sessions_initialized: Counter,
    sessions_expired: Counter,
    stage: Gauge,
    running: Gauge,
    dropped: Counter,
    lag: metrics::Histogram,
    /// Per [`HandshakeKind::ALL`].
    handshakes: Vec<metrics::Histogram>,
    server: ServerGauges,
}

/// The stdio server processes' gauges (zero for an HTTP target).
struct ServerGauges {
    processes: Gauge,
    restarts: Counter,
    resident: Gauge,
    cpu: Gauge,
    fds: Gauge,
}

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
    current_stage: AtomicU64,
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

/// Exports the SLO thresholds as gauges (`tool` = the operation or `_all`) and registers, per
/// objective in verdict order, whether it fails over the window now (returned, set to 0).
fn export_slos(prom: &PrometheusRecorder, slos: &[Slo]) -> Vec<Gauge> {
    let mut slo_failing = Vec::new();
    for slo in slos {
        let tool = slo
            .op
            .clone()
            .unwrap_or_else(|| names::ALL_TOOLS.to_owned());
        let mut set = |name: &'static str, objective: &'static str, v: f64| {
            prom.register_gauge(&key(name, vec![Label::new("tool", tool.clone())]), &META)
                .set(v);
            let labels = vec![
                Label::new("tool", tool.clone()),
                Label::new("objective", objective),
            ];
            let failing = prom.register_gauge(&key(names::SLO_FAILING, labels), &META);
            failing.set(0.0);
            slo_failing.push(failing);
        };
        if let Some(p95) = slo.p95 {
            set(
                names::SLO_LATENCY_P95_SECONDS,
                "p95_latency_ms",
                p95.as_secs_f64(),
            );
        }
        if let Some(v) = slo.min_tps {
            set(names::SLO_MIN_CALLS_PER_SECOND, "min_calls_per_second", v);
        }
        if let Some(v) = slo.max_error_ratio {
            set(names::SLO_MAX_ERROR_RATIO, "max_error_ratio", v);
        }
    }
    slo_failing
}

fn key(name: &'static str, labels: Vec<Label>) -> Key {
    Key::from_parts(name, labels)
}

/// The bucket bounds of the latency histograms: the defaults plus every SLO p95 threshold.
pub fn latency_buckets(slos: &[Slo]) -> Vec<f64> {
    let mut b: Vec<f64> = names::LATENCY_BUCKETS.to_vec();
    b.extend(
        slos.iter()
            .filter_map(|s| s.p95)
            .map(|d| d.as_secs_f64())
            .filter(|v| *v > 0.0),
    );
    b.sort_by(f64::total_cmp);
    b.dedup();
    b
}

fn status_label(status: Option<u16>) -> String {
    match status {
        Some(s) if names::KNOWN_STATUSES.contains(&s) => s.to_string(),
        _ => names::OTHER.to_owned(),
    }
}

fn code_label(code: Option<i64>) -> String {
    match code {
        Some(c) if names::KNOWN_RPC_CODES.contains(&c) => c.to_string(),
        _ => names::OTHER.to_owned(),
    }
}

/// The error-table message for a failed call: its detail, or what is known about it.
fn error_message(r: &Record) -> String {
    if let Some(d) = r.detail.as_deref().filter(|d| !d.is_empty()) {
        return errors::truncate(d).to_owned();
    }
    match (r.kind, r.status, r.rpc_code) {
        (_, _, Some(c)) => format!("JSON-RPC error {c}"),
        (_, Some(s), _) => format!("HTTP {s}"),
        (k, _, _) => k.as_str().to_owned(),
    }
}

impl Recorder {
    /// Builds the exporter (real histogram buckets, one on every SLO threshold), registers every
    /// metric handle, and opens the raw stream if asked. Call it right before the run sends.
    pub fn new(setup: RecorderSetup) -> Result<Recorder, RecordError> {
        let buckets = latency_buckets(&setup.slos);
        // The run's identity on every series: shards of one run (same `run_id`) sum in the rules,
        // different runs never mix.
        let mut builder = PrometheusBuilder::new();
        if !setup.run_info.run_id.is_empty() {
            builder = builder.add_global_label("run_id", setup.run_info.run_id.clone());
        }
        for (k, v) in &setup.run_info.labels {
            builder = builder.add_global_label(k.clone(), v.clone());
        }
        let prom = builder
            .set_buckets(&buckets)?
            .set_buckets_for_metric(
                Matcher::Full(names::SCHEDULE_LAG_SECONDS.into()),
                &names::LAG_BUCKETS,
            )?
            .build_recorder();
        let handle = prom.handle();
        describe(&prom);

        let mut run_info = setup.run_info.clone();
        run_info.target = strip_credentials(&run_info.target);

        let ops = setup
            .op_names
            .iter()
            .map(|name| {
                let tool = || Label::new("tool", name.clone());
                let calls = OutcomeKind::ALL
                    .iter()
                    .map(|k| {
                        prom.register_counter(
                            &key(
                                names::CALLS_TOTAL,
                                vec![tool(), Label::new("outcome", k.as_str())],
                            ),
                            &META,
                        )
                    })
                    .collect();
                Ok(OpSlot {
                    name: name.clone(),
                    counts: Default::default(),
                    calls,
                    latency: prom
                        .register_histogram(&key(names::CALL_LATENCY_SECONDS, vec![tool()]), &META),
                    service: prom
                        .register_histogram(&key(names::CALL_SERVICE_SECONDS, vec![tool()]), &META),
                    hists: Mutex::new(Hists {
                        latency: new_hist()?,
                        service: new_hist()?,
                        ok: new_hist()?,
                    }),
                    timeline: Mutex::new(timeline::Timeline::new(
                        TIMELINE_INTERVAL,
                        OP_TIMELINE_MAX_POINTS,
                        timeline_hist()?,
                    )),
                })
            })
            .collect::<Result<Vec<_>, RecordError>>()?;

        let g = |name: &'static str| prom.register_gauge(&key(name, vec![]), &META);
        let c = |name: &'static str| prom.register_counter(&key(name, vec![]), &META);
        let gauges = Gauges {
            target_rate: g(names::TARGET_RATE),
            achieved_rate: g(names::ACHIEVED_RATE),
            in_flight: g(names::IN_FLIGHT),
            sessions_active: g(names::SESSIONS_ACTIVE),
            sessions_initialized: c(names::SESSIONS_INITIALIZED_TOTAL),
            sessions_expired: c(names::SESSIONS_EXPIRED_TOTAL),
            stage: g(names::STAGE),
            running: g(names::RUNNING),
            dropped: c(names::DROPPED_SLOTS_TOTAL),
            server: ServerGauges {
                processes: g(names::SERVER_PROCESSES),
                restarts: c(names::SERVER_RESTARTS_TOTAL),
                resident: g(names::SERVER_RESIDENT_BYTES),
                cpu: g(names::SERVER_CPU_SECONDS),
                fds: g(names::SERVER_OPEN_FDS),
            },
            lag: prom.register_histogram(&key(names::SCHEDULE_LAG_SECONDS, vec![]), &META),
            handshakes: HandshakeKind::ALL
                .iter()
                .map(|k| {
                    let labels = vec![Label::new("kind", k.as_str())];
                    prom.register_histogram(&key(names::HANDSHAKE_SECONDS, labels), &META)
                })
                .collect(),
        };
        for gauge in [
            &gauges.target_rate,
            &gauges.achieved_rate,
            &gauges.in_flight,
            &gauges.sessions_active,
        ] {
            gauge.set(0.0);
        }
        gauges.stage.set(0.0);
        gauges.running.set(0.0);
        if let Some(first) = setup.stages.first() {
            gauges.target_rate.set(first.target_rate);
        }
        // The error-by-status/code counters are created on first use; declare the series names
        // by registering nothing here (their label values are bounded by `names::KNOWN_*`).

        prom.register_gauge(
            &key(
                names::BUILD_INFO,
                vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
            ),
            &META,
        )
        .set(1.0);
        prom.register_gauge(
            &key(
                names::RUN_INFO,
                vec![
                    Label::new("run_id", run_info.run_id.clone()),
                    Label::new("target", run_info.target.clone()),
                    Label::new("protocol", run_info.protocol.clone()),
                    Label::new("transport", run_info.transport.clone()),
                ],
            ),
            &META,
        )
        .set(1.0);
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

        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let upkeep_handle = handle.clone();
        // Upkeep drains histogram samples into buckets so memory stays flat between scrapes. The
        // thread ends when the last `Recorder` clone drops (the sender goes away).
        let _ = std::thread::Builder::new()
            .name("mcp-soak-upkeep".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stop_rx.recv_timeout(UPKEEP_INTERVAL)
                {
                    upkeep_handle.run_upkeep();
                }
            });

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
            current_stage: AtomicU64::new(0),
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

    /// The schedule stopped sending at `at` (it ran to its end, or was stopped): calls that end
    /// later belong to the drain row, and the last stage's window ends here.
    pub fn end_schedule(&self, at: Instant) {
        self.inner.stages.end_schedule(at);
    }

    /// Records one call: the hot path (atomic counters, pre-registered metric handles, two short
    /// uncontended locks for the HDR histograms, one for the timeline). Never panics, never blocks
    /// on I/O.
    pub fn record(&self, r: Record) {
        let inner = &*self.inner;
        let Some(op) = inner.ops.get(r.op) else {
            inner.unknown_op.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let k = r.kind.index();
        op.counts[k].fetch_add(1, Ordering::Relaxed);
        op.calls[k].increment(1);

        // Latency from the intended send and service time from the request leaving; the
        // percentiles are over calls that got an answer. A slot never sent is counted, never timed.
        let lat = r.done.saturating_duration_since(r.intended);
        let lat_us = lat.as_micros() as u64;
        let svc = r.sent.map(|sent| r.done.saturating_duration_since(sent));
        // Schedule lag: actual send − intended send (none for a slot never sent).
        let lag = r
            .sent
            .map(|sent| sent.saturating_duration_since(r.intended));
        let svc_us = svc.map(|d| d.as_micros() as u64);
        let never_sent =
            r.kind == OutcomeKind::Dropped || (r.kind == OutcomeKind::Connect && r.sent.is_none());
        let timed = answered(r.kind).then_some((lat_us, svc_us));
        inner.stages.add(r.stage, r.kind, r.sent, r.done, timed);
        let (latency_us, service_us) = if never_sent {
            (None, None)
        } else {
            (Some(lat_us), svc_us)
        };
        if r.kind == OutcomeKind::Dropped {
            inner.gauges.dropped.increment(1);
        } else {
            if timed.is_some() {
                op.latency.record(lat.as_secs_f64());
                if let Some(d) = svc {
                    op.service.record(d.as_secs_f64());
                }
                let mut h = lock(&op.hists);
                h.latency.saturating_record(lat_us);
                if let Some(s) = svc_us {
                    h.service.saturating_record(s);
                }
                if r.kind.is_ok() {
                    h.ok.saturating_record(lat_us);
                }
            } else if !never_sent && let Some(h) = lock(&inner.failed).get_mut(k) {
                h.saturating_record(lat_us);
            }
            if let Some(lag) = lag {
                inner.gauges.lag.record(lag.as_secs_f64());
                lock(&inner.lag).saturating_record(lag.as_micros() as u64);
            }
        }
        let sample = timeline::Sample {
            at_us: r
                .done
                .saturating_duration_since(inner.stages.t0())
                .as_micros() as u64,
            kind: r.kind,
            // Percentiles over calls that got an answer, as everywhere else.
            latency_us: timed.map(|t| t.0),
            lag_us: lag.map(|l| l.as_micros() as u64),
            in_flight: inner.in_flight.load(Ordering::Relaxed),
        };
        lock(&inner.timeline).add(sample);
        lock(&op.timeline).add(sample);

        if !r.kind.is_ok() {
            lock(&inner.errors).add(r.op, r.kind, &error_message(&r));
            if r.kind == OutcomeKind::HttpError || r.status.is_some_and(|s| s >= 400) {
                let labels = vec![
                    Label::new("tool", op.name.clone()),
                    Label::new("status", status_label(r.status)),
                ];
                inner
                    .prom
                    .register_counter(&key(names::HTTP_ERRORS_TOTAL, labels), &META)
                    .increment(1);
            }
            if r.kind == OutcomeKind::RpcError {
                let labels = vec![
                    Label::new("tool", op.name.clone()),
                    Label::new("code", code_label(r.rpc_code)),
                ];
                inner
                    .prom
                    .register_counter(&key(names::RPC_ERRORS_TOTAL, labels), &META)
                    .increment(1);
            }
        }

        if let Some(raw) = &inner.raw {
            raw.send(raw::RawLine {
                done: r.done,
                op: r.op,
                stage: r.stage,
                kind: r.kind,
                latency_us,
                service_us,
                status: r.status,
                rpc_code: r.rpc_code,
                session: r.session,
                detail: r.detail,
            });
        }
    }

    /// Handshakes one call did (session initialize, token refresh), timed apart from its service time.
    pub fn record_handshakes(&self, h: &Handshakes) {
        let inner = &*self.inner;
        for (i, d) in h.spent.iter().enumerate() {
            let Some(d) = d else { continue };
            if let Some(m) = inner.gauges.handshakes.get(i) {
                m.record(d.as_secs_f64());
            }
            if let Some(hist) = lock(&inner.handshakes).get_mut(i) {
                hist.saturating_record(d.as_micros() as u64);
            }
        }
    }

    /// The schedule is in stage `idx` (0-based) and asks for `target_rate` now (a ramp changes it
    /// within a stage). `mcp_soak_stage` shows the stage number as everywhere else: from 1.
    pub fn set_stage(&self, idx: usize, target_rate: f64) {
        let inner = &*self.inner;
        inner.current_stage.store(idx as u64, Ordering::Relaxed);
        inner.gauges.stage.set((idx + 1) as f64);
        inner.gauges.target_rate.set(target_rate);
    }

    /// Calls in flight now.
    pub fn set_in_flight(&self, n: u64) {
        self.inner.in_flight.store(n, Ordering::Relaxed);
        self.inner.gauges.in_flight.set(n as f64);
    }

    /// Session counters from the client (`initialized`/`expired` are cumulative).
    pub fn set_sessions(&self, s: SessionStats) {
        *lock(&self.inner.sessions) = s;
        self.inner.gauges.sessions_active.set(s.active as f64);
        self.inner
            .gauges
            .sessions_initialized
            .absolute(s.initialized);
        self.inner.gauges.sessions_expired.absolute(s.expired);
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

    /// A copy of everything measured so far.
    pub fn snapshot(&self) -> Snapshot {
        let inner = &*self.inner;
        let now = Instant::now();
        let end = (*lock(&inner.ended)).unwrap_or(now);
        let ops = inner
            .ops
            .iter()
            .map(|o| {
                let h = lock(&o.hists);
                OpStats {
                    name: o.name.clone(),
                    counts: load_counts(&o.counts),
                    latency: h.latency.clone(),
                    service: h.service.clone(),
                    ok_latency: h.ok.clone(),
                    timeline: lock(&o.timeline).points(),
                }
            })
            .collect();
        let (stages, drain) = inner.stages.snapshot(end);
        let failed_latency = lock(&inner.failed)
            .iter()
            .zip(OutcomeKind::ALL)
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, k)| (k, h.clone()))
            .collect();
        let (timeline, timeline_interval) = {
            let t = lock(&inner.timeline);
            (t.points(), t.interval())
        };
        let top_errors = lock(&inner.errors)
            .top()
            .into_iter()
            .map(|(op, kind, message, count)| snapshot::ErrorCount {
                op: inner
                    .ops
                    .get(op)
                    .map_or_else(String::new, |o| o.name.clone()),
                kind,
                message,
                count,
            })
            .collect();
        Snapshot {
            elapsed: end.saturating_duration_since(inner.stages.t0()),
            ops,
            stages,
            drain,
            failed_latency,
            timeline,
            top_errors,
            schedule_lag: lock(&inner.lag).clone(),
            run_info: inner.run_info.clone(),
            slos: lock(&inner.slos).clone(),
            sessions: *lock(&inner.sessions),
            slo_windows: lock(&inner.slo_windows).clone(),
            handshakes: HandshakeKind::ALL
                .into_iter()
                .zip(lock(&inner.handshakes).iter())
                .filter(|(_, h)| !h.is_empty())
                .map(|(k, h)| (k, h.clone()))
                .collect(),
            current_stage: inner.current_stage.load(Ordering::Relaxed) as usize,
            in_flight: inner.in_flight.load(Ordering::Relaxed),
            raw_written: inner.raw.as_ref().map_or(0, raw::RawSink::written),
            raw_lost: inner.raw.as_ref().map_or(0, raw::RawSink::lost),
            timeline_interval,
        }
    }
}

fn describe(prom: &PrometheusRecorder) {
    for m in &names::METRICS {
        let (name, help) = (m.name.into(), m.help.into());
        match m.kind {
            names::MetricKind::Counter => prom.describe_counter(name, m.unit, help),
            names::MetricKind::Gauge => prom.describe_gauge(name, m.unit, help),
            names::MetricKind::Histogram => prom.describe_histogram(name, m.unit, help),
        }
    }
}
