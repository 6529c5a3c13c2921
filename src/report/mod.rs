//! Reports are functions of a [`crate::record::Snapshot`]: console report, JSON summary (versioned,
//! with a JSON Schema), SLO verdicts, and the comparison of two summaries.
//!
//! * [`summary::build`] — `Snapshot` + [`summary::RunMeta`] → [`summary::Summary`] (the JSON file).
//! * [`slo::evaluate`] — SLO verdicts from a snapshot.
//! * [`console::write`] — the human report, from the same `Summary` (so console and JSON agree).
//! * [`write`](mod@write) — atomic file writes and `{timestamp}` expansion.
//! * [`assess::assess`] — the one-word assessment and the factors that drove it.
//! * [`compare`] — deltas between two summaries, regressions beyond a tolerance.
//! * [`verdicts`] — leak (robust memory slope) and drift (last window against the first steady one).
//! * [`html`], [`markdown`], [`junit`] — report files from a `Summary` (or a comparison); [`chart`]
//!   draws the HTML's SVG charts, [`format`](mod@format) keeps numbers alike across them.
//! * [`merge`] — the summaries of a load's shards as the summary of the whole (exact percentiles).

pub mod assess;
pub mod chart;
pub mod compare;
pub mod console;
pub mod format;
pub mod hdr;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod slo;
pub mod summary;
pub mod verdicts;
pub mod write;

pub use slo::{SloVerdict, evaluate};
pub use summary::{RunMeta, Summary, build};
