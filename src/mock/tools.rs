//! The mock's tools: assisted-service style lists, payments (with a bounded store of created ids)
//! and `echo`. Every tool is annotated except `install_cluster`, which, like every tool of the real
//! assisted-service server, declares no annotations (so clients must treat it as destructive).
//! Pure functions from arguments to a `CallToolResult`; faults are applied by the caller.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

/// The mock's tools, as a dense index for per-tool counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolId {
    ListClusters,
    ListVersions,
    ListOperatorBundles,
    CreatePayment,
    VerifyPayment,
    GetWalletBalance,
    Echo,
    InstallCluster,
}

impl ToolId {
    pub(crate) const COUNT: usize = 8;
    pub(crate) const ALL: [ToolId; Self::COUNT] = [
        ToolId::ListClusters,
        ToolId::ListVersions,
        ToolId::ListOperatorBundles,
        ToolId::CreatePayment,
        ToolId::VerifyPayment,
        ToolId::GetWalletBalance,
        ToolId::Echo,
        ToolId::InstallCluster,
    ];
    pub(crate) fn name(self) -> &'static str {
        match self {
            ToolId::ListClusters => "list_clusters",
            ToolId::ListVersions => "list_versions",
            ToolId::ListOperatorBundles => "list_operator_bundles",
            ToolId::CreatePayment => "create_payment",
            ToolId::VerifyPayment => "verify_payment",
            ToolId::GetWalletBalance => "get_wallet_balance",
            ToolId::Echo => "echo",
            ToolId::InstallCluster => "install_cluster",
        }
    }
    pub(crate) fn from_name(name: &str) -> Option<ToolId> {
        ToolId::ALL.into_iter().find(|t| t.name() == name)
    }
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Names of every tool the mock serves (for configs and tests).
pub const TOOL_NAMES: [&str; ToolId::COUNT] = [
    "list_clusters",
    "list_versions",
    "list_operator_bundles",
    "create_payment",
    "verify_payment",
    "get_wallet_balance",
    "echo",
    "install_cluster",
];

fn schema(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => Arc::new(JsonObject::new()),
    }
}

fn read_only(title: &str) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

/// The tool definitions served by `tools/list` (built once).
pub(crate) fn tool_list() -> &'static [Tool] {
    static TOOLS: OnceLock<Vec<Tool>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let empty = || schema(json!({"type": "object", "properties": {}, "additionalProperties": false}));
        let mut tools = vec![
            Tool::new("list_clusters", "List the OpenShift clusters known to the assisted installer.", empty()),
            Tool::new(
                "list_versions",
                "List the OpenShift versions the assisted installer can install.",
                empty(),
            ),
            Tool::new(
                "list_operator_bundles",
                "List the operator bundles that can be installed with a cluster.",
                empty(),
            ),
            Tool::new(
                "create_payment",
                "Create a payment and return its id.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "amount": {"type": "number", "exclusiveMinimum": 0, "description": "Amount in major units"},
                        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code"},
                        "method": {"type": "string", "enum": ["card", "bank_transfer", "wallet"]},
                        "customer_id": {"type": "string", "minLength": 1},
                        "idempotency_key": {"type": "string"},
                        "description": {"type": "string"}
                    },
                    "required": ["amount", "currency", "method", "customer_id"]
                })),
            ),
            Tool::new(
                "verify_payment",
                "Verify a payment created by create_payment.",
                schema(json!({
                    "type": "object",
                    "properties": {"payment_id": {"type": "string", "pattern": "^pay_[0-9a-f]{16}$"}},
                    "required": ["payment_id"]
                })),
            ),
            Tool::new(
                "get_wallet_balance",
                "Return a customer's wallet balance in a currency.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "customer_id": {"type": "string", "minLength": 1},
                        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}
                    },
                    "required": ["customer_id", "currency"]
                })),
            ),
            Tool::new(
                "echo",
                "Echo the message back.",
                schema(json!({
                    "type": "object",
                    "properties": {"message": {"type": "string"}},
                    "required": ["message"]
                })),
            ),
            // No annotations, on purpose (see the module doc).
            Tool::new(
                "install_cluster",
                "Start the installation of a cluster.",
                schema(json!({
                    "type": "object",
                    "properties": {"cluster_id": {"type": "string", "minLength": 1}},
                    "required": ["cluster_id"]
                })),
            ),
        ];
        tools[0].annotations = Some(read_only("List clusters"));
        tools[1].annotations = Some(read_only("List versions"));
        tools[2].annotations = Some(read_only("List operator bundles"));
        tools[3].annotations = Some(
            ToolAnnotations::with_title("Create payment")
                .read_only(false)
                .destructive(true)
                .idempotent(false)
                .open_world(true),
        );
        tools[4].annotations = Some(read_only("Verify payment"));
        tools[5].annotations = Some(read_only("Get wallet balance"));
        tools[6].annotations = Some(read_only("Echo"));
        tools
    })
}

