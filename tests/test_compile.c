/* Unit tests of sections 12-13: OML validation (every error type with its
 * place), params precedence, inline secrets, compile output and its
 * fingerprints, determinism, .last_compile, manifest loading and order.
 * Fixtures: tests/fixtures/compile/.  The golden fingerprints below were
 * computed by a Python model of the 0.5.7 algorithm (reference section 3):
 * yaml.safe_load, json.dumps(sort_keys, separators=(",",":")), sha256. */
#include "../osiris.c"
#include "harness.h"

static char tmp_root[256];
static char fixtures[1024];

static char *fixture(const char *name) { return os_path_join(fixtures, name); }

static char *slurp(const char *path) {
  char *data = NULL;
  os_err err = {0};
  os_read_file(path, &data, NULL, &err);
  return data;
}

static char *slurp_in(const char *dir, const char *name) {
  char *path = os_path_join(dir, name), *data = slurp(path);
  os_free(path);
  return data;
}

static void spit(const char *dir, const char *name, const char *text) {
  char *path = os_path_join(dir, name);
  char *parent = os_path_dirname(path);
  os_err err = {0};
  os_mkdir_p(parent, &err);
  os_write_file(path, text, strlen(text), &err);
  os_free(parent);
  os_free(path);
}

/* ---- fake drivers: key tables like the real components ---- */

static osiris_rc fake_run(osiris_step *s) {
  (void)s;
  return OSIRIS_OK;
}

