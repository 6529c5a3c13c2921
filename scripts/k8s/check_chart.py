"""Renders deploy/kubernetes/mcp-soak offline with Helm's engine and checks what comes out.

Run by scripts/test-k8s.sh with the k8senv interpreter (helm-python-sdk, kubernetes-validate, PyYAML).
For each values case: `helm lint --strict`, render, validate every Kubernetes object against the pinned
Kubernetes versions' JSON schemas (strict: unknown fields are errors), hand the Prometheus-operator
resources to validate-crs.mjs, and assert what the chart promises: one share per pod, one run identity,
the token only in a Secret, the PrometheusRule equal to prometheus/rules/, the dashboards equal to
grafana/dashboards/. Also writes each case's manifests to OUT_DIR for the distributed test.

Usage: python check_chart.py REPO_ROOT MODELS_DIR NODE OUT_DIR
"""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from helm_python import chart as helm_chart

# The chart's floor (kubeVersion in Chart.yaml) and a current release.
KUBE_VERSIONS = ["1.30.0", "1.35.0"]
TOKEN = "s3cr3t-token-never-in-args"

ROOT, MODELS, NODE, OUT = (Path(a) for a in sys.argv[1:5])
CHART = ROOT / "deploy/kubernetes/mcp-soak"
failures = []
ENTRYPOINT = next(
    json.loads(line.split(None, 1)[1])
    for line in (ROOT / "Dockerfile").read_text().splitlines()
    if line.startswith("ENTRYPOINT")
)


def fail(case, msg, quiet=False):
    failures.append(f"{case}: {msg}")
    if not quiet:
        print(f"FAIL {case}: {msg}", file=sys.stderr)


