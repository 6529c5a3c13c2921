//! Property tests: no JSON Schema a server can send and no generator a config can write makes
//! argument synthesis, template parsing or rendering panic, and every rendered value is bounded.

use mcp_soak::plan::args::generator::MAX_STRING;
use mcp_soak::plan::args::pattern::Pattern;
use mcp_soak::plan::args::schema::MAX_NODES;
use mcp_soak::plan::{ArgTemplate, CapturePool};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Number, Value, json};

/// The most a rendered value may weigh: every node a string of the longest length, with quotes.
const MAX_RENDERED: usize = MAX_NODES * (MAX_STRING + 16);

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number)),
        (-1000i64..1000).prop_map(Value::from),
        (-10.0f64..10.0).prop_map(|x| json!(x)),
        Just(json!(1e300)),
        Just(json!(-1e308)),
        Just(json!(1e-300)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        "[a-z]{0,6}".prop_map(Value::String),
    ]
}

const TYPES: &[&str] = &[
    "object", "array", "string", "integer", "number", "boolean", "null", "bogus",
];
const PATTERNS: &[&str] = &[
    "^[A-Z]{3}$",
    "a{100000}",
    "((((\\b)*)*)*)*",
    "(?=x)",
    "[^\\s]+",
    "\\p{Greek}{2,}",
    "[",
    "x{2,1}",
    "^$",
    "(a|b|)*c{0,}",
    "\\d{5,}-\\w*",
];
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "uuid",
    "email",
    "uri",
    "ipv4",
    "ipv6",
    "hostname",
    "duration",
    "nope",
];
const REFS: &[&str] = &[
    "#",
    "#/properties/a",
    "#/$defs/x",
    "#/nowhere",
    "other.json#/x",
];

fn schema() -> impl Strategy<Value = Value> {
    let simple = prop_oneof![
        Just(json!({})),
        Just(json!(true)),
        Just(json!(false)),
        prop::sample::select(TYPES).prop_map(|t| json!({ "type": t })),
    ];
    simple.prop_recursive(4, 48, 6, |inner| {
        let keys = (
            prop::option::of(prop::sample::select(TYPES)),
            prop::collection::btree_map("[a-d]", inner.clone(), 0..4),
            prop::collection::vec("[a-e]", 0..4),
            prop::option::of(number()),
            prop::option::of(number()),
            prop::option::of(number()),
            prop::option::of(number()),
            prop::option::of(number()),
        );
        let more = (
            prop::option::of(number()),
            prop::option::of(number()),
            prop::option::of(number()),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(PATTERNS)),
            prop::option::of(prop::sample::select(FORMATS)),
            prop::option::of(inner.clone()),
            prop::option::of(prop::collection::vec(leaf(), 0..4)),
            prop::option::of(prop::sample::select(REFS)),
            prop::option::of(prop::collection::vec(inner.clone(), 0..3)),
            prop::option::of(prop::collection::vec(inner, 0..3)),
        );
        (keys, more).prop_map(
            |(
                (ty, props, req, min, max, xmin, xmax, multiple),
                (
                    min_len,
                    max_len,
                    min_items,
                    unique,
                    pattern,
                    format,
                    items,
                    en,
                    r,
                    any_of,
                    all_of,
                ),
            )| {
                let mut m = Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                };
                put("type", ty.map(|t| json!(t)));
                put("properties", (!props.is_empty()).then(|| json!(props)));
                put("required", (!req.is_empty()).then(|| json!(req)));
                put("minimum", min);
                put("maximum", max);
                put("exclusiveMinimum", xmin);
                put("exclusiveMaximum", xmax);
                put("multipleOf", multiple);
                put("minLength", min_len);
                put("maxLength", max_len.clone());
                put("minItems", min_items);
                put("maxItems", max_len);
                put("uniqueItems", unique.map(Value::Bool));
                put("pattern", pattern.map(|p| json!(p)));
                put("format", format.map(|f| json!(f)));
                put("items", items.clone());
                put("$defs", items.map(|x| json!({ "x": x })));
                put("enum", en.map(Value::Array));
                put("$ref", r.map(|r| json!(r)));
                put("anyOf", any_of.map(Value::Array));
                put("allOf", all_of.map(Value::Array));
                Value::Object(m)
            },
        )
    })
}

fn render_bounded(t: &ArgTemplate, seed: u64) {
    let pool = CapturePool::default();
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..4 {
        let v = t.render(&mut rng, &pool);
        let n = v.to_string().len();
        assert!(n <= MAX_RENDERED, "{n} bytes");
    }
}

const GENS: &[&str] = &[
    "uuid",
    "int",
    "decimal",
    "choice",
    "seq",
    "timestamp",
    "string",
    "hex",
    "bool",
    "pattern",
    "x",
];

fn generator() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(GENS),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::option::of(prop_oneof![number(), "[a-z]{0,3}".prop_map(Value::String)]),
        prop::option::of(prop::collection::vec(leaf(), 0..3)),
        prop::option::of(prop::sample::select(PATTERNS)),
        prop::option::of(prop::sample::select(
            &["min", "len", "start", "step", "format", "precision"][..],
        )),
        prop::option::of(number()),
    )
        .prop_map(|(g, min, max, len, values, pattern, key, extra)| {
            let mut m = Map::new();
            m.insert("gen".into(), json!(g));
            for (k, v) in [("min", min), ("max", max), ("len", len)] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            if let Some(v) = values {
                m.insert("values".into(), Value::Array(v));
            }
            if let Some(p) = pattern {
                m.insert("pattern".into(), json!(p));
            }
            if let (Some(k), Some(v)) = (key, extra) {
                m.insert(k.into(), v);
            }
            Value::Object(m)
        })
}

/// Runs `check` over `strategy` on a thread with a large stack: the nested schema strategy's
/// value trees recurse deeper than a test thread's default stack in debug builds.
fn on_big_stack<S: Strategy + 'static>(
    strategy: fn() -> S,
    check: fn(S::Value) -> Result<(), TestCaseError>,
) {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let strategy = strategy();
            let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
                cases: 256,
                ..ProptestConfig::default()
            });
            if let Err(e) = runner.run(&strategy, check) {
                panic!("{e}");
            }
        })
        .expect("spawn")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

#[test]
fn any_schema_synthesizes_bounded_values() {
    on_big_stack(
        || (schema(), any::<u64>()),
        |(s, seed)| {
            let t = ArgTemplate::from_schema(&s);
            render_bounded(&t, seed);
            // As a tool's whole inputSchema, too.
            let t = ArgTemplate::from_schema(&json!({
                "type": "object", "properties": {"a": s.clone()}, "required": ["a"], "$defs": {"x": s}
            }));
            render_bounded(&t, seed);
            Ok(())
        },
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_generator_config_parses_or_errs_and_renders_bounded(
        g in generator(),
        nested in prop::collection::vec(generator(), 0..3),
        seed in any::<u64>(),
    ) {
        let v = json!({"a": g, "b": {"c": nested}});
        if let Ok(t) = ArgTemplate::parse(&v) {
            render_bounded(&t, seed);
        }
    }

    #[test]
    fn any_pattern_generates_bounded_strings(src in "\\PC{0,24}", seed in any::<u64>()) {
        if let Ok(p) = Pattern::parse(&src) {
            let mut rng = StdRng::seed_from_u64(seed);
            prop_assert!(p.generate(&mut rng, 64).chars().count() <= 64);
            prop_assert!(p.generate_len(&mut rng, 10, 20).chars().count() <= 20);
        }
    }
}
