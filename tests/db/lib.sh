# tests/db/lib.sh -- helpers for the database tests (sourced after
# tests/e2e/lib.sh, whose counting and assertion helpers they reuse).
#
# The servers come from tests/db/servers.sh: either its env lines are
# already exported (OSIRIS_TEST_MYSQL_*, OSIRIS_TEST_PG_*), as
# tests/db/run.sh does, or a started state directory is found and read.
# Without servers a test prints one failure and stops.

DB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
source "$DB_DIR/../e2e/lib.sh"

if [ -z "${OSIRIS_TEST_MYSQL_PORT:-}" ] || [ -z "${OSIRIS_TEST_PG_PORT:-}" ]; then
  if bash "$DB_DIR/servers.sh" status 2>/dev/null; then
    eval "$(bash "$DB_DIR/servers.sh" env)"
  else
    fail "database servers are not running (eval \"\$(tests/db/servers.sh start)\" first)"
    finish
  fi
fi
export OSIRIS_TEST_PG_DSN="postgresql://$OSIRIS_TEST_PG_USER:$OSIRIS_TEST_PG_PASSWORD@$OSIRIS_TEST_PG_HOST:$OSIRIS_TEST_PG_PORT/$OSIRIS_TEST_PG_DB"

# my_sql SQL: run statements on the test MariaDB; tab-separated rows, no header.
my_sql() {
  mariadb --no-defaults --default-character-set=utf8mb4 -h "$OSIRIS_TEST_MYSQL_HOST" \
    -P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" -p"$OSIRIS_TEST_MYSQL_PASSWORD" \
    -B -N "$OSIRIS_TEST_MYSQL_DB" -e "$1"
}

# pg_sql SQL: run statements on the test PostgreSQL; unaligned rows, | separated.
pg_sql() {
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$OSIRIS_TEST_PG_PASSWORD psql -X -q -At -v ON_ERROR_STOP=1 \
    -h "$OSIRIS_TEST_PG_HOST" -p "$OSIRIS_TEST_PG_PORT" -U "$OSIRIS_TEST_PG_USER" \
    -d "$OSIRIS_TEST_PG_DB" -c "$1"
}

# pg_csv QUERY: a query's rows as CSV with a header (PostgreSQL's COPY).
pg_csv() { pg_sql "COPY ($1) TO STDOUT WITH (FORMAT csv, HEADER true)"; }

# write_connections: osiris_connections.yaml in the current directory,
# every secret as a ${VAR} reference.
write_connections() {
  cat >osiris_connections.yaml <<'YAML'
connections:
  mysql:
    test:
      default: true
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
    strport:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: "${OSIRIS_TEST_MYSQL_PORT}"
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
    sock:
      socket: ${OSIRIS_TEST_MYSQL_SOCKET}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
    badpw:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_BAD_PASSWORD}
  postgres:
    test:
      default: true
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: disable
    dsn:
      dsn: ${OSIRIS_TEST_PG_DSN}
    badpw:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_BAD_PASSWORD}
    baddsn:
      dsn: ${OSIRIS_TEST_BAD_DSN}
  # The supabase urls point at a closed loopback port: the REST channel
  # must never reach beyond this machine in tests.
  supabase:
    test:
      default: true
      url: http://127.0.0.1:1
      service_role_key: ${OSIRIS_TEST_FAKE_KEY}
      pg_dsn: ${OSIRIS_TEST_PG_DSN}
    restonly:
      url: http://127.0.0.1:1
      service_role_key: ${OSIRIS_TEST_FAKE_KEY}
YAML
}
export OSIRIS_TEST_BAD_PASSWORD="Wrong-$RANDOM-Secret-Pw"
export OSIRIS_TEST_BAD_DSN="postgresql://$OSIRIS_TEST_PG_USER:$OSIRIS_TEST_BAD_PASSWORD@$OSIRIS_TEST_PG_HOST:$OSIRIS_TEST_PG_PORT/$OSIRIS_TEST_PG_DB"
export OSIRIS_TEST_FAKE_KEY="fake-service-role-key-$RANDOM$RANDOM"

# count_events RUN_DIR EVENT: how many events.jsonl lines have that event.
count_events() {
  grep -c "\"event\":\"$2\"" "$1/events.jsonl" 2>/dev/null || true
}

# assert_no_secret DIR_OR_FILE... : none of the test secrets appear anywhere.
assert_no_secret() {
  local s hits
  for s in "$OSIRIS_TEST_MYSQL_PASSWORD" "$OSIRIS_TEST_PG_PASSWORD" "$OSIRIS_TEST_BAD_PASSWORD" \
    "$OSIRIS_TEST_FAKE_KEY"; do
    hits=$(grep -rlF -- "$s" "$@" 2>/dev/null | wc -l)
    assert_eq 0 "$hits" "secret absent from $*"
  done
}

# status_code RUN_DIR: status.json error code ("" when none).
status_code() { json_get "$1/status.json" '(d.get("error") or {}).get("code","")'; }

# create_mysql_types: table t_types with every MySQL type of the mapping.
create_mysql_types() {
  my_sql "
  DROP TABLE IF EXISTS t_types;
  CREATE TABLE t_types (
    id INT PRIMARY KEY, ti TINYINT, usi SMALLINT UNSIGNED, mi MEDIUMINT, i INT, ui INT UNSIGNED,
    bi BIGINT, ubi BIGINT UNSIGNED, d DECIMAL(20,4), f FLOAT, db DOUBLE, dt DATE,
    dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(2), y YEAR, c CHAR(5), vc VARCHAR(40),
    tx TEXT, bn BINARY(3), vb VARBINARY(10), bl BLOB, bt BIT(10), js JSON,
    en ENUM('a','b'), st SET('x','y')) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
  SET SESSION sql_mode = '';
  SET time_zone = '+00:00';
  INSERT INTO t_types VALUES
   (1, -128, 65535, -8388608, -2147483648, 4294967295, -9223372036854775808,
    18446744073709551615, -1234567890123456.1250, 1.5, 0.1, '2024-02-29',
    '2024-01-31 12:34:56.123456', '2024-01-31 12:34:56.789', '-838:59:59.00', 2024,
    'ab', 'héllo 🎉 \"q\",x', 'line1\nline2\ttab\\\\back', 'abc', 0x00ff10, 0xdeadbeef,
    1023, '{\"a\": [1, 2]}', 'b', 'x,y'),
   (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
   (3, 127, 0, 0, 0, 0, 9223372036854775807, 0, 0, -3.25e10, 1e300, '0000-00-00',
    '0000-00-00 00:00:00', '1970-01-01 00:00:01', '00:00:00', 1901, '', '', '', '', '',
    '', 0, '[]', 'a', ''),
   (4, 1, 1, 1, 1, 1, 1, 9223372036854775808, 99999999999999.9999, 0.25, -2.5e-300,
    '1000-01-01', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', '12:00:00.5',
    2155, 'z', 'ascii', 'plain', 'xyz', 'a', 'b', 1, 'null', 'a', 'y');
  " || fail "cannot create t_types"
}
