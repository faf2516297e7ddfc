#!/usr/bin/env bash
# The movies example end to end: exit code, status.json, events.jsonl,
# metrics.jsonl, run_card.json, artifacts, and the output CSV compared byte
# for byte with a result computed independently (python3 sqlite3 + csv).
. "$(dirname "$0")/lib.sh"

# expected_csv MIN_RATING OUT: the summary computed without osiris.
expected_csv() {
  py - "$1" "$2" <<'PY'
import csv, sqlite3, sys
min_rating, out = float(sys.argv[1]), sys.argv[2]
with open("examples/movies/data/movies.csv", encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE m (year INTEGER, rating REAL)")
db.executemany("INSERT INTO m VALUES (?, ?)",
               [(int(r["year"]), float(r["rating"])) for r in rows])
res = db.execute(
    "SELECT (year / 10) * 10, COUNT(*), ROUND(AVG(rating), 2) FROM m "
    "WHERE rating >= ? GROUP BY 1 ORDER BY 1", (min_rating,)).fetchall()
with open(out, "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["decade", "movies", "avg_rating"])
    for decade, n, avg in res:
        w.writerow([decade, n, repr(avg)])
PY
}

# ---------------------------------------------------------------- main run
new_case example
copy_example
run_osiris run examples/movies/pipeline.yaml
assert_exit 0 "run of the example"
RUN=$(newest_run_dir)
if [ -z "$RUN" ]; then fail "no logs/run_*/ directory"; finish; fi
SID=${RUN##*/run_}

assert_matches "$OUT" "^✓ run $SID succeeded: 3/3 steps, [0-9]+ rows written, [0-9]+ ms" "success line on stdout"
assert_contains "$OUT" "logs: logs/run_$SID/"
assert_contains "$OUT" "3/3 steps, 8 rows written," "success line counts the 8 rows the writer wrote"
if [[ $SID =~ ^[0-9]{8}_[0-9]{6}_[0-9a-f]{8}$ ]]; then pass "session id format"; else fail "session id format: $SID"; fi

for f in events.jsonl metrics.jsonl osiris.log status.json run_card.json manifest.yaml \
         cfg/extract-movies.json cfg/movies-by-decade.json cfg/write-summary.json \
         artifacts/extract-movies/cleaned_config.json \
         artifacts/movies-by-decade/cleaned_config.json \
         artifacts/write-summary/cleaned_config.json; do
  assert_file "$RUN/$f"
done
assert_no_file "$RUN/debug.log"

# status.json
S=$RUN/status.json
assert_eq true "$(json_get "$S" 'd["ok"]')" "status.ok"
assert_eq 0 "$(json_get "$S" 'd["exit_code"]')" "status.exit_code"
assert_eq 3 "$(json_get "$S" 'd["steps_completed"]')" "status.steps_completed"
assert_eq 3 "$(json_get "$S" 'd["steps_total"]')" "status.steps_total"
assert_eq "$SID" "$(json_get "$S" 'd["session_id"]')" "status.session_id"
assert_eq local "$(json_get "$S" 'd["adapter"]')" "status.adapter"
assert_eq local "$(json_get "$S" 'd["sandbox_id"]')" "status.sandbox_id"
assert_eq "" "$(json_get "$S" 'd["reason"]')" "status.reason"
assert_eq null "$(json_get "$S" 'd["error"]')" "status.error"
assert_eq true "$(json_get "$S" 'd["events_jsonl_exists"]')" "status.events_jsonl_exists"
assert_eq int "$(json_get "$S" 'type(d["duration_ms"]).__name__')" "status.duration_ms is an integer"

# events.jsonl
py_check '
import json, re, sys, hashlib, os
run, sid = sys.argv[1], sys.argv[2]
def ok(c, m): print(("ok " if c else "not ok ") + m)
lines = open(os.path.join(run, "events.jsonl"), encoding="utf-8").read().splitlines()
evs = []
for i, l in enumerate(lines, 1):
    try:
        evs.append(json.loads(l))
    except Exception as e:
        ok(False, "events.jsonl line %d parses: %s" % (i, e))
ok(len(evs) == len(lines) and len(evs) > 0, "every events line parses (%d)" % len(evs))
ok(all(list(e)[:3] == ["ts", "session", "event"] for e in evs), "ts, session, event are the first three keys")
tsre = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
bad = [e["ts"] for e in evs if not tsre.match(str(e.get("ts")))]
ok(not bad, "ts format YYYY-MM-DDTHH:MM:SS.ffffff+00:00 %s" % bad[:2])
ok(all(e.get("session") == sid for e in evs), "session equals the session id")
ok(all(l == json.dumps(json.loads(l), ensure_ascii=False, separators=(",", ":")) for l in lines),
   "lines are compact JSON")
ts = [e["ts"] for e in evs]
ok(ts == sorted(ts), "ts never goes backwards")
names = [e["event"] for e in evs]
def by(n): return [e for e in evs if e["event"] == n]
ok(names[:1] == ["run_start"], "run_start first")
ok(names[-1:] == ["run_complete"], "run_complete last")
rs = by("run_start")
ok(len(rs) == 1 and rs[0].get("session_id") == sid and rs[0].get("adapter") == "local"
   and rs[0].get("pipeline_id") == "movies_by_decade", "run_start fields %s" % rs[:1])
ids = ["extract-movies", "movies-by-decade", "write-summary"]
drv = {"extract-movies": "filesystem.csv_extractor", "movies-by-decade": "duckdb.processor",
       "write-summary": "filesystem.csv_writer"}
ss = by("step_start")
ok([e.get("step_id") for e in ss] == ids, "step_start x3 in topological order")
ok(all(e.get("driver") == drv[e.get("step_id")] for e in ss), "step_start drivers")
sc = by("step_complete")
ok([e.get("step_id") for e in sc] == ids, "step_complete x3")
ok(all(isinstance(e.get("rows_processed"), int) for e in sc), "step_complete rows_processed are integers")
rp = {e.get("step_id"): e.get("rows_processed") for e in sc}
ok(rp.get("extract-movies") == 40, "extract-movies rows_processed 40 (got %s)" % rp.get("extract-movies"))
ok(rp.get("movies-by-decade") == 8, "movies-by-decade rows_processed 8 (got %s)" % rp.get("movies-by-decade"))
ok(all(isinstance(e.get("duration_ms"), (int, float)) for e in sc), "step_complete duration_ms")
order_ok = True
for s in ids:
    a = [i for i, e in enumerate(evs) if e["event"] == "step_start" and e.get("step_id") == s]
    b = [i for i, e in enumerate(evs) if e["event"] == "step_complete" and e.get("step_id") == s]
    order_ok = order_ok and a and b and a[0] < b[0]
ok(order_ok, "each step_start precedes its step_complete")
ir = by("inputs_resolved")
ok(any(e.get("key") == "df_extract_movies" and e.get("step_id") == "movies-by-decade"
       and e.get("from_step") == "extract-movies" and e.get("rows") == 40 for e in ir),
   "inputs_resolved key df_extract_movies rows 40: %s" % ir[:1])
ok(any(e.get("key") == "df_movies_by_decade" and e.get("step_id") == "write-summary" for e in ir),
   "inputs_resolved key df_movies_by_decade for write-summary")
cm = by("cfg_materialized")
ok(sorted(e.get("step_id", "") for e in cm) == sorted(ids), "cfg_materialized x3")
for e in cm:
    h = str(e.get("sha256"))
    ok(re.fullmatch(r"[0-9a-f]{64}", h) is not None, "cfg_materialized %s sha256 is 64 hex" % e.get("step_id"))
    p = os.path.join(run, str(e.get("path")))
    if os.path.isfile(p):
        data = open(p, "rb").read()
        ok(hashlib.sha256(data).hexdigest() == h, "cfg_materialized %s sha256 matches the file" % e.get("step_id"))
        ok(e.get("size_bytes") == len(data), "cfg_materialized %s size_bytes matches" % e.get("step_id"))
    else:
        ok(False, "cfg_materialized path exists: %s" % e.get("path"))
mm = by("manifest_materialized")
ok(len(mm) == 1 and re.fullmatch(r"[0-9a-f]{64}", str(mm[0].get("sha256"))) is not None,
   "manifest_materialized with sha256")
dr = by("drivers_registered")
ok(len(dr) == 1 and dr[0].get("drivers") == sorted(drv.values()) and dr[0].get("count") == 3,
   "drivers_registered lists the 3 drivers sorted")
ok(len(by("driver_registered")) == 3, "driver_registered x3")
ow = by("output_written")
ok(any(e.get("step_id") == "write-summary" and e.get("rows") == 8 for e in ow), "output_written rows 8")
ro = {e.get("step_id"): e.get("rows") for e in by("rows_out")}
ok(ro.get("extract-movies") == 40 and ro.get("movies-by-decade") == 8, "rows_out events %s" % ro)
ok(len(by("artifact_created")) >= 3, "artifact_created for cleaned configs")
ok(len(by("cleanup_start")) == 1, "cleanup_start")
cc = by("cleanup_complete")
ok(len(cc) == 1 and cc[0].get("steps_executed") == 3, "cleanup_complete steps_executed 3")
rc = by("run_complete")
ok(len(rc) == 1 and rc[0].get("status") == "success" and rc[0].get("steps_completed") == 3
   and rc[0].get("steps_total") == 3, "run_complete success 3/3")
ok(not by("step_failed") and not by("step_skipped"), "no step_failed / step_skipped")
' "$RUN" "$SID"

# metrics.jsonl
py_check '
import json, sys, os
run, sid = sys.argv[1], sys.argv[2]
def ok(c, m): print(("ok " if c else "not ok ") + m)
ms = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"), encoding="utf-8") if l.strip()]
ok(all(list(m)[:4] == ["ts", "session", "metric", "value"] for m in ms), "metric keys ts, session, metric, value first")
ok(all(m.get("session") == sid for m in ms), "metric session equals the session id")
def find(name, step=None):
    return [m for m in ms if m["metric"] == name and (step is None or (m.get("tags") or {}).get("step_id") == step)]
rr = find("rows_read", "extract-movies")
ok(len(rr) >= 1 and rr[0]["value"] == 40, "rows_read{step_id=extract-movies} = 40 (got %s)" % [m["value"] for m in rr])
rw = find("rows_written", "write-summary")
ok(len(rw) >= 1 and rw[0]["value"] == 8, "rows_written{step_id=write-summary} = 8")
for s in ["extract-movies", "movies-by-decade", "write-summary"]:
    d = find("step_duration_ms", s)
    ok(len(d) == 1 and d[0].get("unit") == "ms" and d[0]["value"] >= 0, "step_duration_ms %s in ms" % s)
    mu = find("memory_usage_mb", s)
    ok(len(mu) == 1 and mu[0].get("unit") == "MB" and mu[0]["value"] > 0, "memory_usage_mb %s in MB" % s)
for name, unit in [("execution_duration", "seconds"), ("session_duration_seconds", "seconds"),
                   ("steps_total", "steps"), ("steps_completed", "steps")]:
    f = find(name)
    ok(len(f) == 1 and f[0].get("unit") == unit, "%s once, unit %s" % (name, unit))
st = find("steps_completed")
ok(st and st[0]["value"] == 3, "steps_completed = 3")
' "$RUN" "$SID"

# run_card.json
py_check '
import json, sys, os
run, sid = sys.argv[1], sys.argv[2]
def ok(c, m): print(("ok " if c else "not ok ") + m)
rc = json.load(open(os.path.join(run, "run_card.json"), encoding="utf-8"))
ok(rc.get("session_id") == sid and rc.get("status") == "success" and rc.get("adapter") == "local",
   "run_card session_id/status/adapter")
ok(rc.get("pipeline_id") == "movies_by_decade", "run_card pipeline_id movies_by_decade (got %s)" % rc.get("pipeline_id"))
st = rc.get("steps") or []
ok([s.get("step_id") for s in st] == ["extract-movies", "movies-by-decade", "write-summary"], "run_card steps")
ok(all(s.get("status") == "success" for s in st), "run_card steps all success")
ro = {s.get("step_id"): s.get("rows_out") for s in st}
ri = {s.get("step_id"): s.get("rows_in") for s in st}
ok(ro.get("extract-movies") == 40 and ro.get("movies-by-decade") == 8, "run_card rows_out %s" % ro)
ok(ri.get("movies-by-decade") == 40 and ri.get("write-summary") == 8, "run_card rows_in %s" % ri)
ok(all(s.get("spill_used") is False for s in st), "spill_used false")
ok(all("artifacts/%s/cleaned_config.json" % s.get("step_id") in (s.get("artifacts") or []) for s in st),
   "run_card artifacts list the cleaned configs")
' "$RUN" "$SID"

# cleaned config: meta keys stripped
py_check '
import json, sys, os
run = sys.argv[1]
def ok(c, m): print(("ok " if c else "not ok ") + m)
for s in ["extract-movies", "movies-by-decade", "write-summary"]:
    c = json.load(open(os.path.join(run, "artifacts", s, "cleaned_config.json"), encoding="utf-8"))
    ok("component" not in c and "connection" not in c, "%s cleaned_config has no component/connection" % s)
c = json.load(open(os.path.join(run, "artifacts", "extract-movies", "cleaned_config.json"), encoding="utf-8"))
ok(c.get("path") == "examples/movies/data/movies.csv", "extract cleaned_config path")
q = json.load(open(os.path.join(run, "cfg", "movies-by-decade.json"), encoding="utf-8")).get("query", "")
ok("${params" not in q and "rating >= 6" in q, "params resolved in the compiled query")
' "$RUN"

# the output CSV, exactly
assert_file examples/output/movies_by_decade.csv
expected_csv 6.0 expected.csv
assert_files_equal expected.csv examples/output/movies_by_decade.csv "output CSV equals the independent result"

# ------------------------------------------------------ params precedence
# defaults < OSIRIS_PARAM_X < profile < --param
new_case params
copy_example
RC=0
OSIRIS_PARAM_MIN_RATING=8.5 timeout 60 "$OSIRIS" run examples/movies/pipeline.yaml >out.env 2>err.env || RC=$?
assert_eq 0 "$RC" "run with OSIRIS_PARAM_MIN_RATING"
expected_csv 8.5 expected.csv
assert_files_equal expected.csv examples/output/movies_by_decade.csv "env param overrides the default"

RC=0
OSIRIS_PARAM_MIN_RATING=8.5 timeout 60 "$OSIRIS" run examples/movies/pipeline.yaml --profile strict >out.p 2>err.p || RC=$?
assert_eq 0 "$RC" "run with --profile strict"
expected_csv 8.0 expected.csv
assert_files_equal expected.csv examples/output/movies_by_decade.csv "profile overrides the env param"

RC=0
OSIRIS_PARAM_MIN_RATING=8.5 timeout 60 "$OSIRIS" run examples/movies/pipeline.yaml --profile strict --param min_rating=7.5 >out.c 2>err.c || RC=$?
assert_eq 0 "$RC" "run with --param"
expected_csv 7.5 expected.csv
assert_files_equal expected.csv examples/output/movies_by_decade.csv "--param overrides the profile"

# ------------------------------------------------------ --verbose, --json
new_case verbose_json
copy_example
run_osiris run examples/movies/pipeline.yaml --verbose --json
assert_exit 0 "run --verbose --json"
RUN=$(newest_run_dir)
assert_file "$RUN/debug.log"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
try:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
except Exception as e:
    ok(False, "run --json stdout is one JSON object: %s" % e); sys.exit(0)
ok(d.get("status") == "success" and d.get("exit_code") == 0, "--json status success, exit_code 0")
ok(d.get("steps_completed") == 3 and d.get("steps_total") == 3, "--json steps 3/3")
ok(d.get("error") is None and d.get("failed_step") is None, "--json error/failed_step null")
ok(sys.argv[2].endswith(d.get("session_id", "?")) and d.get("session_dir", "").rstrip("/").endswith("run_" + d.get("session_id", "?")),
   "--json session_id/session_dir")
ok(isinstance(d.get("duration_ms"), int), "--json duration_ms integer")
' "$OUT" "$RUN"
expected_csv 6.0 expected.csv
assert_files_equal expected.csv examples/output/movies_by_decade.csv "output CSV with --verbose"

finish
