#!/usr/bin/env bash
# tests/db/test_sysfaults.sh -- the database server killed while a run
# reads from it or writes into it.  Each case:
#   - holds the run at a known point with a lock of the test's own session
#     (a GET_LOCK / pg_advisory_lock the query waits for half way through
#     its rows, or a row the test inserted in an open transaction that the
#     writer's load must wait for), seen from the server's own tables;
#   - kills the server (SIGKILL: its pid file, and for PostgreSQL the
#     postmaster's children too);
#   - expects exit 1, status.json naming the step that was talking to that
#     server, and the target table unchanged -- checked after the killed
#     server came back (servers.sh start: same data and port, so its crash
#     recovery ran) when the target was on it.
# It never kills the suite's servers: it starts its own pair in its own
# state directory (OSIRIS_TEST_DB_DIR of its own) and stops it at the end,
# so the tests after it are not disturbed whatever happens here.
set -u
SF_REPO=$(cd "$(dirname "$0")/../.." && pwd)
SF_STATE=$(mktemp -d "${TMPDIR:-/tmp}/osiris-sysfaults-db.XXXXXX")
export OSIRIS_TEST_DB_DIR=$SF_STATE
if ! sf_env=$(bash "$SF_REPO/tests/db/servers.sh" start); then
  echo "FAIL [test_sysfaults]: the test's own database servers did not start"
  bash "$SF_REPO/tests/db/servers.sh" stop
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$sf_env"
source "$(dirname "$0")/lib.sh"
sf_cleanup() {
  local p
  for p in ${SF_PIDS:-}; do kill -KILL "$p" 2>/dev/null; done
  bash "$SF_REPO/tests/db/servers.sh" stop
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"
}
trap sf_cleanup EXIT
# A holder that died must not kill the test when it is written to.
trap "" PIPE
SF_PIDS=

gone() { ! kill -0 "$1" 2>/dev/null; }

# holder_mysql SQL / holder_pg SQL: a session of the test's own that runs
# SQL and then stays open (its statements come from a FIFO kept open on
# fd 7) until the server dies or hold_end.
holder_mysql() {
  rm -f hold.in; mkfifo hold.in
  mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" \
    -u "$OSIRIS_TEST_MYSQL_USER" -p"$OSIRIS_TEST_MYSQL_PASSWORD" -B -N --unbuffered \
    "$OSIRIS_TEST_MYSQL_DB" <hold.in >hold.out 2>&1 &
  HOLD_PID=$!
  exec 7>hold.in
  echo "$1" >&7
}
holder_pg() {
  rm -f hold.in; mkfifo hold.in
  PGAPPNAME=sf_holder PGPASSWORD=$OSIRIS_TEST_PG_PASSWORD psql -X -q -At -h "$OSIRIS_TEST_PG_HOST" \
    -p "$OSIRIS_TEST_PG_PORT" -U "$OSIRIS_TEST_PG_USER" -d "$OSIRIS_TEST_PG_DB" <hold.in >hold.out 2>&1 &
  HOLD_PID=$!
  exec 7>hold.in
  echo "$1" >&7
}
hold_end() { exec 7>&-; wait "$HOLD_PID" 2>/dev/null; }
# why_no_hold: what the holder and the server were doing, for a failure
# message (the holder's output, its kernel wait, the server's sessions and
# transactions, the end of its error log).
why_no_hold() {
  echo "holder output [$(head -c 300 hold.out 2>/dev/null)]," \
    "holder wchan [$(cat "/proc/$HOLD_PID/wchan" 2>/dev/null)]," \
    "processlist [$(my_sql "SELECT id, command, state, LEFT(info, 80) FROM information_schema.processlist" 2>&1 | tr '\n\t' '; ')]," \
    "innodb_trx [$(my_sql "SELECT trx_state, trx_rows_modified, trx_mysql_thread_id FROM information_schema.innodb_trx" 2>&1 | tr '\n\t' '; ')]," \
    "error.log [$(tail -n 5 "$OSIRIS_TEST_DB_DIR/mysql/error.log" 2>/dev/null | tr '\n' ' ')]"
}

