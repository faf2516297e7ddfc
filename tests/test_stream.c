/* Unit tests of streamed pairs (section 14): a producer that flushes row
 * batches and a consumer that reads them with osiris_step_next, run by the
 * local runner and by the worker; failures on either side; the switches
 * that turn streaming off; and the frame moves under it (section 7). */
#include "../osiris.c"
#include "harness.h"

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

/* rows rows of (n int64, s string NULL every 7th row); flushes after each
 * row; fails after fail_at rows when fail_at >= 0. */
static osiris_rc gen_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  int64_t rows = osiris_json_int(osiris_json_get(cfg, "rows"), 10);
  int64_t fail_at = osiris_json_int(osiris_json_get(cfg, "fail_at"), -1), i;
  osiris_frame *f = osiris_frame_new();
  osiris_rc rc = OSIRIS_OK;
  char text[32];
  osiris_frame_add_column(f, "n", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(f, "s", OSIRIS_TYPE_STRING, 0);
  for (i = 0; i < rows && !rc; i++) {
    if (i == fail_at) {
      rc = osiris_step_fail(s, OSIRIS_ESQL, "source broke at row %lld", (long long)i);
      break;
    }
    snprintf(text, sizeof text, "v%lld", (long long)i);
    osiris_frame_append_int64(f, 0, i);
    if (i % 7 == 0)
      osiris_frame_append_null(f, 1);
    else
      osiris_frame_append_text(f, 1, text, strlen(text));
    osiris_frame_end_row(f);
    rc = osiris_step_flush(s, f);
    if (rc) rc = osiris_step_fail(s, rc, "stopped after %lld rows", (long long)i + 1);
  }
  if (rc) {
    osiris_frame_free(f);
    return rc;
  }
  osiris_step_metric(s, "rows_read", (double)rows, "rows");
  osiris_step_set_output(s, f);
  return OSIRIS_OK;
}

/* Reads its input batch by batch (or gathers it), checks every value, and
 * writes "batches=B rows=R sum=S streamed=X bad=K" to path.  Fails after
 * fail_batch batches when fail_batch > 0. */
static osiris_rc sum_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  int64_t fail_batch = osiris_json_int(osiris_json_get(cfg, "fail_batch"), 0);
  int gather = osiris_json_bool(osiris_json_get(cfg, "gather"), 0);
  const osiris_frame *b = NULL;
  int64_t batches = 0, rows = 0, bad = 0;
  long long sum = 0;
  osiris_rc rc;
  char line[200], *path;
  os_err err = {0};
  for (;;) {
    size_t r;
    if (gather && batches == 1) { /* after a gather the input is at its end */
      rc = osiris_step_next(s, &b);
      bad += rc != OSIRIS_OK || b != NULL;
      break;
    }
    rc = gather ? osiris_step_gather(s, &b) : osiris_step_next(s, &b);
    if (rc) return osiris_step_fail(s, rc, "input stopped after %lld rows", (long long)rows);
    if (!b) break;
    batches++;
    if (osiris_frame_cols(b) != 2) bad++;
    for (r = 0; r < osiris_frame_rows(b); r++) {
      int64_t n = osiris_frame_get_int64(b, 0, r);
      size_t len = 0;
      const char *t = osiris_frame_get_text(b, 1, r, &len);
      char want[32];
      snprintf(want, sizeof want, "v%lld", (long long)n);
      if (n != rows + (int64_t)r) bad++;
      if (n % 7 == 0 ? !osiris_frame_is_null(b, 1, r)
                     : (osiris_frame_is_null(b, 1, r) || len != strlen(want) || memcmp(t, want, len)))
        bad++;
      sum += n;
    }
    rows += (int64_t)osiris_frame_rows(b);
    if (fail_batch > 0 && batches == fail_batch)
      return osiris_step_fail(s, OSIRIS_ESQL, "sink refused batch %lld", (long long)batches);
  }
  snprintf(line, sizeof line, "batches=%lld rows=%lld sum=%lld streamed=%d bad=%lld",
           (long long)batches, (long long)rows, sum, osiris_step_streamed(s), (long long)bad);
  path = osiris_step_path(s, js_gets(cfg, "path"));
  os_write_file(path, line, strlen(line), &err);
  osiris_step_metric(s, "rows_written", (double)rows, "rows");
  os_free(path);
  return OSIRIS_OK;
}

