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
 *   3c. GraphQL            graphql.extractor over osiris_step_http: cursor
 *                          pagination, data_path, flattening, two passes
 *   3d. PostHog            posthog.extractor: the HogQL query API, paged by
 *                          key, incremental with a state in the artifacts
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

/* The pandas dtype names the extractor's dtype key takes (the key's
 * allowed values; drv_csv_dtype maps them onto frame types). */
#define DRV_CSV_DTYPES                                                                            \
  "int64|int32|int16|int8|int|uint64|uint32|uint16|uint8|Int64|Int32|Int16|Int8|float64|float32|" \
  "float16|float|Float64|Float32|double|string|str|object|category|bool|boolean|datetime64|"     \
  "datetime64[ns]|datetime64[us]|datetime64[ns, UTC]|datetime|timestamp|date"

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
    {"comment", NULL, 0, "lines starting with this character are skipped (whole lines only; later in a line it is data)", OSIRIS_KT_CHAR, NULL, 0, 0, NULL},
    {"dtype", NULL, 0, "column types forced, {column: type} with pandas names: int64 (int*, uint*), float64 (float*), string (str, object, category), bool, datetime64 (timestamp), date; every value must parse", OSIRIS_KT_OBJECT, DRV_CSV_DTYPES, 0, 0, NULL},
    {"connection", NULL, 0, "@filesystem.alias: relative paths resolve against its base_dir", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
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

/* The frame type of a pandas dtype name (one of DRV_CSV_DTYPES, any
 * case); 0 when it is not one. */
static int drv_csv_dtype(const char *name, osiris_type *out) {
  const char *p = DRV_CSV_DTYPES;
  size_t n = strlen(name);
  for (;;) {
    size_t k = strcspn(p, "|");
    if (k == n && strncasecmp(p, name, n) == 0) break;
    if (!p[k]) return 0;
    p += k + 1;
  }
  if (strncasecmp(name, "int", 3) == 0 || strncasecmp(name, "uint", 4) == 0)
    *out = OSIRIS_TYPE_INT64;
  else if (strncasecmp(name, "float", 5) == 0 || drv_ieq(name, "double"))
    *out = OSIRIS_TYPE_DOUBLE;
  else if (strncasecmp(name, "bool", 4) == 0)
    *out = OSIRIS_TYPE_BOOL;
  else if (strncasecmp(name, "datetime", 8) == 0 || drv_ieq(name, "timestamp"))
    *out = OSIRIS_TYPE_TIMESTAMP;
  else if (drv_ieq(name, "date"))
    *out = OSIRIS_TYPE_DATE;
  else
    *out = OSIRIS_TYPE_STRING; /* string, str, object, category */
  return 1;
}

/* config.dtype as the reader's two parallel lists (owned by the caller,
 * NULL when the key is absent). */
static osiris_rc drv_csv_dtypes(osiris_step *s, const osiris_json *cfg, const char ***cols,
                                osiris_type **types) {
  const osiris_json *dv = drv_cfg_get(cfg, "dtype");
  size_t i, n = osiris_json_size(dv);
  *cols = NULL;
  *types = NULL;
  if (!dv) return OSIRIS_OK;
  if (osiris_json_kind_of(dv) != OSIRIS_JSON_OBJECT)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.dtype must be a mapping {column: type}");
  *cols = osiris_calloc(n + 1, sizeof **cols);
  *types = osiris_calloc(n + 1, sizeof **types);
  if (!*cols || !*types) return OSIRIS_ENOMEM;
  for (i = 0; i < n; i++) {
    const char *t = osiris_json_str(osiris_json_at(dv, i));
    (*cols)[i] = osiris_json_key_at(dv, i);
    if (!t || !drv_csv_dtype(t, &(*types)[i]))
      return osiris_step_fail(s, OSIRIS_EINVAL,
                              "config.dtype.%s: \"%s\" is not a dtype this reader knows (int64, "
                              "float64, string, bool, datetime64, date)",
                              (*cols)[i], t ? t : "(not a string)");
  }
  return OSIRIS_OK;
}

/* config.comment: one ASCII character that cannot start a record. */
static osiris_rc drv_csv_comment(osiris_step *s, const osiris_json *cfg, char delim, char *out) {
  const char *c;
  osiris_rc rc = drv_cfg_str(s, cfg, "comment", "", &c);
  *out = 0;
  if (rc || !c[0]) return rc;
  if (strlen(c) != 1 || (unsigned char)c[0] >= 0x80 || c[0] == '"' || c[0] == '\r' ||
      c[0] == '\n' || c[0] == (delim ? delim : ','))
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.comment must be one ASCII character other than the delimiter "
                            "and '\"' (got \"%s\")", c);
  *out = c[0];
  return OSIRIS_OK;
}

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
  const char **columns = NULL, **na_values = NULL, **dtype_cols = NULL;
  osiris_type *dtype_types = NULL;
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
  if ((rc = drv_csv_comment(s, cfg, o.delimiter, &o.comment)) != OSIRIS_OK) goto done;
  if ((rc = drv_csv_dtypes(s, cfg, &dtype_cols, &dtype_types)) != OSIRIS_OK) goto done;
  o.dtype_cols = dtype_cols;
  o.dtype_types = dtype_types;

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
  osiris_free(dtype_cols);
  osiris_free(dtype_types);
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
    if (rc == OSIRIS_ENOMEM || !err[0])
      rc = osiris_step_fail(s, rc, "%s: %s", abs, err[0] ? err : "cannot read the Parquet file");
    else
      rc = osiris_step_fail(s, rc, "%s", err); /* names the file */
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
  snprintf(err, cap, "this binary is fully static and cannot load DuckDB: use sql.processor (SQLite, "
           "built in), or run with the dynamically linked osiris (a remote run of a pipeline with "
           "duckdb.processor uses osiris-worker-dyn with libduckdb.so beside it)");
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
 * 3c. GraphQL: graphql.extractor
 *
 * One GraphQL query POSTed to an endpoint ({"query","variables"}), page
 * after page when pagination_enabled: the cursor found at
 * pagination_path.<pagination_cursor_field> goes into the variable
 * pagination_variable_name of the next request, while
 * pagination_path.<pagination_has_next_field> is true, at most max_pages
 * pages (0: no limit).  The records are found at data_path (dotted, with
 * [*] and [N]: "data.products.edges[*].node"); an array gives one row per
 * item, an object one row.  flatten_result turns nested objects into
 * "a.b" columns (pandas' json_normalize); lists, and objects when not
 * flattening, become JSON text.
 *
 * Types are stable across pages because they are decided over every row
 * of every page before the first row goes out, as the CSV reader does:
 * pass 1 fetches the pages, appends each record as one JSON line to an
 * unlinked spool file and widens each column's type (bool, int64, double,
 * string; int64 + double is double, any other mix and any object or list
 * is string as JSON text; a column that is null everywhere is string);
 * pass 2 reads the spool back into the frame with osiris_step_flush after
 * every row.  Memory holds one response and one batch, whatever the
 * number of pages; a later page with a wider value (2.5 after 10, 20)
 * widens the whole column, and a column first seen on a later page is
 * null on the rows before it.
 *
 * HTTP goes through osiris_step_http: max_retries + 1 attempts, retry_delay
 * as the first wait, 429/5xx/network errors retried.  A response other
 * than 200, a body that is not a JSON object, and a non-empty "errors"
 * array (also in a 200 response) fail the step with the server's message.
 * Credentials: auth_token and auth_username are secret keys (compile drops
 * them from cfg, as every secret), so they come from the connection
 * (@graphql.alias in osiris_connections.yaml, where ${VAR} works);
 * headers may come from the connection and from the config, where a value
 * "${VAR}" is read from the environment (a literal credential-looking
 * header is refused).  Every header value is scrubbed from the run's files
 * by osiris_step_http.  Memory comes from osiris_malloc and osiris_buf (the
 * engine's allocator, so its fault injection reaches this section too).
 * ====================================================================== */

#define DRV_GQ_MAX_COLS 4096
#define DRV_GQ_MAX_PATH 64 /* path segments */
#define DRV_GQ_UA "Osiris GraphQL Extractor/1.0" /* 0.5.7's User-Agent */

static const osiris_config_key drv_gq_keys[] = {
    {"endpoint", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_CONN, "GraphQL API endpoint URL (https://, or http:// to loopback)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"query", NULL, OSIRIS_KEY_REQUIRED, "GraphQL query string", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"variables", "{}", 0, "GraphQL query variables (an object)", OSIRIS_KT_OBJECT, NULL, 0, 0, NULL},
    {"headers", "{}", OSIRIS_KEY_CONN, "extra HTTP headers (an object of strings; a value \"${VAR}\" is read from the environment)", OSIRIS_KT_OBJECT, NULL, 0, 0, NULL},
    {"auth_type", "\"none\"", OSIRIS_KEY_CONN, "authentication: none, bearer, basic (auth_username + auth_token) or api_key", OSIRIS_KT_STRING, "none|bearer|basic|api_key", 0, 0, NULL},
    {"auth_token", NULL, OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET, "bearer token, basic password or API key (from the connection)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"auth_username", NULL, OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET, "user name of basic authentication (from the connection)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"auth_header_name", "\"X-API-Key\"", OSIRIS_KEY_CONN, "header that carries the API key (auth_type api_key)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"timeout", "30", OSIRIS_KEY_RANGE, "seconds per request", OSIRIS_KT_INT, NULL, 5, 300, NULL},
    {"max_retries", "3", OSIRIS_KEY_RANGE, "retries of a request after 429, 5xx or a network error", OSIRIS_KT_INT, NULL, 0, 10, NULL},
    {"retry_delay", "1.0", OSIRIS_KEY_RANGE, "seconds before the first retry; doubles per retry (with jitter, at most 60 s)", OSIRIS_KT_NUMBER, NULL, 0.1, 60.0, NULL},
    {"pagination_enabled", "false", 0, "follow the cursor at pagination_path page after page", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"pagination_path", "\"data.pageInfo\"", 0, "path of the page info object in the response", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"pagination_cursor_field", "\"endCursor\"", 0, "cursor field of the page info", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"pagination_has_next_field", "\"hasNextPage\"", 0, "has-next field of the page info", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"pagination_variable_name", "\"after\"", 0, "variable that receives the cursor for the next page", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"max_pages", "0", OSIRIS_KEY_RANGE, "pages to fetch at most (0: no limit)", OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL},
    {"data_path", "\"data\"", 0, "path of the records in the response (dotted, [*] and [N]; \"\": the whole response)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"flatten_result", "true", 0, "nested objects become a.b columns (false: JSON text)", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"validate_ssl", "true", 0, "verify the server's TLS certificate", OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

/* ---------------------------------------------------------- paths */

/* One step of a path: a member name, or [*] (every item / member), or [N]. */
typedef struct drv_gq_seg {
  char *name; /* malloc'd; NULL for an index step */
  int all;    /* [*] */
  long index; /* [N] (>= 0) */
} drv_gq_seg;

typedef struct drv_gq_path {
  drv_gq_seg seg[DRV_GQ_MAX_PATH];
  size_t n;
} drv_gq_path;

static void drv_gq_path_free(drv_gq_path *p) {
  size_t i;
  for (i = 0; i < p->n; i++) osiris_free(p->seg[i].name);
  p->n = 0;
}

/* Parse "a.b[*].c", "$.a[0]", "" (the whole document).  0 ok, -1 bad. */
static int drv_gq_path_parse(const char *s, drv_gq_path *p) {
  p->n = 0;
  if (s[0] == '$') s += s[1] == '.' ? 2 : 1;
  while (*s) {
    drv_gq_seg *g;
    if (p->n == DRV_GQ_MAX_PATH) goto bad;
    g = &p->seg[p->n];
    memset(g, 0, sizeof *g);
    if (*s == '[') {
      const char *e = strchr(s, ']');
      if (!e) goto bad;
      if (e == s + 2 && s[1] == '*') {
        g->all = 1;
      } else {
        char *end;
        if (e == s + 1 || !isdigit((unsigned char)s[1])) goto bad;
        g->index = strtol(s + 1, &end, 10);
        if (end != e) goto bad;
      }
      p->n++;
      s = e + 1;
      if (*s == '.') s++;
      continue;
    }
    {
      size_t n = strcspn(s, ".[");
      if (n == 0) goto bad;
      if (n == 1 && *s == '*') {
        g->all = 1;
      } else {
        g->name = osiris_malloc(n + 1);
        if (!g->name) goto bad;
        memcpy(g->name, s, n);
        g->name[n] = 0;
      }
      p->n++;
      s += n;
      if (*s == '.') {
        s++;
        if (!*s) goto bad;
      }
    }
  }
  return 0;
bad:
  drv_gq_path_free(p);
  return -1;
}

/* Borrowed matches of a path. */
typedef struct drv_gq_matches {
  const osiris_json **v;
  size_t n, cap;
  int oom;
} drv_gq_matches;

static void drv_gq_match_add(drv_gq_matches *m, const osiris_json *v) {
  if (m->oom) return;
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    const osiris_json **nv = osiris_realloc(m->v, cap * sizeof *nv);
    if (!nv) {
      m->oom = 1;
      return;
    }
    m->v = nv;
    m->cap = cap;
  }
  m->v[m->n++] = v;
}

/* Depth is bounded by the path's DRV_GQ_MAX_PATH segments. */
static void drv_gq_eval(const osiris_json *v, const drv_gq_path *p, size_t i, drv_gq_matches *m) {
  const drv_gq_seg *g;
  osiris_json_kind k = osiris_json_kind_of(v);
  size_t j;
  if (!v) return;
  if (i == p->n) {
    drv_gq_match_add(m, v);
    return;
  }
  g = &p->seg[i];
  if (g->name) {
    if (k == OSIRIS_JSON_OBJECT) drv_gq_eval(osiris_json_get(v, g->name), p, i + 1, m);
  } else if (g->all) {
    if (k == OSIRIS_JSON_ARRAY || k == OSIRIS_JSON_OBJECT)
      for (j = 0; j < osiris_json_size(v); j++) drv_gq_eval(osiris_json_at(v, j), p, i + 1, m);
  } else if (k == OSIRIS_JSON_ARRAY && (size_t)g->index < osiris_json_size(v)) {
    drv_gq_eval(osiris_json_at(v, (size_t)g->index), p, i + 1, m);
  }
}

/* ---------------------------------------------------------- columns */

enum { DRV_GQ_NULL = 0, DRV_GQ_BOOL, DRV_GQ_INT, DRV_GQ_DOUBLE, DRV_GQ_TEXT };

typedef struct drv_gq_col {
  char *name;
  int kind; /* DRV_GQ_*: the widest seen so far */
} drv_gq_col;

typedef struct drv_gq_schema {
  drv_gq_col *cols;
  size_t n, cap;
  size_t hint; /* where the last lookup matched: records repeat their key order */
} drv_gq_schema;

static void drv_gq_schema_free(drv_gq_schema *sc) {
  size_t i;
  for (i = 0; i < sc->n; i++) osiris_free(sc->cols[i].name);
  osiris_free(sc->cols);
  memset(sc, 0, sizeof *sc);
}

/* The column index of name, added when new (add 0: SIZE_MAX when absent).
 * SIZE_MAX - 1: out of memory or too many columns. */
static size_t drv_gq_col_find(drv_gq_schema *sc, const char *name, int add) {
  size_t i;
  for (i = 0; i < sc->n; i++) {
    size_t j = (sc->hint + i) % sc->n;
    if (strcmp(sc->cols[j].name, name) == 0) {
      sc->hint = j + 1;
      return j;
    }
  }
  if (!add) return SIZE_MAX;
  if (sc->n == DRV_GQ_MAX_COLS) return SIZE_MAX - 1;
  if (sc->n == sc->cap) {
    size_t cap = sc->cap ? sc->cap * 2 : 16;
    drv_gq_col *nc = osiris_realloc(sc->cols, cap * sizeof *nc);
    if (!nc) return SIZE_MAX - 1;
    sc->cols = nc;
    sc->cap = cap;
  }
  sc->cols[sc->n].name = osiris_strdup(name);
  if (!sc->cols[sc->n].name) return SIZE_MAX - 1;
  sc->cols[sc->n].kind = DRV_GQ_NULL;
  sc->hint = sc->n + 1;
  return sc->n++;
}

static int drv_gq_kind_of(const osiris_json *v) {
  switch (osiris_json_kind_of(v)) {
  case OSIRIS_JSON_NULL: return DRV_GQ_NULL;
  case OSIRIS_JSON_BOOL: return DRV_GQ_BOOL;
  case OSIRIS_JSON_INT: return DRV_GQ_INT;
  case OSIRIS_JSON_DOUBLE: return DRV_GQ_DOUBLE;
  default: return DRV_GQ_TEXT;
  }
}

/* The type that holds both: null is neutral, int + double is double,
 * any other mix is text. */
static int drv_gq_widen(int a, int b) {
  if (a == b || b == DRV_GQ_NULL) return a;
  if (a == DRV_GQ_NULL) return b;
  if ((a == DRV_GQ_INT && b == DRV_GQ_DOUBLE) || (a == DRV_GQ_DOUBLE && b == DRV_GQ_INT))
    return DRV_GQ_DOUBLE;
  return DRV_GQ_TEXT;
}

/* Visit the cells of one record: fn(user, column name, value).  A record
 * that is not an object is one cell named "value".  With flatten, nested
 * objects recurse as "a.b" (an empty object is a null cell, like pandas);
 * the name buffer bounds the nesting. */
typedef int (*drv_gq_cell_fn)(void *user, const char *name, const osiris_json *v);

static int drv_gq_cells(const osiris_json *v, int flatten, osiris_buf *name, int depth,
                        drv_gq_cell_fn fn, void *user) {
  size_t i, mark = name->len;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_OBJECT)
    return depth == 0 ? fn(user, "value", v) : fn(user, name->p, v);
  if (depth > 0 && (!flatten || osiris_json_size(v) == 0 || depth > 32)) {
    return fn(user, name->p, osiris_json_size(v) ? v : NULL);
  }
  for (i = 0; i < osiris_json_size(v); i++) {
    int r;
    if (depth > 0) osiris_buf_put(name, ".", 1);
    osiris_buf_puts(name, osiris_json_key_at(v, i));
    if (name->oom) return -1;
    r = drv_gq_cells(osiris_json_at(v, i), flatten, name, depth + 1, fn, user);
    name->len = mark;
    if (name->p) name->p[mark] = 0;
    if (r) return r;
  }
  return 0;
}

/* Pass 1: widen the columns a record touches. */
static int drv_gq_learn_cell(void *user, const char *name, const osiris_json *v) {
  drv_gq_schema *sc = user;
  size_t c = drv_gq_col_find(sc, name, 1);
  if (c == SIZE_MAX - 1) return -1;
  sc->cols[c].kind = drv_gq_widen(sc->cols[c].kind, drv_gq_kind_of(v));
  return 0;
}

/* Pass 2: the cells of the row being built, by column. */
typedef struct drv_gq_row {
  drv_gq_schema *sc;
  const osiris_json **cell; /* per column, borrowed, NULL: null */
} drv_gq_row;

static int drv_gq_row_cell(void *user, const char *name, const osiris_json *v) {
  drv_gq_row *r = user;
  size_t c = drv_gq_col_find(r->sc, name, 0);
  if (c < r->sc->n) r->cell[c] = v;
  return 0;
}

/* ---------------------------------------------------------- the step */

typedef struct drv_gq {
  osiris_step *s;
  const osiris_json *cfg, *conn;
  const char *endpoint, *query, *auth_type, *auth_header;
  const char *data_path, *pg_path, *pg_cursor, *pg_has_next, *pg_var;
  int paginate, flatten, validate_ssl;
  int64_t timeout, max_retries, max_pages;
  double retry_delay;
  char **headers;           /* "Name: value" lines, malloc'd, NULL-terminated */
  size_t n_headers;
  drv_gq_path data, pinfo;
  drv_gq_schema sc;
  FILE *spool;
  int64_t requests, pages, rows;
} drv_gq;

/* A config value, else the connection's (keys flagged OSIRIS_KEY_CONN). */
static const osiris_json *drv_gq_get(const drv_gq *g, const char *key) {
  const osiris_json *v = drv_cfg_get(g->cfg, key);
  return v ? v : drv_cfg_get(g->conn, key);
}

static osiris_rc drv_gq_str(drv_gq *g, const char *key, const char *dflt, const char **out) {
  const osiris_json *v = drv_gq_get(g, key);
  *out = dflt;
  if (!v) return OSIRIS_OK;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_STRING ||
      strlen(osiris_json_str(v)) != osiris_json_strlen(v))
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.%s must be a string%s", key,
                            drv_cfg_get(g->cfg, key) ? "" : " (in the connection)");
  *out = osiris_json_str(v);
  return OSIRIS_OK;
}

/* A header name that says its value is a credential. */
static int drv_gq_secret_header(const char *name) {
  static const char *const parts[] = {"auth", "key", "token", "secret", "password", "cookie",
                                      "session", "credential", "signature", NULL};
  char low[128];
  size_t i, n = strlen(name);
  if (n >= sizeof low) return 1;
  for (i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)name[i]);
  for (i = 0; parts[i]; i++)
    if (strstr(low, parts[i])) return 1;
  return 0;
}

