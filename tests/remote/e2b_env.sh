#!/usr/bin/env bash
# tests/remote/e2b_env.sh -- osiris run --e2b-env NAME=VALUE, --e2b-env-from
# FILE and --e2b-pass-env NAME, with --sandbox local and --e2b (against
# tests/fake_e2b):
#  - the values reach the worker as its process environment: a connection
#    whose fields are ${NAME} references unset on the host resolves in the
#    worker (the run succeeds; without the flags it fails), and the fake
#    records them in the worker process's envs;
#  - they reach nothing else: zero hits for any value in every file of the
#    project (logs/ with run and compile dirs, output/), the kept scratch
#    directory, the fake's sandbox directories and its uploads and requests;
#  - events name them (worker_env) without values;
#  - a local in-process run and forbidden names are usage errors (exit 2);
#  - --dry-run prints the plan (names, never values) and creates nothing: no
#    logs/, no output, no scratch directory, no request to E2B.
#   bash tests/remote/e2b_env.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

V_PW='pw-value-4242-Qx'
V_TOKEN='tok-from-file-7781"q'
V_EXTRA='extra value 5512 with spaces'
V_PASS='pass-value-9931-Zr'
VALUES=("$V_PW" "$V_TOKEN" "$V_EXTRA" "$V_PASS" 'tok-from-file-7781')
export ENVTEST_PASS=$V_PASS
export OSIRIS_KEEP_SANDBOX=1

hits() { # files under the given paths holding any of the values
  local v
  for v in "${VALUES[@]}"; do grep -rlF -- "$v" "$@" 2>/dev/null; done | sort -u
}

P=$RT_WORK/proj
mkdir -p "$P/data" "$RT_WORK/private" "$RT_WORK/tmp"
cp "$RT_FIX/data/people.csv" "$P/data/"
cat >"$P/osiris_connections.yaml" <<'EOF'
connections:
  duckdb:
    envd:
      password: ${ENVTEST_PW}
      api_token: ${ENVTEST_TOKEN}
EOF
cat >"$P/p.yaml" <<'EOF'
oml_version: "0.1.0"
name: "worker env"
steps:
  - id: read-people
    component: filesystem.csv_extractor
    mode: read
    config:
      path: data/people.csv
  - id: transform
    component: duckdb.processor
    mode: transform
    needs: [read-people]
    config:
      connection: "@duckdb.envd"
      query: SELECT * FROM df
  - id: write-people
    component: filesystem.csv_writer
    mode: write
    needs: [transform]
    config:
      path: output/people_copy.csv
EOF
# outside the project: the file itself holds the values, of course
printf '# the token for the worker\nENVTEST_TOKEN="%s"\nexport ENVTEST_EXTRA=%s\n' \
  'tok-from-file-7781\"q' "'$V_EXTRA'" >"$RT_WORK/private/worker.env"
cd "$P" || exit 1
ENVFLAGS=(--e2b-env "ENVTEST_PW=$V_PW" --e2b-env-from "$RT_WORK/private/worker.env" --e2b-pass-env ENVTEST_PASS)

for mode in sandbox e2b; do
  RT_CASE=$mode
  rm -rf output
  remote_run "$mode" p.yaml
  check "without the flags the worker lacks ENVTEST_PW (exit 1: $RT_RC)" [ "$RT_RC" = 1 ]
  check "... and says so" grep -q 'ENVTEST_PW is not set' "$RT_WORK/out.txt"
  remote_run "$mode" p.yaml "${ENVFLAGS[@]}"
  dir=$(last_run)
  check "with the flags the worker resolves the connection ($RT_OUT)" [ "$RT_RC" = 0 ]
  check "output written" [ -s output/people_copy.csv ]
  check "event worker_env names the variables" "$PY" -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]+"/events.jsonl")]
