/*
 * drivers.c -- the built-in osiris drivers.
 *
 * A separate translation unit that sees only the public API of osiris.h
 * (steps, frames, JSON, CSV), libc and SQLite (DuckDB is loaded at run
 * time, section 3b).  It holds:
 *
 *   1. Shared helpers      config readers, paths
 *   2. filesystem CSV      filesystem.csv_extractor, filesystem.csv_writer
 *   3. SQL on SQLite       sql.processor: SQLite over the upstream frames
 *                          through a virtual table, plus generate_series/range
 *   3b. SQL on DuckDB      duckdb.processor: DuckDB's C API, dlopen'ed from
 *                          libduckdb.so; frames in through the appender
 *   (db_drivers.inc)      mysql.*, postgres.*, supabase.* over MariaDB
 *                          Connector/C and libpq
 *   4. Registration        osiris_register_builtin_drivers()
 *
 * Adding a driver: write `static osiris_rc drv_<family>_<name>_run(osiris_step *)`
 * that reads osiris_step_config(), checks every key it uses (errors name
 * the key: "config.delimiter must be ..."), reads upstream frames with
 * osiris_step_input(), reports with osiris_step_metric()/osiris_step_fail(),
 * and hands its result over with osiris_step_set_output().  Describe it in
 * a `static const osiris_driver` with a keys table (default_json is copied
 * into the compiled cfg, so keep defaults identical to the reference
 * component spec: cfg hashes depend on them), then add one line to
 * osiris_register_builtin_drivers().  Everything else here stays static.
 *
 * Memory: everything this file allocates for itself goes through the
 * osiris allocator (osiris_malloc/calloc/realloc/strdup, osiris_buf;
 * released with osiris_free), so the fault-injection build fails the
 * drivers' allocations with the engine's (tests/test_alloc.c).  Memory a
 * client library hands out goes back through that library (sqlite3_free,
 * mysql_free_result, PQclear, curl_free, DuckDB's free).  Dates, doubles,
 * JSON strings and hex come from osiris.h too, never from a local copy.
 *
 * Build: cc -I/usr/include/mariadb -I/usr/include/postgresql -c drivers.c
 * (links with -lsqlite3 -lmariadb -lpq -lcurl, and -ldl before glibc 2.34;
 * -DOSIRIS_NO_DLOPEN for a fully static program, where duckdb.processor
 * then fails with a message instead of loading DuckDB).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "osiris.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* ======================================================================
 * 1. Shared helpers
 *
 * Config readers treat an absent key and a JSON null alike (the default
 * applies) and fail with a message naming the key otherwise.  Every helper
 * that fails on a step has already recorded the message with
 * osiris_step_fail(), so callers just propagate the code.
 * ====================================================================== */

#define DRV_ERR_CAP 1024

/* Append s as a double-quoted SQL identifier ("a""b" for a"b), with the
 * database drivers' quoting (drv_db_ident, in db_drivers.inc). */
static void drv_db_ident(osiris_buf *b, const char *name, char q, int split);
static void drv_buf_ident(osiris_buf *b, const char *s) { drv_db_ident(b, s, '"', 0); }

static int drv_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

static int drv_iendswith(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && drv_ieq(s + n - m, suffix);
}

/* The config value of key, or NULL when absent or JSON null. */
static const osiris_json *drv_cfg_get(const osiris_json *cfg, const char *key) {
  const osiris_json *v = osiris_json_get(cfg, key);
  return osiris_json_kind_of(v) == OSIRIS_JSON_NULL ? NULL : v;
}

static osiris_rc drv_cfg_str(osiris_step *s, const osiris_json *cfg, const char *key,
                             const char *dflt, const char **out) {
  const osiris_json *v = drv_cfg_get(cfg, key);
  *out = dflt;
  if (!v) return OSIRIS_OK;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_STRING)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be a string", key);
  if (strlen(osiris_json_str(v)) != osiris_json_strlen(v))
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must not contain NUL characters", key);
  *out = osiris_json_str(v);
  return OSIRIS_OK;
}

static osiris_rc drv_cfg_bool(osiris_step *s, const osiris_json *cfg, const char *key,
                              int dflt, int *out) {
  const osiris_json *v = drv_cfg_get(cfg, key);
  *out = dflt;
  if (!v) return OSIRIS_OK;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_BOOL)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be true or false", key);
  *out = osiris_json_bool(v, dflt);
  return OSIRIS_OK;
}

/* An integer >= min; 2.0 counts as 2 (YAML writers sometimes emit it). */
static osiris_rc drv_cfg_int(osiris_step *s, const osiris_json *cfg, const char *key,
                             int64_t dflt, int64_t min, int64_t *out) {
  const osiris_json *v = drv_cfg_get(cfg, key);
  osiris_json_kind k = osiris_json_kind_of(v);
  *out = dflt;
  if (!v) return OSIRIS_OK;
  if (k == OSIRIS_JSON_DOUBLE) {
    double d = osiris_json_num(v, 0.5);
    if (!(d == floor(d) && fabs(d) < 9e15)) k = OSIRIS_JSON_NULL;
  }
  if ((k != OSIRIS_JSON_INT && k != OSIRIS_JSON_DOUBLE) || osiris_json_int(v, min - 1) < min) {
    if (min == 0)
      return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be a non-negative integer", key);
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be an integer >= %" PRId64, key, min);
  }
  *out = osiris_json_int(v, dflt);
  return OSIRIS_OK;
}

/* A list of strings as a NULL-terminated array of borrowed pointers
 * (owned: osiris_free() it).  *out stays NULL when the key is absent.  With
 * allow_scalar a single string counts as a one-element list. */
static osiris_rc drv_cfg_strlist(osiris_step *s, const osiris_json *cfg, const char *key,
                                 int allow_scalar, const char ***out) {
  const osiris_json *v = drv_cfg_get(cfg, key);
  const char **list;
  size_t i, n;
  *out = NULL;
  if (!v) return OSIRIS_OK;
  if (allow_scalar && osiris_json_kind_of(v) == OSIRIS_JSON_STRING) {
    list = osiris_calloc(2, sizeof *list);
    if (!list) return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    list[0] = osiris_json_str(v);
    *out = list;
    return OSIRIS_OK;
  }
  if (osiris_json_kind_of(v) != OSIRIS_JSON_ARRAY)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be a list of strings", key);
  n = osiris_json_size(v);
  list = osiris_calloc(n + 1, sizeof *list);
  if (!list) return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
  for (i = 0; i < n; i++) {
    const osiris_json *item = osiris_json_at(v, i);
    if (osiris_json_kind_of(item) != OSIRIS_JSON_STRING) {
      osiris_free(list);
      return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s[%zu] must be a string", key, i);
    }
    list[i] = osiris_json_str(item);
  }
  *out = list;
  return OSIRIS_OK;
}

/* A single-byte delimiter that the CSV dialect can use. */
static osiris_rc drv_cfg_delimiter(osiris_step *s, const osiris_json *cfg, char *out) {
  const char *d;
  osiris_rc rc = drv_cfg_str(s, cfg, "delimiter", ",", &d);
  if (rc) return rc;
  if (strlen(d) != 1 || (unsigned char)d[0] >= 0x80 || d[0] == '"' || d[0] == '\r' ||
      d[0] == '\n')
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.delimiter must be a one-character string (got \"%s\")", d);
  *out = d[0];
  return OSIRIS_OK;
}

/* Warn about keys a driver does not know: the compiler rejects them for
 * OML input, but a hand-written manifest may still carry them. */
static void drv_warn_unknown_keys(osiris_step *s, const osiris_json *cfg,
                                  const osiris_config_key *keys) {
  size_t i, n = osiris_json_size(cfg);
  for (i = 0; i < n; i++) {
    const char *k = osiris_json_key_at(cfg, i);
    const osiris_config_key *kk;
    int known = 0;
    if (!k || k[0] == '_' || strcmp(k, "component") == 0 || strcmp(k, "mode") == 0 ||
        strcmp(k, "connection") == 0 || strcmp(k, "resolved_connection") == 0)
      continue;
    for (kk = keys; kk->name; kk++)
      if (strcmp(kk->name, k) == 0) known = 1;
    if (!known) osiris_step_log(s, 2, "config.%s is not a known key of this driver; ignored", k);
  }
}

/* dir + "/" + name (owned: osiris_free). */
static char *drv_path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p;
  while (a > 1 && dir[a - 1] == '/') a--;
  if (a > SIZE_MAX - b - 2) return NULL;
  p = osiris_malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

/* Resolve a config path (owned result: osiris_free).  A connection's base_dir wins
 * over the step base directory for relative paths, as in the reference. */
static osiris_rc drv_resolve_path(osiris_step *s, const char *path, char **out) {
  const osiris_json *conn = osiris_step_connection(s);
  const char *base = osiris_json_str(osiris_json_get(conn, "base_dir"));
  char *abs = NULL;
  *out = NULL;
  if (path[0] != '/' && base && base[0]) {
    char *b = osiris_step_path(s, base);
    if (b) {
      abs = drv_path_join(b, path);
      osiris_free(b);
    }
  } else {
    char *p = osiris_step_path(s, path);
    if (p) {
      abs = osiris_strdup(p);
      osiris_free(p);
    }
  }
  if (!abs) return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory resolving path %s", path);
  *out = abs;
  return OSIRIS_OK;
}

/* floor(a / b) for b > 0: DuckDB's sub-second timestamp units before 1970. */
static int64_t drv_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ======================================================================
 * 2. filesystem CSV: filesystem.csv_extractor, filesystem.csv_writer
 *
 * Thin layers over osiris_csv_read/osiris_csv_write: they validate the
 * config, resolve the path and report metrics.  pandas-only keys of the
 * reference spec (parse_dates, skip_blank_lines, compression, chunk_size,
 * quoting, create_dirs) are accepted so existing pipelines compile, and
 * ignored; a compressed input is refused rather than read as garbage.
 * ====================================================================== */

/* OSIRIS_KEY_RANGE without an upper bound. */
#define DRV_NO_MAX HUGE_VAL
/* The encoding names the CSV drivers accept (the keys' allowed values;
 * drv_csv_is_utf8 and drv_csv_is_latin1 below test the same names). */
#define DRV_CSV_UTF8 "utf-8|utf8|utf_8|utf-8-sig"
#define DRV_CSV_LATIN1 "latin-1|latin1|latin_1|iso-8859-1|iso8859-1|iso_8859_1"

static const osiris_config_key drv_csv_extractor_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_INPUT_FILE, "CSV file to read; relative to the connection base_dir or the working directory", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"delimiter", "\",\"", 0, "field separator, one character", OSIRIS_KT_CHAR, NULL, 0, 0, NULL},
    {"header", "true", OSIRIS_KEY_RANGE, "first row holds the column names (an integer N: row N does)", OSIRIS_KT_INT_OR_BOOL, NULL, 0, DRV_NO_MAX, NULL},
    {"encoding", "\"utf-8\"", 0, "utf-8 or latin-1 (iso-8859-1)", OSIRIS_KT_STRING, DRV_CSV_UTF8 "|" DRV_CSV_LATIN1 "|ascii|us-ascii", 0, 0, NULL},
    {"skip_rows", "0", OSIRIS_KEY_RANGE, "records skipped before the header", OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL},
    {"limit", NULL, OSIRIS_KEY_RANGE, "read at most this many data rows (0: none, the columns only)", OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL},
    {"columns", NULL, 0, "list of columns to keep, in this order", OSIRIS_KT_STRINGS, NULL, 0, 0, NULL},
    {"na_values", NULL, 0, "extra strings read as NULL (one string or a list)", OSIRIS_KT_STRING_OR_STRINGS, NULL, 0, 0, NULL},
    {"infer_types", NULL, 0, "infer int/double/bool/date/timestamp columns (default true)", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"strict", NULL, 0, "a character after a closing quote (\"abc\"def) is an error (default true); false keeps it as text", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"parse_dates", "false", OSIRIS_KEY_NO_EFFECT, "true, false or a list; accepted for compatibility, ignored (infer_types covers dates)", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"skip_blank_lines", "true", OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; ignored (blank lines are always skipped)", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"compression", "\"infer\"", 0, "accepted for compatibility; compressed files are refused", OSIRIS_KT_STRING, "infer|none|", 0, 0, NULL},
    {"chunk_size", "10000", OSIRIS_KEY_NO_EFFECT | OSIRIS_KEY_RANGE, "accepted for compatibility; ignored", OSIRIS_KT_INT, NULL, 1, DRV_NO_MAX, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

static const osiris_config_key drv_csv_writer_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_OUTPUT_FILE, "CSV file to write; parent directories are created", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"delimiter", "\",\"", 0, "field separator, one character", OSIRIS_KT_CHAR, NULL, 0, 0, NULL},
    {"header", "true", 0, "write a header row", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"encoding", "\"utf-8\"", 0, "utf-8 only", OSIRIS_KT_STRING, DRV_CSV_UTF8, 0, 0, NULL},
    {"newline", "\"lf\"", 0, "line ending: lf or crlf", OSIRIS_KT_STRING, "lf|crlf|\n|\r\n", 0, 0, NULL},
    {"quoting", NULL, OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; ignored (minimal quoting)", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"chunk_size", NULL, OSIRIS_KEY_NO_EFFECT | OSIRIS_KEY_RANGE, "accepted for compatibility; ignored", OSIRIS_KT_INT, NULL, 1, DRV_NO_MAX, NULL},
    {"create_dirs", NULL, OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; ignored (always created)", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

static int drv_csv_is_utf8(const char *enc) {
  return drv_ieq(enc, "utf-8") || drv_ieq(enc, "utf8") || drv_ieq(enc, "utf_8") ||
         drv_ieq(enc, "utf-8-sig");
}

static int drv_csv_is_latin1(const char *enc) {
  return drv_ieq(enc, "latin-1") || drv_ieq(enc, "latin1") || drv_ieq(enc, "latin_1") ||
         drv_ieq(enc, "iso-8859-1") || drv_ieq(enc, "iso8859-1") || drv_ieq(enc, "iso_8859_1");
}

/* Rows the reader has built so far may go downstream (a streamed step). */
typedef struct drv_csv_batches {
  osiris_step *step;
  size_t handed; /* rows that went downstream */
} drv_csv_batches;

static osiris_rc drv_csv_on_rows(void *user, osiris_frame *f) {
  drv_csv_batches *b = user;
  size_t before = osiris_frame_rows(f);
  osiris_rc rc = osiris_step_flush(b->step, f);
  if (rc == OSIRIS_OK) b->handed += before - osiris_frame_rows(f);
  osiris_step_progress(b->step, (int64_t)(b->handed + osiris_frame_rows(f)));
  return rc;
}

static osiris_rc drv_csv_extractor_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  drv_csv_batches batches = {NULL, 0};
  const osiris_json *hv;
  const char *path, *enc, *compression;
  const char **columns = NULL, **na_values = NULL;
  char *abs = NULL;
  char err[DRV_ERR_CAP];
  osiris_csv_opts o;
  osiris_frame *f = NULL;
  int64_t skip, limit, chunk;
  int flag;
  osiris_rc rc;

  memset(&o, 0, sizeof o);
  rc = drv_cfg_str(s, cfg, "path", NULL, &path);
  if (rc) goto done;
  if (!path || !path[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.path is required (the CSV file to read)");
    goto done;
  }
  if ((rc = drv_cfg_delimiter(s, cfg, &o.delimiter)) != OSIRIS_OK) goto done;

  /* header: bool, or the index of the header row (pandas header=N). */
  o.header = 1;
  hv = drv_cfg_get(cfg, "header");
  if (osiris_json_kind_of(hv) == OSIRIS_JSON_INT) {
    if ((rc = drv_cfg_int(s, cfg, "header", 0, 0, &skip)) != OSIRIS_OK) goto done;
    o.skip_rows = (size_t)skip;
  } else if (hv && osiris_json_kind_of(hv) != OSIRIS_JSON_BOOL) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.header must be true, false or a row number");
    goto done;
  } else {
    o.header = osiris_json_bool(hv, 1);
  }

  if ((rc = drv_cfg_str(s, cfg, "encoding", "utf-8", &enc)) != OSIRIS_OK) goto done;
  if (drv_csv_is_latin1(enc)) {
    o.latin1 = 1;
  } else if (!drv_csv_is_utf8(enc) && !drv_ieq(enc, "ascii") && !drv_ieq(enc, "us-ascii")) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL,
                          "config.encoding \"%s\" is not supported (use utf-8 or latin-1)", enc);
    goto done;
  }

  if ((rc = drv_cfg_int(s, cfg, "skip_rows", 0, 0, &skip)) != OSIRIS_OK) goto done;
  if ((uint64_t)skip > SIZE_MAX - o.skip_rows) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.skip_rows is too large");
    goto done;
  }
  o.skip_rows += (size_t)skip;
  if ((rc = drv_cfg_int(s, cfg, "limit", -1, 0, &limit)) != OSIRIS_OK) goto done;
  o.limit = limit;
  if ((rc = drv_cfg_strlist(s, cfg, "columns", 0, &columns)) != OSIRIS_OK) goto done;
  if (columns && !columns[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.columns must not be empty");
    goto done;
  }
  o.columns = columns;
  if ((rc = drv_cfg_strlist(s, cfg, "na_values", 1, &na_values)) != OSIRIS_OK) goto done;
  o.na_values = na_values;
  if ((rc = drv_cfg_bool(s, cfg, "infer_types", 1, &o.infer_types)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_bool(s, cfg, "strict", 1, &flag)) != OSIRIS_OK) goto done;
  o.lenient_quotes = !flag;

  /* Compatibility keys: type-checked so typos surface, otherwise ignored. */
  hv = drv_cfg_get(cfg, "parse_dates");
  if (hv && osiris_json_kind_of(hv) != OSIRIS_JSON_BOOL &&
      osiris_json_kind_of(hv) != OSIRIS_JSON_ARRAY) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.parse_dates must be true, false or a list");
    goto done;
  }
  if ((rc = drv_cfg_bool(s, cfg, "skip_blank_lines", 1, &flag)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_int(s, cfg, "chunk_size", 10000, 1, &chunk)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_str(s, cfg, "compression", "infer", &compression)) != OSIRIS_OK) goto done;
  if (!drv_ieq(compression, "infer") && !drv_ieq(compression, "none") && compression[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL,
                          "config.compression \"%s\" is not supported (only uncompressed CSV)",
                          compression);
    goto done;
  }
  if (drv_ieq(compression, "infer") &&
      (drv_iendswith(path, ".gz") || drv_iendswith(path, ".bz2") || drv_iendswith(path, ".zip") ||
       drv_iendswith(path, ".xz") || drv_iendswith(path, ".zst"))) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "compressed CSV files are not supported: %s", path);
    goto done;
  }
  drv_warn_unknown_keys(s, cfg, drv_csv_extractor_keys);

  if ((rc = drv_resolve_path(s, path, &abs)) != OSIRIS_OK) goto done;
  err[0] = 0;
  batches.step = s;
  o.on_rows = drv_csv_on_rows;
  o.on_rows_user = &batches;
  rc = osiris_csv_read(abs, &o, &f, err, sizeof err);
  if (rc == OSIRIS_ECANCEL) { /* from osiris_step_flush: say why */
    rc = osiris_step_fail(s, rc, "%s: %s after %zu rows", path,
                          osiris_step_cancelled(s) ? "interrupted" : "stopped (the downstream step failed)",
                          batches.handed);
    goto done;
  }
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s", err[0] ? err : "CSV read failed");
    goto done;
  }
  osiris_step_metric(s, "rows_read", (double)(batches.handed + osiris_frame_rows(f)), "rows");
  osiris_step_set_output(s, f);
  f = NULL;

done:
  osiris_frame_free(f);
  osiris_free(abs);
  osiris_free(columns);
  osiris_free(na_values);
  return rc;
}

/* The one upstream frame of a writer.  The runner offers one frame under
 * several names (df_x, df, input_df): count frames, not names. */
static osiris_rc drv_single_input(osiris_step *s, const char *who, const osiris_frame **out) {
  size_t i, n = osiris_step_input_count(s), distinct = 0;
  osiris_rc rc;
  *out = NULL;
  for (i = 0; i < n; i++) {
    const osiris_frame *f = osiris_step_input(s, i, NULL);
    size_t j;
    int seen = 0;
    if (!f) continue;
    for (j = 0; j < i; j++) seen |= osiris_step_input(s, j, NULL) == f;
    if (!seen) distinct++;
    if (!*out) *out = f;
  }
  if (distinct == 0)
    return osiris_step_fail(s, OSIRIS_EINVAL, "%s needs an upstream step (needs: [...])", who);
  if (distinct > 1) {
    osiris_buf names = {0};
    for (i = 0; i < n; i++) {
      const char *name = NULL;
      osiris_step_input(s, i, &name);
      if (i) osiris_buf_puts(&names, ", ");
      osiris_buf_puts(&names, name ? name : "?");
    }
    rc = osiris_step_fail(s, OSIRIS_EINVAL,
                          "%s takes exactly one upstream frame, got %zu (inputs: %s)", who,
                          distinct, names.p && !names.oom ? names.p : "?");
    osiris_buf_free(&names);
    return rc;
  }
  return OSIRIS_OK;
}

/* A streamed input: batch after batch into one file, renamed into place
 * only when every batch is written (a failure upstream leaves no file). */
