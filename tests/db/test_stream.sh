#!/usr/bin/env bash
# Streaming between a database extractor and a database writer: with more
# rows than one batch (65536) the writer reads its input batch by batch
# (inputs_resolved "source":"stream").  Outputs must equal the source
# (checksums), totals unknown while streaming are left out of write.start /
# write.progress, a failure in a late batch leaves the target unchanged,
# a writer that fails stops its extractor (step_failed, not skipped), and
# an extractor failing mid-stream makes the writer roll back.
source "$(dirname "$0")/lib.sh"

N=200000

# One source table in MariaDB: every value kind the writers convert, NULLs,
# tabs and backslashes (COPY escaping).
my_sql "DROP TABLE IF EXISTS st_src;
CREATE TABLE st_src (id BIGINT PRIMARY KEY, name VARCHAR(60), amount DECIMAL(14,4), day DATE,
  at DATETIME(6), score DOUBLE, flag TINYINT) ENGINE=InnoDB;
INSERT INTO st_src SELECT seq, IF(seq % 97 = 0, NULL, CONCAT('name ', seq, IF(seq % 5 = 0, '\ttab\\\\x', ''))),
  seq * 1.2345 / 7, DATE_ADD('2020-01-01', INTERVAL seq % 2000 DAY),
  TIMESTAMPADD(MICROSECOND, seq * 1234567, '2021-01-01'), IF(seq % 11 = 0, NULL, seq / 3), seq % 2
  FROM seq_1_to_$N;" || fail "cannot create st_src"

# Checksums of the same text form on both servers: COUNT:md5 of the row md5s.
my_sum() {
  my_sql "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ':', IFNULL(MD5(GROUP_CONCAT(MD5(CONCAT_WS('|', id, name, amount, day, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), CAST(ROUND(score * 1000) AS SIGNED), flag)) ORDER BY id SEPARATOR '')), '')) FROM $1"
}
pg_sum() {
  pg_sql "SELECT COUNT(*) || ':' || COALESCE(md5(string_agg(md5(concat_ws('|', id, name, amount, day, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'), round(score * 1000)::bigint, flag)), '' ORDER BY id)), '') FROM $1"
}
SRC=$(my_sum st_src)
assert_eq "$N" "${SRC%%:*}" "source rows"

pipeline() { # FILE EX_COMPONENT EX_CONFIG WR_COMPONENT WR_CONFIG
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: stream
steps:
  - id: ex
    component: $2
    mode: read
    config:
$(printf '%s\n' "$3" | sed 's/^/      /')
  - id: wr
    component: $4
    mode: write
    needs: [ex]
    config:
$(printf '%s\n' "$5" | sed 's/^/      /')
YAML
}

MY_EX='connection: "@mysql.test"
query: "SELECT * FROM st_src ORDER BY id"'
# The row at position 180000 repeats key 5: a duplicate in a late batch.
MY_EX_DUP='connection: "@mysql.test"
query: "SELECT IF(s.id = 180000, 5, s.id) AS id, name, amount, day, at, score, flag FROM st_src s ORDER BY s.id"'

# events RUN EVENT STEP: that step's lines of that event.
events() { grep "\"event\":\"$2\",\"step_id\":\"$3\"" "$1/events.jsonl" 2>/dev/null; }

assert_streamed() { # RUN
  assert_eq 1 "$(events "$1" inputs_resolved wr | grep -c '"source":"stream"')" \
    "writer's input came as a stream"
}

new_case mysql-pg-create
pg_sql "DROP TABLE IF EXISTS st_pg"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" postgres.writer 'connection: "@postgres.test"
table: st_pg
create_if_missing: true
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "MySQL -> PostgreSQL, create_if_missing with a DECIMAL column"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$SRC" "$(pg_sum st_pg)" "PostgreSQL copy equals the source"
assert_eq "numeric(38,4)" "$(pg_sql "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'st_pg'::regclass AND attname = 'amount'")" \
  "NUMERIC sized from every value (the whole input gathered)"
assert_eq 1 "$(events "$RUN" write.start wr | grep -c "\"rows\":$N")" "gathered: write.start knows the total"
assert_matches "$RUN/metrics.jsonl" "\"metric\":\"rows_read\",\"value\":$N,"
assert_matches "$RUN/metrics.jsonl" "\"metric\":\"rows_written\",\"value\":$N,"

