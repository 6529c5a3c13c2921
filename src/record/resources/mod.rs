//! The target server's own resources, sampled during the run: from its Prometheus endpoint
//! (`target.metrics_url`) or from `/proc` for a local process (`target.pid`). Each sample is set on
//! the `mcp_soak_target_*` gauges and kept in a bounded timeline (when full, every other sample is
//! dropped and the stride doubles, so a week-long soak keeps the same few hundred points, evenly
//! spread) from which the leak verdict is computed at the end.
//!
//! Bad input never stops the run: an unreachable endpoint, a body that is not Prometheus text, a
//! vanished process or an absent series is logged once per reason with the details, counted on
//! `mcp_soak_target_sample_failures_total{reason}`, and leaves the timeline short, so the verdict
//! says "not measured" rather than "passed".

mod prom_text;

use std::collections::BTreeMap;
use std::time::Duration;

use metrics::{Counter, Gauge, Label};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{Recorder, names};
use crate::plan::{ResourceSource, Resources};

pub use prom_text::{ParseError, pick};

/// The key of resident memory in a sample (from `/proc` or `process_resident_memory_bytes`).
pub const RESIDENT_BYTES: &str = "resident_bytes";
/// The key of open file descriptors (`/proc` or `process_open_fds`).
pub const OPEN_FDS: &str = "open_fds";
/// The key of cumulative CPU seconds (`/proc` or `process_cpu_seconds_total`).
pub const CPU_SECONDS: &str = "cpu_seconds";
/// The key of threads (`/proc` only).
pub const THREADS: &str = "threads";

/// The Prometheus series scraped by default, and the sample key each one fills.
pub const DEFAULT_SERIES: [(&str, &str); 3] = [
    ("process_resident_memory_bytes", RESIDENT_BYTES),
    ("process_open_fds", OPEN_FDS),
    ("process_cpu_seconds_total", CPU_SECONDS),
];

/// Samples kept at most (the timeline halves its resolution beyond this).
pub const MAX_SAMPLES: usize = 720;

/// Why one sample could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("target.metrics_url {url} unreachable: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("target.metrics_url {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("target.metrics_url {url}: {source}")]
    NotPrometheus {
        url: String,
        #[source]
        source: ParseError,
    },
    #[error("target.metrics_series absent from {url}: {names}")]
    SeriesAbsent { url: String, names: String },
    #[error("target.pid {pid}: the process is gone (or /proc is not readable)")]
    ProcessGone { pid: u32 },
    #[error("no stdio server process is up")]
    NoServerProcess,
}

impl SampleError {
    /// The bounded `reason` label.
    pub fn reason(&self) -> &'static str {
        match self {
            SampleError::Unreachable { .. } => "unreachable",
            SampleError::Status { .. } => "http_status",
            SampleError::NotPrometheus { .. } => "not_prometheus",
            SampleError::SeriesAbsent { .. } => "series_absent",
            SampleError::ProcessGone { .. } | SampleError::NoServerProcess => "process_gone",
        }
    }
}

/// The `reason` label values, in a fixed order.
pub const REASONS: [&str; 5] = [
    "unreachable",
    "http_status",
    "not_prometheus",
    "series_absent",
    "process_gone",
];

/// One sample: seconds since the sampler started, and values by key ([`RESIDENT_BYTES`]…, or the
/// series name for the series the user named).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Sample {
    pub at_s: f64,
    pub values: BTreeMap<String, f64>,
}

/// One sample of one quantity: seconds since the sampler started and the value (bytes, fds…); what
/// the leak verdict (`report::verdicts`) fits its slope to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at_s: f64,
    pub value: f64,
}

/// A bounded, evenly thinned list of samples.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    max: usize,
    stride: u64,
    offered: u64,
    samples: Vec<Sample>,
}

impl Timeline {
    /// Keeps at most `max` (at least 2) samples.
    pub fn new(max: usize) -> Self {
        Timeline {
            max: max.max(2),
            stride: 1,
            offered: 0,
            samples: Vec::new(),
        }
    }

    /// Offers one sample; kept when it falls on the current stride.
    pub fn push(&mut self, s: Sample) {
        let n = self.offered;
        self.offered += 1;
        if !n.is_multiple_of(self.stride) {
            return;
        }
        self.samples.push(s);
        if self.samples.len() > self.max {
            let mut i = 0;
            self.samples.retain(|_| {
                i += 1;
                (i - 1) % 2 == 0
            });
            self.stride *= 2;
        }
    }

    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The timeline of one key, for a verdict.
    pub fn series(&self, key: &str) -> Vec<Point> {
        self.samples
            .iter()
            .filter_map(|s| {
                s.values.get(key).map(|&value| Point {
                    at_s: s.at_s,
                    value,
                })
            })
            .collect()
    }
}

