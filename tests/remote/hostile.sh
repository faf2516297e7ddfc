#!/usr/bin/env bash
# tests/remote/hostile.sh -- sandbox trust: the host believes nothing a
# sandbox sends back.  A scripted worker (tests/remote/hostile_worker.py,
# started through a generated OSIRIS_WORKER wrapper) runs the real worker
# and lies: forged output_written / artifact_created paths, symlinks and
# FIFOs among the files to collect, artifacts of unknown steps, forged
# ListDir entries (fake E2B knob list_inject), writes through shared inodes,
# no outcome at all, no cleanup answer, floods over the OSIRIS_REMOTE_MAX_*
# caps, and E2B endpoints from a project .env.  Each case runs through
# --sandbox local and --e2b (against tests/fake_e2b) where the transport
# allows, bounded by `timeout 60`, and asserts the exit code, status.json's
# reason and error message, that no host file outside the declared output
# changed (sha256 of a canary directory beside the project, a file above it
# and the project tree minus logs/ and the declared output), and that the
# sandbox was deleted / the scratch directory removed.  Every case also
# checks that the attack really happened (the worker's report), so that
# none passes vacuously.
# Cases (name/transport in FAIL lines), by the issue's numbering:
#   controls  pass, pass-small-caps (the wrapper works; the caps fit a normal run)
#   1 out-dotdot  2 out-abs  3 out-undeclared  4 out-symlink  5 art-symlink,
#   art-fifo  6 art-ghost, list-dotdot, list-sibling, list-outside (e2b)
#   7 art-event-abs, art-event-dotdot  8 tamper  9 nothing  10 no-cleanup
#   11 cap-file-bytes, cap-total-bytes, cap-files, cap-events, cap-line-bytes,
#   cap-file-bytes-body (e2b: a body longer than the listed size)
#   12 dotenv-untrusted, dotenv-trusted (e2b)
#   bash tests/remote/hostile.sh      (from the repo root, after make)
#   HOSTILE_ONLY=regex  run only the cases whose name matches
#   REMOTE_KEEP=1       keep the work directory: cases/, outs/ (each run's
#                       output and the fake's state), reports/, wrappers/
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

# The interpreter the wrapper starts, by a path both sandboxes can see (a
# pyenv shim under /root is hidden in the fake's namespace).
PY3=/usr/bin/python3
[ -x "$PY3" ] || PY3=$("$PY" -c 'import os,sys; print(os.path.realpath(sys.executable))')
HW=$RT_ROOT/tests/remote/hostile_worker.py
REAL_WORKER=$OSIRIS_WORKER
RT_TMP=$RT_WORK/tmp # TMPDIR of every osiris run: its scratch directories land here only
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
mkdir -p "$RT_TMP" "$RT_WORK/reports" "$RT_WORK/wrappers" "$RT_WORK/cases" "$RT_WORK/outs"

# The E2B worker runs in the fake's mount namespace, where /home, /tmp and
# /root are the sandbox's own: the wrapper carries the script and the real
# worker (make_wrapper), and python3 must lie elsewhere (/usr/bin).
E2B_OK=1
if [ "$(fake_get /_fake/state | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("namespace"))')" != True ]; then
  E2B_OK=0
  RT_CASE=setup
  fail "the fake E2B runs without mount namespaces (unshare --mount): --e2b cases skipped"
