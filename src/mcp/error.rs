//! Why the client could not do something outside a measured call (connect, discovery,
//! tools/list): the one error every way of reaching a server (Streamable HTTP, legacy HTTP+SSE,
//! stdio) reports its handshake failures in.

use super::OutcomeKind;
use super::transport::Exchange;

/// Why the client could not do something outside a measured call (connect, discovery, tools/list).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached at all (refused, DNS, TLS, timeout).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The target (credential-free URL, or the stdio command line).
        url: String,
        /// Why it could not be reached.
        reason: String,
    },
    /// The server answered `initialize` and said no (an HTTP or a JSON-RPC error, e.g. 503 past a
    /// session cap): a refusal, counted in `sessions.refused` like the session pool's own.
    #[error("{0}")]
    Refused(String),
    /// Anything else the server did wrong, described.
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    /// True when the target is down or unreachable (exit code 3 territory).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }

    /// True when the server refused the session's `initialize` ([`ClientError::Refused`]).
    pub fn is_refused(&self) -> bool {
        matches!(self, ClientError::Refused(_))
    }

    /// The failed session `initialize` `x`: a refusal when the server answered with an error.
    pub(super) fn from_initialize(url: &str, x: &Exchange) -> Self {
        match Self::from_exchange(url, "initialize", x) {
            ClientError::Failed(why) if x.is_refusal() => ClientError::Refused(why),
            other => other,
        }
    }

    pub(crate) fn from_legacy(url: &str, x: &Exchange) -> Self {
        Self::from_exchange(url, "legacy SSE handshake", x)
    }

    pub(super) fn from_exchange(url: &str, what: &str, x: &Exchange) -> Self {
        let reason = x
            .detail
            .clone()
            .unwrap_or_else(|| x.kind.as_str().to_owned());
        match x.kind {
            OutcomeKind::Connect | OutcomeKind::Timeout => ClientError::Unreachable {
                // Errors are printed: never with the URL's credentials.
                url: crate::secret::strip_credentials(url),
                reason,
            },
            _ => ClientError::Failed(format!("{what} failed ({}): {reason}", x.kind)),
        }
    }
}
