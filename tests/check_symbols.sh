#!/usr/bin/env bash
# The engine exports nothing outside the osiris_ prefix (STYLE.md), the host
# CLI's lazylib.c exports only names of the libraries it stands in for (each
# one a function those libraries export), and the banned unsafe calls appear
# nowhere in the sources.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -I. -c osiris.c -o "$tmp/osiris.o" && cc -std=c11 -I. -I/usr/include/mariadb -I/usr/include/postgresql -c drivers.c -o "$tmp/drivers.o" || { echo "0 passed, 1 failed"; exit 1; }
bad=$(nm -g --defined-only "$tmp/osiris.o" | awk '{print $3}' | grep -v '^osiris_' || true)
if [ -z "$bad" ]; then pass=$((pass+1)); else echo "FAIL osiris.o exports: $bad"; fail=$((fail+1)); fi
bad=$(nm -g --defined-only "$tmp/drivers.o" | awk '{print $3}' | grep -v '^osiris_' || true)
if [ -z "$bad" ]; then pass=$((pass+1)); else echo "FAIL drivers.o exports: $bad"; fail=$((fail+1)); fi
if cc -std=c11 -I/usr/include/mariadb -I/usr/include/postgresql -c lazylib.c -o "$tmp/lazylib.o"; then
  for so in libcurl.so.4 libpq.so.5 libmariadb.so.3 libsqlite3.so.0; do
    path=$(ldconfig -p | awk -v l="$so" '$1 == l && /x86-64/ {print $NF; exit}')
    [ -n "$path" ] && nm -D --defined-only "$path" | awk '{print $3}' | sed 's/@.*//'
  done | sort -u >"$tmp/real"
  bad=$(nm -g --defined-only "$tmp/lazylib.o" | awk '{print $3}' | sort -u | comm -23 - "$tmp/real")
  if [ -s "$tmp/real" ] && [ -z "$bad" ]; then pass=$((pass+1)); else echo "FAIL lazylib.o exports what no library it loads has: ${bad:-(no library found)}"; fail=$((fail+1)); fi
else
  echo "FAIL lazylib.c does not compile"; fail=$((fail+1))
fi
banned=$(grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|sscanf|gets)\s*\('  osiris.c drivers.c worker_main.c static_stubs.c lazylib.c | grep -v 'snprintf\|vsnprintf' || true)
if [ -z "$banned" ]; then pass=$((pass+1)); else echo "FAIL banned calls: $banned"; fail=$((fail+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
