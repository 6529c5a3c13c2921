//! Merging the summaries of a load's shards (`--instance-share i/n`) into the summary of the whole.
//!
//! Each shard's summary carries its HDR histograms ([`super::hdr`]); merging decodes and adds them,
//! adds the counts, aligns the timelines on wall-clock time, and rebuilds a [`Snapshot`] of the
//! whole load that goes through the same [`super::summary::build`] as a single run. So the merged
//! percentiles are exactly those of one histogram of every call, the SLO verdicts are judged on the
//! whole load, and a merged summary merges again.
//!
//! What is not exact, and why: a timeline interval's p50 becomes the calls-weighted mean of the
//! shards' p50s and its p95/p99 the shards' maximum (per-interval histograms are not kept); rates
//! are counts over the longest shard's window (shards run the same plan at the same time); the error
//! messages are the union of each shard's bounded top lists.
//!
//! Shards must share the run identity (`run_id`): summaries of different runs are refused, as are
//! two summaries of the same shard.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::mcp::{OutcomeKind, SessionStats};
use crate::plan::Slo;
use crate::record::snapshot::{
    ErrorCount, Hist, OpStats, OutcomeCounts, StageStats, TimelinePoint,
};
use crate::record::{RunInfo, Snapshot, timeline};

use super::hdr::{self, HdrError, HistPair};
use super::summary::{self, Counts, RunMeta, SCHEMA_VERSION, StopReason, Summary};

/// One shard's summary and where it came from (named in every error).
#[derive(Debug, Clone)]
pub struct Shard {
    /// The path the summary was read from.
    pub file: String,
    /// The summary as read.
    pub summary: Summary,
}

/// Why shards cannot be merged; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No summary was given.
    #[error("no summaries to merge")]
    Empty,
    /// A summary of another schema version.
    #[error(
        "{file}: schema_version {found}, this mcp-soak merges version {SCHEMA_VERSION}: merge summaries written by the same version"
    )]
    SchemaVersion {
        /// The file it came from.
        file: String,
        /// Its `schema_version`.
        found: u32,
    },
    /// A summary without histograms, so it cannot be merged exactly.
    #[error(
        "{file}: the summary has no histograms (written before `merge` existed): rerun the shard with this version"
    )]
    NoHistograms {
        /// The file it came from.
        file: String,
    },
    /// A summary of another run (its `run_id` differs).
    #[error(
        "{file}: run {found:?} is not run {expected:?} of {first}: refusing to mix runs (the shards of one load share `--run-id`)"
    )]
    OtherRun {
        /// The file it came from.
        file: String,
        /// Its run id.
        found: String,
        /// The run id of the first summary.
        expected: String,
        /// The file of the first summary.
        first: String,
    },
    /// The same shard given twice.
    #[error("{file}: shard {share} was already given as {other}")]
    DuplicateShard {
        /// The file it came from.
        file: String,
        /// Its share, `i/n`.
        share: String,
        /// The file that gave that share first.
        other: String,
    },
    /// A shard that splits the load into another number of parts.
    #[error("{file}: shard {share} splits the load {n} ways, {first} splits it {expected} ways")]
    ShardCount {
        /// The file it came from.
        file: String,
        /// Its share, `i/n`.
        share: String,
        /// Its number of parts.
        n: u32,
        /// The file of the first summary.
        first: String,
        /// The first summary's number of parts.
        expected: u32,
    },
    /// A histogram that cannot be decoded.
    #[error("{file}: histogram of {what}: {error}")]
    Histogram {
        /// The file it came from.
        file: String,
        /// Which histogram: the operation, stage or kind it belongs to.
        what: String,
        /// The decoding error.
        error: HdrError,
    },
    /// Two histograms that cannot be added.
    #[error("{file}: histogram of {what} cannot be added: {error}")]
    Add {
        /// The file it came from.
        file: String,
        /// Which histogram.
        what: String,
        /// hdrhistogram's error.
        error: hdrhistogram::AdditionError,
    },
    /// Histograms that do not fit the summary's operations, stages or kinds.
    #[error("{file}: the histograms do not match the summary: {what}")]
    Shape {
        /// The file it came from.
        file: String,
        /// What does not fit.
        what: String,
    },
    /// A time field that is not RFC 3339.
    #[error("{file}: `{field}` is not an RFC 3339 time: {value:?}")]
    Time {
        /// The file it came from.
        file: String,
        /// The field, e.g. `started`.
        field: &'static str,
        /// Its value.
        value: String,
    },
}

