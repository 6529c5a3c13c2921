//! The open-model loop: sleeps until each slot's intended time and hands every due slot to a sink.
//!
//! The loop never waits on the server. If it falls behind (a busy machine), it fires every slot that
//! is due at once, so the count stays right and the lateness shows up as schedule lag. `governor`
//! is the hard ceiling: when catching up would exceed `max_rate`, slots wait for the limiter (and
//! their latency, measured from the intended time, says so).
//!
//! The loop wakes at most every [`MIN_WAKE_GAP`]: slots due closer together than that (above
//! 10,000 calls/s) go out together from one wake-up, each keeping its own intended time, so the
//! lateness is schedule lag like any other.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use tokio::sync::watch;

use super::control::{Course, Next, Steer};
use super::pacer::Slot;
use crate::timer::{Clock, Timer};

/// Why the open loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// The last stage (or `max_calls`) is done.
    Finished,
    /// The stop token was cancelled.
    Stopped,
}

/// The least time between two wake-ups of the loop. A wake-up per slot at 40 µs spacing costs more
/// CPU than the calls it sends (the thread goes idle and is woken once per slot and once per reply)
/// and left the generator short of the mock's own ceiling; 0.1 ms halves the wake-ups at 20,000/s,
/// adds at most 0.1 ms of lag to a slot, and changes nothing up to 10,000/s.
pub const MIN_WAKE_GAP: Duration = Duration::from_micros(100);

/// A hard ceiling on the send rate that allows a burst of `burst` worth of calls (FACTS: a burst of
/// one call loses rate; ~10 ms of rate holds it when waiting on the limiter).
pub fn ceiling(max_rate: f64, burst: Duration) -> Option<Arc<DefaultDirectRateLimiter>> {
    if !(max_rate.is_finite() && max_rate > 0.0) {
        return None;
    }
    let per_second = NonZeroU32::new(max_rate.ceil().min(u32::MAX as f64) as u32)?;
    let burst = NonZeroU32::new(((max_rate * burst.as_secs_f64()).ceil() as u32).max(1))?;
    Some(Arc::new(RateLimiter::direct(
        Quota::per_second(per_second).allow_burst(burst),
    )))
}

