//! Executable docs (issue 21): every command in a ```sh or ```bash block of README.md and docs/**/*.md
//! runs here, against the built-in mock, and must exit as the page says with the output its
//! subcommand promises. An example that stops working fails this test.
//!
//! How an example is run:
//! * one command per line (`\` continues it); full-line comments and blank lines are skipped;
//! * in one temporary directory for all pages, README.md first and then docs/ in name order (a later
//!   page may use what an earlier one made, as a newcomer reading in order would), which links the
//!   repository's `config/`, `deploy/`, `prometheus/`, `scripts/`, `schema/`, `grafana/` and
//!   `alertmanager/`, with `mcp-soak` (this build) first on `PATH`, and
//!   `cargo run --release -- ARGS` meaning `mcp-soak ARGS` (the same binary, without a second build);
//! * `127.0.0.1:8080` and `localhost:8080` become an in-process mock on a free port, and so does every
//!   config file's target (through `MCP_SOAK__TARGET__URL`); `/tmp/` becomes
//!   the temporary directory; `mcp-soak mock` listens on a free loopback port instead of its own;
//! * times are scaled: `run` and `demo` get `--max-calls 60` (300 with a config file: its warm-up and
//!   captures should not dominate) in the open model, and all of them
//!   `--metrics-listen 127.0.0.1:0 --linger 0s` in place of the page's, so nothing waits or collides
//!   on a fixed port;
//! * a server (`mcp-soak mock`, or a command ending in `&`) must still be running after 2 s, and is
//!   then stopped;
//! * the expected exit code is 0, or N when the line's comment says `exits N`;
//! * key output by subcommand: `run`/`demo` print an ASSESSMENT, `validate` "config OK", `compare`
//!   its COMPARE table, `discover` a `[[mix]]`, `schema` a JSON Schema, `mock` its listening line
//!   (unless the command redirects its output to a file).
//!
//! Conventions for writers: a line whose comment contains `example only:` is skipped, and the
//! reason after it is printed (use it for what cannot run here: your own server's URL, Docker);
//! a block opened with ```` ```yaml file=NAME ```` (or toml, json) is written to NAME in the
//! temporary directory before the page's commands run, so an example can use the file shown.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The longest one example may take.
const LIMIT: Duration = Duration::from_secs(60);

/// One command from a page.
#[derive(Debug, Clone)]
struct Example {
    /// `docs/mock.md:8`.
    place: String,
    /// The command as written (continuations joined).
    command: String,
    /// The trailing comment, if any.
    comment: String,
}

/// What a page holds: its commands and the files its blocks define.
#[derive(Debug, Default)]
struct Page {
    examples: Vec<Example>,
    files: Vec<(String, String)>,
}

/// Splits `line` into the command and its trailing `# comment` (a `#` outside quotes, after a space).
fn split_comment(line: &str) -> (String, String) {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => {
                return (line[..i].trim_end().into(), line[i + 1..].trim().into());
            }
            _ => {}
        }
        prev = c;
    }
    (line.trim_end().into(), String::new())
}

fn parse(path: &Path, text: &str) -> Page {
    let rel = path
        .strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string();
    let mut page = Page::default();
    let mut block: Option<(String, Option<String>, String)> = None;
    let mut pending: Option<Example> = None;
    for (n, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut block, fence) {
            (None, Some(info)) => {
                let mut words = info.split_whitespace();
                let lang = words.next().unwrap_or("").to_owned();
                let file = words
                    .find_map(|w| w.strip_prefix("file="))
                    .map(str::to_owned);
                block = Some((lang, file, String::new()));
            }
            (Some((_, file, body)), Some(_)) => {
                if let Some(name) = file.take() {
                    page.files.push((name, std::mem::take(body)));
                }
                block = None;
            }
            (Some((lang, file, body)), None) => {
                if file.is_some() {
                    body.push_str(line);
                    body.push('\n');
                }
                if lang != "sh" && lang != "bash" {
                    continue;
                }
                let (cmd, comment) = split_comment(line);
                let (cmd, continues) = match cmd.strip_suffix('\\') {
                    Some(c) => (c.trim_end().to_owned(), true),
                    None => (cmd, false),
                };
                let ex = match pending.take() {
                    Some(mut ex) => {
                        ex.command.push(' ');
                        ex.command.push_str(cmd.trim());
                        if !comment.is_empty() {
                            ex.comment = format!("{} {comment}", ex.comment).trim().into();
                        }
                        ex
                    }
                    None if cmd.trim().is_empty() => continue,
                    None => Example {
                        place: format!("{rel}:{}", n + 1),
                        command: cmd.trim().to_owned(),
                        comment,
                    },
                };
                if continues {
                    pending = Some(ex);
                } else {
                    page.examples.push(ex);
                }
            }
            (None, None) => {}
        }
    }
    page
}

/// README.md and every page under docs/, in a stable order.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    let mut out = vec![Path::new(ROOT).join("README.md")];
    walk(&Path::new(ROOT).join("docs"), &mut out);
    out
}

