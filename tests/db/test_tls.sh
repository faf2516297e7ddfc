#!/usr/bin/env bash
# TLS to the throwaway servers (tests/db/servers.sh: a CA made at start,
# $OSIRIS_TEST_TLS_CA, and a server certificate for 127.0.0.1 and
# localhost).  MySQL ssl_mode VERIFY_IDENTITY, REQUIRED, PREFERRED, DISABLED
# and none, PostgreSQL and supabase sslmode verify-full, verify-ca and
# disable, each proven from inside the session (Ssl_cipher, pg_stat_ssl);
# a second self-made CA and a server name the certificate lacks, refused;
# a fake MySQL server without TLS, refused under REQUIRED; invalid modes and
# missing files refused before connecting; `connections doctor`; no secret
# in any run directory.
source "$(dirname "$0")/lib.sh"

if [ ! -s "${OSIRIS_TEST_TLS_CA:-}" ]; then
  fail "OSIRIS_TEST_TLS_CA is not a file (servers started by an older servers.sh? stop and start them)"
  finish
fi

# A CA of our own that signed nothing the servers use.
export OSIRIS_TEST_WRONG_CA=$E2E_WORK/wrong-ca.pem
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=not the osiris test CA" -keyout "$E2E_WORK/wrong-ca.key" -out "$OSIRIS_TEST_WRONG_CA" \
  >/dev/null 2>&1 || fail "cannot make the second CA"
export OSIRIS_TEST_MISSING_CA=$E2E_WORK/no-such-ca.pem
# A server name the certificate does not carry, without leaving loopback:
# MySQL connects to "127.1" (127.0.0.1 to the resolver, not the
# certificate's IP to Connector/C); libpq connects to hostaddr 127.0.0.1
# and checks the certificate against host (never looked up).
export OSIRIS_TEST_PG_OTHER_NAME_DSN="postgresql://$OSIRIS_TEST_PG_USER:$OSIRIS_TEST_PG_PASSWORD@osiris-tls-other-name.invalid:$OSIRIS_TEST_PG_PORT/$OSIRIS_TEST_PG_DB?hostaddr=127.0.0.1"

# tls_connections: every alias of this test; secrets as ${VAR} references.
tls_connections() {
  cat >osiris_connections.yaml <<'YAML'
connections:
  mysql:
    default_mode:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
    preferred:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: Preferred
    ca_without_mode:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_ca: ${OSIRIS_TEST_TLS_CA}
    verify:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: ${OSIRIS_TEST_TLS_CA}
    required:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: required
    required_wrong_ca:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: REQUIRED
      ssl_ca: ${OSIRIS_TEST_WRONG_CA}
    disabled:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: DISABLED
      ssl_ca: ${OSIRIS_TEST_MISSING_CA}
    wrong_ca:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: ${OSIRIS_TEST_WRONG_CA}
    verify_ca_other_name:
      host: "127.1"
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_CA
      ssl_ca: ${OSIRIS_TEST_TLS_CA}
    verify_identity_other_name:
      host: "127.1"
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: ${OSIRIS_TEST_TLS_CA}
    required_ca_other_name:
      host: "127.1"
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: REQUIRED
      ssl_ca: ${OSIRIS_TEST_TLS_CA}
    bad_mode:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY
    missing_ca:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: ${OSIRIS_TEST_MISSING_CA}
  postgres:
    verify:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: verify-full
      sslrootcert: ${OSIRIS_TEST_TLS_CA}
    verify_dsn:
      dsn: ${OSIRIS_TEST_PG_DSN}
      sslmode: VERIFY-FULL
      sslrootcert: ${OSIRIS_TEST_TLS_CA}
    verify_full_other_name:
      dsn: ${OSIRIS_TEST_PG_OTHER_NAME_DSN}
      sslmode: verify-full
      sslrootcert: ${OSIRIS_TEST_TLS_CA}
    verify_ca_other_name:
      dsn: ${OSIRIS_TEST_PG_OTHER_NAME_DSN}
      sslmode: verify-ca
      sslrootcert: ${OSIRIS_TEST_TLS_CA}
    disable:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: disable
      sslrootcert: ${OSIRIS_TEST_MISSING_CA}
    wrong_ca:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: verify-full
      sslrootcert: ${OSIRIS_TEST_WRONG_CA}
    require_wrong_ca:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: require
      sslrootcert: ${OSIRIS_TEST_WRONG_CA}
    bad_mode:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: verify_full
    missing_ca:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: require
      sslrootcert: ${OSIRIS_TEST_MISSING_CA}
  supabase:
    verify:
      url: http://127.0.0.1:1
      service_role_key: ${OSIRIS_TEST_FAKE_KEY}
      pg_dsn: ${OSIRIS_TEST_PG_DSN}
      sslmode: verify-full
      sslrootcert: ${OSIRIS_TEST_TLS_CA}
YAML
}

