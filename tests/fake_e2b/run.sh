#!/usr/bin/env bash
# Checks the fake E2B service with the official e2b JS SDK.
# Installs the SDK into tests/fake_e2b/node_modules when missing (npm registry), then runs
# check_sdk.mjs, which starts the fake on a random loopback port and always stops it.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null 2>&1; then echo "fake_e2b: node not found" >&2; exit 1; fi
if [ ! -f node_modules/e2b/package.json ]; then
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi
exec node check_sdk.mjs "$@"
