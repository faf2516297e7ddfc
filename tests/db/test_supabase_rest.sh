#!/usr/bin/env bash
# supabase.writer over the Supabase REST API (PostgREST) against the fake in
# tests/fake_postgrest/ (first checked itself with the official postgrest-js
# client), backed by the throwaway PostgreSQL: append and upsert with every
# frame type (values compared in PostgreSQL), replace, batches, a non-public
# schema, retries on injected 503 / 429 / dropped connections, retries
# exhausted, a late batch failure (not transactional over REST), missing
# tables with and without create_if_missing, a wrong key (masked), and the
# REST doctor probe.
source "$(dirname "$0")/lib.sh"
FAKE_DIR=$DB_DIR/../fake_postgrest

# ------------------------------------------------- the fake, checked first
new_case fake_client
out=$(bash "$FAKE_DIR/run.sh" 2>&1)
last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
if [ -n "$last" ]; then
  E2E_PASS=$((E2E_PASS + ${last%% passed*}))
  f=${last#*, }; f=${f%% failed*}
  E2E_FAIL=$((E2E_FAIL + f))
  [ "$f" = 0 ] || printf '%s\n' "$out" | grep FAIL >&2
else
  fail "fake_postgrest/run.sh gave no result line: $(printf '%s\n' "$out" | tail -n 5)"
fi
if [ ! -f "$FAKE_DIR/node_modules/pg/package.json" ]; then
  fail "the fake's npm packages are missing"
  finish
fi

# ------------------------------------------------- start the fake for osiris
FAKE_LOG=$E2E_WORK/fake.out
FAKE_DSN=$OSIRIS_TEST_PG_DSN FAKE_POSTGREST_DSN=$OSIRIS_TEST_PG_DSN \
  FAKE_POSTGREST_KEYS=$OSIRIS_TEST_FAKE_KEY FAKE_POSTGREST_SCHEMAS=public,rest_s \
  node "$FAKE_DIR/server.mjs" --port 0 >"$FAKE_LOG" 2>"$E2E_WORK/fake.err" &
FAKE_PID=$!
cleanup() {
  kill "$FAKE_PID" 2>/dev/null
  wait "$FAKE_PID" 2>/dev/null
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"
}
trap cleanup EXIT
for _ in $(seq 1 600); do [ -s "$FAKE_LOG" ] && break; kill -0 "$FAKE_PID" 2>/dev/null || break; sleep 0.1; done # 60 s at most
FAKE_PORT=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$FAKE_LOG" 2>/dev/null)
if [ -z "$FAKE_PORT" ]; then
  fail "the fake PostgREST did not start: $(cat "$E2E_WORK/fake.err")"
  finish
fi
FAKE=http://127.0.0.1:$FAKE_PORT
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

fake() { curl -s -X POST "$FAKE/__fake/$1" ${2:+-d "$2"} >/dev/null; }
fake_log() { curl -s "$FAKE/__fake/log"; }
# fake_statuses METHOD: the statuses of that method's requests, space separated.
fake_statuses() {
  fake_log | py -c 'import json,sys; print(" ".join(str(r["status"]) for r in json.load(sys.stdin)["requests"] if r["method"]==sys.argv[1]))' "$1"
}

rest_connections() {
  cat >osiris_connections.yaml <<YAML
connections:
  postgres:
    test:
      dsn: \${OSIRIS_TEST_PG_DSN}
  supabase:
    rest:
      url: $FAKE/
      service_role_key: \${OSIRIS_TEST_FAKE_KEY}
    anon:
      url: $FAKE
      anon_key: \${OSIRIS_TEST_FAKE_KEY}
    badkey:
      url: $FAKE
      service_role_key: \${OSIRIS_TEST_BAD_PASSWORD}
    down:
      url: http://127.0.0.1:1
      key: \${OSIRIS_TEST_FAKE_KEY}
YAML
}

# pipeline FILE QUERY WRITER_CONFIG_LINES: postgres.extractor -> supabase.writer
pipeline() {
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: rest-write
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.test"
      query: "$2"
  - id: wr
    component: supabase.writer
    mode: write
    needs: [ex]
    config:
$(printf '%s\n' "$3" | sed 's/^/      /')
YAML
}

# The source: every frame type, NULLs, NaN/Infinity, edge values.
pg_sql "DROP TABLE IF EXISTS rest_src, rest_dst, rest_up, rest_rep, rest_txt, rest_late, rest_missing;
DROP SCHEMA IF EXISTS rest_s CASCADE;
CREATE TABLE rest_src (id bigint PRIMARY KEY, big bigint, n numeric(30,6), f double precision, b boolean,
  d date, ts timestamp, tz timestamptz, s text);
INSERT INTO rest_src VALUES
 (1, 9223372036854775807, -123456789012345678.123456, 0.1, true, '2024-02-29',
  '2024-01-31 12:34:56.123456', '2024-01-31 12:34:56.123456+00', E'h\u00e9llo \U0001F389 \"q\",x'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, -9223372036854775808, 0.000001, 'NaN', false, '1000-01-01', '1970-01-01 00:00:00',
  '1969-12-31 23:59:59.5+00', ''),
 (4, 0, 99999999999999999999.999999, 'Infinity', true, '9999-12-31', '9999-12-31 23:59:59.999999',
  '2000-01-01 00:00:00+00', E'line1\nline2\ttab\\\\back'),
 (5, -1, -0.5, '-Infinity', false, '1970-01-01', '1900-01-01 00:00:00.5', NULL, E'ctl\x01\x1f end'),
 (6, 42, 7, 1e300, true, '2000-01-01', '2024-06-30 23:59:59', '2024-06-30 23:59:59.000001+00', 'x'),
 (7, 43, 1, 5e-324, true, '2001-01-01', '2001-01-01 00:00:00.000001', NULL, '\\\\\"'),
 (8, 44, 2, -2.5e-300, false, '2002-02-02', '2002-02-02 02:02:02', NULL, '{\"json\": [1, 2]}');
CREATE TABLE rest_dst (LIKE rest_src INCLUDING ALL);" >/dev/null || fail "cannot create rest_src"

# same_as_src TABLE [WHERE]: rows of TABLE equal rest_src's (doubles NaN/Inf -> NULL).
same_as_src() {
  pg_sql "SELECT count(*) FILTER (WHERE t.id IS NULL OR s.id IS NULL OR
    (s.big, s.n, s.b, s.d, s.ts, s.tz, s.s) IS DISTINCT FROM (t.big, t.n, t.b, t.d, t.ts, t.tz, t.s) OR
    (CASE WHEN s.f IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE s.f END) IS DISTINCT FROM t.f)
    FROM rest_src s FULL JOIN $1 t USING (id) ${2:-}"
}