static osiris_rc drv_gq_add_header(drv_gq *g, const char *name, const char *value) {
  size_t i, nl = strlen(name), vl = strlen(value);
  char *line, **nh;
  if (!nl || strcspn(name, ":\r\n \t") != nl || strcspn(value, "\r\n") != vl)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.headers: \"%s\" is not a valid header", name);
  line = osiris_malloc(nl + vl + 3);
  if (!line) return osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
  memcpy(line, name, nl);
  memcpy(line + nl, ": ", 2);
  memcpy(line + nl + 2, value, vl + 1);
  /* A later header of the same name replaces the earlier one. */
  for (i = 0; i < g->n_headers; i++)
    if (strncasecmp(g->headers[i], name, nl) == 0 && g->headers[i][nl] == ':') {
      memset(g->headers[i], 0, strlen(g->headers[i]));
      osiris_free(g->headers[i]);
      g->headers[i] = line;
      return OSIRIS_OK;
    }
  nh = osiris_realloc(g->headers, (g->n_headers + 2) * sizeof *nh);
  if (!nh) {
    osiris_free(line);
    return osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
  }
  g->headers = nh;
  g->headers[g->n_headers++] = line;
  g->headers[g->n_headers] = NULL;
  return OSIRIS_OK;
}

/* The headers of an object (from_conn: of the connection).  A config
 * value "${VAR}" is read from the environment; a literal value of a
 * credential-looking header in the config is refused (compiled files
 * would hold it). */
static osiris_rc drv_gq_headers_of(drv_gq *g, const osiris_json *obj, int from_conn) {
  size_t i;
  osiris_rc rc;
  if (!obj) return OSIRIS_OK;
  if (osiris_json_kind_of(obj) != OSIRIS_JSON_OBJECT)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.headers must be an object of strings%s",
                            from_conn ? " (in the connection)" : "");
  for (i = 0; i < osiris_json_size(obj); i++) {
    const char *name = osiris_json_key_at(obj, i), *val = osiris_json_str(osiris_json_at(obj, i));
    char var[256];
    size_t n;
    if (!val)
      return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.headers.%s must be a string%s", name,
                              from_conn ? " (in the connection)" : "");
    n = strlen(val);
    if (!from_conn && n > 3 && val[0] == '$' && val[1] == '{' && val[n - 1] == '}' &&
        n - 3 < sizeof var) {
      const char *env;
      memcpy(var, val + 2, n - 3);
      var[n - 3] = 0;
      env = osiris_step_getenv(g->s, var);
      if (!env || !*env)
        return osiris_step_fail(g->s, OSIRIS_ECONN, "config.headers.%s: environment variable %s is not set",
                                name, var);
      if ((rc = osiris_step_add_secret(g->s, env)) != OSIRIS_OK)
        return osiris_step_fail(g->s, rc, "out of memory");
      val = env;
    } else if (!from_conn && drv_gq_secret_header(name) && *val) {
      return osiris_step_fail(g->s, OSIRIS_EINVAL,
                              "config.headers.%s: a credential must not be written in the pipeline; "
                              "put it in the connection (headers of @graphql.<alias>) or use \"${VAR}\"",
                              name);
    }
    if ((rc = drv_gq_add_header(g, name, val)) != OSIRIS_OK) return rc;
  }
  return OSIRIS_OK;
}

