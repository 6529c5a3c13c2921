#!/usr/bin/env bash
# Prints a copy of the shipped rules with every time window shortened, for tests that need alerts to
# fire within seconds instead of minutes. The shipped file is never changed.
#
#   prometheus/fast-windows.sh [FACTOR] [MIN_SECONDS] < prometheus/rules/mcp-soak.yml > fast/mcp-soak.yml
#
# Plain text substitution: every range selector `[5m]` and every `for: 2m` is divided by FACTOR
# (default 15) and written in whole seconds, never below MIN_SECONDS (default 4; keep it at least 2
# scrape intervals so rate() has two samples). With the defaults: 1m→4s, 2m→8s, 5m→20s, 30m→120s,
# 1h→240s, 6h→1440s; for: 1m→4s, 2m→8s, 3m→12s, 5m→20s, 15m→60s. Recorded series keep their names
# (`…:p95_5m` then holds a 20s window). Thresholds (SLO gauges, the 100ms lag, 50% connect errors)
# do not change.
set -euo pipefail
factor="${1:-15}"
min="${2:-4}"
[[ "$factor" =~ ^[0-9]+$ && "$factor" -ge 1 ]] || { echo "fast-windows.sh: FACTOR must be a positive integer, got '$factor'" >&2; exit 2; }
[[ "$min" =~ ^[0-9]+$ ]] || { echo "fast-windows.sh: MIN_SECONDS must be an integer, got '$min'" >&2; exit 2; }
FACTOR="$factor" MIN="$min" perl -pe '
  sub d { my ($n, $u) = @_;
          my $s = $n * ({s => 1, m => 60, h => 3600}->{$u}) / $ENV{FACTOR};
          $s = $ENV{MIN} if $s < $ENV{MIN};
          return int($s + 0.5) . "s"; }
  s{\[(\d+)([smh])\]}{"[" . d($1, $2) . "]"}ge;
  s{^(\s*for:\s*)(\d+)([smh])\s*$}{$1 . d($2, $3) . "\n"}e;
'
