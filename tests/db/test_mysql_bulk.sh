#!/usr/bin/env bash
# mysql.writer's bulk channel: LOAD DATA LOCAL INFILE fed from memory
# ("load_data").  Every write mode with values that stress the text
# format (tabs, newlines, backslashes, \N-looking text, "NULL", empty vs
# NULL, NUL, Ctrl-Z, unicode, DECIMAL(65,30), microseconds, extreme
# integers and doubles) must store exactly the source; the channel shows
# in write.start / write.complete; duplicates and bad values, which LOCAL
# turns into warnings, still fail the write and leave the table unchanged;
# notes (decimal rounding) pass with a log line, as they do for INSERT;
# with the server's local_infile OFF the writer falls back to INSERT
# ("insert") once, with the same table content.
source "$(dirname "$0")/lib.sh"

# The fallback cases switch local_infile off: switch it back whatever happens.
trap 'my_sql "SET GLOBAL local_infile = 1" >/dev/null 2>&1; [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"' EXIT

my_sql "SET GLOBAL local_infile = 1"
my_sql "$(cat <<'SQL'
DROP TABLE IF EXISTS mb_src;
CREATE TABLE mb_src (
  id BIGINT PRIMARY KEY, s MEDIUMTEXT, v VARCHAR(40), d DECIMAL(65,30), n DECIMAL(10,2), bi BIGINT,
  ub BIGINT UNSIGNED, db DOUBLE, dt DATE, dtm DATETIME(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO mb_src VALUES
 (1, CONCAT('tab', CHAR(9), 'x', CHAR(9)), CHAR(9), 12345678901234567890123456789012345.123456789012345678901234567890,
  -99999999.99, -9223372036854775808, 18446744073709551615, 1e300, '1000-01-01', '2024-01-31 12:34:56.123456'),
 (2, CONCAT('line1', CHAR(10), 'line2', CHAR(13), CHAR(10), 'crlf'), CHAR(10), -0.000000000000000000000000000001,
  99999999.99, 9223372036854775807, 0, -2.5e-300, '9999-12-31', '1970-01-01 00:00:00.000001'),
 (3, CONCAT('back', CHAR(92), 'slash', CHAR(92)), CHAR(92), 0, 0.01, -1, 1, 0.1, '2024-02-29', '9999-12-31 23:59:59.999999'),
 (4, CONCAT(CHAR(92), 'N'), CONCAT(CHAR(92), 'N'), 1.5, -0.01, 0, 9223372036854775808, 0.3333333333333333,
  '2000-01-01', '2024-02-29 00:00:00'),
 (5, 'NULL', 'NULL', -1.000000000000000000000000000001, 1, 42, 7, 1.7976931348623157e308, '1999-12-31',
  '2001-09-09 01:46:40.5'),
 (6, '', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, NULL, NULL, 2, 2, 2, 2, -1e-10, '2020-02-02', '2020-02-02 02:02:02'),
 (8, CONCAT('nul', CHAR(0), 'byte'), CHAR(0), 3, 3, 3, 3, 123456789012345680000, '2021-03-03', '2021-03-03 03:03:03.3'),
 (9, 'héllo 🎉 ünïcödé 日本語 Ωμέγα', '🎉', 4, 4, 4, 4, -123.456, '2022-04-04', '2022-04-04 04:04:04.04'),
 (10, CONCAT('ctrlz', CHAR(26), 'end'), CHAR(26), 5, 5, 5, 5, 5e-324, '2023-05-05', '2023-05-05 05:05:05.000005'),
 (11, CONCAT(CHAR(92), CHAR(92), 'N'), 'N', 6, 6, 6, 6, -0.5, '2024-06-06', '2024-06-06 06:06:06'),
 (12, CONCAT(CHAR(92), 't', CHAR(92), 'n', CHAR(92), '0', CHAR(92), 'Z'), CONCAT(CHAR(92), CHAR(92)), 7, 7, 7, 7,
  2.2250738585072014e-308, '2025-07-07', '2025-07-07 07:07:07.7'),
 (13, CONCAT(' spaces around ', CHAR(1 USING utf8mb4), CHAR(31 USING utf8mb4), 'text after control bytes', CHAR(127 USING utf8mb4), CHAR(92 USING utf8mb4)), ' ', 8, 8, 8, 8, 8, '2026-08-08', '2026-08-08 08:08:08.8'),
 (14, 'quotes ''single'' "double" `back`', '''', 9, 9, 9, 9, 9, '2027-09-09', '2027-09-09 09:09:09.9'),
 (15, REPEAT(CONCAT('long', CHAR(9), CHAR(10), CHAR(92), 'é'), 20000), 'v', 10, 10, 10, 10, 10, '2028-10-10',
  '2028-10-10 10:10:10.1');
SQL
)" || fail "cannot create mb_src"

# dump TABLE [WHERE]: every column of the mb_src shape in an exact text
# form (strings as hex: NUL, empty vs NULL and the text "NULL" differ).
dump() {
  my_sql "SELECT id, HEX(s), HEX(v), d, n, bi, ub, CAST(db AS CHAR), dt, dtm FROM $1 ${2:-} ORDER BY id"
}
SRC=$(dump mb_src)
assert_eq 15 "$(printf '%s\n' "$SRC" | wc -l)" "source rows"

pipeline() { # FILE EX_COMPONENT EX_CONFIG WR_CONFIG
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: bulk
steps:
  - id: ex
    component: $2
    mode: read
    config:
$(printf '%s\n' "$3" | sed 's/^/      /')
  - id: wr
    component: mysql.writer
    mode: write
    needs: [ex]
    config:
      connection: "@mysql.test"
$(printf '%s\n' "$4" | sed 's/^/      /')
YAML
}
MY_EX='connection: "@mysql.test"
query: "SELECT * FROM mb_src ORDER BY id"'

# channel RUN: "<write.start channel> <write.complete channel_used>".
channel() {
  printf '%s %s' \
    "$(grep '"event":"write.start"' "$1/events.jsonl" | sed -n 's/.*"channel":"\([a-z_]*\)".*/\1/p')" \
    "$(grep '"event":"write.complete"' "$1/events.jsonl" | sed -n 's/.*"channel_used":"\([a-z_]*\)".*/\1/p')"
}

# ------------------------------------------------------------ load_data
new_case append
my_sql "DROP TABLE IF EXISTS mb_a; CREATE TABLE mb_a LIKE mb_src"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_a'
run_osiris run p.yaml
assert_exit 0 "append through LOAD DATA"
RUN=$(newest_run_dir)
assert_eq "load_data load_data" "$(channel "$RUN")" "channel load_data in write.start and write.complete"
assert_eq "$SRC" "$(dump mb_a)" "append: every value exact"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":15,'
assert_contains "$RUN/osiris.log" "table mb_a (append, load_data)"
assert_not_contains "$RUN/osiris.log" "WARNING" "no warning"

new_case create
my_sql "DROP TABLE IF EXISTS mb_c"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_c
create_if_missing: true
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "create_if_missing + append through LOAD DATA"
RUN=$(newest_run_dir)
assert_eq "load_data load_data" "$(channel "$RUN")" "channel"
assert_eq "$(my_sql "SELECT id, HEX(s), HEX(v), d, bi, ub, CAST(db AS CHAR), dt, dtm FROM mb_src ORDER BY id")" \
  "$(my_sql "SELECT id, HEX(s), HEX(v), d, bi, ub, CAST(db AS CHAR), dt, dtm FROM mb_c ORDER BY id")" \
  "created table: values exact (DECIMAL(65,30) kept)"

new_case replace
my_sql "DROP TABLE IF EXISTS mb_r; CREATE TABLE mb_r LIKE mb_src;
INSERT INTO mb_r (id, s) VALUES (1, 'old'), (99, 'stale')"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_r
write_mode: replace
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "replace through LOAD DATA"
assert_eq "load_data load_data" "$(channel "$(newest_run_dir)")" "channel"
assert_eq "$SRC" "$(dump mb_r)" "replace: the table is exactly the source"

new_case upsert
my_sql "DROP TABLE IF EXISTS mb_u; CREATE TABLE mb_u LIKE mb_src;
ALTER TABLE mb_u ADD COLUMN extra VARCHAR(10) NOT NULL DEFAULT 'new';
INSERT INTO mb_u (id, s, v, extra) VALUES (1, 'old', 'old', 'keep'), (8, 'old', 'old', 'keep'), (99, 'other', NULL, 'keep')"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_u
write_mode: upsert
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "upsert through LOAD DATA (stage table)"
assert_eq "load_data load_data" "$(channel "$(newest_run_dir)")" "channel"
assert_eq "$SRC" "$(dump mb_u "WHERE id <> 99")" "upsert: updated and inserted rows exact"
assert_eq "1:keep 8:keep 99:keep new:13" \
  "$(my_sql "SELECT CONCAT_WS(' ', GROUP_CONCAT(IF(extra = 'keep', CONCAT(id, ':keep'), NULL) ORDER BY id SEPARATOR ' '), CONCAT('new:', SUM(extra = 'new'))) FROM mb_u")" \
  "upsert keeps columns outside the input and rows outside the input"
assert_eq "other" "$(my_sql "SELECT s FROM mb_u WHERE id = 99")" "row outside the input untouched"

new_case upsert-duplicates
my_sql "DROP TABLE IF EXISTS mb_ud; CREATE TABLE mb_ud (id BIGINT PRIMARY KEY, name TEXT, flag BOOLEAN,
  at DATETIME(6), extra VARCHAR(10) DEFAULT 'keep') ENGINE=InnoDB;
INSERT INTO mb_ud (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')"
write_connections
cat >in.csv <<'CSV'
id,name,flag,at
2,TWO,true,2024-01-01T10:00:00.5
4,four,false,2024-01-02T00:00:00
4,FOUR,true,2024-01-03T23:59:59.999999
2,TWO again,false,2024-01-04T00:00:01
CSV
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_ud
mode: upsert
primary_key: [id]'
run_osiris run p.yaml
assert_exit 0 "upsert with duplicate keys in the input"
assert_eq "load_data load_data" "$(channel "$(newest_run_dir)")" "channel"
UPSERT_CSV=$(my_sql "SELECT id, name, flag, at, extra FROM mb_ud ORDER BY id")
assert_eq "1	one	NULL	NULL	keep
2	TWO again	0	2024-01-04 00:00:01.000000	keep
3	three	NULL	NULL	keep
4	FOUR	1	2024-01-03 23:59:59.999999	keep" "$UPSERT_CSV" \
  "the last row of a key wins; booleans and timestamps as INSERT writes them"

new_case streamed-progress
my_sql "DROP TABLE IF EXISTS mb_big; CREATE TABLE mb_big (id BIGINT PRIMARY KEY, s VARCHAR(40), x DOUBLE) ENGINE=InnoDB"
write_connections
pipeline p.yaml mysql.extractor 'connection: "@mysql.test"
query: "SELECT seq AS id, IF(seq % 3 = 0, NULL, CONCAT(seq, CHAR(9 USING utf8mb4), CHAR(92 USING utf8mb4), CHAR(10 USING utf8mb4))) AS s, seq / 7 AS x FROM seq_1_to_150000"' \
  'table: mb_big'
run_osiris run p.yaml
assert_exit 0 "150000 rows streamed through one LOAD DATA"
RUN=$(newest_run_dir)
assert_eq 1 "$(grep '"event":"inputs_resolved","step_id":"wr"' "$RUN/events.jsonl" | grep -c '"source":"stream"')" \
  "the writer's input came as a stream (the feed pulls batches)"
assert_eq "load_data load_data" "$(channel "$RUN")" "channel"
assert_matches "$RUN/events.jsonl" '"event":"write.progress","step_id":"wr","table":"mb_big","rows_written":100000,'
assert_eq 0 "$(grep '"event":"write.progress"' "$RUN/events.jsonl" | grep -c '"rows_total"')" "streamed: no rows_total"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":150000,'
assert_eq "$(my_sql "SET SESSION group_concat_max_len = 1073741824; SELECT COUNT(*), SUM(IF(seq % 3 = 0, 1, 0)), MD5(GROUP_CONCAT(CONCAT_WS('|', seq, IF(seq % 3 = 0, NULL, CONCAT(seq, CHAR(9 USING utf8mb4), CHAR(92 USING utf8mb4), CHAR(10 USING utf8mb4)))) ORDER BY seq SEPARATOR '#')) FROM seq_1_to_150000")" \
  "$(my_sql "SET SESSION group_concat_max_len = 1073741824; SELECT COUNT(*), SUM(s IS NULL), MD5(GROUP_CONCAT(CONCAT_WS('|', id, s) ORDER BY id SEPARATOR '#')) FROM mb_big")" \
  "every streamed row exact"

# ------------------------------------------------------------ failures
new_case duplicate-append
my_sql "DROP TABLE IF EXISTS mb_f; CREATE TABLE mb_f LIKE mb_src; INSERT INTO mb_f SELECT * FROM mb_src WHERE id IN (3, 9)"
BEFORE=$(dump mb_f)
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_f'
run_osiris run p.yaml
assert_exit 1 "duplicate key (append): LOCAL's warning is an error again"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ESQL "$(status_code "$RUN")" "SQL error code"
assert_contains "$RUN/status.json" "Duplicate entry '3' for key 'PRIMARY' at row 3"
assert_eq "$BEFORE" "$(dump mb_f)" "the table is unchanged"
assert_eq "load_data" "$(channel "$RUN" | cut -d' ' -f1)" "write.start says load_data"
assert_eq 1 "$(count_events "$RUN" write.error)" "write.error"
assert_eq 0 "$(count_events "$RUN" write.complete)" "no write.complete"

new_case bad-value
my_sql "DROP TABLE IF EXISTS mb_bad; CREATE TABLE mb_bad (id BIGINT PRIMARY KEY, v VARCHAR(3), n INT) ENGINE=InnoDB;
INSERT INTO mb_bad VALUES (100, 'old', 1)"
write_connections
printf 'id,v,n\n1,ab,1\n2,abcd,2\n3,c,3\n' >in.csv
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_bad'
run_osiris run p.yaml
assert_exit 1 "a value too long (strict mode) fails the load"
RUN=$(newest_run_dir)
assert_contains "$RUN/status.json" "for column 'v' at row 2"
assert_eq "100	old	1" "$(my_sql "SELECT * FROM mb_bad")" "the table is unchanged"
printf 'id,v,n\n1,ab,1\n2,b,x9\n' >in.csv
run_osiris run p.yaml
assert_exit 1 "a string into an INT column fails the load"
assert_contains "$(newest_run_dir)/status.json" "at row 2"
assert_eq "100	old	1" "$(my_sql "SELECT * FROM mb_bad")" "the table is unchanged"
printf 'id,v,n\n1,ab,1\n2,b,\n' >in.csv
my_sql "ALTER TABLE mb_bad MODIFY n INT NOT NULL"
run_osiris run p.yaml
assert_exit 1 "NULL into a NOT NULL column fails the load"
assert_contains "$(newest_run_dir)/status.json" "NULL supplied to NOT NULL column 'n' at row 2"
assert_eq "100	old	1" "$(my_sql "SELECT * FROM mb_bad")" "the table is unchanged"

new_case upsert-failure
my_sql "DROP TABLE IF EXISTS mb_uf; CREATE TABLE mb_uf LIKE mb_src; INSERT INTO mb_uf SELECT * FROM mb_src WHERE id < 5;
ALTER TABLE mb_uf ADD CONSTRAINT mb_small CHECK (id < 12)"
BEFORE=$(dump mb_uf)
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_uf
write_mode: upsert
primary_key: id'
run_osiris run p.yaml
assert_exit 1 "CHECK violation in the INSERT ... SELECT from the stage (upsert)"
assert_contains "$(newest_run_dir)/status.json" "mb_small"
assert_eq "$BEFORE" "$(dump mb_uf)" "upsert failure leaves the table unchanged"

new_case failure-created-table-dropped
my_sql "DROP TABLE IF EXISTS mb_new"
write_connections
printf 'id,name\n1,a\n1,b\n' >in.csv
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_new
primary_key: id
create_if_missing: true'
run_osiris run p.yaml
assert_exit 1 "duplicate key into a new table"
assert_eq 0 "$(my_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'mb_new'")" \
  "a table created by the failed step is dropped again"

# SIGINT while the server is reading the rows: the feed stops, the load
# ends early and the transaction is rolled back.  The load is held half
# way at a known point, not raced: a session of the test inserts row
# 200000 and keeps its transaction open, so the load waits for that row's
# lock after 199999 rows; the SIGINT comes while it waits, then the test
# rolls back and the load may go on -- and must stop.
new_case cancel
my_sql "DROP TABLE IF EXISTS mb_cancel; CREATE TABLE mb_cancel (id BIGINT PRIMARY KEY, s VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO mb_cancel VALUES (0, 'old')"
write_connections
pipeline p.yaml mysql.extractor 'connection: "@mysql.test"
query: "SELECT seq AS id, CONCAT('"'row '"', seq) AS s FROM seq_1_to_5000000"' 'table: mb_cancel'
rm -f lock.in
mkfifo lock.in
mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" \
  -p"$OSIRIS_TEST_MYSQL_PASSWORD" -B -N --unbuffered "$OSIRIS_TEST_MYSQL_DB" <lock.in >lock.out 2>&1 &
LOCK_PID=$!
exec 7>lock.in
echo "BEGIN; INSERT INTO mb_cancel VALUES (200000, 'held'); SELECT 'holding';" >&7
for _ in $(seq 1 600); do # 60 s at most
  grep -qx holding lock.out && break
  kill -0 "$LOCK_PID" 2>/dev/null || break
  sleep 0.1
done
assert_eq holding "$(cat lock.out)" "the test's session holds row 200000"
"$OSIRIS" run p.yaml >out.txt 2>err.txt </dev/null 7>&- &
PID=$!
# 120 s at most: until the load waits for row 200000.  InnoDB refreshes
# information_schema.innodb_trx only when it was last read over 0.1 s
# before, so it is asked every 0.15 s.
for _ in $(seq 1 800); do
  [ "$(my_sql "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT'")" -ge 1 ] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.15
done
RUN=$(newest_run_dir)
N=$(count_events "$RUN" write.progress)
if [ "${N:-0}" -ge 1 ]; then pass "held after a write.progress (100000 rows sent)"; else fail "held before any write.progress"; fi
kill -INT "$PID" 2>/dev/null
echo "ROLLBACK;" >&7
exec 7>&-
wait "$LOCK_PID"
RC=0
wait "$PID" || RC=$?
assert_eq 1 "$RC" "interrupted run fails"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ECANCEL "$(status_code "$RUN")" "cancelled"
assert_eq "load_data" "$(channel "$RUN" | cut -d' ' -f1)" "it was loading"
assert_eq 1 "$(count_events "$RUN" write.error)" "write.error"
assert_eq "0	old" "$(my_sql "SELECT * FROM mb_cancel")" "the table is unchanged"

# Rounding to the column's scale is a Note, which INSERT lets pass: so does
# the load, with a warning line naming it.
new_case notes-pass
my_sql "DROP TABLE IF EXISTS mb_note; CREATE TABLE mb_note (id BIGINT PRIMARY KEY, n DECIMAL(10,2)) ENGINE=InnoDB"
write_connections
printf 'id,n\n1,1.005\n2,2.5\n3,-0.125\n' >in.csv
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_note'
run_osiris run p.yaml
assert_exit 0 "decimal rounding notes do not fail the load"
RUN=$(newest_run_dir)
assert_eq "1	1.01
2	2.50
3	-0.13" "$(my_sql "SELECT * FROM mb_note ORDER BY id")" "rounded as INSERT rounds"
assert_matches "$RUN/osiris.log" "WARNING .*LOAD DATA into mb_note: 2 warning\(s\) at Note level.*first: Data truncated for column 'n' at row 1"
NOTE_LOAD=$(my_sql "SELECT * FROM mb_note ORDER BY id")

# ------------------------------------------------------------ fallback
new_case fallback
my_sql "SET GLOBAL local_infile = 0"
assert_eq 0 "$(my_sql "SELECT @@GLOBAL.local_infile")" "local_infile is OFF"
my_sql "DROP TABLE IF EXISTS mb_fa, mb_fr, mb_fu; CREATE TABLE mb_fa LIKE mb_src; CREATE TABLE mb_fr LIKE mb_src;
INSERT INTO mb_fr (id, s) VALUES (1, 'old'), (99, 'stale'); CREATE TABLE mb_fu LIKE mb_u; INSERT INTO mb_fu (id, s, v, extra) VALUES (1, 'old', 'old', 'keep'), (8, 'old', 'old', 'keep'), (99, 'other', NULL, 'keep')"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_fa'
run_osiris run p.yaml
assert_exit 0 "append with local_infile OFF"
RUN=$(newest_run_dir)
assert_eq "insert insert" "$(channel "$RUN")" "channel insert in write.start and write.complete"
assert_eq 1 "$(count_events "$RUN" write.start)" "one write.start"
assert_matches "$RUN/osiris.log" "WARNING .*refused LOAD DATA LOCAL INFILE .*writing mb_fa with INSERT statements instead"
assert_contains "$RUN/osiris.log" "table mb_fa (append, insert)"
assert_eq "$SRC" "$(dump mb_fa)" "append through INSERT: the same content"
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_fr
write_mode: replace
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "replace with local_infile OFF"
assert_eq "insert insert" "$(channel "$(newest_run_dir)")" "channel insert"
assert_eq "$SRC" "$(dump mb_fr)" "replace through INSERT: the same content"
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_fu
write_mode: upsert
primary_key: id'
run_osiris run p.yaml
assert_exit 0 "upsert with local_infile OFF"
assert_eq "insert insert" "$(channel "$(newest_run_dir)")" "channel insert"
assert_eq "$(my_sql "SELECT * FROM mb_u ORDER BY id")" "$(my_sql "SELECT * FROM mb_fu ORDER BY id")" \
  "upsert through INSERT: the same table as through LOAD DATA"
my_sql "DELETE FROM mb_ud; INSERT INTO mb_ud (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')"
cat >in.csv <<'CSV'
id,name,flag,at
2,TWO,true,2024-01-01T10:00:00.5
4,four,false,2024-01-02T00:00:00
4,FOUR,true,2024-01-03T23:59:59.999999
2,TWO again,false,2024-01-04T00:00:01
CSV
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_ud
mode: upsert
primary_key: [id]'
run_osiris run p.yaml
assert_exit 0 "upsert with duplicate keys, local_infile OFF"
assert_eq "$UPSERT_CSV" "$(my_sql "SELECT id, name, flag, at, extra FROM mb_ud ORDER BY id")" \
  "duplicate keys: the same winner through INSERT"
my_sql "DELETE FROM mb_note"
printf 'id,n\n1,1.005\n2,2.5\n3,-0.125\n' >in.csv
pipeline p.yaml filesystem.csv_extractor 'path: in.csv' 'table: mb_note'
run_osiris run p.yaml
assert_exit 0 "decimal rounding through INSERT"
assert_eq "$NOTE_LOAD" "$(my_sql "SELECT * FROM mb_note ORDER BY id")" "the same rounding through INSERT"
my_sql "DROP TABLE IF EXISTS mb_ff; CREATE TABLE mb_ff LIKE mb_src; INSERT INTO mb_ff SELECT * FROM mb_src WHERE id = 3"
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_ff'
run_osiris run p.yaml
assert_exit 1 "duplicate key through INSERT fails too"
assert_contains "$(newest_run_dir)/status.json" "Duplicate entry '3'"
assert_eq 1 "$(my_sql "SELECT COUNT(*) FROM mb_ff")" "the table is unchanged"
my_sql "SET GLOBAL local_infile = 1"

new_case back-on
my_sql "DROP TABLE IF EXISTS mb_on; CREATE TABLE mb_on LIKE mb_src"
write_connections
pipeline p.yaml mysql.extractor "$MY_EX" 'table: mb_on'
run_osiris run p.yaml
assert_exit 0 "append with local_infile back ON"
assert_eq "load_data load_data" "$(channel "$(newest_run_dir)")" "load_data again"
assert_eq "$SRC" "$(dump mb_on)" "the same content"

my_sql "DROP TABLE IF EXISTS mb_src, mb_a, mb_c, mb_r, mb_u, mb_ud, mb_big, mb_f, mb_bad, mb_uf, mb_new, mb_note, mb_cancel, mb_fa, mb_fr, mb_fu, mb_ff, mb_on"
finish
