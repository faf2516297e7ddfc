# tests/remote/common.sh -- shared helpers for the remote-execution tests.
#
# Source it from a test started at the repo root:  bash tests/remote/<name>.sh
#   OSIRIS         the host binary (default ./osiris), OSIRIS_WORKER the worker
#                  (default ./osiris-worker)
#   REMOTE_KEEP=1  keep the work directory (its path is printed)
#   REMOTE_VERBOSE=1  print passing checks too
#
# remote_run MODE ARGS... runs `osiris run ARGS` with MODE local | sandbox | e2b.
# When the CLI does not know --sandbox yet, tests/remote/fixtures/devrun.c
# (the same engine + src/remote.c) is built and used instead.
# fake_start starts tests/fake_e2b/server.mjs and exports E2B_API_KEY,
# E2B_API_URL and E2B_SANDBOX_URL; it is stopped at exit.
# Every script ends with `finish`: one line "N passed, N failed", exit 1 on failures.

set -u

RT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RT_FIX=$RT_ROOT/tests/remote/fixtures
RT_NAME=$(basename "$0" .sh)
OSIRIS=${OSIRIS:-$RT_ROOT/osiris}
case $OSIRIS in /*) ;; *) OSIRIS=$PWD/$OSIRIS ;; esac
OSIRIS_WORKER=${OSIRIS_WORKER:-$RT_ROOT/osiris-worker}
case $OSIRIS_WORKER in /*) ;; *) OSIRIS_WORKER=$PWD/$OSIRIS_WORKER ;; esac
export OSIRIS_WORKER
PY=${PYTHON:-python3}

RT_PASS=0
RT_FAIL=0
RT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/osiris-remote-$RT_NAME.XXXXXX")
FAKE_PID=
FAKE_URL=

rt_cleanup() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; fi
  if [ "${REMOTE_KEEP:-0}" = 1 ]; then echo "# work directory kept: $RT_WORK" >&2; else rm -rf "$RT_WORK"; fi
}
trap rt_cleanup EXIT

pass() {
  RT_PASS=$((RT_PASS + 1))
  if [ "${REMOTE_VERBOSE:-0}" = 1 ]; then echo "  ok: $*" >&2; fi
}
fail() {
  RT_FAIL=$((RT_FAIL + 1))
  echo "FAIL [$RT_NAME/${RT_CASE:-}]: $*" >&2
}
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  echo "$RT_PASS passed, $RT_FAIL failed"
  [ "$RT_FAIL" = 0 ]
}

need_binaries() {
  if [ ! -x "$OSIRIS" ] || [ ! -x "$OSIRIS_WORKER" ]; then
    echo "FAIL: build osiris and osiris-worker first (make osiris osiris-worker)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  if "$OSIRIS" run --help 2>&1 | grep -q -- '--sandbox'; then
    RT_DEVRUN=
  else
    RT_DEVRUN=$RT_WORK/devrun
    if ! cc -std=c11 -O1 -g -I"$RT_ROOT" -I/usr/include/mariadb -I/usr/include/postgresql \
        -o "$RT_DEVRUN" "$RT_FIX/devrun.c" "$RT_ROOT/drivers.c" \
        -lsqlite3 -lmariadb -lpq -lm -lcurl 2>"$RT_WORK/devrun.err"; then
      cat "$RT_WORK/devrun.err" >&2
      echo "0 passed, 1 failed"
      exit 1
    fi
  fi
}

# remote_run MODE PIPELINE [extra osiris run args...]; output in $RT_OUT, status in $RT_RC
remote_run() {
  local mode=$1 pipeline=$2
  shift 2
  if [ "$mode" = local ]; then
    "$OSIRIS" run "$pipeline" "$@" >"$RT_WORK/out.txt" 2>&1
  elif [ -z "${RT_DEVRUN:-}" ]; then
    if [ "$mode" = sandbox ]; then
      "$OSIRIS" run "$pipeline" --sandbox local "$@" >"$RT_WORK/out.txt" 2>&1
    else
      "$OSIRIS" run "$pipeline" --e2b "$@" >"$RT_WORK/out.txt" 2>&1
    fi
  else
    "$RT_DEVRUN" "$mode" "$pipeline" >"$RT_WORK/out.txt" 2>&1
  fi
  RT_RC=$?
  RT_OUT=$(cat "$RT_WORK/out.txt")
  return 0
}

# The newest run directory under ./logs
last_run() { ls -td logs/run_* 2>/dev/null | head -1; }

# run_mode MODE [VAR=VALUE...]: run $MANIFEST (local | sandbox | e2b) with
# those variables, bounded by $RUN_TIMEOUT, after removing $RUN_OUTPUT;
# sets RT_RC, RT_OUT (the output's tail) and RUN_DIR (empty: no new run).
run_mode() {
  local mode=$1 prev
  shift
  local args=("$OSIRIS" run "$MANIFEST")
  case $mode in
    sandbox) args+=(--sandbox local) ;;
    e2b) args+=(--e2b) ;;
  esac
  prev=$(last_run)
  rm -f "$RUN_OUTPUT"
  env "$@" timeout -k 5 "${RUN_TIMEOUT:-60}" "${args[@]}" >"$RT_WORK/out.txt" 2>&1 </dev/null
  RT_RC=$?
  RT_OUT=$(tail -c 400 "$RT_WORK/out.txt")
  RUN_DIR=$(last_run)
  [ "$RUN_DIR" != "$prev" ] || RUN_DIR=
}

status_field() { # status_field RUN_DIR KEY
  "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]+"/status.json")).get(sys.argv[2]); print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2" 2>/dev/null
}

fake_start() {
  local info
  if ! command -v node >/dev/null 2>&1; then
    echo "FAIL: node is needed for the fake E2B service" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  node "$RT_ROOT/tests/fake_e2b/server.mjs" --port 0 --parent-pid $$ >"$RT_WORK/fake.out" 2>"$RT_WORK/fake.err" &
  FAKE_PID=$!
  for _ in $(seq 1 600); do # 60 s at most
    [ -s "$RT_WORK/fake.out" ] && break
    kill -0 "$FAKE_PID" 2>/dev/null || break
    sleep 0.1
  done
  info=$(head -1 "$RT_WORK/fake.out")
  FAKE_URL=$(echo "$info" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["api_url"])')
  E2B_API_KEY=$(echo "$info" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  FAKE_STATE_DIR=$(echo "$info" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["state_dir"])')
  E2B_API_URL=$FAKE_URL
  E2B_SANDBOX_URL=$FAKE_URL
  export E2B_API_KEY E2B_API_URL E2B_SANDBOX_URL FAKE_STATE_DIR
}

fake_get() { curl -s "$FAKE_URL$1"; }
fake_post() { curl -s -X POST -H 'Content-Type: application/json' -d "${2:-{\}}" "$FAKE_URL$1"; }

# Wait (60 s at most) until a sandbox's worker process runs; prints the
# sandbox id.  It may have ended already: to act on a running worker, hold
# it (hold_worker_make).
fake_wait_worker() {
  local id
  for _ in $(seq 1 600); do
    id=$(fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
live={x if isinstance(x,str) else x.get("sandboxID") for x in s.get("live",[])}
for p in s.get("processes",[]):
    if "osiris-worker" in p.get("cmd","") and not p.get("ended_at") and p.get("sandboxID") in live:
        print(p["sandboxID"]); break')
    if [ -n "$id" ]; then echo "$id"; return 0; fi
    sleep 0.1
  done
  return 1
}

# Is sandbox ID gone (deleted or expired) according to the fake?
fake_deleted() {
  fake_get /_fake/state | "$PY" -c '
import json,sys
s=json.load(sys.stdin)
live={x if isinstance(x,str) else x.get("sandboxID") for x in s.get("live",[])}
sys.exit(0 if sys.argv[1] not in live else 1)' "$1"
}

# Event names of a run, minus the transport-only ones, one per line.
event_names() {
  "$PY" - "$1" <<'EOF'
import json, sys
T = {"worker_started", "worker_exited", "artifacts_downloaded", "sandbox_created",
     "sandbox_deleted", "dependency_check"}
for line in open(sys.argv[1] + "/events.jsonl"):
    e = json.loads(line)
    if e["event"] not in T:
        print(e["event"], e.get("step_id", ""))
EOF
}

# Events of two runs equal except timestamps, durations, paths, hashes and transport events.
RM_EVENTS_EQUAL=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/events_equal.py
events_equal() {
  "$PY" "$RM_EVENTS_EQUAL" "$1" "$2"
}

# ---------------------------------------------------------------- holding a run
# A fault test must not bet on how long a pipeline runs: it holds the run at
# a known point, acts, and only then lets it go on (or never does).
#
# hold_worker_make REL: writes $RT_WORK/hold-worker (sets HOLD_WORKER), to be
#   used as OSIRIS_WORKER.  It replaces the input the host shipped to
#   <session>/REL by an empty FIFO, then execs the real $OSIRIS_WORKER with
#   the same arguments (so the worker keeps its pid).  The step reading REL
#   then blocks in open() until someone writes the FIFO: hold_release, or
#   nobody while the test injects its fault.  The real worker travels inside
#   the script (a payload after the shell part), so it also runs where the
#   host's files are not visible (the fake E2B's sandboxes see neither /tmp
#   nor /home of the host); the tools it uses are named by absolute path
#   because --sandbox local gives the worker a clean environment.
# hold_wait PREV STEP PID: waits (60 s at most, or until PID is gone) until a
#   run newer than PREV has started STEP; sets HOLD_RUN (empty: it did not).
# hold_fifo DIR: prints the held FIFO under DIR (a sandbox or session dir).
# hold_release FIFO FILE: writes FILE into the FIFO (60 s at most).
hold_worker_make() {
  local rel=$1 head off
  HOLD_WORKER=$RT_WORK/hold-worker
  # The payload's offset, written with a fixed width (ten digits), is the
  # header's length + 1.
  head=$(cat <<EOS
#!/bin/sh
# osiris test worker: holds the run (tests/remote/common.sh, hold_worker_make)
in="\${2:-.}/$rel"
/bin/rm -f "\$in" && /usr/bin/mkfifo "\$in" || exit 125
/usr/bin/tail -c +@OFF@ "\$0" >"\$0.real" && /bin/chmod 755 "\$0.real" || exit 125
exec "\$0.real" "\$@"
exit 125
EOS
)
  head=${head/@OFF@/@@@@@@@@@@}
  off=$(printf '%010d' $((${#head} + 2)))
  { printf '%s\n' "${head/@@@@@@@@@@/$off}"; cat "$OSIRIS_WORKER"; } >"$HOLD_WORKER"
  chmod 755 "$HOLD_WORKER"
}

hold_wait() {
  local prev=$1 step=$2 pid=$3 dir
  HOLD_RUN=
  for _ in $(seq 1 600); do
    dir=$(last_run)
    if [ -n "$dir" ] && [ "$dir" != "$prev" ] &&
       grep -q "\"event\":\"step_start\",\"step_id\":\"$step\"" "$dir/events.jsonl" 2>/dev/null; then
      HOLD_RUN=$dir
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

hold_fifo() { find "$1" -type p 2>/dev/null | head -1; }

hold_release() {
  [ -p "$1" ] && timeout 60 sh -c 'cat "$1" >"$2"' _ "$2" "$1"
}

# hold_exit_worker_make: writes $RT_WORK/hold-exit-worker (sets
#   HOLD_EXIT_WORKER), to be used as OSIRIS_WORKER.  It creates the FIFO
#   <worker>.hold next to itself (in the sandbox, outside the session, so
#   nothing the host collects sees it), runs the real $OSIRIS_WORKER with
#   the same arguments as its child, and once that has written its last
#   line and exited, opens the FIFO and waits there: the process the host
#   started keeps running, every byte of output written, until someone
#   writes the FIFO (hold_release FIFO /dev/null); then it exits with the
#   worker's status.  For holds past the last line of output, where
#   hold_worker_make cannot reach; the payload layout is the same.
hold_exit_worker_make() {
  local head off
  HOLD_EXIT_WORKER=$RT_WORK/hold-exit-worker
  head=$(cat <<'EOS'
#!/bin/sh
# osiris test worker: holds the exit (tests/remote/common.sh, hold_exit_worker_make)
/bin/rm -f "$0.hold" && /usr/bin/mkfifo "$0.hold" || exit 125
/usr/bin/tail -c +@OFF@ "$0" >"$0.real" && /bin/chmod 755 "$0.real" || exit 125
"$0.real" "$@"
rc=$?
/bin/cat "$0.hold" >/dev/null
exit $rc
EOS
)
  head=${head/@OFF@/@@@@@@@@@@}
  off=$(printf '%010d' $((${#head} + 2)))
  { printf '%s\n' "${head/@@@@@@@@@@/$off}"; cat "$OSIRIS_WORKER"; } >"$HOLD_EXIT_WORKER"
  chmod 755 "$HOLD_EXIT_WORKER"
}
