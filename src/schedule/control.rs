//! Steering a running open-model schedule: pause, resume, re-rate, jump to a stage, append stages,
//! reweigh the mix.
//!
//! A change is a value on a `watch` channel ([`Steer`]); the open loop reads it between slots and the
//! engine's slot handler reads the weights. The loop's [`Course`] keeps the schedule coordinated-omission
//! free across a change: the pacer is rebuilt from where the schedule is at the change (what is left of
//! the current stage, then the later stages), and intended times restart from the change. A pause freezes
//! the schedule's position, so paused time is neither owed as a burst of "late" slots nor counted as lag,
//! and a paused soak ends that much later. A jump starts a new leg at the chosen stage; appended stages
//! extend the plan after its last stage. After every change the course says where each stage now
//! begins ([`Course::layout`]): the recorder's per-stage windows follow those segment starts. [`Steering`] is the sending side: it validates each change and
//! says what it changed ([`Change`]); it never touches the recorder (the caller logs, counts and keeps
//! the event).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::pacer::{Pacer, Slot};
use crate::plan::Stage;

/// What the controls currently ask of the schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steer {
    /// No slot fires while paused.
    pub paused: bool,
    /// Re-rates and jumps so far: the loop applies the last one once, when this grows.
    pub rerates: u64,
    /// The last rate set (calls/s); it holds for the rest of the stage it was set in. None when
    /// the last re-rate was a jump.
    pub rate: Option<f64>,
    /// The stage (index in the plan) the last re-rate jumped to; None when it set a rate.
    pub stage: Option<usize>,
    /// Stages appended to the plan so far, in order.
    pub appended: Vec<Stage>,
    /// The mix weights by operation index, once changed.
    pub weights: Option<Vec<u32>>,
}

/// A change to the run, by kind.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Pause,
    Resume,
    Rate,
    Mix,
    Slos,
    Stage,
    Append,
}

impl ControlAction {
    /// The `action` label of `mcp_soak_control_changes_total` and the name in events.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Pause => "pause",
            ControlAction::Resume => "resume",
            ControlAction::Rate => "rate",
            ControlAction::Mix => "mix",
            ControlAction::Slos => "slos",
            ControlAction::Stage => "stage",
            ControlAction::Append => "append",
        }
    }
}

/// What one accepted change did.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: ControlAction,
    pub from: String,
    pub to: String,
}

/// A change refused, naming the field; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct ControlError {
    pub field: String,
    pub message: String,
}

impl ControlError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ControlError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The sending side of the controls: validates, applies and describes each change.
#[derive(Debug, Clone)]
pub struct Steering {
    tx: std::sync::Arc<watch::Sender<Steer>>,
    /// Operation names, in mix order, and their weights at the start.
    ops: Vec<(String, u32)>,
    /// The planned rate of the first stage (what a first re-rate changes from).
    planned_rate: Option<f64>,
    /// The plan's stages (a jump's range; an append follows the last).
    stages: Vec<Stage>,
}

/// A receiver that never changes (no controls): the loop runs the plan as written.
pub fn idle() -> watch::Receiver<Steer> {
    watch::channel(Steer::default()).1
}

impl Steering {
    /// Controls over a mix of `ops` (name, weight) whose first stage runs at `planned_rate` (None:
    /// the closed model, which has no rate to change).
    pub fn new(ops: Vec<(String, u32)>, planned_rate: Option<f64>) -> Self {
        Steering {
            tx: std::sync::Arc::new(watch::channel(Steer::default()).0),
            ops,
            planned_rate,
            stages: Vec::new(),
        }
    }

    /// Controls that know the plan's stages (needed to jump and to append).
    pub fn with_stages(mut self, stages: &[Stage]) -> Self {
        self.stages = stages.to_vec();
        self
    }

    /// A receiver for the loop and the slot handler.
    pub fn subscribe(&self) -> watch::Receiver<Steer> {
        self.tx.subscribe()
    }

