/* Unit tests for section 6 (YAML).  Reaches the static ym_* functions by
 * including the engine (one translation unit). */
#include "../osiris.c"
#include "harness.h"

static char t_msg[OS_ERR_CAP];

static osiris_rc t_parse(const char *text, osiris_json **out) {
  os_err err = {0};
  osiris_rc rc = ym_parse(text, strlen(text), "p.yaml", out, &err);
  snprintf(t_msg, sizeof t_msg, "%s", rc ? err.msg : "");
  return rc;
}

/* Parse YAML and compare with canonical (sorted) JSON. */
static void expect_json(const char *yaml, const char *json) {
  osiris_json *v = NULL;
  osiris_rc rc = t_parse(yaml, &v);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) {
    fprintf(stderr, "  yaml: %s\n  error: %s\n", yaml, t_msg);
    return;
  }
  {
    char *s = osiris_json_dump(v, OSIRIS_JSON_SORTED, NULL);
    CHECK_STR(s, json);
    osiris_free(s);
  }
  osiris_json_free(v);
}

static void expect_err(const char *yaml, osiris_rc want, const char *msg) {
  osiris_json *v = (osiris_json *)1;
  osiris_rc rc = t_parse(yaml, &v);
  CHECK_RC(rc, want);
  CHECK(v == NULL);
  CHECK_STR(t_msg, msg);
}

/* Emit v, check the text when want is not NULL, parse it back, compare. */
static void expect_emit(const osiris_json *v, unsigned flags, const char *want) {
  os_buf b = {0};
  osiris_json *w = NULL;
  os_err err = {0};
  CHECK_RC(ym_emit(&b, v, flags), OSIRIS_OK);
  if (want) CHECK_STR(b.p, want);
  CHECK_RC(ym_parse(b.p, b.len, "emitted", &w, &err), OSIRIS_OK);
  CHECK(js_equal(v, w));
  if (!js_equal(v, w)) fprintf(stderr, "  emitted:\n%s\n  error: %s\n", b.p, err.msg);
  osiris_json_free(w);
  ob_free(&b);
}

static void expect_round_trip_json(const char *json, const char *want_yaml) {
  osiris_json *v = NULL;
  CHECK_RC(osiris_json_parse(json, strlen(json), &v, NULL, 0), OSIRIS_OK);
  expect_emit(v, 0, want_yaml);
  expect_emit(v, YM_SORTED | YM_MARKERS, NULL);
  osiris_json_free(v);
}

static const char *OML =
    "oml_version: \"0.1.0\"\n"
    "name: \"CSV Copy Demo\"\n"
    "params:\n"
    "  out_name:\n"
    "    default: people_out\n"
    "steps:\n"
    "  - id: extract-people\n"
    "    component: filesystem.csv_extractor\n"
    "    mode: read\n"
    "    config:\n"
    "      path: data/people.csv\n"
    "  - id: compute-stats\n"
    "    component: duckdb.processor\n"
    "    mode: transform\n"
    "    needs: [extract-people]\n"
    "    config:\n"
    "      query: |\n"
    "        SELECT name, COUNT(*) AS n\n"
    "        FROM df_extract_people   -- comment inside block scalar stays\n"
    "        GROUP BY name\n";

static void test_oml(void) {
  osiris_json *v = NULL;
  const osiris_json *steps, *s1, *q;
  CHECK_RC(t_parse(OML, &v), OSIRIS_OK);
  CHECK_STR(js_gets(v, "oml_version"), "0.1.0");
  CHECK_STR(js_gets(v, "name"), "CSV Copy Demo");
  CHECK_STR(js_gets(osiris_json_get(osiris_json_get(v, "params"), "out_name"), "default"),
            "people_out");
  steps = osiris_json_get(v, "steps");
  CHECK(osiris_json_size(steps) == 2);
  CHECK(steps->line == 7 && steps->col == 3);
  s1 = osiris_json_at(steps, 1);
  CHECK(s1->line == 12 && s1->col == 5);
  CHECK_STR(js_gets(s1, "id"), "compute-stats");
  CHECK(osiris_json_get(s1, "id")->line == 12 && osiris_json_get(s1, "id")->col == 9);
  CHECK(osiris_json_size(osiris_json_get(s1, "needs")) == 1);
  CHECK(osiris_json_get(s1, "needs")->line == 15 && osiris_json_get(s1, "needs")->col == 12);
  CHECK_STR(osiris_json_str(osiris_json_at(osiris_json_get(s1, "needs"), 0)), "extract-people");
  q = osiris_json_get(osiris_json_get(s1, "config"), "query");
  CHECK_STR(osiris_json_str(q),
            "SELECT name, COUNT(*) AS n\n"
            "FROM df_extract_people   -- comment inside block scalar stays\n"
            "GROUP BY name\n");
  CHECK(q->line == 17 && q->col == 14);
  /* Emit (PyYAML layout) and read back. */
  expect_emit(v, YM_SORTED | YM_MARKERS,
              "---\n"
              "name: CSV Copy Demo\n"
              "oml_version: 0.1.0\n"
              "params:\n"
              "  out_name:\n"
              "    default: people_out\n"
              "steps:\n"
              "- component: filesystem.csv_extractor\n"
              "  config:\n"
              "    path: data/people.csv\n"
              "  id: extract-people\n"
              "  mode: read\n"
              "- component: duckdb.processor\n"
              "  config:\n"
              "    query: \"SELECT name, COUNT(*) AS n\\nFROM df_extract_people   -- comment inside"
              " block scalar stays\\nGROUP BY name\\n\"\n"
              "  id: compute-stats\n"
              "  mode: transform\n"
              "  needs:\n"
              "  - extract-people\n"
              "...\n");
  osiris_json_free(v);
  /* Without the trailing newline the block scalar still ends cleanly. */
  {
    size_t n = strlen(OML);
    os_err err = {0};
    CHECK_RC(ym_parse(OML, n - 1, "p.yaml", &v, &err), OSIRIS_OK);
    osiris_json_free(v);
  }
}