w=[e for e in ev if e["event"]=="worker_env"]
sys.exit(0 if len(w)==1 and sorted(w[0]["names"])==["ENVTEST_EXTRA","ENVTEST_PASS","ENVTEST_PW","ENVTEST_TOKEN"] else 1)' "$dir"
  kept=$("$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_deleted" and e.get("kept"): print(e["kept"])' "$dir")
  if [ -n "$kept" ] && [ -d "$kept" ]; then
    h=$(hits "$kept")
    check "no value in the kept package/scratch dir ($h)" [ -z "$h" ]
    rm -rf "$kept"
  elif [ "$mode" = sandbox ]; then
    fail "the scratch directory was not kept (OSIRIS_KEEP_SANDBOX=1)"
  fi
done

RT_CASE=fake
fake_get /_fake/state >"$RT_WORK/state.json"
check "the worker process got all four variables as its environment" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
want=dict(zip(["ENVTEST_PW","ENVTEST_TOKEN","ENVTEST_EXTRA","ENVTEST_PASS"], sys.argv[2:6]))
w=[p for p in s["processes"] if "osiris-worker" in p["cmd"] and "ENVTEST_PW" in p.get("envs",{})]
sys.exit(0 if w and all(w[-1]["envs"].get(k)==v for k,v in want.items()) else 1)' "$RT_WORK/state.json" "$V_PW" 'tok-from-file-7781"q' "$V_EXTRA" "$V_PASS"
check "no value in the fake's uploads, requests or sandboxes" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
blob=json.dumps({k:s.get(k) for k in ("uploads","requests","live","deleted")})
sys.exit(1 if any(x in blob or json.dumps(x)[1:-1] in blob for x in sys.argv[2:]) else 0)' "$RT_WORK/state.json" "${VALUES[@]}"
check "sandbox envVars unused (the values are the worker process's only)" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
sys.exit(0 if all(not d.get("envVars") for d in s["deleted"]) else 1)' "$RT_WORK/state.json"
h=$(hits "$FAKE_STATE_DIR")
check "no value on the fake's sandbox disks ($h)" [ -z "$h" ]
h=$(hits "$P")
check "no value in any file of the project: logs/ (runs, compiles), output/ ($h)" [ -z "$h" ]

# ----------------------------------------------------------- usage errors
RT_CASE=usage
usage() { # usage DESCRIPTION ARGS...: osiris run ARGS exits 2, creates no run
  local what=$1 before
  shift
  before=$(ls -d logs/run_* 2>/dev/null | wc -l)
  "$OSIRIS" run p.yaml "$@" >"$RT_WORK/out.txt" 2>&1 </dev/null
  RT_RC=$?
  check "$what: exit 2 ($RT_RC: $(head -c 200 "$RT_WORK/out.txt"))" [ "$RT_RC" = 2 ]
  check "$what: no run directory" [ "$(ls -d logs/run_* 2>/dev/null | wc -l)" = "$before" ]
}
usage "in-process run" "${ENVFLAGS[@]}"
usage "E2B_API_KEY" --sandbox local --e2b-env E2B_API_KEY=x
usage "PATH" --sandbox local --e2b-env PATH=/x
usage "OSIRIS_SECRET_0" --sandbox local --e2b-env OSIRIS_SECRET_0=x
usage "a bad name" --sandbox local --e2b-env 9LIVES=x
usage "no '='" --sandbox local --e2b-env NOVALUE
usage "unset --e2b-pass-env" --sandbox local --e2b-pass-env ENVTEST_SURELY_UNSET
usage "missing --e2b-env-from file" --sandbox local --e2b-env-from "$RT_WORK/no-such.env"

# ----------------------------------------------------------- --dry-run
RT_CASE=dry-run
D=$RT_WORK/dry
mkdir -p "$D/data" && cp "$P/p.yaml" "$P/osiris_connections.yaml" "$D/" && cp "$P/data/people.csv" "$D/data/"
cd "$D" || exit 1
fake_get /_fake/state >"$RT_WORK/before.json"
for mode in local sandbox e2b; do
  args=(run p.yaml --dry-run)
  [ "$mode" = sandbox ] && args+=(--sandbox local "${ENVFLAGS[@]}")
  [ "$mode" = e2b ] && args+=(--e2b "${ENVFLAGS[@]}")
  TMPDIR=$RT_WORK/tmp "$OSIRIS" "${args[@]}" >"$RT_WORK/plan.$mode" 2>&1 </dev/null
  check "$mode: exit 0 ($(head -c 300 "$RT_WORK/plan.$mode"))" [ $? = 0 ]
  check "$mode: the plan lists the steps in order" grep -q '3\. write-people' "$RT_WORK/plan.$mode"
  h=$(hits "$RT_WORK/plan.$mode")
  check "$mode: no value in the plan" [ -z "$h" ]
  TMPDIR=$RT_WORK/tmp "$OSIRIS" --json "${args[@]}" >"$RT_WORK/plan.$mode.json" 2>&1 </dev/null
  check "$mode: --json before the command: a JSON plan" "$PY" -c '
import json,sys
p=json.load(open(sys.argv[1]))
assert p["dry_run"] is True and [s["id"] for s in p["steps"]]==["read-people","transform","write-people"]
assert p["adapter"]==sys.argv[2]
if sys.argv[2]!="local":
    up={f["path"]:f["bytes"] for f in p["upload"]}
    assert up["data/people.csv"]==int(sys.argv[3]), up
    assert up["manifest.yaml"]>0 and up["osiris-worker"]>0 and up["cfg/transform.json"]>0
    assert "output/people_copy.csv" in [f["path"] for f in p["bring_back"]]
    assert {"ENVTEST_PW","ENVTEST_TOKEN","ENVTEST_EXTRA","ENVTEST_PASS"} <= set(p["worker_env"])
else:
    assert "upload" not in p' "$RT_WORK/plan.$mode.json" "$([ "$mode" = sandbox ] && echo sandbox || echo "$mode")" \
    "$(wc -c <data/people.csv)"
done
check "e2b plan names the variables" grep -q 'ENVTEST_PW' "$RT_WORK/plan.e2b"
check "e2b plan shows sizes" grep -qE 'data/people.csv +[0-9]+ bytes' "$RT_WORK/plan.e2b"
check "nothing created in the project (no logs/, no output/)" [ "$(ls -A | sort | tr '\n' ' ')" = "data osiris_connections.yaml p.yaml " ]
check "no scratch or compile directory left in TMPDIR" [ -z "$(ls -A "$RT_WORK/tmp")" ]
fake_get /_fake/state >"$RT_WORK/after.json"
check "no request reached E2B (no sandbox)" "$PY" -c '
import json,sys
a,b=(json.load(open(f)) for f in sys.argv[1:3])
real=lambda s: [r for r in s["requests"] if not r["path"].startswith("/_fake")]
sys.exit(0 if real(a)==real(b) and a["counters"]["creates"]==b["counters"]["creates"] and a["live"]==b["live"] else 1)' \
  "$RT_WORK/before.json" "$RT_WORK/after.json"

finish
