/* ======================================================================
 * 18. CLI (compiled with -DOSIRIS_CLI_MAIN)
 *
 * The only place that prints and chooses exit codes: 0 success, 1 the run
 * failed, 2 usage, validation or compile error.  Results go to stdout,
 * diagnostics to stderr; --json puts one JSON document on stdout.  The
 * CLI uses the public API only, except for listing run directories.
 * ====================================================================== */

static osiris_ctx *cli_ctx; /* for the SIGINT handler only */

static void cli_on_sigint(int sig) {
  (void)sig;
  if (cli_ctx) osiris_ctx_cancel(cli_ctx);
}

static void cli_print_json(const osiris_json *v) {
  char *s = osiris_json_dump(v, OSIRIS_JSON_PRETTY, NULL);
  if (s) printf("%s\n", s);
  osiris_free(s);
}

static int cli_progress_shown; /* a progress line is on the terminal */

static void cli_verbose_log(void *user, int level, const char *line) {
  (void)user;
  (void)level;
  if (cli_progress_shown) fputs("\r\033[K", stderr);
  cli_progress_shown = 0;
  fprintf(stderr, "%s\n", line);
}

/* --verbose on a terminal: one line that rewrites itself. */
static void cli_progress(void *user, const char *step_id, int64_t rows, double elapsed_ms) {
  (void)user;
  fprintf(stderr, "\r\033[K  %s: %" PRId64 " rows, %.0f rows/s", step_id, rows,
          elapsed_ms > 0 ? (double)rows * 1000.0 / elapsed_ms : 0.0);
  cli_progress_shown = 1;
}

typedef struct cli_args {
  const char *positional[4];
  size_t n_positional;
  const char *params[64];
  size_t n_params;
  const char *profile, *out, *logs_dir, *sandbox, *e2b_template;
  int json, verbose, last_compile, last, help, e2b, install_deps, timeout_s;
} cli_args;

/* Parse the flags every command shares; unknown flags are usage errors. */
static int cli_parse(int argc, char **argv, cli_args *a, const char *allowed) {
  int i;
  memset(a, 0, sizeof *a);
  for (i = 0; i < argc; i++) {
    const char *s = argv[i];
    const char *val = NULL;
    char flag[64];
    const char *eq = strchr(s, '=');
    if (s[0] != '-' || s[1] == 0) {
      if (a->n_positional == 4) {
        fprintf(stderr, "osiris: too many arguments\n");
        return 2;
      }
      a->positional[a->n_positional++] = s;
      continue;
    }
    if (os_streq(s, "-h") || os_streq(s, "--help")) {
      a->help = 1;
      continue;
    }
    if (os_startswith(s, "--") && eq) {
      snprintf(flag, sizeof flag, "%.*s", (int)(eq - s), s);
      val = eq + 1;
    } else {
      snprintf(flag, sizeof flag, "%s", s);
    }
    {
      char probe[80];
      snprintf(probe, sizeof probe, " %s ", flag);
      if (!strstr(allowed, probe)) {
        fprintf(stderr, "osiris: unknown option %s (see --help)\n", flag);
        return 2;
      }
    }
    if (os_streq(flag, "--json")) a->json = 1;
    else if (os_streq(flag, "--verbose") || os_streq(flag, "-v")) a->verbose = 1;
    else if (os_streq(flag, "--last-compile")) a->last_compile = 1;
    else if (os_streq(flag, "--last")) a->last = 1;
    else if (os_streq(flag, "--e2b")) a->e2b = 1;
    else if (os_streq(flag, "--e2b-install-deps")) a->install_deps = 1;
    else {
      if (!val) {
        if (i + 1 >= argc) {
          fprintf(stderr, "osiris: %s needs a value\n", flag);
          return 2;
        }
        val = argv[++i];
      }
      if (os_streq(flag, "--param") || os_streq(flag, "-p")) {
        if (!strchr(val, '=')) {
          fprintf(stderr, "osiris: --param wants key=value, got '%s'\n", val);
          return 2;
        }
        if (a->n_params == 63) {
          fprintf(stderr, "osiris: too many --param options\n");
          return 2;
        }
        a->params[a->n_params++] = val;
      } else if (os_streq(flag, "--profile")) a->profile = val;
      else if (os_streq(flag, "--out")) a->out = val;
      else if (os_streq(flag, "--logs-dir")) a->logs_dir = val;
      else if (os_streq(flag, "--sandbox")) a->sandbox = val;
      else if (os_streq(flag, "--e2b-template")) a->e2b_template = val;
      else if (os_streq(flag, "--timeout")) {
        char *end;
        long t = strtol(val, &end, 10);
        if (*end || t <= 0 || t > 86400) {
          fprintf(stderr, "osiris: --timeout wants seconds (1..86400), got '%s'\n", val);
          return 2;
        }
        a->timeout_s = (int)t;
      }
    }
  }
  return 0;
}