static osiris_rc drv_csv_write_stream(osiris_step *s, const char *path, const osiris_csv_opts *o) {
  osiris_csv_writer *w = NULL;
  const osiris_frame *b = NULL;
  char *abs = NULL;
  char err[DRV_ERR_CAP] = "";
  double rows = 0;
  osiris_rc rc;
  if ((rc = drv_resolve_path(s, path, &abs)) != OSIRIS_OK) goto done;
  rc = osiris_csv_writer_open(abs, o, &w, err, sizeof err);
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s", err[0] ? err : "CSV write failed");
    goto done;
  }
  while ((rc = osiris_step_next(s, &b)) == OSIRIS_OK && b) {
    rc = osiris_csv_writer_write(w, b, err, sizeof err);
    if (rc) break;
    rows += (double)osiris_frame_rows(b);
    osiris_step_progress(s, (int64_t)rows);
  }
  if (rc) {
    osiris_csv_writer_close(w, 0, NULL, 0);
    w = NULL;
    rc = rc == OSIRIS_ECANCEL
             ? osiris_step_fail(s, rc, "stopped after %.0f rows: the upstream step failed", rows)
             : osiris_step_fail(s, rc, "%s", err[0] ? err : "CSV write failed");
    goto done;
  }
  rc = osiris_csv_writer_close(w, 1, err, sizeof err);
  w = NULL;
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s", err[0] ? err : "CSV write failed");
    goto done;
  }
  osiris_step_metric(s, "rows_written", rows, "rows");
  osiris_step_file_written(s, abs, "csv");
done:
  osiris_free(abs);
  return rc;
}

static osiris_rc drv_csv_writer_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  const osiris_frame *input = NULL;
  const char *path, *enc, *newline;
  char *abs = NULL;
  char err[DRV_ERR_CAP];
  osiris_csv_opts o;
  osiris_rc rc;

  memset(&o, 0, sizeof o);
  rc = drv_cfg_str(s, cfg, "path", NULL, &path);
  if (rc) goto done;
  if (!path || !path[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.path is required (the CSV file to write)");
    goto done;
  }
  if ((rc = drv_cfg_delimiter(s, cfg, &o.delimiter)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_bool(s, cfg, "header", 1, &o.header)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_str(s, cfg, "encoding", "utf-8", &enc)) != OSIRIS_OK) goto done;
  if (!drv_csv_is_utf8(enc)) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL,
                          "config.encoding \"%s\" is not supported by csv_writer (utf-8 only)", enc);
    goto done;
  }
  if ((rc = drv_cfg_str(s, cfg, "newline", "lf", &newline)) != OSIRIS_OK) goto done;
  if (drv_ieq(newline, "crlf") || strcmp(newline, "\r\n") == 0) {
    o.crlf = 1;
  } else if (!drv_ieq(newline, "lf") && strcmp(newline, "\n") != 0) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.newline must be \"lf\" or \"crlf\" (got \"%s\")",
                          newline);
    goto done;
  }
  drv_warn_unknown_keys(s, cfg, drv_csv_writer_keys);

  if (osiris_step_streamed(s)) {
    rc = drv_csv_write_stream(s, path, &o);
    goto done;
  }
  if ((rc = drv_single_input(s, "csv_writer", &input)) != OSIRIS_OK) goto done;
  if ((rc = drv_resolve_path(s, path, &abs)) != OSIRIS_OK) goto done;
  err[0] = 0;
  rc = osiris_csv_write(abs, input, &o, err, sizeof err);
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s", err[0] ? err : "CSV write failed");
    goto done;
  }
  osiris_step_metric(s, "rows_written", (double)osiris_frame_rows(input), "rows");
  osiris_step_file_written(s, abs, "csv");

done:
  osiris_free(abs);
  return rc;
}

static const osiris_driver drv_csv_extractor = {
    "filesystem.csv_extractor", "filesystem", "extract discover",
    "Read a CSV file into a frame", drv_csv_extractor_keys, drv_csv_extractor_run, NULL,
    OSIRIS_DRIVER_CONN_OPTIONAL};

static const osiris_driver drv_csv_writer = {
    "filesystem.csv_writer", "filesystem", "write discover",
    "Write the upstream frame to a CSV file (columns in frame order)", drv_csv_writer_keys,
    drv_csv_writer_run, NULL, OSIRIS_DRIVER_STREAMS_IN | OSIRIS_DRIVER_CONN_OPTIONAL};

/* ----------------------------------------------------------- Parquet files
 * filesystem.parquet_extractor and filesystem.parquet_writer over the
 * engine's Parquet reader and writer (osiris_parquet_read/write): the same
 * code the runner uses to spill frames, so a spilled output can be read
 * back as a pipeline input. */

static const osiris_config_key drv_pq_extractor_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_INPUT_FILE, "Parquet file to read (uncompressed; PLAIN or dictionary pages)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"columns", NULL, 0, "list of columns to keep, in this order", OSIRIS_KT_STRINGS, NULL, 0, 0, NULL},
    {"limit", NULL, OSIRIS_KEY_RANGE, "read at most this many rows (0: none, the columns only)", OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

static const osiris_config_key drv_pq_writer_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_OUTPUT_FILE, "Parquet file to write; parent directories are created", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"row_group_size", "1048576", OSIRIS_KEY_RANGE, "rows per row group", OSIRIS_KT_INT, NULL, 1, DRV_NO_MAX, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

/* A copy of rows [0, limit) of the listed columns of src, in list order. */
static osiris_rc drv_pq_project(osiris_step *s, const osiris_frame *src, const char **cols, size_t ncols,
                                int64_t limit, osiris_frame **out) {
  size_t rows = osiris_frame_rows(src), r, c, *idx = NULL, n = ncols ? ncols : osiris_frame_cols(src);
  osiris_frame *f = osiris_frame_new();
  osiris_rc rc = OSIRIS_OK;
  if (limit >= 0 && (uint64_t)limit < rows) rows = (size_t)limit;
  idx = osiris_calloc(n ? n : 1, sizeof *idx);
  if (!f || !idx) {
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (c = 0; c < n; c++) {
    size_t k, found = (size_t)-1;
    if (!ncols) found = c;
    for (k = 0; ncols && k < osiris_frame_cols(src); k++)
      if (strcmp(osiris_frame_col_name(src, k), cols[c]) == 0) found = k;
    if (found == (size_t)-1) {
      rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.columns: no column '%s' in the file", cols[c]);
      goto done;
    }
    idx[c] = found;
    rc = osiris_frame_add_column(f, osiris_frame_col_name(src, found), osiris_frame_col_type(src, found),
                                 osiris_frame_col_scale(src, found));
    if (rc) goto fail;
  }
  for (r = 0; r < rows; r++) {
    for (c = 0; c < n && !rc; c++) {
      size_t k = idx[c], len;
      const char *t;
      if (osiris_frame_is_null(src, k, r)) {
        rc = osiris_frame_append_null(f, c);
        continue;
      }
      switch (osiris_frame_col_type(src, k)) {
      case OSIRIS_TYPE_BOOL: rc = osiris_frame_append_bool(f, c, osiris_frame_get_bool(src, k, r)); break;
      case OSIRIS_TYPE_INT64: rc = osiris_frame_append_int64(f, c, osiris_frame_get_int64(src, k, r)); break;
      case OSIRIS_TYPE_DOUBLE: rc = osiris_frame_append_double(f, c, osiris_frame_get_double(src, k, r)); break;
      case OSIRIS_TYPE_DATE: rc = osiris_frame_append_date(f, c, osiris_frame_get_date(src, k, r)); break;
      case OSIRIS_TYPE_TIMESTAMP:
        rc = osiris_frame_append_timestamp(f, c, osiris_frame_get_timestamp(src, k, r));
        break;
      default:
        t = osiris_frame_get_text(src, k, r, &len);
        rc = osiris_frame_append_text(f, c, t, len);
      }
    }
    if (!rc) rc = osiris_frame_end_row(f);
    if (rc) goto fail;
  }
  *out = f;
  f = NULL;
  goto done;
fail:
  rc = osiris_step_fail(s, rc, "cannot copy the selected columns (%s)", osiris_rc_name(rc));
done:
  osiris_frame_free(f);
  osiris_free(idx);
  return rc;
}

static osiris_rc drv_pq_extractor_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  const char *path;
  char *abs = NULL, err[DRV_ERR_CAP];
  const char **cols = NULL;
  size_t ncols = 0;
  int64_t limit = -1;
  osiris_frame *f = NULL, *projected = NULL;
  osiris_rc rc;
  if ((rc = drv_cfg_str(s, cfg, "path", NULL, &path)) != OSIRIS_OK) goto done;
  if (!path || !path[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.path is required (the Parquet file to read)");
    goto done;
  }
  if ((rc = drv_cfg_strlist(s, cfg, "columns", 0, &cols)) != OSIRIS_OK) goto done;
  while (cols && cols[ncols]) ncols++;
  if (drv_cfg_get(cfg, "limit") && (rc = drv_cfg_int(s, cfg, "limit", -1, 0, &limit)) != OSIRIS_OK)
    goto done;
  drv_warn_unknown_keys(s, cfg, drv_pq_extractor_keys);
  if ((rc = drv_resolve_path(s, path, &abs)) != OSIRIS_OK) goto done;
  err[0] = 0;
  rc = osiris_parquet_read(abs, &f, err, sizeof err);
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s: %s", abs, err[0] ? err : "cannot read the Parquet file");
    goto done;
  }
  if (ncols || limit >= 0) {
    if ((rc = drv_pq_project(s, f, cols, ncols, limit, &projected)) != OSIRIS_OK) goto done;
    osiris_frame_free(f);
    f = projected;
  }
  osiris_step_metric(s, "rows_read", (double)osiris_frame_rows(f), "rows");
  osiris_step_set_output(s, f);
  f = NULL;
done:
  osiris_free(cols);
  osiris_frame_free(f);
  osiris_free(abs);
  return rc;
}

static osiris_rc drv_pq_writer_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  const osiris_frame *input = NULL;
  const char *path;
  char *abs = NULL, err[DRV_ERR_CAP];
  int64_t group = 1048576;
  osiris_parquet_opts o;
  osiris_rc rc;
  if ((rc = drv_cfg_str(s, cfg, "path", NULL, &path)) != OSIRIS_OK) goto done;
  if (!path || !path[0]) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.path is required (the Parquet file to write)");
    goto done;
  }
  if ((rc = drv_cfg_int(s, cfg, "row_group_size", 1048576, 1, &group)) != OSIRIS_OK) goto done;
  drv_warn_unknown_keys(s, cfg, drv_pq_writer_keys);
  if ((rc = drv_single_input(s, "parquet_writer", &input)) != OSIRIS_OK) goto done;
  if ((rc = drv_resolve_path(s, path, &abs)) != OSIRIS_OK) goto done;
  memset(&o, 0, sizeof o);
  o.row_group_rows = (size_t)group;
  err[0] = 0;
  rc = osiris_parquet_write(abs, input, &o, err, sizeof err);
  if (rc) {
    rc = osiris_step_fail(s, rc, "%s", err[0] ? err : "Parquet write failed");
    goto done;
  }
  osiris_step_metric(s, "rows_written", (double)osiris_frame_rows(input), "rows");
  osiris_step_file_written(s, abs, "parquet");
done:
  osiris_free(abs);
  return rc;
}

static const osiris_driver drv_pq_extractor = {
    "filesystem.parquet_extractor", "filesystem", "extract discover",
    "Read a Parquet file into a frame", drv_pq_extractor_keys, drv_pq_extractor_run, NULL,
    OSIRIS_DRIVER_CONN_OPTIONAL};

static const osiris_driver drv_pq_writer = {
    "filesystem.parquet_writer", "filesystem", "write discover",
    "Write the upstream frame to a Parquet file", drv_pq_writer_keys, drv_pq_writer_run, NULL,
    OSIRIS_DRIVER_CONN_OPTIONAL};

/* ======================================================================
 * 3. SQL processor on SQLite: sql.processor
 *
 * The embedded engine (Debian's libsqlite3, static in the worker): it works
 * on an air-gapped host with one binary, and its dialect is SQLite's
 * (duckdb.processor, section 3b, is DuckDB itself).
 *
 * Runs one SQLite statement over the upstream frames.  Each input name
 * becomes a virtual table of module "osiris_frame" that reads cells from
 * the frame on demand (no copy): the frames are immutable while the query
 * runs, so TEXT results point straight into them (SQLITE_STATIC).
 *
 * Column exposure (declared type -> SQLite value):
 *   bool BOOLEAN -> 0/1   int64 INTEGER   double REAL   string TEXT
 *   date DATE -> 'YYYY-MM-DD'   timestamp TIMESTAMP -> 'YYYY-MM-DD HH:MM:SS[.ffffff]'
 *   decimal DECIMAL(38,s) -> INTEGER when s = 0 and it fits, REAL when it
 *     has at most 15 significant digits (exact round trip), TEXT otherwise.
 *     Exposing decimals as TEXT would keep them exact but make `amount > 100`
 *     and ORDER BY compare as strings; REAL compares right, and a column
 *     passed through unchanged is written back as exact decimal text.
 *     Arithmetic on decimals is double arithmetic (SQLite has no decimal).
 *
 * One statement only (trailing ';' and comments are fine); ATTACH and
 * DETACH are refused so a query cannot create files.
 *
 * Equality constraints (WHERE k = ?, JOIN ON a.k = b.k) are served by a
 * hash index built lazily per column, so joins are not nested full scans.
 * Every constraint is still re-checked by SQLite (omit = 0): the index only
 * has to return a superset, which keeps SQLite's affinity rules in charge.
 *
 * Result typing: the declared type of a result column (direct column
 * references keep it, also through subqueries) gives the frame type, else
 * the first non-NULL value does.  A later value that does not fit promotes
 * the column (bool -> int64 -> double, anything -> string) by rebuilding
 * the frame built so far; NULL-only columns take the type of their first
 * value.  Rows are appended straight into the output frame.
 * ====================================================================== */

#define DRV_SQL_PROGRESS_OPS 10000

typedef int (*drv_sql_cancel_fn)(void *arg);

/* Frames handed to the module (sqlite3_create_module_v2 client data);
 * the module argument of each table is an index into this array. */
typedef struct drv_sql_env {
  const osiris_frame *const *frames;
  size_t n;
} drv_sql_env;

/* A hash index over one column: chains of row numbers per bucket. */
typedef struct drv_sql_index {
  uint32_t *heads; /* nbuckets entries: first row + 1, 0 = empty */
  uint32_t *next;  /* per row: next row + 1 in the same bucket */
  uint64_t mask;   /* nbuckets - 1 */
} drv_sql_index;

typedef struct drv_sql_vtab {
  sqlite3_vtab base; /* first: SQLite casts */
  const osiris_frame *frame;
  size_t rows, cols;
  drv_sql_index *index; /* per column, built on first use */
} drv_sql_vtab;

enum { DRV_SQL_SCAN = 0, DRV_SQL_CHAIN, DRV_SQL_EMPTY };
enum { DRV_KEY_INT = 1, DRV_KEY_DOUBLE, DRV_KEY_TEXT };

typedef struct drv_sql_cursor {
  sqlite3_vtab_cursor base; /* first: SQLite casts */
  size_t row;
  int mode;            /* DRV_SQL_SCAN / CHAIN / EMPTY */
  size_t col;          /* indexed column in CHAIN mode */
  int key_kind;        /* DRV_KEY_* */
  int64_t key_int;
  double key_double;
  const char *key_text; /* borrowed from the xFilter argument */
  size_t key_len;
  char *key_copy;       /* the probe text outlives xFilter's argument */
  char buf[64];         /* DATE/TIMESTAMP/DECIMAL text */
} drv_sql_cursor;

static uint64_t drv_hash64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

static uint64_t drv_hash_bytes(const char *s, size_t n) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= UINT64_C(0x100000001b3);
  }
  return drv_hash64(h);
}

static uint64_t drv_hash_double(double d) {
  uint64_t bits;
  if (d == 0) d = 0; /* -0.0 == 0.0 */
  memcpy(&bits, &d, sizeof bits);
  return drv_hash64(bits);
}

/* The int64 key of an integer-like column (bool, int64, date, timestamp). */
static int64_t drv_sql_int_key(const osiris_frame *f, size_t col, size_t row) {
  switch (osiris_frame_col_type(f, col)) {
    case OSIRIS_TYPE_BOOL: return osiris_frame_get_bool(f, col, row) ? 1 : 0;
    case OSIRIS_TYPE_DATE: return osiris_frame_get_date(f, col, row);
    case OSIRIS_TYPE_TIMESTAMP: return osiris_frame_get_timestamp(f, col, row);
    default: return osiris_frame_get_int64(f, col, row);
  }
}

static int drv_sql_indexable(osiris_type t) {
  return t == OSIRIS_TYPE_BOOL || t == OSIRIS_TYPE_INT64 || t == OSIRIS_TYPE_DOUBLE ||
         t == OSIRIS_TYPE_STRING || t == OSIRIS_TYPE_DATE || t == OSIRIS_TYPE_TIMESTAMP;
}

static uint64_t drv_sql_row_hash(const osiris_frame *f, size_t col, size_t row) {
  osiris_type t = osiris_frame_col_type(f, col);
  if (t == OSIRIS_TYPE_STRING) {
    size_t len;
    const char *p = osiris_frame_get_text(f, col, row, &len);
    return drv_hash_bytes(p, len);
  }
  if (t == OSIRIS_TYPE_DOUBLE) return drv_hash_double(osiris_frame_get_double(f, col, row));
  return drv_hash64((uint64_t)drv_sql_int_key(f, col, row));
}

static int drv_sql_build_index(drv_sql_vtab *vt, size_t col) {
  drv_sql_index *ix = &vt->index[col];
  uint64_t nb = 16;
  size_t r;
  if (ix->heads) return SQLITE_OK;
  while (nb < (uint64_t)vt->rows * 2) nb *= 2;
  ix->heads = osiris_calloc((size_t)nb, sizeof *ix->heads);
  ix->next = osiris_malloc((vt->rows ? vt->rows : 1) * sizeof *ix->next);
  if (!ix->heads || !ix->next) {
    osiris_free(ix->heads);
    osiris_free(ix->next);
    ix->heads = ix->next = NULL;
    return SQLITE_NOMEM;
  }
  ix->mask = nb - 1;
  /* Insert back to front so each chain lists rows in ascending order:
   * `WHERE k = ?` then returns rows in frame order. */
  for (r = vt->rows; r-- > 0;) {
    uint64_t b;
    if (osiris_frame_is_null(vt->frame, col, r)) continue;
    b = drv_sql_row_hash(vt->frame, col, r) & ix->mask;
    ix->next[r] = ix->heads[b];
    ix->heads[b] = (uint32_t)(r + 1);
  }
  return SQLITE_OK;
}

static const char *drv_sql_decltype(const osiris_frame *f, size_t col, char *buf, size_t cap) {
  switch (osiris_frame_col_type(f, col)) {
    case OSIRIS_TYPE_BOOL: return "BOOLEAN";
    case OSIRIS_TYPE_INT64: return "INTEGER";
    case OSIRIS_TYPE_DOUBLE: return "REAL";
    case OSIRIS_TYPE_DECIMAL:
      snprintf(buf, cap, "DECIMAL(38,%d)", osiris_frame_col_scale(f, col));
      return buf;
    case OSIRIS_TYPE_DATE: return "DATE";
    case OSIRIS_TYPE_TIMESTAMP: return "TIMESTAMP";
    default: return "TEXT";
  }
}

static int drv_sql_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                           sqlite3_vtab **out, char **errmsg) {
  const drv_sql_env *env = aux;
  drv_sql_vtab *vt = NULL;
  osiris_buf sql = {0};
  char *end = NULL;
  unsigned long long idx;
  size_t c;
  int rc = SQLITE_ERROR;

  *out = NULL;
  if (argc != 4 || !argv[3][0]) {
    *errmsg = sqlite3_mprintf("osiris_frame: expected one frame number");
    goto done;
  }
  errno = 0;
  idx = strtoull(argv[3], &end, 10);
  if (errno || *end || idx >= env->n) {
    *errmsg = sqlite3_mprintf("osiris_frame: no frame %s", argv[3]);
    goto done;
  }
  vt = osiris_malloc(sizeof *vt);
  if (!vt) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  memset(vt, 0, sizeof *vt);
  vt->frame = env->frames[idx];
  vt->rows = osiris_frame_rows(vt->frame);
  vt->cols = osiris_frame_cols(vt->frame);
  vt->index = osiris_calloc(vt->cols ? vt->cols : 1, sizeof *vt->index);
  if (!vt->index) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  osiris_buf_puts(&sql, "CREATE TABLE x(");
  for (c = 0; c < vt->cols; c++) {
    char tb[40];
    if (c) osiris_buf_puts(&sql, ", ");
    drv_buf_ident(&sql, osiris_frame_col_name(vt->frame, c));
    osiris_buf_puts(&sql, " ");
    osiris_buf_puts(&sql, drv_sql_decltype(vt->frame, c, tb, sizeof tb));
  }
  /* SQLite wants at least one column; a frame without columns gets a
   * hidden one so SELECT * still fails with SQLite's own message. */
  if (vt->cols == 0) osiris_buf_puts(&sql, "\"osiris_no_columns\" HIDDEN");
  osiris_buf_puts(&sql, ")");
  if (sql.oom) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  rc = sqlite3_declare_vtab(db, sql.p);
  if (rc != SQLITE_OK) {
    *errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    goto done;
  }
  *out = &vt->base;
  vt = NULL;

done:
  if (vt) {
    osiris_free(vt->index);
    osiris_free(vt);
  }
  osiris_buf_free(&sql);
  return rc;
}

