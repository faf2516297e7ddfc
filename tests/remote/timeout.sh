#!/usr/bin/env bash
# tests/remote/timeout.sh -- run and step timeouts in --sandbox local and
# --e2b (against the fake E2B).
#
# Every run is held at a known point: the holding worker of
# hold_worker_make (common.sh) turns the step's input into a FIFO nobody
# writes, so step read-held blocks in open() inside the worker and can
# never end by itself, whatever the speed of the machine.  Only a bound
# ends it: the step's own (steps[0].timeout, enforced by the worker), the
# pipeline's timeout or --timeout (enforced by the host, which stops the
# worker).  Each run must end with exit 1, status.json reason timed_out
# naming read-held and the bound, the step_timeout event in the host's
# events.jsonl, write-held skipped, no output, and the sandbox deleted (per
# the fake's state) or the scratch directory removed.  An E2B sandbox lives
# the run's bound + 60 s and is never extended.  And a worker that stops
# reporting once a step has started, and ignores SIGTERM (the hang worker
# below), is stopped by the host itself 5 s after the step's bound: the
# run says timed_out for that step all the same.  `timeout` around each
# run is only a hang guard.
#   bash tests/remote/timeout.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

mkdir -p "$RT_WORK/t/data"
cd "$RT_WORK/t" || exit 1
printf 'id,name\n1,ada\n' >data/held.csv
hold_worker_make data/held.csv

# hang_worker_make: $RT_WORK/hang-worker (HANG_WORKER), to be used as
# OSIRIS_WORKER: runs the real worker (carried as a payload, as in
# hold_worker_make), forwards its output up to the first step_start, then
# forwards nothing more and never exits by itself; SIGTERM is ignored.
hang_worker_make() {
  local head off
  HANG_WORKER=$RT_WORK/hang-worker
  head=$(cat <<'EOS'
#!/bin/sh
# osiris test worker: goes silent once a step starts (tests/remote/timeout.sh)
trap '' TERM INT
/usr/bin/tail -c +@OFF@ "$0" >"$0.real" && /bin/chmod 755 "$0.real" || exit 125
"$0.real" "$@" | while IFS= read -r line; do
  printf '%s\n' "$line"
  case $line in *'"event":"step_start"'*) exec /bin/sleep 3600 ;; esac
done
exit 125
EOS
)
  head=${head/@OFF@/@@@@@@@@@@}
  off=$(printf '%010d' $((${#head} + 2)))
  { printf '%s\n' "${head/@@@@@@@@@@/$off}"; cat "$OSIRIS_WORKER"; } >"$HANG_WORKER"
  chmod 755 "$HANG_WORKER"
}
hang_worker_make

# held_pipeline FILE [STEP-TIMEOUT] [PIPELINE-TIMEOUT]: held.yaml with bounds
held_pipeline() {
  {
    echo 'oml_version: "0.1.0"'
    echo 'name: "held"'
    [ -n "${3:-}" ] && echo "timeout: $3"
    echo 'steps:'
    echo '  - id: read-held'
    echo '    component: filesystem.csv_extractor'
    echo '    mode: read'
    [ -n "${2:-}" ] && echo "    timeout: $2"
    cat <<'YAML'
    config:
      path: data/held.csv
  - id: write-held
    component: filesystem.csv_writer
    mode: write
    needs: [read-held]
    config:
      path: output/held.csv
YAML
  } >"$1"
}

# run_held MODE PIPELINE [ARGS...]: run it with the holding worker (RT_RC, RUN_DIR)
run_held() {
  local mode=$1 prev
  MANIFEST=$2
  shift 2
  prev=$(last_run)
  rm -rf output
  local args=("$OSIRIS" run "$MANIFEST")
  case $mode in
    sandbox) args+=(--sandbox local) ;;
    e2b) args+=(--e2b) ;;
  esac
  OSIRIS_WORKER=${USE_WORKER:-$HOLD_WORKER} timeout -s KILL 90 "${args[@]}" "$@" >"$RT_WORK/out.txt" 2>&1 </dev/null
  RT_RC=$?
  RUN_DIR=$(last_run)
  [ "$RUN_DIR" != "$prev" ] || RUN_DIR=
}

ev_field() { # ev_field EVENT STEP KEY: the key of the first such event in RUN_DIR
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]==sys.argv[2] and e.get("step_id")==sys.argv[3]:
        print(e.get(sys.argv[4])); break' "$RUN_DIR" "$1" "$2" "$3" 2>/dev/null
}

