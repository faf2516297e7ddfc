/* Unit tests of the database drivers' parsers and encoders (no server).
 *   cc -std=c11 -Wall ... $(mariadb_config --cflags) -I$(pg_config --includedir) -I. \
 *      -o tests/bin/test_db_unit tests/db/test_db_unit.c osiris.c -lsqlite3 -lm -lmariadb -lpq */
#include "../../drivers.c"
#include "../harness.h"

static void test_dates(void) {
  int32_t d = -1;
  int64_t t = -1;
  CHECK(drv_db_parse_date("1970-01-01", 10, &d) == 0 && d == 0);
  CHECK(drv_db_parse_date("2024-02-29", 10, &d) == 0 && d == 19782);
  CHECK(drv_db_parse_date("1969-12-31", 10, &d) == 0 && d == -1);
  CHECK(drv_db_parse_date("0001-01-01", 10, &d) == 0 && d == -719162);
  CHECK(drv_db_parse_date("2023-02-29", 10, &d) == -1);
  CHECK(drv_db_parse_date("1900-02-29", 10, &d) == -1);
  CHECK(drv_db_parse_date("2000-02-29", 10, &d) == 0);
  CHECK(drv_db_parse_date("0000-00-00", 10, &d) == 1);
  CHECK(drv_db_parse_date("2020-05-00", 10, &d) == 1);
  CHECK(drv_db_parse_date("infinity", 8, &d) == -1);
  CHECK(drv_db_parse_date("2020-13-01", 10, &d) == -1);
  CHECK(drv_db_parse_date("2020-01-01 BC", 13, &d) == -1);
  CHECK(drv_db_parse_ts("1970-01-01 00:00:01.5", 21, &t) == 0 && t == 1500000);
  CHECK(drv_db_parse_ts("1970-01-01T00:00:00.000001", 26, &t) == 0 && t == 1);
  CHECK(drv_db_parse_ts("1970-01-01 02:00:00+02", 22, &t) == 0 && t == 0);
  CHECK(drv_db_parse_ts("1970-01-01 00:00:00-05:30", 25, &t) == 0 && t == 19800000000LL);
  CHECK(drv_db_parse_ts("1970-01-01 00:00:00Z", 20, &t) == 0 && t == 0);
  CHECK(drv_db_parse_ts("1969-12-31 23:59:59.999999", 26, &t) == 0 && t == -1);
  CHECK(drv_db_parse_ts("1970-01-01 00:00:00.1234567", 27, &t) == 0 && t == 123456);
  CHECK(drv_db_parse_ts("0000-00-00 00:00:00", 19, &t) == 1);
  CHECK(drv_db_parse_ts("2024-01-01", 10, &t) == 0 && t == 19723LL * 86400000000LL);
  CHECK(drv_db_parse_ts("2024-01-01 12:00", 16, &t) == -1);
  CHECK(drv_db_parse_ts("2024-01-01 12:00:00 x", 21, &t) == -1);
}

static void test_numbers(void) {
  int64_t v = 0;
  double x = 0;
  CHECK(drv_db_parse_i64("-9223372036854775808", 20, &v) == 0 && v == INT64_MIN);
  CHECK(drv_db_parse_i64("9223372036854775807", 19, &v) == 0 && v == INT64_MAX);
  CHECK(drv_db_parse_i64("9223372036854775808", 19, &v) == -1);
  CHECK(drv_db_parse_i64("0042", 4, &v) == 0 && v == 42);
  CHECK(drv_db_parse_i64("", 0, &v) == -1);
  CHECK(drv_db_parse_i64("-", 1, &v) == -1);
  CHECK(drv_db_parse_i64("1.0", 3, &v) == -1);
  CHECK(drv_db_parse_double("0.1", 3, &x) == 0 && x == 0.1);
  CHECK(drv_db_parse_double("-2.5e-300", 9, &x) == 0 && x == -2.5e-300);
  CHECK(drv_db_parse_double("1.5x", 4, &x) == -1);
  CHECK(drv_db_parse_double("1.5", 2, &x) == 0 && x == 1.0); /* length bounds the text */
}

static void test_mask(void) {
  char out[128];
  const char *secrets[3] = {"s3cret", NULL, "postgresql://u:s3cret@h/db"};
  drv_db_mask(out, sizeof out, "bad postgresql://u:s3cret@h/db and s3cret\n", secrets, 3);
  CHECK_STR(out, "bad *** and ***"); /* the whole DSN, not just its password */
  drv_db_mask(out, sizeof out, "at postgresql://u:s3cret@h/other", secrets, 3);
  CHECK_STR(out, "at postgresql://u:***@h/other");
  drv_db_mask(out, 8, "0123456789", secrets, 3);
  CHECK_STR(out, "0123456");
  secrets[0] = "";
  drv_db_mask(out, sizeof out, "x", secrets, 1);
  CHECK_STR(out, "x");
}

/* supabase.extractor filter and order: PostgREST syntax as SQL, every
 * value a literal (quotes and backslashes escaped), identifiers quoted. */
