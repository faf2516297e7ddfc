/* ======================================================================
 * 10. Telemetry, session and masking
 *
 * A session is one run directory and its streams.  Every line a session
 * writes -- events, metrics, logs, the files the runner materializes --
 * passes through ss_scrub, which replaces each known secret value with
 * ***MASKED***; secret keys are masked before serialization (mk_*).  So a
 * value that reached the session as a secret never reaches the disk, even
 * inside an error message.  Event and metric lines are written with one
 * write(2) each on O_APPEND descriptors, so a line is never torn.  In
 * worker mode the same lines go to one descriptor as JSON objects with a
 * "type" field (section 15).
 * ====================================================================== */

#define MK_MASK "***MASKED***"

static int mk_ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
  return *a == *b;
}

static int mk_in_list(const char *key, const char *const *list) {
  size_t i;
  for (i = 0; list[i]; i++)
    if (mk_ieq(key, list[i])) return 1;
  return 0;
}

/* Keys whose values compile refuses inline and drops from cfg (reference
 * section 3); primary_key and url are never secrets. */
static int mk_is_secret_key(const char *key) {
  static const char *const secret[] = {
      "password", "passwd", "pwd", "token", "secret", "secret_key", "service_key",
      "service_role_key", "api_key", "access_token", "refresh_token", "auth_token",
      "bearer_token", "client_secret", "client_key", "key", "dsn", "connection_string",
      "anon_key", "pg_dsn", "sql_dsn", "pg_password", NULL};
  if (!key || mk_ieq(key, "primary_key") || mk_ieq(key, "url")) return 0;
  return mk_in_list(key, secret);
}

/* Keys masked wherever osiris shows or writes a value: the exact name, or
 * any "_"-separated part of it, from the list below (reference section 9). */
static int mk_is_masked_key(const char *key) {
  static const char *const parts[] = {
      "password", "passwd", "pass", "pwd", "secret", "key", "token", "auth", "credential",
      "credentials", "apikey", "dsn", "authorization", NULL};
  static const char *const whole[] = {
      "api_key", "access_token", "refresh_token", "private_key", "client_secret",
      "service_role_key", "anon_key", "access_key_id", "secret_access_key",
      "connection_string", "pg_dsn", "sql_dsn", NULL};
  static const char *const never[] = {"primary_key", "foreign_key", "sort_key", "partition_key",
                                      "unique_key", "key_columns", "tokens", NULL};
  char part[128];
  const char *p;
  if (!key || !*key || mk_in_list(key, never)) return 0;
  if (mk_in_list(key, whole)) return 1;
  p = key;
  while (*p) {
    size_t n = strcspn(p, "_-.");
    if (n > 0 && n < sizeof part) {
      memcpy(part, p, n);
      part[n] = 0;
      if (mk_in_list(part, parts)) return 1;
    }
    p += n;
    if (*p) p++;
  }
  return 0;
}

/* Deep copy with every value under a masked key replaced.  A string that is
 * an environment reference ("${VAR}") is shown as written: it names a
 * variable, it is not the secret. */
/* "${NAME}" exactly: a reference to a variable, shown as written.  With an
 * inline default ("${NAME:-x}") the default is a literal and is masked. */
static int mk_is_env_ref(const char *s) {
  size_t i = 2;
  if (!os_startswith(s, "${") || !(isalpha((unsigned char)s[2]) || s[2] == '_')) return 0;
  while (isalnum((unsigned char)s[i]) || s[i] == '_') i++;
  return s[i] == '}' && s[i + 1] == 0;
}

