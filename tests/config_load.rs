//! Config layering (defaults < file < env < flags), errors that name source and key, closed-model
//! presets, and every shipped config loading cleanly.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use mcp_soak::config::{ConfigError, RunArgs, load_with_env, starter_config};
use mcp_soak::mcp::{Auth, SessionStrategy, ToolInfo};
use mcp_soak::plan::{Load, Plan, Stage};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

fn args(flags: &[&str]) -> RunArgs {
    let mut argv = vec!["mcp-soak"];
    argv.extend_from_slice(flags);
    Cli::try_parse_from(argv).expect("flags parse").run
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(ext)
        .tempfile()
        .expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

fn load(
    f: &tempfile::NamedTempFile,
    flags: &[&str],
    envs: &[(&str, &str)],
) -> Result<Plan, ConfigError> {
    let path = f.path().display().to_string();
    let mut all = vec!["-c", path.as_str()];
    all.extend_from_slice(flags);
    load_with_env(&args(&all), &env(envs))
}

const BASE: &str = r#"
[target]
url = "http://127.0.0.1:9/mcp"
[load]
rate = 10
duration = "1m"
[[mix]]
tool = "echo"
weight = 3
args = { message = { gen = "string", len = 5 } }
[[mix]]
method = "tools/list"
"#;

fn rate(p: &Plan) -> f64 {
    match &p.load {
        Load::Open { stages, .. } => stages[0].rate,
        Load::Closed { .. } => -1.0,
    }
}

#[test]
fn layering_file_env_flag() {
    let f = file(".toml", BASE);
    assert_eq!(rate(&load(&f, &[], &[]).expect("file")), 10.0);
    let e = [
        ("MCP_SOAK__LOAD__RATE", "20"),
        ("MCP_SOAK__TARGET__SESSIONS", "3"),
    ];
    let p = load(&f, &[], &e).expect("env");
    assert_eq!((rate(&p), p.client.sessions), (20.0, 3));
    let p = load(&f, &["--rate", "30", "--sessions", "5"], &e).expect("flag");
    assert_eq!((rate(&p), p.client.sessions), (30.0, 5));
    // One underscore after the prefix is ignored by the config crate (documented trap).
    assert_eq!(
        rate(&load(&f, &[], &[("MCP_SOAK_LOAD__RATE", "99")]).expect("ignored")),
        10.0
    );
    // Legacy script variables sit below MCP_SOAK__ ones.
    let p = load(
        &f,
        &[],
        &[
            ("API_BASE_URL", "http://127.0.0.1:7/mcp"),
            ("LOAD_TEST_TIMEOUT", "3"),
        ],
    )
    .expect("legacy");
    assert_eq!(
        (p.client.url.as_str(), p.client.timeout),
        ("http://127.0.0.1:7/mcp", Duration::from_secs(3))
    );
    let p = load(
        &f,
        &[],
        &[
            ("API_BASE_URL", "http://a:1/x"),
            ("MCP_SOAK__TARGET__URL", "http://b:2/y"),
        ],
    )
    .expect("both");
    assert_eq!(p.client.url, "http://b:2/y");
    // Defaults when nothing else says.
    assert_eq!(p.limits.max_in_flight, 1024);
    assert_eq!(
        p.mix
            .ops
            .iter()
            .map(|o| (o.name.as_str(), o.weight))
            .collect::<Vec<_>>(),
        [("echo", 3), ("tools/list", 1)]
    );
}

#[test]
fn flags_shape_the_plan() {
    let f = file(".toml", BASE);
    let p = load(
        &f,
        &[
            "--stages",
            "50:5m,100:5m@30s,200:forever",
            "--mix",
            "echo=5,get-sum=2,tools/list=1",
            "--session-strategy",
            "churn:100",
            "--header",
            "X-Api-Key: abc",
            "--slo",
            "echo:p95=150ms,tps=1000,errors=0.1%",
            "--slo",
            "errors=1%",
            "--metrics-listen",
            "none",
            "--instance-share",
            "1/3",
            "--token",
            "t0k",
            "--seed",
            "7",
        ],
        &[],
    )
    .expect("loads");
    // `--instance-share 1/3`: this instance sends a third of every stage's rate.
    assert_eq!(
        p.load,
        Load::Open {
            stages: vec![
                Stage::steady(50.0 / 3.0, Some(Duration::from_secs(300))),
                Stage {
                    rate: 100.0 / 3.0,
                    duration: Some(Duration::from_secs(300)),
                    ramp: Duration::from_secs(30)
                },
                Stage::steady(200.0 / 3.0, None),
            ],
            max_calls: None
        }
    );
    assert_eq!(p.mix.ops.len(), 3);
    assert!(
        matches!(&p.mix.ops[0].args, mcp_soak::plan::ArgTemplate::Object(m) if m.len() == 1),
        "file args kept"
    );
    assert!(p.mix.ops[1].args.is_auto(), "new tool gets auto args");
    assert_eq!(
        p.client.session_strategy,
        SessionStrategy::Churn {
            calls_per_session: 100
        }
    );
    assert_eq!(p.client.headers[0].0, "X-Api-Key");
    assert_eq!(p.client.headers[0].1.expose(), "abc");
    assert!(matches!(&p.client.auth, Auth::Bearer(t) if t.expose() == "t0k"));
    assert_eq!(p.slos.len(), 2);
    assert_eq!(p.slos[0].op.as_deref(), Some("echo"));
    assert_eq!(p.slos[0].p95, Some(Duration::from_millis(150)));
    assert_eq!(p.slos[0].min_tps, Some(1000.0));
    assert!((p.slos[0].max_error_ratio.unwrap_or(0.0) - 0.001).abs() < 1e-12);
    assert_eq!(p.slos[1].op, None);
    assert_eq!(p.output.metrics_listen, None);
    assert_eq!(p.limits.instance_share, Some((1, 3)));
    assert_eq!(p.seed, 7);
}

#[test]
fn closed_model_presets() {
    let f = file(".toml", BASE);
    for (flags, users, reqs) in [
        (vec!["--scenario", "light"], 5, 3),
        (vec!["--scenario", "moderate"], 20, 5),
        (vec!["--scenario", "heavy"], 50, 10),
        (vec!["--scenario", "stress"], 100, 20),
        (vec!["--quick"], 10, 10),
        (
            vec!["--users", "7", "--requests", "4", "--delay", "0.5"],
            7,
            4,
        ),
        (vec!["--total", "100", "--concurrent", "8"], 8, 13),
        (vec!["--scenario", "light", "--users", "9"], 9, 3),
    ] {
        let p = load(&f, &flags, &[]).expect("closed loads");
        match p.load {
            Load::Closed {
                users: u,
                requests_per_user: r,
                ..
            } => assert_eq!((u, r), (users, reqs), "{flags:?}"),
            other => panic!("{flags:?} gave {other:?}"),
        }
    }
    // The environment switches the load model as flags do: the file's rate gives way.
    let p = load(
        &f,
        &[],
        &[("LOAD_TEST_CONCURRENT", "4"), ("LOAD_TEST_TOTAL", "40")],
    )
    .expect("env closed over file rate");
    assert!(
        matches!(
            p.load,
            Load::Closed {
                users: 4,
                requests_per_user: 10,
                ..
            }
        ),
        "{:?}",
        p.load
    );
    let g = file(".toml", &BASE.replace("rate = 10\nduration = \"1m\"\n", ""));
    let p = load(
        &g,
        &["--mixed"],
        &[("LOAD_TEST_CONCURRENT", "4"), ("LOAD_TEST_TOTAL", "40")],
    )
    .expect("legacy env closed");
    assert_eq!(
        p.load,
        Load::Closed {
            users: 4,
            requests_per_user: 10,
            delay: Duration::ZERO
        }
    );
    let names: Vec<&str> = p.mix.ops.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["create_payment", "verify_payment", "get_wallet_balance"]
    );
}

