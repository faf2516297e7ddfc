/*
 * osiris.c -- the osiris engine: a data-pipeline runtime in one C file.
 *
 * osiris compiles pipelines written in YAML (OML) into a manifest and one
 * JSON config per step, and runs them in-process, in a local sandbox
 * process or in a remote E2B sandbox, with the same events, metrics,
 * artifacts and outputs everywhere.  This file is the whole engine: its
 * own JSON, YAML and Parquet code, frames, CSV, the compiler, the runner,
 * the worker protocol, the transports and (with OSIRIS_CLI_MAIN) the CLI.
 * The drivers are in drivers.c; the public API and its manual in osiris.h.
 *
 * Embedding
 *   cc -I/usr/include/mariadb -I/usr/include/postgresql -c osiris.c drivers.c
 *   link: -lsqlite3 -lmariadb -lpq -lcurl -lm
 *   Only the osiris_* functions of osiris.h are exported (tests/check_symbols.sh).
 *   The CLI: cc -DOSIRIS_CLI_MAIN ... osiris.c drivers.c -> ./osiris
 *   The sandbox worker: worker_main.c + osiris.c + drivers.c, static (static.mk).
 *
 * Compile-time options
 *   OSIRIS_CLI_MAIN          build the command-line program (section 19)
 *   OSIRIS_FAULT_INJECTION   tests only: fail the Nth allocation (section 3)
 *
 * Contents
 *    1. Config and platform               limits on every parser and buffer
 *    2. Types and contracts               shared structs, cross-section prototypes
 *    3. Memory, strings, files, hashing   os_*, ob_* (buffers), SHA-256, time
 *    4. Errors                            osiris_rc names, exit codes
 *    5. JSON                              js_*: RFC 8259 parser, canonical writer
 *    6. YAML                              ym_*: the subset pipelines use, emitter
 *    7. Frames                            fr_*: typed columns, validity bitmaps
 *    8. CSV                               cs_*: RFC 4180 reader/writer, inference
 *    9. Parquet                           pq_*: writer and bounded reader
 *   10. Telemetry, session and masking    ss_*, mk_*: run files, secret scrubbing
 *   11. Connections                       cn_*: osiris_connections.yaml, .env
 *   12. OML and the compiler              cp_*: validation, params, fingerprints
 *   13. Manifest                          mf_*: load, topological order
 *   14. Driver registry and runner        rn_*: steps, inputs, spill, results
 *   15. Worker protocol                   wk_*: commands in, JSON lines out
 *   16. Transports: subprocess and E2B    rm_*, e2_*: the remote adapters;
 *                                        ht_*: osiris_step_http, osiris_http
 *   17. Run comparison                    df_*: osiris runs diff
 *   18. Public API                        contexts, adapters, runs, resume, doctor
 *   19. CLI                               cli_* (OSIRIS_CLI_MAIN only)
 *
 * Licence: MIT.  Copyright (c) 2026 the osiris authors.
 */
/* ======================================================================
 * 1. Config and platform
 *
 * POSIX.1-2008 on Linux; no platform #ifdefs inside function bodies.  The
 * limits below bound every parser and buffer: untrusted input can make
 * osiris fail with OSIRIS_ELIMIT, never grow without bound.
 * ====================================================================== */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "osiris.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define OS_MAX_DEPTH 256                    /* JSON/YAML nesting */
#define OS_MAX_DOC ((size_t)1 << 30)        /* one JSON/YAML document */
#define OS_MAX_BUF ((size_t)1 << 34)        /* any growable buffer */
#define OS_MAX_DRIVERS 128
#define OS_MAX_ADAPTERS 8
#define OS_ERR_CAP 2048

#if defined(__GNUC__)
#define OS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define OS_UNUSED __attribute__((unused))
#else
#define OS_PRINTF(a, b)
#define OS_UNUSED
#endif

/* ======================================================================
 * 2. Types and the contracts between sections
 *
 * Every struct shared by more than one section is defined here, and every
 * static function one section offers another is declared here, so a
 * section can be read knowing only this list.
 * ====================================================================== */

/* A growable byte buffer; p is always NUL-terminated when len > 0. */
typedef struct os_buf {
  char *p;
  size_t len, cap;
} os_buf;

/* An error with its place already formatted into msg. */
typedef struct os_err {
  osiris_rc rc;
  char msg[OS_ERR_CAP];
} os_err;

struct osiris_json {
  osiris_json_kind kind;
  /* A set or push into this container failed for want of memory, so it
   * lacks a member: whoever writes it out (ss_emit) must not believe it. */
  int incomplete;
  uint32_t line, col; /* where the value was read (1-based), 0 when built */
  union {
    int b;
    int64_t i;
    double d;
    struct {
      char *ptr; /* NUL-terminated; may also hold embedded NULs */
      size_t len;
    } s;
    struct {
      osiris_json **items;
      char **keys; /* NULL for arrays */
      size_t n, cap;
    } c;
  } u;
};

struct osiris_ctx {
  char *base_dir;                                /* absolute, no trailing / */
  char err[OS_ERR_CAP];                          /* last context-level error */
  const osiris_driver *drivers[OS_MAX_DRIVERS];  /* borrowed */
  const char *driver_names[OS_MAX_DRIVERS];      /* borrowed: name or alias */
  size_t n_drivers;
  const osiris_adapter *adapters[OS_MAX_ADAPTERS];
  size_t n_adapters;
  osiris_json *dotenv;                           /* object; NULL until loaded */
  osiris_json *dotenv_skipped;                   /* "<file>:<line>" of malformed .env lines */
  char *conn_text;                               /* osiris_ctx_set_connections, or NULL */
  size_t conn_len;
  char *conn_name;                               /* stands for the file in messages */
  osiris_log_fn log_fn;
  void *log_user;
  osiris_progress_fn progress_fn;
  void *progress_user;
  volatile sig_atomic_t cancelled;
};

/* The run was cancelled (Ctrl-C, a timeout, osiris_ctx_cancel): set from
 * a signal handler or another thread, so read atomically. */
static OS_UNUSED int os_cancelled(const osiris_ctx *ctx) {
  return __atomic_load_n(&ctx->cancelled, __ATOMIC_SEQ_CST) != 0;
}

/* A compiled manifest as the runner sees it (section 13). */
typedef struct mf_step {
  char *id;
  char *driver;
  char *component;
  char *cfg_path;  /* as written in the manifest, relative to its directory */
  char **needs;
  size_t n_needs;
  double timeout_s; /* steps[i].timeout: > 0 bounds this step, 0 none */
} mf_step;

typedef struct mf_manifest {
  osiris_json *doc;   /* the whole manifest */
  char *path;         /* absolute path of manifest.yaml */
  char *dir;          /* its directory: cfg_path is relative to it */
  char *pipeline_id;
  char *profile;      /* "" when none */
  mf_step *steps;
  size_t n_steps;
  double timeout_s;   /* pipeline.timeout: > 0 bounds the run, 0 none */
} mf_manifest;

/* Section 3: memory, strings, buffers, files, hashing, time. */
static OS_UNUSED void *os_malloc(size_t n);
static OS_UNUSED void *os_calloc(size_t n, size_t size);
static OS_UNUSED void *os_realloc(void *p, size_t n);
static OS_UNUSED void os_free(void *p);
static OS_UNUSED char *os_strdup(const char *s);
static OS_UNUSED char *os_strndup(const char *s, size_t n);
static OS_UNUSED char *os_asprintf(const char *fmt, ...) OS_PRINTF(1, 2);
static OS_UNUSED int os_streq(const char *a, const char *b);
static OS_UNUSED int os_startswith(const char *s, const char *prefix);
static OS_UNUSED osiris_rc ob_put(os_buf *b, const void *data, size_t n);
static OS_UNUSED osiris_rc ob_puts(os_buf *b, const char *s);
static OS_UNUSED osiris_rc ob_putc(os_buf *b, char c);
static OS_UNUSED osiris_rc ob_printf(os_buf *b, const char *fmt, ...) OS_PRINTF(2, 3);
static OS_UNUSED char *ob_take(os_buf *b); /* owned NUL-terminated string; b emptied */
static OS_UNUSED void ob_free(os_buf *b);
static OS_UNUSED int os_utf8_valid(const char *s, size_t n, size_t *bad_at);
static OS_UNUSED char *os_path_join(const char *dir, const char *name);
static OS_UNUSED char *os_path_dirname(const char *path);
static OS_UNUSED const char *os_path_basename(const char *path);
static OS_UNUSED char *os_path_abs(const char *base, const char *path);
static OS_UNUSED int os_is_file(const char *path);
static OS_UNUSED int os_is_dir(const char *path);
static OS_UNUSED osiris_rc os_mkdir_p(const char *path, os_err *err);
static OS_UNUSED osiris_rc os_read_file(const char *path, char **data, size_t *len, os_err *err);
static OS_UNUSED osiris_rc os_write_file(const char *path, const void *data, size_t len, os_err *err);
static OS_UNUSED osiris_rc os_copy_file(const char *src, const char *dst, os_err *err);
static OS_UNUSED void os_sha256(const void *data, size_t n, unsigned char out[32]);
static OS_UNUSED void os_sha256_hex(const void *data, size_t n, char out[65]);
static OS_UNUSED int os_sha256_file_hex(const char *path, char out[65]);
static OS_UNUSED double os_now_ms(void);       /* monotonic milliseconds */
static OS_UNUSED int64_t os_wall_us(void);     /* wall clock, microseconds since epoch */
static OS_UNUSED void os_iso8601(int64_t us, char out[64]); /* 2026-11-29T13:13:32.123456+00:00 */
static OS_UNUSED void os_random_hex(char *out, size_t nhex);
static OS_UNUSED int os_open_temp(const char *path, char **tmp_out, os_err *err);
static OS_UNUSED double os_strtod(const char *s, char **end); /* C locale */
static OS_UNUSED int os_fmt_sci(char *out, size_t cap, int prec, double d); /* "%.*e", C locale */
static OS_UNUSED double os_peak_rss_mb(void);
static OS_UNUSED osiris_rc os_fail(os_err *e, osiris_rc rc, const char *fmt, ...) OS_PRINTF(3, 4);

/* Section 5: JSON. */
static OS_UNUSED osiris_json *js_alloc(osiris_json_kind kind);
static OS_UNUSED osiris_rc js_parse(const char *text, size_t len, const char *fname,
                          osiris_json **out, os_err *err);
static OS_UNUSED osiris_rc js_read_file(const char *path, osiris_json **out, os_err *err);
static OS_UNUSED osiris_rc js_dump(os_buf *b, const osiris_json *v, unsigned flags);
static OS_UNUSED size_t js_fmt_double(char *out, size_t cap, double d); /* Python repr style */
static OS_UNUSED const char *js_gets(const osiris_json *obj, const char *key);
static OS_UNUSED osiris_rc js_set_str(osiris_json *obj, const char *key, const char *s);
static OS_UNUSED osiris_rc js_set_int(osiris_json *obj, const char *key, int64_t v);
static OS_UNUSED osiris_rc js_set_double(osiris_json *obj, const char *key, double v);
static OS_UNUSED osiris_rc js_set_bool(osiris_json *obj, const char *key, int v);
static OS_UNUSED osiris_rc js_push_str(osiris_json *arr, const char *s);
static OS_UNUSED int js_equal(const osiris_json *a, const osiris_json *b);

/* Section 6: YAML (the subset pipelines, manifests and connection files use). */
#define YM_SORTED 1u  /* emit keys sorted */
#define YM_MARKERS 2u /* emit "---" first and "..." last */
static OS_UNUSED osiris_rc ym_parse(const char *text, size_t len, const char *fname,
                          osiris_json **out, os_err *err);
static OS_UNUSED osiris_rc ym_read_file(const char *path, osiris_json **out, os_err *err);
static OS_UNUSED osiris_rc ym_emit(os_buf *b, const osiris_json *v, unsigned flags);

/* Section 10: masking (used by the compiler too). */
static OS_UNUSED int mk_is_secret_key(const char *key);       /* compile-time secret keys */
static OS_UNUSED int mk_is_masked_key(const char *key);       /* keys masked in output */
static OS_UNUSED osiris_json *mk_mask_copy(const osiris_json *v); /* deep copy, secret keys -> ***MASKED*** */

/* Section 11: connections. */
static OS_UNUSED int cn_parse_ref(const char *ref, char *family, size_t fcap, char *alias, size_t acap);
static OS_UNUSED osiris_rc cn_resolve(osiris_ctx *ctx, const char *ref, const char *family,
                            osiris_json **resolved, char **alias_out, os_err *err);
static OS_UNUSED osiris_rc cn_list(osiris_ctx *ctx, osiris_json **out, os_err *err);
static OS_UNUSED osiris_rc cn_load_dotenv(osiris_ctx *ctx);

/* Section 12-13: compiler and manifest. */
static OS_UNUSED osiris_rc mf_load(const char *path, mf_manifest **out, os_err *err);
static OS_UNUSED void mf_free(mf_manifest *m);
static OS_UNUSED int mf_is_manifest(const osiris_json *doc);
static OS_UNUSED osiris_rc mf_order(const mf_manifest *m, size_t *order, os_err *err);
static OS_UNUSED osiris_rc cp_compile(osiris_ctx *ctx, const char *path, const osiris_compile_opts *opts,
                            osiris_json **result, os_err *err);
/* A timeout value (OML or manifest): seconds in (0, CP_TIMEOUT_MAX], a
 * number or a string holding one (--param values are strings). */
#define CP_TIMEOUT_MAX 31536000.0 /* one year */
static OS_UNUSED int cp_timeout_value(const osiris_json *v, double *out);

/* ======================================================================
 * 3. Memory, strings, buffers, files, hashing, time
 *
 * All allocation goes through os_malloc/os_realloc/os_free, so a test
 * build (OSIRIS_FAULT_INJECTION) can fail the Nth allocation.  Buffers
 * refuse to grow past OS_MAX_BUF; size arithmetic is overflow-checked.
 * ====================================================================== */

#ifdef OSIRIS_FAULT_INJECTION
/* Test-only: fail the allocation when this countdown reaches zero. */
static long os_fault_countdown = -1;
static int os_fault_hit(void) {
  if (os_fault_countdown < 0) return 0;
  if (os_fault_countdown-- == 0) return 1;
  return 0;
}
#else
static int os_fault_hit(void) { return 0; }
#endif

static void *os_malloc(size_t n) {
  if (os_fault_hit()) return NULL;
  return malloc(n ? n : 1);
}

static void *os_calloc(size_t n, size_t size) {
  if (os_fault_hit()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

static void *os_realloc(void *p, size_t n) {
  if (os_fault_hit()) return NULL;
  return realloc(p, n ? n : 1);
}

static void os_free(void *p) { free(p); }

void osiris_free(void *p) { os_free(p); }
void *osiris_malloc(size_t n) { return os_malloc(n); }
void *osiris_realloc(void *p, size_t n) { return os_realloc(p, n); }

void *osiris_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  return os_calloc(n, size);
}

static char *os_strndup(const char *s, size_t n) {
  char *d;
  if (!s) return NULL;
  if (n == SIZE_MAX) return NULL;
  d = os_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static char *os_strdup(const char *s) { return s ? os_strndup(s, strlen(s)) : NULL; }
char *osiris_strdup(const char *s) { return os_strdup(s); }
char *osiris_strndup(const char *s, size_t n) { return os_strndup(s, n); }

static char *os_vasprintf(const char *fmt, va_list ap) {
  va_list cp;
  int n;
  char *s;
  va_copy(cp, ap);
  n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0) return NULL;
  s = os_malloc((size_t)n + 1);
  if (!s) return NULL;
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static char *os_asprintf(const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = os_vasprintf(fmt, ap);
  va_end(ap);
  return s;
}

/* a + b, held at INT64_MAX / INT64_MIN instead of overflowing: for counts
 * that add up what a worker or a sandbox reports. */
static int64_t os_sat_add(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

static int os_streq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

static int os_startswith(const char *s, const char *prefix) {
  return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

static osiris_rc ob_reserve(os_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra > OS_MAX_BUF || b->len > OS_MAX_BUF - extra - 1) return OSIRIS_ELIMIT;
  need = b->len + extra + 1;
  if (need <= b->cap) return OSIRIS_OK;
  cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > OS_MAX_BUF / 2 ? need : cap * 2;
  p = os_realloc(b->p, cap);
  if (!p) return OSIRIS_ENOMEM;
  b->p = p;
  b->cap = cap;
  return OSIRIS_OK;
}

static osiris_rc ob_put(os_buf *b, const void *data, size_t n) {
  osiris_rc rc = ob_reserve(b, n);
  if (rc) return rc;
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = 0;
  return OSIRIS_OK;
}

static osiris_rc ob_puts(os_buf *b, const char *s) { return ob_put(b, s, strlen(s)); }

static osiris_rc ob_putc(os_buf *b, char c) {
  osiris_rc rc;
  if (b->len + 1 < b->cap) {
    b->p[b->len++] = c;
    b->p[b->len] = 0;
    return OSIRIS_OK;
  }
  rc = ob_reserve(b, 1);
  if (rc) return rc;
  b->p[b->len++] = c;
  b->p[b->len] = 0;
  return OSIRIS_OK;
}

static osiris_rc ob_printf(os_buf *b, const char *fmt, ...) {
  va_list ap, cp;
  int n;
  osiris_rc rc;
  va_start(ap, fmt);
  va_copy(cp, ap);
  n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0) {
    va_end(ap);
    return OSIRIS_EINVAL;
  }
  rc = ob_reserve(b, (size_t)n);
  if (!rc) {
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
  }
  va_end(ap);
  return rc;
}

static char *ob_take(os_buf *b) {
  char *p = b->p;
  if (!p) p = os_strdup("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

static void ob_free(os_buf *b) {
  os_free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* osiris_buf, the drivers' buffer: an os_buf with a sticky oom flag. */
static os_buf *obx_view(osiris_buf *b, os_buf *o) {
  o->p = b->p;
  o->len = b->len;
  o->cap = b->cap;
  return o;
}

static void obx_done(osiris_buf *b, const os_buf *o, osiris_rc rc) {
  b->p = o->p;
  b->len = o->len;
  b->cap = o->cap;
  if (rc) b->oom = 1;
}

void osiris_buf_put(osiris_buf *b, const void *data, size_t n) {
  os_buf o;
  if (b->oom) return;
  if (n < b->cap - b->len) { /* room already (cap > len once p is set): the common case */
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
    return;
  }
  obx_done(b, &o, ob_put(obx_view(b, &o), data, n));
}

void osiris_buf_puts(osiris_buf *b, const char *s) { osiris_buf_put(b, s, strlen(s)); }
void osiris_buf_putc(osiris_buf *b, char c) { osiris_buf_put(b, &c, 1); }

char *osiris_buf_reserve(osiris_buf *b, size_t n) {
  os_buf o;
  if (b->oom) return NULL;
  obx_done(b, &o, ob_reserve(obx_view(b, &o), n));
  return b->oom ? NULL : b->p + b->len;
}

/* Short texts (most SQL pieces) format on the stack: no allocation but
 * the buffer's own growth. */
void osiris_buf_printf(osiris_buf *b, const char *fmt, ...) {
  va_list ap;
  char small[256], *d;
  int n;
  if (b->oom) return;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->oom = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    osiris_buf_put(b, small, (size_t)n);
    return;
  }
  if (!(d = osiris_buf_reserve(b, (size_t)n))) return;
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

char *osiris_buf_take(osiris_buf *b) {
  os_buf o;
  char *p;
  if (b->oom) {
    osiris_buf_free(b);
    return NULL;
  }
  p = ob_take(obx_view(b, &o));
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void osiris_buf_free(osiris_buf *b) {
  os_free(b->p);
  memset(b, 0, sizeof *b);
}

/* Strict UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static int os_utf8_valid(const char *str, size_t n, size_t *bad_at) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c;
    size_t k;
    uint32_t cp;
    /* ASCII runs dominate real data: skip them eight bytes at a time. */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & UINT64_C(0x8080808080808080)) break;
      i += 8;
    }
    if (i >= n) break;
    c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      k = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      cp = c & 0x07;
    } else {
      goto bad;
    }
    {
      size_t j;
      for (j = 1; j <= k; j++) {
        if (i + j >= n || (s[i + j] & 0xC0) != 0x80) goto bad;
        cp = (cp << 6) | (s[i + j] & 0x3F);
      }
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      goto bad;
    i += k + 1;
  }
  return 1;
bad:
  if (bad_at) *bad_at = i;
  return 0;
}

static char *os_path_join(const char *dir, const char *name) {
  size_t dl;
  if (!dir || !*dir) return os_strdup(name);
  if (name[0] == '/') return os_strdup(name);
  dl = strlen(dir);
  if (dl && dir[dl - 1] == '/') return os_asprintf("%s%s", dir, name);
  return os_asprintf("%s/%s", dir, name);
}

static char *os_path_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return os_strdup(".");
  if (slash == path) return os_strdup("/");
  return os_strndup(path, (size_t)(slash - path));
}

static const char *os_path_basename(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Absolute form of path against base (base NULL: the CWD).  Lexical: "."
 * and ".." segments are folded, symlinks are not resolved. */
static char *os_path_abs(const char *base, const char *path) {
  char cwd[PATH_MAX];
  char *joined, *out, *p, *seg;
  size_t outlen = 0;
  if (!path) return NULL;
  if (path[0] == '/') {
    joined = os_strdup(path);
  } else {
    if (!base) {
      if (!getcwd(cwd, sizeof cwd)) return NULL;
      base = cwd;
    }
    joined = os_path_join(base, path);
  }
  if (!joined) return NULL;
  out = os_malloc(strlen(joined) + 2);
  if (!out) {
    os_free(joined);
    return NULL;
  }
  p = joined;
  while (*p) {
    size_t n;
    while (*p == '/') p++;
    seg = p;
    while (*p && *p != '/') p++;
    n = (size_t)(p - seg);
    if (n == 0 || (n == 1 && seg[0] == '.')) continue;
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      while (outlen > 0 && out[outlen - 1] != '/') outlen--;
      if (outlen > 0) outlen--;
      continue;
    }
    out[outlen++] = '/';
    memcpy(out + outlen, seg, n);
    outlen += n;
  }
  if (outlen == 0) out[outlen++] = '/';
  out[outlen] = 0;
  os_free(joined);
  return out;
}

static int os_is_file(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int os_is_dir(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static osiris_rc os_fail(os_err *e, osiris_rc rc, const char *fmt, ...) {
  va_list ap;
  if (!e) return rc;
  e->rc = rc;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return rc;
}

static osiris_rc os_mkdir_p(const char *path, os_err *err) {
  char *tmp;
  size_t i, n;
  osiris_rc rc = OSIRIS_OK;
  if (!path || !*path) return OSIRIS_OK;
  tmp = os_strdup(path);
  if (!tmp) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  n = strlen(tmp);
  for (i = 1; i <= n; i++) {
    if (tmp[i] == '/' || tmp[i] == 0) {
      char saved = tmp[i];
      tmp[i] = 0;
      if (mkdir(tmp, 0777) != 0 && errno != EEXIST) {
        rc = os_fail(err, OSIRIS_EIO, "cannot create directory %s: %s", tmp, strerror(errno));
        break;
      }
      tmp[i] = saved;
    }
  }
  if (!rc && !os_is_dir(path))
    rc = os_fail(err, OSIRIS_EIO, "cannot create directory %s: not a directory", path);
  os_free(tmp);
  return rc;
}

static osiris_rc os_read_file(const char *path, char **data, size_t *len, os_err *err) {
  int fd;
  os_buf b = {0};
  char chunk[65536];
  *data = NULL;
  if (len) *len = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return os_fail(err, errno == ENOENT ? OSIRIS_ENOTFOUND : OSIRIS_EIO, "%s: %s", path,
                   strerror(errno));
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    osiris_rc rc;
    if (r < 0) {
      if (errno == EINTR) continue;
      close(fd);
      ob_free(&b);
      return os_fail(err, OSIRIS_EIO, "%s: read failed: %s", path, strerror(errno));
    }
    if (r == 0) break;
    rc = ob_put(&b, chunk, (size_t)r);
    if (rc) {
      close(fd);
      ob_free(&b);
      return os_fail(err, rc, "%s: file too large", path);
    }
  }
  close(fd);
  if (len) *len = b.len;
  *data = ob_take(&b);
  return *data ? OSIRIS_OK : os_fail(err, OSIRIS_ENOMEM, "out of memory");
}

/* Write through a temporary file in the same directory and rename, so a
 * reader never sees a half-written file under the final name. */
/* A new file beside path that nobody else can have opened: an
 * unpredictable name "<path>.<16 hex>.tmp", created exclusively (O_EXCL,
 * no symlink followed), mode 0666 less the umask.  Returns the descriptor
 * and the name in *tmp_out (owned), or -1 with *tmp_out NULL and err set
 * (ENOMEM, or EIO naming path).  Writers rename it over path when
 * complete, or unlink it. */
static int os_open_temp(const char *path, char **tmp_out, os_err *err) {
  int attempt, fd = -1, e = EEXIST;
  *tmp_out = NULL;
  for (attempt = 0; attempt < 16 && fd < 0 && e == EEXIST; attempt++) {
    char hex[17];
    os_random_hex(hex, 16);
    *tmp_out = os_asprintf("%s.%s.tmp", path, hex);
    if (!*tmp_out) {
      os_fail(err, OSIRIS_ENOMEM, "out of memory");
      return -1;
    }
    fd = open(*tmp_out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
      e = errno;
      os_free(*tmp_out);
      *tmp_out = NULL;
    }
  }
  if (fd < 0) os_fail(err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(e));
  return fd;
}

/* Where a writer of a user's output puts path: a temporary file beside it
 * (os_open_temp), renamed over path once complete -- unless path already
 * exists and is neither a regular file nor a directory (a FIFO, /dev/null,
 * /dev/stdout, a terminal).  That is opened and written in place, *tmp_out
 * NULL: renaming over it would replace the device or pipe with a file. */
static int os_open_output(const char *path, char **tmp_out, os_err *err) {
  struct stat st;
  int fd;
  if (stat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
    return os_open_temp(path, tmp_out, err);
  *tmp_out = NULL;
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) os_fail(err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
  return fd;
}

static osiris_rc os_write_file(const char *path, const void *data, size_t len, os_err *err) {
  char *tmp = NULL;
  const char *p = data;
  os_err terr = {0};
  int fd = os_open_temp(path, &tmp, &terr);
  if (fd < 0) return os_fail(err, terr.rc, "%s", terr.msg);
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      os_fail(err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
      close(fd);
      unlink(tmp);
      os_free(tmp);
      return OSIRIS_EIO;
    }
    p += w;
    len -= (size_t)w;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    os_fail(err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    os_free(tmp);
    return OSIRIS_EIO;
  }
  os_free(tmp);
  return OSIRIS_OK;
}

static osiris_rc os_copy_file(const char *src, const char *dst, os_err *err) {
  char *data;
  size_t len;
  osiris_rc rc = os_read_file(src, &data, &len, err);
  if (rc) return rc;
  rc = os_write_file(dst, data, len, err);
  os_free(data);
  return rc;
}

/* SHA-256 (FIPS 180-4). */
typedef struct os_sha256_ctx {
  uint32_t h[8];
  uint64_t bits;
  unsigned char block[64];
  size_t used;
} os_sha256_ctx;

static const uint32_t os_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define OS_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void os_sha256_block(os_sha256_ctx *c, const unsigned char *p) {
  uint32_t w[64], a, b, cc, d, e, f, g, h;
  int i;
  for (i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (i = 16; i < 64; i++) {
    uint32_t s0 = OS_ROR(w[i - 15], 7) ^ OS_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = OS_ROR(w[i - 2], 17) ^ OS_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
  e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
  for (i = 0; i < 64; i++) {
    uint32_t S1 = OS_ROR(e, 6) ^ OS_ROR(e, 11) ^ OS_ROR(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + S1 + ch + os_sha256_k[i] + w[i];
    uint32_t S0 = OS_ROR(a, 2) ^ OS_ROR(a, 13) ^ OS_ROR(a, 22);
    uint32_t mj = (a & b) ^ (a & cc) ^ (b & cc);
    uint32_t t2 = S0 + mj;
    h = g, g = f, f = e, e = d + t1, d = cc, cc = b, b = a, a = t1 + t2;
  }
  c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
  c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

static void os_sha256_init(os_sha256_ctx *c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, iv, sizeof iv);
  c->bits = 0;
  c->used = 0;
}

static void os_sha256_update(os_sha256_ctx *c, const void *data, size_t n) {
  const unsigned char *p = data;
  c->bits += (uint64_t)n * 8;
  while (n > 0) {
    size_t take = 64 - c->used;
    if (take > n) take = n;
    memcpy(c->block + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      os_sha256_block(c, c->block);
      c->used = 0;
    }
  }
}

static void os_sha256_final(os_sha256_ctx *c, unsigned char out[32]) {
  uint64_t bits = c->bits;
  unsigned char pad = 0x80, zero = 0, len[8];
  int i;
  os_sha256_update(c, &pad, 1);
  while (c->used != 56) os_sha256_update(c, &zero, 1);
  for (i = 0; i < 8; i++) len[i] = (unsigned char)(bits >> (56 - 8 * i));
  os_sha256_update(c, len, 8);
  for (i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(c->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)c->h[i];
  }
}

static void os_hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = 0;
}

void osiris_buf_hex(osiris_buf *b, const void *data, size_t n) {
  char *d;
  if (n > OS_MAX_BUF / 2) {
    b->oom = 1;
    return;
  }
  if (!(d = osiris_buf_reserve(b, 2 * n))) return;
  os_hex(data, n, d);
  b->len += 2 * n;
}

static void os_sha256(const void *data, size_t n, unsigned char out[32]) {
  os_sha256_ctx c;
  os_sha256_init(&c);
  os_sha256_update(&c, data, n);
  os_sha256_final(&c, out);
}

static void os_sha256_hex(const void *data, size_t n, char out[65]) {
  unsigned char d[32];
  os_sha256(data, n, d);
  os_hex(d, 32, out);
}

/* The SHA-256 of a regular file; -1 for anything else (a FIFO or a device,
 * which an output path may name, is never opened for reading: it could
 * block or never end). */
static int os_sha256_file_hex(const char *path, char out[65]) {
  os_sha256_ctx c;
  unsigned char d[32], chunk[65536];
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  os_sha256_init(&c);
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      close(fd);
      return -1;
    }
    if (r == 0) break;
    os_sha256_update(&c, chunk, (size_t)r);
  }
  close(fd);
  os_sha256_final(&c, d);
  os_hex(d, 32, out);
  return 0;
}

static double os_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int64_t os_wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void os_iso8601(int64_t us, char out[64]) {
  time_t secs = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

/* Numbers are read and written in the "C" locale whatever setlocale() an
 * embedding program called: '.' is the decimal point of JSON, YAML, CSV,
 * Parquet statistics and every event.  The locale object is made once;
 * when newlocale fails (out of memory) the process locale is used. */
static locale_t os_c_loc;
static pthread_once_t os_c_loc_once = PTHREAD_ONCE_INIT;
static void os_c_loc_init(void) { os_c_loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static locale_t os_c_locale(void) {
  pthread_once(&os_c_loc_once, os_c_loc_init);
  return os_c_loc;
}

static double os_strtod(const char *s, char **end) {
  locale_t c = os_c_locale();
  return c ? strtod_l(s, end, c) : strtod(s, end);
}

/* snprintf(out, cap, "%.*e", prec, d) with '.' as the decimal point:
 * uselocale changes this thread's locale only, and only for the call. */
static int os_fmt_sci(char *out, size_t cap, int prec, double d) {
  locale_t c = os_c_locale(), old = c ? uselocale(c) : (locale_t)0;
  int n = snprintf(out, cap, "%.*e", prec, d);
  if (c) uselocale(old);
  return n;
}

double osiris_strtod(const char *s, char **end) { return os_strtod(s, end); }

static void os_random_hex(char *out, size_t nhex) {
  unsigned char bytes[32];
  size_t nbytes = (nhex + 1) / 2, i;
  int fd;
  if (nbytes > sizeof bytes) nbytes = sizeof bytes;
  fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, bytes, nbytes) != (ssize_t)nbytes) {
    /* No /dev/urandom (an empty chroot): time and pid still differ per run. */
    uint64_t x = (uint64_t)os_wall_us() ^ ((uint64_t)getpid() << 32);
    for (i = 0; i < nbytes; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      bytes[i] = (unsigned char)x;
    }
  }
  if (fd >= 0) close(fd);
  {
    char hex[65];
    os_hex(bytes, nbytes, hex);
    memcpy(out, hex, nhex);
    out[nhex] = 0;
  }
}

static double os_peak_rss_mb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

/* ======================================================================
 * 4. Errors
 *
 * One append-only enum (osiris.h).  Messages are formatted where the
 * failure is understood and carried up in an os_err; handles copy them.
 * ====================================================================== */

const char *osiris_rc_name(osiris_rc rc) {
  switch (rc) {
  case OSIRIS_OK: return "OSIRIS_OK";
  case OSIRIS_ENOMEM: return "OSIRIS_ENOMEM";
  case OSIRIS_EIO: return "OSIRIS_EIO";
  case OSIRIS_EPARSE: return "OSIRIS_EPARSE";
  case OSIRIS_EINVAL: return "OSIRIS_EINVAL";
  case OSIRIS_EVALIDATE: return "OSIRIS_EVALIDATE";
  case OSIRIS_ESECRET: return "OSIRIS_ESECRET";
  case OSIRIS_ENOTFOUND: return "OSIRIS_ENOTFOUND";
  case OSIRIS_ECONN: return "OSIRIS_ECONN";
  case OSIRIS_EDRIVER: return "OSIRIS_EDRIVER";
  case OSIRIS_ELIMIT: return "OSIRIS_ELIMIT";
  case OSIRIS_ECANCEL: return "OSIRIS_ECANCEL";
  case OSIRIS_ESQL: return "OSIRIS_ESQL";
  case OSIRIS_EUSAGE: return "OSIRIS_EUSAGE";
  }
  return "OSIRIS_E?";
}

/* The exit status a CLI gives for rc: 2 usage/validation/compile, 1 run. */
static OS_UNUSED int os_exit_code(osiris_rc rc) {
  switch (rc) {
  case OSIRIS_OK: return 0;
  case OSIRIS_EUSAGE:
  case OSIRIS_EVALIDATE:
  case OSIRIS_ESECRET:
  case OSIRIS_EPARSE: return 2;
  default: return 1;
  }
}

/* ======================================================================
 * 5. JSON
 *
 * RFC 8259, strict: the parser accepts exactly the grammar (no comments,
 * trailing commas, leading zeros, NaN/Infinity), validates UTF-8 first,
 * rejects lone surrogates and duplicate keys, and bounds nesting to
 * OS_MAX_DEPTH and input to OS_MAX_DOC.  Every parsed value carries its
 * 1-based line and column (columns count characters, not bytes).  Errors
 * read "fname:line:col: message" (or "line:col: message" without a name).
 * The writer is byte-compatible with Python's json.dumps: compact
 * separators "," and ":", indent=2 with ": " when PRETTY, sort_keys when
 * SORTED, ensure_ascii when ASCII, floats in repr() form.  Object keys keep
 * insertion order; lookups are linear scans because objects are small.
 * ====================================================================== */

static osiris_json *js_alloc(osiris_json_kind kind) {
  osiris_json *v = os_calloc(1, sizeof *v);
  if (v) v->kind = kind;
  return v;
}

void osiris_json_free(osiris_json *v) {
  size_t i;
  if (!v) return;
  if (v->kind == OSIRIS_JSON_STRING) {
    os_free(v->u.s.ptr);
  } else if (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) {
    for (i = 0; i < v->u.c.n; i++) {
      osiris_json_free(v->u.c.items[i]);
      if (v->u.c.keys) os_free(v->u.c.keys[i]);
    }
    os_free(v->u.c.items);
    os_free(v->u.c.keys);
  }
  os_free(v);
}

/* Append (key, val) to a container, taking ownership of both; key is NULL
 * for arrays.  On failure both are freed so callers need no cleanup. */
static osiris_rc js_append(osiris_json *c, char *key, osiris_json *val) {
  if (c->u.c.n == c->u.c.cap) {
    size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
    osiris_json **items;
    if (cap > SIZE_MAX / sizeof(void *) / 2) goto oom;
    items = os_realloc(c->u.c.items, cap * sizeof *items);
    if (!items) goto oom;
    c->u.c.items = items;
    if (c->kind == OSIRIS_JSON_OBJECT) {
      char **keys = os_realloc(c->u.c.keys, cap * sizeof *keys);
      if (!keys) goto oom;
      c->u.c.keys = keys;
    }
    c->u.c.cap = cap;
  }
  c->u.c.items[c->u.c.n] = val;
  if (c->kind == OSIRIS_JSON_OBJECT) c->u.c.keys[c->u.c.n] = key;
  c->u.c.n++;
  return OSIRIS_OK;
oom:
  os_free(key);
  osiris_json_free(val);
  return OSIRIS_ENOMEM;
}

/* ---------------------------------------------------------------- parser */

typedef struct js_parser {
  const char *s;
  size_t n, i;
  const char *fname;
  os_err *err;
  uint32_t line;
  size_t line_start;
  size_t col_pos; /* cache: col_num is the column of byte col_pos */
  uint32_t col_num;
} js_parser;

/* Column of byte pos on the current line.  Positions asked for only grow,
 * so the cache keeps the whole parse linear even for one-line documents. */
static uint32_t js_col(js_parser *p, size_t pos) {
  if (p->col_pos < p->line_start || p->col_pos > pos) {
    p->col_pos = p->line_start;
    p->col_num = 1;
  }
  while (p->col_pos < pos && p->col_pos < p->n) {
    if (((unsigned char)p->s[p->col_pos] & 0xC0) != 0x80) p->col_num++;
    p->col_pos++;
  }
  if (p->col_pos < pos) p->col_num += (uint32_t)(pos - p->col_pos), p->col_pos = pos;
  return p->col_num;
}

/* Format "fname:line:col: message" (or "line:col: message") into err. */
static osiris_rc js_vfail(os_err *err, osiris_rc rc, const char *fname, uint32_t line,
                          uint32_t col, const char *fmt, va_list ap) {
  char msg[OS_ERR_CAP];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (fname)
    return os_fail(err, rc, "%s:%u:%u: %s", fname, (unsigned)line, (unsigned)col, msg);
  return os_fail(err, rc, "%u:%u: %s", (unsigned)line, (unsigned)col, msg);
}

static osiris_rc js_fail_at(js_parser *p, osiris_rc rc, size_t pos, const char *fmt, ...)
    OS_PRINTF(4, 5);
static osiris_rc js_fail_at(js_parser *p, osiris_rc rc, size_t pos, const char *fmt, ...) {
  va_list ap;
  osiris_rc r;
  uint32_t col = js_col(p, pos);
  va_start(ap, fmt);
  r = js_vfail(p->err, rc, p->fname, p->line, col, fmt, ap);
  va_end(ap);
  return r;
}

static void js_skip_ws(js_parser *p) {
  while (p->i < p->n) {
    char c = p->s[p->i];
    if (c == '\n') {
      p->line++;
      p->line_start = ++p->i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      p->i++;
    } else {
      break;
    }
  }
}

/* Describe the byte at pos for an error message. */
static void js_describe(const js_parser *p, size_t pos, char *out, size_t cap) {
  unsigned char c;
  if (pos >= p->n) {
    snprintf(out, cap, "end of input");
    return;
  }
  c = (unsigned char)p->s[pos];
  if (c >= 0x21 && c < 0x7F)
    snprintf(out, cap, "character '%c'", c);
  else
    snprintf(out, cap, "character 0x%02X", c);
}

static osiris_rc js_unexpected(js_parser *p, const char *expected) {
  char what[32];
  js_describe(p, p->i, what, sizeof what);
  if (p->i >= p->n)
    return js_fail_at(p, OSIRIS_EPARSE, p->i, "unexpected end of input, expected %s", expected);
  return js_fail_at(p, OSIRIS_EPARSE, p->i, "unexpected %s, expected %s", what, expected);
}

static int js_hex4(const char *s, uint32_t *out) {
  uint32_t v = 0;
  int k;
  for (k = 0; k < 4; k++) {
    char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static osiris_rc js_put_utf8(os_buf *b, uint32_t cp) {
  char u[4];
  size_t k;
  if (cp < 0x80) {
    u[0] = (char)cp;
    k = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    k = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    k = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    k = 4;
  }
  return ob_put(b, u, k);
}

/* Parse the string whose opening quote is at p->i.  The result is
 * NUL-terminated and its length (which may include NULs) is *len. */
static osiris_rc js_parse_string(js_parser *p, char **out, size_t *len) {
  size_t start = ++p->i, run;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  /* Fast path: no escapes, the common case for keys and most values. */
  while (p->i < p->n) {
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '"' || c == '\\' || c < 0x20) break;
    p->i++;
  }
  if (p->i < p->n && p->s[p->i] == '"') {
    *out = os_strndup(p->s + start, p->i - start);
    *len = p->i - start;
    p->i++;
    return *out ? OSIRIS_OK : os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
  }
  run = start;
  for (;;) {
    unsigned char c;
    if (p->i >= p->n) {
      rc = js_fail_at(p, OSIRIS_EPARSE, start - 1, "unterminated string");
      goto done;
    }
    c = (unsigned char)p->s[p->i];
    if (c == '"') {
      if ((rc = ob_put(&b, p->s + run, p->i - run))) goto oom;
      p->i++;
      break;
    }
    if (c < 0x20) {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "control character 0x%02X in string", c);
      goto done;
    }
    if (c != '\\') {
      p->i++;
      continue;
    }
    if ((rc = ob_put(&b, p->s + run, p->i - run))) goto oom;
    if (p->i + 1 >= p->n) {
      rc = js_fail_at(p, OSIRIS_EPARSE, start - 1, "unterminated string");
      goto done;
    }
    c = (unsigned char)p->s[p->i + 1];
    {
      char simple = 0;
      switch (c) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      default: break;
      }
      if (simple) {
        if ((rc = ob_putc(&b, simple))) goto oom;
        p->i += 2;
        run = p->i;
        continue;
      }
    }
    if (c != 'u') {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "invalid escape '\\%c'",
                      c >= 0x21 && c < 0x7F ? (char)c : '?');
      goto done;
    }
    {
      uint32_t cp, lo;
      size_t esc = p->i;
      if (p->i + 6 > p->n || !js_hex4(p->s + p->i + 2, &cp)) {
        rc = js_fail_at(p, OSIRIS_EPARSE, esc, "invalid \\u escape");
        goto done;
      }
      p->i += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        rc = js_fail_at(p, OSIRIS_EPARSE, esc, "lone low surrogate \\u%04x", (unsigned)cp);
        goto done;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
            !js_hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
          rc = js_fail_at(p, OSIRIS_EPARSE, esc, "lone high surrogate \\u%04x", (unsigned)cp);
          goto done;
        }
        p->i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      if ((rc = js_put_utf8(&b, cp))) goto oom;
      run = p->i;
    }
  }
  *len = b.len;
  *out = ob_take(&b);
  if (!*out) rc = os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
  goto done;
oom:
  rc = os_fail(p->err, rc, "out of memory");
done:
  ob_free(&b);
  return rc;
}

static osiris_rc js_parse_number(js_parser *p, osiris_json **out) {
  size_t start = p->i, i = p->i;
  int is_int = 1;
  const char *s = p->s;
  osiris_json *v;
  if (i < p->n && s[i] == '-') i++;
  if (i >= p->n || s[i] < '0' || s[i] > '9') {
    p->i = i;
    return js_unexpected(p, "digit");
  }
  if (s[i] == '0') {
    i++;
    if (i < p->n && s[i] >= '0' && s[i] <= '9')
      return js_fail_at(p, OSIRIS_EPARSE, start, "leading zeros are not allowed");
  } else {
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < p->n && s[i] == '.') {
    is_int = 0;
    i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9') {
      p->i = i;
      return js_unexpected(p, "digit after '.'");
    }
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
    is_int = 0;
    i++;
    if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9') {
      p->i = i;
      return js_unexpected(p, "digit in exponent");
    }
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (is_int) {
    /* Accumulate negatively so INT64_MIN fits. */
    int64_t acc = 0;
    size_t k = start + (s[start] == '-');
    int overflow = 0;
    for (; k < i; k++) {
      int d = s[k] - '0';
      if (acc < (INT64_MIN + d) / 10) {
        overflow = 1;
        break;
      }
      acc = acc * 10 - d;
    }
    if (!overflow && s[start] != '-' && acc == INT64_MIN) overflow = 1;
    if (!overflow) {
      v = js_alloc(OSIRIS_JSON_INT);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      v->u.i = s[start] == '-' ? acc : -acc;
      p->i = i;
      *out = v;
      return OSIRIS_OK;
    }
  }
  {
    /* strtod needs a NUL-terminated copy, read in the C locale; the
     * grammar above already admits only [-0-9.eE+]. */
    char small[64], *copy = small, *end = NULL;
    size_t n = i - start;
    double d;
    if (n >= sizeof small) {
      copy = os_malloc(n + 1);
      if (!copy) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    }
    memcpy(copy, s + start, n);
    copy[n] = 0;
    d = os_strtod(copy, &end);
    if (copy != small) os_free(copy);
    if (isinf(d)) return js_fail_at(p, OSIRIS_EPARSE, start, "number out of range");
    v = js_alloc(OSIRIS_JSON_DOUBLE);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    v->u.d = d;
  }
  p->i = i;
  *out = v;
  return OSIRIS_OK;
}

/* Objects with many keys check duplicates through a transient hash set of
 * item indexes, so a hostile document cannot make parsing quadratic. */
typedef struct js_keyset {
  size_t *slots; /* index + 1, 0 = empty */
  size_t cap;
} js_keyset;

static uint64_t js_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

/* Returns 1 if key is already in obj, 0 if not, -1 when out of memory. */
static int js_key_seen(js_keyset *ks, const osiris_json *obj, const char *key) {
  size_t i, n = obj->u.c.n;
  if (n < 16 && !ks->slots) {
    for (i = 0; i < n; i++)
      if (strcmp(obj->u.c.keys[i], key) == 0) return 1;
    return 0;
  }
  if (!ks->slots || n * 2 >= ks->cap) {
    size_t cap = ks->cap ? ks->cap * 2 : 64, j;
    size_t *slots;
    if (cap > SIZE_MAX / sizeof(size_t)) return -1;
    slots = os_calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (j = 0; j < n; j++) {
      size_t h = (size_t)js_hash(obj->u.c.keys[j]) & (cap - 1);
      while (slots[h]) h = (h + 1) & (cap - 1);
      slots[h] = j + 1;
    }
    os_free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
  }
  i = (size_t)js_hash(key) & (ks->cap - 1);
  while (ks->slots[i]) {
    if (strcmp(obj->u.c.keys[ks->slots[i] - 1], key) == 0) return 1;
    i = (i + 1) & (ks->cap - 1);
  }
  /* Reserve the slot for the key the caller is about to append. */
  ks->slots[i] = n + 1;
  return 0;
}

static osiris_rc js_parse_value(js_parser *p, osiris_json **out, int depth);

static osiris_rc js_parse_array(js_parser *p, osiris_json *arr, int depth) {
  osiris_rc rc;
  p->i++;
  js_skip_ws(p);
  if (p->i < p->n && p->s[p->i] == ']') {
    p->i++;
    return OSIRIS_OK;
  }
  for (;;) {
    osiris_json *item = NULL;
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']')
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "trailing comma before ']'");
    if ((rc = js_parse_value(p, &item, depth + 1))) return rc;
    if ((rc = js_append(arr, NULL, item))) return os_fail(p->err, rc, "out of memory");
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == ']') {
      p->i++;
      return OSIRIS_OK;
    }
    return js_unexpected(p, "',' or ']'");
  }
}

static osiris_rc js_parse_object(js_parser *p, osiris_json *obj, int depth) {
  osiris_rc rc = OSIRIS_OK;
  js_keyset ks = {NULL, 0};
  p->i++;
  js_skip_ws(p);
  if (p->i < p->n && p->s[p->i] == '}') {
    p->i++;
    return OSIRIS_OK;
  }
  for (;;) {
    osiris_json *item = NULL;
    char *key = NULL;
    size_t klen, kpos;
    int seen;
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}' && obj->u.c.n > 0) {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "trailing comma before '}'");
      goto done;
    }
    if (p->i >= p->n || p->s[p->i] != '"') {
      rc = js_unexpected(p, "string key");
      goto done;
    }
    kpos = p->i;
    if ((rc = js_parse_string(p, &key, &klen))) goto done;
    if (strlen(key) != klen) {
      os_free(key);
      rc = js_fail_at(p, OSIRIS_EPARSE, kpos, "object key contains U+0000");
      goto done;
    }
    seen = js_key_seen(&ks, obj, key);
    if (seen) {
      if (seen < 0)
        rc = os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      else
        rc = js_fail_at(p, OSIRIS_EPARSE, kpos, "duplicate key \"%s\"", key);
      os_free(key);
      goto done;
    }
    js_skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':') {
      os_free(key);
      rc = js_unexpected(p, "':'");
      goto done;
    }
    p->i++;
    js_skip_ws(p);
    if ((rc = js_parse_value(p, &item, depth + 1))) {
      os_free(key);
      goto done;
    }
    if ((rc = js_append(obj, key, item))) {
      rc = os_fail(p->err, rc, "out of memory");
      goto done;
    }
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == '}') {
      p->i++;
      goto done;
    }
    rc = js_unexpected(p, "',' or '}'");
    goto done;
  }
done:
  os_free(ks.slots);
  return rc;
}

static int js_match_word(const js_parser *p, const char *w) {
  size_t k = strlen(w);
  return p->n - p->i >= k && memcmp(p->s + p->i, w, k) == 0;
}

static osiris_rc js_parse_value(js_parser *p, osiris_json **out, int depth) {
  osiris_json *v = NULL;
  osiris_rc rc = OSIRIS_OK;
  uint32_t line, col;
  char c;
  *out = NULL;
  js_skip_ws(p);
  if (p->i >= p->n) return js_unexpected(p, "a value");
  line = p->line;
  col = js_col(p, p->i);
  c = p->s[p->i];
  switch (c) {
  case '{':
  case '[':
    if (depth >= OS_MAX_DEPTH)
      return js_fail_at(p, OSIRIS_ELIMIT, p->i, "nesting deeper than %d", OS_MAX_DEPTH);
    v = js_alloc(c == '{' ? OSIRIS_JSON_OBJECT : OSIRIS_JSON_ARRAY);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    v->line = line;
    v->col = col;
    rc = c == '{' ? js_parse_object(p, v, depth) : js_parse_array(p, v, depth);
    break;
  case '"':
    v = js_alloc(OSIRIS_JSON_STRING);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    rc = js_parse_string(p, &v->u.s.ptr, &v->u.s.len);
    break;
  case 't':
  case 'f':
  case 'n':
    if (js_match_word(p, "true") || js_match_word(p, "false")) {
      v = js_alloc(OSIRIS_JSON_BOOL);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      v->u.b = c == 't';
      p->i += c == 't' ? 4 : 5;
    } else if (js_match_word(p, "null")) {
      v = js_alloc(OSIRIS_JSON_NULL);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      p->i += 4;
    } else {
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "invalid literal");
    }
    break;
  default:
    if (c == '-' || (c >= '0' && c <= '9')) {
      rc = js_parse_number(p, &v);
      break;
    }
    if (c == 'N' || c == 'I')
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "NaN and Infinity are not JSON");
    return js_unexpected(p, "a value");
  }
  if (rc) {
    osiris_json_free(v);
    return rc;
  }
  v->line = line;
  v->col = col;
  *out = v;
  return OSIRIS_OK;
}

static osiris_rc js_parse(const char *text, size_t len, const char *fname, osiris_json **out,
                          os_err *err) {
  js_parser p;
  size_t bad;
  osiris_rc rc;
  osiris_json *v = NULL;
  *out = NULL;
  memset(&p, 0, sizeof p);
  p.s = text;
  p.n = len;
  p.fname = fname;
  p.err = err;
  p.line = 1;
  p.col_num = 1;
  if (len > OS_MAX_DOC)
    return js_fail_at(&p, OSIRIS_ELIMIT, 0, "document larger than %zu bytes", OS_MAX_DOC);
  if (!text && len) return js_fail_at(&p, OSIRIS_EINVAL, 0, "no input");
  if (!os_utf8_valid(text, len, &bad)) {
    size_t k;
    for (k = 0; k < bad; k++)
      if (text[k] == '\n') p.line++, p.line_start = k + 1;
    return js_fail_at(&p, OSIRIS_EPARSE, bad, "invalid UTF-8");
  }
  if ((rc = js_parse_value(&p, &v, 0))) return rc;
  js_skip_ws(&p);
  if (p.i < p.n) {
    osiris_json_free(v);
    return js_fail_at(&p, OSIRIS_EPARSE, p.i, "extra data after the value");
  }
  *out = v;
  return OSIRIS_OK;
}

static osiris_rc js_read_file(const char *path, osiris_json **out, os_err *err) {
  char *data = NULL;
  size_t len = 0;
  osiris_rc rc;
  *out = NULL;
  if ((rc = os_read_file(path, &data, &len, err))) return rc;
  rc = js_parse(data, len, path, out, err);
  os_free(data);
  return rc;
}

osiris_rc osiris_json_parse(const char *text, size_t len, osiris_json **out, char *errbuf,
                            size_t errcap) {
  os_err err;
  osiris_rc rc;
  err.rc = OSIRIS_OK;
  err.msg[0] = 0;
  if (!out) return OSIRIS_EINVAL;
  rc = js_parse(text, len, NULL, out, &err);
  if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? err.msg : "");
  return rc;
}

/* ---------------------------------------------------------------- writer */

/* Python repr(float): the shortest of %.{0..16}e that reads back exactly,
 * then positional notation when -4 < decimal-point position <= 16. */
static size_t js_fmt_double(char *out, size_t cap, double d) {
  char tmp[40], sci[40], digits[24];
  size_t nd = 0, k = 0, n;
  int prec, exp10 = 0, decpt, neg = signbit(d) ? 1 : 0;
  const char *e;
  if (isnan(d)) {
    snprintf(tmp, sizeof tmp, "nan");
    goto out;
  }
  if (isinf(d)) {
    snprintf(tmp, sizeof tmp, "%sinf", neg ? "-" : "");
    goto out;
  }
  /* Start at 15 significant digits: a value whose shortest form is
   * shorter reads back from its 15-digit rounding too (that rounding is
   * the short form padded with zeros, stripped below), and the search is
   * about 6 times faster than from 1 digit.  Subnormals carry fewer
   * digits, so their search starts at one. */
  for (prec = fabs(d) < DBL_MIN ? 0 : 14; prec < 17; prec++) {
    os_fmt_sci(sci, sizeof sci, prec, fabs(d));
    if (os_strtod(sci, NULL) == fabs(d)) break;
  }
  /* sci is "D[.DDD]e[+-]XX" in the C locale. */
  for (e = sci; *e && *e != 'e'; e++)
    if (*e >= '0' && *e <= '9' && nd < sizeof digits - 1) digits[nd++] = *e;
  if (*e == 'e') exp10 = (int)strtol(e + 1, NULL, 10);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  decpt = exp10 + 1;
  if (neg) tmp[k++] = '-';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      int z;
      tmp[k++] = '0';
      tmp[k++] = '.';
      for (z = 0; z < -decpt; z++) tmp[k++] = '0';
      memcpy(tmp + k, digits, nd);
      k += nd;
    } else if ((size_t)decpt < nd) {
      memcpy(tmp + k, digits, (size_t)decpt);
      k += (size_t)decpt;
      tmp[k++] = '.';
      memcpy(tmp + k, digits + decpt, nd - (size_t)decpt);
      k += nd - (size_t)decpt;
    } else {
      size_t z;
      memcpy(tmp + k, digits, nd);
      k += nd;
      for (z = nd; z < (size_t)decpt; z++) tmp[k++] = '0';
      tmp[k++] = '.';
      tmp[k++] = '0';
    }
    tmp[k] = 0;
  } else {
    tmp[k++] = digits[0];
    if (nd > 1) {
      tmp[k++] = '.';
      memcpy(tmp + k, digits + 1, nd - 1);
      k += nd - 1;
    }
    snprintf(tmp + k, sizeof tmp - k, "e%c%02d", exp10 < 0 ? '-' : '+',
             exp10 < 0 ? -exp10 : exp10);
  }
out:
  n = strlen(tmp);
  if (cap) {
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(out, tmp, c);
    out[c] = 0;
  }
  return n;
}

size_t osiris_format_double(char *out, size_t cap, double d) {
  size_t n;
  if (!out || !cap) return 0;
  n = js_fmt_double(out, cap, d); /* the full length; osiris.h promises the cut one */
  return n < cap ? n : cap - 1;
}

static osiris_rc js_dump_string(os_buf *b, const char *s, size_t len, int ascii) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;
  osiris_rc rc;
  if ((rc = ob_putc(b, '"'))) return rc;
  while (i < len) {
    unsigned char c = u[i];
    char esc[16];
    size_t elen = 0, adv = 1;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      elen = 2;
    } else if (c < 0x20) {
      esc[0] = '\\';
      elen = 2;
      switch (c) {
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        elen = 6;
      }
    } else if (ascii && c >= 0x7F) {
      /* ensure_ascii: Python escapes DEL too ([^ -~]). */
      uint32_t cp = 0xFFFD;
      if (c == 0x7F) {
        cp = c;
      } else {
        size_t k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (k && i + k < len && os_utf8_valid(s + i, k + 1, NULL)) {
          size_t j;
          cp = c & (0x3F >> k);
          for (j = 1; j <= k; j++) cp = (cp << 6) | (u[i + j] & 0x3F);
          adv = k + 1;
        }
      }
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
        snprintf(esc, sizeof esc, "\\u%04x\\u%04x", (unsigned)hi, (unsigned)lo);
        elen = 12;
      } else {
        snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        elen = 6;
      }
    }
    if (elen) {
      if ((rc = ob_put(b, s + run, i - run))) return rc;
      if ((rc = ob_put(b, esc, elen))) return rc;
      i += adv;
      run = i;
    } else {
      i++;
    }
  }
  if ((rc = ob_put(b, s + run, i - run))) return rc;
  return ob_putc(b, '"');
}

void osiris_buf_json_string(osiris_buf *b, const char *s, size_t len) {
  os_buf o;
  if (!b->oom) obx_done(b, &o, js_dump_string(obx_view(b, &o), s ? s : "", s ? len : 0, 0));
}

/* strcmp compares as unsigned char, and UTF-8 byte order is code point
 * order, so this matches Python's sort_keys. */
typedef struct js_keyidx {
  const char *key;
  size_t idx;
} js_keyidx;

static int js_cmp_keys(const void *a, const void *b) {
  return strcmp(((const js_keyidx *)a)->key, ((const js_keyidx *)b)->key);
}

static osiris_rc js_newline(os_buf *b, int level) {
  osiris_rc rc = ob_putc(b, '\n');
  int k;
  for (k = 0; !rc && k < level; k++) rc = ob_put(b, "  ", 2);
  return rc;
}

static osiris_rc js_dump_rec(os_buf *b, const osiris_json *v, unsigned flags, int level) {
  char num[40];
  osiris_rc rc = OSIRIS_OK;
  int pretty = (flags & OSIRIS_JSON_PRETTY) != 0;
  size_t i, n;
  if (!v) return ob_puts(b, "null");
  if (level > OS_MAX_DEPTH * 4) return OSIRIS_ELIMIT;
  switch (v->kind) {
  case OSIRIS_JSON_NULL: return ob_puts(b, "null");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "true" : "false");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    if (isnan(v->u.d) || isinf(v->u.d)) return ob_puts(b, "null");
    n = js_fmt_double(num, sizeof num, v->u.d);
    return ob_put(b, num, n);
  case OSIRIS_JSON_STRING:
    return js_dump_string(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len,
                          (flags & OSIRIS_JSON_ASCII) != 0);
  case OSIRIS_JSON_ARRAY:
    n = v->u.c.n;
    if (n == 0) return ob_puts(b, "[]");
    if ((rc = ob_putc(b, '['))) return rc;
    for (i = 0; i < n; i++) {
      if (i && (rc = ob_putc(b, ','))) return rc;
      if (pretty && (rc = js_newline(b, level + 1))) return rc;
      if ((rc = js_dump_rec(b, v->u.c.items[i], flags, level + 1))) return rc;
    }
    if (pretty && (rc = js_newline(b, level))) return rc;
    return ob_putc(b, ']');
  case OSIRIS_JSON_OBJECT: {
    js_keyidx *order = NULL;
    n = v->u.c.n;
    if (n == 0) return ob_puts(b, "{}");
    if (flags & OSIRIS_JSON_SORTED) {
      if (n > SIZE_MAX / sizeof *order) return OSIRIS_ENOMEM;
      order = os_malloc(n * sizeof *order);
      if (!order) return OSIRIS_ENOMEM;
      for (i = 0; i < n; i++) order[i].key = v->u.c.keys[i], order[i].idx = i;
      qsort(order, n, sizeof *order, js_cmp_keys);
    }
    if ((rc = ob_putc(b, '{'))) goto obj_done;
    for (i = 0; i < n; i++) {
      size_t idx = order ? order[i].idx : i;
      if (i && (rc = ob_putc(b, ','))) goto obj_done;
      if (pretty && (rc = js_newline(b, level + 1))) goto obj_done;
      if ((rc = js_dump_string(b, v->u.c.keys[idx], strlen(v->u.c.keys[idx]),
                               (flags & OSIRIS_JSON_ASCII) != 0)))
        goto obj_done;
      if ((rc = pretty ? ob_put(b, ": ", 2) : ob_putc(b, ':'))) goto obj_done;
      if ((rc = js_dump_rec(b, v->u.c.items[idx], flags, level + 1))) goto obj_done;
    }
    if (pretty && (rc = js_newline(b, level))) goto obj_done;
    rc = ob_putc(b, '}');
  obj_done:
    os_free(order);
    return rc;
  }
  }
  return OSIRIS_EINVAL;
}

static osiris_rc js_dump(os_buf *b, const osiris_json *v, unsigned flags) {
  return js_dump_rec(b, v, flags, 0);
}

char *osiris_json_dump(const osiris_json *v, unsigned flags, size_t *len) {
  os_buf b = {0};
  char *s;
  if (len) *len = 0;
  if (js_dump(&b, v, flags)) {
    ob_free(&b);
    return NULL;
  }
  if (len) *len = b.len;
  s = ob_take(&b);
  return s;
}

/* ------------------------------------------------------------- accessors */

osiris_json_kind osiris_json_kind_of(const osiris_json *v) {
  return v ? v->kind : OSIRIS_JSON_NULL;
}

size_t osiris_json_size(const osiris_json *v) {
  if (!v || (v->kind != OSIRIS_JSON_ARRAY && v->kind != OSIRIS_JSON_OBJECT)) return 0;
  return v->u.c.n;
}

const osiris_json *osiris_json_at(const osiris_json *v, size_t i) {
  if (i >= osiris_json_size(v)) return NULL;
  return v->u.c.items[i];
}

const char *osiris_json_key_at(const osiris_json *obj, size_t i) {
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || i >= obj->u.c.n) return NULL;
  return obj->u.c.keys[i];
}

static size_t js_find(const osiris_json *obj, const char *key) {
  size_t i;
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || !key) return SIZE_MAX;
  for (i = 0; i < obj->u.c.n; i++)
    if (strcmp(obj->u.c.keys[i], key) == 0) return i;
  return SIZE_MAX;
}

const osiris_json *osiris_json_get(const osiris_json *obj, const char *key) {
  size_t i = js_find(obj, key);
  return i == SIZE_MAX ? NULL : obj->u.c.items[i];
}

const char *osiris_json_str(const osiris_json *v) {
  return v && v->kind == OSIRIS_JSON_STRING ? (v->u.s.ptr ? v->u.s.ptr : "") : NULL;
}

size_t osiris_json_strlen(const osiris_json *v) {
  return v && v->kind == OSIRIS_JSON_STRING ? v->u.s.len : 0;
}

int64_t osiris_json_int(const osiris_json *v, int64_t dflt) {
  if (!v) return dflt;
  if (v->kind == OSIRIS_JSON_INT) return v->u.i;
  /* 2^63 is exact as a double; anything at or above it does not fit. */
  if (v->kind == OSIRIS_JSON_DOUBLE && v->u.d == floor(v->u.d) && v->u.d >= -9223372036854775808.0 &&
      v->u.d < 9223372036854775808.0)
    return (int64_t)v->u.d;
  return dflt;
}

double osiris_json_num(const osiris_json *v, double dflt) {
  if (!v) return dflt;
  if (v->kind == OSIRIS_JSON_INT) return (double)v->u.i;
  if (v->kind == OSIRIS_JSON_DOUBLE) return v->u.d;
  return dflt;
}

int osiris_json_bool(const osiris_json *v, int dflt) {
  return v && v->kind == OSIRIS_JSON_BOOL ? v->u.b : dflt;
}

static const char *js_gets(const osiris_json *obj, const char *key) {
  return osiris_json_str(osiris_json_get(obj, key));
}

/* -------------------------------------------------------------- builders */

osiris_json *osiris_json_new(osiris_json_kind kind) {
  osiris_json *v;
  if ((int)kind < (int)OSIRIS_JSON_NULL || kind > OSIRIS_JSON_OBJECT) return NULL;
  v = js_alloc(kind);
  if (v && kind == OSIRIS_JSON_STRING) {
    v->u.s.ptr = os_strdup("");
    if (!v->u.s.ptr) {
      os_free(v);
      return NULL;
    }
  }
  return v;
}

osiris_json *osiris_json_new_str(const char *s, size_t len) {
  osiris_json *v = js_alloc(OSIRIS_JSON_STRING);
  if (!v) return NULL;
  v->u.s.ptr = os_strndup(s ? s : "", s ? len : 0);
  v->u.s.len = s ? len : 0;
  if (!v->u.s.ptr) {
    os_free(v);
    return NULL;
  }
  return v;
}

osiris_json *osiris_json_new_int(int64_t i) {
  osiris_json *v = js_alloc(OSIRIS_JSON_INT);
  if (v) v->u.i = i;
  return v;
}

osiris_json *osiris_json_new_double(double d) {
  osiris_json *v = js_alloc(OSIRIS_JSON_DOUBLE);
  if (v) v->u.d = d;
  return v;
}

osiris_json *osiris_json_new_bool(int b) {
  osiris_json *v = js_alloc(OSIRIS_JSON_BOOL);
  if (v) v->u.b = b ? 1 : 0;
  return v;
}

static osiris_json *js_copy_rec(const osiris_json *v, int depth) {
  osiris_json *c;
  size_t i;
  if (!v || depth > OS_MAX_DEPTH * 4) return NULL;
  if (v->kind == OSIRIS_JSON_STRING) {
    c = osiris_json_new_str(v->u.s.ptr, v->u.s.len);
  } else {
    c = js_alloc(v->kind);
    if (c && (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT)) {
      for (i = 0; i < v->u.c.n; i++) {
        osiris_json *item = js_copy_rec(v->u.c.items[i], depth + 1);
        char *key = NULL;
        if (!item) goto fail;
        if (v->kind == OSIRIS_JSON_OBJECT) {
          key = os_strdup(v->u.c.keys[i]);
          if (!key) {
            osiris_json_free(item);
            goto fail;
          }
        }
        if (js_append(c, key, item)) goto fail;
      }
    } else if (c) {
      c->u = v->u;
    }
  }
  if (c) {
    c->line = v->line;
    c->col = v->col;
    c->incomplete = v->incomplete;
  }
  return c;
fail:
  osiris_json_free(c);
  return NULL;
}

osiris_json *osiris_json_copy(const osiris_json *v) { return js_copy_rec(v, 0); }

osiris_rc osiris_json_set(osiris_json *obj, const char *key, osiris_json *val) {
  size_t i;
  char *k;
  osiris_rc rc;
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || !key || !val) {
    osiris_json_free(val);
    return val ? OSIRIS_EINVAL : OSIRIS_ENOMEM;
  }
  if (val->incomplete) obj->incomplete = 1; /* a part of it is missing */
  i = js_find(obj, key);
  if (i != SIZE_MAX) {
    osiris_json_free(obj->u.c.items[i]);
    obj->u.c.items[i] = val;
    return OSIRIS_OK;
  }
  k = os_strdup(key);
  if (!k) {
    osiris_json_free(val);
    obj->incomplete = 1;
    return OSIRIS_ENOMEM;
  }
  rc = js_append(obj, k, val);
  if (rc == OSIRIS_ENOMEM) obj->incomplete = 1;
  return rc;
}

int osiris_json_remove(osiris_json *obj, const char *key) {
  size_t i = js_find(obj, key), rest;
  if (i == SIZE_MAX) return 0;
  osiris_json_free(obj->u.c.items[i]);
  os_free(obj->u.c.keys[i]);
  rest = obj->u.c.n - i - 1;
  memmove(obj->u.c.items + i, obj->u.c.items + i + 1, rest * sizeof *obj->u.c.items);
  memmove(obj->u.c.keys + i, obj->u.c.keys + i + 1, rest * sizeof *obj->u.c.keys);
  obj->u.c.n--;
  return 1;
}

osiris_rc osiris_json_push(osiris_json *arr, osiris_json *val) {
  osiris_rc rc;
  if (!arr || arr->kind != OSIRIS_JSON_ARRAY || !val) {
    osiris_json_free(val);
    return val ? OSIRIS_EINVAL : OSIRIS_ENOMEM;
  }
  if (val->incomplete) arr->incomplete = 1;
  rc = js_append(arr, NULL, val);
  if (rc == OSIRIS_ENOMEM) arr->incomplete = 1;
  return rc;
}

/* Set a value just built: NULL (out of memory) marks obj incomplete. */
static osiris_rc js_set_built(osiris_json *obj, const char *key, osiris_json *val) {
  if (!val && obj && (obj->kind == OSIRIS_JSON_OBJECT || obj->kind == OSIRIS_JSON_ARRAY))
    obj->incomplete = 1;
  return key ? osiris_json_set(obj, key, val) : osiris_json_push(obj, val);
}

static osiris_rc js_set_str(osiris_json *obj, const char *key, const char *s) {
  return js_set_built(obj, key, s ? osiris_json_new_str(s, strlen(s)) : js_alloc(OSIRIS_JSON_NULL));
}

static osiris_rc js_set_int(osiris_json *obj, const char *key, int64_t v) {
  return js_set_built(obj, key, osiris_json_new_int(v));
}

static osiris_rc js_set_double(osiris_json *obj, const char *key, double v) {
  return js_set_built(obj, key, osiris_json_new_double(v));
}

static osiris_rc js_set_bool(osiris_json *obj, const char *key, int v) {
  return js_set_built(obj, key, osiris_json_new_bool(v));
}

static osiris_rc js_push_str(osiris_json *arr, const char *s) {
  return js_set_built(arr, NULL, s ? osiris_json_new_str(s, strlen(s)) : js_alloc(OSIRIS_JSON_NULL));
}

/* Deep equality.  Kinds must match: INT 1 and DOUBLE 1.0 are different
 * values (they print differently and round trips must keep the kind).
 * Doubles compare with ==, except that NaN equals NaN.  Objects are equal
 * when they hold the same keys with equal values, in any order. */
static int js_equal(const osiris_json *a, const osiris_json *b) {
  size_t i;
  if (a == b) return 1;
  if (!a || !b || a->kind != b->kind) return 0;
  switch (a->kind) {
  case OSIRIS_JSON_NULL: return 1;
  case OSIRIS_JSON_BOOL: return a->u.b == b->u.b;
  case OSIRIS_JSON_INT: return a->u.i == b->u.i;
  case OSIRIS_JSON_DOUBLE: return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
  case OSIRIS_JSON_STRING:
    return a->u.s.len == b->u.s.len &&
           (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
  case OSIRIS_JSON_ARRAY:
    if (a->u.c.n != b->u.c.n) return 0;
    for (i = 0; i < a->u.c.n; i++)
      if (!js_equal(a->u.c.items[i], b->u.c.items[i])) return 0;
    return 1;
  case OSIRIS_JSON_OBJECT:
    if (a->u.c.n != b->u.c.n) return 0;
    for (i = 0; i < a->u.c.n; i++) {
      const osiris_json *other;
      if (strcmp(a->u.c.keys[i], b->u.c.keys[i]) == 0)
        other = b->u.c.items[i];
      else
        other = osiris_json_get(b, a->u.c.keys[i]);
      if (!other || !js_equal(a->u.c.items[i], other)) return 0;
    }
    return 1;
  }
  return 0;
}

/* ======================================================================
 * 6. YAML
 *
 * One document of the YAML subset that pipelines, manifests and
 * connection files use, read straight into osiris_json trees: block
 * mappings and sequences (also the PyYAML style where a sequence under a
 * key sits at the key's indentation), flow collections, plain, quoted and
 * block scalars, comments.  Anchors, aliases, tags, merge keys, complex
 * keys, directives and second documents are errors, never silently
 * ignored.  Plain scalars resolve with the YAML 1.2 core schema; quoted
 * ones are always strings.  Every node records its 1-based line:col, and
 * errors read "fname:line:col: message".  The block parser keeps one
 * invariant: between nodes the position is at the first character of the
 * next content line, whose indentation is in ym_parser.ind (YM_EOF at the
 * end, YM_MARK on a "---"/"..." line).  Nesting is bounded by
 * OS_MAX_DEPTH, input by OS_MAX_DOC.  The emitter writes PyYAML
 * safe_dump-like block style whose output ym_parse reads back equal.
 * ====================================================================== */

#define YM_EOF (-1)
#define YM_MARK (-2)

enum { YM_LINE, YM_VALUE, YM_ITEM }; /* where a block node starts */

typedef struct ym_parser {
  js_parser b; /* text, position, line and column tracking shared with JSON */
  int ind;     /* indentation of the current content line, YM_EOF, YM_MARK */
} ym_parser;

typedef struct ym_mark {
  uint32_t line, col;
} ym_mark;

static ym_mark ym_here(ym_parser *p) {
  ym_mark m;
  m.line = p->b.line;
  m.col = js_col(&p->b, p->b.i);
  return m;
}

static osiris_rc ym_fail(ym_parser *p, osiris_rc rc, ym_mark m, const char *fmt, ...)
    OS_PRINTF(4, 5);
static osiris_rc ym_fail(ym_parser *p, osiris_rc rc, ym_mark m, const char *fmt, ...) {
  va_list ap;
  osiris_rc r;
  va_start(ap, fmt);
  r = js_vfail(p->b.err, rc, p->b.fname, m.line, m.col, fmt, ap);
  va_end(ap);
  return r;
}

static osiris_rc ym_oom(ym_parser *p) { return os_fail(p->b.err, OSIRIS_ENOMEM, "out of memory"); }

/* Character at i+k, or -1 past the end. */
static int ym_ch(const ym_parser *p, size_t k) {
  size_t j = p->b.i + k;
  return j < p->b.n ? (unsigned char)p->b.s[j] : -1;
}

static int ym_break_at(const ym_parser *p, size_t j) {
  return j < p->b.n && (p->b.s[j] == '\n' || (p->b.s[j] == '\r' && j + 1 < p->b.n && p->b.s[j + 1] == '\n'));
}

static int ym_eol_at(const ym_parser *p, size_t j) { return j >= p->b.n || ym_break_at(p, j); }

/* "Followed by blank": space, tab, line break or end of input. */
static int ym_blank_at(const ym_parser *p, size_t j) {
  return j >= p->b.n || p->b.s[j] == ' ' || p->b.s[j] == '\t' || ym_break_at(p, j);
}

static int ym_flow_ind(int c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

/* Consume the line break at the position. */
static void ym_newline(ym_parser *p) {
  if (p->b.i < p->b.n && p->b.s[p->b.i] == '\r') p->b.i++;
  if (p->b.i < p->b.n && p->b.s[p->b.i] == '\n') p->b.i++;
  p->b.line++;
  p->b.line_start = p->b.i;
}

static void ym_skip_inline_ws(ym_parser *p) {
  while (p->b.i < p->b.n && (p->b.s[p->b.i] == ' ' || p->b.s[p->b.i] == '\t')) p->b.i++;
}

static void ym_skip_to_eol(ym_parser *p) {
  while (!ym_eol_at(p, p->b.i)) p->b.i++;
}

static int ym_marker_at(const ym_parser *p, size_t j) {
  const char *s = p->b.s;
  if (j + 3 > p->b.n) return 0;
  if (!((s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '-') ||
        (s[j] == '.' && s[j + 1] == '.' && s[j + 2] == '.')))
    return 0;
  return ym_blank_at(p, j + 3);
}

/* Move to the first character of the next content line, skipping blank
 * and comment lines, and set p->ind.  The rest of the current line must
 * already be known to be blank. */
static osiris_rc ym_next_content(ym_parser *p) {
  js_parser *b = &p->b;
  if (b->i != b->line_start) {
    ym_skip_to_eol(p);
    if (b->i >= b->n) {
      p->ind = YM_EOF;
      return OSIRIS_OK;
    }
    ym_newline(p);
  }
  for (;;) {
    size_t k = b->i;
    while (k < b->n && b->s[k] == ' ') k++;
    if (k >= b->n) {
      b->i = k;
      p->ind = YM_EOF;
      return OSIRIS_OK;
    }
    if (b->s[k] == '\t') {
      size_t t = k;
      while (t < b->n && (b->s[t] == ' ' || b->s[t] == '\t')) t++;
      if (!ym_eol_at(p, t) && b->s[t] != '#') {
        b->i = k;
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "tab character used for indentation");
      }
      k = t;
    }
    if (ym_eol_at(p, k) || b->s[k] == '#') {
      b->i = k;
      ym_skip_to_eol(p);
      if (b->i >= b->n) {
        p->ind = YM_EOF;
        return OSIRIS_OK;
      }
      ym_newline(p);
      continue;
    }
    b->i = k;
    if (k == b->line_start && ym_marker_at(p, k)) {
      p->ind = YM_MARK;
      return OSIRIS_OK;
    }
    p->ind = (int)(k - b->line_start);
    return OSIRIS_OK;
  }
}

/* A comment starts with '#' at the start of a line or after whitespace. */
static int ym_comment_at(const ym_parser *p, size_t j) {
  const js_parser *b = &p->b;
  return j < b->n && b->s[j] == '#' &&
         (j == b->line_start || b->s[j - 1] == ' ' || b->s[j - 1] == '\t');
}

/* After a value: only spaces and a comment may follow on its line. */
static osiris_rc ym_finish_line(ym_parser *p) {
  ym_skip_inline_ws(p);
  if (ym_comment_at(p, p->b.i)) ym_skip_to_eol(p);
  if (!ym_eol_at(p, p->b.i)) {
    if (p->b.s[p->b.i] == ':' && ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
    return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "unexpected text after a value");
  }
  return ym_next_content(p);
}

/* Errors for characters that start constructs outside the subset. */
static osiris_rc ym_check_indicator(ym_parser *p, int flow) {
  int c = ym_ch(p, 0);
  ym_mark m = ym_here(p);
  switch (c) {
  case '&': return ym_fail(p, OSIRIS_EPARSE, m, "anchors (&) are not supported");
  case '*': return ym_fail(p, OSIRIS_EPARSE, m, "aliases (*) are not supported");
  case '!': return ym_fail(p, OSIRIS_EPARSE, m, "tags (!) are not supported");
  case '%':
  case '@':
  case '`': return ym_fail(p, OSIRIS_EPARSE, m, "'%c' cannot start a plain scalar; quote the value", c);
  case '?':
    if (ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, m, "complex keys (?) are not supported");
    break;
  case '|':
  case '>':
    if (flow) return ym_fail(p, OSIRIS_EPARSE, m, "block scalars are not allowed in flow collections");
    break;
  case '-':
    if (flow && ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, m, "block sequences are not allowed in flow collections");
    break;
  case ',':
  case ']':
  case '}':
    return ym_fail(p, OSIRIS_EPARSE, m, "unexpected '%c'", c);
  default: break;
  }
  return OSIRIS_OK;
}

/* ------------------------------------------------------------- scalars */

static int ym_eq(const char *s, size_t n, const char *w) {
  return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int ym_digits(const char *s, size_t n, int base) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    int ok = base == 16 ? isxdigit(c) : base == 8 ? (c >= '0' && c <= '7') : (c >= '0' && c <= '9');
    if (!ok) return 0;
  }
  return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int ym_is_float(const char *s, size_t n) {
  size_t i = 0, d1 = 0, d2 = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, d1++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, d2++;
    if (d1 == 0 && d2 == 0) return 0;
  } else if (d1 == 0) {
    return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t de = 0;
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, de++;
    if (de == 0) return 0;
  }
  return i == n;
}

/* A new node for a plain scalar under the YAML 1.2 core schema. */
static osiris_json *ym_resolve(const char *s, size_t n) {
  osiris_json *v;
  size_t k = 0;
  int neg = 0, big = 0;
  if (n == 0 || ym_eq(s, n, "~") || ym_eq(s, n, "null") || ym_eq(s, n, "Null") || ym_eq(s, n, "NULL"))
    return js_alloc(OSIRIS_JSON_NULL);
  if (ym_eq(s, n, "true") || ym_eq(s, n, "True") || ym_eq(s, n, "TRUE")) return osiris_json_new_bool(1);
  if (ym_eq(s, n, "false") || ym_eq(s, n, "False") || ym_eq(s, n, "FALSE"))
    return osiris_json_new_bool(0);
  if (s[0] == '-' || s[0] == '+') neg = s[0] == '-', k = 1;
  if (ym_digits(s + k, n - k, 10) ||
      (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x') &&
       ym_digits(s + 2, n - 2, s[1] == 'o' ? 8 : 16))) {
    int base = 10;
    uint64_t acc = 0, limit;
    double dacc = 0;
    int overflow = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) base = s[1] == 'o' ? 8 : 16, k = 2;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < n; k++) {
      int c = (unsigned char)s[k];
      unsigned d = (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      dacc = dacc * base + d;
      if (acc > (limit - d) / (unsigned)base) overflow = 1;
      else acc = acc * (unsigned)base + d;
    }
    if (!overflow) {
      if (neg) return osiris_json_new_int(acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc);
      return osiris_json_new_int((int64_t)acc);
    }
    if (base == 8) return osiris_json_new_double(neg ? -dacc : dacc);
    /* Too big for int64: decimal and hex go through strtod (which reads
     * "0x..." too) for a correctly rounded double. */
    big = 1;
  }
  if (big || ym_is_float(s, n)) {
    /* strtod in the "C" locale; the text was checked against the grammar
     * above, so nothing else is read. */
    char small[64], *copy = small;
    double d;
    if (n >= sizeof small) {
      copy = os_malloc(n + 1);
      if (!copy) return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = 0;
    d = os_strtod(copy, NULL);
    if (copy != small) os_free(copy);
    return osiris_json_new_double(d);
  }
  k = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (ym_eq(s + k, n - k, ".inf") || ym_eq(s + k, n - k, ".Inf") || ym_eq(s + k, n - k, ".INF"))
    return osiris_json_new_double(s[0] == '-' ? -INFINITY : INFINITY);
  if (ym_eq(s, n, ".nan") || ym_eq(s, n, ".NaN") || ym_eq(s, n, ".NAN"))
    return osiris_json_new_double(NAN);
  v = osiris_json_new_str(s, n);
  return v;
}

/* Plain scalar in block context, folding continuation lines indented
 * more than parent.  Stops before a comment or at the end of its last
 * line. */
static osiris_rc ym_plain_block(ym_parser *p, int parent, os_buf *out) {
  js_parser *b = &p->b;
  osiris_rc rc;
  for (;;) {
    size_t start = b->i, end;
    int comment = 0;
    while (!ym_eol_at(p, b->i)) {
      char c = b->s[b->i];
      if (c == ':' && ym_blank_at(p, b->i + 1))
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
      if (c == '#' && b->i > start && (b->s[b->i - 1] == ' ' || b->s[b->i - 1] == '\t')) {
        comment = 1;
        break;
      }
      b->i++;
    }
    end = b->i;
    while (end > start && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
    if ((rc = ob_put(out, b->s + start, end - start))) return ym_oom(p);
    if (comment) {
      b->i = end; /* the caller sees the whitespace before '#' */
      return OSIRIS_OK;
    }
    {
      /* Look ahead for a continuation line; restore if there is none. */
      size_t save_i = b->i, save_ls = b->line_start, nbreaks = 0;
      uint32_t save_line = b->line;
      int cont = 0;
      while (b->i < b->n) {
        size_t k, sp;
        ym_newline(p);
        nbreaks++;
        k = b->i;
        while (k < b->n && b->s[k] == ' ') k++;
        sp = k - b->line_start;
        while (k < b->n && (b->s[k] == ' ' || b->s[k] == '\t')) k++;
        if (k >= b->n) break;
        if (ym_break_at(p, k)) {
          b->i = k;
          continue;
        }
        if (b->s[k] == '#' || (int)sp <= parent || (sp == 0 && ym_marker_at(p, k))) break;
        b->i = k;
        cont = 1;
        break;
      }
      if (!cont) {
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        return OSIRIS_OK;
      }
      if (nbreaks == 1) rc = ob_putc(out, ' ');
      else
        while (!rc && --nbreaks > 0) rc = ob_putc(out, '\n');
      if (rc) return ym_oom(p);
    }
  }
}

/* Plain scalar in flow context: ends at , [ ] { } ": " " #". */
static osiris_rc ym_plain_flow(ym_parser *p, os_buf *out) {
  js_parser *b = &p->b;
  for (;;) {
    size_t start = b->i, end;
    while (!ym_eol_at(p, b->i)) {
      char c = b->s[b->i];
      if (ym_flow_ind(c)) break;
      if (c == ':' && (ym_blank_at(p, b->i + 1) || (b->i + 1 < b->n && ym_flow_ind(b->s[b->i + 1]))))
        break;
      if (c == '#' && b->i > start && (b->s[b->i - 1] == ' ' || b->s[b->i - 1] == '\t')) break;
      b->i++;
    }
    end = b->i;
    while (end > start && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
    if (ob_put(out, b->s + start, end - start)) return ym_oom(p);
    if (!ym_eol_at(p, b->i) || b->i >= b->n) {
      b->i = end;
      return OSIRIS_OK;
    }
    {
      size_t save_i = b->i, save_ls = b->line_start, nbreaks = 0, k;
      uint32_t save_line = b->line;
      int c;
      while (ym_break_at(p, b->i)) {
        ym_newline(p);
        nbreaks++;
        ym_skip_inline_ws(p);
      }
      k = b->i;
      c = k < b->n ? (unsigned char)b->s[k] : -1;
      if (c < 0 || ym_flow_ind(c) || c == '#' || (c == ':' && (ym_blank_at(p, k + 1) || ym_flow_ind(ym_ch(p, 1)))) ||
          (k == b->line_start && ym_marker_at(p, k))) {
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        return OSIRIS_OK;
      }
      if (nbreaks == 1) {
        if (ob_putc(out, ' ')) return ym_oom(p);
      } else {
        while (--nbreaks > 0)
          if (ob_putc(out, '\n')) return ym_oom(p);
      }
    }
  }
}

static int ym_hexval(const char *s, size_t n, uint32_t *out) {
  uint32_t v = 0;
  size_t k;
  for (k = 0; k < n; k++) {
    int c = (unsigned char)s[k];
    if (!isxdigit(c)) return 0;
    v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  *out = v;
  return 1;
}

/* Single- or double-quoted scalar starting at the quote.  Line breaks
 * fold to a space, blank lines to "\n"; *lines is the number of line
 * breaks crossed (0 when the scalar sits on one line). */
static osiris_rc ym_quoted(ym_parser *p, os_buf *out, int *lines) {
  js_parser *b = &p->b;
  ym_mark open = ym_here(p);
  char q = b->s[b->i];
  int dbl = q == '"';
  *lines = 0;
  b->i++;
  for (;;) {
    char c;
    if (b->i >= b->n)
      return ym_fail(p, OSIRIS_EPARSE, open, "unterminated %s-quoted string", dbl ? "double" : "single");
    c = b->s[b->i];
    if (c == q) {
      if (!dbl && ym_ch(p, 1) == '\'') {
        if (ob_putc(out, '\'')) return ym_oom(p);
        b->i += 2;
        continue;
      }
      b->i++;
      return OSIRIS_OK;
    }
    if (c == ' ' || c == '\t') {
      size_t start = b->i;
      ym_skip_inline_ws(p);
      if (!ym_eol_at(p, b->i) && ob_put(out, b->s + start, b->i - start)) return ym_oom(p);
      continue;
    }
    if (ym_break_at(p, b->i) || (dbl && c == '\\' && ym_break_at(p, b->i + 1))) {
      int escaped = c == '\\', nbreaks = 0;
      if (escaped) b->i++;
      ym_newline(p);
      (*lines)++;
      for (;;) {
        ym_skip_inline_ws(p);
        if (b->i == b->line_start && ym_marker_at(p, b->i))
          return ym_fail(p, OSIRIS_EPARSE, open, "unterminated %s-quoted string",
                         dbl ? "double" : "single");
        if (!ym_break_at(p, b->i)) break;
        ym_newline(p);
        (*lines)++;
        nbreaks++;
      }
      if (nbreaks == 0 && !escaped) {
        if (ob_putc(out, ' ')) return ym_oom(p);
      }
      while (nbreaks-- > 0)
        if (ob_putc(out, '\n')) return ym_oom(p);
      continue;
    }
    if (dbl && c == '\\') {
      ym_mark em = ym_here(p);
      int e = ym_ch(p, 1);
      const char *simple = NULL;
      size_t hexlen = 0;
      switch (e) {
      case '0': simple = "\0"; break;
      case 'a': simple = "\a"; break;
      case 'b': simple = "\b"; break;
      case 't':
      case '\t': simple = "\t"; break;
      case 'n': simple = "\n"; break;
      case 'v': simple = "\v"; break;
      case 'f': simple = "\f"; break;
      case 'r': simple = "\r"; break;
      case 'e': simple = "\x1b"; break;
      case ' ': simple = " "; break;
      case '"': simple = "\""; break;
      case '/': simple = "/"; break;
      case '\\': simple = "\\"; break;
      case 'N': simple = "\xc2\x85"; break;
      case '_': simple = "\xc2\xa0"; break;
      case 'L': simple = "\xe2\x80\xa8"; break;
      case 'P': simple = "\xe2\x80\xa9"; break;
      case 'x': hexlen = 2; break;
      case 'u': hexlen = 4; break;
      case 'U': hexlen = 8; break;
      default:
        return ym_fail(p, OSIRIS_EPARSE, em, "invalid escape '\\%c'", e > 0x20 && e < 0x7F ? e : '?');
      }
      if (simple) {
        if (ob_put(out, simple, e == '0' ? 1 : strlen(simple))) return ym_oom(p);
        b->i += 2;
        continue;
      }
      {
        uint32_t cp, lo;
        if (b->i + 2 + hexlen > b->n || !ym_hexval(b->s + b->i + 2, hexlen, &cp))
          return ym_fail(p, OSIRIS_EPARSE, em, "invalid escape '\\%c'", e);
        b->i += 2 + hexlen;
        if (hexlen == 4 && cp >= 0xD800 && cp <= 0xDBFF && ym_ch(p, 0) == '\\' && ym_ch(p, 1) == 'u' &&
            b->i + 6 <= b->n && ym_hexval(b->s + b->i + 2, 4, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          b->i += 6;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          return ym_fail(p, OSIRIS_EPARSE, em, "escape is not a valid code point");
        if (js_put_utf8(out, cp)) return ym_oom(p);
      }
      continue;
    }
    {
      size_t start = b->i;
      while (b->i < b->n && b->s[b->i] != q && b->s[b->i] != ' ' && b->s[b->i] != '\t' &&
             !ym_break_at(p, b->i) && !(dbl && b->s[b->i] == '\\'))
        b->i++;
      if (ob_put(out, b->s + start, b->i - start)) return ym_oom(p);
    }
  }
}

/* Skip the blank lines of a block scalar, returning how many there were;
 * stops at the first content character or at column indent. */
static size_t ym_block_breaks(ym_parser *p, size_t indent) {
  js_parser *b = &p->b;
  size_t nb = 0;
  for (;;) {
    while (b->i < b->n && b->s[b->i] == ' ' && b->i - b->line_start < indent) b->i++;
    if (!ym_break_at(p, b->i)) return nb;
    ym_newline(p);
    nb++;
  }
}

/* Literal (|) or folded (>) block scalar, as PyYAML scans it. */
static osiris_rc ym_block_scalar(ym_parser *p, int parent, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark m = ym_here(p);
  int folded = b->s[b->i] == '>', chomp = 0, incr = 0, k, have_lb = 0;
  size_t indent, min_indent, nb = 0, col;
  os_buf buf = {0};
  osiris_rc rc = OSIRIS_OK;
  b->i++;
  for (k = 0; k < 2; k++) {
    int c = ym_ch(p, 0);
    if ((c == '+' || c == '-') && !chomp) {
      chomp = c == '+' ? 1 : -1;
      b->i++;
    } else if (c >= '0' && c <= '9' && !incr) {
      if (c == '0')
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "block scalar indentation indicator cannot be 0");
      incr = c - '0';
      b->i++;
    }
  }
  {
    size_t start = b->i;
    ym_skip_inline_ws(p);
    if (b->i < b->n && b->s[b->i] == '#' && b->i > start) ym_skip_to_eol(p);
    if (!ym_eol_at(p, b->i))
      return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "unexpected text after a block scalar indicator");
  }
  if (b->i < b->n) ym_newline(p);
  min_indent = parent + 1 < 1 ? 1 : (size_t)(parent + 1);
  if (incr) {
    indent = min_indent + (size_t)incr - 1;
    nb = ym_block_breaks(p, indent);
  } else {
    /* Auto-detect: the widest of the leading blank lines and the first
     * content line, but at least min_indent. */
    size_t max_indent = 0;
    for (;;) {
      while (b->i < b->n && b->s[b->i] == ' ') b->i++;
      col = b->i - b->line_start;
      if (col > max_indent) max_indent = col;
      if (!ym_break_at(p, b->i)) break;
      ym_newline(p);
      nb++;
    }
    indent = max_indent > min_indent ? max_indent : min_indent;
  }
  while (b->i - b->line_start == indent && b->i < b->n) {
    int leading_non_space = b->s[b->i] != ' ' && b->s[b->i] != '\t';
    size_t start = b->i;
    while (nb > 0) {
      if ((rc = ob_putc(&buf, '\n'))) goto oom;
      nb--;
    }
    ym_skip_to_eol(p);
    if ((rc = ob_put(&buf, b->s + start, b->i - start))) goto oom;
    have_lb = b->i < b->n;
    if (have_lb) ym_newline(p);
    nb += ym_block_breaks(p, indent);
    if (b->i - b->line_start != indent || b->i >= b->n) break;
    /* Folding joins two plain lines with a space (or with the blank
     * lines between them); breaks around more-indented lines stay. */
    if (folded && have_lb && leading_non_space && b->s[b->i] != ' ' && b->s[b->i] != '\t') {
      if (nb == 0 && (rc = ob_putc(&buf, ' '))) goto oom;
    } else if (have_lb && (rc = ob_putc(&buf, '\n'))) {
      goto oom;
    }
  }
  if (chomp != -1 && have_lb && (rc = ob_putc(&buf, '\n'))) goto oom;
  if (chomp == 1)
    while (nb-- > 0)
      if ((rc = ob_putc(&buf, '\n'))) goto oom;
  {
    size_t len = buf.len;
    *out = osiris_json_new_str(buf.p ? buf.p : "", len);
    if (!*out) goto oom;
    (*out)->line = m.line;
    (*out)->col = m.col;
  }
  ob_free(&buf);
  if (b->i >= b->n) {
    p->ind = YM_EOF;
    return OSIRIS_OK;
  }
  b->i = b->line_start; /* the scalar ended inside this line's indentation */
  rc = ym_next_content(p);
  if (rc) {
    osiris_json_free(*out);
    *out = NULL;
  }
  return rc;
oom:
  ob_free(&buf);
  return ym_oom(p);
}

/* --------------------------------------------------------- collections */

static osiris_rc ym_node(ym_parser *p, int parent, int ctx, int depth, osiris_json **out);
static osiris_rc ym_flow(ym_parser *p, int depth, osiris_json **out);
static osiris_rc ym_seq(ym_parser *p, int indent, int indentless, int depth, osiris_json **out);

static osiris_rc ym_depth_check(ym_parser *p, int depth) {
  if (depth >= OS_MAX_DEPTH)
    return ym_fail(p, OSIRIS_ELIMIT, ym_here(p), "nesting deeper than %d", OS_MAX_DEPTH);
  return OSIRIS_OK;
}

static osiris_json *ym_null_at(ym_mark m) {
  osiris_json *v = js_alloc(OSIRIS_JSON_NULL);
  if (v) v->line = m.line, v->col = m.col;
  return v;
}

/* Add key (owned) -> val (owned) to obj, rejecting duplicates and keys
 * holding NUL.  Frees both on failure. */
static osiris_rc ym_add_key(ym_parser *p, js_keyset *ks, osiris_json *obj, char *key, size_t klen,
                            ym_mark km, osiris_json *val) {
  int seen;
  osiris_rc rc;
  if (strlen(key) != klen) {
    rc = ym_fail(p, OSIRIS_EPARSE, km, "mapping key contains U+0000");
    goto fail;
  }
  seen = js_key_seen(ks, obj, key);
  if (seen) {
    rc = seen < 0 ? ym_oom(p) : ym_fail(p, OSIRIS_EPARSE, km, "duplicate key \"%s\"", key);
    goto fail;
  }
  if (js_append(obj, key, val)) return ym_oom(p);
  return OSIRIS_OK;
fail:
  os_free(key);
  osiris_json_free(val);
  return rc;
}

/* Does a plain implicit key ("key:" + blank) start at the position?  The
 * colon's offset goes to *colon. */
static int ym_plain_key(const ym_parser *p, size_t *colon) {
  const js_parser *b = &p->b;
  size_t j;
  for (j = b->i; !ym_eol_at(p, j); j++) {
    char c = b->s[j];
    if (c == '#' && j > b->i && (b->s[j - 1] == ' ' || b->s[j - 1] == '\t')) return 0;
    if (c == ':' && ym_blank_at(p, j + 1)) {
      *colon = j;
      return 1;
    }
  }
  return 0;
}

/* Block mapping whose first key starts at the position, at indent. */
static osiris_rc ym_map(ym_parser *p, int indent, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  js_keyset ks = {NULL, 0};
  osiris_json *obj;
  osiris_rc rc;
  ym_mark m = ym_here(p);
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  obj = js_alloc(OSIRIS_JSON_OBJECT);
  if (!obj) return ym_oom(p);
  obj->line = m.line;
  obj->col = m.col;
  for (;;) {
    ym_mark km = ym_here(p);
    os_buf key = {0};
    osiris_json *val = NULL;
    size_t klen;
    int c = ym_ch(p, 0);
    if (c == '"' || c == '\'') {
      int lines;
      if ((rc = ym_quoted(p, &key, &lines))) goto key_fail;
      ym_skip_inline_ws(p);
      if (lines || ym_ch(p, 0) != ':' || !ym_blank_at(p, b->i + 1)) {
        rc = ym_fail(p, OSIRIS_EPARSE, lines ? km : ym_here(p),
                     lines ? "a mapping key must fit on one line" : "expected ':' after a mapping key");
        goto key_fail;
      }
    } else {
      size_t colon, end;
      if (c == '-' && ym_blank_at(p, b->i + 1)) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "expected a mapping key, found a sequence item");
        goto key_fail;
      }
      if (c == '[' || c == '{') {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "complex keys are not supported");
        goto key_fail;
      }
      if ((rc = ym_check_indicator(p, 0))) goto key_fail;
      if (c == '|' || c == '>' || !ym_plain_key(p, &colon)) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "expected 'key: value'");
        goto key_fail;
      }
      end = colon;
      while (end > b->i && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
      if (end == b->i) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "empty mapping key");
        goto key_fail;
      }
      if (end - b->i == 2 && b->s[b->i] == '<' && b->s[b->i + 1] == '<') {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "merge keys (<<) are not supported");
        goto key_fail;
      }
      if (ob_put(&key, b->s + b->i, end - b->i)) {
        rc = ym_oom(p);
        goto key_fail;
      }
      b->i = colon;
    }
    b->i++; /* the ':' */
    klen = key.len;
    {
      char *k = ob_take(&key);
      if (!k) {
        rc = ym_oom(p);
        goto done;
      }
      ym_skip_inline_ws(p);
      if (ym_eol_at(p, b->i) || b->s[b->i] == '#') {
        if ((rc = ym_finish_line(p))) {
          os_free(k);
          goto done;
        }
        if (p->ind > indent)
          rc = ym_node(p, indent, YM_LINE, depth + 1, &val);
        else if (p->ind == indent && ym_ch(p, 0) == '-' && ym_blank_at(p, b->i + 1))
          rc = ym_seq(p, indent, 1, depth + 1, &val);
        else if (!(val = ym_null_at(km)))
          rc = ym_oom(p);
      } else {
        rc = ym_node(p, indent, YM_VALUE, depth + 1, &val);
      }
      if (rc) {
        os_free(k);
        goto done;
      }
      if ((rc = ym_add_key(p, &ks, obj, k, klen, km, val))) goto done;
    }
    if (p->ind < indent) break;
    if (p->ind > indent) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "bad indentation of a mapping entry");
      goto done;
    }
    continue;
  key_fail:
    ob_free(&key);
    goto done;
  }
done:
  os_free(ks.slots);
  if (rc) {
    osiris_json_free(obj);
    return rc;
  }
  *out = obj;
  return OSIRIS_OK;
}

/* Block sequence whose first "- " is at the position, at indent.  An
 * indentless sequence (PyYAML style, under a key at the same column) ends
 * at the first line of that column that is not an item. */
static osiris_rc ym_seq(ym_parser *p, int indent, int indentless, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  osiris_json *arr;
  osiris_rc rc;
  ym_mark m = ym_here(p);
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  arr = js_alloc(OSIRIS_JSON_ARRAY);
  if (!arr) return ym_oom(p);
  arr->line = m.line;
  arr->col = m.col;
  for (;;) {
    osiris_json *item = NULL;
    ym_mark im = ym_here(p);
    if (!(ym_ch(p, 0) == '-' && ym_blank_at(p, b->i + 1))) {
      if (indentless) break;
      rc = ym_fail(p, OSIRIS_EPARSE, im, "expected a sequence item ('- ')");
      goto done;
    }
    b->i++;
    ym_skip_inline_ws(p);
    if (ym_eol_at(p, b->i) || b->s[b->i] == '#') {
      if ((rc = ym_finish_line(p))) goto done;
      if (p->ind > indent)
        rc = ym_node(p, indent, YM_LINE, depth + 1, &item);
      else if (!(item = ym_null_at(im)))
        rc = ym_oom(p);
    } else {
      rc = ym_node(p, indent, YM_ITEM, depth + 1, &item);
    }
    if (rc) goto done;
    if ((rc = js_append(arr, NULL, item))) {
      rc = ym_oom(p);
      goto done;
    }
    if (p->ind < indent) break;
    if (p->ind > indent) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "bad indentation of a sequence item");
      goto done;
    }
  }
done:
  if (rc) {
    osiris_json_free(arr);
    return rc;
  }
  *out = arr;
  return OSIRIS_OK;
}

/* Skip whitespace, line breaks and comments inside a flow collection. */
static osiris_rc ym_flow_ws(ym_parser *p, ym_mark open, int is_map) {
  js_parser *b = &p->b;
  for (;;) {
    ym_skip_inline_ws(p);
    if (ym_comment_at(p, b->i)) ym_skip_to_eol(p);
    if (b->i >= b->n || (b->i == b->line_start && ym_marker_at(p, b->i)))
      return ym_fail(p, OSIRIS_EPARSE, open, "unterminated flow %s", is_map ? "mapping" : "sequence");
    if (!ym_break_at(p, b->i)) return OSIRIS_OK;
    ym_newline(p);
  }
}

/* A node inside a flow collection.  For a scalar, *text receives its
 * text (so that it can become a key) and *is_scalar is set. */
static osiris_rc ym_flow_node(ym_parser *p, int depth, osiris_json **out, int *is_scalar,
                              os_buf *text) {
  ym_mark m = ym_here(p);
  int c = ym_ch(p, 0);
  os_buf buf = {0};
  osiris_rc rc;
  *out = NULL;
  *is_scalar = 0;
  if (c == '[' || c == '{') return ym_flow(p, depth, out);
  if ((rc = ym_check_indicator(p, 1))) return rc;
  if (c == ':' && (ym_blank_at(p, p->b.i + 1) || ym_flow_ind(ym_ch(p, 1))))
    return ym_fail(p, OSIRIS_EPARSE, m, "empty mapping key");
  *is_scalar = 1;
  if (c == '"' || c == '\'') {
    int lines;
    if ((rc = ym_quoted(p, &buf, &lines))) goto done;
    *out = osiris_json_new_str(buf.p ? buf.p : "", buf.len);
  } else {
    if ((rc = ym_plain_flow(p, &buf))) goto done;
    *out = ym_resolve(buf.p ? buf.p : "", buf.len);
  }
  if (!*out) {
    rc = ym_oom(p);
    goto done;
  }
  (*out)->line = m.line;
  (*out)->col = m.col;
  ob_free(text);
  *text = buf;
  return OSIRIS_OK;
done:
  ob_free(&buf);
  return rc;
}

static osiris_rc ym_flow(ym_parser *p, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark open = ym_here(p);
  int is_map = b->s[b->i] == '{';
  char close = is_map ? '}' : ']';
  js_keyset ks = {NULL, 0};
  osiris_json *c;
  osiris_rc rc;
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  c = js_alloc(is_map ? OSIRIS_JSON_OBJECT : OSIRIS_JSON_ARRAY);
  if (!c) return ym_oom(p);
  c->line = open.line;
  c->col = open.col;
  b->i++;
  if ((rc = ym_flow_ws(p, open, is_map))) goto done;
  while (b->s[b->i] != close) {
    osiris_json *item = NULL, *val = NULL;
    ym_mark im = ym_here(p);
    size_t klen;
    int scalar;
    os_buf text = {0};
    if ((rc = ym_flow_node(p, depth + 1, &item, &scalar, &text))) goto done;
    if ((rc = ym_flow_ws(p, open, is_map))) goto item_fail;
    if (b->s[b->i] == ':' || is_map) {
      char *key;
      if (!scalar) {
        rc = ym_fail(p, OSIRIS_EPARSE, im, "complex keys are not supported");
        goto item_fail;
      }
      if (b->s[b->i] == ':') {
        b->i++;
        if ((rc = ym_flow_ws(p, open, is_map))) goto item_fail;
        if (b->s[b->i] == ',' || b->s[b->i] == close) {
          val = ym_null_at(im);
          if (!val) {
            rc = ym_oom(p);
            goto item_fail;
          }
        } else {
          int vs;
          os_buf vtext = {0};
          rc = ym_flow_node(p, depth + 1, &val, &vs, &vtext);
          ob_free(&vtext);
          if (rc) goto item_fail;
          if ((rc = ym_flow_ws(p, open, is_map))) {
            osiris_json_free(val);
            goto item_fail;
          }
        }
      } else if (!(val = ym_null_at(im))) {
        rc = ym_oom(p);
        goto item_fail;
      }
      klen = text.len;
      key = ob_take(&text);
      osiris_json_free(item);
      item = NULL;
      if (!key) {
        osiris_json_free(val);
        rc = ym_oom(p);
        goto done;
      }
      if (!is_map) {
        /* [k: v] is a sequence holding the single-pair mapping {k: v}. */
        js_keyset one = {NULL, 0};
        osiris_json *pair = js_alloc(OSIRIS_JSON_OBJECT);
        if (!pair) {
          os_free(key);
          osiris_json_free(val);
          rc = ym_oom(p);
          goto done;
        }
        pair->line = im.line;
        pair->col = im.col;
        if ((rc = ym_add_key(p, &one, pair, key, klen, im, val))) {
          osiris_json_free(pair);
          goto done;
        }
        item = pair;
      } else if ((rc = ym_add_key(p, &ks, c, key, klen, im, val))) {
        goto done;
      }
    }
    ob_free(&text);
    if (item && js_append(c, NULL, item)) {
      rc = ym_oom(p);
      goto done;
    }
    if (b->s[b->i] == ',') {
      b->i++;
      if ((rc = ym_flow_ws(p, open, is_map))) goto done;
      continue;
    }
    if (b->s[b->i] != close) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "expected ',' or '%c' in flow %s", close,
                   is_map ? "mapping" : "sequence");
      goto done;
    }
    continue;
  item_fail:
    ob_free(&text);
    osiris_json_free(item);
    goto done;
  }
  b->i++;
done:
  os_free(ks.slots);
  if (rc) {
    osiris_json_free(c);
    return rc;
  }
  *out = c;
  return OSIRIS_OK;
}

/* A block node at the position (its first character).  parent is the
 * indentation of the enclosing block collection (-1 at the top); ctx says
 * whether the node follows "key: " or "- " on the same line. */
static osiris_rc ym_node(ym_parser *p, int parent, int ctx, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark m = ym_here(p);
  int c = ym_ch(p, 0);
  int col = (int)(b->i - b->line_start);
  os_buf buf = {0};
  osiris_rc rc;
  size_t colon;
  *out = NULL;
  if (c == '-' && ym_blank_at(p, b->i + 1)) {
    if (ctx == YM_VALUE)
      return ym_fail(p, OSIRIS_EPARSE, m, "a block sequence cannot start on the line of its key");
    return ym_seq(p, col, 0, depth, out);
  }
  if (c == '[' || c == '{') {
    if ((rc = ym_flow(p, depth, out))) return rc;
    if ((rc = ym_finish_line(p))) {
      osiris_json_free(*out);
      *out = NULL;
    }
    return rc;
  }
  if (c == '|' || c == '>') return ym_block_scalar(p, parent, out);
  if ((rc = ym_check_indicator(p, 0))) return rc;
  if (c == '"' || c == '\'') {
    size_t save_i = b->i, save_ls = b->line_start;
    uint32_t save_line = b->line;
    int lines;
    if ((rc = ym_quoted(p, &buf, &lines))) goto done;
    if (!lines) {
      size_t k = b->i;
      while (k < b->n && (b->s[k] == ' ' || b->s[k] == '\t')) k++;
      if (k < b->n && b->s[k] == ':' && ym_blank_at(p, k + 1)) {
        if (ctx == YM_VALUE) {
          b->i = k;
          rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
          goto done;
        }
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        ob_free(&buf);
        return ym_map(p, col, depth, out);
      }
    }
    *out = osiris_json_new_str(buf.p ? buf.p : "", buf.len);
  } else {
    if (ym_plain_key(p, &colon)) {
      if (ctx == YM_VALUE) {
        b->i = colon;
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
      }
      return ym_map(p, col, depth, out);
    }
    if ((rc = ym_plain_block(p, parent, &buf))) goto done;
    *out = ym_resolve(buf.p ? buf.p : "", buf.len);
  }
  if (!*out) {
    rc = ym_oom(p);
    goto done;
  }
  (*out)->line = m.line;
  (*out)->col = m.col;
  if ((rc = ym_finish_line(p))) {
    osiris_json_free(*out);
    *out = NULL;
  }
done:
  ob_free(&buf);
  return rc;
}

/* Check the whole input once: UTF-8, and no control characters other than
 * tab and line breaks (a lone CR is not a line break here). */
static osiris_rc ym_check_text(ym_parser *p) {
  js_parser *b = &p->b;
  size_t bad = b->n, k;
  const char *what = NULL;
  if (!os_utf8_valid(b->s, b->n, &bad)) what = "invalid UTF-8";
  for (k = 0; k < bad; k++) {
    unsigned char c = (unsigned char)b->s[k];
    if ((c < 0x20 && c != '\t' && c != '\n' && !(c == '\r' && k + 1 < b->n && b->s[k + 1] == '\n')) ||
        c == 0x7F) {
      bad = k;
      what = "control character";
      break;
    }
  }
  if (!what) return OSIRIS_OK;
  for (k = 0; k < bad; k++)
    if (b->s[k] == '\n') b->line++, b->line_start = k + 1;
  b->i = bad;
  if (what[0] == 'c')
    return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "control character 0x%02X",
                   (unsigned char)b->s[bad]);
  return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "%s", what);
}

static osiris_rc ym_parse(const char *text, size_t len, const char *fname, osiris_json **out,
                          os_err *err) {
  ym_parser p;
  js_parser *b = &p.b;
  osiris_json *root = NULL;
  osiris_rc rc;
  *out = NULL;
  memset(&p, 0, sizeof p);
  b->s = text ? text : "";
  b->n = text ? len : 0;
  b->fname = fname;
  b->err = err;
  b->line = 1;
  b->col_num = 1;
  if (len > OS_MAX_DOC)
    return ym_fail(&p, OSIRIS_ELIMIT, ym_here(&p), "document larger than %zu bytes", OS_MAX_DOC);
  if ((rc = ym_check_text(&p))) return rc;
  if (b->n >= 3 && memcmp(b->s, "\xef\xbb\xbf", 3) == 0) b->i = b->line_start = 3;
  if ((rc = ym_next_content(&p))) return rc;
  if (p.ind == 0 && b->s[b->i] == '%')
    return ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), "directives (%%YAML, %%TAG) are not supported");
  if (p.ind == YM_MARK && b->s[b->i] == '-') {
    b->i += 3;
    ym_skip_inline_ws(&p);
    if (ym_eol_at(&p, b->i) || b->s[b->i] == '#') {
      if ((rc = ym_finish_line(&p))) return rc;
    } else {
      /* "--- value": only a scalar, flow or block scalar fits here. */
      if ((rc = ym_node(&p, -1, YM_VALUE, 0, &root))) return rc;
    }
  }
  if (!root && p.ind >= 0 && (rc = ym_node(&p, -1, YM_LINE, 0, &root))) return rc;
  if (p.ind >= 0) {
    rc = ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), p.ind > 0 ? "bad indentation" : "unexpected text after a value");
    goto fail;
  }
  if (p.ind == YM_MARK) {
    if (b->s[b->i] == '.') {
      b->i += 3;
      if ((rc = ym_finish_line(&p))) goto fail;
    }
    if (p.ind != YM_EOF) {
      rc = ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), "a second document is not supported");
      goto fail;
    }
  }
  if (!root && !(root = ym_null_at(ym_here(&p)))) return ym_oom(&p);
  if (!root->line) root->line = root->col = 1;
  *out = root;
  return OSIRIS_OK;
fail:
  osiris_json_free(root);
  return rc;
}

static osiris_rc ym_read_file(const char *path, osiris_json **out, os_err *err) {
  char *data = NULL;
  size_t len = 0;
  osiris_rc rc;
  *out = NULL;
  if ((rc = os_read_file(path, &data, &len, err))) return rc;
  rc = ym_parse(data, len, path, out, err);
  os_free(data);
  return rc;
}

/* --------------------------------------------------------------- emitter */

/* Strings a YAML 1.1 reader (PyYAML) would resolve to something else:
 * yes/no/on/off, 1_000, 0b1, 12:30, 2024-01-31, "<<", "=" (PyYAML's
 * resolver list).  Quoting them too keeps the output unambiguous for
 * Python readers. */
static int ym_ambiguous_11(const char *s, size_t n) {
  static const char *const words[] = {"yes", "Yes", "YES", "no", "No", "NO", "on", "On",
                                      "ON", "off", "Off", "OFF", "<<", "="};
  size_t i, k = 0;
  int digit_start;
  for (i = 0; i < sizeof words / sizeof *words; i++)
    if (ym_eq(s, n, words[i])) return 1;
  if (k < n && (s[k] == '-' || s[k] == '+')) k++;
  digit_start = k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.');
  if (!digit_start) return 0;
  if (n - k > 1 && s[k] == '0' && (s[k + 1] == 'b' || s[k + 1] == 'x' || s[k + 1] == 'o')) return 1;
  for (i = k; i < n; i++)
    if (s[i] == '_' || s[i] == ':') return 1;
  if (n >= 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
      isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-')
    return 1;
  return 0;
}

/* Characters that force double quotes: C0 controls, DEL, NEL, LS, PS, BOM. */
static int ym_needs_double(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i;
  for (i = 0; i < n; i++) {
    if (u[i] < 0x20 || u[i] == 0x7F) return 1;
    if (u[i] == 0xC2 && i + 1 < n && u[i + 1] == 0x85) return 1;
    if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
      return 1;
    if (u[i] == 0xEF && i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF) return 1;
  }
  return 0;
}

/* 1: s can be written plain; 0: it must be quoted; -1: out of memory. */
static int ym_plain_ok(const char *s, size_t n) {
  size_t i;
  osiris_json *r;
  int is_str;
  if (n == 0 || strchr(",[]{}#&*!|>'\"%@`", s[0])) return 0;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (n == 1 || s[1] == ' ')) return 0;
  if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0)) return 0;
  if (s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':') return 0;
  for (i = 0; i + 1 < n; i++)
    if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#')) return 0;
  if (ym_ambiguous_11(s, n)) return 0;
  /* Quick filter before allocating: only these can resolve to non-strings. */
  if (!strchr("~nNtTfF0123456789+-.", s[0])) return 1;
  r = ym_resolve(s, n);
  if (!r) return -1; /* out of memory */
  is_str = r->kind == OSIRIS_JSON_STRING;
  osiris_json_free(r);
  return is_str;
}

static osiris_rc ym_emit_str(os_buf *b, const char *s, size_t n) {
  size_t i;
  osiris_rc rc;
  if (!os_utf8_valid(s, n, NULL)) return OSIRIS_EINVAL;
  if (ym_needs_double(s, n)) {
    const unsigned char *u = (const unsigned char *)s;
    if ((rc = ob_putc(b, '"'))) return rc;
    for (i = 0; i < n; i++) {
      const char *e = NULL;
      char hex[8];
      size_t skip = 0;
      switch (u[i]) {
      case 0: e = "\\0"; break;
      case '\a': e = "\\a"; break;
      case '\b': e = "\\b"; break;
      case '\t': e = "\\t"; break;
      case '\n': e = "\\n"; break;
      case '\v': e = "\\v"; break;
      case '\f': e = "\\f"; break;
      case '\r': e = "\\r"; break;
      case 0x1B: e = "\\e"; break;
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      default:
        if (u[i] < 0x20 || u[i] == 0x7F) {
          snprintf(hex, sizeof hex, "\\x%02X", u[i]);
          e = hex;
        } else if (u[i] == 0xC2 && i + 1 < n && u[i + 1] == 0x85) {
          e = "\\N", skip = 1;
        } else if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && u[i + 2] == 0xA8) {
          e = "\\L", skip = 2;
        } else if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && u[i + 2] == 0xA9) {
          e = "\\P", skip = 2;
        } else if (u[i] == 0xEF && i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF) {
          e = "\\uFEFF", skip = 2;
        }
      }
      rc = e ? ob_puts(b, e) : ob_putc(b, (char)u[i]);
      if (rc) return rc;
      i += skip;
    }
    return ob_putc(b, '"');
  }
  switch (ym_plain_ok(s, n)) {
  case -1: return OSIRIS_ENOMEM;
  case 1: return ob_put(b, s, n);
  default: break;
  }
  if ((rc = ob_putc(b, '\''))) return rc;
  for (i = 0; i < n; i++) {
    if (s[i] == '\'' && (rc = ob_putc(b, '\''))) return rc;
    if ((rc = ob_putc(b, s[i]))) return rc;
  }
  return ob_putc(b, '\'');
}

static osiris_rc ym_emit_scalar(os_buf *b, const osiris_json *v) {
  char num[40];
  size_t n;
  osiris_rc rc;
  if (!v) return ob_puts(b, "null");
  switch (v->kind) {
  case OSIRIS_JSON_NULL: return ob_puts(b, "null");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "true" : "false");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    if (isnan(v->u.d)) return ob_puts(b, ".nan");
    if (isinf(v->u.d)) return ob_puts(b, v->u.d < 0 ? "-.inf" : ".inf");
    n = js_fmt_double(num, sizeof num, v->u.d);
    if (!strchr(num, '.') && strchr(num, 'e')) {
      /* PyYAML writes 1e+16 as 1.0e+16: YAML 1.1 floats need a dot, so a
       * Python reader would take the bare form for a string. */
      char *e = strchr(num, 'e');
      if ((rc = ob_put(b, num, (size_t)(e - num)))) return rc;
      if ((rc = ob_puts(b, ".0"))) return rc;
      return ob_puts(b, e);
    }
    return ob_put(b, num, n);
  case OSIRIS_JSON_STRING: return ym_emit_str(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
  case OSIRIS_JSON_ARRAY: return ob_puts(b, "[]");
  case OSIRIS_JSON_OBJECT: return ob_puts(b, "{}");
  }
  return OSIRIS_EINVAL;
}

static int ym_is_block(const osiris_json *v) {
  return v && (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) && v->u.c.n > 0;
}

static osiris_rc ym_indent(os_buf *b, int n) {
  osiris_rc rc = OSIRIS_OK;
  while (!rc && n-- > 0) rc = ob_putc(b, ' ');
  return rc;
}

static osiris_rc ym_emit_block(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                               int depth);

static osiris_rc ym_emit_map(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                             int depth) {
  js_keyidx *order = NULL;
  size_t i, n = v->u.c.n;
  osiris_rc rc = OSIRIS_OK;
  if (flags & YM_SORTED) {
    if (n > SIZE_MAX / sizeof *order) return OSIRIS_ENOMEM;
    order = os_malloc(n * sizeof *order);
    if (!order) return OSIRIS_ENOMEM;
    for (i = 0; i < n; i++) order[i].key = v->u.c.keys[i], order[i].idx = i;
    qsort(order, n, sizeof *order, js_cmp_keys);
  }
  for (i = 0; i < n; i++) {
    size_t idx = order ? order[i].idx : i;
    const osiris_json *val = v->u.c.items[idx];
    if ((i > 0 || !inl) && (rc = ym_indent(b, indent))) break;
    if ((rc = ym_emit_str(b, v->u.c.keys[idx], strlen(v->u.c.keys[idx])))) break;
    if ((rc = ob_putc(b, ':'))) break;
    if (ym_is_block(val)) {
      if ((rc = ob_putc(b, '\n'))) break;
      rc = ym_emit_block(b, val, val->kind == OSIRIS_JSON_OBJECT ? indent + 2 : indent, 0, flags,
                         depth + 1);
    } else {
      if (!(rc = ob_putc(b, ' ')) && !(rc = ym_emit_scalar(b, val))) rc = ob_putc(b, '\n');
    }
    if (rc) break;
  }
  os_free(order);
  return rc;
}

static osiris_rc ym_emit_seq(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                             int depth) {
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  for (i = 0; i < v->u.c.n && !rc; i++) {
    const osiris_json *item = v->u.c.items[i];
    if ((i > 0 || !inl) && (rc = ym_indent(b, indent))) break;
    if ((rc = ob_put(b, "- ", 2))) break;
    if (ym_is_block(item))
      rc = ym_emit_block(b, item, indent + 2, 1, flags, depth + 1);
    else if (!(rc = ym_emit_scalar(b, item)))
      rc = ob_putc(b, '\n');
  }
  return rc;
}

static osiris_rc ym_emit_block(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                               int depth) {
  if (depth > OS_MAX_DEPTH * 4) return OSIRIS_ELIMIT;
  if (v->kind == OSIRIS_JSON_OBJECT) return ym_emit_map(b, v, indent, inl, flags, depth);
  return ym_emit_seq(b, v, indent, inl, flags, depth);
}

static osiris_rc ym_emit(os_buf *b, const osiris_json *v, unsigned flags) {
  osiris_rc rc;
  if ((flags & YM_MARKERS) && (rc = ob_puts(b, "---\n"))) return rc;
  if (ym_is_block(v))
    rc = ym_emit_block(b, v, 0, 0, flags, 0);
  else if (!(rc = ym_emit_scalar(b, v)))
    rc = ob_putc(b, '\n');
  if (!rc && (flags & YM_MARKERS)) rc = ob_puts(b, "...\n");
  return rc;
}

/* ======================================================================
 * 7. Frames
 *
 * A frame is a set of equally long columns.  Each column keeps its values
 * in one growable array of its physical type (int8 bool, int64, double,
 * int32 date, int64 timestamp) or, for STRING and DECIMAL, one byte arena
 * plus uint64 end offsets; a validity bitmap appears with the first NULL
 * (no bitmap means every value is valid).  NULL cells still take a slot
 * (zero, or an empty text span) so row i is always slot i.  Rows are built
 * by appending exactly one value per column and then ending the row;
 * f->rows counts completed rows only, so readers never see a half row, and
 * a failed end_row discards the partial row.  Every array is capped at
 * OS_MAX_BUF bytes and grows by doubling with checked arithmetic.
 * ====================================================================== */

#define FR_US_PER_DAY INT64_C(86400000000)

typedef struct fr_col {
  char *name;
  osiris_type type;
  int scale;            /* DECIMAL digits after the point */
  size_t n;             /* values held: rows, or rows + 1 while a row is built */
  size_t cap;           /* slots allocated in data (and bits in valid) */
  unsigned char *data;  /* cap slots of fr_width(type) bytes; text: uint64 ends */
  char *text;           /* STRING/DECIMAL bytes, back to back */
  size_t text_len, text_cap;
  unsigned char *valid; /* NULL until the first NULL; bit set = value present */
} fr_col;

struct osiris_frame {
  fr_col *cols;
  size_t ncols, cols_cap;
  size_t rows; /* completed rows */
};

static size_t fr_width(osiris_type t) {
  switch (t) {
  case OSIRIS_TYPE_BOOL: return 1;
  case OSIRIS_TYPE_DATE: return 4;
  default: return 8;
  }
}

static int fr_is_text(osiris_type t) {
  return t == OSIRIS_TYPE_STRING || t == OSIRIS_TYPE_DECIMAL;
}

const char *osiris_type_name(osiris_type t) {
  switch (t) {
  case OSIRIS_TYPE_BOOL: return "bool";
  case OSIRIS_TYPE_INT64: return "int64";
  case OSIRIS_TYPE_DOUBLE: return "double";
  case OSIRIS_TYPE_DECIMAL: return "decimal";
  case OSIRIS_TYPE_STRING: return "string";
  case OSIRIS_TYPE_DATE: return "date";
  case OSIRIS_TYPE_TIMESTAMP: return "timestamp";
  }
  return "unknown";
}

osiris_frame *osiris_frame_new(void) { return os_calloc(1, sizeof(osiris_frame)); }

void osiris_frame_free(osiris_frame *f) {
  size_t i;
  if (!f) return;
  for (i = 0; i < f->ncols; i++) {
    os_free(f->cols[i].name);
    os_free(f->cols[i].data);
    os_free(f->cols[i].text);
    os_free(f->cols[i].valid);
  }
  os_free(f->cols);
  os_free(f);
}

/* Make room for at least need slots; the bitmap, if any, follows. */
static osiris_rc fr_col_reserve(fr_col *c, size_t need) {
  size_t w = fr_width(c->type), cap;
  unsigned char *p;
  if (need <= c->cap) return OSIRIS_OK;
  if (need > OS_MAX_BUF / w) return OSIRIS_ELIMIT;
  cap = c->cap ? c->cap : 64;
  while (cap < need) cap = cap > OS_MAX_BUF / w / 2 ? need : cap * 2;
  p = os_realloc(c->data, cap * w);
  if (!p) return OSIRIS_ENOMEM;
  c->data = p;
  if (c->valid) {
    p = os_realloc(c->valid, (cap + 7) / 8);
    if (!p) return OSIRIS_ENOMEM;
    c->valid = p;
  }
  c->cap = cap;
  return OSIRIS_OK;
}

static osiris_rc fr_col_reserve_text(fr_col *c, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra > OS_MAX_BUF || c->text_len > OS_MAX_BUF - extra) return OSIRIS_ELIMIT;
  need = c->text_len + extra;
  if (need <= c->text_cap) return OSIRIS_OK;
  cap = c->text_cap ? c->text_cap : 256;
  while (cap < need) cap = cap > OS_MAX_BUF / 2 ? need : cap * 2;
  p = os_realloc(c->text, cap);
  if (!p) return OSIRIS_ENOMEM;
  c->text = p;
  c->text_cap = cap;
  return OSIRIS_OK;
}

/* The slot for the next value, growing the arrays when needed. */
static osiris_rc fr_col_next(fr_col *c) {
  if (c->n < c->cap) return OSIRIS_OK;
  if (c->n == SIZE_MAX) return OSIRIS_ELIMIT;
  return fr_col_reserve(c, c->n + 1);
}

static void fr_col_mark_valid(fr_col *c) {
  if (c->valid) c->valid[c->n >> 3] |= (unsigned char)(1u << (c->n & 7));
}

/* Append one fixed-width value of `width` bytes (the column's own width). */
static osiris_rc fr_col_push_fixed(fr_col *c, const void *v, size_t width) {
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  memcpy(c->data + c->n * width, v, width);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

static osiris_rc fr_col_push_i64(fr_col *c, int64_t v) { return fr_col_push_fixed(c, &v, 8); }
static osiris_rc fr_col_push_f64(fr_col *c, double v) { return fr_col_push_fixed(c, &v, 8); }
static osiris_rc fr_col_push_i32(fr_col *c, int32_t v) { return fr_col_push_fixed(c, &v, 4); }

static osiris_rc fr_col_push_i8(fr_col *c, int v) {
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  c->data[c->n] = (unsigned char)(v ? 1 : 0);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

/* Text already checked by the caller (UTF-8, decimal syntax). */
static osiris_rc fr_col_push_text(fr_col *c, const char *s, size_t len) {
  uint64_t end;
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  rc = fr_col_reserve_text(c, len);
  if (rc) return rc;
  if (len) memcpy(c->text + c->text_len, s, len);
  c->text_len += len;
  end = (uint64_t)c->text_len;
  memcpy(c->data + c->n * 8, &end, 8);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

static osiris_rc fr_col_push_null(fr_col *c) {
  osiris_rc rc = fr_col_next(c);
  size_t w = fr_width(c->type);
  if (rc) return rc;
  if (!c->valid) {
    /* First NULL: every earlier slot was valid. */
    size_t nbytes = (c->cap + 7) / 8;
    c->valid = os_malloc(nbytes);
    if (!c->valid) return OSIRIS_ENOMEM;
    memset(c->valid, 0xFF, nbytes);
  }
  if (fr_is_text(c->type)) {
    uint64_t end = (uint64_t)c->text_len;
    memcpy(c->data + c->n * 8, &end, 8);
  } else {
    memset(c->data + c->n * w, 0, w);
  }
  c->valid[c->n >> 3] &= (unsigned char)~(1u << (c->n & 7));
  c->n++;
  return OSIRIS_OK;
}

/* Drop values past row count n (used to discard a partial row). */
static void fr_col_truncate(fr_col *c, size_t n) {
  if (c->n <= n) return;
  if (fr_is_text(c->type)) {
    uint64_t end = 0;
    if (n > 0) memcpy(&end, c->data + (n - 1) * 8, 8);
    c->text_len = (size_t)end;
  }
  c->n = n;
}

osiris_rc osiris_frame_add_column(osiris_frame *f, const char *name, osiris_type type,
                                  int scale) {
  fr_col *c;
  if (!f || !name) return OSIRIS_EINVAL;
  if (type < OSIRIS_TYPE_BOOL || type > OSIRIS_TYPE_TIMESTAMP) return OSIRIS_EINVAL;
  if (type == OSIRIS_TYPE_DECIMAL && (scale < 0 || scale > 38)) return OSIRIS_EINVAL;
  if (f->rows > 0 || (f->ncols > 0 && f->cols[0].n > 0)) return OSIRIS_EINVAL;
  if (!os_utf8_valid(name, strlen(name), NULL)) return OSIRIS_EINVAL;
  if (f->ncols == f->cols_cap) {
    size_t cap = f->cols_cap ? f->cols_cap * 2 : 8;
    fr_col *p;
    if (cap > OS_MAX_BUF / sizeof(fr_col)) return OSIRIS_ELIMIT;
    p = os_realloc(f->cols, cap * sizeof(fr_col));
    if (!p) return OSIRIS_ENOMEM;
    f->cols = p;
    f->cols_cap = cap;
  }
  c = &f->cols[f->ncols];
  memset(c, 0, sizeof *c);
  c->name = os_strdup(name);
  if (!c->name) return OSIRIS_ENOMEM;
  c->type = type;
  c->scale = type == OSIRIS_TYPE_DECIMAL ? scale : 0;
  f->ncols++;
  return OSIRIS_OK;
}

/* The column that may take the next value of the row being built. */
static fr_col *fr_append_col(osiris_frame *f, size_t col) {
  fr_col *c;
  if (!f || col >= f->ncols) return NULL;
  c = &f->cols[col];
  return c->n == f->rows ? c : NULL;
}

static fr_col *fr_append_typed(osiris_frame *f, size_t col, osiris_type t) {
  fr_col *c = fr_append_col(f, col);
  return c && c->type == t ? c : NULL;
}

osiris_rc osiris_frame_append_null(osiris_frame *f, size_t col) {
  fr_col *c = fr_append_col(f, col);
  return c ? fr_col_push_null(c) : OSIRIS_EINVAL;
}

osiris_rc osiris_frame_append_bool(osiris_frame *f, size_t col, int v) {
  fr_col *c = fr_append_typed(f, col, OSIRIS_TYPE_BOOL);
  return c ? fr_col_push_i8(c, v) : OSIRIS_EINVAL;
}

osiris_rc osiris_frame_append_int64(osiris_frame *f, size_t col, int64_t v) {
  fr_col *c = fr_append_typed(f, col, OSIRIS_TYPE_INT64);
  return c ? fr_col_push_i64(c, v) : OSIRIS_EINVAL;
}

osiris_rc osiris_frame_append_double(osiris_frame *f, size_t col, double v) {
  fr_col *c = fr_append_typed(f, col, OSIRIS_TYPE_DOUBLE);
  return c ? fr_col_push_f64(c, v) : OSIRIS_EINVAL;
}

osiris_rc osiris_frame_append_date(osiris_frame *f, size_t col, int32_t days) {
  fr_col *c = fr_append_typed(f, col, OSIRIS_TYPE_DATE);
  return c ? fr_col_push_i32(c, days) : OSIRIS_EINVAL;
}

osiris_rc osiris_frame_append_timestamp(osiris_frame *f, size_t col, int64_t micros) {
  fr_col *c = fr_append_typed(f, col, OSIRIS_TYPE_TIMESTAMP);
  return c ? fr_col_push_i64(c, micros) : OSIRIS_EINVAL;
}

/* [-+]?digits[.digits]: the only decimal text a frame accepts. */
static int fr_decimal_valid(const char *s, size_t len) {
  size_t i = 0, d;
  if (i < len && (s[i] == '-' || s[i] == '+')) i++;
  for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
  if (i == d) return 0;
  if (i < len && s[i] == '.') {
    i++;
    for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
    if (i == d) return 0;
  }
  return i == len;
}

osiris_rc osiris_frame_append_text(osiris_frame *f, size_t col, const char *s, size_t len) {
  fr_col *c = fr_append_col(f, col);
  if (!c || (!s && len)) return OSIRIS_EINVAL;
  if (!s) s = "";
  if (c->type == OSIRIS_TYPE_STRING) {
    if (!os_utf8_valid(s, len, NULL)) return OSIRIS_EINVAL;
    return fr_col_push_text(c, s, len);
  }
  if (c->type == OSIRIS_TYPE_DECIMAL) {
    if (!fr_decimal_valid(s, len)) return OSIRIS_EINVAL;
    if (s[0] == '+') s++, len--; /* canonical form has no '+' */
    return fr_col_push_text(c, s, len);
  }
  return OSIRIS_EINVAL;
}

osiris_rc osiris_frame_end_row(osiris_frame *f) {
  size_t i;
  if (!f) return OSIRIS_EINVAL;
  for (i = 0; i < f->ncols; i++) {
    if (f->cols[i].n != f->rows + 1) {
      /* Discard the partial row so the frame stays rectangular. */
      size_t j;
      for (j = 0; j < f->ncols; j++) fr_col_truncate(&f->cols[j], f->rows);
      return OSIRIS_EINVAL;
    }
  }
  if (f->rows == SIZE_MAX) return OSIRIS_ELIMIT;
  f->rows++;
  return OSIRIS_OK;
}

/* Bulk building (CSV, SQL results): columns filled one after another with
 * fr_col_push_*, then fr_commit_rows checks they all hold n values. */
static OS_UNUSED osiris_rc fr_commit_rows(osiris_frame *f, size_t n) {
  size_t i;
  for (i = 0; i < f->ncols; i++)
    if (f->cols[i].n != n) return OSIRIS_EINVAL;
  f->rows = n;
  return OSIRIS_OK;
}

/* Streaming (section 14): move f's completed rows into a new frame with
 * the same columns, leaving f with its columns and no rows.  NULL when out
 * of memory or while a row is half built; f is then unchanged. */
static osiris_frame *fr_take_rows(osiris_frame *f) {
  osiris_frame *b;
  size_t i;
  for (i = 0; i < f->ncols; i++)
    if (f->cols[i].n != f->rows) return NULL;
  b = osiris_frame_new();
  if (!b) return NULL;
  b->cols = os_calloc(f->ncols ? f->ncols : 1, sizeof(fr_col));
  if (!b->cols) goto fail;
  b->cols_cap = f->ncols ? f->ncols : 1;
  for (i = 0; i < f->ncols; i++) {
    b->cols[i].name = os_strdup(f->cols[i].name);
    if (!b->cols[i].name) goto fail;
    b->ncols++;
  }
  for (i = 0; i < f->ncols; i++) {
    fr_col *from = &f->cols[i], *to = &b->cols[i];
    char *name = to->name;
    *to = *from;
    to->name = name;
    from->data = NULL;
    from->text = NULL;
    from->valid = NULL;
    from->n = from->cap = from->text_len = from->text_cap = 0;
  }
  b->rows = f->rows;
  f->rows = 0;
  return b;
fail:
  osiris_frame_free(b);
  return NULL;
}

/* Append the rows of src (same columns and types) to dst. */
static osiris_rc fr_concat(osiris_frame *dst, const osiris_frame *src) {
  size_t i, r;
  osiris_rc rc;
  if (dst->ncols != src->ncols) return OSIRIS_EINVAL;
  for (i = 0; i < dst->ncols; i++)
    if (dst->cols[i].type != src->cols[i].type || dst->cols[i].n != dst->rows)
      return OSIRIS_EINVAL;
  for (i = 0; i < dst->ncols; i++) {
    fr_col *d = &dst->cols[i];
    const fr_col *sc = &src->cols[i];
    size_t w = fr_width(d->type), n0 = d->n;
    rc = fr_col_reserve(d, n0 + src->rows);
    if (rc) return rc;
    if (fr_is_text(d->type)) {
      rc = fr_col_reserve_text(d, sc->text_len);
      if (rc) return rc;
      if (sc->text_len) memcpy(d->text + d->text_len, sc->text, sc->text_len);
      for (r = 0; r < src->rows; r++) {
        uint64_t end;
        memcpy(&end, sc->data + r * 8, 8);
        end += (uint64_t)d->text_len;
        memcpy(d->data + (n0 + r) * 8, &end, 8);
      }
      d->text_len += sc->text_len;
    } else if (src->rows) {
      memcpy(d->data + n0 * w, sc->data, src->rows * w);
    }
    if (sc->valid && !d->valid) {
      size_t nbytes = (d->cap + 7) / 8;
      d->valid = os_malloc(nbytes);
      if (!d->valid) return OSIRIS_ENOMEM;
      memset(d->valid, 0xFF, nbytes);
    }
    if (d->valid)
      for (r = 0; r < src->rows; r++) {
        size_t k = n0 + r;
        if (!sc->valid || (sc->valid[r >> 3] >> (r & 7)) & 1)
          d->valid[k >> 3] |= (unsigned char)(1u << (k & 7));
        else
          d->valid[k >> 3] &= (unsigned char)~(1u << (k & 7));
      }
    d->n = n0 + src->rows;
  }
  dst->rows += src->rows;
  return OSIRIS_OK;
}

size_t osiris_frame_rows(const osiris_frame *f) { return f ? f->rows : 0; }
size_t osiris_frame_cols(const osiris_frame *f) { return f ? f->ncols : 0; }

const char *osiris_frame_col_name(const osiris_frame *f, size_t col) {
  return f && col < f->ncols ? f->cols[col].name : NULL;
}

osiris_type osiris_frame_col_type(const osiris_frame *f, size_t col) {
  return f && col < f->ncols ? f->cols[col].type : (osiris_type)0;
}

int osiris_frame_col_scale(const osiris_frame *f, size_t col) {
  return f && col < f->ncols ? f->cols[col].scale : 0;
}

static OS_UNUSED size_t fr_col_name_index(const osiris_frame *f, const char *name) {
  size_t i;
  if (!f || !name) return (size_t)-1;
  for (i = 0; i < f->ncols; i++)
    if (strcmp(f->cols[i].name, name) == 0) return i;
  return (size_t)-1;
}

/* The completed cell (col,row) of type t, or NULL. */
static const fr_col *fr_cell(const osiris_frame *f, size_t col, size_t row, osiris_type t) {
  if (!f || col >= f->ncols || row >= f->rows) return NULL;
  if (f->cols[col].type != t) return NULL;
  return &f->cols[col];
}

static int fr_col_is_null(const fr_col *c, size_t row) {
  return c->valid && !(c->valid[row >> 3] & (1u << (row & 7)));
}

int osiris_frame_is_null(const osiris_frame *f, size_t col, size_t row) {
  if (!f || col >= f->ncols || row >= f->rows) return 1;
  return fr_col_is_null(&f->cols[col], row);
}

int osiris_frame_get_bool(const osiris_frame *f, size_t col, size_t row) {
  const fr_col *c = fr_cell(f, col, row, OSIRIS_TYPE_BOOL);
  return c ? c->data[row] != 0 : 0;
}

int64_t osiris_frame_get_int64(const osiris_frame *f, size_t col, size_t row) {
  const fr_col *c = fr_cell(f, col, row, OSIRIS_TYPE_INT64);
  int64_t v = 0;
  if (c) memcpy(&v, c->data + row * 8, 8);
  return v;
}

double osiris_frame_get_double(const osiris_frame *f, size_t col, size_t row) {
  const fr_col *c = fr_cell(f, col, row, OSIRIS_TYPE_DOUBLE);
  double v = 0;
  if (c) memcpy(&v, c->data + row * 8, 8);
  return v;
}

int32_t osiris_frame_get_date(const osiris_frame *f, size_t col, size_t row) {
  const fr_col *c = fr_cell(f, col, row, OSIRIS_TYPE_DATE);
  int32_t v = 0;
  if (c) memcpy(&v, c->data + row * 4, 4);
  return v;
}

int64_t osiris_frame_get_timestamp(const osiris_frame *f, size_t col, size_t row) {
  const fr_col *c = fr_cell(f, col, row, OSIRIS_TYPE_TIMESTAMP);
  int64_t v = 0;
  if (c) memcpy(&v, c->data + row * 8, 8);
  return v;
}

static const char *fr_col_text(const fr_col *c, size_t row, size_t *len) {
  uint64_t start = 0, end;
  if (row > 0) memcpy(&start, c->data + (row - 1) * 8, 8);
  memcpy(&end, c->data + row * 8, 8);
  *len = (size_t)(end - start);
  return c->text ? c->text + start : "";
}

const char *osiris_frame_get_text(const osiris_frame *f, size_t col, size_t row, size_t *len) {
  const fr_col *c;
  size_t dummy;
  if (!len) len = &dummy;
  *len = 0;
  if (!f || col >= f->ncols || row >= f->rows || !fr_is_text(f->cols[col].type)) return NULL;
  c = &f->cols[col];
  return fr_col_text(c, row, len);
}

size_t osiris_frame_bytes(const osiris_frame *f) {
  size_t total, i;
  if (!f) return 0;
  total = sizeof *f + f->cols_cap * sizeof(fr_col);
  for (i = 0; i < f->ncols; i++) {
    const fr_col *c = &f->cols[i];
    total += strlen(c->name) + 1 + c->cap * fr_width(c->type) + c->text_cap;
    if (c->valid) total += (c->cap + 7) / 8;
  }
  return total;
}

/* ------------------------------------------------------ dates and times
 * Proleptic Gregorian calendar (H. Hinnant's days_from_civil), valid for
 * any year an int64 day count can express. */

static int64_t fr_days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void fr_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  int64_t z = days + 719468, era, doe, yoe, doy, mp;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int fr_days_in_month(int64_t y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dim[m - 1];
}

/* n ASCII digits at s, or -1. */
static int fr_digits(const char *s, int n) {
  int v = 0, i;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* "YYYY-MM-DD" exactly; rejects impossible months and days. */
static int fr_parse_date(const char *s, size_t len, int32_t *days) {
  int y, m, d;
  if (len != 10 || s[4] != '-' || s[7] != '-') return 0;
  y = fr_digits(s, 4);
  m = fr_digits(s + 5, 2);
  d = fr_digits(s + 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > fr_days_in_month(y, m)) return 0;
  *days = (int32_t)fr_days_from_civil(y, m, d);
  return 1;
}

/* "YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][Z|+00:00]" as UTC microseconds; the
 * OSIRIS_TS_* flags widen the forms (osiris.h). */
static int fr_parse_timestamp_as(const char *s, size_t len, unsigned flags, int64_t *micros) {
  int32_t days;
  int hh = 0, mi = 0, ss = 0;
  int64_t frac = 0;
  size_t i = 10;
  if (len < 10 || !fr_parse_date(s, 10, &days)) return 0;
  if (i < len && (s[i] == ' ' || s[i] == 'T')) {
    if (len < 16 || s[13] != ':') return 0;
    hh = fr_digits(s + 11, 2);
    mi = fr_digits(s + 14, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return 0;
    i = 16;
    if (i < len && s[i] == ':') {
      if (len < 19 || (ss = fr_digits(s + 17, 2)) < 0 || ss > 59) return 0;
      i = 19;
      if (i < len && s[i] == '.') {
        int nd = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
          if (nd == 6 && !(flags & OSIRIS_TS_LONG_FRACTION)) return 0;
          if (nd < 6) frac = frac * 10 + (s[i] - '0'), nd++;
        }
        if (nd == 0) return 0;
        while (nd++ < 6) frac *= 10;
      }
    } else if (!(flags & OSIRIS_TS_NO_SECONDS)) {
      return 0;
    }
  } else if (!(flags & OSIRIS_TS_DATE_ONLY)) {
    return 0;
  }
  if (i < len) {
    if (len - i == 1 && s[i] == 'Z') i++;
    else if (len - i == 6 && memcmp(s + i, "+00:00", 6) == 0) i += 6;
    else return 0;
  }
  *micros = (int64_t)days * FR_US_PER_DAY +
            ((int64_t)hh * 3600 + mi * 60 + ss) * INT64_C(1000000) + frac;
  return 1;
}

static int fr_parse_timestamp(const char *s, size_t len, int64_t *micros) {
  return fr_parse_timestamp_as(s, len, 0, micros);
}

static char *fr_put2(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* "YYYY-MM-DD" into out (>= 40 bytes); returns the length. */
static size_t fr_fmt_date(char *out, int64_t days) {
  int64_t y;
  int m, d;
  char *p = out;
  fr_civil_from_days(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    p = fr_put2(p, (int)(y / 100));
    p = fr_put2(p, (int)(y % 100));
  } else {
    /* Outside four digits: signed year, as ISO 8601 expanded form. */
    int n = snprintf(p, 24, "%s%04" PRId64, y < 0 ? "-" : "+", y < 0 ? -y : y);
    p += n;
  }
  *p++ = '-';
  p = fr_put2(p, m);
  *p++ = '-';
  p = fr_put2(p, d);
  *p = 0;
  return (size_t)(p - out);
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]" into out (>= 40 bytes). */
static size_t fr_fmt_timestamp(char *out, int64_t micros) {
  int64_t days = micros / FR_US_PER_DAY, rem = micros % FR_US_PER_DAY;
  int64_t secs;
  size_t n;
  char *p;
  if (rem < 0) {
    rem += FR_US_PER_DAY;
    days--;
  }
  n = fr_fmt_date(out, days);
  p = out + n;
  secs = rem / 1000000;
  *p++ = 'T';
  p = fr_put2(p, (int)(secs / 3600));
  *p++ = ':';
  p = fr_put2(p, (int)(secs / 60 % 60));
  *p++ = ':';
  p = fr_put2(p, (int)(secs % 60));
  if (rem % 1000000) {
    int us = (int)(rem % 1000000), k;
    *p++ = '.';
    for (k = 5; k >= 0; k--) {
      p[k] = (char)('0' + us % 10);
      us /= 10;
    }
    p += 6;
  }
  *p = 0;
  return (size_t)(p - out);
}

/* The calendar for drivers (osiris.h, "dates, numbers, text"). */
int64_t osiris_days_from_civil(int64_t y, int m, int d) { return fr_days_from_civil(y, m, d); }

void osiris_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  fr_civil_from_days(days, y, m, d);
}

int osiris_parse_date(const char *s, size_t len, int64_t *days) {
  int32_t d;
  if (!s || !fr_parse_date(s, len, &d)) return 0;
  *days = d;
  return 1;
}

int osiris_parse_timestamp(const char *s, size_t len, unsigned flags, int64_t *micros) {
  return s && fr_parse_timestamp_as(s, len, flags, micros);
}

/* fr_fmt_* want 40 bytes; a smaller out gets a cut copy. */
static size_t fr_fmt_out(char *out, size_t cap, const char *text, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(out, text, n);
  out[n] = 0;
  return n;
}

size_t osiris_format_date(char *out, size_t cap, int64_t days) {
  char tmp[OSIRIS_DATETIME_CAP];
  if (!out || !cap) return 0;
  if (cap >= sizeof tmp) return fr_fmt_date(out, days);
  return fr_fmt_out(out, cap, tmp, fr_fmt_date(tmp, days));
}

size_t osiris_format_timestamp(char *out, size_t cap, int64_t micros, char sep) {
  char tmp[OSIRIS_DATETIME_CAP], *t = cap >= sizeof tmp ? out : tmp, *at;
  size_t n;
  if (!out || !cap) return 0;
  n = fr_fmt_timestamp(t, micros);
  if ((at = strchr(t, 'T')) != NULL) *at = sep; /* a date has no T */
  return t == out ? n : fr_fmt_out(out, cap, tmp, n);
}

static size_t fr_fmt_i64(char *out, int64_t v) {
  char tmp[24];
  size_t n = 0, k = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) out[k++] = '-';
  while (n) out[k++] = tmp[--n];
  out[k] = 0;
  return k;
}

/* Doubles as the shortest text that reads back the same, laid out like
 * Python's repr (js_fmt_double).  js_fmt_double searches precisions with
 * snprintf+strtod (~10 us a value), too slow for a million-row CSV, so the
 * common case is done here: when some decimal of at most 15 significant
 * digits reads back as d, it is the only 15-digit one that does (15-digit
 * decimals are spaced wider than an ulp), so scale to 15 digits, round,
 * and check the read-back exactly (M < 2^53 and 10^k exact: one correctly
 * rounded operation, as in Clinger's fast path).  Otherwise try 16 digits,
 * then take 17.  Exponents out of the fast range go to js_fmt_double; NaN
 * and the infinities get words JSON lacks. */
static size_t fr_fmt_f64(char *out, size_t cap, double d) {
  static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  char tmp[48], digits[20];
  double a = d < 0 ? -d : d, m;
  uint64_t mant;
  int e10, k, nd, decpt, i;
  size_t n = 0;
  if (isnan(d)) return (size_t)snprintf(out, cap, "nan");
  if (isinf(d)) return (size_t)snprintf(out, cap, "%s", d < 0 ? "-inf" : "inf");
  if (a == 0) return (size_t)snprintf(out, cap, "%s", signbit(d) ? "-0.0" : "0.0");
  {
    /* floor(log10(a)) from the binary exponent, low by at most one (fixed
     * below); avoids libm. */
    uint64_t bits;
    int e2;
    memcpy(&bits, &a, 8);
    e2 = (int)((bits >> 52) & 0x7FF) - 1023;
    e10 = e2 >= 0 ? e2 * 30103 / 100000 : -((-e2 * 30103 + 99999) / 100000);
  }
  k = 14 - e10;
  if (k < -20 || k > 20) return js_fmt_double(out, cap, d); /* keeps k within p10[] below */
  m = k >= 0 ? a * p10[k] : a / p10[-k];
  if (m < 1e14 || m >= 1e15) { /* the estimate was one low */
    e10 += m < 1e14 ? -1 : 1;
    k = 14 - e10;
    m = k >= 0 ? a * p10[k] : a / p10[-k];
  }
  mant = m >= 1e14 && m < 1e15 ? (uint64_t)(m + 0.5) : 0;
  if (mant == UINT64_C(1000000000000000)) { /* rounded up into the next decade */
    mant /= 10;
    e10++;
    k--;
  }
  if (mant >= UINT64_C(100000000000000) && mant < UINT64_C(1000000000000000) &&
      (k >= 0 ? (double)mant / p10[k] : (double)mant * p10[-k]) == a) {
    for (i = 14; i >= 0; i--) {
      digits[i] = (char)('0' + mant % 10);
      mant /= 10;
    }
    nd = 15;
  } else {
    /* No 15-digit form: the shortest has 16 or 17 digits, and 17 always
     * reads back. */
    char sci[40];
    const char *e;
    int prec;
    for (prec = 15; prec <= 16; prec++) {
      os_fmt_sci(sci, sizeof sci, prec, a);
      if (prec == 16 || os_strtod(sci, NULL) == a) break;
    }
    for (nd = 0, e = sci; *e && *e != 'e'; e++)
      if (*e >= '0' && *e <= '9' && nd < (int)sizeof digits) digits[nd++] = *e;
    e10 = *e == 'e' ? (int)strtol(e + 1, NULL, 10) : e10;
  }
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  decpt = e10 + 1;
  if (d < 0) tmp[n++] = '-';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      tmp[n++] = '0';
      tmp[n++] = '.';
      for (i = 0; i < -decpt; i++) tmp[n++] = '0';
      memcpy(tmp + n, digits, (size_t)nd);
      n += (size_t)nd;
    } else if (decpt < nd) {
      memcpy(tmp + n, digits, (size_t)decpt);
      n += (size_t)decpt;
      tmp[n++] = '.';
      memcpy(tmp + n, digits + decpt, (size_t)(nd - decpt));
      n += (size_t)(nd - decpt);
    } else {
      memcpy(tmp + n, digits, (size_t)nd);
      n += (size_t)nd;
      for (i = nd; i < decpt; i++) tmp[n++] = '0';
      tmp[n++] = '.';
      tmp[n++] = '0';
    }
  } else {
    int ex = decpt - 1;
    tmp[n++] = digits[0];
    if (nd > 1) {
      tmp[n++] = '.';
      memcpy(tmp + n, digits + 1, (size_t)(nd - 1));
      n += (size_t)(nd - 1);
    }
    tmp[n++] = 'e';
    tmp[n++] = ex < 0 ? '-' : '+';
    if (ex < 0) ex = -ex;
    if (ex >= 100) tmp[n++] = (char)('0' + ex / 100);
    tmp[n++] = (char)('0' + ex / 10 % 10);
    tmp[n++] = (char)('0' + ex % 10);
  }
  tmp[n] = 0;
  if (cap) {
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(out, tmp, c);
    out[c] = 0;
  }
  return n;
}

/* Non-text cell into out (>= 64 bytes); returns the length. */
static size_t fr_fmt_cell(const fr_col *c, size_t row, char *out) {
  int64_t i64;
  int32_t i32;
  double f64;
  switch (c->type) {
  case OSIRIS_TYPE_BOOL:
    memcpy(out, c->data[row] ? "true" : "false", c->data[row] ? 5 : 6);
    return c->data[row] ? 4 : 5;
  case OSIRIS_TYPE_INT64:
    memcpy(&i64, c->data + row * 8, 8);
    return fr_fmt_i64(out, i64);
  case OSIRIS_TYPE_DOUBLE:
    memcpy(&f64, c->data + row * 8, 8);
    return fr_fmt_f64(out, 64, f64);
  case OSIRIS_TYPE_DATE:
    memcpy(&i32, c->data + row * 4, 4);
    return fr_fmt_date(out, i32);
  case OSIRIS_TYPE_TIMESTAMP:
    memcpy(&i64, c->data + row * 8, 8);
    return fr_fmt_timestamp(out, i64);
  default: break;
  }
  out[0] = 0;
  return 0;
}

const char *osiris_frame_format(const osiris_frame *f, size_t col, size_t row, char *buf,
                                size_t cap, size_t *len, int *is_null) {
  const fr_col *c;
  char tmp[64];
  size_t n, dummy_len;
  int dummy_null;
  if (!len) len = &dummy_len;
  if (!is_null) is_null = &dummy_null;
  *len = 0;
  *is_null = 1;
  if (buf && cap) buf[0] = 0;
  if (!f || col >= f->ncols || row >= f->rows) return buf && cap ? buf : "";
  c = &f->cols[col];
  if (fr_col_is_null(c, row)) return buf && cap ? buf : "";
  *is_null = 0;
  if (fr_is_text(c->type)) return fr_col_text(c, row, len);
  n = fr_fmt_cell(c, row, tmp);
  if (!buf || !cap) return "";
  if (n >= cap) n = cap - 1; /* truncated: the caller's buffer is too small */
  memcpy(buf, tmp, n);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* ======================================================================
 * 8. CSV
 *
 * RFC 4180 in both directions.  The reader reads a regular file twice, in
 * chunks of CS_CHUNK bytes (more when one record is longer): pass 1 parses
 * every record for the header, the number of rows and each column's type
 * (narrowed record by record: a type survives only if every non-NULL cell
 * parses as it); pass 2 parses again and builds the frame CS_BATCH_ROWS
 * rows at a time, handing each batch to on_rows, so a streamed read holds
 * one chunk and one batch whatever the size of the file.  A pipe cannot be
 * read twice: it is loaded whole and both passes run over that one
 * chunk.  The parser never writes its input; it decodes fields into a
 * buffer of their own, so a record cut by the end of a chunk is parsed
 * again from its start once the next chunk is read after it.  UTF-8 is
 * checked as chunks arrive (a character cut by a chunk with the next one),
 * and pass 1 checks the whole file even past an error or the limit, so
 * every error is the one a single reading of the whole file gives, at the
 * same line.  Pass 2 reads the same open file: what pass 1 did not see
 * there (other rows, field counts, a value no longer of its column's type,
 * invalid UTF-8, and when it reads to the end, another size or mtime) fails
 * the read with OSIRIS_EIO "changed while being read" instead of building a
 * frame from two versions of the file.  A column the on_rows side says no
 * one reads (column_used, asked per batch: a streamed consumer's
 * projection) is NULL in the batches built after, its values not
 * converted (nor re-checked).  Empty fields are NULL, so "" and an
 * absent value read back the same; blank lines (and lines starting with
 * the comment character, when one is set) hold no record and are
 * skipped (the writer quotes a lone empty field so it never writes
 * one).  A quoted field ends at its closing quote: a character other than
 * the delimiter or a line end after it is an error unless lenient_quotes
 * (then it is kept, as pandas does); an unterminated quote always is.
 * Line numbers in messages are the 1-based physical line where a
 * record (or an open quote) starts.  The writer streams through a 1 MiB
 * buffer into a fresh temporary file beside path (os_open_temp) and renames, so a failure never leaves a
 * partial file under the final name; a path that is a FIFO or a device
 * (/dev/null, /dev/stdout) is written in place (os_open_output).
 * ====================================================================== */

#define CS_WRITE_BUF ((size_t)1 << 20)
#define CS_BATCH_ROWS ((size_t)4096) /* rows between on_rows calls */
#define CS_CHUNK ((size_t)8 << 20)   /* bytes read at a time from a regular file */
#define CS_MORE (-1)                 /* cs_record: the record may go on past the chunk */
#define CS_PAD ((size_t)8)           /* bytes allocated past the sentinel, see cs_scan_text */

/* Bytes read at a time from a regular file.  Tests shrink it so records
 * straddle chunks everywhere; 0 loads the whole file as one chunk, as is
 * always done for a pipe (which cannot be read twice). */
static size_t cs_chunk_size = CS_CHUNK;

/* Nonzero when one of the 8 bytes of x equals the byte b repeated in rep. */
#define CS_ONES UINT64_C(0x0101010101010101)
#define CS_HIGHS UINT64_C(0x8080808080808080)
static uint64_t cs_has_byte(uint64_t x, uint64_t rep) {
  uint64_t v = x ^ rep;
  return (v - CS_ONES) & ~v & CS_HIGHS;
}

/* The 8 bytes at s, s[0] lowest (one load where the machine is little
 * endian), so the lowest bit of a cs_has_byte mask is the first match. */
static uint64_t cs_load_le(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 | (uint64_t)u[3] << 24 |
         (uint64_t)u[4] << 32 | (uint64_t)u[5] << 40 | (uint64_t)u[6] << 48 | (uint64_t)u[7] << 56;
}

/* Index (0..7) of the lowest byte whose high bit is set in m != 0. */
#if defined(__GNUC__)
#define CS_FIRST_BYTE(m) ((size_t)__builtin_ctzll(m) / 8)
#else
static size_t cs_first_byte(uint64_t m) {
  size_t k = 0;
  while (!(m & 0x80)) m >>= 8, k++;
  return k;
}
#define CS_FIRST_BYTE(m) cs_first_byte(m)
#endif

typedef struct cs_reader {
  const char *path; /* as given, for messages */
  int fd;
  int whole;        /* p is the whole input, loaded once; else chunks read with pread */
  int latin1;       /* chunks are converted to UTF-8 as they are read */
  char *p;          /* input from file offset base on; p[n] is a '\n' sentinel */
  size_t n, cap, i; /* bytes held, room (> n; CS_PAD more allocated), read position */
  size_t checked;   /* p[0..checked) is valid UTF-8; after it at most a split character */
  uint64_t base;    /* file offset of p[0] (not kept for latin-1) */
  uint64_t fpos;    /* file offset of the next read */
  int eof;          /* nothing follows p[n - 1]: a record may end at the sentinel */
  size_t line;      /* physical line at p[i], 1-based */
  size_t rec_line;  /* line where the last record started */
  char delim;
  int lenient_quotes; /* text after a closing quote is kept, not an error */
  char comment;       /* a line starting with it holds no record; 0: none */
  unsigned char stop[256]; /* 1 for the bytes that end unquoted text */
  uint64_t rep_delim;      /* the delimiter in every byte, for cs_has_byte */
  char *txt;        /* decoded fields of the records kept, back to back */
  size_t ntxt, txt_cap;
  uint64_t *ends;   /* end offset in txt of each kept field, row-major */
  size_t nends, ends_cap;
  const unsigned char *skip; /* by field of a record: 1 when its text is not kept (it reads as empty) */
  size_t nskip;
  os_err *err;
} cs_reader;

static osiris_rc cs_push_end(cs_reader *r, size_t end) {
  if (r->nends == r->ends_cap) {
    size_t cap = r->ends_cap ? r->ends_cap * 2 : 4096;
    uint64_t *p;
    if (cap > OS_MAX_BUF / sizeof(uint64_t))
      return os_fail(r->err, OSIRIS_ELIMIT, "%s: too many fields", r->path);
    p = os_realloc(r->ends, cap * sizeof(uint64_t));
    if (!p) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
    r->ends = p;
    r->ends_cap = cap;
  }
  r->ends[r->nends++] = (uint64_t)end;
  return OSIRIS_OK;
}

/* Room in txt for len more decoded bytes after txt[w]. */
static osiris_rc cs_grow_txt(cs_reader *r, size_t w, size_t len) {
  size_t cap = r->txt_cap ? r->txt_cap : 4096;
  char *p;
  if (len > OS_MAX_BUF - w) return os_fail(r->err, OSIRIS_ELIMIT, "%s: record too large", r->path);
  while (cap - w < len) cap *= 2;
  p = os_realloc(r->txt, cap);
  if (!p) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
  r->txt = p;
  r->txt_cap = cap;
  return OSIRIS_OK;
}

/* Append len decoded bytes at txt[*w]. */
static osiris_rc cs_put_txt(cs_reader *r, size_t *w, const char *s, size_t len) {
  if (len > r->txt_cap - *w) {
    osiris_rc rc = cs_grow_txt(r, *w, len);
    if (rc) return rc;
  }
  if (len) memcpy(r->txt + *w, s, len);
  *w += len;
  return OSIRIS_OK;
}

/* The first byte at or after p + i that ends unquoted text: eight bytes a
 * step (most of the parse is this scan), which the sentinel and the
 * CS_PAD bytes allocated after it make safe to read. */
static size_t cs_scan_text(const cs_reader *r, const char *p, size_t i) {
  const uint64_t rn = CS_ONES * '\n', rr = CS_ONES * '\r', rd = r->rep_delim;
  for (;; i += 8) {
    uint64_t x = cs_load_le(p + i);
    uint64_t m = cs_has_byte(x, rd) | cs_has_byte(x, rn) | cs_has_byte(x, rr);
    if (m) return i + CS_FIRST_BYTE(m);
  }
}

/* Lines the n bytes at s end: LF, CRLF, or a lone CR (s[n] is readable). */
static size_t cs_count_lines(const char *s, size_t n) {
  const uint64_t rn = CS_ONES * '\n', rr = CS_ONES * '\r';
  size_t k = 0, lines = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t x;
    memcpy(&x, s + k, 8);
    if (cs_has_byte(x, rn) | cs_has_byte(x, rr)) break;
  }
  for (; k < n; k++)
    if (s[k] == '\n' || (s[k] == '\r' && s[k + 1] != '\n')) lines++;
  return lines;
}

/* Parse the next record from p[i..n), appending its decoded fields to txt
 * and one end offset per field to ends (the input is never written, so a
 * record can be parsed again).  Blank lines are skipped (they hold no
 * record).  *got is 1 for a record, 0 at the end of the input, CS_MORE when
 * the record may go on past p[n - 1] and the input has not ended: the reader
 * is then unchanged and the caller reads more. */
static osiris_rc cs_record(cs_reader *r, int *got) {
  const char *p = r->p;
  const size_t n = r->n, mark = r->nends;
  const int eof = r->eof;
  const char delim = r->delim;
  size_t i = r->i, w = r->ntxt, line = r->line;
  osiris_rc rc = OSIRIS_OK;
  *got = 0;
  for (;;) { /* blank lines, and comment lines up to their line end */
    while (i < n && (p[i] == '\n' || p[i] == '\r')) {
      if (p[i] == '\r' && i + 1 == n && !eof) goto more; /* CR, and LF may follow */
      if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
      i++;
      line++;
    }
    if (i >= n || !r->comment || p[i] != r->comment) break;
    while (i < n && p[i] != '\n' && p[i] != '\r') i++;
    if (i >= n && !eof) goto more;
  }
  if (i >= n) {
    if (!eof) goto more;
    r->i = i;
    r->line = line;
    return OSIRIS_OK;
  }
  r->rec_line = line;
  for (;;) {
    size_t start, fld = r->nends - mark;
    const int keep = !(fld < r->nskip && r->skip[fld]);
    if (p[i] == '"') {
      size_t qline = line;
      i++;
      for (;;) {
        const char *q = i < n ? memchr(p + i, '"', n - i) : NULL;
        size_t seg;
        if (!q) {
          if (!eof) goto more;
          rc = os_fail(r->err, OSIRIS_EPARSE, "%s:%zu: unterminated quoted field", r->path,
                       qline);
          goto fail;
        }
        seg = (size_t)(q - (p + i));
        line += cs_count_lines(p + i, seg);
        if (keep && (rc = cs_put_txt(r, &w, p + i, seg)) != OSIRIS_OK) goto fail;
        i += seg + 1;
        if (i < n && p[i] == '"') {
          if (keep && (rc = cs_put_txt(r, &w, "\"", 1)) != OSIRIS_OK) goto fail;
          i++;
          continue;
        }
        if (i == n && !eof) goto more; /* a quote may follow: "" */
        break;
      }
      if (!r->lenient_quotes && i < n && !r->stop[(unsigned char)p[i]]) {
        rc = os_fail(r->err, OSIRIS_EPARSE,
                     "%s:%zu: text after a closing quote (quote the whole field, double the "
                     "quotes inside it, or set strict: false)",
                     r->path, line);
        goto fail;
      }
    }
    /* Unquoted text, or with lenient_quotes text after a closing quote
     * (kept, as pandas does). */
    start = i;
    i = cs_scan_text(r, p, i);
    if (i == n && !eof) goto more;
    if (keep && (rc = cs_put_txt(r, &w, p + start, i - start)) != OSIRIS_OK) goto fail;
    rc = cs_push_end(r, w);
    if (rc) goto fail;
    if (i < n && p[i] == delim) {
      i++;
      continue;
    }
    if (i < n) {
      if (p[i] == '\r' && i + 1 == n && !eof) goto more;
      if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
      i++;
      line++;
    }
    break;
  }
  *got = 1;
  r->i = i;
  r->ntxt = w;
  r->line = line;
  return OSIRIS_OK;
more:
  *got = CS_MORE;
fail:
  r->nends = mark;
  return rc;
}

/* ISO-8859-1 maps byte for byte onto U+0000..U+00FF: the len bytes at s
 * become UTF-8 in place, the buffer having room for twice as many.
 * Returns the new length. */
static size_t cs_latin1_expand(char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t high = 0, j, dst;
  for (j = 0; j < len; j++) high += u[j] >> 7;
  dst = len + high;
  for (j = len; j > 0 && dst > j;) { /* back to front; [0, dst) left is all ASCII */
    unsigned char c = u[--j];
    if (c < 0x80) {
      s[--dst] = (char)c;
    } else {
      s[--dst] = (char)(0x80 | (c & 0x3F));
      s[--dst] = (char)(0xC0 | (c >> 6));
    }
  }
  return len + high;
}

/* Where a UTF-8 character cut off by the end of s[0..n) starts, or n. */
static size_t cs_utf8_cut(const char *s, size_t n) {
  size_t k;
  for (k = 1; k <= 3 && k <= n; k++) {
    unsigned char c = (unsigned char)s[n - k];
    if ((c & 0xC0) == 0x80) continue;
    if (c >= 0xC0 && k < (size_t)(c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2)) return n - k;
    return n;
  }
  return n;
}

/* The error for an invalid byte at file offset bad, with its line: the
 * newlines before it, read again when the input is not held whole. */
static osiris_rc cs_bad_utf8(cs_reader *r, uint64_t bad) {
  size_t line = 1, j;
  if (r->whole) {
    for (j = 0; j < bad; j++) line += r->p[j] == '\n';
  } else {
    char buf[8192];
    uint64_t off = 0;
    while (off < bad) {
      size_t want = bad - off < sizeof buf ? (size_t)(bad - off) : sizeof buf;
      ssize_t got = pread(r->fd, buf, want, (off_t)off);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      for (j = 0; j < (size_t)got; j++) line += buf[j] == '\n';
      off += (uint64_t)got;
    }
  }
  return os_fail(r->err, OSIRIS_EPARSE, "%s:%zu: invalid UTF-8 at byte %zu", r->path, line,
                 (size_t)bad);
}

/* Check the bytes read since the last check, but a character the chunk
 * cut (checked then with the next chunk, from its first byte, so the
 * offset of an error is the one a check of the whole file gives). */
static osiris_rc cs_check_utf8(cs_reader *r) {
  size_t cut = r->eof ? r->n : r->checked + cs_utf8_cut(r->p + r->checked, r->n - r->checked);
  size_t bad;
  if (r->latin1) return OSIRIS_OK;
  if (!os_utf8_valid(r->p + r->checked, cut - r->checked, &bad))
    return cs_bad_utf8(r, r->base + r->checked + bad);
  r->checked = cut;
  return OSIRIS_OK;
}

static osiris_rc cs_whole(cs_reader *r, size_t len, size_t cap);

/* Open path; for a pipe or other stream, or when cs_chunk_size is 0, also
 * load it whole with one spare byte for the sentinel. */
static osiris_rc cs_open(cs_reader *r, struct stat *st) {
  const char *path = r->path;
  size_t cap, len = 0;
  osiris_rc rc = OSIRIS_OK;
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    /* A FIFO nobody opens for writing blocks the open; a caught signal
     * (the CLI's Ctrl-C, installed without SA_RESTART) ends the wait. */
    if (errno == EINTR) return os_fail(r->err, OSIRIS_ECANCEL, "%s: interrupted", path);
    if (errno == ENOENT) {
      char *abs = os_path_abs(NULL, path);
      rc = os_fail(r->err, OSIRIS_ENOTFOUND, "CSV file not found: %s", abs ? abs : path);
      os_free(abs);
      return rc;
    }
    return os_fail(r->err, OSIRIS_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  if (fstat(r->fd, st) != 0)
    return os_fail(r->err, OSIRIS_EIO, "%s: cannot stat: %s", path, strerror(errno));
  if (S_ISDIR(st->st_mode)) return os_fail(r->err, OSIRIS_EIO, "%s: is a directory", path);
  r->whole = !S_ISREG(st->st_mode) || cs_chunk_size == 0;
  if (!r->whole) return OSIRIS_OK;
  if (S_ISREG(st->st_mode) && (uint64_t)st->st_size >= (uint64_t)OS_MAX_BUF)
    return os_fail(r->err, OSIRIS_ELIMIT, "%s: file too large", path);
  cap = S_ISREG(st->st_mode) ? (size_t)st->st_size + 2 : (size_t)1 << 16;
  r->p = os_malloc(cap + CS_PAD);
  if (!r->p) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
  for (;;) {
    ssize_t got;
    if (cap - len < 2) {
      char *nb;
      if (cap > OS_MAX_BUF / 2) return os_fail(r->err, OSIRIS_ELIMIT, "%s: file too large", path);
      nb = os_realloc(r->p, cap * 2 + CS_PAD);
      if (!nb) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
      r->p = nb;
      cap *= 2;
    }
    got = read(r->fd, r->p + len, cap - 1 - len);
    if (got < 0) {
      /* Only a pipe that sends nothing can block here: as for the open,
       * a caught signal ends the read rather than the wait going on. */
      if (errno == EINTR) return os_fail(r->err, OSIRIS_ECANCEL, "%s: interrupted", path);
      return os_fail(r->err, OSIRIS_EIO, "%s: read failed: %s", path, strerror(errno));
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  return cs_whole(r, len, cap);
}

/* p[0..len) of cap bytes is the whole input: convert latin-1, add the
 * sentinel, check UTF-8. */
static osiris_rc cs_whole(cs_reader *r, size_t len, size_t cap) {
  if (r->latin1) {
    size_t high = 0, j;
    char *nb;
    for (j = 0; j < len; j++) high += (unsigned char)r->p[j] >> 7;
    if (high > OS_MAX_BUF - len - 1) return os_fail(r->err, OSIRIS_ELIMIT, "%s: file too large", r->path);
    if (len + high + 1 > cap) {
      nb = os_realloc(r->p, len + high + 1 + CS_PAD);
      if (!nb) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
      r->p = nb;
      cap = len + high + 1;
    }
    len = cs_latin1_expand(r->p, len);
  }
  memset(r->p + len, '\n', 1 + CS_PAD);
  r->n = len;
  r->cap = cap;
  r->eof = 1;
  return cs_check_utf8(r);
}

/* The input is data[0..len), copied (the reader needs a sentinel and room
 * to widen latin-1 after it). */
static osiris_rc cs_open_mem(cs_reader *r, const char *data, size_t len) {
  size_t cap;
  r->whole = 1;
  if (len >= (size_t)OS_MAX_BUF) return os_fail(r->err, OSIRIS_ELIMIT, "%s: input too large", r->path);
  cap = len + 2;
  r->p = os_malloc(cap + CS_PAD);
  if (!r->p) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
  if (len) memcpy(r->p, data, len);
  return cs_whole(r, len, cap);
}

/* Keep p[i..n), the start of a record not yet complete (and a character
 * not yet checked: i <= checked, as no record ends in one), and read the
 * next chunk after it: at least as much as is kept, so that a record
 * longer than a chunk costs linear time. */
static osiris_rc cs_refill(cs_reader *r) {
  size_t keep = r->n - r->i, want = cs_chunk_size > keep ? cs_chunk_size : keep, got = 0;
  size_t grow = r->latin1 ? 2 : 1;
  if (want == 0) want = 1;
  if (r->i) {
    memmove(r->p, r->p + r->i, keep);
    r->base += r->i;
    r->checked = r->latin1 ? 0 : r->checked - r->i;
    r->n = keep;
    r->i = 0;
  }
  if (want > (OS_MAX_BUF - keep - 1) / grow)
    return os_fail(r->err, OSIRIS_ELIMIT, "%s: record too large", r->path);
  if (keep + want * grow + 1 > r->cap) {
    size_t cap = keep + want * grow + 1;
    char *p = os_realloc(r->p, cap + CS_PAD);
    if (!p) return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
    r->p = p;
    r->cap = cap;
  }
  while (got < want) {
    ssize_t k = pread(r->fd, r->p + keep + got, want - got, (off_t)r->fpos);
    if (k < 0) {
      if (errno == EINTR) continue;
      return os_fail(r->err, OSIRIS_EIO, "%s: read failed: %s", r->path, strerror(errno));
    }
    if (k == 0) {
      r->eof = 1;
      break;
    }
    got += (size_t)k;
    r->fpos += (uint64_t)k;
  }
  if (r->latin1) got = cs_latin1_expand(r->p + keep, got);
  r->n = keep + got;
  memset(r->p + r->n, '\n', 1 + CS_PAD);
  return cs_check_utf8(r);
}

/* The next record (see cs_record), reading chunks as needed. */
static osiris_rc cs_next(cs_reader *r, int *got) {
  for (;;) {
    osiris_rc rc = cs_record(r, got);
    if (rc || *got != CS_MORE) return rc;
    rc = cs_refill(r);
    if (rc) return rc;
  }
}

/* Start a pass at the first byte, past a UTF-8 byte order mark. */
static osiris_rc cs_rewind(cs_reader *r) {
  osiris_rc rc = OSIRIS_OK;
  r->i = 0;
  r->line = 1;
  if (!r->whole) {
    r->n = r->checked = 0;
    r->base = r->fpos = 0;
    r->eof = 0;
    while (!rc && r->n < 3 && !r->eof) rc = cs_refill(r);
    if (rc) return rc;
  }
  if (!r->latin1 && r->n >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0) r->i = 3;
  return OSIRIS_OK;
}

/* Pass 1 stopped before the end (limit, or a record in error): the rest is
 * still checked, as the whole-file reader checked UTF-8 before parsing, so
 * an invalid byte anywhere is the error, whatever else is wrong. */
static osiris_rc cs_drain(cs_reader *r) {
  osiris_rc rc = OSIRIS_OK;
  if (r->latin1) return OSIRIS_OK;
  while (!rc && !r->eof) {
    r->i = r->checked;
    rc = cs_refill(r);
  }
  return rc;
}

/* ------------------------------------------------------ type inference */

#define CS_T_INT 1u
#define CS_T_DBL 2u
#define CS_T_BOOL 4u
#define CS_T_DATE 8u
#define CS_T_TS 16u

/* [+-]?(0|[1-9][0-9]*) within int64.  "007" is not an integer, so codes
 * with leading zeros stay text. */
static int cs_parse_i64(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  uint64_t v = 0, lim;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (i == len) return 0;
  if (s[i] == '0' && len - i > 1) return 0;
  lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    unsigned dg = (unsigned char)s[i] - '0';
    if (dg > 9) return 0;
    if (v > (lim - dg) / 10) return 0;
    v = v * 10 + dg;
  }
  if (out) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

/* [+-]?(0|[1-9]d*)?(.d*)?([eE][+-]?d+)? with at least one digit before
 * the exponent; no leading zeros, no inf/nan. */
static int cs_num_syntax(const char *s, size_t len) {
  size_t i = 0, digits = 0;
  if (i < len && (s[i] == '-' || s[i] == '+')) i++;
  if (i < len && s[i] == '0') {
    i++, digits++;
    if (i < len && s[i] >= '0' && s[i] <= '9') return 0;
  } else {
    while (i < len && s[i] >= '0' && s[i] <= '9') i++, digits++;
  }
  if (i < len && s[i] == '.') {
    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++, digits++;
  }
  if (!digits) return 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    size_t e;
    i++;
    if (i < len && (s[i] == '-' || s[i] == '+')) i++;
    for (e = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
    if (i == e) return 0;
  }
  return i == len;
}

/* Text already accepted by cs_num_syntax.  Exact fast path when the
 * mantissa fits 2^53 and the power of ten is exact (Clinger); otherwise
 * strtod_l in the C locale, whatever the process locale is. */
static double cs_parse_f64(const char *s, size_t len, locale_t c_locale) {
  static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  int neg = 0, big = 0;
  uint64_t m = 0;
  long e10 = 0, ex = 0;
  char small[128], *copy;
  double d;
  if (s[i] == '-' || s[i] == '+') neg = s[i++] == '-';
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
    if (m > (UINT64_MAX - 9) / 10) big = 1;
    else m = m * 10 + (uint64_t)(s[i] - '0');
    if (big) e10++;
  }
  if (i < len && s[i] == '.') {
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      if (m > (UINT64_MAX - 9) / 10) big = 1;
      if (!big) {
        m = m * 10 + (uint64_t)(s[i] - '0');
        e10--;
      }
    }
  }
  if (i < len) { /* exponent */
    int eneg = 0;
    i++;
    if (s[i] == '-' || s[i] == '+') eneg = s[i++] == '-';
    for (; i < len; i++) {
      if (ex < 100000) ex = ex * 10 + (s[i] - '0');
    }
    e10 += eneg ? -ex : ex;
  }
  if (!big && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
    d = (double)m;
    d = e10 < 0 ? d / p10[-e10] : d * p10[e10];
    return neg ? -d : d;
  }
  copy = len < sizeof small ? small : os_malloc(len + 1);
  if (!copy) return neg ? -0.0 : 0.0; /* unreachable in practice: validated short text */
  memcpy(copy, s, len);
  copy[len] = 0;
  d = strtod_l(copy, NULL, c_locale);
  if (copy != small) os_free(copy);
  return d;
}

static int cs_is_bool(const char *s, size_t len, int *v) {
  if (len == 4 && strncasecmp(s, "true", 4) == 0) return *v = 1, 1;
  if (len == 5 && strncasecmp(s, "false", 5) == 0) return *v = 0, 1;
  return 0;
}

typedef struct cs_table {
  const char *p;         /* decoded text */
  const uint64_t *ends;  /* cell end offsets */
  size_t rows, ncols;
  const char *const *na; /* extra NULL markers, or NULL */
  size_t *na_len;
} cs_table;

static const char *cs_cell(const cs_table *t, size_t row, size_t col, size_t *len) {
  size_t idx = row * t->ncols + col;
  uint64_t start = idx ? t->ends[idx - 1] : 0;
  *len = (size_t)(t->ends[idx] - start);
  return t->p + start;
}

static int cs_is_na(const cs_table *t, const char *s, size_t len) {
  size_t k;
  if (len == 0) return 1;
  if (!t->na) return 0;
  for (k = 0; t->na[k]; k++)
    if (t->na_len[k] == len && memcmp(t->na[k], s, len) == 0) return 1;
  return 0;
}

#define CS_T_ALL (CS_T_INT | CS_T_DBL | CS_T_BOOL | CS_T_DATE | CS_T_TS)
#define CS_T_SEEN 32u /* a non-NULL value was seen */

/* Narrow each column's set of possible types (CS_T_*) by the one record
 * of t; a column left with none is text whatever follows. */
static void cs_infer_row(const cs_table *t, unsigned *alive) {
  size_t col, len;
  int bv;
  int32_t dv;
  int64_t tv;
  for (col = 0; col < t->ncols; col++) {
    unsigned a = alive[col];
    const char *s;
    if (!(a & CS_T_ALL)) continue;
    s = cs_cell(t, 0, col, &len);
    if (cs_is_na(t, s, len)) continue;
    a |= CS_T_SEEN;
    if ((a & CS_T_INT) && !cs_parse_i64(s, len, NULL)) a &= ~CS_T_INT;
    if ((a & CS_T_DBL) && !cs_num_syntax(s, len)) a &= ~CS_T_DBL;
    if ((a & CS_T_BOOL) && !cs_is_bool(s, len, &bv)) a &= ~CS_T_BOOL;
    if ((a & CS_T_DATE) && !fr_parse_date(s, len, &dv)) a &= ~CS_T_DATE;
    if ((a & CS_T_TS) && !fr_parse_timestamp(s, len, &tv)) a &= ~CS_T_TS;
    alive[col] = a;
  }
}

/* The narrowest type every value of the column parses as. */
static osiris_type cs_type_of(unsigned alive) {
  if (!(alive & CS_T_SEEN) || !(alive & CS_T_ALL)) return OSIRIS_TYPE_STRING;
  if (alive & CS_T_INT) return OSIRIS_TYPE_INT64;
  if (alive & CS_T_DBL) return OSIRIS_TYPE_DOUBLE;
  if (alive & CS_T_BOOL) return OSIRIS_TYPE_BOOL;
  if (alive & CS_T_DATE) return OSIRIS_TYPE_DATE;
  return OSIRIS_TYPE_TIMESTAMP;
}

/* CS_T_* bits a column must have kept for every value to parse as t. */
static unsigned cs_type_bit(osiris_type t) {
  switch (t) {
  case OSIRIS_TYPE_INT64: return CS_T_INT;
  case OSIRIS_TYPE_DOUBLE: return CS_T_DBL;
  case OSIRIS_TYPE_BOOL: return CS_T_BOOL;
  case OSIRIS_TYPE_DATE: return CS_T_DATE;
  case OSIRIS_TYPE_TIMESTAMP: return CS_T_TS; /* or all dates: cs_col_type */
  default: return 0; /* STRING takes anything; DECIMAL is never read */
  }
}

/* The type of column name: the one o->dtype_types forces (every value
 * must parse as it: pass 1 saw them all), else the inferred one. */
static osiris_rc cs_col_type(const osiris_csv_opts *o, const char *path, const char *name,
                             unsigned alive, osiris_type *ty, os_err *err) {
  size_t d;
  *ty = o->infer_types ? cs_type_of(alive) : OSIRIS_TYPE_STRING;
  for (d = 0; o->dtype_cols && o->dtype_cols[d]; d++) {
    osiris_type want = o->dtype_types[d];
    unsigned bit = cs_type_bit(want);
    if (strcmp(o->dtype_cols[d], name) != 0) continue;
    if (want == OSIRIS_TYPE_DECIMAL)
      return os_fail(err, OSIRIS_EINVAL, "%s: column '%s': dtype decimal is not supported", path, name);
    if (want == OSIRIS_TYPE_TIMESTAMP) bit |= CS_T_DATE; /* dates as their midnight */
    if (bit && (alive & CS_T_SEEN) && !(alive & bit))
      return os_fail(err, OSIRIS_EPARSE, "%s: column '%s' has a value that is not %s (dtype)", path,
                     name, osiris_type_name(want));
    *ty = want;
  }
  return OSIRIS_OK;
}

/* The rows of t, column col, appended to the frame column c (typed by
 * pass 1).  OSIRIS_EIO when a value no longer parses as that type. */
static osiris_rc cs_fill(const cs_table *t, size_t col, fr_col *c, locale_t c_locale) {
  size_t r, len, total = 0;
  osiris_rc rc;
  rc = fr_col_reserve(c, c->n + t->rows);
  if (rc) return rc;
  if (c->type == OSIRIS_TYPE_STRING) {
    for (r = 0; r < t->rows; r++) {
      const char *s = cs_cell(t, r, col, &len);
      if (!cs_is_na(t, s, len)) total += len;
    }
    rc = fr_col_reserve_text(c, total);
    if (rc) return rc;
  }
  for (r = 0; r < t->rows && !rc; r++) {
    const char *s = cs_cell(t, r, col, &len);
    int64_t i64 = 0;
    int32_t i32 = 0;
    int bv = 0;
    if (cs_is_na(t, s, len)) {
      rc = fr_col_push_null(c);
      continue;
    }
    switch (c->type) {
    case OSIRIS_TYPE_INT64:
      rc = cs_parse_i64(s, len, &i64) ? fr_col_push_i64(c, i64) : OSIRIS_EIO;
      break;
    case OSIRIS_TYPE_DOUBLE:
      rc = cs_num_syntax(s, len) ? fr_col_push_f64(c, cs_parse_f64(s, len, c_locale)) : OSIRIS_EIO;
      break;
    case OSIRIS_TYPE_BOOL: rc = cs_is_bool(s, len, &bv) ? fr_col_push_i8(c, bv) : OSIRIS_EIO; break;
    case OSIRIS_TYPE_DATE:
      rc = fr_parse_date(s, len, &i32) ? fr_col_push_i32(c, i32) : OSIRIS_EIO;
      break;
    case OSIRIS_TYPE_TIMESTAMP: /* a date only where dtype forced it: its midnight */
      rc = fr_parse_timestamp(s, len, &i64)   ? fr_col_push_i64(c, i64)
           : fr_parse_date(s, len, &i32)      ? fr_col_push_i64(c, (int64_t)i32 * 86400000000)
                                              : OSIRIS_EIO;
      break;
    default: rc = fr_col_push_text(c, s, len); break;
    }
  }
  return rc;
}

/* Header names: empty ones become "Unnamed: i" and repeats "name.1",
 * "name.2", as pandas names them, so every column can be selected. */
static osiris_rc cs_unique_name(char **names, size_t i, const char *s, size_t len) {
  size_t k, suffix = 0;
  char *base = len ? os_strndup(s, len) : os_asprintf("Unnamed: %zu", i);
  char *name;
  if (!base) return OSIRIS_ENOMEM;
  name = base;
  for (;;) {
    int clash = 0;
    for (k = 0; k < i && !clash; k++) clash = strcmp(names[k], name) == 0;
    if (!clash) break;
    if (name != base) os_free(name);
    name = os_asprintf("%s.%zu", base, ++suffix);
    if (!name) {
      os_free(base);
      return OSIRIS_ENOMEM;
    }
  }
  if (name != base) os_free(base);
  names[i] = name;
  return OSIRIS_OK;
}

static void cs_copy_err(const os_err *err, char *errbuf, size_t errcap) {
  if (errbuf && errcap) snprintf(errbuf, errcap, "%s", err->msg);
}

/* Pass 2 read what pass 1 did not: the file was written in between. */
static osiris_rc cs_changed(cs_reader *r, const char *fmt, ...) OS_PRINTF(2, 3);
static osiris_rc cs_changed(cs_reader *r, const char *fmt, ...) {
  char what[OS_ERR_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return os_fail(r->err, OSIRIS_EIO, "%s changed while being read (%s)", r->path, what);
}

/* The records of pass 1 kept as the frame: skip_rows and the header are
 * read past again, then the nrows data rows go into f a batch at a time,
 * handed to on_rows between batches. */
static osiris_rc cs_build_rows(cs_reader *r, const osiris_csv_opts *o, cs_table *t,
                               const size_t *sel, osiris_frame *f, size_t nrows, locale_t c_locale,
                               unsigned char *keep, unsigned char *skip) {
  size_t skipped = 0, built = 0, pending = 0, k;
  int header = o->header, got;
  osiris_rc rc = cs_rewind(r);
  if (rc == OSIRIS_EPARSE) rc = cs_changed(r, "%s", r->err->msg);
  r->ntxt = r->nends = 0;
  while (!rc && built < nrows) {
    size_t mark = r->nends, wmark = r->ntxt, nf;
    if (pending == 0 && keep) { /* a batch starts: which columns it builds */
      memset(skip, 1, t->ncols);
      for (k = 0; k < f->ncols; k++) {
        keep[k] = o->column_used(o->on_rows_user, k) != 0;
        if (keep[k]) skip[sel[k]] = 0;
      }
      r->skip = skip;
      r->nskip = t->ncols;
    }
    rc = cs_next(r, &got);
    if (rc == OSIRIS_EPARSE) rc = cs_changed(r, "%s", r->err->msg);
    if (rc) break;
    if (!got) return cs_changed(r, "%zu data rows, then %zu", nrows, built + pending);
    nf = r->nends - mark;
    if (skipped < o->skip_rows || (header && nf == t->ncols)) {
      if (skipped < o->skip_rows) skipped++;
      else header = 0;
      r->nends = mark;
      r->ntxt = wmark;
      continue;
    }
    if (nf != t->ncols)
      return cs_changed(r, "line %zu: expected %zu fields, got %zu", r->rec_line, t->ncols, nf);
    if (++pending < CS_BATCH_ROWS && built + pending < nrows) continue;
    t->p = r->txt;
    t->ends = r->ends;
    t->rows = pending;
    for (k = 0; k < f->ncols && !rc; k++) {
      if (keep && !keep[k]) {
        size_t j;
        rc = fr_col_reserve(&f->cols[k], f->cols[k].n + pending);
        for (j = 0; j < pending && !rc; j++) rc = fr_col_push_null(&f->cols[k]);
        continue;
      }
      rc = cs_fill(t, sel[k], &f->cols[k], c_locale);
      if (rc == OSIRIS_EIO)
        return cs_changed(r, "a value of column '%s' is no longer %s", f->cols[k].name,
                          osiris_type_name(f->cols[k].type));
    }
    if (rc)
      return os_fail(r->err, rc, "%s: %s", r->path,
                     rc == OSIRIS_ENOMEM   ? "out of memory"
                     : rc == OSIRIS_ELIMIT ? "too much data for a frame"
                                           : "cannot build the frame");
    rc = fr_commit_rows(f, f->rows + pending);
    if (rc) return os_fail(r->err, rc, "%s: internal error building the frame", r->path);
    built += pending;
    pending = 0;
    r->ntxt = r->nends = 0;
    if (o->on_rows && built < nrows) {
      rc = o->on_rows(o->on_rows_user, f);
      if (rc)
        return os_fail(r->err, rc, "%s: stopped after %zu rows (%s)", r->path, built,
                       osiris_rc_name(rc));
    }
  }
  return rc;
}

/* cs_build_rows, with the columns of each batch (keep, per frame column)
 * and the fields whose text pass 2 need not keep (skip, per field of the
 * file) when o->column_used asks. */
static osiris_rc cs_build(cs_reader *r, const osiris_csv_opts *o, cs_table *t,
                          const size_t *sel, osiris_frame *f, size_t nrows, locale_t c_locale) {
  unsigned char *keep = NULL, *skip = NULL;
  osiris_rc rc;
  if (o->column_used) {
    keep = os_malloc(f->ncols + 1);
    skip = os_malloc(t->ncols + 1);
    if (!keep || !skip) {
      os_free(keep);
      os_free(skip);
      return os_fail(r->err, OSIRIS_ENOMEM, "out of memory");
    }
  }
  rc = cs_build_rows(r, o, t, sel, f, nrows, c_locale, keep, skip);
  r->skip = NULL;
  r->nskip = 0;
  os_free(keep);
  os_free(skip);
  return rc;
}

/* The reader behind osiris_csv_read (data NULL: read path) and
 * osiris_csv_read_mem (data[0..len), path only names it in messages). */
static osiris_rc cs_read(const char *path, const char *data, size_t len, const osiris_csv_opts *o,
                         osiris_frame **out, char *errbuf, size_t errcap) {
  osiris_csv_opts dflt;
  os_err err;
  cs_reader r;
  cs_table t;
  struct stat st, st2;
  char **names = NULL;
  size_t *sel = NULL, *na_len = NULL;
  unsigned *alive = NULL;
  unsigned char *dead = NULL; /* pass 1: columns whose values no longer matter (r.skip) */
  size_t ncols = 0, nsel = 0, nrows = 0, skipped = 0, k;
  int have_cols = 0;
  osiris_frame *f = NULL;
  locale_t c_locale = (locale_t)0;
  osiris_rc rc = OSIRIS_OK;

  memset(&dflt, 0, sizeof dflt);
  dflt.header = 1;
  dflt.limit = -1;
  dflt.infer_types = 1;
  if (!o) o = &dflt;
  memset(&err, 0, sizeof err);
  memset(&r, 0, sizeof r);
  memset(&t, 0, sizeof t);
  memset(&st, 0, sizeof st);
  r.fd = -1;
  if (out) *out = NULL;
  if (errbuf && errcap) errbuf[0] = 0;
  if (!path || !out || (data == NULL && len)) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_csv_read: %s and out are required",
                 data || len ? "data" : "path");
    goto done;
  }
  r.path = path;
  r.err = &err;
  r.latin1 = o->latin1 != 0;
  r.lenient_quotes = o->lenient_quotes != 0;
  r.comment = o->comment;
  r.delim = o->delimiter ? o->delimiter : ',';
  if (r.delim == '"' || r.delim == '\n' || r.delim == '\r') {
    rc = os_fail(&err, OSIRIS_EINVAL, "%s: invalid CSV delimiter", path);
    goto done;
  }
  r.stop[(unsigned char)r.delim] = r.stop['\n'] = r.stop['\r'] = 1;
  r.rep_delim = CS_ONES * (unsigned char)r.delim;
  if (o->na_values && o->na_values[0]) {
    size_t nna;
    for (nna = 0; o->na_values[nna]; nna++) {}
    na_len = os_calloc(nna, sizeof(size_t));
    if (!na_len) {
      rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    for (k = 0; k < nna; k++) na_len[k] = strlen(o->na_values[k]);
    t.na = o->na_values;
    t.na_len = na_len;
  }
  rc = data || len ? cs_open_mem(&r, data, len) : cs_open(&r, &st);
  if (rc) goto done;
  /* txt is never NULL, so fields are txt + offset even when all are empty */
  rc = cs_grow_txt(&r, 0, 1);
  if (rc) goto done;
  rc = cs_rewind(&r);
  if (rc) goto done;

  /* Pass 1: the header, the number of rows and each column's type. */
  for (;;) {
    int got;
    r.ntxt = r.nends = 0;
    rc = cs_next(&r, &got);
    if (rc == OSIRIS_EPARSE && cs_drain(&r)) rc = err.rc; /* an invalid byte wins, as above */
    if (rc) goto done;
    if (!got) break;
    if (skipped < o->skip_rows) {
      skipped++;
      continue;
    }
    if (!have_cols) {
      have_cols = 1;
      ncols = r.nends;
      names = os_calloc(ncols, sizeof(char *));
      alive = os_calloc(ncols, sizeof(unsigned));
      dead = os_calloc(ncols + 1, 1);
      if (!names || !alive || !dead) {
        rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
        goto done;
      }
      for (k = 0; k < ncols; k++) {
        alive[k] = CS_T_ALL;
        if (o->header) {
          uint64_t s = k ? r.ends[k - 1] : 0;
          /* a name is a C string: cut at the NUL it would name another column */
          if (memchr(r.txt + s, 0, (size_t)(r.ends[k] - s))) {
            rc = os_fail(&err, OSIRIS_EPARSE, "%s:%zu: the name of column %zu holds a NUL byte",
                         path, r.rec_line, k + 1);
            goto done;
          }
          rc = cs_unique_name(names, k, r.txt + s, (size_t)(r.ends[k] - s));
        } else {
          names[k] = os_asprintf("%zu", k);
          rc = names[k] ? OSIRIS_OK : OSIRIS_ENOMEM;
        }
        if (rc) {
          rc = os_fail(&err, rc, "out of memory");
          goto done;
        }
      }
      t.ncols = ncols;
      if (o->header) continue;
    }
    if (o->limit >= 0 && nrows >= (uint64_t)o->limit) {
      rc = cs_drain(&r);
      if (rc) goto done;
      break;
    }
    if (r.nends != ncols) {
      rc = os_fail(&err, OSIRIS_EPARSE, "%s:%zu: expected %zu fields, got %zu", path,
                   r.rec_line, ncols, r.nends);
      if (cs_drain(&r)) rc = err.rc; /* an invalid byte is the error, as it always was */
      goto done;
    }
    if (o->infer_types || o->dtype_cols) {
      t.p = r.txt;
      t.ends = r.ends;
      cs_infer_row(&t, alive);
    }
    /* A column no type is left for (or none is inferred) is text whatever
     * follows: the rest of pass 1 keeps no text of it. */
    for (k = 0; k < ncols; k++) dead[k] = !(o->infer_types || o->dtype_cols) || !(alive[k] & CS_T_ALL);
    r.skip = dead;
    r.nskip = ncols;
    nrows++;
  }
  r.skip = NULL;
  r.nskip = 0;

  /* The selected columns, in the order asked for. */
  if (o->columns) {
    for (nsel = 0; o->columns[nsel]; nsel++) {}
    sel = os_calloc(nsel, sizeof(size_t));
    if (!sel) {
      rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    for (k = 0; k < nsel; k++) {
      size_t j;
      for (j = 0; j < ncols && strcmp(names[j], o->columns[k]) != 0; j++) {}
      if (j == ncols) {
        os_buf msg = {0};
        ob_printf(&msg, "%s: column '%s' not found; available: ", path, o->columns[k]);
        for (j = 0; j < ncols; j++) ob_printf(&msg, "%s%s", j ? ", " : "", names[j]);
        if (!ncols) ob_puts(&msg, "(none)");
        rc = os_fail(&err, OSIRIS_EINVAL, "%s", msg.p ? msg.p : "column not found");
        ob_free(&msg);
        goto done;
      }
      sel[k] = j;
    }
  } else {
    nsel = ncols;
    sel = os_calloc(nsel, sizeof(size_t));
    if (!sel) {
      rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    for (k = 0; k < nsel; k++) sel[k] = k;
  }

  c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (!c_locale) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  f = osiris_frame_new();
  if (!f) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (k = 0; have_cols && o->dtype_cols && o->dtype_cols[k]; k++) { /* columns of the file */
    size_t j;
    for (j = 0; j < ncols && strcmp(names[j], o->dtype_cols[k]) != 0; j++) {}
    if (j == ncols) {
      rc = os_fail(&err, OSIRIS_EINVAL, "%s: dtype names column '%s', which the file does not have",
                   path, o->dtype_cols[k]);
      goto done;
    }
  }
  /* Every column first: the frame takes no new column once one holds data. */
  for (k = 0; k < nsel && !rc; k++) {
    osiris_type ty;
    rc = cs_col_type(o, path, names[sel[k]], alive[sel[k]], &ty, &err);
    if (rc) goto done;
    rc = osiris_frame_add_column(f, names[sel[k]], ty, 0);
  }
  /* Held whole, the frame is sized once. */
  for (k = 0; k < nsel && !rc && !o->on_rows; k++) rc = fr_col_reserve(&f->cols[k], nrows);
  if (rc) {
    rc = os_fail(&err, rc, "%s: %s", path, rc == OSIRIS_ENOMEM ? "out of memory" : "too much data for a frame");
    goto done;
  }

  /* Pass 2: the rows, whole at once or in batches handed to on_rows. */
  if (nrows) {
    rc = cs_build(&r, o, &t, sel, f, nrows, c_locale);
    if (rc) goto done;
  }
  if (!r.whole && nrows && (o->limit < 0 || nrows < (uint64_t)o->limit)) {
    /* Read to the end: no more rows, and the file was not written.  (Cut
     * by the limit, the rows read are checked, and a file still growing
     * after them can be read.) */
    int got;
    r.ntxt = r.nends = 0;
    rc = cs_next(&r, &got);
    if (rc == OSIRIS_EPARSE || (!rc && got)) rc = cs_changed(&r, "%zu data rows, then more", nrows);
    if (rc) goto done;
    if (fstat(r.fd, &st2) != 0 || st2.st_size != st.st_size ||
        st2.st_mtim.tv_sec != st.st_mtim.tv_sec || st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
      rc = cs_changed(&r, "its size or modification time is not the same");
      goto done;
    }
  }
  *out = f;
  f = NULL;
done:
  if (rc) cs_copy_err(&err, errbuf, errcap);
  if (c_locale) freelocale(c_locale);
  osiris_frame_free(f);
  if (names)
    for (k = 0; k < ncols; k++) os_free(names[k]);
  os_free(names);
  os_free(alive);
  os_free(dead);
  os_free(sel);
  os_free(na_len);
  if (r.fd >= 0) close(r.fd);
  os_free(r.p);
  os_free(r.txt);
  os_free(r.ends);
  return rc;
}

osiris_rc osiris_csv_read(const char *path, const osiris_csv_opts *o, osiris_frame **out,
                          char *errbuf, size_t errcap) {
  return cs_read(path, NULL, 0, o, out, errbuf, errcap);
}

osiris_rc osiris_csv_read_mem(const char *data, size_t len, const char *name,
                              const osiris_csv_opts *o, osiris_frame **out, char *errbuf,
                              size_t errcap) {
  static const char empty[1] = "";
  return cs_read(name ? name : "<memory>", data ? data : len ? NULL : empty, len, o, out, errbuf,
                 errcap);
}

/* ---------------------------------------------------------------- writer */

typedef struct cs_writer {
  int fd;
  char *buf;
  size_t len;
  int err; /* errno of the first failed write, 0 while fine */
} cs_writer;

static void cs_write_all(cs_writer *w, const char *p, size_t n) {
  while (n > 0 && !w->err) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      w->err = errno;
      return;
    }
    p += k;
    n -= (size_t)k;
  }
}

static void cs_flush(cs_writer *w) {
  cs_write_all(w, w->buf, w->len);
  w->len = 0;
}

static void cs_put(cs_writer *w, const char *s, size_t n) {
  if (n > CS_WRITE_BUF - w->len) {
    cs_flush(w);
    if (n >= CS_WRITE_BUF) {
      cs_write_all(w, s, n);
      return;
    }
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

/* 1 when s[0..n) holds the delimiter, a quote, CR or LF: eight bytes a
 * step (this scan is most of the writer's time on text columns). */
static int cs_needs_quote(const char *s, size_t n, char delim) {
  uint64_t rd = CS_ONES * (unsigned char)delim, rq = CS_ONES * '"', rn = CS_ONES * '\n',
           rr = CS_ONES * '\r';
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    if (cs_has_byte(x, rd) | cs_has_byte(x, rq) | cs_has_byte(x, rn) | cs_has_byte(x, rr))
      return 1;
  }
  for (; i < n; i++)
    if (s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r') return 1;
  return 0;
}

/* One field, quoted when it holds the delimiter, a quote, CR or LF, or
 * starts or ends with a space (readers may trim those), or starts with
 * U+FEFF (first in the file, a reader takes it for a byte order mark). */
static void cs_put_field(cs_writer *w, const char *s, size_t n, char delim, int quote_empty) {
  int quote = n == 0 ? quote_empty
                     : (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
                        (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ||
                        cs_needs_quote(s, n, delim));
  if (!quote) {
    cs_put(w, s, n);
    return;
  }
  cs_put(w, "\"", 1);
  while (n > 0) {
    const char *q = memchr(s, '"', n);
    size_t seg = q ? (size_t)(q - s) + 1 : n;
    cs_put(w, s, seg);
    if (q) cs_put(w, "\"", 1);
    s += seg;
    n -= seg;
  }
  cs_put(w, "\"", 1);
}

struct osiris_csv_writer {
  cs_writer w;
  char *path, *tmp;
  const char *eol;
  size_t eol_len;
  char delim;
  int header;
  int started; /* the first frame (and the header) went out */
  size_t ncols;
  osiris_rc rc; /* the first failure; the file is then only removed */
};

osiris_rc osiris_csv_writer_open(const char *path, const osiris_csv_opts *o,
                                 osiris_csv_writer **out, char *errbuf, size_t errcap) {
  os_err err;
  osiris_csv_writer *cw = NULL;
  char *dir = NULL;
  osiris_rc rc = OSIRIS_OK;
  memset(&err, 0, sizeof err);
  if (errbuf && errcap) errbuf[0] = 0;
  if (out) *out = NULL;
  if (!path || !*path || !out) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_csv_write: a path is required");
    goto done;
  }
  cw = os_calloc(1, sizeof *cw);
  if (!cw) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  cw->w.fd = -1;
  cw->delim = o && o->delimiter ? o->delimiter : ',';
  cw->header = o ? o->header : 1;
  cw->eol = o && o->crlf ? "\r\n" : "\n";
  cw->eol_len = strlen(cw->eol);
  if (cw->delim == '"' || cw->delim == '\n' || cw->delim == '\r') {
    rc = os_fail(&err, OSIRIS_EINVAL, "%s: invalid CSV delimiter", path);
    goto done;
  }
  dir = os_path_dirname(path);
  if (!dir) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(dir, &err);
  if (rc) goto done;
  cw->path = os_strdup(path);
  cw->w.buf = os_malloc(CS_WRITE_BUF);
  if (!cw->path || !cw->w.buf) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  cw->w.fd = os_open_output(path, &cw->tmp, &err);
  if (cw->w.fd < 0) {
    rc = err.rc;
    goto done;
  }
  *out = cw;
  cw = NULL;
done:
  if (rc) cs_copy_err(&err, errbuf, errcap);
  if (cw) {
    os_free(cw->w.buf);
    os_free(cw->path);
    os_free(cw->tmp);
    os_free(cw);
  }
  os_free(dir);
  return rc;
}

osiris_rc osiris_csv_writer_write(osiris_csv_writer *cw, const osiris_frame *f, char *errbuf,
                                  size_t errcap) {
  os_err err;
  cs_writer *w;
  char cell[64];
  size_t nrows, r, c, ncols;
  char delim;
  memset(&err, 0, sizeof err);
  if (errbuf && errcap) errbuf[0] = 0;
  if (!cw || !f) return OSIRIS_EINVAL;
  if (cw->rc) return cw->rc;
  w = &cw->w;
  delim = cw->delim;
  ncols = f->ncols;
  if (!cw->started) {
    cw->started = 1;
    cw->ncols = ncols;
    if (cw->header && ncols) {
      for (c = 0; c < ncols; c++) {
        const char *name = f->cols[c].name;
        if (c) cs_put(w, &delim, 1);
        cs_put_field(w, name, strlen(name), delim, ncols == 1);
      }
      cs_put(w, cw->eol, cw->eol_len);
    }
  } else if (ncols != cw->ncols) {
    cw->rc = os_fail(&err, OSIRIS_EINVAL, "%s: a later frame has %zu columns, the first had %zu",
                     cw->path, ncols, cw->ncols);
    cs_copy_err(&err, errbuf, errcap);
    return cw->rc;
  }
  nrows = ncols ? f->rows : 0;
  for (r = 0; r < nrows && !w->err; r++) {
    for (c = 0; c < ncols; c++) {
      const fr_col *col = &f->cols[c];
      const char *s = "";
      size_t n = 0;
      if (c) cs_put(w, &delim, 1);
      if (!fr_col_is_null(col, r)) {
        if (fr_is_text(col->type)) {
          s = fr_col_text(col, r, &n);
        } else if (col->type == OSIRIS_TYPE_DOUBLE && isnan(osiris_frame_get_double(f, c, r))) {
          n = 0; /* NaN is a missing value in CSV, as pandas writes it */
        } else {
          n = fr_fmt_cell(col, r, cell);
          s = cell;
        }
      }
      /* A lone empty field would read back as a blank line, so quote it. */
      cs_put_field(w, s, n, delim, ncols == 1);
    }
    cs_put(w, cw->eol, cw->eol_len);
  }
  if (w->err) {
    cw->rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", cw->path, strerror(w->err));
    cs_copy_err(&err, errbuf, errcap);
  }
  return cw->rc;
}

osiris_rc osiris_csv_writer_close(osiris_csv_writer *cw, int commit, char *errbuf, size_t errcap) {
  os_err err;
  osiris_rc rc;
  memset(&err, 0, sizeof err);
  if (errbuf && errcap) errbuf[0] = 0;
  if (!cw) return OSIRIS_OK;
  rc = cw->rc;
  if (commit && !rc) {
    cs_flush(&cw->w);
    if (cw->w.err) rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", cw->path, strerror(cw->w.err));
  }
  if (cw->w.fd >= 0 && close(cw->w.fd) != 0 && commit && !rc)
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", cw->path, strerror(errno));
  cw->w.fd = -1;
  if (commit && !rc && cw->tmp && rename(cw->tmp, cw->path) != 0)
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", cw->path, strerror(errno));
  if ((!commit || rc) && cw->tmp) unlink(cw->tmp);
  if (rc && err.msg[0]) cs_copy_err(&err, errbuf, errcap);
  os_free(cw->w.buf);
  os_free(cw->path);
  os_free(cw->tmp);
  os_free(cw);
  return rc;
}

osiris_rc osiris_csv_write(const char *path, const osiris_frame *f, const osiris_csv_opts *o,
                           char *errbuf, size_t errcap) {
  osiris_csv_writer *cw = NULL;
  osiris_rc rc;
  if (!f) {
    if (errbuf && errcap) snprintf(errbuf, errcap, "osiris_csv_write: path and frame are required");
    return OSIRIS_EINVAL;
  }
  rc = osiris_csv_writer_open(path, o, &cw, errbuf, errcap);
  if (rc) return rc;
  rc = osiris_csv_writer_write(cw, f, errbuf, errcap);
  if (rc) {
    osiris_csv_writer_close(cw, 0, NULL, 0);
    return rc;
  }
  return osiris_csv_writer_close(cw, 1, errbuf, errcap);
}

/* ======================================================================
 * 9. Parquet
 *
 * A writer and a reader of the Apache Parquet format for flat schemas.
 * The writer streams "PAR1", then per row group and column one chunk of
 * version-1 data pages (PLAIN values, OPTIONAL columns whose definition
 * levels are an RLE/bit-packed hybrid of width 1 behind a 4-byte length),
 * then the Thrift-compact FileMetaData, its 4-byte length and "PAR1"; it
 * writes through a fresh temporary file beside path and renames, so a failure never leaves a
 * partial file under the final name.  The reader loads the whole file and
 * trusts nothing in it: every Thrift value comes from a reader bounded by
 * the footer and a depth limit, every offset and length is checked against
 * the bytes that exist before it is used, and counts are checked against
 * one another (page values against the chunk, chunks against the row
 * group, row groups against the file) before anything is allocated from
 * them, so a malformed file is OSIRIS_EPARSE with a reason, never a read
 * out of bounds.  DECIMAL values are kept as scaled 128-bit integers
 * between the frame's canonical text and the file's big-endian bytes.
 * ====================================================================== */

#define PQ_PAGE_TARGET ((size_t)1 << 20) /* value bytes per data page */
#define PQ_DEFAULT_RG_ROWS ((size_t)1048576)
#define PQ_TDEPTH 32                     /* Thrift struct nesting */
#define PQ_MAX_COLS 100000
#define PQ_STAT_MAX 4096                 /* longer string min/max are omitted */
#define PQ_OUT_CAP ((size_t)1 << 20)

/* Parquet physical types, converted types, encodings, codecs, pages. */
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };
enum {
  PQ_CT_UTF8 = 0, PQ_CT_ENUM = 4, PQ_CT_DECIMAL = 5, PQ_CT_DATE = 6, PQ_CT_TIME_MILLIS = 7,
  PQ_CT_TIME_MICROS = 8, PQ_CT_TS_MILLIS = 9, PQ_CT_TS_MICROS = 10, PQ_CT_UINT_8 = 11,
  PQ_CT_UINT_16 = 12, PQ_CT_UINT_32 = 13, PQ_CT_UINT_64 = 14, PQ_CT_JSON = 19
};
enum {
  PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICT = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
  PQ_ENC_DELTA_BP = 5, PQ_ENC_DELTA_LBA = 6, PQ_ENC_DELTA_BA = 7, PQ_ENC_RLE_DICT = 8,
  PQ_ENC_BSS = 9
};
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICT = 2, PQ_PAGE_DATA_V2 = 3 };
/* LogicalType union members. */
enum { PQ_LT_STRING = 1, PQ_LT_ENUM = 4, PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7,
       PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10, PQ_LT_JSON = 12 };
/* Thrift compact protocol type ids. */
enum {
  PQ_T_STOP = 0, PQ_T_TRUE = 1, PQ_T_FALSE = 2, PQ_T_BYTE = 3, PQ_T_I16 = 4, PQ_T_I32 = 5,
  PQ_T_I64 = 6, PQ_T_DOUBLE = 7, PQ_T_BINARY = 8, PQ_T_LIST = 9, PQ_T_SET = 10, PQ_T_MAP = 11,
  PQ_T_STRUCT = 12
};

/* 128-bit integers for DECIMAL(<=38); both compilers we build with have them. */
__extension__ typedef __int128 pq_i128;
__extension__ typedef unsigned __int128 pq_u128;

static const char *pq_codec_name(int64_t c) {
  static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                      "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
  return c >= 0 && c < 8 ? names[c] : "unknown";
}

/* ------------------------------------------------------------ byte order */

static void pq_le32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}
static void pq_le64(unsigned char *p, uint64_t v) {
  pq_le32(p, (uint32_t)v);
  pq_le32(p + 4, (uint32_t)(v >> 32));
}
static uint32_t pq_rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t pq_rd64(const unsigned char *p) {
  return (uint64_t)pq_rd32(p) | (uint64_t)pq_rd32(p + 4) << 32;
}
static uint64_t pq_zigzag(int64_t v) {
  return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}
static int64_t pq_unzigzag(uint64_t u) {
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Unsigned LEB128 from [*p, end); 0 when truncated or longer than 64 bits. */
static int pq_uvarint(const unsigned char **p, const unsigned char *end, uint64_t *out) {
  uint64_t v = 0;
  int shift = 0;
  const unsigned char *q = *p;
  while (q < end) {
    unsigned b = *q++;
    if (shift == 63 && b > 1) return 0;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *p = q;
      *out = v;
      return 1;
    }
    shift += 7;
    if (shift > 63) return 0;
  }
  return 0;
}

/* -------------------------------------------------------------- decimals */

static pq_u128 pq_pow10(int k) {
  pq_u128 v = 1;
  while (k-- > 0) v *= 10;
  return v;
}

/* Frame decimal text ("-12.5") as an integer scaled by 10^scale.  Extra
 * fraction digits are accepted only when they are zeros (no rounding:
 * the value must stay exact).  Returns 0, or a static reason. */
static const char *pq_dec_parse(const char *s, size_t n, int scale, pq_i128 *out) {
  pq_u128 mag = 0, lim = pq_pow10(38);
  size_t i = 0;
  int neg = 0, frac = 0, seen_point = 0, digits = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < n; i++) {
    char ch = s[i];
    if (ch == '.' && !seen_point) {
      seen_point = 1;
      continue;
    }
    if (ch < '0' || ch > '9') return "not a decimal number";
    digits++;
    if (seen_point && frac >= scale) {
      if (ch != '0') return "more fraction digits than the column scale";
      continue;
    }
    if (seen_point) frac++;
    mag = mag * 10 + (pq_u128)(ch - '0');
    if (mag >= lim) return "more than 38 digits";
  }
  if (!digits) return "not a decimal number";
  for (; frac < scale; frac++) {
    mag *= 10;
    if (mag >= lim) return "more than 38 digits";
  }
  *out = neg ? -(pq_i128)mag : (pq_i128)mag;
  return NULL;
}

/* Canonical text of v / 10^scale into out (>= 44 bytes): exactly scale
 * fraction digits, a leading "0", "-" only for nonzero values. */
static size_t pq_dec_format(pq_i128 v, int scale, char *out) {
  char tmp[48];
  size_t nd = 0, n = 0, i;
  pq_u128 mag = v < 0 ? (pq_u128)0 - (pq_u128)v : (pq_u128)v;
  if (mag >> 64 == 0) {
    uint64_t m = (uint64_t)mag;
    do {
      tmp[nd++] = (char)('0' + m % 10);
      m /= 10;
    } while (m);
  } else {
    do {
      tmp[nd++] = (char)('0' + (int)(mag % 10));
      mag /= 10;
    } while (mag);
  }
  while (nd <= (size_t)scale) tmp[nd++] = '0';
  if (v < 0) out[n++] = '-';
  for (i = nd; i > (size_t)scale; i--) out[n++] = tmp[i - 1];
  if (scale > 0) {
    out[n++] = '.';
    for (i = (size_t)scale; i > 0; i--) out[n++] = tmp[i - 1];
  }
  out[n] = 0;
  return n;
}

/* Bytes of the smallest two's complement field holding 10^p - 1. */
static int pq_dec_bytes(int precision) {
  pq_u128 max = pq_pow10(precision) - 1;
  int n;
  for (n = 1; n < 16; n++)
    if (max < ((pq_u128)1 << (8 * n - 1))) return n;
  return 16;
}

static int pq_dec_digits(pq_i128 v) {
  pq_u128 mag = v < 0 ? (pq_u128)0 - (pq_u128)v : (pq_u128)v;
  int d = 0;
  while (mag) {
    mag /= 10;
    d++;
  }
  return d;
}

static void pq_dec_store(pq_i128 v, int nbytes, unsigned char *out) {
  pq_u128 u = (pq_u128)v;
  int i;
  for (i = nbytes - 1; i >= 0; i--) {
    out[i] = (unsigned char)u;
    u >>= 8;
  }
}

/* Big-endian two's complement of any length; 0 when it needs > 128 bits. */
static int pq_dec_load(const unsigned char *p, size_t n, pq_i128 *out) {
  pq_u128 u;
  size_t i;
  if (n == 0) {
    *out = 0;
    return 1;
  }
  if (n > 16) {
    /* Wider fields are fine when the extra bytes only extend the sign. */
    unsigned char ext = (p[n - 16] & 0x80) ? 0xFF : 0x00;
    for (i = 0; i < n - 16; i++)
      if (p[i] != ext) return 0;
    p += n - 16;
    n = 16;
  }
  u = (p[0] & 0x80) ? ~(pq_u128)0 : 0;
  for (i = 0; i < n; i++) u = (u << 8) | p[i];
  *out = (pq_i128)u;
  return 1;
}

/* ================================================================ writer */

/* Thrift compact writer over an os_buf; the first failure sticks. */
typedef struct pq_tw {
  os_buf *b;
  osiris_rc rc;
  int depth;
  int last[PQ_TDEPTH];
} pq_tw;

static void pq_tw_raw(pq_tw *w, const void *p, size_t n) {
  if (!w->rc) w->rc = ob_put(w->b, p, n);
}

static void pq_tw_byte(pq_tw *w, unsigned v) {
  unsigned char c = (unsigned char)v;
  pq_tw_raw(w, &c, 1);
}

static void pq_tw_varint(pq_tw *w, uint64_t v) {
  unsigned char t[10];
  size_t n = 0;
  while (v >= 0x80) {
    t[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  t[n++] = (unsigned char)v;
  pq_tw_raw(w, t, n);
}

static void pq_tw_field(pq_tw *w, int id, int type) {
  int last = w->last[w->depth];
  if (id > last && id - last <= 15) {
    pq_tw_byte(w, (unsigned)((id - last) << 4 | type));
  } else {
    pq_tw_byte(w, (unsigned)type);
    pq_tw_varint(w, pq_zigzag(id));
  }
  w->last[w->depth] = id;
}

static void pq_tw_i32(pq_tw *w, int id, int64_t v) {
  pq_tw_field(w, id, PQ_T_I32);
  pq_tw_varint(w, pq_zigzag(v));
}

static void pq_tw_i64(pq_tw *w, int id, int64_t v) {
  pq_tw_field(w, id, PQ_T_I64);
  pq_tw_varint(w, pq_zigzag(v));
}

static void pq_tw_bin(pq_tw *w, int id, const void *p, size_t n) {
  pq_tw_field(w, id, PQ_T_BINARY);
  pq_tw_varint(w, n);
  pq_tw_raw(w, p, n);
}

static void pq_tw_bool(pq_tw *w, int id, int v) { pq_tw_field(w, id, v ? PQ_T_TRUE : PQ_T_FALSE); }

/* A struct value: as field id (id > 0) or as a list element (id 0). */
static void pq_tw_begin(pq_tw *w, int id) {
  if (id > 0) pq_tw_field(w, id, PQ_T_STRUCT);
  if (w->depth + 1 >= PQ_TDEPTH) {
    if (!w->rc) w->rc = OSIRIS_ELIMIT;
    return;
  }
  w->last[++w->depth] = 0;
}

static void pq_tw_end(pq_tw *w) {
  pq_tw_byte(w, PQ_T_STOP);
  if (w->depth > 0) w->depth--;
}

static void pq_tw_list(pq_tw *w, int id, int etype, size_t n) {
  pq_tw_field(w, id, PQ_T_LIST);
  if (n < 15) {
    pq_tw_byte(w, (unsigned)(n << 4 | (size_t)etype));
  } else {
    pq_tw_byte(w, (unsigned)(0xF0 | etype));
    pq_tw_varint(w, n);
  }
}

/* Buffered output to the temporary file; the first failure sticks. */
typedef struct pq_out {
  int fd;
  unsigned char *buf;
  size_t len;
  uint64_t pos; /* bytes written so far, buffered included */
  int err;      /* errno of the first failure, -1 for ENOMEM */
} pq_out;

static void pq_out_flush(pq_out *o) {
  size_t off = 0;
  while (!o->err && off < o->len) {
    ssize_t w = write(o->fd, o->buf + off, o->len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      o->err = errno ? errno : EIO;
      break;
    }
    off += (size_t)w;
  }
  o->len = 0;
}

static void pq_out_put(pq_out *o, const void *p, size_t n) {
  const unsigned char *s = p;
  o->pos += n;
  while (n > 0 && !o->err) {
    size_t take = PQ_OUT_CAP - o->len;
    if (take > n) take = n;
    memcpy(o->buf + o->len, s, take);
    o->len += take;
    s += take;
    n -= take;
    if (o->len == PQ_OUT_CAP) pq_out_flush(o);
  }
}

/* A growable byte array for page bodies (reused across pages). */
typedef struct pq_bytes {
  unsigned char *p;
  size_t len, cap;
} pq_bytes;

static osiris_rc pq_bytes_reserve(pq_bytes *b, size_t extra) {
  size_t need, cap;
  unsigned char *p;
  if (extra > OS_MAX_BUF || b->len > OS_MAX_BUF - extra) return OSIRIS_ELIMIT;
  need = b->len + extra;
  if (need <= b->cap) return OSIRIS_OK;
  cap = b->cap ? b->cap : 4096;
  while (cap < need) cap = cap > OS_MAX_BUF / 2 ? need : cap * 2;
  p = os_realloc(b->p, cap);
  if (!p) return OSIRIS_ENOMEM;
  b->p = p;
  b->cap = cap;
  return OSIRIS_OK;
}

/* Per column chunk facts the footer needs. */
typedef struct pq_chunk {
  uint64_t off, size, nulls;
  int has_mm;
  const unsigned char *minp, *maxp; /* strings: into the frame; else NULL */
  size_t minlen, maxlen;
  unsigned char minb[16], maxb[16];
} pq_chunk;

/* Per column facts fixed for the whole file. */
typedef struct pq_wcol {
  const fr_col *c;
  int ptype;
  int flba;      /* DECIMAL byte width */
  int precision; /* DECIMAL precision */
} pq_wcol;

typedef struct pq_writer {
  const osiris_frame *f;
  pq_wcol *cols;
  pq_out out;
  pq_bytes vals;
  os_err *err;
} pq_writer;

/* The hybrid encoding of one page's definition levels (width 1): a single
 * RLE run when all values agree, else one bit-packed run over the bitmap
 * the page loop built (padded to a multiple of 8 with zeros). */
static osiris_rc pq_levels_encode(pq_bytes *dst, const unsigned char *bits, size_t n, size_t nulls) {
  unsigned char t[12];
  size_t k = 0, groups = (n + 7) / 8;
  uint64_t h = nulls == 0 || nulls == n ? (uint64_t)n << 1 : (uint64_t)groups << 1 | 1;
  osiris_rc rc;
  dst->len = 0;
  while (h >= 0x80) {
    t[k++] = (unsigned char)(h | 0x80);
    h >>= 7;
  }
  t[k++] = (unsigned char)h;
  if (nulls == 0 || nulls == n) t[k++] = nulls == 0 ? 1 : 0;
  rc = pq_bytes_reserve(dst, k + groups + 4);
  if (rc) return rc;
  pq_le32(dst->p, 0); /* length, filled below */
  memcpy(dst->p + 4, t, k);
  dst->len = 4 + k;
  if (nulls != 0 && nulls != n) {
    memcpy(dst->p + dst->len, bits, groups);
    dst->len += groups;
  }
  pq_le32(dst->p, (uint32_t)(dst->len - 4));
  return OSIRIS_OK;
}

static osiris_rc pq_write_page(pq_writer *W, const pq_bytes *levels, size_t nvals, size_t vbytes) {
  os_buf hb = {0};
  pq_tw w;
  size_t body = levels->len + vbytes;
  osiris_rc rc;
  if (body > INT32_MAX) return os_fail(W->err, OSIRIS_ELIMIT, "a Parquet page exceeds 2 GiB");
  memset(&w, 0, sizeof w);
  w.b = &hb;
  pq_tw_i32(&w, 1, PQ_PAGE_DATA);
  pq_tw_i32(&w, 2, (int64_t)body);
  pq_tw_i32(&w, 3, (int64_t)body);
  pq_tw_begin(&w, 5);
  pq_tw_i32(&w, 1, (int64_t)nvals);
  pq_tw_i32(&w, 2, PQ_ENC_PLAIN);
  pq_tw_i32(&w, 3, PQ_ENC_RLE);
  pq_tw_i32(&w, 4, PQ_ENC_RLE);
  pq_tw_end(&w);
  pq_tw_byte(&w, PQ_T_STOP);
  rc = w.rc;
  if (!rc) {
    pq_out_put(&W->out, hb.p, hb.len);
    pq_out_put(&W->out, levels->p, levels->len);
    pq_out_put(&W->out, W->vals.p, vbytes);
  }
  ob_free(&hb);
  return rc ? os_fail(W->err, rc, "out of memory") : OSIRIS_OK;
}

/* Stats helpers: compare encoded little-endian / big-endian values. */
static void pq_mm_i64(pq_chunk *ck, int64_t v, int first) {
  int64_t mn, mx;
  memcpy(&mn, ck->minb, 8);
  memcpy(&mx, ck->maxb, 8);
  if (first || v < mn) memcpy(ck->minb, &v, 8);
  if (first || v > mx) memcpy(ck->maxb, &v, 8);
}

/* Write rows [r0, r1) of column ci as one column chunk. */
static osiris_rc pq_write_chunk(pq_writer *W, const pq_wcol *wc, size_t r0, size_t r1, pq_chunk *ck) {
  const fr_col *c = wc->c;
  pq_bytes *vals = &W->vals;
  pq_bytes levels = {0};
  unsigned char *bits = NULL;
  size_t r = r0, bits_cap = 0;
  int seen = 0;                  /* a non-null value updated min/max */
  double dmin = 0, dmax = 0;     /* DOUBLE stats (NaN skipped) */
  pq_i128 qmin = 0, qmax = 0;    /* DECIMAL stats */
  int8_t bmin = 1, bmax = 0;
  int32_t imin = 0, imax = 0;
  osiris_rc rc = OSIRIS_OK;
  memset(ck, 0, sizeof *ck);
  ck->off = W->out.pos;
  while (r < r1) {
    size_t start = r, n, nulls = 0, nbits = 0;
    vals->len = 0;
    for (; r < r1 && vals->len < PQ_PAGE_TARGET; r++) {
      size_t i = r - start;
      int isnull = fr_col_is_null(c, r);
      if ((i >> 3) >= bits_cap) {
        size_t cap = bits_cap ? bits_cap * 2 : 4096;
        unsigned char *p = os_realloc(bits, cap);
        if (!p) {
          rc = os_fail(W->err, OSIRIS_ENOMEM, "out of memory");
          goto done;
        }
        memset(p + bits_cap, 0, cap - bits_cap);
        bits = p;
        bits_cap = cap;
      }
      if (isnull) {
        nulls++;
        continue;
      }
      bits[i >> 3] |= (unsigned char)(1u << (i & 7));
      if ((rc = pq_bytes_reserve(vals, 24)) != OSIRIS_OK) {
        os_fail(W->err, rc, "out of memory");
        goto done;
      }
      switch (c->type) {
      case OSIRIS_TYPE_BOOL: {
        int v = c->data[r] != 0;
        if ((nbits & 7) == 0) vals->p[vals->len++] = 0;
        if (v) vals->p[vals->len - 1] |= (unsigned char)(1u << (nbits & 7));
        nbits++;
        if (v < bmin) bmin = (int8_t)v;
        if (v > bmax) bmax = (int8_t)v;
        seen = 1;
        break;
      }
      case OSIRIS_TYPE_INT64:
      case OSIRIS_TYPE_TIMESTAMP: {
        int64_t v;
        memcpy(&v, c->data + r * 8, 8);
        pq_le64(vals->p + vals->len, (uint64_t)v);
        vals->len += 8;
        pq_mm_i64(ck, v, !seen);
        seen = 1;
        break;
      }
      case OSIRIS_TYPE_DOUBLE: {
        double v;
        uint64_t u;
        memcpy(&v, c->data + r * 8, 8);
        memcpy(&u, &v, 8);
        pq_le64(vals->p + vals->len, u);
        vals->len += 8;
        if (!isnan(v)) {
          if (!seen || v < dmin) dmin = v;
          if (!seen || v > dmax) dmax = v;
          seen = 1;
        }
        break;
      }
      case OSIRIS_TYPE_DATE: {
        int32_t v;
        memcpy(&v, c->data + r * 4, 4);
        pq_le32(vals->p + vals->len, (uint32_t)v);
        vals->len += 4;
        if (!seen || v < imin) imin = v;
        if (!seen || v > imax) imax = v;
        seen = 1;
        break;
      }
      case OSIRIS_TYPE_STRING: {
        size_t len;
        const char *s = fr_col_text(c, r, &len);
        if (len > UINT32_MAX) {
          rc = os_fail(W->err, OSIRIS_ELIMIT, "column %s: a string exceeds 4 GiB", c->name);
          goto done;
        }
        if ((rc = pq_bytes_reserve(vals, len + 4)) != OSIRIS_OK) {
          os_fail(W->err, rc, "out of memory");
          goto done;
        }
        pq_le32(vals->p + vals->len, (uint32_t)len);
        if (len) memcpy(vals->p + vals->len + 4, s, len);
        vals->len += 4 + len;
        if (!seen) {
          ck->minp = ck->maxp = (const unsigned char *)s;
          ck->minlen = ck->maxlen = len;
        } else {
          size_t m = len < ck->minlen ? len : ck->minlen;
          int cmp = m ? memcmp(s, ck->minp, m) : 0;
          if (cmp < 0 || (cmp == 0 && len < ck->minlen)) {
            ck->minp = (const unsigned char *)s;
            ck->minlen = len;
          }
          m = len < ck->maxlen ? len : ck->maxlen;
          cmp = m ? memcmp(s, ck->maxp, m) : 0;
          if (cmp > 0 || (cmp == 0 && len > ck->maxlen)) {
            ck->maxp = (const unsigned char *)s;
            ck->maxlen = len;
          }
        }
        seen = 1;
        break;
      }
      case OSIRIS_TYPE_DECIMAL: {
        size_t len;
        const char *s = fr_col_text(c, r, &len);
        pq_i128 v;
        const char *why = pq_dec_parse(s, len, c->scale, &v);
        if (why) {
          rc = os_fail(W->err, OSIRIS_EINVAL, "column %s row %zu: decimal %.*s: %s", c->name, r,
                       (int)(len > 60 ? 60 : len), s, why);
          goto done;
        }
        pq_dec_store(v, wc->flba, vals->p + vals->len);
        vals->len += (size_t)wc->flba;
        if (!seen || v < qmin) qmin = v;
        if (!seen || v > qmax) qmax = v;
        seen = 1;
        break;
      }
      }
    }
    n = r - start;
    ck->nulls += nulls;
    if ((rc = pq_levels_encode(&levels, bits, n, nulls)) != OSIRIS_OK) {
      os_fail(W->err, rc, "out of memory");
      goto done;
    }
    memset(bits, 0, (n + 7) / 8);
    if ((rc = pq_write_page(W, &levels, n, vals->len)) != OSIRIS_OK) goto done;
  }
  ck->size = W->out.pos - ck->off;
  ck->has_mm = seen;
  switch (c->type) {
  case OSIRIS_TYPE_BOOL:
    ck->minb[0] = (unsigned char)bmin, ck->maxb[0] = (unsigned char)bmax;
    ck->minlen = ck->maxlen = 1;
    break;
  case OSIRIS_TYPE_INT64:
  case OSIRIS_TYPE_TIMESTAMP: {
    int64_t a, b;
    memcpy(&a, ck->minb, 8), memcpy(&b, ck->maxb, 8);
    pq_le64(ck->minb, (uint64_t)a), pq_le64(ck->maxb, (uint64_t)b);
    ck->minlen = ck->maxlen = 8;
    break;
  }
  case OSIRIS_TYPE_DOUBLE: {
    uint64_t a, b;
    /* Spec: a zero minimum is written as -0.0, a zero maximum as +0.0. */
    if (dmin == 0) dmin = -0.0;
    if (dmax == 0) dmax = 0.0;
    memcpy(&a, &dmin, 8), memcpy(&b, &dmax, 8);
    pq_le64(ck->minb, a), pq_le64(ck->maxb, b);
    ck->minlen = ck->maxlen = 8;
    break;
  }
  case OSIRIS_TYPE_DATE:
    pq_le32(ck->minb, (uint32_t)imin), pq_le32(ck->maxb, (uint32_t)imax);
    ck->minlen = ck->maxlen = 4;
    break;
  case OSIRIS_TYPE_DECIMAL:
    pq_dec_store(qmin, wc->flba, ck->minb), pq_dec_store(qmax, wc->flba, ck->maxb);
    ck->minlen = ck->maxlen = (size_t)wc->flba;
    break;
  case OSIRIS_TYPE_STRING:
    if (ck->minlen > PQ_STAT_MAX || ck->maxlen > PQ_STAT_MAX) ck->has_mm = 0;
    break;
  }
done:
  os_free(bits);
  os_free(levels.p);
  return rc;
}

static void pq_write_schema_leaf(pq_tw *w, const pq_wcol *wc) {
  const fr_col *c = wc->c;
  pq_tw_begin(w, 0);
  pq_tw_i32(w, 1, wc->ptype);
  if (wc->ptype == PQ_FLBA) pq_tw_i32(w, 2, wc->flba);
  pq_tw_i32(w, 3, 1); /* OPTIONAL */
  pq_tw_bin(w, 4, c->name, strlen(c->name));
  switch (c->type) {
  case OSIRIS_TYPE_STRING:
    pq_tw_i32(w, 6, PQ_CT_UTF8);
    pq_tw_begin(w, 10);
    pq_tw_begin(w, PQ_LT_STRING);
    pq_tw_end(w);
    pq_tw_end(w);
    break;
  case OSIRIS_TYPE_DATE:
    pq_tw_i32(w, 6, PQ_CT_DATE);
    pq_tw_begin(w, 10);
    pq_tw_begin(w, PQ_LT_DATE);
    pq_tw_end(w);
    pq_tw_end(w);
    break;
  case OSIRIS_TYPE_TIMESTAMP:
    pq_tw_i32(w, 6, PQ_CT_TS_MICROS);
    pq_tw_begin(w, 10);
    pq_tw_begin(w, PQ_LT_TIMESTAMP);
    pq_tw_bool(w, 1, 1); /* isAdjustedToUTC */
    pq_tw_begin(w, 2);   /* unit */
    pq_tw_begin(w, 2);   /* MICROS */
    pq_tw_end(w);
    pq_tw_end(w);
    pq_tw_end(w);
    pq_tw_end(w);
    break;
  case OSIRIS_TYPE_DECIMAL:
    pq_tw_i32(w, 6, PQ_CT_DECIMAL);
    pq_tw_i32(w, 7, c->scale);
    pq_tw_i32(w, 8, wc->precision);
    pq_tw_begin(w, 10);
    pq_tw_begin(w, PQ_LT_DECIMAL);
    pq_tw_i32(w, 1, c->scale);
    pq_tw_i32(w, 2, wc->precision);
    pq_tw_end(w);
    pq_tw_end(w);
    break;
  default: break;
  }
  pq_tw_end(w);
}

static osiris_rc pq_write_footer(pq_writer *W, const pq_chunk *chunks, size_t nrg, size_t rg_rows) {
  const osiris_frame *f = W->f;
  os_buf b = {0};
  pq_tw w;
  size_t g, i;
  unsigned char tail[8];
  osiris_rc rc;
  memset(&w, 0, sizeof w);
  w.b = &b;
  pq_tw_i32(&w, 1, 1);
  pq_tw_list(&w, 2, PQ_T_STRUCT, f->ncols + 1);
  pq_tw_begin(&w, 0);
  pq_tw_bin(&w, 4, "schema", 6);
  pq_tw_i32(&w, 5, (int64_t)f->ncols);
  pq_tw_end(&w);
  for (i = 0; i < f->ncols; i++) pq_write_schema_leaf(&w, &W->cols[i]);
  pq_tw_i64(&w, 3, (int64_t)f->rows);
  pq_tw_list(&w, 4, PQ_T_STRUCT, nrg);
  for (g = 0; g < nrg; g++) {
    size_t rows = g + 1 < nrg ? rg_rows : f->rows - g * rg_rows;
    uint64_t total = 0;
    for (i = 0; i < f->ncols; i++) total += chunks[g * f->ncols + i].size;
    pq_tw_begin(&w, 0);
    pq_tw_list(&w, 1, PQ_T_STRUCT, f->ncols);
    for (i = 0; i < f->ncols; i++) {
      const pq_chunk *ck = &chunks[g * f->ncols + i];
      const pq_wcol *wc = &W->cols[i];
      pq_tw_begin(&w, 0);
      pq_tw_i64(&w, 2, 0); /* file_offset: deprecated, 0 = no outside metadata */
      pq_tw_begin(&w, 3);
      pq_tw_i32(&w, 1, wc->ptype);
      pq_tw_list(&w, 2, PQ_T_I32, 2);
      pq_tw_varint(&w, pq_zigzag(PQ_ENC_PLAIN));
      pq_tw_varint(&w, pq_zigzag(PQ_ENC_RLE));
      pq_tw_list(&w, 3, PQ_T_BINARY, 1);
      pq_tw_varint(&w, strlen(wc->c->name));
      pq_tw_raw(&w, wc->c->name, strlen(wc->c->name));
      pq_tw_i32(&w, 4, 0); /* UNCOMPRESSED */
      pq_tw_i64(&w, 5, (int64_t)rows);
      pq_tw_i64(&w, 6, (int64_t)ck->size);
      pq_tw_i64(&w, 7, (int64_t)ck->size);
      pq_tw_i64(&w, 9, (int64_t)ck->off);
      pq_tw_begin(&w, 12);
      pq_tw_i64(&w, 3, (int64_t)ck->nulls);
      if (ck->has_mm) {
        pq_tw_bin(&w, 5, ck->maxp ? ck->maxp : ck->maxb, ck->maxlen);
        pq_tw_bin(&w, 6, ck->minp ? ck->minp : ck->minb, ck->minlen);
      }
      pq_tw_end(&w);
      pq_tw_end(&w);
      pq_tw_end(&w);
    }
    pq_tw_i64(&w, 2, (int64_t)total);
    pq_tw_i64(&w, 3, (int64_t)rows);
    pq_tw_i64(&w, 5, (int64_t)chunks[g * f->ncols].off);
    pq_tw_i64(&w, 6, (int64_t)total);
    if (g <= INT16_MAX) {
      pq_tw_field(&w, 7, PQ_T_I16);
      pq_tw_varint(&w, pq_zigzag((int64_t)g));
    }
    pq_tw_end(&w);
  }
  pq_tw_bin(&w, 6, "osiris " OSIRIS_VERSION, strlen("osiris " OSIRIS_VERSION));
  pq_tw_list(&w, 7, PQ_T_STRUCT, f->ncols);
  for (i = 0; i < f->ncols; i++) {
    pq_tw_begin(&w, 0);
    pq_tw_begin(&w, 1); /* TYPE_ORDER */
    pq_tw_end(&w);
    pq_tw_end(&w);
  }
  pq_tw_byte(&w, PQ_T_STOP);
  rc = w.rc;
  if (!rc && b.len > UINT32_MAX) rc = OSIRIS_ELIMIT;
  if (!rc) {
    pq_out_put(&W->out, b.p, b.len);
    pq_le32(tail, (uint32_t)b.len);
    memcpy(tail + 4, "PAR1", 4);
    pq_out_put(&W->out, tail, 8);
  }
  ob_free(&b);
  return rc ? os_fail(W->err, rc, "Parquet footer: %s", rc == OSIRIS_ENOMEM ? "out of memory" : "too large") : OSIRIS_OK;
}

/* Fix each column's physical type; DECIMAL precision is the most digits
 * any value has (at least the scale, at least 1), so the byte width is the
 * smallest that holds every value of that precision. */
static osiris_rc pq_plan_columns(pq_writer *W) {
  const osiris_frame *f = W->f;
  size_t i, r;
  for (i = 0; i < f->ncols; i++) {
    pq_wcol *wc = &W->cols[i];
    const fr_col *c = &f->cols[i];
    wc->c = c;
    switch (c->type) {
    case OSIRIS_TYPE_BOOL: wc->ptype = PQ_BOOLEAN; break;
    case OSIRIS_TYPE_INT64:
    case OSIRIS_TYPE_TIMESTAMP: wc->ptype = PQ_INT64; break;
    case OSIRIS_TYPE_DOUBLE: wc->ptype = PQ_DOUBLE; break;
    case OSIRIS_TYPE_DATE: wc->ptype = PQ_INT32; break;
    case OSIRIS_TYPE_STRING: wc->ptype = PQ_BYTE_ARRAY; break;
    case OSIRIS_TYPE_DECIMAL: {
      int prec = c->scale > 1 ? c->scale : 1;
      wc->ptype = PQ_FLBA;
      for (r = 0; r < f->rows; r++) {
        size_t len;
        const char *s;
        pq_i128 v;
        const char *why;
        int d;
        if (fr_col_is_null(c, r)) continue;
        s = fr_col_text(c, r, &len);
        why = pq_dec_parse(s, len, c->scale, &v);
        if (why)
          return os_fail(W->err, OSIRIS_EINVAL, "column %s row %zu: decimal %.*s: %s", c->name, r,
                         (int)(len > 60 ? 60 : len), s, why);
        d = pq_dec_digits(v);
        if (d > prec) prec = d;
      }
      wc->precision = prec;
      wc->flba = pq_dec_bytes(prec);
      break;
    }
    default: return os_fail(W->err, OSIRIS_EINVAL, "column %s: unknown type", c->name);
    }
  }
  return OSIRIS_OK;
}

static void pq_errcopy(const os_err *e, char *errbuf, size_t errcap) {
  if (errbuf && errcap) snprintf(errbuf, errcap, "%s", e->msg);
}

osiris_rc osiris_parquet_write(const char *path, const osiris_frame *f,
                               const osiris_parquet_opts *opts, char *errbuf, size_t errcap) {
  os_err err = {0};
  pq_writer W;
  pq_chunk *chunks = NULL;
  char *tmp = NULL, *dir = NULL;
  size_t rg_rows = opts && opts->row_group_rows ? opts->row_group_rows : PQ_DEFAULT_RG_ROWS;
  size_t nrg, g, i;
  osiris_rc rc = OSIRIS_OK;
  memset(&W, 0, sizeof W);
  W.out.fd = -1;
  W.err = &err;
  W.f = f;
  if (!path || !*path || !f) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_parquet_write: path and frame are required");
    goto done;
  }
  nrg = f->rows / rg_rows + (f->rows % rg_rows != 0);
  if (f->ncols && nrg > SIZE_MAX / f->ncols / sizeof(pq_chunk)) {
    rc = os_fail(&err, OSIRIS_ELIMIT, "%s: too many row groups", path);
    goto done;
  }
  W.cols = os_calloc(f->ncols ? f->ncols : 1, sizeof(pq_wcol));
  chunks = os_calloc(nrg * f->ncols + 1, sizeof(pq_chunk));
  W.out.buf = os_malloc(PQ_OUT_CAP);
  dir = os_path_dirname(path);
  if (!W.cols || !chunks || !W.out.buf || !dir) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = pq_plan_columns(&W)) != OSIRIS_OK) goto done;
  if ((rc = os_mkdir_p(dir, &err)) != OSIRIS_OK) goto done;
  W.out.fd = os_open_output(path, &tmp, &err);
  if (W.out.fd < 0) {
    rc = err.rc;
    goto done;
  }
  pq_out_put(&W.out, "PAR1", 4);
  for (g = 0; g < nrg && !W.out.err; g++) {
    size_t r0 = g * rg_rows, r1 = r0 + rg_rows < f->rows ? r0 + rg_rows : f->rows;
    for (i = 0; i < f->ncols; i++)
      if ((rc = pq_write_chunk(&W, &W.cols[i], r0, r1, &chunks[g * f->ncols + i])) != OSIRIS_OK)
        goto done;
  }
  if ((rc = pq_write_footer(&W, chunks, nrg, rg_rows)) != OSIRIS_OK) goto done;
  pq_out_flush(&W.out);
  if (W.out.err) {
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(W.out.err));
    goto done;
  }
  if (close(W.out.fd) != 0) {
    W.out.fd = -1;
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto done;
  }
  W.out.fd = -1;
  if (tmp && rename(tmp, path) != 0) rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
done:
  if (W.out.fd >= 0) close(W.out.fd);
  if (rc && tmp) unlink(tmp);
  if (rc) pq_errcopy(&err, errbuf, errcap);
  else if (errbuf && errcap) errbuf[0] = 0;
  os_free(W.out.buf);
  os_free(W.vals.p);
  os_free(W.cols);
  os_free(chunks);
  os_free(tmp);
  os_free(dir);
  return rc;
}

/* ================================================================ reader */

/* Bounded Thrift compact reader; the first failure sticks in why. */
typedef struct pq_tr {
  const unsigned char *p, *end;
  int depth;
  const char *why;
} pq_tr;

static int pq_tr_fail(pq_tr *t, const char *why) {
  if (!t->why) t->why = why;
  t->p = t->end;
  return 0;
}

static uint64_t pq_tr_uvarint(pq_tr *t) {
  uint64_t v = 0;
  if (t->why) return 0;
  if (!pq_uvarint(&t->p, t->end, &v)) pq_tr_fail(t, "bad varint in metadata");
  return v;
}

static unsigned pq_tr_u8(pq_tr *t) {
  if (t->why) return 0;
  if (t->p >= t->end) return (unsigned)pq_tr_fail(t, "metadata truncated");
  return *t->p++;
}

/* Next field header of the current struct: 0 at STOP or on failure. */
static int pq_tr_field(pq_tr *t, int *last, int *type, int *id) {
  unsigned b = pq_tr_u8(t);
  if (t->why || b == 0) return 0;
  *type = (int)(b & 15);
  if (b >> 4) {
    if (*last > INT16_MAX) return pq_tr_fail(t, "bad field id in metadata");
    *id = *last + (int)(b >> 4);
  } else {
    int64_t v = pq_unzigzag(pq_tr_uvarint(t));
    if (v < INT16_MIN || v > INT16_MAX) return pq_tr_fail(t, "bad field id in metadata");
    *id = (int)v;
  }
  *last = *id;
  return !t->why;
}

static int64_t pq_tr_int(pq_tr *t, int type) {
  if (type == PQ_T_BYTE) return (int8_t)pq_tr_u8(t);
  if (type == PQ_T_I16 || type == PQ_T_I32 || type == PQ_T_I64) return pq_unzigzag(pq_tr_uvarint(t));
  pq_tr_fail(t, "metadata field has the wrong type");
  return 0;
}

static int32_t pq_tr_i32(pq_tr *t, int type) {
  int64_t v = pq_tr_int(t, type);
  if (v < INT32_MIN || v > INT32_MAX) {
    pq_tr_fail(t, "metadata i32 out of range");
    return 0;
  }
  return (int32_t)v;
}

static int pq_tr_bool(pq_tr *t, int type) {
  if (type != PQ_T_TRUE && type != PQ_T_FALSE) return pq_tr_fail(t, "metadata field has the wrong type");
  return type == PQ_T_TRUE;
}

static const unsigned char *pq_tr_bin(pq_tr *t, int type, size_t *len) {
  uint64_t n;
  const unsigned char *p;
  *len = 0;
  if (type != PQ_T_BINARY) {
    pq_tr_fail(t, "metadata field has the wrong type");
    return NULL;
  }
  n = pq_tr_uvarint(t);
  if (t->why) return NULL;
  if (n > (uint64_t)(t->end - t->p)) {
    pq_tr_fail(t, "metadata string runs past the end");
    return NULL;
  }
  p = t->p;
  t->p += n;
  *len = (size_t)n;
  return p;
}

/* A list header; the count is checked against the bytes left (every
 * element takes at least one byte). */
static size_t pq_tr_list(pq_tr *t, int type, int *etype) {
  unsigned b;
  uint64_t n;
  if (type != PQ_T_LIST && type != PQ_T_SET) return (size_t)pq_tr_fail(t, "metadata field has the wrong type");
  b = pq_tr_u8(t);
  n = b >> 4;
  *etype = (int)(b & 15);
  if (n == 15) n = pq_tr_uvarint(t);
  if (t->why) return 0;
  if (n > (uint64_t)(t->end - t->p)) return (size_t)pq_tr_fail(t, "metadata list longer than the file");
  return (size_t)n;
}

static int pq_tr_enter(pq_tr *t) {
  if (t->why) return 0;
  if (++t->depth > PQ_TDEPTH) return pq_tr_fail(t, "metadata nested too deeply");
  return 1;
}

static void pq_tr_skip(pq_tr *t, int type) {
  switch (type) {
  case PQ_T_TRUE:
  case PQ_T_FALSE: return;
  case PQ_T_BYTE: pq_tr_u8(t); return;
  case PQ_T_I16:
  case PQ_T_I32:
  case PQ_T_I64: pq_tr_uvarint(t); return;
  case PQ_T_DOUBLE:
    if (t->end - t->p < 8) pq_tr_fail(t, "metadata truncated");
    else t->p += 8;
    return;
  case PQ_T_BINARY: {
    size_t n;
    pq_tr_bin(t, type, &n);
    return;
  }
  case PQ_T_LIST:
  case PQ_T_SET: {
    int et;
    size_t n = pq_tr_list(t, type, &et), i;
    if (!pq_tr_enter(t)) return;
    for (i = 0; i < n && !t->why; i++) {
      if (et == PQ_T_TRUE || et == PQ_T_FALSE) pq_tr_u8(t); /* bools in lists are bytes */
      else pq_tr_skip(t, et);
    }
    t->depth--;
    return;
  }
  case PQ_T_MAP: {
    uint64_t n = pq_tr_uvarint(t), i;
    unsigned kv;
    if (t->why || n == 0) return;
    if (n > (uint64_t)(t->end - t->p)) {
      pq_tr_fail(t, "metadata map longer than the file");
      return;
    }
    kv = pq_tr_u8(t);
    if (!pq_tr_enter(t)) return;
    for (i = 0; i < n && !t->why; i++) {
      int kt = (int)(kv >> 4), vt = (int)(kv & 15);
      if (kt == PQ_T_TRUE || kt == PQ_T_FALSE) pq_tr_u8(t);
      else pq_tr_skip(t, kt);
      if (vt == PQ_T_TRUE || vt == PQ_T_FALSE) pq_tr_u8(t);
      else pq_tr_skip(t, vt);
    }
    t->depth--;
    return;
  }
  case PQ_T_STRUCT: {
    int last = 0, ft, id;
    if (!pq_tr_enter(t)) return;
    while (pq_tr_field(t, &last, &ft, &id)) pq_tr_skip(t, ft);
    t->depth--;
    return;
  }
  default: pq_tr_fail(t, "bad Thrift type in metadata");
  }
}

/* Walk a struct: each field calls cb, which consumes it or skips it. */
#define PQ_STRUCT_BEGIN(t)                              \
  do {                                                  \
    int pq_last_ = 0, type, id;                         \
    if (!pq_tr_enter(t)) break;                         \
    while (pq_tr_field(t, &pq_last_, &type, &id)) {     \
      switch (id) {
#define PQ_STRUCT_END(t)                                \
      default: pq_tr_skip(t, type);                     \
      }                                                 \
    }                                                   \
    (t)->depth--;                                       \
  } while (0)

typedef struct pq_se { /* SchemaElement */
  int has_type, type, type_len, rep, nchild, ctype, scale, precision;
  const unsigned char *name;
  size_t name_len;
  int lt, lt_scale, lt_prec, lt_unit, lt_bits, lt_signed; /* LogicalType */
} pq_se;

typedef struct pq_cm { /* ColumnChunk + ColumnMetaData */
  int has_meta, type, codec;
  int64_t num_values, comp_size, data_off, dict_off;
  int has_dict_off;
} pq_cm;

typedef struct pq_rg {
  int64_t num_rows;
  pq_cm *cols;
  size_t ncols;
} pq_rg;

typedef struct pq_meta {
  int64_t num_rows;
  pq_se *schema;
  size_t nschema;
  pq_rg *rgs;
  size_t nrg;
} pq_meta;

static void pq_rd_unit(pq_tr *t, pq_se *se) {
  PQ_STRUCT_BEGIN(t)
  case 1: case 2: case 3: se->lt_unit = id; pq_tr_skip(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_decimal(pq_tr *t, pq_se *se) {
  PQ_STRUCT_BEGIN(t)
  case 1: se->lt_scale = pq_tr_i32(t, type); break;
  case 2: se->lt_prec = pq_tr_i32(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_time(pq_tr *t, pq_se *se) {
  PQ_STRUCT_BEGIN(t)
  case 1: pq_tr_bool(t, type); break;
  case 2: if (type != PQ_T_STRUCT) pq_tr_fail(t, "bad time unit"); else pq_rd_unit(t, se); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_inttype(pq_tr *t, pq_se *se) {
  PQ_STRUCT_BEGIN(t)
  case 1: se->lt_bits = (int)pq_tr_int(t, type); break;
  case 2: se->lt_signed = pq_tr_bool(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_logical(pq_tr *t, pq_se *se) {
  PQ_STRUCT_BEGIN(t)
  case PQ_LT_DECIMAL:
  case PQ_LT_TIMESTAMP:
  case PQ_LT_TIME:
  case PQ_LT_INTEGER:
    se->lt = id;
    if (type != PQ_T_STRUCT) pq_tr_fail(t, "bad logical type");
    else if (id == PQ_LT_DECIMAL) pq_rd_decimal(t, se);
    else if (id == PQ_LT_INTEGER) pq_rd_inttype(t, se);
    else pq_rd_time(t, se);
    break;
  case 1: case 2: case 3: case 4: case 6: case 9: case 11: case 12: case 13: case 14:
  case 15: case 16: case 17: case 18: case 19:
    se->lt = id;
    pq_tr_skip(t, type);
    break;
  PQ_STRUCT_END(t);
}

static void pq_rd_schema(pq_tr *t, pq_se *se) {
  se->ctype = -1;
  se->rep = -1;
  PQ_STRUCT_BEGIN(t)
  case 1: se->has_type = 1, se->type = pq_tr_i32(t, type); break;
  case 2: se->type_len = pq_tr_i32(t, type); break;
  case 3: se->rep = pq_tr_i32(t, type); break;
  case 4: se->name = pq_tr_bin(t, type, &se->name_len); break;
  case 5: se->nchild = pq_tr_i32(t, type); break;
  case 6: se->ctype = pq_tr_i32(t, type); break;
  case 7: se->scale = pq_tr_i32(t, type); break;
  case 8: se->precision = pq_tr_i32(t, type); break;
  case 10: if (type != PQ_T_STRUCT) pq_tr_fail(t, "bad logical type"); else pq_rd_logical(t, se); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_colmeta(pq_tr *t, pq_cm *cm) {
  cm->has_meta = 1;
  PQ_STRUCT_BEGIN(t)
  case 1: cm->type = pq_tr_i32(t, type); break;
  case 4: cm->codec = pq_tr_i32(t, type); break;
  case 5: cm->num_values = pq_tr_int(t, type); break;
  case 7: cm->comp_size = pq_tr_int(t, type); break;
  case 9: cm->data_off = pq_tr_int(t, type); break;
  case 11: cm->dict_off = pq_tr_int(t, type), cm->has_dict_off = 1; break;
  PQ_STRUCT_END(t);
}

static void pq_rd_chunk(pq_tr *t, pq_cm *cm) {
  PQ_STRUCT_BEGIN(t)
  case 1: pq_tr_fail(t, "column chunks in other files are not supported"); break;
  case 3: if (type != PQ_T_STRUCT) pq_tr_fail(t, "bad column metadata"); else pq_rd_colmeta(t, cm); break;
  PQ_STRUCT_END(t);
}

/* Allocate n (bounded by the bytes left) zeroed elements of size sz. */
static void *pq_tr_array(pq_tr *t, size_t n, size_t sz) {
  void *p;
  if (t->why) return NULL;
  p = os_calloc(n ? n : 1, sz);
  if (!p) pq_tr_fail(t, "out of memory");
  return p;
}

/* A list<struct> field into a new array of *n zeroed elements of size sz;
 * NULL (t->why says why) when the field came before (seen), holds
 * something else than structs, or memory runs out. */
static void *pq_tr_struct_list(pq_tr *t, int type, int seen, size_t sz, const char *bad,
                               size_t *n) {
  int et;
  size_t k = pq_tr_list(t, type, &et);
  void *p;
  *n = 0;
  if (t->why) return NULL;
  if (seen || et != PQ_T_STRUCT) {
    pq_tr_fail(t, bad);
    return NULL;
  }
  p = pq_tr_array(t, k, sz);
  if (p) *n = k;
  return p;
}

static void pq_rd_rowgroup(pq_tr *t, pq_rg *rg) {
  rg->num_rows = -1;
  PQ_STRUCT_BEGIN(t)
  case 1: {
    size_t n, i;
    pq_cm *a = pq_tr_struct_list(t, type, rg->cols != NULL, sizeof *a, "bad column chunk list", &n);
    if (!a) break;
    rg->cols = a;
    rg->ncols = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_chunk(t, &a[i]);
    break;
  }
  case 3: rg->num_rows = pq_tr_int(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_meta_free(pq_meta *m) {
  size_t i;
  for (i = 0; i < m->nrg; i++) os_free(m->rgs[i].cols);
  os_free(m->rgs);
  os_free(m->schema);
  memset(m, 0, sizeof *m);
}

static void pq_rd_filemeta(pq_tr *t, pq_meta *m) {
  m->num_rows = -1;
  PQ_STRUCT_BEGIN(t)
  case 2: {
    size_t n, i;
    pq_se *a = pq_tr_struct_list(t, type, m->schema != NULL, sizeof *a, "bad schema list", &n);
    if (!a) break;
    m->schema = a;
    m->nschema = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_schema(t, &a[i]);
    break;
  }
  case 3: m->num_rows = pq_tr_int(t, type); break;
  case 4: {
    size_t n, i;
    pq_rg *a = pq_tr_struct_list(t, type, m->rgs != NULL, sizeof *a, "bad row group list", &n);
    if (!a) break;
    m->rgs = a;
    m->nrg = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_rowgroup(t, &a[i]);
    break;
  }
  case 8: pq_tr_fail(t, "encrypted files are not supported"); break;
  PQ_STRUCT_END(t);
}

typedef struct pq_ph { /* PageHeader and its page-type part */
  int type, enc, def_enc, v2_compressed;
  int64_t usize, csize, num_values, num_nulls, def_len, rep_len;
  int has_sub;
} pq_ph;

/* DataPageHeader (5) and DictionaryPageHeader (7) share fields 1-3. */
static void pq_rd_dph(pq_tr *t, pq_ph *h) {
  PQ_STRUCT_BEGIN(t)
  case 1: h->num_values = pq_tr_i32(t, type); break;
  case 2: h->enc = pq_tr_i32(t, type); break;
  case 3: h->def_enc = pq_tr_i32(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_dph2(pq_tr *t, pq_ph *h) {
  PQ_STRUCT_BEGIN(t)
  case 1: h->num_values = pq_tr_i32(t, type); break;
  case 2: h->num_nulls = pq_tr_i32(t, type); break;
  case 4: h->enc = pq_tr_i32(t, type); break;
  case 5: h->def_len = pq_tr_i32(t, type); break;
  case 6: h->rep_len = pq_tr_i32(t, type); break;
  case 7: h->v2_compressed = pq_tr_bool(t, type); break;
  PQ_STRUCT_END(t);
}

static void pq_rd_pageheader(pq_tr *t, pq_ph *h) {
  h->type = -1;
  h->usize = h->csize = -1;
  h->v2_compressed = 1;
  PQ_STRUCT_BEGIN(t)
  case 1: h->type = pq_tr_i32(t, type); break;
  case 2: h->usize = pq_tr_i32(t, type); break;
  case 3: h->csize = pq_tr_i32(t, type); break;
  case 5:
  case 7:
  case 8:
    if (type != PQ_T_STRUCT) {
      pq_tr_fail(t, "bad page header");
      break;
    }
    h->has_sub = id;
    if (id == 8) pq_rd_dph2(t, h);
    else pq_rd_dph(t, h);
    break;
  PQ_STRUCT_END(t);
}

/* How a file column becomes a frame column. */
enum {
  PQ_CV_BOOL, PQ_CV_I64, PQ_CV_U32, PQ_CV_U64, PQ_CV_F64, PQ_CV_DATE, PQ_CV_TS_MS, PQ_CV_TS_US,
  PQ_CV_TS_NS, PQ_CV_STR, PQ_CV_DEC_INT, PQ_CV_DEC_BYTES
};

/* One decoded physical value: integers (INT96 already as micros) in i,
 * FLOAT/DOUBLE in d, byte arrays as a span of the file or of scratch. */
typedef struct pq_val {
  union {
    int64_t i;
    double d;
  } u;
  const unsigned char *p;
  size_t len;
} pq_val;

typedef struct pq_rcol {
  const pq_se *se;
  fr_col *fc;
  int cv, scale, optional;
  pq_val *dict;
  size_t dict_n;
  unsigned char *dict_scratch;
} pq_rcol;

typedef struct pq_reader {
  const unsigned char *file;
  size_t len, data_end; /* data_end: where the footer starts */
  os_err *err;
  const char *path;
  uint32_t *lv, *idx;   /* per-page scratch: levels, dictionary indices */
  size_t lv_cap, idx_cap;
  pq_val *vals;
  size_t vals_cap;
  unsigned char *scratch; /* DELTA_BYTE_ARRAY strings of the current page */
} pq_reader;

static osiris_rc pq_bad(pq_reader *R, const pq_rcol *rc, const char *why) {
  if (rc)
    return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: %s", R->path, rc->fc->name, why);
  return os_fail(R->err, OSIRIS_EPARSE, "%s: %s", R->path, why);
}

static int pq_grow(void **p, size_t *cap, size_t need, size_t sz) {
  void *q;
  if (need <= *cap) return 1;
  if (need > OS_MAX_BUF / sz) return 0;
  q = os_realloc(*p, need * sz);
  if (!q) return 0;
  *p = q;
  *cap = need;
  return 1;
}

/* RLE/bit-packed hybrid, bit width bw (0..32), n values from [*pp, end).
 * A final bit-packed run may be cut short after the last needed value. */
static const char *pq_hybrid(const unsigned char **pp, const unsigned char *end, int bw,
                             uint32_t *out, size_t n) {
  const unsigned char *p = *pp;
  size_t got = 0, vbytes = ((size_t)bw + 7) / 8;
  uint32_t mask = bw >= 32 ? 0xFFFFFFFFu : ((uint32_t)1 << bw) - 1;
  if (bw < 0 || bw > 32) return "bad bit width";
  while (got < n) {
    uint64_t h, cnt;
    size_t take, i;
    if (!pq_uvarint(&p, end, &h)) return "bad run header in RLE data";
    if (h & 1) {
      uint64_t groups = h >> 1, need, full;
      uint64_t acc = 0;
      int bits = 0;
      const unsigned char *q = p;
      cnt = groups > UINT64_MAX / 8 ? UINT64_MAX : groups * 8;
      take = cnt < n - got ? (size_t)cnt : n - got;
      need = ((uint64_t)take * (uint64_t)bw + 7) / 8;
      if (need > (uint64_t)(end - p)) return "RLE data truncated";
      for (i = 0; i < take; i++) {
        while (bits < bw) {
          acc |= (uint64_t)*q++ << bits;
          bits += 8;
        }
        out[got + i] = (uint32_t)acc & mask;
        acc >>= bw;
        bits -= bw;
      }
      full = groups > UINT64_MAX / 8 ? UINT64_MAX : groups * (uint64_t)bw;
      p = full > (uint64_t)(end - p) ? end : p + full;
    } else {
      uint32_t v = 0;
      cnt = h >> 1;
      if (vbytes > (size_t)(end - p)) return "RLE data truncated";
      for (i = 0; i < vbytes; i++) v |= (uint32_t)p[i] << (8 * i);
      p += vbytes;
      if (v & ~mask) return "RLE value wider than its bit width";
      take = cnt < n - got ? (size_t)cnt : n - got;
      for (i = 0; i < take; i++) out[got + i] = v;
    }
    got += take;
  }
  *pp = p;
  return NULL;
}

/* bw bits (<= 64) at bit offset pos of p. */
static uint64_t pq_bits(const unsigned char *p, uint64_t pos, int bw) {
  uint64_t v = 0;
  size_t byte = (size_t)(pos >> 3);
  int off = (int)(pos & 7), got = 0;
  while (got < bw) {
    v |= ((uint64_t)p[byte++] >> off) << got;
    got += 8 - off;
    off = 0;
  }
  return bw >= 64 ? v : v & (((uint64_t)1 << bw) - 1);
}

/* DELTA_BINARY_PACKED: exactly n values into out[] (grown), advancing *pp
 * past the encoded data; *nout receives the count. */
static const char *pq_delta_bp(pq_reader *R, const unsigned char **pp, const unsigned char *end,
                               size_t n, int64_t **out, size_t *out_cap, size_t *nout) {
  const unsigned char *p = *pp;
  uint64_t block, nmb, total, first, vpm, got = 1;
  int64_t *o;
  (void)R;
  if (!pq_uvarint(&p, end, &block) || !pq_uvarint(&p, end, &nmb) ||
      !pq_uvarint(&p, end, &total) || !pq_uvarint(&p, end, &first))
    return "bad DELTA_BINARY_PACKED header";
  if (block == 0 || block > 65536 || nmb == 0 || block % nmb || (vpm = block / nmb) % 8)
    return "bad DELTA_BINARY_PACKED block size";
  /* The count must be the page's own: a larger one would let a few bytes
   * of zero-width miniblocks spin through billions of values. */
  if (total != n) return "DELTA_BINARY_PACKED value count differs from the page";
  if (!pq_grow((void **)out, out_cap, n ? n : 1, sizeof(int64_t))) return "out of memory";
  o = *out;
  if (n > 0) o[0] = pq_unzigzag(first);
  if (total == 0) {
    *pp = p;
    *nout = 0;
    return NULL;
  }
  {
    uint64_t prev = (uint64_t)pq_unzigzag(first);
    while (got < total) {
      uint64_t mdz, m;
      int64_t mind;
      const unsigned char *widths;
      if (!pq_uvarint(&p, end, &mdz)) return "bad DELTA_BINARY_PACKED block";
      mind = pq_unzigzag(mdz);
      if (nmb > (uint64_t)(end - p)) return "DELTA_BINARY_PACKED truncated";
      widths = p;
      p += nmb;
      for (m = 0; m < nmb && got < total; m++) {
        int bw = widths[m];
        uint64_t k, take = total - got < vpm ? total - got : vpm, bytes = vpm * (uint64_t)bw / 8;
        if (bw > 64) return "bad DELTA_BINARY_PACKED bit width";
        if ((take * (uint64_t)bw + 7) / 8 > (uint64_t)(end - p)) return "DELTA_BINARY_PACKED truncated";
        for (k = 0; k < take; k++) {
          prev += (uint64_t)mind + pq_bits(p, k * (uint64_t)bw, bw);
          if (got < n) o[got] = (int64_t)prev;
          got++;
        }
        p = bytes > (uint64_t)(end - p) ? end : p + bytes;
      }
    }
  }
  *pp = p;
  *nout = (size_t)(n < total ? n : total);
  return NULL;
}

/* The value width of a fixed-size physical type, 0 for BYTE_ARRAY. */
static size_t pq_width(const pq_se *se) {
  switch (se->type) {
  case PQ_INT32:
  case PQ_FLOAT: return 4;
  case PQ_INT64:
  case PQ_DOUBLE: return 8;
  case PQ_INT96: return 12;
  case PQ_FLBA: return (size_t)se->type_len;
  default: return 0;
  }
}

/* One fixed-width little-endian value (BYTE_STREAM_SPLIT gathers it
 * first) into v. */
static void pq_fixed(const pq_se *se, const unsigned char *p, pq_val *v) {
  switch (se->type) {
  case PQ_INT32: v->u.i = (int32_t)pq_rd32(p); break;
  case PQ_INT64: v->u.i = (int64_t)pq_rd64(p); break;
  case PQ_FLOAT: {
    uint32_t u = pq_rd32(p);
    float fv;
    memcpy(&fv, &u, 4);
    v->u.d = fv;
    break;
  }
  case PQ_DOUBLE: {
    uint64_t u = pq_rd64(p);
    memcpy(&v->u.d, &u, 8);
    break;
  }
  case PQ_INT96: {
    /* nanoseconds of the day, then the Julian day number */
    int64_t nanos = (int64_t)pq_rd64(p), jd = (int32_t)pq_rd32(p + 8);
    /* Unsigned arithmetic: absurd days wrap instead of overflowing. */
    uint64_t us = (uint64_t)(jd - 2440588) * (uint64_t)FR_US_PER_DAY + (uint64_t)(nanos / 1000);
    v->u.i = (int64_t)us;
    break;
  }
  default:
    v->p = p;
    v->len = (size_t)se->type_len;
  }
}

/* Decode n values of encoding enc from [p, end) into out[]. */
static const char *pq_decode(pq_reader *R, pq_rcol *col, int enc, const unsigned char *p,
                             const unsigned char *end, size_t n, pq_val *out) {
  const pq_se *se = col->se;
  size_t i, w = pq_width(se);
  const char *why;
  switch (enc) {
  case PQ_ENC_PLAIN:
    if (se->type == PQ_BOOLEAN) {
      if ((n + 7) / 8 > (size_t)(end - p)) return "boolean values truncated";
      for (i = 0; i < n; i++) out[i].u.i = (p[i >> 3] >> (i & 7)) & 1;
      return NULL;
    }
    if (se->type == PQ_BYTE_ARRAY) {
      for (i = 0; i < n; i++) {
        uint32_t len;
        if (end - p < 4) return "byte array values truncated";
        len = pq_rd32(p);
        p += 4;
        if (len > (size_t)(end - p)) return "byte array value runs past the page";
        out[i].p = p;
        out[i].len = len;
        p += len;
      }
      return NULL;
    }
    if (w == 0 || n > (size_t)(end - p) / w) return "values truncated";
    for (i = 0; i < n; i++, p += w) pq_fixed(se, p, &out[i]);
    return NULL;
  case PQ_ENC_PLAIN_DICT:
  case PQ_ENC_RLE_DICT: {
    int bw;
    if (!col->dict) return "dictionary-encoded page without a dictionary";
    if (n == 0) return NULL;
    if (p >= end) return "dictionary indices missing";
    bw = *p++;
    if (!pq_grow((void **)&R->idx, &R->idx_cap, n, sizeof(uint32_t))) return "out of memory";
    if ((why = pq_hybrid(&p, end, bw, R->idx, n)) != NULL) return why;
    for (i = 0; i < n; i++) {
      if (R->idx[i] >= col->dict_n) return "dictionary index out of range";
      out[i] = col->dict[R->idx[i]];
    }
    return NULL;
  }
  case PQ_ENC_RLE: {
    uint32_t len;
    if (se->type != PQ_BOOLEAN) return "RLE encoding is only supported for booleans";
    if (end - p < 4) return "boolean RLE data truncated";
    len = pq_rd32(p);
    p += 4;
    if (len > (size_t)(end - p)) return "boolean RLE length past the page";
    if (!pq_grow((void **)&R->idx, &R->idx_cap, n ? n : 1, sizeof(uint32_t))) return "out of memory";
    if ((why = pq_hybrid(&p, p + len, 1, R->idx, n)) != NULL) return why;
    for (i = 0; i < n; i++) out[i].u.i = R->idx[i];
    return NULL;
  }
  case PQ_ENC_BSS:
    if (w == 0 || se->type == PQ_INT96) return "BYTE_STREAM_SPLIT on an unsupported type";
    if (n > (size_t)(end - p) / w) return "values truncated";
    {
      unsigned char tmp[64];
      if (se->type == PQ_FLBA) {
        /* FLBA values need contiguous bytes: gather into scratch. */
        os_free(R->scratch);
        R->scratch = os_malloc(n * w + 1);
        if (!R->scratch) return "out of memory";
        for (i = 0; i < n; i++) {
          size_t k;
          for (k = 0; k < w; k++) R->scratch[i * w + k] = p[k * n + i];
          out[i].p = R->scratch + i * w;
          out[i].len = w;
        }
        return NULL;
      }
      for (i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < w; k++) tmp[k] = p[k * n + i];
        pq_fixed(se, tmp, &out[i]);
      }
    }
    return NULL;
  case PQ_ENC_DELTA_BP: {
    int64_t *tmp = NULL;
    size_t cap = 0, got;
    if (se->type != PQ_INT32 && se->type != PQ_INT64) return "DELTA_BINARY_PACKED on a non-integer column";
    why = pq_delta_bp(R, &p, end, n, &tmp, &cap, &got);
    if (!why && got < n) why = "DELTA_BINARY_PACKED holds too few values";
    for (i = 0; !why && i < n; i++) out[i].u.i = se->type == PQ_INT32 ? (int32_t)tmp[i] : tmp[i];
    os_free(tmp);
    return why;
  }
  case PQ_ENC_DELTA_LBA:
  case PQ_ENC_DELTA_BA: {
    int64_t *pre = NULL, *suf = NULL;
    size_t cp = 0, cs = 0, np = 0, ns = 0;
    if (se->type != PQ_BYTE_ARRAY && se->type != PQ_FLBA) return "delta byte-array encoding on a non-binary column";
    why = NULL;
    if (enc == PQ_ENC_DELTA_BA) why = pq_delta_bp(R, &p, end, n, &pre, &cp, &np);
    if (!why) why = pq_delta_bp(R, &p, end, n, &suf, &cs, &ns);
    if (!why && (ns < n || (enc == PQ_ENC_DELTA_BA && np < n))) why = "delta lengths hold too few values";
    if (!why && enc == PQ_ENC_DELTA_LBA) {
      for (i = 0; i < n && !why; i++) {
        if (suf[i] < 0 || (uint64_t)suf[i] > (uint64_t)(end - p)) why = "byte array value runs past the page";
        else out[i].p = p, out[i].len = (size_t)suf[i], p += suf[i];
      }
    } else if (!why) {
      /* Each value is a prefix of the previous one plus a suffix: build
       * them in one scratch block sized up front. */
      uint64_t total = 0, prev_len = 0, sfx = 0;
      for (i = 0; i < n && !why; i++) {
        if (pre[i] < 0 || suf[i] < 0 || (uint64_t)pre[i] > prev_len) why = "bad DELTA_BYTE_ARRAY prefix";
        else if ((uint64_t)suf[i] > (uint64_t)(end - p) - sfx) why = "byte array value runs past the page";
        else {
          sfx += (uint64_t)suf[i];
          prev_len = (uint64_t)pre[i] + (uint64_t)suf[i];
          total += prev_len;
          if (total > OS_MAX_BUF) why = "DELTA_BYTE_ARRAY values too large";
        }
      }
      if (!why) {
        unsigned char *s;
        os_free(R->scratch);
        R->scratch = os_malloc(total ? (size_t)total : 1);
        if (!R->scratch) why = "out of memory";
        s = R->scratch;
        for (i = 0; i < n && !why; i++) {
          if (pre[i]) memcpy(s, out[i - 1].p, (size_t)pre[i]);
          if (suf[i]) memcpy(s + pre[i], p, (size_t)suf[i]);
          p += suf[i];
          out[i].p = s;
          out[i].len = (size_t)(pre[i] + suf[i]);
          s += out[i].len;
        }
      }
    }
    if (!why && se->type == PQ_FLBA)
      for (i = 0; i < n && !why; i++)
        if (out[i].len != (size_t)se->type_len) why = "fixed-length value of the wrong length";
    os_free(pre);
    os_free(suf);
    return why;
  }
  default: return "unsupported encoding";
  }
}

static osiris_rc pq_push(pq_reader *R, pq_rcol *col, const pq_val *v) {
  fr_col *fc = col->fc;
  char buf[48];
  pq_i128 q;
  int64_t x;
  switch (col->cv) {
  case PQ_CV_BOOL: return fr_col_push_i8(fc, v->u.i != 0);
  case PQ_CV_I64: return fr_col_push_i64(fc, v->u.i);
  case PQ_CV_U32: return fr_col_push_i64(fc, (int64_t)(uint32_t)v->u.i);
  case PQ_CV_U64:
    if (v->u.i < 0) return pq_bad(R, col, "unsigned value above the int64 range");
    return fr_col_push_i64(fc, v->u.i);
  case PQ_CV_F64: return fr_col_push_f64(fc, v->u.d);
  case PQ_CV_DATE: return fr_col_push_i32(fc, (int32_t)v->u.i);
  case PQ_CV_TS_MS:
    if (v->u.i > INT64_MAX / 1000 || v->u.i < INT64_MIN / 1000) return pq_bad(R, col, "timestamp out of range");
    return fr_col_push_i64(fc, v->u.i * 1000);
  case PQ_CV_TS_US: return fr_col_push_i64(fc, v->u.i);
  case PQ_CV_TS_NS:
    x = v->u.i / 1000;
    if (v->u.i % 1000 < 0) x--; /* floor */
    return fr_col_push_i64(fc, x);
  case PQ_CV_STR:
    if (!os_utf8_valid((const char *)v->p, v->len, NULL))
      return pq_bad(R, col, "string value is not valid UTF-8");
    return fr_col_push_text(fc, (const char *)v->p, v->len);
  case PQ_CV_DEC_INT:
    return fr_col_push_text(fc, buf, pq_dec_format((pq_i128)v->u.i, col->scale, buf));
  case PQ_CV_DEC_BYTES:
    if (!pq_dec_load(v->p, v->len, &q)) return pq_bad(R, col, "decimal wider than 128 bits");
    if ((q < 0 ? (pq_u128)0 - (pq_u128)q : (pq_u128)q) >= pq_pow10(38))
      return pq_bad(R, col, "decimal with more than 38 digits");
    return fr_col_push_text(fc, buf, pq_dec_format(q, col->scale, buf));
  }
  return OSIRIS_EINVAL;
}

/* Dictionary page: PLAIN values kept for the data pages that follow. */
static osiris_rc pq_read_dict(pq_reader *R, pq_rcol *col, const pq_ph *h, const unsigned char *p,
                              const unsigned char *end) {
  const char *why;
  size_t i;
  if (col->dict) return pq_bad(R, col, "two dictionary pages in one chunk");
  {
    /* Bound the count by the bytes present before allocating for it. */
    size_t w = col->se->type == PQ_BYTE_ARRAY ? 4 : pq_width(col->se);
    uint64_t room = w ? (uint64_t)(end - p) / w : (uint64_t)(end - p) * 8;
    if (h->num_values < 0 || (uint64_t)h->num_values > room) return pq_bad(R, col, "bad dictionary size");
  }
  if (h->enc != PQ_ENC_PLAIN && h->enc != PQ_ENC_PLAIN_DICT)
    return pq_bad(R, col, "unsupported dictionary encoding");
  col->dict_n = (size_t)h->num_values;
  col->dict = os_calloc(col->dict_n ? col->dict_n : 1, sizeof(pq_val));
  if (!col->dict) return os_fail(R->err, OSIRIS_ENOMEM, "out of memory");
  why = pq_decode(R, col, PQ_ENC_PLAIN, p, end, col->dict_n, col->dict);
  if (why) return pq_bad(R, col, why);
  /* Validate strings once here, not at every use. */
  if (col->cv == PQ_CV_STR)
    for (i = 0; i < col->dict_n; i++)
      if (!os_utf8_valid((const char *)col->dict[i].p, col->dict[i].len, NULL))
        return pq_bad(R, col, "string value is not valid UTF-8");
  return OSIRIS_OK;
}

/* A data page (v1 or v2) of at most `left` values: levels, then values. */
static osiris_rc pq_read_data(pq_reader *R, pq_rcol *col, const pq_ph *h, const unsigned char *p,
                              const unsigned char *end, int64_t left, size_t *taken) {
  size_t n, nnz = 0, i, k;
  const char *why;
  osiris_rc rc;
  if (h->num_values < 0 || h->num_values > left) return pq_bad(R, col, "page holds more values than its chunk");
  n = (size_t)h->num_values;
  if (col->optional) {
    const unsigned char *lp = p, *lend = end;
    if (!pq_grow((void **)&R->lv, &R->lv_cap, n ? n : 1, sizeof(uint32_t)))
      return os_fail(R->err, OSIRIS_ENOMEM, "out of memory");
    if (h->type == PQ_PAGE_DATA) {
      uint32_t len;
      if (h->def_enc != PQ_ENC_RLE) return pq_bad(R, col, "unsupported definition level encoding");
      if (end - p < 4) return pq_bad(R, col, "definition levels truncated");
      len = pq_rd32(p);
      if (len > (size_t)(end - p) - 4) return pq_bad(R, col, "definition levels past the page");
      lp = p + 4;
      lend = lp + len;
      p = lend;
    } else {
      lend = p + h->def_len;
      p = lend;
    }
    if ((why = pq_hybrid(&lp, lend, 1, R->lv, n)) != NULL) return pq_bad(R, col, why);
    for (i = 0; i < n; i++) nnz += R->lv[i];
  } else {
    if (h->type == PQ_PAGE_DATA_V2) p += h->def_len;
    nnz = n;
  }
  if (col->fc->n + n > col->fc->cap && (rc = fr_col_reserve(col->fc, col->fc->n + n)) != OSIRIS_OK)
    return os_fail(R->err, rc, "out of memory");
  if (h->enc == PQ_ENC_PLAIN && (col->se->type == PQ_INT64 || col->se->type == PQ_DOUBLE) &&
      (col->cv == PQ_CV_I64 || col->cv == PQ_CV_TS_US || col->cv == PQ_CV_F64)) {
    /* The common case (our own files): 8-byte values straight into the
     * frame, no intermediate array. */
    if (nnz > (size_t)(end - p) / 8) return pq_bad(R, col, "values truncated");
    for (i = 0; i < n; i++) {
      if (col->optional && !R->lv[i]) rc = fr_col_push_null(col->fc);
      else {
        uint64_t u = pq_rd64(p);
        int64_t v;
        memcpy(&v, &u, 8);
        rc = fr_col_push_i64(col->fc, v); /* same 8 bytes for a double */
        p += 8;
      }
      if (rc) return os_fail(R->err, rc, "out of memory");
    }
    *taken = n;
    return OSIRIS_OK;
  }
  if (!pq_grow((void **)&R->vals, &R->vals_cap, nnz ? nnz : 1, sizeof(pq_val)))
    return os_fail(R->err, OSIRIS_ENOMEM, "out of memory");
  if ((why = pq_decode(R, col, h->enc, p, end, nnz, R->vals)) != NULL) return pq_bad(R, col, why);
  for (i = 0, k = 0; i < n; i++) {
    if (col->optional && !R->lv[i]) rc = fr_col_push_null(col->fc);
    else rc = pq_push(R, col, &R->vals[k++]);
    if (rc) return R->err->rc ? rc : os_fail(R->err, rc, "out of memory");
  }
  *taken = n;
  return OSIRIS_OK;
}

/* Every page of one column chunk. */
static osiris_rc pq_read_chunk(pq_reader *R, pq_rcol *col, const pq_cm *cm, int64_t rows) {
  int64_t start, done = 0;
  const unsigned char *p, *end = R->file + R->data_end;
  osiris_rc rc = OSIRIS_OK;
  if (!cm->has_meta) return pq_bad(R, col, "column chunk without metadata");
  if (cm->type != col->se->type) return pq_bad(R, col, "chunk type differs from the schema");
  if (cm->num_values != rows) return pq_bad(R, col, "chunk value count differs from its row group");
  start = cm->data_off;
  if (cm->has_dict_off && cm->dict_off > 0 && cm->dict_off < start) start = cm->dict_off;
  if (start < 4 || (uint64_t)start >= R->data_end) return pq_bad(R, col, "column chunk offset out of range");
  p = R->file + start;
  /* Room for the whole chunk up front (rows were bounded by the file size;
   * string bytes by the chunk size, a hint that dictionaries may exceed). */
  if ((rc = fr_col_reserve(col->fc, col->fc->n + (size_t)rows)) != OSIRIS_OK)
    return os_fail(R->err, rc, "out of memory");
  if (col->cv == PQ_CV_STR && cm->comp_size > 0 && (uint64_t)cm->comp_size <= R->data_end &&
      (rc = fr_col_reserve_text(col->fc, (size_t)cm->comp_size)) != OSIRIS_OK)
    return os_fail(R->err, rc, "out of memory");
  os_free(col->dict);
  col->dict = NULL;
  col->dict_n = 0;
  while (done < rows) {
    pq_tr t = {p, end, 0, NULL};
    pq_ph h;
    const unsigned char *body, *bend;
    memset(&h, 0, sizeof h);
    pq_rd_pageheader(&t, &h);
    if (t.why) return pq_bad(R, col, t.why);
    body = t.p;
    if (h.csize < 0 || h.usize < 0 || h.csize > end - body) return pq_bad(R, col, "page size out of range");
    bend = body + h.csize;
    if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2 || h.type == PQ_PAGE_DICT) {
      size_t taken = 0;
      int compressed = cm->codec != 0 && !(h.type == PQ_PAGE_DATA_V2 && !h.v2_compressed);
      if (compressed) {
        return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: compression %s not supported", R->path,
                       col->fc->name, pq_codec_name(cm->codec));
      }
      if (h.usize != h.csize) return pq_bad(R, col, "page sizes disagree");
      if (h.type == PQ_PAGE_DICT) {
        if (h.has_sub != 7) return pq_bad(R, col, "dictionary page without its header");
        rc = pq_read_dict(R, col, &h, body, bend);
      } else {
        if (h.has_sub != (h.type == PQ_PAGE_DATA ? 5 : 8)) return pq_bad(R, col, "data page without its header");
        if (h.type == PQ_PAGE_DATA_V2 &&
            (h.def_len < 0 || h.rep_len != 0 || h.def_len > bend - body || h.num_nulls < 0))
          return pq_bad(R, col, "bad level lengths in a v2 page");
        rc = pq_read_data(R, col, &h, body, bend, rows - done, &taken);
        done += (int64_t)taken;
      }
      if (rc) return rc;
    }
    p = bend;
  }
  return OSIRIS_OK;
}

/* Choose the frame type and conversion of a leaf. */
static osiris_rc pq_map_column(pq_reader *R, const pq_se *se, const char *name, osiris_type *ft,
                               int *cv, int *scale) {
  int lt = se->lt, ct = se->ctype;
  int is_dec = lt == PQ_LT_DECIMAL || ct == PQ_CT_DECIMAL;
  *scale = 0;
  if (is_dec) {
    int sc = lt == PQ_LT_DECIMAL ? se->lt_scale : se->scale;
    if (sc < 0 || sc > 38) return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: decimal scale %d not supported", R->path, name, sc);
    *scale = sc;
  }
  if (lt == PQ_LT_TIME || ct == PQ_CT_TIME_MILLIS || ct == PQ_CT_TIME_MICROS)
    return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: TIME columns are not supported", R->path, name);
  switch (se->type) {
  case PQ_BOOLEAN: *ft = OSIRIS_TYPE_BOOL, *cv = PQ_CV_BOOL; return OSIRIS_OK;
  case PQ_INT32:
    if (is_dec) *ft = OSIRIS_TYPE_DECIMAL, *cv = PQ_CV_DEC_INT;
    else if (lt == PQ_LT_DATE || ct == PQ_CT_DATE) *ft = OSIRIS_TYPE_DATE, *cv = PQ_CV_DATE;
    else if ((lt == PQ_LT_INTEGER && !se->lt_signed) || (ct >= PQ_CT_UINT_8 && ct <= PQ_CT_UINT_32))
      *ft = OSIRIS_TYPE_INT64, *cv = PQ_CV_U32;
    else *ft = OSIRIS_TYPE_INT64, *cv = PQ_CV_I64;
    return OSIRIS_OK;
  case PQ_INT64:
    if (is_dec) *ft = OSIRIS_TYPE_DECIMAL, *cv = PQ_CV_DEC_INT;
    else if (lt == PQ_LT_TIMESTAMP) {
      *ft = OSIRIS_TYPE_TIMESTAMP;
      *cv = se->lt_unit == 1 ? PQ_CV_TS_MS : se->lt_unit == 3 ? PQ_CV_TS_NS : PQ_CV_TS_US;
    } else if (ct == PQ_CT_TS_MILLIS) *ft = OSIRIS_TYPE_TIMESTAMP, *cv = PQ_CV_TS_MS;
    else if (ct == PQ_CT_TS_MICROS) *ft = OSIRIS_TYPE_TIMESTAMP, *cv = PQ_CV_TS_US;
    else if ((lt == PQ_LT_INTEGER && !se->lt_signed) || ct == PQ_CT_UINT_64)
      *ft = OSIRIS_TYPE_INT64, *cv = PQ_CV_U64;
    else *ft = OSIRIS_TYPE_INT64, *cv = PQ_CV_I64;
    return OSIRIS_OK;
  case PQ_INT96: *ft = OSIRIS_TYPE_TIMESTAMP, *cv = PQ_CV_TS_US; return OSIRIS_OK;
  case PQ_FLOAT:
  case PQ_DOUBLE: *ft = OSIRIS_TYPE_DOUBLE, *cv = PQ_CV_F64; return OSIRIS_OK;
  case PQ_BYTE_ARRAY:
    if (is_dec) *ft = OSIRIS_TYPE_DECIMAL, *cv = PQ_CV_DEC_BYTES;
    else *ft = OSIRIS_TYPE_STRING, *cv = PQ_CV_STR;
    return OSIRIS_OK;
  case PQ_FLBA:
    if (se->type_len <= 0) return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: bad fixed length", R->path, name);
    if (is_dec) {
      *ft = OSIRIS_TYPE_DECIMAL, *cv = PQ_CV_DEC_BYTES;
      return OSIRIS_OK;
    }
    return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: FIXED_LEN_BYTE_ARRAY other than DECIMAL is not supported", R->path, name);
  }
  return os_fail(R->err, OSIRIS_EPARSE, "%s: column %s: unknown physical type %d", R->path, name, se->type);
}

/* Read the file into memory with one allocation of its size. */
static osiris_rc pq_slurp(const char *path, unsigned char **data, size_t *len, os_err *err) {
  struct stat st;
  size_t off = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  *data = NULL;
  if (fd < 0)
    return os_fail(err, errno == ENOENT ? OSIRIS_ENOTFOUND : OSIRIS_EIO, "%s: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return os_fail(err, OSIRIS_EIO, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > OS_MAX_BUF) {
    close(fd);
    return os_fail(err, OSIRIS_ELIMIT, "%s: file too large", path);
  }
  *len = (size_t)st.st_size;
  *data = os_malloc(*len ? *len : 1);
  if (!*data) {
    close(fd);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  while (off < *len) {
    ssize_t r = read(fd, *data + off, *len - off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      close(fd);
      os_free(*data);
      *data = NULL;
      return os_fail(err, OSIRIS_EIO, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "file shrank");
    }
    off += (size_t)r;
  }
  close(fd);
  return OSIRIS_OK;
}

/* Parse a whole file image (borrowed) into a new frame; path only names
 * the file in messages. */
static osiris_rc pq_read_buf(const unsigned char *file, size_t len, const char *path,
                             osiris_frame **out, os_err *errp) {
  os_err err = {0};
  pq_reader R;
  pq_meta m;
  pq_rcol *cols = NULL;
  osiris_frame *f = NULL;
  size_t ncols = 0, i, g;
  uint32_t flen;
  int64_t total = 0;
  osiris_rc rc = OSIRIS_OK;
  memset(&R, 0, sizeof R);
  memset(&m, 0, sizeof m);
  R.err = &err;
  R.path = path;
  *out = NULL;
  R.file = file;
  R.len = len;
  if (len < 12 || memcmp(file, "PAR1", 4) != 0 || memcmp(file + len - 4, "PAR1", 4) != 0) {
    rc = pq_bad(&R, NULL, len < 12 ? "too short for a Parquet file" : "not a Parquet file (bad magic)");
    goto done;
  }
  flen = pq_rd32(file + len - 8);
  if (flen == 0 || flen > len - 12) {
    rc = pq_bad(&R, NULL, "bad footer length");
    goto done;
  }
  R.data_end = len - 8 - flen;
  {
    pq_tr t = {file + R.data_end, file + len - 8, 0, NULL};
    pq_rd_filemeta(&t, &m);
    if (t.why) {
      rc = strcmp(t.why, "out of memory") == 0 ? os_fail(&err, OSIRIS_ENOMEM, "out of memory")
                                               : pq_bad(&R, NULL, t.why);
      goto done;
    }
  }
  if (!m.schema || m.nschema == 0 || m.num_rows < 0) {
    rc = pq_bad(&R, NULL, "metadata lacks the schema or the row count");
    goto done;
  }
  if ((size_t)m.schema[0].nchild != m.nschema - 1 || m.schema[0].nchild < 0) {
    rc = pq_bad(&R, NULL, "nested or malformed schema (only flat columns are supported)");
    goto done;
  }
  ncols = m.nschema - 1;
  if (ncols > PQ_MAX_COLS) {
    rc = os_fail(&err, OSIRIS_ELIMIT, "%s: too many columns", path);
    goto done;
  }
  /* Rows beyond what the bytes could plausibly encode are a bomb, not data. */
  if ((uint64_t)m.num_rows > (uint64_t)len * 4096 + ((uint64_t)1 << 20)) {
    rc = os_fail(&err, OSIRIS_ELIMIT, "%s: row count %" PRId64 " implausible for the file size", path, m.num_rows);
    goto done;
  }
  for (g = 0; g < m.nrg; g++) {
    if (m.rgs[g].num_rows < 0 || m.rgs[g].ncols != ncols) {
      rc = pq_bad(&R, NULL, "row group does not match the schema");
      goto done;
    }
    total += m.rgs[g].num_rows;
    if (total > m.num_rows) break;
  }
  if (total != m.num_rows) {
    rc = pq_bad(&R, NULL, "row groups do not add up to the row count");
    goto done;
  }
  f = osiris_frame_new();
  cols = os_calloc(ncols ? ncols : 1, sizeof(pq_rcol));
  if (!f || !cols) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < ncols; i++) {
    const pq_se *se = &m.schema[i + 1];
    osiris_type ft = OSIRIS_TYPE_INT64;
    int cv = 0, scale = 0;
    char *name;
    if (!se->name || memchr(se->name, 0, se->name_len) || !os_utf8_valid((const char *)se->name, se->name_len, NULL)) {
      rc = pq_bad(&R, NULL, "column name missing or not UTF-8");
      goto done;
    }
    name = os_strndup((const char *)se->name, se->name_len);
    if (!name) {
      rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    if (!se->has_type || se->nchild > 0 || se->rep == 2) {
      rc = os_fail(&err, OSIRIS_EPARSE, "%s: column %s: nested or repeated columns are not supported", path, name);
      os_free(name);
      goto done;
    }
    rc = pq_map_column(&R, se, name, &ft, &cv, &scale);
    if (!rc) rc = osiris_frame_add_column(f, name, ft, scale);
    if (rc && !err.rc) os_fail(&err, rc, "%s: column %s: cannot add to the frame", path, name);
    os_free(name);
    if (rc) goto done;
    cols[i].se = se;
    cols[i].fc = &f->cols[i];
    cols[i].cv = cv;
    cols[i].scale = scale;
    cols[i].optional = se->rep != 0;
  }
  for (g = 0; g < m.nrg; g++) {
    for (i = 0; i < ncols; i++) {
      cols[i].fc = &f->cols[i];
      if ((rc = pq_read_chunk(&R, &cols[i], &m.rgs[g].cols[i], m.rgs[g].num_rows)) != OSIRIS_OK) goto done;
    }
  }
  if (ncols == 0) f->rows = (size_t)m.num_rows;
  else if ((rc = fr_commit_rows(f, (size_t)m.num_rows)) != OSIRIS_OK) {
    rc = pq_bad(&R, NULL, "columns of different lengths");
    goto done;
  }
  *out = f;
  f = NULL;
done:
  if (rc && errp) *errp = err;
  for (i = 0; cols && i < ncols; i++) os_free(cols[i].dict);
  os_free(cols);
  os_free(R.lv);
  os_free(R.idx);
  os_free(R.vals);
  os_free(R.scratch);
  pq_meta_free(&m);
  osiris_frame_free(f);
  return rc;
}

osiris_rc osiris_parquet_read(const char *path, osiris_frame **out, char *errbuf, size_t errcap) {
  os_err err = {0};
  unsigned char *file = NULL;
  size_t len = 0;
  osiris_rc rc;
  if (out) *out = NULL;
  if (!path || !out) rc = os_fail(&err, OSIRIS_EINVAL, "osiris_parquet_read: path and out are required");
  else if ((rc = pq_slurp(path, &file, &len, &err)) == OSIRIS_OK) rc = pq_read_buf(file, len, path, out, &err);
  if (rc) pq_errcopy(&err, errbuf, errcap);
  else if (errbuf && errcap) errbuf[0] = 0;
  os_free(file);
  return rc;
}

/* ======================================================================
 * 10. Telemetry, session and masking
 *
 * A session is one run directory and its streams.  Every line a session
 * writes -- events, metrics, logs, the files the runner materializes --
 * passes through ss_scrub, which replaces each known secret value with
 * ***MASKED***; secret keys are masked before serialization (mk_*).  So a
 * value that reached the session as a secret never reaches the disk, even
 * inside an error message.  Event and metric lines are written with one
 * write(2) each on O_APPEND descriptors, so a line is never torn.  In
 * worker mode the same lines go to one descriptor as JSON objects with a
 * "type" field (section 15).  Two steps of a streamed pair (section 14)
 * emit at once, so the secret list, the scrub and every write of a line
 * happen under the session's mutex.
 * ====================================================================== */

#define MK_MASK "***MASKED***"

static int mk_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

static int mk_in_list(const char *key, const char *const *list) {
  size_t i;
  for (i = 0; list[i]; i++)
    if (mk_ieq(key, list[i])) return 1;
  return 0;
}

/* Keys whose values compile refuses inline and drops from cfg (reference
 * section 3); primary_key and url are never secrets. */
static int mk_is_secret_key(const char *key) {
  static const char *const secret[] = {
      "password", "passwd", "pwd", "token", "secret", "secret_key", "service_key",
      "service_role_key", "api_key", "access_token", "refresh_token", "auth_token",
      "bearer_token", "client_secret", "client_key", "key", "dsn", "connection_string",
      "anon_key", "pg_dsn", "sql_dsn", "pg_password", NULL};
  if (!key || mk_ieq(key, "primary_key") || mk_ieq(key, "url")) return 0;
  return mk_in_list(key, secret);
}

int osiris_is_credential_name(const char *name) {
  static const char *const parts[] = {"auth", "key", "token", "secret", "password", "cookie",
                                      "session", "credential", "signature", NULL};
  char low[128];
  size_t i, n = name ? strlen(name) : 0;
  if (!name) return 0;
  if (n >= sizeof low) return 1; /* too long to tell: treat as one */
  for (i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)name[i]);
  for (i = 0; parts[i]; i++)
    if (strstr(low, parts[i])) return 1;
  return 0;
}

/* Keys masked wherever osiris shows or writes a value: the exact name, or
 * any "_"-separated part of it, from the list below (reference section 9). */
static int mk_is_masked_key(const char *key) {
  static const char *const parts[] = {
      "password", "passwd", "pass", "pwd", "secret", "key", "token", "auth", "credential",
      "credentials", "apikey", "dsn", "authorization", NULL};
  static const char *const whole[] = {
      "api_key", "access_token", "refresh_token", "private_key", "client_secret",
      "service_role_key", "anon_key", "access_key_id", "secret_access_key",
      "connection_string", "pg_dsn", "sql_dsn", NULL};
  static const char *const never[] = {"primary_key", "foreign_key", "sort_key", "partition_key",
                                      "unique_key", "key_columns", "tokens",
                                      /* an auth mode and a header name, not credentials */
                                      "auth_type", "auth_header_name", NULL};
  char part[128];
  const char *p;
  if (!key || !*key || mk_in_list(key, never)) return 0;
  if (mk_in_list(key, whole)) return 1;
  p = key;
  while (*p) {
    size_t n = strcspn(p, "_-.");
    if (n > 0 && n < sizeof part) {
      memcpy(part, p, n);
      part[n] = 0;
      if (mk_in_list(part, parts)) return 1;
    }
    p += n;
    if (*p) p++;
  }
  return 0;
}

/* Deep copy with every value under a masked key replaced.  A string that is
 * an environment reference ("${VAR}") is shown as written: it names a
 * variable, it is not the secret. */
/* "${NAME}" exactly: a reference to a variable, shown as written.  With an
 * inline default ("${NAME:-x}") the default is a literal and is masked. */
static int mk_is_env_ref(const char *s) {
  size_t i = 2;
  if (!os_startswith(s, "${") || !(isalpha((unsigned char)s[2]) || s[2] == '_')) return 0;
  while (isalnum((unsigned char)s[i]) || s[i] == '_') i++;
  return s[i] == '}' && s[i + 1] == 0;
}

static osiris_json *mk_mask_copy(const osiris_json *v) {
  osiris_json *out;
  size_t i;
  if (!v) return NULL;
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return osiris_json_copy(v);
  out = js_alloc(v->kind);
  if (!out) return NULL;
  for (i = 0; i < v->u.c.n; i++) {
    const osiris_json *item = v->u.c.items[i];
    osiris_json *copy;
    osiris_rc rc;
    if (v->kind == OSIRIS_JSON_OBJECT && mk_is_masked_key(v->u.c.keys[i]) &&
        item->kind != OSIRIS_JSON_NULL &&
        !(item->kind == OSIRIS_JSON_STRING && mk_is_env_ref(item->u.s.ptr)) &&
        item->kind != OSIRIS_JSON_OBJECT)
      copy = osiris_json_new_str(MK_MASK, strlen(MK_MASK));
    else
      copy = mk_mask_copy(item);
    if (!copy) goto fail;
    rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, v->u.c.keys[i], copy)
                                       : osiris_json_push(out, copy);
    if (rc) goto fail;
  }
  return out;
fail:
  osiris_json_free(out);
  return NULL;
}

/* ---------------------------------------------------------------- session */

typedef struct ss_session {
  osiris_ctx *ctx;
  char *id;            /* YYYYMMDD_HHMMSS_<8 hex>, UTC */
  char *dir;           /* absolute run directory */
  int events_fd;       /* -1 in worker mode */
  int metrics_fd;
  int log_fd;          /* osiris.log */
  int debug_fd;        /* debug.log (verbose only), else -1 */
  int worker_fd;       /* >= 0: lines go here as {"type":...} objects */
  int tee_fd;          /* worker mode: a copy of every worker_fd line (borrowed) */
  int verbose;
  char **secrets;      /* values scrubbed from every line */
  size_t n_secrets, cap_secrets;
  int64_t start_us;
  double start_ms;
  pthread_mutex_t mu;  /* secrets, scrub and writes (see the banner) */
  int mu_ready;
  int lost;            /* lines not written: no memory, or a failed write (under mu) */
  int write_errno;     /* the first failed write of a line (ENOSPC...), else 0 */
  const char *write_file; /* its file, relative to dir (static), NULL: the worker's output */
} ss_session;

static void ss_session_init(ss_session *ss) {
  memset(ss, 0, sizeof *ss);
  ss->events_fd = ss->metrics_fd = ss->log_fd = ss->debug_fd = ss->worker_fd = ss->tee_fd = -1;
  ss->mu_ready = pthread_mutex_init(&ss->mu, NULL) == 0;
}

/* The mutex is taken through a const session too: scrubbing reads state. */
static void ss_lock(const ss_session *ss) {
  if (ss->mu_ready) pthread_mutex_lock((pthread_mutex_t *)&ss->mu);
}

static void ss_unlock(const ss_session *ss) {
  if (ss->mu_ready) pthread_mutex_unlock((pthread_mutex_t *)&ss->mu);
}

static void ss_new_id(char *out, size_t cap) {
  time_t now = time(NULL);
  struct tm tm;
  char hex[9];
  gmtime_r(&now, &tm);
  os_random_hex(hex, 8);
  snprintf(out, cap, "%04d%02d%02d_%02d%02d%02d_%s", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, hex);
}

static osiris_rc ss_push_secret(ss_session *ss, const char *value) {
  size_t i;
  for (i = 0; i < ss->n_secrets; i++)
    if (strcmp(ss->secrets[i], value) == 0) return OSIRIS_OK;
  if (ss->n_secrets == ss->cap_secrets) {
    size_t cap = ss->cap_secrets ? ss->cap_secrets * 2 : 8;
    char **p = os_realloc(ss->secrets, cap * sizeof *p);
    if (!p) return OSIRIS_ENOMEM;
    ss->secrets = p;
    ss->cap_secrets = cap;
  }
  ss->secrets[ss->n_secrets] = os_strdup(value);
  if (!ss->secrets[ss->n_secrets]) return OSIRIS_ENOMEM;
  ss->n_secrets++;
  return OSIRIS_OK;
}

/* Remember a secret value so that it is scrubbed from every later line.
 * A value shorter than 4 bytes is scrubbed only where it stands as a whole
 * value (ss_short_match): everywhere, it would mangle ordinary text.
 * Lines are scrubbed after JSON serialization,
 * where a secret with a quote, a backslash or a control character appears
 * in escaped form, so that spelling is remembered too. */
static osiris_rc ss_add_secret(ss_session *ss, const char *value) {
  osiris_json *sv;
  os_buf b = {0};
  osiris_rc rc;
  if (!value || !*value) return OSIRIS_OK;
  ss_lock(ss);
  rc = ss_push_secret(ss, value);
  ss_unlock(ss);
  if (rc) return rc;
  sv = osiris_json_new_str(value, strlen(value));
  if (!sv || js_dump(&b, sv, 0)) {
    rc = OSIRIS_ENOMEM;
  } else if (b.len >= 2 && (b.len - 2 != strlen(value) || memcmp(b.p + 1, value, b.len - 2))) {
    b.p[b.len - 1] = 0;
    ss_lock(ss);
    rc = ss_push_secret(ss, b.p + 1);
    ss_unlock(ss);
  }
  osiris_json_free(sv);
  ob_free(&b);
  return rc;
}

/* The password inside "scheme://user:password@host" is a secret of its own:
 * it can reach a message without the rest of the URL. */
static osiris_rc ss_add_url_password(ss_session *ss, const char *s) {
  const char *scheme = strstr(s, "://"), *at, *colon;
  char *pw;
  osiris_rc rc;
  if (!scheme) return OSIRIS_OK;
  scheme += 3;
  at = strchr(scheme, '@');
  if (!at) return OSIRIS_OK;
  colon = memchr(scheme, ':', (size_t)(at - scheme));
  if (!colon) return OSIRIS_OK;
  pw = os_strndup(colon + 1, (size_t)(at - colon - 1));
  if (!pw) return OSIRIS_ENOMEM;
  rc = ss_add_secret(ss, pw);
  if (!rc && strchr(pw, '%')) { /* the spelling a driver sends: percent-decoded */
    char *dec = pw, *w = pw;
    for (; *dec; dec++, w++) {
      if (dec[0] == '%' && isxdigit((unsigned char)dec[1]) && isxdigit((unsigned char)dec[2])) {
        char hex[3] = {dec[1], dec[2], 0};
        *w = (char)strtol(hex, NULL, 16);
        dec += 2;
      } else {
        *w = *dec;
      }
    }
    *w = 0;
    rc = ss_add_secret(ss, pw);
  }
  os_free(pw);
  return rc;
}

/* Register every secret value of a resolved connection (or any object). */
static osiris_rc ss_add_secrets_of(ss_session *ss, const osiris_json *v) {
  size_t i;
  osiris_rc rc;
  if (!v || v->kind != OSIRIS_JSON_OBJECT) return OSIRIS_OK;
  for (i = 0; i < v->u.c.n; i++) {
    const osiris_json *item = v->u.c.items[i];
    if (item->kind == OSIRIS_JSON_OBJECT) {
      rc = ss_add_secrets_of(ss, item);
      if (rc) return rc;
    } else if (item->kind == OSIRIS_JSON_STRING) {
      if (mk_is_masked_key(v->u.c.keys[i])) {
        rc = ss_add_secret(ss, item->u.s.ptr);
        if (rc) return rc;
      }
      rc = ss_add_url_password(ss, item->u.s.ptr);
      if (rc) return rc;
    }
  }
  return OSIRIS_OK;
}

/* A short secret (1-3 bytes) at s[i..i+sl) counts only as a whole value:
 * after ':' or '=' (or ':"', '="'), before the end, a quote, '@', '&',
 * ';', ',', '/', '}' or white space: a DSN's password, a key=value pair, a
 * JSON string value. */
static int ss_short_match(const char *s, size_t n, size_t i, size_t sl) {
  char after = i + sl < n ? s[i + sl] : 0;
  int before = i > 0 && (s[i - 1] == ':' || s[i - 1] == '=');
  if (i > 1 && s[i - 1] == '"' && (s[i - 2] == ':' || s[i - 2] == '=')) before = 1;
  return before && (!after || strchr("\"'@&;,/} \t\r\n", after) != NULL);
}

/* Replace every known secret in s[0..n) by MK_MASK; returns an owned copy
 * or NULL when there was nothing to replace (the caller keeps s).  NULL
 * with *oom set when the copy could not be made: then s may hold a secret
 * and must not be written.  The caller holds the session's mutex. */
static char *ss_scrub_locked(const ss_session *ss, const char *s, size_t n, size_t *out_len, int *oom) {
  os_buf b = {0};
  size_t i = 0, k;
  int changed = 0;
  *oom = 0;
  if (!ss || ss->n_secrets == 0) return NULL;
  while (i < n) {
    size_t best = 0;
    for (k = 0; k < ss->n_secrets; k++) {
      size_t sl = strlen(ss->secrets[k]);
      if (sl > best && sl <= n - i && memcmp(s + i, ss->secrets[k], sl) == 0 &&
          (sl >= 4 || ss_short_match(s, n, i, sl)))
        best = sl;
    }
    if (best) {
      if (ob_puts(&b, MK_MASK)) goto oom;
      i += best;
      changed = 1;
    } else {
      if (ob_putc(&b, s[i])) goto oom;
      i++;
    }
  }
  if (!changed) {
    ob_free(&b);
    return NULL;
  }
  if (out_len) *out_len = b.len;
  return ob_take(&b);
oom:
  ob_free(&b);
  *oom = 1;
  return NULL;
}

/* What a message says when it could not be scrubbed for want of memory. */
#define SS_WITHHELD "(message withheld: out of memory while masking secrets)"

static char *ss_scrub(const ss_session *ss, const char *s, size_t n, size_t *out_len, int *oom) {
  char *out;
  *oom = 0;
  if (!ss) return NULL;
  ss_lock(ss);
  out = ss_scrub_locked(ss, s, n, out_len, oom);
  ss_unlock(ss);
  return out;
}

/* s (a message in a fixed buffer of cap bytes) scrubbed in place; when
 * that needs memory that is not there, s becomes SS_WITHHELD. */
static void ss_scrub_buf(const ss_session *ss, char *s, size_t cap) {
  int oom;
  char *clean = ss_scrub(ss, s, strlen(s), NULL, &oom);
  if (clean) snprintf(s, cap, "%s", clean);
  else if (oom) snprintf(s, cap, "%s", SS_WITHHELD);
  os_free(clean);
}

/* Count a line that was not written for want of memory: the run fails. */
static void ss_lost_line(const ss_session *ss) {
  ss_lock(ss);
  ((ss_session *)ss)->lost++;
  ss_unlock(ss);
}

/* write(2) until done: 0, or the errno of a descriptor that took only
 * *done bytes of the n. */
static int ss_write_all(int fd, const char *p, size_t n, size_t *done) {
  *done = 0;
  while (*done < n) {
    ssize_t w = write(fd, p + *done, n - *done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno ? errno : EIO;
    if (w == 0) return EIO;
    *done += (size_t)w;
  }
  return 0;
}

/* A line a file took only part of (a full disk): the part is cut off
 * again (O_APPEND: it is the end of the file), so no torn line stays for
 * a reader to choke on.  A pipe cannot be cut. */
static void ss_cut_line(int fd, size_t done) {
  off_t end;
  if (done > 0 && (end = lseek(fd, 0, SEEK_END)) >= (off_t)done) {
    int cut = ftruncate(fd, end - (off_t)done);
    (void)cut;
  }
}

/* A line that could not be written: cut, counted as lost (the run fails),
 * and the first such error kept for the run's message.  Under the
 * session's mutex. */
static void ss_write_failed(ss_session *ss, int fd, size_t done, int e) {
  ss_cut_line(fd, done);
  ss->lost++;
  if (ss->write_errno) return;
  ss->write_errno = e;
  ss->write_file = fd == ss->events_fd    ? "events.jsonl"
                   : fd == ss->metrics_fd ? "metrics.jsonl"
                   : fd == ss->log_fd     ? "osiris.log"
                   : fd == ss->debug_fd   ? "debug.log"
                                          : NULL;
}

static void ss_write_line(const ss_session *ss, int fd, const char *line, size_t n) {
  char *clean;
  size_t clean_len = n, done;
  int oom, e;
  if (fd < 0) return;
  ss_lock(ss);
  clean = ss_scrub_locked(ss, line, n, &clean_len, &oom);
  if (oom) { /* the line may hold a secret: not written */
    ((ss_session *)ss)->lost++;
    ss_unlock(ss);
    return;
  }
  if (clean) {
    line = clean;
    n = clean_len;
  }
  e = ss_write_all(fd, line, n, &done);
  if (e) ss_write_failed((ss_session *)ss, fd, done, e);
  /* Under the same lock: the copy has the same lines in the same order. */
  if (fd == ss->worker_fd && ss->tee_fd >= 0 && ss_write_all(ss->tee_fd, line, n, &done))
    ss_cut_line(ss->tee_fd, done); /* the line itself reached the host */
  ss_unlock(ss);
  os_free(clean);
}

/* Build {"ts","session",<kind_key>:name, fields...} and write it.  fields
 * is taken over.  In worker mode the object starts with "type". */
static void ss_emit(ss_session *ss, int fd, const char *type, const char *kind_key,
                    const char *name, osiris_json *fields) {
  osiris_json *line = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  char ts[64];
  size_t i;
  /* rn_fields() and friends give NULL or an incomplete object only when
   * memory ran out: such a line is lost, not written wrong. */
  if (!line || !fields || fields->incomplete) goto done;
  os_iso8601(os_wall_us(), ts);
  if (ss->worker_fd >= 0 && js_set_str(line, "type", type)) goto done;
  if (js_set_str(line, "ts", ts) || js_set_str(line, "session", ss->id ? ss->id : "") ||
      js_set_str(line, kind_key, name))
    goto done;
  if (fields && fields->kind == OSIRIS_JSON_OBJECT) {
    for (i = 0; i < fields->u.c.n; i++) {
      osiris_json *masked = NULL;
      const char *k = fields->u.c.keys[i];
      const osiris_json *fv = fields->u.c.items[i];
      if (os_streq(k, "ts") || os_streq(k, "session") || os_streq(k, kind_key)) continue;
      /* "key" alone names an input or a setting in events, not a secret. */
      masked = (fv->kind == OSIRIS_JSON_STRING && mk_is_masked_key(k) && !os_streq(k, "key"))
                   ? osiris_json_new_str(MK_MASK, strlen(MK_MASK))
                   : osiris_json_copy(fv);
      if (!masked || osiris_json_set(line, k, masked)) goto done;
    }
  }
  if (js_dump(&b, line, 0) || ob_putc(&b, '\n')) goto done;
  ss_write_line(ss, ss->worker_fd >= 0 ? ss->worker_fd : fd, b.p, b.len);
  ob_free(&b);
  osiris_json_free(line);
  osiris_json_free(fields);
  return;
done:
  if (ss->worker_fd >= 0 || fd >= 0) ss_lost_line(ss);
  ob_free(&b);
  osiris_json_free(line);
  osiris_json_free(fields);
}

static void ss_event(ss_session *ss, const char *name, osiris_json *fields) {
  ss_emit(ss, ss->events_fd, "event", "event", name, fields);
}

static void ss_metric(ss_session *ss, const char *name, double value, const char *unit,
                      const char *step_id) {
  osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *val;
  if (!f) {
    ss_lost_line(ss);
    return;
  }
  /* Counts print as integers; measurements keep their fraction. */
  if (value == floor(value) && fabs(value) < 9007199254740992.0)
    val = osiris_json_new_int((int64_t)value);
  else
    val = osiris_json_new_double(value);
  if (!val || osiris_json_set(f, "value", val)) goto fail;
  if (unit && js_set_str(f, "unit", unit)) goto fail;
  if (step_id) {
    osiris_json *tags = js_alloc(OSIRIS_JSON_OBJECT);
    if (tags && js_set_str(tags, "step_id", step_id)) {
      osiris_json_free(tags);
      goto fail;
    }
    if (osiris_json_set(f, "tags", tags)) goto fail;
  }
  ss_emit(ss, ss->metrics_fd, "metric", "metric", name, f);
  return;
fail:
  ss_lost_line(ss);
  osiris_json_free(f);
}

static const char *ss_level_name(int level) {
  static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  return names[level < 0 ? 0 : level > 3 ? 3 : level];
}

static void ss_vlog(ss_session *ss, int level, const char *fmt, va_list ap) {
  char msg[4096], line[4400], stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  size_t n;
  vsnprintf(msg, sizeof msg, fmt, ap);
  ss_scrub_buf(ss, msg, sizeof msg);
  if (ss->worker_fd >= 0) {
    osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
    if (f) js_set_str(f, "level", ss_level_name(level));
    if (f) js_set_str(f, "message", msg);
    ss_emit(ss, -1, "log", "log", "osiris", f); /* NULL or incomplete: counted as lost */
    return;
  }
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  n = (size_t)snprintf(line, sizeof line, "%s - osiris - [%s] - %s - %s\n", stamp,
                       ss->id ? ss->id : "-", ss_level_name(level), msg);
  if (n >= sizeof line) n = sizeof line - 1;
  if (level >= 1) ss_write_line(ss, ss->log_fd, line, n);
  if (ss->verbose) ss_write_line(ss, ss->debug_fd, line, n);
  if (ss->ctx && ss->ctx->log_fn && (level >= 1 || ss->verbose)) {
    line[n > 0 ? n - 1 : 0] = 0;
    ss_lock(ss);
    ss->ctx->log_fn(ss->ctx->log_user, level, line);
    ss_unlock(ss);
  }
}

static OS_PRINTF(3, 4) void ss_log(ss_session *ss, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ss_vlog(ss, level, fmt, ap);
  va_end(ap);
}

/* -1 with errno set (ENOMEM when the path could not be built). */
static int ss_open(const char *dir, const char *name) {
  char *path = os_path_join(dir, name);
  int fd;
  if (!path) {
    errno = ENOMEM;
    return -1;
  }
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  os_free(path);
  return fd;
}

/* Create logs_dir/run_<id>/ and open its streams.  worker_fd >= 0 selects
 * worker mode: the directory is dir itself and lines go to worker_fd. */
static osiris_rc ss_open_session(ss_session *ss, osiris_ctx *ctx, const char *logs_dir,
                                 const char *fixed_dir, const char *fixed_id, int verbose,
                                 int worker_fd, os_err *err) {
  char id[64];
  osiris_rc rc;
  ss->ctx = ctx;
  ss->verbose = verbose;
  ss->worker_fd = worker_fd;
  ss->start_us = os_wall_us();
  ss->start_ms = os_now_ms();
  if (fixed_id)
    snprintf(id, sizeof id, "%s", fixed_id);
  else
    ss_new_id(id, sizeof id);
  ss->id = os_strdup(id);
  if (fixed_dir) {
    ss->dir = os_path_abs(ctx->base_dir, fixed_dir);
  } else {
    char *logs = os_path_abs(ctx->base_dir, logs_dir ? logs_dir : "logs");
    char *name = os_asprintf("run_%s", id);
    ss->dir = logs && name ? os_path_join(logs, name) : NULL;
    os_free(logs);
    os_free(name);
  }
  if (!ss->id || !ss->dir) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_mkdir_p(ss->dir, err);
  if (rc) return rc;
  if (worker_fd < 0) {
    ss->events_fd = ss_open(ss->dir, "events.jsonl");
    ss->metrics_fd = ss_open(ss->dir, "metrics.jsonl");
    ss->log_fd = ss_open(ss->dir, "osiris.log");
    if (verbose) ss->debug_fd = ss_open(ss->dir, "debug.log");
    if (ss->events_fd < 0 || ss->metrics_fd < 0 || ss->log_fd < 0 || (verbose && ss->debug_fd < 0))
      return errno == ENOMEM ? os_fail(err, OSIRIS_ENOMEM, "out of memory")
                             : os_fail(err, OSIRIS_EIO, "cannot open the run files in %s: %s", ss->dir,
                                       strerror(errno));
  }
  return OSIRIS_OK;
}

static void ss_close(ss_session *ss) {
  size_t i;
  if (ss->events_fd >= 0) close(ss->events_fd);
  if (ss->metrics_fd >= 0) close(ss->metrics_fd);
  if (ss->log_fd >= 0) close(ss->log_fd);
  if (ss->debug_fd >= 0) close(ss->debug_fd);
  ss->events_fd = ss->metrics_fd = ss->log_fd = ss->debug_fd = -1;
  for (i = 0; i < ss->n_secrets; i++) {
    /* Wipe before free: the process may dump core or be inspected. */
    memset(ss->secrets[i], 0, strlen(ss->secrets[i]));
    os_free(ss->secrets[i]);
  }
  os_free(ss->secrets);
  ss->secrets = NULL;
  ss->n_secrets = ss->cap_secrets = 0;
  os_free(ss->id);
  os_free(ss->dir);
  ss->id = ss->dir = NULL;
  if (ss->mu_ready) pthread_mutex_destroy(&ss->mu);
  ss->mu_ready = 0;
}

/* Write a JSON document into the run directory (scrubbed, pretty, with a
 * final newline); rel is relative to the run directory. */
static osiris_rc ss_write_json(ss_session *ss, const char *rel, const osiris_json *doc,
                               os_err *err) {
  os_buf b = {0};
  char *path = NULL, *clean;
  size_t clean_len = 0;
  int oom = 0;
  osiris_rc rc;
  rc = js_dump(&b, doc, OSIRIS_JSON_PRETTY);
  if (!rc) rc = ob_putc(&b, '\n');
  if (rc) {
    ob_free(&b);
    return os_fail(err, rc, "cannot serialize %s", rel);
  }
  path = os_path_join(ss->dir, rel);
  if (!path) {
    ob_free(&b);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  clean = ss_scrub(ss, b.p, b.len, &clean_len, &oom);
  rc = oom     ? os_fail(err, OSIRIS_ENOMEM, "out of memory")
       : clean ? os_write_file(path, clean, clean_len, err)
               : os_write_file(path, b.p, b.len, err);
  os_free(clean);
  os_free(path);
  ob_free(&b);
  return rc;
}

/* ======================================================================
 * 11. Connections
 *
 * osiris_connections.yaml maps family -> alias -> fields.  Values may
 * refer to the environment as ${VAR}, ${VAR:-default} (default when VAR is
 * unset or empty) and ${VAR-default} (default only when VAR is unset); the
 * environment is the process environment first, then the .env files
 * ($OSIRIS_HOME/.env, then <base_dir>/.env; the first definition wins and
 * the process environment is never overridden).  A resolved connection
 * holds secret values in memory only: nothing in this section writes one
 * to a file or puts one into an error message.  Messages name variables,
 * fields, families and aliases, never values.
 * ====================================================================== */

#define CN_FILE_NAME "osiris_connections.yaml"
#define CN_MASK "***MASKED***"
#define CN_MAX_NAME 128 /* family or alias */

static int cn_is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static int cn_is_env_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int cn_is_env_char(char c) {
  return cn_is_env_start(c) || (c >= '0' && c <= '9');
}

/* ---------------------------------------------------------------- .env */

static int cn_is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parse one .env text and add every KEY not yet defined to obj.  The
 * syntax is the python-dotenv subset people write: KEY=VALUE, `export `,
 * `#` comments, 'single' quotes verbatim, "double" quotes with \n \t \r \\
 * \" escapes (both may span lines), unquoted values trimmed with ` #`
 * starting a comment.  No shell expansion.  Malformed lines are skipped,
 * as python-dotenv does, and each is recorded as "<name>:<line>" in
 * skipped (when not NULL; never the line's text, which may hold a secret)
 * for validate and compile to warn about. */
static osiris_rc cn_parse_dotenv(const char *text, size_t len, osiris_json *obj, const char *name,
                                 osiris_json *skipped) {
  size_t i = 0, start = 0;
  os_buf val = {0};
  osiris_rc rc = OSIRIS_OK;
  while (i < len) {
    size_t ks, ke;
    char *key = NULL;
    ob_free(&val);
    while (i < len && (cn_is_blank(text[i]) || text[i] == '\n')) i++;
    if (i >= len) break;
    start = i;
    if (text[i] == '#') goto skip_line;
    if (len - i > 7 && memcmp(text + i, "export", 6) == 0 && (text[i + 6] == ' ' || text[i + 6] == '\t')) {
      i += 6;
      while (i < len && cn_is_blank(text[i])) i++;
    }
    ks = i;
    while (i < len && (cn_is_env_char(text[i]) || text[i] == '.' || text[i] == '-')) i++;
    ke = i;
    if (ke == ks || !cn_is_env_start(text[ks])) goto bad_line;
    while (i < len && cn_is_blank(text[i])) i++;
    if (i >= len || text[i] != '=') goto bad_line;
    i++;
    while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i < len && text[i] == '\'') {
      size_t vs = ++i;
      while (i < len && text[i] != '\'') i++;
      if (i >= len) goto bad_line; /* unterminated: skip like dotenv */
      rc = ob_put(&val, text + vs, i - vs);
      if (rc) goto done;
      i++;
    } else if (i < len && text[i] == '"') {
      int closed = 0;
      i++;
      while (i < len) {
        char c = text[i++];
        if (c == '"') {
          closed = 1;
          break;
        }
        if (c == '\\' && i < len) {
          char e = text[i++];
          switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case '\\': c = '\\'; break;
          case '"': c = '"'; break;
          case '\'': c = '\''; break;
          default:
            rc = ob_putc(&val, '\\');
            if (rc) goto done;
            c = e;
          }
        }
        rc = ob_putc(&val, c);
        if (rc) goto done;
      }
      if (!closed) goto bad_line;
    } else {
      size_t vs = i, ve;
      while (i < len && text[i] != '\n') {
        if (text[i] == '#' && i > vs && (text[i - 1] == ' ' || text[i - 1] == '\t')) break;
        i++;
      }
      ve = i;
      while (ve > vs && (cn_is_blank(text[ve - 1]))) ve--;
      rc = ob_put(&val, text + vs, ve - vs);
      if (rc) goto done;
    }
    key = os_strndup(text + ks, ke - ks);
    if (!key) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    if (!osiris_json_get(obj, key)) {
      osiris_json *s = osiris_json_new_str(val.p ? val.p : "", val.len);
      rc = s ? osiris_json_set(obj, key, s) : OSIRIS_ENOMEM;
    }
    os_free(key);
    if (rc) goto done;
    goto skip_line;
  bad_line:
    if (skipped && name) {
      size_t line = 1, k;
      char at[64];
      for (k = 0; k < start; k++) line += text[k] == '\n';
      snprintf(at, sizeof at, ":%zu", line);
      ob_free(&val);
      if ((rc = ob_puts(&val, name)) || (rc = ob_puts(&val, at)) || (rc = js_push_str(skipped, val.p)))
        goto done;
    }
  skip_line:
    while (i < len && text[i] != '\n') i++;
  }
done:
  ob_free(&val);
  return rc;
}

static osiris_rc cn_load_dotenv_file(const char *path, osiris_json *obj, osiris_json *skipped) {
  char *text = NULL;
  size_t len = 0;
  osiris_rc rc;
  if (!os_is_file(path)) return OSIRIS_OK;
  rc = os_read_file(path, &text, &len, NULL);
  if (rc) return rc == OSIRIS_ENOMEM ? rc : OSIRIS_OK; /* unreadable .env: as if absent */
  rc = cn_parse_dotenv(text, len, obj, path, skipped);
  os_free(text);
  return rc;
}

/* Load the .env files once per context.  Only OSIRIS_HOME itself comes
 * from the real environment: a .env cannot move where .env is read. */
static osiris_rc cn_load_dotenv(osiris_ctx *ctx) {
  osiris_json *obj;
  const char *home = getenv("OSIRIS_HOME");
  char *path = NULL;
  osiris_rc rc = OSIRIS_OK;
  if (!ctx) return OSIRIS_EINVAL;
  if (ctx->dotenv) return OSIRIS_OK;
  obj = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!obj) return OSIRIS_ENOMEM;
  osiris_json_free(ctx->dotenv_skipped);
  if (!(ctx->dotenv_skipped = osiris_json_new(OSIRIS_JSON_ARRAY))) {
    osiris_json_free(obj);
    return OSIRIS_ENOMEM;
  }
  if (home && *home) {
    path = os_path_join(home, ".env");
    if (!path) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    rc = cn_load_dotenv_file(path, obj, ctx->dotenv_skipped);
    os_free(path);
    path = NULL;
    if (rc) goto done;
  }
  path = os_path_abs(ctx->base_dir, ".env");
  if (!path) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  rc = cn_load_dotenv_file(path, obj, ctx->dotenv_skipped);
done:
  os_free(path);
  if (rc) {
    osiris_json_free(obj);
    return rc;
  }
  ctx->dotenv = obj;
  return OSIRIS_OK;
}

osiris_rc osiris_ctx_set_dotenv(osiris_ctx *ctx, const char *text, size_t len) {
  osiris_json *obj, *skipped;
  osiris_rc rc;
  if (!ctx || (!text && len)) return OSIRIS_EINVAL;
  obj = osiris_json_new(OSIRIS_JSON_OBJECT);
  skipped = osiris_json_new(OSIRIS_JSON_ARRAY);
  rc = obj && skipped ? cn_parse_dotenv(text ? text : "", len, obj, "<memory>/.env", skipped)
                      : OSIRIS_ENOMEM;
  if (rc) {
    osiris_json_free(obj);
    osiris_json_free(skipped);
    return rc;
  }
  osiris_json_free(ctx->dotenv);
  osiris_json_free(ctx->dotenv_skipped);
  ctx->dotenv = obj;
  ctx->dotenv_skipped = skipped;
  return OSIRIS_OK;
}

osiris_rc osiris_ctx_set_connections(osiris_ctx *ctx, const char *text, size_t len,
                                     const char *name) {
  char *copy, *cname;
  if (!ctx || (!text && len)) return OSIRIS_EINVAL;
  if (len >= (size_t)OS_MAX_BUF) return OSIRIS_ELIMIT;
  copy = os_malloc(len + 1);
  cname = os_strdup(name ? name : "<memory>/" CN_FILE_NAME);
  if (!copy || !cname) {
    os_free(copy);
    os_free(cname);
    return OSIRIS_ENOMEM;
  }
  if (len) memcpy(copy, text, len);
  copy[len] = 0;
  os_free(ctx->conn_text);
  os_free(ctx->conn_name);
  ctx->conn_text = copy;
  ctx->conn_len = len;
  ctx->conn_name = cname;
  return OSIRIS_OK;
}

const char *osiris_ctx_getenv(osiris_ctx *ctx, const char *name) {
  const char *v;
  if (!name) return NULL;
  v = getenv(name);
  if (v) return v;
  if (!ctx) return NULL;
  if (!ctx->dotenv && cn_load_dotenv(ctx) != OSIRIS_OK) return NULL;
  return osiris_json_str(osiris_json_get(ctx->dotenv, name));
}

/* ------------------------------------------------------------ references */

/* "@family.alias" -> 1 with both filled; "@family" -> 1 with alias "" (the
 * family's default); anything else -> 0.  Names are [A-Za-z0-9_-]+. */
static int cn_parse_ref(const char *ref, char *family, size_t fcap, char *alias, size_t acap) {
  const char *p, *fs, *as = NULL;
  size_t fl, al = 0;
  if (!ref || ref[0] != '@' || !family || !alias || fcap == 0 || acap == 0) return 0;
  p = fs = ref + 1;
  while (cn_is_name_char(*p)) p++;
  fl = (size_t)(p - fs);
  if (fl == 0) return 0;
  if (*p == '.') {
    as = ++p;
    while (cn_is_name_char(*p)) p++;
    al = (size_t)(p - as);
    if (al == 0) return 0;
  }
  if (*p != 0 || fl >= fcap || al >= acap) return 0;
  memcpy(family, fs, fl);
  family[fl] = 0;
  if (as) memcpy(alias, as, al);
  alias[al] = 0;
  return 1;
}

/* -------------------------------------------------------------- the file */

/* The first existing connections file: $OSIRIS_HOME, base_dir, base_dir/..
 * ENOTFOUND names every place looked at. */
static osiris_rc cn_find_file(osiris_ctx *ctx, char **path_out, os_err *err) {
  const char *home = getenv("OSIRIS_HOME");
  char *cands[3] = {NULL, NULL, NULL};
  size_t n = 0, i;
  os_buf looked = {0};
  osiris_rc rc = OSIRIS_OK;
  *path_out = NULL;
  if (home && *home) {
    cands[n] = os_path_join(home, CN_FILE_NAME);
    if (!cands[n++]) goto oom;
  }
  cands[n] = os_path_abs(ctx->base_dir, CN_FILE_NAME);
  if (!cands[n++]) goto oom;
  cands[n] = os_path_abs(ctx->base_dir, "../" CN_FILE_NAME);
  if (!cands[n++]) goto oom;
  for (i = 0; i < n; i++) {
    if (os_is_file(cands[i])) {
      *path_out = cands[i];
      cands[i] = NULL;
      goto done;
    }
  }
  for (i = 0; i < n; i++) {
    if (ob_printf(&looked, "%s%s", i ? ", " : "", cands[i])) goto oom;
  }
  rc = os_fail(err, OSIRIS_ENOTFOUND, "no %s found (looked in: %s)", CN_FILE_NAME,
               looked.p ? looked.p : "");
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  for (i = 0; i < 3; i++) os_free(cands[i]);
  ob_free(&looked);
  return rc;
}

/* Load the file; *conns is its `connections` mapping (an empty object
 * when the key is absent, as 0.5.7 does), owned by *doc. */
static osiris_rc cn_load_file(osiris_ctx *ctx, char **path_out, osiris_json **doc,
                              const osiris_json **conns, os_err *err) {
  osiris_rc rc;
  const osiris_json *c;
  *doc = NULL;
  *conns = NULL;
  if (ctx->conn_text) {
    *path_out = os_strdup(ctx->conn_name);
    if (!*path_out) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
    rc = ym_parse(ctx->conn_text, ctx->conn_len, *path_out, doc, err);
  } else {
    rc = cn_find_file(ctx, path_out, err);
    if (rc) return rc;
    rc = ym_read_file(*path_out, doc, err);
  }
  if (rc) goto fail;
  if (osiris_json_kind_of(*doc) == OSIRIS_JSON_NULL) {
    osiris_json_free(*doc);
    *doc = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!*doc) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto fail;
    }
  }
  if (osiris_json_kind_of(*doc) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s: the top level must be a mapping", *path_out);
    goto fail;
  }
  c = osiris_json_get(*doc, "connections");
  if (!c || osiris_json_kind_of(c) == OSIRIS_JSON_NULL) {
    osiris_json *empty = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!empty || osiris_json_set(*doc, "connections", empty)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto fail;
    }
    c = osiris_json_get(*doc, "connections");
  }
  if (osiris_json_kind_of(c) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: 'connections' must be a mapping", *path_out,
                 (unsigned)c->line, (unsigned)c->col);
    goto fail;
  }
  *conns = c;
  return OSIRIS_OK;
fail:
  osiris_json_free(*doc);
  *doc = NULL;
  os_free(*path_out);
  *path_out = NULL;
  return rc;
}

/* "a, b, c" of an object's keys, "(none)" when empty; NULL on ENOMEM. */
static char *cn_key_list(const osiris_json *obj) {
  os_buf b = {0};
  size_t i, n = osiris_json_size(obj);
  if (n == 0) return os_strdup("(none)");
  for (i = 0; i < n; i++) {
    if (ob_printf(&b, "%s%s", i ? ", " : "", osiris_json_key_at(obj, i))) {
      ob_free(&b);
      return NULL;
    }
  }
  return ob_take(&b);
}

/* ---------------------------------------------------------- substitution */

/* Expand ${VAR}, ${VAR:-d} and ${VAR-d} in s into out.  Text that is not a
 * well-formed reference stays as written.  On an unset variable without a
 * default, *missing receives its name (owned) and ECONN is returned. */
static osiris_rc cn_subst_str(osiris_ctx *ctx, const char *s, size_t len, os_buf *out,
                              char **missing) {
  size_t i = 0;
  osiris_rc rc;
  while (i < len) {
    const char *close;
    size_t ns, ne, j;
    char *name;
    const char *val;
    int has_default = 0, colon = 0;
    size_t ds = 0, de = 0;
    if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
      rc = ob_putc(out, s[i++]);
      if (rc) return rc;
      continue;
    }
    close = memchr(s + i + 2, '}', len - i - 2);
    ns = i + 2;
    j = ns;
    if (close && j < len && cn_is_env_start(s[j])) {
      while (j < len && cn_is_env_char(s[j])) j++;
    }
    ne = j;
    if (!close || ne == ns) goto literal;
    if (s + j == close) {
      /* ${VAR} */
    } else if (s[j] == ':' && j + 1 < len && s[j + 1] == '-') {
      has_default = colon = 1;
      ds = j + 2;
      de = (size_t)(close - s);
    } else if (s[j] == '-') {
      has_default = 1;
      ds = j + 1;
      de = (size_t)(close - s);
    } else {
      goto literal;
    }
    name = os_strndup(s + ns, ne - ns);
    if (!name) return OSIRIS_ENOMEM;
    val = osiris_ctx_getenv(ctx, name);
    if (val && (!colon || *val)) {
      os_free(name);
      rc = ob_puts(out, val);
    } else if (has_default) {
      os_free(name);
      rc = ob_put(out, s + ds, de - ds);
    } else {
      *missing = name;
      return OSIRIS_ECONN;
    }
    if (rc) return rc;
    i = (size_t)(close - s) + 1;
    continue;
  literal:
    rc = ob_put(out, "${", 2);
    if (rc) return rc;
    i += 2;
  }
  return OSIRIS_OK;
}

/* A deep copy of v in which fn may replace any string node (*repl set) or
 * keep it (*repl left NULL).  path carries the dotted location of the node
 * ("steps[0].config.query"); line/col are kept on every copied node.  The
 * compiler reuses this for ${params.x}.  NULL on failure with *rc set. */
typedef osiris_rc (*cn_str_fn)(void *user, const osiris_json *s, const char *path,
                               osiris_json **repl);

static osiris_json *cn_map_strings(const osiris_json *v, cn_str_fn fn, void *user, os_buf *path,
                                   int depth, osiris_rc *rc) {
  osiris_json *out = NULL;
  size_t i;
  if (depth > OS_MAX_DEPTH) {
    *rc = OSIRIS_ELIMIT;
    return NULL;
  }
  if (v->kind == OSIRIS_JSON_STRING) {
    osiris_json *repl = NULL;
    *rc = fn(user, v, path->p ? path->p : "", &repl);
    if (*rc) return NULL;
    out = repl ? repl : osiris_json_copy(v);
  } else if (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) {
    out = osiris_json_new(v->kind);
    if (!out) goto oom;
    for (i = 0; i < v->u.c.n; i++) {
      size_t mark = path->len;
      osiris_json *item;
      osiris_rc prc = v->kind == OSIRIS_JSON_OBJECT
                          ? ob_printf(path, "%s%s", mark ? "." : "", v->u.c.keys[i])
                          : ob_printf(path, "[%zu]", i);
      if (prc) {
        osiris_json_free(out);
        *rc = prc;
        return NULL;
      }
      item = cn_map_strings(v->u.c.items[i], fn, user, path, depth + 1, rc);
      path->len = mark;
      path->p[mark] = 0;
      if (!item) {
        osiris_json_free(out);
        return NULL;
      }
      *rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, v->u.c.keys[i], item)
                                          : osiris_json_push(out, item);
      if (*rc) {
        osiris_json_free(out);
        return NULL;
      }
    }
  } else {
    out = osiris_json_copy(v);
  }
  if (!out) goto oom;
  out->line = v->line;
  out->col = v->col;
  return out;
oom:
  *rc = OSIRIS_ENOMEM;
  return NULL;
}

typedef struct cn_subst_ctx {
  osiris_ctx *ctx;
  const char *ref; /* "@family.alias", for messages */
  os_err *err;
} cn_subst_ctx;

static osiris_rc cn_subst_cb(void *user, const osiris_json *s, const char *path,
                             osiris_json **repl) {
  cn_subst_ctx *sc = user;
  os_buf out = {0};
  char *missing = NULL;
  osiris_rc rc;
  if (!memchr(s->u.s.ptr, '$', s->u.s.len)) return OSIRIS_OK;
  rc = cn_subst_str(sc->ctx, s->u.s.ptr, s->u.s.len, &out, &missing);
  if (rc == OSIRIS_ECONN) {
    rc = os_fail(sc->err, OSIRIS_ECONN,
                 "environment variable %s is not set (needed by %s of connection %s)", missing,
                 *path ? path : "a field", sc->ref);
    os_free(missing);
  } else if (!rc) {
    *repl = osiris_json_new_str(out.p ? out.p : "", out.len);
    if (!*repl) rc = OSIRIS_ENOMEM;
  }
  ob_free(&out);
  return rc;
}

/* -------------------------------------------------------------- resolve */

static osiris_rc cn_resolve(osiris_ctx *ctx, const char *ref, const char *family,
                            osiris_json **resolved, char **alias_out, os_err *err) {
  char fam[CN_MAX_NAME], alias[CN_MAX_NAME], refname[2 * CN_MAX_NAME + 4];
  char *path = NULL, *list = NULL;
  osiris_json *doc = NULL, *copy = NULL;
  const osiris_json *conns, *famobj, *entry = NULL;
  os_buf field = {0};
  osiris_rc rc;
  size_t i;
  *resolved = NULL;
  if (alias_out) *alias_out = NULL;
  if (ref) {
    if (!cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias))
      return os_fail(err, OSIRIS_ECONN,
                     "invalid connection reference '%s' (expected @family.alias)", ref);
    if (family && !os_streq(fam, family))
      return os_fail(err, OSIRIS_ECONN, "connection %s has family %s, but component needs %s",
                     ref, fam, family);
  } else {
    if (!family || !*family || strlen(family) >= sizeof fam)
      return os_fail(err, OSIRIS_ECONN, "no connection family given");
    memcpy(fam, family, strlen(family) + 1);
    alias[0] = 0;
  }
  rc = cn_load_file(ctx, &path, &doc, &conns, err);
  if (rc) return rc;
  famobj = osiris_json_get(conns, fam);
  if (!famobj || osiris_json_kind_of(famobj) != OSIRIS_JSON_OBJECT) {
    if (!(list = cn_key_list(conns))) goto oom;
    rc = os_fail(err, OSIRIS_ECONN, "connection family '%s' not found in %s; available: %s", fam,
                 path, list);
    goto done;
  }
  if (alias[0]) {
    entry = osiris_json_get(famobj, alias);
    if (!entry) {
      if (!(list = cn_key_list(famobj))) goto oom;
      rc = os_fail(err, OSIRIS_ECONN,
                   "connection alias '%s' not found in family '%s' in %s; available: %s", alias,
                   fam, path, list);
      goto done;
    }
  } else {
    for (i = 0; i < osiris_json_size(famobj) && !entry; i++) {
      const osiris_json *e = osiris_json_at(famobj, i);
      if (osiris_json_bool(osiris_json_get(e, "default"), 0)) {
        entry = e;
        snprintf(alias, sizeof alias, "%s", osiris_json_key_at(famobj, i));
      }
    }
    if (!entry && (entry = osiris_json_get(famobj, "default")) != NULL)
      snprintf(alias, sizeof alias, "default");
    if (!entry) {
      if (!(list = cn_key_list(famobj))) goto oom;
      rc = os_fail(err, OSIRIS_ECONN, "no default connection for family '%s'; available aliases: %s",
                   fam, list);
      goto done;
    }
  }
  snprintf(refname, sizeof refname, "@%s.%s", fam, alias);
  if (osiris_json_kind_of(entry) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_ECONN, "connection %s in %s must be a mapping of fields", refname, path);
    goto done;
  }
  {
    cn_subst_ctx sc;
    sc.ctx = ctx;
    sc.ref = refname;
    sc.err = err;
    copy = cn_map_strings(entry, cn_subst_cb, &sc, &field, 0, &rc);
    if (!copy) {
      if (rc == OSIRIS_ECONN) goto done;
      if (rc == OSIRIS_ELIMIT) {
        rc = os_fail(err, rc, "connection %s nests too deeply", refname);
        goto done;
      }
      goto oom;
    }
  }
  osiris_json_remove(copy, "default");
  if (alias_out && !(*alias_out = os_strdup(alias))) goto oom;
  *resolved = copy;
  copy = NULL;
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  osiris_json_free(copy);
  osiris_json_free(doc);
  ob_free(&field);
  os_free(path);
  os_free(list);
  return rc;
}

/* ------------------------------------------------------------------ list */

/* A display copy of one connection: secret fields masked, except a value
 * that is purely an environment reference, which is shown as written (it
 * names a variable, it is not a secret); a reference with an inline
 * default shows the default masked, since the default is a literal. */
static osiris_json *cn_mask_fields(const osiris_json *v, int depth) {
  osiris_json *out;
  size_t i;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_OBJECT || depth > OS_MAX_DEPTH)
    return osiris_json_copy(v);
  out = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!out) return NULL;
  for (i = 0; i < osiris_json_size(v); i++) {
    const char *k = osiris_json_key_at(v, i);
    const osiris_json *item = osiris_json_at(v, i);
    osiris_json *m = NULL;
    if (osiris_json_kind_of(item) == OSIRIS_JSON_OBJECT) {
      m = cn_mask_fields(item, depth + 1);
    } else if (mk_is_masked_key(k) && osiris_json_kind_of(item) != OSIRIS_JSON_NULL) {
      const char *s = osiris_json_str(item);
      size_t n = 0;
      if (s && s[0] == '$' && s[1] == '{' && cn_is_env_start(s[2])) {
        n = 3;
        while (cn_is_env_char(s[n])) n++;
      }
      if (n && s[n] == '}' && s[n + 1] == 0) {
        m = osiris_json_copy(item);
      } else if (n && (s[n] == '-' || (s[n] == ':' && s[n + 1] == '-')) &&
                 s[strlen(s) - 1] == '}') {
        char *shown = os_asprintf("%.*s%s}", (int)(n + (s[n] == ':' ? 2 : 1)), s, CN_MASK);
        m = shown ? osiris_json_new_str(shown, strlen(shown)) : NULL;
        os_free(shown);
      } else {
        m = osiris_json_new_str(CN_MASK, strlen(CN_MASK));
      }
    } else {
      m = osiris_json_copy(item);
    }
    if (!m || osiris_json_set(out, k, m)) {
      osiris_json_free(out);
      return NULL;
    }
  }
  return out;
}

/* {"file": path or null, "connections": {family: {alias: {masked}}}}.  A
 * missing connections file is not an error for a listing: file is null. */
static osiris_rc cn_list(osiris_ctx *ctx, osiris_json **out, os_err *err) {
  char *path = NULL;
  osiris_json *doc = NULL, *res = NULL, *fams = NULL;
  const osiris_json *conns;
  osiris_rc rc;
  size_t i, j;
  *out = NULL;
  res = osiris_json_new(OSIRIS_JSON_OBJECT);
  fams = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!res || !fams) goto oom;
  rc = cn_load_file(ctx, &path, &doc, &conns, err);
  if (rc == OSIRIS_ENOTFOUND) {
    rc = OSIRIS_OK;
    osiris_json *null_file = osiris_json_new(OSIRIS_JSON_NULL);
    if (!null_file || osiris_json_set(res, "file", null_file)) goto oom;
  } else if (rc) {
    goto done;
  } else {
    if (js_set_str(res, "file", path)) goto oom;
    for (i = 0; i < osiris_json_size(conns); i++) {
      const osiris_json *famobj = osiris_json_at(conns, i);
      osiris_json *f = osiris_json_new(OSIRIS_JSON_OBJECT);
      if (!f || osiris_json_set(fams, osiris_json_key_at(conns, i), f)) goto oom;
      for (j = 0; j < osiris_json_size(famobj); j++) {
        osiris_json *m = cn_mask_fields(osiris_json_at(famobj, j), 0);
        if (!m || osiris_json_set(f, osiris_json_key_at(famobj, j), m)) goto oom;
      }
    }
  }
  if (osiris_json_set(res, "connections", fams)) {
    fams = NULL;
    goto oom;
  }
  fams = NULL;
  *out = res;
  res = NULL;
  rc = OSIRIS_OK;
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  osiris_json_free(res);
  osiris_json_free(fams);
  osiris_json_free(doc);
  os_free(path);
  return rc;
}

/* ======================================================================
 * 12. OML and the compiler
 *
 * A pipeline (OML YAML) is checked as a whole: every problem is reported
 * at once as {type, message, location, line, col}, where location is the
 * dotted path ("steps[1].config.query") and line:col come from the YAML
 * node.  Every config value is checked against its driver's key table
 * (type, allowed values, range, alias, one-of group): see "config values:
 * specs" below.  The inline-secret scan runs on the document as written, before
 * ${params.x} is expanded, and no message ever contains the value of a
 * secret key.  Compilation is deterministic: the same OML, params and
 * profile give byte-identical manifest.yaml and cfg/<id>.json except the
 * meta.generated_at line, and no hash covers generated_at.  Fingerprints
 * and manifest_hash follow the reference (section 3) so that they equal
 * those of Python Osiris 0.5.7 for the same input.
 *
 * Choices where the reference is silent or buggy:
 *  - A string that is exactly "${params.x}" takes the parameter's JSON
 *    value and type (port: ${params.port} stays an integer); 0.5.7 always
 *    makes a string.  Inside a longer string a value is inserted the way
 *    Python's str() prints it (True/False/None, 7.0).
 *  - OSIRIS_PARAM_<NAME> is looked up (osiris_ctx_getenv, so .env counts)
 *    for every declared and every referenced parameter, not for every
 *    variable of the environment, so params_fp does not depend on
 *    unrelated variables.
 *  - An unknown profile is an error (0.5.7 ignores it); "default" means
 *    no profile.
 *  - Defaults of OSIRIS_KEY_CONN keys are not copied into cfg when the
 *    step names a connection, so they cannot shadow connection fields.
 * ====================================================================== */

#define CP_COMPILER "osiris-compiler/0.1"
#define CP_REGISTRY "osiris-registry/0.1"
#define CP_REGISTRY_FP_TEXT "registry-v0.1"
#define CP_LOC_CAP 1024

typedef struct cp_state {
  osiris_ctx *ctx;
  osiris_json *errors;   /* array of issues */
  osiris_json *warnings; /* array of issues */
  int secret;            /* an inline secret was found: OSIRIS_ESECRET */
  int nomem;             /* an issue could not be recorded */
  /* Connection references are looked up in osiris_connections.yaml,
   * loaded when a step first names one (values are not expanded, so no
   * secret is needed).  CP_CONN_STRICT (validate): a missing file is an
   * error.  CP_CONN_IF_FOUND (compile): its output never depends on the
   * file, so a pipeline still compiles where there is none (a warning);
   * an alias missing from a file that is there is an error. */
  int check_connections;
  int conn_tried;
  osiris_rc conn_rc; /* why loading failed */
  osiris_json *conn_doc;
  const osiris_json *conns; /* its connections mapping, NULL when it failed to load */
  char *conn_path;
  char conn_err[OS_ERR_CAP]; /* why it failed */
} cp_state;

static void cp_issue(cp_state *st, osiris_json *list, const char *type, const osiris_json *at,
                     const char *location, const char *fmt, ...) OS_PRINTF(6, 7);

static void cp_issue(cp_state *st, osiris_json *list, const char *type, const osiris_json *at,
                     const char *location, const char *fmt, ...) {
  va_list ap;
  char *msg;
  osiris_json *e;
  va_start(ap, fmt);
  msg = os_vasprintf(fmt, ap);
  va_end(ap);
  e = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!msg || !e || js_set_str(e, "type", type) || js_set_str(e, "message", msg) ||
      js_set_str(e, "location", location ? location : "") ||
      js_set_int(e, "line", at ? (int64_t)at->line : 0) ||
      js_set_int(e, "col", at ? (int64_t)at->col : 0)) {
    st->nomem = 1;
    osiris_json_free(e);
  } else if (osiris_json_push(list, e)) {
    st->nomem = 1;
  }
  os_free(msg);
}

#define CP_ERR(st, type, at, loc, ...) cp_issue((st), (st)->errors, (type), (at), (loc), __VA_ARGS__)
enum { CP_CONN_IF_FOUND = 1, CP_CONN_STRICT = 2 };

#define CP_WARN(st, type, at, loc, ...) \
  cp_issue((st), (st)->warnings, (type), (at), (loc), __VA_ARGS__)

static const char *cp_kind_name(const osiris_json *v) {
  switch (osiris_json_kind_of(v)) {
  case OSIRIS_JSON_NULL: return "null";
  case OSIRIS_JSON_BOOL: return "bool";
  case OSIRIS_JSON_INT: return "int";
  case OSIRIS_JSON_DOUBLE: return "float";
  case OSIRIS_JSON_STRING: return "string";
  case OSIRIS_JSON_ARRAY: return "list";
  case OSIRIS_JSON_OBJECT: return "mapping";
  }
  return "?";
}

/* ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ : ids become file names (cfg/<id>.json). */
static int cp_valid_step_id(const char *id) {
  const char *p;
  if (!id || !(isalnum((unsigned char)id[0]) || id[0] == '_')) return 0;
  for (p = id; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')) return 0;
  return p - id < 256;
}

static const char *cp_map_mode(const char *mode) {
  return os_streq(mode, "read") ? "extract" : mode;
}

/* Is word one of the space-separated words of list? */
static int cp_has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  const char *p = list;
  if (!list || !n) return 0;
  while (*p) {
    size_t k;
    while (*p == ' ') p++;
    k = strcspn(p, " ");
    if (k == n && memcmp(p, word, n) == 0) return 1;
    p += k;
  }
  return 0;
}

static const osiris_config_key *cp_key_find(const osiris_driver *d, const char *name, int nocase) {
  const osiris_config_key *k;
  if (!d || !d->keys) return NULL;
  for (k = d->keys; k->name; k++) {
    if (nocase ? strcasecmp(k->name, name) == 0 : strcmp(k->name, name) == 0) return k;
  }
  return NULL;
}

/* A value alias (alias_of "key=value", osiris.h): the length of the
 * target key's name, and *value the value true stands for; 0 for a
 * plain alias or none. */
static size_t cp_value_alias(const osiris_config_key *k, const char **value) {
  const char *eq = k->alias_of ? strchr(k->alias_of, '=') : NULL;
  if (!eq) return 0;
  *value = eq + 1;
  return (size_t)(eq - k->alias_of);
}

/* Compile-time secret: the common names (mk_is_secret_key) or a key the
 * component flags OSIRIS_KEY_SECRET (case-insensitive, like 0.5.7). */
static int cp_is_secret(const osiris_driver *d, const char *key) {
  const osiris_config_key *k;
  if (mk_is_secret_key(key)) return 1;
  k = cp_key_find(d, key, 1);
  return k && (k->flags & OSIRIS_KEY_SECRET);
}

/* The step's component name: `component`, else the legacy `uses`. */
static const osiris_json *cp_step_component(const osiris_json *step) {
  const osiris_json *c = osiris_json_get(step, "component");
  return c ? c : osiris_json_get(step, "uses");
}

/* The step's config: `config`, else the legacy `with`. */
static const osiris_json *cp_step_config(const osiris_json *step) {
  const osiris_json *c = osiris_json_get(step, "config");
  return c ? c : osiris_json_get(step, "with");
}

/* ---------------------------------------------------------- inline secrets */

static void cp_secret_check(cp_state *st, const osiris_json *v, const char *key,
                            const char *loc) {
  const char *s = osiris_json_str(v);
  if (s && strlen(s) > 4 && !os_startswith(s, "${")) {
    st->secret = 1;
    CP_ERR(st, "inline_secret", v, loc,
           "Inline secret at %s: use a connection or ${ENV_VAR} instead of a literal value for '%s'",
           loc, key);
  }
}

/* Walk the document as written; any secret-named key holding a literal. */
static void cp_scan_secrets(cp_state *st, const osiris_json *v, os_buf *path, int depth) {
  size_t i;
  if (depth > OS_MAX_DEPTH) return;
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return;
  for (i = 0; i < v->u.c.n; i++) {
    size_t mark = path->len;
    osiris_rc rc = v->kind == OSIRIS_JSON_OBJECT
                       ? ob_printf(path, "%s%s", mark ? "." : "", v->u.c.keys[i])
                       : ob_printf(path, "[%zu]", i);
    if (rc) {
      st->nomem = 1;
      return;
    }
    if (v->kind == OSIRIS_JSON_OBJECT && mk_is_secret_key(v->u.c.keys[i]))
      cp_secret_check(st, v->u.c.items[i], v->u.c.keys[i], path->p);
    cp_scan_secrets(st, v->u.c.items[i], path, depth + 1);
    path->len = mark;
    path->p[mark] = 0;
  }
}

/* Keys a component flags secret that the common list does not know. */
static void cp_scan_component_secrets(cp_state *st, const osiris_json *doc) {
  const osiris_json *steps = osiris_json_get(doc, "steps");
  size_t i, j;
  char loc[CP_LOC_CAP];
  for (i = 0; i < osiris_json_size(steps); i++) {
    const osiris_json *step = osiris_json_at(steps, i);
    const osiris_json *cfg = cp_step_config(step);
    const osiris_driver *d = osiris_driver_find(st->ctx, osiris_json_str(cp_step_component(step)));
    const char *cfgname = osiris_json_get(step, "config") ? "config" : "with";
    if (!d || osiris_json_kind_of(cfg) != OSIRIS_JSON_OBJECT) continue;
    for (j = 0; j < osiris_json_size(cfg); j++) {
      const char *k = osiris_json_key_at(cfg, j);
      const osiris_config_key *kd = cp_key_find(d, k, 1);
      const osiris_json *v = osiris_json_at(cfg, j);
      size_t e;
      if (kd && (kd->flags & OSIRIS_KEY_SECRET_ENTRIES) && osiris_json_kind_of(v) == OSIRIS_JSON_OBJECT)
        for (e = 0; e < osiris_json_size(v); e++) {
          const char *name = osiris_json_key_at(v, e);
          if (!osiris_is_credential_name(name)) continue;
          snprintf(loc, sizeof loc, "steps[%zu].%s.%s.%s", i, cfgname, k, name);
          cp_secret_check(st, osiris_json_at(v, e), name, loc);
        }
      if (mk_is_secret_key(k) || !kd || !(kd->flags & OSIRIS_KEY_SECRET)) continue;
      snprintf(loc, sizeof loc, "steps[%zu].%s.%s", i, cfgname, k);
      cp_secret_check(st, v, k, loc);
    }
  }
}

/* ---------------------------------------------------------------- params */

/* Call fn for every ${params.NAME} in s (NAME: one or more chars, no '}'),
 * as the 0.5.7 pattern \$\{params\.([^}]+)\} does. */
static int cp_next_param(const char *s, size_t len, size_t from, size_t *start, size_t *ns,
                         size_t *ne) {
  size_t i;
  for (i = from; i + 9 < len; i++) {
    const char *close;
    if (memcmp(s + i, "${params.", 9) != 0) continue;
    close = memchr(s + i + 9, '}', len - i - 9);
    if (!close) return 0;
    if ((size_t)(close - s) == i + 9) continue; /* empty name */
    *start = i;
    *ns = i + 9;
    *ne = (size_t)(close - s);
    return 1;
  }
  return 0;
}

/* Collect every referenced parameter name into names (an object used as a
 * set, value null). */
static osiris_rc cp_collect_refs(const osiris_json *v, osiris_json *names, int depth) {
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  if (depth > OS_MAX_DEPTH) return OSIRIS_ELIMIT;
  if (v->kind == OSIRIS_JSON_STRING) {
    size_t pos = 0, st, ns, ne;
    while (cp_next_param(v->u.s.ptr, v->u.s.len, pos, &st, &ns, &ne)) {
      char *name = os_strndup(v->u.s.ptr + ns, ne - ns);
      osiris_json *nul;
      if (!name) return OSIRIS_ENOMEM;
      if (!osiris_json_get(names, name)) {
        nul = osiris_json_new(OSIRIS_JSON_NULL);
        rc = nul ? osiris_json_set(names, name, nul) : OSIRIS_ENOMEM;
      }
      os_free(name);
      if (rc) return rc;
      pos = ne + 1;
    }
    return OSIRIS_OK;
  }
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return OSIRIS_OK;
  for (i = 0; i < v->u.c.n && !rc; i++) rc = cp_collect_refs(v->u.c.items[i], names, depth + 1);
  return rc;
}

static osiris_rc cp_set_copy(osiris_json *obj, const char *key, const osiris_json *v) {
  osiris_json *c = osiris_json_copy(v);
  return c ? osiris_json_set(obj, key, c) : OSIRIS_ENOMEM;
}

/* Effective parameters: OML defaults < OSIRIS_PARAM_<NAME> < profile
 * params < --param k=v.  Problems become issues; rc is for ENOMEM only. */
static osiris_rc cp_params(cp_state *st, const osiris_json *doc, const char *profile,
                           const char *const *cli, osiris_json **out) {
  osiris_json *params = osiris_json_new(OSIRIS_JSON_OBJECT);
  osiris_json *names = osiris_json_new(OSIRIS_JSON_OBJECT);
  const osiris_json *decl = osiris_json_get(doc, "params");
  const osiris_json *profiles = osiris_json_get(doc, "profiles");
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  *out = NULL;
  if (!params || !names) goto oom;
  if (decl && decl->kind != OSIRIS_JSON_OBJECT && decl->kind != OSIRIS_JSON_NULL) {
    CP_ERR(st, "invalid_params_type", decl, "params", "params must be a mapping, got %s",
           cp_kind_name(decl));
    decl = NULL;
  }
  for (i = 0; i < osiris_json_size(decl); i++) {
    const char *name = osiris_json_key_at(decl, i);
    const osiris_json *spec = osiris_json_at(decl, i);
    osiris_json *nul = osiris_json_new(OSIRIS_JSON_NULL);
    if (!nul || osiris_json_set(names, name, nul)) goto oom;
    if (spec->kind == OSIRIS_JSON_OBJECT) {
      const osiris_json *dflt = osiris_json_get(spec, "default");
      if (dflt && cp_set_copy(params, name, dflt)) goto oom;
    } else if (cp_set_copy(params, name, spec)) {
      goto oom;
    }
  }
  rc = cp_collect_refs(doc, names, 0);
  if (rc) goto done;
  for (i = 0; i < osiris_json_size(names); i++) {
    const char *name = osiris_json_key_at(names, i);
    char *var = os_asprintf("OSIRIS_PARAM_%s", name);
    const char *val;
    char *p;
    if (!var) goto oom;
    for (p = var; *p; p++) *p = (char)toupper((unsigned char)*p);
    val = osiris_ctx_getenv(st->ctx, var);
    os_free(var);
    if (val && js_set_str(params, name, val)) goto oom;
  }
  if (profile && *profile && !os_streq(profile, "default")) {
    const osiris_json *prof = osiris_json_get(profiles, profile);
    if (!prof) {
      char *avail = cn_key_list(osiris_json_kind_of(profiles) == OSIRIS_JSON_OBJECT ? profiles : NULL);
      if (!avail) goto oom;
      CP_ERR(st, "unknown_profile", profiles, "profiles", "Unknown profile '%s'; available: %s",
             profile, avail);
      os_free(avail);
    } else {
      const osiris_json *pp = osiris_json_get(prof, "params");
      if (pp && pp->kind != OSIRIS_JSON_OBJECT) {
        char loc[CP_LOC_CAP];
        snprintf(loc, sizeof loc, "profiles.%s.params", profile);
        CP_ERR(st, "invalid_profile", pp, loc, "profile params must be a mapping, got %s",
               cp_kind_name(pp));
      } else {
        for (i = 0; i < osiris_json_size(pp); i++)
          if (cp_set_copy(params, osiris_json_key_at(pp, i), osiris_json_at(pp, i))) goto oom;
      }
    }
  }
  for (i = 0; cli && cli[i]; i++) {
    const char *eq = strchr(cli[i], '=');
    char *name;
    osiris_json *val;
    if (!eq || eq == cli[i]) {
      CP_ERR(st, "invalid_param", NULL, "params", "Invalid parameter '%s' (expected name=value)",
             cli[i]);
      continue;
    }
    name = os_strndup(cli[i], (size_t)(eq - cli[i]));
    val = osiris_json_new_str(eq + 1, strlen(eq + 1));
    if (!name || !val) {
      os_free(name);
      osiris_json_free(val);
      goto oom;
    }
    rc = osiris_json_set(params, name, val);
    os_free(name);
    if (rc) goto done;
  }
  *out = params;
  params = NULL;
  goto done;
oom:
  rc = OSIRIS_ENOMEM;
done:
  osiris_json_free(params);
  osiris_json_free(names);
  return rc;
}

/* Python's str() of a JSON value, for a parameter inside a longer string. */
static osiris_rc cp_str_value(os_buf *b, const osiris_json *v) {
  char num[64];
  switch (v->kind) {
  case OSIRIS_JSON_STRING: return ob_put(b, v->u.s.ptr, v->u.s.len);
  case OSIRIS_JSON_NULL: return ob_puts(b, "None");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "True" : "False");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    js_fmt_double(num, sizeof num, v->u.d);
    return ob_puts(b, num);
  default: return js_dump(b, v, 0);
  }
}

typedef struct cp_resolve_ctx {
  const osiris_json *params;
  osiris_json *unresolved; /* array of {name, location, line, col} */
} cp_resolve_ctx;

static osiris_rc cp_note_unresolved(cp_resolve_ctx *rc_, const osiris_json *s, const char *path,
                                    const char *name, size_t n) {
  osiris_json *u = osiris_json_new(OSIRIS_JSON_OBJECT);
  osiris_json *nm = osiris_json_new_str(name, n);
  if (!u || !nm || osiris_json_set(u, "name", nm) || js_set_str(u, "location", path) ||
      js_set_int(u, "line", s->line) || js_set_int(u, "col", s->col)) {
    if (!u) osiris_json_free(nm);
    osiris_json_free(u);
    return OSIRIS_ENOMEM;
  }
  return osiris_json_push(rc_->unresolved, u);
}

static osiris_rc cp_resolve_cb(void *user, const osiris_json *s, const char *path,
                               osiris_json **repl) {
  cp_resolve_ctx *rx = user;
  size_t pos = 0, start, ns, ne;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  char name[512];
  if (!cp_next_param(s->u.s.ptr, s->u.s.len, 0, &start, &ns, &ne)) return OSIRIS_OK;
  if (start == 0 && ne + 1 == s->u.s.len) {
    const osiris_json *val;
    snprintf(name, sizeof name, "%.*s", (int)(ne - ns), s->u.s.ptr + ns);
    val = osiris_json_get(rx->params, name);
    if (val) {
      *repl = osiris_json_copy(val);
      return *repl ? OSIRIS_OK : OSIRIS_ENOMEM;
    }
  }
  while (cp_next_param(s->u.s.ptr, s->u.s.len, pos, &start, &ns, &ne)) {
    const osiris_json *val;
    snprintf(name, sizeof name, "%.*s", (int)(ne - ns), s->u.s.ptr + ns);
    rc = ob_put(&b, s->u.s.ptr + pos, start - pos);
    if (rc) goto done;
    val = osiris_json_get(rx->params, name);
    if (val) {
      rc = cp_str_value(&b, val);
    } else {
      rc = cp_note_unresolved(rx, s, path, s->u.s.ptr + ns, ne - ns);
      if (!rc) rc = ob_put(&b, s->u.s.ptr + start, ne + 1 - start);
    }
    if (rc) goto done;
    pos = ne + 1;
  }
  rc = ob_put(&b, s->u.s.ptr + pos, s->u.s.len - pos);
  if (rc) goto done;
  *repl = osiris_json_new_str(b.p ? b.p : "", b.len);
  if (!*repl) rc = OSIRIS_ENOMEM;
done:
  ob_free(&b);
  return rc;
}

/* Expand ${params.x} everywhere; unresolved names become one issue that
 * lists them all with their places (an error for compile, a warning for
 * validate, which has no --param). */
static osiris_rc cp_resolve(cp_state *st, const osiris_json *doc, const osiris_json *params,
                            int as_warning, osiris_json **out) {
  cp_resolve_ctx rx;
  os_buf path = {0}, msg = {0}, where = {0};
  osiris_rc rc = OSIRIS_OK;
  size_t i, j, n;
  *out = NULL;
  rx.params = params;
  rx.unresolved = osiris_json_new(OSIRIS_JSON_ARRAY);
  if (!rx.unresolved) return OSIRIS_ENOMEM;
  *out = cn_map_strings(doc, cp_resolve_cb, &rx, &path, 0, &rc);
  if (!*out) goto done;
  n = osiris_json_size(rx.unresolved);
  if (n) {
    const osiris_json *first = osiris_json_at(rx.unresolved, 0);
    osiris_json *names = osiris_json_new(OSIRIS_JSON_ARRAY);
    osiris_json loc_at;
    if (!names) goto oom;
    /* sorted unique names, as 0.5.7 prints them: ['a', 'b'] */
    for (i = 0; i < n; i++) {
      const char *nm = js_gets(osiris_json_at(rx.unresolved, i), "name");
      size_t k, at = osiris_json_size(names);
      int dup = 0;
      for (k = 0; k < osiris_json_size(names); k++) {
        int c = strcmp(nm, osiris_json_str(osiris_json_at(names, k)));
        if (c == 0) dup = 1;
        if (c <= 0) {
          at = k;
          break;
        }
      }
      if (dup) continue;
      if (js_push_str(names, nm)) {
        osiris_json_free(names);
        goto oom;
      }
      /* move the new last item into place */
      for (k = osiris_json_size(names) - 1; k > at; k--) {
        osiris_json *t = names->u.c.items[k];
        names->u.c.items[k] = names->u.c.items[k - 1];
        names->u.c.items[k - 1] = t;
      }
    }
    rc = ob_puts(&msg, "Unresolved parameters: [");
    for (j = 0; !rc && j < osiris_json_size(names); j++)
      rc = ob_printf(&msg, "%s'%s'", j ? ", " : "", osiris_json_str(osiris_json_at(names, j)));
    osiris_json_free(names);
    for (i = 0; !rc && i < n; i++) {
      const osiris_json *u = osiris_json_at(rx.unresolved, i);
      rc = ob_printf(&where, "%s%s at %s (%" PRId64 ":%" PRId64 ")", i ? "; " : "",
                     js_gets(u, "name"), js_gets(u, "location"),
                     osiris_json_int(osiris_json_get(u, "line"), 0),
                     osiris_json_int(osiris_json_get(u, "col"), 0));
    }
    if (rc) goto done;
    memset(&loc_at, 0, sizeof loc_at);
    loc_at.line = (uint32_t)osiris_json_int(osiris_json_get(first, "line"), 0);
    loc_at.col = (uint32_t)osiris_json_int(osiris_json_get(first, "col"), 0);
    cp_issue(st, as_warning ? st->warnings : st->errors, "unresolved_param", &loc_at,
             js_gets(first, "location"), "%s] (%s)", msg.p, where.p);
  }
  goto done;
oom:
  rc = OSIRIS_ENOMEM;
done:
  if (rc) {
    osiris_json_free(*out);
    *out = NULL;
  }
  osiris_json_free(rx.unresolved);
  ob_free(&path);
  ob_free(&msg);
  ob_free(&where);
  return rc;
}

/* ------------------------------------------------------------ topo order */

/* Kahn's algorithm with a stable pick: among ready steps the lowest index
 * goes first.  deps[i][0..ndeps[i]) are indices step i needs.  Returns the
 * number of steps ordered; the rest are on or behind a cycle. */
static size_t cp_toposort(size_t n, size_t *const *deps, const size_t *ndeps, size_t *order,
                          unsigned char *done) {
  size_t count = 0, i, k;
  memset(done, 0, n);
  while (count < n) {
    size_t pick = n;
    for (i = 0; i < n && pick == n; i++) {
      int ready = !done[i];
      for (k = 0; ready && k < ndeps[i]; k++)
        if (!done[deps[i][k]]) ready = 0;
      if (ready) pick = i;
    }
    if (pick == n) break;
    done[pick] = 1;
    order[count++] = pick;
  }
  return count;
}

/* Starting at an unordered step, follow unordered needs until a step
 * repeats: that loop is a cycle, written "a -> b -> a" (a needs b).
 * seen[] marks walked steps so each cycle is named once; returns NULL when
 * the walk ran into an already named cycle, or on ENOMEM (*nomem). */
static char *cp_cycle_text(size_t n, size_t *const *deps, const size_t *ndeps,
                           const unsigned char *done, unsigned char *seen, size_t start,
                           const char *const *ids, int *nomem) {
  size_t *walk = os_calloc(n + 1, sizeof *walk);
  size_t *pos = os_calloc(n, sizeof *pos); /* 1 + index in walk, 0 unseen */
  size_t len = 0, cur = start, i;
  os_buf b = {0};
  char *text = NULL;
  if (!walk || !pos) goto oom;
  for (;;) {
    size_t next = n, k;
    if (pos[cur]) break;
    if (seen[cur]) goto out;
    pos[cur] = ++len;
    walk[len - 1] = cur;
    for (k = 0; k < ndeps[cur] && next == n; k++)
      if (!done[deps[cur][k]]) next = deps[cur][k];
    if (next == n) goto out; /* cannot happen for an unordered step */
    cur = next;
  }
  if (ob_puts(&b, "dependency cycle: ")) goto oom;
  for (i = pos[cur] - 1; i < len; i++)
    if (ob_printf(&b, "%s -> ", ids[walk[i]])) goto oom;
  if (ob_puts(&b, ids[cur])) goto oom;
  text = ob_take(&b);
  if (!text) goto oom;
  goto out;
oom:
  *nomem = 1;
out:
  for (i = 0; i < len; i++) seen[walk[i]] = 1;
  ob_free(&b);
  os_free(walk);
  os_free(pos);
  return text;
}

/* ----------------------------------------------------------- validation */

static int cp_timeout_value(const osiris_json *v, double *out) {
  double d;
  char *end = NULL;
  if (!v) return 0;
  if (v->kind == OSIRIS_JSON_INT) {
    d = (double)v->u.i;
  } else if (v->kind == OSIRIS_JSON_DOUBLE) {
    d = v->u.d;
  } else if (v->kind == OSIRIS_JSON_STRING && v->u.s.len && v->u.s.len < 32 &&
             strlen(v->u.s.ptr) == v->u.s.len && !isspace((unsigned char)v->u.s.ptr[0])) {
    d = os_strtod(v->u.s.ptr, &end);
    if (!end || *end) return 0;
  } else {
    return 0;
  }
  if (!isfinite(d) || d <= 0 || d > CP_TIMEOUT_MAX) return 0;
  *out = d;
  return 1;
}

static int cp_has_param_ref(const osiris_json *v);

/* timeout (top level) and steps[i].timeout: seconds, a positive number.
 * Osiris 0.5.7 has neither (it ignores the step key and warns about the
 * top-level one); a pipeline without them compiles as there. */
static void cp_check_timeout(cp_state *st, const osiris_json *v, const char *loc) {
  double d;
  if (!v || cp_has_param_ref(v) || cp_timeout_value(v, &d)) return;
  if (v->kind == OSIRIS_JSON_INT || v->kind == OSIRIS_JSON_DOUBLE || v->kind == OSIRIS_JSON_STRING) {
    char got[64];
    if (v->kind == OSIRIS_JSON_STRING)
      snprintf(got, sizeof got, "'%.40s'", v->u.s.ptr);
    else if (v->kind == OSIRIS_JSON_INT)
      snprintf(got, sizeof got, "%" PRId64, v->u.i);
    else
      js_fmt_double(got, sizeof got, v->u.d);
    CP_ERR(st, "invalid_timeout", v, loc,
           "timeout must be a positive number of seconds (at most %.0f), got %s", CP_TIMEOUT_MAX,
           got);
  } else {
    CP_ERR(st, "invalid_timeout", v, loc, "timeout must be a positive number of seconds, got %s",
           cp_kind_name(v));
  }
}

static void cp_check_top(cp_state *st, const osiris_json *doc) {
  static const char *const required[] = {"oml_version", "name", "steps", NULL};
  static const char *const forbidden[] = {"version", "connectors", "tasks", "outputs", NULL};
  static const char *const known[] = {"oml_version", "name",     "description", "params",
                                      "profiles",    "metadata", "schedule",    "steps",
                                      "timeout",     NULL};
  const osiris_json *v;
  size_t i, k;
  for (k = 0; required[k]; k++)
    if (!osiris_json_get(doc, required[k]))
      CP_ERR(st, "missing_required_key", doc, required[k], "Missing required top-level key: '%s'",
             required[k]);
  for (i = 0; i < osiris_json_size(doc); i++) {
    const char *key = osiris_json_key_at(doc, i);
    int is_known = 0, is_forbidden = 0;
    for (k = 0; forbidden[k]; k++)
      if (strcmp(key, forbidden[k]) == 0) is_forbidden = 1;
    for (k = 0; known[k]; k++)
      if (strcmp(key, known[k]) == 0) is_known = 1;
    if (is_forbidden)
      CP_ERR(st, "forbidden_key", osiris_json_at(doc, i), key,
             "Forbidden top-level key: '%s'%s", key,
             strcmp(key, "version") == 0 ? " (use 'oml_version')" : "");
    else if (!is_known)
      CP_WARN(st, "unknown_key", osiris_json_at(doc, i), key, "Unknown top-level key: '%s'", key);
  }
  v = osiris_json_get(doc, "oml_version");
  if (v) {
    if (v->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_version_type", v, "oml_version",
             "oml_version must be a string such as \"0.1.0\", got %s", cp_kind_name(v));
    else if (!os_startswith(v->u.s.ptr, "0."))
      CP_ERR(st, "unsupported_version", v, "oml_version", "Unsupported OML version: %s",
             v->u.s.ptr);
  }
  v = osiris_json_get(doc, "name");
  if (v) {
    if (v->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_name_type", v, "name", "name must be a string, got %s", cp_kind_name(v));
    else if (!v->u.s.len)
      CP_ERR(st, "empty_name", v, "name", "name cannot be empty");
  }
  v = osiris_json_get(doc, "metadata");
  if (v && v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_NULL)
    CP_ERR(st, "invalid_metadata_type", v, "metadata", "metadata must be a mapping, got %s",
           cp_kind_name(v));
  cp_check_timeout(st, osiris_json_get(doc, "timeout"), "timeout");
}

/* Index of the first step with id, n when none. */
static size_t cp_find_id(const char *const *ids, size_t n, const char *id) {
  size_t i;
  for (i = 0; i < n; i++)
    if (ids[i] && strcmp(ids[i], id) == 0) return i;
  return n;
}

/* ---------------------------------------------------- config values: specs
 *
 * Every config value is checked against its key in the driver's table
 * (osiris_config_key): type, allowed values, range, alias and the one-of
 * group.  Nothing here names a driver or one of its keys: the tables say
 * it all, so a driver that an embedding program registers is checked the
 * same way, and `components show` prints the same facts (as text or as
 * JSON Schema).  A value is never echoed for a secret key.  A string that
 * still holds ${params.x} after resolution is not type-checked (validate
 * has no --param; the unresolved-parameter issue says so), and null counts
 * as absent, as the drivers read it. */

#define CP_NEAR_MAX 3   /* the largest edit distance "did you mean" offers */
#define CP_NAME_CAP 128 /* longer names are not compared */

/* Config keys every component accepts besides its table: the connection
 * reference, and mode (compile sets it to the step's mode). */
static const char *const cp_common_keys[] = {"connection", "mode", NULL};

static int cp_is_common_key(const char *key) {
  size_t i;
  for (i = 0; cp_common_keys[i]; i++)
    if (strcmp(cp_common_keys[i], key) == 0) return 1;
  return 0;
}

/* Edit distance of a[0..la) and b[0..lb) (insert, delete, substitute, or
 * swap two neighbours: "mian" is one edit from "main"), ASCII case
 * ignored; anything above CP_NEAR_MAX is CP_NEAR_MAX + 1. */
static size_t cp_distance(const char *a, size_t la, const char *b, size_t lb) {
  size_t rows[3][CP_NAME_CAP + 1], i, j;
  if (la > CP_NAME_CAP || lb > CP_NAME_CAP || (la > lb ? la - lb : lb - la) > CP_NEAR_MAX)
    return CP_NEAR_MAX + 1;
  for (j = 0; j <= lb; j++) rows[0][j] = j;
  for (i = 1; i <= la; i++) {
    size_t *row = rows[i % 3], *prev = rows[(i - 1) % 3], *prev2 = rows[(i + 1) % 3];
    int ai = tolower((unsigned char)a[i - 1]);
    row[0] = i;
    for (j = 1; j <= lb; j++) {
      int bj = tolower((unsigned char)b[j - 1]);
      size_t best = prev[j - 1] + (ai != bj);
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == bj && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      row[j] = best;
    }
  }
  return rows[la % 3][lb] > CP_NEAR_MAX ? CP_NEAR_MAX + 1 : rows[la % 3][lb];
}

/* The closest name offered so far to want, when close enough to be a
 * likely typo: at most a third of want's length away (one edit for short
 * names), never more than CP_NEAR_MAX. */
typedef struct cp_near {
  const char *want;
  char best[CP_NAME_CAP + 1]; /* "" while none is close */
  size_t dist;
} cp_near;

static void cp_near_init(cp_near *nr, const char *want) {
  nr->want = want;
  nr->best[0] = 0;
  nr->dist = CP_NEAR_MAX + 1;
}

static void cp_near_offer(cp_near *nr, const char *name, size_t len) {
  size_t wl = strlen(nr->want), limit = wl / 3, d;
  if (limit < 1) limit = 1;
  if (limit > CP_NEAR_MAX) limit = CP_NEAR_MAX;
  if (len > CP_NAME_CAP || (len == wl && memcmp(name, nr->want, len) == 0)) return;
  d = cp_distance(nr->want, wl, name, len);
  if (d <= limit && d < nr->dist) {
    memcpy(nr->best, name, len);
    nr->best[len] = 0;
    nr->dist = d;
  }
}

/* " (did you mean 'x'?)" into buf, or "" when nothing was close. */
static const char *cp_near_text(const cp_near *nr, char *buf, size_t cap) {
  if (!nr->best[0]) return "";
  snprintf(buf, cap, " (did you mean '%s'?)", nr->best);
  return buf;
}

/* Is s[0..n) one of the '|'-separated values of allowed (ASCII case
 * ignored)?  An empty value between bars allows the empty string. */
static int cp_allowed_has(const char *allowed, const char *s, size_t n) {
  const char *p = allowed;
  for (;;) {
    size_t k = strcspn(p, "|");
    if (k == n && strncasecmp(p, s, n) == 0) return 1;
    if (!p[k]) return 0;
    p += k + 1;
  }
}

/* Offer every allowed value to nr. */
static void cp_allowed_offer(const char *allowed, cp_near *nr) {
  const char *p = allowed;
  for (;;) {
    size_t k = strcspn(p, "|");
    cp_near_offer(nr, p, k);
    if (!p[k]) return;
    p += k + 1;
  }
}

/* The allowed values as JSON strings: "a", "b", "c". */
static osiris_rc cp_allowed_text(os_buf *b, const char *allowed) {
  const char *p = allowed;
  osiris_rc rc = OSIRIS_OK;
  for (; !rc;) {
    size_t k = strcspn(p, "|");
    if (p != allowed) rc = ob_puts(b, ", ");
    if (!rc) rc = js_dump_string(b, p, k, 0);
    if (!p[k]) break;
    p += k + 1;
  }
  return rc;
}

static int cp_has_range(const osiris_config_key *k) {
  return (k->flags & OSIRIS_KEY_RANGE) &&
         (k->type == OSIRIS_KT_INT || k->type == OSIRIS_KT_NUMBER ||
          k->type == OSIRIS_KT_INT_OR_BOOL);
}

/* What key k takes, as the end of "must be ...": "an integer >= 0",
 * "one of \"lf\", \"crlf\"", "a list of strings". */
static osiris_rc cp_expect_text(os_buf *b, const osiris_config_key *k) {
  static const char *const phrase[] = {
      "any value",     "a string",          "an integer",
      "a number",      "true or false",     "one character",
      "a list of strings", "a string or a list of strings", "a mapping",
      "true, false or an integer"};
  char lo[40], hi[40];
  osiris_rc rc;
  if ((unsigned)k->type >= sizeof phrase / sizeof phrase[0]) return ob_puts(b, "any value");
  if (k->allowed && k->type == OSIRIS_KT_STRING) {
    rc = ob_puts(b, "one of ");
    return rc ? rc : cp_allowed_text(b, k->allowed);
  }
  rc = ob_puts(b, phrase[k->type]);
  if (!rc && cp_has_range(k)) {
    js_fmt_double(lo, sizeof lo, k->min);
    js_fmt_double(hi, sizeof hi, k->max);
    if (k->type != OSIRIS_KT_NUMBER) { /* integers without ".0" */
      snprintf(lo, sizeof lo, "%.0f", k->min);
      snprintf(hi, sizeof hi, "%.0f", k->max);
    }
    if (!isinf(k->min) && !isinf(k->max))
      rc = ob_printf(b, " between %s and %s", lo, hi);
    else if (!isinf(k->min))
      rc = ob_printf(b, " >= %s", lo);
    else if (!isinf(k->max))
      rc = ob_printf(b, " <= %s", hi);
  }
  if (!rc && k->allowed) {
    rc = ob_puts(b, " (each one of ");
    if (!rc) rc = cp_allowed_text(b, k->allowed);
    if (!rc) rc = ob_putc(b, ')');
  }
  return rc;
}

/* "got ..." for a message: the value, or only its kind for a secret key. */
static osiris_rc cp_got_text(os_buf *b, const osiris_json *v, int secret) {
  char num[40];
  switch (v->kind) {
  case OSIRIS_JSON_STRING:
    if (secret) return ob_puts(b, "a string");
    if (v->u.s.len > 60) {
      osiris_rc rc = js_dump_string(b, v->u.s.ptr, 60, 0);
      return rc ? rc : ob_puts(b, "...");
    }
    return js_dump_string(b, v->u.s.ptr, v->u.s.len, 0);
  case OSIRIS_JSON_INT:
  case OSIRIS_JSON_DOUBLE:
    if (secret) return ob_puts(b, "a number");
    if (v->kind == OSIRIS_JSON_INT) return ob_printf(b, "%" PRId64, v->u.i);
    if (isinf(v->u.d)) return ob_puts(b, "a number too large to represent");
    js_fmt_double(num, sizeof num, v->u.d);
    return ob_puts(b, num);
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "true" : "false");
  case OSIRIS_JSON_ARRAY: return ob_puts(b, "a list");
  case OSIRIS_JSON_OBJECT: return ob_puts(b, "a mapping");
  default: return ob_puts(b, cp_kind_name(v));
  }
}

/* Does the string v still hold a ${params.x} that nothing resolved? */
static int cp_has_param_ref(const osiris_json *v) {
  size_t start, ns, ne;
  return v->kind == OSIRIS_JSON_STRING && cp_next_param(v->u.s.ptr, v->u.s.len, 0, &start, &ns, &ne);
}

/* A number that is an integer: an INT, or an integral double within int64
 * (2.0 counts as 2, as the drivers read it; 1e400 and 1e20 do not). */
static int cp_is_integer(const osiris_json *v, double *out) {
  if (v->kind == OSIRIS_JSON_INT) return *out = (double)v->u.i, 1;
  if (v->kind != OSIRIS_JSON_DOUBLE || !isfinite(v->u.d) || v->u.d != floor(v->u.d) ||
      fabs(v->u.d) >= 9223372036854775808.0)
    return 0;
  *out = v->u.d;
  return 1;
}

/* One character: a single UTF-8 code point, not a control character
 * other than tab. */
static int cp_is_char(const osiris_json *v) {
  const unsigned char *s = (const unsigned char *)v->u.s.ptr;
  size_t n = v->u.s.len;
  if (n == 0 || n > 4 || (s[0] < 0x20 && s[0] != '\t') || s[0] == 0x7f) return 0;
  return n == (s[0] < 0x80 ? 1u : s[0] < 0xE0 ? 2u : s[0] < 0xF0 ? 3u : 4u);
}

/* Does v have the shape of type t (allowed values and range aside)? */
static int cp_type_ok(osiris_key_type t, const osiris_json *v) {
  double d;
  size_t i;
  switch (t) {
  case OSIRIS_KT_STRING: return v->kind == OSIRIS_JSON_STRING;
  case OSIRIS_KT_INT: return cp_is_integer(v, &d);
  case OSIRIS_KT_NUMBER:
    return v->kind == OSIRIS_JSON_INT || (v->kind == OSIRIS_JSON_DOUBLE && isfinite(v->u.d));
  case OSIRIS_KT_BOOL: return v->kind == OSIRIS_JSON_BOOL;
  case OSIRIS_KT_CHAR: return v->kind == OSIRIS_JSON_STRING && cp_is_char(v);
  case OSIRIS_KT_STRING_OR_STRINGS:
    if (v->kind == OSIRIS_JSON_STRING) return 1;
    /* fall through */
  case OSIRIS_KT_STRINGS:
    if (v->kind != OSIRIS_JSON_ARRAY) return 0;
    for (i = 0; i < v->u.c.n; i++)
      if (v->u.c.items[i]->kind != OSIRIS_JSON_STRING) return 0;
    return 1;
  case OSIRIS_KT_OBJECT: return v->kind == OSIRIS_JSON_OBJECT;
  case OSIRIS_KT_INT_OR_BOOL: return v->kind == OSIRIS_JSON_BOOL || cp_is_integer(v, &d);
  default: return 1;
  }
}

/* Report "<loc> must be <expect>, got <v><hint>" as an issue of type. */
static void cp_bad_value(cp_state *st, const char *type, const osiris_json *v, const char *loc,
                         const char *key, const osiris_config_key *k, const char *hint) {
  os_buf expect = {0}, got = {0};
  if (cp_expect_text(&expect, k) || cp_got_text(&got, v, (k->flags & OSIRIS_KEY_SECRET) != 0))
    st->nomem = 1;
  CP_ERR(st, type, v, loc, "'%s' must be %s, got %s%s", key, expect.p ? expect.p : "?",
         got.p ? got.p : "?", hint);
  ob_free(&expect);
  ob_free(&got);
}

/* A string of an allowed-values key: one of them, or a "did you mean". */
static void cp_check_allowed(cp_state *st, const osiris_json *s, const char *loc, const char *key,
                             const osiris_config_key *k) {
  cp_near nr;
  char hint[CP_NAME_CAP + 32];
  if (!k->allowed || cp_allowed_has(k->allowed, s->u.s.ptr, s->u.s.len)) return;
  cp_near_init(&nr, s->u.s.ptr);
  cp_allowed_offer(k->allowed, &nr);
  cp_bad_value(st, "invalid_config_value", s, loc, key, k, cp_near_text(&nr, hint, sizeof hint));
}

/* Check value v of config key `key` against spec k (the key itself, or
 * the key it is an alias of). */
static void cp_check_value(cp_state *st, const osiris_json *v, const char *loc, const char *key,
                           const osiris_config_key *k) {
  size_t i;
  int list = v->kind == OSIRIS_JSON_ARRAY &&
             (k->type == OSIRIS_KT_STRINGS || k->type == OSIRIS_KT_STRING_OR_STRINGS);
  if (v->kind == OSIRIS_JSON_NULL || k->type == OSIRIS_KT_ANY || cp_has_param_ref(v)) return;
  if (list) {
    for (i = 0; i < v->u.c.n; i++) { /* the list is right: name the item that is not */
      const osiris_json *item = v->u.c.items[i];
      char iloc[CP_LOC_CAP + 24];
      os_buf got = {0};
      if (item->kind == OSIRIS_JSON_STRING) continue;
      snprintf(iloc, sizeof iloc, "%s[%zu]", loc, i);
      if (cp_got_text(&got, item, (k->flags & OSIRIS_KEY_SECRET) != 0)) st->nomem = 1;
      CP_ERR(st, "invalid_config_type", item, iloc, "'%s' items must be strings, got %s", key,
             got.p ? got.p : "?");
      ob_free(&got);
    }
  }
  if (k->type == OSIRIS_KT_INT && (k->flags & OSIRIS_KEY_CONN) && v->kind == OSIRIS_JSON_STRING) {
    /* a connection field as connections files write it: port: "3306" */
    const char *p = v->u.s.ptr;
    double d = 0;
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9' && n < 18) d = d * 10 + (p[n++] - '0');
    if (n == 0 || p[n] != 0)
      cp_bad_value(st, "invalid_config_type", v, loc, key, k, " (digits, quoted or not)");
    else if (cp_has_range(k) && (d < k->min || d > k->max))
      cp_bad_value(st, "config_value_out_of_range", v, loc, key, k, "");
    return;
  }
  if (!cp_type_ok(k->type, v)) {
    const char *hint = "";
    if (list) return; /* its items were reported */
    if (k->type == OSIRIS_KT_BOOL && v->kind == OSIRIS_JSON_STRING)
      hint = " (write true or false without quotes)";
    cp_bad_value(st, "invalid_config_type", v, loc, key, k, hint);
    return;
  }
  if (v->kind == OSIRIS_JSON_STRING) {
    cp_check_allowed(st, v, loc, key, k);
  } else if (v->kind == OSIRIS_JSON_ARRAY) {
    for (i = 0; i < v->u.c.n && k->allowed; i++) {
      char iloc[CP_LOC_CAP + 24];
      snprintf(iloc, sizeof iloc, "%s[%zu]", loc, i);
      cp_check_allowed(st, v->u.c.items[i], iloc, key, k);
    }
  } else if (v->kind == OSIRIS_JSON_OBJECT && k->allowed) {
    for (i = 0; i < v->u.c.n; i++) { /* a mapping of allowed values (dtype) */
      const osiris_json *item = v->u.c.items[i];
      char iloc[CP_LOC_CAP + CP_NAME_CAP];
      snprintf(iloc, sizeof iloc, "%s.%s", loc, v->u.c.keys[i]);
      if (item->kind == OSIRIS_JSON_STRING) {
        cp_check_allowed(st, item, iloc, key, k);
      } else {
        os_buf got = {0};
        if (cp_got_text(&got, item, 0)) st->nomem = 1;
        CP_ERR(st, "invalid_config_type", item, iloc, "'%s' values must be strings, got %s", key,
               got.p ? got.p : "?");
        ob_free(&got);
      }
    }
  } else if (cp_has_range(k) && v->kind != OSIRIS_JSON_BOOL) {
    double d = v->kind == OSIRIS_JSON_INT ? (double)v->u.i : v->u.d;
    if (d < k->min || d > k->max) cp_bad_value(st, "config_value_out_of_range", v, loc, key, k, "");
  }
}

/* A key of d's table by exact name, following alias_of once: the spec
 * that value checks use. */
static const osiris_config_key *cp_key_spec(const osiris_driver *d, const osiris_config_key *k) {
  const char *value;
  const osiris_config_key *target =
      k->alias_of && !cp_value_alias(k, &value) ? cp_key_find(d, k->alias_of, 0) : NULL;
  return target ? target : k;
}

/* Is key present in cfg with a value (null counts as absent)? */
static int cp_cfg_has(const osiris_json *cfg, const char *key) {
  const osiris_json *v = osiris_json_get(cfg, key);
  return v && v->kind != OSIRIS_JSON_NULL;
}

/* Is spec key k given in cfg, under its name or through an alias? */
static int cp_key_given(const osiris_driver *d, const osiris_json *cfg, const osiris_config_key *k) {
  const osiris_config_key *a;
  if (cp_cfg_has(cfg, k->name)) return 1;
  for (a = d->keys; a->name; a++)
    if (a->alias_of && strcmp(a->alias_of, k->name) == 0 && cp_cfg_has(cfg, a->name)) return 1;
  return 0;
}

/* The string value of key in cfg, given under its name or a plain alias
 * of it (write_mode, or mode); NULL when absent.  *as: the name used. */
static const char *cp_cfg_str_via(const osiris_driver *d, const osiris_json *cfg,
                                  const char *key, size_t keylen, const char **as) {
  const osiris_config_key *a;
  char name[CP_NAME_CAP];
  const char *s;
  if (keylen >= sizeof name) return NULL;
  memcpy(name, key, keylen);
  name[keylen] = 0;
  for (a = d->keys; a->name; a++) /* the key itself, then its plain aliases */
    if (strcmp(a->name, name) == 0 && (s = osiris_json_str(osiris_json_get(cfg, a->name)))) {
      *as = a->name;
      return s;
    }
  for (a = d->keys; a->name; a++)
    if (a->alias_of && strcmp(a->alias_of, name) == 0 &&
        (s = osiris_json_str(osiris_json_get(cfg, a->name))) != NULL) {
      *as = a->name;
      return s;
    }
  return NULL;
}

/* A value alias (truncate_before: true means write_mode: replace) must
 * agree with its key when both are given: true with another value, or
 * false with exactly that value, is a conflict. */
static void cp_check_value_alias(cp_state *st, const osiris_json *cfg, const osiris_json *v,
                                 const char *loc, const char *key, const osiris_driver *d,
                                 const osiris_config_key *k) {
  const char *value, *given, *as = "";
  size_t n = cp_value_alias(k, &value);
  if (!n || v->kind != OSIRIS_JSON_BOOL) return;
  given = cp_cfg_str_via(d, cfg, k->alias_of, n, &as);
  if (!given || cp_has_param_ref(osiris_json_get(cfg, as))) return;
  if (v->u.b ? strcasecmp(given, value) != 0 : strcasecmp(given, value) == 0)
    CP_ERR(st, "conflicting_config_keys", v, loc,
           "'%s: %s' conflicts with '%s: %s' ('%s: true' means '%.*s: %s'); keep one", key,
           v->u.b ? "true" : "false", as, given, key, (int)n, k->alias_of, value);
}

/* Unknown keys (with a "did you mean"), aliases given with their key,
 * and every value against its spec. */
static void cp_check_values(cp_state *st, const osiris_json *cfg, const char *at,
                            const osiris_driver *d, const char *comp) {
  char loc[CP_LOC_CAP], hint[CP_NAME_CAP + 32];
  size_t j;
  for (j = 0; j < osiris_json_size(cfg); j++) {
    const char *key = osiris_json_key_at(cfg, j);
    const osiris_json *v = osiris_json_at(cfg, j);
    const osiris_config_key *k = cp_key_find(d, key, 0), *kk;
    snprintf(loc, sizeof loc, "%s.%s", at, key);
    if (!k) {
      cp_near nr;
      size_t i;
      if (cp_is_common_key(key)) continue;
      cp_near_init(&nr, key);
      for (kk = d->keys; kk && kk->name; kk++) cp_near_offer(&nr, kk->name, strlen(kk->name));
      for (i = 0; cp_common_keys[i]; i++) cp_near_offer(&nr, cp_common_keys[i], strlen(cp_common_keys[i]));
      CP_ERR(st, "unknown_config_key", v, loc, "Unknown configuration key '%s' for component '%s'%s",
             key, comp, cp_near_text(&nr, hint, sizeof hint));
      continue;
    }
    if (k->alias_of && cp_cfg_has(cfg, k->alias_of) && v->kind != OSIRIS_JSON_NULL)
      CP_ERR(st, "duplicate_config_key", v, loc,
             "'%s' and '%s' are both given: '%s' is another name for '%s'; keep one", key,
             k->alias_of, key, k->alias_of);
    cp_check_value_alias(st, cfg, v, loc, key, d, k);
    if (k->flags & OSIRIS_KEY_NO_EFFECT)
      CP_WARN(st, "no_effect_config_key", v, loc,
              "'%s' is accepted for compatibility and has no effect here", key);
    cp_check_value(st, v, loc, key, cp_key_spec(d, k));
  }
}

/* Required keys, and exactly one of the OSIRIS_KEY_ONE_OF group. */
static void cp_check_presence(cp_state *st, const osiris_json *step, const osiris_json *cfg,
                              const char *at, const char *sid, const osiris_driver *d,
                              const char *comp, int has_conn) {
  const osiris_config_key *k, *second = NULL;
  os_buf group = {0};
  char loc[CP_LOC_CAP];
  size_t given = 0;
  for (k = d->keys; k && k->name; k++) {
    if (k->flags & OSIRIS_KEY_ONE_OF) {
      if (ob_printf(&group, "%s'%s'", group.len ? ", " : "", k->name)) st->nomem = 1;
      if (cp_key_given(d, cfg, k) && given++ == 1) second = k;
    }
    if (!(k->flags & OSIRIS_KEY_REQUIRED) || cp_key_given(d, cfg, k)) continue;
    if ((k->flags & OSIRIS_KEY_CONN) && has_conn) continue;
    snprintf(loc, sizeof loc, "%s.%s", at, k->name);
    CP_ERR(st, "missing_config_key", cfg ? cfg : step, loc,
           "Step '%s': missing required config key '%s' for component '%s'", sid, k->name, comp);
  }
  if (group.len && given == 0)
    CP_ERR(st, "missing_config_key", cfg ? cfg : step, at,
           "Step '%s': component '%s' needs one of %s", sid, comp, group.p);
  if (second) {
    snprintf(loc, sizeof loc, "%s.%s", at, second->name);
    const osiris_json *at2 = osiris_json_get(cfg, second->name);
    CP_ERR(st, "conflicting_config_keys", at2 ? at2 : cfg, loc,
           "Step '%s': give only one of %s", sid, group.p);
  }
  ob_free(&group);
}

/* ------------------------------------------------- connection references
 * "@family.alias" must name an entry of osiris_connections.yaml, and
 * "@family" a family with a default; the family must be the component's.
 * Only names are looked at: no ${VAR} is expanded, so validate needs no
 * secret and an unset variable fails the run, not validate. */

/* The family has a default entry: one with default: true, or one named
 * "default" (the rule cn_resolve applies). */
static int cp_family_has_default(const osiris_json *fam) {
  size_t i;
  for (i = 0; i < osiris_json_size(fam); i++)
    if (osiris_json_bool(osiris_json_get(osiris_json_at(fam, i), "default"), 0)) return 1;
  return osiris_json_get(fam, "default") != NULL;
}

/* " (did you mean 'x'?)" among the keys of obj. */
static const char *cp_near_key(const osiris_json *obj, const char *want, char *buf, size_t cap) {
  cp_near nr;
  size_t i;
  cp_near_init(&nr, want);
  for (i = 0; i < osiris_json_size(obj); i++)
    cp_near_offer(&nr, osiris_json_key_at(obj, i), strlen(osiris_json_key_at(obj, i)));
  return cp_near_text(&nr, buf, cap);
}

static void cp_check_connection(cp_state *st, const osiris_json *ref, const char *loc,
                                const char *fam, const char *alias, const osiris_driver *d,
                                const char *comp) {
  const osiris_json *famobj;
  char hint[CP_NAME_CAP + 32];
  char *list = NULL;
  if (d && d->family && *d->family && strcmp(fam, d->family) != 0) {
    CP_ERR(st, "connection_family_mismatch", ref, loc,
           "Connection '%s' is of family '%s', but component '%s' takes '%s'", ref->u.s.ptr, fam,
           comp, d->family);
    return;
  }
  if (!st->conn_tried) {
    os_err err;
    memset(&err, 0, sizeof err);
    st->conn_tried = 1;
    if (cn_load_file(st->ctx, &st->conn_path, &st->conn_doc, &st->conns, &err)) {
      if (err.rc == OSIRIS_ENOMEM) st->nomem = 1;
      st->conn_rc = err.rc;
      snprintf(st->conn_err, sizeof st->conn_err, "%s", err.msg);
      if (err.rc == OSIRIS_ENOTFOUND && st->check_connections == CP_CONN_IF_FOUND)
        CP_WARN(st, "connections_not_checked", ref, loc,
                "Connection references not checked: %s", st->conn_err);
    }
  }
  if (!st->conns && st->conn_rc == OSIRIS_ENOTFOUND &&
      st->check_connections == CP_CONN_IF_FOUND)
    return;
  if (!st->conns) {
    CP_ERR(st, "unknown_connection", ref, loc, "Connection '%s': %s", ref->u.s.ptr, st->conn_err);
    return;
  }
  famobj = osiris_json_get(st->conns, fam);
  if (osiris_json_kind_of(famobj) != OSIRIS_JSON_OBJECT) {
    if (!(list = cn_key_list(st->conns))) st->nomem = 1;
    CP_ERR(st, "unknown_connection", ref, loc,
           "Connection '%s': no family '%s' in %s%s; families: %s", ref->u.s.ptr, fam,
           st->conn_path, cp_near_key(st->conns, fam, hint, sizeof hint), list ? list : "?");
  } else if (*alias && !osiris_json_get(famobj, alias)) {
    if (!(list = cn_key_list(famobj))) st->nomem = 1;
    CP_ERR(st, "unknown_connection", ref, loc,
           "Connection '%s': no alias '%s' in family '%s' of %s%s; aliases: %s", ref->u.s.ptr,
           alias, fam, st->conn_path, cp_near_key(famobj, alias, hint, sizeof hint),
           list ? list : "?");
  } else if (!*alias && !cp_family_has_default(famobj)) {
    if (!(list = cn_key_list(famobj))) st->nomem = 1;
    CP_ERR(st, "unknown_connection", ref, loc,
           "Connection '%s': family '%s' of %s has no default (default: true); name an alias: %s",
           ref->u.s.ptr, fam, st->conn_path, list ? list : "?");
  }
  os_free(list);
}

/* A .env line that is not KEY=VALUE is skipped (as python-dotenv does):
 * say where, so a variable that seems set but is not gets found. */
static void cp_check_dotenv(cp_state *st) {
  size_t i;
  if (cn_load_dotenv(st->ctx) == OSIRIS_ENOMEM) {
    st->nomem = 1;
    return;
  }
  for (i = 0; i < osiris_json_size(st->ctx->dotenv_skipped); i++)
    CP_WARN(st, "dotenv_line_skipped", NULL, "",
            "%s: not KEY=VALUE (an unquoted name, '=', a value): the line is skipped",
            osiris_json_str(osiris_json_at(st->ctx->dotenv_skipped, i)));
}

/* ------------------------------------------------- specs as JSON Schema
 * `components show --json`: a component's config as a JSON Schema (draft
 * 2020-12).  Allowed values are an enum (matched without regard to ASCII
 * case: x-osiris-case-insensitive); facts that JSON Schema has no word for
 * are x-osiris-* keywords. */

#define CP_SCHEMA_DRAFT "https://json-schema.org/draft/2020-12/schema"

/* "type": one JSON type, or two (second not NULL). */
static osiris_rc cp_schema_type(osiris_json *o, const char *type, const char *second) {
  osiris_json *t;
  if (!second) return js_set_str(o, "type", type);
  t = osiris_json_new(OSIRIS_JSON_ARRAY);
  if (!t || js_push_str(t, type) || js_push_str(t, second)) {
    osiris_json_free(t);
    return OSIRIS_ENOMEM;
  }
  return osiris_json_set(o, "type", t);
}

static osiris_rc cp_schema_enum(osiris_json *o, const char *allowed) {
  osiris_json *e = osiris_json_new(OSIRIS_JSON_ARRAY);
  const char *p = allowed;
  osiris_rc rc = e ? OSIRIS_OK : OSIRIS_ENOMEM;
  while (!rc) {
    size_t k = strcspn(p, "|");
    rc = osiris_json_push(e, osiris_json_new_str(p, k));
    if (!p[k]) break;
    p += k + 1;
  }
  if (rc) {
    osiris_json_free(e);
    return rc;
  }
  rc = osiris_json_set(o, "enum", e);
  return rc ? rc : js_set_bool(o, "x-osiris-case-insensitive", 1);
}

/* A bound: an integer for integer keys. */
static osiris_rc cp_schema_bound(osiris_json *o, const char *name, const osiris_config_key *k,
                                 double v) {
  if (isinf(v)) return OSIRIS_OK;
  return k->type == OSIRIS_KT_NUMBER ? js_set_double(o, name, v) : js_set_int(o, name, (int64_t)v);
}

/* What a key's flags say, in words (`components show`) and as a JSON
 * Schema keyword. */
static const struct cp_flag_word {
  unsigned flag;
  const char *text, *schema;
} cp_flag_words[] = {
    {OSIRIS_KEY_SECRET, "secret", "x-osiris-secret"},
    {OSIRIS_KEY_CONN, "connection field", "x-osiris-connection-field"},
    {OSIRIS_KEY_INPUT_FILE, "input file (shipped to a sandbox)", "x-osiris-input-file"},
    {OSIRIS_KEY_OUTPUT_FILE, "output file (brought back from a sandbox)", "x-osiris-output-file"},
    {OSIRIS_KEY_ONE_OF, "one of a group: give exactly one", "x-osiris-one-of"},
    {OSIRIS_KEY_NO_EFFECT, "accepted, no effect here", "x-osiris-no-effect"},
    {OSIRIS_KEY_SECRET_ENTRIES, "entries named like credentials are secrets", "x-osiris-secret-entries"},
    {0, NULL, NULL}};

/* The schema of one key (owned by the caller), or NULL on ENOMEM. */
static osiris_json *cp_key_schema(const osiris_config_key *k) {
  const struct cp_flag_word *fw;
  osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT), *items, *dv = NULL;
  osiris_rc rc = OSIRIS_OK;
  if (!o) return NULL;
  switch (k->type) {
  case OSIRIS_KT_STRING: rc = cp_schema_type(o, "string", NULL); break;
  case OSIRIS_KT_CHAR:
    rc = cp_schema_type(o, "string", NULL);
    if (!rc) rc = js_set_int(o, "minLength", 1);
    if (!rc) rc = js_set_int(o, "maxLength", 1);
    break;
  case OSIRIS_KT_INT: rc = cp_schema_type(o, "integer", NULL); break;
  case OSIRIS_KT_NUMBER: rc = cp_schema_type(o, "number", NULL); break;
  case OSIRIS_KT_BOOL: rc = cp_schema_type(o, "boolean", NULL); break;
  case OSIRIS_KT_STRINGS: rc = cp_schema_type(o, "array", NULL); break;
  case OSIRIS_KT_STRING_OR_STRINGS: rc = cp_schema_type(o, "string", "array"); break;
  case OSIRIS_KT_OBJECT: rc = cp_schema_type(o, "object", NULL); break;
  case OSIRIS_KT_INT_OR_BOOL: rc = cp_schema_type(o, "integer", "boolean"); break;
  default: break;
  }
  if (!rc && (k->type == OSIRIS_KT_STRINGS || k->type == OSIRIS_KT_STRING_OR_STRINGS ||
              (k->type == OSIRIS_KT_OBJECT && k->allowed))) {
    /* list items, or the values of a mapping of allowed values (dtype) */
    items = osiris_json_new(OSIRIS_JSON_OBJECT);
    rc = items ? js_set_str(items, "type", "string") : OSIRIS_ENOMEM;
    if (!rc && k->allowed) rc = cp_schema_enum(items, k->allowed);
    if (!rc)
      rc = osiris_json_set(o, k->type == OSIRIS_KT_OBJECT ? "additionalProperties" : "items", items);
    else osiris_json_free(items);
  } else if (!rc && k->allowed) {
    rc = cp_schema_enum(o, k->allowed);
  }
  if (!rc && cp_has_range(k)) rc = cp_schema_bound(o, "minimum", k, k->min);
  if (!rc && cp_has_range(k)) rc = cp_schema_bound(o, "maximum", k, k->max);
  if (!rc && k->doc) rc = js_set_str(o, "description", k->doc);
  if (!rc && k->default_json &&
      osiris_json_parse(k->default_json, strlen(k->default_json), &dv, NULL, 0) == OSIRIS_OK)
    rc = osiris_json_set(o, "default", dv);
  for (fw = cp_flag_words; !rc && fw->flag; fw++)
    if (k->flags & fw->flag) rc = js_set_bool(o, fw->schema, 1);
  if (!rc && (k->flags & OSIRIS_KEY_REQUIRED) && (k->flags & OSIRIS_KEY_CONN))
    rc = js_set_bool(o, "x-osiris-required-unless-connection", 1);
  if (!rc && k->alias_of && strchr(k->alias_of, '='))
    rc = js_set_str(o, "x-osiris-true-means", k->alias_of); /* "key=value" */
  else if (!rc && k->alias_of)
    rc = js_set_str(o, "x-osiris-alias-of", k->alias_of);
  if (!rc) return o;
  osiris_json_free(o);
  return NULL;
}

/* {"required": [name]}, or with negate {"not": {"required": [name]}}. */
static osiris_json *cp_schema_requires(const char *name, int negate) {
  osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT), *r = osiris_json_new(OSIRIS_JSON_ARRAY);
  osiris_json *outer = NULL;
  if (!o || !r || js_push_str(r, name)) {
    osiris_json_free(r);
    r = NULL;
  }
  if (!r || osiris_json_set(o, "required", r)) goto fail;
  if (!negate) return o;
  outer = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!outer) goto fail;
  if (osiris_json_set(outer, "not", o)) {
    osiris_json_free(outer);
    return NULL;
  }
  return outer;
fail:
  osiris_json_free(o);
  return NULL;
}

/* The config of d as a JSON Schema (owned by the caller), NULL on ENOMEM.
 * Used by the CLI only (unused in a library build). */
static OS_UNUSED osiris_json *cp_driver_schema(const osiris_driver *d);
static osiris_json *cp_driver_schema(const osiris_driver *d) {
  osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
  osiris_json *props = osiris_json_new(OSIRIS_JSON_OBJECT), *req = osiris_json_new(OSIRIS_JSON_ARRAY);
  osiris_json *one = osiris_json_new(OSIRIS_JSON_ARRAY), *dep = osiris_json_new(OSIRIS_JSON_OBJECT);
  const osiris_config_key *k;
  size_t i;
  osiris_rc rc = o && props && req && one && dep ? OSIRIS_OK : OSIRIS_ENOMEM;
  if (!rc) rc = js_set_str(o, "$schema", CP_SCHEMA_DRAFT);
  if (!rc) rc = js_set_str(o, "title", d->name);
  if (!rc) rc = js_set_str(o, "description", d->summary ? d->summary : "");
  if (!rc) rc = js_set_str(o, "type", "object");
  for (k = d->keys; !rc && k && k->name; k++) {
    rc = osiris_json_set(props, k->name, cp_key_schema(k));
    if (!rc && (k->flags & OSIRIS_KEY_REQUIRED) && !(k->flags & OSIRIS_KEY_CONN))
      rc = js_push_str(req, k->name);
    if (!rc && (k->flags & OSIRIS_KEY_ONE_OF))
      rc = osiris_json_push(one, cp_schema_requires(k->name, 0));
    if (!rc && k->alias_of && !strchr(k->alias_of, '=')) /* an alias excludes its key */
      rc = osiris_json_set(dep, k->name, cp_schema_requires(k->alias_of, 1));
  }
  for (i = 0; !rc && cp_common_keys[i]; i++) {
    osiris_json *c;
    if (osiris_json_get(props, cp_common_keys[i])) continue;
    c = osiris_json_new(OSIRIS_JSON_OBJECT);
    rc = c ? js_set_str(c, "type", "string") : OSIRIS_ENOMEM;
    if (!rc)
      rc = js_set_str(c, "description",
                      i == 0 ? "@family.alias of the connection to use" : "set by compile to the step's mode");
    if (!rc) rc = osiris_json_set(props, cp_common_keys[i], c);
    else osiris_json_free(c);
  }
  if (!rc) rc = osiris_json_set(o, "properties", props);
  else osiris_json_free(props);
  if (!rc) rc = osiris_json_set(o, "required", req);
  else osiris_json_free(req);
  if (!rc) rc = js_set_bool(o, "additionalProperties", 0);
  if (!rc && osiris_json_size(one)) rc = osiris_json_set(o, "oneOf", one);
  else osiris_json_free(one);
  if (!rc && osiris_json_size(dep)) rc = osiris_json_set(o, "dependentSchemas", dep);
  else osiris_json_free(dep);
  if (!rc) rc = js_set_str(o, "x-osiris-family", d->family ? d->family : "");
  if (!rc) rc = js_set_str(o, "x-osiris-modes", d->modes ? d->modes : "");
  if (!rc) return o;
  osiris_json_free(o);
  return NULL;
}

static void cp_check_config(cp_state *st, const osiris_json *step, size_t i, const char *sid,
                            const char *comp, const osiris_driver *d) {
  const osiris_json *cfg = cp_step_config(step);
  const char *cfgname = osiris_json_get(step, "config") ? "config" : "with";
  const osiris_json *conn, *wm;
  const osiris_config_key *vk, *pk;
  const char *wmode, *via = NULL;
  char loc[CP_LOC_CAP], at[64]; /* at: "steps[N].config" */
  snprintf(at, sizeof at, "steps[%zu].%s", i, cfgname);
  if (!cfg || cfg->kind == OSIRIS_JSON_NULL) {
    cfg = NULL;
  } else if (cfg->kind != OSIRIS_JSON_OBJECT) {
    CP_ERR(st, "invalid_config_type", cfg, at, "config must be a mapping, got %s",
           cp_kind_name(cfg));
    return;
  }
  conn = osiris_json_get(cfg, "connection");
  if (conn) {
    char fam[CN_MAX_NAME], alias[CN_MAX_NAME];
    snprintf(loc, sizeof loc, "%s.connection", at);
    if (conn->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_connection_ref", conn, loc,
             "Invalid connection reference (expected a string '@family.alias', got %s)",
             cp_kind_name(conn));
    else if (!cn_parse_ref(conn->u.s.ptr, fam, sizeof fam, alias, sizeof alias))
      CP_ERR(st, "invalid_connection_ref", conn, loc,
             "Invalid connection reference: '%s' (expected format: '@family.alias')",
             conn->u.s.ptr);
    else if (st->check_connections && !cp_has_param_ref(conn))
      cp_check_connection(st, conn, loc, fam, alias, d, comp);
  }
  if (!d) return;
  if ((d->flags & OSIRIS_DRIVER_PREFLIGHT) && d->check) {
    /* the driver can run here: an engine it loads is there, a query parses */
    char msg[OS_ERR_CAP] = "";
    if (d->check(cfg, msg, sizeof msg) != OSIRIS_OK) {
      snprintf(loc, sizeof loc, "%s%s", at, osiris_json_get(cfg, "query") ? ".query" : "");
      CP_ERR(st, "preflight_failed", cfg ? cfg : step, loc, "Step '%s': %s", sid, msg);
    }
  }
  cp_check_values(st, cfg, at, d, comp);
  cp_check_presence(st, step, cfg, at, sid, d, comp, conn != NULL);
  if (!cp_has_word(d->modes, "write")) return;
  /* replace and upsert need a key: written as write_mode (any case), its
   * alias mode, or a value alias (truncate_before: true); the key as
   * primary_key or an alias of it (upsert_keys) */
  wm = osiris_json_get(cfg, "write_mode");
  if (!wm) wm = osiris_json_get(cfg, "mode");
  wmode = osiris_json_str(wm);
  for (vk = d->keys; !wmode && vk && vk->name; vk++) {
    const char *value;
    size_t n = cp_value_alias(vk, &value);
    const osiris_json *bv = osiris_json_get(cfg, vk->name);
    if (n == 10 && strncmp(vk->alias_of, "write_mode", n) == 0 && osiris_json_bool(bv, 0))
      wm = bv, wmode = value, via = vk->name;
  }
  pk = cp_key_find(d, "primary_key", 0);
  if (wmode && (strcasecmp(wmode, "replace") == 0 || strcasecmp(wmode, "upsert") == 0) &&
      !(pk ? cp_key_given(d, cfg, pk) : cp_cfg_has(cfg, "primary_key"))) {
    snprintf(loc, sizeof loc, "%s.primary_key", at);
    if (via)
      CP_ERR(st, "missing_required_field", wm, loc,
             "Step '%s' requires 'primary_key' when write_mode is '%s' (%s: true)", sid, wmode,
             via);
    else
      CP_ERR(st, "missing_required_field", wm, loc,
             "Step '%s' requires 'primary_key' when write_mode is '%s'", sid, wmode);
  }
}

static void cp_check_steps(cp_state *st, const osiris_json *doc) {
  const osiris_json *steps = osiris_json_get(doc, "steps");
  const char **ids = NULL;
  size_t **deps = NULL, *ndeps = NULL, *order = NULL;
  unsigned char *done = NULL, *seen = NULL;
  size_t n, i, j;
  char loc[CP_LOC_CAP];
  if (!steps) return;
  if (steps->kind != OSIRIS_JSON_ARRAY) {
    CP_ERR(st, "invalid_steps_type", steps, "steps", "steps must be a list, got %s",
           cp_kind_name(steps));
    return;
  }
  n = steps->u.c.n;
  if (n == 0) {
    CP_ERR(st, "empty_steps", steps, "steps", "Pipeline must have at least one step");
    return;
  }
  ids = os_calloc(n, sizeof *ids);
  deps = os_calloc(n, sizeof *deps);
  ndeps = os_calloc(n, sizeof *ndeps);
  order = os_calloc(n, sizeof *order);
  done = os_calloc(n, 1);
  seen = os_calloc(n, 1);
  if (!ids || !deps || !ndeps || !order || !done || !seen) goto oom;

  /* pass 1: ids, so that needs may name later steps */
  for (i = 0; i < n; i++) {
    const osiris_json *step = steps->u.c.items[i];
    const osiris_json *id = osiris_json_get(step, "id");
    snprintf(loc, sizeof loc, "steps[%zu].id", i);
    if (step->kind != OSIRIS_JSON_OBJECT) {
      snprintf(loc, sizeof loc, "steps[%zu]", i);
      CP_ERR(st, "invalid_step_type", step, loc, "Step must be a mapping, got %s",
             cp_kind_name(step));
      continue;
    }
    if (!id) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'id'");
    } else if (id->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_id_type", id, loc, "Step ID must be a string, got %s", cp_kind_name(id));
    } else if (!cp_valid_step_id(id->u.s.ptr)) {
      CP_ERR(st, "invalid_id", id, loc,
             "Step ID '%s' must match ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ (at most 255 characters)",
             id->u.s.ptr);
    } else if (cp_find_id(ids, i, id->u.s.ptr) < i) {
      CP_ERR(st, "duplicate_id", id, loc, "Duplicate step ID: '%s'", id->u.s.ptr);
    } else {
      ids[i] = id->u.s.ptr;
    }
  }

  /* pass 2: component, mode, needs, config */
  for (i = 0; i < n; i++) {
    const osiris_json *step = steps->u.c.items[i];
    const osiris_json *comp = cp_step_component(step), *mode, *needs;
    const osiris_driver *d = NULL;
    const char *sid = ids[i] ? ids[i] : js_gets(step, "id");
    const char *compname = NULL;
    if (step->kind != OSIRIS_JSON_OBJECT) continue;
    if (!sid) sid = "?";
    snprintf(loc, sizeof loc, "steps[%zu].component", i);
    if (!comp) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'component'");
    } else if (comp->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_component_type", comp, loc, "Component must be a string, got %s",
             cp_kind_name(comp));
    } else {
      compname = comp->u.s.ptr;
      d = osiris_driver_find(st->ctx, compname);
      if (!d) {
        os_buf avail = {0};
        cp_near nr;
        char hint[CP_NAME_CAP + 32];
        size_t k;
        cp_near_init(&nr, compname);
        for (k = 0; k < osiris_driver_count(st->ctx); k++) {
          const char *nm = NULL;
          osiris_driver_at(st->ctx, k, &nm);
          if (nm) cp_near_offer(&nr, nm, strlen(nm));
          if (ob_printf(&avail, "%s%s", k ? ", " : "", nm ? nm : "?")) st->nomem = 1;
        }
        CP_ERR(st, "unknown_component", comp, loc,
               "Unknown component '%s' in step '%s'%s. Available: %s", compname, sid,
               cp_near_text(&nr, hint, sizeof hint), avail.p ? avail.p : "(none)");
        ob_free(&avail);
      }
    }
    mode = osiris_json_get(step, "mode");
    snprintf(loc, sizeof loc, "steps[%zu].mode", i);
    if (!mode) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'mode'");
    } else if (mode->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_mode_type", mode, loc, "Mode must be a string, got %s",
             cp_kind_name(mode));
    } else if (!os_streq(mode->u.s.ptr, "read") && !os_streq(mode->u.s.ptr, "write") &&
               !os_streq(mode->u.s.ptr, "transform")) {
      CP_ERR(st, "invalid_mode", mode, loc,
             "Invalid mode: '%s' (must be one of: read, write, transform)", mode->u.s.ptr);
    } else if (d && !cp_has_word(d->modes, cp_map_mode(mode->u.s.ptr))) {
      static const char *const canon[] = {"read", "write", "transform", NULL};
      char allowed[64] = "";
      size_t k, used = 0;
      for (k = 0; canon[k]; k++)
        if (cp_has_word(d->modes, cp_map_mode(canon[k])))
          used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s",
                                   used ? ", " : "", canon[k]);
      CP_ERR(st, "incompatible_mode", mode, loc,
             "Step '%s': mode '%s' not supported by component '%s'. Allowed: %s", sid,
             mode->u.s.ptr, compname, used ? allowed : "(none)");
    }
    needs = osiris_json_get(step, "needs");
    snprintf(loc, sizeof loc, "steps[%zu].needs", i);
    if (needs && needs->kind != OSIRIS_JSON_ARRAY && needs->kind != OSIRIS_JSON_NULL) {
      CP_ERR(st, "invalid_needs_type", needs, loc, "needs must be a list of step ids, got %s",
             cp_kind_name(needs));
    } else if (osiris_json_size(needs)) {
      deps[i] = os_calloc(needs->u.c.n, sizeof **deps);
      if (!deps[i]) goto oom;
      for (j = 0; j < needs->u.c.n; j++) {
        const osiris_json *dep = needs->u.c.items[j];
        size_t at;
        char dloc[CP_LOC_CAP];
        snprintf(dloc, sizeof dloc, "steps[%zu].needs[%zu]", i, j);
        if (dep->kind != OSIRIS_JSON_STRING) {
          CP_ERR(st, "invalid_dependency_type", dep, dloc, "Dependency must be a string, got %s",
                 cp_kind_name(dep));
        } else if (ids[i] && strcmp(dep->u.s.ptr, ids[i]) == 0) {
          CP_ERR(st, "self_dependency", dep, dloc, "Step '%s' needs itself", sid);
        } else if ((at = cp_find_id(ids, n, dep->u.s.ptr)) == n) {
          CP_ERR(st, "unknown_dependency", dep, dloc, "Step '%s': unknown dependency '%s'", sid,
                 dep->u.s.ptr);
        } else {
          deps[i][ndeps[i]++] = at;
        }
      }
    }
    snprintf(loc, sizeof loc, "steps[%zu].timeout", i);
    cp_check_timeout(st, osiris_json_get(step, "timeout"), loc);
    cp_check_config(st, step, i, sid, compname ? compname : "?", d);
  }

  /* cycles: only among steps with valid ids */
  if (cp_toposort(n, deps, ndeps, order, done) < n) {
    for (i = 0; i < n; i++) {
      char *text;
      int nomem = 0;
      if (done[i] || seen[i] || !ids[i]) continue;
      text = cp_cycle_text(n, deps, ndeps, done, seen, i, ids, &nomem);
      if (nomem) goto oom;
      if (text) {
        snprintf(loc, sizeof loc, "steps[%zu].needs", i);
        CP_ERR(st, "dependency_cycle", osiris_json_get(steps->u.c.items[i], "needs"), loc, "%s",
               text);
        os_free(text);
      }
    }
  }
  goto done;
oom:
  st->nomem = 1;
done:
  if (deps)
    for (i = 0; i < n; i++) os_free(deps[i]);
  os_free(deps);
  os_free(ids);
  os_free(ndeps);
  os_free(order);
  os_free(done);
  os_free(seen);
}

/* Parse, scan, resolve and validate the file abs, or text[0..len) when
 * text is not NULL (abs then names it in messages).  On OSIRIS_OK *doc_out
 * is the resolved OML and *params_out the effective params.  Other results:
 * EVALIDATE / ESECRET (issues in st), EPARSE/EIO/ENOTFOUND (err, and one
 * issue), ENOMEM. */
static osiris_rc cp_prepare(cp_state *st, const char *abs, const char *text, size_t len,
                            const char *profile, const char *const *cli, int validate_only,
                            osiris_json **doc_out, osiris_json **params_out, os_err *err) {
  osiris_json *raw = NULL, *doc = NULL, *params = NULL;
  os_buf path = {0};
  osiris_rc rc;
  *doc_out = *params_out = NULL;
  /* .env is read on first use by osiris_ctx_getenv, which cannot say
   * "out of memory": load it here, where that can be reported. */
  if (cn_load_dotenv(st->ctx) == OSIRIS_ENOMEM) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = text ? ym_parse(text, len, abs, &raw, err) : ym_read_file(abs, &raw, err);
  if (rc) {
    osiris_json at;
    if (rc == OSIRIS_ENOMEM) return rc;
    /* the parser says "<file>:line:col: message"; keep line:col apart too */
    memset(&at, 0, sizeof at);
    if (os_startswith(err->msg, abs) && err->msg[strlen(abs)] == ':') {
      char *end;
      unsigned long ln = strtoul(err->msg + strlen(abs) + 1, &end, 10);
      if (*end == ':') {
        unsigned long cl = strtoul(end + 1, &end, 10);
        if (*end == ':' && ln < UINT32_MAX && cl < UINT32_MAX) {
          at.line = (uint32_t)ln;
          at.col = (uint32_t)cl;
        }
      }
    }
    CP_ERR(st, rc == OSIRIS_EPARSE ? "parse_error" : "file_error", &at, "", "%s", err->msg);
    return rc;
  }
  if (raw->kind != OSIRIS_JSON_OBJECT) {
    CP_ERR(st, "invalid_type", raw, "", "OML must be a mapping, got %s", cp_kind_name(raw));
    rc = OSIRIS_EVALIDATE;
    goto done;
  }
  cp_scan_secrets(st, raw, &path, 0);
  cp_scan_component_secrets(st, raw);
  rc = cp_params(st, raw, profile, cli, &params);
  if (rc) goto done;
  rc = cp_resolve(st, raw, params, validate_only, &doc);
  if (rc) goto done;
  cp_check_top(st, doc);
  cp_check_dotenv(st);
  st->check_connections = validate_only ? CP_CONN_STRICT : CP_CONN_IF_FOUND;
  cp_check_steps(st, doc);
  if (st->nomem) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  if (osiris_json_size(st->errors)) {
    rc = st->secret ? OSIRIS_ESECRET : OSIRIS_EVALIDATE;
    goto done;
  }
  *doc_out = doc;
  *params_out = params;
  doc = params = NULL;
done:
  if (rc == OSIRIS_ELIMIT) CP_ERR(st, "limit", NULL, "", "pipeline nests too deeply");
  osiris_json_free(raw);
  osiris_json_free(doc);
  osiris_json_free(params);
  ob_free(&path);
  return rc;
}

/* {"valid","file","errors","warnings"}; takes the issue lists from st. */
static osiris_json *cp_report(cp_state *st, const char *file, int valid) {
  osiris_json *r = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!r || js_set_bool(r, "valid", valid) || js_set_str(r, "file", file)) goto fail;
  if (osiris_json_set(r, "errors", st->errors)) {
    st->errors = NULL;
    goto fail;
  }
  st->errors = NULL;
  if (osiris_json_set(r, "warnings", st->warnings)) {
    st->warnings = NULL;
    goto fail;
  }
  st->warnings = NULL;
  return r;
fail:
  osiris_json_free(r);
  return NULL;
}

/* "<file>: N validation errors; first: <message> (<location>, line:col)". */
static void cp_summary(os_err *err, osiris_rc rc, const char *file, const osiris_json *errors) {
  const osiris_json *e = osiris_json_at(errors, 0);
  size_t n = osiris_json_size(errors);
  const char *loc = js_gets(e, "location");
  char where[CP_LOC_CAP + 64] = "";
  if (loc && *loc)
    snprintf(where, sizeof where, " (%s, %" PRId64 ":%" PRId64 ")", loc,
             osiris_json_int(osiris_json_get(e, "line"), 0),
             osiris_json_int(osiris_json_get(e, "col"), 0));
  if (!e) {
    os_fail(err, rc, "%s: validation failed", file);
  } else if (n == 1) {
    os_fail(err, rc, "%s: %s%s", file, js_gets(e, "message"), where);
  } else {
    os_fail(err, rc, "%s: %zu validation errors; first: %s%s", file, n, js_gets(e, "message"),
            where);
  }
}

static int cp_state_init(cp_state *st, osiris_ctx *ctx) {
  memset(st, 0, sizeof *st);
  st->ctx = ctx;
  st->errors = osiris_json_new(OSIRIS_JSON_ARRAY);
  st->warnings = osiris_json_new(OSIRIS_JSON_ARRAY);
  return st->errors && st->warnings;
}

static void cp_state_free(cp_state *st) {
  osiris_json_free(st->errors);
  osiris_json_free(st->warnings);
  osiris_json_free(st->conn_doc);
  os_free(st->conn_path);
}

/* osiris_validate of the file pipeline_path, or of text[0..len) when text
 * is not NULL (pipeline_path then names it). */
static osiris_rc cp_validate(osiris_ctx *ctx, const char *pipeline_path, const char *text,
                             size_t len, osiris_json **report) {
  cp_state st;
  os_err err;
  osiris_json *doc = NULL, *params = NULL;
  char *abs = NULL;
  osiris_rc rc;
  if (report) *report = NULL;
  if (!ctx || !pipeline_path) return OSIRIS_EUSAGE;
  memset(&err, 0, sizeof err);
  if (!cp_state_init(&st, ctx) ||
      !(abs = text ? os_strdup(pipeline_path) : os_path_abs(ctx->base_dir, pipeline_path))) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  rc = cp_prepare(&st, abs, text, len, NULL, NULL, 1, &doc, &params, &err);
  if (rc == OSIRIS_ENOMEM) goto done;
  if (rc) {
    if ((rc == OSIRIS_EVALIDATE || rc == OSIRIS_ESECRET) && osiris_json_size(st.errors))
      cp_summary(&err, rc, pipeline_path, st.errors);
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
  }
  if (report) {
    *report = cp_report(&st, pipeline_path, rc == OSIRIS_OK);
    if (!*report) rc = OSIRIS_ENOMEM;
  }
done:
  if (rc == OSIRIS_ENOMEM) snprintf(ctx->err, sizeof ctx->err, "out of memory");
  cp_state_free(&st);
  osiris_json_free(doc);
  osiris_json_free(params);
  os_free(abs);
  return rc;
}

osiris_rc osiris_validate(osiris_ctx *ctx, const char *pipeline_path, osiris_json **report) {
  return cp_validate(ctx, pipeline_path, NULL, 0, report);
}

osiris_rc osiris_validate_mem(osiris_ctx *ctx, const char *text, size_t len, const char *name,
                              osiris_json **report) {
  if (report) *report = NULL;
  if (!text && len) return OSIRIS_EUSAGE;
  return cp_validate(ctx, name ? name : "<memory>", text ? text : "", len, report);
}

/* ---------------------------------------------------------------- output */

/* "sha256:<hex>" of the canonical JSON of v (keys sorted, compact). */
static osiris_rc cp_fp_json(const osiris_json *v, unsigned flags, char out[72]) {
  os_buf b = {0};
  char hex[65];
  osiris_rc rc = js_dump(&b, v, OSIRIS_JSON_SORTED | flags);
  if (rc) {
    ob_free(&b);
    return rc;
  }
  os_sha256_hex(b.p ? b.p : "", b.len, hex);
  snprintf(out, 72, "sha256:%s", hex);
  ob_free(&b);
  return OSIRIS_OK;
}

static void cp_fp_text(const char *text, char out[72]) {
  char hex[65];
  os_sha256_hex(text, strlen(text), hex);
  snprintf(out, 72, "sha256:%s", hex);
}

/* Reference slugify: lowercase; space and '_' -> '-'; drop other chars
 * outside [a-z0-9-]; collapse runs; trim separators. */
static char *cp_slugify(const char *s) {
  size_t n = strlen(s), o = 0, i;
  char *out = os_malloc(n + 9);
  if (!out) return NULL;
  for (i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)s[i]);
    if (c == ' ' || c == '_') c = '-';
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) continue;
    if (c == '-' && (o == 0 || out[o - 1] == '-')) continue;
    out[o++] = c;
  }
  while (o > 0 && out[o - 1] == '-') o--;
  if (o == 0) {
    memcpy(out, "pipeline", 8);
    o = 8;
  }
  out[o] = 0;
  return out;
}

/* pipeline.id: name lowercased, spaces -> '_' (ASCII only). */
static char *cp_pipeline_id(const char *name) {
  char *id = os_strdup(name);
  char *p;
  if (!id) return NULL;
  for (p = id; *p; p++) *p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
  return id;
}

/* cfg/<id>.json for one step: component, mapped mode (config.mode wins),
 * config minus secret keys, component defaults for absent keys. */
static osiris_json *cp_step_cfg(const osiris_json *step, const osiris_driver *d, os_err *err) {
  osiris_json *cfg = osiris_json_new(OSIRIS_JSON_OBJECT);
  const osiris_json *conf = cp_step_config(step);
  const char *mode = js_gets(step, "mode");
  const osiris_config_key *k;
  int has_conn;
  size_t j;
  if (!cfg || js_set_str(cfg, "component", osiris_json_str(cp_step_component(step))) ||
      js_set_str(cfg, "mode", mode ? cp_map_mode(mode) : ""))
    goto oom;
  for (j = 0; j < osiris_json_size(conf); j++) {
    const char *key = osiris_json_key_at(conf, j);
    if (cp_is_secret(d, key)) continue;
    if (cp_set_copy(cfg, key, osiris_json_at(conf, j))) goto oom;
  }
  has_conn = osiris_json_get(conf, "connection") != NULL;
  for (k = d ? d->keys : NULL; k && k->name; k++) {
    osiris_json *dv = NULL;
    os_err perr;
    osiris_rc prc;
    if (!k->default_json || osiris_json_get(cfg, k->name) || cp_is_secret(d, k->name)) continue;
    if (cp_key_given(d, conf, k)) continue; /* given under an alias (create_table) */
    if ((k->flags & OSIRIS_KEY_CONN) && has_conn) continue;
    prc = js_parse(k->default_json, strlen(k->default_json), k->name, &dv, &perr);
    if (prc == OSIRIS_ENOMEM) goto oom;
    if (prc) {
      osiris_json_free(cfg);
      os_fail(err, OSIRIS_EINVAL, "component %s: bad default for key '%s': %s", d->name, k->name,
              perr.msg);
      return NULL;
    }
    if (osiris_json_set(cfg, k->name, dv)) goto oom;
  }
  return cfg;
oom:
  osiris_json_free(cfg);
  os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return NULL;
}

/* UTC "YYYYMMDD_HHMMSS_" + 8 random hex digits. */
static void cp_compile_id(char out[80]) {
  time_t secs = (time_t)(os_wall_us() / 1000000);
  struct tm tm;
  char hex[9];
  gmtime_r(&secs, &tm);
  os_random_hex(hex, 8);
  snprintf(out, 80, "%04d%02d%02d_%02d%02d%02d_%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, hex);
}

static char *cp_logs_dir(osiris_ctx *ctx, const char *logs_dir) {
  return os_path_abs(ctx->base_dir, logs_dir ? logs_dir : "logs");
}

/* "timeout" in the manifest: an integer when it is one (5, not 5.0). */
static osiris_rc cp_set_timeout(osiris_json *obj, double d) {
  if (d == floor(d)) return js_set_int(obj, "timeout", (int64_t)d);
  return js_set_double(obj, "timeout", d);
}

static osiris_rc cp_compile(osiris_ctx *ctx, const char *path, const osiris_compile_opts *opts,
                            osiris_json **result, os_err *err) {
  cp_state st;
  osiris_compile_opts none;
  osiris_json *doc = NULL, *params = NULL, *manifest = NULL, *res = NULL, *fps = NULL;
  osiris_json *msteps = NULL, *pipeline = NULL, *meta = NULL, *hashdoc = NULL;
  osiris_json **cfgs = NULL;
  char *abs = NULL, *logs = NULL, *out_dir = NULL, *compile_dir = NULL, *cfg_dir = NULL;
  char *mpath = NULL, *slug = NULL, *pid = NULL, *tmp = NULL;
  const char *profile, *name;
  const osiris_json *steps;
  char oml_fp[72], params_fp[72], registry_fp[72], compiler_fp[72], manifest_fp[72];
  char hash[65], shortk[8], gen[40];
  os_buf b = {0};
  size_t i, n = 0;
  double tmo;
  osiris_rc rc;
  if (result) *result = NULL;
  if (!opts) {
    memset(&none, 0, sizeof none);
    opts = &none;
  }
  if (!cp_state_init(&st, ctx) || !(abs = os_path_abs(ctx->base_dir, path))) {
    cp_state_free(&st);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  profile = opts->profile && *opts->profile ? opts->profile : NULL;
  rc = cp_prepare(&st, abs, NULL, 0, profile, opts->params, 0, &doc, &params, err);
  if (rc == OSIRIS_ENOMEM) {
    os_fail(err, rc, "out of memory");
    goto done;
  }
  if (rc) {
    /* parse and file errors keep their own message, which names the file */
    if ((rc == OSIRIS_EVALIDATE || rc == OSIRIS_ESECRET) && osiris_json_size(st.errors))
      cp_summary(err, rc, path, st.errors);
    if (result) {
      res = cp_report(&st, path, 0);
      if (!res || js_set_str(res, "status", "error") || js_set_str(res, "message", err->msg)) {
        rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
        goto done;
      }
    }
    goto done;
  }

  /* fingerprints, as 0.5.7 computes them */
  rc = cp_fp_json(doc, 0, oml_fp);
  if (!rc) rc = cp_fp_json(params, 0, params_fp);
  if (rc) goto oom_or_rc;
  cp_fp_text(CP_REGISTRY_FP_TEXT, registry_fp);
  cp_fp_text(CP_COMPILER, compiler_fp);
  name = js_gets(doc, "name");
  steps = osiris_json_get(doc, "steps");
  n = osiris_json_size(steps);

  fps = osiris_json_new(OSIRIS_JSON_OBJECT);
  pipeline = osiris_json_new(OSIRIS_JSON_OBJECT);
  msteps = osiris_json_new(OSIRIS_JSON_ARRAY);
  meta = osiris_json_new(OSIRIS_JSON_OBJECT);
  manifest = osiris_json_new(OSIRIS_JSON_OBJECT);
  cfgs = os_calloc(n ? n : 1, sizeof *cfgs);
  pid = cp_pipeline_id(name);
  slug = cp_slugify(name);
  if (!fps || !pipeline || !msteps || !meta || !manifest || !cfgs || !pid || !slug) goto oom;
  if (js_set_str(fps, "oml_fp", oml_fp) || js_set_str(fps, "registry_fp", registry_fp) ||
      js_set_str(fps, "compiler_fp", compiler_fp) || js_set_str(fps, "params_fp", params_fp) ||
      js_set_str(fps, "profile", profile ? profile : "default"))
    goto oom;
  /* name lives at the top level, as in 0.5.7: a pipeline.name would change
   * manifest_hash against 0.5.7 for the same input. */
  if (js_set_str(pipeline, "id", pid) || js_set_str(pipeline, "version", "0.1.0"))
    goto oom;
  if (cp_timeout_value(osiris_json_get(doc, "timeout"), &tmo) && cp_set_timeout(pipeline, tmo))
    goto oom;
  for (i = 0; i < n; i++) {
    const osiris_json *step = osiris_json_at(steps, i);
    const char *comp = osiris_json_str(cp_step_component(step));
    const osiris_json *needs = osiris_json_get(step, "needs");
    osiris_json *ms = osiris_json_new(OSIRIS_JSON_OBJECT), *nd;
    char *cp;
    if (!ms || osiris_json_push(msteps, ms)) goto oom;
    cp = os_asprintf("cfg/%s.json", js_gets(step, "id"));
    if (!cp || js_set_str(ms, "id", js_gets(step, "id")) || js_set_str(ms, "component", comp) ||
        js_set_str(ms, "driver", comp) || js_set_str(ms, "cfg_path", cp)) {
      os_free(cp);
      goto oom;
    }
    os_free(cp);
    if (needs && needs->kind == OSIRIS_JSON_ARRAY) {
      nd = osiris_json_copy(needs);
    } else {
      nd = osiris_json_new(OSIRIS_JSON_ARRAY);
      if (nd && i > 0 && js_push_str(nd, js_gets(osiris_json_at(steps, i - 1), "id"))) {
        osiris_json_free(nd);
        nd = NULL;
      }
    }
    if (!nd || osiris_json_set(ms, "needs", nd)) goto oom;
    /* only when given: the manifest (and its hash) of a pipeline without
     * one stays 0.5.7's */
    if (cp_timeout_value(osiris_json_get(step, "timeout"), &tmo) && cp_set_timeout(ms, tmo)) goto oom;
    cfgs[i] = cp_step_cfg(step, osiris_driver_find(ctx, comp), err);
    if (!cfgs[i]) {
      rc = err->rc ? err->rc : OSIRIS_ENOMEM;
      goto done;
    }
  }
  if (js_set_str(meta, "oml_version", js_gets(doc, "oml_version")) ||
      js_set_str(meta, "profile", profile ? profile : "default") ||
      js_set_str(meta, "run_id", "${run_id}"))
    goto oom;
  {
    osiris_json *tc = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!tc || js_set_str(tc, "compiler", CP_COMPILER) || js_set_str(tc, "registry", CP_REGISTRY)) {
      osiris_json_free(tc);
      goto oom;
    }
    if (osiris_json_set(meta, "toolchain", tc)) goto oom; /* tc is taken also on failure */
  }
  /* each set takes its value also on failure: run them all, then check */
  rc = osiris_json_set(pipeline, "fingerprints", fps);
  fps = NULL;
  if (osiris_json_set(manifest, "pipeline", pipeline)) rc = OSIRIS_ENOMEM;
  pipeline = NULL;
  if (osiris_json_set(manifest, "steps", msteps)) rc = OSIRIS_ENOMEM;
  msteps = NULL;
  if (osiris_json_set(manifest, "meta", meta)) rc = OSIRIS_ENOMEM;
  meta = NULL;
  if (!rc && name) rc = js_set_str(manifest, "name", name);
  if (!rc && osiris_json_get(doc, "metadata"))
    rc = cp_set_copy(manifest, "metadata", osiris_json_get(doc, "metadata"));
  if (rc) goto oom_or_rc;

  /* Without generated_at and the hash fields the manifest is what both
   * manifest_fp (UTF-8) and manifest_hash (ASCII, with the profile) cover. */
  rc = cp_fp_json(manifest, 0, manifest_fp);
  if (rc) goto oom_or_rc;
  hashdoc = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!hashdoc) goto oom;
  {
    osiris_json *mcopy = osiris_json_copy(manifest);
    if (!mcopy || osiris_json_set(hashdoc, "manifest", mcopy) ||
        js_set_str(hashdoc, "profile", profile ? profile : ""))
      goto oom;
  }
  rc = js_dump(&b, hashdoc, OSIRIS_JSON_SORTED | OSIRIS_JSON_ASCII);
  if (rc) goto oom_or_rc;
  os_sha256_hex(b.p, b.len, hash);
  ob_free(&b);
  memcpy(shortk, hash, 7);
  shortk[7] = 0;
  {
    osiris_json *mp = (osiris_json *)osiris_json_get(manifest, "pipeline");
    osiris_json *mfps = (osiris_json *)osiris_json_get(mp, "fingerprints");
    osiris_json *mm = (osiris_json *)osiris_json_get(manifest, "meta");
    char iso[64];
    os_iso8601(os_wall_us(), iso);
    snprintf(gen, sizeof gen, "%.26sZ", iso); /* Python utcnow().isoformat() + "Z" */
    if (js_set_str(mfps, "manifest_fp", manifest_fp) || js_set_str(mm, "generated_at", gen) ||
        js_set_str(mm, "manifest_hash", hash) || js_set_str(mm, "manifest_short", shortk))
      goto oom;
  }

  /* write: cfg files first, the manifest last, then .last_compile */
  logs = cp_logs_dir(ctx, opts->logs_dir);
  if (!logs) goto oom;
  if (opts->out_dir) {
    out_dir = os_path_abs(ctx->base_dir, opts->out_dir);
    compile_dir = out_dir ? os_strdup(out_dir) : NULL;
  } else {
    char id[80];
    cp_compile_id(id);
    compile_dir = os_asprintf("%s/compile_%s", logs, id);
    out_dir = compile_dir ? os_path_join(compile_dir, "compiled") : NULL;
  }
  if (!out_dir || !compile_dir || !(cfg_dir = os_path_join(out_dir, "cfg"))) goto oom;
  rc = os_mkdir_p(cfg_dir, err);
  if (rc) goto done;
  for (i = 0; i < n; i++) {
    os_free(tmp);
    tmp = os_asprintf("%s/%s.json", cfg_dir, js_gets(osiris_json_at(steps, i), "id"));
    if (!tmp) goto oom;
    rc = js_dump(&b, cfgs[i], OSIRIS_JSON_SORTED);
    if (rc) goto oom_or_rc;
    rc = os_write_file(tmp, b.p ? b.p : "", b.len, err);
    ob_free(&b);
    if (rc) goto done;
  }
  mpath = os_path_join(out_dir, "manifest.yaml");
  if (!mpath) goto oom;
  rc = ym_emit(&b, manifest, YM_SORTED | YM_MARKERS);
  if (rc) goto oom_or_rc;
  rc = os_write_file(mpath, b.p ? b.p : "", b.len, err);
  ob_free(&b);
  if (rc) goto done;
  rc = os_mkdir_p(logs, err);
  if (rc) goto done;
  os_free(tmp);
  tmp = os_path_join(logs, ".last_compile");
  if (!tmp || ob_printf(&b, "%s\n", mpath)) goto oom;
  rc = os_write_file(tmp, b.p, b.len, err);
  ob_free(&b);
  if (rc) goto done;

  if (result) {
    osiris_json *fcopy = osiris_json_copy(osiris_json_get(
        osiris_json_get(manifest, "pipeline"), "fingerprints"));
    char *msg = os_asprintf("Compilation successful: %s", shortk);
    res = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!fcopy || !msg || !res || js_set_str(res, "status", "success") ||
        js_set_str(res, "message", msg) || js_set_str(res, "manifest_path", mpath) ||
        js_set_str(res, "manifest_hash", hash) || js_set_str(res, "manifest_short", shortk) ||
        js_set_str(res, "pipeline_id", pid) || js_set_str(res, "pipeline_slug", slug) ||
        js_set_str(res, "profile", profile ? profile : "default") ||
        js_set_str(res, "compile_dir", compile_dir)) {
      osiris_json_free(fcopy);
      os_free(msg);
      goto oom;
    }
    os_free(msg);
    if (osiris_json_set(res, "fingerprints", fcopy)) goto oom;
    if (st.warnings && osiris_json_size(st.warnings)) {
      if (osiris_json_set(res, "warnings", st.warnings)) {
        st.warnings = NULL;
        goto oom;
      }
      st.warnings = NULL;
    }
  }
  rc = OSIRIS_OK;
  goto done;
oom_or_rc:
  if (rc != OSIRIS_ENOMEM) {
    os_fail(err, rc, "%s: cannot serialize the compiled output (%s)", path, osiris_rc_name(rc));
    goto done;
  }
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  if (result && res && (rc == OSIRIS_OK || osiris_json_get(res, "errors"))) {
    *result = res;
    res = NULL;
  }
  if (cfgs)
    for (i = 0; i < n; i++) osiris_json_free(cfgs[i]);
  os_free(cfgs);
  osiris_json_free(res);
  osiris_json_free(doc);
  osiris_json_free(params);
  osiris_json_free(manifest);
  osiris_json_free(fps);
  osiris_json_free(pipeline);
  osiris_json_free(msteps);
  osiris_json_free(meta);
  osiris_json_free(hashdoc);
  cp_state_free(&st);
  ob_free(&b);
  os_free(abs);
  os_free(logs);
  os_free(out_dir);
  os_free(compile_dir);
  os_free(cfg_dir);
  os_free(mpath);
  os_free(slug);
  os_free(pid);
  os_free(tmp);
  return rc;
}

osiris_rc osiris_compile(osiris_ctx *ctx, const char *pipeline_path,
                         const osiris_compile_opts *opts, osiris_json **result) {
  os_err err;
  osiris_rc rc;
  if (result) *result = NULL;
  if (!ctx || !pipeline_path) return OSIRIS_EUSAGE;
  memset(&err, 0, sizeof err);
  rc = cp_compile(ctx, pipeline_path, opts, result, &err);
  if (rc) snprintf(ctx->err, sizeof ctx->err, "%s", err.msg[0] ? err.msg : osiris_rc_name(rc));
  return rc;
}

/* The newest compile: <logs_dir>/.last_compile, else the greatest
 * compile_<id>/compiled/manifest.yaml by name (ids sort by time). */
char *osiris_last_compile(osiris_ctx *ctx, const char *logs_dir) {
  char *logs, *marker = NULL, *text = NULL, *best = NULL, *found = NULL;
  size_t len = 0;
  DIR *dir;
  struct dirent *de;
  if (!ctx) return NULL;
  logs = cp_logs_dir(ctx, logs_dir);
  if (!logs) return NULL;
  marker = os_path_join(logs, ".last_compile");
  if (marker && os_read_file(marker, &text, &len, NULL) == OSIRIS_OK) {
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    if (len > 0 && os_is_file(text)) {
      found = text;
      text = NULL;
      goto done;
    }
  }
  dir = opendir(logs);
  if (dir) {
    while ((de = readdir(dir)) != NULL) {
      char *cand;
      if (strncmp(de->d_name, "compile_", 8) != 0) continue;
      if (best && strcmp(de->d_name, best) <= 0) continue;
      cand = os_asprintf("%s/%s/compiled/manifest.yaml", logs, de->d_name);
      if (cand && os_is_file(cand)) {
        char *nb = os_strdup(de->d_name);
        if (nb) {
          os_free(best);
          best = nb;
          os_free(found);
          found = cand;
          cand = NULL;
        }
      }
      os_free(cand);
    }
    closedir(dir);
  }
done:
  if (!found) snprintf(ctx->err, sizeof ctx->err, "No recent compile found in %s", logs);
  os_free(logs);
  os_free(marker);
  os_free(text);
  os_free(best);
  return found;
}

/* ======================================================================
 * 13. Manifest
 *
 * A compiled manifest, ours or one written by Python Osiris 0.5.7: steps
 * with id, driver (or component), cfg_path relative to the manifest's
 * directory, and needs.  Loading checks the shape (unique, file-safe ids;
 * needs naming known steps; cfg_path staying inside the manifest
 * directory; pipeline.timeout and steps[i].timeout, when there, positive
 * seconds); mf_order gives the run order: needs first, manifest order
 * among ready steps, and a named cycle as an error.
 * ====================================================================== */

static int mf_is_manifest(const osiris_json *doc) {
  return osiris_json_kind_of(doc) == OSIRIS_JSON_OBJECT && osiris_json_get(doc, "pipeline") &&
         osiris_json_get(doc, "steps") && osiris_json_get(doc, "meta");
}

static void mf_free(mf_manifest *m) {
  size_t i, k;
  if (!m) return;
  for (i = 0; i < m->n_steps; i++) {
    mf_step *s = &m->steps[i];
    os_free(s->id);
    os_free(s->driver);
    os_free(s->component);
    os_free(s->cfg_path);
    for (k = 0; k < s->n_needs; k++) os_free(s->needs[k]);
    os_free(s->needs);
  }
  os_free(m->steps);
  osiris_json_free(m->doc);
  os_free(m->path);
  os_free(m->dir);
  os_free(m->pipeline_id);
  os_free(m->profile);
  os_free(m);
}

/* Relative, and no ".." segment: cfg files stay under the manifest dir. */
static int mf_safe_rel_path(const char *p) {
  const char *s = p;
  if (!p || !*p || p[0] == '/') return 0;
  while (*s) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') return 0;
    s += n;
    if (*s) s++;
  }
  return 1;
}

static osiris_rc mf_load(const char *path, mf_manifest **out, os_err *err) {
  mf_manifest *m = NULL;
  const osiris_json *steps, *v;
  osiris_rc rc;
  size_t i, k, n;
  *out = NULL;
  m = os_calloc(1, sizeof *m);
  if (!m) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  m->path = os_path_abs(NULL, path);
  m->dir = m->path ? os_path_dirname(m->path) : NULL;
  if (!m->path || !m->dir) goto oom;
  rc = ym_read_file(m->path, &m->doc, err);
  if (rc) goto fail;
  if (!mf_is_manifest(m->doc)) {
    rc = os_fail(err, OSIRIS_EPARSE,
                 "%s: not a compiled manifest (needs 'pipeline', 'steps' and 'meta')", m->path);
    goto fail;
  }
  steps = osiris_json_get(m->doc, "steps");
  if (steps->kind != OSIRIS_JSON_ARRAY || steps->u.c.n == 0) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: steps must be a non-empty list", m->path,
                 (unsigned)steps->line, (unsigned)steps->col);
    goto fail;
  }
  n = steps->u.c.n;
  m->steps = os_calloc(n, sizeof *m->steps);
  if (!m->steps) goto oom;
  m->n_steps = n;
  v = osiris_json_get(osiris_json_get(m->doc, "pipeline"), "id");
  m->pipeline_id = os_strdup(osiris_json_str(v) ? osiris_json_str(v) : "");
  v = osiris_json_get(osiris_json_get(m->doc, "meta"), "profile");
  m->profile = os_strdup(osiris_json_str(v) ? osiris_json_str(v) : "");
  if (!m->pipeline_id || !m->profile) goto oom;
  v = osiris_json_get(osiris_json_get(m->doc, "pipeline"), "timeout");
  if (v && !cp_timeout_value(v, &m->timeout_s)) {
    rc = os_fail(err, OSIRIS_EPARSE,
                 "%s:%u:%u: pipeline.timeout must be a positive number of seconds (at most %.0f)",
                 m->path, (unsigned)v->line, (unsigned)v->col, CP_TIMEOUT_MAX);
    goto fail;
  }
  for (i = 0; i < n; i++) {
    const osiris_json *st = steps->u.c.items[i];
    const char *id = js_gets(st, "id"), *drv = js_gets(st, "driver");
    const char *comp = js_gets(st, "component"), *cfgp = js_gets(st, "cfg_path");
    const osiris_json *needs = osiris_json_get(st, "needs");
    mf_step *s = &m->steps[i];
    if (osiris_json_kind_of(st) != OSIRIS_JSON_OBJECT) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: steps[%zu] must be a mapping", m->path,
                   (unsigned)st->line, (unsigned)st->col, i);
      goto fail;
    }
    if (!cp_valid_step_id(id)) {
      rc = os_fail(err, OSIRIS_EPARSE,
                   "%s:%u:%u: steps[%zu].id must be a string matching ^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
                   m->path, (unsigned)st->line, (unsigned)st->col, i);
      goto fail;
    }
    for (k = 0; k < i; k++)
      if (strcmp(m->steps[k].id, id) == 0) {
        rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: duplicate step id '%s'", m->path,
                     (unsigned)st->line, (unsigned)st->col, id);
        goto fail;
      }
    if (!drv) drv = comp;
    if (!comp) comp = drv;
    if (!drv || !*drv) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s' has no driver", m->path,
                   (unsigned)st->line, (unsigned)st->col, id);
      goto fail;
    }
    if (!mf_safe_rel_path(cfgp)) {
      rc = os_fail(err, OSIRIS_EPARSE,
                   "%s:%u:%u: step '%s': cfg_path must be a relative path inside the manifest "
                   "directory",
                   m->path, (unsigned)st->line, (unsigned)st->col, id);
      goto fail;
    }
    s->id = os_strdup(id);
    s->driver = os_strdup(drv);
    s->component = os_strdup(comp);
    s->cfg_path = os_strdup(cfgp);
    if (!s->id || !s->driver || !s->component || !s->cfg_path) goto oom;
    v = osiris_json_get(st, "timeout");
    if (v && !cp_timeout_value(v, &s->timeout_s)) {
      rc = os_fail(err, OSIRIS_EPARSE,
                   "%s:%u:%u: steps[%zu].timeout must be a positive number of seconds (at most %.0f)",
                   m->path, (unsigned)v->line, (unsigned)v->col, i, CP_TIMEOUT_MAX);
      goto fail;
    }
    if (needs && needs->kind != OSIRIS_JSON_ARRAY && needs->kind != OSIRIS_JSON_NULL) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s': needs must be a list", m->path,
                   (unsigned)needs->line, (unsigned)needs->col, id);
      goto fail;
    }
    if (osiris_json_size(needs)) {
      s->needs = os_calloc(needs->u.c.n, sizeof *s->needs);
      if (!s->needs) goto oom;
      for (k = 0; k < needs->u.c.n; k++) {
        const char *dep = osiris_json_str(needs->u.c.items[k]);
        if (!dep) {
          rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s': needs must list step ids",
                       m->path, (unsigned)needs->line, (unsigned)needs->col, id);
          goto fail;
        }
        if (!(s->needs[s->n_needs++] = os_strdup(dep))) goto oom;
      }
    }
  }
  for (i = 0; i < n; i++)
    for (k = 0; k < m->steps[i].n_needs; k++) {
      size_t j;
      for (j = 0; j < n; j++)
        if (strcmp(m->steps[j].id, m->steps[i].needs[k]) == 0) break;
      if (j == n) {
        rc = os_fail(err, OSIRIS_EPARSE, "%s: step '%s' needs unknown step '%s'", m->path,
                     m->steps[i].id, m->steps[i].needs[k]);
        goto fail;
      }
    }
  *out = m;
  return OSIRIS_OK;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
fail:
  mf_free(m);
  return rc;
}

static osiris_rc mf_order(const mf_manifest *m, size_t *order, os_err *err) {
  size_t n = m->n_steps, i, k;
  size_t **deps = os_calloc(n ? n : 1, sizeof *deps);
  size_t *ndeps = os_calloc(n ? n : 1, sizeof *ndeps);
  unsigned char *done = os_calloc(n ? n : 1, 1), *seen = os_calloc(n ? n : 1, 1);
  const char **ids = os_calloc(n ? n : 1, sizeof *ids);
  osiris_rc rc = OSIRIS_OK;
  if (!deps || !ndeps || !done || !seen || !ids) goto oom;
  for (i = 0; i < n; i++) {
    ids[i] = m->steps[i].id;
    deps[i] = os_calloc(m->steps[i].n_needs ? m->steps[i].n_needs : 1, sizeof **deps);
    if (!deps[i]) goto oom;
    for (k = 0; k < m->steps[i].n_needs; k++) {
      size_t j;
      for (j = 0; j < n; j++)
        if (strcmp(m->steps[j].id, m->steps[i].needs[k]) == 0) break;
      if (j == n) {
        rc = os_fail(err, OSIRIS_EPARSE, "step '%s' needs unknown step '%s'", m->steps[i].id,
                     m->steps[i].needs[k]);
        goto done;
      }
      deps[i][ndeps[i]++] = j;
    }
  }
  if (cp_toposort(n, deps, ndeps, order, done) < n) {
    for (i = 0; i < n; i++) {
      char *text;
      int nomem = 0;
      if (done[i]) continue;
      text = cp_cycle_text(n, deps, ndeps, done, seen, i, ids, &nomem);
      if (nomem) goto oom;
      rc = os_fail(err, OSIRIS_EVALIDATE, "%s: %s", m->path ? m->path : "manifest",
                   text ? text : "dependency cycle");
      os_free(text);
      goto done;
    }
  }
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  if (deps)
    for (i = 0; i < n; i++) os_free(deps[i]);
  os_free(deps);
  os_free(ndeps);
  os_free(done);
  os_free(seen);
  os_free(ids);
  return rc;
}

/* ======================================================================
 * 14. Driver registry and runner
 *
 * One runner for every place a pipeline runs: the host's local adapter
 * and the sandbox worker call the same rn_exec_step.  Steps run in the
 * topological order of needs (manifest order among ready steps).  A step
 * sees the frames of its upstream steps as df_<sanitized id>, plus df and
 * input_df when there is exactly one.  The first failure stops the run:
 * step_failed, every step not yet run gets step_skipped, status.json says
 * why.  A frame is freed as soon as its last consumer has finished.
 * status.json and run_card.json are written on every path once the
 * session exists (rn_collect), failures included.
 *
 * Streamed pairs: when a step's one consumer reads batches
 * (OSIRIS_DRIVER_STREAMS_IN) and needs nothing else, the producer runs in
 * a thread and hands batches through an rn_pipe of RN_PIPE_DEPTH slots;
 * the consumer begins only when the first batch is there, so a producer
 * that finishes (or fails) before handing one over gives exactly the
 * sequential run.  Each step's events keep their order; the two steps'
 * driver events interleave; the consumer's stream_complete reports what
 * came through.  The step that failed first is the run's failure and ends
 * first; the other one is reported as stopped because of it.  Otherwise
 * the producer ends first.  Streamed frames are never whole, so
 * they are never spilled; OSIRIS_FORCE_SPILL, OSIRIS_STREAM=0 or a
 * resumable run (every output saved, section 18) turns streaming off.
 *
 * Parallel branches (--jobs J, run->jobs; 0: the online cores): with J > 1
 * the calling thread schedules (rn_sched_run) and up to J units (a step,
 * or a streamed pair) run at once, each in a thread of its own, starting
 * in run order as soon as every need has succeeded; with J = 1 the steps
 * run one after another in the calling thread, as they always did.  What
 * step threads share is under run->mu (rn_lock: the run's first failure,
 * steps_completed, consumers_left and the frame of a step that has
 * ended, the start/end marks of the run card) or under the session's lock
 * (event, metric and log lines, noted keys); everything else in
 * run->st[i] belongs to the thread running step i until the scheduler has
 * joined it.  Each step's own events keep the order they have in a serial
 * run; the lines of steps that run at once interleave, and runs diff
 * compares per step.  After the first failure nothing new starts; the
 * units still running finish and are reported as they ended (a failure
 * does not cancel them: only Ctrl-C or a timeout does, through the
 * context's cancel flag); then step_skipped for the rest.  Memory: each
 * frame is spilled by the same rule as in a serial run (so the artifacts
 * are the same whatever J is), and while the frames kept in memory add up
 * to more rows than one frame may hold, no second unit starts.  The
 * sandbox worker gets J in prepare and, with J > 1, runs every step on the
 * first exec_step; the host mirrors the lines it sends, step by step.
 * ====================================================================== */

typedef enum rn_status {
  RN_PENDING = 0,
  RN_RUNNING,
  RN_SUCCESS,
  RN_FAILED,
  RN_SKIPPED
} rn_status;

static const char *rn_status_name(rn_status s) {
  static const char *const names[] = {"pending", "running", "success", "failed", "skipped"};
  return names[s];
}

/* What the run keeps of each step between and after executions. */
typedef struct rn_state {
  rn_status status;
  osiris_frame *frame;    /* output, kept while a consumer still needs it */
  int had_frame;          /* the step produced a frame */
  size_t consumers_left;  /* downstream steps that have not finished */
  int64_t rows_in, rows_out, rows_read, rows_written;
  double duration_ms;
  char *input_key;        /* df_<sanitized id> */
  char *error;            /* owned, scrubbed */
  osiris_rc error_rc;
  osiris_json *artifacts; /* array of run-relative paths */
  char *spill_path;       /* absolute artifacts/<id>/output.parquet once spilled */
  int timed_out;          /* a bound fired while it ran (atomic) */
  double start_ms;        /* a remote run's host: when step_start came */
  uint64_t begin_seq;     /* run->seq at step_start, 0: never started (under run->mu) */
  uint64_t end_seq;       /* run->seq at its end, 0: not ended (under run->mu) */
  double begin_off_ms;    /* step_start, ms after the session started */
  double end_off_ms;      /* its end, ms after the session started */
} rn_state;

struct osiris_step {
  osiris_run *run;
  size_t index;             /* into run->mf->steps */
  const osiris_driver *driver;
  osiris_json *config;      /* cfg minus meta keys */
  osiris_json *connection;  /* resolved, secrets in memory only */
  const osiris_frame *inputs[64];
  const char *input_names[64];
  size_t n_inputs;
  osiris_frame *loaded[64]; /* inputs read back from spill files, owned */
  size_t n_loaded;
  osiris_frame *output;
  char *artifacts_dir;
  char error[OS_ERR_CAP];
  osiris_rc error_rc;
  double t0_ms;             /* when the driver was called */
  double progress_ms;       /* when progress was last forwarded */
  struct rn_pipe *out_pipe; /* producer of a streamed pair, else NULL */
  struct rn_pipe *in_pipe;  /* consumer of a streamed pair, else NULL */
  osiris_frame *cur;        /* consumer: the batch last returned, owned */
  osiris_frame *gathered;   /* consumer: osiris_step_gather's frame, owned */
  int in_state;             /* consumer: 0 unread, 1 reading, 2 at the end */
  unsigned http_warned;     /* osiris_step_http's security warnings given (HT_WARN_*) */
};

struct osiris_run {
  osiris_ctx *ctx;
  const osiris_adapter *adapter;
  ss_session ss;
  char *logs_dir;           /* absolute */
  char *source_manifest;    /* the manifest the run was started from */
  char *profile;
  char *pipeline_id;        /* known before the manifest is loaded */
  mf_manifest *mf;
  size_t *order;            /* topological order of steps */
  rn_state *st;
  size_t steps_completed;
  int prepared;
  int ok;
  osiris_rc rc;
  char error[OS_ERR_CAP];
  char *failed_step;
  char *reason;             /* status.json reason */
  osiris_json *status;      /* status.json as written */
  double duration_ms;
  void *adapter_state;      /* for adapters other than local */
  char *e2b_template;       /* remote adapters: NULL for "base" */
  int timeout_s;            /* > 0: the whole run's bound in whole seconds (E2B lifetime) */
  double bound_s;           /* > 0: the run's bound, the smaller of --timeout and timeout */
  const char *bound_what;   /* where bound_s comes from: "--timeout" or "timeout" */
  double t0_ms;             /* when the run started (the run's bound counts from it) */
  struct rn_watchdog *wd;   /* NULL when nothing bounds the run or a step */
  int timed_out;            /* a bound fired (atomic); the fields below are set before */
  size_t timeout_step;      /* the step whose own bound fired, (size_t)-1: the run's */
  double timeout_fired_s;   /* the bound that fired */
  int install_deps;
  char *sandbox_id;         /* set by a remote adapter once it has one */
  osiris_json *noted;       /* OSIRIS_KEY_NO_EFFECT keys noted so far (a set; under ss_lock) */
  int jobs;                 /* steps (or streamed pairs) at once; 0: the online cores */
  pthread_mutex_t mu;       /* what step threads share: rc, error, failed_step, reason,
                             * steps_completed, consumers_left and frame of a finished
                             * step, seq (see "Parallel branches" in the banner) */
  int mu_ready;
  uint64_t seq;             /* step starts and ends so far (under mu), for the run card */
  int resumable;            /* write every output frame (rn_spill keeping it), stream nothing */
  struct rn_resume *resume; /* --resume: what is carried over from the failed run (section 18) */
};

/* The run's own lock: taken briefly, never while waiting; ss_lock may be
 * taken inside it, never the other way round. */
static void rn_lock(osiris_run *run) {
  if (run->mu_ready) pthread_mutex_lock(&run->mu);
}

static void rn_unlock(osiris_run *run) {
  if (run->mu_ready) pthread_mutex_unlock(&run->mu);
}

/* Step idx began (end 0) or ended (end 1): its place among the run's
 * starts and ends, and when, for the run card's overlaps.  The host of a
 * remote run marks the worker's step_start and step_complete/failed. */
static void rn_mark(osiris_run *run, size_t idx, int end) {
  rn_state *st = &run->st[idx];
  double off = os_now_ms() - run->ss.start_ms;
  rn_lock(run);
  if (end) {
    st->end_seq = ++run->seq;
    st->end_off_ms = off;
  } else {
    st->begin_seq = ++run->seq;
    st->begin_off_ms = off;
    st->end_seq = 0;
  }
  rn_unlock(run);
}

/* ---------------------------------------------------------- registry */

osiris_rc osiris_register_driver(osiris_ctx *ctx, const osiris_driver *d, const char *alias) {
  const char *names[2];
  size_t i, k;
  if (!ctx || !d || !d->name || !d->run) return OSIRIS_EINVAL;
  names[0] = d->name;
  names[1] = alias;
  for (k = 0; k < 2; k++) {
    if (!names[k]) continue;
    for (i = 0; i < ctx->n_drivers; i++)
      if (strcmp(ctx->driver_names[i], names[k]) == 0) {
        snprintf(ctx->err, sizeof ctx->err, "driver %s is already registered", names[k]);
        return OSIRIS_EINVAL;
      }
    if (ctx->n_drivers == OS_MAX_DRIVERS) {
      snprintf(ctx->err, sizeof ctx->err, "too many drivers (max %d)", OS_MAX_DRIVERS);
      return OSIRIS_ELIMIT;
    }
    ctx->drivers[ctx->n_drivers] = d;
    ctx->driver_names[ctx->n_drivers] = names[k];
    ctx->n_drivers++;
  }
  return OSIRIS_OK;
}

const osiris_driver *osiris_driver_find(const osiris_ctx *ctx, const char *name) {
  size_t i;
  if (!ctx || !name) return NULL;
  for (i = 0; i < ctx->n_drivers; i++)
    if (strcmp(ctx->driver_names[i], name) == 0) return ctx->drivers[i];
  return NULL;
}

size_t osiris_driver_count(const osiris_ctx *ctx) { return ctx ? ctx->n_drivers : 0; }

const osiris_driver *osiris_driver_at(const osiris_ctx *ctx, size_t i, const char **name) {
  if (!ctx || i >= ctx->n_drivers) return NULL;
  if (name) *name = ctx->driver_names[i];
  return ctx->drivers[i];
}

/* ---------------------------------------------------------- step API */

const char *osiris_step_id(const osiris_step *s) { return s->run->mf->steps[s->index].id; }
const osiris_json *osiris_step_config(const osiris_step *s) { return s->config; }
const osiris_json *osiris_step_connection(const osiris_step *s) { return s->connection; }
size_t osiris_step_input_count(const osiris_step *s) { return s->n_inputs; }

const osiris_frame *osiris_step_input(const osiris_step *s, size_t i, const char **name) {
  const osiris_frame *all = NULL;
  if (i >= s->n_inputs) return NULL;
  if (name) *name = s->input_names[i];
  /* A streamed input asked for whole: gather it (a step owns its handle). */
  if (s->in_pipe) return osiris_step_gather((osiris_step *)s, &all) ? NULL : all;
  return s->inputs[i];
}

void osiris_step_set_output(osiris_step *s, osiris_frame *f) {
  if (s->output && s->output != f) osiris_frame_free(s->output);
  s->output = f;
}

osiris_rc osiris_step_fail(osiris_step *s, osiris_rc rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
  ss_scrub_buf(&s->run->ss, s->error, sizeof s->error);
  s->error_rc = rc ? rc : OSIRIS_EDRIVER;
  return s->error_rc;
}

void osiris_step_metric(osiris_step *s, const char *name, double value, const char *unit) {
  rn_state *st = &s->run->st[s->index];
  const char *modes = s->driver && s->driver->modes ? s->driver->modes : "";
  /* Totals count what crossed the pipeline's edges: rows extractors read
   * and rows writers wrote; a processor's own counts are only metrics. */
  if (os_streq(name, "rows_read") && strstr(modes, "extract")) st->rows_read += (int64_t)value;
  if (os_streq(name, "rows_written") && strstr(modes, "write")) st->rows_written += (int64_t)value;
  ss_metric(&s->run->ss, name, value, unit, osiris_step_id(s));
}

void osiris_step_progress(osiris_step *s, int64_t rows) {
  osiris_ctx *ctx = s->run->ctx;
  double now;
  if (!ctx->progress_fn) return;
  now = os_now_ms();
  if (now - s->progress_ms < 200) return;
  s->progress_ms = now;
  ss_lock(&s->run->ss); /* the two steps of a streamed pair report at once */
  ctx->progress_fn(ctx->progress_user, osiris_step_id(s), rows, now - s->t0_ms);
  ss_unlock(&s->run->ss);
}

void osiris_step_event(osiris_step *s, const char *event, osiris_json *fields) {
  osiris_json *f = fields ? fields : js_alloc(OSIRIS_JSON_OBJECT);
  /* Writers report progress as events; the progress line shows them too. */
  if (f && os_streq(event, "write.progress"))
    osiris_step_progress(s, osiris_json_int(osiris_json_get(f, "rows_written"), 0));
  osiris_json *line = js_alloc(OSIRIS_JSON_OBJECT);
  size_t i;
  /* step_id first, then the driver's own fields. */
  if (!f || f->incomplete || !line || js_set_str(line, "step_id", osiris_step_id(s))) goto done;
  if (f->kind == OSIRIS_JSON_OBJECT)
    for (i = 0; i < f->u.c.n; i++) {
      osiris_json *c = osiris_json_copy(f->u.c.items[i]);
      if (!c || osiris_json_set(line, f->u.c.keys[i], c)) goto done;
    }
  ss_event(&s->run->ss, event, line);
  osiris_json_free(f);
  return;
done:
  ss_lost_line(&s->run->ss); /* not emitted */
  osiris_json_free(line);
  osiris_json_free(f);
}

void osiris_step_log(osiris_step *s, int level, const char *fmt, ...) {
  va_list ap;
  char msg[3600];
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ss_log(&s->run->ss, level, "[%s] %s", osiris_step_id(s), msg);
}

const char *osiris_step_artifacts_dir(const osiris_step *s) { return s->artifacts_dir; }
const char *osiris_step_base_dir(const osiris_step *s) { return s->run->ctx->base_dir; }

char *osiris_step_path(const osiris_step *s, const char *path) {
  return os_path_abs(s->run->ctx->base_dir, path);
}

/* ---------------------------------------------------------- streaming */

#define RN_PIPE_DEPTH 4                     /* batches in flight */
#define RN_BATCH_ROWS ((size_t)65536)       /* a batch holds at most this many rows */
#define RN_BATCH_BYTES ((size_t)4 << 20)    /* ... or about this many bytes */

typedef struct rn_pipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  osiris_frame *q[RN_PIPE_DEPTH]; /* owned batches, q[head] first */
  size_t head, count;
  int streaming;        /* a batch went downstream: the consumer runs */
  int producer_done;    /* the producer's driver returned producer_rc */
  osiris_rc producer_rc;
  int consumer_done;    /* the consumer stopped; flush then fails */
  int cut;              /* the producer was stopped by consumer_done */
  int final_taken;      /* the producer's last frame went downstream */
  int64_t rows;         /* rows handed downstream */
  int64_t batches;      /* batches the consumer received */
  unsigned char *used;  /* the consumer's projection (osiris_step_input_columns), or NULL */
  size_t nused;
  osiris_step *producer;
  os_err producer_err;
} rn_pipe;

/* Wait on the pipe for at most 100 ms (the run's cancel flag is polled). */
static void rn_pipe_wait(rn_pipe *p) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 100 * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

osiris_rc osiris_step_flush(osiris_step *s, osiris_frame *f) {
  rn_pipe *p = s ? s->out_pipe : NULL;
  osiris_frame *batch;
  if (!p || !f) return OSIRIS_OK;
  if (f->rows < RN_BATCH_ROWS &&
      (f->rows == 0 || (f->rows & 63) != 0 || osiris_frame_bytes(f) < RN_BATCH_BYTES))
    return OSIRIS_OK;
  batch = fr_take_rows(f);
  if (!batch) return OSIRIS_ENOMEM;
  pthread_mutex_lock(&p->mu);
  while (p->count == RN_PIPE_DEPTH && !p->consumer_done && !os_cancelled(s->run->ctx))
    rn_pipe_wait(p);
  if (p->consumer_done || os_cancelled(s->run->ctx)) {
    if (p->consumer_done) p->cut = 1;
    pthread_mutex_unlock(&p->mu);
    osiris_frame_free(batch);
    return OSIRIS_ECANCEL;
  }
  p->q[(p->head + p->count) % RN_PIPE_DEPTH] = batch;
  p->count++;
  p->rows += (int64_t)batch->rows;
  p->streaming = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return OSIRIS_OK;
}

/* The next batch of a streamed input (owned by the caller), NULL at the
 * end; OSIRIS_ECANCEL when the producer failed or the run was stopped. */
static osiris_rc rn_pipe_pop(osiris_step *s, osiris_frame **out) {
  rn_pipe *p = s->in_pipe;
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  pthread_mutex_lock(&p->mu);
  while (p->count == 0 && !p->producer_done && !os_cancelled(s->run->ctx)) rn_pipe_wait(p);
  if (p->count > 0) {
    *out = p->q[p->head];
    p->head = (p->head + 1) % RN_PIPE_DEPTH;
    p->count--;
    pthread_cond_broadcast(&p->cv);
  } else if (!p->producer_done || p->producer_rc) {
    rc = OSIRIS_ECANCEL;
  } else if (!p->final_taken) {
    /* The producer has returned: its thread no longer touches its step. */
    p->final_taken = 1;
    *out = p->producer->output;
    p->producer->output = NULL;
    if (*out) p->rows += (int64_t)(*out)->rows;
  }
  if (*out) p->batches++;
  pthread_mutex_unlock(&p->mu);
  if (*out) s->run->st[s->index].rows_in += (int64_t)(*out)->rows;
  return rc;
}

osiris_rc osiris_step_next(osiris_step *s, const osiris_frame **batch) {
  osiris_rc rc;
  if (!s || !batch) return OSIRIS_EINVAL;
  *batch = NULL;
  if (!s->in_pipe) {
    /* One frame: the first input, once. */
    if (s->in_state == 0 && s->n_inputs > 0) *batch = s->inputs[0];
    s->in_state = 2;
    return OSIRIS_OK;
  }
  osiris_frame_free(s->cur);
  s->cur = NULL;
  if (s->in_state == 2) return OSIRIS_OK;
  rc = rn_pipe_pop(s, &s->cur);
  s->in_state = rc || !s->cur ? 2 : 1;
  *batch = s->cur;
  return rc;
}

osiris_rc osiris_step_gather(osiris_step *s, const osiris_frame **all) {
  osiris_frame *acc, *b = NULL;
  osiris_rc rc = OSIRIS_OK;
  if (!s || !all) return OSIRIS_EINVAL;
  *all = NULL;
  if (!s->in_pipe) {
    *all = s->n_inputs > 0 ? s->inputs[0] : NULL;
    s->in_state = 2;
    return OSIRIS_OK;
  }
  if (s->gathered) {
    *all = s->gathered;
    return OSIRIS_OK;
  }
  acc = s->cur;
  s->cur = NULL;
  if (!acc && s->in_state == 0) rc = rn_pipe_pop(s, &acc);
  s->in_state = 2;
  while (!rc && acc) {
    rc = rn_pipe_pop(s, &b);
    if (rc || !b) break;
    rc = fr_concat(acc, b);
    osiris_frame_free(b);
    b = NULL;
  }
  if (rc) {
    osiris_frame_free(acc);
    return rc;
  }
  s->gathered = acc;
  *all = acc;
  return OSIRIS_OK;
}

int osiris_step_streamed(const osiris_step *s) { return s && s->in_pipe != NULL; }

osiris_rc osiris_step_input_columns(osiris_step *s, const unsigned char *used, size_t n) {
  rn_pipe *p = s ? s->in_pipe : NULL;
  unsigned char *mask;
  size_t c, k = 0;
  if (!s || (n && !used)) return OSIRIS_EINVAL;
  if (!p) return OSIRIS_OK;
  mask = os_malloc(n ? n : 1);
  if (!mask) return OSIRIS_ENOMEM;
  for (c = 0; c < n; c++) k += mask[c] = used[c] != 0;
  pthread_mutex_lock(&p->mu);
  os_free(p->used);
  p->used = mask;
  p->nused = n;
  pthread_mutex_unlock(&p->mu);
  osiris_step_log(s, 1, "reads %zu of the %zu columns of its streamed input; step %s builds only those",
                  k, n, s->run->mf->steps[p->producer->index].id);
  return OSIRIS_OK;
}

int osiris_step_output_column_used(osiris_step *s, size_t col) {
  rn_pipe *p = s ? s->out_pipe : NULL;
  int used = 1;
  if (!p) return 1;
  pthread_mutex_lock(&p->mu);
  if (p->used && col < p->nused) used = p->used[col];
  pthread_mutex_unlock(&p->mu);
  return used;
}

/* A file under <run>/artifacts/ is an artifact (its run-relative path);
 * anything else a step writes is an output.  (In a worker the session
 * directory is also the base directory, so outputs can sit in it too.) */
static char *rn_rel(const osiris_run *run, const char *path) {
  size_t n = strlen(run->ss.dir);
  if (strncmp(path, run->ss.dir, n) == 0 && path[n] == '/' &&
      strncmp(path + n + 1, "artifacts/", 10) == 0)
    return os_strdup(path + n + 1);
  return NULL;
}

void osiris_step_file_written(osiris_step *s, const char *path, const char *type) {
  char *rel = rn_rel(s->run, path);
  osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
  struct stat stt;
  if (!f) {
    ss_lost_line(&s->run->ss);
    goto done;
  }
  if (rel) {
    js_set_str(f, "artifact_type", type ? type : "file");
    js_set_str(f, "path", rel);
    js_set_built(s->run->st[s->index].artifacts, NULL, osiris_json_new_str(rel, strlen(rel)));
    osiris_step_event(s, "artifact_created", f);
  } else {
    rn_state *st = &s->run->st[s->index];
    js_set_str(f, "path", path);
    js_set_str(f, "format", type ? type : "file"); /* "type" names worker lines */
    js_set_int(f, "rows", st->rows_written ? st->rows_written : st->rows_in);
    if (stat(path, &stt) == 0) js_set_int(f, "size_bytes", (int64_t)stt.st_size);
    osiris_step_event(s, "output_written", f);
  }
  f = NULL;
done:
  osiris_json_free(f);
  os_free(rel);
}

int osiris_step_cancelled(const osiris_step *s) { return os_cancelled(s->run->ctx); }

/* ---------------------------------------------------------- timeouts
 *
 * A run with a bound has one watchdog thread.  The bounds: the run's
 * (bound_s: the smaller of --timeout and the pipeline's timeout, counted
 * from the start of the run) and each running step's own (steps[i].timeout,
 * counted from its driver call).  A step registers the thread that runs
 * it for as long as its driver runs (a slot: two for each of the --jobs
 * units that may run at once, as a streamed pair runs two).  When a bound passes, the watchdog records
 * which one (timeout_step, timeout_fired_s, then timed_out), cancels the
 * run as Ctrl-C does, and sends RN_WAKE_SIGNAL to every registered
 * thread: its handler does nothing and is installed without SA_RESTART,
 * so a system call the step is blocked in (the open of a FIFO nobody
 * writes) returns EINTR and the step ends, where the cancel flag alone
 * would be seen only once the call returns.  The signal is sent again
 * every RN_WAKE_EVERY_MS while the step still runs: one that landed just
 * before the thread entered the call is not lost.  SQL engines interrupt
 * their query on osiris_step_cancelled().  A step's bound ends that step
 * (and so the run, as any failure does); either way status.json says
 * timed_out, naming the step, and the step_timeout event says which
 * bound fired and after how long.  SIGURG: its default is to be ignored,
 * so it can never end a process whose handler is not ours; the handler is
 * installed only over that default.
 */
#define RN_WAKE_SIGNAL SIGURG
#define RN_WAKE_EVERY_MS 250.0
#define RN_MAX_JOBS 64                     /* --jobs at most */
#define RN_WD_SLOTS (2 * RN_MAX_JOBS)      /* a streamed pair runs two threads */
#define RN_REMOTE_GRACE_MS 5000.0 /* a worker that does not stop a step at its bound */

typedef struct rn_wd_slot {
  int used;
  int remote;          /* a remote step the host watches: no thread here */
  size_t idx;          /* the step */
  pthread_t th;        /* the thread running its driver */
  double deadline_ms;  /* its own bound (monotonic), 0 none */
} rn_wd_slot;

typedef struct rn_watchdog {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;    /* CLOCK_MONOTONIC */
  int done, fired;
  double run_deadline_ms; /* 0 none */
  rn_wd_slot slot[RN_WD_SLOTS];
  osiris_run *run;
} rn_watchdog;

static void rn_wake_handler(int sig) { (void)sig; }

static pthread_once_t rn_wake_once = PTHREAD_ONCE_INIT;

static void rn_wake_install(void) {
  struct sigaction cur, sa;
  if (sigaction(RN_WAKE_SIGNAL, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL ||
      (cur.sa_flags & SA_SIGINFO))
    return; /* someone else's: left alone */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = rn_wake_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: the point is the EINTR */
  sigaction(RN_WAKE_SIGNAL, &sa, NULL);
}

static void rn_wd_timespec(double ms, struct timespec *ts) {
  ts->tv_sec = (time_t)(ms / 1000.0);
  ts->tv_nsec = (long)((ms - (double)ts->tv_sec * 1000.0) * 1e6);
  if (ts->tv_nsec < 0) ts->tv_nsec = 0;
  if (ts->tv_nsec >= 1000000000L) ts->tv_nsec = 999999999L;
}

/* Record the bound that fired and cancel the run; w->mu held. */
static void rn_wd_fire(rn_watchdog *w, size_t step, double bound_s) {
  osiris_run *run = w->run;
  size_t k;
  w->fired = 1;
  run->timeout_step = step;
  run->timeout_fired_s = bound_s;
  for (k = 0; k < RN_WD_SLOTS; k++)
    if (w->slot[k].used && (step == (size_t)-1 || w->slot[k].idx == step))
      __atomic_store_n(&run->st[w->slot[k].idx].timed_out, 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&run->timed_out, 1, __ATOMIC_SEQ_CST);
  osiris_ctx_cancel(run->ctx);
}

static void *rn_wd_main(void *arg) {
  rn_watchdog *w = arg;
  sigset_t all;
  size_t k;
  /* Never the thread a process signal lands on: a Ctrl-C must reach a
   * thread that runs a step (see rn_route_interrupts). */
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    double now = os_now_ms(), next = 0;
    int busy = 0;
    if (!w->fired && w->run_deadline_ms > 0 && now >= w->run_deadline_ms)
      rn_wd_fire(w, (size_t)-1, w->run->bound_s);
    for (k = 0; k < RN_WD_SLOTS && !w->fired; k++)
      if (w->slot[k].used && w->slot[k].deadline_ms > 0 && now >= w->slot[k].deadline_ms)
        rn_wd_fire(w, w->slot[k].idx, w->run->mf->steps[w->slot[k].idx].timeout_s);
    for (k = 0; k < RN_WD_SLOTS; k++) {
      if (!w->slot[k].used || (w->fired && w->slot[k].remote)) continue;
      busy = 1;
      if (w->fired) pthread_kill(w->slot[k].th, RN_WAKE_SIGNAL);
      else if (w->slot[k].deadline_ms > 0 && (!next || w->slot[k].deadline_ms < next))
        next = w->slot[k].deadline_ms;
    }
    if (!w->fired && w->run_deadline_ms > 0 && (!next || w->run_deadline_ms < next))
      next = w->run_deadline_ms;
    if (w->fired && busy) next = now + RN_WAKE_EVERY_MS;
    if (next > 0) {
      struct timespec ts;
      rn_wd_timespec(next, &ts);
      pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    } else {
      pthread_cond_wait(&w->cv, &w->mu);
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Start the run's watchdog when it has none; 0 or -1 (no thread). */
static int rn_wd_start(osiris_run *run) {
  rn_watchdog *w;
  pthread_condattr_t ca;
  if (run->wd) return 0;
  pthread_once(&rn_wake_once, rn_wake_install);
  w = os_calloc(1, sizeof *w);
  if (!w) return -1;
  w->run = run;
  if (pthread_condattr_init(&ca)) goto fail;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&w->mu, NULL)) {
    pthread_condattr_destroy(&ca);
    goto fail;
  }
  if (pthread_cond_init(&w->cv, &ca)) {
    pthread_condattr_destroy(&ca);
    pthread_mutex_destroy(&w->mu);
    goto fail;
  }
  pthread_condattr_destroy(&ca);
  if (pthread_create(&w->th, NULL, rn_wd_main, w)) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    goto fail;
  }
  run->wd = w;
  return 0;
fail:
  os_free(w);
  return -1;
}

static void rn_wd_stop(osiris_run *run) {
  rn_watchdog *w = run->wd;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  os_free(w);
  run->wd = NULL;
}

/* The run's bound: the smaller of --timeout (already in bound_s) and the
 * manifest's pipeline.timeout, from t0_ms; a watchdog when the run or
 * any step has one.  host: the run's own bound too (a worker has only
 * its steps'; its host bounds the run). */
static osiris_rc rn_wd_setup(osiris_run *run, int host, os_err *err) {
  size_t i;
  int any = 0, smaller = host && run->mf->timeout_s > 0 &&
                         (run->bound_s <= 0 || run->mf->timeout_s < run->bound_s);
  double bound = smaller ? run->mf->timeout_s : run->bound_s;
  if (host && bound > 0) {
    double whole = ceil(bound);
    run->timeout_s = whole < INT_MAX ? (int)whole : INT_MAX;
    any = 1;
  }
  for (i = 0; i < run->mf->n_steps; i++)
    if (run->mf->steps[i].timeout_s > 0) any = 1;
  if (!any) return OSIRIS_OK;
  if (rn_wd_start(run)) return os_fail(err, OSIRIS_ENOMEM, "cannot start the timeout watchdog");
  if (smaller) { /* under the lock: the watchdog reads bound_s when --timeout fires */
    pthread_mutex_lock(&run->wd->mu);
    run->bound_s = bound;
    run->bound_what = "timeout";
    run->wd->run_deadline_ms = run->t0_ms + bound * 1000.0;
    pthread_cond_signal(&run->wd->cv);
    pthread_mutex_unlock(&run->wd->mu);
  }
  return OSIRIS_OK;
}

/* A step's own bound fired where the host could not see it (in the
 * worker): the run says timed_out for it, unless a bound fired already. */
static void rn_note_timeout(osiris_run *run, size_t idx) {
  if (run->wd) pthread_mutex_lock(&run->wd->mu);
  if (!__atomic_load_n(&run->timed_out, __ATOMIC_SEQ_CST)) {
    run->timeout_step = idx;
    run->timeout_fired_s = run->mf->steps[idx].timeout_s;
    __atomic_store_n(&run->st[idx].timed_out, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&run->timed_out, 1, __ATOMIC_SEQ_CST);
  }
  if (run->wd) pthread_mutex_unlock(&run->wd->mu);
}

/* The calling thread runs step idx's driver from now: a slot, or -1 when
 * nothing bounds the run. */
static int rn_wd_arm(osiris_run *run, size_t idx) {
  rn_watchdog *w = run->wd;
  double own = run->mf->steps[idx].timeout_s;
  int k, got = -1;
  if (!w) return -1;
  pthread_mutex_lock(&w->mu);
  for (k = 0; k < RN_WD_SLOTS && got < 0; k++)
    if (!w->slot[k].used) got = k;
  if (got >= 0) {
    w->slot[got].used = 1;
    w->slot[got].idx = idx;
    w->slot[got].th = pthread_self();
    w->slot[got].deadline_ms = own > 0 ? os_now_ms() + own * 1000.0 : 0;
    pthread_cond_signal(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return got;
}

/* A remote run's host: step idx started in the worker, which enforces its
 * bound; should the worker not stop it, the host does RN_REMOTE_GRACE_MS
 * later (the run is cancelled: the worker stopped, the sandbox deleted). */
static void rn_wd_arm_remote(osiris_run *run, size_t idx) {
  rn_watchdog *w = run->wd;
  double own = run->mf->steps[idx].timeout_s;
  int k;
  if (!w || own <= 0) return;
  pthread_mutex_lock(&w->mu);
  for (k = 0; k < RN_WD_SLOTS; k++)
    if (!w->slot[k].used) {
      w->slot[k].used = 1;
      w->slot[k].remote = 1;
      w->slot[k].idx = idx;
      w->slot[k].deadline_ms = os_now_ms() + own * 1000.0 + RN_REMOTE_GRACE_MS;
      pthread_cond_signal(&w->cv);
      break;
    }
  pthread_mutex_unlock(&w->mu);
}

static void rn_wd_disarm_remote(osiris_run *run, size_t idx) {
  int k;
  if (!run->wd) return;
  pthread_mutex_lock(&run->wd->mu);
  for (k = 0; k < RN_WD_SLOTS; k++)
    if (run->wd->slot[k].used && run->wd->slot[k].remote && run->wd->slot[k].idx == idx)
      memset(&run->wd->slot[k], 0, sizeof run->wd->slot[k]);
  pthread_cond_signal(&run->wd->cv);
  pthread_mutex_unlock(&run->wd->mu);
}

static void rn_wd_disarm(osiris_run *run, int slot) {
  if (slot < 0 || !run->wd) return;
  pthread_mutex_lock(&run->wd->mu);
  run->wd->slot[slot].used = 0;
  pthread_cond_signal(&run->wd->cv);
  pthread_mutex_unlock(&run->wd->mu);
}

const char *osiris_step_getenv(osiris_step *s, const char *name) {
  return name ? osiris_ctx_getenv(s->run->ctx, name) : NULL;
}

osiris_rc osiris_step_add_secret(osiris_step *s, const char *value) {
  return ss_add_secret(&s->run->ss, value);
}

/* ---------------------------------------------------------- runner */

static osiris_json *rn_fields(void) { return js_alloc(OSIRIS_JSON_OBJECT); }

/* df_<id> with every character outside [0-9A-Za-z_] as '_', '_' first when
 * the id starts with a digit; ids that collide get _<sha256(id)[:8]>. */
static char *rn_sanitize(const char *id) {
  size_t n = strlen(id), i, o = 0;
  char *out = os_malloc(n + 5);
  if (!out) return NULL;
  memcpy(out, "df_", 3);
  o = 3;
  if (isdigit((unsigned char)id[0])) out[o++] = '_';
  for (i = 0; i < n; i++) out[o++] = isalnum((unsigned char)id[i]) || id[i] == '_' ? id[i] : '_';
  out[o] = 0;
  return out;
}

static osiris_rc rn_assign_input_keys(osiris_run *run) {
  size_t i, j, n = run->mf->n_steps;
  for (i = 0; i < n; i++) {
    run->st[i].input_key = rn_sanitize(run->mf->steps[i].id);
    if (!run->st[i].input_key) return OSIRIS_ENOMEM;
  }
  for (i = 0; i < n; i++) {
    int clash = 0;
    for (j = 0; j < n; j++)
      if (i != j && strcmp(run->st[i].input_key, run->st[j].input_key) == 0) clash = 1;
    if (clash) {
      char hex[65], *k;
      os_sha256_hex(run->mf->steps[i].id, strlen(run->mf->steps[i].id), hex);
      hex[8] = 0;
      k = os_asprintf("%s_%s", run->st[i].input_key, hex);
      if (!k) return OSIRIS_ENOMEM;
      os_free(run->st[i].input_key);
      run->st[i].input_key = k;
    }
  }
  return OSIRIS_OK;
}

static size_t rn_step_index(const mf_manifest *m, const char *id) {
  size_t i;
  for (i = 0; i < m->n_steps; i++)
    if (strcmp(m->steps[i].id, id) == 0) return i;
  return (size_t)-1;
}

/* What fired: "step X exceeded its timeout of 2 s (steps[1].timeout)" or
 * "the run exceeded its timeout of 2 s (--timeout)". */
static void rn_timeout_text(const osiris_run *run, char *out, size_t cap) {
  size_t k = run->timeout_step;
  if (run->mf && k < run->mf->n_steps)
    snprintf(out, cap, "step %s exceeded its timeout of %g s (steps[%zu].timeout)",
             run->mf->steps[k].id, run->timeout_fired_s, k);
  else
    snprintf(out, cap, "the run exceeded its timeout of %g s (%s)", run->timeout_fired_s,
             run->bound_what && os_streq(run->bound_what, "timeout") ? "timeout in the pipeline"
                                                                      : "--timeout");
}

/* The bound that fired, as the step_timeout event and run_card say it. */
static const char *rn_timeout_source(const osiris_run *run, char *buf, size_t cap) {
  if (run->mf && run->timeout_step < run->mf->n_steps) {
    snprintf(buf, cap, "steps[%zu].timeout", run->timeout_step);
    return buf;
  }
  return run->bound_what ? run->bound_what : "--timeout";
}

static void rn_set_error_locked(osiris_run *run, osiris_rc rc, const char *step_id,
                                const char *reason, const char *msg) {
  char why[OS_ERR_CAP];
  if (run->rc) return; /* the first failure is the one reported */
  /* Stopped by a timeout, not by Ctrl-C: say so, and name the step whose
   * own bound fired (in a streamed pair the other one may end first).
   * Once a bound has fired, a failure is its doing: the signal that
   * wakes a blocked step can also fail a call that was not blocked. */
  if (__atomic_load_n(&run->timed_out, __ATOMIC_SEQ_CST)) {
    rn_timeout_text(run, why, sizeof why);
    if (run->mf && run->timeout_step < run->mf->n_steps)
      step_id = run->mf->steps[run->timeout_step].id;
    if (!rc) rc = OSIRIS_ECANCEL;
    reason = "timed_out";
    msg = why;
  }
  run->rc = rc ? rc : OSIRIS_EDRIVER;
  run->ok = 0;
  snprintf(run->error, sizeof run->error, "%s", msg);
  ss_scrub_buf(&run->ss, run->error, sizeof run->error);
  os_free(run->failed_step);
  run->failed_step = step_id ? os_strdup(step_id) : NULL;
  os_free(run->reason);
  run->reason = os_strdup(reason);
}

/* Record the run's failure unless one is recorded already: steps that
 * run at once may fail at once, and the first to get here is the one. */
static void rn_set_error(osiris_run *run, osiris_rc rc, const char *step_id, const char *reason,
                         const char *msg) {
  rn_lock(run);
  rn_set_error_locked(run, rc, step_id, reason, msg);
  rn_unlock(run);
}

/* run->rc, read by a step thread while another may set it. */
static osiris_rc rn_run_rc(osiris_run *run) {
  osiris_rc rc;
  rn_lock(run);
  rc = run->rc;
  rn_unlock(run);
  return rc;
}

/* Materialize the manifest and cfg files into the run directory (the
 * "prepare" half every adapter shares). */
static osiris_rc rn_materialize(osiris_run *run, os_err *err) {
  osiris_rc rc;
  char *dst = NULL, *cfg_dir = NULL;
  char hex[65];
  size_t i;
  struct stat stt;
  osiris_json *f;
  dst = os_path_join(run->ss.dir, "manifest.yaml");
  if (!dst) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_copy_file(run->mf->path, dst, err);
  if (rc) goto done;
  f = rn_fields();
  if (f && os_sha256_file_hex(dst, hex) == 0 && stat(dst, &stt) == 0) {
    js_set_str(f, "path", "manifest.yaml");
    js_set_int(f, "size", (int64_t)stt.st_size);
    js_set_str(f, "sha256", hex);
  }
  ss_event(&run->ss, "manifest_materialized", f);
  cfg_dir = os_path_join(run->ss.dir, "cfg");
  if (!cfg_dir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(cfg_dir, err);
  if (rc) goto done;
  for (i = 0; i < run->mf->n_steps; i++) {
    const mf_step *ms = &run->mf->steps[i];
    char *src = os_path_join(run->mf->dir, ms->cfg_path);
    char *name = os_asprintf("%s.json", ms->id);
    char *to = name ? os_path_join(cfg_dir, name) : NULL;
    char *rel = name ? os_asprintf("cfg/%s", name) : NULL;
    if (!src || !to || !rel) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    } else if (!os_is_file(src)) {
      rc = os_fail(err, OSIRIS_ENOTFOUND, "step %s: cfg file not found: %s", ms->id, src);
    } else {
      rc = os_copy_file(src, to, err);
    }
    if (!rc) {
      f = rn_fields();
      if (f && os_sha256_file_hex(to, hex) == 0 && stat(to, &stt) == 0) {
        js_set_str(f, "step_id", ms->id);
        js_set_str(f, "path", rel);
        js_set_int(f, "size_bytes", (int64_t)stt.st_size);
        js_set_str(f, "sha256", hex);
      }
      ss_event(&run->ss, "cfg_materialized", f);
    }
    os_free(src);
    os_free(name);
    os_free(to);
    os_free(rel);
    if (rc) goto done;
  }
done:
  os_free(dst);
  os_free(cfg_dir);
  return rc;
}

/* Check every step has a driver; emit driver_registered per driver used. */
static osiris_rc rn_check_drivers(osiris_run *run, os_err *err) {
  osiris_json *names = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *f;
  size_t i, j;
  if (!names) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  for (i = 0; i < run->mf->n_steps; i++) {
    const mf_step *ms = &run->mf->steps[i];
    const osiris_driver *d = osiris_driver_find(run->ctx, ms->driver);
    int seen = 0;
    if (!d) {
      osiris_json_free(names);
      return os_fail(err, OSIRIS_ENOTFOUND, "step %s: driver '%s' is not registered", ms->id,
                     ms->driver);
    }
    if ((d->flags & OSIRIS_DRIVER_PREFLIGHT) && d->check) {
      /* before any step runs, where the steps run (the worker too) */
      char *p = os_path_abs(run->mf->dir, ms->cfg_path), msg[OS_ERR_CAP] = "";
      osiris_json *cfg = NULL;
      osiris_rc prc = p ? js_read_file(p, &cfg, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
      if (!prc && (prc = d->check(cfg, msg, sizeof msg)) != OSIRIS_OK)
        os_fail(err, prc, "step %s: %s", ms->id, msg[0] ? msg : osiris_rc_name(prc));
      osiris_json_free(cfg);
      os_free(p);
      if (prc) {
        osiris_json_free(names);
        return prc;
      }
    }
    for (j = 0; j < names->u.c.n; j++)
      if (strcmp(names->u.c.items[j]->u.s.ptr, ms->driver) == 0) seen = 1;
    if (seen) continue;
    if (js_push_str(names, ms->driver)) {
      osiris_json_free(names);
      return os_fail(err, OSIRIS_ENOMEM, "out of memory");
    }
    f = rn_fields();
    if (f) {
      js_set_str(f, "driver", ms->driver);
      js_set_str(f, "implementation", "builtin");
      js_set_str(f, "status", "ok");
    }
    ss_event(&run->ss, "driver_registered", f);
  }
  for (i = 1; i < names->u.c.n; i++) /* sorted, so that runs compare */
    for (j = i; j > 0 && strcmp(names->u.c.items[j - 1]->u.s.ptr, names->u.c.items[j]->u.s.ptr) > 0; j--) {
      osiris_json *t = names->u.c.items[j];
      names->u.c.items[j] = names->u.c.items[j - 1];
      names->u.c.items[j - 1] = t;
    }
  f = rn_fields();
  if (f) {
    js_set_int(f, "count", (int64_t)names->u.c.n);
    if (osiris_json_set(f, "drivers", names)) names = NULL;
    names = NULL;
  }
  osiris_json_free(names);
  ss_event(&run->ss, "drivers_registered", f);
  return OSIRIS_OK;
}

/* Load the manifest, order the steps, allocate the per-step state.  All
 * or nothing: on failure run->mf, run->st and run->order stay NULL, so
 * everything after (status.json, run_card.json) sees a run without steps
 * rather than half a state. */
static osiris_rc rn_load(osiris_run *run, os_err *err) {
  osiris_rc rc;
  size_t i, k;
  rc = mf_load(run->source_manifest, &run->mf, err);
  if (rc) return rc;
  run->order = os_calloc(run->mf->n_steps, sizeof *run->order);
  run->st = os_calloc(run->mf->n_steps, sizeof *run->st);
  if (!run->order || !run->st) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto fail;
  }
  rc = mf_order(run->mf, run->order, err);
  if (rc) goto fail;
  for (i = 0; i < run->mf->n_steps; i++) {
    run->st[i].artifacts = js_alloc(OSIRIS_JSON_ARRAY);
    if (!run->st[i].artifacts) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto fail;
    }
    for (k = 0; k < run->mf->steps[i].n_needs; k++) {
      size_t up = rn_step_index(run->mf, run->mf->steps[i].needs[k]);
      if (up != (size_t)-1) run->st[up].consumers_left++;
    }
  }
  if (rn_assign_input_keys(run)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto fail;
  }
  return OSIRIS_OK;
fail:
  for (i = 0; run->st && i < run->mf->n_steps; i++) {
    osiris_json_free(run->st[i].artifacts);
    os_free(run->st[i].input_key);
  }
  os_free(run->st);
  os_free(run->order);
  mf_free(run->mf);
  run->st = NULL;
  run->order = NULL;
  run->mf = NULL;
  return rc;
}

static void rn_step_release(osiris_step *s) {
  size_t i;
  for (i = 0; i < s->n_loaded; i++) osiris_frame_free(s->loaded[i]);
  osiris_frame_free(s->cur);
  osiris_frame_free(s->gathered);
  osiris_json_free(s->config);
  osiris_json_free(s->connection);
  os_free(s->artifacts_dir);
  if (s->output) osiris_frame_free(s->output);
  memset(s, 0, sizeof *s);
}

/* Resolve the step's connection: an explicit @family.alias, or the
 * family's default for families that always need one. */
static osiris_rc rn_resolve_connection(osiris_step *s, const char *ref, os_err *err) {
  osiris_run *run = s->run;
  const char *family = s->driver->family ? s->driver->family : "";
  char fam[128] = "", alias[128] = "";
  char *alias_out = NULL;
  osiris_json *f;
  osiris_rc rc;
  int needs_conn = ref != NULL || !((s->driver->flags & OSIRIS_DRIVER_CONN_OPTIONAL) || !*family);
  if (!needs_conn) return OSIRIS_OK;
  if (ref && !cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias))
    return os_fail(err, OSIRIS_EINVAL, "step %s: invalid connection reference '%s' (want @family.alias)",
                   osiris_step_id(s), ref);
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "family", ref ? fam : family);
    js_set_str(f, "alias", ref && *alias ? alias : "(default)");
  }
  ss_event(&run->ss, "connection_resolve_start", f);
  rc = cn_resolve(run->ctx, ref, family, &s->connection, &alias_out, err);
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "family", ref ? fam : family);
    js_set_str(f, "alias", alias_out ? alias_out : (*alias ? alias : "(default)"));
    js_set_bool(f, "ok", rc == OSIRIS_OK);
    if (rc) js_set_str(f, "error", err->msg);
  }
  ss_event(&run->ss, "connection_resolve_complete", f);
  os_free(alias_out);
  if (rc) {
    char msg[OS_ERR_CAP];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return os_fail(err, rc, "step %.200s: %.1800s", osiris_step_id(s), msg);
  }
  return ss_add_secrets_of(&run->ss, s->connection) ? os_fail(err, OSIRIS_ENOMEM, "out of memory")
                                                    : OSIRIS_OK;
}

/* Gather the frames of the step's upstream steps. */
static osiris_rc rn_resolve_inputs(osiris_step *s, os_err *err) {
  osiris_run *run = s->run;
  const mf_step *ms = &run->mf->steps[s->index];
  size_t k;
  for (k = 0; k < ms->n_needs; k++) {
    size_t up = rn_step_index(run->mf, ms->needs[k]);
    rn_state *ust;
    osiris_json *f;
    if (up == (size_t)-1) continue;
    const osiris_frame *frame;
    int from_spill = 0;
    ust = &run->st[up];
    if (s->in_pipe && s->in_pipe->producer->index == up) {
      /* Streamed: the frame arrives batch by batch (osiris_step_next). */
      s->inputs[s->n_inputs] = NULL;
      s->input_names[s->n_inputs++] = ust->input_key;
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", osiris_step_id(s));
        js_set_str(f, "from_step", ms->needs[k]);
        js_set_str(f, "key", ust->input_key);
        js_set_str(f, "source", "stream");
        js_set_bool(f, "from_memory", 1);
        js_set_bool(f, "from_spill", 0);
      }
      ss_event(&run->ss, "inputs_resolved", f);
      continue;
    }
    if (!ust->had_frame) continue; /* writers produce no frame */
    if (s->n_inputs + 3 > sizeof s->inputs / sizeof s->inputs[0])
      return os_fail(err, OSIRIS_ELIMIT, "step %s: too many inputs", osiris_step_id(s));
    /* Memory first; then the spill file; otherwise a clear error. */
    frame = ust->frame;
    if (!frame && ust->spill_path) {
      char why[OS_ERR_CAP] = "";
      osiris_frame *loaded = NULL;
      if (osiris_parquet_read(ust->spill_path, &loaded, why, sizeof why) == OSIRIS_OK) {
        s->loaded[s->n_loaded++] = loaded;
        frame = loaded;
        from_spill = 1;
      } else {
        f = rn_fields();
        if (f) {
          js_set_str(f, "step_id", osiris_step_id(s));
          js_set_str(f, "from_step", ms->needs[k]);
          js_set_str(f, "key", ust->input_key);
          js_set_str(f, "error", why);
        }
        ss_event(&run->ss, "input_resolution_failed", f);
        return os_fail(err, OSIRIS_EPARSE,
                       "step %s: input '%s' from step %s: cannot read its spill file: %.1500s",
                       osiris_step_id(s), ust->input_key, ms->needs[k], why);
      }
    }
    if (!frame) {
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", osiris_step_id(s));
        js_set_str(f, "from_step", ms->needs[k]);
        js_set_str(f, "key", ust->input_key);
        js_set_str(f, "error", "the upstream frame is neither in memory nor spilled");
      }
      ss_event(&run->ss, "input_resolution_failed", f);
      return os_fail(err, OSIRIS_ENOTFOUND,
                     "step %s: input '%s' from step %s is not available (neither in memory "
                     "nor spilled)",
                     osiris_step_id(s), ust->input_key, ms->needs[k]);
    }
    s->inputs[s->n_inputs] = frame;
    s->input_names[s->n_inputs++] = ust->input_key;
    run->st[s->index].rows_in += (int64_t)osiris_frame_rows(frame);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", osiris_step_id(s));
      js_set_str(f, "from_step", ms->needs[k]);
      js_set_str(f, "key", ust->input_key);
      js_set_int(f, "rows", (int64_t)osiris_frame_rows(frame));
      js_set_str(f, "source", from_spill ? "spill" : "memory");
      js_set_bool(f, "from_memory", !from_spill);
      js_set_bool(f, "from_spill", from_spill);
    }
    ss_event(&run->ss, "inputs_resolved", f);
  }
  if (s->n_inputs == 1) {
    s->inputs[1] = s->inputs[2] = s->inputs[0];
    s->input_names[1] = "df";
    s->input_names[2] = "input_df";
    s->n_inputs = 3;
  }
  return OSIRIS_OK;
}

/* Load cfg/<id>.json from the run directory and strip the meta keys. */
static osiris_rc rn_load_config(osiris_step *s, char **conn_ref, os_err *err) {
  osiris_run *run = s->run;
  const char *id = osiris_step_id(s);
  char *rel = os_asprintf("cfg/%s.json", id), *path = NULL;
  char hex[65];
  osiris_json *f, *removed = NULL;
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  if (!rel || !(path = os_path_join(run->ss.dir, rel))) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = js_read_file(path, &s->config, err);
  if (rc) goto done;
  if (s->config->kind != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s: a step config must be a JSON object", rel);
    goto done;
  }
  f = rn_fields();
  if (f) {
    osiris_json *keys = js_alloc(OSIRIS_JSON_ARRAY);
    js_set_str(f, "step_id", id);
    js_set_str(f, "path", rel);
    if (os_sha256_file_hex(path, hex) == 0) js_set_str(f, "sha256", hex);
    if (keys) {
      char **sorted = os_calloc(s->config->u.c.n, sizeof *sorted);
      size_t a, b;
      if (sorted) {
        for (a = 0; a < s->config->u.c.n; a++) sorted[a] = s->config->u.c.keys[a];
        for (a = 1; a < s->config->u.c.n; a++)
          for (b = a; b > 0 && strcmp(sorted[b - 1], sorted[b]) > 0; b--) {
            char *t = sorted[b];
            sorted[b] = sorted[b - 1];
            sorted[b - 1] = t;
          }
        for (a = 0; a < s->config->u.c.n; a++) js_push_str(keys, sorted[a]);
        os_free(sorted);
      } else {
        keys->incomplete = 1;
      }
    }
    js_set_built(f, "keys", keys);
  }
  ss_event(&run->ss, "cfg_opened", f);
  {
    const char *c = js_gets(s->config, "connection");
    if (c && !(*conn_ref = os_strdup(c))) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  removed = js_alloc(OSIRIS_JSON_ARRAY);
  if (!removed) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  {
    static const char *const meta[] = {"component", "connection", "driver", NULL};
    for (i = 0; meta[i]; i++)
      if (osiris_json_remove(s->config, meta[i])) js_push_str(removed, meta[i]);
  }
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", id);
    osiris_json_set(f, "keys_removed", removed);
    removed = NULL;
    js_set_bool(f, "config_meta_stripped", 1);
  }
  ss_event(&run->ss, "config_meta_stripped", f);
done:
  osiris_json_free(removed);
  os_free(rel);
  os_free(path);
  return rc;
}

static osiris_rc rn_write_cleaned_config(osiris_step *s, os_err *err) {
  osiris_json *doc = osiris_json_copy(s->config), *masked = NULL, *f;
  char *rel = os_asprintf("artifacts/%s/cleaned_config.json", osiris_step_id(s));
  osiris_rc rc = OSIRIS_OK;
  if (!doc || !rel) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (s->connection) {
    osiris_json *c = osiris_json_copy(s->connection);
    if (!c || osiris_json_set(doc, "resolved_connection", c)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  masked = mk_mask_copy(doc);
  if (!masked) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = ss_write_json(&s->run->ss, rel, masked, err);
  if (rc) goto done;
  js_set_built(s->run->st[s->index].artifacts, NULL, osiris_json_new_str(rel, strlen(rel)));
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "artifact_type", "cleaned_config");
    js_set_str(f, "path", rel);
  }
  ss_event(&s->run->ss, "artifact_created", f);
done:
  osiris_json_free(doc);
  osiris_json_free(masked);
  os_free(rel);
  return rc;
}

/* Release upstream frames nobody needs any more. */
static void rn_release_upstream(osiris_run *run, size_t idx) {
  const mf_step *ms = &run->mf->steps[idx];
  size_t k;
  rn_lock(run); /* two consumers of one frame may end at once */
  for (k = 0; k < ms->n_needs; k++) {
    size_t up = rn_step_index(run->mf, ms->needs[k]);
    if (up == (size_t)-1) continue;
    if (run->st[up].consumers_left > 0 && --run->st[up].consumers_left == 0 && run->st[up].frame) {
      osiris_frame_free(run->st[up].frame);
      run->st[up].frame = NULL;
    }
  }
  rn_unlock(run);
}

/* Spill (seed "DataFrame lifecycle"): a frame goes to
 * artifacts/<step>/output.parquet + schema.json and leaves memory when
 * OSIRIS_FORCE_SPILL (or E2B_FORCE_SPILL) is 1/true/yes, or when it has
 * more rows than OSIRIS_SPILL_THRESHOLD (or E2B_SPILL_THRESHOLD, default
 * 100000).  Read through the context, so .env files count too. */
static int rn_truthy(const char *v) {
  return v && (mk_ieq(v, "1") || mk_ieq(v, "true") || mk_ieq(v, "yes"));
}

/* The rows a frame may have and stay in memory; -1: every frame spills. */
static long long rn_spill_threshold(osiris_run *run) {
  const char *force = osiris_ctx_getenv(run->ctx, "OSIRIS_FORCE_SPILL");
  const char *limit = osiris_ctx_getenv(run->ctx, "OSIRIS_SPILL_THRESHOLD");
  char *end = NULL;
  long long threshold = 100000;
  if (!force) force = osiris_ctx_getenv(run->ctx, "E2B_FORCE_SPILL");
  if (!limit) limit = osiris_ctx_getenv(run->ctx, "E2B_SPILL_THRESHOLD");
  if (rn_truthy(force)) return -1;
  if (limit && *limit) {
    long long v = strtoll(limit, &end, 10);
    if (end && !*end && v >= 0) threshold = v;
  }
  return threshold;
}

static int rn_should_spill(osiris_run *run, const osiris_frame *f) {
  long long threshold = rn_spill_threshold(run);
  return threshold < 0 || (long long)osiris_frame_rows(f) > threshold;
}

/* Write the frame to artifacts/<id>/output.parquet + schema.json.  keep:
 * the frame stays in memory for its consumers (a resumable run saves
 * every output that way); otherwise it leaves memory (spilled). */
static osiris_rc rn_spill(osiris_run *run, size_t idx, int keep, os_err *err) {
  rn_state *st = &run->st[idx];
  const char *id = run->mf->steps[idx].id;
  char *rel_pq = os_asprintf("artifacts/%s/output.parquet", id);
  char *rel_schema = os_asprintf("artifacts/%s/schema.json", id);
  char *abs_pq = rel_pq ? os_path_join(run->ss.dir, rel_pq) : NULL;
  char why[OS_ERR_CAP] = "";
  osiris_json *schema = rn_fields(), *cols = js_alloc(OSIRIS_JSON_ARRAY), *f;
  osiris_rc rc = OSIRIS_OK;
  size_t c;
  if (!rel_pq || !rel_schema || !abs_pq || !schema || !cols) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = osiris_parquet_write(abs_pq, st->frame, NULL, why, sizeof why);
  if (rc) {
    rc = os_fail(err, rc, "step %s: cannot spill its frame: %.1800s", id, why);
    goto done;
  }
  for (c = 0; c < osiris_frame_cols(st->frame); c++) {
    osiris_json *col = rn_fields();
    osiris_type t = osiris_frame_col_type(st->frame, c);
    if (!col) continue;
    js_set_str(col, "name", osiris_frame_col_name(st->frame, c));
    js_set_str(col, "type", osiris_type_name(t));
    if (t == OSIRIS_TYPE_DECIMAL) js_set_int(col, "scale", osiris_frame_col_scale(st->frame, c));
    osiris_json_push(cols, col);
  }
  js_set_str(schema, "step_id", id);
  js_set_int(schema, "rows", (int64_t)osiris_frame_rows(st->frame));
  osiris_json_set(schema, "columns", cols);
  cols = NULL;
  rc = ss_write_json(&run->ss, rel_schema, schema, err);
  if (rc) goto done;
  {
    const char *rels[2] = {rel_pq, rel_schema};
    const char *types[2] = {"parquet", "schema"};
    int k;
    for (k = 0; k < 2; k++) {
      js_set_built(st->artifacts, NULL, osiris_json_new_str(rels[k], strlen(rels[k])));
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", id);
        js_set_str(f, "artifact_type", types[k]);
        js_set_str(f, "path", rels[k]);
      }
      ss_event(&run->ss, "artifact_created", f);
    }
  }
  st->spill_path = abs_pq;
  abs_pq = NULL;
  if (!keep) {
    osiris_frame_free(st->frame);
    st->frame = NULL;
  }
done:
  os_free(rel_pq);
  os_free(rel_schema);
  os_free(abs_pq);
  osiris_json_free(schema);
  osiris_json_free(cols);
  return rc;
}

/* Step idx's cfg gives key, accepted without effect, with a value other
 * than its default (what rn_note_no_effect notes); 0 when unreadable. */
static int rn_gives_no_effect_key(osiris_run *run, size_t idx, const char *key) {
  const osiris_driver *d = osiris_driver_find(run->ctx, run->mf->steps[idx].driver);
  const osiris_config_key *k = d ? cp_key_find(d, key, 0) : NULL;
  char *rel = os_asprintf("cfg/%s.json", run->mf->steps[idx].id);
  char *path = rel ? os_path_join(run->ss.dir, rel) : NULL;
  osiris_json *cfg = NULL, *dv = NULL;
  const osiris_json *v;
  os_err err = {0};
  int gives = 0;
  if (!k || !(k->flags & OSIRIS_KEY_NO_EFFECT) || !path || js_read_file(path, &cfg, &err)) goto done;
  v = osiris_json_get(cfg, key);
  gives = v != NULL;
  if (v && k->default_json &&
      osiris_json_parse(k->default_json, strlen(k->default_json), &dv, NULL, 0) == OSIRIS_OK &&
      js_equal(dv, v))
    gives = 0;
done:
  osiris_json_free(cfg);
  osiris_json_free(dv);
  os_free(path);
  os_free(rel);
  return gives;
}

/* A key the driver accepts without effect (OSIRIS_KEY_NO_EFFECT) is
 * noted once per run, however many steps give it: an event
 * config_key_no_effect and a warning in osiris.log.  A value equal to
 * the key's default is what compile copied in, not a choice: not noted.
 * The step that notes it is the first in run order that gives it, not
 * the first to get here: with --jobs the same step notes it every time. */
static osiris_rc rn_note_no_effect(osiris_step *s, os_err *err) {
  osiris_run *run = s->run;
  size_t j, o;
  for (j = 0; j < osiris_json_size(s->config); j++) {
    const char *key = osiris_json_key_at(s->config, j);
    const osiris_config_key *k = cp_key_find(s->driver, key, 0);
    osiris_json *dv = NULL, *f;
    osiris_rc rc = OSIRIS_OK;
    int same = 0, first = 0;
    if (!k || !(k->flags & OSIRIS_KEY_NO_EFFECT)) continue;
    if (k->default_json) {
      rc = osiris_json_parse(k->default_json, strlen(k->default_json), &dv, NULL, 0);
      if (rc == OSIRIS_ENOMEM) return os_fail(err, rc, "out of memory");
      same = rc == OSIRIS_OK && js_equal(dv, osiris_json_at(s->config, j));
      osiris_json_free(dv);
      rc = OSIRIS_OK;
    }
    if (same) continue;
    for (o = 0; o < run->mf->n_steps && run->order[o] != s->index; o++)
      if (rn_gives_no_effect_key(run, run->order[o], key)) break;
    if (o < run->mf->n_steps && run->order[o] != s->index) continue; /* an earlier step's */
    ss_lock(&run->ss); /* the steps of a streamed pair begin at once */
    if (!run->noted) run->noted = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!run->noted) rc = OSIRIS_ENOMEM;
    else if (!osiris_json_get(run->noted, key))
      rc = osiris_json_set(run->noted, key, osiris_json_new_bool(1)), first = rc == OSIRIS_OK;
    ss_unlock(&run->ss);
    if (rc) return os_fail(err, rc, "out of memory");
    if (!first) continue;
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", osiris_step_id(s));
      js_set_str(f, "component", s->driver->name);
      js_set_str(f, "key", key);
    }
    ss_event(&run->ss, "config_key_no_effect", f);
    ss_log(&run->ss, 2, "[%s] config key '%s' is accepted for compatibility and has no effect here%s%s",
           osiris_step_id(s), key, k->doc ? ": " : "", k->doc ? k->doc : "");
  }
  return OSIRIS_OK;
}

/* The first half of a step: step_start, artifacts directory, config,
 * connection, cleaned config, inputs.  in is the pipe of a streamed input
 * or NULL.  s is set up even on failure, for rn_step_end. */
static osiris_rc rn_step_begin(osiris_run *run, size_t idx, osiris_step *s, rn_pipe *in,
                               os_err *err) {
  const mf_step *ms = &run->mf->steps[idx];
  char *conn_ref = NULL;
  osiris_json *f;
  osiris_rc rc;

  memset(s, 0, sizeof *s);
  s->run = run;
  s->index = idx;
  s->in_pipe = in;
  run->st[idx].status = RN_RUNNING;
  rn_mark(run, idx, 0);
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", ms->id);
    js_set_str(f, "driver", ms->driver);
  }
  ss_event(&run->ss, "step_start", f);
  ss_log(&run->ss, 1, "step %s started (driver %s)", ms->id, ms->driver);

  s->driver = osiris_driver_find(run->ctx, ms->driver);
  if (!s->driver) {
    rc = os_fail(err, OSIRIS_ENOTFOUND, "step %s: driver '%s' is not registered", ms->id,
                 ms->driver);
    goto done;
  }
  s->artifacts_dir = os_asprintf("%s/artifacts/%s", run->ss.dir, ms->id);
  if (!s->artifacts_dir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(s->artifacts_dir, err);
  if (rc) goto done;
  f = rn_fields();
  if (f) {
    char *rel = os_asprintf("artifacts/%s", ms->id);
    js_set_str(f, "step_id", ms->id);
    js_set_built(f, "relative_path", rel ? osiris_json_new_str(rel, strlen(rel)) : NULL);
    os_free(rel);
  }
  ss_event(&run->ss, "artifacts_dir_created", f);

  rc = rn_load_config(s, &conn_ref, err);
  if (rc) goto done;
  rc = rn_note_no_effect(s, err);
  if (rc) goto done;
  rc = rn_resolve_connection(s, conn_ref, err);
  if (rc) goto done;
  rc = rn_write_cleaned_config(s, err);
  if (rc) goto done;
  rc = rn_resolve_inputs(s, err);
  if (rc) goto done;
  if (os_cancelled(run->ctx)) rc = os_fail(err, OSIRIS_ECANCEL, "step %s: interrupted", ms->id);
done:
  os_free(conn_ref);
  return rc;
}

/* The driver call, with its error message put into err. */
static osiris_rc rn_step_call(osiris_step *s, os_err *err) {
  const mf_step *ms = &s->run->mf->steps[s->index];
  osiris_rc rc;
  int slot = rn_wd_arm(s->run, s->index);
  s->t0_ms = os_now_ms();
  rc = s->driver->run(s);
  rn_wd_disarm(s->run, slot);
  if (rc == OSIRIS_OK && os_cancelled(s->run->ctx)) {
    rc = OSIRIS_ECANCEL;
    osiris_step_fail(s, rc, "interrupted");
  }
  if (rc) {
    if (!s->error[0]) osiris_step_fail(s, rc, "driver %s failed (%s)", ms->driver, osiris_rc_name(rc));
    os_fail(err, rc, "step %s: %s", ms->id, s->error);
  }
  return rc;
}

static const char *rn_reason(osiris_rc rc) {
  return rc == OSIRIS_ECONN     ? "connection_failed"
         : rc == OSIRIS_ECANCEL ? "interrupted"
                                : "execution_failed";
}

/* The second half: keep (or spill) the output, release what upstream
 * frames nobody needs, step_complete or step_failed.  Releases s. */
static osiris_rc rn_step_end(osiris_run *run, size_t idx, osiris_step *s, osiris_rc rc,
                             os_err *err, double t0) {
  const mf_step *ms = &run->mf->steps[idx];
  rn_state *st = &run->st[idx];
  osiris_json *f;
  int streamed = s->out_pipe && s->out_pipe->streaming;

  if (!rc && (s->output || streamed)) {
    st->had_frame = 1;
    /* a streamed last frame the consumer never took still counts */
    st->rows_out = (streamed ? s->out_pipe->rows : 0) + (int64_t)osiris_frame_rows(s->output);
    if (streamed)
      osiris_frame_free(s->output);
    else
      st->frame = s->output; /* read by others only once this step has ended (rn_sched) */
    s->output = NULL;
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_int(f, "rows", st->rows_out);
      if (streamed) js_set_bool(f, "streamed", 1);
    }
    ss_event(&run->ss, "rows_out", f);
    if (st->frame && rn_should_spill(run, st->frame)) rc = rn_spill(run, idx, 0, err);
    else if (st->frame && run->resumable) rc = rn_spill(run, idx, 1, err);
    if (!rc && st->consumers_left == 0 && st->frame) { /* nobody downstream: free it now */
      osiris_frame_free(st->frame);
      st->frame = NULL;
    }
  }

  if (s->in_pipe) { /* what came through the stream, for run cards here and on a host */
    rn_state *up = &run->st[s->in_pipe->producer->index];
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "from_step", run->mf->steps[s->in_pipe->producer->index].id);
      js_set_str(f, "key", up->input_key);
      js_set_int(f, "rows", st->rows_in);
      js_set_int(f, "batches", s->in_pipe->batches);
    }
    ss_event(&run->ss, "stream_complete", f);
  }
  st->duration_ms = os_now_ms() - t0;
  rn_mark(run, idx, 1);
  rn_release_upstream(run, idx);
  if (rc && __atomic_load_n(&st->timed_out, __ATOMIC_SEQ_CST)) {
    /* a bound fired while it ran: say which, after how long */
    char src[64];
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "bound", rn_timeout_source(run, src, sizeof src));
      if (run->timeout_fired_s == floor(run->timeout_fired_s))
        js_set_int(f, "timeout_s", (int64_t)run->timeout_fired_s);
      else
        js_set_double(f, "timeout_s", run->timeout_fired_s);
      js_set_int(f, "elapsed_ms", (int64_t)st->duration_ms);
    }
    ss_event(&run->ss, "step_timeout", f);
    rn_timeout_text(run, err->msg, sizeof err->msg);
    if (run->timeout_step != idx) { /* the run's bound */
      size_t l = strlen(err->msg);
      snprintf(err->msg + l, sizeof err->msg - l, ": step %s stopped", ms->id);
    }
  }
  if (rc) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    ss_scrub_buf(&run->ss, msg, sizeof msg);
    st->status = RN_FAILED;
    st->error = os_strdup(msg);
    st->error_rc = rc;
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "driver", ms->driver);
      js_set_str(f, "error", st->error ? st->error : "");
      js_set_str(f, "error_type", osiris_rc_name(rc));
      js_set_int(f, "duration_ms", (int64_t)st->duration_ms);
    }
    ss_event(&run->ss, "step_failed", f);
    ss_log(&run->ss, 3, "%s", st->error ? st->error : "step failed");
    ss_metric(&run->ss, "step_duration_ms", st->duration_ms, "ms", ms->id);
    rn_set_error(run, rc, ms->id, rn_reason(rc), st->error ? st->error : "step failed");
  } else {
    int64_t processed =
        st->had_frame ? st->rows_out : (st->rows_written ? st->rows_written : st->rows_in);
    st->status = RN_SUCCESS;
    rn_lock(run);
    run->steps_completed++;
    rn_unlock(run);
    ss_metric(&run->ss, "rows_processed", (double)processed, "rows", ms->id);
    ss_metric(&run->ss, "step_duration_ms", st->duration_ms, "ms", ms->id);
    ss_metric(&run->ss, "memory_usage_mb", os_peak_rss_mb(), "MB", ms->id);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "driver", ms->driver);
      js_set_int(f, "rows_processed", processed);
      js_set_int(f, "duration_ms", (int64_t)st->duration_ms);
    }
    ss_event(&run->ss, "step_complete", f);
    ss_log(&run->ss, 1, "step %s completed: %" PRId64 " rows in %.1f ms", ms->id, processed,
           st->duration_ms);
  }
  rn_step_release(s);
  return rc;
}

/* Run one step: the unit that both the local adapter and the worker use. */
static osiris_rc rn_exec_step(osiris_run *run, size_t idx) {
  osiris_step s;
  os_err err = {0};
  double t0 = os_now_ms();
  osiris_rc rc = rn_step_begin(run, idx, &s, NULL, &err);
  if (!rc) rc = rn_step_call(&s, &err);
  return rn_step_end(run, idx, &s, rc, &err, t0);
}

/* The consumer a step can stream into, or (size_t)-1: its only consumer,
 * which reads batches and needs nothing else, when streaming is on. */
static size_t rn_stream_target(osiris_run *run, size_t a) {
  const char *env = osiris_ctx_getenv(run->ctx, "OSIRIS_STREAM");
  const char *force = osiris_ctx_getenv(run->ctx, "OSIRIS_FORCE_SPILL");
  const osiris_driver *d;
  size_t i, b = (size_t)-1;
  if (!force) force = osiris_ctx_getenv(run->ctx, "E2B_FORCE_SPILL");
  if (rn_truthy(force) || (env && (os_streq(env, "0") || mk_ieq(env, "false") || mk_ieq(env, "no"))))
    return (size_t)-1;
  if (run->resumable) return (size_t)-1; /* every output is saved whole */
  if (run->st[a].consumers_left != 1 || !osiris_driver_find(run->ctx, run->mf->steps[a].driver))
    return (size_t)-1;
  for (i = 0; i < run->mf->n_steps && b == (size_t)-1; i++) {
    size_t k;
    for (k = 0; k < run->mf->steps[i].n_needs; k++)
      if (rn_step_index(run->mf, run->mf->steps[i].needs[k]) == a) b = i;
  }
  if (b == (size_t)-1 || run->mf->steps[b].n_needs != 1 || run->st[b].status != RN_PENDING)
    return (size_t)-1;
  d = osiris_driver_find(run->ctx, run->mf->steps[b].driver);
  return d && (d->flags & OSIRIS_DRIVER_STREAMS_IN) ? b : (size_t)-1;
}

static void *rn_producer_main(void *arg) {
  osiris_step *s = arg;
  rn_pipe *p = s->out_pipe;
  osiris_rc rc = rn_step_call(s, &p->producer_err);
  pthread_mutex_lock(&p->mu);
  p->producer_done = 1;
  p->producer_rc = rc;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* While this thread only waits for a producer thread (on=1; on=0 puts
 * *old back), a SIGINT or SIGTERM sent to the process is delivered to the
 * producer instead: when the process catches it without SA_RESTART (the
 * CLI's Ctrl-C does), an open or read the producer is blocked in (a FIFO
 * nobody writes) then returns EINTR and the step ends interrupted, where
 * otherwise the signal would only wake this thread and the run would wait
 * for ever.  A signal that finds every thread blocking it stays pending
 * until the mask is put back: none is lost. */
static void rn_route_interrupts(int on, sigset_t *old) {
  sigset_t intr;
  if (!on) {
    pthread_sigmask(SIG_SETMASK, old, NULL);
    return;
  }
  sigemptyset(&intr);
  sigaddset(&intr, SIGINT);
  sigaddset(&intr, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &intr, old);
}

/* A Ctrl-C can land on this thread before it routes interrupts to the
 * producer (or an embedder calls osiris_ctx_cancel): the producer, blocked
 * in a system call, would never see it.  So while the run is cancelled and
 * the producer still runs, it is woken (RN_WAKE_SIGNAL, as the watchdog
 * does) every time this thread looks. */
static void rn_wake_if_cancelled(osiris_run *run, pthread_t th) {
  if (!os_cancelled(run->ctx)) return;
  pthread_once(&rn_wake_once, rn_wake_install);
  pthread_kill(th, RN_WAKE_SIGNAL);
}

/* Run producer a and its consumer b as a streamed pair (see the banner).
 * Returns the code of the step that failed first, OSIRIS_OK when both
 * succeeded.  When a finishes before handing over a batch, b is left
 * pending for its turn, exactly as without streaming. */
static osiris_rc rn_exec_pair(osiris_run *run, size_t a, size_t b) {
  rn_pipe p;
  osiris_step sa, sb;
  os_err eb = {0};
  double ta = os_now_ms(), tb = ta;
  osiris_rc ra, rb = OSIRIS_OK;
  pthread_t th;
  sigset_t intr_old;
  const char *ida = run->mf->steps[a].id, *idb = run->mf->steps[b].id;
  size_t i;
  int streaming; /* p.streaming as seen under the lock: the producer sets it again per batch */

  memset(&p, 0, sizeof p);
  ra = rn_step_begin(run, a, &sa, NULL, &p.producer_err);
  if (ra) return rn_step_end(run, a, &sa, ra, &p.producer_err, ta);
  if (pthread_mutex_init(&p.mu, NULL) != 0) goto inline_run;
  if (pthread_cond_init(&p.cv, NULL) != 0) {
    pthread_mutex_destroy(&p.mu);
    goto inline_run;
  }
  sa.out_pipe = &p;
  p.producer = &sa;
  if (pthread_create(&th, NULL, rn_producer_main, &sa) != 0) {
    sa.out_pipe = NULL;
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    goto inline_run;
  }
  pthread_mutex_lock(&p.mu);
  rn_route_interrupts(1, &intr_old);
  while (!p.streaming && !p.producer_done) {
    rn_pipe_wait(&p);
    rn_wake_if_cancelled(run, th);
  }
  streaming = p.streaming;
  rn_route_interrupts(0, &intr_old);
  pthread_mutex_unlock(&p.mu);

  if (streaming) {
    tb = os_now_ms();
    rb = rn_step_begin(run, b, &sb, &p, &eb);
    if (!rb) rb = rn_step_call(&sb, &eb);
    if (!rb) { /* a consumer that stopped reading early: let the producer finish */
      const osiris_frame *rest;
      while (osiris_step_next(&sb, &rest) == OSIRIS_OK && rest) {}
    }
    pthread_mutex_lock(&p.mu);
    p.consumer_done = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
  }
  rn_route_interrupts(1, &intr_old);
  pthread_mutex_lock(&p.mu);
  while (!p.producer_done) {
    rn_pipe_wait(&p);
    rn_wake_if_cancelled(run, th);
  }
  pthread_mutex_unlock(&p.mu);
  pthread_join(th, NULL);
  rn_route_interrupts(0, &intr_old);
  ra = p.producer_rc;
  if (p.streaming) {
    /* The failure that came first ends first (a host mirroring the events
     * takes the first step_failed as the run's); the other step is
     * reported as stopped because of it. */
    if (rb && (p.cut || !ra)) {
      if (ra) os_fail(&p.producer_err, OSIRIS_ECANCEL, "step %s: stopped because step %s failed",
                      ida, idb);
      rb = rn_step_end(run, b, &sb, rb, &eb, tb);
      ra = rn_step_end(run, a, &sa, ra ? OSIRIS_ECANCEL : OSIRIS_OK, &p.producer_err, ta);
    } else {
      if (ra && rb) {
        os_fail(&eb, OSIRIS_ECANCEL, "step %s: stopped because step %s failed", idb, ida);
        rb = OSIRIS_ECANCEL;
      }
      ra = rn_step_end(run, a, &sa, ra, &p.producer_err, ta);
      rb = rn_step_end(run, b, &sb, rb, &eb, tb);
    }
  } else {
    ra = rn_step_end(run, a, &sa, ra, &p.producer_err, ta);
    rb = OSIRIS_OK;
  }
  for (i = 0; i < p.count; i++) osiris_frame_free(p.q[(p.head + i) % RN_PIPE_DEPTH]);
  os_free(p.used);
  pthread_cond_destroy(&p.cv);
  pthread_mutex_destroy(&p.mu);
  {
    osiris_rc first = rn_run_rc(run);
    return first ? first : ra ? ra : rb;
  }

inline_run:
  ra = rn_step_call(&sa, &p.producer_err);
  return rn_step_end(run, a, &sa, ra, &p.producer_err, ta);
}

/* Run step idx: with its consumer as a streamed pair when one can take
 * its batches, else alone. */
static osiris_rc rn_exec_at(osiris_run *run, size_t idx) {
  size_t b = rn_stream_target(run, idx);
  return b == (size_t)-1 ? rn_exec_step(run, idx) : rn_exec_pair(run, idx, b);
}

static void rn_skip_rest(osiris_run *run, const char *failed_id) {
  size_t i;
  for (i = 0; i < run->mf->n_steps; i++) {
    size_t idx = run->order[i];
    osiris_json *f;
    char *reason;
    if (run->st[idx].status != RN_PENDING) continue;
    run->st[idx].status = RN_SKIPPED;
    reason = os_asprintf("step %s failed", failed_id);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", run->mf->steps[idx].id);
      js_set_str(f, "reason", reason ? reason : "an earlier step failed");
    }
    os_free(reason);
    ss_event(&run->ss, "step_skipped", f);
  }
}

/* ---------------------------------------------------------- scheduler
 *
 * --jobs J > 1 (see "Parallel branches" in the banner).  The calling
 * thread schedules: it starts a unit (a step, or a streamed pair) in a
 * thread of its own when every need of the step has succeeded, in run
 * order, while fewer than J units run; it then waits for one to end and
 * joins it.  Its own view of each step (rn_sched.state) is the only one it
 * reads: run->st[i] of a running unit is that unit's until it is joined.
 * After the first failure, or once the run is cancelled, nothing new
 * starts; what runs finishes (or stops, when cancelled) and is reported as
 * it ended; the steps never started are skipped.
 */
enum { RN_WAITING = 0, RN_CLAIMED, RN_ENDED_OK, RN_ENDED_BAD };

typedef struct rn_unit {
  struct rn_sched *sc;
  size_t a;       /* the step, or a streamed pair's producer */
  size_t b;       /* the pair's consumer, or (size_t)-1 */
  pthread_t th;
  int used, done; /* done: under sc->mu */
  osiris_rc rc;
} rn_unit;

typedef struct rn_sched {
  osiris_run *run;
  pthread_mutex_t mu;
  pthread_cond_t cv;          /* CLOCK_MONOTONIC: a unit ended */
  rn_unit unit[RN_MAX_JOBS];
  unsigned char *state;       /* RN_WAITING..RN_ENDED_BAD per step (this thread's) */
  size_t running, jobs;
} rn_sched;

/* J as asked (0: the online cores), within 1..RN_MAX_JOBS. */
static int rn_jobs(int asked) {
  long n = asked > 0 ? asked : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > RN_MAX_JOBS ? RN_MAX_JOBS : (int)n;
}

static void *rn_unit_main(void *arg) {
  rn_unit *u = arg;
  osiris_run *run = u->sc->run;
  osiris_rc rc = u->b == (size_t)-1 ? rn_exec_step(run, u->a) : rn_exec_pair(run, u->a, u->b);
  pthread_mutex_lock(&u->sc->mu);
  u->rc = rc; /* the run's outcome is in run (rn_set_error); kept for debugging */
  u->done = 1;
  pthread_cond_broadcast(&u->sc->cv);
  pthread_mutex_unlock(&u->sc->mu);
  return NULL;
}

/* Every need of step i has succeeded (needs naming no step are ignored,
 * as rn_resolve_inputs does). */
static int rn_sched_ready(const rn_sched *sc, size_t i) {
  const mf_step *ms = &sc->run->mf->steps[i];
  size_t k;
  if (sc->state[i] != RN_WAITING) return 0;
  for (k = 0; k < ms->n_needs; k++) {
    size_t up = rn_step_index(sc->run->mf, ms->needs[k]);
    if (up != (size_t)-1 && sc->state[up] != RN_ENDED_OK) return 0;
  }
  return 1;
}

/* Rows of the frames that ended steps keep in memory for their consumers.
 * Only joined steps count: their frame changes now only under run->mu. */
static long long rn_sched_live_rows(const rn_sched *sc) {
  osiris_run *run = sc->run;
  long long rows = 0;
  size_t i;
  rn_lock(run);
  for (i = 0; i < run->mf->n_steps; i++)
    if (sc->state[i] == RN_ENDED_OK && run->st[i].frame)
      rows += (long long)osiris_frame_rows(run->st[i].frame);
  rn_unlock(run);
  return rows;
}

/* A unit's step ended: what this thread now knows of it (joined). */
static void rn_sched_note(rn_sched *sc, size_t idx) {
  rn_status s = sc->run->st[idx].status;
  sc->state[idx] = s == RN_SUCCESS ? RN_ENDED_OK : s == RN_PENDING ? RN_WAITING : RN_ENDED_BAD;
}

/* Start the next ready step in run order when a unit may start: 1 when
 * one started (or, when no thread could be made, ran here), 0 when none
 * may. */
static int rn_sched_start(rn_sched *sc) {
  osiris_run *run = sc->run;
  long long threshold;
  rn_unit *u = NULL;
  size_t i, k;
  if (sc->running >= sc->jobs || rn_run_rc(run) || os_cancelled(run->ctx)) return 0;
  /* Memory: frames are spilled one by one as in a serial run (the same
   * artifacts whatever J is); while those kept in memory add up to more
   * than a frame may hold, a second unit does not start. */
  threshold = rn_spill_threshold(run);
  if (sc->running > 0 && threshold >= 0 && rn_sched_live_rows(sc) > threshold) return 0;
  for (i = 0; i < run->mf->n_steps; i++)
    if (rn_sched_ready(sc, run->order[i])) break;
  if (i == run->mf->n_steps) return 0;
  for (k = 0; k < RN_MAX_JOBS && !u; k++)
    if (!sc->unit[k].used) u = &sc->unit[k];
  if (!u) return 0;
  memset(u, 0, sizeof *u);
  u->sc = sc;
  u->used = 1;
  u->a = run->order[i];
  u->b = rn_stream_target(run, u->a);
  sc->state[u->a] = RN_CLAIMED;
  if (u->b != (size_t)-1) sc->state[u->b] = RN_CLAIMED;
  if (pthread_create(&u->th, NULL, rn_unit_main, u) != 0) { /* then here, in this thread */
    u->used = 0;
    if (u->b == (size_t)-1) rn_exec_step(run, u->a);
    else rn_exec_pair(run, u->a, u->b);
    rn_sched_note(sc, u->a);
    if (u->b != (size_t)-1) rn_sched_note(sc, u->b);
    return 1;
  }
  sc->running++;
  return 1;
}

/* Wait for a unit to end and join it; while the run is cancelled, wake the
 * running ones as the watchdog does (rn_wake_if_cancelled).  Ctrl-C is
 * routed to the step threads while this one waits (rn_route_interrupts). */
static void rn_sched_reap(rn_sched *sc) {
  sigset_t intr_old;
  size_t k;
  rn_unit *u = NULL;
  rn_route_interrupts(1, &intr_old);
  pthread_mutex_lock(&sc->mu);
  for (;;) {
    struct timespec ts;
    for (k = 0; k < RN_MAX_JOBS && !u; k++)
      if (sc->unit[k].used && sc->unit[k].done) u = &sc->unit[k];
    if (u) break;
    for (k = 0; k < RN_MAX_JOBS; k++)
      if (sc->unit[k].used) rn_wake_if_cancelled(sc->run, sc->unit[k].th);
    rn_wd_timespec(os_now_ms() + RN_WAKE_EVERY_MS, &ts);
    pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
  }
  pthread_mutex_unlock(&sc->mu);
  pthread_join(u->th, NULL);
  rn_route_interrupts(0, &intr_old);
  u->used = 0;
  sc->running--;
  rn_sched_note(sc, u->a);
  if (u->b != (size_t)-1) rn_sched_note(sc, u->b);
}

/* Run every pending step, up to jobs units at once.  OSIRIS_ENOMEM (and
 * nothing run) when the scheduler cannot be set up. */
static osiris_rc rn_sched_run(osiris_run *run, int jobs) {
  rn_sched sc;
  pthread_condattr_t ca;
  size_t i;
  memset(&sc, 0, sizeof sc);
  sc.run = run;
  sc.jobs = (size_t)jobs;
  sc.state = os_calloc(run->mf->n_steps ? run->mf->n_steps : 1, 1);
  if (!sc.state) return OSIRIS_ENOMEM;
  if (pthread_condattr_init(&ca)) goto nomem;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&sc.mu, NULL)) {
    pthread_condattr_destroy(&ca);
    goto nomem;
  }
  if (pthread_cond_init(&sc.cv, &ca)) {
    pthread_condattr_destroy(&ca);
    pthread_mutex_destroy(&sc.mu);
    goto nomem;
  }
  pthread_condattr_destroy(&ca);
  for (i = 0; i < run->mf->n_steps; i++) /* a worker may have run some already */
    if (run->st[i].status != RN_PENDING) rn_sched_note(&sc, i);
  for (;;) {
    while (rn_sched_start(&sc)) {}
    if (!sc.running) break;
    rn_sched_reap(&sc);
  }
  pthread_cond_destroy(&sc.cv);
  pthread_mutex_destroy(&sc.mu);
  os_free(sc.state);
  return OSIRIS_OK;
nomem:
  os_free(sc.state);
  return OSIRIS_ENOMEM;
}

/* Every pending step with jobs > 1 units at once, then step_skipped for
 * those that never started; the run's first failure, OSIRIS_OK when every
 * step succeeded. */
static osiris_rc rn_run_parallel(osiris_run *run, int jobs) {
  size_t i;
  int pending = 0;
  if (rn_sched_run(run, jobs))
    rn_set_error(run, OSIRIS_ENOMEM, NULL, "out_of_memory", "out of memory starting the steps");
  for (i = 0; i < run->mf->n_steps; i++)
    if (run->st[i].status == RN_PENDING) pending = 1;
  if (!run->rc && pending && os_cancelled(run->ctx))
    rn_set_error(run, OSIRIS_ECANCEL, NULL, "interrupted", "the run was interrupted");
  if (run->rc) rn_skip_rest(run, run->failed_step ? run->failed_step : "(interrupted)");
  return run->rc;
}

/* The local execution: every step in order (a streamed consumer runs with
 * its producer), stop at the first failure; with --jobs > 1, independent
 * units at once (rn_run_parallel). */
osiris_rc osiris_run_execute_local(osiris_run *run) {
  size_t i;
  run->jobs = rn_jobs(run->jobs);
  if (run->jobs > 1) return rn_run_parallel(run, run->jobs);
  for (i = 0; i < run->mf->n_steps; i++) {
    size_t idx = run->order[i];
    osiris_rc rc;
    if (run->st[idx].status != RN_PENDING) continue;
    if (os_cancelled(run->ctx)) {
      rn_set_error(run, OSIRIS_ECANCEL, NULL, "interrupted", "the run was interrupted");
      rn_skip_rest(run, "(interrupted)");
      return OSIRIS_ECANCEL;
    }
    rc = rn_exec_at(run, idx);
    if (rc) {
      rn_skip_rest(run, run->failed_step ? run->failed_step : run->mf->steps[idx].id);
      return rc;
    }
  }
  return OSIRIS_OK;
}

/* Rows that crossed the pipeline's edges: what writers wrote, or what
 * extractors read when nothing was written. */
static int64_t rn_total_rows(const osiris_run *run) {
  size_t i, n = run->mf && run->st ? run->mf->n_steps : 0;
  int64_t written = 0, read = 0;
  int has_writer = 0;
  for (i = 0; i < n; i++) {
    if (run->st[i].rows_written) has_writer = 1;
    written = os_sat_add(written, run->st[i].rows_written); /* a worker's counts */
    read = os_sat_add(read, run->st[i].rows_read);
  }
  return has_writer ? written : read;
}

/* The closing events and metrics, emitted where the steps ran (in-process
 * for a local run, in the worker for a remote one). */
static void rn_finish(osiris_run *run) {
  osiris_json *f;
  run->duration_ms = os_now_ms() - run->ss.start_ms;
  ss_event(&run->ss, "cleanup_start", rn_fields());
  f = rn_fields();
  if (f) {
    js_set_int(f, "steps_executed", (int64_t)run->steps_completed);
    js_set_int(f, "total_rows", rn_total_rows(run));
  }
  ss_event(&run->ss, "cleanup_complete", f);
  ss_metric(&run->ss, "steps_completed", (double)run->steps_completed, "steps", NULL);
  ss_metric(&run->ss, "execution_duration", run->duration_ms / 1000.0, "seconds", NULL);
}

/* A run whose own record lost lines is not a success, whatever its steps
 * did: "nothing lost" is part of succeeding.  The error names the file
 * and the reason (a full disk), or says memory ran out. */
static void rn_set_lost_error(osiris_run *run) {
  char msg[OS_ERR_CAP];
  if (run->ss.write_errno && run->ss.write_file) {
    snprintf(msg, sizeof msg, "cannot write %s/%s: %s (%d event, metric or log lines lost)",
             run->ss.dir, run->ss.write_file, strerror(run->ss.write_errno), run->ss.lost);
    rn_set_error(run, OSIRIS_EIO, NULL, "execution_failed", msg);
  } else if (run->ss.write_errno) {
    snprintf(msg, sizeof msg, "cannot write the worker's output: %s (%d lines lost)",
             strerror(run->ss.write_errno), run->ss.lost);
    rn_set_error(run, OSIRIS_EIO, NULL, "execution_failed", msg);
  } else {
    snprintf(msg, sizeof msg, "out of memory: %d event, metric or log lines could not be written",
             run->ss.lost);
    rn_set_error(run, OSIRIS_ENOMEM, NULL, "out_of_memory", msg);
  }
  run->ok = 0;
}

/* The outcome members of status.json (ok, exit_code, reason, error),
 * set from the run's state; a member already there keeps its place. */
static void rn_status_outcome(const osiris_run *run, osiris_json *status) {
  js_set_bool(status, "ok", run->ok);
  js_set_int(status, "exit_code", run->ok ? 0 : 1);
  js_set_str(status, "reason", run->ok ? "" : (run->reason ? run->reason : "execution_failed"));
  if (run->ok) {
    js_set_built(status, "error", js_alloc(OSIRIS_JSON_NULL));
  } else {
    osiris_json *e = rn_fields();
    if (e) {
      if (run->failed_step)
        js_set_str(e, "step_id", run->failed_step);
      else
        js_set_built(e, "step_id", js_alloc(OSIRIS_JSON_NULL));
      js_set_str(e, "message", run->error);
      js_set_str(e, "code", osiris_rc_name(run->rc));
    }
    js_set_built(status, "error", e);
  }
}

/* Step i ran during [begin_seq, end_seq] (an end not seen: until now). */
static int rn_overlap(const rn_state *x, const rn_state *y) {
  uint64_t xe = x->end_seq ? x->end_seq : UINT64_MAX, ye = y->end_seq ? y->end_seq : UINT64_MAX;
  return x->begin_seq && y->begin_seq && x->begin_seq < ye && y->begin_seq < xe;
}

/* run_card.json's "parallel": the jobs asked, the most steps that ran at
 * once and every pair of steps that overlapped (by the order of their
 * starts and ends, so the same wherever the card is written). */
static osiris_json *rn_card_parallel(osiris_run *run) {
  osiris_json *par = rn_fields(), *pairs = js_alloc(OSIRIS_JSON_ARRAY);
  size_t i, j, n = run->mf && run->st ? run->mf->n_steps : 0;
  int64_t most = 0;
  if (!par || !pairs) {
    osiris_json_free(par);
    osiris_json_free(pairs);
    return NULL;
  }
  rn_lock(run);
  for (i = 0; i < n; i++) {
    int64_t at_start = 1; /* steps running when step i started, itself included */
    if (!run->st[i].begin_seq) continue;
    for (j = 0; j < n; j++) {
      const rn_state *o = &run->st[j];
      if (j != i && o->begin_seq && o->begin_seq < run->st[i].begin_seq &&
          (!o->end_seq || o->end_seq > run->st[i].begin_seq))
        at_start++;
      if (j > i && rn_overlap(&run->st[i], o)) {
        osiris_json *pair = js_alloc(OSIRIS_JSON_ARRAY);
        if (pair) {
          js_push_str(pair, run->mf->steps[i].id);
          js_push_str(pair, run->mf->steps[j].id);
        }
        js_set_built(pairs, NULL, pair);
      }
    }
    if (at_start > most) most = at_start;
  }
  rn_unlock(run);
  js_set_int(par, "jobs", run->jobs);
  js_set_int(par, "max_concurrent", most);
  js_set_built(par, "overlaps", pairs);
  return par;
}
static void rn_resume_note(const osiris_run *run, osiris_json *status, osiris_json *card); /* 18 */

/* status.json and run_card.json from the run's step states; with announce,
 * also run_complete and session_duration_seconds (the host's last words;
 * a worker writes its files silently so that nothing is said twice). */
static osiris_rc rn_write_results(osiris_run *run, int announce) {
  osiris_json *status = NULL, *card = NULL, *steps = NULL, *f;
  os_err err = {0};
  size_t i, n = run->mf ? run->mf->n_steps : 0;
  int64_t total_rows = rn_total_rows(run), rows_in = 0, rows_out = 0;
  osiris_rc rc = OSIRIS_OK;

  if (run->ss.lost) rn_set_lost_error(run);
  run->duration_ms = os_now_ms() - run->ss.start_ms;
  status = rn_fields();
  card = rn_fields();
  steps = js_alloc(OSIRIS_JSON_ARRAY);
  if (!status || !card || !steps) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  js_set_bool(status, "ok", run->ok); /* first in the file; set again, in place, below */
  js_set_int(status, "exit_code", run->ok ? 0 : 1);
  js_set_int(status, "steps_completed", (int64_t)run->steps_completed);
  js_set_int(status, "steps_total", (int64_t)n);
  js_set_str(status, "session_id", run->ss.id);
  js_set_str(status, "adapter", run->adapter ? run->adapter->name : "local");
  js_set_str(status, "sandbox_id",
             run->sandbox_id ? run->sandbox_id : run->adapter ? run->adapter->name : "local");
  rn_status_outcome(run, status);
  js_set_int(status, "duration_ms", (int64_t)run->duration_ms);
  js_set_int(status, "total_rows", total_rows);
  js_set_bool(status, "events_jsonl_exists", 1);

  for (i = 0; i < n; i++) {
    rn_state *st = &run->st[i];
    osiris_json *sj = rn_fields();
    if (!sj) {
      steps->incomplete = 1; /* status.json is then not written (below) */
      continue;
    }
    js_set_str(sj, "step_id", run->mf->steps[i].id);
    js_set_str(sj, "driver", run->mf->steps[i].driver);
    js_set_str(sj, "status", rn_status_name(st->status));
    js_set_int(sj, "rows_in", st->rows_in);
    js_set_int(sj, "rows_out", st->rows_out);
    js_set_int(sj, "duration_ms", (int64_t)st->duration_ms);
    if (st->begin_seq) { /* ms after the session started, for what overlapped */
      js_set_int(sj, "start_offset_ms", (int64_t)st->begin_off_ms);
      if (st->end_seq) js_set_int(sj, "end_offset_ms", (int64_t)st->end_off_ms);
    }
    js_set_bool(sj, "has_df_in_memory", st->had_frame && !st->spill_path);
    js_set_bool(sj, "spill_used", st->spill_path != NULL);
    if (st->spill_path) {
      osiris_json *paths = js_alloc(OSIRIS_JSON_ARRAY);
      char *rel = rn_rel(run, st->spill_path);
      size_t dn = strlen(run->ss.dir);
      if (paths && rel) js_push_str(paths, rel);
      if (paths && !rel && strncmp(st->spill_path, run->ss.dir, dn) == 0 &&
          strncmp(st->spill_path + dn, "/artifacts/", 11) == 0)
        paths->incomplete = 1; /* rn_rel's path: it ran out of memory */
      os_free(rel);
      js_set_built(sj, "spill_paths", paths);
    } else {
      js_set_built(sj, "spill_paths", js_alloc(OSIRIS_JSON_NULL));
    }
    js_set_built(sj, "artifacts", osiris_json_copy(st->artifacts));
    if (st->error) js_set_str(sj, "error", st->error);
    rows_in = os_sat_add(rows_in, st->rows_in);
    rows_out = os_sat_add(rows_out, st->rows_out);
    js_set_built(steps, NULL, sj);
  }
  js_set_str(card, "session_id", run->ss.id);
  js_set_str(card, "pipeline_id", run->mf && run->mf->pipeline_id ? run->mf->pipeline_id : "");
  js_set_str(card, "adapter", run->adapter ? run->adapter->name : "local");
  js_set_str(card, "status", run->ok ? "success" : "failed");
  js_set_int(card, "duration_ms", (int64_t)run->duration_ms);
  js_set_int(card, "rows_in", rows_in);
  js_set_int(card, "rows_out", rows_out);
  js_set_built(card, "steps", steps);
  steps = NULL;
  js_set_built(card, "parallel", rn_card_parallel(run));
  rn_resume_note(run, status, card);

  if (status->incomplete || card->incomplete) /* never a status.json that lacks a member */
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory writing status.json");
  if (!rc) rc = ss_write_json(&run->ss, "run_card.json", card, &err);
  if (!rc) rc = ss_write_json(&run->ss, "status.json", status, &err);
  osiris_json_free(run->status);
  run->status = status;
  status = NULL;
  if (rc) {
    /* A run without its status.json did not succeed; the error (a full
     * disk, naming the file) is the run's when it is the first. */
    ss_log(&run->ss, 3, "%s", err.msg);
    rn_set_error(run, rc, NULL, "execution_failed", err.msg);
  }
  if (!announce) goto done;
  f = rn_fields();
  if (f) {
    js_set_str(f, "pipeline_id", run->mf && run->mf->pipeline_id ? run->mf->pipeline_id : "");
    js_set_str(f, "status", run->ok ? "success" : "failed");
    js_set_int(f, "steps_completed", (int64_t)run->steps_completed);
    js_set_int(f, "steps_total", (int64_t)n);
    js_set_int(f, "duration_ms", (int64_t)run->duration_ms);
  }
  ss_event(&run->ss, "run_complete", f);
  ss_metric(&run->ss, "session_duration_seconds", (os_now_ms() - run->ss.start_ms) / 1000.0,
            "seconds", NULL);
  if (!rc && run->ok && run->ss.lost && run->status) {
    /* The last lines were lost after status.json said ok (a disk that
     * filled just then): the run failed, and status.json must not say
     * otherwise -- rewritten, or removed when even that fails. */
    rn_set_lost_error(run);
    rn_status_outcome(run, run->status);
    if (run->status->incomplete || ss_write_json(&run->ss, "status.json", run->status, &err)) {
      char *path = os_path_join(run->ss.dir, "status.json");
      if (path) unlink(path);
      os_free(path);
    }
  }
done:
  if (!rc && run->ss.lost) /* a last line could not be written */
    rc = run->ss.write_errno ? OSIRIS_EIO : OSIRIS_ENOMEM;
  osiris_json_free(status);
  osiris_json_free(card);
  osiris_json_free(steps);
  return rc;
}

/* ---------------------------------------------------------- local adapter */

/* The host half of prepare, shared by every adapter: load the manifest
 * and materialize manifest.yaml and cfg/ into the run directory; with
 * --resume, mark the steps carried over (before a remote adapter packs
 * its commands). */
static osiris_rc rn_resume_apply(osiris_run *run, os_err *err); /* section 18 */

static osiris_rc rn_prepare_host(osiris_run *run, os_err *err) {
  osiris_rc rc = rn_load(run, err);
  if (!rc) rc = rn_wd_setup(run, 1, err);
  if (!rc) rc = rn_materialize(run, err);
  if (!rc && run->resume) rc = rn_resume_apply(run, err); /* --resume: steps already done */
  return rc;
}

/* The half of prepare that runs where the steps run: the drivers. */
static osiris_rc rn_prepare_exec(osiris_run *run, os_err *err) {
  osiris_rc rc = rn_check_drivers(run, err);
  if (!rc) ss_metric(&run->ss, "steps_total", (double)run->mf->n_steps, "steps", NULL);
  return rc;
}

static osiris_rc rn_local_prepare(osiris_run *run) {
  os_err err = {0};
  osiris_rc rc = rn_prepare_host(run, &err);
  if (!rc) rc = rn_prepare_exec(run, &err);
  if (rc) {
    rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
    ss_log(&run->ss, 3, "%s", run->error);
  }
  run->prepared = rc == OSIRIS_OK;
  return rc;
}

static osiris_rc rn_local_collect(osiris_run *run) {
  if (run->prepared) rn_finish(run);
  return rn_write_results(run, 1);
}

static const osiris_adapter rn_local_adapter = {"local", rn_local_prepare,
                                                osiris_run_execute_local, rn_local_collect};

/* ======================================================================
 * 15. Worker protocol
 *
 * The worker reads one JSON command a line (ping, prepare, exec_step,
 * reuse_step, cleanup) and answers each with {"type":"response","cmd":<name>,"ok":..}
 * on out_fd, interleaved with the events, metrics and logs of the same
 * runner as {"type":"event"|"metric"|"log",...} lines.  A failed step
 * answers ok:false with its error; the commands after it still get
 * answers, so the host never waits for a line that will not come.  The
 * worker enforces each step's own timeout (steps[i].timeout, section 14's
 * watchdog); the run's bound is the host's, which stops the worker.
 * Every byte written to out_fd is also appended, in the same order, to
 * <session_dir>/worker.out: a host whose stream of out_fd broke reads the
 * rest of the output there (section 16).  The copy is written right after
 * the line, by the same thread and under the same lock, so the file is
 * always a prefix of what out_fd received, and all of it once the worker
 * has exited.
 * ====================================================================== */

#define WK_OUT_FILE "worker.out" /* in the session directory */

/* Write one response line; 1 when it could not be written whole (out of
 * memory: extra is NULL or incomplete, or the line could not be built; or
 * out_fd refused it). */
static int wk_respond(int fd, int tee_fd, const char *cmd, int ok, osiris_json *extra,
                      const char *error) {
  osiris_json *r = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  size_t i;
  int lost = 1;
  if (!r || !extra || extra->incomplete) goto done;
  js_set_str(r, "type", "response");
  js_set_str(r, "cmd", cmd ? cmd : "");
  js_set_bool(r, "ok", ok);
  if (error) js_set_str(r, "error", error);
  if (extra)
    for (i = 0; i < extra->u.c.n; i++)
      js_set_built(r, extra->u.c.keys[i], osiris_json_copy(extra->u.c.items[i]));
  if (!r->incomplete && !js_dump(&b, r, 0) && !ob_putc(&b, '\n')) {
    size_t done;
    lost = ss_write_all(fd, b.p, b.len, &done) != 0;
    if (tee_fd >= 0 && ss_write_all(tee_fd, b.p, b.len, &done)) ss_cut_line(tee_fd, done);
  }
done:
  ob_free(&b);
  osiris_json_free(r);
  osiris_json_free(extra);
  return lost;
}

static void rn_free(osiris_run *run);
static osiris_run *rn_new(osiris_ctx *ctx);

osiris_rc osiris_worker_run(osiris_ctx *ctx, const char *commands_path, const char *session_dir,
                            int out_fd) {
  char *text = NULL, *line, *next;
  size_t len = 0;
  os_err err = {0};
  osiris_run *run = NULL;
  osiris_rc rc, result = OSIRIS_OK;
  int cleaned = 0, tee = -1, lost = 0; /* lost: lines that could not be written */
  char *tee_path = NULL;
  if (!ctx || !commands_path || !session_dir) return OSIRIS_EUSAGE;
  /* As in osiris_run_pipeline: .env loaded where ENOMEM can be said. */
  rc = cn_load_dotenv(ctx) == OSIRIS_ENOMEM ? os_fail(&err, OSIRIS_ENOMEM, "out of memory") : OSIRIS_OK;
  if (!rc) rc = os_read_file(commands_path, &text, &len, &err);
  if (!rc) rc = os_mkdir_p(session_dir, &err);
  if (!rc) {
    tee_path = os_path_join(session_dir, WK_OUT_FILE);
    tee = tee_path ? open(tee_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (tee < 0)
      rc = tee_path ? os_fail(&err, OSIRIS_EIO, "cannot create %s: %s", tee_path, strerror(errno))
                    : os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    os_free(tee_path);
  }
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    os_free(text);
    return rc;
  }
  for (line = text; line && *line; line = next) {
    osiris_json *cmd = NULL, *extra;
    const char *name;
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (!*line) continue;
    rc = js_parse(line, strlen(line), "commands.jsonl", &cmd, &err);
    if (rc) {
      lost += wk_respond(out_fd, tee, "", 0, rn_fields(), err.msg);
      result = rc;
      continue;
    }
    name = js_gets(cmd, "cmd");
    if (os_streq(name, "ping")) {
      extra = rn_fields();
      if (extra && osiris_json_get(cmd, "data"))
        js_set_built(extra, "echo", osiris_json_copy(osiris_json_get(cmd, "data")));
      lost += wk_respond(out_fd, tee, "ping", 1, extra, NULL);
    } else if (os_streq(name, "prepare")) {
      const char *manifest = js_gets(cmd, "manifest");
      const char *sid = js_gets(cmd, "session_id");
      if (run) {
        lost += wk_respond(out_fd, tee, "prepare", 0, rn_fields(), "prepare was already done");
        result = OSIRIS_EUSAGE;
      } else if (!manifest) {
        lost += wk_respond(out_fd, tee, "prepare", 0, rn_fields(), "prepare needs a manifest path");
        result = OSIRIS_EUSAGE;
      } else if (!(run = rn_new(ctx))) {
        lost += wk_respond(out_fd, tee, "prepare", 0, rn_fields(), "out of memory");
        result = OSIRIS_ENOMEM;
      } else {
        rc = ss_open_session(&run->ss, ctx, NULL, session_dir, sid, 0, out_fd, &err);
        run->ss.tee_fd = tee;
        run->resumable = osiris_json_bool(osiris_json_get(cmd, "resumable"), 0);
        if (!rc) {
          run->source_manifest = os_path_abs(run->ss.dir, manifest);
          rc = run->source_manifest ? rn_load(run, &err) : OSIRIS_ENOMEM;
        }
        if (!rc) rc = rn_wd_setup(run, 0, &err); /* the steps' own bounds */
        /* the host's --jobs, 0: this machine's cores; absent (a host
         * from before --jobs): one step at a time, as that host expects */
        run->jobs = rn_jobs((int)osiris_json_int(osiris_json_get(cmd, "jobs"), 1));
        if (!rc) rc = rn_prepare_exec(run, &err);
        if (rc) {
          rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
          lost += wk_respond(out_fd, tee, "prepare", 0, rn_fields(), err.msg);
          result = rc;
        } else {
          run->prepared = 1;
          extra = rn_fields();
          if (extra) {
            js_set_str(extra, "session_id", run->ss.id);
            js_set_int(extra, "steps", (int64_t)run->mf->n_steps);
            js_set_int(extra, "jobs", run->jobs);
          }
          lost += wk_respond(out_fd, tee, "prepare", 1, extra, NULL);
        }
      }
    } else if (os_streq(name, "exec_step")) {
      const char *sid = js_gets(cmd, "step_id");
      size_t idx = run && run->prepared && sid ? rn_step_index(run->mf, sid) : (size_t)-1;
      extra = rn_fields();
      if (extra && sid) js_set_str(extra, "step_id", sid);
      rn_state *st = idx == (size_t)-1 ? NULL : &run->st[idx];
      if (!st) {
        lost += wk_respond(out_fd, tee, "exec_step", 0, extra, run && run->prepared ? "unknown step" : "not prepared");
        result = result ? result : OSIRIS_EUSAGE;
      } else if (st->status == RN_PENDING && run->rc) {
        st->status = RN_SKIPPED;
        lost += wk_respond(out_fd, tee, "exec_step", 0, extra, "skipped: an earlier step failed");
      } else {
        /* A streamed consumer ran with its producer, and with jobs > 1 the
         * first exec_step runs every step: answer from its state. */
        if (st->status == RN_PENDING) {
          rc = run->jobs > 1 ? rn_run_parallel(run, run->jobs) : rn_exec_at(run, idx);
          if (rc) {
            rn_skip_rest(run, run->failed_step ? run->failed_step : sid);
            result = rc;
          }
        }
        if (extra && st->status != RN_SKIPPED) {
          js_set_int(extra, "rows_processed", st->had_frame ? st->rows_out : st->rows_written);
          js_set_int(extra, "duration_ms", (int64_t)st->duration_ms);
        }
        lost += wk_respond(out_fd, tee, "exec_step", st->status == RN_SUCCESS, extra,
                   st->status == RN_SUCCESS ? NULL
                   : st->status == RN_SKIPPED ? "skipped: an earlier step failed"
                   : st->error ? st->error : "step failed");
      }
    } else if (os_streq(name, "reuse_step")) {
      /* --resume: the host ran this step in an earlier run; its output
       * (if a consumer runs here) was shipped as a file of the package */
      const char *sid = js_gets(cmd, "step_id"), *output = js_gets(cmd, "output");
      size_t idx = run && run->prepared && sid ? rn_step_index(run->mf, sid) : (size_t)-1;
      rn_state *st = idx == (size_t)-1 ? NULL : &run->st[idx];
      char *abs = output && mf_safe_rel_path(output) && st ? os_path_join(run->ss.dir, output) : NULL;
      const char *why = !st ? (run && run->prepared ? "unknown step" : "not prepared")
                        : st->status != RN_PENDING ? "the step has already run"
                        : output && (!abs || !os_is_file(abs)) ? "its output is not in the package"
                                                               : NULL;
      extra = rn_fields();
      if (extra && sid) js_set_str(extra, "step_id", sid);
      if (!why) {
        st->status = RN_SUCCESS;
        st->rows_in = osiris_json_int(osiris_json_get(cmd, "rows_in"), 0);
        st->rows_out = osiris_json_int(osiris_json_get(cmd, "rows_out"), 0);
        if (abs) {
          st->had_frame = 1;
          st->spill_path = abs;
          abs = NULL;
        }
        run->steps_completed++;
        rn_release_upstream(run, idx);
      } else {
        result = result ? result : OSIRIS_EUSAGE;
      }
      os_free(abs);
      lost += wk_respond(out_fd, tee, "reuse_step", why == NULL, extra, why);
    } else if (os_streq(name, "cleanup")) {
      if (run && run->prepared) {
        if (!run->rc) run->ok = 1;
        rn_finish(run);
        if (rn_write_results(run, 0)) lost++;
        cleaned = 1;
      }
      extra = rn_fields();
      if (extra && run) js_set_int(extra, "steps_completed", (int64_t)run->steps_completed);
      lost += wk_respond(out_fd, tee, "cleanup", run != NULL, extra, run ? NULL : "not prepared");
    } else {
      lost += wk_respond(out_fd, tee, name ? name : "", 0, rn_fields(), "unknown command");
      result = result ? result : OSIRIS_EUSAGE;
    }
    osiris_json_free(cmd);
  }
  if (run && run->prepared && !cleaned) {
    if (!run->rc) run->ok = 1;
    rn_finish(run);
    if (rn_write_results(run, 0)) lost++;
  }
  if (run && run->rc && !result) result = run->rc;
  if (!result && (lost || (run && run->ss.lost))) result = OSIRIS_ENOMEM;
  rn_free(run);
  close(tee);
  os_free(text);
  return result;
}

/* ======================================================================
 * 16. Transports: subprocess and E2B
 *
 * The remote adapter runs the pipeline in osiris-worker somewhere else and
 * makes the host run directory look exactly like a local run's.  prepare
 * materializes the run on the host, then builds a package (manifest.yaml,
 * cfg/, commands.jsonl, osiris_connections.yaml whose secret values are
 * ${OSIRIS_SECRET_<n>} references, and the input files); execute ships it
 * through a transport and turns the worker's stdout JSON lines back into
 * the host session's events, metrics and log, updating the step states
 * from the events; collect downloads artifacts/ and the files writers
 * produced, then writes status.json and run_card.json like a local run.
 * Secret values exist only in host memory and in the worker process's
 * environment: never in the package, on the sandbox disk, or in a request
 * that is logged.  Every path out of execute, Ctrl-C included, ends with
 * the scratch directory removed or the sandbox deleted.  Every stdout line
 * of the worker reaches rm_line exactly once and in order: when the E2B
 * stream breaks, the host reattaches (Connect) until the worker has ended,
 * then feeds the bytes of <session>/worker.out past the count it already
 * fed (section 15 writes that file), never the live output Connect shows.
 * ====================================================================== */


#define RM_MAX_ENVELOPE ((size_t)64 << 20) /* one Connect envelope */

/* What a sandbox may send back, at most (generous defaults; the host's
 * environment may lower or raise each).  Exceeding one fails the run. */
typedef struct rm_caps {
  int64_t line_bytes;  /* OSIRIS_REMOTE_MAX_LINE_BYTES: one stdout line */
  int64_t lines;       /* OSIRIS_REMOTE_MAX_EVENTS: event, metric and log lines */
  int64_t file_bytes;  /* OSIRIS_REMOTE_MAX_FILE_BYTES: one file brought back */
  int64_t total_bytes; /* OSIRIS_REMOTE_MAX_TOTAL_BYTES: all files brought back */
  int64_t files;       /* OSIRIS_REMOTE_MAX_FILES: files brought back */
} rm_caps;
#define RM_KILL_GRACE_MS 3000.0            /* SIGTERM -> SIGKILL */

typedef struct rm_map {
  char *wpath; /* as the worker sees it */
  char *hpath; /* on the host */
} rm_map;

typedef struct rm_state rm_state;

/* What differs between running the worker next door and in E2B.  Every
 * function reports a transport failure through err; pump returns once
 * the worker has ended (or the stream broke, or the run was cancelled). */
typedef struct rm_transport {
  const char *name;
  osiris_rc (*open)(rm_state *rs, os_err *err);  /* wdir, pkg_dir; no side effects remote */
  osiris_rc (*start)(rm_state *rs, os_err *err); /* ship package + worker, start the worker */
  osiris_rc (*pump)(rm_state *rs, os_err *err);  /* feed output until the worker ends */
  /* Bring back the regular file wpath (below wdir) to hpath, atomically,
   * at most limit bytes (cap names the setting); anything but a regular
   * file is refused. */
  osiris_rc (*fetch)(rm_state *rs, const char *wpath, const char *hpath, int64_t limit,
                     const char *cap, int64_t *bytes, os_err *err);
  osiris_rc (*list)(rm_state *rs, const char *wdir, osiris_json *paths, os_err *err);
  void (*close)(rm_state *rs); /* stop the worker, delete sandbox / scratch */
} rm_transport;

typedef struct e2_state {
  char *api_url, *envd_url, *api_key, *domain, *template_id;
  char *envd_override; /* E2B_SANDBOX_URL, checked in e2_open */
  char *sandbox_id, *token;
  int timeout_s;
  int64_t pid;
  int have_pid;
  int64_t out_fed;       /* bytes of the worker's stdout given to rm_feed */
  int exit_unknown;      /* reattached too late to learn the exit code */
  double last_extend_ms; /* the last TTL extension (or the worker's start) */
  /* the stream being read */
  os_buf env_buf, err_body;
  long status;
  int feed, got_start, got_end, got_eos, eos_error, bad, aborted;
  int end_exit_code;
  char end_status[128];
  char eos_code[32];
  char eos_msg[512];
  int no_cancel; /* calls that must run even after Ctrl-C (DELETE) */
} e2_state;

struct rm_state {
  osiris_run *run;
  const rm_transport *tp;
  char *pkg_dir;        /* host directory holding the package */
  char *wdir;           /* the worker's session directory, as it sees it */
  char *wbin;           /* the worker binary, as the worker sees it */
  char *wsrc;           /* the worker binary on the host */
  osiris_json *libs;    /* host paths of shared libraries shipped beside the worker */
  int64_t libs_bytes;   /* their size, with the worker's (reported in the log) */
  osiris_json *files;   /* package-relative paths to ship */
  osiris_json *envs;    /* NAME -> secret value, the worker's environment */
  rm_map *maps;         /* rewritten file paths */
  size_t n_maps, cap_maps;
  osiris_json *outputs; /* worker paths reported by output_written */
  rm_caps caps;
  int64_t n_lines;      /* stdout lines of the worker so far */
  int refused;          /* the worker broke the protocol or a cap: error says how */
  os_buf out_line, err_line;
  int err_fd;
  int started, exited, exit_code, term_signal, got_cleanup;
  int failed;                 /* the transport failed: error says how */
  char error[OS_ERR_CAP];
  int cancel_seen;
  int local;                  /* the worker's files are on this file system */
  double t_open, t_started, t_ended;
  /* subprocess */
  char *scratch;
  pid_t pid;
  int fd_out, fd_err;
  double term_sent_ms;
  /* e2b */
  e2_state e2;
};

/* ---------------------------------------------------------- helpers */

static osiris_json *rm_obj(void) { return js_alloc(OSIRIS_JSON_OBJECT); }

static int rm_env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

/* A cap from the host's process environment (never from a project's .env,
 * which travels with someone else's project), else dflt. */
static int64_t rm_env_cap(const char *name, int64_t dflt) {
  const char *v = getenv(name);
  char *end;
  long long n;
  if (!v || !*v) return dflt;
  errno = 0;
  n = strtoll(v, &end, 10);
  return errno || *end || n < 0 ? dflt : (int64_t)n;
}

static void rm_caps_load(rm_caps *c) {
  c->line_bytes = rm_env_cap("OSIRIS_REMOTE_MAX_LINE_BYTES", (int64_t)64 << 20);
  c->lines = rm_env_cap("OSIRIS_REMOTE_MAX_EVENTS", 10000000);
  c->file_bytes = rm_env_cap("OSIRIS_REMOTE_MAX_FILE_BYTES", (int64_t)64 << 30);
  c->total_bytes = rm_env_cap("OSIRIS_REMOTE_MAX_TOTAL_BYTES", (int64_t)256 << 30);
  c->files = rm_env_cap("OSIRIS_REMOTE_MAX_FILES", 100000);
}

/* The worker broke the protocol or a cap.  The first reason is the run's
 * (rm_conclude); the pumps stop reading and the worker is stopped. */
static void rm_refuse(rm_state *rs, const char *fmt, ...) OS_PRINTF(2, 3);
static void rm_refuse(rm_state *rs, const char *fmt, ...) {
  va_list ap;
  if (rs->refused) return;
  rs->refused = 1;
  va_start(ap, fmt);
  vsnprintf(rs->error, sizeof rs->error, fmt, ap);
  va_end(ap);
  ss_log(&rs->run->ss, 3, "remote: %s", rs->error);
}

/* A relative path the host may write below one of its own directories:
 * not empty, not absolute, no empty, "." or ".." component. */
static int rm_rel_ok(const char *rel) {
  const char *p = rel, *seg;
  if (!rel || !*rel || *rel == '/' || strlen(rel) > 4000) return 0;
  while (*p) {
    size_t n;
    seg = p;
    while (*p && *p != '/') p++;
    n = (size_t)(p - seg);
    if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) return 0;
    if (*p == '/' && !*++p) return 0; /* a trailing slash */
  }
  return 1;
}

/* "artifacts/<a step of the manifest>/<file...>": the only places under
 * the run directory that a worker's files and artifact events may name. */
static int rm_artifact_rel_ok(const rm_state *rs, const char *rel) {
  const char *step, *slash;
  size_t i;
  if (!rm_rel_ok(rel) || strncmp(rel, "artifacts/", 10) != 0) return 0;
  step = rel + 10;
  slash = strchr(step, '/');
  if (!slash || !rs->run->mf) return 0;
  for (i = 0; i < rs->run->mf->n_steps; i++) {
    const char *id = rs->run->mf->steps[i].id;
    if (strlen(id) == (size_t)(slash - step) && strncmp(id, step, (size_t)(slash - step)) == 0) return 1;
  }
  return 0;
}

/* osiris.h: https://, or http:// to a loopback host (localhost,
 * 127.0.0.0/8, [::1]).  Anything after the host (port, path) is not
 * looked at; user info ("http://127.0.0.1@evil/") is never loopback. */
int osiris_url_is_secure(const char *url) {
  const char *h, *end;
  size_t n, i;
  if (!url) return 0;
  if (strncmp(url, "https://", 8) == 0) return 1;
  if (strncmp(url, "http://", 7) != 0) return 0;
  h = url + 7;
  if (strncmp(h, "[::1]", 5) == 0) return h[5] == 0 || h[5] == ':' || h[5] == '/';
  for (end = h; *end && *end != ':' && *end != '/' && *end != '?' && *end != '@'; end++) {
  }
  if (*end == '@') return 0; /* user info: judge no further */
  n = (size_t)(end - h);
  if (n == 9 && strncmp(h, "localhost", 9) == 0) return 1;
  if (n < 4 || strncmp(h, "127.", 4) != 0) return 0;
  for (i = 4; i < n; i++)
    if (!(isdigit((unsigned char)h[i]) || h[i] == '.')) return 0;
  return 1;
}

/* Remove a directory tree (no symlinks followed). */
static void rm_rmtree(const char *path) {
  DIR *d;
  struct dirent *e;
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    unlink(path);
    return;
  }
  d = opendir(path);
  if (d) {
    while ((e = readdir(d)) != NULL) {
      char *child;
      if (os_streq(e->d_name, ".") || os_streq(e->d_name, "..")) continue;
      child = os_path_join(path, e->d_name);
      if (child) rm_rmtree(child);
      os_free(child);
    }
    closedir(d);
  }
  rmdir(path);
}

/* Copy what is readable from in (named src in messages) to dst: a new
 * file created exclusively beside dst (os_open_temp: the umask applies),
 * renamed over dst when complete, so dst is never a partial file and never
 * shares an inode with src.  mode, when not 0, is then set on the copy
 * (read-only inputs, the worker binary).  More than limit bytes fails
 * naming cap (the setting that sets the limit); limit < 0: none. */
static osiris_rc rm_copy_fd(int in, const char *src, const char *dst, mode_t mode, int64_t limit,
                            const char *cap, int64_t *bytes, os_err *err) {
  char buf[65536];
  char *dir = os_path_dirname(dst), *tmp = NULL;
  int out = -1;
  int64_t total = 0;
  osiris_rc rc = OSIRIS_OK;
  if (!dir) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_mkdir_p(dir, err);
  if (rc) goto done;
  out = os_open_temp(dst, &tmp, err);
  if (out < 0) {
    rc = err->rc;
    goto done;
  }
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf), off = 0;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = os_fail(err, OSIRIS_EIO, "cannot read %s: %s", src, strerror(errno));
      goto done;
    }
    if (r == 0) break;
    if (limit >= 0 && total + r > limit) {
      rc = os_fail(err, OSIRIS_ELIMIT, "%s is larger than %lld bytes (%s)", src, (long long)limit, cap);
      goto done;
    }
    while (off < r) {
      ssize_t w = write(out, buf + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
        goto done;
      }
      off += w;
    }
    total += r;
  }
  if ((mode && fchmod(out, mode) != 0) || close(out) != 0) {
    out = -1;
    rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
    goto done;
  }
  out = -1;
  if (rename(tmp, dst) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
    goto done;
  }
  if (bytes) *bytes = total;
done:
  if (out >= 0) close(out);
  if (rc && tmp) unlink(tmp);
  os_free(dir);
  os_free(tmp);
  return rc;
}

/* Copy a host file (an input, the worker binary) for a sandbox: always a
 * copy, never a link, so nothing the worker does reaches the original. */
static osiris_rc rm_copy(const char *src, const char *dst, mode_t mode, os_err *err) {
  osiris_rc rc;
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return os_fail(err, errno == ENOENT ? OSIRIS_ENOTFOUND : OSIRIS_EIO, "cannot read %s: %s", src,
                   strerror(errno));
  rc = rm_copy_fd(in, src, dst, mode, -1, NULL, NULL, err);
  close(in);
  return rc;
}

/* Open rel below the directory root for reading, refusing anything but a
 * regular file: no component may be a symbolic link (O_NOFOLLOW at every
 * level), and the file itself must not be a FIFO, device or socket.  The
 * size is checked against limit before a byte is read. */
static int rm_open_below(const char *root, const char *rel, int64_t limit, const char *cap, os_err *err) {
  char *copy = os_strdup(rel), *p, *slash;
  int dir = -1, fd = -1;
  struct stat st;
  if (!copy) {
    os_fail(err, OSIRIS_ENOMEM, "out of memory");
    return -1;
  }
  dir = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  for (p = copy; dir >= 0 && (slash = strchr(p, '/')) != NULL; p = slash + 1) {
    int next;
    *slash = 0;
    next = openat(dir, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    dir = next;
  }
  if (dir < 0) {
    os_fail(err, OSIRIS_EIO, "refused the sandbox file %s/%s: %s", root, rel,
            errno == ENOTDIR || errno == ELOOP ? "a directory on its path is not a regular directory"
                                                : strerror(errno));
    goto done;
  }
  fd = openat(dir, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    os_fail(err, errno == ENOENT ? OSIRIS_ENOTFOUND : OSIRIS_EIO, "refused the sandbox file %s/%s: %s",
            root, rel, errno == ELOOP ? "not a regular file (a symbolic link)" : strerror(errno));
    goto done;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    os_fail(err, OSIRIS_EIO, "refused the sandbox file %s/%s: not a regular file", root, rel);
    close(fd);
    fd = -1;
    goto done;
  }
  if (limit >= 0 && (int64_t)st.st_size > limit) {
    os_fail(err, OSIRIS_ELIMIT, "the sandbox file %s/%s is larger than %lld bytes (%s)", root, rel,
            (long long)limit, cap);
    close(fd);
    fd = -1;
  }
done:
  if (dir >= 0) close(dir);
  os_free(copy);
  return fd;
}

/* Every entry under dir that is not a directory (recursively), as full
 * paths: regular files, and also links, FIFOs and devices, which the
 * fetch then refuses by name instead of passing over them. */
static osiris_rc rm_walk(const char *dir, osiris_json *paths, int depth, os_err *err) {
  DIR *d;
  struct dirent *e;
  osiris_rc rc = OSIRIS_OK;
  struct stat top;
  if (depth > 32) return os_fail(err, OSIRIS_ELIMIT, "refused %s: directories nested too deep", dir);
  if (depth == 0 && lstat(dir, &top) == 0 && !S_ISDIR(top.st_mode))
    return os_fail(err, OSIRIS_EIO, "refused the sandbox file %s: not a regular directory", dir);
  d = opendir(dir);
  if (!d) return OSIRIS_OK; /* nothing there: no artifacts */
  while (!rc && (e = readdir(d)) != NULL) {
    struct stat st;
    char *child;
    if (os_streq(e->d_name, ".") || os_streq(e->d_name, "..")) continue;
    child = os_path_join(dir, e->d_name);
    if (!child) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      break;
    }
    if (lstat(child, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = rm_walk(child, paths, depth + 1, err);
      else if (js_push_str(paths, child))
        rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    }
    os_free(child);
  }
  closedir(d);
  return rc;
}

/* path minus "dir/" when path is below dir, else NULL (borrowed). */
static const char *rm_below(const char *path, const char *dir) {
  size_t n = strlen(dir);
  if (strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1]) return path + n + 1;
  return NULL;
}

static osiris_rc rm_add_map(rm_state *rs, const char *wpath, const char *hpath) {
  if (rs->n_maps == rs->cap_maps) {
    size_t cap = rs->cap_maps ? rs->cap_maps * 2 : 8;
    rm_map *m = os_realloc(rs->maps, cap * sizeof *m);
    if (!m) return OSIRIS_ENOMEM;
    rs->maps = m;
    rs->cap_maps = cap;
  }
  rs->maps[rs->n_maps].wpath = os_strdup(wpath);
  rs->maps[rs->n_maps].hpath = os_strdup(hpath);
  if (!rs->maps[rs->n_maps].wpath || !rs->maps[rs->n_maps].hpath) {
    os_free(rs->maps[rs->n_maps].wpath);
    os_free(rs->maps[rs->n_maps].hpath);
    return OSIRIS_ENOMEM;
  }
  rs->n_maps++;
  return OSIRIS_OK;
}

/* Where a file the worker wrote belongs on the host (owned), or NULL when
 * no step declared that path as an output (OSIRIS_KEY_OUTPUT_FILE): the
 * host computes every place it writes from its own manifest, never from a
 * path the worker names. */
static char *rm_host_path(rm_state *rs, const char *wpath) {
  size_t i;
  for (i = 0; i < rs->n_maps; i++)
    if (os_streq(rs->maps[i].wpath, wpath)) return os_strdup(rs->maps[i].hpath);
  return NULL;
}

/* A count the worker reports: never negative, never beyond 2^62; sums of
 * them saturate (os_sat_add). */
static int64_t rm_count(const osiris_json *v) {
  double d = osiris_json_num(v, 0);
  if (!(d > 0)) return 0; /* negative, zero, NaN */
  return d >= 4611686018427387904.0 ? INT64_C(4611686018427387904) : (int64_t)d;
}

static osiris_rc rm_rc_from_name(const char *name) {
  int i;
  for (i = 1; i <= OSIRIS_EUSAGE; i++)
    if (os_streq(name, osiris_rc_name((osiris_rc)i))) return (osiris_rc)i;
  return OSIRIS_EDRIVER;
}

static int rm_level(const char *name) {
  if (os_streq(name, "DEBUG")) return 0;
  if (os_streq(name, "WARNING")) return 2;
  if (os_streq(name, "ERROR")) return 3;
  return 1;
}

/* A transport event (not part of a local run). */
static void rm_event(rm_state *rs, const char *name, osiris_json *f) {
  if (!f) f = rm_obj();
  if (f && !osiris_json_get(f, "transport")) js_set_str(f, "transport", rs->tp->name);
  ss_event(&rs->run->ss, name, f);
}

/* ---------------------------------------------------------- worker lines */

/* A step the worker reports failed (ev), or that was running when the
 * worker was stopped (ev NULL), after the run's own bound fired here: as
 * in a local run, step_timeout first and ev's message saying so (kept as
 * the worker said it when memory ran out; the run says timed_out all the
 * same). */
static void rm_stopped_by_run_bound(rm_state *rs, size_t idx, osiris_json *ev) {
  osiris_run *run = rs->run;
  const char *id = run->mf->steps[idx].id;
  char msg[OS_ERR_CAP], src[64];
  osiris_json *f;
  /* the run's bound; or (ev NULL) the step's own, kept by the host when
   * the worker did not stop the step (rn_wd_arm_remote) */
  if (!__atomic_load_n(&run->timed_out, __ATOMIC_SEQ_CST) ||
      (run->timeout_step != (size_t)-1 && (ev || run->timeout_step != idx)))
    return;
  f = rm_obj();
  if (f) {
    js_set_str(f, "step_id", id);
    js_set_str(f, "bound", rn_timeout_source(run, src, sizeof src));
    if (run->timeout_fired_s == floor(run->timeout_fired_s))
      js_set_int(f, "timeout_s", (int64_t)run->timeout_fired_s);
    else
      js_set_double(f, "timeout_s", run->timeout_fired_s);
    js_set_int(f, "elapsed_ms", ev ? rm_count(osiris_json_get(ev, "duration_ms"))
                                   : (int64_t)(os_now_ms() - run->st[idx].start_ms));
  }
  rm_event(rs, "step_timeout", f);
  if (!ev) return;
  rn_timeout_text(run, msg, sizeof msg);
  {
    size_t l = strlen(msg);
    snprintf(msg + l, sizeof msg - l, ": step %s stopped", id);
  }
  js_set_str(ev, "error", msg);
}

static void rm_on_event(rm_state *rs, osiris_json *ev) {
  osiris_run *run = rs->run;
  const char *name = js_gets(ev, "event"), *sid = js_gets(ev, "step_id");
  size_t idx = sid && run->mf ? rn_step_index(run->mf, sid) : (size_t)-1;
  rn_state *st = idx == (size_t)-1 ? NULL : &run->st[idx];
  if (!name) return;
  if (os_streq(name, "output_written")) {
    const char *wpath = js_gets(ev, "path");
    char *hpath = wpath ? rm_host_path(rs, wpath) : NULL;
    size_t i;
    if (!hpath) {
      rm_refuse(rs, "refused the output '%s' that the worker reported: no step declares that file",
                wpath ? wpath : "(no path)");
      return;
    }
    for (i = 0; i < osiris_json_size(rs->outputs); i++)
      if (os_streq(osiris_json_str(osiris_json_at(rs->outputs, i)), wpath)) break;
    if (i == osiris_json_size(rs->outputs)) js_push_str(rs->outputs, wpath);
    js_set_str(ev, "path", hpath); /* what a local run reports */
    os_free(hpath);
  }
  if (os_streq(name, "artifact_created")) {
    const char *p = js_gets(ev, "path");
    if (!rm_artifact_rel_ok(rs, p)) {
      rm_refuse(rs, "refused the artifact '%s' that the worker reported: not below artifacts/<step>/ "
                "of this run", p ? p : "(no path)");
      return;
    }
  }
  if (!st) return;
  /* A step ends once: a second outcome is not believed. */
  if ((os_streq(name, "step_complete") || os_streq(name, "step_failed") ||
       os_streq(name, "step_skipped") || os_streq(name, "step_start")) &&
      (st->status == RN_SUCCESS || st->status == RN_FAILED || st->status == RN_SKIPPED)) {
    rm_refuse(rs, "refused the event %s for step %s: the step had already ended", name, sid);
    return;
  }
  if (os_streq(name, "step_complete") || os_streq(name, "step_failed") ||
      os_streq(name, "step_skipped"))
    rn_wd_disarm_remote(run, idx);
  if (os_streq(name, "step_start")) {
    st->status = RN_RUNNING;
    st->start_ms = os_now_ms();
    rn_mark(run, idx, 0);
    rn_wd_arm_remote(run, idx);
  } else if (os_streq(name, "step_timeout")) {
    /* The worker stopped a step at its own bound (the worker enforces
     * steps[i].timeout; the host the run's).  Believed for a running
     * step that has a bound in the host's manifest, with that bound. */
    char src[64];
    snprintf(src, sizeof src, "steps[%zu].timeout", idx);
    if (st->status == RN_RUNNING && run->mf->steps[idx].timeout_s > 0 &&
        os_streq(js_gets(ev, "bound"), src))
      rn_note_timeout(run, idx);
  } else if (os_streq(name, "step_complete")) {
    st->status = RN_SUCCESS;
    st->duration_ms = (double)rm_count(osiris_json_get(ev, "duration_ms"));
    rn_mark(run, idx, 1);
    run->steps_completed++;
  } else if (os_streq(name, "step_failed")) {
    const char *msg;
    osiris_rc rc = rm_rc_from_name(js_gets(ev, "error_type"));
    if (st->status == RN_RUNNING) rm_stopped_by_run_bound(rs, idx, ev);
    msg = js_gets(ev, "error");
    rn_mark(run, idx, 1);
    st->status = RN_FAILED;
    st->duration_ms = (double)rm_count(osiris_json_get(ev, "duration_ms"));
    os_free(st->error);
    st->error = os_strdup(msg ? msg : "step failed");
    st->error_rc = rc;
    rn_set_error(run, rc, sid, rc == OSIRIS_ECONN ? "connection_failed" : "execution_failed",
                 msg ? msg : "step failed");
  } else if (os_streq(name, "step_skipped")) {
    st->status = RN_SKIPPED;
  } else if (os_streq(name, "rows_out")) {
    st->rows_out = rm_count(osiris_json_get(ev, "rows"));
    st->had_frame = 1;
  } else if (os_streq(name, "inputs_resolved") || os_streq(name, "stream_complete")) {
    st->rows_in = os_sat_add(st->rows_in, rm_count(osiris_json_get(ev, "rows")));
  } else if (os_streq(name, "artifact_created")) {
    const char *p = js_gets(ev, "path");
    if (p) js_push_str(st->artifacts, p);
    /* A spilled frame: run_card.json reports it as a local run does. */
    if (p && os_streq(js_gets(ev, "artifact_type"), "parquet") && !st->spill_path)
      st->spill_path = os_path_join(run->ss.dir, p);
  }
}

static void rm_on_metric(rm_state *rs, const osiris_json *m) {
  osiris_run *run = rs->run;
  const char *name = js_gets(m, "metric");
  const char *sid = js_gets(osiris_json_get(m, "tags"), "step_id");
  size_t idx = sid && run->mf ? rn_step_index(run->mf, sid) : (size_t)-1;
  const osiris_driver *d;
  const char *modes;
  int64_t v;
  if (idx == (size_t)-1 || !name) return;
  d = osiris_driver_find(run->ctx, run->mf->steps[idx].driver);
  modes = d && d->modes ? d->modes : "extract write";
  v = rm_count(osiris_json_get(m, "value"));
  /* the same edge rule as osiris_step_metric */
  if (os_streq(name, "rows_read") && strstr(modes, "extract"))
    run->st[idx].rows_read = os_sat_add(run->st[idx].rows_read, v);
  if (os_streq(name, "rows_written") && strstr(modes, "write"))
    run->st[idx].rows_written = os_sat_add(run->st[idx].rows_written, v);
}

static void rm_write_obj(rm_state *rs, int fd, const osiris_json *v) {
  os_buf b = {0};
  if (!js_dump(&b, v, 0) && !ob_putc(&b, '\n')) ss_write_line(&rs->run->ss, fd, b.p, b.len);
  ob_free(&b);
}

/* One complete stdout line of the worker.  An event or metric line is
 * {"type":"event",<the local line's members>}; the prefix is cut off
 * textually, so an event's own "type" field (output_written) survives. */
static void rm_line(rm_state *rs, const char *line, size_t n) {
  static const char ev_pre[] = "{\"type\":\"event\",", me_pre[] = "{\"type\":\"metric\",";
  osiris_run *run = rs->run;
  osiris_json *v = NULL;
  os_err err = {0};
  os_buf own = {0};
  const char *type;
  int stripped = 0;
  while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
  if (n == 0 || rs->refused) return;
  if (++rs->n_lines > rs->caps.lines) {
    rm_refuse(rs, "the worker printed more than %lld lines (OSIRIS_REMOTE_MAX_EVENTS)",
              (long long)rs->caps.lines);
    return;
  }
  if ((n > sizeof ev_pre && memcmp(line, ev_pre, sizeof ev_pre - 1) == 0) ||
      (n > sizeof me_pre && memcmp(line, me_pre, sizeof me_pre - 1) == 0)) {
    size_t cut = line[9] == 'e' ? sizeof ev_pre - 1 : sizeof me_pre - 1;
    stripped = line[9] == 'e' ? 1 : 2;
    if (ob_putc(&own, '{') || ob_put(&own, line + cut, n - cut)) goto done;
    line = own.p;
    n = own.len;
  }
  if (js_parse(line, n, "worker stdout", &v, &err) || osiris_json_kind_of(v) != OSIRIS_JSON_OBJECT) {
    ss_log(&run->ss, 2, "worker: unreadable output line (%zu bytes)", n);
    goto done;
  }
  type = stripped == 1 ? "event" : stripped == 2 ? "metric" : js_gets(v, "type");
  if (!stripped && js_gets(v, "event") && js_gets(v, "ts") &&
      !os_streq(type, "event") && !os_streq(type, "log") && !os_streq(type, "response")) {
    /* an older worker: the event's own "type" overwrote "event"; keep it,
     * after the fields it follows in a local line */
    char *own_type = os_strdup(type);
    osiris_json_remove(v, "type");
    if (own_type) js_set_str(v, "type", own_type);
    os_free(own_type);
    stripped = 1;
    type = "event";
    if (os_streq(js_gets(v, "event"), "output_written")) { /* step_id, path, type, rows, size_bytes */
      osiris_json *rows = osiris_json_copy(osiris_json_get(v, "rows"));
      osiris_json *size = osiris_json_copy(osiris_json_get(v, "size_bytes"));
      osiris_json_remove(v, "rows");
      osiris_json_remove(v, "size_bytes");
      if (rows) osiris_json_set(v, "rows", rows);
      if (size) osiris_json_set(v, "size_bytes", size);
    }
  }
  if (os_streq(type, "event")) {
    if (!stripped) osiris_json_remove(v, "type");
    rm_on_event(rs, v);
    if (!rs->refused) rm_write_obj(rs, run->ss.events_fd, v);
  } else if (os_streq(type, "metric")) {
    if (!stripped) osiris_json_remove(v, "type");
    rm_on_metric(rs, v);
    rm_write_obj(rs, run->ss.metrics_fd, v);
  } else if (os_streq(type, "log")) {
    const char *msg = js_gets(v, "message");
    ss_log(&run->ss, rm_level(js_gets(v, "level")), "%s", msg ? msg : "");
  } else if (os_streq(type, "response")) {
    const char *cmd = js_gets(v, "cmd");
    int ok = osiris_json_bool(osiris_json_get(v, "ok"), 0);
    const char *e = js_gets(v, "error");
    if (os_streq(cmd, "cleanup")) rs->got_cleanup = 1;
    if (ok && os_streq(cmd, "prepare") && osiris_json_get(v, "jobs")) /* for the run card */
      run->jobs = (int)osiris_json_int(osiris_json_get(v, "jobs"), run->jobs);
    if (!ok && (os_streq(cmd, "prepare") || os_streq(cmd, "") || !cmd)) {
      rn_set_error(run, OSIRIS_EINVAL, NULL, "preflight_failed", e ? e : "the worker refused prepare");
    } else if (!ok && os_streq(cmd, "exec_step") && e &&
               (os_streq(e, "not prepared") || os_streq(e, "unknown step"))) {
      rn_set_error(run, OSIRIS_EUSAGE, js_gets(v, "step_id"), "worker_failed", e);
    } else if (!ok && os_streq(cmd, "reuse_step")) {
      rn_set_error(run, OSIRIS_EIO, js_gets(v, "step_id"), "worker_failed",
                   e ? e : "the worker refused a reused step");
    }
  } else {
    ss_log(&run->ss, 2, "worker: line of unknown type '%s'", type ? type : "");
  }
done:
  ob_free(&own);
  osiris_json_free(v);
}

static void rm_stderr_line(rm_state *rs, const char *line, size_t n) {
  ss_session *ss = &rs->run->ss;
  int fd = ss->debug_fd;
  if (fd < 0) {
    if (rs->err_fd < 0) rs->err_fd = ss_open(ss->dir, "debug.log");
    fd = rs->err_fd;
  }
  if (fd >= 0) {
    char *l = os_asprintf("worker stderr: %.*s\n", (int)n, line);
    if (l) ss_write_line(ss, fd, l, strlen(l));
    os_free(l);
  }
}

/* Bytes of the worker's stdout (stream 0) or stderr (1), split anywhere.
 * Not OSIRIS_OK once the worker broke the protocol or a cap (rs->error
 * says how): the caller stops reading. */
static osiris_rc rm_feed(rm_state *rs, int stream, const char *p, size_t n) {
  os_buf *b = stream ? &rs->err_line : &rs->out_line;
  size_t i, start = 0;
  for (i = 0; i < n && !rs->refused; i++) {
    if (p[i] != '\n') continue;
    if ((int64_t)(b->len + (i - start)) > rs->caps.line_bytes) {
      rm_refuse(rs, "the worker wrote a line longer than %lld bytes (OSIRIS_REMOTE_MAX_LINE_BYTES)",
                (long long)rs->caps.line_bytes);
      break;
    }
    if (b->len) {
      if (ob_put(b, p + start, i - start)) return OSIRIS_ENOMEM;
      if (stream)
        rm_stderr_line(rs, b->p, b->len);
      else
        rm_line(rs, b->p, b->len);
      b->len = 0;
    } else if (stream) {
      rm_stderr_line(rs, p + start, i - start);
    } else {
      rm_line(rs, p + start, i - start);
    }
    start = i + 1;
  }
  if (!rs->refused && start < n) {
    if ((int64_t)(b->len + (n - start)) > rs->caps.line_bytes)
      rm_refuse(rs, "the worker wrote a line longer than %lld bytes (OSIRIS_REMOTE_MAX_LINE_BYTES)",
                (long long)rs->caps.line_bytes);
    else if (ob_put(b, p + start, n - start))
      rm_refuse(rs, "out of memory reading the worker's output");
  }
  return rs->refused ? OSIRIS_ELIMIT : OSIRIS_OK;
}

/* A last line without its newline still counts. */
static void rm_flush(rm_state *rs) {
  if (rs->refused) rs->out_line.len = rs->err_line.len = 0;
  if (rs->out_line.len) rm_line(rs, rs->out_line.p, rs->out_line.len);
  if (rs->err_line.len) rm_stderr_line(rs, rs->err_line.p, rs->err_line.len);
  rs->out_line.len = rs->err_line.len = 0;
}

/* ---------------------------------------------------------- package */

static osiris_rc rm_add_secret_env(rm_state *rs, const char *value, osiris_json **ref) {
  char name[64], refs[80];
  size_t n = osiris_json_size(rs->envs);
  snprintf(name, sizeof name, "OSIRIS_SECRET_%zu", n);
  snprintf(refs, sizeof refs, "${%s}", name);
  if (js_set_str(rs->envs, name, value)) return OSIRIS_ENOMEM;
  *ref = osiris_json_new_str(refs, strlen(refs));
  return *ref ? OSIRIS_OK : OSIRIS_ENOMEM;
}

/* A copy of one connection entry for the worker: every string resolved on
 * the host; secret values (and anything still holding "${") replaced by a
 * reference to an environment variable only the worker process gets.  A
 * field whose variable is unset stays a reference to that variable, so the
 * worker fails with the same message a local run gives. */
static osiris_json *rm_conn_copy(rm_state *rs, const osiris_json *v, const char *key, int depth,
                                 osiris_rc *rc) {
  osiris_json *out = NULL;
  size_t i;
  if (depth > 32) {
    *rc = OSIRIS_ELIMIT;
    return NULL;
  }
  if (v->kind == OSIRIS_JSON_OBJECT || v->kind == OSIRIS_JSON_ARRAY) {
    out = js_alloc(v->kind);
    if (!out) goto oom;
    for (i = 0; i < v->u.c.n; i++) {
      const char *k = v->kind == OSIRIS_JSON_OBJECT ? v->u.c.keys[i] : key;
      osiris_json *c = rm_conn_copy(rs, v->u.c.items[i], k, depth + 1, rc);
      if (!c) {
        osiris_json_free(out);
        return NULL;
      }
      *rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, k, c) : osiris_json_push(out, c);
      if (*rc) {
        osiris_json_free(out);
        return NULL;
      }
    }
    return out;
  }
  if (v->kind != OSIRIS_JSON_STRING) {
    out = osiris_json_copy(v);
    if (!out) goto oom;
    return out;
  }
  {
    os_buf val = {0};
    char *missing = NULL;
    osiris_rc s = cn_subst_str(rs->run->ctx, v->u.s.ptr, v->u.s.len, &val, &missing);
    const char *text = val.p ? val.p : "";
    if (s == OSIRIS_ECONN) {
      char *r = os_asprintf("${%s}", missing);
      out = r ? osiris_json_new_str(r, strlen(r)) : NULL;
      os_free(r);
      os_free(missing);
    } else if (s) {
      ob_free(&val);
      *rc = s;
      return NULL;
    } else if ((key && mk_is_masked_key(key)) || strstr(text, "://") || strstr(text, "${") ||
               strchr(text, '\n')) {
      /* URLs may carry a password; "${" would be expanded twice. */
      *rc = ss_add_secret(&rs->run->ss, text);
      if (!*rc) *rc = ss_add_url_password(&rs->run->ss, text);
      if (!*rc) *rc = rm_add_secret_env(rs, text, &out);
      if (*rc) {
        ob_free(&val);
        return NULL;
      }
    } else {
      out = osiris_json_new_str(text, strlen(text));
    }
    if (val.p) memset(val.p, 0, val.len);
    ob_free(&val);
    if (!out) goto oom;
    return out;
  }
oom:
  *rc = OSIRIS_ENOMEM;
  return NULL;
}

/* 1 when some step of the run may resolve a connection of `family`: its
 * driver's family, or the family of an explicit "@family.alias" in its
 * cfg.  Only those families travel to the worker (least privilege). */
static int rm_family_used(osiris_ctx *ctx, const mf_manifest *mf, const char *family) {
  size_t i;
  for (i = 0; i < mf->n_steps; i++) {
    const mf_step *ms = &mf->steps[i];
    const osiris_driver *d = osiris_driver_find(ctx, ms->driver);
    char *cfg_path = os_path_join(mf->dir, ms->cfg_path);
    osiris_json *cfg = NULL;
    os_err err = {0};
    char fam[128] = "", alias[128] = "";
    int used = d && os_streq(d->family, family);
    if (!used && cfg_path && js_read_file(cfg_path, &cfg, &err) == OSIRIS_OK && js_gets(cfg, "connection") &&
        cn_parse_ref(js_gets(cfg, "connection"), fam, sizeof fam, alias, sizeof alias))
      used = os_streq(fam, family);
    osiris_json_free(cfg);
    os_free(cfg_path);
    if (used) return 1;
  }
  return 0;
}

/* 1 when a driver of `family` declares `key` a connection field naming an
 * input file (OSIRIS_KEY_CONN | OSIRIS_KEY_INPUT_FILE: a TLS CA,
 * certificate or key file). */
static int rm_conn_file_key(const osiris_ctx *ctx, const char *family, const char *key) {
  size_t i;
  for (i = 0; i < osiris_driver_count(ctx); i++) {
    const osiris_driver *d = osiris_driver_at(ctx, i, NULL);
    const osiris_config_key *k;
    if (!d || !os_streq(d->family, family)) continue;
    for (k = d->keys; k && k->name; k++)
      if ((k->flags & OSIRIS_KEY_CONN) && (k->flags & OSIRIS_KEY_INPUT_FILE) && os_streq(k->name, key))
        return 1;
  }
  return 0;
}

/* One file a connection names: connection `fi`.`ai` (family, alias) of
 * the connections object, its field key, the value as written and the host
 * path (${VAR} expanded; relative to the project). */
typedef struct rm_conn_file {
  size_t fi, ai;
  const char *family, *alias, *key, *path, *host;
} rm_conn_file;
typedef osiris_rc (*rm_conn_file_fn)(void *user, const rm_conn_file *f, os_err *err);

/* fn for each file the connections object {family: {alias: {fields}}}
 * names, as its families' drivers declare them.  A value whose variable is
 * unset is skipped: the worker reports it, as a local run does. */
static osiris_rc rm_each_conn_file(osiris_ctx *ctx, const osiris_json *conns, rm_conn_file_fn fn,
                                   void *user, os_err *err) {
  size_t fi, ai, ki;
  osiris_rc rc = OSIRIS_OK;
  for (fi = 0; fi < osiris_json_size(conns) && !rc; fi++) {
    const osiris_json *fam = osiris_json_at(conns, fi);
    for (ai = 0; osiris_json_kind_of(fam) == OSIRIS_JSON_OBJECT && ai < osiris_json_size(fam) && !rc; ai++) {
      const osiris_json *c = osiris_json_at(fam, ai);
      for (ki = 0; osiris_json_kind_of(c) == OSIRIS_JSON_OBJECT && ki < osiris_json_size(c) && !rc; ki++) {
        const osiris_json *v = osiris_json_at(c, ki);
        os_buf val = {0};
        char *missing = NULL, *host;
        rm_conn_file f;
        if (v->kind != OSIRIS_JSON_STRING || !v->u.s.len ||
            !rm_conn_file_key(ctx, osiris_json_key_at(conns, fi), osiris_json_key_at(c, ki)))
          continue;
        rc = cn_subst_str(ctx, v->u.s.ptr, v->u.s.len, &val, &missing);
        os_free(missing);
        if (rc == OSIRIS_ECONN) {
          rc = OSIRIS_OK;
          ob_free(&val);
          continue;
        }
        host = !rc ? os_path_abs(ctx->base_dir, val.p ? val.p : "") : NULL;
        if (!rc && !host) rc = OSIRIS_ENOMEM;
        if (rc) {
          ob_free(&val);
          return os_fail(err, rc, "cannot resolve the connections' files (%s)", osiris_rc_name(rc));
        }
        f.fi = fi;
        f.ai = ai;
        f.family = osiris_json_key_at(conns, fi);
        f.alias = osiris_json_key_at(fam, ai);
        f.key = osiris_json_key_at(c, ki);
        f.path = v->u.s.ptr;
        f.host = host;
        rc = fn(user, &f, err);
        os_free(host);
        ob_free(&val);
      }
    }
  }
  return rc;
}

/* Ship one connection file into the package as
 * _files/conn/<family #>/<alias #>/<key>/<name> (read-only; indices, not
 * names, so no alias can shape the path) and point the worker's copy of
 * the field at it.  A missing file is left as written: the worker fails
 * with the message a local run gives. */
typedef struct rm_conn_ship {
  rm_state *rs;
  osiris_json *copy; /* the worker's connections */
} rm_conn_ship;

static osiris_rc rm_ship_conn_file(void *user, const rm_conn_file *f, os_err *err) {
  rm_conn_ship *cs = user;
  rm_state *rs = cs->rs;
  osiris_json *c = (osiris_json *)osiris_json_get(osiris_json_get(cs->copy, f->family), f->alias);
  char *rel, *pkg, *wpath;
  osiris_rc rc;
  if (!os_is_file(f->host) || !c) return OSIRIS_OK;
  rel = os_asprintf("_files/conn/%zu/%zu/%s/%s", f->fi, f->ai, f->key, os_path_basename(f->host));
  pkg = rel ? os_path_join(rs->pkg_dir, rel) : NULL;
  wpath = rel ? os_path_join(rs->wdir, rel) : NULL;
  if (!rel || !pkg || !wpath) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  } else {
    rc = rm_copy(f->host, pkg, 0400, err);
    if (!rc && (js_push_str(rs->files, rel) || js_set_str(c, f->key, wpath)))
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  os_free(rel);
  os_free(pkg);
  os_free(wpath);
  return rc;
}

static osiris_rc rm_write_connections(rm_state *rs, os_err *err) {
  char *path = NULL, *dst = NULL;
  osiris_json *doc = NULL, *copy = NULL, *top = NULL, *used = NULL;
  const osiris_json *conns;
  size_t i;
  os_buf b = {0};
  os_err ferr = {0};
  osiris_rc rc;
  if (cn_load_file(rs->run->ctx, &path, &doc, &conns, &ferr)) {
    /* No file (or a broken one): the worker finds none either and says so
     * when a step needs a connection. */
    ss_log(&rs->run->ss, 0, "remote: no connections shipped (%s)", ferr.msg);
    return OSIRIS_OK;
  }
  rc = OSIRIS_OK;
  used = rm_obj();
  for (i = 0; used && i < osiris_json_size(conns); i++)
    if (rm_family_used(rs->run->ctx, rs->run->mf, osiris_json_key_at(conns, i)) &&
        osiris_json_set(used, osiris_json_key_at(conns, i), osiris_json_copy(osiris_json_at(conns, i))))
      rc = OSIRIS_ENOMEM;
  copy = used && !rc ? rm_conn_copy(rs, used, NULL, 0, &rc) : NULL;
  top = rm_obj();
  if (!copy || !top) {
    if (!rc) rc = OSIRIS_ENOMEM;
    rc = os_fail(err, rc, "cannot prepare the connections for the worker (%s)", osiris_rc_name(rc));
    goto done;
  }
  {
    rm_conn_ship cs = {rs, copy};
    rc = rm_each_conn_file(rs->run->ctx, used, rm_ship_conn_file, &cs, err);
    if (rc) goto done;
  }
  if (osiris_json_set(top, "connections", copy)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  copy = NULL;
  rc = ym_emit(&b, top, 0);
  if (rc) {
    rc = os_fail(err, rc, "cannot write the worker's connections file");
    goto done;
  }
  dst = os_path_join(rs->pkg_dir, CN_FILE_NAME);
  if (!dst) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_write_file(dst, b.p ? b.p : "", b.len, err);
  if (!rc && js_push_str(rs->files, CN_FILE_NAME)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(path);
  os_free(dst);
  osiris_json_free(doc);
  osiris_json_free(copy);
  osiris_json_free(top);
  osiris_json_free(used);
  ob_free(&b);
  return rc;
}

/* The files a step's cfg names through the keys its driver declares
 * (OSIRIS_KEY_INPUT_FILE, OSIRIS_KEY_OUTPUT_FILE): the key, the path as
 * the pipeline wrote it, the base_dir of the step's connection (NULL:
 * none) and the host path, where a relative path resolves against that
 * base_dir (itself relative to the project) or the project.  The
 * packager and `run --dry-run` both walk them here, so the plan shows
 * what a package holds. */
typedef struct rm_file {
  const osiris_config_key *key;
  const char *path, *cbase, *host;
} rm_file;
typedef osiris_rc (*rm_file_fn)(void *user, const rm_file *f, os_err *err);

/* fn for each such file; OSIRIS_ECONN (err untouched) when the step's
 * connection does not resolve: the worker reports that at the step. */
static osiris_rc rm_each_step_file(osiris_ctx *ctx, const osiris_driver *d, const osiris_json *cfg,
                                   rm_file_fn fn, void *user, os_err *err) {
  const osiris_config_key *k;
  osiris_json *conn = NULL;
  const char *ref = js_gets(cfg, "connection"), *cbase = NULL;
  osiris_rc rc = OSIRIS_OK;
  if (ref) {
    os_err cerr = {0};
    if (cn_resolve(ctx, ref, d->family, &conn, NULL, &cerr)) return OSIRIS_ECONN;
    cbase = js_gets(conn, "base_dir");
  }
  for (k = d->keys; k && k->name && !rc; k++) {
    const char *path = js_gets(cfg, k->name);
    char *base = NULL, *host;
    rm_file f;
    if (!(k->flags & (OSIRIS_KEY_INPUT_FILE | OSIRIS_KEY_OUTPUT_FILE)) || !path || !*path) continue;
    if (path[0] != '/' && cbase && *cbase && !(base = os_path_abs(ctx->base_dir, cbase))) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      break;
    }
    host = os_path_abs(base ? base : ctx->base_dir, path);
    f.key = k;
    f.path = path;
    f.cbase = cbase;
    f.host = host;
    rc = host ? fn(user, &f, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(base);
    os_free(host);
  }
  osiris_json_free(conn);
  return rc;
}

/* One file a step's config names (key k, value path): where the worker
 * finds it.  A clean relative path inside the host's base directory (also
 * under a relative connection base_dir) keeps its relative place, so the
 * cfg is unchanged; anything else (absolute, outside, "..", under an
 * absolute base_dir) becomes <wdir>/_files/<step>/<key>/<name>, set in the
 * package copy of the cfg only (*changed).  An input is copied into the
 * package, read-only; an output is recorded as a path the host accepts. */
typedef struct rm_pkg_step {
  rm_state *rs;
  size_t i;         /* the step */
  osiris_json *cfg; /* the package's copy */
  int changed;      /* a path in cfg was rewritten */
} rm_pkg_step;

static osiris_rc rm_package_file(void *user, const rm_file *f, os_err *err) {
  rm_pkg_step *ps = user;
  rm_state *rs = ps->rs;
  osiris_run *run = rs->run;
  const osiris_config_key *k = f->key;
  const char *path = f->path, *cbase = f->cbase, *host = f->host;
  char *wpath = NULL, *rel = NULL, *pkg = NULL;
  osiris_rc rc = OSIRIS_OK;
  /* Unchanged, the worker resolves a relative path (and a relative
   * base_dir) against its session directory: the same relative place. */
  if (path[0] != '/' && rm_rel_ok(path) && !(cbase && cbase[0] == '/') &&
      rm_below(host, run->ctx->base_dir))
    rel = os_strdup(rm_below(host, run->ctx->base_dir));
  else
    rel = os_asprintf("_files/%zu/%s/%s", ps->i, k->name, os_path_basename(host));
  wpath = rel ? os_path_join(rs->wdir, rel) : NULL;
  pkg = rel ? os_path_join(rs->pkg_dir, rel) : NULL;
  if (!rel || !wpath || !pkg) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if ((k->flags & OSIRIS_KEY_INPUT_FILE) && os_is_file(host)) {
    rc = rm_copy(host, pkg, 0444, err);
    if (rc) goto done;
    if (js_push_str(rs->files, rel)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  if ((k->flags & OSIRIS_KEY_OUTPUT_FILE) && rm_add_map(rs, wpath, host)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (strncmp(rel, "_files/", 7) == 0) {
    if (js_set_str(ps->cfg, k->name, wpath)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    ps->changed = 1;
  }
done:
  os_free(wpath);
  os_free(rel);
  os_free(pkg);
  return rc;
}

/* A step's cfg for the package: the files its driver declares
 * (rm_each_step_file) through rm_package_file; the engine knows no driver
 * by name. */
static osiris_rc rm_package_cfg(rm_state *rs, size_t i, os_err *err) {
  osiris_run *run = rs->run;
  const mf_step *ms = &run->mf->steps[i];
  const osiris_driver *d = osiris_driver_find(run->ctx, ms->driver);
  const osiris_config_key *k;
  char *name = os_asprintf("cfg/%s.json", ms->id);
  char *src = name ? os_path_join(run->ss.dir, name) : NULL;
  char *dst = name ? os_path_join(rs->pkg_dir, name) : NULL;
  rm_pkg_step ps = {rs, i, NULL, 0};
  int files = 0;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  if (!name || !src || !dst) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (k = d ? d->keys : NULL; k && k->name; k++)
    if (k->flags & (OSIRIS_KEY_INPUT_FILE | OSIRIS_KEY_OUTPUT_FILE)) files = 1;
  if (!files || js_read_file(src, &ps.cfg, err)) goto copy;
  rc = rm_each_step_file(run->ctx, d, ps.cfg, rm_package_file, &ps, err);
  if (rc == OSIRIS_ECONN) goto copy; /* the worker reports it */
  if (rc) goto done;
  if (!ps.changed) goto copy;
  if (js_dump(&b, ps.cfg, OSIRIS_JSON_PRETTY) || ob_putc(&b, '\n')) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_write_file(dst, b.p, b.len, err);
  if (!rc && js_push_str(rs->files, name)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  goto done;
copy:
  err->msg[0] = 0;
  rc = os_copy_file(src, dst, err);
  if (!rc && js_push_str(rs->files, name)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(name);
  os_free(src);
  os_free(dst);
  osiris_json_free(ps.cfg);
  ob_free(&b);
  return rc;
}

/* commands.jsonl: ping, prepare, reuse_step per step a --resume carries
 * over, exec_step per other step in run order, cleanup. */
static osiris_rc rm_commands(rm_state *rs, os_buf *out) {
  osiris_run *run = rs->run;
  osiris_json *c;
  size_t i, k, n = 0, *seq = os_calloc(run->mf->n_steps + 1, sizeof *seq);
  osiris_rc rc = OSIRIS_OK;
  if (!seq) return OSIRIS_ENOMEM;
  /* reused steps first: with jobs > 1 the first exec_step runs every
   * step still pending, and a reused one must not be among them */
  for (k = 0; k < 2; k++)
    for (i = 0; i < run->mf->n_steps; i++)
      if ((run->st[run->order[i]].status == RN_SUCCESS) == (k == 0)) seq[n++] = run->order[i];
  for (i = 0; i < run->mf->n_steps + 3 && !rc; i++) {
    c = rm_obj();
    if (!c) {
      os_free(seq);
      return OSIRIS_ENOMEM;
    }
    if (i == 0) {
      rc = js_set_str(c, "cmd", "ping");
    } else if (i == 1) {
      rc = js_set_str(c, "cmd", "prepare");
      if (!rc) rc = js_set_str(c, "session_id", run->ss.id);
      if (!rc) rc = js_set_str(c, "manifest", "manifest.yaml");
      if (!rc) rc = js_set_int(c, "jobs", run->jobs); /* 0: the worker's cores */
      if (!rc && run->resumable) rc = js_set_bool(c, "resumable", 1);
    } else if (i == run->mf->n_steps + 2) {
      rc = js_set_str(c, "cmd", "cleanup");
    } else if (run->st[seq[i - 2]].status == RN_SUCCESS) {
      /* --resume: done in the resumed run; the worker takes its output */
      size_t idx = seq[i - 2];
      rn_state *st = &run->st[idx];
      rc = js_set_str(c, "cmd", "reuse_step");
      if (!rc) rc = js_set_str(c, "step_id", run->mf->steps[idx].id);
      if (!rc) rc = js_set_int(c, "rows_in", st->rows_in);
      if (!rc) rc = js_set_int(c, "rows_out", st->rows_out);
      if (!rc && st->spill_path) {
        char *rel = os_asprintf("_resume/%s/output.parquet", run->mf->steps[idx].id);
        rc = rel ? js_set_str(c, "output", rel) : OSIRIS_ENOMEM;
        os_free(rel);
      }
    } else {
      size_t idx = seq[i - 2];
      const mf_step *ms = &run->mf->steps[idx];
      osiris_json *inputs = rm_obj();
      char *cfgp = os_asprintf("cfg/%s.json", ms->id);
      rc = !inputs || !cfgp ? OSIRIS_ENOMEM : OSIRIS_OK;
      for (k = 0; !rc && k < ms->n_needs; k++) {
        size_t up = rn_step_index(run->mf, ms->needs[k]);
        osiris_json *in = rm_obj();
        if (!in || up == (size_t)-1) {
          osiris_json_free(in);
          continue;
        }
        rc = js_set_str(in, "from_step", ms->needs[k]);
        if (!rc) rc = js_set_str(in, "key", run->st[up].input_key);
        if (!rc) rc = osiris_json_set(inputs, run->st[up].input_key, in);
        else osiris_json_free(in);
      }
      if (!rc) rc = js_set_str(c, "cmd", "exec_step");
      if (!rc) rc = js_set_str(c, "step_id", ms->id);
      if (!rc) rc = js_set_str(c, "driver", ms->driver);
      if (!rc) rc = js_set_str(c, "cfg_path", cfgp);
      if (!rc) {
        rc = osiris_json_set(c, "inputs", inputs);
        inputs = NULL;
      }
      osiris_json_free(inputs);
      os_free(cfgp);
    }
    if (!rc) rc = js_dump(out, c, 0);
    if (!rc) rc = ob_putc(out, '\n');
    osiris_json_free(c);
  }
  os_free(seq);
  return rc;
}

static osiris_rc rm_build_package(rm_state *rs, os_err *err) {
  osiris_run *run = rs->run;
  char *p = NULL;
  os_buf cmds = {0};
  size_t i;
  osiris_rc rc;
  p = os_path_join(rs->pkg_dir, "cfg");
  rc = p ? os_mkdir_p(p, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  os_free(p);
  p = NULL;
  if (rc) goto done;
  {
    char *src = os_path_join(run->ss.dir, "manifest.yaml");
    p = os_path_join(rs->pkg_dir, "manifest.yaml");
    rc = src && p ? os_copy_file(src, p, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(src);
    os_free(p);
    p = NULL;
    if (!rc && js_push_str(rs->files, "manifest.yaml")) rc = OSIRIS_ENOMEM;
    if (rc) goto done;
  }
  for (i = 0; i < run->mf->n_steps; i++) {
    rc = rm_package_cfg(rs, i, err);
    if (rc) goto done;
  }
  for (i = 0; i < run->mf->n_steps; i++) {
    /* --resume: a reused step's saved output, outside artifacts/ so that
     * it is not brought back (the host has it) */
    char *rel;
    if (run->st[i].status != RN_SUCCESS || !run->st[i].spill_path) continue;
    rel = os_asprintf("_resume/%s/output.parquet", run->mf->steps[i].id);
    p = rel ? os_path_join(rs->pkg_dir, rel) : NULL;
    rc = p ? rm_copy(run->st[i].spill_path, p, 0444, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    if (!rc && js_push_str(rs->files, rel)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(rel);
    os_free(p);
    p = NULL;
    if (rc) goto done;
  }
  rc = rm_write_connections(rs, err);
  if (rc) goto done;
  rc = rm_commands(rs, &cmds);
  if (rc) {
    rc = os_fail(err, rc, "cannot write commands.jsonl");
    goto done;
  }
  p = os_path_join(rs->pkg_dir, "commands.jsonl");
  rc = p ? os_write_file(p, cmds.p, cmds.len, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  os_free(p);
  p = NULL;
  if (!rc && js_push_str(rs->files, "commands.jsonl")) rc = OSIRIS_ENOMEM;
  if (rc) goto done;
  /* The seed keeps the batch in the run directory too. */
  p = os_path_join(run->ss.dir, "commands.jsonl");
  rc = p ? os_write_file(p, cmds.p, cmds.len, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(p);
  ob_free(&cmds);
  return rc;
}

/* ---------------------------------------------------------- subprocess */

/* The worker binary: $OSIRIS_WORKER, else osiris-worker next to us. */
static char *rm_worker_binary(os_err *err) {
  const char *env = getenv("OSIRIS_WORKER");
  char self[PATH_MAX];
  ssize_t n;
  char *dir, *path;
  if (env && *env) {
    if (!os_is_file(env)) {
      os_fail(err, OSIRIS_ENOTFOUND, "OSIRIS_WORKER=%s: no such file", env);
      return NULL;
    }
    return os_path_abs(NULL, env);
  }
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    os_fail(err, OSIRIS_ENOTFOUND, "cannot find osiris-worker (set OSIRIS_WORKER)");
    return NULL;
  }
  self[n] = 0;
  dir = os_path_dirname(self);
  path = dir ? os_path_join(dir, "osiris-worker") : NULL;
  os_free(dir);
  if (path && !os_is_file(path)) {
    os_fail(err, OSIRIS_ENOTFOUND, "the worker binary %s is missing (build it with 'make osiris-worker' "
            "or set OSIRIS_WORKER)", path);
    os_free(path);
    return NULL;
  }
  if (!path) os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return path;
}

/* 1 when a step's driver loads a shared library (OSIRIS_DRIVER_DLOPEN). */
static int rm_needs_dlopen(const osiris_run *run) {
  size_t i;
  for (i = 0; i < run->mf->n_steps; i++) {
    const osiris_driver *d = osiris_driver_find(run->ctx, run->mf->steps[i].driver);
    if (d && (d->flags & OSIRIS_DRIVER_DLOPEN)) return 1;
  }
  return 0;
}

/* For a pipeline with a dlopen driver: the dlopen-capable worker
 * ($OSIRIS_WORKER_DYN, else osiris-worker-dyn beside us) instead of the
 * static one, and the regular files of osiris-worker-dyn.libs/ beside it
 * ($OSIRIS_WORKER_LIBS) into rs->libs.  The engine knows no driver: what
 * a driver loads is what the build put in that directory. */
static osiris_rc rm_worker_dyn(rm_state *rs, os_err *err) {
  const char *env = getenv("OSIRIS_WORKER_DYN"), *lenv = getenv("OSIRIS_WORKER_LIBS");
  char self[PATH_MAX], *dir = NULL, *bin = NULL, *libdir = NULL;
  DIR *d = NULL;
  struct dirent *e;
  struct stat sb;
  ssize_t n;
  osiris_rc rc = OSIRIS_OK;
  if (env && *env) {
    bin = os_path_abs(NULL, env);
  } else if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) > 0) {
    self[n] = 0;
    dir = os_path_dirname(self);
    bin = dir ? os_path_join(dir, "osiris-worker-dyn") : NULL;
  }
  if (!bin || !os_is_file(bin)) {
    rc = os_fail(err, OSIRIS_ENOTFOUND, "this pipeline has a step that loads a shared library (DuckDB), "
                 "which needs the dlopen-capable worker %s; build it with 'make osiris-worker-dyn' or set "
                 "OSIRIS_WORKER_DYN", bin ? bin : "osiris-worker-dyn");
    goto done;
  }
  libdir = lenv && *lenv ? os_path_abs(NULL, lenv) : os_asprintf("%s.libs", bin);
  d = libdir ? opendir(libdir) : NULL;
  if (!d) {
    rc = os_fail(err, OSIRIS_ENOTFOUND, "the libraries for %s are missing: no directory %s (./build.sh "
                 "fetches DuckDB and 'make osiris-worker-dyn' links it there; or set OSIRIS_WORKER_LIBS)",
                 bin, libdir ? libdir : "osiris-worker-dyn.libs");
    goto done;
  }
  if (!(rs->libs = js_alloc(OSIRIS_JSON_ARRAY))) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  while (!rc && (e = readdir(d)) != NULL) {
    char *p;
    if (e->d_name[0] == '.') continue;
    p = os_path_join(libdir, e->d_name);
    if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
      rs->libs_bytes += (int64_t)sb.st_size;
      if (js_push_str(rs->libs, p)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    }
    os_free(p);
  }
  if (!rc && osiris_json_size(rs->libs) == 0)
    rc = os_fail(err, OSIRIS_ENOTFOUND, "%s holds no library to ship (./build.sh fetches DuckDB, then "
                 "'make osiris-worker-dyn')", libdir);
  if (!rc && stat(bin, &sb) == 0) rs->libs_bytes += (int64_t)sb.st_size;
  if (!rc) {
    os_free(rs->wsrc);
    rs->wsrc = bin;
    bin = NULL;
    ss_log(&rs->run->ss, 1, "remote: a step loads a shared library: shipping %s and %zu librar%s from "
           "%s (%.1f MB in all)", rs->wsrc, osiris_json_size(rs->libs),
           osiris_json_size(rs->libs) == 1 ? "y" : "ies", libdir, (double)rs->libs_bytes / 1e6);
  }
done:
  if (d) closedir(d);
  os_free(dir);
  os_free(bin);
  os_free(libdir);
  return rc;
}

/* The worker's path of library i: beside the worker binary. */
static char *rm_lib_wpath(rm_state *rs, size_t i) {
  char *wdir = os_path_dirname(rs->wbin), *p;
  p = wdir ? os_path_join(wdir, os_path_basename(osiris_json_str(osiris_json_at(rs->libs, i)))) : NULL;
  os_free(wdir);
  return p;
}

static osiris_rc sp_open(rm_state *rs, os_err *err) {
  const char *tmp = getenv("TMPDIR");
  char *tmpl = os_asprintf("%s/osiris-sandbox-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!tmpl) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  if (!mkdtemp(tmpl)) {
    osiris_rc rc = os_fail(err, OSIRIS_EIO, "cannot create a scratch directory %s: %s", tmpl,
                           strerror(errno));
    os_free(tmpl);
    return rc;
  }
  rs->scratch = tmpl;
  os_free(rs->run->sandbox_id);
  rs->run->sandbox_id = os_strdup(os_path_basename(tmpl)); /* status.json */
  rs->wdir = os_path_join(tmpl, "session");
  rs->wbin = os_path_join(tmpl, "osiris-worker");
  rs->pkg_dir = rs->wdir ? os_strdup(rs->wdir) : NULL;
  if (!rs->wdir || !rs->wbin || !rs->pkg_dir) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return os_mkdir_p(rs->wdir, err);
}

static osiris_rc sp_start(rm_state *rs, os_err *err) {
  char *cmds = NULL;
  char **envp = NULL;
  char *argv[4];
  const char *path_env = getenv("PATH");
  int out[2] = {-1, -1}, errp[2] = {-1, -1};
  size_t i, n = osiris_json_size(rs->envs);
  osiris_rc rc = OSIRIS_OK;
  osiris_json *f;
  rc = rm_copy(rs->wsrc, rs->wbin, 0555, err);
  for (i = 0; !rc && i < osiris_json_size(rs->libs); i++) {
    char *dst = rm_lib_wpath(rs, i);
    rc = dst ? rm_copy(osiris_json_str(osiris_json_at(rs->libs, i)), dst, 0444, err)
             : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(dst);
  }
  if (rc) goto done;
  cmds = os_path_join(rs->wdir, "commands.jsonl");
  envp = os_calloc(n + 3, sizeof *envp);
  if (!cmds || !envp) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  /* A clean environment: PATH, HOME and the secrets the steps need. */
  envp[0] = os_asprintf("PATH=%s", path_env && *path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  envp[1] = os_asprintf("HOME=%s", rs->scratch);
  for (i = 0; i < n; i++)
    envp[2 + i] = os_asprintf("%s=%s", osiris_json_key_at(rs->envs, i),
                              osiris_json_str(osiris_json_at(rs->envs, i)));
  for (i = 0; i < n + 2; i++)
    if (!envp[i]) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  argv[0] = rs->wbin;
  argv[1] = cmds;
  argv[2] = rs->wdir;
  argv[3] = NULL;
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot create pipes: %s", strerror(errno));
    goto done;
  }
  rs->pid = fork();
  if (rs->pid < 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot start the worker: %s", strerror(errno));
    rs->pid = 0;
    goto done;
  }
  if (rs->pid == 0) {
    /* child: only async-signal-safe calls from here on */
    int devnull = open("/dev/null", O_RDONLY);
    setpgid(0, 0); /* a terminal's Ctrl-C reaches the host only; the host decides */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    if (chdir(argv[2]) != 0) _exit(126);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  setpgid(rs->pid, rs->pid);
  close(out[1]);
  close(errp[1]);
  out[1] = errp[1] = -1;
  rs->fd_out = out[0];
  rs->fd_err = errp[0];
  out[0] = errp[0] = -1;
  rs->started = 1;
  f = rm_obj();
  if (f) js_set_int(f, "pid", (int64_t)rs->pid);
  rm_event(rs, "worker_started", f);
done:
  for (i = 0; i < 2; i++) {
    if (out[i] >= 0) close(out[i]);
    if (errp[i] >= 0) close(errp[i]);
  }
  if (envp) {
    for (i = 0; i < n + 2; i++)
      if (envp[i]) {
        memset(envp[i], 0, strlen(envp[i]));
        os_free(envp[i]);
      }
    os_free(envp);
  }
  os_free(cmds);
  return rc;
}

static osiris_rc sp_pump(rm_state *rs, os_err *err) {
  char buf[65536];
  int status = 0;
  osiris_rc rc = OSIRIS_OK;
  while (rs->fd_out >= 0 || rs->fd_err >= 0) {
    struct pollfd p[2];
    int np = 0, k;
    if (os_cancelled(rs->run->ctx) && !rs->cancel_seen) {
      rs->cancel_seen = 1;
      rs->term_sent_ms = os_now_ms();
      kill(-rs->pid, SIGTERM); /* the worker stops at the next step boundary */
    }
    if (rs->cancel_seen && rs->term_sent_ms > 0 && os_now_ms() - rs->term_sent_ms > RM_KILL_GRACE_MS) {
      kill(-rs->pid, SIGKILL);
      rs->term_sent_ms = 0;
    }
    if (rs->fd_out >= 0) {
      p[np].fd = rs->fd_out;
      p[np++].events = POLLIN;
    }
    if (rs->fd_err >= 0) {
      p[np].fd = rs->fd_err;
      p[np++].events = POLLIN;
    }
    k = poll(p, (nfds_t)np, 200);
    if (k < 0 && errno != EINTR) {
      rc = os_fail(err, OSIRIS_EIO, "poll failed: %s", strerror(errno));
      break;
    }
    for (k = 0; k < np; k++) {
      int is_err = p[k].fd == rs->fd_err;
      ssize_t r;
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      r = read(p[k].fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        close(p[k].fd);
        if (is_err)
          rs->fd_err = -1;
        else
          rs->fd_out = -1;
        continue;
      }
      if (rm_feed(rs, is_err, buf, (size_t)r) && !rc) rc = os_fail(err, OSIRIS_ELIMIT, "%s", rs->error);
    }
    if (rc) break;
  }
  rm_flush(rs);
  if (rc) kill(-rs->pid, SIGKILL);
  while (waitpid(rs->pid, &status, 0) < 0 && errno == EINTR) {
  }
  rs->exited = 1;
  if (WIFSIGNALED(status)) {
    rs->term_signal = WTERMSIG(status);
    rs->exit_code = -1;
  } else {
    rs->exit_code = WEXITSTATUS(status);
  }
  rs->pid = 0;
  return rc;
}

static osiris_rc sp_fetch(rm_state *rs, const char *wpath, const char *hpath, int64_t limit,
                          const char *cap, int64_t *bytes, os_err *err) {
  const char *rel = rm_below(wpath, rs->wdir);
  osiris_rc rc;
  int fd;
  if (!rel || !rm_rel_ok(rel))
    return os_fail(err, OSIRIS_EIO, "refused the sandbox file %s: outside the worker's session directory",
                   wpath);
  fd = rm_open_below(rs->wdir, rel, limit, cap, err);
  if (fd < 0) return err->rc ? err->rc : OSIRIS_EIO;
  rc = rm_copy_fd(fd, wpath, hpath, 0, limit, cap, bytes, err);
  close(fd);
  return rc;
}

static osiris_rc sp_list(rm_state *rs, const char *dir, osiris_json *paths, os_err *err) {
  (void)rs;
  return rm_walk(dir, paths, 0, err);
}

static void sp_close(rm_state *rs) {
  osiris_json *f;
  if (rs->pid > 0) {
    int status;
    kill(-rs->pid, SIGKILL);
    while (waitpid(rs->pid, &status, 0) < 0 && errno == EINTR) {
    }
    rs->pid = 0;
  }
  if (rs->fd_out >= 0) close(rs->fd_out);
  if (rs->fd_err >= 0) close(rs->fd_err);
  rs->fd_out = rs->fd_err = -1;
  if (!rs->scratch) return;
  f = rm_obj();
  if (rm_env_flag("OSIRIS_KEEP_SANDBOX")) {
    if (f) js_set_str(f, "kept", rs->scratch);
    ss_log(&rs->run->ss, 1, "sandbox kept: %s (OSIRIS_KEEP_SANDBOX)", rs->scratch);
  } else {
    rm_rmtree(rs->scratch);
  }
  rm_event(rs, "sandbox_deleted", f);
}

static const rm_transport rm_subprocess = {"subprocess", sp_open, sp_start, sp_pump,
                                           sp_fetch,     sp_list, sp_close};

/* ---------------------------------------------------------- E2B: HTTP */

typedef struct e2_req {
  const char *method;        /* GET, POST, DELETE */
  const char *url;
  int envd;                  /* add the sandbox routing and token headers */
  const char *ctype;
  const char *body;
  size_t body_len;
  const char *upload_path;   /* stream this file as the body */
  const char *download_path; /* write a 200 body here (atomically) */
  int64_t max_bytes;         /* with download_path: a longer body is OSIRIS_ELIMIT; < 0: none */
  int attempts;              /* 1: no retry */
  long timeout_s;
} e2_req;

/* A download: into a file, counting, at most max bytes (max < 0: none). */
typedef struct e2_sink {
  FILE *f;
  int64_t n, max;
  int over;
} e2_sink;

static size_t e2_file_cb(char *p, size_t sz, size_t n, void *user) {
  e2_sink *k = user;
  size_t len = sz * n;
  if (k->max >= 0 && k->n + (int64_t)len > k->max) {
    k->over = 1;
    return 0;
  }
  k->n += (int64_t)len;
  return fwrite(p, 1, len, k->f);
}

static size_t e2_buf_cb(char *p, size_t sz, size_t n, void *user) {
  os_buf *b = user;
  if (b->len + sz * n > ((size_t)16 << 20)) return 0; /* error bodies are small */
  return ob_put(b, p, sz * n) ? 0 : sz * n;
}

static int e2_progress_cb(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  rm_state *rs = user;
  (void)a;
  (void)b;
  (void)c;
  (void)d;
  return os_cancelled(rs->run->ctx) && !rs->e2.no_cancel ? 1 : 0;
}

static struct curl_slist *e2_headers(rm_state *rs, int envd, const char *ctype) {
  struct curl_slist *h = NULL, *t;
  char line[512];
  h = curl_slist_append(h, "User-Agent: osiris/" OSIRIS_VERSION);
  if (h) h = (t = curl_slist_append(h, "Expect:")) ? t : h;
  if (ctype) {
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    if ((t = curl_slist_append(h, line))) h = t;
  }
  if (envd) {
    snprintf(line, sizeof line, "E2b-Sandbox-Id: %s", rs->e2.sandbox_id ? rs->e2.sandbox_id : "");
    if ((t = curl_slist_append(h, line))) h = t;
    if ((t = curl_slist_append(h, "E2b-Sandbox-Port: 49983"))) h = t;
    if (rs->e2.token) {
      snprintf(line, sizeof line, "X-Access-Token: %s", rs->e2.token);
      if ((t = curl_slist_append(h, line))) h = t;
    }
  } else {
    snprintf(line, sizeof line, "X-API-Key: %s", rs->e2.api_key);
    if ((t = curl_slist_append(h, line))) h = t;
  }
  return h;
}

static void e2_sleep_ms(rm_state *rs, double ms) {
  double end = os_now_ms() + ms;
  while (os_now_ms() < end) {
    struct timespec ts = {0, 50 * 1000000L};
    if (os_cancelled(rs->run->ctx) && !rs->e2.no_cancel) return;
    nanosleep(&ts, NULL);
  }
}

static int e2_retryable_curl(CURLcode c) {
  return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
         c == CURLE_OPERATION_TIMEDOUT || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
         c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE || c == CURLE_SSL_CONNECT_ERROR;
}

/* The message of an E2B error body ({"code","message"}), else the body. */
static void e2_describe(const os_buf *body, char *out, size_t cap) {
  osiris_json *v = NULL;
  const char *m = NULL;
  if (body->len && !js_parse(body->p, body->len, "e2b", &v, NULL)) m = js_gets(v, "message");
  if (m)
    snprintf(out, cap, "%s", m);
  else
    snprintf(out, cap, "%.*s", (int)(body->len > 300 ? 300 : body->len), body->len ? body->p : "");
  osiris_json_free(v);
}

/* One HTTP call with retries: exponential backoff with jitter (0.5 s, x2,
 * at most 8 s) on 429, 5xx (except the envd proxy's 502: the sandbox is
 * gone) and connection errors.  *status is the final HTTP status; a
 * transport error returns EIO with err set. */
static osiris_rc e2_call(rm_state *rs, const e2_req *q, long *status, os_buf *resp, os_err *err) {
  int attempt, max = q->attempts > 0 ? q->attempts : 1;
  double delay = 500;
  osiris_rc rc = OSIRIS_OK;
  *status = 0;
  for (attempt = 0;; attempt++) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    FILE *up = NULL, *down = NULL;
    e2_sink sink;
    char *tmp = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    CURLcode c;
    int retry;
    if (resp) resp->len = 0;
    if (!h) return os_fail(err, OSIRIS_ENOMEM, "cannot initialize libcurl");
    hdrs = e2_headers(rs, q->envd, q->ctype);
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 60L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, e2_progress_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, rs);
    if (os_streq(q->method, "DELETE")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    if (os_streq(q->method, "POST")) {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      if (q->upload_path) {
        struct stat st;
        up = fopen(q->upload_path, "rbe");
        if (!up || fstat(fileno(up), &st) != 0) {
          if (up) fclose(up);
          curl_slist_free_all(hdrs);
          curl_easy_cleanup(h);
          return os_fail(err, OSIRIS_EIO, "cannot read %s: %s", q->upload_path, strerror(errno));
        }
        curl_easy_setopt(h, CURLOPT_READDATA, up);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
      } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->body_len : 0));
      }
    }
    if (q->download_path) {
      int fd = os_open_temp(q->download_path, &tmp, err);
      down = fd >= 0 ? fdopen(fd, "wb") : NULL;
      if (!down) {
        osiris_rc frc = fd >= 0 ? os_fail(err, OSIRIS_EIO, "cannot write %s: %s", q->download_path,
                                          strerror(errno))
                                : err->rc;
        if (fd >= 0) close(fd);
        if (tmp) unlink(tmp);
        if (up) fclose(up);
        os_free(tmp);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        return frc;
      }
      sink.f = down;
      sink.n = 0;
      sink.max = q->max_bytes;
      sink.over = 0;
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e2_file_cb);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
      /* A decoded body counts: a small compressed body cannot fill the disk. */
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    } else {
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e2_buf_cb);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    }
    c = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (up) fclose(up);
    if (down) {
      int bad = fclose(down) != 0;
      if (c == CURLE_OK && *status == 200 && !bad && rename(tmp, q->download_path) == 0) {
        /* kept */
      } else {
        if (c == CURLE_OK && *status == 200) c = CURLE_WRITE_ERROR;
        if (resp && *status != 200) { /* the error body went to the file */
          char *eb = NULL;
          size_t el = 0;
          if (!os_read_file(tmp, &eb, &el, NULL)) ob_put(resp, eb, el > 4096 ? 4096 : el);
          os_free(eb);
        }
        unlink(tmp);
      }
    }
    os_free(tmp);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (c == CURLE_ABORTED_BY_CALLBACK)
      return os_fail(err, OSIRIS_ECANCEL, "interrupted");
    if (down && sink.over)
      return os_fail(err, OSIRIS_ELIMIT, "%s: the body is larger than %lld bytes", q->url,
                     (long long)q->max_bytes);
    retry = (c != CURLE_OK && e2_retryable_curl(c)) ||
            (c == CURLE_OK && (*status == 429 || (*status >= 500 && !(q->envd && *status == 502))));
    if (!retry || attempt + 1 >= max || (os_cancelled(rs->run->ctx) && !rs->e2.no_cancel)) {
      if (c != CURLE_OK)
        rc = os_fail(err, OSIRIS_EIO, "%s %s: %s", q->method, q->url,
                     cerr[0] ? cerr : curl_easy_strerror(c));
      break;
    }
    {
      char r[5];
      double jit;
      os_random_hex(r, 4);
      jit = (double)strtol(r, NULL, 16) / 65535.0; /* 0..1 */
      ss_log(&rs->run->ss, 2, "e2b: %s %s: %s; retrying in %.0f ms (attempt %d of %d)", q->method,
             q->url, c != CURLE_OK ? curl_easy_strerror(c) : "server busy", delay * (0.5 + jit / 2),
             attempt + 2, max);
      e2_sleep_ms(rs, delay * (0.5 + jit / 2));
      delay = delay * 2 > 8000 ? 8000 : delay * 2;
    }
  }
  return rc;
}

static char *e2_escape(const char *s) {
  char *e = curl_easy_escape(NULL, s, 0);
  char *out = e ? os_strdup(e) : NULL;
  curl_free(e);
  return out;
}

/* ---------------------------------------------------------- E2B: streams */

static int e2_b64(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decode base64 (padding optional) into out (capacity >= n). */
static size_t e2_b64_decode(const char *s, size_t n, char *out) {
  size_t i, o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (i = 0; i < n; i++) {
    int v = e2_b64((unsigned char)s[i]);
    if (v < 0) continue;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xFF);
    }
  }
  return o;
}

static void e2_on_data(rm_state *rs, int stream, const osiris_json *v) {
  const char *s = osiris_json_str(v);
  size_t n = v ? v->u.s.len : 0;
  char *raw;
  if (!s || !n || !rs->e2.feed) return;
  raw = os_malloc(n);
  if (!raw) {
    rs->e2.bad = 1;
    return;
  }
  n = e2_b64_decode(s, n, raw);
  if (rm_feed(rs, stream, raw, n)) {
    rs->e2.bad = 1; /* rs->error says why */
  } else if (stream == 0) {
    rs->e2.out_fed += (int64_t)n;
  }
  os_free(raw);
}

/* One complete envelope of the Start stream. */
/* The process's exit code as the sandbox reports it: absent is 0 (Connect
 * leaves a zero out); beyond int it saturates, and a value that is not an
 * integer is -1, so that 2^32 or "0" can never read as success. */
static int e2_exit_code(const osiris_json *v) {
  int64_t c;
  if (!v) return 0;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_INT && osiris_json_kind_of(v) != OSIRIS_JSON_DOUBLE) return -1;
  c = osiris_json_int(v, -1);
  return c > INT_MAX ? INT_MAX : c < INT_MIN ? INT_MIN : (int)c;
}

static void e2_envelope(rm_state *rs, unsigned flags, const char *p, size_t n) {
  e2_state *e = &rs->e2;
  osiris_json *v = NULL;
  const osiris_json *ev;
  if (js_parse(p, n, "e2b stream", &v, NULL)) {
    e->bad = 1;
    snprintf(rs->error, sizeof rs->error, "E2B: unreadable message in the process stream");
    return;
  }
  if (flags & 0x02) {
    const osiris_json *er = osiris_json_get(v, "error");
    e->got_eos = 1;
    if (er) {
      e->eos_error = 1;
      snprintf(e->eos_code, sizeof e->eos_code, "%s", js_gets(er, "code") ? js_gets(er, "code") : "");
      snprintf(e->eos_msg, sizeof e->eos_msg, "%s: %s", js_gets(er, "code") ? js_gets(er, "code") : "unknown",
               js_gets(er, "message") ? js_gets(er, "message") : "");
    }
  } else if ((ev = osiris_json_get(v, "event")) != NULL) {
    const osiris_json *x;
    if ((x = osiris_json_get(ev, "start")) != NULL) {
      e->got_start = 1;
      e->pid = osiris_json_int(osiris_json_get(x, "pid"), 0);
      e->have_pid = 1;
    } else if ((x = osiris_json_get(ev, "data")) != NULL) {
      e2_on_data(rs, 0, osiris_json_get(x, "stdout"));
      e2_on_data(rs, 1, osiris_json_get(x, "stderr"));
      e2_on_data(rs, 0, osiris_json_get(x, "pty"));
    } else if ((x = osiris_json_get(ev, "end")) != NULL) {
      const char *st = js_gets(x, "status");
      e->got_end = 1;
      e->end_exit_code = e2_exit_code(osiris_json_get(x, "exitCode"));
      snprintf(e->end_status, sizeof e->end_status, "%s", st ? st : "");
    } /* keepalive and unknown events: nothing to do */
  }
  osiris_json_free(v);
}

static size_t e2_stream_cb(char *p, size_t sz, size_t nm, void *user) {
  rm_state *rs = user;
  e2_state *e = &rs->e2;
  size_t n = sz * nm, off = 0;
  if (os_cancelled(rs->run->ctx)) {
    e->aborted = 1;
    return 0; /* ends the transfer; the process is stopped with SendSignal */
  }
  if (e->status != 200) { /* an error body in front of Connect */
    if (e->err_body.len < 65536) ob_put(&e->err_body, p, n);
    return n;
  }
  if (ob_put(&e->env_buf, p, n)) return 0;
  while (e->env_buf.len - off >= 5) {
    const unsigned char *h = (const unsigned char *)e->env_buf.p + off;
    size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
    if (len > RM_MAX_ENVELOPE) {
      e->bad = 1;
      snprintf(rs->error, sizeof rs->error, "E2B: a stream message of %zu bytes is too large", len);
      return 0;
    }
    if (e->env_buf.len - off - 5 < len) break;
    e2_envelope(rs, h[0], e->env_buf.p + off + 5, len);
    off += 5 + len;
    if (e->bad) return 0;
  }
  if (off) {
    memmove(e->env_buf.p, e->env_buf.p + off, e->env_buf.len - off);
    e->env_buf.len -= off;
  }
  return n;
}

static size_t e2_header_cb(char *p, size_t sz, size_t nm, void *user) {
  rm_state *rs = user;
  size_t n = sz * nm;
  /* "HTTP/1.1 200 OK": the status before the body arrives */
  if (n > 12 && strncmp(p, "HTTP/", 5) == 0) {
    const char *sp = memchr(p, ' ', n);
    if (sp && (size_t)(sp - p) + 4 <= n)
      rs->e2.status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
  }
  return n;
}

static void e2_extend(rm_state *rs) {
  e2_state *e = &rs->e2;
  char *url = os_asprintf("%s/sandboxes/%s/timeout", e->api_url, e->sandbox_id);
  char *body = os_asprintf("{\"timeout\":%d}", e->timeout_s);
  os_buf resp = {0};
  os_err err = {0};
  long status;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.ctype = "application/json";
  q.body = body;
  q.body_len = body ? strlen(body) : 0;
  q.attempts = 2;
  q.timeout_s = 20;
  if (url && body && !e2_call(rs, &q, &status, &resp, &err))
    ss_log(&rs->run->ss, status == 204 || status == 200 ? 0 : 2,
           "e2b: sandbox TTL extended by %d s (HTTP %ld)", e->timeout_s, status);
  ob_free(&resp);
  os_free(url);
  os_free(body);
}

/* While the worker runs (attached or not), extend the sandbox's TTL each
 * time a third of it has passed. */
/* Without a run timeout the sandbox lives while the stream lasts: its TTL
 * is extended every third of it.  With --timeout the TTL was set to the
 * run's bound plus E2_TTL_MARGIN_S at create and is never extended: a host
 * that dies cannot leave a sandbox running past it. */
static void e2_keep_ttl(rm_state *rs) {
  e2_state *e = &rs->e2;
  double every = (e->timeout_s >= 3 ? e->timeout_s / 3.0 : 1.0) * 1000.0;
  if (rs->run->timeout_s > 0) return;
  if (e->sandbox_id && os_now_ms() - e->last_extend_ms > every) {
    e2_extend(rs);
    e->last_extend_ms = os_now_ms();
  }
}

#define E2_FEED 1     /* stdout/stderr go to the worker line parser */
#define E2_KEEP_TTL 2 /* extend the TTL while the stream lasts */

/* Run one process with Process/Start, or attach to one with
 * Process/Connect (method), and read the stream to its end.  Returns OK
 * when the stream ended properly (end event + end-stream envelope);
 * *exit_code is then the process's exit code (-1 for a signal).  The
 * flags and e2_state say how it ended otherwise. */
static osiris_rc e2_run_process(rm_state *rs, const char *method, osiris_json *req, int flags,
                                int *exit_code, os_err *err) {
  e2_state *e = &rs->e2;
  os_buf body = {0}, msg = {0};
  CURLM *m = NULL;
  CURL *h = NULL;
  struct curl_slist *hdrs = NULL, *t;
  char cerr[CURL_ERROR_SIZE] = "";
  char *url = os_asprintf("%s/process.Process/%s", e->envd_url, method);
  CURLcode result = CURLE_OK;
  osiris_rc rc = OSIRIS_OK;
  int running = 1;
  *exit_code = -1;
  ob_free(&e->env_buf);
  ob_free(&e->err_body);
  e->status = 0;
  e->feed = (flags & E2_FEED) != 0;
  e->got_start = e->got_end = e->got_eos = e->eos_error = e->bad = e->aborted = 0;
  if (os_streq(method, "Start")) e->have_pid = 0; /* Connect keeps the pid it attaches to */
  e->eos_code[0] = e->eos_msg[0] = e->end_status[0] = 0;
  e->end_exit_code = 0;
  if (!url || js_dump(&msg, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  {
    unsigned char hdr[5];
    hdr[0] = 0;
    hdr[1] = (unsigned char)(msg.len >> 24);
    hdr[2] = (unsigned char)(msg.len >> 16);
    hdr[3] = (unsigned char)(msg.len >> 8);
    hdr[4] = (unsigned char)msg.len;
    if (ob_put(&body, hdr, 5) || ob_put(&body, msg.p, msg.len)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  h = curl_easy_init();
  m = curl_multi_init();
  hdrs = e2_headers(rs, 1, "application/connect+json");
  if (hdrs && (t = curl_slist_append(hdrs, "Connect-Protocol-Version: 1"))) hdrs = t;
  /* No Connect-Timeout-Ms: envd would kill the worker at that deadline. */
  if (hdrs && (t = curl_slist_append(hdrs, "Keepalive-Ping-Interval: 50"))) hdrs = t;
  if (!h || !m || !hdrs) {
    rc = os_fail(err, OSIRIS_ENOMEM, "cannot initialize libcurl");
    goto done;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.p);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e2_stream_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, e2_header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);   /* keepalives every 50 s keep it above */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 150L);
  curl_multi_add_handle(m, h);
  while (running) {
    CURLMcode mc = curl_multi_perform(m, &running);
    CURLMsg *cm;
    int left;
    if (mc != CURLM_OK) {
      rc = os_fail(err, OSIRIS_EIO, "E2B: %s", curl_multi_strerror(mc));
      break;
    }
    while ((cm = curl_multi_info_read(m, &left)) != NULL)
      if (cm->msg == CURLMSG_DONE) result = cm->data.result;
    if (!running) break;
    if (os_cancelled(rs->run->ctx)) {
      e->aborted = 1;
      break;
    }
    if (flags & E2_KEEP_TTL) e2_keep_ttl(rs);
    curl_multi_poll(m, NULL, 0, 200, NULL);
  }
  if (rc) goto done;
  if (e->aborted || os_cancelled(rs->run->ctx)) {
    rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
  } else if (e->status == 502) {
    char d[400];
    e2_describe(&e->err_body, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: the sandbox %s is not reachable (HTTP 502: %s); it may have "
                 "expired or been deleted", e->sandbox_id, d);
  } else if (e->status != 200) {
    char d[400];
    e2_describe(&e->err_body, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: process %s failed: HTTP %ld%s%s%s",
                 os_streq(method, "Start") ? "start" : "connect", e->status, e->status ? ": " : "", d,
                 e->status ? "" : cerr);
  } else if (e->bad) {
    rc = os_fail(err, OSIRIS_EIO, "%s", rs->error[0] ? rs->error : "E2B: malformed process stream");
  } else if (!e->got_eos) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the sandbox stream ended without its end-stream envelope "
                 "(sandbox gone?)%s%s", result != CURLE_OK ? ": " : "",
                 result != CURLE_OK ? (cerr[0] ? cerr : curl_easy_strerror(result)) : "");
  } else if (e->eos_error) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the process stream ended with an error (%s)", e->eos_msg);
  } else if (!e->got_end) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the process stream closed without the process's end event");
  } else {
    *exit_code = e->end_exit_code;
  }
done:
  if (m && h) curl_multi_remove_handle(m, h);
  if (h) curl_easy_cleanup(h);
  if (m) curl_multi_cleanup(m);
  curl_slist_free_all(hdrs);
  if (msg.p) memset(msg.p, 0, msg.len); /* the request holds the secrets */
  if (body.p) memset(body.p, 0, body.len);
  ob_free(&msg);
  ob_free(&body);
  os_free(url);
  return rc;
}

/* One GET whose status is all we need (0: no answer); url is taken over. */
static long e2_get_status(rm_state *rs, char *url, int envd, int timeout_s) {
  os_buf resp = {0};
  os_err err = {0};
  long status = 0;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "GET";
  q.url = url;
  q.envd = envd;
  q.attempts = 1;
  q.timeout_s = timeout_s;
  if (url) e2_call(rs, &q, &status, &resp, &err);
  ob_free(&resp);
  os_free(url);
  return status;
}

/* Is the sandbox still there?  (GET /health: 502 when it is gone.) */
static long e2_health(rm_state *rs) {
  return e2_get_status(rs, os_asprintf("%s/health", rs->e2.envd_url), 1, 5);
}

/* ---------------------------------------------------------- E2B: reattaching */

#define E2_REATTACH_TRIES 5      /* failed attaches in a row before giving up */
#define E2_REATTACH_MS 30000.0   /* ... or this long without an attach */
#define E2_REATTACH_MAX 100      /* attaches in all (each one then dropped again) */

static osiris_rc e2_fetch(rm_state *rs, const char *wpath, const char *hpath, int64_t limit,
                          const char *cap, int64_t *bytes, os_err *err);

/* Did the worker's stream break while the worker may still run?  Only
 * then is reattaching worth it: not after Ctrl-C, a malformed stream, an
 * error the server reported in the stream, or a stream without a start
 * event (no pid: the worker may never have started). */
static int e2_dropped(rm_state *rs, osiris_rc rc) {
  const e2_state *e = &rs->e2;
  return rc != OSIRIS_ECANCEL && !os_cancelled(rs->run->ctx) && !e->aborted && !e->bad &&
         e->have_pid && !e->eos_error;
}

/* The control plane's word: 1 when the sandbox no longer exists (404). */
static int e2_sandbox_gone(rm_state *rs) {
  char *url = os_asprintf("%s/sandboxes/%s", rs->e2.api_url, rs->e2.sandbox_id);
  return e2_get_status(rs, url, 0, 10) == 404;
}

/* Process/List: 1 when pid still runs, 0 when it is not listed (it has
 * ended), -1 when envd did not answer. */
static int e2_proc_listed(rm_state *rs, int64_t pid) {
  char *url = os_asprintf("%s/process.Process/List", rs->e2.envd_url);
  osiris_json *v = NULL;
  const osiris_json *procs;
  os_buf resp = {0};
  os_err err = {0};
  long status = 0;
  int listed = -1;
  size_t i;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.envd = 1;
  q.ctype = "application/json";
  q.body = "{}";
  q.body_len = 2;
  q.attempts = 1;
  q.timeout_s = 20;
  if (url && !e2_call(rs, &q, &status, &resp, &err) && status == 200 &&
      !js_parse(resp.p ? resp.p : "", resp.len, "List", &v, NULL)) {
    procs = osiris_json_get(v, "processes");
    listed = 0;
    for (i = 0; i < osiris_json_size(procs); i++)
      if (osiris_json_int(osiris_json_get(osiris_json_at(procs, i), "pid"), -1) == pid) listed = 1;
  }
  osiris_json_free(v);
  ob_free(&resp);
  os_free(url);
  return listed;
}

/* Sleep ms (less after Ctrl-C), keeping the sandbox alive meanwhile. */
static void e2_wait(rm_state *rs, double ms) {
  double end = os_now_ms() + ms;
  while (!os_cancelled(rs->run->ctx) && os_now_ms() < end) {
    double left = end - os_now_ms();
    e2_keep_ttl(rs);
    e2_sleep_ms(rs, left > 500 ? 500 : left);
  }
}

/* Feed the bytes of hpath (a copy of worker.out) past the e->out_fed the
 * stream delivered; *rest is how many that was. */
static osiris_rc e2_feed_file(rm_state *rs, const char *hpath, int64_t *rest, os_err *err) {
  e2_state *e = &rs->e2;
  char buf[65536];
  int64_t fed = e->out_fed;
  struct stat st;
  osiris_rc rc = OSIRIS_OK;
  int fd = open(hpath, O_RDONLY | O_CLOEXEC);
  *rest = 0;
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot read %s: %s", hpath, strerror(errno));
    goto done;
  }
  if ((int64_t)st.st_size < fed) { /* not the file the stream came from */
    rc = os_fail(err, OSIRIS_EIO, "E2B: %s has %" PRId64 " bytes, fewer than the %" PRId64
                 " the stream delivered", WK_OUT_FILE, (int64_t)st.st_size, fed);
    goto done;
  }
  if (lseek(fd, (off_t)fed, SEEK_SET) != (off_t)fed) {
    rc = os_fail(err, OSIRIS_EIO, "cannot read %s: %s", hpath, strerror(errno));
    goto done;
  }
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = os_fail(err, OSIRIS_EIO, "cannot read %s: %s", hpath, strerror(errno));
      goto done;
    }
    if (r == 0) break;
    if (rm_feed(rs, 0, buf, (size_t)r)) {
      rc = os_fail(err, OSIRIS_ELIMIT, "%s", rs->error);
      goto done;
    }
    e->out_fed += r;
    *rest += r;
  }
done:
  if (fd >= 0) close(fd);
  return rc;
}

/* The worker has ended: download <session>/worker.out and feed what lies
 * past the bytes the stream already delivered. */
static osiris_rc e2_feed_rest(rm_state *rs, os_err *err) {
  char *wpath = os_path_join(rs->wdir, WK_OUT_FILE);
  char *hpath = rs->scratch ? os_path_join(rs->scratch, WK_OUT_FILE) : NULL;
  int64_t before = rs->e2.out_fed, rest = 0;
  osiris_rc rc;
  if (!wpath || !hpath) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = e2_fetch(rs, wpath, hpath, rs->caps.file_bytes, "OSIRIS_REMOTE_MAX_FILE_BYTES", NULL, err);
  if (!rc) rc = e2_feed_file(rs, hpath, &rest, err);
  if (!rc)
    ss_log(&rs->run->ss, 1, "e2b: fetched %" PRId64 " bytes from %s (the output past the %" PRId64
           " bytes the stream delivered)", rest, wpath, before);
done:
  if (hpath) unlink(hpath);
  os_free(wpath);
  os_free(hpath);
  return rc;
}

/* The worker's stream broke (err says how) after e->out_fed bytes of its
 * stdout.  Connect does not replay output, so the live lines it shows are
 * ignored: wait through Connect (or, while Connect fails, Process/List)
 * until the worker has ended, then read the rest from worker.out.  Failed
 * attaches are retried with backoff (1 s, x2, at most 8 s), at most
 * E2_REATTACH_TRIES in a row and within E2_REATTACH_MS; an attach that
 * then drops again starts a new round.  *exit_code as e2_run_process's. */
static osiris_rc e2_reattach(rm_state *rs, int *exit_code, os_err *err) {
  e2_state *e = &rs->e2;
  char first[OS_ERR_CAP], last[OS_ERR_CAP];
  osiris_json *req = rm_obj(), *proc = rm_obj();
  int ended = e->got_end, known = e->got_end, code = e->end_exit_code;
  int failures = 0, attaches = 0;
  double delay = 1000, round_t0 = os_now_ms();
  osiris_rc rc = OSIRIS_OK;
  snprintf(first, sizeof first, "%s", err->msg);
  last[0] = 0;
  ss_log(&rs->run->ss, 2, "e2b: the worker's output stream dropped after %" PRId64 " bytes (%s); %s %" PRId64,
         e->out_fed, first, ended ? "it had sent the end of process" : "reattaching to process", e->pid);
  if (!req || !proc || js_set_int(proc, "pid", e->pid) || osiris_json_set(req, "process", proc)) {
    osiris_json_free(proc);
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  while (!ended) {
    os_err cerr = {0};
    int c = -1, listed;
    osiris_rc crc;
    if (os_cancelled(rs->run->ctx)) {
      rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
      goto done;
    }
    crc = e2_run_process(rs, "Connect", req, E2_KEEP_TTL, &c, &cerr);
    if (crc == OSIRIS_ECANCEL) {
      rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
      goto done;
    }
    if (!crc || e->got_end) { /* an end event is the end, even on a stream that broke after it */
      ended = known = 1;
      code = crc ? e->end_exit_code : c;
      ss_log(&rs->run->ss, 1, "e2b: reattached to process %" PRId64 "; it ended (%s)", e->pid,
             e->end_status[0] ? e->end_status : "no status");
      break;
    }
    if (e->eos_error && os_streq(e->eos_code, "not_found")) {
      ended = 1;
      ss_log(&rs->run->ss, 1, "e2b: process %" PRId64 " had already ended (Connect: %s)", e->pid,
             e->eos_msg);
      break;
    }
    snprintf(last, sizeof last, "%s", cerr.msg);
    if (e->got_start) { /* attached, then dropped again: that was progress */
      if (++attaches >= E2_REATTACH_MAX) {
        rc = os_fail(err, OSIRIS_EIO, "%s; the stream to process %" PRId64 " then dropped %d more "
                     "times (last: %s)", first, e->pid, attaches, last);
        goto done;
      }
      ss_log(&rs->run->ss, 2, "e2b: reattached to process %" PRId64 ", and the stream dropped again (%s)",
             e->pid, last);
      failures = 0;
      delay = 1000;
      round_t0 = os_now_ms();
      continue;
    }
    if (e2_sandbox_gone(rs)) {
      rc = os_fail(err, OSIRIS_EIO, "%s; reattaching failed: the sandbox %s no longer exists (HTTP 404 "
                   "from the API; last: %s)", first, e->sandbox_id, last);
      goto done;
    }
    listed = e2_proc_listed(rs, e->pid);
    if (listed == 0) {
      ended = 1;
      ss_log(&rs->run->ss, 1, "e2b: process %" PRId64 " is no longer listed: it has ended", e->pid);
      break;
    }
    if (listed == 1) { /* Connect fails but envd answers and the worker runs: keep waiting */
      failures = 0;
      round_t0 = os_now_ms();
    } else if (++failures >= E2_REATTACH_TRIES || os_now_ms() - round_t0 + delay > E2_REATTACH_MS) {
      rc = os_fail(err, OSIRIS_EIO, "%s; reattaching to process %" PRId64 " failed %d times over %.0f s "
                   "(last: %s)", first, e->pid, failures, (os_now_ms() - round_t0) / 1000.0, last);
      goto done;
    }
    ss_log(&rs->run->ss, 2, "e2b: reattaching to process %" PRId64 " failed (%s)%s; retrying in %.0f ms",
           e->pid, last, listed == 1 ? ", but it still runs" : "", delay);
    e2_wait(rs, delay);
    delay = delay * 2 > 8000 ? 8000 : delay * 2;
  }
  rc = e2_feed_rest(rs, err);
  if (rc) {
    snprintf(last, sizeof last, "%s", err->msg);
    rc = os_fail(err, rc, "%s; after reattaching, the rest of the output could not be read: %s", first,
                 last);
    goto done;
  }
  if (!known) {
    /* The output decides what the run says; the exit code only confirms it. */
    e->exit_unknown = 1;
    code = rs->got_cleanup && !rs->run->rc ? 0 : 1;
    ss_log(&rs->run->ss, 1, "e2b: the exit status of process %" PRId64 " is unknown; taken as %d from "
           "its output", e->pid, code);
  }
  *exit_code = code;
done:
  osiris_json_free(req);
  return rc;
}

/* ---------------------------------------------------------- E2B transport */

/* curl_global_init once per process, whoever opens E2B first (it is not
 * safe to race, and embedding programs may run several contexts). */
static pthread_once_t e2_curl_once = PTHREAD_ONCE_INIT;
static int e2_curl_ok;
#define E2_TTL_MARGIN_S 60 /* sandbox TTL beyond a run's --timeout */

static void e2_curl_init(void) { e2_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

/* An E2B setting (key or endpoint) from the process environment.  A
 * project's .env is not believed for these unless the user opts in with
 * OSIRIS_TRUST_DOTENV=1: a .env travels with someone else's project and
 * could send the user's real key to any server.  Borrowed, or NULL with
 * err set (EUSAGE) when only the .env has it and no opt-in was given. */
static const char *e2_setting(rm_state *rs, const char *name, os_err *err) {
  const char *v = getenv(name), *dot;
  osiris_json *f;
  if (v) return v;
  dot = osiris_ctx_getenv(rs->run->ctx, name);
  if (!dot) return NULL;
  if (!rm_env_flag("OSIRIS_TRUST_DOTENV")) {
    os_fail(err, OSIRIS_EUSAGE, "%s is set only in the project's .env, which osiris does not read for "
            "E2B keys and endpoints unless OSIRIS_TRUST_DOTENV=1 is in the environment: export it "
            "instead, or opt in", name);
    return NULL;
  }
  f = rm_obj();
  if (f) {
    js_set_str(f, "setting", name);
    js_set_str(f, "message", "taken from the project's .env (OSIRIS_TRUST_DOTENV=1)");
  }
  rm_event(rs, "security_warning", f);
  ss_log(&rs->run->ss, 2, "e2b: %s taken from the project's .env (OSIRIS_TRUST_DOTENV=1)", name);
  return dot;
}

/* An endpoint the API key or envd token travels to: https, or plain http
 * to loopback, or plain http anywhere with OSIRIS_ALLOW_INSECURE_HTTP=1
 * (a security_warning event says so). */
static osiris_rc e2_check_endpoint(rm_state *rs, const char *name, const char *url, os_err *err) {
  osiris_json *f;
  if (osiris_url_is_secure(url)) return OSIRIS_OK;
  if (!url || strncmp(url, "http://", 7) != 0 || !rm_env_flag("OSIRIS_ALLOW_INSECURE_HTTP"))
    return os_fail(err, OSIRIS_EUSAGE, "%s=%s: https is required (plain http only to a loopback host, or "
                   "with OSIRIS_ALLOW_INSECURE_HTTP=1)", name, url ? url : "");
  f = rm_obj();
  if (f) {
    js_set_str(f, "setting", name);
    js_set_str(f, "message", "plain http to a non-loopback host (OSIRIS_ALLOW_INSECURE_HTTP=1)");
  }
  rm_event(rs, "security_warning", f);
  ss_log(&rs->run->ss, 2, "e2b: %s is plain http (OSIRIS_ALLOW_INSECURE_HTTP=1): the API key travels "
         "unencrypted", name);
  return OSIRIS_OK;
}

static osiris_rc e2_open(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_ctx *ctx = rs->run->ctx;
  const char *key = e2_setting(rs, "E2B_API_KEY", err), *v;
  const char *tmp = getenv("TMPDIR");
  char *tmpl;
  if (err->rc) return err->rc;
  if (!key || !*key)
    return os_fail(err, OSIRIS_EUSAGE, "--e2b needs E2B_API_KEY (an E2B API key, e2b_...) in the "
                   "environment");
  pthread_once(&e2_curl_once, e2_curl_init);
  if (!e2_curl_ok) return os_fail(err, OSIRIS_EIO, "cannot initialize libcurl");
  e->api_key = os_strdup(key);
  /* The key never goes to the sandbox; nor may it reach a run file. */
  if (ss_add_secret(&rs->run->ss, key)) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  v = e2_setting(rs, "E2B_DOMAIN", err);
  if (err->rc) return err->rc;
  e->domain = os_strdup(v && *v ? v : "e2b.app");
  v = e2_setting(rs, "E2B_API_URL", err);
  if (err->rc) return err->rc;
  e->api_url = v && *v ? os_strdup(v) : os_asprintf("https://api.%s", e->domain ? e->domain : "");
  /* --e2b-template / --timeout; the environment serves embedders */
  v = rs->run->e2b_template ? rs->run->e2b_template : osiris_ctx_getenv(ctx, "OSIRIS_E2B_TEMPLATE");
  e->template_id = os_strdup(v && *v ? v : "base");
  v = osiris_ctx_getenv(ctx, "OSIRIS_E2B_TIMEOUT");
  e->timeout_s = rs->run->timeout_s > 0 ? rs->run->timeout_s + E2_TTL_MARGIN_S
                 : v && *v ? (int)strtol(v, NULL, 10) : 900;
  if (e->timeout_s <= 0) e->timeout_s = 900;
  if (!e->api_key || !e->domain || !e->api_url || !e->template_id)
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  while (strlen(e->api_url) > 1 && e->api_url[strlen(e->api_url) - 1] == '/')
    e->api_url[strlen(e->api_url) - 1] = 0;
  if (e2_check_endpoint(rs, "E2B_API_URL", e->api_url, err)) return err->rc;
  /* E2B_SANDBOX_URL is read at create time; refuse it before anything is sent. */
  v = e2_setting(rs, "E2B_SANDBOX_URL", err);
  if (err->rc) return err->rc;
  if (v && *v && e2_check_endpoint(rs, "E2B_SANDBOX_URL", v, err)) return err->rc;
  if (v && *v && !(e->envd_override = os_strdup(v))) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rs->wdir = os_asprintf("/home/user/session/%s", rs->run->ss.id);
  rs->wbin = os_asprintf("/home/user/.osiris/osiris-worker-%s", rs->run->ss.id);
  tmpl = os_asprintf("%s/osiris-e2b-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!rs->wdir || !rs->wbin || !tmpl) {
    os_free(tmpl);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  if (!mkdtemp(tmpl)) {
    osiris_rc rc = os_fail(err, OSIRIS_EIO, "cannot create %s: %s", tmpl, strerror(errno));
    os_free(tmpl);
    return rc;
  }
  rs->scratch = tmpl; /* the package is built here, then uploaded */
  rs->pkg_dir = os_strdup(tmpl);
  return rs->pkg_dir ? OSIRIS_OK : os_fail(err, OSIRIS_ENOMEM, "out of memory");
}

static osiris_rc e2_create(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = rm_obj(), *meta = rm_obj(), *resp = NULL;
  char *url = os_asprintf("%s/sandboxes", e->api_url);
  os_buf body = {0}, out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  if (!req || !meta || !url) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(req, "templateID", e->template_id);
  js_set_int(req, "timeout", e->timeout_s);
  js_set_bool(req, "secure", 1);
  js_set_bool(req, "allow_internet_access", 1);
  js_set_str(meta, "session", rs->run->ss.id);
  js_set_str(meta, "client", "osiris");
  osiris_json_set(req, "metadata", meta);
  meta = NULL;
  if (js_dump(&body, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.ctype = "application/json";
  q.body = body.p;
  q.body_len = body.len;
  q.attempts = 5;
  q.timeout_s = 120;
  e->no_cancel = 1; /* a create cut short could leave a sandbox nobody deletes */
  rc = e2_call(rs, &q, &status, &out, err);
  e->no_cancel = 0;
  if (rc) {
    char m[OS_ERR_CAP];
    snprintf(m, sizeof m, "%s", err->msg);
    rc = os_fail(err, rc, "E2B: cannot create a sandbox: %s", m);
    goto done;
  }
  if (status != 201 && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: cannot create a sandbox (template '%s'): HTTP %ld: %s%s",
                 e->template_id, status, d,
                 status == 401 ? " (check E2B_API_KEY)" : status == 429 ? " (rate or concurrency limit)" : "");
    goto done;
  }
  if (js_parse(out.p ? out.p : "", out.len, "E2B create response", &resp, err) ||
      !js_gets(resp, "sandboxID")) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the create response has no sandboxID");
    goto done;
  }
  e->sandbox_id = os_strdup(js_gets(resp, "sandboxID"));
  os_free(rs->run->sandbox_id);
  rs->run->sandbox_id = os_strdup(js_gets(resp, "sandboxID")); /* status.json */
  if (js_gets(resp, "envdAccessToken")) {
    e->token = os_strdup(js_gets(resp, "envdAccessToken"));
    if (e->token && ss_add_secret(&rs->run->ss, e->token)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  {
    const char *v = e->envd_override;
    const char *dom = js_gets(resp, "domain");
    if (v && *v)
      e->envd_url = os_strdup(v);
    else
      e->envd_url = os_asprintf("https://49983-%s.%s", e->sandbox_id, dom && *dom ? dom : e->domain);
  }
  if (!e->sandbox_id || !e->envd_url) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  while (strlen(e->envd_url) > 1 && e->envd_url[strlen(e->envd_url) - 1] == '/')
    e->envd_url[strlen(e->envd_url) - 1] = 0;
  if (os_cancelled(rs->run->ctx)) rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
done:
  osiris_json_free(req);
  osiris_json_free(meta);
  osiris_json_free(resp);
  ob_free(&body);
  ob_free(&out);
  os_free(url);
  return rc;
}

static osiris_rc e2_upload(rm_state *rs, const char *local, const char *remote, os_err *err) {
  char *enc = e2_escape(remote);
  char *url = enc ? os_asprintf("%s/files?path=%s", rs->e2.envd_url, enc) : NULL;
  os_buf out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.envd = 1;
  q.ctype = "application/octet-stream";
  q.upload_path = local;
  q.attempts = 5;
  q.timeout_s = 600;
  rc = url ? e2_call(rs, &q, &status, &out, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  if (!rc && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: upload of %s failed: HTTP %ld: %s", remote, status, d);
  }
  ob_free(&out);
  os_free(enc);
  os_free(url);
  return rc;
}

static osiris_rc e2_start(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = NULL, *proc, *args, *f;
  osiris_rc rc;
  size_t i;
  int code = 0;
  double t0 = os_now_ms();
  rc = e2_create(rs, err);
  if (rc) goto done;
  f = rm_obj();
  if (f) {
    js_set_str(f, "sandbox_id", e->sandbox_id);
    js_set_str(f, "template", e->template_id);
    js_set_int(f, "timeout_s", e->timeout_s);
    js_set_int(f, "create_ms", (int64_t)(os_now_ms() - t0));
  }
  rm_event(rs, "sandbox_created", f);
  ss_log(&rs->run->ss, 1, "e2b: sandbox %s created (template %s, TTL %d s)", e->sandbox_id,
         e->template_id, e->timeout_s);
  rc = e2_upload(rs, rs->wsrc, rs->wbin, err);
  for (i = 0; !rc && i < osiris_json_size(rs->libs); i++) {
    char *remote = rm_lib_wpath(rs, i);
    rc = remote ? e2_upload(rs, osiris_json_str(osiris_json_at(rs->libs, i)), remote, err)
                : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(remote);
  }
  for (i = 0; !rc && i < osiris_json_size(rs->files); i++) {
    const char *rel = osiris_json_str(osiris_json_at(rs->files, i));
    char *local = os_path_join(rs->pkg_dir, rel), *remote = os_path_join(rs->wdir, rel);
    rc = local && remote ? e2_upload(rs, local, remote, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(local);
    os_free(remote);
  }
  if (rc) goto done;
  ss_log(&rs->run->ss, 1, "e2b: uploaded the worker and %zu package files",
         osiris_json_size(rs->files));
  /* chmod: an uploaded file is 0644 */
  req = rm_obj();
  proc = rm_obj();
  args = js_alloc(OSIRIS_JSON_ARRAY);
  if (!req || !proc || !args) {
    osiris_json_free(proc);
    osiris_json_free(args);
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(proc, "cmd", "/bin/chmod");
  js_push_str(args, "755");
  js_push_str(args, rs->wbin);
  osiris_json_set(proc, "args", args);
  osiris_json_set(req, "process", proc);
  js_set_bool(req, "stdin", 0);
  rc = e2_run_process(rs, "Start", req, 0, &code, err);
  if (!rc && code != 0)
    rc = os_fail(err, OSIRIS_EIO, "E2B: chmod of the worker failed (exit %d)", code);
  if (rc) goto done;
  rs->started = 1;
done:
  osiris_json_free(req);
  return rc;
}

static osiris_rc e2_pump(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = rm_obj(), *proc = rm_obj(), *args = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *envs = osiris_json_copy(rs->envs), *f;
  char *cmds = os_path_join(rs->wdir, "commands.jsonl");
  osiris_rc rc;
  int code = -1;
  if (!req || !proc || !args || !envs || !cmds) {
    osiris_json_free(proc);
    osiris_json_free(args);
    osiris_json_free(envs);
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(proc, "cmd", rs->wbin);
  js_push_str(args, cmds);
  js_push_str(args, rs->wdir);
  osiris_json_set(proc, "args", args);
  /* The secrets travel here only: the worker process's environment. */
  osiris_json_set(proc, "envs", envs);
  js_set_str(proc, "cwd", rs->wdir);
  osiris_json_set(req, "process", proc);
  js_set_bool(req, "stdin", 0);
  js_set_str(req, "tag", rs->run->ss.id);
  f = rm_obj();
  if (f) js_set_str(f, "sandbox_id", e->sandbox_id);
  rm_event(rs, "worker_started", f);
  e->out_fed = 0;
  e->last_extend_ms = os_now_ms();
  rc = e2_run_process(rs, "Start", req, E2_FEED | E2_KEEP_TTL, &code, err);
  if (rc && e2_dropped(rs, rc)) {
    rc = e2_reattach(rs, &code, err);
    if (rc) rs->out_line.len = 0; /* half a line of a broken stream is no line */
  }
  rm_flush(rs);
  rs->exited = rc == OSIRIS_OK;
  rs->exit_code = code;
  if (!rc && code == -1) rs->term_signal = 9;
  if (rc && rc != OSIRIS_ECANCEL && !e->got_eos && e2_health(rs) == 502) {
    size_t l = strlen(err->msg);
    snprintf(err->msg + l, sizeof err->msg - l, "; the sandbox no longer answers (HTTP 502 on /health)");
  }
done:
  osiris_json_free(req);
  os_free(cmds);
  return rc;
}

/* One unary Connect call of envd's Filesystem service: *resp owned on
 * OSIRIS_OK; *status the HTTP status (404/not_found: the path is not there). */
static osiris_rc e2_fs_call(rm_state *rs, const char *method, osiris_json *req, long *status,
                            osiris_json **resp, os_err *err) {
  char *url = os_asprintf("%s/filesystem.Filesystem/%s", rs->e2.envd_url, method);
  os_buf body = {0}, out = {0};
  osiris_rc rc;
  e2_req q;
  *resp = NULL;
  if (!url || !req || js_dump(&body, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.envd = 1;
  q.ctype = "application/json";
  q.body = body.p;
  q.body_len = body.len;
  q.attempts = 5;
  q.timeout_s = 60;
  rc = e2_call(rs, &q, status, &out, err);
  if (rc || *status == 404) goto done;
  if (*status != 200 || js_parse(out.p ? out.p : "", out.len, method, resp, NULL)) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: %s failed: HTTP %ld: %s", method, *status, d);
  }
done:
  ob_free(&body);
  ob_free(&out);
  os_free(url);
  return rc;
}

/* A sandbox file the host may download: FILE_TYPE_FILE (envd reports a
 * symbolic link as FILE_TYPE_SYMLINK and does not follow it). */
static osiris_rc e2_entry_ok(const osiris_json *en, const char *path, os_err *err) {
  const char *type = js_gets(en, "type");
  if (os_streq(type, "FILE_TYPE_FILE")) return OSIRIS_OK;
  return os_fail(err, OSIRIS_EIO, "refused the sandbox file %s: not a regular file (%s)", path,
                 type ? type : "no type");
}

static osiris_rc e2_fetch(rm_state *rs, const char *wpath, const char *hpath, int64_t limit,
                          const char *cap, int64_t *bytes, os_err *err) {
  char *enc = e2_escape(wpath);
  char *url = enc ? os_asprintf("%s/files?path=%s", rs->e2.envd_url, enc) : NULL;
  char *dir = os_path_dirname(hpath);
  osiris_json *req = rm_obj(), *resp = NULL;
  const osiris_json *en;
  os_buf out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  struct stat st;
  memset(&q, 0, sizeof q);
  q.method = "GET";
  q.url = url;
  q.envd = 1;
  q.download_path = hpath;
  q.max_bytes = limit;
  q.attempts = 5;
  q.timeout_s = 600;
  if (!url || !dir || !req || js_set_str(req, "path", wpath)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  /* What is there first: a regular file within the limit, or nothing. */
  rc = e2_fs_call(rs, "Stat", req, &status, &resp, err);
  if (!rc && status == 404) rc = os_fail(err, OSIRIS_ENOTFOUND, "E2B: %s is not in the sandbox", wpath);
  en = osiris_json_get(resp, "entry");
  if (!rc) rc = e2_entry_ok(en, wpath, err);
  if (!rc && limit >= 0) {
    const char *sz = js_gets(en, "size");
    if (sz && strtoll(sz, NULL, 10) > limit)
      rc = os_fail(err, OSIRIS_ELIMIT, "the sandbox file %s is larger than %lld bytes (%s)", wpath,
                   (long long)limit, cap);
  }
  if (!rc) rc = os_mkdir_p(dir, err);
  if (!rc) rc = e2_call(rs, &q, &status, &out, err);
  if (rc == OSIRIS_ELIMIT) /* the body outgrew what Stat said */
    rc = os_fail(err, OSIRIS_ELIMIT, "the sandbox file %s is larger than %lld bytes (%s)", wpath,
                 (long long)limit, cap);
  if (!rc && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: download of %s failed: HTTP %ld: %s", wpath, status, d);
  }
  if (!rc && bytes) *bytes = stat(hpath, &st) == 0 ? (int64_t)st.st_size : 0;
done:
  ob_free(&out);
  osiris_json_free(req);
  osiris_json_free(resp);
  os_free(enc);
  os_free(url);
  os_free(dir);
  return rc;
}

static osiris_rc e2_list(rm_state *rs, const char *dir, osiris_json *paths, os_err *err) {
  osiris_json *req = rm_obj(), *resp = NULL;
  const osiris_json *entries;
  long status = 0;
  osiris_rc rc;
  size_t i;
  if (!req || js_set_str(req, "path", dir) || js_set_int(req, "depth", 16)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = e2_fs_call(rs, "ListDir", req, &status, &resp, err);
  if (rc || status == 404) goto done; /* 404: no artifacts directory */
  entries = osiris_json_get(resp, "entries");
  for (i = 0; !rc && i < osiris_json_size(entries); i++) {
    const osiris_json *en = osiris_json_at(entries, i);
    const char *p = js_gets(en, "path");
    if (os_streq(js_gets(en, "type"), "FILE_TYPE_DIRECTORY")) continue;
    if (!p) rc = os_fail(err, OSIRIS_EIO, "E2B: ListDir of %s gave an entry without a path", dir);
    if (!rc) rc = e2_entry_ok(en, p, err);
    if (!rc && js_push_str(paths, p)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
done:
  osiris_json_free(req);
  osiris_json_free(resp);
  return rc;
}

static void e2_close(rm_state *rs) {
  e2_state *e = &rs->e2;
  e->no_cancel = 1;
  if (e->sandbox_id) {
    char *url;
    os_buf out = {0};
    os_err err = {0};
    long status = 0;
    e2_req q;
    osiris_json *f;
    if (e->have_pid && !rs->exited) { /* stop the worker first: aborting the stream does not */
      char *u = os_asprintf("%s/process.Process/SendSignal", e->envd_url);
      char *b = os_asprintf("{\"process\":{\"pid\":%" PRId64 "},\"signal\":\"SIGNAL_SIGKILL\"}", e->pid);
      memset(&q, 0, sizeof q);
      q.method = "POST";
      q.url = u;
      q.envd = 1;
      q.ctype = "application/json";
      q.body = b;
      q.body_len = b ? strlen(b) : 0;
      q.attempts = 1;
      q.timeout_s = 10;
      if (u && b) e2_call(rs, &q, &status, &out, &err);
      os_free(u);
      os_free(b);
    }
    url = os_asprintf("%s/sandboxes/%s", e->api_url, e->sandbox_id);
    memset(&q, 0, sizeof q);
    q.method = "DELETE";
    q.url = url;
    q.attempts = 5;
    q.timeout_s = 30;
    status = 0;
    err.msg[0] = 0;
    if (url) e2_call(rs, &q, &status, &out, &err);
    f = rm_obj();
    if (f) {
      js_set_str(f, "sandbox_id", e->sandbox_id);
      js_set_int(f, "http_status", status);
    }
    if (status == 204 || status == 200 || status == 404) {
      ss_log(&rs->run->ss, 1, "e2b: sandbox %s deleted%s", e->sandbox_id,
             status == 404 ? " (it was already gone)" : "");
    } else {
      ss_log(&rs->run->ss, 3, "e2b: could not delete sandbox %s (HTTP %ld%s%s); it ends at its TTL",
             e->sandbox_id, status, err.msg[0] ? ": " : "", err.msg);
      if (f) js_set_bool(f, "failed", 1);
    }
    if (f && rs->scratch && rm_env_flag("OSIRIS_KEEP_SANDBOX")) js_set_str(f, "kept", rs->scratch);
    rm_event(rs, "sandbox_deleted", f);
    ob_free(&out);
    os_free(url);
  }
  if (rs->scratch && !rm_env_flag("OSIRIS_KEEP_SANDBOX")) rm_rmtree(rs->scratch);
  e->no_cancel = 0;
}

static const rm_transport rm_e2b = {"e2b", e2_open, e2_start, e2_pump, e2_fetch, e2_list, e2_close};

/* ---------------------------------------------------------- the adapter */

static void rm_state_free(rm_state *rs) {
  size_t i;
  e2_state *e;
  if (!rs) return;
  e = &rs->e2;
  for (i = 0; i < osiris_json_size(rs->envs); i++) {
    osiris_json *v = rs->envs->u.c.items[i];
    if (v->kind == OSIRIS_JSON_STRING && v->u.s.ptr) memset(v->u.s.ptr, 0, v->u.s.len);
  }
  osiris_json_free(rs->envs);
  osiris_json_free(rs->files);
  osiris_json_free(rs->libs);
  osiris_json_free(rs->outputs);
  for (i = 0; i < rs->n_maps; i++) {
    os_free(rs->maps[i].wpath);
    os_free(rs->maps[i].hpath);
  }
  os_free(rs->maps);
  ob_free(&rs->out_line);
  ob_free(&rs->err_line);
  if (rs->err_fd >= 0) close(rs->err_fd);
  os_free(rs->pkg_dir);
  os_free(rs->wdir);
  os_free(rs->wbin);
  os_free(rs->wsrc);
  os_free(rs->scratch);
  os_free(e->api_url);
  os_free(e->envd_url);
  os_free(e->envd_override);
  if (e->api_key) memset(e->api_key, 0, strlen(e->api_key));
  os_free(e->api_key);
  os_free(e->domain);
  os_free(e->template_id);
  os_free(e->sandbox_id);
  if (e->token) memset(e->token, 0, strlen(e->token));
  os_free(e->token);
  ob_free(&e->env_buf);
  ob_free(&e->err_body);
  os_free(rs);
}

/* A name the worker's environment may take from OSIRIS_WORKER_ENV_<NAME>:
 * [A-Za-z_][A-Za-z0-9_]*, and none the transport sets itself (PATH, HOME,
 * the OSIRIS_SECRET_<n> references) or must keep out of the sandbox
 * (E2B_API_KEY). */
static int rm_worker_env_name_ok(const char *name, size_t n) {
  size_t i;
  if (n == 0 || n > 128 || isdigit((unsigned char)name[0])) return 0;
  for (i = 0; i < n; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '_') return 0;
  if ((n == 4 && (!memcmp(name, "PATH", 4) || !memcmp(name, "HOME", 4))) ||
      (n == 11 && !memcmp(name, "E2B_API_KEY", 11)) || (n >= 14 && !memcmp(name, "OSIRIS_SECRET_", 14)))
    return 0;
  return 1;
}

/* Extra variables for the worker (osiris run --e2b-env, --e2b-env-from,
 * --e2b-pass-env; an embedder sets the same variables): every
 * OSIRIS_WORKER_ENV_<NAME>=<value> of the host's process environment (never
 * a project's .env) becomes <NAME>=<value> in the worker process's
 * environment and nowhere else.  Each value is a secret of the session
 * from here on, so no file the host writes holds it; the event worker_env
 * lists the names only.  A name the worker may not get is left out with a
 * warning. */
static osiris_rc rm_worker_env(rm_state *rs) {
  static const char prefix[] = "OSIRIS_WORKER_ENV_";
  const size_t pl = sizeof prefix - 1;
  osiris_json *names = js_alloc(OSIRIS_JSON_ARRAY), *f;
  char **e;
  if (!names) return OSIRIS_ENOMEM;
  for (e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    char name[129];
    size_t n;
    if (strncmp(*e, prefix, pl) != 0 || !eq) continue;
    n = (size_t)(eq - *e) - pl;
    if (!rm_worker_env_name_ok(*e + pl, n)) {
      ss_log(&rs->run->ss, 2, "remote: %.*s is not passed to the worker: the worker may not get the name %.*s",
             (int)(eq - *e), *e, (int)n, *e + pl);
      continue;
    }
    memcpy(name, *e + pl, n);
    name[n] = 0;
    if (ss_add_secret(&rs->run->ss, eq + 1) || js_set_str(rs->envs, name, eq + 1) || js_push_str(names, name)) {
      osiris_json_free(names);
      return OSIRIS_ENOMEM;
    }
  }
  if (osiris_json_size(names) == 0) {
    osiris_json_free(names);
    return OSIRIS_OK;
  }
  f = rm_obj();
  if (!f) {
    osiris_json_free(names);
    return OSIRIS_ENOMEM;
  }
  if (osiris_json_set(f, "names", names)) { /* names freed by the call */
    osiris_json_free(f);
    return OSIRIS_ENOMEM;
  }
  rm_event(rs, "worker_env", f);
  return OSIRIS_OK;
}

static rm_state *rm_state_new(osiris_run *run) {
  rm_state *rs = os_calloc(1, sizeof *rs);
  if (!rs) return NULL;
  rs->run = run;
  rs->tp = os_streq(run->adapter->name, "e2b") ? &rm_e2b : &rm_subprocess;
  rs->local = rs->tp == &rm_subprocess;
  rs->files = js_alloc(OSIRIS_JSON_ARRAY);
  rs->outputs = js_alloc(OSIRIS_JSON_ARRAY);
  rs->envs = rm_obj();
  rs->err_fd = rs->fd_out = rs->fd_err = -1;
  rm_caps_load(&rs->caps);
  if (!rs->files || !rs->outputs || !rs->envs) {
    rm_state_free(rs);
    return NULL;
  }
  /* The spill and stream settings decide what the runner does with
   * frames: the worker must see the host's (environment or .env) for the
   * runs to match. */
  {
    static const char *const spill_vars[] = {"OSIRIS_FORCE_SPILL", "E2B_FORCE_SPILL",
                                             "OSIRIS_SPILL_THRESHOLD", "E2B_SPILL_THRESHOLD",
                                             "OSIRIS_STREAM", NULL};
    size_t i;
    for (i = 0; spill_vars[i]; i++) {
      const char *v = osiris_ctx_getenv(run->ctx, spill_vars[i]);
      if (v && js_set_str(rs->envs, spill_vars[i], v)) {
        rm_state_free(rs);
        return NULL;
      }
    }
  }
  if (rm_worker_env(rs)) {
    rm_state_free(rs);
    return NULL;
  }
  return rs;
}

static osiris_rc rm_prepare(osiris_run *run) {
  os_err err = {0};
  rm_state *rs = NULL;
  osiris_rc rc = rn_prepare_host(run, &err);
  if (rc) goto done;
  rs = rm_state_new(run);
  if (!rs) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  run->adapter_state = rs;
  rs->t_open = os_now_ms();
  if (rm_needs_dlopen(run)) {
    rc = rm_worker_dyn(rs, &err);
  } else {
    rs->wsrc = rm_worker_binary(&err);
    rc = rs->wsrc ? OSIRIS_OK : (err.rc ? err.rc : OSIRIS_ENOTFOUND);
  }
  if (!rc) rc = rs->tp->open(rs, &err);
  if (!rc) rc = rm_build_package(rs, &err);
  if (!rc && (run->install_deps || rm_env_flag("OSIRIS_E2B_INSTALL_DEPS"))) {
    osiris_json *f = rm_obj();
    if (f) {
      osiris_json_set(f, "missing", js_alloc(OSIRIS_JSON_ARRAY));
      js_set_str(f, "note", "the static worker needs no packages");
    }
    rm_event(rs, "dependency_check", f);
    ss_log(&run->ss, 1, "--e2b-install-deps: nothing to install (the worker is one static binary)");
  }
done:
  if (rc) {
    rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
    ss_log(&run->ss, 3, "%s", run->error);
  }
  run->prepared = rc == OSIRIS_OK;
  return rc;
}

/* The worker ended (or its transport broke): decide what the run says. */
static void rm_conclude(rm_state *rs, osiris_rc prc, const char *perr) {
  osiris_run *run = rs->run;
  char msg[OS_ERR_CAP];
  const char *reason = NULL;
  size_t i, running = (size_t)-1;
  osiris_json *f;
  for (i = 0; run->mf && i < run->mf->n_steps; i++)
    if (run->st[i].status == RN_RUNNING) running = i;
  msg[0] = 0;
  if (prc == OSIRIS_ECANCEL || os_cancelled(run->ctx)) {
    reason = "interrupted"; /* rn_set_error says timed_out when the timeout did it */
    snprintf(msg, sizeof msg, "the run was interrupted");
    prc = OSIRIS_ECANCEL;
  } else if (rs->refused) {
    /* The host believes nothing more from this worker: a step failure it
     * reported before gives way to the reason it is not believed. */
    reason = "worker_failed";
    snprintf(msg, sizeof msg, "%s", rs->error);
    prc = OSIRIS_EIO;
    run->rc = 0;
  } else if (prc) {
    reason = rs->tp == &rm_e2b ? "sandbox_failed" : "worker_failed";
    snprintf(msg, sizeof msg, "%s", perr);
    prc = OSIRIS_EIO;
  } else if (!rs->got_cleanup) {
    reason = "worker_failed";
    if (rs->term_signal)
      snprintf(msg, sizeof msg, "the worker was killed by signal %d before it finished",
               rs->term_signal);
    else if (rs->e2.exit_unknown)
      snprintf(msg, sizeof msg, "the worker ended before it finished (its exit status is unknown: "
               "the stream had dropped and E2B no longer knew the process)");
    else
      snprintf(msg, sizeof msg, "the worker exited with status %d before it finished", rs->exit_code);
    if (rs->e2.end_status[0]) {
      size_t l = strlen(msg);
      snprintf(msg + l, sizeof msg - l, " (%s)", rs->e2.end_status);
    }
    prc = OSIRIS_EIO;
  } else if (rs->exit_code != 0 && !run->rc) {
    reason = "worker_failed";
    snprintf(msg, sizeof msg, "the worker exited with status %d", rs->exit_code);
    prc = OSIRIS_EIO;
  } else if (!run->rc) {
    /* The host decides success: every step of its manifest must have an
     * outcome the worker reported (complete, failed or skipped). */
    for (i = 0; run->mf && i < run->mf->n_steps && !reason; i++) {
      rn_status s = run->st[i].status;
      if (s == RN_SUCCESS || s == RN_FAILED || s == RN_SKIPPED) continue;
      reason = "worker_failed";
      snprintf(msg, sizeof msg, "the worker exited without an outcome for step %s "
               "(no outcome for step %s: complete, failed or skipped)", run->mf->steps[i].id,
               run->mf->steps[i].id);
      prc = OSIRIS_EIO;
    }
  }
  if (!reason) return;
  if (run->rc && prc != OSIRIS_ECANCEL) {
    /* a step failure was reported first; keep it, log the rest */
    ss_log(&run->ss, 3, "%s", msg);
    return;
  }
  if (prc == OSIRIS_ECANCEL) {
    /* the first failure is the one reported, but Ctrl-C explains it best;
     * the step the worker reported stopped is still the one named */
    run->rc = 0;
    if (running == (size_t)-1 && run->failed_step && run->mf)
      running = rn_step_index(run->mf, run->failed_step);
    if (running != (size_t)-1 && run->st[running].status != RN_RUNNING) {
      rn_set_error(run, prc, run->mf->steps[running].id, reason, msg);
      ss_log(&run->ss, 3, "%s", run->error);
      rn_skip_rest(run, run->mf->steps[running].id);
      return;
    }
  }
  rn_set_error(run, prc, running != (size_t)-1 ? run->mf->steps[running].id : NULL, reason, msg);
  ss_log(&run->ss, 3, "%s", run->error);
  if (running != (size_t)-1) {
    rn_state *st = &run->st[running];
    rm_stopped_by_run_bound(rs, running, NULL);
    st->status = RN_FAILED;
    os_free(st->error);
    st->error = os_strdup(run->error);
    st->error_rc = prc;
    f = rm_obj();
    if (f) {
      js_set_str(f, "step_id", run->mf->steps[running].id);
      js_set_str(f, "driver", run->mf->steps[running].driver);
      js_set_str(f, "error", run->error);
      js_set_str(f, "error_type", osiris_rc_name(prc));
      js_set_int(f, "duration_ms", 0);
    }
    ss_event(&run->ss, "step_failed", f);
  }
  if (run->mf) rn_skip_rest(run, running != (size_t)-1 ? run->mf->steps[running].id : "(worker)");
}

static osiris_rc rm_execute(osiris_run *run) {
  rm_state *rs = run->adapter_state;
  os_err err = {0};
  osiris_rc rc;
  if (!rs) return run->rc ? run->rc : OSIRIS_EINVAL;
  rc = rs->tp->start(rs, &err);
  rs->t_started = os_now_ms();
  if (!rc) rc = rs->tp->pump(rs, &err);
  rs->t_ended = os_now_ms();
  if (rs->exited) {
    osiris_json *f = rm_obj();
    if (f) {
      js_set_int(f, "exit_code", rs->exit_code);
      if (rs->term_signal) js_set_int(f, "signal", rs->term_signal);
    }
    rm_event(rs, "worker_exited", f);
  }
  if (rc) {
    rs->failed = 1;
    snprintf(rs->error, sizeof rs->error, "%s", err.msg);
  }
  rm_conclude(rs, rc, err.msg);
  return run->rc;
}

/* One file back from the sandbox, within the caps on files and bytes. */
static osiris_rc rm_bring_back(rm_state *rs, const char *wpath, const char *hpath, int64_t *files,
                               int64_t *bytes, os_err *err) {
  int64_t left = rs->caps.total_bytes - *bytes, n = 0, limit;
  const char *cap = "OSIRIS_REMOTE_MAX_FILE_BYTES";
  osiris_rc rc;
  if (*files >= rs->caps.files)
    return os_fail(err, OSIRIS_ELIMIT, "the sandbox has more than %lld files to bring back "
                   "(OSIRIS_REMOTE_MAX_FILES)", (long long)rs->caps.files);
  limit = rs->caps.file_bytes;
  if (left < limit) {
    limit = left < 0 ? 0 : left;
    cap = "OSIRIS_REMOTE_MAX_TOTAL_BYTES";
  }
  rc = rs->tp->fetch(rs, wpath, hpath, limit, cap, &n, err);
  if (!rc) {
    (*files)++;
    *bytes += n;
  }
  return rc;
}

/* Bring back the files writers produced and artifacts/ of the worker.
 * Every host path comes from the host's own manifest: a declared output
 * (rm_host_path), or artifacts/<step>/... of a step of the manifest under
 * the run directory; any other file the sandbox offers fails the run. */
static osiris_rc rm_collect_files(rm_state *rs, int64_t *files, int64_t *bytes, os_err *err) {
  osiris_run *run = rs->run;
  osiris_json *paths = js_alloc(OSIRIS_JSON_ARRAY);
  char *adir = os_path_join(rs->wdir, "artifacts");
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  if (!paths || !adir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; !rc && i < osiris_json_size(rs->outputs); i++) {
    const char *w = osiris_json_str(osiris_json_at(rs->outputs, i));
    char *h = rm_host_path(rs, w); /* declared: rm_on_event refused anything else */
    rc = h ? rm_bring_back(rs, w, h, files, bytes, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(h);
  }
  if (!rc) rc = rs->tp->list(rs, adir, paths, err);
  for (i = 0; !rc && i < osiris_json_size(paths); i++) {
    const char *w = osiris_json_str(osiris_json_at(paths, i));
    const char *rel = rm_below(w, rs->wdir);
    char *h;
    if (!rel || !rm_artifact_rel_ok(rs, rel)) {
      rc = os_fail(err, OSIRIS_EIO, "refused the sandbox file '%s': not below artifacts/<step>/ of "
                   "this run", w);
      break;
    }
    h = os_path_join(run->ss.dir, rel);
    rc = h ? rm_bring_back(rs, w, h, files, bytes, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(h);
  }
done:
  osiris_json_free(paths);
  os_free(adir);
  return rc;
}

static osiris_rc rm_collect(osiris_run *run) {
  rm_state *rs = run->adapter_state;
  osiris_rc rc;
  if (rs) {
    int64_t files = 0, bytes = 0;
    double t0 = os_now_ms(), copy_ms = 0;
    /* A dead sandbox has nothing to give; a dead local worker left files. */
    if (rs->started && !(rs->failed && rs->tp == &rm_e2b) && !rs->refused && !os_cancelled(run->ctx)) {
      os_err err = {0};
      osiris_rc crc = rm_collect_files(rs, &files, &bytes, &err);
      if (crc) {
        if (!run->rc) {
          rn_set_error(run, crc, NULL, "collect_failed", err.msg);
          run->ok = 0;
        }
        ss_log(&run->ss, 3, "remote: collecting files failed: %s", err.msg);
      }
      copy_ms = os_now_ms() - t0;
      {
        osiris_json *f = rm_obj();
        if (f) {
          js_set_int(f, "files", files);
          js_set_int(f, "bytes", bytes);
        }
        rm_event(rs, "artifacts_downloaded", f);
      }
    }
    rs->tp->close(rs);
    {
      double total = os_now_ms() - rs->t_open;
      double worker = rs->t_ended > rs->t_started ? rs->t_ended - rs->t_started : 0;
      double overhead = total - worker - copy_ms;
      ss_metric(&run->ss, "e2b_overhead_ms", overhead > 0 ? floor(overhead) : 0, "ms", NULL);
      ss_metric(&run->ss, "artifacts_copy_ms", floor(copy_ms), "ms", NULL);
      ss_metric(&run->ss, "artifacts_bytes_total", (double)bytes, "bytes", NULL);
      ss_metric(&run->ss, "artifacts_files_total", (double)files, "files", NULL);
    }
  }
  if (run->rc) run->ok = 0;
  rc = rn_write_results(run, 1);
  rm_state_free(rs);
  run->adapter_state = NULL;
  return run->rc ? run->rc : rc;
}

static const osiris_adapter rm_sandbox_adapter = {"sandbox", rm_prepare, rm_execute, rm_collect};
static const osiris_adapter rm_e2b_adapter = {"e2b", rm_prepare, rm_execute, rm_collect};

static void rm_register_adapters(osiris_ctx *ctx) {
  osiris_adapter_register(ctx, &rm_sandbox_adapter);
  osiris_adapter_register(ctx, &rm_e2b_adapter);
}

/* ---------------------------------------------------------- HTTP for drivers
 *
 * osiris_step_http and osiris_http (osiris.h): the one retry policy of
 * the drivers' HTTP calls, one loop (ht_run) for both; the step-less call
 * scrubs its message with a scrubber of its own.  One easy handle per
 * attempt (no connection reuse across retries: a broken connection is
 * never handed back).  Header values are
 * registered as secrets before the first byte is sent, so that no message,
 * event or log line of the run can show them, and the header texts libcurl
 * copied are wiped before they are freed.  The progress callback aborts a
 * transfer as soon as the run is cancelled (SIGINT or --timeout), and
 * waits poll the same flag every 50 ms.
 */

#define HT_MAX_RESPONSE ((size_t)64 << 20)
#define HT_WARN_PLAIN 1u    /* plain http with OSIRIS_ALLOW_INSECURE_HTTP=1 */
#define HT_WARN_NOVERIFY 2u /* TLS verification off */

typedef struct ht_sink {
  osiris_buf *body;
  size_t max;
  int over;
} ht_sink;

static size_t ht_write_cb(char *p, size_t sz, size_t n, void *user) {
  ht_sink *k = user;
  size_t len = sz * n;
  if (len > k->max || k->body->len > k->max - len) {
    k->over = 1;
    return 0;
  }
  osiris_buf_put(k->body, p, len);
  return k->body->oom ? 0 : len;
}

/* Whether the run of s (NULL: osiris_http, no run) was cancelled. */
static int ht_cancelled(const osiris_step *s) { return s && s->run->ctx->cancelled; }

static int ht_progress_cb(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  (void)a;
  (void)b;
  (void)c;
  (void)d;
  return ht_cancelled(user) ? 1 : 0;
}

/* Headers whose values are not credentials (case-insensitive names). */
static int ht_plain_header(const char *name, size_t n) {
  static const char *const plain[] = {"accept", "accept-encoding", "accept-language", "content-type",
                                      "content-length", "user-agent", "cache-control", "connection",
                                      "expect", "prefer", NULL};
  size_t i;
  for (i = 0; plain[i]; i++)
    if (strlen(plain[i]) == n && strncasecmp(plain[i], name, n) == 0) return 1;
  return 0;
}

/* Register the credentials of q: header values, the URL's password and
 * the values of secret-named query parameters. */
static osiris_rc ht_add_secrets(ss_session *ss, const osiris_http_req *q) {
  const char *const *h;
  const char *qs;
  osiris_rc rc = ss_add_url_password(ss, q->url);
  for (h = q->headers; !rc && h && *h; h++) {
    const char *colon = strchr(*h, ':'), *v, *sp;
    if (!colon || ht_plain_header(*h, (size_t)(colon - *h))) continue;
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++) {
    }
    rc = ss_add_secret(ss, v);
    /* "Bearer <token>": the credential alone can reach a message too.  Only
     * for the headers with an auth scheme: a word of another header's value
     * would be scrubbed from every line of the run. */
    sp = strchr(v, ' ');
    if (!rc && sp && sp[1] &&
        ((colon - *h == 13 && strncasecmp(*h, "authorization", 13) == 0) ||
         (colon - *h == 19 && strncasecmp(*h, "proxy-authorization", 19) == 0)))
      rc = ss_add_secret(ss, sp + 1);
  }
  qs = strchr(q->url, '?');
  while (!rc && qs && *qs) {
    const char *name = qs + 1, *eq = name, *end;
    while (*eq && *eq != '=' && *eq != '&' && *eq != '#') eq++;
    end = eq;
    while (*end && *end != '&' && *end != '#') end++;
    if (*eq == '=' && end > eq + 1) {
      char *k = os_strndup(name, (size_t)(eq - name)), *val = os_strndup(eq + 1, (size_t)(end - eq - 1));
      if (!k || !val) rc = OSIRIS_ENOMEM;
      else if (mk_is_secret_key(k) || mk_is_masked_key(k)) rc = ss_add_secret(ss, val);
      os_free(k);
      os_free(val);
    }
    qs = *end == '&' ? end : NULL;
  }
  return rc;
}

/* The URL as messages show it: "scheme://" then "***@" for user info, the
 * host and path, then "?name=***" for each query parameter, no fragment. */
static void ht_url_shown(const char *url, char *out, size_t cap) {
  os_buf b = {0};
  const char *p = strstr(url, "://"), *host, *at, *slash;
  if (!p) {
    snprintf(out, cap, "(not a URL)");
    return;
  }
  host = p + 3;
  slash = host + strcspn(host, "/?#");
  at = memchr(host, '@', (size_t)(slash - host));
  ob_put(&b, url, (size_t)(host - url));
  if (at) {
    ob_puts(&b, "***@");
    host = at + 1;
  }
  p = host + strcspn(host, "?#");
  ob_put(&b, host, (size_t)(p - host));
  if (*p == '?') {
    p++;
    ob_putc(&b, '?');
    while (*p && *p != '#') {
      size_t n = strcspn(p, "=&#");
      ob_put(&b, p, n);
      p += n;
      if (*p == '=') {
        ob_puts(&b, "=***");
        p += strcspn(p, "&#");
      }
      if (*p == '&') ob_putc(&b, *p++);
    }
  }
  snprintf(out, cap, "%s", b.p ? b.p : url);
  ob_free(&b);
}

/* Wait ms, polling the run's cancellation; 1 when cancelled. */
static int ht_sleep_ms(osiris_step *s, double ms) {
  double end = os_now_ms() + ms;
  while (!ht_cancelled(s)) {
    double left = end - os_now_ms();
    struct timespec ts = {0, 0};
    if (left <= 0) return 0;
    ts.tv_nsec = (long)((left > 50 ? 50 : left) * 1e6);
    nanosleep(&ts, NULL);
  }
  return 1;
}

static void ht_warn_once(osiris_step *s, unsigned bit, const char *setting, const char *msg) {
  osiris_json *f;
  if (s->http_warned & bit) return;
  s->http_warned |= bit;
  f = js_alloc(OSIRIS_JSON_OBJECT);
  if (f) {
    js_set_str(f, "setting", setting);
    js_set_str(f, "message", msg);
  }
  osiris_step_event(s, "security_warning", f);
  osiris_step_log(s, 2, "%s: %s", setting, msg);
}

/* Free a header list after wiping the texts (they hold credentials). */
static void ht_free_headers(struct curl_slist *h) {
  struct curl_slist *t;
  for (t = h; t; t = t->next)
    if (t->data) memset(t->data, 0, strlen(t->data));
  curl_slist_free_all(h);
}

static osiris_rc ht_headers(const osiris_http_req *q, struct curl_slist **out) {
  struct curl_slist *h = NULL, *t;
  const char *const *l;
  int ua = 0, ct = 0;
  *out = NULL;
  for (l = q->headers; l && *l; l++) {
    const char *colon = strchr(*l, ':');
    if (!colon || colon == *l || strchr(*l, '\n') || strchr(*l, '\r')) {
      ht_free_headers(h);
      return OSIRIS_EINVAL;
    }
    if (colon - *l == 10 && strncasecmp(*l, "user-agent", 10) == 0) ua = 1;
    if (colon - *l == 12 && strncasecmp(*l, "content-type", 12) == 0) ct = 1;
    if (!(t = curl_slist_append(h, *l))) goto oom;
    h = t;
  }
  if (!ua && !(t = curl_slist_append(h, "User-Agent: osiris/" OSIRIS_VERSION))) goto oom;
  h = ua ? h : t;
  if (!(t = curl_slist_append(h, "Expect:"))) goto oom;
  h = t;
  if (q->body && !ct) {
    if (!(t = curl_slist_append(h, "Content-Type: application/json"))) goto oom;
    h = t;
  }
  *out = h;
  return OSIRIS_OK;
oom:
  ht_free_headers(h);
  return OSIRIS_ENOMEM;
}

static OS_PRINTF(4, 5) osiris_rc ht_fail(char *err, size_t cap, osiris_rc rc, const char *fmt,
                                         ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return rc;
}

/* The one request loop of osiris_step_http and osiris_http.  s is the
 * step (events, log lines, cancellation, security warnings) or NULL;
 * ss receives the request's credentials; on every code but OSIRIS_OK,
 * err[0..cap) receives the message (not yet scrubbed). */
static osiris_rc ht_run(osiris_step *s, ss_session *ss, const osiris_http_req *q, long *status,
                        osiris_buf *body, char *err, size_t ecap) {
  char shown[600], cerr[CURL_ERROR_SIZE];
  const char *method, *what;
  int attempt, max;
  long timeout;
  double backoff, backoff_max;
  size_t cap;
  osiris_rc rc;
  if (!q->url || !q->url[0]) return ht_fail(err, ecap, OSIRIS_EINVAL, "HTTP request without a URL");
  method = q->method ? q->method : q->body ? "POST" : "GET";
  what = q->what ? q->what : method;
  ht_url_shown(q->url, shown, sizeof shown);
  if (strncmp(q->url, "https://", 8) != 0 && strncmp(q->url, "http://", 7) != 0)
    return ht_fail(err, ecap, OSIRIS_EINVAL, "%s: only http:// and https:// URLs are supported",
                   shown);
  if ((rc = ht_add_secrets(ss, q)) != OSIRIS_OK) return ht_fail(err, ecap, rc, "out of memory");
  if (!osiris_url_is_secure(q->url)) {
    if (!rm_env_flag("OSIRIS_ALLOW_INSECURE_HTTP"))
      return ht_fail(err, ecap, OSIRIS_EINVAL,
                     "%s: https is required (plain http only to a loopback host, or with "
                     "OSIRIS_ALLOW_INSECURE_HTTP=1)", shown);
    if (s)
      ht_warn_once(s, HT_WARN_PLAIN, "url",
                   "plain http to a non-loopback host (OSIRIS_ALLOW_INSECURE_HTTP=1): requests "
                   "travel unencrypted");
  }
  if (s && q->insecure && strncmp(q->url, "https://", 8) == 0)
    ht_warn_once(s, HT_WARN_NOVERIFY, "tls", "TLS certificate verification is off");
  pthread_once(&e2_curl_once, e2_curl_init);
  if (!e2_curl_ok) return ht_fail(err, ecap, OSIRIS_EIO, "cannot initialize libcurl");
  max = q->attempts > 0 ? q->attempts : 3;
  timeout = q->timeout_s > 0 ? q->timeout_s : 60;
  backoff = q->backoff_ms > 0 ? (double)q->backoff_ms : 1000;
  backoff_max = q->backoff_max_ms > 0 ? (double)q->backoff_max_ms : 30000;
  cap = q->max_response ? q->max_response : HT_MAX_RESPONSE;
  for (attempt = 1;; attempt++) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    ht_sink sink;
    CURLcode c;
    curl_off_t after = -1;
    double delay;
    int retry;
    body->len = 0;
    if (body->p) body->p[0] = 0;
    if (!h) return ht_fail(err, ecap, OSIRIS_ENOMEM, "cannot initialize libcurl");
    if ((rc = ht_headers(q, &hdrs)) != OSIRIS_OK) {
      curl_easy_cleanup(h);
      return ht_fail(err, ecap, rc,
                     rc == OSIRIS_EINVAL ? "%s: a header line must be \"Name: value\""
                                         : "%s: out of memory",
                     shown);
    }
    sink.body = body;
    sink.max = cap;
    sink.over = 0;
    cerr[0] = 0;
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    if (s) {
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, ht_progress_cb);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ht_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes count against cap */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (q->insecure) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (q->body || strcmp(method, "POST") == 0) {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->body_len : 0));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    c = curl_easy_perform(h);
    if (q->sent) *q->sent = attempt;
    *status = 0;
    if (c == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
#if LIBCURL_VERSION_NUM >= 0x074200
    if (c == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after);
#endif
    ht_free_headers(hdrs);
    curl_easy_cleanup(h);
    if (c == CURLE_ABORTED_BY_CALLBACK || ht_cancelled(s))
      return ht_fail(err, ecap, OSIRIS_ECANCEL, "%s %s: interrupted", method, shown);
    if (sink.over)
      return ht_fail(err, ecap, OSIRIS_ELIMIT, "%s %s: the response is larger than %zu bytes",
                     method, shown, cap);
    if (body->oom) return ht_fail(err, ecap, OSIRIS_ENOMEM, "%s %s: out of memory", method, shown);
    retry = c == CURLE_OK ? (*status == 429 || *status >= 500) : e2_retryable_curl(c);
    if (!retry) {
      if (c != CURLE_OK)
        return ht_fail(err, ecap, OSIRIS_EIO, "%s %s: %s", method, shown,
                       cerr[0] ? cerr : curl_easy_strerror(c));
      osiris_buf_put(body, "", 0);
      return body->oom ? ht_fail(err, ecap, OSIRIS_ENOMEM, "out of memory") : OSIRIS_OK;
    }
    if (attempt >= max) {
      if (c != CURLE_OK)
        return ht_fail(err, ecap, OSIRIS_EIO, "%s %s: %s (after %d attempt%s)", method, shown,
                       cerr[0] ? cerr : curl_easy_strerror(c), attempt, attempt == 1 ? "" : "s");
      if (s)
        osiris_step_log(s, 2, "%s %s (%s): HTTP %ld after %d attempt%s; giving up", method, shown,
                        what, *status, attempt, attempt == 1 ? "" : "s");
      osiris_buf_put(body, "", 0);
      return body->oom ? ht_fail(err, ecap, OSIRIS_ENOMEM, "out of memory") : OSIRIS_OK;
    }
    {
      char r[5];
      int k;
      delay = backoff;
      for (k = 1; k < attempt && delay < backoff_max; k++) delay *= 2;
      if (delay > backoff_max) delay = backoff_max;
      os_random_hex(r, 4);
      delay = delay / 2 + delay / 2 * ((double)strtol(r, NULL, 16) / 65535.0);
      if (after > 0) delay = (double)after * 1000 > delay ? (double)after * 1000 : delay;
      if (delay > backoff_max) delay = backoff_max;
      delay = floor(delay);
    }
    if (s) {
      osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
      if (f) {
        js_set_str(f, "request", what);
        osiris_json_set(f, "attempt", osiris_json_new_int(attempt));
        osiris_json_set(f, "attempts", osiris_json_new_int(max));
        if (c == CURLE_OK) osiris_json_set(f, "http_status", osiris_json_new_int(*status));
        else js_set_str(f, "error", cerr[0] ? cerr : curl_easy_strerror(c));
        osiris_json_set(f, "delay_ms", osiris_json_new_int((int64_t)delay));
      }
      osiris_step_event(s, q->retry_event ? q->retry_event : "http_retry", f);
      if (c == CURLE_OK)
        osiris_step_log(s, 2, "%s %s (%s): HTTP %ld; retrying in %.0f ms (attempt %d of %d)",
                        method, shown, what, *status, delay, attempt + 1, max);
      else
        osiris_step_log(s, 2, "%s %s (%s): %s; retrying in %.0f ms (attempt %d of %d)", method,
                        shown, what, cerr[0] ? cerr : curl_easy_strerror(c), delay, attempt + 1,
                        max);
    }
    if (ht_sleep_ms(s, delay))
      return ht_fail(err, ecap, OSIRIS_ECANCEL, "%s %s: interrupted", method, shown);
  }
}

osiris_rc osiris_step_http(osiris_step *s, const osiris_http_req *q, long *status,
                           osiris_buf *body) {
  char err[OS_ERR_CAP];
  osiris_rc rc;
  if (status) *status = 0;
  if (q && q->sent) *q->sent = 0;
  if (q && q->error && q->error_cap) q->error[0] = 0;
  if (!s || !q || !status || !body)
    return s ? osiris_step_fail(s, OSIRIS_EINVAL, "osiris_step_http: missing argument")
             : OSIRIS_EINVAL;
  if ((rc = ht_run(s, &s->run->ss, q, status, body, err, sizeof err)) == OSIRIS_OK) return rc;
  rc = osiris_step_fail(s, rc, "%s", err);
  if (q->error && q->error_cap) snprintf(q->error, q->error_cap, "%s", s->error);
  return rc;
}

osiris_rc osiris_http(const osiris_http_req *q, long *status, osiris_buf *body, char *err,
                      size_t errcap) {
  char msg[OS_ERR_CAP];
  ss_session ss;
  osiris_rc rc;
  if (status) *status = 0;
  if (err && errcap) err[0] = 0;
  if (q && q->sent) *q->sent = 0;
  if (q && q->error && q->error_cap) q->error[0] = 0;
  if (!q || !status || !body) {
    if (err && errcap) snprintf(err, errcap, "osiris_http: missing argument");
    return OSIRIS_EINVAL;
  }
  ss_session_init(&ss);
  rc = ht_run(NULL, &ss, q, status, body, msg, sizeof msg);
  if (rc != OSIRIS_OK) {
    ss_scrub_buf(&ss, msg, sizeof msg);
    if (err && errcap) snprintf(err, errcap, "%s", msg);
    if (q->error && q->error_cap) snprintf(q->error, q->error_cap, "%s", msg);
  }
  ss_close(&ss);
  return rc;
}

/* ======================================================================
 * 17. Run comparison (osiris runs diff)
 *
 * Two run directories are equivalent when they tell the same story: the
 * same events per step in the same order with the same fields, the same
 * metrics with the same tags and row counts, the same artifacts (path and
 * sha256), the same status.json and run_card.json and the same output
 * files.  What naturally differs between two runs is left out: times,
 * durations, session ids, absolute run paths, the adapter's name, memory
 * figures.  Events and metrics that only a transport emits (sandbox
 * creation, artifact download) are listed apart, never as differences.
 * Two runs compare what ran, not when or where it was compiled: each run
 * of an OML file compiles again, so manifest.yaml is compared by content
 * without meta.generated_at (the one field that depends on the clock; the
 * fingerprints and manifest_hash leave it out already), never by its
 * sha256; and a path under a run's base directory (the directory the
 * pipeline's relative paths start from) is compared as the pipeline wrote
 * it, so two checkouts of one project compare too.
 * ====================================================================== */

/* Fields that differ between any two runs of the same pipeline. */
static int df_ignored_field(const char *k) {
  static const char *const ignored[] = {"ts", "session", "session_id", "session_dir",
                                        "duration_ms", "duration", "manifest_path", "adapter",
                                        "sandbox_id", "value_ms",
                                        "delay_ms", /* a retry's wait, jittered */ NULL};
  size_t i;
  for (i = 0; ignored[i]; i++)
    if (strcmp(k, ignored[i]) == 0) return 1;
  return 0;
}

static int df_transport_name(const char *name) {
  static const char *const prefixes[] = {"e2b_", "sandbox_", "transport_", "worker_",
                                         "artifacts_copy", "artifacts_bytes", "artifacts_files",
                                         "artifacts_downloaded", "dependency_", "package_", NULL};
  size_t i;
  for (i = 0; prefixes[i]; i++)
    if (os_startswith(name, prefixes[i])) return 1;
  return 0;
}

/* s with every "<base>/" removed (owned), or NULL when base is absent. */
static char *df_strip_base(const char *s, const char *base) {
  size_t bl = base ? strlen(base) : 0;
  os_buf b = {0};
  const char *p = s, *hit;
  if (!bl || !strstr(s, base)) return NULL;
  while ((hit = strstr(p, base)) != NULL) {
    ob_put(&b, p, (size_t)(hit - p));
    if (hit[bl] == '/') {
      p = hit + bl + 1;
    } else {
      ob_put(&b, hit, bl);
      p = hit + bl;
    }
  }
  ob_puts(&b, p);
  return ob_take(&b);
}

/* Every string inside v with the base directory taken out (depth-bounded:
 * event lines are at most a few levels deep). */
static void df_relativize(osiris_json *v, const char *base, int depth) {
  size_t i;
  if (!v || !base || depth > 16) return;
  if (v->kind == OSIRIS_JSON_OBJECT || v->kind == OSIRIS_JSON_ARRAY) {
    for (i = 0; i < v->u.c.n; i++) {
      osiris_json *item = v->u.c.items[i], *nv;
      char *rel;
      if (item->kind != OSIRIS_JSON_STRING) {
        df_relativize(item, base, depth + 1);
        continue;
      }
      rel = df_strip_base(item->u.s.ptr, base);
      nv = rel ? osiris_json_new_str(rel, strlen(rel)) : NULL;
      if (nv) {
        osiris_json_free(item);
        v->u.c.items[i] = nv;
      }
      os_free(rel);
    }
  }
}

/* A canonical one-line form of an event or metric without its ignored
 * fields, used as the unit of comparison.  manifest_materialized keeps its
 * path only: the manifest is compared by content (df_manifest). */
static char *df_normalize(const osiris_json *line, const char *kind_key, int metric, const char *base) {
  osiris_json *copy = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  size_t i;
  const char *name = js_gets(line, kind_key);
  int manifest = !metric && os_streq(name, "manifest_materialized");
  if (!copy) return NULL;
  for (i = 0; i < line->u.c.n; i++) {
    const char *k = line->u.c.keys[i];
    if (df_ignored_field(k)) continue;
    if (manifest && (os_streq(k, "sha256") || os_streq(k, "size") || os_streq(k, "size_bytes"))) continue;
    /* Metric values: row counts must match; measurements may not. */
    if (metric && strcmp(k, "value") == 0 && !os_startswith(name, "rows_") &&
        !os_streq(name, "steps_total") && !os_streq(name, "steps_completed"))
      continue;
    osiris_json_set(copy, k, osiris_json_copy(line->u.c.items[i]));
  }
  df_relativize(copy, base, 0);
  js_dump(&b, copy, OSIRIS_JSON_SORTED);
  osiris_json_free(copy);
  return ob_take(&b);
}

typedef struct df_lines {
  char **items;   /* normalized lines */
  char **groups;  /* step id or "" for run-level */
  char **names;
  size_t n, cap;
} df_lines;

static void df_lines_free(df_lines *l) {
  size_t i;
  for (i = 0; i < l->n; i++) {
    os_free(l->items[i]);
    os_free(l->groups[i]);
    os_free(l->names[i]);
  }
  os_free(l->items);
  os_free(l->groups);
  os_free(l->names);
  memset(l, 0, sizeof *l);
}

static osiris_rc df_read_lines(const char *dir, const char *file, const char *kind_key, int metric,
                               const char *base, df_lines *out, os_err *err) {
  char *path = os_path_join(dir, file), *text = NULL, *p, *next;
  osiris_rc rc;
  if (!path) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_read_file(path, &text, NULL, err);
  os_free(path);
  if (rc) return rc;
  for (p = text; p && *p; p = next) {
    osiris_json *line = NULL;
    const char *group;
    next = strchr(p, '\n');
    if (next) *next++ = 0;
    if (!*p) continue;
    if (js_parse(p, strlen(p), file, &line, err)) continue;
    if (out->n == out->cap) {
      size_t cap = out->cap ? out->cap * 2 : 64;
      char **a = os_realloc(out->items, cap * sizeof *a), **g, **nm;
      if (a) out->items = a;
      g = os_realloc(out->groups, cap * sizeof *g);
      if (g) out->groups = g;
      nm = os_realloc(out->names, cap * sizeof *nm);
      if (nm) out->names = nm;
      if (!a || !g || !nm) {
        osiris_json_free(line);
        os_free(text);
        return os_fail(err, OSIRIS_ENOMEM, "out of memory");
      }
      out->cap = cap;
    }
    group = js_gets(line, "step_id");
    if (!group) group = js_gets(osiris_json_get(line, "tags"), "step_id");
    out->items[out->n] = df_normalize(line, kind_key, metric, base);
    out->groups[out->n] = os_strdup(group ? group : "");
    out->names[out->n] = os_strdup(js_gets(line, kind_key) ? js_gets(line, kind_key) : "");
    out->n++;
    osiris_json_free(line);
  }
  os_free(text);
  return OSIRIS_OK;
}

static void df_add(osiris_json *list, const char *fmt, ...) OS_PRINTF(2, 3);
static void df_add(osiris_json *list, const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = os_vasprintf(fmt, ap);
  va_end(ap);
  if (s) osiris_json_push(list, osiris_json_new_str(s, strlen(s)));
  os_free(s);
}

/* Compare two line sets group by group (per step, in order). */
static void df_compare_lines(const char *what, df_lines *a, df_lines *b, osiris_json *diffs,
                             osiris_json *transport) {
  size_t i;
  /* Groups in order of first appearance in a, then those only in b. */
  for (i = 0; i < a->n + b->n; i++) {
    const char *g = i < a->n ? a->groups[i] : b->groups[i - a->n];
    size_t ia = 0, ib = 0, k;
    int seen = 0;
    for (k = 0; k < i && !seen; k++)
      if (strcmp(k < a->n ? a->groups[k] : b->groups[k - a->n], g) == 0) seen = 1;
    if (seen) continue;
    for (;;) {
      while (ia < a->n && (strcmp(a->groups[ia], g) || df_transport_name(a->names[ia]))) {
        if (!strcmp(a->groups[ia], g) && df_transport_name(a->names[ia]))
          df_add(transport, "A %s %s", what, a->names[ia]);
        ia++;
      }
      while (ib < b->n && (strcmp(b->groups[ib], g) || df_transport_name(b->names[ib]))) {
        if (!strcmp(b->groups[ib], g) && df_transport_name(b->names[ib]))
          df_add(transport, "B %s %s", what, b->names[ib]);
        ib++;
      }
      if (ia >= a->n && ib >= b->n) break;
      if (ia >= a->n) {
        df_add(diffs, "%s%s%s: only in B: %s", what, *g ? " of step " : " (run)", g, b->items[ib]);
        ib++;
        continue;
      }
      if (ib >= b->n) {
        df_add(diffs, "%s%s%s: only in A: %s", what, *g ? " of step " : " (run)", g, a->items[ia]);
        ia++;
        continue;
      }
      if (strcmp(a->items[ia], b->items[ib]) != 0) {
        /* Same name: a field differs; different names: order or presence. */
        if (strcmp(a->names[ia], b->names[ib]) == 0)
          df_add(diffs, "%s%s%s: %s differs:\n    A: %s\n    B: %s", what,
                 *g ? " of step " : " (run)", g, a->names[ia], a->items[ia], b->items[ib]);
        else
          df_add(diffs, "%s%s%s: A has %s where B has %s", what, *g ? " of step " : " (run)", g,
                 a->names[ia], b->names[ib]);
      }
      ia++;
      ib++;
    }
  }
}

/* Every file under dir/artifacts with its sha256, as "path sha". */
static void df_list_artifacts(const char *root, const char *rel, osiris_json *out) {
  char *dirpath = *rel ? os_path_join(root, rel) : os_strdup(root);
  DIR *d = dirpath ? opendir(dirpath) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char *sub, *full;
    if (e->d_name[0] == '.') continue;
    sub = *rel ? os_asprintf("%s/%s", rel, e->d_name) : os_strdup(e->d_name);
    full = sub ? os_path_join(root, sub) : NULL;
    if (full && os_is_dir(full)) {
      df_list_artifacts(root, sub, out);
    } else if (full) {
      char hex[65];
      if (os_sha256_file_hex(full, hex) == 0) js_set_str(out, sub, hex);
    }
    os_free(sub);
    os_free(full);
  }
  if (d) closedir(d);
  os_free(dirpath);
}

static void df_compare_objects(const char *what, const osiris_json *a, const osiris_json *b,
                               osiris_json *diffs) {
  size_t i;
  if (!a || !b) {
    if (a || b) df_add(diffs, "%s: only in %s", what, a ? "A" : "B");
    return;
  }
  for (i = 0; i < a->u.c.n; i++) {
    const char *k = a->u.c.keys[i];
    const osiris_json *bv = osiris_json_get(b, k);
    char *sa, *sb;
    if (df_ignored_field(k)) continue;
    sa = osiris_json_dump(a->u.c.items[i], OSIRIS_JSON_SORTED, NULL);
    sb = bv ? osiris_json_dump(bv, OSIRIS_JSON_SORTED, NULL) : NULL;
    if (!sb) df_add(diffs, "%s: %s only in A", what, k);
    else if (sa && strcmp(sa, sb)) df_add(diffs, "%s: %s differs: A %s, B %s", what, k, sa, sb);
    osiris_free(sa);
    osiris_free(sb);
  }
  for (i = 0; i < b->u.c.n; i++)
    if (!df_ignored_field(b->u.c.keys[i]) && !osiris_json_get(a, b->u.c.keys[i]))
      df_add(diffs, "%s: %s only in B", what, b->u.c.keys[i]);
}

/* run_card.json without what differs by nature. */
static osiris_json *df_card(const char *dir) {
  char *path = os_path_join(dir, "run_card.json");
  osiris_json *card = NULL;
  os_err err = {0};
  const osiris_json *steps;
  size_t i;
  if (path) js_read_file(path, &card, &err);
  os_free(path);
  steps = osiris_json_get(card, "steps");
  for (i = 0; i < osiris_json_size(steps); i++) {
    osiris_json_remove((osiris_json *)osiris_json_at(steps, i), "duration_ms");
    osiris_json_remove((osiris_json *)osiris_json_at(steps, i), "start_offset_ms");
    osiris_json_remove((osiris_json *)osiris_json_at(steps, i), "end_offset_ms");
  }
  /* what ran at once depends on --jobs and the machine, not on the story */
  if (card) osiris_json_remove(card, "parallel");
  return card;
}

/* Output files named by output_written events, with their sha256 now,
 * keyed by the path as the pipeline wrote it. */
static void df_outputs(const char *dir, const char *base, osiris_json *out) {
  char *path = os_path_join(dir, "events.jsonl"), *text = NULL, *p, *next;
  os_err err = {0};
  if (!path || os_read_file(path, &text, NULL, &err)) {
    os_free(path);
    return;
  }
  os_free(path);
  for (p = text; p && *p; p = next) {
    osiris_json *line = NULL;
    next = strchr(p, '\n');
    if (next) *next++ = 0;
    if (js_parse(p, strlen(p), NULL, &line, &err) == OSIRIS_OK &&
        os_streq(js_gets(line, "event"), "output_written") && js_gets(line, "path")) {
      char hex[65];
      const char *written = js_gets(line, "path");
      char *rel = df_strip_base(written, base);
      js_set_str(out, rel ? rel : written, os_sha256_file_hex(written, hex) == 0 ? hex : "(missing)");
      os_free(rel);
    }
    osiris_json_free(line);
  }
  os_free(text);
}

/* The run's base directory: the directory its relative paths start from.
 * Found where an event of a step reports an absolute path that ends with a
 * relative path of that step's cfg/<step>.json (as the pipeline wrote it);
 * else the directory that holds the run's logs directory.  Owned; NULL
 * when neither is known. */
static char *df_base(const char *dir) {
  char *path = os_path_join(dir, "events.jsonl"), *text = NULL, *p, *next, *base = NULL;
  os_err err = {0};
  if (!path || os_read_file(path, &text, NULL, &err)) {
    os_free(path);
    return NULL;
  }
  os_free(path);
  for (p = text; p && *p && !base; p = next) {
    osiris_json *line = NULL, *cfg = NULL;
    const char *step, *abs;
    char *rel, *cfg_path;
    size_t i;
    next = strchr(p, '\n');
    if (next) *next++ = 0;
    if (js_parse(p, strlen(p), NULL, &line, &err)) continue;
    step = js_gets(line, "step_id");
    abs = js_gets(line, "path");
    rel = step && abs && abs[0] == '/' ? os_asprintf("cfg/%s.json", step) : NULL;
    cfg_path = rel ? os_path_join(dir, rel) : NULL;
    if (cfg_path && js_read_file(cfg_path, &cfg, &err) == OSIRIS_OK && cfg && cfg->kind == OSIRIS_JSON_OBJECT)
      for (i = 0; i < cfg->u.c.n && !base; i++) {
        const osiris_json *v = cfg->u.c.items[i];
        const char *w;
        size_t al = strlen(abs), wl;
        if (v->kind != OSIRIS_JSON_STRING || !v->u.s.len || v->u.s.ptr[0] == '/') continue;
        w = v->u.s.ptr;
        while (os_startswith(w, "./")) w += 2;
        wl = strlen(w);
        if (wl && al > wl + 1 && abs[al - wl - 1] == '/' && strcmp(abs + al - wl, w) == 0)
          base = os_strndup(abs, al - wl - 1);
      }
    osiris_json_free(cfg);
    os_free(cfg_path);
    os_free(rel);
    osiris_json_free(line);
  }
  os_free(text);
  if (!base) {
    char *logs = os_path_dirname(dir);
    base = logs ? os_path_dirname(logs) : NULL;
    os_free(logs);
  }
  return base;
}

/* Two JSON values compared leaf by leaf; each difference names its place
 * (manifest.yaml: steps[1].needs). */
static void df_compare_tree(const char *what, const char *place, const osiris_json *a, const osiris_json *b,
                            osiris_json *diffs, int depth) {
  size_t i;
  if (a && b && a->kind == b->kind && depth < 32 &&
      (a->kind == OSIRIS_JSON_OBJECT || (a->kind == OSIRIS_JSON_ARRAY && a->u.c.n == b->u.c.n))) {
    for (i = 0; i < a->u.c.n; i++) {
      char *sub = a->kind == OSIRIS_JSON_OBJECT ? os_asprintf("%s%s%s", place, *place ? "." : "", a->u.c.keys[i])
                                                : os_asprintf("%s[%zu]", place, i);
      if (sub)
        df_compare_tree(what, sub, a->u.c.items[i],
                        a->kind == OSIRIS_JSON_OBJECT ? osiris_json_get(b, a->u.c.keys[i]) : b->u.c.items[i],
                        diffs, depth + 1);
      os_free(sub);
    }
    if (a->kind == OSIRIS_JSON_OBJECT)
      for (i = 0; i < b->u.c.n; i++)
        if (!osiris_json_get(a, b->u.c.keys[i]))
          df_add(diffs, "%s: %s%s%s only in B", what, place, *place ? "." : "", b->u.c.keys[i]);
    return;
  }
  if (!a || !b) {
    if (a || b) df_add(diffs, "%s: %s only in %s", what, place, a ? "A" : "B");
    return;
  }
  {
    char *sa = osiris_json_dump(a, OSIRIS_JSON_SORTED, NULL), *sb = osiris_json_dump(b, OSIRIS_JSON_SORTED, NULL);
    if (sa && sb && strcmp(sa, sb)) df_add(diffs, "%s: %s differs: A %s, B %s", what, place, sa, sb);
    osiris_free(sa);
    osiris_free(sb);
  }
}

/* The run's manifest.yaml as data, without meta.generated_at. */
static osiris_json *df_manifest(const char *dir) {
  char *path = os_path_join(dir, "manifest.yaml");
  osiris_json *doc = NULL;
  os_err err = {0};
  if (path && ym_read_file(path, &doc, &err) == OSIRIS_OK)
    osiris_json_remove((osiris_json *)osiris_json_get(doc, "meta"), "generated_at");
  os_free(path);
  return doc;
}

static osiris_rc df_runs(osiris_ctx *ctx, const char *a_in, const char *b_in, osiris_json **report) {
  char *a = os_path_abs(ctx->base_dir, a_in), *b = os_path_abs(ctx->base_dir, b_in);
  df_lines ea = {0}, eb = {0}, ma = {0}, mb = {0};
  osiris_json *rep = js_alloc(OSIRIS_JSON_OBJECT), *diffs = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *transport = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *arta = js_alloc(OSIRIS_JSON_OBJECT), *artb = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *outa = js_alloc(OSIRIS_JSON_OBJECT), *outb = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *sa = NULL, *sb = NULL, *ca = NULL, *cb = NULL, *mfa = NULL, *mfb = NULL;
  char *base_a = NULL, *base_b = NULL;
  os_err err = {0};
  osiris_rc rc = OSIRIS_OK;
  *report = NULL;
  if (!a || !b || !rep || !diffs || !transport || !arta || !artb || !outa || !outb) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  if (!os_is_dir(a) || !os_is_dir(b)) {
    snprintf(ctx->err, sizeof ctx->err, "not a run directory: %s", os_is_dir(a) ? b : a);
    rc = OSIRIS_ENOTFOUND;
    goto done;
  }
  base_a = df_base(a);
  base_b = df_base(b);
  if (df_read_lines(a, "events.jsonl", "event", 0, base_a, &ea, &err) ||
      df_read_lines(b, "events.jsonl", "event", 0, base_b, &eb, &err) ||
      df_read_lines(a, "metrics.jsonl", "metric", 1, base_a, &ma, &err) ||
      df_read_lines(b, "metrics.jsonl", "metric", 1, base_b, &mb, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    rc = err.rc ? err.rc : OSIRIS_EIO;
    goto done;
  }
  df_compare_lines("event", &ea, &eb, diffs, transport);
  df_compare_lines("metric", &ma, &mb, diffs, transport);
  mfa = df_manifest(a);
  mfb = df_manifest(b);
  df_compare_tree("manifest.yaml", "", mfa, mfb, diffs, 0);
  {
    char *pa = os_path_join(a, "artifacts"), *pb = os_path_join(b, "artifacts");
    if (pa) df_list_artifacts(pa, "", arta);
    if (pb) df_list_artifacts(pb, "", artb);
    os_free(pa);
    os_free(pb);
    df_compare_objects("artifact", arta, artb, diffs);
  }
  {
    char *pa = os_path_join(a, "status.json"), *pb = os_path_join(b, "status.json");
    if (pa) js_read_file(pa, &sa, &err);
    if (pb) js_read_file(pb, &sb, &err);
    os_free(pa);
    os_free(pb);
    df_compare_objects("status.json", sa, sb, diffs);
  }
  ca = df_card(a);
  cb = df_card(b);
  df_compare_objects("run_card.json", ca, cb, diffs);
  df_outputs(a, base_a, outa);
  df_outputs(b, base_b, outb);
  df_compare_objects("output file", outa, outb, diffs);
  js_set_str(rep, "a", a);
  js_set_str(rep, "b", b);
  js_set_bool(rep, "equivalent", osiris_json_size(diffs) == 0);
  osiris_json_set(rep, "differences", diffs);
  diffs = NULL;
  osiris_json_set(rep, "transport_only", transport);
  transport = NULL;
  *report = rep;
  rep = NULL;
done:
  df_lines_free(&ea);
  df_lines_free(&eb);
  df_lines_free(&ma);
  df_lines_free(&mb);
  osiris_json_free(rep);
  osiris_json_free(diffs);
  osiris_json_free(transport);
  osiris_json_free(arta);
  osiris_json_free(artb);
  osiris_json_free(outa);
  osiris_json_free(outb);
  osiris_json_free(sa);
  osiris_json_free(sb);
  osiris_json_free(ca);
  osiris_json_free(cb);
  osiris_json_free(mfa);
  osiris_json_free(mfb);
  os_free(base_a);
  os_free(base_b);
  os_free(a);
  os_free(b);
  return rc;
}

osiris_rc osiris_runs_diff(osiris_ctx *ctx, const char *run_a, const char *run_b,
                           osiris_json **report) {
  if (!ctx || !run_a || !run_b || !report) return OSIRIS_EUSAGE;
  return df_runs(ctx, run_a, run_b, report);
}

/* ======================================================================
 * 18. Public API
 *
 * Contexts, adapters and runs.  osiris_run_pipeline is the one entry point
 * every adapter shares: compile when given OML, open the session, then
 * prepare -> execute -> collect, collect on every path.
 * ====================================================================== */

static void rm_register_adapters(osiris_ctx *ctx); /* section 16 */

osiris_ctx *osiris_ctx_new(const char *base_dir) {
  osiris_ctx *ctx = os_calloc(1, sizeof *ctx);
  if (!ctx) return NULL;
  ctx->base_dir = os_path_abs(NULL, base_dir ? base_dir : ".");
  if (!ctx->base_dir) {
    os_free(ctx);
    return NULL;
  }
  ctx->adapters[ctx->n_adapters++] = &rn_local_adapter;
  rm_register_adapters(ctx);
  return ctx;
}

void osiris_ctx_free(osiris_ctx *ctx) {
  if (!ctx) return;
  osiris_json_free(ctx->dotenv);
  osiris_json_free(ctx->dotenv_skipped);
  os_free(ctx->conn_text);
  os_free(ctx->conn_name);
  os_free(ctx->base_dir);
  os_free(ctx);
}

const char *osiris_ctx_error(const osiris_ctx *ctx) { return ctx ? ctx->err : "no context"; }
void osiris_ctx_cancel(osiris_ctx *ctx) {
  if (ctx) __atomic_store_n(&ctx->cancelled, 1, __ATOMIC_SEQ_CST); /* from a signal handler too */
}
void osiris_ctx_set_log(osiris_ctx *ctx, osiris_log_fn fn, void *user) {
  ctx->log_fn = fn;
  ctx->log_user = user;
}
void osiris_ctx_set_progress(osiris_ctx *ctx, osiris_progress_fn fn, void *user) {
  ctx->progress_fn = fn;
  ctx->progress_user = user;
}

osiris_rc osiris_adapter_register(osiris_ctx *ctx, const osiris_adapter *a) {
  size_t i;
  if (!ctx || !a || !a->name || !a->prepare || !a->execute || !a->collect) return OSIRIS_EINVAL;
  for (i = 0; i < ctx->n_adapters; i++)
    if (strcmp(ctx->adapters[i]->name, a->name) == 0) {
      ctx->adapters[i] = a;
      return OSIRIS_OK;
    }
  if (ctx->n_adapters == OS_MAX_ADAPTERS) return OSIRIS_ELIMIT;
  ctx->adapters[ctx->n_adapters++] = a;
  return OSIRIS_OK;
}

const osiris_adapter *osiris_adapter_find(const osiris_ctx *ctx, const char *name) {
  size_t i;
  if (!ctx || !name) return NULL;
  for (i = 0; i < ctx->n_adapters; i++)
    if (strcmp(ctx->adapters[i]->name, name) == 0) return ctx->adapters[i];
  return NULL;
}

/* ---------------------------------------------------------- resume
 *
 * Every run records resume.json in its directory once prepared (on the
 * host, whatever the adapter): the manifest's fingerprint (the sha256 of
 * its canonical JSON without meta.generated_at, so a recompile of the same
 * pipeline with the same params gives the same one), and per step the
 * sha256 of its cfg and, for each file it reads (the keys its driver flags
 * OSIRIS_KEY_INPUT_FILE, walked as the packager walks them), size and
 * mtime, and in a resumable run the sha256 of the content too (a run that
 * did not ask to be resumable does not read its inputs a second time at
 * start-up; its files are judged by size and mtime).  A database
 * extractor's query is in its cfg; the rows behind it are not
 * fingerprinted.  Outputs are saved only by a resumable run (every frame)
 * or when a frame was spilled for memory.
 *
 * `run --resume ID`: rn_resume_find reads the failed run (status.json,
 * run_card.json, resume.json) and rn_resume_check compares it with the
 * manifest about to run, both before any run directory exists, so a
 * refusal leaves nothing behind: that run succeeded; the manifest or a
 * step's cfg differs (the message names the steps); an input file of a
 * step to be reused changed; or a step that succeeded there produced a
 * frame that a step running again needs and its output was not saved.
 * A remote run whose files could not all be brought back (collect_failed)
 * reruns its file writers.  Then, in the host half of
 * prepare (rn_prepare_host, every adapter), rn_resume_apply marks the
 * steps that succeeded RN_SUCCESS in the new run (counted in
 * steps_completed; their rows are not counted again in total_rows), links
 * or copies their output.parquet and schema.json into its
 * artifacts/<id>/ (as a spilled frame, read back by consumers) and emits
 * step_reused for each.  The failed step and everything after it run.  A
 * step that runs again reads its input files as they are now: a bad input
 * of the failed step can be mended before resuming.  A remote adapter
 * ships the saved outputs its worker needs (_resume/<id>/output.parquet
 * in the package) and sends reuse_step for each reused step in place of
 * exec_step (section 16); the worker marks it done (section 15).
 */
#define RN_RESUME_VERSION 1

typedef struct rn_resume {
  char *from;           /* "run_<id>" */
  char *dir;            /* its absolute directory */
  osiris_json *status;  /* its status.json */
  osiris_json *card;    /* its run_card.json */
  osiris_json *record;  /* its resume.json */
  osiris_json *reuse;   /* [{step_id, rows_in, rows_out, output?}]: output absolute */
} rn_resume;

static void rn_resume_free(rn_resume *r) {
  if (!r) return;
  os_free(r->from);
  os_free(r->dir);
  osiris_json_free(r->status);
  osiris_json_free(r->card);
  osiris_json_free(r->record);
  osiris_json_free(r->reuse);
  os_free(r);
}

/* The manifest's fingerprint: sha256 of its canonical JSON without
 * meta.generated_at (meta.manifest_hash is not trusted: a hand edit of
 * the manifest leaves it as it was). */
static osiris_rc rn_resume_manifest_fp(const mf_manifest *m, char out[65]) {
  osiris_json *copy = osiris_json_copy(m->doc);
  os_buf b = {0};
  osiris_rc rc;
  if (!copy) return OSIRIS_ENOMEM;
  osiris_json_remove((osiris_json *)osiris_json_get(copy, "meta"), "generated_at");
  rc = copy->incomplete ? OSIRIS_ENOMEM : js_dump(&b, copy, OSIRIS_JSON_SORTED);
  if (!rc) os_sha256_hex(b.p ? b.p : "", b.len, out);
  ob_free(&b);
  osiris_json_free(copy);
  return rc;
}

typedef struct rn_resume_walk {
  osiris_json *inputs; /* array of file records */
  int hash_all;        /* a resumable run: hash every file's content */
} rn_resume_walk;

/* One file a step reads: {key, path, size, mtime_ns, sha256?} or
 * {key, path, exists:false}; a FIFO or device {key, path, regular:false}
 * (reading it to hash it would take what the step reads). */
static osiris_rc rn_resume_file(void *user, const rm_file *f, os_err *err) {
  rn_resume_walk *w = user;
  osiris_json *o;
  struct stat stt;
  char hex[65];
  osiris_rc rc;
  if (!(f->key->flags & OSIRIS_KEY_INPUT_FILE)) return OSIRIS_OK;
  o = rn_fields();
  if (!o) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = js_set_str(o, "key", f->key->name);
  if (!rc) rc = js_set_str(o, "path", f->host);
  if (!rc && stat(f->host, &stt) != 0) {
    rc = js_set_bool(o, "exists", 0);
  } else if (!rc && !S_ISREG(stt.st_mode)) {
    rc = js_set_bool(o, "regular", 0);
  } else if (!rc) {
    rc = js_set_int(o, "size", (int64_t)stt.st_size);
    if (!rc)
      rc = js_set_int(o, "mtime_ns", (int64_t)stt.st_mtim.tv_sec * 1000000000 + stt.st_mtim.tv_nsec);
    if (!rc && w->hash_all && os_sha256_file_hex(f->host, hex) == 0)
      rc = js_set_str(o, "sha256", hex);
  }
  if (!rc) return js_set_built(w->inputs, NULL, o) ? os_fail(err, OSIRIS_ENOMEM, "out of memory") : OSIRIS_OK;
  osiris_json_free(o);
  return os_fail(err, OSIRIS_ENOMEM, "out of memory");
}

/* A step's record: {step_id, driver, cfg_sha256, inputs:[...]}. */
static osiris_rc rn_resume_step(osiris_ctx *ctx, const mf_manifest *m, size_t i, int hash_all,
                                osiris_json **out, os_err *err) {
  const mf_step *ms = &m->steps[i];
  const osiris_driver *d = osiris_driver_find(ctx, ms->driver);
  char *cfg_path = os_path_join(m->dir, ms->cfg_path);
  osiris_json *o = rn_fields(), *cfg = NULL;
  rn_resume_walk w = {js_alloc(OSIRIS_JSON_ARRAY), hash_all};
  char hex[65];
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  if (!cfg_path || !o || !w.inputs) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (js_set_str(o, "step_id", ms->id) || js_set_str(o, "driver", ms->driver) ||
      js_set_str(o, "cfg_sha256", os_sha256_file_hex(cfg_path, hex) == 0 ? hex : "")) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  /* prepare has read every cfg already: only memory can fail here */
  rc = d ? js_read_file(cfg_path, &cfg, err) : OSIRIS_OK;
  if (rc) goto done;
  if (d) {
    rc = rm_each_step_file(ctx, d, cfg, rn_resume_file, &w, err);
    if (rc == OSIRIS_ECONN) rc = OSIRIS_OK; /* the step reports it; its files stay unknown */
    if (rc) goto done;
  }
  err->msg[0] = 0;
  if (js_set_built(o, "inputs", w.inputs)) {
    w.inputs = NULL;
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  w.inputs = NULL;
  *out = o;
  o = NULL;
done:
  os_free(cfg_path);
  osiris_json_free(o);
  osiris_json_free(cfg);
  osiris_json_free(w.inputs);
  return rc;
}

/* resume.json of a prepared run. */
static osiris_rc rn_resume_record(osiris_run *run, os_err *err) {
  osiris_json *doc = rn_fields(), *steps = js_alloc(OSIRIS_JSON_ARRAY), *one;
  char fp[65];
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  if (!doc || !steps || rn_resume_manifest_fp(run->mf, fp) || js_set_int(doc, "version", RN_RESUME_VERSION) ||
      js_set_str(doc, "session_id", run->ss.id) || js_set_bool(doc, "resumable", run->resumable) ||
      js_set_str(doc, "manifest_fp", fp) ||
      (osiris_json_get(osiris_json_get(run->mf->doc, "pipeline"), "fingerprints") &&
       js_set_built(doc, "fingerprints",
                    osiris_json_copy(osiris_json_get(osiris_json_get(run->mf->doc, "pipeline"), "fingerprints"))))) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; i < run->mf->n_steps && !rc; i++) {
    rc = rn_resume_step(run->ctx, run->mf, i, run->resumable, &one, err);
    if (!rc && js_set_built(steps, NULL, one)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  if (rc) goto done;
  rc = js_set_built(doc, "steps", steps);
  steps = NULL;
  if (rc || doc->incomplete) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = ss_write_json(&run->ss, "resume.json", doc, err);
done:
  osiris_json_free(doc);
  osiris_json_free(steps);
  return rc;
}

/* The entry of id in an array of objects with step_id, or NULL. */
static const osiris_json *rn_resume_by_id(const osiris_json *arr, const char *id) {
  size_t i;
  for (i = 0; i < osiris_json_size(arr); i++)
    if (os_streq(js_gets(osiris_json_at(arr, i), "step_id"), id)) return osiris_json_at(arr, i);
  return NULL;
}

/* Find the run to resume and read its three files; ctx->err says why not. */
static osiris_rc rn_resume_find(osiris_ctx *ctx, const osiris_run_opts *o, rn_resume **out) {
  const char *want = o->resume_from;
  rn_resume *r = NULL;
  char *logs = NULL, *p = NULL;
  os_err err = {0};
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  if (!*want || strchr(want, '/') || os_streq(want, ".") || os_streq(want, "..")) {
    snprintf(ctx->err, sizeof ctx->err, "--resume wants a run id (run_<id> or <id>), got '%s'", want);
    return OSIRIS_EUSAGE;
  }
  r = os_calloc(1, sizeof *r);
  logs = cp_logs_dir(ctx, o->logs_dir);
  if (!r || !logs) goto oom;
  r->from = os_startswith(want, "run_") ? os_strdup(want) : os_asprintf("run_%s", want);
  r->dir = r->from ? os_path_join(logs, r->from) : NULL;
  if (!r->from || !r->dir) goto oom;
  if (!os_is_dir(r->dir)) {
    snprintf(ctx->err, sizeof ctx->err, "cannot resume: no run '%s' under %s", want, logs);
    rc = OSIRIS_ENOTFOUND;
    goto done;
  }
  p = os_path_join(r->dir, "status.json");
  if (!p) goto oom;
  if (js_read_file(p, &r->status, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "cannot resume %s: %.1500s (did that run end?)", r->from, err.msg);
    rc = err.rc == OSIRIS_ENOMEM ? OSIRIS_ENOMEM : OSIRIS_EUSAGE;
    goto done;
  }
  if (osiris_json_bool(osiris_json_get(r->status, "ok"), 0)) {
    snprintf(ctx->err, sizeof ctx->err, "cannot resume %s: that run succeeded, there is nothing to resume",
             r->from);
    rc = OSIRIS_EUSAGE;
    goto done;
  }
  os_free(p);
  p = os_path_join(r->dir, "resume.json");
  if (!p) goto oom;
  if (!os_is_file(p)) {
    snprintf(ctx->err, sizeof ctx->err,
             "cannot resume %s: it has no resume.json (it failed before its steps ran, or an "
             "osiris without resume made it); run the pipeline again without --resume", r->from);
    rc = OSIRIS_EUSAGE;
    goto done;
  }
  if (js_read_file(p, &r->record, &err) ||
      osiris_json_int(osiris_json_get(r->record, "version"), 0) != RN_RESUME_VERSION) {
    snprintf(ctx->err, sizeof ctx->err, "cannot resume %s: %.1500s", r->from,
             err.msg[0] ? err.msg : "resume.json has an unknown version");
    rc = err.rc == OSIRIS_ENOMEM ? OSIRIS_ENOMEM : OSIRIS_EUSAGE;
    goto done;
  }
  os_free(p);
  p = os_path_join(r->dir, "run_card.json");
  if (!p) goto oom;
  if (js_read_file(p, &r->card, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "cannot resume %s: %.1500s", r->from, err.msg);
    rc = err.rc == OSIRIS_ENOMEM ? OSIRIS_ENOMEM : OSIRIS_EUSAGE;
    goto done;
  }
  goto done;
oom:
  snprintf(ctx->err, sizeof ctx->err, "out of memory");
  rc = OSIRIS_ENOMEM;
done:
  os_free(logs);
  os_free(p);
  if (rc) rn_resume_free(r);
  else *out = r;
  return rc;
}

/* What changed in the manifest since the run, into b ("" when nothing). */
static osiris_rc rn_resume_manifest_diff(const rn_resume *r, const mf_manifest *m, os_buf *b) {
  const osiris_json *old_steps = osiris_json_get(r->record, "steps");
  char fp[65], hex[65];
  size_t i;
  osiris_rc rc = rn_resume_manifest_fp(m, fp);
  for (i = 0; i < m->n_steps && !rc; i++) {
    const osiris_json *old = rn_resume_by_id(old_steps, m->steps[i].id);
    char *cfg = os_path_join(m->dir, m->steps[i].cfg_path);
    if (!cfg) return OSIRIS_ENOMEM;
    if (!old)
      rc = ob_printf(b, "%sstep '%s' is new", b->len ? "; " : "", m->steps[i].id);
    else if (!os_streq(js_gets(old, "driver"), m->steps[i].driver))
      rc = ob_printf(b, "%sstep '%s' changed its component (%s, was %s)", b->len ? "; " : "",
                     m->steps[i].id, m->steps[i].driver, js_gets(old, "driver") ? js_gets(old, "driver") : "?");
    else if (os_sha256_file_hex(cfg, hex) != 0 || !os_streq(js_gets(old, "cfg_sha256"), hex))
      rc = ob_printf(b, "%sthe config of step '%s' changed (%s)", b->len ? "; " : "", m->steps[i].id,
                     m->steps[i].cfg_path);
    os_free(cfg);
  }
  for (i = 0; i < osiris_json_size(old_steps) && !rc; i++) {
    const char *id = js_gets(osiris_json_at(old_steps, i), "step_id");
    if (id && rn_step_index(m, id) == (size_t)-1)
      rc = ob_printf(b, "%sstep '%s' was removed", b->len ? "; " : "", id);
  }
  if (!rc && !b->len && !os_streq(js_gets(r->record, "manifest_fp"), fp)) {
    /* the compiler's own fingerprints say which input of compile it was */
    static const char *const fps[][2] = {{"profile", "the profile"},
                                         {"params_fp", "the params (--param, --profile, OSIRIS_PARAM_*)"},
                                         {"oml_fp", "the pipeline file"}};
    const osiris_json *now = osiris_json_get(osiris_json_get(m->doc, "pipeline"), "fingerprints");
    const osiris_json *then = osiris_json_get(r->record, "fingerprints");
    for (i = 0; i < sizeof fps / sizeof fps[0] && !rc; i++)
      if (js_gets(then, fps[i][0]) && !os_streq(js_gets(then, fps[i][0]), js_gets(now, fps[i][0])))
        rc = ob_printf(b, "%s%s changed", b->len ? "; " : "", fps[i][1]);
  }
  if (!rc && !b->len && !os_streq(js_gets(r->record, "manifest_fp"), fp))
    rc = ob_printf(b, "the manifest's fingerprint is %.12s, was %.12s (needs, order or params)", fp,
                   js_gets(r->record, "manifest_fp") ? js_gets(r->record, "manifest_fp") : "?");
  return rc;
}

/* Whether one recorded input file is as it was; *why says how not. */
static int rn_resume_same_file(const osiris_json *rec, char *why, size_t cap) {
  const char *path = js_gets(rec, "path"), *sha = js_gets(rec, "sha256");
  struct stat stt;
  char hex[65];
  int64_t mtime;
  if (!path) return 1;
  if (!osiris_json_bool(osiris_json_get(rec, "regular"), 1)) return 1; /* a FIFO: not fingerprinted */
  if (!osiris_json_bool(osiris_json_get(rec, "exists"), 1))
    return stat(path, &stt) != 0 ? 1 : (snprintf(why, cap, "did not exist then, exists now"), 0);
  if (stat(path, &stt) != 0) return snprintf(why, cap, "was removed"), 0;
  if (!S_ISREG(stt.st_mode)) return snprintf(why, cap, "is no longer a regular file"), 0;
  if ((int64_t)stt.st_size != osiris_json_int(osiris_json_get(rec, "size"), -1))
    return snprintf(why, cap, "size %" PRId64 " bytes, was %" PRId64, (int64_t)stt.st_size,
                    osiris_json_int(osiris_json_get(rec, "size"), -1)),
           0;
  if (sha) {
    if (os_sha256_file_hex(path, hex) != 0) return snprintf(why, cap, "cannot be read"), 0;
    return os_streq(hex, sha) ? 1 : (snprintf(why, cap, "its content changed (sha256 %.12s, was %.12s)", hex, sha), 0);
  }
  mtime = (int64_t)stt.st_mtim.tv_sec * 1000000000 + stt.st_mtim.tv_nsec;
  if (mtime != osiris_json_int(osiris_json_get(rec, "mtime_ns"), -1))
    return snprintf(why, cap, "it was modified since (too large to be hashed then: mtime compared)"), 0;
  return 1;
}

/* 1 when step i's cfg names a file it writes (OSIRIS_KEY_OUTPUT_FILE), 0
 * when not, -1 out of memory. */
static int rn_resume_writes_files(osiris_ctx *ctx, const mf_manifest *m, size_t i) {
  const osiris_driver *d = osiris_driver_find(ctx, m->steps[i].driver);
  const osiris_config_key *k;
  char *path = os_path_join(m->dir, m->steps[i].cfg_path);
  osiris_json *cfg = NULL;
  os_err err = {0};
  int writes = 0;
  if (!path || (d && js_read_file(path, &cfg, &err) == OSIRIS_ENOMEM)) writes = -1;
  else if (d && cfg)
    for (k = d->keys; k && k->name; k++)
      if ((k->flags & OSIRIS_KEY_OUTPUT_FILE) && js_gets(cfg, k->name) && *js_gets(cfg, k->name))
        writes = 1;
  osiris_json_free(cfg);
  os_free(path);
  return writes;
}

/* Compare the run with the manifest about to run; decide what is reused. */
static osiris_rc rn_resume_check(osiris_ctx *ctx, rn_resume *r, const char *manifest) {
  mf_manifest *m = NULL;
  const osiris_json *card_steps = osiris_json_get(r->card, "steps");
  const osiris_json *rec_steps = osiris_json_get(r->record, "steps");
  unsigned char *reused = NULL;
  os_buf b = {0};
  os_err err = {0};
  size_t i, j, k;
  int outside;
  osiris_rc rc = mf_load(manifest, &m, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    return rc;
  }
  reused = os_calloc(m->n_steps, 1);
  r->reuse = js_alloc(OSIRIS_JSON_ARRAY);
  if (!reused || !r->reuse || rn_resume_manifest_diff(r, m, &b)) goto oom;
  if (b.len) {
    snprintf(ctx->err, sizeof ctx->err,
             "cannot resume %s: the pipeline changed since that run: %.1500s; run it from the start "
             "(without --resume)", r->from, b.p);
    rc = OSIRIS_EUSAGE;
    goto done;
  }
  /* A remote run whose files could not all be brought back
   * (collect_failed) may lack what its writers wrote: a step that writes
   * files runs again. */
  outside = os_streq(js_gets(r->status, "reason"), "collect_failed");
  for (i = 0; i < m->n_steps; i++) {
    int writes = outside ? rn_resume_writes_files(ctx, m, i) : 0;
    if (writes < 0) goto oom;
    reused[i] = os_streq(js_gets(rn_resume_by_id(card_steps, m->steps[i].id), "status"), "success") &&
                !writes;
  }
  for (i = 0; i < m->n_steps; i++) {
    const osiris_json *cs = rn_resume_by_id(card_steps, m->steps[i].id);
    const osiris_json *rs = rn_resume_by_id(rec_steps, m->steps[i].id);
    const osiris_json *inputs = osiris_json_get(rs, "inputs");
    const char *rel = osiris_json_str(osiris_json_at(osiris_json_get(cs, "spill_paths"), 0));
    const char *needed_by = NULL;
    osiris_json *e;
    char *out = NULL;
    if (!reused[i]) continue;
    for (j = 0; j < m->n_steps && !needed_by; j++)
      for (k = 0; k < m->steps[j].n_needs && !reused[j]; k++)
        if (os_streq(m->steps[j].needs[k], m->steps[i].id)) needed_by = m->steps[j].id;
    /* a frame a step that runs again reads: its saved output must be there */
    if (needed_by && (rel || osiris_json_bool(osiris_json_get(cs, "has_df_in_memory"), 0))) {
      out = rel && mf_safe_rel_path(rel) ? os_path_join(r->dir, rel) : NULL;
      if (rel && mf_safe_rel_path(rel) && !out) goto oom;
      if (!out || !os_is_file(out)) {
        snprintf(ctx->err, sizeof ctx->err,
                 "cannot resume %s: step '%s' succeeded there but its output was not saved (%s%s), "
                 "and step '%s', which runs again, needs it; a run with --resumable saves every "
                 "output", r->from, m->steps[i].id, rel ? rel : "it stayed in memory",
                 rel ? " is not in that run's directory" : "", needed_by);
        os_free(out);
        rc = OSIRIS_EUSAGE;
        goto done;
      }
    }
    for (j = 0; j < osiris_json_size(inputs); j++) {
      const osiris_json *in = osiris_json_at(inputs, j);
      char why[512];
      if (rn_resume_same_file(in, why, sizeof why)) continue;
      snprintf(ctx->err, sizeof ctx->err,
               "cannot resume %s: input file %s of step '%s' (steps[%zu].config.%s) changed since "
               "that run: %s; run the pipeline from the start (without --resume)",
               r->from, js_gets(in, "path"), m->steps[i].id, i,
               js_gets(in, "key") ? js_gets(in, "key") : "?", why);
      os_free(out);
      rc = OSIRIS_EUSAGE;
      goto done;
    }
    e = rn_fields();
    if (e) {
      js_set_str(e, "step_id", m->steps[i].id);
      js_set_int(e, "rows_in", osiris_json_int(osiris_json_get(cs, "rows_in"), 0));
      js_set_int(e, "rows_out", osiris_json_int(osiris_json_get(cs, "rows_out"), 0));
      if (out) js_set_str(e, "output", out);
    }
    os_free(out);
    if (js_set_built(r->reuse, NULL, e) || r->reuse->incomplete) goto oom;
  }
  goto done;
oom:
  snprintf(ctx->err, sizeof ctx->err, "out of memory");
  rc = OSIRIS_ENOMEM;
done:
  ob_free(&b);
  os_free(reused);
  mf_free(m);
  return rc;
}

/* Link src to dst, or copy it when it cannot be linked (another file
 * system). */
static osiris_rc rn_resume_link(const char *src, const char *dst, os_err *err) {
  unlink(dst);
  if (link(src, dst) == 0) return OSIRIS_OK;
  return os_copy_file(src, dst, err);
}

/* After prepare: the steps that succeeded in the resumed run are done in
 * this one; their saved outputs become this run's spilled frames. */
static osiris_rc rn_resume_apply(osiris_run *run, os_err *err) {
  rn_resume *r = run->resume;
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  for (i = 0; i < osiris_json_size(r->reuse) && !rc; i++) {
    const osiris_json *e = osiris_json_at(r->reuse, i);
    const char *id = js_gets(e, "step_id"), *src = js_gets(e, "output");
    size_t idx = rn_step_index(run->mf, id);
    rn_state *st;
    char *rel = NULL, *dst = NULL, *src_schema = NULL, *dst_schema = NULL, *dir = NULL;
    osiris_json *f;
    if (idx == (size_t)-1) continue; /* rn_resume_check loaded the same manifest */
    st = &run->st[idx];
    st->status = RN_SUCCESS;
    st->rows_in = osiris_json_int(osiris_json_get(e, "rows_in"), 0);
    st->rows_out = osiris_json_int(osiris_json_get(e, "rows_out"), 0);
    run->steps_completed++;
    if (src) {
      rel = os_asprintf("artifacts/%s/output.parquet", id);
      dir = os_asprintf("%s/artifacts/%s", run->ss.dir, id);
      dst = rel ? os_path_join(run->ss.dir, rel) : NULL;
      src_schema = os_path_dirname(src);
      if (src_schema) {
        char *s = os_path_join(src_schema, "schema.json");
        os_free(src_schema);
        src_schema = s;
      }
      dst_schema = dir ? os_path_join(dir, "schema.json") : NULL;
      if (!rel || !dir || !dst || !src_schema || !dst_schema) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      if (!rc) rc = os_mkdir_p(dir, err);
      if (!rc) rc = rn_resume_link(src, dst, err);
      if (!rc && os_is_file(src_schema)) rc = rn_resume_link(src_schema, dst_schema, err);
      if (!rc) {
        char *rel_schema = os_asprintf("artifacts/%s/schema.json", id);
        js_set_built(st->artifacts, NULL, osiris_json_new_str(rel, strlen(rel)));
        if (!rel_schema) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
        else if (os_is_file(dst_schema))
          js_set_built(st->artifacts, NULL, osiris_json_new_str(rel_schema, strlen(rel_schema)));
        os_free(rel_schema);
        st->had_frame = 1;
        st->spill_path = dst;
        dst = NULL;
      }
    }
    if (!rc) {
      rn_release_upstream(run, idx); /* a reused consumer is done with its upstream */
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", id);
        js_set_str(f, "from_run", r->from);
        js_set_int(f, "rows", st->rows_out);
        if (rel && st->spill_path) js_set_str(f, "output", rel);
      }
      ss_event(&run->ss, "step_reused", f);
      ss_log(&run->ss, 1, "step %s reused from %s (%" PRId64 " rows)", id, r->from, st->rows_out);
    }
    os_free(rel);
    os_free(dir);
    os_free(dst);
    os_free(src_schema);
    os_free(dst_schema);
  }
  return rc;
}

/* status.json and run_card.json of a resumed run say so (rn_write_results). */
static void rn_resume_note(const osiris_run *run, osiris_json *status, osiris_json *card) {
  const rn_resume *r = run->resume;
  osiris_json *ids, *steps = (osiris_json *)osiris_json_get(card, "steps");
  size_t i;
  if (run->resumable) js_set_bool(card, "resumable", 1);
  if (!r) return;
  ids = js_alloc(OSIRIS_JSON_ARRAY);
  for (i = 0; i < osiris_json_size(r->reuse); i++) {
    const char *id = js_gets(osiris_json_at(r->reuse, i), "step_id");
    osiris_json *cs = (osiris_json *)rn_resume_by_id(steps, id);
    if (ids) js_push_str(ids, id);
    if (cs && js_set_str(cs, "reused_from", r->from)) card->incomplete = 1; /* not written */
  }
  js_set_str(status, "resumed_from", r->from);
  js_set_built(status, "steps_reused", ids ? osiris_json_copy(ids) : NULL);
  js_set_str(card, "resumed_from", r->from);
  js_set_built(card, "steps_reused", ids);
}

static osiris_run *rn_new(osiris_ctx *ctx) {
  osiris_run *run = os_calloc(1, sizeof *run);
  if (!run) return NULL;
  run->ctx = ctx;
  run->timeout_step = (size_t)-1;
  run->t0_ms = os_now_ms();
  ss_session_init(&run->ss);
  run->mu_ready = pthread_mutex_init(&run->mu, NULL) == 0;
  return run;
}

static void rn_free(osiris_run *run) {
  size_t i;
  if (!run) return;
  rn_wd_stop(run);
  if (run->mf && run->st)
    for (i = 0; i < run->mf->n_steps; i++) {
      osiris_frame_free(run->st[i].frame);
      os_free(run->st[i].input_key);
      os_free(run->st[i].error);
      os_free(run->st[i].spill_path);
      osiris_json_free(run->st[i].artifacts);
    }
  os_free(run->st);
  os_free(run->order);
  mf_free(run->mf);
  ss_close(&run->ss);
  os_free(run->logs_dir);
  os_free(run->source_manifest);
  os_free(run->profile);
  os_free(run->pipeline_id);
  os_free(run->e2b_template);
  os_free(run->sandbox_id);
  osiris_json_free(run->noted);
  rn_resume_free(run->resume);
  os_free(run->failed_step);
  os_free(run->reason);
  osiris_json_free(run->status);
  if (run->mu_ready) pthread_mutex_destroy(&run->mu);
  os_free(run);
}

void osiris_run_free(osiris_run *run) { rn_free(run); }

/* Decide whether path is a compiled manifest or OML; compile OML into a
 * fresh compile directory.  *manifest is owned. */
static osiris_rc rn_manifest_for(osiris_ctx *ctx, const char *path, const osiris_run_opts *o,
                                 char **manifest, char **pipeline_id, char **profile) {
  osiris_json *doc = NULL, *result = NULL;
  os_err err = {0};
  osiris_rc rc;
  char *abs = os_path_abs(ctx->base_dir, path);
  *manifest = NULL;
  if (!abs) return OSIRIS_ENOMEM;
  rc = ym_read_file(abs, &doc, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    goto done;
  }
  if (mf_is_manifest(doc)) {
    const char *id = js_gets(osiris_json_get(doc, "pipeline"), "id");
    const char *prof = js_gets(osiris_json_get(doc, "meta"), "profile");
    *pipeline_id = os_strdup(id);
    *profile = os_strdup(prof);
    if ((id && !*pipeline_id) || (prof && !*profile)) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    *manifest = abs;
    abs = NULL;
    goto done;
  }
  {
    osiris_compile_opts co;
    memset(&co, 0, sizeof co);
    co.profile = o->profile;
    co.params = o->params;
    co.logs_dir = o->logs_dir;
    rc = cp_compile(ctx, abs, &co, &result, &err);
  }
  if (rc) {
    if (err.msg[0]) snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    goto done;
  }
  *manifest = os_strdup(js_gets(result, "manifest_path"));
  *pipeline_id = os_strdup(js_gets(result, "pipeline_id"));
  *profile = os_strdup(js_gets(result, "profile"));
  if (!*manifest || (js_gets(result, "pipeline_id") && !*pipeline_id) ||
      (js_gets(result, "profile") && !*profile))
    rc = OSIRIS_ENOMEM;
done:
  osiris_json_free(doc);
  osiris_json_free(result);
  os_free(abs);
  return rc;
}

osiris_rc osiris_run_pipeline(osiris_ctx *ctx, const char *path, const osiris_run_opts *opts,
                              osiris_run **out) {
  osiris_run_opts defaults;
  const osiris_run_opts *o = opts;
  osiris_run *run = NULL;
  char *manifest = NULL, *pipeline_id = NULL, *profile = NULL, *old_manifest = NULL;
  rn_resume *resume = NULL;
  os_err err = {0};
  osiris_json *f;
  osiris_rc rc;
  if (out) *out = NULL;
  if (!o) {
    memset(&defaults, 0, sizeof defaults);
    o = &defaults;
  }
  if (!ctx || !out || (!path && !o->resume_from)) return OSIRIS_EUSAGE;
  ctx->err[0] = 0;
  if (cn_load_dotenv(ctx) == OSIRIS_ENOMEM) { /* as in cp_prepare */
    snprintf(ctx->err, sizeof ctx->err, "out of memory");
    return OSIRIS_ENOMEM;
  }
  {
    const osiris_adapter *a = osiris_adapter_find(ctx, o->adapter ? o->adapter : "local");
    if (!a) {
      snprintf(ctx->err, sizeof ctx->err, "unknown adapter '%s'", o->adapter);
      return OSIRIS_EUSAGE;
    }
    /* --resume: refused here, before any run directory exists */
    rc = o->resume_from ? rn_resume_find(ctx, o, &resume) : OSIRIS_OK;
    if (!rc && !path) {
      path = old_manifest = os_path_join(resume->dir, "manifest.yaml");
      if (!path) rc = OSIRIS_ENOMEM;
    }
    if (!rc) rc = rn_manifest_for(ctx, path, o, &manifest, &pipeline_id, &profile);
    if (!rc && resume) rc = rn_resume_check(ctx, resume, manifest);
    os_free(old_manifest);
    if (rc || !(run = rn_new(ctx))) {
      os_free(manifest);
      os_free(pipeline_id);
      os_free(profile);
      rn_resume_free(resume);
      return rc ? rc : OSIRIS_ENOMEM;
    }
    run->resume = resume;
    /* a resumed resumable run stays resumable */
    run->resumable = o->resumable || (resume && osiris_json_bool(osiris_json_get(resume->record, "resumable"), 0));
    run->pipeline_id = pipeline_id;
    run->profile = profile;
    run->e2b_template = o->e2b_template ? os_strdup(o->e2b_template) : NULL;
    run->timeout_s = o->timeout_s;
    run->t0_ms = os_now_ms();
    if (o->timeout_s > 0) {
      run->bound_s = o->timeout_s;
      run->bound_what = "--timeout";
    }
    run->install_deps = o->install_deps;
    run->jobs = o->jobs;
    run->adapter = a;
  }
  run->source_manifest = manifest;
  rc = ss_open_session(&run->ss, ctx, o->logs_dir, NULL, NULL, o->verbose, -1, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    rn_free(run);
    return rc;
  }
  *out = run;
  f = rn_fields();
  if (f) {
    js_set_str(f, "session_id", run->ss.id);
    js_set_str(f, "session_dir", run->ss.dir);
    js_set_str(f, "pipeline_id", run->pipeline_id ? run->pipeline_id : "");
    js_set_str(f, "manifest_path", run->source_manifest);
    js_set_str(f, "profile", run->profile ? run->profile : "");
    js_set_str(f, "adapter", run->adapter->name);
    if (run->resume) js_set_str(f, "resumed_from", run->resume->from);
  }
  ss_event(&run->ss, "run_start", f);
  ss_log(&run->ss, 1, "run %s started: %s (adapter %s)", run->ss.id, run->source_manifest,
         run->adapter->name);

  {
    /* --timeout bounds prepare too (a sandbox that never comes up);
     * prepare adds the pipeline's timeout and the steps' (rn_wd_setup). */
    if (run->bound_s > 0 && rn_wd_start(run)) {
      rc = OSIRIS_ENOMEM;
      rn_set_error(run, rc, NULL, "execution_failed", "cannot start the timeout watchdog");
    } else {
      if (run->wd) {
        pthread_mutex_lock(&run->wd->mu);
        run->wd->run_deadline_ms = run->t0_ms + run->bound_s * 1000.0;
        pthread_cond_signal(&run->wd->cv);
        pthread_mutex_unlock(&run->wd->mu);
      }
      rc = run->adapter->prepare(run);
      if (!rc) rc = rn_resume_record(run, &err);
      if (rc && !run->rc && err.msg[0]) rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
      if (!rc) rc = run->adapter->execute(run);
    }
    if (!rc && !run->rc) run->ok = 1;
    if (rc && !run->rc) rn_set_error(run, rc, NULL, "execution_failed", osiris_rc_name(rc));
    {
      osiris_rc crc = run->adapter->collect(run);
      if (!rc && crc) {
        rc = crc;
        run->ok = 0;
      }
    }
    rn_wd_stop(run);
  }
  if (run->ok)
    ss_log(&run->ss, 1, "run %s succeeded (%zu/%zu steps)", run->ss.id, run->steps_completed,
           run->mf ? run->mf->n_steps : (size_t)0);
  else
    snprintf(ctx->err, sizeof ctx->err, "%s", run->error);
  return run->ok ? OSIRIS_OK : (run->rc ? run->rc : rc);
}

/* One connection: resolve, find a driver of its family that can check,
 * time the check, scrub the connection's secrets from the message. */
static osiris_json *rn_doctor_one(osiris_ctx *ctx, const char *family, const char *alias) {
  osiris_json *r = rn_fields(), *conn = NULL;
  char *ref = os_asprintf("@%s.%s", family, alias), *alias_out = NULL;
  const osiris_driver *checker = NULL;
  char msg[OS_ERR_CAP] = "";
  os_err err = {0};
  ss_session scrub;
  size_t i;
  int ok = 0;
  double t0;
  ss_session_init(&scrub);
  if (!r || !ref) goto done;
  js_set_str(r, "ref", ref);
  js_set_str(r, "family", family);
  js_set_str(r, "alias", alias);
  for (i = 0; i < ctx->n_drivers && !checker; i++)
    if (ctx->drivers[i]->check && os_streq(ctx->drivers[i]->family, family)) checker = ctx->drivers[i];
  t0 = os_now_ms();
  if (cn_resolve(ctx, ref, family, &conn, &alias_out, &err)) {
    snprintf(msg, sizeof msg, "%s", err.msg);
  } else if (!checker) {
    snprintf(msg, sizeof msg, "no driver can check connections of family '%s'", family);
    ok = -1; /* nothing to check (filesystem, ...): not a failure */
  } else {
    ss_add_secrets_of(&scrub, conn);
    ok = checker->check(conn, msg, sizeof msg) == OSIRIS_OK;
  }
  js_set_int(r, "latency_ms", (int64_t)(os_now_ms() - t0));
  if (ok == -1) {
    js_set_bool(r, "ok", 1);
    js_set_bool(r, "skipped", 1);
    js_set_str(r, "note", msg);
  } else {
    js_set_bool(r, "ok", ok);
    if (!ok) {
      char clean[OS_ERR_CAP];
      snprintf(clean, sizeof clean, "%s", msg);
      ss_scrub_buf(&scrub, clean, sizeof clean);
      js_set_str(r, "error", clean);
    }
  }
done:
  ss_close(&scrub);
  osiris_json_free(conn);
  os_free(alias_out);
  os_free(ref);
  return r;
}

osiris_rc osiris_connections_doctor(osiris_ctx *ctx, const char *ref, osiris_json **report) {
  osiris_json *list = NULL, *out = NULL, *arr = NULL;
  const osiris_json *conns;
  char fam[128] = "", alias[128] = "";
  os_err err = {0};
  size_t i, j;
  int all_ok = 1;
  if (!ctx || !report) return OSIRIS_EUSAGE;
  *report = NULL;
  if (ref && !cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias)) {
    snprintf(ctx->err, sizeof ctx->err, "invalid connection reference '%s' (want @family.alias)", ref);
    return OSIRIS_EUSAGE;
  }
  if (cn_list(ctx, &list, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    return err.rc ? err.rc : OSIRIS_EIO;
  }
  out = rn_fields();
  arr = js_alloc(OSIRIS_JSON_ARRAY);
  if (!out || !arr) goto oom;
  osiris_json_set(out, "file", osiris_json_copy(osiris_json_get(list, "file")));
  conns = osiris_json_get(list, "connections");
  for (i = 0; i < osiris_json_size(conns); i++) {
    const char *f = osiris_json_key_at(conns, i);
    const osiris_json *aliases = osiris_json_at(conns, i);
    if (ref && strcmp(f, fam) != 0) continue;
    for (j = 0; j < osiris_json_size(aliases); j++) {
      const char *a = osiris_json_key_at(aliases, j);
      osiris_json *one;
      if (ref && *alias && strcmp(a, alias) != 0) continue;
      if (ref && !*alias && !osiris_json_bool(osiris_json_get(osiris_json_at(aliases, j), "default"), 0) &&
          strcmp(a, "default") != 0)
        continue;
      one = rn_doctor_one(ctx, f, a);
      if (!one) goto oom;
      if (!osiris_json_bool(osiris_json_get(one, "ok"), 0)) all_ok = 0;
      osiris_json_push(arr, one);
    }
  }
  if (ref && osiris_json_size(arr) == 0) {
    snprintf(ctx->err, sizeof ctx->err, "connection %s not found", ref);
    osiris_json_free(list);
    osiris_json_free(out);
    osiris_json_free(arr);
    return OSIRIS_ENOTFOUND;
  }
  osiris_json_set(out, "connections", arr);
  osiris_json_free(list);
  *report = out;
  return all_ok ? OSIRIS_OK : OSIRIS_ECONN;
oom:
  osiris_json_free(list);
  osiris_json_free(out);
  osiris_json_free(arr);
  return OSIRIS_ENOMEM;
}

const char *osiris_run_session_id(const osiris_run *run) { return run->ss.id; }
const char *osiris_run_dir(const osiris_run *run) { return run->ss.dir; }
int osiris_run_ok(const osiris_run *run) { return run && run->ok; }
const char *osiris_run_error(const osiris_run *run) { return run->ok ? "" : run->error; }
const char *osiris_run_failed_step(const osiris_run *run) { return run->failed_step; }
const osiris_json *osiris_run_status(const osiris_run *run) { return run->status; }
osiris_ctx *osiris_run_ctx(osiris_run *run) { return run->ctx; }

#ifdef OSIRIS_CLI_MAIN
/* ======================================================================
 * 19. CLI (compiled with -DOSIRIS_CLI_MAIN)
 *
 * The only place that prints and chooses exit codes: 0 success, 1 the run
 * failed, 2 usage, validation or compile error.  Results go to stdout,
 * diagnostics to stderr; --json puts one JSON document on stdout.  The
 * command line is Osiris 0.5.7's where the two meet: -p is --profile,
 * --json and --verbose go before or after the command, `runs list` lists
 * runs, and the --e2b-env flags give the sandbox worker environment
 * variables (OSIRIS_WORKER_ENV_<NAME> in our own environment, which the
 * transport turns into <NAME> for the worker only, section 16).  The CLI
 * uses the public API, except for listing run directories and for
 * --dry-run, which reads the manifest and the driver specs directly to
 * show the plan without creating a session.  A batch (`run A.yaml B.yaml
 * ...`, --params-file, --parallel) runs each run as a child process of
 * this binary, at most N at once ("batch runs", at the end).
 * ====================================================================== */

static osiris_ctx *cli_ctx; /* for the SIGINT handler only */

static void cli_on_sigint(int sig) {
  (void)sig;
  if (cli_ctx) osiris_ctx_cancel(cli_ctx);
}

/* SIGINT and SIGTERM cancel the run.  Without SA_RESTART: a step blocked
 * in an open or a read (a FIFO nobody writes) gets EINTR and ends
 * interrupted, instead of the run waiting for ever (the runner has the
 * signal delivered to the thread of that step, rn_route_interrupts). */
static void cli_catch_interrupts(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli_on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

static void cli_print_json(const osiris_json *v) {
  char *s = osiris_json_dump(v, OSIRIS_JSON_PRETTY, NULL);
  if (s) printf("%s\n", s);
  osiris_free(s);
}

static int cli_progress_shown; /* a progress line is on the terminal */

static void cli_verbose_log(void *user, int level, const char *line) {
  (void)user;
  (void)level;
  if (cli_progress_shown) fputs("\r\033[K", stderr);
  cli_progress_shown = 0;
  fprintf(stderr, "%s\n", line);
}

/* --verbose on a terminal: one line that rewrites itself, with every step
 * that reported in the last second (both ends of a streamed pair). */
static struct {
  char step[64];
  int64_t rows;
  double rate, at_ms;
} cli_prog[4];

static void cli_progress(void *user, const char *step_id, int64_t rows, double elapsed_ms) {
  double now = os_now_ms();
  size_t i, slot = 0;
  (void)user;
  for (i = 0; i < 4; i++) {
    if (os_streq(cli_prog[i].step, step_id)) {
      slot = i;
      break;
    }
    if (cli_prog[i].at_ms < cli_prog[slot].at_ms) slot = i;
  }
  snprintf(cli_prog[slot].step, sizeof cli_prog[slot].step, "%s", step_id);
  cli_prog[slot].rows = rows;
  cli_prog[slot].rate = elapsed_ms > 0 ? (double)rows * 1000.0 / elapsed_ms : 0.0;
  cli_prog[slot].at_ms = now;
  fputs("\r\033[K", stderr);
  for (i = 0; i < 4; i++)
    if (cli_prog[i].step[0] && now - cli_prog[i].at_ms < 1000)
      fprintf(stderr, "  %s: %" PRId64 " rows, %.0f rows/s", cli_prog[i].step, cli_prog[i].rows,
              cli_prog[i].rate);
  cli_progress_shown = 1;
}

#define CLI_MAX_POSITIONAL 4         /* arguments of a command */
#define CLI_MAX_PIPELINES 1000       /* run A.yaml B.yaml ...: a batch (cli_run_batch) */
#define CLI_BATCH_MAX_RUNS 10000     /* pipelines x params lines */
#define CLI_BATCH_MAX_PARALLEL 1000  /* runs alive at once */

typedef struct cli_args {
  const char *positional[CLI_MAX_PIPELINES];
  size_t n_positional;
  const char *params[64];
  size_t n_params;
  struct {
    char kind;       /* 'e' --e2b-env K=V, 'f' --e2b-env-from FILE, 'p' --e2b-pass-env NAME */
    const char *val;
  } env[64];         /* in command-line order: a later one wins */
  size_t n_env;
  const char *profile, *out, *logs_dir, *sandbox, *e2b_template, *target;
  int json, verbose, last_compile, last, help, e2b, install_deps, timeout_s, dry_run;
  int parallel;            /* --parallel N; 0: not given */
  int jobs;                /* --jobs J; 0: not given (the cores) */
  const char *params_file; /* --params-file F: one run per line */
  const char *resume;      /* --resume RUN_ID */
  int resumable;           /* --resumable */
} cli_args;

/* Parse the flags every command shares; unknown flags are usage errors.
 * a keeps what the flags before the command set (--json, --verbose). */
static int cli_parse(int argc, char **argv, cli_args *a, const char *allowed) {
  int i;
  for (i = 0; i < argc; i++) {
    const char *s = argv[i];
    const char *val = NULL;
    char flag[64];
    const char *eq = strchr(s, '=');
    if (s[0] != '-' || s[1] == 0) {
      if (a->n_positional == (strstr(allowed, " --parallel ") ? CLI_MAX_PIPELINES : CLI_MAX_POSITIONAL)) {
        fprintf(stderr, "osiris: too many arguments\n");
        return 2;
      }
      a->positional[a->n_positional++] = s;
      continue;
    }
    if (os_streq(s, "-h") || os_streq(s, "--help")) {
      a->help = 1;
      continue;
    }
    if (os_startswith(s, "--") && eq) {
      snprintf(flag, sizeof flag, "%.*s", (int)(eq - s), s);
      val = eq + 1;
    } else {
      snprintf(flag, sizeof flag, "%s", s);
    }
    {
      char probe[80];
      snprintf(probe, sizeof probe, " %s ", flag);
      if (!strstr(allowed, probe)) {
        fprintf(stderr, "osiris: unknown option %s (see --help)\n", flag);
        return 2;
      }
    }
    if (os_streq(flag, "--json")) a->json = 1;
    else if (os_streq(flag, "--verbose") || os_streq(flag, "-v")) a->verbose = 1;
    else if (os_streq(flag, "--last-compile")) a->last_compile = 1;
    else if (os_streq(flag, "--last")) a->last = 1;
    else if (os_streq(flag, "--e2b")) a->e2b = 1;
    else if (os_streq(flag, "--e2b-install-deps")) a->install_deps = 1;
    else if (os_streq(flag, "--dry-run")) a->dry_run = 1;
    else if (os_streq(flag, "--resumable")) a->resumable = 1;
    else {
      if (!val) {
        if (i + 1 >= argc) {
          fprintf(stderr, "osiris: %s needs a value\n", flag);
          return 2;
        }
        val = argv[++i];
      }
      if (os_streq(flag, "--param")) {
        if (!strchr(val, '=')) {
          fprintf(stderr, "osiris: --param wants key=value, got '%s'\n", val);
          return 2;
        }
        if (a->n_params == 63) {
          fprintf(stderr, "osiris: too many --param options\n");
          return 2;
        }
        a->params[a->n_params++] = val;
      } else if (os_streq(flag, "--e2b-env") || os_streq(flag, "--e2b-env-from") ||
                 os_streq(flag, "--e2b-pass-env")) {
        if (os_streq(flag, "--e2b-env") && !strchr(val, '=')) {
          fprintf(stderr, "osiris: --e2b-env wants NAME=VALUE, got '%s'\n", val);
          return 2;
        }
        if (a->n_env == 64) {
          fprintf(stderr, "osiris: too many --e2b-env options\n");
          return 2;
        }
        a->env[a->n_env].kind = os_streq(flag, "--e2b-env") ? 'e' : os_streq(flag, "--e2b-env-from") ? 'f' : 'p';
        a->env[a->n_env++].val = val;
      } else if (os_streq(flag, "--profile") || os_streq(flag, "-p")) {
        if (os_streq(flag, "-p") && strchr(val, '=')) {
          fprintf(stderr, "osiris: -p is --profile (as in Osiris 0.5.7); set a parameter with --param %s\n", val);
          return 2;
        }
        a->profile = val;
      } else if (os_streq(flag, "--target")) a->target = val;
      else if (os_streq(flag, "--out")) a->out = val;
      else if (os_streq(flag, "--logs-dir")) a->logs_dir = val;
      else if (os_streq(flag, "--sandbox")) a->sandbox = val;
      else if (os_streq(flag, "--e2b-template")) a->e2b_template = val;
      else if (os_streq(flag, "--params-file")) a->params_file = val;
      else if (os_streq(flag, "--resume")) a->resume = val;
      else if (os_streq(flag, "--parallel")) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || n <= 0 || n > CLI_BATCH_MAX_PARALLEL) {
          fprintf(stderr, "osiris: --parallel wants a number of runs (1..%d), got '%s'\n", CLI_BATCH_MAX_PARALLEL, val);
          return 2;
        }
        a->parallel = (int)n;
      }
      else if (os_streq(flag, "--jobs")) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || n <= 0 || n > RN_MAX_JOBS) {
          fprintf(stderr, "osiris: --jobs wants a number of steps (1..%d), got '%s'\n", RN_MAX_JOBS, val);
          return 2;
        }
        a->jobs = (int)n;
      }
      else if (os_streq(flag, "--timeout")) {
        char *end;
        long t = strtol(val, &end, 10);
        if (*end || t <= 0 || t > 86400) {
          fprintf(stderr, "osiris: --timeout wants seconds (1..86400), got '%s'\n", val);
          return 2;
        }
        a->timeout_s = (int)t;
      }
    }
  }
  return 0;
}

static const char cli_usage[] =
    "osiris " OSIRIS_VERSION " -- compile and run data pipelines\n"
    "\n"
    "Usage: osiris [--json] [--verbose] <command> [options]\n"
    "\n"
    "Commands:\n"
    "  compile PIPELINE.yaml      compile OML into manifest.yaml + cfg/*.json\n"
    "  validate PIPELINE.yaml     check a pipeline and list every error\n"
    "  run PIPELINE|MANIFEST      run a pipeline (OML is compiled first)\n"
    "  run A.yaml B.yaml ...      run many (--parallel N, --params-file F)\n"
    "  run --last-compile         run the newest compiled manifest\n"
    "  run ... --dry-run          show the plan; create nothing, run nothing\n"
    "  run ... --resume RUN_ID    rerun a failed run from its failed step\n"
    "  components list|show NAME  the built-in components and their config keys\n"
    "  connections list           connections from osiris_connections.yaml (masked)\n"
    "  connections doctor [@f.a]  connect and run a trivial query per connection\n"
    "  logs list                  the runs under the logs directory\n"
    "  logs show [--last|ID]      a summary of one run\n"
    "  runs list                  the same as logs list (Osiris 0.5.7's name)\n"
    "  runs diff RUN_A RUN_B      compare two run directories (parity check)\n"
    "  version                    print the version\n"
    "\n"
    "Options of every command, before or after it:\n"
    "  --json                     print the result as one JSON document\n"
    "  --verbose, -v              run: debug.log and log lines on stderr;\n"
    "                             accepted by the other commands, which print no more\n"
    "  --help, -h                 the options of a command\n"
    "\n"
    "Run 'osiris <command> --help' for the options of a command.\n"
    "Exit codes: 0 success, 1 the run failed, 2 usage, validation or compile error.\n";

static int cli_help(const char *cmd) {
  if (os_streq(cmd, "compile"))
    printf("Usage: osiris compile PIPELINE.yaml [options]\n\n"
           "Validate PIPELINE.yaml and write manifest.yaml and cfg/<step>.json to\n"
           "<logs-dir>/compile_<id>/compiled/ (or --out DIR).  Secrets never reach\n"
           "the compiled files; an inline secret is an error.\n\n"
           "Options:\n"
           "  --param KEY=VALUE   set a pipeline parameter (repeatable; highest precedence)\n"
           "  --profile NAME, -p NAME\n"
           "                      use the parameters of profiles.NAME\n"
           "  --out DIR           write the compiled files to DIR\n"
           "  --logs-dir DIR      where compile_<id>/ goes (default: logs)\n"
           "  --json              print the result as JSON\n"
           "  --verbose, -v       accepted; compile prints nothing more\n\n"
           "Parameter precedence: defaults < OSIRIS_PARAM_<NAME> env < profile < --param.\n");
  else if (os_streq(cmd, "validate"))
    printf("Usage: osiris validate PIPELINE.yaml [--json]\n\n"
           "Check the pipeline and list every error at once with its location\n"
           "(steps[1].config.query) and file:line:col.  Exit 0 when valid, 2 otherwise.\n\n"
           "Options:\n"
           "  --json              print {valid, errors, warnings} as JSON\n"
           "  --verbose, -v       accepted; validate prints nothing more\n");
  else if (os_streq(cmd, "run"))
    printf("Usage: osiris run PIPELINE.yaml|MANIFEST.yaml [options]\n"
           "       osiris run --last-compile [options]\n"
           "       osiris run [PIPELINE.yaml|--last-compile] --resume RUN_ID [options]\n"
           "       osiris run A.yaml B.yaml ... [--parallel N] [options]\n"
           "       osiris run PIPELINE.yaml --params-file RUNS.jsonl [--parallel N] [options]\n\n"
           "Run a pipeline (in-process by default).  OML is compiled first; a compiled\n"
           "manifest runs as is.  The run writes logs/run_<session_id>/ with events.jsonl,\n"
           "metrics.jsonl, osiris.log, status.json, run_card.json, manifest.yaml, cfg/ and\n"
           "artifacts/.\n\n"
           "Options:\n"
           "  --last-compile      run the newest manifest compiled under the logs dir\n"
           "  --param KEY=VALUE   set a pipeline parameter (OML input; repeatable)\n"
           "  --profile NAME, -p NAME\n"
           "                      use the parameters of profiles.NAME (OML input)\n"
           "  --dry-run           print the plan: steps in run order, the adapter, what\n"
           "                      would be uploaded (with sizes) and brought back, and the\n"
           "                      worker's environment variable names (never values).\n"
           "                      Creates nothing (no run or compile directory, no\n"
           "                      sandbox) and runs nothing; OML is compiled into a\n"
           "                      temporary directory that is removed\n"
           "  --jobs J            run up to J independent steps at once (default: the number\n"
           "                      of cores where the steps run; 1: one after another). A\n"
           "                      step starts once its needs are done; each step's events\n"
           "                      keep their order, steps' events interleave; after a\n"
           "                      failure nothing new starts, running steps finish and the\n"
           "                      rest are skipped. run_card.json's \"parallel\" says what\n"
           "                      overlapped. Spill still bounds memory: while the frames\n"
           "                      held add up to more than OSIRIS_SPILL_THRESHOLD rows, one\n"
           "                      step runs at a time\n"
           "  --verbose, -v       write debug.log and show log lines on stderr\n"
           "  --logs-dir DIR      where run_<id>/ goes (default: logs)\n"
           "  --json              print the outcome (or the --dry-run plan) as JSON\n\n"
           "Resuming a failed run (every run records resume.json: fingerprints):\n"
           "  --resumable         also save every step's output frame to\n"
           "                      artifacts/<step>/output.parquet (frames spilled for memory\n"
           "                      are saved anyway); a resumed run inherits it\n"
           "  --resume RUN_ID     a new run of the failed run RUN_ID (run_<id> or <id>): its\n"
           "                      succeeded steps are reused (step_reused events; their saved\n"
           "                      outputs linked into this run), the failed step and what\n"
           "                      follows run.  Without PIPELINE, that run's manifest.yaml.\n"
           "                      Exit 2, nothing run, when RUN_ID succeeded, the pipeline,\n"
           "                      its params or an input file of a reused step changed, or a\n"
           "                      needed output was not saved; a step that runs again reads\n"
           "                      its inputs as they are now.  Also with --sandbox/--e2b\n\n"
           "Remote execution (same events, metrics, artifacts and outputs as a local run):\n"
           "  --sandbox local     run in osiris-worker in a fresh scratch directory with a\n"
           "                      clean environment (subprocess transport)\n"
           "  --e2b, --target e2b run in an E2B sandbox (needs E2B_API_KEY; E2B_API_URL,\n"
           "                      E2B_SANDBOX_URL and E2B_DOMAIN override the endpoints)\n"
           "  --e2b-template T    sandbox template (default: base)\n"
           "  --timeout S         bound the whole run, in every adapter: after S seconds the\n"
           "                      running step is stopped, status.json says timed_out, exit 1;\n"
           "                      a pipeline's timeout: bounds it too (the smaller wins) and\n"
           "                      steps[i].timeout each step; an E2B sandbox then lives at most\n"
           "                      the bound + 60 s (without one: 900 s, or OSIRIS_E2B_TIMEOUT,\n"
           "                      extended while the run lasts)\n"
           "  --e2b-install-deps  accepted; the static worker needs nothing installed\n\n"
           "Many runs (a batch): several pipelines, or --params-file, or --parallel:\n"
           "  --parallel N        at most N runs alive at once (default 4), so with --e2b\n"
           "                      at most N sandboxes; each run is its own 'osiris run'\n"
           "                      process with its own run directory and sandbox\n"
           "  --params-file F     one JSON object of parameters a line ({\"n\": 3}); each\n"
           "                      line is one run of every pipeline given (as --param,\n"
           "                      after the command line's); blank lines are skipped\n"
           "  The other options apply to every run.  Progress: a live line on a terminal\n"
           "  (queued, running, done, failed, rows/s), JSON lines on stderr otherwise\n"
           "  (docs/events.md).  Then a summary (per run: pipeline, params, status,\n"
           "  duration, rows, run directory; --json: one document) also written to\n"
           "  <logs-dir>/batch_<id>.json.  SIGINT/SIGTERM stops every run (interrupted,\n"
           "  sandboxes deleted); queued runs do not start.  Exit 0 only when every run\n"
           "  succeeded, 1 otherwise, 2 for a usage error before any run.\n\n"
           "Environment of the worker (--sandbox local or --e2b; repeatable, a later one\n"
           "wins).  The values reach the worker only as its process environment: never\n"
           "the package, the sandbox disk or a request that is logged; they are masked\n"
           "like secrets in every file of the run, and the event worker_env lists the\n"
           "names only.  A local (in-process) run refuses them.\n"
           "  --e2b-env NAME=VALUE   set NAME\n"
           "  --e2b-env-from FILE    NAME=VALUE lines (.env syntax: # comments, quotes)\n"
           "  --e2b-pass-env NAME    pass NAME with its value from this environment\n"
           "  PATH, HOME, E2B_API_KEY and OSIRIS_SECRET_* cannot be set.  Embedders: set\n"
           "  OSIRIS_WORKER_ENV_<NAME>=VALUE in the host's environment instead.\n\n"
           "Frames between steps (environment or .env; remote runs get the host's):\n"
           "  An extractor whose only consumer is a writer streams into it in batches.\n"
           "  OSIRIS_STREAM=0            turn streaming off\n"
           "  OSIRIS_FORCE_SPILL=1       write every frame to artifacts/<step>/output.parquet\n"
           "  OSIRIS_SPILL_THRESHOLD=N   spill frames held whole with more than N rows\n"
           "                             (default 100000)\n\n"
           "Exit codes: 0 success, 1 a step failed, 2 usage or the pipeline did not compile.\n");
  else if (os_streq(cmd, "components"))
    printf("Usage: osiris components list [--json]\n"
           "       osiris components show NAME [--json]\n\n"
           "List the built-in components (drivers), or show one with its config keys:\n"
           "type, allowed values or range, default, required, secret, files, aliases\n"
           "(what validate checks).  show --json prints it as a JSON Schema (2020-12).\n");
  else if (os_streq(cmd, "connections"))
    printf("Usage: osiris connections list [--json]\n"
           "       osiris connections doctor [@family.alias] [--json]\n\n"
           "list: the connections of osiris_connections.yaml (looked up in $OSIRIS_HOME,\n"
           "the current directory, then its parent) with secret values masked.\n"
           "doctor: connect to each connection (or the one named) and run a trivial\n"
           "query; reports ok, latency and the error with secrets masked.  Exit 0 when\n"
           "every check passed, 1 otherwise.\n");
  else if (os_streq(cmd, "runs"))
    printf("Usage: osiris runs list [--logs-dir DIR] [--json]\n"
           "       osiris runs diff RUN_A RUN_B [--json]\n\n"
           "list: the runs under the logs directory, newest first (as 'logs list').\n\n"
           "diff: compare two run directories: events per step and in order, metrics\n"
           "with their tags and row counts, manifest.yaml by content, artifacts\n"
           "(sha256), status.json, run_card.json and output files.  Times, durations,\n"
           "session ids, the adapter and the manifest's generation time are ignored, so\n"
           "'osiris run p.yaml', 'osiris run p.yaml --sandbox local' and 'osiris run\n"
           "p.yaml --e2b' compare equivalent although each compiled again.  Paths under\n"
           "a run's base directory are compared as the pipeline wrote them, so runs of\n"
           "two checkouts compare too.  Events only a transport emits are listed apart.\n"
           "An output file is compared as it is now on disk.\n"
           "Exit 0 when equivalent, 1 with the list of differences, 2 when a directory\n"
           "is missing.\n");
  else if (os_streq(cmd, "logs"))
    printf("Usage: osiris logs list [--logs-dir DIR] [--json]\n"
           "       osiris logs show [--last | SESSION_ID] [--logs-dir DIR] [--json]\n\n"
           "List the runs under the logs directory, or summarize one run: its steps,\n"
           "rows, durations, status and error.  'osiris runs list' is the same list.\n");
  else if (os_streq(cmd, "version"))
    printf("Usage: osiris version [--json]\n       osiris --version\n\n"
           "Print the version (--json: {\"version\": ...}).\n");
  else
    fputs(cli_usage, stdout);
  return 0;
}

static void cli_print_report_errors(const osiris_json *report, const char *file) {
  const osiris_json *errs = osiris_json_get(report, "errors");
  size_t i;
  for (i = 0; i < osiris_json_size(errs); i++) {
    const osiris_json *e = osiris_json_at(errs, i);
    const char *loc = osiris_json_str(osiris_json_get(e, "location"));
    int64_t line = osiris_json_int(osiris_json_get(e, "line"), 0);
    int64_t col = osiris_json_int(osiris_json_get(e, "col"), 0);
    const char *msg = osiris_json_str(osiris_json_get(e, "message"));
    if (line > 0)
      fprintf(stderr, "%s:%" PRId64 ":%" PRId64 ": ", file, line, col);
    else
      fprintf(stderr, "%s: ", file);
    if (loc && *loc) fprintf(stderr, "%s: ", loc);
    fprintf(stderr, "%s\n", msg ? msg : "error");
  }
}

/* "warning: file:line:col: location: message" for each warning; one that
 * is about no place of the pipeline (line 0, no location) names its own. */
static void cli_print_report_warnings(const osiris_json *report, const char *file) {
  const osiris_json *ws = osiris_json_get(report, "warnings");
  size_t i;
  for (i = 0; i < osiris_json_size(ws); i++) {
    const osiris_json *w = osiris_json_at(ws, i);
    const char *loc = js_gets(w, "location"), *msg = js_gets(w, "message");
    int64_t line = osiris_json_int(osiris_json_get(w, "line"), 0);
    fputs("warning: ", stderr);
    if (line > 0)
      fprintf(stderr, "%s:%" PRId64 ":%" PRId64 ": ", file, line,
              osiris_json_int(osiris_json_get(w, "col"), 0));
    else if (loc && *loc)
      fprintf(stderr, "%s: ", file);
    if (loc && *loc) fprintf(stderr, "%s: ", loc);
    fprintf(stderr, "%s\n", msg ? msg : "");
  }
}

static int cli_validate(osiris_ctx *ctx, cli_args *a) {
  osiris_json *report = NULL;
  osiris_rc rc;
  if (a->n_positional != 1) {
    fprintf(stderr, "osiris validate: expected one PIPELINE.yaml (see --help)\n");
    return 2;
  }
  rc = osiris_validate(ctx, a->positional[0], &report);
  if (a->json && report) {
    cli_print_json(report);
  } else if (rc == OSIRIS_OK) {
    cli_print_report_warnings(report, a->positional[0]);
    printf("%s is valid\n", a->positional[0]);
  } else if (report && osiris_json_size(osiris_json_get(report, "errors")) > 0) {
    cli_print_report_warnings(report, a->positional[0]);
    cli_print_report_errors(report, a->positional[0]);
  } else {
    fprintf(stderr, "%s\n", osiris_ctx_error(ctx));
  }
  osiris_json_free(report);
  return rc == OSIRIS_OK ? 0 : 2;
}

static int cli_compile(osiris_ctx *ctx, cli_args *a) {
  osiris_compile_opts o;
  osiris_json *result = NULL;
  osiris_rc rc;
  if (a->n_positional != 1) {
    fprintf(stderr, "osiris compile: expected one PIPELINE.yaml (see --help)\n");
    return 2;
  }
  memset(&o, 0, sizeof o);
  a->params[a->n_params] = NULL;
  o.profile = a->profile;
  o.params = a->params;
  o.out_dir = a->out;
  o.logs_dir = a->logs_dir;
  rc = osiris_compile(ctx, a->positional[0], &o, &result);
  if (a->json) {
    if (result) {
      cli_print_json(result);
    } else {
      osiris_json *e = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(e, "status", "error");
      js_set_str(e, "message", osiris_ctx_error(ctx));
      cli_print_json(e);
      osiris_json_free(e);
    }
  } else if (rc == OSIRIS_OK) {
    cli_print_report_warnings(result, a->positional[0]);
    printf("compiled %s -> %s (manifest %s)\n", a->positional[0],
           osiris_json_str(osiris_json_get(result, "manifest_path")),
           osiris_json_str(osiris_json_get(result, "manifest_short")));
  } else if (result && osiris_json_size(osiris_json_get(result, "errors")) > 0) {
    cli_print_report_warnings(result, a->positional[0]);
    cli_print_report_errors(result, a->positional[0]);
  } else {
    fprintf(stderr, "%s\n", osiris_ctx_error(ctx));
  }
  osiris_json_free(result);
  if (rc == OSIRIS_OK) return 0;
  return rc == OSIRIS_ENOMEM || rc == OSIRIS_EIO ? 1 : 2;
}

/* A path under the base directory is shown relative to it. */
static const char *cli_display_path(const osiris_ctx *ctx, const char *path) {
  size_t n = strlen(ctx->base_dir);
  if (strncmp(path, ctx->base_dir, n) == 0 && path[n] == '/') return path + n + 1;
  return path;
}

/* The worker's extra environment from --e2b-env, --e2b-env-from and
 * --e2b-pass-env, in command-line order (a later one wins): *out is an
 * object NAME -> value (owned).  Usage errors print and return 2. */
static int cli_worker_env(const cli_args *a, osiris_json **out) {
  osiris_json *env = js_alloc(OSIRIS_JSON_OBJECT);
  size_t i, k;
  int code = 0;
  *out = NULL;
  if (!env) return 1;
  for (i = 0; i < a->n_env && !code; i++) {
    const char *v = a->env[i].val;
    if (a->env[i].kind == 'e') {
      const char *eq = strchr(v, '=');
      char *name = os_strndup(v, (size_t)(eq - v));
      if (!name || !rm_worker_env_name_ok(name, strlen(name))) {
        fprintf(stderr, "osiris run: --e2b-env: the worker cannot be given '%s' (a name is "
                        "[A-Za-z_][A-Za-z0-9_]*, not PATH, HOME, E2B_API_KEY or OSIRIS_SECRET_*)\n",
                name ? name : v);
        code = 2;
      } else if (js_set_str(env, name, eq + 1)) {
        code = 1;
      }
      os_free(name);
    } else if (a->env[i].kind == 'p') {
      const char *hv = getenv(v);
      if (!rm_worker_env_name_ok(v, strlen(v))) {
        fprintf(stderr, "osiris run: --e2b-pass-env: the worker cannot be given '%s'\n", v);
        code = 2;
      } else if (!hv) {
        fprintf(stderr, "osiris run: --e2b-pass-env %s: %s is not set in this environment\n", v, v);
        code = 2;
      } else if (js_set_str(env, v, hv)) {
        code = 1;
      }
    } else {
      char *text = NULL;
      size_t len = 0;
      os_err err = {0};
      osiris_json *file = js_alloc(OSIRIS_JSON_OBJECT), *bad = NULL;
      if (!file || os_read_file(v, &text, &len, &err)) {
        fprintf(stderr, "osiris run: --e2b-env-from %s: %s\n", v, file ? err.msg : "out of memory");
        code = 2;
      } else if (!(bad = js_alloc(OSIRIS_JSON_ARRAY)) || cn_parse_dotenv(text, len, file, v, bad)) {
        code = 1;
      } else if (osiris_json_size(bad)) {
        fprintf(stderr, "osiris run: --e2b-env-from %s: this line is not NAME=VALUE\n",
                osiris_json_str(osiris_json_at(bad, 0)));
        code = 2;
      }
      osiris_json_free(bad);
      for (k = 0; !code && k < osiris_json_size(file); k++) {
        const char *name = osiris_json_key_at(file, k);
        if (!rm_worker_env_name_ok(name, strlen(name))) {
          fprintf(stderr, "osiris run: --e2b-env-from %s: the worker cannot be given '%s'\n", v, name);
          code = 2;
        } else if (osiris_json_set(env, name, osiris_json_copy(osiris_json_at(file, k)))) {
          code = 1;
        }
      }
      if (text) memset(text, 0, len);
      os_free(text);
      osiris_json_free(file);
    }
  }
  if (code) {
    osiris_json_free(env);
    return code;
  }
  *out = env;
  return 0;
}

/* Hand the worker's environment to the transport: OSIRIS_WORKER_ENV_<NAME>
 * in our own environment only (section 16, rm_worker_env); <NAME> itself
 * is not set here, so the host resolves nothing from it. */
static int cli_export_worker_env(const osiris_json *env) {
  size_t i;
  for (i = 0; i < osiris_json_size(env); i++) {
    char *var = os_asprintf("OSIRIS_WORKER_ENV_%s", osiris_json_key_at(env, i));
    int bad = !var || setenv(var, osiris_json_str(osiris_json_at(env, i)), 1) != 0;
    os_free(var);
    if (bad) {
      fprintf(stderr, "osiris run: cannot pass %s to the worker\n", osiris_json_key_at(env, i));
      return 1;
    }
  }
  return 0;
}

/* --dry-run: one file of the plan and its size ("generated" when the
 * transport writes it at run time, -1 when the file is missing). */
static void cli_plan_file(osiris_json *files, const char *path, const char *what, int64_t size,
                          int64_t *total) {
  osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
  if (!f) return;
  js_set_str(f, "path", path);
  js_set_str(f, "what", what);
  if (size >= 0) js_set_int(f, "bytes", size);
  else osiris_json_set(f, "bytes", osiris_json_new(OSIRIS_JSON_NULL));
  if (size >= 0 && total) *total += size;
  osiris_json_push(files, f);
}

static int64_t cli_file_size(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

typedef struct cli_plan_step {
  const char *id;
  osiris_json *up, *back;
  int64_t *total;
} cli_plan_step;

static osiris_rc cli_plan_step_file(void *user, const rm_file *f, os_err *err) {
  cli_plan_step *ps = user;
  char *what = os_asprintf("%s of step %s", f->key->name, ps->id);
  (void)err;
  if (f->key->flags & OSIRIS_KEY_INPUT_FILE)
    cli_plan_file(ps->up, f->path, what ? what : "", cli_file_size(f->host), ps->total);
  if (f->key->flags & OSIRIS_KEY_OUTPUT_FILE) cli_plan_file(ps->back, f->path, what ? what : "", -1, NULL);
  os_free(what);
  return OSIRIS_OK;
}

typedef struct cli_plan_conn {
  osiris_json *up;
  int64_t *total;
} cli_plan_conn;

static osiris_rc cli_plan_conn_file(void *user, const rm_conn_file *f, os_err *err) {
  cli_plan_conn *pc = user;
  char *what = os_asprintf("%s of connection @%s.%s", f->key, f->family, f->alias);
  (void)err;
  cli_plan_file(pc->up, f->path, what ? what : "", cli_file_size(f->host), pc->total);
  os_free(what);
  return OSIRIS_OK;
}

/* Seconds as an integer when whole (5, not 5.0). */
static void cli_set_seconds(osiris_json *obj, const char *key, double s) {
  if (s == floor(s) && s < 9e15)
    js_set_int(obj, key, (int64_t)s);
  else
    js_set_double(obj, key, s);
}

/* The plan of one manifest as JSON: steps in run order, and for a remote
 * adapter the files the package would hold and the files a run brings
 * back.  The files are those the packager walks (rm_each_step_file,
 * rm_each_conn_file); the paths are as the pipeline wrote them. */
static osiris_rc cli_plan(osiris_ctx *ctx, const char *manifest, int remote, osiris_json *plan, os_err *err) {
  mf_manifest *mf = NULL;
  size_t *order = NULL, i, k;
  osiris_json *steps = js_alloc(OSIRIS_JSON_ARRAY), *up = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *back = js_alloc(OSIRIS_JSON_ARRAY);
  int64_t total = 0;
  osiris_rc rc;
  if (!steps || !up || !back) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = mf_load(manifest, &mf, err);
  if (rc) goto done;
  order = os_calloc(mf->n_steps ? mf->n_steps : 1, sizeof *order);
  if (!order) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = mf_order(mf, order, err);
  if (rc) goto done;
  js_set_str(plan, "pipeline_id", mf->pipeline_id ? mf->pipeline_id : "");
  js_set_str(plan, "profile", mf->profile ? mf->profile : "");
  {
    /* the run's bound: the smaller of --timeout (already in the plan) and
     * the pipeline's; an E2B sandbox lives it + 60 s (rn_wd_setup) */
    double cli = osiris_json_num(osiris_json_get(plan, "run_timeout_s"), 0);
    if (mf->timeout_s > 0 && (cli <= 0 || mf->timeout_s < cli)) {
      cli_set_seconds(plan, "run_timeout_s", mf->timeout_s);
      js_set_str(plan, "run_timeout_from", "timeout");
      if (osiris_json_get(plan, "timeout_s"))
        js_set_int(plan, "timeout_s", (int64_t)ceil(mf->timeout_s) + E2_TTL_MARGIN_S);
    }
  }
  js_set_str(plan, "manifest_short", js_gets(osiris_json_get(mf->doc, "meta"), "manifest_short")
                                         ? js_gets(osiris_json_get(mf->doc, "meta"), "manifest_short") : "");
  if (remote) {
    os_err werr = {0};
    char *wbin = rm_worker_binary(&werr);
    cli_plan_file(up, "osiris-worker", wbin ? wbin : werr.msg, cli_file_size(wbin), &total);
    os_free(wbin);
    cli_plan_file(up, "manifest.yaml", "the manifest", cli_file_size(manifest), &total);
  }
  for (i = 0; i < mf->n_steps; i++) {
    const mf_step *ms = &mf->steps[order[i]];
    const osiris_driver *d = osiris_driver_find(ctx, ms->driver);
    osiris_json *st = js_alloc(OSIRIS_JSON_OBJECT), *needs = js_alloc(OSIRIS_JSON_ARRAY), *cfg = NULL;
    char *cfg_path = os_path_join(mf->dir, ms->cfg_path), *rel = os_asprintf("cfg/%s.json", ms->id);
    os_err cerr = {0};
    if (!st || !needs || !cfg_path || !rel) {
      osiris_json_free(st);
      osiris_json_free(needs);
      os_free(cfg_path);
      os_free(rel);
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
    js_set_str(st, "id", ms->id);
    js_set_str(st, "driver", ms->driver);
    if (ms->timeout_s > 0) cli_set_seconds(st, "timeout_s", ms->timeout_s);
    if (!d) js_set_str(st, "problem", "no such driver");
    for (k = 0; k < ms->n_needs; k++) js_push_str(needs, ms->needs[k]);
    osiris_json_set(st, "needs", needs);
    osiris_json_push(steps, st);
    if (!remote) goto next;
    cli_plan_file(up, rel, "config", cli_file_size(cfg_path), &total);
    if (!d || js_read_file(cfg_path, &cfg, &cerr)) goto next;
    {
      cli_plan_step ps = {ms->id, up, back, &total};
      os_err ferr = {0};
      rm_each_step_file(ctx, d, cfg, cli_plan_step_file, &ps, &ferr);
    }
  next:
    osiris_json_free(cfg);
    os_free(cfg_path);
    os_free(rel);
  }
  if (remote) {
    char *cpath = NULL;
    osiris_json *cdoc = NULL;
    const osiris_json *conns;
    os_err nerr = {0};
    if (cn_load_file(ctx, &cpath, &cdoc, &conns, &nerr) == OSIRIS_OK) {
      osiris_json *used = js_alloc(OSIRIS_JSON_OBJECT);
      cli_plan_conn pc = {up, &total};
      cli_plan_file(up, CN_FILE_NAME, "generated: the connections the steps use, secret values as "
                                      "${OSIRIS_SECRET_<n>} references", -1, NULL);
      for (i = 0; used && i < osiris_json_size(conns); i++)
        if (rm_family_used(ctx, mf, osiris_json_key_at(conns, i)))
          osiris_json_set(used, osiris_json_key_at(conns, i), osiris_json_copy(osiris_json_at(conns, i)));
      if (used) rm_each_conn_file(ctx, used, cli_plan_conn_file, &pc, &nerr);
      osiris_json_free(used);
    }
    os_free(cpath);
    osiris_json_free(cdoc);
    cli_plan_file(up, "commands.jsonl", "generated: ping, prepare, one exec_step per step, cleanup", -1, NULL);
    cli_plan_file(back, "artifacts/", "every step's artifacts", -1, NULL);
    js_set_int(plan, "upload_bytes", total);
  }
  osiris_json_set(plan, "steps", steps);
  steps = NULL;
  if (remote) {
    osiris_json_set(plan, "upload", up);
    osiris_json_set(plan, "bring_back", back);
    up = back = NULL;
  }
done:
  osiris_json_free(steps);
  osiris_json_free(up);
  osiris_json_free(back);
  os_free(order);
  mf_free(mf);
  return rc;
}

/* A file without a size is generated at run time, or missing (an input
 * that does not exist: what says which, missing_label shows it). */
static void cli_print_plan_files(const char *title, const osiris_json *files, const char *missing_label) {
  size_t i;
  if (!osiris_json_size(files)) return;
  printf("%s\n", title);
  for (i = 0; i < osiris_json_size(files); i++) {
    const osiris_json *f = osiris_json_at(files, i);
    const osiris_json *b = osiris_json_get(f, "bytes");
    if (osiris_json_kind_of(b) != OSIRIS_JSON_NULL)
      printf("  %-40s %12" PRId64 " bytes  %s\n", js_gets(f, "path"), osiris_json_int(b, 0), js_gets(f, "what"));
    else
      printf("  %-40s %12s        %s\n", js_gets(f, "path"),
             os_startswith(js_gets(f, "what"), "generated") ? "" : missing_label, js_gets(f, "what"));
  }
}

/* osiris run ... --dry-run: what the run would do, with nothing created
 * (OML compiles into a temporary directory, removed before we return) and
 * nothing run (no session, no sandbox, no worker). */
static int cli_dry_run(osiris_ctx *ctx, cli_args *a, const char *path, const osiris_run_opts *o,
                       const osiris_json *env) {
  osiris_json *plan = js_alloc(OSIRIS_JSON_OBJECT), *doc = NULL, *names = js_alloc(OSIRIS_JSON_ARRAY);
  char *abs = os_path_abs(ctx->base_dir, path), *tmp = NULL, *manifest = NULL;
  const char *adapter = o->adapter ? o->adapter : "local";
  int remote = !os_streq(adapter, "local"), code = 0;
  os_err err = {0};
  size_t i;
  if (!plan || !names || !abs) {
    code = 1;
    goto done;
  }
  js_set_bool(plan, "dry_run", 1);
  js_set_str(plan, "pipeline", path);
  if (ym_read_file(abs, &doc, &err)) {
    fprintf(stderr, "osiris run: %s\n", err.msg);
    code = 2;
    goto done;
  }
  if (mf_is_manifest(doc)) {
    js_set_str(plan, "input", "manifest");
    manifest = os_strdup(abs);
  } else {
    osiris_compile_opts co;
    osiris_json *result = NULL;
    const char *tdir = getenv("TMPDIR");
    osiris_rc rc;
    tmp = os_asprintf("%s/osiris-dry-run.XXXXXX", tdir && *tdir ? tdir : "/tmp");
    if (!tmp || !mkdtemp(tmp)) {
      fprintf(stderr, "osiris run: --dry-run: cannot create a temporary directory: %s\n", strerror(errno));
      os_free(tmp);
      tmp = NULL;
      code = 1;
      goto done;
    }
    memset(&co, 0, sizeof co);
    co.profile = o->profile;
    co.params = o->params;
    co.logs_dir = tmp;
    co.out_dir = tmp;
    rc = osiris_compile(ctx, path, &co, &result);
    if (rc) {
      if (result && osiris_json_size(osiris_json_get(result, "errors")) > 0)
        cli_print_report_errors(result, path);
      else
        fprintf(stderr, "osiris run: %s\n", osiris_ctx_error(ctx));
      osiris_json_free(result);
      code = rc == OSIRIS_ENOMEM ? 1 : 2;
      goto done;
    }
    js_set_str(plan, "input", "OML, compiled into a temporary directory that is removed");
    manifest = os_strdup(js_gets(result, "manifest_path"));
    osiris_json_free(result);
  }
  js_set_str(plan, "adapter", adapter);
  if (o->timeout_s > 0) {
    js_set_int(plan, "run_timeout_s", o->timeout_s);
    js_set_str(plan, "run_timeout_from", "--timeout");
  }
  if (os_streq(adapter, "e2b")) {
    const char *url = getenv("E2B_API_URL");
    js_set_str(plan, "transport", "E2B sandbox");
    js_set_str(plan, "e2b_template", o->e2b_template ? o->e2b_template : "base");
    js_set_int(plan, "timeout_s", o->timeout_s ? o->timeout_s + E2_TTL_MARGIN_S : 900);
    js_set_str(plan, "e2b_api_url", url && *url ? url : "https://api.e2b.dev");
    js_set_bool(plan, "e2b_api_key_set", getenv("E2B_API_KEY") != NULL);
  } else if (remote) {
    js_set_str(plan, "transport", "subprocess: osiris-worker in a fresh scratch directory");
  } else {
    js_set_str(plan, "transport", "in-process: nothing is uploaded");
  }
  if (manifest && cli_plan(ctx, manifest, remote, plan, &err)) {
    fprintf(stderr, "osiris run: %s\n", err.msg);
    code = 2;
    goto done;
  }
  if (remote) {
    static const char *const spill_vars[] = {"OSIRIS_FORCE_SPILL", "E2B_FORCE_SPILL", "OSIRIS_SPILL_THRESHOLD",
                                             "E2B_SPILL_THRESHOLD", "OSIRIS_STREAM", NULL};
    char **e;
    for (i = 0; spill_vars[i]; i++)
      if (osiris_ctx_getenv(ctx, spill_vars[i])) js_push_str(names, spill_vars[i]);
    for (e = environ; e && *e; e++)
      if (os_startswith(*e, "OSIRIS_WORKER_ENV_") && strchr(*e, '=')) {
        const char *nm = *e + strlen("OSIRIS_WORKER_ENV_");
        char *name = os_strndup(nm, (size_t)(strchr(*e, '=') - nm));
        if (name && !osiris_json_get(env, name)) js_push_str(names, name);
        os_free(name);
      }
    for (i = 0; i < osiris_json_size(env); i++) js_push_str(names, osiris_json_key_at(env, i));
    osiris_json_set(plan, "worker_env", names);
    names = NULL;
  }
  if (a->json) {
    cli_print_json(plan);
    goto done;
  }
  printf("dry run: nothing is created and nothing runs\n");
  printf("pipeline:  %s (%s)\n", path, js_gets(plan, "input"));
  printf("           id %s, profile %s, manifest %s\n", js_gets(plan, "pipeline_id"), js_gets(plan, "profile"),
         js_gets(plan, "manifest_short"));
  printf("adapter:   %s (%s)\n", adapter, js_gets(plan, "transport"));
  if (os_streq(adapter, "e2b"))
    printf("           template %s, sandbox lifetime %" PRId64 " s, API %s, E2B_API_KEY %s\n",
           js_gets(plan, "e2b_template"), osiris_json_int(osiris_json_get(plan, "timeout_s"), 0),
           js_gets(plan, "e2b_api_url"),
           osiris_json_bool(osiris_json_get(plan, "e2b_api_key_set"), 0) ? "set" : "NOT SET");
  if (osiris_json_get(plan, "run_timeout_s"))
    printf("timeout:   %g s (%s)\n", osiris_json_num(osiris_json_get(plan, "run_timeout_s"), 0),
           js_gets(plan, "run_timeout_from"));
  printf("steps, in run order:\n");
  {
    const osiris_json *steps = osiris_json_get(plan, "steps");
    for (i = 0; i < osiris_json_size(steps); i++) {
      const osiris_json *st = osiris_json_at(steps, i), *needs = osiris_json_get(st, "needs");
      size_t k;
      printf("  %zu. %-28s %-28s", i + 1, js_gets(st, "id"), js_gets(st, "driver"));
      for (k = 0; k < osiris_json_size(needs); k++)
        printf("%s%s", k ? ", " : "needs ", osiris_json_str(osiris_json_at(needs, k)));
      if (osiris_json_get(st, "timeout_s"))
        printf("  (timeout %g s)", osiris_json_num(osiris_json_get(st, "timeout_s"), 0));
      if (js_gets(st, "problem")) printf("  (%s)", js_gets(st, "problem"));
      printf("\n");
    }
  }
  if (remote) {
    cli_print_plan_files("upload:", osiris_json_get(plan, "upload"), "MISSING");
    printf("  %-40s %12" PRId64 " bytes  (and the generated files)\n", "total",
           osiris_json_int(osiris_json_get(plan, "upload_bytes"), 0));
    cli_print_plan_files("bring back (when written):", osiris_json_get(plan, "bring_back"), "");
    {
      const osiris_json *wn = osiris_json_get(plan, "worker_env");
      printf("worker environment (names only): PATH, HOME");
      for (i = 0; i < osiris_json_size(wn); i++) printf(", %s", osiris_json_str(osiris_json_at(wn, i)));
      printf(", and OSIRIS_SECRET_<n> for connection secrets\n");
    }
  }
done:
  if (tmp) rm_rmtree(tmp);
  os_free(tmp);
  os_free(manifest);
  os_free(abs);
  osiris_json_free(doc);
  osiris_json_free(names);
  osiris_json_free(plan);
  return code;
}

static int cli_run_batch(osiris_ctx *ctx, cli_args *a);
static void cli_batch_child_init(osiris_ctx *ctx);

/* A run made by --resume: "  resumed from run_X: 4 steps reused (a, b, ...)". */
static void cli_print_resumed(FILE *out, const osiris_json *status) {
  const osiris_json *ids = osiris_json_get(status, "steps_reused");
  size_t i, n = osiris_json_size(ids);
  if (!js_gets(status, "resumed_from")) return;
  fprintf(out, "  resumed from %s: %zu step%s reused", js_gets(status, "resumed_from"), n, n == 1 ? "" : "s");
  for (i = 0; i < n && i < 8; i++)
    fprintf(out, "%s%s", i ? ", " : " (", osiris_json_str(osiris_json_at(ids, i)));
  fprintf(out, "%s\n", n == 0 ? "" : n > 8 ? ", ...)" : ")");
}

static int cli_run(osiris_ctx *ctx, cli_args *a) {
  osiris_run_opts o;
  osiris_json *worker_env = NULL;
  osiris_run *run = NULL;
  osiris_rc rc;
  char *last = NULL;
  const char *path;
  const osiris_json *status;
  int code;
  if (a->n_positional > 1 || a->parallel || a->params_file) return cli_run_batch(ctx, a);
  if ((a->last_compile == (a->n_positional == 1) && !(a->resume && !a->last_compile)) ||
      a->n_positional > 1) {
    fprintf(stderr, "osiris run: give one PIPELINE.yaml or MANIFEST.yaml, or --last-compile\n");
    return 2;
  }
  if (a->resume && a->dry_run) {
    fprintf(stderr, "osiris run: --resume does not combine with --dry-run\n");
    return 2;
  }
  if (a->last_compile) {
    last = osiris_last_compile(ctx, a->logs_dir);
    if (!last) {
      fprintf(stderr, "osiris run: no compiled manifest found under %s; run 'osiris compile' first\n",
              a->logs_dir ? a->logs_dir : "logs");
      return 2;
    }
    path = last;
  } else {
    path = a->n_positional ? a->positional[0] : NULL; /* NULL: --resume, the run's own manifest */
  }
  memset(&o, 0, sizeof o);
  o.resumable = a->resumable;
  o.resume_from = a->resume;
  a->params[a->n_params] = NULL;
  o.profile = a->profile;
  o.params = a->params;
  o.logs_dir = a->logs_dir;
  o.verbose = a->verbose;
  if (a->sandbox && !os_streq(a->sandbox, "local")) {
    fprintf(stderr, "osiris run: --sandbox supports 'local' (use --e2b for E2B), got '%s'\n", a->sandbox);
    os_free(last);
    return 2;
  }
  if (a->target && !os_streq(a->target, "e2b") && !os_streq(a->target, "local")) {
    fprintf(stderr, "osiris run: --target supports 'e2b' and 'local', got '%s'\n", a->target);
    os_free(last);
    return 2;
  }
  if (a->target && os_streq(a->target, "e2b")) a->e2b = 1;
  if (a->sandbox && a->e2b) {
    fprintf(stderr, "osiris run: choose one of --sandbox local and --e2b\n");
    os_free(last);
    return 2;
  }
  o.adapter = a->e2b ? "e2b" : a->sandbox ? "sandbox" : NULL;
  o.e2b_template = a->e2b_template;
  o.timeout_s = a->timeout_s;
  o.jobs = a->jobs;
  {
    const char *env_deps = getenv("OSIRIS_E2B_INSTALL_DEPS");
    o.install_deps = a->install_deps || (env_deps && os_streq(env_deps, "1"));
  }
  code = cli_worker_env(a, &worker_env);
  if (!code && osiris_json_size(worker_env) && !o.adapter) {
    fprintf(stderr, "osiris run: --e2b-env, --e2b-env-from and --e2b-pass-env set the environment of a "
                    "sandbox worker: add --sandbox local or --e2b\n");
    code = 2;
  }
  if (!code && a->dry_run) {
    code = cli_dry_run(ctx, a, path, &o, worker_env);
    osiris_json_free(worker_env);
    os_free(last);
    return code;
  }
  if (!code) code = cli_export_worker_env(worker_env);
  osiris_json_free(worker_env);
  if (code) {
    os_free(last);
    return code;
  }
  if (a->verbose) osiris_ctx_set_log(ctx, cli_verbose_log, NULL);
  if (a->verbose && isatty(STDERR_FILENO)) osiris_ctx_set_progress(ctx, cli_progress, NULL);
  cli_batch_child_init(ctx); /* a run of a batch reports its progress to the batch */
  rc = osiris_run_pipeline(ctx, path, &o, &run);
  if (cli_progress_shown) fputs("\r\033[K", stderr);
  os_free(last);
  if (!run) {
    /* Nothing ran: the pipeline did not load or compile. */
    if (a->json) {
      osiris_json *e = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(e, "status", "error");
      js_set_str(e, "phase", "compile");
      js_set_str(e, "message", osiris_ctx_error(ctx));
      js_set_int(e, "exit_code", 2);
      cli_print_json(e);
      osiris_json_free(e);
    } else {
      fprintf(stderr, "osiris run: %s\n", osiris_ctx_error(ctx));
    }
    return rc == OSIRIS_ENOMEM ? 1 : 2;
  }
  status = osiris_run_status(run);
  code = rc == OSIRIS_OK ? 0 : 1;
  if (a->json) {
    osiris_json *j = osiris_json_new(OSIRIS_JSON_OBJECT);
    js_set_str(j, "status", rc == OSIRIS_OK ? "success" : "error");
    js_set_str(j, "session_id", osiris_run_session_id(run));
    js_set_str(j, "session_dir", osiris_run_dir(run));
    osiris_json_set(j, "steps_completed", osiris_json_copy(osiris_json_get(status, "steps_completed")));
    osiris_json_set(j, "steps_total", osiris_json_copy(osiris_json_get(status, "steps_total")));
    osiris_json_set(j, "duration_ms", osiris_json_copy(osiris_json_get(status, "duration_ms")));
    if (osiris_json_get(status, "resumed_from")) {
      osiris_json_set(j, "resumed_from", osiris_json_copy(osiris_json_get(status, "resumed_from")));
      osiris_json_set(j, "steps_reused", osiris_json_copy(osiris_json_get(status, "steps_reused")));
    }
    if (rc == OSIRIS_OK) {
      osiris_json_set(j, "error", osiris_json_new(OSIRIS_JSON_NULL));
      osiris_json_set(j, "failed_step", osiris_json_new(OSIRIS_JSON_NULL));
    } else {
      js_set_str(j, "error", osiris_run_error(run));
      if (osiris_run_failed_step(run))
        js_set_str(j, "failed_step", osiris_run_failed_step(run));
      else
        osiris_json_set(j, "failed_step", osiris_json_new(OSIRIS_JSON_NULL));
    }
    js_set_int(j, "exit_code", code);
    cli_print_json(j);
    osiris_json_free(j);
  } else if (rc == OSIRIS_OK) {
    printf("\xe2\x9c\x93 run %s succeeded: %" PRId64 "/%" PRId64 " steps, %" PRId64
           " rows written, %" PRId64 " ms\n",
           osiris_run_session_id(run),
           osiris_json_int(osiris_json_get(status, "steps_completed"), 0),
           osiris_json_int(osiris_json_get(status, "steps_total"), 0),
           osiris_json_int(osiris_json_get(status, "total_rows"), 0),
           osiris_json_int(osiris_json_get(status, "duration_ms"), 0));
    printf("  logs: %s/\n", cli_display_path(ctx, osiris_run_dir(run)));
    cli_print_resumed(stdout, status);
  } else {
    const char *step = osiris_run_failed_step(run), *msg = osiris_run_error(run);
    char prefix[300];
    /* The message names its step already for status.json; say it once. */
    snprintf(prefix, sizeof prefix, "step %s: ", step ? step : "");
    if (step && os_startswith(msg, prefix)) msg += strlen(prefix);
    if (step)
      fprintf(stderr, "\xe2\x9c\x97 run %s failed at step %s: %s\n", osiris_run_session_id(run), step, msg);
    else
      fprintf(stderr, "\xe2\x9c\x97 run %s failed: %s\n", osiris_run_session_id(run), msg);
    fprintf(stderr, "  logs: %s/\n", cli_display_path(ctx, osiris_run_dir(run)));
    cli_print_resumed(stderr, status);
  }
  osiris_run_free(run);
  return code;
}

static int cli_logs(osiris_ctx *ctx, cli_args *a);

static int cli_runs(osiris_ctx *ctx, cli_args *a) {
  osiris_json *report = NULL;
  const osiris_json *diffs, *transport;
  size_t i;
  osiris_rc rc;
  /* Osiris 0.5.7's `runs list`: the runs under the logs directory. */
  if (a->n_positional == 1 && os_streq(a->positional[0], "list")) return cli_logs(ctx, a);
  if (a->n_positional != 3 || !os_streq(a->positional[0], "diff")) {
    fprintf(stderr, "osiris runs: expected 'list' or 'diff RUN_A RUN_B' (see --help)\n");
    return 2;
  }
  rc = osiris_runs_diff(ctx, a->positional[1], a->positional[2], &report);
  if (rc) {
    fprintf(stderr, "osiris runs diff: %s\n", osiris_ctx_error(ctx));
    return 2;
  }
  diffs = osiris_json_get(report, "differences");
  transport = osiris_json_get(report, "transport_only");
  if (a->json) {
    cli_print_json(report);
  } else {
    for (i = 0; i < osiris_json_size(diffs); i++) printf("- %s\n", osiris_json_str(osiris_json_at(diffs, i)));
    if (osiris_json_size(transport)) {
      printf("transport-only (not differences):\n");
      for (i = 0; i < osiris_json_size(transport); i++)
        printf("  %s\n", osiris_json_str(osiris_json_at(transport, i)));
    }
    printf(osiris_json_size(diffs) ? "%zu difference(s)\n" : "equivalent\n", osiris_json_size(diffs));
  }
  rc = osiris_json_size(diffs) ? OSIRIS_EDRIVER : OSIRIS_OK;
  osiris_json_free(report);
  return rc ? 1 : 0;
}

/* One key of `components show`: name, what it takes, its facts, its doc. */
static void cli_print_key(const osiris_config_key *k) {
  const struct cp_flag_word *fw;
  os_buf b = {0};
  ob_printf(&b, "    %s%s  ", k->name, (k->flags & OSIRIS_KEY_REQUIRED) ? "*" : "");
  if (k->alias_of && strchr(k->alias_of, '=')) {
    cp_expect_text(&b, k);
    ob_printf(&b, "; true means %.*s: %s", (int)(strchr(k->alias_of, '=') - k->alias_of),
              k->alias_of, strchr(k->alias_of, '=') + 1);
  } else if (k->alias_of) {
    ob_printf(&b, "alias of %s", k->alias_of);
  } else {
    cp_expect_text(&b, k);
    if (k->default_json) ob_printf(&b, "; default %s", k->default_json);
  }
  for (fw = cp_flag_words; fw->flag; fw++)
    if (k->flags & fw->flag) ob_printf(&b, "; %s", fw->text);
  if ((k->flags & OSIRIS_KEY_REQUIRED) && (k->flags & OSIRIS_KEY_CONN))
    ob_puts(&b, " (required unless the connection gives it)");
  printf("%s\n", b.p ? b.p : k->name);
  if (k->doc && *k->doc) printf("        %s\n", k->doc);
  ob_free(&b);
}

static int cli_components(osiris_ctx *ctx, cli_args *a) {
  const char *sub = a->n_positional ? a->positional[0] : "list";
  size_t i;
  if (os_streq(sub, "list")) {
    osiris_json *arr = osiris_json_new(OSIRIS_JSON_ARRAY);
    for (i = 0; i < osiris_driver_count(ctx); i++) {
      const char *name;
      const osiris_driver *d = osiris_driver_at(ctx, i, &name);
      if (a->json) {
        osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
        js_set_str(o, "name", name);
        js_set_str(o, "driver", d->name);
        js_set_str(o, "family", d->family ? d->family : "");
        js_set_str(o, "modes", d->modes ? d->modes : "");
        js_set_str(o, "summary", d->summary ? d->summary : "");
        osiris_json_push(arr, o);
      } else {
        if (strcmp(name, d->name))
          printf("%-28s %-18s alias of %s\n", name, d->modes ? d->modes : "", d->name);
        else
          printf("%-28s %-18s %s\n", name, d->modes ? d->modes : "", d->summary ? d->summary : "");
      }
    }
    if (a->json) cli_print_json(arr);
    osiris_json_free(arr);
    return 0;
  }
  if (os_streq(sub, "show") && a->n_positional == 2) {
    const osiris_driver *d = osiris_driver_find(ctx, a->positional[1]);
    const osiris_config_key *k;
    if (!d) {
      fprintf(stderr, "osiris components show: unknown component '%s' (see 'osiris components list')\n",
              a->positional[1]);
      return 2;
    }
    if (a->json) {
      osiris_json *schema = cp_driver_schema(d);
      if (!schema) {
        fprintf(stderr, "osiris components show: out of memory\n");
        return 1;
      }
      cli_print_json(schema);
      osiris_json_free(schema);
      return 0;
    }
    printf("%s: %s\n  family: %s\n  modes:  %s\n  config (* required):\n", d->name,
           d->summary ? d->summary : "", d->family ? d->family : "", d->modes ? d->modes : "");
    for (k = d->keys; k && k->name; k++) cli_print_key(k);
    return 0;
  }
  fprintf(stderr, "osiris components: expected 'list' or 'show NAME' (see --help)\n");
  return 2;
}

static int cli_connections(osiris_ctx *ctx, cli_args *a) {
  osiris_json *list = NULL;
  os_err err = {0};
  const osiris_json *conns;
  size_t i, j, k;
  if (a->n_positional >= 1 && os_streq(a->positional[0], "doctor") && a->n_positional <= 2) {
    osiris_json *report = NULL;
    const osiris_json *items;
    osiris_rc rc = osiris_connections_doctor(ctx, a->n_positional == 2 ? a->positional[1] : NULL, &report);
    if (!report) {
      fprintf(stderr, "osiris connections doctor: %s\n", osiris_ctx_error(ctx));
      return rc == OSIRIS_EUSAGE || rc == OSIRIS_ENOTFOUND ? 2 : 1;
    }
    if (a->json) {
      cli_print_json(report);
    } else {
      items = osiris_json_get(report, "connections");
      for (i = 0; i < osiris_json_size(items); i++) {
        const osiris_json *c = osiris_json_at(items, i);
        int ok = osiris_json_bool(osiris_json_get(c, "ok"), 0);
        int skipped = osiris_json_bool(osiris_json_get(c, "skipped"), 0);
        printf("%s %-32s %s", skipped ? "-" : ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97", js_gets(c, "ref"),
               skipped ? "nothing to check" : ok ? "ok" : "failed");
        if (!skipped) printf(" (%" PRId64 " ms)", osiris_json_int(osiris_json_get(c, "latency_ms"), 0));
        if (!ok && js_gets(c, "error")) printf(": %s", js_gets(c, "error"));
        printf("\n");
      }
      if (osiris_json_size(items) == 0) printf("no connections in osiris_connections.yaml\n");
    }
    osiris_json_free(report);
    return rc == OSIRIS_OK ? 0 : 1;
  }
  if (a->n_positional != 1 || !os_streq(a->positional[0], "list")) {
    fprintf(stderr, "osiris connections: expected 'list' or 'doctor [@family.alias]' (see --help)\n");
    return 2;
  }
  if (cn_list(ctx, &list, &err)) {
    fprintf(stderr, "osiris connections list: %s\n", err.msg);
    return 1;
  }
  if (a->json) {
    cli_print_json(list);
    osiris_json_free(list);
    return 0;
  }
  printf("connections from %s\n", osiris_json_str(osiris_json_get(list, "file")));
  conns = osiris_json_get(list, "connections");
  for (i = 0; i < osiris_json_size(conns); i++) {
    const osiris_json *fam = osiris_json_at(conns, i);
    for (j = 0; j < osiris_json_size(fam); j++) {
      const osiris_json *al = osiris_json_at(fam, j);
      printf("  @%s.%s%s\n", osiris_json_key_at(conns, i), osiris_json_key_at(fam, j),
             osiris_json_bool(osiris_json_get(al, "default"), 0) ? " (default)" : "");
      for (k = 0; k < osiris_json_size(al); k++) {
        char *v;
        if (os_streq(osiris_json_key_at(al, k), "default")) continue;
        v = osiris_json_dump(osiris_json_at(al, k), 0, NULL);
        printf("      %s: %s\n", osiris_json_key_at(al, k), v ? v : "");
        osiris_free(v);
      }
    }
  }
  osiris_json_free(list);
  return 0;
}

/* Run directories under logs_dir, newest first (names sort by time). */
static size_t cli_list_runs(const char *logs_dir, char ***out) {
  DIR *d = opendir(logs_dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0, i, j;
  *out = NULL;
  if (!d) return 0;
  while ((e = readdir(d)) != NULL) {
    if (!os_startswith(e->d_name, "run_")) continue;
    if (n == cap) {
      char **p = os_realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *p);
      if (!p) break;
      names = p;
    }
    names[n] = os_strdup(e->d_name);
    if (names[n]) n++;
  }
  closedir(d);
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && strcmp(names[j - 1], names[j]) < 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  *out = names;
  return n;
}

static osiris_json *cli_read_json(const char *dir, const char *name) {
  char *path = os_path_join(dir, name);
  osiris_json *v = NULL;
  os_err err = {0};
  if (path) js_read_file(path, &v, &err);
  os_free(path);
  return v;
}

static int cli_logs(osiris_ctx *ctx, cli_args *a) {
  const char *sub = a->n_positional ? a->positional[0] : "list";
  char *logs = os_path_abs(ctx->base_dir, a->logs_dir ? a->logs_dir : "logs");
  char **runs = NULL;
  size_t n, i;
  int code = 0;
  if (!logs) return 1;
  n = cli_list_runs(logs, &runs);
  if (os_streq(sub, "list") && a->n_positional <= 1) {
    osiris_json *arr = osiris_json_new(OSIRIS_JSON_ARRAY);
    if (!a->json) printf("%-36s %-8s %-7s %10s  %s\n", "SESSION", "STATUS", "STEPS", "MS", "PIPELINE");
    for (i = 0; i < n; i++) {
      char *dir = os_path_join(logs, runs[i]);
      osiris_json *st = cli_read_json(dir, "status.json"), *card = cli_read_json(dir, "run_card.json");
      const char *status = !st ? "running?" : osiris_json_bool(osiris_json_get(st, "ok"), 0) ? "success" : "failed";
      if (a->json) {
        osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
        js_set_str(o, "session_id", runs[i] + 4);
        js_set_str(o, "session_dir", dir);
        js_set_str(o, "status", status);
        osiris_json_set(o, "steps_completed", osiris_json_copy(osiris_json_get(st, "steps_completed")));
        osiris_json_set(o, "steps_total", osiris_json_copy(osiris_json_get(st, "steps_total")));
        osiris_json_set(o, "duration_ms", osiris_json_copy(osiris_json_get(st, "duration_ms")));
        js_set_str(o, "pipeline_id", card ? js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "" : "");
        osiris_json_push(arr, o);
      } else {
        printf("%-36s %-8s %3" PRId64 "/%-3" PRId64 " %10" PRId64 "  %s\n", runs[i] + 4, status,
               osiris_json_int(osiris_json_get(st, "steps_completed"), 0),
               osiris_json_int(osiris_json_get(st, "steps_total"), 0),
               osiris_json_int(osiris_json_get(st, "duration_ms"), 0),
               card && js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "");
      }
      osiris_json_free(st);
      osiris_json_free(card);
      os_free(dir);
    }
    if (a->json) cli_print_json(arr);
    osiris_json_free(arr);
  } else if (os_streq(sub, "show")) {
    const char *want = a->n_positional == 2 ? a->positional[1] : NULL;
    char *dir = NULL;
    osiris_json *st, *card;
    if (!want && !a->last) {
      fprintf(stderr, "osiris logs show: give a SESSION_ID or --last\n");
      code = 2;
      goto done;
    }
    if (!want) {
      if (n == 0) {
        fprintf(stderr, "osiris logs show: no runs under %s\n", logs);
        code = 2;
        goto done;
      }
      dir = os_path_join(logs, runs[0]);
    } else {
      char *name = os_startswith(want, "run_") ? os_strdup(want) : os_asprintf("run_%s", want);
      dir = name ? os_path_join(logs, name) : NULL;
      os_free(name);
      if (!os_is_dir(dir)) {
        fprintf(stderr, "osiris logs show: no run '%s' under %s\n", want, logs);
        os_free(dir);
        code = 2;
        goto done;
      }
    }
    st = cli_read_json(dir, "status.json");
    card = cli_read_json(dir, "run_card.json");
    if (a->json) {
      osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(o, "session_dir", dir);
      osiris_json_set(o, "status", st ? osiris_json_copy(st) : osiris_json_new(OSIRIS_JSON_NULL));
      osiris_json_set(o, "run_card", card ? osiris_json_copy(card) : osiris_json_new(OSIRIS_JSON_NULL));
      cli_print_json(o);
      osiris_json_free(o);
    } else {
      const osiris_json *steps = osiris_json_get(card, "steps");
      const osiris_json *err = osiris_json_get(st, "error");
      printf("run %s\n  pipeline: %s\n  status:   %s\n  steps:    %" PRId64 "/%" PRId64 "\n  duration: %" PRId64 " ms\n  dir:      %s\n",
             js_gets(st, "session_id") ? js_gets(st, "session_id") : "?",
             card && js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "?",
             !st ? "unknown (no status.json)" : osiris_json_bool(osiris_json_get(st, "ok"), 0) ? "success" : "failed",
             osiris_json_int(osiris_json_get(st, "steps_completed"), 0),
             osiris_json_int(osiris_json_get(st, "steps_total"), 0),
             osiris_json_int(osiris_json_get(st, "duration_ms"), 0), dir);
      if (osiris_json_size(steps)) printf("\n  %-28s %-26s %-8s %9s %9s %8s\n", "STEP", "DRIVER", "STATUS", "ROWS_IN", "ROWS_OUT", "MS");
      for (i = 0; i < osiris_json_size(steps); i++) {
        const osiris_json *s = osiris_json_at(steps, i);
        printf("  %-28s %-26s %-8s %9" PRId64 " %9" PRId64 " %8" PRId64 "\n", js_gets(s, "step_id"),
               js_gets(s, "driver"), js_gets(s, "status"), osiris_json_int(osiris_json_get(s, "rows_in"), 0),
               osiris_json_int(osiris_json_get(s, "rows_out"), 0),
               osiris_json_int(osiris_json_get(s, "duration_ms"), 0));
      }
      if (err && osiris_json_kind_of(err) == OSIRIS_JSON_OBJECT)
        printf("\n  error (step %s): %s\n", js_gets(err, "step_id") ? js_gets(err, "step_id") : "-",
               js_gets(err, "message") ? js_gets(err, "message") : "");
    }
    osiris_json_free(st);
    osiris_json_free(card);
    os_free(dir);
  } else {
    fprintf(stderr, "osiris logs: expected 'list' or 'show' (see --help)\n");
    code = 2;
  }
done:
  for (i = 0; i < n; i++) os_free(runs[i]);
  os_free(runs);
  os_free(logs);
  return code;
}

/* ---------------------------------------------------------------- batch runs
 * `osiris run A.yaml B.yaml ... --parallel N` and `osiris run P.yaml
 * --params-file runs.jsonl`: many runs, at most N alive at once.
 *
 * Process level, on purpose: each run is a child `osiris run PIPELINE
 * [its --param ...] --json` (this same binary, /proc/self/exe), so a run in
 * a batch is exactly a run by itself: its own session and run directory,
 * its own sandbox, its own cancellation and cleanup, and a crash or a leak
 * in one cannot touch another.  The engine keeps no state shared between
 * runs to get wrong, and section 16 needs nothing new: each child's create
 * call retries 429 and 5xx with backoff (e2_call) inside its own slot, so
 * retries never raise the number of live sandboxes above N.  The cost is
 * one exec per run (a few ms against a sandbox's seconds).
 *
 * The parent reads three pipes per child: stdout (its --json outcome,
 * which names the run directory; status.json there gives rows and the
 * reason), stderr (the last CLI_BATCH_TAIL bytes, shown when a child ended
 * without an outcome) and fd 3 (OSIRIS_BATCH_FD: a line with the rows
 * so far whenever a step reports progress, for the live rows/s; best
 * effort, in-process runs only).  SIGINT and SIGTERM
 * to the batch are forwarded to every running child, which then ends its
 * run as interrupted and deletes its sandbox like a single run does;
 * queued runs are not started.  Runs are ordered: pipelines in command-line
 * order, each with every line of the params file.  The batch document
 * (--json, and <logs>/batch_<id>.json, rewritten as runs end) lists every
 * run.  The exit code is 0 only when every run succeeded, 2 for a usage
 * error before any run, 1 otherwise.
 * ====================================================================== */

#define CLI_BATCH_TAIL 4096          /* bytes of a child's stderr kept */
#define CLI_BATCH_MAX_OUT (1u << 20) /* a child's --json outcome */
#define CLI_BATCH_FD 3               /* the progress pipe in a child */

typedef struct cli_batch_run {
  const char *pipeline;       /* borrowed from argv */
  const osiris_json *params;  /* borrowed from the params file's list; NULL: none */
  size_t params_line;         /* its line in the params file (1-based), 0: none */
  pid_t pid;                  /* > 0 while the child runs */
  int fd[3];                  /* stdout, stderr, progress read ends; -1 closed */
  os_buf out, err, prog;      /* what came through them (err: the tail) */
  char state;                 /* 'q' queued, 'r' running, 'd' done */
  const char *status;         /* succeeded failed interrupted timed_out error not_started */
  int exit_code;              /* the child's; -1 before it ended */
  double t0_ms, t1_ms;        /* started, ended (os_now_ms) */
  int64_t rows, live_rows;    /* rows written (status.json), rows so far (progress) */
  char *run_dir, *session_id, *error, *failed_step; /* owned, NULL when unknown */
} cli_batch_run;

typedef struct cli_batch {
  osiris_ctx *ctx;
  cli_batch_run *runs;
  size_t n_runs, parallel, n_queued, n_running, n_ok, n_bad;
  char id[64], started[64], *file; /* batch id, start time, <logs>/batch_<id>.json */
  const char *adapter;             /* "local", "sandbox" or "e2b" */
  const char **argv;               /* a child's argv: the shared part, then the run's */
  size_t argc_common;
  char **envp;                     /* environ + OSIRIS_BATCH_FD */
  char timeout[16];                /* --timeout for the children */
  char jobs[16];                   /* --jobs for the children */
  double t0_ms, painted_ms;        /* start; the live view's last repaint */
  int tty, stopping;               /* live view; a signal came: start nothing more */
} cli_batch;

static volatile sig_atomic_t cli_batch_signal;  /* the last SIGINT/SIGTERM */
static int cli_batch_wake[2] = {-1, -1};        /* self-pipe: signals and SIGCHLD */

static void cli_batch_on_signal(int sig) {
  int e = errno;
  if (sig != SIGCHLD) cli_batch_signal = sig;
  if (cli_batch_wake[1] >= 0 && write(cli_batch_wake[1], "x", 1) < 0) { /* full: already awake */
  }
  errno = e;
}

/* A pipe whose ends are close-on-exec and above the descriptors a
 * child is given (0 to CLI_BATCH_FD), so dup2 in a child never meets itself. */
static int cli_batch_pipe(int p[2]) {
  int i;
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  for (i = 0; i < 2; i++)
    if (p[i] <= CLI_BATCH_FD) {
      int moved = fcntl(p[i], F_DUPFD_CLOEXEC, CLI_BATCH_FD + 1);
      close(p[i]);
      p[i] = moved;
    }
  if (p[0] < 0 || p[1] < 0) {
    if (p[0] >= 0) close(p[0]);
    if (p[1] >= 0) close(p[1]);
    return -1;
  }
  return 0;
}

/* In a child (cli_run): progress goes to the parent's pipe, best effort:
 * a full pipe drops the line rather than slow the run. */
static void cli_batch_child_progress(void *user, const char *step_id, int64_t rows, double elapsed_ms) {
  char line[32];
  int n = snprintf(line, sizeof line, "%" PRId64 "\n", rows);
  (void)step_id;
  (void)elapsed_ms;
  if (n > 0 && (size_t)n < sizeof line && write(*(int *)user, line, (size_t)n) < 0) { /* dropped */
  }
}

static void cli_batch_child_init(osiris_ctx *ctx) {
  static int fd = -1;
  const char *v = getenv("OSIRIS_BATCH_FD");
  if (!v || !os_streq(v, "3") || fcntl(CLI_BATCH_FD, F_GETFD) < 0) return;
  fd = CLI_BATCH_FD;
  fcntl(fd, F_SETFD, FD_CLOEXEC); /* not for the worker or anything a step starts */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  unsetenv("OSIRIS_BATCH_FD");
  osiris_ctx_set_progress(ctx, cli_batch_child_progress, &fd);
}

/* The params file: one JSON object a line, values strings, numbers or
 * booleans (a run gets them as --param NAME=VALUE).  Blank lines are
 * skipped.  *out is an array of {"line": N, "params": {...}} (owned).
 * Usage errors print file:line:col and return 2. */
static int cli_batch_params_file(const char *path, osiris_json **out) {
  char *text = NULL, *p, *end;
  size_t len = 0, line = 0;
  os_err err = {0};
  osiris_json *list = NULL;
  int code = 2;
  *out = NULL;
  if (os_read_file(path, &text, &len, &err)) {
    fprintf(stderr, "osiris run: --params-file: %s\n", err.msg);
    return 2;
  }
  list = osiris_json_new(OSIRIS_JSON_ARRAY);
  if (!list) goto oom;
  for (p = text; p < text + len; p = end + 1) {
    osiris_json *obj = NULL, *item;
    char emsg[OS_ERR_CAP];
    size_t i, n;
    end = memchr(p, '\n', (size_t)(text + len - p));
    if (!end) end = text + len;
    line++;
    for (n = 0; p + n < end && isspace((unsigned char)p[n]); n++) {
    }
    if (p + n == end) continue;
    if (osiris_json_parse(p, (size_t)(end - p), &obj, emsg, sizeof emsg)) {
      /* emsg is "1:col: message" for this one line */
      const char *col = strchr(emsg, ':');
      fprintf(stderr, "osiris run: %s:%zu:%s\n", path, line, col ? col + 1 : emsg);
      goto done;
    }
    if (osiris_json_kind_of(obj) != OSIRIS_JSON_OBJECT) {
      fprintf(stderr, "osiris run: %s:%zu:%zu: a line must be a JSON object of parameters\n", path, line, n + 1);
      osiris_json_free(obj);
      goto done;
    }
    for (i = 0; i < osiris_json_size(obj); i++) {
      osiris_json_kind k = osiris_json_kind_of(osiris_json_at(obj, i));
      const char *key = osiris_json_key_at(obj, i);
      if (!key[0] || strchr(key, '=') ||
          (k != OSIRIS_JSON_STRING && k != OSIRIS_JSON_INT && k != OSIRIS_JSON_DOUBLE && k != OSIRIS_JSON_BOOL)) {
        fprintf(stderr, "osiris run: %s:%zu: parameter '%s': %s\n", path, line, key,
                !key[0] || strchr(key, '=') ? "not a parameter name" : "the value must be a string, number or boolean");
        osiris_json_free(obj);
        goto done;
      }
    }
    if (osiris_json_size(list) == CLI_BATCH_MAX_RUNS) {
      fprintf(stderr, "osiris run: %s:%zu: more than %d runs\n", path, line, CLI_BATCH_MAX_RUNS);
      osiris_json_free(obj);
      goto done;
    }
    item = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!item || js_set_int(item, "line", (int64_t)line) || osiris_json_set(item, "params", obj) ||
        osiris_json_push(list, item)) {
      if (!item) osiris_json_free(obj);
      goto oom;
    }
  }
  if (!osiris_json_size(list)) {
    fprintf(stderr, "osiris run: %s: no parameter sets (one JSON object a line)\n", path);
    goto done;
  }
  *out = list;
  list = NULL;
  code = 0;
  goto done;
oom:
  fprintf(stderr, "osiris run: out of memory\n");
  code = 1;
done:
  osiris_json_free(list);
  os_free(text);
  return code;
}

/* "k=v" for one parameter of a params-file line (owned). */
static char *cli_batch_param_arg(const char *key, const osiris_json *v) {
  if (osiris_json_kind_of(v) == OSIRIS_JSON_STRING) return os_asprintf("%s=%s", key, osiris_json_str(v));
  if (osiris_json_kind_of(v) == OSIRIS_JSON_BOOL) return os_asprintf("%s=%s", key, osiris_json_bool(v, 0) ? "true" : "false");
  {
    char *num = osiris_json_dump(v, 0, NULL), *s = num ? os_asprintf("%s=%s", key, num) : NULL;
    osiris_free(num);
    return s;
  }
}

static osiris_json *cli_batch_run_json(const cli_batch *b, size_t i) {
  const cli_batch_run *r = &b->runs[i];
  osiris_json *j = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!j) return NULL;
  js_set_int(j, "index", (int64_t)i);
  js_set_str(j, "pipeline", r->pipeline);
  osiris_json_set(j, "params", r->params ? osiris_json_copy(r->params) : osiris_json_new(OSIRIS_JSON_NULL));
  if (r->params_line) js_set_int(j, "params_line", (int64_t)r->params_line);
  js_set_str(j, "status", r->state == 'd' ? r->status : r->state == 'r' ? "running" : "queued");
  if (r->state == 'd' && r->exit_code >= 0) js_set_int(j, "exit_code", r->exit_code);
  js_set_int(j, "duration_ms", r->state == 'q' ? 0 : (int64_t)((r->state == 'd' ? r->t1_ms : os_now_ms()) - r->t0_ms));
  js_set_int(j, "rows", r->state == 'd' ? r->rows : r->live_rows);
  osiris_json_set(j, "session_id", r->session_id ? osiris_json_new_str(r->session_id, strlen(r->session_id))
                                                 : osiris_json_new(OSIRIS_JSON_NULL));
  osiris_json_set(j, "run_dir", r->run_dir ? osiris_json_new_str(r->run_dir, strlen(r->run_dir))
                                           : osiris_json_new(OSIRIS_JSON_NULL));
  osiris_json_set(j, "failed_step", r->failed_step ? osiris_json_new_str(r->failed_step, strlen(r->failed_step))
                                                   : osiris_json_new(OSIRIS_JSON_NULL));
  osiris_json_set(j, "error", r->error ? osiris_json_new_str(r->error, strlen(r->error))
                                       : osiris_json_new(OSIRIS_JSON_NULL));
  return j;
}

static double cli_batch_rate(const cli_batch *b, int64_t rows) {
  double secs = (os_now_ms() - b->t0_ms) / 1000.0;
  return secs > 0 ? floor((double)rows / secs * 10.0 + 0.5) / 10.0 : 0.0; /* one decimal */
}

static int64_t cli_batch_rows(const cli_batch *b) {
  int64_t rows = 0;
  size_t i;
  for (i = 0; i < b->n_runs; i++)
    rows = os_sat_add(rows, b->runs[i].state == 'd' ? b->runs[i].rows : b->runs[i].live_rows);
  return rows;
}

static const char *cli_batch_status(const cli_batch *b) {
  if (b->n_queued || b->n_running) return "running";
  if (b->stopping) return "interrupted";
  return b->n_bad ? "failed" : "success";
}

/* The batch document: --json prints it, the batch file holds it. */
static osiris_json *cli_batch_doc(const cli_batch *b) {
  osiris_json *d = osiris_json_new(OSIRIS_JSON_OBJECT), *runs = osiris_json_new(OSIRIS_JSON_ARRAY),
              *failed = osiris_json_new(OSIRIS_JSON_ARRAY), *counts = osiris_json_new(OSIRIS_JSON_OBJECT);
  size_t i, n_int = 0, n_not = 0;
  if (!d || !runs || !failed || !counts) {
    osiris_json_free(d);
    osiris_json_free(runs);
    osiris_json_free(failed);
    osiris_json_free(counts);
    return NULL;
  }
  for (i = 0; i < b->n_runs; i++) {
    const cli_batch_run *r = &b->runs[i];
    osiris_json_push(runs, cli_batch_run_json(b, i));
    if (r->state == 'd' && !os_streq(r->status, "succeeded")) osiris_json_push(failed, osiris_json_new_int((int64_t)i));
    if (r->state == 'd' && os_streq(r->status, "interrupted")) n_int++;
    if (r->state == 'd' && os_streq(r->status, "not_started")) n_not++;
  }
  js_set_str(d, "batch_id", b->id);
  js_set_str(d, "status", cli_batch_status(b));
  js_set_str(d, "started_at", b->started);
  js_set_int(d, "duration_ms", (int64_t)(os_now_ms() - b->t0_ms));
  js_set_str(d, "adapter", b->adapter);
  js_set_int(d, "parallel", (int64_t)b->parallel);
  js_set_int(counts, "total", (int64_t)b->n_runs);
  js_set_int(counts, "queued", (int64_t)b->n_queued);
  js_set_int(counts, "running", (int64_t)b->n_running);
  js_set_int(counts, "succeeded", (int64_t)b->n_ok);
  js_set_int(counts, "failed", (int64_t)(b->n_bad - n_int - n_not));
  js_set_int(counts, "interrupted", (int64_t)n_int);
  js_set_int(counts, "not_started", (int64_t)n_not);
  osiris_json_set(d, "counts", counts);
  js_set_int(d, "rows", cli_batch_rows(b));
  js_set_double(d, "rows_per_s", cli_batch_rate(b, cli_batch_rows(b)));
  osiris_json_set(d, "failed", failed);
  osiris_json_set(d, "runs", runs);
  js_set_str(d, "batch_file", b->file);
  if (!b->n_queued && !b->n_running) js_set_int(d, "exit_code", b->n_bad ? 1 : 0);
  return d;
}

static void cli_batch_write_file(const cli_batch *b) {
  osiris_json *d = cli_batch_doc(b);
  size_t len = 0;
  char *s = d ? osiris_json_dump(d, OSIRIS_JSON_PRETTY, &len) : NULL;
  os_err err = {0};
  if (!s || os_write_file(b->file, s, len, &err))
    fprintf(stderr, "osiris run: cannot write the batch file %s: %s\n", b->file, s ? err.msg : "out of memory");
  osiris_free(s);
  osiris_json_free(d);
}

/* Progress: a line that rewrites itself on a terminal, JSON lines
 * (docs/events.md, "Batch runs") otherwise.  fields is taken over. */
static void cli_batch_event(cli_batch *b, const char *event, osiris_json *fields) {
  double now = os_now_ms();
  if (b->tty && (now - b->painted_ms >= 100 || !b->n_running)) { /* at most 10 repaints a second */
    int64_t rows = cli_batch_rows(b);
    b->painted_ms = now;
    fprintf(stderr, "\r\033[Kbatch %s: %zu queued, %zu running, %zu done, %zu failed, %" PRId64 " rows, %.0f rows/s",
            b->id, b->n_queued, b->n_running, b->n_ok, b->n_bad, rows, cli_batch_rate(b, rows));
  } else if (!b->tty && event) {
    osiris_json *line = osiris_json_new(OSIRIS_JSON_OBJECT);
    char ts[64];
    char *s;
    size_t i;
    os_iso8601(os_wall_us(), ts);
    js_set_str(line, "ts", ts);
    js_set_str(line, "event", event);
    js_set_str(line, "batch_id", b->id);
    for (i = 0; i < osiris_json_size(fields); i++)
      osiris_json_set(line, osiris_json_key_at(fields, i), osiris_json_copy(osiris_json_at(fields, i)));
    s = osiris_json_dump(line, 0, NULL);
    if (s) fprintf(stderr, "%s\n", s);
    osiris_free(s);
    osiris_json_free(line);
  }
  osiris_json_free(fields);
}

static void cli_batch_progress(cli_batch *b) {
  osiris_json *f = osiris_json_new(OSIRIS_JSON_OBJECT);
  js_set_int(f, "queued", (int64_t)b->n_queued);
  js_set_int(f, "running", (int64_t)b->n_running);
  js_set_int(f, "done", (int64_t)b->n_ok);
  js_set_int(f, "failed", (int64_t)b->n_bad);
  js_set_int(f, "rows", cli_batch_rows(b));
  js_set_double(f, "rows_per_s", cli_batch_rate(b, cli_batch_rows(b)));
  cli_batch_event(b, "batch_progress", f);
}

static int cli_batch_start_run(cli_batch *b, size_t i) {
  cli_batch_run *r = &b->runs[i];
  int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  const char **argv = b->argv;
  size_t n = b->argc_common, k;
  int rc = -1;
  char **owned = NULL;
  size_t n_owned = 0;
  argv[n++] = r->pipeline;
  if (r->params) {
    owned = os_calloc(osiris_json_size(r->params) + 1, sizeof *owned);
    if (!owned) return -1;
    for (k = 0; k < osiris_json_size(r->params); k++) {
      owned[n_owned] = cli_batch_param_arg(osiris_json_key_at(r->params, k), osiris_json_at(r->params, k));
      if (!owned[n_owned]) goto done;
      argv[n++] = "--param";
      argv[n++] = owned[n_owned++];
    }
  }
  argv[n] = NULL;
  for (k = 0; k < 3; k++)
    if (cli_batch_pipe(p[k])) goto done;
  r->pid = fork();
  if (r->pid == 0) { /* the child: async-signal-safe calls only, then exec */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(p[0][1], 1) < 0 || dup2(p[1][1], 2) < 0 ||
        dup2(p[2][1], CLI_BATCH_FD) < 0)
      _exit(127);
    execve("/proc/self/exe", (char *const *)argv, b->envp);
    _exit(127);
  }
  if (r->pid < 0) {
    r->pid = 0;
    goto done;
  }
  rc = 0;
  for (k = 0; k < 3; k++) {
    r->fd[k] = p[k][0];
    p[k][0] = -1;
    fcntl(r->fd[k], F_SETFL, fcntl(r->fd[k], F_GETFL) | O_NONBLOCK);
  }
  r->state = 'r';
  r->t0_ms = os_now_ms();
  b->n_queued--;
  b->n_running++;
  {
    osiris_json *f = cli_batch_run_json(b, i);
    if (f) osiris_json_remove(f, "error"), osiris_json_remove(f, "failed_step");
    if (f) js_set_int(f, "pid", (int64_t)r->pid);
    cli_batch_event(b, "batch_run_start", f);
  }
done:
  for (k = 0; k < 3; k++) {
    if (p[k][0] >= 0) close(p[k][0]);
    if (p[k][1] >= 0) close(p[k][1]);
  }
  for (k = 0; k < n_owned; k++) os_free(owned[k]);
  os_free(owned);
  return rc;
}

/* Read what a child's pipe holds now; returns 1 at end of file.  stderr
 * keeps its tail; progress lines update the run's live rows. */
static int cli_batch_drain(cli_batch_run *r, int k) {
  char chunk[4096];
  for (;;) {
    ssize_t got = read(r->fd[k], chunk, sizeof chunk);
    if (got == 0) return 1;
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
    }
    if (k == 0) {
      if (r->out.len + (size_t)got <= CLI_BATCH_MAX_OUT) ob_put(&r->out, chunk, (size_t)got);
    } else if (k == 1) {
      ob_put(&r->err, chunk, (size_t)got);
      if (r->err.len > CLI_BATCH_TAIL) {
        memmove(r->err.p, r->err.p + r->err.len - CLI_BATCH_TAIL, CLI_BATCH_TAIL);
        r->err.len = CLI_BATCH_TAIL;
      }
    } else {
      char *nl;
      ob_put(&r->prog, chunk, (size_t)got);
      while (r->prog.len && (nl = memchr(r->prog.p, '\n', r->prog.len))) {
        size_t n = (size_t)(nl - r->prog.p) + 1;
        int64_t rows = strtoll(r->prog.p, NULL, 10);
        if (rows > r->live_rows) r->live_rows = rows;
        memmove(r->prog.p, r->prog.p + n, r->prog.len - n);
        r->prog.len -= n;
      }
      if (r->prog.len > 256) r->prog.len = 0; /* not ours: drop */
    }
  }
}

/* A child ended: its outcome from its --json document and status.json. */
static void cli_batch_finish_run(cli_batch *b, size_t i, int wstatus) {
  cli_batch_run *r = &b->runs[i];
  osiris_json *doc = NULL, *st = NULL;
  const char *s;
  int k;
  for (k = 0; k < 3; k++)
    if (r->fd[k] >= 0) {
      cli_batch_drain(r, k);
      close(r->fd[k]);
      r->fd[k] = -1;
    }
  r->pid = 0;
  r->t1_ms = os_now_ms();
  r->state = 'd';
  r->exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (r->out.len) osiris_json_parse(r->out.p, r->out.len, &doc, NULL, 0);
  if ((s = osiris_json_str(osiris_json_get(doc, "session_dir")))) {
    r->run_dir = os_strdup(s);
    r->session_id = os_strdup(osiris_json_str(osiris_json_get(doc, "session_id")));
    st = cli_read_json(s, "status.json");
  }
  if ((s = osiris_json_str(osiris_json_get(doc, "failed_step")))) r->failed_step = os_strdup(s);
  if ((s = osiris_json_str(osiris_json_get(doc, "error"))) || (s = osiris_json_str(osiris_json_get(doc, "message"))))
    r->error = os_strdup(s);
  r->rows = osiris_json_int(osiris_json_get(st, "total_rows"), 0);
  if (r->exit_code == 0 && osiris_json_bool(osiris_json_get(st, "ok"), 0)) {
    r->status = "succeeded";
  } else if (st) {
    const char *reason = osiris_json_str(osiris_json_get(st, "reason"));
    r->status = os_streq(reason, "interrupted") ? "interrupted" : os_streq(reason, "timed_out") ? "timed_out" : "failed";
  } else {
    /* No run directory: the pipeline did not compile (exit 2), or the
     * child died before it could say. */
    r->status = doc ? "error"
                : b->stopping && WIFSIGNALED(wstatus) && (WTERMSIG(wstatus) == SIGINT || WTERMSIG(wstatus) == SIGTERM)
                    ? "interrupted"
                    : "failed";
    if (!r->error) {
      char why[64];
      const char *tail = r->err.len ? r->err.p : "";
      size_t tl = r->err.len;
      while (tl && (tail[tl - 1] == '\n' || tail[tl - 1] == '\r')) tl--;
      if (WIFSIGNALED(wstatus)) snprintf(why, sizeof why, "the run process died of signal %d", WTERMSIG(wstatus));
      else snprintf(why, sizeof why, "the run process exited %d without an outcome", r->exit_code);
      r->error = tl ? os_asprintf("%s: %.*s", why, (int)tl, tail) : os_strdup(why);
    }
  }
  osiris_json_free(doc);
  osiris_json_free(st);
  b->n_running--;
  if (os_streq(r->status, "succeeded")) b->n_ok++;
  else b->n_bad++;
  if (b->tty && !os_streq(r->status, "succeeded")) {
    char *params = r->params ? osiris_json_dump(r->params, 0, NULL) : NULL;
    fprintf(stderr, "\r\033[K\xe2\x9c\x97 %s%s%s %s: %s\n", r->pipeline, params ? " " : "", params ? params : "",
            r->status, r->error ? r->error : "");
    osiris_free(params);
  }
  {
    osiris_json *f = cli_batch_run_json(b, i);
    cli_batch_event(b, "batch_run_end", f);
  }
  cli_batch_write_file(b);
}

static void cli_batch_print_summary(const cli_batch *b) {
  size_t i;
  printf("batch %s: %zu of %zu runs succeeded, %zu failed%s, %" PRId64 " rows, %.1f s\n", b->id, b->n_ok,
         b->n_runs, b->n_bad, b->stopping ? " (interrupted)" : "", cli_batch_rows(b),
         (os_now_ms() - b->t0_ms) / 1000.0);
  for (i = 0; i < b->n_runs; i++) {
    const cli_batch_run *r = &b->runs[i];
    char *params = r->params ? osiris_json_dump(r->params, 0, NULL) : NULL;
    printf("  %s %-11s %s%s%s  %" PRId64 " ms  %" PRId64 " rows  %s%s\n",
           os_streq(r->status, "succeeded") ? "\xe2\x9c\x93" : "\xe2\x9c\x97", r->status, r->pipeline,
           params ? " " : "", params ? params : "", r->state == 'd' && r->t0_ms > 0 ? (int64_t)(r->t1_ms - r->t0_ms) : 0,
           r->rows, r->run_dir ? cli_display_path(b->ctx, r->run_dir) : "-", r->run_dir ? "/" : "");
    if (r->error && !os_streq(r->status, "succeeded")) printf("      %s\n", r->error); /* names its step */
    osiris_free(params);
  }
  printf("  batch file: %s\n", cli_display_path(b->ctx, b->file));
}

/* Stop: forward the signal to every running child (each ends its run as
 * interrupted and deletes its sandbox); queued runs will not start. */
static void cli_batch_stop(cli_batch *b, int sig) {
  size_t i;
  if (!b->stopping) {
    b->stopping = 1;
    for (i = 0; i < b->n_runs; i++)
      if (b->runs[i].state == 'q') {
        b->runs[i].state = 'd';
        b->runs[i].status = "not_started";
        b->n_queued--;
        b->n_bad++;
      }
  }
  for (i = 0; i < b->n_runs; i++)
    if (b->runs[i].state == 'r' && b->runs[i].pid > 0) kill(b->runs[i].pid, sig);
}

/* osiris run A.yaml B.yaml ... | P.yaml --params-file F, [--parallel N].
 * Stages: 1 check the flags and build the list of runs, 2 the worker's
 * environment (exported once, children inherit it), 3 a child's argv and
 * environment, 4 the batch id and file, 5 the loop (start up to N, read
 * pipes, reap, forward signals), 6 the summary and the exit code. */
static int cli_run_batch(osiris_ctx *ctx, cli_args *a) {
  cli_batch b;
  osiris_json *lines = NULL, *worker_env = NULL;
  struct pollfd *pfd = NULL;
  struct sigaction sa, old_int, old_term, old_chld;
  size_t i, k, next = 0, max_line_params = 0, n_lines, n_env = 0;
  extern char **environ;
  char *logs = NULL;
  int code = 2, signals_set = 0;
  os_err err = {0};
  memset(&b, 0, sizeof b);
  b.ctx = ctx;
  /* 1 */
  if (a->last_compile || a->dry_run || a->resume || !a->n_positional) {
    fprintf(stderr, "osiris run: a batch (several pipelines, --parallel or --params-file) takes "
                    "PIPELINE.yaml files; --last-compile, --dry-run and --resume take one run\n");
    return 2;
  }
  if (a->sandbox && !os_streq(a->sandbox, "local")) {
    fprintf(stderr, "osiris run: --sandbox supports 'local' (use --e2b for E2B), got '%s'\n", a->sandbox);
    return 2;
  }
  if (a->target && !os_streq(a->target, "e2b") && !os_streq(a->target, "local")) {
    fprintf(stderr, "osiris run: --target supports 'e2b' and 'local', got '%s'\n", a->target);
    return 2;
  }
  if (a->target && os_streq(a->target, "e2b")) a->e2b = 1;
  if (a->sandbox && a->e2b) {
    fprintf(stderr, "osiris run: choose one of --sandbox local and --e2b\n");
    return 2;
  }
  b.adapter = a->e2b ? "e2b" : a->sandbox ? "sandbox" : "local";
  b.parallel = a->parallel > 0 ? (size_t)a->parallel : 4;
  if (a->params_file && (code = cli_batch_params_file(a->params_file, &lines))) return code;
  code = 2;
  n_lines = lines ? osiris_json_size(lines) : 1;
  if (a->n_positional * n_lines > CLI_BATCH_MAX_RUNS) {
    fprintf(stderr, "osiris run: more than %d runs in one batch\n", CLI_BATCH_MAX_RUNS);
    goto done;
  }
  b.n_runs = a->n_positional * n_lines;
  b.runs = os_calloc(b.n_runs, sizeof *b.runs);
  if (!b.runs) goto oom;
  for (i = 0; i < b.n_runs; i++) {
    cli_batch_run *r = &b.runs[i];
    const osiris_json *line = lines ? osiris_json_at(lines, i % n_lines) : NULL;
    r->pipeline = a->positional[i / n_lines];
    r->params = osiris_json_get(line, "params");
    r->params_line = (size_t)osiris_json_int(osiris_json_get(line, "line"), 0);
    r->fd[0] = r->fd[1] = r->fd[2] = -1;
    r->exit_code = -1;
    r->state = 'q';
    if (osiris_json_size(r->params) > max_line_params) max_line_params = osiris_json_size(r->params);
  }
  b.n_queued = b.n_runs;
  /* 2 */
  code = cli_worker_env(a, &worker_env);
  if (!code && osiris_json_size(worker_env) && os_streq(b.adapter, "local")) {
    fprintf(stderr, "osiris run: --e2b-env, --e2b-env-from and --e2b-pass-env set the environment of a "
                    "sandbox worker: add --sandbox local or --e2b\n");
    code = 2;
  }
  if (!code) code = cli_export_worker_env(worker_env);
  if (code) goto done;
  code = 1;
  /* 3 */
  b.argv = os_calloc(19 + 2 * a->n_params + 2 + 2 * max_line_params, sizeof *b.argv);
  if (!b.argv) goto oom;
  k = 0;
  b.argv[k++] = "osiris";
  b.argv[k++] = "run";
  b.argv[k++] = "--json";
  if (a->verbose) b.argv[k++] = "--verbose";
  if (a->e2b) b.argv[k++] = "--e2b";
  if (a->sandbox) b.argv[k++] = "--sandbox", b.argv[k++] = "local";
  if (a->e2b_template) b.argv[k++] = "--e2b-template", b.argv[k++] = a->e2b_template;
  if (a->install_deps) b.argv[k++] = "--e2b-install-deps";
  if (a->resumable) b.argv[k++] = "--resumable";
  if (a->profile) b.argv[k++] = "--profile", b.argv[k++] = a->profile;
  if (a->logs_dir) b.argv[k++] = "--logs-dir", b.argv[k++] = a->logs_dir;
  if (a->timeout_s) {
    snprintf(b.timeout, sizeof b.timeout, "%d", a->timeout_s);
    b.argv[k++] = "--timeout", b.argv[k++] = b.timeout;
  }
  if (a->jobs) {
    snprintf(b.jobs, sizeof b.jobs, "%d", a->jobs);
    b.argv[k++] = "--jobs", b.argv[k++] = b.jobs;
  }
  for (i = 0; i < a->n_params; i++) b.argv[k++] = "--param", b.argv[k++] = a->params[i];
  b.argc_common = k;
  while (environ[n_env]) n_env++;
  b.envp = os_calloc(n_env + 2, sizeof *b.envp);
  if (!b.envp) goto oom;
  for (i = k = 0; i < n_env; i++)
    if (!os_startswith(environ[i], "OSIRIS_BATCH_FD=")) b.envp[k++] = environ[i];
  b.envp[k] = "OSIRIS_BATCH_FD=3";
  /* 4 */
  ss_new_id(b.id, sizeof b.id);
  os_iso8601(os_wall_us(), b.started);
  logs = os_path_abs(ctx->base_dir, a->logs_dir ? a->logs_dir : "logs");
  if (!logs) goto oom;
  if (os_mkdir_p(logs, &err)) {
    fprintf(stderr, "osiris run: %s\n", err.msg);
    goto done;
  }
  b.file = os_asprintf("%s/batch_%s.json", logs, b.id);
  pfd = os_calloc(1 + 3 * b.parallel, sizeof *pfd);
  if (!b.file || !pfd) goto oom;
  b.tty = isatty(STDERR_FILENO);
  b.t0_ms = os_now_ms();
  cli_batch_write_file(&b);
  if (cli_batch_pipe(cli_batch_wake)) {
    fprintf(stderr, "osiris run: cannot create a pipe: %s\n", strerror(errno));
    goto done;
  }
  fcntl(cli_batch_wake[0], F_SETFL, O_NONBLOCK);
  fcntl(cli_batch_wake[1], F_SETFL, O_NONBLOCK);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cli_batch_on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: poll wakes up */
  cli_batch_signal = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGCHLD, &sa, &old_chld);
  signals_set = 1;
  {
    osiris_json *f = osiris_json_new(OSIRIS_JSON_OBJECT);
    js_set_int(f, "runs", (int64_t)b.n_runs);
    js_set_int(f, "parallel", (int64_t)b.parallel);
    js_set_str(f, "adapter", b.adapter);
    js_set_str(f, "batch_file", b.file);
    cli_batch_event(&b, "batch_start", f);
  }
  /* 5 */
  while (b.n_queued || b.n_running) {
    size_t n_pfd = 0;
    char drain[64];
    if (cli_batch_signal) { /* a second Ctrl-C is forwarded again */
      int sig = cli_batch_signal;
      cli_batch_signal = 0;
      cli_batch_stop(&b, sig);
    }
    while (!b.stopping && b.n_running < b.parallel && next < b.n_runs) {
      size_t at = next++;
      if (cli_batch_start_run(&b, at)) {
        cli_batch_run *r = &b.runs[at];
        r->state = 'd';
        r->status = "failed";
        r->error = os_asprintf("cannot start the run process: %s", strerror(errno));
        b.n_queued--;
        b.n_bad++;
      }
      cli_batch_progress(&b);
    }
    if (!b.n_running) continue;
    pfd[n_pfd].fd = cli_batch_wake[0];
    pfd[n_pfd++].events = POLLIN;
    for (i = 0; i < b.n_runs; i++)
      for (k = 0; k < 3 && b.runs[i].state == 'r'; k++)
        if (b.runs[i].fd[k] >= 0) {
          pfd[n_pfd].fd = b.runs[i].fd[k];
          pfd[n_pfd++].events = POLLIN;
        }
    /* SIGCHLD and signals wake poll through the self-pipe; the timeout
     * only repaints the terminal line. */
    poll(pfd, (nfds_t)n_pfd, b.tty ? 500 : 5000);
    while (read(cli_batch_wake[0], drain, sizeof drain) > 0) {
    }
    for (i = 0; i < b.n_runs; i++) {
      cli_batch_run *r = &b.runs[i];
      int wstatus;
      if (r->state != 'r') continue;
      for (k = 0; k < 3; k++)
        if (r->fd[k] >= 0 && cli_batch_drain(r, (int)k)) {
          close(r->fd[k]);
          r->fd[k] = -1;
        }
      if (waitpid(r->pid, &wstatus, WNOHANG) == r->pid) {
        cli_batch_finish_run(&b, i, wstatus);
        cli_batch_progress(&b);
      }
    }
    if (b.tty) cli_batch_event(&b, NULL, NULL);
  }
  /* 6 */
  if (b.tty) fputs("\r\033[K", stderr);
  cli_batch_write_file(&b);
  {
    osiris_json *f = osiris_json_new(OSIRIS_JSON_OBJECT);
    js_set_str(f, "status", cli_batch_status(&b));
    js_set_int(f, "succeeded", (int64_t)b.n_ok);
    js_set_int(f, "failed", (int64_t)b.n_bad);
    js_set_int(f, "duration_ms", (int64_t)(os_now_ms() - b.t0_ms));
    js_set_str(f, "batch_file", b.file);
    if (!b.tty) cli_batch_event(&b, "batch_end", f);
    else osiris_json_free(f);
  }
  if (a->json) {
    osiris_json *d = cli_batch_doc(&b);
    if (d) cli_print_json(d);
    osiris_json_free(d);
  } else {
    cli_batch_print_summary(&b);
  }
  code = b.n_bad ? 1 : 0;
  goto done;
oom:
  fprintf(stderr, "osiris run: out of memory\n");
  code = 1;
done:
  if (signals_set) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGCHLD, &old_chld, NULL);
  }
  for (k = 0; k < 2; k++)
    if (cli_batch_wake[k] >= 0) {
      close(cli_batch_wake[k]);
      cli_batch_wake[k] = -1;
    }
  for (i = 0; b.runs && i < b.n_runs; i++) {
    cli_batch_run *r = &b.runs[i];
    ob_free(&r->out);
    ob_free(&r->err);
    ob_free(&r->prog);
    os_free(r->run_dir);
    os_free(r->session_id);
    os_free(r->error);
    os_free(r->failed_step);
  }
  os_free(b.runs);
  os_free(b.argv);
  os_free(b.envp);
  os_free(b.file);
  os_free(logs);
  os_free(pfd);
  osiris_json_free(lines);
  osiris_json_free(worker_env);
  return code;
}

int main(int argc, char **argv) {
  const char *cmd;
  cli_args a;
  osiris_ctx *ctx;
  int code, first, version = 0;
  /* Every command also takes --json, --verbose/-v and --help (cli_parse). */
  static const char *const allowed[][2] = {
      {"compile", " --param -p --profile --out --logs-dir "},
      {"validate", " "},
      {"run", " --param -p --profile --logs-dir --last-compile --sandbox --e2b --target"
              " --e2b-template --timeout --e2b-install-deps --e2b-env --e2b-env-from --e2b-pass-env"
              " --dry-run --parallel --params-file --jobs --resume --resumable "},
      {"components", " "},
      {"connections", " "},
      {"logs", " --logs-dir --last "},
      {"runs", " --logs-dir "},
      {"version", " "},
      {"help", " "}};
  char allow[512];
  size_t i;
  memset(&a, 0, sizeof a);
  /* Osiris 0.5.7 puts its global flags before the command. */
  for (first = 1; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
    const char *f = argv[first];
    if (os_streq(f, "--json")) a.json = 1;
    else if (os_streq(f, "--verbose") || os_streq(f, "-v")) a.verbose = 1;
    else if (os_streq(f, "--help") || os_streq(f, "-h")) return cli_help(first + 1 < argc ? argv[first + 1] : NULL);
    else if (os_streq(f, "--version")) version = 1;
    else {
      fprintf(stderr, "osiris: unknown option %s before the command (see --help)\n", f);
      return 2;
    }
  }
  if (version) cmd = "version";
  else if (first >= argc) {
    fputs(cli_usage, stderr);
    return 2;
  } else
    cmd = argv[first];
  if (os_streq(cmd, "help")) return cli_help(first + 1 < argc ? argv[first + 1] : NULL);
  for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    if (os_streq(cmd, allowed[i][0])) break;
  if (i == sizeof allowed / sizeof allowed[0]) {
    fprintf(stderr, "osiris: unknown command '%s'\n\n%s", cmd, cli_usage);
    return 2;
  }
  snprintf(allow, sizeof allow, "%s--json --verbose -v ", allowed[i][1]);
  code = version ? 0 : cli_parse(argc - first - 1, argv + first + 1, &a, allow);
  if (code) return code;
  if (a.help) return cli_help(cmd);
  if (os_streq(cmd, "version")) {
    if (a.json) printf("{\n  \"version\": \"%s\"\n}\n", OSIRIS_VERSION);
    else printf("osiris %s\n", OSIRIS_VERSION);
    return 0;
  }
  ctx = osiris_ctx_new(NULL);
  if (!ctx || osiris_register_builtin_drivers(ctx) != OSIRIS_OK) {
    fprintf(stderr, "osiris: cannot initialize: %s\n", ctx ? osiris_ctx_error(ctx) : "out of memory");
    osiris_ctx_free(ctx);
    return 1;
  }
  cli_ctx = ctx;
  cli_catch_interrupts();
  if (os_streq(cmd, "compile")) code = cli_compile(ctx, &a);
  else if (os_streq(cmd, "validate")) code = cli_validate(ctx, &a);
  else if (os_streq(cmd, "run")) code = cli_run(ctx, &a);
  else if (os_streq(cmd, "components")) code = cli_components(ctx, &a);
  else if (os_streq(cmd, "connections")) code = cli_connections(ctx, &a);
  else if (os_streq(cmd, "runs")) code = cli_runs(ctx, &a);
  else code = cli_logs(ctx, &a);
  cli_ctx = NULL;
  osiris_ctx_free(ctx);
  return code;
}
#endif /* OSIRIS_CLI_MAIN */
