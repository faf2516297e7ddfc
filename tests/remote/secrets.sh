#!/usr/bin/env bash
# tests/remote/secrets.sh -- a connection's password from the environment
# reaches the worker only as process environment: zero hits for the secret
# values in the host run dir, the kept scratch directory, the fake's sandbox
# directories and its upload/request log.  The run must still work (the
# worker resolves the connection from its environment).
#   bash tests/remote/secrets.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

export RT_SECRET_PW='Zq8-s3cr3t"pa55\word'
export RT_SECRET_TOKEN='tok_9f8e7d6c5b4a'
export OSIRIS_KEEP_SANDBOX=1
SECRETS=("$RT_SECRET_PW" "$RT_SECRET_TOKEN" 'Zq8-s3cr3t' "$E2B_API_KEY")

# hits DIR...: files holding any secret value (E2B_API_KEY included)
hits() {
  local s
  for s in "${SECRETS[@]}"; do grep -rlF -- "$s" "$@" 2>/dev/null; done | sort -u
}

mkdir -p "$RT_WORK/sec"
cp -r "$RT_FIX/data" "$RT_FIX/secret_conn.yaml" "$RT_FIX/osiris_connections.yaml" "$RT_WORK/sec/"
cd "$RT_WORK/sec" || exit 1

for mode in local sandbox e2b; do
  RT_CASE=$mode
  rm -rf output
  remote_run "$mode" secret_conn.yaml
  dir=$(last_run)
  check "run succeeds ($RT_OUT)" [ "$RT_RC" = 0 ]
  check "output written" [ -s output/people_copy.csv ]
  check "password masked in cleaned_config" grep -q '"password": "\*\*\*MASKED\*\*\*"' "$dir/artifacts/read-people/cleaned_config.json"
  h=$(hits "$dir")
  check "no secret in the host run dir ($h)" [ -z "$h" ]
  if [ "$mode" != local ]; then
    kept=$("$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_deleted" and e.get("kept"): print(e["kept"])' "$dir")
    check "package dir kept for inspection" test -n "$kept" -a -d "$kept"
    h=$(hits "$kept")
    check "no secret in the scratch/package dir ($h)" [ -z "$h" ]
    check "connections shipped as env references" grep -qs 'OSIRIS_SECRET_' "$kept"/*/osiris_connections.yaml "$kept"/osiris_connections.yaml
    rm -rf "$kept"
  fi
done

RT_CASE=fake
h=$(hits "$FAKE_STATE_DIR")
check "no secret in the fake's sandbox dirs ($h)" [ -z "$h" ]
fake_get /_fake/state >"$RT_WORK/state.json"
check "no secret in the fake's uploads and requests" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
blob=json.dumps({"uploads":s["uploads"],"requests":s["requests"],"live":s["live"],"deleted":s["deleted"]})
sys.exit(1 if any(x in blob for x in sys.argv[2:]) else 0)' "$RT_WORK/state.json" "${SECRETS[@]}"
check "the secret reached the worker as process env" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
w=[p for p in s["processes"] if "osiris-worker" in p["cmd"]]
sys.exit(0 if w and any(sys.argv[2] in p["envs"].values() for p in w) else 1)' "$RT_WORK/state.json" "$RT_SECRET_PW"
check "sandbox envVars unused, E2B_API_KEY never in the sandbox" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
sys.exit(0 if all(not d.get("envVars") for d in s["deleted"]) and not any(sys.argv[2] in json.dumps(p) for p in s["processes"]) else 1)' "$RT_WORK/state.json" "$E2B_API_KEY"

# Every file osiris wrote under logs/ (all three runs, compile dirs too)
h=$(hits logs output)
check "no secret anywhere under logs/ or output/ ($h)" [ -z "$h" ]

finish