static void test_manifest_shapes(void) {
  expect_json("steps:\n- id: a\n  needs: []\n- id: b\n  needs: [a]\nmeta:\n  x: 1\n",
              "{\"meta\":{\"x\":1},\"steps\":[{\"id\":\"a\",\"needs\":[]},{\"id\":\"b\",\"needs\":[\"a\"]}]}");
  expect_json("steps:\n- id: extract-movies\n  driver: mysql.extractor\n  needs: []\n\n"
              "- id: compute-stats\n  driver: duckdb.processor\n  needs: [extract-movies]  # Dependency\n",
              "{\"steps\":[{\"driver\":\"mysql.extractor\",\"id\":\"extract-movies\",\"needs\":[]},"
              "{\"driver\":\"duckdb.processor\",\"id\":\"compute-stats\",\"needs\":[\"extract-movies\"]}]}");
  expect_json("a:\n  - x\n  - y\nb:\n- z\n", "{\"a\":[\"x\",\"y\"],\"b\":[\"z\"]}");
  expect_json("- a: 1\n  b:\n  - c\n  - d\n  e: |\n    lit\n- f\n",
              "[{\"a\":1,\"b\":[\"c\",\"d\"],\"e\":\"lit\\n\"},\"f\"]");
  expect_json("- - a\n  - b\n- - c\n-\n  - d\n- e: 1\n  f: 2\n-\n  g: 3\n",
              "[[\"a\",\"b\"],[\"c\"],[\"d\"],{\"e\":1,\"f\":2},{\"g\":3}]");
  expect_json("-   a: 1\n    b: 2\n", "[{\"a\":1,\"b\":2}]");
  expect_json("  a: 1\n  b: 2\n", "{\"a\":1,\"b\":2}");
  expect_json("a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n",
              "{\"a\":{\"b\":{\"c\":{\"d\":1}},\"e\":2},\"f\":3}");
  expect_json("key with spaces: value with spaces\n\"quoted key\": v\n'single key': w\n",
              "{\"key with spaces\":\"value with spaces\",\"quoted key\":\"v\",\"single key\":\"w\"}");
  expect_json("url: http://example.com:8080/x\ncolon: a:b\nhash: a#b\ndash: -x\nq: what?\n"
              "env: ${HOST:-127.0.0.1}\n",
              "{\"colon\":\"a:b\",\"dash\":\"-x\",\"env\":\"${HOST:-127.0.0.1}\",\"hash\":\"a#b\","
              "\"q\":\"what?\",\"url\":\"http://example.com:8080/x\"}");
  expect_json("a: 1\r\nb:\r\n  - x\r\nc: |\r\n  l1\r\n  l2\r\n",
              "{\"a\":1,\"b\":[\"x\"],\"c\":\"l1\\nl2\\n\"}");
  expect_json("a: b\t# tab then comment\nc:\td\n", "{\"a\":\"b\",\"c\":\"d\"}");
  expect_json("- \n- ~\n-\n", "[null,null,null]");
}

static void test_comments_and_markers(void) {
  expect_json("", "null");
  expect_json("# only a comment\n\n", "null");
  expect_json("---\n", "null");
  expect_json("---\n...\n", "null");
  expect_json("# c\n---\na: b # trailing\n# end\n...\n# after\n", "{\"a\":\"b\"}");
  expect_json("--- |\n  text\n", "\"text\\n\"");
  expect_json("--- [1, 2]\n", "[1,2]");
  expect_json("--- # comment\n- a\n", "[\"a\"]");
  expect_json("\xef\xbb\xbf" "a: 1\n", "{\"a\":1}");
  expect_json("a:\n  # comment between\n\n  b: 1\n\n  # another\n  c: 2\n",
              "{\"a\":{\"b\":1,\"c\":2}}");
  expect_json("a: x #comment\nb: x#notcomment\n", "{\"a\":\"x\",\"b\":\"x#notcomment\"}");
  expect_json("a: 1 # c\n# c\nb:  # c\n  c # c\n", "{\"a\":1,\"b\":\"c\"}");
  expect_json("text\n", "\"text\"");
  expect_json("multi\nline\nroot\n", "\"multi line root\"");
}

