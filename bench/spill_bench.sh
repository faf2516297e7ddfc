#!/usr/bin/env bash
# bench/spill_bench.sh -- what spilling does to peak memory, in one run.
# Two large extracts whose consumers come later (extract-a, extract-b,
# count-a, count-b): in memory both frames are alive while extract-b runs;
# with OSIRIS_FORCE_SPILL=1 each frame goes to Parquet and leaves memory,
# and each consumer reads its own back.  Reports wall time and max RSS of
# both (median of 3), and the Parquet files' size.
# Environment: OSIRIS, BENCH_ROWS (default 1000000).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
OSIRIS=$(cd "$(dirname "${OSIRIS:-./osiris}")" && pwd)/$(basename "${OSIRIS:-./osiris}")
ROWS=${BENCH_ROWS:-1000000}
BIG=$ROOT/bench/out/movies_${ROWS}.csv
[ -s "$BIG" ] || python3 bench/gen_movies.py "$ROWS" "$BIG" >/dev/null || exit 1
OUT=$ROOT/bench/out/spill
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT" || exit 2
cat > spill.yaml <<YAML
oml_version: "0.1.0"
name: spill bench
steps:
  - {id: extract-a, component: filesystem.csv_extractor, mode: read, config: {path: "$BIG"}}
  - {id: extract-b, component: filesystem.csv_extractor, mode: read, needs: [], config: {path: "$BIG"}}
  - {id: count-a, component: duckdb.processor, mode: transform, needs: [extract-a], config: {query: "SELECT COUNT(*) AS n, SUM(rating) AS r FROM df"}}
  - {id: count-b, component: duckdb.processor, mode: transform, needs: [extract-b], config: {query: "SELECT COUNT(*) AS n, SUM(rating) AS r FROM df"}}
  - {id: write, component: filesystem.csv_writer, mode: write, needs: [count-a], config: {path: out/a.csv}}
YAML
"$OSIRIS" compile spill.yaml --out c >/dev/null || exit 1
measure() { # label env...
  local i
  for i in 1 2 3; do
    env "$@" /usr/bin/time -f "%e %M" "$OSIRIS" run c/manifest.yaml --logs-dir logs >/dev/null 2>"time.$i" || { cat "time.$i" >&2; exit 1; }
    tail -n 1 "time.$i"
  done | sort -k2 -g | awk 'NR == 2 {printf "%s %.1f\n", $1, $2 / 1024}'
}
# In memory means no threshold spill either (1M rows is over the default).
read -r MW MR < <(measure OSIRIS_FORCE_SPILL=0 OSIRIS_SPILL_THRESHOLD=1000000000000)
read -r SW SR < <(measure OSIRIS_FORCE_SPILL=1)
PQ=$(du -cb logs/run_*/artifacts/extract-a/output.parquet 2>/dev/null | tail -n 1 | cut -f1)
printf '\n%-52s %9s %11s\n' "spill case ($ROWS rows, two frames held)" "wall" "max RSS"
printf '%-52s %7s s %8s MB\n' "in memory" "$MW" "$MR"
printf '%-52s %7s s %8s MB\n' "OSIRIS_FORCE_SPILL=1" "$SW" "$SR"
printf '%-52s %10s\n' "max RSS spilled / in memory" "$(awk -v a="$SR" -v b="$MR" 'BEGIN {printf "%.2fx", a / b}')"
printf '%-52s %7.1f MB\n' "one spilled frame as Parquet" "$(awk -v b="${PQ:-0}" 'BEGIN {print b / 3 / 1048576}')"
