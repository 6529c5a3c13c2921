//! The stdio target in the config: `target.command` as a line or a list, `env`, `cwd`,
//! `processes`, the `--stdio` and `--processes` flags, and the errors that name the key.

use std::collections::HashMap;
use std::io::Write;

use clap::Parser;
use mcp_soak::config::{ConfigError, RunArgs, load_with_env};
use mcp_soak::plan::Plan;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

const LOAD: &str = "[load]\nrate = 10\nduration = \"1m\"\n[[mix]]\ntool = \"echo\"\n";

/// Loads `target` (a TOML `[target]` body) plus a fixed load, then `flags` on top.
fn plan(target: &str, flags: &[&str]) -> Result<Plan, ConfigError> {
    let mut f = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    write!(f, "[target]\n{target}\n{LOAD}").expect("write");
    let path = f.path().display().to_string();
    let mut argv = vec!["mcp-soak", "-c", path.as_str()];
    argv.extend_from_slice(flags);
    let args = Cli::try_parse_from(argv).expect("flags parse").run;
    load_with_env(&args, &HashMap::new())
}

#[test]
fn command_line_and_list_lower_to_the_same_target() {
    let a = plan(
        r#"command = "node 'my server.js' stdio"
processes = 4
cwd = "/tmp"
env = { API_KEY = "k", LOG = "debug" }"#,
        &[],
    )
    .expect("loads");
    let t = a.client.stdio.as_ref().expect("stdio target");
    assert_eq!(t.command, ["node", "my server.js", "stdio"]);
    assert_eq!(t.processes, 4);
    assert_eq!(t.cwd.as_deref(), Some(std::path::Path::new("/tmp")));
    let env: Vec<(&str, &str)> = t
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    assert_eq!(env, [("API_KEY", "k"), ("LOG", "debug")]);
    let shown = format!("{:?}", a.client);
    assert!(
        shown.contains("API_KEY") && !shown.contains("\"debug\""),
        "env values are secrets: {shown}"
    );
    assert_eq!(a.client.url, "stdio:node 'my server.js' stdio");

    let b = plan(r#"command = ["node", "my server.js", "stdio"]"#, &[]).expect("loads");
    let t = b.client.stdio.as_ref().expect("stdio target");
    assert_eq!(t.command, ["node", "my server.js", "stdio"]);
    assert_eq!(t.processes, 1, "one process by default");
}

#[test]
fn flags_pick_the_kind_of_target() {
    // --stdio over a file URL: the URL goes.
    let p = plan(
        r#"url = "http://127.0.0.1:9/mcp""#,
        &["--stdio", "srv --x", "--processes", "3"],
    )
    .expect("loads");
    let t = p.client.stdio.as_ref().expect("stdio");
    assert_eq!(
        (t.command.as_slice(), t.processes),
        (&["srv".to_string(), "--x".to_string()][..], 3)
    );
    // --url over a file command: the command goes.
    let p = plan(r#"command = "srv""#, &["--url", "http://127.0.0.1:9/mcp"]).expect("loads");
    assert!(p.client.stdio.is_none());
    assert_eq!(p.client.url, "http://127.0.0.1:9/mcp");
}

#[test]
fn errors_name_the_key() {
    let cases: &[(&str, &[&str], &str, &str)] = &[
        (
            "url = \"http://127.0.0.1:9/mcp\"\ncommand = \"srv\"",
            &[],
            "target.command",
            "not both",
        ),
        (
            r#"command = "srv 'unterminated""#,
            &[],
            "target.command",
            "unbalanced",
        ),
        (r#"command = []"#, &[], "target.command", "empty"),
        (
            r#"command = "srv"
processes = 0"#,
            &[],
            "target.processes",
            "1 to 100000",
        ),
        (
            r#"url = "http://127.0.0.1:9/mcp"
processes = 2"#,
            &[],
            "target.processes",
            "stdio target",
        ),
        (
            r#"url = "http://127.0.0.1:9/mcp"
env = { A = "b" }"#,
            &[],
            "target.env",
            "stdio target",
        ),
        (
            r#"command = "srv"
transport = "legacy-sse""#,
            &[],
            "target.transport",
            "stdio",
        ),
    ];
    for (target, flags, key, words) in cases {
        let e = plan(target, flags)
            .err()
            .unwrap_or_else(|| panic!("{target} fails"));
        assert_eq!(e.key, *key, "{target}: {e}");
        assert!(e.to_string().contains(words), "{target}: {e}");
    }
}
