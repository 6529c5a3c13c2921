//! Every metric mcp-soak exports. The metrics table in docs/metrics.md, the Grafana dashboards and the
//! Prometheus rules are written against these names; a test keeps them in step.

/// Counter `{tool, outcome}`: calls by operation and outcome kind (dropped slots included).
pub const CALLS_TOTAL: &str = "mcp_soak_calls_total";
/// Histogram `{tool}`: latency from the intended send time (coordinated-omission free), seconds.
pub const CALL_LATENCY_SECONDS: &str = "mcp_soak_call_latency_seconds";
/// Histogram `{tool}`: service time from the actual send, seconds.
pub const CALL_SERVICE_SECONDS: &str = "mcp_soak_call_service_seconds";
/// Counter `{tool, status}`: HTTP error replies by status (bounded set, `other` for the rest).
pub const HTTP_ERRORS_TOTAL: &str = "mcp_soak_http_errors_total";
/// Counter `{tool, code}`: JSON-RPC errors by code (bounded set, `other` for the rest).
pub const RPC_ERRORS_TOTAL: &str = "mcp_soak_rpc_errors_total";
/// Counter: slots the scheduler could not start (in-flight cap).
pub const DROPPED_SLOTS_TOTAL: &str = "mcp_soak_dropped_slots_total";
/// Histogram: how late calls started against their intended time, seconds.
pub const SCHEDULE_LAG_SECONDS: &str = "mcp_soak_schedule_lag_seconds";
/// Histogram `{kind}`: time calls spent on handshakes (`initialize`, `token_refresh`), kept out of
/// service time.
pub const HANDSHAKE_SECONDS: &str = "mcp_soak_handshake_seconds";
/// Gauge: calls/s the schedule asks for now.
pub const TARGET_RATE: &str = "mcp_soak_target_calls_per_second";
/// Gauge: calls/s completed over the last progress interval.
pub const ACHIEVED_RATE: &str = "mcp_soak_achieved_calls_per_second";
/// Gauge: calls in flight.
pub const IN_FLIGHT: &str = "mcp_soak_in_flight";
/// Gauge: sessions open now.
pub const SESSIONS_ACTIVE: &str = "mcp_soak_sessions_active";
/// Counter: sessions initialized.
pub const SESSIONS_INITIALIZED_TOTAL: &str = "mcp_soak_sessions_initialized_total";
/// Counter: the load's sessions the server expired (their replacements: `SESSIONS_REINITIALIZED_TOTAL`).
pub const SESSIONS_EXPIRED_TOTAL: &str = "mcp_soak_sessions_expired_total";
/// Counter: sessions DELETEd (the server answered 2xx).
pub const SESSIONS_DELETED_TOTAL: &str = "mcp_soak_sessions_deleted_total";
/// Counter: sessions opened and never DELETEd on purpose (`abandon`).
pub const SESSIONS_ABANDONED_TOTAL: &str = "mcp_soak_sessions_abandoned_total";
/// Counter: initializes that replaced a session the server expired.
pub const SESSIONS_REINITIALIZED_TOTAL: &str = "mcp_soak_sessions_reinitialized_total";
/// Counter: initializes the server refused (an HTTP or JSON-RPC error, e.g. 503 past a session cap).
pub const SESSIONS_REFUSED_TOTAL: &str = "mcp_soak_sessions_refused_total";
/// Gauge: index of the current stage (0-based).
pub const STAGE: &str = "mcp_soak_stage";
/// Gauge `{tool}`: SLO p95 latency threshold, seconds.
pub const SLO_LATENCY_P95_SECONDS: &str = "mcp_soak_slo_latency_p95_seconds";
/// Gauge `{tool}`: SLO minimum successful calls/s.
pub const SLO_MIN_CALLS_PER_SECOND: &str = "mcp_soak_slo_min_calls_per_second";
/// Gauge `{tool}`: SLO maximum error ratio.
pub const SLO_MAX_ERROR_RATIO: &str = "mcp_soak_slo_max_error_ratio";
/// Gauge: SLO maximum growth of the target's resident memory, bytes per hour (`[soak]`).
pub const SLO_MAX_MEMORY_GROWTH: &str = "mcp_soak_slo_max_memory_growth_bytes_per_hour";
/// Gauge: SLO maximum p95 drift, last window against the first steady one (0.2 = +20 %).
pub const SLO_MAX_P95_DRIFT: &str = "mcp_soak_slo_max_p95_drift_ratio";
/// Gauge `{tool, objective}`: 1 while the objective fails over the sliding SLO window, else 0.
pub const SLO_FAILING: &str = "mcp_soak_slo_failing";
/// Gauge `{version}` = 1.
pub const BUILD_INFO: &str = "mcp_soak_build_info";
/// Gauge `{run_id, target, protocol, transport}` = 1.
pub const RUN_INFO: &str = "mcp_soak_run_info";
/// Gauge: 1 while the run sends traffic, 0 before and after.
pub const RUNNING: &str = "mcp_soak_running";
/// Counter `{action}`: changes made to the running soak (controls and reloads).
pub const CONTROL_CHANGES_TOTAL: &str = "mcp_soak_control_changes_total";
/// Gauge: stdio server processes up now (0 for an HTTP target).
pub const SERVER_PROCESSES: &str = "mcp_soak_server_processes";
/// Counter: stdio server process restarts (after an exit or a closed stdout).
pub const SERVER_RESTARTS_TOTAL: &str = "mcp_soak_server_process_restarts_total";
/// Gauge: resident memory of the stdio server processes (their whole process groups), bytes.
pub const SERVER_RESIDENT_BYTES: &str = "mcp_soak_server_resident_bytes";
/// Gauge: CPU time of the stdio server processes, seconds, cumulative over restarts (a gauge because
/// the exporter's counters are integers; `rate()` over it is the CPU use).
pub const SERVER_CPU_SECONDS: &str = "mcp_soak_server_cpu_seconds";
/// Gauge: open file descriptors of the stdio server processes.
pub const SERVER_OPEN_FDS: &str = "mcp_soak_server_open_fds";
/// Gauge: resident memory of the target server (`target.metrics_url` or `target.pid`), bytes.
pub const TARGET_RESIDENT_BYTES: &str = "mcp_soak_target_resident_bytes";
/// Gauge: open file descriptors of the target server.
pub const TARGET_OPEN_FDS: &str = "mcp_soak_target_open_fds";
/// Gauge: CPU time of the target server, seconds, cumulative (`rate()` over it is the CPU use).
pub const TARGET_CPU_SECONDS: &str = "mcp_soak_target_cpu_seconds";
/// Gauge: threads of the target server (`target.pid` only).
pub const TARGET_THREADS: &str = "mcp_soak_target_threads";
/// Gauge `{series}`: a series the user named in `target.metrics_series`, as the server reported it.
pub const TARGET_SERIES: &str = "mcp_soak_target_series";
/// Counter `{reason}`: samples of the target's resources that failed (unreachable, http_status,
/// not_prometheus, series_absent, process_gone).
pub const TARGET_SAMPLE_FAILURES_TOTAL: &str = "mcp_soak_target_sample_failures_total";

