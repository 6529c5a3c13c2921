//! The measurement semantics the README's "How it measures" promises, held deterministically: the
//! recorder is fed the records a modelled server would produce (intended times from the real pacer,
//! a FIFO server with a fixed number of connections and a fixed service time), with every instant
//! placed explicitly — no sleeps, no wall clock in the numbers.
//!
//! * latency percentiles are over calls that got an answer; the SLO latency SLI over successes;
//!   calls without an answer are timed apart per outcome; never-sent slots are never timed;
//! * a stage's achieved rate is what ended in its wall-clock window; the drain is its own row;
//! * a call cancelled at stop is a timeout timed to the cancel, with no schedule lag;
//! * the assessment says which factor drove it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant, SystemTime};

use mcp_soak::mcp::OutcomeKind;
use mcp_soak::plan::{Slo, Stage};
use mcp_soak::record::{Record, Recorder, RecorderSetup, RunInfo, StagePlan};
use mcp_soak::report::assess::{Band, Factor};
use mcp_soak::report::summary::{self, RunMeta, Summary};
use mcp_soak::schedule::Pacer;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A recorder for one operation `echo` over `stages`, whose `t0` lies `back` in the past (so every
/// instant the test places is already over when the snapshot is taken). The schedule's end is
/// known up front here (the engine sets it when the pacer loop returns, before later calls end).
fn recorder(stages: &[Stage], slos: Vec<Slo>, back: Duration) -> (Recorder, Instant) {
    let pacer = Pacer::new(stages, None);
    let plans = stages
        .iter()
        .enumerate()
        .map(|(i, s)| StagePlan {
            target_rate: s.rate,
            start: pacer.stage_start(i),
        })
        .collect();
    let rec = Recorder::new(RecorderSetup {
        op_names: vec!["echo".into()],
        stages: plans,
        slos,
        raw: None,
        run_info: RunInfo {
            run_id: "sim".into(),
            target: "http://127.0.0.1:9/mcp".into(),
            protocol: "2025-11-25".into(),
            transport: mcp_soak::mcp::TargetTransport::StreamableHttp,
            ..RunInfo::default()
        },
    })
    .expect("recorder");
    let t0 = Instant::now()
        .checked_sub(back)
        .expect("the monotonic clock is older than the simulated run");
    rec.start(t0);
    rec.set_running(true);
    if let Some(total) = pacer.total_duration() {
        rec.end_schedule(t0 + total);
    }
    (rec, t0)
}

fn record(
    stage: usize,
    kind: OutcomeKind,
    intended: Instant,
    sent: Option<Instant>,
    done: Instant,
) -> Record {
    Record {
        op: 0,
        stage,
        kind,
        status: None,
        rpc_code: None,
        intended,
        sent,
        done,
        bytes: 0,
        detail: (!kind.is_ok()).then(|| kind.as_str().to_owned()),
        session: None,
        retry_after: None,
    }
}

fn finish(rec: &Recorder, t0: Instant, end: Duration) -> Summary {
    rec.stop_at(t0 + end);
    let now = SystemTime::now();
    summary::build(&rec.snapshot(), RunMeta::new(now, now))
}

/// A FIFO server with `connections` connections taking `service` per call, and a client that waits
/// for a free connection before sending (that wait is schedule lag): (sent, done) offsets.
struct Server {
    free: BinaryHeap<Reverse<Duration>>,
    service: Duration,
}

impl Server {
    fn new(connections: usize, service: Duration) -> Server {
        Server {
            free: (0..connections).map(|_| Reverse(Duration::ZERO)).collect(),
            service,
        }
    }

    fn call(&mut self, intended: Duration) -> (Duration, Duration) {
        let Reverse(free_at) = self.free.pop().expect("a connection");
        let sent = intended.max(free_at);
        let done = sent + self.service;
        self.free.push(Reverse(done));
        (sent, done)
    }
}

/// Every slot of `stages` through `server`, all answered `ok`, recorded.
fn serve_all(rec: &Recorder, t0: Instant, stages: &[Stage], mut server: Server) {
    let pacer = Pacer::new(stages, None);
    let mut k = 0;
    while let Some(slot) = pacer.slot(k) {
        let (sent, done) = server.call(slot.at);
        let r = record(
            slot.stage,
            OutcomeKind::Ok,
            t0 + slot.at,
            Some(t0 + sent),
            t0 + done,
        );
        rec.record(r);
        k += 1;
    }
}

/// Stepped 20 → 100 → 10 calls/s, 10 s each, against a server that takes ~50 calls/s (5
/// connections, 100 ms a call): what a user stepping to find capacity runs.
fn capacity_limited_stepped_run() -> Summary {
    let stages = [
        Stage::steady(20.0, Some(secs(10))),
        Stage::steady(100.0, Some(secs(10))),
        Stage::steady(10.0, Some(secs(10))),
    ];
    let (rec, t0) = recorder(&stages, Vec::new(), secs(60));
    serve_all(&rec, t0, &stages, Server::new(5, ms(100)));
    finish(&rec, t0, secs(40))
}

#[test]
fn a_stage_asking_more_than_the_server_takes_shows_what_the_server_took() {
    let s = capacity_limited_stepped_run();
    let st = &s.stages;
    assert_eq!(st.len(), 3);
    assert_eq!(
        st.iter().map(|x| x.scheduled).collect::<Vec<_>>(),
        vec![200, 1000, 100]
    );
    assert_eq!(
        st.iter().map(|x| x.stage).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "stages are numbered from 1"
    );
    for x in st {
        assert_eq!(x.duration_s, 10.0, "stage {} window", x.stage);
    }
    // Stage 1 is under capacity: achieved ≈ asked (the first 100 ms have nothing finished yet).
    assert!(
        (19.0..=20.5).contains(&st[0].totals.calls_per_second),
        "{:?}",
        st[0].totals
    );
    // Stage 2 asks 100/s of a 50/s server: 50/s achieved, 50/s sent — not the 100/s target.
    assert!(
        (49.0..=51.0).contains(&st[1].totals.calls_per_second),
        "{:?}",
        st[1].totals
    );
    assert!(
        (49.0..=51.0).contains(&st[1].sent_per_second),
        "{}",
        st[1].sent_per_second
    );
    // Stage 3 asks 10/s but the server is still working off stage 2's backlog at full speed.
    assert!(
        (49.0..=51.0).contains(&st[2].totals.calls_per_second),
        "{:?}",
        st[2].totals
    );
    // What is left after the schedule ended is the drain's, not stage 3's.
    assert_eq!(s.drain.start_s, 30.0);
    assert_eq!(s.drain.duration_s, 10.0);
    assert!(s.drain.totals.calls > 50, "{:?}", s.drain.totals);
    let ended: u64 = st.iter().map(|x| x.totals.calls).sum::<u64>() + s.drain.totals.calls;
    assert_eq!(ended, 1300, "every call ends in exactly one row");
    // The backlog shows as latency from the intended send and as schedule lag, not service time.
    assert!(
        st[1].latency.corrected.p95_ms > 4_000.0,
        "{:?}",
        st[1].latency
    );
    assert!(
        (st[1].latency.service.p95_ms - 100.0).abs() < 1.0,
        "{:?}",
        st[1].latency
    );
    assert!(s.schedule.lag.p99_ms > 5_000.0);
    // And the assessment says so, naming the rate.
    assert_eq!(s.assessment.band, Band::Poor, "{:?}", s.assessment);
    assert!(
        s.assessment.drivers.contains(&Factor::Rate),
        "{:?}",
        s.assessment
    );
    assert!(
        s.assessment.reason.contains("stage 2 achieved"),
        "{}",
        s.assessment.reason
    );
}

#[test]
fn a_healthy_stepped_run_is_excellent_and_says_why() {
    let stages = [
        Stage::steady(20.0, Some(secs(5))),
        Stage::steady(40.0, Some(secs(5))),
    ];
    let (rec, t0) = recorder(&stages, Vec::new(), secs(30));
    serve_all(&rec, t0, &stages, Server::new(5, ms(20)));
    let s = finish(&rec, t0, ms(10_100));
    assert_eq!(s.assessment.band, Band::Excellent, "{:?}", s.assessment);
    assert!(s.assessment.drivers.is_empty());
    assert!(
        s.assessment.reason.contains("no SLOs set"),
        "{}",
        s.assessment.reason
    );
    assert!((39.0..=40.5).contains(&s.stages[1].totals.calls_per_second));
}

/// 50 calls/s for 10 s; the target is down for the first 6 s (every slot recorded as `connect`,
/// nothing sent), then answers in 50 ms.
fn target_down_for_six_seconds(slos: Vec<Slo>) -> Summary {
    let stages = [Stage::steady(50.0, Some(secs(10)))];
    let (rec, t0) = recorder(&stages, slos, secs(30));
    let pacer = Pacer::new(&stages, None);
    let mut k = 0;
    while let Some(slot) = pacer.slot(k) {
        let intended = t0 + slot.at;
        let r = if slot.at < secs(6) {
            record(slot.stage, OutcomeKind::Connect, intended, None, intended)
        } else {
            record(
                slot.stage,
                OutcomeKind::Ok,
                intended,
                Some(intended),
                intended + ms(50),
            )
        };
        rec.record(r);
        k += 1;
    }
    finish(&rec, t0, ms(10_100))
}

#[test]
fn a_down_target_does_not_make_latency_look_better() {
    let s = target_down_for_six_seconds(vec![Slo {
        op: None,
        p95: Some(ms(100)),
        min_tps: None,
        max_error_ratio: Some(0.05),
    }]);
    assert_eq!(s.totals.counts.connect, 300);
    assert_eq!(s.totals.counts.ok, 200);
    // Percentiles over the 200 answered calls only: 50 ms, not ~0.
    assert_eq!(s.latency.corrected.count, 200);
    assert!(
        (s.latency.corrected.p50_ms - 50.0).abs() < 0.1,
        "{:?}",
        s.latency.corrected
    );
    assert!((s.latency.corrected.min_ms - 50.0).abs() < 0.1);
    // Never sent: not timed anywhere.
    assert!(s.failed_latency.is_empty(), "{:?}", s.failed_latency);
    assert_eq!(s.schedule.lag.count, 200);
    // The latency SLO holds (on successes), the error SLO fails; the run is POOR for the SLO.
    let p95 = s
        .slos
        .iter()
        .find(|v| v.objective.as_str() == "p95_latency_ms")
        .expect("p95");
    assert!(
        p95.passed && (p95.measured.unwrap_or(0.0) - 50.0).abs() < 0.1,
        "{p95:?}"
    );
    let err = s
        .slos
        .iter()
        .find(|v| v.objective.as_str() == "max_error_ratio")
        .expect("errors");
    assert!(!err.passed);
    assert_eq!(s.assessment.band, Band::Poor);
    assert!(s.assessment.drivers.contains(&Factor::Slo));
    assert!(s.assessment.drivers.contains(&Factor::Errors));
}

#[test]
fn errors_cannot_make_the_latency_sli_look_good_and_unanswered_calls_are_timed_apart() {
    let stages = [Stage::steady(100.0, Some(secs(10)))];
    let slo = Slo {
        op: Some("echo".into()),
        p95: Some(ms(150)),
        min_tps: None,
        max_error_ratio: None,
    };
    let (rec, t0) = recorder(&stages, vec![slo], secs(30));
    let pacer = Pacer::new(&stages, None);
    let mut k = 0;
    while let Some(slot) = pacer.slot(k) {
        let intended = t0 + slot.at;
        // 96 % fast tool errors, 3 % slow successes, 1 % timeouts after 2 s, and every 500th a
        // connection reset after the request left.
        let r = match k % 100 {
            0..=2 => record(
                0,
                OutcomeKind::Ok,
                intended,
                Some(intended),
                intended + ms(200),
            ),
            3 => record(
                0,
                OutcomeKind::Timeout,
                intended,
                Some(intended),
                intended + secs(2),
            ),
            _ if k % 500 == 499 => record(
                0,
                OutcomeKind::Connect,
                intended,
                Some(intended),
                intended + ms(5),
            ),
            _ => record(
                0,
                OutcomeKind::ToolError,
                intended,
                Some(intended),
                intended + ms(1),
            ),
        };
        rec.record(r);
        k += 1;
    }
    let s = finish(&rec, t0, secs(12));
    // The headline p95 is over answered calls (mostly fast errors) ...
    assert!(
        s.latency.corrected.p95_ms < 2.0,
        "{:?}",
        s.latency.corrected
    );
    assert_eq!(s.latency.corrected.count, 1000 - 10 - 2);
    // ... but the SLO's latency SLI is over successes only: 200 ms, failed.
    let v = &s.slos[0];
    assert!(
        !v.passed && (v.measured.unwrap_or(0.0) - 200.0).abs() < 0.5,
        "{v:?}"
    );
    // Timeouts and resets are kept apart, each with its own latency.
    let kinds: Vec<_> = s.failed_latency.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, vec![OutcomeKind::Timeout, OutcomeKind::Connect]);
    assert_eq!(s.failed_latency[0].latency.count, 10);
    assert!((s.failed_latency[0].latency.p50_ms - 2000.0).abs() < 2.0);
    assert_eq!(s.failed_latency[1].latency.count, 2);
}

