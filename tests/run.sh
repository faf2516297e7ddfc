#!/usr/bin/env bash
# Run every test program and script; each prints "N passed, N failed" as
# its last line.  Prints the sum as the last line; exits 1 on any failure.
#   tests/run.sh           everything (make test)
#   tests/run.sh --quick   unit tests, embedding example, symbols, end-to-end
#                          tests: no servers, no static worker, no npm (make test-quick)
set -u
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && quick=1
total_pass=0 total_fail=0 broken=()
export OSIRIS="$PWD/osiris"
export OSIRIS_WORKER="$PWD/osiris-worker"

run_one() { # name, command...
  local name=$1; shift
  local out rc last p f
  out=$("$@" 2>&1); rc=$?
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$last" ]; then
    printf '%s\n' "$out" | tail -n 30
    echo "  $name: no result line (exit $rc)"
    broken+=("$name"); total_fail=$((total_fail + 1)); return
  fi
  p=${last%% passed*}; f=${last#*, }; f=${f%% failed*}
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
    printf '%s\n' "$out" | grep -E 'FAIL|fail|error|ERROR' | head -n 40
    broken+=("$name")
  fi
  printf '  %-34s %s\n' "$name" "$last"
}

# The database suite mostly waits on its servers: it runs in the background
# from the start, and its result is reported (and counted) at the end.
if [ "$quick" = 0 ]; then
  db_log=$(mktemp "${TMPDIR:-/tmp}/osiris-db-tests.XXXXXX")
  (bash tests/db/run.sh >"$db_log" 2>&1; echo $? >"$db_log.rc") &
  db_pid=$!
  trap 'kill "$db_pid" 2>/dev/null; wait "$db_pid" 2>/dev/null; rm -f "$db_log" "$db_log.rc"' EXIT
fi

echo "unit tests"
for t in tests/bin/test_*; do [ -x "$t" ] && run_one "$(basename "$t")" "$t"; done
echo "unit tests under ASan+UBSan"
for t in tests/bin/asan/test_*; do [ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 run_one "asan/$(basename "$t")" "$t"; done
echo "allocation failures (OSIRIS_FAULT_INJECTION, ASan+LeakSanitizer)"
for t in tests/bin/fault/test_*; do [ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 run_one "fault/$(basename "$t")" "$t"; done
echo "threaded tests under ThreadSanitizer"
for t in tests/bin/tsan/test_*; do [ -x "$t" ] && TSAN_OPTIONS=halt_on_error=1 run_one "tsan/$(basename "$t")" "$t"; done
echo "embedding example"
run_one embed tests/bin/embed
echo "symbols"
run_one check_symbols bash tests/check_symbols.sh
echo "end-to-end tests"
# These also need node and the npm packages of a fake (tests/fake_graphql):
# make test runs them after the quick subset.
e2e_npm=" graphql.sh "
for t in tests/e2e/*.sh; do
  [ "$(basename "$t")" = lib.sh ] && continue
  case $e2e_npm in *" $(basename "$t") "*) continue ;; esac
  run_one "e2e/$(basename "$t")" bash "$t"
done

if [ "$quick" = 1 ]; then
  if [ "${#broken[@]}" -gt 0 ]; then echo "failing: ${broken[*]}"; fi
  echo "$total_pass passed, $total_fail failed"
  [ "$total_fail" -eq 0 ] && [ "${#broken[@]}" -eq 0 ]
  exit
fi

echo "end-to-end tests against fakes on node (the fake checked with its client first)"
run_one fake_graphql/client bash tests/fake_graphql/run.sh
for t in $e2e_npm; do run_one "e2e/$t" bash "tests/e2e/$t"; done
echo "static worker"
run_one remote/static bash tests/remote/static.sh
echo "remote execution: --sandbox local and --e2b against a fake E2B"
run_one fake_e2b/sdk bash tests/fake_e2b/run.sh
for t in parity secrets faults reattach spill_parity stream_parity hostile runs_diff_flow e2b_env graphql posthog fanout timeout; do run_one "remote/$t" bash "tests/remote/$t.sh"; done
echo "the fake PostHog query API against PostHog's API reference and its own HogQL parser"
run_one fake_posthog/reference bash tests/fake_posthog/run.sh
echo "duckdb.processor on DuckDB: the dialect against DuckDB's own answers, remote parity"
run_one duckdb bash tests/duckdb/run.sh
run_one duckdb/remote bash tests/duckdb/remote.sh
echo "fuzzing: every seed and kept input replayed, then each target briefly (tests/fuzz)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} run_one fuzz bash tests/fuzz/run.sh
echo "Parquet, read by independent readers (hyparquet, DuckDB)"
run_one parquet bash tests/parquet/run.sh
echo "database tests (throwaway MariaDB and PostgreSQL on loopback; started first)"
wait "$db_pid"
run_one db bash -c 'cat "$1"; exit "$(cat "$1.rc" 2>/dev/null || echo 1)"' _ "$db_log"

if [ "${#broken[@]}" -gt 0 ]; then echo "failing: ${broken[*]}"; fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "${#broken[@]}" -eq 0 ]