static const char drv_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "Basic " + base64(user:password), malloc'd. */
static char *drv_gq_basic(const char *user, const char *password) {
  size_t ul = strlen(user), pl = strlen(password), n = ul + 1 + pl, i, o = 6;
  unsigned char *raw = osiris_malloc(n + 1);
  char *out = raw ? osiris_malloc(6 + (n + 2) / 3 * 4 + 1) : NULL;
  if (!out) {
    osiris_free(raw);
    return NULL;
  }
  memcpy(raw, user, ul);
  raw[ul] = ':';
  memcpy(raw + ul + 1, password, pl);
  memcpy(out, "Basic ", 6);
  for (i = 0; i < n; i += 3) {
    unsigned v = (unsigned)raw[i] << 16 | (i + 1 < n ? (unsigned)raw[i + 1] << 8 : 0) |
                 (i + 2 < n ? raw[i + 2] : 0);
    out[o++] = drv_b64[v >> 18 & 63];
    out[o++] = drv_b64[v >> 12 & 63];
    out[o++] = i + 1 < n ? drv_b64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? drv_b64[v & 63] : '=';
  }
  out[o] = 0;
  memset(raw, 0, n);
  osiris_free(raw);
  return out;
}

/* The auth header of auth_type, then the connection's headers, then the
 * config's (a later header of the same name wins, as in 0.5.7). */
static osiris_rc drv_gq_auth(drv_gq *g) {
  const char *token = NULL, *user = NULL;
  osiris_rc rc;
  if ((rc = drv_gq_str(g, "auth_token", NULL, &token)) || (rc = drv_gq_str(g, "auth_username", NULL, &user)) ||
      (rc = drv_gq_add_header(g, "User-Agent", DRV_GQ_UA)))
    return rc;
  if (drv_ieq(g->auth_type, "bearer") || drv_ieq(g->auth_type, "api_key")) {
    if (!token || !*token)
      return osiris_step_fail(g->s, OSIRIS_EINVAL,
                              "config.auth_token: %s authentication requires auth_token (a field of the "
                              "step's connection, e.g. auth_token: ${GRAPHQL_TOKEN})",
                              drv_ieq(g->auth_type, "bearer") ? "Bearer" : "API key");
    if (drv_ieq(g->auth_type, "bearer")) {
      size_t n = strlen(token);
      char *v = osiris_malloc(n + 8);
      if (!v) return osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
      memcpy(v, "Bearer ", 7);
      memcpy(v + 7, token, n + 1);
      rc = drv_gq_add_header(g, "Authorization", v);
      memset(v, 0, n + 7);
      osiris_free(v);
    } else {
      rc = drv_gq_add_header(g, g->auth_header, token);
    }
  } else if (drv_ieq(g->auth_type, "basic")) {
    char *v;
    if (!token || !*token || !user || !*user)
      return osiris_step_fail(g->s, OSIRIS_EINVAL,
                              "config.auth_username: Basic authentication requires both username and "
                              "password (auth_username and auth_token, fields of the step's connection)");
    v = drv_gq_basic(user, token);
    if (!v) return osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
    rc = drv_gq_add_header(g, "Authorization", v);
    memset(v, 0, strlen(v));
    osiris_free(v);
  } else if (!drv_ieq(g->auth_type, "none")) {
    return osiris_step_fail(g->s, OSIRIS_EINVAL,
                            "config.auth_type must be one of none, bearer, basic, api_key (got \"%s\")",
                            g->auth_type);
  } else if (token && *token) {
    osiris_step_log(g->s, 2, "config.auth_type is none: the connection's auth_token is not sent "
                             "(set auth_type: bearer, basic or api_key)");
  }
  if (rc) return rc;
  if (g->conn && (rc = drv_gq_headers_of(g, drv_cfg_get(g->conn, "headers"), 1))) return rc;
  if (drv_cfg_get(g->conn, "headers") && drv_cfg_get(g->cfg, "headers") &&
      osiris_json_size(drv_cfg_get(g->cfg, "headers")))
    osiris_step_log(g->s, 2, "config.headers: added to the connection's headers (the step's win)");
  return drv_gq_headers_of(g, drv_cfg_get(g->cfg, "headers"), 0);
}

static osiris_rc drv_gq_config(drv_gq *g) {
  osiris_rc rc;
  const osiris_json *rd, *vars;
  if ((rc = drv_gq_str(g, "endpoint", NULL, &g->endpoint)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "query", NULL, &g->query)) ||
      (rc = drv_gq_str(g, "auth_type", "none", &g->auth_type)) ||
      (rc = drv_gq_str(g, "auth_header_name", "X-API-Key", &g->auth_header)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "data_path", "data", &g->data_path)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "pagination_path", "data.pageInfo", &g->pg_path)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "pagination_cursor_field", "endCursor", &g->pg_cursor)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "pagination_has_next_field", "hasNextPage", &g->pg_has_next)) ||
      (rc = drv_cfg_str(g->s, g->cfg, "pagination_variable_name", "after", &g->pg_var)) ||
      (rc = drv_cfg_bool(g->s, g->cfg, "pagination_enabled", 0, &g->paginate)) ||
      (rc = drv_cfg_bool(g->s, g->cfg, "flatten_result", 1, &g->flatten)) ||
      (rc = drv_cfg_bool(g->s, g->cfg, "validate_ssl", 1, &g->validate_ssl)) ||
      (rc = drv_cfg_int(g->s, g->cfg, "timeout", 30, 5, &g->timeout)) ||
      (rc = drv_cfg_int(g->s, g->cfg, "max_retries", 3, 0, &g->max_retries)) ||
      (rc = drv_cfg_int(g->s, g->cfg, "max_pages", 0, 0, &g->max_pages)))
    return rc;
  if (!g->endpoint || !*g->endpoint)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.endpoint is required (in the step or its connection)");
  if (strncmp(g->endpoint, "https://", 8) != 0 && strncmp(g->endpoint, "http://", 7) != 0)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.endpoint must be an http:// or https:// URL");
  if (!g->query || !*g->query) return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.query is required");
  if (g->timeout > 300) return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.timeout must be 5..300");
  if (g->max_retries > 10) return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.max_retries must be 0..10");
  rd = drv_cfg_get(g->cfg, "retry_delay");
  g->retry_delay = rd ? osiris_json_num(rd, -1) : 1.0;
  if (rd && ((osiris_json_kind_of(rd) != OSIRIS_JSON_INT && osiris_json_kind_of(rd) != OSIRIS_JSON_DOUBLE) ||
             !(g->retry_delay >= 0.1 && g->retry_delay <= 60.0)))
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.retry_delay must be a number of seconds, 0.1..60");
  vars = drv_cfg_get(g->cfg, "variables");
  if (vars && osiris_json_kind_of(vars) != OSIRIS_JSON_OBJECT)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.variables must be an object");
  if (g->paginate && (!*g->pg_path || !*g->pg_cursor || !*g->pg_var || !*g->pg_has_next))
    return osiris_step_fail(g->s, OSIRIS_EINVAL,
                            "config.pagination_path: Pagination requires pagination_path, cursor_field, "
                            "has_next_field and variable_name");
  if (drv_gq_path_parse(g->data_path, &g->data))
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.data_path: \"%s\" is not a path (a.b[*].c)",
                            g->data_path);
  if (g->paginate && drv_gq_path_parse(g->pg_path, &g->pinfo))
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.pagination_path: \"%s\" is not a path (a.b.pageInfo)",
                            g->pg_path);
  if (strchr(g->auth_header, ':') || !*g->auth_header)
    return osiris_step_fail(g->s, OSIRIS_EINVAL, "config.auth_header_name must be a header name");
  return drv_gq_auth(g);
}

/* "msg1; msg2" of a GraphQL errors array, at most cap bytes. */
static void drv_gq_errors_text(const osiris_json *errs, char *out, size_t cap) {
  size_t i, o = 0;
  out[0] = 0;
  for (i = 0; i < osiris_json_size(errs) && o + 1 < cap; i++) {
    const osiris_json *e = osiris_json_at(errs, i);
    const char *m = osiris_json_str(osiris_json_get(e, "message"));
    char *dump = NULL;
    int n;
    if (!m) m = dump = osiris_json_dump(e, 0, NULL);
    n = snprintf(out + o, cap - o, "%s%s", i ? "; " : "", m ? m : "?");
    osiris_free(dump);
    if (n < 0) break;
    o += (size_t)n;
  }
}

/* Spool the records of one response and widen the schema; *n the records. */
static osiris_rc drv_gq_take_records(drv_gq *g, const osiris_json *doc, size_t *n) {
  drv_gq_matches m = {0};
  const osiris_json *result = NULL;
  osiris_json *joined = NULL;
  size_t i, count = 0;
  osiris_rc rc = OSIRIS_OK;
  osiris_buf name = {0};
  *n = 0;
  drv_gq_eval(doc, &g->data, 0, &m);
  if (m.oom) rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
  if (!rc && m.n == 0)
    osiris_step_log(g->s, 2, "page %" PRId64 ": no data at data_path \"%s\"", g->pages, g->data_path);
  if (!rc && m.n == 1) result = m.v[0];
  if (!rc && m.n > 1) { /* several matches: lists concatenated, else the list of matches */
    int all_lists = 1;
    joined = osiris_json_new(OSIRIS_JSON_ARRAY);
    for (i = 0; i < m.n; i++)
      if (osiris_json_kind_of(m.v[i]) != OSIRIS_JSON_ARRAY) all_lists = 0;
    for (i = 0; joined && !rc && i < m.n; i++) {
      size_t j;
      if (!all_lists) {
        rc = osiris_json_push(joined, osiris_json_copy(m.v[i]));
        continue;
      }
      for (j = 0; !rc && j < osiris_json_size(m.v[i]); j++)
        rc = osiris_json_push(joined, osiris_json_copy(osiris_json_at(m.v[i], j)));
    }
    if (!joined || rc) rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
    result = joined;
  }
  if (!rc && result) {
    int is_list = osiris_json_kind_of(result) == OSIRIS_JSON_ARRAY;
    size_t total = is_list ? osiris_json_size(result) : 1;
    /* 0.5.7 keeps a page only when its data is truthy: no row for null or {} */
    if (!is_list && (osiris_json_kind_of(result) == OSIRIS_JSON_NULL ||
                     (osiris_json_kind_of(result) == OSIRIS_JSON_OBJECT && osiris_json_size(result) == 0)))
      total = 0;
    for (i = 0; !rc && i < total; i++) {
      const osiris_json *rec = is_list ? osiris_json_at(result, i) : result;
      char *line = osiris_json_dump(rec, 0, NULL);
      if (!line) {
        rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
        break;
      }
      if (fputs(line, g->spool) == EOF || fputc('\n', g->spool) == EOF)
        rc = osiris_step_fail(g->s, OSIRIS_EIO, "cannot write the page spool: %s", strerror(errno));
      osiris_free(line);
      if (!rc && drv_gq_cells(rec, g->flatten, &name, 0, drv_gq_learn_cell, &g->sc))
        rc = osiris_step_fail(g->s, g->sc.n == DRV_GQ_MAX_COLS ? OSIRIS_ELIMIT : OSIRIS_ENOMEM,
                              g->sc.n == DRV_GQ_MAX_COLS ? "more than %d columns" : "out of memory",
                              DRV_GQ_MAX_COLS);
      count++;
    }
  }
  osiris_buf_free(&name);
  osiris_json_free(joined);
  osiris_free(m.v);
  *n = count;
  return rc;
}

