//! The JSON summary: a versioned, schema-pinned function of a [`Snapshot`].

use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::OutcomeKind;
use crate::mcp::handshake::HandshakeKind;
use crate::record::Snapshot;
use crate::record::events::ControlEvent;
use crate::record::snapshot::{self, Hist, OutcomeCounts, TimelinePoint};
use crate::secret::strip_credentials;

use super::assess::{Assessment, Band, assess};
use super::hdr::Histograms;
use super::slo::{SloVerdict, evaluate};

/// Bumped on any incompatible change of [`Summary`].
///
/// 2: stage rows are wall-clock windows (`stage` numbered from 1, `start_s`, `scheduled`, `sent`,
/// `sent_per_second`), the drain is its own row (`drain`), latency covers calls that got an
/// answer (`failed_latency` keeps the others per outcome), handshakes are timed apart
/// (`handshakes`), SLO verdicts carry `breach_s` and `worst_window`.
pub const SCHEMA_VERSION: u32 = 2;
/// Top error messages kept per operation in the summary.
pub const TOP_MESSAGES_PER_OP: usize = 10;

/// Why sending stopped. Declared from least to most telling: a merge of shards that stopped for
/// different reasons reports the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The plan ran to its end (duration, stages, count).
    Completed,
    /// SIGINT / SIGTERM (or the caller's stop).
    Signal,
    /// An SLO failed for longer than `abort_on_breach`.
    SloBreach,
    /// The target came up late and its tools do not fit the mix (unknown tool, destructive tool).
    MixMismatch,
}

impl StopReason {
    /// Every reason, in declaration order.
    pub const ALL: [StopReason; 4] = [
        StopReason::Completed,
        StopReason::Signal,
        StopReason::SloBreach,
        StopReason::MixMismatch,
    ];

    /// The name used in the summary (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Completed => "completed",
            StopReason::Signal => "signal",
            StopReason::SloBreach => "slo_breach",
            StopReason::MixMismatch => "mix_mismatch",
        }
    }

    /// The reason with this name. Merges written before the reason was an enum joined their
    /// shards' reasons with `"; "`: such a list reads as the greatest reason in it.
    pub fn from_name(name: &str) -> Option<StopReason> {
        name.split("; ")
            .map(|part| StopReason::ALL.into_iter().find(|r| r.as_str() == part))
            .try_fold(None, |most: Option<StopReason>, r| Some(most.max(Some(r?))))
            .flatten()
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StopReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        StopReason::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = StopReason::ALL.iter().map(|r| r.as_str()).collect();
            serde::de::Error::custom(format!(
                "unknown stop_reason {name:?}, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

/// What the summary needs that the recorder does not know.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// Wall-clock time the run started.
    pub started: SystemTime,
    /// Wall-clock time the run ended (or the checkpoint was taken).
    pub ended: SystemTime,
    /// What `connect` negotiated (None when the run never connected).
    pub protocol: Option<ProtocolInfo>,
    /// The effective configuration, secrets already redacted.
    pub config: serde_json::Value,
    /// True when the run stopped before its plan ended (signal, abort-on-breach, error).
    pub aborted: bool,
    /// Why the run ended (its plan completed, a signal, an SLO breach, a mix mismatch).
    pub stop_reason: Option<StopReason>,
    /// False for a checkpoint written while the run goes on (or a merge of one).
    pub is_final: bool,
    /// Where the pacer was when a checkpoint was taken (None in a final summary).
    pub checkpoint: Option<Checkpoint>,
    /// Changes made to the running soak (controls, reloads), oldest first.
    pub events: Vec<ControlEvent>,
}

impl RunMeta {
    /// A meta for a run that went from `started` to `ended`, completed normally.
    pub fn new(started: SystemTime, ended: SystemTime) -> Self {
        RunMeta {
            started,
            ended,
            protocol: None,
            config: serde_json::Value::Null,
            aborted: false,
            stop_reason: None,
            is_final: true,
            checkpoint: None,
            events: Vec::new(),
        }
    }
}

/// Where a running soak was when a checkpoint of its summary was written: with it, a killed soak's
/// last checkpoint says exactly how far the plan had got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Checkpoint {
    /// Seconds from the run's start to the checkpoint.
    pub elapsed_s: f64,
    /// The stage the pacer was in, from 1 (none past the last stage).
    pub stage: Option<usize>,
    /// Slots the schedule had laid out until then, dropped ones included.
    pub scheduled: u64,
    /// Seconds between checkpoints: a killed run lost at most this much of its summary.
    pub every_s: f64,
}

/// The negotiated protocol and the server's self-description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProtocolInfo {
    /// The revision spoken, e.g. `2025-11-25` (None when the run never connected).
    pub version: Option<String>,
    /// `stateless`, `session` or `legacy_sse`.
    pub era: Option<crate::mcp::Era>,
    /// `serverInfo.name`, when the server sent it.
    pub server_name: Option<String>,
    /// `serverInfo.version`, when the server sent it.
    pub server_version: Option<String>,
}

