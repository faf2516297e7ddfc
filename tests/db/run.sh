#!/usr/bin/env bash
# tests/db/run.sh -- the database test suite: starts throwaway MariaDB and
# PostgreSQL servers (tests/db/servers.sh), builds and runs the C unit test,
# runs every tests/db/test_*.sh against $OSIRIS (default ./osiris, which
# must be built with the database drivers), and stops the servers at the
# end, also on failure or interrupt.  Last line: "N passed, N failed".
#   OSIRIS_TEST_DB_KEEP=1  leave the servers running (reuse with servers.sh env)
set -u
cd "$(dirname "$0")/../.."
export OSIRIS=${OSIRIS:-$PWD/osiris}
export OSIRIS_TEST_DB_DIR=${OSIRIS_TEST_DB_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/osiris-testdb.XXXXXX")}
total_pass=0 total_fail=0 broken=()

stop_servers() { [ "${OSIRIS_TEST_DB_KEEP:-0}" = 1 ] || bash tests/db/servers.sh stop; }
trap stop_servers EXIT
trap 'exit 130' INT TERM

if ! env_lines=$(bash tests/db/servers.sh start); then
  echo "database servers failed to start"
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$env_lines"

run_one() { # name command...
  local name=$1 out rc last p f
  shift
  out=$("$@" 2>&1); rc=$?
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$last" ]; then
    printf '%s\n' "$out" | tail -n 30
    echo "  $name: no result line (exit $rc)"
    broken+=("$name"); total_fail=$((total_fail + 1)); return
  fi
  p=${last%% passed*}; f=${last#*, }; f=${f%% failed*}
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
    printf '%s\n' "$out" | grep -E 'FAIL|fail|error|ERROR' | head -n 40
    broken+=("$name")
  fi
  printf '  %-34s %s\n' "$name" "$last"
}

DBFLAGS="$(mariadb_config --cflags) -I$(pg_config --includedir)"
WARN="-std=c11 -Wall -Wextra -Wshadow -Wundef -Wmissing-prototypes -Werror -Wno-unused-function"
mkdir -p tests/bin/db/asan
echo "database unit tests"
# shellcheck disable=SC2086
if ${CC:-cc} $WARN -O1 -g $DBFLAGS -I. -o tests/bin/db/test_db_unit tests/db/test_db_unit.c osiris.c \
     -lsqlite3 -lm -lmariadb -lpq -lcurl &&
   ${CC:-cc} $WARN -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
     -fno-sanitize-recover=all $DBFLAGS -I. -o tests/bin/db/asan/test_db_unit tests/db/test_db_unit.c \
     osiris.c -lsqlite3 -lm -lmariadb -lpq -lcurl; then
  run_one test_db_unit tests/bin/db/test_db_unit
  run_one asan/test_db_unit tests/bin/db/asan/test_db_unit
else
  broken+=(test_db_unit); total_fail=$((total_fail + 1))
fi
echo "database end-to-end tests (MariaDB :$OSIRIS_TEST_MYSQL_PORT, PostgreSQL :$OSIRIS_TEST_PG_PORT)"
for t in tests/db/test_*.sh; do run_one "db/$(basename "$t")" bash "$t"; done

if [ "${#broken[@]}" -gt 0 ]; then echo "failing: ${broken[*]}"; fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "${#broken[@]}" -eq 0 ]
