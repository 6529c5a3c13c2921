//! One file per subcommand: each turns parsed arguments into work and an exit code.
//!
//! Exit codes (a contract): 0 all SLOs held (or none set), 1 an SLO failed or no call succeeded,
//! 2 usage or configuration error (every startup check runs before any traffic), 3 could not start
//! (target unreachable when required, or never reached during the whole run).

pub mod checkpoint;
pub mod checks;
pub mod compare;
pub mod conformance;
pub mod control;
pub mod ctl;
pub mod demo;
pub mod discover;
pub mod merge;
pub mod mock;
pub mod no_success;
pub mod reload;
pub mod report;
pub mod run;
pub mod schema;
pub mod validate;

/// The process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// All SLOs held, or none were set.
    Ok = 0,
    /// At least one SLO failed (or `compare` found a regression).
    SloFailed = 1,
    /// Usage or configuration error; nothing was sent.
    Usage = 2,
    /// Could not start: the target was unreachable when it was required.
    CannotStart = 3,
}

/// A failure that already knows its exit code (config errors → 2, unreachable → 3).
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct ExitError {
    /// The process exit code this failure ends with.
    pub code: Exit,
    /// What went wrong (its whole chain is printed once).
    pub error: anyhow::Error,
}

impl ExitError {
    /// A usage or configuration error (exit 2).
    pub fn usage(source: impl Into<anyhow::Error>) -> Self {
        ExitError {
            code: Exit::Usage,
            error: source.into(),
        }
    }
    /// A could-not-start error (exit 3).
    pub fn cannot_start(source: impl Into<anyhow::Error>) -> Self {
        ExitError {
            code: Exit::CannotStart,
            error: source.into(),
        }
    }
}
