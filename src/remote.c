/* ======================================================================
 * 16. Transports: subprocess and E2B
 *
 * The remote adapter runs the pipeline in osiris-worker somewhere else and
 * makes the host run directory look exactly like a local run's.  prepare
 * materializes the run on the host, then builds a package (manifest.yaml,
 * cfg/, commands.jsonl, osiris_connections.yaml whose secret values are
 * ${OSIRIS_SECRET_<n>} references, and the input files); execute ships it
 * through a transport and turns the worker's stdout JSON lines back into
 * the host session's events, metrics and log, updating the step states
 * from the events; collect downloads artifacts/ and the files writers
 * produced, then writes status.json and run_card.json like a local run.
 * Secret values exist only in host memory and in the worker process's
 * environment: never in the package, on the sandbox disk, or in a request
 * that is logged.  Every path out of execute, Ctrl-C included, ends with
 * the scratch directory removed or the sandbox deleted.
 * ====================================================================== */

#include <curl/curl.h>
#include <poll.h>
#include <sys/wait.h>

#define RM_MAX_LINE ((size_t)64 << 20)     /* one worker line */
#define RM_MAX_ENVELOPE ((size_t)64 << 20) /* one Connect envelope */
#define RM_KILL_GRACE_MS 3000.0            /* SIGTERM -> SIGKILL */

typedef struct rm_map {
  char *wpath; /* as the worker sees it */
  char *hpath; /* on the host */
} rm_map;

typedef struct rm_state rm_state;

/* What differs between running the worker next door and in E2B.  Every
 * function reports a transport failure through err; pump returns once
 * the worker has ended (or the stream broke, or the run was cancelled). */
typedef struct rm_transport {
  const char *name;
  osiris_rc (*open)(rm_state *rs, os_err *err);  /* wdir, pkg_dir; no side effects remote */
  osiris_rc (*start)(rm_state *rs, os_err *err); /* ship package + worker, start the worker */
  osiris_rc (*pump)(rm_state *rs, os_err *err);  /* feed output until the worker ends */
  osiris_rc (*fetch)(rm_state *rs, const char *wpath, const char *hpath, int64_t *bytes,
                     os_err *err);
  osiris_rc (*list)(rm_state *rs, const char *wdir, osiris_json *paths, os_err *err);
  void (*close)(rm_state *rs); /* stop the worker, delete sandbox / scratch */
} rm_transport;

typedef struct e2_state {
  char *api_url, *envd_url, *api_key, *domain, *template_id;
  char *sandbox_id, *token;
  int timeout_s;
  int64_t pid;
  int have_pid;
  /* the stream being read */
  os_buf env_buf, err_body;
  long status;
  int feed, got_start, got_end, got_eos, eos_error, bad, aborted;
  int end_exit_code;
  char end_status[128];
  char eos_msg[512];
  int no_cancel; /* calls that must run even after Ctrl-C (DELETE) */
} e2_state;

struct rm_state {
  osiris_run *run;
  const rm_transport *tp;
  char *pkg_dir;        /* host directory holding the package */
  char *wdir;           /* the worker's session directory, as it sees it */
  char *wbin;           /* the worker binary, as the worker sees it */
  char *wsrc;           /* the worker binary on the host */
  osiris_json *files;   /* package-relative paths to ship */
  osiris_json *envs;    /* NAME -> secret value, the worker's environment */
  rm_map *maps;         /* rewritten file paths */
  size_t n_maps, cap_maps;
  osiris_json *outputs; /* worker paths reported by output_written */
  os_buf out_line, err_line;
  int err_fd;
  int started, exited, exit_code, term_signal, got_cleanup;
  int failed;                 /* the transport failed: error says how */
  char error[OS_ERR_CAP];
  int cancel_seen;
  int local;                  /* the worker's files are on this file system */
  double t_open, t_started, t_ended;
  /* subprocess */
  char *scratch;
  pid_t pid;
  int fd_out, fd_err;
  double term_sent_ms;
  /* e2b */
  e2_state e2;
};

/* ---------------------------------------------------------- helpers */

static osiris_json *rm_obj(void) { return js_alloc(OSIRIS_JSON_OBJECT); }

static int rm_env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

/* Remove a directory tree (no symlinks followed). */
static void rm_rmtree(const char *path) {
  DIR *d;
  struct dirent *e;
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    unlink(path);
    return;
  }
  d = opendir(path);
  if (d) {
    while ((e = readdir(d)) != NULL) {
      char *child;
      if (os_streq(e->d_name, ".") || os_streq(e->d_name, "..")) continue;
      child = os_path_join(path, e->d_name);
      if (child) rm_rmtree(child);
      os_free(child);
    }
    closedir(d);
  }
  rmdir(path);
}

/* Copy src to dst through a descriptor stream (inputs and worker binaries
 * may be large), creating dst's directory, with the given mode. */
static osiris_rc rm_copy(const char *src, const char *dst, mode_t mode, int64_t *bytes,
                         os_err *err) {
  char buf[65536];
  char *dir = os_path_dirname(dst), *tmp = os_asprintf("%s.part", dst);
  int in = -1, out = -1;
  int64_t total = 0;
  osiris_rc rc = OSIRIS_OK;
  if (!dir || !tmp) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(dir, err);
  if (rc) goto done;
  in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    rc = os_fail(err, errno == ENOENT ? OSIRIS_ENOTFOUND : OSIRIS_EIO, "cannot read %s: %s", src,
                 strerror(errno));
    goto done;
  }
  out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (out < 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", tmp, strerror(errno));
    goto done;
  }
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf), off = 0;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = os_fail(err, OSIRIS_EIO, "cannot read %s: %s", src, strerror(errno));
      goto done;
    }
    if (r == 0) break;
    while (off < r) {
      ssize_t w = write(out, buf + off, (size_t)(r - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
        goto done;
      }
      off += w;
    }
    total += r;
  }
  if (fchmod(out, mode) != 0 || close(out) != 0) {
    out = -1;
    rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
    goto done;
  }
  out = -1;
  if (rename(tmp, dst) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot write %s: %s", dst, strerror(errno));
    goto done;
  }
  if (bytes) *bytes = total;
done:
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (rc && tmp) unlink(tmp);
  os_free(dir);
  os_free(tmp);
  return rc;
}

/* Every regular file under dir (recursively), as full paths. */
static osiris_rc rm_walk(const char *dir, osiris_json *paths, int depth, os_err *err) {
  DIR *d;
  struct dirent *e;
  osiris_rc rc = OSIRIS_OK;
  if (depth > 32) return OSIRIS_OK;
  d = opendir(dir);
  if (!d) return OSIRIS_OK; /* nothing there: no artifacts */
  while (!rc && (e = readdir(d)) != NULL) {
    struct stat st;
    char *child;
    if (os_streq(e->d_name, ".") || os_streq(e->d_name, "..")) continue;
    child = os_path_join(dir, e->d_name);
    if (!child) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      break;
    }
    if (lstat(child, &st) == 0) {
      if (S_ISDIR(st.st_mode))
        rc = rm_walk(child, paths, depth + 1, err);
      else if (S_ISREG(st.st_mode) && js_push_str(paths, child))
        rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    }
    os_free(child);
  }
  closedir(d);
  return rc;
}

/* path minus "dir/" when path is below dir, else NULL (borrowed). */
static const char *rm_below(const char *path, const char *dir) {
  size_t n = strlen(dir);
  if (strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1]) return path + n + 1;
  return NULL;
}

static osiris_rc rm_add_map(rm_state *rs, const char *wpath, const char *hpath) {
  if (rs->n_maps == rs->cap_maps) {
    size_t cap = rs->cap_maps ? rs->cap_maps * 2 : 8;
    rm_map *m = os_realloc(rs->maps, cap * sizeof *m);
    if (!m) return OSIRIS_ENOMEM;
    rs->maps = m;
    rs->cap_maps = cap;
  }
  rs->maps[rs->n_maps].wpath = os_strdup(wpath);
  rs->maps[rs->n_maps].hpath = os_strdup(hpath);
  if (!rs->maps[rs->n_maps].wpath || !rs->maps[rs->n_maps].hpath) {
    os_free(rs->maps[rs->n_maps].wpath);
    os_free(rs->maps[rs->n_maps].hpath);
    return OSIRIS_ENOMEM;
  }
  rs->n_maps++;
  return OSIRIS_OK;
}

/* Where a file the worker wrote belongs on the host (owned), or NULL. */
static char *rm_host_path(rm_state *rs, const char *wpath) {
  size_t i;
  const char *rel;
  for (i = 0; i < rs->n_maps; i++)
    if (os_streq(rs->maps[i].wpath, wpath)) return os_strdup(rs->maps[i].hpath);
  rel = rm_below(wpath, rs->wdir);
  return rel ? os_path_join(rs->run->ctx->base_dir, rel) : NULL;
}

static osiris_rc rm_rc_from_name(const char *name) {
  int i;
  for (i = 1; i <= OSIRIS_EUSAGE; i++)
    if (os_streq(name, osiris_rc_name((osiris_rc)i))) return (osiris_rc)i;
  return OSIRIS_EDRIVER;
}

static int rm_level(const char *name) {
  if (os_streq(name, "DEBUG")) return 0;
  if (os_streq(name, "WARNING")) return 2;
  if (os_streq(name, "ERROR")) return 3;
  return 1;
}

/* A transport event (not part of a local run). */
static void rm_event(rm_state *rs, const char *name, osiris_json *f) {
  if (!f) f = rm_obj();
  if (f && !osiris_json_get(f, "transport")) js_set_str(f, "transport", rs->tp->name);
  ss_event(&rs->run->ss, name, f);
}

/* ---------------------------------------------------------- worker lines */

