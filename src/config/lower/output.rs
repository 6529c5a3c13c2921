//! Lowering the `output` section (summary and raw files, metrics endpoint, progress) into `Output`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::Output;

/// How long `/metrics` stays up after a run when nobody said: 15 s for a final scrape by a
/// Prometheus that knows the address, none when nothing could scrape it (an ephemeral port) or a
/// person is waiting at a terminal.
pub(crate) fn default_linger(metrics_listen: Option<SocketAddr>, interactive: bool) -> Duration {
    match metrics_listen {
        Some(a) if a.port() != 0 && !interactive => Duration::from_secs(15),
        _ => Duration::ZERO,
    }
}

impl Loader<'_> {
    pub(super) fn lower_output(&self, c: &FileConfig) -> Result<Output, ConfigError> {
        let o = &c.output;
        let mut out = Output {
            summary: o.summary.as_ref().map(PathBuf::from),
            html: o.html.as_ref().map(PathBuf::from),
            junit: o.junit.as_ref().map(PathBuf::from),
            markdown: o.markdown.as_ref().map(PathBuf::from),
            raw: o.raw.as_ref().map(PathBuf::from),
            ..Output::default()
        };
        if let Some(addr) = &o.metrics_listen {
            out.metrics_listen = if addr == "none" {
                None
            } else {
                Some(addr.parse::<SocketAddr>().map_err(|_| {
                    self.err(
                        "output.metrics_listen",
                        format!("expected IP:PORT (e.g. 0.0.0.0:9464) or none, got {addr:?}"),
                    )
                })?)
            };
        }
        out.linger = match self.duration("output.linger", &o.linger)? {
            Some(d) => d,
            None => {
                use std::io::IsTerminal;
                let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
                default_linger(out.metrics_listen, interactive)
            }
        };
        if let Some(d) = self.duration("output.progress_interval", &o.progress_interval)? {
            if d.is_zero() {
                return Err(self.err("output.progress_interval", "expected a duration > 0"));
            }
            out.progress_interval = d;
        }
        out.quiet = o.quiet.unwrap_or(false);
        out.no_fail_on_slo = o.no_fail_on_slo.unwrap_or(false);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linger_only_for_a_daemon_on_a_known_port() {
        let fixed = Some(SocketAddr::from(([127, 0, 0, 1], 9464)));
        let ephemeral = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(default_linger(fixed, false), Duration::from_secs(15));
        assert_eq!(default_linger(fixed, true), Duration::ZERO);
        assert_eq!(default_linger(ephemeral, false), Duration::ZERO);
        assert_eq!(default_linger(None, false), Duration::ZERO);
    }
}
