#!/usr/bin/env bash
# End-to-end test of the ops stack with Debian's real Prometheus (2.42) and Alertmanager (0.25) on
# loopback, no Docker: the mock MCP server degrades after a healthy minute, `mcp-soak run` soaks it and
# exports /metrics, Prometheus scrapes it with the shipped config and the shipped rules made fast
# (prometheus/fast-windows.sh), Alertmanager routes every alert to a tiny webhook receiver.
#
# Asserts: every mcp_soak_* name the dashboards and rules use is in the scraped /metrics; nothing fires
# while the mock is healthy; after the degradation the latency and error-ratio alerts fire and reach
# the webhook through Alertmanager; every dashboard query and rule expression parses in the real
# Prometheus and returns data where data is expected; the run ends on SIGTERM with its summary and
# the failing SLO verdict (exit 1). See docs/ops.md ("End-to-end test").
#
# Run by scripts/test.sh after the build (needs target/debug/mcp-soak, or MCP_SOAK_BIN). Needs
# prometheus, prometheus-alertmanager (amtool), python3 with PyYAML, curl. About 90 s when it passes, at most ~4.5 min (every wait has a timeout).
# Keeps its temp dir on failure (KEEP=1 keeps it always). HEALTHY_S (default 60) = healthy part.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

step() { printf '[e2e] %s\n' "$*"; }
die() { printf '[e2e] FAIL: %s\n' "$*" >&2; exit 1; }

BIN="${MCP_SOAK_BIN:-$ROOT/target/debug/mcp-soak}"
PROMETHEUS="${PROMETHEUS:-/usr/bin/prometheus}"
ALERTMANAGER="${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}"
HEALTHY_S="${HEALTHY_S:-60}"
[ -x "$BIN" ] || die "$BIN not found: run cargo build first"
[ -x "$PROMETHEUS" ] || die "$PROMETHEUS not found (apt-get install prometheus)"
[ -x "$ALERTMANAGER" ] || die "$ALERTMANAGER not found (apt-get install prometheus-alertmanager)"
for tool in promtool amtool curl perl; do
  command -v "$tool" >/dev/null || die "$tool not found"
done
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY="$p"; break; fi
done
[ -n "$PY" ] || die "python3 with PyYAML not found (apt-get install python3-yaml)"
CHECK=("$PY" "$ROOT/scripts/e2e/check.py")

