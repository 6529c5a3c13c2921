#!/usr/bin/env bash
# The distributed path on this machine (no cluster): the chart's Indexed Job started as Kubernetes
# would start it, N shards against one mock, a real Prometheus scraping them all with the shipped
# rules; summed rate within 1 %, one run in the rules, a killed shard alerted on, summaries merged.
# See scripts/k8s/shards_e2e.py. Needs Debian's prometheus and the k8senv peer (install-test-deps.sh)
# and a built mcp-soak (scripts/test.sh builds it first). Takes about 80 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${MCP_SOAK_PEERS:-$PWD/.peers}"
BIN="${MCP_SOAK_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/mcp-soak}"
[ -x "$BIN" ] || { echo "no mcp-soak binary at $BIN: cargo build first" >&2; exit 1; }
[ -x "$PEERS/k8senv/bin/python" ] || { echo "missing $PEERS/k8senv: run scripts/install-test-deps.sh" >&2; exit 1; }
command -v prometheus >/dev/null || { echo "prometheus not found: run scripts/install-test-deps.sh" >&2; exit 1; }
work="$(mktemp -d)"
keep() { echo "logs kept in $work" >&2; }
trap 'rc=$?; if [ $rc -eq 0 ]; then rm -rf "$work"; else keep; fi' EXIT
"$PEERS/k8senv/bin/python" scripts/k8s/shards_e2e.py "$PWD" "$BIN" "$work"
echo "shards: 1 passed, 0 failed"