static int drv_sql_disconnect(sqlite3_vtab *base) {
  drv_sql_vtab *vt = (drv_sql_vtab *)base;
  size_t c;
  for (c = 0; c < vt->cols; c++) {
    osiris_free(vt->index[c].heads);
    osiris_free(vt->index[c].next);
  }
  osiris_free(vt->index);
  osiris_free(vt);
  return SQLITE_OK;
}

static int drv_sql_best_index(sqlite3_vtab *base, sqlite3_index_info *info) {
  drv_sql_vtab *vt = (drv_sql_vtab *)base;
  int i, pick = -1;
  for (i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    const char *coll;
    if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ || c->iColumn < 0 ||
        (size_t)c->iColumn >= vt->cols)
      continue;
    if (!drv_sql_indexable(osiris_frame_col_type(vt->frame, (size_t)c->iColumn))) continue;
    coll = sqlite3_vtab_collation(info, i);
    if (coll && sqlite3_stricmp(coll, "BINARY") != 0) continue; /* the hash is bytewise */
    pick = i;
    break;
  }
  if (pick >= 0 && vt->rows < UINT32_MAX) {
    info->aConstraintUsage[pick].argvIndex = 1;
    info->aConstraintUsage[pick].omit = 0;
    info->idxNum = info->aConstraint[pick].iColumn + 1;
    info->estimatedCost = 10.0;
    info->estimatedRows = 10;
  } else {
    info->idxNum = 0;
    info->estimatedCost = (double)vt->rows + 10.0;
    info->estimatedRows = (sqlite3_int64)vt->rows;
  }
  return SQLITE_OK;
}

static int drv_sql_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out) {
  drv_sql_cursor *cur = osiris_malloc(sizeof *cur);
  (void)base;
  if (!cur) return SQLITE_NOMEM;
  memset(cur, 0, sizeof *cur);
  *out = &cur->base;
  return SQLITE_OK;
}

static int drv_sql_close(sqlite3_vtab_cursor *base) {
  drv_sql_cursor *cur = (drv_sql_cursor *)base;
  osiris_free(cur->key_copy);
  osiris_free(cur);
  return SQLITE_OK;
}

static int drv_sql_row_matches(const drv_sql_cursor *cur, const osiris_frame *f, size_t row) {
  if (osiris_frame_is_null(f, cur->col, row)) return 0;
  if (cur->key_kind == DRV_KEY_TEXT) {
    size_t len;
    const char *p = osiris_frame_get_text(f, cur->col, row, &len);
    return len == cur->key_len && memcmp(p, cur->key_text, len) == 0;
  }
  if (cur->key_kind == DRV_KEY_DOUBLE) return osiris_frame_get_double(f, cur->col, row) == cur->key_double;
  return drv_sql_int_key(f, cur->col, row) == cur->key_int;
}

/* Move to the first matching row at or after chain position `link`. */
static void drv_sql_chain_seek(drv_sql_cursor *cur, const drv_sql_vtab *vt, uint32_t link) {
  const drv_sql_index *ix = &vt->index[cur->col];
  while (link) {
    size_t r = link - 1;
    if (drv_sql_row_matches(cur, vt->frame, r)) {
      cur->row = r;
      return;
    }
    link = ix->next[r];
  }
  cur->mode = DRV_SQL_EMPTY;
}

/* Turn the probe value into a key of the column's kind.  Returns
 * DRV_SQL_CHAIN with the key set, DRV_SQL_EMPTY when nothing can match, or
 * DRV_SQL_SCAN when the value needs SQLite's conversions (then every row is
 * offered and SQLite's re-check decides). */
static int drv_sql_probe(drv_sql_cursor *cur, osiris_type t, sqlite3_value *v) {
  int vt = sqlite3_value_type(v);
  if (vt == SQLITE_NULL) return DRV_SQL_EMPTY; /* = never matches NULL */
  switch (t) {
    case OSIRIS_TYPE_BOOL:
    case OSIRIS_TYPE_INT64:
      if (vt == SQLITE_INTEGER) {
        cur->key_int = sqlite3_value_int64(v);
      } else if (vt == SQLITE_FLOAT) {
        double d = sqlite3_value_double(v);
        if (!(d == floor(d) && d >= -9.2e18 && d <= 9.2e18)) return DRV_SQL_EMPTY;
        cur->key_int = (int64_t)d;
      } else {
        return DRV_SQL_SCAN;
      }
      if (t == OSIRIS_TYPE_BOOL && cur->key_int != 0 && cur->key_int != 1) return DRV_SQL_EMPTY;
      cur->key_kind = DRV_KEY_INT;
      return DRV_SQL_CHAIN;
    case OSIRIS_TYPE_DOUBLE:
      if (vt != SQLITE_INTEGER && vt != SQLITE_FLOAT) return DRV_SQL_SCAN;
      cur->key_double = sqlite3_value_double(v);
      cur->key_kind = DRV_KEY_DOUBLE;
      return DRV_SQL_CHAIN;
    case OSIRIS_TYPE_DATE:
    case OSIRIS_TYPE_TIMESTAMP: {
      const char *p;
      int n;
      int64_t k;
      if (vt != SQLITE_TEXT) return DRV_SQL_SCAN;
      p = (const char *)sqlite3_value_text(v);
      n = sqlite3_value_bytes(v);
      if (!p) return DRV_SQL_SCAN;
      if (t == OSIRIS_TYPE_DATE ? !osiris_parse_date(p, (size_t)n, &k)
                                : !osiris_parse_timestamp(p, (size_t)n, OSIRIS_TS_SQLITE, &k))
        return DRV_SQL_SCAN;
      cur->key_int = k;
      cur->key_kind = DRV_KEY_INT;
      return DRV_SQL_CHAIN;
    }
    case OSIRIS_TYPE_STRING: {
      const char *p;
      int n;
      if (vt != SQLITE_TEXT) return DRV_SQL_SCAN;
      p = (const char *)sqlite3_value_text(v);
      n = sqlite3_value_bytes(v);
      if (!p) return DRV_SQL_SCAN;
      osiris_free(cur->key_copy);
      cur->key_copy = osiris_malloc((size_t)n + 1);
      if (!cur->key_copy) return -1;
      memcpy(cur->key_copy, p, (size_t)n + 1);
      cur->key_text = cur->key_copy;
      cur->key_len = (size_t)n;
      cur->key_kind = DRV_KEY_TEXT;
      return DRV_SQL_CHAIN;
    }
    default: return DRV_SQL_SCAN;
  }
}

static int drv_sql_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str, int argc,
                          sqlite3_value **argv) {
  drv_sql_cursor *cur = (drv_sql_cursor *)base;
  drv_sql_vtab *vt = (drv_sql_vtab *)base->pVtab;
  uint64_t h;
  (void)idx_str;
  cur->row = 0;
  cur->mode = DRV_SQL_SCAN;
  if (idx_num <= 0 || argc < 1) return SQLITE_OK;
  cur->col = (size_t)(idx_num - 1);
  cur->mode = drv_sql_probe(cur, osiris_frame_col_type(vt->frame, cur->col), argv[0]);
  if (cur->mode < 0) return SQLITE_NOMEM;
  if (cur->mode != DRV_SQL_CHAIN) return SQLITE_OK;
  if (drv_sql_build_index(vt, cur->col) != SQLITE_OK) return SQLITE_NOMEM;
  if (cur->key_kind == DRV_KEY_TEXT)
    h = drv_hash_bytes(cur->key_text, cur->key_len);
  else if (cur->key_kind == DRV_KEY_DOUBLE)
    h = drv_hash_double(cur->key_double);
  else
    h = drv_hash64((uint64_t)cur->key_int);
  drv_sql_chain_seek(cur, vt, vt->index[cur->col].heads[h & vt->index[cur->col].mask]);
  return SQLITE_OK;
}

static int drv_sql_next(sqlite3_vtab_cursor *base) {
  drv_sql_cursor *cur = (drv_sql_cursor *)base;
  const drv_sql_vtab *vt = (const drv_sql_vtab *)base->pVtab;
  if (cur->mode == DRV_SQL_CHAIN)
    drv_sql_chain_seek(cur, vt, vt->index[cur->col].next[cur->row]);
  else
    cur->row++;
  return SQLITE_OK;
}

static int drv_sql_eof(sqlite3_vtab_cursor *base) {
  const drv_sql_cursor *cur = (const drv_sql_cursor *)base;
  const drv_sql_vtab *vt = (const drv_sql_vtab *)base->pVtab;
  if (cur->mode == DRV_SQL_EMPTY) return 1;
  return cur->row >= vt->rows;
}

/* Canonical decimal text -> REAL when it has at most 15 significant
 * digits (the double then formats back to the same text), INTEGER when
 * it has no fraction and fits; returns 0 to keep it as TEXT. */
static int drv_dec_to_number(const char *p, size_t n, sqlite3_context *ctx) {
  static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  uint64_t m = 0;
  size_t i = 0;
  int neg = 0, sig = 0, frac = -1, overflow = 0;
  if (i < n && (p[i] == '-' || p[i] == '+')) neg = p[i++] == '-';
  if (i == n) return 0;
  for (; i < n; i++) {
    if (p[i] == '.' && frac < 0) {
      frac = 0;
      continue;
    }
    if (p[i] < '0' || p[i] > '9') return 0;
    if (frac >= 0) frac++;
    if (m == 0 && p[i] == '0') continue;
    if (++sig > 19 || m > (UINT64_MAX - 9) / 10) overflow = 1;
    else m = m * 10 + (uint64_t)(p[i] - '0');
  }
  if (frac <= 0) {
    if (overflow || m > (uint64_t)INT64_MAX) return 0;
    sqlite3_result_int64(ctx, neg ? -(int64_t)m : (int64_t)m);
    return 1;
  }
  if (overflow || sig > 15 || frac > 22) return 0;
  sqlite3_result_double(ctx, (neg ? -(double)m : (double)m) / pow10[frac]);
  return 1;
}

static int drv_sql_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col) {
  drv_sql_cursor *cur = (drv_sql_cursor *)base;
  const drv_sql_vtab *vt = (const drv_sql_vtab *)base->pVtab;
  const osiris_frame *f = vt->frame;
  size_t c = (size_t)col, r = cur->row, len;
  const char *p;
  if (col < 0 || c >= vt->cols || osiris_frame_is_null(f, c, r)) {
    sqlite3_result_null(ctx);
    return SQLITE_OK;
  }
  switch (osiris_frame_col_type(f, c)) {
    case OSIRIS_TYPE_BOOL: sqlite3_result_int(ctx, osiris_frame_get_bool(f, c, r) ? 1 : 0); break;
    case OSIRIS_TYPE_INT64: sqlite3_result_int64(ctx, osiris_frame_get_int64(f, c, r)); break;
    case OSIRIS_TYPE_DOUBLE: sqlite3_result_double(ctx, osiris_frame_get_double(f, c, r)); break;
    case OSIRIS_TYPE_DECIMAL:
      p = osiris_frame_get_text(f, c, r, &len);
      if (!drv_dec_to_number(p, len, ctx)) sqlite3_result_text(ctx, p, (int)len, SQLITE_STATIC);
      break;
    case OSIRIS_TYPE_DATE:
      len = osiris_format_date(cur->buf, sizeof cur->buf, osiris_frame_get_date(f, c, r));
      sqlite3_result_text(ctx, cur->buf, (int)len, SQLITE_TRANSIENT);
      break;
    case OSIRIS_TYPE_TIMESTAMP:
      len = osiris_format_timestamp(cur->buf, sizeof cur->buf, osiris_frame_get_timestamp(f, c, r),
                                    ' ');
      sqlite3_result_text(ctx, cur->buf, (int)len, SQLITE_TRANSIENT);
      break;
    default:
      p = osiris_frame_get_text(f, c, r, &len);
      if (len > (size_t)INT_MAX) return SQLITE_TOOBIG;
      sqlite3_result_text(ctx, p, (int)len, SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

static int drv_sql_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((drv_sql_cursor *)base)->row;
  return SQLITE_OK;
}

static const sqlite3_module drv_sql_module = {
    .iVersion = 0,
    .xCreate = drv_sql_connect,
    .xConnect = drv_sql_connect,
    .xBestIndex = drv_sql_best_index,
    .xDisconnect = drv_sql_disconnect,
    .xDestroy = drv_sql_disconnect,
    .xOpen = drv_sql_open,
    .xClose = drv_sql_close,
    .xFilter = drv_sql_filter,
    .xNext = drv_sql_next,
    .xEof = drv_sql_eof,
    .xColumn = drv_sql_column,
    .xRowid = drv_sql_rowid,
};

/* ---- generate_series / range ----
 * DuckDB's table functions, which pipelines written for duckdb.processor
 * use to make rows from nothing: generate_series(start, stop[, step])
 * includes stop, range(start, stop[, step]) excludes it, and the one-
 * argument forms count from 0.  The rows are a column named like the
 * function (DuckDB's name), also readable as `value` (SQLite's series
 * extension).  Eponymous-only: they exist in every query without DDL. */

/* Table-valued-function arguments bind to the HIDDEN columns in order,
 * so start, stop, step come first and the `value` alias last. */
enum { DRV_SERIES_START = 1, DRV_SERIES_STOP, DRV_SERIES_STEP };

typedef struct drv_series_vtab {
  sqlite3_vtab base;
  int exclusive; /* range: stop not included */
} drv_series_vtab;

typedef struct drv_series_cursor {
  sqlite3_vtab_cursor base;
  sqlite3_int64 value, start, stop, step, rowid;
  int eof;
} drv_series_cursor;

static int drv_series_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                              sqlite3_vtab **out, char **errmsg) {
  drv_series_vtab *vt;
  int rc;
  (void)argc, (void)argv, (void)errmsg;
  rc = sqlite3_declare_vtab(db, aux ? "CREATE TABLE x(range INTEGER, start HIDDEN, stop HIDDEN, "
                                      "step HIDDEN, value INTEGER HIDDEN)"
                                    : "CREATE TABLE x(generate_series INTEGER, start HIDDEN, "
                                      "stop HIDDEN, step HIDDEN, value INTEGER HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  vt = osiris_malloc(sizeof *vt);
  if (!vt) return SQLITE_NOMEM;
  memset(vt, 0, sizeof *vt);
  vt->exclusive = aux != NULL;
  *out = &vt->base;
  return SQLITE_OK;
}

static int drv_series_disconnect(sqlite3_vtab *vt) {
  osiris_free(vt);
  return SQLITE_OK;
}

/* idxNum bit k: argument for hidden column START+k is passed. */
static int drv_series_best_index(sqlite3_vtab *vt, sqlite3_index_info *info) {
  int i, k, at[3] = {-1, -1, -1}, argn = 0, mask = 0;
  (void)vt;
  for (i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn < DRV_SERIES_START || c->iColumn > DRV_SERIES_STEP ||
        c->op != SQLITE_INDEX_CONSTRAINT_EQ)
      continue;
    if (!c->usable) return SQLITE_CONSTRAINT; /* wait for a plan that binds it */
    at[c->iColumn - DRV_SERIES_START] = i;
  }
  for (k = 0; k < 3; k++) {
    if (at[k] < 0) continue;
    info->aConstraintUsage[at[k]].argvIndex = ++argn;
    info->aConstraintUsage[at[k]].omit = 1;
    mask |= 1 << k;
  }
  info->idxNum = mask;
  /* Without arguments the plan is only a candidate SQLite may weigh;
   * price it out, and xFilter reports the error if it is chosen. */
  info->estimatedCost = mask & 1 ? 1000.0 : 2e18;
  info->estimatedRows = mask & 1 ? 1000 : INT64_MAX / 2;
  return SQLITE_OK;
}

static int drv_series_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out) {
  drv_series_cursor *cur = osiris_malloc(sizeof *cur);
  (void)vt;
  if (!cur) return SQLITE_NOMEM;
  memset(cur, 0, sizeof *cur);
  *out = &cur->base;
  return SQLITE_OK;
}

static int drv_series_close(sqlite3_vtab_cursor *cur) {
  osiris_free(cur);
  return SQLITE_OK;
}

static void drv_series_check_end(drv_series_cursor *cur, int exclusive) {
  if (cur->step > 0)
    cur->eof = exclusive ? cur->value >= cur->stop : cur->value > cur->stop;
  else
    cur->eof = exclusive ? cur->value <= cur->stop : cur->value < cur->stop;
}

static int drv_series_filter(sqlite3_vtab_cursor *base, int idx_num, const char *idx_str,
                             int argc, sqlite3_value **argv) {
  drv_series_cursor *cur = (drv_series_cursor *)base;
  drv_series_vtab *vt = (drv_series_vtab *)base->pVtab;
  sqlite3_int64 a[3] = {0, 0, 1};
  int k, n = 0, given = 0;
  (void)idx_str;
  if (!(idx_num & 1)) {
    sqlite3_free(vt->base.zErrMsg);
    vt->base.zErrMsg = sqlite3_mprintf("generate_series/range need at least a stop argument");
    return SQLITE_ERROR;
  }
  for (k = 0; k < 3 && n < argc; k++) {
    if (!(idx_num & (1 << k))) continue;
    if (sqlite3_value_type(argv[n]) == SQLITE_NULL) {
      cur->eof = 1; /* DuckDB: a NULL argument gives no rows */
      return SQLITE_OK;
    }
    a[k] = sqlite3_value_int64(argv[n++]);
    given |= 1 << k;
  }
  if (!(given & 2)) { /* one argument: it is the stop, counting from 0 */
    a[1] = a[0];
    a[0] = 0;
  }
  if (a[2] == 0) {
    sqlite3_free(vt->base.zErrMsg);
    vt->base.zErrMsg = sqlite3_mprintf("generate_series/range step must not be 0");
    return SQLITE_ERROR;
  }
  cur->value = cur->start = a[0];
  cur->stop = a[1];
  cur->step = a[2];
  cur->rowid = 1;
  drv_series_check_end(cur, vt->exclusive);
  return SQLITE_OK;
}

static int drv_series_next(sqlite3_vtab_cursor *base) {
  drv_series_cursor *cur = (drv_series_cursor *)base;
  const drv_series_vtab *vt = (const drv_series_vtab *)base->pVtab;
  if ((cur->step > 0 && cur->value > INT64_MAX - cur->step) ||
      (cur->step < 0 && cur->value < INT64_MIN - cur->step)) {
    cur->eof = 1;
    return SQLITE_OK;
  }
  cur->value += cur->step;
  cur->rowid++;
  drv_series_check_end(cur, vt->exclusive);
  return SQLITE_OK;
}

static int drv_series_eof(sqlite3_vtab_cursor *base) { return ((drv_series_cursor *)base)->eof; }

static int drv_series_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col) {
  const drv_series_cursor *cur = (const drv_series_cursor *)base;
  switch (col) {
    case DRV_SERIES_START: sqlite3_result_int64(ctx, cur->start); break;
    case DRV_SERIES_STOP: sqlite3_result_int64(ctx, cur->stop); break;
    case DRV_SERIES_STEP: sqlite3_result_int64(ctx, cur->step); break;
    default: sqlite3_result_int64(ctx, cur->value); break;
  }
  return SQLITE_OK;
}

static int drv_series_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  *rowid = ((drv_series_cursor *)base)->rowid;
  return SQLITE_OK;
}

static const sqlite3_module drv_series_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous-only */
    .xConnect = drv_series_connect,
    .xBestIndex = drv_series_best_index,
    .xDisconnect = drv_series_disconnect,
    .xDestroy = drv_series_disconnect,
    .xOpen = drv_series_open,
    .xClose = drv_series_close,
    .xFilter = drv_series_filter,
    .xNext = drv_series_next,
    .xEof = drv_series_eof,
    .xColumn = drv_series_column,
    .xRowid = drv_series_rowid,
};

/* ---- result building ---- */

/* Per result column: the frame type chosen so far.  type 0 = no declared
 * type and only NULLs yet (held in the frame as a string column). */
typedef struct drv_sql_out {
  osiris_type type;
  int scale;
  int64_t parsed; /* DATE/TIMESTAMP value parsed while typing this row */
} drv_sql_out;

static osiris_type drv_sql_type_of_decl(const char *decl, int *scale) {
  char up[64];
  size_t i;
  *scale = 0;
  if (!decl) return (osiris_type)0;
  for (i = 0; decl[i] && i + 1 < sizeof up; i++) up[i] = (char)toupper((unsigned char)decl[i]);
  up[i] = 0;
  if (strcmp(up, "BOOLEAN") == 0 || strcmp(up, "BOOL") == 0) return OSIRIS_TYPE_BOOL;
  if (strcmp(up, "DATE") == 0) return OSIRIS_TYPE_DATE;
  if (strcmp(up, "TIMESTAMP") == 0 || strcmp(up, "DATETIME") == 0) return OSIRIS_TYPE_TIMESTAMP;
  if (strncmp(up, "DECIMAL(", 8) == 0) {
    const char *comma = strchr(up, ',');
    long s = comma ? strtol(comma + 1, NULL, 10) : 0;
    *scale = s >= 0 && s <= 38 ? (int)s : 0;
    return OSIRIS_TYPE_DECIMAL;
  }
  /* SQLite's own affinity rules, in its order. */
  if (strstr(up, "INT")) return OSIRIS_TYPE_INT64;
  if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT")) return OSIRIS_TYPE_STRING;
  if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB")) return OSIRIS_TYPE_DOUBLE;
  return (osiris_type)0;
}

