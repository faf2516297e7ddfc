#!/usr/bin/env bash
# Build osiris on a fresh Debian machine and run the example pipeline.
#   ./build.sh               install missing build packages, build, run the example
#   ./build.sh --deps-only   install missing build packages only
#   ./build.sh --worker-deps install missing packages of the static worker's build (vendor.sh)
#   ./build.sh --test-deps   install everything `make test` needs (used by `make deps`)
#
# This script is the one place that installs anything.  --test-deps does it
# all once, in order, before anything runs in parallel: the Debian packages
# of the build, of the static worker's vendor build, of the test servers
# (MariaDB, PostgreSQL 15) and of the checks (clang), in one apt-get call,
# then the npm packages of the fakes and cross-checks (from their lock
# files).  The test suites themselves never install: a missing package is
# an error there that names `make deps`.
set -euo pipefail
cd "$(dirname "$0")"

# What the host build needs, as Debian package names.
BUILD_PACKAGES=(gcc make libc6-dev libsqlite3-dev libcurl4-openssl-dev libmariadb-dev libpq-dev
                binutils openssl file ca-certificates)
# The static worker's dependencies are built from Debian's source packages
# (vendor.sh): its tools and the static archives taken as they are.
WORKER_PACKAGES=(dpkg-dev xz-utils cmake libssl-dev zlib1g-dev debian-archive-keyring)
# The test servers, the second compiler of `make check`, the tools the
# test scripts call (pgrep/ps, curl, ldd comes with libc-bin), and the
# locale data for the comma-decimal locale of tests/e2e/locale.sh.
TEST_PACKAGES=(clang mariadb-server mariadb-client postgresql-15 postgresql-client-15
               procps curl locales python3)
# A locale whose decimal point is a comma (generated when missing).
TEST_LOCALE=de_DE
# Tools the tests run, installed only when no such command exists (a
# machine may have its own node or python, which Debian's must not fight).
TOOLS=(python3:python3 node:nodejs npm:npm)
# npm packages (each directory has a package-lock.json): the fake E2B's
# official SDK check, the PostgREST fake's client check, the Parquet readers.
NPM_DIRS=(tests/fake_e2b tests/fake_postgrest tests/parquet)

say() { printf 'build.sh: %s\n' "$*" >&2; }

mode=build
case "${1:-}" in
  "") ;;
  --deps-only) mode=deps ;;
  --worker-deps) mode=worker-deps ;;
  --test-deps) mode=test-deps ;;
  -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) say "unknown option $1 (see ./build.sh --help)"; exit 2 ;;
esac

wanted=("${BUILD_PACKAGES[@]}")
case $mode in
  worker-deps) wanted+=("${WORKER_PACKAGES[@]}") ;;
  test-deps) wanted+=("${WORKER_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
esac

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for t in "${TOOLS[@]}"; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # policy-rc.d keeps the server packages from starting system-wide
    # servers: the tests start their own, on loopback, in temporary directories.
    prc=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$prc" ]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod 755 "$prc"; created=1; fi
    rc=0
    { apt-get update -qq >/dev/null &&
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
    [ "$created" = 1 ] && rm -f "$prc"
    [ "$rc" = 0 ] || { say "apt-get failed (exit $rc) installing: ${missing[*]}"; exit 1; }
  else
    say "missing packages: ${missing[*]}"
    say "  install them with: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

if [ "$mode" = test-deps ]; then
  if ! locale -a 2>/dev/null | grep -qix "$TEST_LOCALE.utf8"; then
    if [ "$(id -u)" = 0 ]; then
      say "generating the locale $TEST_LOCALE.UTF-8 (tests/e2e/locale.sh)"
      localedef -i "$TEST_LOCALE" -c -f UTF-8 "$TEST_LOCALE.UTF-8" ||
        { say "localedef $TEST_LOCALE.UTF-8 failed"; exit 1; }
    else
      say "missing locale $TEST_LOCALE.UTF-8: sudo localedef -i $TEST_LOCALE -c -f UTF-8 $TEST_LOCALE.UTF-8"
      exit 1
    fi
  fi
  for d in "${NPM_DIRS[@]}"; do
    # A stamp records which lock file node_modules was installed from.
    stamp=$d/node_modules/.osiris-lock.sha256
    sum=$(sha256sum "$d/package-lock.json" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && continue
    say "npm ci in $d"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
      { say "npm ci failed in $d"; exit 1; }
    echo "$sum" >"$stamp"
  done
fi
[ "$mode" = build ] || exit 0

make -s osiris
echo "build.sh: built ./osiris; running the example pipeline"
./osiris run examples/movies/pipeline.yaml
echo "build.sh: output written to examples/output/movies_by_decade.csv:"
cat examples/output/movies_by_decade.csv
