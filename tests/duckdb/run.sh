#!/usr/bin/env bash
# tests/duckdb/run.sh -- duckdb.processor runs on DuckDB (issue 10).
#
# 1. The dialect suite: every case of cases.sql through osiris (one
#    pipeline, gen_pipeline.py) and through DuckDB's own node client
#    (check.mjs, @duckdb/node-api from tests/parquet), value for value.
# 2. The pins agree: build.sh's DuckDB version is the node-api version of
#    tests/parquet's lock file, and the library osiris loaded is the
#    DuckDB node runs.
# 3. Settings: threads, memory_limit, temp directory inside the run dir
#    (and gone after the step), TimeZone UTC, no file access from a query.
# 4. Errors: a bad query fails its step with DuckDB's message (exit 1,
#    status.json); a parse error; a statement that is not a query; a
#    missing or wrong library names the remedy and sql.processor; the same
#    query on sql.processor is SQLite's dialect.
# Needs ./osiris, vendor/duckdb/libduckdb.so (./build.sh) and `make deps`.
# Prints "N passed, N failed" last.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
OSIRIS=${OSIRIS:-$ROOT/osiris}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { local d=$1; shift; if "$@"; then ok; else ko "$d"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit; }
T=$(mktemp -d "${TMPDIR:-/tmp}/osiris-duckdb.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

NODE_API=tests/parquet/node_modules/@duckdb/node-api
[ -x "$OSIRIS" ] || { ko "build ./osiris first (make osiris)"; finish; }
[ -f vendor/duckdb/libduckdb.so ] || { ko "vendor/duckdb/libduckdb.so is missing: run ./build.sh or make deps"; finish; }
[ -d "$NODE_API" ] && command -v node >/dev/null || { ko "node and $NODE_API are missing: run make deps"; finish; }

# ---- 2. pins
pin=$(sed -n 's/^DUCKDB_VERSION=//p' build.sh)
lock=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/@duckdb/node-api"]["version"])' tests/parquet/package-lock.json)
check "build.sh pins DuckDB $pin, tests/parquet's lock has node-api $lock" [ "$pin" = "$lock" ]

# ---- 1. the dialect suite, local
W=$T/suite
mkdir -p "$W/data"
cp tests/duckdb/fixtures/*.csv "$W/data/"
ncases=$(python3 tests/duckdb/gen_pipeline.py tests/duckdb/cases.sql "$W/pipeline.yaml")
(cd "$W" && "$OSIRIS" run pipeline.yaml >"$T/suite.out" 2>&1)
check "the dialect pipeline ($ncases cases) runs" grep -q "succeeded" "$T/suite.out" || cat "$T/suite.out"
node tests/duckdb/check.mjs "$W" >"$T/check.out" 2>&1
tail -n 1 "$T/check.out" | grep -q " 0 failed" && ok || { ko "osiris and DuckDB agree on every case"; grep -v '^ok' "$T/check.out"; }
cp -r "$W/out" "$T/local_out"
nodever=$(sed -n 's/^# DuckDB \(v[^ ]*\) .*/\1/p' "$T/check.out")
check "osiris loaded the DuckDB node runs ($nodever)" \
  grep -q "(DuckDB $nodever)" "$(ls -d "$W"/logs/run_*)/osiris.log"

# run_case NAME QUERY [KEY: VALUE lines...]: a 3-step pipeline in $T/NAME
run_case() {
  local name=$1 query=$2 extra=${3:-}
  mkdir -p "$T/$name/data"
  cp "${DATA:-tests/duckdb/fixtures/movies.csv}" "$T/$name/data/movies.csv"
  {
    printf 'oml_version: "0.1.0"\nname: "%s"\nsteps:\n' "$name"
    printf '  - id: movies\n    component: filesystem.csv_extractor\n    mode: read\n    config:\n      path: data/movies.csv\n'
    printf '  - id: q\n    component: %s\n    mode: transform\n    needs: [movies]\n    config:\n' "${ENGINE:-duckdb.processor}"
    printf '      query: %s\n' "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$query")"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    printf '  - id: w\n    component: filesystem.csv_writer\n    mode: write\n    needs: [q]\n    config:\n      path: out.csv\n'
  } >"$T/$name/p.yaml"
  (cd "$T/$name" && "$OSIRIS" run p.yaml >out.txt 2>&1; echo $? >rc)
  RC=$(cat "$T/$name/rc")
  RUN=$(ls -d "$T/$name"/logs/run_* 2>/dev/null | head -n 1)
}
status_msg() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print((d.get("error") or {}).get("message",""))' "$RUN/status.json"; }

