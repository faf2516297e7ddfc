#!/usr/bin/env bash
# bench/run.sh -- osiris benchmarks (run by `make bench`, from any directory).
#
#   (a) start-up: the movies example start to finish, median wall time of
#       21 runs (hyperfine when installed, else a bash loop), goal 20 ms.
#   (b) throughput: BENCH_ROWS rows (default 1,000,000) of generated movies
#       CSV -> SQL (WHERE + computed column) -> CSV; wall time and max RSS
#       from /usr/bin/time -v, rows/s; baseline in the same invocation:
#       python3's csv module reading the file and writing it back.
#
# Environment:
#   OSIRIS=./osiris      binary under test
#   BENCH_ROWS=1000000   rows for (b); use e.g. 10000 while developing
#   BENCH_REPS=3         repetitions for (b) (median reported)
#   BENCH_RUNS=21        runs for (a)
#   BENCH_SKIP_BIG=1     only (a);  BENCH_NO_INSTALL=1: never apt-get
# Output goes to bench/out/ (ignored by git); the generated CSV is kept and
# reused while bench/gen_movies.py is unchanged.
set -u
cd "$(dirname "$0")/.." || exit 2

OSIRIS=${OSIRIS:-./osiris}
ROWS=${BENCH_ROWS:-1000000}
REPS=${BENCH_REPS:-3}
RUNS=${BENCH_RUNS:-21}
OUTDIR=bench/out
GOAL_MS=20
mkdir -p "$OUTDIR"
# The real interpreter, not a version-manager shim (pyenv's costs ~1 s a
# call, which would be charged to the baseline).
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}

if [ ! -x "$OSIRIS" ]; then
  echo "bench: $OSIRIS not found; run make first" >&2
  exit 2
fi

