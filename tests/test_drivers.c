/* Unit tests of drivers.c: the SQL engine (drv_sql_execute) over frames of
 * every column type, and the CSV drivers end to end through
 * osiris_run_pipeline on small manifests in a temporary directory. */
#include "../osiris.c"
#include "../drivers.c"
#include "harness.h"

#include <ftw.h>
#include <time.h>

/* ---- frame helpers ---- */

/* A frame from a compact spec: names and types, then rows of cells as
 * strings (NULL = SQL NULL).  Types: b i f d2 s D T (decimal scale 2). */
static osiris_frame *mk_frame(const char *const *names, const char *types, size_t rows,
                              const char *const *cells) {
  osiris_frame *f = osiris_frame_new();
  size_t nc = strlen(types), r, c;
  for (c = 0; c < nc; c++) {
    osiris_type t = types[c] == 'b'   ? OSIRIS_TYPE_BOOL
                    : types[c] == 'i' ? OSIRIS_TYPE_INT64
                    : types[c] == 'f' ? OSIRIS_TYPE_DOUBLE
                    : types[c] == 'd' ? OSIRIS_TYPE_DECIMAL
                    : types[c] == 'D' ? OSIRIS_TYPE_DATE
                    : types[c] == 'T' ? OSIRIS_TYPE_TIMESTAMP
                                      : OSIRIS_TYPE_STRING;
    CHECK_RC(osiris_frame_add_column(f, names[c], t, t == OSIRIS_TYPE_DECIMAL ? 2 : 0), OSIRIS_OK);
  }
  for (r = 0; r < rows; r++) {
    for (c = 0; c < nc; c++) {
      const char *v = cells[r * nc + c];
      osiris_rc rc = OSIRIS_OK;
      int64_t x;
      if (!v) {
        rc = osiris_frame_append_null(f, c);
      } else {
        switch (types[c]) {
          case 'b': rc = osiris_frame_append_bool(f, c, strcmp(v, "true") == 0); break;
          case 'i': rc = osiris_frame_append_int64(f, c, strtoll(v, NULL, 10)); break;
          case 'f': rc = osiris_frame_append_double(f, c, strtod(v, NULL)); break;
          case 'D':
            CHECK(osiris_parse_date(v, strlen(v), &x));
            rc = osiris_frame_append_date(f, c, (int32_t)x);
            break;
          case 'T':
            CHECK(osiris_parse_timestamp(v, strlen(v), OSIRIS_TS_SQLITE, &x));
            rc = osiris_frame_append_timestamp(f, c, x);
            break;
          default: rc = osiris_frame_append_text(f, c, v, strlen(v)); break;
        }
      }
      CHECK_RC(rc, OSIRIS_OK);
    }
    CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  }
  return f;
}

/* Cell (c, r) as text the way CSV shows it ("" for NULL, "<null>" marks). */
static const char *cell(const osiris_frame *f, size_t c, size_t r) {
  static char bufs[8][256];
  static int k;
  char *buf = bufs[k++ & 7];
  size_t len;
  int is_null;
  const char *p;
  if (!f || c >= osiris_frame_cols(f) || r >= osiris_frame_rows(f)) return "<out of range>";
  p = osiris_frame_format(f, c, r, buf, 256, &len, &is_null);
  if (is_null) return "<null>";
  if (p != buf) {
    if (len > 255) len = 255;
    memcpy(buf, p, len);
    buf[len] = 0;
  }
  return buf;
}

static osiris_frame *people, *orders;

static void setup_frames(void) {
  static const char *const pn[] = {"id", "name", "active", "born", "score"};
  static const char *const pc[] = {
      "1", "Ann", "true", "1990-05-01", "7.5",  "2", "Bob", "false", "1985-12-31", NULL,
      "3", "Cy", NULL, NULL, "9.25",            "4", "Dee", "true", "2000-02-29", "6"};
  static const char *const on[] = {"order_id", "person_id", "amount", "placed_at"};
  static const char *const oc[] = {
      "10", "1", "100.50", "2024-01-15 10:00:00",  "11", "1", "0.10", "2024-01-16 11:30:00.250000",
      "12", "2", "-3.30", "2024-02-01 00:00:00",   "13", "9", "12.00", NULL,
      "14", "3", NULL, "2024-03-01 23:59:59"};
  people = mk_frame(pn, "isbDf", 4, pc);
  orders = mk_frame(on, "iidT", 5, oc);
}

/* Run sql over people (as df_people) and orders (as df_orders). */
static osiris_rc run_sql(const char *sql, osiris_frame **out, char *err, size_t cap) {
  const osiris_frame *in[2];
  const char *names[2] = {"df_people", "df_orders"};
  in[0] = people;
  in[1] = orders;
  return drv_sql_execute(in, names, 2, sql, NULL, NULL, out, err, cap);
}

static osiris_frame *sql_ok(const char *sql) {
  osiris_frame *out = NULL;
  char err[512] = "";
  osiris_rc rc = run_sql(sql, &out, err, sizeof err);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) fprintf(stderr, "  query: %s\n  error: %s\n", sql, err);
  return out;
}

/* ---- SQL engine ---- */

