//! Session era (2025-03-26 … 2025-11-25): the initialize handshake and a pool of sessions used
//! round-robin. An expired slot is re-opened lazily by the next call that lands on it, one opener
//! per slot and a few slots at a time, so a server restart does not cause a thundering herd.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Sends DELETE for a session that has an id.
pub async fn delete(http: &Http, session: &Session, proto: Option<&HeaderValue>) {
    if session.id.is_some() {
        let h = PostHeaders {
            session: session.id.as_ref(),
            protocol: proto,
            ..Default::default()
        };
        http.delete(&h).await;
    }
}

struct Slot {
    current: Mutex<Option<Arc<Session>>>,
    opening: tokio::sync::Mutex<()>,
}

/// The pool of session-era sessions plus the counters the recorder exports.
pub struct Pool {
    slots: Box<[Slot]>,
    rr: AtomicUsize,
    gate: tokio::sync::Semaphore,
    pub version: String,
    pub proto: Option<HeaderValue>,
    client_name: String,
    client_version: String,
    pub initialized: AtomicU64,
    pub expired: AtomicU64,
    active: AtomicI64,
    /// Whether the server ever issued an `Mcp-Session-Id`: a session-era server that serves
    /// statelessly issues none, and then no session is open however often it was initialized.
    issued_ids: std::sync::atomic::AtomicBool,
}

impl Pool {
    /// An empty pool of `size` slots speaking `version`.
    pub fn new(size: u32, version: String, client_name: String, client_version: String) -> Self {
        let slots = (0..size.max(1))
            .map(|_| Slot {
                current: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
            })
            .collect();
        Pool {
            slots,
            rr: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(INIT_CONCURRENCY),
            proto: protocol_header(&version),
            version,
            client_name,
            client_version,
            initialized: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            active: AtomicI64::new(0),
            issued_ids: std::sync::atomic::AtomicBool::new(false),
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

    /// The next slot, round-robin.
    pub fn next_slot(&self) -> usize {
        self.rr.fetch_add(1, Ordering::Relaxed) % self.slots.len()
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
        let (s, info) =
            initialize(http, &self.version, &self.client_name, &self.client_version).await?;
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