type Case<'a> = (
    String,
    Vec<&'a str>,
    Vec<(&'a str, &'a str)>,
    &'a str,
    &'a str,
);

#[test]
fn errors_name_source_and_key() {
    let f = file(".toml", BASE);
    let fpath = format!("file {}", f.path().display());
    let token_missing = "/nonexistent/mcp-soak-token";
    // (file text, flags, env, expected origin, expected key prefix)
    let cases: Vec<Case> = vec![
        (
            BASE.into(),
            vec!["--rate", "0"],
            vec![],
            "flag --rate",
            "load.rate",
        ),
        (
            BASE.into(),
            vec![],
            vec![("MCP_SOAK__LOAD__RATE", "-3")],
            "env MCP_SOAK__LOAD__RATE",
            "load.rate",
        ),
        (
            BASE.into(),
            vec![],
            vec![("MCP_SOAK__LOAD__RATE", "fast")],
            "env MCP_SOAK__LOAD__RATE",
            "load.rate",
        ),
        (
            BASE.replace("rate = 10", "rate = -1"),
            vec![],
            vec![],
            &fpath,
            "load.rate",
        ),
        (
            BASE.replace("duration = \"1m\"", "duration = \"1 fortnight\""),
            vec![],
            vec![],
            &fpath,
            "load.duration",
        ),
        (
            BASE.replace("[load]", "[load]\nrat = 5"),
            vec![],
            vec![],
            &fpath,
            "load.rat",
        ),
        (
            BASE.replace("weight = 3", "weight = 0") + "weight = 0\n",
            vec![],
            vec![],
            &fpath,
            "mix",
        ),
        (
            BASE.replace("weight = 3", "weight = \"x\""),
            vec![],
            vec![],
            &fpath,
            "mix[0].weight",
        ),
        (
            BASE.into(),
            vec!["--stages", "50:5m,oops"],
            vec![],
            "flag --stages",
            "load.stages",
        ),
        (
            BASE.into(),
            vec!["--token-file", token_missing],
            vec![],
            "flag --token-file",
            "target.auth.token_file",
        ),
        (
            BASE.into(),
            vec!["--slo", "echo:p95=fast"],
            vec![],
            "flag --slo",
            "slo[0].p95",
        ),
        (
            BASE.into(),
            vec!["--slo", "nope:p95=1s"],
            vec![],
            "flag --slo",
            "slo[0].tool",
        ),
        (
            BASE.into(),
            vec!["--metrics-listen", "here"],
            vec![],
            "flag --metrics-listen",
            "output.metrics_listen",
        ),
        (
            BASE.into(),
            vec!["--session-strategy", "churn:0"],
            vec![],
            "flag --session-strategy",
            "target.session_strategy",
        ),
        (
            BASE.into(),
            vec!["--protocol", "2024-01-01"],
            vec![],
            "flag --protocol",
            "target.protocol",
        ),
        (
            BASE.into(),
            vec!["--scenario", "huge"],
            vec![],
            "flag --scenario",
            "load.scenario",
        ),
        (
            BASE.into(),
            vec!["--instance-share", "3/3"],
            vec![],
            "flag --instance-share",
            "load.instance_share",
        ),
        (
            BASE.into(),
            vec!["--mix", "echo=lots"],
            vec![],
            "flag --mix",
            "mix",
        ),
        (
            BASE.into(),
            vec!["--max-connections", "0"],
            vec![],
            "flag --max-connections",
            "target.max_connections",
        ),
        (
            BASE.into(),
            vec!["--auth", "bearer"],
            vec![],
            "flag --auth",
            "target.auth.token",
        ),
        (
            BASE.replace("len = 5", "len = -5"),
            vec![],
            vec![],
            &fpath,
            "mix[0].args.message.len",
        ),
        (
            BASE.replace("[load]", "[load]\nusers = 3"),
            vec![],
            vec![],
            &fpath,
            "load.users",
        ),
        (
            BASE.replace("[[mix]]\nmethod = \"tools/list\"", "[[slo]]\np95 = 150"),
            vec![],
            vec![],
            &fpath,
            "slo",
        ),
    ];
    for (text, flags, envs, origin, key) in cases {
        let f = file(".toml", &text);
        let fpath_now = format!("file {}", f.path().display());
        let err = load(&f, &flags, &envs).expect_err(&format!("{flags:?} {envs:?} should fail"));
        let want_origin = if origin.starts_with("file ") {
            fpath_now.as_str()
        } else {
            origin
        };
        assert_eq!(err.origin, want_origin, "{err}");
        assert!(
            err.key.starts_with(key),
            "key {:?} does not start with {key:?}: {err}",
            err.key
        );
        let shown = err.to_string();
        assert!(
            shown.contains(want_origin) && shown.contains(&err.key),
            "{shown}"
        );
    }
}

