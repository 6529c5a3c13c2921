//! The argument template: a JSON tree whose leaves may be generators, captures or literals;
//! parsed from the config (errors name the path in the template) and rendered once per call.

use rand::Rng;
use serde_json::{Map, Value};

use super::capture::{CapturePool, EMPTY_CAPTURE_PREFIX};
use super::generator::{Generator, check_keys, get_str, parse_generator};
use super::{ArgError, err, join};

/// A JSON template whose leaves may be generators.
#[derive(Debug, Clone)]
pub enum ArgTemplate {
    /// Sent as is.
    Literal(Value),
    /// An object whose members are templates.
    Object(Vec<(String, ArgTemplate)>),
    /// An array whose items are templates.
    Array(Vec<ArgTemplate>),
    /// A generated value.
    Gen(Generator),
    /// A value from a capture pool, or the fallback when it is empty.
    Capture {
        /// Name of the pool drawn from.
        pool: String,
        /// Rendered instead while the pool is empty; None = the operation is not ready until it fills.
        fallback: Option<Box<ArgTemplate>>,
    },
    /// An array of `len` distinct renderings of `item` (a schema's `uniqueItems`); shorter when
    /// the item cannot yield that many distinct values in a few tries.
    Unique {
        /// The template of each element.
        item: Box<ArgTemplate>,
        /// How many elements wanted.
        len: usize,
    },
    /// Not resolved yet: filled from the tool's `inputSchema` by `Plan::resolve_tools`.
    Auto,
}

/// Deepest nesting of a template written in a config.
pub const MAX_TEMPLATE_DEPTH: usize = 32;

impl Default for ArgTemplate {
    /// An empty object: `{}`.
    fn default() -> Self {
        ArgTemplate::Object(Vec::new())
    }
}

impl ArgTemplate {
    /// Reads a template from its JSON form (see the module docs). `"auto"` at the top means [`ArgTemplate::Auto`].
    pub fn parse(value: &Value) -> Result<ArgTemplate, ArgError> {
        if value.as_str() == Some("auto") {
            return Ok(ArgTemplate::Auto);
        }
        Self::parse_at(value, "", 0)
    }

