/* ======================================================================
 * 8. CSV
 *
 * RFC 4180 in both directions.  The reader loads the whole file into one
 * buffer and decodes every field in place (unquoting only ever shrinks
 * text), packing the decoded fields back to back so a cell is just the
 * uint64 end offset of its text: memory is the file plus 8 bytes a cell
 * while parsing, then the frame.  Empty fields are NULL, so "" and an
 * absent value read back the same; blank lines hold no record and are
 * skipped (the writer quotes a lone empty field so it never writes one).
 * Types are inferred per column over all non-NULL cells once the whole
 * file is parsed.  Line numbers in messages are the 1-based physical line
 * where a record (or an open quote) starts.  The writer streams through a
 * 1 MiB buffer into path.tmp.<pid> and renames, so a failure never leaves
 * a partial file under the final name.
 * ====================================================================== */
#include <locale.h>

#define CS_WRITE_BUF ((size_t)1 << 20)

typedef struct cs_reader {
  const char *path; /* as given, for messages */
  char *p;          /* the file, decoded in place; p[n] is a '\n' sentinel */
  size_t n, i, w;   /* length, read position, write position (w <= i) */
  size_t line;      /* physical line at p[i], 1-based */
  size_t rec_line;  /* line where the last record started */
  char delim;
  unsigned char stop[256]; /* 1 for the bytes that end unquoted text */
  uint64_t *ends;   /* end offset in p of each kept cell, row-major */
  size_t nends, ends_cap;
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

/* Parse the next record, appending one end offset per field.  Blank lines
 * are skipped (they hold no record).  *got = 0 at end of input. */
static osiris_rc cs_record(cs_reader *r, int *got) {
  char *p = r->p;
  size_t n = r->n, i = r->i, w = r->w;
  const char delim = r->delim;
  osiris_rc rc = OSIRIS_OK;
  *got = 0;
  while (i < n && (p[i] == '\n' || p[i] == '\r')) {
    if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
    i++;
    r->line++;
  }
  if (i >= n) goto done;
  *got = 1;
  r->rec_line = r->line;
  for (;;) {
    size_t start;
    if (p[i] == '"') {
      size_t qline = r->line;
      i++;
      for (;;) {
        char *q = i < n ? memchr(p + i, '"', n - i) : NULL;
        size_t seg, k;
        if (!q) {
          rc = os_fail(r->err, OSIRIS_EPARSE, "%s:%zu: unterminated quoted field", r->path,
                       qline);
          goto done;
        }
        seg = (size_t)(q - (p + i));
        for (k = 0; k < seg; k++) {
          char ch = p[i + k];
          if (ch == '\n' || (ch == '\r' && p[i + k + 1] != '\n')) r->line++;
        }
        memmove(p + w, p + i, seg);
        w += seg;
        i += seg + 1;
        if (i < n && p[i] == '"') {
          p[w++] = '"';
          i++;
          continue;
        }
        break;
      }
    }
    /* Unquoted text, or text after a closing quote (kept, as pandas does). */
    start = i;
    while (!r->stop[(unsigned char)p[i]]) i++;
    if (i > start) {
      memmove(p + w, p + start, i - start);
      w += i - start;
    }
    rc = cs_push_end(r, w);
    if (rc) goto done;
    if (i < n && p[i] == delim) {
      i++;
      continue;
    }
    if (i < n) {
      if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') i++;
      i++;
      r->line++;
    }
    break;
  }
done:
  r->i = i;
  r->w = w;
  return rc;
}

/* Load path whole, with one spare byte for the sentinel. */
static osiris_rc cs_load(const char *path, char **out, size_t *outlen, os_err *err) {
  int fd;
  struct stat st;
  char *buf = NULL;
  size_t cap, len = 0;
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  *outlen = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      char *abs = os_path_abs(NULL, path);
      rc = os_fail(err, OSIRIS_ENOTFOUND, "CSV file not found: %s", abs ? abs : path);
      os_free(abs);
      return rc;
    }
    return os_fail(err, OSIRIS_EIO, "%s: cannot open: %s", path, strerror(errno));
  }
  if (fstat(fd, &st) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "%s: cannot stat: %s", path, strerror(errno));
    goto done;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = os_fail(err, OSIRIS_EIO, "%s: is a directory", path);
    goto done;
  }
  if (S_ISREG(st.st_mode) && (uint64_t)st.st_size >= (uint64_t)OS_MAX_BUF) {
    rc = os_fail(err, OSIRIS_ELIMIT, "%s: file too large", path);
    goto done;
  }
  cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : (size_t)1 << 16;
  buf = os_malloc(cap);
  if (!buf) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (;;) {
    ssize_t got;
    if (cap - len < 2) {
      char *nb;
      if (cap > OS_MAX_BUF / 2) {
        rc = os_fail(err, OSIRIS_ELIMIT, "%s: file too large", path);
        goto done;
      }
      nb = os_realloc(buf, cap * 2);
      if (!nb) {
        rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
        goto done;
      }
      buf = nb;
      cap *= 2;
    }
    got = read(fd, buf + len, cap - 1 - len);
    if (got < 0) {
      if (errno == EINTR) continue;
      rc = os_fail(err, OSIRIS_EIO, "%s: read failed: %s", path, strerror(errno));
      goto done;
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  buf[len] = '\n';
  *out = buf;
  *outlen = len;
  buf = NULL;
done:
  os_free(buf);
  close(fd);
  return rc;
}

/* ISO-8859-1 maps byte for byte onto U+0000..U+00FF. */
static osiris_rc cs_latin1_to_utf8(char **data, size_t *len, os_err *err) {
  const unsigned char *s = (const unsigned char *)*data;
  size_t n = *len, high = 0, i, k = 0;
  char *out;
  for (i = 0; i < n; i++) high += s[i] >> 7;
  if (!high) return OSIRIS_OK;
  if (n > OS_MAX_BUF - high - 2) return os_fail(err, OSIRIS_ELIMIT, "file too large");
  out = os_malloc(n + high + 2);
  if (!out) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  for (i = 0; i < n; i++) {
    if (s[i] < 0x80) {
      out[k++] = (char)s[i];
    } else {
      out[k++] = (char)(0xC0 | (s[i] >> 6));
      out[k++] = (char)(0x80 | (s[i] & 0x3F));
    }
  }
  out[k] = '\n';
  os_free(*data);
  *data = out;
  *len = k;
  return OSIRIS_OK;
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
  uint64_t base;         /* start of the first data cell */
  size_t rows, ncols;
  const char *const *na; /* extra NULL markers, or NULL */
  size_t *na_len;
} cs_table;

static const char *cs_cell(const cs_table *t, size_t row, size_t col, size_t *len) {
  size_t idx = row * t->ncols + col;
  uint64_t start = idx ? t->ends[idx - 1] : t->base;
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

static osiris_type cs_infer(const cs_table *t, size_t col) {
  unsigned alive = CS_T_INT | CS_T_DBL | CS_T_BOOL | CS_T_DATE | CS_T_TS;
  size_t r, len;
  int any = 0, bv;
  int32_t dv;
  int64_t tv;
  for (r = 0; r < t->rows && alive; r++) {
    const char *s = cs_cell(t, r, col, &len);
    if (cs_is_na(t, s, len)) continue;
    any = 1;
    if ((alive & CS_T_INT) && !cs_parse_i64(s, len, NULL)) alive &= ~CS_T_INT;
    if ((alive & CS_T_DBL) && !cs_num_syntax(s, len)) alive &= ~CS_T_DBL;
    if ((alive & CS_T_BOOL) && !cs_is_bool(s, len, &bv)) alive &= ~CS_T_BOOL;
    if ((alive & CS_T_DATE) && !fr_parse_date(s, len, &dv)) alive &= ~CS_T_DATE;
    if ((alive & CS_T_TS) && !fr_parse_timestamp(s, len, &tv)) alive &= ~CS_T_TS;
  }
  if (!any || !alive) return OSIRIS_TYPE_STRING;
  if (alive & CS_T_INT) return OSIRIS_TYPE_INT64;
  if (alive & CS_T_DBL) return OSIRIS_TYPE_DOUBLE;
  if (alive & CS_T_BOOL) return OSIRIS_TYPE_BOOL;
  if (alive & CS_T_DATE) return OSIRIS_TYPE_DATE;
  return OSIRIS_TYPE_TIMESTAMP;
}

/* Fill frame column fc from source column col, already typed. */
static osiris_rc cs_fill(const cs_table *t, size_t col, fr_col *c, locale_t c_locale) {
  size_t r, len, total = 0;
  osiris_rc rc;
  rc = fr_col_reserve(c, t->rows);
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
      cs_parse_i64(s, len, &i64);
      rc = fr_col_push_i64(c, i64);
      break;
    case OSIRIS_TYPE_DOUBLE: rc = fr_col_push_f64(c, cs_parse_f64(s, len, c_locale)); break;
    case OSIRIS_TYPE_BOOL:
      cs_is_bool(s, len, &bv);
      rc = fr_col_push_i8(c, bv);
      break;
    case OSIRIS_TYPE_DATE:
      fr_parse_date(s, len, &i32);
      rc = fr_col_push_i32(c, i32);
      break;
    case OSIRIS_TYPE_TIMESTAMP:
      fr_parse_timestamp(s, len, &i64);
      rc = fr_col_push_i64(c, i64);
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

osiris_rc osiris_csv_read(const char *path, const osiris_csv_opts *o, osiris_frame **out,
                          char *errbuf, size_t errcap) {
  osiris_csv_opts dflt;
  os_err err;
  cs_reader r;
  cs_table t;
  char **names = NULL;
  size_t *sel = NULL, *na_len = NULL;
  size_t ncols = 0, nsel = 0, nrows = 0, skipped = 0, k;
  uint64_t base = 0;
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
  if (out) *out = NULL;
  if (errbuf && errcap) errbuf[0] = 0;
  if (!path || !out) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_csv_read: path and out are required");
    goto done;
  }
  r.path = path;
  r.err = &err;
  r.line = 1;
  r.delim = o->delimiter ? o->delimiter : ',';
  if (r.delim == '"' || r.delim == '\n' || r.delim == '\r') {
    rc = os_fail(&err, OSIRIS_EINVAL, "%s: invalid CSV delimiter", path);
    goto done;
  }
  r.stop[(unsigned char)r.delim] = r.stop['\n'] = r.stop['\r'] = 1;
  rc = cs_load(path, &r.p, &r.n, &err);
  if (rc) goto done;
  if (o->latin1) {
    rc = cs_latin1_to_utf8(&r.p, &r.n, &err);
    if (rc) goto done;
  } else {
    size_t bad;
    if (r.n >= 3 && memcmp(r.p, "\xEF\xBB\xBF", 3) == 0) r.i = r.w = 3;
    if (!os_utf8_valid(r.p + r.i, r.n - r.i, &bad)) {
      size_t line = 1, j;
      bad += r.i;
      for (j = 0; j < bad; j++) line += r.p[j] == '\n';
      rc = os_fail(&err, OSIRIS_EPARSE, "%s:%zu: invalid UTF-8 at byte %zu", path, line, bad);
      goto done;
    }
  }

  for (;;) {
    size_t mark = r.nends, wmark = r.w, nf;
    int got;
    rc = cs_record(&r, &got);
    if (rc) goto done;
    if (!got) break;
    nf = r.nends - mark;
    if (skipped < o->skip_rows) {
      skipped++;
      r.nends = mark;
      r.w = wmark;
      continue;
    }
    if (!have_cols) {
      have_cols = 1;
      ncols = nf;
      names = os_calloc(ncols, sizeof(char *));
      if (!names) {
        rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
        goto done;
      }
      for (k = 0; k < ncols; k++) {
        if (o->header) {
          uint64_t s = k ? r.ends[mark + k - 1] : wmark;
          rc = cs_unique_name(names, k, r.p + s, (size_t)(r.ends[mark + k] - s));
        } else {
          names[k] = os_asprintf("%zu", k);
          rc = names[k] ? OSIRIS_OK : OSIRIS_ENOMEM;
        }
        if (rc) {
          rc = os_fail(&err, rc, "out of memory");
          goto done;
        }
      }
      if (o->header) {
        r.nends = mark;
        r.w = wmark;
        continue;
      }
    }
    if (o->limit >= 0 && nrows >= (uint64_t)o->limit) {
      r.nends = mark;
      break;
    }
    if (nf != ncols) {
      rc = os_fail(&err, OSIRIS_EPARSE, "%s:%zu: expected %zu fields, got %zu", path,
                   r.rec_line, ncols, nf);
      goto done;
    }
    if (nrows == 0) base = wmark;
    nrows++;
  }

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

  memset(&t, 0, sizeof t);
  t.p = r.p;
  t.ends = r.ends;
  t.base = base;
  t.rows = nrows;
  t.ncols = ncols;
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
  /* Every column first: the frame takes no new column once one holds data. */
  for (k = 0; k < nsel && !rc; k++)
    rc = osiris_frame_add_column(f, names[sel[k]],
                                 o->infer_types ? cs_infer(&t, sel[k]) : OSIRIS_TYPE_STRING, 0);
  for (k = 0; k < nsel && !rc; k++) rc = cs_fill(&t, sel[k], &f->cols[k], c_locale);
  if (rc) {
    rc = os_fail(&err, rc, "%s: %s", path,
                 rc == OSIRIS_ENOMEM   ? "out of memory"
                 : rc == OSIRIS_ELIMIT ? "too much data for a frame"
                                       : "cannot build the frame");
    goto done;
  }
  rc = fr_commit_rows(f, nrows);
  if (rc) {
    rc = os_fail(&err, rc, "%s: internal error building the frame", path);
    goto done;
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
  os_free(sel);
  os_free(na_len);
  os_free(r.p);
  os_free(r.ends);
  return rc;
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

/* One field, quoted when it holds the delimiter, a quote, CR or LF, or
 * starts or ends with a space (readers may trim those). */
static void cs_put_field(cs_writer *w, const char *s, size_t n, char delim, int quote_empty) {
  size_t i;
  int quote = n == 0 ? quote_empty
                     : (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
  for (i = 0; i < n && !quote; i++) {
    char c = s[i];
    quote = c == delim || c == '"' || c == '\n' || c == '\r';
  }
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

osiris_rc osiris_csv_write(const char *path, const osiris_frame *f, const osiris_csv_opts *o,
                           char *errbuf, size_t errcap) {
  os_err err;
  cs_writer w;
  char *tmp = NULL, *dir = NULL;
  char cell[64];
  const char *eol;
  size_t eol_len, ncols, nrows, r, c;
  char delim;
  int header, created = 0;
  osiris_rc rc = OSIRIS_OK;

  memset(&err, 0, sizeof err);
  memset(&w, 0, sizeof w);
  w.fd = -1;
  if (errbuf && errcap) errbuf[0] = 0;
  if (!path || !*path || !f) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_csv_write: path and frame are required");
    goto done;
  }
  delim = o && o->delimiter ? o->delimiter : ',';
  header = o ? o->header : 1;
  eol = o && o->crlf ? "\r\n" : "\n";
  eol_len = strlen(eol);
  if (delim == '"' || delim == '\n' || delim == '\r') {
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
  tmp = os_asprintf("%s.tmp.%ld", path, (long)getpid());
  w.buf = os_malloc(CS_WRITE_BUF);
  if (!tmp || !w.buf) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (w.fd < 0) {
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto done;
  }
  created = 1;
  ncols = f->ncols;
  nrows = ncols ? f->rows : 0;
  if (header && ncols) {
    for (c = 0; c < ncols; c++) {
      const char *name = f->cols[c].name;
      if (c) cs_put(&w, &delim, 1);
      cs_put_field(&w, name, strlen(name), delim, ncols == 1);
    }
    cs_put(&w, eol, eol_len);
  }
  for (r = 0; r < nrows && !w.err; r++) {
    for (c = 0; c < ncols; c++) {
      const fr_col *col = &f->cols[c];
      const char *s = "";
      size_t n = 0;
      if (c) cs_put(&w, &delim, 1);
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
      cs_put_field(&w, s, n, delim, ncols == 1);
    }
    cs_put(&w, eol, eol_len);
  }
  cs_flush(&w);
  if (w.err) {
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(w.err));
    goto done;
  }
  if (close(w.fd) != 0) {
    w.fd = -1;
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto done;
  }
  w.fd = -1;
  if (rename(tmp, path) != 0) {
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
    goto done;
  }
done:
  if (w.fd >= 0) close(w.fd);
  if (rc && created) unlink(tmp);
  if (rc) cs_copy_err(&err, errbuf, errcap);
  os_free(w.buf);
  os_free(tmp);
  os_free(dir);
  return rc;
}