/// The expected exit code: `exits N` in the comment, else 0.
fn expected_code(comment: &str) -> i32 {
    comment
        .split("exits ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The mcp-soak subcommand of a command line, if it is one.
fn subcommand(command: &str) -> Option<String> {
    let mut words = command.split_whitespace().skip_while(|w| w.contains('='));
    match words.next()? {
        "mcp-soak" => words.find(|w| !w.starts_with('-')).map(str::to_owned),
        _ => None,
    }
}

/// The command as it runs here (see the module doc).
fn rewrite(ex: &Example, mock: &str, tmp: &Path) -> String {
    let mut c = ex.command.replace("cargo run --release --", "mcp-soak");
    for fixed in ["127.0.0.1:8080", "localhost:8080"] {
        c = c.replace(fixed, mock);
    }
    c = c.replace("/tmp/", &format!("{}/", tmp.display()));
    let mut background = c.ends_with('&');
    let mut c = c.trim_end_matches('&').trim_end().to_owned();
    match subcommand(&c).as_deref() {
        Some("run" | "demo") => {
            let closed = [
                "--scenario",
                "--users",
                "--quick",
                "--total",
                "--concurrent",
            ]
            .iter()
            .any(|f| c.contains(f));
            if !closed && !c.contains("--max-calls") {
                // A config file's warm-up (captures filling, the first stage) gets more calls, so its
                // error-ratio SLO judges the run as the page means it, not its first second.
                let calls = if c.contains(" -c ") { 300 } else { 60 };
                c.push_str(&format!(" --max-calls {calls}"));
            }
            for fixed in ["--metrics-listen", "--linger"] {
                c = without_option(&c, fixed);
            }
            c.push_str(" --metrics-listen 127.0.0.1:0 --linger 0s");
        }
        Some("mock") => {
            // Its own free loopback port, whatever the page binds.
            c = without_option(&c, "--listen") + " --listen 127.0.0.1:0";
            // A server: it never ends on its own.
            background = true;
        }
        _ => {}
    }
    if background { c + " &" } else { c }
}

/// `command` without `option` and its value (untouched when the option is absent; words are split
/// on whitespace, so only for commands whose quoted values hold no spaces).
fn without_option(command: &str, option: &str) -> String {
    if !command.split_whitespace().any(|w| w == option) {
        return command.to_owned();
    }
    let mut out = Vec::new();
    let mut words = command.split_whitespace();
    while let Some(w) = words.next() {
        if w == option {
            words.next();
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}

/// What a subcommand's output must contain.
fn key_output(sub: &str) -> Option<&'static str> {
    match sub {
        "run" | "demo" => Some("ASSESSMENT"),
        "validate" => Some("config OK"),
        "compare" => Some("COMPARE"),
        "discover" => Some("[[mix]]"),
        "schema" => Some("$schema"),
        "mock" => Some("listening"),
        _ => None,
    }
}

fn sandbox(tmp: &Path) -> PathBuf {
    for d in [
        "config",
        "deploy",
        "prometheus",
        "scripts",
        "schema",
        "grafana",
        "alertmanager",
    ] {
        std::os::unix::fs::symlink(Path::new(ROOT).join(d), tmp.join(d)).expect("link");
    }
    let bin = tmp.join(".bin");
    std::fs::create_dir(&bin).expect("bin dir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mcp-soak"), bin.join("mcp-soak"))
        .expect("link mcp-soak");
    bin
}

/// Runs one (rewritten) command; Err says what was wrong.
fn run_one(command: &str, expect: i32, dir: &Path, path: &str, mock: &str) -> Result<(), String> {
    let background = command.ends_with('&');
    let command = command.trim_end_matches('&').trim_end();
    let out = dir.join(".out");
    let err = dir.join(".err");
    // A server is exec'd, so stopping the shell stops the server.
    let script = if background {
        format!("exec {command}")
    } else {
        command.to_owned()
    };
    let mut child = Command::new("bash")
        .args(["-o", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        // Configs name their own target (often 127.0.0.1:8080): the environment layer points them
        // at the mock; a `--url` on the command line still wins.
        .env("MCP_SOAK__TARGET__URL", format!("http://{mock}/mcp"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        // Its own process group: whatever the example starts is stopped with it.
        .process_group(0)
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(&err).expect("err"))
        .spawn()
        .map_err(|e| format!("cannot start bash: {e}"))?;
    let started = Instant::now();
    let limit = if background {
        Duration::from_secs(2)
    } else {
        LIMIT
    };
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(st);
        }
        if started.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut text = String::new();
    for f in [&out, &err] {
        let _ = std::fs::File::open(f).and_then(|mut f| f.read_to_string(&mut text));
    }
    let tail = |t: &str| {
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    match (background, status) {
        (true, None) => {}
        (true, Some(st)) => return Err(format!("server ended ({st}):\n{}", tail(&text))),
        (false, None) => return Err(format!("still running after {LIMIT:?}:\n{}", tail(&text))),
        (false, Some(st)) if st.code() != Some(expect) => {
            return Err(format!(
                "exit {:?}, the page says {expect}:\n{}",
                st.code(),
                tail(&text)
            ));
        }
        (false, Some(_)) => {}
    }
    // Output sent to a file is the file's business (the next example reads it).
    if let Some(key) = subcommand(command).as_deref().and_then(key_output)
        && !command.contains('>')
        && !text.contains(key)
    {
        return Err(format!("no {key:?} in the output:\n{}", tail(&text)));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_example_in_the_docs_works() {
    let mock = support::mock(mcp_soak::mock::MockConfig::default()).await;
    let mock_addr = mock
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_owned();

    // One directory for every page, read in order (README first): a newcomer follows the README,
    // then the docs, and a later page may use what an earlier one made (the README's soak.toml).
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = sandbox(tmp.path());
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for page_path in pages() {
        let text = std::fs::read_to_string(&page_path).expect("read page");
        let page = parse(&page_path, &text);
        if page.examples.is_empty() {
            continue;
        }
        for (name, body) in &page.files {
            std::fs::write(tmp.path().join(name), body).expect("write page file");
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        for ex in &page.examples {
            if let Some(reason) = ex.comment.split("example only:").nth(1) {
                let reason = reason.trim().trim_end_matches(')');
                report.push(format!("SKIP {}  {}  ({reason})", ex.place, ex.command));
                continue;
            }
            let command = rewrite(ex, &mock_addr, tmp.path());
            let expect = expected_code(&ex.comment);
            let dir = tmp.path().to_owned();
            let (cmd, p, m) = (command.clone(), path.clone(), mock_addr.clone());
            let result = tokio::task::spawn_blocking(move || run_one(&cmd, expect, &dir, &p, &m))
                .await
                .expect("join");
            ran += 1;
            match result {
                Ok(()) => report.push(format!("PASS {}  {}", ex.place, ex.command)),
                Err(why) => {
                    report.push(format!("FAIL {}  {}", ex.place, ex.command));
                    failures.push(format!(
                        "{}: {}\n  ran: {command}\n{why}",
                        ex.place, ex.command
                    ));
                }
            }
        }
    }
    mock.shutdown().await;
    println!("{}", report.join("\n"));
    assert!(
        ran >= 5,
        "too few examples found ({ran}):\n{}",
        report.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} example(s) fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_parser_joins_continuations_and_reads_markers() {
    let page = parse(
        Path::new("x.md"),
        "text\n```sh\n# a comment\nmcp-soak run --url http://127.0.0.1:8080/mcp \\\n  --rate 5   # exits 1\n\
         mcp-soak run --url https://x.internal/mcp  # example only: your server\n```\n\
         ```yaml file=m.yaml\nseed: 1\n```\n```toml\n[target]\n```\n",
    );
    assert_eq!(page.examples.len(), 2, "{page:?}");
    let first = &page.examples[0];
    assert_eq!(first.place, "x.md:4");
    assert_eq!(
        first.command,
        "mcp-soak run --url http://127.0.0.1:8080/mcp --rate 5"
    );
    assert_eq!(expected_code(&first.comment), 1);
    assert!(
        page.examples[1]
            .comment
            .contains("example only: your server")
    );
    assert_eq!(
        page.files,
        vec![("m.yaml".to_owned(), "seed: 1\n".to_owned())]
    );
    let tmp = Path::new("/t");
    let run = rewrite(first, "127.0.0.1:5", tmp);
    assert_eq!(
        run,
        "mcp-soak run --url http://127.0.0.1:5/mcp --rate 5 --max-calls 60 \
         --metrics-listen 127.0.0.1:0 --linger 0s"
    );
    let mock = Example {
        place: String::new(),
        command: "mcp-soak mock --listen 0.0.0.0:8080 --seed 1 &".into(),
        comment: String::new(),
    };
    assert_eq!(
        rewrite(&mock, "127.0.0.1:5", tmp),
        "mcp-soak mock --seed 1 --listen 127.0.0.1:0 &"
    );
    assert_eq!(
        split_comment("echo '# not' # yes"),
        ("echo '# not'".into(), "yes".into())
    );
}

/// Every key a page shows in a TOML config block is a real key: the blocks of README.md and
/// docs/configuration.md deserialize into the file schema, which refuses unknown keys (a documented
/// setting that is not one, like `max_body_bytes` once was, fails here).
#[test]
fn every_documented_config_key_exists() {
    let mut checked = 0;
    for page in ["README.md", "docs/configuration.md"] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(page)).expect("read page");
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start().strip_prefix("```")) {
                (None, Some(info)) if info.split_whitespace().next() == Some("toml") => {
                    block = Some(String::new());
                }
                (Some(body), Some(_)) => {
                    let parsed = config::Config::builder()
                        .add_source(config::File::from_str(body, config::FileFormat::Toml))
                        .build()
                        .and_then(|c| c.try_deserialize::<mcp_soak::config::file::FileConfig>());
                    if let Err(e) = parsed {
                        panic!("{page}: a TOML block is not a valid config file: {e}\n{body}");
                    }
                    checked += 1;
                    block = None;
                }
                (Some(body), None) => {
                    body.push_str(line);
                    body.push('\n');
                }
                _ => {}
            }
        }
    }
    assert!(checked >= 2, "found {checked} TOML blocks");
}