/// The merged summary and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The summed summary (every count added, every latency from the added histograms).
    pub summary: Summary,
    /// Shares of the load not among the inputs (`i/n`), when the inputs are shards.
    pub missing: Vec<String>,
}

/// `Some((i, n))` when the summary is shard `i` of a load split `n` ways.
pub fn shard_of(s: &Summary) -> Option<(u32, u32)> {
    let text = s.config.pointer("/limits/instance_share")?.as_str()?;
    let (i, n) = text.split_once('/')?;
    Some((i.trim().parse().ok()?, n.trim().parse().ok()?))
}

/// Checks that the shards are of one run, each once, and carry histograms.
fn check(shards: &[Shard]) -> Result<(), MergeError> {
    let first = shards.first().ok_or(MergeError::Empty)?;
    let mut seen: BTreeMap<(u32, u32), &str> = BTreeMap::new();
    for s in shards {
        let file = || s.file.clone();
        if s.summary.schema_version != SCHEMA_VERSION {
            return Err(MergeError::SchemaVersion {
                file: file(),
                found: s.summary.schema_version,
            });
        }
        if s.summary.histograms.is_none() {
            return Err(MergeError::NoHistograms { file: file() });
        }
        if s.summary.run_id != first.summary.run_id {
            return Err(MergeError::OtherRun {
                file: file(),
                found: s.summary.run_id.clone(),
                expected: first.summary.run_id.clone(),
                first: first.file.clone(),
            });
        }
        if let Some((i, n)) = shard_of(&s.summary) {
            if let Some((_, expected)) = shard_of(&first.summary).filter(|(_, m)| *m != n) {
                return Err(MergeError::ShardCount {
                    file: file(),
                    share: format!("{i}/{n}"),
                    n,
                    first: first.file.clone(),
                    expected,
                });
            }
            if let Some(other) = seen.insert((i, n), &s.file) {
                return Err(MergeError::DuplicateShard {
                    file: file(),
                    share: format!("{i}/{n}"),
                    other: other.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Adds `h` into `acc` (or starts `acc` with it).
fn add(acc: &mut Option<Hist>, h: Hist) -> Result<(), hdrhistogram::AdditionError> {
    match acc {
        Some(a) => a.add(&h),
        None => {
            *acc = Some(h);
            Ok(())
        }
    }
}

/// One shard's view, decoded.
struct Decoded<'a> {
    shard: &'a Shard,
    started: SystemTime,
    ended: SystemTime,
}

impl Decoded<'_> {
    fn file(&self) -> String {
        self.shard.file.clone()
    }

    fn pair(&self, what: String, pair: &HistPair) -> Result<(Hist, Hist), MergeError> {
        pair.decode().map_err(|error| MergeError::Histogram {
            file: self.file(),
            what,
            error,
        })
    }

    fn add_pair(
        &self,
        what: String,
        into: &mut (Option<Hist>, Option<Hist>),
        pair: &HistPair,
    ) -> Result<(), MergeError> {
        let (corrected, service) = self.pair(what.clone(), pair)?;
        add(&mut into.0, corrected)
            .and_then(|()| add(&mut into.1, service))
            .map_err(|error| MergeError::Add {
                file: self.file(),
                what,
                error,
            })
    }
}

impl Decoded<'_> {
    fn add_one(&self, what: String, into: &mut Option<Hist>, text: &str) -> Result<(), MergeError> {
        let h = hdr::decode(text).map_err(|error| MergeError::Histogram {
            file: self.file(),
            what: what.clone(),
            error,
        })?;
        add(into, h).map_err(|error| MergeError::Add {
            file: self.file(),
            what,
            error,
        })
    }
}

fn time(file: &str, field: &'static str, value: &str) -> Result<SystemTime, MergeError> {
    humantime::parse_rfc3339_weak(value).map_err(|_| MergeError::Time {
        file: file.to_owned(),
        field,
        value: value.to_owned(),
    })
}

fn counts_of(c: &Counts) -> OutcomeCounts {
    OutcomeKind::ALL.map(|k| c.get(k))
}

fn add_counts(acc: &mut OutcomeCounts, c: &Counts) {
    for (a, v) in acc.iter_mut().zip(counts_of(c)) {
        *a += v;
    }
}

fn empty_hist() -> Hist {
    // The recorder's bounds are constants: this cannot fail.
    crate::record::new_hist().unwrap_or_else(|_| Hist::new(3).expect("3 significant digits"))
}

/// Adds a shard's timeline points into `into`, aligned on the merged run's intervals (`offset`:
/// the shard's start after the earliest shard's, seconds).
fn add_timeline(
    into: &mut BTreeMap<u64, TimelinePoint>,
    points: &[TimelinePoint],
    offset: f64,
    interval: f64,
) {
    for p in points {
        let k = ((p.start_s + offset) / interval + 1e-9).floor().max(0.0) as u64;
        let aligned = TimelinePoint {
            start_s: k as f64 * interval,
            duration_s: interval,
            ..p.clone()
        };
        into.entry(k)
            .and_modify(|q| *q = timeline::merge(q, &aligned))
            .or_insert(aligned);
    }
}

#[derive(Default)]
struct OpAcc {
    counts: OutcomeCounts,
    timeline: BTreeMap<u64, TimelinePoint>,
    hists: (Option<Hist>, Option<Hist>),
    ok: Option<Hist>,
}

#[derive(Default)]
struct StageAcc {
    target_rate: f64,
    start: Option<f64>,
    elapsed: f64,
    scheduled: u64,
    sent: u64,
    counts: OutcomeCounts,
    hists: (Option<Hist>, Option<Hist>),
}

impl StageAcc {
    /// The merged window: from the earliest shard's start, as long as the longest shard's.
    fn window(&mut self, start_s: f64, duration_s: f64) {
        self.start = Some(self.start.map_or(start_s, |s| s.min(start_s)));
        self.elapsed = self.elapsed.max(duration_s);
    }

    fn stats(self, index: usize, hist: &dyn Fn(Option<Hist>) -> Hist) -> StageStats {
        StageStats {
            index,
            // Shares of a rate (100/3 three times) sum to it up to rounding: undo the rounding.
            target_rate: (self.target_rate * 1e9).round() / 1e9,
            start: Duration::from_secs_f64(self.start.unwrap_or_default()),
            elapsed: Duration::from_secs_f64(self.elapsed),
            scheduled: self.scheduled,
            sent: self.sent,
            counts: self.counts,
            latency: hist(self.hists.0),
            service: hist(self.hists.1),
        }
    }
}

/// Merges the summaries of a load's shards into the summary of the whole load.
pub fn merge(shards: &[Shard]) -> Result<Merged, MergeError> {
    check(shards)?;
    let decoded = shards
        .iter()
        .map(|shard| {
            Ok(Decoded {
                shard,
                started: time(&shard.file, "started", &shard.summary.started)?,
                ended: time(&shard.file, "ended", &shard.summary.ended)?,
            })
        })
        .collect::<Result<Vec<_>, MergeError>>()?;
    let first = &shards[0].summary;
    let started = decoded
        .iter()
        .map(|d| d.started)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let ended = decoded.iter().map(|d| d.ended).max().unwrap_or(started);

    let mut ops: Vec<(String, OpAcc)> = Vec::new();
    let mut stages: BTreeMap<usize, StageAcc> = BTreeMap::new();
    let mut drain = StageAcc::default();
    let mut failed: BTreeMap<OutcomeKind, Option<Hist>> = BTreeMap::new();
    let mut lag: Option<Hist> = None;
    let mut errors: Vec<ErrorCount> = Vec::new();
    let mut timeline: BTreeMap<u64, TimelinePoint> = BTreeMap::new();
    let interval = shards
        .iter()
        .map(|s| s.summary.timeline_interval_s)
        .fold(0.0, f64::max);
    let interval = if interval > 0.0 { interval } else { 1.0 };
    // Each operation's own timeline is coarser (fewer points): merge it on its widest interval.
    let mut op_interval: BTreeMap<&str, f64> = BTreeMap::new();
    for op in shards.iter().flat_map(|s| &s.summary.ops) {
        let widest = op
            .timeline
            .iter()
            .map(|p| p.duration_s)
            .fold(interval, f64::max);
        let e = op_interval.entry(op.name.as_str()).or_insert(widest);
        *e = e.max(widest);
    }
    let mut sessions = SessionStats::default();
    let (mut elapsed, mut raw_written, mut raw_lost) = (0.0f64, 0, 0);
    let mut stop_reason: Option<StopReason> = None;

    for d in &decoded {
        let s = &d.shard.summary;
        let offset = d
            .started
            .duration_since(started)
            .unwrap_or_default()
            .as_secs_f64();
        let Some(h) = &s.histograms else {
            return Err(MergeError::NoHistograms { file: d.file() });
        };
        let shape = |what: String| MergeError::Shape {
            file: d.file(),
            what,
        };
        for op in &s.ops {
            let hists = h
                .ops
                .iter()
                .find(|o| o.name == op.name)
                .ok_or_else(|| shape(format!("no histograms for operation {:?}", op.name)))?;
            let i = match ops.iter().position(|(n, _)| *n == op.name) {
                Some(i) => i,
                None => {
                    ops.push((op.name.clone(), OpAcc::default()));
                    ops.len() - 1
                }
            };
            let acc = &mut ops[i].1;
            add_counts(&mut acc.counts, &op.totals.counts);
            let what = format!("operation {:?}", op.name);
            d.add_pair(what.clone(), &mut acc.hists, &hists.hists)?;
            d.add_one(what, &mut acc.ok, &hists.ok)?;
            let width = op_interval
                .get(op.name.as_str())
                .copied()
                .unwrap_or(interval);
            add_timeline(&mut acc.timeline, &op.timeline, offset, width);
        }
        if h.stages.len() != s.stages.len() {
            return Err(shape(format!(
                "{} stages, {} stage histograms",
                s.stages.len(),
                h.stages.len()
            )));
        }
        for (st, hists) in s.stages.iter().zip(&h.stages) {
            let acc = stages.entry(st.stage.saturating_sub(1)).or_default();
            acc.target_rate += st.target_rate;
            acc.window(st.start_s, st.duration_s);
            acc.scheduled += st.scheduled;
            acc.sent += st.sent;
            add_counts(&mut acc.counts, &st.totals.counts);
            d.add_pair(format!("stage {}", st.stage), &mut acc.hists, hists)?;
        }
        drain.window(s.drain.start_s, s.drain.duration_s);
        add_counts(&mut drain.counts, &s.drain.totals.counts);
        d.add_pair("the drain".into(), &mut drain.hists, &h.drain)?;
        for f in &h.failed_latency {
            let what = format!("the unanswered {} calls", f.kind);
            d.add_one(what, failed.entry(f.kind).or_default(), &f.latency)?;
        }
        d.add_one("the schedule lag".into(), &mut lag, &h.schedule_lag)?;
        merge_errors(&mut errors, s);
        add_timeline(&mut timeline, &s.timeline, offset, interval);
        sessions += s.sessions;
        elapsed = elapsed.max(s.duration_s);
        raw_written += s.raw_lines_written;
        raw_lost += s.raw_lines_lost;
        stop_reason = stop_reason.max(s.stop_reason);
    }
    // The recorder's order: most frequent first, ties by message.
    errors.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.message.cmp(&b.message))
    });

    let hist = |h: Option<Hist>| h.unwrap_or_else(empty_hist);
    let n_stages = stages.len();
    let snap = Snapshot {
        elapsed: Duration::from_secs_f64(elapsed),
        ops: ops
            .into_iter()
            .map(|(name, a)| OpStats {
                name,
                counts: a.counts,
                latency: hist(a.hists.0),
                service: hist(a.hists.1),
                ok_latency: hist(a.ok),
                timeline: a.timeline.into_values().collect(),
            })
            .collect(),
        drain: drain.stats(n_stages, &hist),
        stages: stages
            .into_iter()
            .map(|(index, a)| a.stats(index, &hist))
            .collect(),
        // In the recorder's order (OutcomeKind::ALL), kinds seen only.
        failed_latency: OutcomeKind::ALL
            .into_iter()
            .filter_map(|k| Some((k, failed.remove(&k)??)))
            .collect(),
        // Time in breach and the worst window are live, per-process views of one share; the merged
        // verdicts leave them out (0 and none): Prometheus has the run's live view.
        slo_windows: Vec::new(),
        // Handshake times are not in the raw streams: the merged summary leaves them out.
        handshakes: Vec::new(),
        timeline: timeline.into_values().collect(),
        top_errors: errors,
        schedule_lag: hist(lag),
        run_info: RunInfo {
            run_id: first.run_id.clone(),
            target: first.target.clone(),
            protocol: first.protocol.version.clone().unwrap_or_default(),
            transport: first.transport,
            labels: common_labels(shards),
        },
        slos: slos_of(first),
        sessions,
        current_stage: None,
        in_flight: 0,
        raw_written,
        raw_lost,
        timeline_interval: Duration::from_secs_f64(interval),
    };
    let meta = RunMeta {
        protocol: Some(first.protocol.clone()),
        config: merged_config(shards),
        aborted: shards.iter().any(|s| s.summary.aborted),
        stop_reason,
        // A merge of checkpoints is itself a checkpoint: the load was still going on.
        is_final: shards.iter().all(|s| s.summary.is_final),
        // Every shard's changes, in time order (each from its own start).
        events: {
            let mut all: Vec<_> = shards
                .iter()
                .flat_map(|s| s.summary.events.clone())
                .collect();
            all.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
            all
        },
        ..RunMeta::new(started, ended)
    };
    let mut summary = summary::build(&snap, meta);
    carry_soak(&mut summary, shards);
    Ok(Merged {
        summary,
        missing: missing_shares(shards),
    })
}

