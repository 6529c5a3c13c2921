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
use crate::timer::{Clock, Timer};

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
    /// The pacer's clock (`t0` is on it).
    clock: Clock,
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
        clock: Clock,
    ) -> Ticker {
        Ticker {
            recorder,
            conn,
            in_flight,
            stop,
            clock,
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
    let clock = &ticker.clock;
    let timer = Timer::new();
    let mut last_report = t0;
    let mut previous: Option<Snapshot> = None;
    let mut window = SloWindow::new(ticker.slo_window);
    let mut breaches = BreachTracker::default();
    let mut current = (0, 0.0);
    let mut ticks = Ticks::new(t0, every);
    loop {
        let report = tokio::select! {
            _ = clock.sleep_until(&timer, ticks.next()) => ticks.due(clock.now()),
            changed = steer.changed(), if steerable => {
                match (changed, course.as_mut()) {
                    (Ok(()), Some(c)) => c.apply(&steer.borrow_and_update(), clock.now(), 0),
                    (Ok(()), None) => {}
                    (Err(_), _) => steerable = false,
                }
                false
            }
            _ = ticker.stop.soft.cancelled() => break,
        };
        let now = clock.now();
        let elapsed = now.saturating_duration_since(t0);
        // Past the last stage the gauges keep their last values (the run is draining).
        let now_stage = course.as_ref().and_then(|c| c.stage_at(now));
        if let Some((stage, rate)) = now_stage {
            ticker.recorder.set_stage(stage, rate);
            current = (stage, rate);
        }
        let (stage, rate) = current;
        let in_flight = ticker.in_flight.load(Ordering::Relaxed);
        ticker.recorder.set_in_flight(in_flight);
        if let Some(sessions) = ticker.conn.session_stats() {
            ticker.recorder.set_sessions(sessions);
        }
        if let Some(pool) = ticker.conn.live().and_then(|live| live.client.stdio()) {
            ticker.recorder.set_server_processes(&pool.sample());
        }
        if !report {
            continue;
        }
        let dt = now.saturating_duration_since(last_report);
        last_report = now;
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

/// When the ticker wakes: a gauge tick at once and then a tick after each wake (late ticks are
/// not made up), and reports at `t0 + n·every` whatever the gauge ticks do, a line every interval
/// (one that fell behind skips to the next multiple rather than bunching up).
struct Ticks {
    tick: Instant,
    report: Instant,
    every: Duration,
}

impl Ticks {
    fn new(t0: Instant, every: Duration) -> Ticks {
        Ticks {
            tick: t0,
            report: t0 + every,
            every,
        }
    }

    /// The next wake.
    fn next(&self) -> Instant {
        self.tick.min(self.report)
    }

    /// Woken at `now`: moves past what was due, and says whether a report is.
    fn due(&mut self, now: Instant) -> bool {
        if now >= self.tick {
            self.tick = now + TICK;
        }
        if now < self.report {
            return false;
        }
        while self.report <= now {
            self.report += self.every;
        }
        true
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
    use super::*;
    use crate::plan::Stage;
    use crate::record::{Record, RecorderSetup, StagePlan, names};

    const S: Duration = Duration::from_secs(1);
    const MS: Duration = Duration::from_millis(1);

    /// The value of the one series of gauge `name` in the recorder's exposition.
    fn gauge(recorder: &Recorder, name: &str) -> f64 {
        let text = recorder.prometheus().render();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"));
        let value = line.rsplit(' ').next().unwrap_or_default();
        value.parse().unwrap_or_else(|_| panic!("{line}"))
    }

    #[test]
    fn ticks_report_on_multiples_of_the_interval_and_skip_late_ones() {
        let t0 = Instant::now();
        let mut t = Ticks::new(t0, 5 * S);
        // A gauge tick at once, then one a tick after each wake.
        assert_eq!(t.next(), t0);
        assert!(!t.due(t0));
        assert_eq!(t.next(), t0 + S);
        assert!(!t.due(t0 + S + 300 * MS));
        assert_eq!(t.next(), t0 + 2 * S + 300 * MS);
        // The report falls on t0 + 5 s, not on a gauge tick's phase.
        for _ in 0..3 {
            let at = t.next();
            assert!(!t.due(at));
        }
        assert_eq!(t.next(), t0 + 5 * S);
        assert!(t.due(t0 + 5 * S));
        // Woken 12 s late: one report, and the next on the next multiple (t0 + 20 s).
        assert!(t.due(t0 + 17 * S));
        assert_eq!(t.next(), t0 + 18 * S);
        assert!(!t.due(t0 + 18 * S));
        assert!(!t.due(t0 + 19 * S));
        assert_eq!(t.next(), t0 + 20 * S);
        assert!(t.due(t0 + 20 * S));
    }

    /// A ticker on tokio's paused clock over `stages`, and the stop that ends it.
    fn paused_ticker(recorder: &Recorder, stages: Vec<Stage>, every: Duration) -> (Ticker, Stop) {
        let stop = Stop::new();
        let ticker = Ticker {
            recorder: recorder.clone(),
            conn: Arc::new(Connection::new(Err("down"))),
            in_flight: Arc::new(AtomicU64::new(0)),
            stop: stop.clone(),
            clock: Clock::Tokio,
            load: Load::Open {
                stages,
                max_calls: None,
            },
            quiet: true,
            every,
            slo_window: 300 * S,
            abort_on_breach: None,
        };
        (ticker, stop)
    }

    /// The achieved rate is set at each report, from the calls completed since the last one over
    /// the time between them on the run's clock; gauge ticks in between leave it alone.
    #[tokio::test(start_paused = true)]
    async fn achieved_rate_is_per_report_interval_on_the_injected_clock() {
        let recorder = Recorder::new(RecorderSetup {
            op_names: vec!["echo".into()],
            stages: StagePlan::steps(&[(50.0, 10 * S)]),
            ..RecorderSetup::default()
        })
        .expect("recorder");
        let (ticker, stop) =
            paused_ticker(&recorder, vec![Stage::steady(50.0, Some(10 * S))], 2 * S);
        let t0 = Clock::Tokio.now();
        recorder.start(t0);
        let task = spawn(ticker, t0, watch::channel(Steer::default()).1);
        let at = |offset: Duration| tokio::time::sleep_until((t0 + offset).into());
        let calls = |n: usize| {
            for _ in 0..n {
                let now = Clock::Tokio.now();
                recorder.record(Record {
                    op: 0,
                    stage: 0,
                    kind: OutcomeKind::Ok,
                    status: Some(200),
                    rpc_code: None,
                    intended: now,
                    sent: Some(now),
                    done: now,
                    bytes: 0,
                    detail: None,
                    session: None,
                    retry_after: None,
                });
            }
        };
        let achieved = || gauge(&recorder, names::ACHIEVED_RATE);
        let close = |got: f64, want: f64| (got - want).abs() < want * 0.01;

        at(500 * MS).await;
        calls(10);
        // Gauge ticks at 1 s do not report.
        at(1500 * MS).await;
        assert_eq!(achieved(), 0.0);
        at(2500 * MS).await;
        assert!(close(achieved(), 5.0), "10 calls over 2 s: {}", achieved());
        calls(40);
        at(3500 * MS).await;
        assert!(close(achieved(), 5.0), "no report at 3 s: {}", achieved());
        at(4500 * MS).await;
        assert!(close(achieved(), 20.0), "40 calls over 2 s: {}", achieved());

        stop.soft.cancel();
        tokio::time::timeout(S, task)
            .await
            .expect("the ticker ends at the soft stop")
            .expect("ticker task");
    }

    /// On tokio's paused clock the ticker's gauges are exact at every instant: the stage and target
    /// rate follow the course (a re-rate included), in-flight follows the count, and past the last
    /// stage the gauges keep their last values.
    #[tokio::test(start_paused = true)]
    async fn gauges_follow_the_course_on_the_injected_clock() {
        let recorder = Recorder::new(RecorderSetup {
            op_names: vec!["echo".into()],
            stages: StagePlan::steps(&[(10.0, 2 * S), (40.0, 3 * S)]),
            ..RecorderSetup::default()
        })
        .expect("recorder");
        let (ticker, stop) = paused_ticker(
            &recorder,
            vec![
                Stage::steady(10.0, Some(2 * S)),
                Stage::steady(40.0, Some(3 * S)),
            ],
            S,
        );
        let in_flight = ticker.in_flight.clone();
        let t0 = Clock::Tokio.now();
        let (steer_tx, steer) = watch::channel(Steer::default());
        let task = spawn(ticker, t0, steer);
        let at = |offset: Duration| tokio::time::sleep_until((t0 + offset).into());
        let stage_and_rate = || {
            (
                gauge(&recorder, names::STAGE),
                gauge(&recorder, names::TARGET_RATE),
            )
        };

        at(1500 * MS).await;
        assert_eq!(stage_and_rate(), (1.0, 10.0));
        assert_eq!(gauge(&recorder, names::IN_FLIGHT), 0.0);

        in_flight.store(7, Ordering::Relaxed);
        at(2500 * MS).await;
        assert_eq!(stage_and_rate(), (2.0, 40.0));
        assert_eq!(gauge(&recorder, names::IN_FLIGHT), 7.0);

        // A re-rate at 3 s holds for the rest of the stage; the next tick shows it.
        at(3 * S).await;
        steer_tx.send_modify(|s| {
            s.rerates += 1;
            s.rate = Some(25.0);
        });
        at(3500 * MS).await;
        assert_eq!(stage_and_rate(), (2.0, 25.0));

        // The schedule ended at 5 s: the gauges keep the last stage's values.
        at(7 * S).await;
        assert_eq!(stage_and_rate(), (2.0, 25.0));

        stop.soft.cancel();
        tokio::time::timeout(S, task)
            .await
            .expect("the ticker ends at the soft stop")
            .expect("ticker task");
    }

    #[test]
    fn progress_numbers_are_rounded_for_the_log_line() {
        assert_eq!(round_to(35.023587649999996, 1).to_string(), "35");
        assert_eq!(round_to(64.349, 1).to_string(), "64.3");
        assert_eq!(round_to(0.012345, 4).to_string(), "0.0123");
    }
}