static const char cli_usage[] =
    "osiris " OSIRIS_VERSION " -- compile and run data pipelines\n"
    "\n"
    "Usage: osiris <command> [options]\n"
    "\n"
    "Commands:\n"
    "  compile PIPELINE.yaml      compile OML into manifest.yaml + cfg/*.json\n"
    "  validate PIPELINE.yaml     check a pipeline and list every error\n"
    "  run PIPELINE|MANIFEST      run a pipeline (OML is compiled first)\n"
    "  run --last-compile         run the newest compiled manifest\n"
    "  components list|show NAME  the built-in components and their config keys\n"
    "  connections list           connections from osiris_connections.yaml (masked)\n"
    "  connections doctor [@f.a]  connect and run a trivial query per connection\n"
    "  logs list                  the runs under the logs directory\n"
    "  logs show [--last|ID]      a summary of one run\n"
    "  runs diff RUN_A RUN_B      compare two run directories (parity check)\n"
    "  version                    print the version\n"
    "\n"
    "Run 'osiris <command> --help' for the options of a command.\n"
    "Exit codes: 0 success, 1 the run failed, 2 usage, validation or compile error.\n";

static int cli_help(const char *cmd) {
  if (os_streq(cmd, "compile"))
    printf("Usage: osiris compile PIPELINE.yaml [options]\n\n"
           "Validate PIPELINE.yaml and write manifest.yaml and cfg/<step>.json to\n"
           "<logs-dir>/compile_<id>/compiled/ (or --out DIR).  Secrets never reach\n"
           "the compiled files; an inline secret is an error.\n\n"
           "Options:\n"
           "  --param KEY=VALUE   set a pipeline parameter (repeatable; highest precedence)\n"
           "  --profile NAME      use the parameters of profiles.NAME\n"
           "  --out DIR           write the compiled files to DIR\n"
           "  --logs-dir DIR      where compile_<id>/ goes (default: logs)\n"
           "  --json              print the result as JSON\n\n"
           "Parameter precedence: defaults < OSIRIS_PARAM_<NAME> env < profile < --param.\n");
  else if (os_streq(cmd, "validate"))
    printf("Usage: osiris validate PIPELINE.yaml [--json]\n\n"
           "Check the pipeline and list every error at once with its location\n"
           "(steps[1].config.query) and file:line:col.  Exit 0 when valid, 2 otherwise.\n\n"
           "Options:\n"
           "  --json              print {valid, errors, warnings} as JSON\n");
  else if (os_streq(cmd, "run"))
    printf("Usage: osiris run PIPELINE.yaml|MANIFEST.yaml [options]\n"
           "       osiris run --last-compile [options]\n\n"
           "Run a pipeline (in-process by default).  OML is compiled first; a compiled\n"
           "manifest runs as is.  The run writes logs/run_<session_id>/ with events.jsonl,\n"
           "metrics.jsonl, osiris.log, status.json, run_card.json, manifest.yaml, cfg/ and\n"
           "artifacts/.\n\n"
           "Options:\n"
           "  --last-compile      run the newest manifest compiled under the logs dir\n"
           "  --param KEY=VALUE   set a pipeline parameter (OML input; repeatable)\n"
           "  --profile NAME      use the parameters of profiles.NAME (OML input)\n"
           "  --verbose, -v       write debug.log and show log lines on stderr\n"
           "  --logs-dir DIR      where run_<id>/ goes (default: logs)\n"
           "  --json              print the outcome as JSON\n\n"
           "Remote execution (same events, metrics, artifacts and outputs as a local run):\n"
           "  --sandbox local     run in osiris-worker in a fresh scratch directory with a\n"
           "                      clean environment (subprocess transport)\n"
           "  --e2b               run in an E2B sandbox (needs E2B_API_KEY; E2B_API_URL,\n"
           "                      E2B_SANDBOX_URL and E2B_DOMAIN override the endpoints)\n"
           "  --e2b-template T    sandbox template (default: base)\n"
           "  --timeout S         sandbox time to live in seconds (default: 900; extended\n"
           "                      while the run lasts)\n"
           "  --e2b-install-deps  accepted; the static worker needs nothing installed\n\n"
           "Exit codes: 0 success, 1 a step failed, 2 the pipeline did not compile.\n");
  else if (os_streq(cmd, "components"))
    printf("Usage: osiris components list [--json]\n"
           "       osiris components show NAME [--json]\n\n"
           "List the built-in components (drivers), or show one with its config keys,\n"
           "defaults and which keys are required or secret.\n");
  else if (os_streq(cmd, "connections"))
    printf("Usage: osiris connections list [--json]\n"
           "       osiris connections doctor [@family.alias] [--json]\n\n"
           "list: the connections of osiris_connections.yaml (looked up in $OSIRIS_HOME,\n"
           "the current directory, then its parent) with secret values masked.\n"
           "doctor: connect to each connection (or the one named) and run a trivial\n"
           "query; reports ok, latency and the error with secrets masked.  Exit 0 when\n"
           "every check passed, 1 otherwise.\n");
  else if (os_streq(cmd, "runs"))
    printf("Usage: osiris runs diff RUN_A RUN_B [--json]\n\n"
           "Compare two run directories: events per step and in order, metrics with\n"
           "their tags and row counts, artifacts (sha256), status.json, run_card.json\n"
           "and output files.  Times, durations, session ids and the adapter are\n"
           "ignored; events only a transport emits are listed apart.\n"
           "Exit 0 when equivalent, 1 with the list of differences otherwise.\n");
  else if (os_streq(cmd, "logs"))
    printf("Usage: osiris logs list [--logs-dir DIR] [--json]\n"
           "       osiris logs show [--last | SESSION_ID] [--logs-dir DIR] [--json]\n\n"
           "List the runs under the logs directory, or summarize one run: its steps,\n"
           "rows, durations, status and error.\n");
  else
    fputs(cli_usage, stdout);
  return 0;
}

