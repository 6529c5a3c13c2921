//! The runtime controls of a running soak, behind `POST /control/{action}` and the SIGHUP reload:
//! each request is parsed (400 naming the field), applied through the schedule's [`Steering`], and
//! every change is logged, counted (`mcp_soak_control_changes_total{action}`) and kept as an event for
//! the summary. A refused request changes nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::plan::Stage;
use crate::record::Recorder;
use crate::record::events::{ChangeSource, Events};
use crate::record::names;
use crate::schedule::control::{Change, ControlAction, ControlError, Steering};
use crate::serve::Refusal;

/// A change asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Pause,
    Resume,
    Rate(f64),
    Mix(BTreeMap<String, f64>),
    /// Jump to this stage (from 1).
    Stage(usize),
    /// Append these stages.
    Append(Vec<Stage>),
}

impl Request {
    /// `action` with its JSON body: `pause`, `resume` (no body), `rate` (`{"rate": 25}`), `mix`
    /// (`{"weights": {"echo": 3}}`), `stage` (`{"stage": 2}`, from 1), `append`
    /// (`{"stages": "50:30s,100:1m"}`, the `--stages` syntax).
    pub fn parse(action: &str, body: &Value) -> Result<Request, Refusal> {
        let bad = |field: &str, message: String| Refusal {
            status: 400,
            field: Some(field.to_owned()),
            message,
        };
        match action {
            "pause" => Ok(Request::Pause),
            "resume" => Ok(Request::Resume),
            "rate" => match body.get("rate") {
                Some(v) => v
                    .as_f64()
                    .map(Request::Rate)
                    .ok_or_else(|| bad("rate", format!("expected a number of calls/s, got {v}"))),
                None => Err(bad("rate", "missing: send {\"rate\": 25}".into())),
            },
            "stage" => match body.get("stage") {
                Some(v) => v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(Request::Stage)
                    .ok_or_else(|| {
                        bad("stage", format!("expected a stage number from 1, got {v}"))
                    }),
                None => Err(bad("stage", "missing: send {\"stage\": 2}".into())),
            },
            "append" => match body.get("stages") {
                Some(Value::String(text)) => {
                    Stage::parse_list(text).map(Request::Append).map_err(|e| {
                        let field = format!("stages[{}]", e.index.saturating_sub(1));
                        let message = format!(
                            "`{field}`: `{}`: {} (expected RATE:DURATION[@RAMP], e.g. 100:5m@30s)",
                            e.text, e.message
                        );
                        bad(&field, message)
                    })
                }
                Some(v) => Err(bad(
                    "stages",
                    format!("expected RATE:DURATION[@RAMP],... as a string, got {v}"),
                )),
                None => Err(bad(
                    "stages",
                    "missing: send {\"stages\": \"50:30s,100:1m\"}".into(),
                )),
            },
            "mix" => {
                let Some(map) = body.get("weights").and_then(Value::as_object) else {
                    return Err(bad(
                        "weights",
                        "missing: send {\"weights\": {\"tool\": 3, ...}}".into(),
                    ));
                };
                let mut weights = BTreeMap::new();
                for (name, v) in map {
                    let w = v.as_f64().ok_or_else(|| {
                        bad(
                            &format!("weights.{name}"),
                            format!("expected a number, got {v}"),
                        )
                    })?;
                    weights.insert(name.clone(), w);
                }
                Ok(Request::Mix(weights))
            }
            other => Err(Refusal {
                status: 404,
                field: None,
                message: format!(
                    "no control action {other:?} (state, pause, resume, rate, mix, stage, append)"
                ),
            }),
        }
    }
}

/// The run's controls: the steering, and where changes are counted and kept.
#[derive(Clone)]
pub struct Controller {
    steering: Steering,
    recorder: Recorder,
    events: Events,
}

impl Controller {
    pub fn new(steering: Steering, recorder: Recorder, events: Events) -> Controller {
        Controller {
            steering,
            recorder,
            events,
        }
    }