    /// What is asked now.
    pub fn current(&self) -> Steer {
        self.tx.borrow().clone()
    }

    /// The mix weights now, by operation name.
    pub fn weights(&self) -> BTreeMap<String, u32> {
        let s = self.tx.borrow();
        self.ops
            .iter()
            .enumerate()
            .map(|(i, (n, w))| {
                let w = s.weights.as_ref().and_then(|ws| ws.get(i)).unwrap_or(w);
                (n.clone(), *w)
            })
            .collect()
    }

    /// Stops firing slots (a second pause changes nothing).
    pub fn pause(&self) -> Result<Change, ControlError> {
        self.set_paused(true)
    }

    /// Fires slots again from where the schedule was paused.
    pub fn resume(&self) -> Result<Change, ControlError> {
        self.set_paused(false)
    }

    fn set_paused(&self, paused: bool) -> Result<Change, ControlError> {
        self.open_only("paused")?;
        let was = self.tx.borrow().paused;
        self.tx.send_if_modified(|s| {
            let changed = s.paused != paused;
            s.paused = paused;
            changed
        });
        let word = |p: bool| if p { "paused" } else { "running" }.to_owned();
        Ok(Change {
            action: if paused {
                ControlAction::Pause
            } else {
                ControlAction::Resume
            },
            from: word(was),
            to: word(paused),
        })
    }

    /// Sets the rate (calls/s, ≥ 0) for the rest of the current stage; later stages run as planned.
    pub fn set_rate(&self, rate: f64) -> Result<Change, ControlError> {
        self.open_only("rate")?;
        if !rate.is_finite() || rate < 0.0 {
            return Err(ControlError::new(
                "rate",
                format!("expected calls per second ≥ 0, got {rate}"),
            ));
        }
        let from = self.tx.borrow().rate.or(self.planned_rate).unwrap_or(0.0);
        self.tx.send_modify(|s| {
            s.rerates += 1;
            s.rate = Some(rate);
            s.stage = None;
        });
        Ok(Change {
            action: ControlAction::Rate,
            from: format!("{from}/s"),
            to: format!("{rate}/s"),
        })
    }

