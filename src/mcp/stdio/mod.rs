//! The stdio transport: a pool of server processes started from a command, driven with
//! newline-delimited JSON-RPC over their stdin and stdout, many calls in flight per process
//! multiplexed by id.
//!
//! The pool negotiates like the HTTP client (stateless `server/discover` first under `auto`, the
//! session era's `initialize` otherwise, once per process) and then spreads calls round-robin over
//! the processes that are up. Each process slot has a supervisor task: it starts the process,
//! runs the handshake, and when the process exits or closes stdout it ends the calls in flight
//! (`protocol`), logs the exit with the stderr tail, and restarts it with exponential backoff.
//! Calls that find no process up end as `connect`. Shutdown closes stdin, then SIGTERMs, then
//! SIGKILLs each process group (see [`signal`]).
//!
//! * `lines`: framing, routing of stdout lines, the stderr tail.
//! * `process`: one process, its pipes and its table of waiting calls.
//! * [`signal`]: process groups, parent-death signal, the sweep that leaves no orphan.
//! * `procfs`: RSS, CPU and open fds of each process group, from `/proc`.

mod lines;
mod process;
mod procfs;
pub mod signal;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::initialize::{InitInfo, initialize_params, read_initialize};
use super::jsonrpc;
use super::transport::Exchange;
use super::{
    ClientConfig, ClientError, Era, LATEST_SESSION_REVISION, McpRequest, Negotiated, OutcomeKind,
    ProtocolChoice, STATELESS_REVISION, SUPPORTED_REVISIONS, SessionStats,
};
use crate::secret::Secret;
pub use process::Grace;
use process::{Process, Spawned};
pub use procfs::{GroupUsage, process as process_usage};

/// A command to start as a pool of stdio MCP servers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StdioTarget {
    /// Program and arguments (no shell).
    pub command: Vec<String>,
    /// Extra environment variables (the rest is inherited); values may be secrets: never logged.
    pub env: Vec<(String, Secret)>,
    /// Working directory (default: mcp-soak's).
    pub cwd: Option<PathBuf>,
    /// How many server processes to run.
    pub processes: u32,
}

impl StdioTarget {
    /// The command as one shell-quoted line, for logs, the summary's target and errors.
    pub fn display(&self) -> String {
        shlex::try_join(self.command.iter().map(String::as_str))
            .unwrap_or_else(|_| self.command.join(" "))
    }

    /// The `target` string of summaries and metrics: `stdio:` and the command.
    pub fn label(&self) -> String {
        format!("stdio:{}", self.display())
    }
}

/// Splits a command line like a POSIX shell would (quotes, escapes; no expansion).
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    match shlex::split(line) {
        Some(words) if !words.is_empty() => Ok(words),
        Some(_) => Err("the command is empty".into()),
        None => Err(format!("unbalanced quotes in {line:?}")),
    }
}

/// First restart delay; doubles per failed start up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A process that lived this long resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// What every request carries after negotiation.
enum Proto {
    /// 2026-07-28: `_meta` on every request, no handshake.
    Stateless { meta: Box<RawValue> },
    /// Session era: `initialize` per process at this revision.
    Session { version: String },
}

/// One process slot: the process serving it now, and why there is none.
#[derive(Default)]
struct Slot {
    current: Mutex<Option<Arc<Process>>>,
    down: Mutex<String>,
    /// CPU seconds of this slot's earlier processes, and the last reading of the current one (so
    /// the exported counter never goes back across restarts).
    cpu: Mutex<(f64, f64)>,
}

impl Slot {
    fn get(&self) -> Option<Arc<Process>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, p: Option<Arc<Process>>) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = p;
    }
}

/// The whole pool's resource use, summed over its process groups, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// Processes up now.
    pub running: u64,
    /// Restarts so far.
    pub restarts: u64,
    /// Resident memory of the processes now, in bytes.
    pub resident_bytes: u64,
    /// CPU seconds, cumulative over restarts.
    pub cpu_seconds: f64,
    /// Open file descriptors of the processes now.
    pub open_fds: u64,
}

