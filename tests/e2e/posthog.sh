#!/usr/bin/env bash
# tests/e2e/posthog.sh -- posthog.extractor against the fake PostHog query
# API (tests/fake_posthog/server.mjs, Node built-ins only): the four data
# types, region base URLs, paging, event_types, initial_since, incremental
# runs from a saved state with the lookback window and dedup by key, 429/5xx
# retried, a bad key and an unknown project failing with clear messages,
# the key ranges, and no file of any run holding the API key.
# The same pipelines under --sandbox local: tests/remote/posthog.sh.
. "$(dirname "$0")/lib.sh"
. "$E2E_ROOT/tests/fake_posthog/lib.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  fail "node and curl are needed for the fake PostHog"
  finish
fi

KEY=phx_e2e_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
BAD_KEY=phx_wrong_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
export PH_TEST_KEY=$KEY PH_TEST_BAD_KEY=$BAD_KEY
ph_gen_data "$E2E_WORK/data.json"
ph_start "$E2E_WORK/data.json" "$KEY" || { fail "fake PostHog did not start"; finish; }
trap 'ph_stop; [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"' EXIT

# pipeline FILE [CONNECTION]: the extract step (its config lines on stdin,
# 6-space indented) writing out.csv.
pipeline() {
  {
    printf 'oml_version: "0.1.0"\nname: posthog-e2e\nsteps:\n  - id: ev\n    component: posthog.extractor\n'
    printf '    mode: read\n    config:\n      connection: "@posthog.%s"\n' "${2:-self}"
    cat
    printf '  - id: out\n    component: filesystem.csv_writer\n    mode: write\n    inputs: {df: ev}\n'
    printf '    config:\n      path: out.csv\n'
  } >"$1"
}

# metric NAME: the value of the ev step's metric in the newest run.
metric() {
  py - "$(newest_run_dir)/metrics.jsonl" "$1" <<'PY'
import json, sys
v = [json.loads(l)["value"] for l in open(sys.argv[1]) if json.loads(l)["metric"] == sys.argv[2]
     and json.loads(l).get("tags", {}).get("step_id") == "ev"]
print(int(v[-1]) if v else "none")
PY
}

# csv_rows [FILE]: data rows of a CSV file.
csv_rows() {
  py -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=""))) - 1)' "${1:-out.csv}"
}

# queries: the HogQL text of every query the fake answered since the last reset, one a line.
queries() {
  ph_knob log | py -c 'import json,sys; [print(r["query"]) for r in json.load(sys.stdin)["requests"] if r.get("query")]'
}

case_setup() {
  new_case "$1" || return 1
  ph_connections osiris_connections.yaml
  ph_knob reset >/dev/null
}

# ------------------------------------------------------------ events, paging
case_setup events_paged
pipeline p.yaml <<'EOF'
      data_type: events
      initial_since: "2024-01-01T00:00:00Z"
      page_size: 100
EOF
run_osiris run p.yaml
assert_exit 0 "events: run succeeds"
# 250 events + 2 probes + 1 duplicate in the table: the duplicate is dropped.
assert_eq 252 "$(csv_rows)" "events: every event once"
assert_eq 253 "$(metric rows_read)" "events: rows_read counts rows received"
assert_eq 1 "$(metric rows_deduplicated)" "events: the duplicate uuid dropped"
assert_eq 3 "$(metric pages_fetched)" "events: page_size 100 -> 3 pages"
assert_eq 3 "$(metric requests_made)" "events: one request a page"
assert_eq "uuid,event,timestamp,distinct_id,person_id,properties" "$(head -n 1 out.csv)" "events: columns"
# Timestamps typed (CSV shows a timestamp as ISO without the API's offset),
# properties kept as JSON text.
assert_contains out.csv '00000000-0000-4000-8000-000000000001,signup,2024-01-01T00:00:20,user-1,'
py_check '
import csv, json, sys
rows = list(csv.DictReader(open("out.csv", newline="")))
p = json.loads(rows[1]["properties"])
print(("ok" if p == {"i": 1, "$current_url": "https://example.com/p/1", "quote": "it\x27s"} else "not ok"), "events: properties JSON text", p)
ts = [r["timestamp"] for r in rows]
print(("ok" if ts == sorted(ts) else "not ok"), "events: in time order")
print(("ok" if len({r["uuid"] for r in rows}) == len(rows) else "not ok"), "events: uuids unique")
'
queries >q.txt
assert_eq 3 "$(grep -c 'LIMIT 100$' q.txt)" "events: every query has LIMIT page_size"
assert_contains q.txt "SELECT uuid, event, timestamp, distinct_id, person_id, properties FROM events WHERE timestamp >= toDateTime('2024-01-01T00:00:00.000000Z') AND timestamp < toDateTime("
assert_contains q.txt "ORDER BY timestamp ASC, uuid ASC LIMIT 100"
# Page 2 continues after the last row of page 1 (row 100 of the table is event 98).
assert_contains q.txt "AND (timestamp > toDateTime('2024-01-01T00:32:40.000000Z') OR (timestamp = toDateTime('2024-01-01T00:32:40.000000Z') AND uuid > '00000000-0000-4000-8000-000000000098'))"
assert_eq 0 "$(ph_knob log | py -c 'import json,sys; print(sum(r["auth"] != "ok" for r in json.load(sys.stdin)["requests"]))')" \
  "events: every request authenticated with Bearer"
