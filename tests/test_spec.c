/* Unit tests of validation from the driver specs (section 12 of osiris.c
 * over the key tables of drivers.c): every check with the place it reports
 * (location and line:col), "did you mean", aliases, the one-of group,
 * connection references against osiris_connections.yaml, the JSON Schema
 * of `components show --json`, and the consistency of every built-in
 * table.  Each test fails without the check it names. */
#include "../osiris.c"
#include "../drivers.c"
#include "harness.h"

#include <ftw.h>

static char tmp_root[256];

static void spit(const char *name, const char *text) {
  char *path = os_path_join(tmp_root, name);
  os_err err = {0};
  os_write_file(path, text, strlen(text), &err);
  os_free(path);
}

static osiris_ctx *new_ctx(void) {
  osiris_ctx *ctx = osiris_ctx_new(tmp_root);
  osiris_register_builtin_drivers(ctx);
  return ctx;
}

/* Validate the OML text (as p.yaml); the report, owned by the caller. */
static osiris_json *validate_text(const char *oml, osiris_rc *rc_out) {
  osiris_ctx *ctx = new_ctx();
  osiris_json *rep = NULL;
  osiris_rc rc;
  spit("p.yaml", oml);
  rc = osiris_validate(ctx, "p.yaml", &rep);
  if (rc_out) *rc_out = rc;
  osiris_ctx_free(ctx);
  return rep;
}

/* The issue of this type at this location, or NULL. */
static const osiris_json *find_issue(const osiris_json *rep, const char *list, const char *type,
                                     const char *loc) {
  const osiris_json *l = osiris_json_get(rep, list);
  size_t i;
  for (i = 0; i < osiris_json_size(l); i++) {
    const osiris_json *e = osiris_json_at(l, i);
    if (os_streq(js_gets(e, "type"), type) && os_streq(js_gets(e, "location"), loc)) return e;
  }
  return NULL;
}

static const char *msg_of(const osiris_json *e) { return e ? js_gets(e, "message") : ""; }

static int64_t ival(const osiris_json *o, const char *k) {
  return osiris_json_int(osiris_json_get(o, k), -1);
}

#define HEAD "oml_version: \"0.1.0\"\nname: t\nsteps:\n"
#define CSV_STEP(cfg)                                                                         \
  HEAD "  - id: a\n    component: filesystem.csv_extractor\n    mode: read\n    config:\n" \
       "      path: x.csv\n" cfg

/* One bad value of a csv_extractor: the error of type at
 * steps[0].config.<key>, at line 9 (the first line after path). */
static const osiris_json *one_bad(osiris_json **rep, const char *cfg_line, const char *type,
                                  const char *key) {
  char oml[1024], loc[128];
  osiris_rc rc;
  snprintf(oml, sizeof oml, CSV_STEP("%s"), cfg_line);
  *rep = validate_text(oml, &rc);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  snprintf(loc, sizeof loc, "steps[0].config.%s", key);
  return find_issue(*rep, "errors", type, loc);
}

/* ---------------------------------------------------------------- tests */

static void test_distance(void) {
  CHECK(cp_distance("delimiter", 9, "delimeter", 9) == 1);
  CHECK(cp_distance("skip_rows", 9, "skiprows", 8) == 1);
  CHECK(cp_distance("main", 4, "mian", 4) == 1); /* a swap is one edit */
  CHECK(cp_distance("ab", 2, "ba", 2) == 1);
  CHECK(cp_distance("kitten", 6, "sitting", 7) == 3);
  CHECK(cp_distance("abc", 3, "ABC", 3) == 0);
  CHECK(cp_distance("limit", 5, "path", 4) > 2);
  CHECK(cp_distance("a", 1, "abcdefgh", 8) == CP_NEAR_MAX + 1);
  {
    cp_near nr;
    char buf[200];
    cp_near_init(&nr, "limt");
    cp_near_offer(&nr, "path", 4);
    cp_near_offer(&nr, "limit", 5);
    CHECK_STR(cp_near_text(&nr, buf, sizeof buf), " (did you mean 'limit'?)");
    cp_near_init(&nr, "zzz");
    cp_near_offer(&nr, "limit", 5);
    CHECK_STR(cp_near_text(&nr, buf, sizeof buf), ""); /* nothing close: no guess */
  }
}

