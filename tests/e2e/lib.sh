# tests/e2e/lib.sh -- shared helpers for the end-to-end tests.
#
# Source it from a test run at the repo root:  bash tests/e2e/<name>.sh
#   OSIRIS      the binary under test (default ./osiris), made absolute here
#   E2E_KEEP=1  keep the temporary work directory (its path is printed)
#   E2E_VERBOSE=1  print passing checks too
#
# Every test works in its own case directory under one mktemp -d directory,
# copies what it needs from tests/e2e/fixtures/ or examples/, cd's there and
# runs "$OSIRIS" by absolute path.  The script ends with `finish`, which
# prints exactly one line "N passed, N failed" and exits 1 on any failure.
# Only bash, coreutils, grep and python3 (stdlib) are used.

set -u

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_FIXTURES=$E2E_ROOT/tests/e2e/fixtures
E2E_NAME=$(basename "$0" .sh)

OSIRIS=${OSIRIS:-./osiris}
case $OSIRIS in
  /*) ;;
  */*) OSIRIS=$PWD/$OSIRIS ;;
  *) OSIRIS=$(command -v "$OSIRIS" || echo "$PWD/$OSIRIS") ;;
esac

# python3 resolved once: version-manager shims (pyenv) cost ~1 s a call.
# -S: no site import (stdlib only), another ~0.3 s a call.
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
py() { "$PY" -S "$@"; }

E2E_PASS=0
E2E_FAIL=0
E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/osiris-e2e-$E2E_NAME.XXXXXX")
if [ "${E2E_KEEP:-0}" = 1 ]; then
  echo "# work directory kept: $E2E_WORK" >&2
else
  trap 'rm -rf "$E2E_WORK"' EXIT
fi

if [ ! -x "$OSIRIS" ]; then
  echo "FAIL: binary not found or not executable: $OSIRIS (build it with make)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# ------------------------------------------------------------- counting
# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; 1 when
# SECONDS pass first.  The bound is generous: it only ends a broken run (a
# test holds the pipeline at a known point and waits for that, not for time).
wait_until() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.05
  done
}

pass() {
  E2E_PASS=$((E2E_PASS + 1))
  if [ "${E2E_VERBOSE:-0}" = 1 ]; then echo "  ok: $*" >&2; fi
}

fail() {
  E2E_FAIL=$((E2E_FAIL + 1))
  echo "FAIL [$E2E_NAME/${E2E_CASE:-}]: $*" >&2
}

# Print the summary line and exit with the right status.
finish() {
  echo "$E2E_PASS passed, $E2E_FAIL failed"
  if [ "$E2E_FAIL" -ne 0 ]; then exit 1; fi
  exit 0
}

# ------------------------------------------------------------- cases
# new_case NAME: a fresh directory for one test case; cd into it.
new_case() {
  E2E_CASE=$1
  mkdir -p "$E2E_WORK/$1"
  cd "$E2E_WORK/$1" || { fail "cannot enter $E2E_WORK/$1"; return 1; }
}

# copy_example: the movies example with its data at the same relative paths.
copy_example() {
  mkdir -p examples/movies/data
  cp "$E2E_ROOT/examples/movies/pipeline.yaml" examples/movies/
  cp "$E2E_ROOT/examples/movies/data/movies.csv" examples/movies/data/
}

# copy_fixture REL [DEST]: copy tests/e2e/fixtures/REL (file or directory).
copy_fixture() {
  local dest=${2:-.}
  mkdir -p "$dest"
  cp -R "$E2E_FIXTURES/$1" "$dest/"
}

# run_osiris ARGS...: run the binary; sets RC, and OUT / ERR (file paths,
# numbered per call so earlier output stays readable).
E2E_CALLS=0
run_osiris() {
  E2E_CALLS=$((E2E_CALLS + 1))
  OUT=$PWD/.out.$E2E_CALLS
  ERR=$PWD/.err.$E2E_CALLS
  RC=0
  timeout "${E2E_TIMEOUT:-120}" "$OSIRIS" "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
  if [ "$RC" -ge 124 ] && [ "$RC" -ne 125 ]; then
    echo "  note: osiris $* ended with status $RC (timeout or signal)" >&2
  fi
  return 0
}

