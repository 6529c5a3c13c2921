//! Lowering `target.metrics_url`, `target.metrics_series`, `target.metrics_interval` and `target.pid`
//! into the plan's [`Resources`]: where the server's own memory, fds and CPU are sampled from.

use std::time::Duration;

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::{ResourceSource, Resources};

impl Loader<'_> {
    pub(super) fn lower_resources(&self, c: &FileConfig) -> Result<Resources, ConfigError> {
        let t = &c.target;
        let source = match (&t.metrics_url, t.pid) {
            (Some(_), Some(_)) => {
                return Err(self.err(
                    "target.pid",
                    "set target.metrics_url or target.pid, not both",
                ));
            }
            (Some(url), None) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(self.err(
                        "target.metrics_url",
                        format!("expected an http:// or https:// URL, got {url:?}"),
                    ));
                }
                Some(ResourceSource::Metrics(url.clone()))
            }
            (None, Some(pid)) => match u32::try_from(pid) {
                Ok(p) if p > 0 => Some(ResourceSource::Pid(p)),
                _ => {
                    return Err(self.err(
                        "target.pid",
                        format!("expected a process id above 0, got {pid}"),
                    ));
                }
            },
            (None, None) => None,
        };
        if !t.metrics_series.is_empty() && !matches!(source, Some(ResourceSource::Metrics(_))) {
            return Err(self.err(
                "target.metrics_series",
                "series are scraped from target.metrics_url; set it too",
            ));
        }
        if let Some(bad) = t.metrics_series.iter().find(|s| {
            s.is_empty()
                || s.starts_with(|c: char| c.is_ascii_digit())
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }) {
            return Err(self.err(
                "target.metrics_series",
                format!("expected Prometheus metric names, got {bad:?}"),
            ));
        }
        let interval = self
            .duration("target.metrics_interval", &t.metrics_interval)?
            .unwrap_or(Duration::from_secs(5));
        if interval < Duration::from_millis(100) {
            return Err(self.err(
                "target.metrics_interval",
                format!("expected at least 100ms, got {interval:?}"),
            ));
        }
        Ok(Resources {
            source,
            series: t.metrics_series.clone(),
            interval,
        })
    }
}
