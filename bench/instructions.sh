#!/usr/bin/env bash
# Instructions per call of mcp-soak's own process, counted by callgrind (see BENCHMARKS.md).
#
#   bench/instructions.sh                  # release binary, stateless JSON mock
#   bench/instructions.sh --sse            # session mock, SSE replies
#   BIN=/tmp/old/mcp-soak bench/instructions.sh   # another build, for a before/after
#
# Wall-clock CPU numbers move with whatever else the machine runs; instruction counts mostly do not.
# Runs mcp-soak under `valgrind --tool=callgrind` twice at 200 calls/s, for 1,000 and for 2,000 calls,
# against the built-in mock on 127.0.0.1, and divides the difference by the 1,000 extra calls (start-up,
# the handshake and the report cancel out). Prints the whole process and the call task (`execute`,
# inclusive); the callgrind files stay in the output directory for callgrind_annotate.
# Under a loaded machine the whole-process figure moves by a few thousand (idle wake-ups); the call
# task's figure moves by a few hundred.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "instructions: valgrind is required" >&2; exit 2; }
BIN=${BIN:-target/release/mcp-soak}
MOCK_ARGS=(--stateless --json-response); LABEL=json
if [ "${1:-}" = "--sse" ]; then MOCK_ARGS=(); LABEL=sse; fi
OUT=bench/out/instructions-$(date -u +%Y%m%dT%H%M%SZ)-$LABEL
mkdir -p "$OUT"
[ -x "$BIN" ] || cargo build --release --quiet

RUST_LOG=info NO_COLOR=1 "$BIN" mock --listen 127.0.0.1:0 --log-format json "${MOCK_ARGS[@]}" \
    >"$OUT/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 100); do
    URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/mcp' "$OUT/mock.log" | head -1 || true)
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "instructions: the mock did not start (see $OUT/mock.log)" >&2; exit 2; }

for n in 1000 2000; do
    RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$n" \
        "$BIN" run --url "$URL" --protocol 2025-11-25 --rate 200 --duration 30s --max-calls "$n" \
        --mix echo=1 --quiet --summary "$OUT/summary.$n.json" --metrics-listen none \
        >"$OUT/run.$n.log" 2>&1
done

python3 - "$OUT" "$LABEL" <<'PY'
import json, re, subprocess, sys
out, label = sys.argv[1], sys.argv[2]
def inclusive(n):
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100",
                           f"{out}/callgrind.{n}"], capture_output=True, text=True, check=True).stdout
    def top(pattern):
        vals = [int(m.group(1).replace(",", "")) for line in text.splitlines() if pattern in line
                for m in [re.match(r"\s*([\d,]+)", line)] if m]
        return max(vals, default=0)
    ok = json.load(open(f"{out}/summary.{n}.json"))["totals"]["counts"]["ok"]
    return ok, top("PROGRAM TOTALS"), top("engine::call::execute::{{closure}}")
(ok_a, all_a, call_a), (ok_b, all_b, call_b) = inclusive(1000), inclusive(2000)
calls = ok_b - ok_a
if ok_a != 1000 or ok_b != 2000:
    print(f"instructions: not every call was ok ({ok_a}, {ok_b}): the figures mix in errors", file=sys.stderr)
print(f"{label}: {(all_b - all_a) / calls:,.0f} instructions per call (process), "
      f"{(call_b - call_a) / calls:,.0f} in the call task; files in {out}")
PY