/* Is text a decimal number with at most `scale` fraction digits? */
static int drv_dec_text_fits(const char *p, size_t n, int scale) {
  size_t i = 0, digits = 0;
  int frac = -1;
  if (i < n && (p[i] == '-' || p[i] == '+')) i++;
  for (; i < n; i++) {
    if (p[i] == '.' && frac < 0) {
      frac = 0;
      continue;
    }
    if (p[i] < '0' || p[i] > '9') return 0;
    digits++;
    if (frac >= 0) frac++;
  }
  return digits > 0 && frac <= scale && digits <= 38;
}

/* The frame type column c needs to hold the current row's value (of
 * SQLite type vt, not NULL).  Parses DATE/TIMESTAMP text into o->parsed. */
static osiris_type drv_sql_need(drv_sql_out *o, sqlite3_value *v, int vt) {
  switch (o->type) {
    case OSIRIS_TYPE_BOOL:
      if (vt == SQLITE_INTEGER) {
        sqlite3_int64 iv = sqlite3_value_int64(v);
        return iv == 0 || iv == 1 ? OSIRIS_TYPE_BOOL : OSIRIS_TYPE_INT64;
      }
      return vt == SQLITE_FLOAT ? OSIRIS_TYPE_DOUBLE : OSIRIS_TYPE_STRING;
    case OSIRIS_TYPE_INT64:
      if (vt == SQLITE_INTEGER) return OSIRIS_TYPE_INT64;
      return vt == SQLITE_FLOAT ? OSIRIS_TYPE_DOUBLE : OSIRIS_TYPE_STRING;
    case OSIRIS_TYPE_DOUBLE:
      return vt == SQLITE_INTEGER || vt == SQLITE_FLOAT ? OSIRIS_TYPE_DOUBLE : OSIRIS_TYPE_STRING;
    case OSIRIS_TYPE_DECIMAL:
      if (vt == SQLITE_INTEGER) return OSIRIS_TYPE_DECIMAL;
      if (vt == SQLITE_FLOAT) {
        double d = sqlite3_value_double(v);
        return fabs(d) < 1e15 ? OSIRIS_TYPE_DECIMAL : OSIRIS_TYPE_DOUBLE;
      }
      if (vt == SQLITE_TEXT) {
        const char *p = (const char *)sqlite3_value_text(v);
        size_t n = (size_t)sqlite3_value_bytes(v);
        if (p && drv_dec_text_fits(p, n, o->scale)) return OSIRIS_TYPE_DECIMAL;
      }
      return OSIRIS_TYPE_STRING;
    case OSIRIS_TYPE_DATE:
    case OSIRIS_TYPE_TIMESTAMP:
      if (vt == SQLITE_TEXT) {
        const char *p = (const char *)sqlite3_value_text(v);
        size_t n = (size_t)sqlite3_value_bytes(v);
        if (p && (o->type == OSIRIS_TYPE_DATE
                      ? osiris_parse_date(p, n, &o->parsed)
                      : osiris_parse_timestamp(p, n, OSIRIS_TS_SQLITE, &o->parsed)))
          return o->type;
      }
      return OSIRIS_TYPE_STRING;
    case OSIRIS_TYPE_STRING: return OSIRIS_TYPE_STRING;
    default:
      if (vt == SQLITE_INTEGER) return OSIRIS_TYPE_INT64;
      if (vt == SQLITE_FLOAT) return OSIRIS_TYPE_DOUBLE;
      return OSIRIS_TYPE_STRING;
  }
}

/* Decimal text for a number in a DECIMAL(., scale) column.  A REAL that
 * came from a decimal of <= 15 significant digits rounds back to exactly
 * its digits: |x * 10^scale - m| stays far below 0.5 while m < 2^50. */
static size_t drv_dec_format(sqlite3_value *v, int vt, int scale, char *buf, size_t cap) {
  static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  char digits[24];
  uint64_t m;
  size_t nd = 0, n = 0, f, i;
  int neg;
  if (vt == SQLITE_INTEGER) {
    int64_t iv = sqlite3_value_int64(v);
    neg = iv < 0;
    m = neg ? (uint64_t)0 - (uint64_t)iv : (uint64_t)iv;
    f = 0; /* digits of m after the point */
  } else {
    double d = sqlite3_value_double(v);
    if (scale > 15 || !(fabs(d) * pow10[scale] < 1e15)) {
      int k;
      if (d == 0) d = 0; /* no "-0.00" */
      k = snprintf(buf, cap, "%.*f", scale, d);
      return k < 0 ? 0 : (size_t)k < cap ? (size_t)k : cap - 1;
    }
    m = (uint64_t)floor(fabs(d) * pow10[scale] + 0.5);
    neg = d < 0 && m != 0;
    f = (size_t)scale;
  }
  do {
    digits[nd++] = (char)('0' + m % 10);
    m /= 10;
  } while (m);
  while (nd <= f) digits[nd++] = '0'; /* "0.05", not ".05" */
  if (cap < nd + (size_t)scale + 3) return 0;
  if (neg) buf[n++] = '-';
  for (i = nd; i > f; i--) buf[n++] = digits[i - 1];
  if (scale > 0) {
    buf[n++] = '.';
    for (i = f; i > 0; i--) buf[n++] = digits[i - 1];
    for (i = f; i < (size_t)scale; i++) buf[n++] = '0';
  }
  buf[n] = 0;
  return n;
}

/* Append the current row's value of result column c to frame column c,
 * whose type is o->type (already able to hold it). */
static osiris_rc drv_sql_append(osiris_frame *f, size_t col, const drv_sql_out *o, sqlite3_value *v,
                                int vt) {
  char buf[400];
  size_t n;
  if (vt == SQLITE_NULL) return osiris_frame_append_null(f, col);
  switch (o->type) {
    case OSIRIS_TYPE_BOOL: return osiris_frame_append_bool(f, col, sqlite3_value_int64(v) != 0);
    case OSIRIS_TYPE_INT64: return osiris_frame_append_int64(f, col, sqlite3_value_int64(v));
    case OSIRIS_TYPE_DOUBLE: return osiris_frame_append_double(f, col, sqlite3_value_double(v));
    case OSIRIS_TYPE_DATE: return osiris_frame_append_date(f, col, (int32_t)o->parsed);
    case OSIRIS_TYPE_TIMESTAMP: return osiris_frame_append_timestamp(f, col, o->parsed);
    case OSIRIS_TYPE_DECIMAL:
      if (vt == SQLITE_TEXT)
        return osiris_frame_append_text(f, col, (const char *)sqlite3_value_text(v),
                                        (size_t)sqlite3_value_bytes(v));
      n = drv_dec_format(v, vt, o->scale, buf, sizeof buf);
      return osiris_frame_append_text(f, col, buf, n);
    default: break;
  }
  /* STRING (or a NULL-only column about to be retyped: never reached). */
  if (vt == SQLITE_INTEGER) {
    int k = snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_value_int64(v));
    return osiris_frame_append_text(f, col, buf, k > 0 ? (size_t)k : 0);
  }
  if (vt == SQLITE_FLOAT) {
    n = osiris_format_double(buf, sizeof buf, sqlite3_value_double(v));
    return osiris_frame_append_text(f, col, buf, n);
  }
  if (vt == SQLITE_BLOB) {
    osiris_buf hex = {0};
    osiris_rc rc;
    osiris_buf_hex(&hex, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
    if (hex.oom) return OSIRIS_ENOMEM;
    rc = osiris_frame_append_text(f, col, hex.p ? hex.p : "", hex.len);
    osiris_buf_free(&hex);
    return rc;
  }
  return osiris_frame_append_text(f, col, (const char *)sqlite3_value_text(v),
                                  (size_t)sqlite3_value_bytes(v));
}

static osiris_rc drv_sql_new_frame(char **names, const drv_sql_out *outs,
                                   size_t ncols, osiris_frame **out) {
  osiris_frame *f = osiris_frame_new();
  size_t c;
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  if (!f) return OSIRIS_ENOMEM;
  for (c = 0; c < ncols && !rc; c++) {
    osiris_type t = outs[c].type ? outs[c].type : OSIRIS_TYPE_STRING;
    rc = osiris_frame_add_column(f, names[c], t, t == OSIRIS_TYPE_DECIMAL ? outs[c].scale : 0);
  }
  if (rc) {
    osiris_frame_free(f);
    return rc;
  }
  *out = f;
  return OSIRIS_OK;
}

/* Copy cell (c, r) of src into the row being built in dst, converting to
 * dst's column type: the promotions drv_sql_need can ask for, and int64 to
 * a decimal of scale 0 for drv_dk_widen. */
static osiris_rc drv_sql_copy_cell(osiris_frame *dst, const osiris_frame *src, size_t c, size_t r) {
  osiris_type from = osiris_frame_col_type(src, c), to = osiris_frame_col_type(dst, c);
  char buf[400];
  size_t len;
  const char *p;
  int is_null;
  if (osiris_frame_is_null(src, c, r)) return osiris_frame_append_null(dst, c);
  if (from == to && (from != OSIRIS_TYPE_DECIMAL ||
                     osiris_frame_col_scale(src, c) == osiris_frame_col_scale(dst, c))) {
    switch (from) {
      case OSIRIS_TYPE_BOOL: return osiris_frame_append_bool(dst, c, osiris_frame_get_bool(src, c, r));
      case OSIRIS_TYPE_INT64: return osiris_frame_append_int64(dst, c, osiris_frame_get_int64(src, c, r));
      case OSIRIS_TYPE_DOUBLE: return osiris_frame_append_double(dst, c, osiris_frame_get_double(src, c, r));
      case OSIRIS_TYPE_DATE: return osiris_frame_append_date(dst, c, osiris_frame_get_date(src, c, r));
      case OSIRIS_TYPE_TIMESTAMP:
        return osiris_frame_append_timestamp(dst, c, osiris_frame_get_timestamp(src, c, r));
      default:
        p = osiris_frame_get_text(src, c, r, &len);
        return osiris_frame_append_text(dst, c, p, len);
    }
  }
  if (to == OSIRIS_TYPE_STRING) {
    /* Dates keep the text SQLite showed for them, so one column does not
     * mix "2024-01-01T10:00:00" and "2024-01-01 10:00:00". */
    if (from == OSIRIS_TYPE_DATE)
      len = osiris_format_date(buf, sizeof buf, osiris_frame_get_date(src, c, r));
    else if (from == OSIRIS_TYPE_TIMESTAMP)
      len = osiris_format_timestamp(buf, sizeof buf, osiris_frame_get_timestamp(src, c, r), ' ');
    else {
      p = osiris_frame_format(src, c, r, buf, sizeof buf, &len, &is_null);
      return osiris_frame_append_text(dst, c, p, len);
    }
    return osiris_frame_append_text(dst, c, buf, len);
  }
  if (to == OSIRIS_TYPE_INT64 && from == OSIRIS_TYPE_BOOL)
    return osiris_frame_append_int64(dst, c, osiris_frame_get_bool(src, c, r) ? 1 : 0);
  if (to == OSIRIS_TYPE_DECIMAL && from == OSIRIS_TYPE_INT64 && osiris_frame_col_scale(dst, c) == 0) {
    /* DuckDB's wide integers (section 3b) once a value leaves int64 */
    int n = snprintf(buf, sizeof buf, "%" PRId64, osiris_frame_get_int64(src, c, r));
    return osiris_frame_append_text(dst, c, buf, (size_t)n);
  }
  if (to == OSIRIS_TYPE_DOUBLE) {
    if (from == OSIRIS_TYPE_BOOL)
      return osiris_frame_append_double(dst, c, osiris_frame_get_bool(src, c, r) ? 1.0 : 0.0);
    if (from == OSIRIS_TYPE_INT64)
      return osiris_frame_append_double(dst, c, (double)osiris_frame_get_int64(src, c, r));
    if (from == OSIRIS_TYPE_DECIMAL) {
      p = osiris_frame_get_text(src, c, r, &len);
      if (len >= sizeof buf) return OSIRIS_EINVAL;
      memcpy(buf, p, len);
      buf[len] = 0;
      return osiris_frame_append_double(dst, c, strtod(buf, NULL));
    }
  }
  return OSIRIS_EINVAL; /* not a promotion drv_sql_need produces */
}

/* Replace *fp by a copy whose column types are outs[].type. */
static osiris_rc drv_sql_retype(osiris_frame **fp, char **names,
                                const drv_sql_out *outs, size_t ncols) {
  osiris_frame *src = *fp, *dst = NULL;
  size_t r, c, rows = osiris_frame_rows(src);
  osiris_rc rc = drv_sql_new_frame(names, outs, ncols, &dst);
  for (r = 0; r < rows && !rc; r++) {
    for (c = 0; c < ncols && !rc; c++) rc = drv_sql_copy_cell(dst, src, c, r);
    if (!rc) rc = osiris_frame_end_row(dst);
  }
  if (rc) {
    osiris_frame_free(dst);
    return rc;
  }
  osiris_frame_free(src);
  *fp = dst;
  return OSIRIS_OK;
}

/* Result column names, unique: a repeated name gets "_1", "_2", ... */
static osiris_rc drv_sql_names(sqlite3_stmt *st, size_t ncols, char ***out) {
  char **names = osiris_calloc(ncols ? ncols : 1, sizeof *names);
  size_t c, j;
  *out = NULL;
  if (!names) return OSIRIS_ENOMEM;
  for (c = 0; c < ncols; c++) {
    const char *base = sqlite3_column_name(st, (int)c);
    char *name;
    unsigned k = 0;
    int clash;
    if (!base) base = "";
    name = osiris_strdup(base);
    for (;;) {
      if (!name) goto oom;
      clash = 0;
      for (j = 0; j < c && !clash; j++) clash = strcmp(names[j], name) == 0;
      /* Also avoid taking a later column's own name: "id, id, id_1". */
      for (j = c + 1; k && j < ncols && !clash; j++) {
        const char *later = sqlite3_column_name(st, (int)j);
        clash = later && strcmp(later, name) == 0;
      }
      if (!clash) break;
      osiris_free(name);
      name = osiris_malloc(strlen(base) + 16);
      if (name) snprintf(name, strlen(base) + 16, "%s_%u", base, ++k);
    }
    names[c] = name;
  }
  *out = names;
  return OSIRIS_OK;
oom:
  for (j = 0; j < ncols; j++) osiris_free(names[j]);
  osiris_free(names);
  return OSIRIS_ENOMEM;
}

typedef struct drv_sql_progress {
  drv_sql_cancel_fn cancelled;
  void *arg;
} drv_sql_progress;

static int drv_sql_progress_cb(void *arg) {
  const drv_sql_progress *p = arg;
  return p->cancelled && p->cancelled(p->arg);
}

/* Refuse ATTACH/DETACH: a query must not create or open database files. */
static int drv_sql_authorizer(void *arg, int action, const char *a, const char *b, const char *c,
                              const char *d) {
  (void)arg, (void)a, (void)b, (void)c, (void)d;
  return action == SQLITE_ATTACH || action == SQLITE_DETACH ? SQLITE_DENY : SQLITE_OK;
}

/* Skip whitespace, semicolons and comments; what is left is a second
 * statement. */
static const char *drv_sql_skip_tail(const char *p) {
  for (;;) {
    while (*p == ';' || isspace((unsigned char)*p)) p++;
    if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n') p++;
    } else if (p[0] == '/' && p[1] == '*') {
      const char *e = strstr(p + 2, "*/");
      if (!e) return p + strlen(p);
      p = e + 2;
    } else {
      return p;
    }
  }
}