/// The JSON summary of one run (schema version 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Version of this file's shape (2); readers reject other versions.
    pub schema_version: u32,
    /// Shared by the shards of one load; on every exported series as the `run_id` label.
    pub run_id: String,
    /// Static labels from `[run.labels]` / `--label` (also on every exported series).
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The mcp-soak that wrote the file.
    pub tool: ToolVersion,
    /// RFC 3339.
    pub started: String,
    /// RFC 3339.
    pub ended: String,
    /// Seconds the run sent traffic (the rate denominator).
    pub duration_s: f64,
    /// Target URL, credentials stripped.
    pub target: String,
    /// How the target was reached: `streamable-http`, `legacy-sse` or `stdio`.
    pub transport: crate::mcp::TargetTransport,
    /// What was negotiated and who the server said it was.
    pub protocol: ProtocolInfo,
    /// The effective configuration, secrets redacted.
    pub config: serde_json::Value,
    /// Counts and rates over every call of the run.
    pub totals: Totals,
    /// Latency over every call that got an answer (errors replied by the server included).
    pub latency: LatencyPair,
    /// Latency from the intended send of calls that got no answer, per outcome kind (timeouts,
    /// connections lost after sending, calls cancelled at stop); slots never sent are not timed.
    pub failed_latency: Vec<FailedLatency>,
    /// Handshakes calls did first (session initialize, token refresh), per kind seen; their time
    /// is not in any service time. (Added within schema 2: absent in older files, read as empty.)
    #[serde(default)]
    pub handshakes: Vec<HandshakeSummary>,
    /// One entry per operation of the mix, in plan order.
    pub ops: Vec<OpSummary>,
    /// One row per stage: what happened in the stage's wall-clock window.
    pub stages: Vec<StageSummary>,
    /// What ended after the schedule stopped: in-flight calls draining.
    pub drain: DrainSummary,
    /// Failed calls by kind and the most frequent error messages.
    pub errors: ErrorBreakdown,
    /// How well the schedule was kept: dropped slots and send lag.
    pub schedule: ScheduleSummary,
    /// Session counters (opened, expired, deleted, abandoned, re-initialized).
    pub sessions: SessionSummary,
    /// Interval width of the timeline (it widens as a long run is coarsened).
    pub timeline_interval_s: f64,
    /// Calls, errors and latency per interval, oldest first.
    pub timeline: Vec<TimelinePoint>,
    /// One verdict per SLO objective.
    pub slos: Vec<SloVerdict>,
    /// True when every SLO objective passed (or none were set).
    pub slo_passed: bool,
    /// The one-word assessment and what drove it (see the `assess` module).
    pub assessment: Assessment,
    /// True when the run stopped before its plan ended (signal, abort-on-breach, error).
    pub aborted: bool,
    /// Why the run ended, e.g. `completed` or `signal`.
    pub stop_reason: Option<StopReason>,
    /// False in a checkpoint rewritten while the run goes on; true once the run has ended (and in
    /// summaries written before checkpoints existed).
    #[serde(rename = "final", default = "yes")]
    pub is_final: bool,
    /// The pacer's position when this checkpoint was written; absent from a final summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    /// Changes made while the run went on (runtime controls, SIGHUP reloads), oldest first; the
    /// newest 1,000 are kept. (Added within schema 2: absent in older files, read as empty.)
    #[serde(default)]
    pub events: Vec<ControlEvent>,
    /// Raw-stream lines written and lost (0 without `--raw`).
    pub raw_lines_written: u64,
    /// Raw-stream lines lost to back-pressure or I/O errors.
    pub raw_lines_lost: u64,
    /// The server's own resources and the leak and drift verdicts (see `report::verdicts`).
    #[serde(default)]
    pub soak: crate::report::verdicts::SoakSummary,
    /// The HDR histograms behind every latency above, so shards' summaries merge exactly
    /// (`mcp-soak merge`); absent in summaries written before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
}