/// Counters of the pool, exported by the recorder and on `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolStats {
    /// Processes up and handshaken now.
    pub running: u64,
    /// Processes started (first starts and restarts).
    pub started: u64,
    /// Restarts after an exit or a closed stdout.
    pub restarts: u64,
    /// Stdout lines that were not JSON.
    pub not_json_lines: u64,
}

struct Shared {
    target: StdioTarget,
    proto: Proto,
    client_name: String,
    client_version: String,
    timeout: Duration,
    max_line: usize,
    grace: Grace,
    slots: Box<[Slot]>,
    rr: AtomicUsize,
    started: AtomicU64,
    restarts: AtomicU64,
    not_json: AtomicU64,
    stop: CancellationToken,
}

/// The pool of stdio server processes.
pub struct Stdio {
    shared: Arc<Shared>,
    /// The revision and era the pool's processes speak, settled at start.
    pub negotiated: Negotiated,
    tasks: TaskTracker,
}

fn unreachable(target: &StdioTarget, reason: impl Into<String>) -> ClientError {
    ClientError::Unreachable {
        url: target.label(),
        reason: reason.into(),
    }
}

fn with_stderr(reason: String, p: &Process) -> String {
    match p.stderr.last() {
        Some(line) => format!("{reason}; last stderr line: {line}"),
        None => reason,
    }
}

impl Shared {
    /// Starts a process and runs the handshake of the negotiated era.
    async fn start(&self) -> Result<Spawned, String> {
        let mut s = process::spawn(&self.target, self.max_line)
            .map_err(|e| format!("cannot start {}: {e}", self.target.display()))?;
        self.started.fetch_add(1, Ordering::Relaxed);
        if let Proto::Session { version } = &self.proto {
            let client = (self.client_name.as_str(), self.client_version.as_str());
            let hs = initialize(&s.process, version, client, self.timeout).await;
            match hs {
                Ok(info) if info.protocol_version == *version => {}
                Ok(info) => {
                    let _ = s.process.terminate(&mut s.child, self.grace).await;
                    return Err(format!(
                        "server changed protocol version to {}",
                        jsonrpc::truncate(&info.protocol_version, 40)
                    ));
                }
                Err(e) => {
                    let e = with_stderr(e, &s.process);
                    let _ = s.process.terminate(&mut s.child, self.grace).await;
                    return Err(e);
                }
            }
        }
        Ok(s)
    }

    /// Keeps slot `i` served until the pool stops. `first` is the slot's first process, when
    /// already started; `ready` is told when the first start attempt ended.
    async fn supervise(
        self: Arc<Self>,
        i: usize,
        mut first: Option<Spawned>,
        ready: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        let mut ready = ready;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let attempt = match first.take() {
                Some(s) => Ok(s),
                None => tokio::select! {
                    s = self.start() => s,
                    _ = self.stop.cancelled() => return,
                },
            };
            let mut s = match attempt {
                Ok(s) => s,
                Err(reason) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    tracing::warn!(process = i, retry_in = ?backoff, "stdio server did not start: {reason}");
                    if !self.down_for(i, reason, &mut backoff).await {
                        return;
                    }
                    continue;
                }
            };
            let born = Instant::now();
            let p = s.process.clone();
            self.slots[i].set(Some(p.clone()));
            // Told only now: a caller that awaited readiness sees the process in its slot.
            if let Some(r) = ready.take() {
                let _ = r.send(());
            }
            let status = tokio::select! {
                st = s.child.wait() => {
                    // Let stdout drain: replies written just before exiting still count.
                    let _ = tokio::time::timeout(Duration::from_millis(200), p.stdout_closed()).await;
                    st
                }
                _ = p.stdout_closed() => {
                    p.terminate(&mut s.child, self.grace).await
                }
                _ = self.stop.cancelled() => {
                    self.slots[i].set(None);
                    let st = p.terminate(&mut s.child, self.grace).await;
                    p.fail_pending(OutcomeKind::Connect, "the soak is shutting down");
                    tracing::debug!(process = i, pid = p.pid, "stdio server stopped: {}", process::describe_exit(&st));
                    self.retire(i, &p);
                    return;
                }
            };
            self.slots[i].set(None);
            signal::sweep_group(p.pid, self.grace.term).await;
            let how = process::describe_exit(&status);
            let exited = format!("server process {} exited ({how})", p.pid);
            p.fail_pending(OutcomeKind::Protocol, &exited);
            let why = with_stderr(exited, &p);
            self.retire(i, &p);
            if born.elapsed() >= HEALTHY_AFTER {
                backoff = FIRST_BACKOFF;
            }
            tracing::warn!(
                process = i,
                pid = p.pid,
                retry_in = ?backoff,
                stderr = %p.stderr.lines().join("\n"),
                "stdio server exited ({how}); restarting"
            );
            if !self.down_for(i, why, &mut backoff).await {
                return;
            }
        }
    }

    /// Slot `i` is down for `why`: waits out the backoff (doubling it) and counts the restart
    /// to come; false when the pool stopped meanwhile.
    async fn down_for(&self, i: usize, why: String, backoff: &mut Duration) -> bool {
        *self.slots[i].down.lock().unwrap_or_else(|p| p.into_inner()) = why;
        tokio::select! {
            _ = tokio::time::sleep(*backoff) => {}
            _ = self.stop.cancelled() => return false,
        }
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        self.restarts.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Folds a finished process's counters into the pool's.
    fn retire(&self, i: usize, p: &Process) {
        self.not_json
            .fetch_add(p.noise.not_json.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut cpu = self.slots[i].cpu.lock().unwrap_or_else(|p| p.into_inner());
        cpu.0 += std::mem::take(&mut cpu.1);
    }

    /// The next process that is up, round-robin, and its slot index.
    fn pick(&self) -> Result<(usize, Arc<Process>), String> {
        let n = self.slots.len();
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            let i = (start + k) % n;
            if let Some(p) = self.slots[i].get() {
                return Ok((i, p));
            }
        }
        let i = start % n;
        let why = self.slots[i]
            .down
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Err(if why.is_empty() {
            "no server process is running".into()
        } else {
            format!("no server process is running ({why})")
        })
    }
}

