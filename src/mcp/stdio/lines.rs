//! Line framing for the stdio transport: newline-delimited JSON-RPC read with a byte cap per line
//! (a server that never writes a newline costs at most the cap, not all memory), what one stdout
//! line is to the client (a reply to an id, a server request, a notification, or noise), and the
//! bounded tail of a process's stderr shown when it dies.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::de::IgnoredAny;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line read from a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its `\n` (and without a trailing `\r`).
    Text(Vec<u8>),
    /// A line of `len` bytes, longer than the cap: only its first `cap` bytes were kept.
    TooLong { len: usize, head: Vec<u8> },
}

/// Reads newline-delimited lines, at most `cap` bytes kept per line.
pub struct LineReader<R> {
    inner: R,
    cap: usize,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub fn new(inner: R, cap: usize) -> Self {
        LineReader {
            inner,
            cap: cap.max(1),
            buf: Vec::new(),
        }
    }

    /// The next line; `None` at end of stream (a last line without a newline is still returned).
    pub async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut seen = 0usize;
        loop {
            let chunk = self.inner.fill_buf().await?;
            if chunk.is_empty() {
                if seen == 0 {
                    return Ok(None);
                }
                return Ok(Some(self.finish(seen)));
            }
            let (take, end) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = self.cap.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            seen += take;
            self.inner.consume(if end { take + 1 } else { take });
            if end {
                return Ok(Some(self.finish(seen)));
            }
        }
    }

    fn finish(&mut self, seen: usize) -> Line {
        let mut line = std::mem::take(&mut self.buf);
        if seen > self.cap {
            return Line::TooLong {
                len: seen,
                head: line,
            };
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Line::Text(line)
    }
}

/// What one stdout line is, for routing.
#[derive(Debug, PartialEq)]
pub enum Routed {
    /// A response to the request with this id.
    Reply(u64),
    /// A response with no usable id that carries an error (a parse error about one of our lines).
    OrphanError,
    /// A request from the server (it needs an answer), with its raw id.
    ServerRequest { id: Value, method: String },
    /// A notification from the server, or a response to an id we never sent.
    Ignore,
    /// Not JSON-RPC at all (a log line on stdout, a half-written message).
    NotJson,
}

#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

/// Classifies a stdout line by its envelope only; the waiting call classifies the reply itself.
pub fn route(line: &[u8]) -> Routed {
    let Ok(head) = serde_json::from_slice::<Head>(line) else {
        return Routed::NotJson;
    };
    match (head.id, head.method) {
        (Some(id), Some(method)) if !id.is_null() => Routed::ServerRequest { id, method },
        (_, Some(_)) => Routed::Ignore,
        (Some(Value::Number(n)), None) => n.as_u64().map_or(Routed::Ignore, Routed::Reply),
        (Some(Value::String(s)), None) => s.parse().map_or(Routed::Ignore, Routed::Reply),
        (Some(Value::Null) | None, None) if head.error.is_some() => Routed::OrphanError,
        _ => Routed::Ignore,
    }
}

/// The answer to a server request: `ping` gets an empty result, anything else "method not found"
/// (the soak client offers no sampling, roots or elicitation).
pub fn answer_server_request(id: &Value, method: &str) -> Vec<u8> {
    let msg = if method == "ping" {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}})
    } else {
        serde_json::json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": -32601, "message": format!("mcp-soak does not handle {method}")}})
    };
    serde_json::to_vec(&msg).unwrap_or_default()
}

/// At most `n` bytes of `b` (a split character becomes U+FFFD when shown).
fn head(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

/// A line quoted in an error: lossy UTF-8, control characters shown, bounded.
pub fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(head(line, 120));
    format!("{:?}", text)
}

/// Lines of stderr kept per process.
pub const STDERR_LINES: usize = 20;
/// Bytes kept per stderr line.
pub const STDERR_LINE_BYTES: usize = 300;

/// The last [`STDERR_LINES`] lines a process wrote to stderr.
#[derive(Debug, Default)]
pub struct StderrTail {
    lines: Mutex<VecDeque<String>>,
}

impl StderrTail {
    pub fn push(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(head(line, STDERR_LINE_BYTES))
            .trim_end()
            .to_owned();
        if text.is_empty() {
            return;
        }
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if g.len() == STDERR_LINES {
            g.pop_front();
        }
        g.push_back(text);
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        g.iter().cloned().collect()
    }

    /// The last line, if any.
    pub fn last(&self) -> Option<String> {
        let g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        g.back().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], cap: usize) -> Vec<Line> {
        let mut r = LineReader::new(tokio::io::BufReader::with_capacity(4, input), cap);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().await.unwrap() {
            out.push(l);
        }
        out
    }

    #[tokio::test]
    async fn frames_lines_across_small_reads_and_caps_long_ones() {
        let got = lines(b"{\"id\":1}\r\nxxxxxxxxxxxx\n\nlast", 9).await;
        assert_eq!(
            got,
            vec![
                Line::Text(b"{\"id\":1}".to_vec()),
                Line::TooLong {
                    len: 12,
                    head: b"xxxxxxxxx".to_vec()
                },
                Line::Text(Vec::new()),
                Line::Text(b"last".to_vec()),
            ]
        );
    }

    #[test]
    fn routes_by_envelope() {
        assert_eq!(
            route(br#"{"jsonrpc":"2.0","id":7,"result":{}}"#),
            Routed::Reply(7)
        );
        assert_eq!(
            route(br#"{"jsonrpc":"2.0","id":"7","result":{}}"#),
            Routed::Reply(7)
        );
        assert_eq!(
            route(br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#),
            Routed::OrphanError
        );
        assert_eq!(
            route(br#"{"jsonrpc":"2.0","id":"s1","method":"ping"}"#),
            Routed::ServerRequest {
                id: Value::String("s1".into()),
                method: "ping".into()
            }
        );
        assert_eq!(
            route(br#"{"jsonrpc":"2.0","method":"notifications/message","params":{}}"#),
            Routed::Ignore
        );
        assert_eq!(route(b"Server listening on stdio"), Routed::NotJson);
        assert_eq!(route(b"[1,2]"), Routed::NotJson);
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines_bounded() {
        let t = StderrTail::default();
        for i in 0..30 {
            t.push(format!("line {i}").as_bytes());
        }
        t.push(&[b'y'; 1000]);
        let l = t.lines();
        assert_eq!(l.len(), STDERR_LINES);
        assert_eq!(l[0], "line 11");
        assert_eq!(t.last().unwrap().len(), STDERR_LINE_BYTES);
    }
}
