//! Value sources for argument templates: random values drawn from the run's seeded RNG, a
//! shared sequence, the wall clock. Parsed from `{ gen = "..." , ... }` objects, each key checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rand::{Rng, RngExt};
use serde_json::{Map, Number, Value};

use super::{ArgError, err, join};

/// Format of a generated timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 with milliseconds, UTC (`2026-01-02T03:04:05.678Z`).
    Rfc3339,
    /// Seconds since the epoch (integer).
    Unix,
    /// Milliseconds since the epoch (integer).
    UnixMs,
}

/// One random or stateful value source.
#[derive(Debug, Clone)]
pub enum Generator {
    /// A random UUID v4 string (drawn from the run's RNG, so seeded runs repeat it).
    Uuid,
    /// A uniform integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A uniform number in `min..=max` rounded to `precision` decimals.
    Decimal { min: f64, max: f64, precision: u32 },
    /// One of the values, uniformly.
    Choice(Vec<Value>),
    /// `start`, `start + step`, ... shared by every call of the run; a string when `prefix` is set.
    Seq {
        next: Arc<AtomicI64>,
        step: i64,
        prefix: Option<String>,
    },
    /// The wall-clock time of the call (not reproducible by seed).
    Timestamp(TimeFormat),
    /// Random alphanumeric characters, after `prefix`.
    Str { len: usize, prefix: String },
    /// Random lowercase hex digits, after `prefix`.
    Hex { len: usize, prefix: String },
    /// A random boolean.
    Bool,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

fn random_chars<R: Rng + ?Sized>(rng: &mut R, prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    for _ in 0..len {
        s.push(alphabet[rng.random_range(0..alphabet.len())] as char);
    }
    s
}

fn round_to(x: f64, precision: u32) -> f64 {
    let f = 10f64.powi(precision.min(15) as i32);
    (x * f).round() / f
}

impl Generator {
    /// Draws the next value.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            Generator::Uuid => {
                let bytes: [u8; 16] = rng.random();
                Value::String(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string(),
                )
            }
            Generator::Int { min, max } => Value::from(rng.random_range(*min..=*max)),
            Generator::Decimal {
                min,
                max,
                precision,
            } => {
                let x = if max > min {
                    rng.random_range(*min..=*max)
                } else {
                    *min
                };
                let x = round_to(x, *precision).clamp(*min, *max);
                Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
            Generator::Choice(values) => {
                if values.is_empty() {
                    Value::Null
                } else {
                    values[rng.random_range(0..values.len())].clone()
                }
            }
            Generator::Seq { next, step, prefix } => {
                let n = next.fetch_add(*step, Ordering::Relaxed);
                match prefix {
                    Some(p) => Value::String(format!("{p}{n}")),
                    None => Value::from(n),
                }
            }
            Generator::Timestamp(fmt) => {
                let now = std::time::SystemTime::now();
                let since = now
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                match fmt {
                    TimeFormat::Rfc3339 => {
                        Value::String(humantime::format_rfc3339_millis(now).to_string())
                    }
                    TimeFormat::Unix => Value::from(since.as_secs()),
                    TimeFormat::UnixMs => Value::from(since.as_millis() as u64),
                }
            }
            Generator::Str { len, prefix } => Value::String(random_chars(rng, prefix, *len, ALNUM)),
            Generator::Hex { len, prefix } => Value::String(random_chars(rng, prefix, *len, HEX)),
            Generator::Bool => Value::Bool(rng.random()),
        }
    }
}

pub(crate) fn get_f64(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<f64>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| err(&join(path, key), format!("expected a number, got {v}"))),
    }
}

pub(crate) fn get_i64(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<i64>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| err(&join(path, key), format!("expected an integer, got {v}"))),
    }
}

pub(crate) fn get_str(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, ArgError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(err(&join(path, key), format!("expected a string, got {v}"))),
    }
}

