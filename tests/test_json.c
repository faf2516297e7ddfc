/* Unit tests for section 5 (JSON).  Reaches the static js_* functions by
 * including the engine (one translation unit). */
#include "../osiris.c"
#include "harness.h"

/* Parse text; return the error message ("" on success) in a static buf. */
static char t_msg[OS_ERR_CAP];
static osiris_rc t_parse(const char *text, osiris_json **out) {
  os_err err = {0};
  osiris_rc rc = js_parse(text, strlen(text), "t.json", out, &err);
  snprintf(t_msg, sizeof t_msg, "%s", rc ? err.msg : "");
  return rc;
}

static void expect_err(const char *text, osiris_rc want, const char *msg) {
  osiris_json *v = (osiris_json *)1;
  osiris_rc rc = t_parse(text, &v);
  CHECK_RC(rc, want);
  CHECK(v == NULL);
  CHECK_STR(t_msg, msg);
}

/* Parse then dump with flags and compare. */
static void expect_dump(const char *text, unsigned flags, const char *want) {
  osiris_json *v = NULL;
  char *s;
  CHECK_RC(t_parse(text, &v), OSIRIS_OK);
  s = osiris_json_dump(v, flags, NULL);
  CHECK_STR(s, want);
  osiris_free(s);
  osiris_json_free(v);
}

static void expect_double(double d, const char *want) {
  char buf[40];
  size_t n = js_fmt_double(buf, sizeof buf, d);
  CHECK_STR(buf, want);
  CHECK(n == strlen(want));
}

