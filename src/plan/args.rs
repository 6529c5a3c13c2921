//! Argument generators: static JSON, random values, sequences, captures from earlier results, and
//! `auto` arguments built from a tool's `inputSchema`.
//!
//! A template is written as ordinary JSON/TOML; an object whose key is `gen` is a generator, an
//! object whose key is `capture` takes a value captured from an earlier result, and
//! `{ literal = ... }` passes any value through untouched (for arguments that really have a `gen` key):
//!
//! ```toml
//! args = { amount = { gen = "decimal", min = 1.0, max = 500.0, precision = 2 },
//!          currency = { gen = "choice", values = ["USD", "EUR"] },
//!          order = { gen = "seq", start = 1, prefix = "order-" },
//!          payment_id = { capture = "payment_ids", fallback = { gen = "uuid" } } }
//! ```
//!
//! An operation with a `capture` whose pool is still empty and has no `fallback` is not picked while
//! another operation can be ([`crate::plan::Mix::pick_ready`]); when none can, it sends the string
//! [`EMPTY_CAPTURE_PREFIX`]`<pool>` so the server's answer shows the cause.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rand::{Rng, RngExt};
use serde_json::{Map, Number, Value};

/// The value sent for a `capture` whose pool is empty and that has no fallback.
pub const EMPTY_CAPTURE_PREFIX: &str = "mcp-soak:empty-capture:";
/// How many values each capture pool keeps by default (the newest win).
pub const DEFAULT_POOL_CAPACITY: usize = 10_000;

/// A mistake in an argument template; `path` is where in the template (`amount.min`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at `{path}`: {message}")]
pub struct ArgError {
    pub path: String,
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> ArgError {
    ArgError {
        path: if path.is_empty() {
            "(args)".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

/// Format of a generated timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 with milliseconds, UTC (`2026-01-02T03:04:05.678Z`).
    Rfc3339,
    /// Seconds since the epoch (integer).
    Unix,
    /// Milliseconds since the epoch (integer).
    UnixMs,
}

/// One random or stateful value source.
#[derive(Debug, Clone)]
pub enum Generator {
    /// A random UUID v4 string (drawn from the run's RNG, so seeded runs repeat it).
    Uuid,
    /// A uniform integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A uniform number in `min..=max` rounded to `precision` decimals.
    Decimal { min: f64, max: f64, precision: u32 },
    /// One of the values, uniformly.
    Choice(Vec<Value>),
    /// `start`, `start + step`, ... shared by every call of the run; a string when `prefix` is set.
    Seq {
        next: Arc<AtomicI64>,
        step: i64,
        prefix: Option<String>,
    },
    /// The wall-clock time of the call (not reproducible by seed).
    Timestamp(TimeFormat),
    /// Random alphanumeric characters, after `prefix`.
    Str { len: usize, prefix: String },
    /// Random lowercase hex digits, after `prefix`.
    Hex { len: usize, prefix: String },
    /// A random boolean.
    Bool,
}

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
        pool: String,
        fallback: Option<Box<ArgTemplate>>,
    },
    /// Not resolved yet: filled from the tool's `inputSchema` by `Plan::resolve_tools`.
    Auto,
}

impl Default for ArgTemplate {
    /// An empty object: `{}`.
    fn default() -> Self {
        ArgTemplate::Object(Vec::new())
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn random_chars<R: Rng + ?Sized>(rng: &mut R, prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    for _ in 0..len {
        s.push(alphabet[rng.random_range(0..alphabet.len())] as char);
    }
    s
}

fn round_to(x: f64, precision: u32) -> f64 {
    let f = 10f64.powi(precision.min(15) as i32);
    (x * f).round() / f
}

impl Generator {
    /// Draws the next value.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Generator::Uuid => {
                let bytes: [u8; 16] = rng.random();
                Value::String(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string(),
                )
            }
            Generator::Int { min, max } => Value::from(rng.random_range(*min..=*max)),
            Generator::Decimal {
                min,
                max,
                precision,
            } => {
                let x = if max > min {
                    rng.random_range(*min..=*max)
                } else {
                    *min
                };
                let x = round_to(x, *precision).clamp(*min, *max);
                Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            Generator::Choice(values) => {
                if values.is_empty() {
                    Value::Null
                } else {
                    values[rng.random_range(0..values.len())].clone()
                }
            }
            Generator::Seq { next, step, prefix } => {
                let n = next.fetch_add(*step, Ordering::Relaxed);
                match prefix {
                    Some(p) => Value::String(format!("{p}{n}")),
                    None => Value::from(n),
                }
            }
            Generator::Timestamp(fmt) => {
                let now = std::time::SystemTime::now();
                let since = now
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                match fmt {
                    TimeFormat::Rfc3339 => {
                        Value::String(humantime::format_rfc3339_millis(now).to_string())
                    }
                    TimeFormat::Unix => Value::from(since.as_secs()),
                    TimeFormat::UnixMs => Value::from(since.as_millis() as u64),
                }
            }
            Generator::Str { len, prefix } => Value::String(random_chars(rng, prefix, *len, ALNUM)),
            Generator::Hex { len, prefix } => Value::String(random_chars(rng, prefix, *len, HEX)),
            Generator::Bool => Value::Bool(rng.random()),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn get_f64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| err(&join(path, key), format!("expected a number, got {v}"))),
    }
}

fn get_i64(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| err(&join(path, key), format!("expected an integer, got {v}"))),
    }
}