static void test_scalars(void) {
  expect_json("plain: this is\n  a multi line\n    plain scalar\n\n  with blank\nnext: 1\n",
              "{\"next\":1,\"plain\":\"this is a multi line plain scalar\\nwith blank\"}");
  expect_json("a: plain   \n  cont   \n", "{\"a\":\"plain cont\"}");
  expect_json("s1: 'it''s'\ns2: 'multi\n  line\n\n  folded'\ns3: 'x  \n   y'\n",
              "{\"s1\":\"it's\",\"s2\":\"multi line\\nfolded\",\"s3\":\"x y\"}");
  expect_json("d: \"esc \\\" \\\\ \\/ \\t \\n \\x41 \\u00e9 \\U0001F600 \\N \\_ \\L \\P \\e \\a \\b "
              "\\v \\f \\r end\"\n",
              "{\"d\":\"esc \\\" \\\\ / \\t \\n A \xc3\xa9 \xf0\x9f\x98\x80 \xc2\x85 \xc2\xa0 "
              "\xe2\x80\xa8 \xe2\x80\xa9 \\u001b \\u0007 \\b \\u000b \\f \\r end\"}");
  expect_json("d: \"nul\\0x\"\n", "{\"d\":\"nul\\u0000x\"}");
  expect_json("d: \"pair \\ud83d\\ude00\"\n", "{\"d\":\"pair \xf0\x9f\x98\x80\"}");
  expect_json("d: \"tab\\\tx\"\n", "{\"d\":\"tab\\tx\"}");
  expect_json("d2: \"fold\n  me \\\n  now\"\nd3: \"a\\\n    b\"\nd4: \"x\\\n\n  y\"\n",
              "{\"d2\":\"fold me now\",\"d3\":\"ab\",\"d4\":\"x\\ny\"}");
  expect_json("a: ''\nb: \"\"\nc: ' '\n", "{\"a\":\"\",\"b\":\"\",\"c\":\" \"}");
  expect_json("\"a\": 1\n\"b\":\n  - 2\n", "{\"a\":1,\"b\":[2]}");
  expect_json("'a\\nb': 1\n\"a\\tb\": 2\n", "{\"a\\tb\":2,\"a\\\\nb\":1}");
}

static void test_block_scalars(void) {
  expect_json("a: |\n  x\n  y\n\nb: |-\n  x\n  y\n\nc: |+\n  x\n  y\n\n\nd: end\n",
              "{\"a\":\"x\\ny\\n\",\"b\":\"x\\ny\",\"c\":\"x\\ny\\n\\n\\n\",\"d\":\"end\"}");
  expect_json("d: >\n  a\n  b\n\n  c\n   indented\n  e\nf: >-\n  folded\n  text\ng: >+\n  keep\n\nh: end\n",
              "{\"d\":\"a b\\nc\\n indented\\ne\\n\",\"f\":\"folded text\",\"g\":\"keep\\n\\n\","
              "\"h\":\"end\"}");
  expect_json("key: >\n  para one\n  continues\n\n  para two\n\n\n  three\n",
              "{\"key\":\"para one continues\\npara two\\n\\nthree\\n\"}");
  expect_json("a: |2\n    two extra\n  base\nb: |1-\n  x\n", "{\"a\":\"  two extra\\nbase\\n\",\"b\":\" x\"}");
  expect_json("a: |-2\n   x\n", "{\"a\":\" x\"}");
  expect_json("k: |\n  # not a comment\n  x\n# a comment\n", "{\"k\":\"# not a comment\\nx\\n\"}");
  expect_json("a: |\n\n  leading blank\n", "{\"a\":\"\\nleading blank\\n\"}");
  expect_json("a: >\n\n  leading blank folded\n", "{\"a\":\"\\nleading blank folded\\n\"}");
  expect_json("a: |-\n\nb: 1\n", "{\"a\":\"\",\"b\":1}");
  expect_json("a: |+\n\nb: 1\n", "{\"a\":\"\\n\",\"b\":1}");
  expect_json("a: |\nb: 1\n", "{\"a\":\"\",\"b\":1}");
  expect_json("a: | # header comment\n  x\n", "{\"a\":\"x\\n\"}");
  expect_json("a: |\n  x", "{\"a\":\"x\"}");
  expect_json("a: |+\n  x\n\n", "{\"a\":\"x\\n\\n\"}");
  expect_json("a: >-\n  a\n\n\n", "{\"a\":\"a\"}");
  expect_json("- |\n  block in seq\n- >-\n  folded in seq\n  here\n- last\n",
              "[\"block in seq\\n\",\"folded in seq here\",\"last\"]");
  expect_json("- a: |\n    deep\n  b: 1\n", "[{\"a\":\"deep\\n\",\"b\":1}]");
  expect_json("|\n text\n", "\"text\\n\"");
}

static void test_flow(void) {
  expect_json("[1, 2, [3, {a: b, c: [d]}], {}, []]", "[1,2,[3,{\"a\":\"b\",\"c\":[\"d\"]}],{},[]]");
  expect_json("{a: 1, b: [x, y], \"c\": 'z', d: , e}",
              "{\"a\":1,\"b\":[\"x\",\"y\"],\"c\":\"z\",\"d\":null,\"e\":null}");
  expect_json("- [a, b\n  , c]\n- {x: 1,\n   y: 2}\n- [a: b, c]\n",
              "[[\"a\",\"b\",\"c\"],{\"x\":1,\"y\":2},[{\"a\":\"b\"},\"c\"]]");
  expect_json("a: {x: 1,\n  y: 2}\nb: [\n  1,\n  2,\n]\n", "{\"a\":{\"x\":1,\"y\":2},\"b\":[1,2]}");
  expect_json("{\"json\": \"style\", \"n\": [1, 2.5, true, null], \"o\": {\"k\":\"v\"}}",
              "{\"json\":\"style\",\"n\":[1,2.5,true,null],\"o\":{\"k\":\"v\"}}");
  expect_json("a: [\"x\", 'y', z w, a:b, http://h/p]\n",
              "{\"a\":[\"x\",\"y\",\"z w\",\"a:b\",\"http://h/p\"]}");
  expect_json("a: [x, # comment\n  y]\n", "{\"a\":[\"x\",\"y\"]}");
  expect_json("a: [multi\n  line, plain]\n", "{\"a\":[\"multi line\",\"plain\"]}");
  expect_json("a: [1, [2, [3, [4]]]]\n", "{\"a\":[1,[2,[3,[4]]]]}");
  expect_json("a: []\nb: {}\n", "{\"a\":[],\"b\":{}}");
}

