//! The pre-traffic argument check: every mix entry's written arguments against its tool's
//! `inputSchema`, before the first call, so that a config that could only produce tool errors
//! stops at start (exit 2) instead of burning a soak.
//!
//! What is checked, at every level of the template the schema describes: required keys present;
//! the JSON type of each literal and of each generator's output (`int` is an integer, `uuid` a
//! string...) allowed by the schema's `type` (an `anyOf`/`oneOf` allows the union of its branches);
//! literal and `choice` values inside an `enum`/`const`, and no other generator where one is
//! required; unknown keys where `additionalProperties` is false. Captures are not checked (their
//! values come from the server), nor are `auto` arguments (synthesized from the schema itself).
//! The check is pure: it reads the mix and the tool list and returns the problems.

use serde_json::{Map, Value};

use super::generator::{Generator, TimeFormat};
use super::template::ArgTemplate;
use crate::mcp::ToolInfo;
use crate::plan::{Method, Mix};

/// One argument that does not fit its tool's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgProblem {
    /// Index of the entry in the mix (`mix[3]`, as in config errors).
    pub entry: usize,
    /// The tool whose `inputSchema` the arguments break.
    pub tool: String,
    /// Where in the arguments (`method`, `metadata.source`, `items[0]`); empty for the whole.
    pub key: String,
    /// What is wrong, e.g. `missing required property`.
    pub message: String,
}

impl std::fmt::Display for ArgProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mix[{}] {}: {}", self.entry, self.tool, self.message)
    }
}

/// Every problem found, one per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "arguments do not fit the server's tool schemas (fix the entry's `args`, or use args = \"auto\"):\n  {}",
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
)]
pub struct ArgCheckError {
    /// Every mismatch found, in mix order (at least one).
    pub problems: Vec<ArgProblem>,
}

/// Checks the written arguments of every `tools/call` entry of `mix` against `tools`; entries with
/// `auto` arguments and tools the server lacks (reported by `Plan::resolve_tools`) are skipped.
pub fn check_mix(mix: &Mix, tools: &[ToolInfo]) -> Result<(), ArgCheckError> {
    let mut problems = Vec::new();
    for (entry, op) in mix.ops.iter().enumerate() {
        let Method::ToolsCall { tool } = &op.method else {
            continue;
        };
        let Some(info) = tools.iter().find(|t| &t.name == tool) else {
            continue;
        };
        if op.args.is_auto() {
            continue;
        }
        let mut c = Checker {
            root: &info.input_schema,
            found: Vec::new(),
        };
        c.check(&op.args, &info.input_schema, "", 0);
        problems.extend(c.found.into_iter().map(|(key, message)| ArgProblem {
            entry,
            tool: tool.clone(),
            key,
            message,
        }));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ArgCheckError { problems })
    }
}

/// Deepest level of a template that is checked (templates and schemas are bounded anyway).
const MAX_DEPTH: usize = 16;

struct Checker<'a> {
    root: &'a Value,
    found: Vec<(String, String)>,
}

/// The JSON types a template can produce; `None` when unknown (a capture).
fn template_types(t: &ArgTemplate) -> Option<Vec<&'static str>> {
    Some(match t {
        ArgTemplate::Literal(v) => vec![value_type(v)],
        ArgTemplate::Object(_) | ArgTemplate::Auto => vec!["object"],
        ArgTemplate::Array(_) | ArgTemplate::Unique { .. } => vec!["array"],
        ArgTemplate::Capture { .. } => return None,
        ArgTemplate::Gen(g) => match g {
            Generator::Int { .. } => vec!["integer"],
            Generator::Decimal { .. } => vec!["number"],
            Generator::Multiple { of, .. } if of.fract() == 0.0 => vec!["integer"],
            Generator::Multiple { .. } => vec!["number"],
            Generator::Bool => vec!["boolean"],
            Generator::Choice(values) => {
                let mut tys: Vec<&str> = values.iter().map(value_type).collect();
                tys.sort_unstable();
                tys.dedup();
                tys
            }
            Generator::Seq { prefix: None, .. } => vec!["integer"],
            Generator::Timestamp(TimeFormat::Unix | TimeFormat::UnixMs) => vec!["integer"],
            Generator::Uuid
            | Generator::Seq { .. }
            | Generator::Timestamp(TimeFormat::Rfc3339)
            | Generator::Str { .. }
            | Generator::Hex { .. }
            | Generator::Pattern { .. }
            | Generator::Format(_) => vec!["string"],
        },
    })
}

