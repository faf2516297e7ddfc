#!/usr/bin/env bash
# bench/startup_bench.sh -- (k) start-up (issue 13, "Start-up"): how long
# `osiris version` and a small 5-step CSV pipeline take, for ./osiris (the
# host as `make` and ./build.sh build it from Debian's packages: linked
# with libc and libm only, libsqlite3/libmariadb/libpq/libcurl loaded when
# a step first needs them, see lazylib.c) and ./osiris-static (`make
# static`: one static binary), against the baseline measured in the same
# run: `python3 -c "import pandas, sqlalchemy"`, the start of a Python
# tool of this kind.  Medians of BENCH_RUNS runs (default 51) with
# hyperfine -N (no shell in between).  Goals on this machine kind, for
# both binaries: version <= 3 ms, the pipeline <= 10 ms, the baseline >=
# 50x the pipeline.  The load average is printed: other work on the
# machine shows in the figures.
set -u
cd "$(dirname "$0")/.." || exit 2
RUNS=${BENCH_RUNS:-51}
OUTDIR=bench/out/startup
mkdir -p "$OUTDIR"
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}

if ! command -v hyperfine >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ] &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null 2>&1
fi
command -v hyperfine >/dev/null 2>&1 || { echo "startup bench: needs hyperfine (apt-get install hyperfine)"; exit 2; }
# The baseline's interpreter: the first that has both packages (Debian's
# python3-pandas and python3-sqlalchemy are installed when none has).
base_py() {
  local p
  for p in "$PY" /usr/bin/python3; do
    "$p" -c 'import pandas, sqlalchemy' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}
if ! BPY=$(base_py); then
  [ "$(id -u)" = 0 ] && [ "${BENCH_NO_INSTALL:-0}" != 1 ] &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pandas python3-sqlalchemy >/dev/null 2>&1
  BPY=$(base_py) || { echo "startup bench: needs pandas and sqlalchemy (apt-get install python3-pandas python3-sqlalchemy)"; exit 2; }
fi
make -s osiris osiris-static >"$OUTDIR/build.log" 2>&1 || { echo "startup bench: make osiris osiris-static failed"; tail -5 "$OUTDIR/build.log"; exit 2; }

# The 5-step pipeline: read a CSV, filter and aggregate in SQL, write two CSVs.
P=$OUTDIR/project
rm -rf "$P" && mkdir -p "$P/data"
"$PY" - "$P/data/sales.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,region,amount\n")
    for i in range(1, 201):
        f.write("%d,%s,%d.%02d\n" % (i, "nesw"[i % 4], i * 7 % 100, i % 100))
PY
cat >"$P/pipeline.yaml" <<'YAML'
oml_version: "0.1.0"
name: startup
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config: {path: data/sales.csv}
  - id: big
    component: sql.processor
    mode: transform
    needs: [extract]
    config: {query: "SELECT id, region, amount FROM df WHERE amount > 50"}
  - id: by-region
    component: sql.processor
    mode: transform
    needs: [extract]
    config: {query: "SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM df GROUP BY region ORDER BY region"}
  - id: write-big
    component: filesystem.csv_writer
    mode: write
    needs: [big]
    config: {path: out/big.csv}
  - id: write-regions
    component: filesystem.csv_writer
    mode: write
    needs: [by-region]
    config: {path: out/regions.csv}
YAML
(cd "$P" && "$OLDPWD/osiris" run pipeline.yaml >/dev/null) || { echo "startup bench: the pipeline fails"; exit 1; }

# median_ms NAME CMD...: the median wall time in ms (hyperfine -N).
median_ms() {
  local name=$1
  shift
  (cd "$P" && hyperfine -N --runs "$RUNS" --warmup 3 --style none \
     --export-json "$OLDPWD/$OUTDIR/$name.json" "$*" >/dev/null 2>&1) || { echo nan; return; }
  "$PY" -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' \
    "$OUTDIR/$name.json"
}
ROOT=$PWD
echo "== (k) start-up, median of $RUNS runs (hyperfine -N)"
V_DYN=$(median_ms version_dyn "$ROOT/osiris version")
V_ST=$(median_ms version_static "$ROOT/osiris-static version")
R_DYN=$(median_ms run_dyn "$ROOT/osiris run pipeline.yaml --logs-dir $ROOT/$OUTDIR/logs_dyn")
R_ST=$(median_ms run_static "$ROOT/osiris-static run pipeline.yaml --logs-dir $ROOT/$OUTDIR/logs_static")
PYB=$(median_ms python "$BPY -c 'import pandas, sqlalchemy'")
rm -rf "$OUTDIR/logs_dyn" "$OUTDIR/logs_static"
# Shared libraries at start (ldd), and the ones the pipeline's run loads
# (the loader's own trace: libsqlite3 for sql.processor, nothing else).
NLIBS=$(ldd ./osiris 2>/dev/null | grep -c '=>')
NRUN=$(cd "$P" && LD_DEBUG=libs "$ROOT/osiris" run pipeline.yaml --logs-dir "$ROOT/$OUTDIR/logs_dyn" 2>&1 >/dev/null |
       grep 'calling init: ' | grep -vc 'ld-linux')
rm -rf "$OUTDIR/logs_dyn"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v vd="$V_DYN" -v vs="$V_ST" -v rd="$R_DYN" -v rs="$R_ST" -v py="$PYB" -v nl="$NLIBS" -v nr="$NRUN" 'BEGIN {
  printf "%-50s %10s\n", "case", "median"
  printf "%-50s %7.2f ms   (goal 3 ms)\n", "./osiris version (" nl " shared libs)", vd
  printf "%-50s %7.2f ms   (goal 3 ms)\n", "./osiris-static version", vs
  printf "%-50s %7.2f ms   (goal 10 ms)\n", "./osiris run, 5-step CSV pipeline (" nr " libs)", rd
  printf "%-50s %7.2f ms   (goal 10 ms)\n", "./osiris-static run, 5-step CSV pipeline", rs
  printf "%-50s %7.2f ms\n", "python3 -c \"import pandas, sqlalchemy\" (baseline)", py
  if (rs > 0) printf "%-50s %9.1fx   (goal 50x)\n", "baseline / osiris-static pipeline", py / rs
  if (vs > 0) printf "%-50s %9.1fx\n", "baseline / osiris-static version", py / vs
}'
