/* Unit tests of sections 10, 14, 15, 17, 18: masking, scrubbing, the runner
 * (order, inputs, failure handling, run files) and the worker protocol,
 * with fake drivers and hand-written manifests; resume's fingerprints. */
#include "../osiris.c"
#include "harness.h"

#include <sys/wait.h>

static char tmp_root[256];

static char *slurp(const char *dir, const char *name) {
  char *path = os_path_join(dir, name), *data = NULL;
  os_err err = {0};
  if (path) os_read_file(path, &data, NULL, &err);
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

/* ---- fake drivers ---- */

static char order_log[256];

static osiris_rc fake_source(osiris_step *s) {
  osiris_frame *f = osiris_frame_new();
  int64_t n = osiris_json_int(osiris_json_get(osiris_step_config(s), "rows"), 3), i;
  strncat(order_log, osiris_step_id(s), sizeof order_log - strlen(order_log) - 2);
  strncat(order_log, ",", sizeof order_log - strlen(order_log) - 1);
  osiris_frame_add_column(f, "n", OSIRIS_TYPE_INT64, 0);
  for (i = 0; i < n; i++) {
    osiris_frame_append_int64(f, 0, i);
    osiris_frame_end_row(f);
  }
  osiris_step_metric(s, "rows_read", (double)n, "rows");
  osiris_step_set_output(s, f);
  return OSIRIS_OK;
}

/* Records the names of its inputs into the config-named file. */
static osiris_rc fake_sink(osiris_step *s) {
  size_t i;
  os_buf b = {0};
  os_err err = {0};
  char *path = osiris_step_path(s, js_gets(osiris_step_config(s), "path"));
  strncat(order_log, osiris_step_id(s), sizeof order_log - strlen(order_log) - 2);
  strncat(order_log, ",", sizeof order_log - strlen(order_log) - 1);
  for (i = 0; i < osiris_step_input_count(s); i++) {
    const char *name;
    const osiris_frame *f = osiris_step_input(s, i, &name);
    ob_printf(&b, "%s=%zu\n", name, osiris_frame_rows(f));
  }
  {
    char *parent = os_path_dirname(path);
    os_mkdir_p(parent, &err);
    os_free(parent);
  }
  os_write_file(path, b.p ? b.p : "", b.len, &err);
  osiris_step_file_written(s, path, "txt");
  osiris_step_metric(s, "rows_written", 7, "rows");
  ob_free(&b);
  os_free(path);
  return OSIRIS_OK;
}

/* Fails with a message that contains the connection's password. */
static osiris_rc fake_fail(osiris_step *s) {
  const char *pw = js_gets(osiris_step_connection(s), "password");
  strncat(order_log, osiris_step_id(s), sizeof order_log - strlen(order_log) - 2);
  strncat(order_log, ",", sizeof order_log - strlen(order_log) - 1);
  return osiris_step_fail(s, OSIRIS_ECONN, "cannot log in with password %s", pw ? pw : "(none)");
}

/* Overwrites the spill file of step "a" with garbage. */
static osiris_rc fake_corrupt(osiris_step *s) {
  char *path = os_asprintf("%s/../a/output.parquet", osiris_step_artifacts_dir(s));
  os_err err = {0};
  osiris_rc rc = os_write_file(path, "PAR1garbagePAR1", 15, &err);
  os_free(path);
  return rc ? osiris_step_fail(s, rc, "%s", err.msg) : OSIRIS_OK;
}

/* Blocks in read() of a pipe nobody writes: only a signal can end the
 * call.  A stray EINTR is retried; one after the run was cancelled (the
 * watchdog's wake-up) ends the step.  block_reads counts the read calls. */
static int block_reads;
static osiris_rc fake_block(osiris_step *s) {
  int fds[2];
  char c;
  osiris_rc rc = OSIRIS_OK;
  if (pipe(fds) != 0) return osiris_step_fail(s, OSIRIS_EIO, "pipe failed");
  for (;;) {
    ssize_t got;
    __atomic_add_fetch(&block_reads, 1, __ATOMIC_SEQ_CST);
    got = read(fds[0], &c, 1);
    if (got < 0 && errno == EINTR && osiris_step_cancelled(s)) {
      rc = osiris_step_fail(s, OSIRIS_ECANCEL, "interrupted");
      break;
    }
    if (got >= 0 || errno != EINTR) {
      rc = osiris_step_fail(s, OSIRIS_EIO, "the pipe was read");
      break;
    }
  }
  close(fds[0]);
  close(fds[1]);
  return rc;
}

static const osiris_config_key fake_keys[] = {{"rows", "3", 0, "rows", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                              {"path", NULL, 0, "path", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                              {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_driver drv_source = {"test.source", "filesystem", "extract", "s", fake_keys, fake_source, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};
static const osiris_driver drv_sink = {"test.sink", "filesystem", "write", "w", fake_keys, fake_sink, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};
static const osiris_driver drv_corrupt = {"test.corrupt", "filesystem", "write", "c", NULL, fake_corrupt, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};
static const osiris_driver drv_fail = {"test.fail", "testdb", "extract", "f", fake_keys, fake_fail, NULL, 0};
/* Reads its streamed input to the end. */
static osiris_rc fake_stream_sink(osiris_step *s) {
  const osiris_frame *b;
  osiris_rc rc;
  while ((rc = osiris_step_next(s, &b)) == OSIRIS_OK && b) {}
  return rc;
}
static const osiris_driver drv_stream_sink = {"test.stream_sink", "filesystem", "write", "ss", fake_keys, fake_stream_sink, NULL, OSIRIS_DRIVER_CONN_OPTIONAL | OSIRIS_DRIVER_STREAMS_IN};
static const osiris_driver drv_block = {"test.block", "filesystem", "extract", "b", fake_keys, fake_block, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};

static osiris_ctx *new_ctx(const char *dir) {
  osiris_ctx *ctx = osiris_ctx_new(dir);
  osiris_register_driver(ctx, &drv_source, NULL);
  osiris_register_driver(ctx, &drv_sink, NULL);
  osiris_register_driver(ctx, &drv_fail, NULL);
  osiris_register_driver(ctx, &drv_corrupt, NULL);
  osiris_register_driver(ctx, &drv_block, NULL);
  osiris_register_driver(ctx, &drv_stream_sink, NULL);
  return ctx;
}

/* A compiled pipeline by hand: manifest + cfg. */
static void write_pipeline(const char *dir, const char *steps_yaml, const char *const *cfgs) {
  char *m = os_asprintf("pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n%s", steps_yaml);
  size_t i;
  spit(dir, "compiled/manifest.yaml", m);
  os_free(m);
  for (i = 0; cfgs[i]; i += 2) {
    char *name = os_asprintf("compiled/cfg/%s.json", cfgs[i]);
    spit(dir, name, cfgs[i + 1]);
    os_free(name);
  }
}

static void test_masking(void) {
  osiris_json *v = NULL, *m;
  char *s;
  CHECK(mk_is_masked_key("password"));
  CHECK(mk_is_masked_key("service_role_key"));
  CHECK(mk_is_masked_key("pg_dsn"));
  CHECK(mk_is_masked_key("DB_PASSWORD"));
  CHECK(!mk_is_masked_key("primary_key"));
  CHECK(!mk_is_masked_key("path"));
  CHECK(!mk_is_masked_key("host"));
  CHECK(mk_is_secret_key("password"));
  CHECK(mk_is_secret_key("API_KEY"));
  CHECK(!mk_is_secret_key("primary_key"));
  CHECK(!mk_is_secret_key("url"));
  {
    const char *text = "{\"host\":\"h\",\"password\":\"pw12345\",\"nested\":{\"token\":\"t0k3n99\"},"
                       "\"ref\":{\"api_key\":\"${API_KEY}\"},\"primary_key\":[\"id\"]}";
    osiris_json_parse(text, strlen(text), &v, NULL, 0);
  }
  CHECK(v != NULL);
  m = mk_mask_copy(v);
  s = osiris_json_dump(m, OSIRIS_JSON_SORTED, NULL);
  CHECK_STR(s, "{\"host\":\"h\",\"nested\":{\"token\":\"***MASKED***\"},\"password\":\"***MASKED***\","
               "\"primary_key\":[\"id\"],\"ref\":{\"api_key\":\"${API_KEY}\"}}");
  osiris_free(s);
  osiris_json_free(m);
  osiris_json_free(v);
}

static void test_scrub(void) {
  ss_session ss;
  char *out;
  size_t n = 0;
  int oom = 0;
  ss_session_init(&ss);
  CHECK_RC(ss_add_secret(&ss, "hunter2-secret"), OSIRIS_OK);
  CHECK_RC(ss_add_secret(&ss, "abc"), OSIRIS_OK); /* short: masked only as a whole value */
  CHECK_RC(ss_add_url_password(&ss, "postgres://user:pa\"ss@host/db"), OSIRIS_OK);
  out = ss_scrub(&ss, "x hunter2-secret y abc", 22, &n, &oom);
  CHECK_STR(out, "x ***MASKED*** y abc");
  os_free(out);
  out = ss_scrub(&ss, "nothing here", 12, &n, &oom);
  CHECK(out == NULL);
  /* a short secret where it stands as a value: DSN password, key=value, JSON */
  out = ss_scrub(&ss, "mysql://u:abc@h password=abc {\"password\":\"abc\"} abcd xabc", 58, &n, &oom);
  CHECK_STR(out, "mysql://u:***MASKED***@h password=***MASKED*** {\"password\":\"***MASKED***\"} abcd xabc");
  os_free(out);
  /* a percent-encoded DSN password is masked in its decoded spelling too */
  CHECK_RC(ss_add_url_password(&ss, "postgres://u:p%40ss%2Fw0rd@h/db"), OSIRIS_OK);
  out = ss_scrub(&ss, "auth failed for p@ss/w0rd", 25, &n, &oom);
  CHECK_STR(out, "auth failed for ***MASKED***");
  os_free(out);
  /* the escaped spelling of a secret with a quote is scrubbed too */
  out = ss_scrub(&ss, "{\"m\":\"pa\\\"ss\"}", 14, &n, &oom);
  CHECK_STR(out, "{\"m\":\"***MASKED***\"}");
  os_free(out);
  ss_close(&ss);
}

static void test_order_and_inputs(void) {
  char dir[300];
  static const char *const cfgs[] = {
      "a", "{\"component\":\"test.source\",\"rows\":2}",
      "b", "{\"component\":\"test.source\",\"rows\":5}",
      "w1", "{\"component\":\"test.sink\",\"path\":\"out/w1.txt\"}",
      "w2", "{\"component\":\"test.sink\",\"path\":\"out/w2.txt\"}",
      NULL};
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  osiris_run_opts o;
  char *text, *events;
  snprintf(dir, sizeof dir, "%s/order", tmp_root);
  /* w2 is listed first but needs a and b; w1 needs b only. */
  write_pipeline(dir,
                 "- id: w2\n  driver: test.sink\n  cfg_path: cfg/w2.json\n  needs: [a, b]\n"
                 "- id: a\n  driver: test.source\n  cfg_path: cfg/a.json\n  needs: []\n"
                 "- id: w1\n  driver: test.sink\n  cfg_path: cfg/w1.json\n  needs: [b]\n"
                 "- id: b\n  driver: test.source\n  cfg_path: cfg/b.json\n  needs: []\n",
                 cfgs);
  ctx = new_ctx(dir);
  memset(&o, 0, sizeof o);
  o.jobs = 1; /* the order of a serial run (tests/test_jobs.c: --jobs > 1) */
  order_log[0] = 0;
  CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", &o, &run), OSIRIS_OK);
  CHECK(run && osiris_run_ok(run));
  /* manifest order among ready steps: a, then b (w2 not ready), w2, w1 */
  CHECK_STR(order_log, "a,b,w2,w1,");
  text = slurp(dir, "out/w2.txt");
  CHECK_STR(text, "df_a=2\ndf_b=5\n");
  os_free(text);
  text = slurp(dir, "out/w1.txt");
  CHECK_STR(text, "df_b=5\ndf=5\ninput_df=5\n");
  os_free(text);
  if (run) {
    events = slurp(osiris_run_dir(run), "events.jsonl");
    CHECK(events && strstr(events, "\"event\":\"run_start\""));
    CHECK(events && strstr(events, "\"event\":\"inputs_resolved\",\"step_id\":\"w2\",\"from_step\":\"a\""));
    CHECK(events && strstr(events, "\"event\":\"output_written\""));
    CHECK(events && strstr(events, "\"event\":\"run_complete\""));
    CHECK(events && strncmp(events, "{\"ts\":\"", 7) == 0);
    os_free(events);
    text = slurp(osiris_run_dir(run), "status.json");
    CHECK(text && strstr(text, "\"ok\": true"));
    CHECK(text && strstr(text, "\"steps_completed\": 4"));
    os_free(text);
    text = slurp(osiris_run_dir(run), "metrics.jsonl");
    CHECK(text && strstr(text, "\"metric\":\"rows_read\",\"value\":5,\"unit\":\"rows\",\"tags\":{\"step_id\":\"b\"}"));
    CHECK(text && strstr(text, "\"metric\":\"session_duration_seconds\""));
    os_free(text);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

static void test_failure_skips_and_scrubs(void) {
  char dir[300];
  static const char *const cfgs[] = {
      "src", "{\"component\":\"test.source\"}",
      "bad", "{\"component\":\"test.fail\",\"connection\":\"@testdb.main\"}",
      "out", "{\"component\":\"test.sink\",\"path\":\"out.txt\"}",
      NULL};
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  osiris_run_opts o;
  const char *secret = "Sup3r-Secret-Value-42";
  char *text;
  snprintf(dir, sizeof dir, "%s/fail", tmp_root);
  write_pipeline(dir,
                 "- id: src\n  driver: test.source\n  cfg_path: cfg/src.json\n  needs: []\n"
                 "- id: bad\n  driver: test.fail\n  cfg_path: cfg/bad.json\n  needs: [src]\n"
                 "- id: out\n  driver: test.sink\n  cfg_path: cfg/out.json\n  needs: [bad]\n",
                 cfgs);
  spit(dir, "osiris_connections.yaml",
       "connections:\n  testdb:\n    main:\n      host: db\n      password: ${TEST_RUNNER_PW}\n");
  setenv("TEST_RUNNER_PW", secret, 1);
  ctx = new_ctx(dir);
  memset(&o, 0, sizeof o);
  o.verbose = 1;
  order_log[0] = 0;
  CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", &o, &run), OSIRIS_ECONN);
  CHECK_STR(order_log, "src,bad,");
  CHECK(run && !osiris_run_ok(run));
  CHECK_STR(run ? osiris_run_failed_step(run) : NULL, "bad");
  CHECK(run && strstr(osiris_run_error(run), "***MASKED***"));
  CHECK(run && !strstr(osiris_run_error(run), secret));
  if (run) {
    static const char *const files[] = {"events.jsonl", "metrics.jsonl", "osiris.log", "debug.log",
                                        "status.json", "run_card.json",
                                        "artifacts/bad/cleaned_config.json", NULL};
    size_t i;
    for (i = 0; files[i]; i++) {
      text = slurp(osiris_run_dir(run), files[i]);
      CHECK(text != NULL);
      CHECK(text && !strstr(text, secret));
      os_free(text);
    }
    text = slurp(osiris_run_dir(run), "events.jsonl");
    CHECK(text && strstr(text, "\"event\":\"step_failed\",\"step_id\":\"bad\""));
    CHECK(text && strstr(text, "\"event\":\"step_skipped\",\"step_id\":\"out\""));
    CHECK(text && strstr(text, "\"event\":\"connection_resolve_complete\""));
    os_free(text);
    text = slurp(osiris_run_dir(run), "status.json");
    CHECK(text && strstr(text, "\"ok\": false"));
    CHECK(text && strstr(text, "\"step_id\": \"bad\""));
    CHECK(text && strstr(text, "\"exit_code\": 1"));
    os_free(text);
    text = slurp(osiris_run_dir(run), "artifacts/bad/cleaned_config.json");
    CHECK(text && strstr(text, "***MASKED***"));
    os_free(text);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
  unsetenv("TEST_RUNNER_PW");
}

static void test_missing_cfg_is_preflight(void) {
  char dir[300];
  static const char *const cfgs[] = {NULL};
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  char *text;
  snprintf(dir, sizeof dir, "%s/preflight", tmp_root);
  write_pipeline(dir, "- id: a\n  driver: test.source\n  cfg_path: cfg/a.json\n  needs: []\n", cfgs);
  ctx = new_ctx(dir);
  CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", NULL, &run), OSIRIS_ENOTFOUND);
  CHECK(run != NULL);
  if (run) {
    text = slurp(osiris_run_dir(run), "status.json");
    CHECK(text && strstr(text, "preflight_failed"));
    os_free(text);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

static void test_worker_protocol(void) {
  char dir[300], *out;
  static const char *const cfgs[] = {
      "a", "{\"component\":\"test.source\",\"rows\":4}",
      "w", "{\"component\":\"test.sink\",\"path\":\"w.txt\"}",
      NULL};
  osiris_ctx *ctx;
  int fd;
  char *outpath, *cmdpath;
  snprintf(dir, sizeof dir, "%s/worker", tmp_root);
  write_pipeline(dir,
                 "- id: a\n  driver: test.source\n  cfg_path: cfg/a.json\n  needs: []\n"
                 "- id: w\n  driver: test.sink\n  cfg_path: cfg/w.json\n  needs: [a]\n",
                 cfgs);
  /* The worker reads cfg/ from its session dir, as the host ships it. */
  {
    char *src = os_path_join(dir, "compiled/cfg/a.json"), *dst = os_path_join(dir, "cfg/a.json");
    os_err err = {0};
    char *cd = os_path_join(dir, "cfg");
    os_mkdir_p(cd, &err);
    os_copy_file(src, dst, &err);
    os_free(src);
    os_free(dst);
    src = os_path_join(dir, "compiled/cfg/w.json");
    dst = os_path_join(dir, "cfg/w.json");
    os_copy_file(src, dst, &err);
    os_free(src);
    os_free(dst);
    os_free(cd);
  }
  spit(dir, "commands.jsonl",
       "{\"cmd\":\"ping\",\"data\":\"init\"}\n"
       "{\"cmd\":\"prepare\",\"session_id\":\"sess1\",\"manifest\":\"compiled/manifest.yaml\"}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"a\",\"driver\":\"test.source\",\"cfg_path\":\"cfg/a.json\"}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"w\",\"driver\":\"test.sink\",\"cfg_path\":\"cfg/w.json\","
       "\"inputs\":{\"df\":{\"from_step\":\"a\",\"key\":\"df\"}}}\n"
       "{\"cmd\":\"bogus\"}\n"
       "{\"cmd\":\"cleanup\"}\n");
  outpath = os_path_join(dir, "out.jsonl");
  cmdpath = os_path_join(dir, "commands.jsonl");
  fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ctx = new_ctx(dir);
  CHECK_RC(osiris_worker_run(ctx, cmdpath, dir, fd), OSIRIS_EUSAGE); /* the bogus command */
  close(fd);
  out = slurp(dir, "out.jsonl");
  CHECK(out && strstr(out, "{\"type\":\"response\",\"cmd\":\"ping\",\"ok\":true,\"echo\":\"init\"}"));
  CHECK(out && strstr(out, "\"type\":\"response\",\"cmd\":\"prepare\",\"ok\":true"));
  CHECK(out && strstr(out, "\"type\":\"event\",\"ts\":"));
  CHECK(out && strstr(out, "\"type\":\"metric\""));
  CHECK(out && strstr(out, "\"cmd\":\"exec_step\",\"ok\":true,\"step_id\":\"w\""));
  CHECK(out && strstr(out, "\"cmd\":\"bogus\",\"ok\":false,\"error\":\"unknown command\""));
  CHECK(out && strstr(out, "\"cmd\":\"cleanup\",\"ok\":true"));
  {
    /* worker.out: every byte of out_fd, responses included (section 15) */
    char *copy = slurp(dir, "worker.out");
    CHECK(out && copy && strcmp(out, copy) == 0);
    os_free(copy);
  }
  os_free(out);
  out = slurp(dir, "w.txt");
  CHECK_STR(out, "df_a=4\ndf=4\ninput_df=4\n");
  os_free(out);
  out = slurp(dir, "status.json");
  CHECK(out && strstr(out, "\"ok\": true"));
  os_free(out);
  os_free(outpath);
  os_free(cmdpath);
  osiris_ctx_free(ctx);
}

/* A spilled frame is read back for its consumers; a corrupted spill
 * file fails the consuming step cleanly, naming the step and input. */
static void test_spill_and_corruption(void) {
  char dir[300];
  static const char *const cfgs[] = {
      "a", "{\"component\":\"test.source\",\"rows\":6}",
      "w1", "{\"component\":\"test.sink\",\"path\":\"w1.txt\"}",
      "c", "{\"component\":\"test.corrupt\"}",
      "w2", "{\"component\":\"test.sink\",\"path\":\"w2.txt\"}",
      NULL};
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  char *text;
  snprintf(dir, sizeof dir, "%s/spill", tmp_root);
  write_pipeline(dir,
                 "- id: a\n  driver: test.source\n  cfg_path: cfg/a.json\n  needs: []\n"
                 "- id: w1\n  driver: test.sink\n  cfg_path: cfg/w1.json\n  needs: [a]\n"
                 "- id: c\n  driver: test.corrupt\n  cfg_path: cfg/c.json\n  needs: [w1]\n"
                 "- id: w2\n  driver: test.sink\n  cfg_path: cfg/w2.json\n  needs: [a, c]\n",
                 cfgs);
  setenv("OSIRIS_FORCE_SPILL", "true", 1);
  ctx = new_ctx(dir);
  CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", NULL, &run), OSIRIS_EPARSE);
  unsetenv("OSIRIS_FORCE_SPILL");
  text = slurp(dir, "w1.txt");
  CHECK_STR(text, "df_a=6\ndf=6\ninput_df=6\n"); /* read back from the spill */
  os_free(text);
  CHECK_STR(run ? osiris_run_failed_step(run) : NULL, "w2");
  CHECK(run && strstr(osiris_run_error(run), "input 'df_a' from step a: cannot read its spill file"));
  if (run) {
    text = slurp(osiris_run_dir(run), "events.jsonl");
    CHECK(text && strstr(text, "\"event\":\"inputs_resolved\",\"step_id\":\"w1\",\"from_step\":\"a\",\"key\":\"df_a\",\"rows\":6,\"source\":\"spill\""));
    CHECK(text && strstr(text, "\"event\":\"input_resolution_failed\",\"step_id\":\"w2\""));
    os_free(text);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

/* A step blocked in a system call is stopped by its own bound, by the
 * manifest's pipeline.timeout and by --timeout (the smaller wins); a bad
 * bound in a manifest is refused before anything runs. */
static void test_timeouts(void) {
  static const char *const cfgs[] = {
      "a", "{\"component\":\"test.block\"}",
      "w", "{\"component\":\"test.sink\",\"path\":\"out.txt\"}",
      NULL};
  static const struct {
    const char *top, *step_a;
    int cli;
    const char *bound, *msg;
  } cases[] = {
      {"", "  timeout: 0.3\n", 0, "steps[0].timeout", "step a exceeded its timeout of 0.3 s (steps[0].timeout)"},
      {"  timeout: '0.3'\n", "", 600, "timeout", "the run exceeded its timeout of 0.3 s (timeout in the pipeline)"},
      {"  timeout: 600\n", "  timeout: 600\n", 1, "--timeout", "the run exceeded its timeout of 1 s (--timeout)"},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char dir[300], *m, *text;
    osiris_ctx *ctx;
    osiris_run *run = NULL;
    osiris_run_opts o;
    snprintf(dir, sizeof dir, "%s/timeout%zu", tmp_root, k);
    m = os_asprintf("pipeline:\n  id: p\n%smeta:\n  profile: ''\nsteps:\n"
                    "- id: a\n  driver: test.block\n  cfg_path: cfg/a.json\n  needs: []\n%s"
                    "- id: w\n  driver: test.sink\n  cfg_path: cfg/w.json\n  needs: [a]\n",
                    cases[k].top, cases[k].step_a);
    spit(dir, "compiled/manifest.yaml", m);
    os_free(m);
    spit(dir, "compiled/cfg/a.json", cfgs[1]);
    spit(dir, "compiled/cfg/w.json", cfgs[3]);
    ctx = new_ctx(dir);
    memset(&o, 0, sizeof o);
    o.timeout_s = cases[k].cli;
    block_reads = 0;
    CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", &o, &run), OSIRIS_ECANCEL);
    CHECK(block_reads >= 1);
    CHECK_STR(run ? osiris_run_failed_step(run) : NULL, "a");
    CHECK_STR(run ? osiris_run_error(run) : NULL, cases[k].msg);
    if (run) {
      char want[128];
      text = slurp(osiris_run_dir(run), "status.json");
      CHECK(text && strstr(text, "\"reason\": \"timed_out\""));
      os_free(text);
      text = slurp(osiris_run_dir(run), "events.jsonl");
      snprintf(want, sizeof want, "\"event\":\"step_timeout\",\"step_id\":\"a\",\"bound\":\"%s\"",
               cases[k].bound);
      CHECK(text && strstr(text, want));
      CHECK(text && strstr(text, "\"event\":\"step_skipped\",\"step_id\":\"w\""));
      os_free(text);
    }
    osiris_run_free(run);
    osiris_ctx_free(ctx);
  }
  /* a bound that is not a positive number: refused with its place */
  {
    char dir[300];
    osiris_ctx *ctx;
    osiris_run *run = NULL;
    snprintf(dir, sizeof dir, "%s/timeout-bad", tmp_root);
    spit(dir, "compiled/manifest.yaml",
         "pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n"
         "- id: a\n  driver: test.block\n  cfg_path: cfg/a.json\n  timeout: 0\n");
    spit(dir, "compiled/cfg/a.json", cfgs[1]);
    ctx = new_ctx(dir);
    block_reads = 0;
    CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", NULL, &run), OSIRIS_EPARSE);
    CHECK(block_reads == 0);
    CHECK(run && strstr(osiris_run_error(run), "manifest.yaml:9:12: steps[0].timeout must be a positive number"));
    osiris_run_free(run);
    osiris_ctx_free(ctx);
  }
}

/* osiris_ctx_cancel from another thread (or a Ctrl-C that landed on the
 * waiting thread) while a streamed producer is blocked in a system call
 * before its first batch: the producer is woken, the run ends interrupted
 * instead of waiting for ever.  Held at a known point: the canceller
 * waits until the producer has called read(). */
static void *cancel_when_blocked(void *arg) {
  int i;
  for (i = 0; i < 6000 && __atomic_load_n(&block_reads, __ATOMIC_SEQ_CST) == 0; i++) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  osiris_ctx_cancel(arg);
  return NULL;
}

static void test_cancel_wakes_producer(void) {
  char dir[300];
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  pthread_t th;
  snprintf(dir, sizeof dir, "%s/cancel-producer", tmp_root);
  spit(dir, "compiled/manifest.yaml",
       "pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n"
       "- id: a\n  driver: test.block\n  cfg_path: cfg/a.json\n  needs: []\n"
       "- id: b\n  driver: test.stream_sink\n  cfg_path: cfg/b.json\n  needs: [a]\n");
  spit(dir, "compiled/cfg/a.json", "{\"component\":\"test.block\"}");
  spit(dir, "compiled/cfg/b.json", "{\"component\":\"test.stream_sink\"}");
  ctx = new_ctx(dir);
  __atomic_store_n(&block_reads, 0, __ATOMIC_SEQ_CST);
  if (pthread_create(&th, NULL, cancel_when_blocked, ctx) != 0) {
    CHECK(0);
    osiris_ctx_free(ctx);
    return;
  }
  CHECK_RC(osiris_run_pipeline(ctx, "compiled/manifest.yaml", NULL, &run), OSIRIS_ECANCEL);
  pthread_join(th, NULL);
  CHECK_STR(run ? osiris_run_failed_step(run) : NULL, "a");
  if (run) {
    char *text = slurp(osiris_run_dir(run), "status.json");
    CHECK(text && strstr(text, "\"reason\": \"interrupted\""));
    os_free(text);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

static void test_registry(void) {
  osiris_ctx *ctx = osiris_ctx_new(NULL);
  const char *name = NULL;
  CHECK_RC(osiris_register_driver(ctx, &drv_source, "test.alias"), OSIRIS_OK);
  CHECK_RC(osiris_register_driver(ctx, &drv_source, NULL), OSIRIS_EINVAL);
  CHECK(osiris_driver_find(ctx, "test.alias") == &drv_source);
  CHECK(osiris_driver_count(ctx) == 2);
  CHECK(osiris_driver_at(ctx, 1, &name) == &drv_source);
  CHECK_STR(name, "test.alias");
  CHECK(osiris_adapter_find(ctx, "local") != NULL);
  CHECK(osiris_adapter_find(ctx, "sandbox") != NULL);
  CHECK(osiris_adapter_find(ctx, "e2b") != NULL);
  CHECK(osiris_adapter_find(ctx, "docker") == NULL);
  osiris_ctx_free(ctx);
}


/* resume.json's checks: a recorded input file is the same while its bytes
 * are (a new mtime alone does not count when it was hashed); size, content,
 * removal and, for an unhashed file, mtime say how it changed; a FIFO is
 * not fingerprinted.  The manifest's fingerprint ignores generated_at. */
static void test_resume_fingerprints(void) {
  char dir[300], why[512];
  char *path, *fifo;
  osiris_json *rec = NULL, *rec2 = NULL;
  mf_manifest *m = NULL;
  char fp1[65], fp2[65];
  os_err err = {0};
  const char *mf1 = "pipeline: {id: p}\nmeta: {generated_at: '2026-01-01T00:00:00Z'}\n"
                    "steps:\n- {id: a, driver: test.source, cfg_path: cfg/a.json}\n";
  const char *mf2 = "pipeline: {id: p}\nmeta: {generated_at: '2026-12-06T19:00:00Z'}\n"
                    "steps:\n- {id: a, driver: test.source, cfg_path: cfg/a.json}\n";
  snprintf(dir, sizeof dir, "%s/resume", tmp_root);
  spit(dir, "in.csv", "a,b\n1,2\n");
  path = os_path_join(dir, "in.csv");
  {
    struct stat stt;
    char hex[65], text[900];
    CHECK(stat(path, &stt) == 0 && os_sha256_file_hex(path, hex) == 0);
    snprintf(text, sizeof text, "{\"key\":\"path\",\"path\":\"%s\",\"size\":%lld,\"mtime_ns\":%lld,\"sha256\":\"%s\"}",
             path, (long long)stt.st_size,
             (long long)stt.st_mtim.tv_sec * 1000000000LL + stt.st_mtim.tv_nsec, hex);
    CHECK_RC(js_parse(text, strlen(text), "rec", &rec, &err), OSIRIS_OK);
    snprintf(text, sizeof text, "{\"key\":\"path\",\"path\":\"%s\",\"size\":%lld,\"mtime_ns\":1}", path,
             (long long)stt.st_size);
    CHECK_RC(js_parse(text, strlen(text), "rec2", &rec2, &err), OSIRIS_OK);
  }
  CHECK(rn_resume_same_file(rec, why, sizeof why));
  spit(dir, "in.csv", "a,b\n1,2\n"); /* the same bytes, a new mtime */
  CHECK(rn_resume_same_file(rec, why, sizeof why));
  CHECK(!rn_resume_same_file(rec2, why, sizeof why)); /* not hashed: the mtime decides */
  CHECK(strstr(why, "modified since") != NULL);
  spit(dir, "in.csv", "a,b\n1,3\n"); /* same size, other content */
  CHECK(!rn_resume_same_file(rec, why, sizeof why));
  CHECK(strstr(why, "its content changed") != NULL);
  spit(dir, "in.csv", "a,b\n1,23\n");
  CHECK(!rn_resume_same_file(rec, why, sizeof why));
  CHECK(strstr(why, "size 9 bytes, was 8") != NULL);
  unlink(path);
  CHECK(!rn_resume_same_file(rec, why, sizeof why));
  CHECK_STR(why, "was removed");
  /* a FIFO: recorded without reading it */
  fifo = os_path_join(dir, "pipe");
  CHECK(fifo && mkfifo(fifo, 0600) == 0);
  {
    rn_resume_walk w = {js_alloc(OSIRIS_JSON_ARRAY), 1};
    osiris_config_key k;
    rm_file f;
    memset(&k, 0, sizeof k);
    k.name = "path";
    k.flags = OSIRIS_KEY_INPUT_FILE;
    f.key = &k;
    f.path = "pipe";
    f.cbase = NULL;
    f.host = fifo;
    CHECK_RC(rn_resume_file(&w, &f, &err), OSIRIS_OK);
    CHECK(osiris_json_size(w.inputs) == 1);
    CHECK(!osiris_json_bool(osiris_json_get(osiris_json_at(w.inputs, 0), "regular"), 1));
    CHECK(osiris_json_get(osiris_json_at(w.inputs, 0), "sha256") == NULL);
    CHECK(rn_resume_same_file(osiris_json_at(w.inputs, 0), why, sizeof why));
    osiris_json_free(w.inputs);
  }
  /* generated_at does not change the manifest's fingerprint; a step does */
  spit(dir, "m1/manifest.yaml", mf1);
  spit(dir, "m2/manifest.yaml", mf2);
  {
    char *p1 = os_path_join(dir, "m1/manifest.yaml"), *p2 = os_path_join(dir, "m2/manifest.yaml");
    CHECK_RC(mf_load(p1, &m, &err), OSIRIS_OK);
    CHECK(m && rn_resume_manifest_fp(m, fp1) == OSIRIS_OK);
    mf_free(m);
    m = NULL;
    CHECK_RC(mf_load(p2, &m, &err), OSIRIS_OK);
    CHECK(m && rn_resume_manifest_fp(m, fp2) == OSIRIS_OK);
    CHECK_STR(fp1, fp2);
    mf_free(m);
    m = NULL;
    spit(dir, "m2/manifest.yaml", "pipeline: {id: p}\nmeta: {generated_at: x}\n"
                                  "steps:\n- {id: b, driver: test.source, cfg_path: cfg/a.json}\n");
    CHECK_RC(mf_load(p2, &m, &err), OSIRIS_OK);
    CHECK(m && rn_resume_manifest_fp(m, fp2) == OSIRIS_OK && strcmp(fp1, fp2) != 0);
    mf_free(m);
    os_free(p1);
    os_free(p2);
  }
  os_free(fifo);
  os_free(path);
  osiris_json_free(rec);
  osiris_json_free(rec2);
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris-test-runner-%ld", (long)getpid());
  RUN(test_masking);
  RUN(test_scrub);
  RUN(test_registry);
  RUN(test_order_and_inputs);
  RUN(test_failure_skips_and_scrubs);
  RUN(test_missing_cfg_is_preflight);
  RUN(test_worker_protocol);
  RUN(test_spill_and_corruption);
  RUN(test_timeouts);
  RUN(test_cancel_wakes_producer);
  RUN(test_resume_fingerprints);
  {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
  }
  return th_report();
}