static void rm_on_event(rm_state *rs, osiris_json *ev) {
  osiris_run *run = rs->run;
  const char *name = js_gets(ev, "event"), *sid = js_gets(ev, "step_id");
  size_t idx = sid && run->mf ? rn_step_index(run->mf, sid) : (size_t)-1;
  rn_state *st = idx == (size_t)-1 ? NULL : &run->st[idx];
  if (!name) return;
  if (os_streq(name, "output_written")) {
    const char *wpath = js_gets(ev, "path");
    char *hpath = wpath ? rm_host_path(rs, wpath) : NULL;
    if (wpath) js_push_str(rs->outputs, wpath);
    if (hpath) js_set_str(ev, "path", hpath); /* what a local run reports */
    os_free(hpath);
  }
  if (!st) return;
  if (os_streq(name, "step_start")) {
    st->status = RN_RUNNING;
  } else if (os_streq(name, "step_complete")) {
    st->status = RN_SUCCESS;
    st->duration_ms = (double)osiris_json_int(osiris_json_get(ev, "duration_ms"), 0);
    run->steps_completed++;
  } else if (os_streq(name, "step_failed")) {
    const char *msg = js_gets(ev, "error");
    osiris_rc rc = rm_rc_from_name(js_gets(ev, "error_type"));
    st->status = RN_FAILED;
    st->duration_ms = (double)osiris_json_int(osiris_json_get(ev, "duration_ms"), 0);
    os_free(st->error);
    st->error = os_strdup(msg ? msg : "step failed");
    st->error_rc = rc;
    rn_set_error(run, rc, sid, rc == OSIRIS_ECONN ? "connection_failed" : "execution_failed",
                 msg ? msg : "step failed");
  } else if (os_streq(name, "step_skipped")) {
    st->status = RN_SKIPPED;
  } else if (os_streq(name, "rows_out")) {
    st->rows_out = osiris_json_int(osiris_json_get(ev, "rows"), 0);
    st->had_frame = 1;
  } else if (os_streq(name, "inputs_resolved")) {
    st->rows_in += osiris_json_int(osiris_json_get(ev, "rows"), 0);
  } else if (os_streq(name, "artifact_created")) {
    const char *p = js_gets(ev, "path");
    if (p) js_push_str(st->artifacts, p);
  }
}

static void rm_on_metric(rm_state *rs, const osiris_json *m) {
  osiris_run *run = rs->run;
  const char *name = js_gets(m, "metric");
  const char *sid = js_gets(osiris_json_get(m, "tags"), "step_id");
  size_t idx = sid && run->mf ? rn_step_index(run->mf, sid) : (size_t)-1;
  const osiris_driver *d;
  const char *modes;
  int64_t v;
  if (idx == (size_t)-1 || !name) return;
  d = osiris_driver_find(run->ctx, run->mf->steps[idx].driver);
  modes = d && d->modes ? d->modes : "extract write";
  v = (int64_t)osiris_json_num(osiris_json_get(m, "value"), 0);
  /* the same edge rule as osiris_step_metric */
  if (os_streq(name, "rows_read") && strstr(modes, "extract")) run->st[idx].rows_read += v;
  if (os_streq(name, "rows_written") && strstr(modes, "write")) run->st[idx].rows_written += v;
}

static void rm_write_obj(rm_state *rs, int fd, const osiris_json *v) {
  os_buf b = {0};
  if (!js_dump(&b, v, 0) && !ob_putc(&b, '\n')) ss_write_line(&rs->run->ss, fd, b.p, b.len);
  ob_free(&b);
}

/* One complete stdout line of the worker.  An event or metric line is
 * {"type":"event",<the local line's members>}; the prefix is cut off
 * textually, so an event's own "type" field (output_written) survives. */
static void rm_line(rm_state *rs, const char *line, size_t n) {
  static const char ev_pre[] = "{\"type\":\"event\",", me_pre[] = "{\"type\":\"metric\",";
  osiris_run *run = rs->run;
  osiris_json *v = NULL;
  os_err err = {0};
  os_buf own = {0};
  const char *type;
  int stripped = 0;
  while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ')) n--;
  if (n == 0) return;
  if ((n > sizeof ev_pre && memcmp(line, ev_pre, sizeof ev_pre - 1) == 0) ||
      (n > sizeof me_pre && memcmp(line, me_pre, sizeof me_pre - 1) == 0)) {
    size_t cut = line[9] == 'e' ? sizeof ev_pre - 1 : sizeof me_pre - 1;
    stripped = line[9] == 'e' ? 1 : 2;
    if (ob_putc(&own, '{') || ob_put(&own, line + cut, n - cut)) goto done;
    line = own.p;
    n = own.len;
  }
  if (js_parse(line, n, "worker stdout", &v, &err) || osiris_json_kind_of(v) != OSIRIS_JSON_OBJECT) {
    ss_log(&run->ss, 2, "worker: unreadable output line (%zu bytes)", n);
    goto done;
  }
  type = stripped == 1 ? "event" : stripped == 2 ? "metric" : js_gets(v, "type");
  if (!stripped && js_gets(v, "event") && js_gets(v, "ts") &&
      !os_streq(type, "event") && !os_streq(type, "log") && !os_streq(type, "response")) {
    /* an older worker: the event's own "type" overwrote "event"; keep it,
     * after the fields it follows in a local line */
    char *own_type = os_strdup(type);
    osiris_json_remove(v, "type");
    if (own_type) js_set_str(v, "type", own_type);
    os_free(own_type);
    stripped = 1;
    type = "event";
    if (os_streq(js_gets(v, "event"), "output_written")) { /* step_id, path, type, rows, size_bytes */
      osiris_json *rows = osiris_json_copy(osiris_json_get(v, "rows"));
      osiris_json *size = osiris_json_copy(osiris_json_get(v, "size_bytes"));
      osiris_json_remove(v, "rows");
      osiris_json_remove(v, "size_bytes");
      if (rows) osiris_json_set(v, "rows", rows);
      if (size) osiris_json_set(v, "size_bytes", size);
    }
  }
  if (os_streq(type, "event")) {
    if (!stripped) osiris_json_remove(v, "type");
    rm_on_event(rs, v);
    rm_write_obj(rs, run->ss.events_fd, v);
  } else if (os_streq(type, "metric")) {
    if (!stripped) osiris_json_remove(v, "type");
    rm_on_metric(rs, v);
    rm_write_obj(rs, run->ss.metrics_fd, v);
  } else if (os_streq(type, "log")) {
    const char *msg = js_gets(v, "message");
    ss_log(&run->ss, rm_level(js_gets(v, "level")), "%s", msg ? msg : "");
  } else if (os_streq(type, "response")) {
    const char *cmd = js_gets(v, "cmd");
    int ok = osiris_json_bool(osiris_json_get(v, "ok"), 0);
    const char *e = js_gets(v, "error");
    if (os_streq(cmd, "cleanup")) rs->got_cleanup = 1;
    if (!ok && (os_streq(cmd, "prepare") || os_streq(cmd, "") || !cmd)) {
      rn_set_error(run, OSIRIS_EINVAL, NULL, "preflight_failed", e ? e : "the worker refused prepare");
    } else if (!ok && os_streq(cmd, "exec_step") && e &&
               (os_streq(e, "not prepared") || os_streq(e, "unknown step"))) {
      rn_set_error(run, OSIRIS_EUSAGE, js_gets(v, "step_id"), "worker_failed", e);
    }
  } else {
    ss_log(&run->ss, 2, "worker: line of unknown type '%s'", type ? type : "");
  }
done:
  ob_free(&own);
  osiris_json_free(v);
}

static void rm_stderr_line(rm_state *rs, const char *line, size_t n) {
  ss_session *ss = &rs->run->ss;
  int fd = ss->debug_fd;
  if (fd < 0) {
    if (rs->err_fd < 0) rs->err_fd = ss_open(ss->dir, "debug.log");
    fd = rs->err_fd;
  }
  if (fd >= 0) {
    char *l = os_asprintf("worker stderr: %.*s\n", (int)n, line);
    if (l) ss_write_line(ss, fd, l, strlen(l));
    os_free(l);
  }
}

/* Bytes of the worker's stdout (stream 0) or stderr (1), split anywhere. */
static osiris_rc rm_feed(rm_state *rs, int stream, const char *p, size_t n) {
  os_buf *b = stream ? &rs->err_line : &rs->out_line;
  size_t i, start = 0;
  for (i = 0; i < n; i++) {
    if (p[i] != '\n') continue;
    if (b->len) {
      if (ob_put(b, p + start, i - start)) return OSIRIS_ENOMEM;
      if (stream)
        rm_stderr_line(rs, b->p, b->len);
      else
        rm_line(rs, b->p, b->len);
      b->len = 0;
    } else if (stream) {
      rm_stderr_line(rs, p + start, i - start);
    } else {
      rm_line(rs, p + start, i - start);
    }
    start = i + 1;
  }
  if (start < n) {
    if (b->len + (n - start) > RM_MAX_LINE) return OSIRIS_ELIMIT;
    if (ob_put(b, p + start, n - start)) return OSIRIS_ENOMEM;
  }
  return OSIRIS_OK;
}

/* A last line without its newline still counts. */
static void rm_flush(rm_state *rs) {
  if (rs->out_line.len) rm_line(rs, rs->out_line.p, rs->out_line.len);
  if (rs->err_line.len) rm_stderr_line(rs, rs->err_line.p, rs->err_line.len);
  rs->out_line.len = rs->err_line.len = 0;
}

/* ---------------------------------------------------------- package */

static osiris_rc rm_add_secret_env(rm_state *rs, const char *value, osiris_json **ref) {
  char name[64], refs[80];
  size_t n = osiris_json_size(rs->envs);
  snprintf(name, sizeof name, "OSIRIS_SECRET_%zu", n);
  snprintf(refs, sizeof refs, "${%s}", name);
  if (js_set_str(rs->envs, name, value)) return OSIRIS_ENOMEM;
  *ref = osiris_json_new_str(refs, strlen(refs));
  return *ref ? OSIRIS_OK : OSIRIS_ENOMEM;
}

/* A copy of one connection entry for the worker: every string resolved on
 * the host; secret values (and anything still holding "${") replaced by a
 * reference to an environment variable only the worker process gets.  A
 * field whose variable is unset stays a reference to that variable, so the
 * worker fails with the same message a local run gives. */
static osiris_json *rm_conn_copy(rm_state *rs, const osiris_json *v, const char *key, int depth,
                                 osiris_rc *rc) {
  osiris_json *out = NULL;
  size_t i;
  if (depth > 32) {
    *rc = OSIRIS_ELIMIT;
    return NULL;
  }
  if (v->kind == OSIRIS_JSON_OBJECT || v->kind == OSIRIS_JSON_ARRAY) {
    out = js_alloc(v->kind);
    if (!out) goto oom;
    for (i = 0; i < v->u.c.n; i++) {
      const char *k = v->kind == OSIRIS_JSON_OBJECT ? v->u.c.keys[i] : key;
      osiris_json *c = rm_conn_copy(rs, v->u.c.items[i], k, depth + 1, rc);
      if (!c) {
        osiris_json_free(out);
        return NULL;
      }
      *rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, k, c) : osiris_json_push(out, c);
      if (*rc) {
        osiris_json_free(out);
        return NULL;
      }
    }
    return out;
  }
  if (v->kind != OSIRIS_JSON_STRING) {
    out = osiris_json_copy(v);
    if (!out) goto oom;
    return out;
  }
  {
    os_buf val = {0};
    char *missing = NULL;
    osiris_rc s = cn_subst_str(rs->run->ctx, v->u.s.ptr, v->u.s.len, &val, &missing);
    const char *text = val.p ? val.p : "";
    if (s == OSIRIS_ECONN) {
      char *r = os_asprintf("${%s}", missing);
      out = r ? osiris_json_new_str(r, strlen(r)) : NULL;
      os_free(r);
      os_free(missing);
    } else if (s) {
      ob_free(&val);
      *rc = s;
      return NULL;
    } else if ((key && mk_is_masked_key(key)) || strstr(text, "://") || strstr(text, "${") ||
               strchr(text, '\n')) {
      /* URLs may carry a password; "${" would be expanded twice. */
      *rc = ss_add_secret(&rs->run->ss, text);
      if (!*rc) *rc = ss_add_url_password(&rs->run->ss, text);
      if (!*rc) *rc = rm_add_secret_env(rs, text, &out);
      if (*rc) {
        ob_free(&val);
        return NULL;
      }
    } else {
      out = osiris_json_new_str(text, strlen(text));
    }
    if (val.p) memset(val.p, 0, val.len);
    ob_free(&val);
    if (!out) goto oom;
    return out;
  }