static void drv_sql_err(char *err, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void drv_sql_err(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  if (!err || !cap) return;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

/* Run `sql` over inputs[i] exposed as tables names[i].  cancelled (may be
 * NULL) is polled while the query runs.  On success *out is a new frame
 * (owned by the caller).  Errors: OSIRIS_ESQL ("SQL error: ..."
 * in err), OSIRIS_ECANCEL, OSIRIS_ENOMEM, OSIRIS_EINVAL/ELIMIT from frames. */
static osiris_rc drv_sql_execute(const osiris_frame *const *inputs, const char *const *names,
                                    size_t n, const char *sql, drv_sql_cancel_fn cancelled,
                                    void *cancel_arg, osiris_frame **out, char *err,
                                    size_t errcap) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  drv_sql_env env;
  drv_sql_progress prog;
  drv_sql_out *outs = NULL;
  sqlite3_value **vals = NULL; /* the current row */
  int *vtypes = NULL;
  char **colnames = NULL;
  osiris_frame *f = NULL;
  osiris_buf ddl = {0};
  const char *tail = NULL;
  size_t i, ncols = 0, rows = 0;
  osiris_rc rc = OSIRIS_OK;
  int src;

  *out = NULL;
  if (err && errcap) err[0] = 0;
  env.frames = inputs;
  env.n = n;
  prog.cancelled = cancelled;
  prog.arg = cancel_arg;

  src = sqlite3_open_v2(":memory:", &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY |
                            SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (src != SQLITE_OK) {
    rc = src == SQLITE_NOMEM ? OSIRIS_ENOMEM : OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: cannot open SQLite: %s",
                db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
    goto done;
  }
  src = sqlite3_create_module_v2(db, "osiris_frame", &drv_sql_module, &env, NULL);
  if (src == SQLITE_OK)
    src = sqlite3_create_module_v2(db, "generate_series", &drv_series_module, NULL, NULL);
  if (src == SQLITE_OK)
    src = sqlite3_create_module_v2(db, "range", &drv_series_module, (void *)&drv_series_module,
                                   NULL);
  for (i = 0; i < n && src == SQLITE_OK; i++) {
    char num[64];
    ddl.len = 0;
    if (ddl.p) ddl.p[0] = 0;
    osiris_buf_puts(&ddl, "CREATE VIRTUAL TABLE main.");
    drv_buf_ident(&ddl, names[i]);
    snprintf(num, sizeof num, " USING osiris_frame(%zu)", i);
    osiris_buf_puts(&ddl, num);
    if (ddl.oom) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    src = sqlite3_exec(db, ddl.p, NULL, NULL, NULL);
  }
  if (src != SQLITE_OK) {
    rc = OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: cannot register input table %s: %s",
                i ? names[i - 1] : "?", sqlite3_errmsg(db));
    goto done;
  }
  sqlite3_set_authorizer(db, drv_sql_authorizer, NULL);
  if (cancelled) sqlite3_progress_handler(db, DRV_SQL_PROGRESS_OPS, drv_sql_progress_cb, &prog);

  tail = sql;
  while (!st && tail && *drv_sql_skip_tail(tail)) {
    src = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
    if (src != SQLITE_OK) {
      rc = OSIRIS_ESQL;
      if (strncmp(sqlite3_errmsg(db), "no such table", 13) == 0) {
        osiris_buf avail = {0};
        for (i = 0; i < n; i++) {
          if (i) osiris_buf_puts(&avail, ", ");
          osiris_buf_puts(&avail, names[i]);
        }
        drv_sql_err(err, errcap, "SQL error: %s (tables: %s)", sqlite3_errmsg(db),
                    n == 0 ? "none; the step has no upstream" : avail.oom ? "?" : avail.p);
        osiris_buf_free(&avail);
      } else {
        drv_sql_err(err, errcap, "SQL error: %s", sqlite3_errmsg(db));
      }
      goto done;
    }
  }
  if (!st) {
    rc = OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: the query is empty");
    goto done;
  }
  tail = drv_sql_skip_tail(tail ? tail : "");
  if (*tail) {
    rc = OSIRIS_ESQL;
    drv_sql_err(err, errcap,
                "SQL error: only one statement is allowed; found another at \"%.40s\"", tail);
    goto done;
  }
  ncols = (size_t)sqlite3_column_count(st);
  if (ncols == 0) {
    rc = OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: the statement returns no columns (expected a SELECT)");
    goto done;
  }
  outs = osiris_calloc(ncols, sizeof *outs);
  vals = osiris_calloc(ncols, sizeof *vals);
  vtypes = osiris_calloc(ncols, sizeof *vtypes);
  if (!outs || !vals || !vtypes || (rc = drv_sql_names(st, ncols, &colnames)) != OSIRIS_OK) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  for (i = 0; i < ncols; i++)
    outs[i].type = drv_sql_type_of_decl(sqlite3_column_decltype(st, (int)i), &outs[i].scale);
  if ((rc = drv_sql_new_frame(colnames, outs, ncols, &f)) != OSIRIS_OK) goto done;

  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    int retype = 0;
    for (i = 0; i < ncols; i++) {
      osiris_type t;
      /* One sqlite3_column_value per cell: each sqlite3_column_* call
       * pays an API entry/exit, and that showed at a million rows.  The
       * value is "unprotected", which is safe here: the connection is
       * private to this call and thread. */
      vals[i] = sqlite3_column_value(st, (int)i);
      vtypes[i] = sqlite3_value_type(vals[i]);
      if (vtypes[i] == SQLITE_NULL) continue;
      t = drv_sql_need(&outs[i], vals[i], vtypes[i]);
      if (t != outs[i].type) {
        outs[i].type = t;
        retype = 1;
      }
    }
    if (retype && (rc = drv_sql_retype(&f, colnames, outs, ncols)) != OSIRIS_OK) goto row_fail;
    for (i = 0; i < ncols; i++)
      if ((rc = drv_sql_append(f, i, &outs[i], vals[i], vtypes[i])) != OSIRIS_OK) goto row_fail;
    if ((rc = osiris_frame_end_row(f)) != OSIRIS_OK) goto row_fail;
    rows++;
    if ((rows & 4095) == 0 && cancelled && cancelled(cancel_arg)) {
      src = SQLITE_INTERRUPT;
      break;
    }
  }
  if (src == SQLITE_INTERRUPT) {
    rc = OSIRIS_ECANCEL;
    drv_sql_err(err, errcap, "SQL query cancelled");
    goto done;
  }
  if (src != SQLITE_DONE) {
    rc = src == SQLITE_NOMEM ? OSIRIS_ENOMEM : OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: %s", sqlite3_errmsg(db));
    goto done;
  }
  *out = f;
  f = NULL;
  goto done;

row_fail:
  if (rc == OSIRIS_EINVAL) {
    /* The frame refused a value SQLite produced: text that is not UTF-8
     * (CAST of a blob) is the one way to get here. */
    rc = OSIRIS_ESQL;
    drv_sql_err(err, errcap, "SQL error: result row %zu, column \"%s\": not valid UTF-8 text",
                rows + 1, colnames[i < ncols ? i : 0]);
  } else {
    drv_sql_err(err, errcap, "SQL result row %zu, column \"%s\": %s", rows + 1,
                colnames[i < ncols ? i : 0], osiris_rc_name(rc));
  }

done:
  osiris_frame_free(f);
  if (colnames)
    for (i = 0; i < ncols; i++) osiris_free(colnames[i]);
  osiris_free(colnames);
  osiris_free(outs);
  osiris_free(vals);
  osiris_free(vtypes);
  osiris_buf_free(&ddl);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

static int drv_sql_step_cancelled(void *arg) { return osiris_step_cancelled(arg); }

static const osiris_config_key drv_sql_keys[] = {
    {"query", NULL, OSIRIS_KEY_REQUIRED,
     "one SQL SELECT (SQLite dialect) over the upstream tables df_<step id>, df, input_df", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

/* The end of an SQL step (both engines): fail with the engine's message,
 * or report the rows and hand the result over (*f taken). */
static osiris_rc drv_sql_finish(osiris_step *s, osiris_rc rc, const char *err, double rows_read,
                                osiris_frame **f) {
  if (rc) return osiris_step_fail(s, rc, "%s", err[0] ? err : osiris_rc_name(rc));
  osiris_step_metric(s, "rows_read", rows_read, "rows");
  osiris_step_metric(s, "rows_written", (double)osiris_frame_rows(*f), "rows");
  osiris_step_set_output(s, *f);
  *f = NULL;
  return OSIRIS_OK;
}

static osiris_rc drv_sql_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  const char *query;
  const osiris_frame **inputs = NULL;
  const char **names = NULL;
  osiris_frame *f = NULL;
  char err[DRV_ERR_CAP];
  size_t i, j, n = osiris_step_input_count(s);
  double rows_read = 0;
  osiris_rc rc;

  rc = drv_cfg_str(s, cfg, "query", NULL, &query);
  if (rc) goto done;
  if (!query || !*drv_sql_skip_tail(query)) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.query is required (one SQL SELECT statement)");
    goto done;
  }
  drv_warn_unknown_keys(s, cfg, drv_sql_keys);
  inputs = osiris_calloc(n ? n : 1, sizeof *inputs);
  names = osiris_calloc(n ? n : 1, sizeof *names);
  if (!inputs || !names) {
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < n; i++) {
    int seen = 0;
    inputs[i] = osiris_step_input(s, i, &names[i]);
    if (!inputs[i] || !names[i]) {
      rc = osiris_step_fail(s, OSIRIS_EINVAL, "upstream input %zu is missing", i);
      goto done;
    }
    for (j = 0; j < i; j++) seen |= inputs[j] == inputs[i];
    if (!seen) rows_read += (double)osiris_frame_rows(inputs[i]);
  }
  rc = drv_sql_execute(inputs, names, n, query, drv_sql_step_cancelled, s, &f, err, sizeof err);
  rc = drv_sql_finish(s, rc, err, rows_read, &f);

done:
  osiris_frame_free(f);
  osiris_free(inputs);
  osiris_free(names);
  return rc;
}

static const osiris_driver drv_sql_processor = {
    "sql.processor", "sqlite", "transform",
    "Transform upstream frames with one SQL query on the embedded SQLite (SQLite dialect)",
    drv_sql_keys, drv_sql_run, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};

/* ======================================================================
 * 3b. duckdb.processor: DuckDB through its C API
 *
 * The query runs on DuckDB itself, loaded at run time with dlopen from a
 * libduckdb.so of DuckDB 1.5 or a later 1.x (the build fetches the npm
 * package @duckdb/node-bindings-linux-x64, pinned and checksummed, into
 * vendor/duckdb/).  Nothing links against DuckDB: ./osiris, an embedding
 * program and the static worker build and run without it, and a step of
 * this driver without it fails saying how to get it (never a fallback to
 * the SQLite engine, whose dialect differs).  The functions used are
 * declared here from DuckDB's documented C API (the package ships no
 * header) and resolved by name into a drv_dk_api per step; the library
 * stays loaded (RTLD_NODELETE) so the next step's dlopen is cheap.
 *
 * Where the library is looked for, first hit wins: $OSIRIS_DUCKDB_LIB
 * (only there when set); libduckdb.so beside the executable (the remote
 * worker's layout); vendor/duckdb/libduckdb.so beside the executable or up
 * to two directories above it (the build tree: ./osiris, the unit tests in tests/bin);
 * then the dynamic loader's own search path.  Never the current directory.
 *
 * One in-memory database per step.  Frames go in by column: each distinct
 * upstream frame is appended through data chunks into a table named after
 * its first input name (df_<step>), and the other names (df, input_df) are
 * views of it; a streamed input (OSIRIS_DRIVER_STREAMS_IN) is appended
 * batch by batch as it arrives, so the whole input never sits in osiris
 * and in DuckDB at once.  Types in: bool BOOLEAN, int64 BIGINT, double
 * DOUBLE, decimal DECIMAL(38,s), string VARCHAR, date DATE, timestamp
 * TIMESTAMP.  Settings: threads and memory_limit from the config (DuckDB's
 * defaults otherwise: every core, 80% of RAM), temp_directory
 * <run dir>/tmp/duckdb-<step> (removed after the step) so a big join or
 * aggregate spills there (the one directory a query may reach), TimeZone
 * UTC (the host and a sandbox agree), no
 * external access (a query cannot read or write files or load extensions,
 * like ATTACH refused by the SQLite engine), then the configuration is
 * locked.  The last statement must be a query (SELECT, WITH, FROM-first,
 * VALUES, PIVOT...); statements before it run first (DuckDB turns a PIVOT
 * into two), in the step's own database.
 *
 * Results come back typed, chunk by chunk (drv_dk_plan): BOOLEAN -> bool;
 * every integer width -> int64, except that UBIGINT/HUGEINT/UHUGEINT
 * columns become exact decimals of scale 0 once a value leaves int64 (the
 * rows so far are converted; never a double); FLOAT/DOUBLE -> double;
 * DECIMAL(w,s) -> decimal of scale s, exact; VARCHAR, ENUM, UUID, BLOB,
 * TIME, TIME WITH TIME ZONE, INTERVAL -> string (DuckDB's own text form);
 * DATE -> date; TIMESTAMP, _S, _MS, _NS (truncated to microseconds) and
 * WITH TIME ZONE -> timestamp (UTC); LIST, ARRAY, STRUCT, MAP, UNION ->
 * string holding JSON (DuckDB's to_json shape).  Other types fail the
 * step, naming the column and a CAST that works.  A failure carries
 * DuckDB's own message.
 * ====================================================================== */

/* ---- the C API, as DuckDB documents it (duckdb.h, v1.5) ---- */

typedef uint64_t dk_idx;
typedef void *dk_database, *dk_connection, *dk_config, *dk_prepared, *dk_extracted, *dk_pending,
    *dk_appender, *dk_ltype, *dk_chunk, *dk_vector, *dk_errdata;
typedef struct dk_result { /* duckdb_result: opaque but passed by value */
  dk_idx cols_, rows_, changed_;
  void *columns_;
  char *error_;
  void *internal_;
} dk_result;
typedef struct dk_string { /* duckdb_string_t */
  union {
    struct { uint32_t length; char prefix[4]; char *ptr; } pointer;
    struct { uint32_t length; char inlined[12]; } inlined;
  } value;
} dk_string;
typedef struct dk_hugeint { uint64_t lower; int64_t upper; } dk_hugeint;
typedef struct dk_interval { int32_t months, days; int64_t micros; } dk_interval;
typedef struct dk_list_entry { uint64_t offset, length; } dk_list_entry;

enum { /* duckdb_type */
  DK_BOOLEAN = 1, DK_TINYINT, DK_SMALLINT, DK_INTEGER, DK_BIGINT, DK_UTINYINT, DK_USMALLINT,
  DK_UINTEGER, DK_UBIGINT, DK_FLOAT, DK_DOUBLE, DK_TIMESTAMP, DK_DATE, DK_TIME, DK_INTERVAL,
  DK_HUGEINT, DK_VARCHAR, DK_BLOB, DK_DECIMAL, DK_TIMESTAMP_S, DK_TIMESTAMP_MS, DK_TIMESTAMP_NS,
  DK_ENUM, DK_LIST, DK_STRUCT, DK_MAP, DK_UUID, DK_UNION, DK_BIT, DK_TIME_TZ, DK_TIMESTAMP_TZ,
  DK_UHUGEINT, DK_ARRAY
};
enum { DK_OK = 0 };                                   /* duckdb_state */
enum { DK_PENDING_READY = 0, DK_PENDING_ERROR = 2, DK_PENDING_NO_TASKS = 3 };
enum { DK_STATEMENT_SELECT = 1 };                     /* duckdb_statement_type */

/* The functions used, resolved by name (drv_dk_syms). */
typedef struct drv_dk_api {
  void *lib;
  const char *(*library_version)(void);
  int (*create_config)(dk_config *);
  int (*set_config)(dk_config, const char *, const char *);
  void (*destroy_config)(dk_config *);
  int (*open_ext)(const char *, dk_database *, dk_config, char **);
  void (*close)(dk_database *);
  int (*connect)(dk_database, dk_connection *);
  void (*disconnect)(dk_connection *);
  void (*interrupt)(dk_connection);
  int (*query)(dk_connection, const char *, dk_result *);
  void (*destroy_result)(dk_result *);
  const char *(*result_error)(dk_result *);
  dk_idx (*column_count)(dk_result *);
  const char *(*column_name)(dk_result *, dk_idx);
  dk_ltype (*column_logical_type)(dk_result *, dk_idx);
  dk_chunk (*fetch_chunk)(dk_result);
  dk_chunk (*create_data_chunk)(dk_ltype *, dk_idx);
  void (*destroy_data_chunk)(dk_chunk *);
  void (*data_chunk_reset)(dk_chunk);
  dk_idx (*data_chunk_get_size)(dk_chunk);
  void (*data_chunk_set_size)(dk_chunk, dk_idx);
  dk_vector (*data_chunk_get_vector)(dk_chunk, dk_idx);
  dk_idx (*vector_size)(void);
  void *(*vector_get_data)(dk_vector);
  uint64_t *(*vector_get_validity)(dk_vector);
  void (*vector_ensure_validity_writable)(dk_vector);
  void (*vector_assign_string_element_len)(dk_vector, dk_idx, const char *, dk_idx);
  dk_vector (*list_vector_get_child)(dk_vector);
  dk_vector (*struct_vector_get_child)(dk_vector, dk_idx);
  dk_vector (*array_vector_get_child)(dk_vector);
  dk_ltype (*create_logical_type)(int);
  dk_ltype (*create_decimal_type)(uint8_t, uint8_t);
  void (*destroy_logical_type)(dk_ltype *);
  int (*get_type_id)(dk_ltype);
  uint8_t (*decimal_scale)(dk_ltype);
  int (*decimal_internal_type)(dk_ltype);
  int (*enum_internal_type)(dk_ltype);
  uint32_t (*enum_dictionary_size)(dk_ltype);
  char *(*enum_dictionary_value)(dk_ltype, dk_idx);
  dk_ltype (*list_type_child_type)(dk_ltype);
  dk_ltype (*array_type_child_type)(dk_ltype);
  dk_idx (*array_type_array_size)(dk_ltype);
  dk_ltype (*map_type_key_type)(dk_ltype);
  dk_ltype (*map_type_value_type)(dk_ltype);
  dk_idx (*struct_type_child_count)(dk_ltype);
  char *(*struct_type_child_name)(dk_ltype, dk_idx);
  dk_ltype (*struct_type_child_type)(dk_ltype, dk_idx);
  dk_idx (*union_type_member_count)(dk_ltype);
  char *(*union_type_member_name)(dk_ltype, dk_idx);
  dk_ltype (*union_type_member_type)(dk_ltype, dk_idx);
  void (*free)(void *);
  dk_idx (*extract_statements)(dk_connection, const char *, dk_extracted *);
  const char *(*extract_statements_error)(dk_extracted);
  void (*destroy_extracted)(dk_extracted *);
  int (*prepare_extracted_statement)(dk_connection, dk_extracted, dk_idx, dk_prepared *);
  const char *(*prepare_error)(dk_prepared);
  void (*destroy_prepare)(dk_prepared *);
  int (*prepared_statement_type)(dk_prepared);
  int (*execute_prepared)(dk_prepared, dk_result *);
  int (*pending_prepared)(dk_prepared, dk_pending *);
  int (*pending_execute_task)(dk_pending);
  const char *(*pending_error)(dk_pending);
  int (*execute_pending)(dk_pending, dk_result *);
  void (*destroy_pending)(dk_pending *);
  int (*appender_create)(dk_connection, const char *, const char *, dk_appender *);
  int (*append_data_chunk)(dk_appender, dk_chunk);
  int (*appender_close)(dk_appender);
  int (*appender_destroy)(dk_appender *);
  dk_errdata (*appender_error_data)(dk_appender);
  const char *(*error_data_message)(dk_errdata);
  void (*destroy_error_data)(dk_errdata *);
} drv_dk_api;

#ifndef OSIRIS_NO_DLOPEN /* the static worker resolves nothing */
#define DRV_DK_SYM(name) {"duckdb_" #name, offsetof(drv_dk_api, name)}
static const struct drv_dk_sym {
  const char *name;
  size_t offset;
} drv_dk_syms[] = {
    DRV_DK_SYM(library_version), DRV_DK_SYM(create_config), DRV_DK_SYM(set_config),
    DRV_DK_SYM(destroy_config), DRV_DK_SYM(open_ext), DRV_DK_SYM(close), DRV_DK_SYM(connect),
    DRV_DK_SYM(disconnect), DRV_DK_SYM(interrupt), DRV_DK_SYM(query), DRV_DK_SYM(destroy_result),
    DRV_DK_SYM(result_error), DRV_DK_SYM(column_count), DRV_DK_SYM(column_name),
    DRV_DK_SYM(column_logical_type), DRV_DK_SYM(fetch_chunk), DRV_DK_SYM(create_data_chunk),
    DRV_DK_SYM(destroy_data_chunk), DRV_DK_SYM(data_chunk_reset), DRV_DK_SYM(data_chunk_get_size),
    DRV_DK_SYM(data_chunk_set_size), DRV_DK_SYM(data_chunk_get_vector), DRV_DK_SYM(vector_size),
    DRV_DK_SYM(vector_get_data), DRV_DK_SYM(vector_get_validity),
    DRV_DK_SYM(vector_ensure_validity_writable), DRV_DK_SYM(vector_assign_string_element_len),
    DRV_DK_SYM(list_vector_get_child), DRV_DK_SYM(struct_vector_get_child),
    DRV_DK_SYM(array_vector_get_child), DRV_DK_SYM(create_logical_type),
    DRV_DK_SYM(create_decimal_type), DRV_DK_SYM(destroy_logical_type), DRV_DK_SYM(get_type_id),
    DRV_DK_SYM(decimal_scale), DRV_DK_SYM(decimal_internal_type), DRV_DK_SYM(enum_internal_type),
    DRV_DK_SYM(enum_dictionary_size), DRV_DK_SYM(enum_dictionary_value),
    DRV_DK_SYM(list_type_child_type), DRV_DK_SYM(array_type_child_type),
    DRV_DK_SYM(array_type_array_size), DRV_DK_SYM(map_type_key_type),
    DRV_DK_SYM(map_type_value_type), DRV_DK_SYM(struct_type_child_count),
    DRV_DK_SYM(struct_type_child_name), DRV_DK_SYM(struct_type_child_type),
    DRV_DK_SYM(union_type_member_count), DRV_DK_SYM(union_type_member_name),
    DRV_DK_SYM(union_type_member_type), DRV_DK_SYM(free), DRV_DK_SYM(extract_statements),
    DRV_DK_SYM(extract_statements_error), DRV_DK_SYM(destroy_extracted),
    DRV_DK_SYM(prepare_extracted_statement), DRV_DK_SYM(prepare_error),
    DRV_DK_SYM(destroy_prepare), DRV_DK_SYM(prepared_statement_type), DRV_DK_SYM(execute_prepared),
    DRV_DK_SYM(pending_prepared), DRV_DK_SYM(pending_execute_task), DRV_DK_SYM(pending_error),
    DRV_DK_SYM(execute_pending), DRV_DK_SYM(destroy_pending), DRV_DK_SYM(appender_create),
    DRV_DK_SYM(append_data_chunk), DRV_DK_SYM(appender_close), DRV_DK_SYM(appender_destroy),
    DRV_DK_SYM(appender_error_data), DRV_DK_SYM(error_data_message),
    DRV_DK_SYM(destroy_error_data)};
#undef DRV_DK_SYM
#endif

#define DRV_DK_MIN_MINOR 5   /* DuckDB 1.5: every function above is stable there */
#define DRV_DK_MAX_DEPTH 64  /* nesting of LIST/STRUCT/MAP types in a result */
#define DRV_DK_REMEDY                                                                        \
  "run ./build.sh (it fetches the pinned npm package @duckdb/node-bindings-linux-x64 into " \
  "vendor/duckdb/), or set OSIRIS_DUCKDB_LIB to a libduckdb.so of DuckDB 1.5 or later; "   \
  "sql.processor is the embedded engine, with the SQLite dialect"

__extension__ typedef unsigned __int128 drv_u128;

/* ---- loading ---- */

/* The static worker (OSIRIS_NO_DLOPEN, set by static.mk) cannot load a
 * shared library: it says which worker can. */
#ifdef OSIRIS_NO_DLOPEN
static osiris_rc drv_dk_load(drv_dk_api *api, char *used, size_t usedcap, char *err, size_t cap) {
  memset(api, 0, sizeof *api);
  if (usedcap) used[0] = 0;
  snprintf(err, cap, "this osiris-worker is fully static and cannot load DuckDB; a remote run of "
           "a pipeline with duckdb.processor uses osiris-worker-dyn with libduckdb.so beside it");
  return OSIRIS_ENOTFOUND;
}
static void drv_dk_unload(drv_dk_api *api) { memset(api, 0, sizeof *api); }
#else
/* The candidate paths, in order, into out[] (owned strings), and how many
 * into *count.  Only $OSIRIS_DUCKDB_LIB when it is set.  OSIRIS_ENOMEM
 * (nothing left in out[]) rather than a shorter list: a path dropped for
 * want of memory could load another library than the one it names. */
static osiris_rc drv_dk_candidates(char *out[6], size_t *count) {
  const char *env = getenv("OSIRIS_DUCKDB_LIB");
  static const char *const rel[] = {"libduckdb.so", "vendor/duckdb/libduckdb.so",
                                    "../vendor/duckdb/libduckdb.so",
                                    "../../vendor/duckdb/libduckdb.so",
                                    "../../../vendor/duckdb/libduckdb.so"};
  char self[4096], *slash;
  ssize_t n;
  size_t k = 0, i;
  int oom = 0;
  *count = 0;
  if (env && *env) {
    if (!(out[0] = osiris_strdup(env))) return OSIRIS_ENOMEM;
    *count = 1;
    return OSIRIS_OK;
  }
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = 0;
    slash = strrchr(self, '/');
    if (slash) *slash = 0;
    for (i = 0; i < sizeof rel / sizeof *rel; i++)
      if ((out[k] = drv_path_join(self, rel[i])) != NULL) k++; else oom = 1;
  }
  if ((out[k] = osiris_strdup("libduckdb.so")) != NULL) k++; else oom = 1; /* the loader's search path */
  if (oom) {
    for (i = 0; i < k; i++) osiris_free(out[i]), out[i] = NULL;
    return OSIRIS_ENOMEM;
  }
  *count = k;
  return OSIRIS_OK;
}