static void test_errors(void) {
  expect_err("", OSIRIS_EPARSE, "t.json:1:1: unexpected end of input, expected a value");
  expect_err("   \n  ", OSIRIS_EPARSE, "t.json:2:3: unexpected end of input, expected a value");
  expect_err("[1,]", OSIRIS_EPARSE, "t.json:1:4: trailing comma before ']'");
  expect_err("{\"a\":1,}", OSIRIS_EPARSE, "t.json:1:8: trailing comma before '}'");
  expect_err("{,}", OSIRIS_EPARSE, "t.json:1:2: unexpected character ',', expected string key");
  expect_err("[1 2]", OSIRIS_EPARSE, "t.json:1:4: unexpected character '2', expected ',' or ']'");
  expect_err("{\"a\" 1}", OSIRIS_EPARSE, "t.json:1:6: unexpected character '1', expected ':'");
  expect_err("{\"a\":1 \"b\":2}", OSIRIS_EPARSE,
             "t.json:1:8: unexpected character '\"', expected ',' or '}'");
  expect_err("{a:1}", OSIRIS_EPARSE, "t.json:1:2: unexpected character 'a', expected string key");
  expect_err("[1,\n  2,\n  01]", OSIRIS_EPARSE, "t.json:3:3: leading zeros are not allowed");
  expect_err("-01", OSIRIS_EPARSE, "t.json:1:1: leading zeros are not allowed");
  expect_err("1.", OSIRIS_EPARSE, "t.json:1:3: unexpected end of input, expected digit after '.'");
  expect_err(".5", OSIRIS_EPARSE, "t.json:1:1: unexpected character '.', expected a value");
  expect_err("1e", OSIRIS_EPARSE, "t.json:1:3: unexpected end of input, expected digit in exponent");
  expect_err("-", OSIRIS_EPARSE, "t.json:1:2: unexpected end of input, expected digit");
  expect_err("+1", OSIRIS_EPARSE, "t.json:1:1: unexpected character '+', expected a value");
  expect_err("1e999", OSIRIS_EPARSE, "t.json:1:1: number out of range");
  expect_err("NaN", OSIRIS_EPARSE, "t.json:1:1: NaN and Infinity are not JSON");
  expect_err("[Infinity]", OSIRIS_EPARSE, "t.json:1:2: NaN and Infinity are not JSON");
  expect_err("-Infinity", OSIRIS_EPARSE, "t.json:1:2: unexpected character 'I', expected digit");
  expect_err("tru", OSIRIS_EPARSE, "t.json:1:1: invalid literal");
  expect_err("nul", OSIRIS_EPARSE, "t.json:1:1: invalid literal");
  expect_err("[1] x", OSIRIS_EPARSE, "t.json:1:5: extra data after the value");
  expect_err("1 2", OSIRIS_EPARSE, "t.json:1:3: extra data after the value");
  expect_err("// c\n1", OSIRIS_EPARSE, "t.json:1:1: unexpected character '/', expected a value");
  expect_err("[1 /* c */]", OSIRIS_EPARSE,
             "t.json:1:4: unexpected character '/', expected ',' or ']'");
  expect_err("\"abc", OSIRIS_EPARSE, "t.json:1:1: unterminated string");
  expect_err("[\"a\\", OSIRIS_EPARSE, "t.json:1:2: unterminated string");
  expect_err("\"a\tb\"", OSIRIS_EPARSE, "t.json:1:3: control character 0x09 in string");
  expect_err("\"a\nb\"", OSIRIS_EPARSE, "t.json:1:3: control character 0x0A in string");
  expect_err("\"\\x41\"", OSIRIS_EPARSE, "t.json:1:2: invalid escape '\\x'");
  expect_err("\"\\u12G4\"", OSIRIS_EPARSE, "t.json:1:2: invalid \\u escape");
  expect_err("\"\\u12\"", OSIRIS_EPARSE, "t.json:1:2: invalid \\u escape");
  expect_err("\"ab\\ud800\"", OSIRIS_EPARSE, "t.json:1:4: lone high surrogate \\ud800");
  expect_err("\"\\ud800\\u0041\"", OSIRIS_EPARSE, "t.json:1:2: lone high surrogate \\ud800");
  expect_err("\"\\udc00\"", OSIRIS_EPARSE, "t.json:1:2: lone low surrogate \\udc00");
  expect_err("{\"a\":1,\n \"a\":2}", OSIRIS_EPARSE, "t.json:2:2: duplicate key \"a\"");
  expect_err("{\"a\\u0000b\":1}", OSIRIS_EPARSE, "t.json:1:2: object key contains U+0000");
  /* Columns count characters: "é" is one column. */
  expect_err("[\"é\", x]", OSIRIS_EPARSE, "t.json:1:7: unexpected character 'x', expected a value");
  /* Invalid UTF-8, inside and outside strings. */
  expect_err("\"ok\xff\"", OSIRIS_EPARSE, "t.json:1:4: invalid UTF-8");
  expect_err("[1,\n\"\xc0\xaf\"]", OSIRIS_EPARSE, "t.json:2:2: invalid UTF-8");   /* overlong */
  expect_err("\"\xed\xa0\x80\"", OSIRIS_EPARSE, "t.json:1:2: invalid UTF-8");     /* surrogate */
  expect_err("\"\xe2\x82\"", OSIRIS_EPARSE, "t.json:1:2: invalid UTF-8");         /* truncated */
  expect_err("[1,é]", OSIRIS_EPARSE, "t.json:1:4: unexpected character 0xC3, expected a value");
}

static void test_no_fname_and_public_parse(void) {
  osiris_json *v = NULL;
  char eb[64];
  os_err err = {0};
  CHECK_RC(js_parse("[1,", 3, NULL, &v, &err), OSIRIS_EPARSE);
  CHECK_STR(err.msg, "1:4: unexpected end of input, expected a value");
  CHECK_RC(osiris_json_parse("{\"a\":tru}", 9, &v, eb, sizeof eb), OSIRIS_EPARSE);
  CHECK_STR(eb, "1:6: invalid literal");
  CHECK(v == NULL);
  CHECK_RC(osiris_json_parse("{\"a\":tru}", 9, &v, eb, 5), OSIRIS_EPARSE);
  CHECK_STR(eb, "1:6:");
  CHECK_RC(osiris_json_parse(" {\"a\" : [1, 2.5, \"x\"]} ", 23, &v, eb, sizeof eb), OSIRIS_OK);
  CHECK_STR(eb, "");
  CHECK(osiris_json_size(osiris_json_get(v, "a")) == 3);
  osiris_json_free(v);
  /* Length is honoured: no NUL terminator needed. */
  CHECK_RC(osiris_json_parse("[1]garbage", 3, &v, NULL, 0), OSIRIS_OK);
  osiris_json_free(v);
}