#[test]
fn yaml_and_token_file() {
    let dir = tempfile::tempdir().expect("dir");
    let tok = dir.path().join("token");
    std::fs::write(&tok, "s3cret\n").expect("write token");
    let y = file(
        ".yaml",
        &format!(
            "target:\n  url: http://127.0.0.1:9/mcp\n  auth:\n    kind: bearer\n    token_file: {}\nload:\n  stages: \"5:10s,10:10s@5s\"\nmix:\n  - tool: echo\n    args: auto\n",
            tok.display()
        ),
    );
    let p = load(&y, &[], &[]).expect("yaml loads");
    assert!(matches!(&p.client.auth, Auth::Bearer(t) if t.expose() == "s3cret"));
    assert!(
        !format!("{:?}", p.client).contains("s3cret"),
        "secret leaked in Debug"
    );
    assert!(p.mix.ops[0].args.is_auto());
    assert_eq!(p.stages().len(), 2);
}

#[test]
fn shipped_configs_load() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("toml" | "yaml" | "yml")
        ) {
            continue;
        }
        let a = args(&["-c", path.to_str().expect("utf-8 path")]);
        let p = load_with_env(&a, &HashMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!p.mix.ops.is_empty());
        n += 1;
    }
    assert!(n >= 4, "expected the four shipped configs, found {n}");
}

