#!/usr/bin/env bash
# Checks the fake GraphQL server (server.mjs, on graphql-js) with the
# graphql-request client.  graphql + graphql-request come from `make deps`
# (npm ci into tests/fake_graphql/node_modules); this runs check_client.mjs,
# which starts the fake on a free loopback port and always stops it.
# Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then echo "fake_graphql: node not found" >&2; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -f node_modules/graphql/package.json ] || [ ! -f node_modules/graphql-request/package.json ]; then
  echo "fake_graphql: graphql and graphql-request are not installed (run \`make deps\`)" >&2
  echo "0 passed, 1 failed"; exit 1
fi
exec node check_client.mjs "$@"