#[test]
fn a_call_cancelled_at_stop_is_a_timeout_timed_to_the_cancel_without_lag() {
    let stages = [Stage::steady(10.0, Some(secs(1)))];
    let (rec, t0) = recorder(&stages, Vec::new(), secs(30));
    // Nine calls answered in 10 ms; the last one, due at 0.9 s, hangs until the hard stop at 3 s
    // (schedule end 1 s + a 2 s grace).
    for i in 0..9u64 {
        let intended = t0 + ms(100 * i);
        rec.record(record(
            0,
            OutcomeKind::Ok,
            intended,
            Some(intended),
            intended + ms(10),
        ));
    }
    let intended = t0 + ms(900);
    rec.record(record(
        0,
        OutcomeKind::Timeout,
        intended,
        None,
        t0 + secs(3),
    ));
    rec.stop_at(t0 + secs(3));
    let now = SystemTime::now();
    let s = summary::build(&rec.snapshot(), RunMeta::new(now, now));
    assert_eq!(s.totals.counts.timeout, 1);
    assert_eq!(
        s.schedule.lag.count, 9,
        "no lag made up for the cancelled call"
    );
    assert_eq!(s.latency.service.count, 9, "no service time made up either");
    assert_eq!(s.failed_latency.len(), 1);
    assert!(
        (s.failed_latency[0].latency.max_ms - 2100.0).abs() < 2.0,
        "{:?}",
        s.failed_latency
    );
    assert_eq!(s.drain.totals.counts.timeout, 1, "it ended in the drain");
    assert_eq!(s.stages[0].totals.counts.ok, 9);
}

