//! Session era (2025-03-26 … 2025-11-25): the initialize handshake and a pool of sessions used
//! round-robin. An expired slot is re-opened lazily by the next call that lands on it, one opener
//! per slot and a few slots at a time, so a server restart does not cause a thundering herd.
//!
//! Two session profiles live here too. `idle`: the last few slots are set aside, each given one call
//! after it sat unused for the idle duration (and at once after its session expired, so the
//! re-initialize is measured then and the fresh session idles again). `stale`: sessions the server
//! must not know, an id never issued or one just DELETEd.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde_json::Value;

use super::OutcomeKind;
pub use super::initialize::InitInfo;
use super::initialize::{initialize_params, read_initialize};
use super::jsonrpc;
use super::transport::{Exchange, Http, PostHeaders};

/// How many sessions may be initializing at once.
const INIT_CONCURRENCY: usize = 4;

/// One open session.
#[derive(Debug)]
pub struct Session {
    /// `Mcp-Session-Id`, when the server issued one.
    pub id: Option<HeaderValue>,
    next_id: AtomicU64,
    calls: AtomicU64,
}

impl Session {
    /// A JSON-RPC id unique among this session's in-flight calls.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The `MCP-Protocol-Version` header a session-era revision sends (none before 2025-06-18).
pub fn protocol_header(version: &str) -> Option<HeaderValue> {
    if version >= "2025-06-18" {
        HeaderValue::from_str(version).ok()
    } else {
        None
    }
}

/// Runs `initialize` + `notifications/initialized`, asking for `version`.
pub async fn initialize(
    http: &Http,
    version: &str,
    client_name: &str,
    client_version: &str,
) -> Result<(Arc<Session>, InitInfo), Exchange> {
    let params = initialize_params(version, client_name, client_version);
    let body = jsonrpc::raw_request_body(0, "initialize", &params);
    let x = http
        .request(0, body, &PostHeaders::default(), false, true)
        .await;
    if x.kind != OutcomeKind::Ok {
        let mut x = x;
        if let Some(d) = x.detail.as_mut() {
            *d = jsonrpc::detail(format!("initialize: {d}"));
        }
        return Err(x);
    }
    let result = x.result.unwrap_or(Value::Null);
    let info = read_initialize(&result).map_err(|d| Exchange::failed(OutcomeKind::Protocol, d))?;
    let session = Arc::new(Session {
        id: x.session_id,
        next_id: AtomicU64::new(1),
        calls: AtomicU64::new(0),
    });
    let proto = protocol_header(&info.protocol_version);
    let h = PostHeaders {
        session: session.id.as_ref(),
        protocol: proto.as_ref(),
        ..Default::default()
    };
    let n = http
        .notify(jsonrpc::notification_body("notifications/initialized"), &h)
        .await;
    if n.kind != OutcomeKind::Ok {
        return Err(n);
    }
    Ok((session, info))
}

/// Sends DELETE for a session that has an id; true when the server accepted it (2xx).
pub async fn delete(http: &Http, session: &Session, proto: Option<&HeaderValue>) -> bool {
    if session.id.is_none() {
        return false;
    }
    let h = PostHeaders {
        session: session.id.as_ref(),
        protocol: proto,
        ..Default::default()
    };
    http.delete(&h)
        .await
        .is_some_and(|st| (200..300).contains(&st))
}

struct Slot {
    current: Mutex<Option<Arc<Session>>>,
    opening: tokio::sync::Mutex<()>,
    /// The server forgot this slot's last session: its next initialize is a re-initialize.
    lost: AtomicBool,
    /// An idle slot whose session expired: the next call takes it (once), to re-open it now.
    reopen: AtomicBool,
    /// When an idle slot was last given a call, ms after [`Idle::epoch`].
    last_used_ms: AtomicU64,
}

/// The `idle` profile's share of the pool: slots `first..` wait `after` between calls.
struct Idle {
    after_ms: u64,
    first: usize,
    epoch: Instant,
}

/// The pool of session-era sessions plus the counters the recorder exports.
pub struct Pool {
    slots: Box<[Slot]>,
    rr: AtomicUsize,
    idle: Option<Idle>,
    /// Calls sent by the `stale` profile (even: an unknown id, odd: a deleted one).
    stale_seq: AtomicU64,
    gate: tokio::sync::Semaphore,
    /// The protocol revision the sessions are opened with.
    pub version: String,
    /// The `MCP-Protocol-Version` header value (None before 2025-06-18, which has no such header).
    pub proto: Option<HeaderValue>,
    client_name: String,
    client_version: String,
    /// Sessions opened (initialize succeeded), for `/metrics` and the summary.
    pub initialized: AtomicU64,
    /// Sessions the server forgot (it answered a call on them with `session_expired`).
    pub expired: AtomicU64,
    /// Sessions DELETEd and accepted by the server.
    pub deleted: AtomicU64,
    /// Sessions left open on purpose by the `abandon` strategy.
    pub abandoned: AtomicU64,
    /// Slots re-opened after the server forgot their session.
    pub reinitialized: AtomicU64,
    /// Initializes answered with an HTTP or JSON-RPC error (a session cap, most often).
    pub refused: AtomicU64,
    active: AtomicI64,
    /// Whether the server ever issued an `Mcp-Session-Id`: a session-era server that serves
    /// statelessly issues none, and then no session is open however often it was initialized.
    issued_ids: AtomicBool,
}

impl Pool {
    /// An empty pool of `size` slots speaking `version`.
    pub fn new(size: u32, version: String, client_name: String, client_version: String) -> Self {
        let slots = (0..size.max(1))
            .map(|_| Slot {
                current: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
                lost: AtomicBool::new(false),
                reopen: AtomicBool::new(false),
                last_used_ms: AtomicU64::new(0),
            })
            .collect();
        Pool {
            slots,
            rr: AtomicUsize::new(0),
            idle: None,
            stale_seq: AtomicU64::new(0),
            gate: tokio::sync::Semaphore::new(INIT_CONCURRENCY),
            proto: protocol_header(&version),
            version,
            client_name,
            client_version,
            initialized: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            reinitialized: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicI64::new(0),
            issued_ids: AtomicBool::new(false),
        }
    }

