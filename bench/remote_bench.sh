#!/usr/bin/env bash
# bench/remote_bench.sh -- the remote adapter against local, in one run:
#   (d) per-step overhead of the subprocess transport (--sandbox local):
#       20-step and 2-step pipelines of tiny steps, local and remote; the
#       overhead per step is the slope ((R20 - R2) - (L20 - L2)) / 18, so
#       the fixed cost (copying the worker, starting it) is not counted per
#       step; goal <= 1 ms (the seed's Python runtime claims < 10 ms).
#   (e) a BENCH_ROWS-row CSV -> SQL -> CSV pipeline remote vs local, wall
#       ratio (goal <= 1.05).
#   (f) the static worker's size (goal <= 10 MB).
# Environment: OSIRIS, BENCH_ROWS (default 1000000), BENCH_RUNS (default 11).
set -u
cd "$(dirname "$0")/.." || exit 2
OSIRIS=$(cd "$(dirname "${OSIRIS:-./osiris}")" && pwd)/$(basename "${OSIRIS:-./osiris}")
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-11}
OUT=$PWD/bench/out/remote
rm -rf "$OUT" && mkdir -p "$OUT"
[ -x osiris-worker ] || { echo "remote_bench: build the worker first (make worker)" >&2; exit 2; }
export OSIRIS_WORKER=$PWD/osiris-worker

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
now_ms() { date +%s%N | awk '{printf "%.3f", $1/1e6}'; }

# tiny_pipeline N FILE: a CSV extractor, N-2 SQL steps, a CSV writer.
tiny_pipeline() {
  local n=$1 i prev
  {
    echo 'oml_version: "0.1.0"'
    echo "name: tiny $n"
    echo 'steps:'
    echo '  - {id: s1, component: filesystem.csv_extractor, mode: read, config: {path: tiny.csv}}'
    prev=s1
    for i in $(seq 2 $((n - 1))); do
      echo "  - {id: s$i, component: duckdb.processor, mode: transform, needs: [$prev], config: {query: \"SELECT * FROM df\"}}"
      prev=s$i
    done
    echo "  - {id: s$n, component: filesystem.csv_writer, mode: write, needs: [$prev], config: {path: out/tiny_$n.csv}}"
  } > "$2"
}

cd "$OUT" || exit 2
printf 'id,name\n1,a\n2,b\n3,c\n' > tiny.csv
tiny_pipeline 20 p20.yaml
tiny_pipeline 2 p2.yaml
"$OSIRIS" compile p20.yaml --out c20 >/dev/null && "$OSIRIS" compile p2.yaml --out c2 >/dev/null || exit 1

time_runs() { # manifest adapter-args...
  local m=$1 i t0 t1; shift
  for i in $(seq "$RUNS"); do
    t0=$(now_ms)
    "$OSIRIS" run "$m" "$@" --logs-dir logs >/dev/null 2>&1 || { echo "run failed: $m $*" >&2; echo nan; return; }
    t1=$(now_ms)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
  done | median
}
L20=$(time_runs c20/manifest.yaml); L2=$(time_runs c2/manifest.yaml)
R20=$(time_runs c20/manifest.yaml --sandbox local); R2=$(time_runs c2/manifest.yaml --sandbox local)
PER_STEP=$(awk -v r20="$R20" -v r2="$R2" -v l20="$L20" -v l2="$L2" 'BEGIN {printf "%.3f", ((r20 - r2) - (l20 - l2)) / 18}')

# (e) the big pipeline, reusing bench/run.sh's generated file
BIG=$OLDPWD/bench/out/movies_${ROWS}.csv
[ -s "$BIG" ] || python3 "$OLDPWD/bench/gen_movies.py" "$ROWS" "$BIG" >/dev/null || exit 1
cp "$OLDPWD/bench/pipelines/csv_sql_csv.yaml" big.yaml
"$OSIRIS" compile big.yaml --out cbig --param input="$BIG" --param output=out/big.csv >/dev/null || exit 1
big_runs() {
  local i t0 t1
  for i in 1 2 3; do
    t0=$(now_ms); "$OSIRIS" run cbig/manifest.yaml "$@" --logs-dir logs >/dev/null 2>&1; t1=$(now_ms)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", b - a}'
  done | median
}
BL=$(big_runs); BR=$(big_runs --sandbox local)
# The same without spilling: frames over the default threshold (100000 rows)
# are spilled, and a remote run then also downloads those Parquet files.
export OSIRIS_SPILL_THRESHOLD=1000000000000
BLN=$(big_runs); BRN=$(big_runs --sandbox local)
unset OSIRIS_SPILL_THRESHOLD
SIZE=$(stat -c %s "$OLDPWD/osiris-worker")

printf '\n%-58s %12s %10s\n' "remote case" "value" "goal"
printf '%-58s %9s ms\n' "local 20 tiny steps (median of $RUNS)" "$L20"
printf '%-58s %9s ms\n' "--sandbox local 20 tiny steps" "$R20"
printf '%-58s %9s ms\n' "local 2 steps / --sandbox local 2 steps" "$L2 / $R2"
printf '%-58s %9s ms %10s\n' "subprocess transport overhead per step" "$PER_STEP" "<= 1 ms"
printf '%-58s %9s ms\n' "local CSV->SQL->CSV $ROWS rows (median of 3)" "$BL"
printf '%-58s %9s ms\n' "--sandbox local, same pipeline" "$BR"
printf '%-58s %12s %10s\n' "remote / local wall ratio (default spill threshold)" "$(awk -v r="$BR" -v l="$BL" 'BEGIN {printf "%.3fx", r / l}')" "<= 1.05x"
printf '%-58s %9s ms\n' "local, no spill" "$BLN"
printf '%-58s %9s ms\n' "--sandbox local, no spill" "$BRN"
printf '%-58s %12s %10s\n' "remote / local wall ratio (no spill)" "$(awk -v r="$BRN" -v l="$BLN" 'BEGIN {printf "%.3fx", r / l}')" "<= 1.05x"
printf '%-58s %9.2f MB %10s\n' "static osiris-worker size" "$(awk -v s="$SIZE" 'BEGIN {print s / 1048576}')" "<= 10 MB"