/* Resolve every symbol and check the version; 0 with err set otherwise. */
static int drv_dk_bind(drv_dk_api *api, const char *path, char *err, size_t cap) {
  size_t i;
  const char *v;
  long major, minor;
  char *end;
  for (i = 0; i < sizeof drv_dk_syms / sizeof *drv_dk_syms; i++) {
    void *fn = dlsym(api->lib, drv_dk_syms[i].name);
    if (!fn) {
      snprintf(err, cap, "%s is not a usable DuckDB library: it has no %s (DuckDB 1.%d or later "
               "is needed)", path, drv_dk_syms[i].name, DRV_DK_MIN_MINOR);
      return 0;
    }
    memcpy((char *)api + drv_dk_syms[i].offset, &fn, sizeof fn);
  }
  v = api->library_version();
  if (!v || v[0] != 'v') v = "?";
  major = strtol(v + 1, &end, 10);
  minor = *end == '.' ? strtol(end + 1, NULL, 10) : -1;
  if (major != 1 || minor < DRV_DK_MIN_MINOR) {
    snprintf(err, cap, "%s is DuckDB %s; duckdb.processor needs DuckDB 1.%d or a later 1.x (%s)",
             path, v, DRV_DK_MIN_MINOR, DRV_DK_REMEDY);
    return 0;
  }
  return 1;
}

static osiris_rc drv_dk_load(drv_dk_api *api, char *used, size_t usedcap, char *err, size_t cap) {
  char *paths[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  char tried[1024] = "";
  size_t n = 0, i, tl = 0;
  osiris_rc rc = OSIRIS_ENOTFOUND;
  memset(api, 0, sizeof *api);
  err[0] = 0;
  if (drv_dk_candidates(paths, &n) != OSIRIS_OK) {
    snprintf(err, cap, "out of memory");
    return OSIRIS_ENOMEM;
  }
  for (i = 0; i < n && rc; i++) {
    const char *why;
    /* A relative candidate other than the bare soname would resolve
     * against the current directory: candidates are absolute or bare. */
    api->lib = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!api->lib) {
      why = dlerror();
      if (n == 1 || (why && !strstr(why, "No such file")))
        snprintf(err, cap, "cannot load %s: %s", paths[i], why ? why : "dlopen failed");
      if (tl < sizeof tried)
        tl += (size_t)snprintf(tried + tl, sizeof tried - tl, "%s%s", tl ? ", " : "", paths[i]);
      continue;
    }
    if (!drv_dk_bind(api, paths[i], err, cap)) {
      dlclose(api->lib);
      api->lib = NULL;
      break; /* a wrong library where we looked is an error, not a reason to look on */
    }
    if (usedcap) snprintf(used, usedcap, "%s", paths[i]);
    rc = OSIRIS_OK;
  }
  if (rc && !err[0])
    snprintf(err, cap, "duckdb.processor needs DuckDB's C library (libduckdb.so), which was not "
             "found (looked at %s): %s", tried, DRV_DK_REMEDY);
  else if (rc && !strstr(err, "sql.processor")) {
    size_t l = strlen(err);
    snprintf(err + l, cap - l, " (%s)", DRV_DK_REMEDY);
  }
  for (i = 0; i < n; i++) osiris_free(paths[i]);
  return rc;
}
static void drv_dk_unload(drv_dk_api *api) {
  if (api->lib) dlclose(api->lib); /* RTLD_NODELETE: the code stays mapped */
  memset(api, 0, sizeof *api);
}
#endif

/* ---- result types ---- */

/* A result column's type, resolved once (children for nested types). */
typedef struct drv_dk_type {
  int id;                     /* DK_* */
  int scale, internal;        /* DECIMAL: scale and storage; ENUM: storage */
  dk_idx array_size;          /* ARRAY */
  size_t n;                   /* children */
  struct drv_dk_type *child;  /* LIST/ARRAY 1, MAP 2 (key, value), STRUCT/UNION n */
  char **names;               /* STRUCT/UNION member names */
  char **dict;                /* ENUM values */
  size_t ndict;
} drv_dk_type;

static void drv_dk_type_free(drv_dk_type *t) {
  size_t i;
  for (i = 0; i < t->n; i++) {
    drv_dk_type_free(&t->child[i]);
    if (t->names) osiris_free(t->names[i]);
  }
  for (i = 0; i < t->ndict; i++) osiris_free(t->dict[i]);
  osiris_free(t->child);
  osiris_free(t->names);
  osiris_free(t->dict);
  memset(t, 0, sizeof *t);
}

/* Copy a string DuckDB allocated, releasing it. */
static char *drv_dk_take(const drv_dk_api *api, char *s) {
  char *c = osiris_strdup(s ? s : "");
  if (s) api->free(s);
  return c;
}

/* Fill t from the logical type lt (borrowed).  0 on out of memory or
 * nesting deeper than DRV_DK_MAX_DEPTH. */
static int drv_dk_type_build(const drv_dk_api *api, dk_ltype lt, drv_dk_type *t, int depth) {
  dk_idx i, n = 0;
  int ok = 1;
  memset(t, 0, sizeof *t);
  if (depth > DRV_DK_MAX_DEPTH) return 0;
  t->id = api->get_type_id(lt);
  switch (t->id) {
    case DK_DECIMAL:
      t->scale = api->decimal_scale(lt);
      t->internal = api->decimal_internal_type(lt);
      return 1;
    case DK_ENUM:
      t->internal = api->enum_internal_type(lt);
      t->ndict = api->enum_dictionary_size(lt);
      t->dict = osiris_calloc(t->ndict ? t->ndict : 1, sizeof *t->dict);
      if (!t->dict) return 0;
      for (i = 0; i < t->ndict; i++)
        if (!(t->dict[i] = drv_dk_take(api, api->enum_dictionary_value(lt, i)))) return 0;
      return 1;
    case DK_LIST: case DK_ARRAY: n = 1; break;
    case DK_MAP: n = 2; break;
    case DK_STRUCT: n = api->struct_type_child_count(lt); break;
    case DK_UNION: n = api->union_type_member_count(lt); break;
    default: return 1;
  }
  t->child = osiris_calloc(n ? n : 1, sizeof *t->child);
  t->names = osiris_calloc(n ? n : 1, sizeof *t->names);
  if (!t->child || !t->names) return 0;
  t->n = n;
  if (t->id == DK_ARRAY) t->array_size = api->array_type_array_size(lt);
  for (i = 0; i < n && ok; i++) {
    dk_ltype c = t->id == DK_LIST    ? api->list_type_child_type(lt)
                 : t->id == DK_ARRAY ? api->array_type_child_type(lt)
                 : t->id == DK_MAP   ? (i == 0 ? api->map_type_key_type(lt) : api->map_type_value_type(lt))
                 : t->id == DK_STRUCT ? api->struct_type_child_type(lt, i)
                                      : api->union_type_member_type(lt, i);
    if (t->id == DK_STRUCT) t->names[i] = drv_dk_take(api, api->struct_type_child_name(lt, i));
    if (t->id == DK_UNION) t->names[i] = drv_dk_take(api, api->union_type_member_name(lt, i));
    ok = c && drv_dk_type_build(api, c, &t->child[i], depth + 1);
    if ((t->id == DK_STRUCT || t->id == DK_UNION) && !t->names[i]) ok = 0;
    if (c) api->destroy_logical_type(&c);
  }
  return ok;
}

static const char *drv_dk_type_name(int id) {
  switch (id) {
    case DK_BIT: return "BIT";
    case 35: return "BIGNUM";
    case 39: return "TIME_NS";
    case 40: return "GEOMETRY";
    case 41: return "VARIANT";
    case 36: return "NULL";
    default: return "this";
  }
}

/* ---- values as text ---- */

static int drv_dk_valid(const uint64_t *validity, dk_idx row) {
  return !validity || (validity[row / 64] >> (row % 64) & 1);
}

/* |v| as decimal digits with `scale` of them after the point. */
static size_t drv_dk_fmt_u128(drv_u128 mag, int neg, int scale, char *buf, size_t cap) {
  char tmp[64];
  size_t n = 0, len = 0;
  int k;
  do {
    tmp[n++] = (char)('0' + (int)(mag % 10));
    mag /= 10;
  } while (mag);
  while ((int)n <= scale) tmp[n++] = '0';
  if (cap < n + 3) return 0;
  if (neg) buf[len++] = '-';
  for (k = (int)n - 1; k >= 0; k--) {
    buf[len++] = tmp[k];
    if (k == scale && scale > 0) buf[len++] = '.';
  }
  buf[len] = 0;
  return len;
}

static size_t drv_dk_fmt_i128(dk_hugeint h, int scale, char *buf, size_t cap) {
  drv_u128 v = ((drv_u128)(uint64_t)h.upper << 64) | h.lower;
  int neg = h.upper < 0;
  return drv_dk_fmt_u128(neg ? (drv_u128)0 - v : v, neg, scale, buf, cap);
}

/* "HH:MM:SS[.f]" of micros in a day, trailing zeros of the fraction cut:
 * DuckDB's text for TIME and the time part of an INTERVAL. */
static size_t drv_dk_fmt_time(uint64_t us, char *buf, size_t cap) {
  unsigned frac = (unsigned)(us % 1000000);
  uint64_t s = us / 1000000;
  int n = snprintf(buf, cap, "%02" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60),
                   (unsigned)(s % 60));
  if (n > 0 && frac && (size_t)n + 8 < cap) {
    int digits = 6;
    while (frac % 10 == 0) frac /= 10, digits--;
    n += snprintf(buf + n, cap - (size_t)n, ".%0*u", digits, frac);
  }
  return n < 0 ? 0 : (size_t)n;
}

/* DuckDB's INTERVAL text: "1 year 2 months 3 days 04:05:06.5". */
static size_t drv_dk_fmt_interval(dk_interval v, char *buf, size_t cap) {
  size_t n = 0;
  int32_t years = v.months / 12, months = v.months % 12;
  if (years) n += (size_t)snprintf(buf + n, cap - n, "%d year%s", years, years == 1 || years == -1 ? "" : "s");
  if (months && n < cap)
    n += (size_t)snprintf(buf + n, cap - n, "%s%d month%s", n ? " " : "", months,
                          months == 1 || months == -1 ? "" : "s");
  if (v.days && n < cap)
    n += (size_t)snprintf(buf + n, cap - n, "%s%d day%s", n ? " " : "", v.days,
                          v.days == 1 || v.days == -1 ? "" : "s");
  if ((v.micros || n == 0) && n + 2 < cap) {
    if (n) buf[n++] = ' ';
    if (v.micros < 0) buf[n++] = '-';
    n += drv_dk_fmt_time(v.micros < 0 ? (uint64_t)0 - (uint64_t)v.micros : (uint64_t)v.micros,
                         buf + n, cap - n);
  }
  return n < cap ? n : cap - 1;
}

/* "12:00:00+05:30": TIME WITH TIME ZONE (40 bits of micros, 24 bits of an
 * encoded offset in seconds). */
static size_t drv_dk_fmt_timetz(uint64_t bits, char *buf, size_t cap) {
  const int64_t max_offset = 16 * 60 * 60 - 1;
  int64_t offset = max_offset - (int64_t)(bits & 0xFFFFFF);
  uint64_t a = (uint64_t)(offset < 0 ? -offset : offset);
  size_t n = drv_dk_fmt_time(bits >> 24, buf, cap);
  if (n + 12 >= cap) return n;
  n += (size_t)snprintf(buf + n, cap - n, "%c%02u", offset < 0 ? '-' : '+', (unsigned)(a / 3600));
  if (a % 3600) n += (size_t)snprintf(buf + n, cap - n, ":%02u", (unsigned)(a / 60 % 60));
  if (a % 60) n += (size_t)snprintf(buf + n, cap - n, ":%02u", (unsigned)(a % 60));
  return n;
}

static size_t drv_dk_fmt_uuid(dk_hugeint h, char *buf, size_t cap) {
  uint64_t hi = (uint64_t)h.upper ^ (UINT64_C(1) << 63), lo = h.lower;
  return (size_t)snprintf(buf, cap, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
                          hi >> 32, hi >> 16 & 0xFFFF, hi & 0xFFFF, lo >> 48, lo & UINT64_C(0xFFFFFFFFFFFF));
}

/* Timestamps: "YYYY-MM-DD HH:MM:SS[.f]" as DuckDB writes them. */
static size_t drv_dk_fmt_ts(int64_t us, char *buf, size_t cap) {
  size_t n = osiris_format_timestamp(buf, cap, us, ' ');
  while (n > 20 && buf[n - 1] == '0' && strchr(buf, '.')) buf[--n] = 0;
  return n;
}

static const char *drv_dk_str(const dk_string *s, size_t *len) {
  *len = s->value.inlined.length;
  return *len <= 12 ? s->value.inlined.inlined : s->value.pointer.ptr;
}

/* DuckDB's text for a BLOB: printable ASCII as is, other bytes \xHH. */
static void drv_dk_blob(osiris_buf *b, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 32 && c < 127 && c != '\\' && c != '\'' && c != '"') {
      osiris_buf_put(b, p + i, 1);
    } else {
      char x[5];
      snprintf(x, sizeof x, "\\x%02X", c);
      osiris_buf_put(b, x, 4);
    }
  }
}

/* Append value `row` of vector v (type t) as text; json: as a JSON value
 * (numbers bare, strings quoted, nested types as arrays/objects).  Returns
 * 0 for a type this file cannot show. */
static int drv_dk_text(const drv_dk_api *api, osiris_buf *b, dk_vector v, const drv_dk_type *t,
                       dk_idx row, int json) {
  const void *data = api->vector_get_data(v);
  char num[80];
  size_t n = 0, i;
  int quoted = json;
  if (!drv_dk_valid(api->vector_get_validity(v), row)) {
    if (json) osiris_buf_puts(b, "null");
    return 1;
  }
  switch (t->id) {
    case DK_BOOLEAN: osiris_buf_puts(b, ((const bool *)data)[row] ? "true" : "false"); return 1;
    case DK_TINYINT: n = (size_t)snprintf(num, sizeof num, "%d", ((const int8_t *)data)[row]); quoted = 0; break;
    case DK_SMALLINT: n = (size_t)snprintf(num, sizeof num, "%d", ((const int16_t *)data)[row]); quoted = 0; break;
    case DK_INTEGER: n = (size_t)snprintf(num, sizeof num, "%" PRId32, ((const int32_t *)data)[row]); quoted = 0; break;
    case DK_BIGINT: n = (size_t)snprintf(num, sizeof num, "%" PRId64, ((const int64_t *)data)[row]); quoted = 0; break;
    case DK_UTINYINT: n = (size_t)snprintf(num, sizeof num, "%u", ((const uint8_t *)data)[row]); quoted = 0; break;
    case DK_USMALLINT: n = (size_t)snprintf(num, sizeof num, "%u", ((const uint16_t *)data)[row]); quoted = 0; break;
    case DK_UINTEGER: n = (size_t)snprintf(num, sizeof num, "%" PRIu32, ((const uint32_t *)data)[row]); quoted = 0; break;
    case DK_UBIGINT: n = (size_t)snprintf(num, sizeof num, "%" PRIu64, ((const uint64_t *)data)[row]); quoted = 0; break;
    case DK_HUGEINT: n = drv_dk_fmt_i128(((const dk_hugeint *)data)[row], 0, num, sizeof num); quoted = 0; break;
    case DK_UHUGEINT: {
      const dk_hugeint *h = &((const dk_hugeint *)data)[row];
      n = drv_dk_fmt_u128(((drv_u128)(uint64_t)h->upper << 64) | h->lower, 0, 0, num, sizeof num);
      quoted = 0;
      break;
    }
    case DK_FLOAT: case DK_DOUBLE: {
      double d = t->id == DK_FLOAT ? (double)((const float *)data)[row] : ((const double *)data)[row];
      if (json && !isfinite(d)) {
        osiris_buf_puts(b, "null");
        return 1;
      }
      n = osiris_format_double(num, sizeof num, d);
      quoted = 0;
      break;
    }
    case DK_DECIMAL: {
      dk_hugeint h;
      int64_t x = 0;
      if (t->internal == DK_SMALLINT) x = ((const int16_t *)data)[row];
      else if (t->internal == DK_INTEGER) x = ((const int32_t *)data)[row];
      else if (t->internal == DK_BIGINT) x = ((const int64_t *)data)[row];
      if (t->internal == DK_HUGEINT) {
        h = ((const dk_hugeint *)data)[row];
      } else {
        h.lower = (uint64_t)x;
        h.upper = x < 0 ? -1 : 0;
      }
      n = drv_dk_fmt_i128(h, t->scale, num, sizeof num);
      quoted = 0;
      break;
    }
    case DK_DATE: n = osiris_format_date(num, sizeof num, ((const int32_t *)data)[row]); break;
    case DK_TIME: n = drv_dk_fmt_time((uint64_t)((const int64_t *)data)[row], num, sizeof num); break;
    case DK_TIME_TZ: n = drv_dk_fmt_timetz(((const uint64_t *)data)[row], num, sizeof num); break;
    case DK_TIMESTAMP: case DK_TIMESTAMP_TZ:
      n = drv_dk_fmt_ts(((const int64_t *)data)[row], num, sizeof num);
      if (t->id == DK_TIMESTAMP_TZ && n + 4 < sizeof num) n += (size_t)snprintf(num + n, sizeof num - n, "+00");
      break;
    case DK_TIMESTAMP_S: n = drv_dk_fmt_ts(((const int64_t *)data)[row] * 1000000, num, sizeof num); break;
    case DK_TIMESTAMP_MS: n = drv_dk_fmt_ts(((const int64_t *)data)[row] * 1000, num, sizeof num); break;
    case DK_TIMESTAMP_NS:
      n = drv_dk_fmt_ts(drv_floor_div(((const int64_t *)data)[row], 1000), num, sizeof num);
      break;
    case DK_INTERVAL: n = drv_dk_fmt_interval(((const dk_interval *)data)[row], num, sizeof num); break;
    case DK_UUID: n = drv_dk_fmt_uuid(((const dk_hugeint *)data)[row], num, sizeof num); break;
    case DK_VARCHAR: case DK_BLOB: {
      size_t len;
      const char *p = drv_dk_str(&((const dk_string *)data)[row], &len);
      if (t->id == DK_BLOB) {
        osiris_buf tmp = {0};
        drv_dk_blob(&tmp, p, len);
        if (json) osiris_buf_json_string(b, tmp.p ? tmp.p : "", tmp.len); else osiris_buf_put(b, tmp.p ? tmp.p : "", tmp.len);
        if (tmp.oom) b->oom = 1;
        osiris_buf_free(&tmp);
      } else if (json) {
        osiris_buf_json_string(b, p, len);
      } else {
        osiris_buf_put(b, p, len);
      }
      return 1;
    }
    case DK_ENUM: {
      uint64_t k = t->internal == DK_UTINYINT ? ((const uint8_t *)data)[row]
                   : t->internal == DK_USMALLINT ? ((const uint16_t *)data)[row]
                                                 : ((const uint32_t *)data)[row];
      const char *s = k < t->ndict ? t->dict[k] : "";
      if (json) osiris_buf_json_string(b, s, strlen(s)); else osiris_buf_puts(b, s);
      return 1;
    }
    case DK_LIST: case DK_MAP: {
      const dk_list_entry *e = &((const dk_list_entry *)data)[row];
      dk_vector child = api->list_vector_get_child(v);
      dk_vector key = t->id == DK_MAP ? api->struct_vector_get_child(child, 0) : NULL;
      dk_vector val = t->id == DK_MAP ? api->struct_vector_get_child(child, 1) : NULL;
      osiris_buf_puts(b, t->id == DK_MAP ? "{" : "[");
      for (i = 0; i < e->length; i++) {
        if (i) osiris_buf_puts(b, ",");
        if (t->id == DK_LIST) {
          if (!drv_dk_text(api, b, child, &t->child[0], e->offset + i, 1)) return 0;
          continue;
        }
        { /* a MAP's keys become JSON object keys: their text, quoted */
          osiris_buf k = {0};
          if (!drv_dk_text(api, &k, key, &t->child[0], e->offset + i, 0)) {
            osiris_buf_free(&k);
            return 0;
          }
          osiris_buf_json_string(b, k.p ? k.p : "", k.len);
          osiris_buf_free(&k);
        }
        osiris_buf_puts(b, ":");
        if (!drv_dk_text(api, b, val, &t->child[1], e->offset + i, 1)) return 0;
      }
      osiris_buf_puts(b, t->id == DK_MAP ? "}" : "]");
      return 1;
    }
    case DK_ARRAY: {
      dk_vector child = api->array_vector_get_child(v);
      osiris_buf_puts(b, "[");
      for (i = 0; i < t->array_size; i++) {
        if (i) osiris_buf_puts(b, ",");
        if (!drv_dk_text(api, b, child, &t->child[0], row * t->array_size + i, 1)) return 0;
      }
      osiris_buf_puts(b, "]");
      return 1;
    }
    case DK_STRUCT:
      osiris_buf_puts(b, "{");
      for (i = 0; i < t->n; i++) {
        if (i) osiris_buf_puts(b, ",");
        osiris_buf_json_string(b, t->names[i], strlen(t->names[i]));
        osiris_buf_puts(b, ":");
        if (!drv_dk_text(api, b, api->struct_vector_get_child(v, i), &t->child[i], row, 1)) return 0;
      }
      osiris_buf_puts(b, "}");
      return 1;
    case DK_UNION: { /* a STRUCT of (tag, member...): {name: active member} */
      uint8_t tag = ((const uint8_t *)api->vector_get_data(api->struct_vector_get_child(v, 0)))[row];
      if (tag >= t->n) return 0;
      osiris_buf_puts(b, "{");
      osiris_buf_json_string(b, t->names[tag], strlen(t->names[tag]));
      osiris_buf_puts(b, ":");
      if (!drv_dk_text(api, b, api->struct_vector_get_child(v, (dk_idx)tag + 1), &t->child[tag], row, 1))
        return 0;
      osiris_buf_puts(b, "}");
      return 1;
    }
    default:
      return 0;
  }
  if (quoted) osiris_buf_json_string(b, num, n); else osiris_buf_put(b, num, n);
  return 1;
}

