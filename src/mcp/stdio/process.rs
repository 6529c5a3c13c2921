//! One stdio server process: spawned in its own process group (and, on Linux, with a parent-death
//! signal), three pipes, and three tasks — a writer that owns stdin, a reader that routes stdout
//! lines to the waiting calls by JSON-RPC id, and a reader that keeps the stderr tail.
//!
//! Calls register their id before writing and wait on a oneshot; a call that is abandoned (timeout,
//! cancellation) removes its entry when dropped, so the table never grows. When the process dies
//! or closes stdout the table is closed and every waiting call ends at once with the reason;
//! nothing hangs until its timeout.

use std::collections::BTreeMap;
use std::process::{ExitStatus, Stdio as Pipes};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::StdioTarget;
use super::lines::{self, Line, LineReader, Routed, StderrTail};
use crate::mcp::OutcomeKind;
use crate::mcp::jsonrpc::{self, Message};
use crate::mcp::transport::Exchange;

/// Messages queued for a server's stdin at most: a server that stops reading its input costs this
/// much memory, not a queue that grows with the run (calls past it end as `connect`).
pub const STDIN_QUEUE: usize = 1024;

/// Why a call could not get its reply from this process.
#[derive(Debug, Clone)]
pub struct Lost {
    pub kind: OutcomeKind,
    pub detail: String,
}

type Waiter = oneshot::Sender<Result<Vec<u8>, Lost>>;

/// The calls waiting for a reply, by id; closed (with the reason) once the process is gone.
#[derive(Default)]
struct Pending {
    table: Mutex<(BTreeMap<u64, Waiter>, Option<Lost>)>,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, (BTreeMap<u64, Waiter>, Option<Lost>)> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, id: u64) -> Result<oneshot::Receiver<Result<Vec<u8>, Lost>>, Lost> {
        let mut g = self.lock();
        if let Some(why) = &g.1 {
            return Err(why.clone());
        }
        let (tx, rx) = oneshot::channel();
        g.0.insert(id, tx);
        Ok(rx)
    }

    fn take(&self, id: u64) -> Option<Waiter> {
        self.lock().0.remove(&id)
    }

    /// The longest-waiting call (ids only grow).
    fn take_oldest(&self) -> Option<Waiter> {
        self.lock().0.pop_first().map(|(_, w)| w)
    }

    /// Ends every waiting call with `in_flight` and refuses new ones with `closed`.
    fn close(&self, in_flight: Lost, closed: Lost) {
        let waiters = {
            let mut g = self.lock();
            g.1.get_or_insert(closed);
            std::mem::take(&mut g.0)
        };
        for (_, w) in waiters {
            let _ = w.send(Err(in_flight.clone()));
        }
    }
}

/// Removes a call's entry when the call ends for any reason (reply, timeout, cancellation).
struct Registration<'a> {
    pending: &'a Pending,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.pending.take(self.id);
    }
}

/// Counters of stdout lines that were not replies to us.
#[derive(Debug, Default)]
pub struct Noise {
    /// Lines that were not JSON (logs on stdout).
    pub not_json: AtomicU64,
    /// Lines over the byte cap.
    pub too_long: AtomicU64,
}

/// A running server process.
pub struct Process {
    pub pid: u32,
    next_id: AtomicU64,
    tx: mpsc::Sender<Vec<u8>>,
    pending: Arc<Pending>,
    pub stderr: Arc<StderrTail>,
    pub noise: Arc<Noise>,
    /// Cancelled when stdout closes (the process is unusable from then on).
    stdout_closed: CancellationToken,
    /// Cancelled to close stdin (first step of an orderly shutdown).
    close_stdin: CancellationToken,
}

/// The process and the handle that reaps it (kept by the supervisor).
pub struct Spawned {
    pub process: Arc<Process>,
    pub child: Child,
}

impl Drop for Spawned {
    /// Dropped before it was reaped (a start cancelled by shutdown, a task dropped with the
    /// runtime): the whole group is killed, not only the leader `kill_on_drop` would get.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            super::signal::kill_now(self.process.pid);
        }
    }
}