/* Pass 1: every page into the spool.  Per page: (1) stop at max_pages,
 * (2) the body {"query","variables"}, (3) osiris_step_http with the retry
 * policy, (4) judge the answer: not 200, not a JSON object, or "errors"
 * fail the step, (5) the records at data_path into the spool and the
 * schema, (6) with pagination, the page info: stop without a next page,
 * fail on a cursor that did not move, else set the cursor variable. */
static osiris_rc drv_gq_fetch(drv_gq *g) {
  osiris_json *vars = NULL;
  char *last_cursor = NULL;
  osiris_buf resp = {0};
  osiris_rc rc = OSIRIS_OK;
  const osiris_json *v0 = drv_cfg_get(g->cfg, "variables");
  vars = v0 ? osiris_json_copy(v0) : osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!vars) return osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
  for (;;) {
    osiris_json *req, *doc = NULL;
    const osiris_json *errs, *info, *cursor;
    drv_gq_matches m = {0};
    osiris_http_req q;
    char what[64], perr[200], msg[1200];
    char *body = NULL;
    size_t body_len = 0, nrec = 0;
    long status = 0;
    int sent = 0, has_next;
    if (g->max_pages > 0 && g->pages >= g->max_pages) {
      osiris_step_log(g->s, 1, "max_pages %" PRId64 " reached", g->max_pages);
      break;
    }
    req = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!req || osiris_json_set(req, "query", osiris_json_new_str(g->query, strlen(g->query))) ||
        osiris_json_set(req, "variables", osiris_json_copy(vars)) ||
        !(body = osiris_json_dump(req, 0, &body_len))) {
      osiris_json_free(req);
      rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
      break;
    }
    osiris_json_free(req);
    memset(&q, 0, sizeof q);
    snprintf(what, sizeof what, "graphql page %" PRId64, g->pages + 1);
    q.method = "POST";
    q.url = g->endpoint;
    q.headers = (const char *const *)g->headers;
    q.body = body;
    q.body_len = body_len;
    q.timeout_s = (long)g->timeout;
    q.attempts = (int)g->max_retries + 1;
    q.backoff_ms = (long)(g->retry_delay * 1000);
    q.backoff_max_ms = q.backoff_ms > 60000 ? q.backoff_ms : 60000;
    q.insecure = !g->validate_ssl;
    q.what = what;
    q.sent = &sent;
    rc = osiris_step_http(g->s, &q, &status, &resp);
    osiris_free(body);
    g->requests += sent;
    if (rc) break;
    if (resp.len && osiris_json_parse(resp.p, resp.len, &doc, perr, sizeof perr) == OSIRIS_OK &&
        osiris_json_kind_of(doc) != OSIRIS_JSON_OBJECT) {
      osiris_json_free(doc);
      doc = NULL;
      snprintf(perr, sizeof perr, "not a JSON object");
    }
    errs = osiris_json_get(doc, "errors");
    if (status != 200) {
      if (osiris_json_size(errs)) drv_gq_errors_text(errs, msg, sizeof msg);
      else snprintf(msg, sizeof msg, "%.300s", resp.len ? resp.p : "(empty body)");
      rc = osiris_step_fail(g->s, OSIRIS_EDRIVER, "GraphQL API request failed: HTTP %ld from config.endpoint "
                            "(page %" PRId64 ", %d request%s): %s%s", status, g->pages + 1, sent,
                            sent == 1 ? "" : "s", msg,
                            status == 401 || status == 403 ? " (check the credentials of auth_type and the connection)" : "");
      osiris_json_free(doc);
      break;
    }
    if (!doc) {
      rc = osiris_step_fail(g->s, OSIRIS_EPARSE, "GraphQL API response (page %" PRId64 ") is not JSON: %s",
                            g->pages + 1, perr);
      break;
    }
    if (osiris_json_kind_of(errs) == OSIRIS_JSON_ARRAY && osiris_json_size(errs) > 0) {
      drv_gq_errors_text(errs, msg, sizeof msg);
      rc = osiris_step_fail(g->s, OSIRIS_EDRIVER, "GraphQL errors (page %" PRId64 "): %s", g->pages + 1, msg);
      osiris_json_free(doc);
      break;
    }
    g->pages++;
    rc = drv_gq_take_records(g, doc, &nrec);
    osiris_step_log(g->s, 1, "page %" PRId64 ": %zu record%s", g->pages, nrec, nrec == 1 ? "" : "s");
    g->rows += (int64_t)nrec;
    if (rc || !g->paginate) {
      osiris_json_free(doc);
      break;
    }
    drv_gq_eval(doc, &g->pinfo, 0, &m);
    info = m.n ? m.v[0] : NULL;
    osiris_free(m.v);
    if (osiris_json_kind_of(info) != OSIRIS_JSON_OBJECT) {
      osiris_step_log(g->s, 2, "no pagination info at pagination_path \"%s\"; stopping", g->pg_path);
      osiris_json_free(doc);
      break;
    }
    has_next = osiris_json_bool(osiris_json_get(info, g->pg_has_next), 0);
    cursor = osiris_json_get(info, g->pg_cursor);
    if (!has_next || osiris_json_kind_of(cursor) == OSIRIS_JSON_NULL || !cursor) {
      osiris_json_free(doc);
      break;
    }
    {
      char *c = osiris_json_dump(cursor, 0, NULL);
      int same = c && last_cursor && strcmp(c, last_cursor) == 0;
      osiris_free(last_cursor);
      last_cursor = c;
      if (same) {
        rc = osiris_step_fail(g->s, OSIRIS_EDRIVER,
                              "GraphQL pagination: the cursor at %s.%s did not change after page %" PRId64
                              " (the query must use $%s)", g->pg_path, g->pg_cursor, g->pages, g->pg_var);
        osiris_json_free(doc);
        break;
      }
    }
    rc = osiris_json_set(vars, g->pg_var, osiris_json_copy(cursor));
    osiris_json_free(doc);
    if (rc) {
      rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
      break;
    }
  }
  osiris_free(last_cursor);
  osiris_buf_free(&resp);
  osiris_json_free(vars);
  return rc;
}

/* One cell into column c of kind k. */
static osiris_rc drv_gq_append(osiris_frame *f, size_t c, int k, const osiris_json *v) {
  char *text;
  osiris_rc rc;
  if (!v || osiris_json_kind_of(v) == OSIRIS_JSON_NULL) return osiris_frame_append_null(f, c);
  switch (k) {
  case DRV_GQ_BOOL: return osiris_frame_append_bool(f, c, osiris_json_bool(v, 0));
  case DRV_GQ_INT: return osiris_frame_append_int64(f, c, osiris_json_int(v, 0));
  case DRV_GQ_DOUBLE: return osiris_frame_append_double(f, c, osiris_json_num(v, 0));
  default: break;
  }
  if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING)
    return osiris_frame_append_text(f, c, osiris_json_str(v), osiris_json_strlen(v));
  text = osiris_json_dump(v, 0, NULL);
  if (!text) return OSIRIS_ENOMEM;
  rc = osiris_frame_append_text(f, c, text, strlen(text));
  osiris_free(text);
  return rc;
}

/* Pass 2: the spool into the frame, flushed row by row. */
static osiris_rc drv_gq_build(drv_gq *g, osiris_frame **out) {
  osiris_frame *f = osiris_frame_new();
  drv_gq_row row;
  osiris_buf name = {0};
  char *line = NULL;
  size_t cap = 0, c;
  ssize_t len;
  int64_t done = 0;
  osiris_rc rc = OSIRIS_OK;
  row.sc = &g->sc;
  row.cell = osiris_calloc(g->sc.n + 1, sizeof *row.cell);
  if (!f || !row.cell) {
    rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (c = 0; !rc && c < g->sc.n; c++) {
    static const osiris_type types[] = {OSIRIS_TYPE_STRING, OSIRIS_TYPE_BOOL, OSIRIS_TYPE_INT64,
                                        OSIRIS_TYPE_DOUBLE, OSIRIS_TYPE_STRING};
    rc = osiris_frame_add_column(f, g->sc.cols[c].name, types[g->sc.cols[c].kind], 0);
    if (rc) rc = osiris_step_fail(g->s, rc, "cannot add column %s", g->sc.cols[c].name);
  }
  if (!rc && fseek(g->spool, 0, SEEK_SET) != 0)
    rc = osiris_step_fail(g->s, OSIRIS_EIO, "cannot read the page spool: %s", strerror(errno));
  while (!rc && (len = getline(&line, &cap, g->spool)) > 0) {
    osiris_json *rec = NULL;
    if (osiris_json_parse(line, (size_t)len, &rec, NULL, 0) != OSIRIS_OK) {
      rc = osiris_step_fail(g->s, OSIRIS_EIO, "the page spool is corrupt");
      break;
    }
    memset(row.cell, 0, g->sc.n * sizeof *row.cell);
    drv_gq_cells(rec, g->flatten, &name, 0, drv_gq_row_cell, &row);
    for (c = 0; !rc && c < g->sc.n; c++) rc = drv_gq_append(f, c, g->sc.cols[c].kind, row.cell[c]);
    if (!rc) rc = osiris_frame_end_row(f);
    osiris_json_free(rec);
    if (rc) {
      rc = osiris_step_fail(g->s, rc, "row %" PRId64 ": cannot build the frame", done + 1);
      break;
    }
    done++;
    rc = osiris_step_flush(g->s, f);
    if (rc) rc = osiris_step_fail(g->s, rc, "the downstream step stopped");
    if ((done & 1023) == 0) osiris_step_progress(g->s, done);
  }
  if (!rc && name.oom) rc = osiris_step_fail(g->s, OSIRIS_ENOMEM, "out of memory");
  if (!rc && ferror(g->spool)) rc = osiris_step_fail(g->s, OSIRIS_EIO, "cannot read the page spool");
done:
  free(line); /* getline()'s, from libc */
  osiris_free(row.cell);
  osiris_buf_free(&name);
  if (rc) {
    osiris_frame_free(f);
    f = NULL;
  }
  *out = f;
  return rc;
}

/* An unlinked temporary file: gone when closed, whatever happens. */
static FILE *drv_gq_spool(void) {
  const char *dir = getenv("TMPDIR");
  char path[4096];
  int fd;
  FILE *fp;
  snprintf(path, sizeof path, "%s/osiris-graphql-XXXXXX", dir && *dir ? dir : "/tmp");
  fd = mkstemp(path);
  if (fd < 0) return NULL;
  unlink(path);
  fp = fdopen(fd, "w+");
  if (!fp) close(fd);
  return fp;
}

static osiris_rc drv_gq_run(osiris_step *s) {
  drv_gq g;
  osiris_frame *f = NULL;
  osiris_rc rc;
  size_t i;
  memset(&g, 0, sizeof g);
  g.s = s;
  g.cfg = osiris_step_config(s);
  g.conn = osiris_step_connection(s);
  drv_warn_unknown_keys(s, g.cfg, drv_gq_keys);
  rc = drv_gq_config(&g);
  if (!rc && !(g.spool = drv_gq_spool()))
    rc = osiris_step_fail(s, OSIRIS_EIO, "cannot create a temporary file: %s", strerror(errno));
  if (!rc) rc = drv_gq_fetch(&g);
  if (!rc) rc = drv_gq_build(&g, &f);
  /* 0.5.7's order; the request counts also when the step failed */
  if (!rc) osiris_step_metric(s, "rows_read", (double)g.rows, "rows");
  osiris_step_metric(s, "requests_made", (double)g.requests, "requests");
  osiris_step_metric(s, "pages_fetched", (double)g.pages, "pages");
  if (!rc) osiris_step_set_output(s, f);
  if (g.spool) fclose(g.spool);
  drv_gq_path_free(&g.data);
  drv_gq_path_free(&g.pinfo);
  drv_gq_schema_free(&g.sc);
  for (i = 0; i < g.n_headers; i++) {
    memset(g.headers[i], 0, strlen(g.headers[i]));
    osiris_free(g.headers[i]);
  }
  osiris_free(g.headers);
  return rc;
}

static const osiris_driver drv_gq_extractor = {
    "graphql.extractor", "graphql", "extract",
    "Extract records from a GraphQL API: variables, headers, auth, cursor pagination, flattening",
    drv_gq_keys, drv_gq_run, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};

/* ======================================================================
 * 3d. PostHog: posthog.extractor
 *
 * Reads one of PostHog's four HogQL tables (events, persons, sessions,
 * person_distinct_ids) through the query API, as PostHog's API reference
 * documents it (posthog.com/docs/api/queries, /docs/api/query):
 *   POST <base>/api/projects/<project_id>/query/
 *   Authorization: Bearer <personal API key>       (scope query:read)
 *   {"query": {"kind": "HogQLQuery", "query": "<HogQL>"}}
 *   -> 200 {"results": [[v, ...], ...], "columns": [name, ...],
 *           "types": [[name, ClickHouse type], ...], "hasMore": bool, ...}
 * Base: https://us.posthog.com, https://eu.posthog.com, or custom_base_url
 * for region self_hosted.
 *
 * Paging is by key (the reference's "use timestamp-based pagination
 * instead of offset"): each page is
 *   SELECT <cols> FROM <table>
 *   WHERE <time> >= toDateTime('<since>') AND <time> < toDateTime('<until>')
 *     [AND event IN (<event_types>)]
 *     [AND (<time> > toDateTime('<t>') OR (<time> = toDateTime('<t>') AND <key> > '<k>'))]
 *   ORDER BY <time> ASC, <key> ASC LIMIT <page_size>
 * with (t, k) the last row of the previous page, so rows that arrive while
 * the step pages never shift a page as OFFSET would.  A page ends the read
 * when hasMore is false (or, without hasMore, when it is not full).  Times
 * are sent as UTC ISO text with a Z, microseconds kept.  until is the
 * step's start, fixed for all pages.  person_distinct_ids has no time: it
 * is read whole, paged by distinct_id.
 *
 * Incremental state: the step always writes <artifacts>/state.json
 *   {"component", "data_type", "last_timestamp", "last_key",
 *    "lookback_window_minutes", "recent": [[time, key], ...]}
 * and reads such a file back from config.state_file when given (a missing
 * file is a first run, noted in the log and as an event).  With a state,
 * since = last_timestamp - lookback_window_minutes, so rows PostHog
 * ingested late are picked up; the rows read again in that window are
 * dropped by key (deduplication_enabled): "recent" holds the keys of the
 * rows of the last 60 minutes before last_timestamp, the longest window
 * the key allows, so a next run with a larger window still recognises
 * them (at most DRV_PH_RECENT_MAX, newest kept).  Without a state, since =
 * initial_since, else 30 days before now (the reference's default); the
 * window is not applied to initial_since.  Within a run a key equal to
 * the previous row's (a duplicate in PostHog's events table) is dropped
 * too.  The keys are events.uuid, persons.id, sessions.session_id (all
 * UUIDs) and person_distinct_ids.distinct_id.
 *
 * Columns are typed from the response's "types" (DateTime... -> timestamp,
 * Date -> date, [U]Int... -> int64, Float... and Decimal -> double, Bool ->
 * bool, else string; Nullable()/LowCardinality() unwrapped); a JSON object or
 * list value in a string column (properties) is kept as JSON text.
 * Rows go into the frame page by page (osiris_step_flush).  Metrics:
 * requests_made (retries included), pages_fetched, rows_read,
 * rows_deduplicated.  Requests go through osiris_step_http: 429, 5xx and
 * network errors are retried (DRV_PH_ATTEMPTS requests a page) with the
 * engine's backoff.  The API key comes from the step's connection (where
 * it may be ${VAR}; like every secret key it is stripped from compiled
 * cfg), travels only in the Authorization header, and is masked in
 * everything the run writes.
 * ====================================================================== */

#define DRV_PH_RECENT_MAX 100000                /* keys remembered for the next run */
#define DRV_PH_MAX_RESPONSE ((size_t)256 << 20) /* bytes of one page */
#define DRV_PH_DAY_US INT64_C(86400000000)
#define DRV_PH_KEEP_MINUTES 60 /* the largest lookback_window_minutes */
#define DRV_PH_ATTEMPTS 5      /* requests per page on 429/5xx/network errors, as 0.5.7 */

typedef struct drv_ph_kind {
  const char *data_type; /* config value, also the HogQL table */
  const char *columns;   /* SELECT list */
  const char *time_col;  /* incremental column; NULL: read whole */
  const char *key_col;   /* order tie-break, keyset and dedup key */
} drv_ph_kind;

static const drv_ph_kind drv_ph_kinds[] = {
    {"events", "uuid, event, timestamp, distinct_id, person_id, properties", "timestamp", "uuid"},
    {"persons", "id, created_at, properties, is_identified", "created_at", "id"},
    {"sessions", "*", "$start_timestamp", "session_id"},
    {"person_distinct_ids", "distinct_id, person_id", NULL, "distinct_id"},
};

/* ------------------------------------------------------------ key sets */

/* Open-addressing set of owned strings (the dedup keys of the last window). */
typedef struct drv_ph_set {
  char **slot;
  size_t cap, n;
} drv_ph_set;

static uint64_t drv_ph_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h;
}