/* ---- frames in ---- */

/* DuckDB type of a frame column (owned; NULL when out of memory). */
static dk_ltype drv_dk_ltype_of(const drv_dk_api *api, const osiris_frame *f, size_t c) {
  switch (osiris_frame_col_type(f, c)) {
    case OSIRIS_TYPE_BOOL: return api->create_logical_type(DK_BOOLEAN);
    case OSIRIS_TYPE_INT64: return api->create_logical_type(DK_BIGINT);
    case OSIRIS_TYPE_DOUBLE: return api->create_logical_type(DK_DOUBLE);
    case OSIRIS_TYPE_DECIMAL: return api->create_decimal_type(38, (uint8_t)osiris_frame_col_scale(f, c));
    case OSIRIS_TYPE_DATE: return api->create_logical_type(DK_DATE);
    case OSIRIS_TYPE_TIMESTAMP: return api->create_logical_type(DK_TIMESTAMP);
    default: return api->create_logical_type(DK_VARCHAR);
  }
}

static const char *drv_dk_sql_type(const osiris_frame *f, size_t c, char *buf, size_t cap) {
  switch (osiris_frame_col_type(f, c)) {
    case OSIRIS_TYPE_BOOL: return "BOOLEAN";
    case OSIRIS_TYPE_INT64: return "BIGINT";
    case OSIRIS_TYPE_DOUBLE: return "DOUBLE";
    case OSIRIS_TYPE_DECIMAL: snprintf(buf, cap, "DECIMAL(38,%d)", osiris_frame_col_scale(f, c)); return buf;
    case OSIRIS_TYPE_DATE: return "DATE";
    case OSIRIS_TYPE_TIMESTAMP: return "TIMESTAMP";
    default: return "VARCHAR";
  }
}

/* Decimal text of a frame into DuckDB's 128-bit scaled integer.  Frame
 * text has at most `scale` fraction digits; more is refused, not rounded. */
static int drv_dk_parse_dec(const char *p, size_t n, int scale, dk_hugeint *out) {
  drv_u128 v = 0, lim = 1;
  size_t i = 0;
  int neg = 0, frac = -1, k;
  for (k = 0; k < 38; k++) lim *= 10;
  if (i < n && (p[i] == '-' || p[i] == '+')) neg = p[i++] == '-';
  for (; i < n; i++) {
    if (p[i] == '.' && frac < 0) {
      frac = 0;
      continue;
    }
    if (p[i] < '0' || p[i] > '9') return 0;
    if (frac >= 0 && ++frac > scale) {
      if (p[i] != '0') return 0;
      continue;
    }
    v = v * 10 + (drv_u128)(p[i] - '0');
    if (v >= lim) return 0;
  }
  for (k = frac < 0 ? 0 : frac; k < scale; k++) {
    v *= 10;
    if (v >= lim) return 0;
  }
  if (neg) v = (drv_u128)0 - v;
  out->lower = (uint64_t)v;
  out->upper = (int64_t)(uint64_t)(v >> 64);
  return 1;
}

/* Append rows [0, rows) of f to the appender, a data chunk at a time. */
static osiris_rc drv_dk_append(const drv_dk_api *api, dk_appender app, const osiris_frame *f,
                               dk_chunk chunk, char *err, size_t cap) {
  size_t rows = osiris_frame_rows(f), ncols = osiris_frame_cols(f), r0, c, r;
  dk_idx vsize = api->vector_size();
  for (r0 = 0; r0 < rows; r0 += vsize) {
    size_t cnt = rows - r0 < vsize ? rows - r0 : (size_t)vsize;
    api->data_chunk_reset(chunk);
    for (c = 0; c < ncols; c++) {
      dk_vector v = api->data_chunk_get_vector(chunk, c);
      void *data = api->vector_get_data(v);
      osiris_type t = osiris_frame_col_type(f, c);
      uint64_t *valid = NULL;
      int scale = osiris_frame_col_scale(f, c);
      for (r = 0; r < cnt; r++) {
        size_t row = r0 + r, len;
        const char *p;
        if (osiris_frame_is_null(f, c, row)) {
          if (!valid) {
            api->vector_ensure_validity_writable(v);
            valid = api->vector_get_validity(v);
          }
          valid[r / 64] &= ~(UINT64_C(1) << (r % 64));
          continue;
        }
        switch (t) {
          case OSIRIS_TYPE_BOOL: ((bool *)data)[r] = osiris_frame_get_bool(f, c, row) != 0; break;
          case OSIRIS_TYPE_INT64: ((int64_t *)data)[r] = osiris_frame_get_int64(f, c, row); break;
          case OSIRIS_TYPE_DOUBLE: ((double *)data)[r] = osiris_frame_get_double(f, c, row); break;
          case OSIRIS_TYPE_DATE: ((int32_t *)data)[r] = osiris_frame_get_date(f, c, row); break;
          case OSIRIS_TYPE_TIMESTAMP: ((int64_t *)data)[r] = osiris_frame_get_timestamp(f, c, row); break;
          case OSIRIS_TYPE_DECIMAL:
            p = osiris_frame_get_text(f, c, row, &len);
            if (!drv_dk_parse_dec(p, len, scale, &((dk_hugeint *)data)[r])) {
              snprintf(err, cap, "column %s, row %zu: decimal %.*s does not fit DECIMAL(38,%d)",
                       osiris_frame_col_name(f, c), row + 1, (int)(len < 60 ? len : 60), p, scale);
              return OSIRIS_EINVAL;
            }
            break;
          default:
            p = osiris_frame_get_text(f, c, row, &len);
            api->vector_assign_string_element_len(v, r, p, len);
            break;
        }
      }
    }
    api->data_chunk_set_size(chunk, cnt);
    if (api->append_data_chunk(app, chunk) != DK_OK) {
      dk_errdata e = api->appender_error_data(app);
      snprintf(err, cap, "cannot load the input into DuckDB: %s",
               e && api->error_data_message(e) ? api->error_data_message(e) : "append failed");
      if (e) api->destroy_error_data(&e);
      return OSIRIS_ESQL;
    }
  }
  return OSIRIS_OK;
}

/* ---- one DuckDB session ---- */

typedef struct drv_dk_session {
  drv_dk_api api;
  dk_database db;
  dk_connection con;
  char lib[1024];  /* the library loaded */
  char *tmpdir;    /* temp_directory, removed at the end */
} drv_dk_session;

static osiris_rc drv_dk_exec(drv_dk_session *ss, const char *sql, char *err, size_t cap) {
  dk_result res;
  osiris_rc rc = OSIRIS_OK;
  memset(&res, 0, sizeof res);
  if (ss->api.query(ss->con, sql, &res) != DK_OK) {
    const char *m = ss->api.result_error(&res);
    snprintf(err, cap, "%s", m ? m : "DuckDB failed");
    rc = OSIRIS_ESQL;
  }
  ss->api.destroy_result(&res);
  return rc;
}

/* Remove dir and the files directly in it (DuckDB's spill files). */
static void drv_dk_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (d) {
    while ((e = readdir(d)) != NULL) {
      char *p;
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if ((p = drv_path_join(dir, e->d_name)) != NULL) {
        unlink(p);
        osiris_free(p);
      }
    }
    closedir(d);
  }
  rmdir(dir);
}

static void drv_dk_close(drv_dk_session *ss) {
  if (ss->con) ss->api.disconnect(&ss->con);
  if (ss->db) ss->api.close(&ss->db);
  if (ss->tmpdir) drv_dk_rmtree(ss->tmpdir);
  osiris_free(ss->tmpdir);
  drv_dk_unload(&ss->api);
  memset(ss, 0, sizeof *ss);
}

/* Load DuckDB, open an in-memory database with the step's settings.
 * threads: 0 for DuckDB's default; memory_limit/tmpdir may be NULL. */
static osiris_rc drv_dk_open(drv_dk_session *ss, int64_t threads, const char *memory_limit,
                             const char *tmpdir, char *err, size_t cap) {
  dk_config cfg = NULL;
  char *oerr = NULL, num[32];
  osiris_rc rc;
  memset(ss, 0, sizeof *ss);
  rc = drv_dk_load(&ss->api, ss->lib, sizeof ss->lib, err, cap);
  if (rc) return rc;
  if (ss->api.create_config(&cfg) != DK_OK) {
    snprintf(err, cap, "DuckDB: cannot create a configuration");
    return OSIRIS_ENOMEM;
  }
  snprintf(num, sizeof num, "%" PRId64, threads);
  if (threads > 0 && ss->api.set_config(cfg, "threads", num) != DK_OK) {
    snprintf(err, cap, "config.threads: DuckDB refused %s", num);
    rc = OSIRIS_EINVAL;
  } else if (memory_limit && ss->api.set_config(cfg, "memory_limit", memory_limit) != DK_OK) {
    snprintf(err, cap, "config.memory_limit: DuckDB refused '%s' (a size such as '2GB' or '500MiB')",
             memory_limit);
    rc = OSIRIS_EINVAL;
  } else if ((tmpdir && ss->api.set_config(cfg, "temp_directory", tmpdir) != DK_OK) ||
             ss->api.set_config(cfg, "autoinstall_known_extensions", "false") != DK_OK ||
             ss->api.set_config(cfg, "autoload_known_extensions", "false") != DK_OK) {
    snprintf(err, cap, "DuckDB refused a setting of osiris (temp_directory, enable_external_access "
             "or extension loading)");
    rc = OSIRIS_ESQL;
  }
  if (!rc && ss->api.open_ext(NULL, &ss->db, cfg, &oerr) != DK_OK) {
    snprintf(err, cap, "DuckDB: cannot open a database: %s", oerr ? oerr : "unknown error");
    rc = OSIRIS_ESQL;
  }
  if (oerr) ss->api.free(oerr);
  ss->api.destroy_config(&cfg);
  if (!rc && ss->api.connect(ss->db, &ss->con) != DK_OK) {
    snprintf(err, cap, "DuckDB: cannot connect");
    rc = OSIRIS_ESQL;
  }
  if (!rc) rc = drv_dk_exec(ss, "SET TimeZone = 'UTC'", err, cap);
  if (!rc && tmpdir && !(ss->tmpdir = osiris_strdup(tmpdir))) { /* drv_dk_close removes it */
    snprintf(err, cap, "out of memory");
    rc = OSIRIS_ENOMEM;
  }
  if (!rc && tmpdir) {
    /* the spill directory stays reachable once external access is off */
    osiris_buf q = {0};
    const char *p;
    osiris_buf_puts(&q, "SET allowed_directories = ['");
    for (p = tmpdir; *p; p++) osiris_buf_put(&q, *p == '\'' ? "''" : p, *p == '\'' ? 2 : 1);
    osiris_buf_puts(&q, "']");
    rc = q.oom ? OSIRIS_ENOMEM : drv_dk_exec(ss, q.p, err, cap);
    osiris_buf_free(&q);
  }
  if (!rc) rc = drv_dk_exec(ss, "SET enable_external_access = false", err, cap);
  return rc;
}

/* Load frame f as table `name` (created here); appender reused by streams. */
static osiris_rc drv_dk_create_table(drv_dk_session *ss, const char *name, const osiris_frame *f,
                                     char *err, size_t cap) {
  osiris_buf ddl = {0};
  char tbuf[32];
  size_t c, ncols = osiris_frame_cols(f);
  osiris_rc rc;
  osiris_buf_puts(&ddl, "CREATE TABLE ");
  drv_buf_ident(&ddl, name);
  osiris_buf_puts(&ddl, " (");
  for (c = 0; c < ncols; c++) {
    if (c) osiris_buf_puts(&ddl, ", ");
    drv_buf_ident(&ddl, osiris_frame_col_name(f, c));
    osiris_buf_puts(&ddl, " ");
    osiris_buf_puts(&ddl, drv_dk_sql_type(f, c, tbuf, sizeof tbuf));
  }
  osiris_buf_puts(&ddl, ")");
  if (ddl.oom) rc = OSIRIS_ENOMEM;
  else rc = drv_dk_exec(ss, ddl.p, err, cap);
  osiris_buf_free(&ddl);
  return rc;
}

typedef struct drv_dk_loader {
  dk_appender app;
  dk_chunk chunk;
  dk_ltype *types;
  size_t ncols;
} drv_dk_loader;

static void drv_dk_loader_end(drv_dk_session *ss, drv_dk_loader *ld) {
  size_t c;
  if (ld->chunk) ss->api.destroy_data_chunk(&ld->chunk);
  for (c = 0; ld->types && c < ld->ncols; c++)
    if (ld->types[c]) ss->api.destroy_logical_type(&ld->types[c]);
  osiris_free(ld->types);
  if (ld->app) ss->api.appender_destroy(&ld->app);
  memset(ld, 0, sizeof *ld);
}

/* Create table `name` shaped like f and open an appender on it. */
static osiris_rc drv_dk_loader_begin(drv_dk_session *ss, drv_dk_loader *ld, const char *name,
                                     const osiris_frame *f, char *err, size_t cap) {
  size_t c;
  osiris_rc rc = drv_dk_create_table(ss, name, f, err, cap);
  memset(ld, 0, sizeof *ld);
  if (rc) return rc;
  ld->ncols = osiris_frame_cols(f);
  ld->types = osiris_calloc(ld->ncols ? ld->ncols : 1, sizeof *ld->types);
  if (!ld->types) return OSIRIS_ENOMEM;
  for (c = 0; c < ld->ncols; c++)
    if (!(ld->types[c] = drv_dk_ltype_of(&ss->api, f, c))) return OSIRIS_ENOMEM;
  if (ld->ncols && !(ld->chunk = ss->api.create_data_chunk(ld->types, ld->ncols))) return OSIRIS_ENOMEM;
  if (ss->api.appender_create(ss->con, NULL, name, &ld->app) != DK_OK) {
    dk_errdata e = ld->app ? ss->api.appender_error_data(ld->app) : NULL;
    snprintf(err, cap, "DuckDB: cannot append to %s: %s", name,
             e && ss->api.error_data_message(e) ? ss->api.error_data_message(e) : "appender refused");
    if (e) ss->api.destroy_error_data(&e);
    return OSIRIS_ESQL;
  }
  return OSIRIS_OK;
}

static osiris_rc drv_dk_loader_close(drv_dk_session *ss, drv_dk_loader *ld, char *err, size_t cap) {
  osiris_rc rc = OSIRIS_OK;
  if (ld->app && ss->api.appender_close(ld->app) != DK_OK) {
    dk_errdata e = ss->api.appender_error_data(ld->app);
    snprintf(err, cap, "cannot load the input into DuckDB: %s",
             e && ss->api.error_data_message(e) ? ss->api.error_data_message(e) : "flush failed");
    if (e) ss->api.destroy_error_data(&e);
    rc = OSIRIS_ESQL;
  }
  drv_dk_loader_end(ss, ld);
  return rc;
}

/* CREATE VIEW alias AS FROM target. */
static osiris_rc drv_dk_alias(drv_dk_session *ss, const char *alias, const char *target, char *err,
                              size_t cap) {
  osiris_buf q = {0};
  osiris_rc rc;
  osiris_buf_puts(&q, "CREATE VIEW ");
  drv_buf_ident(&q, alias);
  osiris_buf_puts(&q, " AS FROM ");
  drv_buf_ident(&q, target);
  rc = q.oom ? OSIRIS_ENOMEM : drv_dk_exec(ss, q.p, err, cap);
  osiris_buf_free(&q);
  return rc;
}

/* ---- the query ---- */

/* Parse sql and prepare its last statement (*st owned), after running
 * the ones before it (DuckDB itself expands a PIVOT into two; the database
 * is the step's own and cannot reach files).  need_query 0: parse only. */
static osiris_rc drv_dk_prepare(drv_dk_session *ss, const char *sql, dk_prepared *st, int need_query,
                                char *err, size_t cap) {
  dk_extracted ex = NULL;
  dk_idx n = ss->api.extract_statements(ss->con, sql, &ex), i;
  osiris_rc rc = OSIRIS_OK;
  *st = NULL;
  if (n == 0) {
    const char *m = ex ? ss->api.extract_statements_error(ex) : NULL;
    snprintf(err, cap, "%s", m && *m ? m : "the query holds no SQL statement");
    rc = OSIRIS_ESQL;
  } else if (need_query) {
    for (i = 0; i + 1 < n && !rc; i++) {
      dk_result res;
      memset(&res, 0, sizeof res);
      if (ss->api.prepare_extracted_statement(ss->con, ex, i, st) != DK_OK) {
        const char *m = *st ? ss->api.prepare_error(*st) : NULL;
        snprintf(err, cap, "%s", m ? m : "DuckDB could not prepare a statement");
        rc = OSIRIS_ESQL;
      } else if (ss->api.execute_prepared(*st, &res) != DK_OK) {
        const char *m = ss->api.result_error(&res);
        snprintf(err, cap, "%s", m ? m : "DuckDB failed");
        rc = OSIRIS_ESQL;
      }
      ss->api.destroy_result(&res);
      if (*st) ss->api.destroy_prepare(st);
    }
    if (rc) {
    } else if (ss->api.prepare_extracted_statement(ss->con, ex, n - 1, st) != DK_OK) {
      const char *m = *st ? ss->api.prepare_error(*st) : NULL;
      snprintf(err, cap, "%s", m ? m : "DuckDB could not prepare the query");
      rc = OSIRIS_ESQL;
    } else if (ss->api.prepared_statement_type(*st) != DK_STATEMENT_SELECT) {
      snprintf(err, cap, "the query must end with one SELECT (or WITH / FROM / VALUES / PIVOT) "
               "that returns rows; other statements are refused there");
      rc = OSIRIS_ESQL;
    }
  }
  if (rc && *st) ss->api.destroy_prepare(st);
  if (ex) ss->api.destroy_extracted(&ex);
  return rc;
}

/* Per result column: how its values enter the frame. */
typedef struct drv_dk_col {
  drv_dk_type type;
  osiris_type ft; /* frame type */
  int scale;
  int wide;       /* UBIGINT/HUGEINT/UHUGEINT: int64 until a value does not fit */
} drv_dk_col;

static osiris_rc drv_dk_plan(drv_dk_session *ss, dk_result *res, drv_dk_col *cols, size_t n,
                             char *err, size_t cap) {
  size_t c;
  for (c = 0; c < n; c++) {
    dk_ltype lt = ss->api.column_logical_type(res, c);
    drv_dk_col *o = &cols[c];
    int ok = lt && drv_dk_type_build(&ss->api, lt, &o->type, 0);
    if (lt) ss->api.destroy_logical_type(&lt);
    if (!ok) {
      snprintf(err, cap, "result column %s: type too deeply nested (or out of memory)",
               ss->api.column_name(res, c));
      return OSIRIS_ELIMIT;
    }
    switch (o->type.id) {
      case DK_BOOLEAN: o->ft = OSIRIS_TYPE_BOOL; break;
      case DK_TINYINT: case DK_SMALLINT: case DK_INTEGER: case DK_BIGINT:
      case DK_UTINYINT: case DK_USMALLINT: case DK_UINTEGER: o->ft = OSIRIS_TYPE_INT64; break;
      case DK_UBIGINT: case DK_HUGEINT: case DK_UHUGEINT: o->ft = OSIRIS_TYPE_INT64; o->wide = 1; break;
      case DK_FLOAT: case DK_DOUBLE: o->ft = OSIRIS_TYPE_DOUBLE; break;
      case DK_DECIMAL: o->ft = OSIRIS_TYPE_DECIMAL; o->scale = o->type.scale; break;
      case DK_DATE: o->ft = OSIRIS_TYPE_DATE; break;
      case DK_TIMESTAMP: case DK_TIMESTAMP_S: case DK_TIMESTAMP_MS: case DK_TIMESTAMP_NS:
      case DK_TIMESTAMP_TZ: o->ft = OSIRIS_TYPE_TIMESTAMP; break;
      case DK_VARCHAR: case DK_BLOB: case DK_ENUM: case DK_UUID: case DK_TIME: case DK_TIME_TZ:
      case DK_INTERVAL: case DK_LIST: case DK_ARRAY: case DK_STRUCT: case DK_MAP: case DK_UNION:
        o->ft = OSIRIS_TYPE_STRING;
        break;
      default:
        snprintf(err, cap, "result column %s: DuckDB's %s type has no osiris equivalent; "
                 "CAST it (e.g. to VARCHAR) in the query", ss->api.column_name(res, c),
                 drv_dk_type_name(o->type.id));
        return OSIRIS_ESQL;
    }
  }
  return OSIRIS_OK;
}

