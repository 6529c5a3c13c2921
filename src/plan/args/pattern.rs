//! Strings that match a regular expression: a JSON Schema `pattern` (or `gen = "pattern"` in a
//! config) parsed with `regex-syntax` and walked with the run's RNG.
//!
//! Choices favour what servers accept: printable ASCII inside every class that has some (`\d` is
//! `0-9`, `.` a visible character), at most [`MAX_EXTRA_REPEATS`] repetitions beyond a minimum,
//! anchors and word boundaries emit nothing. The output is capped at a length given by the caller,
//! so no pattern (`a{1000000}`) can grow a value without bound. Features `regex-syntax` lacks
//! (look-ahead, back-references) are a parse error the caller turns into a plain string.

use regex_syntax::hir::{Class, Hir, HirKind};

use rand::{Rng, RngExt};

/// How many repetitions beyond a repetition's minimum are drawn at most (`x*` gives 0 to 8).
pub const MAX_EXTRA_REPEATS: u32 = 8;

/// A parsed pattern, ready to generate matching strings.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    hir: Hir,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    /// Parses `source` (Rust `regex` syntax, which covers the usual ECMA-262 patterns of schemas).
    pub fn parse(source: &str) -> Result<Pattern, String> {
        let hir = regex_syntax::ParserBuilder::new()
            .nest_limit(64)
            .build()
            .parse(source)
            .map_err(|e| format!("invalid pattern {source:?}: {e}"))?;
        Ok(Pattern {
            source: source.to_string(),
            hir,
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// One string matching the pattern, of at most about `max_chars` characters (a pattern whose
    /// minimum is longer is cut there: bounded beats valid).
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R, max_chars: usize) -> String {
        self.draw(rng, max_chars, MAX_EXTRA_REPEATS)
    }

    /// A string matching the pattern whose length (in characters) is within `min..=max` when one
    /// can be found in a few draws (repetitions then stretch towards the range); otherwise the
    /// closest draw.
    pub fn generate_len<R: Rng + ?Sized>(&self, rng: &mut R, min: usize, max: usize) -> String {
        let dist = |n: usize| n.saturating_sub(max) + min.saturating_sub(n);
        let stretch = if max < 4096 {
            max
        } else {
            min.saturating_mul(2)
        };
        let extra = (stretch.min(4096) as u32).max(MAX_EXTRA_REPEATS);
        let mut best = self.draw(rng, max, MAX_EXTRA_REPEATS);
        let mut best_d = dist(best.chars().count());
        for _ in 0..24 {
            if best_d == 0 {
                break;
            }
            let s = self.draw(rng, max, extra);
            let d = dist(s.chars().count());
            if d < best_d {
                best = s;
                best_d = d;
            }
        }
        best
    }

    fn draw<R: Rng + ?Sized>(&self, rng: &mut R, max_chars: usize, extra: u32) -> String {
        let mut out = Out {
            s: String::new(),
            chars: 0,
            max: max_chars,
            extra,
            steps: 0,
        };
        walk(&self.hir, rng, &mut out);
        out.s
    }
}

struct Out {
    s: String,
    chars: usize,
    max: usize,
    /// Repetitions drawn beyond a repetition's minimum, at most.
    extra: u32,
    /// Nodes visited so far: nested repetitions of empty matches (`((\b)*)*`) stop at
    /// [`MAX_STEPS`] instead of looping for ever.
    steps: usize,
}

/// Regex nodes visited per generated string, at most.
const MAX_STEPS: usize = 100_000;

impl Out {
    fn full(&self) -> bool {
        self.chars >= self.max || self.steps >= MAX_STEPS
    }
    fn push(&mut self, c: char) {
        if !self.full() {
            self.s.push(c);
            self.chars += 1;
        }
    }
}

fn walk<R: Rng + ?Sized>(hir: &Hir, rng: &mut R, out: &mut Out) {
    out.steps += 1;
    if out.steps > MAX_STEPS {
        return;
    }
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => {
            for c in String::from_utf8_lossy(&lit.0).chars() {
                out.push(c);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(u32, u32)> = class
                .ranges()
                .iter()
                .map(|r| (r.start() as u32, r.end() as u32))
                .collect();
            if let Some(c) = pick(rng, &ranges).and_then(char::from_u32) {
                out.push(c);
            }
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(u32, u32)> = class
                .ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end().min(0x7f))))
                .filter(|(a, b)| a <= b)
                .collect();
            if let Some(c) = pick(rng, &ranges).and_then(char::from_u32) {
                out.push(c);
            }
        }
        HirKind::Repetition(rep) => {
            let max = rep
                .max
                .unwrap_or(u32::MAX)
                .min(rep.min.saturating_add(out.extra));
            let n = rng.random_range(rep.min..=max.max(rep.min));
            for _ in 0..n {
                if out.full() {
                    break;
                }
                walk(&rep.sub, rng, out);
            }
        }
        HirKind::Capture(cap) => walk(&cap.sub, rng, out),
        HirKind::Concat(parts) => {
            for p in parts {
                walk(p, rng, out);
            }
        }
        HirKind::Alternation(alts) => {
            if !alts.is_empty() {
                walk(&alts[rng.random_range(0..alts.len())], rng, out);
            }
        }
    }
}

