//! Checkpoints: while a run goes on, its summary is rewritten atomically every interval, marked
//! `"final": false` and carrying the pacer's position (elapsed, stage, slots scheduled), so a soak
//! that is SIGKILLed, OOM-killed or loses its host keeps everything up to its last checkpoint in a
//! summary that `compare`, `merge` and `report` read like any other. The final summary replaces the
//! last checkpoint in the same file when the run ends.
//!
//! The writer is a task beside the engine, not part of it: it only reads the recorder's snapshot.
//! [`Checkpointer::stop`] waits for a write in progress, so a checkpoint never lands after (and
//! over) the final summary.

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::plan::Load;
use crate::record::events::Events;
use crate::record::{Recorder, Snapshot};
use crate::report::summary::{self, Checkpoint, RunMeta};
use crate::report::write;
use crate::schedule::Pacer;
use crate::serve::ControlState;

/// A running checkpoint writer.
pub struct Checkpointer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// What a checkpoint is written from: everything but the recorder's live numbers.
pub struct Setup {
    /// Where the summary goes, `{timestamp}` already expanded (the final summary goes there too).
    pub path: PathBuf,
    pub every: Duration,
    /// The run's meta as the final summary would have it, minus its end.
    pub meta: RunMeta,
    /// The changes made so far, for the summary's `events`.
    pub events: Events,
}

impl Checkpointer {
    /// Starts writing a checkpoint every `setup.every`, the first one interval after now.
    pub fn start(setup: Setup, recorder: Recorder) -> Checkpointer {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + setup.every;
            let mut ticks = tokio::time::interval_at(start, setup.every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let setup = std::sync::Arc::new(setup);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = token.cancelled() => break,
                }
                let (setup, recorder) = (setup.clone(), recorder.clone());
                // Snapshot, build and fsync off the async threads; awaited, so `stop` waits for it.
                match tokio::task::spawn_blocking(move || write_one(&setup, &recorder)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!("checkpoint not written: {e:#}"),
                    Err(e) => tracing::warn!("checkpoint task failed: {e}"),
                }
            }
        });
        Checkpointer { stop, task }
    }

    /// Stops the writer and waits for a checkpoint being written to land.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Writes one checkpoint of the run so far.
fn write_one(setup: &Setup, recorder: &Recorder) -> anyhow::Result<()> {
    let snap = recorder.snapshot();
    let meta = RunMeta {
        ended: std::time::SystemTime::now(),
        is_final: false,
        checkpoint: Some(position(&snap, setup.every)),
        events: setup.events.list(),
        ..setup.meta.clone()
    };
    let summary = summary::build(&snap, meta);
    write::write_summary(&setup.path, &summary)?;
    tracing::debug!(path = %setup.path.display(), "checkpoint written");
    Ok(())
}

/// Where the run is in its plan at `snap` (`every`: the checkpoint interval, 0 without).
fn position(snap: &Snapshot, every: Duration) -> Checkpoint {
    Checkpoint {
        elapsed_s: snap.elapsed.as_secs_f64(),
        // The recorder's windows: they follow pauses, re-rates, jumps and appends.
        stage: snap.current_stage.map(|i| i + 1),
        scheduled: snap.stages.iter().map(|s| s.scheduled).sum(),
        every_s: every.as_secs_f64(),
    }
}

/// What `GET /control/state` answers: the run's position in its plan, the calls so far and the
/// SLOs judged now (a reload may have replaced them). Read only.
pub fn control_state(recorder: Recorder, every: Option<Duration>) -> ControlState {
    std::sync::Arc::new(move || {
        let snap = recorder.snapshot();
        let calls: u64 = snap
            .ops
            .iter()
            .map(|o| crate::record::snapshot::total(&o.counts))
            .sum();
        serde_json::json!({
            "run_id": snap.run_info.run_id,
            "position": position(&snap, every.unwrap_or_default()),
            "calls": calls,
            "in_flight": snap.in_flight,
            "slos": recorder.slos(),
        })
    })
}

/// The planned length of a run (None: no planned end), which decides the default interval.
pub fn planned(load: &Load) -> Option<Duration> {
    match load {
        Load::Open { stages, max_calls } => Pacer::new(stages, *max_calls).total_duration(),
        Load::Closed { .. } => None,
    }
}
