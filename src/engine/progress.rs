//! Live progress and the engine-owned gauges: every tick the current stage, target rate, in-flight
//! and session gauges are set; at every multiple of the progress interval after `t0` a status line
//! is shown (indicatif on a terminal, a structured log line otherwise, numbers rounded), and the
//! SLOs are judged over the sliding window: time in breach, worst window, `abort_on_breach`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

use crate::mcp::OutcomeKind;
use crate::plan::{Load, Plan};
use crate::record::snapshot::Hist;
use crate::record::window::SloWindow;
use crate::record::{Recorder, Snapshot};
use crate::report::slo::{BreachTracker, evaluate_window};
use crate::schedule::control::{Course, Steer};
use crate::schedule::pacer::Pacer;

use super::connector::Connection;
use super::{Stop, StopReason};

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

/// What the ticker reads and sets: the gauges it refreshes (the recorder), what it reads them from
/// (the connection, the in-flight count), the plan's settings it needs, and the run's stop (it
/// ends at the soft stop, and requests a stop on `abort_on_breach`).
pub(super) struct Ticker {
    recorder: Recorder,
    conn: Arc<Connection>,
    /// Calls started and not yet recorded (the call tasks count them).
    in_flight: Arc<AtomicU64>,
    stop: Stop,
    load: Load,
    quiet: bool,
    /// The status line's interval (at least one gauge tick).
    every: Duration,
    slo_window: Duration,
    abort_on_breach: Option<Duration>,
}

impl Ticker {
    /// The ticker of a run of `plan`, with what it shares with the call tasks.
    pub(super) fn new(
        plan: &Plan,
        recorder: Recorder,
        conn: Arc<Connection>,
        in_flight: Arc<AtomicU64>,
        stop: Stop,
    ) -> Ticker {
        Ticker {
            recorder,
            conn,
            in_flight,
            stop,
            load: plan.load.clone(),
            quiet: plan.output.quiet,
            every: plan.output.progress_interval.max(TICK),
            slo_window: plan.limits.slo_window,
            abort_on_breach: plan.limits.abort_on_breach,
        }
    }
}

/// Starts the ticker; it ends at the soft stop (the engine aborts it after draining).
/// `steer`: the controls' changes, followed by a copy of the loop's course so the stage and
/// target-rate gauges say what the schedule does after a pause or a re-rate.
pub(super) fn spawn(
    ticker: Ticker,
    t0: Instant,
    steer: watch::Receiver<Steer>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { tick_loop(ticker, t0, steer).await })
}

