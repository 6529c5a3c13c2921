//! Synthesis of arguments from a JSON Schema (a tool's `inputSchema`): a template whose every
//! rendering is valid against the schema, as far as the schema can be satisfied.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::generator::{Generator, TimeFormat};
use super::template::ArgTemplate;

impl ArgTemplate {
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