# newest_run_dir [LOGS]: the most recently modified logs/run_*/ directory.
newest_run_dir() {
  local logs=${1:-logs} d
  d=$(ls -1td "$logs"/run_*/ 2>/dev/null | head -n 1)
  echo "${d%/}"
}

# ------------------------------------------------------------- assertions
# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
  if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected [$1], got [$2]"; fi
}

# assert_exit EXPECTED MESSAGE  (checks $RC, shows stderr on mismatch)
assert_exit() {
  if [ "$RC" = "$1" ]; then
    pass "$2"
  else
    fail "$2: expected exit $1, got $RC; stderr: $(head -c 600 "$ERR" 2>/dev/null)"
  fi
}

# assert_file PATH
assert_file() {
  if [ -f "$1" ]; then pass "file $1"; else fail "missing file $1"; fi
}

# assert_no_file PATH
assert_no_file() {
  if [ ! -e "$1" ]; then pass "no file $1"; else fail "unexpected file $1"; fi
}

# assert_contains FILE STRING  (fixed string)
assert_contains() {
  if [ -f "$1" ] && grep -qF -- "$2" "$1"; then
    pass "$1 contains $2"
  else
    fail "${3:-$1 should contain [$2]}; content: $(head -c 600 "$1" 2>/dev/null)"
  fi
}

# assert_contains_i FILE STRING  (fixed string, any case)
assert_contains_i() {
  if [ -f "$1" ] && grep -qiF -- "$2" "$1"; then
    pass "$1 contains $2"
  else
    fail "${3:-$1 should contain [$2] (any case)}; content: $(head -c 600 "$1" 2>/dev/null)"
  fi
}

# assert_matches FILE ERE
assert_matches() {
  if [ -f "$1" ] && grep -qE -- "$2" "$1"; then
    pass "$1 matches $2"
  else
    fail "${3:-$1 should match /$2/}; content: $(head -c 600 "$1" 2>/dev/null)"
  fi
}

# assert_not_contains FILE STRING
assert_not_contains() {
  if [ -f "$1" ] && grep -qF -- "$2" "$1"; then
    fail "${3:-$1 should not contain [$2]}"
  else
    pass "$1 lacks $2"
  fi
}

# assert_files_equal EXPECTED ACTUAL MESSAGE  (byte for byte)
assert_files_equal() {
  if cmp -s "$1" "$2"; then
    pass "$3"
  else
    fail "$3: files differ"
    diff -u "$1" "$2" 2>&1 | head -n 30 >&2
  fi
}

# json_get FILE EXPR: evaluate EXPR over the parsed JSON bound to `d`
# (e.g. 'd["error"]["step_id"]').  Strings print raw, everything else as
# compact JSON (true, null, 3, {...}).  Prints "<error: ...>" when the
# file does not parse or the expression fails.
json_get() {
  py - "$1" "$2" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
    v = eval(sys.argv[2], {"d": d, "len": len, "sorted": sorted})
    print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":")))
except Exception as e:
    print("<error: %s: %s>" % (type(e).__name__, e))
PY
}

# py_check SCRIPT ARGS...: run a python3 checker that prints one line per
# check, "ok MESSAGE" or "not ok MESSAGE"; other lines are shown as notes.
# A checker that crashes counts as one failure.
py_check() {
  local script=$1 line out rc=0
  shift
  out=$(py -c "$script" "$@" 2>&1) || rc=$?
  while IFS= read -r line; do
    case $line in
      "ok "*) pass "${line#ok }" ;;
      "not ok "*) fail "${line#not ok }" ;;
      "") ;;
      *) echo "  note: $line" >&2 ;;
    esac
  done <<<"$out"
  if [ "$rc" -ne 0 ]; then fail "python checker exited $rc"; fi
}
