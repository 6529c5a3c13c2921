//! A point-in-time copy of everything the recorder knows, and how the recorder takes it; reports
//! are functions of a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::mcp::OutcomeKind;
use crate::mcp::handshake::HandshakeKind;

use super::{lock, raw};

/// Counts per outcome kind, indexed by [`OutcomeKind::index`].
pub type OutcomeCounts = [u64; OutcomeKind::ALL.len()];

/// The counts per outcome kind as they are now.
pub(super) fn load_counts(c: &[AtomicU64; OutcomeKind::ALL.len()]) -> OutcomeCounts {
    std::array::from_fn(|i| c[i].load(Ordering::Relaxed))
}

/// Latency histograms are recorded in microseconds.
pub type Hist = Histogram<u64>;

/// Everything measured so far.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Per operation, in plan order.
    pub ops: Vec<OpStats>,
    /// Per stage, in plan order: what happened in each stage's wall-clock window.
    pub stages: Vec<StageStats>,
    /// What ended after the schedule stopped (in-flight calls draining).
    pub drain: StageStats,
    /// Latency from the intended send of calls that got no answer (timeout, connect after the
    /// request left, a call cancelled at stop), per outcome kind, µs; never-sent slots are absent.
    pub failed_latency: Vec<(OutcomeKind, Hist)>,
    /// Bounded timeline, oldest first.
    pub timeline: Vec<TimelinePoint>,
    /// Most frequent error messages (bounded), most frequent first.
    pub top_errors: Vec<ErrorCount>,
    /// Schedule lag (actual send − intended), microseconds.
    pub schedule_lag: Hist,
    /// What the run is (id, target, protocol, transport).
    pub run_info: super::RunInfo,
    /// The SLOs the recorder was set up with.
    pub slos: Vec<crate::plan::Slo>,
    /// Session counters as last set by the engine.
    pub sessions: crate::mcp::SessionStats,
    /// Per SLO objective (in verdict order): seconds in breach over the sliding window and the
    /// worst full window, as the engine tracked them.
    pub slo_windows: Vec<(f64, Option<f64>)>,
    /// Handshakes calls did, per kind seen (µs): not part of any service time.
    pub handshakes: Vec<(crate::mcp::handshake::HandshakeKind, Hist)>,
    /// The stage (0-based) the schedule is in, by the same windows as the per-stage rows; None once
    /// the schedule ended.
    pub current_stage: Option<usize>,
    /// Calls in flight as last set by the engine.
    pub in_flight: u64,
    /// Raw-stream lines written and lines lost to back-pressure or I/O errors (0 without `--raw`).
    pub raw_written: u64,
    pub raw_lost: u64,
    /// Width of one timeline interval now (it doubles each time the timeline is coarsened).
    pub timeline_interval: Duration,
}

/// Total of counts.
pub fn total(counts: &OutcomeCounts) -> u64 {
    counts.iter().sum()
}

/// Calls that got an answer or failed on the wire: everything but dropped slots.
pub fn completed(counts: &OutcomeCounts) -> u64 {
    total(counts) - counts[OutcomeKind::Dropped.index()]
}

/// Completed calls that were not `ok`.
pub fn errors(counts: &OutcomeCounts) -> u64 {
    completed(counts) - counts[OutcomeKind::Ok.index()]
}

/// Whether a call of this kind got an answer from the server (an error reply is an answer; a
/// timeout, a failed connection and a dropped slot are not). Latency percentiles are over these.
pub fn answered(kind: OutcomeKind) -> bool {
    !matches!(
        kind,
        OutcomeKind::Timeout | OutcomeKind::Connect | OutcomeKind::Dropped
    )
}

/// One operation's numbers.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub name: String,
    pub counts: OutcomeCounts,
    /// From the intended send time, every call that got an answer ([`answered`]), µs.
    pub latency: Hist,
    /// From the actual send to the reply, every call that got an answer, µs.
    pub service: Hist,
    /// From the intended send time, successful (`ok`) calls only: the SLO's latency SLI, µs.
    pub ok_latency: Hist,
    /// This operation's own timeline (at most `OP_TIMELINE_MAX_POINTS` points), oldest first.
    pub timeline: Vec<TimelinePoint>,
}

/// One stage's numbers (or the drain's), with its operations folded together.
#[derive(Debug, Clone)]
pub struct StageStats {
    /// 0-based position in the plan (the drain's is the number of stages).
    pub index: usize,
    pub target_rate: f64,
    /// Where the stage's window starts, from the run's `t0`.
    pub start: Duration,
    /// How long the window is (so far, while it runs).
    pub elapsed: Duration,
    /// Slots the schedule meant for this stage, dropped ones included (0 for the drain).
    pub scheduled: u64,
    /// Requests that left inside the window.
    pub sent: u64,
    /// Calls that ended inside the window, by outcome.
    pub counts: OutcomeCounts,
    /// Calls that ended inside the window and got an answer.
    pub latency: Hist,
    pub service: Hist,
}

/// One interval of the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TimelinePoint {
    /// Seconds since start at the interval's start.
    pub start_s: f64,
    pub duration_s: f64,
    /// Completed calls that ended in the interval.
    pub calls: u64,
    /// Of those, calls that were not `ok`.
    pub errors: u64,
    /// Latency from the intended send time (after coarsening: p50 calls-weighted, p95/p99 the max).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Calls by outcome (kinds seen only), dropped slots included (by when they were dropped).
    #[serde(default)]
    pub outcomes: std::collections::BTreeMap<OutcomeKind, u64>,
    /// The most calls in flight seen in the interval (sampled about once a second).
    #[serde(default)]
    pub max_in_flight: u64,
    /// The worst schedule lag (actual send − intended send) of a call sent in the interval.
    #[serde(default)]
    pub max_lag_ms: f64,
}

/// How often one error message was seen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErrorCount {
    pub op: String,
    pub kind: OutcomeKind,
    pub message: String,
    pub count: u64,
}

impl super::Recorder {
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
            .map(|(op, kind, message, count)| ErrorCount {
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
            current_stage: inner.stages.stage_at(end),
            in_flight: inner.in_flight.load(Ordering::Relaxed),
            raw_written: inner.raw.as_ref().map_or(0, raw::RawSink::written),
            raw_lost: inner.raw.as_ref().map_or(0, raw::RawSink::lost),
            timeline_interval,
        }
    }
}
