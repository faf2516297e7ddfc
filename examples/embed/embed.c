/*
 * embed.c -- osiris inside another program.
 *
 * Includes only osiris.h and is compiled together with osiris.c and
 * drivers.c:
 *
 *   cc -I. -o embed examples/embed/embed.c osiris.c drivers.c -lsqlite3 -lm
 *   ./embed [PIPELINE.yaml] [LOGS_DIR]
 *
 * It runs a pipeline through the public API and reads the outcome back
 * through the API too: the run handle and the status.json it wrote.  The
 * last line says "N passed, N failed" so the test suite can run it.
 *
 * Like most programs it takes the user's locale (setlocale(LC_ALL, "")):
 * osiris reads and writes numbers with '.' whatever that locale is
 * (tests/e2e/locale.sh runs it under a comma-decimal locale).
 */
#include "osiris.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    fprintf(stderr, "FAIL: %s\n", what);
  }
}

int main(int argc, char **argv) {
  const char *pipeline = argc > 1 ? argv[1] : "examples/movies/pipeline.yaml";
  const char *logs = argc > 2 ? argv[2] : "tests/bin/embed-logs";
  osiris_ctx *ctx = osiris_ctx_new(NULL); /* NULL: relative paths from the CWD */
  osiris_run_opts opts;
  osiris_run *run = NULL;
  osiris_rc rc;

  setlocale(LC_ALL, "");
  if (!ctx || osiris_register_builtin_drivers(ctx) != OSIRIS_OK) {
    fprintf(stderr, "cannot create a context\n");
    return 1;
  }
  memset(&opts, 0, sizeof opts);
  opts.logs_dir = logs;
  rc = osiris_run_pipeline(ctx, pipeline, &opts, &run);
  check(rc == OSIRIS_OK, "osiris_run_pipeline returns OSIRIS_OK");
  check(run != NULL, "a run handle is returned");
  if (run) {
    const osiris_json *status = osiris_run_status(run);
    int64_t done = osiris_json_int(osiris_json_get(status, "steps_completed"), -1);
    int64_t total = osiris_json_int(osiris_json_get(status, "steps_total"), -2);
    check(osiris_run_ok(run), "osiris_run_ok");
    check(osiris_json_bool(osiris_json_get(status, "ok"), 0), "status.json says ok");
    check(done == total && total > 0, "every step completed");
    check(osiris_run_failed_step(run) == NULL, "no failed step");
    printf("run %s: %s, %lld/%lld steps, logs in %s\n", osiris_run_session_id(run),
           osiris_run_ok(run) ? "ok" : osiris_run_error(run), (long long)done, (long long)total,
           osiris_run_dir(run));
    osiris_run_free(run);
  } else {
    fprintf(stderr, "error: %s\n", osiris_ctx_error(ctx));
  }
  osiris_ctx_free(ctx);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