assert_contains "$(newest_run_dir)/osiris.log" "at $PH_URL/api/projects/4242/query/"

# page_size default 1000: one page.
case_setup events_default_page
pipeline p.yaml <<'EOF'
      data_type: events
      initial_since: "2024-01-01T00:00:00Z"
EOF
run_osiris run p.yaml
assert_exit 0 "default page size: run succeeds"
assert_eq 1 "$(metric pages_fetched)" "default page_size 1000: one page"
assert_eq 252 "$(csv_rows)" "default page_size: same rows"

# deduplication_enabled: false keeps the duplicate.
case_setup events_no_dedup
pipeline p.yaml <<'EOF'
      data_type: events
      initial_since: "2024-01-01T00:00:00Z"
      deduplication_enabled: false
EOF
run_osiris run p.yaml
assert_exit 0 "no dedup: run succeeds"
assert_eq 253 "$(csv_rows)" "deduplication_enabled false: the duplicate stays"
assert_eq 0 "$(metric rows_deduplicated)" "no dedup: nothing dropped"

# event_types filter.
case_setup event_types
pipeline p.yaml <<'EOF'
      data_type: events
      initial_since: "2024-01-01T00:00:00Z"
      event_types: [signup, purchase]
EOF
run_osiris run p.yaml
assert_exit 0 "event_types: run succeeds"
assert_eq 166 "$(csv_rows)" "event_types: 83 signups + 83 purchases"
assert_eq 0 "$(py -c 'import csv; print(sum(r["event"] not in ("signup","purchase") for r in csv.DictReader(open("out.csv"))))')" \
  "event_types: no other event"
queries >q.txt
assert_contains q.txt "AND event IN ('signup', 'purchase')"

# initial_since: default 30 days ago, else as given.
case_setup initial_since
pipeline p.yaml <<'EOF'
      data_type: events
      event_types: [probe]
EOF
run_osiris run p.yaml
assert_exit 0 "initial_since default: run succeeds"
assert_eq "90000000-0000-4000-8000-000000000001" "$(py -c 'import csv; print(" ".join(r["uuid"] for r in csv.DictReader(open("out.csv"))))')" \
  "initial_since absent: only the probe of the last 30 days"
pipeline p2.yaml <<'EOF'
      data_type: events
      event_types: [probe]
      initial_since: "2020-01-01"
EOF
run_osiris run p2.yaml
assert_exit 0 "initial_since given: run succeeds"
assert_eq 2 "$(csv_rows)" "initial_since 2020-01-01: both probes"

# ------------------------------------------------------------ other data types
case_setup persons
pipeline p.yaml <<'EOF'
      data_type: persons
      initial_since: "2024-01-01T00:00:00Z"
      page_size: 100
EOF
run_osiris run p.yaml
assert_exit 0 "persons: run succeeds"
assert_eq 120 "$(csv_rows)" "persons: every person"
assert_eq 2 "$(metric pages_fetched)" "persons: 2 pages of 100"
assert_eq "id,created_at,properties,is_identified" "$(head -n 1 out.csv)" "persons: columns"
assert_contains out.csv '20000000-0000-4000-8000-000000000001,2024-01-01T00:01:00,"{""email"":""u1@example.com""}",false'
queries >q.txt
assert_contains q.txt "FROM persons WHERE created_at >= toDateTime('2024-01-01T00:00:00.000000Z')"
assert_contains q.txt "ORDER BY created_at ASC, id ASC LIMIT 100"