# ---------------------------------------------------------------- append
new_case append
rest_connections
fake reset
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_dst
batch_size: 3'
run_osiris run p.yaml
assert_exit 0 "append over REST"
RUN=$(newest_run_dir)
assert_eq 8 "$(pg_sql "SELECT count(*) FROM rest_dst")" "8 rows in PostgreSQL"
assert_eq 0 "$(same_as_src rest_dst)" "every type equal in PostgreSQL (ints, decimals, doubles, dates, timestamps, tz, text)"
assert_eq "9223372036854775807|-123456789012345678.123456|0.1" \
  "$(pg_sql "SELECT big, n, f FROM rest_dst WHERE id = 1")" "int64 max, exact decimal, shortest double"
assert_eq "t|t|t" "$(pg_sql "SELECT bool_and(f IS NULL) FILTER (WHERE id IN (3, 4, 5)), bool_and(f IS NOT NULL) FILTER (WHERE id > 5), min(f) FILTER (WHERE id = 7) > 0 FROM rest_dst")" \
  "NaN/Infinity became null, 1e300 / 5e-324 / -2.5e-300 kept"
assert_eq "t" "$(pg_sql "SELECT s = E'ctl\x01\x1f end' FROM rest_dst WHERE id = 5")" "control characters escaped"
assert_eq "GET POST POST POST" "$(fake_log | py -c 'import json,sys; print(" ".join(r["method"] for r in json.load(sys.stdin)["requests"]))')" \
  "one table check, then 3 batches of at most 3 rows"
assert_eq "return=minimal return=minimal return=minimal" \
  "$(fake_log | py -c 'import json,sys; print(" ".join(r["prefer"] for r in json.load(sys.stdin)["requests"] if r["method"]=="POST"))')" \
  "Prefer: return=minimal"
