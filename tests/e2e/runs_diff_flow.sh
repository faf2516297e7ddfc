#!/usr/bin/env bash
# osiris runs diff on the user's flow: `osiris run p.yaml` twice compiles
# twice (two manifests that differ in meta.generated_at), yet the runs are
# equivalent; so are runs of two checkouts of one project (paths in events
# compared as the pipeline wrote them).  Different parameters, a different
# profile or different data are still differences (exit 1).
# The same flow across adapters (--sandbox local, --e2b) is in
# tests/remote/runs_diff_flow.sh.
source "$(dirname "$0")/lib.sh"

# run_dir VAR ARGS...: `osiris run ARGS --json`; VAR = the run directory.
run_dir() {
  local var=$1
  shift
  run_osiris run "$@" --json
  printf -v "$var" '%s' "$(json_get "$OUT" 'd["session_dir"]')"
}

# ------------------------------------------------ one file, run twice
new_case rerun
copy_example
run_dir A examples/movies/pipeline.yaml
assert_exit 0 "first run of the OML file"
run_dir B examples/movies/pipeline.yaml
assert_exit 0 "second run of the OML file"
[ -n "$A" ] && [ "$A" != "$B" ] && pass "two run directories" || fail "two run directories: [$A] [$B]"
if cmp -s "$A/manifest.yaml" "$B/manifest.yaml"; then
  fail "each run compiled again: the two manifests should differ in generated_at"
else
  pass "each run compiled again (manifests differ byte-wise)"
fi
run_osiris runs diff "$A" "$B"
assert_exit 0 "two runs of one pipeline file are equivalent"
assert_contains "$OUT" "equivalent"
assert_not_contains "$OUT" "manifest_materialized"
run_osiris runs diff "$A" "$B" --json
assert_exit 0 "--json: exit 0"
assert_eq "true" "$(json_get "$OUT" 'd["equivalent"]')" "--json: equivalent"
# the manifest is still compared: a step's driver edited in B is reported
sed 's/driver: filesystem.csv_writer/driver: filesystem.other_writer/' "$B/manifest.yaml" >m.tmp && cp m.tmp "$B/manifest.yaml"
run_osiris runs diff "$A" "$B"
assert_exit 1 "an edited manifest is a difference"
assert_contains "$OUT" "manifest.yaml: steps[2].driver differs"

# ------------------------------------------------ two checkouts
new_case checkouts
mkdir -p one two
(cd one && copy_example)
(cd two && copy_example)
cd one || exit 1
run_dir A examples/movies/pipeline.yaml
assert_exit 0 "run in checkout one"
cd ../two || exit 1
run_dir B examples/movies/pipeline.yaml
assert_exit 0 "run in checkout two"
cd .. || exit 1
assert_contains "$A/events.jsonl" "$E2E_WORK/checkouts/one/examples/output" "events carry checkout one's absolute path"
run_osiris runs diff "$A" "$B"
assert_exit 0 "runs of two checkouts are equivalent"
# ... and their output files are still compared, by the path the pipeline wrote
echo "tampered" >>two/examples/output/movies_by_decade.csv
run_osiris runs diff "$A" "$B"
assert_exit 1 "a changed output file in one checkout is a difference"
assert_contains "$OUT" "output file: examples/output/movies_by_decade.csv differs"

# ------------------------------------------------ real differences
new_case params
copy_example
run_dir A examples/movies/pipeline.yaml
run_dir B examples/movies/pipeline.yaml --param min_rating=8.5
assert_exit 0 "run with --param"
run_osiris runs diff "$A" "$B"
assert_exit 1 "different parameters: exit 1"
assert_contains "$OUT" "params_fp differs"
assert_contains "$OUT" "cfg_materialized differs"

new_case profile
copy_example
run_dir A examples/movies/pipeline.yaml
run_dir B examples/movies/pipeline.yaml --profile strict
assert_exit 0 "run with --profile strict"
run_osiris runs diff "$A" "$B"
assert_exit 1 "a different profile: exit 1"
assert_contains "$OUT" "manifest.yaml: meta.profile differs"

new_case data
copy_example
run_dir A examples/movies/pipeline.yaml
head -n 30 examples/movies/data/movies.csv >d.tmp && cp d.tmp examples/movies/data/movies.csv
run_dir B examples/movies/pipeline.yaml
assert_exit 0 "run on fewer rows"
run_osiris runs diff "$A" "$B"
assert_exit 1 "different data: exit 1"
assert_contains "$OUT" "rows_out differs"

finish