static void test_sql_passthrough_types(void) {
  osiris_frame *f = sql_ok("SELECT * FROM df_people");
  osiris_frame *g = sql_ok("SELECT * FROM df_orders");
  CHECK(osiris_frame_rows(f) == 4 && osiris_frame_cols(f) == 5);
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_STRING);
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_BOOL);
  CHECK(osiris_frame_col_type(f, 3) == OSIRIS_TYPE_DATE);
  CHECK(osiris_frame_col_type(f, 4) == OSIRIS_TYPE_DOUBLE);
  CHECK_STR(osiris_frame_col_name(f, 3), "born");
  CHECK_STR(cell(f, 2, 0), "true");
  CHECK_STR(cell(f, 2, 1), "false");
  CHECK_STR(cell(f, 2, 2), "<null>");
  CHECK_STR(cell(f, 3, 3), "2000-02-29");
  CHECK_STR(cell(f, 4, 0), "7.5");
  CHECK_STR(cell(f, 4, 1), "<null>");
  CHECK(osiris_frame_col_type(g, 2) == OSIRIS_TYPE_DECIMAL && osiris_frame_col_scale(g, 2) == 2);
  CHECK(osiris_frame_col_type(g, 3) == OSIRIS_TYPE_TIMESTAMP);
  CHECK_STR(cell(g, 2, 0), "100.50");
  CHECK_STR(cell(g, 2, 1), "0.10");
  CHECK_STR(cell(g, 2, 2), "-3.30");
  CHECK_STR(cell(g, 2, 4), "<null>");
  CHECK_STR(cell(g, 3, 1), "2024-01-16T11:30:00.250000");
  CHECK_STR(cell(g, 3, 3), "<null>");
  osiris_frame_free(f);
  osiris_frame_free(g);

  /* How each type looks inside SQLite. */
  f = sql_ok("SELECT typeof(id), typeof(name), typeof(active), typeof(born), typeof(score), "
             "born, (SELECT typeof(amount) || ' ' || placed_at FROM df_orders WHERE order_id = 11) "
             "FROM df_people WHERE id = 1");
  CHECK(osiris_frame_rows(f) == 1);
  CHECK_STR(cell(f, 0, 0), "integer");
  CHECK_STR(cell(f, 1, 0), "text");
  CHECK_STR(cell(f, 2, 0), "integer");
  CHECK_STR(cell(f, 3, 0), "text");
  CHECK_STR(cell(f, 4, 0), "real");
  CHECK_STR(cell(f, 5, 0), "1990-05-01");
  CHECK_STR(cell(f, 6, 0), "real 2024-01-16 11:30:00.250000");
  osiris_frame_free(f);
}

static void test_sql_join_aggregate(void) {
  osiris_frame *f = sql_ok(
      "SELECT p.name, COUNT(o.order_id) AS n, SUM(o.amount) AS total, MAX(o.placed_at) AS last "
      "FROM df_people p LEFT JOIN df_orders o ON o.person_id = p.id "
      "GROUP BY p.id ORDER BY p.id");
  CHECK(osiris_frame_rows(f) == 4 && osiris_frame_cols(f) == 4);
  CHECK_STR(osiris_frame_col_name(f, 1), "n");
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_DOUBLE);
  CHECK_STR(cell(f, 0, 0), "Ann");
  CHECK_STR(cell(f, 1, 0), "2");
  CHECK_STR(cell(f, 2, 0), "100.6");
  CHECK_STR(cell(f, 3, 0), "2024-01-16 11:30:00.250000");
  CHECK_STR(cell(f, 2, 1), "-3.3");
  CHECK_STR(cell(f, 1, 2), "1");
  CHECK_STR(cell(f, 2, 2), "<null>"); /* SUM of only NULLs */
  CHECK_STR(cell(f, 1, 3), "0");
  CHECK_STR(cell(f, 3, 3), "<null>");
  osiris_frame_free(f);

  /* Inner join keeps only matches; person 9 has no row in people. */
  f = sql_ok("SELECT o.order_id, p.name FROM df_orders o JOIN df_people p ON p.id = o.person_id "
             "ORDER BY o.order_id");
  CHECK(osiris_frame_rows(f) == 4);
  CHECK_STR(cell(f, 1, 3), "Cy");
  osiris_frame_free(f);

  f = sql_ok("SELECT COUNT(*), AVG(score), MIN(born), MAX(name), total(score) FROM df_people");
  CHECK_STR(cell(f, 0, 0), "4");
  CHECK_STR(cell(f, 1, 0), "7.583333333333333");
  CHECK_STR(cell(f, 2, 0), "1985-12-31");
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_STRING); /* an aggregate has no declared type */
  CHECK_STR(cell(f, 3, 0), "Dee");
  osiris_frame_free(f);
}

static void test_sql_equality_lookups(void) {
  /* Every probe kind against the hash index, and probes it must leave to
   * SQLite's own conversions. */
  osiris_frame *f = sql_ok(
      "SELECT (SELECT COUNT(*) FROM df_people WHERE name = 'Bob'),"
      "       (SELECT COUNT(*) FROM df_people WHERE id = '2'),"
      "       (SELECT COUNT(*) FROM df_people WHERE id = 2.0),"
      "       (SELECT COUNT(*) FROM df_people WHERE id = 2.5),"
      "       (SELECT COUNT(*) FROM df_people WHERE active = 1),"
      "       (SELECT COUNT(*) FROM df_people WHERE score = 6),"
      "       (SELECT COUNT(*) FROM df_people WHERE born = '2000-02-29'),"
      "       (SELECT COUNT(*) FROM df_orders WHERE placed_at = '2024-01-16 11:30:00.250000'),"
      "       (SELECT COUNT(*) FROM df_orders WHERE placed_at = '2024-01-16 11:30:00.25'),"
      "       (SELECT COUNT(*) FROM df_people WHERE name = 'bob' COLLATE NOCASE),"
      "       (SELECT COUNT(*) FROM df_people WHERE name IN ('Ann', 'Dee', 'Zed')),"
      "       (SELECT COUNT(*) FROM df_people WHERE score = NULL),"
      "       (SELECT COUNT(*) FROM df_people WHERE name = 1)");
  static const char *const want[] = {"1", "1", "1", "0", "2", "1", "1", "1", "0", "1", "2", "0", "0"};
  size_t i;
  CHECK(osiris_frame_rows(f) == 1);
  for (i = 0; i < sizeof want / sizeof want[0]; i++) {
    CHECK_STR(cell(f, i, 0), want[i]);
  }
  osiris_frame_free(f);

  /* Rows come back in frame order through the index. */
  f = sql_ok("SELECT order_id FROM df_orders WHERE person_id = 1");
  CHECK(osiris_frame_rows(f) == 2);
  CHECK_STR(cell(f, 0, 0), "10");
  CHECK_STR(cell(f, 0, 1), "11");
  osiris_frame_free(f);
}