    /// Replaces the weights of the named operations (the others keep theirs). An unknown name, a
    /// negative or fractional weight, or weights that sum to 0 are refused.
    pub fn set_weights(&self, new: &BTreeMap<String, f64>) -> Result<Change, ControlError> {
        self.open_only("weights")?;
        if new.is_empty() {
            return Err(ControlError::new(
                "weights",
                "expected at least one operation=weight",
            ));
        }
        let before = self.weights();
        let mut after = before.clone();
        for (name, &w) in new {
            let field = format!("weights.{name}");
            let Some(slot) = after.get_mut(name) else {
                let known: Vec<&str> = self.ops.iter().map(|(n, _)| n.as_str()).collect();
                return Err(ControlError::new(
                    field,
                    format!("unknown operation (the mix has: {})", known.join(", ")),
                ));
            };
            if !w.is_finite() || w < 0.0 || w.fract() != 0.0 || w > f64::from(u32::MAX) {
                return Err(ControlError::new(
                    field,
                    format!("expected a whole number ≥ 0, got {w}"),
                ));
            }
            *slot = w as u32;
        }
        if after.values().all(|&w| w == 0) {
            return Err(ControlError::new(
                "weights",
                "the weights sum to 0: at least one operation needs a weight > 0",
            ));
        }
        let ordered: Vec<u32> = self.ops.iter().map(|(n, _)| after[n]).collect();
        self.tx.send_modify(|s| s.weights = Some(ordered));
        let show = |m: &BTreeMap<String, u32>| {
            m.iter()
                .map(|(n, w)| format!("{n}={w}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        Ok(Change {
            action: ControlAction::Mix,
            from: show(&before),
            to: show(&after),
        })
    }

    /// Jumps to stage `number` (from 1, as the progress line and the summary count) now: it runs
    /// whole from the change, then the stages after it. `now`: the stage running now (from 1), for
    /// the change's description.
    pub fn jump(&self, number: usize, now: Option<usize>) -> Result<Change, ControlError> {
        self.open_only("stage")?;
        let count = self.stages.len() + self.tx.borrow().appended.len();
        if number == 0 || number > count {
            return Err(ControlError::new(
                "stage",
                format!("expected a stage from 1 to {count}, got {number}"),
            ));
        }
        self.tx.send_modify(|s| {
            s.rerates += 1;
            s.rate = None;
            s.stage = Some(number - 1);
        });
        Ok(Change {
            action: ControlAction::Stage,
            from: now.map_or_else(|| "none".to_owned(), |n| format!("stage {n}")),
            to: format!("stage {number}"),
        })
    }

    /// Appends `more` after the plan's last stage (refused when that stage runs forever: the
    /// appended ones would never run).
    pub fn append(&self, more: &[Stage]) -> Result<Change, ControlError> {
        self.open_only("stages")?;
        if more.is_empty() {
            return Err(ControlError::new(
                "stages",
                "expected at least one RATE:DURATION[@RAMP]",
            ));
        }
        let steer = self.tx.borrow().clone();
        let last = steer.appended.last().or(self.stages.last());
        if last.is_some_and(|s| s.duration.is_none()) {
            return Err(ControlError::new(
                "stages",
                "the last stage runs forever: stages after it would never run",
            ));
        }
        let mut all = self.stages.clone();
        all.extend_from_slice(&steer.appended);
        all.extend_from_slice(more);
        crate::plan::stage::check_stages(&all).map_err(|(i, m)| {
            let n = i.saturating_sub(self.stages.len() + steer.appended.len());
            ControlError::new(format!("stages[{n}]"), m)
        })?;
        let before = all.len() - more.len();
        self.tx.send_modify(|s| s.appended.extend_from_slice(more));
        Ok(Change {
            action: ControlAction::Append,
            from: format!("{before} stages"),
            to: format!("{} stages", all.len()),
        })
    }

    fn open_only(&self, field: &str) -> Result<(), ControlError> {
        match self.planned_rate {
            Some(_) => Ok(()),
            None => Err(ControlError::new(
                field,
                "the closed model has no schedule to steer (use the open model: --rate or --stages)",
            )),
        }
    }
}

/// What the loop does for the k-th call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Fire at `intended`; `slot.stage` is the stage's index in the plan.
    Fire { slot: Slot, intended: Instant },
    /// Paused: wait for a change.
    Paused,
    /// The schedule is over.
    End,
}

/// A stretch of the schedule in one stage: the recorder's per-stage windows are made of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Offset from the run's `t0` at which the stretch begins (it ends where the next begins).
    pub start: Duration,
    /// Index of the stage in the plan (appended stages follow the plan's).
    pub stage: usize,
    /// The rate in force (calls/s after any ramp; a re-rate's rate).
    pub rate: f64,
    /// Paused: calls that end here belong to the stage, the time does not.
    pub paused: bool,
}

/// The schedule as steered so far: the pacer of the current leg (from the last change on) and where
/// that leg starts in time, calls and stages.
#[derive(Debug, Clone)]
pub struct Course {
    /// Every stage of the plan, appended ones included.
    plan: Vec<Stage>,
    /// Stages appended so far (compared with [`Steer::appended`]).
    appended: usize,
    /// The rate the current leg's pacer starts from (a ramp in its first stage starts here).
    leg_rate: f64,
    /// The stages left at the start of this leg (the first one cut to what remained of it).
    rest: Vec<Stage>,
    /// Index in the plan of `rest[0]`.
    first_stage: usize,
    pacer: Pacer,
    /// When this leg's schedule starts and how many calls came before it.
    t_base: Instant,
    k_base: u64,
    max_calls: Option<u64>,
    /// The instant the schedule froze, while paused.
    paused_at: Option<Instant>,
    /// Re-rates applied (compared with [`Steer::rerates`]).
    rerates: u64,
}

