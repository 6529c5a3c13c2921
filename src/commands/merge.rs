//! `mcp-soak merge S0.json S1.json ... [-o merged.json]`: the summaries of a load's shards
//! (`--instance-share i/n`, one `--run-id`) merged into the summary of the whole load.
//!
//! Exit codes as for `run`: 0 when the merged SLOs held (or none were set), 1 when one failed (the
//! verdict of the whole load, which no single shard can give), 2 when the inputs cannot be merged.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{Exit, ExitError};
use crate::report::merge::{self, Shard};
use crate::report::{compare, write};

/// Arguments of `mcp-soak merge`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak merge results/shard-*.json > merged.json
  mcp-soak merge s0.json s1.json s2.json -o merged.json && mcp-soak compare baseline.json merged.json")]
pub struct Args {
    /// Summaries of the shards of one run (`mcp-soak run --instance-share i/n --run-id ID --summary ...`).
    #[arg(required = true, value_name = "SUMMARY")]
    pub summaries: Vec<PathBuf>,
    /// Write the merged summary here (atomically) instead of to stdout.
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Runs `mcp-soak merge`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let shards = args
        .summaries
        .iter()
        .map(|path| {
            Ok(Shard {
                file: path.display().to_string(),
                summary: compare::load(path)?,
            })
        })
        .collect::<Result<Vec<_>, compare::CompareError>>()
        .map_err(ExitError::usage)?;
    let merged = merge::merge(&shards).map_err(ExitError::usage)?;
    if !merged.missing.is_empty() {
        tracing::warn!(
            missing = %merged.missing.join(", "),
            "not every shard of the load was given: the merged summary covers only part of it"
        );
    }
    let s = &merged.summary;
    match &args.output {
        Some(path) => {
            write::write_summary(path, s).with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, s)?;
            writeln!(out)?;
        }
    }
    Ok(if s.slo_passed {
        Exit::Ok
    } else {
        Exit::SloFailed
    })
}