/// A handshake request's reply, bounded by `timeout` and by the process: no supervisor watches a
/// process during its handshake, so its exit must end the wait here.
async fn handshake(
    p: &Process,
    req: impl std::future::Future<Output = Exchange>,
    timeout: Duration,
) -> Exchange {
    tokio::select! {
        x = tokio::time::timeout(timeout, req) => {
            x.unwrap_or_else(|_| Exchange::failed(OutcomeKind::Timeout, "no reply"))
        }
        _ = p.stdout_closed() => Exchange::failed(
            OutcomeKind::Protocol,
            "the server process closed stdout (exited) before answering",
        ),
    }
}

async fn initialize(
    p: &Process,
    version: &str,
    client: (&str, &str),
    timeout: Duration,
) -> Result<InitInfo, String> {
    let params = initialize_params(version, client.0, client.1);
    let req = p.request(
        |id| jsonrpc::raw_request_body(id, "initialize", &params),
        false,
        true,
    );
    let x = handshake(p, req, timeout).await;
    if x.kind != OutcomeKind::Ok {
        return Err(format!(
            "initialize failed ({}): {}",
            x.kind,
            x.detail.unwrap_or_default()
        ));
    }
    let info = read_initialize(&x.result.unwrap_or(Value::Null))?;
    if !p.notify(jsonrpc::notification_body("notifications/initialized")) {
        return Err("server process stdin is closed".into());
    }
    Ok(info)
}

/// `server/discover` on a fresh process: `Some` (name, version) when it speaks the stateless era.
async fn discover(
    p: &Process,
    meta: &RawValue,
    timeout: Duration,
) -> Result<Option<(Option<String>, Option<String>)>, Exchange> {
    let req = p.request(
        |id| jsonrpc::request_body(id, &McpRequest::ServerDiscover, None, Some(meta)),
        false,
        true,
    );
    let x = handshake(p, req, timeout).await;
    match x.kind {
        OutcomeKind::Ok => {
            let d = super::client::read_discover(&x.result.unwrap_or(Value::Null));
            Ok(d.modern.then_some((d.server_name, d.server_version)))
        }
        OutcomeKind::RpcError | OutcomeKind::ToolError => Ok(None),
        _ => Err(x),
    }
}

