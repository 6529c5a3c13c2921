#!/usr/bin/env python3
"""mcp-soak benchmarks, side by side with wrk and oha on the same loopback MCP target.

Run through `bench/run.sh` (which installs wrk/oha and builds the release binary). Every figure is the
median of several runs; comparisons are taken back-to-back in the same round so that noise from other
processes hits both sides alike. Nothing here fails on a timing: results are written to
`bench/out/<stamp>/results.json` and a Markdown report `bench/out/<stamp>/report.md`.

CPU of a generator = user + sys of its process (rusage from wait4), so startup and the handshake are
included (a few ms). Peak RSS is ru_maxrss of the same process.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOAK = os.environ.get("MCP_SOAK_BIN") or os.path.join(ROOT, "target", "release", "mcp-soak")
LUA = os.path.join(ROOT, "bench", "call.lua")
SINK = os.path.join(ROOT, "bench", "otlp_sink.py")
PROTO = "2025-11-25"
TOOL_ARGS = '{"message":"hello"}'


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Ctx:
    def __init__(self, out, oha):
        self.out = out
        self.oha = oha
        self.n = 0

    def path(self, name):
        self.n += 1
        return os.path.join(self.out, f"{self.n:03d}-{name}")


def measured(ctx, name, cmd, env=None, timeout=None):
    """Runs `cmd` to its end and returns CPU (user, sys), peak RSS and its stdout text."""
    out_p = ctx.path(name + ".out")
    err_p = out_p[:-4] + ".err"
    full_env = dict(os.environ)
    full_env.update(env or {})
    t0 = time.monotonic()
    with open(out_p, "w") as so, open(err_p, "w") as se:
        p = subprocess.Popen(cmd, stdout=so, stderr=se, env=full_env)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.monotonic() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    with open(out_p) as f:
        text = f.read()
    if p.returncode != 0:
        with open(err_p) as f:
            tail = f.read()[-400:]
        log(f"  {name}: exit {p.returncode}: {tail.strip()}")
    return {
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "maxrss_kb": ru.ru_maxrss,
        # Voluntary context switches: each is the process going to sleep and being woken again.
        "nvcsw": ru.ru_nvcsw,
        "wall_s": wall,
        "rc": p.returncode,
        "stdout": text,
        "stdout_path": out_p,
    }


class Mock:
    """The built-in mock on 127.0.0.1:0; its URL is read from its log line."""

    def __init__(self, ctx, name, args):
        self.err = ctx.path(f"mock-{name}.log")
        self.f = open(self.err, "w")
        env = dict(os.environ, RUST_LOG="info", NO_COLOR="1")
        self.p = subprocess.Popen(
            [SOAK, "mock", "--listen", "127.0.0.1:0", "--log-format", "json"] + args,
            stdout=self.f, stderr=self.f, env=env)
        self.url = None
        for _ in range(200):
            with open(self.err) as f:
                m = re.search(r"http://127\.0\.0\.1:\d+/mcp", f.read())
            if m:
                self.url = m.group(0)
                break
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        if not self.url:
            self.stop()
            raise RuntimeError(f"mock {name} did not start (see {self.err})")
        self.cpu0 = self.cpu()

    def cpu(self):
        """CPU seconds the mock has used so far (from /proc/<pid>/stat)."""
        try:
            with open(f"/proc/{self.p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.f.close()


def curl_session(url):
    """initialize + notifications/initialized with curl; returns the Mcp-Session-Id ('' if none)."""
    init = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTO, "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"}}})
    hdrs = ["-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream"]
    r = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null"] + hdrs + ["-d", init, url],
                       capture_output=True, text=True, timeout=10, check=True)
    m = re.search(r"(?im)^mcp-session-id:\s*(\S+)", r.stdout)
    sid = m.group(1) if m else ""
    extra = ["-H", f"Mcp-Session-Id: {sid}"] if sid else []
    note = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})
    subprocess.run(["curl", "-sS", "-o", "/dev/null"] + hdrs + extra +
                   ["-H", f"MCP-Protocol-Version: {PROTO}", "-d", note, url],
                   capture_output=True, timeout=10, check=True)
    return sid


# ---------------------------------------------------------------------------------------------
# The three generators. Each returns a dict with at least cpu_s, calls, ok, errors.


def soak(ctx, name, url, rate, dur, extra=None, env=None):
    """mcp-soak's open model at `rate` for `dur` seconds."""
    load = ["--rate", str(rate), "--duration", f"{dur}s", "--grace", "5s"]
    return soak_run(ctx, name, url, load + (extra or []), env=env, timeout=dur + 60)