static int drv_ph_set_has(const drv_ph_set *set, const char *s, size_t n) {
  size_t i;
  if (!set->cap) return 0;
  for (i = drv_ph_hash(s, n) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
    if (strlen(set->slot[i]) == n && memcmp(set->slot[i], s, n) == 0) return 1;
  return 0;
}

/* 0 ok (also when present), -1 out of memory. */
static int drv_ph_set_add(drv_ph_set *set, const char *s, size_t n) {
  size_t i;
  if (drv_ph_set_has(set, s, n)) return 0;
  if ((set->n + 1) * 2 > set->cap) {
    size_t cap = set->cap ? set->cap * 2 : 1024, j;
    char **slot = osiris_calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (j = 0; j < set->cap; j++) {
      char *k = set->slot[j];
      if (!k) continue;
      for (i = drv_ph_hash(k, strlen(k)) & (cap - 1); slot[i]; i = (i + 1) & (cap - 1)) {
      }
      slot[i] = k;
    }
    osiris_free(set->slot);
    set->slot = slot;
    set->cap = cap;
  }
  for (i = drv_ph_hash(s, n) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1)) {
  }
  if (!(set->slot[i] = osiris_strndup(s, n))) return -1;
  set->n++;
  return 0;
}

static void drv_ph_set_free(drv_ph_set *set) {
  size_t i;
  for (i = 0; i < set->cap; i++) osiris_free(set->slot[i]);
  osiris_free(set->slot);
  memset(set, 0, sizeof *set);
}

/* The newest (time, key) pairs, a ring of at most DRV_PH_RECENT_MAX. */
typedef struct drv_ph_recent {
  int64_t *ts;
  char **key;
  size_t head, n; /* oldest at head */
} drv_ph_recent;

static int drv_ph_recent_push(drv_ph_recent *r, int64_t ts, const char *key, size_t n) {
  size_t at;
  char *k;
  if (!r->ts) {
    r->ts = osiris_calloc(DRV_PH_RECENT_MAX, sizeof *r->ts);
    r->key = osiris_calloc(DRV_PH_RECENT_MAX, sizeof *r->key);
    if (!r->ts || !r->key) return -1;
  }
  if (!(k = osiris_strndup(key, n))) return -1;
  if (r->n == DRV_PH_RECENT_MAX) { /* full: the oldest goes */
    at = r->head;
    osiris_free(r->key[at]);
    r->head = (r->head + 1) % DRV_PH_RECENT_MAX;
  } else {
    at = (r->head + r->n++) % DRV_PH_RECENT_MAX;
  }
  r->ts[at] = ts;
  r->key[at] = k;
  return 0;
}

static void drv_ph_recent_free(drv_ph_recent *r) {
  size_t i;
  if (r->key)
    for (i = 0; i < r->n; i++) osiris_free(r->key[(r->head + i) % DRV_PH_RECENT_MAX]);
  osiris_free(r->ts);
  osiris_free(r->key);
  memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------- times */

/* Two ASCII digits at s into *out; 0 when they are not. */
static int drv_ph_2digits(const char *s, unsigned *out) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return 0;
  *out = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
  return 1;
}

/* ISO 8601 as PostHog prints it ("2024-01-15T10:30:00.123000+00:00", "...Z",
 * or naive = UTC) into microseconds since the epoch.  1 ok, 0 malformed. */
static int drv_ph_parse_time(const char *s, size_t n, int64_t *us) {
  int64_t off = 0;
  if (n >= 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':') {
    unsigned hh, mm;
    if (!drv_ph_2digits(s + n - 5, &hh) || !drv_ph_2digits(s + n - 2, &mm) || hh > 23 || mm > 59)
      return 0;
    off = ((int64_t)hh * 60 + mm) * 60 * 1000000;
    if (s[n - 6] == '-') off = -off;
    n -= 6;
  } else if (n >= 5 && n > 19 && (s[n - 5] == '+' || s[n - 5] == '-')) {
    unsigned hh, mm;
    if (!drv_ph_2digits(s + n - 4, &hh) || !drv_ph_2digits(s + n - 2, &mm) || hh > 23 || mm > 59)
      return 0;
    off = ((int64_t)hh * 60 + mm) * 60 * 1000000;
    if (s[n - 5] == '-') off = -off;
    n -= 5;
  }
  if (!osiris_parse_timestamp(s, n, OSIRIS_TS_SQLITE, us)) return 0;
  *us -= off;
  return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" (cap >= 40): what the queries and the
 * state file carry. */
static void drv_ph_fmt_time(int64_t us, char *buf, size_t cap) {
  int64_t days = drv_floor_div(us, DRV_PH_DAY_US);
  int64_t rem = us - days * DRV_PH_DAY_US;
  unsigned secs = (unsigned)(rem / 1000000), frac = (unsigned)(rem % 1000000);
  size_t n = osiris_format_date(buf, cap, days);
  if (n == 0 || cap - n < 24) return;
  snprintf(buf + n, cap - n, "T%02u:%02u:%02u.%06uZ", secs / 3600, secs / 60 % 60, secs % 60, frac);
}

static int64_t drv_ph_now_us(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ----------------------------------------------------------- the step */

typedef struct drv_ph {
  osiris_step *step;
  const drv_ph_kind *kind;
  const char *api_key, *project_id;
  char project_num[32];     /* project_id given as a number */
  osiris_buf url;           /* <base>/api/projects/<id>/query/ */
  const char **event_types; /* NULL-terminated, or NULL */
  int64_t page_size, lookback_min;
  int dedup;
  int64_t since, until; /* microseconds */
  int have_last;        /* a keyset position (from this run) */
  int64_t last_ts;      /* time of the last row read */
  char *last_key;       /* owned */
  int have_prev;        /* a state was read */
  int64_t prev_last_ts;
  char *prev_last_key;  /* owned */
  drv_ph_set seen;      /* keys of the previous window */
  drv_ph_recent recent; /* keys of this window, for the next run */
  char *prev_row_key;   /* owned: adjacent-duplicate check */
  osiris_frame *frame;
  size_t ncols, time_idx, key_idx;
  osiris_type *types; /* per column */
  int64_t requests, pages, rows_read, rows_dup, rows_out;
} drv_ph;

/* The data type's table entry, NULL when unknown. */
static const drv_ph_kind *drv_ph_kind_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof drv_ph_kinds / sizeof drv_ph_kinds[0]; i++)
    if (drv_ieq(drv_ph_kinds[i].data_type, name)) return &drv_ph_kinds[i];
  return NULL;
}

/* A config value given in the step or its connection (step wins). */
static const osiris_json *drv_ph_field(osiris_step *s, const char *key) {
  const osiris_json *v = drv_cfg_get(osiris_step_config(s), key);
  return v ? v : drv_cfg_get(osiris_step_connection(s), key);
}

/* A string key; numbuf (NULL: not allowed) receives the text of an
 * integer, for project_id: 12345 written unquoted in a connection file. */