static osiris_json *mk_mask_copy(const osiris_json *v) {
  osiris_json *out;
  size_t i;
  if (!v) return NULL;
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return osiris_json_copy(v);
  out = js_alloc(v->kind);
  if (!out) return NULL;
  for (i = 0; i < v->u.c.n; i++) {
    const osiris_json *item = v->u.c.items[i];
    osiris_json *copy;
    osiris_rc rc;
    if (v->kind == OSIRIS_JSON_OBJECT && mk_is_masked_key(v->u.c.keys[i]) &&
        item->kind != OSIRIS_JSON_NULL &&
        !(item->kind == OSIRIS_JSON_STRING && mk_is_env_ref(item->u.s.ptr)) &&
        item->kind != OSIRIS_JSON_OBJECT)
      copy = osiris_json_new_str(MK_MASK, strlen(MK_MASK));
    else
      copy = mk_mask_copy(item);
    if (!copy) goto fail;
    rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, v->u.c.keys[i], copy)
                                       : osiris_json_push(out, copy);
    if (rc) goto fail;
  }
  return out;
fail:
  osiris_json_free(out);
  return NULL;
}

/* ---------------------------------------------------------------- session */

typedef struct ss_session {
  osiris_ctx *ctx;
  char *id;            /* YYYYMMDD_HHMMSS_<8 hex>, UTC */
  char *dir;           /* absolute run directory */
  int events_fd;       /* -1 in worker mode */
  int metrics_fd;
  int log_fd;          /* osiris.log */
  int debug_fd;        /* debug.log (verbose only), else -1 */
  int worker_fd;       /* >= 0: lines go here as {"type":...} objects */
  int verbose;
  char **secrets;      /* values scrubbed from every line */
  size_t n_secrets, cap_secrets;
  int64_t start_us;
  double start_ms;
} ss_session;

static void ss_session_init(ss_session *ss) {
  memset(ss, 0, sizeof *ss);
  ss->events_fd = ss->metrics_fd = ss->log_fd = ss->debug_fd = ss->worker_fd = -1;
}

static void ss_new_id(char *out, size_t cap) {
  time_t now = time(NULL);
  struct tm tm;
  char hex[9];
  gmtime_r(&now, &tm);
  os_random_hex(hex, 8);
  snprintf(out, cap, "%04d%02d%02d_%02d%02d%02d_%s", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, hex);
}

static osiris_rc ss_push_secret(ss_session *ss, const char *value) {
  size_t i;
  for (i = 0; i < ss->n_secrets; i++)
    if (strcmp(ss->secrets[i], value) == 0) return OSIRIS_OK;
  if (ss->n_secrets == ss->cap_secrets) {
    size_t cap = ss->cap_secrets ? ss->cap_secrets * 2 : 8;
    char **p = os_realloc(ss->secrets, cap * sizeof *p);
    if (!p) return OSIRIS_ENOMEM;
    ss->secrets = p;
    ss->cap_secrets = cap;
  }
  ss->secrets[ss->n_secrets] = os_strdup(value);
  if (!ss->secrets[ss->n_secrets]) return OSIRIS_ENOMEM;
  ss->n_secrets++;
  return OSIRIS_OK;
}

/* Remember a secret value so that it is scrubbed from every later line.
 * Values shorter than 4 bytes are not scrubbed: they would mangle
 * ordinary text and are no secret worth the name (compile rejects inline
 * secrets by the same rule).  Lines are scrubbed after JSON serialization,
 * where a secret with a quote, a backslash or a control character appears
 * in escaped form, so that spelling is remembered too. */
static osiris_rc ss_add_secret(ss_session *ss, const char *value) {
  osiris_json *sv;
  os_buf b = {0};
  osiris_rc rc;
  if (!value || strlen(value) < 4) return OSIRIS_OK;
  rc = ss_push_secret(ss, value);
  if (rc) return rc;
  sv = osiris_json_new_str(value, strlen(value));
  if (!sv || js_dump(&b, sv, 0)) {
    rc = OSIRIS_ENOMEM;
  } else if (b.len >= 2 && (b.len - 2 != strlen(value) || memcmp(b.p + 1, value, b.len - 2))) {
    b.p[b.len - 1] = 0;
    rc = ss_push_secret(ss, b.p + 1);
  }
  osiris_json_free(sv);
  ob_free(&b);
  return rc;
}

