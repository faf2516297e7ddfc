/* tests/test_alloc.c -- every allocation may fail.
 *
 * Built with -DOSIRIS_FAULT_INJECTION (and ASan/UBSan with LeakSanitizer
 * by `make test`): for N = 0, 1, 2, ... the Nth allocation fails, over
 * each of
 *   - compiling the example pipeline,
 *   - reading a CSV file,
 *   - writing and reading a Parquet file,
 *   - a local run of a CSV -> SQL -> CSV + Parquet pipeline,
 *   - a worker executing the commands of two steps (a CSV extractor, a
 *     Parquet extractor with columns and limit);
 *   - `run --resume` of a failed resumable run (CSV extractor -> CSV
 *     writer that failed): the find, the checks, the reused output linked
 *     and read back by the writer that runs again;
 *   - a local run of the example (examples/movies: CSV -> duckdb.processor
 *     -> CSV), failing only the allocations of its DuckDB step (a whole
 *     run per N costs a DuckDB open; the rest is the local run's above);
 * each must end with OSIRIS_ENOMEM (or a cleanly failed run whose
 * status.json exists, when the failure came after the session was open),
 * never a crash or a leak, and the loop must reach an N past the last
 * allocation, where the operation succeeds.  The count covers the engine
 * and the built-in drivers alike: drivers.c allocates only through the
 * osiris_malloc family (memory a client library hands out, e.g. SQLite's,
 * is that library's and is not counted). */
#include "../osiris.c"
#include "../drivers.c"
#include "harness.h"

#ifndef OSIRIS_FAULT_INJECTION
#error "tests/test_alloc.c needs -DOSIRIS_FAULT_INJECTION"
#endif

#define TA_MAX_N 200000L /* no operation here allocates anywhere near this often */

static char ta_dir[256];

static void ta_write(const char *rel, const char *text) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", ta_dir, rel);
  f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* Run op with the Nth allocation failing, for every N until op gets
 * through with the countdown unspent.  op returns OSIRIS_OK or the
 * failure code; ok_failure says whether a code other than ENOMEM is
 * acceptable for that N (a run that failed cleanly). */
typedef osiris_rc (*ta_op)(long n, int *clean);

/* TA_ONLY="what" runs only the loop of operation `what`. */
static int ta_skip(const char *what) {
  const char *only = getenv("TA_ONLY");
  return only && *only && strcmp(only, what) != 0;
}

/* TA_ONE="what:N" runs only allocation N of operation `what` (to debug
 * one failure, e.g. under gdb). */
static void ta_every_n(const char *what, ta_op op) {
  long n;
  int bad = 0;
  const char *one = getenv("TA_ONE");
  if (ta_skip(what)) return;
  if (one) {
    const char *colon = strrchr(one, ':');
    int clean = 0;
    osiris_rc rc;
    if (!colon || strncmp(one, what, (size_t)(colon - one)) != 0 || what[colon - one]) return;
    os_fault_countdown = strtol(colon + 1, NULL, 10);
    rc = op(os_fault_countdown, &clean);
    fprintf(stderr, "%s: allocation %s failed -> %s%s\n", what, colon + 1, osiris_rc_name(rc),
            clean ? " (clean)" : "");
    os_fault_countdown = -1;
    return;
  }
  for (n = 0; n < TA_MAX_N; n++) {
    int clean = 0;
    osiris_rc rc;
    os_fault_countdown = n;
    rc = op(n, &clean);
    if (rc == OSIRIS_OK && os_fault_countdown >= 0) break; /* got through */
    if (rc != OSIRIS_OK && rc != OSIRIS_ENOMEM && !clean && bad++ < 10)
      fprintf(stderr, "%s: allocation %ld failed -> %s, not ENOMEM nor a clean failure\n", what, n,
              osiris_rc_name(rc));
    if (rc == OSIRIS_OK && os_fault_countdown < 0 && bad++ < 10)
      fprintf(stderr, "%s: allocation %ld failed but the operation reported success\n", what, n);
  }
  os_fault_countdown = -1;
  CHECK(n < TA_MAX_N);
  CHECK(bad == 0);
  if (n < TA_MAX_N) fprintf(stderr, "  %s: %ld allocations, each failed once\n", what, n);
}