# Known points, as the servers see them.
my_holds_lock() { [ "$(my_sql "SELECT IS_USED_LOCK('$1') IS NOT NULL" 2>/dev/null)" = 1 ]; }
my_waits_user_lock() {
  [ "$(my_sql "SELECT COUNT(*) FROM information_schema.processlist WHERE state = 'User lock' AND info LIKE '%$1%'" 2>/dev/null)" -ge 1 ] 2>/dev/null
}
# Another transaction waits for a row lock, as the holder's own session
# sees it: it is asked (it is connected and in its transaction already, so
# no new session is needed) and answers "lock-waits=N" in hold.out.
# InnoDB refreshes what information_schema.innodb_trx shows only when it
# was last read more than 0.1 s before: asked every 50 ms it never changes
# (a fast fresh machine missed the wait for its whole 50 s that way), so
# at most every 0.15 s.
my_in_lock_wait() {
  kill -0 "$HOLD_PID" 2>/dev/null || return 1
  sleep 0.15
  echo "SELECT CONCAT('lock-waits=', COUNT(*)) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT';" >&7 2>/dev/null
  grep -q '^lock-waits=[1-9]' hold.out 2>/dev/null
}
# The holder's row is in: its own session printed the marker after the
# INSERT, inside the transaction it keeps open (so the row lock is held).
my_holder_in_trx() { grep -qx inserted-and-held hold.out 2>/dev/null; }
pg_holder_ready() { # the holder's session is idle (in a transaction or with its lock)
  [ "$(pg_sql "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'sf_holder' AND state LIKE 'idle%'" 2>/dev/null)" -ge 1 ] 2>/dev/null
}
pg_someone_waits() { # a session other than the holder waits for a lock
  [ "$(pg_sql "SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.application_name <> 'sf_holder'" 2>/dev/null)" -ge 1 ] 2>/dev/null
}

# kill_mysql / kill_pg: SIGKILL this test's server (found by its pid
# file in $OSIRIS_TEST_DB_DIR) and wait until it is gone.
kill_mysql() {
  local pid
  pid=$(cat "$OSIRIS_TEST_DB_DIR/mysql/pid" 2>/dev/null)
  [ -n "$pid" ] || { fail "no MariaDB pid file"; return 1; }
  kill -KILL "$pid"
  wait_until 60 gone "$pid" || fail "MariaDB $pid did not die"
}
kill_pg() {
  local pm kids p
  pm=$(head -n 1 "$OSIRIS_TEST_DB_DIR/pg/data/postmaster.pid" 2>/dev/null)
  [ -n "$pm" ] || { fail "no PostgreSQL pid file"; return 1; }
  kill -STOP "$pm" # forks no new child while its children are listed
  kids=$(ps -o pid= --ppid "$pm")
  # shellcheck disable=SC2086
  kill -KILL "$pm" $kids
  for p in "$pm" $kids; do wait_until 60 gone "$p" || fail "PostgreSQL process $p did not die"; done
}
# restart: the killed server back on its data and port (crash recovery).
restart() {
  if bash "$SF_REPO/tests/db/servers.sh" start >/dev/null; then pass "the killed server is back"
  else fail "the killed server did not start again"; fi
}

# start_run: osiris run p.yaml in the background (PID).
start_run() {
  "$OSIRIS" run p.yaml >out.txt 2>err.txt </dev/null 7>&- &
  PID=$!
  SF_PIDS="$SF_PIDS $PID"
}