oom:
  *rc = OSIRIS_ENOMEM;
  return NULL;
}

static osiris_rc rm_write_connections(rm_state *rs, os_err *err) {
  char *path = NULL, *dst = NULL;
  osiris_json *doc = NULL, *copy = NULL, *top = NULL;
  const osiris_json *conns;
  os_buf b = {0};
  os_err ferr = {0};
  osiris_rc rc;
  if (cn_load_file(rs->run->ctx, &path, &doc, &conns, &ferr)) {
    /* No file (or a broken one): the worker finds none either and says so
     * when a step needs a connection. */
    ss_log(&rs->run->ss, 0, "remote: no connections shipped (%s)", ferr.msg);
    return OSIRIS_OK;
  }
  rc = OSIRIS_OK;
  copy = rm_conn_copy(rs, conns, NULL, 0, &rc);
  top = rm_obj();
  if (!copy || !top) {
    if (!rc) rc = OSIRIS_ENOMEM;
    rc = os_fail(err, rc, "cannot prepare the connections for the worker (%s)", osiris_rc_name(rc));
    goto done;
  }
  if (osiris_json_set(top, "connections", copy)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  copy = NULL;
  rc = ym_emit(&b, top, 0);
  if (rc) {
    rc = os_fail(err, rc, "cannot write the worker's connections file");
    goto done;
  }
  dst = os_path_join(rs->pkg_dir, CN_FILE_NAME);
  if (!dst) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_write_file(dst, b.p ? b.p : "", b.len, err);
  if (!rc && js_push_str(rs->files, CN_FILE_NAME)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(path);
  os_free(dst);
  osiris_json_free(doc);
  osiris_json_free(copy);
  osiris_json_free(top);
  ob_free(&b);
  return rc;
}

/* A step's cfg for the package.  For the filesystem CSV steps the file the
 * step reads or writes is mapped into the worker's session directory: a
 * relative path that stays inside the host's base directory (also under a
 * relative connection base_dir) keeps its relative path; anything else
 * (absolute, outside, under an absolute base_dir) becomes an absolute
 * path under <wdir>/_files/<n>/ in the package copy of the cfg only.
 * Inputs are copied into the package. */
static osiris_rc rm_package_cfg(rm_state *rs, size_t i, os_err *err) {
  osiris_run *run = rs->run;
  const mf_step *ms = &run->mf->steps[i];
  int reader = os_streq(ms->driver, "filesystem.csv_extractor");
  int writer = os_streq(ms->driver, "filesystem.csv_writer");
  char *name = os_asprintf("cfg/%s.json", ms->id);
  char *src = name ? os_path_join(run->ss.dir, name) : NULL;
  char *dst = name ? os_path_join(rs->pkg_dir, name) : NULL;
  char *host = NULL, *base = NULL, *wpath = NULL, *rel = NULL, *pkg = NULL;
  osiris_json *cfg = NULL, *conn = NULL;
  const char *path, *ref, *cbase;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  if (!name || !src || !dst) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (!reader && !writer) goto copy;
  if (js_read_file(src, &cfg, err) || !(path = js_gets(cfg, "path")) || !*path) goto copy;
  ref = js_gets(cfg, "connection");
  if (ref) {
    os_err cerr = {0};
    if (cn_resolve(run->ctx, ref, "filesystem", &conn, NULL, &cerr)) goto copy; /* worker reports it */
  }
  cbase = js_gets(conn, "base_dir");
  if (path[0] != '/' && cbase && *cbase) {
    base = os_path_abs(run->ctx->base_dir, cbase);
    host = base ? os_path_abs(base, path) : NULL;
  } else {
    host = os_path_abs(run->ctx->base_dir, path);
  }
  if (!host) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  /* Unchanged, the worker resolves a relative path (and a relative
   * base_dir) against its session directory: same relative place. */
  if (path[0] != '/' && !(cbase && cbase[0] == '/') && rm_below(host, run->ctx->base_dir)) {
    rel = os_strdup(rm_below(host, run->ctx->base_dir));
  } else {
    rel = os_asprintf("_files/%zu/%s", i, os_path_basename(host));
  }
  wpath = rel ? os_path_join(rs->wdir, rel) : NULL;
  pkg = rel ? os_path_join(rs->pkg_dir, rel) : NULL;
  if (!rel || !wpath || !pkg) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (reader && os_is_file(host)) {
    rc = rm_copy(host, pkg, 0644, NULL, err);
    if (rc) goto done;
    if (js_push_str(rs->files, rel)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  if (writer && rm_add_map(rs, wpath, host)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  if (strncmp(rel, "_files/", 7) != 0) goto copy; /* same relative path: cfg unchanged */
  if (js_set_str(cfg, "path", wpath) || js_dump(&b, cfg, OSIRIS_JSON_PRETTY) || ob_putc(&b, '\n')) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_write_file(dst, b.p, b.len, err);
  if (!rc && js_push_str(rs->files, name)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
  goto done;
copy:
  err->msg[0] = 0;
  rc = os_copy_file(src, dst, err);
  if (!rc && js_push_str(rs->files, name)) rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(name);
  os_free(src);
  os_free(dst);
  os_free(host);
  os_free(base);
  os_free(wpath);
  os_free(rel);
  os_free(pkg);
  osiris_json_free(cfg);
  osiris_json_free(conn);
  ob_free(&b);
  return rc;
}

/* commands.jsonl: ping, prepare, exec_step per step in run order, cleanup. */
static osiris_rc rm_commands(rm_state *rs, os_buf *out) {
  osiris_run *run = rs->run;
  osiris_json *c;
  size_t i, k;
  osiris_rc rc = OSIRIS_OK;
  for (i = 0; i < run->mf->n_steps + 3 && !rc; i++) {
    c = rm_obj();
    if (!c) return OSIRIS_ENOMEM;
    if (i == 0) {
      rc = js_set_str(c, "cmd", "ping");
    } else if (i == 1) {
      rc = js_set_str(c, "cmd", "prepare");
      if (!rc) rc = js_set_str(c, "session_id", run->ss.id);
      if (!rc) rc = js_set_str(c, "manifest", "manifest.yaml");
    } else if (i == run->mf->n_steps + 2) {
      rc = js_set_str(c, "cmd", "cleanup");
    } else {
      size_t idx = run->order[i - 2];
      const mf_step *ms = &run->mf->steps[idx];
      osiris_json *inputs = rm_obj();
      char *cfgp = os_asprintf("cfg/%s.json", ms->id);
      rc = !inputs || !cfgp ? OSIRIS_ENOMEM : OSIRIS_OK;
      for (k = 0; !rc && k < ms->n_needs; k++) {
        size_t up = rn_step_index(run->mf, ms->needs[k]);
        osiris_json *in = rm_obj();
        if (!in || up == (size_t)-1) {
          osiris_json_free(in);
          continue;
        }
        rc = js_set_str(in, "from_step", ms->needs[k]);
        if (!rc) rc = js_set_str(in, "key", run->st[up].input_key);
        if (!rc) rc = osiris_json_set(inputs, run->st[up].input_key, in);
        else osiris_json_free(in);
      }
      if (!rc) rc = js_set_str(c, "cmd", "exec_step");
      if (!rc) rc = js_set_str(c, "step_id", ms->id);
      if (!rc) rc = js_set_str(c, "driver", ms->driver);
      if (!rc) rc = js_set_str(c, "cfg_path", cfgp);
      if (!rc) {
        rc = osiris_json_set(c, "inputs", inputs);
        inputs = NULL;
      }
      osiris_json_free(inputs);
      os_free(cfgp);
    }
    if (!rc) rc = js_dump(out, c, 0);
    if (!rc) rc = ob_putc(out, '\n');
    osiris_json_free(c);
  }
  return rc;
}

static osiris_rc rm_build_package(rm_state *rs, os_err *err) {
  osiris_run *run = rs->run;
  char *p = NULL;
  os_buf cmds = {0};
  size_t i;
  osiris_rc rc;
  p = os_path_join(rs->pkg_dir, "cfg");
  rc = p ? os_mkdir_p(p, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  os_free(p);
  p = NULL;
  if (rc) goto done;
  {
    char *src = os_path_join(run->ss.dir, "manifest.yaml");
    p = os_path_join(rs->pkg_dir, "manifest.yaml");
    rc = src && p ? os_copy_file(src, p, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(src);
    os_free(p);
    p = NULL;
    if (!rc && js_push_str(rs->files, "manifest.yaml")) rc = OSIRIS_ENOMEM;
    if (rc) goto done;
  }
  for (i = 0; i < run->mf->n_steps; i++) {
    rc = rm_package_cfg(rs, i, err);
    if (rc) goto done;
  }
  rc = rm_write_connections(rs, err);
  if (rc) goto done;
  rc = rm_commands(rs, &cmds);
  if (rc) {
    rc = os_fail(err, rc, "cannot write commands.jsonl");
    goto done;
  }
  p = os_path_join(rs->pkg_dir, "commands.jsonl");
  rc = p ? os_write_file(p, cmds.p, cmds.len, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  os_free(p);
  p = NULL;
  if (!rc && js_push_str(rs->files, "commands.jsonl")) rc = OSIRIS_ENOMEM;
  if (rc) goto done;
  /* The seed keeps the batch in the run directory too. */
  p = os_path_join(run->ss.dir, "commands.jsonl");
  rc = p ? os_write_file(p, cmds.p, cmds.len, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  os_free(p);
  ob_free(&cmds);
  return rc;
}

/* ---------------------------------------------------------- subprocess */

/* The worker binary: $OSIRIS_WORKER, else osiris-worker next to us. */
static char *rm_worker_binary(os_err *err) {
  const char *env = getenv("OSIRIS_WORKER");
  char self[PATH_MAX];
  ssize_t n;
  char *dir, *path;
  if (env && *env) {
    if (!os_is_file(env)) {
      os_fail(err, OSIRIS_ENOTFOUND, "OSIRIS_WORKER=%s: no such file", env);
      return NULL;
    }
    return os_path_abs(NULL, env);
  }
  n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    os_fail(err, OSIRIS_ENOTFOUND, "cannot find osiris-worker (set OSIRIS_WORKER)");
    return NULL;
  }
  self[n] = 0;
  dir = os_path_dirname(self);
  path = dir ? os_path_join(dir, "osiris-worker") : NULL;
  os_free(dir);
  if (path && !os_is_file(path)) {
    os_fail(err, OSIRIS_ENOTFOUND, "the worker binary %s is missing (build it with 'make osiris-worker' "
            "or set OSIRIS_WORKER)", path);
    os_free(path);
    return NULL;
  }
  if (!path) os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return path;
}

static osiris_rc sp_open(rm_state *rs, os_err *err) {
  const char *tmp = getenv("TMPDIR");
  char *tmpl = os_asprintf("%s/osiris-sandbox-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!tmpl) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  if (!mkdtemp(tmpl)) {
    osiris_rc rc = os_fail(err, OSIRIS_EIO, "cannot create a scratch directory %s: %s", tmpl,
                           strerror(errno));
    os_free(tmpl);
    return rc;
  }
  rs->scratch = tmpl;
  os_free(rs->run->sandbox_id);
  rs->run->sandbox_id = os_strdup(os_path_basename(tmpl)); /* status.json */
  rs->wdir = os_path_join(tmpl, "session");
  rs->wbin = os_path_join(tmpl, "osiris-worker");
  rs->pkg_dir = rs->wdir ? os_strdup(rs->wdir) : NULL;
  if (!rs->wdir || !rs->wbin || !rs->pkg_dir) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return os_mkdir_p(rs->wdir, err);
}

static osiris_rc sp_start(rm_state *rs, os_err *err) {
  char *cmds = NULL;
  char **envp = NULL;
  char *argv[4];
  const char *path_env = getenv("PATH");
  int out[2] = {-1, -1}, errp[2] = {-1, -1};
  size_t i, n = osiris_json_size(rs->envs);
  osiris_rc rc = OSIRIS_OK;
  osiris_json *f;
  rc = rm_copy(rs->wsrc, rs->wbin, 0755, NULL, err);
  if (rc) goto done;
  cmds = os_path_join(rs->wdir, "commands.jsonl");
  envp = os_calloc(n + 3, sizeof *envp);
  if (!cmds || !envp) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  /* A clean environment: PATH, HOME and the secrets the steps need. */
  envp[0] = os_asprintf("PATH=%s", path_env && *path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  envp[1] = os_asprintf("HOME=%s", rs->scratch);
  for (i = 0; i < n; i++)
    envp[2 + i] = os_asprintf("%s=%s", osiris_json_key_at(rs->envs, i),
                              osiris_json_str(osiris_json_at(rs->envs, i)));
  for (i = 0; i < n + 2; i++)
    if (!envp[i]) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  argv[0] = rs->wbin;
  argv[1] = cmds;
  argv[2] = rs->wdir;
  argv[3] = NULL;
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot create pipes: %s", strerror(errno));
    goto done;
  }
  rs->pid = fork();
  if (rs->pid < 0) {
    rc = os_fail(err, OSIRIS_EIO, "cannot start the worker: %s", strerror(errno));
    rs->pid = 0;
    goto done;
  }
  if (rs->pid == 0) {
    /* child: only async-signal-safe calls from here on */
    int devnull = open("/dev/null", O_RDONLY);
    setpgid(0, 0); /* a terminal's Ctrl-C reaches the host only; the host decides */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    if (chdir(argv[2]) != 0) _exit(126);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  setpgid(rs->pid, rs->pid);
  close(out[1]);
  close(errp[1]);
  out[1] = errp[1] = -1;
  rs->fd_out = out[0];
  rs->fd_err = errp[0];
  out[0] = errp[0] = -1;
  rs->started = 1;
  f = rm_obj();
  if (f) js_set_int(f, "pid", (int64_t)rs->pid);
  rm_event(rs, "worker_started", f);
done:
  for (i = 0; i < 2; i++) {
    if (out[i] >= 0) close(out[i]);
    if (errp[i] >= 0) close(errp[i]);
  }
  if (envp) {
    for (i = 0; i < n + 2; i++)
      if (envp[i]) {
        memset(envp[i], 0, strlen(envp[i]));
        os_free(envp[i]);
      }
    os_free(envp);
  }
  os_free(cmds);
  return rc;
}

static osiris_rc sp_pump(rm_state *rs, os_err *err) {
  char buf[65536];
  int status = 0;
  osiris_rc rc = OSIRIS_OK;
  while (rs->fd_out >= 0 || rs->fd_err >= 0) {
    struct pollfd p[2];
    int np = 0, k;
    if (rs->run->ctx->cancelled && !rs->cancel_seen) {
      rs->cancel_seen = 1;
      rs->term_sent_ms = os_now_ms();
      kill(-rs->pid, SIGTERM); /* the worker stops at the next step boundary */
    }
    if (rs->cancel_seen && rs->term_sent_ms > 0 && os_now_ms() - rs->term_sent_ms > RM_KILL_GRACE_MS) {
      kill(-rs->pid, SIGKILL);
      rs->term_sent_ms = 0;
    }
    if (rs->fd_out >= 0) {
      p[np].fd = rs->fd_out;
      p[np++].events = POLLIN;
    }
    if (rs->fd_err >= 0) {
      p[np].fd = rs->fd_err;
      p[np++].events = POLLIN;
    }
    k = poll(p, (nfds_t)np, 200);
    if (k < 0 && errno != EINTR) {
      rc = os_fail(err, OSIRIS_EIO, "poll failed: %s", strerror(errno));
      break;
    }
    for (k = 0; k < np; k++) {
      int is_err = p[k].fd == rs->fd_err;
      ssize_t r;
      if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      r = read(p[k].fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        close(p[k].fd);
        if (is_err)
          rs->fd_err = -1;
        else
          rs->fd_out = -1;
        continue;
      }
      if (rm_feed(rs, is_err, buf, (size_t)r) && !rc)
        rc = os_fail(err, OSIRIS_ELIMIT, "the worker wrote a line longer than %zu bytes", RM_MAX_LINE);
    }
    if (rc) break;
  }
  rm_flush(rs);
  if (rc) kill(-rs->pid, SIGKILL);
  while (waitpid(rs->pid, &status, 0) < 0 && errno == EINTR) {
  }
  rs->exited = 1;
  if (WIFSIGNALED(status)) {
    rs->term_signal = WTERMSIG(status);
    rs->exit_code = -1;
  } else {
    rs->exit_code = WEXITSTATUS(status);
  }
  rs->pid = 0;
  return rc;
}

static osiris_rc sp_fetch(rm_state *rs, const char *wpath, const char *hpath, int64_t *bytes,
                          os_err *err) {
  (void)rs;
  return rm_copy(wpath, hpath, 0644, bytes, err);
}

static osiris_rc sp_list(rm_state *rs, const char *dir, osiris_json *paths, os_err *err) {
  (void)rs;
  return rm_walk(dir, paths, 0, err);
}

static void sp_close(rm_state *rs) {
  osiris_json *f;
  if (rs->pid > 0) {
    int status;
    kill(-rs->pid, SIGKILL);
    while (waitpid(rs->pid, &status, 0) < 0 && errno == EINTR) {
    }
    rs->pid = 0;
  }
  if (rs->fd_out >= 0) close(rs->fd_out);
  if (rs->fd_err >= 0) close(rs->fd_err);
  rs->fd_out = rs->fd_err = -1;
  if (!rs->scratch) return;
  f = rm_obj();
  if (rm_env_flag("OSIRIS_KEEP_SANDBOX")) {
    if (f) js_set_str(f, "kept", rs->scratch);
    ss_log(&rs->run->ss, 1, "sandbox kept: %s (OSIRIS_KEEP_SANDBOX)", rs->scratch);
  } else {
    rm_rmtree(rs->scratch);
  }
  rm_event(rs, "sandbox_deleted", f);
}

static const rm_transport rm_subprocess = {"subprocess", sp_open, sp_start, sp_pump,
                                           sp_fetch,     sp_list, sp_close};

/* ---------------------------------------------------------- E2B: HTTP */

typedef struct e2_req {
  const char *method;        /* GET, POST, DELETE */
  const char *url;
  int envd;                  /* add the sandbox routing and token headers */
  const char *ctype;
  const char *body;
  size_t body_len;
  const char *upload_path;   /* stream this file as the body */
  const char *download_path; /* write a 200 body here */
  int attempts;              /* 1: no retry */
  long timeout_s;
} e2_req;

static size_t e2_buf_cb(char *p, size_t sz, size_t n, void *user) {
  os_buf *b = user;
  if (b->len + sz * n > ((size_t)16 << 20)) return 0; /* error bodies are small */
  return ob_put(b, p, sz * n) ? 0 : sz * n;
}

static int e2_progress_cb(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  rm_state *rs = user;
  (void)a;
  (void)b;
  (void)c;
  (void)d;
  return rs->run->ctx->cancelled && !rs->e2.no_cancel ? 1 : 0;
}

static struct curl_slist *e2_headers(rm_state *rs, int envd, const char *ctype) {
  struct curl_slist *h = NULL, *t;
  char line[512];
  h = curl_slist_append(h, "User-Agent: osiris/" OSIRIS_VERSION);
  if (h) h = (t = curl_slist_append(h, "Expect:")) ? t : h;
  if (ctype) {
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    if ((t = curl_slist_append(h, line))) h = t;
  }
  if (envd) {
    snprintf(line, sizeof line, "E2b-Sandbox-Id: %s", rs->e2.sandbox_id ? rs->e2.sandbox_id : "");
    if ((t = curl_slist_append(h, line))) h = t;
    if ((t = curl_slist_append(h, "E2b-Sandbox-Port: 49983"))) h = t;
    if (rs->e2.token) {
      snprintf(line, sizeof line, "X-Access-Token: %s", rs->e2.token);
      if ((t = curl_slist_append(h, line))) h = t;
    }
  } else {
    snprintf(line, sizeof line, "X-API-Key: %s", rs->e2.api_key);
    if ((t = curl_slist_append(h, line))) h = t;
  }
  return h;
}

static void e2_sleep_ms(rm_state *rs, double ms) {
  double end = os_now_ms() + ms;
  while (os_now_ms() < end) {
    struct timespec ts = {0, 50 * 1000000L};
    if (rs->run->ctx->cancelled && !rs->e2.no_cancel) return;
    nanosleep(&ts, NULL);
  }
}

static int e2_retryable_curl(CURLcode c) {
  return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
         c == CURLE_OPERATION_TIMEDOUT || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
         c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE || c == CURLE_SSL_CONNECT_ERROR;
}

/* The message of an E2B error body ({"code","message"}), else the body. */
static void e2_describe(const os_buf *body, char *out, size_t cap) {
  osiris_json *v = NULL;
  const char *m = NULL;
  if (body->len && !js_parse(body->p, body->len, "e2b", &v, NULL)) m = js_gets(v, "message");
  if (m)
    snprintf(out, cap, "%s", m);
  else
    snprintf(out, cap, "%.*s", (int)(body->len > 300 ? 300 : body->len), body->len ? body->p : "");
  osiris_json_free(v);
}

/* One HTTP call with retries: exponential backoff with jitter (0.5 s, x2,
 * at most 8 s) on 429, 5xx (except the envd proxy's 502: the sandbox is
 * gone) and connection errors.  *status is the final HTTP status; a
 * transport error returns EIO with err set. */
static osiris_rc e2_call(rm_state *rs, const e2_req *q, long *status, os_buf *resp, os_err *err) {
  int attempt, max = q->attempts > 0 ? q->attempts : 1;
  double delay = 500;
  osiris_rc rc = OSIRIS_OK;
  *status = 0;
  for (attempt = 0;; attempt++) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    FILE *up = NULL, *down = NULL;
    char *tmp = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    CURLcode c;
    int retry;
    if (resp) resp->len = 0;
    if (!h) return os_fail(err, OSIRIS_ENOMEM, "cannot initialize libcurl");
    hdrs = e2_headers(rs, q->envd, q->ctype);
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 60L);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, e2_progress_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, rs);
    if (os_streq(q->method, "DELETE")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    if (os_streq(q->method, "POST")) {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      if (q->upload_path) {
        struct stat st;
        up = fopen(q->upload_path, "rbe");
        if (!up || fstat(fileno(up), &st) != 0) {
          if (up) fclose(up);
          curl_slist_free_all(hdrs);
          curl_easy_cleanup(h);
          return os_fail(err, OSIRIS_EIO, "cannot read %s: %s", q->upload_path, strerror(errno));
        }
        curl_easy_setopt(h, CURLOPT_READDATA, up);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)st.st_size);
      } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->body_len : 0));
      }
    }
    if (q->download_path) {
      tmp = os_asprintf("%s.part", q->download_path);
      down = tmp ? fopen(tmp, "wbe") : NULL;
      if (!down) {
        if (up) fclose(up);
        os_free(tmp);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        return os_fail(err, OSIRIS_EIO, "cannot write %s: %s", q->download_path, strerror(errno));
      }
      curl_easy_setopt(h, CURLOPT_WRITEDATA, down);
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    } else {
      curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e2_buf_cb);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    }
    c = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (up) fclose(up);
    if (down) {
      int bad = fclose(down) != 0;
      if (c == CURLE_OK && *status == 200 && !bad && rename(tmp, q->download_path) == 0) {
        /* kept */
      } else {
        if (c == CURLE_OK && *status == 200) c = CURLE_WRITE_ERROR;
        if (resp && *status != 200) { /* the error body went to the file */
          char *eb = NULL;
          size_t el = 0;
          if (!os_read_file(tmp, &eb, &el, NULL)) ob_put(resp, eb, el > 4096 ? 4096 : el);
          os_free(eb);
        }
        unlink(tmp);
      }
    }
    os_free(tmp);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (c == CURLE_ABORTED_BY_CALLBACK)
      return os_fail(err, OSIRIS_ECANCEL, "interrupted");
    retry = (c != CURLE_OK && e2_retryable_curl(c)) ||
            (c == CURLE_OK && (*status == 429 || (*status >= 500 && !(q->envd && *status == 502))));
    if (!retry || attempt + 1 >= max || (rs->run->ctx->cancelled && !rs->e2.no_cancel)) {
      if (c != CURLE_OK)
        rc = os_fail(err, OSIRIS_EIO, "%s %s: %s", q->method, q->url,
                     cerr[0] ? cerr : curl_easy_strerror(c));
      break;
    }
    {
      char r[5];
      double jit;
      os_random_hex(r, 4);
      jit = (double)strtol(r, NULL, 16) / 65535.0; /* 0..1 */
      ss_log(&rs->run->ss, 2, "e2b: %s %s: %s; retrying in %.0f ms (attempt %d of %d)", q->method,
             q->url, c != CURLE_OK ? curl_easy_strerror(c) : "server busy", delay * (0.5 + jit / 2),
             attempt + 2, max);
      e2_sleep_ms(rs, delay * (0.5 + jit / 2));
      delay = delay * 2 > 8000 ? 8000 : delay * 2;
    }
  }
  return rc;
}

static char *e2_escape(const char *s) {
  char *e = curl_easy_escape(NULL, s, 0);
  char *out = e ? os_strdup(e) : NULL;
  curl_free(e);
  return out;
}

/* ---------------------------------------------------------- E2B: streams */

static int e2_b64(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decode base64 (padding optional) into out (capacity >= n). */
static size_t e2_b64_decode(const char *s, size_t n, char *out) {
  size_t i, o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (i = 0; i < n; i++) {
    int v = e2_b64((unsigned char)s[i]);
    if (v < 0) continue;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xFF);
    }
  }
  return o;
}

static void e2_on_data(rm_state *rs, int stream, const osiris_json *v) {
  const char *s = osiris_json_str(v);
  size_t n = v ? v->u.s.len : 0;
  char *raw;
  if (!s || !n || !rs->e2.feed) return;
  raw = os_malloc(n);
  if (!raw) {
    rs->e2.bad = 1;
    return;
  }
  n = e2_b64_decode(s, n, raw);
  if (rm_feed(rs, stream, raw, n)) {
    rs->e2.bad = 1;
    snprintf(rs->error, sizeof rs->error, "the worker wrote a line longer than %zu bytes", RM_MAX_LINE);
  }
  os_free(raw);
}

/* One complete envelope of the Start stream. */
static void e2_envelope(rm_state *rs, unsigned flags, const char *p, size_t n) {
  e2_state *e = &rs->e2;
  osiris_json *v = NULL;
  const osiris_json *ev;
  if (js_parse(p, n, "e2b stream", &v, NULL)) {
    e->bad = 1;
    snprintf(rs->error, sizeof rs->error, "E2B: unreadable message in the process stream");
    return;
  }
  if (flags & 0x02) {
    const osiris_json *er = osiris_json_get(v, "error");
    e->got_eos = 1;
    if (er) {
      e->eos_error = 1;
      snprintf(e->eos_msg, sizeof e->eos_msg, "%s: %s", js_gets(er, "code") ? js_gets(er, "code") : "unknown",
               js_gets(er, "message") ? js_gets(er, "message") : "");
    }
  } else if ((ev = osiris_json_get(v, "event")) != NULL) {
    const osiris_json *x;
    if ((x = osiris_json_get(ev, "start")) != NULL) {
      e->got_start = 1;
      e->pid = osiris_json_int(osiris_json_get(x, "pid"), 0);
      e->have_pid = 1;
    } else if ((x = osiris_json_get(ev, "data")) != NULL) {
      e2_on_data(rs, 0, osiris_json_get(x, "stdout"));
      e2_on_data(rs, 1, osiris_json_get(x, "stderr"));
      e2_on_data(rs, 0, osiris_json_get(x, "pty"));
    } else if ((x = osiris_json_get(ev, "end")) != NULL) {
      const char *st = js_gets(x, "status");
      e->got_end = 1;
      e->end_exit_code = (int)osiris_json_int(osiris_json_get(x, "exitCode"), 0); /* absent: 0 */
      snprintf(e->end_status, sizeof e->end_status, "%s", st ? st : "");
    } /* keepalive and unknown events: nothing to do */
  }
  osiris_json_free(v);
}

static size_t e2_stream_cb(char *p, size_t sz, size_t nm, void *user) {
  rm_state *rs = user;
  e2_state *e = &rs->e2;
  size_t n = sz * nm, off = 0;
  if (rs->run->ctx->cancelled) {
    e->aborted = 1;
    return 0; /* ends the transfer; the process is stopped with SendSignal */
  }
  if (e->status != 200) { /* an error body in front of Connect */
    if (e->err_body.len < 65536) ob_put(&e->err_body, p, n);
    return n;
  }
  if (ob_put(&e->env_buf, p, n)) return 0;
  while (e->env_buf.len - off >= 5) {
    const unsigned char *h = (const unsigned char *)e->env_buf.p + off;
    size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
    if (len > RM_MAX_ENVELOPE) {
      e->bad = 1;
      snprintf(rs->error, sizeof rs->error, "E2B: a stream message of %zu bytes is too large", len);
      return 0;
    }
    if (e->env_buf.len - off - 5 < len) break;
    e2_envelope(rs, h[0], e->env_buf.p + off + 5, len);
    off += 5 + len;
    if (e->bad) return 0;
  }
  if (off) {
    memmove(e->env_buf.p, e->env_buf.p + off, e->env_buf.len - off);
    e->env_buf.len -= off;
  }
  return n;
}

static size_t e2_header_cb(char *p, size_t sz, size_t nm, void *user) {
  rm_state *rs = user;
  size_t n = sz * nm;
  /* "HTTP/1.1 200 OK": the status before the body arrives */
  if (n > 12 && strncmp(p, "HTTP/", 5) == 0) {
    const char *sp = memchr(p, ' ', n);
    if (sp && (size_t)(sp - p) + 4 <= n)
      rs->e2.status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
  }
  return n;
}

static void e2_extend(rm_state *rs) {
  e2_state *e = &rs->e2;
  char *url = os_asprintf("%s/sandboxes/%s/timeout", e->api_url, e->sandbox_id);
  char *body = os_asprintf("{\"timeout\":%d}", e->timeout_s);
  os_buf resp = {0};
  os_err err = {0};
  long status;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.ctype = "application/json";
  q.body = body;
  q.body_len = body ? strlen(body) : 0;
  q.attempts = 2;
  q.timeout_s = 20;
  if (url && body && !e2_call(rs, &q, &status, &resp, &err))
    ss_log(&rs->run->ss, status == 204 || status == 200 ? 0 : 2,
           "e2b: sandbox TTL extended by %d s (HTTP %ld)", e->timeout_s, status);
  ob_free(&resp);
  os_free(url);
  os_free(body);
}

/* Run one process with Process/Start and read its stream to the end.
 * With feed, stdout/stderr go to the worker line parser.  Returns OK when
 * the stream ended properly (end event + end-stream envelope); *exit_code
 * is then the process's exit code (-1 for a signal). */
static osiris_rc e2_run_process(rm_state *rs, osiris_json *req, int feed, int *exit_code,
                                os_err *err) {
  e2_state *e = &rs->e2;
  os_buf body = {0}, msg = {0};
  CURLM *m = NULL;
  CURL *h = NULL;
  struct curl_slist *hdrs = NULL, *t;
  char cerr[CURL_ERROR_SIZE] = "";
  char *url = os_asprintf("%s/process.Process/Start", e->envd_url);
  CURLcode result = CURLE_OK;
  double last_extend = os_now_ms();
  double extend_every = (e->timeout_s >= 3 ? e->timeout_s / 3.0 : 1.0) * 1000.0; /* TTL/3 */
  osiris_rc rc = OSIRIS_OK;
  int running = 1;
  *exit_code = -1;
  ob_free(&e->env_buf);
  ob_free(&e->err_body);
  e->status = 0;
  e->feed = feed;
  e->got_start = e->got_end = e->got_eos = e->eos_error = e->bad = e->aborted = 0;
  e->have_pid = 0;
  e->eos_msg[0] = e->end_status[0] = 0;
  e->end_exit_code = 0;
  if (!url || js_dump(&msg, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  {
    unsigned char hdr[5];
    hdr[0] = 0;
    hdr[1] = (unsigned char)(msg.len >> 24);
    hdr[2] = (unsigned char)(msg.len >> 16);
    hdr[3] = (unsigned char)(msg.len >> 8);
    hdr[4] = (unsigned char)msg.len;
    if (ob_put(&body, hdr, 5) || ob_put(&body, msg.p, msg.len)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto done;
    }
  }
  h = curl_easy_init();
  m = curl_multi_init();
  hdrs = e2_headers(rs, 1, "application/connect+json");
  if (hdrs && (t = curl_slist_append(hdrs, "Connect-Protocol-Version: 1"))) hdrs = t;
  /* No Connect-Timeout-Ms: envd would kill the worker at that deadline. */
  if (hdrs && (t = curl_slist_append(hdrs, "Keepalive-Ping-Interval: 50"))) hdrs = t;
  if (!h || !m || !hdrs) {
    rc = os_fail(err, OSIRIS_ENOMEM, "cannot initialize libcurl");
    goto done;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.p);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e2_stream_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, e2_header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);   /* keepalives every 50 s keep it above */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 150L);
  curl_multi_add_handle(m, h);
  while (running) {
    CURLMcode mc = curl_multi_perform(m, &running);
    CURLMsg *cm;
    int left;
    if (mc != CURLM_OK) {
      rc = os_fail(err, OSIRIS_EIO, "E2B: %s", curl_multi_strerror(mc));
      break;
    }
    while ((cm = curl_multi_info_read(m, &left)) != NULL)
      if (cm->msg == CURLMSG_DONE) result = cm->data.result;
    if (!running) break;
    if (rs->run->ctx->cancelled) {
      e->aborted = 1;
      break;
    }
    if (feed && e->sandbox_id && os_now_ms() - last_extend > extend_every) {
      e2_extend(rs);
      last_extend = os_now_ms();
    }
    curl_multi_poll(m, NULL, 0, 200, NULL);
  }
  if (rc) goto done;
  rm_flush(rs);
  if (e->aborted || rs->run->ctx->cancelled) {
    rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
  } else if (e->status == 502) {
    char d[400];
    e2_describe(&e->err_body, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: the sandbox %s is not reachable (HTTP 502: %s); it may have "
                 "expired or been deleted", e->sandbox_id, d);
  } else if (e->status != 200) {
    char d[400];
    e2_describe(&e->err_body, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: process start failed: HTTP %ld%s%s%s", e->status,
                 e->status ? ": " : "", d, e->status ? "" : cerr);
  } else if (e->bad) {
    rc = os_fail(err, OSIRIS_EIO, "%s", rs->error[0] ? rs->error : "E2B: malformed process stream");
  } else if (!e->got_eos) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the sandbox stream ended without its end-stream envelope "
                 "(sandbox gone?)%s%s", result != CURLE_OK ? ": " : "",
                 result != CURLE_OK ? (cerr[0] ? cerr : curl_easy_strerror(result)) : "");
  } else if (e->eos_error) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the process stream ended with an error (%s)", e->eos_msg);
  } else if (!e->got_end) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the process stream closed without the process's end event");
  } else {
    *exit_code = e->end_exit_code;
  }
