/* ======================================================================
 * 16b. Run comparison (osiris runs diff)
 *
 * Two run directories are equivalent when they tell the same story: the
 * same events per step in the same order with the same fields, the same
 * metrics with the same tags and row counts, the same artifacts (path and
 * sha256), the same status.json and run_card.json and the same output
 * files.  What naturally differs between two runs is left out: times,
 * durations, session ids, absolute run paths, the adapter's name, memory
 * figures.  Events and metrics that only a transport emits (sandbox
 * creation, artifact download) are listed apart, never as differences.
 * ====================================================================== */

/* Fields that differ between any two runs of the same pipeline. */
static int df_ignored_field(const char *k) {
  static const char *const ignored[] = {"ts", "session", "session_id", "session_dir",
                                        "duration_ms", "duration", "manifest_path", "adapter",
                                        "sandbox_id", "value_ms", NULL};
  size_t i;
  for (i = 0; ignored[i]; i++)
    if (strcmp(k, ignored[i]) == 0) return 1;
  return 0;
}

static int df_transport_name(const char *name) {
  static const char *const prefixes[] = {"e2b_", "sandbox_", "transport_", "worker_",
                                         "artifacts_copy", "artifacts_bytes", "artifacts_files",
                                         "artifacts_downloaded", "dependency_", "package_", NULL};
  size_t i;
  for (i = 0; prefixes[i]; i++)
    if (os_startswith(name, prefixes[i])) return 1;
  return 0;
}

/* A canonical one-line form of an event or metric without its ignored
 * fields, used as the unit of comparison. */
static char *df_normalize(const osiris_json *line, const char *kind_key, int metric) {
  osiris_json *copy = js_alloc(OSIRIS_JSON_OBJECT);
  os_buf b = {0};
  size_t i;
  const char *name = js_gets(line, kind_key);
  if (!copy) return NULL;
  for (i = 0; i < line->u.c.n; i++) {
    const char *k = line->u.c.keys[i];
    if (df_ignored_field(k)) continue;
    /* Metric values: row counts must match; measurements may not. */
    if (metric && strcmp(k, "value") == 0 && !os_startswith(name, "rows_") &&
        !os_streq(name, "steps_total") && !os_streq(name, "steps_completed"))
      continue;
    osiris_json_set(copy, k, osiris_json_copy(line->u.c.items[i]));
  }
  js_dump(&b, copy, OSIRIS_JSON_SORTED);
  osiris_json_free(copy);
  return ob_take(&b);
}

typedef struct df_lines {
  char **items;   /* normalized lines */
  char **groups;  /* step id or "" for run-level */
  char **names;
  size_t n, cap;
} df_lines;

static void df_lines_free(df_lines *l) {
  size_t i;
  for (i = 0; i < l->n; i++) {
    os_free(l->items[i]);
    os_free(l->groups[i]);
    os_free(l->names[i]);
  }
  os_free(l->items);
  os_free(l->groups);
  os_free(l->names);
  memset(l, 0, sizeof *l);
}

static osiris_rc df_read_lines(const char *dir, const char *file, const char *kind_key, int metric,
                               df_lines *out, os_err *err) {
  char *path = os_path_join(dir, file), *text = NULL, *p, *next;
  osiris_rc rc;
  if (!path) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  rc = os_read_file(path, &text, NULL, err);
  os_free(path);
  if (rc) return rc;
  for (p = text; p && *p; p = next) {
    osiris_json *line = NULL;
    const char *group;
    next = strchr(p, '\n');
    if (next) *next++ = 0;
    if (!*p) continue;
    if (js_parse(p, strlen(p), file, &line, err)) continue;
    if (out->n == out->cap) {
      size_t cap = out->cap ? out->cap * 2 : 64;
      char **a = os_realloc(out->items, cap * sizeof *a), **g, **nm;
      if (a) out->items = a;
      g = os_realloc(out->groups, cap * sizeof *g);
      if (g) out->groups = g;
      nm = os_realloc(out->names, cap * sizeof *nm);
      if (nm) out->names = nm;
      if (!a || !g || !nm) {
        osiris_json_free(line);
        os_free(text);
        return os_fail(err, OSIRIS_ENOMEM, "out of memory");
      }
      out->cap = cap;
    }
    group = js_gets(line, "step_id");
    if (!group) group = js_gets(osiris_json_get(line, "tags"), "step_id");
    out->items[out->n] = df_normalize(line, kind_key, metric);
    out->groups[out->n] = os_strdup(group ? group : "");
    out->names[out->n] = os_strdup(js_gets(line, kind_key) ? js_gets(line, kind_key) : "");
    out->n++;
    osiris_json_free(line);
  }
  os_free(text);
  return OSIRIS_OK;
}

static void df_add(osiris_json *list, const char *fmt, ...) OS_PRINTF(2, 3);
static void df_add(osiris_json *list, const char *fmt, ...) {
  va_list ap;
  char *s;
  va_start(ap, fmt);
  s = os_vasprintf(fmt, ap);
  va_end(ap);
  if (s) osiris_json_push(list, osiris_json_new_str(s, strlen(s)));
  os_free(s);
}

