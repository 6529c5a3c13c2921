//! Credentials: a static bearer token; an offline (refresh) token exchanged for access tokens with
//! the OAuth2 `refresh_token` grant, cached and refreshed (single-flight) before expiry; or the
//! offline token sent as it is in an `OCM-Offline-Token` header (what the assisted-service script's
//! `--auth-type offline-token` did).
//!
//! Each credential goes only where it belongs. The token endpoint gets its own HTTP client: it never
//! sees the extra `--header`s meant for the MCP server nor any `Authorization`, its request carries
//! exactly the grant's three form fields, TLS verification is never skipped for it (`--insecure` is
//! for the MCP server only), and its reply is read with a size cap while streaming. Tokens never
//! reach a log, an error or an outcome detail; an error names the token URL (without query or
//! userinfo), the HTTP status and the OAuth `error` field.

use std::path::Path;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};

use super::Auth;
use crate::secret::Secret;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// A token reply larger than this is refused (read in chunks, never whole).
const MAX_TOKEN_REPLY: usize = 64 * 1024;
/// Characters of the token endpoint's `error_description` kept in a message.
const MAX_ERROR_TEXT: usize = 200;
/// The header the assisted-service script sent its offline token in.
pub const OCM_OFFLINE_TOKEN: HeaderName = HeaderName::from_static("ocm-offline-token");

/// Why no credential could be obtained. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint answered with an HTTP error.
    #[error("token endpoint {url} answered HTTP {status}{}", oauth_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Status {
        /// The token endpoint (credential-free).
        url: String,
        /// The HTTP status it answered.
        status: u16,
        /// `error` and `error_description` of an OAuth error reply, e.g. `invalid_grant: Token is not active`.
        oauth_error: Option<String>,
    },
    /// The token endpoint could not be reached.
    #[error("token endpoint {url} unreachable: {reason}")]
    Unreachable {
        /// The token endpoint (credential-free).
        url: String,
        /// Why it could not be reached (connect, TLS, timeout).
        reason: String,
    },
    /// The token endpoint's answer had no usable `access_token`.
    #[error("token endpoint {url} reply unusable: {reason}")]
    BadReply {
        /// The token endpoint (credential-free).
        url: String,
        /// What was wrong with the reply.
        reason: String,
    },
    /// A token is not a valid header value.
    #[error("token contains characters not allowed in an HTTP header")]
    BadHeader,
    /// The token endpoint's client could not be built (bad CA file).
    #[error("token endpoint client: {0}")]
    Client(String),
}

struct Cached {
    header: HeaderValue,
    secret: Secret,
    refresh_at: Instant,
}

enum Kind {
    None,
    Static(HeaderName, HeaderValue),
    Offline {
        refresh_token: Secret,
        token_url: String,
        client_id: String,
        client: reqwest::Client,
        cached: RwLock<Option<Cached>>,
        refresh: tokio::sync::Mutex<()>,
    },
}

/// Produces the credential header for each MCP request.
pub struct AuthProvider {
    kind: Kind,
    /// Every secret we know of, for scrubbing text that leaves the client.
    static_secrets: Vec<Secret>,
}

fn sensitive(value: &str) -> Result<HeaderValue, AuthError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| AuthError::BadHeader)?;
    v.set_sensitive(true);
    Ok(v)
}

fn bearer(token: &str) -> Result<HeaderValue, AuthError> {
    sensitive(&format!("Bearer {token}"))
}

/// The HTTP client of the token endpoint alone: no default headers, no redirects, TLS verified.
fn token_client(ca_file: Option<&Path>) -> Result<reqwest::Client, AuthError> {
    crate::tls::install_crypto_provider();
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10));
    let b = crate::tls::trust_ca(b, ca_file).map_err(AuthError::Client)?;
    b.build().map_err(|e| AuthError::Client(e.to_string()))
}

impl AuthProvider {
    /// Builds the provider from the config; `extra` are other secret values to scrub; `ca_file`
    /// is trusted by the token endpoint's client too.
    pub fn new(auth: &Auth, extra: Vec<Secret>, ca_file: Option<&Path>) -> Result<Self, AuthError> {
        let mut static_secrets = extra;
        let kind = match auth {
            Auth::None => Kind::None,
            Auth::Bearer(t) => {
                static_secrets.push(t.clone());
                Kind::Static(AUTHORIZATION, bearer(t.expose())?)
            }
            Auth::OfflineTokenHeader(t) => {
                static_secrets.push(t.clone());
                Kind::Static(OCM_OFFLINE_TOKEN, sensitive(t.expose())?)
            }
            Auth::OfflineToken {
                refresh_token,
                token_url,
                client_id,
            } => {
                static_secrets.push(refresh_token.clone());
                Kind::Offline {
                    refresh_token: refresh_token.clone(),
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client: token_client(ca_file)?,
                    cached: RwLock::new(None),
                    refresh: tokio::sync::Mutex::new(()),
                }
            }
        };
        static_secrets.retain(|s| !s.is_empty());
        Ok(AuthProvider {
            kind,
            static_secrets,
        })
    }

