#!/usr/bin/env bash
# mysql.writer against the throwaway MariaDB: append / replace / upsert,
# create_if_missing, MySQL -> MySQL type round trip, CSV -> MySQL values,
# late failures that must leave the table unchanged.
source "$(dirname "$0")/lib.sh"

gen_csv() { # FILE N [BAD_ROW]: id,name,score,active,day,at; BAD_ROW repeats id 5
  python3 - "$@" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
bad = int(sys.argv[3]) if len(sys.argv) > 3 else -1
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("id,name,score,active,day,at\n")
    for i in range(1, n + 1):
        k = 5 if i == bad else i
        f.write('%d,"name %d, \'q\' \\\\ ""dq""\tx",%s,%s,2024-01-%02d,2024-01-01T00:00:%02d.25\n'
                % (k, i, repr(i / 8), "true" if i % 2 else "false", i % 28 + 1, i % 60))
PY
}

pipeline() { # FILE CONFIG_LINES [INPUT]
  local file=$1 cfg=$2 input=${3:-in.csv}
  cat >"$file" <<YAML
oml_version: "0.1.0"
name: mysql-write
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: $input
  - id: write
    component: mysql.writer
    mode: write
    needs: [read]
    config:
      connection: "@mysql.test"
$(printf '%s\n' "$cfg" | sed 's/^/      /')
YAML
}

table_digest() { my_sql "SELECT CONCAT(COUNT(*), ':', IFNULL(MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, score) ORDER BY id SEPARATOR '#')), '')) FROM $1"; }

new_case create-append
my_sql "DROP TABLE IF EXISTS m_items"
write_connections
gen_csv in.csv 2500
pipeline p.yaml "table: m_items
create_if_missing: true
primary_key: id
batch_size: 700"
run_osiris run p.yaml
assert_exit 0 "create_if_missing + append 2500 rows in batches"
RUN=$(newest_run_dir)
assert_eq 1 "$(count_events "$RUN" table.ddl_executed)" "table.ddl_executed"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":2500'
assert_matches "$RUN/metrics.jsonl" '"metric":"rows_written","value":2500'
assert_eq 2500 "$(my_sql "SELECT COUNT(*) FROM m_items")" "2500 rows"
assert_eq "name 7, 'q' \\\\\\\\ \"dq\"\\tx	0.875	1	2024-01-08	2024-01-01 00:00:07.250000" \
  "$(my_sql "SELECT name, score, active, day, at FROM m_items WHERE id = 7")" "values exact (quotes, backslash, tab, fractions)"
assert_eq "id:bigint name:longtext score:double active:tinyint day:date at:datetime" \
  "$(my_sql "SELECT GROUP_CONCAT(CONCAT(column_name, ':', data_type) ORDER BY ordinal_position SEPARATOR ' ') FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'm_items'")" \
  "DDL types from the frame"

new_case qualified-name
write_connections
gen_csv in.csv 5
pipeline p.yaml "table: ${OSIRIS_TEST_MYSQL_DB}.m_items
write_mode: upsert
primary_key: id"
run_osiris run p.yaml
assert_exit 0 "db-qualified table name (exists check and upsert)"
assert_eq 0 "$(count_events "$(newest_run_dir)" table.ddl_planned)" "existing table: no DDL"
assert_eq 2500 "$(my_sql "SELECT COUNT(*) FROM m_items")" "upsert of existing keys keeps the count"

new_case missing-table
my_sql "DROP TABLE IF EXISTS m_missing"
write_connections
gen_csv in.csv 3
pipeline p.yaml "table: m_missing"
run_osiris run p.yaml
assert_exit 1 "missing table without create_if_missing"
assert_eq OSIRIS_ENOTFOUND "$(status_code "$(newest_run_dir)")" "missing table code"

new_case replace
my_sql "DROP TABLE IF EXISTS m_replace; CREATE TABLE m_replace (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE, active BOOLEAN, day DATE, at DATETIME(6)) ENGINE=InnoDB;
INSERT INTO m_replace SELECT seq, 'old', 0, 0, '2000-01-01', '2000-01-01' FROM seq_1_to_50;"
write_connections
gen_csv in.csv 10
pipeline p.yaml "table: m_replace
write_mode: replace
primary_key: id"
run_osiris run p.yaml
assert_exit 0 "replace"
assert_eq "10	0" "$(my_sql "SELECT COUNT(*), SUM(name = 'old') FROM m_replace")" "table content is the frame"

