#!/usr/bin/env bash
# tests/remote/reattach.sh -- an --e2b run whose output stream breaks while
# the worker keeps running (tests/fake_e2b: fail_stream_after_bytes cuts the
# Start stream after K bytes of output; fail_rpc and fail_download_times
# make Connect, List or GET /files fail).  The host reattaches with
# process.Process/Connect (or waits through Process/List), then reads the
# rest of the worker's stdout from <session>/worker.out, so every line is
# mirrored once and in order:
#   - cut early (1 byte), mid-run, right before the end (in the last line),
#     with the socket reset or the body ended cleanly, and in the middle of
#     a step that goes on only once the host has reattached;
#   - Connect failing a few times, Connect failing always (List polled),
#     and Connect answering not_found (the process already forgotten);
#   each exits 0 with events (events_equal), output, status.json verdict
#   and a clean `osiris runs diff` equal to a local run's, logs the drop
#   and the fetch in osiris.log, adds no event, and deletes the sandbox;
#   - envd gone for good (502 on Connect, List and /files) and Connect plus
#     downloads failing for good: exit 1, reason sandbox_failed, a message
#     that says reattaching failed, no hang, the sandbox deleted.
# Also: worker.out in the sandbox holds exactly the lines the host mirrored.
# No case bets on how long the worker runs: each holds it at a known point
# after the cut (common.sh) -- past its last line (hold_exit_worker_make) or
# blocked in step read-held of held.yaml (hold_worker_make) -- until the
# host has reattached or logged what List showed, and only then lets it go.
# connect-not-found also holds the host's second Connect (the fake's
# hold_rpc) until the worker has ended and been forgotten.
#   bash tests/remote/reattach.sh      (from the repo root, after make)
# shellcheck disable=SC1091,SC2012,SC2034  # common.sh reads RT_CASE
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

RUN_TIMEOUT=${RUN_TIMEOUT:-90}
mkdir -p "$RT_WORK/r/data"
cp -r "$RT_ROOT/examples" "$RT_WORK/r/"
cp "$RT_FIX/held.yaml" "$RT_WORK/r/"
printf 'id,name\n1,ada\n2,grace\n3,linus\n' >"$RT_WORK/r/data/held.csv"
cd "$RT_WORK/r" || exit 1
hold_worker_make data/held.csv
hold_exit_worker_make