# extract FILE COMPONENT CONNECTION QUERY: one extractor step "ex" to out.csv.
extract() {
  cat >"$1" <<YAML
oml_version: "0.1.0"
name: tls-extract
steps:
  - id: ex
    component: $2
    mode: read
    config:
      connection: "$3"
      query: "$4"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
}

MY_CIPHER="SHOW SESSION STATUS LIKE 'Ssl_cipher'"
PG_SSL="SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

# my_cipher: the Value column of out.csv (the session's Ssl_cipher; empty
# when the session is not encrypted).
my_cipher() { sed -n 2p out.csv | cut -d, -f2; }

# failed_at_ex WHAT CODE FRAGMENT: exit 1, error code, the message fragment
# in status.json and stderr naming the step, nothing written, no secret.
failed_at_ex() {
  local run
  run=$(newest_run_dir)
  assert_exit 1 "$1: exit 1"
  assert_eq "$2" "$(status_code "$run")" "$1: error code"
  assert_contains "$run/status.json" "$3"
  assert_matches "$ERR" "failed at step ex" "$1: stderr names the step"
  assert_contains "$ERR" "$3"
  assert_no_file out.csv
  assert_no_secret "$run" "$OUT" "$ERR" osiris_connections.yaml
}

# ---------------------------------------------------------------- MySQL
new_case mysql-verify-identity
my_sql "DROP TABLE IF EXISTS t_tls" || fail "cannot drop t_tls"
tls_connections
printf 'id,name\n1,one\n2,two\n3,three\n' >in.csv
cat >p.yaml <<YAML
oml_version: "0.1.0"
name: tls-mysql
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
      connection: "@mysql.verify"
      table: t_tls
      create_if_missing: true
  - id: ex
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.verify"
      query: "$MY_CIPHER"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
run_osiris run p.yaml
assert_exit 0 "VERIFY_IDENTITY with the servers' CA: extract and write"
assert_eq "1 one,2 two,3 three" "$(my_sql "SELECT id, name FROM t_tls ORDER BY id" | tr '\t\n' ' ,' | sed 's/,$//')" \
  "rows written over VERIFY_IDENTITY"
assert_eq "Variable_name,Value" "$(head -n 1 out.csv)" "Ssl_cipher header"
assert_matches out.csv '^Ssl_cipher,[A-Z0-9_-]+$' "VERIFY_IDENTITY session is encrypted"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case mysql-required
tls_connections
extract p.yaml mysql.extractor "@mysql.required" "$MY_CIPHER"
run_osiris run p.yaml
assert_exit 0 "ssl_mode required (lower case), no CA"
assert_matches out.csv '^Ssl_cipher,[A-Z0-9_-]+$' "REQUIRED session is encrypted"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case mysql-preferred
tls_connections
extract p.yaml mysql.extractor "@mysql.preferred" "$MY_CIPHER"
run_osiris run p.yaml
assert_exit 0 "ssl_mode Preferred"
assert_matches out.csv '^Ssl_cipher,[A-Z0-9_-]+$' "PREFERRED encrypts when the server offers TLS"

