#!/usr/bin/env bash
# `osiris connections doctor` against the throwaway MariaDB and PostgreSQL:
# ok + latency for good connections (TCP, string port, socket, DSN, a
# supabase connection with a pg_dsn), masked errors and exit 1 for bad
# passwords / DSNs / unreachable servers, --json, and one connection by
# reference.  No secret value may appear in any output.  (The REST probe
# of supabase connections is tested in test_supabase_rest.sh, against the
# fake PostgREST.)
source "$(dirname "$0")/lib.sh"

doctor_connections() {
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
    down:
      host: 127.0.0.1
      port: 1
      database: x
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_BAD_PASSWORD}
    nodb:
      host: ${OSIRIS_TEST_MYSQL_HOST}
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
  supabase:
    sql:
      url: http://127.0.0.1:1
      service_role_key: ${OSIRIS_TEST_FAKE_KEY}
      pg_dsn: ${OSIRIS_TEST_PG_DSN}
  filesystem:
    local:
      base_dir: .
YAML
}

# no_secrets MESSAGE FILES...: no test secret, DSN or key in the files.
no_secrets() {
  local msg=$1 s hits
  shift
  for s in "$OSIRIS_TEST_MYSQL_PASSWORD" "$OSIRIS_TEST_PG_PASSWORD" "$OSIRIS_TEST_BAD_PASSWORD" \
    "$OSIRIS_TEST_FAKE_KEY" "$OSIRIS_TEST_PG_DSN" "$OSIRIS_TEST_BAD_DSN"; do
    hits=$(grep -lF -- "$s" "$@" 2>/dev/null | wc -l)
    assert_eq 0 "$hits" "$msg: no secret in output"
  done
}

# ---------------------------------------------------------------- all, text
new_case all_text
doctor_connections
run_osiris connections doctor
assert_exit 1 "doctor over all connections: exit 1 when one fails"
for ref in @mysql.test @mysql.strport @mysql.sock @postgres.test @postgres.dsn @supabase.sql; do
  assert_matches "$OUT" "^✓ $ref +ok \\([0-9]+ ms\\)$" "$ref ok with latency"
done
for ref in @mysql.badpw @mysql.down @mysql.nodb @postgres.badpw @postgres.baddsn; do
  assert_matches "$OUT" "^✗ $ref +failed \\([0-9]+ ms\\): .+" "$ref failed with a message"
done
assert_matches "$OUT" "^- @filesystem.local +nothing to check" "filesystem: nothing to check"
assert_matches "$OUT" "@mysql.badpw .*Access denied for user" "MySQL bad password: the server's reason"
assert_matches "$OUT" "@postgres.badpw .*password authentication failed" "PostgreSQL bad password: the server's reason"
assert_matches "$OUT" "@postgres.baddsn .*password authentication failed" "PostgreSQL bad DSN: the server's reason"
assert_matches "$OUT" "@mysql.nodb .*database is required" "missing database named"
no_secrets "doctor text" "$OUT" "$ERR"

# ---------------------------------------------------------------- all, --json
new_case all_json
doctor_connections
run_osiris connections doctor --json
assert_exit 1 "doctor --json: exit 1 when one fails"
py_check '
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["ref"]: x for x in d["connections"]}
good = ["@mysql.test", "@mysql.strport", "@mysql.sock", "@postgres.test", "@postgres.dsn", "@supabase.sql"]
bad = ["@mysql.badpw", "@mysql.down", "@mysql.nodb", "@postgres.badpw", "@postgres.baddsn"]
print(("ok " if d["file"].endswith("osiris_connections.yaml") else "not ok ") + "report names the file")
for r in good:
    x = c.get(r, {})
    print(("ok " if x.get("ok") is True and "error" not in x else "not ok ") + r + " ok " + json.dumps(x))
    print(("ok " if isinstance(x.get("latency_ms"), int) and 0 <= x["latency_ms"] < 5000 else "not ok ") + r + " latency_ms")
for r in bad:
    x = c.get(r, {})
    print(("ok " if x.get("ok") is False and x.get("error") else "not ok ") + r + " failed with error " + json.dumps(x))
    print(("ok " if isinstance(x.get("latency_ms"), int) else "not ok ") + r + " latency_ms")
print(("ok " if c["@mysql.badpw"]["family"] == "mysql" and c["@mysql.badpw"]["alias"] == "badpw" else "not ok ") + "family/alias fields")
print(("ok " if c["@mysql.down"]["latency_ms"] < 6000 else "not ok ") + "unreachable server fails within the 5 s connect timeout")
print(("ok " if c.get("@filesystem.local", {}).get("skipped") is True else "not ok ") + "filesystem skipped")
' "$OUT"
no_secrets "doctor --json" "$OUT" "$ERR"

# ---------------------------------------------------------------- one connection
new_case one
doctor_connections
run_osiris connections doctor @mysql.test
assert_exit 0 "doctor @mysql.test: exit 0"
assert_eq 1 "$(grep -c . "$OUT")" "one line for one connection"
assert_matches "$OUT" "^✓ @mysql.test +ok \\([0-9]+ ms\\)$"
run_osiris connections doctor @postgres.dsn --json
assert_exit 0 "doctor @postgres.dsn --json: exit 0"
assert_eq "1|true|@postgres.dsn" "$(json_get "$OUT" 'str(len(d["connections"])) + "|" + str(d["connections"][0]["ok"]).lower() + "|" + d["connections"][0]["ref"]')" \
  "one ok entry"
run_osiris connections doctor @postgres
assert_exit 0 "doctor @postgres: the default alias"
assert_matches "$OUT" "^✓ @postgres.test +ok"
run_osiris connections doctor @supabase.sql --json
assert_exit 0 "doctor @supabase.sql: the SQL channel (pg_dsn) is checked"
run_osiris connections doctor @mysql.badpw
assert_exit 1 "doctor @mysql.badpw: exit 1"
assert_matches "$OUT" "Access denied"
run_osiris connections doctor @postgres.baddsn --json
assert_exit 1 "doctor @postgres.baddsn: exit 1"
assert_eq "false" "$(json_get "$OUT" 'str(d["connections"][0]["ok"]).lower()')" "bad DSN not ok"
run_osiris connections doctor @mysql.nope
assert_exit 2 "doctor of an unknown alias: usage exit 2"
assert_contains "$ERR" "not found"
no_secrets "doctor one" "$E2E_WORK/one"/.out.* "$E2E_WORK/one"/.err.*

finish