/* The password inside "scheme://user:password@host" is a secret of its own:
 * it can reach a message without the rest of the URL. */
static osiris_rc ss_add_url_password(ss_session *ss, const char *s) {
  const char *scheme = strstr(s, "://"), *at, *colon;
  char *pw;
  osiris_rc rc;
  if (!scheme) return OSIRIS_OK;
  scheme += 3;
  at = strchr(scheme, '@');
  if (!at) return OSIRIS_OK;
  colon = memchr(scheme, ':', (size_t)(at - scheme));
  if (!colon) return OSIRIS_OK;
  pw = os_strndup(colon + 1, (size_t)(at - colon - 1));
  if (!pw) return OSIRIS_ENOMEM;
  rc = ss_add_secret(ss, pw);
  os_free(pw);
  return rc;
}

/* Register every secret value of a resolved connection (or any object). */
static osiris_rc ss_add_secrets_of(ss_session *ss, const osiris_json *v) {
  size_t i;
  osiris_rc rc;
  if (!v || v->kind != OSIRIS_JSON_OBJECT) return OSIRIS_OK;
  for (i = 0; i < v->u.c.n; i++) {
    const osiris_json *item = v->u.c.items[i];
    if (item->kind == OSIRIS_JSON_OBJECT) {
      rc = ss_add_secrets_of(ss, item);
      if (rc) return rc;
    } else if (item->kind == OSIRIS_JSON_STRING) {
      if (mk_is_masked_key(v->u.c.keys[i])) {
        rc = ss_add_secret(ss, item->u.s.ptr);
        if (rc) return rc;
      }
      rc = ss_add_url_password(ss, item->u.s.ptr);
      if (rc) return rc;
    }
  }
  return OSIRIS_OK;
}

/* Replace every known secret in s[0..n) by MK_MASK; returns an owned copy
 * or NULL when there was nothing to replace (the caller keeps s). */
static char *ss_scrub(const ss_session *ss, const char *s, size_t n, size_t *out_len) {
  os_buf b = {0};
  size_t i = 0, k;
  int changed = 0;
  if (!ss || ss->n_secrets == 0) return NULL;
  while (i < n) {
    size_t best = 0;
    for (k = 0; k < ss->n_secrets; k++) {
      size_t sl = strlen(ss->secrets[k]);
      if (sl > best && sl <= n - i && memcmp(s + i, ss->secrets[k], sl) == 0) best = sl;
    }
    if (best) {
      if (ob_puts(&b, MK_MASK)) goto oom;
      i += best;
      changed = 1;
    } else {
      if (ob_putc(&b, s[i])) goto oom;
      i++;
    }
  }
  if (!changed) {
    ob_free(&b);
    return NULL;
  }
  if (out_len) *out_len = b.len;
  return ob_take(&b);
oom:
  ob_free(&b);
  return NULL;
}

static void ss_write_line(const ss_session *ss, int fd, const char *line, size_t n) {
  char *clean;
  size_t clean_len = n;
  if (fd < 0) return;
  clean = ss_scrub(ss, line, n, &clean_len);
  if (clean) line = clean;
  {
    const char *p = line;
    size_t left = clean ? clean_len : n;
    while (left > 0) {
      ssize_t w = write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        break;
      }
      p += w;
      left -= (size_t)w;
    }
  }
  os_free(clean);
}

/* Build {"ts","session",<kind_key>:name, fields...} and write it.  fields
 * is taken over.  In worker mode the object starts with "type". */
