/* ======================================================================
 * 9. Parquet
 *
 * A writer and a reader of the Apache Parquet format for flat schemas.
 * The writer streams "PAR1", then per row group and column one chunk of
 * version-1 data pages (PLAIN values, OPTIONAL columns whose definition
 * levels are an RLE/bit-packed hybrid of width 1 behind a 4-byte length),
 * then the Thrift-compact FileMetaData, its 4-byte length and "PAR1"; it
 * writes through path.tmp.<pid> and renames, so a failure never leaves a
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
  tmp = os_asprintf("%s.tmp.%ld", path, (long)getpid());
  if (!W.cols || !chunks || !W.out.buf || !dir || !tmp) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = pq_plan_columns(&W)) != OSIRIS_OK) goto done;
  if ((rc = os_mkdir_p(dir, &err)) != OSIRIS_OK) goto done;
  W.out.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (W.out.fd < 0) {
    rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
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
  if (rename(tmp, path) != 0) rc = os_fail(&err, OSIRIS_EIO, "cannot write %s: %s", path, strerror(errno));
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

static void pq_rd_rowgroup(pq_tr *t, pq_rg *rg) {
  rg->num_rows = -1;
  PQ_STRUCT_BEGIN(t)
  case 1: {
    int et;
    size_t n = pq_tr_list(t, type, &et), i;
    if (t->why) break;
    if (rg->cols || et != PQ_T_STRUCT) {
      pq_tr_fail(t, "bad column chunk list");
      break;
    }
    rg->cols = pq_tr_array(t, n, sizeof(pq_cm));
    if (!rg->cols) break;
    rg->ncols = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_chunk(t, &rg->cols[i]);
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
    int et;
    size_t n = pq_tr_list(t, type, &et), i;
    if (t->why) break;
    if (m->schema || et != PQ_T_STRUCT) {
      pq_tr_fail(t, "bad schema list");
      break;
    }
    m->schema = pq_tr_array(t, n, sizeof(pq_se));
    if (!m->schema) break;
    m->nschema = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_schema(t, &m->schema[i]);
    break;
  }
  case 3: m->num_rows = pq_tr_int(t, type); break;
  case 4: {
    int et;
    size_t n = pq_tr_list(t, type, &et), i;
    if (t->why) break;
    if (m->rgs || et != PQ_T_STRUCT) {
      pq_tr_fail(t, "bad row group list");
      break;
    }
    m->rgs = pq_tr_array(t, n, sizeof(pq_rg));
    if (!m->rgs) break;
    m->nrg = n;
    for (i = 0; i < n && !t->why; i++) pq_rd_rowgroup(t, &m->rgs[i]);
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