static void test_sql_nulls_and_promotion(void) {
  osiris_frame *f = sql_ok("SELECT NULL AS a, CASE WHEN id > 2 THEN id END AS b, "
                           "CASE WHEN id = 3 THEN 'x' END AS c FROM df_people ORDER BY id");
  CHECK(osiris_frame_rows(f) == 4);
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_STRING);
  CHECK_STR(cell(f, 0, 3), "<null>");
  CHECK_STR(cell(f, 1, 0), "<null>");
  CHECK_STR(cell(f, 1, 1), "<null>");
  CHECK_STR(cell(f, 1, 2), "3");
  CHECK_STR(cell(f, 2, 2), "x");
  CHECK_STR(cell(f, 2, 3), "<null>");
  osiris_frame_free(f);

  /* int then real: double; int then text: string; bool then 5: int64. */
  f = sql_ok("SELECT 1 AS a, 1 AS b UNION ALL SELECT 2.5, 'x' UNION ALL SELECT NULL, 3");
  CHECK(osiris_frame_rows(f) == 3);
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_DOUBLE);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_STRING);
  CHECK_STR(cell(f, 0, 0), "1.0");
  CHECK_STR(cell(f, 0, 1), "2.5");
  CHECK_STR(cell(f, 0, 2), "<null>");
  CHECK_STR(cell(f, 1, 0), "1");
  CHECK_STR(cell(f, 1, 1), "x");
  CHECK_STR(cell(f, 1, 2), "3");
  osiris_frame_free(f);

  f = sql_ok("SELECT active FROM df_people UNION ALL SELECT 5");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_rows(f) == 5);
  osiris_frame_free(f);
  f = sql_ok("SELECT born FROM df_people WHERE id < 3 UNION ALL SELECT 'not a date'");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  CHECK_STR(cell(f, 0, 0), "1990-05-01");
  CHECK_STR(cell(f, 0, 2), "not a date");
  osiris_frame_free(f);
  f = sql_ok("SELECT placed_at FROM df_orders UNION ALL SELECT 42");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  CHECK_STR(cell(f, 0, 0), "2024-01-15 10:00:00");
  osiris_frame_free(f);
  /* A NULL-only column takes its first value's type, even late. */
  f = sql_ok("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
             "SELECT CASE WHEN i = 4000 THEN 1.5 END AS late, i FROM n");
  CHECK(osiris_frame_rows(f) == 5000);
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_DOUBLE);
  CHECK_STR(cell(f, 0, 3999), "1.5");
  CHECK_STR(cell(f, 0, 3998), "<null>");
  CHECK_STR(cell(f, 1, 4999), "5000");
  osiris_frame_free(f);
  f = sql_ok("SELECT x'00ff' AS blob");
  CHECK_STR(cell(f, 0, 0), "00ff");
  osiris_frame_free(f);
}

static void test_sql_decimal(void) {
  static const char *const n[] = {"k", "amount"};
  static const char *const c[] = {"a", "12345.67", "b", "0.10", "c", "-3.30",
                                  "d", "12345678901234567.89", "e", "99.99"};
  const osiris_frame *in[1];
  const char *names[1] = {"df"};
  osiris_frame *src = mk_frame(n, "sd", 5, c), *f = NULL;
  char err[256];
  in[0] = src;
  CHECK_RC(drv_sql_execute(in, names, 1, "SELECT k, amount FROM df", NULL, NULL, &f, err, sizeof err),
           OSIRIS_OK);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_DECIMAL);
  CHECK_STR(cell(f, 1, 0), "12345.67");
  CHECK_STR(cell(f, 1, 1), "0.10");
  CHECK_STR(cell(f, 1, 3), "12345678901234567.89"); /* exact beyond double precision */
  osiris_frame_free(f);
  /* Numeric comparison and ordering, not string order. */
  CHECK_RC(drv_sql_execute(in, names, 1,
                           "SELECT k FROM df WHERE amount > 50 AND amount < 100000 ORDER BY amount",
                           NULL, NULL, &f, err, sizeof err),
           OSIRIS_OK);
  CHECK(osiris_frame_rows(f) == 2);
  CHECK_STR(cell(f, 0, 0), "e");
  CHECK_STR(cell(f, 0, 1), "a");
  osiris_frame_free(f);
  CHECK_RC(drv_sql_execute(in, names, 1, "SELECT amount * 2 AS d, amount FROM df WHERE k = 'b'",
                           NULL, NULL, &f, err, sizeof err),
           OSIRIS_OK);
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_DOUBLE);
  CHECK_STR(cell(f, 0, 0), "0.2");
  CHECK_STR(cell(f, 1, 0), "0.10");
  osiris_frame_free(f);
  osiris_frame_free(src);
}