fn get_str(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(err(&join(path, key), format!("expected a string, got {v}"))),
    }
}

fn check_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
    what: &str,
) -> Result<(), ArgError> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(err(
                &join(path, k),
                format!(
                    "unknown key for {what}; expected one of: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn parse_generator(obj: &Map<String, Value>, path: &str) -> Result<Generator, ArgError> {
    let kind = get_str(obj, "gen", path)?.unwrap_or_default();
    let what = format!("gen = \"{kind}\"");
    let g = match kind.as_str() {
        "uuid" => {
            check_keys(obj, &["gen"], path, &what)?;
            Generator::Uuid
        }
        "bool" => {
            check_keys(obj, &["gen"], path, &what)?;
            Generator::Bool
        }
        "int" => {
            check_keys(obj, &["gen", "min", "max"], path, &what)?;
            let min = get_i64(obj, "min", path)?.unwrap_or(0);
            let max = get_i64(obj, "max", path)?.unwrap_or(1_000_000);
            if min > max {
                return Err(err(path, format!("min {min} is greater than max {max}")));
            }
            Generator::Int { min, max }
        }
        "decimal" => {
            check_keys(obj, &["gen", "min", "max", "precision"], path, &what)?;
            let min = get_f64(obj, "min", path)?.unwrap_or(0.0);
            let max = get_f64(obj, "max", path)?.unwrap_or(1.0);
            if !(min.is_finite() && max.is_finite()) || min > max {
                return Err(err(
                    path,
                    format!("expected finite min <= max, got min {min} max {max}"),
                ));
            }
            let precision = get_i64(obj, "precision", path)?.unwrap_or(2);
            if !(0..=15).contains(&precision) {
                return Err(err(&join(path, "precision"), "expected 0 to 15 decimals"));
            }
            Generator::Decimal {
                min,
                max,
                precision: precision as u32,
            }
        }
        "choice" => {
            check_keys(obj, &["gen", "values"], path, &what)?;
            match obj.get("values") {
                Some(Value::Array(v)) if !v.is_empty() => Generator::Choice(v.clone()),
                _ => return Err(err(&join(path, "values"), "expected a non-empty array")),
            }
        }
        "seq" => {
            check_keys(obj, &["gen", "start", "step", "prefix"], path, &what)?;
            let start = get_i64(obj, "start", path)?.unwrap_or(1);
            let step = get_i64(obj, "step", path)?.unwrap_or(1);
            Generator::Seq {
                next: Arc::new(AtomicI64::new(start)),
                step,
                prefix: get_str(obj, "prefix", path)?,
            }
        }
        "timestamp" => {
            check_keys(obj, &["gen", "format"], path, &what)?;
            let f = match get_str(obj, "format", path)?.as_deref() {
                None | Some("rfc3339") => TimeFormat::Rfc3339,
                Some("unix") => TimeFormat::Unix,
                Some("unix_ms") => TimeFormat::UnixMs,
                Some(o) => {
                    return Err(err(
                        &join(path, "format"),
                        format!("expected rfc3339, unix or unix_ms, got {o:?}"),
                    ));
                }
            };
            Generator::Timestamp(f)
        }
        "string" | "hex" => {
            check_keys(obj, &["gen", "len", "prefix"], path, &what)?;
            let len = get_i64(obj, "len", path)?.unwrap_or(12);
            if !(0..=4096).contains(&len) {
                return Err(err(&join(path, "len"), "expected a length from 0 to 4096"));
            }
            let prefix = get_str(obj, "prefix", path)?.unwrap_or_default();
            if kind == "hex" {
                Generator::Hex {
                    len: len as usize,
                    prefix,
                }
            } else {
                Generator::Str {
                    len: len as usize,
                    prefix,
                }
            }
        }
        other => {
            return Err(err(
                &join(path, "gen"),
                format!(
                    "unknown generator {other:?}; expected uuid, int, decimal, choice, seq, timestamp, string, hex or bool"
                ),
            ));
        }
    };
    Ok(g)
}

impl ArgTemplate {
    /// Reads a template from its JSON form (see the module docs). `"auto"` at the top means [`ArgTemplate::Auto`].
    pub fn parse(value: &Value) -> Result<ArgTemplate, ArgError> {
        if value.as_str() == Some("auto") {
            return Ok(ArgTemplate::Auto);
        }
        Self::parse_at(value, "")
    }

    fn parse_at(value: &Value, path: &str) -> Result<ArgTemplate, ArgError> {
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
                    Some(f) => Some(Box::new(Self::parse_at(f, &join(path, "fallback"))?)),
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
                    members.push((k.clone(), Self::parse_at(v, &join(path, k))?));
                }
                Ok(ArgTemplate::Object(members))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    out.push(Self::parse_at(v, &format!("{path}[{i}]"))?);
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
            _ => {}
        }
    }

    /// True when a `capture` without a `fallback` finds its pool empty: rendered now, the template
    /// would send the empty-capture marker.
    pub fn waits_on_capture(&self, pool: &CapturePool) -> bool {
        match self {
            ArgTemplate::Capture {
                pool: name,
                fallback: None,
            } => pool.len(name) == 0,
            ArgTemplate::Capture {
                fallback: Some(f), ..
            } => f.waits_on_capture(pool),
            ArgTemplate::Object(m) => m.iter().any(|(_, t)| t.waits_on_capture(pool)),
            ArgTemplate::Array(a) => a.iter().any(|t| t.waits_on_capture(pool)),
            _ => false,
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
            ArgTemplate::Auto => Value::Object(Map::new()),
        }
    }

    /// A template that generates values valid against a JSON Schema (`inputSchema`): objects with
    /// their `required` properties (optional ones too when simple), strings honouring `enum`,
    /// `format`, `minLength`/`maxLength`, numbers within `minimum`/`maximum`, arrays with
    /// `minItems`. A `default`, `const`, `enum` or first of `examples` is preferred when present.
    pub fn from_schema(schema: &Value) -> ArgTemplate {
        from_schema_depth(schema, 0)
    }
}