fi
case $PY3 in /home/* | /tmp/* | /root/* | '')
  E2B_OK=0
  RT_CASE=setup
  fail "no python3 outside /home, /tmp and /root ($PY3): --e2b cases skipped" ;;
esac

# What the declared output holds after an honest run (an in-process run).
mkdir -p "$RT_WORK/expected/data"
cp "$RT_FIX/hostile.yaml" "$RT_WORK/expected/"
cp "$RT_FIX/data/people.csv" "$RT_WORK/expected/data/"
(cd "$RT_WORK/expected" && timeout -k 5 "$RUN_TIMEOUT" "$OSIRIS" run hostile.yaml >out.txt 2>&1 </dev/null)
EXPECTED=$RT_WORK/expected/output/people_copy.csv
if [ ! -s "$EXPECTED" ]; then
  RT_CASE=setup
  fail "an in-process run of hostile.yaml failed: $(tail -c 300 "$RT_WORK/expected/out.txt")"
fi

TRANSPORTS=(sandbox e2b)
[ "$E2B_OK" = 1 ] || TRANSPORTS=(sandbox)

selected() { [ -z "${HOSTILE_ONLY:-}" ] || [[ $1 =~ $HOSTILE_ONLY ]]; }

# ---------------------------------------------------------------- a case
# new_case NAME TRANSPORT: a fresh project $PROJ in $CASE, beside a canary
# directory and below a canary file; the declared output is $DECLARED.
new_case() {
  RT_CASE=$1/$2
  TRANSPORT=$2
  CASE=$RT_WORK/cases/$1-$2
  PROJ=$CASE/proj
  rm -rf "$CASE"
  mkdir -p "$PROJ/data" "$PROJ/output" "$CASE/canary"
  cp "$RT_FIX/hostile.yaml" "$PROJ/"
  cp "$RT_FIX/data/people.csv" "$PROJ/data/"
  printf 'do not touch\n' >"$PROJ/output/keep.txt"
  CANARY_TOKEN=canary-$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
  CANARY=$CASE/canary/secret.txt
  printf '%s\n' "$CANARY_TOKEN" >"$CANARY"
  printf 'beside the project\n' >"$CASE/canary/other.txt"
  printf 'above the project %s\n' "$CANARY_TOKEN" >"$CASE/above.txt"
  DECLARED=$PROJ/output/people_copy.csv
  REPORT=$RT_WORK/reports/$1-$2.txt
  OUT=$RT_WORK/outs/$1-$2 # the run's output (.txt) and the fake's state (.json)
  rm -f "$REPORT"
  WRAPPER=$RT_WORK/wrappers/$1-$2.sh
  HOST_ENV=() # env(1) arguments before the run's own: -u NAME, NAME=VALUE
}

# make_wrapper MODE [HOSTILE_VAR=VALUE...]: $WRAPPER starts the hostile
# worker with MODE (the sandbox gives it a clean environment, so every
# setting is baked in).  The report goes to $REPORT (sandbox local) or to
# $HOME/hostile-report.txt inside the E2B sandbox (read back by hrun).
# With --e2b the wrapper runs in the fake's mount namespace, where the
# host's /home, /tmp and /root are hidden: it carries the script and the
# real worker inside itself (after a fixed-size header) and unpacks them
# beside itself, so the repository may live anywhere.
make_wrapper() {
  local mode=$1 kv head off1 off2 len1
  shift
  {
    echo '#!/bin/sh'
    if [ "$TRANSPORT" = e2b ]; then
      echo 'HOSTILE_REPORT=$HOME/hostile-report.txt; export HOSTILE_REPORT'
    else
      printf "HOSTILE_REPORT='%s'; export HOSTILE_REPORT\n" "$REPORT"
    fi
    for kv in "$@"; do printf "%s='%s'; export %s\n" "${kv%%=*}" "${kv#*=}" "${kv%%=*}"; done
  } >"$WRAPPER.head"
  if [ "$TRANSPORT" = e2b ]; then
    len1=$(stat -c %s "$HW")
    # ten-digit fields: the header's length does not depend on the numbers
    head=$(cat "$WRAPPER.head"; cat <<EOS
/usr/bin/tail -c +@OFF1@ "\$0" | /usr/bin/head -c @LEN1@ >"\$0.hw.py" || exit 125
/usr/bin/tail -c +@OFF2@ "\$0" >"\$0.real" && /bin/chmod 755 "\$0.real" || exit 125
exec '$PY3' "\$0.hw.py" '$mode' "\$0.real" "\$0" "\$@"
exit 125
EOS
)
    head=${head/@OFF1@/0000000000}
    head=${head/@OFF2@/0000000000}
    head=${head/@LEN1@/0000000000}
    off1=$((${#head} + 2))
    off2=$((off1 + len1))
    head=${head/0000000000/$(printf '%010d' "$off1")}
    head=${head/0000000000/$(printf '%010d' "$len1")}
    head=${head/0000000000/$(printf '%010d' "$off2")}
    { printf '%s\n' "$head"; cat "$HW" "$REAL_WORKER"; } >"$WRAPPER"
  else
    { cat "$WRAPPER.head"
      printf "exec '%s' '%s' '%s' '%s' \"\$0\" \"\$@\"\n" "$PY3" "$HW" "$mode" "$REAL_WORKER"
    } >"$WRAPPER"
  fi
  rm -f "$WRAPPER.head"
  chmod 755 "$WRAPPER"
  WRAPPER_SHA=$(sha256sum <"$WRAPPER")
}

# Every entry under $CASE but the run logs and the declared output: type,
# sha256 / link target, mode.  Two equal snapshots: no host file changed.
snapshot() {
  "$PY" - "$CASE" "$PROJ/logs" "$DECLARED" <<'EOF'
import hashlib, os, stat, sys
root, logs, declared = sys.argv[1:4]
out = []
for d, dirs, files in os.walk(root):
    if d == logs:
        dirs[:] = []
        continue
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        if p in (logs, declared):
            continue
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        if stat.S_ISLNK(st.st_mode):
            out.append("%s link %s" % (rel, os.readlink(p)))
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out.append("%s file %o %s" % (rel, st.st_mode & 0o7777, h))
        elif stat.S_ISDIR(st.st_mode):
            out.append("%s dir %o" % (rel, st.st_mode & 0o7777))
        else:
            out.append("%s other %o" % (rel, st.st_mode))
print("\n".join(sorted(out)))
EOF
}

# Delete every sandbox the fake still runs (a case that hung and was killed).
fake_delete_live() {
  local id
  for id in $(fake_get /_fake/state | "$PY" -c '
import json,sys
for x in json.load(sys.stdin).get("live",[]): print(x if isinstance(x,str) else x["sandboxID"])'); do
    curl -s -o /dev/null -X DELETE -H "X-API-Key: $E2B_API_KEY" "$FAKE_URL/sandboxes/$id"
  done
}

# hrun [VAR=VALUE...]: run hostile.yaml in $PROJ through $TRANSPORT with
# $WRAPPER as OSIRIS_WORKER, the VARs (and $HOST_ENV) in the host's
# environment; sets RT_RC, RUN_DIR, SNAP_BEFORE/AFTER, E2B_SID.
hrun() {
  local flag=(--sandbox local)
  [ "$TRANSPORT" = e2b ] && flag=(--e2b)
  # what an earlier case left behind must not count against this one
  rm -rf "$RT_TMP"/osiris-*
  fake_delete_live
  fake_post /_fake/reset >/dev/null
  SNAP_BEFORE=$(snapshot)
  (cd "$PROJ" && env "${HOST_ENV[@]}" TMPDIR="$RT_TMP" OSIRIS_WORKER="$WRAPPER" "$@" \
    timeout -k 5 "$RUN_TIMEOUT" "$OSIRIS" run hostile.yaml "${flag[@]}" >"$OUT.txt" 2>&1 </dev/null)
  RT_RC=$?
  RUN_DIR=$(ls -td "$PROJ"/logs/run_* 2>/dev/null | head -1)
  SNAP_AFTER=$(snapshot)
  E2B_SID=
  if [ "$TRANSPORT" = e2b ]; then
    fake_get /_fake/state >"$OUT.json"
    E2B_SID=$("$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
for p in s["processes"]:
    if "osiris-worker" in p["cmd"]: print(p["sandboxID"]); break' "$OUT.json")
    rm -f "$REPORT"
    if [ -n "$E2B_SID" ] && [ -f "$FAKE_STATE_DIR/$E2B_SID/home/user/hostile-report.txt" ]; then
      cp "$FAKE_STATE_DIR/$E2B_SID/home/user/hostile-report.txt" "$REPORT"
    fi
  fi
}

out_tail() { tail -c 300 "$OUT.txt" 2>/dev/null | tr '\n' ' '; }
err_message() {
  "$PY" -c '
import json,sys
e=json.load(open(sys.argv[1]+"/status.json")).get("error")
print(e.get("message","") if isinstance(e,dict) else (e or ""))' "$1" 2>/dev/null
}

# attacked PATTERN: the hostile worker reports that it did it (not vacuous)
attacked() {
  check "the worker did it: '$1' (report: $(tr '\n' ';' <"$REPORT" 2>/dev/null))" grep -q -- "$1" "$REPORT"
}

expect_exit() {
  check "exit $1 (got $RT_RC: $(out_tail))" [ "$RT_RC" = "$1" ]
}

# expect_failure REASON SUBSTRING...: exit 1, status.json's reason, error
# message with every SUBSTRING, nothing changed, sandbox gone.
expect_failure() {
  local reason=$1 s msg
  shift
  expect_exit 1
  check "status.json written" test -n "$RUN_DIR" -a -f "$RUN_DIR/status.json"
  if [ -n "$RUN_DIR" ] && [ -f "$RUN_DIR/status.json" ]; then
    check "status.json reason $reason (got '$(status_field "$RUN_DIR" reason)')" \
      [ "$(status_field "$RUN_DIR" reason)" = "$reason" ]
    msg=$(err_message "$RUN_DIR")
    for s in "$@"; do
      check "error message contains '$s' (got '$msg')" grep -qF -- "$s" <<<"$msg"
    done
  fi
  expect_clean
}

# expect_clean: no host file outside the declared output changed, no
# partial file left, the sandbox deleted / scratch directory removed.
expect_clean() {
  local d parts
  d=$(diff <(echo "$SNAP_BEFORE") <(echo "$SNAP_AFTER") | grep '^[<>]' | head -4 | tr '\n' ';')
  check "no host file outside the declared output changed ($d)" [ "$SNAP_BEFORE" = "$SNAP_AFTER" ]
  parts=$(find "$PROJ" \( -name '*.part' -o -name '*.tmp' -o -name '.*.tmp*' \) 2>/dev/null | head -3 | tr '\n' ' ')
  check "no partial file in the project or run dir ($parts)" [ -z "$parts" ]
  check "the project output is not a symlink" [ ! -L "$DECLARED" ]
  expect_gone
}

expect_gone() {
  local left
  left=$(ls -d "$RT_TMP"/osiris-* 2>/dev/null | tr '\n' ' ')
  check "scratch directory removed ($left)" [ -z "$left" ]
  if [ "$TRANSPORT" = e2b ]; then
    check "a sandbox was created and its worker started" [ -n "$E2B_SID" ]
    check "sandbox $E2B_SID deleted, none left live" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
live=[x if isinstance(x,str) else x.get("sandboxID") for x in s.get("live",[])]
gone={x["sandboxID"]:x.get("state") for x in s.get("deleted",[])}
sys.exit(0 if not live and gone.get(sys.argv[2])=="deleted" else 1)' "$OUT.json" "$E2B_SID"
  fi
}

# not_listed TEXT FILE: FILE exists and does not hold TEXT
not_listed() { [ -f "$2" ] && ! grep -qF -- "$1" "$2"; }

# no_trace TEXT: TEXT appears nowhere in the project (run dir included)
no_trace() {
  local h
  h=$(grep -rlF -- "$1" "$PROJ" 2>/dev/null | head -3 | tr '\n' ' ')
  check "'$1' nowhere in the project or run dir ($h)" [ -z "$h" ]
}

# The same small caps for the control run and the cap cases: a normal run
# stays well below every one of them.
CAPS=(OSIRIS_REMOTE_MAX_FILE_BYTES=4096 OSIRIS_REMOTE_MAX_TOTAL_BYTES=20000
  OSIRIS_REMOTE_MAX_FILES=8 OSIRIS_REMOTE_MAX_EVENTS=300 OSIRIS_REMOTE_MAX_LINE_BYTES=8192)

for T in "${TRANSPORTS[@]}"; do
  # ------------------------------------------------------------ controls
  # The wrapper machinery itself: an honest pass-through run succeeds,
  # with and without the small caps the cap cases use.
  if selected pass; then
    new_case pass "$T"
    make_wrapper pass
    hrun
    expect_exit 0
    check "status ok" [ "$(status_field "$RUN_DIR" ok)" = true ]
    check "declared output written" cmp -s "$DECLARED" "$EXPECTED"
    check "report read back" grep -q '^pass' "$REPORT"
    expect_clean

    new_case pass-small-caps "$T"
    make_wrapper pass
    hrun "${CAPS[@]}"
    expect_exit 0
    check "declared output written" cmp -s "$DECLARED" "$EXPECTED"
    expect_clean
  fi

  # ------------------------------------------------------------ 1. output_written with ..
  if selected out-dotdot; then
    new_case out-dotdot "$T"
    make_wrapper out-dotdot
    hrun
    attacked 'output_written .*/\.\./victim/target.txt'
    expect_failure worker_failed refused victim/target.txt
    v=$(find "$CASE" "$RT_TMP" -name target.txt 2>/dev/null | tr '\n' ' ')
    check "victim file created nowhere ($v)" [ -z "$v" ]
  fi

  # ------------------------------------------------------------ 2. output_written absolute, outside
  if selected out-abs; then
    new_case out-abs "$T"
    make_wrapper out-abs "HOSTILE_TARGET=$CANARY"
    hrun
    attacked "output_written $CANARY"
    expect_failure worker_failed refused
    no_trace "$CANARY_TOKEN"
  fi

  # ------------------------------------------------------------ 3. output_written undeclared
  if selected out-undeclared; then
    new_case out-undeclared "$T"
    make_wrapper out-undeclared
    hrun
    attacked 'output_written .*/other.csv'
    expect_failure worker_failed refused
    check "no other.csv in the project" [ -z "$(find "$PROJ" -name other.csv)" ]
  fi

  # ------------------------------------------------------------ 4. declared output -> symlink
  if selected out-symlink; then
    new_case out-symlink "$T"
    if [ "$T" = e2b ]; then make_wrapper out-symlink; else make_wrapper out-symlink "HOSTILE_TARGET=$CANARY"; fi
    hrun
    attacked 'symlinked .*people_copy.csv'
    expect_failure collect_failed "not a regular file"
    no_trace "$CANARY_TOKEN"
    no_trace SANDBOX-SECRET
  fi

  # ------------------------------------------------------------ 5. artifacts: symlink, FIFO
  if selected art-symlink; then
    new_case art-symlink "$T"
    if [ "$T" = e2b ]; then make_wrapper art-symlink; else make_wrapper art-symlink "HOSTILE_TARGET=$CANARY"; fi
    hrun
    attacked 'symlinked .*artifacts/read-people/leak.txt'
    expect_failure collect_failed "not a regular file"
    no_trace "$CANARY_TOKEN"
    check "no leak.txt in the run dir" [ -z "$(find "$PROJ" -name leak.txt)" ]
  fi
  if selected art-fifo; then
    new_case art-fifo "$T"
    make_wrapper art-fifo
    hrun
    attacked 'fifo .*artifacts/read-people/pipe.csv'
    expect_failure collect_failed "not a regular file"
    check "no pipe.csv in the run dir" [ -z "$(find "$PROJ" -name pipe.csv)" ]
  fi

  # ------------------------------------------------------------ 6. artifacts of an unknown step
  if selected art-ghost; then
    new_case art-ghost "$T"
    make_wrapper art-ghost
    hrun
    attacked 'ghost .*artifacts/ghost-step/x.txt'
    expect_failure collect_failed refused
    check "no ghost-step in the run dir" [ -z "$(find "$PROJ" -name ghost-step)" ]
  fi

  # ------------------------------------------------------------ 7. artifact_created outside
  for m in art-event-abs art-event-dotdot; do
    selected "$m" || continue
    new_case "$m" "$T"
    make_wrapper "$m"
    hrun
    bad=/etc/shadow
    [ "$m" = art-event-dotdot ] && bad=../x
    attacked "artifact_created $bad"
    expect_failure worker_failed refused
    check "run_card.json written" test -n "$RUN_DIR" -a -f "$RUN_DIR/run_card.json"
    check "run_card.json does not list $bad" not_listed "\"$bad\"" "$RUN_DIR/run_card.json"
  done

  # ------------------------------------------------------------ 8. writes through shared inodes
  if selected tamper; then
    new_case tamper "$T"
    make_wrapper tamper HOSTILE_INPUT=data/people.csv
    hrun
    attacked 'tampered .*data/people.csv'
    check "the run ended, 0 or 1 (got $RT_RC: $(out_tail))" test "$RT_RC" = 0 -o "$RT_RC" = 1
    check "host input CSV byte-identical" cmp -s "$PROJ/data/people.csv" "$RT_FIX/data/people.csv"
    check "host OSIRIS_WORKER byte-identical" [ "$(sha256sum <"$WRAPPER")" = "$WRAPPER_SHA" ]
    check "the sandbox's input and binary share no inode with the host's (report: $(grep nlink "$REPORT" 2>/dev/null))" \
      grep -q 'input nlink=1 binary nlink=1' "$REPORT"
    expect_clean
  fi

  # ------------------------------------------------------------ 9. no outcome, exit 0
  if selected nothing; then
    new_case nothing "$T"
    make_wrapper nothing
    hrun
    attacked '^nothing'
    expect_failure worker_failed "no outcome for step"
  fi

  # ------------------------------------------------------------ 10. no cleanup answer, exit 0
  if selected no-cleanup; then
    new_case no-cleanup "$T"
    make_wrapper no-cleanup
    hrun
    attacked 'dropped the cleanup response'
    check "the worker ran every step" [ "$(grep -c '"event":"step_complete"' "$RUN_DIR/events.jsonl" 2>/dev/null)" = 2 ]
    expect_failure worker_failed
  fi

  # ------------------------------------------------------------ 11. caps
  if selected cap-file-bytes; then
    new_case cap-file-bytes "$T"
    make_wrapper big-file HOSTILE_SIZE=100000
    hrun "${CAPS[@]}"
    attacked 'big-file: 1 file(s) of 100000 bytes'
    expect_failure collect_failed OSIRIS_REMOTE_MAX_FILE_BYTES
    check "the oversized artifact is not in the run dir" [ -z "$(find "$PROJ" -name 'hostile-*')" ]
  fi
  if selected cap-total-bytes; then
    new_case cap-total-bytes "$T"
    make_wrapper many-bytes HOSTILE_N=8 HOSTILE_SIZE=4000
    hrun "${CAPS[@]}"
    attacked 'many-bytes: 8 file(s) of 4000 bytes'
    expect_failure collect_failed OSIRIS_REMOTE_MAX_TOTAL_BYTES
    check "no truncated artifact under its final name" \
      [ -z "$(find "$PROJ" -name 'hostile-*' ! -size 4000c)" ]
  fi
  if selected cap-files; then
    new_case cap-files "$T"
    make_wrapper many-files HOSTILE_N=20 HOSTILE_SIZE=10
    hrun "${CAPS[@]}"
    attacked 'many-files: 20 file(s) of 10 bytes'
    expect_failure collect_failed OSIRIS_REMOTE_MAX_FILES
    check "no truncated artifact under its final name" \
      [ -z "$(find "$PROJ" -name 'hostile-*' ! -size 10c)" ]
  fi
  if selected cap-events; then
    new_case cap-events "$T"
    make_wrapper many-events HOSTILE_N=2000
    hrun "${CAPS[@]}"
    attacked 'many-events: 2000 events'
    expect_failure worker_failed OSIRIS_REMOTE_MAX_EVENTS
    n=$(grep -c hostile_noise "$RUN_DIR/events.jsonl" 2>/dev/null)
    check "events.jsonl holds at most the cap's worth of the flood (${n:-0})" [ "${n:-0}" -le 300 ]
  fi
  if selected cap-line-bytes; then
    new_case cap-line-bytes "$T"
    make_wrapper long-line HOSTILE_SIZE=200000
    hrun "${CAPS[@]}"
    attacked 'long-line: 200000 bytes'
    expect_failure worker_failed OSIRIS_REMOTE_MAX_LINE_BYTES
    check "the long line reached no run file" [ -z "$(find "$PROJ" -type f -size +100k)" ]
  fi
