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
#     a step that then runs for seconds while the host waits;
#   - Connect failing a few times, Connect failing always (List polled),
#     and Connect answering not_found (the process already forgotten);
#   each exits 0 with events (events_equal), output, status.json verdict
#   and a clean `osiris runs diff` equal to a local run's, logs the drop
#   and the fetch in osiris.log, adds no event, and deletes the sandbox;
#   - envd gone for good (502 on Connect, List and /files) and Connect plus
#     downloads failing for good: exit 1, reason sandbox_failed, a message
#     that says reattaching failed, no hang, the sandbox deleted.
# Also: worker.out in the sandbox holds exactly the lines the host mirrored.
#   bash tests/remote/reattach.sh      (from the repo root, after make)
# shellcheck disable=SC1091,SC2012,SC2034  # common.sh reads RT_CASE
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

RUN_TIMEOUT=${RUN_TIMEOUT:-90}
mkdir -p "$RT_WORK/r"
cp -r "$RT_ROOT/examples" "$RT_WORK/r/"
cp "$RT_FIX/slow.yaml" "$RT_WORK/r/"
cd "$RT_WORK/r" || exit 1

fake_config() { fake_post /_fake/config "$1" >/dev/null; }
fake_counter() { fake_get /_fake/state | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"; }
disarm() {
  fake_config '{"fail_stream_after_bytes":null,"fail_stream_mode":"reset","fail_stream_times":1,"fail_stream_rpc":null,"fail_rpc":{},"fail_download_times":0,"retain_ended_ms":60000}'
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

# cut_case NAME K MODE [extra fake config, JSON members]
cut_case() {
  local before
  RT_CASE=$1
  before=$(fake_counter stream_failures)
  fake_config "{\"fail_stream_after_bytes\":$2,\"fail_stream_mode\":\"$3\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\"${4:+,$4}}"
  run_mode e2b
  check "the Start stream was cut" [ "$(fake_counter stream_failures)" = $((before + 1)) ]
  expect_parity
  disarm
}

# ---------------------------------------------------------------- movies
"$OSIRIS" compile examples/movies/pipeline.yaml >"$RT_WORK/compile.txt" 2>&1
reference "$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml | head -1)" examples/output/movies_by_decade.csv

cut_case early 1 reset
check "osiris.log: dropped after 1 byte" grep -q "dropped after 1 bytes" "$RUN_DIR/osiris.log"
cut_case mid $((SIZE / 2)) reset
cut_case mid-eof $((SIZE / 3)) eof
cut_case before-end $((SIZE - 40)) reset
# not_found: the first Connect and List fail, and by the second Connect envd has forgotten the process
cut_case connect-not-found $((SIZE - 40)) reset '"retain_ended_ms":0,"fail_rpc":{"Connect":1,"List":1}'
check "osiris.log: Connect said not_found" grep -q "had already ended (Connect: not_found" "$RUN_DIR/osiris.log"
check "osiris.log: exit status taken from the output" grep -q "exit status of process [0-9]* is unknown; taken as 0" "$RUN_DIR/osiris.log"

# ---------------------------------------------------------------- a step that runs for seconds
"$OSIRIS" compile slow.yaml --param rows=3000000 >"$RT_WORK/compile.txt" 2>&1
reference "$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml | head -1)" output/slow.csv
# inside the step_start line of the long step: the host reattaches while it runs
K=$(( $(line_offset "$WOUT" '"event":"step_start"' '"step_id":"count-up"') + 60 ))
cut_case big-step "$K" reset
check "osiris.log: reattached, the end came through Connect" grep -q "reattached to process [0-9]*; it ended (exit status 0)" "$RUN_DIR/osiris.log"
cut_case big-step-connect-retried "$K" reset '"fail_rpc":{"Connect":2,"List":2}'
check "osiris.log: retries logged" grep -q "reattaching to process [0-9]* failed .*; retrying in" "$RUN_DIR/osiris.log"
cut_case big-step-list-polled "$K" reset '"fail_rpc":{"Connect":-1}'
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

RT_CASE=envd-gone-for-good
fake_config "{\"fail_stream_after_bytes\":$K,\"fail_stream_mode\":\"502\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\"}"
t0=$(date +%s)
run_mode e2b
SECS=$(($(date +%s) - t0))
expect_failure "reattaching to process [0-9]* failed 5 times"
check "message names the 502" grep -q "HTTP 502" "$RUN_DIR/status.json"
disarm

RT_CASE=connect-and-download-fail-for-good
fake_config "{\"fail_stream_after_bytes\":$K,\"fail_stream_mode\":\"reset\",\"fail_stream_times\":1,\"fail_stream_rpc\":\"Start\",\"fail_rpc\":{\"Connect\":-1},\"fail_download_times\":-1}"
t0=$(date +%s)
run_mode e2b
SECS=$(($(date +%s) - t0))
expect_failure "the rest of the output could not be read"
check "message names the download" grep -q "download of .*worker.out failed: HTTP 503" "$RUN_DIR/status.json"
disarm

finish
