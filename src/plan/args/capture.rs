//! Captures: values taken from earlier results (a JSON pointer into a `tools/call` result) into
//! named bounded pools, and picked from them by later calls' arguments.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rand::{Rng, RngExt};
use serde_json::Value;

/// The value sent for a `capture` whose pool is empty and that has no fallback.
pub const EMPTY_CAPTURE_PREFIX: &str = "mcp-soak:empty-capture:";
/// How many values each capture pool keeps by default (the newest win).
pub const DEFAULT_POOL_CAPACITY: usize = 10_000;

/// Where to take a captured value from (a JSON pointer into the result) and which pool to put it in.
///
/// The pointer is looked up in `structuredContent` first, then in the JSON parsed from the first
/// text content item, then in the result itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureSpec {
    /// Name of the pool the value goes into; `{ capture = "pool" }` templates draw from it.
    pub pool: String,
    /// JSON pointer (RFC 6901) to the value, e.g. `/payment_id`.
    pub pointer: String,
}

impl CaptureSpec {
    /// Finds the captured value in a `tools/call` result, if present.
    pub fn extract(&self, result: &Value) -> Option<Value> {
        if let Some(v) = result
            .get("structuredContent")
            .and_then(|sc| sc.pointer(&self.pointer))
        {
            return Some(v.clone());
        }
        let text = result
            .get("content")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str);
        if let Some(text) = text
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
            && let Some(v) = parsed.pointer(&self.pointer)
        {
            return Some(v.clone());
        }
        result.pointer(&self.pointer).cloned()
    }
}

/// Named bounded pools of captured values, shared by every call of a run (thread-safe; the lock is
/// held only to push or copy out one value).
#[derive(Debug)]
pub struct CapturePool {
    capacity: usize,
    pools: Mutex<HashMap<String, VecDeque<Value>>>,
}

impl Default for CapturePool {
    fn default() -> Self {
        CapturePool::new(DEFAULT_POOL_CAPACITY)
    }
}

impl CapturePool {
    /// Pools that keep the newest `capacity` values each.
    pub fn new(capacity: usize) -> CapturePool {
        CapturePool {
            capacity: capacity.max(1),
            pools: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Value>>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a value to `pool`, evicting the oldest past the capacity.
    pub fn push(&self, pool: &str, value: Value) {
        let mut pools = self.lock();
        let q = match pools.get_mut(pool) {
            Some(q) => q,
            None => pools.entry(pool.to_string()).or_default(),
        };
        if q.len() >= self.capacity {
            q.pop_front();
        }
        q.push_back(value);
    }

    /// A uniformly random value of `pool`, or None when it is empty.
    pub fn pick<R: Rng + ?Sized>(&self, pool: &str, rng: &mut R) -> Option<Value> {
        let pools = self.lock();
        let q = pools.get(pool)?;
        if q.is_empty() {
            return None;
        }
        q.get(rng.random_range(0..q.len())).cloned()
    }

    /// Values held in `pool`.
    pub fn len(&self, pool: &str) -> usize {
        self.lock().get(pool).map_or(0, VecDeque::len)
    }

    /// True when no pool holds a value.
    pub fn is_empty(&self) -> bool {
        self.lock().values().all(VecDeque::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::args::ArgTemplate;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    #[test]
    fn captures_pool_and_fallback() {
        let spec = CaptureSpec {
            pool: "ids".into(),
            pointer: "/payment_id".into(),
        };
        let pool = CapturePool::new(3);
        let structured = json!({"structuredContent": {"payment_id": "p1"}, "content": []});
        let text = json!({"content": [{"type": "text", "text": "{\"payment_id\": \"p2\"}"}]});
        assert_eq!(spec.extract(&structured), Some(json!("p1")));
        assert_eq!(spec.extract(&text), Some(json!("p2")));
        assert_eq!(
            spec.extract(&json!({"content": [{"type": "text", "text": "no json"}]})),
            None
        );

        let t = ArgTemplate::parse(
            &json!({"id": {"capture": "ids"}, "f": {"capture": "ids", "fallback": "none"}}),
        )
        .expect("parses");
        let mut rng = StdRng::seed_from_u64(2);
        let v = t.render(&mut rng, &pool);
        assert_eq!(v["id"], json!(format!("{EMPTY_CAPTURE_PREFIX}ids")));
        assert_eq!(v["f"], json!("none"));
        for i in 0..5 {
            pool.push("ids", json!(i));
        }
        assert_eq!(pool.len("ids"), 3);
        for _ in 0..50 {
            let v = t.render(&mut rng, &pool);
            assert!((2..5).contains(&v["id"].as_i64().unwrap_or(-1)), "{v}");
        }
    }
}
