//! Startup checks: everything that can be found wrong before a single call is sent, run by `run` (and
//! `demo`) before connecting and by `validate` without sending anything — one function for both, so a
//! config that `validate` calls OK does not fail at the start of a run, nor hours into it.
//!
//! Checked: the target URL names a host, the `/metrics` listen address is free (the bound socket is handed to the run, so nothing
//! can take it in between), the TLS material and headers build an HTTP client (a missing or invalid
//! `--ca-file`), and the `--summary`, `--html`, `--junit`, `--markdown` and `--raw` folders are writable. Token files are read while the
//! config is lowered. Every failure is a configuration error (exit 2) whose message says the fix.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::mcp::transport;
use crate::plan::Plan;
use crate::report::write::expand_timestamp;

/// A startup check that failed; each message names the setting and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The `/metrics` address cannot be bound.
    #[error(
        "`output.metrics_listen` (--metrics-listen): cannot listen on {addr}: {error}; \
         another process (often another mcp-soak) holds it: pick a free port \
         (--metrics-listen 127.0.0.1:9465), port 0 for any free one, or none"
    )]
    Listen {
        /// The address asked for (`--metrics-listen`).
        addr: SocketAddr,
        /// The bind error.
        error: std::io::Error,
    },
    /// The HTTP client cannot be built from the TLS or header settings (the reason).
    #[error("`target` TLS or headers (--ca-file, --header): {0}")]
    Client(String),
    /// `target.url` is not a usable URL (the reason).
    #[error("`target.url` (--url): {0}")]
    Url(String),
    /// A report file's directory is not writable.
    #[error("`{key}` ({flag}): cannot write {path}: {problem}")]
    Output {
        /// The config key, e.g. `output.summary`.
        key: &'static str,
        /// The flag, e.g. `--summary`.
        flag: &'static str,
        /// The path, `{timestamp}` expanded.
        path: PathBuf,
        /// What went wrong writing there.
        problem: String,
    },
}

/// What the checks hold on to for the run: the bound `/metrics` socket, if any.
#[derive(Debug)]
pub struct Checked {
    /// The `/metrics` socket bound by the check, handed to the run (None with `metrics_listen = "none"`).
    pub metrics_listener: Option<TcpListener>,
}

/// Runs every startup check on `plan`. Sends nothing; creates nothing but a probe file it removes.
pub fn startup(plan: &Plan) -> Result<Checked, CheckError> {
    let c = &plan.client;
    // A stdio target has no URL (it names a command, checked when it starts).
    if c.stdio.is_none() {
        target_url(&c.url).map_err(CheckError::Url)?;
    }
    // Building the client reads the CA file (`tls::load_ca`): a missing, empty or foreign one fails here.
    transport::client_for(c).map_err(CheckError::Client)?;
    transport::extra_headers(&c.headers).map_err(CheckError::Client)?;
    if let Some(path) = &plan.output.summary {
        // The summary's missing folders are created when it is written: the nearest existing one
        // must take a file.
        output_writable(path, true)
            .map_err(|problem| output_error("output.summary", "--summary", path, problem))?;
    }
    let o = &plan.output;
    let reports = [
        (&o.html, "output.html", "--html"),
        (&o.junit, "output.junit", "--junit"),
        (&o.markdown, "output.markdown", "--markdown"),
    ];
    for (path, key, flag) in reports {
        if let Some(path) = path {
            // Written like the summary: missing folders are created at the end.
            output_writable(path, true)
                .map_err(|problem| output_error(key, flag, path, problem))?;
        }
    }
    if let Some(path) = &plan.output.raw {
        output_writable(path, false)
            .map_err(|problem| output_error("output.raw", "--raw", path, problem))?;
    }
    let metrics_listener = match plan.output.metrics_listen {
        Some(addr) => Some(listen(addr)?),
        None => None,
    };
    Ok(Checked { metrics_listener })
}

/// The target URL must parse and name a host (`http://:8080/mcp` would fail every call as `connect`).
fn target_url(url: &str) -> Result<(), String> {
    let safe = crate::secret::strip_credentials(url);
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{safe} is not a URL: {e}"))?;
    match parsed.host_str() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(format!(
            "{safe} names no host (e.g. http://127.0.0.1:8080/mcp)"
        )),
    }
}

fn output_error(key: &'static str, flag: &'static str, path: &Path, problem: String) -> CheckError {
    CheckError::Output {
        key,
        flag,
        path: path.to_owned(),
        problem,
    }
}

/// Binds `addr` now, non-blocking, ready to be handed to the async `/metrics` server.
fn listen(addr: SocketAddr) -> Result<TcpListener, CheckError> {
    let bound = TcpListener::bind(addr).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    });
    bound.map_err(|error| CheckError::Listen { addr, error })
}

