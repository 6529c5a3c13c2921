//! HTTP/1.1 client framing for the direct path, without I/O: a request written into one buffer,
//! a reply head parsed with `httparse`, and the reply body's framing (a length, chunked, or until
//! the server closes; RFC 9112 §6) decoded in place from the connection's read buffer.
//!
//! [`super::direct`] owns the sockets and calls these; everything here is a pure function of the
//! bytes, so it is tested (and fuzzed, in `tests/fuzz_parsers.rs`) on its own.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, HeaderName, HeaderValue, TRANSFER_ENCODING};

/// Most header lines a reply head may carry.
const MAX_HEADERS: usize = 100;
/// Longest reply head, in bytes.
pub const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size line, and longest trailer line.
const MAX_LINE: usize = 4 * 1024;

/// A reply that does not frame as HTTP/1.1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The head is not an HTTP/1.x status line and headers.
    #[error("malformed reply head ({0})")]
    Head(httparse::Error),
    /// The head did not end within [`MAX_HEAD`] bytes.
    #[error("reply head longer than {MAX_HEAD} bytes")]
    HeadTooLong,
    /// `Content-Length` is not a number, or two of them disagree.
    #[error("invalid Content-Length")]
    Length,
    /// A chunk-size line or the CRLF after a chunk is wrong, or a line is too long.
    #[error("malformed chunked body")]
    Chunk,
    /// The server closed the connection before the body's announced end.
    #[error("connection closed before the reply body was complete")]
    Truncated,
}

/// Writes a `POST` of `body` to `path` on `host`: the request line, `Host`, every header of
/// `headers` but the ones framing is ours to set (`Host`, `Content-Length`, `Transfer-Encoding`),
/// `Content-Length`, then the body.
pub fn write_post<'h>(
    out: &mut Vec<u8>,
    path: &str,
    host: &[u8],
    headers: impl IntoIterator<Item = (&'h HeaderName, &'h HeaderValue)>,
    body: &[u8],
) {
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host);
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == HOST || name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

/// A reply head: status, how its body is framed, and the head's bytes for [`Head::header`].
#[derive(Debug)]
pub struct Head {
    /// HTTP status code.
    pub status: u16,
    /// The body's framing.
    pub body: Body,
    /// The announced `Content-Length`, when the body is framed by it.
    pub length: Option<u64>,
    /// The connection may carry another request once this body is read (HTTP/1.1 without
    /// `Connection: close`, and a body that does not end with the connection).
    pub keep_alive: bool,
    /// The status line and header lines as received (validated by `httparse`).
    raw: Bytes,
    /// Where each header's name and value are in `raw`.
    index: Vec<(Range, Range)>,
}

/// A byte range of a head (`start..end`).
type Range = (u32, u32);

impl Head {
    /// A 1xx reply other than 101: another head follows for the same request.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The first header called `name` (any case), its value sharing the head's bytes.
    pub fn header(&self, name: &HeaderName) -> Option<HeaderValue> {
        let name = name.as_str().as_bytes();
        let span = |(start, end): Range| &self.raw[start as usize..end as usize];
        let (_, value) = self
            .index
            .iter()
            .find(|(key, _)| span(*key).eq_ignore_ascii_case(name))?;
        HeaderValue::from_maybe_shared(self.raw.slice_ref(span(*value))).ok()
    }
}

