//! Load stages: a rate held for a duration, optionally ramped into linearly from the previous rate.
//!
//! Text form (flags and `MCP_SOAK__LOAD__STAGES`): `RATE:DURATION[@RAMP]`, comma separated, e.g.
//! `50:5m,100:5m@30s,200:forever` — 50/s for 5 min, then a 30 s ramp from 50 to 100/s inside the next
//! 5 min, then 200/s until stopped. `forever` (or `inf`) is allowed only in the last stage.

use std::time::Duration;

/// One stage of an open-model run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stage {
    /// Target calls/s once the ramp is over.
    pub rate: f64,
    /// How long the stage lasts; `None` = until stopped (only the last stage).
    #[serde(with = "humantime_serde")]
    pub duration: Option<Duration>,
    /// Linear ramp from the previous stage's rate (0 for the first) over this long at the stage's start;
    /// zero = a step.
    #[serde(with = "humantime_serde")]
    pub ramp: Duration,
}

/// A stage written wrongly.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stage {index} `{text}`: {message} (expected RATE:DURATION[@RAMP], e.g. 100:5m@30s)")]
pub struct StageError {
    /// 1-based position in the list.
    pub index: usize,
    /// The stage as written, e.g. `100:5x`.
    pub text: String,
    /// What is wrong, e.g. `bad duration`.
    pub message: String,
}

impl Stage {
    /// A step to `rate` held for `duration` (`None` = forever).
    pub fn steady(rate: f64, duration: Option<Duration>) -> Stage {
        Stage {
            rate,
            duration,
            ramp: Duration::ZERO,
        }
    }

    /// Parses `RATE:DURATION[@RAMP],...` (see the module docs) and checks the list.
    pub fn parse_list(text: &str) -> Result<Vec<Stage>, StageError> {
        let mut out = Vec::new();
        for (i, part) in text.split(',').map(str::trim).enumerate() {
            let e = |m: &str| StageError {
                index: i + 1,
                text: part.to_string(),
                message: m.to_string(),
            };
            let (rate, rest) = part.split_once(':').ok_or_else(|| e("missing `:`"))?;
            let (dur, ramp) = match rest.split_once('@') {
                Some((d, r)) => (d.trim(), Some(r.trim())),
                None => (rest.trim(), None),
            };
            let rate: f64 = rate.trim().parse().map_err(|_| e("rate is not a number"))?;
            let duration = match dur {
                "forever" | "inf" => None,
                d => Some(
                    humantime::parse_duration(d).map_err(|x| e(&format!("bad duration: {x}")))?,
                ),
            };
            let ramp = match ramp {
                Some(r) => {
                    humantime::parse_duration(r).map_err(|x| e(&format!("bad ramp: {x}")))?
                }
                None => Duration::ZERO,
            };
            out.push(Stage {
                rate,
                duration,
                ramp,
            });
        }
        check_stages(&out).map_err(|(index, message)| StageError {
            index: index + 1,
            text: text.split(',').nth(index).unwrap_or("").trim().to_string(),
            message,
        })?;
        Ok(out)
    }
}

/// Checks a stage list: at least one stage, finite rates ≥ 0, durations > 0, `forever` only last.
/// Returns the 0-based index of the bad stage and what is wrong.
pub fn check_stages(stages: &[Stage]) -> Result<(), (usize, String)> {
    if stages.is_empty() {
        return Err((0, "no stages".into()));
    }
    for (i, s) in stages.iter().enumerate() {
        if !s.rate.is_finite() || s.rate < 0.0 {
            return Err((i, format!("rate must be a number >= 0, got {}", s.rate)));
        }
        match s.duration {
            Some(d) if d.is_zero() => return Err((i, "duration must be > 0".into())),
            None if i + 1 != stages.len() => {
                return Err((i, "only the last stage may run forever".into()));
            }
            _ => {}
        }
    }
    if stages.iter().all(|s| s.rate == 0.0) {
        return Err((0, "every stage has rate 0: nothing would be sent".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stage_lists() {
        let s = Stage::parse_list("50:5m, 100:5m@30s,0:10s,200:forever").expect("parses");
        assert_eq!(
            s,
            vec![
                Stage::steady(50.0, Some(Duration::from_secs(300))),
                Stage {
                    rate: 100.0,
                    duration: Some(Duration::from_secs(300)),
                    ramp: Duration::from_secs(30)
                },
                Stage::steady(0.0, Some(Duration::from_secs(10))),
                Stage::steady(200.0, None),
            ]
        );
        for (bad, idx) in [
            ("50", 1),
            ("x:5m", 1),
            ("5:5m,5:zz", 2),
            ("5:forever,5:1m", 1),
            ("-1:1m", 1),
            ("5:1m@q", 1),
            ("0:1m", 1),
        ] {
            assert_eq!(
                Stage::parse_list(bad).err().map(|e| e.index),
                Some(idx),
                "{bad}"
            );
        }
    }
}