    /// Sessions open now (0 when the server never issued a session id: it keeps no sessions).
    pub fn active(&self) -> u64 {
        if !self.issued_ids.load(Ordering::Relaxed) {
            return 0;
        }
        self.active.load(Ordering::Relaxed).max(0) as u64
    }

    fn note_id(&self, s: &Session) {
        if s.id.is_some() {
            self.issued_ids.store(true, Ordering::Relaxed);
        }
    }

    /// Sets the last `count` slots aside for the `idle` profile: each is given a call once it sat
    /// unused for `after` (counted from `epoch`, the pool's opening). No-op unless
    /// `0 < count < len`.
    pub fn with_idle(mut self, after: Duration, count: usize, epoch: Instant) -> Self {
        if count > 0 && count < self.slots.len() {
            self.idle = Some(Idle {
                after_ms: after.as_millis().max(1) as u64,
                first: self.slots.len() - count,
                epoch,
            });
        }
        self
    }

    /// The slot for a call starting `now`: an idle slot that is due, else round-robin over the
    /// others. An idle slot is due once `after` passed since its last call, or once after its
    /// session expired; exactly one call claims it.
    pub fn next_slot(&self, now: Instant) -> usize {
        let Some(idle) = &self.idle else {
            return self.rr.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        };
        let now_ms = now.saturating_duration_since(idle.epoch).as_millis() as u64;
        for (i, slot) in self.slots.iter().enumerate().skip(idle.first) {
            if slot.reopen.load(Ordering::Relaxed) && slot.reopen.swap(false, Ordering::Relaxed) {
                slot.last_used_ms.store(now_ms, Ordering::Relaxed);
                return i;
            }
            let last = slot.last_used_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last) >= idle.after_ms
                && slot
                    .last_used_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                return i;
            }
        }
        self.rr.fetch_add(1, Ordering::Relaxed) % idle.first
    }

    /// A session for the `stale` profile: alternately an id the server never issued, and one it
    /// issued and was just asked to DELETE (its initialize and DELETE are timed as a handshake).
    pub async fn stale(&self, http: &Http) -> Result<Arc<Session>, Exchange> {
        if self
            .stale_seq
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(2)
        {
            let id = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok();
            return Ok(Arc::new(Session {
                id,
                next_id: AtomicU64::new(1),
                calls: AtomicU64::new(0),
            }));
        }
        let s = self.open(http).await?;
        let started = Instant::now();
        self.retire(http, &s).await;
        self.closed();
        super::handshake::add(
            super::handshake::HandshakeKind::Initialize,
            started.elapsed(),
        );
        Ok(s)
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the pool has no slots (never: at least one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Counts a session opened outside a slot (per-call strategy, negotiation).
    pub fn opened(&self) {
        self.initialized.fetch_add(1, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a session closed outside a slot.
    pub fn closed(&self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a session left open on purpose (`abandon`): no longer ours, still the server's.
    pub fn abandon(&self) {
        self.closed();
        self.abandoned.fetch_add(1, Ordering::Relaxed);
    }

    /// DELETEs `s` (when it has an id), counting it when the server accepted.
    pub async fn retire(&self, http: &Http, s: &Session) {
        if delete(http, s, self.proto.as_ref()).await {
            self.deleted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters, `active` as [`Pool::active`].
    pub fn stats(&self) -> super::SessionStats {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        super::SessionStats {
            active: self.active(),
            initialized: n(&self.initialized),
            expired: n(&self.expired),
            deleted: n(&self.deleted),
            abandoned: n(&self.abandoned),
            reinitialized: n(&self.reinitialized),
            refused: n(&self.refused),
        }
    }

    /// Puts an already-open session into an empty slot (used for the negotiation session).
    pub fn adopt(&self, slot: usize, s: Arc<Session>) {
        self.note_id(&s);
        if let Ok(mut g) = self.slots[slot].current.lock() {
            *g = Some(s);
        }
    }

    fn current(&self, slot: usize) -> Option<Arc<Session>> {
        self.slots[slot].current.lock().ok().and_then(|g| g.clone())
    }

    /// Opens a session outside any slot (counted).
    pub async fn open(&self, http: &Http) -> Result<Arc<Session>, Exchange> {
        let started = std::time::Instant::now();
        let result = self.open_untimed(http).await;
        super::handshake::add(
            super::handshake::HandshakeKind::Initialize,
            started.elapsed(),
        );
        result
    }

    async fn open_untimed(&self, http: &Http) -> Result<Arc<Session>, Exchange> {
        let _permit = self.gate.acquire().await;
        let (s, info) = initialize(http, &self.version, &self.client_name, &self.client_version)
            .await
            .inspect_err(|x| {
                // The server answered and said no: a refusal (a timeout or reset is not one).
                if x.is_refusal() {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                }
            })?;
        if info.protocol_version != self.version {
            let d = format!(
                "server changed protocol version to {}",
                jsonrpc::truncate(&info.protocol_version, 40)
            );
            delete(http, &s, protocol_header(&info.protocol_version).as_ref()).await;
            return Err(Exchange::failed(OutcomeKind::Protocol, d));
        }
        self.note_id(&s);
        self.opened();
        Ok(s)
    }

    /// The session in `slot`, opening one when the slot is empty.
    pub async fn acquire(&self, http: &Http, slot: usize) -> Result<Arc<Session>, Exchange> {
        if let Some(s) = self.current(slot) {
            return Ok(s);
        }
        let waited = std::time::Instant::now();
        let _one_opener = self.slots[slot].opening.lock().await;
        if let Some(s) = self.current(slot) {
            // Another call opened it while this one waited: that wait was a handshake too.
            super::handshake::add(
                super::handshake::HandshakeKind::Initialize,
                waited.elapsed(),
            );
            return Ok(s);
        }
        let s = self.open(http).await?;
        if self.slots[slot].lost.swap(false, Ordering::Relaxed) {
            self.reinitialized.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut g) = self.slots[slot].current.lock() {
            *g = Some(s.clone());
        }
        Ok(s)
    }

    /// Empties `slot` if it still holds `s`; true when this call did it.
    fn clear(&self, slot: usize, s: &Arc<Session>) -> bool {
        let Ok(mut g) = self.slots[slot].current.lock() else {
            return false;
        };
        if g.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, s)) {
            *g = None;
            self.active.fetch_sub(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// The server forgot `s`: count it once and let the next call re-open the slot.
    pub fn expire(&self, slot: usize, s: &Arc<Session>) {
        if self.clear(slot, s) {
            self.expired.fetch_add(1, Ordering::Relaxed);
            self.slots[slot].lost.store(true, Ordering::Relaxed);
            if self.idle.as_ref().is_some_and(|i| slot >= i.first) {
                self.slots[slot].reopen.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Counts a call on `s`; true when the churn strategy says to retire it now (slot emptied).
    pub fn count_call(&self, slot: usize, s: &Arc<Session>, calls_per_session: u64) -> bool {
        let n = s.calls.fetch_add(1, Ordering::Relaxed) + 1;
        n == calls_per_session.max(1) && self.clear(slot, s)
    }

    /// Empties every slot, returning the sessions to DELETE.
    pub fn drain(&self) -> Vec<Arc<Session>> {
        let mut out = Vec::new();
        for slot in self.slots.iter() {
            if let Ok(mut g) = slot.current.lock()
                && let Some(s) = g.take()
            {
                self.active.fetch_sub(1, Ordering::Relaxed);
                out.push(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(size: u32) -> Pool {
        Pool::new(size, "2025-11-25".into(), "t".into(), "0".into())
    }

    #[test]
    fn without_idle_slots_are_round_robin() {
        let p = pool(3);
        let now = Instant::now();
        let got: Vec<usize> = (0..6).map(|_| p.next_slot(now)).collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn an_idle_slot_gets_one_call_per_idle_period_and_one_at_once_after_it_expired() {
        let epoch = Instant::now();
        let p = pool(4).with_idle(Duration::from_secs(60), 1, epoch);
        let at = |s: u64| epoch + Duration::from_secs(s);
        // Before the idle period is over, the three others carry every call.
        let early: Vec<usize> = (0..6).map(|_| p.next_slot(at(59))).collect();
        assert_eq!(early, [0, 1, 2, 0, 1, 2]);
        // At 60 s the idle slot is due: exactly one call takes it.
        assert_eq!(p.next_slot(at(60)), 3);
        assert!((0..5).all(|_| p.next_slot(at(61)) < 3));
        assert!((0..5).all(|_| p.next_slot(at(119)) < 3));
        assert_eq!(p.next_slot(at(120)), 3);
        // Its session expired: the next call re-opens it at once, then it idles again.
        let s = Arc::new(Session {
            id: None,
            next_id: AtomicU64::new(1),
            calls: AtomicU64::new(0),
        });
        p.adopt(3, s.clone());
        p.opened();
        p.expire(3, &s);
        assert_eq!(p.stats().expired, 1);
        assert_eq!(p.next_slot(at(121)), 3);
        assert!((0..5).all(|_| p.next_slot(at(180)) < 3));
        assert_eq!(p.next_slot(at(181)), 3);
    }

    #[test]
    fn the_idle_share_leaves_at_least_one_slot_each_way() {
        let idle = |share_pct| super::super::SessionStrategy::Idle {
            after: Duration::from_secs(1),
            share_pct,
        };
        assert_eq!(idle(25).idle_sessions(8), 2);
        assert_eq!(idle(1).idle_sessions(8), 1);
        assert_eq!(idle(100).idle_sessions(8), 7);
        assert_eq!(idle(50).idle_sessions(1), 0);
        assert_eq!(super::super::SessionStrategy::Pooled.idle_sessions(8), 0);
    }
}
