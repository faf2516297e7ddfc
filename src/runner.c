/* ======================================================================
 * 14. Driver registry and runner
 *
 * One runner for every place a pipeline runs: the host's local adapter
 * and the sandbox worker call the same rn_exec_step.  Steps run in the
 * topological order of needs (manifest order among ready steps).  A step
 * sees the frames of its upstream steps as df_<sanitized id>, plus df and
 * input_df when there is exactly one.  The first failure stops the run:
 * step_failed, every step not yet run gets step_skipped, status.json says
 * why.  A frame is freed as soon as its last consumer has finished.
 * status.json and run_card.json are written on every path once the
 * session exists (rn_collect), failures included.
 * ====================================================================== */

typedef enum rn_status {
  RN_PENDING = 0,
  RN_RUNNING,
  RN_SUCCESS,
  RN_FAILED,
  RN_SKIPPED
} rn_status;

static const char *rn_status_name(rn_status s) {
  static const char *const names[] = {"pending", "running", "success", "failed", "skipped"};
  return names[s];
}

/* What the run keeps of each step between and after executions. */
typedef struct rn_state {
  rn_status status;
  osiris_frame *frame;    /* output, kept while a consumer still needs it */
  int had_frame;          /* the step produced a frame */
  size_t consumers_left;  /* downstream steps that have not finished */
  int64_t rows_in, rows_out, rows_read, rows_written;
  double duration_ms;
  char *input_key;        /* df_<sanitized id> */
  char *error;            /* owned, scrubbed */
  osiris_rc error_rc;
  osiris_json *artifacts; /* array of run-relative paths */
  char *spill_path;       /* absolute artifacts/<id>/output.parquet once spilled */
} rn_state;

struct osiris_step {
  osiris_run *run;
  size_t index;             /* into run->mf->steps */
  const osiris_driver *driver;
  osiris_json *config;      /* cfg minus meta keys */
  osiris_json *connection;  /* resolved, secrets in memory only */
  const osiris_frame *inputs[64];
  const char *input_names[64];
  size_t n_inputs;
  osiris_frame *loaded[64]; /* inputs read back from spill files, owned */
  size_t n_loaded;
  osiris_frame *output;
  char *artifacts_dir;
  char error[OS_ERR_CAP];
  osiris_rc error_rc;
  double t0_ms;             /* when the driver was called */
  double progress_ms;       /* when progress was last forwarded */
};

struct osiris_run {
  osiris_ctx *ctx;
  const osiris_adapter *adapter;
  ss_session ss;
  char *logs_dir;           /* absolute */
  char *source_manifest;    /* the manifest the run was started from */
  char *profile;
  char *pipeline_id;        /* known before the manifest is loaded */
  mf_manifest *mf;
  size_t *order;            /* topological order of steps */
  rn_state *st;
  size_t steps_completed;
  int prepared;
  int ok;
  osiris_rc rc;
  char error[OS_ERR_CAP];
  char *failed_step;
  char *reason;             /* status.json reason */
  osiris_json *status;      /* status.json as written */
  double duration_ms;
  void *adapter_state;      /* for adapters other than local */
  char *e2b_template;       /* remote adapters: NULL for "base" */
  int timeout_s;            /* remote adapters: sandbox TTL, 0 for 900 */
  int install_deps;
  char *sandbox_id;         /* set by a remote adapter once it has one */
};

/* ---------------------------------------------------------- registry */

osiris_rc osiris_register_driver(osiris_ctx *ctx, const osiris_driver *d, const char *alias) {
  const char *names[2];
  size_t i, k;
  if (!ctx || !d || !d->name || !d->run) return OSIRIS_EINVAL;
  names[0] = d->name;
  names[1] = alias;
  for (k = 0; k < 2; k++) {
    if (!names[k]) continue;
    for (i = 0; i < ctx->n_drivers; i++)
      if (strcmp(ctx->driver_names[i], names[k]) == 0) {
        snprintf(ctx->err, sizeof ctx->err, "driver %s is already registered", names[k]);
        return OSIRIS_EINVAL;
      }
    if (ctx->n_drivers == OS_MAX_DRIVERS) {
      snprintf(ctx->err, sizeof ctx->err, "too many drivers (max %d)", OS_MAX_DRIVERS);
      return OSIRIS_ELIMIT;
    }
    ctx->drivers[ctx->n_drivers] = d;
    ctx->driver_names[ctx->n_drivers] = names[k];
    ctx->n_drivers++;
  }
  return OSIRIS_OK;
}

const osiris_driver *osiris_driver_find(const osiris_ctx *ctx, const char *name) {
  size_t i;
  if (!ctx || !name) return NULL;
  for (i = 0; i < ctx->n_drivers; i++)
    if (strcmp(ctx->driver_names[i], name) == 0) return ctx->drivers[i];
  return NULL;
}

size_t osiris_driver_count(const osiris_ctx *ctx) { return ctx ? ctx->n_drivers : 0; }

const osiris_driver *osiris_driver_at(const osiris_ctx *ctx, size_t i, const char **name) {
  if (!ctx || i >= ctx->n_drivers) return NULL;
  if (name) *name = ctx->driver_names[i];
  return ctx->drivers[i];
}

/* ---------------------------------------------------------- step API */

const char *osiris_step_id(const osiris_step *s) { return s->run->mf->steps[s->index].id; }
const osiris_json *osiris_step_config(const osiris_step *s) { return s->config; }
const osiris_json *osiris_step_connection(const osiris_step *s) { return s->connection; }
size_t osiris_step_input_count(const osiris_step *s) { return s->n_inputs; }

const osiris_frame *osiris_step_input(const osiris_step *s, size_t i, const char **name) {
  if (i >= s->n_inputs) return NULL;
  if (name) *name = s->input_names[i];
  return s->inputs[i];
}

void osiris_step_set_output(osiris_step *s, osiris_frame *f) {
  if (s->output && s->output != f) osiris_frame_free(s->output);
  s->output = f;
}

osiris_rc osiris_step_fail(osiris_step *s, osiris_rc rc, const char *fmt, ...) {
  va_list ap;
  char *clean;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
  clean = ss_scrub(&s->run->ss, s->error, strlen(s->error), NULL);
  if (clean) {
    snprintf(s->error, sizeof s->error, "%s", clean);
    os_free(clean);
  }
  s->error_rc = rc ? rc : OSIRIS_EDRIVER;
  return s->error_rc;
}

void osiris_step_metric(osiris_step *s, const char *name, double value, const char *unit) {
  rn_state *st = &s->run->st[s->index];
  const char *modes = s->driver && s->driver->modes ? s->driver->modes : "";
  /* Totals count what crossed the pipeline's edges: rows extractors read
   * and rows writers wrote; a processor's own counts are only metrics. */
  if (os_streq(name, "rows_read") && strstr(modes, "extract")) st->rows_read += (int64_t)value;
  if (os_streq(name, "rows_written") && strstr(modes, "write")) st->rows_written += (int64_t)value;
  ss_metric(&s->run->ss, name, value, unit, osiris_step_id(s));
}

void osiris_step_progress(osiris_step *s, int64_t rows) {
  osiris_ctx *ctx = s->run->ctx;
  double now;
  if (!ctx->progress_fn) return;
  now = os_now_ms();
  if (now - s->progress_ms < 200) return;
  s->progress_ms = now;
  ctx->progress_fn(ctx->progress_user, osiris_step_id(s), rows, now - s->t0_ms);
}

void osiris_step_event(osiris_step *s, const char *event, osiris_json *fields) {
  osiris_json *f = fields ? fields : js_alloc(OSIRIS_JSON_OBJECT);
  /* Writers report progress as events; the progress line shows them too. */
  if (f && os_streq(event, "write.progress"))
    osiris_step_progress(s, osiris_json_int(osiris_json_get(f, "rows_written"), 0));
  osiris_json *line = js_alloc(OSIRIS_JSON_OBJECT);
  size_t i;
  /* step_id first, then the driver's own fields. */
  if (!f || !line || js_set_str(line, "step_id", osiris_step_id(s))) goto done;
  if (f->kind == OSIRIS_JSON_OBJECT)
    for (i = 0; i < f->u.c.n; i++) {
      osiris_json *c = osiris_json_copy(f->u.c.items[i]);
      if (!c || osiris_json_set(line, f->u.c.keys[i], c)) goto done;
    }
  ss_event(&s->run->ss, event, line);
  line = NULL;
done:
  osiris_json_free(line);
  osiris_json_free(f);
}

