#!/usr/bin/env bash
# postgres.writer and supabase.writer against the throwaway PostgreSQL:
# MySQL -> PostgreSQL type round trip (values compared exactly), append /
# replace / upsert, create_if_missing, events, late failures that must
# leave the table unchanged, and the MySQL -> SQL -> PostgreSQL example.
source "$(dirname "$0")/lib.sh"

# gen_csv FILE N [BAD_ROW]: id,name,score,active,day,at ; row BAD_ROW (if
# given) repeats id 5.
gen_csv() {
  python3 - "$@" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
bad = int(sys.argv[3]) if len(sys.argv) > 3 else -1
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("id,name,score,active,day,at\n")
    for i in range(1, n + 1):
        k = 5 if i == bad else i
        f.write('%d,"name %d, ""q""\tx",%s,%s,2024-01-%02d,2024-01-01T00:00:%02d\n'
                % (k, i, repr(i / 8), "true" if i % 2 else "false", i % 28 + 1, i % 60))
PY
}

# pipeline FILE COMPONENT CONFIG_YAML_LINES [INPUT_CSV]: csv -> writer.
pipeline() {
  local file=$1 comp=$2 cfg=$3 input=${4:-in.csv}
  cat >"$file" <<YAML
oml_version: "0.1.0"
name: pg-write
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: $input
  - id: write
    component: $comp
    mode: write
    needs: [read]
    config:
$(printf '%s\n' "$cfg" | sed 's/^/      /')
YAML
}

table_digest() { pg_sql "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM $1 t"; }

# ---------------------------------------------------------------- round trip
new_case roundtrip
create_mysql_types
pg_sql "DROP TABLE IF EXISTS t_types"
write_connections
cat >p1.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-to-pg
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT * FROM t_types ORDER BY id"
  - id: csv
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: from_mysql.csv
  - id: wr
    component: postgres.writer
    mode: write
    needs: [ex]
    config:
      connection: "@postgres.test"
      table: t_types
      write_mode: replace
      primary_key: id
      create_if_missing: true