async fn tick_loop(ticker: Ticker, t0: Instant, mut steer: watch::Receiver<Steer>) {
    let mut course = match &ticker.load {
        Load::Open { stages, max_calls } => Some(Course::new(stages, *max_calls, t0)),
        Load::Closed { .. } => None,
    };
    let total = match &ticker.load {
        Load::Open { stages, max_calls } => Pacer::new(stages, *max_calls).total_duration(),
        Load::Closed { .. } => None,
    };
    let mut steerable = true;
    let quiet = ticker.quiet;
    let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    });
    let every = ticker.every;
    let mut last_report = t0;
    let mut previous: Option<Snapshot> = None;
    let mut window = SloWindow::new(ticker.slo_window);
    let mut breaches = BreachTracker::default();
    let mut current = (0, 0.0);
    let mut gauge_ticks = tokio::time::interval(TICK);
    gauge_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Reports fall on t0 + n·every, whatever the gauge ticks do: a line every interval, none skipped.
    let mut reports = tokio::time::interval_at((t0 + every).into(), every);
    reports.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let report = tokio::select! {
            _ = reports.tick() => true,
            _ = gauge_ticks.tick() => false,
            changed = steer.changed(), if steerable => {
                match (changed, course.as_mut()) {
                    (Ok(()), Some(c)) => c.apply(&steer.borrow_and_update(), Instant::now(), 0),
                    (Ok(()), None) => {}
                    (Err(_), _) => steerable = false,
                }
                false
            }
            _ = ticker.stop.soft.cancelled() => break,
        };
        let elapsed = t0.elapsed();
        // Past the last stage the gauges keep their last values (the run is draining).
        let now_stage = course.as_ref().and_then(|c| c.stage_at(Instant::now()));
        if let Some((stage, rate)) = now_stage {
            ticker.recorder.set_stage(stage, rate);
            current = (stage, rate);
        }
        let (stage, rate) = current;
        let in_flight = ticker.in_flight.load(Ordering::Relaxed);
        ticker.recorder.set_in_flight(in_flight);
        if let Some(live) = ticker.conn.live() {
            ticker.recorder.set_sessions(live.client.session_stats());
            if let Some(pool) = live.client.stdio() {
                ticker.recorder.set_server_processes(&pool.sample());
            }
        }
        if !report {
            continue;
        }
        let dt = last_report.elapsed();
        last_report = Instant::now();
        let snap = ticker.recorder.snapshot();
        let iv = interval(&snap, previous.as_ref(), dt);
        ticker.recorder.set_achieved_rate(iv.rate);
        let slo = judge_window(&ticker, &snap, &mut window, &mut breaches);
        previous = Some(snap);
        let error_pct = if iv.calls > 0 {
            100.0 * iv.errors as f64 / iv.calls as f64
        } else {
            0.0
        };
        let total_s = total.map_or_else(|| "∞".to_string(), |t| format!("{}s", t.as_secs()));
        let line = format!(
            "{:>4}s/{total_s} stage {} target {rate:.1}/s achieved {:.1}/s p95 {:.1} ms errors {error_pct:.2}% in-flight {in_flight} dropped {} slo {slo}",
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
                target_rate = round_to(rate, 1),
                achieved_rate = round_to(iv.rate, 1),
                p95_ms = round_to(iv.p95_ms, 1),
                error_ratio = round_to(error_pct / 100.0, 4),
                in_flight,
                dropped = iv.dropped,
                slo,
                "progress"
            );
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// `v` rounded to `digits` decimals (so a log line shows `35.0`, not `35.023587649999996`).
fn round_to(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// The difference between two snapshots: calls, errors and p95 (of calls that got an answer) of
/// the last interval.
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

/// Judges the SLOs over the sliding window ending at `snap`: updates time in breach and the worst
/// window (handed to the recorder for the summary), stops the run when an SLO has failed without a
/// break for `abort_on_breach`, and says the state for the progress line.
fn judge_window(
    ticker: &Ticker,
    snap: &Snapshot,
    window: &mut SloWindow,
    breaches: &mut BreachTracker,
) -> &'static str {
    // The recorder's SLOs, not the plan's: a reload (SIGHUP) may have replaced them.
    let slos = ticker.recorder.slos();
    if slos.is_empty() {
        return "none";
    }
    let view = window.view(snap.elapsed, &snap.ops);
    let verdicts = evaluate_window(&slos, &view);
    breaches.update(snap.elapsed, view.full, &verdicts);
    ticker.recorder.set_slo_windows(breaches.results());
    ticker.recorder.set_slo_failing(&breaches.failing());
    if let Some(limit) = ticker.abort_on_breach
        && breaches
            .failing_for(snap.elapsed)
            .is_some_and(|f| f >= limit)
    {
        tracing::warn!(abort_on_breach = ?limit, window = ?window.length(), "an SLO has failed over the sliding window for the whole abort time: stopping early");
        ticker.stop.request(StopReason::SloBreach);
    }
    if breaches.failing_now() {
        "failing"
    } else {
        "ok"
    }
}

#[cfg(test)]
mod tests {
    use super::round_to;

    #[test]
    fn progress_numbers_are_rounded_for_the_log_line() {
        assert_eq!(round_to(35.023587649999996, 1).to_string(), "35");
        assert_eq!(round_to(64.349, 1).to_string(), "64.3");
        assert_eq!(round_to(0.012345, 4).to_string(), "0.0123");
    }
}