tmp="$(mktemp -d -t mcp-soak-e2e.XXXXXX)"
PIDS=()
FAILURES=0
RUN_PID=""
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$rc" != 0 ] || [ "${KEEP:-0}" = 1 ]; then
    for log in "$tmp"/*.log; do
      [ -e "$log" ] || continue
      printf '[e2e] ---- last lines of %s\n' "$log" >&2
      tail -n 15 "$log" >&2 || true
    done
    printf '[e2e] logs, configs and data kept in %s\n' "$tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_http URL SECONDS WHAT: until URL answers 2xx.
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "$3 did not answer $1 within $2s"
    sleep 0.5
  done
  step "PASS: $3 is up ($1)"
}
# check SUBCOMMAND ARGS...: run an assertion group, count its failures, go on.
check() {
  if ! "${CHECK[@]}" "$@"; then FAILURES=$((FAILURES + 1)); fi
}

MOCK_PORT="$(free_port)"; SOAK_PORT="$(free_port)"; PROM_PORT="$(free_port)"; AM_PORT="$(free_port)"
PROM="http://127.0.0.1:$PROM_PORT"
SLO_P95="200ms"

# ---- configs -------------------------------------------------------------------------------------
step "configs in $tmp (mock :$MOCK_PORT, mcp-soak /metrics :$SOAK_PORT, Prometheus :$PROM_PORT, Alertmanager :$AM_PORT)"
mkdir -p "$tmp/rules" "$tmp/prom-data" "$tmp/am-data"
# The shipped rules with every window and `for:` divided by 15 (min 4s): [5m]→[20s], [30m]→[120s],
# for: 2m→8s, 5m→20s. Scrapes every 1s and evaluations every 2s (gen-prometheus) keep rate() fed.
for f in prometheus/rules/*.yml; do
  bash prometheus/fast-windows.sh 15 4 <"$f" >"$tmp/rules/$(basename "$f")"
done
"${CHECK[@]}" gen-prometheus prometheus/prometheus.yml "$tmp/prometheus.yml" "$tmp/rules" \
  "$PROM_PORT" "$AM_PORT" "$SOAK_PORT" || die "could not generate prometheus.yml"
promtool check config "$tmp/prometheus.yml" >"$tmp/promtool.out" 2>&1 \
  || { cat "$tmp/promtool.out" >&2; die "the generated prometheus.yml is invalid"; }
step "PASS: generated prometheus.yml and fast rules pass promtool check config"

# The tester's config: a steady 50 calls/s over three of the mock's tools, SLOs on p95 and the error
# ratio for the whole run and for echo (min_tps low enough to hold through the degradation: the
# throughput gauges must exist for the dashboards, the throughput alert must not fire).
cat >"$tmp/soak.toml" <<EOF
[target]
url = "http://127.0.0.1:$MOCK_PORT/mcp"
timeout = "5s"
sessions = 4

[load]
rate = 50
duration = "10m"        # ended by SIGTERM once the assertions are done
max_in_flight = 512
seed = 7

[[mix]]
tool = "list_clusters"
weight = 1

[[mix]]
tool = "get_wallet_balance"
weight = 1
args = { customer_id = { gen = "string", len = 8, prefix = "cus_" }, currency = { gen = "choice", values = ["USD", "EUR"] } }

[[mix]]
tool = "echo"
weight = 1
args = { message = { gen = "string", len = 16 } }

[[slo]]
p95 = "$SLO_P95"
min_tps = 10
max_error_ratio = 0.01

[[slo]]
tool = "echo"
p95 = "$SLO_P95"
min_tps = 2
max_error_ratio = 0.01

[output]
metrics_listen = "127.0.0.1:$SOAK_PORT"
summary = "$tmp/summary.json"
progress_interval = "10s"
EOF
"$BIN" validate -c "$tmp/soak.toml" >"$tmp/validate.out" 2>&1 \
  || { cat "$tmp/validate.out" >&2; die "mcp-soak validate rejects the generated config"; }

# ---- webhook receiver and Alertmanager -------------------------------------------------------------
"$PY" scripts/e2e/webhook.py "$tmp/webhook.port" "$tmp/webhook.jsonl" >"$tmp/webhook.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 40); do [ -s "$tmp/webhook.port" ] && break; sleep 0.25; done
[ -s "$tmp/webhook.port" ] || die "the webhook receiver did not start"
WEBHOOK_URL="http://127.0.0.1:$(cat "$tmp/webhook.port")/alerts"
wait_http "$WEBHOOK_URL" 10 "webhook receiver"

"${CHECK[@]}" gen-alertmanager alertmanager/alertmanager.yml "$tmp/alertmanager.yml" "$WEBHOOK_URL" \
  || die "could not generate alertmanager.yml"
amtool check-config "$tmp/alertmanager.yml" >"$tmp/amtool.out" 2>&1 \
  || { cat "$tmp/amtool.out" >&2; die "the generated alertmanager.yml is invalid"; }
"$ALERTMANAGER" --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am-data" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$tmp/alertmanager.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$AM_PORT/-/ready" 30 "Alertmanager"

"$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$tmp/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "$PROM/-/ready" 60 "Prometheus"

# ---- the mock (healthy, then degraded) and the soak run ------------------------------------------
"$BIN" mock --listen "127.0.0.1:$MOCK_PORT" --seed 7 --degrade-after "${HEALTHY_S}s" \
  --degrade-latency 400ms --degrade-tool-error-ratio 0.2 --degrade-rpc-error-ratio 0.05 \
  --degrade-http-500-ratio 0.05 >"$tmp/mock.log" 2>&1 &
PIDS+=($!)
MOCK_T0=$SECONDS
wait_http "http://127.0.0.1:$MOCK_PORT/healthz" 30 "mock MCP server"

"$BIN" run -c "$tmp/soak.toml" >"$tmp/run.log" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
wait_http "http://127.0.0.1:$SOAK_PORT/metrics" 30 "mcp-soak /metrics"

check wait-scrape "$PROM" 30

# ---- healthy part: nothing may fire ------------------------------------------------------------------
healthy_left=$((MOCK_T0 + HEALTHY_S - 3 - SECONDS))
[ "$healthy_left" -gt 10 ] || die "startup took too long: only ${healthy_left}s of the healthy part left"
step "healthy part: watching the alerts for ${healthy_left}s (degradation at +${HEALTHY_S}s)"
check healthy "$PROM" "$healthy_left"

# ---- degraded part: latency and error alerts fire and reach the webhook -------------------------------
while [ $((SECONDS - MOCK_T0)) -lt "$HEALTHY_S" ]; do sleep 0.5; done
step "degraded part: +400ms latency, 30% errors; waiting for the alerts (at most 90s + 20s for the webhook)"
check degraded "$PROM" "$tmp/webhook.jsonl" 90 "$SLO_P95"
step "the sustained latency alert fires and Alertmanager inhibits the 5m one (at most 60s)"
check inhibition "$PROM" "http://127.0.0.1:$AM_PORT" "$tmp/webhook.jsonl" 60

# After the degradation: the HTTP and JSON-RPC error counters only exist once such an error happened.
step "every mcp_soak_* name used by the dashboards and rules is in the scraped /metrics"
check metric-names "http://127.0.0.1:$SOAK_PORT/metrics"

# ---- every PromQL expression of the dashboards and rules --------------------------------------------
step "every dashboard query and rule expression, in the real Prometheus"
check queries "$PROM" "$tmp/rules"

# ---- end of the run: SIGTERM, summary, verdict ----------------------------------------------------
step "SIGTERM to mcp-soak run"
kill -TERM "$RUN_PID"
deadline=$((SECONDS + 30))
while kill -0 "$RUN_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
if kill -0 "$RUN_PID" 2>/dev/null; then
  step "FAIL: mcp-soak run did not exit within 30s of SIGTERM"
  FAILURES=$((FAILURES + 1))
else
  set +e; wait "$RUN_PID"; run_rc=$?; set -e
  if [ "$run_rc" = 1 ]; then
    step "PASS: mcp-soak run exited 1 on SIGTERM (SLO verdict: failed, as the degradation should make it)"
  else
    step "FAIL: mcp-soak run exited $run_rc on SIGTERM (expected 1: SLOs failed)"
    FAILURES=$((FAILURES + 1))
  fi
fi
check summary "$tmp/summary.json"

if [ "$FAILURES" -gt 0 ]; then
  die "$FAILURES assertion group(s) failed (lines marked FAIL above); took $((SECONDS))s"
fi
step "PASS: ops end-to-end test passed in ${SECONDS}s"
