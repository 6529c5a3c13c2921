//! Atomic file writes (temp file in the same directory, fsync, rename) and `{timestamp}` expansion,
//! for the JSON summary and the report files written beside it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Summary;

/// Errors writing a report file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file could not be written.
    #[error("cannot write {path}: {error}")]
    Io {
        /// The file's path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The summary could not be turned into JSON.
    #[error("cannot serialize the summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// Replaces every `{timestamp}` in `path` with `at` as `YYYYMMDDTHHMMSSZ` (UTC, file-name safe).
pub fn expand_timestamp(path: &Path, at: SystemTime) -> PathBuf {
    let s = path.to_string_lossy();
    if !s.contains("{timestamp}") {
        return path.to_owned();
    }
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    PathBuf::from(s.replace("{timestamp}", &stamp))
}

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one, never a part.
/// Missing parent folders are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let io = |error| WriteError::Io {
        path: path.to_owned(),
        error,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "summary".into());
    std::fs::create_dir_all(&dir).map_err(io)?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (best effort: not every platform can open a directory).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Writes the summary as pretty JSON to `path` (with `{timestamp}` expanded from `summary.started`
/// or now) and returns the path written.
pub fn write_summary(path: &Path, summary: &Summary) -> Result<PathBuf, WriteError> {
    let at = humantime::parse_rfc3339_weak(&summary.started).unwrap_or_else(|_| SystemTime::now());
    let path = expand_timestamp(path, at);
    let mut json = serde_json::to_vec_pretty(summary)?;
    json.push(b'\n');
    write_atomic(&path, &json)?;
    Ok(path)
}

/// Report files to write from a summary (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportPaths {
    /// Self-contained HTML report (`--html`).
    pub html: Option<PathBuf>,
    /// JUnit XML of the SLO verdicts (`--junit`).
    pub junit: Option<PathBuf>,
    /// Markdown report (`--markdown`).
    pub markdown: Option<PathBuf>,
    /// Appended to, not replaced (GitHub's `$GITHUB_STEP_SUMMARY` collects every step's Markdown).
    pub step_summary: Option<PathBuf>,
}

/// Writes every asked-for report of `summary` (`{timestamp}` expanded as for the summary) and
/// returns the paths written. Stops at the first failure.
pub fn write_reports(summary: &Summary, paths: &ReportPaths) -> Result<Vec<PathBuf>, WriteError> {
    let at = humantime::parse_rfc3339_weak(&summary.started).unwrap_or_else(|_| SystemTime::now());
    let mut written = Vec::new();
    let files = [
        (&paths.html, super::html::render as fn(&Summary) -> String),
        (&paths.junit, super::junit::render),
        (&paths.markdown, super::markdown::render),
    ];
    for (path, render) in files {
        if let Some(p) = path {
            let p = expand_timestamp(p, at);
            write_atomic(&p, render(summary).as_bytes())?;
            written.push(p);
        }
    }
    if let Some(p) = &paths.step_summary {
        append(p, super::markdown::render(summary).as_bytes())?;
        written.push(p.clone());
    }
    Ok(written)
}

/// Appends `bytes` to `path` (created if missing).
pub fn append(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let io = |error| WriteError::Io {
        path: path.to_owned(),
        error,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamp_expansion() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            expand_timestamp(Path::new("out/s-{timestamp}.json"), at),
            PathBuf::from("out/s-20231114T221320Z.json")
        );
        assert_eq!(
            expand_timestamp(Path::new("plain.json"), at),
            PathBuf::from("plain.json")
        );
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.json");
        write_atomic(&p, b"old").expect("write");
        write_atomic(&p, b"new contents").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"new contents");
        let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "temp file left behind");
        write_atomic(&dir.path().join("missing/a.json"), b"x")
            .expect("missing folders are created");
        assert!(
            write_atomic(&p.join("under-a-file.json"), b"x").is_err(),
            "a parent that is a file is an error"
        );
    }
}