static void test_core_schema(void) {
  expect_json("n1: null\nn2: ~\nn3:\nn4: Null\nn5: NULL\nb1: true\nb2: False\nb3: TRUE\nb4: false\n"
              "b5: True\nb6: FALSE\n",
              "{\"b1\":true,\"b2\":false,\"b3\":true,\"b4\":false,\"b5\":true,\"b6\":false,"
              "\"n1\":null,\"n2\":null,\"n3\":null,\"n4\":null,\"n5\":null}");
  expect_json("y1: yes\ny2: no\ny3: on\ny4: off\ny5: nULL\ny6: tRue\n",
              "{\"y1\":\"yes\",\"y2\":\"no\",\"y3\":\"on\",\"y4\":\"off\",\"y5\":\"nULL\",\"y6\":\"tRue\"}");
  expect_json("i1: 42\ni2: -17\ni3: +5\ni4: 0o17\ni5: 0x1F\ni6: 007\ni7: 99999999999999999999\n"
              "i8: -9223372036854775808\ni9: 9223372036854775807\ni10: 9223372036854775808\n"
              "i11: 0xFFFFFFFFFFFFFFFFFF\n",
              "{\"i1\":42,\"i10\":9.223372036854776e+18,\"i11\":4.722366482869645e+21,\"i2\":-17,"
              "\"i3\":5,\"i4\":15,\"i5\":31,\"i6\":7,\"i7\":1e+20,\"i8\":-9223372036854775808,"
              "\"i9\":9223372036854775807}");
  expect_json("f1: 1.5\nf2: .5\nf3: 1.\nf4: 1e3\nf5: -2.5E-3\nf6: +.5e+3\nf7: -.5\n",
              "{\"f1\":1.5,\"f2\":0.5,\"f3\":1.0,\"f4\":1000.0,\"f5\":-0.0025,\"f6\":500.0,\"f7\":-0.5}");
  {
    osiris_json *v = NULL;
    CHECK_RC(t_parse("[.inf, -.Inf, +.INF, .nan, .NaN, .NAN, 1e999]", &v), OSIRIS_OK);
    CHECK(isinf(osiris_json_at(v, 0)->u.d) && osiris_json_at(v, 0)->u.d > 0);
    CHECK(isinf(osiris_json_at(v, 1)->u.d) && osiris_json_at(v, 1)->u.d < 0);
    CHECK(isinf(osiris_json_at(v, 2)->u.d) && osiris_json_at(v, 2)->u.d > 0);
    CHECK(isnan(osiris_json_at(v, 3)->u.d) && isnan(osiris_json_at(v, 4)->u.d) &&
          isnan(osiris_json_at(v, 5)->u.d));
    CHECK(isinf(osiris_json_at(v, 6)->u.d));
    osiris_json_free(v);
  }
  expect_json("s: [1_000, 0b101, '12:30', 2024-01-01, '123', \"true\", 1.2.3, +, ., -, 0x, 0o8, 0xG,"
              " 1e, e3, .Inf., -0x1, .nan1]\n",
              "{\"s\":[\"1_000\",\"0b101\",\"12:30\",\"2024-01-01\",\"123\",\"true\",\"1.2.3\",\"+\","
              "\".\",\"-\",\"0x\",\"0o8\",\"0xG\",\"1e\",\"e3\",\".Inf.\",\"-0x1\",\".nan1\"]}");
  /* Kinds: INT vs DOUBLE. */
  {
    osiris_json *v = NULL;
    CHECK_RC(t_parse("[1, 1.0, '1', null]", &v), OSIRIS_OK);
    CHECK(osiris_json_at(v, 0)->kind == OSIRIS_JSON_INT);
    CHECK(osiris_json_at(v, 1)->kind == OSIRIS_JSON_DOUBLE);
    CHECK(osiris_json_at(v, 2)->kind == OSIRIS_JSON_STRING);
    CHECK(osiris_json_at(v, 3)->kind == OSIRIS_JSON_NULL);
    osiris_json_free(v);
  }
}

