//! The commented starting config `mcp-soak discover` prints.
//!
//! Every tool becomes a `[[mix]]` entry with `args = "auto"`, preceded by comments that say what it
//! takes: its required arguments and a one-line summary of each property of its `inputSchema`. A tool
//! that may be destructive by the MCP spec's hints (no `readOnlyHint: true` nor `destructiveHint:
//! false`, which includes every tool without annotations) is written commented out with the reason
//! and an `allow_destructive = true` line, so calling it takes a deliberate edit naming it. Everything
//! taken from the server is flattened to one line and length-capped before it lands in a comment.

use std::fmt::Write as _;

use serde_json::Value;

use crate::mcp::ToolInfo;

/// Properties summarised per tool (the rest are counted).
const MAX_PROPERTIES: usize = 40;
/// Characters of one comment line's server-provided text.
const MAX_TEXT: usize = 160;
/// Enum values listed in a summary.
const MAX_ENUM: usize = 6;

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Server-provided text for a comment: first line only, control characters replaced, capped.
fn one_line(s: &str) -> String {
    let first = s.lines().next().unwrap_or("").trim();
    let mut out: String = first
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    if first.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out
}

fn json_short(v: &Value) -> String {
    one_line(&v.to_string())
}

/// `string`, `integer|null`, `one of "a", "b"`, `= "x"`, `any of 2 shapes`, with constraints.
pub(crate) fn summarize_schema(s: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let kind = match s.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Array(ts)) => Some(
            ts.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("|"),
        ),
        _ => None,
    };
    if let Some(Value::Array(values)) = s.get("enum") {
        let shown: Vec<String> = values.iter().take(MAX_ENUM).map(json_short).collect();
        let more = values.len().saturating_sub(MAX_ENUM);
        let more = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        parts.push(format!("one of {}{more}", shown.join(", ")));
    } else if let Some(c) = s.get("const") {
        parts.push(format!("= {}", json_short(c)));
    } else if let Some(k) = kind {
        if k == "array" {
            let items = s.get("items").map_or_else(
                || "any".to_string(),
                |i| match i.get("type") {
                    Some(Value::String(t)) => t.clone(),
                    _ => "any".into(),
                },
            );
            parts.push(format!("array of {items}"));
        } else if k == "object" {
            let n = s
                .get("properties")
                .and_then(Value::as_object)
                .map_or(0, |p| p.len());
            parts.push(format!("object ({n} properties)"));
        } else {
            parts.push(k);
        }
    } else if let Some(Value::Array(alts)) = s.get("anyOf").or_else(|| s.get("oneOf")) {
        parts.push(format!("any of {} shapes", alts.len()));
    } else {
        parts.push("any".into());
    }
    for (key, label) in [
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
        ("multipleOf", "multiple of"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("format", "format"),
        ("pattern", "pattern"),
        ("default", "default"),
    ] {
        if let Some(v) = s.get(key) {
            let v = match v {
                Value::String(t) => one_line(t),
                other => json_short(other),
            };
            parts.push(format!("{label} {v}"));
        }
    }
    one_line(&parts.join(", "))
}

/// Comment lines describing a tool's arguments: the required ones, then one line per property.
fn describe_arguments(schema: &Value, out: &mut String) {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(one_line).collect())
        .unwrap_or_default();
    let props = schema.get("properties").and_then(Value::as_object);
    let Some(props) = props.filter(|p| !p.is_empty()) else {
        let _ = writeln!(out, "# arguments: none");
        return;
    };
    let _ = writeln!(
        out,
        "# required: {}",
        if required.is_empty() {
            "none".to_string()
        } else {
            required.join(", ")
        }
    );
    for (name, p) in props.iter().take(MAX_PROPERTIES) {
        let star = if required.iter().any(|r| r == name) {
            "*"
        } else {
            ""
        };
        let desc = p
            .get("description")
            .and_then(Value::as_str)
            .map(one_line)
            .filter(|d| !d.is_empty())
            .map_or_else(String::new, |d| format!(" — {d}"));
        let _ = writeln!(
            out,
            "#   {}{star}: {}{desc}",
            one_line(name),
            summarize_schema(p)
        );
    }
    if props.len() > MAX_PROPERTIES {
        let _ = writeln!(
            out,
            "#   … and {} more properties",
            props.len() - MAX_PROPERTIES
        );
    }
}

