//! Credentials: a static bearer token, or an offline (refresh) token exchanged for access tokens
//! with the OAuth2 `refresh_token` grant, cached and refreshed (single-flight) before expiry.
//! Tokens never reach a log, an error or an outcome detail.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use super::Auth;
use crate::secret::Secret;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// Why no credential could be obtained. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint answered with an HTTP error.
    #[error("token endpoint answered HTTP {status}")]
    Status { status: u16 },
    /// The token endpoint could not be reached.
    #[error("token endpoint unreachable: {0}")]
    Unreachable(String),
    /// The token endpoint's answer had no usable `access_token`.
    #[error("token endpoint reply unusable: {0}")]
    BadReply(String),
    /// A token is not a valid header value.
    #[error("token contains characters not allowed in an HTTP header")]
    BadHeader,
}

struct Cached {
    header: HeaderValue,
    secret: Secret,
    refresh_at: Instant,
}

enum Kind {
    None,
    Static(HeaderValue),
    Offline {
        refresh_token: Secret,
        token_url: String,
        client_id: String,
        cached: RwLock<Option<Cached>>,
        refresh: tokio::sync::Mutex<()>,
    },
}

/// Produces the `Authorization` header for each request.
pub struct AuthProvider {
    kind: Kind,
    /// Every secret we know of, for scrubbing text that leaves the client.
    static_secrets: Vec<Secret>,
}

fn bearer(token: &str) -> Result<HeaderValue, AuthError> {
    let mut v =
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| AuthError::BadHeader)?;
    v.set_sensitive(true);
    Ok(v)
}

impl AuthProvider {
    /// Builds the provider from the config; `extra` are other secret values to scrub.
    pub fn new(auth: &Auth, extra: Vec<Secret>) -> Result<Self, AuthError> {
        let mut static_secrets = extra;
        let kind = match auth {
            Auth::None => Kind::None,
            Auth::Bearer(t) => {
                static_secrets.push(t.clone());
                Kind::Static(bearer(t.expose())?)
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

    /// The `Authorization` header value to send now, if any.
    pub async fn header(&self, http: &reqwest::Client) -> Result<Option<HeaderValue>, AuthError> {
        match &self.kind {
            Kind::None => Ok(None),
            Kind::Static(h) => Ok(Some(h.clone())),
            Kind::Offline {
                refresh_token,
                token_url,
                client_id,
                cached,
                refresh,
            } => {
                if let Some(h) = fresh(cached) {
                    return Ok(Some(h));
                }
                let _flight = refresh.lock().await;
                if let Some(h) = fresh(cached) {
                    return Ok(Some(h));
                }
                let started = Instant::now();
                let exchanged = exchange(http, token_url, client_id, refresh_token).await;
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
                Ok(Some(header))
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
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("client_id", client_id),
    ];
    let resp = http
        .post(token_url)
        .form(&form)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    if status >= 400 {
        return Err(AuthError::Status { status });
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
    if bytes.len() > 1024 * 1024 {
        return Err(AuthError::BadReply("reply too large".into()));
    }
    let reply: TokenReply = serde_json::from_slice(&bytes)
        .map_err(|_| AuthError::BadReply("not a JSON token reply".into()))?;
    match reply.access_token {
        Some(t) if !t.is_empty() => Ok((Secret::new(t), reply.expires_in)),
        _ => Err(AuthError::BadReply("no access_token".into())),
    }
}