#[test]
fn starter_config_loads() {
    let tool = |name: &str, destructive| ToolInfo {
        name: name.into(),
        description: Some("Does things.\nMore.".into()),
        input_schema: serde_json::json!({"type": "object"}),
        destructive,
        annotations: None,
    };
    let text = starter_config(
        "http://127.0.0.1:9/mcp",
        &[tool("echo", false), tool("drop-db", true)],
    );
    assert!(text.contains("# tool = \"drop-db\""), "{text}");
    let f = file(".toml", &text);
    let p = load(&f, &[], &[]).expect("starter loads");
    let names: Vec<&str> = p.mix.ops.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["echo", "tools/list"]);
}

#[test]
fn instance_share_splits_rates_and_counts_exactly() {
    let plan = |i: u32| {
        let share = format!("{i}/3");
        let a = args(&[
            "--url",
            "http://127.0.0.1:1/mcp",
            "--mix",
            "echo=1",
            "--rate",
            "90",
            "--duration",
            "1s",
            "--max-calls",
            "10",
            "--instance-share",
            &share,
        ]);
        load_with_env(&a, &HashMap::new()).expect("valid")
    };
    let mut total = 0;
    for i in 0..3 {
        match plan(i).load {
            Load::Open { stages, max_calls } => {
                assert_eq!(stages[0].rate, 30.0);
                total += max_calls.expect("max_calls");
            }
            other => panic!("open model expected, got {other:?}"),
        }
    }
    assert_eq!(
        total, 10,
        "the instances' counts add up to the configured one"
    );
}