done

if [ "$E2B_OK" = 1 ]; then
  T=e2b
  # ------------------------------------------------------------ 6. forged ListDir entries (e2b)
  # A compromised envd lists files that are not below artifacts/: with ..,
  # beside artifacts/ in the session (the run dir's own cfg/), outside it.
  for inj in 'dotdot {dir}/../../../victim/target.txt' 'sibling {parent}/cfg/write-people.json' \
    'outside /home/user/planted.txt'; do
    name=list-${inj%% *}
    selected "$name" || continue
    new_case "$name" e2b
    make_wrapper plant-e2b
    fake_post /_fake/config "{\"list_inject\":[{\"path\":\"${inj#* }\"}],\"list_inject_match\":\"/artifacts\"}" >/dev/null
    hrun
    fake_post /_fake/config '{"list_inject":null,"list_inject_match":null}' >/dev/null
    attacked 'planted /home/user/victim/target.txt'
    check "the fake answered ListDir" grep -q '"path":"/filesystem.Filesystem/ListDir"' "$OUT.json"
    expect_failure collect_failed refused
    check "no victim/planted file in the project" [ -z "$(find "$PROJ" -name target.txt -o -name planted.txt)" ]
    if [ -n "$RUN_DIR" ] && [ -f "$RUN_DIR/cfg/write-people.json" ]; then
      check "the run dir's cfg/write-people.json is the host's" \
        cmp -s "$RUN_DIR/cfg/write-people.json" "$(ls -d "$PROJ"/logs/compile_*/compiled/cfg | head -1)/write-people.json"
    fi
  done

  # ------------------------------------------------------------ 11. a body longer than its size (e2b)
  if selected cap-file-bytes-body; then
    new_case cap-file-bytes-body e2b
    make_wrapper pass
    fake_post /_fake/config '{"file_body_pad_bytes":100000,"file_body_pad_match":"/artifacts/"}' >/dev/null
    hrun "${CAPS[@]}"
    fake_post /_fake/config '{"file_body_pad_bytes":0,"file_body_pad_match":null}' >/dev/null
    check "the fake padded a download" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