new_case mysql-no-mode
tls_connections
extract p.yaml mysql.extractor "@mysql.default_mode" "$MY_CIPHER"
run_osiris run p.yaml
assert_exit 0 "no ssl_mode"
assert_eq "" "$(my_cipher)" "no ssl_mode: no TLS, as before the key existed"

new_case mysql-ca-without-mode
tls_connections
extract p.yaml mysql.extractor "@mysql.ca_without_mode" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "ssl_ca without ssl_mode" OSIRIS_EINVAL \
  "ssl_ca is set but ssl_mode is not: give ssl_mode (VERIFY_IDENTITY recommended)"

new_case mysql-disabled
tls_connections
extract p.yaml mysql.extractor "@mysql.disabled" "$MY_CIPHER"
run_osiris run p.yaml
assert_exit 0 "ssl_mode DISABLED (its ssl_ca, a missing file, is not used)"
assert_eq "" "$(my_cipher)" "DISABLED session is not encrypted"
assert_eq 2 "$(wc -l <out.csv | tr -d ' ')" "Ssl_cipher row present"

new_case mysql-wrong-ca
tls_connections
extract p.yaml mysql.extractor "@mysql.wrong_ca" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "VERIFY_IDENTITY with another CA" OSIRIS_ECONN \
  "MySQL connection to $OSIRIS_TEST_MYSQL_HOST:$OSIRIS_TEST_MYSQL_PORT/$OSIRIS_TEST_MYSQL_DB failed"
assert_contains_i "$(newest_run_dir)/status.json" "certificate"

new_case mysql-required-wrong-ca
tls_connections
extract p.yaml mysql.extractor "@mysql.required_wrong_ca" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "REQUIRED with ssl_ca of another CA (Connector/C checks a given CA)" OSIRIS_ECONN \
  "MySQL connection to $OSIRIS_TEST_MYSQL_HOST:$OSIRIS_TEST_MYSQL_PORT/$OSIRIS_TEST_MYSQL_DB failed"

new_case mysql-verify-ca-other-name
tls_connections
extract p.yaml mysql.extractor "@mysql.verify_ca_other_name" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "VERIFY_CA to a name the certificate lacks (Connector/C checks the name too)" \
  OSIRIS_ECONN "MySQL connection to 127.1:$OSIRIS_TEST_MYSQL_PORT/$OSIRIS_TEST_MYSQL_DB failed"
assert_contains_i "$(newest_run_dir)/status.json" "validation of SSL server certificate failed"

new_case mysql-verify-identity-other-name
tls_connections
extract p.yaml mysql.extractor "@mysql.verify_identity_other_name" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "VERIFY_IDENTITY to a name the certificate lacks" OSIRIS_ECONN \
  "MySQL connection to 127.1:$OSIRIS_TEST_MYSQL_PORT/$OSIRIS_TEST_MYSQL_DB failed"

new_case mysql-required-ca-other-name
tls_connections
extract p.yaml mysql.extractor "@mysql.required_ca_other_name" "$MY_CIPHER"
run_osiris run p.yaml
assert_exit 0 "REQUIRED with the right CA checks the chain, not the name"
assert_matches out.csv '^Ssl_cipher,[A-Z0-9_-]+$' "REQUIRED session to 127.1 is encrypted"

# A MySQL server that offers no TLS (a few lines of Python on loopback):
# Connector/C would carry on in plain text under REQUIRED; osiris must not.
new_case mysql-server-without-tls
mkfifo port.fifo || fail "mkfifo"
"$PY" - port.fifo <<'FAKE' &
import os, socket, struct, sys
# A MySQL server that offers no TLS: the v10 handshake without CLIENT_SSL,
# then OK to whatever the client answers; one connection at a time.
caps = (1 | 2 | 4 | 8 | 0x80 | 0x200 | 0x2000 | 0x8000 | (1 << 16) | (1 << 17) | (1 << 19))
def packet(seq, body):
    return struct.pack("<I", len(body))[:3] + bytes([seq]) + body