static void cli_print_report_errors(const osiris_json *report, const char *file) {
  const osiris_json *errs = osiris_json_get(report, "errors");
  size_t i;
  for (i = 0; i < osiris_json_size(errs); i++) {
    const osiris_json *e = osiris_json_at(errs, i);
    const char *loc = osiris_json_str(osiris_json_get(e, "location"));
    int64_t line = osiris_json_int(osiris_json_get(e, "line"), 0);
    int64_t col = osiris_json_int(osiris_json_get(e, "col"), 0);
    const char *msg = osiris_json_str(osiris_json_get(e, "message"));
    if (line > 0)
      fprintf(stderr, "%s:%" PRId64 ":%" PRId64 ": ", file, line, col);
    else
      fprintf(stderr, "%s: ", file);
    if (loc && *loc) fprintf(stderr, "%s: ", loc);
    fprintf(stderr, "%s\n", msg ? msg : "error");
  }
}

static int cli_validate(osiris_ctx *ctx, cli_args *a) {
  osiris_json *report = NULL;
  osiris_rc rc;
  if (a->n_positional != 1) {
    fprintf(stderr, "osiris validate: expected one PIPELINE.yaml (see --help)\n");
    return 2;
  }
  rc = osiris_validate(ctx, a->positional[0], &report);
  if (a->json && report) {
    cli_print_json(report);
  } else if (rc == OSIRIS_OK) {
    printf("%s is valid\n", a->positional[0]);
  } else if (report && osiris_json_size(osiris_json_get(report, "errors")) > 0) {
    cli_print_report_errors(report, a->positional[0]);
  } else {
    fprintf(stderr, "%s\n", osiris_ctx_error(ctx));
  }
  osiris_json_free(report);
  return rc == OSIRIS_OK ? 0 : 2;
}

static int cli_compile(osiris_ctx *ctx, cli_args *a) {
  osiris_compile_opts o;
  osiris_json *result = NULL;
  osiris_rc rc;
  if (a->n_positional != 1) {
    fprintf(stderr, "osiris compile: expected one PIPELINE.yaml (see --help)\n");
    return 2;
  }
  memset(&o, 0, sizeof o);
  a->params[a->n_params] = NULL;
  o.profile = a->profile;
  o.params = a->params;
  o.out_dir = a->out;
  o.logs_dir = a->logs_dir;
  rc = osiris_compile(ctx, a->positional[0], &o, &result);
  if (a->json) {
    if (result) {
      cli_print_json(result);
    } else {
      osiris_json *e = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(e, "status", "error");
      js_set_str(e, "message", osiris_ctx_error(ctx));
      cli_print_json(e);
      osiris_json_free(e);
    }
  } else if (rc == OSIRIS_OK) {
    printf("compiled %s -> %s (manifest %s)\n", a->positional[0],
           osiris_json_str(osiris_json_get(result, "manifest_path")),
           osiris_json_str(osiris_json_get(result, "manifest_short")));
  } else if (result && osiris_json_size(osiris_json_get(result, "errors")) > 0) {
    cli_print_report_errors(result, a->positional[0]);
  } else {
    fprintf(stderr, "%s\n", osiris_ctx_error(ctx));
  }
  osiris_json_free(result);
  if (rc == OSIRIS_OK) return 0;
  return rc == OSIRIS_ENOMEM || rc == OSIRIS_EIO ? 1 : 2;
}

