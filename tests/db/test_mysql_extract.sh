#!/usr/bin/env bash
# mysql.extractor against the throwaway MariaDB: every type of the mapping
# to CSV exactly, zero dates, table/columns/limit, socket and string port,
# streaming a larger table, several tables to CSV files, query errors.
source "$(dirname "$0")/lib.sh"

create_mysql_types

new_case types
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-types
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT * FROM t_types ORDER BY id;"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out/types.csv
YAML
run_osiris run p.yaml
assert_exit 0 "mysql types pipeline"
cat >expected.csv <<'CSV'
id,ti,usi,mi,i,ui,bi,ubi,d,f,db,dt,dtm,ts,tm,y,c,vc,tx,bn,vb,bl,bt,js,en,st
1,-128,65535,-8388608,-2147483648,4294967295,-9223372036854775808,18446744073709551615,-1234567890123456.1250,1.5,0.1,2024-02-29,2024-01-31T12:34:56.123456,2024-01-31T12:34:56.789,-838:59:59.00,2024,ab,"héllo 🎉 ""q"",x","line1
line2	tab\back",\x616263,\x00ff10,\xdeadbeef,1023,"{""a"": [1, 2]}",b,"x,y"
2,,,,,,,,,,,,,,,,,,,,,,,,,
3,127,0,0,0,0,9223372036854775807,0,0.0000,-32500000000.0,1e+300,,,1970-01-01T00:00:01,00:00:00.00,1901,,,,\x000000,\x,\x,0,[],a,
4,1,1,1,1,1,1,9223372036854775808,99999999999999.9999,0.25,-2.5e-300,1000-01-01,9999-12-31T23:59:59.999999,2038-01-19T03:14:07.999,12:00:00.50,2155,z,ascii,plain,\x78797a,\x61,\x62,1,null,a,y
CSV
# The CSV writer prints timestamps with 6 fraction digits or none.
python3 - expected.csv <<'PY'
import re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
s = re.sub(r"(T\d\d:\d\d:\d\d)\.(\d{1,5})(?=[,\n])", lambda m: m.group(1) + "." + m.group(2).ljust(6, "0"), s)
open(p, "w", encoding="utf-8").write(s)
PY
assert_files_equal expected.csv out/types.csv "every MySQL type to CSV, exact"
RUN=$(newest_run_dir)
assert_eq 2 "$(count_events "$RUN" zero_date_as_null)" "one zero_date_as_null event per zero-date column"
assert_contains "$RUN/metrics.jsonl" '"metric":"rows_read","value":4'
assert_no_secret "$RUN" "$OUT" "$ERR"

new_case table-columns-limit
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-table
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.strport"
      table: t_types
      columns: [id, vc, d]
      limit: 2
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
run_osiris run p.yaml
assert_exit 0 "table + columns + limit, port as a string"
assert_eq "id,vc,d" "$(head -n 1 out.csv)" "columns in the configured order"
assert_eq 3 "$(wc -l <out.csv | tr -d ' ')" "limit 2 gives 2 rows"

new_case socket
write_connections
sed -e 's/@mysql.strport/@mysql.sock/' -e 's/limit: 2/limit: 1/' ../table-columns-limit/p.yaml >p.yaml
run_osiris run p.yaml
assert_exit 0 "connection over the Unix socket"
assert_eq 2 "$(wc -l <out.csv | tr -d ' ')" "socket read 1 row"

new_case stream-many
my_sql "
DROP TABLE IF EXISTS t_big;
CREATE TABLE t_big (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2), created DATETIME, note TEXT);
INSERT INTO t_big
  SELECT seq, CONCAT('name-', seq), seq / 100, TIMESTAMPADD(SECOND, seq, '2024-01-01'),
         IF(seq % 10 = 0, NULL, REPEAT('x', seq % 50)) FROM seq_1_to_200000;
" || fail "cannot create t_big"
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-big
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT * FROM t_big ORDER BY id"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: big.csv
YAML
run_osiris run p.yaml
assert_exit 0 "200k rows streamed"
assert_eq 200001 "$(wc -l <big.csv | tr -d ' ')" "200k rows and a header"
assert_eq "200000,name-200000,2000.00,2024-01-03T07:33:20," "$(tail -n 1 big.csv)" "last row exact"
# the mysql client agrees on every value (NULL and the empty TEXT both print empty)
my_sql "SELECT id, name, amount, DATE_FORMAT(created, '%Y-%m-%dT%H:%i:%s'), IFNULL(note,'') FROM t_big ORDER BY id" |
  tr '\t' ',' >client.csv
tail -n +2 big.csv >ours.csv
assert_files_equal client.csv ours.csv "200k rows equal to the mysql client's output"

new_case several-tables
my_sql "
DROP TABLE IF EXISTS customers; DROP TABLE IF EXISTS orders;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20));
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(8,2));
INSERT INTO customers VALUES (1,'Ada'),(2,'Linus');
INSERT INTO orders VALUES (10,1,9.99),(11,2,100.00),(12,1,0.01);"
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-several
steps:
  - id: extract-customers
    component: mysql.extractor
    mode: read
    config:
      query: "SELECT * FROM customers ORDER BY id"
  - id: extract-orders
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      table: orders
  - id: write-customers
    component: filesystem.csv_writer
    mode: write
    needs: [extract-customers]
    config:
      path: out/customers.csv
  - id: write-orders
    component: filesystem.csv_writer
    mode: write
    needs: [extract-orders]
    config:
      path: out/orders.csv
YAML
run_osiris run p.yaml
assert_exit 0 "several MySQL tables to CSV files (default connection too)"
assert_eq "$(printf 'id,name\n1,Ada\n2,Linus')" "$(cat out/customers.csv)" "customers.csv"
assert_eq "$(printf 'id,customer_id,total\n10,1,9.99\n11,2,100.00\n12,1,0.01')" "$(cat out/orders.csv)" "orders.csv"

new_case query-error
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-bad-query
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT * FROM no_such_table"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
run_osiris run p.yaml
assert_exit 1 "a query error fails the run"
RUN=$(newest_run_dir)
assert_eq OSIRIS_ESQL "$(status_code "$RUN")" "query error code"
assert_contains "$RUN/status.json" "no_such_table"
assert_no_file out.csv

new_case no-query-no-table
write_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: mysql-no-query
steps:
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
YAML
# The driver's spec says one of query/table: validation refuses the
# pipeline before anything runs (exit 2, the place named), no run dir.
run_osiris run p.yaml
assert_exit 2 "neither query nor table"
assert_eq 1 "$(grep -c "needs one of 'query', 'table'" "$ERR")" "the message names both keys"
assert_eq "" "$(ls -d logs/run_* 2>/dev/null)" "nothing ran"

finish
