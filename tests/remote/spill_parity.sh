#!/usr/bin/env bash
# tests/remote/spill_parity.sh -- DataFrame spill (issue "DataFrame
# lifecycle") in both adapters.  The example pipeline (examples/movies),
# compiled once, runs in memory locally (the reference), then with
# OSIRIS_FORCE_SPILL=1 and with OSIRIS_SPILL_THRESHOLD=10, each local,
# --sandbox local and --e2b (tests/fake_e2b).  Every spill run must give:
#   - exit 0 and an output byte-identical to the in-memory run;
#   - artifacts/<step>/output.parquet + schema.json in all three run dirs,
#     with identical sha256 (and no spill file for a frame under the threshold);
#   - the same events in all three (transport events, ts, session, durations,
#     paths and hashes dropped: events_equal from common.sh), and the same
#     events as the in-memory run except the input source and spill artifacts;
#   - inputs_resolved with source "spill" for every spilled upstream frame;
#   - run_card.json spill fields (spill_used, spill_paths, has_df_in_memory)
#     equal to the local run's, and `osiris runs diff` clean.
# Every run is bounded by `timeout`.  Prints "N passed, N failed" last.
#   bash tests/remote/spill_parity.sh      (from the repo root, after make)
# shellcheck disable=SC1091,SC2012,SC2034  # common.sh reads RT_CASE
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

RUN_TIMEOUT=${RUN_TIMEOUT:-60}
OUTPUT=examples/output/movies_by_decade.csv
RUN_OUTPUT=$OUTPUT


# events minus what spill legitimately changes (the input source and the
# spill artifacts) and minus transport events / run-specific fields
events_digest() {
  "$PY" - "$1" <<'EOF'
import json, sys
T = {"worker_started", "worker_exited", "artifacts_downloaded", "sandbox_created",
     "sandbox_deleted", "dependency_check"}
DROP = {"ts", "session", "session_id", "session_dir", "duration_ms", "path", "manifest_path",
        "adapter", "sha256", "size", "size_bytes", "source", "from_memory", "from_spill"}
for line in open(sys.argv[1] + "/events.jsonl"):
    e = json.loads(line)
    if e["event"] in T:
        continue
    if e["event"] == "artifact_created" and e.get("artifact_type") in ("parquet", "schema"):
        continue
    print(json.dumps({k: v for k, v in e.items() if k not in DROP}, sort_keys=True))
EOF
}

# input sources: "to_step from_step source" per inputs_resolved event
input_sources() {
  "$PY" -c '
import json, sys
for l in open(sys.argv[1] + "/events.jsonl"):
    e = json.loads(l)
    if e["event"] == "inputs_resolved":
        print(e["step_id"], e["from_step"], e.get("source"))' "$1"
}

# run_card spill fields per step, one line each
card_spill() {
  "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1] + "/run_card.json"))
for s in c["steps"]:
    print(s["step_id"], s.get("spill_used"), json.dumps(s.get("spill_paths")), s.get("has_df_in_memory"), s.get("rows_out"))' "$1"
}

spill_sums() { # spill_sums DIR: sha256 of every spill file, relative names
  (cd "$1" && find artifacts -type f \( -name output.parquet -o -name schema.json \) | sort | xargs -r sha256sum)
}

mkdir -p "$RT_WORK/movies"
cp -r "$RT_ROOT/examples" "$RT_WORK/movies/"
cd "$RT_WORK/movies" || exit 1

RT_CASE=compile
"$OSIRIS" compile examples/movies/pipeline.yaml >"$RT_WORK/compile.txt" 2>&1
crc=$?
check "compile ($(tail -1 "$RT_WORK/compile.txt"))" [ "$crc" = 0 ]
MANIFEST=$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml 2>/dev/null | head -1)
[ -n "$MANIFEST" ] || { fail "no compiled manifest"; finish; exit 1; }

RT_CASE=in-memory
run_mode local
MEM=$RUN_DIR
check "in-memory local run exit 0 ($RT_OUT)" [ "$RT_RC" = 0 ]
cp "$OUTPUT" "$RT_WORK/mem.csv" 2>/dev/null
check "in-memory output written" [ -s "$RT_WORK/mem.csv" ]
check "in-memory run has no spill file" [ -z "$(spill_sums "$MEM" | grep output.parquet)" ]
check "in-memory inputs resolved from memory" \
  [ "$(input_sources "$MEM" | awk '{print $3}' | sort -u)" = memory ]