def read_packet(c):
    head = b""
    while len(head) < 4:
        chunk = c.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    n = head[0] | head[1] << 8 | head[2] << 16
    body = b""
    while len(body) < n:
        chunk = c.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head[3], body
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
with open(sys.argv[1], "w") as f:  # a fifo: the test blocks until we listen
    f.write("%d\n" % s.getsockname()[1])
seed = b"abcdefghijklmnopqrst"
hello = (b"\x0a" + b"8.0.36-osiris-fake\x00" + struct.pack("<I", 7) + seed[:8] + b"\x00"
         + struct.pack("<H", caps & 0xFFFF) + bytes([45]) + struct.pack("<H", 2)
         + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10 + seed[8:] + b"\x00"
         + b"mysql_native_password\x00")
while True:
    c, _ = s.accept()
    try:
        c.sendall(packet(0, hello))
        p = read_packet(c)
        if p:
            c.sendall(packet(p[0] + 1, b"\x00\x00\x00\x02\x00\x00\x00"))
            # Any command but COM_QUIT gets an error, so a client that
            # carries on in plain text fails at once instead of waiting.
            while True:
                p = read_packet(c)
                if not p or p[1][:1] == b"\x01":
                    break
                c.sendall(packet(p[0] + 1, b"\xff\x48\x04#HY000osiris fake server: plain text"))
    except OSError:
        pass
    c.close()
