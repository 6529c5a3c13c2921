//! `mcp-soak compare BASE.json NEW.json [--tolerance 10%]`: exit 1 on a regression beyond tolerance
//! and noise (see `report::compare`).

use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::report::{compare, html, markdown, write};

/// Arguments of `mcp-soak compare`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak compare results/baseline.json results/new.json
  mcp-soak compare base.json new.json --tolerance 5%   # exit 1 on a regression beyond 5 %
  mcp-soak compare base.json new.json --html compare.html --markdown compare.md

A change is a regression only beyond the tolerance and beyond the run-to-run noise estimated from
both summaries' timelines (the `noise ±` column). Runs with different seeds draw different mixes:
compare says so; `--seed N` on both runs compares like with like.")]
pub struct Args {
    /// The baseline summary (JSON written by `mcp-soak run --summary`).
    pub base: PathBuf,
    /// The summary to check against the baseline.
    pub new: PathBuf,
    /// Allowed relative change before a metric counts as a regression (`10%` or `0.1`).
    #[arg(long, default_value = "10%")]
    pub tolerance: String,
    /// Also write the comparison as a self-contained HTML page (deltas, both latency distributions).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Also write the comparison as Markdown (regressions first), e.g. for a PR comment.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}

/// Runs `mcp-soak compare`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let tolerance = compare::parse_tolerance(&args.tolerance).map_err(ExitError::usage)?;
    let base = compare::load(&args.base).map_err(ExitError::usage)?;
    let new = compare::load(&args.new).map_err(ExitError::usage)?;
    let c = compare::compare(&base, &new, tolerance);
    let mut out = std::io::stdout().lock();
    compare::write(&c, &mut out)?;
    if let Some(p) = &args.html {
        write::write_atomic(p, html::render_compare(&c, &base, &new).as_bytes())
            .context("writing the HTML comparison")?;
    }
    if let Some(p) = &args.markdown {
        write::write_atomic(p, markdown::render_compare(&c, &base, &new).as_bytes())
            .context("writing the Markdown comparison")?;
    }
    Ok(if c.regressions() > 0 {
        Exit::SloFailed
    } else {
        Exit::Ok
    })
}
