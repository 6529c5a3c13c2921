//! Configuration: built-in defaults < config file (TOML or YAML) < environment (`MCP_SOAK__…`) < flags,
//! lowered into one [`crate::plan::Plan`]. A mistake names the source, the key and what was expected.
//!
//! Environment variables use `__` both after the prefix and between levels:
//! `MCP_SOAK__LOAD__RATE=50`, `MCP_SOAK__TARGET__URL=...`, `MCP_SOAK__TARGET__AUTH__TOKEN_FILE=...`
//! (`MCP_SOAK_LOAD__RATE`, with one underscore after the prefix, is ignored by the `config` crate).
//! The old scripts' variables are honoured too: `API_BASE_URL` (→ target.url), `LOAD_TEST_CONCURRENT`,
//! `LOAD_TEST_TOTAL`, `LOAD_TEST_TIMEOUT` (seconds), below the `MCP_SOAK__` ones.
//!
//! One step per file: `layers` reads defaults, file and environment (and knows each key's origin),
//! `flags` applies `RunArgs` on top, `lower` turns each section into its part of the plan.

mod args;
pub mod file;
mod flags;
mod layers;
mod lower;
pub mod presets;
mod starter;

pub use args::{ReportArgs, RunArgs};
pub use lower::control::TOKEN_ENV as CONTROL_TOKEN_ENV;
pub use presets::{SCENARIOS, Scenario};
pub use starter::{starter_config, starter_config_with};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use crate::plan::Plan;
use layers::Loader;

/// Environment variable prefix (followed by `__`).
pub const ENV_PREFIX: &str = "MCP_SOAK";

/// A configuration mistake: where it came from, which key, what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: `{key}`: {message}")]
pub struct ConfigError {
    /// `file config/x.toml`, `env MCP_SOAK__LOAD__RATE`, `flag --rate`, `defaults`.
    pub origin: String,
    /// Dotted key, e.g. `load.rate`, `mix[2].weight`.
    pub key: String,
    /// What was wrong and what was expected, e.g. `must be > 0`.
    pub message: String,
}

/// The old scripts' environment variables and the keys they set (below `MCP_SOAK__…`).
pub const LEGACY_ENV: [(&str, &str); 4] = [
    ("API_BASE_URL", "target.url"),
    ("LOAD_TEST_CONCURRENT", "load.concurrent"),
    ("LOAD_TEST_TOTAL", "load.total"),
    ("LOAD_TEST_TIMEOUT", "target.timeout"),
];

/// Loads the plan from defaults, `args.config`, the process environment and `args`.
pub fn load(args: &RunArgs) -> Result<Plan, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    load_with_env(args, &env)
}

/// Like [`load`] with an explicit environment (tests use this to avoid racing on the process env).
pub fn load_with_env(args: &RunArgs, env: &HashMap<String, String>) -> Result<Plan, ConfigError> {
    let mut l = Loader {
        env,
        file: args.config.clone(),
        origins: BTreeMap::new(),
    };
    let mut cfg = l.read_layers()?;
    l.apply_flags(&mut cfg, args)?;
    l.lower(cfg, args)
}

/// Only the target (URL, transport, protocol, headers, TLS, auth) of `args`, from the same layers
/// as [`load`] (defaults < `-c` file < environment < flags): what `discover` needs, with no mix or
/// load required.
pub fn load_client(args: &RunArgs) -> Result<crate::mcp::ClientConfig, ConfigError> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut l = Loader {
        env: &env,
        file: args.config.clone(),
        origins: BTreeMap::new(),
    };
    let mut cfg = l.read_layers()?;
    l.apply_flags(&mut cfg, args)?;
    l.lower_client(&cfg)
}

/// Parses `500ms`, `30s`, `10m`, `1h 30m` (humantime). A bare number is refused: `150` could mean
/// seconds or milliseconds (only `--delay` takes plain seconds, like the old scripts).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.parse::<f64>().is_ok() {
        return Err(format!("{t} has no unit (write {t}s or {t}ms)"));
    }
    humantime::parse_duration(t).map_err(|e| e.to_string())
}

/// Reads a config file's path for messages (used by `validate`).
pub fn describe_source(path: Option<&Path>) -> String {
    path.map_or_else(
        || "flags and environment".into(),
        |p| p.display().to_string(),
    )
}
