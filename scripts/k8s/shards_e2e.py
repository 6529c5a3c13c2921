"""The distributed path on one machine: the chart's Indexed Job, started as Kubernetes would start it.

Renders deploy/kubernetes/mcp-soak (mode job), takes the Job's container (command, args, env) and
starts one process per completion index 0..N-1 with the env Kubernetes would give it (the completion
index, the Job's uid as run id), the ConfigMap and volumes mapped to local folders and each pod's
/metrics on its own loopback port (the one difference: pods have their own addresses). One mock serves
them all; a real Prometheus scrapes every shard with the shipped rules (windows shortened by
prometheus/fast-windows.sh). Checks:

1. the shards' summed achieved rate equals the configured total within 1 %, measured from the scraped
   counters (each shard's slope over its own sample timestamps);
2. the recording rules see one run: every series carries the one run_id; the run-wide recorded rate is
   one series;
3. a shard killed while sending (SIGKILL) fires McpSoakScrapeDown for its instance, and the shards that
   end cleanly fire nothing;
4. the summaries the surviving shards printed to their logs merge (deploy/kubernetes/collect-summaries.sh
   --from-logs) into one summary of the run, the missing shard named;
5. the StatefulSet's pods (pod-index label, `<release>-<revision>` run id) each send their half and stop
   cleanly on SIGTERM.

Usage: python shards_e2e.py REPO_ROOT MCP_SOAK_BINARY WORK_DIR
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import yaml
from helm_python import chart as helm_chart

ROOT, BIN, WORK = Path(sys.argv[1]), Path(sys.argv[2]).resolve(), Path(sys.argv[3])
SHARDS = 3
RATE = 300.0          # the whole load, calls/s; each shard sends RATE / SHARDS
DURATION_S = 45
KILL_AT_S = 30        # shard KILLED is killed here, while sending
KILLED = 2
WINDOW = (8.0, 28.0)  # seconds after start: the steady part where the summed rate is measured
failures = []
procs = []


def say(msg):
    print(f"[shards] {msg}", flush=True)


def fail(msg):
    failures.append(msg)
    print(f"[shards] FAIL: {msg}", file=sys.stderr, flush=True)


def free_ports(n):
    """n loopback ports free a moment ago, all held until all are picked: no two are the same."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start(name, argv, env=None):
    log = open(WORK / f"{name}.log", "w")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    procs.append(p)
    return p


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def prom_query(prom, path, **params):
    try:
        r = json.loads(get(f"{prom}{path}?{urllib.parse.urlencode(params)}"))
    except OSError as e:
        return []
    return r.get("data", {}).get("result", []) if r.get("status") == "success" else []


def wait_for(what, timeout, check):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    fail(f"timed out waiting for {what}")
    return False


def expand(text, env):
    """Kubernetes' $(VAR) expansion (unknown references stay as they are)."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def job_container(mock_url):
    config = f"""
[target]
url = "{mock_url}"
timeout = "5s"

[load]
rate = {RATE}
duration = "{DURATION_S}s"
max_in_flight = 512