static void test_allowed(void) {
  CHECK(cp_allowed_has("append|replace|upsert", "REPLACE", 7));
  CHECK(!cp_allowed_has("append|replace|upsert", "merge", 5));
  CHECK(!cp_allowed_has("append|replace", "app", 3));
  CHECK(cp_allowed_has("infer|none|", "", 0)); /* an empty value between bars */
  CHECK(!cp_allowed_has("infer|none", "", 0));
}

static void test_valid_values_pass(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(
      CSV_STEP("      delimiter: \"\\t\"\n      header: 2\n      skip_rows: 0\n"
               "      limit: 2.0\n      encoding: LATIN-1\n      columns: [a, b]\n"
               "      na_values: NA\n      strict: false\n      infer_types: ~\n"),
      &rc);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(osiris_json_size(osiris_json_get(rep, "errors")) == 0);
  osiris_json_free(rep);
}

static void test_range(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      skip_rows: -1\n", "config_value_out_of_range", "skip_rows");
  CHECK(e != NULL);
  CHECK_STR(msg_of(e), "'skip_rows' must be an integer >= 0, got -1");
  CHECK(ival(e, "line") == 9 && ival(e, "col") == 18);
  osiris_json_free(rep);
  e = one_bad(&rep, "      header: -2\n", "config_value_out_of_range", "header");
  CHECK_STR(msg_of(e), "'header' must be true, false or an integer >= 0, got -2");
  osiris_json_free(rep);
}

static void test_integer(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      limit: 1e400\n", "invalid_config_type", "limit");
  CHECK_STR(msg_of(e), "'limit' must be an integer >= 0, got a number too large to represent");
  CHECK(ival(e, "line") == 9);
  osiris_json_free(rep);
  e = one_bad(&rep, "      limit: 1e20\n", "invalid_config_type", "limit");
  CHECK(e != NULL); /* beyond int64 */
  osiris_json_free(rep);
  e = one_bad(&rep, "      limit: 2.5\n", "invalid_config_type", "limit");
  CHECK_STR(msg_of(e), "'limit' must be an integer >= 0, got 2.5");
  osiris_json_free(rep);
  e = one_bad(&rep, "      limit: \"10\"\n", "invalid_config_type", "limit");
  CHECK_STR(msg_of(e), "'limit' must be an integer >= 0, got \"10\"");
  osiris_json_free(rep);
}

static void test_char(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      delimiter: \";;\"\n", "invalid_config_type", "delimiter");
  CHECK_STR(msg_of(e), "'delimiter' must be one character, got \";;\"");
  osiris_json_free(rep);
  e = one_bad(&rep, "      delimiter: \"\"\n", "invalid_config_type", "delimiter");
  CHECK(e != NULL);
  osiris_json_free(rep);
  e = one_bad(&rep, "      delimiter: \"\\n\"\n", "invalid_config_type", "delimiter");
  CHECK(e != NULL); /* a control character */
  osiris_json_free(rep);
}

static void test_allowed_values(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      encoding: utf-16\n", "invalid_config_value", "encoding");
  CHECK(e && strstr(msg_of(e), "'encoding' must be one of \"utf-8\", \"utf8\"") == msg_of(e));
  CHECK(e && strstr(msg_of(e), "got \"utf-16\" (did you mean 'utf-8'?)") != NULL);
  CHECK(ival(e, "line") == 9 && ival(e, "col") == 17);
  osiris_json_free(rep);
}

static void test_bool(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      strict: \"yes\"\n", "invalid_config_type", "strict");
  CHECK_STR(msg_of(e), "'strict' must be true or false, got \"yes\" (write true or false without quotes)");
  osiris_json_free(rep);
}

static void test_lists(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      columns: name\n", "invalid_config_type", "columns");
  CHECK_STR(msg_of(e), "'columns' must be a list of strings, got \"name\"");
  osiris_json_free(rep);
  e = one_bad(&rep, "      columns: [a, [b]]\n", "invalid_config_type", "columns[1]");
  CHECK_STR(msg_of(e), "'columns' items must be strings, got a list");
  CHECK(ival(e, "line") == 9 && ival(e, "col") == 20);
  osiris_json_free(rep);
}