assert_eq 1 "$(count_events "$RUN" table.exists_check)" "table.exists_check"
assert_eq 1 "$(count_events "$RUN" write.start)" "write.start"
assert_matches "$RUN/events.jsonl" '"event":"write.start".*"channel":"rest"'
assert_matches "$RUN/events.jsonl" '"event":"write.progress".*"rows_written":8'
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":8,"duration_ms":[0-9]+,"channel_used":"rest"'
assert_matches "$RUN/metrics.jsonl" '"metric":"rows_written","value":8'
assert_no_secret "$RUN" "$OUT" "$ERR"

# ---------------------------------------------------------------- anon key, non-public schema
new_case schema
rest_connections
pg_sql "CREATE SCHEMA rest_s; CREATE TABLE rest_s.t (LIKE rest_src INCLUDING ALL)" >/dev/null
fake reset
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.anon"
table: t
schema: rest_s'
run_osiris run p.yaml
assert_exit 0 "append into schema rest_s with anon_key"
assert_eq 0 "$(same_as_src rest_s.t)" "rows in rest_s.t"
assert_eq "rest_s rest_s" "$(fake_log | py -c 'import json,sys; print(" ".join(str(r["profile"]) for r in json.load(sys.stdin)["requests"]))')" \
  "Accept-Profile / Content-Profile: rest_s"

# ---------------------------------------------------------------- upsert
new_case upsert
rest_connections
pg_sql "CREATE TABLE rest_up (LIKE rest_src INCLUDING ALL);
INSERT INTO rest_up (id, big, s) VALUES (1, 0, 'old'), (2, 5, 'old'), (99, 99, 'keep');" >/dev/null
fake reset
# Every row, plus a duplicate of id 6 first with other values: the last wins.
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: rest-upsert
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.test"
      query: "SELECT id, big, n, f, b, d, ts, tz, s FROM (SELECT 0 AS o, 6::bigint AS id, 0::bigint AS big, 0::numeric(30,6) AS n, 0::float8 AS f, false AS b, '1999-01-01'::date AS d, '1999-01-01'::timestamp AS ts, NULL::timestamptz AS tz, 'dup' AS s UNION ALL SELECT 1, * FROM rest_src) q ORDER BY o, id"
  - id: wr
    component: supabase.writer
    mode: write
    needs: [ex]
    config:
      connection: "@supabase.rest"
      table: rest_up
      write_mode: upsert
      primary_key: id
      batch_size: 4
YAML
run_osiris run p.yaml
assert_exit 0 "upsert over REST"
RUN=$(newest_run_dir)
assert_eq 9 "$(pg_sql "SELECT count(*) FROM rest_up")" "8 upserted + 1 kept"
assert_eq 0 "$(same_as_src rest_up "WHERE s.id IS NOT NULL")" "upserted rows equal the source (the last duplicate won)"
assert_eq "99|keep" "$(pg_sql "SELECT big, s FROM rest_up WHERE id = 99")" "row not in the input kept"
assert_eq "POST POST" "$(fake_log | py -c 'import json,sys; print(" ".join(r["method"] for r in json.load(sys.stdin)["requests"] if "on_conflict=id" in r["path"]))')" \
  "?on_conflict=id on every batch (8 distinct keys / 4)"
assert_eq "return=minimal,resolution=merge-duplicates" \
  "$(fake_log | py -c 'import json,sys; print(sorted(set(r["prefer"] for r in json.load(sys.stdin)["requests"] if r["method"]=="POST"))[0])')" \
  "Prefer: resolution=merge-duplicates"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"mode":"upsert","rows_written":9'

# ---------------------------------------------------------------- replace
new_case replace
rest_connections
pg_sql "CREATE TABLE rest_rep (LIKE rest_src INCLUDING ALL);
INSERT INTO rest_rep (id, s) SELECT g, 'stale' FROM generate_series(100, 160) g;
INSERT INTO rest_rep (id, s) VALUES (1, 'old');
CREATE TABLE rest_txt (k text PRIMARY KEY, v int);
INSERT INTO rest_txt VALUES ('a', 1), ('b,c', 2), ('q\"uote', 3), ('gone(1)', 4), ('gone 2', 5);" >/dev/null
fake reset
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_rep
write_mode: replace
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "replace over REST"
RUN=$(newest_run_dir)
assert_eq 0 "$(same_as_src rest_rep)" "replace: the table equals the input"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_deleted":61'
pipeline p2.yaml "SELECT * FROM (VALUES ('a', 10), ('b,c', 20), ('q\\\"uote', 30), ('new', 40)) v(k, v)" 'connection: "@supabase.rest"
table: rest_txt
write_mode: replace
primary_key: k'
run_osiris run p2.yaml
assert_exit 0 "replace with a text key over REST"
assert_eq "a:10 b,c:20 new:40 q\"uote:30" "$(pg_sql "SELECT string_agg(k || ':' || v, ' ' ORDER BY k) FROM rest_txt")" \
  "text keys with , \" ( ) and spaces deleted exactly"
