#!/usr/bin/env bash
# tests/db/servers.sh -- throwaway MariaDB and PostgreSQL 15 servers on
# 127.0.0.1 for the database tests.  Never touches a system-wide server:
# both run from private data directories under one state directory, on
# free non-default ports, and are stopped by their own pid files.
#
#   tests/db/servers.sh start   start both (packages from `make deps`)
#   tests/db/servers.sh env     print export lines (OSIRIS_TEST_MYSQL_*, OSIRIS_TEST_PG_*,
#                               OSIRIS_TEST_TLS_CA)
#   tests/db/servers.sh stop    stop both and remove the state directory
#   tests/db/servers.sh status  exit 0 when both answer
#
# State directory: $OSIRIS_TEST_DB_DIR, else /tmp/osiris-testdb-<uid>.
# `start` is idempotent: servers that already answer are left alone, and a
# server that was killed (tests/db/test_sysfaults.sh kills them) starts
# again on its own data directory and port, so its crash recovery runs and
# the environment printed before stays right.
# Both servers offer TLS (a CA made at start, $STATE/tls/ca.pem, signs a
# certificate for 127.0.0.1 and localhost) but neither requires it: plain
# connections work as before.
# Typical use:  eval "$(tests/db/servers.sh start)"  (start prints the env lines too)
set -euo pipefail

STATE=${OSIRIS_TEST_DB_DIR:-/tmp/osiris-testdb-$(id -u)}
PGBIN=/usr/lib/postgresql/15/bin
PACKAGES=(mariadb-server mariadb-client libmariadb-dev postgresql-15 postgresql-client-15 libpq-dev)
DBNAME=osiris_test
DBUSER=osiris

log() { echo "servers.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# The packages come from `make deps` (build.sh --test-deps), which installs
# everything once before any suite runs: this script runs beside other
# suites and must not take the dpkg lock.
check_installed() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] ||
    die "missing packages: ${missing[*]} (run \`make deps\` or ./build.sh --test-deps first)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# as_user USER cmd...: run as USER when we are root, else as ourselves.
as_user() {
  local u=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$u" -- "$@"; else "$@"; fi
}

mysql_user() { if [ "$(id -u)" = 0 ]; then echo mysql; else id -un; fi; }
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

my_ping() { [ -S "$STATE/mysql/sock" ] && mariadb-admin --no-defaults -S "$STATE/mysql/sock" -uroot ping >/dev/null 2>&1; }
pg_ping() {
  [ -f "$STATE/pg.port" ] && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$STATE/pg.port")" >/dev/null 2>&1
}

