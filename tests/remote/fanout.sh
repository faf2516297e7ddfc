#!/usr/bin/env bash
# tests/remote/fanout.sh -- many runs in one command (osiris run A.yaml
# B.yaml ... --parallel N, --params-file), against the fake E2B, the local
# sandbox and in-process:
#   e2b-50: 50 pipelines (each its own input, query and output) at
#     --parallel 10; three with a bad SQL; the fake fails four creates
#     with 429/503 (retried, those runs succeed) and one with 400 (not
#     retried: that run fails).  Exit 1, the summary lists exactly the
#     failed runs, every other output is right and in its own path, every
#     run directory holds its own run only, no sandbox left, and the fake's
#     record of sandboxes alive at once is <= 10;
#   e2b-params-file: one pipeline over 8 parameter sets, --parallel 3;
#   e2b-sigint: 6 held runs at --parallel 3: once 3 are held (and exactly
#     3 sandboxes live: the bound is reached, not passed), SIGINT to the
#     batch: every run ends interrupted, the queued ones never start, no
#     sandbox or worker left;
#   sandbox and local: a small batch with one bad SQL; local-sigint with
#     FIFO inputs.
# Nothing waits on time: held runs wait on a FIFO until the test acts.
#   bash tests/remote/fanout.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

W=$RT_WORK/f
mkdir -p "$W/data" "$W/out"
cd "$W" || exit 1

# pipeline N [QUERY]: pNN.yaml reads data/in_NN.csv, tags each row with
# k = N, writes out/o_NN.csv.
pipeline() {
  local n=$1 q=${2:-}
  [ -n "$q" ] || q="SELECT id, name, $n AS k FROM df WHERE id <= $n"
  printf 'id,name\n' >"data/in_$n.csv"
  for i in $(seq 1 $((n % 7 + 2))); do printf '%s,name_%s_%s\n' "$i" "$n" "$i" >>"data/in_$n.csv"; done
  cat >"p$n.yaml" <<EOF
oml_version: "0.1.0"
name: "p$n"
steps:
  - {id: r, component: filesystem.csv_extractor, mode: read, config: {path: data/in_$n.csv}}
  - {id: q, component: sql.processor, mode: transform, needs: [r], config: {query: "$q"}}
  - {id: w, component: filesystem.csv_writer, mode: write, needs: [q], config: {path: out/o_$n.csv}}
EOF
}

# expected N: what out/o_N.csv must hold
expected() {
  "$PY" - "$1" <<'EOF'
import csv, sys
n = int(sys.argv[1])
rows = list(csv.DictReader(open(f"data/in_{n}.csv")))
print("id,name,k")
for r in rows:
    if int(r["id"]) <= n:
        print(f"{r['id']},{r['name']},{n}")
EOF
}

fake_counter() { fake_get /_fake/state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"; }
fake_live() { fake_counter live; }
no_process() { ! pgrep -f "$1" >/dev/null; }
no_worker_running() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
sys.exit(1 if any(not p.get("ended_at") for p in s["processes"]) else 0)'
}

# batch_check JSON_FILE PY_EXPR...: asserts on the batch document d
batch_check() {
  local what=$1 doc=$2 expr=$3
  check "$what" "$PY" -c '
import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$doc" "$expr"
}

# ---------------------------------------------------------------- e2b, 50 runs
RT_CASE=e2b-50
BAD="7 23 41"
args=()
for n in $(seq 1 50); do
  case " $BAD " in
    *" $n "*) pipeline "$n" "SELEC id FROM df" ;;
    *) pipeline "$n" ;;
  esac
  args+=("p$n.yaml")
done
fake_post /_fake/reset >/dev/null
# creates 3 and 15 answer 429, 9 and 30 503 (each retried by its run), 20
# answers 400 (not retried: whichever run sends it fails)
fake_post /_fake/config '{"fail_create":{"3":429,"9":503,"15":429,"20":400,"30":503}}' >/dev/null
timeout -k 5 600 "$OSIRIS" run "${args[@]}" --e2b --parallel 10 --json >"$RT_WORK/b50.json" 2>"$RT_WORK/b50.err" </dev/null
rc=$?
fake_post /_fake/config '{"fail_create":{}}' >/dev/null
check "exit 1 (got $rc: $(tail -c 300 "$RT_WORK/b50.err"))" [ "$rc" = 1 ]
check "the summary is one JSON document" "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$RT_WORK/b50.json"
batch_check "50 runs listed in command-line order" "$RT_WORK/b50.json" \
  '[r["pipeline"] for r in d["runs"]] == ["p%d.yaml" % n for n in range(1, 51)]'
