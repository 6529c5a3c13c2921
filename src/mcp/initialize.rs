//! The session era's `initialize` as every transport speaks it (Streamable HTTP, legacy HTTP+SSE,
//! stdio): the params the client sends and what the server's result says.

use serde_json::{Value, json};

use super::{SUPPORTED_REVISIONS, jsonrpc};

/// What the server said in its initialize result.
#[derive(Debug, Clone)]
pub struct InitInfo {
    /// The revision the server chose (`protocolVersion`).
    pub protocol_version: String,
    /// `serverInfo.name`, when the server sent it.
    pub server_name: Option<String>,
    /// `serverInfo.version`, when the server sent it.
    pub server_version: Option<String>,
}

/// The `initialize` params asking for `version`, with no capabilities.
pub fn initialize_params(version: &str, client_name: &str, client_version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": client_name, "version": client_version},
    })
}

/// The server's name and version from an initialize (or discover) result's `serverInfo`.
pub fn server_info(result: &Value) -> (Option<String>, Option<String>) {
    let field = |k: &str| {
        result
            .pointer(&format!("/serverInfo/{k}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (field("name"), field("version"))
}

/// Reads an initialize result: the agreed revision must be one of the session era's.
pub fn read_initialize(result: &Value) -> Result<InitInfo, String> {
    let Some(agreed) = result.get("protocolVersion").and_then(Value::as_str) else {
        return Err("initialize result has no protocolVersion".into());
    };
    if !SUPPORTED_REVISIONS[1..].contains(&agreed) {
        return Err(format!(
            "server offered unsupported protocol version {}",
            jsonrpc::truncate(agreed, 40)
        ));
    }
    let (server_name, server_version) = server_info(result);
    Ok(InitInfo {
        protocol_version: agreed.to_owned(),
        server_name,
        server_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_reads_as_its_revision_and_server_or_says_what_is_wrong() {
        let r =
            json!({"protocolVersion": "2025-06-18", "serverInfo": {"name": "s", "version": "1"}});
        let info = read_initialize(&r).unwrap();
        assert_eq!(info.protocol_version, "2025-06-18");
        assert_eq!(
            (info.server_name.as_deref(), info.server_version.as_deref()),
            (Some("s"), Some("1"))
        );
        assert_eq!(
            read_initialize(&json!({})).unwrap_err(),
            "initialize result has no protocolVersion"
        );
        let stateless = json!({"protocolVersion": "2026-07-28"});
        assert!(
            read_initialize(&stateless)
                .unwrap_err()
                .contains("unsupported protocol version")
        );
        let p = initialize_params("2025-11-25", "c", "9");
        assert_eq!(p["clientInfo"]["version"], "9");
        assert_eq!(p["capabilities"], json!({}));
    }
}
