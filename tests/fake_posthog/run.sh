#!/usr/bin/env bash
# Checks the fake PostHog query API (server.mjs) against PostHog's API
# reference (reference_examples.json) and PostHog's own HogQL parser
# (@posthog/hogql-parser, from `make deps`: npm ci into
# tests/fake_posthog/node_modules) over the queries the osiris binary sends
# ($OSIRIS, else ../../osiris).  Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then echo "fake_posthog: node not found" >&2; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -f node_modules/@posthog/hogql-parser/package.json ]; then
  echo "fake_posthog: @posthog/hogql-parser is not installed (run \`make deps\`)" >&2
  echo "0 passed, 1 failed"; exit 1
fi
exec node check_reference.mjs "$@"
