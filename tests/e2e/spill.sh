#!/usr/bin/env bash
# DataFrame lifecycle: forced and threshold spill give byte-identical
# outputs and the same events as in-memory runs (but for the source of
# each input and the spill artifacts); spilled frames are readable Parquet.
source "$(dirname "$0")/lib.sh"

# events without what spill legitimately changes, one line per event
events_digest() {
  py - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    name = e["event"]
    if name == "artifact_created" and e.get("artifact_type") in ("parquet", "schema"):
        continue
    for k in ("ts", "session", "session_id", "session_dir", "manifest_path", "duration_ms",
              "source", "from_memory", "from_spill"):
        e.pop(k, None)
    print(json.dumps(e, sort_keys=True))
PY
}

# expect_py MESSAGE FILE CODE: CODE sees d (FILE as JSON, or None) and path,
# and sets ok.
expect_py() {
  local r
  r=$(py - "$2" "$3" <<'PY' 2>&1
import csv, json, sys
path, code = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except Exception:
    d = None
env = {"d": d, "path": path, "csv": csv}
exec(code, env)
print("yes" if env.get("ok") else "no")
PY
)
  if [ "$r" = yes ]; then pass "$1"; else fail "$1: $r"; fi
}

new_case memory_vs_forced
copy_example
run_osiris compile examples/movies/pipeline.yaml
assert_exit 0 "compile"
run_osiris run --last-compile
assert_exit 0 "in-memory run"
MEM=$(newest_run_dir); cp examples/output/movies_by_decade.csv mem.csv
sleep 1
OSIRIS_FORCE_SPILL=1 run_osiris run --last-compile
assert_exit 0 "forced-spill run"
SP=$(newest_run_dir); cp examples/output/movies_by_decade.csv spill.csv
assert_files_equal mem.csv spill.csv "forced spill: output byte-identical"
for st in extract-movies movies-by-decade; do
  assert_file "$SP/artifacts/$st/output.parquet"
  assert_file "$SP/artifacts/$st/schema.json"
done
assert_no_file "$MEM/artifacts/extract-movies/output.parquet"
events_digest "$MEM/events.jsonl" > mem.events
events_digest "$SP/events.jsonl" > spill.events
assert_files_equal mem.events spill.events "forced spill: same events but for input sources and spill artifacts"
assert_contains "$SP/events.jsonl" '"source":"spill"'
assert_contains "$MEM/events.jsonl" '"source":"memory"'
assert_contains "$SP/events.jsonl" '"artifact_type":"parquet","path":"artifacts/extract-movies/output.parquet"'
expect_py "run_card spill fields" "$SP/run_card.json" '
s = {x["step_id"]: x for x in d["steps"]}
ok = (s["extract-movies"]["spill_used"] is True
      and s["extract-movies"]["spill_paths"] == ["artifacts/extract-movies/output.parquet"]
      and s["extract-movies"]["has_df_in_memory"] is False
      and s["write-summary"]["spill_used"] is False and s["extract-movies"]["rows_out"] == 40)'
expect_py "schema.json" "$SP/artifacts/extract-movies/schema.json" '
ok = d["rows"] == 40 and [c["name"] for c in d["columns"]][:2] == ["id", "title"] and d["columns"][0]["type"] == "int64"'
E2B_FORCE_SPILL=yes run_osiris run --last-compile
assert_exit 0 "E2B_FORCE_SPILL=yes is honoured too"
assert_file "$(newest_run_dir)/artifacts/extract-movies/output.parquet"

new_case threshold
copy_example
run_osiris compile examples/movies/pipeline.yaml
OSIRIS_SPILL_THRESHOLD=10 run_osiris run --last-compile
assert_exit 0 "threshold run"
T=$(newest_run_dir)
assert_file "$T/artifacts/extract-movies/output.parquet"
assert_no_file "$T/artifacts/movies-by-decade/output.parquet"
assert_contains "$T/events.jsonl" '"from_step":"extract-movies","key":"df_extract_movies","rows":40,"source":"spill"'
assert_contains "$T/events.jsonl" '"from_step":"movies-by-decade","key":"df_movies_by_decade","rows":8,"source":"memory"'

new_case parquet_components
copy_example
run_osiris compile examples/movies/pipeline.yaml
OSIRIS_FORCE_SPILL=1 run_osiris run --last-compile
SP=$(newest_run_dir)
cat > roundtrip.yaml <<YAML
oml_version: "0.1.0"
name: parquet roundtrip
steps:
  - id: read-spill
    component: filesystem.parquet_extractor
    mode: read
    config:
      path: $SP/artifacts/extract-movies/output.parquet
  - id: write-parquet
    component: filesystem.parquet_writer
    mode: write
    needs: [read-spill]
    config:
      path: out/movies.parquet
  - id: read-again
    component: filesystem.parquet_extractor
    mode: read
    needs: [write-parquet]
    config:
      path: out/movies.parquet
      columns: [title, id]
      limit: 5
  - id: to-csv
    component: filesystem.csv_writer
    mode: write
    needs: [read-again]
    config:
      path: out/first5.csv
YAML
run_osiris run roundtrip.yaml
assert_exit 0 "parquet extractor/writer pipeline"
assert_file out/movies.parquet
expect_py "first five rows, projected" out/first5.csv '
rows = list(csv.reader(open(path)))
src = list(csv.DictReader(open("examples/movies/data/movies.csv")))
ok = rows[0] == ["title", "id"] and len(rows) == 6 and all(rows[i+1] == [src[i]["title"], src[i]["id"]] for i in range(5))'
printf 'not a parquet file' > bad.parquet
cat > bad.yaml <<YAML
oml_version: "0.1.0"
name: bad parquet
steps:
  - id: read-bad
    component: filesystem.parquet_extractor
    mode: read
    config:
      path: bad.parquet
YAML
run_osiris run bad.yaml
assert_exit 1 "a malformed Parquet file fails the step"
assert_contains "$ERR" "bad.parquet"

finish
