#!/usr/bin/env bash
# Resuming a failed run (issue 13): `run --resumable` saves every output
# frame and every run records resume.json; `run --resume RUN_ID` reruns
# the failed step and what follows it in a new run directory, the steps
# that succeeded reused (step_reused, no step_start), with outputs
# byte-equal to a clean full run; refusals (unknown run, a run that
# succeeded, a changed pipeline, params or input file of a reused step,
# an output that was not saved) exit 2 before any run directory is made.
# The failures come from the environment: a writer's directory that is a
# file, an extractor's input with a ragged row that is mended.  With
# osiris-worker built, the same resume runs in --sandbox local.
source "$(dirname "$0")/lib.sh"

WORKER=${OSIRIS_WORKER:-$E2E_ROOT/osiris-worker}

# chain: extract -> adults -> summary-out (writer)
#                           -> per-city -> final-out (writer, blocked/final.csv)
chain_pipeline() {
  mkdir -p data
  cat >data/people.csv <<'EOF'
id,name,age,city
1,Ann,34,Oslo
2,Bob,27,Rome
3,Cid,45,Oslo
4,Dee,31,Lima
5,Eve,52,Rome
6,Fay,38,Lima
EOF
  cat >pipeline.yaml <<'EOF'
oml_version: "0.1.0"
name: "resume chain"
params:
  min_age: {default: 30}
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/people.csv}
  - id: adults
    component: sql.processor
    mode: transform
    needs: [extract]
    config:
      query: "SELECT id, name, age, city FROM df WHERE age >= ${params.min_age} ORDER BY id"
  - id: summary-out
    component: filesystem.csv_writer
    mode: write
    needs: [adults]
    config: {path: out/summary.csv}
  - id: per-city
    component: sql.processor
    mode: transform
    needs: [adults]
    config:
      query: "SELECT city, COUNT(*) AS n, AVG(age) AS avg_age FROM df GROUP BY city ORDER BY city"
  - id: final-out
    component: filesystem.csv_writer
    mode: write
    needs: [per-city]
    config: {path: blocked/final.csv}
EOF
}

# events of a run: "name step_id" per line
events_of() {
  py - "$1/events.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["event"], e.get("step_id", ""))
PY
}

n_runs() { ls -d logs/run_* 2>/dev/null | wc -l; }

# ------------------------------------------------ the reference: a clean run
new_case reference
chain_pipeline
run_osiris run pipeline.yaml
assert_exit 0 "reference: a clean full run succeeds"
REF=$PWD

# ------------------------------------------------ local: fail, refuse, resume
new_case local
chain_pipeline
touch blocked # a file where the writer wants a directory: final-out fails
run_osiris run pipeline.yaml --resumable
assert_exit 1 "first run fails"
assert_contains "$ERR" "failed at step final-out"
FAILED=$(newest_run_dir)
FAILED_ID=$(basename "$FAILED") # run_<id>
assert_file "$FAILED/resume.json"
for s in extract adults per-city; do assert_file "$FAILED/artifacts/$s/output.parquet"; done
assert_eq "true" "$(json_get "$FAILED/resume.json" 'd["resumable"]')" "resume.json: resumable"
assert_eq "$(sha256sum data/people.csv | cut -c1-64)" \
  "$(json_get "$FAILED/resume.json" '[s for s in d["steps"] if s["step_id"]=="extract"][0]["inputs"][0]["sha256"]')" \
  "resume.json: the extractor's input file hashed"
assert_eq "path" \
  "$(json_get "$FAILED/resume.json" '[s for s in d["steps"] if s["step_id"]=="extract"][0]["inputs"][0]["key"]')" \
  "resume.json: the input file's config key"
assert_files_equal "$REF/out/summary.csv" out/summary.csv "the first run wrote summary.csv"
SUMMARY_MTIME=$(stat -c %y out/summary.csv)
RUNS=$(n_runs)

