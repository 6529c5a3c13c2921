//! A run in which no call succeeds is never a silent 0: while it runs, a warning every progress
//! interval says that nothing has succeeded yet and how the calls fail; at the end, the exit code says
//! it — 3 (could not start) when the target was never reached, 1 when it was reached but no call
//! succeeded — whatever SLOs were set (or not) and whatever `--no-fail-on-slo` says.
//!
//! Under the `stale` session strategy a rejection (`session_expired`) is the answer the run asks
//! for, not a failure of the run: there it counts as a call that worked, so a server that rejects
//! every stale id ends with exit 0 (no SLOs) rather than 1.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Exit;
use crate::mcp::OutcomeKind;
use crate::record::{Recorder, Snapshot};
use crate::report::summary::Summary;

/// Calls that ended (sent and answered or failed), calls that worked (`ok`, and `session_expired`
/// when `stale`), and the most common failure, from a snapshot.
fn tally(s: &Snapshot, stale: bool) -> (u64, u64, Option<(OutcomeKind, u64)>) {
    let mut by_kind = [0u64; OutcomeKind::ALL.len()];
    for op in &s.ops {
        for kind in OutcomeKind::ALL {
            by_kind[kind.index()] += op.counts[kind.index()];
        }
    }
    let worked =
        |k: OutcomeKind| k == OutcomeKind::Ok || (stale && k == OutcomeKind::SessionExpired);
    let ok = OutcomeKind::ALL
        .into_iter()
        .filter(|k| worked(*k))
        .map(|k| by_kind[k.index()])
        .sum::<u64>();
    let failures = OutcomeKind::ALL
        .into_iter()
        .filter(|k| !worked(*k) && *k != OutcomeKind::Dropped);
    let ended = ok + failures.clone().map(|k| by_kind[k.index()]).sum::<u64>();
    let worst = failures
        .map(|k| (k, by_kind[k.index()]))
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n);
    (ended, ok, worst)
}

/// Watches the run until a call succeeds, warning every `every` while calls end and none succeeds.
/// Abort the handle when the run ends. `stale`: the run uses the `stale` session strategy.
pub fn watch(recorder: Recorder, every: Duration, stale: bool) -> JoinHandle<()> {
    let every = every.max(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let (ended, ok, worst) = tally(&recorder.snapshot(), stale);
            if ok > 0 {
                return;
            }
            if let Some((kind, n)) = worst {
                tracing::warn!(
                    ended,
                    "NO CALL HAS SUCCEEDED YET: {ended} calls ended, every one failed ({n} as `{}`); \
                     check the target and the errors on /metrics",
                    kind.as_str()
                );
            }
        }
    })
}

/// The exit code and message for a run that scheduled calls and saw none succeed; None when any
/// succeeded (or none was scheduled). `reached` says whether the target was ever connected;
/// `stale`: the run uses the `stale` session strategy, where `session_expired` is an answer that worked.
pub fn verdict(summary: &Summary, reached: bool, stale: bool) -> Option<(Exit, String)> {
    let t = &summary.totals;
    if t.calls == 0 || t.counts.ok > 0 || (stale && t.counts.session_expired > 0) {
        return None;
    }
    Some(if reached {
        (
            Exit::SloFailed,
            format!(
                "no call succeeded: {} calls ended, {} dropped, none ok (see the errors above)",
                t.completed, t.counts.dropped
            ),
        )
    } else {
        (
            Exit::CannotStart,
            format!(
                "no call succeeded: the target was never reached ({} calls failed as `connect`)",
                t.counts.connect
            ),
        )
    })
}
