#!/usr/bin/env bash
# tests/remote/stream_parity.sh -- streamed pairs in every adapter.  A
# 150000-row CSV (more than two batches) goes through
# filesystem.csv_extractor -> filesystem.csv_writer, which the runner
# streams: the writer starts on the first batch.  The same compiled
# pipeline runs with streaming off (OSIRIS_STREAM=0, the reference), then
# local, --sandbox local and --e2b (tests/fake_e2b).  Each streamed run must:
#   - exit 0 with an output byte-identical to the reference's;
#   - resolve the writer's input with source "stream", report rows_out
#     streamed and a stream_complete with every row, and spill nothing;
#   - remotely: give the same events as local (events_equal), the same
#     run_card.json step fields and a clean `osiris runs diff`.
# Prints "N passed, N failed" last.
#   bash tests/remote/stream_parity.sh      (from the repo root, after make)
# shellcheck disable=SC1091,SC2012,SC2034  # common.sh reads RT_CASE
. "$(dirname "$0")/common.sh"

need_binaries
fake_start

RUN_TIMEOUT=${RUN_TIMEOUT:-120}
ROWS=150000
RUN_OUTPUT=out/out.csv
mkdir -p "$RT_WORK/p/data"
cd "$RT_WORK/p" || exit 1

"$PY" - "$ROWS" data/in.csv <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", newline="") as f:
    f.write("id,name,score,day,note\n")
    for i in range(n):
        note = "" if i % 9 == 0 else ('say "hi", %d' % i if i % 5 == 0 else "n%d" % i)
        if '"' in note or "," in note:
            note = '"' + note.replace('"', '""') + '"'
        f.write("%d,name %d,%d.%02d,2024-%02d-%02d,%s\n" % (i, i % 1000, i % 97, i % 100,
                                                         i % 12 + 1, i % 28 + 1, note))
EOF
cat >pipeline.yaml <<'YAML'
oml_version: "0.1.0"
name: "stream parity"
steps:
  - id: extract
    component: filesystem.csv_extractor
    mode: read
    config:
      path: data/in.csv
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [extract]
    config:
      path: out/out.csv
YAML

RT_CASE=compile
"$OSIRIS" compile pipeline.yaml >"$RT_WORK/compile.txt" 2>&1
check "compile ($(tail -1 "$RT_WORK/compile.txt"))" [ $? = 0 ]
MANIFEST=$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml 2>/dev/null | head -1)
[ -n "$MANIFEST" ] || { fail "no compiled manifest"; finish; exit 1; }


card_steps() { # the run card's step fields that must not depend on the adapter
  "$PY" -c '
import json, sys
c = json.load(open(sys.argv[1] + "/run_card.json"))
for s in c["steps"]:
    print(s["step_id"], s["status"], s["rows_in"], s["rows_out"], s["has_df_in_memory"], s["spill_used"])' "$1"
}

RT_CASE=reference
run_mode local OSIRIS_STREAM=0
check "unstreamed run exit 0 ($RT_OUT)" [ "$RT_RC" = 0 ]
cp out/out.csv "$RT_WORK/ref.csv" 2>/dev/null
check "reference output has every row" [ "$(($(wc -l <"$RT_WORK/ref.csv") - 1))" = "$ROWS" ]
check "reference input came from memory or spill, not a stream" \
  bash -c "! grep -q '\"source\":\"stream\"' '$RUN_DIR/events.jsonl'"

declare -A D=()
for mode in local sandbox e2b; do
  RT_CASE="stream/$mode"
  run_mode "$mode"
  D[$mode]=$RUN_DIR
  check "exit 0 ($RT_RC: $RT_OUT)" [ "$RT_RC" = 0 ]
  [ -n "$RUN_DIR" ] || { fail "no run directory"; continue; }
  check "output byte-identical to the unstreamed run" cmp -s "$RT_WORK/ref.csv" out/out.csv
  check "writer input resolved from the stream" \
    grep -q '"event":"inputs_resolved","step_id":"write","from_step":"extract","key":"df_extract","source":"stream"' \
    "$RUN_DIR/events.jsonl"
  check "rows_out streamed, every row" \
    grep -q "\"event\":\"rows_out\",\"step_id\":\"extract\",\"rows\":$ROWS,\"streamed\":true" "$RUN_DIR/events.jsonl"
  check "stream_complete with every row in several batches" "$PY" -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1] + "/events.jsonl")]
s = [x for x in e if x["event"] == "stream_complete"]
sys.exit(0 if len(s) == 1 and s[0]["rows"] == int(sys.argv[2]) and s[0]["batches"] >= 3 else 1)' \
    "$RUN_DIR" "$ROWS"
  check "nothing spilled" [ ! -e "$RUN_DIR/artifacts/extract/output.parquet" ]
  check "status ok" [ "$(status_field "$RUN_DIR" ok)" = true ]
  [ "$mode" = local ] && continue
  check "events equal local (events_equal)" events_equal "${D[local]}" "$RUN_DIR"
  check "run_card steps equal local [$(card_steps "$RUN_DIR" | tr '\n' ';')]" \
    [ "$(card_steps "${D[local]}")" = "$(card_steps "$RUN_DIR")" ]
  timeout 30 "$OSIRIS" runs diff "${D[local]}" "$RUN_DIR" >"$RT_WORK/diff.txt" 2>&1
  check "osiris runs diff local $mode: no difference ($(grep -v '^  ' "$RT_WORK/diff.txt" | head -1 | cut -c1-160))" [ $? = 0 ]
done

# The switch reaches the worker too: streaming off in every adapter alike.
declare -A O=()
for mode in local e2b; do
  RT_CASE="off/$mode"
  run_mode "$mode" OSIRIS_STREAM=0
  O[$mode]=$RUN_DIR
  check "exit 0 ($RT_RC: $RT_OUT)" [ "$RT_RC" = 0 ]
  [ -n "$RUN_DIR" ] || continue
  check "no stream" bash -c "! grep -q '\"source\":\"stream\"' '$RUN_DIR/events.jsonl'"
  check "output byte-identical to the unstreamed run" cmp -s "$RT_WORK/ref.csv" out/out.csv
done
RT_CASE=off/e2b
[ -n "${O[local]:-}" ] && [ -n "${O[e2b]:-}" ] &&
  check "events equal local (events_equal)" events_equal "${O[local]}" "${O[e2b]}"

RT_CASE=fake
check "every fake sandbox deleted" "$PY" -c '
import json, sys
s = json.loads(sys.stdin.read())
sys.exit(1 if s["live"] else 0)' < <(fake_get /_fake/state)

finish
