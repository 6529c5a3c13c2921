//! Synthesis of arguments from a JSON Schema (a tool's `inputSchema`): a template whose every
//! rendering is valid against the schema, as far as the schema can be satisfied.
//!
//! What is honoured: `type` (a list prefers a non-null type), `const`, `enum`, `default`,
//! `examples`, local `$ref`s (`#/$defs/...`, `#/definitions/...`), `allOf` (merged), `anyOf` and
//! `oneOf` (the first non-null branch, merged with its parent), objects' `properties`, `required`
//! and `minProperties`, arrays' `items`, `prefixItems` (or draft-7 tuple `items`), `contains`,
//! `minItems`/`maxItems` and `uniqueItems`, numbers' `minimum`/`maximum` (exclusive ones too, draft-4
//! booleans included) and `multipleOf`, strings' `pattern`, `format` (date-time, date, time,
//! duration, uuid, email, hostname, ipv4, ipv6, uri...) and `minLength`/`maxLength`.
//!
//! Whatever a server sends, the result is bounded: nesting stops at [`MAX_DEPTH`], arrays at
//! [`MAX_ITEMS`], strings at [`MAX_STRING`] characters, numbers within ±2^53 (integers) or
//! ±[`MAX_DECIMAL`], and one schema yields at most [`MAX_NODES`] template nodes. A schema that
//! asks for more (`minLength: 1000000`) gets the capped, invalid value rather than a huge one.

use serde_json::{Map, Value};

use super::generator::{Generator, MAX_DECIMAL, MAX_STRING, StringFormat, TimeFormat};
use super::pattern::Pattern;
use super::template::ArgTemplate;

/// Deepest nesting of objects and arrays synthesized (deeper values are `null`).
pub const MAX_DEPTH: usize = 8;
/// Most items in a synthesized array.
pub const MAX_ITEMS: usize = 64;
/// Most template nodes synthesized from one schema (past it, values are `null`).
pub const MAX_NODES: usize = 4096;
/// Largest integer bound used (JavaScript's safe integers; servers in JS lose precision past it).
const MAX_INT: f64 = 9_007_199_254_740_991.0;
/// `$ref`s followed in a row before giving up (a chain or a cycle).
const MAX_REFS: usize = 16;

impl ArgTemplate {
    /// A template whose renderings are valid against the JSON Schema `schema` (a tool's
    /// `inputSchema`): see the module docs for what is honoured and how output is bounded.
    pub fn from_schema(schema: &Value) -> ArgTemplate {
        let mut synth = Synth {
            root: schema,
            nodes: 0,
        };
        match schema {
            Value::Object(_) => synth.template(schema, 0),
            _ => ArgTemplate::Literal(Value::Object(Map::new())),
        }
    }
}

struct Synth<'a> {
    root: &'a Value,
    nodes: usize,
}

