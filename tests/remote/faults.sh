#!/usr/bin/env bash
# tests/remote/faults.sh -- faults during a remote run.  Each must end with
# exit 1 (except 429-then-success), status.json naming the reason, the
# sandbox deleted per the fake's state (or the scratch dir removed) and no
# hang (every run is bounded by `timeout 60`):
#   e2b: worker killed mid-run, TTL expiry mid-run, 429 on create then
#        success, 502 while streaming, SIGINT to the host;
#   sandbox local: worker killed mid-run, SIGINT to the host.
#   bash tests/remote/faults.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

mkdir -p "$RT_WORK/f"
cp "$RT_FIX/slow.yaml" "$RT_WORK/f/"
cp -r "$RT_ROOT/examples" "$RT_WORK/f/"
cd "$RT_WORK/f" || exit 1

# run_bg MODE PIPELINE: start a run in the background (BG_PID), bounded by 60 s.
run_bg() {
  local mode=$1 pipeline=$2 cmd
  if [ -n "${RT_DEVRUN:-}" ]; then
    cmd=("$RT_DEVRUN" "$mode" "$pipeline")
  elif [ "$mode" = sandbox ]; then
    cmd=("$OSIRIS" run "$pipeline" --sandbox local)
  else
    cmd=("$OSIRIS" run "$pipeline" --e2b)
  fi
  BG_START=$(date +%s)
  timeout -s KILL 60 "${cmd[@]}" >"$RT_WORK/bg.out" 2>&1 &
  BG_PID=$!
}

# The osiris process itself (timeout's child).
host_pid() { pgrep -P "$BG_PID" | head -1; }

bg_wait() {
  wait "$BG_PID"
  BG_RC=$?
  BG_SECS=$(($(date +%s) - BG_START))
}

# the sandbox id a run used (from its sandbox_created event)
run_sandbox_id() {
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_created": print(e["sandbox_id"])' "$1"
}

expect_failure() { # expect_failure REASON [message-substring]
  local dir
  dir=$(last_run)
  check "exit 1 (got $BG_RC: $(tail -1 "$RT_WORK/bg.out"))" [ "$BG_RC" = 1 ]
  check "no hang (${BG_SECS}s)" [ "$BG_SECS" -lt 55 ]
  check "status.json written" [ -f "$dir/status.json" ]
  check "status.json reason $1 (got $(status_field "$dir" reason))" [ "$(status_field "$dir" reason)" = "$1" ]
  if [ -n "${2:-}" ]; then
    check "message mentions '$2'" grep -q -- "$2" "$dir/status.json"
  fi
  check "run_complete event" grep -q '"event":"run_complete"' "$dir/events.jsonl"
}

expect_deleted() {
  local id
  id=$(run_sandbox_id "$(last_run)")
  check "sandbox created" [ -n "$id" ]
  check "sandbox $id deleted" fake_deleted "$id"
}

# ---------------------------------------------------------------- e2b
RT_CASE=e2b-worker-killed
run_bg e2b slow.yaml
id=$(fake_wait_worker)
sleep 0.5
fake_post "/_fake/sandboxes/$id/signal" '{"signal":"SIGKILL"}' >/dev/null
bg_wait
expect_failure worker_failed "killed"
expect_deleted

RT_CASE=e2b-ttl-expiry
run_bg e2b slow.yaml
id=$(fake_wait_worker)
sleep 0.5
fake_post "/_fake/sandboxes/$id/expire" >/dev/null
bg_wait
expect_failure sandbox_failed "end-stream envelope"
expect_deleted

