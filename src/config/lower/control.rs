//! Lowering `[control]` (and `--control`) into the plan's runtime controls: whether `/control/…` may
//! change the run, and the bearer token it then requires. The token comes from the environment
//! (`MCP_SOAK_CONTROL_TOKEN`) or from `control.token_file`, never from a flag (a flag shows in `ps`).

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::Control;
use crate::secret::Secret;

/// The environment variable the control token is read from (before `control.token_file`).
pub const TOKEN_ENV: &str = "MCP_SOAK_CONTROL_TOKEN";

impl Loader<'_> {
    pub(super) fn lower_control(&self, c: &FileConfig) -> Result<Control, ConfigError> {
        let k = &c.control;
        let token = match (self.env.get(TOKEN_ENV), &k.token_file) {
            (Some(v), _) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
            (_, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    self.err(
                        "control.token_file",
                        format!("cannot read token file {path}: {e}"),
                    )
                })?;
                if text.trim().is_empty() {
                    return Err(
                        self.err("control.token_file", format!("token file {path} is empty"))
                    );
                }
                Some(Secret::new(text.trim()))
            }
            _ => None,
        };
        let require_token = k.require_token.unwrap_or(false);
        if require_token && token.is_none() {
            return Err(self.err(
                "control.require_token",
                format!("no token: set {TOKEN_ENV} or control.token_file"),
            ));
        }
        Ok(Control {
            enabled: k.enabled.unwrap_or(false),
            token,
            require_token,
        })
    }
}