fn first_type(schema: &Map<String, Value>) -> Option<String> {
    match schema.get("type") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => {
            // Prefer a non-null type.
            let names: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            names
                .iter()
                .find(|t| **t != "null")
                .or(names.first())
                .map(|s| s.to_string())
        }
        _ => None,
    }
}

fn from_schema_depth(schema: &Value, depth: usize) -> ArgTemplate {
    let Some(s) = schema.as_object() else {
        return ArgTemplate::Literal(Value::Object(Map::new()));
    };
    if depth > 8 {
        return ArgTemplate::Literal(Value::Null);
    }
    if let Some(v) = s.get("const") {
        return ArgTemplate::Literal(v.clone());
    }
    if let Some(v) = s.get("default") {
        return ArgTemplate::Literal(v.clone());
    }
    if let Some(Value::Array(e)) = s.get("enum")
        && !e.is_empty()
    {
        return ArgTemplate::Gen(Generator::Choice(e.clone()));
    }
    if let Some(Value::Array(ex)) = s.get("examples")
        && let Some(first) = ex.first()
    {
        return ArgTemplate::Literal(first.clone());
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alts)) = s.get(key)
            && let Some(first) = alts
                .iter()
                .find(|a| a.get("type").and_then(Value::as_str) != Some("null"))
        {
            return from_schema_depth(first, depth + 1);
        }
    }
    let ty = first_type(s).unwrap_or_else(|| {
        if s.contains_key("properties") {
            "object".into()
        } else {
            "string".into()
        }
    });
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    match ty.as_str() {
        "object" => {
            let required: Vec<&str> = match s.get("required") {
                Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let mut members = Vec::new();
            if let Some(Value::Object(props)) = s.get("properties") {
                for (name, sub) in props {
                    if required.contains(&name.as_str()) {
                        members.push((name.clone(), from_schema_depth(sub, depth + 1)));
                    }
                }
            }
            ArgTemplate::Object(members)
        }
        "array" => {
            let min_items = s.get("minItems").and_then(Value::as_u64).unwrap_or(1);
            let max_items = s
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX);
            let n = min_items.max(1).min(max_items).min(16) as usize;
            let items = s.get("items").cloned().unwrap_or(Value::Object(Map::new()));
            if s.get("uniqueItems").and_then(Value::as_bool) == Some(true) && n > 1 {
                // Distinct by construction: the item's index, as a padded string or offset number.
                let it = items.as_object().cloned().unwrap_or_default();
                match first_type(&it).as_deref() {
                    Some("string") => {
                        let min_len = it
                            .get("minLength")
                            .and_then(Value::as_u64)
                            .unwrap_or(1)
                            .max(1) as usize;
                        let lits = (0..n)
                            .map(|i| ArgTemplate::Literal(Value::String(format!("{i:0min_len$}"))))
                            .collect();
                        return ArgTemplate::Array(lits);
                    }
                    Some("integer") | Some("number") => {
                        let lo = it.get("minimum").and_then(Value::as_f64).map(f64::ceil);
                        let lo = lo.or(it
                            .get("exclusiveMinimum")
                            .and_then(Value::as_f64)
                            .map(|m| m.floor() + 1.0));
                        let lo = lo.unwrap_or(1.0) as i64;
                        return ArgTemplate::Array(
                            (0..n)
                                .map(|i| ArgTemplate::Literal(Value::from(lo + i as i64)))
                                .collect(),
                        );
                    }
                    _ => {}
                }
            }
            ArgTemplate::Array(
                (0..n)
                    .map(|_| from_schema_depth(&items, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let lo = num("minimum")
                .map(|m| m.ceil())
                .or(num("exclusiveMinimum").map(|m| m.floor() + 1.0));
            let hi = num("maximum")
                .map(|m| m.floor())
                .or(num("exclusiveMaximum").map(|m| m.ceil() - 1.0));
            let (min, max) = bounds(lo, hi, 1.0, 100.0);
            ArgTemplate::Gen(Generator::Int {
                min: min as i64,
                max: max as i64,
            })
        }
        "number" => {
            let lo = num("minimum").or(num("exclusiveMinimum").map(|m| m + 0.01));
            let hi = num("maximum").or(num("exclusiveMaximum").map(|m| m - 0.01));
            let (min, max) = bounds(lo, hi, 1.0, 100.0);
            ArgTemplate::Gen(Generator::Decimal {
                min,
                max,
                precision: 2,
            })
        }
        "boolean" => ArgTemplate::Gen(Generator::Bool),
        "null" => ArgTemplate::Literal(Value::Null),
        _ => string_template(s),
    }
}

fn bounds(lo: Option<f64>, hi: Option<f64>, def_lo: f64, def_hi: f64) -> (f64, f64) {
    match (lo, hi) {
        (Some(l), Some(h)) if l <= h => (l, h),
        (Some(l), Some(_)) => (l, l),
        (Some(l), None) => (l, l + (def_hi - def_lo)),
        (None, Some(h)) => ((h - (def_hi - def_lo)).max(def_lo.min(h)), h),
        (None, None) => (def_lo, def_hi),
    }
}

fn string_template(s: &Map<String, Value>) -> ArgTemplate {
    let min_len = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max_len = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize)
        .unwrap_or(usize::MAX);
    match s.get("format").and_then(Value::as_str) {
        Some("uuid") => return ArgTemplate::Gen(Generator::Uuid),
        Some("date-time") => return ArgTemplate::Gen(Generator::Timestamp(TimeFormat::Rfc3339)),
        Some("date") => return ArgTemplate::Literal(Value::String("2026-01-01".into())),
        Some("email") => return ArgTemplate::Literal(Value::String("soak@example.com".into())),
        Some("uri") | Some("url") => {
            return ArgTemplate::Literal(Value::String("https://example.com/".into()));
        }
        _ => {}
    }
    let len = 8usize.max(min_len).min(max_len).min(4096);
    let mut prefix = String::new();
    if len >= 5 && min_len == 0 {
        let _ = write!(prefix, "soak-");
    }
    let rest = len.saturating_sub(prefix.len());
    ArgTemplate::Gen(Generator::Str { len: rest, prefix })
}

/// Where to take a captured value from (a JSON pointer into the result) and which pool to put it in.
///
/// The pointer is looked up in `structuredContent` first, then in the JSON parsed from the first
/// text content item, then in the result itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureSpec {
    pub pool: String,
    pub pointer: String,
}