/// Can a file be created at `path` (`{timestamp}` expanded)? With `create_folders`, missing folders
/// will be created by the writer, so the nearest existing ancestor is probed instead.
fn output_writable(path: &Path, create_folders: bool) -> Result<(), String> {
    let path = expand_timestamp(path, SystemTime::now());
    if path.is_dir() {
        return Err("it is a folder: give a file name inside it".into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut dir = parent.clone();
    if create_folders {
        while !dir.exists() {
            match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => dir = p.to_owned(),
                _ => {
                    dir = PathBuf::from(".");
                    break;
                }
            }
        }
    }
    if !dir.exists() {
        return Err(format!(
            "folder {} does not exist: create it (mkdir -p {})",
            dir.display(),
            dir.display()
        ));
    }
    if !dir.is_dir() {
        return Err(format!(
            "{} is a file, not a folder: choose another path",
            dir.display()
        ));
    }
    probe(&dir).map_err(|e| {
        let why = if e.kind() == ErrorKind::PermissionDenied {
            " (in the compose stack the tester runs as uid 10001: `sudo chown 10001 ./results` \
             or run it with `user:` set to your uid)"
        } else {
            ""
        };
        format!(
            "folder {} is not writable ({e}): make it writable for this user or choose another \
             path{why}",
            dir.display()
        )
    })
}

/// Creates and removes a hidden probe file in `dir`.
fn probe(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".mcp-soak-write-check.{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .or_else(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                std::fs::File::create(&probe)
            } else {
                Err(e)
            }
        })?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let args = crate::config::RunArgs {
            mix: Some("echo=1".into()),
            ..Default::default()
        };
        let mut p = crate::config::load_with_env(&args, &std::collections::HashMap::new())
            .expect("defaults load");
        p.output.metrics_listen = None;
        p
    }

    #[test]
    fn defaults_pass() {
        assert!(startup(&plan()).is_ok());
    }

    #[test]
    fn a_busy_listen_address_is_refused_naming_the_fix() {
        let held = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut p = plan();
        p.output.metrics_listen = Some(held.local_addr().expect("addr"));
        let e = startup(&p).expect_err("busy port").to_string();
        assert!(
            e.contains("metrics_listen") && e.contains("pick a free port"),
            "{e}"
        );
        // The checks keep the socket for the run.
        p.output.metrics_listen = Some("127.0.0.1:0".parse().expect("addr"));
        let checked = startup(&p).expect("free port");
        assert!(checked.metrics_listener.is_some());
    }

    #[test]
    fn a_url_without_a_host_is_refused() {
        let mut p = plan();
        for url in ["http://", "http://:8080/mcp"] {
            p.client.url = url.into();
            let e = startup(&p).expect_err("no host").to_string();
            assert!(e.contains("target.url") && e.contains(url), "{e}");
        }
    }

    #[test]
    fn a_missing_ca_file_is_a_configuration_error() {
        let mut p = plan();
        p.client.ca_file = Some("/nonexistent/ca.pem".into());
        let e = startup(&p).expect_err("missing CA").to_string();
        assert!(
            e.contains("--ca-file") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("ca.pem");
        std::fs::write(&bad, "not a certificate").expect("write");
        p.client.ca_file = Some(bad);
        assert!(startup(&p).is_err(), "an invalid CA file is refused");
    }

    #[test]
    fn output_folders_must_take_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").expect("write");
        let mut p = plan();
        // Missing folders under a writable one are fine for the summary (created at the end).
        p.output.summary = Some(dir.path().join("new/deeper/{timestamp}.json"));
        assert!(startup(&p).is_ok());
        // A parent that is a file cannot take it (true even for root, unlike permissions).
        p.output.summary = Some(file.join("s.json"));
        let e = startup(&p).expect_err("parent is a file").to_string();
        assert!(
            e.contains("output.summary") && e.contains("--summary"),
            "{e}"
        );
        p.output.summary = Some(dir.path().to_owned());
        let e = startup(&p).expect_err("a folder").to_string();
        assert!(e.contains("give a file name"), "{e}");
        p.output.summary = None;
        // The report files are checked like the summary.
        p.output.html = Some(file.join("r.html"));
        let e = startup(&p).expect_err("html parent is a file").to_string();
        assert!(e.contains("output.html") && e.contains("--html"), "{e}");
        p.output.html = None;
        // The raw stream is opened as is: its folder must exist.
        p.output.raw = Some(dir.path().join("missing/raw.jsonl"));
        let e = startup(&p).expect_err("missing raw folder").to_string();
        assert!(e.contains("--raw") && e.contains("mkdir -p"), "{e}");
        p.output.raw = Some(dir.path().join("raw.jsonl"));
        assert!(startup(&p).is_ok());
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            1,
            "no probe file left behind"
        );
    }
}
