/* Section 9 (Parquet): writer/reader round trips of every type, row groups,
 * pages, decimals, old timestamps, malformed input (truncation and byte
 * flips must give an error or a frame, never a crash), hand-built files
 * for dictionary and v2 pages.
 *
 * Extra modes used by tests/parquet/run.sh (cross-checks with hyparquet
 * and DuckDB):
 *   test_parquet --export DIR       write ours_*.parquet + ours_*.json
 *   test_parquet --verify-dir DIR   read the "file" of every DIR/NAME.json with
 *                                   our reader and compare every value
 *   test_parquet --fuzz N FILE...   N damaged copies of each file: an
 *                                   error or a frame, never a crash
 */
#include "../osiris.c"

#include "harness.h"

#include <dirent.h>

/* ------------------------------------------------------------- helpers */

static char g_tmp[256];

static void tmp_init(void) {
  if (g_tmp[0]) return;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/osiris_pq_XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    exit(2);
  }
}

static char *tmp_path(const char *name) {
  tmp_init();
  return os_asprintf("%s/%s", g_tmp, name);
}

static void dec_text(pq_i128 v, int scale, char *out) { pq_dec_format(v, scale, out); }

/* Frames equal in shape, names, types, scales and every cell (doubles
 * bitwise, so NaN == NaN and -0.0 != 0.0). */
static int frames_equal(const osiris_frame *a, const osiris_frame *b, char *why, size_t cap) {
  size_t c, r;
  if (osiris_frame_rows(a) != osiris_frame_rows(b) || osiris_frame_cols(a) != osiris_frame_cols(b)) {
    snprintf(why, cap, "shape %zux%zu vs %zux%zu", osiris_frame_rows(a), osiris_frame_cols(a),
             osiris_frame_rows(b), osiris_frame_cols(b));
    return 0;
  }
  for (c = 0; c < osiris_frame_cols(a); c++) {
    osiris_type t = osiris_frame_col_type(a, c);
    if (strcmp(osiris_frame_col_name(a, c), osiris_frame_col_name(b, c)) != 0 ||
        t != osiris_frame_col_type(b, c) || osiris_frame_col_scale(a, c) != osiris_frame_col_scale(b, c)) {
      snprintf(why, cap, "column %zu header differs (%s %s / %s %s)", c, osiris_frame_col_name(a, c),
               osiris_type_name(t), osiris_frame_col_name(b, c), osiris_type_name(osiris_frame_col_type(b, c)));
      return 0;
    }
    for (r = 0; r < osiris_frame_rows(a); r++) {
      int na = osiris_frame_is_null(a, c, r), nb = osiris_frame_is_null(b, c, r), same = 1;
      if (na != nb) same = 0;
      else if (!na) {
        switch (t) {
        case OSIRIS_TYPE_BOOL: same = osiris_frame_get_bool(a, c, r) == osiris_frame_get_bool(b, c, r); break;
        case OSIRIS_TYPE_INT64: same = osiris_frame_get_int64(a, c, r) == osiris_frame_get_int64(b, c, r); break;
        case OSIRIS_TYPE_TIMESTAMP:
          same = osiris_frame_get_timestamp(a, c, r) == osiris_frame_get_timestamp(b, c, r);
          break;
        case OSIRIS_TYPE_DATE: same = osiris_frame_get_date(a, c, r) == osiris_frame_get_date(b, c, r); break;
        case OSIRIS_TYPE_DOUBLE: {
          double x = osiris_frame_get_double(a, c, r), y = osiris_frame_get_double(b, c, r);
          same = memcmp(&x, &y, 8) == 0 || (isnan(x) && isnan(y));
          break;
        }
        default: {
          size_t la, lb;
          const char *sa = osiris_frame_get_text(a, c, r, &la), *sb = osiris_frame_get_text(b, c, r, &lb);
          same = la == lb && (la == 0 || memcmp(sa, sb, la) == 0);
        }
        }
      }
      if (!same) {
        char b1[64], b2[64];
        size_t l1, l2;
        int n1, n2;
        const char *s1 = osiris_frame_format(a, c, r, b1, sizeof b1, &l1, &n1);
        const char *s2 = osiris_frame_format(b, c, r, b2, sizeof b2, &l2, &n2);
        snprintf(why, cap, "column %s row %zu: %.*s%s vs %.*s%s", osiris_frame_col_name(a, c), r,
                 (int)(l1 > 60 ? 60 : l1), s1, n1 ? "NULL" : "", (int)(l2 > 60 ? 60 : l2), s2,
                 n2 ? "NULL" : "");
        return 0;
      }
    }
  }
  return 1;
}

/* Every type with NULLs in a different pattern per column; extremes at
 * fixed rows.  with_nan adds NaN/inf (kept out of the stats-filter file). */
