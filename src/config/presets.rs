//! The old scripts' presets as config: `--scenario` users, requests and delays (the assisted-service
//! script's), the assisted-service tool mix that `--scenario` uses when nothing else names a mix, and
//! the payments script's `--mixed` mix with arguments the payments tools accept.
//!
//! Presets only fill what no layer set: an explicit `--delay`, `[[mix]]` or `--mix` always wins.

use std::time::Duration;

use serde_json::json;

use super::file::MixCfg;

/// A closed-model preset of `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// The `--scenario` value, e.g. `moderate`.
    pub name: &'static str,
    /// Concurrent users of the closed model.
    pub users: u32,
    /// Calls each user makes before it stops.
    pub requests_per_user: u64,
    /// Pause after each reply (the assisted-service script's `delay`).
    pub delay: Duration,
}

/// `--scenario light|moderate|heavy|stress`, as the assisted-service script defined them.
pub const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "light",
        users: 5,
        requests_per_user: 3,
        delay: Duration::from_millis(100),
    },
    Scenario {
        name: "moderate",
        users: 20,
        requests_per_user: 5,
        delay: Duration::from_millis(100),
    },
    Scenario {
        name: "heavy",
        users: 50,
        requests_per_user: 10,
        delay: Duration::from_millis(50),
    },
    Scenario {
        name: "stress",
        users: 100,
        requests_per_user: 20,
        delay: Duration::from_millis(20),
    },
];

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<Scenario> {
    SCENARIOS.into_iter().find(|s| s.name == name)
}

fn tool(name: &str, weight: i64, args: Option<serde_json::Value>) -> MixCfg {
    MixCfg {
        tool: Some(name.into()),
        weight: Some(weight),
        args,
        ..MixCfg::default()
    }
}

/// The assisted-service script's read-only mix (as `config/assisted-service.toml`): what
/// `--scenario` calls when no layer names a mix.
pub fn assisted_service_mix() -> Vec<MixCfg> {
    vec![
        tool("list_clusters", 40, None),
        tool("list_versions", 30, None),
        tool("list_operator_bundles", 20, None),
        MixCfg {
            method: Some("tools/list".into()),
            weight: Some(10),
            ..MixCfg::default()
        },
    ]
}

/// The payments script's `--mixed` mode: create_payment / verify_payment / get_wallet_balance, with
/// every argument the tools require. `create_payment` may be destructive: it is called only when
/// allowed (`--allow-destructive create_payment`).
pub fn mixed_payments_mix() -> Vec<MixCfg> {
    let customer = json!({"gen": "string", "len": 12, "prefix": "cus_"});
    let currency = json!({"gen": "choice", "values": ["USD", "EUR", "GBP"]});
    let create_args = json!({
        "amount": {"gen": "decimal", "min": 1.0, "max": 500.0, "precision": 2},
        "currency": currency,
        "method": {"gen": "choice", "values": ["card", "bank_transfer", "wallet"]},
        "customer_id": customer
    });
    // No fallback: verify_payment waits until a created id is captured (see `Mix::pick_ready`).
    let verify_args = json!({"payment_id": {"capture": "payment_ids"}});
    let wallet_args = json!({"customer_id": customer, "currency": currency});
    let mut create = tool("create_payment", 40, Some(create_args));
    create.capture = [("payment_ids".to_string(), "/payment_id".to_string())]
        .into_iter()
        .collect();
    vec![
        create,
        tool("verify_payment", 30, Some(verify_args)),
        tool("get_wallet_balance", 30, Some(wallet_args)),
    ]
}