/// What a metric is, for its `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported metric: name, kind, unit and help text (its `# HELP` line).
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: MetricKind,
    pub unit: Option<metrics::Unit>,
    pub help: &'static str,
}

/// Every metric mcp-soak exports, in one table: the exporter's `# HELP`/`# TYPE` lines come from
/// it, and a test holds docs/metrics.md to it.
pub const METRICS: [Metric; 40] = [
    Metric {
        name: CALLS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Calls by tool and outcome (dropped slots included).",
    },
    Metric {
        name: CALL_LATENCY_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(metrics::Unit::Seconds),
        help: "Latency from the intended send time.",
    },
    Metric {
        name: CALL_SERVICE_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(metrics::Unit::Seconds),
        help: "Service time from the actual send.",
    },
    Metric {
        name: HTTP_ERRORS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "HTTP error replies by tool and status.",
    },
    Metric {
        name: RPC_ERRORS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "JSON-RPC errors by tool and code.",
    },
    Metric {
        name: DROPPED_SLOTS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Slots the scheduler could not start (in-flight cap, or paused for Retry-After).",
    },
    Metric {
        name: SCHEDULE_LAG_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(metrics::Unit::Seconds),
        help: "Actual send time minus intended send time.",
    },
    Metric {
        name: HANDSHAKE_SECONDS,
        kind: MetricKind::Histogram,
        unit: Some(metrics::Unit::Seconds),
        help: "Time calls spent on handshakes (initialize, token refresh), kept out of service time.",
    },
    Metric {
        name: TARGET_RATE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Calls per second the schedule asks for now.",
    },
    Metric {
        name: ACHIEVED_RATE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Calls per second completed over the last progress interval.",
    },
    Metric {
        name: IN_FLIGHT,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Calls in flight.",
    },
    Metric {
        name: SESSIONS_ACTIVE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "MCP sessions open now.",
    },
    Metric {
        name: SESSIONS_INITIALIZED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP sessions initialized.",
    },
    Metric {
        name: SESSIONS_EXPIRED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP sessions the server expired.",
    },
    Metric {
        name: SESSIONS_DELETED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP sessions DELETEd (the server answered 2xx).",
    },
    Metric {
        name: SESSIONS_ABANDONED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP sessions opened and never DELETEd on purpose (session strategy abandon).",
    },
    Metric {
        name: SESSIONS_REINITIALIZED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP initializes that replaced a session the server expired.",
    },
    Metric {
        name: SESSIONS_REFUSED_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "MCP initializes the server refused (an HTTP or JSON-RPC error, e.g. 503 past a session cap).",
    },
    Metric {
        name: STAGE,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Number of the current stage (from 1, as in the progress line and the reports).",
    },
    Metric {
        name: SLO_LATENCY_P95_SECONDS,
        kind: MetricKind::Gauge,
        unit: Some(metrics::Unit::Seconds),
        help: "SLO: p95 latency threshold.",
    },
    Metric {
        name: SLO_MIN_CALLS_PER_SECOND,
        kind: MetricKind::Gauge,
        unit: None,
        help: "SLO: minimum successful calls per second.",
    },
    Metric {
        name: SLO_MAX_ERROR_RATIO,
        kind: MetricKind::Gauge,
        unit: None,
        help: "SLO: maximum error ratio.",
    },
    Metric {
        name: SLO_FAILING,
        kind: MetricKind::Gauge,
        unit: None,
        help: "SLO: 1 while the objective fails over the sliding window (--slo-window), else 0.",
    },
    Metric {
        name: BUILD_INFO,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Build information (value 1).",
    },
    Metric {
        name: RUN_INFO,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Run information (value 1).",
    },
    Metric {
        name: RUNNING,
        kind: MetricKind::Gauge,
        unit: None,
        help: "1 while the run sends traffic.",
    },
    Metric {
        name: CONTROL_CHANGES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Changes made to the running soak (pause, resume, rate, mix, slos).",
    },
    Metric {
        name: SERVER_PROCESSES,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Stdio server processes up now (0 for an HTTP target).",
    },
    Metric {
        name: SERVER_RESTARTS_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Stdio server process restarts after an exit or a closed stdout.",
    },
    Metric {
        name: SERVER_RESIDENT_BYTES,
        kind: MetricKind::Gauge,
        unit: Some(metrics::Unit::Bytes),
        help: "Resident memory of the stdio server process groups.",
    },
    Metric {
        name: SERVER_CPU_SECONDS,
        kind: MetricKind::Gauge,
        unit: Some(metrics::Unit::Seconds),
        help: "CPU time of the stdio server process groups, cumulative over restarts.",
    },
    Metric {
        name: SERVER_OPEN_FDS,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Open file descriptors of the stdio server process groups.",
    },
    Metric {
        name: TARGET_RESIDENT_BYTES,
        kind: MetricKind::Gauge,
        unit: Some(metrics::Unit::Bytes),
        help: "Resident memory of the target server (metrics_url, pid or the stdio pool).",
    },
    Metric {
        name: TARGET_OPEN_FDS,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Open file descriptors of the target server.",
    },
    Metric {
        name: TARGET_CPU_SECONDS,
        kind: MetricKind::Gauge,
        unit: Some(metrics::Unit::Seconds),
        help: "CPU time of the target server, cumulative.",
    },
    Metric {
        name: TARGET_THREADS,
        kind: MetricKind::Gauge,
        unit: None,
        help: "Threads of the target server.",
    },
    Metric {
        name: TARGET_SERIES,
        kind: MetricKind::Gauge,
        unit: None,
        help: "A series named in target.metrics_series, as the server reported it.",
    },
    Metric {
        name: TARGET_SAMPLE_FAILURES_TOTAL,
        kind: MetricKind::Counter,
        unit: None,
        help: "Failed samples of the target's resources, by reason.",
    },
    Metric {
        name: SLO_MAX_MEMORY_GROWTH,
        kind: MetricKind::Gauge,
        unit: None,
        help: "SLO: maximum growth of the target's resident memory, bytes per hour.",
    },
    Metric {
        name: SLO_MAX_P95_DRIFT,
        kind: MetricKind::Gauge,
        unit: None,
        help: "SLO: maximum p95 drift, last window against the first steady one.",
    },
];

/// The `tool` label value for an SLO that covers every operation.
pub const ALL_TOOLS: &str = "_all";

/// Latency histogram bucket bounds (seconds), ~1 ms to 60 s; SLO p95 thresholds are added to these.
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
];

/// Schedule-lag histogram bucket bounds (seconds).
pub const LAG_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0,
];

/// HTTP statuses that get their own `status` label value; anything else is `other`.
pub const KNOWN_STATUSES: [u16; 18] = [
    400, 401, 403, 404, 405, 406, 408, 409, 413, 415, 421, 422, 429, 500, 501, 502, 503, 504,
];

/// JSON-RPC codes that get their own `code` label value; anything else is `other`.
pub const KNOWN_RPC_CODES: [i64; 12] = [
    -32700, -32600, -32601, -32602, -32603, -32000, -32001, -32002, -32020, -32022, -32042, -1,
];

/// The label value for statuses and codes outside the known sets.
pub const OTHER: &str = "other";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_described_once() {
        let mut names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len(), "a metric described twice");
        assert!(
            names.iter().all(|n| n.starts_with("mcp_soak_")),
            "{names:?}"
        );
    }
}