static osiris_frame *make_all(size_t rows, int with_nan) {
  osiris_frame *f = osiris_frame_new();
  size_t r;
  osiris_rc rc = OSIRIS_OK;
  rc |= osiris_frame_add_column(f, "b", OSIRIS_TYPE_BOOL, 0);
  rc |= osiris_frame_add_column(f, "i", OSIRIS_TYPE_INT64, 0);
  rc |= osiris_frame_add_column(f, "d", OSIRIS_TYPE_DOUBLE, 0);
  rc |= osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
  rc |= osiris_frame_add_column(f, "dt", OSIRIS_TYPE_DATE, 0);
  rc |= osiris_frame_add_column(f, "ts", OSIRIS_TYPE_TIMESTAMP, 0);
  rc |= osiris_frame_add_column(f, "dec", OSIRIS_TYPE_DECIMAL, 2);
  rc |= osiris_frame_add_column(f, "dec38", OSIRIS_TYPE_DECIMAL, 10);
  rc |= osiris_frame_add_column(f, "dec0", OSIRIS_TYPE_DECIMAL, 0);
  for (r = 0; r < rows && !rc; r++) {
    long k = (long)r - 1500;
    char buf[128];
    int n;
    rc |= r % 3 == 0 ? osiris_frame_append_null(f, 0) : osiris_frame_append_bool(f, 0, (int)(r % 2));
    if (r % 7 == 0) rc |= osiris_frame_append_null(f, 1);
    else if (r == 1) rc |= osiris_frame_append_int64(f, 1, INT64_MIN);
    else if (r == 2) rc |= osiris_frame_append_int64(f, 1, INT64_MAX);
    else rc |= osiris_frame_append_int64(f, 1, (int64_t)k * 7919 * 1000003);
    if (r % 11 == 0) rc |= osiris_frame_append_null(f, 2);
    else {
      double d = (double)k * 0.1 - 77.5;
      if (r == 1) d = -0.0;
      if (r == 2) d = 1e300;
      if (r == 3) d = 5e-324;
      if (with_nan && r == 4) d = NAN;
      if (with_nan && r == 5) d = INFINITY;
      if (with_nan && r == 6) d = -INFINITY;
      rc |= osiris_frame_append_double(f, 2, d);
    }
    if (r % 5 == 0) rc |= osiris_frame_append_null(f, 3);
    else if (r == 1) rc |= osiris_frame_append_text(f, 3, "", 0);
    else {
      n = snprintf(buf, sizeof buf, "row-%zu-%s", r, r % 4 == 0 ? "ünïcödé ✓ 日本" : "plain ascii text");
      rc |= osiris_frame_append_text(f, 3, buf, (size_t)n);
    }
    rc |= r % 13 == 0 ? osiris_frame_append_null(f, 4) : osiris_frame_append_date(f, 4, (int32_t)(k * 37));
    rc |= r % 17 == 0 ? osiris_frame_append_null(f, 5)
                      : osiris_frame_append_timestamp(f, 5, (int64_t)k * INT64_C(3600000123));
    if (r % 19 == 0) rc |= osiris_frame_append_null(f, 6);
    else {
      dec_text((pq_i128)k * 12345, 2, buf);
      rc |= osiris_frame_append_text(f, 6, buf, strlen(buf));
    }
    if (r % 23 == 0) rc |= osiris_frame_append_null(f, 7);
    else {
      pq_i128 big = (pq_i128)pq_pow10(37) + (pq_i128)k * 1000003;
      if (r % 2) big = -big;
      if (r == 1) big = (pq_i128)pq_pow10(38) - 1;
      if (r == 2) big = -((pq_i128)pq_pow10(38) - 1);
      dec_text(big, 10, buf);
      rc |= osiris_frame_append_text(f, 7, buf, strlen(buf));
    }
    if (r % 29 == 0) rc |= osiris_frame_append_null(f, 8);
    else {
      n = snprintf(buf, sizeof buf, "%ld", k * 3);
      rc |= osiris_frame_append_text(f, 8, buf, (size_t)n);
    }
    rc |= osiris_frame_end_row(f);
  }
  if (rc) {
    osiris_frame_free(f);
    return NULL;
  }
  return f;
}

static int roundtrip(const osiris_frame *f, size_t rg_rows, const char *name) {
  char *p = tmp_path(name), err[512], why[512];
  osiris_parquet_opts o = {rg_rows};
  osiris_frame *g = NULL;
  int ok = 0;
  osiris_rc rc = osiris_parquet_write(p, f, &o, err, sizeof err);
  if (rc) fprintf(stderr, "  write %s: %s\n", name, err);
  else if ((rc = osiris_parquet_read(p, &g, err, sizeof err)) != OSIRIS_OK)
    fprintf(stderr, "  read %s: %s\n", name, err);
  else if (!frames_equal(f, g, why, sizeof why))
    fprintf(stderr, "  %s differs: %s\n", name, why);
  else ok = 1;
  osiris_frame_free(g);
  os_free(p);
  return ok;
}

/* The footer of a file, parsed by our own Thrift reader. */
static int read_meta(const char *path, pq_meta *m, unsigned char **file, size_t *len) {
  os_err e = {0};
  pq_tr t;
  uint32_t fl;
  memset(m, 0, sizeof *m);
  if (pq_slurp(path, file, len, &e)) return 0;
  fl = pq_rd32(*file + *len - 8);
  t.p = *file + *len - 8 - fl;
  t.end = *file + *len - 8;
  t.depth = 0;
  t.why = NULL;
  pq_rd_filemeta(&t, m);
  return t.why == NULL;
}

/* ---------------------------------------------------------------- tests */

static void test_decimal_helpers(void) {
  pq_i128 v = 0;
  char buf[64];
  unsigned char b[16];
  CHECK(pq_dec_parse("-12.5", 5, 2, &v) == NULL && v == -1250);
  pq_dec_format(v, 2, buf);
  CHECK_STR(buf, "-12.50");
  CHECK(pq_dec_parse("1.230", 5, 2, &v) == NULL && v == 123);
  CHECK(pq_dec_parse("1.234", 5, 2, &v) != NULL);
  CHECK(pq_dec_parse("-0.00", 5, 2, &v) == NULL && v == 0);
  pq_dec_format(v, 2, buf);
  CHECK_STR(buf, "0.00");
  pq_dec_format(-5, 3, buf);
  CHECK_STR(buf, "-0.005");
  pq_dec_format(7, 0, buf);
  CHECK_STR(buf, "7");
  CHECK(pq_dec_parse("99999999999999999999999999999999999999", 38, 0, &v) == NULL);
  pq_dec_format(v, 0, buf);
  CHECK_STR(buf, "99999999999999999999999999999999999999");
  CHECK(pq_dec_parse("999999999999999999999999999999999999999", 39, 0, &v) != NULL);
  CHECK(pq_dec_parse("1", 1, 38, &v) != NULL); /* 1 * 10^38 has 39 digits */
  CHECK(pq_dec_parse("0.1", 3, 38, &v) == NULL);
  pq_dec_format(v, 38, buf);
  CHECK_STR(buf, "0.10000000000000000000000000000000000000");
  CHECK(pq_dec_bytes(1) == 1 && pq_dec_bytes(2) == 1 && pq_dec_bytes(3) == 2);
  CHECK(pq_dec_bytes(9) == 4 && pq_dec_bytes(18) == 8 && pq_dec_bytes(38) == 16);
  pq_dec_store(-300, 2, b);
  CHECK(b[0] == 0xFE && b[1] == 0xD4);
  CHECK(pq_dec_load(b, 2, &v) && v == -300);
  {
    unsigned char wide[20] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    memset(wide, 0xFF, sizeof wide);
    CHECK(pq_dec_load(wide, 20, &v) && v == -1);
    wide[0] = 0x7F;
    CHECK(!pq_dec_load(wide, 20, &v));
  }
}

static void test_roundtrip_types(void) {
  osiris_frame *f = make_all(3000, 1);
  CHECK(f != NULL);
  CHECK(roundtrip(f, 0, "all.parquet"));
  CHECK(roundtrip(f, 1000, "all_rg.parquet"));
  CHECK(roundtrip(f, 7, "all_rg7.parquet"));
  CHECK(roundtrip(f, 1, "all_rg1.parquet"));
  osiris_frame_free(f);
}