sys.exit(0 if any(r["method"]=="GET" and r["path"]=="/files" for r in s["requests"]) else 1)' "$OUT.json"
    expect_failure collect_failed OSIRIS_REMOTE_MAX_FILE_BYTES
    check "no artifact over the cap in the run dir" [ -z "$(find "$PROJ" -path '*/artifacts/*' -type f -size +4096c)" ]
  fi

  # ------------------------------------------------------------ 12. endpoints from a project .env
  # The process environment has no E2B settings; the project's .env points
  # them at the fake (loopback only).  Without OSIRIS_TRUST_DOTENV: refused
  # before any request; with it: the run works and says so.
  if selected dotenv; then
    new_case dotenv-untrusted e2b
    printf 'E2B_API_KEY=%s\nE2B_API_URL=%s\nE2B_SANDBOX_URL=%s\n' "$E2B_API_KEY" "$FAKE_URL" "$FAKE_URL" >"$PROJ/.env"
    WRAPPER=$REAL_WORKER
    HOST_ENV=(-u E2B_API_KEY -u E2B_API_URL -u E2B_SANDBOX_URL -u E2B_DOMAIN -u OSIRIS_TRUST_DOTENV)
    hrun
    # A setting the run cannot use: the run fails before anything is sent
    # (exit 1 and status.json, like a missing E2B_API_KEY).
    expect_exit 1
    check "status.json reason preflight_failed" [ "$(status_field "$RUN_DIR" reason)" = preflight_failed ]
    msg="$(cat "$OUT.txt") $( [ -n "$RUN_DIR" ] && err_message "$RUN_DIR")"
    check "message names OSIRIS_TRUST_DOTENV ($(out_tail))" grep -qF OSIRIS_TRUST_DOTENV <<<"$msg"
    check "no POST /sandboxes reached the fake" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
sys.exit(0 if s["counters"]["creates"]==0 and not any(r["method"]=="POST" and "sandboxes" in r["path"] for r in s["requests"]) else 1)' "$OUT.json"
    check "no host file changed" [ "$SNAP_BEFORE" = "$SNAP_AFTER" ]
    check "scratch directory removed" [ -z "$(ls -d "$RT_TMP"/osiris-* 2>/dev/null)" ]

    new_case dotenv-trusted e2b
    printf 'E2B_API_KEY=%s\nE2B_API_URL=%s\nE2B_SANDBOX_URL=%s\n' "$E2B_API_KEY" "$FAKE_URL" "$FAKE_URL" >"$PROJ/.env"
    WRAPPER=$REAL_WORKER
    HOST_ENV=(-u E2B_API_KEY -u E2B_API_URL -u E2B_SANDBOX_URL -u E2B_DOMAIN OSIRIS_TRUST_DOTENV=1)
    hrun
    expect_exit 0
    check "declared output written" cmp -s "$DECLARED" "$EXPECTED"
    check "events.jsonl holds a security_warning event" grep -qs '"event":"security_warning"' "$RUN_DIR/events.jsonl"
    expect_clean
  fi
fi

finish