# install PACKAGE COMMAND: apt-get install PACKAGE when COMMAND is missing,
# we are root, and installing is allowed.  Never fatal.
install_if_missing() {
  command -v "$2" >/dev/null 2>&1 && return 0
  [ -x "$2" ] && return 0
  [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  echo "bench: installing $1 ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1; }
  command -v "$2" >/dev/null 2>&1 || [ -x "$2" ]
}

# median: the median of the numbers on stdin, one a line.
median() {
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ------------------------------------------------ (a) start-up, the example
echo "== (a) example pipeline, median of $RUNS runs"
STARTUP_LOGS=$OUTDIR/startup_logs
rm -rf "$STARTUP_LOGS"
EXAMPLE_CMD="$OSIRIS run examples/movies/pipeline.yaml --logs-dir $STARTUP_LOGS"
if ! $EXAMPLE_CMD >"$OUTDIR/example.out" 2>&1; then
  echo "bench: the example pipeline failed:" >&2
  cat "$OUTDIR/example.out" >&2
  exit 1
fi
STARTUP_TOOL=loop
if install_if_missing hyperfine hyperfine; then
  STARTUP_TOOL=hyperfine
  hyperfine --runs "$RUNS" --warmup 2 --style basic --export-json "$OUTDIR/startup.json" \
    "$EXAMPLE_CMD" >"$OUTDIR/hyperfine.txt" 2>&1
  STARTUP_MS=$("$PY" -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' \
    "$OUTDIR/startup.json" 2>/dev/null || echo nan)
else
  for _ in 1 2; do $EXAMPLE_CMD >/dev/null 2>&1; done
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    $EXAMPLE_CMD >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  done | median | awk '{printf "%.2f\n", $1 / 1000}' >"$OUTDIR/startup_loop.txt"
  STARTUP_MS=$(cat "$OUTDIR/startup_loop.txt")
fi
rm -rf "$STARTUP_LOGS"
echo "   median wall: $STARTUP_MS ms (goal $GOAL_MS ms, via $STARTUP_TOOL)"

if [ "${BENCH_SKIP_BIG:-0}" = 1 ]; then
  printf '\n%-44s %12s\n' "case" "result"
  printf '%-44s %9s ms   (goal %d ms)\n' "example pipeline, median of $RUNS" "$STARTUP_MS" "$GOAL_MS"
  exit 0
fi

# ------------------------------------------- (b) CSV -> SQL -> CSV throughput
if ! install_if_missing time /usr/bin/time; then
  echo "bench: /usr/bin/time is missing (apt-get install time)" >&2
  exit 2
fi
DATA=$OUTDIR/movies_$ROWS.csv
if [ ! -s "$DATA" ] || [ bench/gen_movies.py -nt "$DATA" ]; then
  echo "== generating $ROWS rows -> $DATA"
  "$PY" bench/gen_movies.py "$ROWS" "$DATA" >/dev/null || { echo "bench: generator failed" >&2; exit 1; }
fi
DATA_MB=$(du -m "$DATA" | cut -f1)

# measure NAME CMD...: run CMD under /usr/bin/time -v REPS times; sets
# WALL_S and RSS_MB to the medians.
measure() {
  local name=$1 i
  shift
  : >"$OUTDIR/$name.walls"
  : >"$OUTDIR/$name.rss"
  for i in $(seq "$REPS"); do
    if ! /usr/bin/time -v -o "$OUTDIR/$name.time" "$@" >"$OUTDIR/$name.out" 2>&1; then
      echo "bench: $name failed:" >&2
      tail -n 20 "$OUTDIR/$name.out" "$OUTDIR/$name.time" >&2
      return 1
    fi
    awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
      "$OUTDIR/$name.time" >>"$OUTDIR/$name.walls"
    awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' \
      "$OUTDIR/$name.time" >>"$OUTDIR/$name.rss"
  done
  WALL_S=$(median <"$OUTDIR/$name.walls")
  RSS_MB=$(median <"$OUTDIR/$name.rss")
}

echo "== (b) CSV -> SQL -> CSV, $ROWS rows ($DATA_MB MB), median of $REPS"
BIG_LOGS=$OUTDIR/big_logs
rm -rf "$BIG_LOGS"
measure osiris "$OSIRIS" run bench/pipelines/csv_sql_csv.yaml --logs-dir "$BIG_LOGS" \
  --param "input=$DATA" --param "output=$OUTDIR/osiris_out.csv" || exit 1
O_WALL=$WALL_S O_RSS=$RSS_MB
O_OUT_ROWS=$(($(wc -l <"$OUTDIR/osiris_out.csv") - 1))
echo "   osiris: ${O_WALL} s, ${O_RSS} MB max RSS, $O_OUT_ROWS rows out"

# shellcheck disable=SC2016
measure python "$PY" -c '
import csv, sys
with open(sys.argv[1], encoding="utf-8", newline="") as fi, \
     open(sys.argv[2], "w", encoding="utf-8", newline="") as fo:
    csv.writer(fo, lineterminator="\n").writerows(csv.reader(fi))
' "$DATA" "$OUTDIR/python_out.csv" || exit 1
P_WALL=$WALL_S P_RSS=$RSS_MB
echo "   python3 csv: ${P_WALL} s, ${P_RSS} MB max RSS"
rm -rf "$BIG_LOGS"

awk -v rows="$ROWS" -v ow="$O_WALL" -v orss="$O_RSS" -v pw="$P_WALL" -v prss="$P_RSS" \
    -v sms="$STARTUP_MS" -v goal="$GOAL_MS" -v runs="$RUNS" -v reps="$REPS" 'BEGIN {
  printf "\n%-46s %10s %12s %10s\n", "case", "wall", "rows/s", "max RSS"
  printf "%-46s %7s ms %12s %10s   (goal %d ms)\n", "example pipeline (median of " runs ")", sms, "-", "-", goal
  printf "%-46s %8.2f s %12.0f %7.1f MB\n", "osiris CSV->SQL->CSV, " rows " rows", ow, (ow > 0 ? rows / ow : 0), orss
  printf "%-46s %8.2f s %12.0f %7.1f MB\n", "python3 csv read+write (baseline)", pw, (pw > 0 ? rows / pw : 0), prss
  if (pw > 0) printf "%-46s %9.2fx\n", "osiris / python3 wall ratio", ow / pw
}'

# ------------------------------------------------------------------------
# (c) databases: bench/db_bench.sh (MySQL -> CSV, CSV -> PostgreSQL and
# MySQL -> PostgreSQL against the native clients, on throwaway servers).
# BENCH_SKIP_DB=1 skips it.  Its own table follows; JSON: bench/out/db_bench.json.
if [ "${BENCH_SKIP_DB:-0}" != 1 ]; then
  echo
  OSIRIS=$OSIRIS BENCH_ROWS=$ROWS BENCH_REPS=$REPS bash bench/db_bench.sh || exit $?
fi

# (d)-(f) remote adapter overhead and worker size; (g) spill and memory;
# (h) Parquet write/read beside CSV.  BENCH_SKIP_REMOTE=1 / BENCH_SKIP_SPILL=1
# / BENCH_SKIP_PARQUET=1 skip them.
if [ "${BENCH_SKIP_REMOTE:-0}" != 1 ]; then
  echo; make -s worker >/dev/null && OSIRIS=$OSIRIS BENCH_ROWS=$ROWS bash bench/remote_bench.sh || exit $?
fi
# (j) fan-out of 50 small pipelines vs one after another, against the fake
# E2B (bench/fanout_bench.sh).  BENCH_SKIP_FANOUT=1 skips it.
if [ "${BENCH_SKIP_FANOUT:-0}" != 1 ]; then
  echo; make -s worker >/dev/null && OSIRIS=$OSIRIS bash bench/fanout_bench.sh || exit $?
fi
if [ "${BENCH_SKIP_SPILL:-0}" != 1 ]; then
  echo; OSIRIS=$OSIRIS BENCH_ROWS=$ROWS bash bench/spill_bench.sh || exit $?
fi
# (i) CSV -> GROUP BY -> CSV: duckdb.processor and sql.processor against
# DuckDB alone (bench/duckdb_bench.sh).  BENCH_SKIP_DUCKDB=1 skips it.
if [ "${BENCH_SKIP_DUCKDB:-0}" != 1 ]; then
  echo; OSIRIS=$OSIRIS BENCH_ROWS=$ROWS BENCH_REPS=$REPS bash bench/duckdb_bench.sh || exit $?
fi
# (k) start-up: osiris version and a 5-step CSV pipeline, ./osiris and
# ./osiris-static, against python3 -c "import pandas, sqlalchemy"
# (bench/startup_bench.sh).  BENCH_SKIP_STARTUP=1 skips it.
if [ "${BENCH_SKIP_STARTUP:-0}" != 1 ]; then
  echo; bash bench/startup_bench.sh || exit $?
fi
# (l) parallel branches inside one run: 4 independent CSV -> SQL -> CSV
# branches, --jobs 1 vs --jobs N (bench/jobs_bench.sh).  BENCH_SKIP_JOBS=1
# skips it.
if [ "${BENCH_SKIP_JOBS:-0}" != 1 ]; then
  echo; OSIRIS=$OSIRIS bash bench/jobs_bench.sh || exit $?
fi
if [ "${BENCH_SKIP_PARQUET:-0}" != 1 ]; then
  echo; echo "== (h) Parquet and CSV, write and read of $ROWS rows"
  ${CC:-cc} -O2 -I. -I/usr/include/mariadb -I/usr/include/postgresql -o bench/out/parquet_bench \
    bench/parquet_bench.c osiris.c -lsqlite3 -lmariadb -lpq -lcurl -lm &&
    bench/out/parquet_bench "$ROWS" bench/out || exit $?
fi