static void test_schema_and_groups(void) {
  osiris_frame *f = make_all(2500, 0);
  char *p = tmp_path("groups.parquet"), err[256];
  osiris_parquet_opts o = {1000};
  pq_meta m;
  unsigned char *file = NULL;
  size_t len = 0;
  CHECK_RC(osiris_parquet_write(p, f, &o, err, sizeof err), OSIRIS_OK);
  CHECK(read_meta(p, &m, &file, &len));
  CHECK(m.num_rows == 2500);
  CHECK(m.nrg == 3);
  CHECK(m.nschema == 10);
  if (m.nrg == 3) CHECK(m.rgs[0].num_rows == 1000 && m.rgs[2].num_rows == 500);
  if (m.nschema == 10) {
    CHECK(m.schema[1].type == PQ_BOOLEAN && m.schema[1].rep == 1);
    CHECK(m.schema[2].type == PQ_INT64);
    CHECK(m.schema[3].type == PQ_DOUBLE);
    CHECK(m.schema[4].type == PQ_BYTE_ARRAY && m.schema[4].ctype == PQ_CT_UTF8 && m.schema[4].lt == PQ_LT_STRING);
    CHECK(m.schema[5].type == PQ_INT32 && m.schema[5].lt == PQ_LT_DATE);
    CHECK(m.schema[6].type == PQ_INT64 && m.schema[6].lt == PQ_LT_TIMESTAMP && m.schema[6].lt_unit == 2 &&
          m.schema[6].ctype == PQ_CT_TS_MICROS);
    CHECK(m.schema[7].type == PQ_FLBA && m.schema[7].lt == PQ_LT_DECIMAL && m.schema[7].lt_scale == 2);
    /* dec: |k*12345| < 2e7 -> 8 digits at most -> 4 bytes */
    CHECK(m.schema[7].precision == 8 && m.schema[7].type_len == 4);
    CHECK(m.schema[8].precision == 38 && m.schema[8].type_len == 16 && m.schema[8].scale == 10);
  }
  pq_meta_free(&m);
  os_free(file);
  osiris_frame_free(f);
  os_free(p);
}

static void test_empty(void) {
  osiris_frame *f = make_all(0, 0), *none = osiris_frame_new();
  CHECK(f && osiris_frame_rows(f) == 0);
  CHECK(roundtrip(f, 0, "empty.parquet"));
  CHECK(roundtrip(none, 0, "nocols.parquet"));
  osiris_frame_free(f);
  osiris_frame_free(none);
}

/* Enough string bytes for several 1 MiB pages per chunk. */
static void test_multipage(void) {
  osiris_frame *f = osiris_frame_new();
  size_t r, pages = 0;
  char *p = tmp_path("pages.parquet"), err[256];
  pq_meta m;
  unsigned char *file = NULL;
  size_t len = 0;
  osiris_rc rc = osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
  rc |= osiris_frame_add_column(f, "n", OSIRIS_TYPE_INT64, 0);
  for (r = 0; r < 300000 && !rc; r++) {
    char buf[64];
    int n = snprintf(buf, sizeof buf, "value number %zu padded to thirty", r);
    rc |= r % 10 == 3 ? osiris_frame_append_null(f, 0) : osiris_frame_append_text(f, 0, buf, (size_t)n);
    rc |= osiris_frame_append_int64(f, 1, (int64_t)r);
    rc |= osiris_frame_end_row(f);
  }
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(roundtrip(f, 0, "pages.parquet"));
  CHECK_RC(osiris_parquet_write(p, f, NULL, err, sizeof err), OSIRIS_OK);
  if (read_meta(p, &m, &file, &len) && m.nrg == 1) {
    /* walk the string chunk's page headers */
    const unsigned char *q = file + m.rgs[0].cols[0].data_off;
    const unsigned char *end = q + m.rgs[0].cols[0].comp_size;
    while (q < end) {
      pq_tr t = {q, end, 0, NULL};
      pq_ph h;
      memset(&h, 0, sizeof h);
      pq_rd_pageheader(&t, &h);
      if (t.why || h.csize < 0) break;
      q = t.p + h.csize;
      pages++;
    }
    CHECK(q == end);
  }
  CHECK(pages >= 5);
  pq_meta_free(&m);
  os_free(file);
  os_free(p);
  osiris_frame_free(f);
}

static void test_unicode_and_nulls(void) {
  static const char *vals[] = {"héllo", "日本語テキスト", "emoji 😀🎉", "", "Ωmega", "\xF4\x8F\xBF\xBF", "a\tb\nc"};
  osiris_frame *f = osiris_frame_new();
  size_t r;
  osiris_rc rc = osiris_frame_add_column(f, "ünï", OSIRIS_TYPE_STRING, 0);
  rc |= osiris_frame_add_column(f, "all_null", OSIRIS_TYPE_INT64, 0);
  for (r = 0; r < 70 && !rc; r++) {
    const char *s = vals[r % 7];
    rc |= r % 8 == 7 ? osiris_frame_append_null(f, 0) : osiris_frame_append_text(f, 0, s, strlen(s));
    rc |= osiris_frame_append_null(f, 1);
    rc |= osiris_frame_end_row(f);
  }
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(roundtrip(f, 0, "unicode.parquet"));
  CHECK(roundtrip(f, 9, "unicode9.parquet"));
  osiris_frame_free(f);
}

static void test_old_timestamps(void) {
  static const int64_t ts[] = {-1, INT64_C(-2208988800000000), INT64_C(-62135596800000000), 0, 1,
                               INT64_C(253402300799999999), INT64_C(-86400000001)};
  static const int32_t days[] = {-1, -25567, -719162, 0, 2932896, INT32_MIN, INT32_MAX};
  osiris_frame *f = osiris_frame_new(), *g = NULL;
  size_t r;
  char *p = tmp_path("old.parquet"), err[256];
  osiris_rc rc = osiris_frame_add_column(f, "ts", OSIRIS_TYPE_TIMESTAMP, 0);
  rc |= osiris_frame_add_column(f, "d", OSIRIS_TYPE_DATE, 0);
  for (r = 0; r < 7 && !rc; r++) {
    rc |= osiris_frame_append_timestamp(f, 0, ts[r]);
    rc |= osiris_frame_append_date(f, 1, days[r]);
    rc |= osiris_frame_end_row(f);
  }
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(roundtrip(f, 0, "old.parquet"));
  CHECK_RC(osiris_parquet_write(p, f, NULL, err, sizeof err), OSIRIS_OK);
  CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_OK);
  if (g) {
    char buf[64];
    size_t len;
    int isnull;
    CHECK_STR(osiris_frame_format(g, 0, 0, buf, sizeof buf, &len, &isnull), "1969-12-31T23:59:59.999999");
    CHECK_STR(osiris_frame_format(g, 0, 1, buf, sizeof buf, &len, &isnull), "1900-01-01T00:00:00");
    CHECK_STR(osiris_frame_format(g, 1, 1, buf, sizeof buf, &len, &isnull), "1900-01-01");
  }
  osiris_frame_free(g);
  osiris_frame_free(f);
  os_free(p);
}