done:
  if (m && h) curl_multi_remove_handle(m, h);
  if (h) curl_easy_cleanup(h);
  if (m) curl_multi_cleanup(m);
  curl_slist_free_all(hdrs);
  if (msg.p) memset(msg.p, 0, msg.len); /* the request holds the secrets */
  if (body.p) memset(body.p, 0, body.len);
  ob_free(&msg);
  ob_free(&body);
  os_free(url);
  return rc;
}

/* Is the sandbox still there?  (GET /health: 502 when it is gone.) */
static long e2_health(rm_state *rs) {
  char *url = os_asprintf("%s/health", rs->e2.envd_url);
  os_buf resp = {0};
  os_err err = {0};
  long status = 0;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "GET";
  q.url = url;
  q.envd = 1;
  q.attempts = 1;
  q.timeout_s = 5;
  if (url) e2_call(rs, &q, &status, &resp, &err);
  ob_free(&resp);
  os_free(url);
  return status;
}

/* ---------------------------------------------------------- E2B transport */

static osiris_rc e2_open(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  const char *key = getenv("E2B_API_KEY"), *v;
  const char *tmp = getenv("TMPDIR");
  char *tmpl;
  static int curl_ready;
  if (!key || !*key)
    return os_fail(err, OSIRIS_EUSAGE, "--e2b needs E2B_API_KEY in the environment (an E2B API key, "
                   "e2b_...; see https://e2b.dev/dashboard)");
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return os_fail(err, OSIRIS_EIO, "cannot initialize libcurl");
    curl_ready = 1;
  }
  e->api_key = os_strdup(key);
  v = getenv("E2B_DOMAIN");
  e->domain = os_strdup(v && *v ? v : "e2b.app");
  v = getenv("E2B_API_URL");
  e->api_url = v && *v ? os_strdup(v) : os_asprintf("https://api.%s", e->domain ? e->domain : "");
  /* --e2b-template / --timeout; the environment serves embedders */
  v = rs->run->e2b_template ? rs->run->e2b_template : getenv("OSIRIS_E2B_TEMPLATE");
  e->template_id = os_strdup(v && *v ? v : "base");
  v = getenv("OSIRIS_E2B_TIMEOUT");
  e->timeout_s = rs->run->timeout_s > 0 ? rs->run->timeout_s : v && *v ? (int)strtol(v, NULL, 10) : 900;
  if (e->timeout_s <= 0) e->timeout_s = 900;
  if (!e->api_key || !e->domain || !e->api_url || !e->template_id)
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  while (strlen(e->api_url) > 1 && e->api_url[strlen(e->api_url) - 1] == '/')
    e->api_url[strlen(e->api_url) - 1] = 0;
  rs->wdir = os_asprintf("/home/user/session/%s", rs->run->ss.id);
  rs->wbin = os_asprintf("/home/user/.osiris/osiris-worker-%s", rs->run->ss.id);
  tmpl = os_asprintf("%s/osiris-e2b-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!rs->wdir || !rs->wbin || !tmpl) {
    os_free(tmpl);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  if (!mkdtemp(tmpl)) {
    osiris_rc rc = os_fail(err, OSIRIS_EIO, "cannot create %s: %s", tmpl, strerror(errno));
    os_free(tmpl);
    return rc;
  }
  rs->scratch = tmpl; /* the package is built here, then uploaded */
  rs->pkg_dir = os_strdup(tmpl);
  return rs->pkg_dir ? OSIRIS_OK : os_fail(err, OSIRIS_ENOMEM, "out of memory");
}