    /// Applies `req` from `source`; an accepted change is logged, counted and kept.
    pub fn apply(&self, req: &Request, source: ChangeSource) -> Result<Change, ControlError> {
        let change = match req {
            Request::Pause => self.steering.pause(),
            Request::Resume => self.steering.resume(),
            Request::Rate(r) => self.steering.set_rate(*r),
            Request::Mix(w) => self.steering.set_weights(w),
            Request::Stage(n) => self
                .steering
                .jump(*n, self.recorder.stage_now().map(|i| i + 1)),
            Request::Append(stages) => self.steering.append(stages),
        }?;
        if change.from != change.to {
            self.note(&change, source);
        }
        Ok(change)
    }

    /// Logs, counts and keeps a change made elsewhere (a reload's SLOs).
    pub fn note(&self, change: &Change, source: ChangeSource) {
        tracing::info!(
            action = change.action.as_str(),
            from = %change.from,
            to = %change.to,
            source = source.as_str(),
            "run changed"
        );
        self.recorder
            .counter(
                names::CONTROL_CHANGES_TOTAL,
                vec![metrics::Label::new("action", change.action.as_str())],
            )
            .increment(1);
        self.events
            .push(change.action, &change.from, &change.to, source);
    }

    /// The run's recorder (a reload replaces its SLOs).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// A receiver of the changes, for the engine.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<crate::schedule::control::Steer> {
        self.steering.subscribe()
    }

    /// What the controls ask now (for `GET /control/state`).
    pub fn state(&self) -> Value {
        let s = self.steering.current();
        json!({
            "paused": s.paused,
            "rate": s.rate,
            "stage": s.stage.map(|i| i + 1),
            "appended": s.appended.len(),
            "weights": self.steering.weights(),
        })
    }

    /// The handler of `POST /control/{action}`.
    pub fn handle(&self, action: &str, body: Value) -> Result<Value, Refusal> {
        let req = Request::parse(action, &body)?;
        let change = self
            .apply(&req, ChangeSource::Control)
            .map_err(|e| Refusal {
                status: 400,
                field: Some(e.field.clone()),
                message: e.to_string(),
            })?;
        Ok(json!({
            "action": change.action.as_str(),
            "from": change.from,
            "to": change.to,
            "control": self.state(),
        }))
    }
}

/// The SLO count change of a reload, as a change to log and keep.
pub fn slos_change(before: usize, after: usize) -> Change {
    Change {
        action: ControlAction::Slos,
        from: format!("{before} objectives"),
        to: format!("{after} objectives"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_or_name_the_field() {
        let p = |a: &str, b: Value| Request::parse(a, &b);
        assert_eq!(p("rate", json!({"rate": 25})), Ok(Request::Rate(25.0)));
        assert_eq!(p("pause", Value::Null), Ok(Request::Pause));
        let field = |r: Result<Request, Refusal>| r.err().and_then(|e| e.field);
        assert_eq!(
            field(p("rate", json!({"rate": "fast"}))).as_deref(),
            Some("rate")
        );
        assert_eq!(field(p("rate", json!({}))).as_deref(), Some("rate"));
        assert_eq!(field(p("mix", json!({"w": 1}))).as_deref(), Some("weights"));
        assert_eq!(
            field(p("mix", json!({"weights": {"echo": "x"}}))).as_deref(),
            Some("weights.echo")
        );
        assert_eq!(p("jump", Value::Null).err().map(|e| e.status), Some(404));
        assert_eq!(p("stage", json!({"stage": 2})), Ok(Request::Stage(2)));
        assert_eq!(
            field(p("stage", json!({"stage": -1}))).as_deref(),
            Some("stage")
        );
        assert_eq!(field(p("stage", json!({}))).as_deref(), Some("stage"));
        assert_eq!(
            p("append", json!({"stages": "50:30s,100:1m@10s"})).map(|r| match r {
                Request::Append(s) => s.len(),
                _ => 0,
            }),
            Ok(2)
        );
        assert_eq!(
            field(p("append", json!({"stages": "50:30s,x:1m"}))).as_deref(),
            Some("stages[1]")
        );
        assert_eq!(
            field(p("append", json!({"stages": [1]}))).as_deref(),
            Some("stages")
        );
    }
}
