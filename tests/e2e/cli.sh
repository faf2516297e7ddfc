#!/usr/bin/env bash
# The command line: --help of every command, unknown commands, version,
# components, logs list/show.
. "$(dirname "$0")/lib.sh"

# help_mentions CMD... -- FLAG...: `osiris CMD... --help` exits 0 and its
# output (stdout or stderr) mentions every FLAG.
help_mentions() {
  local cmd=() flag
  while [ "$1" != -- ]; do cmd+=("$1"); shift; done
  shift
  run_osiris "${cmd[@]}" --help
  assert_exit 0 "osiris ${cmd[*]} --help"
  cat "$OUT" "$ERR" >help.txt
  for flag in "$@"; do
    if grep -qF -- "$flag" help.txt; then pass "${cmd[*]} --help mentions $flag"; else fail "osiris ${cmd[*]} --help does not mention $flag"; fi
  done
}

new_case help
help_mentions compile -- --param --profile --out --logs-dir --json
help_mentions validate -- --json
help_mentions run -- --last-compile --param --profile --verbose --json --logs-dir
help_mentions components -- list show --json
help_mentions components list -- --json
help_mentions components show -- --json
help_mentions connections -- list --json
help_mentions connections list -- --json
help_mentions logs -- list show --last --json --logs-dir
help_mentions logs list -- --json --logs-dir
help_mentions logs show -- --last --json --logs-dir
help_mentions version --
run_osiris --help
assert_exit 0 "osiris --help"
for c in compile validate run components connections logs version help; do
  assert_contains "$OUT" "$c" "osiris --help lists $c"
done
run_osiris help
assert_exit 0 "osiris help"
run_osiris help run
assert_exit 0 "osiris help run"
assert_contains "$OUT" --last-compile "osiris help run shows run's flags"

# --------------------------------------------------------- usage errors
new_case usage
run_osiris frobnicate
assert_exit 2 "unknown command exits 2"
assert_contains_i "$ERR" frobnicate "unknown command is named on stderr"
run_osiris
assert_exit 2 "no command exits 2"
run_osiris run
assert_exit 2 "run without a pipeline exits 2"
run_osiris run --no-such-flag x.yaml
assert_exit 2 "unknown flag exits 2"
run_osiris run no_such_pipeline.yaml
assert_exit 2 "run of a missing file exits 2"
assert_contains "$ERR" no_such_pipeline.yaml "missing file is named"
run_osiris compile x.yaml --param novalue
assert_exit 2 "--param without = exits 2"
run_osiris logs show no_such_session
if [ "$RC" = 1 ] || [ "$RC" = 2 ]; then pass "logs show of an unknown session fails"; else fail "logs show unknown session exit $RC"; fi

# -------------------------------------------------------------- version
run_osiris version
assert_exit 0 "osiris version"
assert_contains "$OUT" 0.1.0
run_osiris --version
assert_exit 0 "osiris --version"
assert_contains "$OUT" 0.1.0

# ----------------------------------------------------------- components
new_case components
run_osiris components list
assert_exit 0 "components list"
for c in filesystem.csv_extractor filesystem.csv_writer duckdb.processor; do
  assert_contains "$OUT" "$c"
done
run_osiris components list --json
assert_exit 0 "components list --json"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
try:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
except Exception as e:
    ok(False, "components list --json parses: %s" % e); sys.exit(0)
items = d if isinstance(d, list) else (d.get("components") or [])
names = sorted(i.get("name") if isinstance(i, dict) else str(i) for i in items)
ok({"filesystem.csv_extractor", "filesystem.csv_writer", "duckdb.processor"} <= set(names),
   "components list --json has the three components: %s" % names)
' "$OUT"
run_osiris components show duckdb.processor
assert_exit 0 "components show duckdb.processor"
assert_contains "$OUT" query
run_osiris components show filesystem.csv_extractor --json
assert_exit 0 "components show --json"
for k in path delimiter header encoding skip_rows limit columns na_values infer_types; do
  assert_contains "$OUT" "\"$k\"" "csv_extractor config key $k"
done
run_osiris components show no.such_component
assert_exit 2 "components show of an unknown component exits 2"

# ------------------------------------------------------------------ logs
new_case logs
copy_example
run_osiris logs list
if [ "$RC" = 0 ]; then pass "logs list with no logs"; else fail "logs list with no logs exit $RC"; fi
run_osiris run examples/movies/pipeline.yaml
assert_exit 0 "example run"
RUN=$(newest_run_dir)
SID=${RUN##*/run_}
run_osiris logs list
assert_exit 0 "logs list"
assert_contains "$OUT" "$SID" "logs list shows the session"
run_osiris logs list --json
assert_exit 0 "logs list --json"
if py -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null; then pass "logs list --json parses"; else fail "logs list --json does not parse"; fi
assert_contains "$OUT" "$SID" "logs list --json has the session"
run_osiris logs show --last
assert_exit 0 "logs show --last"
assert_contains "$OUT" "$SID" "logs show --last names the session"
run_osiris logs show "$SID"
assert_exit 0 "logs show SESSION_ID"
assert_contains "$OUT" "$SID"
run_osiris logs show --last --json
assert_exit 0 "logs show --last --json"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
try:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
except Exception as e:
    ok(False, "logs show --last --json parses: %s" % e); sys.exit(0)
ok(sys.argv[2] in json.dumps(d), "logs show --last --json mentions the session id")
' "$OUT" "$SID"

# --logs-dir: a run and its listing elsewhere
run_osiris run examples/movies/pipeline.yaml --logs-dir other_logs
assert_exit 0 "run --logs-dir"
OTHER=$(newest_run_dir other_logs)
if [ -n "$OTHER" ]; then pass "run dir under other_logs"; else fail "no run dir under other_logs"; fi
run_osiris logs list --logs-dir other_logs
assert_exit 0 "logs list --logs-dir"
assert_contains "$OUT" "${OTHER##*/run_}" "logs list --logs-dir shows the run"
assert_not_contains "$OUT" "$SID" "logs list --logs-dir does not show runs of logs/"

finish
