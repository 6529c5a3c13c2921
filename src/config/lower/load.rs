//! Lowering the `load` section into the open or closed load model and the run's limits.

use std::time::Duration;

use crate::config::file::{FileConfig, StagesCfg};
use crate::config::{ConfigError, Loader, parse_duration, presets};
use crate::plan::stage::check_stages;
use crate::plan::{Limits, Load, Stage};

impl Loader<'_> {
    fn count(&self, key: &str, v: Option<i64>, min: i64) -> Result<Option<u64>, ConfigError> {
        match v {
            Some(n) if n < min => {
                Err(self.err(key, format!("expected an integer >= {min}, got {n}")))
            }
            Some(n) => Ok(Some(n as u64)),
            None => Ok(None),
        }
    }

    pub(super) fn lower_load(&self, c: &FileConfig) -> Result<Load, ConfigError> {
        let l = &c.load;
        let closed_key = [
            ("load.users", l.users.is_some()),
            ("load.requests", l.requests.is_some()),
            ("load.scenario", l.scenario.is_some()),
            ("load.total", l.total.is_some()),
            ("load.concurrent", l.concurrent.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k);
        let open_key = [
            ("load.rate", l.rate.is_some()),
            ("load.duration", l.duration.is_some()),
            ("load.stages", l.stages.is_some()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k);
        if let (Some(ck), Some(ok)) = (closed_key, open_key) {
            return Err(self.err(
                ck,
                format!("closed-model key conflicts with open-model key `{ok}` ({}): use one load model", self.origin(ok)),
            ));
        }
        if closed_key.is_some() {
            return self.lower_closed(c);
        }
        let max_calls = self.count("load.max_calls", l.max_calls, 1)?;
        let stages = match &l.stages {
            Some(_) if l.rate.is_some() || l.duration.is_some() => {
                return Err(self.err(
                    "load.stages",
                    "set either stages or rate/duration, not both",
                ));
            }
            Some(StagesCfg::Text(t)) => {
                Stage::parse_list(t).map_err(|e| self.err("load.stages", e.to_string()))?
            }
            Some(StagesCfg::List(list)) => {
                let mut out = Vec::new();
                for (i, s) in list.iter().enumerate() {
                    let key = format!("load.stages[{i}]");
                    let duration = match s.duration.as_str() {
                        "forever" | "inf" => None,
                        d => Some(
                            parse_duration(d)
                                .map_err(|m| self.err(&format!("{key}.duration"), m))?,
                        ),
                    };
                    let ramp = match &s.ramp {
                        Some(r) => {
                            parse_duration(r).map_err(|m| self.err(&format!("{key}.ramp"), m))?
                        }
                        None => Duration::ZERO,
                    };
                    out.push(Stage {
                        rate: s.rate,
                        duration,
                        ramp,
                    });
                }
                check_stages(&out).map_err(|(i, m)| self.err(&format!("load.stages[{i}]"), m))?;
                out
            }
            None => {
                let rate = l.rate.unwrap_or(10.0);
                if !rate.is_finite() || rate <= 0.0 {
                    return Err(self.err("load.rate", format!("expected calls/s > 0, got {rate}")));
                }
                let duration = match l.duration.as_deref() {
                    Some("forever" | "inf") => None,
                    None => Some(Duration::from_secs(60)),
                    Some(_) => {
                        let d = self.duration("load.duration", &l.duration)?;
                        if d.is_some_and(|d| d.is_zero()) {
                            return Err(self.err("load.duration", "expected a duration > 0"));
                        }
                        d
                    }
                };
                vec![Stage::steady(rate, duration)]
            }
        };
        Ok(Load::Open { stages, max_calls })
    }

    fn lower_closed(&self, c: &FileConfig) -> Result<Load, ConfigError> {
        let l = &c.load;
        let (mut users, mut requests, mut preset_delay) = (None, None, Duration::ZERO);
        if let Some(name) = &l.scenario {
            let s = presets::scenario(name).ok_or_else(|| {
                self.err(
                    "load.scenario",
                    format!("expected light, moderate, heavy or stress, got {name:?}"),
                )
            })?;
            (users, requests) = (Some(u64::from(s.users)), Some(s.requests_per_user));
            preset_delay = s.delay;
        }
        if let Some(conc) = self.count("load.concurrent", l.concurrent, 1)? {
            users = Some(conc);
        }
        if let Some(total) = self.count("load.total", l.total, 1)? {
            let u = users.unwrap_or(10).max(1);
            users = Some(u.min(total));
            requests = Some(total.div_ceil(u.min(total)));
        }
        if let Some(u) = self.count("load.users", l.users, 1)? {
            users = Some(u);
        }
        if let Some(r) = self.count("load.requests", l.requests, 1)? {
            requests = Some(r);
        }
        let users = users.unwrap_or(10);
        if users > 100_000 {
            return Err(self.err(
                "load.users",
                format!("expected at most 100000 users, got {users}"),
            ));
        }
        let delay = match &l.delay {
            Some(s) if s.parse::<f64>().is_ok_and(|x| x >= 0.0 && x.is_finite()) => {
                Duration::from_secs_f64(s.parse::<f64>().unwrap_or(0.0))
            }
            other => self.duration("load.delay", other)?.unwrap_or(preset_delay),
        };
        Ok(Load::Closed {
            users: users as u32,
            requests_per_user: requests.unwrap_or(10),
            delay,
        })
    }

    pub(super) fn lower_limits(&self, c: &FileConfig) -> Result<Limits, ConfigError> {
        let l = &c.load;
        let mut lim = Limits::default();
        if let Some(n) = self.count("load.max_in_flight", l.max_in_flight, 1)? {
            lim.max_in_flight = n as usize;
        }
        if let Some(r) = l.max_rate {
            if !r.is_finite() || r <= 0.0 {
                return Err(self.err("load.max_rate", format!("expected calls/s > 0, got {r}")));
            }
            lim.max_rate = Some(r);
        }
        if let Some(g) = self.duration("load.grace", &l.grace)? {
            lim.grace = g;
        }
        lim.honor_retry_after = l.honor_retry_after.unwrap_or(false);
        lim.require_target = l.require_target.unwrap_or(false);
        lim.abort_on_breach = self.duration("load.abort_on_breach", &l.abort_on_breach)?;
        if let Some(w) = self.duration("load.slo_window", &l.slo_window)? {
            if w.is_zero() {
                return Err(self.err("load.slo_window", "expected a duration > 0"));
            }
            lim.slo_window = w;
        }
        if let Some(s) = &l.instance_share {
            let parsed = s.split_once('/').and_then(|(i, n)| {
                Some((i.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?))
            });
            match parsed {
                Some((i, n)) if n > 0 && i < n => lim.instance_share = Some((i, n)),
                _ => {
                    return Err(self.err(
                        "load.instance_share",
                        format!("expected i/n with 0 <= i < n, got {s:?}"),
                    ));
                }
            }
        }
        Ok(lim)
    }
}

/// This instance's part of a load split `n` ways (`--instance-share i/n`): every rate and the call
/// count divided by `n`; the instances' sums are the configured load.
pub(super) fn share(load: Load, share: Option<(u32, u32)>) -> Load {
    let Some((i, n)) = share else { return load };
    match load {
        Load::Open { stages, max_calls } => Load::Open {
            stages: stages
                .into_iter()
                .map(|s| Stage {
                    rate: s.rate / f64::from(n),
                    ..s
                })
                .collect(),
            // Spread the remainder over the first instances so the total stays exact.
            max_calls: max_calls
                .map(|m| m / u64::from(n) + u64::from(u64::from(i) < m % u64::from(n))),
        },
        closed => closed,
    }
}
