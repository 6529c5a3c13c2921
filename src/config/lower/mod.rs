//! Lowering the merged config into the typed `Plan`, one section per submodule; shared helpers here.

mod client;
pub(crate) mod control;
mod load;
mod mix;
mod output;
mod resources;
mod run;

use std::time::Duration;

pub(super) use mix::mix_label;

use super::file::FileConfig;
use super::{ConfigError, Loader, RunArgs, parse_duration};
use crate::plan::Plan;
use load::share;

impl Loader<'_> {
    fn duration(&self, key: &str, v: &Option<String>) -> Result<Option<Duration>, ConfigError> {
        match v {
            None => Ok(None),
            Some(s) => parse_duration(s).map(Some).map_err(|m| {
                self.err(
                    key,
                    format!("expected a duration like 500ms, 30s, 10m, 2h: {m} (got {s:?})"),
                )
            }),
        }
    }

    pub(super) fn lower(&self, c: FileConfig, a: &RunArgs) -> Result<Plan, ConfigError> {
        let client = self.lower_client(&c)?;
        let limits = self.lower_limits(&c)?;
        let load = share(self.lower_load(&c)?, limits.instance_share);
        // The old scripts' presets (`--scenario`, `--quick`, `--total`) ran a mix of their own: with
        // no mix named anywhere they get the assisted-service one, as those scripts did.
        let old_script_preset = c.load.scenario.is_some() || c.load.total.is_some();
        let mut mix = if old_script_preset && c.mix.is_empty() {
            self.lower_mix(&super::presets::assisted_service_mix())?
        } else {
            self.lower_mix(&c.mix)?
        };
        self.allow_destructive(&mut mix, &a.allow_destructive)?;
        let slos = self.lower_slos(&c.slo, &mix)?;
        let output = self.lower_output(&c)?;
        let seed = c.load.seed.unwrap_or_else(rand::random);
        let identity = self.lower_identity(&c)?;
        let resources = self.lower_resources(&c)?;
        let soak = self.lower_soak(&c)?;
        let control = self.lower_control(&c)?;
        Ok(Plan {
            client,
            load,
            mix,
            slos,
            limits,
            output,
            seed,
            identity,
            resources,
            soak,
            control,
        })
    }
}
