//! The mock's configuration: one serde struct (so docker-compose and config files can set it) that the
//! `mcp-soak mock` flags also lower into. Durations are humantime strings in files (`"250ms"`, `"2s"`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::MockError;

/// Everything the mock server needs: transport choices, allowed hosts, seed and faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// HTTP path of the MCP endpoint (default `/mcp`).
    pub path: String,
    /// Extra `Host` values accepted besides loopback (`localhost`, `127.0.0.1`, `::1`), e.g. a
    /// docker-compose service name. `"*"` accepts any Host and any Origin.
    pub allowed_hosts: Vec<String>,
    /// Extra browser `Origin`s accepted (with scheme, `:*` for any port); origins on allowed hosts
    /// are always accepted, requests without `Origin` always pass.
    pub allowed_origins: Vec<String>,
    /// Serve every request statelessly (no `Mcp-Session-Id`, even for `initialize`).
    pub stateless: bool,
    /// Answer stateless requests with `application/json` instead of an SSE stream.
    pub json_response: bool,
    /// Idle time after which a session is forgotten (then the client gets 404).
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Option<Duration>,
    /// At most this many sessions open at once: past it `initialize` is answered HTTP 503 with
    /// JSON-RPC -32603 "Too many open sessions", as the PyPI `mcp` server does past 10,000 (a DELETE
    /// or an idle expiry lets one more in). None: no cap. Ignored when `stateless`.
    pub max_sessions: Option<usize>,
    /// How many created payment ids `verify_payment` remembers (oldest forgotten first).
    pub payment_store_capacity: usize,
    /// Seed of the fault-injection RNG: the same seed and request order give the same faults.
    pub seed: u64,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Memory held on purpose (per undeleted session, per call), for testing leak verdicts.
    pub leak: super::LeakConfig,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            path: "/mcp".into(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            stateless: false,
            json_response: false,
            session_idle_timeout: Some(Duration::from_secs(300)),
            max_sessions: None,
            payment_store_capacity: 100_000,
            seed: 0x5eed,
            faults: FaultConfig::default(),
            leak: super::LeakConfig::default(),
        }
    }
}

/// Latency added before a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    /// Always the same delay.
    Fixed {
        #[serde(with = "humantime_serde")]
        delay: Duration,
    },
    /// `base` plus a uniform draw in `[0, jitter]`.
    Uniform {
        #[serde(with = "humantime_serde")]
        base: Duration,
        #[serde(with = "humantime_serde")]
        jitter: Duration,
    },
    /// A lognormal distribution fitted to a median and a 95th percentile (`p95 >= p50 > 0`).
    Lognormal {
        #[serde(with = "humantime_serde")]
        p50: Duration,
        #[serde(with = "humantime_serde")]
        p95: Duration,
    },
}

/// Probabilities (0..=1) of each injected error kind, per in-scope `tools/call`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ErrorRatios {
    /// A normal result with `isError: true`.
    pub tool_error: f64,
    /// A JSON-RPC error (-32603).
    pub rpc_error: f64,
    /// HTTP 500 before the MCP layer.
    pub http_500: f64,
    /// HTTP 429 with `Retry-After` before the MCP layer.
    pub http_429: f64,
}

impl ErrorRatios {
    /// Sum of the HTTP-level ratios.
    pub fn http_total(&self) -> f64 {
        self.http_500 + self.http_429
    }
    /// Sum of all ratios.
    pub fn total(&self) -> f64 {
        self.tool_error + self.rpc_error + self.http_500 + self.http_429
    }
    /// These ratios plus `other`'s (used while a degradation is active), each capped at 1.
    pub fn plus(&self, other: &ErrorRatios) -> ErrorRatios {
        ErrorRatios {
            tool_error: (self.tool_error + other.tool_error).min(1.0),
            rpc_error: (self.rpc_error + other.rpc_error).min(1.0),
            http_500: (self.http_500 + other.http_500).min(1.0),
            http_429: (self.http_429 + other.http_429).min(1.0),
        }
    }
    fn validate(&self, what: &str) -> Result<(), MockError> {
        for (name, v) in [
            ("tool_error", self.tool_error),
            ("rpc_error", self.rpc_error),
            ("http_500", self.http_500),
            ("http_429", self.http_429),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(MockError::Config(format!(
                    "{what}.{name} must be within 0..=1, got {v}"
                )));
            }
        }
        if self.total() > 1.0 + 1e-9 {
            return Err(MockError::Config(format!(
                "{what}: error ratios add up to {} (> 1)",
                self.total()
            )));
        }
        Ok(())
    }
}

/// A window, measured from server start, in which extra latency and errors are added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Degradation {
    /// Delay from server start before the degradation begins.
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    /// How long it lasts; `None` = until the server stops.
    #[serde(with = "humantime_serde")]
    pub duration: Option<Duration>,
    /// Latency added on top of the base latency while degraded.
    pub latency: Option<Latency>,
    /// Error ratios added to the base ratios while degraded.
    pub errors: ErrorRatios,
}

/// A stall: from `at` (after server start) for `duration`, every in-scope tool call waits until the
/// stall ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// When the stall starts, from server start.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// How long it lasts.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// Every fault the mock can inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Base latency of every in-scope tool call.
    pub latency: Option<Latency>,
    /// Base error ratios.
    pub errors: ErrorRatios,
    /// `Retry-After` sent with injected 429s (whole seconds, at least 1 on the wire).
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
    /// Only this tool gets faults (`None` = every tool).
    pub tool: Option<String>,
    /// A scheduled degradation.
    pub degradation: Option<Degradation>,
    /// A scheduled stall.
    pub stall: Option<Stall>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency: None,
            errors: ErrorRatios::default(),
            retry_after: Duration::from_secs(1),
            tool: None,
            degradation: None,
            stall: None,
        }
    }
}

impl Latency {
    fn validate(&self, what: &str) -> Result<(), MockError> {
        if let Latency::Lognormal { p50, p95 } = self
            && (p50.is_zero() || p95 < p50)
        {
            return Err(MockError::Config(format!(
                "{what}: lognormal latency needs p95 >= p50 > 0 (got p50 {p50:?}, p95 {p95:?})"
            )));
        }
        Ok(())
    }
}

impl MockConfig {
    /// Checks ratios, latency shapes and the path; called by [`super::spawn`].
    pub fn validate(&self) -> Result<(), MockError> {
        if !self.path.starts_with('/') || self.path == "/healthz" {
            return Err(MockError::Config(format!(
                "path must start with '/' and not be /healthz, got {:?}",
                self.path
            )));
        }
        let f = &self.faults;
        f.errors.validate("faults.errors")?;
        if let Some(l) = &f.latency {
            l.validate("faults.latency")?;
        }
        if let Some(d) = &f.degradation {
            d.errors.validate("faults.degradation.errors")?;
            f.errors
                .plus(&d.errors)
                .validate("faults.errors + faults.degradation.errors")?;
            if let Some(l) = &d.latency {
                l.validate("faults.degradation.latency")?;
            }
        }
        if self.payment_store_capacity == 0 {
            return Err(MockError::Config(
                "payment_store_capacity must be > 0".into(),
            ));
        }
        Ok(())
    }
}
