#!/usr/bin/env bash
# End-to-end test of the compose stack as shipped, with Debian's real Prometheus (2.42) and
# Alertmanager (0.25) on loopback, no Docker. The mock and the tester run the exact commands of
# docker-compose.yml with config/compose-soak.toml; only schedule times are divided by SCALE (default
# 15: the mock degrades after 40s instead of 10m, for 20s instead of 5m) and the shipped rules get the
# same factor (prometheus/fast-windows.sh), so the story keeps its proportions. Addresses move to free
# loopback ports. Alertmanager runs the shipped routes with every example receiver uncommented
# (webhook, Slack, PagerDuty), all pointed at one local sink that tells them apart by path.
#
# Asserts: zero errors and no alert before the degradation; after it, the latency and error alerts
# fire and reach the receivers the routes say (every alert: webhook and Slack; critical: PagerDuty
# too), with the runbook link; the sustained latency alert mutes the 5m one; every mcp_soak_* name the
# dashboards and rules use is scraped, every dashboard query and rule expression runs in the real
# Prometheus; stopping the mock fires McpSoakTargetUnreachable; a clean stop of the tester (SIGTERM)
# writes the failing summary (exit 1) and fires nothing, its alerts resolve. See docs/ops.md.
#
# Run by scripts/test.sh after the build (needs target/debug/mcp-soak, or MCP_SOAK_BIN). Needs
# prometheus, prometheus-alertmanager (amtool), python3 (3.11+) with PyYAML, curl. About 2.5 min when
# it passes, at most ~6 min (every wait has a timeout). Keeps its temp dir on failure (KEEP=1 always).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

step() { printf '[e2e] %s\n' "$*"; }
die() { printf '[e2e] FAIL: %s\n' "$*" >&2; exit 1; }

BIN="${MCP_SOAK_BIN:-$ROOT/target/debug/mcp-soak}"
PROMETHEUS="${PROMETHEUS:-/usr/bin/prometheus}"
ALERTMANAGER="${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}"
SCALE="${SCALE:-15}"
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