/* A path under the base directory is shown relative to it. */
static const char *cli_display_path(const osiris_ctx *ctx, const char *path) {
  size_t n = strlen(ctx->base_dir);
  if (strncmp(path, ctx->base_dir, n) == 0 && path[n] == '/') return path + n + 1;
  return path;
}

static int cli_run(osiris_ctx *ctx, cli_args *a) {
  osiris_run_opts o;
  osiris_run *run = NULL;
  osiris_rc rc;
  char *last = NULL;
  const char *path;
  const osiris_json *status;
  int code;
  if (a->last_compile == (a->n_positional == 1) || a->n_positional > 1) {
    fprintf(stderr, "osiris run: give one PIPELINE.yaml or MANIFEST.yaml, or --last-compile\n");
    return 2;
  }
  if (a->last_compile) {
    last = osiris_last_compile(ctx, a->logs_dir);
    if (!last) {
      fprintf(stderr, "osiris run: no compiled manifest found under %s; run 'osiris compile' first\n",
              a->logs_dir ? a->logs_dir : "logs");
      return 2;
    }
    path = last;
  } else {
    path = a->positional[0];
  }
  memset(&o, 0, sizeof o);
  a->params[a->n_params] = NULL;
  o.profile = a->profile;
  o.params = a->params;
  o.logs_dir = a->logs_dir;
  o.verbose = a->verbose;
  if (a->sandbox && !os_streq(a->sandbox, "local")) {
    fprintf(stderr, "osiris run: --sandbox supports 'local' (use --e2b for E2B), got '%s'\n", a->sandbox);
    os_free(last);
    return 2;
  }
  if (a->sandbox && a->e2b) {
    fprintf(stderr, "osiris run: choose one of --sandbox local and --e2b\n");
    os_free(last);
    return 2;
  }
  o.adapter = a->e2b ? "e2b" : a->sandbox ? "sandbox" : NULL;
  o.e2b_template = a->e2b_template;
  o.timeout_s = a->timeout_s;
  {
    const char *env_deps = getenv("OSIRIS_E2B_INSTALL_DEPS");
    o.install_deps = a->install_deps || (env_deps && os_streq(env_deps, "1"));
  }
  if (a->verbose) osiris_ctx_set_log(ctx, cli_verbose_log, NULL);
  if (a->verbose && isatty(STDERR_FILENO)) osiris_ctx_set_progress(ctx, cli_progress, NULL);
  rc = osiris_run_pipeline(ctx, path, &o, &run);
  if (cli_progress_shown) fputs("\r\033[K", stderr);
  os_free(last);
  if (!run) {
    /* Nothing ran: the pipeline did not load or compile. */
    if (a->json) {
      osiris_json *e = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(e, "status", "error");
      js_set_str(e, "phase", "compile");
      js_set_str(e, "message", osiris_ctx_error(ctx));
      js_set_int(e, "exit_code", 2);
      cli_print_json(e);
      osiris_json_free(e);
    } else {
      fprintf(stderr, "osiris run: %s\n", osiris_ctx_error(ctx));
    }
    return rc == OSIRIS_ENOMEM ? 1 : 2;
  }
  status = osiris_run_status(run);
  code = rc == OSIRIS_OK ? 0 : 1;
  if (a->json) {
    osiris_json *j = osiris_json_new(OSIRIS_JSON_OBJECT);
    js_set_str(j, "status", rc == OSIRIS_OK ? "success" : "error");
    js_set_str(j, "session_id", osiris_run_session_id(run));
    js_set_str(j, "session_dir", osiris_run_dir(run));
    osiris_json_set(j, "steps_completed", osiris_json_copy(osiris_json_get(status, "steps_completed")));
    osiris_json_set(j, "steps_total", osiris_json_copy(osiris_json_get(status, "steps_total")));
    osiris_json_set(j, "duration_ms", osiris_json_copy(osiris_json_get(status, "duration_ms")));
    if (rc == OSIRIS_OK) {
      osiris_json_set(j, "error", osiris_json_new(OSIRIS_JSON_NULL));
      osiris_json_set(j, "failed_step", osiris_json_new(OSIRIS_JSON_NULL));
    } else {
      js_set_str(j, "error", osiris_run_error(run));
      if (osiris_run_failed_step(run))
        js_set_str(j, "failed_step", osiris_run_failed_step(run));
      else
        osiris_json_set(j, "failed_step", osiris_json_new(OSIRIS_JSON_NULL));
    }
    js_set_int(j, "exit_code", code);
    cli_print_json(j);
    osiris_json_free(j);
  } else if (rc == OSIRIS_OK) {
    printf("\xe2\x9c\x93 run %s succeeded: %" PRId64 "/%" PRId64 " steps, %" PRId64
           " rows written, %" PRId64 " ms\n",
           osiris_run_session_id(run),
           osiris_json_int(osiris_json_get(status, "steps_completed"), 0),
           osiris_json_int(osiris_json_get(status, "steps_total"), 0),
           osiris_json_int(osiris_json_get(status, "total_rows"), 0),
           osiris_json_int(osiris_json_get(status, "duration_ms"), 0));
    printf("  logs: %s/\n", cli_display_path(ctx, osiris_run_dir(run)));
  } else {
    const char *step = osiris_run_failed_step(run), *msg = osiris_run_error(run);
    char prefix[300];
    /* The message names its step already for status.json; say it once. */
    snprintf(prefix, sizeof prefix, "step %s: ", step ? step : "");
    if (step && os_startswith(msg, prefix)) msg += strlen(prefix);
    if (step)
      fprintf(stderr, "\xe2\x9c\x97 run %s failed at step %s: %s\n", osiris_run_session_id(run), step, msg);
    else
      fprintf(stderr, "\xe2\x9c\x97 run %s failed: %s\n", osiris_run_session_id(run), msg);
    fprintf(stderr, "  logs: %s/\n", cli_display_path(ctx, osiris_run_dir(run)));
  }
  osiris_run_free(run);
  return code;
}