const SHARDS: usize = 16;

#[derive(Debug, Default)]
struct Shard {
    ring: VecDeque<u64>,
    set: HashSet<u64>,
}

/// Bounded memory of created payment ids: the newest `capacity` are remembered (ring + set per
/// shard, 16 shards so concurrent calls rarely contend).
#[derive(Debug)]
pub(crate) struct PaymentStore {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    next: AtomicU64,
    salt: u64,
}

fn mix(mut z: u64) -> u64 {
    // A bijection on u64 (splitmix64 finaliser): distinct counters give distinct ids.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl PaymentStore {
    pub(crate) fn new(capacity: usize, seed: u64) -> Self {
        PaymentStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            next: AtomicU64::new(1),
            salt: mix(seed ^ 0x7061_795f),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<Shard> {
        &self.shards[(id % SHARDS as u64) as usize]
    }

    /// Creates and remembers a new id, forgetting the oldest of its shard when full.
    pub(crate) fn create(&self) -> u64 {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = mix(n ^ self.salt);
        let mut shard = self.shard(id).lock().unwrap_or_else(|p| p.into_inner());
        if shard.ring.len() >= self.per_shard
            && let Some(old) = shard.ring.pop_front()
        {
            shard.set.remove(&old);
        }
        shard.ring.push_back(id);
        shard.set.insert(id);
        id
    }

    /// Whether `id` was created and is still remembered.
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.shard(id)
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set
            .contains(&id)
    }

    /// How many ids are remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).ring.len())
            .sum()
    }
}

fn format_payment_id(id: u64) -> String {
    format!("pay_{id:016x}")
}

fn parse_payment_id(s: &str) -> Option<u64> {
    let hex = s.strip_prefix("pay_")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn tool_error(msg: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(msg)])
}

fn structured(v: Value) -> CallToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(v.to_string())]);
    r.structured_content = Some(v);
    r
}

fn str_arg<'a>(args: &'a JsonObject, key: &str) -> Result<&'a str, String> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("`{key}` must be a string")),
        None => Err(format!("missing required argument `{key}`")),
    }
}

fn currency_arg(args: &JsonObject) -> Result<&str, String> {
    let c = str_arg(args, "currency")?;
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(format!(
            "`currency` must be an ISO 4217 code of 3 capital letters, got {c:?}"
        ))
    }
}

fn non_empty<'a>(args: &'a JsonObject, key: &str) -> Result<&'a str, String> {
    let s = str_arg(args, key)?;
    if s.trim().is_empty() {
        Err(format!("`{key}` must not be empty"))
    } else {
        Ok(s)
    }
}

fn opt_str<'a>(args: &'a JsonObject, key: &str) -> Result<Option<&'a str>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn static_text(cell: &'static OnceLock<CallToolResult>, make: fn() -> Value) -> CallToolResult {
    cell.get_or_init(|| structured(make())).clone()
}

fn clusters() -> Value {
    json!({"clusters": [
        {"id": "3f1c2a9e-6b1d-4c55-9a0e-1d2b3c4d5e6f", "name": "prod-east", "openshift_version": "4.16.12",
         "status": "installed", "platform": "baremetal", "hosts": 5, "high_availability_mode": "Full"},
        {"id": "8a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c5d", "name": "staging", "openshift_version": "4.17.3",
         "status": "ready", "platform": "vsphere", "hosts": 3, "high_availability_mode": "Full"},
        {"id": "c0ffee00-1234-4abc-9def-0123456789ab", "name": "edge-sno", "openshift_version": "4.17.3",
         "status": "installing", "platform": "none", "hosts": 1, "high_availability_mode": "None"}
    ]})
}

fn versions() -> Value {
    json!({"versions": [
        {"version": "4.15.38", "support_level": "maintenance", "cpu_architectures": ["x86_64", "arm64"]},
        {"version": "4.16.12", "support_level": "production", "cpu_architectures": ["x86_64", "arm64", "ppc64le", "s390x"]},
        {"version": "4.17.3", "support_level": "production", "cpu_architectures": ["x86_64", "arm64"], "default": true},
        {"version": "4.18.0-rc.2", "support_level": "beta", "cpu_architectures": ["x86_64"]}
    ]})
}

fn bundles() -> Value {
    json!({"bundles": [
        {"id": "virtualization", "title": "Virtualization", "operators": ["cnv", "lso", "mtv"]},
        {"id": "openshift-ai", "title": "OpenShift AI", "operators": ["odf", "nvidia-gpu", "serverless", "pipelines"]}
    ]})
}

