#!/usr/bin/env python3
"""Config generation and assertions for scripts/test-ops-e2e.sh (real Prometheus + Alertmanager).

Every assertion prints one line `[e2e] PASS: …` or `[e2e] FAIL: …`; a subcommand exits 1 when any of
its assertions failed, 2 on bad usage. Needs python3 with PyYAML. Only talks to 127.0.0.1.

    check.py compose-args COMPOSE SERVICE SCALE [PORT_MAP...]   (the service's command, times / SCALE)
    check.py gen-prometheus SHIPPED OUT RULES_DIR PROM_PORT AM_PORT SOAK_PORT
    check.py gen-alertmanager SHIPPED OUT WEBHOOK_BASE
    check.py wait-scrape PROM_URL TIMEOUT_S
    check.py metric-names METRICS_URL
    check.py healthy PROM_URL SECONDS        (poll /api/v1/alerts for SECONDS: nothing may fire)
    check.py degraded PROM_URL WEBHOOK_FILE TIMEOUT_S SLO_P95_TEXT
    check.py inhibition PROM_URL AM_URL WEBHOOK_FILE TIMEOUT_S
    check.py routed WEBHOOK_FILE TIMEOUT_S   (webhook+Slack get every alert, PagerDuty the critical ones)
    check.py unreachable PROM_URL WEBHOOK_FILE TIMEOUT_S   (mock stopped: McpSoakTargetUnreachable)
    check.py clean-stop PROM_URL SECONDS     (tester stopped cleanly: nothing fires, the run's alerts resolve)
    check.py queries PROM_URL RULES_DIR
    check.py summary SUMMARY_FILE
"""
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import tomllib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILED = []

# Grafana variables → values for a test run (scrape interval 1s; Grafana's $__rate_interval would be
# max(4 × scrape interval, $__interval + scrape interval) = 4s, 10s leaves room for a missed scrape).
# `$tool` is the overview's multi-value regex and the tool dashboard's single value: create_payment fits
# both and has SLOs of its own in config/compose-soak.toml (so the SLO lines have data).
GRAFANA_SUBST = [
    ("$__rate_interval", "10s"),
    ("$__interval", "2s"),
    ("$__range_s", "60"),
    ("$__range", "60s"),
    ("$run_id", ".*"),
    ("$test", ".*"),
    ("$instance", ".*"),
    ("${tool}", "create_payment"),
    ("$tool", "create_payment"),
    ("${datasource}", "prometheus"),
]

# Dashboard queries and recording rules that may rightly be empty at the end of the run.
# Key: a substring of the query (after the substitutions above). Keep this short: only panels that
# really have no data with config/compose-soak.toml.
_MIN_TPS = 'mcp_soak_slo_min_calls_per_second{run_id=~".*",test=~".*",instance=~".*",tool'
EXPECTED_EMPTY = {
    _MIN_TPS + '=~"create_payment"}': "create_payment has no throughput SLO in compose-soak.toml",
    _MIN_TPS + '="create_payment"}': "create_payment has no throughput SLO in compose-soak.toml",
}


def ok(msg):
    print(f"[e2e] PASS: {msg}", flush=True)


def fail(msg):
    FAILED.append(msg)
    print(f"[e2e] FAIL: {msg}", flush=True)


def info(msg):
    print(f"[e2e] {msg}", flush=True)


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8")


def api(prom, path, **params):
    """GET a Prometheus API path; returns the decoded JSON (errors: the JSON error body)."""
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        return json.loads(http_get(url))
    except urllib.error.HTTPError as e:
        try:
            return json.loads(e.read().decode("utf-8"))
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}
    except (urllib.error.URLError, OSError, ValueError) as e:
        return {"status": "error", "error": str(e)}


def query(prom, expr):
    return api(prom, "/api/v1/query", query=expr)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


# ---- config generation ------------------------------------------------------------------------------

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def scaled(text, scale):
    """A duration divided by SCALE, in whole milliseconds (`forever` stays)."""
    if text == "forever":
        return text
    return f"{max(1, round(seconds(text) / scale * 1000))}ms"


# Flags whose value is a schedule time: divided by SCALE. Latencies, timeouts and ratios stay.
TIME_FLAGS = {"--degrade-after", "--degrade-for"}