static void test_sql_dates(void) {
  osiris_frame *f = sql_ok(
      "SELECT date(born, '+1 day') AS next, strftime('%Y', born) AS y, born, "
      "julianday('2000-03-01') - julianday(born) AS days FROM df_people "
      "WHERE born >= '1990-01-01' ORDER BY born");
  CHECK(osiris_frame_rows(f) == 2);
  CHECK_STR(cell(f, 0, 0), "1990-05-02");
  CHECK_STR(cell(f, 1, 0), "1990");
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_DATE);
  CHECK_STR(cell(f, 3, 1), "1.0");
  osiris_frame_free(f);
  f = sql_ok("SELECT order_id, strftime('%H:%M:%f', placed_at) AS t, "
             "date(placed_at) AS d, placed_at FROM df_orders "
             "WHERE placed_at BETWEEN '2024-01-16' AND datetime('2024-02-01 00:00:00') "
             "ORDER BY placed_at DESC");
  CHECK(osiris_frame_rows(f) == 2);
  CHECK_STR(cell(f, 0, 0), "12");
  CHECK_STR(cell(f, 1, 1), "11:30:00.250");
  CHECK_STR(cell(f, 2, 1), "2024-01-16");
  CHECK(osiris_frame_col_type(f, 3) == OSIRIS_TYPE_TIMESTAMP);
  CHECK_STR(cell(f, 3, 1), "2024-01-16T11:30:00.250000");
  osiris_frame_free(f);
}

