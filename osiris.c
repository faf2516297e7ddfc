/*
 * osiris.c -- the osiris engine in one translation unit.
 * (Development layout: the sections live in src/ and are included here in
 * order; they are folded into this file before the first release.)
 */
#include "src/base.c"    /* 1 config/platform, 2 types, 3 memory..., 4 errors */
#include "src/json.c"    /* 5 JSON */
#include "src/yaml.c"    /* 6 YAML */
#include "src/frame.c"   /* 7 frames */
#include "src/csv.c"     /* 8 CSV */
#include "src/parquet.c" /* 9 Parquet */
#include "src/session.c" /* 10 telemetry, session, masking */
#include "src/conn.c"    /* 11 connections */
#include "src/compile.c" /* 12 OML and compiler, 13 manifest */
#include "src/runner.c"  /* 14 registry and runner, 15 worker protocol, 17 public API */
#include "src/remote.c"  /* 16 transports: subprocess and E2B */
#include "src/diff.c"    /* 16b run comparison */
#ifdef OSIRIS_CLI_MAIN
#include "src/cli.c"     /* 18 CLI */
#endif