static void test_depth(void) {
  char buf[600];
  osiris_json *v = NULL;
  int i;
  for (i = 0; i < 256; i++) buf[i] = '[';
  for (i = 0; i < 256; i++) buf[256 + i] = ']';
  buf[512] = 0;
  CHECK_RC(t_parse(buf, &v), OSIRIS_OK);
  osiris_json_free(v);
  for (i = 0; i < 257; i++) buf[i] = '[';
  for (i = 0; i < 257; i++) buf[257 + i] = ']';
  buf[514] = 0;
  CHECK_RC(t_parse(buf, &v), OSIRIS_ELIMIT);
  CHECK_STR(t_msg, "t.json:1:257: nesting deeper than 256");
  for (i = 0; i < 300; i++) buf[i] = '{';
  buf[300] = 0;
  CHECK_RC(t_parse("{\"a\":{\"a\":{}}}", &v), OSIRIS_OK);
  osiris_json_free(v);
  {
    os_err err = {0};
    CHECK_RC(js_parse("1", OS_MAX_DOC + 1, "big", &v, &err), OSIRIS_ELIMIT);
    CHECK(strstr(err.msg, "big:1:1: document larger than") == err.msg);
  }
}

static void test_values_and_positions(void) {
  osiris_json *v = NULL;
  const osiris_json *x;
  CHECK_RC(t_parse("{\n  \"i\": 42,\n  \"neg\": -9223372036854775808,\n"
                   "  \"max\": 9223372036854775807,\n  \"big\": 9223372036854775808,\n"
                   "  \"d\": 1.0, \"e\": 1e3, \"z\": -0, \"s\": \"h\\u00e9\\ud83d\\ude00\\/\",\n"
                   "  \"t\": true, \"f\": false, \"n\": null, \"a\": [], \"o\": {}\n}",
                   &v),
           OSIRIS_OK);
  CHECK(v->line == 1 && v->col == 1);
  x = osiris_json_get(v, "i");
  CHECK(osiris_json_kind_of(x) == OSIRIS_JSON_INT && osiris_json_int(x, 0) == 42);
  CHECK(x->line == 2 && x->col == 8);
  x = osiris_json_get(v, "neg");
  CHECK(x->kind == OSIRIS_JSON_INT && x->u.i == INT64_MIN);
  CHECK(x->line == 3 && x->col == 10);
  x = osiris_json_get(v, "max");
  CHECK(x->kind == OSIRIS_JSON_INT && x->u.i == INT64_MAX);
  x = osiris_json_get(v, "big");
  CHECK(x->kind == OSIRIS_JSON_DOUBLE && x->u.d == 9223372036854775808.0);
  CHECK(osiris_json_int(x, -1) == -1);
  x = osiris_json_get(v, "d");
  CHECK(x->kind == OSIRIS_JSON_DOUBLE && osiris_json_int(x, 0) == 1);
  CHECK(osiris_json_num(osiris_json_get(v, "e"), 0) == 1000.0);
  CHECK(osiris_json_get(v, "z")->kind == OSIRIS_JSON_INT);
  CHECK_STR(js_gets(v, "s"), "h\xc3\xa9\xf0\x9f\x98\x80/");
  CHECK(osiris_json_strlen(osiris_json_get(v, "s")) == 8);
  CHECK(osiris_json_bool(osiris_json_get(v, "t"), 0) == 1);
  CHECK(osiris_json_bool(osiris_json_get(v, "f"), 1) == 0);
  CHECK(osiris_json_bool(osiris_json_get(v, "n"), 7) == 7);
  CHECK(osiris_json_kind_of(osiris_json_get(v, "n")) == OSIRIS_JSON_NULL);
  CHECK(osiris_json_get(v, "o")->line == 7 && osiris_json_get(v, "o")->col == 51);
  CHECK(osiris_json_get(v, "missing") == NULL);
  CHECK(osiris_json_size(v) == 13);
  CHECK_STR(osiris_json_key_at(v, 0), "i");
  CHECK(osiris_json_key_at(v, 13) == NULL);
  CHECK(osiris_json_at(v, 99) == NULL);
  CHECK(osiris_json_str(osiris_json_get(v, "i")) == NULL);
  CHECK(osiris_json_size(NULL) == 0 && osiris_json_get(NULL, "a") == NULL);
  CHECK(osiris_json_kind_of(NULL) == OSIRIS_JSON_NULL);
  osiris_json_free(v);
  /* NUL inside a string value is kept. */
  CHECK_RC(t_parse("\"a\\u0000b\"", &v), OSIRIS_OK);
  CHECK(osiris_json_strlen(v) == 3 && memcmp(osiris_json_str(v), "a\0b", 4) == 0);
  osiris_json_free(v);
}