static void test_errors(void) {
  expect_err("a: 1\na: 2\n", OSIRIS_EPARSE, "p.yaml:2:1: duplicate key \"a\"");
  expect_err("x:\n  name: 1\n  'name': 2\n", OSIRIS_EPARSE, "p.yaml:3:3: duplicate key \"name\"");
  expect_err("{a: 1, a: 2}\n", OSIRIS_EPARSE, "p.yaml:1:8: duplicate key \"a\"");
  expect_err("a: [b, {c: d, c: e}]\n", OSIRIS_EPARSE, "p.yaml:1:15: duplicate key \"c\"");
  expect_err("\ta: 1\n", OSIRIS_EPARSE, "p.yaml:1:1: tab character used for indentation");
  expect_err("a:\n\t- 1\n", OSIRIS_EPARSE, "p.yaml:2:1: tab character used for indentation");
  expect_err("a:\n  \tb: 1\n", OSIRIS_EPARSE, "p.yaml:2:3: tab character used for indentation");
  expect_err("a: &x 1\n", OSIRIS_EPARSE, "p.yaml:1:4: anchors (&) are not supported");
  expect_err("a: 1\nb: *x\n", OSIRIS_EPARSE, "p.yaml:2:4: aliases (*) are not supported");
  expect_err("a: !!str 1\n", OSIRIS_EPARSE, "p.yaml:1:4: tags (!) are not supported");
  expect_err("- !x 1\n", OSIRIS_EPARSE, "p.yaml:1:3: tags (!) are not supported");
  expect_err("a: [&y 1]\n", OSIRIS_EPARSE, "p.yaml:1:5: anchors (&) are not supported");
  expect_err("<<: {a: 1}\n", OSIRIS_EPARSE, "p.yaml:1:1: merge keys (<<) are not supported");
  expect_err("b: 2\n<<: *base\n", OSIRIS_EPARSE, "p.yaml:2:1: merge keys (<<) are not supported");
  expect_err("? a\n: b\n", OSIRIS_EPARSE, "p.yaml:1:1: complex keys (?) are not supported");
  expect_err("x:\n  ? a\n", OSIRIS_EPARSE, "p.yaml:2:3: complex keys (?) are not supported");
  expect_err("[a, b]: c\n", OSIRIS_EPARSE, "p.yaml:1:7: mapping values are not allowed here");
  expect_err("{[a]: b}\n", OSIRIS_EPARSE, "p.yaml:1:2: complex keys are not supported");
  expect_err("a: 1\n  b: 2\n", OSIRIS_EPARSE, "p.yaml:2:4: mapping values are not allowed here");
  expect_err("a:\n  b: 1\n c: 2\n", OSIRIS_EPARSE, "p.yaml:3:2: bad indentation of a mapping entry");
  expect_err("a:\n  - 1\n - 2\n", OSIRIS_EPARSE, "p.yaml:3:2: bad indentation of a mapping entry");
  expect_json("- a\n  - b\n", "[\"a - b\"]"); /* a continuation line, as in PyYAML */
  expect_err("a: 'x\n", OSIRIS_EPARSE, "p.yaml:1:4: unterminated single-quoted string");
  expect_err("a: \"x\n\n", OSIRIS_EPARSE, "p.yaml:1:4: unterminated double-quoted string");
  expect_err("a: 'x\n---\ny'\n", OSIRIS_EPARSE, "p.yaml:1:4: unterminated single-quoted string");
  expect_err("a: [1, 2\n", OSIRIS_EPARSE, "p.yaml:1:4: unterminated flow sequence");
  expect_err("a:\n  b: {x: 1,\n", OSIRIS_EPARSE, "p.yaml:2:6: unterminated flow mapping");
  expect_err("a: [\"x\" y]\n", OSIRIS_EPARSE, "p.yaml:1:9: expected ',' or ']' in flow sequence");
  expect_err("{\"a\": \"1\" \"b\": 2}\n", OSIRIS_EPARSE, "p.yaml:1:11: expected ',' or '}' in flow mapping");
  expect_err("a: b: c\n", OSIRIS_EPARSE, "p.yaml:1:5: mapping values are not allowed here");
  expect_err("a: - b\n", OSIRIS_EPARSE, "p.yaml:1:4: a block sequence cannot start on the line of its key");
  expect_err("a: \"x\" y\n", OSIRIS_EPARSE, "p.yaml:1:8: unexpected text after a value");
  expect_err("a: [1, 2]]\n", OSIRIS_EPARSE, "p.yaml:1:10: unexpected text after a value");
  expect_err("a: 'x'#c\n", OSIRIS_EPARSE, "p.yaml:1:7: unexpected text after a value");
  expect_err("[1]\nfoo\n", OSIRIS_EPARSE, "p.yaml:2:1: unexpected text after a value");
  expect_err("a: b\n---\nc: d\n", OSIRIS_EPARSE, "p.yaml:2:1: a second document is not supported");
  expect_err("a: b\n...\nc: d\n", OSIRIS_EPARSE, "p.yaml:3:1: a second document is not supported");
  expect_err("a: b\n...\n---\n", OSIRIS_EPARSE, "p.yaml:3:1: a second document is not supported");
  expect_err("%YAML 1.2\n---\na: 1\n", OSIRIS_EPARSE,
             "p.yaml:1:1: directives (%YAML, %TAG) are not supported");
  expect_err("- a\nb: 1\n", OSIRIS_EPARSE, "p.yaml:2:1: expected a sequence item ('- ')");
  expect_err("a: 1\n- b\n", OSIRIS_EPARSE, "p.yaml:2:1: expected a mapping key, found a sequence item");
  expect_err("a: 1\nfoo\n", OSIRIS_EPARSE, "p.yaml:2:1: expected 'key: value'");
  expect_err(": x\n", OSIRIS_EPARSE, "p.yaml:1:1: empty mapping key");
  expect_err("a: \"bad \\q escape\"\n", OSIRIS_EPARSE, "p.yaml:1:9: invalid escape '\\q'");
  expect_err("a: \"\\ud800\"\n", OSIRIS_EPARSE, "p.yaml:1:5: escape is not a valid code point");
  expect_err("a: \"\\x4\"\n", OSIRIS_EPARSE, "p.yaml:1:5: invalid escape '\\x'");
  expect_err("a: |0\n  x\n", OSIRIS_EPARSE, "p.yaml:1:5: block scalar indentation indicator cannot be 0");
  expect_err("a: |x\n", OSIRIS_EPARSE, "p.yaml:1:5: unexpected text after a block scalar indicator");
  expect_err("a: [|]\n", OSIRIS_EPARSE, "p.yaml:1:5: block scalars are not allowed in flow collections");
  expect_err("a: [- b]\n", OSIRIS_EPARSE, "p.yaml:1:5: block sequences are not allowed in flow collections");
  expect_err("[, a]\n", OSIRIS_EPARSE, "p.yaml:1:2: unexpected ','");
  expect_err("a: @x\n", OSIRIS_EPARSE, "p.yaml:1:4: '@' cannot start a plain scalar; quote the value");
  expect_err("- %d\n", OSIRIS_EPARSE, "p.yaml:1:3: '%' cannot start a plain scalar; quote the value");
  expect_err("'a\n  b': 1\n", OSIRIS_EPARSE, "p.yaml:2:5: mapping values are not allowed here");
  expect_err("\"a\\0b\": 1\n", OSIRIS_EPARSE, "p.yaml:1:1: mapping key contains U+0000");
  /* Bytes: control characters and invalid UTF-8, with their place. */
  expect_err("a: \x01\n", OSIRIS_EPARSE, "p.yaml:1:4: control character 0x01");
  expect_err("a: x\rb\n", OSIRIS_EPARSE, "p.yaml:1:5: control character 0x0D");
  expect_err("a: 1\nb: '\xc3\xa9\xff'\n", OSIRIS_EPARSE, "p.yaml:2:6: invalid UTF-8");
  expect_err("a: \xed\xa0\x80\n", OSIRIS_EPARSE, "p.yaml:1:4: invalid UTF-8");
  expect_err("a: \xc0\xaf\n", OSIRIS_EPARSE, "p.yaml:1:4: invalid UTF-8");
  /* Columns count characters. */
  expect_err("\xc3\xa9t\xc3\xa9: [x\n", OSIRIS_EPARSE, "p.yaml:1:6: unterminated flow sequence");
  /* Without a file name. */
  {
    osiris_json *v = NULL;
    os_err err = {0};
    CHECK_RC(ym_parse("a: 1\na: 2\n", 10, NULL, &v, &err), OSIRIS_EPARSE);
    CHECK_STR(err.msg, "2:1: duplicate key \"a\"");
  }
}

