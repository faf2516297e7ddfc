#!/usr/bin/env bash
# The keys of Osiris 0.5.7's specs for the database components (issue 15),
# each with its effect on a real server: mysql.extractor offset and schema,
# mysql.writer upsert_keys / create_table / truncate_before (aliases of
# primary_key / create_if_missing / write_mode: replace) and schema,
# write_mode in any case, the no-effect keys (echo, pool_size,
# pool_recycle) noted once per run, supabase.extractor over its SQL
# channel: select, filter, order, offset, schema, timeout, retries.
source "$(dirname "$0")/lib.sh"

extract_pipeline() { # FILE COMPONENT CONNECTION CONFIG_LINES
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: keys-extract
steps:
  - id: read
    component: $2
    mode: read
    config:
      connection: "$3"
$(printf '%s\n' "$4" | sed 's/^/      /')
  - id: save
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config:
      path: out.csv
YAML
}

write_pipeline() { # FILE CONFIG_LINES
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: keys-write
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
  - id: write
    component: mysql.writer
    mode: write
    needs: [read]
    config:
      connection: "@mysql.test"
$(printf '%s\n' "$2" | sed 's/^/      /')
YAML
}

my_sql "DROP TABLE IF EXISTS k_src; CREATE TABLE k_src (id INT PRIMARY KEY, name VARCHAR(20));
        INSERT INTO k_src VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e')"

# ----------------------------------------------------- mysql.extractor
new_case mysql-offset-schema
write_connections
extract_pipeline p.yaml mysql.extractor "@mysql.test" "table: k_src
schema: ${OSIRIS_TEST_MYSQL_DB}
offset: 2
echo: true
pool_size: 3"
run_osiris run p.yaml
assert_exit 0 "mysql.extractor with offset, schema and no-effect keys"
assert_eq "id,name
3,c
4,d
5,e" "$(cat out.csv)" "offset 2 skips the first two rows of the schema's table"
RUN=$(newest_run_dir)
assert_eq 2 "$(count_events "$RUN" config_key_no_effect)" "echo and pool_size noted"
assert_matches "$RUN/osiris.log" "config key 'pool_size' is accepted for compatibility and has no effect here"

new_case mysql-schema-elsewhere
write_connections
extract_pipeline p.yaml mysql.extractor "@mysql.test" "table: k_src
schema: no_such_database_k"
run_osiris run p.yaml
assert_exit 1 "schema names the database the table is read from"
assert_contains "$ERR" "no_such_database_k" "the error names that database"

new_case mysql-offset-query
write_connections
extract_pipeline p.yaml mysql.extractor "@mysql.test" "query: SELECT * FROM k_src
offset: 1"
run_osiris run p.yaml
assert_exit 1 "offset with query is refused, not ignored"
assert_contains "$ERR" "offset applies to table, not to query" "message says why"

# ------------------------------------------------------- mysql.writer
printf 'id,name\n1,x\n2,y\n' >"$E2E_WORK/in2.csv"