static void test_doubles(void) {
  expect_double(0.1, "0.1");
  expect_double(1e16, "1e+16");
  expect_double(1e15, "1000000000000000.0");
  expect_double(1e-5, "1e-05");
  expect_double(1e-4, "0.0001");
  expect_double(0.00012345, "0.00012345");
  expect_double(123456789012345680.0, "1.2345678901234568e+17");
  expect_double(7.0, "7.0");
  expect_double(-0.0, "-0.0");
  expect_double(0.0, "0.0");
  expect_double(1.5, "1.5");
  expect_double(100.0, "100.0");
  expect_double(-2.5e-7, "-2.5e-07");
  expect_double(1e100, "1e+100");
  expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
  expect_double(5e-324, "5e-324");
  expect_double(0.1 + 0.2, "0.30000000000000004");
  expect_double(1.0 / 3.0, "0.3333333333333333");
  expect_double(9007199254740993.0, "9007199254740992.0");
  expect_double(12345678901234567.0, "1.2345678901234568e+16");
  expect_double(123.456, "123.456");
  expect_double(NAN, "nan");
  expect_double(-INFINITY, "-inf");
  {
    char small[4];
    CHECK(js_fmt_double(small, sizeof small, 123.5) == 5);
    CHECK_STR(small, "123");
  }
  /* Round trip of many doubles through text. */
  {
    uint64_t x = 88172645463325252ull;
    int i, bad = 0;
    for (i = 0; i < 20000; i++) {
      double d;
      char buf[40];
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      memcpy(&d, &x, sizeof d);
      if (isnan(d) || isinf(d)) continue;
      js_fmt_double(buf, sizeof buf, d);
      if (strtod(buf, NULL) != d) bad++;
    }
    CHECK(bad == 0);
  }
}