YAML
run_osiris run p1.yaml
assert_exit 0 "MySQL -> PostgreSQL with create_if_missing"
RUN=$(newest_run_dir)
assert_eq 1 "$(count_events "$RUN" table.exists_check)" "table.exists_check"
assert_eq 1 "$(count_events "$RUN" table.ddl_planned)" "table.ddl_planned"
assert_eq 1 "$(count_events "$RUN" table.ddl_executed)" "table.ddl_executed"
assert_contains "$RUN/events.jsonl" 'PRIMARY KEY (\"id\")'
assert_file "$RUN/artifacts/wr/ddl_plan.sql"
assert_matches "$RUN/events.jsonl" '"event":"write.complete".*"rows_written":4'
assert_matches "$RUN/metrics.jsonl" '"metric":"rows_written","value":4'
assert_eq "id:bigint ubi:numeric(38,0) d:numeric(38,4) f:double precision dt:date dtm:timestamp without time zone vc:text" \
  "$(pg_sql "SELECT string_agg(column_name || ':' || CASE WHEN data_type = 'numeric' THEN 'numeric(' || numeric_precision || ',' || numeric_scale || ')' ELSE data_type END, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 't_types' AND column_name IN ('id','ubi','d','f','dt','dtm','vc')")" \
  "DDL types from the frame"
cat >p2.yaml <<'YAML'
oml_version: "0.1.0"
name: pg-back
steps:
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      query: "SELECT * FROM t_types ORDER BY id"
  - id: csv
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: from_pg.csv
YAML
run_osiris run p2.yaml
assert_exit 0 "read the table back"
assert_files_equal from_mysql.csv from_pg.csv "every type MySQL -> PostgreSQL -> CSV equals MySQL -> CSV"
assert_eq "-1234567890123456.1250|18446744073709551615|2024-01-31 12:34:56.123456|\x00ff10" \
  "$(pg_sql "SELECT d, ubi, dtm, vb FROM t_types WHERE id = 1")" "exact values in PostgreSQL"
assert_eq "t" "$(pg_sql "SELECT tx = E'line1\nline2\ttab\\\\back' AND vc = 'héllo 🎉 \"q\",x' FROM t_types WHERE id = 1")" \
  "text with tab, newline, backslash and emoji through COPY"
assert_eq "t" "$(pg_sql "SELECT ti IS NULL AND tx IS NULL FROM t_types WHERE id = 2")" "NULLs stay NULL"
assert_no_secret "$RUN" "$OUT" "$ERR"

# ---------------------------------------------------------------- modes
new_case append
pg_sql "DROP TABLE IF EXISTS w_append; CREATE TABLE w_append (id bigint, name text, score double precision, active boolean, day date, at timestamp)"
write_connections
gen_csv in.csv 1000
pipeline p.yaml postgres.writer "table: w_append
write_mode: append"
run_osiris run p.yaml
assert_exit 0 "append 1000 rows"
run_osiris run p.yaml
assert_exit 0 "append again"
assert_eq 2000 "$(pg_sql "SELECT count(*) FROM w_append")" "append adds rows"
assert_eq 'name 7, "q"	x|0.875|t|2024-01-08|2024-01-01 00:00:07' \
  "$(pg_sql "SELECT name, score, active, day, at FROM w_append WHERE id = 7 LIMIT 1")" "values through COPY"

new_case missing-table
pg_sql "DROP TABLE IF EXISTS w_missing"
write_connections
gen_csv in.csv 3
pipeline p.yaml postgres.writer "table: w_missing"
run_osiris run p.yaml
assert_exit 1 "missing table without create_if_missing"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ENOTFOUND "$(status_code "$RUN")" "missing table code"
assert_contains "$RUN/status.json" "create_if_missing is false"
assert_eq "" "$(pg_sql "SELECT to_regclass('w_missing')")" "no table created"

new_case replace
pg_sql "DROP TABLE IF EXISTS w_replace; CREATE TABLE w_replace (id bigint PRIMARY KEY, name text, score double precision, active boolean, day date, at timestamp);
INSERT INTO w_replace SELECT g, 'old', 0, false, '2000-01-01', '2000-01-01' FROM generate_series(1, 50) g"
write_connections
gen_csv in.csv 10
pipeline p.yaml postgres.writer "table: w_replace
write_mode: replace
primary_key: [id]"
run_osiris run p.yaml
assert_exit 0 "replace"
assert_eq "10|0" "$(pg_sql "SELECT count(*), count(*) FILTER (WHERE name = 'old') FROM w_replace")" "table content is the frame"

new_case upsert
pg_sql "DROP TABLE IF EXISTS w_upsert; CREATE TABLE w_upsert (id bigint PRIMARY KEY, name text, score double precision, active boolean, day date, at timestamp, extra text DEFAULT 'keep');
INSERT INTO w_upsert (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')"
write_connections
cat >in.csv <<'CSV'
id,name,score,active,day,at
2,TWO,2.5,true,2024-02-02,2024-02-02T02:02:02
4,four,4.5,false,2024-04-04,2024-04-04T04:04:04.5
4,FOUR,4.25,true,2024-04-05,2024-04-05T04:04:04
CSV
pipeline p.yaml postgres.writer "table: w_upsert
mode: upsert
primary_key: id"
run_osiris run p.yaml
assert_exit 0 "upsert"
assert_eq "1|one||keep
2|TWO|2.5|keep
3|three||keep
4|FOUR|4.25|keep" "$(pg_sql "SELECT id, name, score, extra FROM w_upsert ORDER BY id")" \
  "upsert updates, inserts, last duplicate wins, other columns kept"

new_case create-composite-key
pg_sql "DROP TABLE IF EXISTS w_created"
write_connections
gen_csv in.csv 20
pipeline p.yaml postgres.writer "table: w_created
write_mode: upsert
primary_key: [id, name]
create_if_missing: true"
run_osiris run p.yaml
assert_exit 0 "create with a composite key, upsert"
run_osiris run p.yaml
assert_exit 0 "upsert the same rows again"
assert_eq 20 "$(pg_sql "SELECT count(*) FROM w_created")" "upsert twice keeps 20 rows"
assert_eq "id,name" "$(pg_sql "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'w_created'::regclass AND i.indisprimary")" \
  "composite primary key created"

new_case other-schema
pg_sql "DROP SCHEMA IF EXISTS s1 CASCADE; CREATE SCHEMA s1"
write_connections
gen_csv in.csv 5
pipeline p.yaml postgres.writer "table: Items
schema: s1
create_if_missing: true"
run_osiris run p.yaml
assert_exit 0 "create in another schema, mixed-case name"
assert_eq 5 "$(pg_sql 'SELECT count(*) FROM s1."Items"')" "rows in s1.Items"
assert_contains "$(newest_run_dir)/events.jsonl" '"event":"artifact_created"'

# ---------------------------------------------------------------- failures
new_case late-failure-append
pg_sql "DROP TABLE IF EXISTS w_late; CREATE TABLE w_late (id bigint PRIMARY KEY, name text, score double precision, active boolean, day date, at timestamp);
INSERT INTO w_late SELECT g, 'old ' || g, g, true, '2000-01-01', '2000-01-01' FROM generate_series(1, 10) g"
BEFORE=$(table_digest w_late)
write_connections
gen_csv in.csv 150000 149990 # row 149990 repeats id 5, which also exists
pipeline p.yaml postgres.writer "table: w_late
write_mode: append"
run_osiris run p.yaml
assert_exit 1 "constraint violation near the end of 150k rows"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ESQL "$(status_code "$RUN")" "SQL error code"
assert_contains "$RUN/status.json" "duplicate key"
assert_eq "$BEFORE" "$(table_digest w_late)" "append failure leaves the table unchanged"
assert_eq 1 "$(count_events "$RUN" write.error)" "write.error event"
if [ "$(count_events "$RUN" write.progress)" -ge 1 ]; then pass "write.progress"; else fail "no write.progress event for 150k rows"; fi

new_case late-failure-replace
gen_csv in.csv 150000 149990
write_connections
pipeline p.yaml postgres.writer "table: w_late
write_mode: replace
primary_key: id"
run_osiris run p.yaml
assert_exit 1 "replace with a duplicate key late in the input"
assert_eq "$BEFORE" "$(table_digest w_late)" "replace failure leaves the table unchanged"

new_case late-failure-upsert
pg_sql "ALTER TABLE w_late ADD CONSTRAINT score_small CHECK (score < 18000)"
write_connections
gen_csv in.csv 150000
pipeline p.yaml postgres.writer "table: w_late
write_mode: upsert
primary_key: id"
run_osiris run p.yaml
assert_exit 1 "upsert with a CHECK violation late in the input"
assert_eq "$BEFORE" "$(table_digest w_late)" "upsert failure leaves the table unchanged"
pg_sql "ALTER TABLE w_late DROP CONSTRAINT score_small"

new_case failure-created-table-rolled-back
pg_sql "DROP TABLE IF EXISTS w_new_fail"
write_connections
cat >in.csv <<'CSV'
id,name
1,a
1,b
CSV
pipeline p.yaml postgres.writer "table: w_new_fail
write_mode: replace
primary_key: id
create_if_missing: true"
run_osiris run p.yaml
assert_exit 1 "duplicate key into a new table"
assert_eq "" "$(pg_sql "SELECT to_regclass('w_new_fail')")" "the CREATE TABLE is rolled back too"

new_case bad-mode
write_connections
gen_csv in.csv 2
pipeline p.yaml postgres.writer "table: w_append
write_mode: merge"
run_osiris run p.yaml
if [ "$RC" = 1 ] || [ "$RC" = 2 ]; then pass "unknown write_mode rejected"; else fail "unknown write_mode: exit $RC"; fi

# ---------------------------------------------------------------- supabase
new_case supabase-writer
pg_sql "DROP TABLE IF EXISTS s_items"
write_connections
gen_csv in.csv 100
pipeline p.yaml supabase.writer "connection: \"@supabase.test\"
table: s_items
write_mode: upsert
primary_key: id
create_if_missing: true"
run_osiris run p.yaml
assert_exit 0 "supabase.writer over pg_dsn"
assert_eq 100 "$(pg_sql "SELECT count(*) FROM s_items")" "supabase rows"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case supabase-rest-only
write_connections
gen_csv in.csv 2
pipeline p.yaml supabase.writer "connection: \"@supabase.restonly\"
table: s_items"
run_osiris run p.yaml
assert_exit 1 "supabase.writer without a SQL channel fails clearly"
assert_contains "$(newest_run_dir)/status.json" "no SQL channel"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

# ------------------------------------------------- MySQL -> SQL -> PostgreSQL
new_case mysql-sql-pg
my_sql "DROP TABLE IF EXISTS sales;
CREATE TABLE sales (id INT PRIMARY KEY, region VARCHAR(10), amount DECIMAL(10,2), sold DATETIME);
INSERT INTO sales VALUES (1,'north',10.50,'2024-01-01 10:00:00'),(2,'south',20.25,'2024-01-02 11:00:00'),
(3,'north',5.00,'2024-01-03 12:00:00'),(4,'east',7.75,'2024-01-04 13:00:00');"
pg_sql "DROP TABLE IF EXISTS region_totals; CREATE TABLE region_totals (region text PRIMARY KEY, orders bigint, total numeric(12,2));
INSERT INTO region_totals VALUES ('stale', 1, 1)"
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-sql-postgres
steps:
  - id: extract-sales
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      table: sales
  - id: totals
    component: duckdb.processor
    mode: transform
    needs: [extract-sales]
    config:
      query: "SELECT region, COUNT(*) AS orders, SUM(amount) AS total FROM df_extract_sales GROUP BY region ORDER BY region"
  - id: load
    component: postgres.writer
    mode: write
    needs: [totals]
    config:
      connection: "@postgres.test"
      table: region_totals
      write_mode: replace
      primary_key: region
YAML
run_osiris run p.yaml
assert_exit 0 "MySQL -> SQL processor -> PostgreSQL replace"
assert_eq "east|1|7.75
north|2|15.50
south|1|20.25" "$(pg_sql "SELECT * FROM region_totals ORDER BY region")" "region totals replaced"

finish