static void test_decimal_columns(void) {
  static const char *v2[] = {"0.00", "-0.01", "12345678.99", "-99999999.99", "1.5", "3"};
  static const char *v0[] = {"0", "-1", "170141183460469231731687303715884105727", "-17014118346046923173168730371588410572"};
  osiris_frame *f = osiris_frame_new(), *g = NULL;
  size_t r;
  char *p = tmp_path("dec.parquet"), err[256];
  osiris_rc rc = osiris_frame_add_column(f, "d2", OSIRIS_TYPE_DECIMAL, 2);
  rc |= osiris_frame_add_column(f, "d0", OSIRIS_TYPE_DECIMAL, 0);
  for (r = 0; r < 6 && !rc; r++) {
    rc |= osiris_frame_append_text(f, 0, v2[r], strlen(v2[r]));
    if (r < 4 && r != 2) rc |= osiris_frame_append_text(f, 1, v0[r], strlen(v0[r]));
    else rc |= osiris_frame_append_null(f, 1);
    rc |= osiris_frame_end_row(f);
  }
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_RC(osiris_parquet_write(p, f, NULL, err, sizeof err), OSIRIS_OK);
  CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_OK);
  if (g) {
    size_t len;
    const char *s;
    s = osiris_frame_get_text(g, 0, 4, &len);
    CHECK(len == 4 && memcmp(s, "1.50", 4) == 0); /* canonical: scale digits */
    s = osiris_frame_get_text(g, 0, 5, &len);
    CHECK(len == 4 && memcmp(s, "3.00", 4) == 0);
    s = osiris_frame_get_text(g, 0, 1, &len);
    CHECK(len == 5 && memcmp(s, "-0.01", 5) == 0);
    s = osiris_frame_get_text(g, 1, 3, &len);
    CHECK(len == strlen(v0[3]) && memcmp(s, v0[3], len) == 0);
    CHECK(osiris_frame_col_scale(g, 0) == 2);
  }
  osiris_frame_free(g);
  g = NULL;
  osiris_frame_free(f);
  /* 39 digits cannot be stored: the write fails and leaves no file. */
  f = osiris_frame_new();
  rc = osiris_frame_add_column(f, "x", OSIRIS_TYPE_DECIMAL, 0);
  rc |= osiris_frame_append_text(f, 0, v0[2], strlen(v0[2]));
  rc |= osiris_frame_end_row(f);
  CHECK_RC(rc, OSIRIS_OK);
  {
    char *q = tmp_path("dec_bad.parquet");
    CHECK_RC(osiris_parquet_write(q, f, NULL, err, sizeof err), OSIRIS_EINVAL);
    CHECK(strstr(err, "38 digits") != NULL);
    CHECK(!os_is_file(q));
    os_free(q);
  }
  osiris_frame_free(f);
  /* More fraction digits than the scale is not silently rounded. */
  f = osiris_frame_new();
  rc = osiris_frame_add_column(f, "x", OSIRIS_TYPE_DECIMAL, 1);
  rc |= osiris_frame_append_text(f, 0, "1.25", 4);
  rc |= osiris_frame_end_row(f);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_RC(osiris_parquet_write(p, f, NULL, err, sizeof err), OSIRIS_EINVAL);
  osiris_frame_free(f);
  os_free(p);
}

static void test_errors(void) {
  char err[512];
  osiris_frame *g = (osiris_frame *)1;
  char *p = tmp_path("junk.parquet");
  CHECK_RC(osiris_parquet_read("/nonexistent/x.parquet", &g, err, sizeof err), OSIRIS_ENOTFOUND);
  CHECK(g == NULL);
  os_write_file(p, "PAR1", 4, NULL);
  CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_EPARSE);
  CHECK(strstr(err, "too short") != NULL);
  os_write_file(p, "hello world, not parquet at all", 31, NULL);
  CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_EPARSE);
  CHECK(strstr(err, "magic") != NULL);
  os_write_file(p, "PAR1\xff\xff\xff\x7fPAR1PAR1", 16, NULL);
  CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_EPARSE);
  CHECK(strstr(err, "footer length") != NULL);
  g = osiris_frame_new();
  CHECK_RC(osiris_parquet_write("/proc/osiris/no/x.parquet", g, NULL, err, sizeof err), OSIRIS_EIO);
  osiris_frame_free(g);
  CHECK_RC(osiris_parquet_write(NULL, NULL, NULL, err, sizeof err), OSIRIS_EINVAL);
  os_free(p);
}

/* Read must return OK (with a sane frame) or an error; never crash. */
static int g_fuzz_ok, g_fuzz_err;
static void fuzz_one(const char *path, const unsigned char *data, size_t len) {
  osiris_frame *g = NULL;
  const char *err;
  osiris_rc rc;
  os_err e = {0};
  (void)path;
  /* In memory: the same parser as osiris_parquet_read minus the file I/O. */
  rc = pq_read_buf(data, len, "fuzz", &g, &e);
  err = e.msg;
  if (rc == OSIRIS_OK) {
    size_t c;
    g_fuzz_ok++;
    for (c = 0; c < osiris_frame_cols(g); c++) {
      char buf[64];
      size_t l;
      int n;
      if (osiris_frame_rows(g)) osiris_frame_format(g, c, osiris_frame_rows(g) - 1, buf, sizeof buf, &l, &n);
    }
  } else {
    g_fuzz_err++;
    if (rc != OSIRIS_EPARSE && rc != OSIRIS_ELIMIT && rc != OSIRIS_EINVAL) {
      fprintf(stderr, "  unexpected rc %s: %s\n", osiris_rc_name(rc), err);
      th_failed++;
    }
    if (!err[0]) th_failed++;
  }
  osiris_frame_free(g);
}