void osiris_step_log(osiris_step *s, int level, const char *fmt, ...) {
  va_list ap;
  char msg[3600];
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ss_log(&s->run->ss, level, "[%s] %s", osiris_step_id(s), msg);
}

const char *osiris_step_artifacts_dir(const osiris_step *s) { return s->artifacts_dir; }
const char *osiris_step_base_dir(const osiris_step *s) { return s->run->ctx->base_dir; }

char *osiris_step_path(const osiris_step *s, const char *path) {
  return os_path_abs(s->run->ctx->base_dir, path);
}

/* A file under <run>/artifacts/ is an artifact (its run-relative path);
 * anything else a step writes is an output.  (In a worker the session
 * directory is also the base directory, so outputs can sit in it too.) */
static char *rn_rel(const osiris_run *run, const char *path) {
  size_t n = strlen(run->ss.dir);
  if (strncmp(path, run->ss.dir, n) == 0 && path[n] == '/' &&
      strncmp(path + n + 1, "artifacts/", 10) == 0)
    return os_strdup(path + n + 1);
  return NULL;
}

void osiris_step_file_written(osiris_step *s, const char *path, const char *type) {
  char *rel = rn_rel(s->run, path);
  osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
  struct stat stt;
  if (!f) goto done;
  if (rel) {
    js_set_str(f, "artifact_type", type ? type : "file");
    js_set_str(f, "path", rel);
    osiris_json_push(s->run->st[s->index].artifacts, osiris_json_new_str(rel, strlen(rel)));
    osiris_step_event(s, "artifact_created", f);
  } else {
    rn_state *st = &s->run->st[s->index];
    js_set_str(f, "path", path);
    js_set_str(f, "format", type ? type : "file"); /* "type" names worker lines */
    js_set_int(f, "rows", st->rows_written ? st->rows_written : st->rows_in);
    if (stat(path, &stt) == 0) js_set_int(f, "size_bytes", (int64_t)stt.st_size);
    osiris_step_event(s, "output_written", f);
  }
  f = NULL;
done:
  osiris_json_free(f);
  os_free(rel);
}

int osiris_step_cancelled(const osiris_step *s) { return s->run->ctx->cancelled != 0; }

/* ---------------------------------------------------------- runner */

static osiris_json *rn_fields(void) { return js_alloc(OSIRIS_JSON_OBJECT); }

/* df_<id> with every character outside [0-9A-Za-z_] as '_', '_' first when
 * the id starts with a digit; ids that collide get _<sha256(id)[:8]>. */
static char *rn_sanitize(const char *id) {
  size_t n = strlen(id), i, o = 0;
  char *out = os_malloc(n + 5);
  if (!out) return NULL;
  memcpy(out, "df_", 3);
  o = 3;
  if (isdigit((unsigned char)id[0])) out[o++] = '_';
  for (i = 0; i < n; i++) out[o++] = isalnum((unsigned char)id[i]) || id[i] == '_' ? id[i] : '_';
  out[o] = 0;
  return out;
}

static osiris_rc rn_assign_input_keys(osiris_run *run) {
  size_t i, j, n = run->mf->n_steps;
  for (i = 0; i < n; i++) {
    run->st[i].input_key = rn_sanitize(run->mf->steps[i].id);
    if (!run->st[i].input_key) return OSIRIS_ENOMEM;
  }
  for (i = 0; i < n; i++) {
    int clash = 0;
    for (j = 0; j < n; j++)
      if (i != j && strcmp(run->st[i].input_key, run->st[j].input_key) == 0) clash = 1;
    if (clash) {
      char hex[65], *k;
      os_sha256_hex(run->mf->steps[i].id, strlen(run->mf->steps[i].id), hex);
      hex[8] = 0;
      k = os_asprintf("%s_%s", run->st[i].input_key, hex);
      if (!k) return OSIRIS_ENOMEM;
      os_free(run->st[i].input_key);
      run->st[i].input_key = k;
    }
  }
  return OSIRIS_OK;
}

static size_t rn_step_index(const mf_manifest *m, const char *id) {
  size_t i;
  for (i = 0; i < m->n_steps; i++)
    if (strcmp(m->steps[i].id, id) == 0) return i;
  return (size_t)-1;
}

static void rn_set_error(osiris_run *run, osiris_rc rc, const char *step_id, const char *reason,
                         const char *msg) {
  char *clean = ss_scrub(&run->ss, msg, strlen(msg), NULL);
  if (run->rc) return; /* the first failure is the one reported */
  run->rc = rc ? rc : OSIRIS_EDRIVER;
  run->ok = 0;
  snprintf(run->error, sizeof run->error, "%s", clean ? clean : msg);
  os_free(clean);
  os_free(run->failed_step);
  run->failed_step = step_id ? os_strdup(step_id) : NULL;
  os_free(run->reason);
  run->reason = os_strdup(reason);
}

/* Materialize the manifest and cfg files into the run directory (the
 * "prepare" half every adapter shares). */
static osiris_rc rn_materialize(osiris_run *run, os_err *err) {
  osiris_rc rc;
  char *dst = NULL, *cfg_dir = NULL;
  char hex[65];
  size_t i;
  struct stat stt;
  osiris_json *f;
  dst = os_path_join(run->ss.dir, "manifest.yaml");
  if (!dst) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_copy_file(run->mf->path, dst, err);
  if (rc) goto done;
  f = rn_fields();
  if (f && os_sha256_file_hex(dst, hex) == 0 && stat(dst, &stt) == 0) {
    js_set_str(f, "path", "manifest.yaml");
    js_set_int(f, "size", (int64_t)stt.st_size);
    js_set_str(f, "sha256", hex);
  }
  ss_event(&run->ss, "manifest_materialized", f);
  cfg_dir = os_path_join(run->ss.dir, "cfg");
  if (!cfg_dir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(cfg_dir, err);
  if (rc) goto done;
  for (i = 0; i < run->mf->n_steps; i++) {
    const mf_step *ms = &run->mf->steps[i];
    char *src = os_path_join(run->mf->dir, ms->cfg_path);
    char *name = os_asprintf("%s.json", ms->id);
    char *to = name ? os_path_join(cfg_dir, name) : NULL;
    char *rel = name ? os_asprintf("cfg/%s", name) : NULL;
    if (!src || !to || !rel) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    } else if (!os_is_file(src)) {
      rc = os_fail(err, OSIRIS_ENOTFOUND, "step %s: cfg file not found: %s", ms->id, src);
    } else {
      rc = os_copy_file(src, to, err);
    }
    if (!rc) {
      f = rn_fields();
      if (f && os_sha256_file_hex(to, hex) == 0 && stat(to, &stt) == 0) {
        js_set_str(f, "step_id", ms->id);
        js_set_str(f, "path", rel);
        js_set_int(f, "size_bytes", (int64_t)stt.st_size);
        js_set_str(f, "sha256", hex);
      }
      ss_event(&run->ss, "cfg_materialized", f);
    }
    os_free(src);
    os_free(name);
    os_free(to);
    os_free(rel);
    if (rc) goto done;
  }
done:
  os_free(dst);
  os_free(cfg_dir);
  return rc;
}

/* Check every step has a driver; emit driver_registered per driver used. */
static osiris_rc rn_check_drivers(osiris_run *run, os_err *err) {
  osiris_json *names = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *f;
  size_t i, j;
  if (!names) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  for (i = 0; i < run->mf->n_steps; i++) {
    const mf_step *ms = &run->mf->steps[i];
    int seen = 0;
    if (!osiris_driver_find(run->ctx, ms->driver)) {
      osiris_json_free(names);
      return os_fail(err, OSIRIS_ENOTFOUND, "step %s: driver '%s' is not registered", ms->id,
                     ms->driver);
    }
    for (j = 0; j < names->u.c.n; j++)
      if (strcmp(names->u.c.items[j]->u.s.ptr, ms->driver) == 0) seen = 1;
    if (seen) continue;
    js_push_str(names, ms->driver);
    f = rn_fields();
    if (f) {
      js_set_str(f, "driver", ms->driver);
      js_set_str(f, "implementation", "builtin");
      js_set_str(f, "status", "ok");
    }
    ss_event(&run->ss, "driver_registered", f);
  }
  for (i = 1; i < names->u.c.n; i++) /* sorted, so that runs compare */
    for (j = i; j > 0 && strcmp(names->u.c.items[j - 1]->u.s.ptr, names->u.c.items[j]->u.s.ptr) > 0; j--) {
      osiris_json *t = names->u.c.items[j];
      names->u.c.items[j] = names->u.c.items[j - 1];
      names->u.c.items[j - 1] = t;
    }
  f = rn_fields();
  if (f) {
    js_set_int(f, "count", (int64_t)names->u.c.n);
    if (osiris_json_set(f, "drivers", names)) names = NULL;
    names = NULL;
  }
  osiris_json_free(names);
  ss_event(&run->ss, "drivers_registered", f);
  return OSIRIS_OK;
}