/// Name and version of the tool that wrote the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolVersion {
    /// The tool's name (`mcp-soak`).
    pub name: String,
    /// Its version (the crate version).
    pub version: String,
}

/// Calls by outcome kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// A result (for `tools/call`, one without `isError: true`).
    pub ok: u64,
    /// `tools/call` answered with `isError: true`.
    pub tool_error: u64,
    /// A JSON-RPC error reply.
    pub rpc_error: u64,
    /// HTTP 4xx/5xx.
    pub http_error: u64,
    /// No complete answer within the call timeout.
    pub timeout: u64,
    /// Connection refused, reset, DNS or TLS failure.
    pub connect: u64,
    /// Malformed reply: bad JSON, wrong id, broken SSE, body over the cap.
    pub protocol: u64,
    /// The server no longer knew the session (404 on its id, or some servers' 400).
    pub session_expired: u64,
    /// Slots never sent (in-flight cap, rate ceiling, paused operation).
    pub dropped: u64,
}

impl Counts {
    fn from_counts(c: &OutcomeCounts) -> Self {
        let g = |k: OutcomeKind| c[k.index()];
        Counts {
            ok: g(OutcomeKind::Ok),
            tool_error: g(OutcomeKind::ToolError),
            rpc_error: g(OutcomeKind::RpcError),
            http_error: g(OutcomeKind::HttpError),
            timeout: g(OutcomeKind::Timeout),
            connect: g(OutcomeKind::Connect),
            protocol: g(OutcomeKind::Protocol),
            session_expired: g(OutcomeKind::SessionExpired),
            dropped: g(OutcomeKind::Dropped),
        }
    }

    /// The count of one kind.
    pub fn get(&self, k: OutcomeKind) -> u64 {
        match k {
            OutcomeKind::Ok => self.ok,
            OutcomeKind::ToolError => self.tool_error,
            OutcomeKind::RpcError => self.rpc_error,
            OutcomeKind::HttpError => self.http_error,
            OutcomeKind::Timeout => self.timeout,
            OutcomeKind::Connect => self.connect,
            OutcomeKind::Protocol => self.protocol,
            OutcomeKind::SessionExpired => self.session_expired,
            OutcomeKind::Dropped => self.dropped,
        }
    }
}

/// Counts and rates of a population of calls (the run, one op, one stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Every scheduled call, dropped slots included.
    pub calls: u64,
    /// Calls that were sent and ended (everything but dropped).
    pub completed: u64,
    /// Calls by outcome kind, dropped slots included.
    pub counts: Counts,
    /// ok / completed (0 when nothing completed).
    pub success_ratio: f64,
    /// (completed − ok) / completed.
    pub error_ratio: f64,
    /// dropped / calls.
    pub dropped_ratio: f64,
    /// Completed calls per second.
    pub calls_per_second: f64,
    /// Successful calls per second.
    pub ok_per_second: f64,
}

