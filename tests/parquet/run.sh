#!/usr/bin/env bash
# Parquet cross-checks with independent implementations (from npm):
#   1. our writer -> files read by hyparquet and by DuckDB, every value
#      compared with a JSON expectation written by the C side; DuckDB also
#      checks our null counts (parquet_metadata) and min/max (filters pushed
#      into the scan must count what a full scan counts);
#   2. DuckDB (PLAIN/dictionary v1, V2 encodings, SNAPPY/ZSTD rejection,
#      REQUIRED columns, a rewrite of our files) and @dsnp/parquetjs (data
#      page v2 and v1) write files that our reader must read identically;
#   3. damaged copies of those files: an error or a frame, never a crash
#      (ASan build when it compiles).
# Small copies of the files in 2. are committed in fixtures/ (make_fixtures.sh)
# and read by tests/test_parquet.c without node.
# Prints "N passed, N failed" as its last line; exits 1 on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here" || exit 2

if [ ! -d node_modules/hyparquet ] || [ ! -d node_modules/@duckdb/node-api ] || [ ! -d node_modules/@dsnp/parquetjs ]; then
  echo "parquet: the npm readers are not installed in tests/parquet/node_modules (run \`make deps\`)"
  echo "0 passed, 1 failed"
  exit 1
fi

if ! make -s -C "$root" tests/bin/test_parquet; then
  echo "0 passed, 1 failed"
  exit 1
fi
bin="$root/tests/bin/test_parquet"

work=$(mktemp -d /tmp/osiris-parquet-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
total_pass=0 total_fail=0

tally() { # name, output file
  local last p f
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
  if [ -z "$last" ]; then
    tail -n 20 "$2"; echo "  $1: no result line"; total_fail=$((total_fail + 1)); return
  fi
  p=${last%% passed*}; f=${last#*, }; f=${f%% failed*}
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  grep -E '^(FAIL|  )' "$2" | head -n 60
  printf '  %-44s %s\n' "$1" "$last"
}

echo "1. our files, read by hyparquet and DuckDB"
"$bin" --export "$work/ours" >"$work/export.log" 2>&1 || { cat "$work/export.log"; total_fail=$((total_fail + 1)); }
node check.mjs read "$work/ours" >"$work/read.log" 2>&1
tally "hyparquet + DuckDB read osiris files" "$work/read.log"

echo "2. DuckDB and parquetjs files, read by osiris"
node check.mjs write "$work/theirs" "$work/ours" >"$work/write.log" 2>&1
tally "DuckDB/parquetjs write" "$work/write.log"
"$bin" --verify-dir "$work/theirs" >"$work/verify.log" 2>&1
tally "osiris reads DuckDB/parquetjs files" "$work/verify.log"

echo "3. damaged copies of the DuckDB/parquetjs files (dictionary, delta, v2 pages)"
fuzz_bin="$bin"
if make -s -C "$root" tests/bin/asan/test_parquet 2>/dev/null; then fuzz_bin="$root/tests/bin/asan/test_parquet"; fi
"$fuzz_bin" --fuzz 300 "$work"/theirs/duck_v1.parquet "$work"/theirs/duck_v2.parquet \
  "$work"/theirs/pj_v2.parquet "$work"/theirs/pj_v1.parquet >"$work/fuzz.log" 2>&1
tally "error or frame, never a crash ($(basename "$(dirname "$fuzz_bin")"))" "$work/fuzz.log"

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