/// How long each shutdown step waits for the process to exit on its own.
#[derive(Debug, Clone, Copy)]
pub struct Grace {
    /// After stdin is closed, before SIGTERM.
    pub stdin: Duration,
    /// After SIGTERM, before SIGKILL.
    pub term: Duration,
}

impl Default for Grace {
    fn default() -> Self {
        Grace {
            stdin: Duration::from_secs(2),
            term: Duration::from_secs(3),
        }
    }
}

/// Starts one server process.
pub fn spawn(target: &StdioTarget, max_line: usize) -> std::io::Result<Spawned> {
    let (program, args) = target
        .command
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(target.env.iter().map(|(k, v)| (k, v.expose())))
        .stdin(Pipes::piped())
        .stdout(Pipes::piped())
        .stderr(Pipes::piped())
        // The last line of defence if this handle is dropped without a shutdown.
        .kill_on_drop(true)
        // Its own group, so the whole tree (npx → sh → node) is signalled together.
        .process_group(0);
    if let Some(dir) = &target.cwd {
        cmd.current_dir(dir);
    }
    super::signal::die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout"))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| std::io::Error::other("no stderr"))?;

    let (tx, rx) = mpsc::channel(STDIN_QUEUE);
    let process = Arc::new(Process {
        pid,
        next_id: AtomicU64::new(1),
        tx: tx.clone(),
        pending: Arc::new(Pending::default()),
        stderr: Arc::new(StderrTail::default()),
        noise: Arc::new(Noise::default()),
        stdout_closed: CancellationToken::new(),
        close_stdin: CancellationToken::new(),
    });
    tokio::spawn(write_stdin(stdin, rx, process.close_stdin.clone()));
    tokio::spawn(read_stdout(
        LineReader::new(BufReader::new(stdout), max_line),
        process.clone(),
        tx,
    ));
    let tail = process.stderr.clone();
    tokio::spawn(async move {
        let mut r = LineReader::new(BufReader::new(stderr), lines::STDERR_LINE_BYTES);
        while let Ok(Some(line)) = r.next_line().await {
            match line {
                Line::Text(t) | Line::TooLong { head: t, .. } => tail.push(&t),
            }
        }
    });
    Ok(Spawned { process, child })
}

/// Owns stdin: writes queued messages, one per line, flushing when the queue is empty.
async fn write_stdin(stdin: ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>, close: CancellationToken) {
    let mut w = BufWriter::new(stdin);
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = close.cancelled() => None,
        };
        let Some(mut msg) = msg else { break };
        loop {
            msg.push(b'\n');
            if w.write_all(&msg).await.is_err() {
                return;
            }
            match rx.try_recv() {
                Ok(next) => msg = next,
                Err(_) => break,
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    // Dropping the writer closes the pipe: the server sees end of input.
    let _ = w.shutdown().await;
}

/// Routes stdout lines to the waiting calls until stdout closes.
async fn read_stdout<R: tokio::io::AsyncBufRead + Unpin>(
    mut r: LineReader<R>,
    p: Arc<Process>,
    tx: mpsc::Sender<Vec<u8>>,
) {
    while let Ok(Some(line)) = r.next_line().await {
        let text = match line {
            Line::Text(t) if t.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Text(t) => t,
            Line::TooLong { len: n, .. } => {
                p.noise.too_long.fetch_add(1, Ordering::Relaxed);
                if let Some(w) = p.pending.take_oldest() {
                    let _ = w.send(Err(Lost {
                        kind: OutcomeKind::Protocol,
                        detail: format!("stdout line of {n} bytes exceeds the byte cap"),
                    }));
                }
                continue;
            }
        };
        match lines::route(&text) {
            Routed::Reply(id) => {
                if let Some(w) = p.pending.take(id) {
                    let _ = w.send(Ok(text));
                }
            }
            Routed::OrphanError => {
                if let Some(w) = p.pending.take_oldest() {
                    let _ = w.send(Ok(text));
                }
            }
            Routed::ServerRequest { id, method } => {
                let _ = tx.try_send(lines::answer_server_request(&id, &method));
            }
            Routed::Ignore => {}
            Routed::NotJson => {
                // Logs on stdout break every stdio client; the longest-waiting call carries it.
                if p.noise.not_json.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        pid = p.pid,
                        "server wrote non-JSON to stdout (logs belong on stderr): {}",
                        lines::quote(&text)
                    );
                }
                if let Some(w) = p.pending.take_oldest() {
                    let _ = w.send(Err(Lost {
                        kind: OutcomeKind::Protocol,
                        detail: format!("server wrote non-JSON to stdout: {}", lines::quote(&text)),
                    }));
                }
            }
        }
    }
    p.stdout_closed.cancel();
}