static void test_corruption(void) {
  osiris_frame *f = make_all(40, 1);
  osiris_parquet_opts o = {15};
  char *src = tmp_path("fuzz_src.parquet"), *dst = tmp_path("fuzz.parquet"), err[256];
  unsigned char *data = NULL, *buf;
  size_t len = 0, i, k;
  os_err e = {0};
  uint64_t x = 88172645463325252ull;
  static const unsigned char masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF};
  CHECK_RC(osiris_parquet_write(src, f, &o, err, sizeof err), OSIRIS_OK);
  CHECK_RC(pq_slurp(src, &data, &len, &e), OSIRIS_OK);
  buf = os_malloc(len * 2 + 16);
  g_fuzz_ok = g_fuzz_err = 0;
  /* every truncation */
  for (i = 0; i < len; i++) fuzz_one(dst, data, i);
  /* every truncation of the data with the footer kept */
  {
    uint32_t fl = pq_rd32(data + len - 8);
    size_t tail = fl + 8, body = len - tail;
    for (i = 0; i < body; i += 3) {
      memcpy(buf, data, i);
      memcpy(buf + i, data + body, tail);
      fuzz_one(dst, buf, i + tail);
    }
  }
  /* single-bit and byte flips at every offset */
  for (i = 0; i < len; i++) {
    for (k = 0; k < sizeof masks; k++) {
      memcpy(buf, data, len);
      buf[i] ^= masks[k];
      fuzz_one(dst, buf, len);
    }
  }
  /* random multi-byte damage, mostly in the footer */
  for (i = 0; i < 3000; i++) {
    int hits = 1 + (int)(i % 4), h;
    memcpy(buf, data, len);
    for (h = 0; h < hits; h++) {
      size_t at;
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      at = i % 2 ? len - 9 - (size_t)(x % (pq_rd32(data + len - 8))) : (size_t)(x % len);
      buf[at] = (unsigned char)(x >> 24);
    }
    fuzz_one(dst, buf, len);
  }
  printf("  corruption: %d reads ok, %d rejected\n", g_fuzz_ok, g_fuzz_err);
  CHECK(g_fuzz_err > 0);
  os_free(buf);
  os_free(data);
  os_free(src);
  os_free(dst);
  osiris_frame_free(f);
}

/* ---------------------------------------------- hand-built reader inputs */

/* A one-column file: schema leaf (type, rep, ctype), one row group of
 * `rows`, the chunk's pages given as raw bytes. */
static char *build_file(const char *name, int ptype, int rep, int ctype, int codec, int64_t rows,
                        const unsigned char *pages, size_t plen) {
  os_buf b = {0}, meta = {0};
  pq_tw w;
  char *p = tmp_path(name);
  unsigned char tail[8];
  ob_put(&b, "PAR1", 4);
  ob_put(&b, pages, plen);
  memset(&w, 0, sizeof w);
  w.b = &meta;
  pq_tw_i32(&w, 1, 1);
  pq_tw_list(&w, 2, PQ_T_STRUCT, 2);
  pq_tw_begin(&w, 0);
  pq_tw_bin(&w, 4, "schema", 6);
  pq_tw_i32(&w, 5, 1);
  pq_tw_end(&w);
  pq_tw_begin(&w, 0);
  pq_tw_i32(&w, 1, ptype);
  pq_tw_i32(&w, 3, rep);
  pq_tw_bin(&w, 4, "c", 1);
  if (ctype >= 0) pq_tw_i32(&w, 6, ctype);
  pq_tw_end(&w);
  pq_tw_i64(&w, 3, rows);
  pq_tw_list(&w, 4, PQ_T_STRUCT, 1);
  pq_tw_begin(&w, 0);
  pq_tw_list(&w, 1, PQ_T_STRUCT, 1);
  pq_tw_begin(&w, 0);
  pq_tw_i64(&w, 2, 0);
  pq_tw_begin(&w, 3);
  pq_tw_i32(&w, 1, ptype);
  pq_tw_list(&w, 2, PQ_T_I32, 0);
  pq_tw_list(&w, 3, PQ_T_BINARY, 0);
  pq_tw_i32(&w, 4, codec);
  pq_tw_i64(&w, 5, rows);
  pq_tw_i64(&w, 6, (int64_t)plen);
  pq_tw_i64(&w, 7, (int64_t)plen);
  pq_tw_i64(&w, 9, 4);
  pq_tw_end(&w);
  pq_tw_end(&w);
  pq_tw_i64(&w, 2, (int64_t)plen);
  pq_tw_i64(&w, 3, rows);
  pq_tw_end(&w);
  pq_tw_byte(&w, 0);
  ob_put(&b, meta.p, meta.len);
  pq_le32(tail, (uint32_t)meta.len);
  memcpy(tail + 4, "PAR1", 4);
  ob_put(&b, tail, 8);
  os_write_file(p, b.p, b.len, NULL);
  ob_free(&b);
  ob_free(&meta);
  return p;
}

/* A page header + body into dst. sub: 5 (v1), 7 (dict), 8 (v2). */
static void put_page(os_buf *dst, int ptype, int sub, int nvals, int enc, int nnulls, int deflen,
                     const unsigned char *body, size_t blen) {
  os_buf h = {0};
  pq_tw w;
  memset(&w, 0, sizeof w);
  w.b = &h;
  pq_tw_i32(&w, 1, ptype);
  pq_tw_i32(&w, 2, (int64_t)blen);
  pq_tw_i32(&w, 3, (int64_t)blen);
  pq_tw_begin(&w, sub);
  pq_tw_i32(&w, 1, nvals);
  if (sub == 8) {
    pq_tw_i32(&w, 2, nnulls);
    pq_tw_i32(&w, 3, nvals);
    pq_tw_i32(&w, 4, enc);
    pq_tw_i32(&w, 5, deflen);
    pq_tw_i32(&w, 6, 0);
    pq_tw_bool(&w, 7, 0);
  } else {
    pq_tw_i32(&w, 2, enc);
    if (sub == 5) {
      pq_tw_i32(&w, 3, PQ_ENC_RLE);
      pq_tw_i32(&w, 4, PQ_ENC_RLE);
    }
  }
  pq_tw_end(&w);
  pq_tw_byte(&w, 0);
  ob_put(dst, h.p, h.len);
  ob_put(dst, body, blen);
  ob_free(&h);
}