batch_check "the bad SQL runs failed at step q" "$RT_WORK/b50.json" \
  'all(d["runs"][n-1]["status"] == "failed" and d["runs"][n-1]["failed_step"] == "q" and "SELEC" in d["runs"][n-1]["error"] for n in (7, 23, 41))'
batch_check "the run that got create #20 (HTTP 400) failed, and says so" "$RT_WORK/b50.json" \
  'len([r for r in d["runs"] if "injected failure on create #20" in (r["error"] or "")]) == 1'
batch_check "failed lists exactly the bad SQL runs and the create #20 run" "$RT_WORK/b50.json" \
  'sorted(d["failed"]) == sorted([6, 22, 40] + [r["index"] for r in d["runs"] if "create #20" in (r["error"] or "")]) and len(d["failed"]) == 4'
batch_check "counts: 46 succeeded, 4 failed; status failed, exit_code 1" "$RT_WORK/b50.json" \
  'd["counts"]["succeeded"] == 46 and d["counts"]["failed"] == 4 and d["status"] == "failed" and d["exit_code"] == 1'
check "the fake failed 5 creates (4 of them retried)" [ "$(fake_counter create_failures)" = 5 ]
check "no sandbox left (live $(fake_live))" [ "$(fake_live)" = 0 ]
check "every sandbox deleted: creates - failures = deletes" [ "$(($(fake_counter creates) - $(fake_counter create_failures)))" = "$(fake_counter deletes)" ]
check "no worker process left running" no_worker_running
max_live=$(fake_counter max_live)
check "at most 10 sandboxes alive at once (fake's max_live $max_live)" [ "$max_live" -ge 1 -a "$max_live" -le 10 ]
# each successful run: its output right, in its own path, its run directory its own
ok_all=1
for n in $(seq 1 50); do
  dir=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][int(sys.argv[2])-1]["run_dir"] or "")' "$RT_WORK/b50.json" "$n")
  st=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][int(sys.argv[2])-1]["status"])' "$RT_WORK/b50.json" "$n")
  if [ -z "$dir" ] || [ ! -f "$dir/status.json" ]; then
    fail "p$n: no run directory"; ok_all=0; continue
  fi
  # the run directory is this pipeline's: its manifest, its paths only
  grep -rq "o_$n\.csv" "$dir/cfg" || { fail "p$n: $dir/cfg does not name out/o_$n.csv"; ok_all=0; }
  others=$(grep -rhoE '(in|o)_[0-9]+\.csv' "$dir" | sort -u | grep -vE "^(in|o)_$n\.csv$" || true)
  [ -z "$others" ] || { fail "p$n: $dir names other runs' files: $others"; ok_all=0; }
  if [ "$st" = succeeded ]; then
    [ "$(status_field "$dir" ok)" = true ] || { fail "p$n: status.json not ok"; ok_all=0; }
    diff <(expected "$n") "out/o_$n.csv" >/dev/null || { fail "p$n: out/o_$n.csv is wrong"; ok_all=0; }
  else
    [ ! -e "out/o_$n.csv" ] || { fail "p$n failed but out/o_$n.csv exists"; ok_all=0; }
  fi
done
check "every run directory and output is its own run's" [ "$ok_all" = 1 ]
check "50 run directories, one per pipeline" [ "$(ls -d logs/run_* | wc -l)" = 50 ]
bfile=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_file"])' "$RT_WORK/b50.json")
check "the batch file is in logs/ ($bfile)" [ -f "$bfile" -a "$(dirname "$bfile")" = "$W/logs" ]
check "the batch file holds the same runs" "$PY" -c '
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
strip=lambda d: [(r["pipeline"], r["status"], r["run_dir"], r["rows"]) for r in d["runs"]]
sys.exit(0 if a["batch_id"]==b["batch_id"] and strip(a)==strip(b) and b["status"]=="failed" else 1)' "$RT_WORK/b50.json" "$bfile"
check "rows are the runs' status.json total_rows" "$PY" -c '
import json,sys
d=json.load(open(sys.argv[1]))
sys.exit(0 if all(r["rows"]==json.load(open(r["run_dir"]+"/status.json"))["total_rows"] for r in d["runs"]) and d["rows"]==sum(r["rows"] for r in d["runs"]) else 1)' "$RT_WORK/b50.json"
check "progress: JSON lines on stderr, from batch_start to batch_end" "$PY" -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
names=[e["event"] for e in ev]
ends=[e for e in ev if e["event"]=="batch_run_end"]
last=[e for e in ev if e["event"]=="batch_progress"][-1]
sys.exit(0 if names[0]=="batch_start" and names[-1]=="batch_end" and names.count("batch_run_start")==50
         and len(ends)==50 and last["done"]==46 and last["failed"]==4 and last["queued"]==0 else 1)' "$RT_WORK/b50.err"