static osiris_rc drv_ph_str(osiris_step *s, const char *key, const char **out, char *numbuf,
                            size_t numcap) {
  const osiris_json *v = drv_ph_field(s, key);
  *out = NULL;
  if (!v) return OSIRIS_OK;
  if (numbuf && osiris_json_kind_of(v) == OSIRIS_JSON_INT) {
    snprintf(numbuf, numcap, "%lld", (long long)osiris_json_int(v, 0));
    *out = numbuf;
    return OSIRIS_OK;
  }
  if (osiris_json_kind_of(v) != OSIRIS_JSON_STRING ||
      strlen(osiris_json_str(v)) != osiris_json_strlen(v))
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.%s must be a string", key);
  *out = osiris_json_str(v);
  return OSIRIS_OK;
}

/* Append s as a HogQL string literal. */
static void drv_ph_put_literal(osiris_buf *b, const char *s, size_t n) {
  size_t i;
  osiris_buf_putc(b, '\'');
  for (i = 0; i < n; i++) {
    if (s[i] == '\'' || s[i] == '\\') osiris_buf_putc(b, '\\');
    osiris_buf_putc(b, s[i]);
  }
  osiris_buf_putc(b, '\'');
}

static void drv_ph_put_time(osiris_buf *b, int64_t us) {
  char t[48];
  drv_ph_fmt_time(us, t, sizeof t);
  osiris_buf_printf(b, "toDateTime('%s')", t);
}

/* Column names of the kinds are HogQL identifiers as they stand ($ too). */
static void drv_ph_build_query(const drv_ph *p, osiris_buf *q) {
  const drv_ph_kind *k = p->kind;
  const char *and = " WHERE ";
  osiris_buf_printf(q, "SELECT %s FROM %s", k->columns, k->data_type);
  if (k->time_col) {
    osiris_buf_printf(q, " WHERE %s >= ", k->time_col);
    drv_ph_put_time(q, p->since);
    osiris_buf_printf(q, " AND %s < ", k->time_col);
    drv_ph_put_time(q, p->until);
    and = " AND ";
  }
  if (p->event_types && p->event_types[0]) {
    size_t i;
    osiris_buf_printf(q, "%sevent IN (", and);
    for (i = 0; p->event_types[i]; i++) {
      if (i) osiris_buf_puts(q, ", ");
      drv_ph_put_literal(q, p->event_types[i], strlen(p->event_types[i]));
    }
    osiris_buf_putc(q, ')');
    and = " AND ";
  }
  if (p->have_last) {
    if (k->time_col) {
      osiris_buf_printf(q, "%s(%s > ", and, k->time_col);
      drv_ph_put_time(q, p->last_ts);
      osiris_buf_printf(q, " OR (%s = ", k->time_col);
      drv_ph_put_time(q, p->last_ts);
      osiris_buf_printf(q, " AND %s > ", k->key_col);
      drv_ph_put_literal(q, p->last_key, strlen(p->last_key));
      osiris_buf_puts(q, "))");
    } else {
      osiris_buf_printf(q, "%s%s > ", and, k->key_col);
      drv_ph_put_literal(q, p->last_key, strlen(p->last_key));
    }
  }
  if (k->time_col)
    osiris_buf_printf(q, " ORDER BY %s ASC, %s ASC", k->time_col, k->key_col);
  else
    osiris_buf_printf(q, " ORDER BY %s ASC", k->key_col);
  osiris_buf_printf(q, " LIMIT %lld", (long long)p->page_size);
}

/* ------------------------------------------------------------ typing */

/* The frame type of a ClickHouse type as the API reports it. */
static osiris_type drv_ph_map_type(const char *ch) {
  for (;;) { /* unwrap Nullable(...) and LowCardinality(...) */
    if (strncmp(ch, "Nullable(", 9) == 0)
      ch += 9;
    else if (strncmp(ch, "LowCardinality(", 15) == 0)
      ch += 15;
    else
      break;
  }
  if (strncmp(ch, "DateTime", 8) == 0) return OSIRIS_TYPE_TIMESTAMP;
  if (strncmp(ch, "Date", 4) == 0) return OSIRIS_TYPE_DATE;
  if (strncmp(ch, "Int", 3) == 0 || strncmp(ch, "UInt", 4) == 0) return OSIRIS_TYPE_INT64;
  if (strncmp(ch, "Float", 5) == 0 || strncmp(ch, "Decimal", 7) == 0) return OSIRIS_TYPE_DOUBLE;
  if (strncmp(ch, "Bool", 4) == 0) return OSIRIS_TYPE_BOOL;
  return OSIRIS_TYPE_STRING;
}

/* The type text of column i from "types": [[name, type], ...] or [type, ...]. */
static const char *drv_ph_type_text(const osiris_json *types, size_t i) {
  const osiris_json *t = osiris_json_at(types, i);
  if (osiris_json_kind_of(t) == OSIRIS_JSON_ARRAY) return osiris_json_str(osiris_json_at(t, 1));
  return osiris_json_str(t);
}

/* Columns of the first page into the frame; later pages must match. */
static osiris_rc drv_ph_columns(drv_ph *p, const osiris_json *cols, const osiris_json *types) {
  osiris_step *s = p->step;
  size_t i, n = osiris_json_size(cols);
  int have_time = 0, have_key = 0;
  if (osiris_json_kind_of(cols) != OSIRIS_JSON_ARRAY || n == 0)
    return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog response has no \"columns\" list");
  if (p->types) {
    if (n != p->ncols)
      return osiris_step_fail(s, OSIRIS_EDRIVER,
                              "PostHog page %lld has %zu columns, the first had %zu",
                              (long long)p->pages, n, p->ncols);
    for (i = 0; i < n; i++) {
      const char *name = osiris_json_str(osiris_json_at(cols, i));
      if (!name || strcmp(name, osiris_frame_col_name(p->frame, i)) != 0)
        return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog page %lld: column %zu changed name",
                                (long long)p->pages, i + 1);
    }
    return OSIRIS_OK;
  }
  if (!(p->types = osiris_calloc(n, sizeof *p->types)))
    return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
  p->ncols = n;
  for (i = 0; i < n; i++) {
    const char *name = osiris_json_str(osiris_json_at(cols, i));
    const char *tt = drv_ph_type_text(types, i);
    osiris_type t;
    if (!name || !*name)
      return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog response: column %zu has no name", i + 1);
    if (tt)
      t = drv_ph_map_type(tt);
    else /* no types in the response: the time column is still a time */
      t = p->kind->time_col && strcmp(name, p->kind->time_col) == 0 ? OSIRIS_TYPE_TIMESTAMP
                                                                    : OSIRIS_TYPE_STRING;
    if (p->kind->time_col && strcmp(name, p->kind->time_col) == 0) {
      p->time_idx = i;
      have_time = 1;
      t = OSIRIS_TYPE_TIMESTAMP;
    }
    if (strcmp(name, p->kind->key_col) == 0) {
      p->key_idx = i;
      have_key = 1;
    }
    p->types[i] = t;
    if (osiris_frame_add_column(p->frame, name, t, 0))
      return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
  }
  if (!have_key || (p->kind->time_col && !have_time))
    return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog response for %s lacks the column %s",
                            p->kind->data_type, have_key ? p->kind->time_col : p->kind->key_col);
  return OSIRIS_OK;
}

/* Append one cell of column c, converted to the column's type. */
static osiris_rc drv_ph_cell(drv_ph *p, size_t c, const osiris_json *v, int64_t row) {
  osiris_frame *f = p->frame;
  osiris_json_kind k = osiris_json_kind_of(v);
  const char *str = osiris_json_str(v);
  size_t len = osiris_json_strlen(v);
  char *end;
  if (k == OSIRIS_JSON_NULL) return osiris_frame_append_null(f, c);
  switch (p->types[c]) {
  case OSIRIS_TYPE_TIMESTAMP: {
    int64_t us;
    if (str && drv_ph_parse_time(str, len, &us)) return osiris_frame_append_timestamp(f, c, us);
    break;
  }
  case OSIRIS_TYPE_DATE: {
    int64_t days;
    if (str && osiris_parse_date(str, len, &days))
      return osiris_frame_append_date(f, c, (int32_t)days);
    break;
  }
  case OSIRIS_TYPE_INT64:
    if (k == OSIRIS_JSON_INT) return osiris_frame_append_int64(f, c, osiris_json_int(v, 0));
    if (k == OSIRIS_JSON_DOUBLE && osiris_json_num(v, 0.5) == floor(osiris_json_num(v, 0.5)) &&
        fabs(osiris_json_num(v, 0)) < 9.2e18)
      return osiris_frame_append_int64(f, c, (int64_t)osiris_json_num(v, 0));
    if (str && len) { /* UInt64/Int128 may come as text */
      long long x;
      errno = 0;
      x = strtoll(str, &end, 10);
      if (!errno && *end == 0) return osiris_frame_append_int64(f, c, (int64_t)x);
    }
    break;
  case OSIRIS_TYPE_DOUBLE:
    if (k == OSIRIS_JSON_INT || k == OSIRIS_JSON_DOUBLE)
      return osiris_frame_append_double(f, c, osiris_json_num(v, 0));
    if (str && len) {
      double d = osiris_strtod(str, &end);
      if (*end == 0) return osiris_frame_append_double(f, c, d);
    }
    break;
  case OSIRIS_TYPE_BOOL:
    if (k == OSIRIS_JSON_BOOL) return osiris_frame_append_bool(f, c, osiris_json_bool(v, 0));
    if (k == OSIRIS_JSON_INT && (osiris_json_int(v, 2) == 0 || osiris_json_int(v, 2) == 1))
      return osiris_frame_append_bool(f, c, (int)osiris_json_int(v, 0));
    break;
  default: /* string: text as it is, anything else as its JSON text */
    if (str) return osiris_frame_append_text(f, c, str, len);
    {
      size_t n;
      char *json = osiris_json_dump(v, 0, &n);
      osiris_rc rc;
      if (!json) return OSIRIS_ENOMEM;
      rc = osiris_frame_append_text(f, c, json, n);
      osiris_free(json);
      return rc;
    }
  }
  return osiris_step_fail(
      p->step, OSIRIS_EDRIVER, "PostHog row %lld, column %s: value does not fit its type %s",
      (long long)row, osiris_frame_col_name(f, c), osiris_type_name(p->types[c]));
}

/* The key of a row as text (a string, or a number's text); 0 when absent. */
static int drv_ph_key_text(const osiris_json *v, char *buf, size_t cap, const char **s, size_t *n) {
  if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING) {
    *s = osiris_json_str(v);
    *n = osiris_json_strlen(v);
    return 1;
  }
  if (osiris_json_kind_of(v) == OSIRIS_JSON_INT) {
    snprintf(buf, cap, "%lld", (long long)osiris_json_int(v, 0));
    *s = buf;
    *n = strlen(buf);
    return 1;
  }
  return 0;
}