fake_config() { fake_post /_fake/config "$1" >/dev/null; }
fake_counter() { fake_get /_fake/state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"; }
disarm() {
  fake_config '{"fail_stream_after_bytes":null,"fail_stream_mode":"reset","fail_stream_times":1,"fail_stream_rpc":null,"fail_rpc":{},"hold_rpc":[],"fail_download_times":0,"retain_ended_ms":60000}'
}

run_sandbox_id() {
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_created": print(e["sandbox_id"])' "$1"
}

# worker.out of a run, as the fake's sandbox directory still holds it
worker_out() {
  local dir=$1 sid
  sid=$(run_sandbox_id "$dir")
  echo "$FAKE_STATE_DIR/$sid/home/user/session/${dir##*/run_}/worker.out"
}

# byte offset of the first line of worker.out containing every given string
line_offset() { # FILE STRING...
  "$PY" - "$@" <<'EOF'
import sys
path, needles = sys.argv[1], [s.encode() for s in sys.argv[2:]]
off = 0
for line in open(path, "rb"):
    if all(n in line for n in needles):
        print(off)
        break
    off += len(line)
EOF
}

# event names of a run, transport events included
all_event_names() {
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"): print(json.loads(l)["event"])' "$1" | sort | uniq -c
}

# MANIFEST OUTPUT: reference local run (REF_DIR) and clean e2b run (CLEAN_DIR)
reference() {
  MANIFEST=$1
  RUN_OUTPUT=$2
  RT_CASE=reference-$(basename "$RUN_OUTPUT")
  run_mode local
  REF_DIR=$RUN_DIR
  check "local run exit 0 ($RT_OUT)" [ "$RT_RC" = 0 ]
  cp "$RUN_OUTPUT" "$RT_WORK/ref.out" 2>/dev/null
  run_mode e2b
  CLEAN_DIR=$RUN_DIR
  check "clean e2b run exit 0 ($RT_OUT)" [ "$RT_RC" = 0 ]
  WOUT=$(worker_out "$CLEAN_DIR")
  check "worker.out written in the sandbox session" [ -s "$WOUT" ]
  check "worker.out ends with the cleanup response" \
    sh -c "tail -1 '$WOUT' | grep -q '\"type\":\"response\",\"cmd\":\"cleanup\",\"ok\":true'"
  check "worker.out's events are the host's mirrored events, in order" "$PY" - "$WOUT" "$CLEAN_DIR" <<'EOF'
import json, sys
key = lambda e: (e["event"], e.get("step_id"), e.get("ts"))
w = [key(json.loads(l)) for l in open(sys.argv[1]) if l.startswith('{"type":"event"')]
h = [key(json.loads(l)) for l in open(sys.argv[2] + "/events.jsonl")]
sys.exit(0 if w and any(h[i:i + len(w)] == w for i in range(len(h) - len(w) + 1)) else 1)
EOF
  SIZE=$(wc -c <"$WOUT")
}

# expect_parity: the last run equals the local reference
expect_parity() {
  local dir=$RUN_DIR sid
  check "exit 0 ($RT_OUT)" [ "$RT_RC" = 0 ]
  [ -n "$dir" ] || { fail "no run directory"; return; }
  check "status ok" [ "$(status_field "$dir" ok)" = true ]
  check "events equal local" events_equal "$REF_DIR" "$dir"
  check "the same events as the clean e2b run (no new event)" [ "$(all_event_names "$CLEAN_DIR")" = "$(all_event_names "$dir")" ]
  check "metrics lines as many as the clean e2b run" [ "$(wc -l <"$CLEAN_DIR/metrics.jsonl")" = "$(wc -l <"$dir/metrics.jsonl")" ]
  check "output byte-identical" cmp -s "$RT_WORK/ref.out" "$RUN_OUTPUT"
  "$OSIRIS" runs diff "$REF_DIR" "$dir" >"$RT_WORK/diff.txt" 2>&1
  check "osiris runs diff clean ($(grep -v '^  ' "$RT_WORK/diff.txt" | head -3))" [ $? = 0 ]
  check "no unreadable line" [ "$(grep -c 'unreadable output line' "$dir/osiris.log")" = 0 ]
  check "osiris.log: stream dropped after N bytes" grep -q "output stream dropped after [0-9]* bytes" "$dir/osiris.log"
  check "osiris.log: fetched the rest of worker.out" grep -q "fetched [0-9]* bytes from .*worker.out" "$dir/osiris.log"
  sid=$(run_sandbox_id "$dir")
  check "sandbox $sid deleted" fake_deleted "$sid"
}

# ---------------------------------------------------------------- holding a run
# held_start WORKER: start the e2b run of $MANIFEST in the background with
# that worker (HELD_PID), after removing $RUN_OUTPUT.
held_start() {
  HELD_PREV=$(last_run)
  HELD_SID=
  rm -f "$RUN_OUTPUT"
  env OSIRIS_WORKER="$1" timeout -k 5 "$RUN_TIMEOUT" "$OSIRIS" run "$MANIFEST" --e2b \
    >"$RT_WORK/out.txt" 2>&1 </dev/null &
  HELD_PID=$!
}

# held_end: wait for the held run; sets RT_RC, RT_OUT and RUN_DIR as run_mode does.
held_end() {
  wait "$HELD_PID"
  RT_RC=$?
  RT_OUT=$(tail -c 400 "$RT_WORK/out.txt")
  RUN_DIR=$(last_run)
  [ "$RUN_DIR" != "$HELD_PREV" ] || RUN_DIR=
}

# until_ok COMMAND...: until COMMAND succeeds; 60 s at most, and no longer
# than the held run lives.
until_ok() {
  local _
  for _ in $(seq 1 600); do
    "$@" && return 0
    kill -0 "$HELD_PID" 2>/dev/null || break
    sleep 0.1
  done
  "$@"
}

# held_sandbox: sets HELD_SID once the held run has created its sandbox.
held_sandbox() {
  local dir
  dir=$(last_run)
  [ -n "$dir" ] && [ "$dir" != "$HELD_PREV" ] || return 1
  HELD_SID=$(run_sandbox_id "$dir" 2>/dev/null)
  [ -n "$HELD_SID" ]
}

# fake_state_has EXPR: the Python expression EXPR holds of the fake's state,
# with s the state, sid the held run's sandbox, sb its record (a list of
# one) and worker the worker processes started in it.
fake_state_has() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin); sid=sys.argv[2]
sb=[x for x in s["live"]+s["deleted"] if x["sandboxID"]==sid]
worker=[p for p in s["processes"] if p["sandboxID"]==sid and "osiris-worker" in p["cmd"]]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "$HELD_SID"
}