def closed(ctx, name, url, users, calls, extra=None):
    """mcp-soak's closed model: `users` connections each sending its next call when the last is answered,
    like wrk; `calls` in all."""
    load = ["--users", str(users), "--requests", str(max(1, calls // users))]
    return soak_run(ctx, name, url, load + (extra or []), timeout=120)


def soak_run(ctx, name, url, args, env=None, timeout=None):
    """One `mcp-soak run` with `args` (the load and anything else), read back from its summary."""
    summary = ctx.path(name + ".json")
    cmd = [SOAK, "run", "--url", url, "--protocol", PROTO, "--mix", "echo=1", "--quiet", "--summary",
           summary] + args
    if "--metrics-listen" not in cmd:
        cmd += ["--metrics-listen", "none"]
    env = dict({"RUST_LOG": "warn"}, **(env or {}))
    r = measured(ctx, name, cmd, env=env, timeout=timeout)
    try:
        with open(summary) as f:
            s = json.load(f)
    except (OSError, ValueError):
        r.update(calls=0, ok=0, errors=None)
        return r
    t = s["totals"]
    c = t["counts"]
    lat = s["latency"]
    r.update(
        calls=t["completed"], ok=c["ok"], errors=t["completed"] - c["ok"], dropped=c["dropped"],
        duration_s=s["duration_s"], achieved=t["calls_per_second"],
        lag_p50_ms=s["schedule"]["lag"]["p50_ms"], lag_p99_ms=s["schedule"]["lag"]["p99_ms"],
        lag_max_ms=s["schedule"]["lag"]["max_ms"],
        p50_ms=lat["corrected"]["p50_ms"], p99_ms=lat["corrected"]["p99_ms"],
        svc_p50_ms=lat["service"]["p50_ms"], svc_p99_ms=lat["service"]["p99_ms"],
        timeline=[p.get("calls") for p in s.get("timeline", [])],
    )
    r.pop("stdout")
    return r


def wrk(ctx, name, url, dur, conns, session):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{dur}s", "--timeout", "10s", "-s", LUA, url]
    env = {"MCP_SESSION": session, "MCP_PROTOCOL": PROTO, "MCP_TOOL": "echo", "MCP_ARGS": TOOL_ARGS}
    r = measured(ctx, name, cmd, env=env, timeout=dur + 30)
    m = re.search(r"WRKJSON (\{.*\})", r.pop("stdout"))
    if not m:
        r.update(calls=0, ok=0, errors=None)
        return r
    w = json.loads(m.group(1))
    errs = w["bad"] + w["connect_err"] + w["read_err"] + w["write_err"] + w["timeout_err"]
    r.update(calls=w["requests"], ok=w["ok"], errors=errs, duration_s=w["duration_us"] / 1e6,
             achieved=w["requests"] / (w["duration_us"] / 1e6),
             p50_ms=w["p50_us"] / 1000, p99_ms=w["p99_us"] / 1000)
    return r


def oha(ctx, name, url, rate, dur, session):
    """oha at a fixed rate; one body per call from a file of unique ids (-Z, one body per line)."""
    n = int(rate * dur * 1.2) + 100
    bodies = ctx.path(name + ".bodies")
    with open(bodies, "w") as f:
        for i in range(1, n + 1):
            f.write('{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":%s}}\n'
                    % (i, TOOL_ARGS))
    cmd = [ctx.oha, "-z", f"{dur}s", "-q", str(rate), "-c", "50", "-m", "POST",
           "-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream",
           "-H", f"MCP-Protocol-Version: {PROTO}", "--no-tui", "--output-format", "json", "-Z", bodies]
    if session:
        cmd += ["-H", f"Mcp-Session-Id: {session}"]
    cmd.append(url)
    r = measured(ctx, name, cmd, timeout=dur + 30)
    try:
        o = json.loads(r.pop("stdout"))
    except ValueError:
        r.update(calls=0, ok=0, errors=None)
        return r
    codes = o.get("statusCodeDistribution", {})
    calls = sum(codes.values())
    ok = codes.get("200", 0)
    errs = calls - ok + sum(o.get("errorDistribution", {}).values())
    r.update(calls=calls, ok=ok, errors=errs, achieved=o["summary"].get("requestsPerSec"),
             p50_ms=(o.get("latencyPercentiles", {}).get("p50") or 0) * 1000,
             p99_ms=(o.get("latencyPercentiles", {}).get("p99") or 0) * 1000)
    return r


def per_k(r):
    """CPU milliseconds per 1,000 calls."""
    if not r or not r.get("calls"):
        return None
    return r["cpu_s"] * 1000 / (r["calls"] / 1000)


# ---------------------------------------------------------------------------------------------
# The sections.


def with_mock_cpu(mock, run):
    """`run()`'s result with the mock's CPU per answered call (µs) while it ran: the server's side of
    the bill, which depends on how the calls arrive."""
    c0 = mock.cpu()
    r = run()
    c1 = mock.cpu()
    if c0 is not None and c1 is not None and r.get("calls"):
        r["mock_us_per_call"] = (c1 - c0) * 1e6 / r["calls"]
    return r


def efficiency(ctx, cfg, targets):
    """CPU per 1,000 calls: mcp-soak and oha at a fixed rate, wrk at its maximum, then at wrk's rate
    mcp-soak closed-loop on wrk's connection count (like for like), oha and mcp-soak paced; each target."""
    res = {}
    for tname, mock in targets.items():
        rows = {"soak_fixed": [], "oha_fixed": [], "wrk_max": [], "soak_closed": [], "oha_max": [], "soak_max": []}
        for i in range(cfg.runs):
            sid = curl_session(mock.url)
            log(f"efficiency {tname} round {i + 1}/{cfg.runs}")
            rows["soak_fixed"].append(with_mock_cpu(mock, lambda: soak(
                ctx, f"eff-{tname}-soak", mock.url, cfg.eff_rate, cfg.eff_dur, ["--sessions", "1"])))
            if ctx.oha:
                rows["oha_fixed"].append(with_mock_cpu(mock, lambda: oha(
                    ctx, f"eff-{tname}-oha", mock.url, cfg.eff_rate, cfg.eff_dur, sid)))
            w = with_mock_cpu(mock, lambda: wrk(ctx, f"eff-{tname}-wrk", mock.url, cfg.eff_dur, cfg.wrk_conns, sid))
            rows["wrk_max"].append(w)
            if not w.get("achieved"):
                continue
            rate = int(w["achieved"])
            rows["soak_closed"].append(with_mock_cpu(mock, lambda: closed(
                ctx, f"eff-{tname}-soakclosed", mock.url, cfg.wrk_conns, rate * cfg.eff_dur, ["--sessions", "1"])))
            if ctx.oha:
                rows["oha_max"].append(with_mock_cpu(mock, lambda: oha(
                    ctx, f"eff-{tname}-ohamax", mock.url, rate, cfg.eff_dur, sid)))
            # mcp-soak open-loop at wrk's achieved rate of this round: per-call CPU near the maximum.
            rows["soak_max"].append(with_mock_cpu(mock, lambda: soak(
                ctx, f"eff-{tname}-soakmax", mock.url, rate, cfg.eff_dur, ["--sessions", "1"])))
        res[tname] = {k: summarize(v) for k, v in rows.items()}
    return res


def wakes_per_call(r):
    """Voluntary context switches (sleeps and wake-ups) of the generator per completed call."""
    return r["nvcsw"] / r["calls"] if r.get("calls") and r.get("nvcsw") is not None else None


def summarize(rows):
    keys = ["cpu_s", "calls", "ok", "errors", "achieved", "maxrss_kb", "p50_ms", "p99_ms",
            "lag_p50_ms", "lag_p99_ms", "lag_max_ms", "dropped", "svc_p50_ms", "svc_p99_ms", "duration_s",
            "mock_us_per_call", "wakes_per_call"]
    out = {"runs": len(rows), "cpu_ms_per_1k": median([per_k(r) for r in rows]),
           "cpu_ms_per_1k_all": [per_k(r) for r in rows]}
    for r in rows:
        r["wakes_per_call"] = wakes_per_call(r)
    for k in keys:
        vals = [r.get(k) for r in rows if r.get(k) is not None]
        if vals:
            out[k] = median(vals)
    return out


def accuracy(ctx, cfg, mock):
    res = {}
    for rate in cfg.acc_rates:
        dur = cfg.acc_dur if rate == 5000 else cfg.acc_dur_other
        rows = []
        for i in range(cfg.runs):
            log(f"accuracy {rate}/s round {i + 1}/{cfg.runs} ({dur}s)")
            r = soak(ctx, f"acc-{rate}", mock.url, rate, dur, ["--max-in-flight", "4096"])
            r["ratio"] = (r["calls"] / dur / rate) if r.get("calls") else None
            r["ratio_elapsed"] = (r["achieved"] / rate) if r.get("achieved") else None
            rows.append(r)
        s = summarize(rows)
        s["rate"] = rate
        s["duration"] = dur
        s["ratio"] = median([r.get("ratio_elapsed") for r in rows])
        s["ratio_all"] = [r.get("ratio_elapsed") for r in rows]
        res[str(rate)] = s
    return res


def ceiling(ctx, cfg, mock):
    """wrk's maximum on the target, then mcp-soak at fractions of it: the highest rate sustained with
    zero errors, zero dropped slots and >= 99 % of the target rate."""
    wrows = []
    for i in range(cfg.runs):
        sid = curl_session(mock.url)
        log(f"ceiling wrk round {i + 1}/{cfg.runs}")
        wrows.append(with_mock_cpu(mock, lambda: wrk(ctx, "ceil-wrk", mock.url, cfg.ceil_dur, cfg.wrk_conns, sid)))
    wmax = median([r.get("achieved") for r in wrows]) or 0
    probes = []
    best = 0
    for frac in cfg.ceil_fracs:
        rate = int(wmax * frac)
        if rate <= 0:
            continue
        log(f"ceiling mcp-soak at {rate}/s ({frac:.2f} x wrk)")
        r = with_mock_cpu(mock, lambda: soak(ctx, f"ceil-soak-{int(frac * 100)}", mock.url, rate, cfg.ceil_dur,
                                             ["--max-in-flight", "4096"]))
        ok = (r.get("errors") == 0 and r.get("dropped") == 0 and r.get("calls")
              and r["calls"] >= 0.99 * rate * cfg.ceil_dur and r["achieved"] >= 0.99 * rate)
        probes.append({"rate": rate, "frac": frac, "sustained": bool(ok), "achieved": r.get("achieved"),
                       "errors": r.get("errors"), "dropped": r.get("dropped"), "lag_p99_ms": r.get("lag_p99_ms"),
                       "cpu_ms_per_1k": per_k(r), "mock_us_per_call": r.get("mock_us_per_call")})
        if ok:
            best = max(best, rate)
    return {"wrk": summarize(wrows), "wrk_max": wmax, "soak_max": best,
            "ratio": (best / wmax) if wmax else None, "probes": probes}


def latency(ctx, cfg, mock):
    rows_s, rows_w = [], []
    for i in range(cfg.runs):
        sid = curl_session(mock.url)
        log(f"added latency round {i + 1}/{cfg.runs}")
        rows_s.append(soak(ctx, "lat-soak", mock.url, cfg.lat_rate, cfg.lat_dur, ["--sessions", "1"]))
        rows_w.append(wrk(ctx, "lat-wrk", mock.url, cfg.lat_dur, 2, sid))
    s, w = summarize(rows_s), summarize(rows_w)
    base = 20.0
    return {"delay_ms": base, "soak": s, "wrk": w,
            "soak_added_p50_ms": s.get("p50_ms", base) - base, "soak_added_p99_ms": s.get("p99_ms", base) - base,
            "soak_added_svc_p50_ms": s.get("svc_p50_ms", base) - base,
            "soak_added_svc_p99_ms": s.get("svc_p99_ms", base) - base,
            "wrk_added_p50_ms": w.get("p50_ms", base) - base, "wrk_added_p99_ms": w.get("p99_ms", base) - base}


def memory(ctx, cfg, mock, rate):
    out = {}
    for dur in cfg.mem_durs:
        log(f"memory: {rate}/s for {dur}s")
        r = soak(ctx, f"mem-{dur}", mock.url, rate, dur, ["--max-in-flight", "4096"])
        out[str(dur)] = {"rate": rate, "duration": dur, "maxrss_mb": r["maxrss_kb"] / 1024,
                         "calls": r.get("calls"), "errors": r.get("errors"), "dropped": r.get("dropped"),
                         "cpu_ms_per_1k": per_k(r)}
    return out


def observability(ctx, cfg, mock):
    sink_stats = ctx.path("otlp-sink.json")
    sink = subprocess.Popen([sys.executable, SINK, "0", sink_stats], stdout=subprocess.PIPE, text=True)
    try:
        line = sink.stdout.readline()
        port = int(line.split()[1])
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
        variants = {
            "off": ([], {}),
            "metrics": (["--metrics-listen", "127.0.0.1:0"], {}),
            "otel_1.0": ([], dict(otel, OTEL_TRACES_SAMPLER_ARG="1.0")),
            "otel_0.01": ([], dict(otel, OTEL_TRACES_SAMPLER_ARG="0.01")),
        }
        rows = {k: [] for k in variants}
        for i in range(cfg.runs):
            log(f"observability round {i + 1}/{cfg.runs}")
            for k, (extra, env) in variants.items():
                rows[k].append(soak(ctx, f"obs-{k}", mock.url, cfg.eff_rate, cfg.obs_dur,
                                    ["--sessions", "1"] + extra, env=env))
    finally:
        sink.send_signal(signal.SIGTERM)
        try:
            sink.wait(5)
        except subprocess.TimeoutExpired:
            sink.kill()
    res = {k: summarize(v) for k, v in rows.items()}
    try:
        with open(sink_stats) as f:
            res["sink"] = json.load(f)
    except (OSError, ValueError):
        res["sink"] = None
    return res


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else ""
    except OSError:
        pass
    ver = lambda cmd: subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0:1]
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "loadavg_start": os.getloadavg(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mcp_soak": ver([SOAK, "--version"]), "wrk": ver(["sh", "-c", "wrk -v 2>&1 | head -1"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 run each, short windows (~2 min)")
    ap.add_argument("--runs", type=int, help="runs per figure (median), default 3")
    ap.add_argument("--long", action="store_true", help="also the 10-minute memory run")
    ap.add_argument("--only", help="comma list of sections: efficiency,accuracy,ceiling,latency,memory,observability")
    ap.add_argument("--oha", default=shutil.which("oha") or os.path.join(ROOT, "bench", ".tools", "bin", "oha"))
    ap.add_argument("--out", default=None)
    cfg = ap.parse_args()
    q = cfg.quick
    cfg.runs = cfg.runs or (1 if q else 3)
    cfg.eff_rate = 2000
    cfg.eff_dur = 5 if q else 10
    cfg.wrk_conns = 8
    cfg.acc_rates = [1000, 5000, 20000]
    cfg.acc_dur = 5 if q else 20
    cfg.acc_dur_other = 5 if q else 8
    cfg.ceil_dur = 5
    cfg.ceil_fracs = [0.7, 0.9, 1.0] if q else [0.6, 0.7, 0.8, 0.9, 1.0]
    cfg.lat_rate = 100
    cfg.lat_dur = 5 if q else 8
    cfg.mem_durs = [15] if q else ([60, 600] if cfg.long else [60])
    cfg.obs_dur = 5 if q else 8
    sections = (cfg.only or "efficiency,accuracy,ceiling,latency,memory,observability").split(",")

    t_start = time.monotonic()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out = cfg.out or os.path.join(ROOT, "bench", "out", stamp)
    os.makedirs(out, exist_ok=True)
    oha_bin = cfg.oha if cfg.oha and os.access(cfg.oha, os.X_OK) else None
    if not oha_bin:
        log("oha not found: its rows are skipped")
    ctx = Ctx(out, oha_bin)
    results = {"machine": machine(), "config": {k: v for k, v in vars(cfg).items()}, "sections": sections}
    log(f"writing to {out}")

    mocks = {}
    try:
        mocks["sse"] = Mock(ctx, "sse", [])
        mocks["json"] = Mock(ctx, "json", ["--stateless", "--json-response"])
        if "efficiency" in sections:
            results["efficiency"] = efficiency(ctx, cfg, {"json": mocks["json"], "sse": mocks["sse"]})
        if "accuracy" in sections:
            results["accuracy"] = accuracy(ctx, cfg, mocks["json"])
        if "ceiling" in sections:
            results["ceiling"] = ceiling(ctx, cfg, mocks["json"])
        if "latency" in sections:
            lat = Mock(ctx, "lat20", ["--latency", "20ms"])
            try:
                results["latency"] = latency(ctx, cfg, lat)
            finally:
                lat.stop()
        if "memory" in sections:
            # The highest rate mcp-soak sustained (past it, in-flight calls and connections pile up).
            c = results.get("ceiling", {}).get("soak_max") or 5000
            results["memory"] = memory(ctx, cfg, mocks["json"], int(c))
        if "observability" in sections:
            results["observability"] = observability(ctx, cfg, mocks["json"])
    finally:
        for m in mocks.values():
            m.stop()
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["machine"]["bench_minutes"] = round((time.monotonic() - t_start) / 60, 1)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=2, default=str)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import report
    md = report.render(results)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"results: {out}/results.json, report: {out}/report.md")


if __name__ == "__main__":
    main()