/// The reply head at the front of `buf`, taken off it; `None` (and `buf` untouched) while the head
/// is incomplete.
pub fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, FrameError> {
    // Uninitialised slots: httparse writes the ones it fills (no 3 KiB memset a reply).
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut reply = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let n = match config.parse_response_with_uninit_headers(&mut reply, buf, &mut slots) {
        Ok(httparse::Status::Complete(n)) if n > MAX_HEAD => return Err(FrameError::HeadTooLong),
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(FrameError::HeadTooLong);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(FrameError::Head(e)),
    };
    let status = reply.code.unwrap_or(0);
    let mut close = reply.version != Some(1);
    let (mut length, mut chunked, mut encoded) = (None, false, false);
    let at = |part: &[u8]| {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        (start as u32, (start + part.len()) as u32)
    };
    let mut index = Vec::with_capacity(reply.headers.len());
    for h in reply.headers.iter() {
        index.push((at(h.name.as_bytes()), at(h.value)));
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(h.value)?;
            if length.is_some_and(|l| l != n) {
                return Err(FrameError::Length);
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            chunked = last_token(h.value).eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && reply.version == Some(0) {
                    close = false;
                }
            }
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        length = None;
        close |= status == 101;
        Body::empty()
    } else if encoded {
        length = None;
        if chunked {
            Body::chunked()
        } else {
            close = true;
            Body::until_close()
        }
    } else if let Some(n) = length {
        Body::length(n)
    } else {
        close = true;
        Body::until_close()
    };
    Ok(Some(Head {
        status,
        body,
        length,
        keep_alive: !close,
        raw: buf.split_to(n).freeze(),
        index,
    }))
}

fn parse_length(v: &[u8]) -> Result<u64, FrameError> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return Err(FrameError::Length);
    }
    Ok(v.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

fn last_token(v: &[u8]) -> &[u8] {
    v.rsplit(|&b| b == b',').next().unwrap_or(v).trim_ascii()
}

/// One step of reading a body out of the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A piece of the body (never empty).
    Data(Bytes),
    /// The buffer holds no more of the body: read more from the socket.
    More,
    /// The body has ended.
    End,
}

/// How much of a reply body is left, and how it is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(Frame);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    /// This many bytes are left.
    Length(u64),
    /// Chunked, at this point of a chunk.
    Chunked(Chunk),
    /// Everything until the server closes.
    UntilClose,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

impl Body {
    /// No body at all.
    pub fn empty() -> Body {
        Body(Frame::Done)
    }

    /// A body of exactly `n` bytes.
    pub fn length(n: u64) -> Body {
        Body(if n == 0 {
            Frame::Done
        } else {
            Frame::Length(n)
        })
    }

    /// A chunked body (`Transfer-Encoding: chunked`).
    pub fn chunked() -> Body {
        Body(Frame::Chunked(Chunk::Size))
    }

    /// A body that ends when the server closes the connection.
    pub fn until_close() -> Body {
        Body(Frame::UntilClose)
    }

    /// The body has been read to its end.
    pub fn is_done(&self) -> bool {
        self.0 == Frame::Done
    }

    /// The next piece of the body, taken off the front of `buf`.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Step, FrameError> {
        loop {
            match &mut self.0 {
                Frame::Done => return Ok(Step::End),
                Frame::UntilClose if buf.is_empty() => return Ok(Step::More),
                Frame::UntilClose => return Ok(Step::Data(buf.split().freeze())),
                Frame::Length(left) => {
                    let Some(data) = take_data(buf, left) else {
                        return Ok(Step::More);
                    };
                    if *left == 0 {
                        self.0 = Frame::Done;
                    }
                    return Ok(Step::Data(data));
                }
                Frame::Chunked(Chunk::Data(left)) => {
                    let Some(data) = take_data(buf, left) else {
                        return Ok(Step::More);
                    };
                    if *left == 0 {
                        self.0 = Frame::Chunked(Chunk::DataEnd);
                    }
                    return Ok(Step::Data(data));
                }
                Frame::Chunked(Chunk::DataEnd) => {
                    if buf.len() < 2 {
                        return Ok(Step::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(FrameError::Chunk);
                    }
                    buf.advance(2);
                    self.0 = Frame::Chunked(Chunk::Size);
                }
                Frame::Chunked(Chunk::Size) => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::More);
                    };
                    self.0 = match chunk_size(&line)? {
                        0 => Frame::Chunked(Chunk::Trailers),
                        n => Frame::Chunked(Chunk::Data(n)),
                    };
                }
                Frame::Chunked(Chunk::Trailers) => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(Step::More);
                    };
                    if line.is_empty() {
                        self.0 = Frame::Done;
                    }
                }
            }
        }
    }

    /// The server closed the connection: the end of an until-close body, and a truncated one
    /// for any other that has not ended.
    pub fn at_eof(&mut self) -> Result<(), FrameError> {
        match self.0 {
            Frame::Done => Ok(()),
            Frame::UntilClose => {
                self.0 = Frame::Done;
                Ok(())
            }
            _ => Err(FrameError::Truncated),
        }
    }
}

