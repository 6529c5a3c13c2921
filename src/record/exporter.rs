//! The Prometheus side of the recorder: the run's private exporter (real histogram buckets, one on
//! every SLO threshold; the run's identity as global labels), every metric described from the one
//! table in [`names`](super::names), the run-wide gauges and counters registered once, the SLO
//! thresholds as gauges, and the upkeep thread that drains histogram samples into buckets.

use std::sync::mpsc;

use metrics::{Counter, Gauge, Key, Label, Metadata, Recorder as _};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::mcp::handshake::HandshakeKind;
use crate::plan::{Objective, Slo};

use super::{RecordError, RecorderSetup, RunInfo, UPKEEP_INTERVAL, names};

pub(super) static META: Metadata<'static> =
    Metadata::new("mcp_soak", metrics::Level::INFO, Some(module_path!()));

/// The run's exporter: global labels, histogram buckets and every metric described.
pub(super) fn build(setup: &RecorderSetup) -> Result<PrometheusRecorder, RecordError> {
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
    describe(&prom);
    Ok(prom)
}

pub(super) struct Gauges {
    pub(super) target_rate: Gauge,
    pub(super) achieved_rate: Gauge,
    pub(super) in_flight: Gauge,
    pub(super) sessions_active: Gauge,
    pub(super) sessions_initialized: Counter,
    pub(super) sessions_expired: Counter,
    pub(super) sessions_deleted: Counter,
    pub(super) sessions_abandoned: Counter,
    pub(super) sessions_reinitialized: Counter,
    pub(super) sessions_refused: Counter,
    pub(super) stage: Gauge,
    pub(super) running: Gauge,
    pub(super) dropped: Counter,
    pub(super) lag: metrics::Histogram,
    /// Per [`HandshakeKind::ALL`].
    pub(super) handshakes: Vec<metrics::Histogram>,
    pub(super) server: ServerGauges,
}

/// The stdio server processes' gauges (zero for an HTTP target).
pub(super) struct ServerGauges {
    pub(super) processes: Gauge,
    pub(super) restarts: Counter,
    pub(super) resident: Gauge,
    pub(super) cpu: Gauge,
    pub(super) fds: Gauge,
}

impl Gauges {
    /// Registers the run-wide gauges, counters and histograms, at 0 (the target rate at the first
    /// stage's).
    pub(super) fn register(prom: &PrometheusRecorder, first_target_rate: Option<f64>) -> Gauges {
        let g = |name: &'static str| prom.register_gauge(&key(name, vec![]), &META);
        let c = |name: &'static str| prom.register_counter(&key(name, vec![]), &META);
        let gauges = Gauges {
            target_rate: g(names::TARGET_RATE),
            achieved_rate: g(names::ACHIEVED_RATE),
            in_flight: g(names::IN_FLIGHT),
            sessions_active: g(names::SESSIONS_ACTIVE),
            sessions_initialized: c(names::SESSIONS_INITIALIZED_TOTAL),
            sessions_expired: c(names::SESSIONS_EXPIRED_TOTAL),
            sessions_deleted: c(names::SESSIONS_DELETED_TOTAL),
            sessions_abandoned: c(names::SESSIONS_ABANDONED_TOTAL),
            sessions_reinitialized: c(names::SESSIONS_REINITIALIZED_TOTAL),
            sessions_refused: c(names::SESSIONS_REFUSED_TOTAL),
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
        if let Some(rate) = first_target_rate {
            gauges.target_rate.set(rate);
        }
        // The error-by-status/code counters are created on first use; declare the series names
        // by registering nothing here (their label values are bounded by `names::KNOWN_*`).
        gauges
    }
}

/// `mcp_soak_build_info` and `mcp_soak_run_info`, set to 1.
pub(super) fn register_info(prom: &PrometheusRecorder, run_info: &RunInfo) {
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
                Label::new("transport", run_info.transport.as_str()),
            ],
        ),
        &META,
    )
    .set(1.0);
}

/// Starts the upkeep thread. Upkeep drains histogram samples into buckets so memory stays flat
/// between scrapes; the thread ends when the returned sender drops (with the last `Recorder`).
pub(super) fn spawn_upkeep(handle: PrometheusHandle) -> mpsc::Sender<()> {
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let _ = std::thread::Builder::new()
        .name("mcp-soak-upkeep".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(UPKEEP_INTERVAL) {
                handle.run_upkeep();
            }
        });
    stop_tx
}

/// Exports the SLO thresholds as gauges (`tool` = the operation or `_all`) and registers, per
/// objective in verdict order, whether it fails over the window now (returned, set to 0).
pub(super) fn export_slos(prom: &PrometheusRecorder, slos: &[Slo]) -> Vec<Gauge> {
    let mut slo_failing = Vec::new();
    for slo in slos {
        let tool = slo
            .op
            .clone()
            .unwrap_or_else(|| names::ALL_TOOLS.to_owned());
        let mut set = |name: &'static str, objective: Objective, v: f64| {
            prom.register_gauge(&key(name, vec![Label::new("tool", tool.clone())]), &META)
                .set(v);
            let labels = vec![
                Label::new("tool", tool.clone()),
                Label::new("objective", objective.as_str()),
            ];
            let failing = prom.register_gauge(&key(names::SLO_FAILING, labels), &META);
            failing.set(0.0);
            slo_failing.push(failing);
        };
        if let Some(p95) = slo.p95 {
            set(
                names::SLO_LATENCY_P95_SECONDS,
                Objective::P95LatencyMs,
                p95.as_secs_f64(),
            );
        }
        if let Some(v) = slo.min_tps {
            set(
                names::SLO_MIN_CALLS_PER_SECOND,
                Objective::MinCallsPerSecond,
                v,
            );
        }
        if let Some(v) = slo.max_error_ratio {
            set(names::SLO_MAX_ERROR_RATIO, Objective::MaxErrorRatio, v);
        }
    }
    slo_failing
}

pub(super) fn key(name: &'static str, labels: Vec<Label>) -> Key {
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
