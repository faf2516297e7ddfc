#!/usr/bin/env bash
# osiris runs diff: two runs of one manifest are equivalent; a changed
# output, a different row count or a missing event are reported, exit 1.
source "$(dirname "$0")/lib.sh"

new_case equivalent
copy_example
run_osiris compile examples/movies/pipeline.yaml
assert_exit 0 "compile"
run_osiris run --last-compile
assert_exit 0 "first run"
A=$(newest_run_dir)
sleep 1
run_osiris run --last-compile
assert_exit 0 "second run"
B=$(newest_run_dir)
[ "$A" != "$B" ] && pass "two run dirs" || fail "two run dirs: $A $B"
run_osiris runs diff "$A" "$B"
assert_exit 0 "two runs of one manifest are equivalent"
assert_contains "$OUT" "equivalent"
run_osiris runs diff "$A" "$B" --json
assert_exit 0 "--json exit 0"
assert_eq "True" "$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["equivalent"])' "$OUT")" "--json says equivalent"

new_case different
copy_example
run_osiris compile examples/movies/pipeline.yaml
run_osiris run --last-compile
A=$(newest_run_dir)
sleep 1
run_osiris run --last-compile --param min_rating=8.5
# a manifest run ignores --param; use a second compile instead
run_osiris compile examples/movies/pipeline.yaml --param min_rating=8.5
run_osiris run --last-compile
B=$(newest_run_dir)
run_osiris runs diff "$A" "$B"
assert_exit 1 "different parameters give differences"
assert_contains "$OUT" "difference"
assert_contains "$OUT" "cfg_materialized differs"
# a removed event is reported for its step
grep -v '"event":"rows_out","step_id":"extract-movies"' "$A/events.jsonl" > "$A/events.tmp" && mv "$A/events.tmp" "$A/events.jsonl"
run_osiris runs diff "$A" "$A/../$(basename "$A")"
assert_exit 0 "a run equals itself"
run_osiris runs diff "$A" no_such_dir
assert_exit 2 "a missing directory is a usage error"

finish
