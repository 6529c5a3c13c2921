//! The hot path: one [`Record`] per call (dropped slots included) into atomic counters,
//! pre-registered metric handles, the HDR histograms per operation and stage, the timeline, the
//! bounded error table and the raw stream; and the handshakes a call did, timed apart.

use std::sync::atomic::Ordering;

use metrics::{Label, Recorder as _};

use crate::mcp::OutcomeKind;
use crate::mcp::handshake::Handshakes;

use super::exporter::{META, key};
use super::snapshot::answered;
use super::{Record, Recorder, errors, lock, names, raw, timeline};

impl Recorder {
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
