//! Lowering the `target` section (URL, transport, protocol, sessions, headers, TLS, auth) into the
//! client's `ClientConfig`.

use std::path::PathBuf;

use crate::config::file::{CommandCfg, FileConfig};
use crate::config::{ConfigError, Loader};
use crate::mcp::stdio::{StdioTarget, split_command};
use crate::mcp::{
    Auth, ClientConfig, ProtocolChoice, SUPPORTED_REVISIONS, SessionStrategy, Transport,
};
use crate::secret::Secret;

impl Loader<'_> {
    /// A count of `what` (sessions, connections) in 1..=100000.
    fn pool_size(
        &self,
        key: &str,
        v: Option<i64>,
        what: &str,
    ) -> Result<Option<usize>, ConfigError> {
        match v {
            None => Ok(None),
            Some(n) if (1..=100_000).contains(&n) => Ok(Some(n as usize)),
            Some(n) => Err(self.err(key, format!("expected 1 to 100000 {what}, got {n}"))),
        }
    }

    /// `idle:DURATION` or `idle:DURATION:SHARE%` (default 25 %), for a pool of `sessions` (at least
    /// two: one idles, one carries the load).
    fn idle_strategy(&self, s: &str, sessions: u32) -> Result<SessionStrategy, ConfigError> {
        const KEY: &str = "target.session_strategy";
        let rest = &s["idle:".len()..];
        let (after, share) = match rest.split_once(':') {
            Some((d, p)) => (d, Some(p)),
            None => (rest, None),
        };
        let after = crate::config::parse_duration(after)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                self.err(
                    KEY,
                    format!("expected idle:DURATION[:SHARE%] with a duration like 5m, got {s:?}"),
                )
            })?;
        let share_pct = match share {
            None => 25,
            Some(p) => {
                match p.strip_suffix('%').map(str::parse::<u8>) {
                    Some(Ok(n)) if (1..=100).contains(&n) => n,
                    _ => {
                        return Err(self.err(
                        KEY,
                        format!("expected a share like 25% (1% to 100%) after the duration, got {s:?}"),
                    ));
                    }
                }
            }
        };
        if sessions < 2 {
            return Err(self.err(
                KEY,
                format!("{s} needs target.sessions of at least 2 (some idle, one for the load), got {sessions}"),
            ));
        }
        Ok(SessionStrategy::Idle { after, share_pct })
    }

    pub(in crate::config) fn lower_client(
        &self,
        c: &FileConfig,
    ) -> Result<ClientConfig, ConfigError> {
        let t = &c.target;
        let mut cc = ClientConfig::default();
        if let Some(url) = &t.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(self.err(
                    "target.url",
                    format!("expected an http:// or https:// URL, got {url:?}"),
                ));
            }
            cc.url = url.clone();
        }
        cc.transport = match t.transport.as_deref() {
            None => Transport::default(),
            Some(name) => Transport::from_name(name).ok_or_else(|| {
                self.err(
                    "target.transport",
                    format!("expected streamable-http or legacy-sse, got {name:?}"),
                )
            })?,
        };
        cc.protocol = match t.protocol.as_deref() {
            None | Some("auto") => ProtocolChoice::Auto,
            Some(r) if SUPPORTED_REVISIONS.contains(&r) => ProtocolChoice::Revision(r.into()),
            Some(o) => {
                return Err(self.err(
                    "target.protocol",
                    format!(
                        "expected auto or one of {}, got {o:?}",
                        SUPPORTED_REVISIONS.join(", ")
                    ),
                ));
            }
        };
        if let Some(d) = self.duration("target.timeout", &t.timeout)? {
            if d.is_zero() {
                return Err(self.err("target.timeout", "expected a duration > 0"));
            }
            cc.timeout = d;
        }
        if let Some(d) = self.duration("target.connect_timeout", &t.connect_timeout)? {
            cc.connect_timeout = d;
        }
        if let Some(n) = self.pool_size("target.sessions", t.sessions, "sessions")? {
            cc.sessions = n as u32;
        }
        if let Some(n) =
            self.pool_size("target.max_connections", t.max_connections, "connections")?
        {
            cc.max_connections = n;
        }
        cc.session_strategy = match t.session_strategy.as_deref() {
            None | Some("pooled") => SessionStrategy::Pooled,
            Some("per-call") => SessionStrategy::PerCall,
            Some("abandon") => SessionStrategy::Abandon,
            Some("stale") => SessionStrategy::Stale,
            Some(s) if s.starts_with("idle:") => self.idle_strategy(s, cc.sessions)?,
            Some(s) if s.starts_with("churn:") => match s["churn:".len()..].parse::<u64>() {
                Ok(k) if k > 0 => SessionStrategy::Churn {
                    calls_per_session: k,
                },
                _ => {
                    return Err(self.err(
                        "target.session_strategy",
                        format!("expected churn:K with K > 0, got {s:?}"),
                    ));
                }
            },
            Some(o) => {
                return Err(self.err(
                    "target.session_strategy",
                    format!(
                        "expected pooled, churn:K, per-call, abandon, idle:DURATION[:SHARE%] or stale, got {o:?}"
                    ),
                ));
            }
        };
        for (k, v) in &t.headers {
            if k.is_empty()
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            {
                return Err(self.err("target.headers", format!("bad header name {k:?}")));
            }
            cc.headers.push((k.clone(), Secret::new(v.clone())));
        }
        if let Some(n) = t.max_body_bytes {
            const RANGE: std::ops::RangeInclusive<i64> = 1024..=(1 << 30);
            if !RANGE.contains(&n) {
                return Err(self.err(
                    "target.max_body_bytes",
                    format!("expected 1024 to 1073741824 bytes, got {n}"),
                ));
            }
            cc.max_body_bytes = n as usize;
        }
        cc.ca_file = t.ca_file.as_ref().map(PathBuf::from);
        cc.insecure = t.insecure.unwrap_or(false);
        cc.auth = self.lower_auth(c)?;
        cc.stdio = self.lower_stdio(c, cc.transport)?;
        if let Some(t) = &cc.stdio {
            // Summaries, metrics and errors name the target by its URL: for stdio, the command.
            cc.url = t.label();
        }
        Ok(cc)
    }

    /// `target.command`, `env`, `cwd`, `processes`: the stdio target, when there is one.
    fn lower_stdio(
        &self,
        c: &FileConfig,
        transport: Transport,
    ) -> Result<Option<StdioTarget>, ConfigError> {
        let t = &c.target;
        let Some(cmd) = &t.command else {
            for (key, set) in [
                ("target.env", !t.env.is_empty()),
                ("target.cwd", t.cwd.is_some()),
                ("target.processes", t.processes.is_some()),
            ] {
                if set {
                    return Err(self.err(key, "only applies to a stdio target (target.command)"));
                }
            }
            return Ok(None);
        };
        if t.url.is_some() {
            return Err(self.err(
                "target.command",
                "target.url is set too: a target is a URL or a command, not both",
            ));
        }
        if transport != Transport::default() {
            return Err(self.err(
                "target.transport",
                "a stdio target (target.command) has no HTTP transport to choose",
            ));
        }
        let command = match cmd {
            CommandCfg::Line(line) => {
                split_command(line).map_err(|e| self.err("target.command", e))?
            }
            CommandCfg::Words(w) if w.first().is_some_and(|p| !p.is_empty()) => w.clone(),
            CommandCfg::Words(_) => {
                return Err(self.err("target.command", "the command is empty"));
            }
        };
        let processes = self
            .pool_size("target.processes", t.processes, "processes")?
            .unwrap_or(1) as u32;
        if let Some(k) = t.env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(self.err("target.env", format!("bad variable name {k:?}")));
        }
        Ok(Some(StdioTarget {
            command,
            env: t
                .env
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                .collect(),
            cwd: t.cwd.as_ref().map(PathBuf::from),
            processes,
        }))
    }

    fn token(&self, c: &FileConfig) -> Result<Option<Secret>, ConfigError> {
        let au = &c.target.auth;
        if let Some(t) = &au.token {
            return Ok(Some(Secret::new(t.clone())));
        }
        if let Some(var) = &au.token_env {
            return match self.env.get(var) {
                Some(v) if !v.is_empty() => Ok(Some(Secret::new(v.clone()))),
                _ => Err(self.err(
                    "target.auth.token_env",
                    format!("environment variable {var} is not set or empty"),
                )),
            };
        }
        if let Some(path) = &au.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                self.err(
                    "target.auth.token_file",
                    format!("cannot read token file {path}: {e}"),
                )
            })?;
            let tok = text.trim();
            if tok.is_empty() {
                return Err(self.err(
                    "target.auth.token_file",
                    format!("token file {path} is empty"),
                ));
            }
            return Ok(Some(Secret::new(tok)));
        }
        Ok(None)
    }

    fn lower_auth(&self, c: &FileConfig) -> Result<Auth, ConfigError> {
        let au = &c.target.auth;
        let token = self.token(c)?;
        let kind = au.kind.clone().unwrap_or_else(|| {
            if token.is_some() {
                "bearer".into()
            } else {
                "none".into()
            }
        });
        // A setting the chosen kind needs but nobody gave is blamed on whoever chose the kind.
        let needs = |key: &str, what: &str| ConfigError {
            origin: self.origin("target.auth.kind"),
            key: key.into(),
            message: format!("auth kind {kind:?} needs {what}"),
        };
        let token_hint = "the token: --token-env VAR, --token-file FILE, --token, or token/token_env/token_file in [target.auth]";
        match kind.as_str() {
            "none" => Ok(Auth::None),
            "bearer" => token
                .map(Auth::Bearer)
                .ok_or_else(|| needs("target.auth.token", token_hint)),
            "offline-token-header" | "ocm-offline-token" => token
                .map(Auth::OfflineTokenHeader)
                .ok_or_else(|| needs("target.auth.token", token_hint)),
            "offline-token" => {
                let refresh_token = token.ok_or_else(|| needs("target.auth.token", token_hint))?;
                let token_url = au.token_url.clone().ok_or_else(|| {
                    needs(
                        "target.auth.token_url",
                        "the token endpoint: --token-url URL or token_url in [target.auth] \
                         (or auth kind offline-token-header to send the token as an OCM-Offline-Token header)",
                    )
                })?;
                let client_id = au
                    .client_id
                    .clone()
                    .unwrap_or_else(|| "cloud-services".into());
                Ok(Auth::OfflineToken {
                    refresh_token,
                    token_url,
                    client_id,
                })
            }
            o => Err(self.err(
                "target.auth.kind",
                format!("expected none, bearer, offline-token or offline-token-header, got {o:?}"),
            )),
        }
    }
}
