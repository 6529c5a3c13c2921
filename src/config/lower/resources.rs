//! Lowering `target.metrics_url`, `target.metrics_series`, `target.metrics_interval` and `target.pid`
//! into the plan's [`Resources`] (where the server's own memory, fds and CPU are sampled from), and
//! `[soak]` into [`SoakLimits`] (the leak and drift verdicts' limits).

use std::time::Duration;

use crate::config::file::FileConfig;
use crate::config::{ConfigError, Loader};
use crate::plan::{ResourceSource, Resources, SoakLimits};

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
            // A stdio target: the processes mcp-soak itself started, unless told otherwise.
            (None, None) if t.command.is_some() => Some(ResourceSource::StdioPool),
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

impl Loader<'_> {
    pub(super) fn lower_soak(&self, c: &FileConfig) -> Result<SoakLimits, ConfigError> {
        let s = &c.soak;
        let max_memory_growth = match &s.max_memory_growth {
            None => None,
            Some(v) => Some(
                parse_rate_per_hour(v)
                    .map_err(|m| self.err("soak.max_memory_growth", format!("{m} (got {v:?})")))?,
            ),
        };
        let max_p95_drift = match &s.max_p95_drift {
            None => None,
            Some(v) => Some(
                parse_ratio(v)
                    .map_err(|m| self.err("soak.max_p95_drift", format!("{m} (got {v:?})")))?,
            ),
        };
        Ok(SoakLimits {
            max_memory_growth,
            max_p95_drift,
            warmup: self.duration("soak.warmup", &s.warmup)?,
            window: self.duration("soak.window", &s.window)?,
        })
    }
}

/// `"50MB/h"`, `"1.5 GiB/h"`, `"200kB/h"` → bytes per hour (decimal kB/MB/GB, binary KiB/MiB/GiB).
pub(crate) fn parse_rate_per_hour(v: &str) -> Result<f64, String> {
    let expected = "expected a growth per hour like 50MB/h, 200KiB/h or 1GB/h";
    let size = v.trim().strip_suffix("/h").ok_or(expected)?.trim();
    let split = size
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(size.len());
    let (num, unit) = size.split_at(split);
    let n: f64 = num.parse().map_err(|_| expected)?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "b" | "" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(expected.to_owned()),
    };
    Ok(n * mult)
}

/// `"20%"` → 0.2; `"0.2"` → 0.2. Must be above 0.
pub(crate) fn parse_ratio(v: &str) -> Result<f64, String> {
    let expected = "expected a share above 0 like 20% or 0.2";
    let t = v.trim();
    let r = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| expected)? / 100.0,
        None => t.parse::<f64>().map_err(|_| expected)?,
    };
    if r.is_finite() && r > 0.0 {
        Ok(r)
    } else {
        Err(expected.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_and_ratio_table() {
        for (v, want) in [
            ("50MB/h", Some(50e6)),
            ("1.5 GB/h", Some(1.5e9)),
            ("2MiB/h", Some(2.0 * 1024.0 * 1024.0)),
            ("10/h", Some(10.0)),
            ("50MB", None),
            ("MB/h", None),
            ("5 parsecs/h", None),
        ] {
            assert_eq!(parse_rate_per_hour(v).ok(), want, "{v}");
        }
        for (v, want) in [
            ("20%", Some(0.2)),
            ("0.35", Some(0.35)),
            ("0%", None),
            ("-5%", None),
            ("lots", None),
        ] {
            assert_eq!(parse_ratio(v).ok(), want, "{v}");
        }
    }
}