# refusals: exit 2, a message that says why, no run directory made
run_osiris run pipeline.yaml --resume nope
assert_exit 2 "unknown run id refused"
assert_contains "$ERR" "no run 'nope' under"

sed 's/ORDER BY city/ORDER BY city DESC/' pipeline.yaml >changed.yaml
run_osiris run changed.yaml --resume "$FAILED_ID"
assert_exit 2 "changed pipeline refused"
assert_contains "$ERR" "the pipeline changed since that run: the config of step 'per-city' changed"

run_osiris run pipeline.yaml --resume "$FAILED_ID" --param min_age=40
assert_exit 2 "changed params refused"
assert_contains "$ERR" "the config of step 'adults' changed"

cp data/people.csv people.orig
echo "7,Gus,61,Oslo" >>data/people.csv
run_osiris run pipeline.yaml --resume "$FAILED_ID"
assert_exit 2 "changed input file of a reused step refused"
assert_contains "$ERR" "input file $PWD/data/people.csv of step 'extract' (steps[0].config.path) changed since that run: size"
# the same bytes again, with a new mtime: the content decides (the resume
# below is accepted)
cp people.orig data/people.csv
assert_eq "$RUNS" "$(n_runs)" "no run directory made by a refusal"

run_osiris run pipeline.yaml --resume "$FAILED_ID" --dry-run
assert_exit 2 "--resume with --dry-run refused"
run_osiris run a.yaml b.yaml --resume "$FAILED_ID"
assert_exit 2 "--resume in a batch refused"

# fix the environment, resume
rm blocked
run_osiris run pipeline.yaml --resume "${FAILED_ID#run_}" --json # the bare <id> form
assert_exit 0 "resume succeeds"
RESUMED=$(newest_run_dir)
[ "$RESUMED" != "$FAILED" ] && pass "resume made a new run directory" || fail "resume reused the run directory"
assert_files_equal "$REF/blocked/final.csv" blocked/final.csv "final.csv byte-equal to a clean full run"
assert_files_equal "$REF/out/summary.csv" out/summary.csv "summary.csv byte-equal to a clean full run"
assert_eq "$SUMMARY_MTIME" "$(stat -c %y out/summary.csv)" "summary-out (a finished writer) was not run again"
events_of "$RESUMED" >events.txt
for s in extract adults summary-out per-city; do
  assert_contains events.txt "step_reused $s"
  assert_not_contains events.txt "step_start $s" "no step_start for reused step $s"
done
assert_contains events.txt "step_start final-out"
py_check '
import json, sys
run, failed = sys.argv[1], sys.argv[2]
ev = [json.loads(l) for l in open(run + "/events.jsonl")]
reused = [e for e in ev if e["event"] == "step_reused"]
def ok(c, m): print(("ok " if c else "not ok ") + m)
ok([e["step_id"] for e in reused] == ["extract", "adults", "summary-out", "per-city"], "step_reused for the four steps, in run order")
ok(all(e["from_run"] == failed for e in reused), "step_reused.from_run names the failed run")
ok({e["step_id"]: e["rows"] for e in reused} == {"extract": 6, "adults": 5, "summary-out": 0, "per-city": 3}, "step_reused.rows")
ok([e.get("output") for e in reused if e["step_id"] == "per-city"] == ["artifacts/per-city/output.parquet"], "per-city output linked (final-out needs it)")
ok(not any("output" in e for e in reused if e["step_id"] != "per-city"), "no output linked where no step that runs needs it")
inp = [e for e in ev if e["event"] == "inputs_resolved" and e["step_id"] == "final-out"]
ok(len(inp) == 1 and inp[0]["source"] == "spill" and inp[0]["rows"] == 3, "final-out read the saved frame")
start = [e for e in ev if e["event"] == "run_start"][0]
ok(start.get("resumed_from") == failed, "run_start.resumed_from")
st = json.load(open(run + "/status.json"))
ok(st["ok"] is True and st["steps_completed"] == 5 and st["steps_total"] == 5, "status.json: 5/5 steps completed (reused ones count)")
ok(st["resumed_from"] == failed and st["steps_reused"] == ["extract", "adults", "summary-out", "per-city"], "status.json: resumed_from, steps_reused")
ok(st["total_rows"] == 3, "status.json: total_rows counts this run only (final-out)")
card = json.load(open(run + "/run_card.json"))
ok(card["resumed_from"] == failed and card["resumable"] is True, "run_card.json: resumed_from, resumable (inherited)")
ok({s["step_id"]: s.get("reused_from") for s in card["steps"]} == {"extract": failed, "adults": failed, "summary-out": failed, "per-city": failed, "final-out": None}, "run_card.json: reused_from per step")
' "$RESUMED" "$FAILED_ID"
cmp -s "$FAILED/artifacts/per-city/output.parquet" "$RESUMED/artifacts/per-city/output.parquet" &&
  pass "the saved output is the one of the failed run" || fail "saved output differs"