static void test_unknown_key(void) {
  osiris_json *rep;
  const osiris_json *e = one_bad(&rep, "      delimeter: \",\"\n", "unknown_config_key", "delimeter");
  CHECK_STR(msg_of(e), "Unknown configuration key 'delimeter' for component "
                       "'filesystem.csv_extractor' (did you mean 'delimiter'?)");
  osiris_json_free(rep);
  e = one_bad(&rep, "      qqqqqq: 1\n", "unknown_config_key", "qqqqqq");
  CHECK(e && !strstr(msg_of(e), "did you mean"));
  osiris_json_free(rep);
}

static void test_unknown_component(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(HEAD "  - id: a\n    component: filesystem.csv_extracter\n"
                                        "    mode: read\n    config: {path: x}\n",
                                   &rc);
  const osiris_json *e = find_issue(rep, "errors", "unknown_component", "steps[0].component");
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(e && strstr(msg_of(e), "(did you mean 'filesystem.csv_extractor'?)") != NULL);
  osiris_json_free(rep);
}

#define DB_STEP(comp, mode, cfg)                                                       \
  HEAD "  - id: a\n    component: " comp "\n    mode: " mode "\n    config:\n" cfg

static void test_one_of(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(DB_STEP("mysql.extractor", "read", "      host: h\n"), &rc);
  const osiris_json *e = find_issue(rep, "errors", "missing_config_key", "steps[0].config");
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK_STR(msg_of(e), "Step 'a': component 'mysql.extractor' needs one of 'query', 'table'");
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      query: q\n      table: t\n"), &rc);
  e = find_issue(rep, "errors", "conflicting_config_keys", "steps[0].config.table");
  CHECK_STR(msg_of(e), "Step 'a': give only one of 'query', 'table'");
  CHECK(ival(e, "line") == 9);
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK);
  osiris_json_free(rep);
}

static void test_alias(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(
      DB_STEP("mysql.writer", "write", "      table: t\n      write_mode: append\n      mode: append\n"), &rc);
  const osiris_json *e = find_issue(rep, "errors", "duplicate_config_key", "steps[0].config.mode");
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK_STR(msg_of(e), "'mode' and 'write_mode' are both given: 'mode' is another name for "
                       "'write_mode'; keep one");
  osiris_json_free(rep);
  /* the alias is checked against its key's allowed values */
  rep = validate_text(DB_STEP("mysql.writer", "write", "      table: t\n      mode: merge\n"), &rc);
  e = find_issue(rep, "errors", "invalid_config_value", "steps[0].config.mode");
  CHECK(e && strstr(msg_of(e), "'mode' must be one of \"append\"") == msg_of(e));
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write", "      table: t\n      write_mode: merge\n"
                                                       "      create_if_missing: \"yes\"\n"),
                      &rc);
  CHECK(find_issue(rep, "errors", "invalid_config_value", "steps[0].config.write_mode"));
  CHECK(find_issue(rep, "errors", "invalid_config_type", "steps[0].config.create_if_missing"));
  CHECK(osiris_json_size(osiris_json_get(rep, "errors")) == 2); /* all at once */
  osiris_json_free(rep);
}

/* The 0.5.7 names of mysql.writer: upsert_keys and create_table are
 * plain aliases (both given is an error), truncate_before: true means
 * write_mode: replace and must agree with a write_mode (any case) or mode
 * given beside it. */
