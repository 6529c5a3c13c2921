//! A point-in-time copy of everything the recorder knows; reports are functions of a snapshot.

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::mcp::OutcomeKind;

/// Counts per outcome kind, indexed by [`OutcomeKind::index`].
pub type OutcomeCounts = [u64; OutcomeKind::ALL.len()];

/// Latency histograms are recorded in microseconds.
pub type Hist = Histogram<u64>;

/// Everything measured so far.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Per operation, in plan order.
    pub ops: Vec<OpStats>,
    /// Per stage, in plan order.
    pub stages: Vec<StageStats>,
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
    /// Index of the current (or last) stage.
    pub current_stage: usize,
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

/// One operation's (or one stage's) numbers.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub name: String,
    pub counts: OutcomeCounts,
    /// From the intended send time, every completed (non-dropped) call, µs.
    pub latency: Hist,
    /// From the actual send, every completed call, µs.
    pub service: Hist,
}

/// One stage's numbers, with its operations folded together.
#[derive(Debug, Clone)]
pub struct StageStats {
    pub index: usize,
    pub target_rate: f64,
    /// How long the stage actually ran.
    pub elapsed: Duration,
    pub counts: OutcomeCounts,
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
