//! Reading values out of a Prometheus text exposition (format 0.0.4, which OpenMetrics text also
//! parses as): just enough to pick named series from a server's own `/metrics`. A series with several
//! label sets is summed (a server exporting memory per pool reports the whole). Lines that are not
//! samples are skipped; a body with no sample at all is "not Prometheus".

use std::collections::BTreeMap;

/// Why a body gave no values.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    /// No sample line at all; the number is the body's length in bytes.
    #[error("not a Prometheus text exposition (no sample line in {0} bytes)")]
    NotPrometheus(usize),
}

/// The sum of each wanted series' samples; names absent from the body are absent from the map.
pub fn pick(body: &str, wanted: &[String]) -> Result<BTreeMap<String, f64>, ParseError> {
    let mut out = BTreeMap::new();
    let mut samples = 0usize;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = sample(line) else {
            continue;
        };
        samples += 1;
        if wanted.iter().any(|w| w == name) {
            *out.entry(name.to_owned()).or_insert(0.0) += value;
        }
    }
    if samples == 0 {
        return Err(ParseError::NotPrometheus(body.len()));
    }
    Ok(out)
}

/// `name{labels} value [timestamp]` → (name, value); `None` for anything else.
fn sample(line: &str) -> Option<(&str, f64)> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let mut rest = &line[name_end..];
    if rest.starts_with('{') {
        rest = &rest[labels_end(rest)?..];
    }
    let value = rest.split_whitespace().next()?;
    let v = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().ok()?,
    };
    Some((name, v))
}

/// The byte just after the `}` closing a label set that starts at 0, skipping quoted values
/// (which may hold `}` and escaped quotes).
fn labels_end(s: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (in_quotes, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_quotes = false,
            (false, _, '"') => in_quotes = true,
            (false, _, '}') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_and_sums_the_wanted_series() {
        let body = "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 1.2345e+08\n\
                    process_open_fds 17\n\
                    nodejs_heap_space_size_used_bytes{space=\"old\"} 1000\n\
                    nodejs_heap_space_size_used_bytes{space=\"new\",odd=\"a}b\\\"c\"} 24 1700000000000\n\
                    process_cpu_seconds_total 3.5\n\
                    weird_line_without_value\n";
        let got = pick(
            body,
            &want(&[
                "process_resident_memory_bytes",
                "process_open_fds",
                "nodejs_heap_space_size_used_bytes",
                "absent_series",
            ]),
        )
        .expect("parses");
        assert_eq!(got["process_resident_memory_bytes"], 1.2345e8);
        assert_eq!(got["process_open_fds"], 17.0);
        assert_eq!(got["nodejs_heap_space_size_used_bytes"], 1024.0);
        assert!(!got.contains_key("absent_series"));
        assert!(
            !got.contains_key("process_cpu_seconds_total"),
            "not asked for"
        );
    }

    #[test]
    fn a_non_prometheus_body_is_an_error() {
        for body in ["<html><body>Not found</body></html>", "", "{\"ok\": true}"] {
            assert!(
                matches!(pick(body, &want(&["x"])), Err(ParseError::NotPrometheus(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn sample_lines_table() {
        for (line, want) in [
            ("a 1", Some(("a", 1.0))),
            ("a{b=\"c\"} 2.5", Some(("a", 2.5))),
            ("a +Inf", Some(("a", f64::INFINITY))),
            ("a{b=\"}\"} 3", Some(("a", 3.0))),
            ("a{b=\"c\" 3", None),
            ("9a 1", None),
            ("a nope", None),
            ("<html>", None),
        ] {
            assert_eq!(sample(line), want, "{line:?}");
        }
    }
}
