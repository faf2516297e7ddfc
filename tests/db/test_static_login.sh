#!/usr/bin/env bash
# The STATIC osiris-worker logs in to the test databases from an EMPTY
# chroot (issue "Remote execution", Static worker: "test it in an empty
# chroot ... against the test MariaDB (including an account using
# caching_sha2_password-compatible or ed25519 auth) and PostgreSQL").
# Run under tests/db/run.sh (servers up) or alone after
# `eval "$(tests/db/servers.sh start)"`.  Needs root for chroot: skipped
# (not failed) otherwise.
#
# Each case gets its own chroot laid out as tests/remote/static.sh builds it:
# /osiris-worker, /commands.jsonl, /session (manifest.yaml, cfg/, and an
# osiris_connections.yaml whose every field is a ${VAR} reference) and a
# minimal /etc/hosts -- no other /etc, no shared library.  Secrets reach the
# worker only through `env -i VAR=...`; afterwards no file in the chroot may
# hold one.  Cases:
#   native   MariaDB account IDENTIFIED VIA mysql_native_password, host name
#            resolved through the chroot's /etc/hosts; mysql.extractor
#   ed25519  MariaDB account IDENTIFIED VIA ed25519 (auth_ed25519 server
#            plugin; client_ed25519 is built into the worker); mysql.extractor;
#            the same account with a wrong password answers ok:false, exit 1
#   scram    PostgreSQL role with a SCRAM-SHA-256 verifier, pg_hba method
#            scram-sha-256 on host 127.0.0.1; postgres.extractor
# caching_sha2_password needs a MySQL 8 server, which Debian does not ship:
# instead the plugin is asserted to be compiled into the worker (nm on the
# rebuilt libmariadbclient.a, strings on the binary).
# Prints "N passed, N failed" last.
# shellcheck disable=SC1091,SC2012,SC2016,SC2034  # sourced helpers set/read E2E_CASE
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: test_static_login needs root (chroot); run tests/db/run.sh as root" >&2
  echo "  note: skipped, not failed" >&2
  finish
fi

WORKER=${OSIRIS_WORKER:-$E2E_ROOT/osiris-worker}
CHROOT_BIN=$(command -v chroot)
MY_ROOT=(mariadb --no-defaults -S "$OSIRIS_TEST_MYSQL_SOCKET" -uroot -B -N)
SUF=$$
NATIVE_USER=sl_native_$SUF ED_USER=sl_ed_$SUF PG_ROLE=sl_scram_$SUF TBL=sl_${SUF}_people
# per-run random passwords (URL-safe alphabet plus a few punctuation marks)
pw() { py -c 'import secrets; print("Sl-" + secrets.token_urlsafe(12) + ".,!")'; }
NATIVE_PW=$(pw) ED_PW=$(pw) PG_PW=$(pw) WRONG_PW=$(pw)
SECRETS=("$NATIVE_PW" "$ED_PW" "$PG_PW" "$WRONG_PW")