#[test]
fn run_identity_from_file_env_and_flags() {
    let text = format!(
        "{BASE}\n[run]\nid = \"soak-42\"\nlabels = {{ test = \"checkout\", env = \"staging\" }}\n"
    );
    let f = file(".toml", &text);
    let p = load(&f, &[], &[]).expect("valid");
    assert_eq!(p.identity.run_id, "soak-42");
    assert_eq!(
        p.identity.labels.get("test").map(String::as_str),
        Some("checkout")
    );
    assert_eq!(
        p.identity.labels.get("env").map(String::as_str),
        Some("staging")
    );

    // Shards of one load get the same id from the environment or a flag; --label adds or overrides.
    let p = load(&f, &[], &[("MCP_SOAK__RUN__ID", "shared")]).expect("valid");
    assert_eq!(p.identity.run_id, "shared");
    let p = load(
        &f,
        &[
            "--run-id",
            "flagged",
            "--label",
            "env=prod",
            "--label",
            "target=payments",
        ],
        &[],
    )
    .expect("valid");
    assert_eq!(p.identity.run_id, "flagged");
    assert_eq!(
        p.identity.labels.get("env").map(String::as_str),
        Some("prod")
    );
    assert_eq!(
        p.identity.labels.get("target").map(String::as_str),
        Some("payments")
    );
    assert_eq!(
        p.identity.labels.get("test").map(String::as_str),
        Some("checkout")
    );

    // Names are checked and the error names the key and where it came from.
    for (flags, key) in [
        (vec!["--label", "tool=x"], "run.labels.tool"),
        (vec!["--label", "bad-name=x"], "run.labels.bad-name"),
        (vec!["--label", "env="], "run.labels.env"),
        (vec!["--label", "novalue"], "run.labels"),
    ] {
        let e = load(&f, &flags, &[]).expect_err("rejected");
        assert_eq!(e.key, key, "{flags:?}: {e}");
        assert_eq!(e.origin, "flag --label", "{flags:?}: {e}");
    }
    let e = load(&f, &["--run-id", " "], &[]).expect_err("empty id rejected");
    assert_eq!(
        (e.key.as_str(), e.origin.as_str()),
        ("run.id", "flag --run-id")
    );

    // Without an id every run gets its own.
    let g = file(".toml", BASE);
    let a = load(&g, &[], &[]).expect("valid");
    let b = load(&g, &[], &[]).expect("valid");
    assert_ne!(a.identity.run_id, b.identity.run_id);
    assert!(!a.identity.run_id.is_empty());
}

