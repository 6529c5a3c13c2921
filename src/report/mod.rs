//! Reports are functions of a [`crate::record::Snapshot`]: console report, JSON summary (versioned,
//! with a JSON Schema), SLO verdicts, and the comparison of two summaries.
