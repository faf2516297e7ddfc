#!/usr/bin/env bash
# postgres.extractor and supabase.extractor against the throwaway
# PostgreSQL: every type of the mapping to CSV exactly, table form, DSN
# connection, streaming, query errors.
source "$(dirname "$0")/lib.sh"

pg_sql "
DROP TABLE IF EXISTS p_types;
CREATE TABLE p_types (
  id int PRIMARY KEY, s smallint, i integer, b bigint, n numeric(20,4), nu numeric,
  r real, d double precision, bo boolean, t text, vc varchar(10), bp char(4), nm name,
  dt date, ts timestamp(6), tz timestamptz, j json, jb jsonb, u uuid, by bytea,
  ai int[], at text[], iv interval);
SET TimeZone = 'Europe/Prague';
INSERT INTO p_types VALUES
 (1, -32768, -2147483648, -9223372036854775808, -1234567890123456.1250, 3.14159265358979323846,
  1.5, 0.1, true, E'tab\there \"q\", 🎉\nnext\\\\', 'abc', 'ab', 'nm',
  '2024-02-29', '2024-01-31 12:34:56.123456', '2024-06-01 12:00:00+02', '{\"a\": [1, 2]}',
  '{\"b\": 1, \"a\": 2}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff10', '{1,2,NULL}',
  '{\"x y\",z}', '1 day 02:03:04'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 32767, 2147483647, 9223372036854775807, 0, 1e-20, -3.25e10, 1e300, false, '', '', '',
  '', '0001-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00.000001+00', 'null', '[]',
  '00000000-0000-0000-0000-000000000000', '', '{}', '{}', '-00:00:01'),
 (4, 1, 1, 1, 99999999999999.9999, -7, 'NaN', '-Infinity', true, 'x', 'x', 'x', 'x',
  'infinity', '9999-12-31 23:59:59.999999', '2000-01-01 00:00:00+14', '1', '\"s\"',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', 'abc', '{-1}', '{\"\"}', '0');
" || fail "cannot create p_types"

new_case types
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: pg-types
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.test"
      query: "SELECT * FROM p_types ORDER BY id"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out/types.csv
YAML
run_osiris run p.yaml
assert_exit 0 "postgres types pipeline"
cat >expected.csv <<'CSV'
id,s,i,b,n,nu,r,d,bo,t,vc,bp,nm,dt,ts,tz,j,jb,u,by,ai,at,iv
1,-32768,-2147483648,-9223372036854775808,-1234567890123456.1250,3.14159265358979323846,1.5,0.1,true,"tab	here ""q"", 🎉
next\",abc,"ab  ",nm,2024-02-29,2024-01-31T12:34:56.123456,2024-06-01T10:00:00,"{""a"": [1, 2]}","{""a"": 2, ""b"": 1}",a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,\x00ff10,"{1,2,NULL}","{""x y"",z}",1 day 02:03:04
2,,,,,,,,,,,,,,,,,,,,,,
3,32767,2147483647,9223372036854775807,0.0000,0.00000000000000000001,-32500000000.0,1e+300,false,,,"    ",,0001-01-01,1970-01-01T00:00:00,1970-01-01T00:00:00.000001,null,[],00000000-0000-0000-0000-000000000000,\x,{},{},-00:00:01
4,1,1,1,99999999999999.9999,-7,,-inf,true,x,x,"x   ",x,,9999-12-31T23:59:59.999999,1999-12-31T10:00:00,1,"""s""",ffffffff-ffff-ffff-ffff-ffffffffffff,\x616263,{-1},"{""""}",00:00:00
CSV
# (the CSV writer prints NaN as an empty field, like pandas)
assert_files_equal expected.csv out/types.csv "every PostgreSQL type to CSV, exact"
RUN=$(newest_run_dir)
assert_eq 1 "$(count_events "$RUN" date_out_of_range_as_null)" "infinity date becomes NULL with one event"
assert_contains "$RUN/metrics.jsonl" '"metric":"rows_read","value":4'
assert_no_secret "$RUN" "$OUT" "$ERR"

new_case table-dsn-supabase
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: pg-table
steps:
  - id: ex-dsn
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.dsn"
      table: public.p_types
      columns: [id, t]
      limit: 1
  - id: ex-supa
    component: supabase.extractor
    mode: read
    config:
      connection: "@supabase.test"
      query: "SELECT id, n FROM p_types WHERE id IN (1, 3) ORDER BY id"
  - id: out-dsn
    component: filesystem.csv_writer
    mode: write
    needs: [ex-dsn]
    config:
      path: dsn.csv
  - id: out-supa
    component: filesystem.csv_writer
    mode: write
    needs: [ex-supa]
    config:
      path: supa.csv
YAML
run_osiris run p.yaml
assert_exit 0 "postgres via dsn, table form; supabase.extractor over pg_dsn"
assert_eq "id,t" "$(head -n 1 dsn.csv)" "table + columns"
assert_eq 1 "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1])))) - 1)' dsn.csv)" "limit 1"
assert_eq "$(printf 'id,n\n1,-1234567890123456.1250\n3,0.0000')" "$(cat supa.csv)" "supabase extract"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case supabase-rest-only
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: supa-rest
steps:
  - id: ex
    component: supabase.extractor
    mode: read
    config:
      connection: "@supabase.restonly"
      query: "SELECT 1"
YAML
run_osiris run p.yaml
assert_exit 1 "supabase without a SQL channel fails"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ECONN "$(status_code "$RUN")" "no SQL channel: connection error"
assert_contains "$RUN/status.json" "no SQL channel"
assert_no_secret "$RUN" "$OUT" "$ERR"

new_case stream-many
pg_sql "DROP TABLE IF EXISTS p_big;
CREATE TABLE p_big AS SELECT g AS id, 'name-' || g AS name, (g / 100.0)::numeric(10,2) AS amount,
  timestamp '2024-01-01' + g * interval '1 second' AS created,
  CASE WHEN g % 10 = 0 THEN NULL ELSE repeat('x', g % 50) END AS note
  FROM generate_series(1, 200000) g;"
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: pg-big
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      query: "SELECT * FROM p_big ORDER BY id"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: big.csv
YAML
run_osiris run p.yaml
assert_exit 0 "200k rows streamed (default connection)"
pg_csv "SELECT id, name, amount, to_char(created, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS created, note FROM p_big ORDER BY id" >client.csv
assert_files_equal client.csv big.csv "200k rows equal to PostgreSQL's own CSV"

new_case query-error
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: pg-bad-query
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      query: "SELECT nope FROM p_types"
YAML
run_osiris run p.yaml
assert_exit 1 "a query error fails the run"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ESQL "$(status_code "$RUN")" "query error code"
assert_contains "$RUN/status.json" "nope"

finish
