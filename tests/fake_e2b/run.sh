#!/usr/bin/env bash
# Checks the fake E2B service with the official e2b JS SDK.
# The SDK comes from `make deps` (npm ci into tests/fake_e2b/node_modules); this runs
# check_sdk.mjs, which starts the fake on a random loopback port and always stops it.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then echo "fake_e2b: node not found" >&2; exit 1; fi
if [ ! -f node_modules/e2b/package.json ]; then
  echo "fake_e2b: the e2b SDK is not installed (run \`make deps\`)" >&2
  echo "0 passed, 1 failed"; exit 1
fi
exec node check_sdk.mjs "$@"
