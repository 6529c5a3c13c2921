//! The run's change log: every change made to a running soak (by the runtime controls or a SIGHUP
//! reload), kept for the summary's `events` list. Bounded: past [`MAX_EVENTS`] the oldest give way and
//! are counted, so a soak steered every minute for a month keeps a fixed size.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::schedule::control::ControlAction;

/// Events kept at most (the newest).
pub const MAX_EVENTS: usize = 1_000;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    /// The runtime controls (`/control/…`, `mcp-soak ctl`).
    Control,
    /// A SIGHUP reload of the config.
    Reload,
}

impl ChangeSource {
    /// The name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Control => "control",
            ChangeSource::Reload => "reload",
        }
    }
}

/// One change to the running soak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlEvent {
    /// Seconds from the run's start.
    pub at_s: f64,
    /// What changed: pause, resume, rate, mix weights, SLOs, a stage jump or appended stages.
    pub action: ControlAction,
    /// What it was before, e.g. `50/s`, `running`, `echo=3,add=1`.
    pub from: String,
    /// What it became.
    pub to: String,
    /// Who changed it: `/control/…` or a reload (SIGHUP).
    pub source: ChangeSource,
}

/// The shared, bounded log of a run's changes.
#[derive(Debug, Clone)]
pub struct Events {
    start: Instant,
    inner: Arc<Mutex<VecDeque<ControlEvent>>>,
}

impl Events {
    /// An empty log whose times count from `start`.
    pub fn new(start: Instant) -> Events {
        Events {
            start,
            inner: Arc::default(),
        }
    }

    /// Keeps a change made now.
    pub fn push(&self, action: ControlAction, from: &str, to: &str, source: ChangeSource) {
        let event = ControlEvent {
            at_s: self.start.elapsed().as_secs_f64(),
            action,
            from: from.to_owned(),
            to: to.to_owned(),
            source,
        };
        let mut q = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() == MAX_EVENTS {
            q.pop_front();
        }
        q.push_back(event);
    }

    /// The changes kept, oldest first.
    pub fn list(&self) -> Vec<ControlEvent> {
        let q = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        q.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_events_within_the_bound() {
        let e = Events::new(Instant::now());
        for i in 0..MAX_EVENTS + 5 {
            e.push(
                ControlAction::Rate,
                &i.to_string(),
                "x",
                ChangeSource::Control,
            );
        }
        let list = e.list();
        assert_eq!(list.len(), MAX_EVENTS);
        assert_eq!(list[0].from, "5");
        assert_eq!(list[MAX_EVENTS - 1].source, ChangeSource::Control);
    }
}