static void test_handmade(void) {
  char err[256];
  osiris_frame *g = NULL;
  char *p;
  os_buf pages = {0};
  /* REQUIRED INT32: dictionary {10, -20, 30}, a v2 page of RLE_DICTIONARY
   * indices 2,0,1,1,1 (bit width 2: bit-packed group of 8, 5 used), then a
   * v1 PLAIN page with 2 more values. */
  {
    unsigned char dict[12], idx[] = {2, 0x03, 0x02 | (0 << 2) | (1 << 4) | (1 << 6), 0x01};
    unsigned char plain[8];
    pq_le32(dict, 10), pq_le32(dict + 4, (uint32_t)-20), pq_le32(dict + 8, 30);
    pq_le32(plain, 7), pq_le32(plain + 4, (uint32_t)-7);
    put_page(&pages, PQ_PAGE_DICT, 7, 3, PQ_ENC_PLAIN, 0, 0, dict, 12);
    put_page(&pages, PQ_PAGE_DATA_V2, 8, 5, PQ_ENC_RLE_DICT, 0, 0, idx, sizeof idx);
    put_page(&pages, PQ_PAGE_DATA, 5, 2, PQ_ENC_PLAIN, 0, 0, plain, 8);
    p = build_file("hand_dict.parquet", PQ_INT32, 0, -1, 0, 7, (const unsigned char *)pages.p, pages.len);
    CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_OK);
    if (!g) fprintf(stderr, "  %s\n", err);
    if (g) {
      CHECK(osiris_frame_rows(g) == 7 && osiris_frame_col_type(g, 0) == OSIRIS_TYPE_INT64);
      CHECK(osiris_frame_get_int64(g, 0, 0) == 30 && osiris_frame_get_int64(g, 0, 1) == 10);
      CHECK(osiris_frame_get_int64(g, 0, 2) == -20 && osiris_frame_get_int64(g, 0, 4) == -20);
      CHECK(osiris_frame_get_int64(g, 0, 5) == 7 && osiris_frame_get_int64(g, 0, 6) == -7);
    }
    osiris_frame_free(g);
    g = NULL;
    os_free(p);
    /* The same pages claimed SNAPPY: v2 page says is_compressed=false,
     * but the dictionary page is compressed -> clear error. */
    p = build_file("hand_snappy.parquet", PQ_INT32, 0, -1, 1, 7, (const unsigned char *)pages.p, pages.len);
    CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_EPARSE);
    CHECK(strstr(err, "compression SNAPPY not supported") != NULL);
    os_free(p);
    ob_free(&pages);
  }
  /* OPTIONAL BYTE_ARRAY UTF8, v2 page with definition levels 1,0,1
   * (RLE-hybrid bit-packed, no length prefix) and PLAIN values. */
  {
    unsigned char body[64];
    size_t n = 0;
    body[n++] = 0x03, body[n++] = 0x05; /* 1 group: bits 1,0,1 */
    pq_le32(body + n, 2), n += 4, memcpy(body + n, "ab", 2), n += 2;
    pq_le32(body + n, 3), n += 4, memcpy(body + n, "\xc3\xa9z", 3), n += 3;
    put_page(&pages, PQ_PAGE_DATA_V2, 8, 3, PQ_ENC_PLAIN, 1, 2, body, n);
    p = build_file("hand_v2.parquet", PQ_BYTE_ARRAY, 1, PQ_CT_UTF8, 0, 3, (const unsigned char *)pages.p, pages.len);
    CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_OK);
    if (g) {
      size_t len;
      const char *s = osiris_frame_get_text(g, 0, 2, &len);
      CHECK(osiris_frame_rows(g) == 3 && osiris_frame_is_null(g, 0, 1) && !osiris_frame_is_null(g, 0, 0));
      CHECK(len == 3 && memcmp(s, "\xc3\xa9z", 3) == 0);
    }
    osiris_frame_free(g);
    g = NULL;
    os_free(p);
    ob_free(&pages);
    /* invalid UTF-8 in a string column is rejected */
    n = 0;
    body[n++] = 0x02, body[n++] = 0x01; /* RLE run of 1: value 1 */
    pq_le32(body + n, 2), n += 4, memcpy(body + n, "\xff\xfe", 2), n += 2;
    put_page(&pages, PQ_PAGE_DATA_V2, 8, 1, PQ_ENC_PLAIN, 0, 2, body, n);
    p = build_file("hand_utf8.parquet", PQ_BYTE_ARRAY, 1, PQ_CT_UTF8, 0, 1, (const unsigned char *)pages.p, pages.len);
    CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_EPARSE);
    CHECK(strstr(err, "UTF-8") != NULL);
    os_free(p);
    ob_free(&pages);
  }
  /* DELTA_BINARY_PACKED INT64 (required, v1): 1, 2, 3, ..., 10 plus -5. */
  {
    unsigned char body[64];
    size_t n = 0;
    int k;
    body[n++] = 128, body[n++] = 1; /* block size 128 */
    body[n++] = 4;                  /* 4 miniblocks */
    body[n++] = 11;                 /* 11 values */
    body[n++] = 2;                  /* first value 1 (zigzag 2) */
    body[n++] = 29;                 /* min delta -15 (zigzag 29) */
    body[n++] = 5, body[n++] = 0, body[n++] = 0, body[n++] = 0; /* widths */
    /* deltas +1 x9 then -15: stored as delta - min = 16 x9, then 0 */
    memset(body + n, 0, 20);
    for (k = 0; k < 9; k++) {
      int bit;
      for (bit = 0; bit < 5; bit++)
        if ((16 >> bit) & 1) body[n + (size_t)(k * 5 + bit) / 8] |= (unsigned char)(1u << ((k * 5 + bit) % 8));
    }
    n += 20; /* 32 values * 5 bits */
    put_page(&pages, PQ_PAGE_DATA, 5, 11, PQ_ENC_DELTA_BP, 0, 0, body, n);
    p = build_file("hand_delta.parquet", PQ_INT64, 0, -1, 0, 11, (const unsigned char *)pages.p, pages.len);
    CHECK_RC(osiris_parquet_read(p, &g, err, sizeof err), OSIRIS_OK);
    if (!g) fprintf(stderr, "  %s\n", err);
    if (g) {
      CHECK(osiris_frame_get_int64(g, 0, 0) == 1 && osiris_frame_get_int64(g, 0, 9) == 10);
      CHECK(osiris_frame_get_int64(g, 0, 10) == -5);
    }
    osiris_frame_free(g);
    g = NULL;
    os_free(p);
    ob_free(&pages);
  }
}

/* ------------------------------------------ cross-check export / verify */

static osiris_json *cell_json(const osiris_frame *f, size_t c, size_t r) {
  char buf[64];
  if (osiris_frame_is_null(f, c, r)) return osiris_json_new(OSIRIS_JSON_NULL);
  switch (osiris_frame_col_type(f, c)) {
  case OSIRIS_TYPE_BOOL: return osiris_json_new_bool(osiris_frame_get_bool(f, c, r));
  case OSIRIS_TYPE_INT64:
    snprintf(buf, sizeof buf, "%" PRId64, osiris_frame_get_int64(f, c, r));
    return osiris_json_new_str(buf, strlen(buf));
  case OSIRIS_TYPE_TIMESTAMP:
    snprintf(buf, sizeof buf, "%" PRId64, osiris_frame_get_timestamp(f, c, r));
    return osiris_json_new_str(buf, strlen(buf));
  case OSIRIS_TYPE_DATE: return osiris_json_new_int(osiris_frame_get_date(f, c, r));
  case OSIRIS_TYPE_DOUBLE: {
    double d = osiris_frame_get_double(f, c, r);
    if (isnan(d)) snprintf(buf, sizeof buf, "NaN");
    else if (isinf(d)) snprintf(buf, sizeof buf, "%sInfinity", d < 0 ? "-" : "");
    else snprintf(buf, sizeof buf, "%.17g", d);
    return osiris_json_new_str(buf, strlen(buf));
  }
  default: {
    size_t len;
    const char *s = osiris_frame_get_text(f, c, r, &len);
    return osiris_json_new_str(s, len);
  }
  }
}

