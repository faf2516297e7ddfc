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
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

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
  osiris_log_fn log_fn;
  void *log_user;
  osiris_progress_fn progress_fn;
  void *progress_user;
  volatile sig_atomic_t cancelled;
};

/* A compiled manifest as the runner sees it (section 13). */
typedef struct mf_step {
  char *id;
  char *driver;
  char *component;
  char *cfg_path;  /* as written in the manifest, relative to its directory */
  char **needs;
  size_t n_needs;
} mf_step;

typedef struct mf_manifest {
  osiris_json *doc;   /* the whole manifest */
  char *path;         /* absolute path of manifest.yaml */
  char *dir;          /* its directory: cfg_path is relative to it */
  char *pipeline_id;
  char *profile;      /* "" when none */
  mf_step *steps;
  size_t n_steps;
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
static osiris_rc os_write_file(const char *path, const void *data, size_t len, os_err *err) {
  char *tmp = os_asprintf("%s.tmp.%ld", path, (long)getpid());
  const char *p = data;
  int fd;
  if (!tmp) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    osiris_rc rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    os_free(tmp);
    return rc;
  }
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

static int os_sha256_file_hex(const char *path, char out[65]) {
  os_sha256_ctx c;
  unsigned char d[32], chunk[65536];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
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