/* Load the manifest, order the steps, allocate the per-step state. */
static osiris_rc rn_load(osiris_run *run, os_err *err) {
  osiris_rc rc;
  size_t i, k;
  rc = mf_load(run->source_manifest, &run->mf, err);
  if (rc) return rc;
  run->order = os_calloc(run->mf->n_steps, sizeof *run->order);
  run->st = os_calloc(run->mf->n_steps, sizeof *run->st);
  if (!run->order || !run->st) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = mf_order(run->mf, run->order, err);
  if (rc) return rc;
  for (i = 0; i < run->mf->n_steps; i++) {
    run->st[i].artifacts = js_alloc(OSIRIS_JSON_ARRAY);
    if (!run->st[i].artifacts) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
    for (k = 0; k < run->mf->steps[i].n_needs; k++) {
      size_t up = rn_step_index(run->mf, run->mf->steps[i].needs[k]);
      if (up != (size_t)-1) run->st[up].consumers_left++;
    }
  }
  if (rn_assign_input_keys(run)) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return OSIRIS_OK;
}

static void rn_step_release(osiris_step *s) {
  size_t i;
  for (i = 0; i < s->n_loaded; i++) osiris_frame_free(s->loaded[i]);
  osiris_json_free(s->config);
  osiris_json_free(s->connection);
  os_free(s->artifacts_dir);
  if (s->output) osiris_frame_free(s->output);
  memset(s, 0, sizeof *s);
}

/* Resolve the step's connection: an explicit @family.alias, or the
 * family's default for families that always need one. */
static osiris_rc rn_resolve_connection(osiris_step *s, const char *ref, os_err *err) {
  osiris_run *run = s->run;
  const char *family = s->driver->family ? s->driver->family : "";
  char fam[128] = "", alias[128] = "";
  char *alias_out = NULL;
  osiris_json *f;
  osiris_rc rc;
  int needs_conn = ref != NULL || !(os_streq(family, "filesystem") || os_streq(family, "duckdb") ||
                                    !*family);
  if (!needs_conn) return OSIRIS_OK;
  if (ref && !cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias))
    return os_fail(err, OSIRIS_EINVAL, "step %s: invalid connection reference '%s' (want @family.alias)",
                   osiris_step_id(s), ref);
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "family", ref ? fam : family);
    js_set_str(f, "alias", ref && *alias ? alias : "(default)");
  }
  ss_event(&run->ss, "connection_resolve_start", f);
  rc = cn_resolve(run->ctx, ref, family, &s->connection, &alias_out, err);
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "family", ref ? fam : family);
    js_set_str(f, "alias", alias_out ? alias_out : (*alias ? alias : "(default)"));
    js_set_bool(f, "ok", rc == OSIRIS_OK);
    if (rc) js_set_str(f, "error", err->msg);
  }
  ss_event(&run->ss, "connection_resolve_complete", f);
  os_free(alias_out);
  if (rc) {
    char msg[OS_ERR_CAP];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return os_fail(err, rc, "step %.200s: %.1800s", osiris_step_id(s), msg);
  }
  return ss_add_secrets_of(&run->ss, s->connection) ? os_fail(err, OSIRIS_ENOMEM, "out of memory")
                                                    : OSIRIS_OK;
}

/* Gather the frames of the step's upstream steps. */
static osiris_rc rn_resolve_inputs(osiris_step *s, os_err *err) {
  osiris_run *run = s->run;
  const mf_step *ms = &run->mf->steps[s->index];
  size_t k;
  for (k = 0; k < ms->n_needs; k++) {
    size_t up = rn_step_index(run->mf, ms->needs[k]);
    rn_state *ust;
    osiris_json *f;
    if (up == (size_t)-1) continue;
    const osiris_frame *frame;
    int from_spill = 0;
    ust = &run->st[up];
    if (!ust->had_frame) continue; /* writers produce no frame */
    if (s->n_inputs + 3 > sizeof s->inputs / sizeof s->inputs[0])
      return os_fail(err, OSIRIS_ELIMIT, "step %s: too many inputs", osiris_step_id(s));
    /* Memory first; then the spill file; otherwise a clear error. */
    frame = ust->frame;
    if (!frame && ust->spill_path) {
      char why[OS_ERR_CAP] = "";
      osiris_frame *loaded = NULL;
      if (osiris_parquet_read(ust->spill_path, &loaded, why, sizeof why) == OSIRIS_OK) {
        s->loaded[s->n_loaded++] = loaded;
        frame = loaded;
        from_spill = 1;
      } else {
        f = rn_fields();
        if (f) {
          js_set_str(f, "step_id", osiris_step_id(s));
          js_set_str(f, "from_step", ms->needs[k]);
          js_set_str(f, "key", ust->input_key);
          js_set_str(f, "error", why);
        }
        ss_event(&run->ss, "input_resolution_failed", f);
        return os_fail(err, OSIRIS_EPARSE,
                       "step %s: input '%s' from step %s: cannot read its spill file: %.1500s",
                       osiris_step_id(s), ust->input_key, ms->needs[k], why);
      }
    }
    if (!frame) {
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", osiris_step_id(s));
        js_set_str(f, "from_step", ms->needs[k]);
        js_set_str(f, "key", ust->input_key);
        js_set_str(f, "error", "the upstream frame is neither in memory nor spilled");
      }
      ss_event(&run->ss, "input_resolution_failed", f);
      return os_fail(err, OSIRIS_ENOTFOUND,
                     "step %s: input '%s' from step %s is not available (neither in memory "
                     "nor spilled)",
                     osiris_step_id(s), ust->input_key, ms->needs[k]);
    }
    s->inputs[s->n_inputs] = frame;
    s->input_names[s->n_inputs++] = ust->input_key;
    run->st[s->index].rows_in += (int64_t)osiris_frame_rows(frame);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", osiris_step_id(s));
      js_set_str(f, "from_step", ms->needs[k]);
      js_set_str(f, "key", ust->input_key);
      js_set_int(f, "rows", (int64_t)osiris_frame_rows(frame));
      js_set_str(f, "source", from_spill ? "spill" : "memory");
      js_set_bool(f, "from_memory", !from_spill);
      js_set_bool(f, "from_spill", from_spill);
    }
    ss_event(&run->ss, "inputs_resolved", f);
  }
  if (s->n_inputs == 1) {
    s->inputs[1] = s->inputs[2] = s->inputs[0];
    s->input_names[1] = "df";
    s->input_names[2] = "input_df";
    s->n_inputs = 3;
  }
  return OSIRIS_OK;
}

