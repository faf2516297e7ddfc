#!/usr/bin/env bash
# bench/duckdb_bench.sh -- (i) BENCH_ROWS rows of movies CSV -> GROUP BY
# director -> CSV, in one invocation:
#   osiris with duckdb.processor   csv_extractor -> DuckDB -> csv_writer
#   osiris with sql.processor      the same pipeline on SQLite
#   DuckDB alone                   @duckdb/node-api (tests/parquet, same
#                                  DuckDB version): COPY (SELECT ... FROM
#                                  read_csv(file)) TO out.csv, node start included
# Medians of BENCH_REPS runs (wall and max RSS from /usr/bin/time -v), the
# ratios to DuckDB alone (goal for duckdb.processor: <= 1.5x), and whether
# the three outputs agree.  `make bench-duckdb`; also part of `make bench`.
set -u
cd "$(dirname "$0")/.." || exit 2
OSIRIS=${OSIRIS:-./osiris}
ROWS=${BENCH_ROWS:-1000000}
REPS=${BENCH_REPS:-3}
OUT=bench/out/duckdb
PY=${PYTHON:-python3}
mkdir -p "$OUT"
[ -x "$OSIRIS" ] || { echo "duckdb_bench: build ./osiris first" >&2; exit 2; }
[ -d tests/parquet/node_modules/@duckdb/node-api ] || { echo "duckdb_bench: run make deps (node-api)" >&2; exit 2; }
DATA=bench/out/movies_$ROWS.csv
if [ ! -s "$DATA" ] || [ bench/gen_movies.py -nt "$DATA" ]; then
  echo "== generating $ROWS rows -> $DATA"
  "$PY" bench/gen_movies.py "$ROWS" "$DATA" >/dev/null || exit 1
fi
QUERY="SELECT director, count(*) AS movies, round(avg(rating), 4) AS avg_rating, max(released) AS latest FROM df GROUP BY director ORDER BY director NULLS FIRST"

pipeline() { # pipeline ENGINE FILE
  cat >"$2" <<YAML
oml_version: "0.1.0"
name: "bench group by ($1)"
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config:
      path: $PWD/$DATA
  - id: agg
    component: $1
    mode: transform
    needs: [extract]
    config:
      query: "$QUERY"
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [agg]
    config:
      path: $PWD/$OUT/out_$1.csv
YAML
}
pipeline duckdb.processor "$OUT/duckdb.yaml"
pipeline sql.processor "$OUT/sql.yaml"
cat >tests/parquet/.duckdb_bench.mjs <<'JS'
import { DuckDBInstance } from '@duckdb/node-api'
const [file, out, query] = process.argv.slice(2)
const db = await DuckDBInstance.create(':memory:')
const con = await db.connect()
await con.run(`COPY (${query.replace('FROM df', `FROM read_csv('${file}')`)}) TO '${out}' (HEADER)`)
JS

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
measure() { # measure NAME CMD...: sets WALL and RSS (medians)
  local name=$1 i
  shift
  : >"$OUT/$name.walls"; : >"$OUT/$name.rss"
  for i in $(seq "$REPS"); do
    /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.log" 2>&1 ||
      { echo "duckdb_bench: $name failed:" >&2; tail -5 "$OUT/$name.log" >&2; return 1; }
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
      "$OUT/$name.time" >>"$OUT/$name.walls"
    awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' "$OUT/$name.time" >>"$OUT/$name.rss"
  done
  WALL=$(median <"$OUT/$name.walls"); RSS=$(median <"$OUT/$name.rss")
}
echo "== (i) CSV -> GROUP BY -> CSV, $ROWS rows, median of $REPS"
measure duckdb_alone node tests/parquet/.duckdb_bench.mjs "$PWD/$DATA" "$PWD/$OUT/out_alone.csv" "$QUERY" || exit 1
A_W=$WALL A_R=$RSS
measure osiris_duckdb "$OSIRIS" run "$OUT/duckdb.yaml" --logs-dir "$OUT/logs" || exit 1
D_W=$WALL D_R=$RSS
streamed=$(grep -h '"inputs_resolved"' "$(ls -td "$OUT"/logs/run_* | head -n 1)/events.jsonl" |
  grep '"step_id":"agg"' | grep -o '"source":"[a-z]*"' | head -n 1)
measure osiris_sqlite "$OSIRIS" run "$OUT/sql.yaml" --logs-dir "$OUT/logs" || exit 1
S_W=$WALL S_R=$RSS
rm -f tests/parquet/.duckdb_bench.mjs
rm -rf "$OUT/logs"
same=$("$PY" - "$OUT/out_alone.csv" "$OUT/out_duckdb.processor.csv" <<'PY'
import csv, sys
a, b = (list(csv.reader(open(p, encoding="utf-8"))) for p in sys.argv[1:])
def norm(rows):  # DuckDB's COPY writes timestamps with a space, osiris's CSV with a T
    return [[c.replace("T", " ") for c in r] for r in rows]
print("same rows" if norm(a) == norm(b) else "DIFFERENT (%d vs %d rows)" % (len(a), len(b)))
PY
)
awk -v a="$A_W" -v ar="$A_R" -v d="$D_W" -v dr="$D_R" -v s="$S_W" -v sr="$S_R" -v rows="$ROWS" -v same="$same" -v st="$streamed" 'BEGIN {
  printf "\n%-46s %8s %10s %8s\n", "case (" rows " rows)", "wall", "max RSS", "ratio"
  printf "%-46s %6.2f s %7.1f MB %8s\n", "DuckDB alone (node-api, COPY ... read_csv)", a, ar, "1.00x"
  printf "%-46s %6.2f s %7.1f MB %7.2fx   (goal <= 1.5x)\n", "osiris, duckdb.processor", d, dr, d / a
  printf "%-46s %6.2f s %7.1f MB %7.2fx\n", "osiris, sql.processor (SQLite)", s, sr, s / a
  printf "duckdb.processor output vs DuckDB alone: %s; input into DuckDB: %s\n", same, st
}'