#[test]
fn a_slo_breach_late_in_a_long_run_registers_in_the_window_not_the_whole_run() {
    use mcp_soak::record::window::SloWindow;
    use mcp_soak::report::slo::{BreachTracker, evaluate_window};
    // One hour at 10/s: 50 ms until minute 58, then 400 ms. Progress every 10 s.
    let stages = [Stage::steady(10.0, Some(secs(3600)))];
    let slo = Slo {
        op: None,
        p95: Some(ms(100)),
        min_tps: None,
        max_error_ratio: None,
    };
    let (rec, t0) = recorder(&stages, vec![slo.clone()], secs(4000));
    let mut window = SloWindow::new(secs(300));
    let mut tracker = BreachTracker::default();
    let mut first_failing = None;
    for tick in 1..=360u64 {
        for j in 0..100u64 {
            let at = ms((tick - 1) * 10_000 + j * 100);
            let latency = if at >= secs(58 * 60) { ms(400) } else { ms(50) };
            let intended = t0 + at;
            rec.record(record(
                0,
                OutcomeKind::Ok,
                intended,
                Some(intended),
                intended + latency,
            ));
        }
        let snap = rec.snapshot();
        let at = secs(tick * 10);
        let view = window.view(at, &snap.ops);
        let verdicts = evaluate_window(std::slice::from_ref(&slo), &view);
        tracker.update(at, view.full, &verdicts);
        if first_failing.is_none() && tracker.failing_now() {
            first_failing = Some(at);
        }
        rec.set_slo_windows(tracker.results());
    }
    // The window notices within a quarter of its length (5 % of 5 min = 15 s of slow calls).
    let first = first_failing.expect("the breach registers");
    assert!(
        first > secs(58 * 60) && first <= secs(58 * 60 + 30),
        "registered at {first:?}"
    );
    let (breach, worst) = tracker.results()[0];
    assert!((90.0..=120.0).contains(&breach), "{breach} s in breach");
    assert!((worst.unwrap_or(0.0) - 400.0).abs() < 1.0);
    // While the whole run's p95 over the hour still passes.
    rec.stop_at(t0 + secs(3600));
    let now = SystemTime::now();
    let s = summary::build(&rec.snapshot(), RunMeta::new(now, now));
    assert!(s.slos[0].passed, "{:?}", s.slos[0]);
    // The summary carries the time in breach and the worst window beside the whole-run verdict.
    assert_eq!(s.slos[0].breach_s, breach);
    assert_eq!(s.slos[0].worst_window, worst);
}