# free_ports N: N loopback ports free a moment ago, all held until all are picked (so no two are the
# same port: one bound, released, then bound again by the next pick).
free_ports() {
  "$PY" -c 'import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}
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

ports="$(free_ports 4)"
read -r MOCK_PORT SOAK_PORT PROM_PORT AM_PORT <<<"$ports"
[ -n "$AM_PORT" ] || die "no free loopback ports: $ports"
PROM="http://127.0.0.1:$PROM_PORT"

# ---- configs -------------------------------------------------------------------------------------
step "configs in $tmp (mock :$MOCK_PORT, mcp-soak /metrics :$SOAK_PORT, Prometheus :$PROM_PORT, Alertmanager :$AM_PORT, times / $SCALE)"
mkdir -p "$tmp/rules" "$tmp/prom-data" "$tmp/am-data"
# The shipped rules with every window and `for:` divided by SCALE (min 4s). Scrapes every 1s and
# evaluations every 2s (gen-prometheus) keep rate() fed.
for f in prometheus/rules/*.yml; do
  bash prometheus/fast-windows.sh "$SCALE" 4 <"$f" >"$tmp/rules/$(basename "$f")"
done
"${CHECK[@]}" gen-prometheus prometheus/prometheus.yml "$tmp/prometheus.yml" "$tmp/rules" \
  "$PROM_PORT" "$AM_PORT" "$SOAK_PORT" || die "could not generate prometheus.yml"
promtool check config "$tmp/prometheus.yml" >"$tmp/promtool.out" 2>&1 \
  || { cat "$tmp/promtool.out" >&2; die "the generated prometheus.yml is invalid"; }
step "PASS: generated prometheus.yml and fast rules pass promtool check config"

# The mock and the tester: docker-compose.yml's commands, times scaled, addresses on loopback.
mapfile -t MOCK_ARGS < <("${CHECK[@]}" compose-args docker-compose.yml mock "$SCALE" \
  "--listen=127.0.0.1:$MOCK_PORT") || die "could not read the mock's command from docker-compose.yml"
mapfile -t SOAK_ARGS < <("${CHECK[@]}" compose-args docker-compose.yml mcp-soak "$SCALE" \
  "--url=http://127.0.0.1:$MOCK_PORT/mcp" "--metrics-url=http://127.0.0.1:$MOCK_PORT/metrics" \
  "--metrics-listen=127.0.0.1:$SOAK_PORT" \
  "--summary=$tmp/summary.json") || die "could not read the tester's command from docker-compose.yml"
step "mock: mcp-soak ${MOCK_ARGS[*]}"
step "tester: mcp-soak ${SOAK_ARGS[*]}"
degrade_after_ms=0
for i in "${!MOCK_ARGS[@]}"; do
  [ "${MOCK_ARGS[$i]}" = "--degrade-after" ] && degrade_after_ms="${MOCK_ARGS[$((i + 1))]%ms}"
done
[ "$degrade_after_ms" -gt 20000 ] || die "the scaled --degrade-after (${degrade_after_ms}ms) leaves no healthy part; lower SCALE"
HEALTHY_S=$((degrade_after_ms / 1000))
SLO_P95="$("$PY" -c 'import sys, tomllib; c = tomllib.load(open(sys.argv[1], "rb")); print(next(s["p95"] for s in c["slo"] if "tool" not in s))' config/compose-soak.toml)"

# ---- the notification sink and Alertmanager ------------------------------------------------------
"$PY" scripts/e2e/webhook.py "$tmp/webhook.port" "$tmp/webhook.jsonl" >"$tmp/webhook.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 40); do [ -s "$tmp/webhook.port" ] && break; sleep 0.25; done
[ -s "$tmp/webhook.port" ] || die "the webhook receiver did not start"
SINK="http://127.0.0.1:$(cat "$tmp/webhook.port")"
wait_http "$SINK/" 10 "notification sink"

"${CHECK[@]}" gen-alertmanager alertmanager/alertmanager.yml "$tmp/alertmanager.yml" "$SINK" \
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
"$BIN" "${MOCK_ARGS[@]}" >"$tmp/mock.log" 2>&1 &
MOCK_PID=$!
PIDS+=("$MOCK_PID")
MOCK_T0=$SECONDS
wait_http "http://127.0.0.1:$MOCK_PORT/healthz" 30 "mock MCP server"

"$BIN" "${SOAK_ARGS[@]}" >"$tmp/run.log" 2>&1 &
RUN_PID=$!
PIDS+=("$RUN_PID")
wait_http "http://127.0.0.1:$SOAK_PORT/readyz" 30 "mcp-soak /readyz"

check wait-scrape "$PROM" 30

# ---- healthy part: no error, nothing may fire --------------------------------------------------------
healthy_left=$((MOCK_T0 + HEALTHY_S - 3 - SECONDS))
[ "$healthy_left" -gt 10 ] || die "startup took too long: only ${healthy_left}s of the healthy part left"
step "healthy part: watching the alerts for ${healthy_left}s (degradation at +${HEALTHY_S}s)"
check healthy "$PROM" "$healthy_left"

# ---- degraded part: latency and error alerts fire and reach the routed receivers ---------------------
while [ $((SECONDS - MOCK_T0)) -lt "$HEALTHY_S" ]; do sleep 0.5; done
step "degraded part: the compose degradation; waiting for the alerts (at most 90s)"
# The sustained alert fires late in the degradation and resolves soon after it: watch for it (and the
# inhibition it causes) from the start, next to the other checks.
"${CHECK[@]}" inhibition "$PROM" "http://127.0.0.1:$AM_PORT" "$tmp/webhook.jsonl" 100 &
INH_PID=$!
check degraded "$PROM" "$tmp/webhook.jsonl" 90 "$SLO_P95"
step "the routes: every alert to the webhook and Slack, critical ones to PagerDuty too (at most 30s)"
check routed "$tmp/webhook.jsonl" 30
step "the sustained latency alert fires and Alertmanager inhibits the 5m one"
wait "$INH_PID" || FAILURES=$((FAILURES + 1))

step "every mcp_soak_* name used by the dashboards and rules is in the scraped /metrics"
check metric-names "http://127.0.0.1:$SOAK_PORT/metrics"

# ---- every PromQL expression of the dashboards and rules --------------------------------------------
step "every dashboard query and rule expression, in the real Prometheus"
check queries "$PROM" "$tmp/rules"

# ---- the mock goes away: the target is unreachable ---------------------------------------------------
step "stopping the mock: McpSoakTargetUnreachable must fire and page (at most 40s)"
kill -TERM "$MOCK_PID"
check unreachable "$PROM" "$tmp/webhook.jsonl" 40

# ---- clean end of the run: SIGTERM, summary, verdict, and silence ----------------------------------
step "SIGTERM to mcp-soak run"
kill -TERM "$RUN_PID"
deadline=$((SECONDS + 60))
while kill -0 "$RUN_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
if kill -0 "$RUN_PID" 2>/dev/null; then
  step "FAIL: mcp-soak run did not exit within 60s of SIGTERM"
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
step "after the clean stop: no crash alert, the run's alerts resolve (watching 25s)"
check clean-stop "$PROM" 25

if [ "$FAILURES" -gt 0 ]; then
  die "$FAILURES assertion group(s) failed (lines marked FAIL above); took $((SECONDS))s"
fi
step "PASS: ops end-to-end test passed in ${SECONDS}s"
