#!/usr/bin/env bash
# tests/fuzz/run.sh -- the libFuzzer targets of tests/fuzz/fuzz.c.
#
#   bash tests/fuzz/run.sh build          build tests/bin/fuzz/osiris_fuzz (make fuzz)
#   bash tests/fuzz/run.sh                build, replay every seed and kept
#                                         input, then fuzz each target for
#                                         FUZZ_SECONDS (default 10) from a
#                                         scratch copy of its corpus (make test)
#   bash tests/fuzz/run.sh campaign S [TARGET...]
#                                         fuzz each target for S seconds into
#                                         tests/fuzz/<target>/ (new inputs are
#                                         kept there: commit the interesting ones)
#
# A crash, leak, timeout or sanitizer report fails the target; libFuzzer
# writes the input to tests/bin/fuzz/crash-* (keep it in the corpus once
# fixed, as a regression input).  Last line: "N passed, N failed" (targets).
set -u
cd "$(dirname "$0")/../.."
TARGETS=(json yaml oml conn csv parquet manifest commands lines envelope)
OUT=tests/bin/fuzz
CC_FUZZ=${CC_FUZZ:-clang}
FLAGS=(-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Wall -Wextra -Wno-unused-function -Werror -I. -I/usr/include/mariadb -I/usr/include/postgresql)
LIBS=(-lsqlite3 -lmariadb -lpq -lcurl -lm -pthread -ldl)
pass=0 fail=0

BIN=$OUT/osiris_fuzz
build() {
  mkdir -p "$OUT"
  if [ ! -x "$BIN" ] || [ tests/fuzz/fuzz.c -nt "$BIN" ] || [ osiris.c -nt "$BIN" ] ||
     [ osiris.h -nt "$BIN" ] || [ drivers.c -nt "$BIN" ] || [ db_drivers.inc -nt "$BIN" ]; then
    "$CC_FUZZ" "${FLAGS[@]}" -o "$BIN" tests/fuzz/fuzz.c "${LIBS[@]}" || return 1
  fi
}
# fuzz TARGET ARGS...: the one binary as that target
fuzz() { local t=$1; shift; OSIRIS_FUZZ_TARGET=$t "$BIN" "$@"; }

mode=${1:-test}
if ! build; then
  echo "fuzz: the targets do not build (clang with libFuzzer: make deps installs clang)"
  echo "0 passed, 1 failed"
  exit 1
fi
[ "$mode" = build ] && exit 0

# ASan's leak check on; a timeout is a hang (a parser must not loop).
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1
# fuzz_for TARGET CORPUS SECONDS LOG: fuzz from CORPUS (new inputs go there),
# count the target as passed or failed, print its executions and rate.
fuzz_for() {
  local t=$1 corpus=$2 secs=$3 log=$4
  if fuzz "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$OUT/$t-" "$corpus" >"$log" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL fuzz/$t: $(grep -m1 -E 'ERROR|SUMMARY|crash|timeout' "$log") (input kept as $OUT/$t-*)"
  fi
  printf '  %-9s %s\n' "$t" "$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log" |
    tr '\n' ' ' | sed 's/stat:://g')"
}

if [ "$mode" = campaign ]; then
  secs=${2:?seconds}
  shift 2
  [ "$#" -gt 0 ] && TARGETS=("$@")
  for t in "${TARGETS[@]}"; do fuzz_for "$t" "tests/fuzz/$t" "$secs" "$OUT/$t.campaign.log"; done
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
  if ! fuzz "$t" -timeout=10 -runs=1 "tests/fuzz/$t"/* >"$log" 2>&1; then
    fail=$((fail + 1))
    echo "FAIL fuzz/$t: replaying tests/fuzz/$t: $(grep -m1 -E 'ERROR|SUMMARY' "$log")"
    continue
  fi
  # 2. a short run from a scratch copy, so the repository is not written
  mkdir -p "$scratch/$t"
  cp "tests/fuzz/$t"/* "$scratch/$t/"
  fuzz_for "$t" "$scratch/$t" "$secs" "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