static int cli_runs(osiris_ctx *ctx, cli_args *a) {
  osiris_json *report = NULL;
  const osiris_json *diffs, *transport;
  size_t i;
  osiris_rc rc;
  if (a->n_positional != 3 || !os_streq(a->positional[0], "diff")) {
    fprintf(stderr, "osiris runs: expected 'diff RUN_A RUN_B' (see --help)\n");
    return 2;
  }
  rc = osiris_runs_diff(ctx, a->positional[1], a->positional[2], &report);
  if (rc) {
    fprintf(stderr, "osiris runs diff: %s\n", osiris_ctx_error(ctx));
    return 2;
  }
  diffs = osiris_json_get(report, "differences");
  transport = osiris_json_get(report, "transport_only");
  if (a->json) {
    cli_print_json(report);
  } else {
    for (i = 0; i < osiris_json_size(diffs); i++) printf("- %s\n", osiris_json_str(osiris_json_at(diffs, i)));
    if (osiris_json_size(transport)) {
      printf("transport-only (not differences):\n");
      for (i = 0; i < osiris_json_size(transport); i++)
        printf("  %s\n", osiris_json_str(osiris_json_at(transport, i)));
    }
    printf(osiris_json_size(diffs) ? "%zu difference(s)\n" : "equivalent\n", osiris_json_size(diffs));
  }
  rc = osiris_json_size(diffs) ? OSIRIS_EDRIVER : OSIRIS_OK;
  osiris_json_free(report);
  return rc ? 1 : 0;
}

static int cli_components(osiris_ctx *ctx, cli_args *a) {
  const char *sub = a->n_positional ? a->positional[0] : "list";
  size_t i;
  if (os_streq(sub, "list")) {
    osiris_json *arr = osiris_json_new(OSIRIS_JSON_ARRAY);
    for (i = 0; i < osiris_driver_count(ctx); i++) {
      const char *name;
      const osiris_driver *d = osiris_driver_at(ctx, i, &name);
      if (a->json) {
        osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
        js_set_str(o, "name", name);
        js_set_str(o, "driver", d->name);
        js_set_str(o, "family", d->family ? d->family : "");
        js_set_str(o, "modes", d->modes ? d->modes : "");
        js_set_str(o, "summary", d->summary ? d->summary : "");
        osiris_json_push(arr, o);
      } else {
        if (strcmp(name, d->name))
          printf("%-28s %-18s alias of %s\n", name, d->modes ? d->modes : "", d->name);
        else
          printf("%-28s %-18s %s\n", name, d->modes ? d->modes : "", d->summary ? d->summary : "");
      }
    }
    if (a->json) cli_print_json(arr);
    osiris_json_free(arr);
    return 0;
  }
  if (os_streq(sub, "show") && a->n_positional == 2) {
    const osiris_driver *d = osiris_driver_find(ctx, a->positional[1]);
    const osiris_config_key *k;
    if (!d) {
      fprintf(stderr, "osiris components show: unknown component '%s' (see 'osiris components list')\n",
              a->positional[1]);
      return 2;
    }
    if (a->json) {
      osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT), *keys = osiris_json_new(OSIRIS_JSON_ARRAY);
      js_set_str(o, "name", d->name);
      js_set_str(o, "family", d->family ? d->family : "");
      js_set_str(o, "modes", d->modes ? d->modes : "");
      js_set_str(o, "summary", d->summary ? d->summary : "");
      for (k = d->keys; k && k->name; k++) {
        osiris_json *kj = osiris_json_new(OSIRIS_JSON_OBJECT);
        js_set_str(kj, "name", k->name);
        js_set_bool(kj, "required", (k->flags & OSIRIS_KEY_REQUIRED) != 0);
        js_set_bool(kj, "secret", (k->flags & OSIRIS_KEY_SECRET) != 0);
        if (k->default_json) {
          osiris_json *dv = NULL;
          if (osiris_json_parse(k->default_json, strlen(k->default_json), &dv, NULL, 0) == OSIRIS_OK)
            osiris_json_set(kj, "default", dv);
        }
        js_set_str(kj, "doc", k->doc ? k->doc : "");
        osiris_json_push(keys, kj);
      }
      osiris_json_set(o, "config", keys);
      cli_print_json(o);
      osiris_json_free(o);
      return 0;
    }
    printf("%s: %s\n  family: %s\n  modes:  %s\n  config:\n", d->name, d->summary ? d->summary : "",
           d->family ? d->family : "", d->modes ? d->modes : "");
    for (k = d->keys; k && k->name; k++)
      printf("    %-18s %-9s %-16s %s\n", k->name,
             (k->flags & OSIRIS_KEY_REQUIRED) ? "required" : (k->flags & OSIRIS_KEY_SECRET) ? "secret" : "",
             k->default_json ? k->default_json : "", k->doc ? k->doc : "");
    return 0;
  }
  fprintf(stderr, "osiris components: expected 'list' or 'show NAME' (see --help)\n");
  return 2;
}

