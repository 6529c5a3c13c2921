#!/usr/bin/env bash
# Runs every test mcp-soak has: installs the peers (Debian's prometheus, the npm and PyPI MCP servers,
# the conformance suite), builds once, runs the Rust tests (unit, integration against real servers on
# loopback), the promtool checks and the conformance scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
export MCP_SOAK_PEERS="$PWD/.peers"

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