assert_eq "true 5 $FAILED_ID 4" \
  "$(json_get "$OUT" '"%s %d %s %d" % (d["error"] is None and "true", d["steps_completed"], d["resumed_from"], len(d["steps_reused"]))')" \
  "--json: no error, 5 steps completed, resumed_from, steps_reused"

# the resumed run succeeded: nothing to resume
run_osiris run pipeline.yaml --resume "$(basename "$RESUMED")"
assert_exit 2 "a run that succeeded is refused"
assert_contains "$ERR" "that run succeeded, there is nothing to resume"

# ------------------------------------------------ not resumable: outputs not saved
new_case not_saved
chain_pipeline
touch blocked
run_osiris run pipeline.yaml
assert_exit 1 "a run without --resumable fails"
PLAIN=$(basename "$(newest_run_dir)")
assert_file "logs/$PLAIN/resume.json"
rm blocked
run_osiris run pipeline.yaml --resume "$PLAIN"
assert_exit 2 "resume refused: the frame a rerun step needs was not saved"
assert_contains "$ERR" "step 'per-city' succeeded there but its output was not saved (it stayed in memory), and step 'final-out', which runs again, needs it; a run with --resumable saves every output"
# spilled frames are saved anyway
touch blocked
OSIRIS_SPILL_THRESHOLD=0 run_osiris run pipeline.yaml
assert_exit 1 "a spilling run fails"
SPILLED=$(basename "$(newest_run_dir)")
rm blocked
run_osiris run --resume "$SPILLED"
assert_exit 0 "a spilling run resumes (its own manifest.yaml: no pipeline given)"
assert_files_equal "$REF/blocked/final.csv" blocked/final.csv "spilled resume: final.csv byte-equal"

# ------------------------------------------------ the failed step reads its input fresh
# join: people + cities (a ragged row: the extractor fails), mended, resumed
join_pipeline() {
  chain_pipeline
  printf 'city,country\nOslo,NO\nRome,IT,extra\nLima,PE\n' >data/cities.csv
  cat >join.yaml <<'EOF'
oml_version: "0.1.0"
name: "resume join"
steps:
  - id: people
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/people.csv}
  - id: cities
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/cities.csv}
  - id: joined
    component: sql.processor
    mode: transform
    needs: [people, cities]
    config:
      query: "SELECT p.name, c.country FROM df_people p JOIN df_cities c ON p.city = c.city ORDER BY p.id"
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [joined]
    config: {path: out/joined.csv}
EOF
}
mend_cities() { printf 'city,country\nOslo,NO\nRome,IT\nLima,PE\n' >data/cities.csv; }

new_case join_reference
join_pipeline
mend_cities
run_osiris run join.yaml
assert_exit 0 "join reference run"
JREF=$PWD/out/joined.csv

