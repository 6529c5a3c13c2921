#!/usr/bin/env bash
# Checks the report files end to end with real tools. Run by scripts/test.sh (after the build):
#  1. `mcp-soak demo --degrade` writes summary, HTML, JUnit and Markdown (SLOs fail: exit 1);
#     a run stopped by SIGTERM writes them too, its JUnit failing the "run completed" case.
#  2. The JUnit files validate against tests/fixtures/junit.xsd (python3 + lxml, Debian python3-lxml).
#  3. Headless Chromium (Debian's chromium) opens the HTML reports from disk with no network at all
#     (a fresh network namespace), logs no console message, and saves screenshots under
#     target/reports/. A control page that does log an error must be caught, so the check can fail.
# Fails loudly; Chromium is skipped (with a banner) only when no chromium package exists for this system.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '[reports] %s\n' "$*"; }
die() { printf '[reports] FAILED: %s\n' "$*" >&2; exit 1; }

BIN="${CARGO_TARGET_DIR:-target}/debug/mcp-soak"
[ -x "$BIN" ] || cargo build --quiet
[ -x "$BIN" ] || die "$BIN not built"
OUT="${CARGO_TARGET_DIR:-target}/reports"
rm -rf "$OUT" && mkdir -p "$OUT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

common=(--metrics-listen none --linger 0s --quiet)
step "mcp-soak demo --degrade writes every report (expect exit 1: SLOs fail)"
set +e
"$BIN" demo --degrade "${common[@]}" --summary "$OUT/run.json" --html "$OUT/run.html" \
  --junit "$OUT/run.xml" --markdown "$OUT/run.md" >"$tmp/demo.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$tmp/demo.out" >&2; die "demo --degrade exited $rc, expected 1"; }
for f in run.json run.html run.xml run.md; do [ -s "$OUT/$f" ] || die "$f not written"; done
grep -q 'SLOs failed' "$OUT/run.md" || die "run.md does not say the SLOs failed"

step "a run stopped by SIGTERM still writes its reports"
GITHUB_STEP_SUMMARY="$OUT/step-summary.md" "$BIN" demo "${common[@]}" --summary "$OUT/term.json" \
  --html "$OUT/term.html" --junit "$OUT/term.xml" >"$tmp/term.out" 2>&1 &
pid=$!
# TERM once the schedule runs (the handlers are installed before it starts): a fixed sleep could
# land before that on a loaded machine, and the default SIGTERM action would write nothing.
for _ in $(seq 600); do
  grep -q 'starting the schedule' "$tmp/term.out" && break
  kill -0 "$pid" 2>/dev/null || die "demo ended before its schedule started: $(tail -5 "$tmp/term.out")"
  sleep 0.1
done
grep -q 'starting the schedule' "$tmp/term.out" || die "demo did not start its schedule within 60 s"
sleep 2 # some traffic to report
kill -TERM "$pid"
wait "$pid" || true
for f in term.json term.html term.xml step-summary.md; do [ -s "$OUT/$f" ] || die "$f not written after SIGTERM"; done
grep -q 'run aborted' "$OUT/term.xml" || die "term.xml does not fail the run case"

step "mcp-soak report and compare render from saved summaries"
"$BIN" report "$OUT/term.json" --markdown "$OUT/term.md" 2>/dev/null
[ -s "$OUT/term.md" ] || die "report --markdown wrote nothing"
set +e
"$BIN" compare "$OUT/term.json" "$OUT/run.json" --html "$OUT/compare.html" --markdown "$OUT/compare.md" >/dev/null
set -e
[ -s "$OUT/compare.html" ] && [ -s "$OUT/compare.md" ] || die "compare --html/--markdown wrote nothing"

step "JUnit validates against tests/fixtures/junit.xsd"
PY=""
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import lxml.etree' 2>/dev/null; then PY="$p"; break; fi
done
[ -n "$PY" ] || die "python3 with lxml not found (apt-get install python3-lxml, or scripts/install-test-deps.sh)"
"$PY" - tests/fixtures/junit.xsd "$OUT/run.xml" "$OUT/term.xml" <<'EOF' || die "JUnit does not validate"
import sys
from lxml import etree
schema = etree.XMLSchema(etree.parse(sys.argv[1]))
for path in sys.argv[2:]:
    if not schema.validate(etree.parse(path)):
        sys.exit(f"{path}: {schema.error_log}")
EOF

CHROMIUM=""
for c in chromium chromium-browser; do command -v "$c" >/dev/null && { CHROMIUM="$c"; break; }; done
if [ -z "$CHROMIUM" ]; then
  if apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    die "chromium is installable here but not installed (run scripts/install-test-deps.sh)"
  fi
  printf '\n[reports] ##############################################################\n'
  printf '[reports] SKIPPED: the headless Chromium check (no chromium package here)\n'
  printf '[reports] ##############################################################\n\n'
  step "all report checks passed (Chromium skipped)"
  exit 0
fi

# No network at all: a new network namespace (root), or a user namespace when not root.
NONET=(unshare --net)
"${NONET[@]}" true 2>/dev/null || NONET=(unshare --user --map-root-user --net)
"${NONET[@]}" true 2>/dev/null || die "cannot make a network namespace (unshare) to load the report offline"

# Loads $1 with no network; prints the page's console messages (Chromium's own chrome:// pages log
# some of their own, e.g. about the missing network: those are not the report's); screenshot to $2
# at size $3.
browse() {
  timeout 90 "${NONET[@]}" "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 --window-size="$3" \
    --screenshot="$2" "file://$(realpath "$1")" 2>&1 | grep -E ':CONSOLE.*source: file://' || true
}

step "Chromium catches a console error (control)"
cat >"$tmp/control.html" <<'EOF'
<!DOCTYPE html><html><body><script>console.error("control error")</script></body></html>
EOF
browse "$tmp/control.html" "$tmp/control.png" 800,600 | grep -q 'control error' \
  || die "Chromium logged no console message for the control page: the check below would prove nothing"

for page in run compare; do
  step "Chromium loads $page.html offline: no console messages, screenshots at 1280 px and 390 px"
  msgs="$(browse "$OUT/$page.html" "$OUT/$page-1280.png" 1280,2400)"
  [ -z "$msgs" ] || { printf '%s\n' "$msgs" >&2; die "$page.html logged console messages"; }
  browse "$OUT/$page.html" "$OUT/$page-phone.png" 390,2400 >/dev/null
  for png in "$OUT/$page-1280.png" "$OUT/$page-phone.png"; do
    size=$(stat -c %s "$png" 2>/dev/null || echo 0)
    [ "$size" -gt 20000 ] || die "$png missing or blank ($size bytes)"
  done
done
step "all report checks passed; screenshots in $OUT"
