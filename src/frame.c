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

static osiris_rc fr_col_push_i64(fr_col *c, int64_t v) {
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  memcpy(c->data + c->n * 8, &v, 8);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

static osiris_rc fr_col_push_f64(fr_col *c, double v) {
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  memcpy(c->data + c->n * 8, &v, 8);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

static osiris_rc fr_col_push_i32(fr_col *c, int32_t v) {
  osiris_rc rc = fr_col_next(c);
  if (rc) return rc;
  memcpy(c->data + c->n * 4, &v, 4);
  fr_col_mark_valid(c);
  c->n++;
  return OSIRIS_OK;
}

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

/* "YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}][Z|+00:00]" as UTC microseconds. */
static int fr_parse_timestamp(const char *s, size_t len, int64_t *micros) {
  int32_t days;
  int hh, mi, ss;
  int64_t frac = 0;
  size_t i;
  if (len < 19 || !fr_parse_date(s, 10, &days)) return 0;
  if ((s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') return 0;
  hh = fr_digits(s + 11, 2);
  mi = fr_digits(s + 14, 2);
  ss = fr_digits(s + 17, 2);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59) return 0;
  i = 19;
  if (i < len && s[i] == '.') {
    int nd = 0;
    i++;
    while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 6) {
      frac = frac * 10 + (s[i] - '0');
      i++, nd++;
    }
    if (nd == 0 || (i < len && s[i] >= '0' && s[i] <= '9')) return 0;
    while (nd++ < 6) frac *= 10;
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
      snprintf(sci, sizeof sci, "%.*e", prec, a);
      if (prec == 16 || strtod(sci, NULL) == a) break;
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