run_log_has() { grep -q -- "$1" "$(last_run)/osiris.log" 2>/dev/null; }

# held_run HOLD UNTIL: run $MANIFEST on E2B with the worker held -- HOLD
# exit: past its last line (hold_exit_worker_make); step: in step read-held
# of held.yaml (hold_worker_make) -- and let it go once the host has come to
# UNTIL:
#   attached   it reattached: a Connect stream of the sandbox is open (the
#              Start stream closed at the cut);
#   listed     Connect failed and List showed the worker running (osiris.log);
#   forgotten  a Connect of the host is parked (hold_rpc): the worker is let
#              go, and that Connect too once the fake has seen the worker end;
#   never      it is never let go: the sandbox's deletion ends it.
# Sets RT_RC, RT_OUT, RUN_DIR; HELD_SID the sandbox.
held_run() {
  local hold=$1 until=$2 release=data/held.csv worker=$HOLD_WORKER before
  if [ "$hold" = exit ]; then
    release=/dev/null
    worker=$HOLD_EXIT_WORKER
  fi
  before=$(fake_counter stream_failures)
  held_start "$worker"
  if ! until_ok held_sandbox; then
    fail "the run created no sandbox ($(tail -1 "$RT_WORK/out.txt"))"
    kill "$HELD_PID" 2>/dev/null
    held_end
    return
  fi
  case $until in
    attached)
      check "the host reattached with Connect while the worker was held" until_ok fake_state_has \
        "s['counters']['stream_failures'] > $before and sb and sb[0]['open_streams'] > 0" ;;
    listed)
      check "List showed the worker running while it was held" until_ok run_log_has "but it still runs; retrying" ;;
    forgotten)
      check "a Connect of the host held while the worker was held" until_ok fake_state_has \
        "any(h['method'] == 'Connect' and h['sandbox'] == sid for h in s['held_rpcs'])" ;;
    never)
      held_end
      return ;;
  esac
  check "worker released" hold_release "$(hold_fifo "$FAKE_STATE_DIR/$HELD_SID")" "$release"
  if [ "$until" = forgotten ]; then
    check "the worker ended before the held Connect went on" until_ok fake_state_has "worker and worker[-1]['ended_at']"
    fake_config '{"hold_rpc":[]}'
  fi
  held_end
}

# cut_case NAME K MODE HOLD UNTIL [extra fake config, JSON members]: the
# Start stream is cut after K bytes (MODE reset | eof) of a held run
# (held_run HOLD UNTIL), which then equals the local reference.
cut_case() {
  local before
  RT_CASE=$1
  before=$(fake_counter stream_failures)
  fake_config "{\"fail_stream_after_bytes\":$2,\"fail_stream_mode\":\"$3\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\"${6:+,$6}}"
  held_run "$4" "$5"
  check "the Start stream was cut" [ "$(fake_counter stream_failures)" = $((before + 1)) ]
  expect_parity
  disarm
}

# ---------------------------------------------------------------- movies
# Held past its last line: wherever the cut falls, the worker still runs
# when the host reattaches.  The example on the SQLite engine: a DuckDB
# pipeline runs on osiris-worker-dyn, not on the OSIRIS_WORKER that holds.
sed -e 's/component: duckdb.processor/component: sql.processor/' -e 's#year // 10#year / 10#' \
  examples/movies/pipeline.yaml >examples/movies/pipeline_sqlite.yaml
"$OSIRIS" compile examples/movies/pipeline_sqlite.yaml >"$RT_WORK/compile.txt" 2>&1
reference "$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml | head -1)" examples/output/movies_by_decade.csv