new_case mysql-pg-upsert
pg_sql "UPDATE st_pg SET name = 'changed', amount = 0 WHERE id < 100 OR id > 199000;
DELETE FROM st_pg WHERE id BETWEEN 120000 AND 120500; INSERT INTO st_pg (id, name) VALUES (999999, 'extra')"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" postgres.writer 'connection: "@postgres.test"
table: st_pg
write_mode: upsert
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "MySQL -> PostgreSQL upsert"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$SRC" "$(pg_sum "st_pg WHERE id <> 999999")" "upsert restores every row"
assert_eq extra "$(pg_sql "SELECT name FROM st_pg WHERE id = 999999")" "upsert keeps other rows"
assert_eq 0 "$(events "$RUN" write.start wr | grep -c '"rows":')" "streamed: write.start has no total"
assert_eq 0 "$(events "$RUN" write.progress wr | grep -c '"rows_total":')" "streamed: write.progress has no total"
assert_eq 1 "$(events "$RUN" write.complete wr | grep -c "\"rows_written\":$N,")" "write.complete counts every batch"
assert_matches "$RUN/metrics.jsonl" "\"metric\":\"rows_written\",\"value\":$N,"

new_case pg-pg-append
pg_sql "DROP TABLE IF EXISTS st_pg2; CREATE TABLE st_pg2 (LIKE st_pg INCLUDING ALL)"
write_connections
pipeline p.yaml postgres.extractor 'connection: "@postgres.test"
query: "SELECT * FROM st_pg WHERE id <> 999999 ORDER BY id"' postgres.writer 'connection: "@postgres.test"
table: st_pg2'
run_osiris run p.yaml
assert_exit 0 "PostgreSQL -> PostgreSQL append"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$SRC" "$(pg_sum st_pg2)" "PostgreSQL -> PostgreSQL copy equals the source"

new_case mysql-mysql-replace
my_sql "DROP TABLE IF EXISTS st_my; CREATE TABLE st_my LIKE st_src;
INSERT INTO st_my (id, name) VALUES (1, 'old'), (500000, 'stale')"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" mysql.writer 'connection: "@mysql.test"
table: st_my
write_mode: replace
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "MySQL -> MySQL replace"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$SRC" "$(my_sum st_my)" "MySQL copy equals the source"
assert_eq 1 "$(events "$RUN" write.complete wr | grep -c "\"rows_written\":$N,")" "write.complete counts every batch"

new_case late-failure-pg
pg_sql "DROP TABLE IF EXISTS st_late; CREATE TABLE st_late (LIKE st_pg INCLUDING ALL);
INSERT INTO st_late SELECT * FROM st_pg WHERE id > 199990"
BEFORE=$(pg_sum st_late)
write_connections
pipeline p.yaml mysql.extractor "$MY_EX_DUP" postgres.writer 'connection: "@postgres.test"
table: st_late'
run_osiris run p.yaml
assert_exit 1 "PostgreSQL append with a duplicate key in a late batch"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$BEFORE" "$(pg_sum st_late)" "late failure leaves the PostgreSQL table unchanged"
assert_eq wr "$(json_get "$RUN/status.json" 'd["error"]["step_id"]')" "status.json names the writer"
assert_contains "$RUN/status.json" "line 180000" "the server's row number counts across batches"
assert_eq 0 "$(count_events "$RUN" step_skipped)" "the extractor ran (not skipped)"
assert_eq 1 "$(events "$RUN" write.error wr | wc -l)" "write.error"

new_case late-failure-mysql
my_sql "DROP TABLE IF EXISTS st_late; CREATE TABLE st_late LIKE st_src;
INSERT INTO st_late SELECT * FROM st_src WHERE id > 199990"
BEFORE=$(my_sum st_late)
write_connections
pipeline p.yaml mysql.extractor "$MY_EX_DUP" mysql.writer 'connection: "@mysql.test"
table: st_late'
run_osiris run p.yaml
assert_exit 1 "MySQL append with a duplicate key in a late batch"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$BEFORE" "$(my_sum st_late)" "late failure leaves the MySQL table unchanged"
assert_eq wr "$(json_get "$RUN/status.json" 'd["error"]["step_id"]')" "status.json names the writer"
# load_data names the server's row, insert the statement's last row: both count across batches.
assert_contains "$RUN/status.json" "at row 180000" "row numbers count across batches"
assert_eq 0 "$(count_events "$RUN" step_skipped)" "the extractor ran (not skipped)"

