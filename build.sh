#!/usr/bin/env bash
# Build osiris on a fresh Debian machine and run the example pipeline.
#   ./build.sh               install missing build packages, build, run the example
#   ./build.sh --deps-only   install missing build packages only
#   ./build.sh --worker-deps install missing packages of the static worker's build (vendor.sh)
#   ./build.sh --test-deps   install everything `make test` needs (used by `make deps`)
#   ./build.sh --duckdb      fetch DuckDB only (vendor/duckdb/libduckdb.so; `make duckdb`)
#
# Every mode but --worker-deps also fetches DuckDB for duckdb.processor:
# libduckdb.so from the npm package @duckdb/node-bindings-linux-x64, at the
# pinned version, its tarball and library checked against the pinned
# checksums, into vendor/duckdb/ (ignored by git; osiris loads it at run
# time).  When the npm registry cannot be reached it says so and goes on:
# sql.processor (SQLite) works without DuckDB, duckdb.processor then fails
# with the remedy.
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
               procps curl locales python3 libclang-rt-14-dev gdb)
# A locale whose decimal point is a comma (generated when missing).
TEST_LOCALE=de_DE
# Tools the tests run, installed only when no such command exists (a
# machine may have its own node or python, which Debian's must not fight).
TOOLS=(python3:python3 node:nodejs npm:npm)
# npm packages (each directory has a package-lock.json): the fake E2B's
# official SDK check, the PostgREST fake's client check, the Parquet readers,
# the GraphQL fake (graphql-js) and its client check (graphql-request), the
# PostHog fake's check with PostHog's own HogQL parser (@posthog/hogql-parser).
NPM_DIRS=(tests/fake_e2b tests/fake_postgrest tests/parquet tests/fake_graphql tests/fake_posthog)
# DuckDB for duckdb.processor.  The version must match @duckdb/node-api in
# tests/parquet/package-lock.json (tests/duckdb checks it).
DUCKDB_PKG=@duckdb/node-bindings-linux-x64
DUCKDB_VERSION=1.5.6-r.1
DUCKDB_TGZ_SHA512=IXcrZJE6kEqM0Z4wwdVnGBHX/frOS33VPNAwDXQ/Q+Fs84b058Qe94chrCCIcNJlG8Y3UHIUU4eBeCQxW5mN1Q==
DUCKDB_SO_SHA256=3f4962cdd266eab2b479a5b5a4a6d063d279b2954ae814ed00385d553b747633
DUCKDB_DIR=vendor/duckdb

say() { printf 'build.sh: %s\n' "$*" >&2; }

mode=build
case "${1:-}" in
  "") ;;
  --deps-only) mode=deps ;;
  --worker-deps) mode=worker-deps ;;
  --test-deps) mode=test-deps ;;
  --duckdb) mode=duckdb ;;
  -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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


# fetch_duckdb: vendor/duckdb/libduckdb.so at the pinned version.  Returns
# 0 when it is there (already, copied or fetched), 1 otherwise; says which.
sha256_of() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
fetch_duckdb() {
  local so=$DUCKDB_DIR/libduckdb.so tmp tgz local_copy
  local_copy=tests/parquet/node_modules/$DUCKDB_PKG/libduckdb.so
  if [ -f "$so" ] && [ "$(sha256_of "$so")" = "$DUCKDB_SO_SHA256" ]; then
    return 0
  fi
  mkdir -p "$DUCKDB_DIR"
  if [ -f "$local_copy" ] && [ "$(sha256_of "$local_copy")" = "$DUCKDB_SO_SHA256" ]; then
    cp "$local_copy" "$so.tmp" && mv -f "$so.tmp" "$so"
    say "DuckDB: copied libduckdb.so of $DUCKDB_PKG@$DUCKDB_VERSION (checksum ok) from tests/parquet/node_modules into $DUCKDB_DIR/"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "DuckDB: NOT fetched (npm is missing): duckdb.processor will fail until ./build.sh runs with npm"
    say "  and the npm registry reachable, or OSIRIS_DUCKDB_LIB names a libduckdb.so; sql.processor (SQLite) works"
    return 1
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/osiris-duckdb.XXXXXX")
  say "DuckDB: fetching $DUCKDB_PKG@$DUCKDB_VERSION (~24 MB) from the npm registry ..."
  if ! (cd "$tmp" && npm pack "$DUCKDB_PKG@$DUCKDB_VERSION" --no-audit --no-fund >pack.log 2>&1); then
    say "DuckDB: NOT fetched: npm pack failed ($(grep -m1 -i error "$tmp/pack.log" 2>/dev/null)); the npm registry may be"
    say "  unreachable.  duckdb.processor will fail until ./build.sh fetches it (or OSIRIS_DUCKDB_LIB names a"
    say "  libduckdb.so of DuckDB 1.5+); sql.processor (SQLite) works without it"
    rm -rf "$tmp"
    return 1
  fi
  tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
  if [ -z "$tgz" ] || [ "$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)" != "$DUCKDB_TGZ_SHA512" ]; then
    say "DuckDB: REFUSED the downloaded tarball: its sha512 is not the pinned one (nothing installed)"
    rm -rf "$tmp"
    return 1
  fi
  if ! tar -xzf "$tgz" -C "$tmp" package/libduckdb.so ||
     [ "$(sha256_of "$tmp/package/libduckdb.so")" != "$DUCKDB_SO_SHA256" ]; then
    say "DuckDB: REFUSED libduckdb.so from the tarball: its sha256 is not the pinned one (nothing installed)"
    rm -rf "$tmp"
    return 1
  fi
  mv -f "$tmp/package/libduckdb.so" "$so"
  rm -rf "$tmp"
  say "DuckDB: fetched $DUCKDB_PKG@$DUCKDB_VERSION, checksums ok: $so"
  return 0
}

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
duckdb_ok=1
case $mode in
  worker-deps) ;;
  *) fetch_duckdb || duckdb_ok=0 ;;
esac
[ "$mode" = duckdb ] && exit $((1 - duckdb_ok))
[ "$mode" = build ] || exit 0

make -s osiris
if [ "$duckdb_ok" = 0 ]; then
  say "built ./osiris; NOT running the example: it uses duckdb.processor and DuckDB could not be fetched (above)"
  exit 1
fi
echo "build.sh: built ./osiris; running the example pipeline (duckdb.processor)"
./osiris run examples/movies/pipeline.yaml
echo "build.sh: output written to examples/output/movies_by_decade.csv:"
cat examples/output/movies_by_decade.csv