static void test_rest_filter_order(void) {
  static const char *const cases[][3] = {
      {"status", "eq.completed", "\"status\" = E'completed'"},
      {"n", "gte.10", "\"n\" >= E'10'"},
      {"n", "not.lt.3", "NOT (\"n\" < E'3')"},
      {"name", "like.*o'k\\*", "\"name\" LIKE E'%o\\'k\\\\%'"},
      {"name", "ilike.a*", "\"name\" ILIKE E'a%'"},
      {"x", "is.null", "\"x\" IS NULL"},
      {"x", "not.is.true", "NOT (\"x\" IS TRUE)"},
      {"id", "in.(1,2,\"a,b\")", "\"id\" IN (E'1', E'2', E'a,b')"},
      {"we\"ird", "neq.x", "\"we\"\"ird\" <> E'x'"}};
  static const char *const bad[] = {"completed", "eq", "between.1.2", "is.maybe", "in.1,2", "in.()",
                                    "in.(\"a)", NULL};
  osiris_buf b = {0};
  char msg[300];
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    b.len = 0;
    CHECK(drv_db_rest_filter(&b, cases[i][0], cases[i][1], '"', msg, sizeof msg) == 0);
    CHECK_STR(drv_db_str0(&b), cases[i][2]);
  }
  for (i = 0; bad[i]; i++) {
    b.len = 0;
    msg[0] = 0;
    CHECK(drv_db_rest_filter(&b, "c", bad[i], '"', msg, sizeof msg) == -1);
    CHECK(strstr(msg, "filter.c: ") == msg);
  }
  b.len = 0;
  CHECK(drv_db_rest_order(&b, "created_at.desc.nullslast, id", '"') == 0);
  CHECK_STR(drv_db_str0(&b), " ORDER BY \"created_at\" DESC NULLS LAST, \"id\"");
  b.len = 0;
  CHECK(drv_db_rest_order(&b, "id.sideways", '"') == -1);
  b.len = 0;
  CHECK(drv_db_rest_order(&b, ",", '"') == -1);
  osiris_buf_free(&b);
}

static void test_copy_and_ident(void) {
  osiris_buf b = {0};
  drv_db_put_escaped(&b, "a\tb\nc\\d\re", 10, drv_pg_copy_esc);
  CHECK_STR(drv_db_str0(&b), "a\\tb\\nc\\\\d\\re");
  b.len = 0;
  /* past the eight-byte skip; other control bytes and UTF-8 go as they are */
  drv_db_put_escaped(&b, "\xc3\xa9t\xc3\xa9 long text\x01\x1a then\ttab", 26, drv_pg_copy_esc);
  CHECK_STR(drv_db_str0(&b), "\xc3\xa9t\xc3\xa9 long text\x01\x1a then\\ttab");
  b.len = 0;
  /* LOAD DATA also escapes NUL and Ctrl-Z */
  drv_db_put_escaped(&b, "0123456789\0x\x1a\\N", 15, drv_mysql_load_esc);
  CHECK(b.len == 18 && memcmp(b.p, "0123456789\\0x\\Z\\\\N", 18) == 0);
  b.len = 0;
  drv_db_ident(&b, "we\"ird", '"', 0);
  CHECK_STR(drv_db_str0(&b), "\"we\"\"ird\"");
  b.len = 0;
  drv_db_ident(&b, "db.t`x", '`', 1);
  CHECK_STR(drv_db_str0(&b), "`db`.`t``x`");
  b.len = 0;
  osiris_buf_printf(&b, "%s-%0300d", "x", 7);
  CHECK(b.len == 302 && b.p[301] == '7');
  osiris_buf_free(&b);
}

static void test_frame_append(void) {
  osiris_frame *f = osiris_frame_new();
  osiris_buf scratch = {0};
  drv_db_col hex = {DRV_CONV_HEX, 0}, bit = {DRV_CONV_BIT, 0}, dec = {DRV_CONV_DEC, 0};
  size_t len;
  const char *s;
  CHECK(f != NULL);
  CHECK_RC(osiris_frame_add_column(f, "h", OSIRIS_TYPE_STRING, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "b", OSIRIS_TYPE_INT64, 0), OSIRIS_OK);
  CHECK_RC(osiris_frame_add_column(f, "d", OSIRIS_TYPE_DECIMAL, 2), OSIRIS_OK);
  CHECK_RC(drv_db_append(NULL, f, 0, &hex, "\x00\xff\x10", 3, &scratch), OSIRIS_OK);
  CHECK_RC(drv_db_append(NULL, f, 1, &bit, "\x03\xff", 2, &scratch), OSIRIS_OK);
  CHECK_RC(drv_db_append(NULL, f, 2, &dec, "-12.345", 7, &scratch), OSIRIS_OK);
  CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  s = osiris_frame_get_text(f, 0, 0, &len);
  CHECK(len == 8 && memcmp(s, "\\x00ff10", 8) == 0);
  CHECK(osiris_frame_get_int64(f, 1, 0) == 1023);
  CHECK(drv_db_dec_scale(f, 2) == 3);
  osiris_frame_free(f);
  osiris_buf_free(&scratch);
}