static int cli_connections(osiris_ctx *ctx, cli_args *a) {
  osiris_json *list = NULL;
  os_err err = {0};
  const osiris_json *conns;
  size_t i, j, k;
  if (a->n_positional >= 1 && os_streq(a->positional[0], "doctor") && a->n_positional <= 2) {
    osiris_json *report = NULL;
    const osiris_json *items;
    osiris_rc rc = osiris_connections_doctor(ctx, a->n_positional == 2 ? a->positional[1] : NULL, &report);
    if (!report) {
      fprintf(stderr, "osiris connections doctor: %s\n", osiris_ctx_error(ctx));
      return rc == OSIRIS_EUSAGE || rc == OSIRIS_ENOTFOUND ? 2 : 1;
    }
    if (a->json) {
      cli_print_json(report);
    } else {
      items = osiris_json_get(report, "connections");
      for (i = 0; i < osiris_json_size(items); i++) {
        const osiris_json *c = osiris_json_at(items, i);
        int ok = osiris_json_bool(osiris_json_get(c, "ok"), 0);
        int skipped = osiris_json_bool(osiris_json_get(c, "skipped"), 0);
        printf("%s %-32s %s", skipped ? "-" : ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97", js_gets(c, "ref"),
               skipped ? "nothing to check" : ok ? "ok" : "failed");
        if (!skipped) printf(" (%" PRId64 " ms)", osiris_json_int(osiris_json_get(c, "latency_ms"), 0));
        if (!ok && js_gets(c, "error")) printf(": %s", js_gets(c, "error"));
        printf("\n");
      }
      if (osiris_json_size(items) == 0) printf("no connections in osiris_connections.yaml\n");
    }
    osiris_json_free(report);
    return rc == OSIRIS_OK ? 0 : 1;
  }
  if (a->n_positional != 1 || !os_streq(a->positional[0], "list")) {
    fprintf(stderr, "osiris connections: expected 'list' or 'doctor [@family.alias]' (see --help)\n");
    return 2;
  }
  if (cn_list(ctx, &list, &err)) {
    fprintf(stderr, "osiris connections list: %s\n", err.msg);
    return 1;
  }
  if (a->json) {
    cli_print_json(list);
    osiris_json_free(list);
    return 0;
  }
  printf("connections from %s\n", osiris_json_str(osiris_json_get(list, "file")));
  conns = osiris_json_get(list, "connections");
  for (i = 0; i < osiris_json_size(conns); i++) {
    const osiris_json *fam = osiris_json_at(conns, i);
    for (j = 0; j < osiris_json_size(fam); j++) {
      const osiris_json *al = osiris_json_at(fam, j);
      printf("  @%s.%s%s\n", osiris_json_key_at(conns, i), osiris_json_key_at(fam, j),
             osiris_json_bool(osiris_json_get(al, "default"), 0) ? " (default)" : "");
      for (k = 0; k < osiris_json_size(al); k++) {
        char *v;
        if (os_streq(osiris_json_key_at(al, k), "default")) continue;
        v = osiris_json_dump(osiris_json_at(al, k), 0, NULL);
        printf("      %s: %s\n", osiris_json_key_at(al, k), v ? v : "");
        osiris_free(v);
      }
    }
  }
  osiris_json_free(list);
  return 0;
}