/* Each N starts from the same, empty logs directory; the clean-up itself
 * is not under test. */
static void ta_clean_logs(void) {
  char logs[600];
  long saved = os_fault_countdown;
  snprintf(logs, sizeof logs, "%s/logs", ta_dir);
  os_fault_countdown = -1;
  rm_rmtree(logs);
  os_fault_countdown = saved;
}

/* ------------------------------------------------------------ operations */

static osiris_rc op_compile(long n, int *clean) {
  osiris_ctx *ctx = osiris_ctx_new(ta_dir);
  osiris_json *result = NULL;
  osiris_compile_opts o;
  osiris_rc rc;
  (void)n;
  (void)clean;
  if (!ctx) return OSIRIS_ENOMEM;
  rc = osiris_register_builtin_drivers(ctx);
  memset(&o, 0, sizeof o);
  if (!rc) rc = osiris_compile(ctx, "pipeline.yaml", &o, &result);
  osiris_json_free(result);
  osiris_ctx_free(ctx);
  ta_clean_logs();
  return rc;
}

static osiris_rc op_csv_read(long n, int *clean) {
  char path[512], err[256];
  osiris_frame *f = NULL;
  osiris_rc rc;
  (void)n;
  (void)clean;
  snprintf(path, sizeof path, "%s/data/values.csv", ta_dir);
  rc = osiris_csv_read(path, NULL, &f, err, sizeof err);
  osiris_frame_free(f);
  return rc;
}

static osiris_rc op_parquet(long n, int *clean) {
  char src[512], dst[512], err[256];
  osiris_frame *f = NULL, *back = NULL;
  osiris_rc rc;
  (void)n;
  (void)clean;
  snprintf(src, sizeof src, "%s/data/values.csv", ta_dir);
  snprintf(dst, sizeof dst, "%s/out/values.parquet", ta_dir);
  /* The frame is read with the countdown parked, so only the Parquet
   * code's allocations are counted. */
  {
    long saved = os_fault_countdown;
    os_fault_countdown = -1;
    rc = osiris_csv_read(src, NULL, &f, err, sizeof err);
    os_fault_countdown = saved;
  }
  if (!rc) rc = osiris_parquet_write(dst, f, NULL, err, sizeof err);
  if (!rc) rc = osiris_parquet_read(dst, &back, err, sizeof err);
  if (!rc && osiris_frame_rows(back) != osiris_frame_rows(f)) rc = OSIRIS_EIO;
  osiris_frame_free(f);
  osiris_frame_free(back);
  return rc;
}

static int ta_has_status(const char *run_dir) {
  char path[600];
  struct stat st;
  snprintf(path, sizeof path, "%s/status.json", run_dir);
  return stat(path, &st) == 0;
}

/* A local run of pipeline (in ta_dir); log, when set, sees its log lines. */
static osiris_rc ta_run(const char *pipeline, osiris_log_fn log, int *clean) {
  osiris_ctx *ctx = osiris_ctx_new(ta_dir);
  osiris_run *run = NULL;
  osiris_run_opts o;
  osiris_rc rc;
  if (!ctx) return OSIRIS_ENOMEM;
  if (log) osiris_ctx_set_log(ctx, log, NULL);
  rc = osiris_register_builtin_drivers(ctx);
  memset(&o, 0, sizeof o);
  o.logs_dir = "logs";
  o.jobs = 1; /* the Nth allocation is the same one in every run only when steps run in turn */
  if (!rc) rc = osiris_run_pipeline(ctx, pipeline, &o, &run);
  /* A failure after the session opened: the run says so in status.json. */
  if (rc && run) *clean = ta_has_status(osiris_run_dir(run)) && !osiris_run_ok(run);
  osiris_run_free(run);
  osiris_ctx_free(ctx);
  ta_clean_logs();
  return rc;
}

static osiris_rc op_local_run(long n, int *clean) {
  (void)n;
  return ta_run("pipeline.yaml", NULL, clean);
}

/* The example (examples/movies: CSV -> duckdb.processor -> CSV).  A whole
 * run per N costs a DuckDB open, so only the allocations from the DuckDB
 * step's start to its end are failed (ta_window); the rest of a run is the
 * local run's above.  ta_log marks where the step starts and ends. */
static long ta_mark_start = -1, ta_mark_end = -1;