/// Every shard samples the same server: the merged summary keeps the soak section (and its SLO
/// verdicts) of the first shard the server capped (its memory line says nothing about a leak), else
/// of the first shard that sampled one. Refusals add up across shards: when together they make the
/// run [`capped`](super::verdicts::capped) though no shard was alone, the merged soak is capped too.
fn carry_soak(summary: &mut Summary, shards: &[Shard]) {
    let carried = shards
        .iter()
        .find(|s| s.summary.soak.capped)
        .or_else(|| shards.iter().find(|s| s.summary.soak.source.is_some()));
    if let Some(s) = carried {
        summary.soak = s.summary.soak.clone();
        let soak_slos = s.summary.slos.iter().filter(|v| v.objective.is_soak());
        summary.slos.extend(soak_slos.cloned());
    }
    let together = super::verdicts::capped(&summary.sessions);
    match together {
        Some(why) if !summary.soak.capped => {
            super::verdicts::apply_cap(&mut summary.soak, &mut summary.slos, why);
        }
        _ if carried.is_none() => return,
        _ => {}
    }
    summary.slo_passed = summary.slos.iter().all(|v| v.passed);
    summary.assessment = super::assess::assess(summary);
}

/// The static labels every shard carries with the same value (a label that tells shards apart, such
/// as a pod name, does not describe the whole load).
fn common_labels(shards: &[Shard]) -> BTreeMap<String, String> {
    let mut labels = shards[0].summary.labels.clone();
    labels.retain(|k, v| shards.iter().all(|s| s.summary.labels.get(k) == Some(v)));
    labels
}

