#!/usr/bin/env bash
# tests/e2e/jobs.sh -- parallel branches inside one run (osiris run --jobs J).
#
# Overlap is proven by order, never by time: each branch reads a CSV that is
# a FIFO, so its extractor is held in open() until the test writes it.
#   - --jobs 2: both branches' step_start are in events.jsonl while both are
#     held (nothing was written yet), so they ran at once; run_card.json's
#     "parallel" names the pair.
#   - --jobs 1: the second branch starts only after the first one ended
#     (its step_start follows the first branch's step_complete), and the
#     run card shows no overlap.
#   - The same pipeline on regular files with --jobs 1, 4 and the default:
#     outputs byte-equal, `osiris runs diff` equivalent, each step's own
#     event sequence equal.
#   - A failure in one branch while the other is held: the held branch is
#     still reported (step_complete once released), the steps after the
#     failure are skipped, exit 1, status.json names the failed step.
#   - A key accepted without effect is noted by the same step whatever
#     ran first.
#   - Ctrl-C while both branches are held ends both; the rest is skipped.
#   - --sandbox local --jobs 4: the same outputs and per-step events as a
#     local run (runs diff equivalent), the worker ran branches at once.
#   - --jobs usage errors (exit 2).
#   bash tests/e2e/jobs.sh      (from the repo root, after make osiris osiris-worker)
. "$(dirname "$0")/lib.sh"

E2E_TIMEOUT=60

# branches FILE A B: two independent branches, each extractor -> SQL -> CSV
# writer, reading A and B; then a step that joins both.
branches() {
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: branches
steps:
  - id: read_a
    component: filesystem.csv_extractor
    mode: read
    needs: []
    config: {path: $2}
  - id: read_b
    component: filesystem.csv_extractor
    mode: read
    needs: []
    config: {path: $3}
  - id: sum_a
    component: sql.processor
    mode: transform
    needs: [read_a]
    config: {query: "select count(*) as n, sum(v) as s from df"}
  - id: sum_b
    component: sql.processor
    mode: transform
    needs: [read_b]
    config: {query: "select count(*) as n, sum(v) as s from df"}
  - id: both
    component: sql.processor
    mode: transform
    needs: [sum_a, sum_b]
    config: {query: "select a.n + b.n as n, a.s + b.s as s from df_sum_a a, df_sum_b b"}
  - id: write_a
    component: filesystem.csv_writer
    mode: write
    needs: [sum_a]
    config: {path: out/a.csv}
  - id: write_b
    component: filesystem.csv_writer
    mode: write
    needs: [sum_b]
    config: {path: out/b.csv}
  - id: write_both
    component: filesystem.csv_writer
    mode: write
    needs: [both]
    config: {path: out/both.csv}
YAML
}

# index_of RUN EVENT STEP: line number of the first such event, or 0.
index_of() {
  py - "$1/events.jsonl" "$2" "$3" <<'PY'
import json, sys
n = 0
try:
    lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
except OSError:
    lines = []
for i, line in enumerate(lines, 1):
    if not line.endswith("}"):
        continue  # a line being written
    e = json.loads(line)
    if e.get("event") == sys.argv[2] and e.get("step_id") == sys.argv[3]:
        n = i
        break
print(n)
PY
}

# has_event RUN EVENT STEP: the event is there (for wait_until).
has_event() { [ "$(index_of "$1" "$2" "$3")" != 0 ]; }

# run_dir_appears: the one run directory of this case, once it exists.
the_run() { ls -1d logs/run_*/ 2>/dev/null | head -n 1 | sed 's:/$::'; }
run_dir_appears() { [ -n "$(the_run)" ] && [ -f "$(the_run)/events.jsonl" ]; }

# steps_events RUN: per step, the sequence of its event names (JSON).
steps_events() {
  py - "$1/events.jsonl" <<'PY'
import json, sys
seq = {}
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if "step_id" in e:
        seq.setdefault(e["step_id"], []).append(e["event"])
print(json.dumps(seq, sort_keys=True))
PY
}