pipeline p3.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_rep
write_mode: replace
primary_key: [id, s]'
run_osiris run p3.yaml
assert_exit 1 "replace with a composite key over REST is refused"
assert_contains "$ERR" "single-column primary key"

# ---------------------------------------------------------------- many rows
new_case big
rest_connections
pg_sql "DROP TABLE IF EXISTS rest_big; CREATE TABLE rest_big (id bigint PRIMARY KEY, v text);
INSERT INTO rest_big SELECT g, 'stale' FROM generate_series(1, 25000) g;" >/dev/null
fake reset
pipeline p.yaml "SELECT g AS id, 'new ' || g AS v FROM generate_series(24000, 36000) g" 'connection: "@supabase.rest"
table: rest_big
write_mode: replace
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "replace of 25000 rows by 12001 over REST"
RUN=$(newest_run_dir)
assert_eq "12001|24000|36000|0" "$(pg_sql "SELECT count(*), min(id), max(id), count(*) FILTER (WHERE v = 'stale') FROM rest_big")" \
  "the table equals the input"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":12001.*"batches":25,"rows_deleted":23999'
py_check '
import json, sys
reqs = json.load(open(sys.argv[1]))["requests"]
posts = [r for r in reqs if r["method"] == "POST"]
gets = [r for r in reqs if r["method"] == "GET" and "select=id" in r["path"]]
dels = [r for r in reqs if r["method"] == "DELETE"]
print(("ok " if len(posts) == 25 else "not ok ") + "25 POST batches of at most 500 rows: %d" % len(posts))
print(("ok " if len(gets) == 4 else "not ok ") + "keys read in pages of 10000: %d" % len(gets))
print(("ok " if len(dels) > 1 and all(len(r["path"]) < 8000 for r in dels) else "not ok ") + "DELETE in bounded chunks: %d" % len(dels))
print(("ok " if all(r["status"] in (200, 201, 204) for r in reqs) else "not ok ") + "every request succeeded")
' <(fake_log)
pg_sql "DROP TABLE rest_big" >/dev/null

# ---------------------------------------------------------------- retries
# status:retry_after:nth:method -- a dropped connection (0) is injected on a
# fresh connection (the table check), since libcurl itself re-sends a request
# whose reused keep-alive connection was closed.
for spec in "503::2:POST" "429:1:2:POST" "0::1:GET"; do
  IFS=: read -r status after nth method <<<"$spec"
  new_case "retry_$status"
  rest_connections
  pg_sql "TRUNCATE rest_dst" >/dev/null
  fake reset
  fake fail "{\"nth\":$nth,\"status\":$status${after:+,\"retry_after\":$after}}"
  pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_dst'
  run_osiris run p.yaml
  assert_exit 0 "injected $status is retried"
  RUN=$(newest_run_dir)
  ok_status=201; [ "$method" = GET ] && ok_status=200
  assert_eq "$status $ok_status" "$(fake_statuses "$method")" "$method statuses after injected $status"
  assert_eq 0 "$(same_as_src rest_dst)" "rows written exactly once after the retry ($status)"
  assert_eq 1 "$(count_events "$RUN" write.retry)" "one write.retry event ($status)"
done

new_case retry_exhausted
rest_connections
pg_sql "TRUNCATE rest_dst" >/dev/null
fake reset
fake fail '{"nth":2,"status":503,"times":5}'
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_dst'
start=$(date +%s%3N)
run_osiris run p.yaml
assert_exit 1 "503 on every attempt fails the step"
assert_eq "503 503 503" "$(fake_statuses POST)" "3 attempts in all"
# osiris_step_http's waits: 1 s then 2 s, each drawn in [wait/2, wait]
el=$(( $(date +%s%3N) - start ))
if [ "$el" -ge 1500 ] && [ "$el" -le 12000 ]; then pass "backoff waited (${el} ms)"; else fail "backoff took ${el} ms"; fi
RUN=$(newest_run_dir)
assert_contains "$ERR" "HTTP 503"
assert_eq "false|1" "$(json_get "$RUN/status.json" 'str(d.get("ok")).lower() + "|" + str(d.get("exit_code"))')" "status.json: ok false, exit_code 1"