static void test_sql_names_and_errors(void) {
  osiris_frame *f = sql_ok("SELECT p.id, o.id2, 1 AS x, 2 AS x, 3 AS x_1 FROM df_people p "
                           "JOIN (SELECT person_id AS id, order_id AS id2 FROM df_orders) o "
                           "ON o.id = p.id WHERE p.id = 2");
  CHECK_STR(osiris_frame_col_name(f, 0), "id");
  CHECK_STR(osiris_frame_col_name(f, 2), "x");
  CHECK_STR(osiris_frame_col_name(f, 3), "x_2");
  CHECK_STR(osiris_frame_col_name(f, 4), "x_1");
  osiris_frame_free(f);
  f = sql_ok("SELECT p.id, o.person_id AS id FROM df_people p, df_orders o "
             "WHERE o.person_id = p.id AND o.order_id = 10");
  CHECK_STR(osiris_frame_col_name(f, 0), "id");
  CHECK_STR(osiris_frame_col_name(f, 1), "id_1");
  osiris_frame_free(f);

  {
    osiris_frame *out = (osiris_frame *)1;
    char err[256];
    CHECK_RC(run_sql("SELEC 1", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(out == NULL);
    CHECK(strncmp(err, "SQL error: ", 11) == 0 && strstr(err, "syntax error"));
    CHECK_RC(run_sql("SELECT 1; SELECT 2", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "only one statement") != NULL);
    CHECK_RC(run_sql("  ;; -- nothing\n", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "empty") != NULL);
    CHECK_RC(run_sql("SELECT * FROM nope", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "no such table: nope") && strstr(err, "df_people, df_orders"));
    CHECK_RC(run_sql("SELECT nope FROM df_people", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "no such column: nope") != NULL);
    CHECK_RC(run_sql("ATTACH '/tmp/osiris_drv_attach.db' AS x", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "not authorized") != NULL);
    CHECK_RC(run_sql("PRAGMA user_version = 3", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK_RC(run_sql("SELECT abs(-9223372036854775807 - 1)", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "integer overflow") != NULL);
    CHECK_RC(run_sql("DELETE FROM df_people", &out, err, sizeof err), OSIRIS_ESQL);
  }
  /* Trailing semicolons and comments are fine. */
  f = sql_ok("/* lead */ SELECT 1 AS one; -- done\n ;");
  CHECK_STR(cell(f, 0, 0), "1");
  osiris_frame_free(f);
  /* A table name that needs quoting. */
  {
    const osiris_frame *in[1];
    const char *names[1] = {"df_we\"ird-id"};
    osiris_frame *out = NULL;
    char err[256];
    in[0] = people;
    CHECK_RC(drv_sql_execute(in, names, 1, "SELECT COUNT(*) AS n FROM \"df_we\"\"ird-id\"", NULL,
                             NULL, &out, err, sizeof err),
             OSIRIS_OK);
    CHECK_STR(cell(out, 0, 0), "4");
    osiris_frame_free(out);
  }
}

static void test_sql_series(void) {
  osiris_frame *f = sql_ok("SELECT (SELECT group_concat(generate_series) FROM generate_series(1, 3)),"
                           " (SELECT group_concat(range) FROM range(3)),"
                           " (SELECT group_concat(value) FROM range(0, 10, 3)),"
                           " (SELECT group_concat(value) FROM generate_series(5, 1, -2)),"
                           " (SELECT COUNT(*) FROM generate_series(4)),"
                           " (SELECT COUNT(*) FROM range(5, 1))");
  CHECK_STR(cell(f, 0, 0), "1,2,3");
  CHECK_STR(cell(f, 1, 0), "0,1,2");
  CHECK_STR(cell(f, 2, 0), "0,3,6,9");
  CHECK_STR(cell(f, 3, 0), "5,3,1");
  CHECK_STR(cell(f, 4, 0), "5");
  CHECK_STR(cell(f, 5, 0), "0");
  osiris_frame_free(f);
  f = sql_ok("SELECT * FROM generate_series(1, 2)");
  CHECK(osiris_frame_cols(f) == 1 && osiris_frame_rows(f) == 2);
  CHECK_STR(osiris_frame_col_name(f, 0), "generate_series");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
  osiris_frame_free(f);
  f = sql_ok("SELECT p.name, s.value FROM df_people p JOIN generate_series(1, p.id) s "
             "WHERE p.id <= 2 ORDER BY p.id, s.value");
  CHECK(osiris_frame_rows(f) == 3);
  CHECK_STR(cell(f, 0, 2), "Bob");
  osiris_frame_free(f);
  {
    osiris_frame *out = NULL;
    char err[256];
    CHECK_RC(run_sql("SELECT * FROM range(1, 5, 0)", &out, err, sizeof err), OSIRIS_ESQL);
    CHECK(strstr(err, "step must not be 0") != NULL);
    osiris_frame_free(out);
  }
}

static void test_sql_zero_rows(void) {
  osiris_frame *f = sql_ok("SELECT id, name AS who, born, score * 2 AS s FROM df_people WHERE 0");
  CHECK(osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 4);
  CHECK_STR(osiris_frame_col_name(f, 1), "who");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_STRING);
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_DATE);
  CHECK(osiris_frame_col_type(f, 3) == OSIRIS_TYPE_STRING);
  osiris_frame_free(f);
  /* An input without rows works as a table too. */
  {
    static const char *const n[] = {"a"};
    osiris_frame *empty = mk_frame(n, "i", 0, NULL), *out = NULL;
    const osiris_frame *in[1];
    const char *names[1] = {"df"};
    char err[256];
    in[0] = empty;
    CHECK_RC(drv_sql_execute(in, names, 1, "SELECT a, COUNT(*) AS n FROM df", NULL, NULL, &out,
                             err, sizeof err),
             OSIRIS_OK);
    CHECK(osiris_frame_rows(out) == 1);
    CHECK_STR(cell(out, 1, 0), "0");
    osiris_frame_free(out);
    osiris_frame_free(empty);
  }
}

static int cancel_now(void *arg) {
  (void)arg;
  return 1;
}

static void test_sql_large(void) {
  const size_t n = 200000;
  osiris_frame *a = osiris_frame_new(), *b = osiris_frame_new(), *out = NULL;
  const osiris_frame *in[2];
  const char *names[2] = {"df_a", "df_b"};
  char err[256];
  size_t i;
  int64_t want = 0;
  clock_t t0;
  osiris_frame_add_column(a, "k", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(a, "v", OSIRIS_TYPE_DOUBLE, 0);
  osiris_frame_add_column(a, "tag", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(b, "k", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(b, "w", OSIRIS_TYPE_INT64, 0);
  for (i = 0; i < n; i++) {
    char tag[32];
    int len = snprintf(tag, sizeof tag, "t%zu", i % 1000);
    osiris_frame_append_int64(a, 0, (int64_t)i);
    osiris_frame_append_double(a, 1, (double)i * 0.5);
    osiris_frame_append_text(a, 2, tag, (size_t)len);
    osiris_frame_end_row(a);
    osiris_frame_append_int64(b, 0, (int64_t)(n - 1 - i));
    osiris_frame_append_int64(b, 1, (int64_t)i * 3);
    osiris_frame_end_row(b);
    want += (int64_t)i;
  }
  in[0] = a;
  in[1] = b;
  CHECK_RC(drv_sql_execute(in, names, 2, "SELECT SUM(k), SUM(v), COUNT(DISTINCT tag) FROM df_a",
                           NULL, NULL, &out, err, sizeof err),
           OSIRIS_OK);
  CHECK(osiris_frame_get_int64(out, 0, 0) == want);
  CHECK(osiris_frame_get_double(out, 1, 0) == (double)want * 0.5);
  CHECK(osiris_frame_get_int64(out, 2, 0) == 1000);
  osiris_frame_free(out);

  /* A 200k x 200k equi-join must use the hash index, not a nested scan. */
  t0 = clock();
  CHECK_RC(drv_sql_execute(in, names, 2,
                           "SELECT a.k, a.tag, b.w FROM df_a a JOIN df_b b ON b.k = a.k",
                           NULL, NULL, &out, err, sizeof err),
           OSIRIS_OK);
  CHECK(osiris_frame_rows(out) == n);
  CHECK(osiris_frame_get_int64(out, 0, 7) == 7 && osiris_frame_get_int64(out, 2, 7) == (int64_t)(n - 8) * 3);
  CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
  osiris_frame_free(out);

  /* Cancellation is polled while the query runs. */
  out = NULL;
  CHECK_RC(drv_sql_execute(in, names, 2, "SELECT SUM(k) FROM df_a", cancel_now, NULL, &out, err,
                           sizeof err),
           OSIRIS_ECANCEL);
  CHECK(out == NULL);
  osiris_frame_free(a);
  osiris_frame_free(b);
}

/* The osiris.h helpers the drivers use in place of their own copies. */
static void test_helpers(void) {
  char buf[64], small[8];
  int64_t v, y;
  int m, d;
  osiris_buf b = {0};
  char *text;
  CHECK(osiris_format_double(buf, sizeof buf, 7.0) == 3 && strcmp(buf, "7.0") == 0);
  osiris_format_double(buf, sizeof buf, 0.1 + 0.2);
  CHECK_STR(buf, "0.30000000000000004");
  osiris_format_double(buf, sizeof buf, 1e16);
  CHECK_STR(buf, "1e+16");
  osiris_format_double(buf, sizeof buf, 1e15);
  CHECK_STR(buf, "1000000000000000.0");
  osiris_format_double(buf, sizeof buf, 1e-5);
  CHECK_STR(buf, "1e-05");
  osiris_format_double(buf, sizeof buf, -0.0);
  CHECK_STR(buf, "-0.0");
  CHECK(osiris_format_double(small, sizeof small, 0.1 + 0.2) == 7); /* cut to cap - 1 */
  CHECK_STR(small, "0.30000");
  CHECK(osiris_parse_timestamp("1969-12-31 23:59:59.999999", 26, OSIRIS_TS_SQLITE, &v) && v == -1);
  osiris_format_timestamp(buf, sizeof buf, -1, ' ');
  CHECK_STR(buf, "1969-12-31 23:59:59.999999");
  osiris_format_timestamp(buf, sizeof buf, -1, 'T');
  CHECK_STR(buf, "1969-12-31T23:59:59.999999");
  CHECK(osiris_parse_timestamp("2024-02-29T12:00Z", 17, OSIRIS_TS_SQLITE, &v));
  osiris_format_timestamp(buf, sizeof buf, v, ' ');
  CHECK_STR(buf, "2024-02-29 12:00:00");
  CHECK(!osiris_parse_date("2023-02-29", 10, &v));
  CHECK(!osiris_parse_timestamp("2024-01-01 24:00:00", 19, OSIRIS_TS_SQLITE, &v));
  CHECK(osiris_parse_date("1970-01-01", 10, &v) && v == 0);
  /* Each flag widens the engine's form by one thing. */
  CHECK(!osiris_parse_timestamp("2024-02-29T12:00Z", 17, 0, &v));
  CHECK(osiris_parse_timestamp("2024-02-29T12:00Z", 17, OSIRIS_TS_NO_SECONDS, &v));
  CHECK(!osiris_parse_timestamp("2024-02-29", 10, 0, &v));
  CHECK(osiris_parse_timestamp("2024-02-29", 10, OSIRIS_TS_DATE_ONLY, &v) &&
        v == osiris_days_from_civil(2024, 2, 29) * INT64_C(86400000000));
  CHECK(!osiris_parse_timestamp("2024-02-29 00:00:00.1234567", 27, 0, &v));
  CHECK(osiris_parse_timestamp("2024-02-29 00:00:00.1234567", 27, OSIRIS_TS_LONG_FRACTION, &v) &&
        v % 1000000 == 123456);
  CHECK(osiris_parse_timestamp("2024-02-29 00:00:00+00:00", 25, 0, &v));
  CHECK(!osiris_parse_timestamp("2024-02-29 00:00", 16, OSIRIS_TS_DATE_ONLY, &v));
  osiris_civil_from_days(-1, &y, &m, &d);
  CHECK(y == 1969 && m == 12 && d == 31);
  CHECK(osiris_format_date(buf, sizeof buf, osiris_days_from_civil(10000, 1, 1)) == 12);
  CHECK_STR(buf, "+10000-01-01");
  /* A short out gets the text cut, NUL-terminated. */
  CHECK(osiris_format_date(small, sizeof small, 0) == 7);
  CHECK_STR(small, "1970-01");
  osiris_buf_json_string(&b, "a\"\n\x01\xc3\xa9", 6);
  osiris_buf_putc(&b, ' ');
  osiris_buf_hex(&b, "\x00\xff\x1a", 3);
  text = osiris_buf_take(&b);
  CHECK_STR(text, "\"a\\\"\\n\\u0001\xc3\xa9\" 00ff1a");
  osiris_free(text);
}

/* ---- CSV drivers end to end ---- */

static char tmp_root[256];

static void put_file(const char *name, const char *text) {
  char *path = os_path_join(tmp_root, name);
  char *dir = os_path_dirname(path);
  os_err err = {0};
  os_mkdir_p(dir, &err);
  CHECK_RC(os_write_file(path, text, strlen(text), &err), OSIRIS_OK);
  os_free(dir);
  os_free(path);
}

static char *get_file(const char *name) {
  char *path = os_path_join(tmp_root, name), *data = NULL;
  os_err err = {0};
  if (path) os_read_file(path, &data, NULL, &err);
  os_free(path);
  return data;
}

/* Write a manifest with the given steps (id, driver, cfg JSON, needs) and
 * run it; returns the run (caller frees). */
typedef struct drv_test_step {
  const char *id, *driver, *cfg, *needs;
} drv_test_step;

static osiris_run *run_steps(const char *dir, const drv_test_step *steps, size_t n, osiris_rc *rc_out) {
  os_buf m = {0};
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  osiris_run_opts opts;
  char *mpath, *logs;
  size_t i;
  ob_puts(&m, "pipeline:\n  id: drivers-test\n  name: drivers-test\nmeta:\n  profile: ''\nsteps:\n");
  for (i = 0; i < n; i++) {
    char cfgname[128];
    ob_printf(&m, "- id: %s\n  driver: %s\n  component: %s\n  cfg_path: cfg/%s.json\n  needs: [%s]\n",
              steps[i].id, steps[i].driver, steps[i].driver, steps[i].id, steps[i].needs);
    snprintf(cfgname, sizeof cfgname, "%s/cfg/%s.json", dir, steps[i].id);
    put_file(cfgname, steps[i].cfg);
  }
  {
    char name[128];
    snprintf(name, sizeof name, "%s/manifest.yaml", dir);
    put_file(name, m.p);
  }
  ob_free(&m);
  mpath = os_asprintf("%s/%s/manifest.yaml", tmp_root, dir);
  logs = os_asprintf("%s/%s/logs", tmp_root, dir);
  ctx = osiris_ctx_new(tmp_root);
  CHECK(ctx != NULL);
  CHECK_RC(osiris_register_builtin_drivers(ctx), OSIRIS_OK);
  memset(&opts, 0, sizeof opts);
  opts.logs_dir = logs;
  *rc_out = osiris_run_pipeline(ctx, mpath, &opts, &run);
  if (*rc_out && !run) fprintf(stderr, "  run error: %s\n", osiris_ctx_error(ctx));
  osiris_ctx_free(ctx);
  os_free(mpath);
  os_free(logs);
  return run;
}

static void test_csv_end_to_end(void) {
  osiris_run *run;
  osiris_rc rc;
  char *out;
  static const drv_test_step copy[] = {
      {"extract-people", "filesystem.csv_extractor",
       "{\"component\":\"filesystem.csv_extractor\",\"mode\":\"extract\",\"path\":\"data/people.csv\","
       "\"delimiter\":\",\",\"header\":true,\"encoding\":\"utf-8\",\"skip_rows\":0}",
       ""},
      {"sum", "duckdb.processor",
       "{\"component\":\"duckdb.processor\",\"mode\":\"transform\",\"query\":"
       "\"SELECT name, score * 2 AS doubled, id FROM df_extract_people WHERE id <> 2 "
       "AND id IN (SELECT id FROM input_df) AND name IN (SELECT name FROM df) ORDER BY id DESC\"}",
       "extract-people"},
      {"write-people", "filesystem.csv_writer",
       "{\"component\":\"filesystem.csv_writer\",\"mode\":\"write\",\"path\":\"output/out.csv\","
       "\"newline\":\"crlf\"}",
       "sum"}};
  static const drv_test_step bad_encoding[] = {
      {"extract", "filesystem.csv_extractor",
       "{\"path\":\"data/people.csv\",\"encoding\":\"utf-16\"}", ""}};
  static const drv_test_step bad_sql[] = {
      {"extract", "filesystem.csv_extractor", "{\"path\":\"data/people.csv\"}", ""},
      {"q", "sql.processor", "{\"query\":\"SELECT FROM\"}", "extract"}};
  static const drv_test_step missing[] = {
      {"extract", "filesystem.csv_extractor", "{\"path\":\"data/missing.csv\"}", ""}};
  static const drv_test_step no_upstream[] = {
      {"w", "filesystem.csv_writer", "{\"path\":\"output/x.csv\"}", ""}};
  static const drv_test_step two_inputs[] = {
      {"a", "filesystem.csv_extractor", "{\"path\":\"data/people.csv\",\"limit\":1}", ""},
      {"b", "filesystem.csv_extractor",
       "{\"path\":\"data/people.csv\",\"header\":1,\"infer_types\":false}", ""},
      {"w", "filesystem.csv_writer", "{\"path\":\"output/two.csv\"}", "a, b"}};
  static const drv_test_step bad_keys[] = {
      {"e", "filesystem.csv_extractor", "{\"path\":\"data/people.csv\",\"delimiter\":\";;\"}", ""}};
  static const drv_test_step latin1[] = {
      {"e", "filesystem.csv_extractor",
       "{\"path\":\"data/latin1.csv\",\"encoding\":\"latin-1\",\"delimiter\":\";\","
       "\"columns\":[\"city\"],\"na_values\":[\"-\"]}",
       ""},
      {"w", "filesystem.csv_writer", "{\"path\":\"output/latin1_out.csv\"}", "e"}};

  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris_test_drivers_%ld", (long)getpid());
  put_file("data/people.csv", "id,name,score\n1,Ann,7.5\n2,Bob,3\n3,\"Cy, Jr\",1.25\n");
  put_file("data/latin1.csv", "id;city\n1;M\xfcnchen\n2;-\n");

  run = run_steps("copy", copy, 3, &rc);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc && run) fprintf(stderr, "  %s\n", osiris_run_error(run));
  out = get_file("output/out.csv");
  CHECK_STR(out, "name,doubled,id\r\n\"Cy, Jr\",2.5,3\r\nAnn,15.0,1\r\n");
  os_free(out);
  osiris_run_free(run);

  run = run_steps("enc", bad_encoding, 1, &rc);
  CHECK_RC(rc, OSIRIS_EINVAL);
  CHECK(run && strstr(osiris_run_error(run), "config.encoding") != NULL);
  osiris_run_free(run);

  run = run_steps("badsql", bad_sql, 2, &rc);
  CHECK_RC(rc, OSIRIS_ESQL);
  CHECK(run && strstr(osiris_run_error(run), "SQL error") != NULL);
  CHECK(run && osiris_run_failed_step(run) && strcmp(osiris_run_failed_step(run), "q") == 0);
  osiris_run_free(run);

  run = run_steps("missing", missing, 1, &rc);
  CHECK_RC(rc, OSIRIS_ENOTFOUND);
  CHECK(run && strstr(osiris_run_error(run), "missing.csv") != NULL);
  osiris_run_free(run);

  run = run_steps("noup", no_upstream, 1, &rc);
  CHECK_RC(rc, OSIRIS_EINVAL);
  CHECK(run && strstr(osiris_run_error(run), "needs an upstream step") != NULL);
  osiris_run_free(run);

  run = run_steps("two", two_inputs, 3, &rc);
  CHECK_RC(rc, OSIRIS_EINVAL);
  CHECK(run && strstr(osiris_run_error(run), "exactly one upstream frame, got 2 (inputs: df_a, df_b)"));
  osiris_run_free(run);

  run = run_steps("keys", bad_keys, 1, &rc);
  CHECK_RC(rc, OSIRIS_EINVAL);
  CHECK(run && strstr(osiris_run_error(run), "config.delimiter must be a one-character string"));
  osiris_run_free(run);

  run = run_steps("latin1", latin1, 2, &rc);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc && run) fprintf(stderr, "  %s\n", osiris_run_error(run));
  out = get_file("output/latin1_out.csv");
  /* A NULL in a one-column file is written as "" so the line is not blank. */
  CHECK_STR(out, "city\nM\xc3\xbcnchen\n\"\"\n");
  os_free(out);
  osiris_run_free(run);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

/* ---- graphql.extractor: paths, widening, flattening (section 3c) ---- */

static int gq_name_cell(void *user, const char *name, const osiris_json *v) {
  osiris_buf *b = user;
  char *d = osiris_json_dump(v, 0, NULL);
  osiris_buf_puts(b, name);
  osiris_buf_puts(b, "=");
  osiris_buf_puts(b, d ? d : "null");
  osiris_buf_puts(b, ";");
  osiris_free(d);
  return 0;
}

static void test_graphql_paths(void) {
  static const char doc_text[] =
      "{\"data\":{\"p\":{\"edges\":[{\"node\":{\"id\":1}},{\"node\":{\"id\":2}}],"
      "\"lists\":[[1,2],[3]],\"pageInfo\":{\"hasNextPage\":true}}}}";
  osiris_json *doc = NULL;
  drv_gq_path p;
  drv_gq_matches m = {0};
  CHECK_RC(osiris_json_parse(doc_text, strlen(doc_text), &doc, NULL, 0), OSIRIS_OK);
  CHECK(drv_gq_path_parse("data.p.edges[*].node", &p) == 0 && p.n == 5 && p.seg[3].all);
  drv_gq_eval(doc, &p, 0, &m);
  CHECK(m.n == 2 && osiris_json_int(osiris_json_get(m.v[1], "id"), 0) == 2);
  drv_gq_path_free(&p);
  m.n = 0;
  CHECK(drv_gq_path_parse("$.data.p.edges[1].node.id", &p) == 0);
  drv_gq_eval(doc, &p, 0, &m);
  CHECK(m.n == 1 && osiris_json_int(m.v[0], 0) == 2);
  drv_gq_path_free(&p);
  m.n = 0;
  CHECK(drv_gq_path_parse("data.p.lists[*]", &p) == 0);
  drv_gq_eval(doc, &p, 0, &m);
  CHECK(m.n == 2); /* two lists: the caller concatenates them */
  drv_gq_path_free(&p);
  m.n = 0;
  CHECK(drv_gq_path_parse("", &p) == 0 && p.n == 0);
  drv_gq_eval(doc, &p, 0, &m);
  CHECK(m.n == 1 && m.v[0] == doc);
  m.n = 0;
  CHECK(drv_gq_path_parse("data.nothing[3]", &p) == 0);
  drv_gq_eval(doc, &p, 0, &m);
  CHECK(m.n == 0);
  drv_gq_path_free(&p);
  CHECK(drv_gq_path_parse("a..b", &p) == -1);
  CHECK(drv_gq_path_parse("a[x]", &p) == -1);
  CHECK(drv_gq_path_parse("a[", &p) == -1);
  CHECK(drv_gq_path_parse("a.", &p) == -1);
  CHECK(drv_gq_path_parse("a[-1]", &p) == -1);
  osiris_free(m.v);
  osiris_json_free(doc);
}

static void test_graphql_columns(void) {
  static const char rec_text[] =
      "{\"id\":1,\"o\":{\"a\":{\"b\":true},\"e\":{}},\"l\":[1,{\"x\":2}],\"n\":null}";
  osiris_json *rec = NULL;
  osiris_buf b = {0}, name = {0};
  char *basic;
  /* widening: null neutral, int+double double, any other mix text */
  CHECK(drv_gq_widen(DRV_GQ_NULL, DRV_GQ_INT) == DRV_GQ_INT);
  CHECK(drv_gq_widen(DRV_GQ_INT, DRV_GQ_NULL) == DRV_GQ_INT);
  CHECK(drv_gq_widen(DRV_GQ_INT, DRV_GQ_DOUBLE) == DRV_GQ_DOUBLE);
  CHECK(drv_gq_widen(DRV_GQ_DOUBLE, DRV_GQ_INT) == DRV_GQ_DOUBLE);
  CHECK(drv_gq_widen(DRV_GQ_BOOL, DRV_GQ_INT) == DRV_GQ_TEXT);
  CHECK(drv_gq_widen(DRV_GQ_DOUBLE, DRV_GQ_TEXT) == DRV_GQ_TEXT);
  CHECK_RC(osiris_json_parse(rec_text, strlen(rec_text), &rec, NULL, 0), OSIRIS_OK);
  CHECK(drv_gq_cells(rec, 1, &name, 0, gq_name_cell, &b) == 0);
  CHECK_STR(b.p, "id=1;o.a.b=true;o.e=null;l=[1,{\"x\":2}];n=null;");
  b.len = 0;
  CHECK(drv_gq_cells(rec, 0, &name, 0, gq_name_cell, &b) == 0);
  CHECK_STR(b.p, "id=1;o={\"a\":{\"b\":true},\"e\":{}};l=[1,{\"x\":2}];n=null;");
  b.len = 0;
  osiris_json_free(rec);
  rec = osiris_json_new_str("x", 1);
  CHECK(drv_gq_cells(rec, 1, &name, 0, gq_name_cell, &b) == 0);
  CHECK_STR(b.p, "value=\"x\";");
  osiris_json_free(rec);
  osiris_buf_free(&b);
  osiris_buf_free(&name);
  /* RFC 7617's example */
  basic = drv_gq_basic("Aladdin", "open sesame");
  CHECK_STR(basic, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  osiris_free(basic);
  basic = drv_gq_basic("a", "b");
  CHECK_STR(basic, "Basic YTpi");
  osiris_free(basic);
  CHECK(osiris_is_credential_name("X-Hasura-Admin-Secret"));
  CHECK(osiris_is_credential_name("Authorization") && osiris_is_credential_name("X-API-KEY"));
  CHECK(!osiris_is_credential_name("X-Request-Source"));
}

int main(void) {
  setup_frames();
  RUN(test_helpers);
  RUN(test_sql_passthrough_types);
  RUN(test_sql_join_aggregate);
  RUN(test_sql_equality_lookups);
  RUN(test_sql_nulls_and_promotion);
  RUN(test_sql_decimal);
  RUN(test_sql_dates);
  RUN(test_sql_names_and_errors);
  RUN(test_sql_series);
  RUN(test_sql_zero_rows);
  RUN(test_sql_large);
  RUN(test_csv_end_to_end);
  RUN(test_graphql_paths);
  RUN(test_graphql_columns);
  osiris_frame_free(people);
  osiris_frame_free(orders);
  if (th_failed == 0 && tmp_root[0]) nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return th_report();
}