impl Course {
    /// The plan's schedule from `t0`, unsteered.
    pub fn new(stages: &[Stage], max_calls: Option<u64>, t0: Instant) -> Course {
        Course {
            plan: stages.to_vec(),
            appended: 0,
            leg_rate: 0.0,
            rest: stages.to_vec(),
            first_stage: 0,
            pacer: Pacer::new(stages, max_calls),
            t_base: t0,
            k_base: 0,
            max_calls,
            paused_at: None,
            rerates: 0,
        }
    }

    /// The k-th call of the run (0-based, counting every call fired so far).
    pub fn next(&self, k: u64) -> Next {
        if self.paused_at.is_some() {
            return Next::Paused;
        }
        match self.pacer.slot(k.saturating_sub(self.k_base)) {
            Some(s) => Next::Fire {
                slot: Slot {
                    at: s.at,
                    stage: self.first_stage + s.stage,
                },
                intended: self.t_base + s.at,
            },
            None => Next::End,
        }
    }

    /// The stage running at `now` (its index in the plan) and its target rate (0 while paused);
    /// None after the last stage.
    pub fn stage_at(&self, now: Instant) -> Option<(usize, f64)> {
        let at = self.paused_at.unwrap_or(now);
        let (i, rate) = self
            .pacer
            .stage_at(at.saturating_duration_since(self.t_base))?;
        let rate = if self.paused_at.is_some() { 0.0 } else { rate };
        Some((self.first_stage + i, rate))
    }

    /// Applies what `steer` asks that this course has not applied yet, at `now`, with `k` calls
    /// fired so far.
    pub fn apply(&mut self, steer: &Steer, now: Instant, k: u64) {
        if let Some(more) = steer.appended.get(self.appended..)
            && !more.is_empty()
        {
            self.appended = steer.appended.len();
            self.plan.extend_from_slice(more);
            // The rest of the plan grows at its end: the slots laid out so far keep their times.
            self.rest.extend_from_slice(more);
            let left = self.max_calls.map(|m| m.saturating_sub(self.k_base));
            self.pacer = Pacer::from_rate(&self.rest, self.leg_rate, left);
        }
        if steer.rerates != self.rerates {
            self.rerates = steer.rerates;
            match (steer.stage, steer.rate) {
                (Some(stage), _) => self.jump(now, k, stage),
                (None, Some(rate)) => self.rebase(now, k, rate),
                (None, None) => {}
            }
        }
        match (steer.paused, self.paused_at) {
            (true, None) => self.paused_at = Some(now),
            // The rest of the schedule moves by the pause: due times keep their spacing.
            (false, Some(at)) => {
                self.t_base += now.saturating_duration_since(at);
                self.paused_at = None;
            }
            _ => {}
        }
    }

    /// Starts a new leg at `now`: the schedule continues from its position (frozen while paused),
    /// the rest of the current stage at `rate`.
    fn rebase(&mut self, now: Instant, k: u64, rate: f64) {
        let position = self
            .paused_at
            .unwrap_or(now)
            .saturating_duration_since(self.t_base);
        let mut rest = match self.pacer.stage_at(position) {
            Some((i, _)) => {
                let inside = position.saturating_sub(self.pacer.stage_start(i).unwrap_or_default());
                let cut = Stage {
                    duration: self.rest[i].duration.map(|d| d.saturating_sub(inside)),
                    ..self.rest[i].clone()
                };
                self.first_stage += i;
                let mut rest = vec![cut];
                rest.extend_from_slice(&self.rest[i + 1..]);
                rest
            }
            None => Vec::new(),
        };
        if let Some(first) = rest.first_mut() {
            *first = Stage {
                rate,
                duration: first.duration,
                ramp: Duration::ZERO,
            };
        }
        self.start_leg(rest, rate, now, k);
    }

