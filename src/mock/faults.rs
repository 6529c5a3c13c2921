//! Fault decisions: which faults apply to a request now. Lock-free: a seeded counter-based RNG
//! (splitmix64 over an atomic counter) gives reproducible draws for a given seed and request order
//! without a mutex on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::config::{ErrorRatios, FaultConfig, Latency};

/// A seeded, lock-free source of uniform numbers in `[0, 1)`.
#[derive(Debug)]
pub(crate) struct SeededRng {
    seed: u64,
    counter: AtomicU64,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        SeededRng {
            seed: splitmix64(seed),
            counter: AtomicU64::new(0),
        }
    }
    /// The next 64 random bits.
    pub(crate) fn next_u64(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        splitmix64(self.seed ^ n.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }
    /// A uniform draw in `[0, 1)`.
    pub(crate) fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What an in-scope tool call gets, given a uniform draw `u` for the error roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorPick {
    None,
    Http500,
    Http429,
    ToolError,
    RpcError,
}

/// Maps one draw onto the error kinds: `[0, 500) [500, 429) [429, tool) [tool, rpc)`, rest none.
pub(crate) fn pick_error(r: &ErrorRatios, u: f64) -> ErrorPick {
    let mut edge = r.http_500;
    if u < edge {
        return ErrorPick::Http500;
    }
    edge += r.http_429;
    if u < edge {
        return ErrorPick::Http429;
    }
    edge += r.tool_error;
    if u < edge {
        return ErrorPick::ToolError;
    }
    edge += r.rpc_error;
    if u < edge {
        return ErrorPick::RpcError;
    }
    ErrorPick::None
}

/// Draws a latency from `l` using `rng`.
pub(crate) fn sample_latency(l: &Latency, rng: &SeededRng) -> Duration {
    match *l {
        Latency::Fixed { delay } => delay,
        Latency::Uniform { base, jitter } => base + jitter.mul_f64(rng.next_f64()),
        Latency::Lognormal { p50, p95 } => {
            // ln X ~ N(mu, sigma): median = e^mu, p95 = e^(mu + 1.6449 sigma).
            let mu = p50.as_secs_f64().ln();
            let sigma = ((p95.as_secs_f64().ln() - mu) / 1.644_853_626_951_472_2).max(0.0);
            // Box-Muller; 1 - u keeps the log argument in (0, 1].
            let u1 = 1.0 - rng.next_f64();
            let u2 = rng.next_f64();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let secs = (mu + sigma * z).exp();
            // Cap at 1 hour so a far tail never parks a task for days.
            Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
        }
    }
}

/// The fault plan of a running server: config plus the start instant its schedule counts from.
#[derive(Debug)]
pub(crate) struct Faults {
    pub(crate) cfg: FaultConfig,
    pub(crate) start: Instant,
    pub(crate) rng: SeededRng,
}

/// The faults in force at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Phase {
    pub(crate) errors: ErrorRatios,
    pub(crate) extra_latency: Option<Latency>,
    pub(crate) stall_until: Option<Instant>,
}

impl Faults {
    pub(crate) fn new(cfg: FaultConfig, seed: u64) -> Self {
        Faults {
            cfg,
            start: Instant::now(),
            rng: SeededRng::new(seed),
        }
    }

    /// Whether `tool` is within the fault scope (`None` = not a tool call: out of scope).
    pub(crate) fn in_scope(&self, tool: &str) -> bool {
        self.cfg.tool.as_deref().is_none_or(|t| t == tool)
    }

    /// Whether any HTTP-level fault can ever fire (so the middleware must look at bodies).
    pub(crate) fn http_possible(&self) -> bool {
        self.cfg.errors.http_total() > 0.0
            || self
                .cfg
                .degradation
                .is_some_and(|d| d.errors.http_total() > 0.0)
    }

    /// The faults in force at `now`.
    pub(crate) fn phase(&self, now: Instant) -> Phase {
        let elapsed = now.saturating_duration_since(self.start);
        let mut errors = self.cfg.errors;
        let mut extra_latency = None;
        if let Some(d) = &self.cfg.degradation
            && elapsed >= d.after
            && d.duration.is_none_or(|len| elapsed < d.after + len)
        {
            errors = errors.plus(&d.errors);
            extra_latency = d.latency;
        }
        let stall_until = self.cfg.stall.and_then(|s| {
            (elapsed >= s.at && elapsed < s.at + s.duration).then(|| self.start + s.at + s.duration)
        });
        Phase {
            errors,
            extra_latency,
            stall_until,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::config::Degradation;

    #[test]
    fn pick_error_respects_ratios() {
        let r = ErrorRatios {
            http_500: 0.1,
            http_429: 0.1,
            tool_error: 0.2,
            rpc_error: 0.1,
        };
        assert_eq!(pick_error(&r, 0.05), ErrorPick::Http500);
        assert_eq!(pick_error(&r, 0.15), ErrorPick::Http429);
        assert_eq!(pick_error(&r, 0.35), ErrorPick::ToolError);
        assert_eq!(pick_error(&r, 0.45), ErrorPick::RpcError);
        assert_eq!(pick_error(&r, 0.55), ErrorPick::None);
        assert_eq!(pick_error(&ErrorRatios::default(), 0.0), ErrorPick::None);
    }

    #[test]
    fn rng_is_reproducible_and_uniform_enough() {
        let a = SeededRng::new(7);
        let b = SeededRng::new(7);
        let xs: Vec<f64> = (0..1000).map(|_| a.next_f64()).collect();
        let ys: Vec<f64> = (0..1000).map(|_| b.next_f64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn lognormal_matches_its_percentiles() {
        let rng = SeededRng::new(1);
        let l = Latency::Lognormal {
            p50: Duration::from_millis(20),
            p95: Duration::from_millis(80),
        };
        let mut v: Vec<f64> = (0..20_000)
            .map(|_| sample_latency(&l, &rng).as_secs_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        let p50 = v[v.len() / 2];
        let p95 = v[v.len() * 95 / 100];
        assert!((p50 - 0.020).abs() < 0.002, "p50 {p50}");
        assert!((p95 - 0.080).abs() < 0.010, "p95 {p95}");
    }

    #[test]
    fn degradation_and_stall_windows() {
        let cfg = FaultConfig {
            degradation: Some(Degradation {
                after: Duration::from_secs(10),
                duration: Some(Duration::from_secs(5)),
                latency: None,
                errors: ErrorRatios {
                    tool_error: 0.5,
                    ..Default::default()
                },
            }),
            stall: Some(crate::mock::config::Stall {
                at: Duration::from_secs(2),
                duration: Duration::from_secs(2),
            }),
            ..Default::default()
        };
        let f = Faults::new(cfg, 1);
        let s = f.start;
        assert_eq!(f.phase(s + Duration::from_secs(9)).errors.tool_error, 0.0);
        assert_eq!(f.phase(s + Duration::from_secs(11)).errors.tool_error, 0.5);
        assert_eq!(f.phase(s + Duration::from_secs(16)).errors.tool_error, 0.0);
        assert_eq!(f.phase(s + Duration::from_secs(1)).stall_until, None);
        assert_eq!(
            f.phase(s + Duration::from_secs(3)).stall_until,
            Some(s + Duration::from_secs(4))
        );
        assert_eq!(f.phase(s + Duration::from_secs(4)).stall_until, None);
    }
}
