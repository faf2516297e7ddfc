/* Unit tests of the scheduler (section 14, "Parallel branches"): steps that
 * must be inside their driver at the same time to succeed (a gate), run
 * with --jobs 2 and 1; a failure beside a running step; the memory rule
 * that runs one unit at a time while kept frames are over the spill
 * threshold; frames released; the worker path.  Overlap is proven by the
 * gate, never by time: a gate step waits (bounded only to end a broken
 * run) until `need` gate steps are inside at once.  Also built under
 * ThreadSanitizer (make tests/bin/tsan/test_jobs). */
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

/* ---- the gate: who is inside a gate step's driver right now ---- */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_inside[2], gate_max[2]; /* per group */

static void gate_reset(void) {
  pthread_mutex_lock(&gate_mu);
  memset(gate_inside, 0, sizeof gate_inside);
  memset(gate_max, 0, sizeof gate_max);
  pthread_mutex_unlock(&gate_mu);
}

static int gate_most(int group) {
  int n;
  pthread_mutex_lock(&gate_mu);
  n = gate_max[group];
  pthread_mutex_unlock(&gate_mu);
  return n;
}

/* config: group (0 or 1: gates count per group), need (gate steps of its
 * group inside at once before leaving, default 1),
 * rows (of its output frame, default 3), fail (1: fail once inside),
 * wait_failure (1: stay until the run has recorded a failure). */
static osiris_rc gate_run(osiris_step *s) {
  const osiris_json *cfg = osiris_step_config(s);
  int64_t need = osiris_json_int(osiris_json_get(cfg, "need"), 1);
  int64_t rows = osiris_json_int(osiris_json_get(cfg, "rows"), 3), i;
  int fail = osiris_json_bool(osiris_json_get(cfg, "fail"), 0);
  int wait_failure = osiris_json_bool(osiris_json_get(cfg, "wait_failure"), 0);
  int g = osiris_json_int(osiris_json_get(cfg, "group"), 0) == 1;
  double until = os_now_ms() + 20000.0; /* only ends a broken run */
  int met;
  osiris_frame *f;
  pthread_mutex_lock(&gate_mu);
  gate_inside[g]++;
  if (gate_inside[g] > gate_max[g]) gate_max[g] = gate_inside[g];
  pthread_cond_broadcast(&gate_cv);
  while (gate_max[g] < need && os_now_ms() < until) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&gate_cv, &gate_mu, &ts);
  }
  met = gate_max[g] >= need;
  pthread_mutex_unlock(&gate_mu);
  while (wait_failure && !rn_run_rc(s->run) && os_now_ms() < until) {
    struct timespec nap = {0, 2 * 1000000L};
    nanosleep(&nap, NULL);
  }
  pthread_mutex_lock(&gate_mu);
  gate_inside[g]--;
  pthread_mutex_unlock(&gate_mu);
  if (!met) return osiris_step_fail(s, OSIRIS_EDRIVER, "only %d of %lld gate steps came in", gate_max[g],
                                    (long long)need);
  if (fail) return osiris_step_fail(s, OSIRIS_ESQL, "gate %s failed on purpose", osiris_step_id(s));
  f = osiris_frame_new();
  osiris_frame_add_column(f, "n", OSIRIS_TYPE_INT64, 0);
  for (i = 0; i < rows; i++) {
    osiris_frame_append_int64(f, 0, i);
    osiris_frame_end_row(f);
  }
  osiris_step_set_output(s, f);
  return OSIRIS_OK;
}