def render(values, name="soak"):
    with helm_chart.Chart.load(CHART) as c:
        out = c.render(values, name=name, namespace="load", is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for d in yaml.safe_load_all(text):
            if d:
                docs.append(d)
    return docs


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def container(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def validate(case, docs, quiet=False):
    crs = [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]
    for d in docs:
        if d in crs:
            continue
        for v in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(d, v, strict=True)
            except Exception as e:  # the library raises several error types; all are failures here
                what = getattr(e, "message", None) or str(e).splitlines()[0]
                where = getattr(e, "json_path", "")
                fail(case, f"{d['kind']}/{d['metadata']['name']} against Kubernetes {v}: {what} at {where}", quiet)
    if crs:
        r = subprocess.run(
            [str(NODE), str(ROOT / "scripts/k8s/validate-crs.mjs"), str(MODELS)],
            input=json.dumps(crs), text=True, capture_output=True,
        )
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            fail(case, f"custom resources: {r.stderr.strip()}")


def lint(case, values):
    report = helm_chart.lint(CHART, values, strict=True, kube_version="v1.35.0")
    errors = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    if errors or report.get("errors"):
        fail(case, f"helm lint --strict: {errors or report['errors']}")


def check_workload(case, docs, kind, shards):
    ws = by_kind(docs, kind)
    if len(ws) != 1:
        return fail(case, f"expected one {kind}, got {len(ws)}")
    w = ws[0]
    c = container(w)
    words = c.get("command", []) + c.get("args", [])
    # What the container runs: its command, else the image's ENTRYPOINT, then the args.
    argv = c.get("command") or ENTRYPOINT
    argv = argv + c.get("args", [])
    runs = argv[:2] == ["mcp-soak", "run"] or (argv[:2] == ["/bin/sh", "-c"] and "mcp-soak run" in argv[2])
    if not runs:
        fail(case, f"{kind}: the container does not run `mcp-soak run`: {argv[:4]}")
    if "--instance-share" not in words or words[words.index("--instance-share") + 1] != "$(SHARD_INDEX)/$(SHARD_COUNT)":
        fail(case, f"{kind}: no --instance-share $(SHARD_INDEX)/$(SHARD_COUNT) in {words}")
    env = env_of(c)
    if env.get("SHARD_COUNT", {}).get("value") != str(shards):
        fail(case, f"{kind}: SHARD_COUNT is {env.get('SHARD_COUNT')}, expected {shards}")
    index_src = env.get("SHARD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
    run_id = env.get("MCP_SOAK__RUN__ID", {})
    if kind == "Job":
        spec = w["spec"]
        if (spec.get("completionMode"), spec.get("parallelism"), spec.get("completions")) != ("Indexed", shards, shards):
            fail(case, f"Job: not Indexed with parallelism = completions = {shards}: {spec}")
        if "job-completion-index" not in index_src:
            fail(case, f"Job: SHARD_INDEX not from the completion index: {index_src}")
        if "controller-uid" not in run_id.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "") and "value" not in run_id:
            fail(case, f"Job: run id not from the Job: {run_id}")
        if "--no-fail-on-slo" not in words:
            fail(case, "Job: a shard's SLO verdict (on its share) would fail the Job")
    else:
        if w["spec"]["replicas"] != shards:
            fail(case, f"StatefulSet: replicas {w['spec']['replicas']} != {shards}")
        if "pod-index" not in index_src:
            fail(case, f"StatefulSet: SHARD_INDEX not from the pod index: {index_src}")
        if not run_id.get("value"):
            fail(case, f"StatefulSet: no run id: {run_id}")
    req = c.get("resources", {}).get("requests", {})
    if not req.get("cpu") or not req.get("memory"):
        fail(case, f"{kind}: no resource requests: {c.get('resources')}")
    return w


def check_token(case, docs):
    for d in docs:
        if d["kind"] == "Secret":
            continue
        if TOKEN in json.dumps(d):
            fail(case, f"the token appears in {d['kind']}/{d['metadata']['name']}")
    secrets = by_kind(docs, "Secret")
    if len(secrets) != 1 or secrets[0]["stringData"].get("token") != TOKEN:
        fail(case, f"expected one Secret holding the token, got {secrets}")
    for kind in ("Job", "StatefulSet"):
        for w in by_kind(docs, kind):
            ref = env_of(container(w)).get("MCP_SOAK_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {})
            if ref.get("name") != secrets[0]["metadata"]["name"]:
                fail(case, f"{kind}: MCP_SOAK_TOKEN not from the Secret: {ref}")


def check_monitoring(case, docs):
    rules = by_kind(docs, "PrometheusRule")
    source = []
    for f in sorted((ROOT / "prometheus/rules").glob("*.yml")):
        source += yaml.safe_load(f.read_text())["groups"]
    if len(rules) != 1 or rules[0]["spec"]["groups"] != source:
        fail(case, "the PrometheusRule's groups differ from prometheus/rules/*.yml (run deploy/kubernetes/sync-files.sh)")
    dashboards = {}
    for cm in by_kind(docs, "ConfigMap"):
        if cm["metadata"]["labels"].get("grafana_dashboard") == "1":
            dashboards.update(cm["data"])
    expected = {f.name: json.loads(f.read_text()) for f in (ROOT / "grafana/dashboards").glob("*.json")}
    got = {k: json.loads(v) for k, v in dashboards.items()}
    if got != expected:
        fail(case, f"dashboard ConfigMaps {sorted(got)} differ from grafana/dashboards/ {sorted(expected)}")
    for kind in ("PodMonitor", "ServiceMonitor"):
        if len(by_kind(docs, kind)) != 1:
            fail(case, f"expected one {kind}")


def expect_error(case, values, words):
    try:
        render(values)
    except Exception as e:  # helm_python raises HelmRenderError and friends
        if not all(w in str(e) for w in words):
            fail(case, f"error does not name {words}: {e}")
        return
    fail(case, f"rendered although it should not: {values}")


everything = {
    "shards": 4,
    "token": {"value": TOKEN},
    "results": {"existingClaim": "soak-results"},
    "monitoring": {
        "labels": {"release": "kube-prometheus-stack"},
        "podMonitor": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    },
    "dashboards": {"enabled": True},
}
cases = {
    "job-defaults": {},
    "job-everything": everything,
    "statefulset-everything": {**everything, "mode": "statefulset"},
}
OUT.mkdir(parents=True, exist_ok=True)
for case, values in cases.items():
    lint(case, values)
    docs = render(values)
    (OUT / f"{case}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    kinds = sorted(d["kind"] for d in docs)
    print(f"{case}: {len(docs)} objects: {', '.join(kinds)}")
    validate(case, docs)
    shards = values.get("shards", 3)
    check_workload(case, docs, "StatefulSet" if values.get("mode") == "statefulset" else "Job", shards)
    if values.get("token"):
        check_token(case, docs)
        check_monitoring(case, docs)
# The validation is strict: a misspelt field is caught (proves the schema check is not a no-op).
typo = render({"extraEnv": [{"name": "X", "valeu": "1"}]})
before = len(failures)
validate("strict-typo", typo, quiet=True)
if len(failures) == before:
    fail("strict-typo", "an env entry with a misspelt field passed validation")
else:
    print(f"strict-typo: rejected, as it should be: {failures[before]}")
    del failures[before:]
expect_error("bad-mode", {"mode": "deployment"}, ["mode", "job", "statefulset"])
expect_error("no-shards", {"shards": 0}, ["shards"])
# values.schema.json: a misspelt value is an error naming it, not silently ignored.
expect_error("misspelt-value", {"shard": 4}, ["shard"])
expect_error("misspelt-nested", {"monitoring": {"podMonitor": {"enable": True}}}, ["enable"])

if failures:
    print(f"{len(failures)} chart check(s) failed", file=sys.stderr)
    sys.exit(1)
print("chart checks passed")