# retries counts the further attempts (0.5.7's spec: 0..10)
new_case retries_key
rest_connections
pg_sql "TRUNCATE rest_dst" >/dev/null
fake reset
fake fail '{"nth":2,"status":503,"times":5}'
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_dst
retries: 0'
run_osiris run p.yaml
assert_exit 1 "retries: 0 gives up after the first 503"
assert_eq "503" "$(fake_statuses POST)" "one attempt"
fake reset
fake fail '{"nth":2,"status":503,"times":1}'
pipeline p.yaml "SELECT * FROM rest_src ORDER BY id" 'connection: "@supabase.rest"
table: rest_dst
retries: 1'
run_osiris run p.yaml
assert_exit 0 "retries: 1 survives one 503"
assert_eq "503 201" "$(fake_statuses POST)" "two attempts"

# ---------------------------------------------------------------- late batch failure
new_case late_batch
rest_connections
pg_sql "CREATE TABLE rest_late (id bigint PRIMARY KEY, v text)" >/dev/null
fake reset
pipeline p.yaml "SELECT * FROM (VALUES (1, 'a'), (1, 'b'), (2, 'c')) v(id, v)" 'connection: "@supabase.rest"
table: rest_late
batch_size: 2'
run_osiris run p.yaml
assert_exit 1 "a duplicate key in the first batch fails"
assert_contains "$ERR" "23505"
assert_eq 0 "$(pg_sql "SELECT count(*) FROM rest_late")" "first batch failed: nothing written"
# ids 1..7, 100, then 1 again: batches [1-4] [5-7,100] [1] -> the third fails
pipeline p.yaml "SELECT id, v FROM (SELECT g AS o, g AS id, 'v' || g AS v FROM generate_series(1, 7) g UNION ALL SELECT 8, 100, 'x' UNION ALL SELECT 9, 1, 'dup') q ORDER BY o" 'connection: "@supabase.rest"
table: rest_late
batch_size: 4'
run_osiris run p.yaml
assert_exit 1 "a duplicate key in a late batch fails"
assert_contains "$ERR" "batch 3"
assert_contains "$ERR" "not one transaction"
assert_eq 8 "$(pg_sql "SELECT count(*) FROM rest_late")" "earlier batches stay written over REST (documented)"

# ---------------------------------------------------------------- missing table
new_case missing_table
rest_connections
fake reset
pipeline p.yaml "SELECT * FROM rest_src" 'connection: "@supabase.rest"
table: rest_missing
create_if_missing: true'
run_osiris run p.yaml
assert_exit 1 "create_if_missing without a SQL channel fails"
RUN=$(newest_run_dir)
assert_contains "$ERR" "SQL channel"
assert_contains "$RUN/status.json" "SQL channel"
assert_eq "" "$(pg_sql "SELECT to_regclass('rest_missing')")" "no table was created"
assert_eq "GET" "$(fake_log | py -c 'import json,sys; print(" ".join(r["method"] for r in json.load(sys.stdin)["requests"]))')" \
  "no rows were sent"
pipeline p.yaml "SELECT * FROM rest_src" 'connection: "@supabase.rest"
table: rest_missing'
run_osiris run p.yaml
assert_exit 1 "a missing table fails"
assert_contains "$ERR" "does not exist"
assert_contains "$ERR" "PGRST205"

# ---------------------------------------------------------------- wrong key
new_case wrong_key
rest_connections
pipeline p.yaml "SELECT * FROM rest_src" 'connection: "@supabase.badkey"
table: rest_dst'
run_osiris run p.yaml
assert_exit 1 "wrong key fails"
RUN=$(newest_run_dir)
assert_contains "$ERR" "401"
assert_contains "$ERR" "Invalid API key"
assert_eq "false|1" "$(json_get "$RUN/status.json" 'str(d.get("ok")).lower() + "|" + str(d.get("exit_code"))')" "status.json: ok false, exit_code 1"
hits=$(grep -rlF -- "$OSIRIS_TEST_BAD_PASSWORD" "$RUN" "$OUT" "$ERR" 2>/dev/null | wc -l)
assert_eq 0 "$hits" "the wrong key appears nowhere in the run directory or output"
assert_no_secret "$E2E_WORK"