/// A code point from `ranges`, uniformly among the printable ASCII ones when there are any,
/// else among all (retrying past the surrogate gap).
fn pick<R: Rng + ?Sized>(rng: &mut R, ranges: &[(u32, u32)]) -> Option<u32> {
    let ascii: Vec<(u32, u32)> = ranges
        .iter()
        .map(|&(a, b)| (a.max(0x20), b.min(0x7e)))
        .filter(|(a, b)| a <= b)
        .collect();
    let set = if ascii.is_empty() { ranges } else { &ascii };
    let total: u64 = set.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
    if total == 0 {
        return None;
    }
    let mut k = rng.random_range(0..total);
    for &(a, b) in set {
        let n = u64::from(b - a) + 1;
        if k < n {
            let c = a + k as u32;
            return Some(if char::from_u32(c).is_some() { c } else { a });
        }
        k -= n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn generated_strings_match_their_pattern() {
        let mut rng = StdRng::seed_from_u64(3);
        for src in [
            "^[A-Z]{3}$",
            "^pay_[0-9a-f]{16}$",
            r"^\d{3}-\d{4}$",
            r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$",
            "^(card|bank_transfer|wallet)$",
            r"^[^\s]{2,5}$",
            "(?i)^abc[x-z]?$",
            r"^\p{Lu}\w*$",
            "^.+$",
        ] {
            let p = Pattern::parse(src).expect("parses");
            let re = regex_syntax::ParserBuilder::new().build().parse(src);
            assert!(re.is_ok());
            let full =
                jsonschema::validator_for(&serde_json::json!({"pattern": src})).expect("compiles");
            for _ in 0..50 {
                let s = p.generate(&mut rng, 256);
                assert!(
                    full.is_valid(&serde_json::Value::String(s.clone())),
                    "{src} {s:?}"
                );
            }
        }
    }

    #[test]
    fn output_is_capped_and_lengths_honoured() {
        let mut rng = StdRng::seed_from_u64(4);
        let p = Pattern::parse("a{100000}b*").expect("parses");
        assert_eq!(p.generate(&mut rng, 100).chars().count(), 100);
        let p = Pattern::parse("^[a-z]*$").expect("parses");
        for _ in 0..20 {
            let n = p.generate_len(&mut rng, 3, 5).chars().count();
            assert!((3..=5).contains(&n), "{n}");
        }
        assert!(Pattern::parse("(?=x)").is_err());
        let p = Pattern::parse(r"((((\b)*)*)*)*x").expect("parses");
        assert!(p.generate(&mut rng, 10).len() <= 10);
    }
}
