//! Per-operation state: the outcome counts, the operation's metric handles (calls by outcome,
//! latency and service time), its HDR histograms for the summary and its own timeline; and the
//! shape of every latency histogram the recorder keeps.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use metrics::{Counter, Label, Recorder as _};
use metrics_exporter_prometheus::PrometheusRecorder;

use crate::mcp::OutcomeKind;

use super::exporter::{META, key};
use super::snapshot::Hist;
use super::{
    MAX_TRACKED_US, OP_TIMELINE_MAX_POINTS, RecordError, TIMELINE_INTERVAL, names, timeline,
};

/// A latency histogram in µs, 3 significant digits, 1 µs to one hour, no auto-resize.
pub fn new_hist() -> Result<Hist, RecordError> {
    let mut h = Hist::new_with_bounds(1, MAX_TRACKED_US, 3)?;
    h.auto(false);
    Ok(h)
}

/// A timeline interval's histogram: 2 significant digits are plenty for a chart point.
pub(super) fn timeline_hist() -> Result<Hist, RecordError> {
    let mut h = Hist::new_with_bounds(1, MAX_TRACKED_US, 2)?;
    h.auto(false);
    Ok(h)
}

#[derive(Debug)]
pub(super) struct Hists {
    pub(super) latency: Hist,
    pub(super) service: Hist,
    pub(super) ok: Hist,
}

pub(super) struct OpSlot {
    pub(super) name: String,
    pub(super) counts: [AtomicU64; OutcomeKind::ALL.len()],
    pub(super) calls: Vec<Counter>,
    pub(super) latency: metrics::Histogram,
    pub(super) service: metrics::Histogram,
    pub(super) hists: Mutex<Hists>,
    /// This operation's latency over time (for per-tool charts).
    pub(super) timeline: Mutex<timeline::Timeline>,
}

impl OpSlot {
    /// Registers the operation's metric handles and makes its histograms.
    pub(super) fn register(prom: &PrometheusRecorder, name: &str) -> Result<OpSlot, RecordError> {
        let tool = || Label::new("tool", name.to_owned());
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
            name: name.to_owned(),
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
    }
}