new_case join_local
join_pipeline
run_osiris run join.yaml --resumable
assert_exit 1 "join: the cities extractor fails"
assert_contains "$ERR" "failed at step cities"
JFAILED=$(basename "$(newest_run_dir)")
mend_cities
run_osiris run join.yaml --resume "$JFAILED"
assert_exit 0 "join: resume after mending the failed step's own input"
assert_contains "$OUT" "resumed from $JFAILED: 1 step reused (people)"
assert_files_equal "$JREF" out/joined.csv "join: output byte-equal to a clean run"
events_of "$(newest_run_dir)" >events.txt
assert_contains events.txt "step_reused people"
assert_not_contains events.txt "step_start people"
assert_contains events.txt "step_start cities"
JLOCAL=$PWD/$(newest_run_dir)

if [ -x "$WORKER" ]; then
  new_case join_sandbox
  join_pipeline
  OSIRIS_WORKER=$WORKER run_osiris run join.yaml --resumable --sandbox local
  assert_exit 1 "sandbox: the cities extractor fails"
  JFAILED=$(basename "$(newest_run_dir)")
  assert_file "logs/$JFAILED/artifacts/people/output.parquet"
  mend_cities
  OSIRIS_WORKER=$WORKER run_osiris run join.yaml --resume "$JFAILED" --sandbox local
  assert_exit 0 "sandbox: resume"
  assert_files_equal "$JREF" out/joined.csv "sandbox: output byte-equal to a clean run"
  JSAND=$(newest_run_dir)
  events_of "$JSAND" >events.txt
  assert_contains events.txt "step_reused people"
  assert_not_contains events.txt "step_start people"
  assert_contains "$JSAND/commands.jsonl" '{"cmd":"reuse_step","step_id":"people","rows_in":0,"rows_out":6,"output":"_resume/people/output.parquet"}'
  py_check '
import json, sys
def steps(run):
    ev = [json.loads(l) for l in open(run + "/events.jsonl")]
    return [(e["event"], e.get("step_id"), e.get("rows"), e.get("source")) for e in ev
            if e["event"] in ("step_reused", "step_start", "step_complete", "inputs_resolved", "step_failed")]
a, b = steps(sys.argv[1]), steps(sys.argv[2])
print("ok local and --sandbox local resumes: the same step events" if a == b else
      "not ok local and --sandbox local resumes: step events differ: %r / %r" % (a, b))
sa, sb = (json.load(open(r + "/status.json")) for r in sys.argv[1:3])
print(("ok " if (sa["steps_completed"], sa["steps_reused"]) == (sb["steps_completed"], sb["steps_reused"]) else "not ok ") + "the same steps_completed and steps_reused")
' "$JLOCAL" "$JSAND"
  # With --jobs a step that comes after the failed one in run order can have
  # succeeded: branch b finishes while a's extractor is held on a FIFO,
  # then a's writer fails.  The resumed remote run must reuse b, not run it
  # again (a worker with jobs > 1 runs every pending step on its first
  # exec_step, so the host sends every reuse_step before it).
  new_case sandbox_reuse_order
  mkdir -p data && printf 'k\n1\n2\n' >data/b.csv && mkfifo data/a.fifo && echo file >blocked
  cat >order.yaml <<'EOF2'
oml_version: "0.1.0"
name: "reuse order"
steps:
  - {id: a_read, component: filesystem.csv_extractor, mode: read, needs: [], config: {path: data/a.fifo}}
  - {id: a_write, component: filesystem.csv_writer, mode: write, needs: [a_read], config: {path: blocked/a.csv}}
  - {id: b_read, component: filesystem.csv_extractor, mode: read, needs: [], config: {path: data/b.csv}}
  - {id: b_write, component: filesystem.csv_writer, mode: write, needs: [b_read], config: {path: b_out.csv}}