/* Compare two line sets group by group (per step, in order). */
static void df_compare_lines(const char *what, df_lines *a, df_lines *b, osiris_json *diffs,
                             osiris_json *transport) {
  size_t i;
  /* Groups in order of first appearance in a, then those only in b. */
  for (i = 0; i < a->n + b->n; i++) {
    const char *g = i < a->n ? a->groups[i] : b->groups[i - a->n];
    size_t ia = 0, ib = 0, k;
    int seen = 0;
    for (k = 0; k < i && !seen; k++)
      if (strcmp(k < a->n ? a->groups[k] : b->groups[k - a->n], g) == 0) seen = 1;
    if (seen) continue;
    for (;;) {
      while (ia < a->n && (strcmp(a->groups[ia], g) || df_transport_name(a->names[ia]))) {
        if (!strcmp(a->groups[ia], g) && df_transport_name(a->names[ia]))
          df_add(transport, "A %s %s", what, a->names[ia]);
        ia++;
      }
      while (ib < b->n && (strcmp(b->groups[ib], g) || df_transport_name(b->names[ib]))) {
        if (!strcmp(b->groups[ib], g) && df_transport_name(b->names[ib]))
          df_add(transport, "B %s %s", what, b->names[ib]);
        ib++;
      }
      if (ia >= a->n && ib >= b->n) break;
      if (ia >= a->n) {
        df_add(diffs, "%s%s%s: only in B: %s", what, *g ? " of step " : " (run)", g, b->items[ib]);
        ib++;
        continue;
      }
      if (ib >= b->n) {
        df_add(diffs, "%s%s%s: only in A: %s", what, *g ? " of step " : " (run)", g, a->items[ia]);
        ia++;
        continue;
      }
      if (strcmp(a->items[ia], b->items[ib]) != 0) {
        /* Same name: a field differs; different names: order or presence. */
        if (strcmp(a->names[ia], b->names[ib]) == 0)
          df_add(diffs, "%s%s%s: %s differs:\n    A: %s\n    B: %s", what,
                 *g ? " of step " : " (run)", g, a->names[ia], a->items[ia], b->items[ib]);
        else
          df_add(diffs, "%s%s%s: A has %s where B has %s", what, *g ? " of step " : " (run)", g,
                 a->names[ia], b->names[ib]);
      }
      ia++;
      ib++;
    }
  }
}

/* Every file under dir/artifacts with its sha256, as "path sha". */
static void df_list_artifacts(const char *root, const char *rel, osiris_json *out) {
  char *dirpath = *rel ? os_path_join(root, rel) : os_strdup(root);
  DIR *d = dirpath ? opendir(dirpath) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char *sub, *full;
    if (e->d_name[0] == '.') continue;
    sub = *rel ? os_asprintf("%s/%s", rel, e->d_name) : os_strdup(e->d_name);
    full = sub ? os_path_join(root, sub) : NULL;
    if (full && os_is_dir(full)) {
      df_list_artifacts(root, sub, out);
    } else if (full) {
      char hex[65];
      if (os_sha256_file_hex(full, hex) == 0) js_set_str(out, sub, hex);
    }
    os_free(sub);
    os_free(full);
  }
  if (d) closedir(d);
  os_free(dirpath);
}

static void df_compare_objects(const char *what, const osiris_json *a, const osiris_json *b,
                               osiris_json *diffs) {
  size_t i;
  if (!a || !b) {
    if (a || b) df_add(diffs, "%s: only in %s", what, a ? "A" : "B");
    return;
  }
  for (i = 0; i < a->u.c.n; i++) {
    const char *k = a->u.c.keys[i];
    const osiris_json *bv = osiris_json_get(b, k);
    char *sa, *sb;
    if (df_ignored_field(k)) continue;
    sa = osiris_json_dump(a->u.c.items[i], OSIRIS_JSON_SORTED, NULL);
    sb = bv ? osiris_json_dump(bv, OSIRIS_JSON_SORTED, NULL) : NULL;
    if (!sb) df_add(diffs, "%s: %s only in A", what, k);
    else if (sa && strcmp(sa, sb)) df_add(diffs, "%s: %s differs: A %s, B %s", what, k, sa, sb);
    osiris_free(sa);
    osiris_free(sb);
  }
  for (i = 0; i < b->u.c.n; i++)
    if (!df_ignored_field(b->u.c.keys[i]) && !osiris_json_get(a, b->u.c.keys[i]))
      df_add(diffs, "%s: %s only in B", what, b->u.c.keys[i]);
}

/* run_card.json without what differs by nature. */
static osiris_json *df_card(const char *dir) {
  char *path = os_path_join(dir, "run_card.json");
  osiris_json *card = NULL;
  os_err err = {0};
  const osiris_json *steps;
  size_t i;
  if (path) js_read_file(path, &card, &err);
  os_free(path);
  steps = osiris_json_get(card, "steps");
  for (i = 0; i < osiris_json_size(steps); i++)
    osiris_json_remove((osiris_json *)osiris_json_at(steps, i), "duration_ms");
  return card;
}

