//! Value sources for argument templates: random values drawn from the run's seeded RNG, a
//! shared sequence, the wall clock. Parsed from `{ gen = "..." , ... }` objects, each key checked.
//!
//! Every generator is bounded where it is built: numbers within ±[`MAX_DECIMAL`], strings and
//! prefixes at most [`MAX_STRING`] characters, so no config or schema can make `generate` panic or
//! grow a value without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rand::{Rng, RngExt};
use serde_json::{Map, Number, Value};

use super::pattern::Pattern;
use super::{ArgError, err, join};

/// Largest magnitude of a `decimal` bound (beyond it f64 has no cents left to round to).
pub const MAX_DECIMAL: f64 = 1e15;
/// Longest generated string (and prefix), in characters.
pub const MAX_STRING: usize = 4096;

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
    Int {
        /// Smallest value drawn (inclusive).
        min: i64,
        /// Largest value drawn (inclusive).
        max: i64,
    },
    /// A uniform number in `min..=max` rounded to `precision` decimals.
    Decimal {
        /// Smallest value drawn (inclusive).
        min: f64,
        /// Largest value drawn (inclusive).
        max: f64,
        /// Decimal places kept.
        precision: u32,
    },
    /// One of the values, uniformly.
    Choice(Vec<Value>),
    /// `start`, `start + step`, ... shared by every call of the run; a string when `prefix` is set.
    Seq {
        /// The value the next call gets, shared by every clone of the generator.
        next: Arc<AtomicI64>,
        /// Added after each call (may be negative).
        step: i64,
        /// Text put before the number; the value is then a string.
        prefix: Option<String>,
    },
    /// The wall-clock time of the call (not reproducible by seed).
    Timestamp(TimeFormat),
    /// Random alphanumeric characters, after `prefix`.
    Str {
        /// Characters drawn after the prefix.
        len: usize,
        /// Fixed text at the start.
        prefix: String,
    },
    /// Random lowercase hex digits, after `prefix`.
    Hex {
        /// Hex digits drawn after the prefix.
        len: usize,
        /// Fixed text at the start.
        prefix: String,
    },
    /// A random boolean.
    Bool,
    /// A string matching a regular expression, `min_len..=max_len` characters when it can.
    Pattern {
        /// The compiled regular expression.
        pattern: Pattern,
        /// Shortest string wanted, in characters.
        min_len: usize,
        /// Longest string wanted, in characters.
        max_len: usize,
    },
    /// A string in a JSON Schema `format`.
    Format(StringFormat),
    /// `k * of` for a uniform integer `k` in `min..=max` (a schema's `multipleOf`); an integer
    /// when `of` is one.
    Multiple {
        /// Smallest multiplier `k` (inclusive).
        min: i64,
        /// Largest multiplier `k` (inclusive).
        max: i64,
        /// The step (`multipleOf`).
        of: f64,
    },
}

/// JSON Schema string formats with a generator of their own (`date-time` and `uuid` use
/// [`Generator::Timestamp`] and [`Generator::Uuid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    /// `2026-03-14`
    Date,
    /// `13:37:05Z`
    Time,
    /// `P1DT2H` (ISO 8601 duration)
    Duration,
    /// `soak-x1y2@example.com`
    Email,
    /// `soak-x1y2.example.com`
    Hostname,
    /// `10.1.2.3`
    Ipv4,
    /// `fd00::1:2`
    Ipv6,
    /// `https://example.com/soak/x1y2`
    Uri,
}