events_digest "$MEM" >"$RT_WORK/mem.events"

# spill_case NAME "SPILLED STEPS" "NOT SPILLED STEPS" VAR=VALUE...
spill_case() {
  local name=$1 spilled=$2 kept=$3 mode dir st src to from drc
  shift 3
  local -A D=()
  for mode in local sandbox e2b; do
    RT_CASE="$name/$mode"
    run_mode "$mode" "$@"
    dir=$RUN_DIR
    D[$mode]=$dir
    check "exit 0 ($RT_RC: $RT_OUT)" [ "$RT_RC" = 0 ]
    check "run dir created" [ -n "$dir" ]
    [ -n "$dir" ] || continue
    check "status ok" [ "$(status_field "$dir" ok)" = true ]
    check "output byte-identical to the in-memory run" cmp -s "$RT_WORK/mem.csv" "$OUTPUT"
    for st in $spilled; do
      check "artifacts/$st/output.parquet present" [ -s "$dir/artifacts/$st/output.parquet" ]
      check "artifacts/$st/schema.json present" [ -s "$dir/artifacts/$st/schema.json" ]
      check "artifact_created event for $st parquet" \
        grep -q "\"step_id\":\"$st\",\"artifact_type\":\"parquet\",\"path\":\"artifacts/$st/output.parquet\"" "$dir/events.jsonl"
    done
    for st in $kept; do
      check "no spill file for $st (under the threshold)" [ ! -e "$dir/artifacts/$st/output.parquet" ]
    done
    # every input from a spilled step says spill, every other one memory
    while read -r to from src; do
      if [[ " $spilled " == *" $from "* ]]; then
        check "inputs_resolved $to <- $from: source spill (got $src)" [ "$src" = spill ]
      else
        check "inputs_resolved $to <- $from: source memory (got $src)" [ "$src" = memory ]
      fi
    done < <(input_sources "$dir")
    check "at least one input resolved from spill" grep -q '"source":"spill"' "$dir/events.jsonl"
    events_digest "$dir" >"$RT_WORK/$name.$mode.events"
    check "events equal the in-memory run's (but for sources and spill artifacts)" \
      diff -u "$RT_WORK/mem.events" "$RT_WORK/$name.$mode.events"
    [ "$mode" = local ] && continue
    check "spill artifacts sha256 identical to local" \
      [ "$(spill_sums "${D[local]}")" = "$(spill_sums "$dir")" ]
    check "spill artifacts: $(spill_sums "$dir" | wc -l) files" \
      [ "$(spill_sums "$dir" | wc -l)" = "$(($(wc -w <<<"$spilled") * 2))" ]
    check "events equal local (events_equal)" events_equal "${D[local]}" "$dir"
    check "run_card spill fields equal local [$(card_spill "$dir" | tr '\n' ';')]" \
      [ "$(card_spill "${D[local]}")" = "$(card_spill "$dir")" ]
    timeout 30 "$OSIRIS" runs diff "${D[local]}" "$dir" >"$RT_WORK/diff.txt" 2>&1
    drc=$?
    check "osiris runs diff local $mode: no difference ($(grep -v '^  ' "$RT_WORK/diff.txt" | grep -v '^transport-only' | head -1 | cut -c1-160))" [ "$drc" = 0 ]
  done
  RT_CASE="$name/local"
  if [ -n "${D[local]:-}" ]; then
    for st in $spilled; do
      check "local run_card: $st spill_used, spill_paths, not in memory" "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1] + "/run_card.json"))
s = {x["step_id"]: x for x in c["steps"]}[sys.argv[2]]
sys.exit(0 if s["spill_used"] is True and s["has_df_in_memory"] is False
         and s["spill_paths"] == ["artifacts/%s/output.parquet" % sys.argv[2]] else 1)' "${D[local]}" "$st"
    done
  fi
}

spill_case forced "extract-movies movies-by-decade" "" OSIRIS_FORCE_SPILL=1
# 40 movies > 10 spill, 8 decades <= 10 stay in memory
spill_case threshold "extract-movies" "movies-by-decade" OSIRIS_SPILL_THRESHOLD=10

RT_CASE=fake
check "every fake sandbox deleted" "$PY" -c '
import json, sys
s = json.loads(sys.stdin.read())
sys.exit(1 if s["live"] else 0)' < <(fake_get /_fake/state)

finish
