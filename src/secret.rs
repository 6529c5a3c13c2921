//! A string that must never be printed (tokens, passwords, auth headers), and URLs made safe to
//! print: every layer that shows a target (client errors, metrics labels, the summary, startup
//! checks) strips credentials the same way, from here.

/// Holds a secret; `Debug`, `Display` and `Serialize` all print `***`. Use [`Secret::expose`] to read it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// `url` without user-info, query and fragment (they may carry credentials).
pub fn strip_credentials(url: &str) -> String {
    // A stdio target's label is a command line, not a URL: `@` and `/` there are not userinfo.
    if url.starts_with("stdio:") {
        return url.to_owned();
    }
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(auth_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}{host}{path}")
}

/// Replaces every occurrence of `url` (and of its userinfo) in `text` by the credential-free form.
pub fn scrub_url_secrets(text: &str, url: &str) -> String {
    let safe = strip_credentials(url);
    let mut out = text.replace(url, &safe);
    if let Some(rest) = url.split_once("://").map(|(_, r)| r)
        && let Some((userinfo, _)) = rest
            .split('/')
            .next()
            .and_then(|auth| auth.rsplit_once('@'))
        && !userinfo.is_empty()
    {
        out = out.replace(userinfo, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn urls_lose_their_credentials() {
        let url = "https://user:pw@host:8443/mcp?token=t#f";
        assert_eq!(strip_credentials(url), "https://host:8443/mcp");
        assert_eq!(strip_credentials("stdio:a@b /c"), "stdio:a@b /c");
        let text = format!("cannot reach {url}; user:pw refused");
        assert_eq!(
            scrub_url_secrets(&text, url),
            "cannot reach https://host:8443/mcp; *** refused"
        );
    }
}
