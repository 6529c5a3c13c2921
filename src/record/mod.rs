//! The recorder: one cheap [`Record`] per call, fanned out to the `metrics` facade (→ `/metrics`),
//! HDR histograms per operation and stage (→ summary), the timeline, bounded error tables and the
//! optional raw JSON-lines stream. Memory never grows with run length.
//!
//! CONTRACT (used by the engine and the report):
//! * [`Record`] — what the engine hands over for every call, dropped slots included.
//! * `Recorder::new(RecorderSetup)`, `Recorder::record(Record)`, `Recorder::snapshot() -> Snapshot`,
//!   plus gauges set by the engine (stage, target rate, in-flight, sessions).
//! * [`names`] — every exported metric name (the README table is written against it).

pub mod names;
pub mod snapshot;

pub use snapshot::Snapshot;

use std::time::Instant;

use crate::mcp::OutcomeKind;

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