impl StringFormat {
    /// The generator for a schema's `format`, if it has one.
    pub fn from_name(name: &str) -> Option<StringFormat> {
        Some(match name {
            "date" => StringFormat::Date,
            "time" => StringFormat::Time,
            "duration" => StringFormat::Duration,
            "email" | "idn-email" => StringFormat::Email,
            "hostname" | "idn-hostname" => StringFormat::Hostname,
            "ipv4" => StringFormat::Ipv4,
            "ipv6" => StringFormat::Ipv6,
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" | "uri-template" => {
                StringFormat::Uri
            }
            _ => return None,
        })
    }

    fn generate<R: Rng + ?Sized>(self, rng: &mut R) -> String {
        // A random instant in 2020..2030, for dates and times.
        let mut instant = || {
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(1_577_836_800 + rng.random_range(0..315_360_000))
        };
        match self {
            StringFormat::Date => {
                humantime::format_rfc3339(instant()).to_string()[..10].to_string()
            }
            StringFormat::Time => {
                format!(
                    "{}Z",
                    &humantime::format_rfc3339(instant()).to_string()[11..19]
                )
            }
            StringFormat::Duration => format!(
                "P{}DT{}H{}M",
                rng.random_range(0..30),
                rng.random_range(0..24),
                rng.random_range(0..60)
            ),
            StringFormat::Email => format!("soak-{}@example.com", random_chars(rng, "", 6, HEX)),
            StringFormat::Hostname => format!("soak-{}.example.com", random_chars(rng, "", 6, HEX)),
            StringFormat::Ipv4 => format!(
                "10.{}.{}.{}",
                rng.random_range(0..=255u8),
                rng.random_range(0..=255u8),
                rng.random_range(1..=254u8)
            ),
            StringFormat::Ipv6 => format!(
                "fd00::{:x}:{:x}",
                rng.random_range(0..=0xffffu32),
                rng.random_range(1..=0xffffu32)
            ),
            StringFormat::Uri => {
                format!("https://example.com/soak/{}", random_chars(rng, "", 8, HEX))
            }
        }
    }
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

/// `k * of` as JSON: an integer when both are, else rounded to the decimals `of` is written with
/// (`0.07`, not `0.07000000000000001`).
fn multiple(k: i64, of: f64) -> Value {
    let x = k as f64 * of;
    if of.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return Value::from(x as i64);
    }
    let decimals = format!("{of}").split_once('.').map_or(0, |(_, d)| d.len()) as u32;
    let x = if decimals <= 15 {
        round_to(x, decimals)
    } else {
        x
    };
    Number::from_f64(x).map_or(Value::Null, Value::Number)
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
                // A blend rather than `random_range`: finite for any finite bounds, where
                // `max - min` may overflow.
                let t: f64 = rng.random();
                let x = if max > min {
                    min * (1.0 - t) + max * t
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
            Generator::Pattern {
                pattern,
                min_len,
                max_len,
            } => Value::String(pattern.generate_len(rng, *min_len, *max_len)),
            Generator::Format(f) => Value::String(f.generate(rng)),
            Generator::Multiple { min, max, of } => {
                let k = if max > min {
                    rng.random_range(*min..=*max)
                } else {
                    *min
                };
                multiple(k, *of)
            }
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

fn get_prefix(obj: &Map<String, Value>, path: &str) -> Result<Option<String>, ArgError> {
    let prefix = get_str(obj, "prefix", path)?;
    if prefix
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_STRING)
    {
        return Err(err(
            &join(path, "prefix"),
            format!("expected at most {MAX_STRING} characters"),
        ));
    }
    Ok(prefix)
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
            for (key, v) in [("min", min), ("max", max)] {
                if !(v.is_finite() && v.abs() <= MAX_DECIMAL) {
                    return Err(err(
                        &join(path, key),
                        format!("expected a number within ±{MAX_DECIMAL:e}, got {v}"),
                    ));
                }
            }
            if min > max {
                return Err(err(path, format!("min {min} is greater than max {max}")));
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
                prefix: get_prefix(obj, path)?,
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
            if !(0..=MAX_STRING as i64).contains(&len) {
                return Err(err(
                    &join(path, "len"),
                    format!("expected a length from 0 to {MAX_STRING}"),
                ));
            }
            let prefix = get_prefix(obj, path)?.unwrap_or_default();
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
        "pattern" => {
            check_keys(obj, &["gen", "pattern"], path, &what)?;
            let src = get_str(obj, "pattern", path)?
                .ok_or_else(|| err(&join(path, "pattern"), "expected a regular expression"))?;
            let pattern = Pattern::parse(&src).map_err(|e| err(&join(path, "pattern"), e))?;
            Generator::Pattern {
                pattern,
                min_len: 0,
                max_len: MAX_STRING,
            }
        }
        other => {
            return Err(err(
                &join(path, "gen"),
                format!(
                    "unknown generator {other:?}; expected uuid, int, decimal, choice, seq, timestamp, string, hex, bool or pattern"
                ),
            ));
        }
    };
    Ok(g)
}