/// Up to `left` bytes off the front of `buf` (`left` counted down), or `None` when `buf` is empty.
fn take_data(buf: &mut BytesMut, left: &mut u64) -> Option<Bytes> {
    if buf.is_empty() {
        return None;
    }
    let n = usize::try_from(*left).map_or(buf.len(), |l| l.min(buf.len()));
    *left -= n as u64;
    Some(buf.split_to(n).freeze())
}

/// One CRLF-terminated line off the front of `buf`, without its CRLF; `None` until it is whole.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
    let Some(lf) = buf.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
        return if buf.len() >= MAX_LINE {
            Err(FrameError::Chunk)
        } else {
            Ok(None)
        };
    };
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(FrameError::Chunk);
    }
    let mut line = buf.split_to(lf + 1);
    line.truncate(lf - 1);
    Ok(Some(line))
}

/// The size of a chunk-size line (hex digits, then optional whitespace and `;extensions`).
fn chunk_size(line: &[u8]) -> Result<u64, FrameError> {
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or(line)
        .trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(FrameError::Chunk);
    }
    digits.iter().try_fold(0u64, |n, &d| {
        let v = (d as char).to_digit(16).ok_or(FrameError::Chunk)?;
        Ok(n * 16 + u64::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        let mut buf = BytesMut::from(text);
        let h = parse_head(&mut buf).expect("parses").expect("complete");
        assert!(buf.is_empty(), "the whole head is consumed");
        h
    }

    fn parse(text: &[u8]) -> Result<Option<Head>, FrameError> {
        parse_head(&mut BytesMut::from(text))
    }

    /// Feeds `wire` to `body` `step` bytes at a time; the body and whether it ended.
    fn decode(mut body: Body, wire: &[u8], step: usize) -> Result<(Vec<u8>, bool), FrameError> {
        let (mut out, mut buf) = (Vec::new(), BytesMut::new());
        for piece in wire.chunks(step.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                match body.next(&mut buf)? {
                    Step::Data(d) => out.extend_from_slice(&d),
                    Step::More => break,
                    Step::End => return Ok((out, true)),
                }
            }
        }
        Ok((out, body.is_done()))
    }

    #[test]
    fn the_request_frames_itself_and_skips_framing_headers() {
        let mut h = http::HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("content-length", HeaderValue::from_static("999"));
        h.insert("host", HeaderValue::from_static("evil"));
        let mut out = Vec::new();
        write_post(&mut out, "/mcp?x=1", b"127.0.0.1:8080", &h, b"{}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /mcp?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-type: application/json\r\n\
             content-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn heads_say_how_the_body_is_framed_and_whether_the_connection_stays() {
        let h =
            head("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n");
        assert_eq!((h.status, h.length, h.keep_alive), (200, Some(12), true));
        let ct = HeaderName::from_static("content-type");
        assert_eq!(h.header(&ct).unwrap(), "application/json");
        let h = head("HTTP/1.1 200 OK\r\nX-A:  one \r\nMcp-Session-Id:abc\r\nx-a: two\r\n\r\n");
        let (a, sid) = (
            HeaderName::from_static("x-a"),
            HeaderName::from_static("mcp-session-id"),
        );
        assert_eq!(h.header(&a).unwrap(), "one", "the first, trimmed");
        assert_eq!(h.header(&sid).unwrap(), "abc");
        assert_eq!(h.header(&ct), None);
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(
            (h.body, h.length, h.keep_alive),
            (Body::chunked(), None, true)
        );
        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (Body::until_close(), false));
        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!((h.body, h.keep_alive), (Body::until_close(), false));
        let h = head("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assert_eq!((h.body.is_done(), h.keep_alive), (true, false));
        let h = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!((h.body.is_done(), h.keep_alive), (true, true));
        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0 closes by default");
        let h = head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n");
        assert!(h.keep_alive);
        let h = head("HTTP/1.1 100 Continue\r\n\r\n");
        assert!(h.is_interim() && h.body.is_done());
    }

    #[test]
    fn bad_heads_are_errors_and_partial_ones_wait() {
        assert!(matches!(parse(b"HTTP/1.1 200 OK\r\nContent-"), Ok(None)));
        assert!(matches!(
            parse(b"<html>hello</html>\r\n\r\n"),
            Err(FrameError::Head(_))
        ));
        let two = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(parse(two).unwrap_err(), FrameError::Length);
        let neg = b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n";
        assert_eq!(parse(neg).unwrap_err(), FrameError::Length);
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD + 1));
        assert_eq!(
            parse(format!("{long}\r\n\r\n").as_bytes()).unwrap_err(),
            FrameError::HeadTooLong,
            "a long head is refused whole too"
        );
        assert_eq!(parse(long.as_bytes()).unwrap_err(), FrameError::HeadTooLong);
    }

    #[test]
    fn bodies_decode_whatever_way_the_bytes_arrive() {
        let chunked = b"5;ext=1\r\nhello\r\n7 \r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for step in 1..chunked.len() {
            let (data, ended) = decode(Body::chunked(), chunked, step).expect("decodes");
            assert_eq!(
                (data.as_slice(), ended),
                (&b"hello, world"[..], true),
                "step {step}"
            );
        }
        let (data, ended) = decode(Body::length(5), b"hello", 2).unwrap();
        assert_eq!((data.as_slice(), ended), (&b"hello"[..], true));
        let (data, ended) = decode(Body::length(5), b"hel", 2).unwrap();
        assert_eq!((data.as_slice(), ended), (&b"hel"[..], false));
        let (data, ended) = decode(Body::until_close(), b"abc", 2).unwrap();
        assert_eq!((data.as_slice(), ended), (&b"abc"[..], false));
    }

    #[test]
    fn a_body_stops_at_its_end_and_leaves_what_follows() {
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1"[..]);
        let mut body = Body::chunked();
        assert_eq!(
            body.next(&mut buf),
            Ok(Step::Data(Bytes::from_static(b"abc")))
        );
        assert_eq!(body.next(&mut buf), Ok(Step::End));
        assert_eq!(&buf[..], b"HTTP/1.1");
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        let mut body = Body::length(4);
        assert_eq!(
            body.next(&mut buf),
            Ok(Step::Data(Bytes::from_static(b"abcd")))
        );
        assert!(body.is_done());
        assert_eq!(&buf[..], b"ef");
    }

    #[test]
    fn malformed_chunks_and_truncation_are_errors() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\nhello",
            b"3\r\nabcX\r\n",
            b"1234567890abcdef0\r\n",
        ] {
            assert_eq!(
                decode(Body::chunked(), bad, 64).unwrap_err(),
                FrameError::Chunk,
                "{bad:?}"
            );
        }
        let endless = vec![b'1'; MAX_LINE + 1];
        assert_eq!(
            decode(Body::chunked(), &endless, 64).unwrap_err(),
            FrameError::Chunk
        );
        let mut body = Body::length(3);
        assert_eq!(body.at_eof(), Err(FrameError::Truncated));
        let mut body = Body::until_close();
        assert_eq!(body.at_eof(), Ok(()));
        assert!(body.is_done());
    }
}
