#!/usr/bin/env bash
# Checks the ops stack (Prometheus rules and their unit tests, Alertmanager, Grafana, docker-compose)
# without a Docker engine. Run by scripts/test.sh; needs promtool, docker-compose and python3 with
# PyYAML (Debian: prometheus, docker-compose, python3-yaml), amtool when installed. Fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '[ops] %s\n' "$*"; }
die() { printf '[ops] FAILED: %s\n' "$*" >&2; exit 1; }

command -v promtool >/dev/null || die "promtool not found (apt-get install prometheus, or run scripts/install-test-deps.sh)"
command -v docker-compose >/dev/null || die "docker-compose not found (apt-get install docker-compose)"
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY="$p"; break; fi
done
[ -n "$PY" ] || die "python3 with PyYAML not found (apt-get install python3-yaml)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step "promtool check config prometheus/prometheus.yml"
promtool check config prometheus/prometheus.yml >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "prometheus.yml is invalid"; }

step "promtool check rules prometheus/rules/*.yml"
promtool check rules prometheus/rules/*.yml >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "rule files are invalid"; }

step "promtool test rules prometheus/tests/*.yml"
promtool test rules prometheus/tests/*.yml >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "promtool rule unit tests failed"; }

step "fast-window copy of the rules (prometheus/fast-windows.sh) is valid"
mkdir -p "$tmp/fast"
for f in prometheus/rules/*.yml; do
  bash prometheus/fast-windows.sh 15 4 <"$f" >"$tmp/fast/$(basename "$f")" || die "fast-windows.sh failed on $f"
done
promtool check rules "$tmp"/fast/*.yml >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "the fast-window copy of the rules is invalid"; }
if grep -nE '\[[0-9]+[mh]\]|^\s*for:\s*[0-9]+[mh]' "$tmp"/fast/*.yml; then
  die "fast-windows.sh left minute/hour windows behind (lines above)"
fi

if command -v amtool >/dev/null; then
  # The shipped file, and a copy with every example receiver uncommented (what a user does to plug in
  # a webhook, Slack or PagerDuty): both must be valid and route every alert as the comments say.
  mkdir -p "$tmp/am"
  cp -r alertmanager/templates "$tmp/am/"
  sed -E 's/^  #   /    /' alertmanager/alertmanager.yml >"$tmp/am/alertmanager.yml"
  for kind in webhook_configs slack_configs pagerduty_configs; do
    grep -q "^    $kind:" "$tmp/am/alertmanager.yml" || die "uncommenting alertmanager.yml gives no $kind (the example receivers changed shape?)"
  done
  for cfg in alertmanager/alertmanager.yml "$tmp/am/alertmanager.yml"; do
    step "amtool check-config $cfg"
    amtool check-config "$cfg" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "$cfg is invalid"; }
    step "amtool config routes test --verify.receivers: every alert of the rules reaches its receivers ($cfg)"
    # alertname severity, from the rules themselves: critical → page and channel, warning → channel.
    "$PY" - prometheus/rules/*.yml >"$tmp/alerts" <<'PYEOF'
import sys, yaml
for path in sys.argv[1:]:
    for g in yaml.safe_load(open(path))["groups"]:
        for r in g["rules"]:
            if "alert" in r:
                print(r["alert"], r["labels"]["severity"])
PYEOF
    while read -r name sev; do
      case "$sev" in
        critical) want="mcp-soak-page,mcp-soak-all" ;;
        *) want="mcp-soak-all" ;;
      esac
      amtool config routes test --config.file="$cfg" --verify.receivers="$want" \
        alertname="$name" severity="$sev" run_id=r1 tool=echo >"$tmp/out" 2>&1 \
        || { cat "$tmp/out" >&2; die "$name ($sev) is not routed to $want by $cfg"; }
    done <"$tmp/alerts"
    [ -s "$tmp/alerts" ] || die "no alerts read from prometheus/rules"
    # The check can fail: a critical alert must not be routed to the channel alone.
    if amtool config routes test --config.file="$cfg" --verify.receivers=mcp-soak-all \
        alertname=McpSoakErrorBudgetBurn severity=critical run_id=r1 >/dev/null 2>&1; then
      die "amtool routes test accepted a wrong receiver list: the route check cannot fail"
    fi
  done
  step "amtool template render: the notification text shows summary, description and runbook"
  amtool template render --template.glob='alertmanager/templates/*.tmpl' \
    --template.text='{{ template "mcp_soak.title" . }}|{{ template "mcp_soak.text" . }}' >"$tmp/out" 2>&1 \
    || { cat "$tmp/out" >&2; die "alertmanager/templates/*.tmpl do not render"; }
  grep -q "Runbook:" "$tmp/out" || { cat "$tmp/out" >&2; die "the notification template has no runbook line"; }
else
  step "amtool not installed: checking alertmanager.yml with python only (install prometheus-alertmanager for the full check)"
fi

step "docker-compose -f docker-compose.yml config -q"
docker-compose -f docker-compose.yml config -q 2>"$tmp/out" || { cat "$tmp/out" >&2; die "docker-compose.yml is invalid"; }

step "dashboards are valid JSON and up to date with grafana/generate-dashboards.py"
for f in grafana/dashboards/*.json; do
  "$PY" -m json.tool "$f" >/dev/null || die "$f is not valid JSON"
done
"$PY" grafana/generate-dashboards.py --check || die "grafana/dashboards/*.json differ from grafana/generate-dashboards.py"

step "cross-checks: metric names, alert metadata and tests, dashboard queries, compose wiring"
"$PY" - "$tmp" <<'PYEOF'
import glob, json, os, re, sys
import yaml

tmp = sys.argv[1]
errors = []
def err(msg):
    errors.append(msg)

def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)

# ---- the exported names (src/record/names.rs) and outcome kinds (src/mcp/outcome.rs) -------------
names_rs = open("src/record/names.rs", encoding="utf-8").read()
exported, histograms = set(), set()
doc = ""
for line in names_rs.splitlines():
    line = line.strip()
    if line.startswith("///"):
        doc += line
        continue
    m = re.match(r'pub const \w+: &str = "(mcp_soak_\w+)";', line)
    if m:
        exported.add(m.group(1))
        if "Histogram" in doc:
            histograms.add(m.group(1))
    doc = ""
if not exported or not histograms:
    err("could not read metric names from src/record/names.rs")
outcome_rs = open("src/mcp/outcome.rs", encoding="utf-8").read()
outcomes = set(re.findall(r'OutcomeKind::\w+ => "(\w+)"', outcome_rs))
if "ok" not in outcomes or "dropped" not in outcomes:
    err("could not read outcome kinds from src/mcp/outcome.rs")

def allowed_raw(name):
    if name in exported:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in histograms:
            return True
    return False

TOKEN = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")

# ---- rules ---------------------------------------------------------------------------------------
rule_files = sorted(glob.glob("prometheus/rules/*.yml"))
recorded, alerts, exprs = set(), {}, []   # exprs: (where, text)
for path in rule_files:
    for group in (load(path) or {}).get("groups", []):
        for rule in group.get("rules", []):
            if "record" in rule:
                recorded.add(rule["record"])
                if not re.fullmatch(r"[a-z_]+:mcp_soak_[a-z0-9_]+:[a-z0-9_]+", rule["record"]):
                    err(f"{path}: recording rule {rule['record']} is not named level:metric:operations")
                exprs.append((f"{path} record {rule['record']}", rule["expr"]))
            else:
                name = rule["alert"]
                alerts[name] = rule
                exprs.append((f"{path} alert {name}", rule["expr"]))
                for k, v in rule.get("annotations", {}).items():
                    exprs.append((f"{path} alert {name} annotation {k}", v))

def check_names(where, text):
    for tok in TOKEN.findall(text):
        if "mcp_soak_" not in tok:
            continue
        if ":" in tok:
            if tok not in recorded:
                err(f"{where}: uses {tok}, which no recording rule defines")
        elif not allowed_raw(tok):
            err(f"{where}: uses {tok}, which src/record/names.rs does not export")
    for m in re.finditer(r'outcome\s*(=~|!~|=|!=)\s*"([^"]*)"', text):
        for value in m.group(2).split("|"):
            if value not in outcomes:
                err(f"{where}: outcome value {value!r} is not an outcome kind ({sorted(outcomes)})")

for where, text in exprs:
    check_names(where, text)

# ---- alerts: metadata, runbook sections, unit tests ------------------------------------------------
docs = open("docs/ops.md", encoding="utf-8").read() if os.path.exists("docs/ops.md") else ""
if not docs:
    err("docs/ops.md is missing")
tests_text = {}
for path in sorted(glob.glob("prometheus/tests/*.yml")):
    tests_text[path] = load(path)
for name, rule in alerts.items():
    labels, ann = rule.get("labels", {}), rule.get("annotations", {})
    if labels.get("severity") not in ("critical", "warning", "info"):
        err(f"alert {name}: label severity must be critical|warning|info")
    for k in ("summary", "description", "runbook_url"):
        if not ann.get(k):
            err(f"alert {name}: annotation {k} is missing")
    if "$value" not in ann.get("description", "") and "query" not in ann.get("description", ""):
        err(f"alert {name}: description does not show the measured value ($value or a query)")
    runbook = f"docs/runbooks/{name}.md"
    url = ann.get("runbook_url", "")
    if not (url.endswith(f"/{name}.md") and "docs/runbooks" in url and "$externalLabels.runbook_base" in url):
        err(f"alert {name}: runbook_url must be <runbook_base or the project's docs/runbooks>/{name}.md")
    if not os.path.exists(runbook) or not re.search(r"^# Runbook: " + re.escape(name) + r"\s*$", open(runbook, encoding="utf-8").read(), re.M):
        err(f"alert {name}: {runbook} is missing or has no heading 'Runbook: {name}'")
    fires = quiet = False
    for suite in tests_text.values():
        for t in suite.get("tests", []):
            for a in t.get("alert_rule_test", []) or []:
                if a.get("alertname") == name:
                    if a.get("exp_alerts"):
                        fires = True
                    else:
                        quiet = True
    if not (fires and quiet):
        err(f"alert {name}: prometheus/tests/ must check it both firing and quiet (fires={fires}, quiet={quiet})")

# ---- alertmanager inhibitions: a warning never mutes a critical; every rule scoped to one run -------
am = load("alertmanager/alertmanager.yml")
RANK = {"info": 0, "warning": 1, "critical": 2}
def matching(matchers):
    names = set()
    for m in matchers:
        mm = re.match(r'\s*alertname\s*(=~|=)\s*"([^"]*)"', m)
        if mm:
            pat = mm.group(2) if mm.group(1) == "=~" else re.escape(mm.group(2))
            names |= {n for n in alerts if re.fullmatch(pat, n)}
    return names
for i, rule in enumerate(am.get("inhibit_rules", [])):
    srcs, tgts = matching(rule.get("source_matchers", [])), matching(rule.get("target_matchers", []))
    if not srcs or not tgts:
        err(f"alertmanager inhibit_rules[{i}]: matches no alert of the rules (sources {srcs}, targets {tgts})")
    if "run_id" not in rule.get("equal", []):
        err(f"alertmanager inhibit_rules[{i}]: `equal` must include run_id (one run must never mute another)")
    for s_ in srcs:
        for t in tgts:
            ss = alerts[s_].get("labels", {}).get("severity")
            ts = alerts[t].get("labels", {}).get("severity")
            if RANK.get(ss, 0) < RANK.get(ts, 0):
                err(f"alertmanager inhibit_rules[{i}]: {s_} ({ss}) would mute {t} ({ts}): a warning never mutes a critical")

# ---- dashboards ----------------------------------------------------------------------------------
dash_exprs = []
dash_files = sorted(glob.glob("grafana/dashboards/*.json"))
if not dash_files:
    err("no dashboards in grafana/dashboards/")
for path in dash_files:
    d = json.load(open(path, encoding="utf-8"))
    if not d.get("uid"):
        err(f"{path}: no uid")
    var_names = [v.get("name") for v in d.get("templating", {}).get("list", [])]
    if "datasource" not in var_names:
        err(f"{path}: no `datasource` template variable")
    if "__inputs" in d:
        err(f"{path}: has __inputs (provisioning does not resolve them)")
    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(d.get("panels", [])):
        if p.get("type") == "row":
            continue
        title = f"{path} panel {p.get('title')!r}"
        if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            err(f"{title}: datasource must be {{type: prometheus, uid: ${{datasource}}}}")
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            err(f"{title}: no unit")
        for t in p.get("targets", []):
            if t.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                err(f"{title}: a query does not use the datasource variable")
            expr = t.get("expr", "")
            if not expr:
                err(f"{title}: empty query")
                continue
            check_names(title, expr)
            if "rate(" in expr and "[$__rate_interval]" not in expr and "[5m]" not in expr:
                err(f"{title}: rate() without $__rate_interval: {expr}")
            if "histogram_quantile" in expr and "by (le" not in expr:
                err(f"{title}: histogram_quantile must aggregate `sum by (le, ...)`: {expr}")
            dash_exprs.append((title, expr))
    for a in d.get("annotations", {}).get("list", []):
        if a.get("expr"):
            check_names(f"{path} annotation {a.get('name')}", a["expr"])
            dash_exprs.append((f"{path} annotation {a.get('name')!r}", a["expr"]))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if isinstance(q, str) and "mcp_soak_" in q:
            check_names(f"{path} variable {v.get('name')}", q)

# Every dashboard query must parse: write them as recording rules (Grafana variables replaced) for promtool.
subst = [("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range_s", "3600"), ("$__range", "1h"),
         ("${tool}", "echo"), ("$tool", "echo"), ("$run_id", "r1"), ("$test", "t"), ("$instance", "i")]
rules = []
for i, (title, expr) in enumerate(dash_exprs):
    for a, b in subst:
        expr = expr.replace(a, b)
    if "$" in expr:
        err(f"{title}: unknown Grafana variable left in query: {expr}")
    rules.append({"record": f"dashboard_query_{i}", "expr": expr})
with open(os.path.join(tmp, "dashboard-queries.yml"), "w") as f:
    yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f)

# ---- compose wiring ------------------------------------------------------------------------------
compose = load("docker-compose.yml")
services = compose.get("services", {})
for svc in ("mock", "mcp-soak", "prometheus", "alertmanager", "grafana"):
    if svc not in services:
        err(f"docker-compose.yml: service {svc} is missing")
RUNTIME_DIRS = {"./results"}   # written by the run; git-ignored; `mkdir -p results` (docs/ops.md)
mounts = {}   # service -> {container path: host path}
for name, svc in services.items():
    mounts[name] = {}
    for vol in svc.get("volumes", []) or []:
        if not isinstance(vol, str):
            continue
        parts = vol.split(":")
        src, dst = parts[0], parts[1]
        if src.startswith("."):
            mounts[name][dst] = src
            if src not in RUNTIME_DIRS and not os.path.exists(src):
                err(f"docker-compose.yml: service {name} mounts {src}, which does not exist")
    if "healthcheck" not in svc:
        err(f"docker-compose.yml: service {name} has no healthcheck")
    for dep, cond in (svc.get("depends_on") or {}).items():
        if dep not in services:
            err(f"docker-compose.yml: {name} depends on unknown service {dep}")

def cmd(svc):
    c = services.get(svc, {}).get("command", [])
    return c if isinstance(c, list) else str(c).split()

def flag(args, name):
    vals = [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]
    return vals

def host_path(service, container_path):
    """The host file behind a container path, through the service's bind mounts."""
    best = None
    for dst, src in mounts.get(service, {}).items():
        if container_path == dst or container_path.startswith(dst.rstrip("/") + "/"):
            if best is None or len(dst) > len(best[0]):
                best = (dst, src)
    if best is None:
        return None
    return os.path.normpath(best[1] + container_path[len(best[0]):])

BIND = "${MCP_SOAK_BIND:-127.0.0.1}:"
def ports(service):
    """Published ports as HOST:CONTAINER, after the loopback bind every port must carry."""
    out = []
    for p in services.get(service, {}).get("ports", []):
        p = str(p)
        if not p.startswith(BIND):
            err(f"docker-compose.yml: {service} publishes {p}: bind it to {BIND} (loopback unless the user asks)")
        out.append(p[len(BIND):] if p.startswith(BIND) else p)
    return out

# The tester's config file reaches the container through the ./config mount.
soak = cmd("mcp-soak")
for c in flag(soak, "-c") + flag(soak, "--config"):
    hp = host_path("mcp-soak", c)
    if hp is None:
        err(f"docker-compose.yml: mcp-soak reads {c}, which no volume provides")
    elif not os.path.exists(hp):
        err(f"docker-compose.yml: mcp-soak reads {c} = {hp}, which does not exist (config/ ships it)")
for s in flag(soak, "--summary"):
    if host_path("mcp-soak", s) is None:
        err(f"docker-compose.yml: the summary {s} is not on a mounted volume (it would be lost)")

# mcp-soak → mock
urls = flag(soak, "--url")
mock_listen = flag(cmd("mock"), "--listen")
if not urls or not mock_listen:
    err("docker-compose.yml: mcp-soak needs --url and mock needs --listen")
else:
    # The URL defaults to the mock; MCP_SOAK_URL on the host points it at the user's own server.
    url = urls[0]
    mu = re.fullmatch(r"\$\{MCP_SOAK_URL:-(.+)\}", url)
    if not mu:
        err(f"docker-compose.yml: mcp-soak --url {url} must be ${{MCP_SOAK_URL:-http://mock:PORT/mcp}}")
    else:
        url = mu.group(1)
    m = re.match(r"https?://([^:/]+):(\d+)/", url)
    mock_port = mock_listen[0].rsplit(":", 1)[-1]
    if not m or m.group(1) != "mock" or m.group(2) != mock_port:
        err(f"docker-compose.yml: mcp-soak --url {urls[0]} does not point at mock:{mock_port}")
    if "mock" not in flag(cmd("mock"), "--allowed-host"):
        err("docker-compose.yml: mock must allow the Host `mock` (--allowed-host mock), else rmcp refuses the tester")
    if f"{mock_port}:{mock_port}" not in ports("mock"):
        err(f"docker-compose.yml: mock should publish {mock_port}:{mock_port}")

# Health checks probe the endpoints meant for them: the mock's /healthz, the tester's /readyz.
for svc, path in (("mock", "/healthz"), ("mcp-soak", "/readyz")):
    test = " ".join(map(str, (services.get(svc, {}).get("healthcheck") or {}).get("test", [])))
    if path not in test or "-f" not in test:
        err(f"docker-compose.yml: the {svc} healthcheck must fail on errors and probe {path}: {test}")

# prometheus → mcp-soak and alertmanager
prom = load("prometheus/prometheus.yml")
if host_path("prometheus", "/etc/prometheus/prometheus.yml") != "prometheus/prometheus.yml":
    err("docker-compose.yml: prometheus must mount ./prometheus at /etc/prometheus")
if "--config.file=/etc/prometheus/prometheus.yml" not in cmd("prometheus"):
    err("docker-compose.yml: prometheus must run with --config.file=/etc/prometheus/prometheus.yml")
jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
soak_job = jobs.get("mcp-soak")
listen = flag(soak, "--metrics-listen")
if not soak_job:
    err("prometheus.yml: no scrape job `mcp-soak` (the alerts use up{job=\"mcp-soak\"})")
elif not listen:
    err("docker-compose.yml: mcp-soak has no --metrics-listen")
else:
    targets = [t for sc in soak_job.get("static_configs", []) for t in sc.get("targets", [])]
    want = "mcp-soak:" + listen[0].rsplit(":", 1)[-1]
    if want not in targets:
        err(f"prometheus.yml: job mcp-soak scrapes {targets}, expected {want} (from --metrics-listen {listen[0]})")
    if not listen[0].startswith("0.0.0.0:"):
        err("docker-compose.yml: mcp-soak --metrics-listen must bind 0.0.0.0 for Prometheus to reach it")
am_targets = [t for a in prom.get("alerting", {}).get("alertmanagers", [])
              for sc in a.get("static_configs", []) for t in sc.get("targets", [])]
if "alertmanager:9093" not in am_targets or "9093:9093" not in ports("alertmanager"):
    err(f"prometheus.yml alerting {am_targets} / alertmanager ports {ports('alertmanager')} disagree on alertmanager:9093")
if host_path("alertmanager", "/etc/alertmanager/alertmanager.yml") != "alertmanager/alertmanager.yml":
    err("docker-compose.yml: alertmanager must mount ./alertmanager at /etc/alertmanager")

# grafana → prometheus; dashboards provider path ↔ mount
ds = load("grafana/provisioning/datasources/prometheus.yml")
dsl = ds.get("datasources", [])
if not any(d.get("uid") == "prometheus" and d.get("url") == "http://prometheus:9090" for d in dsl):
    err("grafana datasource: need uid `prometheus` with url http://prometheus:9090")
if "9090:9090" not in ports("prometheus"):
    err("docker-compose.yml: prometheus should publish 9090:9090")
prov = load("grafana/provisioning/dashboards/mcp-soak.yml")
for p in prov.get("providers", []):
    path = p.get("options", {}).get("path", "")
    hp = host_path("grafana", path)
    if hp != "grafana/dashboards":
        err(f"grafana dashboards provider reads {path}, which docker-compose does not mount from ./grafana/dashboards")
if host_path("grafana", "/etc/grafana/provisioning/datasources") != "grafana/provisioning/datasources":
    err("docker-compose.yml: grafana must mount ./grafana/provisioning at /etc/grafana/provisioning")
env = services.get("grafana", {}).get("environment", {}) or {}
home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH") if isinstance(env, dict) else None
if home:
    hp = host_path("grafana", home)
    if not hp or not os.path.exists(hp):
        err(f"docker-compose.yml: grafana home dashboard {home} does not exist on the host")
if "3000:3000" not in ports("grafana") or "9464:9464" not in ports("mcp-soak"):
    err("docker-compose.yml: grafana should publish 3000:3000 and mcp-soak 9464:9464")

# The documented ports table must agree with compose.
for svc, port in (("mock", "8080"), ("mcp-soak", "9464"), ("prometheus", "9090"), ("alertmanager", "9093"), ("grafana", "3000")):
    if not re.search(rf"\b{re.escape(svc)}\b.*\b{port}\b", docs):
        err(f"docs/ops.md does not mention {svc} on port {port}")

if errors:
    print("[ops] FAILED checks:", file=sys.stderr)
    for e in errors:
        print("  - " + e, file=sys.stderr)
    sys.exit(1)
print(f"[ops] {len(alerts)} alerts, {len(recorded)} recorded series, {len(dash_exprs)} dashboard queries, "
      f"{len(services)} services checked")
PYEOF

step "every dashboard query parses (promtool check rules on a generated file)"
promtool check rules "$tmp/dashboard-queries.yml" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; die "a dashboard query does not parse"; }

step "all ops checks passed"
