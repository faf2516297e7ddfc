#!/usr/bin/env bash
# The engine exports nothing outside the osiris_ prefix (STYLE.md), and the
# banned unsafe calls appear nowhere in the sources.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -I. -c osiris.c -o "$tmp/osiris.o" && cc -std=c11 -I. -I/usr/include/mariadb -I/usr/include/postgresql -c drivers.c -o "$tmp/drivers.o" || { echo "0 passed, 1 failed"; exit 1; }
bad=$(nm -g --defined-only "$tmp/osiris.o" | awk '{print $3}' | grep -v '^osiris_' || true)
if [ -z "$bad" ]; then pass=$((pass+1)); else echo "FAIL osiris.o exports: $bad"; fail=$((fail+1)); fi
bad=$(nm -g --defined-only "$tmp/drivers.o" | awk '{print $3}' | grep -v '^osiris_' || true)
if [ -z "$bad" ]; then pass=$((pass+1)); else echo "FAIL drivers.o exports: $bad"; fail=$((fail+1)); fi
banned=$(grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|sscanf|gets)\s*\('  osiris.c drivers.c worker_main.c static_stubs.c | grep -v 'snprintf\|vsnprintf' || true)
if [ -z "$banned" ]; then pass=$((pass+1)); else echo "FAIL banned calls: $banned"; fail=$((fail+1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