static osiris_rc e2_create(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = rm_obj(), *meta = rm_obj(), *resp = NULL;
  char *url = os_asprintf("%s/sandboxes", e->api_url);
  os_buf body = {0}, out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  if (!req || !meta || !url) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(req, "templateID", e->template_id);
  js_set_int(req, "timeout", e->timeout_s);
  js_set_bool(req, "secure", 1);
  js_set_bool(req, "allow_internet_access", 1);
  js_set_str(meta, "session", rs->run->ss.id);
  js_set_str(meta, "client", "osiris");
  osiris_json_set(req, "metadata", meta);
  meta = NULL;
  if (js_dump(&body, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.ctype = "application/json";
  q.body = body.p;
  q.body_len = body.len;
  q.attempts = 5;
  q.timeout_s = 120;
  e->no_cancel = 1; /* a create cut short could leave a sandbox nobody deletes */
  rc = e2_call(rs, &q, &status, &out, err);
  e->no_cancel = 0;
  if (rc) {
    char m[OS_ERR_CAP];
    snprintf(m, sizeof m, "%s", err->msg);
    rc = os_fail(err, rc, "E2B: cannot create a sandbox: %s", m);
    goto done;
  }
  if (status != 201 && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: cannot create a sandbox (template '%s'): HTTP %ld: %s%s",
                 e->template_id, status, d,
                 status == 401 ? " (check E2B_API_KEY)" : status == 429 ? " (rate or concurrency limit)" : "");
    goto done;
  }
  if (js_parse(out.p ? out.p : "", out.len, "E2B create response", &resp, err) ||
      !js_gets(resp, "sandboxID")) {
    rc = os_fail(err, OSIRIS_EIO, "E2B: the create response has no sandboxID");
    goto done;
  }
  e->sandbox_id = os_strdup(js_gets(resp, "sandboxID"));
  os_free(rs->run->sandbox_id);
  rs->run->sandbox_id = os_strdup(js_gets(resp, "sandboxID")); /* status.json */
  if (js_gets(resp, "envdAccessToken")) e->token = os_strdup(js_gets(resp, "envdAccessToken"));
  {
    const char *v = getenv("E2B_SANDBOX_URL");
    const char *dom = js_gets(resp, "domain");
    if (v && *v)
      e->envd_url = os_strdup(v);
    else
      e->envd_url = os_asprintf("https://49983-%s.%s", e->sandbox_id, dom && *dom ? dom : e->domain);
  }
  if (!e->sandbox_id || !e->envd_url) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  while (strlen(e->envd_url) > 1 && e->envd_url[strlen(e->envd_url) - 1] == '/')
    e->envd_url[strlen(e->envd_url) - 1] = 0;
  if (rs->run->ctx->cancelled) rc = os_fail(err, OSIRIS_ECANCEL, "interrupted");
done:
  osiris_json_free(req);
  osiris_json_free(meta);
  osiris_json_free(resp);
  ob_free(&body);
  ob_free(&out);
  os_free(url);
  return rc;
}

static osiris_rc e2_upload(rm_state *rs, const char *local, const char *remote, os_err *err) {
  char *enc = e2_escape(remote);
  char *url = enc ? os_asprintf("%s/files?path=%s", rs->e2.envd_url, enc) : NULL;
  os_buf out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.envd = 1;
  q.ctype = "application/octet-stream";
  q.upload_path = local;
  q.attempts = 5;
  q.timeout_s = 600;
  rc = url ? e2_call(rs, &q, &status, &out, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
  if (!rc && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: upload of %s failed: HTTP %ld: %s", remote, status, d);
  }
  ob_free(&out);
  os_free(enc);
  os_free(url);
  return rc;
}

static osiris_rc e2_start(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = NULL, *proc, *args, *f;
  osiris_rc rc;
  size_t i;
  int code = 0;
  double t0 = os_now_ms();
  rc = e2_create(rs, err);
  if (rc) goto done;
  f = rm_obj();
  if (f) {
    js_set_str(f, "sandbox_id", e->sandbox_id);
    js_set_str(f, "template", e->template_id);
    js_set_int(f, "timeout_s", e->timeout_s);
    js_set_int(f, "create_ms", (int64_t)(os_now_ms() - t0));
  }
  rm_event(rs, "sandbox_created", f);
  ss_log(&rs->run->ss, 1, "e2b: sandbox %s created (template %s, TTL %d s)", e->sandbox_id,
         e->template_id, e->timeout_s);
  rc = e2_upload(rs, rs->wsrc, rs->wbin, err);
  for (i = 0; !rc && i < osiris_json_size(rs->files); i++) {
    const char *rel = osiris_json_str(osiris_json_at(rs->files, i));
    char *local = os_path_join(rs->pkg_dir, rel), *remote = os_path_join(rs->wdir, rel);
    rc = local && remote ? e2_upload(rs, local, remote, err) : os_fail(err, OSIRIS_ENOMEM, "out of memory");
    os_free(local);
    os_free(remote);
  }
  if (rc) goto done;
  ss_log(&rs->run->ss, 1, "e2b: uploaded the worker and %zu package files",
         osiris_json_size(rs->files));
  /* chmod: an uploaded file is 0644 */
  req = rm_obj();
  proc = rm_obj();
  args = js_alloc(OSIRIS_JSON_ARRAY);
  if (!req || !proc || !args) {
    osiris_json_free(proc);
    osiris_json_free(args);
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(proc, "cmd", "/bin/chmod");
  js_push_str(args, "755");
  js_push_str(args, rs->wbin);
  osiris_json_set(proc, "args", args);
  osiris_json_set(req, "process", proc);
  js_set_bool(req, "stdin", 0);
  rc = e2_run_process(rs, req, 0, &code, err);
  if (!rc && code != 0)
    rc = os_fail(err, OSIRIS_EIO, "E2B: chmod of the worker failed (exit %d)", code);
  if (rc) goto done;
  rs->started = 1;
done:
  osiris_json_free(req);
  return rc;
}

static osiris_rc e2_pump(rm_state *rs, os_err *err) {
  e2_state *e = &rs->e2;
  osiris_json *req = rm_obj(), *proc = rm_obj(), *args = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *envs = osiris_json_copy(rs->envs), *f;
  char *cmds = os_path_join(rs->wdir, "commands.jsonl");
  osiris_rc rc;
  int code = -1;
  if (!req || !proc || !args || !envs || !cmds) {
    osiris_json_free(proc);
    osiris_json_free(args);
    osiris_json_free(envs);
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  js_set_str(proc, "cmd", rs->wbin);
  js_push_str(args, cmds);
  js_push_str(args, rs->wdir);
  osiris_json_set(proc, "args", args);
  /* The secrets travel here only: the worker process's environment. */
  osiris_json_set(proc, "envs", envs);
  js_set_str(proc, "cwd", rs->wdir);
  osiris_json_set(req, "process", proc);
  js_set_bool(req, "stdin", 0);
  js_set_str(req, "tag", rs->run->ss.id);
  f = rm_obj();
  if (f) js_set_str(f, "sandbox_id", e->sandbox_id);
  rm_event(rs, "worker_started", f);
  rc = e2_run_process(rs, req, 1, &code, err);
  rs->exited = rc == OSIRIS_OK;
  rs->exit_code = code;
  if (!rc && code == -1) rs->term_signal = 9;
  if (rc && rc != OSIRIS_ECANCEL && !e->got_eos && e2_health(rs) == 502) {
    size_t l = strlen(err->msg);
    snprintf(err->msg + l, sizeof err->msg - l, "; the sandbox no longer answers (HTTP 502 on /health)");
  }
done:
  osiris_json_free(req);
  os_free(cmds);
  return rc;
}

static osiris_rc e2_fetch(rm_state *rs, const char *wpath, const char *hpath, int64_t *bytes,
                          os_err *err) {
  char *enc = e2_escape(wpath);
  char *url = enc ? os_asprintf("%s/files?path=%s", rs->e2.envd_url, enc) : NULL;
  char *dir = os_path_dirname(hpath);
  os_buf out = {0};
  long status = 0;
  osiris_rc rc;
  e2_req q;
  struct stat st;
  memset(&q, 0, sizeof q);
  q.method = "GET";
  q.url = url;
  q.envd = 1;
  q.download_path = hpath;
  q.attempts = 5;
  q.timeout_s = 600;
  if (!url || !dir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  rc = os_mkdir_p(dir, err);
  if (!rc) rc = e2_call(rs, &q, &status, &out, err);
  if (!rc && status != 200) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: download of %s failed: HTTP %ld: %s", wpath, status, d);
  }
  if (!rc && bytes) *bytes = stat(hpath, &st) == 0 ? (int64_t)st.st_size : 0;
done:
  ob_free(&out);
  os_free(enc);
  os_free(url);
  os_free(dir);
  return rc;
}

static osiris_rc e2_list(rm_state *rs, const char *dir, osiris_json *paths, os_err *err) {
  char *url = os_asprintf("%s/filesystem.Filesystem/ListDir", rs->e2.envd_url);
  osiris_json *req = rm_obj(), *resp = NULL;
  const osiris_json *entries;
  os_buf body = {0}, out = {0};
  long status = 0;
  osiris_rc rc;
  size_t i;
  e2_req q;
  if (!url || !req || js_set_str(req, "path", dir) || js_set_int(req, "depth", 16) ||
      js_dump(&body, req, 0)) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  memset(&q, 0, sizeof q);
  q.method = "POST";
  q.url = url;
  q.envd = 1;
  q.ctype = "application/json";
  q.body = body.p;
  q.body_len = body.len;
  q.attempts = 5;
  q.timeout_s = 60;
  rc = e2_call(rs, &q, &status, &out, err);
  if (rc) goto done;
  if (status == 404) goto done; /* no artifacts directory */
  if (status != 200 || js_parse(out.p ? out.p : "", out.len, "ListDir", &resp, NULL)) {
    char d[400];
    e2_describe(&out, d, sizeof d);
    rc = os_fail(err, OSIRIS_EIO, "E2B: listing %s failed: HTTP %ld: %s", dir, status, d);
    goto done;
  }
  entries = osiris_json_get(resp, "entries");
  for (i = 0; i < osiris_json_size(entries); i++) {
    const osiris_json *en = osiris_json_at(entries, i);
    if (os_streq(js_gets(en, "type"), "FILE_TYPE_FILE") && js_gets(en, "path") &&
        js_push_str(paths, js_gets(en, "path"))) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      break;
    }
  }
done:
  osiris_json_free(req);
  osiris_json_free(resp);
  ob_free(&body);
  ob_free(&out);
  os_free(url);
  return rc;
}

static void e2_close(rm_state *rs) {
  e2_state *e = &rs->e2;
  e->no_cancel = 1;
  if (e->sandbox_id) {
    char *url;
    os_buf out = {0};
    os_err err = {0};
    long status = 0;
    e2_req q;
    osiris_json *f;
    if (e->have_pid && !rs->exited) { /* stop the worker first: aborting the stream does not */
      char *u = os_asprintf("%s/process.Process/SendSignal", e->envd_url);
      char *b = os_asprintf("{\"process\":{\"pid\":%" PRId64 "},\"signal\":\"SIGNAL_SIGKILL\"}", e->pid);
      memset(&q, 0, sizeof q);
      q.method = "POST";
      q.url = u;
      q.envd = 1;
      q.ctype = "application/json";
      q.body = b;
      q.body_len = b ? strlen(b) : 0;
      q.attempts = 1;
      q.timeout_s = 10;
      if (u && b) e2_call(rs, &q, &status, &out, &err);
      os_free(u);
      os_free(b);
    }
    url = os_asprintf("%s/sandboxes/%s", e->api_url, e->sandbox_id);
    memset(&q, 0, sizeof q);
    q.method = "DELETE";
    q.url = url;
    q.attempts = 5;
    q.timeout_s = 30;
    status = 0;
    err.msg[0] = 0;
    if (url) e2_call(rs, &q, &status, &out, &err);
    f = rm_obj();
    if (f) {
      js_set_str(f, "sandbox_id", e->sandbox_id);
      js_set_int(f, "http_status", status);
    }
    if (status == 204 || status == 200 || status == 404) {
      ss_log(&rs->run->ss, 1, "e2b: sandbox %s deleted%s", e->sandbox_id,
             status == 404 ? " (it was already gone)" : "");
    } else {
      ss_log(&rs->run->ss, 3, "e2b: could not delete sandbox %s (HTTP %ld%s%s); it ends at its TTL",
             e->sandbox_id, status, err.msg[0] ? ": " : "", err.msg);
      if (f) js_set_bool(f, "failed", 1);
    }
    if (f && rs->scratch && rm_env_flag("OSIRIS_KEEP_SANDBOX")) js_set_str(f, "kept", rs->scratch);
    rm_event(rs, "sandbox_deleted", f);
    ob_free(&out);
    os_free(url);
  }
  if (rs->scratch && !rm_env_flag("OSIRIS_KEEP_SANDBOX")) rm_rmtree(rs->scratch);
  e->no_cancel = 0;
}

static const rm_transport rm_e2b = {"e2b", e2_open, e2_start, e2_pump, e2_fetch, e2_list, e2_close};

/* ---------------------------------------------------------- the adapter */

static void rm_state_free(rm_state *rs) {
  size_t i;
  e2_state *e;
  if (!rs) return;
  e = &rs->e2;
  for (i = 0; i < osiris_json_size(rs->envs); i++) {
    osiris_json *v = rs->envs->u.c.items[i];
    if (v->kind == OSIRIS_JSON_STRING && v->u.s.ptr) memset(v->u.s.ptr, 0, v->u.s.len);
  }
  osiris_json_free(rs->envs);
  osiris_json_free(rs->files);
  osiris_json_free(rs->outputs);
  for (i = 0; i < rs->n_maps; i++) {
    os_free(rs->maps[i].wpath);
    os_free(rs->maps[i].hpath);
  }
  os_free(rs->maps);
  ob_free(&rs->out_line);
  ob_free(&rs->err_line);
  if (rs->err_fd >= 0) close(rs->err_fd);
  os_free(rs->pkg_dir);
  os_free(rs->wdir);
  os_free(rs->wbin);
  os_free(rs->wsrc);
  os_free(rs->scratch);
  os_free(e->api_url);
  os_free(e->envd_url);
  if (e->api_key) memset(e->api_key, 0, strlen(e->api_key));
  os_free(e->api_key);
  os_free(e->domain);
  os_free(e->template_id);
  os_free(e->sandbox_id);
  if (e->token) memset(e->token, 0, strlen(e->token));
  os_free(e->token);
  ob_free(&e->env_buf);
  ob_free(&e->err_body);
  os_free(rs);
}

static rm_state *rm_state_new(osiris_run *run) {
  rm_state *rs = os_calloc(1, sizeof *rs);
  if (!rs) return NULL;
  rs->run = run;
  rs->tp = os_streq(run->adapter->name, "e2b") ? &rm_e2b : &rm_subprocess;
  rs->local = rs->tp == &rm_subprocess;
  rs->files = js_alloc(OSIRIS_JSON_ARRAY);
  rs->outputs = js_alloc(OSIRIS_JSON_ARRAY);
  rs->envs = rm_obj();
  rs->err_fd = rs->fd_out = rs->fd_err = -1;
  if (!rs->files || !rs->outputs || !rs->envs) {
    rm_state_free(rs);
    return NULL;
  }
  return rs;
}

static osiris_rc rm_prepare(osiris_run *run) {
  os_err err = {0};
  rm_state *rs = NULL;
  osiris_rc rc = rn_prepare_host(run, &err);
  if (rc) goto done;
  rs = rm_state_new(run);
  if (!rs) {
    rc = os_fail(&err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  run->adapter_state = rs;
  rs->t_open = os_now_ms();
  rs->wsrc = rm_worker_binary(&err);
  rc = rs->wsrc ? rs->tp->open(rs, &err) : (err.rc ? err.rc : OSIRIS_ENOTFOUND);
  if (!rc) rc = rm_build_package(rs, &err);
  if (!rc && (run->install_deps || rm_env_flag("OSIRIS_E2B_INSTALL_DEPS"))) {
    osiris_json *f = rm_obj();
    if (f) {
      osiris_json_set(f, "missing", js_alloc(OSIRIS_JSON_ARRAY));
      js_set_str(f, "note", "the static worker needs no packages");
    }
    rm_event(rs, "dependency_check", f);
    ss_log(&run->ss, 1, "--e2b-install-deps: nothing to install (the worker is one static binary)");
  }
done:
  if (rc) {
    rn_set_error(run, rc, NULL, "preflight_failed", err.msg);
    ss_log(&run->ss, 3, "%s", run->error);
  }
  run->prepared = rc == OSIRIS_OK;
  return rc;
}

/* The worker ended (or its transport broke): decide what the run says. */
static void rm_conclude(rm_state *rs, osiris_rc prc, const char *perr) {
  osiris_run *run = rs->run;
  char msg[OS_ERR_CAP];
  const char *reason = NULL;
  size_t i, running = (size_t)-1;
  osiris_json *f;
  for (i = 0; run->mf && i < run->mf->n_steps; i++)
    if (run->st[i].status == RN_RUNNING) running = i;
  msg[0] = 0;
  if (prc == OSIRIS_ECANCEL || run->ctx->cancelled) {
    reason = "interrupted";
    snprintf(msg, sizeof msg, "the run was interrupted");
    prc = OSIRIS_ECANCEL;
  } else if (prc) {
    reason = rs->tp == &rm_e2b ? "sandbox_failed" : "worker_failed";
    snprintf(msg, sizeof msg, "%s", perr);
    prc = OSIRIS_EIO;
  } else if (!rs->got_cleanup) {
    reason = "worker_failed";
    if (rs->term_signal)
      snprintf(msg, sizeof msg, "the worker was killed by signal %d before it finished",
               rs->term_signal);
    else
      snprintf(msg, sizeof msg, "the worker exited with status %d before it finished", rs->exit_code);
    if (rs->e2.end_status[0]) {
      size_t l = strlen(msg);
      snprintf(msg + l, sizeof msg - l, " (%s)", rs->e2.end_status);
    }
    prc = OSIRIS_EIO;
  } else if (rs->exit_code != 0 && !run->rc) {
    reason = "worker_failed";
    snprintf(msg, sizeof msg, "the worker exited with status %d", rs->exit_code);
    prc = OSIRIS_EIO;
  }
  if (!reason) return;
  if (run->rc && prc != OSIRIS_ECANCEL) {
    /* a step failure was reported first; keep it, log the rest */
    ss_log(&run->ss, 3, "%s", msg);
    return;
  }
  if (prc == OSIRIS_ECANCEL) {
    /* the first failure is the one reported, but Ctrl-C explains it best */
    run->rc = 0;
  }
  rn_set_error(run, prc, running != (size_t)-1 ? run->mf->steps[running].id : NULL, reason, msg);
  ss_log(&run->ss, 3, "%s", run->error);
  if (running != (size_t)-1) {
    rn_state *st = &run->st[running];
    st->status = RN_FAILED;
    os_free(st->error);
    st->error = os_strdup(run->error);
    st->error_rc = prc;
    f = rm_obj();
    if (f) {
      js_set_str(f, "step_id", run->mf->steps[running].id);
      js_set_str(f, "driver", run->mf->steps[running].driver);
      js_set_str(f, "error", run->error);
      js_set_str(f, "error_type", osiris_rc_name(prc));
      js_set_int(f, "duration_ms", 0);
    }
    ss_event(&run->ss, "step_failed", f);
  }
  if (run->mf) rn_skip_rest(run, running != (size_t)-1 ? run->mf->steps[running].id : "(worker)");
}

static osiris_rc rm_execute(osiris_run *run) {
  rm_state *rs = run->adapter_state;
  os_err err = {0};
  osiris_rc rc;
  if (!rs) return run->rc ? run->rc : OSIRIS_EINVAL;
  rc = rs->tp->start(rs, &err);
  rs->t_started = os_now_ms();
  if (!rc) rc = rs->tp->pump(rs, &err);
  rs->t_ended = os_now_ms();
  if (rs->exited) {
    osiris_json *f = rm_obj();
    if (f) {
      js_set_int(f, "exit_code", rs->exit_code);
      if (rs->term_signal) js_set_int(f, "signal", rs->term_signal);
    }
    rm_event(rs, "worker_exited", f);
  }
  if (rc) {
    rs->failed = 1;
    snprintf(rs->error, sizeof rs->error, "%s", err.msg);
  }
  rm_conclude(rs, rc, err.msg);
  return run->rc;
}

/* Bring back the files writers produced and artifacts/ of the worker. */
static osiris_rc rm_collect_files(rm_state *rs, int64_t *files, int64_t *bytes, os_err *err) {
  osiris_run *run = rs->run;
  osiris_json *paths = js_alloc(OSIRIS_JSON_ARRAY);
  char *adir = os_path_join(rs->wdir, "artifacts");
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  if (!paths || !adir) {
    rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
    goto done;
  }
  for (i = 0; !rc && i < osiris_json_size(rs->outputs); i++) {
    const char *w = osiris_json_str(osiris_json_at(rs->outputs, i));
    char *h = rm_host_path(rs, w);
    int64_t n = 0;
    if (!h) {
      ss_log(&run->ss, 2, "remote: %s is outside the worker's session directory; not copied", w);
      continue;
    }
    rc = rs->tp->fetch(rs, w, h, &n, err);
    if (!rc) {
      (*files)++;
      *bytes += n;
    }
    os_free(h);
  }
  if (!rc) rc = rs->tp->list(rs, adir, paths, err);
  for (i = 0; !rc && i < osiris_json_size(paths); i++) {
    const char *w = osiris_json_str(osiris_json_at(paths, i));
    const char *rel = rm_below(w, rs->wdir);
    char *h = rel ? os_path_join(run->ss.dir, rel) : NULL;
    int64_t n = 0;
    if (!h) continue;
    rc = rs->tp->fetch(rs, w, h, &n, err);
    if (!rc) {
      (*files)++;
      *bytes += n;
    }
    os_free(h);
  }
done:
  osiris_json_free(paths);
  os_free(adir);
  return rc;
}

static osiris_rc rm_collect(osiris_run *run) {
  rm_state *rs = run->adapter_state;
  osiris_rc rc;
  if (rs) {
    int64_t files = 0, bytes = 0;
    double t0 = os_now_ms(), copy_ms = 0;
    /* A dead sandbox has nothing to give; a dead local worker left files. */
    if (rs->started && !(rs->failed && rs->tp == &rm_e2b) && !run->ctx->cancelled) {
      os_err err = {0};
      osiris_rc crc = rm_collect_files(rs, &files, &bytes, &err);
      if (crc) {
        if (!run->rc) {
          rn_set_error(run, crc, NULL, "collect_failed", err.msg);
          run->ok = 0;
        }
        ss_log(&run->ss, 3, "remote: collecting files failed: %s", err.msg);
      }
      copy_ms = os_now_ms() - t0;
      {
        osiris_json *f = rm_obj();
        if (f) {
          js_set_int(f, "files", files);
          js_set_int(f, "bytes", bytes);
        }
        rm_event(rs, "artifacts_downloaded", f);
      }
    }
    rs->tp->close(rs);
    {
      double total = os_now_ms() - rs->t_open;
      double worker = rs->t_ended > rs->t_started ? rs->t_ended - rs->t_started : 0;
      double overhead = total - worker - copy_ms;
      ss_metric(&run->ss, "e2b_overhead_ms", overhead > 0 ? floor(overhead) : 0, "ms", NULL);
      ss_metric(&run->ss, "artifacts_copy_ms", floor(copy_ms), "ms", NULL);
      ss_metric(&run->ss, "artifacts_bytes_total", (double)bytes, "bytes", NULL);
      ss_metric(&run->ss, "artifacts_files_total", (double)files, "files", NULL);
    }
  }
  if (run->rc) run->ok = 0;
  rc = rn_write_results(run, 1);
  rm_state_free(rs);
  run->adapter_state = NULL;
  return run->rc ? run->rc : rc;
}

static const osiris_adapter rm_sandbox_adapter = {"sandbox", rm_prepare, rm_execute, rm_collect};
static const osiris_adapter rm_e2b_adapter = {"e2b", rm_prepare, rm_execute, rm_collect};

static void rm_register_adapters(osiris_ctx *ctx) {
  osiris_adapter_register(ctx, &rm_sandbox_adapter);
  osiris_adapter_register(ctx, &rm_e2b_adapter);
}
