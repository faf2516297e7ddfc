#!/usr/bin/env bash
# tests/e2e/sysfaults.sh -- system faults of a local run (no database):
#   disk full (tmpfs) during a CSV write, a Parquet spill and the run
#   directory's own files; an output directory nobody can write (not even
#   root: a read-only tmpfs, a parent that is a regular file); an input
#   that changes between the CSV reader's two passes; SIGTERM and SIGINT
#   while a run waits on a FIFO; two runs at once in one project.
#
# Nothing here depends on the machine's speed: a run is held at a known
# point (blocked on a FIFO the test controls, as the kernel reports it in
# /proc/PID/task/*/wchan; or stopped by gdb at the reader's second pass)
# before the test acts, and every wait is a bounded poll on a condition.
# Needs root (mount -t tmpfs) and gdb; without them the cases FAIL with
# the reason, they are never skipped.
#   bash tests/e2e/sysfaults.sh      (from the repo root, after make)
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------------- helpers
SF_MOUNTS=()
sf_cleanup() {
  local m
  cd / || return
  for m in "${SF_MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"
}
trap sf_cleanup EXIT

# mount_tmpfs DIR SIZE: a fresh tmpfs of SIZE at DIR (unmounted on exit);
# returns 1 (after a FAIL naming the reason) when it cannot be mounted.
mount_tmpfs() {
  local out dir
  mkdir -p "$1" && dir=$(cd "$1" && pwd) || { fail "cannot create $1"; return 1; }
  if ! out=$(mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$dir" 2>&1); then
    fail "cannot mount a tmpfs at $dir (the disk-full and read-only cases need root): $out"
    return 1
  fi
  SF_MOUNTS+=("$dir")
}

# fill DIR: write zeros into DIR/filler until the filesystem is full.
fill() { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null; return 0; }


# blocked_on_fifo PID: some thread of PID sleeps in the kernel on a FIFO:
# opening it (no writer yet) or reading it (a writer that sends nothing).
blocked_on_fifo() {
  grep -qsE 'wait_for_partner|pipe_read|pipe_wait' /proc/"$1"/task/*/wchan
}

# no_tmp_files DIR... : no temporary file (*.tmp) was left behind.
no_tmp_files() {
  local left
  left=$(find "$@" -name '*.tmp' 2>/dev/null | head -n 5)
  if [ -z "$left" ]; then pass "no *.tmp left"; else fail "temporary files left: $left"; fi
}

# lines_complete FILE: every line of a JSON-lines file is whole JSON
# (a write that failed half-way must not leave a torn line).
lines_complete() {
  local r
  [ -f "$1" ] || { pass "no $1"; return; }
  r=$(py - "$1" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    print("ends inside a line"); sys.exit()
for n, line in enumerate(data.splitlines(), 1):
    try:
        json.loads(line)
    except Exception as e:
        print("line %d is not JSON: %r" % (n, line[:80])); sys.exit()
print("ok")
PY
)
  if [ "$r" = ok ]; then pass "$1: whole lines"; else fail "$1: $r"; fi
}

# status_field RUN_DIR EXPR: a value of RUN_DIR/status.json.
status_field() { json_get "$1/status.json" "$2"; }

# big_csv FILE ROWS: id,name rows (about 15 bytes a row).
big_csv() {
  py - "$1" "$2" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name\n")
    for i in range(int(sys.argv[2])):
        f.write("%d,name%d\n" % (i, i))
PY
}

# copy_pipeline SRC DEST WRITER: a two-step pipeline, CSV SRC -> DEST.
copy_pipeline() {
  cat >p.yaml <<YAML
oml_version: "0.1.0"
name: sysfaults
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config: {path: $1}
  - id: write
    component: ${3:-filesystem.csv_writer}
    mode: write
    needs: [extract]
    config: {path: $2}
YAML
}

if [ "$(id -u)" != 0 ]; then
  fail "these cases need root (they mount tmpfs filesystems); running as $(id -un)"
  finish
fi

# ------------------------------------------------------------- disk full
# CSV write on a full disk, streamed (the default) and whole-frame: the
# writer's ENOSPC names the output path, exit 1, status.json names the
# step, the file that was there before is untouched (the writer renames a
# finished temporary file; it never writes under the final name) and no
# temporary file is left (the tmpfs is empty again but for the old file).
for mode in stream whole; do
  new_case "disk_full_csv_$mode"
  big_csv big.csv 100000
  if mount_tmpfs mnt 256k; then
    mkdir -p mnt/out
    printf 'old,content\n1,2\n' >mnt/out/out.csv
    cp mnt/out/out.csv before.csv
    copy_pipeline big.csv mnt/out/out.csv
    if [ "$mode" = whole ]; then export OSIRIS_STREAM=0; fi
    run_osiris run p.yaml
    unset OSIRIS_STREAM
    assert_exit 1 "disk full during a CSV write: exit 1"
    assert_contains "$ERR" "No space left on device" "the message says ENOSPC"
    assert_contains "$ERR" "$PWD/mnt/out/out.csv" "the message names the output file"
    RUN=$(newest_run_dir)
    assert_eq write "$(status_field "$RUN" 'd["error"]["step_id"]')" "status.json names the step"
    assert_contains "$RUN/status.json" "No space left on device"
    assert_files_equal before.csv mnt/out/out.csv "the file under the final name is the old one"
    no_tmp_files mnt "$RUN" .
    assert_eq "out.csv" "$(ls -A mnt/out | tr '\n' ' ' | sed 's/ $//')" "nothing else in the output directory"
  fi
done

# A Parquet spill (OSIRIS_FORCE_SPILL=1) into a run directory on a small
# tmpfs: ENOSPC names artifacts/<step>/output.parquet, exit 1; the failed
# spill's temporary file is removed, so status.json can still be written,
# and it names the step.
new_case disk_full_spill
big_csv big.csv 100000
copy_pipeline big.csv out/out.csv
run_osiris compile p.yaml --out compiled
assert_exit 0 "compile"
if mount_tmpfs mnt 512k; then
  OSIRIS_FORCE_SPILL=1 run_osiris run compiled/manifest.yaml --logs-dir mnt/logs
  assert_exit 1 "disk full during a Parquet spill: exit 1"
  assert_contains "$ERR" "No space left on device" "the message says ENOSPC"
  RUN=$(newest_run_dir mnt/logs)
  assert_contains "$ERR" "$PWD/$RUN/artifacts/extract/output.parquet" "the message names the spill file"
  assert_file "$RUN/status.json"
  assert_eq extract "$(status_field "$RUN" 'd["error"]["step_id"]')" "status.json names the step"
  assert_contains "$RUN/status.json" "No space left on device"
  assert_no_file "$RUN/artifacts/extract/output.parquet"
  assert_no_file out/out.csv
  no_tmp_files mnt .
  lines_complete "$RUN/events.jsonl"
fi

# The run directory's own files on a full disk (a compiled manifest, so
# the run directory is the first thing written there): exit 1, the
# message says ENOSPC and names a file of the run directory; no torn line
# and no temporary file is left.
new_case disk_full_run_dir
big_csv big.csv 10
copy_pipeline big.csv out/out.csv
run_osiris compile p.yaml --out compiled
if mount_tmpfs mnt 512k; then
  fill mnt
  run_osiris run compiled/manifest.yaml --logs-dir mnt/logs
  assert_exit 1 "disk full for the run directory: exit 1"
  assert_contains "$ERR" "No space left on device" "the message says ENOSPC"
  assert_matches "$ERR" "cannot write $PWD/mnt/logs/run_[0-9_a-f]+/[a-z_./]+" "the message names the file"
  RUN=$(newest_run_dir mnt/logs)
  for f in events.jsonl metrics.jsonl; do lines_complete "$RUN/$f"; done
  no_tmp_files mnt
  assert_no_file out/out.csv
fi

# The disk fills at every point of a run in turn: the tmpfs leaves 1, 2,
# ... 14 pages free (a run directory of this pipeline needs about 11).
# Whatever the point, the run either succeeds with every file whole, or
# fails with exit 1 and a message that says ENOSPC and names the file
# (never an empty message, never "ok" in a status.json of a failed run);
# events.jsonl and metrics.jsonl hold whole lines only; no temporary file.
new_case disk_full_sweep
big_csv big.csv 10
copy_pipeline big.csv out/out.csv
run_osiris compile p.yaml --out compiled
if mount_tmpfs mnt 512k; then
  for free in $(seq 1 14); do
    rm -rf mnt/logs mnt/filler out
    dd if=/dev/zero of=mnt/filler bs=4k count=$((128 - free)) 2>/dev/null
    run_osiris run compiled/manifest.yaml --logs-dir mnt/logs
    RUN=$(newest_run_dir mnt/logs)
    if [ "$RC" = 0 ]; then
      pass "$free pages free: success"
      assert_eq true "$(status_field "$RUN" 'd["ok"]')" "$free pages free: status.json ok"
      assert_files_equal big.csv out/out.csv "$free pages free: output complete"
    else
      assert_exit 1 "$free pages free: exit 1"
      assert_matches "$ERR" "cannot write [^ ]+: No space left on device" \
        "$free pages free: the message names the file and says ENOSPC"
      if [ -f "$RUN/status.json" ]; then
        assert_eq false "$(status_field "$RUN" 'd["ok"]')" "$free pages free: status.json says failed"
      fi
      assert_no_file out/out.csv.tmp
    fi
    for f in events.jsonl metrics.jsonl; do lines_complete "$RUN/$f"; done
    no_tmp_files mnt out
  done
fi

# ------------------------------------------------------------- not writable
# Root writes through permission bits, so the directories here are ones
# root cannot write either: a tmpfs remounted read-only (an existing
# directory, and one to create) and a path whose parent is a regular file.
# Each fails with exit 1, the error names the path, status.json names the
# writer step.
new_case not_writable
big_csv big.csv 10
if mount_tmpfs ro 64k; then
  mkdir -p ro/out
  if out=$(mount -o remount,ro ro 2>&1); then
    touch plain_file
    for target in "ro/out/a.csv|$PWD/ro/out/a.csv: Read-only file system" \
                  "ro/new/a.csv|$PWD/ro/new: Read-only file system" \
                  "plain_file/sub/a.csv|$PWD/plain_file/sub: Not a directory" \
                  "ro/out/a.parquet|$PWD/ro/out/a.parquet: Read-only file system"; do
      path=${target%%|*} msg=${target#*|}
      case $path in
        *.parquet) copy_pipeline big.csv "$path" filesystem.parquet_writer ;;
        *) copy_pipeline big.csv "$path" ;;
      esac
      run_osiris run p.yaml
      assert_exit 1 "$path: exit 1"
      assert_contains "$ERR" "$msg" "$path: the error names the path and the reason"
      RUN=$(newest_run_dir)
      assert_eq write "$(status_field "$RUN" 'd["error"]["step_id"]')" "$path: status.json names the step"
    done
    assert_eq "out" "$(ls -A ro)" "nothing written on the read-only filesystem"
  else
    fail "cannot remount the tmpfs read-only: $out"
  fi
fi

# ------------------------------------------------------------- input changes
# The CSV reader reads a regular file twice (types, then rows).  gdb stops
# it where pass 2 starts (the second call of cs_rewind, from cs_build) and
# the test changes the file there:
#  - truncated: the documented error, "<path> changed while being read",
#    exit 1, status.json names the extractor, no output file;
#  - unlinked: the reader still holds the file it opened, so the read
#    completes from that one version (every row), exit 0.
# gdb_hold_run ACTION: run osiris under gdb, ACTION (a shell command) at
# the hold; sets RC (osiris's exit code) and GDB_OUT.
gdb_hold_run() {
  GDB_OUT=$PWD/gdb.out
  timeout 300 gdb -nx -batch -ex 'set confirm off' -ex 'set pagination off' \
    -ex 'break cs_rewind' -ex 'ignore 1 1' -ex run -ex 'bt 2' -ex "shell $1" -ex continue \
    --args "$OSIRIS" run p.yaml >"$GDB_OUT" 2>&1 </dev/null
  RC=$(sed -n 's/^\[Inferior 1 (process [0-9]*) exited with code \([0-9]*\)\]$/\1/p' "$GDB_OUT")
  case $RC in '') RC=unknown ;; *) RC=$((10#$RC)) ;; esac
  grep -q 'exited normally' "$GDB_OUT" && RC=0
  ERR=$GDB_OUT
}
if ! command -v gdb >/dev/null; then
  new_case input_changes
  fail "gdb is needed to hold the CSV reader between its two passes (apt-get install gdb)"
else
  new_case input_truncated
  big_csv big.csv 100000
  copy_pipeline big.csv out/out.csv
  gdb_hold_run 'truncate -s 20 big.csv'
  if grep -q 'in cs_build' "$GDB_OUT"; then pass "held where pass 2 starts"; else
    fail "gdb did not stop the reader at pass 2: $(tail -n 20 "$GDB_OUT")"; fi
  assert_exit 1 "a file truncated between the passes: exit 1"
  assert_contains "$GDB_OUT" "$PWD/big.csv changed while being read" "the documented error names the file"
  RUN=$(newest_run_dir)
  assert_eq extract "$(status_field "$RUN" 'd["error"]["step_id"]')" "status.json names the extractor"
  assert_contains "$RUN/status.json" "changed while being read"
  assert_no_file out/out.csv
  no_tmp_files . 

  new_case input_unlinked
  big_csv big.csv 100000
  cp big.csv expected.csv
  copy_pipeline big.csv out/out.csv
  gdb_hold_run 'rm -f big.csv'
  if grep -q 'in cs_build' "$GDB_OUT"; then pass "held where pass 2 starts"; else
    fail "gdb did not stop the reader at pass 2: $(tail -n 20 "$GDB_OUT")"; fi
  assert_exit 0 "a file unlinked between the passes is read from the version opened"
  assert_files_equal expected.csv out/out.csv "every row of the opened version"
fi

# ------------------------------------------------------------- signals
# A run blocked on a FIFO input the test never writes (the kernel shows a
# thread of osiris sleeping on it) gets SIGTERM or SIGINT: it ends with
# exit 1 (a failed run, as the CLI documents), status.json says reason
# "interrupted" with OSIRIS_ECANCEL and the step, run_complete is written,
# the writer's output does not exist and no temporary file is left.  Both
# the streamed pair (the extractor in its own thread) and OSIRIS_STREAM=0;
# both a FIFO nobody opened (osiris blocked in open) and one whose writer
# sends part of a file and then nothing (osiris blocked in read).
for variant in TERM:stream:open INT:stream:open TERM:whole:read INT:whole:open TERM:stream:read; do
  IFS=: read -r sig mode hold <<<"$variant"
  new_case "signal_${sig}_${mode}_$hold"
  mkfifo in.csv
  copy_pipeline in.csv out/out.csv
  writer_pid=
  if [ "$hold" = read ]; then
    # holds the FIFO open for writing after one line, until killed
    "$PY" -S -c 'import os, time
fd = os.open("in.csv", os.O_WRONLY)
os.write(fd, b"id,name\n")
time.sleep(3600)' &
    writer_pid=$!
  fi
  if [ "$mode" = whole ]; then export OSIRIS_STREAM=0; fi
  "$OSIRIS" run p.yaml >out.txt 2>err.txt </dev/null &
  pid=$!
  unset OSIRIS_STREAM
  if wait_until 60 blocked_on_fifo "$pid"; then
    pass "held on the FIFO"
    kill -s "$sig" "$pid"
    if wait_until 60 eval '! kill -0 '"$pid"' 2>/dev/null'; then
      RC=0; wait "$pid" || RC=$?
      ERR=$PWD/err.txt
      assert_exit 1 "SIG$sig: exit 1"
      RUN=$(newest_run_dir)
      assert_eq interrupted "$(status_field "$RUN" 'd["reason"]')" "SIG$sig: status.json reason"
      assert_eq OSIRIS_ECANCEL "$(status_field "$RUN" 'd["error"]["code"]')" "SIG$sig: status.json code"
      assert_eq extract "$(status_field "$RUN" 'd["error"]["step_id"]')" "SIG$sig: status.json names the step"
      assert_contains "$RUN/events.jsonl" '"event":"run_complete"'
      assert_contains err.txt "interrupted"
      assert_no_file out/out.csv
      no_tmp_files . 
    else
      fail "SIG$sig did not end the run within 60 s"
      kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    fi
  else
    fail "osiris did not block on the FIFO within 60 s: $(cat err.txt)"
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  fi
  if [ -n "$writer_pid" ]; then kill "$writer_pid" 2>/dev/null; wait "$writer_pid" 2>/dev/null; fi
done

# ------------------------------------------------------------- two runs at once
# Two runs of one pipeline in one project directory at once, each blocked
# on its own FIFO (--param picks it) until both are held, then fed: both
# succeed, their session ids and run directories differ, every event of a
# run directory carries that run's session id, each cfg names its own
# FIFO only, and each output is its own input.
new_case two_runs
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: two-at-once
params:
  src: {default: a}
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config: {path: "in_${params.src}.csv"}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [extract]
    config: {path: "out/${params.src}.csv"}
YAML
mkfifo in_a.csv in_b.csv
"$OSIRIS" --json run p.yaml --param src=a >a.json 2>a.err </dev/null &
pa=$!
"$OSIRIS" --json run p.yaml --param src=b >b.json 2>b.err </dev/null &
pb=$!
if wait_until 60 blocked_on_fifo "$pa" && wait_until 60 blocked_on_fifo "$pb"; then
  pass "both runs held on their FIFOs"
  printf 'id,who\n1,a\n2,a\n' >in_a.csv
  printf 'id,who\n1,b\n' >in_b.csv
  ra=0; rb=0
  wait_until 60 eval '! kill -0 '"$pa"' 2>/dev/null && ! kill -0 '"$pb"' 2>/dev/null' ||
    { fail "the runs did not end within 60 s"; kill -KILL "$pa" "$pb" 2>/dev/null; }
  wait "$pa" || ra=$?
  wait "$pb" || rb=$?
  assert_eq "0 0" "$ra $rb" "both runs complete (stderr: $(cat a.err b.err))"
  py_check '
import json, os, sys
a, b = (json.load(open(f)) for f in ("a.json", "b.json"))
print(("ok" if a["session_id"] != b["session_id"] else "not ok") + " distinct session ids")
print(("ok" if os.path.realpath(a["session_dir"]) != os.path.realpath(b["session_dir"]) else "not ok") + " distinct run directories")
for me, other, src in ((a, b, "a"), (b, a, "b")):
    d = me["session_dir"]
    sessions = {json.loads(l)["session"] for l in open(os.path.join(d, "events.jsonl"))}
    print(("ok" if sessions == {me["session_id"]} else "not ok") + " %s: events of its own session only (%s)" % (src, sorted(sessions)))
    text = ""
    for root, _, files in os.walk(d):
        for f in files:
            text += open(os.path.join(root, f), errors="replace").read()
    print(("ok" if other["session_id"] not in text else "not ok") + " %s: no mention of the other session" % src)
    cfg = open(os.path.join(d, "cfg", "extract.json")).read()
    print(("ok" if "in_%s.csv" % src in cfg and "in_%s.csv" % ("b" if src == "a" else "a") not in cfg else "not ok") + " %s: its own input in cfg" % src)
'
  assert_eq "$(printf 'id,who\n1,a\n2,a')" "$(cat out/a.csv)" "run a wrote its own rows"
  assert_eq "$(printf 'id,who\n1,b')" "$(cat out/b.csv)" "run b wrote its own rows"
  no_tmp_files .
else
  fail "the two runs did not both block on their FIFOs within 60 s: $(cat a.err b.err)"
  kill -KILL "$pa" "$pb" 2>/dev/null
fi
wait 2>/dev/null

finish
