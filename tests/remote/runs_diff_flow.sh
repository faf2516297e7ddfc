#!/usr/bin/env bash
# tests/remote/runs_diff_flow.sh -- the documented parity check: in one
# project directory
#   osiris run p.yaml;  osiris run p.yaml --sandbox local;  osiris run p.yaml --e2b
# (each compiles again), then `osiris runs diff A B` exits 0 for every pair;
# a run with different parameters or different data exits 1 against them.
# --e2b runs against tests/fake_e2b.
#   bash tests/remote/runs_diff_flow.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

mkdir -p "$RT_WORK/proj" && cp -r "$RT_ROOT/examples" "$RT_WORK/proj/"
cd "$RT_WORK/proj" || exit 1
P=examples/movies/pipeline.yaml

# flow_run VAR MODE [args...]: run $P in MODE; VAR = its run directory
flow_run() {
  local var=$1 mode=$2 dir
  shift 2
  remote_run "$mode" "$P" --json "$@"
  dir=$(printf '%s' "$RT_OUT" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session_dir"])' 2>/dev/null)
  check "$mode run exit 0 ($(printf '%s' "$RT_OUT" | tail -c 300))" [ "$RT_RC" = 0 ]
  printf -v "$var" '%s' "$dir"
}

diff_exit() { # diff_exit A B: the exit status of osiris runs diff
  "$OSIRIS" runs diff "$1" "$2" >"$RT_WORK/diff.out" 2>&1
  echo $?
}

RT_CASE=flow
flow_run L local
flow_run S sandbox
flow_run E e2b
check "three run directories" [ -d "$L" -a -d "$S" -a -d "$E" -a "$L" != "$S" -a "$S" != "$E" ]
if cmp -s "$L/manifest.yaml" "$E/manifest.yaml"; then fail "each run compiled again (manifests differ)"; else pass "each run compiled again"; fi
for pair in "$L $S" "$L $E" "$S $E" "$E $L"; do
  # shellcheck disable=SC2086
  set -- $pair
  rc=$(diff_exit "$1" "$2")
  check "runs diff $(basename "$1") $(basename "$2") exit 0 ($(tail -n 5 "$RT_WORK/diff.out"))" [ "$rc" = 0 ]
done
check "transport events listed apart" grep -q 'transport-only' "$RT_WORK/diff.out"

RT_CASE=params
flow_run X e2b --param min_rating=8.5
rc=$(diff_exit "$L" "$X")
check "different parameters: exit 1" [ "$rc" = 1 ]
check "names params_fp" grep -q 'params_fp differs' "$RT_WORK/diff.out"

RT_CASE=data
head -n 30 examples/movies/data/movies.csv >"$RT_WORK/m.csv" && cp "$RT_WORK/m.csv" examples/movies/data/movies.csv
flow_run Y sandbox
rc=$(diff_exit "$S" "$Y")
check "different data: exit 1" [ "$rc" = 1 ]
check "names the row count" grep -q 'rows_out differs' "$RT_WORK/diff.out"

finish
