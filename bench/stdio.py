"""Stdio transport benchmark: mcp-soak soaking `mcp-soak mock --stdio` (release build).

For each (processes, rate): a 10 s open-model run of `tools/call echo`; reports achieved calls/s,
errors, dropped slots, p99 latency from the summary, and the CPU of the generator alone (its own
utime+stime from /proc, read during the linger after the run, children excluded) and of the servers.

usage: python3 bench/stdio.py [BIN] [--quick]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BIN = next((a for a in sys.argv[1:] if not a.startswith("--")), "target/release/mcp-soak")
QUICK = "--quick" in sys.argv
DURATION = 5 if QUICK else 10
HZ = os.sysconf("SC_CLK_TCK")
CASES = [(1, 2000), (1, 10000), (1, 20000), (1, 30000), (1, 40000), (2, 40000)]


def cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / HZ
    except (OSError, IndexError):
        return None


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def run(processes, rate):
    with tempfile.TemporaryDirectory() as tmp:
        summary = os.path.join(tmp, "s.json")
        err = open(os.path.join(tmp, "err"), "w+")
        p = subprocess.Popen(
            [BIN, "run", "--stdio", f"{BIN} mock --stdio", "--processes", str(processes),
             "--mix", "echo=1", "--rate", str(rate), "--duration", f"{DURATION}s",
             "--max-in-flight", "1000", "--metrics-listen", "127.0.0.1:0", "--linger", "2s",
             "--quiet", "--summary", summary],
            stdout=subprocess.DEVNULL, stderr=err)
        servers = {}
        gen = None
        while p.poll() is None:
            for c in children(p.pid):
                v = cpu(c)
                if v is not None:
                    servers[c] = v
            err.seek(0)
            if "run finished" in err.read() and gen is None:
                gen = cpu(p.pid)
            time.sleep(0.1)
        s = json.load(open(summary))
        t = s["totals"]
        calls = t["counts"]["ok"]
        return {
            "processes": processes,
            "rate": rate,
            "achieved": round(t["ok_per_second"]),
            "errors": t["completed"] - calls,
            "dropped": t["counts"]["dropped"],
            "p99_ms": s["latency"]["corrected"]["p99_ms"],
            "gen_ms_per_1k": round(1000 * 1000 * gen / calls, 1) if gen and calls else None,
            "server_ms_per_1k": round(1000 * 1000 * sum(servers.values()) / calls, 1) if calls else None,
        }


print("| processes | rate/s | achieved ok/s | errors | dropped | p99 ms | generator CPU ms / 1k | server CPU ms / 1k |")
print("|---|---|---|---|---|---|---|---|")
for n, r in CASES:
    x = run(n, r)
    print(f"| {x['processes']} | {x['rate']:,} | {x['achieved']:,} | {x['errors']} | {x['dropped']:,} "
          f"| {x['p99_ms']:.2f} | {x['gen_ms_per_1k']} | {x['server_ms_per_1k']} |", flush=True)