impl Totals {
    fn new(c: &OutcomeCounts, secs: f64) -> Self {
        let calls = snapshot::total(c);
        let completed = snapshot::completed(c);
        let ok = c[OutcomeKind::Ok.index()];
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let rate = |a: u64| if secs > 0.0 { a as f64 / secs } else { 0.0 };
        Totals {
            calls,
            completed,
            counts: Counts::from_counts(c),
            success_ratio: ratio(ok, completed),
            error_ratio: ratio(completed - ok, completed),
            dropped_ratio: ratio(c[OutcomeKind::Dropped.index()], calls),
            calls_per_second: rate(completed),
            ok_per_second: rate(ok),
        }
    }
}

/// Latency statistics in milliseconds, from an HDR histogram (3 significant digits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyStats {
    /// Samples; when 0 every other field is 0.
    pub count: u64,
    /// Fastest, ms.
    pub min_ms: f64,
    /// Arithmetic mean, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

impl LatencyStats {
    /// Statistics of a µs histogram.
    pub fn from_hist(h: &Hist) -> Self {
        if h.is_empty() {
            return LatencyStats::default();
        }
        let ms = |us: u64| us as f64 / 1e3;
        LatencyStats {
            count: h.len(),
            min_ms: ms(h.min()),
            mean_ms: h.mean() / 1e3,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// Both latency views over the calls that got an answer (`ok` and error replies alike).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyPair {
    /// From the intended send time: what a user of the schedule saw (coordinated-omission free).
    pub corrected: LatencyStats,
    /// From the actual send: the server's (and network's) service time.
    pub service: LatencyStats,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpSummary {
    /// The operation's name, as in the mix.
    pub name: String,
    /// Counts and rates of this operation's calls.
    pub totals: Totals,
    /// Its latency over the calls that got an answer.
    pub latency: LatencyPair,
    /// This operation's own timeline, coarser than the run's (at most 120 points; absent in
    /// summaries written before it existed).
    #[serde(default)]
    pub timeline: Vec<TimelinePoint>,
    /// The most frequent error messages of this operation (bounded).
    pub top_messages: Vec<ErrorMessage>,
}

/// One stage: what happened inside its wall-clock window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageSummary {
    /// Stage number, from 1 (as in the progress line, the console report and `mcp_soak_stage`).
    pub stage: usize,
    /// Calls per second the stage asked for (0 for the closed model: no target rate).
    pub target_rate: f64,
    /// Seconds from the run's start to the stage's start.
    pub start_s: f64,
    /// Seconds the stage ran (its window; shorter when the run stopped early).
    pub duration_s: f64,
    /// Slots the schedule meant for this stage (by intended send time), dropped ones included.
    pub scheduled: u64,
    /// Requests that left inside the window.
    pub sent: u64,
    /// sent / duration_s.
    pub sent_per_second: f64,
    /// Calls that ended inside the window; rates are per second of the window (achieved).
    pub totals: Totals,
    /// Latency of the calls that ended inside the window.
    pub latency: LatencyPair,
}

/// The drain: from the end of the schedule to the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DrainSummary {
    /// Seconds from the run's start to the end of the schedule.
    pub start_s: f64,
    /// Seconds the drain lasted.
    pub duration_s: f64,
    /// Calls that ended during the drain.
    pub totals: Totals,
    /// Latency of the calls that ended during the drain.
    pub latency: LatencyPair,
}

/// How long calls spent on one kind of handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandshakeSummary {
    /// Which handshake: `initialize` or `token_refresh`.
    pub kind: HandshakeKind,
    /// How long calls spent on it, from its start to its end.
    pub latency: LatencyStats,
}

