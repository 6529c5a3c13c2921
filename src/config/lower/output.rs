//! Lowering the `output` section (summary and raw files, metrics endpoint, progress) into `Output`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::Output;

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
        if let Some(d) = self.duration("output.linger", &o.linger)? {
            out.linger = d;
        }
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