card() { json_get "$1/run_card.json" "$2"; }

data() {
  mkdir -p data
  py - <<'PY'
import random
random.seed(7)
for name in ("a", "b"):
    with open("data/%s.csv" % name, "w") as f:
        f.write("id,v\n")
        for i in range(2000):
            f.write("%d,%d\n" % (i, random.randint(0, 1000)))
PY
}

# start_held JOBS: the branches pipeline on two FIFOs, in the background.
start_held() {
  data
  mkfifo fa.csv fb.csv
  branches p.yaml fa.csv fb.csv
  ( timeout "$E2E_TIMEOUT" "$OSIRIS" run p.yaml --jobs "$1" >run.out 2>run.err </dev/null; echo $? >run.rc ) &
  RUN_PID=$!
}

# feed FIFO FILE: write FILE into FIFO in the background (blocks until read).
feed() { ( cat "$2" >"$1" ) & }

finish_run() {
  wait "$RUN_PID"
  RC=$(cat run.rc 2>/dev/null || echo none)
}

# ------------------------------------------------------------- --jobs 2
new_case overlap
start_held 2
if wait_until 30 run_dir_appears && run=$(the_run) &&
   wait_until 30 has_event "$run" step_start read_a && wait_until 30 has_event "$run" step_start read_b; then
  pass "both branches started while both were held"
  assert_eq 0 "$(index_of "$run" step_complete read_a)" "read_a still held"
  assert_eq 0 "$(index_of "$run" step_complete read_b)" "read_b still held"
else
  fail "both branches should start while held: $(grep -o '"event":"step_start","step_id":"[a-z_]*"' "$(the_run)/events.jsonl" 2>/dev/null | tr '\n' ' ')"
fi
feed fa.csv data/a.csv
feed fb.csv data/b.csv
finish_run
assert_eq 0 "$RC" "exit 0"
run=$(the_run)
assert_eq 2 "$(card "$run" 'd["parallel"]["jobs"]')" "run card: jobs 2"
assert_eq 2 "$(card "$run" 'd["parallel"]["max_concurrent"]')" "run card: two at once"
assert_eq true "$(card "$run" '["read_a","read_b"] in d["parallel"]["overlaps"]')" "run card: read_a and read_b overlapped"
assert_eq true "$(card "$run" 'all("start_offset_ms" in s and "end_offset_ms" in s for s in d["steps"])')" "run card: step offsets"
assert_eq "n,s" "$(head -n 1 out/both.csv)" "joined output written"
rm -rf ../overlap_out && cp -R out ../overlap_out

# ------------------------------------------------------------- --jobs 1
new_case serial
start_held 1
if wait_until 30 run_dir_appears && run=$(the_run) && wait_until 30 has_event "$run" step_start read_a; then
  pass "read_a started"
else
  fail "read_a should start"
fi
feed fa.csv data/a.csv
if wait_until 30 has_event "$run" step_start read_b; then
  a_end=$(index_of "$run" step_complete read_a)
  b_start=$(index_of "$run" step_start read_b)
  if [ "$a_end" != 0 ] && [ "$a_end" -lt "$b_start" ]; then
    pass "--jobs 1: read_b started after read_a ended"
  else
    fail "--jobs 1: read_b started (line $b_start) before read_a ended (line $a_end)"
  fi
else
  fail "read_b should start after read_a"
fi
feed fb.csv data/b.csv
finish_run
assert_eq 0 "$RC" "exit 0"
run=$(the_run)
assert_eq "1 1 0" "$(card "$run" '"%d %d %d" % (d["parallel"]["jobs"], d["parallel"]["max_concurrent"], len(d["parallel"]["overlaps"]))')" "run card: one at a time"
for f in a b both; do assert_files_equal ../overlap_out/$f.csv out/$f.csv "$f.csv as with --jobs 2"; done