fn value_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|x| x.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn fits(ty: &str, allowed: &[String]) -> bool {
    allowed
        .iter()
        .any(|a| a == ty || (a == "number" && ty == "integer"))
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Checker<'_> {
    /// The schema with `$ref`s followed and `allOf` members' keywords merged in.
    fn resolve(&self, schema: &Value, level: usize) -> Map<String, Value> {
        let Some(s) = schema.as_object() else {
            return Map::new();
        };
        let mut s = s.clone();
        if level > MAX_DEPTH {
            return s;
        }
        if let Some(Value::String(r)) = s.remove("$ref")
            && let Some(target) = r.strip_prefix('#').and_then(|p| self.root.pointer(p))
        {
            super::schema::merge(&mut s, &self.resolve(target, level + 1));
        }
        if let Some(Value::Array(all)) = s.remove("allOf") {
            for part in &all {
                super::schema::merge(&mut s, &self.resolve(part, level + 1));
            }
        }
        s
    }

    /// The types `schema` allows, `None` when any (no `type` anywhere, or a branch without one).
    fn allowed(&self, s: &Map<String, Value>, level: usize) -> Option<Vec<String>> {
        match s.get("type") {
            Some(Value::String(t)) => return Some(vec![t.clone()]),
            Some(Value::Array(ts)) => {
                return Some(
                    ts.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                );
            }
            _ => {}
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = s.get(key) {
                let mut all = Vec::new();
                for b in branches {
                    all.extend(self.allowed(&self.resolve(b, level + 1), level + 1)?);
                }
                return Some(all);
            }
        }
        if let Some(Value::Array(e)) = s.get("enum") {
            return Some(e.iter().map(|v| value_type(v).to_string()).collect());
        }
        s.get("const").map(|v| vec![value_type(v).to_string()])
    }

    fn problem(&mut self, path: &str, message: String) {
        self.found.push((path.to_string(), message));
    }

    fn check(&mut self, t: &ArgTemplate, schema: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let s = self.resolve(schema, 0);
        let what = if path.is_empty() {
            "the arguments".to_string()
        } else {
            format!("argument {path:?}")
        };
        if let (Some(allowed), Some(got)) = (self.allowed(&s, 0), template_types(t)) {
            // Nullable optional arguments are common; only a type the schema never allows is a problem.
            let bad: Vec<&str> = got.into_iter().filter(|g| !fits(g, &allowed)).collect();
            if !bad.is_empty() {
                let expected = if path.is_empty() {
                    "an object".to_string()
                } else {
                    allowed.join(" or ")
                };
                self.problem(
                    path,
                    format!(
                        "{what}: expected {expected}, the template gives {}",
                        bad.join(" or ")
                    ),
                );
                return;
            }
        }
        let allowed_values: Option<Vec<Value>> = match (s.get("enum"), s.get("const")) {
            (Some(Value::Array(e)), _) => Some(e.clone()),
            (None, Some(c)) => Some(vec![c.clone()]),
            _ => None,
        };
        if let Some(allowed) = allowed_values {
            let listed = allowed.iter().map(show).collect::<Vec<_>>().join(", ");
            let not_listed = |v: &Value| format!("{what}: {} is not one of {listed}", show(v));
            match t {
                ArgTemplate::Literal(v) if !allowed.contains(v) => {
                    self.problem(path, not_listed(v));
                }
                ArgTemplate::Gen(Generator::Choice(values)) => {
                    if let Some(bad) = values.iter().find(|v| !allowed.contains(v)) {
                        self.problem(path, not_listed(bad));
                    }
                }
                ArgTemplate::Gen(_) => self.problem(
                    path,
                    format!(
                        "{what}: generated values are not limited to {listed}; use {{ gen = \"choice\", values = [...] }}"
                    ),
                ),
                _ => {}
            }
            return;
        }
        match t {
            ArgTemplate::Object(members) => {
                let members: Vec<(&str, &ArgTemplate)> =
                    members.iter().map(|(k, t)| (k.as_str(), t)).collect();
                self.object(&s, &members, path, depth);
            }
            ArgTemplate::Literal(Value::Object(m)) => {
                let lits: Vec<(&str, ArgTemplate)> = m
                    .iter()
                    .map(|(k, v)| (k.as_str(), ArgTemplate::Literal(v.clone())))
                    .collect();
                let members: Vec<(&str, &ArgTemplate)> =
                    lits.iter().map(|(k, t)| (*k, t)).collect();
                self.object(&s, &members, path, depth);
            }
            ArgTemplate::Array(items) => {
                if let Some(item_schema) = s.get("items").filter(|i| i.is_object()) {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &format!("{path}[{i}]"), depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn object(
        &mut self,
        s: &Map<String, Value>,
        members: &[(&str, &ArgTemplate)],
        path: &str,
        depth: usize,
    ) {
        let empty = Map::new();
        let props = s
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if let Some(Value::Array(required)) = s.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !members.iter().any(|(k, _)| *k == key) {
                    self.problem(
                        &join(path, key),
                        format!("required argument {:?} missing", join(path, key)),
                    );
                }
            }
        }
        let closed = s.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, t) in members {
            let at = join(path, key);
            match props.get(*key) {
                Some(sub) => self.check(t, sub, &at, depth + 1),
                None if closed => {
                    let known: Vec<&str> = props.keys().map(String::as_str).collect();
                    self.problem(
                        &at,
                        format!(
                            "unknown argument {at:?}; the schema allows only: {}",
                            if known.is_empty() {
                                "(none)".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Operation;
    use serde_json::json;

    fn tool(name: &str, schema: Value) -> ToolInfo {
        ToolInfo {
            name: name.into(),
            description: None,
            input_schema: schema,
            destructive: false,
            annotations: None,
        }
    }

    fn payment_schema() -> Value {
        json!({"type": "object", "properties": {
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "method": {"type": "string", "enum": ["card", "bank_transfer", "wallet"]},
            "customer_id": {"type": "string", "minLength": 1},
            "count": {"type": "integer"},
            "meta": {"$ref": "#/$defs/meta"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}
        }, "required": ["amount", "currency", "method", "customer_id"],
           "$defs": {"meta": {"type": "object", "properties": {"source": {"type": "string"}}, "required": ["source"], "additionalProperties": false}}})
    }

    fn problems(args: Value) -> Vec<String> {
        let mut op = Operation::tool("create_payment", 1);
        op.args = ArgTemplate::parse(&args).expect("template parses");
        let mix = Mix {
            ops: vec![Operation::tool("echo", 1), op],
        };
        let tools = [tool("create_payment", payment_schema())];
        match check_mix(&mix, &tools) {
            Ok(()) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn fitting_arguments_pass() {
        let ok = problems(json!({
            "amount": {"gen": "decimal", "min": 1, "max": 5},
            "currency": {"gen": "choice", "values": ["USD", "EUR"]},
            "method": {"gen": "choice", "values": ["card", "wallet"]},
            "customer_id": {"gen": "string", "prefix": "cus_"},
            "count": 3,
            "meta": {"source": "soak"},
            "tags": ["a", {"gen": "hex"}],
            "note": null,
            "extra": {"capture": "ids"}
        }));
        assert_eq!(ok, Vec::<String>::new());
    }

    #[test]
    fn mismatches_name_entry_tool_and_key() {
        let got = problems(json!({
            "amount": "12.50",
            "currency": {"gen": "int"},
            "customer_id": {"gen": "uuid"},
            "count": 2.5,
            "meta": {"source": 1, "x": true},
            "tags": [{"gen": "bool"}],
            "note": 5
        }));
        let want = [
            r#"mix[1] create_payment: required argument "method" missing"#,
            r#"mix[1] create_payment: argument "amount": expected number, the template gives string"#,
            r#"mix[1] create_payment: argument "currency": expected string, the template gives integer"#,
            r#"mix[1] create_payment: argument "count": expected integer, the template gives number"#,
            r#"mix[1] create_payment: argument "meta.source": expected string, the template gives integer"#,
            r#"mix[1] create_payment: unknown argument "meta.x"; the schema allows only: source"#,
            r#"mix[1] create_payment: argument "tags[0]": expected string, the template gives boolean"#,
            r#"mix[1] create_payment: argument "note": expected string or null, the template gives integer"#,
        ];
        for w in want {
            assert!(got.iter().any(|g| g == w), "missing {w}\ngot {got:#?}");
        }
        assert_eq!(got.len(), want.len(), "{got:#?}");
    }

    #[test]
    fn enum_values_are_checked() {
        let base = json!({"amount": 1, "currency": "USD", "customer_id": "c"});
        let with = |method: Value| {
            let mut a = base.clone();
            a["method"] = method;
            problems(a)
        };
        assert!(with(json!("card")).is_empty());
        assert_eq!(
            with(json!("paypal")),
            [
                r#"mix[1] create_payment: argument "method": "paypal" is not one of "card", "bank_transfer", "wallet""#
            ]
        );
        assert_eq!(
            with(json!({"gen": "choice", "values": ["card", "cash"]})),
            [
                r#"mix[1] create_payment: argument "method": "cash" is not one of "card", "bank_transfer", "wallet""#
            ]
        );
        assert_eq!(with(json!({"gen": "string"})).len(), 1);
    }

    #[test]
    fn auto_and_unknown_tools_are_skipped() {
        let mut auto = Operation::tool("create_payment", 1);
        auto.args = ArgTemplate::Auto;
        let mix = Mix {
            ops: vec![auto, Operation::tool("not_there", 1)],
        };
        assert_eq!(
            check_mix(&mix, &[tool("create_payment", payment_schema())]),
            Ok(())
        );
        // A plain `{}` against required keys is a problem, and the error says how to fix it.
        let mix = Mix {
            ops: vec![Operation::tool("create_payment", 1)],
        };
        let e = check_mix(&mix, &[tool("create_payment", payment_schema())])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("args = \"auto\"") && e.contains("\"method\" missing"),
            "{e}"
        );
    }
}