/// A commented TOML config for `url` (or a stdio target's `stdio:COMMAND` label) with every tool
/// in the mix (`args = "auto"`); tools that may be destructive are commented out with the reason.
pub fn starter_config(url: &str, tools: &[ToolInfo]) -> String {
    starter_config_with(url, &[], tools)
}

/// Like [`starter_config`], with `target_lines` (TOML, no secret values: how `discover` reached the
/// server, e.g. its auth kind and token source) written at the end of the `[target]` table.
pub fn starter_config_with(url: &str, target_lines: &[String], tools: &[ToolInfo]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# mcp-soak config generated by `mcp-soak discover` (docs/configuration.md lists every key)."
    );
    let _ = writeln!(
        s,
        "# Check it with `mcp-soak validate -c FILE`, run it with `mcp-soak run -c FILE`."
    );
    if !tools.is_empty() && tools.iter().all(|t| t.annotations.is_none()) {
        let _ = writeln!(
            s,
            "#\n# The server declares no annotations on any tool: by the MCP spec's defaults every tool may be\n\
             # destructive, so every tool below is commented out. Uncomment only tools that are safe to call\n\
             # with generated arguments."
        );
    } else if tools.iter().any(|t| t.destructive) {
        let _ = writeln!(
            s,
            "#\n# Tools that may be destructive (MCP spec hints) are commented out: uncommenting one, with its\n\
             # `allow_destructive = true`, lets the run call it."
        );
    }
    match url.strip_prefix("stdio:") {
        // A stdio target's label is `stdio:` and its shell-quoted command line.
        Some(command) => writeln!(
            s,
            "\n[target]\ncommand = {}\ntimeout = \"30s\"\nprocesses = 1\n",
            toml_str(command)
        ),
        None => writeln!(
            s,
            "\n[target]\nurl = {}\ntimeout = \"30s\"\nsessions = 8\n",
            toml_str(url)
        ),
    }
    .unwrap_or_default();
    if !target_lines.is_empty() {
        // Back over the blank line that ends the [target] table.
        s.pop();
        for l in target_lines {
            let _ = writeln!(s, "{l}");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "[load]\n# 10 calls/s for 1 minute, then 50/s for 5 minutes after a 30 s ramp."
    );
    let _ = writeln!(
        s,
        "stages = [\n  {{ rate = 10, duration = \"1m\" }},\n  {{ rate = 50, duration = \"5m\", ramp = \"30s\" }},\n]\nmax_in_flight = 256\n"
    );
    for t in tools {
        let reason = t.destructive_reason();
        let c = if reason.is_some() { "# " } else { "" };
        let _ = writeln!(s, "# ---- {} ----", one_line(&t.name));
        if let Some(d) = &t.description {
            let first = one_line(d);
            if !first.is_empty() {
                let _ = writeln!(s, "# {first}");
            }
        }
        describe_arguments(&t.input_schema, &mut s);
        if let Some(r) = reason {
            let _ = writeln!(s, "# MAY BE DESTRUCTIVE ({}): not called.", r.describe());
        }
        let _ = writeln!(
            s,
            "{c}[[mix]]\n{c}tool = {}\n{c}weight = 10\n{c}args = \"auto\"",
            toml_str(&t.name)
        );
        if reason.is_some() {
            let _ = writeln!(s, "{c}allow_destructive = true");
        }
        s.push('\n');
    }
    if tools.is_empty() {
        let _ = writeln!(s, "# The server listed no tools: tools/list alone.");
    }
    let _ = writeln!(s, "[[mix]]\nmethod = \"tools/list\"\nweight = 1\n");
    let _ = writeln!(
        s,
        "# [[slo]]\n# tool = \"NAME\"\n# p95 = \"150ms\"\n# min_tps = 10\n# max_error_ratio = 0.001\n"
    );
    let _ = writeln!(
        s,
        "[output]\nsummary = \"results/{{timestamp}}.json\"\nmetrics_listen = \"127.0.0.1:9464\""
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, annotations: Option<Value>, schema: Value) -> ToolInfo {
        ToolInfo::from_listing(
            &json!({"name": name, "description": "Line one.\nLine two.", "inputSchema": schema, "annotations": annotations}),
        )
        .expect("named")
    }

    #[test]
    fn summaries_name_types_and_constraints() {
        assert_eq!(
            summarize_schema(&json!({"type": "number", "exclusiveMinimum": 0})),
            "number, > 0"
        );
        assert_eq!(
            summarize_schema(&json!({"type": "string", "pattern": "^[A-Z]{3}$"})),
            "string, pattern ^[A-Z]{3}$"
        );
        assert_eq!(
            summarize_schema(&json!({"type": "string", "enum": ["card", "wallet"]})),
            "one of \"card\", \"wallet\""
        );
        assert_eq!(
            summarize_schema(
                &json!({"type": "array", "items": {"type": "integer"}, "maxItems": 3})
            ),
            "array of integer, max items 3"
        );
        assert_eq!(
            summarize_schema(&json!({"type": ["string", "null"]})),
            "string|null"
        );
        assert_eq!(
            summarize_schema(&json!({"anyOf": [{}, {}]})),
            "any of 2 shapes"
        );
        // A hostile description cannot break out of its comment or grow without bound.
        let long = "x".repeat(10_000);
        let s =
            summarize_schema(&json!({"type": "string", "pattern": format!("a\n[[mix]]\n{long}")}));
        assert!(
            !s.contains('\n') && s.chars().count() <= MAX_TEXT + 1,
            "{s}"
        );
    }

    #[test]
    fn destructive_tools_are_commented_out_with_reason_and_arguments() {
        let schema = json!({"type": "object", "properties": {
            "cluster_id": {"type": "string", "description": "The cluster\nto install"},
            "force": {"type": "boolean"}
        }, "required": ["cluster_id"]});
        let text = starter_config(
            "http://127.0.0.1:9/mcp",
            &[
                tool(
                    "list",
                    Some(json!({"readOnlyHint": true})),
                    json!({"type": "object"}),
                ),
                tool("install_cluster", None, schema),
            ],
        );
        assert!(text.contains("\n[[mix]]\ntool = \"list\""), "{text}");
        assert!(
            text.contains("\n# [[mix]]\n# tool = \"install_cluster\""),
            "{text}"
        );
        assert!(text.contains("# allow_destructive = true"), "{text}");
        assert!(
            text.contains("# MAY BE DESTRUCTIVE (no annotations; the MCP spec's default is destructiveHint: true)"),
            "{text}"
        );
        assert!(text.contains("# required: cluster_id\n"), "{text}");
        assert!(
            text.contains("#   cluster_id*: string — The cluster\n#   force: boolean\n"),
            "{text}"
        );
        assert!(text.contains("# arguments: none"), "{text}");
        assert!(
            !text.contains("declares no annotations on any tool"),
            "{text}"
        );
    }

    #[test]
    fn a_server_without_annotations_is_called_out() {
        let text = starter_config(
            "http://127.0.0.1:9/mcp",
            &[tool("a", None, json!({})), tool("b", None, json!({}))],
        );
        assert!(
            text.contains("declares no annotations on any tool"),
            "{text}"
        );
        assert!(!text.contains("\n[[mix]]\ntool ="), "{text}");
    }
}