/* Load cfg/<id>.json from the run directory and strip the meta keys. */
static osiris_rc rn_load_config(osiris_step *s, char **conn_ref, os_err *err) {
  osiris_run *run = s->run;
  const char *id = osiris_step_id(s);
  char *rel = os_asprintf("cfg/%s.json", id), *path = NULL;
  char hex[65];
  osiris_json *f, *removed = NULL;
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  if (!rel || !(path = os_path_join(run->ss.dir, rel))) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = js_read_file(path, &s->config, err);
  if (rc) goto done;
  if (s->config->kind != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s: a step config must be a JSON object", rel);
    goto done;
  }
  f = rn_fields();
  if (f) {
    osiris_json *keys = js_alloc(OSIRIS_JSON_ARRAY);
    js_set_str(f, "step_id", id);
    js_set_str(f, "path", rel);
    if (os_sha256_file_hex(path, hex) == 0) js_set_str(f, "sha256", hex);
    if (keys) {
      char **sorted = os_calloc(s->config->u.c.n, sizeof *sorted);
      size_t a, b;
      if (sorted) {
        for (a = 0; a < s->config->u.c.n; a++) sorted[a] = s->config->u.c.keys[a];
        for (a = 1; a < s->config->u.c.n; a++)
          for (b = a; b > 0 && strcmp(sorted[b - 1], sorted[b]) > 0; b--) {
            char *t = sorted[b];
            sorted[b] = sorted[b - 1];
            sorted[b - 1] = t;
          }
        for (a = 0; a < s->config->u.c.n; a++) js_push_str(keys, sorted[a]);
        os_free(sorted);
      }
      osiris_json_set(f, "keys", keys);
    }
  }
  ss_event(&run->ss, "cfg_opened", f);
  {
    const char *c = js_gets(s->config, "connection");
    if (c) *conn_ref = os_strdup(c);
  }
  removed = js_alloc(OSIRIS_JSON_ARRAY);
  if (!removed) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  {
    static const char *const meta[] = {"component", "connection", "driver", NULL};
    for (i = 0; meta[i]; i++)
      if (osiris_json_remove(s->config, meta[i])) js_push_str(removed, meta[i]);
  }
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", id);
    osiris_json_set(f, "keys_removed", removed);
    removed = NULL;
    js_set_bool(f, "config_meta_stripped", 1);
  }
  ss_event(&run->ss, "config_meta_stripped", f);
done:
  osiris_json_free(removed);
  os_free(rel);
  os_free(path);
  return rc;
}

static osiris_rc rn_write_cleaned_config(osiris_step *s, os_err *err) {
  osiris_json *doc = osiris_json_copy(s->config), *masked = NULL, *f;
  char *rel = os_asprintf("artifacts/%s/cleaned_config.json", osiris_step_id(s));
  osiris_rc rc = OSIRIS_OK;
  if (!doc || !rel) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (s->connection) {
    osiris_json *c = osiris_json_copy(s->connection);
    if (!c || osiris_json_set(doc, "resolved_connection", c)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  masked = mk_mask_copy(doc);
  if (!masked) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = ss_write_json(&s->run->ss, rel, masked, err);
  if (rc) goto done;
  osiris_json_push(s->run->st[s->index].artifacts, osiris_json_new_str(rel, strlen(rel)));
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", osiris_step_id(s));
    js_set_str(f, "artifact_type", "cleaned_config");
    js_set_str(f, "path", rel);
  }
  ss_event(&s->run->ss, "artifact_created", f);
done:
  osiris_json_free(doc);
  osiris_json_free(masked);
  os_free(rel);
  return rc;
}

/* Release upstream frames nobody needs any more. */
static void rn_release_upstream(osiris_run *run, size_t idx) {
  const mf_step *ms = &run->mf->steps[idx];
  size_t k;
  for (k = 0; k < ms->n_needs; k++) {
    size_t up = rn_step_index(run->mf, ms->needs[k]);
    if (up == (size_t)-1) continue;
    if (run->st[up].consumers_left > 0 && --run->st[up].consumers_left == 0 && run->st[up].frame) {
      osiris_frame_free(run->st[up].frame);
      run->st[up].frame = NULL;
    }
  }
}

/* Spill (seed "DataFrame lifecycle"): a frame goes to
 * artifacts/<step>/output.parquet + schema.json and leaves memory when
 * OSIRIS_FORCE_SPILL (or E2B_FORCE_SPILL) is 1/true/yes, or when it has
 * more rows than OSIRIS_SPILL_THRESHOLD (or E2B_SPILL_THRESHOLD, default
 * 100000).  Read through the context, so .env files count too. */
static int rn_truthy(const char *v) {
  return v && (mk_ieq(v, "1") || mk_ieq(v, "true") || mk_ieq(v, "yes"));
}

static int rn_should_spill(osiris_run *run, const osiris_frame *f) {
  const char *force = osiris_ctx_getenv(run->ctx, "OSIRIS_FORCE_SPILL");
  const char *limit = osiris_ctx_getenv(run->ctx, "OSIRIS_SPILL_THRESHOLD");
  char *end = NULL;
  long long threshold = 100000;
  if (!force) force = osiris_ctx_getenv(run->ctx, "E2B_FORCE_SPILL");
  if (!limit) limit = osiris_ctx_getenv(run->ctx, "E2B_SPILL_THRESHOLD");
  if (rn_truthy(force)) return 1;
  if (limit && *limit) {
    long long v = strtoll(limit, &end, 10);
    if (end && !*end && v >= 0) threshold = v;
  }
  return (long long)osiris_frame_rows(f) > threshold;
}

static osiris_rc rn_spill(osiris_run *run, size_t idx, os_err *err) {
  rn_state *st = &run->st[idx];
  const char *id = run->mf->steps[idx].id;
  char *rel_pq = os_asprintf("artifacts/%s/output.parquet", id);
  char *rel_schema = os_asprintf("artifacts/%s/schema.json", id);
  char *abs_pq = rel_pq ? os_path_join(run->ss.dir, rel_pq) : NULL;
  char why[OS_ERR_CAP] = "";
  osiris_json *schema = rn_fields(), *cols = js_alloc(OSIRIS_JSON_ARRAY), *f;
  osiris_rc rc = OSIRIS_OK;
  size_t c;
  if (!rel_pq || !rel_schema || !abs_pq || !schema || !cols) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = osiris_parquet_write(abs_pq, st->frame, NULL, why, sizeof why);
  if (rc) {
    rc = os_fail(err, rc, "step %s: cannot spill its frame: %.1800s", id, why);
    goto done;
  }
  for (c = 0; c < osiris_frame_cols(st->frame); c++) {
    osiris_json *col = rn_fields();
    osiris_type t = osiris_frame_col_type(st->frame, c);
    if (!col) continue;
    js_set_str(col, "name", osiris_frame_col_name(st->frame, c));
    js_set_str(col, "type", osiris_type_name(t));
    if (t == OSIRIS_TYPE_DECIMAL) js_set_int(col, "scale", osiris_frame_col_scale(st->frame, c));
    osiris_json_push(cols, col);
  }
  js_set_str(schema, "step_id", id);
  js_set_int(schema, "rows", (int64_t)osiris_frame_rows(st->frame));
  osiris_json_set(schema, "columns", cols);
  cols = NULL;
  rc = ss_write_json(&run->ss, rel_schema, schema, err);
  if (rc) goto done;
  {
    const char *rels[2] = {rel_pq, rel_schema};
    const char *types[2] = {"parquet", "schema"};
    int k;
    for (k = 0; k < 2; k++) {
      osiris_json_push(st->artifacts, osiris_json_new_str(rels[k], strlen(rels[k])));
      f = rn_fields();
      if (f) {
        js_set_str(f, "step_id", id);
        js_set_str(f, "artifact_type", types[k]);
        js_set_str(f, "path", rels[k]);
      }
      ss_event(&run->ss, "artifact_created", f);
    }
  }
  st->spill_path = abs_pq;
  abs_pq = NULL;
  osiris_frame_free(st->frame);
  st->frame = NULL;
done:
  os_free(rel_pq);
  os_free(rel_schema);
  os_free(abs_pq);
  osiris_json_free(schema);
  osiris_json_free(cols);
  return rc;
}

/* Run one step: the unit that both the local adapter and the worker use. */
static osiris_rc rn_exec_step(osiris_run *run, size_t idx) {
  const mf_step *ms = &run->mf->steps[idx];
  rn_state *st = &run->st[idx];
  osiris_step s;
  os_err err = {0};
  char *conn_ref = NULL;
  double t0 = os_now_ms();
  osiris_json *f;
  osiris_rc rc;

  memset(&s, 0, sizeof s);
  s.run = run;
  s.index = idx;
  st->status = RN_RUNNING;
  f = rn_fields();
  if (f) {
    js_set_str(f, "step_id", ms->id);
    js_set_str(f, "driver", ms->driver);
  }
  ss_event(&run->ss, "step_start", f);
  ss_log(&run->ss, 1, "step %s started (driver %s)", ms->id, ms->driver);

  s.driver = osiris_driver_find(run->ctx, ms->driver);
  if (!s.driver) {
    rc = os_fail(&err, OSIRIS_ENOTFOUND, "step %s: driver '%s' is not registered", ms->id,
                 ms->driver);
    goto done;
  }
  s.artifacts_dir = os_asprintf("%s/artifacts/%s", run->ss.dir, ms->id);
  if (!s.artifacts_dir) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(s.artifacts_dir, &err);
  if (rc) goto done;
  f = rn_fields();
  if (f) {
    char *rel = os_asprintf("artifacts/%s", ms->id);
    js_set_str(f, "step_id", ms->id);
    if (rel) js_set_str(f, "relative_path", rel);
    os_free(rel);
  }
  ss_event(&run->ss, "artifacts_dir_created", f);

  rc = rn_load_config(&s, &conn_ref, &err);
  if (rc) goto done;
  rc = rn_resolve_connection(&s, conn_ref, &err);
  if (rc) goto done;
  rc = rn_write_cleaned_config(&s, &err);
  if (rc) goto done;
  rc = rn_resolve_inputs(&s, &err);
  if (rc) goto done;
  if (run->ctx->cancelled) {
    rc = os_fail(&err, OSIRIS_ECANCEL, "step %s: interrupted", ms->id);
    goto done;
  }

  s.t0_ms = os_now_ms();
  rc = s.driver->run(&s);
  if (rc == OSIRIS_OK && run->ctx->cancelled) {
    rc = OSIRIS_ECANCEL;
    osiris_step_fail(&s, rc, "interrupted");
  }
  if (rc) {
    if (!s.error[0]) osiris_step_fail(&s, rc, "driver %s failed (%s)", ms->driver, osiris_rc_name(rc));
    os_fail(&err, rc, "step %s: %s", ms->id, s.error);
    goto done;
  }
  if (s.output) {
    st->frame = s.output;
    st->had_frame = 1;
    st->rows_out = (int64_t)osiris_frame_rows(s.output);
    s.output = NULL;
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_int(f, "rows", st->rows_out);
    }
    ss_event(&run->ss, "rows_out", f);
    if (rn_should_spill(run, st->frame)) {
      rc = rn_spill(run, idx, &err);
      if (rc) goto done;
    }
    if (st->consumers_left == 0 && st->frame) { /* nobody downstream: free it now */
      osiris_frame_free(st->frame);
      st->frame = NULL;
    }
  }

done:
  st->duration_ms = os_now_ms() - t0;
  rn_release_upstream(run, idx);
  if (rc) {
    char *clean = ss_scrub(&run->ss, err.msg, strlen(err.msg), NULL);
    st->status = RN_FAILED;
    st->error = os_strdup(clean ? clean : err.msg);
    st->error_rc = rc;
    os_free(clean);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "driver", ms->driver);
      js_set_str(f, "error", st->error ? st->error : "");
      js_set_str(f, "error_type", osiris_rc_name(rc));
      js_set_int(f, "duration_ms", (int64_t)st->duration_ms);
    }
    ss_event(&run->ss, "step_failed", f);
    ss_log(&run->ss, 3, "%s", st->error ? st->error : "step failed");
    ss_metric(&run->ss, "step_duration_ms", st->duration_ms, "ms", ms->id);
    rn_set_error(run, rc, ms->id, rc == OSIRIS_ECONN ? "connection_failed" : "execution_failed",
                 st->error ? st->error : "step failed");
  } else {
    int64_t processed =
        st->had_frame ? st->rows_out : (st->rows_written ? st->rows_written : st->rows_in);
    st->status = RN_SUCCESS;
    run->steps_completed++;
    ss_metric(&run->ss, "rows_processed", (double)processed, "rows", ms->id);
    ss_metric(&run->ss, "step_duration_ms", st->duration_ms, "ms", ms->id);
    ss_metric(&run->ss, "memory_usage_mb", os_peak_rss_mb(), "MB", ms->id);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", ms->id);
      js_set_str(f, "driver", ms->driver);
      js_set_int(f, "rows_processed", processed);
      js_set_int(f, "duration_ms", (int64_t)st->duration_ms);
    }
    ss_event(&run->ss, "step_complete", f);
    ss_log(&run->ss, 1, "step %s completed: %" PRId64 " rows in %.1f ms", ms->id, processed,
           st->duration_ms);
  }
  os_free(conn_ref);
  rn_step_release(&s);
  return rc;
}