    fn parse_at(value: &Value, path: &str, depth: usize) -> Result<ArgTemplate, ArgError> {
        if depth > MAX_TEMPLATE_DEPTH {
            return Err(err(
                path,
                format!("nested deeper than {MAX_TEMPLATE_DEPTH} levels"),
            ));
        }
        match value {
            Value::Object(obj) if obj.contains_key("gen") => {
                Ok(ArgTemplate::Gen(parse_generator(obj, path)?))
            }
            Value::Object(obj) if obj.contains_key("capture") => {
                check_keys(obj, &["capture", "fallback"], path, "capture")?;
                let pool = get_str(obj, "capture", path)?.unwrap_or_default();
                if pool.is_empty() {
                    return Err(err(&join(path, "capture"), "expected a pool name"));
                }
                let fallback = match obj.get("fallback") {
                    Some(f) => Some(Box::new(Self::parse_at(
                        f,
                        &join(path, "fallback"),
                        depth + 1,
                    )?)),
                    None => None,
                };
                Ok(ArgTemplate::Capture { pool, fallback })
            }
            Value::Object(obj) if obj.len() == 1 && obj.contains_key("literal") => Ok(
                ArgTemplate::Literal(obj.get("literal").cloned().unwrap_or(Value::Null)),
            ),
            Value::Object(obj) => {
                let mut members = Vec::with_capacity(obj.len());
                for (k, v) in obj {
                    members.push((k.clone(), Self::parse_at(v, &join(path, k), depth + 1)?));
                }
                Ok(ArgTemplate::Object(members))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    out.push(Self::parse_at(v, &format!("{path}[{i}]"), depth + 1)?);
                }
                Ok(ArgTemplate::Array(out))
            }
            other => Ok(ArgTemplate::Literal(other.clone())),
        }
    }

    /// True when this template still waits for a schema (`args = "auto"`).
    pub fn is_auto(&self) -> bool {
        matches!(self, ArgTemplate::Auto)
    }

    /// Capture pools this template reads from.
    pub fn capture_pools(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk_pools(&mut out);
        out
    }

    fn walk_pools(&self, out: &mut Vec<String>) {
        match self {
            ArgTemplate::Capture { pool, fallback } => {
                out.push(pool.clone());
                if let Some(f) = fallback {
                    f.walk_pools(out);
                }
            }
            ArgTemplate::Object(m) => m.iter().for_each(|(_, t)| t.walk_pools(out)),
            ArgTemplate::Array(a) => a.iter().for_each(|t| t.walk_pools(out)),
            ArgTemplate::Unique { item, .. } => item.walk_pools(out),
            _ => {}
        }
    }

    /// True when every capture this template reads without a `fallback` has a value in `pool`
    /// (otherwise a rendering would send the empty-capture placeholder).
    pub fn ready(&self, pool: &CapturePool) -> bool {
        match self {
            ArgTemplate::Capture {
                pool: name,
                fallback: None,
            } => pool.len(name) > 0,
            ArgTemplate::Capture {
                pool: name,
                fallback: Some(f),
            } => pool.len(name) > 0 || f.ready(pool),
            ArgTemplate::Object(m) => m.iter().all(|(_, t)| t.ready(pool)),
            ArgTemplate::Array(a) => a.iter().all(|t| t.ready(pool)),
            ArgTemplate::Unique { item, .. } => item.ready(pool),
            _ => true,
        }
    }

    /// Produces one value: generators drawn from `rng`, captures from `pool`. `Auto` gives `{}`.
    pub fn render<R: Rng + ?Sized>(&self, rng: &mut R, pool: &CapturePool) -> Value {
        match self {
            ArgTemplate::Literal(v) => v.clone(),
            ArgTemplate::Object(members) => {
                let mut m = Map::with_capacity(members.len());
                for (k, t) in members {
                    m.insert(k.clone(), t.render(rng, pool));
                }
                Value::Object(m)
            }
            ArgTemplate::Array(items) => {
                Value::Array(items.iter().map(|t| t.render(rng, pool)).collect())
            }
            ArgTemplate::Gen(g) => g.generate(rng),
            ArgTemplate::Capture {
                pool: name,
                fallback,
            } => match pool.pick(name, rng) {
                Some(v) => v,
                None => match fallback {
                    Some(f) => f.render(rng, pool),
                    None => Value::String(format!("{EMPTY_CAPTURE_PREFIX}{name}")),
                },
            },
            ArgTemplate::Unique { item, len } => {
                let mut out: Vec<Value> = Vec::with_capacity(*len);
                for _ in 0..len.saturating_mul(8) {
                    if out.len() >= *len {
                        break;
                    }
                    let v = item.render(rng, pool);
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            ArgTemplate::Auto => Value::Object(Map::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    #[test]
    fn generators_respect_bounds() {
        let t = ArgTemplate::parse(&json!({
            "amount": {"gen": "decimal", "min": 1.0, "max": 500.0, "precision": 2},
            "n": {"gen": "int", "min": 1, "max": 3},
            "c": {"gen": "choice", "values": ["USD", "EUR"]},
            "o": {"gen": "seq", "start": 7, "prefix": "order-"},
            "id": {"gen": "uuid"},
            "cus": {"gen": "string", "len": 12, "prefix": "cus_"},
            "h": {"gen": "hex", "len": 6},
            "ts": {"gen": "timestamp"},
            "fixed": {"literal": {"gen": "not a generator"}},
            "nested": [{"k": {"gen": "bool"}}, 5]
        }))
        .expect("parses");
        let pool = CapturePool::default();
        let mut rng = StdRng::seed_from_u64(1);
        for i in 0..200 {
            let v = t.render(&mut rng, &pool);
            let a = v["amount"].as_f64().unwrap_or(-1.0);
            assert!(
                (1.0..=500.0).contains(&a) && (a * 100.0 - (a * 100.0).round()).abs() < 1e-6,
                "{a}"
            );
            assert!((1..=3).contains(&v["n"].as_i64().unwrap_or(0)));
            assert!(["USD", "EUR"].contains(&v["c"].as_str().unwrap_or("")));
            assert_eq!(v["o"], json!(format!("order-{}", 7 + i)));
            assert_eq!(v["id"].as_str().map(str::len), Some(36));
            let cus = v["cus"].as_str().unwrap_or("");
            assert!(cus.starts_with("cus_") && cus.len() == 16);
            assert_eq!(
                v["h"]
                    .as_str()
                    .map(|h| h.chars().all(|c| c.is_ascii_hexdigit())),
                Some(true)
            );
            assert!(v["ts"].as_str().is_some_and(|s| s.ends_with('Z')));
            assert_eq!(v["fixed"], json!({"gen": "not a generator"}));
            assert!(v["nested"][0]["k"].is_boolean() && v["nested"][1] == 5);
        }
    }

    #[test]
    fn generators_built_by_hand_never_panic() {
        let pool = CapturePool::default();
        let mut rng = StdRng::seed_from_u64(5);
        for g in [
            Generator::Decimal {
                min: -f64::MAX,
                max: f64::MAX,
                precision: 15,
            },
            Generator::Int {
                min: i64::MIN,
                max: i64::MAX,
            },
            Generator::Multiple {
                min: i64::MIN,
                max: i64::MAX,
                of: 1e300,
            },
        ] {
            for _ in 0..100 {
                let v = ArgTemplate::Gen(g.clone()).render(&mut rng, &pool);
                assert!(v.is_number() || v.is_null(), "{v}");
            }
        }
    }

    #[test]
    fn nesting_is_capped() {
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!({ "a": v });
        }
        let e = ArgTemplate::parse(&v).err().map(|e| e.message);
        assert!(e.is_some_and(|m| m.contains("nested deeper")));
    }

    #[test]
    fn template_errors_name_the_path() {
        let cases = [
            (json!({"a": {"gen": "nope"}}), "a.gen"),
            (json!({"a": {"gen": "int", "min": 5, "max": 1}}), "a"),
            (json!({"a": {"gen": "int", "min": "x"}}), "a.min"),
            (
                json!({"a": {"b": {"gen": "choice", "values": []}}}),
                "a.b.values",
            ),
            (json!({"a": {"gen": "uuid", "extra": 1}}), "a.extra"),
            (json!({"a": {"capture": ""}}), "a.capture"),
            (json!({"a": {"gen": "decimal", "max": 1e300}}), "a.max"),
            (json!({"a": {"gen": "decimal", "min": -1e16}}), "a.min"),
            (json!({"a": {"gen": "string", "len": 5000}}), "a.len"),
            (
                json!({"a": {"gen": "hex", "prefix": "x".repeat(5000)}}),
                "a.prefix",
            ),
            (
                json!({"a": {"gen": "pattern", "pattern": "(?=x)"}}),
                "a.pattern",
            ),
            (json!({"a": {"gen": "pattern"}}), "a.pattern"),
        ];
        for (v, path) in cases {
            let e = ArgTemplate::parse(&v).err().map(|e| e.path);
            assert_eq!(e.as_deref(), Some(path), "{v}");
        }
    }
}