/* Run directories under logs_dir, newest first (names sort by time). */
static size_t cli_list_runs(const char *logs_dir, char ***out) {
  DIR *d = opendir(logs_dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0, i, j;
  *out = NULL;
  if (!d) return 0;
  while ((e = readdir(d)) != NULL) {
    if (!os_startswith(e->d_name, "run_")) continue;
    if (n == cap) {
      char **p = os_realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *p);
      if (!p) break;
      names = p;
    }
    names[n] = os_strdup(e->d_name);
    if (names[n]) n++;
  }
  closedir(d);
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && strcmp(names[j - 1], names[j]) < 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  *out = names;
  return n;
}

static osiris_json *cli_read_json(const char *dir, const char *name) {
  char *path = os_path_join(dir, name);
  osiris_json *v = NULL;
  os_err err = {0};
  if (path) js_read_file(path, &v, &err);
  os_free(path);
  return v;
}

static int cli_logs(osiris_ctx *ctx, cli_args *a) {
  const char *sub = a->n_positional ? a->positional[0] : "list";
  char *logs = os_path_abs(ctx->base_dir, a->logs_dir ? a->logs_dir : "logs");
  char **runs = NULL;
  size_t n, i;
  int code = 0;
  if (!logs) return 1;
  n = cli_list_runs(logs, &runs);
  if (os_streq(sub, "list") && a->n_positional <= 1) {
    osiris_json *arr = osiris_json_new(OSIRIS_JSON_ARRAY);
    if (!a->json) printf("%-36s %-8s %-7s %10s  %s\n", "SESSION", "STATUS", "STEPS", "MS", "PIPELINE");
    for (i = 0; i < n; i++) {
      char *dir = os_path_join(logs, runs[i]);
      osiris_json *st = cli_read_json(dir, "status.json"), *card = cli_read_json(dir, "run_card.json");
      const char *status = !st ? "running?" : osiris_json_bool(osiris_json_get(st, "ok"), 0) ? "success" : "failed";
      if (a->json) {
        osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
        js_set_str(o, "session_id", runs[i] + 4);
        js_set_str(o, "session_dir", dir);
        js_set_str(o, "status", status);
        osiris_json_set(o, "steps_completed", osiris_json_copy(osiris_json_get(st, "steps_completed")));
        osiris_json_set(o, "steps_total", osiris_json_copy(osiris_json_get(st, "steps_total")));
        osiris_json_set(o, "duration_ms", osiris_json_copy(osiris_json_get(st, "duration_ms")));
        js_set_str(o, "pipeline_id", card ? js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "" : "");
        osiris_json_push(arr, o);
      } else {
        printf("%-36s %-8s %3" PRId64 "/%-3" PRId64 " %10" PRId64 "  %s\n", runs[i] + 4, status,
               osiris_json_int(osiris_json_get(st, "steps_completed"), 0),
               osiris_json_int(osiris_json_get(st, "steps_total"), 0),
               osiris_json_int(osiris_json_get(st, "duration_ms"), 0),
               card && js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "");
      }
      osiris_json_free(st);
      osiris_json_free(card);
      os_free(dir);
    }
    if (a->json) cli_print_json(arr);
    osiris_json_free(arr);
  } else if (os_streq(sub, "show")) {
    const char *want = a->n_positional == 2 ? a->positional[1] : NULL;
    char *dir = NULL;
    osiris_json *st, *card;
    if (!want && !a->last) {
      fprintf(stderr, "osiris logs show: give a SESSION_ID or --last\n");
      code = 2;
      goto done;
    }
    if (!want) {
      if (n == 0) {
        fprintf(stderr, "osiris logs show: no runs under %s\n", logs);
        code = 2;
        goto done;
      }
      dir = os_path_join(logs, runs[0]);
    } else {
      char *name = os_startswith(want, "run_") ? os_strdup(want) : os_asprintf("run_%s", want);
      dir = name ? os_path_join(logs, name) : NULL;
      os_free(name);
      if (!os_is_dir(dir)) {
        fprintf(stderr, "osiris logs show: no run '%s' under %s\n", want, logs);
        os_free(dir);
        code = 2;
        goto done;
      }
    }
    st = cli_read_json(dir, "status.json");
    card = cli_read_json(dir, "run_card.json");
    if (a->json) {
      osiris_json *o = osiris_json_new(OSIRIS_JSON_OBJECT);
      js_set_str(o, "session_dir", dir);
      osiris_json_set(o, "status", st ? osiris_json_copy(st) : osiris_json_new(OSIRIS_JSON_NULL));
      osiris_json_set(o, "run_card", card ? osiris_json_copy(card) : osiris_json_new(OSIRIS_JSON_NULL));
      cli_print_json(o);
      osiris_json_free(o);
    } else {
      const osiris_json *steps = osiris_json_get(card, "steps");
      const osiris_json *err = osiris_json_get(st, "error");
      printf("run %s\n  pipeline: %s\n  status:   %s\n  steps:    %" PRId64 "/%" PRId64 "\n  duration: %" PRId64 " ms\n  dir:      %s\n",
             js_gets(st, "session_id") ? js_gets(st, "session_id") : "?",
             card && js_gets(card, "pipeline_id") ? js_gets(card, "pipeline_id") : "?",
             !st ? "unknown (no status.json)" : osiris_json_bool(osiris_json_get(st, "ok"), 0) ? "success" : "failed",
             osiris_json_int(osiris_json_get(st, "steps_completed"), 0),
             osiris_json_int(osiris_json_get(st, "steps_total"), 0),
             osiris_json_int(osiris_json_get(st, "duration_ms"), 0), dir);
      if (osiris_json_size(steps)) printf("\n  %-28s %-26s %-8s %9s %9s %8s\n", "STEP", "DRIVER", "STATUS", "ROWS_IN", "ROWS_OUT", "MS");
      for (i = 0; i < osiris_json_size(steps); i++) {
        const osiris_json *s = osiris_json_at(steps, i);
        printf("  %-28s %-26s %-8s %9" PRId64 " %9" PRId64 " %8" PRId64 "\n", js_gets(s, "step_id"),
               js_gets(s, "driver"), js_gets(s, "status"), osiris_json_int(osiris_json_get(s, "rows_in"), 0),
               osiris_json_int(osiris_json_get(s, "rows_out"), 0),
               osiris_json_int(osiris_json_get(s, "duration_ms"), 0));
      }
      if (err && osiris_json_kind_of(err) == OSIRIS_JSON_OBJECT)
        printf("\n  error (step %s): %s\n", js_gets(err, "step_id") ? js_gets(err, "step_id") : "-",
               js_gets(err, "message") ? js_gets(err, "message") : "");
    }
    osiris_json_free(st);
    osiris_json_free(card);
    os_free(dir);
  } else {
    fprintf(stderr, "osiris logs: expected 'list' or 'show' (see --help)\n");
    code = 2;
  }
done:
  for (i = 0; i < n; i++) os_free(runs[i]);
  os_free(runs);
  os_free(logs);
  return code;
}