static void rn_skip_rest(osiris_run *run, const char *failed_id) {
  size_t i;
  for (i = 0; i < run->mf->n_steps; i++) {
    size_t idx = run->order[i];
    osiris_json *f;
    char *reason;
    if (run->st[idx].status != RN_PENDING) continue;
    run->st[idx].status = RN_SKIPPED;
    reason = os_asprintf("step %s failed", failed_id);
    f = rn_fields();
    if (f) {
      js_set_str(f, "step_id", run->mf->steps[idx].id);
      js_set_str(f, "reason", reason ? reason : "an earlier step failed");
    }
    os_free(reason);
    ss_event(&run->ss, "step_skipped", f);
  }
}

/* The local execution: every step in order, stop at the first failure. */
osiris_rc osiris_run_execute_local(osiris_run *run) {
  size_t i;
  for (i = 0; i < run->mf->n_steps; i++) {
    size_t idx = run->order[i];
    osiris_rc rc;
    if (run->ctx->cancelled) {
      rn_set_error(run, OSIRIS_ECANCEL, NULL, "interrupted", "the run was interrupted");
      rn_skip_rest(run, "(interrupted)");
      return OSIRIS_ECANCEL;
    }
    rc = rn_exec_step(run, idx);
    if (rc) {
      rn_skip_rest(run, run->mf->steps[idx].id);
      return rc;
    }
  }
  return OSIRIS_OK;
}

/* Rows that crossed the pipeline's edges: what writers wrote, or what
 * extractors read when nothing was written. */
static int64_t rn_total_rows(const osiris_run *run) {
  size_t i, n = run->mf ? run->mf->n_steps : 0;
  int64_t written = 0, read = 0;
  int has_writer = 0;
  for (i = 0; i < n; i++) {
    if (run->st[i].rows_written) has_writer = 1;
    written += run->st[i].rows_written;
    read += run->st[i].rows_read;
  }
  return has_writer ? written : read;
}

/* The closing events and metrics, emitted where the steps ran (in-process
 * for a local run, in the worker for a remote one). */
static void rn_finish(osiris_run *run) {
  osiris_json *f;
  run->duration_ms = os_now_ms() - run->ss.start_ms;
  ss_event(&run->ss, "cleanup_start", rn_fields());
  f = rn_fields();
  if (f) {
    js_set_int(f, "steps_executed", (int64_t)run->steps_completed);
    js_set_int(f, "total_rows", rn_total_rows(run));
  }
  ss_event(&run->ss, "cleanup_complete", f);
  ss_metric(&run->ss, "steps_completed", (double)run->steps_completed, "steps", NULL);
  ss_metric(&run->ss, "execution_duration", run->duration_ms / 1000.0, "seconds", NULL);
}

/* status.json and run_card.json from the run's step states; with announce,
 * also run_complete and session_duration_seconds (the host's last words;
 * a worker writes its files silently so that nothing is said twice). */
