//! Load stages: a rate held for a duration, optionally ramped into linearly from the previous rate.

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
