//! JSON-RPC messages: request bodies serialized without cloning the arguments, and one-pass
//! parsing of a reply into a classification.

use serde::Serialize;
use serde::de::IgnoredAny;
use serde::ser::SerializeMap;
use serde_json::Value;
use serde_json::value::RawValue;

use super::McpRequest;
use super::OutcomeKind;

/// Longest `detail` string an outcome carries.
pub const MAX_DETAIL: usize = 200;

/// Cuts `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A bounded detail string.
pub fn detail(s: impl AsRef<str>) -> String {
    truncate(s.as_ref(), MAX_DETAIL).to_owned()
}

#[derive(Serialize)]
struct Envelope<'a, P: Serialize> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: P,
}

#[derive(Serialize)]
struct NotificationEnvelope<'a> {
    jsonrpc: &'static str,
    method: &'a str,
}

/// The `params` of an [`McpRequest`], borrowed.
struct Params<'a> {
    req: &'a McpRequest,
    cursor: Option<&'a str>,
    meta: Option<&'a RawValue>,
}

impl Serialize for Params<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.req {
            McpRequest::ToolsCall { name, arguments } => {
                m.serialize_entry("name", name)?;
                m.serialize_entry("arguments", arguments)?;
            }
            McpRequest::PromptsGet { name, arguments } => {
                m.serialize_entry("name", name)?;
                if !arguments.is_null() {
                    m.serialize_entry("arguments", arguments)?;
                }
            }
            McpRequest::ResourcesRead { uri } => m.serialize_entry("uri", uri)?,
            McpRequest::ToolsList | McpRequest::ResourcesList | McpRequest::PromptsList => {
                if let Some(c) = self.cursor {
                    m.serialize_entry("cursor", c)?;
                }
            }
            McpRequest::Ping | McpRequest::ServerDiscover => {}
        }
        if let Some(meta) = self.meta {
            m.serialize_entry("_meta", meta)?;
        }
        m.end()
    }
}

/// The JSON body of one request.
pub fn request_body(
    id: u64,
    req: &McpRequest,
    cursor: Option<&str>,
    meta: Option<&RawValue>,
) -> Vec<u8> {
    let env = Envelope {
        jsonrpc: "2.0",
        id,
        method: req.method(),
        params: Params { req, cursor, meta },
    };
    // Serializing maps of strings and Values cannot fail.
    serde_json::to_vec(&env).unwrap_or_default()
}