/// Latency of the calls of one outcome kind that got no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FailedLatency {
    /// The outcome kind of those calls (`timeout`, `connect`…).
    pub kind: OutcomeKind,
    /// From the intended send time to the failure (or the cancel).
    pub latency: LatencyStats,
}

/// Errors of the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBreakdown {
    /// Failed calls by kind (ok excluded, dropped included), most frequent first.
    pub by_kind: Vec<KindCount>,
    /// The most frequent messages (bounded; counts may over-estimate rare ones slightly).
    pub top_messages: Vec<ErrorMessage>,
}

/// How many calls ended in one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KindCount {
    /// The outcome kind.
    pub kind: OutcomeKind,
    /// Calls that ended in it.
    pub count: u64,
}

/// One error message and how often it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorMessage {
    /// The operation's name.
    pub op: String,
    /// The outcome kind the message came with.
    pub kind: OutcomeKind,
    /// The message, bounded in length, never a secret.
    pub message: String,
    /// How many calls ended with it.
    pub count: u64,
}

/// How well the schedule was kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleSummary {
    /// Slots the scheduler could not start (in-flight cap, or paused for Retry-After).
    pub dropped: u64,
    /// Actual send − intended send, over every sent call.
    pub lag: LatencyStats,
}

/// Session counters at the end of the run (one type with the client's: docs/client.md).
pub use crate::mcp::SessionStats as SessionSummary;

fn yes() -> bool {
    true
}

fn merge_all<'a>(hists: impl Iterator<Item = &'a Hist>) -> Option<Hist> {
    let mut out: Option<Hist> = None;
    for h in hists {
        match &mut out {
            None => out = Some(h.clone()),
            Some(acc) => {
                let _ = acc.add(h);
            }
        }
    }
    out
}

fn pair(latency: Option<&Hist>, service: Option<&Hist>) -> LatencyPair {
    LatencyPair {
        corrected: latency.map(LatencyStats::from_hist).unwrap_or_default(),
        service: service.map(LatencyStats::from_hist).unwrap_or_default(),
    }
}