static osiris_json *test_conn(const char *text) {
  osiris_json *v = NULL;
  CHECK_RC(osiris_json_parse(text, strlen(text), &v, NULL, 0), OSIRIS_OK);
  return v;
}

/* TLS modes are matched in any ASCII case; a bad mode or a TLS file that
 * cannot be opened fails with OSIRIS_EINVAL before anything connects. */
static void test_tls_options(void) {
  char err[600], text[80];
  drv_db_src src = {NULL, NULL};
  drv_mysql_conn my;
  drv_pg_conn pg;
  osiris_json *conn;
  CHECK(drv_db_tls_mode("verify_identity", drv_mysql_ssl_modes) == 4);
  CHECK(drv_db_tls_mode("Verify_CA", drv_mysql_ssl_modes) == 3);
  CHECK(drv_db_tls_mode("DISABLED", drv_mysql_ssl_modes) == DRV_MYSQL_DISABLED);
  CHECK(drv_db_tls_mode("VERIFY", drv_mysql_ssl_modes) == -1);
  CHECK(drv_db_tls_mode("DISABLEDX", drv_mysql_ssl_modes) == -1);
  CHECK(drv_db_tls_mode("", drv_mysql_ssl_modes) == -1);
  CHECK(drv_db_tls_mode("VERIFY-FULL", drv_pg_ssl_modes) == 5);
  CHECK(drv_db_tls_mode("verify_full", drv_pg_ssl_modes) == -1);
  drv_db_tls_modes_text(drv_pg_ssl_modes, text, sizeof text);
  CHECK_STR(text, "disable, allow, prefer, require, verify-ca or verify-full");
  drv_db_tls_modes_text(drv_mysql_ssl_modes, text, 12); /* truncated, terminated */
  CHECK_STR(text, "DISABLED, P");

  src.conn = conn = test_conn("{\"database\": \"d\", \"ssl_mode\": \"on\"}");
  CHECK_RC(drv_mysql_connect_src(&src, &my, 1, 0, err, sizeof err), OSIRIS_EINVAL);
  CHECK_STR(err, "MySQL connection: ssl_mode \"on\" is not one of DISABLED, PREFERRED, "
                 "REQUIRED, VERIFY_CA or VERIFY_IDENTITY (any case)");
  CHECK(my.my == NULL);
  osiris_json_free(conn);
  src.conn = conn = test_conn("{\"database\": \"d\", \"ssl_mode\": \"verify_ca\", "
                              "\"ssl_ca\": \"/nonexistent/osiris-ca.pem\"}");
  CHECK_RC(drv_mysql_connect_src(&src, &my, 1, 0, err, sizeof err), OSIRIS_EINVAL);
  CHECK_STR(err, "MySQL connection: ssl_ca /nonexistent/osiris-ca.pem: no such file "
                 "(TLS files are read where the step runs)");
  osiris_json_free(conn);

  /* No ssl_mode: no TLS, so a TLS key alone would be ignored; refused. */
  src.conn = conn = test_conn("{\"database\": \"d\", \"ssl_cipher\": \"HIGH\"}");
  CHECK_RC(drv_mysql_connect_src(&src, &my, 1, 0, err, sizeof err), OSIRIS_EINVAL);
  CHECK_STR(err, "MySQL connection: ssl_cipher is set but ssl_mode is not: give ssl_mode "
                 "(VERIFY_IDENTITY recommended)");
  osiris_json_free(conn);

  src.conn = conn = test_conn("{\"database\": \"d\", \"sslmode\": \"verify\"}");
  CHECK_RC(drv_pg_connect_src(&src, &pg, "PostgreSQL", 1, err, sizeof err), OSIRIS_EINVAL);
  CHECK_STR(err, "PostgreSQL connection: sslmode \"verify\" is not one of disable, allow, "
                 "prefer, require, verify-ca or verify-full");
  CHECK(pg.pg == NULL);
  osiris_json_free(conn);
  /* No sslmode: libpq's prefer uses the files, so they are checked. */
  src.conn = conn = test_conn("{\"dsn\": \"postgresql://u:pw@h/db\", "
                              "\"sslcert\": \"/nonexistent/client.pem\"}");
  CHECK_RC(drv_pg_connect_src(&src, &pg, "Supabase", 1, err, sizeof err), OSIRIS_EINVAL);
  CHECK_STR(err, "Supabase connection: sslcert /nonexistent/client.pem: no such file "
                 "(TLS files are read where the step runs)");
  osiris_json_free(conn);
}

int main(void) {
  RUN(test_dates);
  RUN(test_numbers);
  RUN(test_mask);
  RUN(test_copy_and_ident);
  RUN(test_rest_filter_order);
  RUN(test_frame_append);
  RUN(test_tls_options);
  return th_report();
}
