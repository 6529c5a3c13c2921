//! Bounded fuzzing (proptest) of everything that parses untrusted input: config files, environment
//! variables and flags (never a panic, always a value or a `ConfigError`), SSE framing, HTTP/1.1
//! reply framing and JSON-RPC reply classification (never a panic, never an endless loop). Failing
//! cases are persisted under `tests/proptest-regressions/` and replayed first on every run.

use std::collections::HashMap;

use bytes::BytesMut;
use mcp_soak::config::RunArgs;
use mcp_soak::mcp::http1::{Body, Step, parse_head};
use mcp_soak::mcp::jsonrpc::classify_message;
use mcp_soak::mcp::sse::{SseEvent, SseParser};
use proptest::prelude::*;

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

/// TOML-ish text built from the real key names, so the fuzzer gets past the syntax now and then.
fn tomlish() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "[target]",
        "[load]",
        "[[mix]]",
        "[[slo]]",
        "[output]",
        "[auth]",
        "[target.auth]",
        "[[load.stages]]",
        "[limits]",
        "",
    ]);
    let key = prop::sample::select(vec![
        "url",
        "rate",
        "duration",
        "stages",
        "max_in_flight",
        "timeout",
        "sessions",
        "tool",
        "weight",
        "method",
        "args",
        "p95",
        "max_error_ratio",
        "min_tps",
        "summary",
        "linger",
        "metrics_listen",
        "token",
        "token_file",
        "kind",
        "seed",
        "users",
        "requests",
        "delay",
        "ramp",
        "capture",
        "session_strategy",
        "protocol",
        "transport",
        "headers",
        "grace",
        "max_rate",
        "bogus",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        "\"[a-z0-9:/ .,=%@_-]{0,24}\"",
        Just("true".to_owned()),
        Just("\"forever\"".to_owned()),
        Just("[]".to_owned()),
        Just("{ gen = \"uuid\" }".to_owned()),
        Just("[{ rate = 5, duration = \"1s\" }]".to_owned()),
        ".{0,12}",
    ];
    prop::collection::vec((section, key, value), 0..12).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(s, k, v)| format!("{s}\n{k} = {v}\n"))
            .collect()
    })
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn config_files_never_panic(text in prop_oneof![tomlish(), ".{0,200}"], yaml in any::<bool>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(if yaml { "c.yaml" } else { "c.toml" });
        std::fs::write(&path, &text).expect("write");
        let args = RunArgs { config: Some(path), ..RunArgs::default() };
        let _ = mcp_soak::config::load_with_env(&args, &HashMap::new());
    }

    #[test]
    fn env_and_flags_never_panic(
        env in prop::collection::hash_map(
            prop::sample::select(vec![
                "MCP_SOAK__LOAD__RATE", "MCP_SOAK__LOAD__DURATION", "MCP_SOAK__TARGET__URL",
                "MCP_SOAK__TARGET__TIMEOUT", "MCP_SOAK__LOAD__MAX_IN_FLIGHT", "MCP_SOAK__OUTPUT__LINGER",
                "LOAD_TEST_TOTAL", "LOAD_TEST_TIMEOUT", "MCP_SOAK__TARGET__AUTH__TOKEN_FILE",
            ]).prop_map(str::to_owned),
            ".{0,16}",
            0..4,
        ),
        url in prop::option::of(".{0,40}"),
        rate in prop::option::of(any::<f64>()),
        duration in prop::option::of(".{0,10}"),
        stages in prop::option::of("[0-9a-z:@,.]{0,30}"),
        mix in prop::option::of("[a-z_/=0-9,.-]{0,30}"),
        slo in prop::collection::vec("[a-z_:=0-9,.%]{0,30}", 0..2),
        header in prop::collection::vec(".{0,20}", 0..2),
        max_in_flight in prop::option::of(any::<i64>()),
        sessions in prop::option::of(any::<i64>()),
        strategy in prop::option::of("[a-z:0-9-]{0,12}"),
        instance in prop::option::of("[0-9/]{0,6}"),
    ) {
        let args = RunArgs {
            url: url.or_else(|| Some("http://127.0.0.1:1/mcp".into())),
            rate,
            duration,
            stages,
            mix,
            slos: slo,
            headers: header,
            max_in_flight,
            sessions,
            session_strategy: strategy,
            instance_share: instance,
            ..RunArgs::default()
        };
        let env: HashMap<String, String> = env;
        let _ = mcp_soak::config::load_with_env(&args, &env);
    }

    #[test]
    fn duration_parsing_never_panics(s in ".{0,24}") {
        let _ = mcp_soak::config::parse_duration(&s);
    }
}