/* Unique result column names: a repeated name gets "_1", "_2", ... */
static char **drv_dk_names(drv_dk_session *ss, dk_result *res, size_t n) {
  char **names = osiris_calloc(n ? n : 1, sizeof *names);
  size_t c, k;
  if (!names) return NULL;
  for (c = 0; c < n; c++) {
    const char *base = ss->api.column_name(res, c);
    int suffix = 0, clash;
    char buf[512];
    if (!base) base = "";
    snprintf(buf, sizeof buf, "%s", base);
    do {
      clash = 0;
      for (k = 0; k < c && !clash; k++) clash = strcmp(names[k], buf) == 0;
      if (clash) snprintf(buf, sizeof buf, "%s_%d", base, ++suffix);
    } while (clash);
    if (!(names[c] = osiris_strdup(buf))) {
      for (k = 0; k < c; k++) osiris_free(names[k]);
      osiris_free(names);
      return NULL;
    }
  }
  return names;
}

/* A wide integer column met a value beyond int64: rebuild the frame with
 * that column as an exact decimal of scale 0 (drv_sql_retype). */
static osiris_rc drv_dk_widen(osiris_frame **fp, size_t col) {
  size_t c, ncols = osiris_frame_cols(*fp);
  drv_sql_out *outs = osiris_calloc(ncols ? ncols : 1, sizeof *outs);
  char **names = osiris_calloc(ncols ? ncols : 1, sizeof *names);
  osiris_rc rc = outs && names ? OSIRIS_OK : OSIRIS_ENOMEM;
  for (c = 0; c < ncols && !rc; c++) {
    names[c] = (char *)osiris_frame_col_name(*fp, c); /* borrowed: retype copies them */
    outs[c].type = c == col ? OSIRIS_TYPE_DECIMAL : osiris_frame_col_type(*fp, c);
    outs[c].scale = c == col ? 0 : osiris_frame_col_scale(*fp, c);
  }
  if (!rc) rc = drv_sql_retype(fp, names, outs, ncols);
  osiris_free(outs);
  osiris_free(names);
  return rc;
}

/* Append value `row` of vector v to column c of the row being built. */
static osiris_rc drv_dk_put(drv_dk_session *ss, osiris_frame **fp, drv_dk_col *o, size_t c,
                            dk_vector v, dk_idx row, osiris_buf *scratch, char *err, size_t cap) {
  const void *data = ss->api.vector_get_data(v);
  osiris_frame *f = *fp;
  int64_t ts;
  if (!drv_dk_valid(ss->api.vector_get_validity(v), row)) return osiris_frame_append_null(f, c);
  switch (o->type.id) {
    case DK_BOOLEAN: return osiris_frame_append_bool(f, c, ((const bool *)data)[row]);
    case DK_TINYINT: return osiris_frame_append_int64(f, c, ((const int8_t *)data)[row]);
    case DK_SMALLINT: return osiris_frame_append_int64(f, c, ((const int16_t *)data)[row]);
    case DK_INTEGER: return osiris_frame_append_int64(f, c, ((const int32_t *)data)[row]);
    case DK_BIGINT: return osiris_frame_append_int64(f, c, ((const int64_t *)data)[row]);
    case DK_UTINYINT: return osiris_frame_append_int64(f, c, ((const uint8_t *)data)[row]);
    case DK_USMALLINT: return osiris_frame_append_int64(f, c, ((const uint16_t *)data)[row]);
    case DK_UINTEGER: return osiris_frame_append_int64(f, c, ((const uint32_t *)data)[row]);
    case DK_UBIGINT: case DK_HUGEINT: case DK_UHUGEINT: {
      int fits;
      int64_t x = 0;
      if (o->type.id == DK_UBIGINT) {
        uint64_t u = ((const uint64_t *)data)[row];
        fits = u <= (uint64_t)INT64_MAX;
        x = (int64_t)u;
      } else {
        const dk_hugeint *h = &((const dk_hugeint *)data)[row];
        fits = o->type.id == DK_HUGEINT ? (h->upper == 0 && h->lower <= (uint64_t)INT64_MAX) ||
                                              (h->upper == -1 && h->lower >= (UINT64_C(1) << 63))
                                        : h->upper == 0 && h->lower <= (uint64_t)INT64_MAX;
        x = (int64_t)h->lower;
      }
      if (fits && o->ft == OSIRIS_TYPE_INT64) return osiris_frame_append_int64(f, c, x);
      if (o->ft == OSIRIS_TYPE_INT64) {
        /* the row being built must be finished after the rebuild: the
         * caller builds rows column by column, so widen before any cell
         * of this row was appended (drv_dk_fetch checks a row first). */
        return OSIRIS_ELIMIT;
      }
      scratch->len = 0;
      if (!drv_dk_text(&ss->api, scratch, v, &o->type, row, 0) || scratch->oom) return OSIRIS_ENOMEM;
      return osiris_frame_append_text(f, c, scratch->p, scratch->len);
    }
    case DK_FLOAT: return osiris_frame_append_double(f, c, ((const float *)data)[row]);
    case DK_DOUBLE: return osiris_frame_append_double(f, c, ((const double *)data)[row]);
    case DK_DATE: {
      int32_t d = ((const int32_t *)data)[row];
      if (d == INT32_MAX || d == -INT32_MAX) {
        snprintf(err, cap, "result column %s: an infinite date has no osiris value; CAST it to VARCHAR",
                 osiris_frame_col_name(f, c));
        return OSIRIS_EINVAL;
      }
      return osiris_frame_append_date(f, c, d);
    }
    case DK_TIMESTAMP: case DK_TIMESTAMP_TZ: case DK_TIMESTAMP_S: case DK_TIMESTAMP_MS: case DK_TIMESTAMP_NS:
      ts = ((const int64_t *)data)[row];
      if (ts == INT64_MAX || ts == -INT64_MAX) {
        snprintf(err, cap, "result column %s: an infinite timestamp has no osiris value; CAST it to VARCHAR",
                 osiris_frame_col_name(f, c));
        return OSIRIS_EINVAL;
      }
      if (o->type.id == DK_TIMESTAMP_S) {
        if (ts > INT64_MAX / 1000000 || ts < INT64_MIN / 1000000) return OSIRIS_EINVAL;
        ts *= 1000000;
      } else if (o->type.id == DK_TIMESTAMP_MS) {
        if (ts > INT64_MAX / 1000 || ts < INT64_MIN / 1000) return OSIRIS_EINVAL;
        ts *= 1000;
      } else if (o->type.id == DK_TIMESTAMP_NS) {
        ts = drv_floor_div(ts, 1000);
      }
      return osiris_frame_append_timestamp(f, c, ts);
    case DK_VARCHAR: {
      size_t len;
      const char *p = drv_dk_str(&((const dk_string *)data)[row], &len);
      return osiris_frame_append_text(f, c, p, len);
    }
    default:
      scratch->len = 0;
      if (scratch->p) scratch->p[0] = 0;
      if (!drv_dk_text(&ss->api, scratch, v, &o->type, row, 0)) {
        snprintf(err, cap, "result column %s: a value osiris cannot show", osiris_frame_col_name(f, c));
        return OSIRIS_ESQL;
      }
      if (scratch->oom) return OSIRIS_ENOMEM;
      return osiris_frame_append_text(f, c, scratch->p ? scratch->p : "", scratch->len);
  }
}

/* 1 when value `row` of a wide column does not fit int64. */
static int drv_dk_beyond_int64(drv_dk_session *ss, const drv_dk_col *o, dk_vector v, dk_idx row) {
  const void *data = ss->api.vector_get_data(v);
  if (!drv_dk_valid(ss->api.vector_get_validity(v), row)) return 0;
  if (o->type.id == DK_UBIGINT) return ((const uint64_t *)data)[row] > (uint64_t)INT64_MAX;
  {
    const dk_hugeint *h = &((const dk_hugeint *)data)[row];
    if (o->type.id == DK_UHUGEINT) return !(h->upper == 0 && h->lower <= (uint64_t)INT64_MAX);
    return !((h->upper == 0 && h->lower <= (uint64_t)INT64_MAX) ||
             (h->upper == -1 && h->lower >= (UINT64_C(1) << 63)));
  }
}

/* Run the prepared query, polling for cancellation between tasks, and
 * build the output frame from its chunks. */
static osiris_rc drv_dk_run_query(drv_dk_session *ss, dk_prepared st, osiris_step *s,
                                  osiris_frame **out, char *err, size_t cap) {
  dk_pending pend = NULL;
  dk_result res;
  dk_chunk chunk = NULL;
  drv_dk_col *cols = NULL;
  char **names = NULL;
  osiris_frame *f = NULL;
  osiris_buf scratch = {0};
  size_t ncols = 0, c;
  int state, interrupted = 0, have_res = 0;
  osiris_rc rc = OSIRIS_OK;
  memset(&res, 0, sizeof res);
  *out = NULL;
  if (ss->api.pending_prepared(st, &pend) != DK_OK) {
    const char *m = pend ? ss->api.pending_error(pend) : NULL;
    snprintf(err, cap, "%s", m ? m : "DuckDB could not start the query");
    rc = OSIRIS_ESQL;
    goto done;
  }
  for (;;) {
    state = ss->api.pending_execute_task(pend);
    if (state == DK_PENDING_READY || state == DK_PENDING_ERROR) break;
    if (!interrupted && s && osiris_step_cancelled(s)) {
      ss->api.interrupt(ss->con);
      interrupted = 1;
    }
    if (state == DK_PENDING_NO_TASKS) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  if (state == DK_PENDING_ERROR || ss->api.execute_pending(pend, &res) != DK_OK) {
    const char *m = state == DK_PENDING_ERROR ? ss->api.pending_error(pend) : ss->api.result_error(&res);
    have_res = state != DK_PENDING_ERROR;
    if (interrupted) {
      snprintf(err, cap, "interrupted");
      rc = OSIRIS_ECANCEL;
    } else {
      snprintf(err, cap, "%s", m ? m : "DuckDB failed");
      rc = OSIRIS_ESQL;
    }
    goto done;
  }
  have_res = 1;
  ncols = ss->api.column_count(&res);
  cols = osiris_calloc(ncols ? ncols : 1, sizeof *cols);
  names = drv_dk_names(ss, &res, ncols);
  f = osiris_frame_new();
  if (!cols || !names || !f) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  rc = drv_dk_plan(ss, &res, cols, ncols, err, cap);
  for (c = 0; c < ncols && !rc; c++)
    rc = osiris_frame_add_column(f, names[c], cols[c].ft, cols[c].scale);
  while (!rc && (chunk = ss->api.fetch_chunk(res)) != NULL) {
    dk_idx rows = ss->api.data_chunk_get_size(chunk), r;
    if (rows == 0) {
      ss->api.destroy_data_chunk(&chunk);
      break;
    }
    for (r = 0; r < rows && !rc; r++) {
      for (c = 0; c < ncols && !rc; c++) /* wide values first: a rebuild sees whole rows */
        if (cols[c].wide && cols[c].ft == OSIRIS_TYPE_INT64 &&
            drv_dk_beyond_int64(ss, &cols[c], ss->api.data_chunk_get_vector(chunk, c), r)) {
          rc = drv_dk_widen(&f, c);
          cols[c].ft = OSIRIS_TYPE_DECIMAL;
          cols[c].scale = 0;
        }
      for (c = 0; c < ncols && !rc; c++)
        rc = drv_dk_put(ss, &f, &cols[c], c, ss->api.data_chunk_get_vector(chunk, c), r, &scratch, err, cap);
      if (!rc) rc = osiris_frame_end_row(f);
    }
    ss->api.destroy_data_chunk(&chunk);
    if (!rc && s && osiris_step_cancelled(s)) {
      snprintf(err, cap, "interrupted");
      rc = OSIRIS_ECANCEL;
    }
  }
  if (!rc && have_res && ss->api.result_error(&res)) {
    snprintf(err, cap, "%s", ss->api.result_error(&res));
    rc = OSIRIS_ESQL;
  }
  if (rc && !err[0]) snprintf(err, cap, "%s", osiris_rc_name(rc));
  if (!rc) {
    *out = f;
    f = NULL;
  }
done:
  if (have_res) ss->api.destroy_result(&res);
  if (pend) ss->api.destroy_pending(&pend);
  for (c = 0; cols && c < ncols; c++) drv_dk_type_free(&cols[c].type);
  for (c = 0; names && c < ncols; c++) osiris_free(names[c]);
  osiris_free(cols);
  osiris_free(names);
  osiris_buf_free(&scratch);
  osiris_frame_free(f);
  return rc;
}

/* ---- the driver ---- */

static const osiris_config_key drv_dk_keys[] = {
    {"query", NULL, OSIRIS_KEY_REQUIRED,
     "one SQL query (DuckDB dialect) over the upstream tables df_<step id>, df, input_df",
     OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"threads", NULL, OSIRIS_KEY_RANGE,
     "DuckDB worker threads for this step (default: every core)", OSIRIS_KT_INT, NULL, 1, 1024, NULL},
    {"memory_limit", NULL, 0,
     "DuckDB's memory limit for this step, e.g. '2GB' (default: 80% of RAM); beyond it DuckDB "
     "spills to a temporary directory in the run directory", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

/* <run dir>/tmp/duckdb-<step>: the artifacts directory is
 * <run dir>/artifacts/<step>, and DuckDB's spill files are not artifacts.
 * *out NULL (DuckDB's default) only when the step has no run directory;
 * out of memory fails the step instead of spilling outside the run. */
static osiris_rc drv_dk_tmpdir(osiris_step *s, char **out) {
  const char *adir = osiris_step_artifacts_dir(s);
  char *run = osiris_strdup(adir ? adir : ""), *slash, *tmp = NULL;
  int k;
  *out = NULL;
  if (!run) return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
  for (k = 0; k < 2 && (slash = strrchr(run, '/')) != NULL; k++) *slash = 0;
  if (k == 2 && *run) {
    size_t n = strlen(run) + strlen(osiris_step_id(s)) + 32;
    if ((tmp = osiris_malloc(n)) == NULL) {
      osiris_free(run);
      return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    }
    snprintf(tmp, n, "%s/tmp", run);
    mkdir(tmp, 0700);
    snprintf(tmp, n, "%s/tmp/duckdb-%s", run, osiris_step_id(s));
  }
  osiris_free(run);
  *out = tmp;
  return OSIRIS_OK;
}

/* Load the step's inputs: a table per distinct frame (streamed batch by
 * batch when the runner streams the one input), views for other names. */
static osiris_rc drv_dk_load_inputs(drv_dk_session *ss, osiris_step *s, double *rows_read, char *err,
                                    size_t cap) {
  size_t i, j, n = osiris_step_input_count(s);
  drv_dk_loader ld;
  osiris_rc rc = OSIRIS_OK;
  *rows_read = 0;
  memset(&ld, 0, sizeof ld);
  if (n && osiris_step_streamed(s)) {
    const osiris_frame *b = NULL;
    const char *first = NULL, *name = NULL;
    int64_t done = 0;
    rc = osiris_step_next(s, &b);
    if (!rc && b) rc = drv_dk_loader_begin(ss, &ld, "osiris_input_0", b, err, cap);
    while (!rc && b) {
      rc = drv_dk_append(&ss->api, ld.app, b, ld.chunk, err, cap);
      done += (int64_t)osiris_frame_rows(b);
      *rows_read += (double)osiris_frame_rows(b);
      osiris_step_progress(s, done);
      if (!rc) rc = osiris_step_next(s, &b);
    }
    if (!rc) rc = drv_dk_loader_close(ss, &ld, err, cap);
    drv_dk_loader_end(ss, &ld);
    if (rc == OSIRIS_ECANCEL && !err[0]) snprintf(err, cap, "the upstream step failed or the run was interrupted");
    for (i = 0; !rc && i < n; i++) {
      (void)osiris_step_input(s, i, &name); /* all consumed: names only */
      if (!name) continue;
      if (!first) {
        osiris_buf q = {0};
        first = name;
        osiris_buf_puts(&q, "ALTER TABLE osiris_input_0 RENAME TO ");
        drv_buf_ident(&q, name);
        rc = q.oom ? OSIRIS_ENOMEM : drv_dk_exec(ss, q.p, err, cap);
        osiris_buf_free(&q);
      } else {
        rc = drv_dk_alias(ss, name, first, err, cap);
      }
    }
    return rc;
  }
  for (i = 0; i < n && !rc; i++) {
    const char *name = NULL, *prev = NULL;
    const osiris_frame *f = osiris_step_input(s, i, &name);
    if (!f || !name) {
      snprintf(err, cap, "upstream input %zu is missing", i);
      return OSIRIS_EINVAL;
    }
    for (j = 0; j < i && !prev; j++) {
      const char *pn = NULL;
      if (osiris_step_input(s, j, &pn) == f) prev = pn;
    }
    if (prev) {
      rc = drv_dk_alias(ss, name, prev, err, cap);
      continue;
    }
    *rows_read += (double)osiris_frame_rows(f);
    rc = drv_dk_loader_begin(ss, &ld, name, f, err, cap);
    if (!rc) rc = drv_dk_append(&ss->api, ld.app, f, ld.chunk, err, cap);
    if (!rc) rc = drv_dk_loader_close(ss, &ld, err, cap);
    drv_dk_loader_end(ss, &ld);
  }
  return rc;
}

static osiris_rc drv_dk_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  const char *query = NULL, *memory_limit = NULL;
  int64_t threads = 0;
  drv_dk_session ss;
  dk_prepared st = NULL;
  osiris_frame *f = NULL;
  char err[DRV_ERR_CAP], *tmpdir = NULL;
  double rows_read = 0;
  osiris_rc rc;

  memset(&ss, 0, sizeof ss);
  err[0] = 0;
  rc = drv_cfg_str(s, cfg, "query", NULL, &query);
  if (!rc) rc = drv_cfg_str(s, cfg, "memory_limit", NULL, &memory_limit);
  if (!rc) rc = drv_cfg_int(s, cfg, "threads", 0, 1, &threads);
  if (rc) goto done;
  if (!query || !*drv_sql_skip_tail(query)) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL, "config.query is required (one SQL query)");
    goto done;
  }
  drv_warn_unknown_keys(s, cfg, drv_dk_keys);
  if ((rc = drv_dk_tmpdir(s, &tmpdir)) != OSIRIS_OK) goto done;
  rc = drv_dk_open(&ss, threads, memory_limit, tmpdir, err, sizeof err);
  if (!rc) {
    osiris_step_log(s, 1, "duckdb: %s (DuckDB %s), threads=%s, memory_limit=%s, temp_directory=%s",
                    ss.lib, ss.api.library_version(), threads > 0 ? "set" : "default",
                    memory_limit ? memory_limit : "default", tmpdir ? tmpdir : "default");
    rc = drv_dk_load_inputs(&ss, s, &rows_read, err, sizeof err);
  }
  if (!rc) rc = drv_dk_exec(&ss, "SET lock_configuration = true", err, sizeof err);
  if (!rc) rc = drv_dk_prepare(&ss, query, &st, 1, err, sizeof err);
  if (!rc) rc = drv_dk_run_query(&ss, st, s, &f, err, sizeof err);
  rc = drv_sql_finish(s, rc, err, rows_read, &f);
done:
  if (st) ss.api.destroy_prepare(&st);
  drv_dk_close(&ss);
  osiris_free(tmpdir);
  osiris_frame_free(f);
  return rc;
}

/* check(): DuckDB loads here, and a query in obj parses (DuckDB's parser
 * only: the tables do not exist yet).  With OSIRIS_DRIVER_PREFLIGHT obj is
 * a step's config, checked before any step runs; for `connections doctor`
 * it is a duckdb connection (no query). */
static osiris_rc drv_dk_check(const osiris_json *obj, char *err, size_t cap) {
  drv_dk_session ss;
  dk_prepared st = NULL;
  const char *q = osiris_json_str(osiris_json_get(obj, "query"));
  osiris_rc rc = drv_dk_open(&ss, 1, NULL, NULL, err, cap);
  if (!rc && q) rc = drv_dk_prepare(&ss, q, &st, 0, err, cap);
  if (st) ss.api.destroy_prepare(&st);
  drv_dk_close(&ss);
  return rc;
}

static const osiris_driver drv_dk_processor = {
    "duckdb.processor", "duckdb", "transform",
    "Transform upstream frames with one SQL query on DuckDB (loaded at run time from libduckdb.so)",
    drv_dk_keys, drv_dk_run, drv_dk_check,
    OSIRIS_DRIVER_CONN_OPTIONAL | OSIRIS_DRIVER_STREAMS_IN | OSIRIS_DRIVER_PREFLIGHT |
        OSIRIS_DRIVER_DLOPEN};

/* The database drivers (MySQL/MariaDB, PostgreSQL/Supabase) live in their
 * own file while they grow; it is part of this translation unit. */
#include "db_drivers.inc"

/* ======================================================================
 * 4. Registration
 *
 * The only public function of this file.  Drivers are static tables, so
 * they outlive every context as osiris_register_driver requires.
 * ====================================================================== */

osiris_rc osiris_register_builtin_drivers(osiris_ctx *ctx) {
  osiris_rc rc;
  if ((rc = osiris_register_driver(ctx, &drv_csv_extractor, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_csv_writer, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_pq_extractor, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_pq_writer, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_sql_processor, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_dk_processor, NULL)) != OSIRIS_OK) return rc;
  return drv_db_register(ctx);
}