[[mix]]
tool = "list_clusters"
weight = 1
"""
    return workload({"shards": SHARDS, "config": config, "job": {"linger": "15s"}}, "Job")


def workload(values, kind):
    """The rendered workload of `kind` and the ConfigMaps it mounts."""
    with helm_chart.Chart.load(ROOT / "deploy/kubernetes/mcp-soak") as c:
        rendered = c.render(values, name="e2e", namespace="load", revision=1, is_install=True)
    docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
    w = next(d for d in docs if d["kind"] == kind)
    cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    return w, cms


def pod_argv_env(workload, cms, pod, index, metrics_port, job_uid=None):
    """The argv and env Kubernetes would run pod `index` of `workload` with, mounts mapped under WORK/pod."""
    spec = workload["spec"]["template"]["spec"]
    c = spec["containers"][0]
    pod_dir = WORK / pod
    mounts = {}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        local = pod_dir / m["mountPath"].strip("/")
        local.mkdir(parents=True, exist_ok=True)
        cm = volumes[m["name"]].get("configMap")
        if cm:
            for key, text in cms[cm["name"]]["data"].items():
                (local / key).write_text(text)
        mounts[m["mountPath"]] = str(local)
    env = dict(os.environ)
    env["PATH"] = f"{BIN.parent}:{env['PATH']}"
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
            continue
        path = e["valueFrom"]["fieldRef"]["fieldPath"]
        if "job-completion-index" in path or "pod-index" in path:
            env[e["name"]] = str(index)
        elif "controller-uid" in path and job_uid:
            env[e["name"]] = job_uid
        else:
            raise SystemExit(f"the driver does not know how Kubernetes fills {path}")
    for name, value in list(env.items()):
        if value in mounts:
            env[name] = mounts[value]

    def local(word):
        for path, there in mounts.items():
            if word.startswith(path + "/"):
                return there + word[len(path):]
        if word.startswith("0.0.0.0:"):
            return f"127.0.0.1:{metrics_port}"
        return word

    # The image's ENTRYPOINT ["mcp-soak"] is this checkout's binary, never mapped into a mount: a
    # checkout under /tmp (as CI's may be) would otherwise be taken for the pod's /tmp volume.
    command = [local(expand(w, env)) for w in c["command"]] if c.get("command") else [str(BIN)]
    argv = command + [local(expand(w, env)) for w in c.get("args", [])]
    return argv, env


def shard_rates(prom, run_id, t0):
    """Each shard's achieved calls/s over WINDOW, from its own scraped samples and their timestamps."""
    end = t0 + WINDOW[1]
    rng = f"{int(WINDOW[1] - WINDOW[0])}s"
    series = prom_query(prom, "/api/v1/query", query=f'mcp_soak_calls_total{{run_id="{run_id}"}}[{rng}]', time=end)
    per_instance = {}
    for s in series:
        inst = per_instance.setdefault(s["metric"]["instance"], {})
        for ts, v in s["values"]:
            inst[ts] = inst.get(ts, 0.0) + float(v)
    rates = {}
    for inst, points in per_instance.items():
        ts = sorted(points)
        if len(ts) >= 2 and ts[-1] > ts[0]:
            rates[inst] = (points[ts[-1]] - points[ts[0]]) / (ts[-1] - ts[0])
    return rates