new_case mysql-create-table-upsert-keys
my_sql "DROP TABLE IF EXISTS k_dst"
write_connections
cp "$E2E_WORK/in2.csv" in.csv
write_pipeline p.yaml "table: k_dst
schema: ${OSIRIS_TEST_MYSQL_DB}
create_table: true
write_mode: UPSERT
upsert_keys: [id]
pool_recycle: 120
echo: false"
run_osiris run p.yaml
assert_exit 0 "create_table + upsert_keys + write_mode UPSERT"
assert_eq "PRIMARY:id" "$(my_sql "SELECT CONCAT(index_name, ':', column_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'k_dst'")" \
  "create_table made the table, upsert_keys its primary key"
printf 'id,name\n2,z\n3,w\n' >in.csv
run_osiris run p.yaml
assert_exit 0 "second upsert"
assert_eq "1	x
2	z
3	w" "$(my_sql "SELECT id, name FROM k_dst ORDER BY id")" "upsert by upsert_keys updated 2 and added 3"

new_case mysql-truncate-before
write_connections
printf 'id,name\n9,n\n' >in.csv
write_pipeline p.yaml "table: k_dst
truncate_before: true
upsert_keys: id"
run_osiris run p.yaml
assert_exit 0 "truncate_before: true"
assert_eq "9	n" "$(my_sql "SELECT id, name FROM k_dst ORDER BY id")" "the table holds only the new rows"
assert_eq 0 "$(count_events "$(newest_run_dir)" config_key_no_effect)" "no notice without no-effect keys"

new_case mysql-create-table-false
my_sql "DROP TABLE IF EXISTS k_none"
write_connections
cp "$E2E_WORK/in2.csv" in.csv
write_pipeline p.yaml "table: k_none
create_table: false"
run_osiris run p.yaml
assert_exit 1 "create_table: false and a missing table"
assert_contains "$ERR" "does not exist" "the table is not created"

new_case mysql-conflicts
write_connections
cp "$E2E_WORK/in2.csv" in.csv
write_pipeline p.yaml "table: k_dst
truncate_before: true
write_mode: upsert
upsert_keys: [id]
create_table: false
create_if_missing: true"
run_osiris validate p.yaml
assert_exit 2 "conflicting 0.5.7 and osiris keys fail validation"
assert_contains "$ERR" "p.yaml:16:24: steps[1].config.truncate_before: 'truncate_before: true' conflicts with 'write_mode: upsert'" "truncate_before vs write_mode, with its place"
assert_contains "$ERR" "p.yaml:19:21: steps[1].config.create_table: 'create_table' and 'create_if_missing' are both given" "create_table vs create_if_missing, with its place"

# ------------------------------------------- supabase.extractor (SQL)
pg_sql "DROP TABLE IF EXISTS k_sb; CREATE TABLE k_sb (id int PRIMARY KEY, name text, score int);
        INSERT INTO k_sb VALUES (1,'bob',1),(2,'abe',5),(3,'cab',4),(4,'o''b',9),(5,'dan',7),(6,NULL,8)"

new_case supabase-filter-order
write_connections
extract_pipeline p.yaml supabase.extractor "@supabase.test" "table: k_sb
schema: public
select: id,name
filter: {score: gte.4, name: \"like.*b*\"}
order: id.desc
offset: 1
limit: 2"
run_osiris run p.yaml
assert_exit 0 "supabase.extractor select/filter/order/offset/limit over SQL"
assert_eq "id,name
3,cab
2,abe" "$(cat out.csv)" "rows with score >= 4 and a b in the name, newest first, the first skipped"

new_case supabase-filter-in-is
write_connections
extract_pipeline p.yaml supabase.extractor "@supabase.test" "table: k_sb
select: \"*\"
filter: {name: \"in.(o'b,\\\"x,y\\\",bob)\", score: not.is.null, id: not.eq.1}"
run_osiris run p.yaml
assert_exit 0 "in. and not.is. filters"
assert_eq "id,name,score
4,o'b,9" "$(cat out.csv)" "select * and in/not filters, a quote in a value"

new_case supabase-timeout
write_connections
extract_pipeline p.yaml supabase.extractor "@supabase.test" "query: SELECT current_setting('statement_timeout') AS st
timeout: 7"
run_osiris run p.yaml
assert_exit 0 "timeout"
assert_eq "st
7s" "$(cat out.csv)" "timeout is the statement_timeout of the session"

new_case supabase-retries
cat >osiris_connections.yaml <<'YAML'
connections:
  supabase:
    closed:
      host: 127.0.0.1
      port: 1
      database: x
      user: u
      password: ${OSIRIS_TEST_BAD_PASSWORD}
YAML
extract_pipeline p.yaml supabase.extractor "@supabase.closed" "table: k_sb
retries: 1"
run_osiris run p.yaml
assert_exit 1 "a closed port fails"
assert_contains "$ERR" "(2 attempts)" "retries: 1 is two connection attempts"
assert_matches "$(newest_run_dir)/osiris.log" "attempt 1 of 2, next in 1 s"
assert_no_secret .

finish