static void test_writer_aliases(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(
      DB_STEP("mysql.writer", "write",
              "      table: t\n      write_mode: UPSERT\n      upsert_keys: [id]\n"), &rc);
  const osiris_json *e;
  CHECK_RC(rc, OSIRIS_OK); /* upsert_keys is the key upsert needs; UPSERT in any case */
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write",
                              "      table: t\n      upsert_keys: [id]\n      primary_key: id\n"),
                      &rc);
  CHECK(find_issue(rep, "errors", "duplicate_config_key", "steps[0].config.upsert_keys"));
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write",
                              "      table: t\n      create_table: false\n"
                              "      create_if_missing: true\n"),
                      &rc);
  e = find_issue(rep, "errors", "duplicate_config_key", "steps[0].config.create_table");
  CHECK_STR(msg_of(e), "'create_table' and 'create_if_missing' are both given: 'create_table' is "
                       "another name for 'create_if_missing'; keep one");
  CHECK(ival(e, "line") == 9 && ival(e, "col") == 21);
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write",
                              "      table: t\n      truncate_before: true\n"
                              "      write_mode: upsert\n      primary_key: id\n"),
                      &rc);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  e = find_issue(rep, "errors", "conflicting_config_keys", "steps[0].config.truncate_before");
  CHECK_STR(msg_of(e), "'truncate_before: true' conflicts with 'write_mode: upsert' "
                       "('truncate_before: true' means 'write_mode: replace'); keep one");
  CHECK(ival(e, "line") == 9);
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write",
                              "      table: t\n      truncate_before: false\n      mode: Replace\n"
                              "      primary_key: id\n"),
                      &rc);
  CHECK(find_issue(rep, "errors", "conflicting_config_keys", "steps[0].config.truncate_before"));
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.writer", "write",
                              "      table: t\n      truncate_before: true\n"
                              "      write_mode: REPLACE\n      upsert_keys: [id]\n"),
                      &rc);
  CHECK_RC(rc, OSIRIS_OK); /* agreeing: fine */
  osiris_json_free(rep);
  /* true alone is replace, which needs a key */
  rep = validate_text(DB_STEP("mysql.writer", "write", "      table: t\n      truncate_before: true\n"),
                      &rc);
  e = find_issue(rep, "errors", "missing_required_field", "steps[0].config.primary_key");
  CHECK_STR(msg_of(e), "Step 'a' requires 'primary_key' when write_mode is 'replace' "
                       "(truncate_before: true)");
  osiris_json_free(rep);
  /* the primary_key rule sees write_mode in any case, as the writer does */
  rep = validate_text(DB_STEP("mysql.writer", "write", "      table: t\n      write_mode: Upsert\n"),
                      &rc);
  CHECK(find_issue(rep, "errors", "missing_required_field", "steps[0].config.primary_key"));
  osiris_json_free(rep);
}

/* A connection field of an integer type may be quoted (port: "3306"), as
 * connections files write it; other text is still an error. */
static void test_quoted_port(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      port: \"3306\"\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK);
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      port: \"33o6\"\n"), &rc);
  CHECK_STR(msg_of(find_issue(rep, "errors", "invalid_config_type", "steps[0].config.port")),
            "'port' must be an integer between 0 and 65535, got \"33o6\" (digits, quoted or not)");
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      port: \"70000\"\n"), &rc);
  CHECK(find_issue(rep, "errors", "config_value_out_of_range", "steps[0].config.port"));
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      limit: \"5\"\n"), &rc);
  CHECK(find_issue(rep, "errors", "invalid_config_type", "steps[0].config.limit")); /* not a connection field */
  osiris_json_free(rep);
}

/* csv_extractor dtype: a mapping of known pandas names; an unknown one is
 * an error at the column's path. */
static void test_dtype(void) {
  osiris_json *rep = NULL;
  const osiris_json *e = one_bad(&rep, "      dtype: {a: int64, b: floaty}\n", "invalid_config_value",
                                 "dtype.b");
  CHECK(e && strstr(msg_of(e), "(did you mean 'float'?)"));
  CHECK(ival(e, "line") == 9);
  CHECK(!find_issue(rep, "errors", "invalid_config_value", "steps[0].config.dtype.a"));
  osiris_json_free(rep);
  e = one_bad(&rep, "      dtype: {a: 3}\n", "invalid_config_type", "dtype.a");
  CHECK_STR(msg_of(e), "'dtype' values must be strings, got 3");
  osiris_json_free(rep);
  e = one_bad(&rep, "      dtype: [int64]\n", "invalid_config_type", "dtype");
  CHECK(e != NULL);
  osiris_json_free(rep);
}

