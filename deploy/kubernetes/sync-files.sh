#!/usr/bin/env bash
# Copies the one source of the Prometheus rules (prometheus/rules/*.yml) and the Grafana dashboards
# (grafana/dashboards/*.json) into the Helm chart (a chart cannot read files outside its folder).
#   deploy/kubernetes/sync-files.sh          write the copies
#   deploy/kubernetes/sync-files.sh --check  exit 1, naming the files, when a copy is stale or missing
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
chart="$root/deploy/kubernetes/mcp-soak"
check=false
[[ "${1:-}" == "--check" ]] && check=true

stale=0
sync_dir() { # sync_dir SOURCE_DIR GLOB DEST_DIR
  local src="$1" glob="$2" dest="$3" f name
  mkdir -p "$dest"
  for f in "$src"/$glob; do
    name="$(basename "$f")"
    if ! cmp -s "$f" "$dest/$name"; then
      if $check; then
        echo "stale: ${dest#"$root"/}/$name differs from ${f#"$root"/}" >&2
        stale=1
      else
        cp "$f" "$dest/$name"
      fi
    fi
  done
  for f in "$dest"/$glob; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f")"
    if [[ ! -e "$src/$name" ]]; then
      if $check; then
        echo "stale: ${dest#"$root"/}/$name has no source in ${src#"$root"/}" >&2
        stale=1
      else
        rm "$f"
      fi
    fi
  done
}
sync_dir "$root/prometheus/rules" "*.yml" "$chart/files/rules"
sync_dir "$root/grafana/dashboards" "*.json" "$chart/files/dashboards"
if [[ $stale -ne 0 ]]; then
  echo "run deploy/kubernetes/sync-files.sh to refresh the chart's copies" >&2
  exit 1
fi
