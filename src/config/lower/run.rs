//! Lowering `[run]` (and `--run-id`, `--label`) into the run's `Identity`: the labels every exported
//! series carries. Names must be Prometheus label names and may not shadow a label mcp-soak or
//! Prometheus sets itself (a static `tool` label would merge every tool into one series); values
//! are bounded so a label stays a label and not a payload.

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::Identity;

/// Labels the exporter, the rules or Prometheus set on the call series: a static label may not take
/// them. (`target`, `protocol`, `transport` and `version` are free: only the info gauges carry them,
/// and there theirs win.)
pub const RESERVED_LABELS: [&str; 9] = [
    "run_id", "tool", "outcome", "le", "quantile", "status", "code", "job", "instance",
];

/// Longest run id or label value accepted (they appear on every series).
const MAX_VALUE_LEN: usize = 128;

impl Loader<'_> {
    pub(super) fn lower_identity(&self, c: &FileConfig) -> Result<Identity, ConfigError> {
        let run_id = match &c.run.id {
            None => uuid::Uuid::new_v4().to_string(),
            Some(id) => {
                check_value(id).map_err(|m| self.err("run.id", m))?;
                id.clone()
            }
        };
        for (name, value) in &c.run.labels {
            let key = format!("run.labels.{name}");
            check_name(name).map_err(|m| self.err(&key, m))?;
            check_value(value).map_err(|m| self.err(&key, m))?;
        }
        Ok(Identity {
            run_id,
            labels: c.run.labels.clone(),
        })
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "label name {name:?} must match [a-zA-Z_][a-zA-Z0-9_]* (e.g. test, env, target_name)"
        ));
    }
    if name.starts_with("__") {
        return Err(format!(
            "label name {name:?}: names starting with __ are Prometheus's"
        ));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(format!(
            "label name {name:?} is set by mcp-soak or Prometheus itself; choose another \
             (reserved: {})",
            RESERVED_LABELS.join(", ")
        ));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {MAX_VALUE_LEN} printable characters, got {value:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_and_avoid_reserved_ones() {
        assert!(check_name("env").is_ok());
        assert!(check_name("target_name").is_ok());
        assert!(check_name("_x1").is_ok());
        for bad in [
            "", "1env", "env-x", "e.v", "__meta", "tool", "run_id", "instance",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn values_are_bounded_and_printable() {
        assert!(check_value("staging").is_ok());
        assert!(check_value(" ").is_err());
        assert!(check_value("a\nb").is_err());
        assert!(check_value(&"x".repeat(129)).is_err());
    }
}