/* Every key of the 0.5.7 specs named by issue 15 is known. */
static void test_reference_keys_known(void) {
  static const char *const keys[][2] = {
      {"filesystem.csv_extractor", "comment"}, {"filesystem.csv_extractor", "dtype"},
      {"filesystem.csv_extractor", "connection"}, {"mysql.extractor", "batch_size"},
      {"mysql.extractor", "offset"}, {"mysql.extractor", "schema"}, {"mysql.extractor", "echo"},
      {"mysql.extractor", "pool_size"}, {"mysql.extractor", "pool_recycle"},
      {"mysql.writer", "create_table"}, {"mysql.writer", "truncate_before"},
      {"mysql.writer", "upsert_keys"}, {"mysql.writer", "schema"}, {"mysql.writer", "echo"},
      {"mysql.writer", "pool_size"}, {"mysql.writer", "pool_recycle"},
      {"supabase.extractor", "tables"}, {"supabase.extractor", "select"},
      {"supabase.extractor", "filter"}, {"supabase.extractor", "order"},
      {"supabase.extractor", "offset"}, {"supabase.extractor", "schema"},
      {"supabase.extractor", "project_id"}, {"supabase.extractor", "retries"},
      {"supabase.extractor", "timeout"}};
  osiris_ctx *ctx = new_ctx();
  size_t i;
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const osiris_config_key *k = cp_key_find(osiris_driver_find(ctx, keys[i][0]), keys[i][1], 0);
    if (!k) fprintf(stderr, "  %s.%s missing\n", keys[i][0], keys[i][1]);
    CHECK(k != NULL);
  }
  osiris_ctx_free(ctx);
}

static void test_secret_never_echoed(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(
      DB_STEP("postgres.extractor", "read", "      table: t\n      dsn: [\"hunter2-secret\"]\n"), &rc);
  const osiris_json *e = find_issue(rep, "errors", "invalid_config_type", "steps[0].config.dsn");
  os_buf all = {0};
  CHECK(e != NULL);
  js_dump(&all, rep, 0);
  CHECK(all.p && !strstr(all.p, "hunter2"));
  ob_free(&all);
  osiris_json_free(rep);
}

static void test_unresolved_param_not_typed(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(CSV_STEP("      limit: ${params.n}\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK); /* validate has no --param: a warning, not a type error */
  CHECK(find_issue(rep, "warnings", "unresolved_param", "steps.0.config.limit") ||
        osiris_json_size(osiris_json_get(rep, "warnings")) == 1);
  osiris_json_free(rep);
}

static void test_no_effect_warns(void) {
  osiris_rc rc;
  osiris_json *rep = validate_text(CSV_STEP("      chunk_size: 5\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(find_issue(rep, "warnings", "no_effect_config_key", "steps[0].config.chunk_size") != NULL);
  osiris_json_free(rep);
}

static void test_connections(void) {
  osiris_rc rc;
  osiris_json *rep;
  const osiris_json *e;
  char *path = os_path_join(tmp_root, "osiris_connections.yaml");
  remove(path);
  /* no file at all */
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql.db\"\n"), &rc);
  e = find_issue(rep, "errors", "unknown_connection", "steps[0].config.connection");
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(e && strstr(msg_of(e), "no osiris_connections.yaml found") != NULL);
  CHECK(ival(e, "line") == 9 && ival(e, "col") == 19);
  osiris_json_free(rep);
  spit("osiris_connections.yaml",
       "connections:\n  mysql:\n    main:\n      host: h\n      password: ${UNSET_SPEC_VAR}\n"
       "  postgres:\n    wh:\n      default: true\n      host: h\n");
  /* a missing alias, with the aliases and a guess */
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql.mian\"\n"), &rc);
  e = find_issue(rep, "errors", "unknown_connection", "steps[0].config.connection");
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(e && strstr(msg_of(e), "no alias 'mian' in family 'mysql'") != NULL);
  CHECK(e && strstr(msg_of(e), "(did you mean 'main'?); aliases: main") != NULL);
  osiris_json_free(rep);
  /* the alias exists; its ${VAR} is unset and not needed to validate */
  unsetenv("UNSET_SPEC_VAR");
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql.main\"\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK);
  osiris_json_free(rep);
  /* a missing family; a family without a default; another component's family */
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysq\"\n"), &rc);
  CHECK(find_issue(rep, "errors", "connection_family_mismatch", "steps[0].config.connection"));
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql\"\n"), &rc);
  e = find_issue(rep, "errors", "unknown_connection", "steps[0].config.connection");
  CHECK(e && strstr(msg_of(e), "has no default") != NULL);
  osiris_json_free(rep);
  rep = validate_text(DB_STEP("postgres.extractor", "read", "      table: t\n      connection: \"@postgres\"\n"), &rc);
  CHECK_RC(rc, OSIRIS_OK);
  osiris_json_free(rep);
  spit("osiris_connections.yaml", "connections:\n  filesystem:\n    local: {base_dir: .}\n");
  rep = validate_text(DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql.main\"\n"), &rc);
  e = find_issue(rep, "errors", "unknown_connection", "steps[0].config.connection");
  CHECK(e && strstr(msg_of(e), "no family 'mysql'") != NULL);
  osiris_json_free(rep);
  remove(path);
  os_free(path);
}

