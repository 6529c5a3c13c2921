#!/usr/bin/env bash
# Runs every test mcp-soak has: installs the peers (Debian's prometheus, the npm and PyPI MCP servers,
# the conformance suite), builds once, runs the Rust tests (unit, integration against real servers on
# loopback), the promtool checks and the conformance scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
export MCP_SOAK_PEERS="$PWD/.peers"

# Tools the suite needs that install-test-deps.sh does not install: fail now, not after the build.
for tool in cargo npm python3 curl perl unshare mkfifo; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool not found (the suite needs it)" >&2; exit 1; }
done
python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "test.sh: python3 cannot make a venv (Debian: python3-venv)" >&2; exit 1; }

bash scripts/install-test-deps.sh

echo "== build"
cargo build --all-targets --locked

echo "== rust tests"
cargo test --all-targets --locked --no-fail-fast -- --test-threads=2

for extra in scripts/test-*.sh; do
  [ -e "$extra" ] || continue
  echo "== $extra"
  bash "$extra"
done
echo "== all tests passed"
