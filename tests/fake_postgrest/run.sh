#!/usr/bin/env bash
# Checks the fake PostgREST (server.mjs) with the official postgrest-js client.
# pg + @supabase/postgrest-js come from `make deps` (npm ci into
# tests/fake_postgrest/node_modules); this runs check_client.mjs, which starts the fake on a
# free loopback port against the test PostgreSQL and always stops it.
# Needs FAKE_POSTGREST_DSN or the OSIRIS_TEST_PG_* variables (tests/db/servers.sh
# env); when neither is set and tests/db/servers.sh reports running servers,
# their env lines are used.  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then echo "fake_postgrest: node not found" >&2; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -f node_modules/pg/package.json ] || [ ! -f node_modules/@supabase/postgrest-js/package.json ]; then
  echo "fake_postgrest: pg and @supabase/postgrest-js are not installed (run \`make deps\`)" >&2
  echo "0 passed, 1 failed"; exit 1
fi
if [ -z "${FAKE_POSTGREST_DSN:-}" ] && [ -z "${OSIRIS_TEST_PG_PORT:-}" ] &&
   bash ../db/servers.sh status 2>/dev/null; then
  eval "$(bash ../db/servers.sh env)"
fi
exec node check_client.mjs "$@"