pub(crate) fn check_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    path: &str,
    what: &str,
) -> Result<(), ArgError> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(err(
                &join(path, k),
                format!(
                    "unknown key for {what}; expected one of: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn parse_generator(obj: &Map<String, Value>, path: &str) -> Result<Generator, ArgError> {
    let kind = get_str(obj, "gen", path)?.unwrap_or_default();
    let what = format!("gen = \"{kind}\"");
    let g = match kind.as_str() {
        "uuid" => {
            check_keys(obj, &["gen"], path, &what)?;
            Generator::Uuid
        }
        "bool" => {
            check_keys(obj, &["gen"], path, &what)?;
            Generator::Bool
        }
        "int" => {
            check_keys(obj, &["gen", "min", "max"], path, &what)?;
            let min = get_i64(obj, "min", path)?.unwrap_or(0);
            let max = get_i64(obj, "max", path)?.unwrap_or(1_000_000);
            if min > max {
                return Err(err(path, format!("min {min} is greater than max {max}")));
            }
            Generator::Int { min, max }
        }
        "decimal" => {
            check_keys(obj, &["gen", "min", "max", "precision"], path, &what)?;
            let min = get_f64(obj, "min", path)?.unwrap_or(0.0);
            let max = get_f64(obj, "max", path)?.unwrap_or(1.0);
            if !(min.is_finite() && max.is_finite()) || min > max {
                return Err(err(
                    path,
                    format!("expected finite min <= max, got min {min} max {max}"),
                ));
            }
            let precision = get_i64(obj, "precision", path)?.unwrap_or(2);
            if !(0..=15).contains(&precision) {
                return Err(err(&join(path, "precision"), "expected 0 to 15 decimals"));
            }
            Generator::Decimal {
                min,
                max,
                precision: precision as u32,
            }
        }
        "choice" => {
            check_keys(obj, &["gen", "values"], path, &what)?;
            match obj.get("values") {
                Some(Value::Array(v)) if !v.is_empty() => Generator::Choice(v.clone()),
                _ => return Err(err(&join(path, "values"), "expected a non-empty array")),
            }
        }
        "seq" => {
            check_keys(obj, &["gen", "start", "step", "prefix"], path, &what)?;
            let start = get_i64(obj, "start", path)?.unwrap_or(1);
            let step = get_i64(obj, "step", path)?.unwrap_or(1);
            Generator::Seq {
                next: Arc::new(AtomicI64::new(start)),
                step,
                prefix: get_str(obj, "prefix", path)?,
            }
        }
        "timestamp" => {
            check_keys(obj, &["gen", "format"], path, &what)?;
            let f = match get_str(obj, "format", path)?.as_deref() {
                None | Some("rfc3339") => TimeFormat::Rfc3339,
                Some("unix") => TimeFormat::Unix,
                Some("unix_ms") => TimeFormat::UnixMs,
                Some(o) => {
                    return Err(err(
                        &join(path, "format"),
                        format!("expected rfc3339, unix or unix_ms, got {o:?}"),
                    ));
                }
            };
            Generator::Timestamp(f)
        }
        "string" | "hex" => {
            check_keys(obj, &["gen", "len", "prefix"], path, &what)?;
            let len = get_i64(obj, "len", path)?.unwrap_or(12);
            if !(0..=4096).contains(&len) {
                return Err(err(&join(path, "len"), "expected a length from 0 to 4096"));
            }
            let prefix = get_str(obj, "prefix", path)?.unwrap_or_default();
            if kind == "hex" {
                Generator::Hex {
                    len: len as usize,
                    prefix,
                }
            } else {
                Generator::Str {
                    len: len as usize,
                    prefix,
                }
            }
        }
        other => {
            return Err(err(
                &join(path, "gen"),
                format!(
                    "unknown generator {other:?}; expected uuid, int, decimal, choice, seq, timestamp, string, hex or bool"
                ),
            ));
        }
    };
    Ok(g)
}