/// What the sampler saw over the run.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Where the samples came from (the metrics URL without credentials, or `pid N`).
    pub source: String,
    pub timeline: Timeline,
    /// Failed samples by reason.
    pub failures: BTreeMap<&'static str, u64>,
    /// The last failure, in words.
    pub last_failure: Option<String>,
}

/// The values of the stdio pool's latest sample (summed over its process groups).
pub fn pool_values(
    p: Option<crate::mcp::stdio::ProcessSample>,
) -> Result<BTreeMap<String, f64>, SampleError> {
    let p = p
        .filter(|p| p.running > 0)
        .ok_or(SampleError::NoServerProcess)?;
    Ok(BTreeMap::from([
        (RESIDENT_BYTES.to_owned(), p.resident_bytes as f64),
        (OPEN_FDS.to_owned(), p.open_fds as f64),
        (CPU_SECONDS.to_owned(), p.cpu_seconds),
    ]))
}

/// Takes one reading from `source`; `pool` is the stdio pool's latest sample (for
/// [`ResourceSource::StdioPool`]).
pub async fn read(
    source: &ResourceSource,
    series: &[String],
    http: &reqwest::Client,
    pool: Option<crate::mcp::stdio::ProcessSample>,
) -> Result<BTreeMap<String, f64>, SampleError> {
    match source {
        ResourceSource::StdioPool => pool_values(pool),
        ResourceSource::Pid(pid) => {
            let u = crate::mcp::stdio::process_usage(*pid)
                .ok_or(SampleError::ProcessGone { pid: *pid })?;
            Ok(BTreeMap::from([
                (RESIDENT_BYTES.to_owned(), u.resident_bytes as f64),
                (OPEN_FDS.to_owned(), u.open_fds as f64),
                (CPU_SECONDS.to_owned(), u.cpu_seconds),
                (THREADS.to_owned(), u.threads as f64),
            ]))
        }
        ResourceSource::Metrics(url) => {
            let shown = crate::secret::strip_credentials(url);
            let unreachable = |source| SampleError::Unreachable {
                url: shown.clone(),
                source,
            };
            let resp = http.get(url).send().await.map_err(unreachable)?;
            if !resp.status().is_success() {
                return Err(SampleError::Status {
                    url: shown,
                    status: resp.status().as_u16(),
                });
            }
            let body = resp.text().await.map_err(unreachable)?;
            let wanted: Vec<String> = DEFAULT_SERIES
                .iter()
                .map(|(n, _)| n.to_string())
                .chain(series.iter().cloned())
                .collect();
            let mut got = pick(&body, &wanted).map_err(|source| SampleError::NotPrometheus {
                url: shown.clone(),
                source,
            })?;
            let absent: Vec<&str> = series
                .iter()
                .map(String::as_str)
                .chain(
                    DEFAULT_SERIES
                        .iter()
                        .filter(|_| got.is_empty())
                        .map(|(n, _)| *n),
                )
                .filter(|n| !got.contains_key(*n))
                .collect();
            let mut out = BTreeMap::new();
            for (prom, key) in DEFAULT_SERIES {
                if let Some(v) = got.remove(prom) {
                    out.insert(key.to_owned(), v);
                }
            }
            out.extend(got);
            if !absent.is_empty() && out.is_empty() {
                return Err(SampleError::SeriesAbsent {
                    url: shown,
                    names: absent.join(", "),
                });
            }
            if !absent.is_empty() {
                // Some values came: keep them, but say what is missing once.
                tracing::debug!(url = %shown, absent = %absent.join(", "), "series absent");
            }
            Ok(out)
        }
    }
}

/// The scraper's HTTP client: a scrape may take at most one interval (200 ms to 10 s).
pub fn http_client(interval: Duration) -> reqwest::Client {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(interval.clamp(Duration::from_millis(200), Duration::from_secs(10)))
        .build()
        .unwrap_or_default()
}

/// The `mcp_soak_target_*` handles a sampler sets (registered when it starts, so a run without a
/// source exports none of them rather than zeros).
pub struct Handles {
    resident: Gauge,
    fds: Gauge,
    cpu: Gauge,
    threads: Gauge,
    named: Vec<(String, Gauge)>,
    failures: Vec<(&'static str, Counter)>,
}

impl Handles {
    pub fn new(rec: &Recorder, series: &[String]) -> Self {
        Handles {
            resident: rec.gauge(names::TARGET_RESIDENT_BYTES, vec![]),
            fds: rec.gauge(names::TARGET_OPEN_FDS, vec![]),
            cpu: rec.gauge(names::TARGET_CPU_SECONDS, vec![]),
            threads: rec.gauge(names::TARGET_THREADS, vec![]),
            named: series
                .iter()
                .map(|s| {
                    (
                        s.clone(),
                        rec.gauge(names::TARGET_SERIES, vec![Label::new("series", s.clone())]),
                    )
                })
                .collect(),
            failures: REASONS
                .iter()
                .map(|r| {
                    (
                        *r,
                        rec.counter(
                            names::TARGET_SAMPLE_FAILURES_TOTAL,
                            vec![Label::new("reason", *r)],
                        ),
                    )
                })
                .collect(),
        }
    }

