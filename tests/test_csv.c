/* Section 8 (CSV): reader, writer, inference, errors, atomic writes. */
#include "../osiris.c" /* the whole engine: reaches the static fr_/cs_ functions */

#include "harness.h"

#include <malloc.h> /* mallinfo2: the heap a streamed read holds */

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
  /* final newline, trailing empty field at EOF, text after a closing quote
   * (kept with lenient_quotes; test_strict_quotes has the default) */
  PUT("tail.csv", "a,b\n\"ab\"c,\n");
  o.lenient_quotes = 1;
  f = rd("tail.csv", &o);
  o.lenient_quotes = 0;
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
    if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".tmp") == 0) found = 1;
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
static int torture_read(size_t chunk) {
  osiris_csv_opts o = dopts();
  long n;
  int ok = 1, finished = 0;
  cs_chunk_size = chunk;
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
  cs_chunk_size = CS_CHUNK;
  return ok && finished;
}

static void test_alloc_failures(void) {
  PUT("torture.csv", "a,b,c,d\n1,x,2.5,2024-01-01\n,\"y\"\"\",3,\n7,z,,2024-01-03\n");
  CHECK(torture_read(CS_CHUNK));
  CHECK(torture_read(5)); /* records across chunks */
  CHECK(torture_read(0)); /* the whole file at once */
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

/* ------------------------------------------------ the whole-file reader
 * osiris_csv_read as it was before it read in chunks (git 94a146f), its
 * functions renamed ref_*: the oracle the chunked reader is held to. */

typedef struct ref_reader {
  const char *path; /* as given, for messages */
  char *p;          /* the file, decoded in place; p[n] is a '\n' sentinel */
  size_t n, i, w;   /* length, read position, write position (w <= i) */
  size_t line;      /* physical line at p[i], 1-based */
  size_t rec_line;  /* line where the last record started */
  char delim;
  int lenient_quotes; /* text after a closing quote is kept, not an error */
  unsigned char stop[256]; /* 1 for the bytes that end unquoted text */
  uint64_t *ends;   /* end offset in p of each kept cell, row-major */
  size_t nends, ends_cap;
  os_err *err;
} ref_reader;

static osiris_rc ref_push_end(ref_reader *r, size_t end) {
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
static osiris_rc ref_record(ref_reader *r, int *got) {
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
      if (!r->lenient_quotes && i < n && !r->stop[(unsigned char)p[i]]) {
        rc = os_fail(r->err, OSIRIS_EPARSE,
                     "%s:%zu: text after a closing quote (quote the whole field, double the "
                     "quotes inside it, or set strict: false)",
                     r->path, r->line);
        goto done;
      }
    }
    /* Unquoted text, or text after a closing quote (kept, as pandas does). */
    start = i;
    while (!r->stop[(unsigned char)p[i]]) i++;
    if (i > start) {
      memmove(p + w, p + start, i - start);
      w += i - start;
    }
    rc = ref_push_end(r, w);
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
static osiris_rc ref_load(const char *path, char **out, size_t *outlen, os_err *err) {
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
static osiris_rc ref_latin1_to_utf8(char **data, size_t *len, os_err *err) {
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

typedef struct ref_table {
  const char *p;         /* decoded text */
  const uint64_t *ends;  /* cell end offsets */
  uint64_t base;         /* start of the first data cell */
  size_t rows, ncols;
  const char *const *na; /* extra NULL markers, or NULL */
  size_t *na_len;
} ref_table;

static const char *ref_cell(const ref_table *t, size_t row, size_t col, size_t *len) {
  size_t idx = row * t->ncols + col;
  uint64_t start = idx ? t->ends[idx - 1] : t->base;
  *len = (size_t)(t->ends[idx] - start);
  return t->p + start;
}

static int ref_is_na(const ref_table *t, const char *s, size_t len) {
  size_t k;
  if (len == 0) return 1;
  if (!t->na) return 0;
  for (k = 0; t->na[k]; k++)
    if (t->na_len[k] == len && memcmp(t->na[k], s, len) == 0) return 1;
  return 0;
}

static osiris_type ref_infer(const ref_table *t, size_t col) {
  unsigned alive = CS_T_INT | CS_T_DBL | CS_T_BOOL | CS_T_DATE | CS_T_TS;
  size_t r, len;
  int any = 0, bv;
  int32_t dv;
  int64_t tv;
  for (r = 0; r < t->rows && alive; r++) {
    const char *s = ref_cell(t, r, col, &len);
    if (ref_is_na(t, s, len)) continue;
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
/* Rows [r0, r1) of one column, appended to the frame column c. */
static osiris_rc ref_fill(const ref_table *t, size_t col, fr_col *c, size_t r0, size_t r1,
                         locale_t c_locale) {
  size_t r, len, total = 0;
  osiris_rc rc;
  rc = fr_col_reserve(c, c->n + (r1 - r0));
  if (rc) return rc;
  if (c->type == OSIRIS_TYPE_STRING) {
    for (r = r0; r < r1; r++) {
      const char *s = ref_cell(t, r, col, &len);
      if (!ref_is_na(t, s, len)) total += len;
    }
    rc = fr_col_reserve_text(c, total);
    if (rc) return rc;
  }
  for (r = r0; r < r1 && !rc; r++) {
    const char *s = ref_cell(t, r, col, &len);
    int64_t i64 = 0;
    int32_t i32 = 0;
    int bv = 0;
    if (ref_is_na(t, s, len)) {
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

static osiris_rc ref_csv_read(const char *path, const osiris_csv_opts *o, osiris_frame **out,
                             char *ebuf, size_t ecap) {
  osiris_csv_opts dflt;
  os_err err;
  ref_reader r;
  ref_table t;
  char **names = NULL;
  size_t *sel = NULL, *na_len = NULL;
  size_t ncols = 0, nsel = 0, nrows = 0, skipped = 0, k, r0, r1;
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
  if (ebuf && ecap) ebuf[0] = 0;
  if (!path || !out) {
    rc = os_fail(&err, OSIRIS_EINVAL, "osiris_csv_read: path and out are required");
    goto done;
  }
  r.path = path;
  r.err = &err;
  r.line = 1;
  r.lenient_quotes = o->lenient_quotes != 0;
  r.delim = o->delimiter ? o->delimiter : ',';
  if (r.delim == '"' || r.delim == '\n' || r.delim == '\r') {
    rc = os_fail(&err, OSIRIS_EINVAL, "%s: invalid CSV delimiter", path);
    goto done;
  }
  r.stop[(unsigned char)r.delim] = r.stop['\n'] = r.stop['\r'] = 1;
  rc = ref_load(path, &r.p, &r.n, &err);
  if (rc) goto done;
  if (o->latin1) {
    rc = ref_latin1_to_utf8(&r.p, &r.n, &err);
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
    rc = ref_record(&r, &got);
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
                                 o->infer_types ? ref_infer(&t, sel[k]) : OSIRIS_TYPE_STRING, 0);
  /* Whole at once, or in batches handed to on_rows (which may take them). */
  for (r0 = 0; !rc && (r0 < nrows || r0 == 0); r0 = r1) {
    r1 = o->on_rows && nrows - r0 > CS_BATCH_ROWS ? r0 + CS_BATCH_ROWS : nrows;
    for (k = 0; k < nsel && !rc; k++) rc = ref_fill(&t, sel[k], &f->cols[k], r0, r1, c_locale);
    if (rc) {
      rc = os_fail(&err, rc, "%s: %s", path,
                   rc == OSIRIS_ENOMEM   ? "out of memory"
                   : rc == OSIRIS_ELIMIT ? "too much data for a frame"
                                         : "cannot build the frame");
      goto done;
    }
    rc = fr_commit_rows(f, f->rows + (r1 - r0));
    if (rc) {
      rc = os_fail(&err, rc, "%s: internal error building the frame", path);
      goto done;
    }
    if (o->on_rows && r1 < nrows) {
      rc = o->on_rows(o->on_rows_user, f);
      if (rc) {
        rc = os_fail(&err, rc, "%s: stopped after %zu rows (%s)", path, r1, osiris_rc_name(rc));
        goto done;
      }
    }
    if (nrows == 0) break;
  }
  *out = f;
  f = NULL;
done:
  if (rc) cs_copy_err(&err, ebuf, ecap);
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


/* ------------------------------------------------- chunked reading
 * The reader reads a regular file in two passes over chunks.  Each input
 * below goes through every path -- the whole file as one chunk, chunks of
 * 1..64 bytes and more (so records, quoted newlines, CRLF, UTF-8
 * characters, the BOM and the header straddle chunks everywhere), with
 * on_rows unset, taking the rows out, or leaving them -- and must give
 * exactly what the whole-file reader gave (ref_csv_read above): the same
 * frame value by value, or the same error message. */

/* Frames equal in names, types, rows and every cell (text and NULL). */
static int same_frame(const osiris_frame *a, const osiris_frame *b, char *why, size_t cap) {
  size_t c, r, na, nb;
  int nulla, nullb;
  char ba[256], bb[256];
  if (osiris_frame_cols(a) != osiris_frame_cols(b) || osiris_frame_rows(a) != osiris_frame_rows(b)) {
    snprintf(why, cap, "shape %zux%zu vs %zux%zu", osiris_frame_rows(a), osiris_frame_cols(a),
             osiris_frame_rows(b), osiris_frame_cols(b));
    return 0;
  }
  for (c = 0; c < osiris_frame_cols(a); c++) {
    if (strcmp(osiris_frame_col_name(a, c), osiris_frame_col_name(b, c)) != 0 ||
        osiris_frame_col_type(a, c) != osiris_frame_col_type(b, c)) {
      snprintf(why, cap, "column %zu: %s %s vs %s %s", c, osiris_frame_col_name(a, c),
               osiris_type_name(osiris_frame_col_type(a, c)), osiris_frame_col_name(b, c),
               osiris_type_name(osiris_frame_col_type(b, c)));
      return 0;
    }
    for (r = 0; r < osiris_frame_rows(a); r++) {
      const char *sa = osiris_frame_format(a, c, r, ba, sizeof ba, &na, &nulla);
      const char *sb = osiris_frame_format(b, c, r, bb, sizeof bb, &nb, &nullb);
      if (nulla != nullb || na != nb || (na && memcmp(sa, sb, na) != 0)) {
        snprintf(why, cap, "row %zu column %zu: '%.*s'%s vs '%.*s'%s", r, c, (int)na, sa,
                 nulla ? " (NULL)" : "", (int)nb, sb, nullb ? " (NULL)" : "");
        return 0;
      }
    }
  }
  return 1;
}

/* on_rows for the tests: take the rows out (a streamed step) into one
 * accumulated frame, or leave them (streaming off); count the calls. */
typedef struct acc_rows {
  int take;
  osiris_frame *all; /* rows taken so far */
  size_t calls, odd; /* odd: calls not at a multiple of CS_BATCH_ROWS */
  void (*hook)(struct acc_rows *a); /* run at the first call, or NULL */
  const char *path;
  int action;
} acc_rows;

static osiris_rc acc_on_rows(void *user, osiris_frame *f) {
  acc_rows *a = user;
  osiris_frame *b;
  osiris_rc rc = OSIRIS_OK;
  a->calls++;
  if ((f->rows + (a->all ? a->all->rows : 0)) % CS_BATCH_ROWS) a->odd++;
  if (a->hook && a->calls == 1) a->hook(a);
  if (!a->take) return OSIRIS_OK;
  b = fr_take_rows(f);
  if (!b) return OSIRIS_ENOMEM;
  if (!a->all) return a->all = b, OSIRIS_OK;
  rc = fr_concat(a->all, b);
  osiris_frame_free(b);
  return rc;
}

/* Read path with the reader under test: chunk bytes at a time (0: the
 * whole file at once), mode 0 without on_rows, 1 taking the rows out, 2
 * leaving them.  *out is every row read, in order. */
static osiris_rc rd_mode(const char *path, const osiris_csv_opts *base, size_t chunk, int mode,
                         acc_rows *a, osiris_frame **out, char *err, size_t cap) {
  osiris_csv_opts o = *base;
  osiris_frame *f = NULL;
  osiris_rc rc;
  size_t saved = cs_chunk_size;
  a->take = mode == 1;
  o.on_rows = mode ? acc_on_rows : NULL;
  o.on_rows_user = a;
  cs_chunk_size = chunk;
  rc = osiris_csv_read(path, &o, &f, err, cap);
  cs_chunk_size = saved;
  *out = NULL;
  if (rc) {
    osiris_frame_free(a->all);
  } else if (a->all) {
    if (fr_concat(a->all, f) != OSIRIS_OK) rc = OSIRIS_EINVAL;
    osiris_frame_free(f);
    *out = a->all;
  } else {
    *out = f;
  }
  a->all = NULL;
  return rc;
}

static const size_t every_chunk[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                     16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                     32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                                     48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
                                     64, 100, 1000, 4096, 65536, CS_CHUNK};
static const size_t few_chunks[] = {0, 1, 7, 64, 4099, CS_CHUNK};

/* The file as the whole-file reader read it, against every path above;
 * 1 when all agree (the first difference is printed). */
static int agree_chunks(const char *name, const osiris_csv_opts *o, const size_t *chunks,
                        size_t nchunks) {
  char eref[2048], enew[2048], why[600];
  osiris_frame *ref = NULL, *got;
  osiris_csv_opts ro = *o;
  acc_rows a;
  osiris_rc rref, rc;
  size_t k, ref_calls = 0;
  int mode, ok = 1;
  memset(&a, 0, sizeof a);
  ro.on_rows = NULL;
  rref = ref_csv_read(tpath(name), &ro, &ref, eref, sizeof eref);
  if (!rref) { /* the calls on_rows gets, as it got them */
    osiris_frame *g = NULL;
    ro.on_rows = acc_on_rows;
    ro.on_rows_user = &a;
    if (ref_csv_read(tpath(name), &ro, &g, eref, sizeof eref) == OSIRIS_OK) ref_calls = a.calls;
    osiris_frame_free(g);
  }
  for (k = 0; k < nchunks && ok; k++) {
    for (mode = 0; mode < 3 && ok; mode++) {
      memset(&a, 0, sizeof a);
      rc = rd_mode(tpath(name), o, chunks[k], mode, &a, &got, enew, sizeof enew);
      if (rc != rref || (rc && strcmp(eref, enew) != 0)) {
        fprintf(stderr, "  %s chunk %zu mode %d: rc %d \"%s\", whole-file reader rc %d \"%s\"\n",
                name, chunks[k], mode, (int)rc, rc ? enew : "", (int)rref, rref ? eref : "");
        ok = 0;
      } else if (!rc && !same_frame(ref, got, why, sizeof why)) {
        fprintf(stderr, "  %s chunk %zu mode %d: %s\n", name, chunks[k], mode, why);
        ok = 0;
      } else if (!rc && mode && (a.calls != ref_calls || a.odd)) {
        fprintf(stderr, "  %s chunk %zu mode %d: %zu on_rows calls (%zu odd), want %zu\n", name,
                chunks[k], mode, a.calls, a.odd, ref_calls);
        ok = 0;
      }
      osiris_frame_free(got);
    }
  }
  osiris_frame_free(ref);
  return ok;
}

static int agree(const char *name, const osiris_csv_opts *o) {
  return agree_chunks(name, o, every_chunk, sizeof every_chunk / sizeof every_chunk[0]);
}

#define AGREE(name, lit, o) (put_file(name, lit, sizeof(lit) - 1), agree(name, o))

static void test_chunks_inputs(void) {
  osiris_csv_opts o = dopts();
  /* the inputs of the tests above */
  CHECK(AGREE("c_basic.csv", "id,name,score\n1,Alice,7.5\n2,\"Bob, Jr.\",8\n3,\"say \"\"hi\"\"\",\n", &o));
  CHECK(AGREE("c_crlf.csv", "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,\"p\nq\"\r\n3,last", &o));
  CHECK(AGREE("c_tail.csv", "a,b\n\"ab\"c,\n", &o));
  CHECK(AGREE("c_tail2.csv", "a,b\n1,", &o));
  CHECK(AGREE("c_midq.csv", "a\n5\"6\n", &o));
  CHECK(AGREE("c_empty.csv", "", &o));
  CHECK(AGREE("c_hdr.csv", "x,y\n", &o));
  CHECK(AGREE("c_hdr2.csv", "x,y", &o));
  CHECK(AGREE("c_utf8.csv", "name\ncaf\xc3\xa9\n\xe6\x97\xa5\xe6\x9c\xac\n\xf0\x9f\x98\x80\n", &o));
  CHECK(AGREE("c_bom.csv", "\xef\xbb\xbf" "a,b\n1,2\n", &o));
  CHECK(AGREE("c_bom_only.csv", "\xef\xbb\xbf", &o));
  CHECK(AGREE("c_bom_short.csv", "\xef\xbb", &o));
  CHECK(AGREE("c_count.csv", "a,b\n\"x\ny\",1\n1,2,3\n", &o));
  CHECK(AGREE("c_count2.csv", "a,b,c\r\n1,2,3\r\n\r\n4,5\r\n", &o));
  CHECK(AGREE("c_unterm.csv", "a,b\n1,2\n3,\"abc\n4,5\n6,7\n", &o));
  CHECK(AGREE("c_unterm2.csv", "\"", &o));
  CHECK(AGREE("c_unterm3.csv", "a\n\"x\"\"", &o));
  CHECK(AGREE("c_bad8.csv", "a\nok\nb\xff\n", &o));
  CHECK(AGREE("c_vals.csv", "i,d,b,dt,ts\n-42,0.1,TRUE,2024-02-29,2024-01-31 12:00:00.25\n"
                            "7,123456789012345678901234,false,1900-03-01,1969-12-31T23:59:59Z\n"
                            "0,1e-300,true,0001-01-01,1970-01-01 00:00:00+00:00\n", &o));
  CHECK(AGREE("c_dup.csv", "a,a,,\"a.1\",a\n1,2,3,4,5\n", &o));
  /* line ends and blank lines split anywhere */
  CHECK(AGREE("c_cr.csv", "a,b\r1,2\r\r3,\"x\ry\"\r", &o));
  CHECK(AGREE("c_cr_eof.csv", "a,b\r\n1,2\r", &o));
  CHECK(AGREE("c_blank.csv", "\n\r\n\ra,b\n\n\n1,2\r\n\r\n\r\n3,4\n\n\n", &o));
  CHECK(AGREE("c_blank_err.csv", "\n\r\n\ra,b\n\n\n1,2\r\n\r\n\r\n3,4,5\n\n\n", &o));
  CHECK(AGREE("c_quotes.csv", "a,b\n\"\"\"\",\"\"\n\"x\"\"y\"\"\",\"a\r\nb\"\"\r\nc\"\n\"\",\"\"\"\"\"\"\n", &o));
  CHECK(AGREE("c_after.csv", "a,b\n\"ab\"cd,\"\"x\n\"q\"\r\n", &o));
  CHECK(AGREE("c_one.csv", "v\n1\n\"\"\n3\n", &o));
  CHECK(AGREE("c_trail.csv", "a,b,c\n1,,\n,,\n", &o));
  CHECK(AGREE("c_hdr_nl.csv", "\"first\nname\",\"caf\xc3\xa9\"\n1,2\n", &o));
  /* every inferred type, with NULLs between */
  CHECK(AGREE("c_types.csv", "i,d,b,dt,ts,s,n\n1,1.5,true,2024-01-31,2024-01-31 12:00:00,x,\n"
                             ",,,,,,\n-7,1e5,FALSE,1969-12-31,2024-01-31T12:00:00.5,007,\n"
                             "+3,.5,True,2000-02-29,2024-01-31T12:00:00.123456Z,\"a,b\",\n", &o));
  CHECK(AGREE("c_types2.csv", "i,d,b\n9223372036854775807,inf,true\n-9223372036854775808,1,1\n", &o));
  /* UTF-8 errors: split characters, truncated at the end, after other errors */
  CHECK(AGREE("c_bad_split.csv", "a\n\xe6\x97\n\xf0\x9f\x98\x80\n", &o));
  CHECK(AGREE("c_bad_end.csv", "a\nok\n\xf0\x9f\x98", &o));
  CHECK(AGREE("c_bad_end2.csv", "a\nok\n\xc3", &o));
  CHECK(AGREE("c_bad_surr.csv", "a\n\xed\xa0\x80\n", &o));
  CHECK(AGREE("c_bad_over.csv", "a\n\xe0\x80\xaf\n", &o));
  CHECK(AGREE("c_bad_cont.csv", "a\nx\x80\x80\x80\x80y\n", &o));
  CHECK(AGREE("c_bad_after_count.csv", "a,b\n1,2\n3\n4,5\n6,\xff\n", &o));
  CHECK(AGREE("c_bad_after_unterm.csv", "a,b\n1,\"2\n3\n\xff\n", &o));
  CHECK(AGREE("c_bad_in_quote.csv", "a,b\n1,\"x\n\xc3\xa9\xc3\n\"\n", &o));
  /* delimiters */
  o.delimiter = ';';
  CHECK(AGREE("c_semi.csv", "a;b\n1,5;\"x;y\"\n2;z\n", &o));
  o.delimiter = '\t';
  CHECK(AGREE("c_tab.csv", "a\tb\n1\t\"x\ty\"\n\t\n", &o));
  o = dopts();
  /* na_values */
  o.na_values = (const char *const[]){"NA", "-", NULL};
  CHECK(AGREE("c_na.csv", "a,b,c\nNA,1,x\n-,NA,y\nok,3,NULL\n\"NA\",\"-\",\"\"\n", &o));
  o = dopts();
  /* latin-1, the same bytes as UTF-8, a BOM read as latin-1 */
  o.latin1 = 1;
  CHECK(AGREE("c_latin1.csv", "nom,ville\nJos\xe9,Z\xfcrich\n\xbfqu\xe9?,\"\xe9\n\xff\"\n", &o));
  CHECK(AGREE("c_latin1_bom.csv", "\xef\xbb\xbf" "a,b\n1,2\n", &o));
  CHECK(AGREE("c_latin1_err.csv", "a,b\n\xe9,1\n\xe9\n", &o));
  o.latin1 = 0;
  CHECK(AGREE("c_latin1.csv", "nom,ville\nJos\xe9,Z\xfcrich\n\xbfqu\xe9?,x\n", &o));
  /* header, skip_rows, limit */
  PUT("c_rows.csv", "# generated\n# by hand, \"with\nquotes\"\na,b\n1,x\n2,y\n3,z\n4,w\n5,v\n");
  {
    static const int64_t limits[] = {-1, 0, 1, 2, 5, 6, 100};
    size_t li, skip;
    int header;
    for (header = 0; header < 2; header++)
      for (skip = 0; skip < 5; skip++)
        for (li = 0; li < sizeof limits / sizeof limits[0]; li++) {
          o = dopts();
          o.header = header;
          o.skip_rows = skip;
          o.limit = limits[li];
          CHECK(agree("c_rows.csv", &o));
        }
  }
  /* errors after the limit: an unterminated quote in the record after the
   * last row still counts (that record was parsed); a field count does not;
   * invalid UTF-8 anywhere does */
  o = dopts();
  o.limit = 1;
  CHECK(AGREE("c_lim_q.csv", "a\n1\n\"x\n", &o));
  CHECK(AGREE("c_lim_q2.csv", "a\n1\n2\n\"x\n", &o));
  CHECK(AGREE("c_lim_n.csv", "a\n1\n2,3\n", &o));
  CHECK(AGREE("c_lim_u.csv", "a\n1\n2\n3\n\xff\n", &o));
  o.limit = 0;
  CHECK(AGREE("c_lim_u.csv", "a\n1\n2\n3\n\xff\n", &o));
  /* columns: subset, order, by position name, not found (after a parse
   * error, which comes first) */
  o = dopts();
  o.columns = (const char *const[]){"c", "a", NULL};
  CHECK(AGREE("c_cols.csv", "a,b,c\n1,x,2.5\n2,y,3\n", &o));
  o.columns = (const char *const[]){"a", "zz", NULL};
  CHECK(agree("c_cols.csv", &o));
  CHECK(AGREE("c_cols_err.csv", "a,b,c\n1,x,2.5\n2,y\n", &o));
  CHECK(AGREE("c_cols_empty.csv", "", &o));
  o.header = 0;
  o.columns = (const char *const[]){"2", "0", NULL};
  CHECK(AGREE("c_cols.csv", "a,b,c\n1,x,2.5\n2,y,3\n", &o));
  /* infer_types off */
  o = dopts();
  o.infer_types = 0;
  CHECK(agree("c_types.csv", &o));
  /* a directory, a missing file */
  o = dopts();
  CHECK(agree("", &o));
  CHECK(agree("c_missing.csv", &o));
}

/* More rows than a batch: on_rows calls, rows taken out between them. */
static void test_chunks_batches(void) {
  osiris_csv_opts o = dopts();
  os_buf b = {0};
  size_t i, nb = sizeof few_chunks / sizeof few_chunks[0];
  ob_puts(&b, "\xef\xbb\xbfid,name,score,day,flag\r\n");
  for (i = 0; i < 3 * CS_BATCH_ROWS + 17; i++) {
    if (i % 1000 == 7) ob_puts(&b, "\r\n\r\n"); /* blank lines */
    ob_printf(&b, "%zu,", i);
    if (i % 97 == 0) ob_printf(&b, "\"multi\nline, \"\"%zu\"\"\",", i);
    else if (i % 13 == 0) ob_puts(&b, ",");
    else ob_printf(&b, "n\xc3\xa9%zu,", i % 50);
    ob_printf(&b, i % 11 ? "%zu.%zu," : ",", i / 3, i % 10);
    ob_printf(&b, "20%02zu-0%zu-1%zu,%s\r\n", i % 100, 1 + i % 9, i % 10, i % 3 ? "true" : "False");
  }
  put_file("c_big.csv", b.p, b.len);
  CHECK(agree_chunks("c_big.csv", &o, few_chunks, nb));
  o.limit = (int64_t)(2 * CS_BATCH_ROWS); /* exactly two batches: one call */
  CHECK(agree_chunks("c_big.csv", &o, few_chunks, nb));
  o.limit = (int64_t)(2 * CS_BATCH_ROWS + 1);
  CHECK(agree_chunks("c_big.csv", &o, few_chunks, nb));
  o = dopts();
  o.skip_rows = 3;
  o.header = 0;
  o.columns = (const char *const[]){"3", "1", NULL};
  CHECK(agree_chunks("c_big.csv", &o, few_chunks, nb));
  /* a field count error far in */
  ob_puts(&b, "1,2\r\n");
  put_file("c_big_err.csv", b.p, b.len);
  o = dopts();
  CHECK(agree_chunks("c_big_err.csv", &o, few_chunks, nb));
  ob_free(&b);
}

/* Random inputs from the pieces CSV is made of, with random options: the
 * chunked reader at a random chunk size against the whole-file reader. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static size_t rng(size_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (size_t)(rng_state % n);
}

static void test_chunks_random(void) {
  static const char *const cells[] = {"a", "1", "-2", "3.5", "1e3", "007", "true", "FALSE",
                                      "2024-01-31", "2024-01-31 12:00:00", "NA", "", "",
                                      "caf\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", " x"};
  static const char *const quoted[] = {"\"\"", "\"a,b\"", "\"x\ny\"", "\"q\"\"q\"", "\"\r\n\"",
                                       "\"\"\"\"", "\"1\"", "\"NA\"", "\"c\"x"};
  static const char *const eols[] = {"\n", "\r\n", "\r"};
  static const char *const oddities[] = {"\xff", "\xc3", "\"", "\n", "\r", "\xef\xbb\xbf", ","};
  static const char *const na[] = {"NA", "1", NULL}, *const cols[] = {"c1", "c0", NULL};
  int iter, bad = 0;
  for (iter = 0; iter < 3000 && bad < 5; iter++) {
    os_buf b = {0};
    osiris_csv_opts o = dopts();
    size_t ncols = 1 + rng(4), nrows = rng(9), r, c, k;
    char delim = rng(6) ? ',' : ';';
    const char *eol = eols[rng(3)];
    char eref[2048], enew[2048], why[600];
    osiris_frame *ref = NULL, *got = NULL;
    osiris_rc rref, rc;
    acc_rows a;
    size_t chunk = rng(5) ? 1 + rng(40) : 0;
    int mode = (int)rng(3);
    if (!rng(8)) ob_puts(&b, "\xef\xbb\xbf");
    for (r = 0; r < nrows + 1; r++) {
      size_t n = rng(10) ? ncols : 1 + rng(4);
      if (!rng(8)) ob_puts(&b, eol); /* a blank line */
      for (c = 0; c < n; c++) {
        if (c) ob_putc(&b, delim);
        k = rng(10);
        if (k < 6) ob_puts(&b, cells[rng(sizeof cells / sizeof cells[0])]);
        else if (k < 9) ob_puts(&b, quoted[rng(sizeof quoted / sizeof quoted[0])]);
        else if (r) ob_puts(&b, cells[1 + rng(3)]);
        else ob_printf(&b, "c%zu", c);
        if (!rng(60)) ob_puts(&b, oddities[rng(sizeof oddities / sizeof oddities[0])]);
      }
      if (r < nrows || rng(2)) ob_puts(&b, eol);
    }
    o.delimiter = delim;
    o.header = rng(5) != 0;
    o.skip_rows = rng(4) ? 0 : rng(3);
    o.limit = rng(4) ? -1 : (int64_t)rng(4);
    o.latin1 = rng(10) == 0;
    o.infer_types = rng(10) != 0;
    o.lenient_quotes = rng(3) != 0;
    if (!rng(5)) o.na_values = na;
    if (!rng(8)) o.columns = cols;
    put_file("c_rand.csv", b.p ? b.p : "", b.len);
    rref = ref_csv_read(tpath("c_rand.csv"), &o, &ref, eref, sizeof eref);
    memset(&a, 0, sizeof a);
    rc = rd_mode(tpath("c_rand.csv"), &o, chunk, mode, &a, &got, enew, sizeof enew);
    if (rc != rref || (rc && strcmp(eref, enew) != 0) ||
        (!rc && !same_frame(ref, got, why, sizeof why))) {
      bad++;
      fprintf(stderr, "  random input %d (chunk %zu, mode %d): rc %d \"%s\" vs %d \"%s\" %s\n",
              iter, chunk, mode, (int)rc, rc ? enew : "", (int)rref, rref ? eref : "",
              rc || rref ? "" : why);
      fprintf(stderr, "  input: \"");
      for (k = 0; k < b.len; k++) {
        unsigned char ch = (unsigned char)b.p[k];
        if (ch >= 32 && ch < 127 && ch != '\\') fputc(ch, stderr);
        else fprintf(stderr, "\\x%02x", ch);
      }
      fprintf(stderr, "\"\n");
    }
    osiris_frame_free(ref);
    osiris_frame_free(got);
    ob_free(&b);
  }
  CHECK(bad == 0);
}

/* Strict by default: a character after a closing quote fails naming the
 * file and the line of the quote, at every chunk size (a quote at a chunk
 * end must not let the next byte through); lenient_quotes keeps the text. */
static void test_strict_quotes(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL;
  char want[700];
  PUT("sq.csv", "a,b\n1,2\n\"abc\"def,3\n");
  CHECK_RC(osiris_csv_read(tpath("sq.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  snprintf(want, sizeof want,
           "%s:3: text after a closing quote (quote the whole field, double the quotes inside "
           "it, or set strict: false)",
           tpath("sq.csv"));
  CHECK_STR(errbuf, want);
  CHECK(f == NULL);
  CHECK(agree("sq.csv", &o));
  /* the line is the closing quote's, after a quoted newline */
  PUT("sq2.csv", "a\n\"x\ny\" \n");
  CHECK_RC(osiris_csv_read(tpath("sq2.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(contains(errbuf, "sq2.csv:3: text after a closing quote"));
  CHECK(agree("sq2.csv", &o));
  /* a closing quote before the delimiter, a line end or the end is fine */
  PUT("sq3.csv", "a,b\n\"x\",\"y\"\r\n\"\"\"q\"\"\",\"z\"");
  f = rd("sq3.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 2);
  if (f) CHECK_STR(cell(f, 0, 1), "\"q\"");
  osiris_frame_free(f);
  f = NULL;
  /* lenient: as before */
  o.lenient_quotes = 1;
  f = rd("sq.csv", &o);
  CHECK(f && osiris_frame_rows(f) == 2);
  if (f) CHECK_STR(cell(f, 0, 1), "abcdef");
  osiris_frame_free(f);
  CHECK(agree("sq.csv", &o));
  /* an unterminated quote fails in both modes */
  PUT("sq4.csv", "a\n\"abc\n");
  CHECK_RC(osiris_csv_read(tpath("sq4.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(contains(errbuf, "sq4.csv:2: unterminated quoted field"));
}

/* The file written between the passes: never wrong data, an error. */
static void rewrite_file(acc_rows *a) {
  os_buf b = {0};
  size_t i, rows = 2 * CS_BATCH_ROWS + 10;
  int fd;
  ob_puts(&b, "i,s\n");
  for (i = 0; i < rows; i++) {
    if (a->action == 1 && i == rows - 5) break;                  /* fewer rows */
    if (a->action == 2 && i == rows - 5) ob_puts(&b, "x,y\n");   /* not an int */
    else if (a->action == 5 && i == rows - 5) ob_puts(&b, "1,2,3\n"); /* a field more */
    else if (a->action == 6 && i == rows - 5) ob_puts(&b, "1,\xff\n"); /* not UTF-8 */
    else ob_printf(&b, "%zu,v%zu\n", i, i % 10);
  }
  if (a->action == 3) ob_puts(&b, "1,more\n");
  fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* in place: the same inode */
  if (fd >= 0) {
    CHECK(write(fd, b.p, b.len) == (ssize_t)b.len);
    close(fd);
  }
  if (a->action == 4) { /* the same bytes, another modification time */
    struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};
    CHECK(utimensat(AT_FDCWD, a->path, ts, 0) == 0);
  }
  ob_free(&b);
}

static void test_chunks_changed(void) {
  static const char *const want[] = {
      NULL,
      "changed while being read (8202 data rows, then 8197)",
      "changed while being read (a value of column 'i' is no longer int64)",
      "changed while being read (8202 data rows, then more)",
      "changed while being read (its size or modification time is not the same)",
      "changed while being read (line 8199: expected 2 fields, got 3)",
      "changed while being read (", /* the UTF-8 message follows */
  };
  int action, mode;
  for (action = 0; action <= 6; action++) {
    for (mode = 1; mode <= 2; mode++) {
      osiris_csv_opts o = dopts();
      acc_rows a;
      osiris_frame *f = NULL;
      osiris_rc rc;
      char err[2048];
      memset(&a, 0, sizeof a);
      a.path = tpath("c_changed.csv");
      a.action = 0;
      rewrite_file(&a); /* the file as pass 1 reads it */
      a.action = action;
      a.hook = action ? rewrite_file : NULL;
      rc = rd_mode(a.path, &o, 64, mode, &a, &f, err, sizeof err);
      if (action == 0) {
        CHECK_RC(rc, OSIRIS_OK);
        CHECK(f && osiris_frame_rows(f) == 2 * CS_BATCH_ROWS + 10);
      } else {
        CHECK_RC(rc, OSIRIS_EIO);
        CHECK(f == NULL);
        CHECK(os_startswith(err, a.path) && contains(err, want[action]));
        if (!contains(err, want[action])) fprintf(stderr, "  action %d: %s\n", action, err);
      }
      if (action == 6) CHECK(contains(err, "c_changed.csv:8199: invalid UTF-8 at byte"));
      osiris_frame_free(f);
      /* cut by a limit the rows before it stand (a log file may grow) */
      if (action == 3 || action == 4) {
        memset(&a, 0, sizeof a);
        a.path = tpath("c_changed.csv");
        rewrite_file(&a);
        a.action = action;
        a.hook = rewrite_file;
        o.limit = (int64_t)(2 * CS_BATCH_ROWS + 5);
        CHECK_RC(rd_mode(a.path, &o, 64, mode, &a, &f, err, sizeof err), OSIRIS_OK);
        CHECK(f && osiris_frame_rows(f) == 2 * CS_BATCH_ROWS + 5);
        osiris_frame_free(f);
        o.limit = -1;
      }
      /* read whole, the file is read once: what it held then */
      memset(&a, 0, sizeof a);
      a.path = tpath("c_changed.csv");
      rewrite_file(&a);
      a.action = action;
      a.hook = rewrite_file;
      rc = rd_mode(a.path, &o, 0, mode, &a, &f, err, sizeof err);
      CHECK_RC(rc, OSIRIS_OK);
      CHECK(f && osiris_frame_rows(f) == 2 * CS_BATCH_ROWS + 10);
      osiris_frame_free(f);
    }
  }
}

/* A pipe is read once, whole: both passes run over it in memory. */
static void test_chunks_fifo(void) {
  static const char data[] = "\xef\xbb\xbf" "a,b\r\n1,\"x\ny\"\r\n2,z\n";
  osiris_csv_opts o = dopts();
  acc_rows a;
  osiris_frame *f = NULL;
  char err[512];
  int mode;
  for (mode = 0; mode < 3; mode++) {
    pid_t pid;
    int status = 0;
    remove(tpath("c_fifo"));
    if (mkfifo(tpath("c_fifo"), 0600) != 0) return;
    pid = fork();
    if (pid == 0) {
      int fd = open(tpath("c_fifo"), O_WRONLY);
      if (fd >= 0 && write(fd, data, sizeof data - 1) == (ssize_t)(sizeof data - 1)) _exit(0);
      _exit(1);
    }
    memset(&a, 0, sizeof a);
    CHECK_RC(rd_mode(tpath("c_fifo"), &o, CS_CHUNK, mode, &a, &f, err, sizeof err), OSIRIS_OK);
    CHECK(f && osiris_frame_rows(f) == 2 && osiris_frame_cols(f) == 2);
    if (f) {
      CHECK_STR(osiris_frame_col_name(f, 0), "a");
      CHECK(osiris_frame_col_type(f, 0) == OSIRIS_TYPE_INT64);
      CHECK_STR(cell(f, 1, 0), "x\ny");
      CHECK_STR(cell(f, 1, 1), "z");
    }
    osiris_frame_free(f);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  remove(tpath("c_fifo"));
}

/* Streamed, memory is a chunk and a batch, whatever the size of the file
 * (glibc's heap counters; they read 0 under a sanitizer: skipped). */
static size_t heap_in_use(void) {
#if defined(__GLIBC__)
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#else
  return 0;
#endif
}

typedef struct heap_watch {
  size_t before, peak, calls;
} heap_watch;

static osiris_rc heap_on_rows(void *user, osiris_frame *f) {
  heap_watch *h = user;
  size_t now = heap_in_use();
  osiris_frame_free(fr_take_rows(f));
  if (now > h->peak) h->peak = now;
  h->calls++;
  return OSIRIS_OK;
}

static void test_chunks_memory(void) {
  osiris_csv_opts o = dopts();
  heap_watch h = {0, 0, 0};
  osiris_frame *f = NULL;
  FILE *fp = fopen(tpath("c_mem.csv"), "wb");
  size_t i, saved = cs_chunk_size;
  if (!fp) return;
  fputs("id,text,x\n", fp);
  for (i = 0; i < 200000; i++) /* 24 MB */
    fprintf(fp, "%zu,\"some text, %zu, that goes on and on and on and on and on\",%zu.5\n", i,
            i % 1000, i % 77);
  fclose(fp);
  cs_chunk_size = (size_t)1 << 20;
  o.on_rows = heap_on_rows;
  o.on_rows_user = &h;
  h.before = heap_in_use();
  CHECK_RC(osiris_csv_read(tpath("c_mem.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_OK);
  cs_chunk_size = saved;
  CHECK(h.calls == 200000 / CS_BATCH_ROWS);
  CHECK(f && osiris_frame_rows(f) == 200000 % CS_BATCH_ROWS);
  {
    /* a 1 MiB chunk, a batch of 4096 rows (~0.3 MB parsed, ~0.5 MB framed) */
    size_t grew = h.peak > h.before ? h.peak - h.before : 0;
    CHECK(grew < ((size_t)4 << 20));
    if (grew >= ((size_t)4 << 20)) fprintf(stderr, "  heap grew by %zu bytes\n", grew);
  }
  osiris_frame_free(f);
  remove(tpath("c_mem.csv"));
}

/* The text cell (col, row) of f is want. */
static int text_is(const osiris_frame *f, size_t col, size_t row, const char *want) {
  size_t len;
  const char *s = osiris_frame_get_text(f, col, row, &len);
  return s && len == strlen(want) && memcmp(s, want, len) == 0;
}

/* comment: lines starting with it are skipped, before the header too,
 * whatever the chunk size (a comment line cut by the end of a chunk);
 * later in a line it is data; line numbers in errors count the skipped
 * lines. */
static void test_comment(void) {
  static const char text[] = "# made by x\nid,note\n#1,skip\n1,a # not a comment\r\n# last\r\n2,b\n#";
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  size_t chunk;
  PUT("comment.csv", text);
  o.comment = '#';
  for (chunk = 1; chunk <= 64; chunk = chunk * 2 + 1) {
    size_t saved = cs_chunk_size;
    cs_chunk_size = chunk;
    f = rd("comment.csv", &o);
    cs_chunk_size = saved;
    CHECK(f && osiris_frame_rows(f) == 2 && osiris_frame_cols(f) == 2);
    if (f && osiris_frame_rows(f) == 2) {
      CHECK_STR(osiris_frame_col_name(f, 0), "id");
      CHECK(osiris_frame_get_int64(f, 0, 1) == 2);
      CHECK(text_is(f, 1, 0, "a # not a comment"));
    }
    osiris_frame_free(f);
  }
  o.comment = 0; /* without it the lines are records */
  CHECK_RC(osiris_csv_read(tpath("comment.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  PUT("comment_bad.csv", "#x\n#y\na,b\n1\n");
  o.comment = '#';
  CHECK_RC(osiris_csv_read(tpath("comment_bad.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(strstr(errbuf, "comment_bad.csv:4: expected 2 fields, got 1") != NULL);
}

/* dtype: the named columns get the forced type when every value parses
 * as it (dates as their midnight for a timestamp), an error naming the
 * column when one does not, and with infer_types off the other columns
 * stay text. */
static void test_dtype(void) {
  static const char *const cols[] = {"id", "score", "day", NULL};
  static const osiris_type types[] = {OSIRIS_TYPE_STRING, OSIRIS_TYPE_DOUBLE, OSIRIS_TYPE_TIMESTAMP};
  osiris_csv_opts o = dopts();
  osiris_frame *f;
  PUT("dtype.csv", "id,score,day,n\n007,7,2024-01-02,1\n8,,2024-01-03,2\n");
  o.dtype_cols = cols;
  o.dtype_types = types;
  f = rd("dtype.csv", &o);
  CHECK(f && osiris_frame_col_type(f, 0) == OSIRIS_TYPE_STRING);
  CHECK(f && osiris_frame_col_type(f, 1) == OSIRIS_TYPE_DOUBLE);
  CHECK(f && osiris_frame_col_type(f, 2) == OSIRIS_TYPE_TIMESTAMP);
  CHECK(f && osiris_frame_col_type(f, 3) == OSIRIS_TYPE_INT64); /* inferred */
  if (f) {
    CHECK(text_is(f, 0, 0, "007"));
    CHECK(osiris_frame_get_double(f, 1, 0) == 7.0 && osiris_frame_is_null(f, 1, 1));
    CHECK(osiris_frame_get_timestamp(f, 2, 1) == (int64_t)19725 * 86400000000);
  }
  osiris_frame_free(f);
  o.infer_types = 0;
  f = rd("dtype.csv", &o);
  CHECK(f && osiris_frame_col_type(f, 1) == OSIRIS_TYPE_DOUBLE);
  CHECK(f && osiris_frame_col_type(f, 3) == OSIRIS_TYPE_STRING);
  osiris_frame_free(f);
  o.infer_types = 1;
  PUT("dtype_bad.csv", "id,score,day\n1,7,2024-01-02\n2,x,2024-01-03\n");
  CHECK_RC(osiris_csv_read(tpath("dtype_bad.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EPARSE);
  CHECK(strstr(errbuf, "column 'score' has a value that is not double (dtype)") != NULL);
  PUT("dtype_missing.csv", "id,day\n1,2024-01-02\n");
  CHECK_RC(osiris_csv_read(tpath("dtype_missing.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  CHECK(strstr(errbuf, "dtype names column 'score', which the file does not have") != NULL);
}

/* column_used: a column a streamed consumer does not read is NULL in the
 * batches built once the reader is told so; the others are whole.  The
 * index is the frame's column (after `columns` picked and ordered them). */
typedef struct col_mask {
  acc_rows acc;
  size_t asked, unused_col; /* calls so far; the column said unused after the first batch */
} col_mask;
static int mask_used(void *user, size_t col) {
  col_mask *m = user;
  m->asked++;
  return !(col == m->unused_col && m->acc.calls >= 1);
}
static osiris_rc mask_on_rows(void *user, osiris_frame *f) { return acc_on_rows(&((col_mask *)user)->acc, f); }
static void test_column_used(void) {
  static const char *const pick[] = {"note", "id", NULL};
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL, *all;
  col_mask m;
  size_t i, n = 3 * CS_BATCH_ROWS + 5, bad = 0;
  FILE *fp = fopen(tpath("colused.csv"), "w");
  CHECK(fp != NULL);
  if (!fp) return;
  fprintf(fp, "id,amount,note\n");
  for (i = 0; i < n; i++) fprintf(fp, "%zu,%zu,note %zu\n", i, i * 2, i);
  fclose(fp);
  for (int pass = 0; pass < 2; pass++) {
    size_t note = pass ? 0 : 2, id = pass ? 1 : 0;
    memset(&m, 0, sizeof m);
    m.acc.take = 1;
    m.unused_col = note;
    o = dopts();
    o.columns = pass ? pick : NULL;
    o.on_rows = mask_on_rows;
    o.on_rows_user = &m;
    o.column_used = mask_used;
    CHECK_RC(osiris_csv_read(tpath("colused.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_OK);
    if (!f) continue;
    all = m.acc.all;
    if (all) CHECK(fr_concat(all, f) == OSIRIS_OK);
    else all = f, f = NULL;
    CHECK(osiris_frame_rows(all) == n);
    CHECK(m.asked >= 4);
    for (i = 0, bad = 0; i < osiris_frame_rows(all); i++) {
      char want[64];
      snprintf(want, sizeof want, "note %zu", i);
      if (osiris_frame_get_int64(all, id, i) != (int64_t)i) bad++;
      if (i < CS_BATCH_ROWS ? !text_is(all, note, i, want) : !osiris_frame_is_null(all, note, i)) bad++;
      if (!pass && osiris_frame_get_int64(all, 1, i) != (int64_t)(2 * i)) bad++;
    }
    CHECK(bad == 0);
    CHECK(osiris_frame_col_type(all, note) == OSIRIS_TYPE_STRING);
    osiris_frame_free(all);
    osiris_frame_free(f);
    f = NULL;
  }
}

/* osiris_csv_read_mem gives the frame osiris_csv_read gives for the same
 * bytes, and names the buffer in its errors. */
static void test_read_mem(void) {
  static const char text[] = "\xEF\xBB\xBFid;name;when\n1;\"a;b\";2024-01-31\n2;;2024-02-01\n";
  static const char latin[] = "n\ncaf\xE9\n";
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL, *g = NULL;
  size_t c, r;
  o.delimiter = ';';
  PUT("mem.csv", text);
  CHECK_RC(osiris_csv_read(tpath("mem.csv"), &o, &f, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK_RC(osiris_csv_read_mem(text, sizeof text - 1, NULL, &o, &g, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK(f && g && osiris_frame_cols(f) == 3 && osiris_frame_cols(g) == 3);
  CHECK(f && g && osiris_frame_rows(f) == 2 && osiris_frame_rows(g) == 2);
  for (c = 0; f && g && c < 3; c++) {
    CHECK_STR(osiris_frame_col_name(g, c), osiris_frame_col_name(f, c));
    CHECK(osiris_frame_col_type(g, c) == osiris_frame_col_type(f, c));
    for (r = 0; r < 2; r++) CHECK_STR(cell(g, c, r), cell(f, c, r));
  }
  osiris_frame_free(f);
  osiris_frame_free(g);
  g = NULL;
  o = dopts();
  o.latin1 = 1;
  CHECK_RC(osiris_csv_read_mem(latin, sizeof latin - 1, "l.csv", &o, &g, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK(g && osiris_frame_rows(g) == 1);
  if (g) CHECK_STR(cell(g, 0, 0), "caf\xC3\xA9");
  osiris_frame_free(g);
  g = NULL;
  /* empty input: no columns, no rows; NULL with a length is EINVAL */
  CHECK_RC(osiris_csv_read_mem(NULL, 0, NULL, NULL, &g, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK(g && osiris_frame_cols(g) == 0 && osiris_frame_rows(g) == 0);
  osiris_frame_free(g);
  g = NULL;
  CHECK_RC(osiris_csv_read_mem(NULL, 4, NULL, NULL, &g, errbuf, sizeof errbuf), OSIRIS_EINVAL);
  CHECK_RC(osiris_csv_read_mem("a,b\n1\n", 7, "buf.csv", NULL, &g, errbuf, sizeof errbuf),
           OSIRIS_EPARSE);
  CHECK(contains(errbuf, "buf.csv:2:"));
  CHECK(g == NULL);
}

/* Fuzzing found these three (tests/fuzz/csv/regress-*). */
static void test_fuzz_found(void) {
  osiris_csv_opts o = dopts();
  osiris_frame *f = NULL, *g = NULL;
  char *text = NULL;
  size_t len = 0;
  /* every header field empty: was NULL + 0 in the reader (UBSan) */
  CHECK_RC(osiris_csv_read_mem(",,\n,,\n", 6, NULL, &o, &f, errbuf, sizeof errbuf), OSIRIS_OK);
  CHECK(f && osiris_frame_cols(f) == 3 && osiris_frame_rows(f) == 1);
  if (f) CHECK_STR(osiris_frame_col_name(f, 2), "Unnamed: 2");
  osiris_frame_free(f);
  f = NULL;
  /* a NUL byte in a header name: an error, not a shorter name */
  CHECK_RC(osiris_csv_read_mem("a,\0b\n1,2\n", 9, "nul.csv", &o, &f, errbuf, sizeof errbuf),
           OSIRIS_EPARSE);
  CHECK(contains(errbuf, "nul.csv:1:") && contains(errbuf, "NUL"));
  /* a first field starting with U+FEFF survives a write and a read */
  o.header = 0;
  o.infer_types = 0;
  CHECK_RC(osiris_csv_read_mem("\"\xEF\xBB\xBFv\"\n", 7, NULL, &o, &f, errbuf, sizeof errbuf),
           OSIRIS_OK);
  CHECK(f && osiris_frame_rows(f) == 1);
  if (f) {
    CHECK_STR(cell(f, 0, 0), "\xEF\xBB\xBFv");
    CHECK_RC(osiris_csv_write(tpath("bom.csv"), f, &o, errbuf, sizeof errbuf), OSIRIS_OK);
    CHECK(os_read_file(tpath("bom.csv"), &text, &len, NULL) == OSIRIS_OK);
    CHECK_RC(osiris_csv_read_mem(text, len, NULL, &o, &g, errbuf, sizeof errbuf), OSIRIS_OK);
    CHECK(g && osiris_frame_rows(g) == 1);
    if (g) CHECK_STR(cell(g, 0, 0), "\xEF\xBB\xBFv");
  }
  os_free(text);
  osiris_frame_free(f);
  osiris_frame_free(g);
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
  RUN(test_chunks_inputs);
  RUN(test_chunks_batches);
  RUN(test_chunks_random);
  RUN(test_strict_quotes);
  RUN(test_chunks_changed);
  RUN(test_chunks_fifo);
  RUN(test_chunks_memory);
  RUN(test_comment);
  RUN(test_dtype);
  RUN(test_read_mem);
  RUN(test_column_used);
  RUN(test_fuzz_found);
#ifdef OSIRIS_FAULT_INJECTION
  RUN(test_alloc_failures);
#endif
  rc = th_report();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tdir);
  return rc;
}
