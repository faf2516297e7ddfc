#!/usr/bin/env bash
# tests/fuzz/run.sh -- the libFuzzer targets of tests/fuzz/fuzz.c, one
# binary each in tests/bin/fuzz/<target> (built by `make fuzz-bin`).
#
#   bash tests/fuzz/run.sh build     build the targets
#   bash tests/fuzz/run.sh           build; replay every file of
#                                    tests/fuzz/<target>/ (seeds and kept
#                                    regression inputs) once; then fuzz each
#                                    target FUZZ_SECONDS (default 10) from a
#                                    scratch copy of its corpus (make test)
#   bash tests/fuzz/run.sh campaign S [TARGET...]
#                                    fuzz each target S seconds, one at a time
#                                    at nice 19, into tests/bin/fuzz/corpus/
#                                    <target> (seeded from tests/fuzz/<target>;
#                                    the repository is not written)
#
# Each target uses its dictionary tests/fuzz/<target>/<target>.dict.  A
# crash, leak, timeout (a parser must not loop) or sanitizer report fails
# the target; libFuzzer writes the input to tests/bin/fuzz/<target>-crash-*
# (once fixed, keep it in tests/fuzz/<target>/ as regress-<what>).  Last
# line: "N passed, N failed" (targets).
set -u
cd "$(dirname "$0")/../.."
TARGETS=(json yaml oml conn csv parquet manifest commands lines envelope)
OUT=tests/bin/fuzz
pass=0 fail=0

mode=${1:-test}
if ! make -s fuzz-bin; then
  echo "fuzz: the targets do not build (clang 14 with libFuzzer: clang, libclang-rt-14-dev)"
  echo "0 passed, ${#TARGETS[@]} failed"
  exit 1
fi
[ "$mode" = build ] && exit 0

# Leaks are failures; allocator_may_return_null so a huge size asked for is
# the parser's ENOMEM, not a sanitizer abort.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# stats LOG: "executions N, N exec/s"
stats() {
  local n r
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1")
  r=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$1")
  echo "executions ${n:-?}, ${r:-?} exec/s"
}
# why LOG: the first line that says what went wrong
why() { grep -m1 -E 'ERROR|runtime error|SUMMARY|deadly|timeout|leak' "$1"; }

# fuzz TARGET CORPUS SECONDS LOG [nice]
fuzz() {
  local t=$1 corpus=$2 secs=$3 log=$4
  ${5:+nice -n 19} "$OUT/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -dict="tests/fuzz/$t/$t.dict" \
    -artifact_prefix="$OUT/$t-" "$corpus" >"$log" 2>&1
}
# fuzz_for TARGET CORPUS SECONDS LOG [nice]: fuzz, count the target as passed
# or failed, print its executions and rate (and why it failed)
fuzz_for() {
  local t=$1 start res
  start=$(date +%s)
  if fuzz "$@"; then
    pass=$((pass + 1))
    res=ok
  else
    fail=$((fail + 1))
    res="FAIL fuzz/$t: $(why "$4") (input kept as $OUT/$t-*)"
  fi
  printf '  %-9s %s, %s s: %s\n' "$t" "$(stats "$4")" "$(($(date +%s) - start))" "$res"
}

if [ "$mode" = campaign ]; then
  secs=${2:?seconds per target}
  shift 2
  [ "$#" -gt 0 ] && TARGETS=("$@")
  for t in "${TARGETS[@]}"; do
    log=$OUT/$t.campaign.log
    mkdir -p "$OUT/corpus/$t"
    cp -n "tests/fuzz/$t"/* "$OUT/corpus/$t/" 2>/dev/null
    fuzz_for "$t" "$OUT/corpus/$t" "$secs" "$log" nice
  done
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
  exit
fi

secs=${FUZZ_SECONDS:-10}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/osiris-fuzz-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for t in "${TARGETS[@]}"; do
  log=$scratch/$t.log
  # 1. every seed and kept regression input, once
  if ! "$OUT/$t" -timeout=10 -runs=1 "tests/fuzz/$t"/* >"$log" 2>&1; then
    fail=$((fail + 1))
    echo "FAIL fuzz/$t: replaying tests/fuzz/$t: $(why "$log")"
    continue
  fi
  # 2. a short run from a scratch copy, so the repository is not written
  mkdir -p "$scratch/$t"
  cp "tests/fuzz/$t"/* "$scratch/$t/"
  fuzz_for "$t" "$scratch/$t" "$secs" "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
