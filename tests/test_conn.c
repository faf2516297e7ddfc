/* Unit tests of section 11: .env loading, ${VAR} substitution, connection
 * references, default aliases, every resolution error, masked listing. */
#include "../osiris.c"
#include "harness.h"

static char tmp_root[256];

static void spit(const char *dir, const char *name, const char *text) {
  char *path = os_path_join(dir, name);
  char *parent = os_path_dirname(path);
  os_err err = {0};
  os_mkdir_p(parent, &err);
  os_write_file(path, text, strlen(text), &err);
  os_free(parent);
  os_free(path);
}

static const char *conn_yaml =
    "connections:\n"
    "  mysql:\n"
    "    main:\n"
    "      host: db.local\n"
    "      port: 3306\n"
    "      user: ${TC_USER}\n"
    "      password: ${TC_PASS}\n"
    "      database: \"${TC_DB:-movies}\"\n"
    "      dsn: \"mysql://${TC_USER}@${TC_HOST-localhost}/x\"\n"
    "      schema: \"${TC_EMPTY:-fallback}|${TC_EMPTY-kept}|${TC_EMPTY}|$${TC_USER}|${not closed\"\n"
    "      options:\n"
    "        sslmode: ${TC_SSL}\n"
    "    other:\n"
    "      default: true\n"
    "      host: other.local\n"
    "      password: \"literal-pass-123\"\n"
    "      token: \"${TC_TOK:-tok-literal-default}\"\n"
    "      from_dotenv: \"${TC_DOTENV_B}\"\n"
    "  supabase:\n"
    "    default:\n"
    "      url: https://x.supabase.co\n"
    "      key: ${TC_SUPA_KEY}\n"
    "  pg:\n"
    "    a:\n"
    "      host: a\n"
    "    b:\n"
    "      host: b\n";

static const char *const tc_vars[] = {"TC_USER", "TC_PASS", "TC_DB", "TC_HOST", "TC_SSL",
                                      "TC_TOK", "TC_SUPA_KEY", "TC_EMPTY", "TC_DOTENV_A",
                                      "TC_DOTENV_B", "TC_DOTENV_C", "TC_SHADOW", "TC_INLINE",
                                      "TC_HOME_ONLY", "TC_EMPTY_DOT", "TC_NOPE", NULL};

static void clean_env(void) {
  size_t i;
  for (i = 0; tc_vars[i]; i++) unsetenv(tc_vars[i]);
  unsetenv("OSIRIS_HOME");
}

static osiris_ctx *new_ctx(const char *sub) {
  char *dir = os_path_join(tmp_root, sub);
  osiris_ctx *ctx;
  os_err err = {0};
  os_mkdir_p(dir, &err);
  ctx = osiris_ctx_new(dir);
  os_free(dir);
  return ctx;
}

