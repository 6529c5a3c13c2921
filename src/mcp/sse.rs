//! An incremental Server-Sent Events parser: bytes in, events out, nothing kept beyond the
//! event being assembled. Used for Streamable HTTP SSE replies and the legacy HTTP+SSE stream.
//!
//! Memory is capped by the parser itself, not by its callers: a line still waiting for its end and
//! the data of the event being assembled may each hold at most `limit` bytes, so a long-lived
//! stream (legacy SSE) cannot grow a buffer without bound by never sending a newline or a blank
//! line.

/// One dispatched SSE event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    /// All `data:` lines joined by `\n` (empty for priming/keep-alive events).
    pub data: String,
    /// `id:` field.
    pub id: Option<String>,
}

/// Why the byte stream is not valid SSE.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    /// A line of the stream is not valid UTF-8.
    #[error("SSE line is not UTF-8")]
    NotUtf8,
    /// An event grew past the cap.
    #[error("SSE event exceeds the {limit} byte cap")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
}

/// Incremental parser: [`SseParser::push`] bytes, then drain [`SseParser::next_event`].
#[derive(Debug)]
pub struct SseParser {
    /// Most bytes an unfinished line, or one event's data, may hold.
    limit: usize,
    buf: Vec<u8>,
    pos: usize,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    /// Whether any field was seen since the last dispatch.
    dirty: bool,
}

impl SseParser {
    /// A fresh parser whose lines and event data are capped at `limit` bytes each.
    pub fn new(limit: usize) -> Self {
        SseParser {
            limit,
            buf: Vec::new(),
            pos: 0,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            dirty: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received but not yet consumed as complete lines.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete event, if the buffered bytes hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if rest.len() > self.limit {
                    return Err(SseError::TooLarge { limit: self.limit });
                }
                return Ok(None);
            };
            // A lone '\r' at the very end may be the first half of "\r\n": wait for more.
            let mut skip = 1;
            if rest[nl] == b'\r' {
                if nl + 1 == rest.len() {
                    if nl > self.limit {
                        return Err(SseError::TooLarge { limit: self.limit });
                    }
                    return Ok(None);
                }
                if rest[nl + 1] == b'\n' {
                    skip = 2;
                }
            }
            let line = std::str::from_utf8(&rest[..nl]).map_err(|_| SseError::NotUtf8)?;
            let consumed = nl + skip;
            if line.is_empty() {
                self.pos += consumed;
                if self.dirty {
                    return Ok(Some(self.dispatch()));
                }
                continue;
            }
            let (field, value) = match line.find(':') {
                Some(0) => {
                    self.pos += consumed; // comment
                    continue;
                }
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(' ').unwrap_or(v))
                }
                None => (line, ""),
            };
            match field {
                "data" => {
                    if self.data.len() + value.len() + 1 > self.limit {
                        return Err(SseError::TooLarge { limit: self.limit });
                    }
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                    self.has_data = true;
                    self.dirty = true;
                }
                "event" => {
                    self.event = Some(value.to_owned());
                    self.dirty = true;
                }
                "id" => {
                    self.id = Some(value.to_owned());
                    self.dirty = true;
                }
                _ => {} // retry and unknown fields
            }
            self.pos += consumed;
        }
    }

    fn dispatch(&mut self) -> SseEvent {
        self.dirty = false;
        self.has_data = false;
        SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
            id: self.id.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<SseEvent> {
        let mut v = Vec::new();
        while let Some(e) = p.next_event().unwrap() {
            v.push(e);
        }
        v
    }

    #[test]
    fn parses_priming_message_and_split_chunks() {
        let mut p = SseParser::new(1 << 20);
        p.push(b"id: 1\ndata:\n\nevent: message\r\ndata: {\"a\"");
        let first = all(&mut p);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].data, "");
        assert_eq!(first[0].id.as_deref(), Some("1"));
        p.push(b":1}\r");
        assert!(all(&mut p).is_empty());
        p.push(b"\n\r\n: comment\n\n");
        let ev = all(&mut p);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].event.as_deref(), Some("message"));
        assert_eq!(ev[0].data, "{\"a\":1}");
    }

    #[test]
    fn multi_line_data_joined() {
        let mut p = SseParser::new(1 << 20);
        p.push(b"data: a\ndata: b\n\n");
        assert_eq!(all(&mut p)[0].data, "a\nb");
    }

    #[test]
    fn lines_and_events_are_capped() {
        // A line that never ends.
        let mut p = SseParser::new(1024);
        for _ in 0..10 {
            p.push(&[b'x'; 200]);
        }
        assert_eq!(p.next_event(), Err(SseError::TooLarge { limit: 1024 }));
        // Many short data lines and never a blank line: the event's data is capped.
        let mut p = SseParser::new(1024);
        let mut result = Ok(None);
        for _ in 0..1000 {
            p.push(b"data: 0123456789\n");
            result = p.next_event();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::TooLarge { limit: 1024 }));
        assert!(p.pending() < 2048, "{}", p.pending());
        // Events under the cap pass.
        let mut p = SseParser::new(16);
        p.push(b"data: 0123456789\n\n");
        assert_eq!(all(&mut p)[0].data, "0123456789");
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::new(1 << 20);
        p.push(b"data: \xff\xfe\n\n");
        assert_eq!(p.next_event(), Err(SseError::NotUtf8));
    }
}