static int export_one(const char *dir, const char *name, const osiris_frame *f, size_t rg_rows) {
  char *pq = os_asprintf("%s/%s.parquet", dir, name), *js = os_asprintf("%s/%s.json", dir, name);
  osiris_json *doc = osiris_json_new(OSIRIS_JSON_OBJECT), *cols = osiris_json_new(OSIRIS_JSON_ARRAY),
              *rows = osiris_json_new(OSIRIS_JSON_ARRAY);
  osiris_parquet_opts o = {rg_rows};
  char err[512], *text;
  size_t c, r, len;
  int ok;
  for (c = 0; c < osiris_frame_cols(f); c++) {
    osiris_json *cj = osiris_json_new(OSIRIS_JSON_OBJECT);
    js_set_str(cj, "name", osiris_frame_col_name(f, c));
    js_set_str(cj, "type", osiris_type_name(osiris_frame_col_type(f, c)));
    js_set_int(cj, "scale", osiris_frame_col_scale(f, c));
    osiris_json_push(cols, cj);
  }
  for (r = 0; r < osiris_frame_rows(f); r++) {
    osiris_json *row = osiris_json_new(OSIRIS_JSON_ARRAY);
    for (c = 0; c < osiris_frame_cols(f); c++) osiris_json_push(row, cell_json(f, c, r));
    osiris_json_push(rows, row);
  }
  js_set_str(doc, "file", pq);
  js_set_int(doc, "row_group_rows", (int64_t)rg_rows);
  osiris_json_set(doc, "columns", cols);
  osiris_json_set(doc, "rows", rows);
  text = osiris_json_dump(doc, 0, &len);
  ok = text && osiris_parquet_write(pq, f, &o, err, sizeof err) == OSIRIS_OK &&
       os_write_file(js, text, len, NULL) == OSIRIS_OK;
  if (!ok) fprintf(stderr, "export %s failed: %s\n", name, err);
  osiris_free(text);
  osiris_json_free(doc);
  os_free(pq);
  os_free(js);
  return ok;
}

static int do_export(const char *dir) {
  osiris_frame *f;
  int ok = 1;
  os_mkdir_p(dir, NULL);
  f = make_all(3000, 0);
  ok &= export_one(dir, "ours_all", f, 1000);
  osiris_frame_free(f);
  f = make_all(50, 1);
  ok &= export_one(dir, "ours_specials", f, 0);
  osiris_frame_free(f);
  f = make_all(0, 0);
  ok &= export_one(dir, "ours_empty", f, 0);
  osiris_frame_free(f);
  {
    static const char *vals[] = {"héllo", "日本語テキスト", "emoji 😀🎉", "", "Ωmega", "\xF4\x8F\xBF\xBF", "a\tb\nc\"q\\"};
    size_t r;
    f = osiris_frame_new();
    osiris_frame_add_column(f, "ünï", OSIRIS_TYPE_STRING, 0);
    osiris_frame_add_column(f, "all_null", OSIRIS_TYPE_INT64, 0);
    for (r = 0; r < 70; r++) {
      const char *s = vals[r % 7];
      if (r % 8 == 7) osiris_frame_append_null(f, 0);
      else osiris_frame_append_text(f, 0, s, strlen(s));
      osiris_frame_append_null(f, 1);
      osiris_frame_end_row(f);
    }
    ok &= export_one(dir, "ours_unicode", f, 0);
    osiris_frame_free(f);
  }
  {
    size_t r;
    f = osiris_frame_new();
    osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
    osiris_frame_add_column(f, "n", OSIRIS_TYPE_INT64, 0);
    for (r = 0; r < 120000; r++) {
      char buf[64];
      int n = snprintf(buf, sizeof buf, "value number %zu padded to thirty", r);
      if (r % 10 == 3) osiris_frame_append_null(f, 0);
      else osiris_frame_append_text(f, 0, buf, (size_t)n);
      osiris_frame_append_int64(f, 1, (int64_t)r * 3 - 100000);
      osiris_frame_end_row(f);
    }
    ok &= export_one(dir, "ours_pages", f, 50000);
    osiris_frame_free(f);
  }
  return ok ? 0 : 1;
}

/* Compare a frame cell with the JSON canonical value. */
static int cell_matches(const osiris_frame *f, size_t c, size_t r, const osiris_json *v) {
  const char *s = osiris_json_str(v);
  char buf[64];
  if (osiris_json_kind_of(v) == OSIRIS_JSON_NULL) return osiris_frame_is_null(f, c, r);
  if (osiris_frame_is_null(f, c, r)) return 0;
  switch (osiris_frame_col_type(f, c)) {
  case OSIRIS_TYPE_BOOL:
    return osiris_json_kind_of(v) == OSIRIS_JSON_BOOL && osiris_json_bool(v, -1) == osiris_frame_get_bool(f, c, r);
  case OSIRIS_TYPE_INT64:
    snprintf(buf, sizeof buf, "%" PRId64, osiris_frame_get_int64(f, c, r));
    return s && strcmp(s, buf) == 0;
  case OSIRIS_TYPE_TIMESTAMP:
    snprintf(buf, sizeof buf, "%" PRId64, osiris_frame_get_timestamp(f, c, r));
    return s && strcmp(s, buf) == 0;
  case OSIRIS_TYPE_DATE: return osiris_json_int(v, INT64_MIN) == osiris_frame_get_date(f, c, r);
  case OSIRIS_TYPE_DOUBLE: {
    double want, got = osiris_frame_get_double(f, c, r);
    if (!s) return 0;
    want = strtod(s, NULL);
    return (isnan(want) && isnan(got)) || want == got;
  }
  default: {
    size_t len;
    const char *t = osiris_frame_get_text(f, c, r, &len);
    return s && osiris_json_strlen(v) == len && memcmp(s, t, len) == 0;
  }
  }
}