case_setup sessions
cat >p.yaml <<'EOF'
oml_version: "0.1.0"
name: posthog-sessions
steps:
  - id: ev
    component: posthog.extractor
    mode: read
    config:
      connection: "@posthog.self"
      data_type: sessions
      initial_since: "2024-01-01T00:00:00Z"
  - id: types
    component: sql.processor
    mode: transform
    inputs: {df: ev}
    config:
      query: >-
        SELECT session_id, typeof("$session_duration") AS t_duration, typeof("$is_bounce") AS t_bounce,
        "$is_bounce" AS bounce, typeof("$entry_current_url") AS t_url, "$start_timestamp" AS started
        FROM df_ev ORDER BY session_id
  - id: out
    component: filesystem.csv_writer
    mode: write
    inputs: {df: types}
    config:
      path: out.csv
EOF
run_osiris run p.yaml
assert_exit 0 "sessions: run succeeds"
assert_eq 5 "$(csv_rows)" "sessions: every session"
queries >q.txt
assert_contains q.txt "SELECT * FROM sessions WHERE \$start_timestamp >= toDateTime('2024-01-01T00:00:00.000000Z')"
# Typed from the response's types: Int64 -> int64 (SQLite integer), Bool ->
# bool (shown true/false), NULL kept, DateTime64 -> timestamp (shown without
# the API's "+00:00").
assert_contains out.csv "01900000-0000-7000-8000-000000000000,integer,integer,true,text,2024-01-01T00:00:00"
assert_contains out.csv "01900002-0000-7000-8000-000000000000,integer,integer,false,null,2024-01-01T02:00:00"

case_setup person_distinct_ids
pipeline p.yaml <<'EOF'
      data_type: person_distinct_ids
      page_size: 100
EOF
run_osiris run p.yaml
assert_exit 0 "person_distinct_ids: run succeeds"
assert_eq 130 "$(csv_rows)" "person_distinct_ids: every row"
assert_eq 2 "$(metric pages_fetched)" "person_distinct_ids: 2 pages"
assert_eq "distinct_id,person_id" "$(head -n 1 out.csv)" "person_distinct_ids: columns"
queries >q.txt
assert_contains q.txt "SELECT distinct_id, person_id FROM person_distinct_ids ORDER BY distinct_id ASC LIMIT 100"
assert_contains q.txt "WHERE distinct_id > 'd-0099' ORDER BY distinct_id ASC LIMIT 100"

# project_id written unquoted in the connection file: its text is used.
case_setup numeric_project_id
pipeline p.yaml numeric <<'EOF'
      data_type: person_distinct_ids
EOF
run_osiris run p.yaml
assert_exit 0 "project_id 4242 unquoted: run succeeds"
assert_eq 130 "$(csv_rows)" "project_id 4242 unquoted: every row"

# ------------------------------------------------------------ incremental
case_setup incremental
pipeline p1.yaml <<'EOF'
      data_type: events
      event_types: [pageview, signup, purchase]
      initial_since: "2024-01-01T00:00:00Z"
      state_file: state/ph.json
EOF
run_osiris run p1.yaml
assert_exit 0 "incremental: first run (state file missing yet) succeeds"
assert_eq 250 "$(csv_rows)" "incremental: first run reads everything"
RUN1=$(newest_run_dir)
assert_contains "$RUN1/events.jsonl" '"event":"state_missing"'
assert_file "$RUN1/artifacts/ev/state.json"
assert_eq "2024-01-01T01:23:00.000000Z" "$(json_get "$RUN1/artifacts/ev/state.json" 'd["last_timestamp"]')" \
  "incremental: state keeps the last time"
# Keys of the last 60 minutes (the largest window; events 69..249) kept for the next run.
assert_eq 181 "$(json_get "$RUN1/artifacts/ev/state.json" 'len(d["recent"])')" "incremental: state keeps the window's keys"
assert_contains "$RUN1/events.jsonl" '"artifact_type":"state"'
mkdir -p state && cp "$RUN1/artifacts/ev/state.json" state/ph.json
# New data: 3 events after the last one, and one that arrived late, 5 min before it.
ph_knob data '{"table":"events","append":true,"rows":[
 {"uuid":"30000000-0000-4000-8000-000000000001","event":"signup","timestamp":"2024-01-01T01:24:00Z","distinct_id":"n","person_id":null,"properties":{}},
 {"uuid":"30000000-0000-4000-8000-000000000002","event":"signup","timestamp":"2024-01-01T01:25:00Z","distinct_id":"n","person_id":null,"properties":{}},
 {"uuid":"30000000-0000-4000-8000-000000000003","event":"purchase","timestamp":"2024-01-01T01:26:00Z","distinct_id":"n","person_id":null,"properties":{}},
 {"uuid":"30000000-0000-4000-8000-000000000004","event":"pageview","timestamp":"2024-01-01T01:18:00Z","distinct_id":"late","person_id":null,"properties":{}}]}' >/dev/null