check "no secret in the batch file or on stderr" sh -c '! grep -q "$1" "$2" "$3"' _ "$E2B_API_KEY" "$bfile" "$RT_WORK/b50.err"

# ---------------------------------------------------------------- e2b, --params-file
RT_CASE=e2b-params-file
mkdir -p pf/data
cp data/in_5.csv pf/data/
cat >pf/pp.yaml <<'EOF'
oml_version: "0.1.0"
name: "pp"
params:
  n: {default: "0"}
  label: {default: "none"}
steps:
  - {id: r, component: filesystem.csv_extractor, mode: read, config: {path: data/in_5.csv}}
  - {id: q, component: sql.processor, mode: transform, needs: [r], config: {query: "SELECT id, ${params.n} AS n, '${params.label}' AS label FROM df WHERE id <= ${params.n}"}}
  - {id: w, component: filesystem.csv_writer, mode: write, needs: [q], config: {path: "out/pp_${params.n}.csv"}}
EOF
: >pf/runs.jsonl
for n in 1 2 3 4 5 6 7 8; do printf '{"n": %d, "label": "L%d"}\n' "$n" "$n" >>pf/runs.jsonl; done
printf '\n' >>pf/runs.jsonl # a blank line is no run
fake_post /_fake/reset >/dev/null
(cd pf && timeout -k 5 300 "$OSIRIS" run pp.yaml --params-file runs.jsonl --e2b --parallel 3 --json >"$RT_WORK/pf.json" 2>"$RT_WORK/pf.err" </dev/null)
rc=$?
check "exit 0 (got $rc: $(tail -c 300 "$RT_WORK/pf.err"))" [ "$rc" = 0 ]
batch_check "8 runs, each with its line's params" "$RT_WORK/pf.json" \
  '[(r["params"], r["params_line"], r["status"]) for r in d["runs"]] == [({"n": n, "label": "L%d" % n}, n, "succeeded") for n in range(1, 9)]'
ok_all=1
for n in 1 2 3 4 5 6 7 8; do
  want=$(printf 'id,n,label\n'; for i in $(seq 1 $((n < 7 ? n : 7))); do printf '%s,%s,L%s\n' "$i" "$n" "$n"; done)
  [ "$(cat "pf/out/pp_$n.csv" 2>/dev/null)" = "$want" ] || { fail "pf/out/pp_$n.csv is wrong"; ok_all=0; }
done
check "each parameter set wrote its own output" [ "$ok_all" = 1 ]
check "no sandbox left" [ "$(fake_live)" = 0 ]
check "at most 3 alive at once (max_live $(fake_counter max_live))" [ "$(fake_counter max_live)" -le 3 ]
printf '{"n": 1}\n{"n": [2]}\n' >pf/bad.jsonl
(cd pf && "$OSIRIS" run pp.yaml --params-file bad.jsonl --e2b >"$RT_WORK/pfbad.out" 2>&1)
rc=$?
check "a bad params line is a usage error with file:line (got $rc: $(cat "$RT_WORK/pfbad.out"))" \
  sh -c '[ "$1" = 2 ] && grep -q "bad.jsonl:2: parameter .n." "$2"' _ "$rc" "$RT_WORK/pfbad.out"
printf '{"n": 1}\n{"n": 2\n' >pf/bad2.jsonl
(cd pf && "$OSIRIS" run pp.yaml --params-file bad2.jsonl >"$RT_WORK/pfbad.out" 2>&1)
check "a line that is not JSON: file:line:col ($(cat "$RT_WORK/pfbad.out"))" grep -q "bad2.jsonl:2:[0-9]*:" "$RT_WORK/pfbad.out"