static const osiris_config_key gen_keys[] = {{"rows", NULL, 0, "rows", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                             {"fail_at", NULL, 0, "fail", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                             {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_config_key sum_keys[] = {{"path", NULL, 0, "path", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                             {"fail_batch", NULL, 0, "fail", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                             {"gather", NULL, 0, "gather", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
                                             {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_driver drv_gen = {"test.gen", "filesystem", "extract", "g", gen_keys, gen_run,
                                      NULL, OSIRIS_DRIVER_CONN_OPTIONAL};
static const osiris_driver drv_sum = {"test.sum", "filesystem", "write", "s", sum_keys, sum_run,
                                      NULL, OSIRIS_DRIVER_STREAMS_IN | OSIRIS_DRIVER_CONN_OPTIONAL};

static osiris_ctx *new_ctx(const char *dir) {
  osiris_ctx *ctx = osiris_ctx_new(dir);
  osiris_register_driver(ctx, &drv_gen, NULL);
  osiris_register_driver(ctx, &drv_sum, NULL);
  return ctx;
}

/* gen -> sum, compiled by hand; gen_cfg/sum_cfg are the cfg bodies. */
static void write_pair(const char *dir, const char *gen_cfg, const char *sum_cfg) {
  char *g = os_asprintf("{\"component\":\"test.gen\",%s}", gen_cfg);
  char *s = os_asprintf("{\"component\":\"test.sum\",\"path\":\"sum.txt\"%s%s}",
                        *sum_cfg ? "," : "", sum_cfg);
  spit(dir, "compiled/manifest.yaml",
       "pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n"
       "- id: gen\n  driver: test.gen\n  cfg_path: cfg/gen.json\n  needs: []\n"
       "- id: sum\n  driver: test.sum\n  cfg_path: cfg/sum.json\n  needs: [gen]\n");
  spit(dir, "compiled/cfg/gen.json", g);
  spit(dir, "compiled/cfg/sum.json", s);
  os_free(g);
  os_free(s);
}

/* Position of the first line holding both needles in text, or -1. */
static long find_event(const char *text, const char *event, const char *step) {
  char a[128], b[128];
  const char *p = text;
  snprintf(a, sizeof a, "\"event\":\"%s\"", event);
  snprintf(b, sizeof b, "\"step_id\":\"%s\"", step);
  while (p && *p) {
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *line = os_strndup(p, n);
    int hit = line && strstr(line, a) && strstr(line, b);
    os_free(line);
    if (hit) return (long)(p - text);
    p = end ? end + 1 : NULL;
  }
  return -1;
}

typedef struct pair_result {
  osiris_rc rc;
  char sum[200];       /* sum.txt, "" when absent */
  char *events;        /* owned */
  char *status;        /* owned */
  char failed[64];
  char error[OS_ERR_CAP];
} pair_result;

static void run_pair(const char *name, const char *gen_cfg, const char *sum_cfg, pair_result *r) {
  char dir[300];
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  char *text;
  memset(r, 0, sizeof *r);
  snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
  write_pair(dir, gen_cfg, sum_cfg);
  ctx = new_ctx(dir);
  r->rc = osiris_run_pipeline(ctx, "compiled/manifest.yaml", NULL, &run);
  text = slurp(dir, "sum.txt");
  snprintf(r->sum, sizeof r->sum, "%s", text ? text : "");
  os_free(text);
  if (run) {
    r->events = slurp(osiris_run_dir(run), "events.jsonl");
    r->status = slurp(osiris_run_dir(run), "status.json");
    snprintf(r->failed, sizeof r->failed, "%s",
             osiris_run_failed_step(run) ? osiris_run_failed_step(run) : "");
    snprintf(r->error, sizeof r->error, "%s", osiris_run_error(run));
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

static void pair_free(pair_result *r) {
  os_free(r->events);
  os_free(r->status);
}

static void test_streamed_pair(void) {
  pair_result r;
  long long n = 200000;
  char want[200];
  int64_t batches = 0;
  const char *p;
  run_pair("basic", "\"rows\":200000", "", &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  p = strstr(r.sum, "batches=");
  if (p) batches = strtoll(p + 8, NULL, 10);
  CHECK(batches >= 3); /* 200000 rows in batches of at most 65536 */
  snprintf(want, sizeof want, "rows=%lld sum=%lld streamed=1 bad=0", n, n * (n - 1) / 2);
  CHECK(strstr(r.sum, want) != NULL);
  if (!strstr(r.sum, want)) fprintf(stderr, "  got %s\n", r.sum);
  CHECK(r.events && strstr(r.events, "\"event\":\"inputs_resolved\",\"step_id\":\"sum\","
                                     "\"from_step\":\"gen\",\"key\":\"df_gen\",\"source\":\"stream\""));
  CHECK(r.events && strstr(r.events, "\"event\":\"rows_out\",\"step_id\":\"gen\",\"rows\":200000,"
                                     "\"streamed\":true"));
  /* The consumer starts before the producer completes; completion events
   * come producer first. */
  if (r.events) {
    long start_sum = find_event(r.events, "step_start", "sum");
    long done_gen = find_event(r.events, "step_complete", "gen");
    long done_sum = find_event(r.events, "step_complete", "sum");
    CHECK(start_sum >= 0 && done_gen > start_sum);
    CHECK(done_sum > done_gen);
    CHECK(!strstr(r.events, "\"artifact_type\":\"parquet\"")); /* a stream is never spilled */
  }
  CHECK(r.events && strstr(r.events, "\"event\":\"stream_complete\",\"step_id\":\"sum\","
                                     "\"from_step\":\"gen\",\"key\":\"df_gen\",\"rows\":200000,"));
  CHECK(r.status && strstr(r.status, "\"ok\": true"));
  pair_free(&r);
}

static void test_small_is_sequential(void) {
  pair_result r;
  run_pair("small", "\"rows\":1000", "", &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(strstr(r.sum, "batches=1 rows=1000 sum=499500 streamed=0 bad=0") != NULL);
  if (r.events) {
    long done_gen = find_event(r.events, "step_complete", "gen");
    long start_sum = find_event(r.events, "step_start", "sum");
    CHECK(done_gen >= 0 && start_sum > done_gen);
    CHECK(strstr(r.events, "\"source\":\"memory\"") != NULL);
  }
  pair_free(&r);
}

static void test_switches_turn_it_off(void) {
  pair_result r;
  setenv("OSIRIS_STREAM", "0", 1);
  run_pair("off", "\"rows\":200000", "", &r);
  unsetenv("OSIRIS_STREAM");
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(strstr(r.sum, "batches=1 rows=200000 sum=19999900000 streamed=0 bad=0") != NULL);
  /* and the default threshold spills the whole frame, as before */
  CHECK(r.events && strstr(r.events, "\"artifact_type\":\"parquet\""));
  pair_free(&r);

  setenv("OSIRIS_FORCE_SPILL", "1", 1);
  run_pair("forced", "\"rows\":70000", "", &r);
  unsetenv("OSIRIS_FORCE_SPILL");
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(strstr(r.sum, "batches=1 rows=70000 sum=2449965000 streamed=0 bad=0") != NULL);
  CHECK(r.events && strstr(r.events, "\"source\":\"spill\""));
  pair_free(&r);
}

static void test_gather(void) {
  pair_result r;
  run_pair("gather", "\"rows\":150000", "\"gather\":true", &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(strstr(r.sum, "batches=1 rows=150000 sum=11249925000 streamed=1 bad=0") != NULL);
  if (!strstr(r.sum, "bad=0")) fprintf(stderr, "  got %s\n", r.sum);
  pair_free(&r);
}

static void test_consumer_fails(void) {
  pair_result r;
  run_pair("sinkfail", "\"rows\":400000", "\"fail_batch\":2", &r);
  CHECK_RC(r.rc, OSIRIS_ESQL);
  CHECK_STR(r.failed, "sum");
  CHECK(strstr(r.error, "sink refused batch 2") != NULL);
  CHECK_STR(r.sum, "");
  CHECK(r.events && find_event(r.events, "step_failed", "sum") >= 0);
  CHECK(r.events && strstr(r.events, "stopped because step sum failed"));
  /* the cause ends first: a host mirroring events takes the first failure */
  CHECK(r.events && find_event(r.events, "step_failed", "sum") <
                        find_event(r.events, "step_failed", "gen"));
  CHECK(r.events && !strstr(r.events, "step_skipped"));
  CHECK(r.status && strstr(r.status, "\"step_id\": \"sum\""));
  pair_free(&r);
}

/* The consumer fails while the producer may already be done (its last
 * frame never taken): whichever, nothing leaks and the cause is the sink. */
static void test_consumer_fails_late(void) {
  pair_result r;
  run_pair("sinklate", "\"rows\":200000", "\"fail_batch\":2", &r);
  CHECK_RC(r.rc, OSIRIS_ESQL);
  CHECK_STR(r.failed, "sum");
  CHECK(r.events && (find_event(r.events, "step_complete", "gen") >= 0 ||
                     strstr(r.events, "stopped because step sum failed")));
  pair_free(&r);
}

static void test_producer_fails(void) {
  pair_result r;
  run_pair("srcfail", "\"rows\":400000,\"fail_at\":150000", "", &r);
  CHECK_RC(r.rc, OSIRIS_ESQL);
  CHECK_STR(r.failed, "gen");
  CHECK(strstr(r.error, "source broke at row 150000") != NULL);
  CHECK_STR(r.sum, "");
  CHECK(r.events && find_event(r.events, "step_failed", "sum") >= 0);
  CHECK(r.events && strstr(r.events, "stopped because step gen failed"));
  pair_free(&r);

  /* before the first batch: the consumer never starts, as without streaming */
  run_pair("earlyfail", "\"rows\":400000,\"fail_at\":10", "", &r);
  CHECK_RC(r.rc, OSIRIS_ESQL);
  CHECK_STR(r.failed, "gen");
  CHECK(r.events && find_event(r.events, "step_skipped", "sum") >= 0);
  CHECK(r.events && find_event(r.events, "step_start", "sum") < 0);
  pair_free(&r);
}

/* The worker streams the same pair and answers both exec_step commands. */
static void test_worker_streams(void) {
  char dir[300], *out, *outpath, *cmdpath;
  osiris_ctx *ctx;
  int fd;
  snprintf(dir, sizeof dir, "%s/worker", tmp_root);
  write_pair(dir, "\"rows\":200000", "");
  {
    os_err err = {0};
    char *cd = os_path_join(dir, "cfg");
    os_mkdir_p(cd, &err);
    os_free(cd);
  }
  spit(dir, "cfg/gen.json", "{\"component\":\"test.gen\",\"rows\":200000}");
  spit(dir, "cfg/sum.json", "{\"component\":\"test.sum\",\"path\":\"sum.txt\"}");
  spit(dir, "commands.jsonl",
       "{\"cmd\":\"prepare\",\"session_id\":\"s1\",\"manifest\":\"compiled/manifest.yaml\"}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"gen\"}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"sum\"}\n"
       "{\"cmd\":\"cleanup\"}\n");
  outpath = os_path_join(dir, "out.jsonl");
  cmdpath = os_path_join(dir, "commands.jsonl");
  fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ctx = new_ctx(dir);
  CHECK_RC(osiris_worker_run(ctx, cmdpath, dir, fd), OSIRIS_OK);
  close(fd);
  out = slurp(dir, "out.jsonl");
  CHECK(out && strstr(out, "\"cmd\":\"exec_step\",\"ok\":true,\"step_id\":\"gen\",\"rows_processed\":200000"));
  CHECK(out && strstr(out, "\"cmd\":\"exec_step\",\"ok\":true,\"step_id\":\"sum\",\"rows_processed\":200000"));
  CHECK(out && strstr(out, "\"source\":\"stream\""));
  {
    /* both threads' lines, in the order out_fd got them */
    char *copy = slurp(dir, "worker.out");
    CHECK(out && copy && strcmp(out, copy) == 0);
    os_free(copy);
  }
  os_free(out);
  out = slurp(dir, "sum.txt");
  CHECK(out && strstr(out, "rows=200000 sum=19999900000 streamed=1 bad=0"));
  os_free(out);
  os_free(outpath);
  os_free(cmdpath);
  osiris_ctx_free(ctx);
}

/* fr_take_rows leaves the columns and moves the rows; fr_concat joins
 * batches back with text offsets and validity bits intact. */
static void test_frame_moves(void) {
  osiris_frame *f = osiris_frame_new(), *a, *b;
  int i;
  size_t len;
  osiris_frame_add_column(f, "i", OSIRIS_TYPE_INT64, 0);
  osiris_frame_add_column(f, "t", OSIRIS_TYPE_STRING, 0);
  osiris_frame_add_column(f, "d", OSIRIS_TYPE_DATE, 0);
  for (i = 0; i < 10; i++) {
    osiris_frame_append_int64(f, 0, i);
    osiris_frame_append_text(f, 1, "abc", (size_t)(i % 4));
    osiris_frame_append_date(f, 2, i);
    osiris_frame_end_row(f);
  }
  a = fr_take_rows(f);
  CHECK(a && osiris_frame_rows(a) == 10 && osiris_frame_cols(a) == 3);
  CHECK(osiris_frame_rows(f) == 0 && osiris_frame_cols(f) == 3);
  CHECK_STR(osiris_frame_col_name(f, 1), "t");
  for (i = 0; i < 5; i++) {
    osiris_frame_append_int64(f, 0, 100 + i);
    if (i == 2)
      osiris_frame_append_null(f, 1);
    else
      osiris_frame_append_text(f, 1, "xyz", 3);
    osiris_frame_append_null(f, 2);
    osiris_frame_end_row(f);
  }
  /* a half-built row cannot be taken */
  osiris_frame_append_int64(f, 0, 999);
  CHECK(fr_take_rows(f) == NULL);
  fr_col_truncate(&f->cols[0], f->rows);
  b = fr_take_rows(f);
  CHECK(b && osiris_frame_rows(b) == 5);
  CHECK(a && b && fr_concat(a, b) == OSIRIS_OK);
  if (a) {
    CHECK(osiris_frame_rows(a) == 15);
    CHECK(osiris_frame_get_int64(a, 0, 12) == 102);
    CHECK(osiris_frame_is_null(a, 1, 12));
    CHECK(!osiris_frame_is_null(a, 1, 11));
    CHECK(!osiris_frame_is_null(a, 1, 3) && osiris_frame_get_text(a, 1, 3, &len) && len == 3);
    CHECK(osiris_frame_get_text(a, 1, 13, &len) && len == 3 &&
          memcmp(osiris_frame_get_text(a, 1, 13, &len), "xyz", 3) == 0);
    CHECK(osiris_frame_get_text(a, 1, 2, &len) && len == 2);
    CHECK(!osiris_frame_is_null(a, 2, 9) && osiris_frame_get_date(a, 2, 9) == 9);
    CHECK(osiris_frame_is_null(a, 2, 10) && osiris_frame_is_null(a, 2, 14));
  }
  /* different shapes do not join */
  {
    osiris_frame *g = osiris_frame_new();
    osiris_frame_add_column(g, "i", OSIRIS_TYPE_DOUBLE, 0);
    CHECK(a && fr_concat(a, g) == OSIRIS_EINVAL);
    osiris_frame_free(g);
  }
  osiris_frame_free(a);
  osiris_frame_free(b);
  osiris_frame_free(f);
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris-test-stream-%ld", (long)getpid());
  unsetenv("OSIRIS_STREAM");
  unsetenv("OSIRIS_FORCE_SPILL");
  unsetenv("E2B_FORCE_SPILL");
  unsetenv("OSIRIS_SPILL_THRESHOLD");
  unsetenv("E2B_SPILL_THRESHOLD");
  RUN(test_frame_moves);
  RUN(test_streamed_pair);
  RUN(test_small_is_sequential);
  RUN(test_switches_turn_it_off);
  RUN(test_gather);
  RUN(test_consumer_fails);
  RUN(test_consumer_fails_late);
  RUN(test_producer_fails);
  RUN(test_worker_streams);
  {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp_root);
  }
  return th_report();
}
