//! `mcp-soak report SUMMARY.json --html PATH --junit PATH --markdown PATH`: the report files of
//! any saved summary, the same ones `run` writes beside it. With `$GITHUB_STEP_SUMMARY` set (in a
//! GitHub Actions step) the Markdown is also appended there.

use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::report::compare;
use crate::report::write::{self, ReportPaths};

/// Arguments of `mcp-soak report`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak report results/run.json --html results/run.html
  mcp-soak report results/run.json --junit results/slo.xml --markdown results/run.md")]
pub struct Args {
    /// The summary (JSON written by `mcp-soak run --summary`).
    pub summary: PathBuf,
    /// Which report files to write (`--html`, `--junit`, `--markdown`).
    #[command(flatten)]
    pub files: crate::config::ReportArgs,
}

/// The paths to write: the flags, plus `$GITHUB_STEP_SUMMARY` when it is set and not empty.
pub fn report_paths(
    html: Option<PathBuf>,
    junit: Option<PathBuf>,
    markdown: Option<PathBuf>,
) -> ReportPaths {
    ReportPaths {
        html,
        junit,
        markdown,
        step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    }
}

/// Runs `mcp-soak report`: exit 0 when the files were written (the verdict is in them).
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let summary = compare::load(&args.summary).map_err(ExitError::usage)?;
    let f = args.files;
    let paths = report_paths(f.html, f.junit, f.markdown);
    if paths == ReportPaths::default() {
        return Err(ExitError::usage(anyhow::anyhow!(
            "nothing to write: give --html, --junit or --markdown (or set GITHUB_STEP_SUMMARY)"
        ))
        .into());
    }
    for p in write::write_reports(&summary, &paths).context("writing the reports")? {
        eprintln!("wrote {}", p.display());
    }
    Ok(Exit::Ok)
}