FAKE
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null; [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"' EXIT
trap 'exit 143' INT TERM
read -r FAKE_PORT <port.fifo # returns once the fake server listens
cat >osiris_connections.yaml <<YAML
connections:
  mysql:
    required:
      host: 127.0.0.1
      port: $FAKE_PORT
      database: none
      user: nobody
      password: \${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: REQUIRED
    verify:
      host: 127.0.0.1
      port: $FAKE_PORT
      database: none
      user: nobody
      password: \${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: \${OSIRIS_TEST_TLS_CA}
YAML
extract p.yaml mysql.extractor "@mysql.required" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "REQUIRED, server without TLS" OSIRIS_ECONN \
  "ssl_mode is REQUIRED but the connection is not encrypted (the server offers no TLS)"
extract p.yaml mysql.extractor "@mysql.verify" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "VERIFY_IDENTITY, server without TLS" OSIRIS_ECONN "SSL is required, but the server does not support it"
kill "$FAKE_PID" 2>/dev/null

new_case mysql-invalid-mode
tls_connections
extract p.yaml mysql.extractor "@mysql.bad_mode" "$MY_CIPHER"
run_osiris run p.yaml
failed_at_ex "ssl_mode VERIFY" OSIRIS_EINVAL \
  'is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY'
assert_contains "$ERR" 'ssl_mode "VERIFY"'

new_case mysql-missing-ca
tls_connections
cat >p.yaml <<'YAML'
oml_version: "0.1.0"
name: tls-missing-ca
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
  - id: ex
    component: mysql.writer
    mode: write
    needs: [read]
    config:
      connection: "@mysql.missing_ca"
      table: t_tls_never
YAML
printf 'id\n1\n' >in.csv
run_osiris run p.yaml
failed_at_ex "ssl_ca names no file (writer)" OSIRIS_EINVAL "ssl_ca $OSIRIS_TEST_MISSING_CA: no such file"
assert_eq 0 "$(my_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 't_tls_never'")" \
  "nothing created"

new_case mysql-doctor
tls_connections
run_osiris connections doctor
assert_matches "$OUT" '@mysql\.verify +ok' "doctor: mysql.verify ok"
assert_matches "$OUT" '@postgres\.verify +ok' "doctor: postgres.verify ok"
assert_matches "$OUT" '@mysql\.wrong_ca +failed' "doctor: mysql.wrong_ca failed"
assert_no_secret "$OUT" "$ERR"

# ---------------------------------------------------------------- PostgreSQL
new_case pg-verify-full
pg_sql "DROP TABLE IF EXISTS t_tls" || fail "cannot drop t_tls"
tls_connections
printf 'id,name\n1,one\n2,two\n' >in.csv
cat >p.yaml <<YAML
oml_version: "0.1.0"
name: tls-pg
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
      connection: "@postgres.verify"
      table: t_tls
      create_if_missing: true
  - id: ex
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.verify"
      query: "$PG_SSL"
  - id: out
    component: filesystem.csv_writer
    mode: write
    needs: [ex]
    config:
      path: out.csv
YAML
run_osiris run p.yaml
assert_exit 0 "verify-full with the servers' CA: extract and write"
assert_eq "1|one,2|two" "$(pg_sql "SELECT id, name FROM t_tls ORDER BY id" | tr '\n' ',' | sed 's/,$//')" \
  "rows written over verify-full"
assert_matches out.csv '^true,TLSv1\.[23]$' "verify-full session is encrypted (pg_stat_ssl)"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case pg-verify-full-dsn
tls_connections
extract p.yaml postgres.extractor "@postgres.verify_dsn" "$PG_SSL"
run_osiris run p.yaml
assert_exit 0 "dsn with sslmode VERIFY-FULL (any case) and sslrootcert fields"
assert_matches out.csv '^true,' "dsn + verify-full session is encrypted"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case supabase-verify-full
tls_connections
extract p.yaml supabase.extractor "@supabase.verify" "$PG_SSL"
run_osiris run p.yaml
assert_exit 0 "supabase SQL channel with verify-full"
assert_matches out.csv '^true,' "supabase verify-full session is encrypted"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case pg-disable
tls_connections
extract p.yaml postgres.extractor "@postgres.disable" "$PG_SSL"
run_osiris run p.yaml
assert_exit 0 "sslmode disable (its sslrootcert, a missing file, is not used)"
assert_matches out.csv '^false,$' "disable session is not encrypted"

new_case pg-wrong-ca
tls_connections
extract p.yaml postgres.extractor "@postgres.wrong_ca" "$PG_SSL"
run_osiris run p.yaml
failed_at_ex "verify-full with another CA" OSIRIS_ECONN "PostgreSQL connection to"
assert_contains_i "$(newest_run_dir)/status.json" "certificate verify failed"

new_case pg-require-wrong-ca
tls_connections
extract p.yaml postgres.extractor "@postgres.require_wrong_ca" "$PG_SSL"
run_osiris run p.yaml
failed_at_ex "require with sslrootcert of another CA (libpq then checks the chain)" OSIRIS_ECONN \
  "PostgreSQL connection to"

new_case pg-verify-full-other-name
tls_connections
extract p.yaml postgres.extractor "@postgres.verify_full_other_name" "$PG_SSL"
run_osiris run p.yaml
failed_at_ex "verify-full to a name the certificate lacks" OSIRIS_ECONN "PostgreSQL connection to"
assert_contains "$(newest_run_dir)/status.json" 'does not match host name'

new_case pg-verify-ca-other-name
tls_connections
extract p.yaml postgres.extractor "@postgres.verify_ca_other_name" "$PG_SSL"
run_osiris run p.yaml
assert_exit 0 "verify-ca checks the chain, not the name"
assert_matches out.csv '^true,' "verify-ca session is encrypted"
assert_no_secret "$(newest_run_dir)" "$OUT" "$ERR"

new_case pg-invalid-mode
tls_connections
extract p.yaml postgres.extractor "@postgres.bad_mode" "$PG_SSL"
run_osiris run p.yaml
failed_at_ex "sslmode verify_full" OSIRIS_EINVAL \
  'is not one of disable, allow, prefer, require, verify-ca or verify-full'
assert_contains "$ERR" 'sslmode "verify_full"'

new_case pg-missing-ca
tls_connections
extract p.yaml postgres.extractor "@postgres.missing_ca" "$PG_SSL"
run_osiris run p.yaml
failed_at_ex "sslrootcert names no file" OSIRIS_EINVAL "sslrootcert $OSIRIS_TEST_MISSING_CA: no such file"

finish
