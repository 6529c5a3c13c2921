//! Live progress and the engine-owned gauges: every tick the current stage, target rate, in-flight
//! and session gauges are set; every progress interval a status line is shown (indicatif on a
//! terminal, a structured log line otherwise), and `abort_on_breach` is checked.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::mcp::OutcomeKind;
use crate::plan::Load;
use crate::record::Snapshot;
use crate::record::snapshot::Hist;
use crate::schedule::pacer::Pacer;

use super::{Shared, StopReason};

/// Gauges are refreshed this often; the status line every `progress_interval`.
const TICK: Duration = Duration::from_secs(1);

/// Numbers of one progress interval.
struct Interval {
    calls: u64,
    errors: u64,
    dropped: u64,
    p95_ms: f64,
    rate: f64,
}

/// Starts the ticker; it ends when `stop` is cancelled (the engine aborts it after draining).
pub(super) fn spawn(
    shared: Arc<Shared>,
    t0: Instant,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { tick_loop(shared, t0, stop).await })
}

async fn tick_loop(shared: Arc<Shared>, t0: Instant, stop: CancellationToken) {
    let pacer = match &shared.plan.load {
        Load::Open { stages, max_calls } => Some(Pacer::new(stages, *max_calls)),
        Load::Closed { .. } => None,
    };
    let total = pacer.as_ref().and_then(|p| p.total_duration());
    let quiet = shared.plan.output.quiet;
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    });
    let every = shared.plan.output.progress_interval.max(TICK);
    let mut last_report = Instant::now();
    let mut previous: Option<Snapshot> = None;
    let mut breach_since: Option<Instant> = None;
    let mut current = (0, 0.0);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.cancelled() => break,
        }
        let elapsed = t0.elapsed();
        // Past the last stage the gauges keep their last values (the run is draining).
        let now_stage = pacer.as_ref().and_then(|p| p.stage_at(elapsed));
        if let Some((stage, rate)) = now_stage {
            shared.recorder.set_stage(stage, rate);
            current = (stage, rate);
        }
        let (stage, rate) = current;
        let in_flight = shared.in_flight.load(Ordering::Relaxed);
        shared.recorder.set_in_flight(in_flight);
        if let Some(live) = shared.live.get() {
            shared.recorder.set_sessions(live.client.session_stats());
            if let Some(pool) = live.client.stdio() {
                shared.recorder.set_server_processes(&pool.sample());
            }
        }
        if last_report.elapsed() < every {
            continue;
        }
        let dt = last_report.elapsed();
        last_report = Instant::now();
        let snap = shared.recorder.snapshot();
        let iv = interval(&snap, previous.as_ref(), dt);
        shared.recorder.set_achieved_rate(iv.rate);
        check_breach(&shared, &snap, &mut breach_since);
        previous = Some(snap);
        let error_pct = if iv.calls > 0 {
            100.0 * iv.errors as f64 / iv.calls as f64
        } else {
            0.0
        };
        let total_s = total.map_or_else(|| "∞".to_string(), |t| format!("{}s", t.as_secs()));
        let line = format!(
            "{:>4}s/{total_s} stage {} target {rate:.0}/s achieved {:.1}/s p95 {:.1} ms errors {error_pct:.2}% in-flight {in_flight} dropped {}",
            elapsed.as_secs(),
            stage + 1,
            iv.rate,
            iv.p95_ms,
            iv.dropped,
        );
        if let Some(bar) = &bar {
            bar.set_message(line);
            bar.tick();
        } else if !quiet {
            tracing::info!(
                target: "mcp_soak::progress",
                elapsed_s = elapsed.as_secs(),
                stage = stage + 1,
                target_rate = rate,
                achieved_rate = iv.rate,
                p95_ms = iv.p95_ms,
                error_ratio = error_pct / 100.0,
                in_flight,
                dropped = iv.dropped,
                "progress"
            );
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// The difference between two snapshots: calls, errors and p95 of the last interval.
fn interval(now: &Snapshot, before: Option<&Snapshot>, dt: Duration) -> Interval {
    let totals = |s: &Snapshot| {
        let mut calls = 0;
        let mut errors = 0;
        let mut dropped = 0;
        for op in &s.ops {
            for kind in OutcomeKind::ALL {
                let n = op.counts[kind.index()];
                match kind {
                    OutcomeKind::Dropped => dropped += n,
                    OutcomeKind::Ok => calls += n,
                    _ => {
                        calls += n;
                        errors += n;
                    }
                }
            }
        }
        (calls, errors, dropped)
    };
    let (c1, e1, d1) = totals(now);
    let (c0, e0, d0) = before.map_or((0, 0, 0), totals);
    let merged = |s: &Snapshot| -> Option<Hist> {
        let mut it = s.ops.iter();
        let mut h = it.next()?.latency.clone();
        for op in it {
            let _ = h.add(&op.latency);
        }
        Some(h)
    };
    let p95_ms = match (merged(now), before.and_then(merged)) {
        (Some(mut h), Some(prev)) => {
            let _ = h.subtract(&prev);
            h.value_at_quantile(0.95) as f64 / 1000.0
        }
        (Some(h), None) => h.value_at_quantile(0.95) as f64 / 1000.0,
        _ => 0.0,
    };
    Interval {
        calls: c1.saturating_sub(c0),
        errors: e1.saturating_sub(e0),
        dropped: d1.saturating_sub(d0),
        p95_ms,
        rate: c1.saturating_sub(c0) as f64 / dt.as_secs_f64().max(1e-9),
    }
}

/// Stops the run when an SLO has failed continuously for `abort_on_breach`.
fn check_breach(shared: &Shared, snap: &Snapshot, since: &mut Option<Instant>) {
    let Some(window) = shared.plan.limits.abort_on_breach else {
        return;
    };
    let failing = crate::report::slo::evaluate(&shared.plan.slos, snap)
        .iter()
        .any(|v| !v.passed);
    match (failing, *since) {
        (false, _) => *since = None,
        (true, None) => *since = Some(Instant::now()),
        (true, Some(t)) if t.elapsed() >= window => {
            tracing::warn!(window = ?window, "an SLO has failed for the whole abort window: stopping early");
            shared.stop.request(StopReason::SloBreach);
        }
        (true, Some(_)) => {}
    }
}