cleanup() {
  "${MY_ROOT[@]}" -e "DROP USER IF EXISTS '$NATIVE_USER'@'%', '$ED_USER'@'%'" >/dev/null 2>&1
  my_sql "DROP TABLE IF EXISTS $TBL" >/dev/null 2>&1
  pg_sql "DROP TABLE IF EXISTS $TBL; DROP ROLE IF EXISTS $PG_ROLE" >/dev/null 2>&1
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work directory kept: $E2E_WORK" >&2; else rm -rf "$E2E_WORK"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------- the worker
E2E_CASE=worker
if [ ! -x "$WORKER" ]; then
  fail "no static worker at $WORKER (make worker)"
  finish
fi
if file -L "$WORKER" | grep -q 'statically linked'; then pass "worker statically linked"; else fail "worker is not statically linked: $(file -L "$WORKER")"; fi

# caching_sha2_password: no MySQL 8 server on Debian, so no live login; the
# client plugin must at least be compiled in (static plugin, not a .so).
E2E_CASE=caching_sha2
LIBMC=$E2E_ROOT/vendor/prefix/lib/libmariadbclient.a
if [ -f "$LIBMC" ]; then
  nm "$LIBMC" 2>/dev/null >"$E2E_WORK/nm.txt"
  for plug in caching_sha2_password client_ed25519 mysql_native_password; do
    if grep -q " D ${plug}_client_plugin\$" "$E2E_WORK/nm.txt"; then
      pass "libmariadbclient.a defines ${plug}_client_plugin"
    else
      fail "libmariadbclient.a lacks ${plug}_client_plugin"
    fi
  done
else
  echo "  note: $LIBMC absent (vendor/ not built here): only the binary is checked" >&2
fi
if strings -a "$WORKER" | grep -qx 'caching_sha2_password'; then
  pass "the worker binary carries the caching_sha2_password plugin name"
else
  fail "caching_sha2_password not found in the worker binary"
fi
if strings -a "$WORKER" | grep -qx 'client_ed25519'; then
  pass "the worker binary carries the client_ed25519 plugin name"
else
  fail "client_ed25519 not found in the worker binary"
fi

# ------------------------------------------------------------- accounts
E2E_CASE=accounts
if [ "$("${MY_ROOT[@]}" -e "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name='ed25519' AND plugin_status='ACTIVE'" 2>&1)" != 1 ]; then
  "${MY_ROOT[@]}" -e "INSTALL SONAME 'auth_ed25519'" 2>"$E2E_WORK/install.err" ||
    fail "INSTALL SONAME 'auth_ed25519': $(cat "$E2E_WORK/install.err")"
fi
assert_eq 1 "$("${MY_ROOT[@]}" -e "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name='ed25519' AND plugin_status='ACTIVE'" 2>&1)" \
  "MariaDB server plugin ed25519 active"
if "${MY_ROOT[@]}" osiris_test 2>"$E2E_WORK/accounts.err" <<SQL
DROP USER IF EXISTS '$NATIVE_USER'@'%', '$ED_USER'@'%';
CREATE USER '$NATIVE_USER'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$NATIVE_PW');
CREATE USER '$ED_USER'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('$ED_PW');
DROP TABLE IF EXISTS $TBL;
CREATE TABLE $TBL (id INT PRIMARY KEY, name VARCHAR(40), score DECIMAL(6,2)) DEFAULT CHARSET=utf8mb4;
INSERT INTO $TBL VALUES (1, 'Zoë', 3.50), (2, 'O''Brien, Pat', NULL), (3, '李', 9.25);
GRANT SELECT ON osiris_test.$TBL TO '$NATIVE_USER'@'%', '$ED_USER'@'%';
SQL
then
  pass "MariaDB accounts and table created"
else
  fail "MariaDB accounts: $(cat "$E2E_WORK/accounts.err")"
fi
assert_eq "mysql_native_password" \
  "$("${MY_ROOT[@]}" -e "SELECT JSON_VALUE(Priv, '\$.plugin') FROM mysql.global_priv WHERE User='$NATIVE_USER'")" \
  "native account uses mysql_native_password"
assert_eq "ed25519" \
  "$("${MY_ROOT[@]}" -e "SELECT JSON_VALUE(Priv, '\$.plugin') FROM mysql.global_priv WHERE User='$ED_USER'")" \
  "ed25519 account uses ed25519"

if pg_sql "DROP TABLE IF EXISTS $TBL; DROP ROLE IF EXISTS $PG_ROLE;
  SET password_encryption = 'scram-sha-256';
  CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PW';
  CREATE TABLE $TBL (id int PRIMARY KEY, name text, score numeric(6,2));
  INSERT INTO $TBL VALUES (1, 'Zoë', 3.50), (2, 'O''Brien, Pat', NULL), (3, '李', 9.25);
  GRANT SELECT ON $TBL TO $PG_ROLE" >/dev/null 2>"$E2E_WORK/pg.err"; then
  pass "PostgreSQL role and table created"
else
  fail "PostgreSQL role: $(cat "$E2E_WORK/pg.err")"
fi
assert_eq "SCRAM-SHA-256" "$(pg_sql "SELECT split_part(rolpassword, '\$', 1) FROM pg_authid WHERE rolname = '$PG_ROLE'")" \
  "PostgreSQL role has a SCRAM-SHA-256 verifier"
assert_eq "scram-sha-256" \
  "$(pg_sql "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND '127.0.0.1'::inet <<= (address || '/' || coalesce(masklen(netmask::inet), 32))::inet")" \
  "pg_hba: host connections from 127.0.0.1 use scram-sha-256"

# ------------------------------------------------------------- chroot cases
# make_chroot DIR COMPONENT CONNECTION QUERY CONNECTIONS_YAML: the chroot
# with the worker, commands.jsonl, the compiled session and /etc/hosts.
make_chroot() {
  local dir=$1 comp=$2 conn=$3 query=$4 conns=$5
  mkdir -p "$dir/session" "$dir/etc" "$E2E_WORK/src_$(basename "$dir")"
  cp "$WORKER" "$dir/osiris-worker"
  printf '127.0.0.1 localhost\n127.0.0.1 db.osiris.test\n' >"$dir/etc/hosts"
  (
    cd "$E2E_WORK/src_$(basename "$dir")" || exit 1
    cat >pipeline.yaml <<YAML
oml_version: "0.1.0"
name: "static login"
steps:
  - id: extract
    component: $comp
    mode: read
    config:
      connection: "$conn"
      query: "$query"
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [extract]
    config:
      path: output/people.csv
YAML
    "$OSIRIS" compile pipeline.yaml --out "$dir/session" >compile.log 2>&1
  ) || { fail "osiris compile for $(basename "$dir"): $(cat "$E2E_WORK/src_$(basename "$dir")/compile.log")"; return 1; }
  printf '%s\n' "$conns" >"$dir/session/osiris_connections.yaml"
  cat >"$dir/commands.jsonl" <<'EOF'
{"cmd":"ping","data":"static-login"}
{"cmd":"prepare","session_id":"static_login","manifest":"manifest.yaml"}
{"cmd":"exec_step","step_id":"extract"}
{"cmd":"exec_step","step_id":"write"}
{"cmd":"cleanup"}
EOF
}

# in_chroot DIR VAR=VALUE...: run the worker with only those variables; sets
# WRC, WOUT (stdout file), WERR.
in_chroot() {
  local dir=$1
  shift
  WOUT=$E2E_WORK/$(basename "$dir").out WERR=$E2E_WORK/$(basename "$dir").err
  timeout -k 5 30 env -i "$@" "$CHROOT_BIN" "$dir" /osiris-worker /commands.jsonl /session \
    >"$WOUT" 2>"$WERR" </dev/null
  WRC=$?
}

# responses FILE: "cmd ok step rows error" per response line
responses() {
  py -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o.get("type") == "response":
        print(o.get("cmd"), o.get("ok"), o.get("step_id", "-"), o.get("rows_processed", "-"), (o.get("error") or "-")[:160])' "$1"
}

EXPECTED_CSV='id,name,score
1,Zoë,3.50
2,"O'"'"'Brien, Pat",
3,李,9.25'

# login_case NAME COMPONENT CONNECTION CONNECTIONS_YAML VAR=VALUE...
login_case() {
  local name=$1 comp=$2 conn=$3 conns=$4 dir s h
  shift 4
  E2E_CASE=$name
  dir=$E2E_WORK/chroot_$name
  make_chroot "$dir" "$comp" "$conn" "SELECT id, name, score FROM $TBL ORDER BY id" "$conns" || return
  if [ ! -e "$dir/etc/resolv.conf" ] && [ -z "$(find "$dir" -name '*.so*')" ] &&
     [ "$(find "$dir/etc" -type f | wc -l)" = 1 ]; then
    pass "$name: chroot has only /etc/hosts, no shared libraries"
  else
    fail "$name: chroot is not minimal"
  fi
  in_chroot "$dir" "$@"
  assert_eq 0 "$WRC" "$name: worker exits 0 in the chroot (stderr: $(head -c 300 "$WERR"))"
  assert_eq "ping True - - -
prepare True - - -
exec_step True extract 3 -
exec_step True write 3 -
cleanup True - - -" "$(responses "$WOUT" 2>&1)" "$name: responses ping, prepare, 2 x exec_step, cleanup all ok, 3 rows"
  assert_eq "$EXPECTED_CSV" "$(cat "$dir/session/output/people.csv" 2>/dev/null)" "$name: output rows"
  assert_eq true "$(json_get "$dir/session/status.json" 'd["ok"]')" "$name: status.json ok"
  assert_contains "$dir/session/artifacts/extract/cleaned_config.json" '"password": "***MASKED***"'
  h=$(for s in "${SECRETS[@]}"; do grep -rlF -- "$s" "$dir" "$WOUT" "$WERR"; done 2>/dev/null | sort -u)
  assert_eq "" "$h" "$name: no password in any file of the chroot or the worker output"
}

login_case native mysql.extractor "@mysql.native" 'connections:
  mysql:
    native:
      host: ${SL_DB_HOST}
      port: ${SL_MYSQL_PORT}
      database: ${SL_MYSQL_DB}
      user: ${SL_MYSQL_USER}
      password: ${SL_MYSQL_PASSWORD}' \
  SL_DB_HOST=db.osiris.test SL_MYSQL_PORT="$OSIRIS_TEST_MYSQL_PORT" SL_MYSQL_DB="$OSIRIS_TEST_MYSQL_DB" \
  SL_MYSQL_USER="$NATIVE_USER" SL_MYSQL_PASSWORD="$NATIVE_PW"

ED_CONNS='connections:
  mysql:
    ed:
      host: ${SL_DB_HOST}
      port: ${SL_MYSQL_PORT}
      database: ${SL_MYSQL_DB}
      user: ${SL_MYSQL_USER}
      password: ${SL_MYSQL_PASSWORD}'
login_case ed25519 mysql.extractor "@mysql.ed" "$ED_CONNS" \
  SL_DB_HOST=127.0.0.1 SL_MYSQL_PORT="$OSIRIS_TEST_MYSQL_PORT" SL_MYSQL_DB="$OSIRIS_TEST_MYSQL_DB" \
  SL_MYSQL_USER="$ED_USER" SL_MYSQL_PASSWORD="$ED_PW"

# the same ed25519 account with a wrong password: refused, cleanly
E2E_CASE=ed25519-wrong-password
dir=$E2E_WORK/chroot_ed25519_bad
if make_chroot "$dir" mysql.extractor "@mysql.ed" "SELECT id FROM $TBL" "$ED_CONNS"; then
  in_chroot "$dir" SL_DB_HOST=127.0.0.1 SL_MYSQL_PORT="$OSIRIS_TEST_MYSQL_PORT" \
    SL_MYSQL_DB="$OSIRIS_TEST_MYSQL_DB" SL_MYSQL_USER="$ED_USER" SL_MYSQL_PASSWORD="$WRONG_PW"
  assert_eq 1 "$WRC" "wrong password: worker exits 1"
  r=$(responses "$WOUT" | grep '^exec_step False extract')
  case $r in
    *"Access denied"*) pass "wrong password: exec_step ok:false, Access denied" ;;
    *) fail "wrong password: expected exec_step ok:false with Access denied, got [$(responses "$WOUT" | tr '\n' ';')]" ;;
  esac
  assert_eq false "$(json_get "$dir/session/status.json" 'd["ok"]')" "wrong password: status.json ok false"
  h=$(for s in "${SECRETS[@]}"; do grep -rlF -- "$s" "$dir" "$WOUT" "$WERR"; done 2>/dev/null | sort -u)
  assert_eq "" "$h" "wrong password: no password in any file of the chroot or the worker output"
fi

login_case scram postgres.extractor "@postgres.scram" 'connections:
  postgres:
    scram:
      host: ${SL_PG_HOST}
      port: ${SL_PG_PORT}
      database: ${SL_PG_DB}
      user: ${SL_PG_USER}
      password: ${SL_PG_PASSWORD}
      sslmode: disable' \
  SL_PG_HOST=127.0.0.1 SL_PG_PORT="$OSIRIS_TEST_PG_PORT" SL_PG_DB="$OSIRIS_TEST_PG_DB" \
  SL_PG_USER="$PG_ROLE" SL_PG_PASSWORD="$PG_PW"

finish
