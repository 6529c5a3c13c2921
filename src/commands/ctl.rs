//! `mcp-soak ctl`: the command-line front of a running soak's controls (`/control/…` on its metrics
//! listener), so nobody writes curl. The token comes from `MCP_SOAK_CONTROL_TOKEN` or `--token-file`,
//! as the run's does; the server's answer is printed, and a refusal (any non-2xx) exits 1 with its
//! message.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Exit, ExitError};
use crate::config::CONTROL_TOKEN_ENV;

/// Arguments of `mcp-soak ctl`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  mcp-soak ctl state
  mcp-soak ctl pause
  mcp-soak ctl rate 25
  mcp-soak ctl mix echo=3,get-sum=1
  mcp-soak ctl stage 2
  mcp-soak ctl append 50:30s,100:1m@10s
  MCP_SOAK_CONTROL_TOKEN=... mcp-soak ctl --url http://10.0.0.5:9464 resume")]
pub struct Args {
    /// The running soak's metrics listener.
    #[arg(
        long,
        default_value = "http://127.0.0.1:9464",
        env = "MCP_SOAK_CONTROL_URL"
    )]
    pub url: String,
    /// A file holding the bearer token (when MCP_SOAK_CONTROL_TOKEN is not set).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub action: Action,
}

/// What to ask of the run.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Where the run is, and what the controls ask now.
    State,
    /// Stop sending; the schedule freezes where it is.
    Pause,
    /// Send again from where the schedule was paused.
    Resume,
    /// Set the rate (calls/s) for the rest of the current stage.
    Rate {
        /// Calls per second, ≥ 0 (a negative one is sent, and refused by the run).
        #[arg(allow_negative_numbers = true)]
        rate: f64,
    },
    /// Change mix weights: `tool=W,...` (unlisted operations keep theirs).
    Mix {
        #[arg(value_name = "NAME=WEIGHT,...")]
        weights: String,
    },
    /// Jump to stage N (from 1) now: it runs whole, then the stages after it.
    Stage {
        /// The stage number, from 1 (as the progress line and the summary count).
        number: u64,
    },
    /// Append stages after the plan's last one, in the `--stages` syntax.
    Append {
        #[arg(value_name = "RATE:DURATION[@RAMP],...")]
        stages: String,
    },
}

impl Action {
    /// The path under `/control/` and the JSON body (None: a GET).
    fn request(&self) -> Result<(&'static str, Option<Value>), String> {
        Ok(match self {
            Action::State => ("state", None),
            Action::Pause => ("pause", Some(Value::Null)),
            Action::Resume => ("resume", Some(Value::Null)),
            Action::Rate { rate } => ("rate", Some(json!({ "rate": rate }))),
            Action::Mix { weights } => ("mix", Some(json!({ "weights": parse_weights(weights)? }))),
            Action::Stage { number } => ("stage", Some(json!({ "stage": number }))),
            Action::Append { stages } => ("append", Some(json!({ "stages": stages }))),
        })
    }
}

/// `echo=3,get-sum=1` → `{echo: 3, get-sum: 1}`.
fn parse_weights(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, w) = part
            .rsplit_once('=')
            .ok_or_else(|| format!("`{part}`: expected NAME=WEIGHT"))?;
        let w: f64 = w
            .trim()
            .parse()
            .map_err(|_| format!("`{part}`: the weight is not a number"))?;
        out.insert(name.trim().to_owned(), w);
    }
    if out.is_empty() {
        return Err("expected NAME=WEIGHT,...".into());
    }
    Ok(out)
}

/// The token from the environment, else from `file`.
fn token(file: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    if let Ok(t) = std::env::var(CONTROL_TOKEN_ENV)
        && !t.trim().is_empty()
    {
        return Ok(Some(t.trim().to_owned()));
    }
    match file {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("reading the token file {}", p.display()))?;
            Ok(Some(t.trim().to_owned()))
        }
        None => Ok(None),
    }
}

/// Runs `mcp-soak ctl`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let (path, body) = args
        .action
        .request()
        .map_err(|e| ExitError::usage(anyhow::anyhow!(e)))?;
    let token = token(args.token_file.as_deref()).map_err(ExitError::usage)?;
    let url = format!("{}/control/{path}", args.url.trim_end_matches('/'));
    crate::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")?;
    let mut req = match body {
        None => client.get(&url),
        Some(Value::Null) => client.post(&url),
        Some(b) => client.post(&url).json(&b),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.with_context(|| format!("asking {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let shown = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if status.is_success() {
        println!("{shown}");
        Ok(Exit::Ok)
    } else {
        let message = serde_json::from_str::<Value>(&shown)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| shown.trim().to_owned());
        eprintln!("mcp-soak ctl: {status}: {message}");
        Ok(Exit::SloFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse() {
        let w = parse_weights("echo=3, get-sum=1").expect("parses");
        assert_eq!(w.get("get-sum"), Some(&1.0));
        assert!(parse_weights("echo").is_err());
        assert!(parse_weights("echo=x").is_err());
    }
}
