/*
 * worker_main.c -- main() of osiris-worker, the process that runs a
 * pipeline inside a sandbox.
 *
 *   osiris-worker COMMANDS.jsonl [SESSION_DIR]
 *
 * Reads one command a line (ping, prepare, exec_step, cleanup), runs the
 * steps with the same runner as a local run, and writes one JSON object a
 * line to stdout: events, metrics, logs and a response per command.  The
 * session directory (default: the current directory) receives cfg/,
 * artifacts/, status.json, run_card.json and worker.out, a copy of
 * everything written to stdout.  Secret values come only from
 * the environment.  Exit status: 0 when every command succeeded, 1 when a
 * step failed, 2 for usage errors.
 */
#include "osiris.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static osiris_ctx *worker_ctx; /* for the signal handler only */

static void worker_on_signal(int sig) {
  (void)sig;
  if (worker_ctx) osiris_ctx_cancel(worker_ctx);
}

int main(int argc, char **argv) {
  osiris_ctx *ctx;
  osiris_rc rc;
  const char *session_dir = argc > 2 ? argv[2] : ".";
  if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fprintf(argc < 2 || argc > 3 ? stderr : stdout,
            "usage: osiris-worker COMMANDS.jsonl [SESSION_DIR]\n"
            "Runs the commands (ping, prepare, exec_step, cleanup) and writes JSON lines to stdout.\n");
    return argc < 2 || argc > 3 ? 2 : 0;
  }
  ctx = osiris_ctx_new(session_dir);
  if (!ctx || osiris_register_builtin_drivers(ctx) != OSIRIS_OK) {
    fprintf(stderr, "osiris-worker: cannot initialize\n");
    osiris_ctx_free(ctx);
    return 1;
  }
  worker_ctx = ctx;
  signal(SIGINT, worker_on_signal);
  signal(SIGTERM, worker_on_signal);
  rc = osiris_worker_run(ctx, argv[1], session_dir, STDOUT_FILENO);
  if (rc != OSIRIS_OK && osiris_ctx_error(ctx)[0])
    fprintf(stderr, "osiris-worker: %s\n", osiris_ctx_error(ctx));
  worker_ctx = NULL;
  osiris_ctx_free(ctx);
  return rc == OSIRIS_OK ? 0 : rc == OSIRIS_EUSAGE ? 2 : 1;
}