static void test_limits(void) {
  os_buf b = {0};
  osiris_json *v = NULL;
  int i;
  /* Flow: 256 levels parse, 257 do not. */
  for (i = 0; i < 256; i++) ob_putc(&b, '[');
  for (i = 0; i < 256; i++) ob_putc(&b, ']');
  CHECK_RC(t_parse(b.p, &v), OSIRIS_OK);
  osiris_json_free(v);
  b.len = 0;
  for (i = 0; i < 257; i++) ob_putc(&b, '[');
  for (i = 0; i < 257; i++) ob_putc(&b, ']');
  CHECK_RC(t_parse(b.p, &v), OSIRIS_ELIMIT);
  CHECK_STR(t_msg, "p.yaml:1:257: nesting deeper than 256");
  /* Block mappings. */
  b.len = 0;
  for (i = 0; i < 256; i++) ob_printf(&b, "%*sk:\n", i, "");
  ob_printf(&b, "%*sv\n", 256, "");
  CHECK_RC(t_parse(b.p, &v), OSIRIS_OK);
  osiris_json_free(v);
  b.len = 0;
  for (i = 0; i < 257; i++) ob_printf(&b, "%*sk:\n", i, "");
  ob_printf(&b, "%*sv\n", 257, "");
  CHECK_RC(t_parse(b.p, &v), OSIRIS_ELIMIT);
  CHECK_STR(t_msg, "p.yaml:257:257: nesting deeper than 256");
  /* Block sequences on one line. */
  b.len = 0;
  for (i = 0; i < 257; i++) ob_puts(&b, "- ");
  ob_puts(&b, "x\n");
  CHECK_RC(t_parse(b.p, &v), OSIRIS_ELIMIT);
  ob_free(&b);
  {
    os_err err = {0};
    CHECK_RC(ym_parse("a: 1", OS_MAX_DOC + 1, "big.yaml", &v, &err), OSIRIS_ELIMIT);
    CHECK(strstr(err.msg, "big.yaml:1:1: document larger than") == err.msg);
  }
  /* Many keys use the hashed duplicate check. */
  b.len = 0;
  for (i = 0; i < 3000; i++) ob_printf(&b, "k%d: %d\n", i, i);
  CHECK_RC(t_parse(b.p, &v), OSIRIS_OK);
  CHECK(osiris_json_size(v) == 3000);
  osiris_json_free(v);
  ob_puts(&b, "k77: dup\n");
  CHECK_RC(t_parse(b.p, &v), OSIRIS_EPARSE);
  CHECK_STR(t_msg, "p.yaml:3001:1: duplicate key \"k77\"");
  ob_free(&b);
}