/* Rows of one page into the frame.  *more: another page is wanted. */
static osiris_rc drv_ph_page(drv_ph *p, const osiris_json *resp, int *more) {
  osiris_step *s = p->step;
  const osiris_json *results = osiris_json_get(resp, "results");
  const osiris_json *has_more = osiris_json_get(resp, "hasMore");
  size_t i, n;
  osiris_rc rc;
  *more = 0;
  if (osiris_json_kind_of(results) != OSIRIS_JSON_ARRAY)
    return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog response has no \"results\" list");
  rc = drv_ph_columns(p, osiris_json_get(resp, "columns"), osiris_json_get(resp, "types"));
  if (rc) return rc;
  n = osiris_json_size(results);
  for (i = 0; i < n; i++) {
    const osiris_json *row = osiris_json_at(results, i);
    const char *key;
    size_t klen, c;
    char kbuf[32];
    int64_t ts = 0;
    p->rows_read++;
    if (osiris_json_kind_of(row) != OSIRIS_JSON_ARRAY || osiris_json_size(row) != p->ncols)
      return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog row %lld does not have %zu values",
                              (long long)p->rows_read, p->ncols);
    if (!drv_ph_key_text(osiris_json_at(row, p->key_idx), kbuf, sizeof kbuf, &key, &klen) ||
        memchr(key, 0, klen))
      return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog row %lld has no %s",
                              (long long)p->rows_read, p->kind->key_col);
    if (p->kind->time_col) {
      const osiris_json *tv = osiris_json_at(row, p->time_idx);
      if (!osiris_json_str(tv) ||
          !drv_ph_parse_time(osiris_json_str(tv), osiris_json_strlen(tv), &ts))
        return osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog row %lld: %s is not a time",
                                (long long)p->rows_read, p->kind->time_col);
    }
    /* The keyset position moves with every row read, kept or not. */
    osiris_free(p->last_key);
    if (!(p->last_key = osiris_strndup(key, klen)))
      return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    p->last_ts = ts;
    p->have_last = 1;
    if (p->dedup && (drv_ph_set_has(&p->seen, key, klen) ||
                     (p->prev_row_key && strlen(p->prev_row_key) == klen &&
                      memcmp(p->prev_row_key, key, klen) == 0))) {
      p->rows_dup++;
      continue;
    }
    osiris_free(p->prev_row_key);
    if (!(p->prev_row_key = osiris_strndup(key, klen)) ||
        (p->kind->time_col && drv_ph_recent_push(&p->recent, ts, key, klen)))
      return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    for (c = 0; c < p->ncols; c++) {
      rc = drv_ph_cell(p, c, osiris_json_at(row, c), p->rows_read);
      if (rc == OSIRIS_EDRIVER) return rc; /* the message is set */
      if (rc)
        return osiris_step_fail(s, rc, "PostHog row %lld, column %s could not be stored (%s)",
                                (long long)p->rows_read, osiris_frame_col_name(p->frame, c),
                                osiris_rc_name(rc));
    }
    if ((rc = osiris_frame_end_row(p->frame)) != OSIRIS_OK)
      return osiris_step_fail(s, rc, "PostHog row %lld could not be stored",
                              (long long)p->rows_read);
    p->rows_out++;
    if ((rc = osiris_step_flush(s, p->frame)) != OSIRIS_OK)
      return osiris_step_fail(s, rc, "stopped: the run was cancelled or the consumer failed");
  }
  if (osiris_json_kind_of(has_more) == OSIRIS_JSON_BOOL)
    *more = osiris_json_bool(has_more, 0) && n > 0;
  else
    *more = (int64_t)n >= p->page_size;
  return OSIRIS_OK;
}

/* ------------------------------------------------------------- state */

/* Read config.state_file (resolved against the project directory).  A
 * missing file is a first run; a file of another data type, or one that
 * is not a state, fails the step. */