# ---- 3. settings
run_case settings "SELECT current_setting('threads') AS t, current_setting('memory_limit') AS m, current_setting('temp_directory') AS td, current_setting('TimeZone') AS tz" \
  "      threads: 1
      memory_limit: 64MB"
check "settings: run ok" [ "$RC" = 0 ]
IFS=, read -r th mem td tz < <(sed -n 2p "$T/settings/out.csv")
check "threads: 1 applies ($th)" [ "$th" = 1 ]
check "memory_limit: 64MB applies ($mem)" bash -c '[[ "$1" == 6[0-9]*MiB || "$1" == 64*MB ]]' _ "$mem"
check "temp_directory inside the run directory ($td)" [ "$td" = "$RUN/tmp/duckdb-q" ]
check "temp directory removed after the step" [ ! -e "$RUN/tmp/duckdb-q" ]
check "TimeZone is UTC" [ "$tz" = UTC ]
# A sort bigger than memory_limit spills to the temp directory instead of failing.
run_case spill "SELECT count(*) AS n, max(s) AS m FROM (SELECT i, repeat('x', 200) || i AS s FROM range(1500000) t(i) ORDER BY s DESC)" \
  "      threads: 1
      memory_limit: 100MB"
check "an ORDER BY larger than memory_limit spills and succeeds" [ "$RC" = 0 ]
run_case noread "SELECT * FROM read_csv('data/movies.csv')"
check "a query cannot read files (exit 1)" [ "$RC" = 1 ]
check "  ... DuckDB says why" grep -q "disabled by configuration" "$T/noread/out.txt"

# ---- 4. errors
run_case badcol "SELECT no_such_column FROM df_movies"
check "bad column: exit 1" [ "$RC" = 1 ]
check "bad column: DuckDB's message and the step in status.json" \
  bash -c '[[ "$1" == *"step q"*"Binder Error"*"no_such_column"* ]]' _ "$(status_msg)"
# Compile checks each query with DuckDB's parser: a syntax error stops the
# pipeline before anything runs (exit 2), at the query's place.
run_case parse "SELEC 1"
check "parse error: exit 2 with DuckDB's Parser Error" bash -c '[ "$1" = 2 ] && grep -q "Parser Error" "$2"' _ "$RC" "$T/parse/out.txt"
check "parse error: the place is the step's query" grep -q "steps\[1\].config.query" "$T/parse/out.txt"
check "parse error: nothing ran" [ -z "$(ls -d "$T/parse"/logs/run_* 2>/dev/null)" ]
run_case ddl "CREATE TABLE x (i INTEGER)"
check "a statement that is not a query is refused" bash -c '[ "$1" = 1 ] && grep -q "must end with one SELECT" "$2"' _ "$RC" "$T/ddl/out.txt"
run_case copyto "COPY (SELECT 1) TO 'x.csv'"
check "COPY ... TO is refused" [ "$RC" = 1 ]
check "  ... and wrote nothing" [ ! -e "$T/copyto/x.csv" ]
# Without DuckDB the pipeline fails before any step runs: compile says so
# (exit 2) with the remedy.
OSIRIS_DUCKDB_LIB=$T/nowhere/libduckdb.so run_case nolib "SELECT 1 AS x"
check "missing library: exit 2, before any step" [ "$RC" = 2 ]
# A manifest compiled where DuckDB was, run where it is not: preflight
# stops the run before its first step.
(cd "$T/nolib" && "$OSIRIS" compile p.yaml >/dev/null 2>&1)
nolib_manifest=$(ls -td "$T"/nolib/logs/compile_*/compiled/manifest.yaml 2>/dev/null | head -n 1)
(cd "$T/nolib" && OSIRIS_DUCKDB_LIB=$T/nowhere/libduckdb.so "$OSIRIS" run "$nolib_manifest" >run2.txt 2>&1; echo $? >rc2)
nolib_run=$(ls -td "$T"/nolib/logs/run_* 2>/dev/null | head -n 1)
check "missing library at run time: exit 1, preflight_failed" \
  bash -c '[ "$(cat "$1")" = 1 ] && grep -q "\"reason\": \"preflight_failed\"" "$2/status.json"' _ "$T/nolib/rc2" "$nolib_run"