/// The SLOs the shards were judged on (the same in every shard: they come from one config).
fn slos_of(s: &Summary) -> Vec<Slo> {
    s.config
        .get("slos")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The first shard's configuration, with its share replaced by the list of merged shards.
fn merged_config(shards: &[Shard]) -> serde_json::Value {
    let mut config = shards[0].summary.config.clone();
    if let Some(limits) = config
        .get_mut("limits")
        .and_then(serde_json::Value::as_object_mut)
    {
        limits.insert("instance_share".into(), serde_json::Value::Null);
    }
    if let Some(obj) = config.as_object_mut() {
        let merged: Vec<_> = shards
            .iter()
            .map(|s| {
                serde_json::json!({
                    "file": s.file,
                    "instance_share": shard_of(&s.summary).map(|(i, n)| format!("{i}/{n}")),
                })
            })
            .collect();
        obj.insert("merged_shards".into(), merged.into());
    }
    config
}

/// Shares `i/n` of the load that none of the inputs is.
fn missing_shares(shards: &[Shard]) -> Vec<String> {
    let Some((_, n)) = shards.iter().find_map(|s| shard_of(&s.summary)) else {
        return Vec::new();
    };
    (0..n)
        .filter(|i| !shards.iter().any(|s| shard_of(&s.summary) == Some((*i, n))))
        .map(|i| format!("{i}/{n}"))
        .collect()
}

/// Adds one shard's error messages (its run-wide and per-operation top lists, each message once).
fn merge_errors(acc: &mut Vec<ErrorCount>, s: &Summary) {
    let mut shard: Vec<&summary::ErrorMessage> = Vec::new();
    for m in s
        .errors
        .top_messages
        .iter()
        .chain(s.ops.iter().flat_map(|o| &o.top_messages))
    {
        if !shard
            .iter()
            .any(|e| e.op == m.op && e.kind == m.kind && e.message == m.message)
        {
            shard.push(m);
        }
    }
    for m in shard {
        let kind = m.kind;
        match acc
            .iter_mut()
            .find(|e| e.op == m.op && e.kind == kind && e.message == m.message)
        {
            Some(e) => e.count += m.count,
            None => acc.push(ErrorCount {
                op: m.op.clone(),
                kind,
                message: m.message.clone(),
                count: m.count,
            }),
        }
    }
}