# ---------------------------------------------------------------- e2b, Ctrl-C
RT_CASE=e2b-sigint
mkdir -p held/data held/output
printf 'id,name\n1,ada\n' >held/data/held.csv
sed 's#output/held.csv#"output/held_${params.n}.csv"#; s#^name: "held"#name: "held"\nparams:\n  n: {default: "0"}#' \
  "$RT_FIX/held.yaml" >held/held.yaml
for n in 1 2 3 4 5 6; do echo "{\"n\": $n}"; done >held/runs.jsonl
hold_worker_make data/held.csv
fake_post /_fake/reset >/dev/null
cd held || exit 1
OSIRIS_WORKER=$HOLD_WORKER timeout -s KILL 300 "$OSIRIS" run held.yaml --params-file runs.jsonl --e2b --parallel 3 --json \
  >"$RT_WORK/sig.json" 2>"$RT_WORK/sig.err" </dev/null &
BG=$!
held_count() { grep -l '"event":"step_start","step_id":"read-held"' logs/run_*/events.jsonl 2>/dev/null | wc -l; }
for _ in $(seq 1 1200); do # 120 s at most; each held run waits on its FIFO
  [ "$(held_count)" -ge 3 ] && break
  kill -0 "$BG" 2>/dev/null || break
  sleep 0.1
done
check "3 runs held in step read-held" [ "$(held_count)" = 3 ]
check "exactly 3 sandboxes live while 3 runs are held (live $(fake_live))" [ "$(fake_live)" = 3 ]
kill -INT "$(pgrep -P "$BG" | head -1)"
wait "$BG"
rc=$?
cd "$W" || exit 1
check "exit 1 after SIGINT (got $rc: $(tail -c 300 "$RT_WORK/sig.err"))" [ "$rc" = 1 ]
batch_check "3 runs interrupted, 3 never started; status interrupted" "$RT_WORK/sig.json" \
  '[r["status"] for r in d["runs"]] == ["interrupted"]*3 + ["not_started"]*3 and d["status"] == "interrupted" and d["counts"]["interrupted"] == 3 and d["counts"]["not_started"] == 3'
batch_check "the interrupted runs' status.json say interrupted" "$RT_WORK/sig.json" \
  'all(json.load(open(r["run_dir"]+"/status.json"))["reason"] == "interrupted" for r in d["runs"][:3])'
check "3 run directories only" [ "$(ls -d held/logs/run_* | wc -l)" = 3 ]
check "no sandbox left (live $(fake_live))" [ "$(fake_live)" = 0 ]
check "3 sandboxes created, 3 deleted" [ "$(fake_counter creates)/$(fake_counter deletes)" = 3/3 ]
check "no worker process left running" no_worker_running
check "no run process left" no_process "held.yaml --param"

# ---------------------------------------------------------------- sandbox local and in-process
for mode in sandbox local; do
  RT_CASE=$mode-batch
  extra=()
  [ "$mode" = sandbox ] && extra=(--sandbox local)
  rm -f out/o_1.csv out/o_2.csv out/o_3.csv out/o_5.csv
  "$OSIRIS" run p1.yaml p2.yaml p7.yaml p3.yaml p5.yaml "${extra[@]}" --parallel 2 --json \
    --logs-dir "logs-$mode" >"$RT_WORK/$mode.json" 2>"$RT_WORK/$mode.err" </dev/null
  rc=$?
  check "exit 1 (got $rc)" [ "$rc" = 1 ]
  batch_check "exactly p7 failed; the adapter is $mode" "$RT_WORK/$mode.json" \
    "d['failed'] == [2] and d['counts']['succeeded'] == 4 and d['adapter'] == '$mode'"
  ok_all=1
  for n in 1 2 3 5; do diff <(expected "$n") "out/o_$n.csv" >/dev/null || ok_all=0; done
  check "outputs right" [ "$ok_all" = 1 ]
  check "5 run directories under logs-$mode/, adapter $mode" sh -c \
    '[ "$(grep -l "\"adapter\": \"$2\"" "$1"/run_*/status.json | wc -l)" = 5 ]' _ "logs-$mode" "$mode"
  check "the batch file is under logs-$mode/" sh -c 'ls "$1"/batch_*.json >/dev/null' _ "logs-$mode"
  if [ "$mode" = sandbox ]; then
    check "scratch directories removed" "$PY" -c '
