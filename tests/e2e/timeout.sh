#!/usr/bin/env bash
# tests/e2e/timeout.sh -- --timeout bounds a local run.
#
# The SQL step never ends (a recursive CTE without a bound), on any
# machine: only the timeout can end the run.  It must end with exit 1,
# status.json reason timed_out naming the step, run_complete written and
# no output file.  A run well inside its timeout is not disturbed.
#   bash tests/e2e/timeout.sh      (from the repo root, after make)
. "$(dirname "$0")/lib.sh"

new_case never-ends
mkdir -p data
printf 'id\n1\n2\n' >data/ids.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: never-ends
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/ids.csv}
  - id: spin
    component: sql.processor
    mode: transform
    needs: [read]
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
start=$(date +%s)
run_osiris run p.yaml --timeout 2
secs=$(($(date +%s) - start))
[ "$RC" = 1 ] && pass || fail "exit 1 (got $RC: $(tail -2 "$ERR"))"
# a generous upper bound: the query would otherwise run forever
[ "$secs" -lt 90 ] && pass || fail "ended (${secs}s)"
RUN=$(ls -td logs/run_* 2>/dev/null | head -1)
if [ -f "$RUN/status.json" ]; then pass; else fail "status.json written"; fi
got=$(py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["reason"], (d.get("error") or {}).get("step_id"))' "$RUN/status.json" 2>/dev/null)
[ "$got" = "timed_out spin" ] && pass || fail "status.json reason timed_out at step spin (got '$got')"
grep -q 'timeout of 2 s' "$RUN/status.json" && pass || fail "the message names the timeout"
grep -q '"event":"run_complete"' "$RUN/events.jsonl" && pass || fail "run_complete written"
grep -q '"event":"step_skipped".*"step_id":"write"\|"step_id":"write".*"event":"step_skipped"' "$RUN/events.jsonl" &&
  pass || fail "the step after it is skipped"
[ ! -e out/never.csv ] && pass || fail "no output file"

new_case inside-timeout
mkdir -p data
printf 'id\n1\n2\n' >data/ids.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: quick
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/ids.csv}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config: {path: out/ids.csv}
YAML
run_osiris run p.yaml --timeout 600
[ "$RC" = 0 ] && pass || fail "a run inside its timeout succeeds (got $RC: $(tail -2 "$ERR"))"
cmp -s data/ids.csv out/ids.csv && pass || fail "its output is complete"

new_case bad-value
run_osiris run p.yaml --timeout 0
[ "$RC" = 2 ] && pass || fail "--timeout 0 is a usage error (got $RC)"

finish