# expect_failed STEP WHAT: the run ends (bounded) with exit 1 and
# status.json names STEP.
expect_failed() {
  local rc=0 run
  if ! wait_until 120 gone "$PID"; then
    fail "$2: the run did not end within 120 s after the kill"
    kill -KILL "$PID" 2>/dev/null
  fi
  wait "$PID" || rc=$?
  assert_eq 1 "$rc" "$2: exit 1 (stderr: $(head -c 400 err.txt))"
  run=$(newest_run_dir)
  assert_file "$run/status.json"
  assert_eq false "$(json_get "$run/status.json" 'd["ok"]')" "$2: status.json ok false"
  assert_eq "$1" "$(json_get "$run/status.json" 'd["error"]["step_id"]')" "$2: status.json names the step"
  assert_contains err.txt "failed at step $1" "$2: stderr names the step"
}

# pipeline FROM_COMPONENT FROM_CONFIG TO_COMPONENT TO_CONFIG
pipeline() {
  cat >p.yaml <<YAML
oml_version: "0.1.0"
name: sysfaults-db
steps:
  - id: ex
    component: $1
    mode: read
    config:
$(printf '%s\n' "$2" | sed 's/^/      /')
  - id: wr
    component: $3
    mode: write
    needs: [ex]
    config:
$(printf '%s\n' "$4" | sed 's/^/      /')
YAML
}

# ------------------------------------------------------------ MariaDB mid-extract
# MariaDB -> PostgreSQL.  The query takes GET_LOCK('sf_extract') at row
# 150000 of 300000, which the test's session holds: the rows before it are
# already streaming into the PostgreSQL writer's open transaction.  MariaDB
# is killed there: exit 1, status.json names the extractor, the
# PostgreSQL table keeps only its old row.
new_case mysql_killed_mid_extract
write_connections
pg_sql "DROP TABLE IF EXISTS sf_pg_target; CREATE TABLE sf_pg_target (id bigint PRIMARY KEY, s text, l bigint);
INSERT INTO sf_pg_target VALUES (0, 'old', 0)"
pipeline mysql.extractor 'connection: "@mysql.test"
query: "SELECT seq AS id, CONCAT('"'row '"', seq) AS s, IF(seq = 150000, GET_LOCK('"'sf_extract'"', 600), 0) AS l FROM seq_1_to_300000"' \
  postgres.writer 'connection: "@postgres.test"
table: sf_pg_target
write_mode: append'
holder_mysql "SELECT GET_LOCK('sf_extract', 0);"
if wait_until 60 my_holds_lock sf_extract; then
  start_run
  if wait_until 120 my_waits_user_lock sf_extract; then
    pass "the extract waits for the test's lock half way"
    kill_mysql
    hold_end
    expect_failed ex "MariaDB killed mid-extract"
    assert_eq "0|old" "$(pg_sql "SELECT id, s FROM sf_pg_target ORDER BY id")" "the PostgreSQL target is unchanged"
  else
    fail "the extract never waited for the lock: $(cat err.txt)"
    hold_end
  fi
  restart
else
  fail "the test's session could not take the lock: $(why_no_hold)"
  hold_end
fi

# ------------------------------------------------------------ MariaDB mid-write
# CSV -> MariaDB.  The test's session inserted row 200000 in a transaction
# it keeps open, so the writer's load (one transaction) waits for that
# row's lock after 199999 rows.  MariaDB is killed there: exit 1,
# status.json names the writer; once MariaDB is back (crash recovery), the
# table holds its old row only.
new_case mysql_killed_mid_write
write_connections
py -c 'import sys
with open("in.csv", "w") as f:
    f.write("id,s\n")
    for i in range(1, 300001): f.write("%d,row %d\n" % (i, i))'
my_sql "DROP TABLE IF EXISTS sf_my_target; CREATE TABLE sf_my_target (id BIGINT PRIMARY KEY, s VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO sf_my_target VALUES (0, 'old')"
pipeline filesystem.csv_extractor 'path: in.csv' mysql.writer 'connection: "@mysql.test"
table: sf_my_target
write_mode: append'
holder_mysql "BEGIN; INSERT INTO sf_my_target VALUES (200000, 'held'); SELECT 'inserted-and-held';"
if wait_until 60 my_holder_in_trx; then
  start_run
  if wait_until 120 my_in_lock_wait; then
    pass "the load waits for the test's row"
    kill_mysql
    hold_end
    expect_failed wr "MariaDB killed mid-write"
    restart
    assert_eq "0	old" "$(my_sql "SELECT id, s FROM sf_my_target ORDER BY id")" "the MariaDB target is unchanged"
  else
    fail "the load never waited for the row: $(cat err.txt)"
    hold_end
    restart
  fi
