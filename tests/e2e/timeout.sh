#!/usr/bin/env bash
# tests/e2e/timeout.sh -- run and step timeouts of a local run.
#
# Every run that must time out is held at a known point, on any machine:
# a SQL step that never ends (a recursive CTE without a bound, on SQLite
# and on DuckDB) or a CSV input that is a FIFO the test never opens for
# writing (osiris blocks in open(), where only a signal reaches it), or
# one whose writer sends the header and then nothing (blocked in read()).
# Only the timeout can end such a run: each must end with exit 1,
# status.json reason timed_out naming the step, the message naming the
# bound (--timeout, the pipeline's timeout, steps[i].timeout), the
# step_timeout event, the steps after it skipped, no output file and no
# temporary file.  The `timeout` command around each run is only a hang
# guard.  Also: validation of the timeout keys (line:col), the compiled
# manifest carrying them (run --last-compile), --param values, and runs
# well inside their bounds left undisturbed.
#   bash tests/e2e/timeout.sh      (from the repo root, after make)
. "$(dirname "$0")/lib.sh"

E2E_TIMEOUT=90

# status RUN: "reason step code" of status.json
status_of() {
  json_get "$1/status.json" 'd["reason"]+" "+str((d.get("error") or {}).get("step_id"))+" "+str((d.get("error") or {}).get("code"))'
}

# event_field RUN EVENT STEP EXPR: EXPR over the first such event (as e)
event_field() {
  py - "$1/events.jsonl" "$2" "$3" "$4" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e.get("event") == sys.argv[2] and e.get("step_id") == sys.argv[3]:
        v = eval(sys.argv[4], {"e": e})
        print(v if isinstance(v, str) else json.dumps(v))
        break
else:
    print("<no %s event for %s>" % (sys.argv[2], sys.argv[3]))
PY
}

# expect_timed_out STEP BOUND MESSAGE-SUBSTRING [SKIPPED-STEP]
expect_timed_out() {
  local run
  assert_exit 1 "exit 1"
  run=$(newest_run_dir)
  if [ -f "$run/status.json" ]; then pass "status.json written"; else fail "status.json written"; return; fi
  assert_eq "timed_out $1 OSIRIS_ECANCEL" "$(status_of "$run")" "status.json: reason, step, code"
  assert_contains "$run/status.json" "$3"
  assert_eq "$2" "$(event_field "$run" step_timeout "$1" 'e["bound"]')" "step_timeout names the bound"
  assert_matches "$run/events.jsonl" '"event":"step_timeout","step_id":"'"$1"'".*"elapsed_ms":[0-9]+'
  assert_contains "$run/events.jsonl" '"event":"run_complete"'
  assert_contains "$ERR" "timeout of"
  if [ -n "${4:-}" ]; then
    assert_eq "step $1 failed" "$(event_field "$run" step_skipped "$4" 'e["reason"]')" "step $4 skipped"
  fi
  assert_no_file out
  left=$(find . -name '*.tmp' -o -name 'duckdb-*' | head -n 5)
  assert_eq "" "$left" "no temporary file left"
}

# spin_pipeline FILE ENGINE [STEP-TIMEOUT] [PIPELINE-TIMEOUT]
spin_pipeline() {
  local comp=sql.processor
  [ "$2" = duckdb ] && comp=duckdb.processor
  mkdir -p data
  printf 'id\n1\n2\n' >data/ids.csv
  {
    echo 'oml_version: "0.1.0"'
    echo "name: spin"
    [ -n "${4:-}" ] && echo "timeout: $4"
    cat <<YAML
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/ids.csv}
  - id: spin
    component: $comp
    mode: transform
    needs: [read]
YAML
    [ -n "${3:-}" ] && echo "    timeout: $3"
    cat <<'YAML'
    config:
      query: >
        WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)
        SELECT count(*) AS n FROM r
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [spin]
    config: {path: out/never.csv}
YAML
  } >"$1"
}

# fifo_pipeline FILE [STEP-TIMEOUT]: read in.csv (a FIFO), write out/out.csv
fifo_pipeline() {
  {
    cat <<'YAML'
oml_version: "0.1.0"
name: fifo
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
YAML
    [ -n "${2:-}" ] && echo "    timeout: $2"
    cat <<'YAML'
    config: {path: in.csv}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [extract]
    config: {path: out/out.csv}
YAML
  } >"$1"
}

