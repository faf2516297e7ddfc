#!/usr/bin/env bash
# Regenerate tests/parquet/fixtures: small files written by DuckDB and
# @dsnp/parquetjs (+ JSON expectations) that tests/test_parquet.c reads
# without node.  Needs the npm packages (bash run.sh installs them).
set -eu
cd "$(dirname "$0")"
rm -rf fixtures
OSIRIS_PQ_ROWS=300 OSIRIS_PQ_RELATIVE=1 node check.mjs write fixtures
rm -f fixtures/duck_from_* fixtures/duck_onegroup.*
ls -la fixtures