check "missing library at run time: no step started" bash -c '! grep -q "\"step_start\"" "$1/events.jsonl"' _ "$nolib_run"
check "missing library: the remedy names build.sh, OSIRIS_DUCKDB_LIB and sql.processor" \
  bash -c 'm=$(cat "$1"); [[ "$m" == *build.sh* && "$m" == *OSIRIS_DUCKDB_LIB* && "$m" == *sql.processor* ]]' _ "$T/nolib/out.txt"
check "missing library: the step never ran its query (no output)" [ ! -e "$T/nolib/out.csv" ]
libm=$(ldconfig -p 2>/dev/null | sed -n 's/.*libm.so.6 .*=> //p' | head -n 1)
if [ -n "$libm" ]; then
  OSIRIS_DUCKDB_LIB=$libm run_case wronglib "SELECT 1 AS x"
  check "a library that is not DuckDB is refused by name" \
    bash -c '[ "$1" = 2 ] && grep -q "not a usable DuckDB library" "$2"' _ "$RC" "$T/wronglib/out.txt"
fi
# The same query on both engines: DuckDB's answer, and SQLite's.
run_case dk_div "SELECT 7 / 2 AS d, 'Light' LIKE 'light%' AS l"
check "duckdb.processor: 7/2 = 3.5, LIKE is case-sensitive" bash -c '[ "$(sed -n 2p "$1")" = "3.5,false" ]' _ "$T/dk_div/out.csv"
ENGINE=sql.processor run_case sq_div "SELECT 7 / 2 AS d, 'Light' LIKE 'light%' AS l"
check "sql.processor: SQLite's 7/2 = 3 and case-insensitive LIKE" bash -c '[ "$(sed -n 2p "$1")" = "3,1" ]' _ "$T/sq_div/out.csv"
# ---- 5. projection: only the columns the query reads are loaded, and a
# streamed producer builds only those (drivers.c drv_dk_project).  A file
# big enough to stream in several batches; answers computed here.
python3 - "$T/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,grp,amount,note\n")
    for i in range(200000):
        f.write("%d,%d,%d,note %s for row %d\n" % (i, i % 7, i * 3 - 100000, "x" * (i % 90), i))
PY
want_sums=$(python3 -c '
s = {}
for i in range(200000): s[i % 7] = s.get(i % 7, 0) + i * 3 - 100000
print(" ".join("%d:%d" % (g, s[g]) for g in sorted(s)))')
DATA=$T/big.csv run_case proj "SELECT grp, sum(amount) AS total, count(*) AS n FROM df GROUP BY grp ORDER BY grp"
got_sums=$(tail -n +2 "$T/proj/out.csv" | awk -F, '{printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $2}')
check "projection: the streamed aggregate is right ($got_sums)" [ "$got_sums" = "$want_sums" ]
check "projection: every row counted" [ "$(tail -n +2 "$T/proj/out.csv" | awk -F, '{n += $3} END {print n}')" = 200000 ]
check "projection: the input was streamed" grep -q '"step_id":"q".*"source":"stream"\|"source":"stream".*"step_id":"q"' "$RUN/events.jsonl"
check "projection: DuckDB read 2 of the 4 columns" grep -q "the query reads 2 of the 4 columns of df_movies; the others are loaded as NULL" "$RUN/osiris.log"
check "projection: the extractor was told to build only those" \
  grep -q "\[q\] reads 2 of the 4 columns of its streamed input; step movies builds only those" "$RUN/osiris.log"
DATA=$T/big.csv run_case proj_all "FROM df WHERE id % 50000 = 1 ORDER BY id"
check "projection: FROM df reads every column" grep -q "the query reads 4 of the 4 columns of df_movies\$" "$RUN/osiris.log"
check "projection: ... and returns them whole" \
  [ "$(cat "$T/proj_all/out.csv")" = "$(printf 'id,grp,amount,note\n'; sed -n '3p;50003p;100003p;150003p' "$T/big.csv")" ]
DATA=$T/big.csv run_case proj_two "CREATE TEMP TABLE t AS SELECT id FROM df; SELECT count(*) AS n FROM t"
check "projection: a query of two statements keeps every column" \
  bash -c '[ "$1" = 0 ] && grep -q "the query reads 4 of the 4 columns" "$2/osiris.log"' _ "$RC" "$RUN"
# validate/compile of a DuckDB pipeline work (DuckDB present).
check "osiris validate accepts the dialect pipeline" bash -c 'cd "$1" && "$2" validate pipeline.yaml >/dev/null 2>&1' _ "$W" "$OSIRIS"
finish