# ------------------------------------------------------------- SQL that never ends
new_case never-ends
spin_pipeline p.yaml sqlite
run_osiris run p.yaml --timeout 2
expect_timed_out spin --timeout "the run exceeded its timeout of 2 s (--timeout)" write

new_case step-timeout-sqlite
spin_pipeline p.yaml sqlite 1
run_osiris run p.yaml
expect_timed_out spin "steps[1].timeout" "step spin exceeded its timeout of 1 s (steps[1].timeout)" write
assert_eq 1 "$(event_field "$(newest_run_dir)" step_timeout spin 'e["timeout_s"]')" "step_timeout gives the bound in seconds"
assert_eq "success failed skipped" \
  "$(json_get "$(newest_run_dir)/run_card.json" '" ".join(s["status"] for s in d["steps"])')" \
  "run_card.json: the step before it completed, the step after it skipped"

if [ -f "$E2E_ROOT/vendor/duckdb/libduckdb.so" ] || [ -n "${OSIRIS_DUCKDB_LIB:-}" ]; then
  new_case step-timeout-duckdb
  spin_pipeline p.yaml duckdb 1
  run_osiris run p.yaml
  expect_timed_out spin "steps[1].timeout" "step spin exceeded its timeout of 1 s (steps[1].timeout)" write
  run=$(newest_run_dir)
  assert_no_file "$run/tmp/duckdb-spin"
else
  echo "  note: DuckDB is not there (./build.sh fetches it): its case is not run" >&2
fi

# The smaller bound wins, whichever names it.
new_case pipeline-timeout-smaller
spin_pipeline p.yaml sqlite "" 1.5
run_osiris run p.yaml --timeout 600
expect_timed_out spin timeout "the run exceeded its timeout of 1.5 s (timeout in the pipeline)" write

new_case cli-timeout-smaller
spin_pipeline p.yaml sqlite 600 600
run_osiris run p.yaml --timeout 1
expect_timed_out spin --timeout "the run exceeded its timeout of 1 s (--timeout)" write

# The compiled manifest carries the bounds: run --last-compile honours them.
new_case last-compile
spin_pipeline p.yaml sqlite 1
run_osiris compile p.yaml
assert_exit 0 "compiles"
manifest=$(cat logs/.last_compile 2>/dev/null)
assert_contains "$manifest" "timeout: 1"
run_osiris run --last-compile
expect_timed_out spin "steps[1].timeout" "step spin exceeded its timeout of 1 s (steps[1].timeout)" write

# --dry-run shows the bounds: the run's (the smaller one, and where it
# comes from), each step's, the E2B sandbox lifetime (bound rounded up + 60).
new_case dry-run
spin_pipeline p.yaml sqlite 3 7.5
run_osiris run p.yaml --dry-run --e2b --json --timeout 20
assert_exit 0 "dry run"
assert_eq "7.5 timeout 68 3" \
  "$(json_get "$OUT" '" ".join(str(x) for x in [d["run_timeout_s"], d["run_timeout_from"], d["timeout_s"], d["steps"][1]["timeout_s"]])')" \
  "the plan's bounds"
run_osiris run p.yaml --dry-run --timeout 5
assert_contains "$OUT" "timeout:   5 s (--timeout)"
assert_contains "$OUT" "(timeout 3 s)"
assert_no_file logs

# A --param value is a string: a number in it counts.
new_case param
spin_pipeline p.yaml sqlite '${params.t}'
sed -i 's/^name: spin/name: spin\nparams:\n  t: {default: 600}/' p.yaml
run_osiris run p.yaml --param t=1
expect_timed_out spin "steps[1].timeout" "step spin exceeded its timeout of 1 s (steps[1].timeout)" write