static osiris_rc drv_ph_state_read(drv_ph *p, const char *rel) {
  osiris_step *s = p->step;
  char *path = NULL, err[256];
  osiris_json *st = NULL;
  osiris_buf text = {0};
  FILE *fp = NULL;
  osiris_rc rc = OSIRIS_OK;
  const osiris_json *v, *recent;
  size_t i;
  if ((rc = drv_resolve_path(s, rel, &path)) != OSIRIS_OK) return rc;
  if (!(fp = fopen(path, "rb"))) {
    if (errno != ENOENT) {
      rc = osiris_step_fail(s, OSIRIS_EIO, "config.state_file: cannot read %s: %s", path,
                            strerror(errno));
      goto done;
    }
    osiris_step_log(s, 1, "config.state_file %s does not exist yet: a first run", path);
    {
      osiris_json *ev = osiris_json_new(OSIRIS_JSON_OBJECT);
      if (ev) osiris_json_set(ev, "path", osiris_json_new_str(rel, strlen(rel)));
      osiris_step_event(s, "state_missing", ev);
    }
    goto done;
  }
  for (;;) {
    char chunk[8192];
    size_t got = fread(chunk, 1, sizeof chunk, fp);
    osiris_buf_put(&text, chunk, got);
    if (got < sizeof chunk) break;
    if (text.len > ((size_t)64 << 20)) break;
  }
  if (ferror(fp) || text.oom || text.len > ((size_t)64 << 20)) {
    rc = osiris_step_fail(s, OSIRIS_EIO, "config.state_file: cannot read %s", path);
    goto done;
  }
  if (osiris_json_parse(text.p ? text.p : "", text.len, &st, err, sizeof err) != OSIRIS_OK) {
    rc = osiris_step_fail(s, OSIRIS_EPARSE, "config.state_file: %s:%s", path, err);
    goto done;
  }
  v = osiris_json_get(st, "data_type");
  if (osiris_json_kind_of(st) != OSIRIS_JSON_OBJECT || !osiris_json_str(v) ||
      strcmp(osiris_json_str(osiris_json_get(st, "component")), "posthog.extractor") != 0) {
    rc = osiris_step_fail(s, OSIRIS_EPARSE,
                          "config.state_file: %s is not a posthog.extractor state", path);
    goto done;
  }
  if (!drv_ieq(osiris_json_str(v), p->kind->data_type)) {
    rc = osiris_step_fail(s, OSIRIS_EINVAL,
                          "config.state_file: %s holds the state of data_type %s, "
                          "this step reads %s",
                          path, osiris_json_str(v), p->kind->data_type);
    goto done;
  }
  v = osiris_json_get(st, "last_timestamp");
  if (osiris_json_str(v)) {
    if (!drv_ph_parse_time(osiris_json_str(v), osiris_json_strlen(v), &p->prev_last_ts)) {
      rc = osiris_step_fail(s, OSIRIS_EPARSE, "config.state_file: %s: last_timestamp is not a time",
                            path);
      goto done;
    }
    p->have_prev = 1;
    v = osiris_json_get(st, "last_key");
    if (osiris_json_str(v) && !(p->prev_last_key = osiris_strdup(osiris_json_str(v)))) {
      rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  recent = osiris_json_get(st, "recent");
  for (i = 0; i < osiris_json_size(recent); i++) {
    const osiris_json *pair = osiris_json_at(recent, i), *t = osiris_json_at(pair, 0),
                      *k = osiris_json_at(pair, 1);
    int64_t ts;
    if (!osiris_json_str(t) || !osiris_json_str(k) ||
        !drv_ph_parse_time(osiris_json_str(t), osiris_json_strlen(t), &ts)) {
      rc = osiris_step_fail(s, OSIRIS_EPARSE,
                            "config.state_file: %s: recent[%zu] is not [time, key]", path, i);
      goto done;
    }
    /* Kept for this run's dedup and, still in the window, for the next. */
    if (drv_ph_set_add(&p->seen, osiris_json_str(k), osiris_json_strlen(k)) ||
        drv_ph_recent_push(&p->recent, ts, osiris_json_str(k), osiris_json_strlen(k))) {
      rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  osiris_step_log(s, 1, "state read from %s: %zu recent keys", path, p->seen.n);
done:
  if (fp) fclose(fp);
  osiris_buf_free(&text);
  osiris_json_free(st);
  osiris_free(path);
  return rc;
}

/* Write <artifacts>/state.json for the next run (through a temporary
 * file and rename, so a failed write never leaves half a state). */
static osiris_rc drv_ph_state_write(drv_ph *p) {
  osiris_step *s = p->step;
  osiris_json *st = osiris_json_new(OSIRIS_JSON_OBJECT),
              *recent = osiris_json_new(OSIRIS_JSON_ARRAY);
  char *path = drv_path_join(osiris_step_artifacts_dir(s), "state.json"), *tmp = NULL, *text = NULL;
  char t[48];
  int64_t last = 0, cutoff;
  const char *last_key = NULL;
  size_t i, len = 0;
  int have = 0, bad = 0, ok;
  FILE *fp;
  osiris_rc rc = OSIRIS_OK;
  if (!st || !recent || !path) goto oom;
  if (p->have_last && p->kind->time_col) {
    last = p->last_ts;
    last_key = p->last_key;
    have = 1;
  } else if (p->have_prev) {
    last = p->prev_last_ts;
    last_key = p->prev_last_key;
    have = 1;
  }
  /* Keys of the longest window any next run may use, not just this one's:
   * a larger lookback_window_minutes next time still finds them. */
  cutoff = last - DRV_PH_KEEP_MINUTES * 60 * INT64_C(1000000);
  bad |=
      osiris_json_set(st, "component", osiris_json_new_str("posthog.extractor", 17)) != OSIRIS_OK;
  bad |= osiris_json_set(st, "data_type",
                         osiris_json_new_str(p->kind->data_type, strlen(p->kind->data_type))) !=
         OSIRIS_OK;
  if (have) drv_ph_fmt_time(last, t, sizeof t);
  bad |= osiris_json_set(st, "last_timestamp",
                         have ? osiris_json_new_str(t, strlen(t))
                              : osiris_json_new(OSIRIS_JSON_NULL)) != OSIRIS_OK;
  bad |= osiris_json_set(st, "last_key",
                         have && last_key ? osiris_json_new_str(last_key, strlen(last_key))
                                          : osiris_json_new(OSIRIS_JSON_NULL)) != OSIRIS_OK;
  bad |= osiris_json_set(st, "lookback_window_minutes", osiris_json_new_int(p->lookback_min)) !=
         OSIRIS_OK;
  for (i = 0; have && i < p->recent.n; i++) {
    size_t at = (p->recent.head + i) % DRV_PH_RECENT_MAX;
    osiris_json *pair;
    if (p->recent.ts[at] < cutoff) continue; /* the next run does not read it again */
    drv_ph_fmt_time(p->recent.ts[at], t, sizeof t);
    pair = osiris_json_new(OSIRIS_JSON_ARRAY);
    if (!pair) goto oom;
    bad |= osiris_json_push(pair, osiris_json_new_str(t, strlen(t))) != OSIRIS_OK;
    bad |= osiris_json_push(pair, osiris_json_new_str(p->recent.key[at],
                                                      strlen(p->recent.key[at]))) != OSIRIS_OK;
    bad |= osiris_json_push(recent, pair) != OSIRIS_OK;
  }
  bad |= osiris_json_set(st, "recent", recent) != OSIRIS_OK;
  recent = NULL;
  if (bad || !(text = osiris_json_dump(st, 0, &len))) goto oom;
  if (!(tmp = drv_path_join(osiris_step_artifacts_dir(s), ".state.json.tmp"))) goto oom;
  fp = fopen(tmp, "wb");
  ok = fp != NULL;
  if (ok) {
    ok = fwrite(text, 1, len, fp) == len && fputc('\n', fp) != EOF;
    if (fclose(fp) != 0) ok = 0;
  }
  if (ok && rename(tmp, path) != 0) ok = 0;
  if (!ok) {
    int e = errno;
    remove(tmp);
    rc = osiris_step_fail(s, OSIRIS_EIO, "cannot write the state %s: %s", path, strerror(e));
    goto done;
  }
  osiris_step_file_written(s, path, "state");
  goto done;
oom:
  rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
done:
  osiris_json_free(recent);
  osiris_json_free(st);
  osiris_free(text);
  osiris_free(path);
  osiris_free(tmp);
  return rc;
}

/* ------------------------------------------------------------- run */

/* "detail" of a PostHog error body (DRF shape), else its first bytes. */
static void drv_ph_detail(const osiris_buf *body, char *out, size_t cap) {
  osiris_json *j = NULL;
  const char *d = NULL;
  out[0] = 0;
  if (body->len && osiris_json_parse(body->p, body->len, &j, NULL, 0) == OSIRIS_OK)
    d = osiris_json_str(osiris_json_get(j, "detail"));
  if (d)
    snprintf(out, cap, "%.300s", d);
  else if (body->len)
    snprintf(out, cap, "%.200s", body->p);
  osiris_json_free(j);
}

/* Read the step's keys into p, and the base URL.  Stages: credentials,
 * region/base URL, data type and filters, window. */
static osiris_rc drv_ph_config(drv_ph *p) {
  osiris_step *s = p->step;
  const osiris_json *cfg = osiris_step_config(s);
  const char *region, *custom, *data_type, *since_text, *c;
  osiris_rc rc;
  if ((rc = drv_ph_str(s, "api_key", &p->api_key, NULL, 0)) ||
      (rc = drv_ph_str(s, "project_id", &p->project_id, p->project_num, sizeof p->project_num)) ||
      (rc = drv_ph_str(s, "region", &region, NULL, 0)) ||
      (rc = drv_ph_str(s, "custom_base_url", &custom, NULL, 0)) ||
      (rc = drv_cfg_str(s, cfg, "data_type", NULL, &data_type)) ||
      (rc = drv_cfg_str(s, cfg, "initial_since", NULL, &since_text)) ||
      (rc = drv_cfg_int(s, cfg, "page_size", 1000, 100, &p->page_size)) ||
      (rc = drv_cfg_int(s, cfg, "lookback_window_minutes", 15, 5, &p->lookback_min)) ||
      (rc = drv_cfg_bool(s, cfg, "deduplication_enabled", 1, &p->dedup)) ||
      (rc = drv_cfg_strlist(s, cfg, "event_types", 0, &p->event_types)))
    return rc;
  if (!p->api_key || !*p->api_key)
    return osiris_step_fail(
        s, OSIRIS_EINVAL,
        "config.api_key is required: a PostHog personal API key "
        "in the step's @posthog connection (api_key: ${VAR} there); a secret in "
        "a step's own config is not kept in the compiled files");
  if (!p->project_id || !*p->project_id)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.project_id is required");
  for (c = p->project_id; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
      return osiris_step_fail(s, OSIRIS_EINVAL,
                              "config.project_id must be a PostHog project id "
                              "(letters, digits, '-' or '_'), got \"%.60s\"",
                              p->project_id);
  if (!data_type || !(p->kind = drv_ph_kind_find(data_type)))
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.data_type must be one of events, persons, "
                            "sessions, person_distinct_ids%s%.60s%s",
                            data_type ? " (got \"" : "", data_type ? data_type : "",
                            data_type ? "\")" : "");
  if (p->page_size > 10000)
    return osiris_step_fail(s, OSIRIS_EINVAL, "config.page_size must be between 100 and 10000");
  if (p->lookback_min > 60)
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.lookback_window_minutes must be between 5 and 60");
  if (p->event_types && p->event_types[0] && strcmp(p->kind->data_type, "events") != 0)
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.event_types applies to data_type events only");
  if (!region) region = "us";
  if (drv_ieq(region, "us") || drv_ieq(region, "eu")) {
    if (custom)
      return osiris_step_fail(s, OSIRIS_EINVAL,
                              "config.custom_base_url is used with region "
                              "self_hosted only (region is %s)",
                              region);
    osiris_buf_printf(&p->url, "https://%s.posthog.com", drv_ieq(region, "eu") ? "eu" : "us");
  } else if (drv_ieq(region, "self_hosted")) {
    size_t n;
    if (!custom || (strncmp(custom, "https://", 8) != 0 && strncmp(custom, "http://", 7) != 0))
      return osiris_step_fail(s, OSIRIS_EINVAL,
                              "config.custom_base_url must be the http(s):// URL of "
                              "the PostHog instance when region is self_hosted");
    n = strlen(custom);
    while (n > 8 && custom[n - 1] == '/') n--;
    osiris_buf_put(&p->url, custom, n);
  } else {
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.region must be us, eu or self_hosted (got \"%.40s\")", region);
  }
  osiris_buf_printf(&p->url, "/api/projects/%s/query/", p->project_id);
  if (p->url.oom) return osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
  p->until = drv_ph_now_us();
  p->since = p->until - 30 * DRV_PH_DAY_US; /* the reference's default */
  if (since_text && !drv_ph_parse_time(since_text, strlen(since_text), &p->since))
    return osiris_step_fail(s, OSIRIS_EINVAL,
                            "config.initial_since must be an ISO 8601 time such as "
                            "2024-01-01T00:00:00Z (got \"%.60s\")",
                            since_text);
  return OSIRIS_OK;
}

/* One page: the request, its answer judged, the rows appended. */
static osiris_rc drv_ph_fetch(drv_ph *p, const char *auth, int *more) {
  osiris_step *s = p->step;
  osiris_buf q = {0}, body = {0};
  osiris_json *req = NULL, *inner = NULL, *resp = NULL;
  const char *headers[3];
  char *text = NULL, what[64], detail[400], err[256];
  size_t len = 0;
  long status = 0;
  int sent = 0;
  osiris_http_req hq;
  osiris_rc rc;
  drv_ph_build_query(p, &q);
  req = osiris_json_new(OSIRIS_JSON_OBJECT);
  inner = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (q.oom || !req || !inner ||
      osiris_json_set(inner, "kind", osiris_json_new_str("HogQLQuery", 10)) ||
      osiris_json_set(inner, "query", osiris_json_new_str(q.p, q.len))) {
    osiris_json_free(inner);
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = osiris_json_set(req, "query", inner);
  if (rc || !(text = osiris_json_dump(req, 0, &len))) {
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  snprintf(what, sizeof what, "PostHog query, page %lld", (long long)p->pages + 1);
  headers[0] = auth;
  headers[1] = "Accept: application/json";
  headers[2] = NULL;
  memset(&hq, 0, sizeof hq);
  hq.url = p->url.p;
  hq.headers = headers;
  hq.body = text;
  hq.body_len = len;
  hq.timeout_s = 120;
  hq.attempts = DRV_PH_ATTEMPTS;
  hq.max_response = DRV_PH_MAX_RESPONSE;
  hq.what = what;
  hq.sent = &sent;
  rc = osiris_step_http(s, &hq, &status, &body);
  p->requests += sent;
  if (rc) goto done; /* the message is set */
  if (status != 200) {
    drv_ph_detail(&body, detail, sizeof detail);
    if (status == 401 || status == 403)
      rc = osiris_step_fail(s, OSIRIS_ECONN,
                            "PostHog rejected the API key (HTTP %ld: %s): check "
                            "api_key (a personal API key with the query:read scope)",
                            status, detail);
    else if (status == 404)
      rc = osiris_step_fail(s, OSIRIS_ECONN,
                            "PostHog has no project %s at %s (HTTP 404: %s): check "
                            "project_id and region",
                            p->project_id, p->url.p, detail);
    else if (status == 400)
      rc = osiris_step_fail(s, OSIRIS_EDRIVER, "PostHog rejected the query (HTTP 400: %s)", detail);
    else
      rc = osiris_step_fail(s, OSIRIS_EDRIVER, "%s failed: HTTP %ld%s%s", what, status,
                            detail[0] ? ": " : "", detail);
    goto done;
  }
  if (osiris_json_parse(body.p ? body.p : "", body.len, &resp, err, sizeof err) != OSIRIS_OK ||
      osiris_json_kind_of(resp) != OSIRIS_JSON_OBJECT) {
    rc = osiris_step_fail(s, OSIRIS_EDRIVER, "%s: the response is not a JSON object (%s)", what,
                          resp ? "not an object" : err);
    goto done;
  }
  p->pages++;
  rc = drv_ph_page(p, resp, more);
  osiris_step_progress(s, p->rows_out);
done:
  osiris_json_free(resp);
  osiris_json_free(req);
  osiris_free(text);
  osiris_buf_free(&q);
  osiris_buf_free(&body);
  return rc;
}

static osiris_rc drv_ph_run(osiris_step *s) {
  drv_ph p;
  osiris_buf auth = {0};
  const char *state_file = NULL;
  int more = 1;
  osiris_rc rc;
  memset(&p, 0, sizeof p);
  p.step = s;
  if ((rc = drv_ph_config(&p)) != OSIRIS_OK) goto done;
  if ((rc = drv_cfg_str(s, osiris_step_config(s), "state_file", NULL, &state_file)) != OSIRIS_OK)
    goto done;
  if (state_file && (rc = drv_ph_state_read(&p, state_file)) != OSIRIS_OK) goto done;
  if (p.have_prev && p.kind->time_col) /* resume, with the lookback window */
    p.since = p.prev_last_ts - p.lookback_min * 60 * INT64_C(1000000);
  if (!(p.frame = osiris_frame_new())) {
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  osiris_buf_printf(&auth, "Authorization: Bearer %s", p.api_key);
  if (auth.oom) {
    rc = osiris_step_fail(s, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  {
    char a[48], b[48];
    drv_ph_fmt_time(p.since, a, sizeof a);
    drv_ph_fmt_time(p.until, b, sizeof b);
    if (p.kind->time_col)
      osiris_step_log(s, 1, "PostHog %s from %s to %s, page size %lld, at %s", p.kind->data_type, a,
                      b, (long long)p.page_size, p.url.p);
    else
      osiris_step_log(s, 1, "PostHog %s, page size %lld, at %s", p.kind->data_type,
                      (long long)p.page_size, p.url.p);
  }
  while (more) {
    if (osiris_step_cancelled(s)) {
      rc = osiris_step_fail(s, OSIRIS_ECANCEL, "interrupted");
      goto done;
    }
    if ((rc = drv_ph_fetch(&p, auth.p, &more)) != OSIRIS_OK) goto done;
  }
  if ((rc = drv_ph_state_write(&p)) != OSIRIS_OK) goto done;
  osiris_step_set_output(s, p.frame);
  p.frame = NULL;
done:
  osiris_step_metric(s, "requests_made", (double)p.requests, NULL);
  osiris_step_metric(s, "pages_fetched", (double)p.pages, NULL);
  osiris_step_metric(s, "rows_read", (double)p.rows_read, "rows");
  osiris_step_metric(s, "rows_deduplicated", (double)p.rows_dup, "rows");
  if (auth.p) memset(auth.p, 0, auth.len); /* the key: wiped before it is freed */
  osiris_buf_free(&auth);
  osiris_frame_free(p.frame);
  osiris_buf_free(&p.url);
  osiris_free((void *)p.event_types);
  osiris_free(p.types);
  osiris_free(p.last_key);
  osiris_free(p.prev_last_key);
  osiris_free(p.prev_row_key);
  drv_ph_set_free(&p.seen);
  drv_ph_recent_free(&p.recent);
  return rc;
}

static const osiris_config_key drv_ph_keys[] = {
    {"connection", NULL, 0, "@posthog.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"api_key", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET,
     "personal API key with the query:read scope", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"project_id", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_CONN, "PostHog project id (a string: \"12345\")",
     OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"region", "\"us\"", OSIRIS_KEY_CONN, "us (us.posthog.com), eu (eu.posthog.com) or self_hosted (custom_base_url)",
     OSIRIS_KT_STRING, "us|eu|self_hosted", 0, 0, NULL},
    {"custom_base_url", NULL, OSIRIS_KEY_CONN, "base URL of a self-hosted instance (region self_hosted)",
     OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"data_type", NULL, OSIRIS_KEY_REQUIRED, "the HogQL table to read",
     OSIRIS_KT_STRING, "events|persons|sessions|person_distinct_ids", 0, 0, NULL},
    {"event_types", NULL, 0, "events only: read just these event names (empty: all)", OSIRIS_KT_STRINGS, NULL, 0, 0, NULL},
    {"lookback_window_minutes", "15", OSIRIS_KEY_RANGE,
     "with a state: read again this far before its last time (late ingestion); duplicates dropped by key",
     OSIRIS_KT_INT, NULL, 5, 60, NULL},
    {"initial_since", NULL, 0, "ISO 8601 start when there is no state [30 days ago]", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"page_size", "1000", OSIRIS_KEY_RANGE, "rows per query (LIMIT)", OSIRIS_KT_INT, NULL, 100, 10000, NULL},
    {"deduplication_enabled", "true", 0, "drop rows whose key (uuid, id, session_id, distinct_id) was already read",
     OSIRIS_KT_BOOL, NULL, 0, 0, NULL},
    {"state_file", NULL, OSIRIS_KEY_INPUT_FILE,
     "state.json of an earlier run (its artifacts) to continue from; missing: a first run", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

static const osiris_driver drv_ph_extractor = {
    "posthog.extractor", "posthog", "extract discover",
    "Read PostHog events, persons, sessions or person_distinct_ids over the HogQL query API, incrementally",
    drv_ph_keys, drv_ph_run, NULL, 0};
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
  if ((rc = osiris_register_driver(ctx, &drv_gq_extractor, NULL)) != OSIRIS_OK) return rc;
  if ((rc = osiris_register_driver(ctx, &drv_ph_extractor, NULL)) != OSIRIS_OK) return rc;
  return drv_db_register(ctx);
}