static osiris_rc rn_write_results(osiris_run *run, int announce) {
  osiris_json *status = NULL, *card = NULL, *steps = NULL, *f;
  os_err err = {0};
  size_t i, n = run->mf ? run->mf->n_steps : 0;
  int64_t total_rows = rn_total_rows(run), rows_in = 0, rows_out = 0;
  osiris_rc rc = OSIRIS_OK;

  run->duration_ms = os_now_ms() - run->ss.start_ms;
  status = rn_fields();
  card = rn_fields();
  steps = js_alloc(OSIRIS_JSON_ARRAY);
  if (!status || !card || !steps) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  js_set_bool(status, "ok", run->ok);
  js_set_int(status, "exit_code", run->ok ? 0 : 1);
  js_set_int(status, "steps_completed", (int64_t)run->steps_completed);
  js_set_int(status, "steps_total", (int64_t)n);
  js_set_str(status, "session_id", run->ss.id);
  js_set_str(status, "adapter", run->adapter ? run->adapter->name : "local");
  js_set_str(status, "sandbox_id",
             run->sandbox_id ? run->sandbox_id : run->adapter ? run->adapter->name : "local");
  js_set_str(status, "reason", run->ok ? "" : (run->reason ? run->reason : "execution_failed"));
  if (run->ok) {
    osiris_json_set(status, "error", js_alloc(OSIRIS_JSON_NULL));
  } else {
    osiris_json *e = rn_fields();
    if (e) {
      if (run->failed_step)
        js_set_str(e, "step_id", run->failed_step);
      else
        osiris_json_set(e, "step_id", js_alloc(OSIRIS_JSON_NULL));
      js_set_str(e, "message", run->error);
      js_set_str(e, "code", osiris_rc_name(run->rc));
    }
    osiris_json_set(status, "error", e);
  }
  js_set_int(status, "duration_ms", (int64_t)run->duration_ms);
  js_set_int(status, "total_rows", total_rows);
  js_set_bool(status, "events_jsonl_exists", 1);

  for (i = 0; i < n; i++) {
    rn_state *st = &run->st[i];
    osiris_json *sj = rn_fields();
    if (!sj) continue;
    js_set_str(sj, "step_id", run->mf->steps[i].id);
    js_set_str(sj, "driver", run->mf->steps[i].driver);
    js_set_str(sj, "status", rn_status_name(st->status));
    js_set_int(sj, "rows_in", st->rows_in);
    js_set_int(sj, "rows_out", st->rows_out);
    js_set_int(sj, "duration_ms", (int64_t)st->duration_ms);
    js_set_bool(sj, "has_df_in_memory", st->had_frame && !st->spill_path);
    js_set_bool(sj, "spill_used", st->spill_path != NULL);
    if (st->spill_path) {
      osiris_json *paths = js_alloc(OSIRIS_JSON_ARRAY);
      char *rel = rn_rel(run, st->spill_path);
      if (paths && rel) js_push_str(paths, rel);
      os_free(rel);
      osiris_json_set(sj, "spill_paths", paths);
    } else {
      osiris_json_set(sj, "spill_paths", js_alloc(OSIRIS_JSON_NULL));
    }
    osiris_json_set(sj, "artifacts", osiris_json_copy(st->artifacts));
    if (st->error) js_set_str(sj, "error", st->error);
    rows_in += st->rows_in;
    rows_out += st->rows_out;
    osiris_json_push(steps, sj);
  }
  js_set_str(card, "session_id", run->ss.id);
  js_set_str(card, "pipeline_id", run->mf && run->mf->pipeline_id ? run->mf->pipeline_id : "");
  js_set_str(card, "adapter", run->adapter ? run->adapter->name : "local");
  js_set_str(card, "status", run->ok ? "success" : "failed");
  js_set_int(card, "duration_ms", (int64_t)run->duration_ms);
  js_set_int(card, "rows_in", rows_in);
  js_set_int(card, "rows_out", rows_out);
  osiris_json_set(card, "steps", steps);
  steps = NULL;

  rc = ss_write_json(&run->ss, "run_card.json", card, &err);
  if (!rc) rc = ss_write_json(&run->ss, "status.json", status, &err);
  osiris_json_free(run->status);
  run->status = status;
  status = NULL;
  if (rc) ss_log(&run->ss, 3, "%s", err.msg);
  if (!announce) goto done;
  f = rn_fields();
  if (f) {
    js_set_str(f, "pipeline_id", run->mf && run->mf->pipeline_id ? run->mf->pipeline_id : "");
    js_set_str(f, "status", run->ok ? "success" : "failed");
    js_set_int(f, "steps_completed", (int64_t)run->steps_completed);
    js_set_int(f, "steps_total", (int64_t)n);
    js_set_int(f, "duration_ms", (int64_t)run->duration_ms);
  }
  ss_event(&run->ss, "run_complete", f);
  ss_metric(&run->ss, "session_duration_seconds", (os_now_ms() - run->ss.start_ms) / 1000.0,
            "seconds", NULL);
done:
  osiris_json_free(status);
  osiris_json_free(card);
  osiris_json_free(steps);
  return rc;
}

/* ---------------------------------------------------------- local adapter */

/* The host half of prepare, shared by every adapter: load the manifest
 * and materialize manifest.yaml and cfg/ into the run directory. */
static osiris_rc rn_prepare_host(osiris_run *run, os_err *err) {
  osiris_rc rc = rn_load(run, err);
  if (!rc) rc = rn_materialize(run, err);
  return rc;
}

/* The half of prepare that runs where the steps run: the drivers. */
static osiris_rc rn_prepare_exec(osiris_run *run, os_err *err) {
  osiris_rc rc = rn_check_drivers(run, err);
  if (!rc) ss_metric(&run->ss, "steps_total", (double)run->mf->n_steps, "steps", NULL);
  return rc;
}

static osiris_rc rn_local_prepare(osiris_run *run) {
  os_err err = {0};
  osiris_rc rc = rn_prepare_host(run, &err);
  if (!rc) rc = rn_prepare_exec(run, &err);
  if (rc) {
    rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
    ss_log(&run->ss, 3, "%s", run->error);
  }
  run->prepared = rc == OSIRIS_OK;
  return rc;
}

static osiris_rc rn_local_collect(osiris_run *run) {
  if (run->prepared) rn_finish(run);
  return rn_write_results(run, 1);
}

static const osiris_adapter rn_local_adapter = {"local", rn_local_prepare,
                                                osiris_run_execute_local, rn_local_collect};

/* ======================================================================
 * 15. Worker protocol
 *
 * The worker reads one JSON command a line (ping, prepare, exec_step,
 * cleanup) and answers each with {"type":"response","cmd":<name>,"ok":..}
 * on out_fd, interleaved with the events, metrics and logs of the same
 * runner as {"type":"event"|"metric"|"log",...} lines.  A failed step
 * answers ok:false with its error; the commands after it still get
 * answers, so the host never waits for a line that will not come.
 * ====================================================================== */

static void wk_respond(int fd, const char *cmd, int ok, osiris_json *extra, const char *error) {
  osiris_json *r = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  size_t i;
  if (!r) goto done;
  js_set_str(r, "type", "response");
  js_set_str(r, "cmd", cmd ? cmd : "");
  js_set_bool(r, "ok", ok);
  if (error) js_set_str(r, "error", error);
  if (extra)
    for (i = 0; i < extra->u.c.n; i++)
      osiris_json_set(r, extra->u.c.keys[i], osiris_json_copy(extra->u.c.items[i]));
  if (!js_dump(&b, r, 0) && !ob_putc(&b, '\n')) {
    const char *p = b.p;
    size_t left = b.len;
    while (left > 0) {
      ssize_t w = write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      p += w;
      left -= (size_t)w;
    }
  }
done:
  ob_free(&b);
  osiris_json_free(r);
  osiris_json_free(extra);
}

static void rn_free(osiris_run *run);
static osiris_run *rn_new(osiris_ctx *ctx);

