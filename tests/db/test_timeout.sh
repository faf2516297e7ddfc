#!/usr/bin/env bash
# Timeouts of database extractors whose query never sends a row: MySQL
# SELECT SLEEP(3600), PostgreSQL SELECT pg_sleep(3600).  The query holds
# the step at a known point (the server works, the client waits for the
# first row); only the bound can end the run.  Each run must end with exit
# 1, status.json timed_out naming the step, and the query must be gone
# from the server right after (KILL QUERY / PQcancel): a client that only
# closed its connection would leave the server sleeping for an hour.  A
# step bound and the run's --timeout, for both servers.  The `timeout`
# command around each run is only a hang guard.
source "$(dirname "$0")/lib.sh"

tag=tmo_$$_$RANDOM

# run_db ARGS: osiris run, killed after 90 s at most (a hang guard: a
# client that waits for the query ignores SIGTERM until it returns)
run_db() {
  E2E_CALLS=$((E2E_CALLS + 1))
  OUT=$PWD/.out.$E2E_CALLS
  ERR=$PWD/.err.$E2E_CALLS
  RC=0
  timeout -s KILL 90 "$OSIRIS" run "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
}

# still_running_mysql MARKER: queries of the test server whose text holds it
still_running_mysql() {
  my_sql "SELECT COUNT(*) FROM information_schema.processlist
          WHERE info LIKE CONCAT('%SLEEP(3600) AS ', '$1', '%')"
}
still_running_pg() {
  pg_sql "SELECT COUNT(*) FROM pg_stat_activity
          WHERE state = 'active' AND query LIKE CONCAT('%pg_sleep(3600) AS ', '$1', '%')"
}

# pipeline FILE COMPONENT CONNECTION QUERY [STEP-TIMEOUT]
pipeline() {
  {
    cat <<YAML
oml_version: "0.1.0"
name: db-timeout
steps:
  - id: ex
    component: $2
    mode: read
YAML
    [ -n "${5:-}" ] && echo "    timeout: $5"
    cat <<YAML
    config:
      connection: "$3"
      query: "$4"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out/never.csv
YAML
  } >"$1"
}

expect_timed_out() { # expect_timed_out MESSAGE-SUBSTRING
  local run
  assert_exit 1 "exit 1"
  run=$(newest_run_dir)
  assert_eq "timed_out ex OSIRIS_ECANCEL" \
    "$(json_get "$run/status.json" 'd["reason"]+" "+d["error"]["step_id"]+" "+d["error"]["code"]')" \
    "status.json: timed_out at step ex"
  assert_contains "$run/status.json" "$1"
  assert_contains "$run/events.jsonl" '"event":"step_timeout","step_id":"ex"'
  assert_no_file out/never.csv
}

for bound in step run; do
  args=()
  step_tmo=2
  if [ "$bound" = run ]; then args=(--timeout 2); step_tmo=; fi

  new_case "mysql-$bound"
  write_connections
  m=${tag}_my_$bound
  pipeline p.yaml mysql.extractor "@mysql.test" "SELECT SLEEP(3600) AS $m" "$step_tmo"
  run_db p.yaml "${args[@]}"
  if [ "$bound" = step ]; then
    expect_timed_out "step ex exceeded its timeout of 2 s (steps[0].timeout)"
  else
    expect_timed_out "the run exceeded its timeout of 2 s (--timeout)"
  fi
  assert_eq 0 "$(still_running_mysql "$m")" "the MySQL query was stopped on the server"

  new_case "pg-$bound"
  write_connections
  m=${tag}_pg_$bound
  pipeline p.yaml postgres.extractor "@postgres.test" "SELECT pg_sleep(3600) AS $m" "$step_tmo"
  run_db p.yaml "${args[@]}"
  if [ "$bound" = step ]; then
    expect_timed_out "step ex exceeded its timeout of 2 s (steps[0].timeout)"
  else
    expect_timed_out "the run exceeded its timeout of 2 s (--timeout)"
  fi
  assert_eq 0 "$(still_running_pg "$m")" "the PostgreSQL query was cancelled on the server"
done

# Anything still running (a failed check above) is not left for an hour.
my_sql "SELECT CONCAT('KILL QUERY ', id, ';') FROM information_schema.processlist
        WHERE info LIKE CONCAT('%SLEEP(3600) AS ', '$tag', '%')" 2>/dev/null |
  while read -r k; do my_sql "$k" 2>/dev/null; done
pg_sql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
        WHERE query LIKE CONCAT('%pg_sleep(3600) AS ', '$tag', '%') AND pid <> pg_backend_pid()" >/dev/null 2>&1

finish