static void ss_emit(ss_session *ss, int fd, const char *type, const char *kind_key,
                    const char *name, osiris_json *fields) {
  osiris_json *line = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  char ts[64];
  size_t i;
  if (!line) goto done;
  os_iso8601(os_wall_us(), ts);
  if (ss->worker_fd >= 0 && js_set_str(line, "type", type)) goto done;
  if (js_set_str(line, "ts", ts) || js_set_str(line, "session", ss->id ? ss->id : "") ||
      js_set_str(line, kind_key, name))
    goto done;
  if (fields && fields->kind == OSIRIS_JSON_OBJECT) {
    for (i = 0; i < fields->u.c.n; i++) {
      osiris_json *masked = NULL;
      const char *k = fields->u.c.keys[i];
      const osiris_json *fv = fields->u.c.items[i];
      if (os_streq(k, "ts") || os_streq(k, "session") || os_streq(k, kind_key)) continue;
      /* "key" alone names an input or a setting in events, not a secret. */
      masked = (fv->kind == OSIRIS_JSON_STRING && mk_is_masked_key(k) && !os_streq(k, "key"))
                   ? osiris_json_new_str(MK_MASK, strlen(MK_MASK))
                   : osiris_json_copy(fv);
      if (!masked || osiris_json_set(line, k, masked)) goto done;
    }
  }
  if (js_dump(&b, line, 0) || ob_putc(&b, '\n')) goto done;
  ss_write_line(ss, ss->worker_fd >= 0 ? ss->worker_fd : fd, b.p, b.len);
done:
  ob_free(&b);
  osiris_json_free(line);
  osiris_json_free(fields);
}

static void ss_event(ss_session *ss, const char *name, osiris_json *fields) {
  ss_emit(ss, ss->events_fd, "event", "event", name, fields);
}

static void ss_metric(ss_session *ss, const char *name, double value, const char *unit,
                      const char *step_id) {
  osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *val;
  if (!f) return;
  /* Counts print as integers; measurements keep their fraction. */
  if (value == floor(value) && fabs(value) < 9007199254740992.0)
    val = osiris_json_new_int((int64_t)value);
  else
    val = osiris_json_new_double(value);
  if (!val || osiris_json_set(f, "value", val)) goto fail;
  if (unit && js_set_str(f, "unit", unit)) goto fail;
  if (step_id) {
    osiris_json *tags = js_alloc(OSIRIS_JSON_OBJECT);
    if (!tags || js_set_str(tags, "step_id", step_id) || osiris_json_set(f, "tags", tags))
      goto fail;
  }
  ss_emit(ss, ss->metrics_fd, "metric", "metric", name, f);
  return;
fail:
  osiris_json_free(f);
}

static const char *ss_level_name(int level) {
  static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  return names[level < 0 ? 0 : level > 3 ? 3 : level];
}

static void ss_vlog(ss_session *ss, int level, const char *fmt, va_list ap) {
  char msg[4096], line[4400], stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  char *clean;
  size_t n;
  vsnprintf(msg, sizeof msg, fmt, ap);
  clean = ss_scrub(ss, msg, strlen(msg), NULL);
  if (clean) {
    snprintf(msg, sizeof msg, "%s", clean);
    os_free(clean);
  }
  if (ss->worker_fd >= 0) {
    osiris_json *f = js_alloc(OSIRIS_JSON_OBJECT);
    if (f && !js_set_str(f, "level", ss_level_name(level)) && !js_set_str(f, "message", msg))
      ss_emit(ss, -1, "log", "log", "osiris", f);
    else
      osiris_json_free(f);
    return;
  }
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  n = (size_t)snprintf(line, sizeof line, "%s - osiris - [%s] - %s - %s\n", stamp,
                       ss->id ? ss->id : "-", ss_level_name(level), msg);
  if (n >= sizeof line) n = sizeof line - 1;
  if (level >= 1) ss_write_line(ss, ss->log_fd, line, n);
  if (ss->verbose) ss_write_line(ss, ss->debug_fd, line, n);
  if (ss->ctx && ss->ctx->log_fn && (level >= 1 || ss->verbose)) {
    line[n > 0 ? n - 1 : 0] = 0;
    ss->ctx->log_fn(ss->ctx->log_user, level, line);
  }
}

static OS_PRINTF(3, 4) void ss_log(ss_session *ss, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ss_vlog(ss, level, fmt, ap);
  va_end(ap);
}

static int ss_open(const char *dir, const char *name) {
  char *path = os_path_join(dir, name);
  int fd;
  if (!path) return -1;
  fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  os_free(path);
  return fd;
}

