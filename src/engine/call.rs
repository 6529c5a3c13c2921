//! One call: send it through the client, feed captures, hand one Record to the recorder.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tracing::Instrument;

use crate::mcp::{CallOutcome, McpRequest, OutcomeKind};
use crate::record::Record;

use super::{Live, Shared};

/// The live connection for a slot of operation `op` due at `intended`. While the target is not
/// connected, records the slot as a `connect` outcome ("not connected: <reason>", nothing sent)
/// and returns None.
pub(super) fn live(
    shared: &Shared,
    op: usize,
    stage: usize,
    intended: Instant,
) -> Option<Arc<Live>> {
    if let Some(live) = shared.conn.live() {
        return Some(live.clone());
    }
    let detail = shared.conn.down_detail();
    shared.recorder.record(Record {
        kind: OutcomeKind::Connect,
        detail: Some(detail),
        ..dropped(op, stage, intended, "not connected")
    });
    None
}

/// Sends `request` for operation `op` through `live`, scheduled at `intended` in `stage`, and
/// records the outcome.
///
/// The call timeout counts from `intended`: time spent waiting for a connection or behind the
/// schedule is part of what the user waits. A call still running when the hard stop fires is
/// cancelled and counted as a timeout, timed from `intended` to the cancel, with no send time (so
/// neither service time nor schedule lag is made up for it).
pub(super) async fn execute(
    shared: &Shared,
    live: &Live,
    op: usize,
    stage: usize,
    intended: Instant,
    request: McpRequest,
) {
    shared.in_flight.fetch_add(1, Ordering::Relaxed);
    let operation = &live.mix.ops[op];
    let keep = operation.wants_result();
    // One span per call; disabled at its call site (next to free) unless spans are exported.
    let span = tracing::info_span!(
        target: crate::telemetry::CALL_TARGET,
        "mcp.call",
        "mcp.tool" = %operation.name,
        "mcp.method" = request.method(),
        "mcp.protocol" = %live.client.negotiated().protocol_version,
        "mcp.stage" = stage,
        "mcp.outcome" = tracing::field::Empty,
        "mcp.session" = tracing::field::Empty,
        "http.response.status_code" = tracing::field::Empty,
        "otel.status_code" = tracing::field::Empty,
    );
    let timeout = shared.plan.client.timeout;
    let deadline = tokio::time::Instant::from_std(intended + timeout);
    let unanswered = |detail: String| {
        let now = Instant::now();
        let outcome = CallOutcome {
            detail: Some(detail),
            ..CallOutcome::new(OutcomeKind::Timeout, now, now)
        };
        (outcome, false)
    };
    // The client's one timer is this deadline.
    let (outcome, was_sent) = tokio::select! {
        // Boxed: the call's state machine is kilobytes, and an unboxed one would be copied
        // whole each time the task is spawned and its stage changes.
        out = Box::pin(live.client.call_until(&request, keep, deadline).instrument(span.clone())) => match out {
            Some(out) => (out, true),
            None => unanswered(format!("no complete reply within {timeout:?} of the intended send")),
        },
        _ = shared.hard_stop.cancelled() => {
            shared.cancelled.fetch_add(1, Ordering::Relaxed);
            unanswered("cancelled: still in flight when the grace period ended".into())
        }
    };
    if !span.is_disabled() {
        span.record("mcp.outcome", outcome.kind.as_str());
        span.record(
            "otel.status_code",
            if outcome.kind.is_ok() { "OK" } else { "ERROR" },
        );
        if let Some(s) = outcome.session {
            span.record("mcp.session", s);
        }
        if let Some(s) = outcome.status {
            span.record("http.response.status_code", s);
        }
    }
    shared.recorder.record_handshakes(&outcome.handshakes);
    if let Some(secs) = outcome.retry_after {
        shared.admission.pause(op, outcome.done, secs);
    }
    if let Some(result) = &outcome.result {
        operation.capture(result, &shared.captures);
    }
    shared
        .recorder
        .record(record(op, stage, intended, outcome, was_sent));
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// The Record of a completed call; `was_sent` false when the engine gave up on it (timeout from
/// the intended send, hard stop) and its send time is not known.
fn record(op: usize, stage: usize, intended: Instant, o: CallOutcome, was_sent: bool) -> Record {
    Record {
        op,
        stage,
        kind: o.kind,
        status: o.status,
        rpc_code: o.rpc_code,
        intended,
        // A call can only be sent after it was meant to be; never report negative lag.
        sent: was_sent.then(|| o.sent.max(intended)),
        done: o.done.max(intended),
        bytes: o.bytes,
        detail: o.detail,
        session: o.session,
        retry_after: o.retry_after,
    }
}

/// The Record of a slot that was not started, and why (in-flight cap, operation ceiling, Retry-After).
pub(super) fn dropped(op: usize, stage: usize, intended: Instant, why: &'static str) -> Record {
    Record {
        op,
        stage,
        kind: OutcomeKind::Dropped,
        status: None,
        rpc_code: None,
        intended,
        sent: None,
        done: Instant::now(),
        bytes: 0,
        detail: Some(why.into()),
        session: None,
        retry_after: None,
    }
}
