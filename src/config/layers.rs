//! The layers below the flags: built-in defaults, the config file and the environment, read into one
//! `FileConfig`; and where each key came from, so a mistake names its source.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::file::{FileConfig, LoadPick};
use super::{ConfigError, ENV_PREFIX, LEGACY_ENV};

pub(super) struct Loader<'a> {
    pub(super) env: &'a HashMap<String, String>,
    pub(super) file: Option<PathBuf>,
    /// Keys set by flags → the flag.
    pub(super) origins: BTreeMap<String, String>,
}

fn env_name(key: &str) -> String {
    let mut s = format!("{ENV_PREFIX}__");
    let base: String = key.split('[').next().unwrap_or(key).into();
    s.push_str(&base.replace('.', "__").to_uppercase());
    s
}

impl Loader<'_> {
    pub(super) fn origin(&self, key: &str) -> String {
        if let Some(f) = self.origins.get(key) {
            return f.clone();
        }
        // Flags that replace a whole list (`--mix`, `--slo`) own its items.
        for (k, f) in &self.origins {
            if key.starts_with(&format!("{k}[")) {
                return f.clone();
            }
        }
        let var = env_name(key);
        if self.env.contains_key(&var) {
            return format!("env {var}");
        }
        if let Some((old, _)) = LEGACY_ENV
            .iter()
            .find(|(old, new)| *new == key && self.env.contains_key(*old))
        {
            return format!("env {old}");
        }
        match &self.file {
            Some(p) => format!("file {}", p.display()),
            None => "defaults".into(),
        }
    }

    pub(super) fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: self.origin(key),
            key: key.into(),
            message: message.into(),
        }
    }

    pub(super) fn read_layers(&self) -> Result<FileConfig, ConfigError> {
        let mut b = config::Config::builder();
        if let Some(path) = &self.file {
            let origin = format!("file {}", path.display());
            let format = match path.extension().and_then(|e| e.to_str()) {
                Some("toml") => config::FileFormat::Toml,
                Some("yaml" | "yml") => config::FileFormat::Yaml,
                _ => {
                    return Err(ConfigError {
                        origin,
                        key: "-c".into(),
                        message: "expected a .toml, .yaml or .yml file".into(),
                    });
                }
            };
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                origin: origin.clone(),
                key: "-c".into(),
                message: format!("cannot read: {e}"),
            })?;
            b = b.add_source(config::File::from_str(&text, format));
        }
        let mut env = BTreeMap::new();
        // The old scripts' variables, below MCP_SOAK__ ones.
        for (old, new) in LEGACY_ENV {
            if let Some(v) = self.env.get(old)
                && !self.env.contains_key(&env_name(new))
            {
                let v = if old == "LOAD_TEST_TIMEOUT" && v.parse::<f64>().is_ok() {
                    format!("{v}s")
                } else {
                    v.clone()
                };
                env.insert(env_name(new), v);
            }
        }
        for (k, v) in self.env {
            if k.starts_with(&format!("{ENV_PREFIX}__")) {
                env.insert(k.clone(), v.clone());
            }
        }
        // The environment switches the load model as flags do (legacy variables included).
        let set = |keys: &[&str]| keys.iter().any(|k| env.contains_key(&env_name(k)));
        let pick = LoadPick {
            steady: set(&["load.rate", "load.duration"]),
            stages: set(&["load.stages"]),
            closed: set(&[
                "load.users",
                "load.requests",
                "load.scenario",
                "load.total",
                "load.concurrent",
            ]),
        };
        let env: config::Map<String, String> = env.into_iter().collect();
        b = b.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let built = b.build().map_err(|e| self.layer_err(e))?;
        let mut cfg = built
            .try_deserialize::<FileConfig>()
            .map_err(|e| self.layer_err(e))?;
        cfg.load.switch_model(pick);
        Ok(cfg)
    }

    fn layer_err(&self, e: config::ConfigError) -> ConfigError {
        let msg = e.to_string();
        // The config crate says "... for key `load.rate` in <origin>"; keep its words, name the key.
        let mut key = msg
            .split("key `")
            .nth(1)
            .and_then(|r| r.split('`').next())
            .unwrap_or("")
            .to_string();
        // The config crate writes `mix[0]weight`; say `mix[0].weight`.
        let mut fixed = String::with_capacity(key.len() + 4);
        let mut prev = ' ';
        for ch in key.chars() {
            if prev == ']' && ch != '.' && ch != '[' {
                fixed.push('.');
            }
            fixed.push(ch);
            prev = ch;
        }
        key = fixed;
        if let Some(field) = msg
            .split("unknown field `")
            .nth(1)
            .and_then(|r| r.split('`').next())
        {
            key = if key.is_empty() {
                field.to_string()
            } else {
                format!("{key}.{field}")
            };
        }
        let origin = if key.is_empty() {
            self.file
                .as_ref()
                .map_or("environment".into(), |p| format!("file {}", p.display()))
        } else {
            self.origin(&key)
        };
        let key = if key.is_empty() {
            "(config)".into()
        } else {
            key
        };
        ConfigError {
            origin,
            key,
            message: msg,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::{RunArgs, load_with_env};
    use crate::plan::{Load, Stage};

    const STAGED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/stepped-mock.toml");

    fn load(env: &[(&str, &str)], args: RunArgs) -> Result<Load, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let args = RunArgs {
            config: Some(STAGED.into()),
            ..args
        };
        load_with_env(&args, &env)
            .map(|p| p.load)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_environment_switches_the_load_model_as_flags_do() {
        let flag = load(
            &[],
            RunArgs {
                rate: Some(50.0),
                ..RunArgs::default()
            },
        )
        .expect("--rate over stages");
        let env = load(&[("MCP_SOAK__LOAD__RATE", "50")], RunArgs::default())
            .expect("MCP_SOAK__LOAD__RATE over stages");
        assert_eq!(env, flag);
        let Load::Open { stages, .. } = &env else {
            panic!("open model: {env:?}")
        };
        assert_eq!(
            stages.as_slice(),
            &[Stage::steady(
                50.0,
                Some(std::time::Duration::from_secs(60))
            )]
        );

        // Stages from the environment replace the file's; the closed model replaces the open one.
        let env = load(&[("MCP_SOAK__LOAD__STAGES", "7:10s")], RunArgs::default()).expect("stages");
        let Load::Open { stages, .. } = &env else {
            panic!("open model: {env:?}")
        };
        assert_eq!(stages.len(), 1);
        assert_eq!(stages[0].rate, 7.0);
        let env = load(&[("MCP_SOAK__LOAD__USERS", "3")], RunArgs::default()).expect("closed");
        assert!(matches!(env, Load::Closed { users: 3, .. }), "{env:?}");

        // One layer that sets both models is still a conflict, and it is named.
        let e = load(
            &[
                ("MCP_SOAK__LOAD__USERS", "3"),
                ("MCP_SOAK__LOAD__RATE", "5"),
            ],
            RunArgs::default(),
        )
        .expect_err("both models from the environment");
        assert!(e.contains("env MCP_SOAK__LOAD__"), "{e}");
        // Flags still win over the environment.
        let both = load(
            &[("MCP_SOAK__LOAD__RATE", "50")],
            RunArgs {
                stages: Some("9:5s".into()),
                ..RunArgs::default()
            },
        )
        .expect("--stages over env rate");
        let Load::Open { stages, .. } = &both else {
            panic!("open model: {both:?}")
        };
        assert_eq!(stages[0].rate, 9.0);
    }

    #[test]
    fn max_body_bytes_is_a_setting() {
        let env = |v: &str| -> HashMap<String, String> {
            [("MCP_SOAK__TARGET__MAX_BODY_BYTES".to_owned(), v.to_owned())].into()
        };
        let args = RunArgs {
            mix: Some("echo=1".into()),
            ..RunArgs::default()
        };
        let plan = load_with_env(&args, &env("65536")).expect("a size");
        assert_eq!(plan.client.max_body_bytes, 65536);
        let e = load_with_env(&args, &env("10")).expect_err("too small");
        assert_eq!(e.key, "target.max_body_bytes");
        assert!(e.origin.contains("MCP_SOAK__TARGET__MAX_BODY_BYTES"), "{e}");
    }
}