static const osiris_config_key gate_keys[] = {
    {"need", NULL, 0, "need", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"rows", NULL, 0, "rows", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"fail", NULL, 0, "fail", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"wait_failure", NULL, 0, "wait", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {"group", NULL, 0, "group", OSIRIS_KT_ANY, NULL, 0, 0, NULL},
    {NULL, NULL, 0, NULL, OSIRIS_KT_ANY, NULL, 0, 0, NULL}};
static const osiris_driver drv_gate = {"test.gate", "filesystem", "extract transform", "g",
                                       gate_keys, gate_run, NULL, OSIRIS_DRIVER_CONN_OPTIONAL};

/* One step of a hand-compiled manifest: id, needs ("a, b" or ""), cfg body. */
typedef struct step_def {
  const char *id, *needs, *cfg;
} step_def;

static void write_manifest(const char *dir, const step_def *steps, size_t n) {
  os_buf m = {0};
  size_t i;
  ob_puts(&m, "pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n");
  for (i = 0; i < n; i++) {
    char *line = os_asprintf("- id: %s\n  driver: test.gate\n  cfg_path: cfg/%s.json\n  needs: [%s]\n",
                             steps[i].id, steps[i].id, steps[i].needs);
    char *rel = os_asprintf("compiled/cfg/%s.json", steps[i].id);
    char *cfg = os_asprintf("{\"component\":\"test.gate\"%s%s}", *steps[i].cfg ? "," : "", steps[i].cfg);
    ob_puts(&m, line);
    spit(dir, rel, cfg);
    os_free(line);
    os_free(rel);
    os_free(cfg);
  }
  ob_putc(&m, 0);
  spit(dir, "compiled/manifest.yaml", m.p);
  ob_free(&m);
}

typedef struct run_result {
  osiris_rc rc;
  char *events, *status, *card; /* owned */
  osiris_json *card_json;       /* owned */
  char failed[64];
} run_result;

static void run_steps(const char *name, const step_def *steps, size_t n, int jobs, run_result *r) {
  char dir[300];
  osiris_ctx *ctx;
  osiris_run *run = NULL;
  osiris_run_opts o;
  memset(r, 0, sizeof *r);
  memset(&o, 0, sizeof o);
  o.jobs = jobs;
  snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
  write_manifest(dir, steps, n);
  ctx = osiris_ctx_new(dir);
  osiris_register_driver(ctx, &drv_gate, NULL);
  gate_reset();
  r->rc = osiris_run_pipeline(ctx, "compiled/manifest.yaml", &o, &run);
  if (run) {
    size_t i;
    r->events = slurp(osiris_run_dir(run), "events.jsonl");
    r->status = slurp(osiris_run_dir(run), "status.json");
    r->card = slurp(osiris_run_dir(run), "run_card.json");
    if (r->card) osiris_json_parse(r->card, strlen(r->card), &r->card_json, NULL, 0);
    snprintf(r->failed, sizeof r->failed, "%s",
             osiris_run_failed_step(run) ? osiris_run_failed_step(run) : "");
    /* a run that succeeded released every frame once its consumers ended */
    for (i = 0; !r->rc && run->st && i < run->mf->n_steps; i++) CHECK(run->st[i].frame == NULL);
  }
  osiris_run_free(run);
  osiris_ctx_free(ctx);
}

static void result_free(run_result *r) {
  os_free(r->events);
  os_free(r->status);
  os_free(r->card);
  osiris_json_free(r->card_json);
}

/* The status of step id in run_card.json, "" when absent. */
static const char *card_status(const run_result *r, const char *id) {
  const osiris_json *steps = osiris_json_get(r->card_json, "steps");
  size_t i;
  for (i = 0; i < osiris_json_size(steps); i++)
    if (os_streq(js_gets(osiris_json_at(steps, i), "step_id"), id))
      return js_gets(osiris_json_at(steps, i), "status");
  return "";
}

static int64_t card_parallel(const run_result *r, const char *key) {
  return osiris_json_int(osiris_json_get(osiris_json_get(r->card_json, "parallel"), key), -1);
}

/* "a+b" pairs of the card's overlaps, space-separated. */
static void card_overlaps(const run_result *r, char *out, size_t cap) {
  const osiris_json *ov = osiris_json_get(osiris_json_get(r->card_json, "parallel"), "overlaps");
  size_t i, len = 0;
  out[0] = 0;
  for (i = 0; i < osiris_json_size(ov) && len < cap; i++) {
    const osiris_json *p = osiris_json_at(ov, i);
    len += (size_t)snprintf(out + len, cap - len, "%s%s+%s", i ? " " : "",
                            osiris_json_str(osiris_json_at(p, 0)), osiris_json_str(osiris_json_at(p, 1)));
  }
}

/* Each step's own event names in order, "id:ev,ev;id:..." in manifest order. */
static void per_step(const char *events, const step_def *steps, size_t n, os_buf *out) {
  size_t i;
  for (i = 0; i < n; i++) {
    const char *p = events;
    char want[128];
    snprintf(want, sizeof want, "\"step_id\":\"%s\"", steps[i].id);
    ob_puts(out, steps[i].id);
    ob_putc(out, ':');
    while (p && *p) {
      const char *end = strchr(p, '\n'), *ev;
      size_t len = end ? (size_t)(end - p) : strlen(p);
      char *line = os_strndup(p, len);
      if (line && strstr(line, want) && (ev = strstr(line, "\"event\":\"")) != NULL) {
        const char *q = ev + 9, *e = strchr(q, '"');
        if (e) ob_put(out, q, (size_t)(e - q)), ob_putc(out, ',');
      }
      os_free(line);
      p = end ? end + 1 : NULL;
    }
    ob_putc(out, ';');
  }
  ob_putc(out, 0);
}

/* Two independent gate steps that each need the other inside: only a run
 * that has both in their drivers at once succeeds. */
static void test_two_at_once(void) {
  static const step_def steps[] = {{"a", "", "\"need\":2"}, {"b", "", "\"need\":2"},
                                   {"c", "a, b", "\"rows\":1"}};
  run_result r;
  char ov[256];
  run_steps("two", steps, 3, 2, &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK_STR(card_status(&r, "a"), "success");
  CHECK_STR(card_status(&r, "b"), "success");
  CHECK_STR(card_status(&r, "c"), "success");
  CHECK(card_parallel(&r, "jobs") == 2);
  CHECK(card_parallel(&r, "max_concurrent") == 2);
  card_overlaps(&r, ov, sizeof ov);
  CHECK_STR(ov, "a+b");
  result_free(&r);
}

/* --jobs 1: one after another, in the calling thread; the same steps with
 * need 1 succeed, each step's events are those of --jobs 2. */
static void test_serial_same_events(void) {
  static const step_def steps[] = {{"a", "", ""}, {"b", "", ""}, {"c", "a, b", "\"rows\":1"},
                                   {"d", "a", ""}};
  run_result r1, r2;
  os_buf e1 = {0}, e2 = {0};
  char ov[256];
  run_steps("serial1", steps, 4, 1, &r1);
  run_steps("serial2", steps, 4, 2, &r2);
  CHECK_RC(r1.rc, OSIRIS_OK);
  CHECK_RC(r2.rc, OSIRIS_OK);
  CHECK(card_parallel(&r1, "jobs") == 1);
  CHECK(card_parallel(&r1, "max_concurrent") == 1);
  card_overlaps(&r1, ov, sizeof ov);
  CHECK_STR(ov, "");
  per_step(r1.events ? r1.events : "", steps, 4, &e1);
  per_step(r2.events ? r2.events : "", steps, 4, &e2);
  CHECK_STR(e1.p, e2.p);
  CHECK(e1.p && strstr(e1.p, "c:cfg_materialized,step_start,artifacts_dir_created,") != NULL);
  ob_free(&e1);
  ob_free(&e2);
  result_free(&r1);
  result_free(&r2);
}

/* b fails while a runs: a stays until the failure is recorded, then
 * finishes and is reported as succeeded; nothing new starts (c after a,
 * d independent but queued behind the two running) and both are skipped;
 * the run's failure is b's. */
static void test_failure_beside_running(void) {
  static const step_def steps[] = {{"a", "", "\"wait_failure\":true"},
                                   {"b", "", "\"fail\":true"},
                                   {"c", "a", ""},
                                   {"d", "", ""}};
  run_result r;
  run_steps("failure", steps, 4, 2, &r);
  CHECK_RC(r.rc, OSIRIS_ESQL);
  CHECK_STR(r.failed, "b");
  CHECK_STR(card_status(&r, "a"), "success");
  CHECK_STR(card_status(&r, "b"), "failed");
  CHECK_STR(card_status(&r, "c"), "skipped");
  CHECK_STR(card_status(&r, "d"), "skipped");
  CHECK(r.events && strstr(r.events, "\"event\":\"step_complete\",\"step_id\":\"a\"") != NULL);
  CHECK(r.events && strstr(r.events, "\"event\":\"step_skipped\",\"step_id\":\"d\",\"reason\":\"step b failed\"") != NULL);
  CHECK(r.events && !strstr(r.events, "\"event\":\"step_start\",\"step_id\":\"d\""));
  CHECK(r.status && strstr(r.status, "\"reason\": \"execution_failed\"") != NULL);
  result_free(&r);
}

/* Memory: p1 and p2 keep 3 rows each for z; with the threshold at 5 rows
 * the kept frames (6) are over it, so x and y, independent, run one at a
 * time although --jobs is 4 (no frame is over 5 rows: nothing spills).
 * With a threshold of 100 the same x and y must be inside at once. */
static void test_memory_runs_one_at_a_time(void) {
  static const step_def apart[] = {{"p1", "", ""}, {"p2", "", ""},
                                   {"x", "p1, p2", "\"group\":1"}, {"y", "p1, p2", "\"group\":1"},
                                   {"z", "p1, p2, x, y", "\"rows\":1"}};
  static const step_def together[] = {{"p1", "", ""}, {"p2", "", ""},
                                      {"x", "p1, p2", "\"group\":1,\"need\":2"},
                                      {"y", "p1, p2", "\"group\":1,\"need\":2"},
                                      {"z", "p1, p2, x, y", "\"rows\":1"}};
  run_result r;
  setenv("OSIRIS_SPILL_THRESHOLD", "5", 1);
  run_steps("memory", apart, 5, 4, &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(gate_most(1) == 1);
  CHECK(r.events && !strstr(r.events, "\"artifact_type\":\"parquet\""));
  result_free(&r);
  setenv("OSIRIS_SPILL_THRESHOLD", "100", 1);
  run_steps("memory_ok", together, 5, 4, &r);
  CHECK_RC(r.rc, OSIRIS_OK);
  CHECK(gate_most(1) == 2);
  result_free(&r);
  unsetenv("OSIRIS_SPILL_THRESHOLD");
}

/* The worker runs every step on the first exec_step when prepare says
 * jobs 2, and answers each exec_step from the step's state. */
static void test_worker_jobs(void) {
  static const step_def steps[] = {{"a", "", "\"need\":2"}, {"b", "", "\"need\":2"},
                                   {"c", "a, b", "\"rows\":1"}};
  char dir[300], *out_path, *out;
  osiris_ctx *ctx;
  int fd;
  osiris_rc rc;
  snprintf(dir, sizeof dir, "%s/worker", tmp_root);
  write_manifest(dir, steps, 3);
  spit(dir, "commands.jsonl",
       "{\"cmd\":\"prepare\",\"session_id\":\"s1\",\"manifest\":\"manifest.yaml\",\"jobs\":2}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"a\"}\n{\"cmd\":\"exec_step\",\"step_id\":\"b\"}\n"
       "{\"cmd\":\"exec_step\",\"step_id\":\"c\"}\n{\"cmd\":\"cleanup\"}\n");
  out_path = os_path_join(dir, "out.jsonl");
  fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ctx = osiris_ctx_new(dir);
  osiris_register_driver(ctx, &drv_gate, NULL);
  gate_reset();
  {
    char *cmds = os_path_join(dir, "commands.jsonl"), *sess = os_path_join(dir, "compiled");
    rc = osiris_worker_run(ctx, cmds, sess, fd);
    os_free(cmds);
    os_free(sess);
  }
  close(fd);
  CHECK_RC(rc, OSIRIS_OK);
  CHECK(gate_most(0) == 2);
  out = slurp(dir, "out.jsonl");
  CHECK(out && strstr(out, "\"cmd\":\"prepare\",\"ok\":true") && strstr(out, "\"jobs\":2"));
  CHECK(out && strstr(out, "\"cmd\":\"exec_step\",\"ok\":true,\"step_id\":\"c\"") != NULL);
  if (out && !strstr(out, "\"cmd\":\"exec_step\",\"ok\":true,\"step_id\":\"c\"")) fprintf(stderr, "%s\n", out);
  os_free(out);
  os_free(out_path);
  osiris_ctx_free(ctx);
}

static void test_jobs_value(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK(rn_jobs(1) == 1);
  CHECK(rn_jobs(3) == 3);
  CHECK(rn_jobs(1000) == RN_MAX_JOBS);
  CHECK(rn_jobs(0) == (cores < 1 ? 1 : cores > RN_MAX_JOBS ? RN_MAX_JOBS : (int)cores));
}

int main(void) {
  snprintf(tmp_root, sizeof tmp_root, "/tmp/osiris_test_jobs_%d", (int)getpid());
  RUN(test_jobs_value);
  RUN(test_two_at_once);
  RUN(test_serial_same_events);
  RUN(test_failure_beside_running);
  RUN(test_memory_runs_one_at_a_time);
  RUN(test_worker_jobs);
  rm_rmtree(tmp_root);
  return th_report();
}
