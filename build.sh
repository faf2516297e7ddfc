#!/usr/bin/env bash
# Build osiris on a fresh Debian machine and run the example pipeline.
#   ./build.sh             install missing packages, build, run the example
#   ./build.sh --deps-only install missing packages only (used by make test)
set -euo pipefail
cd "$(dirname "$0")"

# What the build and the tests need, as Debian package names.
PACKAGES=(gcc make libc6-dev libsqlite3-dev libcurl4-openssl-dev libmariadb-dev libpq-dev binutils openssl file)
# Tools the tests run, installed only when no such command exists (a
# machine may have its own node or python, which Debian's must not fight).
TOOLS=(python3:python3 node:nodejs npm:npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for t in "${TOOLS[@]}"; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "build.sh: missing packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
[ "${1:-}" = "--deps-only" ] && exit 0

make -s osiris
echo "build.sh: built ./osiris; running the example pipeline"
./osiris run examples/movies/pipeline.yaml
echo "build.sh: output written to examples/output/movies_by_decade.csv:"
cat examples/output/movies_by_decade.csv
