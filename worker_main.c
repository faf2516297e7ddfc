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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* sigaction under -std=c11 */
#endif
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
  struct sigaction sa;
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
  /* Without SA_RESTART (signal() sets it): a step blocked in an open or a
   * read (a FIFO nobody writes) gets EINTR and ends interrupted when the
   * host stops the worker, instead of waiting for the host's SIGKILL. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = worker_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  rc = osiris_worker_run(ctx, argv[1], session_dir, STDOUT_FILENO);
  if (rc != OSIRIS_OK && osiris_ctx_error(ctx)[0])
    fprintf(stderr, "osiris-worker: %s\n", osiris_ctx_error(ctx));
  worker_ctx = NULL;
  osiris_ctx_free(ctx);
  return rc == OSIRIS_OK ? 0 : rc == OSIRIS_EUSAGE ? 2 : 1;
}