static void test_parse_ref(void) {
  char f[16], a[16];
  CHECK(cn_parse_ref("@mysql.main", f, sizeof f, a, sizeof a) == 1);
  CHECK_STR(f, "mysql");
  CHECK_STR(a, "main");
  CHECK(cn_parse_ref("@my-sql_2.a-b_C9", f, sizeof f, a, sizeof a) == 1);
  CHECK_STR(a, "a-b_C9");
  CHECK(cn_parse_ref("@mysql", f, sizeof f, a, sizeof a) == 1);
  CHECK_STR(f, "mysql");
  CHECK_STR(a, "");
  CHECK(cn_parse_ref("mysql.main", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@my sql.main", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@mysql.", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@.main", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@a.b.c", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@", f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref(NULL, f, sizeof f, a, sizeof a) == 0);
  CHECK(cn_parse_ref("@averyveryverylongfamily.x", f, sizeof f, a, sizeof a) == 0);
}

static void test_substitution(void) {
  osiris_ctx *ctx = new_ctx("subst");
  osiris_json *c = NULL;
  char *alias = NULL;
  os_err err = {0};
  osiris_rc rc;
  spit(ctx->base_dir, "osiris_connections.yaml", conn_yaml);
  setenv("TC_USER", "alice", 1);
  setenv("TC_PASS", "s3cr3t-pw", 1);
  setenv("TC_SSL", "", 1); /* empty but set: a value, not "unset" */
  setenv("TC_EMPTY", "", 1);
  rc = cn_resolve(ctx, "@mysql.main", "mysql", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  CHECK_STR(alias, "main");
  CHECK_STR(js_gets(c, "user"), "alice");
  CHECK_STR(js_gets(c, "password"), "s3cr3t-pw");
  CHECK_STR(js_gets(c, "database"), "movies");
  CHECK_STR(js_gets(c, "dsn"), "mysql://alice@localhost/x");
  CHECK_STR(js_gets(c, "schema"), "fallback|||$alice|${not closed");
  CHECK_STR(js_gets(osiris_json_get(c, "options"), "sslmode"), "");
  CHECK(osiris_json_kind_of(osiris_json_get(c, "port")) == OSIRIS_JSON_INT);
  CHECK(osiris_json_int(osiris_json_get(c, "port"), 0) == 3306);
  osiris_json_free(c);
  os_free(alias);
  c = NULL;
  alias = NULL;

  setenv("TC_DB", "prod_db", 1);
  setenv("TC_HOST", "", 1); /* ${VAR-d}: set (even empty) wins */
  rc = cn_resolve(ctx, "@mysql.main", NULL, &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(js_gets(c, "database"), "prod_db");
  CHECK_STR(js_gets(c, "dsn"), "mysql://alice@/x");
  osiris_json_free(c);
  c = NULL;

  unsetenv("TC_PASS");
  rc = cn_resolve(ctx, "@mysql.main", "mysql", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  CHECK(c == NULL && alias == NULL);
  CHECK_STR(err.msg,
            "environment variable TC_PASS is not set (needed by password of connection @mysql.main)");
  CHECK(strstr(err.msg, "alice") == NULL);

  setenv("TC_PASS", "x", 1);
  unsetenv("TC_SSL");
  rc = cn_resolve(ctx, "@mysql.main", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  CHECK_STR(err.msg, "environment variable TC_SSL is not set (needed by options.sslmode of "
                     "connection @mysql.main)");
  osiris_ctx_free(ctx);
  clean_env();
}

static void test_default_alias(void) {
  osiris_ctx *ctx = new_ctx("dflt");
  osiris_json *c = NULL;
  char *alias = NULL;
  os_err err = {0};
  osiris_rc rc;
  spit(ctx->base_dir, "osiris_connections.yaml", conn_yaml);
  setenv("TC_DOTENV_B", "b", 1);
  /* first alias with default: true */
  rc = cn_resolve(ctx, NULL, "mysql", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(alias, "other");
  CHECK_STR(js_gets(c, "host"), "other.local");
  CHECK(osiris_json_get(c, "default") == NULL); /* the marker is removed */
  CHECK_STR(js_gets(c, "token"), "tok-literal-default");
  osiris_json_free(c);
  os_free(alias);
  c = NULL;
  alias = NULL;
  /* "@family" alone is the family's default too */
  rc = cn_resolve(ctx, "@mysql", "mysql", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(alias, "other");
  osiris_json_free(c);
  os_free(alias);
  c = NULL;
  alias = NULL;
  /* else the alias named "default" */
  setenv("TC_SUPA_KEY", "k", 1);
  rc = cn_resolve(ctx, NULL, "supabase", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(alias, "default");
  CHECK_STR(js_gets(c, "key"), "k");
  osiris_json_free(c);
  os_free(alias);
  c = NULL;
  alias = NULL;
  /* neither */
  rc = cn_resolve(ctx, NULL, "pg", &c, &alias, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  CHECK_STR(err.msg, "no default connection for family 'pg'; available aliases: a, b");
  osiris_ctx_free(ctx);
  clean_env();
}

static void test_errors(void) {
  osiris_ctx *ctx = new_ctx("errs");
  osiris_ctx *lost = new_ctx("errs_nofile/deeper");
  osiris_json *c = NULL;
  os_err err = {0};
  char want[1024], *file;
  osiris_rc rc;
  spit(ctx->base_dir, "osiris_connections.yaml", conn_yaml);
  file = os_path_join(ctx->base_dir, "osiris_connections.yaml");

  rc = cn_resolve(ctx, "@mysql.main", "filesystem", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  CHECK_STR(err.msg, "connection @mysql.main has family mysql, but component needs filesystem");

  rc = cn_resolve(ctx, "@nope.x", "nope", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  snprintf(want, sizeof want, "connection family 'nope' not found in %s; available: mysql, supabase, pg",
           file);
  CHECK_STR(err.msg, want);

  rc = cn_resolve(ctx, "@mysql.zzz", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  snprintf(want, sizeof want,
           "connection alias 'zzz' not found in family 'mysql' in %s; available: main, other", file);
  CHECK_STR(err.msg, want);

  rc = cn_resolve(ctx, "mysql.main", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ECONN);
  CHECK_STR(err.msg, "invalid connection reference 'mysql.main' (expected @family.alias)");

  /* no file in base_dir nor its parent */
  rc = cn_resolve(lost, "@mysql.main", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_ENOTFOUND);
  CHECK(strstr(err.msg, "no osiris_connections.yaml found (looked in: ") == err.msg);
  CHECK(strstr(err.msg, lost->base_dir) != NULL);
  CHECK(c == NULL);

  /* $OSIRIS_HOME is looked at first */
  {
    char *home = os_path_join(tmp_root, "home");
    os_err e2 = {0};
    os_mkdir_p(home, &e2);
    spit(home, "osiris_connections.yaml", "connections:\n  mysql:\n    main:\n      host: from_home\n");
    setenv("OSIRIS_HOME", home, 1);
    rc = cn_resolve(lost, "@mysql.main", "mysql", &c, NULL, &err);
    CHECK_RC(rc, OSIRIS_OK);
    CHECK_STR(js_gets(c, "host"), "from_home");
    osiris_json_free(c);
    c = NULL;
    rc = cn_resolve(ctx, "@mysql.main", "mysql", &c, NULL, &err); /* home wins over base_dir */
    CHECK_RC(rc, OSIRIS_OK);
    CHECK_STR(js_gets(c, "host"), "from_home");
    osiris_json_free(c);
    c = NULL;
    unsetenv("OSIRIS_HOME");
    os_free(home);
  }
  /* base_dir/.. is looked at too */
  {
    osiris_ctx *child = new_ctx("errs/child");
    setenv("TC_USER", "u", 1);
    setenv("TC_PASS", "p", 1);
    setenv("TC_SSL", "s", 1);
    setenv("TC_EMPTY", "", 1);
    rc = cn_resolve(child, "@mysql.main", "mysql", &c, NULL, &err);
    CHECK_RC(rc, OSIRIS_OK);
    osiris_json_free(c);
    c = NULL;
    osiris_ctx_free(child);
  }
  /* a file without `connections:` counts as empty */
  {
    osiris_ctx *bare = new_ctx("bare");
    spit(bare->base_dir, "osiris_connections.yaml", "mysql:\n  main:\n    host: x\n");
    rc = cn_resolve(bare, "@mysql.main", "mysql", &c, NULL, &err);
    CHECK_RC(rc, OSIRIS_ECONN);
    CHECK(strstr(err.msg, "available: (none)") != NULL);
    osiris_ctx_free(bare);
  }
  os_free(file);
  osiris_ctx_free(ctx);
  osiris_ctx_free(lost);
  clean_env();
}

static void test_dotenv(void) {
  char *home = os_path_join(tmp_root, "dotenv_home");
  osiris_ctx *ctx;
  osiris_json *c = NULL;
  os_err err = {0};
  osiris_rc rc;
  os_mkdir_p(home, &err);
  spit(home, ".env", "TC_HOME_ONLY=home\nTC_DOTENV_A=home_first\n");
  setenv("OSIRIS_HOME", home, 1);
  ctx = new_ctx("dotenv");
  spit(ctx->base_dir, ".env",
       "# a comment\n"
       "\n"
       "export TC_DOTENV_A=from_base\n"
       "TC_DOTENV_B = 'single ${NOEXPAND} \\n'\n"
       "TC_DOTENV_C=\"line1\\nline2 \\\"q\\\"\"\n"
       "TC_SHADOW=from_dotenv\n"
       "TC_INLINE=value with spaces   # trailing comment\n"
       "TC_EMPTY_DOT=\n"
       "bad line without equals\n"
       "1BAD=x\n"
       "TC_DOTENV_B=second_definition_loses\n");
  spit(ctx->base_dir, "osiris_connections.yaml", conn_yaml);
  setenv("TC_SHADOW", "from_env", 1);
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_SHADOW"), "from_env"); /* never overrides */
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_HOME_ONLY"), "home");
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_DOTENV_A"), "home_first"); /* first file wins */
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_DOTENV_B"), "single ${NOEXPAND} \\n");
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_DOTENV_C"), "line1\nline2 \"q\"");
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_INLINE"), "value with spaces");
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_EMPTY_DOT"), "");
  CHECK(osiris_ctx_getenv(ctx, "1BAD") == NULL);
  CHECK(osiris_ctx_getenv(ctx, "TC_NOPE") == NULL);
  CHECK(getenv("TC_DOTENV_A") == NULL); /* the process environment is untouched */
  /* the .env feeds ${VAR} in connections */
  rc = cn_resolve(ctx, "@mysql.other", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(js_gets(c, "from_dotenv"), "single ${NOEXPAND} \\n");
  osiris_json_free(c);
  /* loaded once: a later .env edit is not seen by this context */
  spit(ctx->base_dir, ".env", "TC_NOPE=late\n");
  CHECK(osiris_ctx_getenv(ctx, "TC_NOPE") == NULL);
  CHECK(osiris_ctx_getenv(NULL, "TC_NOPE") == NULL);
  osiris_ctx_free(ctx);
  os_free(home);
  clean_env();
}

static void test_list_masks(void) {
  osiris_ctx *ctx = new_ctx("list"), *none = new_ctx("list_none/x");
  osiris_json *out = NULL;
  os_err err = {0};
  char *dump, *file;
  const osiris_json *mysql;
  osiris_rc rc;
  spit(ctx->base_dir, "osiris_connections.yaml", conn_yaml);
  file = os_path_join(ctx->base_dir, "osiris_connections.yaml");
  setenv("TC_PASS", "env-secret-value", 1);
  rc = cn_list(ctx, &out, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(js_gets(out, "file"), file);
  mysql = osiris_json_get(osiris_json_get(out, "connections"), "mysql");
  CHECK_STR(js_gets(osiris_json_get(mysql, "main"), "password"), "${TC_PASS}");
  CHECK_STR(js_gets(osiris_json_get(mysql, "main"), "host"), "db.local");
  CHECK_STR(js_gets(osiris_json_get(mysql, "main"), "dsn"), "***MASKED***");
  CHECK_STR(js_gets(osiris_json_get(mysql, "other"), "password"), "***MASKED***");
  CHECK_STR(js_gets(osiris_json_get(mysql, "other"), "token"), "${TC_TOK:-***MASKED***}");
  CHECK(osiris_json_bool(osiris_json_get(osiris_json_get(mysql, "other"), "default"), 0) == 1);
  CHECK_STR(js_gets(osiris_json_get(osiris_json_get(osiris_json_get(out, "connections"), "supabase"),
                                    "default"),
                    "key"),
            "${TC_SUPA_KEY}");
  dump = osiris_json_dump(out, 0, NULL);
  CHECK(dump && strstr(dump, "literal-pass-123") == NULL);
  CHECK(dump && strstr(dump, "tok-literal-default") == NULL);
  CHECK(dump && strstr(dump, "env-secret-value") == NULL);
  osiris_free(dump);
  osiris_json_free(out);
  out = NULL;
  rc = cn_list(none, &out, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(osiris_json_kind_of(osiris_json_get(out, "file")) == OSIRIS_JSON_NULL);
  CHECK(osiris_json_size(osiris_json_get(out, "connections")) == 0);
  osiris_json_free(out);
  os_free(file);
  osiris_ctx_free(ctx);
  osiris_ctx_free(none);
  clean_env();
}

/* osiris_ctx_set_connections / osiris_ctx_set_dotenv: the same resolution
 * with no file anywhere, a file on disk ignored, errors naming the buffer. */
static void test_in_memory(void) {
  static const char dotenv[] = "TC_USER=mem_user\nTC_DOTENV_B=from_mem\n";
  osiris_ctx *ctx = new_ctx("in_memory");
  osiris_json *c = NULL;
  os_err err = {0};
  osiris_rc rc;
  spit(ctx->base_dir, "osiris_connections.yaml", "connections: {mysql: {disk: {host: d}}}\n");
  spit(ctx->base_dir, ".env", "TC_USER=from_disk\n");
  CHECK_RC(osiris_ctx_set_connections(ctx, conn_yaml, strlen(conn_yaml), "vault:conns"), OSIRIS_OK);
  CHECK_RC(osiris_ctx_set_dotenv(ctx, dotenv, sizeof dotenv - 1), OSIRIS_OK);
  CHECK_STR(osiris_ctx_getenv(ctx, "TC_USER"), "mem_user");
  rc = cn_resolve(ctx, "@mysql.other", "mysql", &c, NULL, &err);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK_STR(js_gets(c, "from_dotenv"), "from_mem");
  osiris_json_free(c);
  c = NULL;
  rc = cn_resolve(ctx, "@mysql.disk", "mysql", &c, NULL, &err);
  CHECK(rc != OSIRIS_OK && strstr(err.msg, "vault:conns") != NULL);
  osiris_json_free(c);
  c = NULL;
  /* a parse error names the buffer with line:col */
  CHECK_RC(osiris_ctx_set_connections(ctx, "connections: [\n", 15, NULL), OSIRIS_OK);
  rc = cn_resolve(ctx, "@mysql.main", "mysql", &c, NULL, &err);
  CHECK(rc != OSIRIS_OK && strstr(err.msg, "<memory>/osiris_connections.yaml:") != NULL);
  CHECK_RC(osiris_ctx_set_connections(ctx, NULL, 3, NULL), OSIRIS_EINVAL);
  CHECK_RC(osiris_ctx_set_dotenv(NULL, "", 0), OSIRIS_EINVAL);
  CHECK_RC(osiris_ctx_set_dotenv(ctx, NULL, 0), OSIRIS_OK);
  CHECK(osiris_ctx_getenv(ctx, "TC_DOTENV_B") == NULL);
  osiris_ctx_free(ctx);
  clean_env();
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris_test_conn_XXXXXX");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  clean_env();
  RUN(test_parse_ref);
  RUN(test_substitution);
  RUN(test_default_alias);
  RUN(test_errors);
  RUN(test_dotenv);
  RUN(test_list_masks);
  RUN(test_in_memory);
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
  }
  return th_report();
}