new_case upsert
my_sql "DROP TABLE IF EXISTS m_upsert; CREATE TABLE m_upsert (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE, extra VARCHAR(10) DEFAULT 'keep') ENGINE=InnoDB;
INSERT INTO m_upsert (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three');"
write_connections
cat >in.csv <<'CSV'
id,name,score
2,TWO,2.5
4,four,4.5
4,FOUR,4.25
CSV
pipeline p.yaml "table: m_upsert
mode: upsert
primary_key: [id]"
run_osiris run p.yaml
assert_exit 0 "upsert"
assert_eq "1	one	NULL	keep
2	TWO	2.5	keep
3	three	NULL	keep
4	FOUR	4.25	keep" "$(my_sql "SELECT id, name, score, extra FROM m_upsert ORDER BY id")" \
  "upsert updates, inserts, last duplicate wins, other columns kept"

new_case roundtrip
create_mysql_types
my_sql "DROP TABLE IF EXISTS t_types_copy"
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-to-mysql
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      query: "SELECT * FROM t_types ORDER BY id"
  - id: wr
    component: mysql.writer
    mode: write
    needs: [ex]
    config:
      table: t_types_copy
      write_mode: upsert
      primary_key: id
      create_if_missing: true
  - id: csv1
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: a.csv
YAML
run_osiris run p.yaml
assert_exit 0 "MySQL -> MySQL with create_if_missing"
cat >p2.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-back
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      query: "SELECT * FROM t_types_copy ORDER BY id"
  - id: csv
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: b.csv
YAML
run_osiris run p2.yaml
assert_exit 0 "read the copy back"
assert_files_equal a.csv b.csv "every type MySQL -> MySQL -> CSV equals MySQL -> CSV"

new_case late-failure
my_sql "DROP TABLE IF EXISTS m_late; CREATE TABLE m_late (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE, active BOOLEAN, day DATE, at DATETIME(6)) ENGINE=InnoDB;
INSERT INTO m_late SELECT seq, CONCAT('old ', seq), seq, 1, '2000-01-01', '2000-01-01' FROM seq_1_to_10;"
BEFORE=$(table_digest m_late)
write_connections
gen_csv in.csv 60000 59990
pipeline p.yaml "table: m_late
write_mode: append
batch_size: 1000"
run_osiris run p.yaml
assert_exit 1 "duplicate key in the last batch (append)"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ESQL "$(status_code "$RUN")" "SQL error code"
assert_contains "$RUN/status.json" "Duplicate entry"
assert_eq "$BEFORE" "$(table_digest m_late)" "append failure leaves the table unchanged"
pipeline p.yaml "table: m_late
write_mode: replace
primary_key: id
batch_size: 1000"
run_osiris run p.yaml
assert_exit 1 "duplicate key in the last batch (replace)"
assert_eq "$BEFORE" "$(table_digest m_late)" "replace failure leaves the table unchanged"
my_sql "ALTER TABLE m_late ADD CONSTRAINT score_small CHECK (score < 7000)"
gen_csv in.csv 60000
pipeline p.yaml "table: m_late
write_mode: upsert
primary_key: id
batch_size: 1000"
run_osiris run p.yaml
assert_exit 1 "CHECK violation in a late batch (upsert)"
assert_eq "$BEFORE" "$(table_digest m_late)" "upsert failure leaves the table unchanged"

new_case failure-created-table-dropped
my_sql "DROP TABLE IF EXISTS m_new_fail"
write_connections
printf 'id,name\n1,a\n1,b\n' >in.csv
pipeline p.yaml "table: m_new_fail
primary_key: id
create_if_missing: true"
run_osiris run p.yaml
assert_exit 1 "duplicate key into a new table"
assert_eq 0 "$(my_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'm_new_fail'")" \
  "a table created by the failed step is dropped again"

finish