ph_knob reset >/dev/null
run_osiris run p1.yaml
assert_exit 0 "incremental: second run succeeds"
assert_eq 4 "$(csv_rows)" "incremental: only the 4 new events"
assert_eq 50 "$(metric rows_read)" "incremental: the 15-minute window read again (46) + 4 new"
assert_eq 46 "$(metric rows_deduplicated)" "incremental: the overlap dropped by uuid"
assert_contains out.csv "30000000-0000-4000-8000-000000000004,pageview,2024-01-01T01:18:00,late"
queries >q.txt
assert_contains q.txt "WHERE timestamp >= toDateTime('2024-01-01T01:08:00.000000Z')" \
  "incremental: since = last time - lookback_window_minutes 15"
RUN2=$(newest_run_dir)
cp "$RUN2/artifacts/ev/state.json" state/ph.json
# A third run with nothing new: the keys carried forward drop everything.
run_osiris run p1.yaml
assert_exit 0 "incremental: third run succeeds"
assert_eq 0 "$(csv_rows)" "incremental: nothing new"
assert_eq 41 "$(metric rows_deduplicated)" "incremental: the window's rows of both runs recognised"
# lookback_window_minutes 30 from the second run's starting state reads further back.
cp "$RUN1/artifacts/ev/state.json" state/ph.json
sed 's/      state_file: state\/ph.json/      state_file: state\/ph.json\n      lookback_window_minutes: 30/' p1.yaml >p30.yaml
ph_knob reset >/dev/null
run_osiris run p30.yaml
assert_exit 0 "lookback 30: run succeeds"
assert_eq 4 "$(csv_rows)" "lookback 30: still only the 4 new events"
assert_eq 95 "$(metric rows_read)" "lookback 30: 91 rows read again + 4 new"
queries >q.txt
assert_contains q.txt "WHERE timestamp >= toDateTime('2024-01-01T00:53:00.000000Z')"
# Without dedup the window's rows come again.
sed 's/      state_file: state\/ph.json/      state_file: state\/ph.json\n      deduplication_enabled: false/' p1.yaml >pnd.yaml
run_osiris run pnd.yaml
assert_exit 0 "incremental without dedup: run succeeds"
assert_eq 50 "$(csv_rows)" "incremental without dedup: the overlap is duplicated"
# A state of another data type is refused.
pipeline pp.yaml <<'EOF'
      data_type: persons
      state_file: state/ph.json