/// Builds the summary: everything is a function of the snapshot and the meta.
pub fn build(snap: &Snapshot, meta: RunMeta) -> Summary {
    let secs = snap.elapsed.as_secs_f64();
    let mut all = [0u64; OutcomeKind::ALL.len()];
    for o in &snap.ops {
        for (a, v) in all.iter_mut().zip(o.counts) {
            *a += v;
        }
    }
    let msg = |e: &snapshot::ErrorCount| ErrorMessage {
        op: e.op.clone(),
        kind: e.kind,
        message: e.message.clone(),
        count: e.count,
    };
    let ops = snap
        .ops
        .iter()
        .map(|o| OpSummary {
            name: o.name.clone(),
            totals: Totals::new(&o.counts, secs),
            latency: pair(Some(&o.latency), Some(&o.service)),
            timeline: o.timeline.clone(),
            top_messages: snap
                .top_errors
                .iter()
                .filter(|e| e.op == o.name)
                .take(TOP_MESSAGES_PER_OP)
                .map(msg)
                .collect(),
        })
        .collect();
    let stages = snap
        .stages
        .iter()
        .map(|s| {
            let secs = s.elapsed.as_secs_f64();
            StageSummary {
                stage: s.index + 1,
                target_rate: s.target_rate,
                start_s: s.start.as_secs_f64(),
                duration_s: secs,
                scheduled: s.scheduled,
                sent: s.sent,
                sent_per_second: if secs > 0.0 {
                    s.sent as f64 / secs
                } else {
                    0.0
                },
                totals: Totals::new(&s.counts, secs),
                latency: pair(Some(&s.latency), Some(&s.service)),
            }
        })
        .collect();
    let d = &snap.drain;
    let drain = DrainSummary {
        start_s: d.start.as_secs_f64(),
        duration_s: d.elapsed.as_secs_f64(),
        totals: Totals::new(&d.counts, d.elapsed.as_secs_f64()),
        latency: pair(Some(&d.latency), Some(&d.service)),
    };
    let failed_latency = snap
        .failed_latency
        .iter()
        .map(|(kind, h)| FailedLatency {
            kind: *kind,
            latency: LatencyStats::from_hist(h),
        })
        .collect();
    let mut by_kind: Vec<KindCount> = OutcomeKind::ALL
        .iter()
        .filter(|k| !k.is_ok() && all[k.index()] > 0)
        .map(|k| KindCount {
            kind: *k,
            count: all[k.index()],
        })
        .collect();
    by_kind.sort_by_key(|k| std::cmp::Reverse(k.count));
    let mut slos = evaluate(&snap.slos, snap);
    super::slo::attach_windows(&mut slos, &snap.slo_windows);
    let protocol = meta.protocol.unwrap_or_else(|| ProtocolInfo {
        version: Some(snap.run_info.protocol.clone()).filter(|s| !s.is_empty()),
        ..ProtocolInfo::default()
    });
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        run_id: snap.run_info.run_id.clone(),
        labels: snap.run_info.labels.clone(),
        tool: ToolVersion {
            name: "mcp-soak".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        started: humantime::format_rfc3339_millis(meta.started).to_string(),
        ended: humantime::format_rfc3339_millis(meta.ended).to_string(),
        duration_s: secs,
        target: strip_credentials(&snap.run_info.target),
        transport: snap.run_info.transport,
        protocol,
        config: meta.config,
        totals: Totals::new(&all, secs),
        latency: pair(
            merge_all(snap.ops.iter().map(|o| &o.latency)).as_ref(),
            merge_all(snap.ops.iter().map(|o| &o.service)).as_ref(),
        ),
        failed_latency,
        handshakes: snap
            .handshakes
            .iter()
            .map(|(kind, h)| HandshakeSummary {
                kind: *kind,
                latency: LatencyStats::from_hist(h),
            })
            .collect(),
        ops,
        stages,
        drain,
        errors: ErrorBreakdown {
            by_kind,
            top_messages: snap.top_errors.iter().take(20).map(msg).collect(),
        },
        schedule: ScheduleSummary {
            dropped: all[OutcomeKind::Dropped.index()],
            lag: LatencyStats::from_hist(&snap.schedule_lag),
        },
        sessions: snap.sessions,
        timeline_interval_s: snap.timeline_interval.as_secs_f64(),
        timeline: snap.timeline.clone(),
        slo_passed: slos.iter().all(|v| v.passed),
        slos,
        aborted: meta.aborted,
        stop_reason: meta.stop_reason,
        is_final: meta.is_final,
        checkpoint: meta.checkpoint,
        events: meta.events,
        raw_lines_written: snap.raw_written,
        raw_lines_lost: snap.raw_lost,
        soak: Default::default(),
        histograms: Histograms::of(snap)
            .map_err(|e| tracing::warn!("the summary goes without histograms: {e}"))
            .ok(),
        assessment: Assessment {
            band: Band::Excellent,
            drivers: Vec::new(),
            reason: String::new(),
        },
    };
    summary.assessment = assess(&summary);
    summary
}

/// The JSON Schema of [`Summary`], pretty-printed (what `mcp-soak schema` prints).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Summary);
    let mut s =
        serde_json::to_string_pretty(&schema).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::StopReason;

    #[test]
    fn a_stop_reason_reads_its_own_name_and_an_old_merges_list_as_its_greatest() {
        for r in StopReason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<StopReason>(&json).unwrap(), r);
        }
        let old: StopReason = serde_json::from_str("\"completed; slo_breach; signal\"").unwrap();
        assert_eq!(old, StopReason::SloBreach);
        let err = serde_json::from_str::<StopReason>("\"tired\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown stop_reason \"tired\""),
            "{err}"
        );
        assert!(serde_json::from_str::<StopReason>("\"signal; tired\"").is_err());
    }
}
