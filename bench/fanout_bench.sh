#!/usr/bin/env bash
# bench/fanout_bench.sh -- (j) fan-out: 50 small pipelines (CSV -> SQL ->
# CSV, each its own input and output) against the fake E2B
# (tests/fake_e2b/server.mjs on loopback), one after another (50 x `osiris
# run P --e2b`) and as one batch (`osiris run P1 ... P50 --e2b --parallel
# N`).  Against the fake, a sandbox costs no network and no boot, so the
# figures are the client's own overhead; the ratio is what fan-out buys on
# this machine (bounded by its cores: the fake's sandboxes run here too).
# Environment: OSIRIS, BENCH_FANOUT_RUNS (default 50), BENCH_FANOUT_N
# (default 10).  Needs node and the static worker (make worker).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
OSIRIS=$(cd "$(dirname "${OSIRIS:-./osiris}")" && pwd)/$(basename "${OSIRIS:-./osiris}")
RUNS=${BENCH_FANOUT_RUNS:-50}
PAR=${BENCH_FANOUT_N:-10}
OUT=$ROOT/bench/out/fanout
rm -rf "$OUT" && mkdir -p "$OUT/data" || exit 2
[ -x osiris-worker ] || { echo "fanout_bench: build the worker first (make worker)" >&2; exit 2; }
command -v node >/dev/null || { echo "fanout_bench: node is needed for the fake E2B" >&2; exit 2; }
export OSIRIS_WORKER=$ROOT/osiris-worker

node tests/fake_e2b/server.mjs --port 0 --parent-pid $$ >"$OUT/fake.out" 2>"$OUT/fake.err" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; wait $FAKE 2>/dev/null' EXIT
for _ in $(seq 1 600); do [ -s "$OUT/fake.out" ] && break; sleep 0.1; done
info=$(head -1 "$OUT/fake.out")
field() { echo "$info" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
E2B_API_KEY=$(field api_key) E2B_API_URL=$(field api_url) E2B_SANDBOX_URL=$(field api_url)
export E2B_API_KEY E2B_API_URL E2B_SANDBOX_URL

cd "$OUT" || exit 2
names=()
for n in $(seq 1 "$RUNS"); do
  printf 'id,name\n1,a%s\n2,b%s\n3,c%s\n' "$n" "$n" "$n" >"data/in_$n.csv"
  cat >"p$n.yaml" <<EOP
oml_version: "0.1.0"
name: "p$n"
steps:
  - {id: r, component: filesystem.csv_extractor, mode: read, config: {path: data/in_$n.csv}}
  - {id: q, component: sql.processor, mode: transform, needs: [r], config: {query: "SELECT id, name, $n AS k FROM df"}}
  - {id: w, component: filesystem.csv_writer, mode: write, needs: [q], config: {path: out/o_$n.csv}}
EOP
  names+=("p$n.yaml")
done
now_ms() { date +%s%N | awk '{printf "%.3f", $1/1e6}'; }

t0=$(now_ms)
for p in "${names[@]}"; do
  "$OSIRIS" run "$p" --e2b --logs-dir logs-seq >/dev/null 2>&1 || { echo "fanout_bench: $p failed" >&2; exit 1; }
done
t1=$(now_ms)
curl -s -X POST "$E2B_API_URL/_fake/reset" >/dev/null
"$OSIRIS" run "${names[@]}" --e2b --parallel "$PAR" --logs-dir logs-par --json >batch.json 2>batch.err ||
  { echo "fanout_bench: the batch failed (bench/out/fanout/batch.json)" >&2; exit 1; }
t2=$(now_ms)
MAXLIVE=$(curl -s "$E2B_API_URL/_fake/state" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["max_live"])')

echo "== (j) fan-out of $RUNS small pipelines against the fake E2B (client overhead)"
awk -v s0="$t0" -v s1="$t1" -v s2="$t2" -v n="$RUNS" -v par="$PAR" -v ml="$MAXLIVE" 'BEGIN {
  seq = (s1 - s0) / 1000; fan = (s2 - s1) / 1000
  printf "%-46s %8.2f s %8.1f ms/run\n", "one after another (" n " x osiris run --e2b)", seq, seq * 1000 / n
  printf "%-46s %8.2f s %8.1f ms/run   (max %d sandboxes alive)\n", "one batch, --parallel " par, fan, fan * 1000 / n, ml
  if (fan > 0) printf "%-46s %9.2fx\n", "sequential / fan-out wall ratio", seq / fan
}'
