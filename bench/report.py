#!/usr/bin/env python3
"""Renders bench/out/<stamp>/results.json as Markdown: `python3 bench/report.py RESULTS.json [MORE.json…]`
(several files are merged, later sections win)."""
import json
import statistics
import sys


def f(x, nd=1, unit=""):
    if x is None:
        return "–"
    if isinstance(x, (int,)) or (isinstance(x, float) and abs(x) >= 1000):
        return f"{x:,.0f}{unit}"
    return f"{x:.{nd}f}{unit}"


def ratio(a, b):
    return (a / b) if (a is not None and b) else None


def paired(a, b):
    """The median of the per-round ratios a[i] / b[i] (each pair ran back to back, so a machine
    that speeds up or slows down between rounds moves both alike), and those ratios. Falls back to
    the ratio of the medians when the rounds do not pair up."""
    xs, ys = a.get("cpu_ms_per_1k_all") or [], b.get("cpu_ms_per_1k_all") or []
    rs = [x / y for x, y in zip(xs, ys) if x is not None and y]
    if not rs or len(xs) != len(ys):
        return ratio(a.get("cpu_ms_per_1k"), b.get("cpu_ms_per_1k")), []
    return statistics.median(rs), rs


def spread(rs):
    return f" ({', '.join(f(x, 2) for x in rs)})" if len(rs) > 1 else ""


def verdict(ok):
    return "–" if ok is None else ("**met**" if ok else "**not met**")


