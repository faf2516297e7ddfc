#!/usr/bin/env bash
# tests/remote/parity.sh -- the same pipelines run local, --sandbox local and
# --e2b (against tests/fake_e2b) must give byte-identical output files, the
# same events (names, per-step order, fields except timestamps, durations,
# paths and hashes; transport events apart), the same metric names, the
# same artifacts and the same status.json verdict.
#   bash tests/remote/parity.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

sha_tree() { # sha256 of every file under DIR/artifacts, relative names
  (cd "$1" && find artifacts -type f | sort | xargs -r sha256sum)
}

metric_names() {
  "$PY" - "$1" <<'EOF'
import json, sys
T = {"e2b_overhead_ms", "artifacts_copy_ms", "artifacts_bytes_total", "artifacts_files_total"}
names = set()
for line in open(sys.argv[1] + "/metrics.jsonl"):
    m = json.loads(line)
    if m["metric"] not in T:
        names.add(m["metric"] + " " + m.get("tags", {}).get("step_id", ""))
print("\n".join(sorted(names)))
EOF
}

# parity_case NAME PIPELINE OUTPUT_FILE EXPECT_RC [artifacts_identical=1]
parity_case() {
  local name=$1 pipeline=$2 output=$3 expect=$4 same_artifacts=${5:-1}
  local mode dir_local= dir
  RT_CASE=$name
  for mode in local sandbox e2b; do
    rm -f "$output"
    remote_run "$mode" "$pipeline"
    dir=$(last_run)
    check "$mode exit $expect (got $RT_RC: $RT_OUT)" [ "$RT_RC" = "$expect" ]
    check "$mode status.json written" [ -f "$dir/status.json" ]
    check "$mode status ok matches" [ "$(status_field "$dir" ok)" = "$([ "$expect" = 0 ] && echo true || echo false)" ]
    if [ "$expect" = 0 ]; then
      check "$mode output file exists" [ -f "$output" ]
      cp "$output" "$RT_WORK/$name.$mode.out" 2>/dev/null
    fi
    if [ "$mode" = local ]; then
      dir_local=$dir
      continue
    fi
    check "$mode commands.jsonl in the run dir" [ -s "$dir/commands.jsonl" ]
    check "$mode run_card.json" [ -s "$dir/run_card.json" ]
    check "$mode events equal local" events_equal "$dir_local" "$dir"
    check "$mode metric names equal local" [ "$(metric_names "$dir_local")" = "$(metric_names "$dir")" ]
    for m in e2b_overhead_ms artifacts_copy_ms artifacts_bytes_total artifacts_files_total; do
      check "$mode metric $m" grep -q "\"metric\":\"$m\"" "$dir/metrics.jsonl"
    done
    check "$mode status reason equal" [ "$(status_field "$dir_local" reason)" = "$(status_field "$dir" reason)" ]
    check "$mode status steps_completed equal" \
      [ "$(status_field "$dir_local" steps_completed)" = "$(status_field "$dir" steps_completed)" ]
    check "$mode status total_rows equal" \
      [ "$(status_field "$dir_local" total_rows)" = "$(status_field "$dir" total_rows)" ]
    if [ "$same_artifacts" = 1 ]; then
      check "$mode artifacts identical" [ "$(sha_tree "$dir_local")" = "$(sha_tree "$dir")" ]
    else
      check "$mode artifact names identical" \
        [ "$(sha_tree "$dir_local" | awk '{print $2}')" = "$(sha_tree "$dir" | awk '{print $2}')" ]
    fi
    if [ "$expect" = 0 ]; then
      check "$mode output byte-identical" cmp -s "$RT_WORK/$name.local.out" "$RT_WORK/$name.$mode.out"
    fi
  done
}

