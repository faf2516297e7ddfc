/* Section 8 (CSV): reader, writer, inference, errors, atomic writes. */
#include "../osiris.c" /* the whole engine: reaches the static fr_/cs_ functions */

#include "harness.h"

static char tdir[256];
static char errbuf[1024];

static const char *tpath(const char *name) {
  static char buf[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tdir, name);
  return buf[k];
}

static void put_file(const char *name, const char *data, size_t len) {
  FILE *fp = fopen(tpath(name), "wb");
  if (!fp) return;
  fwrite(data, 1, len, fp);
  fclose(fp);
}
#define PUT(name, lit) put_file(name, lit, sizeof(lit) - 1)

/* The whole file as a NUL-terminated string (static), or NULL. */
static const char *get_file(const char *path) {
  static char buf[1 << 16];
  FILE *fp = fopen(path, "rb");
  size_t n;
  if (!fp) return NULL;
  n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = 0;
  fclose(fp);
  return buf;
}

static osiris_csv_opts dopts(void) {
  osiris_csv_opts o;
  memset(&o, 0, sizeof o);
  o.header = 1;
  o.limit = -1;
  o.infer_types = 1;
  return o;
}

static osiris_frame *rd(const char *name, const osiris_csv_opts *o) {
  osiris_frame *f = NULL;
  osiris_rc rc = osiris_csv_read(tpath(name), o, &f, errbuf, sizeof errbuf);
  if (rc) fprintf(stderr, "  read %s: %s\n", name, errbuf);
  return f;
}