impl Process {
    /// Sends one request (the body built around a fresh id) and classifies its reply. No timeout
    /// here: the caller bounds the call.
    pub async fn request(
        &self,
        body: impl FnOnce(u64) -> Vec<u8>,
        is_tool_call: bool,
        keep: bool,
    ) -> Exchange {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let rx = match self.pending.register(id) {
            Ok(rx) => rx,
            Err(lost) => return Exchange::failed(OutcomeKind::Connect, lost.detail),
        };
        let _entry = Registration {
            pending: &self.pending,
            id,
        };
        match self.tx.try_send(body(id)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Exchange::failed(
                    OutcomeKind::Connect,
                    format!("server is not reading its stdin ({STDIN_QUEUE} messages queued)"),
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Exchange::failed(OutcomeKind::Connect, "server process stdin is closed");
            }
        }
        let line = match rx.await {
            Ok(Ok(line)) => line,
            Ok(Err(lost)) => return Exchange::failed(lost.kind, lost.detail),
            Err(_) => return Exchange::failed(OutcomeKind::Protocol, "reply lost"),
        };
        let bytes = line.len() as u64;
        match jsonrpc::classify_message(&line, id, is_tool_call, keep) {
            Message::Response(c) => {
                let mut x = Exchange::from_classified(c, 0, bytes, None);
                x.status = None;
                x
            }
            Message::OtherResponse | Message::ServerMessage => Exchange::failed(
                OutcomeKind::Protocol,
                "reply id does not match the request id",
            ),
        }
    }

    /// Sends a notification (no reply expected).
    pub fn notify(&self, body: Vec<u8>) -> bool {
        self.tx.try_send(body).is_ok()
    }

    /// Resolves when stdout closes.
    pub async fn stdout_closed(&self) {
        self.stdout_closed.cancelled().await
    }

    /// Ends every waiting call as `kind` with "`why` with the call in flight", and every later call
    /// as `connect` with `why`; the stderr tail's last line is added to both.
    pub fn fail_pending(&self, kind: OutcomeKind, why: &str) {
        let lost = |kind, text: String| Lost {
            kind,
            detail: match self.stderr.last() {
                Some(line) => format!("{text}; last stderr line: {line}"),
                None => text,
            },
        };
        self.pending.close(
            lost(kind, format!("{why} with the call in flight")),
            lost(OutcomeKind::Connect, why.to_owned()),
        );
    }

    /// Orderly stop: close stdin, wait; SIGTERM the group, wait; SIGKILL the group. Also sweeps
    /// the group after the leader exits, so no descendant outlives it.
    pub async fn terminate(&self, child: &mut Child, grace: Grace) -> std::io::Result<ExitStatus> {
        self.close_stdin.cancel();
        let status = match tokio::time::timeout(grace.stdin, child.wait()).await {
            Ok(s) => s,
            Err(_) => {
                super::signal::group(self.pid, super::signal::Sig::Term);
                match tokio::time::timeout(grace.term, child.wait()).await {
                    Ok(s) => s,
                    Err(_) => {
                        super::signal::group(self.pid, super::signal::Sig::Kill);
                        child.wait().await
                    }
                }
            }
        };
        super::signal::sweep_group(self.pid, grace.term).await;
        status
    }
}

/// A short description of an exit: `exit status 1`, `signal 9 (SIGKILL)`.
pub fn describe_exit(status: &std::io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => format!("unknown exit ({e})"),
    }
}