/// Runs tool `id` on `args` (never panics on bad input: invalid input is an `isError` result).
pub(crate) fn run(id: ToolId, args: &JsonObject, payments: &PaymentStore) -> CallToolResult {
    static CLUSTERS: OnceLock<CallToolResult> = OnceLock::new();
    static VERSIONS: OnceLock<CallToolResult> = OnceLock::new();
    static BUNDLES: OnceLock<CallToolResult> = OnceLock::new();
    let result = match id {
        ToolId::ListClusters => return static_text(&CLUSTERS, clusters),
        ToolId::ListVersions => return static_text(&VERSIONS, versions),
        ToolId::ListOperatorBundles => return static_text(&BUNDLES, bundles),
        ToolId::Echo => {
            str_arg(args, "message").map(|m| CallToolResult::success(vec![ContentBlock::text(m)]))
        }
        ToolId::CreatePayment => create_payment(args, payments),
        ToolId::InstallCluster => non_empty(args, "cluster_id").map(|id| {
            structured(json!({"cluster_id": id, "status": "preparing-for-installation"}))
        }),
        ToolId::VerifyPayment => {
            str_arg(args, "payment_id").map(|pid| match parse_payment_id(pid) {
                Some(n) if payments.contains(n) => {
                    structured(json!({"payment_id": pid, "status": "succeeded", "verified": true}))
                }
                _ => tool_error(format!("unknown payment id {pid:?}")),
            })
        }
        ToolId::GetWalletBalance => (|| {
            let customer = non_empty(args, "customer_id")?;
            let currency = currency_arg(args)?;
            let cents = mix(customer.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })) % 1_000_000;
            Ok(structured(json!({
                "customer_id": customer, "currency": currency, "balance": cents as f64 / 100.0
            })))
        })(),
    };
    result.unwrap_or_else(tool_error)
}

fn create_payment(args: &JsonObject, payments: &PaymentStore) -> Result<CallToolResult, String> {
    let amount = match args.get("amount") {
        Some(Value::Number(n)) => n.as_f64().filter(|a| a.is_finite() && *a > 0.0),
        Some(_) => return Err("`amount` must be a number".into()),
        None => return Err("missing required argument `amount`".into()),
    }
    .ok_or("`amount` must be greater than 0")?;
    let currency = currency_arg(args)?;
    let method = str_arg(args, "method")?;
    if !matches!(method, "card" | "bank_transfer" | "wallet") {
        return Err(format!(
            "`method` must be card, bank_transfer or wallet, got {method:?}"
        ));
    }
    let customer = non_empty(args, "customer_id")?;
    let key = opt_str(args, "idempotency_key")?;
    opt_str(args, "description")?;
    let id = format_payment_id(payments.create());
    let mut v = json!({
        "payment_id": id, "status": "succeeded", "amount": amount, "currency": currency,
        "method": method, "customer_id": customer
    });
    if let (Some(k), Value::Object(m)) = (key, &mut v) {
        m.insert("idempotency_key".into(), Value::String(k.into()));
    }
    Ok(structured(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> JsonObject {
        match v {
            Value::Object(m) => m,
            _ => JsonObject::new(),
        }
    }

    #[test]
    fn store_is_bounded_and_forgets_oldest() {
        let s = PaymentStore::new(32, 1);
        let first = s.create();
        for _ in 0..10_000 {
            s.create();
        }
        assert!(s.len() <= 32 + SHARDS, "len {}", s.len());
        assert!(!s.contains(first));
        let last = s.create();
        assert!(s.contains(last));
    }

    #[test]
    fn create_validates_and_verify_knows_ids() {
        let s = PaymentStore::new(100, 1);
        let ok = run(
            ToolId::CreatePayment,
            &obj(json!({"amount": 12.5, "currency": "EUR", "method": "card", "customer_id": "c1"})),
            &s,
        );
        assert_eq!(ok.is_error, Some(false));
        let pid = ok
            .structured_content
            .as_ref()
            .and_then(|v| v["payment_id"].as_str())
            .unwrap_or_default();
        let v = run(ToolId::VerifyPayment, &obj(json!({"payment_id": pid})), &s);
        assert_eq!(v.is_error, Some(false));
        let v = run(
            ToolId::VerifyPayment,
            &obj(json!({"payment_id": "pay_0000000000000000"})),
            &s,
        );
        assert_eq!(v.is_error, Some(true));
        for bad in [
            json!({"amount": 0, "currency": "EUR", "method": "card", "customer_id": "c"}),
            json!({"amount": 1, "currency": "eur", "method": "card", "customer_id": "c"}),
            json!({"amount": 1, "currency": "EUR", "method": "cash", "customer_id": "c"}),
            json!({"amount": "1", "currency": "EUR", "method": "card", "customer_id": "c"}),
            json!({"amount": 1, "currency": "EUR", "method": "card"}),
        ] {
            assert_eq!(
                run(ToolId::CreatePayment, &obj(bad.clone()), &s).is_error,
                Some(true),
                "{bad}"
            );
        }
    }
}