static void ta_log(void *user, int level, const char *line) {
  (void)user;
  (void)level;
  if (strstr(line, "step movies-by-decade started")) ta_mark_start = os_fault_countdown;
  if (strstr(line, "step movies-by-decade completed")) ta_mark_end = os_fault_countdown;
}

static osiris_rc op_example(long n, int *clean) {
  (void)n;
  return ta_run("example.yaml", ta_log, clean);
}

/* Fail allocation N of op for every N in [from, to]. */
static void ta_window(const char *what, ta_op op, long from, long to) {
  long n;
  int bad = 0;
  const char *one = getenv("TA_ONE");
  size_t wl = strlen(what);
  if (one && strncmp(one, what, wl) == 0 && one[wl] == ':') from = to = strtol(one + wl + 1, NULL, 10);
  for (n = from; n <= to; n++) {
    int clean = 0;
    osiris_rc rc;
    os_fault_countdown = n;
    rc = op(n, &clean);
    if (rc != OSIRIS_ENOMEM && !clean && bad++ < 20)
      fprintf(stderr, "%s: allocation %ld failed -> %s, not ENOMEM nor a clean failure\n", what, n,
              osiris_rc_name(rc));
  }
  os_fault_countdown = -1;
  CHECK(bad == 0);
  fprintf(stderr, "  %s: allocations %ld to %ld, each failed once\n", what, from, to);
}

static osiris_rc op_worker(long n, int *clean) {
  osiris_ctx *ctx = osiris_ctx_new(ta_dir);
  char session[600], cmds[700];
  int fd;
  osiris_rc rc;
  (void)clean;
  if (!ctx) return OSIRIS_ENOMEM;
  snprintf(session, sizeof session, "%s/worker", ta_dir);
  snprintf(cmds, sizeof cmds, "%s/commands.jsonl", session);
  fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  rc = osiris_register_builtin_drivers(ctx);
  if (!rc) rc = osiris_worker_run(ctx, cmds, session, fd);
  close(fd);
  osiris_ctx_free(ctx);
  (void)n;
  /* The worker answers every command; a failed allocation inside a step
   * is that step's failure (EIO, EDRIVER...), reported on its stdout. */
  if (rc && rc != OSIRIS_ENOMEM) *clean = 1;
  return rc;
}

/* The fixture itself: without faults the worker must run the step. */
/* --resume: ta_resume_id is a failed resumable run under rlogs/ (made in
 * main); each N resumes it with that run's own manifest, then removes
 * the new run directory. */
static char ta_resume_id[80];

static void ta_clean_resumes(void) {
  char logs[600], keep[200];
  long saved = os_fault_countdown;
  DIR *d;
  struct dirent *e;
  os_fault_countdown = -1;
  snprintf(logs, sizeof logs, "%s/rlogs", ta_dir);
  snprintf(keep, sizeof keep, "run_%s", ta_resume_id);
  d = opendir(logs);
  while (d && (e = readdir(d)) != NULL) {
    char path[900];
    if (strncmp(e->d_name, "run_", 4) != 0 || strcmp(e->d_name, keep) == 0) continue;
    snprintf(path, sizeof path, "%s/%s", logs, e->d_name);
    rm_rmtree(path);
  }
  if (d) closedir(d);
  os_fault_countdown = saved;
}

static osiris_rc op_resume(long n, int *clean) {
  osiris_ctx *ctx = osiris_ctx_new(ta_dir);
  osiris_run *run = NULL;
  osiris_run_opts o;
  osiris_rc rc;
  (void)n;
  if (!ctx) return OSIRIS_ENOMEM;
  rc = osiris_register_builtin_drivers(ctx);
  memset(&o, 0, sizeof o);
  o.logs_dir = "rlogs";
  o.resume_from = ta_resume_id;
  if (!rc) rc = osiris_run_pipeline(ctx, NULL, &o, &run);
  if (rc && run) *clean = ta_has_status(osiris_run_dir(run)) && !osiris_run_ok(run);
  osiris_run_free(run);
  osiris_ctx_free(ctx);
  ta_clean_resumes();
  return rc;
}

