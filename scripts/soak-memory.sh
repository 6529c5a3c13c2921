#!/usr/bin/env bash
# Memory soak (not run in CI): runs mcp-soak against the built-in mock at a high rate for N minutes
# and samples the resident set size (RSS) of the mcp-soak process every INTERVAL seconds.
#
#   scripts/soak-memory.sh            # 10 minutes at 2000 calls/s with target/release/mcp-soak
#   scripts/soak-memory.sh 3          # 3 minutes
#   RATE=500 BIN=target/debug/mcp-soak INTERVAL=10 scripts/soak-memory.sh 2
#
# Build first: cargo build --release. Memory should stay flat after the first minute: the tester keeps
# histograms, counters and bounded tables only. Prints a table and the growth from the first sample
# after warm-up to the last.
set -euo pipefail

MINUTES="${1:-10}"
RATE="${RATE:-2000}"
BIN="${BIN:-target/release/mcp-soak}"
INTERVAL="${INTERVAL:-10}"
WORK="$(mktemp -d)"
MOCK_PID=""
SOAK_PID=""

cleanup() {
  [ -n "$SOAK_PID" ] && kill "$SOAK_PID" 2>/dev/null || true
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release, or set BIN)" >&2; exit 2; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# The mock on a free loopback port (it logs its URL).
RUST_LOG=info NO_COLOR=1 "$BIN" mock --listen 127.0.0.1:0 >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
URL=""
for _ in $(seq 1 100); do
  URL="$(sed -n 's/.*url=\(http[^ ]*\).*/\1/p' "$WORK/mock.log" | head -n1)"
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the mock did not start:" >&2; cat "$WORK/mock.log" >&2; exit 3; }

DURATION_S=$((MINUTES * 60))
"$BIN" run --url "$URL" --rate "$RATE" --duration "${DURATION_S}s" \
  --mix 'list_clusters=3,list_versions=2,list_operator_bundles=1,tools/list=1' \
  --metrics-listen none --progress-interval 60s \
  --summary "$WORK/summary.json" >"$WORK/soak.out" 2>"$WORK/soak.err" &
SOAK_PID=$!

echo "mcp-soak $("$BIN" --version | awk '{print $2}') at ${RATE}/s for ${MINUTES} min against $URL"
printf '%8s  %10s  %10s\n' "elapsed" "rss_MiB" "mock_MiB"
START=$(date +%s)
FIRST=""
LAST=0
while kill -0 "$SOAK_PID" 2>/dev/null; do
  NOW=$(( $(date +%s) - START ))
  R=$(rss_kb "$SOAK_PID"); M=$(rss_kb "$MOCK_PID")
  [ "$R" -gt 0 ] || break
  printf '%7ss  %10.1f  %10.1f\n' "$NOW" "$(echo "$R/1024" | bc -l)" "$(echo "$M/1024" | bc -l)"
  # The first sample after a minute of warm-up is the baseline.
  if [ -z "$FIRST" ] && [ "$NOW" -ge 60 ]; then FIRST=$R; fi
  LAST=$R
  sleep "$INTERVAL"
done
wait "$SOAK_PID" || true
SOAK_PID=""
if [ -n "$FIRST" ]; then
  printf 'RSS after warm-up %.1f MiB, at the end %.1f MiB (growth %+.1f MiB)\n' \
    "$(echo "$FIRST/1024" | bc -l)" "$(echo "$LAST/1024" | bc -l)" "$(echo "($LAST-$FIRST)/1024" | bc -l)"
fi
python3 - "$WORK/summary.json" <<'PY' 2>/dev/null || true
import json, sys
s = json.load(open(sys.argv[1]))
t = s["totals"]
print(f'calls {t["calls"]}, ok {t["counts"]["ok"]}, dropped {t["counts"]["dropped"]}, '
      f'{t["calls_per_second"]:.0f} calls/s, corrected p99 {s["latency"]["corrected"]["p99_ms"]:.1f} ms')
PY