EOF2
  "$OSIRIS" run order.yaml --resumable --jobs 2 >first.out 2>&1 </dev/null &
  first=$!
  if wait_until 60 test -s b_out.csv; then pass "branch b done while a is held"; else fail "b_out.csv never written"; fi
  printf 'v\n7\n' >data/a.fifo
  wait "$first"
  assert_eq 1 "$?" "the first run fails at a_write"
  OFAILED=$(basename "$(newest_run_dir)")
  assert_eq a_write "$(json_get "logs/$OFAILED/status.json" 'd["error"]["step_id"]')" "a_write is the failed step"
  rm blocked
  b_mtime=$(stat -c %Y.%y b_out.csv)
  OSIRIS_WORKER=$WORKER run_osiris run order.yaml --resume "$OFAILED" --sandbox local --jobs 2
  assert_exit 0 "sandbox: the resume succeeds"
  events_of "$(newest_run_dir)" >events.txt
  for s in a_read b_read b_write; do
    assert_contains events.txt "step_reused $s"
    assert_not_contains events.txt "step_start $s"
  done
  assert_contains events.txt "step_start a_write"
  assert_eq "$b_mtime" "$(stat -c %Y.%y b_out.csv)" "b_write did not write again"
  assert_eq "$(printf 'v\n7')" "$(cat blocked/a.csv)" "a_write wrote the held rows"
  # a remote run whose written file never reached the host (collect_failed):
  # its writers would run again, but the saved outputs did not come back
  # either (the host stops collecting at the first failure): refused
  new_case sandbox_collect
  chain_pipeline
  touch blocked
  OSIRIS_WORKER=$WORKER run_osiris run pipeline.yaml --resumable --sandbox local
  assert_exit 1 "sandbox: bringing final.csv back fails"
  CFAILED=$(basename "$(newest_run_dir)")
  assert_eq "collect_failed" "$(json_get "logs/$CFAILED/status.json" 'd["reason"]')" "sandbox: collect_failed"
  rm blocked
  OSIRIS_WORKER=$WORKER run_osiris run pipeline.yaml --resume "$CFAILED" --sandbox local
  assert_exit 2 "sandbox: resume after collect_failed refused"
  assert_contains "$ERR" "step 'adults' succeeded there but its output was not saved (artifacts/adults/output.parquet is not in that run's directory), and step 'summary-out', which runs again, needs it"
  # --e2b against the fake E2B service (node's standard library only)
  if command -v node >/dev/null 2>&1; then
    new_case join_e2b
    join_pipeline
    node "$E2E_ROOT/tests/fake_e2b/server.mjs" --port 0 --parent-pid $$ >fake.out 2>fake.err &
    FAKE_PID=$!
    wait_until 60 test -s fake.out || fail "the fake E2B service did not start: $(cat fake.err)"
    FAKE_URL=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' fake.out)
    FAKE_KEY=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' fake.out)
    e2b() { E2B_API_URL=$FAKE_URL E2B_SANDBOX_URL=$FAKE_URL E2B_API_KEY=$FAKE_KEY OSIRIS_WORKER=$WORKER run_osiris "$@"; }
    e2b run join.yaml --resumable --e2b
    assert_exit 1 "e2b: the cities extractor fails"
    JFAILED=$(basename "$(newest_run_dir)")
    mend_cities
    e2b run join.yaml --resume "$JFAILED" --e2b
    assert_exit 0 "e2b: resume"
    assert_files_equal "$JREF" out/joined.csv "e2b: output byte-equal to a clean run"
    events_of "$(newest_run_dir)" >events.txt
    assert_contains events.txt "step_reused people"
    assert_not_contains events.txt "step_start people"
    assert_contains events.txt "step_start cities"
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
  else
    echo "  note: node not found: --e2b resume against the fake skipped" >&2
  fi
else
  echo "  note: $WORKER not built (make osiris-worker): --sandbox local and --e2b resume skipped" >&2
fi

# ------------------------------------------------ help
new_case help
run_osiris run --help
assert_contains "$OUT" "--resume RUN_ID"
assert_contains "$OUT" "--resumable"

finish