fn first_type(schema: &Map<String, Value>) -> Option<String> {
    match schema.get("type") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(a)) => {
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

/// Merges `extra` into `base`: properties joined, `required` united, other keys added when absent.
pub(super) fn merge(base: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        match (k.as_str(), base.get_mut(k), v) {
            ("properties", Some(Value::Object(p)), Value::Object(more)) => {
                for (name, sub) in more {
                    p.entry(name.clone()).or_insert_with(|| sub.clone());
                }
            }
            ("required", Some(Value::Array(r)), Value::Array(more)) => {
                for name in more {
                    if !r.contains(name) {
                        r.push(name.clone());
                    }
                }
            }
            (_, None, _) => {
                base.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
}

fn is_null_branch(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const").is_some_and(Value::is_null)
}

impl Synth<'_> {
    /// The schema with its `$ref`s, `allOf` and first `anyOf`/`oneOf` branch folded in, at most
    /// [`MAX_REFS`] levels down (a `$ref: "#"` inside an `allOf` would otherwise never end).
    fn flatten(&self, schema: &Map<String, Value>, level: usize) -> Map<String, Value> {
        let mut s = schema.clone();
        if level > MAX_REFS {
            return s;
        }
        for _ in 0..MAX_REFS {
            let Some(Value::String(r)) = s.remove("$ref") else {
                break;
            };
            let target = r
                .strip_prefix('#')
                .and_then(|p| self.root.pointer(p))
                .and_then(Value::as_object);
            if let Some(t) = target {
                merge(&mut s, t);
            }
        }
        if let Some(Value::Array(all)) = s.remove("allOf") {
            for part in all.iter().take(MAX_ITEMS).filter_map(Value::as_object) {
                let part = self.flatten(part, level + 1);
                merge(&mut s, &part);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(alts)) = s.remove(key)
                && let Some(first) = alts
                    .iter()
                    .find(|a| !is_null_branch(a))
                    .and_then(Value::as_object)
            {
                let branch = self.flatten(first, level + 1);
                // The branch's own keys win over the parent's (a narrower `type` for one).
                let mut out = branch;
                merge(&mut out, &s);
                s = out;
            }
        }
        s
    }

    fn template(&mut self, schema: &Value, depth: usize) -> ArgTemplate {
        if depth > MAX_DEPTH || self.nodes >= MAX_NODES {
            return ArgTemplate::Literal(Value::Null);
        }
        self.nodes += 1;
        let Some(raw) = schema.as_object() else {
            // `true` or anything else that is not a schema object: any value will do.
            return ArgTemplate::Literal(Value::String("soak".into()));
        };
        let s = if raw.contains_key("$ref")
            || raw.contains_key("allOf")
            || raw.contains_key("anyOf")
            || raw.contains_key("oneOf")
        {
            self.flatten(raw, 0)
        } else {
            raw.clone()
        };
        if let Some(v) = s.get("const") {
            return ArgTemplate::Literal(v.clone());
        }
        if let Some(Value::Array(e)) = s.get("enum")
            && !e.is_empty()
        {
            return ArgTemplate::Gen(Generator::Choice(e.clone()));
        }
        if let Some(v) = s.get("default") {
            return ArgTemplate::Literal(v.clone());
        }
        if let Some(Value::Array(ex)) = s.get("examples")
            && let Some(first) = ex.first()
        {
            return ArgTemplate::Literal(first.clone());
        }
        let ty = first_type(&s).unwrap_or_else(|| {
            let has = |k: &str| s.contains_key(k);
            if has("properties") || has("required") {
                "object".into()
            } else if has("items") || has("prefixItems") {
                "array".into()
            } else if has("minimum") || has("maximum") || has("multipleOf") {
                "number".into()
            } else {
                "string".into()
            }
        });
        match ty.as_str() {
            "object" => self.object(&s, depth),
            "array" => self.array(&s, depth),
            "integer" => integer(&s),
            "number" => number(&s),
            "boolean" => ArgTemplate::Gen(Generator::Bool),
            "null" => ArgTemplate::Literal(Value::Null),
            _ => string(&s),
        }
    }

    fn object(&mut self, s: &Map<String, Value>, depth: usize) -> ArgTemplate {
        let empty = Map::new();
        let props = s
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut names: Vec<&str> = match s.get("required") {
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        names.dedup();
        let min_props = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        for name in props.keys() {
            if names.len() >= min_props.min(MAX_ITEMS) {
                break;
            }
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let fallback = match s.get("additionalProperties") {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => Value::Object(Map::new()),
        };
        let mut members = Vec::with_capacity(names.len());
        for name in names {
            let sub = props.get(name).unwrap_or(&fallback);
            members.push((name.to_string(), self.template(sub, depth + 1)));
        }
        ArgTemplate::Object(members)
    }

    fn array(&mut self, s: &Map<String, Value>, depth: usize) -> ArgTemplate {
        let min_items = s.get("minItems").and_then(Value::as_u64).unwrap_or(1) as usize;
        let max_items = s
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        let n = min_items.max(1).min(max_items).min(MAX_ITEMS);
        // Tuple forms: `prefixItems` (2020-12) or `items` as an array (draft 7).
        let (prefix, rest): (&[Value], Option<&Value>) =
            match (s.get("prefixItems"), s.get("items")) {
                (Some(Value::Array(p)), items) => (p, items),
                (_, Some(Value::Array(p))) => (p, s.get("additionalItems")),
                (_, items) => (&[], items),
            };
        let any = Value::Object(Map::new());
        let rest = match rest {
            Some(v @ Value::Object(_)) => v,
            _ => &any,
        };
        let n = n.max(prefix.len().min(MAX_ITEMS).min(max_items));
        let unique = s.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        if prefix.is_empty() && unique && n > 1 {
            return ArgTemplate::Unique {
                item: Box::new(self.template(rest, depth + 1)),
                len: n,
            };
        }
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let sub = match (i, prefix.get(i), s.get("contains")) {
                (_, Some(p), _) => p,
                (0, None, Some(c)) => c,
                _ => rest,
            };
            items.push(self.template(sub, depth + 1));
        }
        ArgTemplate::Array(items)
    }
}

fn num(s: &Map<String, Value>, k: &str) -> Option<f64> {
    s.get(k).and_then(Value::as_f64).filter(|x| x.is_finite())
}

/// A numeric bound and whether it is exclusive.
type Bound = (f64, bool);

/// Lower and upper bounds and whether each is exclusive, in both the draft-6+ form (numbers) and
/// the draft-4 form (`exclusiveMinimum: true` next to `minimum`).
fn limits(s: &Map<String, Value>) -> (Option<Bound>, Option<Bound>) {
    let flag = |k: &str| s.get(k).and_then(Value::as_bool) == Some(true);
    let lo = match (num(s, "minimum"), num(s, "exclusiveMinimum")) {
        (Some(m), Some(x)) if x >= m => Some((x, true)),
        (Some(m), _) => Some((m, flag("exclusiveMinimum"))),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    let hi = match (num(s, "maximum"), num(s, "exclusiveMaximum")) {
        (Some(m), Some(x)) if x <= m => Some((x, true)),
        (Some(m), _) => Some((m, flag("exclusiveMaximum"))),
        (None, Some(x)) => Some((x, true)),
        (None, None) => None,
    };
    (lo, hi)
}

/// A range from optional bounds: both given (a reversed pair collapses to the lower), one given
/// (99 wide on the open side), none (1 to 100); all within ±`cap`.
fn range(lo: Option<f64>, hi: Option<f64>, cap: f64) -> (f64, f64) {
    let (lo, hi) = match (lo, hi) {
        (Some(l), Some(h)) if l <= h => (l, h),
        (Some(l), Some(_)) => (l, l),
        (Some(l), None) => (l, l + 99.0),
        (None, Some(h)) => ((h - 99.0).max(1.0_f64.min(h)), h),
        (None, None) => (1.0, 100.0),
    };
    (lo.clamp(-cap, cap), hi.clamp(-cap, cap))
}

/// Multiples of `of` inside the bounds: `k` from `ceil(lo/of)` to `floor(hi/of)`, exclusive bounds
/// stepped over.
fn multiples(of: f64, lo: Option<Bound>, hi: Option<Bound>, cap: f64) -> Generator {
    let (l, h) = range(lo.map(|b| b.0), hi.map(|b| b.0), cap);
    let k_cap = (cap / of).min(MAX_INT);
    let mut k_lo = (l / of).ceil().clamp(-k_cap, k_cap);
    if lo.is_some_and(|(b, ex)| ex && k_lo * of <= b) {
        k_lo += 1.0;
    }
    let mut k_hi = (h / of).floor().clamp(-k_cap, k_cap);
    if hi.is_some_and(|(b, ex)| ex && k_hi * of >= b) {
        k_hi -= 1.0;
    }
    Generator::Multiple {
        min: k_lo as i64,
        max: k_hi.max(k_lo) as i64,
        of,
    }
}

fn integer(s: &Map<String, Value>) -> ArgTemplate {
    let (lo, hi) = limits(s);
    let of = num(s, "multipleOf").filter(|m| *m > 0.0);
    if let Some(of) = of.filter(|m| m.fract() == 0.0 && *m > 1.0) {
        return ArgTemplate::Gen(multiples(of, lo, hi, MAX_INT));
    }
    // Integer bounds: exclusive ones step to the next integer inside.
    let lo = lo.map(|(b, ex)| if ex { b.floor() + 1.0 } else { b.ceil() });
    let hi = hi.map(|(b, ex)| if ex { b.ceil() - 1.0 } else { b.floor() });
    let (min, max) = range(lo, hi, MAX_INT);
    ArgTemplate::Gen(Generator::Int {
        min: min as i64,
        max: max as i64,
    })
}

fn number(s: &Map<String, Value>) -> ArgTemplate {
    let (lo, hi) = limits(s);
    if let Some(of) = num(s, "multipleOf").filter(|m| *m > 0.0) {
        return ArgTemplate::Gen(multiples(of, lo, hi, MAX_DECIMAL));
    }
    let (min, max) = range(lo.map(|b| b.0), hi.map(|b| b.0), MAX_DECIMAL);
    // Step inside exclusive bounds by a cent, or less when the range is narrower.
    let step = 0.01_f64.min((max - min) / 4.0);
    let min = if lo.is_some_and(|b| b.1) {
        min + step
    } else {
        min
    };
    let max = if hi.is_some_and(|b| b.1) {
        max - step
    } else {
        max
    };
    let precision = if step < 0.01 { 15 } else { 2 };
    ArgTemplate::Gen(Generator::Decimal {
        min,
        max: max.max(min),
        precision,
    })
}

fn string(s: &Map<String, Value>) -> ArgTemplate {
    let min_len = s
        .get("minLength")
        .and_then(Value::as_u64)
        .map_or(0, |m| (m as usize).min(MAX_STRING));
    let max_len = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map_or(MAX_STRING, |m| (m as usize).min(MAX_STRING));
    if let Some(src) = s.get("pattern").and_then(Value::as_str)
        && let Ok(pattern) = Pattern::parse(src)
    {
        return ArgTemplate::Gen(Generator::Pattern {
            pattern,
            min_len,
            max_len,
        });
    }
    match s.get("format").and_then(Value::as_str) {
        Some("uuid") => return ArgTemplate::Gen(Generator::Uuid),
        Some("date-time") => return ArgTemplate::Gen(Generator::Timestamp(TimeFormat::Rfc3339)),
        Some(f) => {
            if let Some(f) = StringFormat::from_name(f) {
                return ArgTemplate::Gen(Generator::Format(f));
            }
        }
        None => {}
    }
    let len = 8usize.max(min_len).min(max_len);
    let prefix = if len >= 5 && min_len == 0 {
        "soak-"
    } else {
        ""
    };
    ArgTemplate::Gen(Generator::Str {
        len: len - prefix.len(),
        prefix: prefix.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::args::CapturePool;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    fn render(schema: Value) -> Value {
        let mut rng = StdRng::seed_from_u64(8);
        ArgTemplate::from_schema(&schema).render(&mut rng, &CapturePool::default())
    }

    #[test]
    fn what_a_schema_asks_beyond_the_caps_is_capped() {
        // Issue: `minLength` inside `uniqueItems` string arrays padded without a cap.
        let v = render(
            json!({"type": "array", "uniqueItems": true, "minItems": 1_000_000_000u64,
            "items": {"type": "string", "minLength": 1_000_000_000u64}}),
        );
        let items = v.as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), MAX_ITEMS);
        assert!(
            items
                .iter()
                .all(|s| s.as_str().map(str::len) == Some(MAX_STRING))
        );

        // Issue: a huge numeric range made the decimal generator panic.
        let v = render(json!({"type": "number", "minimum": -1e308, "maximum": 1e308}));
        assert!(v.as_f64().is_some_and(|x| x.abs() <= MAX_DECIMAL), "{v}");
        let v = render(json!({"type": "integer", "minimum": 1e300}));
        assert!(v.as_i64().is_some_and(|x| x as f64 <= MAX_INT), "{v}");

        // A self-referencing schema stops at MAX_DEPTH.
        let v = render(
            json!({"$ref": "#/$defs/n", "$defs": {"n": {"type": "object",
            "properties": {"next": {"$ref": "#/$defs/n"}}, "required": ["next"]}}}),
        );
        let depth = std::iter::successors(Some(&v), |n| n.get("next")).count();
        assert!(depth <= MAX_DEPTH + 2, "{depth}");

        // Wide and deep arrays stop at MAX_NODES nodes.
        let v = render(
            json!({"type": "array", "minItems": 64, "items": {"type": "array", "minItems": 64,
            "items": {"type": "array", "minItems": 64, "items": {"type": "integer"}}}}),
        );
        let leaves = v.to_string().matches(',').count();
        assert!(leaves <= MAX_NODES, "{leaves}");
    }

    #[test]
    fn multiples_and_exclusive_bounds() {
        for _ in 0..50 {
            let v = render(
                json!({"type": "number", "multipleOf": 0.25, "exclusiveMinimum": 1, "maximum": 2}),
            );
            let x = v.as_f64().unwrap_or(0.0);
            assert!(x > 1.0 && x <= 2.0 && (x * 4.0).fract() == 0.0, "{x}");
            let v = render(
                json!({"type": "integer", "multipleOf": 7, "minimum": 10, "exclusiveMaximum": 28}),
            );
            assert!(matches!(v.as_i64(), Some(14 | 21)), "{v}");
        }
    }
}
