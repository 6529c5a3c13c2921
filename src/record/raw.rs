//! The optional raw JSON-lines stream (`--raw`): one line per call, written by a background thread
//! through a bounded channel into a buffered file. Nothing is kept in memory.
//!
//! Back-pressure policy: the hot path never waits. When the channel is full (the disk cannot keep
//! up) the line is dropped and counted in `lost`; the summary and console report the count.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use crate::mcp::OutcomeKind;

use super::RecordError;

/// Lines buffered between the hot path and the writer thread.
pub const CHANNEL_CAPACITY: usize = 65_536;

/// One call, as handed to the writer thread (formatted there, off the hot path).
#[derive(Debug)]
pub(crate) struct RawLine {
    pub done: Instant,
    pub op: usize,
    pub stage: usize,
    pub kind: OutcomeKind,
    pub latency_us: Option<u64>,
    pub service_us: Option<u64>,
    pub status: Option<u16>,
    pub rpc_code: Option<i64>,
    pub session: Option<u32>,
    pub detail: Option<String>,
}

enum Msg {
    Line(Box<RawLine>),
    Close,
}

/// The sending side; cheap to share.
#[derive(Debug)]
pub(crate) struct RawSink {
    tx: SyncSender<Msg>,
    written: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
    path: PathBuf,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

/// One line of the raw stream (the documented format).
#[derive(serde::Serialize)]
struct Line<'a> {
    time: String,
    op: &'a str,
    stage: usize,
    outcome: &'static str,
    latency_ms: Option<f64>,
    service_ms: Option<f64>,
    status: Option<u16>,
    rpc_code: Option<i64>,
    session: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

impl RawSink {
    /// Creates (truncates) the file and starts the writer thread. `base` maps `Instant`s to wall time.
    pub(crate) fn open(
        path: &Path,
        op_names: Vec<String>,
        base: (Instant, SystemTime),
    ) -> Result<Self, RecordError> {
        let file = File::create(path).map_err(|error| RecordError::RawOpen {
            path: path.to_owned(),
            error,
        })?;
        let (tx, rx) = sync_channel::<Msg>(CHANNEL_CAPACITY);
        let written = Arc::new(AtomicU64::new(0));
        let lost = Arc::new(AtomicU64::new(0));
        let (w, l) = (written.clone(), lost.clone());
        let thread = std::thread::Builder::new()
            .name("mcp-soak-raw".into())
            .spawn(move || -> std::io::Result<()> {
                let mut out = BufWriter::with_capacity(256 * 1024, file);
                let mut buf = Vec::with_capacity(256);
                let result = (|| {
                    for msg in rx.iter() {
                        let line = match msg {
                            Msg::Line(line) => line,
                            Msg::Close => break,
                        };
                        buf.clear();
                        let wall = base.1 + line.done.saturating_duration_since(base.0);
                        let rec = Line {
                            time: humantime::format_rfc3339_micros(wall).to_string(),
                            op: op_names.get(line.op).map_or("?", String::as_str),
                            stage: line.stage,
                            outcome: line.kind.as_str(),
                            latency_ms: line.latency_us.map(|u| u as f64 / 1e3),
                            service_ms: line.service_us.map(|u| u as f64 / 1e3),
                            status: line.status,
                            rpc_code: line.rpc_code,
                            session: line.session,
                            detail: line.detail.as_deref(),
                        };
                        serde_json::to_writer(&mut buf, &rec).map_err(std::io::Error::other)?;
                        buf.push(b'\n');
                        out.write_all(&buf)?;
                        w.fetch_add(1, Ordering::Relaxed);
                    }
                    out.flush()?;
                    out.get_ref().sync_all()
                })();
                if result.is_err() {
                    // Whatever is still queued will never be written.
                    l.fetch_add(rx.try_iter().count() as u64, Ordering::Relaxed);
                }
                result
            })
            .map_err(|error| RecordError::RawOpen {
                path: path.to_owned(),
                error,
            })?;
        Ok(RawSink {
            tx,
            written,
            lost,
            thread: Mutex::new(Some(thread)),
            path: path.to_owned(),
        })
    }

    /// Queues one line without waiting; a full or closed channel counts the line as lost.
    pub(crate) fn send(&self, line: RawLine) {
        match self.tx.try_send(Msg::Line(Box::new(line))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Lines lost so far.
    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Drains the queue, flushes and fsyncs the file, and stops the writer. Idempotent.
    pub(crate) fn close(&self) -> Result<(), RecordError> {
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else { return Ok(()) };
        // Blocking send: waits for room behind the queued lines; fails only if the writer died.
        let _ = self.tx.send(Msg::Close);
        match handle.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(RecordError::RawWrite {
                path: self.path.clone(),
                error,
            }),
            Err(_) => Err(RecordError::RawWrite {
                path: self.path.clone(),
                error: std::io::Error::other("raw writer thread panicked"),
            }),
        }
    }
}
