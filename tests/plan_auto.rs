//! `auto` arguments built from real-looking tool schemas validate against those schemas, and
//! `resolve_tools` checks the mix against `tools/list`.

use mcp_soak::mcp::{DestructiveReason, ToolInfo};
use mcp_soak::plan::{
    ArgTemplate, CapturePool, Load, Mix, Operation, Plan, PlanError, RefusedTool, Stage,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

fn schemas() -> Vec<Value> {
    vec![
        // server-everything `echo`
        json!({"type": "object", "properties": {"message": {"type": "string", "description": "Message to echo"}}, "required": ["message"]}),
        // server-everything `get-sum`
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"], "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}),
        // payments create_payment
        json!({"type": "object", "properties": {
            "amount": {"type": "number", "minimum": 0.01, "maximum": 10000},
            "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
            "customer_id": {"type": "string", "minLength": 3, "maxLength": 64},
            "idempotency_key": {"type": "string", "format": "uuid"},
            "metadata": {"type": "object", "properties": {"source": {"type": "string", "default": "soak"}}, "required": ["source"]}
        }, "required": ["amount", "currency", "customer_id", "idempotency_key", "metadata"]}),
        // assisted-service list_versions with an optional flag
        json!({"type": "object", "properties": {"only_latest": {"type": "boolean"}, "limit": {"type": "integer", "minimum": 1, "maximum": 50}}, "required": ["limit"]}),
        // arrays, nested, exclusive bounds, nullable, const, examples
        json!({"type": "object", "properties": {
            "ids": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, "minItems": 2, "maxItems": 4},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "uniqueItems": true, "minItems": 3},
            "when": {"type": "string", "format": "date-time"},
            "note": {"type": ["string", "null"], "maxLength": 4},
            "kind": {"const": "fixed"},
            "city": {"type": "string", "examples": ["Paris", "Rome"]},
            "deep": {"type": "object", "properties": {"inner": {"type": "object", "properties": {"n": {"type": "integer", "maximum": -5}}, "required": ["n"]}}, "required": ["inner"]},
            "choice": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 100}]}
        }, "required": ["ids", "tags", "when", "note", "kind", "city", "deep", "choice"]}),
        // no properties at all (rmcp tools without arguments)
        json!({"type": "object"}),
    ]
}

#[test]
fn auto_args_validate_against_their_schema() {
    let pool = CapturePool::default();
    let mut rng = StdRng::seed_from_u64(9);
    for schema in schemas() {
        let validator = jsonschema::validator_for(&schema).expect("test schema compiles");
        let template = ArgTemplate::from_schema(&schema);
        for _ in 0..50 {
            let v = template.render(&mut rng, &pool);
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "schema {schema}\nvalue {v}\nerrors {errors:?}"
            );
        }
    }
}

fn tool(name: &str, destructive: bool) -> ToolInfo {
    ToolInfo {
        name: name.into(),
        description: None,
        input_schema: json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
        destructive,
        annotations: None,
    }
}

fn plan_with(ops: Vec<Operation>) -> Plan {
    Plan::new(
        "http://127.0.0.1:1/mcp",
        Load::Open {
            stages: vec![Stage::steady(1.0, Some(std::time::Duration::from_secs(1)))],
            max_calls: None,
        },
        Mix { ops },
    )
}

#[test]
fn resolve_tools_fills_auto_and_names_unknown_tools() {
    let tools = [
        tool("echo", false),
        tool("get-sum", false),
        tool("wipe", true),
    ];
    let mut auto = Operation::tool("echo", 1);
    auto.args = ArgTemplate::Auto;
    let mut plan = plan_with(vec![
        auto,
        Operation::tool("nope", 1),
        Operation::tool("nada", 1),
    ]);
    let err = plan
        .resolve_tools(&tools)
        .expect_err("unknown tools refused");
    assert_eq!(
        err,
        PlanError::UnknownTools {
            unknown: vec!["nope".into(), "nada".into()],
            available: vec!["echo".into(), "get-sum".into(), "wipe".into()]
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("nope, nada") && msg.contains("echo, get-sum, wipe"),
        "{msg}"
    );

    plan.mix.ops.truncate(1);
    plan.resolve_tools(&tools).expect("resolves");
    let mut rng = StdRng::seed_from_u64(1);
    let req = plan.mix.ops[0].build_request(&mut rng, &CapturePool::default());
    match req {
        mcp_soak::mcp::McpRequest::ToolsCall { name, arguments } => {
            assert_eq!(name, "echo");
            assert!(arguments["message"].is_string(), "{arguments}");
        }
        other => panic!("unexpected request {other:?}"),
    }
}

#[test]
fn destructive_tools_need_explicit_allow() {
    let unannotated = ToolInfo::from_listing(&json!({"name": "create_cluster"})).expect("named");
    let read_only = ToolInfo::from_listing(
        &json!({"name": "list_clusters", "annotations": {"readOnlyHint": true}}),
    )
    .expect("named");
    let wipe = ToolInfo::from_listing(
        &json!({"name": "wipe", "annotations": {"readOnlyHint": false, "destructiveHint": true}}),
    )
    .expect("named");
    let tools = [wipe, unannotated, read_only];
    let mut plan = plan_with(vec![
        Operation::tool("wipe", 1),
        Operation::tool("create_cluster", 1),
        Operation::tool("list_clusters", 1),
        Operation::tool("wipe", 1),
    ]);
    let err = plan.resolve_tools(&tools).expect_err("refused");
    assert_eq!(
        err,
        PlanError::Destructive {
            tools: vec![
                RefusedTool {
                    name: "wipe".into(),
                    reason: DestructiveReason::Declared
                },
                RefusedTool {
                    name: "create_cluster".into(),
                    reason: DestructiveReason::NoAnnotations
                },
            ]
        }
    );
    let msg = err.to_string();
    for needle in [
        "`wipe` (annotations.destructiveHint: true)",
        "`create_cluster` (no annotations",
        "allow_destructive = true",
        "--allow-destructive wipe,create_cluster",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    // Allowing one entry of a tool is not enough while another entry still calls it unasked.
    plan.mix.ops[0].allow_destructive = true;
    plan.mix.ops[1].allow_destructive = true;
    assert!(plan.resolve_tools(&tools).is_err());
    plan.mix.ops[3].allow_destructive = true;
    assert_eq!(plan.resolve_tools(&tools), Ok(()));
}
