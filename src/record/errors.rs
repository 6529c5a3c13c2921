//! A bounded table of error messages per (operation, kind): the "space-saving" heavy-hitter scheme,
//! so frequent messages are kept with near-exact counts while memory stays fixed.
//!
//! Messages are counted by shape, not by value: quoted values, UUIDs, long numbers and id-like
//! tokens are replaced by placeholders (`unknown payment id "…"`), so a thousand calls that failed
//! the same way with a thousand generated values make one row, not a thousand "1x" rows. Short
//! numbers stay (`HTTP 503`, `-32602`, `ISO 4217`): they usually name the error, not the call.

use crate::mcp::OutcomeKind;

/// Longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 200;

#[derive(Debug, Clone)]
struct Entry {
    op: usize,
    kind: OutcomeKind,
    message: String,
    count: u64,
}

/// At most `cap` distinct (op, kind, message) entries.
#[derive(Debug)]
pub(crate) struct ErrorTable {
    cap: usize,
    entries: Vec<Entry>,
}

impl ErrorTable {
    pub(crate) fn new(cap: usize) -> Self {
        ErrorTable {
            cap: cap.max(1),
            entries: Vec::new(),
        }
    }

    /// Counts one message. When the table is full, the least frequent entry is replaced and the
    /// newcomer inherits its count + 1 (an over-estimate bounded by the evicted count).
    pub(crate) fn add(&mut self, op: usize, kind: OutcomeKind, message: &str) {
        let shaped = shape(truncate_to(message, 4 * MAX_MESSAGE_CHARS));
        let message = truncate(&shaped);
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.op == op && e.kind == kind && e.message == message)
        {
            e.count += 1;
            return;
        }
        if self.entries.len() < self.cap {
            self.entries.push(Entry {
                op,
                kind,
                message: message.to_owned(),
                count: 1,
            });
            return;
        }
        if let Some(min) = self.entries.iter_mut().min_by_key(|e| e.count) {
            *min = Entry {
                op,
                kind,
                message: message.to_owned(),
                count: min.count + 1,
            };
        }
    }

    /// Entries as (op, kind, message, count), most frequent first.
    pub(crate) fn top(&self) -> Vec<(usize, OutcomeKind, String, u64)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .map(|e| (e.op, e.kind, e.message.clone(), e.count))
            .collect();
        v.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.2.cmp(&b.2)));
        v
    }
}

/// The message cut to [`MAX_MESSAGE_CHARS`] characters (on a char boundary).
pub(crate) fn truncate(message: &str) -> &str {
    truncate_to(message, MAX_MESSAGE_CHARS)
}

fn truncate_to(message: &str, chars: usize) -> &str {
    match message.char_indices().nth(chars) {
        Some((i, _)) => &message[..i],
        None => message,
    }
}

/// The message with its values replaced by placeholders (see the module docs): `"…"` for a quoted
/// value, `<n>` for a number with a fraction or of 6 digits or more, `<id>` for a token of 6
/// characters or more that mixes digits in (UUIDs, `pay_00ab…`, `cus_1234`).
pub(crate) fn shape(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let after_word = i > 0 && chars[i - 1].is_alphanumeric();
        if (c == '"' || (c == '\'' && !after_word))
            && let Some(end) = closing_quote(&chars, i + 1, c)
            && !chars[i + 1..end].starts_with(&KEPT_PREFIX)
        {
            out.push(c);
            out.push('…');
            out.push(c);
            i = end + 1;
            continue;
        }
        if is_token_char(c) {
            let start = i;
            while i < chars.len() && is_token_char(chars[i]) {
                i += 1;
            }
            // A sentence's full stop is not part of the token.
            let mut end = i;
            while end > start + 1 && chars[end - 1] == '.' {
                end -= 1;
            }
            let token: String = chars[start..end].iter().collect();
            out.push_str(token_shape(&token).unwrap_or(&token));
            out.extend(&chars[end..i]);
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Quoted values that start with this are mcp-soak's own markers (an empty capture pool's
/// placeholder): they name the cause, so they are kept.
const KEPT_PREFIX: [char; 9] = ['m', 'c', 'p', '-', 's', 'o', 'a', 'k', ':'];

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn closing_quote(chars: &[char], from: usize, quote: char) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The placeholder for a token, or None to keep it.
fn token_shape(token: &str) -> Option<&'static str> {
    let digits = token.chars().filter(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let unsigned = token.strip_prefix('-').unwrap_or(token);
    let numeric = unsigned
        .split_once('.')
        .map_or(
            unsigned,
            |(int, frac)| if frac.is_empty() { "x" } else { int },
        )
        .chars()
        .all(|c| c.is_ascii_digit())
        && unsigned
            .split_once('.')
            .is_none_or(|(_, frac)| frac.chars().all(|c| c.is_ascii_digit()));
    if numeric {
        return (unsigned.contains('.') || digits >= 6).then_some("<n>");
    }
    (token.chars().count() >= 6).then_some("<id>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_heavy_hitters() {
        let mut t = ErrorTable::new(100);
        for i in 0..10_000 {
            t.add(0, OutcomeKind::HttpError, "HTTP 503");
            t.add(0, OutcomeKind::Protocol, &format!("unique message {i}"));
        }
        let top = t.top();
        assert!(top.len() <= 100);
        assert_eq!(top[0].2, "HTTP 503");
        assert_eq!(top[0].3, 10_000);
    }

    #[test]
    fn messages_are_grouped_by_shape() {
        let cases = [
            (
                "`currency` must be an ISO 4217 code of 3 capital letters, got \"soak-3At\"",
                "`currency` must be an ISO 4217 code of 3 capital letters, got \"…\"",
            ),
            (
                "unknown payment id \"pay_00ab12cd34ef5678\"",
                "unknown payment id \"…\"",
            ),
            (
                "amount 12.50 exceeds the limit for cus_123456.",
                "amount <n> exceeds the limit for <id>.",
            ),
            (
                "session 3f1c2a9e-6b1d-4c55-9a0e-1d2b3c4d5e6f expired after 1800s",
                "session <id> expired after 1800s",
            ),
            (
                "HTTP 503: Service Unavailable",
                "HTTP 503: Service Unavailable",
            ),
            (
                "rpc error -32602: don't know tool 'x1'",
                "rpc error -32602: don't know tool '…'",
            ),
            ("order 1234567 failed", "order <n> failed"),
            (
                "unknown payment id \"mcp-soak:empty-capture:ids\"",
                "unknown payment id \"mcp-soak:empty-capture:ids\"",
            ),
            ("unterminated \"quote 123456789", "unterminated \"quote <n>"),
        ];
        for (raw, want) in cases {
            assert_eq!(shape(raw), want, "{raw}");
        }
        let mut t = ErrorTable::new(10);
        for i in 0..500 {
            t.add(
                1,
                OutcomeKind::ToolError,
                &format!("unknown payment id \"pay_{i:016x}\""),
            );
        }
        assert_eq!(
            t.top(),
            [(
                1,
                OutcomeKind::ToolError,
                "unknown payment id \"…\"".to_string(),
                500
            )]
        );
    }

    #[test]
    fn truncates_long_messages() {
        let long = "é".repeat(1000);
        assert_eq!(truncate(&long).chars().count(), MAX_MESSAGE_CHARS);
    }
}
