#!/usr/bin/env bash
# Collects the summaries an Indexed Job's shards printed to their logs and merges them into one.
#   deploy/kubernetes/collect-summaries.sh JOB [NAMESPACE] > merged.json        (needs kubectl, mcp-soak)
#   deploy/kubernetes/collect-summaries.sh --from-logs LOG... > merged.json     (saved pod logs)
# Exit code: `mcp-soak merge`'s (0 SLOs held, 1 one failed, 2 the shards do not belong together).
set -euo pipefail
MCP_SOAK="${MCP_SOAK:-mcp-soak}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

extract() { # extract NAME < log: the JSON between the marker lines
  sed -n '/^----- BEGIN MCP-SOAK SUMMARY/,/^----- END MCP-SOAK SUMMARY/p' | sed '1d;$d' > "$dir/$1.json"
  [ -s "$dir/$1.json" ] || { echo "no summary in the log of $1" >&2; exit 2; }
}

if [ "${1:-}" = "--from-logs" ]; then
  shift
  for log in "$@"; do extract "$(basename "$log" .log)" < "$log"; done
else
  job="${1:?usage: $0 JOB [NAMESPACE] | --from-logs LOG...}"
  ns="${2:-default}"
  pods="$(kubectl get pods -n "$ns" -l "batch.kubernetes.io/job-name=$job" -o name)"
  [ -n "$pods" ] || { echo "no pods of job $job in namespace $ns" >&2; exit 2; }
  for pod in $pods; do kubectl logs -n "$ns" "$pod" | extract "${pod##*/}"; done
fi
"$MCP_SOAK" merge "$dir"/*.json
