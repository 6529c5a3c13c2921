//! A bounded table of error messages per (operation, kind): the "space-saving" heavy-hitter scheme,
//! so frequent messages are kept with near-exact counts while memory stays fixed.

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
        let message = truncate(message);
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
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => &message[..i],
        None => message,
    }
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
    fn truncates_long_messages() {
        let long = "é".repeat(1000);
        assert_eq!(truncate(&long).chars().count(), MAX_MESSAGE_CHARS);
    }
}