# A duplicate key in the first batch: through LOAD DATA LOCAL INFILE the
# server can only report it after the whole input was sent (it cannot stop
# the client mid-file), so the extractor completes and the writer fails
# and rolls back.
new_case writer-fails-after-load
write_connections
pipeline p.yaml mysql.extractor 'connection: "@mysql.test"
query: "SELECT IF(s.id = 3, 199995, s.id) AS id, name, amount, day, at, score, flag FROM st_src s ORDER BY s.id"' \
  mysql.writer 'connection: "@mysql.test"
table: st_late'
run_osiris run p.yaml
assert_exit 1 "MySQL append with a duplicate key in the first batch"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "$BEFORE" "$(my_sum st_late)" "the MySQL table is unchanged"
assert_eq wr "$(json_get "$RUN/status.json" 'd["error"]["step_id"]')" "status.json names the writer"
assert_contains "$RUN/status.json" "at row 3" "the server's row number of the duplicate"
assert_eq 1 "$(events "$RUN" write.start wr | grep -c '"channel":"load_data"')" "written through LOAD DATA"
assert_eq 0 "$(count_events "$RUN" step_skipped)" "nothing skipped"

# The writer fails on a value it cannot send (NaN, from PostgreSQL) in its
# first batch: the extractor is stopped and reported as failed.  It cannot
# finish first, whatever the machine's speed: its million rows are 16
# batches of 65536, and with the writer gone it blocks once the pipe's 4
# slots are full.
new_case writer-stops-extractor
my_sql "DROP TABLE IF EXISTS st_nan; CREATE TABLE st_nan (id BIGINT PRIMARY KEY, score DOUBLE) ENGINE=InnoDB;
INSERT INTO st_nan VALUES (-1, 0)"
write_connections
pipeline p.yaml postgres.extractor 'connection: "@postgres.test"
query: "SELECT g AS id, CASE WHEN g = 3 THEN '"'NaN'"'::float8 ELSE g * 0.5 END AS score FROM generate_series(1, 1000000) AS g ORDER BY g"' \
  mysql.writer 'connection: "@mysql.test"
table: st_nan'
run_osiris run p.yaml
assert_exit 1 "MySQL append with NaN in the first batch"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "1" "$(my_sql "SELECT COUNT(*) FROM st_nan")" "the MySQL table is unchanged"
assert_eq wr "$(json_get "$RUN/status.json" 'd["error"]["step_id"]')" "status.json names the writer"
assert_contains "$RUN/status.json" "row 3, column score: MySQL cannot store NaN or Infinity" "the row of the value"
assert_eq 1 "$(events "$RUN" step_failed ex | grep -c 'stopped because step wr failed')" \
  "the extractor is reported as stopped (step_failed)"
assert_eq 0 "$(count_events "$RUN" step_skipped)" "nothing skipped"

# The extractor fails after several batches went downstream: the writer
# stops, rolls back, and the run names the extractor.
new_case extractor-fails-mid-stream
my_sql "DROP TABLE IF EXISTS st_mid; CREATE TABLE st_mid (id BIGINT PRIMARY KEY, x BIGINT) ENGINE=InnoDB;
INSERT INTO st_mid VALUES (-1, 0)"
write_connections
pipeline p.yaml postgres.extractor 'connection: "@postgres.test"
query: "SELECT id, 1 / (id - 150000) AS x FROM st_pg2"' mysql.writer 'connection: "@mysql.test"
table: st_mid'
run_osiris run p.yaml
assert_exit 1 "extractor failing mid-stream"
RUN=$(newest_run_dir)
assert_streamed "$RUN"
assert_eq "1" "$(my_sql "SELECT COUNT(*) FROM st_mid")" "the writer rolled back"
assert_eq ex "$(json_get "$RUN/status.json" 'd["error"]["step_id"]')" "status.json names the extractor"
assert_eq 1 "$(events "$RUN" write.error wr | grep -c 'the upstream step failed')" \
  "write.error: stopped because the upstream step failed"
assert_eq 1 "$(events "$RUN" step_failed wr | grep -c 'stopped because step ex failed')" \
  "the writer is reported as stopped"

my_sql "DROP TABLE IF EXISTS st_src, st_my, st_late, st_mid, st_nan"
pg_sql "DROP TABLE IF EXISTS st_pg, st_pg2, st_late"
finish