osiris_rc osiris_worker_run(osiris_ctx *ctx, const char *commands_path, const char *session_dir,
                            int out_fd) {
  char *text = NULL, *line, *next;
  size_t len = 0;
  os_err err = {0};
  osiris_run *run = NULL;
  osiris_rc rc, result = OSIRIS_OK;
  int cleaned = 0;
  if (!ctx || !commands_path || !session_dir) return OSIRIS_EUSAGE;
  rc = os_read_file(commands_path, &text, &len, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    return rc;
  }
  for (line = text; line && *line; line = next) {
    osiris_json *cmd = NULL, *extra;
    const char *name;
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (!*line) continue;
    rc = js_parse(line, strlen(line), "commands.jsonl", &cmd, &err);
    if (rc) {
      wk_respond(out_fd, "", 0, NULL, err.msg);
      result = rc;
      continue;
    }
    name = js_gets(cmd, "cmd");
    if (os_streq(name, "ping")) {
      extra = rn_fields();
      if (extra) osiris_json_set(extra, "echo", osiris_json_copy(osiris_json_get(cmd, "data")));
      wk_respond(out_fd, "ping", 1, extra, NULL);
    } else if (os_streq(name, "prepare")) {
      const char *manifest = js_gets(cmd, "manifest");
      const char *sid = js_gets(cmd, "session_id");
      if (run) {
        wk_respond(out_fd, "prepare", 0, NULL, "prepare was already done");
        result = OSIRIS_EUSAGE;
      } else if (!manifest) {
        wk_respond(out_fd, "prepare", 0, NULL, "prepare needs a manifest path");
        result = OSIRIS_EUSAGE;
      } else if (!(run = rn_new(ctx))) {
        wk_respond(out_fd, "prepare", 0, NULL, "out of memory");
        result = OSIRIS_ENOMEM;
      } else {
        rc = ss_open_session(&run->ss, ctx, NULL, session_dir, sid, 0, out_fd, &err);
        if (!rc) {
          run->source_manifest = os_path_abs(run->ss.dir, manifest);
          rc = run->source_manifest ? rn_load(run, &err) : OSIRIS_ENOMEM;
        }
        if (!rc) rc = rn_prepare_exec(run, &err);
        if (rc) {
          rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
          wk_respond(out_fd, "prepare", 0, NULL, err.msg);
          result = rc;
        } else {
          run->prepared = 1;
          extra = rn_fields();
          if (extra) {
            js_set_str(extra, "session_id", run->ss.id);
            js_set_int(extra, "steps", (int64_t)run->mf->n_steps);
          }
          wk_respond(out_fd, "prepare", 1, extra, NULL);
        }
      }
    } else if (os_streq(name, "exec_step")) {
      const char *sid = js_gets(cmd, "step_id");
      size_t idx = run && run->prepared && sid ? rn_step_index(run->mf, sid) : (size_t)-1;
      extra = rn_fields();
      if (extra && sid) js_set_str(extra, "step_id", sid);
      if (idx == (size_t)-1) {
        wk_respond(out_fd, "exec_step", 0, extra, run && run->prepared ? "unknown step" : "not prepared");
        result = result ? result : OSIRIS_EUSAGE;
      } else if (run->rc) {
        run->st[idx].status = RN_SKIPPED;
        wk_respond(out_fd, "exec_step", 0, extra, "skipped: an earlier step failed");
      } else {
        rc = rn_exec_step(run, idx);
        if (extra) {
          js_set_int(extra, "rows_processed", run->st[idx].had_frame ? run->st[idx].rows_out
                                                                     : run->st[idx].rows_written);
          js_set_int(extra, "duration_ms", (int64_t)run->st[idx].duration_ms);
        }
        wk_respond(out_fd, "exec_step", rc == OSIRIS_OK, extra, rc ? run->st[idx].error : NULL);
        if (rc) {
          rn_skip_rest(run, sid);
          result = rc;
        }
      }
    } else if (os_streq(name, "cleanup")) {
      if (run && run->prepared) {
        if (!run->rc) run->ok = 1;
        rn_finish(run);
        rn_write_results(run, 0);
        cleaned = 1;
      }
      extra = rn_fields();
      if (extra && run) js_set_int(extra, "steps_completed", (int64_t)run->steps_completed);
      wk_respond(out_fd, "cleanup", run != NULL, extra, run ? NULL : "not prepared");
    } else {
      wk_respond(out_fd, name ? name : "", 0, NULL, "unknown command");
      result = result ? result : OSIRIS_EUSAGE;
    }
    osiris_json_free(cmd);
  }
  if (run && run->prepared && !cleaned) {
    if (!run->rc) run->ok = 1;
    rn_finish(run);
    rn_write_results(run, 0);
  }
  if (run && run->rc && !result) result = run->rc;
  rn_free(run);
  os_free(text);
  return result;
}

/* ======================================================================
 * 17. Public API
 *
 * Contexts, adapters and runs.  osiris_run_pipeline is the one entry point
 * every adapter shares: compile when given OML, open the session, then
 * prepare -> execute -> collect, collect on every path.
 * ====================================================================== */

static void rm_register_adapters(osiris_ctx *ctx); /* section 16 */

osiris_ctx *osiris_ctx_new(const char *base_dir) {
  osiris_ctx *ctx = os_calloc(1, sizeof *ctx);
  if (!ctx) return NULL;
  ctx->base_dir = os_path_abs(NULL, base_dir ? base_dir : ".");
  if (!ctx->base_dir) {
    os_free(ctx);
    return NULL;
  }
  ctx->adapters[ctx->n_adapters++] = &rn_local_adapter;
  rm_register_adapters(ctx);
  return ctx;
}

void osiris_ctx_free(osiris_ctx *ctx) {
  if (!ctx) return;
  osiris_json_free(ctx->dotenv);
  os_free(ctx->base_dir);
  os_free(ctx);
}

const char *osiris_ctx_error(const osiris_ctx *ctx) { return ctx ? ctx->err : "no context"; }
void osiris_ctx_cancel(osiris_ctx *ctx) {
  if (ctx) ctx->cancelled = 1;
}
void osiris_ctx_set_log(osiris_ctx *ctx, osiris_log_fn fn, void *user) {
  ctx->log_fn = fn;
  ctx->log_user = user;
}
void osiris_ctx_set_progress(osiris_ctx *ctx, osiris_progress_fn fn, void *user) {
  ctx->progress_fn = fn;
  ctx->progress_user = user;
}

osiris_rc osiris_adapter_register(osiris_ctx *ctx, const osiris_adapter *a) {
  size_t i;
  if (!ctx || !a || !a->name || !a->prepare || !a->execute || !a->collect) return OSIRIS_EINVAL;
  for (i = 0; i < ctx->n_adapters; i++)
    if (strcmp(ctx->adapters[i]->name, a->name) == 0) {
      ctx->adapters[i] = a;
      return OSIRIS_OK;
    }
  if (ctx->n_adapters == OS_MAX_ADAPTERS) return OSIRIS_ELIMIT;
  ctx->adapters[ctx->n_adapters++] = a;
  return OSIRIS_OK;
}

const osiris_adapter *osiris_adapter_find(const osiris_ctx *ctx, const char *name) {
  size_t i;
  if (!ctx || !name) return NULL;
  for (i = 0; i < ctx->n_adapters; i++)
    if (strcmp(ctx->adapters[i]->name, name) == 0) return ctx->adapters[i];
  return NULL;
}

static osiris_run *rn_new(osiris_ctx *ctx) {
  osiris_run *run = os_calloc(1, sizeof *run);
  if (!run) return NULL;
  run->ctx = ctx;
  ss_session_init(&run->ss);
  return run;
}

static void rn_free(osiris_run *run) {
  size_t i;
  if (!run) return;
  if (run->mf && run->st)
    for (i = 0; i < run->mf->n_steps; i++) {
      osiris_frame_free(run->st[i].frame);
      os_free(run->st[i].input_key);
      os_free(run->st[i].error);
      os_free(run->st[i].spill_path);
      osiris_json_free(run->st[i].artifacts);
    }
  os_free(run->st);
  os_free(run->order);
  mf_free(run->mf);
  ss_close(&run->ss);
  os_free(run->logs_dir);
  os_free(run->source_manifest);
  os_free(run->profile);
  os_free(run->pipeline_id);
  os_free(run->e2b_template);
  os_free(run->sandbox_id);
  os_free(run->failed_step);
  os_free(run->reason);
  osiris_json_free(run->status);
  os_free(run);
}

void osiris_run_free(osiris_run *run) { rn_free(run); }

/* Decide whether path is a compiled manifest or OML; compile OML into a
 * fresh compile directory.  *manifest is owned. */
static osiris_rc rn_manifest_for(osiris_ctx *ctx, const char *path, const osiris_run_opts *o,
                                 char **manifest, char **pipeline_id, char **profile) {
  osiris_json *doc = NULL, *result = NULL;
  os_err err = {0};
  osiris_rc rc;
  char *abs = os_path_abs(ctx->base_dir, path);
  *manifest = NULL;
  if (!abs) return OSIRIS_ENOMEM;
  rc = ym_read_file(abs, &doc, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    goto done;
  }
  if (mf_is_manifest(doc)) {
    *pipeline_id = os_strdup(js_gets(osiris_json_get(doc, "pipeline"), "id"));
    *profile = os_strdup(js_gets(osiris_json_get(doc, "meta"), "profile"));
    *manifest = abs;
    abs = NULL;
    goto done;
  }
  {
    osiris_compile_opts co;
    memset(&co, 0, sizeof co);
    co.profile = o->profile;
    co.params = o->params;
    co.logs_dir = o->logs_dir;
    rc = cp_compile(ctx, abs, &co, &result, &err);
  }
  if (rc) {
    if (err.msg[0]) snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    goto done;
  }
  *manifest = os_strdup(js_gets(result, "manifest_path"));
  *pipeline_id = os_strdup(js_gets(result, "pipeline_id"));
  *profile = os_strdup(js_gets(result, "profile"));
  if (!*manifest) rc = OSIRIS_ENOMEM;
done:
  osiris_json_free(doc);
  osiris_json_free(result);
  os_free(abs);
  return rc;
}