def render(r):
    m = r["machine"]
    out = []
    w = out.append
    w(f"Run {m['date']} · {m['nproc']} CPUs · {m['cpu']} · Linux {m['kernel']} · "
      f"load average at start {', '.join(f'{x:.1f}' for x in m['loadavg_start'])}, "
      f"at end {', '.join(f'{x:.1f}' for x in m.get('loadavg_end', []))} · runs per figure: {r['config']['runs']}\n")

    # Headline.
    w("| figure | mcp-soak | reference | ratio | target | |")
    w("|---|---|---|---|---|---|")
    eff = r.get("efficiency", {})
    for t, e in eff.items():
        s, o, wk, sm = e["soak_fixed"], e["oha_fixed"], e["wrk_max"], e["soak_max"]
        sc, om = e.get("soak_closed", {}), e.get("oha_max", {})
        rt, rs = paired(s, o)
        w(f"| CPU per 1k calls at 2,000/s, {t} replies | {f(s.get('cpu_ms_per_1k'))} ms | oha {f(o.get('cpu_ms_per_1k'))} ms "
          f"| {f(rt, 2)}×{spread(rs)} | < 1× oha | {verdict(None if rt is None else rt < 1)} |")
        rt, rs = paired(sm, wk)
        w(f"| CPU per 1k calls at wrk's max rate ({f(wk.get('achieved'))}/s), {t} | {f(sm.get('cpu_ms_per_1k'))} ms "
          f"| wrk {f(wk.get('cpu_ms_per_1k'))} ms | {f(rt, 2)}×{spread(rs)} | ≤ 1.5× wrk "
          f"| {verdict(None if rt is None else rt <= 1.5)} |")
        if sc.get("runs"):
            rt, rs = paired(sc, wk)
            w(f"| … closed loop, {r['config']['wrk_conns']} users like wrk's connections, {t} "
              f"| {f(sc.get('cpu_ms_per_1k'))} ms at {f(sc.get('achieved'))}/s | wrk {f(wk.get('cpu_ms_per_1k'))} ms "
              f"| {f(rt, 2)}×{spread(rs)} | ≤ 1.5× wrk | {verdict(None if rt is None else rt <= 1.5)} |")
        if om.get("runs"):
            rt, rs = paired(om, wk)
            w(f"| … oha paced at wrk's rate, {t} | | oha {f(om.get('cpu_ms_per_1k'))} ms at {f(om.get('achieved'))}/s "
              f"| {f(rt, 2)}×{spread(rs)} (oha / wrk) | | |")
    c = r.get("ceiling")
    if c:
        w(f"| Highest rate with 0 errors, 0 dropped (json) | {f(c['soak_max'])}/s | wrk {f(c['wrk_max'])}/s "
          f"| {f(c['ratio'], 2)}× | ≥ 0.9× wrk | {verdict(None if c['ratio'] is None else c['ratio'] >= 0.9)} |")
    a = r.get("accuracy", {}).get("5000")
    if a:
        ok = a.get("ratio") is not None and abs(a["ratio"] - 1) <= 0.01
        w(f"| Achieved / target at 5,000/s ({a['duration']} s) | {f(a.get('ratio'), 4)} | | | ±1 % | {verdict(ok)} |")
    lat = r.get("latency")
    if lat:
        v, wv = lat["soak_added_p50_ms"], lat["wrk_added_p50_ms"]
        svc = lat.get("soak_added_svc_p50_ms")
        w(f"| Added p50 latency over a 20 ms mock | {f(v, 3)} ms from intended send, {f(svc, 3)} ms service "
          f"| wrk {f(wv, 3)} ms | | ≤ wrk | {verdict(v <= wv)} |")
    mem = r.get("memory")
    if mem:
        for d, x in mem.items():
            w(f"| Peak RSS after {d} s at {f(x['rate'])}/s | {f(x['maxrss_mb'])} MB | | | flat | |")
    w("")

    if eff:
        w("### 1. Efficiency (CPU of the generator per 1,000 `tools/call`, medians)\n")
        w("Ratios in the headline are the median of the per-round ratios (each round runs the generators "
          "back to back), with each round's ratio in brackets.\n")
        w("Mock µs / call is the server's CPU per answered call while that generator ran: the same mock "
          "costs more per call when calls arrive evenly spaced than when a closed loop keeps it busy.\n")
        w("Sleeps / call is the generator's voluntary context switches per call: each one is the thread "
          "going idle and being woken again.\n")
        w("| target | generator | mode | calls | calls/s | errors | CPU ms / 1k | runs (ms / 1k) | peak RSS MB "
          "| sleeps / call | mock µs / call |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        names = {"soak_fixed": ("mcp-soak", "2,000/s fixed"), "oha_fixed": ("oha", "2,000/s fixed (-q)"),
                 "wrk_max": ("wrk + Lua", "max rate"),
                 "soak_closed": ("mcp-soak", "closed loop, wrk's connection count"),
                 "oha_max": ("oha", "fixed at wrk's rate (-q)"),
                 "soak_max": ("mcp-soak", "fixed at wrk's rate")}
        for t, e in eff.items():
            for k, (g, mode) in names.items():
                x = e.get(k, {})
                if not x.get("runs"):
                    continue
                runs = ", ".join(f(v) for v in x.get("cpu_ms_per_1k_all", []))
                w(f"| {t} | {g} | {mode} | {f(x.get('calls'))} | {f(x.get('achieved'))} | {f(x.get('errors'))} "
                  f"| {f(x.get('cpu_ms_per_1k'))} | {runs} | {f((x.get('maxrss_kb') or 0) / 1024)} "
                  f"| {f(x.get('wakes_per_call'), 2)} | {f(x.get('mock_us_per_call'))} |")
        w("")

    acc = r.get("accuracy")
    if acc:
        w("### 2. Rate accuracy (stateless JSON mock, medians)\n")
        w("| target/s | window | achieved/target | runs | dropped | errors | lag p50 ms | lag p99 ms | lag max ms | CPU ms / 1k |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for k, x in acc.items():
            runs = ", ".join(f(v, 4) for v in x.get("ratio_all", []))
            w(f"| {f(x['rate'])} | {x['duration']} s | {f(x.get('ratio'), 4)} | {runs} | {f(x.get('dropped'))} "
              f"| {f(x.get('errors'))} | {f(x.get('lag_p50_ms'), 3)} | {f(x.get('lag_p99_ms'), 3)} "
              f"| {f(x.get('lag_max_ms'), 2)} | {f(x.get('cpu_ms_per_1k'))} |")
        w("")

    if c:
        w("### 3. Ceiling (stateless JSON mock)\n")
        w(f"wrk (1 thread, {r['config']['wrk_conns']} connections) median maximum: {f(c['wrk_max'])} calls/s "
          f"({f(c['wrk'].get('cpu_ms_per_1k'))} ms CPU / 1k; the mock {f(c['wrk'].get('mock_us_per_call'))} µs a call). "
          f"mcp-soak probes, {r['config']['ceil_dur']} s each:\n")
        w("| rate/s | × wrk | sustained | achieved/s | errors | dropped | lag p99 ms | CPU ms / 1k | mock µs / call |")
        w("|---|---|---|---|---|---|---|---|---|")
        for p in c["probes"]:
            w(f"| {f(p['rate'])} | {p['frac']:.2f} | {'yes' if p['sustained'] else 'no'} | {f(p.get('achieved'))} "
              f"| {f(p.get('errors'))} | {f(p.get('dropped'))} | {f(p.get('lag_p99_ms'), 2)} | {f(p.get('cpu_ms_per_1k'))} "
              f"| {f(p.get('mock_us_per_call'))} |")
        w("")

    if lat:
        s, wk = lat["soak"], lat["wrk"]
        w("### 4. Added latency (session mock with a fixed 20 ms delay, light load, medians)\n")
        w("| generator | load | p50 ms | p99 ms | added p50 ms | added p99 ms |")
        w("|---|---|---|---|---|---|")
        w(f"| mcp-soak, from intended send | {r['config']['lat_rate']}/s open | {f(s.get('p50_ms'), 3)} | {f(s.get('p99_ms'), 3)} "
          f"| {f(lat['soak_added_p50_ms'], 3)} | {f(lat['soak_added_p99_ms'], 3)} |")
        w(f"| mcp-soak, service time | | {f(s.get('svc_p50_ms'), 3)} | {f(s.get('svc_p99_ms'), 3)} "
          f"| {f(lat['soak_added_svc_p50_ms'], 3)} | {f(lat['soak_added_svc_p99_ms'], 3)} |")
        w(f"| wrk + Lua | 2 connections, closed | {f(wk.get('p50_ms'), 3)} | {f(wk.get('p99_ms'), 3)} "
          f"| {f(lat['wrk_added_p50_ms'], 3)} | {f(lat['wrk_added_p99_ms'], 3)} |")
        w("")

    if mem:
        w("### 5. Memory (stateless JSON mock)\n")
        w("| rate/s | duration | calls | errors | dropped | peak RSS MB |")
        w("|---|---|---|---|---|---|")
        for d, x in mem.items():
            w(f"| {f(x['rate'])} | {d} s | {f(x.get('calls'))} | {f(x.get('errors'))} | {f(x.get('dropped'))} | {f(x['maxrss_mb'])} |")
        w("")

    obs = r.get("observability")
    if obs:
        w("### 6. Observability overhead (2,000/s, stateless JSON mock, medians)\n")
        base = obs["off"].get("cpu_ms_per_1k")
        w("| variant | CPU ms / 1k | × off | runs (ms / 1k) | peak RSS MB |")
        w("|---|---|---|---|---|")
        for k in ("off", "metrics", "otel_1.0", "otel_0.01"):
            x = obs.get(k) or {}
            runs = ", ".join(f(v) for v in x.get("cpu_ms_per_1k_all", []))
            w(f"| {k} | {f(x.get('cpu_ms_per_1k'))} | {f(ratio(x.get('cpu_ms_per_1k'), base), 2)} | {runs} "
              f"| {f((x.get('maxrss_kb') or 0) / 1024)} |")
        if obs.get("sink") is not None:
            w(f"\nOTLP sink received {obs['sink']['requests']} export requests, {obs['sink']['bytes']} bytes.")
        w("")
    return "\n".join(out)


def merge(paths):
    """Merges several results.json (e.g. runs of different `--only` sections): later files win."""
    merged = {}
    for p in paths:
        with open(p) as fh:
            r = json.load(fh)
        for k, v in r.items():
            if k not in merged or k not in ("machine", "config", "sections"):
                merged[k] = v
    return merged


if __name__ == "__main__":
    print(render(merge(sys.argv[1:])))
