#!/usr/bin/env bash
# mcp-soak benchmarks side by side with wrk and oha (see BENCHMARKS.md).
#
#   bench/run.sh            # default: medians of 3, ~10 minutes
#   bench/run.sh --quick    # 1 run each, short windows, ~3 minutes
#   bench/run.sh --only efficiency,latency --runs 5
#   bench/run.sh --long     # adds the 10-minute memory run
#
# Installs wrk (Debian package, via apt-get) and oha (`cargo install oha --locked` into bench/.tools)
# when missing, builds the release binary, then runs bench/bench.py. Results land in bench/out/<stamp>/.
# Nothing here fails on a timing; the exit code is non-zero only when the tools cannot be set up.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk with apt-get" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >&2
fi

export PATH="$PWD/bench/.tools/bin:$PATH"
if ! command -v oha >/dev/null 2>&1; then
    echo "bench: installing oha into bench/.tools (cargo install oha --locked)" >&2
    cargo install oha --locked --root bench/.tools >&2
fi

for tool in curl python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is required" >&2; exit 2; }
done

echo "bench: cargo build --release" >&2
cargo build --release --quiet

exec python3 bench/bench.py "$@"