int main(int argc, char **argv) {
  const char *cmd;
  cli_args a;
  osiris_ctx *ctx;
  int code;
  static const char *const allowed[][2] = {
      {"compile", " --param -p --profile --out --logs-dir --json "},
      {"validate", " --json "},
      {"run", " --param -p --profile --verbose -v --logs-dir --json --last-compile --sandbox --e2b"
              " --e2b-template --timeout --e2b-install-deps "},
      {"components", " --json "},
      {"connections", " --json "},
      {"logs", " --json --logs-dir --last "},
      {"runs", " --json "},
      {"version", " "},
      {"help", " "}};
  size_t i;
  if (argc < 2) {
    fputs(cli_usage, stderr);
    return 2;
  }
  cmd = argv[1];
  if (os_streq(cmd, "--help") || os_streq(cmd, "-h") || os_streq(cmd, "help"))
    return cli_help(argc > 2 ? argv[2] : NULL);
  if (os_streq(cmd, "--version") || os_streq(cmd, "version")) {
    printf("osiris %s\n", OSIRIS_VERSION);
    return 0;
  }
  for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    if (os_streq(cmd, allowed[i][0])) break;
  if (i == sizeof allowed / sizeof allowed[0]) {
    fprintf(stderr, "osiris: unknown command '%s'\n\n%s", cmd, cli_usage);
    return 2;
  }
  code = cli_parse(argc - 2, argv + 2, &a, allowed[i][1]);
  if (code) return code;
  if (a.help) return cli_help(cmd);
  ctx = osiris_ctx_new(NULL);
  if (!ctx || osiris_register_builtin_drivers(ctx) != OSIRIS_OK) {
    fprintf(stderr, "osiris: cannot initialize: %s\n", ctx ? osiris_ctx_error(ctx) : "out of memory");
    osiris_ctx_free(ctx);
    return 1;
  }
  cli_ctx = ctx;
  signal(SIGINT, cli_on_sigint);
  signal(SIGTERM, cli_on_sigint);
  if (os_streq(cmd, "compile")) code = cli_compile(ctx, &a);
  else if (os_streq(cmd, "validate")) code = cli_validate(ctx, &a);
  else if (os_streq(cmd, "run")) code = cli_run(ctx, &a);
  else if (os_streq(cmd, "components")) code = cli_components(ctx, &a);
  else if (os_streq(cmd, "connections")) code = cli_connections(ctx, &a);
  else if (os_streq(cmd, "runs")) code = cli_runs(ctx, &a);
  else code = cli_logs(ctx, &a);
  cli_ctx = NULL;
  osiris_ctx_free(ctx);
  return code;
}