static void test_emit(void) {
  expect_round_trip_json(
      "{\"pipeline\":{\"id\":\"csv_copy\",\"version\":\"0.1.0\"},\"steps\":[{\"id\":\"a\","
      "\"driver\":\"x\",\"needs\":[]},{\"id\":\"b\",\"needs\":[\"a\"],\"cfg\":{}}],"
      "\"meta\":{\"n\":3,\"d\":7.0,\"t\":true,\"z\":null,\"big\":1e16,\"small\":1e-05}}",
      "pipeline:\n  id: csv_copy\n  version: 0.1.0\nsteps:\n- id: a\n  driver: x\n  needs: []\n"
      "- id: b\n  needs:\n  - a\n  cfg: {}\nmeta:\n  n: 3\n  d: 7.0\n  t: true\n  z: null\n"
      "  big: 1.0e+16\n  small: 1.0e-05\n");
  expect_round_trip_json("[[1, [2, 3]], [], {}, [{\"a\": [{\"b\": 1, \"c\": [[]]}]}]]",
                         "- - 1\n  - - 2\n    - 3\n- []\n- {}\n- - a:\n    - b: 1\n      c:\n      - []\n");
  expect_round_trip_json("\"top\"", "top\n");
  expect_round_trip_json("[]", "[]\n");
  expect_round_trip_json("{}", "{}\n");
  expect_round_trip_json("null", "null\n");
  expect_round_trip_json("{\"a\":{\"b\":{\"c\":1}}}", "a:\n  b:\n    c: 1\n");
  /* Strings: plain when safe, single quotes when they would change, double
   * quotes for control characters. */
  expect_round_trip_json(
      "[\"\", \" \", \" a\", \"a \", \"a: b\", \"a #b\", \"a#b\", \"- a\", \"-a\", \"-\", \"---\","
      " \"...\", \"? x\", \"?x\", \":x\", \"x:\", \"[a]\", \"{a}\", \"*a\", \"&a\", \"!a\", \"|\","
      " \">\", \"'q'\", \"\\\"dq\\\"\", \"%p\", \"@x\", \"`x\", \"#x\", \"null\", \"~\", \"true\","
      " \"yes\", \"No\", \"on\", \"1\", \"-1\", \"1.5\", \".5\", \"1e3\", \".inf\", \".nan\","
      " \"0x1F\", \"0o7\", \"1_000\", \"12:30\", \"2024-01-01\", \"0.1.0\", \"a\\tb\", \"a\\nb\","
      " \"a\\n\", \"\\n\", \"\\u00e9\", \"\\u0085\", \"\\u2028\", \"\\u2029\", \"\\ufeff\","
      " \"\\u0001\", \"\\u007f\", \"\\u0000\", \"back\\\\slash\", \"q'uote\", \"d\\\"q\", \"<<\","
      " \"=\", \"a,b\", \"a]\", \"http://x:8/y\", \"a  b\", \"${params.x}\", \"@f.a\"]",
      "- ''\n- ' '\n- ' a'\n- 'a '\n- 'a: b'\n- 'a #b'\n- a#b\n- '- a'\n- -a\n- '-'\n- '---'\n"
      "- '...'\n- '? x'\n- ?x\n- :x\n- 'x:'\n- '[a]'\n- '{a}'\n- '*a'\n- '&a'\n- '!a'\n- '|'\n"
      "- '>'\n- '''q'''\n- '\"dq\"'\n- '%p'\n- '@x'\n- '`x'\n- '#x'\n- 'null'\n- '~'\n- 'true'\n"
      "- 'yes'\n- 'No'\n- 'on'\n- '1'\n- '-1'\n- '1.5'\n- '.5'\n- '1e3'\n- '.inf'\n- '.nan'\n"
      "- '0x1F'\n- '0o7'\n- '1_000'\n- '12:30'\n- '2024-01-01'\n- 0.1.0\n- \"a\\tb\"\n"
      "- \"a\\nb\"\n- \"a\\n\"\n- \"\\n\"\n- \xc3\xa9\n- \"\\N\"\n- \"\\L\"\n- \"\\P\"\n"
      "- \"\\uFEFF\"\n- \"\\x01\"\n- \"\\x7F\"\n- \"\\0\"\n- back\\slash\n- q'uote\n- d\"q\n"
      "- '<<'\n- '='\n- a,b\n- a]\n- http://x:8/y\n- a  b\n- ${params.x}\n- '@f.a'\n");
  /* Numbers. */
  {
    osiris_json *a = osiris_json_new(OSIRIS_JSON_ARRAY);
    double ds[] = {0.1, 1e16, 1e-5, 123456789012345680.0, 7.0, -0.0, 1.5, 100.0, INFINITY,
                   -INFINITY, NAN, 5e-324, 1.7976931348623157e308};
    size_t i;
    for (i = 0; i < sizeof ds / sizeof *ds; i++) osiris_json_push(a, osiris_json_new_double(ds[i]));
    osiris_json_push(a, osiris_json_new_int(INT64_MIN));
    osiris_json_push(a, osiris_json_new_int(INT64_MAX));
    expect_emit(a, 0,
                "- 0.1\n- 1.0e+16\n- 1.0e-05\n- 1.2345678901234568e+17\n- 7.0\n- -0.0\n- 1.5\n"
                "- 100.0\n- .inf\n- -.inf\n- .nan\n- 5.0e-324\n- 1.7976931348623157e+308\n"
                "- -9223372036854775808\n- 9223372036854775807\n");
    osiris_json_free(a);
  }
  /* Keys that need quoting; sorted output is by bytes. */
  {
    osiris_json *o = NULL;
    const char *j = "{\"b\":1,\"a: x\":2,\"\":3,\"1\":4,\"null\":5,\"multi\\nline\":6,\"- d\":7,"
                    "\"\\u00e9\":8,\"B\":9}";
    CHECK_RC(osiris_json_parse(j, strlen(j), &o, NULL, 0), OSIRIS_OK);
    expect_emit(o, YM_SORTED,
                "'': 3\n'- d': 7\n'1': 4\nB: 9\n'a: x': 2\nb: 1\n\"multi\\nline\": 6\n'null': 5\n"
                "\xc3\xa9: 8\n");
    expect_emit(o, YM_MARKERS, NULL);
    osiris_json_free(o);
  }
  /* Invalid UTF-8 cannot be written as YAML. */
  {
    osiris_json *s = osiris_json_new_str("a\xff", 2);
    os_buf b = {0};
    CHECK_RC(ym_emit(&b, s, 0), OSIRIS_EINVAL);
    ob_free(&b);
    osiris_json_free(s);
  }
}