def compose_args(compose, service, scale, *port_map):
    """Print the service's command from docker-compose.yml, one argument per line, as the e2e test
    runs it on loopback: schedule times divided by SCALE, the config file read from the host path
    behind its bind mount with its stages scaled into `--stages`, and `FLAG=VALUE` replacements
    (listen addresses, URL, summary path) from PORT_MAP. Everything else is the shipped command."""
    scale = float(scale)
    spec = load_yaml(compose)["services"][service]
    args = [os.path.expandvars(str(a)) for a in spec["command"]]
    # ${VAR:-default} as compose resolves it with VAR unset.
    args = [re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", a) for a in args]
    repl = dict(kv.split("=", 1) for kv in port_map)
    mounts = {}
    for v in spec.get("volumes", []) or []:
        parts = str(v).split(":")
        if parts[0].startswith("."):
            mounts[parts[1]] = os.path.join(os.path.dirname(os.path.abspath(compose)), parts[0])
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in repl and i + 1 < len(args):
            out += [a, repl[a]]
            i += 2
            continue
        if a in TIME_FLAGS and i + 1 < len(args):
            out += [a, scaled(args[i + 1], scale)]
            i += 2
            continue
        if a in ("-c", "--config") and i + 1 < len(args):
            path = args[i + 1]
            for dst, src in mounts.items():
                if path.startswith(dst.rstrip("/") + "/"):
                    path = os.path.normpath(src + path[len(dst):])
            out += [a, path]
            with open(path, "rb") as f:
                cfg = tomllib.load(f)
            stages = cfg.get("load", {}).get("stages")
            if isinstance(stages, list):
                text = ",".join(
                    f"{st['rate']}:{scaled(st['duration'], scale)}"
                    + (f"@{scaled(st['ramp'], scale)}" if st.get("ramp") else "")
                    for st in stages)
                out += ["--stages", text]
            i += 2
            continue
        out.append(a)
        i += 1
    print("\n".join(out))



RUNBOOK_BASE = "https://runbooks.example.test/mcp-soak"


def gen_prometheus(shipped, out, rules_dir, prom_port, am_port, soak_port):
    """The shipped prometheus.yml with loopback targets, 1s scrapes, 2s evaluations, the fast rules."""
    cfg = load_yaml(shipped)
    cfg["global"]["scrape_interval"] = "1s"
    cfg["global"]["scrape_timeout"] = "1s"
    cfg["global"]["evaluation_interval"] = "2s"
    cfg["rule_files"] = [os.path.join(rules_dir, "*.yml")]
    # The configurable runbook base (commented out in the shipped file): the alerts must link there.
    cfg["global"].setdefault("external_labels", {})["runbook_base"] = RUNBOOK_BASE
    cfg["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    if "mcp-soak" not in jobs or "prometheus" not in jobs:
        fail(f"{shipped}: expected the scrape jobs mcp-soak and prometheus, found {sorted(jobs)}")
        return
    jobs["mcp-soak"]["scrape_interval"] = "1s"
    jobs["mcp-soak"]["scrape_timeout"] = "1s"
    jobs["mcp-soak"]["static_configs"] = [{"targets": [f"127.0.0.1:{soak_port}"]}]
    jobs["prometheus"]["static_configs"] = [{"targets": [f"127.0.0.1:{prom_port}"]}]
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def gen_alertmanager(shipped, out, webhook_base):
    """The shipped alertmanager.yml as a user plugs in receivers: every example integration
    uncommented (webhook, Slack, PagerDuty), each pointed at the local sink under its own path
    (/webhook, /slack, /pagerduty), routes and inhibitions untouched, timers shortened."""
    with open(shipped, encoding="utf-8") as f:
        text = re.sub(r"(?m)^  #   ", "    ", f.read())
    cfg = yaml.safe_load(text)
    route = cfg["route"]
    route["group_wait"] = "1s"
    route["group_interval"] = "2s"
    route["repeat_interval"] = "1m"
    for r in route.get("routes", []) or []:
        r.pop("repeat_interval", None)
    found = set()
    for rcv in cfg.get("receivers", []):
        for w in rcv.get("webhook_configs", []) or []:
            w["url"] = f"{webhook_base}/webhook"
            found.add("webhook")
        for w in rcv.get("slack_configs", []) or []:
            w["api_url"] = f"{webhook_base}/slack"
            found.add("slack")
        for w in rcv.get("pagerduty_configs", []) or []:
            w["url"] = f"{webhook_base}/pagerduty"
            found.add("pagerduty")
    if found != {"webhook", "slack", "pagerduty"}:
        fail(f"{shipped}: uncommenting the examples gives {sorted(found)}, expected webhook, slack, pagerduty")
    # The templates are relative to the shipped file.
    cfg["templates"] = [os.path.join(os.path.dirname(os.path.abspath(shipped)), t) for t in cfg.get("templates", [])]
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


# ---- waits --------------------------------------------------------------------------------------------


def wait_scrape(prom, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = query(prom, 'up{job="mcp-soak"} == 1 and on () count(mcp_soak_calls_total) > 0')
        last = r
        if r.get("status") == "success" and r["data"]["result"]:
            ok("Prometheus scrapes mcp-soak (up == 1, mcp_soak_calls_total present)")
            return
        time.sleep(1)
    fail(f"Prometheus did not scrape mcp-soak within {timeout}s (last answer: {last})")


# ---- metric names -------------------------------------------------------------------------------------

TOKEN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def dashboard_exprs():
    """(title, expr) of every dashboard query, plus the template variables' queries."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "grafana/dashboards/*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        name = os.path.basename(path)

        def panels(ps):
            for p in ps:
                yield p
                yield from panels(p.get("panels", []))

        for p in panels(d.get("panels", [])):
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f"{name} panel {p.get('title')!r} {t.get('refId', '')}", t["expr"]))
    return out


def dashboard_variables():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "grafana/dashboards/*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        for v in d.get("templating", {}).get("list", []):
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            if isinstance(q, str) and "mcp_soak_" in q:
                out.append((f"{os.path.basename(path)} variable {v.get('name')}", q))
    return out


def rule_entries(rules_dir):
    """(kind, name, expr) of every rule in RULES_DIR/*.yml."""
    out = []
    for path in sorted(glob.glob(os.path.join(rules_dir, "*.yml"))):
        for group in (load_yaml(path) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    labels = rule.get("labels") or {}
                    out.append(("record", rule["record"], rule["expr"], labels))
                else:
                    out.append(("alert", rule["alert"], rule["expr"], rule.get("labels") or {}))
    return out


def metric_names(metrics_url):
    try:
        text = http_get(metrics_url)
    except (urllib.error.URLError, OSError) as e:
        fail(f"cannot read {metrics_url}: {e}")
        return
    exposed = set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        exposed.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    used = {}
    sources = dashboard_exprs() + dashboard_variables()
    sources += [(f"rule {n}", e) for _, n, e, _ in rule_entries(os.path.join(ROOT, "prometheus/rules"))]
    for where, expr in sources:
        for tok in TOKEN.findall(expr):
            if tok.startswith("mcp_soak_") and ":" not in tok:
                used.setdefault(tok, where)
    if not used:
        fail("found no mcp_soak_* names in the dashboards and rules")
    for name in sorted(used):
        if name in exposed:
            ok(f"{name} is in the scraped /metrics")
        else:
            fail(f"{name} (used by {used[name]}) is not in the scraped /metrics of mcp-soak")
    info(f"{len(used)} metric names used by dashboards and rules, {len(exposed)} series names exposed")


# ---- alerts -------------------------------------------------------------------------------------------


def alerts(prom):
    r = api(prom, "/api/v1/alerts")
    if r.get("status") != "success":
        return None
    return r["data"]["alerts"]


def healthy(prom, seconds):
    """Poll the alerts for SECONDS: nothing may be firing. Then ask Prometheus whether any alert fired
    at any evaluation meanwhile (ALERTS over the whole window)."""
    start = time.monotonic()
    polls, pending_seen, firing = 0, set(), {}
    while True:
        a = alerts(prom)
        if a is None:
            fail("GET /api/v1/alerts failed during the healthy part")
        else:
            polls += 1
            for x in a:
                key = f"{x['labels'].get('alertname')}{{tool={x['labels'].get('tool', '')}}}"
                if x.get("state") == "firing":
                    firing.setdefault(key, x)
                else:
                    pending_seen.add(key)
        left = seconds - (time.monotonic() - start)
        if left <= 0:
            break
        time.sleep(min(3, left))
    window = int(time.monotonic() - start) + 2
    r = query(prom, f'count_over_time(ALERTS{{alertstate="firing"}}[{window}s])')
    if r.get("status") != "success":
        fail(f"ALERTS query failed: {r.get('error')}")
    else:
        for s in r["data"]["result"]:
            firing.setdefault(f"{s['metric'].get('alertname')}{{tool={s['metric'].get('tool', '')}}}", s)
    # The shipped config against the healthy mock: every call succeeds, none is dropped.
    r = query(prom, f'sum by (outcome) (increase(mcp_soak_calls_total{{outcome!="ok"}}[{window}s])) > 0')
    if r.get("status") != "success":
        fail(f"error count query failed: {r.get('error')}")
    elif r["data"]["result"]:
        bad = {x["metric"].get("outcome"): round(float(x["value"][1]), 1) for x in r["data"]["result"]}
        fail(f"calls failed before the degradation (the shipped config must be valid): {bad}")
    else:
        ok("zero failed or dropped calls before the degradation")
    if pending_seen:
        info(f"pending (not firing) during the healthy part: {sorted(pending_seen)}")
    if firing:
        fail(f"alerts fired during the healthy part: {sorted(firing)}")
    else:
        ok(f"no alert fired during the healthy part ({polls} polls over {int(seconds)}s + ALERTS over {window}s)")


def webhook_alerts(path, sink="/webhook"):
    """{(alertname, tool, status)} the webhook integration received (the generic webhook payload)."""
    seen = set()
    for doc in sink_docs(path, sink):
        for a in doc.get("alerts", []) or []:
            lab = a.get("labels", {})
            seen.add((lab.get("alertname"), lab.get("tool", ""), a.get("status")))
    return seen


def sink_docs(path, sink):
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("_path") == sink:
                out.append(doc)
    return out


def sink_text(path, sink):
    """Everything a Slack or PagerDuty integration received, as one string (their payloads differ)."""
    return "\n".join(json.dumps(d) for d in sink_docs(path, sink))


def routed(webhook_file, timeout):
    """The routes as shipped: every firing alert reaches the webhook and Slack; critical ones also
    PagerDuty, warnings never. Notifications carry summary, description and the runbook link."""
    deadline = time.monotonic() + timeout
    while True:
        hook = {(n, s) for n, _, s in webhook_alerts(webhook_file)}
        slack, page = sink_text(webhook_file, "/slack"), sink_text(webhook_file, "/pagerduty")
        firing = {n for n, s in hook if s == "firing"}
        if (firing and all(n in slack for n in firing) and "McpSoakErrorBudgetBurn" in page) \
                or time.monotonic() > deadline:
            break
        time.sleep(1)
    sev = {}
    for doc in sink_docs(webhook_file, "/webhook"):
        for a in doc.get("alerts", []) or []:
            sev[a["labels"].get("alertname")] = a["labels"].get("severity")
    if not firing:
        fail("the webhook integration received no firing alert")
        return
    for name in sorted(firing):
        if name in slack:
            ok(f"{name} ({sev.get(name)}) reached the Slack integration (route: every alert)")
        else:
            fail(f"{name} ({sev.get(name)}) did not reach the Slack integration")
        in_page = name in page
        if sev.get(name) == "critical" and in_page:
            ok(f"{name} (critical) reached PagerDuty (route: critical)")
        elif sev.get(name) == "critical":
            fail(f"{name} (critical) did not reach PagerDuty")
        elif in_page:
            fail(f"{name} ({sev.get(name)}) reached PagerDuty: only critical alerts page")
        else:
            ok(f"{name} ({sev.get(name)}) did not page (route: critical only)")
    link = f"{RUNBOOK_BASE}/McpSoakErrorBudgetBurn.md"
    if f"Runbook: {link}" in slack and link in page:
        ok(f"Slack and PagerDuty notifications carry the runbook link under the configured runbook_base ({link})")
    else:
        fail(f"the notifications do not carry the runbook link {link} (runbook_base external label, "
             "alertmanager/templates/mcp-soak.tmpl)")


LATENCY = ("McpSoakLatencyP95High", "McpSoakLatencyP95HighSustained")
ERRORS = ("McpSoakErrorBudgetBurn",)
# 400 ms more latency and 30 % errors at 50 calls/s: the tester keeps up (20 calls in flight), the
# server answers, 35 ok calls/s stay above the SLO minimum of 10.
UNEXPECTED_WHEN_DEGRADED = (
    "McpSoakThroughputBelowTarget",
    "McpSoakGeneratorSaturated",
    "McpSoakTargetUnreachable",
    "McpSoakNoSuccessfulCalls",
    "McpSoakScrapeDown",
)


def degraded(prom, webhook_file, timeout, slo_p95_text):
    """Wait for the latency and error-ratio alerts to fire (tool _all) and reach the webhook."""
    deadline = time.monotonic() + timeout
    want = {"McpSoakLatencyP95High", "McpSoakErrorBudgetBurn"}
    firing, t0, logged = {}, time.monotonic(), set()
    while time.monotonic() < deadline:
        a = alerts(prom) or []
        for x in a:
            name, tool, state = x["labels"].get("alertname"), x["labels"].get("tool", ""), x.get("state")
            if (name, tool, state) not in logged:
                logged.add((name, tool, state))
                info(f"+{time.monotonic() - t0:.0f}s {name}{{tool={tool}}} {state}")
            if state == "firing" and tool == "_all":
                firing.setdefault(name, x)
        if want <= set(firing):
            break
        time.sleep(2)
    for name in sorted(want):
        if name in firing:
            ok(f"{name}{{tool=_all}} is firing in Prometheus")
        else:
            fail(f"{name}{{tool=_all}} did not reach firing within {timeout}s")
    # A slower, erroring server must not look like a broken tester or an unreachable target.
    unexpected = sorted(
        f"{x['labels'].get('alertname')}{{tool={x['labels'].get('tool', '')}}}"
        for x in (alerts(prom) or [])
        if x.get("state") == "firing" and x["labels"].get("alertname") in UNEXPECTED_WHEN_DEGRADED
    )
    if unexpected:
        fail(f"alerts that the degradation must not cause are firing: {unexpected}")
    else:
        ok(f"none of {', '.join(UNEXPECTED_WHEN_DEGRADED)} is firing")
    lat = firing.get("McpSoakLatencyP95High")
    if lat:
        desc = lat.get("annotations", {}).get("description", "")
        if slo_p95_text in desc and "<no value>" not in desc and "error" not in desc.lower():
            ok(f"the latency alert's description names the SLO ({slo_p95_text}): {desc!r}")
        else:
            fail(f"the latency alert's description does not render the SLO {slo_p95_text}: {desc!r}")
    # Alertmanager → webhook. The sustained latency alert (critical) inhibits the 5m one (warning) for
    # the same tool, so either latency alert counts as "the latency alert reached the receiver".
    deadline = time.monotonic() + 20
    while True:
        seen = webhook_alerts(webhook_file)
        names = {n for n, _, s in seen if s == "firing"}
        got_lat = bool(names & set(LATENCY))
        got_err = bool(names & set(ERRORS))
        if (got_lat and got_err) or time.monotonic() > deadline:
            break
        time.sleep(1)
    if got_lat:
        ok(f"the webhook received a firing latency alert ({sorted(names & set(LATENCY))})")
    else:
        fail(f"the webhook received no firing latency alert (it got {sorted(seen)})")
    if got_err:
        ok("the webhook received the firing McpSoakErrorBudgetBurn alert")
    else:
        fail(f"the webhook received no firing McpSoakErrorBudgetBurn (it got {sorted(seen)})")
    info(f"webhook received (alertname, tool, status): {sorted(seen)}")


def inhibition(prom, am, webhook_file, timeout):
    """The shipped inhibit rule: once McpSoakLatencyP95HighSustained (critical) fires for a tool,
    Alertmanager suppresses McpSoakLatencyP95High (warning) for the same tool; the critical one
    reaches the webhook."""
    deadline = time.monotonic() + timeout
    sustained = suppressed = delivered = False
    last = None
    while time.monotonic() < deadline and not (sustained and suppressed and delivered):
        sustained = any(
            x["labels"].get("alertname") == "McpSoakLatencyP95HighSustained"
            and x["labels"].get("tool") == "_all"
            and x.get("state") == "firing"
            for x in (alerts(prom) or [])
        )
        try:
            am_alerts = json.loads(http_get(am + "/api/v2/alerts"))
        except (urllib.error.URLError, OSError, ValueError) as e:
            am_alerts, last = [], str(e)
        for a in am_alerts:
            lab = a.get("labels", {})
            if lab.get("alertname") == "McpSoakLatencyP95High" and lab.get("tool") == "_all":
                last = a.get("status")
                suppressed = a.get("status", {}).get("state") == "suppressed" and bool(
                    a.get("status", {}).get("inhibitedBy")
                )
        delivered = ("McpSoakLatencyP95HighSustained", "_all", "firing") in webhook_alerts(webhook_file)
        time.sleep(2)
    if sustained:
        ok("McpSoakLatencyP95HighSustained{tool=_all} is firing in Prometheus (30m window → 120s)")
    else:
        fail(f"McpSoakLatencyP95HighSustained{{tool=_all}} did not fire within {timeout}s")
    if suppressed:
        ok("Alertmanager inhibits McpSoakLatencyP95High{tool=_all} while the sustained alert fires")
    else:
        fail(f"Alertmanager did not inhibit McpSoakLatencyP95High{{tool=_all}} (last status: {last})")
    if delivered:
        ok("the webhook received the firing McpSoakLatencyP95HighSustained{tool=_all} (critical route)")
    else:
        fail("the webhook did not receive McpSoakLatencyP95HighSustained{tool=_all}")


def unreachable(prom, webhook_file, timeout):
    """The mock is gone: McpSoakTargetUnreachable fires for the run and pages."""
    deadline = time.monotonic() + timeout
    fired = None
    while time.monotonic() < deadline and not fired:
        fired = next((x for x in (alerts(prom) or []) if x["labels"].get("alertname") == "McpSoakTargetUnreachable"
                      and x.get("state") == "firing"), None)
        time.sleep(1)
    if fired:
        ok(f"McpSoakTargetUnreachable fires once the mock is stopped: {fired['annotations'].get('description')!r}")
    else:
        fail(f"McpSoakTargetUnreachable did not fire within {timeout}s of stopping the mock")
        return
    deadline = time.monotonic() + 20
    while "McpSoakTargetUnreachable" not in sink_text(webhook_file, "/pagerduty") and time.monotonic() < deadline:
        time.sleep(1)
    if "McpSoakTargetUnreachable" in sink_text(webhook_file, "/pagerduty"):
        ok("McpSoakTargetUnreachable (critical) reached PagerDuty")
    else:
        fail("McpSoakTargetUnreachable did not reach PagerDuty")


def clean_stop(prom, seconds):
    """After a clean stop of the tester (SIGTERM, summary written): for SECONDS nothing new fires (no
    crash alert), and the run's alerts resolve."""
    start = time.monotonic()
    firing = set()
    while time.monotonic() - start < seconds:
        for x in alerts(prom) or []:
            if x.get("state") == "firing":
                firing.add((x["labels"].get("alertname"), time.monotonic() - start))
        time.sleep(2)
    late = sorted({n for n, t in firing if t > 10})
    crash = sorted({n for n, _ in firing if n == "McpSoakScrapeDown"})
    if crash:
        fail(f"McpSoakScrapeDown fired after a clean stop of the tester")
    else:
        ok(f"no crash alert in the {int(seconds)}s after a clean stop (the run said mcp_soak_running 0 first)")
    if late:
        fail(f"alerts still firing more than 10s after the run ended: {late}")
    else:
        ok("every alert of the ended run resolved within 10s")


# ---- every PromQL expression ----------------------------------------------------------------------


def expected_empty(expr):
    return next((why for key, why in EXPECTED_EMPTY.items() if key in expr), None)


def check_expr(prom, where, expr, need_data):
    r = query(prom, expr)
    if r.get("status") != "success":
        fail(f"{where}: Prometheus rejects the query: {r.get('errorType')}: {r.get('error')}\n    {expr}")
        return
    n = len(r["data"]["result"]) if isinstance(r["data"]["result"], list) else 1
    why = expected_empty(expr)
    if n > 0 or not need_data:
        ok(f"{where}: parses, {n} series")
    elif why:
        ok(f"{where}: parses, no data (expected: {why})")
    else:
        fail(f"{where}: parses but returns no data\n    {expr}")


def queries(prom, rules_dir):
    # Dashboards: every query, Grafana variables replaced.
    for where, expr in dashboard_exprs():
        e = expr
        for a, b in GRAFANA_SUBST:
            e = e.replace(a, b)
        if "$" in e:
            fail(f"{where}: unknown Grafana variable left in {e}")
            continue
        check_expr(prom, where, e, need_data=True)
    # Template variables: label_values(METRIC, LABEL) → the label values API.
    for where, q in dashboard_variables():
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", q)
        if not m:
            fail(f"{where}: cannot evaluate variable query {q!r}")
            continue
        sel = m.group(1)
        for a, b in GRAFANA_SUBST:
            sel = sel.replace(a, b)
        r = api(prom, f"/api/v1/label/{m.group(2)}/values", **{"match[]": sel})
        values = r.get("data") or []
        want = {"tool": "echo", "test": "compose-soak"}.get(m.group(2))
        if r.get("status") == "success" and values and (want is None or want in values):
            ok(f"{where}: {q} → {values}")
        else:
            fail(f"{where}: {q} listed nothing (or not {want!r}) (answer: {r})")
    # Rules as loaded: healthy, evaluated, no error.
    r = api(prom, "/api/v1/rules")
    loaded = []
    if r.get("status") != "success":
        fail(f"GET /api/v1/rules failed: {r.get('error')}")
    else:
        for g in r["data"]["groups"]:
            for rule in g["rules"]:
                loaded.append(rule)
                where = f"rule {rule.get('name')} ({rule.get('type')})"
                if rule.get("health") == "ok" and not rule.get("lastError"):
                    ok(f"{where}: health ok")
                else:
                    fail(f"{where}: health {rule.get('health')}, lastError {rule.get('lastError')!r}")
    entries = rule_entries(rules_dir)
    if len(loaded) == len(entries):
        ok(f"Prometheus loaded all {len(entries)} rules of {rules_dir}")
    else:
        fail(f"Prometheus loaded {len(loaded)} rules, {rules_dir} has {len(entries)}")
    # Every rule expression run as a query; recording rules must return data (a recorded series
    # exists too), alerts only need to parse (most are rightly empty).
    for kind, name, expr, labels in entries:
        tag = ",".join(f"{k}={v}" for k, v in labels.items())
        where = f"{kind} {name}" + (f"{{{tag}}}" if tag and kind == "record" else "")
        check_expr(prom, where + " expr", expr, need_data=(kind == "record"))
        if kind == "record":
            sel = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
            check_expr(prom, where + " recorded series", sel, need_data=True)


# ---- summary ------------------------------------------------------------------------------------------


def summary(path):
    try:
        with open(path, encoding="utf-8") as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"summary {path} is missing or not JSON: {e}")
        return
    ok(f"the run wrote its summary {os.path.basename(path)} ({s.get('stop_reason', '?')})")
    # The run's identity: the static labels of compose-soak.toml and a run id, as on every series.
    with open(os.path.join(ROOT, "config/compose-soak.toml"), "rb") as f:
        want = tomllib.load(f).get("run", {}).get("labels", {})
    if s.get("labels") == want and s.get("run_id"):
        ok(f"the summary carries the run identity: run_id {s['run_id']}, labels {want}")
    else:
        fail(f"the summary's identity is run_id {s.get('run_id')!r}, labels {s.get('labels')!r}; expected labels {want}")
    if s.get("slo_passed") is False:
        failed = [f"{v.get('op')}:{v.get('objective')}" for v in s.get("slos", []) if v.get("passed") is False]
        ok(f"the summary's SLO verdict is fail after the degradation ({failed})")
    else:
        fail(f"the summary says slo_passed={s.get('slo_passed')!r}; the degradation should fail it")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "compose-args":
            compose_args(*args)
        elif cmd == "routed":
            routed(args[0], float(args[1]))
        elif cmd == "unreachable":
            unreachable(args[0], args[1], float(args[2]))
        elif cmd == "clean-stop":
            clean_stop(args[0], float(args[1]))
        elif cmd == "gen-prometheus":
            gen_prometheus(*args)
        elif cmd == "gen-alertmanager":
            gen_alertmanager(*args)
        elif cmd == "wait-scrape":
            wait_scrape(args[0], float(args[1]))
        elif cmd == "metric-names":
            metric_names(args[0])
        elif cmd == "healthy":
            healthy(args[0], float(args[1]))
        elif cmd == "degraded":
            degraded(args[0], args[1], float(args[2]), args[3])
        elif cmd == "inhibition":
            inhibition(args[0], args[1], args[2], float(args[3]))
        elif cmd == "queries":
            queries(args[0], args[1])
        elif cmd == "summary":
            summary(args[0])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (TypeError, IndexError) as e:
        print(f"usage error: {e}\n{__doc__}", file=sys.stderr)
        return 2
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