static void test_compile_checks_values_not_connections(void) {
  osiris_ctx *ctx = new_ctx();
  osiris_json *res = NULL;
  osiris_compile_opts o;
  osiris_rc rc;
  memset(&o, 0, sizeof o);
  o.out_dir = "out";
  spit("p.yaml", CSV_STEP("      skip_rows: -1\n"));
  rc = osiris_compile(ctx, "p.yaml", &o, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(strstr(osiris_ctx_error(ctx), "'skip_rows' must be an integer >= 0, got -1") != NULL);
  osiris_json_free(res);
  res = NULL;
  /* compile never reads osiris_connections.yaml: none is needed */
  spit("p.yaml", DB_STEP("mysql.extractor", "read", "      table: t\n      connection: \"@mysql.x\"\n"));
  rc = osiris_compile(ctx, "p.yaml", &o, &res);
  CHECK_RC(rc, OSIRIS_OK);
  osiris_json_free(res);
  osiris_ctx_free(ctx);
}

static void test_schema(void) {
  osiris_ctx *ctx = new_ctx();
  const osiris_driver *d = osiris_driver_find(ctx, "filesystem.csv_extractor");
  osiris_json *s = d ? cp_driver_schema(d) : NULL;
  const osiris_json *props = osiris_json_get(s, "properties"), *k;
  CHECK(s != NULL);
  CHECK_STR(js_gets(s, "$schema"), "https://json-schema.org/draft/2020-12/schema");
  CHECK(osiris_json_kind_of(osiris_json_get(s, "additionalProperties")) == OSIRIS_JSON_BOOL &&
        !osiris_json_bool(osiris_json_get(s, "additionalProperties"), 1));
  CHECK_STR(osiris_json_str(osiris_json_at(osiris_json_get(s, "required"), 0)), "path");
  k = osiris_json_get(props, "skip_rows");
  CHECK_STR(js_gets(k, "type"), "integer");
  CHECK(ival(k, "minimum") == 0 && !osiris_json_get(k, "maximum"));
  CHECK(ival(k, "default") == 0);
  k = osiris_json_get(props, "encoding");
  CHECK_STR(osiris_json_str(osiris_json_at(osiris_json_get(k, "enum"), 0)), "utf-8");
  k = osiris_json_get(props, "delimiter");
  CHECK(ival(k, "minLength") == 1 && ival(k, "maxLength") == 1);
  CHECK(osiris_json_bool(osiris_json_get(osiris_json_get(props, "path"), "x-osiris-input-file"), 0));
  CHECK(osiris_json_get(props, "connection") != NULL); /* accepted by every component */
  osiris_json_free(s);
  d = osiris_driver_find(ctx, "supabase.writer");
  s = d ? cp_driver_schema(d) : NULL;
  props = osiris_json_get(s, "properties");
  CHECK(osiris_json_bool(osiris_json_get(osiris_json_get(props, "service_role_key"), "x-osiris-secret"), 0));
  CHECK_STR(js_gets(osiris_json_get(props, "mode"), "x-osiris-alias-of"), "write_mode");
  CHECK(osiris_json_get(osiris_json_get(osiris_json_get(s, "dependentSchemas"), "mode"), "not") != NULL);
  CHECK(ival(osiris_json_get(props, "retries"), "maximum") == 10);
  osiris_json_free(s);
  d = osiris_driver_find(ctx, "mysql.extractor");
  s = d ? cp_driver_schema(d) : NULL;
  CHECK(osiris_json_size(osiris_json_get(s, "oneOf")) == 2);
  osiris_json_free(s);
  osiris_ctx_free(ctx);
}

/* Every built-in table is a spec validate can use: a type on every key
 * that has an effect, aliases naming a key of the same table, ranges only
 * on numbers, and every default passing its own key's check. */
static void test_builtin_tables(void) {
  osiris_ctx *ctx = new_ctx();
  size_t i;
  for (i = 0; i < osiris_driver_count(ctx); i++) {
    const osiris_driver *d = osiris_driver_at(ctx, i, NULL);
    const osiris_config_key *k;
    for (k = d->keys; k && k->name; k++) {
      cp_state st;
      osiris_json *dv = NULL;
      int ok = k->type != OSIRIS_KT_ANY || (k->flags & OSIRIS_KEY_NO_EFFECT);
      if (!ok) fprintf(stderr, "  %s.%s: no type\n", d->name, k->name);
      CHECK(ok);
      if (k->alias_of && strchr(k->alias_of, '=')) { /* a value alias: a BOOL, its key's value allowed */
        const char *value;
        size_t n = cp_value_alias(k, &value);
        char target[64];
        const osiris_config_key *t;
        snprintf(target, sizeof target, "%.*s", (int)n, k->alias_of);
        t = cp_key_find(d, target, 0);
        CHECK(k->type == OSIRIS_KT_BOOL && t != NULL && !t->alias_of);
        CHECK(t && (!t->allowed || cp_allowed_has(t->allowed, value, strlen(value))));
      } else if (k->alias_of) {
        CHECK(cp_key_find(d, k->alias_of, 0) != NULL && !cp_key_find(d, k->alias_of, 0)->alias_of);
      }
      if (k->flags & OSIRIS_KEY_RANGE) CHECK(cp_has_range(k) && k->min <= k->max);
      if (!k->default_json) continue;
      CHECK_RC(osiris_json_parse(k->default_json, strlen(k->default_json), &dv, NULL, 0), OSIRIS_OK);
      cp_state_init(&st, ctx);
      if (dv) cp_check_value(&st, dv, "default", k->name, cp_key_spec(d, k));
      ok = osiris_json_size(st.errors) == 0;
      if (!ok) fprintf(stderr, "  %s.%s: default %s fails its spec\n", d->name, k->name, k->default_json);
      CHECK(ok);
      cp_state_free(&st);
      osiris_json_free(dv);
    }
  }
  osiris_ctx_free(ctx);
}

static void test_examples_validate(void) {
  osiris_ctx *ctx = osiris_ctx_new(NULL);
  osiris_json *rep = NULL;
  char *dir = os_path_dirname(__FILE__), *here = os_path_abs(NULL, dir);
  char *path = os_asprintf("%s/../examples/movies/pipeline.yaml", here);
  osiris_register_builtin_drivers(ctx);
  CHECK_RC(osiris_validate(ctx, path, &rep), OSIRIS_OK);
  osiris_json_free(rep);
  osiris_ctx_free(ctx);
  os_free(path);
  os_free(here);
  os_free(dir);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris_test_spec_XXXXXX");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  unsetenv("OSIRIS_HOME");
  RUN(test_distance);
  RUN(test_allowed);
  RUN(test_valid_values_pass);
  RUN(test_range);
  RUN(test_integer);
  RUN(test_char);
  RUN(test_allowed_values);
  RUN(test_bool);
  RUN(test_lists);
  RUN(test_unknown_key);
  RUN(test_unknown_component);
  RUN(test_one_of);
  RUN(test_alias);
  RUN(test_writer_aliases);
  RUN(test_quoted_port);
  RUN(test_dtype);
  RUN(test_reference_keys_known);
  RUN(test_secret_never_echoed);
  RUN(test_unresolved_param_not_typed);
  RUN(test_no_effect_warns);
  RUN(test_connections);
  RUN(test_compile_checks_values_not_connections);
  RUN(test_schema);
  RUN(test_builtin_tables);
  RUN(test_examples_validate);
  nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return th_report();
}