/* Cell as a C string ("<NULL>" for NULL). */
static const char *cell(const osiris_frame *f, size_t col, size_t row) {
  static char buf[4][256];
  static int k;
  size_t len;
  int is_null;
  const char *s;
  k = (k + 1) % 4;
  s = osiris_frame_format(f, col, row, buf[k], sizeof buf[k], &len, &is_null);
  if (is_null) return "<NULL>";
  if (s != buf[k]) {
    if (len >= sizeof buf[k]) len = sizeof buf[k] - 1;
    memcpy(buf[k], s, len);
    buf[k][len] = 0;
  }
  return buf[k];
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

static void test_basic_read(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  PUT("basic.csv", "id,name,score\n1,Alice,7.5\n2,\"Bob, Jr.\",8\n3,\"say \"\"hi\"\"\",\n");
  f = rd("basic.csv", &o);
  CHECK(f != NULL);
  if (!f) return;
  CHECK(osiris_frame_rows(f) == 3 && osiris_frame_cols(f) == 3);
  CHECK_STR(osiris_frame_col_name(f, 1), "name");
  CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
  CHECK(osiris_frame_col_type(f, 1) == OSIRIS_TYPE_STRING);
  CHECK(osiris_frame_col_type(f, 2) == OSIRIS_TYPE_DOUBLE);
  CHECK(osiris_frame_get_int64(f, 0, 2) == 3);
  CHECK_STR(cell(f, 1, 1), "Bob, Jr.");
  CHECK_STR(cell(f, 1, 2), "say \"hi\"");
  CHECK(osiris_frame_get_double(f, 2, 0) == 7.5);
  CHECK(osiris_frame_get_double(f, 2, 1) == 8.0);
  CHECK(osiris_frame_is_null(f, 2, 2));
  osiris_frame_free(f);
}

static void test_newlines(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  /* CRLF, quoted LF and CRLF, no final newline, blank lines skipped */
  PUT("crlf.csv", "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"p\nq\"\r\n3,last");
  f = rd("crlf.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 3);
  if (f) {
    CHECK_STR(cell(f, 1, 0), "x\r\ny");
    CHECK_STR(cell(f, 1, 1), "p\nq");
    CHECK_STR(cell(f, 1, 2), "last");
    CHECK_STR(cell(f, 0, 2), "3");
  }
  osiris_frame_free(f);
  /* final newline, trailing empty field at EOF, text after a closing quote */
  PUT("tail.csv", "a,b\n\"ab\"c,\n");
  f = rd("tail.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 1);
  if (f) {
    CHECK_STR(cell(f, 0, 0), "abc");
    CHECK_STR(cell(f, 1, 0), "<NULL>");
  }
  osiris_frame_free(f);
  PUT("tail2.csv", "a,b\n1,");
  f = rd("tail2.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 1 && osiris_frame_is_null(f, 1, 0));
  osiris_frame_free(f);
  /* a quote inside an unquoted field is literal */
  PUT("midq.csv", "a\n5\"6\n");
  f = rd("midq.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 1);
  if (f) CHECK_STR(cell(f, 0, 0), "5\"6");
  osiris_frame_free(f);
  /* empty file; header only */
  PUT("empty.csv", "");
  f = rd("empty.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 0);
  osiris_frame_free(f);
  PUT("hdr.csv", "x,y\n");
  f = rd("hdr.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 2);
  if (f) CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  osiris_frame_free(f);
}

static void test_delimiters(void) {
  static const char delims[] = {';', '\t', '|', ','};
  size_t i;
  for (i = 0; i < sizeof delims; i++) {
    osiris_csv_opts o = dopts();
    osiris_frame *f = osiris_frame_new(), *g;
    const char *txt;
    char expect[128];
    o.delimiter = delims[i];
    osiris_frame_add_column(f, "k", OSIRIS_TYPE_INT64, 0);
    osiris_frame_add_column(f, "v", OSIRIS_TYPE_STRING, 0);
    osiris_frame_append_int64(f, 0, 1);
    osiris_frame_append_text(f, 1, "a;b\tc|d,e", 9);
    osiris_frame_end_row(f);
    CHECK_RC(osiris_csv_write(tpath("delim.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
    txt = get_file(tpath("delim.csv"));
    snprintf(expect, sizeof expect, "k%cv\n1%c\"a;b\tc|d,e\"\n", delims[i], delims[i]);
    CHECK_STR(txt, expect);
    g = rd("delim.csv", &o);
    CHECK(g && osiris_frame_rows(g) == 1 && osiris_frame_cols(g) == 2);
    if (g) CHECK_STR(cell(g, 1, 0), "a;b\tc|d,e");
    osiris_frame_free(f);
    osiris_frame_free(g);
  }
  {
    osiris_csv_opts o = dopts();
    osiris_frame *f = NULL;
    o.delimiter = '"';
    CHECK_RC(osiris_csv_read(tpath("delim.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  }
}

static void test_round_trip_all_types(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = osiris_frame_new(), *g;
  const char *txt;
  static const char *names[] = {"id", "text", "score", "flag", "day", "ts", "opt"};
  static const osiris_type types[] = {OSIRIS_TYPE_INT64, OSIRIS_TYPE_STRING,
                                      OSIRIS_TYPE_DOUBLE, OSIRIS_TYPE_BOOL,
                                      OSIRIS_TYPE_DATE, OSIRIS_TYPE_TIMESTAMP,
                                      OSIRIS_TYPE_STRING};
  static const char *texts[] = {"plain", "a,b", "q\"uote", "line1\nline2", " lead",
                                "trail ", "cr\rhere", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"};
  size_t i, c;
  for (c = 0; c < 7; c++) CHECK_RC(osiris_frame_add_column(f, names[c], types[c], 0), OSIRIS_OK);
  for (i = 0; i < 8; i++) {
    osiris_frame_append_int64(f, 0, (int64_t)i * 1000 - 3000);
    osiris_frame_append_text(f, 1, texts[i], strlen(texts[i]));
    osiris_frame_append_double(f, 2, (double)i / 8.0 - 0.3);
    osiris_frame_append_bool(f, 3, (int)(i % 2));
    osiris_frame_append_date(f, 4, (int32_t)(i * 1000) - 4000);
    osiris_frame_append_timestamp(f, 5, (int64_t)i * INT64_C(86400123457) - INT64_C(10));
    if (i % 3 == 0) osiris_frame_append_null(f, 6);
    else osiris_frame_append_text(f, 6, "x", 1);
    CHECK_RC(osiris_frame_end_row(f), OSIRIS_OK);
  }
  CHECK_RC(osiris_csv_write(tpath("sub/dir/all.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  txt = get_file(tpath("sub/dir/all.csv"));
  CHECK(txt && os_startswith(txt, "id,text,score,flag,day,ts,opt\n-3000,plain,-0.3,false,1959-01-19,"
                                  "1969-12-31T23:59:59.999990,\n"));
  CHECK(txt && contains(txt, "\n-2000,\"a,b\",-0.175,true,1961-10-15,1970-01-02T00:00:00.123447,x\n"));
  CHECK(txt && contains(txt, ",\"q\"\"uote\","));
  CHECK(txt && contains(txt, ",\"line1\nline2\","));
  CHECK(txt && contains(txt, ",\" lead\","));
  CHECK(txt && contains(txt, ",\"trail \","));
  CHECK(txt && contains(txt, ",\"cr\rhere\","));
  g = rd("sub/dir/all.csv", &o);
  CHECK(g != NULL);
  if (!g) {
    osiris_frame_free(f);
    return;
  }
  CHECK(osiris_frame_rows(g) == 8 && osiris_frame_cols(g) == 7);
  for (c = 0; c < 7; c++) {
    CHECK_STR(osiris_frame_col_name(g, c), names[c]);
    CHECK(osiris_frame_col_type(g, c) == types[c]);
  }
  for (i = 0; i < 8; i++)
    for (c = 0; c < 7; c++) CHECK_STR(cell(g, c, i), cell(f, c, i));
  CHECK(osiris_frame_get_timestamp(g, 5, 1) == INT64_C(86400123447));
  osiris_frame_free(f);
  osiris_frame_free(g);
}

static void test_nulls_and_empty(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = osiris_frame_new(), *g;
  /* Documented: an empty string and a NULL both write as an empty field
   * and both read back as NULL. */
  osiris_frame_add_column(f, "a", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(f, "b", OSIRIS_TYPE_INT64, 0);
  osiris_frame_append_text(f, 0, "", 0);
  osiris_frame_append_null(f, 1);
  osiris_frame_end_row(f);
  osiris_frame_append_null(f, 0);
  osiris_frame_append_int64(f, 1, 5);
  osiris_frame_end_row(f);
  CHECK_RC(osiris_csv_write(tpath("nulls.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("nulls.csv")), "a,b\n,\n,5\n");
  g = rd("nulls.csv", &o);
  CHECK(g && osiris_frame_rows(g) == 2);
  if (g) {
    CHECK(osiris_frame_is_null(g, 0, 0) && osiris_frame_is_null(g, 0, 1));
    CHECK(osiris_frame_is_null(g, 1, 0) && osiris_frame_get_int64(g, 1, 1) == 5);
    CHECK(osiris_frame_col_type(g, 1) == OSIRIS_TYPE_INT64);
  }
  osiris_frame_free(f);
  osiris_frame_free(g);
  /* one column: a NULL row is written as "" so it is not a blank line */
  f = osiris_frame_new();
  osiris_frame_add_column(f, "v", OSIRIS_TYPE_INT64, 0);
  osiris_frame_append_int64(f, 0, 1);
  osiris_frame_end_row(f);
  osiris_frame_append_null(f, 0);
  osiris_frame_end_row(f);
  osiris_frame_append_int64(f, 0, 3);
  osiris_frame_end_row(f);
  CHECK_RC(osiris_csv_write(tpath("one.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("one.csv")), "v\n1\n\"\"\n3\n");
  g = rd("one.csv", &o);
  CHECK(g && osiris_frame_rows(g) == 3 && osiris_frame_is_null(g, 0, 1));
  if (g) CHECK(osiris_frame_get_int64(g, 0, 2) == 3);
  osiris_frame_free(f);
  osiris_frame_free(g);
  /* na_values */
  PUT("na.csv", "a,b,c\nNA,1,x\n-,NA,y\nok,3,NULL\n");
  o.na_values = (const char *const[]){"NA", "-", NULL};
  g = rd("na.csv", &o);
  CHECK(g && osiris_frame_rows(g) == 3);
  if (g) {
    CHECK(osiris_frame_is_null(g, 0, 0) && osiris_frame_is_null(g, 0, 1));
    CHECK_STR(cell(g, 0, 2), "ok");
    CHECK(osiris_frame_col_type(g, 1) == OSIRIS_TYPE_INT64);
    CHECK(osiris_frame_is_null(g, 1, 1) && osiris_frame_get_int64(g, 1, 2) == 3);
    CHECK_STR(cell(g, 2, 2), "NULL"); /* only listed markers are NULL */
  }
  osiris_frame_free(g);
  o.na_values = NULL;
  g = rd("na.csv", &o);
  CHECK(g && osiris_frame_col_type(g, 1) == OSIRIS_TYPE_STRING);
  if (g) CHECK_STR(cell(g, 0, 0), "NA");
  osiris_frame_free(g);
}

static void test_encodings(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL;
  PUT("utf8.csv", "name\ncaf\xc3\xa9\n\xe6\x97\xa5\xe6\x9c\xac\n\xf0\x9f\x98\x80\n");
  f = rd("utf8.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 3);
  if (f) {
    CHECK_STR(cell(f, 0, 0), "caf\xc3\xa9");
    CHECK_STR(cell(f, 0, 2), "\xf0\x9f\x98\x80");
  }
  osiris_frame_free(f);
  /* BOM skipped */
  PUT("bom.csv", "\xef\xbb\xbf" "a,b\n1,2\n");
  f = rd("bom.csv", &o);
  CHECK(f && osiris_frame_cols(f) == 2);
  if (f) CHECK_STR(osiris_frame_col_name(f, 0), "a");
  osiris_frame_free(f);
  /* latin-1 converted */
  PUT("latin1.csv", "nom,ville\nJos\xe9,Z\xfcrich\n\xbfqu\xe9?,x\n");
  o.latin1 = 1;
  f = rd("latin1.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 2);
  if (f) {
    CHECK_STR(cell(f, 0, 0), "Jos\xc3\xa9");
    CHECK_STR(cell(f, 1, 0), "Z\xc3\xbcrich");
    CHECK_STR(cell(f, 0, 1), "\xc2\xbfqu\xc3\xa9?");
  }
  osiris_frame_free(f);
  /* the same bytes as UTF-8: rejected with the line */
  o.latin1 = 0;
  f = NULL;
  CHECK_RC(osiris_csv_read(tpath("latin1.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(f == NULL);
  CHECK(contains(errbuf, "latin1.csv:2: invalid UTF-8"));
}

static void test_header_skip_limit(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  PUT("rows.csv", "# generated\n# by hand\na,b\n1,x\n2,y\n3,z\n4,w\n5,v\n");
  o.skip_rows = 2;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 5 && osiris_frame_cols(f) == 2);
  if (f) CHECK(osiris_frame_get_int64(f, 0, 4) == 5);
  osiris_frame_free(f);
  o.limit = 2;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 2);
  if (f) CHECK(osiris_frame_get_int64(f, 0, 1) == 2);
  osiris_frame_free(f);
  o.limit = 0;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 2);
  osiris_frame_free(f);
  /* header off: columns "0","1"; the header row is data */
  o.limit = -1;
  o.skip_rows = 2;
  o.header = 0;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 6 && osiris_frame_cols(f) == 2);
  if (f) {
    CHECK_STR(osiris_frame_col_name(f, 0), "0");
    CHECK_STR(osiris_frame_col_name(f, 1), "1");
    CHECK_STR(cell(f, 0, 0), "a");
    CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  }
  osiris_frame_free(f);
  o.header = 0;
  o.limit = 0;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 2);
  osiris_frame_free(f);
  /* skipping past the end gives an empty frame */
  o = dopts();
  o.skip_rows = 100;
  f = rd("rows.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 0);
  osiris_frame_free(f);
  /* skipped records are records: a quoted newline does not count twice */
  PUT("skipq.csv", "\"junk\nmore\"\na\n1\n");
  o = dopts();
  o.skip_rows = 1;
  f = rd("skipq.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 1);
  if (f) CHECK_STR(osiris_frame_col_name(f, 0), "a");
  osiris_frame_free(f);
  /* duplicate and empty header names */
  PUT("dup.csv", "a,a,,\"a.1\",a\n1,2,3,4,5\n");
  o = dopts();
  f = rd("dup.csv", &o);
  CHECK(f && osiris_frame_cols(f) == 5);
  if (f) {
    CHECK_STR(osiris_frame_col_name(f, 0), "a");
    CHECK_STR(osiris_frame_col_name(f, 1), "a.1");
    CHECK_STR(osiris_frame_col_name(f, 2), "Unnamed: 2");
    CHECK_STR(osiris_frame_col_name(f, 3), "a.1.1");
    CHECK_STR(osiris_frame_col_name(f, 4), "a.2");
  }
  osiris_frame_free(f);
}

static void test_columns(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL;
  PUT("cols.csv", "a,b,c\n1,x,2.5\n2,y,3\n");
  o.columns = (const char *const[]){"c", "a", NULL};
  f = rd("cols.csv", &o);
  CHECK(f && osiris_frame_cols(f) == 2 && osiris_frame_rows(f) == 2);
  if (f) {
    CHECK_STR(osiris_frame_col_name(f, 0), "c");
    CHECK_STR(osiris_frame_col_name(f, 1), "a");
    CHECK(osiris_frame_get_double(f, 0, 1) == 3.0);
    CHECK(osiris_frame_get_int64(f, 1, 1) == 2);
  }
  osiris_frame_free(f);
  f = NULL;
  o.columns = (const char *const[]){"a", "zz", NULL};
  CHECK_RC(osiris_csv_read(tpath("cols.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  CHECK(f == NULL);
  CHECK(contains(errbuf, "column 'zz' not found; available: a, b, c"));
  /* header off: columns by position name */
  o.header = 0;
  o.columns = (const char *const[]){"2", NULL};
  f = rd("cols.csv", &o);
  CHECK(f && osiris_frame_cols(f) == 1 && osiris_frame_rows(f) == 3);
  if (f) CHECK_STR(cell(f, 0, 0), "c");
  osiris_frame_free(f);
}

static void test_errors(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL;
  char want[600];
  /* field count, with the physical line of the record (quoted newline before) */
  PUT("count.csv", "a,b\n\"x\ny\",1\n1,2,3\n");
  CHECK_RC(osiris_csv_read(tpath("count.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:4: expected 2 fields, got 3", tpath("count.csv"));
  CHECK_STR(errbuf, want);
  CHECK(f == NULL);
  PUT("count2.csv", "a,b,c\r\n1,2,3\r\n\r\n4,5\r\n");
  CHECK_RC(osiris_csv_read(tpath("count2.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:4: expected 3 fields, got 2", tpath("count2.csv"));
  CHECK_STR(errbuf, want);
  /* unterminated quote names the line where it opened */
  PUT("unterm.csv", "a,b\n1,2\n3,\"abc\n4,5\n6,7\n");
  CHECK_RC(osiris_csv_read(tpath("unterm.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:3: unterminated quoted field", tpath("unterm.csv"));
  CHECK_STR(errbuf, want);
  PUT("unterm2.csv", "\"");
  CHECK_RC(osiris_csv_read(tpath("unterm2.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(contains(errbuf, "unterm2.csv:1: unterminated quoted field"));
  /* missing file: absolute path in the message */
  CHECK_RC(osiris_csv_read(tpath("nope.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_ENOTFOUND);
  snprintf(want, sizeof want, "CSV file not found: %s", tpath("nope.csv"));
  CHECK_STR(errbuf, want);
  {
    char cwd[512], *abs;
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_RC(osiris_csv_read("rel/../missing_x.csv", &o, &f, errbuf, sizeof errbuf),
             OSIRIS_ENOTFOUND);
    abs = os_asprintf("CSV file not found: %s/missing_x.csv", strcmp(cwd, "/") ? cwd : "");
    CHECK_STR(errbuf, abs);
    os_free(abs);
  }
  /* a directory */
  CHECK_RC(osiris_csv_read(tdir, &o, &f, errbuf, sizeof errbuf), OSIRIS_EIO);
  CHECK(contains(errbuf, "is a directory"));
  /* invalid UTF-8 on line 3 */
  PUT("bad8.csv", "a\nok\nb\xff\n");
  CHECK_RC(osiris_csv_read(tpath("bad8.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:3: invalid UTF-8 at byte 6", tpath("bad8.csv"));
  CHECK_STR(errbuf, want);
  /* bad arguments; tiny errbuf is truncated, not overrun */
  CHECK_RC(osiris_csv_read(NULL, &o, &f, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  CHECK_RC(osiris_csv_read(tpath("bad8.csv"), &o, NULL, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  {
    char tiny[8];
    CHECK_RC(osiris_csv_read(tpath("bad8.csv"), &o, &f, tiny, sizeof tiny), OSIRIS_EPARSE);
    CHECK(strlen(tiny) == 7);
    CHECK_RC(osiris_csv_read(tpath("bad8.csv"), &o, &f, NULL, 0), OSIRIS_EPARSE);
  }
  CHECK(f == NULL);
}

static osiris_type infer_of(const char *body) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL;
  osiris_type t = (osiris_type)0;
  char data[512];
  int n = snprintf(data, sizeof data, "v\n%s", body);
  put_file("infer.csv", data, (size_t)n);
  if (osiris_csv_read(tpath("infer.csv"), &o, &f, errbuf, sizeof errbuf) == OSIRIS_OK)
    t = osiris_frame_col_type(f, 0);
  osiris_frame_free(f);
  return t;
}

static void test_inference(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  CHECK(infer_of("1\n-2\n+3\n0\n\n9223372036854775807\n-9223372036854775808\n") == OSIRIS_TYPE_INT64);
  CHECK(infer_of("007\n123\n") == OSIRIS_TYPE_STRING); /* zip codes survive */
  CHECK(infer_of("00.5\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("1\n2.5\n") == OSIRIS_TYPE_DOUBLE);
  CHECK(infer_of("1e5\n-2.5E-3\n.5\n5.\n0.0\n") == OSIRIS_TYPE_DOUBLE);
  CHECK(infer_of("9223372036854775808\n") == OSIRIS_TYPE_DOUBLE); /* past int64 */
  CHECK(infer_of("1\ninf\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("nan\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("1e\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of(".\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of(" 1\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("true\nFALSE\nTrue\n") == OSIRIS_TYPE_BOOL);
  CHECK(infer_of("true\n1\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("yes\nno\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("2024-01-31\n1969-12-31\n") == OSIRIS_TYPE_DATE);
  CHECK(infer_of("2024-02-30\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("2024-01-31 12:00:00\n2024-01-31T12:00:00.5\n2024-01-31T12:00:00.123456Z\n") ==
        OSIRIS_TYPE_TIMESTAMP);
  CHECK(infer_of("2024-01-31\n2024-01-31 12:00:00\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("2024-01-31 25:00:00\n") == OSIRIS_TYPE_STRING);
  CHECK(infer_of("\n\n\"\"\n") == OSIRIS_TYPE_STRING); /* all NULL */
  CHECK(infer_of("hello\n") == OSIRIS_TYPE_STRING);
  /* values */
  PUT("vals.csv", "i,d,b,dt,ts\n-42,0.1,TRUE,2024-02-29,2024-01-31 12:00:00.25\n"
                  "7,123456789012345678901234,false,1900-03-01,1969-12-31T23:59:59Z\n"
                  "0,1e-300,true,0001-01-01,1970-01-01 00:00:00+00:00\n");
  f = rd("vals.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 3);
  if (f) {
    CHECK(osiris_frame_get_int64(f, 0, 0) == -42);
    CHECK(osiris_frame_get_double(f, 1, 0) == 0.1);
    CHECK(osiris_frame_get_double(f, 1, 1) == strtod("123456789012345678901234", NULL));
    CHECK(osiris_frame_get_double(f, 1, 2) == strtod("1e-300", NULL));
    CHECK(osiris_frame_get_bool(f, 2, 0) == 1 && osiris_frame_get_bool(f, 2, 1) == 0);
    CHECK(osiris_frame_get_date(f, 3, 0) == 19782);
    CHECK_STR(cell(f, 3, 1), "1900-03-01");
    CHECK(osiris_frame_get_timestamp(f, 4, 0) == INT64_C(1706702400250000));
    CHECK(osiris_frame_get_timestamp(f, 4, 1) == -1000000);
    CHECK(osiris_frame_get_timestamp(f, 4, 2) == 0);
  }
  osiris_frame_free(f);
  /* infer_types off: everything is text */
  o.infer_types = 0;
  f = rd("vals.csv", &o);
  CHECK(f && osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  if (f) CHECK_STR(cell(f, 1, 2), "1e-300");
  osiris_frame_free(f);
  /* doubles parse exactly (fast path and fallback) */
  {
    static const char *nums[] = {"0.1", "-0.0", "3.141592653589793", "1e22", "1e23",
                                 "9007199254740993", "2.2250738585072014e-308", "4.9e-324",
                                 "1.7976931348623157e308", "123.456e-5", "0.000001", "5."};
    size_t i;
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    for (i = 0; i < sizeof nums / sizeof nums[0]; i++) {
      CHECK(cs_num_syntax(nums[i], strlen(nums[i])));
      CHECK(cs_parse_f64(nums[i], strlen(nums[i]), loc) == strtod(nums[i], NULL));
    }
    freelocale(loc);
  }
}

static void test_writer_options(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = osiris_frame_new();
  osiris_frame_add_column(f, "a b", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(f, "x,y", OSIRIS_TYPE_DOUBLE, 0);
  osiris_frame_add_column(f, "m", OSIRIS_TYPE_DECIMAL, 2);
  osiris_frame_append_text(f, 0, "v", 1);
  osiris_frame_append_double(f, 1, NAN);
  osiris_frame_append_text(f, 2, "1.50", 4);
  osiris_frame_end_row(f);
  osiris_frame_append_text(f, 0, "w", 1);
  osiris_frame_append_double(f, 1, 1e300);
  osiris_frame_append_null(f, 2);
  osiris_frame_end_row(f);
  o.crlf = 1;
  CHECK_RC(osiris_csv_write(tpath("w1.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("w1.csv")), "a b,\"x,y\",m\r\nv,,1.50\r\nw,1e+300,\r\n");
  o.crlf = 0;
  o.header = 0;
  CHECK_RC(osiris_csv_write(tpath("w2.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("w2.csv")), "v,,1.50\nw,1e+300,\n");
  /* NULL opts: header, comma, LF */
  CHECK_RC(osiris_csv_write(tpath("w3.csv"), f, NULL, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("w3.csv")), "a b,\"x,y\",m\nv,,1.50\nw,1e+300,\n");
  /* overwrite an existing file */
  CHECK_RC(osiris_csv_write(tpath("w3.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_STR(get_file(tpath("w3.csv")), "v,,1.50\nw,1e+300,\n");
  CHECK_RC(osiris_csv_write(NULL, f, &o, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  CHECK_RC(osiris_csv_write(tpath("w4.csv"), NULL, &o, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  osiris_frame_free(f);
}

static int has_temp_files(void) {
  DIR *d = opendir(tdir);
  struct dirent *e;
  int found = 0;
  if (!d) return 0;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) found = 1;
  closedir(d);
  return found;
}

static void test_writer_atomic(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = osiris_frame_new();
  size_t i;
  char filler[200];
  memset(filler, 'z', sizeof filler);
  osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
  for (i = 0; i < 20000; i++) {
    osiris_frame_append_text(f, 0, filler, sizeof filler);
    osiris_frame_end_row(f);
  }
  /* parent is a regular file: nothing is created */
  PUT("plainfile", "keep");
  CHECK_RC(osiris_csv_write(tpath("plainfile/out.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_EIO);
  CHECK(contains(errbuf, "plainfile"));
  CHECK_STR(get_file(tpath("plainfile")), "keep");
  /* a write that fails half way (file size limit): the existing file is
   * untouched and no temp file is left behind */
  PUT("existing.csv", "old,content\n");
  {
    struct rlimit old, lim;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 100000;
    setrlimit(RLIMIT_FSIZE, &lim);
    CHECK_RC(osiris_csv_write(tpath("existing.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_EIO);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
  }
  CHECK(contains(errbuf, "cannot write"));
  CHECK_STR(get_file(tpath("existing.csv")), "old,content\n");
  CHECK(!has_temp_files());
  /* unwritable directory (only meaningful when not root) */
  if (geteuid() != 0) {
    char *ro = os_asprintf("%s/ro", tdir);
    mkdir(ro, 0755);
    put_file("ro/existing.csv", "old\n", 4);
    chmod(ro, 0555);
    CHECK_RC(osiris_csv_write(tpath("ro/existing.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_EIO);
    CHECK_STR(get_file(tpath("ro/existing.csv")), "old\n");
    CHECK_RC(osiris_csv_write(tpath("ro/new.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_EIO);
    CHECK(get_file(tpath("ro/new.csv")) == NULL);
    chmod(ro, 0755);
    os_free(ro);
  }
  /* and the same frame writes fine without the limit */
  CHECK_RC(osiris_csv_write(tpath("existing.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  {
    osiris_frame *g = rd("existing.csv", &o);
    CHECK(g && osiris_frame_rows(g) == 20000);
    osiris_frame_free(g);
  }
  CHECK(!has_temp_files());
  osiris_frame_free(f);
}

static void test_big_round_trip(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = osiris_frame_new(), *g;
  size_t i, n = 50000;
  int ok = 1;
  char txt[64];
  osiris_frame_add_column(f, "i", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(f, "d", OSIRIS_TYPE_DOUBLE, 0);
  osiris_frame_add_column(f, "t", OSIRIS_TYPE_TIMESTAMP, 0);
  for (i = 0; i < n; i++) {
    int k = snprintf(txt, sizeof txt, i % 5 ? "name %zu" : "\"q\" %zu,\n", i);
    osiris_frame_append_int64(f, 0, (int64_t)i - 1000);
    osiris_frame_append_text(f, 1, txt, (size_t)k);
    osiris_frame_append_double(f, 2, (double)i * 1.1);
    if (i % 13 == 0) osiris_frame_append_null(f, 3);
    else osiris_frame_append_timestamp(f, 3, (int64_t)i * INT64_C(1000001));
    osiris_frame_end_row(f);
  }
  CHECK_RC(osiris_csv_write(tpath("big.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
  g = rd("big.csv", &o);
  CHECK(g && osiris_frame_rows(g) == n);
  if (g) {
    size_t c;
    for (c = 0; c < 4; c++) CHECK(osiris_frame_col_type(g, c) == osiris_frame_col_type(f, c));
    for (i = 0; i < n && ok; i++)
      for (c = 0; c < 4 && ok; c++) ok = strcmp(cell(f, c, i), cell(g, c, i)) == 0;
    CHECK(ok);
    CHECK(osiris_frame_get_double(g, 2, 777) == 777 * 1.1);
  }
  osiris_frame_free(f);
  osiris_frame_free(g);
}

#ifdef OSIRIS_FAULT_INJECTION
/* Fail each allocation in turn: every call either succeeds or reports
 * ENOMEM cleanly (ASan checks for leaks and bad frees). */
static void test_alloc_failures(void) {
  osiris_csv_opts o = dopts();
  long n;
  int ok = 1, finished = 0;
  PUT("torture.csv", "a,b,c,d\n1,x,2.5,2024-01-01\n,\"y\"\"\",3,\n7,z,,2024-01-03\n");
  for (n = 0; n < 500 && ok && !finished; n++) {
    osiris_frame *f = NULL;
    osiris_rc rc;
    os_fault_countdown = n;
    rc = osiris_csv_read(tpath("torture.csv"), &o, &f, errbuf, sizeof errbuf);
    if (rc == OSIRIS_OK) {
      rc = osiris_csv_write(tpath("torture_out.csv"), f, &o, errbuf, sizeof errbuf);
      finished = rc == OSIRIS_OK && os_fault_countdown >= 0;
    }
    os_fault_countdown = -1;
    ok = rc == OSIRIS_OK || rc == OSIRIS_ENOMEM;
    osiris_frame_free(f);
  }
  CHECK(ok && finished);
}
#endif

/* The word-at-a-time scan agrees with a byte loop for every special byte at
 * every position, and UTF-8 bytes never look special. */
static void test_quote_scan(void) {
  static const char specials[] = {',', '"', '\n', '\r', ';'};
  char buf[40];
  size_t n, pos, k, bad = 0;
  for (n = 0; n <= 33; n++) {
    memset(buf, 'a', sizeof buf);
    for (pos = 0; pos < n; pos++) buf[pos] = pos % 2 ? (char)0xA9 : (char)0xC3; /* "é"... */
    if (cs_needs_quote(buf, n, ',') || cs_needs_quote(buf, n, ';')) bad++;
    for (pos = 0; pos < n; pos++)
      for (k = 0; k < sizeof specials; k++) {
        char save = buf[pos], c = specials[k];
        buf[pos] = c;
        if (cs_needs_quote(buf, n, ',') != (c != ';')) bad++;
        if (cs_needs_quote(buf, n, ';') != (c != ',')) bad++;
        buf[pos] = save;
      }
  }
  CHECK(bad == 0);
  CHECK(!cs_needs_quote("abcdefgh,", 8, ',')); /* the ninth byte is not the field's */
}

int main(void) {
  int rc;
  char cmd[600];
  snprintf(tdir, sizeof tdir, "/tmp/osiris_test_csv_XXXXXX");
  if (!mkdtemp(tdir)) {
    perror("mkdtemp");
    return 1;
  }
  RUN(test_basic_read);
  RUN(test_newlines);
  RUN(test_delimiters);
  RUN(test_round_trip_all_types);
  RUN(test_nulls_and_empty);
  RUN(test_encodings);
  RUN(test_header_skip_limit);
  RUN(test_columns);
  RUN(test_errors);
  RUN(test_inference);
  RUN(test_writer_options);
  RUN(test_writer_atomic);
  RUN(test_big_round_trip);
  RUN(test_quote_scan);
#ifdef OSIRIS_FAULT_INJECTION
  RUN(test_alloc_failures);
#endif
  rc = th_report();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tdir);
  return rc;
}
