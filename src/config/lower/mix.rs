//! Lowering the `mix` entries into weighted operations and the `slo` entries into checked SLOs.

use crate::config::file::{MixCfg, SloCfg};
use crate::config::{ConfigError, Loader, parse_duration};
use crate::plan::args::CaptureSpec;
use crate::plan::{ArgTemplate, Method, Mix, Operation, Slo};

impl Loader<'_> {
    pub(super) fn lower_mix(&self, mix: &[MixCfg]) -> Result<Mix, ConfigError> {
        if mix.is_empty() {
            return Err(self.err("mix", "no operations: add [[mix]] entries or --mix 'tool=1' (`mcp-soak discover` prints a starting config)"));
        }
        let mut ops: Vec<Operation> = Vec::new();
        for (i, m) in mix.iter().enumerate() {
            let key = format!("mix[{i}]");
            let e = |field: &str, msg: String| self.err(&format!("{key}.{field}"), msg);
            let method = match (&m.tool, m.method.as_deref()) {
                (Some(_), Some(me)) if me != "tools/call" => {
                    return Err(e("method", format!("set either tool or method, got tool and method {me:?}")));
                }
                (Some(t), _) if t.is_empty() => return Err(e("tool", "empty tool name".into())),
                (Some(t), _) => Method::ToolsCall { tool: t.clone() },
                (None, Some("resources/read")) => Method::ResourcesRead {
                    uri: m.uri.clone().ok_or_else(|| e("uri", "resources/read needs uri".into()))?,
                },
                (None, Some("prompts/get")) => Method::PromptsGet {
                    name: m.prompt.clone().ok_or_else(|| e("prompt", "prompts/get needs prompt".into()))?,
                },
                (None, Some(me)) => Method::parse_simple(me).ok_or_else(|| {
                    e("method", format!("expected tools/list, resources/list, resources/read, prompts/list, prompts/get or ping, got {me:?}"))
                })?,
                (None, None) => return Err(self.err(&key, "expected tool = \"NAME\" or method = \"tools/list\"")),
            };
            let name = m.name.clone().or_else(|| mix_label(m)).unwrap_or_default();
            if ops.iter().any(|o| o.name == name) {
                return Err(e(
                    "name",
                    format!("operation {name:?} appears twice; give one a distinct `name`"),
                ));
            }
            let weight = m.weight.unwrap_or(1);
            if !(0..=1_000_000).contains(&weight) {
                return Err(e(
                    "weight",
                    format!("expected an integer from 0 to 1000000, got {weight}"),
                ));
            }
            let args = match &m.args {
                None => ArgTemplate::default(),
                Some(v) => ArgTemplate::parse(v)
                    .map_err(|ae| e(&format!("args.{}", ae.path), ae.message))?,
            };
            let mut captures = Vec::new();
            for (pool, pointer) in &m.capture {
                if !(pointer.is_empty() || pointer.starts_with('/')) {
                    return Err(e(
                        &format!("capture.{pool}"),
                        format!("expected a JSON pointer like \"/payment_id\", got {pointer:?}"),
                    ));
                }
                captures.push(CaptureSpec {
                    pool: pool.clone(),
                    pointer: pointer.clone(),
                });
            }
            if let Some(r) = m.max_rate
                && (!r.is_finite() || r <= 0.0)
            {
                return Err(e("max_rate", format!("expected calls/s > 0, got {r}")));
            }
            ops.push(Operation {
                name,
                method,
                weight: weight as u32,
                args,
                captures,
                max_rate: m.max_rate,
                allow_destructive: m.allow_destructive.unwrap_or(false),
            });
        }
        let mix = Mix { ops };
        if mix.total_weight() == 0 {
            return Err(self.err(
                "mix",
                "the weights sum to 0: at least one operation needs a weight > 0",
            ));
        }
        Ok(mix)
    }

    /// `--allow-destructive NAME,...`: every `tools/call` of each named tool may call it; a name
    /// the mix never calls is a mistake.
    pub(super) fn allow_destructive(
        &self,
        mix: &mut Mix,
        names: &[String],
    ) -> Result<(), ConfigError> {
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let mut found = false;
            for op in &mut mix.ops {
                if matches!(&op.method, Method::ToolsCall { tool } if tool == name) {
                    op.allow_destructive = true;
                    found = true;
                }
            }
            if !found {
                let tools: Vec<&str> = mix
                    .ops
                    .iter()
                    .filter_map(|o| match &o.method {
                        Method::ToolsCall { tool } => Some(tool.as_str()),
                        _ => None,
                    })
                    .collect();
                return Err(ConfigError {
                    origin: "flag --allow-destructive".into(),
                    key: "mix".into(),
                    message: format!(
                        "the mix never calls tool {name:?} (it calls: {})",
                        if tools.is_empty() {
                            "no tools".into()
                        } else {
                            tools.join(", ")
                        }
                    ),
                });
            }
        }
        Ok(())
    }

    pub(super) fn lower_slos(&self, slos: &[SloCfg], mix: &Mix) -> Result<Vec<Slo>, ConfigError> {
        let mut out = Vec::new();
        for (i, s) in slos.iter().enumerate() {
            let key = format!("slo[{i}]");
            if let Some(op) = &s.tool
                && mix.index_of(op).is_none()
            {
                let names: Vec<&str> = mix.ops.iter().map(|o| o.name.as_str()).collect();
                return Err(self.err(
                    &format!("{key}.tool"),
                    format!(
                        "no operation {op:?} in the mix (have: {})",
                        names.join(", ")
                    ),
                ));
            }
            let p95 = match &s.p95 {
                Some(p) => Some(parse_duration(p).map_err(|m| {
                    self.err(
                        &format!("{key}.p95"),
                        format!("expected a duration like 150ms: {m} (got {p:?})"),
                    )
                })?),
                None => None,
            };
            if let Some(t) = s.min_tps
                && (!t.is_finite() || t < 0.0)
            {
                return Err(self.err(
                    &format!("{key}.min_tps"),
                    format!("expected calls/s >= 0, got {t}"),
                ));
            }
            if let Some(r) = s.max_error_ratio
                && !(0.0..=1.0).contains(&r)
            {
                return Err(self.err(
                    &format!("{key}.max_error_ratio"),
                    format!("expected a ratio from 0 to 1 (0.001 = 0.1 %), got {r}"),
                ));
            }
            out.push(Slo {
                op: s.tool.clone(),
                p95,
                min_tps: s.min_tps,
                max_error_ratio: s.max_error_ratio,
            });
        }
        Ok(out)
    }
}

/// The label of a mix entry before `name` overrides: the tool, or the method.
pub(in crate::config) fn mix_label(m: &MixCfg) -> Option<String> {
    if let Some(n) = &m.name {
        return Some(n.clone());
    }
    m.tool.clone().or_else(|| m.method.clone())
}
