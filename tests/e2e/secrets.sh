#!/usr/bin/env bash
# Secrets: a connection password taken from the environment (and from .env)
# never reaches anything osiris writes or prints.
. "$(dirname "$0")/lib.sh"

SECRET="s3cr3t-Value-XYZ-9137"

# no_leak WHAT: grep the whole logs dir and this case's captured output.
no_leak() {
  local hits
  hits=$(grep -rlF -- "$SECRET" logs .out.* .err.* 2>/dev/null | tr '\n' ' ')
  if [ -z "$hits" ]; then pass "$1: no secret"; else fail "$1: secret value found in: $hits"; fi
}

setup() {
  new_case "$1"
  copy_fixture data
  cp "$E2E_FIXTURES/secrets/osiris_connections.yaml" "$E2E_FIXTURES/secrets/pipeline.yaml" \
     "$E2E_FIXTURES/secrets/failing.yaml" .
}

# --------------------------------------------------- secret from the env
setup env
export TEST_SECRET_PW=$SECRET
run_osiris run pipeline.yaml
assert_exit 0 "run with a secret connection"
run_osiris run pipeline.yaml --verbose
assert_exit 0 "run --verbose with a secret connection"
RUN=$(newest_run_dir)
assert_file "$RUN/debug.log"
assert_file output/people.csv
C=$RUN/artifacts/extract-people/cleaned_config.json
assert_file "$C"
assert_contains "$C" '***MASKED***' "cleaned_config.json shows ***MASKED***"
assert_eq '***MASKED***' "$(json_get "$C" 'd["resolved_connection"]["password"]')" \
  "cleaned_config resolved_connection.password masked"
assert_eq 2 "$(ls -d logs/run_*/ 2>/dev/null | wc -l)" "two run directories"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
st = [e for e in evs if e["event"] == "connection_resolve_start"]
co = [e for e in evs if e["event"] == "connection_resolve_complete"]
ok(len(st) == 1 and st[0].get("step_id") == "extract-people" and st[0].get("family") == "filesystem"
   and st[0].get("alias") == "local", "connection_resolve_start {step_id, family, alias}")
ok(len(co) == 1 and co[0].get("ok") is True, "connection_resolve_complete ok true")
ms = [e for e in evs if e["event"] == "config_meta_stripped" and e.get("step_id") == "extract-people"]
ok(ms and "connection" in ms[0].get("keys_removed", []), "connection is stripped from the config")
' "$RUN/events.jsonl"
run_osiris run pipeline.yaml --json --verbose
assert_exit 0 "run --json --verbose"
run_osiris compile pipeline.yaml
assert_exit 0 "compile with a secret connection"
run_osiris connections list
assert_exit 0 "connections list"
assert_contains "$OUT" local "connections list shows the alias"
run_osiris connections list --json
assert_exit 0 "connections list --json"
if py -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT" 2>/dev/null; then
  pass "connections list --json parses"
else
  fail "connections list --json does not parse"
fi
assert_not_contains "$OUT" "$SECRET" "connections list --json hides the secret"
run_osiris logs show --last
run_osiris logs show --last --json
run_osiris logs list --json
no_leak "successful runs"

# the failure path: messages, status.json, events
run_osiris run failing.yaml --verbose
assert_exit 1 "failing run with a secret connection exits 1"
no_leak "failing run"

# --------------------------------------------------- secret from .env only
setup dotenv
unset TEST_SECRET_PW
printf 'TEST_SECRET_PW=%s\n' "$SECRET" >.env
run_osiris run pipeline.yaml --verbose
assert_exit 0 "run with the secret from .env"
assert_file output/people.csv
assert_contains "$(newest_run_dir)/artifacts/extract-people/cleaned_config.json" '***MASKED***'
run_osiris connections list
no_leak ".env run"

# the environment wins over .env
printf 'TEST_SECRET_PW=\n' >.env
RC=0
TEST_SECRET_PW=$SECRET timeout 60 "$OSIRIS" run pipeline.yaml >.out.envwins 2>.err.envwins || RC=$?
assert_eq 0 "$RC" "environment value used when .env has an empty one"
no_leak "env over .env"

finish