/// Runs `course` (the pacer's schedule from its start, as the controls steer it), calling
/// `fire(k, slot, intended)` for every slot, until the schedule ends or `stop` is cancelled. Sleeps on
/// `clock` (the precise [`Timer`] in production). `steer` is read whenever the loop waits, so a change
/// applies before the next slot, never in the middle of a batch of due slots. `relaid(course, at)`
/// is called at the start and after every change, with the instant it applied at (the recorder's
/// stage windows follow [`Course::layout`]).
pub async fn run<F, R>(
    clock: &Clock,
    course: &mut Course,
    ceiling: Option<&DefaultDirectRateLimiter>,
    stop: &CancellationToken,
    steer: &mut watch::Receiver<Steer>,
    mut relaid: R,
    mut fire: F,
) -> LoopEnd
where
    F: FnMut(u64, Slot, Instant),
    R: FnMut(&Course, Instant),
{
    let timer = Timer::new();
    // False once the controls are gone: nothing more can change.
    let mut steerable = true;
    let mut k: u64 = 0;
    // When the loop last woke to fire: the next wake-up is no sooner than MIN_WAKE_GAP after it.
    let mut woke: Option<Instant> = None;
    let now = clock.now();
    course.apply(&steer.borrow_and_update(), now, k);
    relaid(course, now);
    loop {
        let due = match course.next(k) {
            Next::End => return LoopEnd::Finished,
            Next::Fire { slot, intended } => Some((slot, intended)),
            Next::Paused => None,
        };
        let wait = due
            .map(|(_, at)| woke.map_or(at, |w| at.max(w + MIN_WAKE_GAP)))
            .filter(|at| *at > clock.now());
        if due.is_none() || wait.is_some() {
            tokio::select! {
                // A change first: a slot due at the same instant follows the change.
                biased;
                changed = steer.changed(), if steerable => {
                    match changed {
                        Ok(()) => {
                            let now = clock.now();
                            course.apply(&steer.borrow_and_update(), now, k);
                            relaid(course, now);
                        }
                        Err(_) => steerable = false,
                    }
                    continue;
                }
                _ = stop.cancelled() => return LoopEnd::Stopped,
                _ = async {
                    match wait {
                        Some(at) => clock.sleep_until(&timer, at).await,
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
        let Some((mut slot, mut intended)) = due else {
            continue;
        };
        // Fire everything that is due now (one slot, or a batch after a late or a held wake-up).
        let now = clock.now();
        woke = Some(now);
        loop {
            if stop.is_cancelled() {
                return LoopEnd::Stopped;
            }
            if let Some(limiter) = ceiling
                && limiter.check().is_err()
            {
                tokio::select! {
                    _ = limiter.until_ready() => {}
                    _ = stop.cancelled() => return LoopEnd::Stopped,
                }
            }
            fire(k, slot, intended);
            k += 1;
            match course.next(k) {
                Next::Fire {
                    slot: s,
                    intended: at,
                } if at <= now => (slot, intended) = (s, at),
                Next::End => return LoopEnd::Finished,
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Stage;
    use crate::record::{Record, Recorder, RecorderSetup, StagePlan};
    use crate::schedule::control::Steering;

    fn stages() -> Vec<Stage> {
        vec![
            Stage::steady(100.0, Some(Duration::from_secs(1))),
            Stage::steady(50.0, Some(Duration::from_secs(2))),
        ]
    }

    /// Runs the loop over [`stages`] in virtual time on `clock`, steered by `steering`; `hook` sees each
    /// slot's intended offset as it fires (with the stop token). Returns (stage, intended, fired)
    /// offsets per slot.
    async fn fire_steered(
        clock: &Clock,
        steering: &Steering,
        hook: impl FnMut(Duration, &CancellationToken),
    ) -> (LoopEnd, Vec<(usize, Duration, Duration)>) {
        fire_recorded(clock, &stages(), steering, None, hook).await
    }

    /// [`fire_steered`], each slot also recorded as an answered call ending when it fired, and the
    /// recorder's stage windows moved as the engine moves them (`recorder` started at `t0`).
    async fn fire_recorded(
        clock: &Clock,
        plan: &[Stage],
        steering: &Steering,
        recorder: Option<&Recorder>,
        mut hook: impl FnMut(Duration, &CancellationToken),
    ) -> (LoopEnd, Vec<(usize, Duration, Duration)>) {
        let t0 = clock.now();
        if let Some(r) = recorder {
            r.start(t0);
        }
        let mut course = Course::new(plan, None, t0);
        let stop = CancellationToken::new();
        let mut steer = steering.subscribe();
        let mut fired = Vec::new();
        let end = run(
            clock,
            &mut course,
            None,
            &stop,
            &mut steer,
            |course, at| {
                if let Some(r) = recorder {
                    r.relayout(at, &course.layout(at, t0)).expect("relayout");
                }
            },
            |_k, slot, at| {
                if let Some(r) = recorder {
                    r.record(answered(slot.stage, at, clock.now()));
                }
                fired.push((slot.stage, at - t0, clock.now() - t0));
                hook(at - t0, &stop);
            },
        )
        .await;
        (end, fired)
    }

    fn steering() -> Steering {
        Steering::new(vec![("echo".into(), 1)], Some(100.0))
    }

    fn answered(stage: usize, intended: Instant, done: Instant) -> Record {
        Record {
            op: 0,
            stage,
            kind: crate::mcp::OutcomeKind::Ok,
            status: Some(200),
            rpc_code: None,
            intended,
            sent: Some(intended),
            done,
            bytes: 0,
            detail: None,
            session: None,
            retry_after: None,
        }
    }

    /// Runs [`stages`] in virtual time (recorded into `recorder`, if any), paused when the slot due
    /// at 0.5 s fires and resumed 10 s later by a task on the same clock.
    async fn paused_from_half_a_second_for_10s(
        recorder: Option<&Recorder>,
    ) -> (LoopEnd, Vec<(usize, Duration, Duration)>, Instant) {
        let clock = Clock::virtual_time();
        let t0 = clock.now();
        let steering = steering();
        let (paused_tx, paused_rx) = tokio::sync::oneshot::channel();
        let mut paused_tx = Some(paused_tx);
        let resumer = {
            let (clock, steering) = (clock.clone(), steering.clone());
            tokio::spawn(async move {
                let _ = paused_rx.await;
                clock
                    .sleep_until(&Timer::new(), t0 + Duration::from_millis(10_500))
                    .await;
                steering.resume().map(|_| ())
            })
        };
        let (end, fired) = fire_recorded(&clock, &stages(), &steering, recorder, |at, _| {
            if at == Duration::from_millis(500) {
                assert!(steering.pause().is_ok());
                if let Some(tx) = paused_tx.take() {
                    let _ = tx.send(());
                }
            }
        })
        .await;
        assert_eq!(resumer.await.ok(), Some(Ok(())));
        (end, fired, t0)
    }

    /// Fires the pacer in virtual time, stopping once a slot is due at or after `stop_at`.
    async fn fire_all(stop_at: Option<Duration>) -> (LoopEnd, Vec<(usize, Duration, Duration)>) {
        let clock = Clock::virtual_time();
        fire_steered(&clock, &steering(), |at, stop| {
            if stop_at.is_some_and(|s| at >= s) {
                stop.cancel();
            }
        })
        .await
    }

    #[tokio::test]
    async fn every_slot_fires_at_its_intended_time_in_its_stage() {
        let (end, fired) = fire_all(None).await;
        assert_eq!(end, LoopEnd::Finished);
        let per_stage = |i| fired.iter().filter(|f| f.0 == i).count();
        assert_eq!((per_stage(0), per_stage(1)), (100, 100));
        for (stage, intended, at) in &fired {
            assert_eq!(intended, at, "stage {stage}: no lag in virtual time");
        }
        assert_eq!(
            fired[100].1,
            Duration::from_secs(1),
            "stage 2 starts at its segment start"
        );
    }

    /// Above 10,000/s slots closer than [`MIN_WAKE_GAP`] go out in pairs from one wake-up, none
    /// lost, each at most the gap late and keeping its own intended time; at 5,000/s every slot
    /// still fires at its intended time.
    #[tokio::test]
    async fn slots_closer_than_the_wake_gap_share_a_wake_up() {
        let gap = MIN_WAKE_GAP;
        for (rate, late) in [(20_000.0, true), (5_000.0, false)] {
            let clock = Clock::virtual_time();
            let plan = [Stage::steady(rate, Some(Duration::from_millis(10)))];
            let (end, fired) = fire_recorded(&clock, &plan, &steering(), None, |_, _| {}).await;
            assert_eq!(end, LoopEnd::Finished);
            assert_eq!(
                fired.len() as f64,
                rate / 100.0,
                "{rate}/s: every slot fires"
            );
            let spacing = Duration::from_secs_f64(1.0 / rate);
            for (k, (_, intended, at)) in fired.iter().enumerate() {
                assert_eq!(
                    *intended,
                    spacing * k as u32,
                    "{rate}/s: slot {k}'s own time"
                );
                assert!(
                    at >= intended && *at - *intended < gap,
                    "{rate}/s: slot {k}"
                );
            }
            let wakes: std::collections::BTreeSet<_> = fired.iter().map(|f| f.2).collect();
            if late {
                // The first slot alone at 0, then two a wake-up: the last one's at 10 ms.
                assert_eq!(wakes.len(), fired.len() / 2 + 1, "two slots a wake-up");
                assert!(
                    wakes
                        .iter()
                        .zip(wakes.iter().skip(1))
                        .all(|(a, b)| *b - *a >= gap)
                );
            } else {
                assert!(fired.iter().all(|f| f.1 == f.2), "no slot held at 5,000/s");
            }
        }
    }

    #[tokio::test]
    async fn a_stop_ends_the_loop_and_fires_nothing_after() {
        let (end, fired) = fire_all(Some(Duration::from_millis(1_500))).await;
        assert_eq!(end, LoopEnd::Stopped);
        // 100 in the first second, then 50/s: slots at 1.00, 1.02, …, 1.50 s.
        assert_eq!(fired.len(), 126);
        assert_eq!(
            fired.last().map(|f| f.1),
            Some(Duration::from_millis(1_500))
        );
    }

    #[tokio::test]
    async fn a_pause_sends_nothing_and_the_resume_brings_no_late_burst() {
        let (end, fired, _) = paused_from_half_a_second_for_10s(None).await;
        assert_eq!(end, LoopEnd::Finished);
        assert_eq!(fired.len(), 200, "the plan's calls, none lost, none added");
        for (stage, intended, at) in &fired {
            assert_eq!(
                intended, at,
                "stage {stage}: fired at its (moved) intended time"
            );
            assert!(
                *at <= Duration::from_millis(500) || *at >= Duration::from_millis(10_510),
                "nothing fires while paused: {at:?}"
            );
        }
        // The slot after the pause keeps its 10 ms spacing from the resume; the second stage
        // starts 10 s late.
        assert_eq!(fired[51].1, Duration::from_millis(10_510));
        assert_eq!(fired[100].1, Duration::from_millis(11_000));
    }

    #[tokio::test]
    async fn a_rerate_changes_the_spacing_from_the_change_on() {
        let clock = Clock::virtual_time();
        let steering = steering();
        let mut rerated = false;
        let (end, fired) = fire_steered(&clock, &steering, |at, _| {
            if at == Duration::from_millis(500) && !rerated {
                rerated = true;
                assert!(steering.set_rate(10.0).is_ok());
            }
        })
        .await;
        assert_eq!(end, LoopEnd::Finished);
        let stage0: Vec<_> = fired.iter().filter(|f| f.0 == 0).map(|f| f.1).collect();
        // 51 at 100/s up to 0.5 s, then 10/s from the change to the stage's end: 0.5 .. 0.9 s.
        assert_eq!(stage0.len(), 51 + 5);
        assert_eq!(stage0[51..].first(), Some(&Duration::from_millis(500)));
        assert_eq!(stage0.last(), Some(&Duration::from_millis(900)));
        assert_eq!(
            fired.iter().filter(|f| f.0 == 1).count(),
            100,
            "then the plan"
        );
    }

    /// Issue 13: stage windows come from the pacer's segment starts, as steered. Paused 10 s in
    /// stage 1 (index 0): its 100 calls stay in its row, which lasted 1 s of schedule; stage 2
    /// begins 10 s late and holds its own 100.
    #[tokio::test]
    async fn a_pause_keeps_each_stage_s_calls_in_its_row() {
        let recorder = Recorder::new(RecorderSetup {
            op_names: vec!["echo".into()],
            stages: StagePlan::steps(&[
                (100.0, Duration::from_secs(1)),
                (50.0, Duration::from_secs(2)),
            ]),
            ..RecorderSetup::default()
        })
        .expect("recorder");
        let (end, fired, t0) = paused_from_half_a_second_for_10s(Some(&recorder)).await;
        assert_eq!((end, fired.len()), (LoopEnd::Finished, 200));
        recorder.stop_at(t0 + Duration::from_secs(13));
        let snap = recorder.snapshot();
        let ok = |i: usize| snap.stages[i].counts[crate::mcp::OutcomeKind::Ok.index()];
        assert_eq!((ok(0), ok(1)), (100, 100), "each stage's calls in its row");
        assert_eq!(
            (snap.stages[0].start, snap.stages[0].elapsed),
            (Duration::ZERO, Duration::from_secs(1)),
            "the paused 10 s are not the stage's"
        );
        assert_eq!(
            (snap.stages[1].start, snap.stages[1].elapsed),
            (Duration::from_secs(11), Duration::from_secs(2))
        );
        assert_eq!(snap.current_stage, None, "the schedule is over");
    }
}
