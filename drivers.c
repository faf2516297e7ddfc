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
 *   3c. Databases, shared  connections, TLS, type mapping, value parsers and
 *                          encoders, write options
 *   3d. MySQL/MariaDB      mysql.extractor and mysql.writer (Connector/C)
 *   3e. PostgreSQL         postgres.* and supabase.* over SQL (libpq)
 *   3f. Supabase REST      supabase.* through PostgREST (osiris_step_http);
 *                          then the specs of the six database drivers
 *   3g. GraphQL            graphql.extractor over osiris_step_http: cursor
 *                          pagination, data_path, flattening, two passes
 *   3h. PostHog            posthog.extractor: the HogQL query API, paged by
 *                          key, incremental with a state in the artifacts
 *   4. Registration        one table of every built-in driver
 *
 * Adding a driver: write `static osiris_rc drv_<family>_<name>_run(osiris_step *)`
 * that reads osiris_step_config(), checks every key it uses (errors name
 * the key: "config.delimiter must be ..."), reads upstream frames with
 * osiris_step_input(), reports with osiris_step_metric()/osiris_step_fail(),
 * and hands its result over with osiris_step_set_output().  Describe it in
 * a `static const osiris_driver` with a keys table (default_json is copied
 * into the compiled cfg, so keep defaults identical to the reference
 * component spec: cfg hashes depend on them), then add it to
 * drv_builtin[] (section 4).  Everything else here stays static.
 *
 * Memory: everything this file allocates for itself goes through the
 * osiris allocator (osiris_malloc/calloc/realloc/strdup, osiris_buf;
 * released with osiris_free), so the fault-injection build fails the
 * drivers' allocations with the engine's (tests/test_alloc.c).  Memory a
 * client library hands out goes back through that library (sqlite3_free,
 * mysql_free_result, PQclear, DuckDB's free).  Dates, doubles,
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
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strcasecmp: write_mode, filter values */
#include <sys/stat.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <mysql.h>
#include <errmsg.h> /* CR_* client error numbers */
#include <libpq-fe.h>

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
 * database drivers' quoting (drv_db_ident, section 3c). */
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

/* Columns the streamed consumer does not read are left NULL. */
static int drv_csv_column_used(void *user, size_t col) {
  return osiris_step_output_column_used(((drv_csv_batches *)user)->step, col);
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
  o.column_used = drv_csv_column_used;
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
 * and in DuckDB at once.  Only the columns the query reads are filled, the
 * others are NULL, and a streamed producer is told to leave them out
 * (drv_dk_project: DuckDB's plan over stand-in table functions says which).
 * Strings go in without DuckDB checking their UTF-8 again where the
 * library has the call for it (frame text is valid UTF-8).  Types in: bool BOOLEAN, int64 BIGINT, double
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
    *dk_appender, *dk_ltype, *dk_chunk, *dk_vector, *dk_errdata, *dk_tfunc, *dk_bind_info,
    *dk_init_info, *dk_fn_info;
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
  dk_tfunc (*create_table_function)(void);
  void (*destroy_table_function)(dk_tfunc *);
  void (*table_function_set_name)(dk_tfunc, const char *);
  void (*table_function_set_extra_info)(dk_tfunc, void *, void (*)(void *));
  void (*table_function_set_bind)(dk_tfunc, void (*)(dk_bind_info));
  void (*table_function_set_init)(dk_tfunc, void (*)(dk_init_info));
  void (*table_function_set_function)(dk_tfunc, void (*)(dk_fn_info, dk_chunk));
  void (*table_function_supports_projection_pushdown)(dk_tfunc, bool);
  int (*register_table_function)(dk_connection, dk_tfunc);
  void *(*bind_get_extra_info)(dk_bind_info);
  void (*bind_add_result_column)(dk_bind_info, const char *, dk_ltype);
  void (*bind_set_error)(dk_bind_info, const char *);
  void *(*function_get_extra_info)(dk_fn_info);
  /* Optional (stable from DuckDB 1.5.6; NULL before): a string assigned
   * without DuckDB checking its UTF-8 again (frame text is valid UTF-8). */
  void (*unsafe_vector_assign_string_element_len)(dk_vector, dk_idx, const char *, dk_idx);
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
    DRV_DK_SYM(destroy_error_data), DRV_DK_SYM(create_table_function),
    DRV_DK_SYM(destroy_table_function), DRV_DK_SYM(table_function_set_name),
    DRV_DK_SYM(table_function_set_extra_info), DRV_DK_SYM(table_function_set_bind),
    DRV_DK_SYM(table_function_set_init), DRV_DK_SYM(table_function_set_function),
    DRV_DK_SYM(table_function_supports_projection_pushdown), DRV_DK_SYM(register_table_function),
    DRV_DK_SYM(bind_get_extra_info), DRV_DK_SYM(bind_add_result_column),
    DRV_DK_SYM(bind_set_error), DRV_DK_SYM(function_get_extra_info)};
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
  {
    void *fn = dlsym(api->lib, "duckdb_unsafe_vector_assign_string_element_len");
    memcpy(&api->unsafe_vector_assign_string_element_len, &fn, sizeof fn);
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

/* Append rows [0, rows) of f to the appender, a data chunk at a time.
 * used: the columns the query reads (drv_dk_probe), NULL for all; the
 * others go in as NULL. */
static osiris_rc drv_dk_append(const drv_dk_api *api, dk_appender app, const osiris_frame *f,
                               const unsigned char *used, dk_chunk chunk, char *err, size_t cap) {
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
      if (used && !used[c]) {
        api->vector_ensure_validity_writable(v);
        memset(api->vector_get_validity(v), 0, (cnt + 63) / 64 * sizeof(uint64_t));
        continue;
      }
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
            if (api->unsafe_vector_assign_string_element_len)
              api->unsafe_vector_assign_string_element_len(v, r, p, len);
            else
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
  struct drv_dk_probe **probes; /* drv_dk_project's, freed once the database is closed */
  size_t nprobes;
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
  size_t i;
  if (ss->con) ss->api.disconnect(&ss->con);
  if (ss->db) ss->api.close(&ss->db);
  for (i = 0; i < ss->nprobes; i++) osiris_free(ss->probes[i]);
  osiris_free(ss->probes);
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

/* ---- which input columns the query reads ---- */

/* Before the inputs are loaded, each distinct input frame stands as a
 * table function of its columns and no rows (osiris_probe_<i>, supporting
 * projection pushdown), under views of the input names, and DuckDB plans
 * the query over them: in the plan (EXPLAIN (FORMAT JSON)) the scan of a
 * table function lists the columns it projects.  A table function has no
 * statistics, so that plan computes the query for any content of the
 * inputs: a column no scan projects cannot change the result, and is
 * loaded as NULL (and the streamed producer is told it need not build it,
 * osiris_step_input_columns).  Anything unexpected keeps every column of
 * the input concerned: a query of several statements, a plan that does not
 * parse or has no such scan of the input, a scan without "Projections", a
 * name in it that is no column.  The projection only saves work; it never
 * changes an answer.  Afterwards the functions refuse to bind (their
 * frames are gone), and the probe views are dropped. */

typedef struct drv_dk_probe {
  const drv_dk_api *api;  /* the session's, for the callbacks */
  const osiris_frame *f;  /* the input's columns; NULL once the probe is over */
  char name[48];          /* osiris_probe_<i> */
  unsigned char *used;    /* the columns the plan projects */
  int seen;               /* a scan of it is in the plan, its projections read */
  int all;                /* keep every column */
} drv_dk_probe;

/* DuckDB calls these with its own handle only; the extra info is the
 * probe, found through the API's getter, which the callbacks reach through
 * a copy kept here (the library stays loaded, RTLD_NODELETE). */
static void *(*drv_dk_bind_extra)(dk_bind_info);

static void drv_dk_probe_bind(dk_bind_info info) {
  void *(*get)(dk_bind_info) = __atomic_load_n(&drv_dk_bind_extra, __ATOMIC_ACQUIRE);
  const drv_dk_probe *p = get ? get(info) : NULL;
  size_t c;
  if (!p) return;
  if (!p->f) {
    p->api->bind_set_error(info, "osiris_probe functions are internal to osiris");
    return;
  }
  for (c = 0; c < osiris_frame_cols(p->f); c++) {
    dk_ltype lt = drv_dk_ltype_of(p->api, p->f, c);
    if (!lt) {
      p->api->bind_set_error(info, "out of memory");
      return;
    }
    p->api->bind_add_result_column(info, osiris_frame_col_name(p->f, c), lt);
    p->api->destroy_logical_type(&lt);
  }
}

static void drv_dk_probe_init(dk_init_info info) { (void)info; }

/* Never run by EXPLAIN; no rows if a query calls it (bind refuses first). */
static void drv_dk_probe_scan(dk_fn_info info, dk_chunk out) {
  (void)info;
  (void)out; /* a chunk handed to a table function starts with no rows */
}

/* The "Projections" of the plan's scans of each probe, into its used. */
static void drv_dk_probe_walk(const osiris_json *node, drv_dk_probe **probes, size_t n) {
  size_t i, k;
  const osiris_json *extra, *proj;
  const char *fn;
  if (osiris_json_kind_of(node) == OSIRIS_JSON_ARRAY) {
    for (i = 0; i < osiris_json_size(node); i++) drv_dk_probe_walk(osiris_json_at(node, i), probes, n);
    return;
  }
  if (osiris_json_kind_of(node) != OSIRIS_JSON_OBJECT) return;
  drv_dk_probe_walk(osiris_json_get(node, "children"), probes, n);
  extra = osiris_json_get(node, "extra_info");
  fn = osiris_json_str(osiris_json_get(extra, "Function"));
  for (i = 0; fn && i < n; i++) {
    drv_dk_probe *p = probes[i];
    size_t m;
    if (!drv_ieq(fn, p->name)) continue;
    p->seen = 1;
    proj = osiris_json_get(extra, "Projections");
    m = osiris_json_kind_of(proj) == OSIRIS_JSON_ARRAY ? osiris_json_size(proj) : 1;
    if (!proj || (osiris_json_kind_of(proj) != OSIRIS_JSON_ARRAY && !osiris_json_str(proj))) p->all = 1;
    for (k = 0; k < m && !p->all; k++) {
      const char *col = osiris_json_str(osiris_json_kind_of(proj) == OSIRIS_JSON_ARRAY ? osiris_json_at(proj, k) : proj);
      size_t c, nc = osiris_frame_cols(p->f);
      for (c = 0; col && c < nc && strcmp(osiris_frame_col_name(p->f, c), col) != 0; c++) {}
      if (!col || c == nc) p->all = 1;
      else p->used[c] = 1;
    }
  }
}

/* Plan sql over probes standing for the n distinct input frames (names[j]
 * of frame of[j], nn of them); used[i] is then NULL (every column of
 * frame i) or an owned mask.  Any doubt gives NULL; only running out of
 * memory fails (OSIRIS_ENOMEM). */
static osiris_rc drv_dk_project(drv_dk_session *ss, const char *sql, const osiris_frame *const *frames,
                           size_t n, const char *const *names, const size_t *of, size_t nn,
                           unsigned char **used) {
  drv_dk_probe **probes = NULL;
  dk_extracted ex = NULL;
  dk_result res;
  osiris_json *plan = NULL;
  osiris_buf q = {0};
  size_t i, views = 0;
  int ok = n > 0 && n <= 64;
  osiris_rc rc = OSIRIS_OK;
  char err[256];

  for (i = 0; i < n; i++) used[i] = NULL;
  memset(&res, 0, sizeof res);
  if (ok && ss->api.extract_statements(ss->con, sql, &ex) != 1) ok = 0;
  if (ex) ss->api.destroy_extracted(&ex);
  __atomic_store_n(&drv_dk_bind_extra, ss->api.bind_get_extra_info, __ATOMIC_RELEASE);
  if (ok && !(probes = osiris_calloc(n, sizeof *probes))) ok = 0, rc = OSIRIS_ENOMEM;
  for (i = 0; ok && i < n; i++) {
    dk_tfunc tf;
    drv_dk_probe *p = osiris_calloc(1, sizeof *p);
    if (!p || !(p->used = osiris_calloc(osiris_frame_cols(frames[i]) + 1, 1))) {
      if (p) osiris_free(p);
      ok = 0;
      rc = OSIRIS_ENOMEM;
      break;
    }
    p->api = &ss->api;
    p->f = frames[i];
    snprintf(p->name, sizeof p->name, "osiris_probe_%zu", i);
    probes[i] = p;
    if (!(tf = ss->api.create_table_function())) {
      ok = 0;
      break;
    }
    ss->api.table_function_set_name(tf, p->name);
    ss->api.table_function_set_extra_info(tf, p, NULL); /* freed below, after the session */
    ss->api.table_function_set_bind(tf, drv_dk_probe_bind);
    ss->api.table_function_set_init(tf, drv_dk_probe_init);
    ss->api.table_function_set_function(tf, drv_dk_probe_scan);
    ss->api.table_function_supports_projection_pushdown(tf, true);
    if (ss->api.register_table_function(ss->con, tf) != DK_OK) ok = 0;
    ss->api.destroy_table_function(&tf);
  }
  for (i = 0; ok && i < nn; i++, views++) {
    q.len = 0;
    osiris_buf_puts(&q, "CREATE TEMP VIEW ");
    drv_buf_ident(&q, names[i]);
    osiris_buf_puts(&q, " AS FROM ");
    osiris_buf_puts(&q, probes[of[i]]->name);
    osiris_buf_puts(&q, "()");
    if (q.oom) rc = OSIRIS_ENOMEM;
    if (q.oom || drv_dk_exec(ss, q.p, err, sizeof err) != OSIRIS_OK) ok = 0;
  }
  if (ok) {
    q.len = 0;
    osiris_buf_puts(&q, "EXPLAIN (FORMAT JSON) ");
    osiris_buf_puts(&q, sql);
    if (q.oom) rc = OSIRIS_ENOMEM;
    if (q.oom || ss->api.query(ss->con, q.p, &res) != DK_OK) ok = 0;
  }
  if (ok) {
    dk_chunk ch = ss->api.fetch_chunk(res);
    if (ch && ss->api.column_count(&res) == 2 && ss->api.data_chunk_get_size(ch) >= 1) {
      const dk_string *s = ss->api.vector_get_data(ss->api.data_chunk_get_vector(ch, 1));
      size_t len;
      const char *text = drv_dk_str(&s[0], &len);
      if (osiris_json_parse(text, len, &plan, NULL, 0) == OSIRIS_ENOMEM) rc = OSIRIS_ENOMEM;
    }
    if (ch) ss->api.destroy_data_chunk(&ch);
    ok = plan != NULL;
  }
  ss->api.destroy_result(&res);
  if (ok) {
    drv_dk_probe_walk(plan, probes, n);
    for (i = 0; i < n; i++)
      if (probes[i]->seen && !probes[i]->all) {
        used[i] = probes[i]->used;
        probes[i]->used = NULL;
      }
  }
  osiris_json_free(plan);
  for (i = 0; i < views; i++) {
    q.len = 0;
    osiris_buf_puts(&q, "DROP VIEW ");
    drv_buf_ident(&q, names[i]);
    if (q.oom) rc = OSIRIS_ENOMEM;
    else (void)drv_dk_exec(ss, q.p, err, sizeof err);
  }
  osiris_buf_free(&q);
  for (i = 0; probes && i < n; i++)
    if (probes[i]) {
      probes[i]->f = NULL;
      osiris_free(probes[i]->used);
      probes[i]->used = NULL;
    }
  /* The probe structs stay with DuckDB's functions until the session ends:
   * drv_dk_close frees them (ss->probes). */
  ss->probes = probes;
  ss->nprobes = probes ? n : 0;
  if (rc)
    for (i = 0; i < n; i++) osiris_free(used[i]), used[i] = NULL;
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

/* Debug log: the columns of input name the query reads. */
static void drv_dk_log_projection(osiris_step *s, const char *name, const osiris_frame *f,
                                  const unsigned char *used) {
  size_t c, k = 0, nc = osiris_frame_cols(f);
  for (c = 0; c < nc; c++) k += !used || used[c];
  osiris_step_log(s, 1, "duckdb: the query reads %zu of the %zu columns of %s%s", k, nc, name,
                  k < nc ? "; the others are loaded as NULL" : "");
}

/* Load the step's inputs: a table per distinct frame (streamed batch by
 * batch when the runner streams the one input), views for other names;
 * only the columns the query reads are filled (drv_dk_project). */
static osiris_rc drv_dk_load_inputs(drv_dk_session *ss, osiris_step *s, const char *query,
                                    double *rows_read, char *err, size_t cap) {
  size_t i, j, n = osiris_step_input_count(s), nf = 0;
  const osiris_frame *frames[64] = {NULL};
  const char *names[64] = {NULL};
  size_t of[64] = {0}, first_of[64] = {0};
  unsigned char *used[64] = {NULL};
  drv_dk_loader ld;
  osiris_rc rc = OSIRIS_OK;
  *rows_read = 0;
  memset(&ld, 0, sizeof ld);
  if (n > 64) {
    snprintf(err, cap, "at most 64 inputs");
    return OSIRIS_ELIMIT;
  }
  if (n && osiris_step_streamed(s)) {
    const osiris_frame *b = NULL;
    const char *first = NULL, *name = NULL;
    int64_t done = 0;
    rc = osiris_step_next(s, &b);
    for (i = 0; i < n; i++) {
      (void)osiris_step_input(s, i, &names[i]); /* all one stream: names only */
      of[i] = 0;
    }
    used[0] = NULL;
    if (!rc && b) rc = drv_dk_project(ss, query, &b, 1, names, of, n, used);
    if (!rc && b) {
      drv_dk_log_projection(s, names[0] ? names[0] : "the input", b, used[0]);
      if (used[0]) rc = osiris_step_input_columns(s, used[0], osiris_frame_cols(b));
    }
    if (rc == OSIRIS_ENOMEM) snprintf(err, cap, "out of memory");
    if (!rc && b) rc = drv_dk_loader_begin(ss, &ld, "osiris_input_0", b, err, cap);
    while (!rc && b) {
      rc = drv_dk_append(&ss->api, ld.app, b, used[0], ld.chunk, err, cap);
      done += (int64_t)osiris_frame_rows(b);
      *rows_read += (double)osiris_frame_rows(b);
      osiris_step_progress(s, done);
      if (!rc) rc = osiris_step_next(s, &b);
    }
    osiris_free(used[0]);
    if (!rc) rc = drv_dk_loader_close(ss, &ld, err, cap);
    drv_dk_loader_end(ss, &ld);
    if (rc == OSIRIS_ECANCEL && !err[0]) snprintf(err, cap, "the upstream step failed or the run was interrupted");
    for (i = 0; !rc && i < n; i++) {
      name = names[i];
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
  for (i = 0; i < n; i++) {
    const osiris_frame *f = osiris_step_input(s, i, &names[i]);
    if (!f || !names[i]) {
      snprintf(err, cap, "upstream input %zu is missing", i);
      return OSIRIS_EINVAL;
    }
    for (j = 0; j < nf && frames[j] != f; j++) {}
    if (j == nf) {
      frames[nf] = f;
      first_of[nf++] = i;
    }
    of[i] = j;
  }
  if (nf) rc = drv_dk_project(ss, query, frames, nf, names, of, n, used);
  if (rc) snprintf(err, cap, "out of memory");
  for (i = 0; i < n && !rc; i++) {
    const osiris_frame *f = frames[of[i]];
    if (first_of[of[i]] != i) {
      rc = drv_dk_alias(ss, names[i], names[first_of[of[i]]], err, cap);
      continue;
    }
    *rows_read += (double)osiris_frame_rows(f);
    drv_dk_log_projection(s, names[i], f, used[of[i]]);
    rc = drv_dk_loader_begin(ss, &ld, names[i], f, err, cap);
    if (!rc) rc = drv_dk_append(&ss->api, ld.app, f, used[of[i]], ld.chunk, err, cap);
    if (!rc) rc = drv_dk_loader_close(ss, &ld, err, cap);
    drv_dk_loader_end(ss, &ld);
  }
  for (j = 0; j < nf; j++) osiris_free(used[j]);
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
    rc = drv_dk_load_inputs(&ss, s, query, &rows_read, err, sizeof err);
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

/* ======================================================================
 * 3c. Database drivers: what MySQL/MariaDB, PostgreSQL and Supabase share
 *
 * Sections 3c-3f use only osiris.h plus the client libraries (MariaDB
 * Connector/C <mysql.h>, -lmariadb; libpq <libpq-fe.h>, -lpq; the Supabase
 * REST channel on osiris_step_http / osiris_http).  Invariants: a password or DSN value is never
 * formatted into a message, event or file (client error texts are masked
 * again before use); extractors stream rows (mysql_use_result, libpq
 * single-row mode) straight into one frame, handing it downstream batch by
 * batch when the runner streams the step (osiris_step_flush); writers read
 * their input batch by batch (osiris_step_next), run the whole write over
 * every batch in one transaction and roll back on any failure, also when
 * the upstream step fails mid-stream, so a target table is either fully
 * written or unchanged.  Values travel as text in both
 * directions and are parsed here, locale-independently (osiris_strtod
 * reads in the C locale whatever setlocale() an embedder called).
 *
 * Type mapping (extract):
 *   MySQL  TINY..BIGINT, YEAR, BIT -> int64; BIGINT UNSIGNED -> decimal(0)
 *          (exact above INT64_MAX); DECIMAL -> decimal(field scale);
 *          FLOAT/DOUBLE -> double; DATE -> date; DATETIME/TIMESTAMP ->
 *          timestamp (session time_zone +00:00); TIME, CHAR..TEXT, JSON,
 *          ENUM, SET -> string; BINARY/VARBINARY/BLOB/GEOMETRY -> string
 *          "\x" + lowercase hex (the same form PostgreSQL prints for bytea);
 *          zero dates -> NULL plus one "zero_date_as_null" event per column.
 *   PostgreSQL int2/int4/int8/oid -> int64; numeric -> decimal (scale from
 *          the typmod, 0 when unconstrained); float4/float8 -> double;
 *          bool -> bool; date -> date; timestamp/timestamptz -> timestamp
 *          (session TimeZone UTC); everything else (text, json, uuid, bytea
 *          hex, arrays, intervals ...) -> string in PostgreSQL text form.
 * Writers create tables from frame types: bool BOOLEAN, int64 BIGINT,
 * double DOUBLE PRECISION/DOUBLE, decimal NUMERIC(38,s)/DECIMAL(38,s) where
 * s is the larger of the column scale and the largest scale in the data,
 * string TEXT (MySQL: LONGTEXT, VARCHAR(255) in a primary key), date DATE,
 * timestamp TIMESTAMP/DATETIME(6).
 * Write paths: PostgreSQL streams COPY FROM STDIN text into the target
 * (append; replace after DELETE) or into a temporary stage followed by
 * INSERT ... ON CONFLICT DO UPDATE (upsert; the last duplicate key wins);
 * BEGIN..COMMIT also covers the CREATE TABLE.  MySQL streams the rows
 * through one LOAD DATA LOCAL INFILE served from memory (channel
 * "load_data") into the target (append; replace after DELETE) or into a
 * temporary stage followed by INSERT ... SELECT ... ON DUPLICATE KEY
 * UPDATE (upsert; the last duplicate key wins), in one InnoDB transaction;
 * when the server or client refuses LOCAL INFILE it sends multi-row INSERT
 * batches instead (channel "insert": batch_size rows, at most 8 MB or
 * max_allowed_packet, ON DUPLICATE KEY UPDATE for upsert).  Its DDL
 * commits implicitly, so a table created by a failed step is dropped
 * again.
 * supabase.* use the Postgres SQL channel when the connection has one (dsn,
 * sql_dsn, pg_dsn, or host/database fields).  Without one, supabase.writer
 * writes through the REST API (PostgREST, osiris_step_http): JSON batches,
 * retries, no transaction and no DDL -- see "Supabase REST" below; and
 * supabase.extractor reads through it in pages ("REST read").
 * Doctor checks (osiris_driver.check) connect exactly as the drivers do,
 * with a 5 s connect timeout, and run SELECT 1 (REST: GET /rest/v1/).
 * TLS (section "TLS", docs/connections-tls.md): a bad mode or a TLS file
 * that cannot be opened fails before anything connects; a MySQL connection
 * at ssl_mode REQUIRED or above is never left in plain text.
 * ====================================================================== */


/* No upper bound for a config key's range (drivers.c defines it too; the
 * database unit test includes this file alone). */
#ifndef DRV_NO_MAX
#define DRV_NO_MAX HUGE_VAL
#endif

#define DRV_DB_COPY_CHUNK ((size_t)1 << 18) /* bytes per PQputCopyData */
#define DRV_DB_PROGRESS_ROWS 100000
#define DRV_DB_PROGRESS_MS 2000
#define DRV_DB_CANCEL_EVERY 4096 /* rows between cancellation polls */

/* ---------------------------------------------------------------- buffer */

#define DRV_DB_ONES ((uint64_t)0x0101010101010101u)

/* Append text for a tab-separated bulk format (PostgreSQL COPY text,
 * MySQL LOAD DATA): a byte b with esc[b] != 0 goes as backslash + esc[b],
 * every other byte as it is.  Only bytes below 32 and the backslash may
 * be escaped, so most text is skipped eight bytes at a time. */
static void drv_db_put_escaped(osiris_buf *b, const char *s, size_t len, const char esc[256]) {
  size_t i = 0, j;
  char *d;
  if (len > SIZE_MAX / 2) {
    b->oom = 1;
    return;
  }
  if (!(d = osiris_buf_reserve(b, 2 * len))) return;
  while (i < len) {
    for (j = i; j < len;) {
      /* 8 bytes at a time: none below 32 and no backslash (most text) */
      if (len - j >= 8) {
        uint64_t w, x;
        memcpy(&w, s + j, 8);
        x = w ^ (DRV_DB_ONES * '\\');
        if (!((((w - DRV_DB_ONES * 32) & ~w) | ((x - DRV_DB_ONES) & ~x)) & (DRV_DB_ONES * 0x80))) {
          j += 8;
          continue;
        }
      }
      if (esc[(unsigned char)s[j]]) break;
      j++;
    }
    memcpy(d, s + i, j - i);
    d += j - i;
    if (j == len) break;
    *d++ = '\\';
    *d++ = esc[(unsigned char)s[j]];
    i = j + 1;
  }
  b->len = (size_t)(d - b->p);
  b->p[b->len] = 0;
}

static const char *drv_db_str0(const osiris_buf *b) { return b->p ? b->p : ""; }

/* ------------------------------------------------------------ small utils */

static int64_t drv_db_now_ms(void) {
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 0;
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy msg into out (cap bytes), with every occurrence of each non-empty
 * secret replaced by ***, and newlines folded to spaces, trailing blanks
 * trimmed.  Client libraries do not echo passwords, but a DSN can reach an
 * error text (e.g. "invalid connection option"), so this is cheap
 * insurance. */
static void drv_db_mask(char *out, size_t cap, const char *msg, const char *const *secrets,
                        size_t nsecrets) {
  size_t o = 0, i = 0, len = msg ? strlen(msg) : 0, k;
  if (!cap) return;
  while (i < len && o + 1 < cap) {
    int hit = 0;
    for (k = 0; k < nsecrets; k++) {
      const char *s = secrets[k];
      size_t sl = s ? strlen(s) : 0;
      if (sl >= 1 && sl <= len - i && memcmp(msg + i, s, sl) == 0) {
        const char *m = "***";
        size_t j;
        for (j = 0; m[j] && o + 1 < cap; j++) out[o++] = m[j];
        i += sl;
        hit = 1;
        break;
      }
    }
    if (hit) continue;
    out[o++] = (msg[i] == '\n' || msg[i] == '\r') ? ' ' : msg[i];
    i++;
  }
  while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t')) o--;
  out[o] = 0;
}

/* ------------------------------------------------------------ JSON events */

static osiris_json *drv_db_obj(void) { return osiris_json_new(OSIRIS_JSON_OBJECT); }

static void drv_db_set_str(osiris_json *o, const char *k, const char *v) {
  if (o) osiris_json_set(o, k, v ? osiris_json_new_str(v, strlen(v)) : osiris_json_new(OSIRIS_JSON_NULL));
}

static void drv_db_set_int(osiris_json *o, const char *k, int64_t v) {
  if (o) osiris_json_set(o, k, osiris_json_new_int(v));
}

static void drv_db_set_bool(osiris_json *o, const char *k, int v) {
  if (o) osiris_json_set(o, k, osiris_json_new_bool(v));
}

/* ------------------------------------------------------------ config */

/* Where connection fields come from: a step's config, then its resolved
 * connection (config wins), or a bare connection for the doctor checks.
 * Both kinds of caller share one connect path through this. */
typedef struct drv_db_src {
  const osiris_json *cfg;  /* may be NULL */
  const osiris_json *conn; /* may be NULL */
} drv_db_src;

static drv_db_src drv_db_step_src(osiris_step *step) {
  drv_db_src s;
  s.cfg = osiris_step_config(step);
  s.conn = osiris_step_connection(step);
  return s;
}

static const osiris_json *drv_db_src_field(const drv_db_src *src, const char *key) {
  const osiris_json *v = osiris_json_get(src->cfg, key);
  if (v && osiris_json_kind_of(v) != OSIRIS_JSON_NULL) return v;
  v = osiris_json_get(src->conn, key);
  if (v && osiris_json_kind_of(v) != OSIRIS_JSON_NULL) return v;
  return NULL;
}

/* A non-empty string field or NULL. */
static const char *drv_db_src_str(const drv_db_src *src, const char *key) {
  const char *s = osiris_json_str(drv_db_src_field(src, key));
  return s && *s ? s : NULL;
}

/* An integer given as a JSON integer or as decimal text.  1 when present
 * and valid, 0 when absent, -1 when malformed. */
static int drv_db_src_int(const drv_db_src *src, const char *key, int64_t *out) {
  const osiris_json *v = drv_db_src_field(src, key);
  const char *s;
  char *end;
  long long x;
  if (!v) return 0;
  if (osiris_json_kind_of(v) == OSIRIS_JSON_INT ||
      osiris_json_kind_of(v) == OSIRIS_JSON_DOUBLE) {
    double d = osiris_json_num(v, 0.5);
    if (d != (double)(int64_t)d) return -1;
    *out = osiris_json_int(v, 0);
    return 1;
  }
  s = osiris_json_str(v);
  if (!s) return -1;
  while (*s == ' ') s++;
  if (!*s) return 0;
  errno = 0;
  x = strtoll(s, &end, 10);
  while (*end == ' ') end++;
  if (errno || *end || end == s) return -1;
  *out = (int64_t)x;
  return 1;
}

/* The same lookups for a step (config, then connection). */
static const osiris_json *drv_db_field(osiris_step *step, const char *key) {
  drv_db_src src = drv_db_step_src(step);
  return drv_db_src_field(&src, key);
}

static const char *drv_db_str(osiris_step *step, const char *key) {
  drv_db_src src = drv_db_step_src(step);
  return drv_db_src_str(&src, key);
}

static int drv_db_int(osiris_step *step, const char *key, int64_t *out) {
  drv_db_src src = drv_db_step_src(step);
  return drv_db_src_int(&src, key, out);
}

/* 1/0 for a bool field (also "true"/"false" text), dflt when absent. */
static int drv_db_flag(osiris_step *step, const char *key, int dflt) {
  const osiris_json *v = drv_db_field(step, key);
  const char *s;
  if (!v) return dflt;
  if (osiris_json_kind_of(v) == OSIRIS_JSON_BOOL) return osiris_json_bool(v, dflt);
  if (osiris_json_kind_of(v) == OSIRIS_JSON_INT) return osiris_json_int(v, 0) != 0;
  s = osiris_json_str(v);
  if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)) return 1;
  if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "0") == 0)) return 0;
  return dflt;
}

/* ------------------------------------------------------------------ TLS
 * The TLS keys of both families name a mode and files (CA, client
 * certificate and key, CRL); none holds a secret, so all may appear in
 * messages.  A mode is matched without regard to ASCII case against a
 * NULL-terminated list; the index is the mode, weakest first. */
static int drv_db_tls_mode(const char *value, const char *const *modes) {
  int i;
  for (i = 0; modes[i]; i++) {
    const char *a = value, *b = modes[i];
    while (*a && *b) {
      int ca = (unsigned char)*a, cb = (unsigned char)*b;
      if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
      if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
      if (ca != cb) break;
      a++, b++;
    }
    if (!*a && !*b) return i;
  }
  return -1;
}

/* "A, B or C" from a mode list, for the message naming the allowed values. */
static void drv_db_tls_modes_text(const char *const *modes, char *out, size_t cap) {
  size_t n = 0;
  int i;
  out[0] = 0;
  for (i = 0; modes[i] && n < cap; i++) {
    const char *sep = i == 0 ? "" : modes[i + 1] ? ", " : " or ";
    int w = snprintf(out + n, cap - n, "%s%s", sep, modes[i]);
    if (w < 0) break;
    n += (size_t)w;
  }
}

/* Every TLS file key present must name a file this process can open:
 * the files are read where the step runs (a remote worker too), and a
 * missing one would otherwise surface as a vague handshake error
 * (Connector/C) or, for libpq below verify-ca, be skipped without a word. */
static osiris_rc drv_db_tls_files(const drv_db_src *src, const char *const *keys, const char *what,
                                  char *err, size_t cap) {
  size_t i;
  for (i = 0; keys[i]; i++) {
    const char *path = drv_db_src_str(src, keys[i]);
    FILE *f;
    if (!path) continue;
    f = fopen(path, "rb");
    if (f) {
      fclose(f);
      continue;
    }
    snprintf(err, cap,
             "%s connection: %s %.300s: %s (TLS files are read where the step runs)", what,
             keys[i], path,
             errno == ENOENT   ? "no such file"
             : errno == EACCES ? "permission denied"
                               : "cannot be opened");
    return OSIRIS_EINVAL;
  }
  return OSIRIS_OK;
}

/* Names from a list of strings or from one comma-separated string.
 * *out is malloc'ed (array of borrowed/owned pointers into *store). */
typedef struct drv_db_names {
  char **v;
  size_t n;
} drv_db_names;

static void drv_db_names_free(drv_db_names *nm) {
  size_t i;
  for (i = 0; i < nm->n; i++) osiris_free(nm->v[i]);
  osiris_free(nm->v);
  nm->v = NULL;
  nm->n = 0;
}

static int drv_db_names_push(drv_db_names *nm, const char *s, size_t len) {
  char **v;
  char *c;
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
  if (!len) return 0;
  v = osiris_realloc(nm->v, (nm->n + 1) * sizeof *v);
  if (!v) return -1;
  nm->v = v;
  c = osiris_malloc(len + 1);
  if (!c) return -1;
  memcpy(c, s, len);
  c[len] = 0;
  nm->v[nm->n++] = c;
  return 0;
}

static int drv_db_names_get_raw(osiris_step *step, const char *key, drv_db_names *out);

/* 0 ok (possibly empty), -1 malformed, -2 out of memory; nothing to free
 * on failure. */
static int drv_db_names_get(osiris_step *step, const char *key, drv_db_names *out) {
  int r = drv_db_names_get_raw(step, key, out);
  if (r) drv_db_names_free(out);
  return r;
}

static int drv_db_names_get_raw(osiris_step *step, const char *key, drv_db_names *out) {
  const osiris_json *v = osiris_json_get(osiris_step_config(step), key);
  size_t i;
  memset(out, 0, sizeof *out);
  if (!v || osiris_json_kind_of(v) == OSIRIS_JSON_NULL) return 0;
  if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING) {
    const char *s = osiris_json_str(v), *c;
    while ((c = strchr(s, ',')) != NULL) {
      if (drv_db_names_push(out, s, (size_t)(c - s))) return -2;
      s = c + 1;
    }
    return drv_db_names_push(out, s, strlen(s)) ? -2 : 0;
  }
  if (osiris_json_kind_of(v) != OSIRIS_JSON_ARRAY) return -1;
  for (i = 0; i < osiris_json_size(v); i++) {
    const char *s = osiris_json_str(osiris_json_at(v, i));
    if (!s) return -1;
    if (drv_db_names_push(out, s, strlen(s))) return -2;
  }
  return 0;
}

/* -------------------------------------------------------- value parsing */

static int drv_db_digits(const char *s, size_t len, size_t *i, size_t min, size_t max,
                         int64_t *out) {
  size_t k = 0;
  int64_t v = 0;
  while (*i < len && k < max && s[*i] >= '0' && s[*i] <= '9') {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    k++;
  }
  if (k < min) return -1;
  *out = v;
  return 0;
}

static const int drv_db_mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* "YYYY-MM-DD" at s[*i...].  0 ok, 1 zero date (month or day 0), -1 bad. */
static int drv_db_parse_ymd(const char *s, size_t len, size_t *i, int64_t *days) {
  int64_t y, m, d;
  if (drv_db_digits(s, len, i, 4, 9, &y) || *i >= len || s[*i] != '-') return -1;
  (*i)++;
  if (drv_db_digits(s, len, i, 2, 2, &m) || *i >= len || s[*i] != '-') return -1;
  (*i)++;
  if (drv_db_digits(s, len, i, 2, 2, &d)) return -1;
  if (m == 0 || d == 0) return 1;
  if (m > 12 || d > drv_db_mdays[m]) return -1;
  if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return -1;
  *days = osiris_days_from_civil(y, (int)m, (int)d);
  return 0;
}

/* Date text; 0 ok, 1 zero date, -1 unparseable (e.g. "infinity", BC). */
static int drv_db_parse_date(const char *s, size_t len, int32_t *out) {
  size_t i = 0;
  int64_t days = 0;
  int r = drv_db_parse_ymd(s, len, &i, &days);
  if (r) return r;
  if (i != len || days < INT32_MIN || days > INT32_MAX) return -1;
  *out = (int32_t)days;
  return 0;
}

/* "YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z|+HH[:MM[:SS]]|-HH...]" -> UTC micros.
 * 0 ok, 1 zero date, -1 unparseable. */
static int drv_db_parse_ts(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  int64_t days = 0, hh = 0, mi = 0, ss = 0, us = 0, off = 0;
  int r = drv_db_parse_ymd(s, len, &i, &days);
  if (r) return r;
  if (i < len) {
    if (s[i] != ' ' && s[i] != 'T') return -1;
    i++;
    if (drv_db_digits(s, len, &i, 2, 2, &hh) || i >= len || s[i] != ':') return -1;
    i++;
    if (drv_db_digits(s, len, &i, 2, 2, &mi) || i >= len || s[i] != ':') return -1;
    i++;
    if (drv_db_digits(s, len, &i, 2, 2, &ss)) return -1;
    if (hh > 24 || mi > 59 || ss > 60) return -1;
    if (i < len && s[i] == '.') {
      int64_t scale = 100000;
      i++;
      if (i >= len || s[i] < '0' || s[i] > '9') return -1;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        us += (s[i] - '0') * scale; /* digits past the sixth are dropped */
        scale /= 10;
        i++;
      }
    }
    if (i < len && s[i] == 'Z') {
      i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i] == '-' ? -1 : 1;
      int64_t oh = 0, om = 0, os = 0;
      i++;
      if (drv_db_digits(s, len, &i, 2, 2, &oh)) return -1;
      if (i < len && s[i] == ':') {
        i++;
        if (drv_db_digits(s, len, &i, 2, 2, &om)) return -1;
        if (i < len && s[i] == ':') {
          i++;
          if (drv_db_digits(s, len, &i, 2, 2, &os)) return -1;
        }
      }
      off = sign * (oh * 3600 + om * 60 + os);
    }
  }
  if (i != len) return -1;
  if (days > INT64_MAX / 86400000000LL - 1 || days < INT64_MIN / 86400000000LL + 1) return -1;
  *out = (days * 86400 + hh * 3600 + mi * 60 + ss - off) * 1000000 + us;
  return 0;
}

/* Signed decimal integer, whole text.  0 ok, -1 bad or out of range. */
static int drv_db_parse_i64(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  uint64_t v = 0, lim;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (i == len) return -1;
  lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    unsigned dgt = (unsigned)(s[i] - '0');
    if (dgt > 9) return -1;
    if (v > (lim - dgt) / 10) return -1;
    v = v * 10 + dgt;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static int drv_db_parse_double(const char *s, size_t len, double *out) {
  char small[128], *end;
  const char *z = s;
  char *heap = NULL;
  int rc = 0;
  if (len == 0) return -1;
  if (len < sizeof small) {
    memcpy(small, s, len);
    small[len] = 0;
    z = small;
  } else {
    heap = osiris_malloc(len + 1);
    if (!heap) return -1;
    memcpy(heap, s, len);
    heap[len] = 0;
    z = heap;
  }
  errno = 0;
  *out = osiris_strtod(z, &end);
  /* ERANGE on underflow still gives the right (denormal/zero) value. */
  if (end != z + len) rc = -1;
  osiris_free(heap);
  return rc;
}

/* How a text value from a server becomes a frame value. */
enum {
  DRV_CONV_INT = 1, /* int64 text */
  DRV_CONV_DEC,     /* decimal text (exact) */
  DRV_CONV_DOUBLE,
  DRV_CONV_BOOL,    /* PostgreSQL t/f */
  DRV_CONV_TEXT,    /* UTF-8 text as is */
  DRV_CONV_HEX,     /* bytes -> "\x" + hex */
  DRV_CONV_BIT,     /* MySQL BIT: big-endian bytes -> int64 */
  DRV_CONV_DATE,
  DRV_CONV_TS
};

typedef struct drv_db_col {
  int conv;
  int warned; /* a null-substitution event was already emitted */
} drv_db_col;

/* Append one server text value to column c of frame f.  Zero dates and
 * values a frame cannot hold (infinite dates, numeric NaN) become NULL with
 * one event per column; anything else malformed fails the step. */
static osiris_rc drv_db_append(osiris_step *step, osiris_frame *f, size_t c, drv_db_col *col,
                               const char *s, size_t len, osiris_buf *scratch) {
  osiris_rc rc;
  const char *why = NULL;
  switch (col->conv) {
  case DRV_CONV_INT: {
    int64_t v;
    if (drv_db_parse_i64(s, len, &v) == 0) return osiris_frame_append_int64(f, c, v);
    break;
  }
  case DRV_CONV_DEC:
    rc = osiris_frame_append_text(f, c, s, len);
    if (rc != OSIRIS_EINVAL) return rc;
    why = "decimal_not_a_number_as_null"; /* NaN / Infinity */
    break;
  case DRV_CONV_DOUBLE: {
    double v;
    if (drv_db_parse_double(s, len, &v) == 0) return osiris_frame_append_double(f, c, v);
    break;
  }
  case DRV_CONV_BOOL:
    if (len == 1 && (s[0] == 't' || s[0] == 'f')) return osiris_frame_append_bool(f, c, s[0] == 't');
    break;
  case DRV_CONV_TEXT:
    return osiris_frame_append_text(f, c, s, len);
  case DRV_CONV_HEX:
    scratch->len = 0;
    osiris_buf_puts(scratch, "\\x");
    osiris_buf_hex(scratch, s, len);
    if (scratch->oom) return OSIRIS_ENOMEM;
    return osiris_frame_append_text(f, c, scratch->p, scratch->len);
  case DRV_CONV_BIT: {
    uint64_t v = 0;
    size_t i;
    if (len > 8) break;
    for (i = 0; i < len; i++) v = (v << 8) | (unsigned char)s[i];
    return osiris_frame_append_int64(f, c, (int64_t)v); /* BIT(64) wraps */
  }
  case DRV_CONV_DATE: {
    int32_t d = 0;
    int r = drv_db_parse_date(s, len, &d);
    if (r == 0) return osiris_frame_append_date(f, c, d);
    why = r == 1 ? "zero_date_as_null" : "date_out_of_range_as_null";
    break;
  }
  case DRV_CONV_TS: {
    int64_t t = 0;
    int r = drv_db_parse_ts(s, len, &t);
    if (r == 0) return osiris_frame_append_timestamp(f, c, t);
    why = r == 1 ? "zero_date_as_null" : "date_out_of_range_as_null";
    break;
  }
  default: break;
  }
  if (!why) {
    return osiris_step_fail(step, OSIRIS_EPARSE, "column %s: cannot read value '%.*s' as %s",
                            osiris_frame_col_name(f, c), (int)(len > 60 ? 60 : len), s,
                            osiris_type_name(osiris_frame_col_type(f, c)));
  }
  if (!col->warned) {
    osiris_json *ev = drv_db_obj();
    col->warned = 1;
    drv_db_set_str(ev, "column", osiris_frame_col_name(f, c));
    if (ev && len <= 60) osiris_json_set(ev, "value", osiris_json_new_str(s, len));
    osiris_step_event(step, why, ev);
    osiris_step_log(step, 2, "column %s: value '%.*s' became NULL (%s)",
                    osiris_frame_col_name(f, c), (int)(len > 60 ? 60 : len), s, why);
  }
  return osiris_frame_append_null(f, c);
}

/* ------------------------------------------------------ identifiers, SQL */

/* Append an identifier quoted with q (` or "), doubling q inside; dotted
 * names ("schema.table") are quoted part by part when split is set. */
static void drv_db_ident(osiris_buf *b, const char *name, char q, int split) {
  const char *p;
  osiris_buf_putc(b, q);
  for (p = name; *p; p++) {
    if (*p == q) osiris_buf_putc(b, q);
    if (split && *p == '.') {
      osiris_buf_putc(b, q);
      osiris_buf_putc(b, '.');
      osiris_buf_putc(b, q);
      continue;
    }
    osiris_buf_putc(b, *p);
  }
  osiris_buf_putc(b, q);
}

/* A SQL string literal: E'...' with backslash and quote escaped, read
 * the same whatever standard_conforming_strings says (PostgreSQL; MySQL
 * reads the same text without the E, see drv_db_build_select). */
static void drv_db_literal(osiris_buf *b, const char *s, size_t len, int pg) {
  size_t i;
  if (pg) osiris_buf_putc(b, 'E');
  osiris_buf_putc(b, '\'');
  for (i = 0; i < len; i++) {
    if (s[i] == '\'' || s[i] == '\\') osiris_buf_putc(b, '\\');
    osiris_buf_putc(b, s[i]);
  }
  osiris_buf_putc(b, '\'');
}

/* One PostgREST filter (supabase.extractor filter: {column: "op.value"})
 * as a SQL condition: eq neq gt gte lt lte like ilike (* is %), is
 * (null, true, false, unknown), in.(a,b,"c,d"), and not.<op>.  0 ok, -1
 * with msg set. */
static int drv_db_rest_filter(osiris_buf *b, const char *col, const char *expr, char q,
                              char *msg, size_t cap) {
  static const struct {
    const char *op, *sql;
  } ops[] = {{"eq", " = "},  {"neq", " <> "},      {"gt", " > "},         {"gte", " >= "},
             {"lt", " < "},  {"lte", " <= "},      {"like", " LIKE "},    {"ilike", " ILIKE "},
             {"is", " IS "}, {"in", " IN "},       {NULL, NULL}};
  const char *dot = strchr(expr, '.'), *val;
  size_t i, oplen;
  int neg = 0;
  if (strncmp(expr, "not.", 4) == 0) neg = 1, expr += 4, dot = strchr(expr, '.');
  if (!dot) goto bad;
  oplen = (size_t)(dot - expr);
  val = dot + 1;
  for (i = 0; ops[i].op; i++)
    if (strlen(ops[i].op) == oplen && strncmp(ops[i].op, expr, oplen) == 0) break;
  if (!ops[i].op) goto bad;
  if (neg) osiris_buf_puts(b, "NOT (");
  drv_db_ident(b, col, q, 0);
  osiris_buf_puts(b, ops[i].sql);
  if (strcmp(ops[i].op, "is") == 0) {
    if (!strcasecmp(val, "null") || !strcasecmp(val, "true") || !strcasecmp(val, "false") ||
        !strcasecmp(val, "unknown"))
      for (; *val; val++) osiris_buf_putc(b, (char)toupper((unsigned char)*val));
    else
      goto bad;
  } else if (strcmp(ops[i].op, "in") == 0) {
    size_t n = strlen(val), k, start;
    int items = 0;
    if (n < 3 || val[0] != '(' || val[n - 1] != ')') goto bad; /* in.() matches nothing: refused */
    osiris_buf_putc(b, '(');
    for (k = start = 1; k < n; k++) { /* items split at commas outside "..." */
      if (val[k] == '"') {
        osiris_buf item = {0};
        for (k++; k < n - 1 && val[k] != '"'; k++) {
          if (val[k] == '\\' && k + 1 < n - 1) k++;
          osiris_buf_putc(&item, val[k]);
        }
        if (val[k] != '"' || (val[k + 1] != ',' && k + 1 != n - 1)) {
          osiris_buf_free(&item);
          goto bad;
        }
        if (items++) osiris_buf_puts(b, ", ");
        drv_db_literal(b, item.p ? item.p : "", item.len, q == '"');
        osiris_buf_free(&item);
        k++;
        start = k + 1;
        continue;
      }
      if (val[k] != ',' && k != n - 1) continue;
      if (items++) osiris_buf_puts(b, ", ");
      drv_db_literal(b, val + start, k - start, q == '"');
      start = k + 1;
    }
    if (!items) goto bad;
    osiris_buf_putc(b, ')');
  } else if (strcmp(ops[i].op, "like") == 0 || strcmp(ops[i].op, "ilike") == 0) {
    osiris_buf pat = {0};
    for (; *val; val++) osiris_buf_putc(&pat, *val == '*' ? '%' : *val);
    drv_db_literal(b, pat.p ? pat.p : "", pat.len, q == '"');
    osiris_buf_free(&pat);
  } else {
    drv_db_literal(b, val, strlen(val), q == '"');
  }
  if (neg) osiris_buf_putc(b, ')');
  return 0;
bad:
  snprintf(msg, cap,
           "filter.%.100s: \"%.100s\" is not a PostgREST filter this driver maps onto SQL "
           "(eq, neq, gt, gte, lt, lte, like, ilike, is, in, each may follow not.)",
           col, expr);
  return -1;
}

/* PostgREST order "col[.asc|.desc][.nullsfirst|.nullslast], ..." as an
 * ORDER BY list.  0 ok, -1 malformed. */
static int drv_db_rest_order(osiris_buf *b, const char *order, char q) {
  drv_db_names parts;
  size_t i;
  int out = 0;
  memset(&parts, 0, sizeof parts);
  {
    const char *s = order, *c;
    while ((c = strchr(s, ',')) != NULL) {
      if (drv_db_names_push(&parts, s, (size_t)(c - s))) out = -1;
      s = c + 1;
    }
    if (drv_db_names_push(&parts, s, strlen(s))) out = -1;
  }
  if (!parts.n) out = -1;
  for (i = 0; i < parts.n && !out; i++) {
    char *item = parts.v[i], *mod = strchr(item, '.');
    if (mod) *mod++ = 0;
    if (!*item) out = -1;
    osiris_buf_puts(b, i ? ", " : " ORDER BY ");
    drv_db_ident(b, item, q, 0);
    while (mod && !out) {
      char *next = strchr(mod, '.');
      if (next) *next++ = 0;
      if (strcmp(mod, "asc") == 0) osiris_buf_puts(b, " ASC");
      else if (strcmp(mod, "desc") == 0) osiris_buf_puts(b, " DESC");
      else if (strcmp(mod, "nullsfirst") == 0 && q == '"') osiris_buf_puts(b, " NULLS FIRST");
      else if (strcmp(mod, "nullslast") == 0 && q == '"') osiris_buf_puts(b, " NULLS LAST");
      else out = -1;
      mod = next;
    }
  }
  drv_db_names_free(&parts);
  return out;
}

/* SELECT for the `table` form of an extractor: columns (or its alias
 * select, where "*" is every column), schema (the table's qualifier:
 * MySQL database, PostgreSQL schema) and, for supabase.extractor, the
 * PostgREST-style filter and order, then limit and offset. */
static osiris_rc drv_db_build_select(osiris_step *step, char q, osiris_buf *sql) {
  const osiris_json *cfg = osiris_step_config(step);
  const char *query = drv_db_str(step, "query");
  const char *table = osiris_json_str(osiris_json_get(cfg, "table"));
  const char *schema = osiris_json_str(osiris_json_get(cfg, "schema"));
  const char *order = osiris_json_str(osiris_json_get(cfg, "order"));
  const osiris_json *filter = osiris_json_get(cfg, "filter");
  drv_db_names cols;
  int64_t limit = -1, offset = 0;
  int r, has_limit, has_offset;
  size_t i;
  char msg[512];
  if (query && table && *table)
    return osiris_step_fail(step, OSIRIS_EINVAL, "give either query or table, not both");
  has_offset = drv_db_int(step, "offset", &offset);
  if (has_offset < 0 || (has_offset > 0 && offset < 0))
    return osiris_step_fail(step, OSIRIS_EINVAL, "offset must be a non-negative integer");
  if (query) {
    size_t n = strlen(query);
    static const char *const table_only[] = {"offset", "filter", "order", "select", NULL};
    for (i = 0; table_only[i]; i++)
      if (osiris_json_get(cfg, table_only[i]) &&
          osiris_json_kind_of(osiris_json_get(cfg, table_only[i])) != OSIRIS_JSON_NULL)
        return osiris_step_fail(step, OSIRIS_EINVAL,
                                "%s applies to table, not to query (write it into the query)",
                                table_only[i]);
    while (n && (query[n - 1] == ';' || query[n - 1] == ' ' || query[n - 1] == '\n' ||
                 query[n - 1] == '\t' || query[n - 1] == '\r'))
      n--;
    if (!n) return osiris_step_fail(step, OSIRIS_EINVAL, "query is empty");
    osiris_buf_put(sql, query, n);
    return sql->oom ? OSIRIS_ENOMEM : OSIRIS_OK;
  }
  if (!table || !*table)
    return osiris_step_fail(step, OSIRIS_EINVAL, "one of query or table is required");
  has_limit = drv_db_int(step, "limit", &limit);
  if (has_limit < 0 || (has_limit > 0 && limit < 0))
    return osiris_step_fail(step, OSIRIS_EINVAL, "limit must be a non-negative integer");
  r = drv_db_names_get(step, osiris_json_get(cfg, "select") ? "select" : "columns", &cols);
  if (r == -2) return OSIRIS_ENOMEM;
  if (r == -1) return osiris_step_fail(step, OSIRIS_EINVAL, "columns must be a list of names");
  if (cols.n == 1 && strcmp(cols.v[0], "*") == 0) drv_db_names_free(&cols);
  for (i = 0; i < cols.n; i++)
    if (strpbrk(cols.v[i], "():*!") || strstr(cols.v[i], "->")) {
      snprintf(msg, sizeof msg, "select: \"%.100s\" is a PostgREST feature (embedding, renaming, "
               "casts, JSON paths) this driver does not map onto SQL; name plain columns",
               cols.v[i]);
      drv_db_names_free(&cols);
      return osiris_step_fail(step, OSIRIS_EINVAL, "%s", msg);
    }
  osiris_buf_puts(sql, "SELECT ");
  if (!cols.n) osiris_buf_putc(sql, '*');
  for (i = 0; i < cols.n; i++) {
    if (i) osiris_buf_puts(sql, ", ");
    drv_db_ident(sql, cols.v[i], q, 0);
  }
  drv_db_names_free(&cols);
  osiris_buf_puts(sql, " FROM ");
  if (schema && *schema && !strchr(table, '.')) {
    drv_db_ident(sql, schema, q, 0);
    osiris_buf_putc(sql, '.');
    drv_db_ident(sql, table, q, 0);
  } else {
    drv_db_ident(sql, table, q, 1);
  }
  if (filter && osiris_json_kind_of(filter) != OSIRIS_JSON_NULL) {
    if (osiris_json_kind_of(filter) != OSIRIS_JSON_OBJECT)
      return osiris_step_fail(step, OSIRIS_EINVAL, "filter must be a mapping {column: \"op.value\"}");
    for (i = 0; i < osiris_json_size(filter); i++) {
      const char *expr = osiris_json_str(osiris_json_at(filter, i));
      osiris_buf_puts(sql, i ? " AND " : " WHERE ");
      if (!expr) {
        snprintf(msg, sizeof msg, "filter.%.100s must be a string \"op.value\"",
                 osiris_json_key_at(filter, i));
        return osiris_step_fail(step, OSIRIS_EINVAL, "%s", msg);
      }
      if (drv_db_rest_filter(sql, osiris_json_key_at(filter, i), expr, q, msg, sizeof msg))
        return osiris_step_fail(step, OSIRIS_EINVAL, "%s", msg);
    }
  }
  if (order && *order && drv_db_rest_order(sql, order, q))
    return osiris_step_fail(step, OSIRIS_EINVAL,
                            "order \"%s\" is not column[.asc|.desc][.nullsfirst|.nullslast], ...",
                            order);
  if (has_limit > 0) osiris_buf_printf(sql, " LIMIT %lld", (long long)limit);
  else if (has_offset > 0 && q == '`') osiris_buf_puts(sql, " LIMIT 18446744073709551615");
  if (has_offset > 0) osiris_buf_printf(sql, " OFFSET %lld", (long long)offset);
  return sql->oom ? OSIRIS_ENOMEM : OSIRIS_OK;
}

/* Largest number of digits after the point among a decimal column's
 * values, at least the declared scale; DDL uses it so that no value gets
 * rounded (a SUM() over NUMERIC has no declared scale). */
static int drv_db_dec_scale(const osiris_frame *f, size_t c) {
  int best = osiris_frame_col_scale(f, c);
  size_t r, rows = osiris_frame_rows(f);
  for (r = 0; r < rows; r++) {
    size_t len, i;
    const char *s;
    if (osiris_frame_is_null(f, c, r)) continue;
    s = osiris_frame_get_text(f, c, r, &len);
    for (i = 0; i < len && s[i] != '.'; i++) {}
    if (i < len && s[i] == '.') {
      size_t k = i + 1, d = 0;
      while (k < len && s[k] >= '0' && s[k] <= '9') k++, d++;
      if ((int)d > best) best = (int)d;
    }
  }
  return best > 38 ? 38 : best;
}

/* Write mode and primary key common to both writers. */
enum { DRV_MODE_APPEND = 1, DRV_MODE_REPLACE, DRV_MODE_UPSERT };

typedef struct drv_db_wopts {
  const char *table;  /* as configured */
  const char *schema; /* PostgreSQL only */
  int mode;
  const char *mode_name;
  drv_db_names pk;
  int create;
  int64_t batch_size;
  /* The input batch at hand (borrowed): the first one after
   * drv_db_wopts_get, whose columns every later batch shares; the whole
   * input after drv_db_gather; NULL once drv_db_next reached the end. */
  const osiris_frame *in;
  int64_t total;  /* input rows; -1 while unknown (a streamed input) */
  size_t *pk_col; /* frame column index per pk name */
} drv_db_wopts;

static void drv_db_wopts_free(drv_db_wopts *o) {
  drv_db_names_free(&o->pk);
  osiris_free(o->pk_col);
  o->pk_col = NULL;
}

static osiris_rc drv_db_wopts_get(osiris_step *step, drv_db_wopts *o, int64_t batch_dflt) {
  const char *m;
  int r, truncate;
  osiris_rc rc;
  size_t i, c;
  memset(o, 0, sizeof *o);
  o->table = osiris_json_str(osiris_json_get(osiris_step_config(step), "table"));
  if (!o->table || !*o->table) return osiris_step_fail(step, OSIRIS_EINVAL, "table is required");
  o->schema = osiris_json_str(osiris_json_get(osiris_step_config(step), "schema"));
  if (!o->schema || !*o->schema) o->schema = "public";
  /* write_mode (any case, as validate accepts it), else mode, else
   * truncate_before: true (mysql.writer: replace); validate refused them
   * disagreeing, and a hand-written manifest that has them disagree
   * fails here. */
  m = osiris_json_str(osiris_json_get(osiris_step_config(step), "write_mode"));
  if (!m) m = osiris_json_str(osiris_json_get(osiris_step_config(step), "mode"));
  truncate = drv_db_flag(step, "truncate_before", 0);
  if (truncate && (!m || !strcasecmp(m, "write"))) m = "replace"; /* write: the step's mode */
  if (!m || !strcasecmp(m, "append") || !strcasecmp(m, "insert") || !strcasecmp(m, "write"))
    o->mode = DRV_MODE_APPEND, o->mode_name = "append";
  else if (!strcasecmp(m, "replace"))
    o->mode = DRV_MODE_REPLACE, o->mode_name = "replace";
  else if (!strcasecmp(m, "upsert"))
    o->mode = DRV_MODE_UPSERT, o->mode_name = "upsert";
  else
    return osiris_step_fail(step, OSIRIS_EINVAL,
                            "write_mode '%s' is not one of append, replace, upsert", m);
  if (truncate && o->mode != DRV_MODE_REPLACE)
    return osiris_step_fail(step, OSIRIS_EINVAL,
                            "truncate_before: true means write_mode replace, not '%s'", m);
  /* primary_key, or its 0.5.7 name upsert_keys (validate refuses both) */
  r = drv_db_names_get(step,
                       osiris_json_get(osiris_step_config(step), "primary_key") ? "primary_key"
                                                                                : "upsert_keys",
                       &o->pk);
  if (r == -2) return OSIRIS_ENOMEM;
  if (r == -1)
    return osiris_step_fail(step, OSIRIS_EINVAL, "primary_key must be a name or a list of names");
  if (o->mode != DRV_MODE_APPEND && !o->pk.n)
    return osiris_step_fail(step, OSIRIS_EINVAL, "primary_key is required when write_mode is '%s'",
                            o->mode_name);
  /* create_if_missing, or its 0.5.7 name create_table */
  o->create = drv_db_flag(step, "create_if_missing", drv_db_flag(step, "create_table", 0));
  o->batch_size = batch_dflt;
  r = drv_db_int(step, "batch_size", &o->batch_size);
  if (r < 0 || o->batch_size < 1)
    return osiris_step_fail(step, OSIRIS_EINVAL, "batch_size must be a positive integer");
  /* Only the first batch here: a streamed input is written batch by
   * batch (drv_db_next), so that a few batches are in memory at a time. */
  rc = osiris_step_next(step, &o->in);
  if (rc) return osiris_step_fail(step, rc, "stopped before the first row: the upstream step failed");
  if (!o->in) return osiris_step_fail(step, OSIRIS_EINVAL, "no input frame (needs an upstream step)");
  o->total = osiris_step_streamed(step) ? -1 : (int64_t)osiris_frame_rows(o->in);
  if (!osiris_frame_cols(o->in))
    return osiris_step_fail(step, OSIRIS_EINVAL, "the input frame has no columns");
  o->pk_col = osiris_calloc(o->pk.n ? o->pk.n : 1, sizeof *o->pk_col);
  if (!o->pk_col) return OSIRIS_ENOMEM;
  for (i = 0; i < o->pk.n; i++) {
    for (c = 0; c < osiris_frame_cols(o->in); c++)
      if (strcmp(osiris_frame_col_name(o->in, c), o->pk.v[i]) == 0) break;
    if (c == osiris_frame_cols(o->in))
      return osiris_step_fail(step, OSIRIS_EINVAL, "primary_key column '%s' is not in the input",
                              o->pk.v[i]);
    o->pk_col[i] = c;
  }
  return OSIRIS_OK;
}

/* The whole input as o->in (the batch at hand joined with the rest), for
 * what must see every value first: DDL sized from the data, REST. */
static osiris_rc drv_db_gather(osiris_step *step, drv_db_wopts *o) {
  const osiris_frame *all = NULL;
  osiris_rc rc = osiris_step_gather(step, &all);
  if (rc)
    return osiris_step_fail(step, rc, "%s before writing any row: the upstream step failed",
                            osiris_step_cancelled(step) ? "cancelled" : "stopped");
  if (!all) return osiris_step_fail(step, OSIRIS_EINVAL, "no input frame (needs an upstream step)");
  o->in = all;
  o->total = (int64_t)osiris_frame_rows(all);
  return OSIRIS_OK;
}

/* The next input batch as o->in, NULL at the end; done counts the rows of
 * the batches before it.  On failure (the upstream step failed or the run
 * was interrupted) err holds the reason and the step's error is set. */
static osiris_rc drv_db_next(osiris_step *step, drv_db_wopts *o, size_t done, const char *what,
                             const char *disp, char *err, size_t cap) {
  const osiris_frame *b = NULL;
  size_t want = osiris_frame_cols(o->in);
  osiris_rc rc = osiris_step_next(step, &b);
  o->in = b;
  if (rc) {
    snprintf(err, cap, "%s after %zu rows: %s", osiris_step_cancelled(step) ? "cancelled" : "stopped",
             done, osiris_step_cancelled(step) ? "the run was interrupted"
                                                 : "the upstream step failed");
    return osiris_step_fail(step, rc, "%s write to %s %s", what, disp, err);
  }
  if (b && osiris_frame_cols(b) != want) {
    snprintf(err, cap, "an input batch after row %zu has %zu columns instead of %zu", done,
             osiris_frame_cols(b), want);
    return osiris_step_fail(step, OSIRIS_EINVAL, "%s write to %s failed: %s", what, disp, err);
  }
  return OSIRIS_OK;
}

/* 1 when a column is DECIMAL: CREATE TABLE then sizes it from the data. */
static int drv_db_has_decimal(const drv_db_wopts *o) {
  size_t c;
  for (c = 0; c < osiris_frame_cols(o->in); c++)
    if (osiris_frame_col_type(o->in, c) == OSIRIS_TYPE_DECIMAL) return 1;
  return 0;
}

static int drv_db_is_pk(const drv_db_wopts *o, size_t col) {
  size_t i;
  for (i = 0; i < o->pk.n; i++)
    if (o->pk_col[i] == col) return 1;
  return 0;
}

/* Progress: write.progress at most every 100k rows or 2 s. */
typedef struct drv_db_progress {
  int64_t t0, last_ms;
  size_t last_rows;
} drv_db_progress;

static void drv_db_progress_tick(osiris_step *step, drv_db_progress *p, const char *table,
                                 size_t done, int64_t total) {
  int64_t now;
  osiris_json *ev;
  if (done - p->last_rows < DRV_DB_PROGRESS_ROWS && (done & 1023) != 0) return;
  now = drv_db_now_ms();
  if (done - p->last_rows < DRV_DB_PROGRESS_ROWS && now - p->last_ms < DRV_DB_PROGRESS_MS) return;
  p->last_rows = done;
  p->last_ms = now;
  ev = drv_db_obj();
  drv_db_set_str(ev, "table", table);
  drv_db_set_int(ev, "rows_written", (int64_t)done);
  if (total >= 0) drv_db_set_int(ev, "rows_total", total); /* unknown while streamed */
  drv_db_set_int(ev, "elapsed_ms", now - p->t0);
  osiris_step_event(step, "write.progress", ev);
}

/* Save the planned DDL as artifacts/<step>/ddl_plan.sql; returns the
 * relative-to-artifacts file name or NULL. */
static const char *drv_db_save_ddl(osiris_step *step, const char *ddl) {
  osiris_buf path = {0};
  FILE *fp;
  const char *ok = NULL;
  const char *dir = osiris_step_artifacts_dir(step);
  if (!dir) return NULL;
  osiris_buf_printf(&path, "%s/ddl_plan.sql", dir);
  if (path.oom) goto done;
  fp = fopen(path.p, "wb");
  if (!fp) goto done;
  if (fputs(ddl, fp) >= 0 && fputs("\n", fp) >= 0) ok = "ddl_plan.sql";
  if (fclose(fp) != 0) ok = NULL;
  if (ok) osiris_step_file_written(step, path.p, "ddl_plan");
done:
  osiris_buf_free(&path);
  return ok;
}

static void drv_db_ddl_events(osiris_step *step, const char *schema, const char *table,
                              const char *ddl, int executed) {
  osiris_json *ev = drv_db_obj();
  drv_db_set_str(ev, "table", table);
  if (schema) drv_db_set_str(ev, "schema", schema);
  if (!executed) {
    const char *saved = drv_db_save_ddl(step, ddl);
    drv_db_set_str(ev, "ddl", ddl);
    if (saved) drv_db_set_str(ev, "ddl_path", saved);
    osiris_step_event(step, "table.ddl_planned", ev);
  } else {
    drv_db_set_bool(ev, "executed", 1);
    osiris_step_event(step, "table.ddl_executed", ev);
  }
}

static void drv_db_exists_event(osiris_step *step, const char *schema, const char *table,
                                int exists) {
  osiris_json *ev = drv_db_obj();
  drv_db_set_str(ev, "table", table);
  if (schema) drv_db_set_str(ev, "schema", schema);
  drv_db_set_bool(ev, "exists", exists);
  osiris_step_event(step, "table.exists_check", ev);
}

static void drv_db_write_start(osiris_step *step, const drv_db_wopts *o, const char *channel) {
  osiris_json *ev = drv_db_obj();
  drv_db_set_str(ev, "table", o->table);
  drv_db_set_str(ev, "mode", o->mode_name);
  if (o->total >= 0) drv_db_set_int(ev, "rows", o->total); /* unknown while streamed */
  drv_db_set_int(ev, "batch_size", o->batch_size);
  drv_db_set_str(ev, "channel", channel);
  osiris_step_event(step, "write.start", ev);
}

static void drv_db_write_complete(osiris_step *step, const drv_db_wopts *o, const char *channel,
                                  size_t rows, int64_t t0) {
  osiris_json *ev = drv_db_obj();
  int64_t ms = drv_db_now_ms() - t0;
  drv_db_set_str(ev, "table", o->table);
  drv_db_set_str(ev, "mode", o->mode_name);
  drv_db_set_int(ev, "rows_written", (int64_t)rows);
  drv_db_set_int(ev, "duration_ms", ms);
  drv_db_set_str(ev, "channel_used", channel);
  osiris_step_event(step, "write.complete", ev);
  osiris_step_metric(step, "rows_written", (double)rows, "rows");
}

static void drv_db_write_error(osiris_step *step, const char *table, const char *msg) {
  osiris_json *ev = drv_db_obj();
  drv_db_set_str(ev, "table", table);
  drv_db_set_str(ev, "error", msg);
  osiris_step_event(step, "write.error", ev);
}

/* Extractors, when a value cannot go into the frame (rc from
 * drv_db_append): the step's error, naming the row and column. */
static osiris_rc drv_db_value_fail(osiris_step *step, osiris_rc rc, size_t rows, const char *col,
                                   const char *what) {
  if (rc == OSIRIS_EINVAL)
    return osiris_step_fail(step, OSIRIS_EINVAL, "row %zu, column %s: invalid value%s", rows + 1,
                            col, what);
  if (rc == OSIRIS_ENOMEM || rc == OSIRIS_ELIMIT)
    return osiris_step_fail(step, rc, "row %zu: frame is out of memory", rows + 1);
  return rc;
}

/* Hand the rows built so far downstream (drv_db_row_end). */
static osiris_rc drv_db_flush(osiris_step *step, osiris_frame *f, size_t rows) {
  osiris_rc rc = osiris_step_flush(step, f);
  if ((rows & 4095) == 0) osiris_step_progress(step, (int64_t)rows); /* --verbose line */
  if (rc == OSIRIS_OK) return OSIRIS_OK;
  if (rc != OSIRIS_ECANCEL)
    return osiris_step_fail(step, rc, "row %zu: cannot hand rows to the downstream step", rows);
  if (osiris_step_cancelled(step))
    return osiris_step_fail(step, rc, "cancelled after %zu rows", rows);
  return osiris_step_fail(step, rc, "stopped after %zu rows: the downstream step stopped", rows);
}

/* Extractors, after each row's values: complete the row, count it in
 * *rows (every row read, also those already handed over), hand the rows
 * built so far downstream when the step is streamed (a no-op otherwise),
 * and stop when the run was cancelled. */
static osiris_rc drv_db_row_end(osiris_step *step, osiris_frame *f, size_t *rows) {
  osiris_rc rc = osiris_frame_end_row(f);
  if (rc) return osiris_step_fail(step, rc, "row %zu: cannot complete the frame row", *rows + 1);
  ++*rows;
  if ((rc = drv_db_flush(step, f, *rows)) != OSIRIS_OK) return rc;
  if (*rows % DRV_DB_CANCEL_EVERY == 0 && osiris_step_cancelled(step))
    return osiris_step_fail(step, OSIRIS_ECANCEL, "cancelled after %zu rows", *rows);
  return OSIRIS_OK;
}

/* ======================================================================
 * 3d. MySQL/MariaDB: mysql.extractor, mysql.writer
 * ====================================================================== */

/* Connection facts for messages; the password is kept apart. */
typedef struct drv_mysql_conn {
  MYSQL *my;
  char host[256];
  int port;
  char db[256];
  const char *password; /* borrowed; for masking only */
} drv_mysql_conn;

static void drv_mysql_close(drv_mysql_conn *c) {
  if (c->my) mysql_close(c->my);
  c->my = NULL;
}

/* The last client error, masked. */
static const char *drv_mysql_err(drv_mysql_conn *c, char *buf, size_t cap) {
  const char *secrets[1];
  secrets[0] = c->password;
  drv_db_mask(buf, cap, c->my ? mysql_error(c->my) : "out of memory", secrets, 1);
  return buf;
}

/* ssl_mode, MySQL's names, weakest first.  Connector/C 3.3 has no such
 * option, only switches:
 *   DISABLED         SSL_ENFORCE 0, VERIFY_SERVER_CERT 0, no TLS file set
 *                    (any of them would switch TLS back on);
 *   PREFERRED        SSL_ENFORCE 1: TLS when the server offers it, else
 *                    plain text; nothing verified unless ssl_ca/ssl_capath
 *                    is set (then Connector/C checks the chain, in every
 *                    mode that uses TLS);
 *   REQUIRED         as PREFERRED, and a connection left without TLS is
 *                    closed with an error (Connector/C would go on in
 *                    plain text);
 *   VERIFY_CA,       also VERIFY_SERVER_CERT 1: chain and host name, which
 *   VERIFY_IDENTITY  Connector/C checks together (the system CA store when
 *                    neither ssl_ca nor ssl_capath is set).
 * Without ssl_mode a connection is DISABLED, as it was before the key
 * existed (and as Connector/C 3.3 is), so a server whose TLS this client
 * cannot speak keeps working; then no other TLS key may be set, since
 * guessing a mode from them would either ignore them or, Connector/C's
 * way, turn TLS on without saying how much is checked. */
enum { DRV_MYSQL_DISABLED, DRV_MYSQL_PREFERRED, DRV_MYSQL_REQUIRED };
static const char *const drv_mysql_ssl_modes[] = {"DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA",
                                                  "VERIFY_IDENTITY", NULL};
static const char *const drv_mysql_tls_files[] = {"ssl_ca", "ssl_cert", "ssl_key", NULL};
static const char *const drv_mysql_tls_keys[] = {"ssl_ca",  "ssl_capath", "ssl_cert",
                                                 "ssl_key", "ssl_cipher", NULL};

/* The ssl_mode of src (DRV_MYSQL_* or above), checked with its files
 * before anything connects. */
static osiris_rc drv_mysql_tls_mode(const drv_db_src *src, int *mode, char *err, size_t cap) {
  const char *v = drv_db_src_str(src, "ssl_mode");
  char allowed[80];
  size_t i;
  if (!v) {
    *mode = DRV_MYSQL_DISABLED;
    for (i = 0; drv_mysql_tls_keys[i]; i++) {
      if (!drv_db_src_str(src, drv_mysql_tls_keys[i])) continue;
      snprintf(err, cap,
               "MySQL connection: %s is set but ssl_mode is not: give ssl_mode "
               "(VERIFY_IDENTITY recommended)",
               drv_mysql_tls_keys[i]);
      return OSIRIS_EINVAL;
    }
    return OSIRIS_OK;
  }
  *mode = drv_db_tls_mode(v, drv_mysql_ssl_modes);
  if (*mode < 0) {
    drv_db_tls_modes_text(drv_mysql_ssl_modes, allowed, sizeof allowed);
    snprintf(err, cap, "MySQL connection: ssl_mode \"%.40s\" is not one of %s (any case)", v,
             allowed);
    return OSIRIS_EINVAL;
  }
  if (*mode == DRV_MYSQL_DISABLED) return OSIRIS_OK;
  return drv_db_tls_files(src, drv_mysql_tls_files, "MySQL", err, cap);
}

static void drv_mysql_tls_options(const drv_db_src *src, MYSQL *my, int mode) {
  static const struct {
    const char *key;
    enum mysql_option opt;
  } files[] = {{"ssl_ca", MYSQL_OPT_SSL_CA},         {"ssl_capath", MYSQL_OPT_SSL_CAPATH},
               {"ssl_cert", MYSQL_OPT_SSL_CERT},     {"ssl_key", MYSQL_OPT_SSL_KEY},
               {"ssl_cipher", MYSQL_OPT_SSL_CIPHER}};
  my_bool enforce = mode != DRV_MYSQL_DISABLED, verify = mode > DRV_MYSQL_REQUIRED;
  size_t i;
  mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &enforce);
  mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  if (mode == DRV_MYSQL_DISABLED) return;
  for (i = 0; i < sizeof files / sizeof files[0]; i++) {
    const char *v = drv_db_src_str(src, files[i].key);
    if (v) mysql_options(my, files[i].opt, v);
  }
}

/* Connect with the fields of src; on failure err holds a message without
 * any secret and nothing is left open.  timeout: connect timeout, s.
 * local_infile: offer LOAD DATA LOCAL INFILE (the writer only; it serves
 * the server's file request from memory with its own handler, never from
 * a file; every other connection declines such a request). */
static osiris_rc drv_mysql_connect_src(const drv_db_src *src, drv_mysql_conn *c,
                                       unsigned int timeout, int local_infile, char *err,
                                       size_t cap) {
  const char *host = drv_db_src_str(src, "host");
  const char *user = drv_db_src_str(src, "user");
  const char *db = drv_db_src_str(src, "database");
  const char *sock = drv_db_src_str(src, "socket");
  const char *pw = osiris_json_str(drv_db_src_field(src, "password"));
  int64_t port = 3306;
  int tls;
  char msg[512];
  osiris_rc rc;
  memset(c, 0, sizeof *c);
  if (!host) host = "localhost";
  if (!user) user = "root";
  if (!db) db = drv_db_src_str(src, "db");
  if (!db) {
    snprintf(err, cap, "MySQL connection: database is required");
    return OSIRIS_EINVAL;
  }
  if (drv_db_src_int(src, "port", &port) < 0 || port < 0 || port > 65535) {
    snprintf(err, cap, "MySQL connection: port must be an integer 1..65535");
    return OSIRIS_EINVAL;
  }
  rc = drv_mysql_tls_mode(src, &tls, err, cap);
  if (rc) return rc;
  snprintf(c->host, sizeof c->host, "%s", host);
  snprintf(c->db, sizeof c->db, "%s", db);
  c->port = (int)port;
  c->password = pw;
  c->my = mysql_init(NULL);
  if (!c->my) { /* ./osiris loads libmariadb here: stderr says when it is missing */
    snprintf(err, cap, "cannot start the MySQL client: out of memory, or libmariadb could not be "
             "loaded (see the message before this one)");
    return OSIRIS_ENOMEM;
  }
  mysql_options(c->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_options(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  /* Connector/C offers LOCAL INFILE unless told not to: only the writer
   * (which serves the file request from memory) keeps it. */
  {
    unsigned int on = local_infile ? 1 : 0;
    mysql_options(c->my, MYSQL_OPT_LOCAL_INFILE, &on);
  }
  drv_mysql_tls_options(src, c->my, tls);
  if (!mysql_real_connect(c->my, host, user, pw, db, (unsigned int)port, sock, 0)) {
    drv_mysql_err(c, msg, sizeof msg);
    drv_mysql_close(c);
    snprintf(err, cap, "MySQL connection to %.200s:%d/%.200s failed: %.480s", c->host, c->port,
             c->db, msg);
    return OSIRIS_ECONN;
  }
  if (tls >= DRV_MYSQL_REQUIRED && !mysql_get_ssl_cipher(c->my)) {
    drv_mysql_close(c);
    snprintf(err, cap,
             "MySQL connection to %.200s:%d/%.200s failed: ssl_mode is %s but the connection "
             "is not encrypted (the server offers no TLS)",
             c->host, c->port, c->db, drv_mysql_ssl_modes[tls]);
    return OSIRIS_ECONN;
  }
  /* TIMESTAMP values travel in UTC; strict mode turns silent truncation
   * into errors, so a write either stores exactly the frame or fails. */
  if (mysql_query(c->my, "SET time_zone = '+00:00', "
                         "sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")) {
    drv_mysql_err(c, msg, sizeof msg);
    drv_mysql_close(c);
    snprintf(err, cap, "MySQL session setup on %.200s:%d/%.200s failed: %.480s", c->host, c->port,
             c->db, msg);
    return OSIRIS_ECONN;
  }
  return OSIRIS_OK;
}

static osiris_rc drv_mysql_connect(osiris_step *step, drv_mysql_conn *c, int local_infile) {
  drv_db_src src = drv_db_step_src(step);
  char err[1100];
  osiris_rc rc = drv_mysql_connect_src(&src, c, 10, local_infile, err, sizeof err);
  return rc ? osiris_step_fail(step, rc, "%s", err) : OSIRIS_OK;
}

/* `osiris connections doctor`: connect (5 s timeout) and SELECT 1. */
static osiris_rc drv_mysql_check(const osiris_json *connection, char *err, size_t errcap) {
  drv_db_src src;
  drv_mysql_conn c;
  osiris_rc rc;
  src.cfg = NULL;
  src.conn = connection;
  rc = drv_mysql_connect_src(&src, &c, 5, 0, err, errcap);
  if (rc) return rc;
  if (mysql_query(c.my, "SELECT 1") == 0) {
    MYSQL_RES *r = mysql_store_result(c.my);
    if (r) mysql_free_result(r);
    else rc = OSIRIS_ECONN;
  } else {
    rc = OSIRIS_ECONN;
  }
  if (rc) {
    char msg[512];
    snprintf(err, errcap, "MySQL SELECT 1 on %.200s:%d/%.200s failed: %.480s", c.host, c.port, c.db,
             drv_mysql_err(&c, msg, sizeof msg));
  }
  drv_mysql_close(&c);
  return rc;
}

static void drv_mysql_map(const MYSQL_FIELD *fd, osiris_type *t, int *scale, int *conv) {
  int binary = fd->charsetnr == 63;
  *scale = 0;
  switch (fd->type) {
  case MYSQL_TYPE_TINY:
  case MYSQL_TYPE_SHORT:
  case MYSQL_TYPE_INT24:
  case MYSQL_TYPE_LONG:
  case MYSQL_TYPE_YEAR:
    *t = OSIRIS_TYPE_INT64, *conv = DRV_CONV_INT;
    return;
  case MYSQL_TYPE_LONGLONG:
    if (fd->flags & UNSIGNED_FLAG) /* 0..2^64-1 does not fit int64 */
      *t = OSIRIS_TYPE_DECIMAL, *conv = DRV_CONV_DEC;
    else
      *t = OSIRIS_TYPE_INT64, *conv = DRV_CONV_INT;
    return;
  case MYSQL_TYPE_BIT:
    *t = OSIRIS_TYPE_INT64, *conv = DRV_CONV_BIT;
    return;
  case MYSQL_TYPE_DECIMAL:
  case MYSQL_TYPE_NEWDECIMAL:
    *t = OSIRIS_TYPE_DECIMAL, *conv = DRV_CONV_DEC;
    *scale = fd->decimals > 38 ? 38 : (int)fd->decimals;
    return;
  case MYSQL_TYPE_FLOAT:
  case MYSQL_TYPE_DOUBLE:
    *t = OSIRIS_TYPE_DOUBLE, *conv = DRV_CONV_DOUBLE;
    return;
  case MYSQL_TYPE_DATE:
  case MYSQL_TYPE_NEWDATE:
    *t = OSIRIS_TYPE_DATE, *conv = DRV_CONV_DATE;
    return;
  case MYSQL_TYPE_DATETIME:
  case MYSQL_TYPE_TIMESTAMP:
  case MYSQL_TYPE_DATETIME2:
  case MYSQL_TYPE_TIMESTAMP2:
    *t = OSIRIS_TYPE_TIMESTAMP, *conv = DRV_CONV_TS;
    return;
  case MYSQL_TYPE_ENUM:
  case MYSQL_TYPE_SET:
    *t = OSIRIS_TYPE_STRING, *conv = DRV_CONV_TEXT;
    return;
  case MYSQL_TYPE_GEOMETRY:
    *t = OSIRIS_TYPE_STRING, *conv = DRV_CONV_HEX;
    return;
  case MYSQL_TYPE_STRING:
  case MYSQL_TYPE_VAR_STRING:
  case MYSQL_TYPE_VARCHAR:
  case MYSQL_TYPE_TINY_BLOB:
  case MYSQL_TYPE_MEDIUM_BLOB:
  case MYSQL_TYPE_LONG_BLOB:
  case MYSQL_TYPE_BLOB:
    *t = OSIRIS_TYPE_STRING;
    *conv = binary && !(fd->flags & (ENUM_FLAG | SET_FLAG)) ? DRV_CONV_HEX : DRV_CONV_TEXT;
    return;
  default: /* TIME, JSON, NULL and anything newer: the server's text */
    *t = OSIRIS_TYPE_STRING, *conv = DRV_CONV_TEXT;
    return;
  }
}

/* ---------------------------------------------------- stopping a query
 *
 * While the server works on a query it sends nothing, so an extractor
 * blocked in mysql_real_query or PQgetResult never reaches its
 * cancellation poll (every DRV_DB_CANCEL_EVERY rows): a run cancelled
 * then (Ctrl-C, a timeout) would wait for the query to end, and a query
 * abandoned by closing the connection can go on running on the server.
 * So a guard thread watches osiris_step_cancelled() every DRV_DB_GUARD_MS
 * while the extractor runs, and once the run is cancelled asks the server
 * to stop the query: PostgreSQL through PQcancel (the connection's cancel
 * key), MySQL through KILL QUERY <connection id> on a connection of its
 * own (same fields, 5 s connect timeout).  The blocked call then returns
 * (with the server's "interrupted" error, or, for SLEEP(), early), and the
 * extractor reports the step cancelled.  The guard blocks every signal:
 * a signal meant for the step's thread never lands on it. */
#define DRV_DB_GUARD_MS 100

typedef struct drv_db_guard {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int running, stop, fired; /* fired: a cancel was sent */
  osiris_step *step;
  PGcancel *pg;             /* PostgreSQL: the running query's cancel key */
  unsigned long my_id;      /* MySQL: the connection to KILL QUERY */
  drv_db_src src;           /* MySQL: the fields to connect with */
} drv_db_guard;

static osiris_rc drv_mysql_connect_src(const drv_db_src *src, drv_mysql_conn *c,
                                       unsigned int timeout, int local_infile, char *err,
                                       size_t cap);

static void drv_db_guard_cancel(drv_db_guard *g) {
  char msg[512];
  if (g->pg) {
    if (!PQcancel(g->pg, msg, sizeof msg))
      osiris_step_log(g->step, 2, "could not ask the server to cancel the query");
  } else if (g->my_id) {
    drv_mysql_conn k;
    char q[64];
    if (drv_mysql_connect_src(&g->src, &k, 5, 0, msg, sizeof msg) == OSIRIS_OK) {
      snprintf(q, sizeof q, "KILL QUERY %lu", g->my_id);
      if (mysql_query(k.my, q))
        osiris_step_log(g->step, 2, "could not stop the query on the server (KILL QUERY failed)");
      drv_mysql_close(&k);
    } else {
      osiris_step_log(g->step, 2, "could not stop the query on the server: %s", msg);
    }
  }
}

static void *drv_db_guard_main(void *arg) {
  drv_db_guard *g = arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec ts;
    if (!g->fired && osiris_step_cancelled(g->step)) {
      g->fired = 1;
      pthread_mutex_unlock(&g->mu);
      drv_db_guard_cancel(g);
      pthread_mutex_lock(&g->mu);
      continue;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += DRV_DB_GUARD_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

/* Start guarding the query of pg (PostgreSQL) or of the MySQL connection
 * my_id.  Without a thread (out of resources) the run goes on unguarded:
 * the row loop's poll still stops it between rows. */
static void drv_db_guard_start(drv_db_guard *g, osiris_step *step, PGconn *pg, unsigned long my_id) {
  memset(g, 0, sizeof *g);
  g->step = step;
  g->src = drv_db_step_src(step);
  g->my_id = my_id;
  if (pg && !(g->pg = PQgetCancel(pg))) return;
  if (pthread_mutex_init(&g->mu, NULL)) goto fail;
  if (pthread_cond_init(&g->cv, NULL)) {
    pthread_mutex_destroy(&g->mu);
    goto fail;
  }
  if (pthread_create(&g->th, NULL, drv_db_guard_main, g)) {
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    goto fail;
  }
  g->running = 1;
  return;
fail:
  if (g->pg) PQfreeCancel(g->pg);
  g->pg = NULL;
  osiris_step_log(step, 2, "cannot start the query guard: a cancelled run waits for the query");
}

/* Stop guarding; 1 when the guard asked the server to stop the query. */
static int drv_db_guard_stop(drv_db_guard *g) {
  if (!g->running) return 0;
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->th, NULL);
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  if (g->pg) PQfreeCancel(g->pg);
  g->pg = NULL;
  g->running = 0;
  return g->fired;
}

static osiris_rc drv_mysql_extract(osiris_step *step) {
  drv_mysql_conn c;
  osiris_buf sql = {0}, scratch = {0};
  MYSQL_RES *res = NULL;
  osiris_frame *f = NULL;
  drv_db_col *cols = NULL;
  unsigned int nf = 0, i;
  size_t rows = 0;
  osiris_rc rc;
  char err[512];
  drv_db_guard guard = {0};

  memset(&c, 0, sizeof c);
  rc = drv_db_build_select(step, '`', &sql);
  if (rc) goto done;
  rc = drv_mysql_connect(step, &c, 0);
  if (rc) goto done;
  drv_db_guard_start(&guard, step, NULL, mysql_thread_id(c.my));
  if (mysql_real_query(c.my, sql.p, (unsigned long)sql.len)) {
    rc = osiris_step_fail(step, OSIRIS_ESQL, "MySQL query failed: %s",
                          drv_mysql_err(&c, err, sizeof err));
    goto done;
  }
  res = mysql_use_result(c.my);
  f = osiris_frame_new();
  if (!f) {
    rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (!res) {
    if (mysql_field_count(c.my) != 0) {
      rc = osiris_step_fail(step, OSIRIS_ESQL, "MySQL query failed: %s",
                            drv_mysql_err(&c, err, sizeof err));
      goto done;
    }
    /* A statement without a result set (e.g. DO 1): an empty frame. */
  } else {
    MYSQL_FIELD *fields = mysql_fetch_fields(res);
    MYSQL_ROW row;
    nf = mysql_num_fields(res);
    cols = osiris_calloc(nf ? nf : 1, sizeof *cols);
    if (!cols) {
      rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    for (i = 0; i < nf; i++) {
      osiris_type t;
      int scale;
      drv_mysql_map(&fields[i], &t, &scale, &cols[i].conv);
      rc = osiris_frame_add_column(f, fields[i].name, t, scale);
      if (rc) {
        rc = osiris_step_fail(step, rc, "cannot add column '%s' to the frame", fields[i].name);
        goto done;
      }
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
      unsigned long *lens = mysql_fetch_lengths(res);
      for (i = 0; i < nf; i++) {
        if (!row[i])
          rc = osiris_frame_append_null(f, i);
        else
          rc = drv_db_append(step, f, i, &cols[i], row[i], lens[i], &scratch);
        if (rc) {
          rc = drv_db_value_fail(step, rc, rows, fields[i].name, " (not UTF-8 or not a number)");
          goto done;
        }
      }
      if ((rc = drv_db_row_end(step, f, &rows)) != OSIRIS_OK) goto done;
    }
    if (mysql_errno(c.my)) {
      rc = osiris_step_fail(step, OSIRIS_ESQL, "MySQL fetch failed after %zu rows: %s", rows,
                            drv_mysql_err(&c, err, sizeof err));
      goto done;
    }
  }
  osiris_step_metric(step, "rows_read", (double)rows, "rows");
  osiris_step_log(step, 1, "read %zu rows from MySQL %s:%d/%s", rows, c.host, c.port, c.db);
  osiris_step_set_output(step, f);
  f = NULL;
  rc = OSIRIS_OK;
done:
  if (drv_db_guard_stop(&guard) && rc)
    rc = osiris_step_fail(step, OSIRIS_ECANCEL, "MySQL query stopped: the run was cancelled");
  if (res) {
    /* After a failure an unbuffered result would be read to its end by
     * mysql_free_result; closing the connection first drops it instead. */
    if (rc && c.my) {
      mysql_close(c.my);
      c.my = NULL;
      res->handle = NULL;
    }
    mysql_free_result(res);
  }
  drv_mysql_close(&c);
  osiris_frame_free(f);
  osiris_free(cols);
  osiris_buf_free(&sql);
  osiris_buf_free(&scratch);
  return rc;
}

/* ---- mysql.writer ---- */

static int drv_mysql_exec(drv_mysql_conn *c, const char *sql, size_t len, char *err, size_t cap) {
  if (mysql_real_query(c->my, sql, (unsigned long)len) == 0) {
    MYSQL_RES *r = mysql_store_result(c->my); /* statements here return none; be safe */
    if (r) mysql_free_result(r);
    return 0;
  }
  drv_mysql_err(c, err, cap);
  return -1;
}

static const char *drv_mysql_ddl_type(const drv_db_wopts *o, size_t c, char *buf, size_t cap) {
  int s;
  switch (osiris_frame_col_type(o->in, c)) {
  case OSIRIS_TYPE_BOOL: return "BOOLEAN";
  case OSIRIS_TYPE_INT64: return "BIGINT";
  case OSIRIS_TYPE_DOUBLE: return "DOUBLE";
  case OSIRIS_TYPE_DECIMAL:
    s = drv_db_dec_scale(o->in, c);
    snprintf(buf, cap, "DECIMAL(65,%d)", s > 30 ? 30 : s); /* MySQL: scale <= 30 */
    return buf;
  case OSIRIS_TYPE_DATE: return "DATE";
  case OSIRIS_TYPE_TIMESTAMP: return "DATETIME(6)";
  default: return drv_db_is_pk(o, c) ? "VARCHAR(255)" : "LONGTEXT"; /* TEXT keys need a length */
  }
}

/* 1 when the table exists, 0 when not, -1 on error (err set). */
static int drv_mysql_exists(drv_mysql_conn *c, const char *table, char *err, size_t cap) {
  osiris_buf q = {0};
  const char *dot = strchr(table, '.');
  MYSQL_RES *r;
  MYSQL_ROW row;
  int out = -1;
  size_t tl = strlen(table);
  osiris_buf_puts(&q, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ");
  if (dot) {
    size_t dl = (size_t)(dot - table);
    osiris_buf_putc(&q, '\'');
    if (osiris_buf_reserve(&q, 2 * dl + 1))
      q.len += mysql_real_escape_string(c->my, q.p + q.len, table, (unsigned long)dl);
    osiris_buf_putc(&q, '\'');
    tl -= dl + 1;
    table = dot + 1;
  } else {
    osiris_buf_puts(&q, "DATABASE()");
  }
  osiris_buf_puts(&q, " AND table_name = '");
  if (osiris_buf_reserve(&q, 2 * tl + 1))
    q.len += mysql_real_escape_string(c->my, q.p + q.len, table, (unsigned long)tl);
  osiris_buf_putc(&q, '\'');
  if (q.oom) {
    snprintf(err, cap, "out of memory");
    goto done;
  }
  if (mysql_real_query(c->my, q.p, (unsigned long)q.len) || !(r = mysql_store_result(c->my))) {
    drv_mysql_err(c, err, cap);
    goto done;
  }
  row = mysql_fetch_row(r);
  out = row && row[0] && strcmp(row[0], "0") != 0;
  mysql_free_result(r);
done:
  osiris_buf_free(&q);
  return out;
}

/* One value as the text MySQL reads for it: the frame's own text form
 * (osiris_frame_format), booleans as 1/0, timestamps with a space for the
 * T.  Both write channels format values through it, so both store the
 * same ones.  *txt is borrowed (tmp or the frame).  Returns 1 for NULL, 0
 * for a value, -1 for NaN or Infinity, which no MySQL DOUBLE holds. */
static int drv_mysql_text(const osiris_frame *f, size_t col, size_t row, char *tmp, size_t cap,
                          const char **txt, size_t *len) {
  int is_null;
  const char *v = osiris_frame_format(f, col, row, tmp, cap, len, &is_null);
  *txt = v;
  if (is_null) return 1;
  switch (osiris_frame_col_type(f, col)) {
  case OSIRIS_TYPE_BOOL:
    *txt = v[0] == 't' ? "1" : "0";
    *len = 1;
    return 0;
  case OSIRIS_TYPE_DOUBLE:
    return v[0] == 'n' || v[0] == 'i' || (v[0] == '-' && v[1] == 'i') ? -1 : 0;
  case OSIRIS_TYPE_TIMESTAMP:
    if (v == tmp) {
      char *t = memchr(tmp, 'T', *len);
      if (t) *t = ' ';
    }
    return 0;
  default: return 0;
  }
}

/* Append one value as a SQL literal; -1 for a value MySQL cannot store. */
static int drv_mysql_literal(drv_mysql_conn *c, osiris_buf *b, const osiris_frame *f, size_t col,
                             size_t row) {
  char tmp[64];
  const char *v;
  size_t len;
  int kind = drv_mysql_text(f, col, row, tmp, sizeof tmp, &v, &len);
  if (kind < 0) return -1;
  if (kind > 0) {
    osiris_buf_put(b, "NULL", 4);
    return 0;
  }
  switch (osiris_frame_col_type(f, col)) {
  case OSIRIS_TYPE_STRING:
    if (!osiris_buf_reserve(b, 2 * len + 3)) return 0;
    b->p[b->len++] = '\'';
    b->len += mysql_real_escape_string(c->my, b->p + b->len, v, (unsigned long)len);
    b->p[b->len++] = '\'';
    b->p[b->len] = 0;
    return 0;
  case OSIRIS_TYPE_DATE:
  case OSIRIS_TYPE_TIMESTAMP:
    osiris_buf_putc(b, '\'');
    osiris_buf_put(b, v, len);
    osiris_buf_putc(b, '\'');
    return 0;
  default: /* BOOL, INT64, DECIMAL, DOUBLE: numeric literals as formatted */
    osiris_buf_put(b, v, len);
    return 0;
  }
}

/* The failure of a statement (err: the masked client message). */
static osiris_rc drv_mysql_sql_fail(osiris_step *step, const drv_db_wopts *o, char *err,
                                    size_t cap) {
  if (!err[0]) snprintf(err, cap, "out of memory");
  return osiris_step_fail(step, OSIRIS_ESQL, "MySQL write to %s failed: %s", o->table, err);
}

/* ---------------------------------------------------- channel "load_data"
 *
 * LOAD DATA LOCAL INFILE whose "file" is served from memory by the
 * local-infile handler below: each read callback encodes rows of the input
 * (MySQL's default text format: \t between fields, \n after rows,
 * backslash escapes, \N for NULL) into the client library's buffer,
 * pulling the next input batch when one is used up, so a few batches are
 * in memory at a time.  The server commits nothing by itself: the load
 * runs inside the writer's transaction.  LOCAL makes the server treat
 * duplicate keys and bad values as IGNORE would (warnings, the row skipped
 * or the value adjusted), because it cannot stop the client mid-file;
 * drv_mysql_load_check turns those back into the errors strict mode gives
 * the same INSERT. */

#define DRV_MYSQL_LOAD_FILE "osiris"        /* the file name the statement asks for */
#define DRV_MYSQL_STAGE "osiris_upsert_stage" /* upsert: temporary table loaded first */

typedef struct drv_mysql_feed {
  osiris_step *step;
  drv_db_wopts *o;    /* o->in: the batch being encoded, NULL at the end */
  drv_db_progress pr;
  osiris_buf out;     /* encoded rows; out.p[off..n) not yet handed over */
  size_t off;
  size_t rows, r;     /* rows in o->in; the next one to encode */
  size_t base;        /* rows of the batches before o->in */
  int started;        /* the server asked for the data (init ran) */
  osiris_rc rc;       /* why the feed stopped early (the step has failed) */
  char err[600];      /* its reason, for write.error */
} drv_mysql_feed;

/* LOAD DATA's default format (ESCAPED BY '\\'): the field and line
 * terminators, the escape itself, CR, NUL and Ctrl-Z as backslash pairs.
 * An unescaped \N is NULL, so the text "\N" goes as \\N; NULL itself is
 * the caller's. */
static const char drv_mysql_load_esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r',
                                             [0] = '0', [26] = 'Z'};

/* Encode rows until want bytes wait in fd->out or the input ends, taking
 * the next batch when one is used up.  0, or -1 with the step failed. */
static int drv_mysql_feed_fill(drv_mysql_feed *fd, size_t want) {
  drv_db_wopts *o = fd->o;
  size_t col, ncols = osiris_frame_cols(o->in);
  char tmp[64];
  if (osiris_step_cancelled(fd->step)) {
    snprintf(fd->err, sizeof fd->err, "cancelled");
    fd->rc = osiris_step_fail(fd->step, OSIRIS_ECANCEL, "cancelled after %zu rows",
                              fd->base + fd->r);
    return -1;
  }
  while (fd->out.len < want && o->in) {
    if (fd->r == fd->rows) {
      fd->base += fd->rows;
      fd->r = 0;
      fd->rc = drv_db_next(fd->step, o, fd->base, "MySQL", o->table, fd->err, sizeof fd->err);
      if (fd->rc) return -1;
      fd->rows = o->in ? osiris_frame_rows(o->in) : 0;
      continue;
    }
    for (col = 0; col < ncols; col++) {
      const char *v;
      size_t len;
      int kind = drv_mysql_text(o->in, col, fd->r, tmp, sizeof tmp, &v, &len);
      if (col) osiris_buf_putc(&fd->out, '\t');
      if (kind > 0) {
        osiris_buf_put(&fd->out, "\\N", 2);
      } else if (kind < 0) {
        snprintf(fd->err, sizeof fd->err, "row %zu, column %s: MySQL cannot store NaN or Infinity",
                 fd->base + fd->r + 1, osiris_frame_col_name(o->in, col));
        fd->rc = osiris_step_fail(fd->step, OSIRIS_EINVAL, "MySQL write to %s failed: %s", o->table,
                                  fd->err);
        return -1;
      } else if (osiris_frame_col_type(o->in, col) == OSIRIS_TYPE_STRING) {
        drv_db_put_escaped(&fd->out, v, len, drv_mysql_load_esc);
      } else {
        osiris_buf_put(&fd->out, v, len);
      }
    }
    osiris_buf_putc(&fd->out, '\n');
    if (fd->out.oom) {
      snprintf(fd->err, sizeof fd->err, "out of memory at row %zu", fd->base + fd->r + 1);
      fd->rc = osiris_step_fail(fd->step, OSIRIS_ENOMEM, "MySQL write to %s failed: %s", o->table,
                                fd->err);
      return -1;
    }
    fd->r++;
    drv_db_progress_tick(fd->step, &fd->pr, o->table, fd->base + fd->r, o->total);
  }
  return 0;
}

/* Local-infile handler.  init runs when the server accepted the statement
 * and asks for the file: the write starts there. */
static int drv_mysql_feed_init(void **ptr, const char *name, void *user) {
  drv_mysql_feed *fd = user;
  *ptr = fd;
  if (strcmp(name, DRV_MYSQL_LOAD_FILE) != 0) { /* never serve anything else */
    snprintf(fd->err, sizeof fd->err, "the server asked for file '%.100s' instead of the rows",
             name);
    fd->rc = osiris_step_fail(fd->step, OSIRIS_ESQL, "MySQL write to %s failed: %s",
                              fd->o->table, fd->err);
    return 1;
  }
  fd->started = 1;
  drv_db_write_start(fd->step, fd->o, "load_data");
  fd->pr.t0 = fd->pr.last_ms = drv_db_now_ms();
  fd->pr.last_rows = 0;
  return 0;
}

/* Hand over up to cap bytes; 0 at the end of the input, -1 on failure
 * (the library then ends the file and reports drv_mysql_feed_error). */
static int drv_mysql_feed_read(void *ptr, char *buf, unsigned int cap) {
  drv_mysql_feed *fd = ptr;
  size_t want = cap > INT_MAX ? (size_t)INT_MAX : cap, give;
  if (fd->rc) return -1;
  if (fd->off) { /* keep the unsent tail at the front: out stays ~2 * cap */
    memmove(fd->out.p, fd->out.p + fd->off, fd->out.len - fd->off);
    fd->out.len -= fd->off;
    fd->off = 0;
  }
  if (fd->out.len < want && fd->o->in && drv_mysql_feed_fill(fd, want)) return -1;
  give = fd->out.len < want ? fd->out.len : want;
  if (give) memcpy(buf, fd->out.p, give);
  fd->off = give;
  return (int)give;
}

static void drv_mysql_feed_end(void *ptr) { (void)ptr; /* the writer owns fd */ }

static int drv_mysql_feed_error(void *ptr, char *msg, unsigned int cap) {
  const drv_mysql_feed *fd = ptr;
  snprintf(msg, cap, "%s", fd && fd->err[0] ? fd->err : "the row stream stopped");
  return CR_UNKNOWN_ERROR;
}

/* 1 for the errors of a refused LOCAL INFILE: the server's local_infile
 * is OFF (1148 ER_NOT_ALLOWED_COMMAND; MySQL 8: 3948; MariaDB 10.5+: 4166
 * ER_LOAD_INFILE_CAPABILITY_DISABLED) or the client library declined the
 * server's file request (CR_UNKNOWN_ERROR, libmysqlclient 2068). */
static int drv_mysql_refused(unsigned int e) {
  return e == 1148 || e == 3948 || e == 4166 || e == 2068 || e == CR_UNKNOWN_ERROR;
}

/* The number after key in mysql_info's "Records: 3  Deleted: 0  Skipped:
 * 0  Warnings: 0"; -1 when absent. */
static int64_t drv_mysql_info_num(const char *info, const char *key) {
  const char *p = info ? strstr(info, key) : NULL;
  int64_t v = 0;
  if (!p) return -1;
  p += strlen(key);
  while (*p == ' ') p++;
  if (*p < '0' || *p > '9') return -1;
  while (*p >= '0' && *p <= '9' && v < INT64_MAX / 10) v = v * 10 + (*p++ - '0');
  return v;
}

/* After a load the server accepted: any condition above Note level fails
 * the write (strict mode fails the same INSERT), named with its row; so
 * do skipped rows (duplicate keys) and a row count other than the rows
 * sent.  Notes (a decimal rounded to the column's scale) pass, as they do
 * for INSERT, with a warning line in the log.  0, or -1 with err set. */
static int drv_mysql_load_check(osiris_step *step, drv_mysql_conn *c, const drv_db_wopts *o,
                                size_t sent, char *err, size_t cap) {
  const char *info = mysql_info(c->my);
  int64_t records = drv_mysql_info_num(info, "Records:");
  int64_t skipped = drv_mysql_info_num(info, "Skipped:");
  unsigned int warnings = mysql_warning_count(c->my);
  MYSQL_RES *res;
  MYSQL_ROW row;
  size_t k = 0, bad = 0;
  char note[300] = "";
  if (warnings) {
    if (mysql_query(c->my, "SHOW WARNINGS") || !(res = mysql_store_result(c->my))) {
      drv_mysql_err(c, err, cap);
      return -1;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
      k++;
      if (!row[0] || !row[2]) continue;
      if (strcmp(row[0], "Note") != 0) {
        if (!bad) bad = k, snprintf(err, cap, "%.450s", row[2]);
      } else if (!note[0]) {
        snprintf(note, sizeof note, "%.250s", row[2]);
      }
    }
    mysql_free_result(res);
  }
  if (bad) {
    /* The condition's row (GET DIAGNOSTICS ROW_NUMBER, MariaDB 10.7+);
     * without it the message stands alone. */
    char q[96];
    snprintf(q, sizeof q, "GET DIAGNOSTICS CONDITION %zu @osiris_row = ROW_NUMBER", bad);
    if (!strstr(err, " at row ") && mysql_query(c->my, q) == 0 &&
        mysql_query(c->my, "SELECT @osiris_row") == 0 && (res = mysql_store_result(c->my))) {
      row = mysql_fetch_row(res);
      if (row && row[0] && strcmp(row[0], "0") != 0) {
        size_t n = strlen(err);
        snprintf(err + n, cap - n, " at row %.24s", row[0]);
      }
      mysql_free_result(res);
    }
    return -1;
  }
  if (skipped > 0) {
    snprintf(err, cap, "%lld rows were skipped (duplicate keys)", (long long)skipped);
    return -1;
  }
  if (records >= 0 && (uint64_t)records != (uint64_t)sent) {
    snprintf(err, cap, "the server read %lld rows of the %zu sent", (long long)records, sent);
    return -1;
  }
  if (warnings)
    osiris_step_log(step, 2, "MySQL LOAD DATA into %s: %u warning(s) at Note level, kept as "
                    "INSERT keeps them%s; first: %s", o->table, warnings,
                    k < warnings ? " (not all could be listed)" : "", note);
  return 0;
}

/* The load_data channel: every input row (from o->in on) through one LOAD
 * DATA LOCAL INFILE into table (the target, or the upsert stage) with the
 * column list cols.  When the server or the client library refuses LOCAL
 * INFILE before any row was read, *refused = 1 and OSIRIS_OK: the caller
 * writes with INSERT instead.  Otherwise the step has failed when rc is
 * not OK, with err set.  *written: the rows sent. */
static osiris_rc drv_mysql_load(osiris_step *step, drv_mysql_conn *c, drv_db_wopts *o,
                                const char *table, const char *cols, size_t *written,
                                int *refused, char *err, size_t cap) {
  /* The server waits for the next packet at most net_read_timeout (30 s
   * by default) while the input is slow: allow an idle session's time.
   * Keep enough conditions to find a warning among many notes. */
  static const char session[] =
      "SET SESSION net_read_timeout = GREATEST(@@SESSION.net_read_timeout, "
      "@@SESSION.wait_timeout), max_error_count = 65535";
  drv_mysql_feed fd;
  osiris_buf stmt = {0};
  osiris_rc rc = OSIRIS_OK;
  int failed;
  memset(&fd, 0, sizeof fd);
  fd.step = step;
  fd.o = o;
  fd.rows = o->in ? osiris_frame_rows(o->in) : 0;
  *refused = 0;
  *written = 0;
  if (drv_mysql_exec(c, session, sizeof session - 1, err, cap)) goto sql_fail;
  /* Hex terminators: the statement means the same under NO_BACKSLASH_ESCAPES. */
  osiris_buf_printf(&stmt,
                "LOAD DATA LOCAL INFILE '" DRV_MYSQL_LOAD_FILE "' INTO TABLE %s CHARACTER SET "
                "utf8mb4 FIELDS TERMINATED BY X'09' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' "
                "(%s)",
                table, cols);
  if (stmt.oom) goto sql_fail;
  mysql_set_local_infile_handler(c->my, drv_mysql_feed_init, drv_mysql_feed_read,
                                 drv_mysql_feed_end, drv_mysql_feed_error, &fd);
  failed = mysql_real_query(c->my, stmt.p, (unsigned long)stmt.len) != 0;
  mysql_set_local_infile_default(c->my); /* fd ends with this call */
  *written = fd.base + fd.r;
  if (fd.rc) { /* the input, a value or a cancellation stopped the rows */
    rc = fd.rc;
    snprintf(err, cap, "%s", fd.err);
    goto done;
  }
  if (failed && !fd.started && drv_mysql_refused(mysql_errno(c->my))) {
    char msg[300];
    drv_mysql_err(c, msg, sizeof msg);
    osiris_step_log(step, 2, "MySQL %s:%d refused LOAD DATA LOCAL INFILE (%s): writing %s with "
                    "INSERT statements instead", c->host, c->port, msg, o->table);
    *refused = 1;
    goto done;
  }
  if (!fd.started) drv_db_write_start(step, o, "load_data"); /* write.error follows it */
  if (failed) {
    drv_mysql_err(c, err, cap);
    goto sql_fail;
  }
  if (!fd.started) {
    snprintf(err, cap, "the server did not ask for the rows of LOAD DATA LOCAL INFILE");
    goto sql_fail;
  }
  if (drv_mysql_load_check(step, c, o, *written, err, cap)) goto sql_fail;
  goto done;
sql_fail:
  if (!stmt.oom && !err[0]) snprintf(err, cap, "LOAD DATA failed");
  rc = drv_mysql_sql_fail(step, o, err, cap);
done:
  osiris_buf_free(&fd.out);
  osiris_buf_free(&stmt);
  return rc;
}

/* ------------------------------------------------------- channel "insert"
 *
 * Multi-row INSERT statements (prefix, batch_size rows' VALUES, suffix),
 * each at most 8 MB or max_allowed_packet; a statement may span two input
 * batches.  The channel when LOCAL INFILE is refused. */
static osiris_rc drv_mysql_insert(osiris_step *step, drv_mysql_conn *c, drv_db_wopts *o,
                                  const osiris_buf *prefix, const osiris_buf *suffix,
                                  size_t *written, char *err, size_t cap) {
  osiris_buf stmt = {0};
  drv_db_progress pr;
  size_t ncols = osiris_frame_cols(o->in), rows = 0, r = 0, base = 0, col, in_batch = 0;
  size_t max_bytes = (size_t)8 << 20;
  osiris_rc rc = OSIRIS_OK;
  MYSQL_RES *mr;
  MYSQL_ROW row;
  if (mysql_query(c->my, "SELECT @@max_allowed_packet") == 0 &&
      (mr = mysql_store_result(c->my)) != NULL) {
    row = mysql_fetch_row(mr);
    if (row && row[0]) {
      int64_t pkt;
      if (drv_db_parse_i64(row[0], strlen(row[0]), &pkt) == 0 && pkt > (1 << 17) &&
          (size_t)pkt - (1 << 16) < max_bytes)
        max_bytes = (size_t)pkt - (1 << 16);
    }
    mysql_free_result(mr);
  }
  drv_db_write_start(step, o, "insert");
  pr.t0 = pr.last_ms = drv_db_now_ms();
  pr.last_rows = 0;
  /* One pass over the batches (o->in, then drv_db_next until NULL).
   * base + r is the number of rows taken so far (global row numbers); the
   * last statement goes once the end of the input is known. */
  if (o->in) rows = osiris_frame_rows(o->in);
  for (;;) {
    size_t g;
    if (o->in && r == rows) {
      base += rows;
      r = 0;
      rc = drv_db_next(step, o, base, "MySQL", o->table, err, cap);
      if (rc) goto done;
      rows = o->in ? osiris_frame_rows(o->in) : 0;
      continue;
    }
    if (o->in) {
      if (in_batch == 0) osiris_buf_put(&stmt, prefix->p, prefix->len);
      else osiris_buf_putc(&stmt, ',');
      osiris_buf_putc(&stmt, '(');
      for (col = 0; col < ncols; col++) {
        if (col) osiris_buf_putc(&stmt, ',');
        if (drv_mysql_literal(c, &stmt, o->in, col, r)) {
          snprintf(err, cap, "row %zu, column %s: MySQL cannot store NaN or Infinity",
                   base + r + 1, osiris_frame_col_name(o->in, col));
          rc = osiris_step_fail(step, OSIRIS_EINVAL, "MySQL write to %s failed: %s", o->table, err);
          goto done;
        }
      }
      osiris_buf_putc(&stmt, ')');
      in_batch++;
      r++;
      if (stmt.oom) goto sql_fail;
    }
    g = base + r;
    if (in_batch && (!o->in || in_batch >= (size_t)o->batch_size || stmt.len >= max_bytes)) {
      osiris_buf_put(&stmt, suffix->p ? suffix->p : "", suffix->len);
      if (stmt.oom) goto sql_fail;
      if (drv_mysql_exec(c, stmt.p, stmt.len, err, cap)) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", err);
        snprintf(err, cap, "%.500s (batch ending at row %zu)", msg, g);
        goto sql_fail;
      }
      stmt.len = 0;
      in_batch = 0;
      drv_db_progress_tick(step, &pr, o->table, g, o->total);
      if (osiris_step_cancelled(step)) {
        snprintf(err, cap, "cancelled");
        rc = osiris_step_fail(step, OSIRIS_ECANCEL, "cancelled after %zu rows", g);
        goto done;
      }
    }
    if (!o->in) break;
  }
  goto done;
sql_fail:
  rc = drv_mysql_sql_fail(step, o, err, cap);
done:
  *written = base + r;
  osiris_buf_free(&stmt);
  return rc;
}

/* ---------------------------------------------------------------- writer */

static osiris_rc drv_mysql_write(osiris_step *step) {
  drv_mysql_conn c;
  drv_db_wopts o;
  osiris_buf target = {0}, cols = {0}, prefix = {0}, suffix = {0}, stmt = {0}, qualified = {0};
  const char *schema;
  int connected = 0, in_txn = 0, created = 0, staged = 0, refused = 0, exists;
  int64_t t0 = drv_db_now_ms();
  size_t ncols, written = 0, col;
  const char *channel = "load_data";
  osiris_rc rc;
  char err[600] = "", tb[32];

  memset(&c, 0, sizeof c);
  rc = drv_db_wopts_get(step, &o, 1000);
  if (rc) goto done;
  ncols = osiris_frame_cols(o.in);
  schema = osiris_json_str(osiris_json_get(osiris_step_config(step), "schema"));
  if (schema && *schema && !strchr(o.table, '.')) { /* the database the table is in */
    osiris_buf_printf(&qualified, "%s.%s", schema, o.table);
    if (qualified.oom) {
      rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    o.table = qualified.p;
  }
  drv_db_ident(&target, o.table, '`', 1);
  rc = drv_mysql_connect(step, &c, 1);
  if (rc) goto done;
  connected = 1;

  exists = drv_mysql_exists(&c, o.table, err, sizeof err);
  if (exists < 0) goto sql_fail;
  drv_db_exists_event(step, NULL, o.table, exists);
  if (!exists) {
    if (!o.create) {
      snprintf(err, sizeof err, "table does not exist and create_if_missing is false");
      rc = osiris_step_fail(step, OSIRIS_ENOTFOUND,
                            "MySQL write: table %s does not exist and create_if_missing is false",
                            o.table);
      goto done;
    }
    /* DECIMAL columns are sized from every value (none rounded). */
    if (drv_db_has_decimal(&o)) {
      rc = drv_db_gather(step, &o);
      if (rc) {
        snprintf(err, sizeof err, "stopped before writing: the upstream step failed");
        goto done;
      }
    }
    /* MySQL DDL commits implicitly, so the table is created before the
     * data transaction and dropped again if that transaction fails. */
    osiris_buf_printf(&stmt, "CREATE TABLE %s (", target.p);
    for (col = 0; col < ncols; col++) {
      osiris_buf_puts(&stmt, col ? ",\n  " : "\n  ");
      drv_db_ident(&stmt, osiris_frame_col_name(o.in, col), '`', 0);
      osiris_buf_putc(&stmt, ' ');
      osiris_buf_puts(&stmt, drv_mysql_ddl_type(&o, col, tb, sizeof tb));
      if (drv_db_is_pk(&o, col)) osiris_buf_puts(&stmt, " NOT NULL");
    }
    if (o.pk.n) {
      osiris_buf_puts(&stmt, ",\n  PRIMARY KEY (");
      for (col = 0; col < o.pk.n; col++) {
        if (col) osiris_buf_puts(&stmt, ", ");
        drv_db_ident(&stmt, o.pk.v[col], '`', 0);
      }
      osiris_buf_putc(&stmt, ')');
    }
    osiris_buf_puts(&stmt, "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    if (stmt.oom) goto sql_fail;
    drv_db_ddl_events(step, NULL, o.table, stmt.p, 0);
    if (drv_mysql_exec(&c, stmt.p, stmt.len, err, sizeof err)) goto sql_fail;
    created = 1;
    drv_db_ddl_events(step, NULL, o.table, stmt.p, 1);
  }

  for (col = 0; col < ncols; col++) {
    if (col) osiris_buf_puts(&cols, ", ");
    drv_db_ident(&cols, osiris_frame_col_name(o.in, col), '`', 0);
  }
  osiris_buf_printf(&prefix, "INSERT INTO %s (%s) VALUES ", target.p, drv_db_str0(&cols));
  if (o.mode == DRV_MODE_UPSERT) {
    size_t updates = 0;
    osiris_buf_puts(&suffix, " ON DUPLICATE KEY UPDATE ");
    for (col = 0; col < ncols; col++) {
      if (drv_db_is_pk(&o, col)) continue;
      if (updates++) osiris_buf_puts(&suffix, ", ");
      drv_db_ident(&suffix, osiris_frame_col_name(o.in, col), '`', 0);
      osiris_buf_puts(&suffix, " = VALUES(");
      drv_db_ident(&suffix, osiris_frame_col_name(o.in, col), '`', 0);
      osiris_buf_putc(&suffix, ')');
    }
    if (!updates) { /* key-only table: a no-op update */
      drv_db_ident(&suffix, o.pk.v[0], '`', 0);
      osiris_buf_puts(&suffix, " = ");
      drv_db_ident(&suffix, o.pk.v[0], '`', 0);
    }
  }
  if (cols.oom || prefix.oom || suffix.oom) goto sql_fail;
  if (o.mode == DRV_MODE_UPSERT) {
    /* The stage has the target's column types (CREATE ... SELECT copies
     * them, not the keys) and keeps duplicate keys in input order
     * (osiris_seq): INSERT ... SELECT ... ORDER BY applies them in turn,
     * so the last row of a key wins, as in the multi-row INSERT.  Made
     * before the transaction (servers that enforce GTID consistency
     * refuse temporary tables inside one); it goes with the connection. */
    stmt.len = 0;
    osiris_buf_printf(&stmt, "CREATE TEMPORARY TABLE " DRV_MYSQL_STAGE " (osiris_seq BIGINT NOT NULL "
                  "AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB SELECT %s FROM %s LIMIT 0",
                  cols.p, target.p);
    if (stmt.oom || drv_mysql_exec(&c, stmt.p, stmt.len, err, sizeof err)) goto sql_fail;
    staged = 1;
  }
  if (drv_mysql_exec(&c, "START TRANSACTION", 17, err, sizeof err)) goto sql_fail;
  in_txn = 1;
  if (o.mode == DRV_MODE_REPLACE) {
    stmt.len = 0;
    osiris_buf_printf(&stmt, "DELETE FROM %s", target.p);
    if (stmt.oom || drv_mysql_exec(&c, stmt.p, stmt.len, err, sizeof err)) goto sql_fail;
  }
  rc = drv_mysql_load(step, &c, &o, staged ? DRV_MYSQL_STAGE : target.p, cols.p, &written,
                      &refused, err, sizeof err);
  if (rc) goto done;
  if (refused) {
    channel = "insert";
    rc = drv_mysql_insert(step, &c, &o, &prefix, &suffix, &written, err, sizeof err);
    if (rc) goto done;
  } else if (staged) {
    stmt.len = 0;
    osiris_buf_printf(&stmt, "INSERT INTO %s (%s) SELECT %s FROM " DRV_MYSQL_STAGE
                  " ORDER BY osiris_seq%s", target.p, cols.p, cols.p, suffix.p);
    if (stmt.oom || drv_mysql_exec(&c, stmt.p, stmt.len, err, sizeof err)) goto sql_fail;
  }
  if (drv_mysql_exec(&c, "COMMIT", 6, err, sizeof err)) goto sql_fail;
  in_txn = 0;
  drv_db_write_complete(step, &o, channel, written, t0);
  osiris_step_log(step, 1, "wrote %zu rows to MySQL %s:%d/%s table %s (%s, %s)", written, c.host,
                  c.port, c.db, o.table, o.mode_name, channel);
  rc = OSIRIS_OK;
  goto done;
sql_fail:
  rc = drv_mysql_sql_fail(step, &o, err, sizeof err);
done:
  if (rc && connected && c.my) {
    char ignored[64];
    if (in_txn) drv_mysql_exec(&c, "ROLLBACK", 8, ignored, sizeof ignored);
    if (created) {
      stmt.len = 0;
      osiris_buf_printf(&stmt, "DROP TABLE %s", target.p);
      if (!stmt.oom) drv_mysql_exec(&c, stmt.p, stmt.len, ignored, sizeof ignored);
    }
    drv_db_write_error(step, o.table, err[0] ? err : osiris_rc_name(rc));
  }
  drv_mysql_close(&c);
  drv_db_wopts_free(&o);
  osiris_buf_free(&target);
  osiris_buf_free(&cols);
  osiris_buf_free(&prefix);
  osiris_buf_free(&suffix);
  osiris_buf_free(&stmt);
  osiris_buf_free(&qualified);
  return rc;
}

/* ======================================================================
 * 3e. PostgreSQL: postgres.extractor, postgres.writer, and supabase.* over
 *     the Postgres connection
 * ====================================================================== */

typedef struct drv_pg_conn {
  PGconn *pg;
  const char *secrets[3]; /* password, dsn, the dsn's password: masking only */
  char *dsn_pw;           /* owned copy of the password parsed out of the DSN */
  char where[300];        /* "host:port/db" for messages */
} drv_pg_conn;

static void drv_pg_close(drv_pg_conn *c) {
  if (c->pg) PQfinish(c->pg);
  c->pg = NULL;
  osiris_free(c->dsn_pw);
  c->dsn_pw = NULL;
}

static const char *drv_pg_mask(drv_pg_conn *c, const char *msg, char *buf, size_t cap) {
  drv_db_mask(buf, cap, msg, c->secrets, 3);
  return buf;
}

static const char *drv_pg_err(drv_pg_conn *c, char *buf, size_t cap) {
  return drv_pg_mask(c, c->pg ? PQerrorMessage(c->pg)
                               : "cannot start the PostgreSQL client: out of memory, or libpq could "
                                 "not be loaded (see the message before this one)",
                     buf, cap);
}

static int drv_pg_exec(drv_pg_conn *c, const char *sql, char *err, size_t cap);

/* libpq's sslmode values, weakest first (libpq checks them itself, but
 * only after a connection attempt, as a connection error). */
static const char *const drv_pg_ssl_modes[] = {"disable",   "allow",       "prefer", "require",
                                               "verify-ca", "verify-full", NULL};
/* The TLS files passed to libpq under their own names; none is a secret
 * (sslpassword, the key's passphrase, is deliberately not taken). */
static const char *const drv_pg_tls_files[] = {"sslrootcert", "sslcert", "sslkey", "sslcrl", NULL};
/* keys/vals of PQconnectdbParams: host, port, dbname, user, password (or
 * the DSN and a password), sslmode, the TLS files, connect_timeout,
 * client_encoding, application_name, the NULL end. */
#define DRV_PG_MAX_PARAMS (5 + 1 + 4 + 3 + 1)

/* The SQL channel of a postgres/supabase connection: a DSN (dsn, sql_dsn,
 * pg_dsn) or fields host/port/database/user/password (also pg_host ...),
 * sslmode and the TLS files (they override the DSN's).  Nothing that holds
 * a secret is ever formatted. */
static osiris_rc drv_pg_connect_src(const drv_db_src *src, drv_pg_conn *c, const char *what,
                                    int timeout, char *errout, size_t errcap) {
  const char *keys[DRV_PG_MAX_PARAMS], *vals[DRV_PG_MAX_PARAMS];
  const char *dsn = drv_db_src_str(src, "dsn");
  const char *host, *db, *user, *pw, *sslmode;
  char portbuf[24], tmo[24], allowed[80];
  int64_t port = 5432;
  int n = 0, have_port, tls = -1;
  size_t i;
  char err[600];
  PGresult *res;
  osiris_rc rc;

  memset(c, 0, sizeof *c);
  if (!dsn) dsn = drv_db_src_str(src, "sql_dsn");
  if (!dsn) dsn = drv_db_src_str(src, "pg_dsn");
  host = drv_db_src_str(src, "host");
  if (!host) host = drv_db_src_str(src, "pg_host");
  db = drv_db_src_str(src, "database");
  if (!db) db = drv_db_src_str(src, "pg_database");
  if (!db) db = drv_db_src_str(src, "dbname");
  user = drv_db_src_str(src, "user");
  if (!user) user = drv_db_src_str(src, "pg_user");
  pw = osiris_json_str(drv_db_src_field(src, "password"));
  if (!pw) pw = osiris_json_str(drv_db_src_field(src, "pg_password"));
  sslmode = drv_db_src_str(src, "sslmode");
  have_port = drv_db_src_int(src, "port", &port);
  if (have_port == 0) have_port = drv_db_src_int(src, "pg_port", &port);
  if (have_port < 0 || port < 1 || port > 65535) {
    snprintf(errout, errcap, "%s connection: port must be an integer 1..65535", what);
    return OSIRIS_EINVAL;
  }
  if (sslmode && (tls = drv_db_tls_mode(sslmode, drv_pg_ssl_modes)) < 0) {
    drv_db_tls_modes_text(drv_pg_ssl_modes, allowed, sizeof allowed);
    snprintf(errout, errcap, "%s connection: sslmode \"%.40s\" is not one of %s", what, sslmode,
             allowed);
    return OSIRIS_EINVAL;
  }
  if (tls != 0) { /* not disable: the files are used */
    rc = drv_db_tls_files(src, drv_pg_tls_files, what, errout, errcap);
    if (rc) return rc;
  }
  c->secrets[0] = pw;
  c->secrets[1] = dsn;
  if (dsn) {
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL), *o;
    if (!opts) { /* or libpq could not be loaded (./osiris loads it here; stderr says) */
      snprintf(errout, errcap, "%s connection: the DSN is malformed (or libpq could not be loaded)",
               what);
      return OSIRIS_EINVAL;
    }
    for (o = opts; o->keyword; o++) {
      if (o->val && strcmp(o->keyword, "password") == 0 && *o->val) {
        size_t l = strlen(o->val);
        c->dsn_pw = osiris_malloc(l + 1);
        if (c->dsn_pw) memcpy(c->dsn_pw, o->val, l + 1);
      }
    }
    PQconninfoFree(opts);
    c->secrets[2] = c->dsn_pw;
    keys[n] = "dbname", vals[n++] = dsn;
    /* Fields after the DSN override it (PQconnectdbParams order rule). */
    if (pw && *pw) keys[n] = "password", vals[n++] = pw;
  } else {
    if (!db) {
      snprintf(errout, errcap,
               "%s connection: give a dsn (dsn, sql_dsn, pg_dsn) or database "
               "with host/port/user/password",
               what);
      return OSIRIS_EINVAL;
    }
    snprintf(portbuf, sizeof portbuf, "%lld", (long long)port);
    keys[n] = "host", vals[n++] = host ? host : "localhost";
    keys[n] = "port", vals[n++] = portbuf;
    keys[n] = "dbname", vals[n++] = db;
    if (user) keys[n] = "user", vals[n++] = user;
    if (pw && *pw) keys[n] = "password", vals[n++] = pw;
  }
  if (tls >= 0) keys[n] = "sslmode", vals[n++] = drv_pg_ssl_modes[tls];
  for (i = 0; tls != 0 && drv_pg_tls_files[i]; i++) {
    const char *v = drv_db_src_str(src, drv_pg_tls_files[i]);
    if (v) keys[n] = drv_pg_tls_files[i], vals[n++] = v;
  }
  snprintf(tmo, sizeof tmo, "%d", timeout);
  keys[n] = "connect_timeout", vals[n++] = tmo;
  keys[n] = "client_encoding", vals[n++] = "UTF8";
  keys[n] = "application_name", vals[n++] = "osiris";
  keys[n] = NULL, vals[n] = NULL;
  c->pg = PQconnectdbParams(keys, vals, 1);
  if (c->pg) {
    const char *h = PQhost(c->pg), *p = PQport(c->pg), *d = PQdb(c->pg);
    snprintf(c->where, sizeof c->where, "%s:%s/%s", h && *h ? h : "localhost",
             p && *p ? p : "5432", d ? d : "");
    /* PQdb of a failed DSN connection can be the DSN itself. */
    char masked[sizeof c->where];
    drv_db_mask(masked, sizeof masked, c->where, c->secrets, 3);
    if (dsn && d && strcmp(d, dsn) == 0) snprintf(c->where, sizeof c->where, "(dsn)");
    else memcpy(c->where, masked, sizeof masked);
  }
  if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
    drv_pg_err(c, err, sizeof err);
    goto fail;
  }
  res = PQexec(c->pg, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                      "SET extra_float_digits = 3; SET bytea_output = 'hex'; "
                      "SET IntervalStyle = 'postgres'");
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    drv_pg_mask(c, PQresultErrorMessage(res), err, sizeof err);
    PQclear(res);
    goto fail;
  }
  PQclear(res);
  return OSIRIS_OK;
fail:
  rc = c->pg ? OSIRIS_ECONN : OSIRIS_ENOMEM;
  snprintf(errout, errcap, "%s connection to %.300s failed: %.580s", what,
           c->where[0] ? c->where : "(dsn)", err);
  drv_pg_close(c);
  return rc;
}

static osiris_rc drv_pg_connect(osiris_step *step, drv_pg_conn *c, const char *what) {
  drv_db_src src = drv_db_step_src(step);
  char err[1100];
  osiris_rc rc = drv_pg_connect_src(&src, c, what, 10, err, sizeof err);
  return rc ? osiris_step_fail(step, rc, "%s", err) : OSIRIS_OK;
}

/* `osiris connections doctor`: connect (5 s timeout) and SELECT 1. */
static osiris_rc drv_pg_check_as(const osiris_json *connection, const char *what, char *err,
                                 size_t errcap) {
  drv_db_src src;
  drv_pg_conn c;
  osiris_rc rc;
  char msg[600];
  src.cfg = NULL;
  src.conn = connection;
  rc = drv_pg_connect_src(&src, &c, what, 5, err, errcap);
  if (rc) return rc;
  if (drv_pg_exec(&c, "SELECT 1", msg, sizeof msg)) {
    snprintf(err, errcap, "%s SELECT 1 on %.300s failed: %.580s", what, c.where, msg);
    rc = OSIRIS_ECONN;
  }
  drv_pg_close(&c);
  return rc;
}

static osiris_rc drv_pg_check(const osiris_json *connection, char *err, size_t errcap) {
  return drv_pg_check_as(connection, "PostgreSQL", err, errcap);
}

/* PostgreSQL type OIDs (pg_type.dat; stable across versions). */
#define DRV_PG_BOOL 16
#define DRV_PG_INT8 20
#define DRV_PG_INT2 21
#define DRV_PG_INT4 23
#define DRV_PG_OID 26
#define DRV_PG_FLOAT4 700
#define DRV_PG_FLOAT8 701
#define DRV_PG_DATE 1082
#define DRV_PG_TIMESTAMP 1114
#define DRV_PG_TIMESTAMPTZ 1184
#define DRV_PG_NUMERIC 1700

static void drv_pg_map(Oid oid, int typmod, osiris_type *t, int *scale, int *conv) {
  *scale = 0;
  switch (oid) {
  case DRV_PG_INT2:
  case DRV_PG_INT4:
  case DRV_PG_INT8:
  case DRV_PG_OID:
    *t = OSIRIS_TYPE_INT64, *conv = DRV_CONV_INT;
    return;
  case DRV_PG_NUMERIC:
    *t = OSIRIS_TYPE_DECIMAL, *conv = DRV_CONV_DEC;
    if (typmod >= 4) *scale = ((typmod - 4) & 0xffff) > 38 ? 38 : ((typmod - 4) & 0xffff);
    return;
  case DRV_PG_FLOAT4:
  case DRV_PG_FLOAT8:
    *t = OSIRIS_TYPE_DOUBLE, *conv = DRV_CONV_DOUBLE;
    return;
  case DRV_PG_BOOL:
    *t = OSIRIS_TYPE_BOOL, *conv = DRV_CONV_BOOL;
    return;
  case DRV_PG_DATE:
    *t = OSIRIS_TYPE_DATE, *conv = DRV_CONV_DATE;
    return;
  case DRV_PG_TIMESTAMP:
  case DRV_PG_TIMESTAMPTZ:
    *t = OSIRIS_TYPE_TIMESTAMP, *conv = DRV_CONV_TS;
    return;
  default: /* text, varchar, json, uuid, bytea (hex), arrays, ...: as printed */
    *t = OSIRIS_TYPE_STRING, *conv = DRV_CONV_TEXT;
    return;
  }
}

/* Columns of the frame from a result's description. */
static osiris_rc drv_pg_columns(osiris_step *step, const PGresult *res, osiris_frame *f,
                                drv_db_col **cols) {
  int nf = PQnfields(res), i;
  osiris_rc rc;
  *cols = osiris_calloc(nf > 0 ? (size_t)nf : 1, sizeof **cols);
  if (!*cols) return osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
  for (i = 0; i < nf; i++) {
    osiris_type t;
    int scale;
    drv_pg_map(PQftype(res, i), PQfmod(res, i), &t, &scale, &(*cols)[i].conv);
    rc = osiris_frame_add_column(f, PQfname(res, i), t, scale);
    if (rc) return osiris_step_fail(step, rc, "cannot add column '%s' to the frame", PQfname(res, i));
  }
  return OSIRIS_OK;
}

/* Connect for an extractor with the step's timeout (seconds: connect
 * timeout and statement_timeout) and retries (further attempts when
 * connecting fails, 1 s, 2 s, 4 s ... apart, at most 8 s); the keys of
 * supabase.extractor, absent elsewhere (10 s, no limit, one attempt). */
static osiris_rc drv_pg_connect_tuned(osiris_step *step, drv_pg_conn *c, const char *what) {
  drv_db_src src = drv_db_step_src(step);
  const osiris_json *cfg = osiris_step_config(step);
  int64_t timeout = osiris_json_int(osiris_json_get(cfg, "timeout"), 0);
  int64_t retries = osiris_json_int(osiris_json_get(cfg, "retries"), 0), attempt;
  char err[1100], stmt[64];
  osiris_rc rc = OSIRIS_OK;
  if (timeout < 0 || timeout > 86400 || retries < 0 || retries > 100)
    return osiris_step_fail(step, OSIRIS_EINVAL, "timeout must be 1..86400 and retries 0..100");
  for (attempt = 0;; attempt++) {
    struct timespec pause;
    rc = drv_pg_connect_src(&src, c, what, timeout > 0 ? (int)timeout : 10, err, sizeof err);
    if (rc != OSIRIS_ECONN || attempt >= retries || osiris_step_cancelled(step)) break;
    pause.tv_sec = attempt < 3 ? (time_t)1 << attempt : 8;
    pause.tv_nsec = 0;
    osiris_step_log(step, 2, "%s; attempt %lld of %lld, next in %lld s", err,
                    (long long)attempt + 1, (long long)retries + 1, (long long)pause.tv_sec);
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
  }
  if (rc && retries > 0)
    return osiris_step_fail(step, rc, "%s (%lld attempts)", err, (long long)attempt + 1);
  if (rc) return osiris_step_fail(step, rc, "%s", err);
  if (timeout > 0) {
    snprintf(stmt, sizeof stmt, "SET statement_timeout = %lld", (long long)timeout * 1000);
    if (drv_pg_exec(c, stmt, err, sizeof err)) {
      drv_pg_close(c);
      return osiris_step_fail(step, OSIRIS_ESQL, "%s: %s", what, err);
    }
  }
  return OSIRIS_OK;
}

static osiris_rc drv_pg_extract_as(osiris_step *step, const char *what) {
  drv_pg_conn c;
  osiris_buf sql = {0}, scratch = {0};
  PGresult *res = NULL;
  osiris_frame *f = NULL;
  drv_db_col *cols = NULL;
  size_t rows = 0;
  int nf = 0, i, failed = 0;
  osiris_rc rc;
  char err[600];
  drv_db_guard guard = {0};

  memset(&c, 0, sizeof c);
  rc = drv_db_build_select(step, '"', &sql);
  if (rc) goto done;
  rc = drv_pg_connect_tuned(step, &c, what);
  if (rc) goto done;
  drv_db_guard_start(&guard, step, c.pg, 0);
  f = osiris_frame_new();
  if (!f) {
    rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (!PQsendQuery(c.pg, sql.p) || !PQsetSingleRowMode(c.pg)) {
    rc = osiris_step_fail(step, OSIRIS_ESQL, "%s query failed: %s", what,
                          drv_pg_err(&c, err, sizeof err));
    goto done;
  }
  /* Every result must be read, also after an error, for the connection
   * to be usable; here it is closed anyway, but PQgetResult gives the
   * server's error only at the end. */
  while ((res = PQgetResult(c.pg)) != NULL) {
    ExecStatusType st = PQresultStatus(res);
    if (failed) {
      PQclear(res);
      continue;
    }
    if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
      if (!cols) {
        rc = drv_pg_columns(step, res, f, &cols);
        if (rc) goto done;
        nf = PQnfields(res);
      } else if (PQnfields(res) != nf) {
        rc = osiris_step_fail(step, OSIRIS_EINVAL, "%s query returned several result sets of "
                              "different shapes; give one statement", what);
        goto done;
      }
      if (st == PGRES_SINGLE_TUPLE) {
        for (i = 0; i < nf; i++) {
          if (PQgetisnull(res, 0, i))
            rc = osiris_frame_append_null(f, (size_t)i);
          else
            rc = drv_db_append(step, f, (size_t)i, &cols[i], PQgetvalue(res, 0, i),
                               (size_t)PQgetlength(res, 0, i), &scratch);
          if (rc) {
            rc = drv_db_value_fail(step, rc, rows, PQfname(res, i), "");
            goto done;
          }
        }
        if ((rc = drv_db_row_end(step, f, &rows)) != OSIRIS_OK) goto done;
      }
    } else if (st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
      rc = osiris_step_fail(step, OSIRIS_ESQL, "%s query failed: %s", what,
                            drv_pg_mask(&c, PQresultErrorMessage(res), err, sizeof err));
      failed = 1;
    }
    PQclear(res);
  }
  if (failed) goto done;
  osiris_step_metric(step, "rows_read", (double)rows, "rows");
  osiris_step_log(step, 1, "read %zu rows from %s %s", rows, what, c.where);
  osiris_step_set_output(step, f);
  f = NULL;
  rc = OSIRIS_OK;
done:
  if (drv_db_guard_stop(&guard) && rc)
    rc = osiris_step_fail(step, OSIRIS_ECANCEL, "%s query stopped: the run was cancelled", what);
  PQclear(res); /* non-NULL only when left by a goto inside the loop */
  drv_pg_close(&c);  /* PQfinish abandons a query still running */
  osiris_frame_free(f);
  osiris_free(cols);
  osiris_buf_free(&sql);
  osiris_buf_free(&scratch);
  return rc;
}

static osiris_rc drv_pg_extract(osiris_step *step) { return drv_pg_extract_as(step, "PostgreSQL"); }

/* Run a statement that returns no rows we need; 0 ok, -1 with err set. */
static int drv_pg_exec(drv_pg_conn *c, const char *sql, char *err, size_t cap) {
  PGresult *r = PQexec(c->pg, sql);
  ExecStatusType st = PQresultStatus(r);
  int ok = r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
  if (!ok) drv_pg_mask(c, r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg), err, cap);
  PQclear(r);
  return ok ? 0 : -1;
}

/* COPY text format: backslash, newline, carriage return and tab escaped;
 * NULL is \N (written by the caller). */
static const char drv_pg_copy_esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', ['\r'] = 'r'};

static const char *drv_pg_ddl_type(const osiris_frame *f, size_t c, char *buf, size_t cap) {
  switch (osiris_frame_col_type(f, c)) {
  case OSIRIS_TYPE_BOOL: return "BOOLEAN";
  case OSIRIS_TYPE_INT64: return "BIGINT";
  case OSIRIS_TYPE_DOUBLE: return "DOUBLE PRECISION";
  case OSIRIS_TYPE_DECIMAL:
    snprintf(buf, cap, "NUMERIC(38,%d)", drv_db_dec_scale(f, c));
    return buf;
  case OSIRIS_TYPE_DATE: return "DATE";
  case OSIRIS_TYPE_TIMESTAMP: return "TIMESTAMP";
  default: return "TEXT";
  }
}

/* CREATE TABLE from the frame's columns and types. */
static void drv_pg_build_ddl(osiris_buf *b, const char *target, const drv_db_wopts *o) {
  size_t c, i, n = osiris_frame_cols(o->in);
  char tb[32];
  osiris_buf_printf(b, "CREATE TABLE %s (", target);
  for (c = 0; c < n; c++) {
    osiris_buf_puts(b, c ? ",\n  " : "\n  ");
    drv_db_ident(b, osiris_frame_col_name(o->in, c), '"', 0);
    osiris_buf_putc(b, ' ');
    osiris_buf_puts(b, drv_pg_ddl_type(o->in, c, tb, sizeof tb));
    if (drv_db_is_pk(o, c)) osiris_buf_puts(b, " NOT NULL");
  }
  if (o->pk.n) {
    osiris_buf_puts(b, ",\n  PRIMARY KEY (");
    for (i = 0; i < o->pk.n; i++) {
      if (i) osiris_buf_puts(b, ", ");
      drv_db_ident(b, o->pk.v[i], '"', 0);
    }
    osiris_buf_putc(b, ')');
  }
  osiris_buf_puts(b, "\n)");
}

/* Encode rows as COPY text and send them, batch by batch (o->in, then
 * drv_db_next until the end); progress and cancellation.  Row numbers
 * count across batches.  *written: the rows sent. */
static osiris_rc drv_pg_copy_rows(osiris_step *step, drv_pg_conn *c, drv_db_wopts *o,
                                  const char *what, const char *disp, size_t *written, char *err,
                                  size_t errcap) {
  size_t ncols = osiris_frame_cols(o->in), base = 0, r, col;
  osiris_buf out = {0};
  drv_db_progress pr;
  osiris_rc rc = OSIRIS_OK;
  char tmp[64];
  int *is_string = osiris_calloc(ncols, sizeof *is_string);
  *written = 0;
  if (!is_string) return osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
  for (col = 0; col < ncols; col++)
    is_string[col] = osiris_frame_col_type(o->in, col) == OSIRIS_TYPE_STRING;
  pr.t0 = pr.last_ms = drv_db_now_ms();
  pr.last_rows = 0;
  while (o->in) {
    const osiris_frame *f = o->in;
    size_t rows = osiris_frame_rows(f);
    for (r = 0; r < rows; r++) {
      size_t g = base + r + 1; /* global row number */
      for (col = 0; col < ncols; col++) {
        size_t len;
        int is_null;
        const char *v = osiris_frame_format(f, col, r, tmp, sizeof tmp, &len, &is_null);
        if (col) osiris_buf_putc(&out, '\t');
        if (is_null)
          osiris_buf_put(&out, "\\N", 2);
        else if (is_string[col])
          drv_db_put_escaped(&out, v, len, drv_pg_copy_esc);
        else
          osiris_buf_put(&out, v, len);
      }
      osiris_buf_putc(&out, '\n');
      if (out.oom) {
        rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory encoding row %zu", g);
        goto done;
      }
      if (out.len >= DRV_DB_COPY_CHUNK) {
        if (PQputCopyData(c->pg, out.p, (int)out.len) != 1) {
          drv_pg_err(c, err, errcap);
          rc = osiris_step_fail(step, OSIRIS_ESQL, "PostgreSQL write to %s failed during COPY: %s",
                                disp, err);
          goto done;
        }
        out.len = 0;
      }
      drv_db_progress_tick(step, &pr, o->table, g, o->total);
      if (g % DRV_DB_CANCEL_EVERY == 0 && osiris_step_cancelled(step)) {
        snprintf(err, errcap, "cancelled");
        rc = osiris_step_fail(step, OSIRIS_ECANCEL, "cancelled after %zu rows", g);
        goto done;
      }
    }
    base += rows;
    /* The batch is released by the next call: its rows are encoded. */
    rc = drv_db_next(step, o, base, what, disp, err, errcap);
    if (rc) goto done;
  }
  if (out.len && PQputCopyData(c->pg, out.p, (int)out.len) != 1) {
    drv_pg_err(c, err, errcap);
    rc = osiris_step_fail(step, OSIRIS_ESQL, "PostgreSQL write to %s failed during COPY: %s", disp,
                          err);
  }
  *written = base;
done:
  osiris_free(is_string);
  osiris_buf_free(&out);
  return rc;
}

static osiris_rc drv_pg_write_as(osiris_step *step, const char *what) {
  drv_pg_conn c;
  drv_db_wopts o;
  osiris_buf target = {0}, disp = {0}, collist = {0}, pklist = {0}, sql = {0}, ups = {0};
  PGresult *res = NULL;
  int in_txn = 0, exists, connected = 0;
  int64_t t0 = drv_db_now_ms();
  size_t col, ncols, written = 0;
  osiris_rc rc;
  char err[600] = "";
  const char *param;

  memset(&c, 0, sizeof c);
  rc = drv_db_wopts_get(step, &o, 10000);
  if (rc) goto done;
  ncols = osiris_frame_cols(o.in);
  drv_db_ident(&target, o.schema, '"', 0);
  osiris_buf_putc(&target, '.');
  drv_db_ident(&target, o.table, '"', 0);
  osiris_buf_printf(&disp, "%s.%s", o.schema, o.table);
  for (col = 0; col < ncols; col++) {
    if (col) osiris_buf_puts(&collist, ", ");
    drv_db_ident(&collist, osiris_frame_col_name(o.in, col), '"', 0);
  }
  for (col = 0; col < o.pk.n; col++) {
    if (col) osiris_buf_puts(&pklist, ", ");
    drv_db_ident(&pklist, o.pk.v[col], '"', 0);
  }
  if (target.oom || disp.oom || collist.oom || pklist.oom) {
    rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = drv_pg_connect(step, &c, what);
  if (rc) goto done;
  connected = 1;
  if (drv_pg_exec(&c, "BEGIN", err, sizeof err)) goto sql_fail;
  in_txn = 1;

  param = target.p;
  res = PQexecParams(c.pg, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, &param, NULL, NULL, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
    drv_pg_mask(&c, res ? PQresultErrorMessage(res) : PQerrorMessage(c.pg), err, sizeof err);
    goto sql_fail;
  }
  exists = PQgetvalue(res, 0, 0)[0] == 't';
  PQclear(res);
  res = NULL;
  drv_db_exists_event(step, o.schema, o.table, exists);
  if (!exists) {
    if (!o.create) {
      snprintf(err, sizeof err, "table does not exist and create_if_missing is false");
      rc = osiris_step_fail(step, OSIRIS_ENOTFOUND,
                            "%s write: table %s does not exist and create_if_missing is false",
                            what, drv_db_str0(&disp));
      goto done;
    }
    /* NUMERIC columns are sized from every value (none rounded). */
    if (drv_db_has_decimal(&o)) {
      rc = drv_db_gather(step, &o);
      if (rc) {
        snprintf(err, sizeof err, "stopped before writing: the upstream step failed");
        goto done;
      }
    }
    drv_pg_build_ddl(&sql, target.p, &o);
    if (sql.oom) {
      rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    drv_db_ddl_events(step, o.schema, o.table, sql.p, 0);
    if (drv_pg_exec(&c, sql.p, err, sizeof err)) goto sql_fail;
    drv_db_ddl_events(step, o.schema, o.table, sql.p, 1);
  }
  sql.len = 0;
  if (o.mode == DRV_MODE_REPLACE) {
    osiris_buf_printf(&sql, "DELETE FROM %s", target.p);
    if (sql.oom || drv_pg_exec(&c, sql.p, err, sizeof err)) goto sql_fail;
  }
  sql.len = 0;
  if (o.mode == DRV_MODE_UPSERT) {
    /* The stage takes the target's column types, so COPY parses values
     * exactly as a direct COPY into the target would. */
    osiris_buf_printf(&sql,
                  "CREATE TEMP TABLE osiris_stage ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA",
                  collist.p, target.p);
    if (sql.oom || drv_pg_exec(&c, sql.p, err, sizeof err)) goto sql_fail;
    sql.len = 0;
    osiris_buf_printf(&sql, "COPY osiris_stage (%s) FROM STDIN", collist.p);
  } else {
    osiris_buf_printf(&sql, "COPY %s (%s) FROM STDIN", target.p, collist.p);
  }
  if (sql.oom) goto sql_fail;
  if (o.mode == DRV_MODE_UPSERT) {
    size_t updates = 0;
    /* Built now: the column names come from a batch, and the batches are
     * gone once the COPY has read them.  DISTINCT ON keeps the last row per
     * key (ctid follows COPY order), so duplicate keys in the input behave
     * like successive upserts. */
    osiris_buf_printf(&ups,
                  "INSERT INTO %s (%s) SELECT %s FROM (SELECT DISTINCT ON (%s) * FROM osiris_stage "
                  "ORDER BY %s, ctid DESC) AS s ON CONFLICT (%s) DO ",
                  target.p, collist.p, collist.p, pklist.p, pklist.p, pklist.p);
    for (col = 0; col < ncols; col++) {
      if (drv_db_is_pk(&o, col)) continue;
      osiris_buf_puts(&ups, updates++ ? ", " : "UPDATE SET ");
      drv_db_ident(&ups, osiris_frame_col_name(o.in, col), '"', 0);
      osiris_buf_puts(&ups, " = EXCLUDED.");
      drv_db_ident(&ups, osiris_frame_col_name(o.in, col), '"', 0);
    }
    if (!updates) osiris_buf_puts(&ups, "NOTHING");
    if (ups.oom) goto sql_fail;
  }
  drv_db_write_start(step, &o, "copy");
  res = PQexec(c.pg, sql.p);
  if (PQresultStatus(res) != PGRES_COPY_IN) {
    drv_pg_mask(&c, res ? PQresultErrorMessage(res) : PQerrorMessage(c.pg), err, sizeof err);
    goto sql_fail;
  }
  PQclear(res);
  res = NULL;
  rc = drv_pg_copy_rows(step, &c, &o, what, disp.p, &written, err, sizeof err);
  if (PQputCopyEnd(c.pg, rc ? "aborted by osiris" : NULL) != 1 && !rc) {
    drv_pg_err(&c, err, sizeof err);
    goto sql_fail;
  }
  /* The COPY's outcome (constraint violations, bad values) comes here. */
  while ((res = PQgetResult(c.pg)) != NULL) {
    if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK) {
      drv_pg_mask(&c, PQresultErrorMessage(res), err, sizeof err);
      rc = osiris_step_fail(step, OSIRIS_ESQL, "%s write to %s failed: %s", what,
                            drv_db_str0(&disp), err);
    }
    PQclear(res);
  }
  if (rc) goto done;
  if (o.mode == DRV_MODE_UPSERT && drv_pg_exec(&c, ups.p, err, sizeof err)) goto sql_fail;
  if (drv_pg_exec(&c, "COMMIT", err, sizeof err)) goto sql_fail;
  in_txn = 0;
  drv_db_write_complete(step, &o, "copy", written, t0);
  osiris_step_log(step, 1, "wrote %zu rows to %s (%s, %s)", written, drv_db_str0(&disp),
                  o.mode_name, c.where);
  rc = OSIRIS_OK;
  goto done;
sql_fail:
  if (!err[0]) snprintf(err, sizeof err, "out of memory");
  rc = osiris_step_fail(step, OSIRIS_ESQL, "%s write to %s failed: %s", what, drv_db_str0(&disp),
                        err);
done:
  PQclear(res);
  if (rc && connected) {
    if (in_txn && c.pg) {
      char ignored[64];
      drv_pg_exec(&c, "ROLLBACK", ignored, sizeof ignored);
    }
    drv_db_write_error(step, o.table, err[0] ? err : osiris_rc_name(rc));
  }
  drv_pg_close(&c);
  drv_db_wopts_free(&o);
  osiris_buf_free(&target);
  osiris_buf_free(&disp);
  osiris_buf_free(&collist);
  osiris_buf_free(&pklist);
  osiris_buf_free(&sql);
  osiris_buf_free(&ups);
  return rc;
}

static osiris_rc drv_pg_write(osiris_step *step) { return drv_pg_write_as(step, "PostgreSQL"); }

/* ======================================================================
 * 3f. Supabase REST (PostgREST): supabase.* without a SQL channel
 *
 * The REST channel of supabase.writer, used when a supabase connection has
 * no SQL channel: rows go as JSON arrays to POST <url>/rest/v1/<table>,
 * batch_size rows (default 500, at most ~8 MB) per request.  Upsert adds
 * Prefer: resolution=merge-duplicates and ?on_conflict=<primary key>;
 * replace is an upsert followed by deleting the rows whose (single-column,
 * integer/text/date) key is not in the input, found by paging through the
 * table's keys.  REST writes are NOT one transaction: a failure in a late
 * batch leaves the earlier batches written (the SQL channel keeps its
 * all-or-nothing guarantee), and a table cannot be created over REST, so
 * create_if_missing on a missing table fails the step.  Requests go
 * through osiris_step_http (osiris_http in the doctor check): 429, 5xx and
 * network errors are retried with the engine's backoff and jitter; a POST
 * retried after a network error may have landed the first time, so an
 * append can then duplicate rows (upsert and replace are idempotent).  The
 * key travels only in request headers and is masked out of every message.
 * ====================================================================== */

#define DRV_REST_MAX_BODY ((size_t)8 << 20)      /* bytes per POST */
#define DRV_REST_MAX_RESPONSE ((size_t)64 << 20) /* bytes kept per response */
#define DRV_REST_KEY_PAGE 10000                  /* keys per GET in replace */
#define DRV_REST_MAX_URL 6000                    /* bytes of filter per DELETE */

typedef struct drv_rest {
  osiris_buf base;      /* "<url>/rest/v1" */
  const char *key;      /* borrowed secret */
  const char *schema;   /* NULL or "public": no profile header */
  long timeout_s;
  int attempts;
  osiris_step *step;    /* retry events, cancellation, secrets; NULL in checks */
  osiris_buf resp;      /* body of the last response */
  long status;          /* HTTP status of the last response; 0: none */
  osiris_rc rc;         /* of the last request: OSIRIS_OK when a response arrived */
  char neterr[1024];    /* the last request's failure, masked */
  const char *retry_event; /* NULL: "write.retry" */
} drv_rest;

/* The REST base URL from url, else project_id; 0 ok, -1 with err set. */
static int drv_rest_base(const drv_db_src *src, osiris_buf *out, char *err, size_t cap) {
  const char *url = drv_db_src_str(src, "url");
  const char *pid = drv_db_src_str(src, "project_id");
  size_t n;
  if (url) {
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
      snprintf(err, cap, "Supabase connection: url must start with https:// or http://");
      return -1;
    }
    n = strlen(url);
    while (n > 8 && url[n - 1] == '/') n--;
    osiris_buf_put(out, url, n);
  } else if (pid) {
    osiris_buf_printf(out, "https://%s.supabase.co", pid);
  } else {
    snprintf(err, cap, "Supabase connection: url (or project_id) is required for the REST API");
    return -1;
  }
  osiris_buf_puts(out, "/rest/v1");
  if (out->oom) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  return 0;
}

/* service_role_key, else anon_key, else key. */
static const char *drv_rest_apikey(const drv_db_src *src) {
  const char *k = drv_db_src_str(src, "service_role_key");
  if (!k) k = drv_db_src_str(src, "anon_key");
  if (!k) k = drv_db_src_str(src, "key");
  return k;
}

static void drv_rest_close(drv_rest *r) {
  osiris_buf_free(&r->base);
  osiris_buf_free(&r->resp);
}

/* 0 ok; -1 with err set (nothing to close). */
static int drv_rest_open(drv_rest *r, const drv_db_src *src, osiris_step *step, char *err,
                         size_t cap) {
  memset(r, 0, sizeof *r);
  r->step = step;
  r->timeout_s = 60;
  r->attempts = 3;
  if (drv_rest_base(src, &r->base, err, cap)) goto fail;
  /* The key travels in every request: https, loopback, or an opt-in
   * (osiris_step_http checks again, and warns once per step). */
  if (!osiris_url_is_secure(r->base.p)) {
    const char *opt = getenv("OSIRIS_ALLOW_INSECURE_HTTP");
    if (!opt || !*opt || strcmp(opt, "0") == 0) {
      snprintf(err, cap, "Supabase connection: url %.200s: https is required (plain http only to a "
               "loopback host, or with OSIRIS_ALLOW_INSECURE_HTTP=1)", r->base.p);
      goto fail;
    }
  }
  r->key = drv_rest_apikey(src);
  if (!r->key) {
    snprintf(err, cap, "Supabase connection: service_role_key (or anon_key, key) is required "
                       "for the REST API");
    goto fail;
  }
  return 0;
fail:
  drv_rest_close(r);
  return -1;
}

/* A request on the engine's retry policy (osiris_step_http, or
 * osiris_http in a check): 429, 5xx and network errors retried, attempts
 * in all, waits from 1 s doubling up to 10 s with jitter, Retry-After
 * honoured; each retry a write.retry (or retry_event) event.  0 when a
 * response arrived (r->status, r->resp: any status, the caller judges
 * it), -1 when none did (r->rc, r->neterr). */
static int drv_rest_request(drv_rest *r, const char *method, const char *url, const char *body,
                            size_t blen, const char *prefer, const char *what) {
  osiris_buf hk = {0}, ha = {0}, hp = {0}, hs = {0};
  const char *hdr[6];
  osiris_http_req q;
  size_t n = 0;
  r->status = 0;
  r->neterr[0] = 0;
  osiris_buf_printf(&hk, "apikey: %s", r->key);
  osiris_buf_printf(&ha, "Authorization: Bearer %s", r->key);
  if (prefer) osiris_buf_printf(&hp, "Prefer: %s", prefer);
  if (r->schema && strcmp(r->schema, "public") != 0)
    osiris_buf_printf(&hs, "%s: %s", strcmp(method, "GET") == 0 ? "Accept-Profile"
                                                                : "Content-Profile", r->schema);
  if (hk.oom || ha.oom || hp.oom || hs.oom) {
    r->rc = OSIRIS_ENOMEM;
    snprintf(r->neterr, sizeof r->neterr, "out of memory");
  } else {
    hdr[n++] = hk.p;
    hdr[n++] = ha.p;
    hdr[n++] = "Accept: application/json";
    if (hp.p) hdr[n++] = hp.p;
    if (hs.p) hdr[n++] = hs.p;
    hdr[n] = NULL;
    memset(&q, 0, sizeof q);
    q.method = method;
    q.url = url;
    q.headers = hdr;
    q.body = body;
    q.body_len = blen;
    q.timeout_s = r->timeout_s;
    q.attempts = r->attempts;
    q.backoff_ms = 1000;
    q.backoff_max_ms = 10000;
    q.max_response = DRV_REST_MAX_RESPONSE;
    q.what = what;
    q.retry_event = r->retry_event ? r->retry_event : "write.retry";
    q.error = r->neterr;
    q.error_cap = sizeof r->neterr;
    r->rc = r->step ? osiris_step_http(r->step, &q, &r->status, &r->resp)
                    : osiris_http(&q, &r->status, &r->resp, r->neterr, sizeof r->neterr);
  }
  /* The key was copied into the header texts: wipe them. */
  if (hk.p) memset(hk.p, 0, hk.len);
  if (ha.p) memset(ha.p, 0, ha.len);
  osiris_buf_free(&hk);
  osiris_buf_free(&ha);
  osiris_buf_free(&hp);
  osiris_buf_free(&hs);
  return r->rc == OSIRIS_OK ? 0 : -1;
}

/* The code a failed request gives the step: other for a status or a
 * network error, the request's own for cancellation, a response over the
 * cap, no memory. */
static osiris_rc drv_rest_rc(const drv_rest *r, int got, osiris_rc other) {
  return got != 0 && r->rc != OSIRIS_EIO ? r->rc : other;
}

/* "HTTP 409 (23505): message; details; hint" from the last response, or
 * the transport error, masked. */
static void drv_rest_describe(drv_rest *r, int got, char *out, size_t cap) {
  const char *secrets[1];
  char raw[1200];
  secrets[0] = r->key;
  if (got != 0) {
    snprintf(raw, sizeof raw, "%s%s", r->rc == OSIRIS_EIO ? "network error: " : "", r->neterr);
  } else {
    osiris_json *j = NULL;
    const char *code = NULL, *msg = NULL, *details = NULL, *hint = NULL;
    if (r->resp.len && osiris_json_parse(r->resp.p, r->resp.len, &j, NULL, 0) == OSIRIS_OK &&
        osiris_json_kind_of(j) == OSIRIS_JSON_OBJECT) {
      code = osiris_json_str(osiris_json_get(j, "code"));
      msg = osiris_json_str(osiris_json_get(j, "message"));
      details = osiris_json_str(osiris_json_get(j, "details"));
      hint = osiris_json_str(osiris_json_get(j, "hint"));
    }
    if (msg) {
      snprintf(raw, sizeof raw, "HTTP %ld%s%.40s%s: %.400s%s%.200s%s%.150s", r->status,
               code ? " (" : "", code ? code : "", code ? ")" : "", msg, details ? "; " : "",
               details ? details : "", hint ? "; hint: " : "", hint ? hint : "");
    } else {
      size_t n = r->resp.len > 200 ? 200 : r->resp.len;
      snprintf(raw, sizeof raw, "HTTP %ld%s%.*s", r->status, n ? ": " : "", (int)n,
               r->resp.p ? r->resp.p : "");
    }
    osiris_json_free(j);
  }
  drv_db_mask(out, cap, raw, secrets, 1);
}

/* The PostgREST error code of the last response ("" when none). */
static void drv_rest_code(drv_rest *r, char *out, size_t cap) {
  osiris_json *j = NULL;
  out[0] = 0;
  if (r->resp.len && osiris_json_parse(r->resp.p, r->resp.len, &j, NULL, 0) == OSIRIS_OK) {
    const char *c = osiris_json_str(osiris_json_get(j, "code"));
    if (c) snprintf(out, cap, "%s", c);
  }
  osiris_json_free(j);
}

/* Append s[0..len) percent-encoded: every byte but the unreserved ones
 * (RFC 3986: ALPHA DIGIT - . _ ~) as %XX. */
static void drv_rest_esc(osiris_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      osiris_buf_putc(b, (char)c);
    } else {
      osiris_buf_putc(b, '%');
      osiris_buf_putc(b, hex[c >> 4]);
      osiris_buf_putc(b, hex[c & 15]);
    }
  }
}

/* <base>/<table> */
static void drv_rest_table_url(drv_rest *r, osiris_buf *b, const char *table) {
  b->len = 0;
  osiris_buf_put(b, r->base.p, r->base.len);
  osiris_buf_putc(b, '/');
  drv_rest_esc(b, table, strlen(table));
}

/* One cell as JSON: integers and decimals as numbers (decimals from their
 * exact text), doubles shortest with NaN/Infinity as null, dates
 * "YYYY-MM-DD", timestamps "YYYY-MM-DDTHH:MM:SS.ffffffZ" (a zone that
 * PostgreSQL ignores for timestamp and honours for timestamptz). */
static void drv_rest_json_cell(osiris_buf *b, const osiris_frame *f, size_t col, size_t row) {
  char tmp[64];
  size_t len, i;
  int is_null;
  const char *v;
  osiris_type t = osiris_frame_col_type(f, col);
  if (osiris_frame_is_null(f, col, row)) {
    osiris_buf_put(b, "null", 4);
    return;
  }
  switch (t) {
  case OSIRIS_TYPE_BOOL:
    osiris_buf_puts(b, osiris_frame_get_bool(f, col, row) ? "true" : "false");
    return;
  case OSIRIS_TYPE_INT64:
    osiris_buf_printf(b, "%lld", (long long)osiris_frame_get_int64(f, col, row));
    return;
  case OSIRIS_TYPE_DOUBLE: {
    double d = osiris_frame_get_double(f, col, row);
    if (isnan(d) || isinf(d)) {
      osiris_buf_put(b, "null", 4);
      return;
    }
    v = osiris_frame_format(f, col, row, tmp, sizeof tmp, &len, &is_null);
    osiris_buf_put(b, v, len);
    return;
  }
  case OSIRIS_TYPE_DECIMAL:
    /* Frame decimals are -?digits[.digits]; JSON forbids leading zeros. */
    v = osiris_frame_get_text(f, col, row, &len);
    i = 0;
    if (len && v[0] == '-') osiris_buf_putc(b, '-'), i = 1;
    while (i + 1 < len && v[i] == '0' && v[i + 1] >= '0' && v[i + 1] <= '9') i++;
    osiris_buf_put(b, v + i, len - i);
    return;
  case OSIRIS_TYPE_DATE:
    v = osiris_frame_format(f, col, row, tmp, sizeof tmp, &len, &is_null);
    osiris_buf_json_string(b, v, len);
    return;
  case OSIRIS_TYPE_TIMESTAMP:
    v = osiris_frame_format(f, col, row, tmp, sizeof tmp, &len, &is_null);
    osiris_buf_putc(b, '"');
    osiris_buf_put(b, v, len);
    if (!memchr(v, '.', len)) osiris_buf_put(b, ".000000", 7);
    osiris_buf_put(b, "Z\"", 2);
    return;
  default:
    v = osiris_frame_get_text(f, col, row, &len);
    osiris_buf_json_string(b, v, len);
    return;
  }
}

/* Rows as key text (primary key cells joined by \x1f, NULL as \x1e),
 * sorted by key then row: duplicates become neighbours and a key can be
 * looked up by binary search. */
typedef struct drv_rest_key {
  const char *k;
  size_t len;
  size_t row;
} drv_rest_key;

static int drv_rest_key_cmp(const void *a, const void *b) {
  const drv_rest_key *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->k, y->k, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct drv_rest_keys {
  drv_rest_key *v;
  size_t n;
  osiris_buf text;
} drv_rest_keys;

static void drv_rest_keys_free(drv_rest_keys *k) {
  osiris_free(k->v);
  osiris_buf_free(&k->text);
  memset(k, 0, sizeof *k);
}

static int drv_rest_keys_build(const drv_db_wopts *o, drv_rest_keys *k) {
  size_t rows = osiris_frame_rows(o->in), r, i, *off;
  char tmp[64];
  memset(k, 0, sizeof *k);
  if (rows > SIZE_MAX / sizeof *k->v) return -1;
  k->v = osiris_malloc((rows ? rows : 1) * sizeof *k->v);
  off = osiris_malloc((rows ? rows : 1) * sizeof *off);
  if (!k->v || !off) {
    osiris_free(off);
    return -1;
  }
  for (r = 0; r < rows; r++) {
    off[r] = k->text.len;
    for (i = 0; i < o->pk.n; i++) {
      size_t len;
      int is_null;
      const char *v = osiris_frame_format(o->in, o->pk_col[i], r, tmp, sizeof tmp, &len, &is_null);
      if (i) osiris_buf_putc(&k->text, '\x1f');
      if (is_null) osiris_buf_putc(&k->text, '\x1e');
      else osiris_buf_put(&k->text, v, len);
    }
    k->v[r].len = k->text.len - off[r];
    k->v[r].row = r;
  }
  if (k->text.oom) {
    osiris_free(off);
    return -1;
  }
  for (r = 0; r < rows; r++) k->v[r].k = k->text.p ? k->text.p + off[r] : "";
  osiris_free(off);
  k->n = rows;
  qsort(k->v, k->n, sizeof *k->v, drv_rest_key_cmp);
  return 0;
}

static int drv_rest_keys_has(const drv_rest_keys *k, const char *s, size_t len) {
  size_t lo = 0, hi = k->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2, n = k->v[mid].len < len ? k->v[mid].len : len;
    int c = memcmp(k->v[mid].k, s, n);
    if (!c) c = k->v[mid].len < len ? -1 : k->v[mid].len > len;
    if (c == 0) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* A PostgREST in.(...) item: double-quoted with \ and " escaped. */
static void drv_rest_in_item(osiris_buf *b, const char *s, size_t len) {
  size_t i;
  osiris_buf_putc(b, '"');
  for (i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\') osiris_buf_putc(b, '\\');
    osiris_buf_putc(b, s[i]);
  }
  osiris_buf_putc(b, '"');
}

/* DELETE <table>?<pk>=in.(<list>) and empty the list. */
static osiris_rc drv_rest_delete_list(drv_rest *r, const drv_db_wopts *o, osiris_buf *list,
                                      osiris_buf *del, char *err, size_t cap) {
  const char *pk = o->pk.v[0];
  int got;
  drv_rest_table_url(r, del, o->table);
  osiris_buf_putc(del, '?');
  drv_rest_esc(del, pk, strlen(pk));
  osiris_buf_puts(del, "=in.(");
  osiris_buf_put(del, list->p ? list->p : "", list->len);
  osiris_buf_putc(del, ')');
  list->len = 0;
  if (del->oom || list->oom) {
    snprintf(err, cap, "out of memory");
    return OSIRIS_ENOMEM;
  }
  got = drv_rest_request(r, "DELETE", del->p, NULL, 0, "return=minimal", "delete");
  if (got != 0 || r->status / 100 != 2) {
    char d[700];
    drv_rest_describe(r, got, d, sizeof d);
    snprintf(err, cap, "deleting rows of %.200s that are not in the input failed: %.600s",
             o->table, d);
    return drv_rest_rc(r, got, OSIRIS_ESQL);
  }
  return OSIRIS_OK;
}

/* Replace, after the upsert: page through the table's keys in key order
 * and delete those not in the input, a page at a time. */
static osiris_rc drv_rest_delete_stale(osiris_step *step, drv_rest *r, const drv_db_wopts *o,
                                       const drv_rest_keys *keys, int64_t *deleted, char *err,
                                       size_t cap) {
  const char *pk = o->pk.v[0];
  osiris_buf url = {0}, last = {0}, item = {0}, list = {0}, del = {0};
  osiris_json *page = NULL;
  osiris_rc rc = OSIRIS_OK;
  int have_last = 0, got;
  size_t i, inlist = 0;
  char num[32];
  *deleted = 0;
  for (;;) {
    size_t n;
    drv_rest_table_url(r, &url, o->table);
    osiris_buf_puts(&url, "?select=");
    drv_rest_esc(&url, pk, strlen(pk));
    osiris_buf_puts(&url, "&order=");
    drv_rest_esc(&url, pk, strlen(pk));
    osiris_buf_printf(&url, ".asc&limit=%d", DRV_REST_KEY_PAGE);
    if (have_last) {
      osiris_buf_putc(&url, '&');
      drv_rest_esc(&url, pk, strlen(pk));
      osiris_buf_puts(&url, "=gt.");
      drv_rest_esc(&url, last.p ? last.p : "", last.len);
    }
    if (url.oom) goto oom;
    got = drv_rest_request(r, "GET", url.p, NULL, 0, NULL, "read keys");
    if (got != 0 || r->status / 100 != 2) {
      char d[700];
      drv_rest_describe(r, got, d, sizeof d);
      snprintf(err, cap, "reading the keys of %.200s for replace failed: %.600s", o->table, d);
      rc = drv_rest_rc(r, got, OSIRIS_ESQL);
      goto done;
    }
    osiris_json_free(page);
    page = NULL;
    if (osiris_json_parse(r->resp.p ? r->resp.p : "", r->resp.len, &page, NULL, 0) != OSIRIS_OK ||
        osiris_json_kind_of(page) != OSIRIS_JSON_ARRAY) {
      snprintf(err, cap, "reading the keys of %.200s for replace: the response is not a JSON array",
               o->table);
      rc = OSIRIS_ESQL;
      goto done;
    }
    n = osiris_json_size(page);
    list.len = 0;
    inlist = 0;
    for (i = 0; i < n; i++) {
      const osiris_json *v = osiris_json_get(osiris_json_at(page, i), pk);
      const char *s;
      size_t len;
      if (osiris_json_kind_of(v) == OSIRIS_JSON_INT) {
        snprintf(num, sizeof num, "%lld", (long long)osiris_json_int(v, 0));
        s = num, len = strlen(num);
      } else if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING) {
        s = osiris_json_str(v), len = osiris_json_strlen(v);
      } else {
        snprintf(err, cap, "reading the keys of %.200s for replace: key column %.100s holds a "
                           "value that is neither an integer nor text",
                 o->table, pk);
        rc = OSIRIS_EINVAL;
        goto done;
      }
      last.len = 0;
      osiris_buf_put(&last, s, len);
      have_last = 1;
      if (drv_rest_keys_has(keys, s, len)) continue;
      item.len = 0;
      drv_rest_in_item(&item, s, len);
      if (item.oom) goto oom;
      if (list.len) osiris_buf_putc(&list, ',');
      drv_rest_esc(&list, item.p ? item.p : "", item.len);
      inlist++;
      if (list.len >= DRV_REST_MAX_URL) {
        rc = drv_rest_delete_list(r, o, &list, &del, err, cap);
        if (rc) goto done;
        *deleted += (int64_t)inlist;
        inlist = 0;
      }
    }
    if (inlist) {
      rc = drv_rest_delete_list(r, o, &list, &del, err, cap);
      if (rc) goto done;
      *deleted += (int64_t)inlist;
      inlist = 0;
    }
    if (last.oom) goto oom;
    if (n < DRV_REST_KEY_PAGE) break;
    if (osiris_step_cancelled(step)) {
      snprintf(err, cap, "cancelled");
      rc = OSIRIS_ECANCEL;
      goto done;
    }
  }
  goto done;
oom:
  snprintf(err, cap, "out of memory");
  rc = OSIRIS_ENOMEM;
done:
  osiris_json_free(page);
  osiris_buf_free(&url);
  osiris_buf_free(&last);
  osiris_buf_free(&item);
  osiris_buf_free(&list);
  osiris_buf_free(&del);
  return rc;
}

/* write.progress after a batch once 100k rows or 2 s have passed since
 * the last one, and always after the last batch. */
static void drv_rest_progress(osiris_step *step, drv_db_progress *p, const char *table,
                              size_t done, size_t total, int last) {
  int64_t now = drv_db_now_ms();
  osiris_json *ev;
  if (!last && done - p->last_rows < DRV_DB_PROGRESS_ROWS && now - p->last_ms < DRV_DB_PROGRESS_MS)
    return;
  p->last_rows = done;
  p->last_ms = now;
  ev = drv_db_obj();
  drv_db_set_str(ev, "table", table);
  drv_db_set_int(ev, "rows_written", (int64_t)done);
  drv_db_set_int(ev, "rows_total", (int64_t)total);
  drv_db_set_int(ev, "elapsed_ms", now - p->t0);
  osiris_step_event(step, "write.progress", ev);
}

static osiris_rc drv_rest_write(osiris_step *step) {
  drv_db_src src = drv_db_step_src(step);
  drv_db_wopts o;
  drv_rest r;
  drv_rest_keys keys;
  osiris_buf url = {0}, body = {0}, prefer = {0};
  drv_db_progress pr;
  unsigned char *skip = NULL;
  int64_t t0 = drv_db_now_ms(), retries = 2, timeout = 60, deleted = 0;
  size_t rows, ncols, row, col, batch_first = 0, in_batch = 0, sent = 0, batches = 0;
  int got, opened = 0, exists;
  osiris_rc rc;
  char err[900] = "", code[64];

  memset(&keys, 0, sizeof keys);
  memset(&r, 0, sizeof r);
  rc = drv_db_wopts_get(step, &o, 500);
  if (rc) goto done;
  /* The whole input at once: replace needs every key before it deletes,
   * and REST writes are no transaction that a failed upstream could undo. */
  rc = drv_db_gather(step, &o);
  if (rc) goto done;
  rows = osiris_frame_rows(o.in);
  ncols = osiris_frame_cols(o.in);
  /* retries: the further attempts, as 0.5.7's spec says (0..10) */
  if (drv_db_int(step, "retries", &retries) < 0 || retries < 0 || retries > 10) {
    rc = osiris_step_fail(step, OSIRIS_EINVAL, "retries must be an integer 0..10 (further attempts)");
    goto done;
  }
  if (drv_db_int(step, "timeout", &timeout) < 0 || timeout < 1 || timeout > 3600) {
    rc = osiris_step_fail(step, OSIRIS_EINVAL, "timeout must be an integer 1..3600 (seconds)");
    goto done;
  }
  if (o.mode == DRV_MODE_REPLACE) {
    osiris_type kt = osiris_frame_col_type(o.in, o.pk_col[0]);
    if (o.pk.n != 1 || (kt != OSIRIS_TYPE_INT64 && kt != OSIRIS_TYPE_STRING &&
                        kt != OSIRIS_TYPE_DATE)) {
      rc = osiris_step_fail(step, OSIRIS_EINVAL,
                            "Supabase REST write to %s: replace over the REST API needs a "
                            "single-column primary key of integer, text or date type; give the "
                            "connection a SQL channel (dsn, sql_dsn, pg_dsn or host fields) for "
                            "other keys",
                            o.table);
      goto done;
    }
  }
  if (drv_rest_open(&r, &src, step, err, sizeof err)) {
    rc = osiris_step_fail(step, OSIRIS_ECONN, "%s", err);
    err[0] = 0;
    goto done;
  }
  opened = 1;
  r.schema = o.schema;
  r.attempts = (int)retries + 1;
  r.timeout_s = (long)timeout;

  /* Does the table exist?  PostgREST answers 404 with PGRST205 (older
   * versions: 42P01) for a table it does not know. */
  drv_rest_table_url(&r, &url, o.table);
  osiris_buf_puts(&url, "?select=*&limit=0");
  if (url.oom) goto oom;
  got = drv_rest_request(&r, "GET", url.p, NULL, 0, NULL, "table check");
  drv_rest_code(&r, code, sizeof code);
  if (got == 0 && r.status / 100 == 2) {
    exists = 1;
  } else if (got == 0 && (r.status == 404 || strcmp(code, "PGRST205") == 0 ||
                          strcmp(code, "42P01") == 0)) {
    exists = 0;
  } else {
    char d[700];
    drv_rest_describe(&r, got, d, sizeof d);
    snprintf(err, sizeof err, "%s", d);
    rc = osiris_step_fail(step, got == 0 && (r.status == 401 || r.status == 403)
                                    ? OSIRIS_ECONN
                                    : drv_rest_rc(&r, got, OSIRIS_ESQL),
                          "Supabase REST: checking table %s at %s failed: %s (the connection "
                          "has no SQL channel, so the REST API is used)",
                          o.table, drv_db_str0(&r.base), d);
    goto done;
  }
  drv_db_exists_event(step, o.schema, o.table, exists);
  if (!exists) {
    if (o.create) {
      snprintf(err, sizeof err, "table does not exist and cannot be created over REST");
      rc = osiris_step_fail(step, OSIRIS_EINVAL,
                            "Supabase write: table %s.%s does not exist and create_if_missing "
                            "needs a SQL channel, which this connection lacks (give dsn, sql_dsn "
                            "or pg_dsn, or host/port/database/user/password); the REST API "
                            "cannot create tables",
                            o.schema, o.table);
    } else {
      snprintf(err, sizeof err, "table does not exist and create_if_missing is false");
      rc = osiris_step_fail(step, OSIRIS_ENOTFOUND,
                            "Supabase write: table %s.%s does not exist (REST API: %s) and "
                            "create_if_missing is false",
                            o.schema, o.table, code[0] ? code : "HTTP 404");
    }
    goto done;
  }

  /* Upsert and replace send each key once, its last row: PostgreSQL
   * refuses to update one row twice in a statement, and the SQL channel
   * also lets the last duplicate win. */
  if (o.mode != DRV_MODE_APPEND) {
    size_t i;
    if (drv_rest_keys_build(&o, &keys)) goto oom;
    skip = osiris_calloc(rows ? rows : 1, 1);
    if (!skip) goto oom;
    for (i = 0; i + 1 < keys.n; i++)
      if (keys.v[i].len == keys.v[i + 1].len && memcmp(keys.v[i].k, keys.v[i + 1].k, keys.v[i].len) == 0)
        skip[keys.v[i].row] = 1;
  }

  drv_rest_table_url(&r, &url, o.table);
  osiris_buf_puts(&prefer, "return=minimal");
  if (o.mode != DRV_MODE_APPEND) {
    osiris_buf_puts(&url, "?on_conflict=");
    for (col = 0; col < o.pk.n; col++) {
      if (col) osiris_buf_putc(&url, ',');
      drv_rest_esc(&url, o.pk.v[col], strlen(o.pk.v[col]));
    }
    osiris_buf_puts(&prefer, ",resolution=merge-duplicates");
  }
  if (url.oom || prefer.oom) goto oom;
  drv_db_write_start(step, &o, "rest");
  pr.t0 = pr.last_ms = drv_db_now_ms();
  pr.last_rows = 0;
  for (row = 0; row <= rows; row++) {
    int flush = row == rows ? in_batch > 0
                            : (in_batch >= (size_t)o.batch_size || body.len >= DRV_REST_MAX_BODY);
    if (flush) {
      osiris_buf_putc(&body, ']');
      if (body.oom) goto oom;
      got = drv_rest_request(&r, "POST", url.p, body.p, body.len, prefer.p, "insert");
      batches++;
      if (got != 0 || r.status / 100 != 2) {
        char d[700];
        drv_rest_describe(&r, got, d, sizeof d);
        snprintf(err, sizeof err, "%s", d);
        rc = osiris_step_fail(step, got == 0 && (r.status == 401 || r.status == 403)
                                        ? OSIRIS_ECONN
                                        : drv_rest_rc(&r, got, OSIRIS_ESQL),
                              "Supabase REST write to %s failed in batch %zu (rows %zu..%zu): %s; "
                              "%zu earlier rows stay written (REST writes are not one "
                              "transaction)",
                              o.table, batches, batch_first + 1, row, d, sent);
        goto done;
      }
      sent += in_batch;
      in_batch = 0;
      body.len = 0;
      drv_rest_progress(step, &pr, o.table, row, rows, row == rows);
      if (osiris_step_cancelled(step)) {
        snprintf(err, sizeof err, "cancelled");
        rc = osiris_step_fail(step, OSIRIS_ECANCEL, "cancelled after %zu rows", row);
        goto done;
      }
    }
    if (row == rows) break;
    if (skip && skip[row]) continue;
    if (!in_batch) {
      batch_first = row;
      osiris_buf_putc(&body, '[');
    } else {
      osiris_buf_putc(&body, ',');
    }
    osiris_buf_putc(&body, '{');
    for (col = 0; col < ncols; col++) {
      const char *name = osiris_frame_col_name(o.in, col);
      if (col) osiris_buf_putc(&body, ',');
      osiris_buf_json_string(&body, name, strlen(name));
      osiris_buf_putc(&body, ':');
      drv_rest_json_cell(&body, o.in, col, row);
    }
    osiris_buf_putc(&body, '}');
    if (body.oom) goto oom;
    in_batch++;
  }
  if (o.mode == DRV_MODE_REPLACE) {
    rc = drv_rest_delete_stale(step, &r, &o, &keys, &deleted, err, sizeof err);
    if (rc) {
      rc = osiris_step_fail(step, rc, "Supabase REST replace of %s: %s (the upsert of %zu rows "
                            "is already written)", o.table, err, rows);
      goto done;
    }
  }
  {
    osiris_json *ev = drv_db_obj();
    int64_t ms = drv_db_now_ms() - t0;
    drv_db_set_str(ev, "table", o.table);
    drv_db_set_str(ev, "mode", o.mode_name);
    drv_db_set_int(ev, "rows_written", (int64_t)rows);
    drv_db_set_int(ev, "duration_ms", ms);
    drv_db_set_str(ev, "channel_used", "rest");
    drv_db_set_int(ev, "batches", (int64_t)batches);
    if (o.mode == DRV_MODE_REPLACE) drv_db_set_int(ev, "rows_deleted", deleted);
    osiris_step_event(step, "write.complete", ev);
    osiris_step_metric(step, "rows_written", (double)rows, "rows");
  }
  osiris_step_log(step, 1, "wrote %zu rows to %s.%s over the Supabase REST API (%s, %zu batches)",
                  rows, o.schema, o.table, o.mode_name, batches);
  rc = OSIRIS_OK;
  goto done;
oom:
  snprintf(err, sizeof err, "out of memory");
  rc = osiris_step_fail(step, OSIRIS_ENOMEM, "Supabase REST write: out of memory");
done:
  if (rc && opened) drv_db_write_error(step, o.table ? o.table : "", err[0] ? err : osiris_rc_name(rc));
  if (opened) drv_rest_close(&r);
  drv_rest_keys_free(&keys);
  osiris_free(skip);
  drv_db_wopts_free(&o);
  osiris_buf_free(&url);
  osiris_buf_free(&body);
  osiris_buf_free(&prefer);
  return rc;
}

/* ---------------------------------------------------------- REST read
 * supabase.extractor on a connection without a SQL channel: GET
 * <base>/<table>?select=..&<column>=<op.value>..&order=..&limit=..&offset=..,
 * the keys of Osiris 0.5.7 passed to PostgREST as they are (select may
 * embed and rename there), DRV_REST_PAGE rows a request until a short page
 * or the limit.  The rows are gathered, then typed per column: integers
 * int64, numbers double, booleans bool, strings that are all dates date,
 * all timestamps timestamp, other strings text; a column that mixes kinds,
 * objects or arrays holds JSON text.  Retries as for writes (retries: the
 * further attempts, timeout: seconds per request). */

#define DRV_REST_PAGE 1000 /* rows per GET: PostgREST's usual max-rows */

typedef struct drv_rest_col {
  char *name;
  unsigned kinds;      /* DRV_RK_* seen among the non-null values */
  int all_date, all_ts; /* every string value parses as one */
} drv_rest_col;

enum { DRV_RK_INT = 1, DRV_RK_NUM = 2, DRV_RK_BOOL = 4, DRV_RK_STR = 8, DRV_RK_JSON = 16 };

static osiris_type drv_rest_col_type(const drv_rest_col *c) {
  switch (c->kinds) {
  case DRV_RK_INT: return OSIRIS_TYPE_INT64;
  case DRV_RK_NUM:
  case DRV_RK_INT | DRV_RK_NUM: return OSIRIS_TYPE_DOUBLE;
  case DRV_RK_BOOL: return OSIRIS_TYPE_BOOL;
  case DRV_RK_STR:
    return c->all_date ? OSIRIS_TYPE_DATE : c->all_ts ? OSIRIS_TYPE_TIMESTAMP : OSIRIS_TYPE_STRING;
  default: return OSIRIS_TYPE_STRING; /* none (all null), mixed, JSON */
  }
}

/* The query string after "<table>?": 0 ok, -1 with msg set. */
static int drv_rest_read_query(const osiris_json *cfg, osiris_buf *q, char *msg,
                               size_t cap) {
  const osiris_json *sel = osiris_json_get(cfg, "select"), *flt = osiris_json_get(cfg, "filter");
  const char *order = osiris_json_str(osiris_json_get(cfg, "order"));
  size_t i;
  if (!sel || osiris_json_kind_of(sel) == OSIRIS_JSON_NULL) sel = osiris_json_get(cfg, "columns");
  osiris_buf_puts(q, "select=");
  if (osiris_json_kind_of(sel) == OSIRIS_JSON_STRING) {
    drv_rest_esc(q, osiris_json_str(sel), osiris_json_strlen(sel));
  } else if (osiris_json_kind_of(sel) == OSIRIS_JSON_ARRAY && osiris_json_size(sel)) {
    for (i = 0; i < osiris_json_size(sel); i++) {
      const osiris_json *it = osiris_json_at(sel, i);
      if (!osiris_json_str(it)) goto bad_select;
      if (i) osiris_buf_puts(q, "%2C");
      drv_rest_esc(q, osiris_json_str(it), osiris_json_strlen(it));
    }
  } else if (sel && osiris_json_kind_of(sel) != OSIRIS_JSON_NULL) {
    goto bad_select;
  } else {
    osiris_buf_putc(q, '*');
  }
  if (flt && osiris_json_kind_of(flt) != OSIRIS_JSON_NULL) {
    if (osiris_json_kind_of(flt) != OSIRIS_JSON_OBJECT) {
      snprintf(msg, cap, "filter must be a mapping {column: \"op.value\"}");
      return -1;
    }
    for (i = 0; i < osiris_json_size(flt); i++) {
      const char *k = osiris_json_key_at(flt, i), *v = osiris_json_str(osiris_json_at(flt, i));
      if (!v) {
        snprintf(msg, cap, "filter.%.100s must be a string \"op.value\"", k);
        return -1;
      }
      osiris_buf_putc(q, '&');
      drv_rest_esc(q, k, strlen(k));
      osiris_buf_putc(q, '=');
      drv_rest_esc(q, v, strlen(v));
    }
  }
  if (order && *order) {
    osiris_buf_puts(q, "&order=");
    drv_rest_esc(q, order, strlen(order));
  }
  return 0;
bad_select:
  snprintf(msg, cap, "select must be a string or a list of column names");
  return -1;
}

/* Fold the rows of one page into cols (found or added by name). */
static int drv_rest_scan(const osiris_json *rows, drv_rest_col **cols, size_t *ncols) {
  size_t i, j, k;
  for (i = 0; i < osiris_json_size(rows); i++) {
    const osiris_json *row = osiris_json_at(rows, i);
    for (j = 0; j < osiris_json_size(row); j++) {
      const char *name = osiris_json_key_at(row, j);
      const osiris_json *v = osiris_json_at(row, j);
      drv_rest_col *c;
      for (k = 0; k < *ncols && strcmp((*cols)[k].name, name) != 0; k++) {}
      if (k == *ncols) {
        drv_rest_col *grown = osiris_realloc(*cols, (*ncols + 1) * sizeof **cols);
        if (!grown) return -1;
        *cols = grown;
        memset(&grown[k], 0, sizeof grown[k]);
        grown[k].name = osiris_malloc(strlen(name) + 1);
        if (!grown[k].name) return -1;
        memcpy(grown[k].name, name, strlen(name) + 1);
        grown[k].all_date = grown[k].all_ts = 1;
        (*ncols)++;
      }
      c = &(*cols)[k];
      switch (osiris_json_kind_of(v)) {
      case OSIRIS_JSON_NULL: break;
      case OSIRIS_JSON_INT: c->kinds |= DRV_RK_INT; break;
      case OSIRIS_JSON_DOUBLE: c->kinds |= DRV_RK_NUM; break;
      case OSIRIS_JSON_BOOL: c->kinds |= DRV_RK_BOOL; break;
      case OSIRIS_JSON_STRING: {
        int32_t d;
        int64_t t;
        const char *sv = osiris_json_str(v);
        size_t n = osiris_json_strlen(v);
        c->kinds |= DRV_RK_STR;
        if (c->all_date && drv_db_parse_date(sv, n, &d) != 0) c->all_date = 0;
        if (c->all_ts && drv_db_parse_ts(sv, n, &t) != 0) c->all_ts = 0;
        break;
      }
      default: c->kinds |= DRV_RK_JSON; break;
      }
    }
  }
  return 0;
}

/* One value into column c of the row being built (type from cols). */
static osiris_rc drv_rest_cell(osiris_frame *f, size_t c, osiris_type t, const osiris_json *v) {
  char *text;
  size_t len;
  osiris_rc rc;
  int32_t d;
  int64_t ts;
  if (!v || osiris_json_kind_of(v) == OSIRIS_JSON_NULL) return osiris_frame_append_null(f, c);
  switch (t) {
  case OSIRIS_TYPE_INT64: return osiris_frame_append_int64(f, c, osiris_json_int(v, 0));
  case OSIRIS_TYPE_DOUBLE: return osiris_frame_append_double(f, c, osiris_json_num(v, 0));
  case OSIRIS_TYPE_BOOL: return osiris_frame_append_bool(f, c, osiris_json_bool(v, 0));
  case OSIRIS_TYPE_DATE:
    if (drv_db_parse_date(osiris_json_str(v), osiris_json_strlen(v), &d)) return OSIRIS_EINVAL;
    return osiris_frame_append_date(f, c, d);
  case OSIRIS_TYPE_TIMESTAMP:
    if (drv_db_parse_ts(osiris_json_str(v), osiris_json_strlen(v), &ts)) return OSIRIS_EINVAL;
    return osiris_frame_append_timestamp(f, c, ts);
  default:
    if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING)
      return osiris_frame_append_text(f, c, osiris_json_str(v), osiris_json_strlen(v));
    text = osiris_json_dump(v, 0, &len); /* a number, bool, object or list in a text column */
    if (!text) return OSIRIS_ENOMEM;
    rc = osiris_frame_append_text(f, c, text, len);
    osiris_free(text);
    return rc;
  }
}

static osiris_rc drv_rest_extract(osiris_step *step) {
  drv_db_src src = drv_db_step_src(step);
  const osiris_json *cfg = osiris_step_config(step);
  const char *table = osiris_json_str(osiris_json_get(cfg, "table"));
  osiris_json *rows = NULL, *page = NULL;
  drv_rest_col *cols = NULL;
  drv_rest r;
  osiris_buf query = {0}, url = {0};
  size_t ncols = 0, i, c, nrows = 0;
  int64_t limit = -1, offset = 0, timeout = 0, retries = -1, pages = 0;
  osiris_frame *f = NULL;
  osiris_rc rc = OSIRIS_OK;
  char err[1100];
  int opened = 0;

  if (drv_db_str(step, "query"))
    return osiris_step_fail(step, OSIRIS_ECONN,
                            "supabase.extractor: query needs a SQL channel, and the connection has "
                            "no SQL channel (dsn, pg_dsn or host fields); over the REST API give "
                            "table (and select, filter, order)");
  if (!table || !*table) return osiris_step_fail(step, OSIRIS_EINVAL, "table is required");
  if (drv_db_int(step, "limit", &limit) < 0 || drv_db_int(step, "offset", &offset) < 0 ||
      limit < -1 || offset < 0)
    return osiris_step_fail(step, OSIRIS_EINVAL, "limit and offset must be non-negative integers");
  timeout = osiris_json_int(osiris_json_get(cfg, "timeout"), 0);
  retries = osiris_json_int(osiris_json_get(cfg, "retries"), -1);
  if (drv_rest_open(&r, &src, step, err, sizeof err)) return osiris_step_fail(step, OSIRIS_ECONN, "%s", err);
  opened = 1;
  r.schema = osiris_json_str(osiris_json_get(cfg, "schema"));
  r.retry_event = "read.retry";
  if (timeout > 0) r.timeout_s = (long)timeout;
  if (retries >= 0) r.attempts = (int)retries + 1;
  if (drv_rest_read_query(cfg, &query, err, sizeof err)) {
    rc = osiris_step_fail(step, OSIRIS_EINVAL, "%s", err);
    goto done;
  }
  rows = osiris_json_new(OSIRIS_JSON_ARRAY);
  if (!rows || query.oom) goto oom;
  for (;;) { /* pages until a short one or the limit */
    int64_t want = DRV_REST_PAGE;
    int got;
    if (limit >= 0 && limit - (int64_t)nrows < want) want = limit - (int64_t)nrows;
    if (want <= 0) break;
    drv_rest_table_url(&r, &url, table);
    osiris_buf_printf(&url, "?%s&limit=%lld&offset=%lld", query.p, (long long)want,
                  (long long)(offset + (int64_t)nrows));
    if (url.oom) goto oom;
    got = drv_rest_request(&r, "GET", url.p, NULL, 0, NULL, "read");
    pages++;
    if (got != 0 || r.status != 200) {
      drv_rest_describe(&r, got, err, sizeof err);
      rc = osiris_step_fail(step, got != 0          ? drv_rest_rc(&r, got, OSIRIS_ECONN)
                                  : r.status == 401 ? OSIRIS_ECONN
                                                    : OSIRIS_ESQL,
                            "Supabase REST read of %s failed: %s", table, err);
      goto done;
    }
    if (osiris_json_parse(r.resp.p ? r.resp.p : "", r.resp.len, &page, NULL, 0) != OSIRIS_OK ||
        osiris_json_kind_of(page) != OSIRIS_JSON_ARRAY) {
      rc = osiris_step_fail(step, OSIRIS_EPARSE, "Supabase REST read of %s: the response is not a "
                            "JSON array of rows", table);
      goto done;
    }
    for (i = 0; i < osiris_json_size(page); i++)
      if (osiris_json_kind_of(osiris_json_at(page, i)) != OSIRIS_JSON_OBJECT ||
          osiris_json_push(rows, osiris_json_copy(osiris_json_at(page, i))))
        break;
    if (i < osiris_json_size(page)) {
      rc = osiris_step_fail(step, OSIRIS_EPARSE, "Supabase REST read of %s: row %zu is not an "
                            "object (or out of memory)", table, nrows + i + 1);
      goto done;
    }
    nrows += osiris_json_size(page);
    got = (int)(osiris_json_size(page) < (size_t)want);
    osiris_json_free(page);
    page = NULL;
    if (got) break;
    if (osiris_step_cancelled(step)) {
      rc = osiris_step_fail(step, OSIRIS_ECANCEL, "cancelled after %zu rows", nrows);
      goto done;
    }
  }
  if (drv_rest_scan(rows, &cols, &ncols)) goto oom;
  f = osiris_frame_new();
  if (!f) goto oom;
  for (c = 0; c < ncols; c++)
    if ((rc = osiris_frame_add_column(f, cols[c].name, drv_rest_col_type(&cols[c]), 0)) != OSIRIS_OK) {
      rc = osiris_step_fail(step, rc, "cannot add column '%s' to the frame", cols[c].name);
      goto done;
    }
  for (i = 0; i < nrows; i++) {
    const osiris_json *row = osiris_json_at(rows, i);
    for (c = 0; c < ncols && !rc; c++)
      rc = drv_rest_cell(f, c, osiris_frame_col_type(f, c), osiris_json_get(row, cols[c].name));
    if (!rc) rc = osiris_frame_end_row(f);
    if (rc) {
      rc = osiris_step_fail(step, rc, "row %zu: cannot build the frame row", i + 1);
      goto done;
    }
  }
  osiris_step_metric(step, "rows_read", (double)nrows, "rows");
  osiris_step_log(step, 1, "read %zu rows from Supabase REST table %s (%lld requests)", nrows,
                  table, (long long)pages);
  osiris_step_set_output(step, f);
  f = NULL;
  goto done;
oom:
  rc = osiris_step_fail(step, OSIRIS_ENOMEM, "out of memory");
done:
  for (c = 0; c < ncols; c++) osiris_free(cols[c].name);
  osiris_free(cols);
  osiris_json_free(rows);
  osiris_json_free(page);
  osiris_frame_free(f);
  osiris_buf_free(&query);
  osiris_buf_free(&url);
  if (opened) drv_rest_close(&r);
  return rc;
}

/* Doctor over REST: GET <url>/rest/v1/ with the key; fine on 2xx, or on a
 * 404 that carries JSON (PostgREST without its OpenAPI root). */
static osiris_rc drv_rest_check(const osiris_json *connection, char *err, size_t errcap) {
  drv_db_src src;
  drv_rest r;
  osiris_buf url = {0};
  osiris_rc rc = OSIRIS_OK;
  int got;
  src.cfg = NULL;
  src.conn = connection;
  if (drv_rest_open(&r, &src, NULL, err, errcap)) return OSIRIS_ECONN;
  r.attempts = 1;
  r.timeout_s = 10;
  osiris_buf_put(&url, r.base.p, r.base.len);
  osiris_buf_putc(&url, '/');
  if (url.oom) {
    snprintf(err, errcap, "out of memory");
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  got = drv_rest_request(&r, "GET", url.p, NULL, 0, NULL, "check");
  if (got == 0 && r.status / 100 == 2) goto done;
  if (got == 0 && r.status == 404) {
    osiris_json *j = NULL;
    int is_json = r.resp.len && osiris_json_parse(r.resp.p, r.resp.len, &j, NULL, 0) == OSIRIS_OK;
    osiris_json_free(j);
    if (is_json) goto done;
  }
  {
    char d[700];
    drv_rest_describe(&r, got, d, sizeof d);
    snprintf(err, errcap, "Supabase REST API at %.300s: %s", drv_db_str0(&r.base), d);
    rc = OSIRIS_ECONN;
  }
done:
  osiris_buf_free(&url);
  drv_rest_close(&r);
  return rc;
}

/* Supabase: the Postgres SQL channel when the connection has one (a DSN
 * or host/database fields), else the REST API for writing. */
static int drv_supabase_has_sql(const drv_db_src *src) {
  static const char *const chan[] = {"dsn",  "sql_dsn", "pg_dsn", "database", "pg_database",
                                     "host", "pg_host", NULL};
  size_t i;
  for (i = 0; chan[i]; i++)
    if (drv_db_src_str(src, chan[i])) return 1;
  return 0;
}

static osiris_rc drv_rest_extract(osiris_step *step);

static osiris_rc drv_pg_supabase_extract(osiris_step *step) {
  drv_db_src src = drv_db_step_src(step);
  if (drv_supabase_has_sql(&src)) return drv_pg_extract_as(step, "Supabase");
  if ((drv_db_src_str(&src, "url") || drv_db_src_str(&src, "project_id")) && drv_rest_apikey(&src))
    return drv_rest_extract(step);
  return osiris_step_fail(step, OSIRIS_ECONN,
                          "Supabase connection has neither a SQL channel (dsn, sql_dsn, pg_dsn or "
                          "host/port/database/user/password) nor url + service_role_key (or "
                          "anon_key, key) for the REST API");
}

static osiris_rc drv_pg_supabase_write(osiris_step *step) {
  drv_db_src src = drv_db_step_src(step);
  if (drv_supabase_has_sql(&src)) return drv_pg_write_as(step, "Supabase");
  if ((drv_db_src_str(&src, "url") || drv_db_src_str(&src, "project_id")) && drv_rest_apikey(&src))
    return drv_rest_write(step);
  return osiris_step_fail(step, OSIRIS_ECONN,
                          "Supabase connection has neither a SQL channel (dsn, sql_dsn, pg_dsn or "
                          "host/port/database/user/password) nor url + service_role_key (or "
                          "anon_key, key) for the REST API");
}

static osiris_rc drv_supabase_check(const osiris_json *connection, char *err, size_t errcap) {
  drv_db_src src;
  src.cfg = NULL;
  src.conn = connection;
  if (drv_supabase_has_sql(&src)) return drv_pg_check_as(connection, "Supabase", err, errcap);
  return drv_rest_check(connection, err, errcap);
}

/* ---- the database drivers' specs ---- */

#define DRV_DB_SECRET (OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET)
/* A TLS file: read where the step runs, so a remote run ships it. */
#define DRV_DB_CONN_FILE (OSIRIS_KEY_CONN | OSIRIS_KEY_INPUT_FILE)
#define DRV_DB_PORT                                                                             \
  OSIRIS_KEY_CONN | OSIRIS_KEY_RANGE, "server port", OSIRIS_KT_INT, NULL, 0, 65535, NULL

#define DRV_DB_MYSQL_CONN_KEYS                                                                  \
  {"connection", NULL, 0, "@mysql.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"host", NULL, OSIRIS_KEY_CONN, "server host [localhost]", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"port", NULL, DRV_DB_PORT},                                                              \
      {"database", NULL, OSIRIS_KEY_CONN, "database name (required)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"user", NULL, OSIRIS_KEY_CONN, "user name [root]", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"password", NULL, DRV_DB_SECRET, "password (secret)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"socket", NULL, OSIRIS_KEY_CONN, "Unix socket path instead of TCP", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"ssl_mode", NULL, OSIRIS_KEY_CONN,                                                      \
       "TLS [none: no TLS]; VERIFY_IDENTITY recommended (VERIFY_CA checks the host name too)", \
       OSIRIS_KT_STRING, "DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY", 0, 0, NULL}, \
      {"ssl_ca", NULL, DRV_DB_CONN_FILE, "CA file the server certificate must chain to", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"ssl_capath", NULL, OSIRIS_KEY_CONN, "directory of hashed CA files (local runs; not shipped to a sandbox: use ssl_ca)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"ssl_cert", NULL, DRV_DB_CONN_FILE, "client certificate file", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"ssl_key", NULL, DRV_DB_CONN_FILE, "client key file", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"ssl_cipher", NULL, OSIRIS_KEY_CONN, "allowed TLS ciphers (OpenSSL list)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}

#define DRV_DB_PG_CONN_KEYS                                                                     \
  {"dsn", NULL, DRV_DB_SECRET, "libpq connection string (secret)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"sql_dsn", NULL, DRV_DB_SECRET, "alias of dsn", OSIRIS_KT_STRING, NULL, 0, 0, "dsn"},  \
      {"pg_dsn", NULL, DRV_DB_SECRET, "alias of dsn", OSIRIS_KT_STRING, NULL, 0, 0, "dsn"},   \
      {"host", NULL, OSIRIS_KEY_CONN, "server host [localhost]", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"port", NULL, DRV_DB_PORT},                                                              \
      {"database", NULL, OSIRIS_KEY_CONN, "database name (unless dsn)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"user", NULL, OSIRIS_KEY_CONN, "user name", OSIRIS_KT_STRING, NULL, 0, 0, NULL},        \
      {"password", NULL, DRV_DB_SECRET, "password (secret)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"sslmode", NULL, OSIRIS_KEY_CONN, "libpq sslmode [prefer: verifies nothing]; verify-full recommended", \
       OSIRIS_KT_STRING, "disable|allow|prefer|require|verify-ca|verify-full", 0, 0, NULL},     \
      {"sslrootcert", NULL, DRV_DB_CONN_FILE, "CA file the server certificate must chain to", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"sslcert", NULL, DRV_DB_CONN_FILE, "client certificate file", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"sslkey", NULL, DRV_DB_CONN_FILE, "client key file (unencrypted; no passphrase key)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"sslcrl", NULL, DRV_DB_CONN_FILE, "certificate revocation list file", OSIRIS_KT_STRING, NULL, 0, 0, NULL}

#define DRV_DB_EXTRACT_KEYS                                                                     \
  {"query", NULL, OSIRIS_KEY_ONE_OF, "SELECT to run (or give table)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"table", NULL, OSIRIS_KEY_ONE_OF, "table to read (or give query)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}, \
      {"columns", NULL, 0, "with table: the columns to read (a list, or one comma-separated string)", \
       OSIRIS_KT_STRING_OR_STRINGS, NULL, 0, 0, NULL},                                         \
      {"limit", NULL, OSIRIS_KEY_RANGE, "with table: maximum rows (0: none)", OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL}, \
      {"offset", NULL, OSIRIS_KEY_RANGE, "with table: rows skipped first [0] (the server's order unless order is given)", \
       OSIRIS_KT_INT, NULL, 0, DRV_NO_MAX, NULL}
/* Keys of Osiris 0.5.7's MySQL specs that tuned its SQLAlchemy engine. */
#define DRV_DB_MYSQL_PY_KEYS                                                                    \
  {"echo", NULL, OSIRIS_KEY_NO_EFFECT, "SQLAlchemy SQL logging in 0.5.7 [false]", \
   OSIRIS_KT_BOOL, NULL, 0, 0, NULL},                                                           \
      {"pool_size", NULL, OSIRIS_KEY_NO_EFFECT | OSIRIS_KEY_RANGE, "SQLAlchemy pool size in 0.5.7 [5]; a step holds one connection here", \
       OSIRIS_KT_INT, NULL, 1, 20, NULL},                                                       \
      {"pool_recycle", NULL, OSIRIS_KEY_NO_EFFECT | OSIRIS_KEY_RANGE, "SQLAlchemy pool recycle seconds in 0.5.7 [3600]; connections live one step here", \
       OSIRIS_KT_INT, NULL, 60, DRV_NO_MAX, NULL}

#define DRV_DB_WRITE_KEYS                                                                       \
  {"table", NULL, OSIRIS_KEY_REQUIRED, "target table", OSIRIS_KT_STRING, NULL, 0, 0, NULL},   \
      {"write_mode", NULL, 0, "append | replace | upsert, any case [append] (insert, write: append)",    \
       OSIRIS_KT_STRING, "append|replace|upsert|insert|write", 0, 0, NULL},                    \
      {"mode", NULL, 0, "alias of write_mode", OSIRIS_KT_STRING, "append|replace|upsert|insert|write", 0, 0, \
       "write_mode"},                                                                           \
      {"primary_key", NULL, 0, "column or list of columns; required for replace and upsert",   \
       OSIRIS_KT_STRING_OR_STRINGS, NULL, 0, 0, NULL},                                         \
      {"create_if_missing", "false", 0, "create the table from the frame's types", OSIRIS_KT_BOOL, NULL, 0, 0, NULL}, \
      {"batch_size", NULL, OSIRIS_KEY_RANGE, "rows per INSERT (MySQL insert channel) / progress granularity", \
       OSIRIS_KT_INT, NULL, 1, DRV_NO_MAX, NULL}

#define DRV_DB_END {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}
#define DRV_SB_KEY(name) {name, NULL, DRV_DB_SECRET, "API key (secret)", OSIRIS_KT_STRING, NULL, 0, 0, NULL}

static const osiris_config_key drv_mysql_extract_keys[] = {
    DRV_DB_EXTRACT_KEYS,
    {"schema", NULL, 0, "database the table is in, when not the connection's (`schema`.`table`)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"batch_size", NULL, OSIRIS_KEY_NO_EFFECT | OSIRIS_KEY_RANGE, "rows per fetch in 0.5.7 [10000], which ignored it too; rows stream from the server one at a time here and go downstream in the runner's batches", OSIRIS_KT_INT, NULL, 100, 100000, NULL},
    DRV_DB_MYSQL_PY_KEYS, DRV_DB_MYSQL_CONN_KEYS, DRV_DB_END};
static const osiris_config_key drv_mysql_write_keys[] = {
    DRV_DB_WRITE_KEYS,
    {"schema", NULL, 0, "database the table is in, when not the connection's (`schema`.`table`)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"upsert_keys", NULL, 0, "0.5.7 name of primary_key (the key columns of upsert and replace)", OSIRIS_KT_STRINGS, NULL, 0, 0, "primary_key"},
    {"create_table", NULL, 0, "0.5.7 name of create_if_missing", OSIRIS_KT_BOOL, NULL, 0, 0, "create_if_missing"},
    {"truncate_before", NULL, 0, "true: the table's rows are deleted first, in the write's transaction: write_mode replace (needs primary_key); false: no effect", OSIRIS_KT_BOOL, NULL, 0, 0, "write_mode=replace"},
    DRV_DB_MYSQL_PY_KEYS, DRV_DB_MYSQL_CONN_KEYS, DRV_DB_END};
static const osiris_config_key drv_pg_extract_keys[] = {
    DRV_DB_EXTRACT_KEYS,
    {"connection", NULL, 0, "@postgres.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_DB_PG_CONN_KEYS,
    DRV_DB_END};
static const osiris_config_key drv_pg_write_keys[] = {
    DRV_DB_WRITE_KEYS,
    {"schema", "\"public\"", 0, "target schema", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"connection", NULL, 0, "@postgres.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_DB_PG_CONN_KEYS,
    DRV_DB_END};
static const osiris_config_key drv_pg_supabase_extract_keys[] = {
    DRV_DB_EXTRACT_KEYS,
    {"schema", NULL, 0, "schema of table [the search_path: public]", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"select", NULL, 0, "PostgREST select (\"id,email\", \"*\"); REST passes it as it is (renames, embedding), SQL takes plain columns", OSIRIS_KT_STRING_OR_STRINGS, NULL, 0, 0, "columns"},
    {"filter", NULL, 0, "with table: {column: \"op.value\"}, PostgREST filters, ANDed (SQL: eq neq gt gte lt lte like ilike is in, each after not. too)", OSIRIS_KT_OBJECT, NULL, 0, 0, NULL},
    {"order", NULL, 0, "with table: PostgREST order \"col.desc,other\" (asc, desc, nullsfirst, nullslast)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"timeout", NULL, OSIRIS_KEY_RANGE, "seconds: REST per request [60]; SQL connect timeout and statement_timeout [connect 10 s, no statement limit]", OSIRIS_KT_INT, NULL, 5, 300, NULL},
    {"retries", NULL, OSIRIS_KEY_RANGE, "further attempts: REST on 429, 5xx, network errors [2]; SQL when connecting fails, 1 s, 2 s, 4 s ... apart [0]", OSIRIS_KT_INT, NULL, 0, 10, NULL},
    {"project_id", NULL, OSIRIS_KEY_CONN, "project id: url https://<id>.supabase.co when url is absent (REST)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"tables", NULL, OSIRIS_KEY_NO_EFFECT, "0.5.7's list of known tables for its discovery fallback; no effect on what is read", OSIRIS_KT_STRINGS, NULL, 0, 0, NULL},
    {"connection", NULL, 0, "@supabase.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_DB_PG_CONN_KEYS,
    {"url", NULL, OSIRIS_KEY_CONN, "project URL; the REST API is used when there is no SQL channel", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_SB_KEY("service_role_key"),
    DRV_SB_KEY("anon_key"),
    DRV_SB_KEY("key"),
    {"pg_password", NULL, DRV_DB_SECRET, "alias of password", OSIRIS_KT_STRING, NULL, 0, 0, "password"},
    DRV_DB_END};
static const osiris_config_key drv_pg_supabase_write_keys[] = {
    DRV_DB_WRITE_KEYS,
    {"schema", "\"public\"", 0, "target schema (REST: Content-Profile header)", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"connection", NULL, 0, "@supabase.alias of the connection to use", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_DB_PG_CONN_KEYS,
    {"url", NULL, OSIRIS_KEY_CONN, "project URL; the REST API is used when there is no SQL channel", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    {"project_id", NULL, OSIRIS_KEY_CONN, "project id: url https://<id>.supabase.co when url is absent", OSIRIS_KT_STRING, NULL, 0, 0, NULL},
    DRV_SB_KEY("service_role_key"),
    DRV_SB_KEY("anon_key"),
    DRV_SB_KEY("key"),
    {"pg_password", NULL, DRV_DB_SECRET, "alias of password", OSIRIS_KT_STRING, NULL, 0, 0, "password"},
    {"returning", NULL, OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; ignored (REST sends return=minimal)", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"timeout", NULL, OSIRIS_KEY_RANGE, "REST: seconds per request [60]", OSIRIS_KT_INT, NULL, 1, 3600, NULL},
    {"retries", NULL, OSIRIS_KEY_RANGE, "REST: further attempts per request on 429, 5xx and network errors [2]", OSIRIS_KT_INT, NULL, 0, 10, NULL},
    {"prefer", NULL, OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; ignored", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"ddl_channel", NULL, OSIRIS_KEY_NO_EFFECT, "accepted for compatibility; tables are created over the SQL channel only", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    DRV_DB_END};

static const osiris_driver drv_mysql_extractor = {"mysql.extractor", "mysql", "extract discover",
    "Read a MySQL/MariaDB query or table (streamed) into a frame", drv_mysql_extract_keys,
    drv_mysql_extract, drv_mysql_check, 0};
static const osiris_driver drv_mysql_writer = {"mysql.writer", "mysql", "write discover",
    "Write a frame to a MySQL/MariaDB table: append, replace or upsert, in one transaction",
    drv_mysql_write_keys, drv_mysql_write, drv_mysql_check, OSIRIS_DRIVER_STREAMS_IN};
static const osiris_driver drv_pg_extractor = {"postgres.extractor", "postgres", "extract discover",
    "Read a PostgreSQL query or table (streamed) into a frame", drv_pg_extract_keys,
    drv_pg_extract, drv_pg_check, 0};
static const osiris_driver drv_pg_writer = {"postgres.writer", "postgres", "write discover",
    "Write a frame to a PostgreSQL table with COPY: append, replace or upsert, in one transaction",
    drv_pg_write_keys, drv_pg_write, drv_pg_check, OSIRIS_DRIVER_STREAMS_IN};
static const osiris_driver drv_supabase_extractor = {"supabase.extractor", "supabase", "extract discover",
    "Read from Supabase over its Postgres connection (dsn or host fields), else the REST API",
    drv_pg_supabase_extract_keys, drv_pg_supabase_extract, drv_supabase_check, 0};
static const osiris_driver drv_supabase_writer = {"supabase.writer", "supabase", "write discover",
    "Write to Supabase: COPY over its Postgres connection (one transaction), else the REST API",
    drv_pg_supabase_write_keys, drv_pg_supabase_write, drv_supabase_check,
    OSIRIS_DRIVER_STREAMS_IN};

/* mysql_init initialises the client library on first use, unguarded:
 * two steps of a streamed pair connecting at once from two threads could
 * race on it, so it is done here, once per process.  A failure is left
 * to the first connect, which reports it. */
static once_flag drv_mysql_once = ONCE_FLAG_INIT;

static void drv_mysql_library_init(void) {
  if (mysql_library_init(0, NULL, NULL) != 0) return; /* not fatal: mysql_init retries */
}

/* ======================================================================
 * 3g. GraphQL: graphql.extractor
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
    {"headers", "{}", OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET_ENTRIES, "extra HTTP headers (an object of strings; a value \"${VAR}\" is read from the environment)", OSIRIS_KT_OBJECT, NULL, 0, 0, NULL},
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
    } else if (!from_conn && osiris_is_credential_name(name) && *val) {
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
 * 3h. PostHog: posthog.extractor
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

/* Every built-in driver, in the order `components list` shows them. */
static const osiris_driver *const drv_builtin[] = {
    &drv_csv_extractor, &drv_csv_writer, &drv_pq_extractor, &drv_pq_writer,
    &drv_sql_processor, &drv_dk_processor, &drv_gq_extractor, &drv_ph_extractor,
    &drv_mysql_extractor, &drv_mysql_writer, &drv_pg_extractor, &drv_pg_writer,
    &drv_supabase_extractor, &drv_supabase_writer,
};

osiris_rc osiris_register_builtin_drivers(osiris_ctx *ctx) {
  size_t i;
  call_once(&drv_mysql_once, drv_mysql_library_init);
  for (i = 0; i < sizeof drv_builtin / sizeof drv_builtin[0]; i++) {
    osiris_rc rc = osiris_register_driver(ctx, drv_builtin[i], NULL);
    if (rc) return rc;
  }
  return OSIRIS_OK;
}