    fn set(&self, values: &BTreeMap<String, f64>) {
        for (key, g) in [
            (RESIDENT_BYTES, &self.resident),
            (OPEN_FDS, &self.fds),
            (CPU_SECONDS, &self.cpu),
            (THREADS, &self.threads),
        ] {
            if let Some(v) = values.get(key) {
                g.set(*v);
            }
        }
        for (name, g) in &self.named {
            if let Some(v) = values.get(name) {
                g.set(*v);
            }
        }
    }
}

/// Samples `plan`'s source every `plan.interval` until `stop`, then returns what it saw. Returns
/// at once (empty) when no source is configured.
pub async fn sample(plan: Resources, rec: Recorder, stop: CancellationToken) -> Observed {
    let Some(source) = plan.source.clone() else {
        return Observed::default();
    };
    let handles = Handles::new(&rec, &plan.series);
    let http = http_client(plan.interval);
    let mut seen = Observed {
        source: match &source {
            ResourceSource::Metrics(u) => crate::secret::strip_credentials(u),
            ResourceSource::Pid(p) => format!("pid {p}"),
            ResourceSource::StdioPool => "stdio server processes".to_owned(),
        },
        timeline: Timeline::new(MAX_SAMPLES),
        ..Observed::default()
    };
    let start = Instant::now();
    let mut tick = tokio::time::interval(plan.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let at_s = start.elapsed().as_secs_f64();
        match read(&source, &plan.series, &http, rec.server_processes()).await {
            Ok(values) => {
                handles.set(&values);
                seen.timeline.push(Sample { at_s, values });
            }
            Err(e) => {
                let reason = e.reason();
                let n = seen.failures.entry(reason).or_insert(0);
                *n += 1;
                if *n == 1 {
                    tracing::warn!(reason, "target resources not sampled: {e}");
                }
                if let Some((_, c)) = handles.failures.iter().find(|(r, _)| *r == reason) {
                    c.increment(1);
                }
                seen.last_failure = Some(e.to_string());
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_s: f64) -> Sample {
        Sample {
            at_s,
            values: BTreeMap::from([(RESIDENT_BYTES.to_owned(), at_s * 10.0)]),
        }
    }

    #[test]
    fn timeline_stays_bounded_and_evenly_spread() {
        let mut t = Timeline::new(10);
        for i in 0..1000 {
            t.push(s(i as f64));
        }
        let got = t.samples();
        assert!(got.len() <= 10 && got.len() >= 5, "{}", got.len());
        assert_eq!(got[0].at_s, 0.0);
        let gaps: Vec<f64> = got.windows(2).map(|w| w[1].at_s - w[0].at_s).collect();
        assert!(gaps.iter().all(|g| *g == gaps[0]), "even spacing: {gaps:?}");
        assert!(got.last().expect("some").at_s > 800.0, "covers the run");
        assert_eq!(t.series(RESIDENT_BYTES).len(), got.len());
        assert!(t.series("absent").is_empty());
    }

    #[tokio::test]
    async fn reads_this_process_and_fails_clearly_for_a_gone_one() {
        let http = http_client(Duration::from_secs(1));
        let me = read(&ResourceSource::Pid(std::process::id()), &[], &http, None).await;
        if cfg!(target_os = "linux") {
            let me = me.expect("own process");
            assert!(me[RESIDENT_BYTES] > 0.0 && me[THREADS] >= 1.0);
        }
        let gone = read(&ResourceSource::Pid(u32::MAX), &[], &http, None)
            .await
            .expect_err("no such pid");
        assert_eq!(gone.reason(), "process_gone");
        assert!(gone.to_string().contains("4294967295"));
    }

    #[test]
    fn the_stdio_pool_counts_only_when_a_process_is_up() {
        use crate::mcp::stdio::ProcessSample;
        let up = ProcessSample {
            running: 2,
            resident_bytes: 5_000,
            open_fds: 9,
            cpu_seconds: 1.5,
            ..ProcessSample::default()
        };
        let v = pool_values(Some(up)).expect("sampled");
        assert_eq!(
            (v[RESIDENT_BYTES], v[OPEN_FDS], v[CPU_SECONDS]),
            (5000.0, 9.0, 1.5)
        );
        for none in [None, Some(ProcessSample::default())] {
            let e = pool_values(none).expect_err("nothing up");
            assert_eq!(e.reason(), "process_gone");
        }
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_reason_not_a_crash() {
        let http = http_client(Duration::from_secs(1));
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let e = read(
            &ResourceSource::Metrics(format!("http://127.0.0.1:{port}/metrics")),
            &[],
            &http,
            None,
        )
        .await
        .expect_err("refused");
        assert_eq!(e.reason(), "unreachable");
    }
}
