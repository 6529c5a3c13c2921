//! JUnit XML for CI: one test case per SLO objective, plus one for the run itself (did it run
//! its plan to the end, did any call complete), so Jenkins, GitLab and GitHub test reporters show
//! verdicts natively. A failure carries the measured value and the target. The shape follows the
//! schema Jenkins' xUnit plugin and GitLab read (`testsuites` > `testsuite` > `testcase` >
//! `failure`); `tests/fixtures/junit.xsd` pins it.

use std::fmt::Write as _;

use super::chart::esc;
use super::format::slo_value;
use super::summary::Summary;

struct Case {
    classname: String,
    name: String,
    /// (message, body) when the case failed.
    failure: Option<(String, String)>,
}

fn cases(s: &Summary) -> Vec<Case> {
    let mut out = Vec::new();
    let stop = super::format::stop_reason(s);
    out.push(Case {
        classname: "mcp-soak.run".into(),
        name: "run completed its plan".into(),
        failure: s.aborted.then(|| {
            (
                format!("run aborted: {stop}"),
                format!(
                    "The run stopped before its plan ended ({stop}) after {:.1} s.",
                    s.duration_s
                ),
            )
        }),
    });
    out.push(Case {
        classname: "mcp-soak.run".into(),
        name: "calls completed".into(),
        failure: (s.totals.completed == 0).then(|| {
            (
                "no call completed".into(),
                format!("{} calls scheduled, none completed.", s.totals.calls),
            )
        }),
    });
    for v in &s.slos {
        let target = slo_value(v.objective, v.target);
        let measured = v.measured.map(|m| slo_value(v.objective, m));
        let failure = (!v.passed).then(|| {
            let message = match (&measured, &v.reason) {
                (Some(m), _) => format!("measured {m}, target {target}"),
                (None, Some(r)) => format!("{r} (target {target})"),
                (None, None) => format!("not measured (target {target})"),
            };
            let body = format!(
                "SLO {} {} on {}: target {} measured {}",
                v.op,
                v.objective,
                s.target,
                v.target,
                v.measured.map_or_else(|| "-".into(), |m| m.to_string())
            );
            (message, body)
        });
        out.push(Case {
            classname: format!("mcp-soak.slo.{}", v.op),
            name: format!("{} {}", v.objective, target),
            failure,
        });
    }
    out
}

/// The JUnit XML document.
pub fn render(s: &Summary) -> String {
    let cases = cases(s);
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let time = format!("{:.3}", s.duration_s.max(0.0));
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"mcp-soak\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">",
        cases.len()
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"mcp-soak {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" \
         skipped=\"0\" time=\"{time}\" timestamp=\"{}\" id=\"{}\">",
        esc(&s.target),
        cases.len(),
        esc(&s.started),
        esc(&s.run_id)
    );
    o.push_str("    <properties>\n");
    let props = [
        ("run_id", s.run_id.clone()),
        ("target", s.target.clone()),
        ("transport", s.transport.to_string()),
        ("protocol", s.protocol.version.clone().unwrap_or_default()),
        ("tool_version", s.tool.version.clone()),
        ("calls", s.totals.calls.to_string()),
        ("p95_ms", s.latency.corrected.p95_ms.to_string()),
        ("error_ratio", s.totals.error_ratio.to_string()),
    ];
    for (k, v) in props {
        let _ = writeln!(o, "      <property name=\"{k}\" value=\"{}\"/>", esc(&v));
    }
    o.push_str("    </properties>\n");
    for c in &cases {
        let _ = write!(
            o,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            esc(&c.classname),
            esc(&c.name)
        );
        match &c.failure {
            None => o.push_str("/>\n"),
            Some((message, body)) => {
                let _ = write!(
                    o,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    if c.classname == "mcp-soak.run" {
                        "run"
                    } else {
                        "slo"
                    },
                    esc(message),
                    esc(body)
                );
            }
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
}
