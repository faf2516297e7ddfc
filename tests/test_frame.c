/* Section 7 (frames): building, reading, NULLs, validation, dates. */
#include "../osiris.c" /* the whole engine: reaches the static fr_/cs_ functions */

#include "harness.h"

static const char *fmt(const osiris_frame *f, size_t col, size_t row, char *buf, size_t cap) {
  size_t len;
  int is_null;
  const char *s = osiris_frame_format(f, col, row, buf, cap, &len, &is_null);
  if (s != buf) { /* borrowed text: copy so the caller gets a C string */
    if (len >= cap) len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
  }
  return buf;
}

static void test_type_names(void) {
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_BOOL), "bool");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_INT64), "int64");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_DOUBLE), "double");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_DECIMAL), "decimal");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_STRING), "string");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_DATE), "date");
  CHECK_STR(osiris_type_name(OSIRIS_TYPE_TIMESTAMP), "timestamp");
  CHECK_STR(osiris_type_name((osiris_type)99), "unknown");
}

static void test_all_types(void) {
  osiris_frame *f = osiris_frame_new();
  char buf[64];
  size_t len;
  const char *s;
  int is_null;
  CHECK(f != NULL);
  CHECK_RC(osiris_frame_add_column(f, "b", OSIRIS_TYPE_BOOL, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "i", OSIRIS_TYPE_INT64, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "d", OSIRIS_TYPE_DOUBLE, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "m", OSIRIS_TYPE_DECIMAL, 2), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "dt", OSIRIS_TYPE_DATE, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "ts", OSIRIS_TYPE_TIMESTAMP, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "bad", OSIRIS_TYPE_DECIMAL, 39), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_add_column(f, "bad", (osiris_type)0, 0), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_add_column(f, "\xff", OSIRIS_TYPE_STRING, 0), OSIRIS_EINVAL);
  CHECK(osiris_frame_cols(f) == 7);

  /* row 0: values */
  CHECK_RC(osiris_frame_append_bool(f, 0, 1), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_int64(f, 1, INT64_MIN), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_double(f, 2, 7.0), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_text(f, 3, "+12.50", 6), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_text(f, 4, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_date(f, 5, -1), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_timestamp(f, 6, INT64_C(1706702400000000) + 5), OSIRIS_OK);
  CHECK(osiris_frame_rows(f) == 0); /* readers see completed rows only */
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  /* row 1: NULLs everywhere */
  {
    size_t c;
    for (c = 0; c < 7; c++) CHECK_RC(osiris_frame_append_null(f, c), OSIRIS_OK);
  }
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  /* row 2: values again after NULLs (bitmap already present) */
  CHECK_RC(osiris_frame_append_bool(f, 0, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_int64(f, 1, INT64_MAX), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_double(f, 2, 0.1), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_text(f, 3, "-0.05", 5), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_text(f, 4, "", 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_date(f, 5, 19753), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_timestamp(f, 6, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  CHECK(osiris_frame_rows(f) == 3);

  CHECK_STR(osiris_frame_col_name(f, 3), "m");
  CHECK(osiris_frame_col_name(f, 7) == NULL);
  CHECK(osiris_frame_col_type(f, 6) == OSIRIS_TYPE_TIMESTAMP);
  CHECK(osiris_frame_col_scale(f, 3) == 2);
  CHECK(osiris_frame_col_scale(f, 2) == 0);

  CHECK(osiris_frame_get_bool(f, 0, 0) == 1);
  CHECK(osiris_frame_get_int64(f, 1, 0) == INT64_MIN);
  CHECK(osiris_frame_get_double(f, 2, 0) == 7.0);
  s = osiris_frame_get_text(f, 3, 0, &len);
  CHECK(len == 5 && memcmp(s, "12.50", 5) == 0);
  s = osiris_frame_get_text(f, 4, 0, &len);
  CHECK(len == 10 && memcmp(s, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10) == 0);
  CHECK(osiris_frame_get_date(f, 5, 0) == -1);
  CHECK(osiris_frame_get_timestamp(f, 6, 0) == INT64_C(1706702400000005));
  {
    size_t c;
    for (c = 0; c < 7; c++) {
      CHECK(!osiris_frame_is_null(f, c, 0));
      CHECK(osiris_frame_is_null(f, c, 1));
      CHECK(!osiris_frame_is_null(f, c, 2));
    }
  }
  CHECK(osiris_frame_is_null(f, 0, 3)); /* out of range reads as NULL */
  CHECK(osiris_frame_get_bool(f, 0, 2) == 0);
  CHECK(osiris_frame_get_int64(f, 1, 2) == INT64_MAX);
  CHECK(osiris_frame_get_double(f, 2, 2) == 0.1);
  s = osiris_frame_get_text(f, 3, 2, &len);
  CHECK(len == 5 && memcmp(s, "-0.05", 5) == 0);
  s = osiris_frame_get_text(f, 4, 2, &len);
  CHECK(s != NULL && len == 0);
  CHECK(osiris_frame_get_date(f, 5, 2) == 19753);
  /* wrong-type readers answer zero */
  CHECK(osiris_frame_get_int64(f, 2, 0) == 0);
  CHECK(osiris_frame_get_text(f, 1, 0, &len) == NULL && len == 0);

  CHECK_STR(fmt(f, 0, 0, buf, sizeof buf), "true");
  CHECK_STR(fmt(f, 0, 2, buf, sizeof buf), "false");
  CHECK_STR(fmt(f, 1, 0, buf, sizeof buf), "-9223372036854775808");
  CHECK_STR(fmt(f, 1, 2, buf, sizeof buf), "9223372036854775807");
  CHECK_STR(fmt(f, 2, 0, buf, sizeof buf), "7.0");
  CHECK_STR(fmt(f, 2, 2, buf, sizeof buf), "0.1");
  CHECK_STR(fmt(f, 3, 0, buf, sizeof buf), "12.50");
  CHECK_STR(fmt(f, 5, 0, buf, sizeof buf), "1969-12-31");
  CHECK_STR(fmt(f, 5, 2, buf, sizeof buf), "2024-01-31");
  CHECK_STR(fmt(f, 6, 0, buf, sizeof buf), "2024-01-31T12:00:00.000005");
  CHECK_STR(fmt(f, 6, 2, buf, sizeof buf), "1970-01-01T00:00:00");
  s = osiris_frame_format(f, 4, 0, buf, sizeof buf, &len, &is_null);
  CHECK(s != buf && len == 10 && !is_null); /* text is borrowed, not copied */
  s = osiris_frame_format(f, 1, 1, buf, sizeof buf, &len, &is_null);
  CHECK(is_null == 1 && len == 0 && s && s[0] == 0);
  s = osiris_frame_format(f, 4, 2, buf, sizeof buf, &len, &is_null);
  CHECK(is_null == 0 && len == 0); /* empty string is not NULL in a frame */
  /* small buffer: truncated, still NUL-terminated */
  s = osiris_frame_format(f, 6, 0, buf, 5, &len, &is_null);
  CHECK(len == 4 && strcmp(s, "2024") == 0);
  CHECK(osiris_frame_bytes(f) > 7 * 64);
  osiris_frame_free(f);
  osiris_frame_free(NULL);
}

static void test_build_errors(void) {
  osiris_frame *f = osiris_frame_new();
  CHECK_RC(osiris_frame_add_column(f, "a", OSIRIS_TYPE_INT64, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "b", OSIRIS_TYPE_STRING, 0), OSIRIS_OK);
  /* missing a value */
  CHECK_RC(osiris_frame_append_int64(f, 0, 1), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_EINVAL);
  CHECK(osiris_frame_rows(f) == 0);
  /* the partial row was discarded: a fresh row works */
  CHECK_RC(osiris_frame_append_int64(f, 0, 2), OSIRIS_OK);
  /* two values for one column */
  CHECK_RC(osiris_frame_append_int64(f, 0, 3), OSIRIS_EINVAL);
  /* type mismatch, bad index */
  CHECK_RC(osiris_frame_append_int64(f, 1, 3), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_bool(f, 1, 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_double(f, 1, 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_date(f, 1, 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_timestamp(f, 1, 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 0, "x", 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_null(f, 2), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 1, NULL, 1), OSIRIS_EINVAL);
  /* bad UTF-8: overlong, surrogate, truncated, stray continuation */
  CHECK_RC(osiris_frame_append_text(f, 1, "\xc0\xaf", 2), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 1, "\xed\xa0\x80", 3), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 1, "ab\xe2\x82", 4), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 1, "\x80", 1), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_text(f, 1, "ok", 2), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  /* no new columns once rows exist */
  CHECK_RC(osiris_frame_add_column(f, "c", OSIRIS_TYPE_INT64, 0), OSIRIS_EINVAL);
  /* a text partial row is rolled back including its bytes */
  CHECK_RC(osiris_frame_append_text(f, 1, "garbage", 7), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_append_int64(f, 0, 4), OSIRIS_OK);
  CHECK_RC(osiris_frame_append_text(f, 1, "z", 1), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  {
    size_t len;
    const char *s = osiris_frame_get_text(f, 1, 1, &len);
    CHECK(osiris_frame_rows(f) == 2 && len == 1 && s[0] == 'z');
    CHECK(osiris_frame_get_int64(f, 0, 0) == 2 && osiris_frame_get_int64(f, 0, 1) == 4);
  }
  CHECK_RC(osiris_frame_end_row(NULL), OSIRIS_EINVAL);
  CHECK_RC(osiris_frame_add_column(NULL, "x", OSIRIS_TYPE_INT64, 0), OSIRIS_EINVAL);
  osiris_frame_free(f);
}

static void test_decimal(void) {
  static const char *good[] = {"0", "-0", "12", "+12", "1.5", "-1.50", "000.010",
                               "123456789012345678901234567890.123456789", NULL};
  static const char *bad[] = {"", "-", "+", ".5", "1.", "1e5", "1.2.3", " 1", "1 ",
                              "0x10", "nan", "1,5", "--1", NULL};
  osiris_frame *f = osiris_frame_new();
  size_t i, len;
  const char *s;
  CHECK_RC(osiris_frame_add_column(f, "m", OSIRIS_TYPE_DECIMAL, 10), OSIRIS_OK);
  for (i = 0; bad[i]; i++) CHECK_RC(osiris_frame_append_text(f, 0, bad[i], strlen(bad[i])), OSIRIS_EINVAL);
  for (i = 0; good[i]; i++) {
    CHECK_RC(osiris_frame_append_text(f, 0, good[i], strlen(good[i])), OSIRIS_OK);
    CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  }
  s = osiris_frame_get_text(f, 0, 3, &len);
  CHECK(len == 2 && memcmp(s, "12", 2) == 0); /* '+' dropped */
  s = osiris_frame_get_text(f, 0, 6, &len);
  CHECK(len == 7 && memcmp(s, "000.010", 7) == 0); /* digits kept as given */
  osiris_frame_free(f);
}

static void test_civil(void) {
  int64_t d, y;
  int m, dd, ok = 1;
  CHECK(fr_days_from_civil(1970, 1, 1) == 0);
  CHECK(fr_days_from_civil(1969, 12, 31) == -1);
  CHECK(fr_days_from_civil(2000, 3, 1) == 11017);
  CHECK(fr_days_from_civil(2024, 1, 31) == 19753);
  CHECK(fr_days_from_civil(1, 1, 1) == -719162);
  CHECK(fr_days_from_civil(0, 3, 1) == -719468);
  fr_civil_from_days(-719163, &y, &m, &dd);
  CHECK(y == 0 && m == 12 && dd == 31);
  /* round trip across 4400 years either side of the epoch */
  for (d = -1600000; d <= 1600000 && ok; d += 7) {
    fr_civil_from_days(d, &y, &m, &dd);
    ok = fr_days_from_civil(y, m, dd) == d && m >= 1 && m <= 12 && dd >= 1 &&
         dd <= fr_days_in_month(y, m);
  }
  CHECK(ok);
  /* consecutive days step by exactly one calendar day */
  {
    int64_t py, ny;
    int pm, pd, nm, nd;
    ok = 1;
    fr_civil_from_days(-800000, &py, &pm, &pd);
    for (d = -799999; d <= 800000 && ok; d++) {
      fr_civil_from_days(d, &ny, &nm, &nd);
      if (nd == pd + 1) ok = ny == py && nm == pm;
      else ok = nd == 1 && pd == fr_days_in_month(py, pm) &&
                (nm == pm + 1 ? ny == py : (nm == 1 && pm == 12 && ny == py + 1));
      py = ny, pm = nm, pd = nd;
    }
    CHECK(ok);
  }
}

static void test_dates(void) {
  int32_t days = 0;
  char out[64];
  CHECK(fr_parse_date("1970-01-01", 10, &days) && days == 0);
  CHECK(fr_parse_date("1969-12-31", 10, &days) && days == -1);
  CHECK(fr_parse_date("2024-02-29", 10, &days) && days == 19782);
  CHECK(fr_parse_date("2000-02-29", 10, &days));
  CHECK(fr_parse_date("0001-01-01", 10, &days) && days == -719162);
  CHECK(fr_parse_date("9999-12-31", 10, &days) && days == 2932896);
  CHECK(!fr_parse_date("2023-02-29", 10, &days));
  CHECK(!fr_parse_date("1900-02-29", 10, &days));
  CHECK(!fr_parse_date("2024-13-01", 10, &days));
  CHECK(!fr_parse_date("2024-00-10", 10, &days));
  CHECK(!fr_parse_date("2024-04-31", 10, &days));
  CHECK(!fr_parse_date("2024-04-00", 10, &days));
  CHECK(!fr_parse_date("2024-1-01", 9, &days));
  CHECK(!fr_parse_date("2024/01/01", 10, &days));
  CHECK(!fr_parse_date("2024-01-011", 11, &days));
  CHECK(!fr_parse_date("+024-01-01", 10, &days));
  fr_fmt_date(out, -1);
  CHECK_STR(out, "1969-12-31");
  fr_fmt_date(out, 19782);
  CHECK_STR(out, "2024-02-29");
  fr_fmt_date(out, -719162);
  CHECK_STR(out, "0001-01-01");
  fr_fmt_date(out, -719163 - 366); /* year 0 is a leap year */
  CHECK_STR(out, "-0001-12-31");
  fr_fmt_date(out, 2932897);
  CHECK_STR(out, "+10000-01-01");
  /* format -> parse round trip for every day of years 0000..9999 (sampled) */
  {
    int64_t d;
    int ok = 1;
    for (d = -719528; d <= 2932896 && ok; d += 3) {
      size_t n = fr_fmt_date(out, d);
      ok = n == 10 && fr_parse_date(out, n, &days) && days == d;
    }
    CHECK(ok);
  }
}

static void test_timestamps(void) {
  int64_t us = 0;
  char out[64];
  CHECK(fr_parse_timestamp("1970-01-01 00:00:00", 19, &us) && us == 0);
  CHECK(fr_parse_timestamp("1970-01-01T00:00:01", 19, &us) && us == 1000000);
  CHECK(fr_parse_timestamp("1970-01-01T00:00:01Z", 20, &us) && us == 1000000);
  CHECK(fr_parse_timestamp("1970-01-01T00:00:01+00:00", 25, &us) && us == 1000000);
  CHECK(fr_parse_timestamp("1970-01-01 00:00:00.5", 21, &us) && us == 500000);
  CHECK(fr_parse_timestamp("1970-01-01 00:00:00.000001", 26, &us) && us == 1);
  CHECK(fr_parse_timestamp("1969-12-31 23:59:59.999999", 26, &us) && us == -1);
  CHECK(fr_parse_timestamp("2024-02-29T23:59:59.123456Z", 27, &us) &&
        us == 19782 * INT64_C(86400000000) + INT64_C(86399123456));
  CHECK(!fr_parse_timestamp("1970-01-01 00:00:00.1234567", 27, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 00:00:00.", 20, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 24:00:00", 19, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 12:60:00", 19, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 12:00:60", 19, &us));
  CHECK(!fr_parse_timestamp("2023-02-29 12:00:00", 19, &us));
  CHECK(!fr_parse_timestamp("1970-01-01", 10, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 12:00", 16, &us));
  CHECK(!fr_parse_timestamp("1970-01-01x12:00:00", 19, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 12:00:00+01:00", 25, &us));
  CHECK(!fr_parse_timestamp("1970-01-01 12:00:00Zjunk", 24, &us));
  fr_fmt_timestamp(out, 0);
  CHECK_STR(out, "1970-01-01T00:00:00");
  fr_fmt_timestamp(out, -1);
  CHECK_STR(out, "1969-12-31T23:59:59.999999");
  fr_fmt_timestamp(out, 1500000);
  CHECK_STR(out, "1970-01-01T00:00:01.500000");
  fr_fmt_timestamp(out, INT64_C(951782400000000)); /* 2000-02-29 */
  CHECK_STR(out, "2000-02-29T00:00:00");
  fr_fmt_timestamp(out, INT64_MIN); /* must not overflow */
  CHECK(strlen(out) > 19);
  fr_fmt_timestamp(out, INT64_MAX);
  CHECK(strlen(out) > 19);
  {
    uint64_t x = 88172645463325252ull;
    int i, ok = 1;
    for (i = 0; i < 200000 && ok; i++) {
      int64_t v, back = 0;
      size_t n;
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* years 0000..9999 */
      v = (int64_t)(x % (uint64_t)INT64_C(315569519999999999)) - INT64_C(62167219200000000);
      if (i % 3 == 0) v -= v % 1000000; /* whole seconds */
      n = fr_fmt_timestamp(out, v);
      ok = fr_parse_timestamp(out, n, &back) && back == v;
      if (ok && v % 1000000 == 0) ok = n == 19;
    }
    CHECK(ok);
  }
}

static void test_many_rows(void) {
  osiris_frame *f = osiris_frame_new();
  size_t i, n = 200000, len;
  int ok = 1;
  char txt[32];
  CHECK_RC(osiris_frame_add_column(f, "i", OSIRIS_TYPE_INT64, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "b", OSIRIS_TYPE_BOOL, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "d", OSIRIS_TYPE_DATE, 0), OSIRIS_OK);
  for (i = 0; i < n && ok; i++) {
    int k = snprintf(txt, sizeof txt, "row-%zu", i);
    ok = osiris_frame_append_int64(f, 0, (int64_t)i * 3) == OSIRIS_OK;
    ok = ok && (i % 7 == 0 ? osiris_frame_append_null(f, 1)
                           : osiris_frame_append_text(f, 1, txt, (size_t)k)) == OSIRIS_OK;
    ok = ok && (i % 11 == 5 ? osiris_frame_append_null(f, 2)
                            : osiris_frame_append_bool(f, 2, (int)(i & 1))) == OSIRIS_OK;
    ok = ok && osiris_frame_append_date(f, 3, (int32_t)i - 100000) == OSIRIS_OK;
    ok = ok && osiris_frame_end_row(f) == OSIRIS_OK;
  }
  CHECK(ok);
  CHECK(osiris_frame_rows(f) == n);
  for (i = 0; i < n && ok; i++) {
    const char *s = osiris_frame_get_text(f, 1, i, &len);
    int k = snprintf(txt, sizeof txt, "row-%zu", i);
    ok = osiris_frame_get_int64(f, 0, i) == (int64_t)i * 3;
    ok = ok && (i % 7 == 0 ? osiris_frame_is_null(f, 1, i) && len == 0
                           : !osiris_frame_is_null(f, 1, i) && len == (size_t)k &&
                                 memcmp(s, txt, len) == 0);
    ok = ok && (i % 11 == 5 ? osiris_frame_is_null(f, 2, i)
                            : osiris_frame_get_bool(f, 2, i) == (int)(i & 1));
    ok = ok && !osiris_frame_is_null(f, 0, i) && !osiris_frame_is_null(f, 3, i);
    ok = ok && osiris_frame_get_date(f, 3, i) == (int32_t)i - 100000;
  }
  CHECK(ok);
  CHECK(osiris_frame_bytes(f) >= n * (8 + 8 + 1 + 4));
  CHECK(fr_col_name_index(f, "b") == 2);
  CHECK(fr_col_name_index(f, "nope") == (size_t)-1);
  CHECK(fr_col_name_index(NULL, "b") == (size_t)-1);
  osiris_frame_free(f);
}

static void test_double_format(void) {
  osiris_frame *f = osiris_frame_new();
  static const double vals[] = {0.0, -0.0, 1.5, 1e22, 1e-7, 123456789.125, 1.0 / 3.0};
  size_t i;
  char buf[64];
  CHECK_RC(osiris_frame_add_column(f, "d", OSIRIS_TYPE_DOUBLE, 0), OSIRIS_OK);
  for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    osiris_frame_append_double(f, 0, vals[i]);
    osiris_frame_end_row(f);
  }
  osiris_frame_append_double(f, 0, NAN);
  osiris_frame_end_row(f);
  osiris_frame_append_double(f, 0, -INFINITY);
  osiris_frame_end_row(f);
  for (i = 0; i < sizeof vals / sizeof vals[0]; i++)
    CHECK(strtod(fmt(f, 0, i, buf, sizeof buf), NULL) == vals[i]);
  CHECK_STR(fmt(f, 0, 2, buf, sizeof buf), "1.5");
  CHECK_STR(fmt(f, 0, 7, buf, sizeof buf), "nan");
  CHECK_STR(fmt(f, 0, 8, buf, sizeof buf), "-inf");
  osiris_frame_free(f);
}

static double p10i(int e) {
  double r = 1;
  for (; e > 0; e--) r *= 10;
  for (; e < 0; e++) r /= 10;
  return r;
}

/* The fast double formatter must agree with js_fmt_double byte for byte. */
static int same_as_json(double d) {
  char a[64], b[64];
  size_t na = fr_fmt_f64(a, sizeof a, d), nb = js_fmt_double(b, sizeof b, d);
  if (na == nb && strcmp(a, b) == 0) return 1;
  fprintf(stderr, "  %.17g: frame \"%s\" json \"%s\"\n", d, a, b);
  return 0;
}

static void test_double_fast_path(void) {
  static const double edge[] = {1e-5, 1e-4, 0.0001234, 0.001, 1e15, 1e16, 1e17, 9.999e15,
                                999999999999999.0, 9999999999999998.0, 123456789012345.6,
                                1e22, 1e23, 1e-7, 5e-324, 1.7976931348623157e308, 0.1, 0.3,
                                2.5, 100.0, 1e100, 1.5e-10, 4.35, 0.07, 1234.5678, 2e-8, 1e37};
  size_t i;
  int ok = 1;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (i = 0; i < sizeof edge / sizeof edge[0]; i++) ok &= same_as_json(edge[i]) & same_as_json(-edge[i]);
  for (i = 0; i < 20000 && ok; i++) {
    double d;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(&d, &x, 8); /* any bit pattern */
    if (isfinite(d)) ok &= same_as_json(d);
    /* short decimals at many scales */
    d = (double)(int64_t)(x % 2000001 - 1000000) / 1000.0;
    ok &= same_as_json(d);
    d = (double)(x % 100000) * p10i((int)((x >> 20) % 40) - 20);
    ok &= same_as_json(d);
    d = (double)(x >> 11) / 9007199254740992.0 * 1000.0; /* full precision */
    ok &= same_as_json(d);
  }
  CHECK(ok);
}

int main(void) {
  RUN(test_type_names);
  RUN(test_all_types);
  RUN(test_build_errors);
  RUN(test_decimal);
  RUN(test_civil);
  RUN(test_dates);
  RUN(test_timestamps);
  RUN(test_many_rows);
  RUN(test_double_format);
  RUN(test_double_fast_path);
  return th_report();
}