static void test_dump(void) {
  const char *doc = "{\"b\":[1,2.0,{\"z\":null,\"a\":true}],\"a\":\"x\",\"\xc3\xa9\":{},\"c\":[]}";
  expect_dump(doc, 0, doc);
  expect_dump(doc, OSIRIS_JSON_SORTED,
              "{\"a\":\"x\",\"b\":[1,2.0,{\"a\":true,\"z\":null}],\"c\":[],\"\xc3\xa9\":{}}");
  expect_dump(doc, OSIRIS_JSON_PRETTY,
              "{\n  \"b\": [\n    1,\n    2.0,\n    {\n      \"z\": null,\n      \"a\": true\n"
              "    }\n  ],\n  \"a\": \"x\",\n  \"\xc3\xa9\": {},\n  \"c\": []\n}");
  expect_dump(doc, OSIRIS_JSON_ASCII | OSIRIS_JSON_SORTED,
              "{\"a\":\"x\",\"b\":[1,2.0,{\"a\":true,\"z\":null}],\"c\":[],\"\\u00e9\":{}}");
  expect_dump("[]", OSIRIS_JSON_PRETTY, "[]");
  expect_dump("{}", OSIRIS_JSON_PRETTY, "{}");
  expect_dump("\"x\"", OSIRIS_JSON_PRETTY, "\"x\"");
  /* Escapes like Python json.dumps. */
  expect_dump("\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f \\u0001 \\u001f / \\u007f\"", 0,
              "\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f \\u0001 \\u001f / \x7f\"");
  expect_dump("\"\\u007f \\u00e9 \\u20ac \\ud83d\\ude00\"", OSIRIS_JSON_ASCII,
              "\"\\u007f \\u00e9 \\u20ac \\ud83d\\ude00\"");
  expect_dump("\"\\u00e9\\u20ac\\ud83d\\ude00\"", 0, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  expect_dump("\"a\\u0000b\"", 0, "\"a\\u0000b\"");
  expect_dump("[1E2, 1e-7, -0.0, 0.5e1, 123456789012345678901234567890]", 0,
              "[100.0,1e-07,-0.0,5.0,1.2345678901234568e+29]");
  expect_dump("[-9223372036854775808, 9223372036854775807, -0]", 0,
              "[-9223372036854775808,9223372036854775807,0]");
  {
    osiris_json *a = osiris_json_new(OSIRIS_JSON_ARRAY);
    char *s;
    size_t len = 0;
    CHECK_RC(osiris_json_push(a, osiris_json_new_double(NAN)), OSIRIS_OK);
    CHECK_RC(osiris_json_push(a, osiris_json_new_double(-INFINITY)), OSIRIS_OK);
    CHECK_RC(osiris_json_push(a, osiris_json_new_str("a\xff", 2)), OSIRIS_OK);
    s = osiris_json_dump(a, OSIRIS_JSON_ASCII, &len);
    CHECK_STR(s, "[null,null,\"a\\ufffd\"]");
    CHECK(len == strlen("[null,null,\"a\\ufffd\"]"));
    osiris_free(s);
    osiris_json_free(a);
  }
}

static void test_builders(void) {
  osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT), *a, *c;
  char *s;
  CHECK_RC(js_set_str(o, "name", "x"), OSIRIS_OK);
  CHECK_RC(js_set_int(o, "n", 3), OSIRIS_OK);
  CHECK_RC(js_set_double(o, "d", 2.0), OSIRIS_OK);
  CHECK_RC(js_set_bool(o, "b", 1), OSIRIS_OK);
  CHECK_RC(js_set_str(o, "nul", NULL), OSIRIS_OK);
  CHECK_RC(js_set_int(o, "name", 9), OSIRIS_OK); /* replaced in place */
  a = osiris_json_new(OSIRIS_JSON_ARRAY);
  CHECK_RC(js_push_str(a, "p"), OSIRIS_OK);
  CHECK_RC(osiris_json_push(a, osiris_json_new(OSIRIS_JSON_STRING)), OSIRIS_OK);
  CHECK_RC(osiris_json_push(a, osiris_json_new(OSIRIS_JSON_NULL)), OSIRIS_OK);
  CHECK_RC(osiris_json_push(o, osiris_json_new_int(1)), OSIRIS_EINVAL); /* not an array */
  CHECK_RC(osiris_json_set(a, "k", osiris_json_new_int(1)), OSIRIS_EINVAL);
  CHECK_RC(osiris_json_set(o, "arr", a), OSIRIS_OK);
  s = osiris_json_dump(o, 0, NULL);
  CHECK_STR(s, "{\"name\":9,\"n\":3,\"d\":2.0,\"b\":true,\"nul\":null,\"arr\":[\"p\",\"\",null]}");
  osiris_free(s);
  c = osiris_json_copy(o);
  CHECK(js_equal(o, c));
  CHECK(osiris_json_remove(c, "n") == 1);
  CHECK(osiris_json_remove(c, "n") == 0);
  CHECK(!js_equal(o, c));
  s = osiris_json_dump(c, 0, NULL);
  CHECK_STR(s, "{\"name\":9,\"d\":2.0,\"b\":true,\"nul\":null,\"arr\":[\"p\",\"\",null]}");
  osiris_free(s);
  CHECK_RC(js_set_int(c, "n", 3), OSIRIS_OK); /* same content, other order */
  CHECK(js_equal(o, c));
  CHECK(js_equal(c, o));
  CHECK_RC(js_set_double(c, "n", 3.0), OSIRIS_OK); /* INT 3 != DOUBLE 3.0 */
  CHECK(!js_equal(o, c));
  osiris_json_free(c);
  {
    osiris_json *n1 = osiris_json_new_double(NAN), *n2 = osiris_json_new_double(NAN);
    CHECK(js_equal(n1, n2));
    osiris_json_free(n1);
    osiris_json_free(n2);
  }
  CHECK(osiris_json_new((osiris_json_kind)99) == NULL);
  c = osiris_json_new_str(NULL, 5);
  CHECK_STR(osiris_json_str(c), "");
  osiris_json_free(c);
  osiris_json_free(o);
  osiris_json_free(NULL);
}