osiris_rc osiris_run_pipeline(osiris_ctx *ctx, const char *path, const osiris_run_opts *opts,
                              osiris_run **out) {
  osiris_run_opts defaults;
  const osiris_run_opts *o = opts;
  osiris_run *run = NULL;
  char *manifest = NULL, *pipeline_id = NULL, *profile = NULL;
  os_err err = {0};
  osiris_json *f;
  osiris_rc rc;
  if (out) *out = NULL;
  if (!ctx || !path || !out) return OSIRIS_EUSAGE;
  if (!o) {
    memset(&defaults, 0, sizeof defaults);
    o = &defaults;
  }
  ctx->err[0] = 0;
  {
    const osiris_adapter *a = osiris_adapter_find(ctx, o->adapter ? o->adapter : "local");
    if (!a) {
      snprintf(ctx->err, sizeof ctx->err, "unknown adapter '%s'", o->adapter);
      return OSIRIS_EUSAGE;
    }
    rc = rn_manifest_for(ctx, path, o, &manifest, &pipeline_id, &profile);
    if (rc || !(run = rn_new(ctx))) {
      os_free(manifest);
      os_free(pipeline_id);
      os_free(profile);
      return rc ? rc : OSIRIS_ENOMEM;
    }
    run->pipeline_id = pipeline_id;
    run->profile = profile;
    run->e2b_template = o->e2b_template ? os_strdup(o->e2b_template) : NULL;
    run->timeout_s = o->timeout_s;
    run->install_deps = o->install_deps;
    run->adapter = a;
  }
  run->source_manifest = manifest;
  rc = ss_open_session(&run->ss, ctx, o->logs_dir, NULL, NULL, o->verbose, -1, &err);
  if (rc) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    rn_free(run);
    return rc;
  }
  *out = run;
  f = rn_fields();
  if (f) {
    js_set_str(f, "session_id", run->ss.id);
    js_set_str(f, "session_dir", run->ss.dir);
    js_set_str(f, "pipeline_id", run->pipeline_id ? run->pipeline_id : "");
    js_set_str(f, "manifest_path", run->source_manifest);
    js_set_str(f, "profile", run->profile ? run->profile : "");
    js_set_str(f, "adapter", run->adapter->name);
  }
  ss_event(&run->ss, "run_start", f);
  ss_log(&run->ss, 1, "run %s started: %s (adapter %s)", run->ss.id, run->source_manifest,
         run->adapter->name);

  rc = run->adapter->prepare(run);
  if (!rc) rc = run->adapter->execute(run);
  if (!rc && !run->rc) run->ok = 1;
  if (rc && !run->rc) rn_set_error(run, rc, NULL, "execution_failed", osiris_rc_name(rc));
  {
    osiris_rc crc = run->adapter->collect(run);
    if (!rc && crc) {
      rc = crc;
      run->ok = 0;
    }
  }
  if (run->ok)
    ss_log(&run->ss, 1, "run %s succeeded (%zu/%zu steps)", run->ss.id, run->steps_completed,
           run->mf ? run->mf->n_steps : (size_t)0);
  else
    snprintf(ctx->err, sizeof ctx->err, "%s", run->error);
  return run->ok ? OSIRIS_OK : (run->rc ? run->rc : rc);
}

/* One connection: resolve, find a driver of its family that can check,
 * time the check, scrub the connection's secrets from the message. */
static osiris_json *rn_doctor_one(osiris_ctx *ctx, const char *family, const char *alias) {
  osiris_json *r = rn_fields(), *conn = NULL;
  char *ref = os_asprintf("@%s.%s", family, alias), *alias_out = NULL;
  const osiris_driver *checker = NULL;
  char msg[OS_ERR_CAP] = "";
  os_err err = {0};
  ss_session scrub;
  size_t i;
  int ok = 0;
  double t0;
  ss_session_init(&scrub);
  if (!r || !ref) goto done;
  js_set_str(r, "ref", ref);
  js_set_str(r, "family", family);
  js_set_str(r, "alias", alias);
  for (i = 0; i < ctx->n_drivers && !checker; i++)
    if (ctx->drivers[i]->check && os_streq(ctx->drivers[i]->family, family)) checker = ctx->drivers[i];
  t0 = os_now_ms();
  if (cn_resolve(ctx, ref, family, &conn, &alias_out, &err)) {
    snprintf(msg, sizeof msg, "%s", err.msg);
  } else if (!checker) {
    snprintf(msg, sizeof msg, "no driver can check connections of family '%s'", family);
    ok = -1; /* nothing to check (filesystem, ...): not a failure */
  } else {
    ss_add_secrets_of(&scrub, conn);
    ok = checker->check(conn, msg, sizeof msg) == OSIRIS_OK;
  }
  js_set_int(r, "latency_ms", (int64_t)(os_now_ms() - t0));
  if (ok == -1) {
    js_set_bool(r, "ok", 1);
    js_set_bool(r, "skipped", 1);
    js_set_str(r, "note", msg);
  } else {
    js_set_bool(r, "ok", ok);
    if (!ok) {
      char *clean = ss_scrub(&scrub, msg, strlen(msg), NULL);
      js_set_str(r, "error", clean ? clean : msg);
      os_free(clean);
    }
  }
done:
  ss_close(&scrub);
  osiris_json_free(conn);
  os_free(alias_out);
  os_free(ref);
  return r;
}

osiris_rc osiris_connections_doctor(osiris_ctx *ctx, const char *ref, osiris_json **report) {
  osiris_json *list = NULL, *out = NULL, *arr = NULL;
  const osiris_json *conns;
  char fam[128] = "", alias[128] = "";
  os_err err = {0};
  size_t i, j;
  int all_ok = 1;
  if (!ctx || !report) return OSIRIS_EUSAGE;
  *report = NULL;
  if (ref && !cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias)) {
    snprintf(ctx->err, sizeof ctx->err, "invalid connection reference '%s' (want @family.alias)", ref);
    return OSIRIS_EUSAGE;
  }
  if (cn_list(ctx, &list, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    return err.rc ? err.rc : OSIRIS_EIO;
  }
  out = rn_fields();
  arr = js_alloc(OSIRIS_JSON_ARRAY);
  if (!out || !arr) goto oom;
  osiris_json_set(out, "file", osiris_json_copy(osiris_json_get(list, "file")));
  conns = osiris_json_get(list, "connections");
  for (i = 0; i < osiris_json_size(conns); i++) {
    const char *f = osiris_json_key_at(conns, i);
    const osiris_json *aliases = osiris_json_at(conns, i);
    if (ref && strcmp(f, fam) != 0) continue;
    for (j = 0; j < osiris_json_size(aliases); j++) {
      const char *a = osiris_json_key_at(aliases, j);
      osiris_json *one;
      if (ref && *alias && strcmp(a, alias) != 0) continue;
      if (ref && !*alias && !osiris_json_bool(osiris_json_get(osiris_json_at(aliases, j), "default"), 0) &&
          strcmp(a, "default") != 0)
        continue;
      one = rn_doctor_one(ctx, f, a);
      if (!one) goto oom;
      if (!osiris_json_bool(osiris_json_get(one, "ok"), 0)) all_ok = 0;
      osiris_json_push(arr, one);
    }
  }
  if (ref && osiris_json_size(arr) == 0) {
    snprintf(ctx->err, sizeof ctx->err, "connection %s not found", ref);
    osiris_json_free(list);
    osiris_json_free(out);
    osiris_json_free(arr);
    return OSIRIS_ENOTFOUND;
  }
  osiris_json_set(out, "connections", arr);
  osiris_json_free(list);
  *report = out;
  return all_ok ? OSIRIS_OK : OSIRIS_ECONN;
oom:
  osiris_json_free(list);
  osiris_json_free(out);
  osiris_json_free(arr);
  return OSIRIS_ENOMEM;
}

const char *osiris_run_session_id(const osiris_run *run) { return run->ss.id; }
const char *osiris_run_dir(const osiris_run *run) { return run->ss.dir; }
int osiris_run_ok(const osiris_run *run) { return run && run->ok; }
const char *osiris_run_error(const osiris_run *run) { return run->ok ? "" : run->error; }
const char *osiris_run_failed_step(const osiris_run *run) { return run->failed_step; }
const osiris_json *osiris_run_status(const osiris_run *run) { return run->status; }
osiris_ctx *osiris_run_ctx(osiris_run *run) { return run->ctx; }