static const osiris_config_key csv_ext_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL}, {"delimiter", "\",\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"encoding", "\"utf-8\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},       {"header", "true", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"columns", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},               {"skip_rows", "0", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"limit", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},                 {"parse_dates", "false", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"dtype", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},                 {"na_values", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"comment", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},               {"skip_blank_lines", "true", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"compression", "\"infer\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},    {"chunk_size", "10000", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_config_key csv_wr_keys[] = {
    {"path", NULL, OSIRIS_KEY_REQUIRED, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL}, {"delimiter", "\",\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"header", "true", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},              {"encoding", "\"utf-8\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"newline", "\"lf\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},           {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_config_key sql_ext_keys[] = {
    {"query", NULL, OSIRIS_KEY_REQUIRED, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"host", "\"localhost\"", OSIRIS_KEY_REQUIRED | OSIRIS_KEY_CONN, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"port", "3306", OSIRIS_KEY_CONN, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"database", NULL, OSIRIS_KEY_REQUIRED | OSIRIS_KEY_CONN, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"user", NULL, OSIRIS_KEY_CONN, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"password", NULL, OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"api_token", NULL, OSIRIS_KEY_SECRET, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"key", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"batch_size", "1000", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_config_key sql_wr_keys[] = {
    {"table", NULL, OSIRIS_KEY_REQUIRED, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"primary_key", NULL, 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"write_mode", "\"append\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"schema", "\"public\"", 0, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"service_role_key", NULL, OSIRIS_KEY_CONN | OSIRIS_KEY_SECRET, "", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};

static const osiris_driver drv_csv_ext = {"filesystem.csv_extractor", "filesystem",
                                          "extract discover", "", csv_ext_keys, fake_run, NULL, 0};
static const osiris_driver drv_csv_wr = {"filesystem.csv_writer", "filesystem", "write discover",
                                         "", csv_wr_keys, fake_run, NULL, 0};
static const osiris_driver drv_sql_ext = {"test.sql_extractor", "mysql", "extract discover", "",
                                          sql_ext_keys, fake_run, NULL, 0};
static const osiris_driver drv_sql_wr = {"test.sql_writer", "supabase", "write discover", "",
                                         sql_wr_keys, fake_run, NULL, 0};

static osiris_ctx *new_ctx(const char *sub) {
  char *dir = os_path_join(tmp_root, sub);
  osiris_ctx *ctx;
  os_err err = {0};
  os_mkdir_p(dir, &err);
  ctx = osiris_ctx_new(dir);
  os_free(dir);
  osiris_register_driver(ctx, &drv_csv_ext, NULL);
  osiris_register_driver(ctx, &drv_csv_wr, NULL);
  osiris_register_driver(ctx, &drv_sql_ext, NULL);
  osiris_register_driver(ctx, &drv_sql_wr, NULL);
  return ctx;
}

/* The issue of this type at this location, or NULL. */
static const osiris_json *find_issue(const osiris_json *list, const char *type, const char *loc) {
  size_t i;
  for (i = 0; i < osiris_json_size(list); i++) {
    const osiris_json *e = osiris_json_at(list, i);
    if (os_streq(js_gets(e, "type"), type) && os_streq(js_gets(e, "location"), loc)) return e;
  }
  return NULL;
}

static int64_t ival(const osiris_json *o, const char *k) {
  return osiris_json_int(osiris_json_get(o, k), -1);
}

/* Compile fixture `name` into <ctx base>/<out> (NULL: default layout). */
static osiris_rc compile_fixture(osiris_ctx *ctx, const char *name, const char *out,
                                 const char *profile, const char *const *params,
                                 osiris_json **res) {
  char *path = fixture(name);
  osiris_compile_opts o;
  osiris_rc rc;
  memset(&o, 0, sizeof o);
  o.out_dir = out;
  o.profile = profile;
  o.params = params;
  rc = osiris_compile(ctx, path, &o, res);
  os_free(path);
  return rc;
}

/* ---------------------------------------------------------------- tests */

static void test_valid_compile(void) {
  osiris_ctx *ctx = new_ctx("valid");
  osiris_json *res = NULL, *m = NULL;
  os_err err = {0};
  char *dir, *cfg, *manifest, *marker, *last, *want;
  const osiris_json *fps, *steps;
  osiris_rc rc = compile_fixture(ctx, "csv_copy.yaml", "out1", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) {
    fprintf(stderr, "  %s\n", osiris_ctx_error(ctx));
    goto done;
  }
  dir = os_path_join(ctx->base_dir, "out1");
  CHECK_STR(js_gets(res, "status"), "success");
  CHECK_STR(js_gets(res, "message"), "Compilation successful: 360a411");
  CHECK_STR(js_gets(res, "manifest_hash"),
            "360a411561c5792cdc172f6dc0f54d06521f4812fde215204d5d4f202abe18ea");
  CHECK_STR(js_gets(res, "manifest_short"), "360a411");
  CHECK_STR(js_gets(res, "pipeline_id"), "csv_copy_demo");
  CHECK_STR(js_gets(res, "pipeline_slug"), "csv-copy-demo");
  CHECK_STR(js_gets(res, "profile"), "default");
  CHECK_STR(js_gets(res, "compile_dir"), dir);
  fps = osiris_json_get(res, "fingerprints");
  CHECK_STR(js_gets(fps, "params_fp"),
            "sha256:60a99a9e9f848be809df0cb097bf43bf8f242b75f078e8476e10d3a93ec90cdb");
  CHECK_STR(js_gets(fps, "oml_fp"),
            "sha256:80545352beef14dc960c2594c2c8d680ec341af6e699952b972f64829263e13e");
  CHECK_STR(js_gets(fps, "manifest_fp"),
            "sha256:bbc1b047201d680476674a9888e85939dac79a6b78d3aefa752e3b59495c2c34");
  CHECK_STR(js_gets(fps, "registry_fp"),
            "sha256:2c528c04bb5cf058decb2b93d0c02a47e5cea3f59c2e78b8005dd72837ef2203");
  /* cfg files: canonical JSON, no trailing newline, secrets out, defaults in */
  cfg = slurp_in(dir, "cfg/extract-people.json");
  CHECK_STR(cfg, "{\"chunk_size\":10000,\"component\":\"filesystem.csv_extractor\",\"compression\":"
                 "\"infer\",\"delimiter\":\",\",\"encoding\":\"utf-8\",\"header\":true,\"mode\":"
                 "\"extract\",\"parse_dates\":false,\"path\":\"data/people.csv\",\"skip_blank_"
                 "lines\":true,\"skip_rows\":0}");
  os_free(cfg);
  cfg = slurp_in(dir, "cfg/write-people.json");
  CHECK_STR(cfg, "{\"component\":\"filesystem.csv_writer\",\"delimiter\":\",\",\"encoding\":\"utf-"
                 "8\",\"header\":true,\"mode\":\"write\",\"newline\":\"lf\",\"path\":\"output/"
                 "people_out.csv\"}");
  os_free(cfg);
  /* manifest shape */
  manifest = os_path_join(dir, "manifest.yaml");
  CHECK_STR(js_gets(res, "manifest_path"), manifest);
  CHECK(ym_read_file(manifest, &m, &err) == OSIRIS_OK);
  CHECK_STR(js_gets(osiris_json_get(m, "pipeline"), "id"), "csv_copy_demo");
  CHECK_STR(js_gets(osiris_json_get(m, "pipeline"), "version"), "0.1.0");
  CHECK_STR(js_gets(m, "name"), "CSV Copy Demo");
  CHECK_STR(js_gets(osiris_json_get(m, "meta"), "run_id"), "${run_id}");
  CHECK_STR(js_gets(osiris_json_get(m, "meta"), "profile"), "default");
  CHECK_STR(js_gets(osiris_json_get(m, "meta"), "oml_version"), "0.1.0");
  CHECK_STR(js_gets(osiris_json_get(osiris_json_get(m, "meta"), "toolchain"), "compiler"),
            "osiris-compiler/0.1");
  CHECK_STR(js_gets(osiris_json_get(m, "meta"), "manifest_short"), "360a411");
  {
    const char *gen = js_gets(osiris_json_get(m, "meta"), "generated_at");
    CHECK(gen && strlen(gen) == 27 && gen[26] == 'Z' && gen[10] == 'T');
  }
  steps = osiris_json_get(m, "steps");
  CHECK(osiris_json_size(steps) == 2);
  CHECK_STR(js_gets(osiris_json_at(steps, 1), "cfg_path"), "cfg/write-people.json");
  CHECK_STR(js_gets(osiris_json_at(steps, 1), "driver"), "filesystem.csv_writer");
  CHECK_STR(js_gets(osiris_json_at(steps, 1), "component"), "filesystem.csv_writer");
  CHECK(osiris_json_size(osiris_json_get(osiris_json_at(steps, 0), "needs")) == 0);
  CHECK_STR(osiris_json_str(osiris_json_at(osiris_json_get(osiris_json_at(steps, 1), "needs"), 0)),
            "extract-people");
  /* .last_compile and osiris_last_compile */
  marker = os_path_join(ctx->base_dir, "logs/.last_compile");
  last = slurp(marker);
  want = os_asprintf("%s\n", manifest);
  CHECK_STR(last, want);
  os_free(last);
  last = osiris_last_compile(ctx, NULL);
  CHECK_STR(last, manifest);
  os_free(last);
  os_free(want);
  os_free(marker);
  os_free(manifest);
  os_free(dir);
done:
  osiris_json_free(m);
  osiris_json_free(res);
  osiris_ctx_free(ctx);
}

/* The manifest_hash written is the hash of the written manifest (minus
 * generated_at / hash fields / manifest_fp, with the profile). */
static void test_manifest_hash_consistent(void) {
  osiris_ctx *ctx = new_ctx("hashcheck");
  osiris_json *res = NULL, *m = NULL, *h = NULL;
  const char *prof[] = {NULL, "prod"};
  os_err err = {0};
  size_t k;
  for (k = 0; k < 2; k++) {
    osiris_rc rc;
    os_buf b = {0};
    char hex[65];
    osiris_json *meta;
    rc = compile_fixture(ctx, "params.yaml", k ? "outp" : "out0", prof[k], NULL, &res);
    CHECK_RC(rc, OSIRIS_OK);
    if (rc) {
      fprintf(stderr, "  %s\n", osiris_ctx_error(ctx));
      break;
    }
    CHECK(ym_read_file(js_gets(res, "manifest_path"), &m, &err) == OSIRIS_OK);
    meta = (osiris_json *)osiris_json_get(m, "meta");
    CHECK_STR(js_gets(meta, "manifest_hash"), js_gets(res, "manifest_hash"));
    osiris_json_remove(meta, "generated_at");
    osiris_json_remove(meta, "manifest_hash");
    osiris_json_remove(meta, "manifest_short");
    osiris_json_remove((osiris_json *)osiris_json_get(osiris_json_get(m, "pipeline"), "fingerprints"),
                       "manifest_fp");
    h = osiris_json_new(OSIRIS_JSON_OBJECT);
    osiris_json_set(h, "manifest", m);
    m = NULL;
    js_set_str(h, "profile", prof[k] ? prof[k] : "");
    js_dump(&b, h, OSIRIS_JSON_SORTED | OSIRIS_JSON_ASCII);
    os_sha256_hex(b.p, b.len, hex);
    CHECK_STR(hex, js_gets(res, "manifest_hash"));
    CHECK_STR(js_gets(osiris_json_get(h, "manifest") ? osiris_json_get(osiris_json_get(h, "manifest"), "meta") : NULL, "profile"),
              prof[k] ? prof[k] : "default");
    ob_free(&b);
    osiris_json_free(h);
    h = NULL;
    osiris_json_free(res);
    res = NULL;
  }
  osiris_json_free(m);
  osiris_ctx_free(ctx);
}

/* Non-ASCII metadata: fingerprints over UTF-8, the hash over \u escapes;
 * explicit needs kept; DAG order. */
static void test_dag_goldens(void) {
  osiris_ctx *ctx = new_ctx("dag");
  osiris_json *res = NULL;
  mf_manifest *m = NULL;
  size_t order[3] = {9, 9, 9};
  os_err err = {0};
  osiris_rc rc = compile_fixture(ctx, "dag.yaml", "out", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) {
    fprintf(stderr, "  %s\n", osiris_ctx_error(ctx));
    goto done;
  }
  CHECK_STR(js_gets(osiris_json_get(res, "fingerprints"), "oml_fp"),
            "sha256:95799ee30bf1ea5247dd3d0a52396af9f66da461d457d4cb4e1ac0db2f532025");
  CHECK_STR(js_gets(osiris_json_get(res, "fingerprints"), "params_fp"),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  CHECK_STR(js_gets(osiris_json_get(res, "fingerprints"), "manifest_fp"),
            "sha256:7020fff254aed39167daecdff2ea46f891e8ceca2c92e3405e1017dbb2fb6b7f");
  CHECK_STR(js_gets(res, "manifest_hash"),
            "1949efda1ab10738f047ee6fb7dcad4b87eab66dd8d24c4c134898e71a60d0c5");
  CHECK_STR(js_gets(res, "pipeline_id"), "dag_demo");
  rc = mf_load(js_gets(res, "manifest_path"), &m, &err);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) goto done;
  CHECK(m->n_steps == 3);
  CHECK(m->steps[0].n_needs == 2 && m->steps[1].n_needs == 0 && m->steps[2].n_needs == 0);
  CHECK_STR(js_gets(osiris_json_get(m->doc, "metadata"), "intent"),
            "join two extracts \xe2\x80\x94 \xc3\xbc" "n\xc3\xaf" "code");
  CHECK_RC(mf_order(m, order, &err), OSIRIS_OK);
  CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0);
done:
  mf_free(m);
  osiris_json_free(res);
  osiris_ctx_free(ctx);
}

/* Two compiles: every file byte-identical except the generated_at line. */
static void test_determinism(void) {
  osiris_ctx *ctx = new_ctx("determ");
  osiris_json *r1 = NULL, *r2 = NULL, *r3 = NULL;
  const char *names[] = {"cfg/extract-people.json", "cfg/write-people.json", NULL};
  char *a, *b, *last;
  size_t i;
  osiris_rc rc1 = compile_fixture(ctx, "csv_copy.yaml", "d1", NULL, NULL, &r1);
  osiris_rc rc2 = compile_fixture(ctx, "csv_copy.yaml", "d2", NULL, NULL, &r2);
  CHECK_RC(rc1, OSIRIS_OK);
  CHECK_RC(rc2, OSIRIS_OK);
  if (rc1 || rc2) goto done;
  for (i = 0; names[i]; i++) {
    char *p1 = os_asprintf("d1/%s", names[i]), *p2 = os_asprintf("d2/%s", names[i]);
    a = slurp_in(ctx->base_dir, p1);
    b = slurp_in(ctx->base_dir, p2);
    CHECK(a && b && strcmp(a, b) == 0);
    os_free(a);
    os_free(b);
    os_free(p1);
    os_free(p2);
  }
  a = slurp_in(ctx->base_dir, "d1/manifest.yaml");
  b = slurp_in(ctx->base_dir, "d2/manifest.yaml");
  CHECK(a && b);
  if (a && b) {
    /* drop the generated_at line from both and compare the rest */
    char *ga = strstr(a, "generated_at:"), *gb = strstr(b, "generated_at:");
    CHECK(ga && gb && (ga - a) == (gb - b));
    if (ga && gb) {
      char *ea = strchr(ga, '\n'), *eb = strchr(gb, '\n');
      CHECK(ea && eb && strcmp(ea, eb) == 0);
      CHECK(strncmp(a, b, (size_t)(ga - a)) == 0);
    }
    CHECK(strncmp(a, "---\n", 4) == 0);
    CHECK(strlen(a) > 4 && strcmp(a + strlen(a) - 4, "...\n") == 0);
  }
  os_free(a);
  os_free(b);
  CHECK_STR(js_gets(r1, "manifest_hash"), js_gets(r2, "manifest_hash"));
  /* default layout: logs/compile_<YYYYMMDD_HHMMSS_8hex>/compiled */
  CHECK_RC(compile_fixture(ctx, "csv_copy.yaml", NULL, NULL, NULL, &r3), OSIRIS_OK);
  {
    const char *cd = js_gets(r3, "compile_dir");
    const char *base = cd ? os_path_basename(cd) : "";
    char *want_prefix = os_path_join(ctx->base_dir, "logs/compile_");
    CHECK(cd && os_startswith(cd, want_prefix));
    CHECK(strlen(base) == strlen("compile_20250101_120000_0123abcd"));
    CHECK(base[16] == '_' && base[23] == '_');
    os_free(want_prefix);
    last = osiris_last_compile(ctx, "logs");
    CHECK_STR(last, js_gets(r3, "manifest_path"));
    os_free(last);
    /* without .last_compile the newest compile_* directory is found */
    {
      char *marker = os_path_join(ctx->base_dir, "logs/.last_compile");
      unlink(marker);
      os_free(marker);
    }
    last = osiris_last_compile(ctx, NULL);
    CHECK_STR(last, js_gets(r3, "manifest_path"));
    os_free(last);
  }
  {
    osiris_ctx *empty = new_ctx("determ_empty");
    CHECK(osiris_last_compile(empty, NULL) == NULL);
    CHECK(strstr(osiris_ctx_error(empty), "No recent compile found") != NULL);
    osiris_ctx_free(empty);
  }
done:
  osiris_json_free(r1);
  osiris_json_free(r2);
  osiris_json_free(r3);
  osiris_ctx_free(ctx);
}

static char *cfg_of(osiris_json *res, const char *step) {
  char *dir = os_path_dirname(js_gets(res, "manifest_path"));
  char *rel = os_asprintf("cfg/%s.json", step);
  char *text = slurp_in(dir, rel);
  os_free(dir);
  os_free(rel);
  return text;
}

static void test_params_precedence(void) {
  osiris_ctx *ctx = new_ctx("params");
  osiris_json *res = NULL, *cfg = NULL;
  os_err err = {0};
  char *text;
  const char *cli_level[] = {"level=from_cli", NULL};
  const char *cli_limit[] = {"limit=7", "table=t2", NULL};
  const char *cli_bad[] = {"novalue", NULL};
  osiris_rc rc;

  unsetenv("OSIRIS_PARAM_LEVEL");
  /* 1: OML defaults; "${params.limit}" alone keeps the int type */
  rc = compile_fixture(ctx, "params.yaml", "p1", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_OK);
  text = rc ? NULL : cfg_of(res, "extract");
  CHECK(text && js_parse(text, strlen(text), "cfg", &cfg, &err) == OSIRIS_OK);
  CHECK_STR(js_gets(cfg, "query"), "SELECT * FROM movies LIMIT 10 -- from_default");
  CHECK(osiris_json_kind_of(osiris_json_get(cfg, "batch_size")) == OSIRIS_JSON_INT);
  CHECK(ival(cfg, "batch_size") == 10);
  CHECK_STR(js_gets(cfg, "connection"), "@mysql.main");
  CHECK(osiris_json_get(cfg, "host") == NULL); /* CONN defaults stay out with a connection */
  CHECK(osiris_json_get(cfg, "port") == NULL);
  CHECK_STR(js_gets(cfg, "mode"), "extract");
  os_free(text);
  osiris_json_free(cfg);
  cfg = NULL;
  osiris_json_free(res);
  res = NULL;

  /* 2: OSIRIS_PARAM_LEVEL beats the default */
  setenv("OSIRIS_PARAM_LEVEL", "from_env", 1);
  rc = compile_fixture(ctx, "params.yaml", "p2", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_OK);
  text = rc ? NULL : cfg_of(res, "extract");
  CHECK(text && strstr(text, "-- from_env\"") != NULL);
  os_free(text);
  osiris_json_free(res);
  res = NULL;

  /* 3: the profile beats the environment */
  rc = compile_fixture(ctx, "params.yaml", "p3", "prod", NULL, &res);
  CHECK_RC(rc, OSIRIS_OK);
  text = rc ? NULL : cfg_of(res, "extract");
  CHECK(text && strstr(text, "LIMIT 500 -- from_profile\"") != NULL);
  CHECK(text && strstr(text, "\"batch_size\":500") != NULL);
  CHECK_STR(js_gets(res, "profile"), "prod");
  os_free(text);
  osiris_json_free(res);
  res = NULL;

  /* 4: --param beats the profile; --param values are strings */
  rc = compile_fixture(ctx, "params.yaml", "p4", "prod", cli_level, &res);
  CHECK_RC(rc, OSIRIS_OK);
  text = rc ? NULL : cfg_of(res, "extract");
  CHECK(text && strstr(text, "-- from_cli\"") != NULL);
  os_free(text);
  osiris_json_free(res);
  res = NULL;
  rc = compile_fixture(ctx, "params.yaml", "p5", NULL, cli_limit, &res);
  CHECK_RC(rc, OSIRIS_OK);
  text = rc ? NULL : cfg_of(res, "extract");
  CHECK(text && strstr(text, "\"batch_size\":\"7\"") != NULL);
  CHECK(text && strstr(text, "FROM t2 LIMIT 7 -- from_env") != NULL);
  os_free(text);
  osiris_json_free(res);
  res = NULL;
  unsetenv("OSIRIS_PARAM_LEVEL");

  /* unknown profile, malformed --param */
  rc = compile_fixture(ctx, "params.yaml", "p6", "staging", cli_bad, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(find_issue(osiris_json_get(res, "errors"), "unknown_profile", "profiles") != NULL);
  CHECK_STR(js_gets(find_issue(osiris_json_get(res, "errors"), "unknown_profile", "profiles"),
                    "message"),
            "Unknown profile 'staging'; available: prod");
  CHECK(find_issue(osiris_json_get(res, "errors"), "invalid_param", "params") != NULL);
  CHECK_STR(js_gets(res, "status"), "error");
  osiris_json_free(res);
  osiris_ctx_free(ctx);
}

static void test_unresolved(void) {
  osiris_ctx *ctx = new_ctx("unres");
  osiris_json *res = NULL, *rep = NULL;
  const osiris_json *e;
  char *path = fixture("unresolved.yaml");
  osiris_rc rc = compile_fixture(ctx, "unresolved.yaml", "out", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(osiris_json_size(osiris_json_get(res, "errors")) == 1);
  e = find_issue(osiris_json_get(res, "errors"), "unresolved_param", "steps[0].config.query");
  CHECK(e != NULL);
  CHECK_STR(js_gets(e, "message"),
            "Unresolved parameters: ['cols', 'tbl'] (cols at steps[0].config.query (8:14); tbl at "
            "steps[0].config.query (8:14); tbl at steps[1].config.path (14:13))");
  CHECK(ival(e, "line") == 8 && ival(e, "col") == 14);
  CHECK(strstr(osiris_ctx_error(ctx), "Unresolved parameters: ['cols', 'tbl']") != NULL);
  CHECK(!os_is_dir("out"));
  /* validate has no --param: unresolved names are a warning there (it
   * looks the connection up, so there is one) */
  {
    char *dir = os_path_join(tmp_root, "unres");
    spit(dir, "osiris_connections.yaml", "connections:\n  mysql:\n    main:\n      host: h\n");
    os_free(dir);
  }
  rc = osiris_validate(ctx, path, &rep);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(osiris_json_bool(osiris_json_get(rep, "valid"), 0) == 1);
  CHECK(find_issue(osiris_json_get(rep, "warnings"), "unresolved_param", "steps[0].config.query"));
  osiris_json_free(rep);
  osiris_json_free(res);
  os_free(path);
  osiris_ctx_free(ctx);
}

static void test_inline_secret(void) {
  osiris_ctx *ctx = new_ctx("secret");
  osiris_json *res = NULL, *rep = NULL;
  char *dump, *path = fixture("secret.yaml"), *outdir;
  const osiris_json *errs;
  osiris_rc rc = compile_fixture(ctx, "secret.yaml", "out", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_ESECRET);
  errs = osiris_json_get(res, "errors");
  CHECK(find_issue(errs, "inline_secret", "steps[0].config.password") != NULL);
  CHECK(find_issue(errs, "inline_secret", "steps[0].config.api_token") != NULL); /* component flag */
  CHECK(find_issue(errs, "inline_secret", "steps[0].config.key") == NULL);     /* <= 4 chars */
  CHECK(find_issue(errs, "inline_secret", "steps[1].config.service_role_key") == NULL); /* ${} */
  CHECK(ival(find_issue(errs, "inline_secret", "steps[0].config.password"), "line") == 10);
  CHECK(osiris_json_size(errs) == 2);
  dump = osiris_json_dump(res, 0, NULL);
  CHECK(dump && strstr(dump, "hunter2") == NULL);
  CHECK(dump && strstr(dump, "tok-0123456789") == NULL);
  osiris_free(dump);
  CHECK(strstr(osiris_ctx_error(ctx), "hunter2") == NULL);
  CHECK(strstr(osiris_ctx_error(ctx), "Inline secret at steps[0].config.password") != NULL);
  outdir = os_path_join(ctx->base_dir, "out");
  CHECK(!os_is_dir(outdir));
  os_free(outdir);
  rc = osiris_validate(ctx, path, &rep);
  CHECK_RC(rc, OSIRIS_ESECRET);
  dump = osiris_json_dump(rep, 0, NULL);
  CHECK(dump && strstr(dump, "hunter2") == NULL && strstr(dump, "tok-0123456789") == NULL);
  osiris_free(dump);
  CHECK(strstr(osiris_ctx_error(ctx), "hunter2") == NULL);
  osiris_json_free(rep);
  osiris_json_free(res);
  os_free(path);
  osiris_ctx_free(ctx);
}

/* A secret that compiles (a reference) never reaches cfg. */
static void test_secret_dropped_from_cfg(void) {
  osiris_ctx *ctx = new_ctx("secret_ok");
  osiris_json *res = NULL;
  char *text;
  osiris_rc rc;
  spit(ctx->base_dir, "p.yaml",
       "oml_version: \"0.1.0\"\nname: ok\nsteps:\n"
       "  - id: w\n    component: test.sql_writer\n    mode: write\n    needs: []\n"
       "    config:\n      table: t\n      service_role_key: ${SUPA}\n      primary_key: id\n"
       "      write_mode: upsert\n");
  {
    osiris_compile_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = "out";
    rc = osiris_compile(ctx, "p.yaml", &o, &res);
  }
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) fprintf(stderr, "  %s\n", osiris_ctx_error(ctx));
  text = rc ? NULL : cfg_of(res, "w");
  CHECK_STR(text, "{\"component\":\"test.sql_writer\",\"mode\":\"write\",\"primary_key\":\"id\","
                  "\"schema\":\"public\",\"table\":\"t\",\"write_mode\":\"upsert\"}");
  os_free(text);
  osiris_json_free(res);
  osiris_ctx_free(ctx);
}

static void test_validation_errors(void) {
  osiris_ctx *ctx = new_ctx("invalid");
  osiris_json *rep = NULL, *res = NULL;
  char *path = fixture("invalid.yaml");
  const osiris_json *errs, *warns, *e;
  osiris_rc rc = osiris_validate(ctx, path, &rep);
  struct {
    const char *type, *loc;
    int line, col; /* 0: not checked */
  } want[] = {
      {"unsupported_version", "oml_version", 1, 14},
      {"forbidden_key", "version", 3, 10},
      {"forbidden_key", "connectors", 4, 0},
      {"incompatible_mode", "steps[0].mode", 9, 11},
      {"unknown_config_key", "steps[0].config.bogus", 12, 14},
      {"duplicate_id", "steps[1].id", 13, 9},
      {"missing_config_key", "steps[1].config.path", 17, 0},
      {"invalid_id", "steps[2].id", 18, 9},
      {"unknown_component", "steps[2].component", 19, 16},
      {"invalid_mode", "steps[2].mode", 20, 11},
      {"missing_step_field", "steps[3].id", 21, 0},
      {"missing_step_field", "steps[3].mode", 21, 0},
      {"invalid_config_type", "steps[3].config", 22, 0},
      {"unknown_dependency", "steps[4].needs[0]", 26, 13},
      {"self_dependency", "steps[4].needs[1]", 26, 22},
      {"invalid_dependency_type", "steps[4].needs[2]", 26, 25},
      {"missing_required_field", "steps[4].config.primary_key", 29, 19},
      {"invalid_connection_ref", "steps[4].config.connection", 30, 19},
      {"invalid_step_type", "steps[5]", 31, 0},
  };
  size_t i, n = sizeof want / sizeof want[0];
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(osiris_json_bool(osiris_json_get(rep, "valid"), 1) == 0);
  CHECK_STR(js_gets(rep, "file"), path);
  errs = osiris_json_get(rep, "errors");
  warns = osiris_json_get(rep, "warnings");
  for (i = 0; i < n; i++) {
    e = find_issue(errs, want[i].type, want[i].loc);
    CHECK(e != NULL);
    if (!e) {
      fprintf(stderr, "  missing %s at %s\n", want[i].type, want[i].loc);
      continue;
    }
    if (want[i].line && ival(e, "line") != want[i].line)
      fprintf(stderr, "  %s at %s: line %" PRId64 " want %d\n", want[i].type, want[i].loc,
              ival(e, "line"), want[i].line);
    CHECK(!want[i].line || ival(e, "line") == want[i].line);
    if (want[i].col && ival(e, "col") != want[i].col)
      fprintf(stderr, "  %s at %s: col %" PRId64 " want %d\n", want[i].type, want[i].loc,
              ival(e, "col"), want[i].col);
    CHECK(!want[i].col || ival(e, "col") == want[i].col);
  }
  if (osiris_json_size(errs) != n) {
    char *d = osiris_json_dump(errs, OSIRIS_JSON_PRETTY, NULL);
    fprintf(stderr, "  %zu errors, want %zu:\n%s\n", osiris_json_size(errs), n, d);
    osiris_free(d);
  }
  CHECK(osiris_json_size(errs) == n);
  CHECK_STR(js_gets(find_issue(errs, "incompatible_mode", "steps[0].mode"), "message"),
            "Step 'extract': mode 'write' not supported by component "
            "'filesystem.csv_extractor'. Allowed: read");
  CHECK_STR(js_gets(find_issue(errs, "unknown_config_key", "steps[0].config.bogus"), "message"),
            "Unknown configuration key 'bogus' for component 'filesystem.csv_extractor'");
  CHECK_STR(js_gets(find_issue(errs, "unsupported_version", "oml_version"), "message"),
            "Unsupported OML version: 1.0");
  CHECK_STR(js_gets(find_issue(errs, "missing_required_field", "steps[4].config.primary_key"),
                    "message"),
            "Step 'w' requires 'primary_key' when write_mode is 'replace'");
  CHECK_STR(js_gets(find_issue(errs, "unknown_component", "steps[2].component"), "message"),
            "Unknown component 'no.such_component' in step 'bad id!'. Available: "
            "filesystem.csv_extractor, filesystem.csv_writer, test.sql_extractor, test.sql_writer");
  CHECK(find_issue(warns, "unknown_key", "extra_thing") != NULL);
  CHECK(osiris_json_size(warns) == 1);
  CHECK(strstr(osiris_ctx_error(ctx), "invalid.yaml: 19 validation errors; first: ") != NULL);
  /* compile reports the same and writes nothing */
  rc = compile_fixture(ctx, "invalid.yaml", "out", NULL, NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(osiris_json_size(osiris_json_get(res, "errors")) == n);
  osiris_json_free(res);
  res = NULL;

  /* top-level problems */
  spit(ctx->base_dir, "t1.yaml", "description: x\nsteps: []\n");
  rc = osiris_compile(ctx, "t1.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  errs = osiris_json_get(res, "errors");
  CHECK(find_issue(errs, "missing_required_key", "oml_version") != NULL);
  CHECK(find_issue(errs, "missing_required_key", "name") != NULL);
  CHECK(find_issue(errs, "empty_steps", "steps") != NULL);
  CHECK_STR(js_gets(find_issue(errs, "missing_required_key", "oml_version"), "message"),
            "Missing required top-level key: 'oml_version'");
  osiris_json_free(res);
  res = NULL;
  spit(ctx->base_dir, "t2.yaml", "oml_version: 0.1\nname: \"\"\nsteps: {a: 1}\n");
  rc = osiris_compile(ctx, "t2.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  errs = osiris_json_get(res, "errors");
  CHECK(find_issue(errs, "invalid_version_type", "oml_version") != NULL);
  CHECK(find_issue(errs, "empty_name", "name") != NULL);
  CHECK(find_issue(errs, "invalid_steps_type", "steps") != NULL);
  osiris_json_free(res);
  res = NULL;
  spit(ctx->base_dir, "t3.yaml", "- a\n- b\n");
  rc = osiris_compile(ctx, "t3.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(find_issue(osiris_json_get(res, "errors"), "invalid_type", "") != NULL);
  osiris_json_free(res);
  res = NULL;
  spit(ctx->base_dir, "t4.yaml", "oml_version: \"0.1.0\"\nname: [unclosed\n");
  rc = osiris_compile(ctx, "t4.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_EPARSE);
  CHECK(find_issue(osiris_json_get(res, "errors"), "parse_error", "") != NULL);
  CHECK(ival(find_issue(osiris_json_get(res, "errors"), "parse_error", ""), "line") == 2);
  CHECK(strstr(osiris_ctx_error(ctx), "t4.yaml") != NULL);
  osiris_json_free(res);
  res = NULL;
  rc = osiris_compile(ctx, "missing.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_ENOTFOUND);
  osiris_json_free(res);
  res = NULL;
  /* needs not a list */
  spit(ctx->base_dir, "t5.yaml",
       "oml_version: \"0.1.0\"\nname: n\nsteps:\n  - id: a\n    component: filesystem.csv_extractor\n"
       "    mode: read\n    needs: a\n    config:\n      path: x\n");
  rc = osiris_compile(ctx, "t5.yaml", NULL, &res);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  CHECK(find_issue(osiris_json_get(res, "errors"), "invalid_needs_type", "steps[0].needs") != NULL);
  osiris_json_free(res);
  osiris_json_free(rep);
  os_free(path);
  osiris_ctx_free(ctx);
}

/* osiris_validate_mem: the report osiris_validate gives for the same text,
 * the buffer's name in place of the path, parse errors with line:col. */
static void test_validate_mem(void) {
  osiris_ctx *ctx = new_ctx("invalid_mem");
  osiris_json *rep = NULL, *mrep = NULL;
  char *path = fixture("invalid.yaml"), *text = slurp(path);
  const osiris_json *a, *b;
  size_t i;
  CHECK_RC(osiris_validate(ctx, path, &rep), OSIRIS_EVALIDATE);
  CHECK_RC(osiris_validate_mem(ctx, text, text ? strlen(text) : 0, "mem.yaml", &mrep), OSIRIS_EVALIDATE);
  CHECK_STR(js_gets(mrep, "file"), "mem.yaml");
  a = osiris_json_get(rep, "errors");
  b = osiris_json_get(mrep, "errors");
  CHECK(osiris_json_size(a) == osiris_json_size(b) && osiris_json_size(a) > 10);
  for (i = 0; i < osiris_json_size(a) && i < osiris_json_size(b); i++) {
    CHECK_STR(js_gets(osiris_json_at(b, i), "type"), js_gets(osiris_json_at(a, i), "type"));
    CHECK(ival(osiris_json_at(b, i), "line") == ival(osiris_json_at(a, i), "line"));
  }
  osiris_json_free(mrep);
  mrep = NULL;
  CHECK_RC(osiris_validate_mem(ctx, "steps: [\n", 9, NULL, &mrep), OSIRIS_EPARSE);
  b = osiris_json_at(osiris_json_get(mrep, "errors"), 0);
  CHECK_STR(js_gets(mrep, "file"), "<memory>");
  CHECK(b && strstr(js_gets(b, "message"), "<memory>:") != NULL && ival(b, "line") > 0);
  osiris_json_free(mrep);
  mrep = NULL;
  CHECK_RC(osiris_validate_mem(ctx, NULL, 1, NULL, &mrep), OSIRIS_EUSAGE);
  CHECK(mrep == NULL);
  CHECK_RC(osiris_validate_mem(ctx, NULL, 0, NULL, &mrep), OSIRIS_EVALIDATE);
  osiris_json_free(mrep);
  osiris_json_free(rep);
  os_free(text);
  os_free(path);
  osiris_ctx_free(ctx);
}

static void test_cycles(void) {
  osiris_ctx *ctx = new_ctx("cycle");
  osiris_json *rep = NULL;
  char *path = fixture("cycle.yaml");
  const osiris_json *errs, *e;
  osiris_rc rc = osiris_validate(ctx, path, &rep);
  CHECK_RC(rc, OSIRIS_EVALIDATE);
  errs = osiris_json_get(rep, "errors");
  CHECK(osiris_json_size(errs) == 1);
  e = find_issue(errs, "dependency_cycle", "steps[0].needs");
  CHECK(e != NULL);
  CHECK_STR(js_gets(e, "message"), "dependency cycle: a -> c -> b -> a");
  CHECK(ival(e, "line") == 7);
  osiris_json_free(rep);
  os_free(path);
  osiris_ctx_free(ctx);
}

static void test_manifest_load(void) {
  mf_manifest *m = NULL;
  os_err err = {0};
  size_t order[2] = {9, 9};
  char *path = fixture("py057_manifest.yaml");
  osiris_json *doc = NULL;
  osiris_rc rc;
  /* a manifest in the 0.5.7 shape: no component key, steps out of order */
  rc = mf_load(path, &m, &err);
  CHECK_RC(rc, OSIRIS_OK);
  if (rc) fprintf(stderr, "  %s\n", err.msg);
  if (!rc) {
    char *dir = os_path_dirname(path);
    CHECK(m->n_steps == 2);
    CHECK_STR(m->steps[0].id, "write-people");
    CHECK_STR(m->steps[0].driver, "filesystem.csv_writer");
    CHECK_STR(m->steps[0].component, "filesystem.csv_writer");
    CHECK_STR(m->steps[0].cfg_path, "cfg/write-people.json");
    CHECK(m->steps[0].n_needs == 1);
    CHECK_STR(m->steps[0].needs[0], "extract-people");
    CHECK_STR(m->pipeline_id, "csv_copy_demo");
    CHECK_STR(m->profile, "default");
    CHECK_STR(m->path, path);
    CHECK_STR(m->dir, dir);
    CHECK_RC(mf_order(m, order, &err), OSIRIS_OK);
    CHECK(order[0] == 1 && order[1] == 0);
    CHECK(mf_is_manifest(m->doc));
    os_free(dir);
  }
  mf_free(m);
  m = NULL;
  CHECK(ym_read_file(path, &doc, &err) == OSIRIS_OK && mf_is_manifest(doc));
  osiris_json_free(doc);
  doc = NULL;
  os_free(path);
  {
    static const char *head = "pipeline:\n  id: p\nmeta:\n  profile: x\nsteps:\n";
    struct {
      const char *steps;
      osiris_rc rc;
      const char *msg;
    } bad[] = {
        {"  - id: a\n    driver: d\n    cfg_path: cfg/a.json\n  - id: a\n    driver: d\n"
         "    cfg_path: cfg/a.json\n",
         OSIRIS_EPARSE, "duplicate step id 'a'"},
        {"  - id: a\n    driver: d\n    cfg_path: cfg/a.json\n    needs: [zz]\n", OSIRIS_EPARSE,
         "step 'a' needs unknown step 'zz'"},
        {"  - id: a\n    driver: d\n    cfg_path: ../a.json\n", OSIRIS_EPARSE,
         "cfg_path must be a relative path"},
        {"  - id: a\n    driver: d\n    cfg_path: /etc/a.json\n", OSIRIS_EPARSE,
         "cfg_path must be a relative path"},
        {"  - id: ../a\n    driver: d\n    cfg_path: cfg/a.json\n", OSIRIS_EPARSE,
         "steps[0].id must be"},
        {"  - id: a\n    cfg_path: cfg/a.json\n", OSIRIS_EPARSE, "has no driver"},
        {"  []\n", OSIRIS_EPARSE, "steps must be a non-empty list"},
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char *text = os_asprintf("%s%s", head, bad[i].steps);
      spit(tmp_root, "bad/manifest.yaml", text);
      os_free(text);
      path = os_path_join(tmp_root, "bad/manifest.yaml");
      rc = mf_load(path, &m, &err);
      CHECK_RC(rc, bad[i].rc);
      CHECK(m == NULL);
      if (!strstr(err.msg, bad[i].msg)) fprintf(stderr, "  case %zu: %s\n", i, err.msg);
      CHECK(strstr(err.msg, bad[i].msg) != NULL);
      os_free(path);
    }
    spit(tmp_root, "bad/manifest.yaml", "pipeline: {}\nsteps: []\n");
    path = os_path_join(tmp_root, "bad/manifest.yaml");
    CHECK_RC(mf_load(path, &m, &err), OSIRIS_EPARSE);
    CHECK(strstr(err.msg, "not a compiled manifest") != NULL);
    os_free(path);
    /* a cycle loads but cannot be ordered */
    spit(tmp_root, "cyc/manifest.yaml",
         "pipeline:\n  id: p\nmeta: {}\nsteps:\n"
         "  - {id: x, driver: d, cfg_path: cfg/x.json, needs: []}\n"
         "  - {id: a, driver: d, cfg_path: cfg/a.json, needs: [b, x]}\n"
         "  - {id: b, driver: d, cfg_path: cfg/b.json, needs: [a]}\n");
    path = os_path_join(tmp_root, "cyc/manifest.yaml");
    rc = mf_load(path, &m, &err);
    CHECK_RC(rc, OSIRIS_OK);
    if (!rc) {
      size_t ord[3];
      CHECK_STR(m->profile, "");
      CHECK_RC(mf_order(m, ord, &err), OSIRIS_EVALIDATE);
      CHECK(strstr(err.msg, "dependency cycle: a -> b -> a") != NULL);
    }
    mf_free(m);
    os_free(path);
  }
}

int main(void) {
  char *here;
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris_test_compile_XXXXXX");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  {
    char *dir = os_path_dirname(__FILE__);
    here = os_path_abs(NULL, dir);
    os_free(dir);
    snprintf(fixtures, sizeof fixtures, "%s/fixtures/compile", here);
    os_free(here);
  }
  unsetenv("OSIRIS_HOME");
  RUN(test_valid_compile);
  RUN(test_manifest_hash_consistent);
  RUN(test_dag_goldens);
  RUN(test_determinism);
  RUN(test_params_precedence);
  RUN(test_unresolved);
  RUN(test_inline_secret);
  RUN(test_secret_dropped_from_cfg);
  RUN(test_validation_errors);
  RUN(test_validate_mem);
  RUN(test_cycles);
  RUN(test_manifest_load);
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
  }
  return th_report();
}