/* Emit every document the parser tests read and read it back. */
static void test_emit_round_trips(void) {
  const char *docs[] = {
      OML,
      "connections:\n  mysql:\n    movies:\n      default: true\n      host: ${MYSQL_HOST:-127.0.0.1}\n"
      "      port: 3306\n      password: ${MYSQL_PASSWORD}\n",
      "a: |\n  x\n  y\n\nb: |-\n  x\nc: |+\n  x\n\n\nd: >\n  a\n  b\n\n  c\n   ind\n",
      "d: \"esc \\\" \\\\ \\t \\n \\x41 \\u00e9 \\U0001F600 \\N \\_ \\L \\P \\e \\0 end\"\n",
      "- [a, b, [c, {d: e}]]\n- {x: 1, y: [], z: {}}\n- [a: b]\n",
      "[.inf, -.inf, .nan, 1.0, -0.0, 1e300, 5e-324, 0x7F, 0o17, 99999999999999999999]\n",
      "s: [1_000, 0b101, '12:30', 2024-01-01, '123', \"true\", 1.2.3, +, ., -, yes, no, ~, '']\n",
      "'': empty\n' lead': 1\n'trail ': 2\n\"tab\\tkey\": 3\n"};
  size_t i;
  for (i = 0; i < sizeof docs / sizeof *docs; i++) {
    osiris_json *v = NULL;
    CHECK_RC(t_parse(docs[i], &v), OSIRIS_OK);
    if (!v) continue;
    expect_emit(v, 0, NULL);
    expect_emit(v, YM_SORTED | YM_MARKERS, NULL);
    osiris_json_free(v);
  }
  /* Random strings over an alphabet full of YAML indicators. */
  {
    static const char *alpha[] = {" ", "a", "b", "-", ":", "#", "'", "\"", "\\", "\n", "\t", "[",
                                  "]", "{", "}", ",", "?", "!", "&", "*", "|", ">", "%", "@",
                                  ".", "0", "1", "e", "~", "\xc3\xa9", "\xe2\x80\xa8", "x"};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    int k, bad = 0;
    for (k = 0; k < 3000; k++) {
      os_buf s = {0}, out = {0};
      osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT), *w = NULL;
      int len, j;
      os_err err = {0};
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      len = (int)(x % 7);
      for (j = 0; j < len; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ob_puts(&s, alpha[x % (sizeof alpha / sizeof *alpha)]);
      }
      if (!s.p) ob_puts(&s, "");
      if (!strchr(s.p, '\0') || strlen(s.p) == s.len) {
        osiris_json_set(o, s.p, osiris_json_new_str(s.p, s.len));
        js_set_str(o, "k", s.p);
      }
      if (ym_emit(&out, o, 0) || ym_parse(out.p, out.len, "rt", &w, &err) || !js_equal(o, w)) {
        if (bad++ < 5) fprintf(stderr, "  round trip failed for [%s]: %s\n%s\n", s.p, err.msg, out.p);
      }
      osiris_json_free(w);
      osiris_json_free(o);
      ob_free(&s);
      ob_free(&out);
    }
    CHECK(bad == 0);
  }
}

static void test_read_file(void) {
  char path[] = "/tmp/osiris_test_yaml_XXXXXX";
  int fd = mkstemp(path);
  osiris_json *v = NULL;
  os_err err = {0};
  char want[128];
  CHECK(fd >= 0);
  CHECK(write(fd, "a: 1\nb: [x\n", 11) == 11);
  close(fd);
  CHECK_RC(ym_read_file(path, &v, &err), OSIRIS_EPARSE);
  snprintf(want, sizeof want, "%s:2:4: unterminated flow sequence", path);
  CHECK_STR(err.msg, want);
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK(write(fd, "a: 1\n", 5) == 5);
  close(fd);
  CHECK_RC(ym_read_file(path, &v, &err), OSIRIS_OK);
  CHECK(osiris_json_int(osiris_json_get(v, "a"), 0) == 1);
  osiris_json_free(v);
  unlink(path);
  CHECK_RC(ym_read_file(path, &v, &err), OSIRIS_ENOTFOUND);
}

#ifdef OSIRIS_FAULT_INJECTION
static void test_fault_injection(void) {
  const char *doc = "a: [1, {b: 'x'}]\nc:\n- d: |\n    lit\n  e: \"q\\n\"\nf: {g: h}\n";
  long k;
  for (k = 0; k < 2000; k++) {
    osiris_json *v = NULL;
    osiris_rc rc;
    os_buf b = {0};
    os_fault_countdown = k;
    rc = t_parse(doc, &v);
    if (rc == OSIRIS_OK) {
      rc = ym_emit(&b, v, YM_SORTED);
      CHECK(rc == OSIRIS_OK || rc == OSIRIS_ENOMEM);
    } else {
      CHECK_RC(rc, OSIRIS_ENOMEM);
    }
    ob_free(&b);
    osiris_json_free(v);
    if (rc == OSIRIS_OK && os_fault_countdown >= 0) break;
  }
  os_fault_countdown = -1;
  CHECK(k < 2000);
}
#endif

int main(void) {
  RUN(test_oml);
  RUN(test_manifest_shapes);
  RUN(test_comments_and_markers);
  RUN(test_scalars);
  RUN(test_block_scalars);
  RUN(test_flow);
  RUN(test_core_schema);
  RUN(test_errors);
  RUN(test_limits);
  RUN(test_emit);
  RUN(test_emit_round_trips);
  RUN(test_read_file);
#ifdef OSIRIS_FAULT_INJECTION
  RUN(test_fault_injection);
#endif
  return th_report();
}