/// Drains every complete event, stopping at the first framing error; bounded by the input size.
fn drain(p: &mut SseParser, out: &mut Vec<SseEvent>, budget: &mut usize) -> bool {
    loop {
        assert!(*budget > 0, "the SSE parser looped without consuming input");
        *budget -= 1;
        match p.next_event() {
            Ok(Some(e)) => out.push(e),
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data: ".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"event: message".to_vec()),
        Just(b"id: 7".to_vec()),
        Just(b"retry: 10".to_vec()),
        Just(b": keep-alive".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
        "[ -~]{0,10}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn sse_framing_never_panics_and_ignores_chunk_boundaries(
        bytes in sse_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut budget = bytes.len() + 16;
        let mut whole = SseParser::new(1 << 20);
        whole.push(&bytes);
        let mut a = Vec::new();
        let whole_ok = drain(&mut whole, &mut a, &mut budget);

        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let mut split = SseParser::new(1 << 20);
        let mut b = Vec::new();
        let mut budget = bytes.len() + 16 + points.len();
        let mut split_ok = true;
        for w in points.windows(2) {
            split.push(&bytes[w[0]..w[1]]);
            if !drain(&mut split, &mut b, &mut budget) {
                split_ok = false;
                break;
            }
        }
        if whole_ok && split_ok {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn sse_memory_stays_under_the_cap(
        chunks in prop::collection::vec(sse_bytes(), 1..20),
    ) {
        // Whatever arrives, the unparsed bytes and the event being assembled stay bounded by
        // the cap plus one chunk; past the cap the parser reports an error instead of growing.
        const CAP: usize = 64;
        let mut p = SseParser::new(CAP);
        let mut out = Vec::new();
        let mut budget = chunks.iter().map(Vec::len).sum::<usize>() + 16 + chunks.len();
        for c in &chunks {
            p.push(c);
            if !drain(&mut p, &mut out, &mut budget) {
                break;
            }
            prop_assert!(p.pending() <= CAP + c.len(), "pending {}", p.pending());
        }
        prop_assert!(out.iter().all(|e| e.data.len() <= CAP));
    }

    #[test]
    fn jsonrpc_classification_never_panics_on_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        id in any::<u64>(), tool in any::<bool>(), keep in any::<bool>(),
    ) {
        let _ = classify_message(&bytes, id, tool, keep);
    }

    #[test]
    fn jsonrpc_classification_never_panics_on_json(
        v in json_value(), id in 0u64..4, tool in any::<bool>(), keep in any::<bool>(),
    ) {
        let text = serde_json::to_vec(&v).expect("to json");
        let _ = classify_message(&text, id, tool, keep);
    }
}

/// Arbitrary JSON, biased towards JSON-RPC-shaped objects.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9]{0,8}".prop_map(Value::String),
    ];
    let any_json = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "jsonrpc", "id", "result", "error", "code", "message", "data", "method",
                    "isError", "content", "params", "x",
                ])
                .prop_map(str::to_owned),
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        any_json.clone(),
        (any_json.clone(), any_json.clone(), any_json).prop_map(|(id, result, error)| {
            json!({"jsonrpc": "2.0", "id": id, "result": result, "error": error})
        }),
        (0u64..4, any_json_small()).prop_map(|(id, r)| json!({"jsonrpc": "2.0", "id": id, "result": r})),
        (0u64..4, any::<i64>(), ".{0,10}")
            .prop_map(|(id, code, msg)| json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": msg}})),
    ]
}

fn any_json_small() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop_oneof![
        Just(json!({"isError": true, "content": []})),
        Just(json!({"isError": "yes"})),
        Just(json!({"content": [{"type": "text", "text": "x"}]})),
        Just(json!(null)),
        Just(json!([1, 2])),
    ]
}

/// A chunked encoding of `parts` (each a chunk; empty ones skipped), with the last chunk and a
/// trailer.
fn chunked(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut wire = Vec::new();
    for p in parts.iter().filter(|p| !p.is_empty()) {
        wire.extend_from_slice(format!("{:x};x=y\r\n", p.len()).as_bytes());
        wire.extend_from_slice(p);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
    wire
}

/// Feeds `wire` to `body` cut at `points`; the data, whether it ended, and an error if any.
fn decode(mut body: Body, wire: &[u8], points: &[usize]) -> (Vec<u8>, bool, bool) {
    let (mut out, mut buf) = (Vec::new(), BytesMut::new());
    let mut budget = wire.len() + 2 * points.len() + 8;
    for w in points.windows(2) {
        buf.extend_from_slice(&wire[w[0]..w[1]]);
        loop {
            assert!(budget > 0, "the decoder loops without consuming");
            budget -= 1;
            match body.next(&mut buf) {
                Ok(Step::Data(d)) => {
                    assert!(!d.is_empty(), "an empty piece");
                    out.extend_from_slice(&d);
                }
                Ok(Step::More) => break,
                Ok(Step::End) => return (out, true, false),
                Err(_) => return (out, false, true),
            }
        }
    }
    (out, false, false)
}

fn cut_points(len: usize, cuts: &[prop::sample::Index]) -> Vec<usize> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    points.push(0);
    points.push(len);
    points.sort_unstable();
    points
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn chunked_bodies_decode_to_their_data_however_they_are_cut(
        parts in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let wire = chunked(&parts);
        let (data, ended, failed) = decode(Body::chunked(), &wire, &cut_points(wire.len(), &cuts));
        prop_assert!(ended && !failed);
        prop_assert_eq!(data, parts.concat());
    }

    #[test]
    fn http_framing_never_panics_or_spins_on_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let _ = parse_head(&mut BytesMut::from(&bytes[..]));
        let points = cut_points(bytes.len(), &cuts);
        for body in [Body::chunked(), Body::length(17), Body::until_close()] {
            let (data, _, _) = decode(body, &bytes, &points);
            prop_assert!(data.len() <= bytes.len());
        }
    }
}
