#!/usr/bin/env bash
# tests/remote/faults.sh -- faults during a remote run.  Each must end with
# exit 1 (except 429-then-success and the released runs), status.json
# naming the reason, the sandbox deleted per the fake's state (or the
# scratch dir removed) and no hang (every run is bounded by `timeout 60`):
#   e2b: worker killed mid-run, TTL expiry mid-run, 429 on create then
#        success, a run held past its TTL (extended) then released, 502
#        while streaming, SIGINT to the host;
#   sandbox local: held then released, worker killed mid-run, SIGINT to
#        the host.
# "Mid-run" is a known point, not a guess at how long a query takes: the
# run uses held.yaml and the holding worker of hold_worker_make
# (common.sh), whose step read-held blocks on a FIFO until the test
# releases it; the fault is injected once the host has logged step_start
# of read-held.
#   bash tests/remote/faults.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

mkdir -p "$RT_WORK/f/data"
cp "$RT_FIX/held.yaml" "$RT_WORK/f/"
cp -r "$RT_ROOT/examples" "$RT_WORK/f/"
printf 'id,name\n1,ada\n2,grace\n3,linus\n' >"$RT_WORK/f/data/held.csv"
cd "$RT_WORK/f" || exit 1
hold_worker_make data/held.csv

# run_bg MODE PIPELINE [ARGS...]: start a run in the background (BG_PID), bounded by 60 s.
run_bg() {
  local mode=$1 pipeline=$2 cmd
  shift 2
  if [ -n "${RT_DEVRUN:-}" ]; then
    cmd=("$RT_DEVRUN" "$mode" "$pipeline")
  elif [ "$mode" = sandbox ]; then
    cmd=("$OSIRIS" run "$pipeline" --sandbox local "$@")
  else
    cmd=("$OSIRIS" run "$pipeline" --e2b "$@")
  fi
  BG_START=$(date +%s)
  timeout -s KILL 60 "${cmd[@]}" >"$RT_WORK/bg.out" 2>&1 &
  BG_PID=$!
}

