//! Three real `mcp-soak run` processes share one load (`--instance-share i/3`, one `--run-id`) against
//! the in-process mock; `mcp-soak merge` of their summaries equals, percentile for percentile, one HDR
//! histogram built from the union of the calls their raw streams recorded.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mcp_soak::record::new_hist;
use mcp_soak::report::Summary;
use mcp_soak::report::summary::LatencyStats;
use support::{bin, fixed_latency, mock, start_run};

const SHARDS: usize = 3;
const CALLS: u64 = 900;

/// (corrected, service) latency in µs of every answered call in a raw stream.
fn raw_latencies(path: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(path).expect("raw stream written");
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("raw line is JSON"))
        .filter_map(|v| {
            let us = |k: &str| v[k].as_f64().map(|ms| (ms * 1e3).round() as u64);
            Some((us("latency_ms")?, us("service_ms")?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_shards_equal_one_histogram_of_every_call() {
    let m = mock(fixed_latency(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runs = Vec::new();
    for i in 0..SHARDS {
        let raw = dir.path().join(format!("raw-{i}.jsonl"));
        let args = format!(
            "--mix list_clusters=1 --rate 300 --max-calls {CALLS} --instance-share {i}/{SHARDS} \
             --run-id shards-test --metrics-listen none --quiet --raw {}",
            raw.display()
        );
        let (soak, summary) = start_run(&m.url, &args);
        runs.push((soak, summary, raw));
    }
    let mut summaries = Vec::new();
    let (mut corrected, mut service) = (new_hist().expect("hist"), new_hist().expect("hist"));
    for (i, (mut soak, summary, raw)) in runs.into_iter().enumerate() {
        let st = soak.wait(Duration::from_secs(60)).await;
        assert_eq!(st.code(), Some(0), "shard {i}: {}", soak.stderr());
        let copy = dir.path().join(format!("shard-{i}.json"));
        std::fs::copy(&summary, &copy).expect("copy summary");
        summaries.push(copy);
        for (c, s) in raw_latencies(&raw) {
            corrected.saturating_record(c);
            service.saturating_record(s);
        }
    }
    let out = Command::new(bin())
        .arg("merge")
        .args(&summaries)
        .output()
        .expect("run mcp-soak merge");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: Summary = serde_json::from_slice(&out.stdout).expect("merged summary");
    assert_eq!(merged.run_id, "shards-test");
    // --max-calls is split exactly: the shards' calls add up to the configured count.
    assert_eq!(merged.totals.calls, CALLS);
    assert_eq!(
        merged.totals.counts.ok, CALLS,
        "the mock answers every call"
    );
    assert_eq!(
        merged.latency.corrected,
        LatencyStats::from_hist(&corrected),
        "merged percentiles = those of one histogram of every call"
    );
    assert_eq!(merged.latency.service, LatencyStats::from_hist(&service));
    assert_eq!(m.stats().total_calls(), CALLS);
}