/* Create logs_dir/run_<id>/ and open its streams.  worker_fd >= 0 selects
 * worker mode: the directory is dir itself and lines go to worker_fd. */
static osiris_rc ss_open_session(ss_session *ss, osiris_ctx *ctx, const char *logs_dir,
                                 const char *fixed_dir, const char *fixed_id, int verbose,
                                 int worker_fd, os_err *err) {
  char id[64];
  osiris_rc rc;
  ss->ctx = ctx;
  ss->verbose = verbose;
  ss->worker_fd = worker_fd;
  ss->start_us = os_wall_us();
  ss->start_ms = os_now_ms();
  if (fixed_id)
    snprintf(id, sizeof id, "%s", fixed_id);
  else
    ss_new_id(id, sizeof id);
  ss->id = os_strdup(id);
  if (fixed_dir) {
    ss->dir = os_path_abs(ctx->base_dir, fixed_dir);
  } else {
    char *logs = os_path_abs(ctx->base_dir, logs_dir ? logs_dir : "logs");
    char *name = os_asprintf("run_%s", id);
    ss->dir = logs && name ? os_path_join(logs, name) : NULL;
    os_free(logs);
    os_free(name);
  }
  if (!ss->id || !ss->dir) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_mkdir_p(ss->dir, err);
  if (rc) return rc;
  if (worker_fd < 0) {
    ss->events_fd = ss_open(ss->dir, "events.jsonl");
    ss->metrics_fd = ss_open(ss->dir, "metrics.jsonl");
    ss->log_fd = ss_open(ss->dir, "osiris.log");
    if (verbose) ss->debug_fd = ss_open(ss->dir, "debug.log");
    if (ss->events_fd < 0 || ss->metrics_fd < 0 || ss->log_fd < 0 || (verbose && ss->debug_fd < 0))
      return os_fail(err, OSIRIS_EIO, "cannot open the run files in %s: %s", ss->dir,
                     strerror(errno));
  }
  return OSIRIS_OK;
}

static void ss_close(ss_session *ss) {
  size_t i;
  if (ss->events_fd >= 0) close(ss->events_fd);
  if (ss->metrics_fd >= 0) close(ss->metrics_fd);
  if (ss->log_fd >= 0) close(ss->log_fd);
  if (ss->debug_fd >= 0) close(ss->debug_fd);
  ss->events_fd = ss->metrics_fd = ss->log_fd = ss->debug_fd = -1;
  for (i = 0; i < ss->n_secrets; i++) {
    /* Wipe before free: the process may dump core or be inspected. */
    memset(ss->secrets[i], 0, strlen(ss->secrets[i]));
    os_free(ss->secrets[i]);
  }
  os_free(ss->secrets);
  ss->secrets = NULL;
  ss->n_secrets = ss->cap_secrets = 0;
  os_free(ss->id);
  os_free(ss->dir);
  ss->id = ss->dir = NULL;
}

/* Write a JSON document into the run directory (scrubbed, pretty, with a
 * final newline); rel is relative to the run directory. */
static osiris_rc ss_write_json(ss_session *ss, const char *rel, const osiris_json *doc,
                               os_err *err) {
  os_buf b = {0};
  char *path = NULL, *clean;
  size_t clean_len = 0;
  osiris_rc rc;
  rc = js_dump(&b, doc, OSIRIS_JSON_PRETTY);
  if (!rc) rc = ob_putc(&b, '\n');
  if (rc) {
    ob_free(&b);
    return os_fail(err, rc, "cannot serialize %s", rel);
  }
  path = os_path_join(ss->dir, rel);
  if (!path) {
    ob_free(&b);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  clean = ss_scrub(ss, b.p, b.len, &clean_len);
  rc = clean ? os_write_file(path, clean, clean_len, err) : os_write_file(path, b.p, b.len, err);
  os_free(clean);
  os_free(path);
  ob_free(&b);
  return rc;
}
