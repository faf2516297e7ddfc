#!/usr/bin/env bash
# bench/jobs_bench.sh -- (l) parallel branches inside one run (issue 13,
# "Parallel branches"): a pipeline of 4 independent branches, each
# CSV (BENCH_JOBS_ROWS rows, default 200,000) -> sql.processor GROUP BY
# with some arithmetic -> CSV, run with --jobs 1 (one step after another)
# and --jobs N (N = the online cores, at most 4: one per branch).  Median
# wall time of BENCH_JOBS_RUNS runs (default 5) with hyperfine -N, else a
# bash loop; the ratio serial / parallel is printed.  On a machine with
# C free cores the ratio approaches min(C, 4); the outputs of the two
# modes are checked byte-equal first.
# JSON: bench/out/jobs/jobs.json.
set -u
cd "$(dirname "$0")/.." || exit 2
OSIRIS=${OSIRIS:-./osiris}
case $OSIRIS in /*) ;; *) OSIRIS=$PWD/$OSIRIS ;; esac
ROWS=${BENCH_JOBS_ROWS:-200000}
RUNS=${BENCH_JOBS_RUNS:-5}
OUTDIR=bench/out/jobs
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
[ -x "$OSIRIS" ] || { echo "jobs bench: $OSIRIS not found; run make first" >&2; exit 2; }
CORES=$(getconf _NPROCESSORS_ONLN)
J=$CORES
[ "$J" -gt 4 ] && J=4
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR/project/data"
P=$OUTDIR/project

"$PY" - "$P/data" "$ROWS" <<'PY'
import random, sys
d, rows = sys.argv[1], int(sys.argv[2])
for b in range(4):
    r = random.Random(b)
    with open("%s/b%d.csv" % (d, b), "w") as f:
        f.write("id,grp,x,y,label\n")
        for i in range(rows):
            f.write("%d,%d,%.3f,%d,item-%d\n" % (i, r.randrange(5000), r.random() * 1000, r.randrange(10**6), i % 977))
PY
{
  echo 'oml_version: "0.1.0"'
  echo 'name: branches'
  echo 'steps:'
  for b in 0 1 2 3; do
    cat <<YAML
  - id: read_$b
    component: filesystem.csv_extractor
    mode: read
    needs: []
    config: {path: data/b$b.csv}
  - id: agg_$b
    component: sql.processor
    mode: transform
    needs: [read_$b]
    config: {query: "SELECT grp, COUNT(*) AS n, SUM(x * x) AS sx, AVG(y % 97) AS ay, MAX(length(label) + y % 13) AS ml FROM df GROUP BY grp ORDER BY grp"}
  - id: write_$b
    component: filesystem.csv_writer
    mode: write
    needs: [agg_$b]
    config: {path: out/b$b.csv}
YAML
  done
} >"$P/pipeline.yaml"

echo "== (l) parallel branches: 4 x (CSV $ROWS rows -> sql.processor GROUP BY -> CSV), --jobs 1 vs --jobs $J ($CORES cores)"
# The two modes must give the same outputs.
for j in 1 "$J"; do
  (cd "$P" && rm -rf out && "$OSIRIS" run pipeline.yaml --jobs "$j" --logs-dir ../logs_$j >/dev/null) ||
    { echo "jobs bench: the pipeline fails with --jobs $j"; exit 1; }
  mkdir -p "$OUTDIR/out_$j" && cp "$P"/out/*.csv "$OUTDIR/out_$j/"
done
for b in 0 1 2 3; do
  cmp -s "$OUTDIR/out_1/b$b.csv" "$OUTDIR/out_$J/b$b.csv" ||
    { echo "jobs bench: out/b$b.csv differs between --jobs 1 and --jobs $J"; exit 1; }
done

# median_ms JOBS: median wall time of RUNS runs, in ms.
median_ms() {
  local cmd="$OSIRIS run pipeline.yaml --jobs $1 --logs-dir ../logs_$1"
  if command -v hyperfine >/dev/null 2>&1; then
    (cd "$P" && hyperfine -N --runs "$RUNS" --warmup 1 --style none --export-json "../hf_$1.json" "$cmd" >/dev/null 2>&1) &&
      "$PY" -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$OUTDIR/hf_$1.json"
  else
    local i t0
    for i in $(seq "$RUNS"); do
      t0=$(date +%s%N)
      (cd "$P" && $cmd >/dev/null)
      echo $(( ($(date +%s%N) - t0) / 1000 ))
    done | sort -n | awk '{a[NR]=$1} END {printf "%.1f\n", a[int((NR+1)/2)] / 1000}'
  fi
}
SERIAL=$(median_ms 1)
PAR=$(median_ms "$J")
RATIO=$(awk -v s="$SERIAL" -v p="$PAR" 'BEGIN { printf "%.2f", (p > 0 ? s / p : 0) }')
MAXC=$(ls -1td "$OUTDIR"/logs_"$J"/run_*/ | head -n 1)
MAXC=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]+"/run_card.json"))["parallel"]["max_concurrent"])' "$MAXC")
printf '  %-28s %10s ms\n' "--jobs 1 (serial)" "$SERIAL" "--jobs $J (at most $MAXC at once)" "$PAR"
printf '  %-28s %10sx\n' "speed-up serial / parallel" "$RATIO"
printf '{"rows_per_branch": %d, "branches": 4, "cores": %d, "jobs": %d, "serial_ms": %s, "parallel_ms": %s, "ratio": %s, "max_concurrent": %s, "tool": "%s"}\n' \
  "$ROWS" "$CORES" "$J" "$SERIAL" "$PAR" "$RATIO" "$MAXC" "$(command -v hyperfine >/dev/null 2>&1 && echo hyperfine || echo loop)" >"$OUTDIR/jobs.json"