static int ta_worker_ok(void) {
  char path[600], *text = NULL;
  size_t len = 0;
  int ok;
  snprintf(path, sizeof path, "%s/worker/worker.out", ta_dir);
  if (os_read_file(path, &text, &len, NULL)) return 0;
  {
    const char *first = strstr(text, "\"cmd\":\"exec_step\",\"ok\":true");
    ok = first && strstr(first + 1, "\"cmd\":\"exec_step\",\"ok\":true") != NULL;
  }
  os_free(text);
  return ok;
}

/* The example pipeline and its data, copied from the repository (the test
 * runs from its root), then the DuckDB step's window. */
static void ta_example(void) {
  static const char *const files[][2] = {
      {"examples/movies/pipeline.yaml", "example.yaml"},
      {"examples/movies/data/movies.csv", "examples/movies/data/movies.csv"}};
  const long big = LONG_MAX / 2;
  char path[600];
  size_t i;
  int clean = 0;
  if (ta_skip("example")) return;
  snprintf(path, sizeof path, "%s/examples/movies/data", ta_dir);
  CHECK_RC(os_mkdir_p(path, NULL), OSIRIS_OK);
  for (i = 0; i < 2; i++) {
    char *text = NULL;
    size_t len = 0;
    CHECK_RC(os_read_file(files[i][0], &text, &len, NULL), OSIRIS_OK);
    if (text) ta_write(files[i][1], text);
    os_free(text);
  }
  os_fault_countdown = big;
  CHECK_RC(op_example(-1, &clean), OSIRIS_OK);
  os_fault_countdown = -1;
  CHECK(ta_mark_start > ta_mark_end && ta_mark_end > 0);
  if (ta_mark_start > ta_mark_end && ta_mark_end > 0)
    ta_window("example", op_example, big - ta_mark_start,
              big - ta_mark_end - 1);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  char path[600];
  snprintf(ta_dir, sizeof ta_dir, "%s/osiris-test-alloc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(ta_dir)) return 1;
  setenv("OSIRIS_STREAM", "0", 1); /* one thread: the countdown is not atomic */
  snprintf(path, sizeof path, "%s/data", ta_dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/out", ta_dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/worker", ta_dir);
  mkdir(path, 0755);
  ta_write("data/values.csv", "id,name,score,day\n1,ada,1.5,2024-01-02\n2,\"b, c\",,2024-02-03\n"
                              "3,émile,-3.25,2024-03-04\n");
  ta_write("pipeline.yaml",
           "oml_version: \"0.1.0\"\nname: alloc\nparams:\n  min: {default: 0}\nsteps:\n"
           "  - id: read\n    component: filesystem.csv_extractor\n    mode: read\n"
           "    config: {path: data/values.csv}\n"
           "  - id: calc\n    component: sql.processor\n    mode: transform\n    needs: [read]\n"
           "    config: {query: \"SELECT id, name, score * 2 AS s FROM df WHERE id > ${params.min}\"}\n"
           "  - id: write\n    component: filesystem.csv_writer\n    mode: write\n    needs: [calc]\n"
           "    config: {path: out/result.csv}\n"
           "  - id: save\n    component: filesystem.parquet_writer\n    mode: write\n    needs: [calc]\n"
           "    config: {path: out/result.parquet}\n");
  /* The worker's package: a manifest with one step, its cfg, commands. */
  ta_write("worker/manifest.yaml",
           "meta:\n  oml_version: 0.1.0\n  profile: default\n"
           "pipeline:\n  id: alloc-worker\n  version: 0.1.0\nname: alloc-worker\nsteps:\n"
           "  - id: read\n    driver: filesystem.csv_extractor\n    cfg_path: cfg/read.json\n    needs: []\n"
           "  - id: readpq\n    driver: filesystem.parquet_extractor\n    cfg_path: cfg/readpq.json\n"
           "    needs: []\n");
  snprintf(path, sizeof path, "%s/worker/cfg", ta_dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/worker/data", ta_dir);
  mkdir(path, 0755);
  ta_write("worker/cfg/read.json", "{\"component\":\"filesystem.csv_extractor\",\"path\":\"data/values.csv\"}\n");
  ta_write("worker/data/values.csv", "id,x\n1,2.5\n2,3\n");
  ta_write("worker/cfg/readpq.json", "{\"component\":\"filesystem.parquet_extractor\","
                                     "\"path\":\"data/values.parquet\",\"columns\":[\"x\",\"id\"],\"limit\":1}\n");
  {
    char csv[600], pq[600], err[256];
    osiris_frame *f = NULL;
    snprintf(csv, sizeof csv, "%s/worker/data/values.csv", ta_dir);
    snprintf(pq, sizeof pq, "%s/data/values.parquet", ta_dir); /* paths resolve in the project */
    CHECK_RC(osiris_csv_read(csv, NULL, &f, err, sizeof err), OSIRIS_OK);
    CHECK_RC(osiris_parquet_write(pq, f, NULL, err, sizeof err), OSIRIS_OK);
    osiris_frame_free(f);
  }
  ta_write("worker/commands.jsonl",
           "{\"cmd\":\"ping\"}\n{\"cmd\":\"prepare\",\"session_id\":\"s1\",\"manifest\":\"manifest.yaml\"}\n"
           "{\"cmd\":\"exec_step\",\"step_id\":\"read\",\"driver\":\"filesystem.csv_extractor\","
           "\"cfg_path\":\"cfg/read.json\",\"inputs\":{}}\n"
           "{\"cmd\":\"exec_step\",\"step_id\":\"readpq\",\"driver\":\"filesystem.parquet_extractor\","
           "\"cfg_path\":\"cfg/readpq.json\",\"inputs\":{}}\n{\"cmd\":\"cleanup\"}\n");

  /* Each operation succeeds without faults first: the loops below then
   * test failure paths, not a broken fixture. */
  CHECK_RC(op_compile(-1, NULL), OSIRIS_OK);
  CHECK_RC(op_csv_read(-1, NULL), OSIRIS_OK);
  CHECK_RC(op_parquet(-1, NULL), OSIRIS_OK);
  {
    int clean = 0;
    osiris_frame *saved = NULL;
    char err[256];
    CHECK_RC(op_local_run(-1, &clean), OSIRIS_OK);
    snprintf(path, sizeof path, "%s/out/result.parquet", ta_dir);
    CHECK_RC(osiris_parquet_read(path, &saved, err, sizeof err), OSIRIS_OK);
    CHECK(osiris_frame_rows(saved) == 3 && osiris_frame_cols(saved) == 3);
    osiris_frame_free(saved);
    CHECK_RC(op_worker(-1, &clean), OSIRIS_OK);
    CHECK(ta_worker_ok());
  }
  ta_every_n("compile", op_compile);
  ta_every_n("csv read", op_csv_read);
  ta_every_n("parquet write+read", op_parquet);
  ta_every_n("local run", op_local_run);
  ta_every_n("worker exec", op_worker);
  {
    /* the run to resume: its writer fails (a file where its directory goes) */
    osiris_ctx *ctx = osiris_ctx_new(ta_dir);
    osiris_run *run = NULL;
    osiris_run_opts o;
    int clean = 0;
    ta_write("rblocked", "");
    ta_write("resume.yaml",
             "oml_version: \"0.1.0\"\nname: resume\nsteps:\n"
             "  - id: read\n    component: filesystem.csv_extractor\n    mode: read\n"
             "    config: {path: data/values.csv}\n"
             "  - id: write\n    component: filesystem.csv_writer\n    mode: write\n    needs: [read]\n"
             "    config: {path: rblocked/result.csv}\n");
    memset(&o, 0, sizeof o);
    o.logs_dir = "rlogs";
    o.resumable = 1;
    CHECK(ctx && osiris_register_builtin_drivers(ctx) == OSIRIS_OK);
    CHECK(ctx && osiris_run_pipeline(ctx, "resume.yaml", &o, &run) != OSIRIS_OK);
    CHECK(run != NULL);
    if (run) snprintf(ta_resume_id, sizeof ta_resume_id, "%s", osiris_run_session_id(run));
    osiris_run_free(run);
    osiris_ctx_free(ctx);
    snprintf(path, sizeof path, "%s/rblocked", ta_dir);
    unlink(path);
    CHECK_RC(op_resume(-1, &clean), OSIRIS_OK);
    snprintf(path, sizeof path, "%s/rblocked/result.csv", ta_dir);
    CHECK(access(path, F_OK) == 0);
  }
  ta_every_n("resume", op_resume);
  ta_example();
  rm_rmtree(ta_dir);
  return th_report();
}
