#!/usr/bin/env bash
# tests/remote/posthog.sh -- posthog.extractor under --sandbox local gives
# what a local run gives: the same rows, metrics and state.json, the
# state_file of a second run shipped to the sandbox (4 new rows after the
# lookback window's overlap is dropped), and the API key in no file of the
# host run dir or the kept sandbox directory.  The fake PostHog query API is
# tests/fake_posthog/server.mjs (tests/e2e/posthog.sh covers the driver).
#   bash tests/remote/posthog.sh      (from the repo root, after make osiris osiris-worker)
. "$(dirname "$0")/common.sh"
. "$RT_ROOT/tests/fake_posthog/lib.sh"

need_binaries
if ! command -v node >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  fail "node and curl are needed for the fake PostHog"
  finish
  exit
fi
KEY=phx_remote_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export PH_TEST_KEY=$KEY PH_TEST_BAD_KEY=unused
export OSIRIS_KEEP_SANDBOX=1
ph_gen_data "$RT_WORK/data.json"
ph_start "$RT_WORK/data.json" "$KEY" || { fail "fake PostHog did not start"; finish; exit; }
trap 'ph_stop; rt_cleanup' EXIT

metrics_of() { # the ev step's metrics, sorted, as "name=value" lines
  "$PY" -c '
import json,sys
for l in sorted(l for l in open(sys.argv[1]+"/metrics.jsonl")):
    m=json.loads(l)
    if m.get("tags",{}).get("step_id")=="ev" and m["metric"] in ("rows_read","pages_fetched","requests_made","rows_deduplicated"):
        print("%s=%s" % (m["metric"], m["value"]))' "$1" | sort
}
kept_dir() {
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_deleted" and e.get("kept"): print(e["kept"])' "$1"
}

for mode in local sandbox; do
  RT_CASE=$mode
  mkdir -p "$RT_WORK/$mode" && cd "$RT_WORK/$mode" || exit 1
  ph_connections osiris_connections.yaml
  cat >p.yaml <<'EOF'
oml_version: "0.1.0"
name: posthog-remote
steps:
  - id: ev
    component: posthog.extractor
    mode: read
    config:
      connection: "@posthog.self"
      data_type: events
      event_types: [pageview, signup, purchase]
      initial_since: "2024-01-01T00:00:00Z"
      page_size: 100
      state_file: state/ph.json
  - id: out
    component: filesystem.csv_writer
    mode: write
    inputs: {df: ev}
    config:
      path: out.csv
EOF
  ph_stop
  ph_start "$RT_WORK/data.json" "$KEY" || fail "fake PostHog did not restart"
  remote_run "$mode" p.yaml
  dir=$(last_run)
  check "first run succeeds ($RT_OUT)" [ "$RT_RC" = 0 ]
  check "250 rows" [ "$(($(wc -l <out.csv) - 1))" = 250 ]
  check "state.json in the run's artifacts" [ -s "$dir/artifacts/ev/state.json" ]
  cp out.csv "$RT_WORK/first.$mode.csv"
  cp "$dir/artifacts/ev/state.json" "$RT_WORK/state.$mode.json"
  metrics_of "$dir" >"$RT_WORK/metrics1.$mode"
  mkdir -p state && cp "$dir/artifacts/ev/state.json" state/ph.json
  ph_knob data '{"table":"events","append":true,"rows":[
   {"uuid":"30000000-0000-4000-8000-000000000001","event":"signup","timestamp":"2024-01-01T01:24:00Z","distinct_id":"n","person_id":null,"properties":{}},
   {"uuid":"30000000-0000-4000-8000-000000000002","event":"signup","timestamp":"2024-01-01T01:25:00Z","distinct_id":"n","person_id":null,"properties":{}},
   {"uuid":"30000000-0000-4000-8000-000000000003","event":"purchase","timestamp":"2024-01-01T01:26:00Z","distinct_id":"n","person_id":null,"properties":{}},
   {"uuid":"30000000-0000-4000-8000-000000000004","event":"pageview","timestamp":"2024-01-01T01:18:00Z","distinct_id":"late","person_id":null,"properties":{}}]}' >/dev/null
  remote_run "$mode" p.yaml
  dir2=$(last_run)
  check "second run succeeds ($RT_OUT)" [ "$RT_RC" = 0 ]
  check "second run: the 4 new rows only (state read back)" [ "$(($(wc -l <out.csv) - 1))" = 4 ]
  cp out.csv "$RT_WORK/second.$mode.csv"
  metrics_of "$dir2" >"$RT_WORK/metrics2.$mode"
  h=$(grep -rlF -- "$KEY" "$dir" "$dir2" . 2>/dev/null)
  check "no file of the runs holds the key ($h)" [ -z "$h" ]
  if [ "$mode" = sandbox ]; then
    for d in "$dir" "$dir2"; do
      kept=$(kept_dir "$d")
      check "sandbox directory kept for inspection" test -n "$kept" -a -d "$kept"
      if [ -n "$kept" ]; then
        h=$(grep -rlF -- "$KEY" "$kept" 2>/dev/null)
        check "no file of the sandbox holds the key ($h)" [ -z "$h" ]
        rm -rf "$kept"
      fi
    done
  fi
done

RT_CASE=parity
check "first run: same rows local and sandbox" cmp -s "$RT_WORK/first.local.csv" "$RT_WORK/first.sandbox.csv"
check "first run: same state.json" cmp -s "$RT_WORK/state.local.json" "$RT_WORK/state.sandbox.json"
check "first run: same metrics ($(tr '\n' ' ' <"$RT_WORK/metrics1.sandbox"))" cmp -s "$RT_WORK/metrics1.local" "$RT_WORK/metrics1.sandbox"
check "second run: same rows" cmp -s "$RT_WORK/second.local.csv" "$RT_WORK/second.sandbox.csv"
check "second run: same metrics ($(tr '\n' ' ' <"$RT_WORK/metrics2.sandbox"))" cmp -s "$RT_WORK/metrics2.local" "$RT_WORK/metrics2.sandbox"
check "second run: rows_deduplicated=46" grep -qx 'rows_deduplicated=46' "$RT_WORK/metrics2.local"
finish