else
  fail "the test's session could not insert its row: $(why_no_hold)"
  hold_end
fi

# ------------------------------------------------------------ PostgreSQL mid-extract
# PostgreSQL -> MariaDB.  The query takes pg_advisory_lock(4242) at row
# 150000 of 300000, which the test's session holds; PostgreSQL is killed
# there: exit 1, status.json names the extractor, the MariaDB table keeps
# only its old row.
new_case pg_killed_mid_extract
write_connections
my_sql "DROP TABLE IF EXISTS sf_my_target2; CREATE TABLE sf_my_target2 (id BIGINT PRIMARY KEY, s VARCHAR(40), l VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO sf_my_target2 VALUES (0, 'old', NULL)"
pipeline postgres.extractor 'connection: "@postgres.test"
query: "SELECT g AS id, '"'row '"' || g AS s, CASE WHEN g = 150000 THEN pg_advisory_lock(4242)::text END AS l FROM generate_series(1, 300000) g"' \
  mysql.writer 'connection: "@mysql.test"
table: sf_my_target2
write_mode: append'
holder_pg "SELECT pg_advisory_lock(4242);"
if wait_until 60 pg_holder_ready; then
  start_run
  if wait_until 120 pg_someone_waits; then
    pass "the extract waits for the test's advisory lock half way"
    kill_pg
    hold_end
    expect_failed ex "PostgreSQL killed mid-extract"
    assert_eq "0	old" "$(my_sql "SELECT id, s FROM sf_my_target2 ORDER BY id")" "the MariaDB target is unchanged"
  else
    fail "the extract never waited for the advisory lock: $(cat err.txt)"
    hold_end
  fi
  restart
else
  fail "the test's session could not take the advisory lock: $(why_no_hold)"
  hold_end
fi

# ------------------------------------------------------------ PostgreSQL mid-write
# CSV -> PostgreSQL (COPY in one transaction).  The test's session inserted
# row 200000 in a transaction it keeps open, so COPY waits for it; PostgreSQL
# is killed there: exit 1, status.json names the writer; once PostgreSQL is
# back (crash recovery), the table holds its old row only.
new_case pg_killed_mid_write
write_connections
py -c 'import sys
with open("in.csv", "w") as f:
    f.write("id,s\n")
    for i in range(1, 300001): f.write("%d,row %d\n" % (i, i))'
pg_sql "DROP TABLE IF EXISTS sf_pg_target2; CREATE TABLE sf_pg_target2 (id bigint PRIMARY KEY, s text);
INSERT INTO sf_pg_target2 VALUES (0, 'old')"
pipeline filesystem.csv_extractor 'path: in.csv' postgres.writer 'connection: "@postgres.test"
table: sf_pg_target2
write_mode: append'
holder_pg "BEGIN; INSERT INTO sf_pg_target2 VALUES (200000, 'held');"
if wait_until 60 pg_holder_ready; then
  start_run
  if wait_until 120 pg_someone_waits; then
    pass "COPY waits for the test's row"
    kill_pg
    hold_end
    expect_failed wr "PostgreSQL killed mid-write"
    restart
    assert_eq "0|old" "$(pg_sql "SELECT id, s FROM sf_pg_target2 ORDER BY id")" "the PostgreSQL target is unchanged"
  else
    fail "COPY never waited for the row: $(cat err.txt)"
    hold_end
    restart
  fi
else
  fail "the test's session could not insert its row: $(why_no_hold)"
  hold_end
fi

finish