static void verify_one(const char *jpath) {
  osiris_json *doc = NULL;
  os_err e = {0};
  osiris_frame *f = NULL;
  char err[512];
  const char *file, *expect_err;
  char *fpath = NULL;
  const osiris_json *cols, *rows;
  size_t c, r, bad = 0;
  osiris_rc rc;
  if (js_read_file(jpath, &doc, &e)) {
    fprintf(stderr, "FAIL %s: %s\n", jpath, e.msg);
    th_failed++;
    return;
  }
  file = js_gets(doc, "file");
  expect_err = js_gets(doc, "expect_error");
  if (!file) {
    fprintf(stderr, "FAIL %s: no \"file\"\n", jpath);
    th_failed++;
    goto done;
  }
  if (file[0] != '/') { /* relative to the JSON (committed fixtures) */
    char *jdir = os_path_dirname(jpath);
    fpath = os_path_join(jdir, file);
    os_free(jdir);
    file = fpath;
  }
  rc = osiris_parquet_read(file, &f, err, sizeof err);
  if (expect_err) {
    int ok = rc != OSIRIS_OK && strstr(err, expect_err) != NULL;
    if (!ok) fprintf(stderr, "FAIL %s: expected error containing \"%s\", got %s: %s\n", file, expect_err, osiris_rc_name(rc), err);
    CHECK(ok);
    goto done;
  }
  if (rc) {
    fprintf(stderr, "FAIL %s: %s\n", file, err);
    th_failed++;
    goto done;
  }
  cols = osiris_json_get(doc, "columns");
  rows = osiris_json_get(doc, "rows");
  CHECK(osiris_frame_cols(f) == osiris_json_size(cols));
  CHECK(osiris_frame_rows(f) == osiris_json_size(rows));
  if (osiris_frame_cols(f) != osiris_json_size(cols) || osiris_frame_rows(f) != osiris_json_size(rows)) {
    fprintf(stderr, "FAIL %s: shape %zux%zu\n", file, osiris_frame_rows(f), osiris_frame_cols(f));
    goto done;
  }
  for (c = 0; c < osiris_frame_cols(f); c++) {
    const osiris_json *cj = osiris_json_at(cols, c);
    int ok = os_streq(osiris_frame_col_name(f, c), js_gets(cj, "name")) &&
             os_streq(osiris_type_name(osiris_frame_col_type(f, c)), js_gets(cj, "type")) &&
             osiris_frame_col_scale(f, c) == osiris_json_int(osiris_json_get(cj, "scale"), 0);
    if (!ok)
      fprintf(stderr, "FAIL %s: column %zu is %s %s(%d), want %s %s(%d)\n", file, c, osiris_frame_col_name(f, c),
              osiris_type_name(osiris_frame_col_type(f, c)), osiris_frame_col_scale(f, c), js_gets(cj, "name"),
              js_gets(cj, "type"), (int)osiris_json_int(osiris_json_get(cj, "scale"), 0));
    CHECK(ok);
    for (r = 0; r < osiris_frame_rows(f); r++) {
      const osiris_json *v = osiris_json_at(osiris_json_at(rows, r), c);
      if (!cell_matches(f, c, r, v)) {
        if (bad++ < 10) {
          char buf[64], *want = osiris_json_dump(v, 0, NULL);
          size_t len;
          int isnull;
          const char *got = osiris_frame_format(f, c, r, buf, sizeof buf, &len, &isnull);
          fprintf(stderr, "FAIL %s: %s row %zu: got %.*s%s want %s\n", file, osiris_frame_col_name(f, c), r,
                  (int)len, got, isnull ? "NULL" : "", want);
          osiris_free(want);
        }
      }
    }
    CHECK(bad == 0);
    bad = 0;
  }
  printf("  verified %s: %zu rows x %zu columns\n", os_path_basename(file), osiris_frame_rows(f), osiris_frame_cols(f));
done:
  os_free(fpath);
  osiris_frame_free(f);
  osiris_json_free(doc);
}

static void verify_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, i;
  if (!d) {
    fprintf(stderr, "FAIL cannot open %s\n", dir);
    th_failed++;
    return;
  }
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
      names = os_realloc(names, (n + 1) * sizeof *names);
      names[n++] = os_asprintf("%s/%s", dir, de->d_name);
    }
  }
  closedir(d);
  for (i = 0; i < n; i++) {
    verify_one(names[i]);
    os_free(names[i]);
  }
  os_free(names);
  if (n == 0) {
    fprintf(stderr, "FAIL no expectations in %s\n", dir);
    th_failed++;
  }
}

static int do_verify_dir(const char *dir) {
  verify_dir(dir);
  return th_report();
}

/* Files written by DuckDB and @dsnp/parquetjs, committed under
 * tests/parquet/fixtures (regenerate: tests/parquet/make_fixtures.sh). */
static void test_fixtures(void) {
  const char *dir = "tests/parquet/fixtures";
  if (!os_is_dir(dir)) dir = "../tests/parquet/fixtures";
  if (!os_is_dir(dir)) {
    printf("  fixtures: tests/parquet/fixtures not found (run from the repo root); skipped\n");
    return;
  }
  verify_dir(dir);
}

/* Byte flips and truncations of other tools' files (dictionary, delta,
 * byte-stream-split, v2 pages): an error or a frame, never a crash. */
static int do_fuzz(int n, char **files, int nfiles) {
  uint64_t x = 88172645463325252ull;
  int f, i;
  g_fuzz_ok = g_fuzz_err = 0;
  for (f = 0; f < nfiles; f++) {
    os_err e = {0};
    unsigned char *data = NULL, *buf;
    size_t len = 0;
    if (pq_slurp(files[f], &data, &len, &e) || len < 12) {
      fprintf(stderr, "FAIL %s: %s\n", files[f], e.msg);
      th_failed++;
      os_free(data);
      continue;
    }
    buf = os_malloc(len);
    for (i = 0; i < n; i++) {
      int h, hits = 1 + i % 3;
      size_t use = len;
      memcpy(buf, data, len);
      for (h = 0; h < hits; h++) {
        size_t at;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        at = i % 3 == 0 ? len - 9 - (size_t)(x % pq_rd32(data + len - 8)) : (size_t)(x % len);
        buf[at] ^= (unsigned char)(1u << (x >> 60 & 7));
      }
      if (i % 50 == 0) use = len - (size_t)(x % len);
      fuzz_one(files[f], buf, use);
    }
    os_free(buf);
    os_free(data);
  }
  printf("  fuzz: %d reads ok, %d rejected\n", g_fuzz_ok, g_fuzz_err);
  th_passed += g_fuzz_ok + g_fuzz_err;
  return th_report();
}

static int parse_count(const char *s) { return (int)strtol(s, NULL, 10); }

static void cleanup_tmp(void) {
  char cmd[300];
  if (!g_tmp[0]) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
}

int main(int argc, char **argv) {
  int rc;
  if (argc == 3 && strcmp(argv[1], "--export") == 0) return do_export(argv[2]);
  if (argc == 3 && strcmp(argv[1], "--verify-dir") == 0) return do_verify_dir(argv[2]);
  if (argc >= 4 && strcmp(argv[1], "--fuzz") == 0) return do_fuzz(parse_count(argv[2]), argv + 3, argc - 3);
  RUN(test_decimal_helpers);
  RUN(test_roundtrip_types);
  RUN(test_schema_and_groups);
  RUN(test_empty);
  RUN(test_multipage);
  RUN(test_unicode_and_nulls);
  RUN(test_old_timestamps);
  RUN(test_decimal_columns);
  RUN(test_errors);
  RUN(test_handmade);
  RUN(test_fixtures);
  RUN(test_corruption);
  cleanup_tmp();
  rc = th_report();
  return rc;
}
