//! `auto` arguments satisfy real schemas: every value synthesized from a tool's `inputSchema` is
//! valid against that schema (formats included), for a corpus of real-world tool schemas
//! (tests/fixtures/tool_schemas.json), the built-in mock's tools (which must also answer them
//! without a tool error) and server-everything's tools, fetched from the running server.

mod mcp_common;

use mcp_common::*;
use mcp_soak::mcp::{McpClient, McpRequest, OutcomeKind, ProtocolChoice, ToolInfo};
use mcp_soak::plan::{ArgTemplate, CapturePool};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

/// Renders `n` values for `schema` and returns the first invalid one with its errors, if any.
fn first_invalid(name: &str, schema: &Value, n: usize) -> Option<String> {
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{name}: schema compiles: {e}"));
    let template = ArgTemplate::from_schema(schema);
    let pool = CapturePool::default();
    let mut rng = StdRng::seed_from_u64(21);
    for _ in 0..n {
        let v = template.render(&mut rng, &pool);
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Some(format!("{name}: {v}\n  {errors:?}"));
        }
    }
    None
}

fn assert_all_valid(tools: &[(String, Value)]) {
    assert!(!tools.is_empty());
    let bad: Vec<String> = tools
        .iter()
        .filter_map(|(name, schema)| first_invalid(name, schema, 200))
        .collect();
    assert!(
        bad.is_empty(),
        "invalid synthesized arguments:\n{}",
        bad.join("\n")
    );
}

fn named(tools: &[ToolInfo]) -> Vec<(String, Value)> {
    tools
        .iter()
        .map(|t| (t.name.clone(), t.input_schema.clone()))
        .collect()
}

#[test]
fn corpus_of_real_world_schemas() {
    let text = include_str!("fixtures/tool_schemas.json");
    let corpus: Vec<Value> = serde_json::from_str(text).expect("fixture parses");
    let tools: Vec<(String, Value)> = corpus
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("?").to_string(),
                t["inputSchema"].clone(),
            )
        })
        .collect();
    assert_all_valid(&tools);
    // The check itself can fail: formats and patterns are enforced.
    for (schema, bad) in [
        (r#"{"type": "string", "format": "email"}"#, r#""soak-1""#),
        (r#"{"type": "string", "format": "date"}"#, r#""2026-13-45""#),
        (
            r#"{"type": "string", "pattern": "^[A-Z]{3}$"}"#,
            r#""soak-3At""#,
        ),
        (r#"{"type": "number", "multipleOf": 0.01}"#, "0.001"),
    ] {
        let schema: Value = serde_json::from_str(schema).expect("json");
        let v = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("compiles");
        assert!(
            !v.is_valid(&serde_json::from_str(bad).expect("json")),
            "{schema}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_tools_accept_their_synthesized_arguments() {
    let mock = mock().await;
    let client = McpClient::connect(config(mock.url.clone(), ProtocolChoice::Auto))
        .await
        .expect("connect");
    let tools = client.list_tools().await.expect("tools/list");
    assert_all_valid(&named(&tools));
    // The mock checks what it gets: every synthesized call is answered without a tool error.
    let pool = CapturePool::default();
    let mut rng = StdRng::seed_from_u64(7);
    for tool in tools.iter().filter(|t| t.name != "verify_payment") {
        let template = ArgTemplate::from_schema(&tool.input_schema);
        for _ in 0..20 {
            let request = McpRequest::ToolsCall {
                name: tool.name.clone(),
                arguments: template.render(&mut rng, &pool),
            };
            let out = client.call(&request, true).await;
            assert_eq!(
                out.kind,
                OutcomeKind::Ok,
                "{}: {request:?} {out:?}",
                tool.name
            );
        }
    }
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_schemas() {
    let (_server, client) = everything_client("streamableHttp").await;
    let tools = client.list_tools().await.expect("tools/list");
    client.shutdown().await;
    assert!(tools.len() >= 5, "{tools:?}");
    assert_all_valid(&named(&tools));
}