# expect_timed_out BOUND MESSAGE
expect_timed_out() {
  check "exit 1 (got $RT_RC: $(tail -1 "$RT_WORK/out.txt"))" [ "$RT_RC" = 1 ]
  check "a run directory" [ -n "$RUN_DIR" ]
  [ -n "$RUN_DIR" ] || return
  check "status.json reason timed_out (got $(status_field "$RUN_DIR" reason))" \
    [ "$(status_field "$RUN_DIR" reason)" = timed_out ]
  check "status.json names read-held" grep -q '"step_id": "read-held"' "$RUN_DIR/status.json"
  check "status.json says: $2" grep -qF -- "$2" "$RUN_DIR/status.json"
  check "step_timeout names the bound $1 (got $(ev_field step_timeout read-held bound))" \
    [ "$(ev_field step_timeout read-held bound)" = "$1" ]
  check "step_timeout says how long the step ran" [ -n "$(ev_field step_timeout read-held elapsed_ms)" ]
  check "write-held skipped" [ "$(ev_field step_skipped write-held reason)" = "step read-held failed" ]
  check "run_complete" grep -q '"event":"run_complete"' "$RUN_DIR/events.jsonl"
  check "no output" [ ! -e output/held.csv ]
}

scratch_gone() {
  local sid
  sid=$(status_field "$RUN_DIR" sandbox_id)
  [ -n "$sid" ] && [ ! -e "${TMPDIR:-/tmp}/$sid" ]
}

sandbox_id_of() {
  "$PY" -c '
import json,sys
for l in open(sys.argv[1]+"/events.jsonl"):
    e=json.loads(l)
    if e["event"]=="sandbox_created": print(e["sandbox_id"])' "$RUN_DIR" 2>/dev/null
}

# the lifetime the sandbox was created with, and the extensions the fake saw
create_timeout() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
for sb in s.get("sandboxes", []) + s.get("live", []):
    if isinstance(sb, dict) and sb.get("sandboxID")==sys.argv[1]:
        print(int(round((sb["endAt"]-sb["startedAt"])/1000)) if "endAt" in sb and "startedAt" in sb else ""); break' "$1"
}
ttl_posts() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
print(sum(1 for r in s["requests"] if r["method"]=="POST" and r["path"].endswith("/timeout")))'
}

held_pipeline step.yaml 1
held_pipeline pipe.yaml "" 1.5
held_pipeline both.yaml 600 600

for mode in sandbox e2b; do
  RT_CASE=$mode-step-timeout
  fake_post /_fake/reset >/dev/null
  run_held "$mode" step.yaml
  expect_timed_out "steps[0].timeout" "step read-held exceeded its timeout of 1 s (steps[0].timeout)"
  if [ "$mode" = sandbox ]; then
    check "scratch dir removed" scratch_gone
  else
    id=$(sandbox_id_of)
    check "sandbox created" [ -n "$id" ]
    check "sandbox $id deleted" fake_deleted "$id"
  fi

  RT_CASE=$mode-pipeline-timeout
  fake_post /_fake/reset >/dev/null
  run_held "$mode" pipe.yaml
  expect_timed_out timeout "the run exceeded its timeout of 1.5 s (timeout in the pipeline)"
  if [ "$mode" = sandbox ]; then
    check "scratch dir removed" scratch_gone
  else
    id=$(sandbox_id_of)
    check "sandbox $id deleted" fake_deleted "$id"
    check "sandbox_created says a lifetime of 62 s (1.5 s rounded up + 60)" \
      grep -q '"event":"sandbox_created".*"timeout_s":62' "$RUN_DIR/events.jsonl"
    check "no TTL extension with a run bound (got $(ttl_posts))" [ "$(ttl_posts)" = 0 ]
  fi

  RT_CASE=$mode-cli-timeout-smaller
  fake_post /_fake/reset >/dev/null
  run_held "$mode" both.yaml --timeout 2
  expect_timed_out --timeout "the run exceeded its timeout of 2 s (--timeout)"
  if [ "$mode" = sandbox ]; then
    check "scratch dir removed" scratch_gone
  else
    id=$(sandbox_id_of)
    check "sandbox $id deleted" fake_deleted "$id"
    check "sandbox_created says a lifetime of 62 s" \
      grep -q '"event":"sandbox_created".*"timeout_s":62' "$RUN_DIR/events.jsonl"
  fi

  # The worker goes silent in read-held (which has a 1 s bound): the host
  # stops it 1 s + 5 s after step_start, whatever the worker does.
  RT_CASE=$mode-silent-worker
  fake_post /_fake/reset >/dev/null
  USE_WORKER=$HANG_WORKER run_held "$mode" step.yaml
  expect_timed_out "steps[0].timeout" "step read-held exceeded its timeout of 1 s (steps[0].timeout)"
  check "the worker was stopped, not trusted: no step_complete" \
    [ -z "$(ev_field step_complete read-held step_id)" ]
  if [ "$mode" = sandbox ]; then
    check "scratch dir removed" scratch_gone
  else
    id=$(sandbox_id_of)
    check "sandbox $id deleted" fake_deleted "$id"
  fi
done

finish