#[test]
fn checkpoint_every_from_file_env_and_flag() {
    use mcp_soak::plan::Checkpoints;
    let f = file(".toml", BASE);
    let p = load(&f, &[], &[]).expect("default");
    assert_eq!(p.output.checkpoints, Checkpoints::Auto);
    let p = load(&f, &["--checkpoint-every", "30s"], &[]).expect("flag");
    assert_eq!(
        p.output.checkpoints,
        Checkpoints::Every(Duration::from_secs(30))
    );
    let p = load(&f, &[], &[("MCP_SOAK__OUTPUT__CHECKPOINT_EVERY", "off")]).expect("env");
    assert_eq!(p.output.checkpoints, Checkpoints::Off);
    for bad in ["0s", "soon"] {
        let e = load(&f, &["--checkpoint-every", bad], &[]).expect_err(bad);
        assert!(
            e.to_string().contains("output.checkpoint_every"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn a_reload_refuses_what_cannot_change_live_and_names_it() {
    use mcp_soak::commands::reload::not_live;
    let f = file(".toml", BASE);
    let running = load(&f, &[], &[]).expect("running plan");
    let args = mcp_soak::commands::reload::args_of(&running);
    let cases: [(&[&str], &[&str]); 13] = [
        (&["--slo", "p95=10s"], &[]),
        // The rate of a one-stage load and the weights apply live (as a re-rate, a reweigh).
        (&["--rate", "20"], &[]),
        (&["--mix", "echo=1,tools/list=1"], &[]),
        (&["--url", "http://127.0.0.1:10/mcp"], &["target.url"]),
        (&["--header", "X-A: b"], &["target.headers"]),
        (&["--duration", "2m"], &["load.duration"]),
        // A stage appended after the last one applies live (as `ctl append`); a new ramp does not.
        (&["--stages", "10:1m,20:1m"], &[]),
        (
            &["--stages", "10:1m@5s"],
            &[
                "load.stages (only the rate of the stage running now, and stages appended after the last, change live)",
            ],
        ),
        (
            &["--mix", "echo=1"],
            &["mix (operations added, removed, renamed or reordered)"],
        ),
        (&["--slo-window", "1m"], &["limits.slo_window"]),
        (&["--label", "env=ci"], &["run.labels"]),
        (&["--max-in-flight", "7"], &["limits"]),
        (&["--progress-interval", "9s"], &["output"]),
    ];
    for (flags, refused) in cases {
        let new = load(&f, flags, &[]).expect("valid change");
        assert_eq!(
            not_live(&running, &new, Some(&args), Some(0)),
            refused,
            "{flags:?}"
        );
    }
    // Tool arguments cannot change on a live run.
    let other_args = file(".toml", &BASE.replace("len = 5", "len = 6"));
    let new = load(&other_args, &[], &[]).expect("valid change");
    assert_eq!(
        not_live(&running, &new, Some(&args), Some(0)),
        ["mix.args (tool arguments)"]
    );
}

#[test]
fn metrics_url_flag_sets_and_clears_the_resource_source() {
    use mcp_soak::plan::ResourceSource;
    let with_url = BASE.replace(
        "url = \"http://127.0.0.1:9/mcp\"",
        "url = \"http://127.0.0.1:9/mcp\"\nmetrics_url = \"http://127.0.0.1:9/metrics\"",
    );
    let f = file(".toml", &with_url);
    let p = load(&f, &[], &[]).expect("loads");
    assert!(
        matches!(p.resources.source, Some(ResourceSource::Metrics(ref u)) if u.ends_with("/metrics"))
    );
    // `none` turns off what a lower layer set (compose passes the mock's URL by default).
    let p = load(&f, &["--metrics-url", "none"], &[]).expect("loads");
    assert!(p.resources.source.is_none());
    let p = load(&f, &["--metrics-url", "http://127.0.0.1:7/metrics"], &[]).expect("loads");
    assert!(
        matches!(p.resources.source, Some(ResourceSource::Metrics(ref u)) if u.contains(":7/"))
    );
    let e = load(&f, &["--metrics-url", "ftp://x"], &[]).expect_err("not http");
    assert!(e.to_string().contains("target.metrics_url"), "{e}");
    // `--pid` picks a local process instead of the file's endpoint, and the other way round.
    let p = load(&f, &["--pid", "4242"], &[]).expect("loads");
    assert!(matches!(
        p.resources.source,
        Some(ResourceSource::Pid(4242))
    ));
    let with_pid = BASE.replace(
        "url = \"http://127.0.0.1:9/mcp\"",
        "url = \"http://127.0.0.1:9/mcp\"\npid = 4242",
    );
    let g = file(".toml", &with_pid);
    let p = load(&g, &["--metrics-url", "http://127.0.0.1:7/metrics"], &[]).expect("loads");
    assert!(matches!(
        p.resources.source,
        Some(ResourceSource::Metrics(_))
    ));
    let e = load(&f, &["--pid", "0"], &[]).expect_err("no pid 0");
    assert!(e.to_string().contains("target.pid"), "{e}");
}

#[test]
fn session_profiles_parse_and_bad_ones_name_the_field() {
    use mcp_soak::mcp::SessionStrategy;
    use std::time::Duration;
    let f = file(".toml", BASE);
    let strategy = |flags: &[&str]| load(&f, flags, &[]).map(|p| p.client.session_strategy);
    assert_eq!(
        strategy(&["--session-strategy", "idle:5m", "--sessions", "8"]).expect("idle"),
        SessionStrategy::Idle {
            after: Duration::from_secs(300),
            share_pct: 25
        }
    );
    assert_eq!(
        strategy(&["--session-strategy", "idle:90s:50%", "--sessions", "4"]).expect("idle share"),
        SessionStrategy::Idle {
            after: Duration::from_secs(90),
            share_pct: 50
        }
    );
    assert_eq!(
        strategy(&["--session-strategy", "stale"]).expect("stale"),
        SessionStrategy::Stale
    );
    // Display writes what parses back.
    let shown = SessionStrategy::Idle {
        after: Duration::from_secs(90),
        share_pct: 50,
    }
    .to_string();
    assert_eq!(
        strategy(&["--session-strategy", &shown, "--sessions", "4"]).expect("round trip"),
        SessionStrategy::Idle {
            after: Duration::from_secs(90),
            share_pct: 50
        }
    );
    for (bad, says) in [
        ("idle:", "idle:DURATION"),
        ("idle:0s", "idle:DURATION"),
        ("idle:5m:0%", "share"),
        ("idle:5m:25", "share"),
        ("idle:5m:150%", "share"),
        ("stale:3", "expected pooled"),
    ] {
        let e = strategy(&["--session-strategy", bad, "--sessions", "4"]).expect_err(bad);
        let e = e.to_string();
        assert!(
            e.contains("target.session_strategy") && e.contains(says),
            "{bad}: {e}"
        );
    }
    let e = strategy(&["--session-strategy", "idle:5m", "--sessions", "1"]).expect_err("pool of 1");
    assert!(e.to_string().contains("at least 2"), "{e}");
}