cut_case early 1 reset exit attached
check "osiris.log: dropped after 1 byte" grep -q "dropped after 1 bytes" "$RUN_DIR/osiris.log"
cut_case mid $((SIZE / 2)) reset exit attached
cut_case mid-eof $((SIZE / 3)) eof exit attached
cut_case before-end $((SIZE - 40)) reset exit attached
# not_found: the first Connect and List fail, and the second Connect waits
# (hold_rpc) until the worker has ended and envd has forgotten it
# (retain_ended_ms 0)
cut_case connect-not-found $((SIZE - 40)) reset exit forgotten \
  '"retain_ended_ms":0,"fail_rpc":{"Connect":1,"List":1},"hold_rpc":["Connect"]'
check "osiris.log: Connect said not_found" grep -q "had already ended (Connect: not_found" "$RUN_DIR/osiris.log"
check "osiris.log: exit status taken from the output" grep -q "exit status of process [0-9]* is unknown; taken as 0" "$RUN_DIR/osiris.log"

# ---------------------------------------------------------------- a step held while the host reattaches
"$OSIRIS" compile held.yaml >"$RT_WORK/compile.txt" 2>&1
reference "$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml | head -1)" output/held.csv
# inside the step_start line of read-held, whose step then blocks until released
K=$(( $(line_offset "$WOUT" '"event":"step_start"' '"step_id":"read-held"') + 60 ))
cut_case mid-step "$K" reset step attached
check "osiris.log: reattached, the end came through Connect" grep -q "reattached to process [0-9]*; it ended (exit status 0)" "$RUN_DIR/osiris.log"
cut_case mid-step-connect-retried "$K" reset step attached '"fail_rpc":{"Connect":2,"List":2}'
check "osiris.log: retries logged" grep -q "reattaching to process [0-9]* failed .*; retrying in" "$RUN_DIR/osiris.log"
cut_case mid-step-list-polled "$K" reset step listed '"fail_rpc":{"Connect":-1}'
check "osiris.log: List showed the worker still running" grep -q "but it still runs; retrying" "$RUN_DIR/osiris.log"
check "osiris.log: List showed the worker ended" grep -q "is no longer listed: it has ended" "$RUN_DIR/osiris.log"

# ---------------------------------------------------------------- permanent failures
# expect_failure MESSAGE: exit 1, sandbox_failed, no hang, sandbox deleted
expect_failure() {
  local dir=$RUN_DIR sid
  check "exit 1 ($RT_OUT)" [ "$RT_RC" = 1 ]
  check "no hang (${SECS}s)" [ "$SECS" -lt 60 ]
  [ -n "$dir" ] || { fail "no run directory"; return; }
  check "status.json reason sandbox_failed (got $(status_field "$dir" reason))" [ "$(status_field "$dir" reason)" = sandbox_failed ]
  check "message: $1" grep -q -- "$1" "$dir/status.json"
  check "run_complete event" grep -q '"event":"run_complete"' "$dir/events.jsonl"
  sid=$(run_sandbox_id "$dir")
  check "sandbox $sid deleted" fake_deleted "$sid"
}

# The worker stays held in read-held while the host gives up: the
# sandbox's deletion is what ends it.
RT_CASE=envd-gone-for-good
fake_config "{\"fail_stream_after_bytes\":$K,\"fail_stream_mode\":\"502\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\"}"
t0=$(date +%s)
held_run step never
SECS=$(($(date +%s) - t0))
expect_failure "reattaching to process [0-9]* failed 5 times"
check "message names the 502" grep -q "HTTP 502" "$RUN_DIR/status.json"
check "the worker was held until the sandbox was deleted" fake_state_has "worker and worker[-1]['killed_by'] == 'deleted'"
disarm

RT_CASE=connect-and-download-fail-for-good
fake_config "{\"fail_stream_after_bytes\":$K,\"fail_stream_mode\":\"reset\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\",\"fail_rpc\":{\"Connect\":-1},\"fail_download_times\":-1}"
t0=$(date +%s)
held_run step listed
SECS=$(($(date +%s) - t0))
expect_failure "the rest of the output could not be read"
check "message names the download" grep -q "download of .*worker.out failed: HTTP 503" "$RUN_DIR/status.json"
disarm

finish