import json,os,sys
d=json.load(open(sys.argv[1]))
ids=[json.load(open(r["run_dir"]+"/status.json"))["sandbox_id"] for r in d["runs"]]
sys.exit(0 if ids and all(i and not os.path.exists(os.path.join(os.environ.get("TMPDIR","/tmp"), i)) for i in ids) else 1)' "$RT_WORK/$mode.json"
  fi
done
"$OSIRIS" run p1.yaml p2.yaml >"$RT_WORK/human.out" 2>"$RT_WORK/human.err" </dev/null
rc=$?
check "human summary: exit 0, both runs, the batch file (got $rc)" sh -c \
  '[ "$1" = 0 ] && grep -q "2 of 2 runs succeeded" "$2" && grep -q "p1.yaml" "$2" && grep -q "batch file: logs/batch_" "$2"' _ "$rc" "$RT_WORK/human.out"

# In-process runs held on FIFO inputs, then SIGINT to the batch.
RT_CASE=local-sigint
mkdir -p lf
for n in 1 2 3; do
  mkfifo "lf/in_$n.csv"
  sed "s#data/in_$n.csv#lf/in_$n.csv#" "p$n.yaml" >"lf/p$n.yaml"
done
timeout -s KILL 120 "$OSIRIS" run lf/p1.yaml lf/p2.yaml lf/p3.yaml --parallel 2 --json --logs-dir logs-lf \
  >"$RT_WORK/lf.json" 2>"$RT_WORK/lf.err" </dev/null &
BG=$!
lf_held() { grep -l '"event":"step_start","step_id":"r"' logs-lf/run_*/events.jsonl 2>/dev/null | wc -l; }
for _ in $(seq 1 600); do
  [ "$(lf_held)" -ge 2 ] && break
  kill -0 "$BG" 2>/dev/null || break
  sleep 0.1
done
check "2 runs held on their FIFO" [ "$(lf_held)" = 2 ]
kill -INT "$(pgrep -P "$BG" | head -1)"
wait "$BG"
rc=$?
check "exit 1 after SIGINT (got $rc)" [ "$rc" = 1 ]
batch_check "2 interrupted, 1 not started" "$RT_WORK/lf.json" \
  '[r["status"] for r in d["runs"]] == ["interrupted", "interrupted", "not_started"]'
check "no run process left" no_process "lf/p[0-9].yaml"

# --e2b-env: the batch hands the values to its runs through the environment
# (OSIRIS_WORKER_ENV_<NAME>), never their command line; they reach each
# worker and no file.
RT_CASE=e2b-env
V_SECRET='fanout-secret-6173-Qz'
fake_post /_fake/reset >/dev/null
"$OSIRIS" run p1.yaml p2.yaml --e2b --parallel 2 --e2b-env "FANOUT_SECRET=$V_SECRET" --json --logs-dir logs-env \
  >"$RT_WORK/env.json" 2>"$RT_WORK/env.err" </dev/null
rc=$?
check "exit 0 (got $rc: $(tail -c 300 "$RT_WORK/env.err"))" [ "$rc" = 0 ]
check "both workers got FANOUT_SECRET" "$PY" -c '
import json,sys
s=json.load(sys.stdin)
w=[p for p in s["processes"] if "osiris-worker" in p.get("cmd","")]
sys.exit(0 if len(w)==2 and all(p["envs"].get("FANOUT_SECRET")==sys.argv[1] for p in w) else 1)' "$V_SECRET" < <(fake_get /_fake/state)
check "the value is in no file of the batch" sh -c '! grep -rqF -- "$1" logs-env out "$2" "$3"' _ "$V_SECRET" "$RT_WORK/env.json" "$RT_WORK/env.err"

RT_CASE=usage
"$OSIRIS" run p1.yaml p2.yaml --dry-run >/dev/null 2>&1
check "--dry-run takes one run (exit 2)" [ $? = 2 ]
"$OSIRIS" run p1.yaml --parallel 0 >/dev/null 2>&1
check "--parallel 0 is a usage error" [ $? = 2 ]
"$OSIRIS" run p1.yaml p2.yaml --e2b-env A=b >/dev/null 2>&1
check "--e2b-env without a sandbox adapter is refused" [ $? = 2 ]

finish
