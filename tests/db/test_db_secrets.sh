#!/usr/bin/env bash
# Bad credentials and unreachable servers: exit 1, status.json with a
# connection error code, a message naming host:port/database, and no
# password or DSN anywhere in the run directory or the output.
source "$(dirname "$0")/lib.sh"

one_step() { # FILE COMPONENT CONNECTION
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: bad-credentials
steps:
  - id: ex
    component: $2
    mode: read
    config:
      connection: "$3"
      query: "SELECT 1 AS one"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
}

check_failed_run() { # WHAT EXPECTED_MESSAGE_FRAGMENT
  local run
  run=$(newest_run_dir)
  assert_exit 1 "$1: exit 1"
  assert_file "$run/status.json"
  assert_eq false "$(json_get "$run/status.json" 'd["ok"]')" "$1: status ok false"
  assert_eq OSIRIS_ECONN "$(status_code "$run")" "$1: connection error code"
  assert_contains "$run/status.json" "$2"
  assert_matches "$ERR" "failed at step ex" "$1: stderr names the step"
  assert_no_file out.csv
  assert_no_secret "$run" "$OUT" "$ERR" osiris_connections.yaml
}

new_case mysql-bad-password
write_connections
one_step p.yaml mysql.extractor "@mysql.badpw"
run_osiris run p.yaml
check_failed_run "mysql bad password" "MySQL connection to $OSIRIS_TEST_MYSQL_HOST:$OSIRIS_TEST_MYSQL_PORT/$OSIRIS_TEST_MYSQL_DB failed"
assert_contains "$(newest_run_dir)/status.json" "Access denied"

new_case mysql-bad-password-json
write_connections
one_step p.yaml mysql.extractor "@mysql.badpw"
run_osiris run p.yaml --json
assert_exit 1 "--json run exit 1"
assert_eq error "$(json_get "$OUT" 'd["status"]')" "--json status error"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case mysql-writer-bad-password
write_connections
printf 'a\n1\n' >in.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: bad-writer
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
      connection: "@mysql.badpw"
      table: whatever
YAML
run_osiris run p.yaml
assert_exit 1 "mysql.writer bad password"
assert_eq OSIRIS_ECONN "$(status_code "$(newest_run_dir)")" "writer: connection error code"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case mysql-unreachable
write_connections
sed -i "0,/port: \${OSIRIS_TEST_MYSQL_PORT}/s//port: 1/" osiris_connections.yaml
one_step p.yaml mysql.extractor "@mysql.test"
run_osiris run p.yaml
check_failed_run "mysql unreachable" "MySQL connection to $OSIRIS_TEST_MYSQL_HOST:1/$OSIRIS_TEST_MYSQL_DB failed"

new_case pg-bad-password
write_connections
one_step p.yaml postgres.extractor "@postgres.badpw"
run_osiris run p.yaml
check_failed_run "postgres bad password" "password authentication failed"
assert_contains "$(newest_run_dir)/status.json" "$OSIRIS_TEST_PG_HOST:$OSIRIS_TEST_PG_PORT/$OSIRIS_TEST_PG_DB"

new_case pg-bad-dsn
write_connections
one_step p.yaml postgres.extractor "@postgres.baddsn"
run_osiris run p.yaml
check_failed_run "postgres bad DSN password" "password authentication failed"
assert_not_contains "$(newest_run_dir)/status.json" "postgresql://"

new_case pg-writer-bad-password
write_connections
printf 'a\n1\n' >in.csv
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: bad-writer
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
  - id: write
    component: postgres.writer
    mode: write
    needs: [read]
    config:
      connection: "@postgres.badpw"
      table: whatever
YAML
run_osiris run p.yaml
assert_exit 1 "postgres.writer bad password"
assert_eq OSIRIS_ECONN "$(status_code "$(newest_run_dir)")" "writer: connection error code"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

finish
