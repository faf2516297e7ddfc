#!/usr/bin/env bash
# tests/duckdb/remote.sh -- duckdb.processor remotely (issue 10, "Remote
# parity"): the dialect pipeline compiled once runs locally, with
# --sandbox local and with --e2b against tests/fake_e2b; the outputs are
# byte-identical, `osiris runs diff` finds no difference, check.mjs agrees
# with DuckDB on the remote outputs, the remote runs used osiris-worker-dyn
# with libduckdb.so shipped beside it, and a pipeline without DuckDB still
# uses the static worker.  Prints the extra upload (bytes) and the seconds
# of each mode for the report.  Needs make osiris osiris-worker (which
# builds osiris-worker-dyn), ./build.sh's DuckDB and make deps.
. "$(dirname "$0")/../remote/common.sh"
cd "$RT_ROOT" || exit 1
need_binaries
DYN=$RT_ROOT/osiris-worker-dyn
[ -x "$DYN" ] && [ -e "$DYN.libs/libduckdb.so" ] ||
  { fail "osiris-worker-dyn and osiris-worker-dyn.libs/libduckdb.so are missing (make osiris-worker after ./build.sh)"; finish; exit 1; }

W=$RT_WORK/suite
mkdir -p "$W/data"
cp tests/duckdb/fixtures/*.csv "$W/data/"
"$PY" tests/duckdb/gen_pipeline.py tests/duckdb/cases.sql "$W/pipeline.yaml" >/dev/null
cd "$W" || exit 1
"$OSIRIS" compile pipeline.yaml >"$RT_WORK/compile.txt" 2>&1 || { fail "compile"; cat "$RT_WORK/compile.txt"; finish; exit 1; }
MANIFEST=$(ls -td logs/compile_*/compiled/manifest.yaml | head -1)
fake_start
declare -A RUNS SECS
for mode in local sandbox e2b; do
  rm -rf out
  t0=$(date +%s%N)
  remote_run "$mode" "$MANIFEST"
  t1=$(date +%s%N)
  SECS[$mode]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  check "$mode: the dialect pipeline succeeds (exit $RT_RC)" [ "$RT_RC" = 0 ]
  [ "$RT_RC" = 0 ] || echo "$RT_OUT" | tail -5 >&2
  RUNS[$mode]=$(last_run)
  rm -rf "$RT_WORK/out_$mode"
  cp -r out "$RT_WORK/out_$mode" 2>/dev/null
done
for mode in sandbox e2b; do
  check "$mode: every output file byte-identical to the local run" diff -r "$RT_WORK/out_local" "$RT_WORK/out_$mode"
  "$OSIRIS" runs diff "${RUNS[local]}" "${RUNS[$mode]}" >"$RT_WORK/diff.txt" 2>&1
  check "$mode: osiris runs diff finds no difference" [ $? = 0 ]
  grep -q "remote: a step loads a shared library: shipping $DYN and 1 library" "${RUNS[$mode]}/osiris.log"
  check "$mode: osiris-worker-dyn and libduckdb.so were shipped" [ $? = 0 ]
done
rm -rf out && cp -r "$RT_WORK/out_e2b" out
node "$RT_ROOT/tests/duckdb/check.mjs" "$W" >"$RT_WORK/check.txt" 2>&1
check "e2b outputs agree with DuckDB on every case ($(tail -n 1 "$RT_WORK/check.txt"))" grep -q " 0 failed" "$RT_WORK/check.txt"

# A pipeline without DuckDB keeps the static worker.
mkdir -p "$RT_WORK/plain/data" && cp "$RT_ROOT/tests/duckdb/fixtures/movies.csv" "$RT_WORK/plain/data/"
cat >"$RT_WORK/plain/p.yaml" <<'YAML'
oml_version: "0.1.0"
name: "no duckdb"
steps:
  - id: movies
    component: filesystem.csv_extractor
    mode: read
    config:
      path: data/movies.csv
  - id: q
    component: sql.processor
    mode: transform
    needs: [movies]
    config:
      query: "SELECT id, title FROM df ORDER BY id"
  - id: w
    component: filesystem.csv_writer
    mode: write
    needs: [q]
    config:
      path: out.csv
YAML
cd "$RT_WORK/plain" && remote_run sandbox p.yaml
check "sql.processor pipeline, --sandbox local: ok" [ "$RT_RC" = 0 ]
check "  ... on the static worker (nothing shipped beside it)" \
  bash -c '! grep -q "loads a shared library" "$1/osiris.log"' _ "$(last_run)"
check "  ... the worker binary it started is the static one" \
  bash -c 'grep -q "\"event\":\"worker_started\"" "$1/events.jsonl"' _ "$(last_run)"

# What the sandbox must have: E2B templates are Debian-based, its base
# image Ubuntu 22.04 (glibc 2.35, GCC 12's libstdc++: GLIBCXX_3.4.30).  The
# symbol versions the two shipped files ask for must not be newer.
# newest PREFIX FILE: the newest symbol version FILE needs with PREFIX
newest() { objdump -T "$2" | grep -o "$1[0-9.]*" | sort -uV | tail -n 1; }
older_or_equal() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$2" ]; }
for f in "$DYN" "$DYN.libs/libduckdb.so"; do
  v=$(newest GLIBC_ "$f")
  check "$(basename "$f") needs glibc ${v#GLIBC_} <= 2.35 (Ubuntu 22.04)" older_or_equal "${v:-GLIBC_9}" GLIBC_2.35
done
v=$(newest GLIBCXX_ "$DYN.libs/libduckdb.so")
check "libduckdb.so needs libstdc++ ${v} <= GLIBCXX_3.4.30 (GCC 12)" older_or_equal "${v:-GLIBCXX_9}" GLIBCXX_3.4.30
echo "# the sandbox needs: osiris-worker-dyn $(newest GLIBC_ "$DYN"), libduckdb.so $(newest GLIBC_ "$DYN.libs/libduckdb.so") and $v"

libsz=$(stat -L -c %s "$DYN.libs/libduckdb.so"); dynsz=$(stat -c %s "$DYN"); stsz=$(stat -c %s "$OSIRIS_WORKER")
echo "# upload: static worker $stsz bytes; DuckDB pipelines: osiris-worker-dyn $dynsz + libduckdb.so $libsz bytes" \
  "(+$((dynsz + libsz - stsz)) bytes); seconds: local ${SECS[local]}, --sandbox local ${SECS[sandbox]}, --e2b (fake) ${SECS[e2b]}"
finish