impl CaptureSpec {
    /// Finds the captured value in a `tools/call` result, if present.
    pub fn extract(&self, result: &Value) -> Option<Value> {
        if let Some(v) = result
            .get("structuredContent")
            .and_then(|sc| sc.pointer(&self.pointer))
        {
            return Some(v.clone());
        }
        let text = result
            .get("content")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str);
        if let Some(text) = text
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
            && let Some(v) = parsed.pointer(&self.pointer)
        {
            return Some(v.clone());
        }
        result.pointer(&self.pointer).cloned()
    }
}

/// Named bounded pools of captured values, shared by every call of a run (thread-safe; the lock is
/// held only to push or copy out one value).
#[derive(Debug)]
pub struct CapturePool {
    capacity: usize,
    pools: Mutex<HashMap<String, VecDeque<Value>>>,
}

impl Default for CapturePool {
    fn default() -> Self {
        CapturePool::new(DEFAULT_POOL_CAPACITY)
    }
}

impl CapturePool {
    /// Pools that keep the newest `capacity` values each.
    pub fn new(capacity: usize) -> CapturePool {
        CapturePool {
            capacity: capacity.max(1),
            pools: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Value>>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a value to `pool`, evicting the oldest past the capacity.
    pub fn push(&self, pool: &str, value: Value) {
        let mut pools = self.lock();
        let q = match pools.get_mut(pool) {
            Some(q) => q,
            None => pools.entry(pool.to_string()).or_default(),
        };
        if q.len() >= self.capacity {
            q.pop_front();
        }
        q.push_back(value);
    }

    /// A uniformly random value of `pool`, or None when it is empty.
    pub fn pick<R: Rng + ?Sized>(&self, pool: &str, rng: &mut R) -> Option<Value> {
        let pools = self.lock();
        let q = pools.get(pool)?;
        if q.is_empty() {
            return None;
        }
        q.get(rng.random_range(0..q.len())).cloned()
    }

    /// Values held in `pool`.
    pub fn len(&self, pool: &str) -> usize {
        self.lock().get(pool).map_or(0, VecDeque::len)
    }

    /// True when no pool holds a value.
    pub fn is_empty(&self) -> bool {
        self.lock().values().all(VecDeque::is_empty)
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
        ];
        for (v, path) in cases {
            let e = ArgTemplate::parse(&v).err().map(|e| e.path);
            assert_eq!(e.as_deref(), Some(path), "{v}");
        }
    }

    #[test]
    fn captures_pool_and_fallback() {
        let spec = CaptureSpec {
            pool: "ids".into(),
            pointer: "/payment_id".into(),
        };
        let pool = CapturePool::new(3);
        let structured = json!({"structuredContent": {"payment_id": "p1"}, "content": []});
        let text = json!({"content": [{"type": "text", "text": "{\"payment_id\": \"p2\"}"}]});
        assert_eq!(spec.extract(&structured), Some(json!("p1")));
        assert_eq!(spec.extract(&text), Some(json!("p2")));
        assert_eq!(
            spec.extract(&json!({"content": [{"type": "text", "text": "no json"}]})),
            None
        );

        let t = ArgTemplate::parse(
            &json!({"id": {"capture": "ids"}, "f": {"capture": "ids", "fallback": "none"}}),
        )
        .expect("parses");
        let mut rng = StdRng::seed_from_u64(2);
        let v = t.render(&mut rng, &pool);
        assert_eq!(v["id"], json!(format!("{EMPTY_CAPTURE_PREFIX}ids")));
        assert_eq!(v["f"], json!("none"));
        for i in 0..5 {
            pool.push("ids", json!(i));
        }
        assert_eq!(pool.len("ids"), 3);
        for _ in 0..50 {
            let v = t.render(&mut rng, &pool);
            assert!((2..5).contains(&v["id"].as_i64().unwrap_or(-1)), "{v}");
        }
    }
}