# ------------------------------------------------------------- a FIFO nobody writes
# Blocked in open() (nobody opens it for writing) or in read() (a writer
# that sent the header and then nothing); the extractor in its own thread
# (streamed to the writer) or on the main thread (OSIRIS_STREAM=0).
for variant in stream:open:step whole:open:step stream:read:run whole:open:run stream:open:pipeline; do
  IFS=: read -r mode hold bound <<<"$variant"
  new_case "fifo_${mode}_${hold}_$bound"
  mkfifo in.csv
  case $bound in
    step) fifo_pipeline p.yaml 1; args=() ;;
    run) fifo_pipeline p.yaml; args=(--timeout 1) ;;
    pipeline) fifo_pipeline p.yaml; sed -i 's/^name: fifo/name: fifo\ntimeout: 1/' p.yaml; args=() ;;
  esac
  writer_pid=
  if [ "$hold" = read ]; then
    # holds the FIFO open for writing after one line, until killed
    "$PY" -S -c 'import os, time
fd = os.open("in.csv", os.O_WRONLY)
os.write(fd, b"id,name\n")
time.sleep(3600)' &
    writer_pid=$!
  fi
  if [ "$mode" = whole ]; then export OSIRIS_STREAM=0; fi
  run_osiris run p.yaml "${args[@]}"
  unset OSIRIS_STREAM
  case $bound in
    step) expect_timed_out extract "steps[0].timeout" "step extract exceeded its timeout of 1 s (steps[0].timeout)" ;;
    run) expect_timed_out extract --timeout "the run exceeded its timeout of 1 s (--timeout)" ;;
    pipeline) expect_timed_out extract timeout "the run exceeded its timeout of 1 s (timeout in the pipeline)" ;;
  esac
  if [ -n "$writer_pid" ]; then kill "$writer_pid" 2>/dev/null; wait "$writer_pid" 2>/dev/null; fi
done

# ------------------------------------------------------------- inside the bounds
new_case inside-timeout
mkdir -p data
printf 'id\n1\n2\n' >data/ids.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: quick
timeout: 600
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    timeout: 600
    config: {path: data/ids.csv}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    timeout: 0.5e3
    config: {path: out/ids.csv}
YAML
run_osiris run p.yaml --timeout 600
assert_exit 0 "a run inside its bounds succeeds"
assert_files_equal data/ids.csv out/ids.csv "its output is complete"
assert_not_contains "$(newest_run_dir)/events.jsonl" step_timeout

# ------------------------------------------------------------- bad values
new_case bad-value
run_osiris run p.yaml --timeout 0
assert_exit 2 "--timeout 0 is a usage error"

new_case bad-keys
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: bad
timeout: [1]
steps:
  - id: a
    component: filesystem.csv_extractor
    mode: read
    timeout: -2
    config: {path: a.csv}
  - id: b
    component: filesystem.csv_writer
    mode: write
    needs: [a]
    timeout: soon
    config: {path: b.csv}
  - id: c
    component: filesystem.csv_writer
    mode: write
    needs: [a]
    timeout: 0
    config: {path: c.csv}
YAML
run_osiris validate p.yaml
assert_exit 2 "validate rejects the timeouts"
run_osiris compile p.yaml
assert_exit 2 "compile rejects them"
assert_contains "$ERR" "p.yaml:3:10: timeout: timeout must be a positive number of seconds, got list"
assert_contains "$ERR" "p.yaml:8:14: steps[0].timeout: timeout must be a positive number of seconds (at most 31536000), got -2"
assert_contains "$ERR" "p.yaml:14:14: steps[1].timeout: timeout must be a positive number of seconds (at most 31536000), got 'soon'"
assert_contains "$ERR" "p.yaml:20:14: steps[2].timeout: timeout must be a positive number of seconds (at most 31536000), got 0"
run_osiris validate p.yaml --json
assert_eq "invalid_timeout steps[0].timeout" \
  "$(json_get "$OUT" '[e["type"]+" "+e["location"] for e in d["errors"] if e["location"]=="steps[0].timeout"][0]')" \
  "validate --json: type and location"

# A manifest edited afterwards is checked too.
new_case bad-manifest
spin_pipeline p.yaml sqlite 5
run_osiris compile p.yaml
manifest=$(cat logs/.last_compile 2>/dev/null)
sed -i 's/^  timeout: 5$/  timeout: -5/' "$manifest"
run_osiris run --last-compile
assert_exit 1 "a manifest with a bad timeout is refused"
assert_matches "$ERR" "manifest.yaml:[0-9]+:[0-9]+: steps\[1\]\.timeout must be a positive number"
assert_eq preflight_failed "$(json_get "$(newest_run_dir)/status.json" 'd["reason"]')" "before any step runs"

finish