# held_bg MODE [ARGS...]: run held.yaml in the background with the holding
# worker and wait until step read-held has started: from there the worker
# cannot end by itself, whatever the speed of the machine, until
# hold_release.  Sets HOLD_RUN (the host's run directory); fails (and the
# case acts on nothing) when the run was not held.
held_bg() {
  local mode=$1 prev
  shift
  prev=$(last_run)
  OSIRIS_WORKER=$HOLD_WORKER run_bg "$mode" held.yaml "$@"
  hold_wait "$prev" read-held "$BG_PID"
  check "run held in step read-held ($(tail -1 "$RT_WORK/bg.out"))" [ -n "$HOLD_RUN" ]
  [ -n "$HOLD_RUN" ]
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

# the worker's pid from a run's worker_started event
worker_pid() { grep '"worker_started"' "$1/events.jsonl" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'; }

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

# a released held run: exit 0 and the held input copied through
expect_released_ok() {
  check "exit 0 after the release (got $BG_RC: $(tail -1 "$RT_WORK/bg.out"))" [ "$BG_RC" = 0 ]
  check "status ok" [ "$(status_field "$(last_run)" ok)" = true ]
  check "output is the held input" cmp -s data/held.csv output/held.csv
}

# successful POST /sandboxes/ID/timeout requests the fake has seen
ttl_extensions() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
print(sum(1 for r in s["requests"] if r["method"]=="POST" and r["path"].endswith("/"+sys.argv[1]+"/timeout") and r["status"]==204))' "$1"
}

# ---------------------------------------------------------------- e2b
RT_CASE=e2b-worker-killed
if held_bg e2b; then
  id=$(run_sandbox_id "$HOLD_RUN")
  fake_post "/_fake/sandboxes/$id/signal" '{"signal":"SIGKILL"}' >/dev/null
fi
bg_wait
expect_failure worker_failed "killed"
expect_deleted

RT_CASE=e2b-ttl-expiry
if held_bg e2b; then
  id=$(run_sandbox_id "$HOLD_RUN")
  fake_post "/_fake/sandboxes/$id/expire" >/dev/null
fi
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

# A run held past its 2 s TTL.  The host extends the TTL once a second
# (a third of it, at least 1 s) counted from the worker's start, so the
# second extension comes more than 2 s after the sandbox was created: the
# run has outlived the TTL it was created with.  Only then is it released.
RT_CASE=e2b-ttl-extended
fake_post /_fake/reset >/dev/null
rm -f output/held.csv
if OSIRIS_E2B_TIMEOUT=2 held_bg e2b --timeout 2; then
  id=$(run_sandbox_id "$HOLD_RUN")
  for _ in $(seq 1 600); do
    [ "$(ttl_extensions "$id")" -ge 2 ] && break
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.1
  done
  check "TTL extended twice while held (got $(ttl_extensions "$id"))" [ "$(ttl_extensions "$id")" -ge 2 ]
  check "held run released" hold_release "$(hold_fifo "$FAKE_STATE_DIR/$id")" data/held.csv
fi
bg_wait
expect_released_ok
check "TTL extended with POST /sandboxes/<id>/timeout" [ "$(fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
print(1 if any(r["method"]=="POST" and r["path"].endswith("/timeout") and r["status"]==204 for r in s["requests"]) else 0)')" = 1 ]
expect_deleted

# The stream breaks after 3000 bytes of output, whenever they come: any
# pipeline that prints more will do, however fast it runs.
RT_CASE=e2b-502-while-streaming
fake_post /_fake/config '{"fail_stream_after_bytes":3000,"fail_stream_mode":"502","fail_stream_times":1}' >/dev/null
run_bg e2b examples/movies/pipeline.yaml
bg_wait
expect_failure sandbox_failed "HTTP 502"
expect_deleted
fake_post /_fake/config '{"fail_stream_after_bytes":null,"fail_stream_mode":"reset"}' >/dev/null

RT_CASE=e2b-sigint
id=
if held_bg e2b; then
  id=$(run_sandbox_id "$HOLD_RUN")
  kill -INT "$(host_pid)"
fi
bg_wait
expect_failure interrupted
expect_deleted
check "worker process ended" fake_get /_fake/state >/dev/null
check "no worker left running" "$PY" -c '
import json,sys
s=json.load(sys.stdin)
sys.exit(1 if any(p["sandboxID"]==sys.argv[1] and not p.get("ended_at") for p in s["processes"]) else 0)' "$id" < <(fake_get /_fake/state)

# ---------------------------------------------------------------- sandbox local
# The scratch directory of the last run (status.json names it).
scratch_gone() {
  local sid
  sid=$(status_field "$(last_run)" sandbox_id)
  [ -n "$sid" ] && [ ! -e "${TMPDIR:-/tmp}/$sid" ]
}

# The holding worker itself: held, released, the run succeeds.
RT_CASE=sandbox-held-released
rm -f output/held.csv
if held_bg sandbox; then
  wpid=$(worker_pid "$HOLD_RUN")
  check "worker pid found" [ -n "$wpid" ]
  check "held run released" hold_release "$(hold_fifo "/proc/$wpid/cwd/")" data/held.csv
fi
bg_wait
expect_released_ok
check "scratch dir removed" scratch_gone

RT_CASE=sandbox-worker-killed
if held_bg sandbox; then
  wpid=$(worker_pid "$HOLD_RUN")
  check "worker pid found" [ -n "$wpid" ]
  kill -KILL "$wpid" 2>/dev/null
fi
bg_wait
expect_failure worker_failed "signal 9"
check "scratch dir removed" scratch_gone
check "step marked failed in status" grep -q '"status": "failed"' "$(last_run)/run_card.json"

RT_CASE=sandbox-sigint
wpid=
if held_bg sandbox; then
  wpid=$(worker_pid "$HOLD_RUN")
  check "worker pid found" [ -n "$wpid" ]
  kill -INT "$(host_pid)"
fi
bg_wait
expect_failure interrupted
check "worker gone" [ ! -d "/proc/$wpid" ]
check "scratch dir removed" scratch_gone

finish