    /// Starts a new leg at `now` with stage `stage` of the plan, whole, then the stages after it; a
    /// ramp in it starts from the rate in force.
    fn jump(&mut self, now: Instant, k: u64, stage: usize) {
        let Some(rest) = self.plan.get(stage..) else {
            return;
        };
        let position = self
            .paused_at
            .unwrap_or(now)
            .saturating_duration_since(self.t_base);
        let rate_now = self.pacer.stage_at(position).map_or(0.0, |(_, r)| r);
        self.first_stage = stage;
        self.start_leg(rest.to_vec(), rate_now, now, k);
    }

    fn start_leg(&mut self, rest: Vec<Stage>, start_rate: f64, now: Instant, k: u64) {
        let left = self.max_calls.map(|m| m.saturating_sub(k));
        self.pacer = Pacer::from_rate(&rest, start_rate, left);
        self.leg_rate = start_rate;
        self.rest = rest;
        self.t_base = now;
        self.k_base = k;
        self.paused_at = None;
    }

    /// When the schedule (as steered so far) ends; None when it runs forever or is paused.
    pub fn end(&self) -> Option<Instant> {
        if self.paused_at.is_some() {
            return None;
        }
        Some(self.t_base + self.pacer.total_duration()?)
    }

    /// The schedule from `at` on, as segments with offsets from `t0`: the stage running at `at`
    /// from `at`, then every later stage from its (moved) start. While paused, one paused segment of
    /// the stage the schedule froze in: where the later stages begin is not known until the resume.
    /// Empty once the schedule is over.
    pub fn layout(&self, at: Instant, t0: Instant) -> Vec<Segment> {
        let offset = |i: Instant| i.saturating_duration_since(t0);
        let position = self
            .paused_at
            .unwrap_or(at)
            .saturating_duration_since(self.t_base);
        let Some((now, _)) = self.pacer.stage_at(position) else {
            return Vec::new();
        };
        let segment = |i: usize, start: Duration| Segment {
            start,
            stage: self.first_stage + i,
            rate: self.rest.get(i).map_or(0.0, |s| s.rate),
            paused: self.paused_at.is_some(),
        };
        let mut out = vec![segment(now, offset(at))];
        if self.paused_at.is_none() {
            for i in now + 1..self.rest.len() {
                let Some(start) = self.pacer.stage_start(i) else {
                    break;
                };
                out.push(segment(i, offset(self.t_base + start)));
            }
        }
        out
    }
}