EOF
run_osiris run pp.yaml
assert_exit 1 "state of another data type: run fails"
assert_contains "$(newest_run_dir)/status.json" "holds the state of data_type events, this step reads persons"
# The read streamed into its consumer: the extractor in a thread of its own,
# rows handed over in batches while later pages are fetched
# (osiris_step_flush).  1200 events of ~8 KB make batches of ~4 MB.
case_setup events_streamed
py - big.json <<'PY'
import json, sys
rows = [{"uuid": "40000000-0000-4000-8000-%012d" % i, "event": "big", "timestamp": "2024-02-01T00:%02d:%02d.000000Z" % (i // 60 % 60, i % 60),
         "distinct_id": "b", "person_id": None, "properties": {"pad": "x" * 8000, "i": i}} for i in range(1200)]
json.dump({"table": "events", "append": False, "rows": rows}, open(sys.argv[1], "w"))
PY
curl -sS --noproxy '*' -X POST -H 'Content-Type: application/json' --data-binary @big.json "$PH_URL/__fake/data" >/dev/null
pipeline p.yaml <<'EOF'
      data_type: events
      initial_since: "2024-01-01T00:00:00Z"
      page_size: 500
EOF
sed -i 's/    inputs: {df: ev}/    needs: [ev]\n    inputs: {df: ev}/' p.yaml
run_osiris run p.yaml
assert_exit 0 "streamed: run succeeds"
assert_eq 1200 "$(csv_rows)" "streamed: every event once"
assert_eq 3 "$(metric pages_fetched)" "streamed: 3 pages of 500"
assert_contains "$(newest_run_dir)/events.jsonl" '"event":"rows_out","step_id":"ev","rows":1200,"streamed":true'
assert_matches "$(newest_run_dir)/events.jsonl" '"event":"stream_complete","step_id":"out","from_step":"ev","key":"df_ev","rows":1200,"batches":([2-9]|[1-9][0-9])'

# The data set as generated again for the cases below.
ph_stop
ph_start "$E2E_WORK/data.json" "$KEY" || fail "fake PostHog did not restart"

# ------------------------------------------------------------ retries
case_setup retry_429
ph_knob fail '{"nth":1,"status":429,"retry_after":0}' >/dev/null
ph_knob fail '{"nth":3,"status":503}' >/dev/null
pipeline p.yaml <<'EOF'
      data_type: persons
      initial_since: "2024-01-01T00:00:00Z"
      page_size: 100
EOF
run_osiris run p.yaml
assert_exit 0 "429 then success: run succeeds"
assert_eq 120 "$(csv_rows)" "429/503 retried: every person"
assert_eq 2 "$(metric pages_fetched)" "retries: 2 pages"
assert_eq 4 "$(metric requests_made)" "retries: requests_made counts the retried requests"
assert_eq 2 "$(grep -c '"event":"http_retry"' "$(newest_run_dir)/events.jsonl")" "retries: one http_retry event each"
assert_contains "$(newest_run_dir)/events.jsonl" '"http_status":429'
assert_contains "$(newest_run_dir)/events.jsonl" '"http_status":503'

# ------------------------------------------------------------ failures
case_setup bad_key
pipeline p.yaml bad <<'EOF'
      data_type: events
EOF
run_osiris run p.yaml
assert_exit 1 "bad key: run fails"
assert_contains "$ERR" "PostHog rejected the API key (HTTP 401: Personal API key found in request Authorization header is invalid.)"
assert_contains "$(newest_run_dir)/status.json" "check api_key"
assert_eq 1 "$(ph_knob log | py -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')" "bad key: a 401 is not retried"

case_setup unknown_project
pipeline p.yaml noproject <<'EOF'
      data_type: persons
EOF
run_osiris run p.yaml
assert_exit 1 "unknown project: run fails"
assert_contains "$ERR" "PostHog has no project 999 at $PH_URL/api/projects/999/query/ (HTTP 404"

case_setup custom_url_conflict
pipeline p.yaml us <<'EOF'
      data_type: persons
      custom_base_url: http://127.0.0.1:1
EOF
run_osiris run p.yaml
assert_exit 1 "custom_base_url with region us: run fails"
assert_contains "$ERR" "config.custom_base_url is used with region self_hosted only"

case_setup ranges
for kv in "page_size: 99" "page_size: 10001" "lookback_window_minutes: 4" "lookback_window_minutes: 61" \
  "data_type: cohorts" "region: mars" "event_types: signup"; do
  if [ "${kv%%:*}" = data_type ]; then
    printf '      %s\n' "$kv" | pipeline p.yaml
  else
    printf '      data_type: events\n      %s\n' "$kv" | pipeline p.yaml
  fi
  run_osiris validate p.yaml
  assert_exit 2 "validate rejects $kv"
  assert_contains "$ERR" "steps[0].config.${kv%%:*}"
done

# ------------------------------------------------------------ region URLs
# us/eu: osiris goes to https://<region>.posthog.com; with the fake as its
# https proxy the CONNECT shows the host, held there until the run is stopped.
for region in us eu; do
  case_setup "region_$region"
  pipeline p.yaml "$region" <<'EOF'
      data_type: persons
EOF
  env -u no_proxy -u NO_PROXY https_proxy="$PH_URL" HTTPS_PROXY="$PH_URL" "$OSIRIS" run p.yaml >out.txt 2>&1 </dev/null &
  pid=$!
  got=
  for _ in $(seq 1 600); do # bounded wait for the CONNECT to arrive (no fixed sleep decides anything)
    got=$(ph_knob log | py -c 'import json,sys; print(" ".join(r["path"] for r in json.load(sys.stdin)["requests"] if r["method"] == "CONNECT"))')
    [ -n "$got" ] && break
    sleep 0.1
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  assert_eq "$region.posthog.com:443" "$got" "region $region: https://$region.posthog.com"
  assert_contains "$(newest_run_dir)/osiris.log" "at https://$region.posthog.com/api/projects/4242/query/"
done

# ------------------------------------------------------------ the spec
case_setup spec
run_osiris components show posthog.extractor
assert_exit 0 "components show posthog.extractor"
for k in connection api_key project_id region custom_base_url data_type event_types \
  lookback_window_minutes initial_since page_size deduplication_enabled state_file; do
  assert_matches "$OUT" "^    $k[* ]" "components show lists $k"
done

# ------------------------------------------------------------ secrets
# No file any run produced (logs, compiled cfg, outputs, states) holds a key.
cd "$E2E_WORK" || fail "cd"
leaks=$(grep -rlF -e "$KEY" -e "$BAD_KEY" . 2>/dev/null | grep -v '^\./data\.json$')
assert_eq "" "$leaks" "no file holds the API key"

finish
