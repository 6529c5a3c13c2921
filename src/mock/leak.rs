//! The mock can leak on purpose, so that the soak verdicts are tested against a server that really
//! grows: `per_session` bytes held for every session until the client DELETEs it (the leak of servers
//! whose clients abandon sessions), and `per_call` bytes never freed. The bytes are written, so they
//! are resident, not just reserved. A cap (`max_bytes`, default 1 GiB) keeps a forgotten leaking mock
//! from taking the machine down.
//!
//! It also serves its own `process_*` metrics on `/metrics` (the same names a Prometheus client
//! library exports, read from `/proc/self`), plus `mcp_mock_leaked_bytes`, so `target.metrics_url`
//! can point at it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// `[leak]` of the mock's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeakConfig {
    /// Bytes held for each session until it is deleted (kept when it is only abandoned).
    pub per_session: u64,
    /// Bytes never freed, per tool call.
    pub per_call: u64,
    /// Leaking stops past this many bytes in all.
    pub max_bytes: u64,
}

impl Default for LeakConfig {
    fn default() -> Self {
        LeakConfig {
            per_session: 0,
            per_call: 0,
            max_bytes: 1 << 30,
        }
    }
}

/// What the mock holds on purpose.
#[derive(Debug, Default)]
pub(crate) struct Leak {
    cfg: LeakConfig,
    sessions: Mutex<HashMap<String, Vec<u8>>>,
    calls: Mutex<Vec<Vec<u8>>>,
    bytes: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Leak {
    pub(crate) fn new(cfg: LeakConfig) -> Self {
        Leak {
            cfg,
            ..Leak::default()
        }
    }

    /// `n` resident bytes, or nothing past the cap.
    fn take(&self, n: u64) -> Option<Vec<u8>> {
        if n == 0 || self.bytes.load(Ordering::Relaxed) + n > self.cfg.max_bytes {
            return None;
        }
        self.bytes.fetch_add(n, Ordering::Relaxed);
        Some(vec![0xA5; n as usize])
    }

    pub(crate) fn session_opened(&self, id: &str) {
        if let Some(v) = self.take(self.cfg.per_session) {
            lock(&self.sessions).insert(id.to_owned(), v);
        }
    }

    pub(crate) fn session_deleted(&self, id: &str) {
        if let Some(v) = lock(&self.sessions).remove(id) {
            self.bytes.fetch_sub(v.len() as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn call(&self) {
        if let Some(v) = self.take(self.cfg.per_call) {
            lock(&self.calls).push(v);
        }
    }

    /// Bytes held on purpose now.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The `/metrics` body: `process_*` of this process and the bytes held on purpose.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if let Some(u) = crate::mcp::stdio::process_usage(std::process::id()) {
            for (name, kind, v) in [
                (
                    "process_resident_memory_bytes",
                    "gauge",
                    u.resident_bytes as f64,
                ),
                ("process_open_fds", "gauge", u.open_fds as f64),
                ("process_cpu_seconds_total", "counter", u.cpu_seconds),
                ("process_threads", "gauge", u.threads as f64),
            ] {
                out.push_str(&format!("# TYPE {name} {kind}\n{name} {v}\n"));
            }
        }
        out.push_str(&format!(
            "# HELP mcp_mock_leaked_bytes Bytes the mock holds on purpose ([leak]).\n\
             # TYPE mcp_mock_leaked_bytes gauge\nmcp_mock_leaked_bytes {}\n\
             # TYPE mcp_mock_leaky_sessions gauge\nmcp_mock_leaky_sessions {}\n",
            self.bytes(),
            lock(&self.sessions).len()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_until_deleted_and_stops_at_the_cap() {
        let l = Leak::new(LeakConfig {
            per_session: 1000,
            per_call: 10,
            max_bytes: 2500,
        });
        l.session_opened("a");
        l.session_opened("b");
        l.call();
        assert_eq!(l.bytes(), 2010);
        l.session_opened("c"); // past the cap: not held
        assert_eq!(l.bytes(), 2010);
        l.session_deleted("a");
        l.session_deleted("unknown");
        assert_eq!(l.bytes(), 1010);
        let text = l.render();
        assert!(text.contains("mcp_mock_leaked_bytes 1010\n"), "{text}");
        assert!(text.contains("mcp_mock_leaky_sessions 1\n"));
        if cfg!(target_os = "linux") {
            assert!(text.contains("process_resident_memory_bytes "));
        }
        let got = crate::record::resources::pick(&text, &["mcp_mock_leaked_bytes".to_owned()])
            .expect("valid Prometheus text");
        assert_eq!(got["mcp_mock_leaked_bytes"], 1010.0);
    }
}