/* Output files named by output_written events, with their sizes now. */
static void df_outputs(const char *dir, osiris_json *out) {
  char *path = os_path_join(dir, "events.jsonl"), *text = NULL, *p, *next;
  os_err err = {0};
  if (!path || os_read_file(path, &text, NULL, &err)) {
    os_free(path);
    return;
  }
  os_free(path);
  for (p = text; p && *p; p = next) {
    osiris_json *line = NULL;
    next = strchr(p, '\n');
    if (next) *next++ = 0;
    if (js_parse(p, strlen(p), NULL, &line, &err) == OSIRIS_OK &&
        os_streq(js_gets(line, "event"), "output_written") && js_gets(line, "path")) {
      char hex[65];
      if (os_sha256_file_hex(js_gets(line, "path"), hex) == 0)
        js_set_str(out, js_gets(line, "path"), hex);
      else
        js_set_str(out, js_gets(line, "path"), "(missing)");
    }
    osiris_json_free(line);
  }
  os_free(text);
}

static osiris_rc df_runs(osiris_ctx *ctx, const char *a_in, const char *b_in, osiris_json **report) {
  char *a = os_path_abs(ctx->base_dir, a_in), *b = os_path_abs(ctx->base_dir, b_in);
  df_lines ea = {0}, eb = {0}, ma = {0}, mb = {0};
  osiris_json *rep = js_alloc(OSIRIS_JSON_OBJECT), *diffs = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *transport = js_alloc(OSIRIS_JSON_ARRAY);
  osiris_json *arta = js_alloc(OSIRIS_JSON_OBJECT), *artb = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *outa = js_alloc(OSIRIS_JSON_OBJECT), *outb = js_alloc(OSIRIS_JSON_OBJECT);
  osiris_json *sa = NULL, *sb = NULL, *ca = NULL, *cb = NULL;
  os_err err = {0};
  osiris_rc rc = OSIRIS_OK;
  *report = NULL;
  if (!a || !b || !rep || !diffs || !transport || !arta || !artb || !outa || !outb) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  if (!os_is_dir(a) || !os_is_dir(b)) {
    snprintf(ctx->err, sizeof ctx->err, "not a run directory: %s", os_is_dir(a) ? b : a);
    rc = OSIRIS_ENOTFOUND;
    goto done;
  }
  if (df_read_lines(a, "events.jsonl", "event", 0, &ea, &err) ||
      df_read_lines(b, "events.jsonl", "event", 0, &eb, &err) ||
      df_read_lines(a, "metrics.jsonl", "metric", 1, &ma, &err) ||
      df_read_lines(b, "metrics.jsonl", "metric", 1, &mb, &err)) {
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
    rc = err.rc ? err.rc : OSIRIS_EIO;
    goto done;
  }
  df_compare_lines("event", &ea, &eb, diffs, transport);
  df_compare_lines("metric", &ma, &mb, diffs, transport);
  {
    char *pa = os_path_join(a, "artifacts"), *pb = os_path_join(b, "artifacts");
    if (pa) df_list_artifacts(pa, "", arta);
    if (pb) df_list_artifacts(pb, "", artb);
    os_free(pa);
    os_free(pb);
    df_compare_objects("artifact", arta, artb, diffs);
  }
  {
    char *pa = os_path_join(a, "status.json"), *pb = os_path_join(b, "status.json");
    if (pa) js_read_file(pa, &sa, &err);
    if (pb) js_read_file(pb, &sb, &err);
    os_free(pa);
    os_free(pb);
    df_compare_objects("status.json", sa, sb, diffs);
  }
  ca = df_card(a);
  cb = df_card(b);
  df_compare_objects("run_card.json", ca, cb, diffs);
  df_outputs(a, outa);
  df_outputs(b, outb);
  df_compare_objects("output file", outa, outb, diffs);
  js_set_str(rep, "a", a);
  js_set_str(rep, "b", b);
  js_set_bool(rep, "equivalent", osiris_json_size(diffs) == 0);
  osiris_json_set(rep, "differences", diffs);
  diffs = NULL;
  osiris_json_set(rep, "transport_only", transport);
  transport = NULL;
  *report = rep;
  rep = NULL;
done:
  df_lines_free(&ea);
  df_lines_free(&eb);
  df_lines_free(&ma);
  df_lines_free(&mb);
  osiris_json_free(rep);
  osiris_json_free(diffs);
  osiris_json_free(transport);
  osiris_json_free(arta);
  osiris_json_free(artb);
  osiris_json_free(outa);
  osiris_json_free(outb);
  osiris_json_free(sa);
  osiris_json_free(sb);
  osiris_json_free(ca);
  osiris_json_free(cb);
  os_free(a);
  os_free(b);
  return rc;
}

osiris_rc osiris_runs_diff(osiris_ctx *ctx, const char *run_a, const char *run_b,
                           osiris_json **report) {
  if (!ctx || !run_a || !run_b || !report) return OSIRIS_EUSAGE;
  return df_runs(ctx, run_a, run_b, report);
}