/// A segment for tests: `start_ms` after `t0`.
#[cfg(test)]
pub(crate) fn seg(start_ms: u64, stage: usize, rate: f64, paused: bool) -> Segment {
    Segment {
        start: Duration::from_millis(start_ms),
        stage,
        rate,
        paused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn steering() -> Steering {
        Steering::new(vec![("echo".into(), 3), ("add".into(), 1)], Some(10.0))
    }

    /// Fires `course` from `k` until `until` (offsets from `t0`), returns the intended offsets.
    fn fire_until(course: &Course, k: &mut u64, t0: Instant, until: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        while let Next::Fire { intended, .. } = course.next(*k) {
            if intended - t0 >= until {
                break;
            }
            out.push(intended - t0);
            *k += 1;
        }
        out
    }

    #[test]
    fn a_pause_freezes_the_schedule_and_a_resume_restarts_it_from_there() {
        let t0 = Instant::now();
        let mut c = Course::new(
            &[Stage::steady(10.0, Some(Duration::from_secs(2)))],
            None,
            t0,
        );
        let mut k = 0;
        // 0.0 .. 0.5 s: 5 calls; paused at 0.55 s.
        assert_eq!(fire_until(&c, &mut k, t0, ms(550)).len(), 6);
        let mut s = Steer {
            paused: true,
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(550), k);
        assert_eq!(c.next(k), Next::Paused);
        // Resumed 10 s later: the schedule moves by the pause (the next call 50 ms after the resume,
        // as it was 50 ms after the pause), not 10 s of calls at once.
        s.paused = false;
        c.apply(&s, t0 + ms(10_550), k);
        let rest = fire_until(&c, &mut k, t0, Duration::from_secs(60));
        assert_eq!(rest.first(), Some(&ms(10_600)));
        assert_eq!(k, 20, "the stage's calls, no more, no fewer");
        assert!(rest.windows(2).all(|w| w[1] - w[0] == ms(100)));
    }

    #[test]
    fn a_rerate_holds_for_the_rest_of_the_stage_then_the_plan_goes_on() {
        let t0 = Instant::now();
        let stages = [
            Stage::steady(10.0, Some(Duration::from_secs(1))),
            Stage::steady(5.0, Some(Duration::from_secs(2))),
        ];
        let mut c = Course::new(&stages, None, t0);
        let mut k = 0;
        assert_eq!(fire_until(&c, &mut k, t0, ms(500)).len(), 5);
        let s = Steer {
            rerates: 1,
            rate: Some(100.0),
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(500), k);
        // Applying the same steer again changes nothing.
        c.apply(&s, t0 + ms(700), k);
        let mut stage0 = 0;
        let mut stage1 = 0;
        while let Next::Fire { slot, intended } = c.next(k) {
            if slot.stage == 0 {
                stage0 += 1;
                assert!(intended - t0 < Duration::from_secs(1));
            } else {
                stage1 += 1;
                assert!(intended - t0 >= Duration::from_secs(1));
            }
            k += 1;
        }
        assert_eq!((stage0, stage1), (50, 10));
    }

    #[test]
    fn stage_at_follows_pauses_and_rerates() {
        let t0 = Instant::now();
        let stages = [
            Stage::steady(10.0, Some(Duration::from_secs(10))),
            Stage::steady(5.0, Some(Duration::from_secs(10))),
        ];
        let mut c = Course::new(&stages, None, t0);
        assert_eq!(c.stage_at(t0 + ms(9_000)), Some((0, 10.0)));
        let mut s = Steer {
            paused: true,
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(5_000), 0);
        assert_eq!(c.stage_at(t0 + ms(60_000)), Some((0, 0.0)), "paused");
        s.paused = false;
        c.apply(&s, t0 + ms(65_000), 0);
        // 5 s of stage 0 were left at the pause: stage 1 begins at 70 s.
        assert_eq!(c.stage_at(t0 + ms(69_000)), Some((0, 10.0)));
        assert_eq!(c.stage_at(t0 + ms(71_000)), Some((1, 5.0)));
        s.rerates = 1;
        s.rate = Some(42.0);
        c.apply(&s, t0 + ms(72_000), 0);
        assert_eq!(c.stage_at(t0 + ms(73_000)), Some((1, 42.0)));
        assert_eq!(c.stage_at(t0 + ms(79_999)), Some((1, 42.0)));
        assert_eq!(
            c.stage_at(t0 + ms(80_000)),
            None,
            "the stage ends as planned"
        );
    }

    #[test]
    fn the_layout_follows_pauses_rerates_and_jumps() {
        let t0 = Instant::now();
        let stages = [
            Stage::steady(10.0, Some(Duration::from_secs(10))),
            Stage::steady(5.0, Some(Duration::from_secs(10))),
            Stage::steady(20.0, Some(Duration::from_secs(10))),
        ];
        let mut c = Course::new(&stages, None, t0);
        let at = |n| t0 + ms(n);
        assert_eq!(
            c.layout(t0, t0),
            [
                seg(0, 0, 10.0, false),
                seg(10_000, 1, 5.0, false),
                seg(20_000, 2, 20.0, false)
            ]
        );
        // Paused at 5 s: one paused segment; the later starts are not known yet.
        let mut s = Steer {
            paused: true,
            ..Steer::default()
        };
        c.apply(&s, at(5_000), 0);
        assert_eq!(c.layout(at(5_000), t0), [seg(5_000, 0, 10.0, true)]);
        assert_eq!(c.end(), None, "no end while paused");
        // Resumed at 65 s: stage 0 goes on, the later ones begin 60 s late.
        s.paused = false;
        c.apply(&s, at(65_000), 0);
        assert_eq!(
            c.layout(at(65_000), t0),
            [
                seg(65_000, 0, 10.0, false),
                seg(70_000, 1, 5.0, false),
                seg(80_000, 2, 20.0, false)
            ]
        );
        // Re-rated at 72 s: the rest of stage 1 at 42/s; stage 2 begins as before.
        s.rerates = 1;
        s.rate = Some(42.0);
        c.apply(&s, at(72_000), 0);
        assert_eq!(
            c.layout(at(72_000), t0),
            [seg(72_000, 1, 42.0, false), seg(80_000, 2, 20.0, false)]
        );
        // A jump back to stage 1 at 75 s: it runs whole from there, as planned.
        s.rerates = 2;
        (s.rate, s.stage) = (None, Some(0));
        c.apply(&s, at(75_000), 0);
        assert_eq!(
            c.layout(at(75_000), t0),
            [
                seg(75_000, 0, 10.0, false),
                seg(85_000, 1, 5.0, false),
                seg(95_000, 2, 20.0, false)
            ]
        );
        assert_eq!(c.end(), Some(at(105_000)));
        assert_eq!(c.layout(at(105_000), t0), [], "the schedule is over");
    }

    #[test]
    fn a_jump_fires_the_stage_whole_from_the_change() {
        let t0 = Instant::now();
        let stages = [
            Stage::steady(10.0, Some(Duration::from_secs(1))),
            Stage::steady(5.0, Some(Duration::from_secs(2))),
            Stage::steady(20.0, Some(Duration::from_secs(1))),
        ];
        let mut c = Course::new(&stages, None, t0);
        let mut k = 0;
        assert_eq!(fire_until(&c, &mut k, t0, ms(250)).len(), 3);
        let s = Steer {
            rerates: 1,
            stage: Some(2),
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(250), k);
        let mut per_stage = [0; 3];
        while let Next::Fire { slot, intended } = c.next(k) {
            per_stage[slot.stage] += 1;
            assert!(intended >= t0 + ms(250) && intended < t0 + ms(1_250));
            k += 1;
        }
        assert_eq!(
            per_stage,
            [0, 0, 20],
            "stage 3's 20 calls, from the jump on"
        );
    }

    #[test]
    fn appended_stages_run_after_the_plan_and_keep_its_times() {
        let t0 = Instant::now();
        let mut c = Course::new(
            &[Stage::steady(10.0, Some(Duration::from_secs(1)))],
            None,
            t0,
        );
        let mut k = 0;
        let before = fire_until(&c, &mut k, t0, ms(500));
        let s = Steer {
            appended: vec![Stage::steady(4.0, Some(Duration::from_secs(1)))],
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(500), k);
        c.apply(&s, t0 + ms(600), k);
        let rest = fire_until(&c, &mut k, t0, Duration::from_secs(60));
        assert_eq!(before.len() + rest.len(), 14, "10 + 4, applied once");
        assert_eq!(rest[..5].first(), Some(&ms(500)), "the plan's times kept");
        assert_eq!(&rest[5..], &[ms(1_000), ms(1_250), ms(1_500), ms(1_750)]);
        assert_eq!(
            c.layout(t0 + ms(500), t0),
            [seg(500, 0, 10.0, false), seg(1_000, 1, 4.0, false)]
        );
    }

    #[test]
    fn jumps_and_appends_are_validated() {
        let plan = [
            Stage::steady(10.0, Some(Duration::from_secs(1))),
            Stage::steady(5.0, Some(Duration::from_secs(2))),
        ];
        let s = steering().with_stages(&plan);
        for bad in [0, 3] {
            let e = s.jump(bad, Some(1)).expect_err("out of range");
            assert_eq!(e.field, "stage");
            assert!(e.message.contains("from 1 to 2"), "{e}");
        }
        assert_eq!(s.current(), Steer::default(), "nothing changed");
        let c = s.jump(2, Some(1)).expect("valid");
        assert_eq!((c.from.as_str(), c.to.as_str()), ("stage 1", "stage 2"));
        assert_eq!((s.current().stage, s.current().rerates), (Some(1), 1));

        let e = s.append(&[]).expect_err("empty");
        assert_eq!(e.field, "stages");
        let e = s
            .append(&[
                Stage::steady(1.0, Some(Duration::from_secs(1))),
                Stage::steady(-1.0, Some(Duration::from_secs(1))),
            ])
            .expect_err("negative rate");
        assert_eq!(e.field, "stages[1]");
        let c = s
            .append(&[Stage::steady(1.0, None)])
            .expect("a last stage may run forever");
        assert_eq!((c.from.as_str(), c.to.as_str()), ("2 stages", "3 stages"));
        let e = s
            .append(&[Stage::steady(1.0, Some(Duration::from_secs(1)))])
            .expect_err("after forever");
        assert!(e.message.contains("forever"), "{e}");
        assert!(
            s.jump(3, None).is_ok(),
            "an appended stage can be jumped to"
        );
        // A rate after a jump is a rate again.
        assert!(s.set_rate(7.0).is_ok());
        assert_eq!((s.current().stage, s.current().rate), (None, Some(7.0)));
    }

    #[test]
    fn max_calls_counts_across_legs() {
        let t0 = Instant::now();
        let mut c = Course::new(&[Stage::steady(10.0, None)], Some(8), t0);
        let mut k = 0;
        fire_until(&c, &mut k, t0, ms(250));
        let s = Steer {
            rerates: 1,
            rate: Some(1000.0),
            ..Steer::default()
        };
        c.apply(&s, t0 + ms(250), k);
        fire_until(&c, &mut k, t0, Duration::from_secs(100));
        assert_eq!(k, 8);
        assert_eq!(c.next(k), Next::End);
    }

    #[test]
    fn steering_validates_and_describes() {
        let s = steering();
        let e = s.set_rate(-1.0).err().map(|e| e.field);
        assert_eq!(e.as_deref(), Some("rate"));
        assert_eq!(
            s.current(),
            Steer::default(),
            "a refused change changes nothing"
        );
        let c = s.set_rate(25.0).expect("valid");
        assert_eq!((c.from.as_str(), c.to.as_str()), ("10/s", "25/s"));
        assert_eq!(s.current().rerates, 1);

        let w = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|(n, w)| (n.to_string(), *w))
                .collect::<BTreeMap<_, _>>()
        };
        let err = s.set_weights(&w(&[("nope", 1.0)])).expect_err("unknown");
        assert_eq!(err.field, "weights.nope");
        assert!(err.message.contains("echo, add"), "{err}");
        let err = s.set_weights(&w(&[("echo", -2.0)])).expect_err("negative");
        assert_eq!(err.field, "weights.echo");
        let err = s
            .set_weights(&w(&[("echo", 0.0), ("add", 0.0)]))
            .expect_err("zero sum");
        assert_eq!(err.field, "weights");
        assert_eq!(s.current().weights, None);
        let c = s.set_weights(&w(&[("add", 5.0)])).expect("valid");
        assert_eq!(
            (c.from.as_str(), c.to.as_str()),
            ("add=1,echo=3", "add=5,echo=3")
        );
        assert_eq!(s.current().weights, Some(vec![3, 5]));

        let c = s.pause().expect("pause");
        assert_eq!((c.from.as_str(), c.to.as_str()), ("running", "paused"));
        assert!(s.current().paused);
        let c = s.resume().expect("resume");
        assert_eq!(c.action, ControlAction::Resume);

        let closed = Steering::new(vec![("echo".into(), 1)], None);
        assert_eq!(closed.pause().map_err(|e| e.field), Err("paused".into()));
        let err = closed
            .set_weights(&w(&[("echo", 2.0)]))
            .expect_err("closed");
        assert_eq!(err.field, "weights");
    }
}