RT_CASE=e2b-429-then-success
fake_post /_fake/reset >/dev/null
fake_post /_fake/config '{"fail_create":"1,2"}' >/dev/null
rm -f examples/output/movies_by_decade.csv
run_bg e2b examples/movies/pipeline.yaml
bg_wait
check "exit 0 after retries ($(tail -1 "$RT_WORK/bg.out"))" [ "$BG_RC" = 0 ]
check "status ok" [ "$(status_field "$(last_run)" ok)" = true ]
check "output written" [ -s examples/output/movies_by_decade.csv ]
check "three creates (two 429s)" [ "$(fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
print(sum(1 for r in s["requests"] if r["method"]=="POST" and r["path"].rstrip("/").endswith("/sandboxes")))')" = 3 ]
check "retries logged" grep -q "retrying" "$(last_run)/osiris.log"
expect_deleted
fake_post /_fake/config '{"fail_create":null}' >/dev/null

RT_CASE=e2b-ttl-extended
fake_post /_fake/reset >/dev/null
OSIRIS_E2B_TIMEOUT=2 remote_run e2b slow.yaml --timeout 2
check "a run longer than its 2 s TTL succeeds ($RT_OUT)" [ "$RT_RC" = 0 ]
check "TTL extended with POST /sandboxes/<id>/timeout" [ "$(fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
print(1 if any(r["method"]=="POST" and r["path"].endswith("/timeout") and r["status"]==204 for r in s["requests"]) else 0)')" = 1 ]
expect_deleted

RT_CASE=e2b-502-while-streaming
fake_post /_fake/config '{"fail_stream_after_bytes":3000,"fail_stream_mode":"502","fail_stream_times":1}' >/dev/null
run_bg e2b slow.yaml
bg_wait
expect_failure sandbox_failed "HTTP 502"
expect_deleted
fake_post /_fake/config '{"fail_stream_after_bytes":null,"fail_stream_mode":"reset"}' >/dev/null

RT_CASE=e2b-sigint
run_bg e2b slow.yaml
id=$(fake_wait_worker)
sleep 0.5
kill -INT "$(host_pid)"
bg_wait
expect_failure interrupted
expect_deleted
check "worker process ended" fake_get /_fake/state >/dev/null
check "no worker left running" "$PY" -c '
import json,sys
s=json.load(sys.stdin)
sys.exit(1 if any(p["sandboxID"]==sys.argv[1] and not p.get("ended_at") for p in s["processes"]) else 0)' "$id" < <(fake_get /_fake/state)

# ---------------------------------------------------------------- sandbox local
# the worker's pid from the run's worker_started event
worker_pid() {
  local dir
  for _ in $(seq 1 200); do
    dir=$(last_run)
    if [ -n "$dir" ] && [ "$dir" != "$1" ] && grep -q '"worker_started"' "$dir/events.jsonl" 2>/dev/null; then
      grep '"worker_started"' "$dir/events.jsonl" | sed 's/.*"pid":\([0-9]*\).*/\1/'
      return 0
    fi
    sleep 0.05
  done
}

RT_CASE=sandbox-worker-killed
prev=$(last_run)
before=$(ls -d "${TMPDIR:-/tmp}"/osiris-sandbox-* 2>/dev/null | wc -l)
run_bg sandbox slow.yaml
wpid=$(worker_pid "$prev")
sleep 0.5
check "worker pid found" [ -n "$wpid" ]
kill -KILL "$wpid" 2>/dev/null
bg_wait
expect_failure worker_failed "signal 9"
check "scratch dir removed" [ "$(ls -d "${TMPDIR:-/tmp}"/osiris-sandbox-* 2>/dev/null | wc -l)" = "$before" ]
check "step marked failed in status" grep -q '"status": "failed"' "$(last_run)/run_card.json"

RT_CASE=sandbox-sigint
prev=$(last_run)
run_bg sandbox slow.yaml
wpid=$(worker_pid "$prev")
sleep 0.5
kill -INT "$(host_pid)"
bg_wait
expect_failure interrupted
check "worker gone" [ ! -d "/proc/$wpid" ]
check "scratch dir removed" [ "$(ls -d "${TMPDIR:-/tmp}"/osiris-sandbox-* 2>/dev/null | wc -l)" = "$before" ]

finish