# The throwaway CA and server certificate (EC P-256: quick to make), once
# per state directory; each server copies the key into its own directory,
# owned by the user it runs as.
make_tls() {
  local t=$STATE/tls
  [ -s "$t/server.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is missing (run \`make deps\`)"
  rm -rf "$t"; mkdir -p "$t"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=osiris test CA" -keyout "$t/ca.key" -out "$t/ca.pem" >"$t/openssl.log" 2>&1 &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$t/server.key" -out "$t/server.csr" >>"$t/openssl.log" 2>&1 &&
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$t/server.ext" &&
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 3650 -extfile "$t/server.ext" -out "$t/server.pem" >>"$t/openssl.log" 2>&1 ||
    { cat "$t/openssl.log" >&2; die "cannot make the TLS certificates"; }
  chmod 644 "$t/ca.pem" "$t/server.pem"
}

# copy_key DIR USER: the server key in DIR, readable by USER only.
copy_key() {
  cp "$STATE/tls/server.pem" "$1/server.pem"
  cp "$STATE/tls/server.key" "$1/server.key"
  chown "$2" "$1/server.pem" "$1/server.key"; chmod 600 "$1/server.key"
}

start_mysql() {
  local d=$STATE/mysql port pw u again=0
  if my_ping; then return 0; fi
  u=$(mysql_user)
  if [ -f "$d/installed" ] && [ -s "$STATE/mysql.port" ]; then
    again=1 # killed: the same data and port
    port=$(cat "$STATE/mysql.port")
    rm -f "$d/pid"
  else
    rm -rf "$d"; mkdir -p "$d"; chown "$u" "$d"
    copy_key "$d" "$u"
    port=$(free_port); echo "$port" >"$STATE/mysql.port"
    mariadb-install-db --no-defaults --datadir="$d/data" --user="$u" \
      --auth-root-authentication-method=socket --skip-test-db >"$STATE/mysql-install.log" 2>&1 ||
      { cat "$STATE/mysql-install.log" >&2; die "mariadb-install-db failed"; }
  fi
  pw=$(cat "$STATE/password")
  # setsid + nohup: the server outlives this script and its terminal.
  setsid nohup mariadbd --no-defaults --user="$u" --datadir="$d/data" --socket="$d/sock" \
    --pid-file="$d/pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --local-infile=1 --innodb-flush-log-at-trx-commit=2 --log-error="$d/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --ssl-ca="$STATE/tls/ca.pem" --ssl-cert="$d/server.pem" --ssl-key="$d/server.key" \
    </dev/null >/dev/null 2>&1 &
  local i
  for i in $(seq 1 150); do my_ping && break; sleep 0.1; done
  my_ping || { tail -n 20 "$d/error.log" >&2 || true; die "mariadbd did not come up"; }
  [ "$again" = 1 ] && return 0
  mariadb --no-defaults -S "$d/sock" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS $DBNAME CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DBUSER'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO '$DBUSER'@'%';
FLUSH PRIVILEGES;
SQL
  touch "$d/installed"
}

start_pg() {
  local d=$STATE/pg port pw u
  if pg_ping; then return 0; fi
  u=$(pg_user)
  if [ -f "$d/installed" ] && [ -s "$STATE/pg.port" ]; then # killed: the same data and port
    port=$(cat "$STATE/pg.port")
    pg_launch "$d" "$u" "$port"
    return 0
  fi
  rm -rf "$d"; mkdir -p "$d"; chown "$u" "$d"; chmod 700 "$d"
  copy_key "$d" "$u"
  port=$(free_port); echo "$port" >"$STATE/pg.port"
  pw=$(cat "$STATE/password")
  printf '%s\n' "$pw" >"$STATE/pg.pwfile"; chown "$u" "$STATE/pg.pwfile"; chmod 600 "$STATE/pg.pwfile"
  as_user "$u" "$PGBIN/initdb" -D "$d/data" -U "$DBUSER" --pwfile="$STATE/pg.pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$STATE/pg-initdb.log" 2>&1 ||
    { cat "$STATE/pg-initdb.log" >&2; die "initdb failed"; }
  rm -f "$STATE/pg.pwfile"
  pg_launch "$d" "$u" "$port"
  PGPASSWORD=$pw "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$port" -U "$DBUSER" -d postgres \
    -c "CREATE DATABASE $DBNAME" >/dev/null
  touch "$d/installed"
}

# pg_launch DIR USER PORT: start the server of DIR/data (a stale
# postmaster.pid of a killed server is taken over by postgres itself).
pg_launch() {
  as_user "$2" "$PGBIN/pg_ctl" -D "$1/data" -w -t 30 -l "$1/server.log" start \
    -o "-c listen_addresses=127.0.0.1 -p $3 -c unix_socket_directories=$1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c ssl=on -c ssl_cert_file=$1/server.pem -c ssl_key_file=$1/server.key" \
    >/dev/null 2>&1 || { tail -n 20 "$1/server.log" >&2 || true; die "postgres did not start"; }
}

print_env() {
  [ -f "$STATE/password" ] || die "not started (no $STATE/password)"
  local pw; pw=$(cat "$STATE/password")
  cat <<EOF
export OSIRIS_TEST_DB_DIR='$STATE'
export OSIRIS_TEST_MYSQL_HOST=127.0.0.1
export OSIRIS_TEST_MYSQL_PORT=$(cat "$STATE/mysql.port")
export OSIRIS_TEST_MYSQL_USER=$DBUSER
export OSIRIS_TEST_MYSQL_PASSWORD='$pw'
export OSIRIS_TEST_MYSQL_DB=$DBNAME
export OSIRIS_TEST_MYSQL_SOCKET='$STATE/mysql/sock'
export OSIRIS_TEST_PG_HOST=127.0.0.1
export OSIRIS_TEST_PG_PORT=$(cat "$STATE/pg.port")
export OSIRIS_TEST_PG_USER=$DBUSER
export OSIRIS_TEST_PG_PASSWORD='$pw'
export OSIRIS_TEST_PG_DB=$DBNAME
export OSIRIS_TEST_TLS_CA='$STATE/tls/ca.pem'
EOF
}

stop_all() {
  [ -d "$STATE" ] || return 0
  if [ -S "$STATE/mysql/sock" ]; then
    mariadb-admin --no-defaults -S "$STATE/mysql/sock" -uroot shutdown >/dev/null 2>&1 || true
  fi
  if [ -f "$STATE/mysql/pid" ]; then # still there: the shutdown did not work
    kill "$(cat "$STATE/mysql/pid")" 2>/dev/null || true
    sleep 0.5
  fi
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_user "$(pg_user)" "$PGBIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 ||
      kill "$(head -n 1 "$STATE/pg/data/postmaster.pid")" 2>/dev/null || true
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  start)
    check_installed
    mkdir -p "$STATE"; chmod 755 "$STATE"
    [ -s "$STATE/password" ] ||
      python3 -c 'import secrets; print("Osr-" + secrets.token_hex(12))' >"$STATE/password"
    chmod 644 "$STATE/password"
    make_tls
    start_mysql
    start_pg
    print_env
    ;;
  env) print_env ;;
  stop) stop_all ;;
  status) my_ping && pg_ping ;;
  *) echo "usage: $0 start|env|stop|status" >&2; exit 2 ;;
esac