# 1. the example pipeline, run from a copy of the repo's examples/
mkdir -p "$RT_WORK/movies" && cp -r "$RT_ROOT/examples" "$RT_WORK/movies/"
(
  cd "$RT_WORK/movies" || exit 1
  parity_case movies examples/movies/pipeline.yaml examples/output/movies_by_decade.csv 0
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

# 2. absolute input and output paths (mapped into the sandbox and back)
mkdir -p "$RT_WORK/abs/in" "$RT_WORK/abs/out"
cp "$RT_FIX/data/people.csv" "$RT_WORK/abs/in/"
sed "s#@DIR@#$RT_WORK/abs#g" "$RT_FIX/abs_paths.yaml" >"$RT_WORK/abs/pipeline.yaml"
(
  cd "$RT_WORK/abs" || exit 1
  # cleaned_config.json shows the worker's path for absolute paths
  parity_case abs pipeline.yaml "$RT_WORK/abs/out/top.csv" 0 0
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

# 3. a failing step: same failure everywhere
mkdir -p "$RT_WORK/failing"
cp -r "$RT_FIX/data" "$RT_FIX/failing.yaml" "$RT_WORK/failing/"
(
  cd "$RT_WORK/failing" || exit 1
  parity_case failing failing.yaml output/never.csv 1
  RT_CASE=failing
  check "failed step named" [ "$(status_field "$(last_run)" error | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["step_id"])')" = broken ]
  check "no output written" [ ! -e output/never.csv ]
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

# 4. file-based components: a Parquet and a CSV input are shipped, a Parquet
# and a CSV output come back (the packager reads the drivers' declared
# files; it once knew only the CSV steps by name)
mkdir -p "$RT_WORK/pq/data"
cp "$RT_FIX/data/people.csv" "$RT_FIX/parquet_io.yaml" "$RT_WORK/pq/"
cp "$RT_FIX/data/people.csv" "$RT_WORK/pq/data/"
(
  cd "$RT_WORK/pq" || exit 1
  RT_CASE=parquet-io
  # the Parquet input, written by osiris itself
  cat >to_parquet.yaml <<'YAML'
oml_version: "0.1.0"
name: to-parquet
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: people.csv}
  - id: write
    component: filesystem.parquet_writer
    mode: write
    needs: [read]
    config: {path: data/people.parquet}
YAML
  "$OSIRIS" run to_parquet.yaml >/dev/null 2>&1
  check "Parquet input prepared" [ -s data/people.parquet ]
  parity_case parquet-io parquet_io.yaml output/joined.parquet 0
  for mode in local sandbox e2b; do
    rm -f output/joined.csv
    remote_run "$mode" parquet_io.yaml
    check "$mode CSV output beside the Parquet one" [ -s output/joined.csv ]
    cp output/joined.csv "$RT_WORK/pq.$mode.csv" 2>/dev/null
  done
  check "CSV outputs identical (sandbox)" cmp -s "$RT_WORK/pq.local.csv" "$RT_WORK/pq.sandbox.csv"
  check "CSV outputs identical (e2b)" cmp -s "$RT_WORK/pq.local.csv" "$RT_WORK/pq.e2b.csv"
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

# 5. osiris runs diff: one compiled manifest, three transports, no difference
RT_CASE=runs-diff
(
  cd "$RT_WORK/movies" || exit 1
  if "$OSIRIS" runs --help 2>&1 | grep -q diff; then
    "$OSIRIS" compile examples/movies/pipeline.yaml >/dev/null 2>&1
    manifest=$(ls -td logs/compile_*/compiled/manifest.yaml | head -1)
    remote_run local "$manifest"
    a=$(last_run)
    for mode in sandbox e2b; do
      remote_run "$mode" "$manifest"
      b=$(last_run)
      "$OSIRIS" runs diff "$a" "$b" >"$RT_WORK/diff.txt" 2>&1
      drc=$?
      check "$mode: osiris runs diff finds no difference ($(grep -v '^  ' "$RT_WORK/diff.txt" | head -3))" [ "$drc" = 0 ]
    done
  fi
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

# 5. transport details: scratch dir removed, sandbox deleted, E2B calls as specified
RT_CASE=transport
(
  cd "$RT_WORK/movies" || exit 1
  before=$(ls -d "${TMPDIR:-/tmp}"/osiris-sandbox-* 2>/dev/null | wc -l)
  remote_run sandbox examples/movies/pipeline.yaml
  after=$(ls -d "${TMPDIR:-/tmp}"/osiris-sandbox-* 2>/dev/null | wc -l)
  check "scratch directory removed" [ "$before" = "$after" ]
  remote_run e2b examples/movies/pipeline.yaml
  fake_get /_fake/state >"$RT_WORK/state.json"
  check "every sandbox deleted" "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(1 if s["live"] else 0)' "$RT_WORK/state.json"
  check "worker started without Connect-Timeout-Ms, keepalive 50" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
w=[p for p in s["processes"] if "osiris-worker" in p["cmd"]]
sys.exit(0 if w and all(p["connect_timeout_ms"] is None and str(p["keepalive_interval"])=="50" for p in w) else 1)' "$RT_WORK/state.json"
  check "worker uploaded as octet-stream" "$PY" -c '
import json,sys
s=json.load(open(sys.argv[1]))
sys.exit(0 if any("osiris-worker" in u["path"] and u["content_type"]=="application/octet-stream" for u in s["uploads"]) else 1)' "$RT_WORK/state.json"
  check "E2B_API_KEY not in any process environment" "$PY" -c '
import json,sys,os
s=json.load(open(sys.argv[1]))
k=os.environ["E2B_API_KEY"]
sys.exit(1 if any(k in json.dumps(p["envs"]) for p in s["processes"]) else 0)' "$RT_WORK/state.json"
  unset E2B_API_KEY
  remote_run e2b examples/movies/pipeline.yaml
  check "no E2B_API_KEY: exit 1" [ "$RT_RC" = 1 ]
  check "no E2B_API_KEY: says so" grep -q E2B_API_KEY "$(last_run)/status.json"
  echo "$RT_PASS $RT_FAIL" >"$RT_WORK/counts"
)
read -r RT_PASS RT_FAIL <"$RT_WORK/counts"

finish