/// The JSON body of a request with explicit params (initialize).
pub fn raw_request_body(id: u64, method: &str, params: &Value) -> Vec<u8> {
    serde_json::to_vec(&Envelope {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
    .unwrap_or_default()
}

/// The JSON body of a notification without params.
pub fn notification_body(method: &str) -> Vec<u8> {
    serde_json::to_vec(&NotificationEnvelope {
        jsonrpc: "2.0",
        method,
    })
    .unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<IgnoredAny>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RpcErrorObj>,
}

/// A JSON-RPC error object.
#[derive(serde::Deserialize, Debug, Clone)]
pub struct RpcErrorObj {
    /// The JSON-RPC error code, e.g. -32601 (method not found).
    pub code: i64,
    /// The error's message (empty when the server sent none).
    #[serde(default)]
    pub message: String,
    /// The error's `data`, when present.
    #[serde(default)]
    pub data: Option<Value>,
}

/// A successful tool call's reply as the hot path reads it: `result` straight into its head, one
/// pass over the bytes (the general path keeps `result` raw, then parses it again for `isError`).
#[derive(serde::Deserialize)]
struct ToolReplyHead {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<IgnoredAny>,
    #[serde(default)]
    result: Option<ToolResultHead>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct ToolResultHead {
    #[serde(rename = "isError", default)]
    is_error: Option<bool>,
}

/// What one reply message amounted to.
#[derive(Debug)]
pub struct Classified {
    /// The outcome the reply counts as.
    pub kind: OutcomeKind,
    /// The JSON-RPC error code, for an error reply.
    pub rpc_code: Option<i64>,
    /// Short cause for anything but `Ok`.
    pub detail: Option<String>,
    /// The `result` of a successful reply.
    pub result: Option<Value>,
    /// The JSON-RPC error object, kept for negotiation (-32022 `data.supported`).
    pub error: Option<RpcErrorObj>,
}

impl Classified {
    /// A protocol error with a detail.
    pub fn protocol(msg: impl AsRef<str>) -> Self {
        Classified {
            kind: OutcomeKind::Protocol,
            rpc_code: None,
            detail: Some(detail(msg)),
            result: None,
            error: None,
        }
    }
}

/// What a message on a stream is, relative to the request we wait for.
pub enum Message {
    /// The response to our id, classified.
    Response(Classified),
    /// A response with another id (a protocol error when it is the only reply).
    OtherResponse,
    /// A request or notification from the server: skip it.
    ServerMessage,
}

fn id_matches(id: &Value, expected: u64) -> bool {
    match id {
        Value::Number(n) => n.as_u64() == Some(expected),
        Value::String(s) => s.parse::<u64>().ok() == Some(expected),
        _ => false,
    }
}

/// Parses one JSON message and classifies it against the id we sent.
pub fn classify_message(
    text: &[u8],
    expected_id: u64,
    is_tool_call: bool,
    keep_result: bool,
) -> Message {
    if is_tool_call && !keep_result && is_plain_tool_success(text, expected_id) {
        return Message::Response(Classified {
            kind: OutcomeKind::Ok,
            rpc_code: None,
            detail: None,
            result: None,
            error: None,
        });
    }
    let msg: Incoming<'_> = match serde_json::from_slice(text) {
        Ok(m) => m,
        Err(e) => {
            if text.first().is_some_and(|b| *b == b'[') {
                return Message::Response(Classified::protocol("batch reply to a single request"));
            }
            return Message::Response(Classified::protocol(format!("invalid JSON: {e}")));
        }
    };
    if msg.method.is_some() {
        return Message::ServerMessage;
    }
    match &msg.id {
        Some(id) if id_matches(id, expected_id) => {}
        Some(Value::Null) | None if msg.error.is_some() => {
            // Errors about unparseable requests carry a null id: they are ours.
        }
        _ => return Message::OtherResponse,
    }
    Message::Response(classify_response(
        msg.result,
        msg.error,
        is_tool_call,
        keep_result,
    ))
}

/// The common case in one pass: the reply to `expected_id`, a `result` object without
/// `isError: true`, no `error`. Anything else (or anything this cannot read) is left to the
/// general path, which describes it.
fn is_plain_tool_success(text: &[u8], expected_id: u64) -> bool {
    serde_json::from_slice::<ToolReplyHead>(text).is_ok_and(|m| {
        m.method.is_none()
            && m.error.is_none()
            && m.id.as_ref().is_some_and(|id| id_matches(id, expected_id))
            && m.result.is_some_and(|r| r.is_error != Some(true))
    })
}

fn classify_response(
    result: Option<&RawValue>,
    error: Option<RpcErrorObj>,
    is_tool_call: bool,
    keep_result: bool,
) -> Classified {
    if let Some(err) = error {
        return Classified {
            kind: OutcomeKind::RpcError,
            rpc_code: Some(err.code),
            detail: Some(detail(format!("{}: {}", err.code, err.message))),
            result: None,
            error: Some(err),
        };
    }
    let Some(raw) = result else {
        return Classified::protocol("reply has neither result nor error");
    };
    let mut kind = OutcomeKind::Ok;
    let mut det = None;
    if is_tool_call {
        match serde_json::from_str::<ToolResultHead>(raw.get()) {
            Ok(head) if head.is_error == Some(true) => {
                kind = OutcomeKind::ToolError;
                det = Some(tool_error_text(raw));
            }
            Ok(_) => {}
            Err(e) => {
                return Classified::protocol(format!("tools/call result is not an object: {e}"));
            }
        }
    }
    let result = if keep_result {
        serde_json::from_str(raw.get()).ok()
    } else {
        None
    };
    Classified {
        kind,
        rpc_code: None,
        detail: det,
        result,
        error: None,
    }
}

fn tool_error_text(raw: &RawValue) -> String {
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        text: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Res {
        #[serde(default)]
        content: Vec<Item>,
    }
    let text = serde_json::from_str::<Res>(raw.get())
        .ok()
        .and_then(|r| r.content.into_iter().find_map(|i| i.text))
        .unwrap_or_else(|| "isError: true".to_owned());
    detail(text)
}

/// Characters that may go into an HTTP header as they are (visible ASCII and inner spaces).
pub fn header_safe(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
}

/// The `Mcp-Name` header value: as is when header-safe, else `=?base64?…?=`.
pub fn encode_header_value(value: &str) -> String {
    use base64::Engine;
    if header_safe(value) {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_borrows_arguments_and_adds_meta() {
        let req = McpRequest::ToolsCall {
            name: "echo".into(),
            arguments: json!({"m": "x"}),
        };
        let meta = RawValue::from_string(r#"{"k":1}"#.into()).unwrap();
        let v: Value = serde_json::from_slice(&request_body(7, &req, None, Some(&meta))).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"m":"x"},"_meta":{"k":1}}})
        );
        let v: Value =
            serde_json::from_slice(&request_body(1, &McpRequest::ToolsList, Some("c2"), None))
                .unwrap();
        assert_eq!(v["params"], json!({"cursor":"c2"}));
    }

    fn kind(text: &str, tool: bool) -> OutcomeKind {
        match classify_message(text.as_bytes(), 3, tool, false) {
            Message::Response(c) => c.kind,
            Message::OtherResponse => OutcomeKind::Protocol,
            Message::ServerMessage => OutcomeKind::Dropped,
        }
    }

    /// The one-pass path for a plain success agrees with the general path (taken when the result
    /// is kept) on every reply, whichever way each is classified.
    #[test]
    fn the_one_pass_path_agrees_with_the_general_one() {
        let seen = |text: &str, keep: bool| match classify_message(text.as_bytes(), 3, true, keep) {
            Message::Response(c) => format!("{:?} {:?} {:?}", c.kind, c.rpc_code, c.detail),
            Message::OtherResponse => "other".into(),
            Message::ServerMessage => "server".into(),
        };
        for text in [
            r#"{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"hi"}]}}"#,
            r#"{"jsonrpc":"2.0","id":"3","result":{"isError":false}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{"isError":true,"content":[{"type":"text","text":"boom"}]}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{"isError":"yes"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":5}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":null}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{},"error":{"code":-32000,"message":"both"}}"#,
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            r#"[{"jsonrpc":"2.0","id":3,"result":{}}]"#,
            r#"{"jsonrpc":"2.0","id":3,"res"#,
        ] {
            assert_eq!(seen(text, false), seen(text, true), "{text}");
        }
    }

    #[test]
    fn classification_table() {
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":3,"result":{"content":[]}}"#, true),
            OutcomeKind::Ok
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":"3","result":{}}"#, false),
            OutcomeKind::Ok
        );
        assert_eq!(
            kind(
                r#"{"jsonrpc":"2.0","id":3,"result":{"isError":true,"content":[{"type":"text","text":"boom"}]}}"#,
                true
            ),
            OutcomeKind::ToolError
        );
        assert_eq!(
            kind(
                r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"x"}}"#,
                true
            ),
            OutcomeKind::RpcError
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":4,"result":{}}"#, true),
            OutcomeKind::Protocol
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":3}"#, true),
            OutcomeKind::Protocol
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":3,"res"#, true),
            OutcomeKind::Protocol
        );
        assert_eq!(
            kind(
                r#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#,
                true
            ),
            OutcomeKind::Dropped
        );
    }

    #[test]
    fn header_values() {
        assert_eq!(encode_header_value("add_numbers"), "add_numbers");
        assert_eq!(encode_header_value("héllo"), "=?base64?aMOpbGxv?=");
        assert_eq!(truncate("ééé", 3), "é");
    }
}