# ---------------------------------------------------------------- doctor over REST
new_case doctor
rest_connections
run_osiris connections doctor @supabase.rest --json
assert_exit 0 "doctor: REST probe ok"
assert_eq "true" "$(json_get "$OUT" 'd["connections"][0]["ok"]')" "doctor: ok"
run_osiris connections doctor @supabase.badkey
assert_exit 1 "doctor: wrong key fails"
assert_contains "$OUT" "401"
run_osiris connections doctor @supabase.down --json
assert_exit 1 "doctor: unreachable API fails"
assert_contains "$OUT" "network error"
hits=$(grep -rlF -- "$OSIRIS_TEST_BAD_PASSWORD" . 2>/dev/null | wc -l)
assert_eq 0 "$hits" "doctor output holds no key"
assert_no_secret .

# ------------------------------------------- supabase.extractor over REST
# The 0.5.7 keys go to PostgREST as they are: select, filter, order, limit,
# offset, schema (Accept-Profile); pages of 1000 rows; retries.
read_pipeline() { # FILE CONFIG_LINES
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: rest-read
steps:
  - id: rd
    component: supabase.extractor
    mode: read
    config:
      connection: "@supabase.rest"
$(printf '%s\n' "$2" | sed 's/^/      /')
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [rd]
    config:
      path: out.csv
YAML
}
pg_sql "DROP TABLE IF EXISTS rest_many; CREATE TABLE rest_many AS SELECT g AS id, 'r' || g AS name FROM generate_series(1, 2500) g;
CREATE SCHEMA IF NOT EXISTS rest_s; DROP TABLE IF EXISTS rest_s.k_in; CREATE TABLE rest_s.k_in (id int, ok boolean);
INSERT INTO rest_s.k_in VALUES (1, true), (2, NULL)" >/dev/null || fail "cannot create the read tables"

new_case rest_read_keys
rest_connections
read_pipeline p.yaml 'table: rest_src
select: id,b,d,ts
filter: {id: lte.4, b: not.is.null}
order: id.desc
offset: 1
limit: 2'
fake reset
run_osiris run p.yaml
assert_exit 0 "supabase.extractor over REST with select/filter/order/offset/limit"
assert_eq "id,b,d,ts
3,false,1000-01-01,1970-01-01T00:00:00
1,true,2024-02-29,2024-01-31T12:34:56.123456" "$(cat out.csv)" "filtered, ordered, skipped, limited; typed int/bool/date/timestamp"
assert_eq "200" "$(fake_statuses GET)" "one GET"
assert_matches "$(newest_run_dir)/metrics.jsonl" '"metric":"rows_read","value":2[,}]'

new_case rest_read_pages
rest_connections
read_pipeline p.yaml 'table: rest_many
order: id
offset: 10'
fake reset
run_osiris run p.yaml
assert_exit 0 "2490 rows over REST"
assert_eq 2491 "$(wc -l <out.csv)" "every row after the offset (and the header)"
assert_eq "11,r11" "$(sed -n 2p out.csv)" "the first row after the offset"
assert_eq "200 200 200" "$(fake_statuses GET)" "pages of 1000 rows: three GETs"

new_case rest_read_schema_retry
rest_connections
read_pipeline p.yaml 'table: k_in
schema: rest_s
retries: 1'
fake reset
fake fail '{"nth":1,"status":503}'
run_osiris run p.yaml
assert_exit 0 "schema via Accept-Profile, a 503 retried"
assert_eq "id,ok
1,true
2," "$(cat out.csv)" "the rest_s table's rows"
assert_eq "503 200" "$(fake_statuses GET)" "retried once"
assert_eq 1 "$(count_events "$(newest_run_dir)" read.retry)" "a read.retry event"
fake reset
fake fail '{"nth":1,"status":503,"times":2}'
read_pipeline p.yaml 'table: k_in
schema: rest_s
retries: 0'
run_osiris run p.yaml
assert_exit 1 "retries: 0 gives up after one 503"
assert_contains "$ERR" "HTTP 503"
assert_eq "503" "$(fake_statuses GET)" "one attempt"

new_case rest_read_query
rest_connections
read_pipeline p.yaml 'query: SELECT 1'
run_osiris run p.yaml
assert_exit 1 "a query over REST is refused"
assert_contains "$ERR" "query needs a SQL channel"
assert_no_secret "$E2E_WORK"

pg_sql "DROP TABLE IF EXISTS rest_src, rest_dst, rest_up, rest_rep, rest_txt, rest_late, rest_many; DROP SCHEMA IF EXISTS rest_s CASCADE" >/dev/null
finish