# ------------------------------------------------------------- same results
new_case same
data
branches p.yaml data/a.csv data/b.csv
declare -A dirs
for j in 1 4 default; do
  if [ $j = default ]; then run_osiris run p.yaml; else run_osiris run p.yaml --jobs $j; fi
  assert_exit 0 "--jobs $j: exit 0"
  dirs[$j]=$(newest_run_dir)
  mkdir -p "res_$j" && cp out/*.csv "res_$j/"
  rm -rf out
done
for j in 4 default; do
  for f in a b both; do assert_files_equal res_1/$f.csv res_$j/$f.csv "--jobs $j: $f.csv as with --jobs 1"; done
  run_osiris runs diff "${dirs[1]}" "${dirs[$j]}"
  assert_exit 0 "runs diff --jobs 1 vs --jobs $j: exit 0"
  assert_contains "$OUT" "equivalent"
  assert_eq "$(steps_events "${dirs[1]}")" "$(steps_events "${dirs[$j]}")" "--jobs $j: each step's events as with --jobs 1"
done
cores=$(getconf _NPROCESSORS_ONLN)
[ "$cores" -gt 64 ] && cores=64
assert_eq "$cores" "$(card "${dirs[default]}" 'd["parallel"]["jobs"]')" "default jobs: the online cores"

# ------------------------------------------------------------- a failure
new_case failure
data
mkfifo fa.csv
branches p.yaml fa.csv data/missing.csv
( timeout "$E2E_TIMEOUT" "$OSIRIS" run p.yaml --jobs 2 >run.out 2>run.err </dev/null; echo $? >run.rc ) &
RUN_PID=$!
if wait_until 30 run_dir_appears && run=$(the_run) && wait_until 30 has_event "$run" step_failed read_b; then
  pass "read_b failed while read_a was held"
  assert_eq 0 "$(index_of "$run" step_complete read_a)" "read_a still held when read_b failed"
else
  fail "read_b should fail while read_a is held"
fi
feed fa.csv data/a.csv
finish_run
assert_eq 1 "$RC" "exit 1"
run=$(the_run)
assert_eq "execution_failed read_b" "$(json_get "$run/status.json" 'd["reason"]+" "+d["error"]["step_id"]')" "status.json: reason, failed step"
assert_eq false "$(json_get "$run/status.json" 'd["ok"]')" "status.json: ok false"
steps=$(json_get "$run/run_card.json" '" ".join(s["step_id"]+"="+s["status"] for s in d["steps"])')
assert_eq "read_a=success read_b=failed sum_a=skipped sum_b=skipped both=skipped write_a=skipped write_b=skipped write_both=skipped" "$steps" "read_a reported, the rest skipped"
assert_eq "step read_b failed" "$(py -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["event"] == "step_skipped" and e["step_id"] == "sum_a":
        print(e["reason"])' "$run/events.jsonl")" "skipped because of read_b"
assert_not_contains "$run/events.jsonl" '"event":"step_start","step_id":"sum_a"'
assert_no_file out/a.csv

# ------------------------------------------------------------- noted keys
# A key accepted without effect is noted once, by the first step in run
# order that gives it (x), also when another step giving it (y) begins
# first because x waits for the held step h.
new_case noted
data
mkfifo h.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: noted
steps:
  - id: h
    component: filesystem.csv_extractor
    mode: read
    needs: []
    config: {path: h.csv}
  - id: x
    component: filesystem.csv_extractor
    mode: read
    needs: [h]
    config: {path: data/a.csv, chunk_size: 500}
  - id: y
    component: filesystem.csv_extractor
    mode: read
    needs: []
    config: {path: data/b.csv, chunk_size: 500}
YAML
noted_by() {
  py -c '
import json, sys
print(" ".join(e["step_id"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "config_key_no_effect"))' "$1/events.jsonl"
}
for j in 2 1; do
  rm -rf logs
  timeout "$E2E_TIMEOUT" "$OSIRIS" run p.yaml --jobs $j >run.out 2>run.err </dev/null &
  RUN_PID=$!
  if [ $j = 2 ]; then
    if wait_until 30 run_dir_appears && wait_until 30 has_event "$(the_run)" step_complete y; then
      assert_eq 0 "$(index_of "$(the_run)" step_start x)" "--jobs 2: y ran while x waited"
    else
      fail "--jobs 2: y should complete while h is held"
    fi
  fi
  feed h.csv data/a.csv
  RC=0
  wait "$RUN_PID" || RC=$?
  assert_eq 0 "$RC" "--jobs $j: exit 0"
  assert_eq x "$(noted_by "$(the_run)")" "--jobs $j: chunk_size noted once, by x"
  cp -R "$(the_run)" "run_$j"
done
run_osiris runs diff run_1 run_2
assert_contains "$OUT" "equivalent"

# ------------------------------------------------------------- Ctrl-C
# Both branches held in open(): one SIGINT must end both (the one the
# signal lands on, and the other woken by the scheduler), exit 1,
# status.json interrupted, everything after them skipped.
new_case interrupt
data
mkfifo fa.csv fb.csv
branches p.yaml fa.csv fb.csv
timeout "$E2E_TIMEOUT" "$OSIRIS" run p.yaml --jobs 2 >run.out 2>run.err </dev/null &
RUN_PID=$!
if wait_until 30 run_dir_appears && run=$(the_run) &&
   wait_until 30 has_event "$run" step_start read_a && wait_until 30 has_event "$run" step_start read_b; then
  pass "both branches held"
else
  fail "both branches should be held"
fi
kill -INT "$(pgrep -P "$RUN_PID" -x osiris || echo "$RUN_PID")" 2>/dev/null
RC=0
wait "$RUN_PID" || RC=$?
assert_eq 1 "$RC" "exit 1 after Ctrl-C"
run=$(the_run)
assert_eq interrupted "$(json_get "$run/status.json" 'd["reason"]')" "status.json: interrupted"
steps=$(json_get "$run/run_card.json" '" ".join(s["step_id"]+"="+s["status"] for s in d["steps"])')
assert_eq "read_a=failed read_b=failed sum_a=skipped sum_b=skipped both=skipped write_a=skipped write_b=skipped write_both=skipped" "$steps" "both held steps stopped, the rest skipped"

# ------------------------------------------------------------- --sandbox local
new_case sandbox
data
branches p.yaml data/a.csv data/b.csv
worker=${OSIRIS_WORKER:-$(dirname "$OSIRIS")/osiris-worker}
if [ -x "$worker" ]; then
  run_osiris run p.yaml --jobs 4
  assert_exit 0 "local: exit 0"
  local_run=$(newest_run_dir)
  mkdir -p res_local && cp out/*.csv res_local/ && rm -rf out
  run_osiris run p.yaml --jobs 4 --sandbox local
  assert_exit 0 "--sandbox local: exit 0"
  remote_run=$(newest_run_dir)
  for f in a b both; do assert_files_equal res_local/$f.csv out/$f.csv "--sandbox local: $f.csv as locally"; done
  run_osiris runs diff "$local_run" "$remote_run"
  assert_exit 0 "runs diff local vs --sandbox local: exit 0"
  assert_contains "$OUT" "equivalent"
  assert_eq "$(steps_events "$local_run")" "$(steps_events "$remote_run")" "each step's events as in the local run"
  assert_eq 4 "$(card "$remote_run" 'd["parallel"]["jobs"]')" "the worker ran with --jobs 4"
else
  fail "osiris-worker not built ($worker): make osiris-worker"
fi

# ------------------------------------------------------------- usage
new_case usage
for bad in 0 -1 65 x 2x; do
  run_osiris run p.yaml --jobs "$bad"
  assert_exit 2 "--jobs $bad: usage error"
  assert_contains "$ERR" "--jobs wants a number of steps (1..64)"
done
run_osiris run --help
assert_contains "$OUT" "--jobs J"

finish