def main():
    WORK.mkdir(parents=True, exist_ok=True)
    mock_port, prom_port, *shard_ports = free_ports(2 + SHARDS)
    prom = f"http://127.0.0.1:{prom_port}"

    say(f"mock :{mock_port}, shards /metrics :{shard_ports}, Prometheus :{prom_port}, work {WORK}")
    start("mock", [str(BIN), "mock", "--listen", f"127.0.0.1:{mock_port}"])
    rules = WORK / "rules"
    rules.mkdir(exist_ok=True)
    for f in (ROOT / "prometheus/rules").glob("*.yml"):
        fast = subprocess.run(["bash", str(ROOT / "prometheus/fast-windows.sh"), "15", "4"],
                              stdin=open(f), capture_output=True, text=True, check=True).stdout
        (rules / f.name).write_text(fast)
    (WORK / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules / "*.yml")],
        "scrape_configs": [{
            "job_name": "mcp-soak",
            "static_configs": [{"targets": [f"127.0.0.1:{p}" for p in shard_ports]}],
        }],
    }))
    start("prometheus", ["prometheus", f"--config.file={WORK / 'prometheus.yml'}",
                         f"--storage.tsdb.path={WORK / 'prom-data'}",
                         f"--web.listen-address=127.0.0.1:{prom_port}"])
    wait_for("the mock", 30, lambda: _up(f"http://127.0.0.1:{mock_port}/healthz"))
    wait_for("Prometheus", 60, lambda: _up(f"{prom}/-/ready"))

    job, cms = job_container(f"http://127.0.0.1:{mock_port}/mcp")
    job_uid = str(uuid.uuid4())
    say(f"starting {SHARDS} shards as the Indexed Job would (run id = the Job's uid {job_uid})")
    t0 = time.time()
    shards = []
    for i in range(SHARDS):
        argv, env = pod_argv_env(job, cms, f"pod-{i}", i, shard_ports[i], job_uid)
        shards.append(start(f"shard-{i}", argv, env))

    # 1 + 2: the summed rate and one run, while every shard sends.
    time.sleep(max(0.0, t0 + WINDOW[1] + 1 - time.time()))
    rates = shard_rates(prom, job_uid, t0)
    total = sum(rates.values())
    say(f"achieved calls/s per shard over {WINDOW}: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(rates.items())))
    if len(rates) != SHARDS:
        fail(f"expected {SHARDS} shards scraped, got {sorted(rates)}")
    if abs(total - RATE) > 0.01 * RATE:
        fail(f"summed achieved rate {total:.2f}/s is not within 1 % of the configured {RATE}/s")
    else:
        say(f"PASS: summed achieved rate {total:.2f}/s = {RATE}/s within 1 %")
    runs = prom_query(prom, "/api/v1/query", query="count by (run_id) (mcp_soak_calls_total)")
    if [r["metric"].get("run_id") for r in runs] != [job_uid]:
        fail(f"expected every series of one run {job_uid}, got {runs}")
    recorded = prom_query(prom, "/api/v1/query", query='tool:mcp_soak_calls:rate1m{tool="_all"}')
    if len(recorded) != 1 or recorded[0]["metric"].get("run_id") != job_uid:
        fail(f"the run-wide recorded rate should be one series of run {job_uid}: {recorded}")
    else:
        v = float(recorded[0]["value"][1])
        say(f"PASS: the rules see one run: tool:mcp_soak_calls:rate1m{{tool=\"_all\"}} = {v:.1f}/s")
        if abs(v - RATE) > 0.1 * RATE:
            fail(f"the recorded run-wide rate {v:.1f}/s is far from {RATE}/s")
    firing = _alerts(prom, "McpSoakScrapeDown")
    if firing:
        fail(f"McpSoakScrapeDown fired while every shard was healthy: {firing}")

    # 3: a shard dies while sending.
    time.sleep(max(0.0, t0 + KILL_AT_S - time.time()))
    say(f"killing shard {KILLED} (SIGKILL) while it sends")
    os.killpg(shards[KILLED].pid, signal.SIGKILL)
    dead = f"127.0.0.1:{shard_ports[KILLED]}"
    if wait_for("McpSoakScrapeDown for the killed shard", 40,
                lambda: any(a["labels"].get("instance") == dead for a in _alerts(prom, "McpSoakScrapeDown"))):
        a = next(a for a in _alerts(prom, "McpSoakScrapeDown") if a["labels"]["instance"] == dead)
        say(f"PASS: McpSoakScrapeDown fires for {dead} (run_id {a['labels'].get('run_id')})")
        if a["labels"].get("run_id") != job_uid:
            fail(f"the alert does not name the run: {a['labels']}")

    # The other shards end cleanly (then linger, then exit): nothing fires for them.
    for i, p in enumerate(shards):
        if i == KILLED:
            continue
        try:
            rc = p.wait(timeout=DURATION_S + 60)
        except subprocess.TimeoutExpired:
            fail(f"shard {i} did not finish")
            continue
        if rc != 0:
            fail(f"shard {i} exited {rc} (see {WORK}/shard-{i}.log)")
    time.sleep(8)  # past the scrape that misses them and the alert's (shortened) `for`
    others = [a for a in _alerts(prom, "McpSoakScrapeDown") if a["labels"].get("instance") != dead]
    if others:
        fail(f"McpSoakScrapeDown fired for shards that ended cleanly: {others}")
    else:
        say("PASS: the shards that ended cleanly fired nothing")

    # 4: the surviving shards' summaries, from their logs, merge into the run's.
    logs = [str(WORK / f"shard-{i}.log") for i in range(SHARDS) if i != KILLED]
    r = subprocess.run([str(ROOT / "deploy/kubernetes/collect-summaries.sh"), "--from-logs", *logs],
                       capture_output=True, text=True, env={**os.environ, "MCP_SOAK": str(BIN)})
    if r.returncode not in (0, 1):
        fail(f"collect-summaries.sh exited {r.returncode}: {r.stderr.strip()}")
    else:
        merged = json.loads(r.stdout)
        per_shard = RATE / SHARDS * DURATION_S
        expected = per_shard * (SHARDS - 1)
        calls = merged["totals"]["calls"]
        if merged["run_id"] != job_uid:
            fail(f"merged run_id {merged['run_id']} != {job_uid}")
        if abs(calls - expected) > 0.01 * expected:
            fail(f"merged calls {calls} != {expected:.0f} (two shards' {per_shard:.0f} each)")
        if f"{KILLED}/{SHARDS}" not in r.stderr:
            fail(f"merge did not name the missing shard {KILLED}/{SHARDS}: {r.stderr.strip()}")
        else:
            say(f"PASS: the surviving shards' summaries merge: {calls} calls of run {merged['run_id']}, "
                f"p95 {merged['latency']['corrected']['p95_ms']} ms; shard {KILLED}/{SHARDS} named missing")

    # 5: the StatefulSet (soak until stopped) starts and stops as Kubernetes would run it.
    statefulset(mock_port)


def statefulset(mock_port):
    """The soak-until-stopped StatefulSet: two pods share the load under `<release>-<revision>` and end
    cleanly on SIGTERM (what Kubernetes sends on `helm uninstall`)."""
    config = f"""
[target]
url = "http://127.0.0.1:{mock_port}/mcp"

[load]
rate = 40
duration = "10m"

[[mix]]
tool = "list_clusters"
weight = 1
"""
    sts, cms = workload({"mode": "statefulset", "shards": 2, "config": config}, "StatefulSet")
    ports = free_ports(2)
    pods = []
    for i in range(2):
        argv, env = pod_argv_env(sts, cms, f"sts-{i}", i, ports[i])
        pods.append(start(f"sts-{i}", argv, env))
    for i, port in enumerate(ports):
        url = f"http://127.0.0.1:{port}/metrics"
        if not wait_for(f"StatefulSet pod {i} sending", 30, lambda: _metric(url, "mcp_soak_running") == 1.0):
            continue
        target, text = _metric(url, "mcp_soak_target_calls_per_second"), _text(url)
        if target != 20.0 or 'run_id="e2e-1"' not in text:
            fail(f"StatefulSet pod {i}: target {target}/s (expected 20, half of 40) or run_id e2e-1 missing")
        else:
            say(f"PASS: StatefulSet pod {i} sends its half (20 of 40 calls/s) of run e2e-1")
    for i, p in enumerate(pods):
        os.killpg(p.pid, signal.SIGTERM)
    for i, p in enumerate(pods):
        try:
            rc = p.wait(timeout=60)  # terminationGracePeriodSeconds
        except subprocess.TimeoutExpired:
            fail(f"StatefulSet pod {i} did not stop within its grace period after SIGTERM")
            continue
        if rc != 0:
            fail(f"StatefulSet pod {i} exited {rc} on SIGTERM (see {WORK}/sts-{i}.log)")
    say("PASS: the StatefulSet's pods stop cleanly on SIGTERM")


def _metric(url, name):
    """The value of the first sample of `name` on a /metrics page (None when absent)."""
    for line in _text(url).splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _text(url):
    try:
        return get(url)
    except OSError:
        return ""


def _up(url):
    try:
        get(url)
        return True
    except OSError:
        return False


def _alerts(prom, name):
    try:
        r = json.loads(get(f"{prom}/api/v1/alerts"))
    except OSError:
        return []
    return [a for a in r.get("data", {}).get("alerts", [])
            if a["labels"].get("alertname") == name and a.get("state") == "firing"]


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)
if failures:
    print(f"[shards] {len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("[shards] all checks passed")