impl Stdio {
    /// Starts the pool: the first process negotiates, the others start in parallel; returns once
    /// every process had its first attempt.
    pub async fn connect(
        config: &ClientConfig,
        target: &StdioTarget,
    ) -> Result<Stdio, ClientError> {
        if target.command.is_empty() {
            return Err(ClientError::Failed("target.command is empty".into()));
        }
        let wanted = match &config.protocol {
            ProtocolChoice::Auto => None,
            ProtocolChoice::Revision(v) if v == super::LEGACY_SSE_REVISION => {
                return Err(ClientError::Failed(
                    "2024-11-05 is the legacy HTTP+SSE transport; over stdio use auto or a later revision"
                        .into(),
                ));
            }
            ProtocolChoice::Revision(v) if SUPPORTED_REVISIONS.contains(&v.as_str()) => {
                Some(v.clone())
            }
            ProtocolChoice::Revision(v) => {
                return Err(ClientError::Failed(format!(
                    "unsupported protocol revision {v:?}"
                )));
            }
        };
        let max_line = config.max_body_bytes;
        let mut first = process::spawn(target, max_line)
            .map_err(|e| unreachable(target, format!("cannot start the command: {e}")))?;
        let grace = Grace::default();
        let fail = async |first: &mut Spawned, reason: String| {
            let reason = with_stderr(reason, &first.process);
            let _ = first.process.terminate(&mut first.child, grace).await;
            Err(unreachable(target, reason))
        };
        let meta = super::client::stateless_meta(STATELESS_REVISION, config);
        let mut stateless = None;
        if wanted.as_deref().is_none_or(|v| v == STATELESS_REVISION) {
            match discover(&first.process, &meta, config.timeout).await {
                Ok(Some(info)) => stateless = Some(info),
                Ok(None) if wanted.is_some() => {
                    return fail(&mut first, "the server does not speak 2026-07-28".into()).await;
                }
                Ok(None) => {}
                Err(x) => {
                    let d = x.detail.unwrap_or_default();
                    return fail(&mut first, format!("server/discover: {d}")).await;
                }
            }
        }
        let (proto, negotiated) = match stateless {
            Some((server_name, server_version)) => (
                Proto::Stateless { meta },
                Negotiated {
                    protocol_version: STATELESS_REVISION.into(),
                    era: Era::Stateless,
                    server_name,
                    server_version,
                },
            ),
            None => {
                let ask = wanted.unwrap_or_else(|| LATEST_SESSION_REVISION.to_owned());
                let client = (config.client_name.as_str(), config.client_version.as_str());
                let info = match initialize(&first.process, &ask, client, config.timeout).await {
                    Ok(i) => i,
                    Err(e) => return fail(&mut first, e).await,
                };
                if matches!(config.protocol, ProtocolChoice::Revision(_))
                    && info.protocol_version != ask
                {
                    let e = format!(
                        "asked for protocol {ask}, server answered {}",
                        jsonrpc::truncate(&info.protocol_version, 40)
                    );
                    return fail(&mut first, e).await;
                }
                (
                    Proto::Session {
                        version: info.protocol_version.clone(),
                    },
                    Negotiated {
                        protocol_version: info.protocol_version,
                        era: Era::Session,
                        server_name: info.server_name,
                        server_version: info.server_version,
                    },
                )
            }
        };
        let shared = Arc::new(Shared::new(config, target, proto));
        shared.started.fetch_add(1, Ordering::Relaxed);
        let tasks = TaskTracker::new();
        let mut first = Some(first);
        let mut readies = Vec::new();
        for i in 0..shared.slots.len() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            readies.push(rx);
            tasks.spawn(shared.clone().supervise(i, first.take(), Some(tx)));
        }
        tasks.close();
        for r in readies {
            let _ = r.await;
        }
        Ok(Stdio {
            shared,
            negotiated,
            tasks,
        })
    }

    /// Sends one request to the next process that is up; `slot_out` gets the process index.
    pub async fn call(
        &self,
        req: &McpRequest,
        cursor: Option<&str>,
        keep: bool,
        slot_out: &mut Option<u32>,
    ) -> Exchange {
        let (i, p) = match self.shared.pick() {
            Ok(x) => x,
            Err(why) => return Exchange::failed(OutcomeKind::Connect, why),
        };
        *slot_out = Some(i as u32);
        let meta = match &self.shared.proto {
            Proto::Stateless { meta } => Some(&**meta),
            Proto::Session { .. } => None,
        };
        let is_tool = matches!(req, McpRequest::ToolsCall { .. });
        p.request(
            |id| jsonrpc::request_body(id, req, cursor, meta),
            is_tool,
            keep,
        )
        .await
    }

    /// Process counters for `/metrics` and the summary.
    pub fn pool_stats(&self) -> PoolStats {
        let s = &self.shared;
        let mut running = 0;
        let mut not_json = s.not_json.load(Ordering::Relaxed);
        for slot in s.slots.iter() {
            if let Some(p) = slot.get() {
                running += 1;
                not_json += p.noise.not_json.load(Ordering::Relaxed);
            }
        }
        PoolStats {
            running,
            started: s.started.load(Ordering::Relaxed),
            restarts: s.restarts.load(Ordering::Relaxed),
            not_json_lines: not_json,
        }
    }

    /// The session counters the recorder already exports: a session-era process is one session.
    pub fn session_stats(&self) -> SessionStats {
        match self.shared.proto {
            Proto::Stateless { .. } => SessionStats::default(),
            Proto::Session { .. } => {
                let st = self.pool_stats();
                SessionStats {
                    active: st.running,
                    initialized: st.started,
                    expired: st.restarts,
                    // A restarted process is initialized again.
                    reinitialized: st.restarts,
                    ..SessionStats::default()
                }
            }
        }
    }

    /// Resource use of each process slot now (slot index, usage; CPU cumulative over restarts).
    pub fn resources(&self) -> Vec<(usize, GroupUsage)> {
        let s = &self.shared;
        let up: Vec<(usize, u32)> = s
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.get().map(|p| (i, p.pid)))
            .collect();
        let leaders: Vec<u32> = up.iter().map(|(_, pid)| *pid).collect();
        let mut by_group = procfs::groups(&leaders);
        let mut out = Vec::with_capacity(s.slots.len());
        for (i, slot) in s.slots.iter().enumerate() {
            let now = up
                .iter()
                .find(|(j, _)| *j == i)
                .and_then(|(_, pid)| by_group.remove(pid))
                .unwrap_or_default();
            let mut cpu = slot.cpu.lock().unwrap_or_else(|p| p.into_inner());
            cpu.1 = now.cpu_seconds;
            out.push((
                i,
                GroupUsage {
                    cpu_seconds: cpu.0 + cpu.1,
                    ..now
                },
            ));
        }
        out
    }

    /// Reads `/proc` once and sums the pool's resource use.
    pub fn sample(&self) -> ProcessSample {
        let st = self.pool_stats();
        self.resources().into_iter().fold(
            ProcessSample {
                running: st.running,
                restarts: st.restarts,
                ..ProcessSample::default()
            },
            |mut acc, (_, u)| {
                acc.resident_bytes += u.resident_bytes;
                acc.cpu_seconds += u.cpu_seconds;
                acc.open_fds += u.open_fds;
                acc
            },
        )
    }

    /// The pids of the processes up now (tests and diagnostics).
    pub fn pids(&self) -> Vec<u32> {
        self.shared
            .slots
            .iter()
            .filter_map(|s| s.get().map(|p| p.pid))
            .collect()
    }

    /// Stops every process (stdin closed, SIGTERM, SIGKILL) and waits for them. Idempotent.
    pub async fn shutdown(&self) {
        self.shared.stop.cancel();
        self.tasks.wait().await;
    }
}

impl Shared {
    fn new(config: &ClientConfig, target: &StdioTarget, proto: Proto) -> Shared {
        Shared {
            target: target.clone(),
            proto,
            client_name: config.client_name.clone(),
            client_version: config.client_version.clone(),
            timeout: config.timeout,
            max_line: config.max_body_bytes,
            grace: Grace::default(),
            slots: (0..target.processes.max(1))
                .map(|_| Slot::default())
                .collect(),
            rr: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            not_json: AtomicU64::new(0),
            stop: CancellationToken::new(),
        }
    }
}

impl Drop for Stdio {
    fn drop(&mut self) {
        // Supervisors end their processes when told; a pool dropped without shutdown still stops.
        self.shared.stop.cancel();
    }
}