    /// The credential header to send on an MCP request now, if any.
    pub async fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>, AuthError> {
        match &self.kind {
            Kind::None => Ok(None),
            Kind::Static(name, value) => Ok(Some((name.clone(), value.clone()))),
            Kind::Offline {
                refresh_token,
                token_url,
                client_id,
                client,
                cached,
                refresh,
            } => {
                if let Some(h) = fresh(cached) {
                    return Ok(Some((AUTHORIZATION, h)));
                }
                let _flight = refresh.lock().await;
                if let Some(h) = fresh(cached) {
                    return Ok(Some((AUTHORIZATION, h)));
                }
                let started = Instant::now();
                let exchanged = exchange(client, token_url, client_id, refresh_token).await;
                super::handshake::add(
                    super::handshake::HandshakeKind::TokenRefresh,
                    started.elapsed(),
                );
                let (token, expires_in) = exchanged?;
                let header = bearer(token.expose())?;
                let life = Duration::from_secs(expires_in.unwrap_or(300));
                let refresh_at = Instant::now() + life.saturating_sub(REFRESH_MARGIN).max(life / 2);
                if let Ok(mut g) = cached.write() {
                    *g = Some(Cached {
                        header: header.clone(),
                        secret: token,
                        refresh_at,
                    });
                }
                Ok(Some((AUTHORIZATION, header)))
            }
        }
    }

    /// Replaces every known secret in `text` with `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.static_secrets {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), "***");
            }
        }
        if let Kind::Offline { cached, .. } = &self.kind
            && let Ok(g) = cached.read()
            && let Some(c) = g.as_ref()
            && !c.secret.is_empty()
            && out.contains(c.secret.expose())
        {
            out = out.replace(c.secret.expose(), "***");
        }
        out
    }
}

fn fresh(cached: &RwLock<Option<Cached>>) -> Option<HeaderValue> {
    let g = cached.read().ok()?;
    let c = g.as_ref()?;
    (Instant::now() < c.refresh_at).then(|| c.header.clone())
}

/// Reads at most `cap` bytes of `resp`; `None` when the body is larger.
async fn read_capped(
    resp: &mut reqwest::Response,
    cap: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Ok(None);
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if buf.len() + chunk.len() > cap {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf))
}

/// `error[: error_description]` of an OAuth error reply, one line, capped, secrets scrubbed.
fn oauth_error(body: &[u8], refresh_token: &Secret) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorReply {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    let e: ErrorReply = serde_json::from_slice(body).ok()?;
    let text = match e.error_description {
        Some(d) if !d.is_empty() => format!("{}: {d}", e.error),
        _ => e.error,
    };
    let text = text.replace(refresh_token.expose(), "***");
    Some(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_ERROR_TEXT)
            .collect(),
    )
}

async fn exchange(
    http: &reqwest::Client,
    token_url: &str,
    client_id: &str,
    refresh_token: &Secret,
) -> Result<(Secret, Option<u64>), AuthError> {
    #[derive(serde::Deserialize)]
    struct TokenReply {
        access_token: Option<String>,
        #[serde(default)]
        expires_in: Option<u64>,
    }
    let url = crate::secret::strip_credentials(token_url);
    let unreachable = |e: reqwest::Error| AuthError::Unreachable {
        url: url.clone(),
        reason: super::transport::error_chain(&e.without_url()),
    };
    let bad = |reason: &str| AuthError::BadReply {
        url: url.clone(),
        reason: reason.into(),
    };
    // Exactly what the refresh_token grant needs (RFC 6749 §6), nothing else.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("client_id", client_id),
    ];
    let mut resp = http
        .post(token_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status().as_u16();
    let body = read_capped(&mut resp, MAX_TOKEN_REPLY)
        .await
        .map_err(unreachable)?;
    if status >= 400 {
        return Err(AuthError::Status {
            url,
            status,
            oauth_error: body.as_deref().and_then(|b| oauth_error(b, refresh_token)),
        });
    }
    let body = body.ok_or_else(|| bad(&format!("reply larger than {MAX_TOKEN_REPLY} bytes")))?;
    let reply: TokenReply =
        serde_json::from_slice(&body).map_err(|_| bad("not a JSON token reply"))?;
    match reply.access_token {
        Some(t) if !t.is_empty() => Ok((Secret::new(t), reply.expires_in)),
        _ => Err(bad("no access_token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_errors_are_named_scrubbed_and_capped() {
        let rt = Secret::new("s3cr3t-refresh");
        assert_eq!(
            oauth_error(
                br#"{"error":"invalid_grant","error_description":"Token s3cr3t-refresh is not active"}"#,
                &rt
            )
            .as_deref(),
            Some("invalid_grant: Token *** is not active")
        );
        assert_eq!(
            oauth_error(br#"{"error":"invalid_client"}"#, &rt).as_deref(),
            Some("invalid_client")
        );
        assert_eq!(oauth_error(b"<html>nope</html>", &rt), None);
        let long = format!(
            r#"{{"error":"x","error_description":"{}"}}"#,
            "y\\n".repeat(500)
        );
        let e = oauth_error(long.as_bytes(), &rt).expect("parsed");
        assert!(
            e.chars().count() <= MAX_ERROR_TEXT && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn error_messages_name_the_token_url_status_and_error() {
        let e = AuthError::Status {
            url: "https://sso.example.com/token".into(),
            status: 400,
            oauth_error: Some("invalid_grant: Token is not active".into()),
        };
        assert_eq!(
            e.to_string(),
            "token endpoint https://sso.example.com/token answered HTTP 400 (invalid_grant: Token is not active)"
        );
    }
}
