//! Steering a running open-model schedule: pause, resume, re-rate, reweigh the mix.
//!
//! A change is a value on a `watch` channel ([`Steer`]); the open loop reads it between slots and the
//! engine's slot handler reads the weights. The loop's [`Course`] keeps the schedule coordinated-omission
//! free across a change: the pacer is rebuilt from where the schedule is at the change (what is left of
//! the current stage, then the later stages), and intended times restart from the change. A pause freezes
//! the schedule's position, so paused time is neither owed as a burst of "late" slots nor counted as lag,
//! and a paused soak ends that much later. [`Steering`] is the sending side: it validates each change and
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
    /// Re-rates so far: the loop applies a re-rate once, when this grows.
    pub rerates: u64,
    /// The last rate set (calls/s); it holds for the rest of the stage it was set in.
    pub rate: Option<f64>,
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
        }
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

/// The schedule as steered so far: the pacer of the current leg (from the last change on) and where
/// that leg starts in time, calls and stages.
#[derive(Debug, Clone)]
pub struct Course {
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
        if steer.rerates != self.rerates {
            self.rerates = steer.rerates;
            if let Some(rate) = steer.rate {
                self.rebase(now, k, rate);
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
        let left = self.max_calls.map(|m| m.saturating_sub(k));
        self.pacer = Pacer::from_rate(&rest, rate, left);
        self.rest = rest;
        self.t_base = now;
        self.k_base = k;
        self.paused_at = None;
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