static void test_round_trip(void) {
  const char *docs[] = {
      "{\"oml_version\":\"0.1.0\",\"steps\":[{\"id\":\"a\",\"needs\":[],\"n\":-12,\"x\":0.25}]}",
      "[[[[]]],{},\"\\u2028\",\"tab\\there\",1e-300,-1.5e+300,true,false,null]",
      "\"\"",
      "0"};
  size_t i;
  unsigned flags[] = {0, OSIRIS_JSON_SORTED, OSIRIS_JSON_PRETTY, OSIRIS_JSON_ASCII,
                      OSIRIS_JSON_PRETTY | OSIRIS_JSON_ASCII | OSIRIS_JSON_SORTED};
  for (i = 0; i < sizeof docs / sizeof *docs; i++) {
    size_t f;
    osiris_json *v = NULL;
    CHECK_RC(t_parse(docs[i], &v), OSIRIS_OK);
    for (f = 0; f < sizeof flags / sizeof *flags; f++) {
      size_t len;
      char *s = osiris_json_dump(v, flags[f], &len);
      osiris_json *w = NULL;
      CHECK(s != NULL);
      CHECK_RC(osiris_json_parse(s, len, &w, NULL, 0), OSIRIS_OK);
      CHECK(js_equal(v, w));
      osiris_json_free(w);
      osiris_free(s);
    }
    osiris_json_free(v);
  }
}

static void test_big_object(void) {
  /* Many keys: duplicate detection switches to hashing. */
  os_buf b = {0};
  osiris_json *v = NULL;
  int i;
  ob_putc(&b, '{');
  for (i = 0; i < 5000; i++) ob_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
  ob_putc(&b, '}');
  CHECK_RC(t_parse(b.p, &v), OSIRIS_OK);
  CHECK(osiris_json_size(v) == 5000);
  CHECK(osiris_json_int(osiris_json_get(v, "k4999"), 0) == 4999);
  osiris_json_free(v);
  b.len--;
  ob_puts(&b, ",\"k1234\":0}");
  CHECK_RC(t_parse(b.p, &v), OSIRIS_EPARSE);
  CHECK(strstr(t_msg, "duplicate key \"k1234\"") != NULL);
  ob_free(&b);
}

static void test_read_file(void) {
  char path[] = "/tmp/osiris_test_json_XXXXXX";
  int fd = mkstemp(path);
  osiris_json *v = NULL;
  os_err err = {0};
  char want[128];
  CHECK(fd >= 0);
  CHECK(write(fd, "{\"a\":\n[1,]}", 11) == 11);
  close(fd);
  CHECK_RC(js_read_file(path, &v, &err), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:2:4: trailing comma before ']'", path);
  CHECK_STR(err.msg, want);
  unlink(path);
  CHECK_RC(js_read_file(path, &v, &err), OSIRIS_ENOTFOUND);
}

#ifdef OSIRIS_FAULT_INJECTION
static void test_fault_injection(void) {
  const char *doc = "{\"a\":[1,2.5,\"s\\n\",{\"b\":null}],\"c\":\"\\u00e9\",\"d\":{\"e\":[true]}}";
  long k;
  for (k = 0; k < 1000; k++) {
    osiris_json *v = NULL, *c;
    char *s;
    osiris_rc rc;
    os_fault_countdown = k;
    rc = t_parse(doc, &v);
    if (rc == OSIRIS_OK) {
      s = osiris_json_dump(v, OSIRIS_JSON_SORTED | OSIRIS_JSON_PRETTY, NULL);
      c = osiris_json_copy(v);
      osiris_free(s);
      osiris_json_free(c);
    } else {
      CHECK_RC(rc, OSIRIS_ENOMEM);
    }
    osiris_json_free(v);
    if (rc == OSIRIS_OK && os_fault_countdown >= 0) break;
  }
  os_fault_countdown = -1;
  CHECK(k < 1000);
}
#endif

int main(void) {
  RUN(test_errors);
  RUN(test_no_fname_and_public_parse);
  RUN(test_depth);
  RUN(test_values_and_positions);
  RUN(test_doubles);
  RUN(test_dump);
  RUN(test_builders);
  RUN(test_round_trip);
  RUN(test_big_object);
  RUN(test_read_file);
#ifdef OSIRIS_FAULT_INJECTION
  RUN(test_fault_injection);
#endif
  return th_report();
}
