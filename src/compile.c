/* ======================================================================
 * 12. OML and the compiler
 *
 * A pipeline (OML YAML) is checked as a whole: every problem is reported
 * at once as {type, message, location, line, col}, where location is the
 * dotted path ("steps[1].config.query") and line:col come from the YAML
 * node.  The inline-secret scan runs on the document as written, before
 * ${params.x} is expanded, and no message ever contains the value of a
 * secret key.  Compilation is deterministic: the same OML, params and
 * profile give byte-identical manifest.yaml and cfg/<id>.json except the
 * meta.generated_at line, and no hash covers generated_at.  Fingerprints
 * and manifest_hash follow the reference (section 3) so that they equal
 * those of Python Osiris 0.5.7 for the same input.
 *
 * Choices where the reference is silent or buggy:
 *  - A string that is exactly "${params.x}" takes the parameter's JSON
 *    value and type (port: ${params.port} stays an integer); 0.5.7 always
 *    makes a string.  Inside a longer string a value is inserted the way
 *    Python's str() prints it (True/False/None, 7.0).
 *  - OSIRIS_PARAM_<NAME> is looked up (osiris_ctx_getenv, so .env counts)
 *    for every declared and every referenced parameter, not for every
 *    variable of the environment, so params_fp does not depend on
 *    unrelated variables.
 *  - An unknown profile is an error (0.5.7 ignores it); "default" means
 *    no profile.
 *  - Defaults of OSIRIS_KEY_CONN keys are not copied into cfg when the
 *    step names a connection, so they cannot shadow connection fields.
 * ====================================================================== */

#define CP_COMPILER "osiris-compiler/0.1"
#define CP_REGISTRY "osiris-registry/0.1"
#define CP_REGISTRY_FP_TEXT "registry-v0.1"
#define CP_LOC_CAP 1024

typedef struct cp_state {
  osiris_ctx *ctx;
  osiris_json *errors;   /* array of issues */
  osiris_json *warnings; /* array of issues */
  int secret;            /* an inline secret was found: OSIRIS_ESECRET */
  int nomem;             /* an issue could not be recorded */
} cp_state;

static void cp_issue(cp_state *st, osiris_json *list, const char *type, const osiris_json *at,
                     const char *location, const char *fmt, ...) OS_PRINTF(6, 7);

static void cp_issue(cp_state *st, osiris_json *list, const char *type, const osiris_json *at,
                     const char *location, const char *fmt, ...) {
  va_list ap;
  char *msg;
  osiris_json *e;
  va_start(ap, fmt);
  msg = os_vasprintf(fmt, ap);
  va_end(ap);
  e = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!msg || !e || js_set_str(e, "type", type) || js_set_str(e, "message", msg) ||
      js_set_str(e, "location", location ? location : "") ||
      js_set_int(e, "line", at ? (int64_t)at->line : 0) ||
      js_set_int(e, "col", at ? (int64_t)at->col : 0)) {
    st->nomem = 1;
    osiris_json_free(e);
  } else if (osiris_json_push(list, e)) {
    st->nomem = 1;
  }
  os_free(msg);
}

#define CP_ERR(st, type, at, loc, ...) cp_issue((st), (st)->errors, (type), (at), (loc), __VA_ARGS__)
#define CP_WARN(st, type, at, loc, ...) \
  cp_issue((st), (st)->warnings, (type), (at), (loc), __VA_ARGS__)

static const char *cp_kind_name(const osiris_json *v) {
  switch (osiris_json_kind_of(v)) {
  case OSIRIS_JSON_NULL: return "null";
  case OSIRIS_JSON_BOOL: return "bool";
  case OSIRIS_JSON_INT: return "int";
  case OSIRIS_JSON_DOUBLE: return "float";
  case OSIRIS_JSON_STRING: return "string";
  case OSIRIS_JSON_ARRAY: return "list";
  case OSIRIS_JSON_OBJECT: return "mapping";
  }
  return "?";
}

/* ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ : ids become file names (cfg/<id>.json). */
static int cp_valid_step_id(const char *id) {
  const char *p;
  if (!id || !(isalnum((unsigned char)id[0]) || id[0] == '_')) return 0;
  for (p = id; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')) return 0;
  return p - id < 256;
}

static const char *cp_map_mode(const char *mode) {
  return os_streq(mode, "read") ? "extract" : mode;
}

/* Is word one of the space-separated words of list? */
static int cp_has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  const char *p = list;
  if (!list || !n) return 0;
  while (*p) {
    size_t k;
    while (*p == ' ') p++;
    k = strcspn(p, " ");
    if (k == n && memcmp(p, word, n) == 0) return 1;
    p += k;
  }
  return 0;
}

static const osiris_config_key *cp_key_find(const osiris_driver *d, const char *name, int nocase) {
  const osiris_config_key *k;
  if (!d || !d->keys) return NULL;
  for (k = d->keys; k->name; k++) {
    if (nocase ? strcasecmp(k->name, name) == 0 : strcmp(k->name, name) == 0) return k;
  }
  return NULL;
}

/* Compile-time secret: the common names (mk_is_secret_key) or a key the
 * component flags OSIRIS_KEY_SECRET (case-insensitive, like 0.5.7). */
static int cp_is_secret(const osiris_driver *d, const char *key) {
  const osiris_config_key *k;
  if (mk_is_secret_key(key)) return 1;
  k = cp_key_find(d, key, 1);
  return k && (k->flags & OSIRIS_KEY_SECRET);
}

/* The step's component name: `component`, else the legacy `uses`. */
static const osiris_json *cp_step_component(const osiris_json *step) {
  const osiris_json *c = osiris_json_get(step, "component");
  return c ? c : osiris_json_get(step, "uses");
}

/* The step's config: `config`, else the legacy `with`. */
static const osiris_json *cp_step_config(const osiris_json *step) {
  const osiris_json *c = osiris_json_get(step, "config");
  return c ? c : osiris_json_get(step, "with");
}

/* ---------------------------------------------------------- inline secrets */

static void cp_secret_check(cp_state *st, const osiris_json *v, const char *key,
                            const char *loc) {
  const char *s = osiris_json_str(v);
  if (s && strlen(s) > 4 && !os_startswith(s, "${")) {
    st->secret = 1;
    CP_ERR(st, "inline_secret", v, loc,
           "Inline secret at %s: use a connection or ${ENV_VAR} instead of a literal value for '%s'",
           loc, key);
  }
}

/* Walk the document as written; any secret-named key holding a literal. */
static void cp_scan_secrets(cp_state *st, const osiris_json *v, os_buf *path, int depth) {
  size_t i;
  if (depth > OS_MAX_DEPTH) return;
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return;
  for (i = 0; i < v->u.c.n; i++) {
    size_t mark = path->len;
    osiris_rc rc = v->kind == OSIRIS_JSON_OBJECT
                       ? ob_printf(path, "%s%s", mark ? "." : "", v->u.c.keys[i])
                       : ob_printf(path, "[%zu]", i);
    if (rc) {
      st->nomem = 1;
      return;
    }
    if (v->kind == OSIRIS_JSON_OBJECT && mk_is_secret_key(v->u.c.keys[i]))
      cp_secret_check(st, v->u.c.items[i], v->u.c.keys[i], path->p);
    cp_scan_secrets(st, v->u.c.items[i], path, depth + 1);
    path->len = mark;
    path->p[mark] = 0;
  }
}

/* Keys a component flags secret that the common list does not know. */
static void cp_scan_component_secrets(cp_state *st, const osiris_json *doc) {
  const osiris_json *steps = osiris_json_get(doc, "steps");
  size_t i, j;
  char loc[CP_LOC_CAP];
  for (i = 0; i < osiris_json_size(steps); i++) {
    const osiris_json *step = osiris_json_at(steps, i);
    const osiris_json *cfg = cp_step_config(step);
    const osiris_driver *d = osiris_driver_find(st->ctx, osiris_json_str(cp_step_component(step)));
    const char *cfgname = osiris_json_get(step, "config") ? "config" : "with";
    if (!d || osiris_json_kind_of(cfg) != OSIRIS_JSON_OBJECT) continue;
    for (j = 0; j < osiris_json_size(cfg); j++) {
      const char *k = osiris_json_key_at(cfg, j);
      const osiris_config_key *kd = cp_key_find(d, k, 1);
      if (mk_is_secret_key(k) || !kd || !(kd->flags & OSIRIS_KEY_SECRET)) continue;
      snprintf(loc, sizeof loc, "steps[%zu].%s.%s", i, cfgname, k);
      cp_secret_check(st, osiris_json_at(cfg, j), k, loc);
    }
  }
}

/* ---------------------------------------------------------------- params */

/* Call fn for every ${params.NAME} in s (NAME: one or more chars, no '}'),
 * as the 0.5.7 pattern \$\{params\.([^}]+)\} does. */
static int cp_next_param(const char *s, size_t len, size_t from, size_t *start, size_t *ns,
                         size_t *ne) {
  size_t i;
  for (i = from; i + 9 < len; i++) {
    const char *close;
    if (memcmp(s + i, "${params.", 9) != 0) continue;
    close = memchr(s + i + 9, '}', len - i - 9);
    if (!close) return 0;
    if ((size_t)(close - s) == i + 9) continue; /* empty name */
    *start = i;
    *ns = i + 9;
    *ne = (size_t)(close - s);
    return 1;
  }
  return 0;
}

/* Collect every referenced parameter name into names (an object used as a
 * set, value null). */
static osiris_rc cp_collect_refs(const osiris_json *v, osiris_json *names, int depth) {
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  if (depth > OS_MAX_DEPTH) return OSIRIS_ELIMIT;
  if (v->kind == OSIRIS_JSON_STRING) {
    size_t pos = 0, st, ns, ne;
    while (cp_next_param(v->u.s.ptr, v->u.s.len, pos, &st, &ns, &ne)) {
      char *name = os_strndup(v->u.s.ptr + ns, ne - ns);
      osiris_json *nul;
      if (!name) return OSIRIS_ENOMEM;
      if (!osiris_json_get(names, name)) {
        nul = osiris_json_new(OSIRIS_JSON_NULL);
        rc = nul ? osiris_json_set(names, name, nul) : OSIRIS_ENOMEM;
      }
      os_free(name);
      if (rc) return rc;
      pos = ne + 1;
    }
    return OSIRIS_OK;
  }
  if (v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_ARRAY) return OSIRIS_OK;
  for (i = 0; i < v->u.c.n && !rc; i++) rc = cp_collect_refs(v->u.c.items[i], names, depth + 1);
  return rc;
}

static osiris_rc cp_set_copy(osiris_json *obj, const char *key, const osiris_json *v) {
  osiris_json *c = osiris_json_copy(v);
  return c ? osiris_json_set(obj, key, c) : OSIRIS_ENOMEM;
}

/* Effective parameters: OML defaults < OSIRIS_PARAM_<NAME> < profile
 * params < --param k=v.  Problems become issues; rc is for ENOMEM only. */
static osiris_rc cp_params(cp_state *st, const osiris_json *doc, const char *profile,
                           const char *const *cli, osiris_json **out) {
  osiris_json *params = osiris_json_new(OSIRIS_JSON_OBJECT);
  osiris_json *names = osiris_json_new(OSIRIS_JSON_OBJECT);
  const osiris_json *decl = osiris_json_get(doc, "params");
  const osiris_json *profiles = osiris_json_get(doc, "profiles");
  osiris_rc rc = OSIRIS_OK;
  size_t i;
  *out = NULL;
  if (!params || !names) goto oom;
  if (decl && decl->kind != OSIRIS_JSON_OBJECT && decl->kind != OSIRIS_JSON_NULL) {
    CP_ERR(st, "invalid_params_type", decl, "params", "params must be a mapping, got %s",
           cp_kind_name(decl));
    decl = NULL;
  }
  for (i = 0; i < osiris_json_size(decl); i++) {
    const char *name = osiris_json_key_at(decl, i);
    const osiris_json *spec = osiris_json_at(decl, i);
    osiris_json *nul = osiris_json_new(OSIRIS_JSON_NULL);
    if (!nul || osiris_json_set(names, name, nul)) goto oom;
    if (spec->kind == OSIRIS_JSON_OBJECT) {
      const osiris_json *dflt = osiris_json_get(spec, "default");
      if (dflt && cp_set_copy(params, name, dflt)) goto oom;
    } else if (cp_set_copy(params, name, spec)) {
      goto oom;
    }
  }
  rc = cp_collect_refs(doc, names, 0);
  if (rc) goto done;
  for (i = 0; i < osiris_json_size(names); i++) {
    const char *name = osiris_json_key_at(names, i);
    char *var = os_asprintf("OSIRIS_PARAM_%s", name);
    const char *val;
    char *p;
    if (!var) goto oom;
    for (p = var; *p; p++) *p = (char)toupper((unsigned char)*p);
    val = osiris_ctx_getenv(st->ctx, var);
    os_free(var);
    if (val && js_set_str(params, name, val)) goto oom;
  }
  if (profile && *profile && !os_streq(profile, "default")) {
    const osiris_json *prof = osiris_json_get(profiles, profile);
    if (!prof) {
      char *avail = cn_key_list(osiris_json_kind_of(profiles) == OSIRIS_JSON_OBJECT ? profiles : NULL);
      if (!avail) goto oom;
      CP_ERR(st, "unknown_profile", profiles, "profiles", "Unknown profile '%s'; available: %s",
             profile, avail);
      os_free(avail);
    } else {
      const osiris_json *pp = osiris_json_get(prof, "params");
      if (pp && pp->kind != OSIRIS_JSON_OBJECT) {
        char loc[CP_LOC_CAP];
        snprintf(loc, sizeof loc, "profiles.%s.params", profile);
        CP_ERR(st, "invalid_profile", pp, loc, "profile params must be a mapping, got %s",
               cp_kind_name(pp));
      } else {
        for (i = 0; i < osiris_json_size(pp); i++)
          if (cp_set_copy(params, osiris_json_key_at(pp, i), osiris_json_at(pp, i))) goto oom;
      }
    }
  }
  for (i = 0; cli && cli[i]; i++) {
    const char *eq = strchr(cli[i], '=');
    char *name;
    osiris_json *val;
    if (!eq || eq == cli[i]) {
      CP_ERR(st, "invalid_param", NULL, "params", "Invalid parameter '%s' (expected name=value)",
             cli[i]);
      continue;
    }
    name = os_strndup(cli[i], (size_t)(eq - cli[i]));
    val = osiris_json_new_str(eq + 1, strlen(eq + 1));
    if (!name || !val) {
      os_free(name);
      osiris_json_free(val);
      goto oom;
    }
    rc = osiris_json_set(params, name, val);
    os_free(name);
    if (rc) goto done;
  }
  *out = params;
  params = NULL;
  goto done;
oom:
  rc = OSIRIS_ENOMEM;
done:
  osiris_json_free(params);
  osiris_json_free(names);
  return rc;
}

/* Python's str() of a JSON value, for a parameter inside a longer string. */
static osiris_rc cp_str_value(os_buf *b, const osiris_json *v) {
  char num[64];
  switch (v->kind) {
  case OSIRIS_JSON_STRING: return ob_put(b, v->u.s.ptr, v->u.s.len);
  case OSIRIS_JSON_NULL: return ob_puts(b, "None");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "True" : "False");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    js_fmt_double(num, sizeof num, v->u.d);
    return ob_puts(b, num);
  default: return js_dump(b, v, 0);
  }
}

typedef struct cp_resolve_ctx {
  const osiris_json *params;
  osiris_json *unresolved; /* array of {name, location, line, col} */
} cp_resolve_ctx;

static osiris_rc cp_note_unresolved(cp_resolve_ctx *rc_, const osiris_json *s, const char *path,
                                    const char *name, size_t n) {
  osiris_json *u = osiris_json_new(OSIRIS_JSON_OBJECT);
  osiris_json *nm = osiris_json_new_str(name, n);
  if (!u || !nm || osiris_json_set(u, "name", nm) || js_set_str(u, "location", path) ||
      js_set_int(u, "line", s->line) || js_set_int(u, "col", s->col)) {
    if (!u) osiris_json_free(nm);
    osiris_json_free(u);
    return OSIRIS_ENOMEM;
  }
  return osiris_json_push(rc_->unresolved, u);
}

static osiris_rc cp_resolve_cb(void *user, const osiris_json *s, const char *path,
                               osiris_json **repl) {
  cp_resolve_ctx *rx = user;
  size_t pos = 0, start, ns, ne;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  char name[512];
  if (!cp_next_param(s->u.s.ptr, s->u.s.len, 0, &start, &ns, &ne)) return OSIRIS_OK;
  if (start == 0 && ne + 1 == s->u.s.len) {
    const osiris_json *val;
    snprintf(name, sizeof name, "%.*s", (int)(ne - ns), s->u.s.ptr + ns);
    val = osiris_json_get(rx->params, name);
    if (val) {
      *repl = osiris_json_copy(val);
      return *repl ? OSIRIS_OK : OSIRIS_ENOMEM;
    }
  }
  while (cp_next_param(s->u.s.ptr, s->u.s.len, pos, &start, &ns, &ne)) {
    const osiris_json *val;
    snprintf(name, sizeof name, "%.*s", (int)(ne - ns), s->u.s.ptr + ns);
    rc = ob_put(&b, s->u.s.ptr + pos, start - pos);
    if (rc) goto done;
    val = osiris_json_get(rx->params, name);
    if (val) {
      rc = cp_str_value(&b, val);
    } else {
      rc = cp_note_unresolved(rx, s, path, s->u.s.ptr + ns, ne - ns);
      if (!rc) rc = ob_put(&b, s->u.s.ptr + start, ne + 1 - start);
    }
    if (rc) goto done;
    pos = ne + 1;
  }
  rc = ob_put(&b, s->u.s.ptr + pos, s->u.s.len - pos);
  if (rc) goto done;
  *repl = osiris_json_new_str(b.p ? b.p : "", b.len);
  if (!*repl) rc = OSIRIS_ENOMEM;
done:
  ob_free(&b);
  return rc;
}

/* Expand ${params.x} everywhere; unresolved names become one issue that
 * lists them all with their places (an error for compile, a warning for
 * validate, which has no --param). */
static osiris_rc cp_resolve(cp_state *st, const osiris_json *doc, const osiris_json *params,
                            int as_warning, osiris_json **out) {
  cp_resolve_ctx rx;
  os_buf path = {0}, msg = {0}, where = {0};
  osiris_rc rc = OSIRIS_OK;
  size_t i, j, n;
  *out = NULL;
  rx.params = params;
  rx.unresolved = osiris_json_new(OSIRIS_JSON_ARRAY);
  if (!rx.unresolved) return OSIRIS_ENOMEM;
  *out = cn_map_strings(doc, cp_resolve_cb, &rx, &path, 0, &rc);
  if (!*out) goto done;
  n = osiris_json_size(rx.unresolved);
  if (n) {
    const osiris_json *first = osiris_json_at(rx.unresolved, 0);
    osiris_json *names = osiris_json_new(OSIRIS_JSON_ARRAY);
    osiris_json loc_at;
    if (!names) goto oom;
    /* sorted unique names, as 0.5.7 prints them: ['a', 'b'] */
    for (i = 0; i < n; i++) {
      const char *nm = js_gets(osiris_json_at(rx.unresolved, i), "name");
      size_t k, at = osiris_json_size(names);
      int dup = 0;
      for (k = 0; k < osiris_json_size(names); k++) {
        int c = strcmp(nm, osiris_json_str(osiris_json_at(names, k)));
        if (c == 0) dup = 1;
        if (c <= 0) {
          at = k;
          break;
        }
      }
      if (dup) continue;
      if (js_push_str(names, nm)) {
        osiris_json_free(names);
        goto oom;
      }
      /* move the new last item into place */
      for (k = osiris_json_size(names) - 1; k > at; k--) {
        osiris_json *t = names->u.c.items[k];
        names->u.c.items[k] = names->u.c.items[k - 1];
        names->u.c.items[k - 1] = t;
      }
    }
    rc = ob_puts(&msg, "Unresolved parameters: [");
    for (j = 0; !rc && j < osiris_json_size(names); j++)
      rc = ob_printf(&msg, "%s'%s'", j ? ", " : "", osiris_json_str(osiris_json_at(names, j)));
    osiris_json_free(names);
    for (i = 0; !rc && i < n; i++) {
      const osiris_json *u = osiris_json_at(rx.unresolved, i);
      rc = ob_printf(&where, "%s%s at %s (%" PRId64 ":%" PRId64 ")", i ? "; " : "",
                     js_gets(u, "name"), js_gets(u, "location"),
                     osiris_json_int(osiris_json_get(u, "line"), 0),
                     osiris_json_int(osiris_json_get(u, "col"), 0));
    }
    if (rc) goto done;
    memset(&loc_at, 0, sizeof loc_at);
    loc_at.line = (uint32_t)osiris_json_int(osiris_json_get(first, "line"), 0);
    loc_at.col = (uint32_t)osiris_json_int(osiris_json_get(first, "col"), 0);
    cp_issue(st, as_warning ? st->warnings : st->errors, "unresolved_param", &loc_at,
             js_gets(first, "location"), "%s] (%s)", msg.p, where.p);
  }
  goto done;
oom:
  rc = OSIRIS_ENOMEM;
done:
  if (rc) {
    osiris_json_free(*out);
    *out = NULL;
  }
  osiris_json_free(rx.unresolved);
  ob_free(&path);
  ob_free(&msg);
  ob_free(&where);
  return rc;
}

/* ------------------------------------------------------------ topo order */

/* Kahn's algorithm with a stable pick: among ready steps the lowest index
 * goes first.  deps[i][0..ndeps[i]) are indices step i needs.  Returns the
 * number of steps ordered; the rest are on or behind a cycle. */
static size_t cp_toposort(size_t n, size_t *const *deps, const size_t *ndeps, size_t *order,
                          unsigned char *done) {
  size_t count = 0, i, k;
  memset(done, 0, n);
  while (count < n) {
    size_t pick = n;
    for (i = 0; i < n && pick == n; i++) {
      int ready = !done[i];
      for (k = 0; ready && k < ndeps[i]; k++)
        if (!done[deps[i][k]]) ready = 0;
      if (ready) pick = i;
    }
    if (pick == n) break;
    done[pick] = 1;
    order[count++] = pick;
  }
  return count;
}

/* Starting at an unordered step, follow unordered needs until a step
 * repeats: that loop is a cycle, written "a -> b -> a" (a needs b).
 * seen[] marks walked steps so each cycle is named once; returns NULL when
 * the walk ran into an already named cycle, or on ENOMEM (*nomem). */
static char *cp_cycle_text(size_t n, size_t *const *deps, const size_t *ndeps,
                           const unsigned char *done, unsigned char *seen, size_t start,
                           const char *const *ids, int *nomem) {
  size_t *walk = os_calloc(n + 1, sizeof *walk);
  size_t *pos = os_calloc(n, sizeof *pos); /* 1 + index in walk, 0 unseen */
  size_t len = 0, cur = start, i;
  os_buf b = {0};
  char *text = NULL;
  if (!walk || !pos) goto oom;
  for (;;) {
    size_t next = n, k;
    if (pos[cur]) break;
    if (seen[cur]) goto out;
    pos[cur] = ++len;
    walk[len - 1] = cur;
    for (k = 0; k < ndeps[cur] && next == n; k++)
      if (!done[deps[cur][k]]) next = deps[cur][k];
    if (next == n) goto out; /* cannot happen for an unordered step */
    cur = next;
  }
  if (ob_puts(&b, "dependency cycle: ")) goto oom;
  for (i = pos[cur] - 1; i < len; i++)
    if (ob_printf(&b, "%s -> ", ids[walk[i]])) goto oom;
  if (ob_puts(&b, ids[cur])) goto oom;
  text = ob_take(&b);
  if (!text) goto oom;
  goto out;
oom:
  *nomem = 1;
out:
  for (i = 0; i < len; i++) seen[walk[i]] = 1;
  ob_free(&b);
  os_free(walk);
  os_free(pos);
  return text;
}

/* ----------------------------------------------------------- validation */

static void cp_check_top(cp_state *st, const osiris_json *doc) {
  static const char *const required[] = {"oml_version", "name", "steps", NULL};
  static const char *const forbidden[] = {"version", "connectors", "tasks", "outputs", NULL};
  static const char *const known[] = {"oml_version", "name",     "description", "params",
                                      "profiles",    "metadata", "schedule",    "steps", NULL};
  const osiris_json *v;
  size_t i, k;
  for (k = 0; required[k]; k++)
    if (!osiris_json_get(doc, required[k]))
      CP_ERR(st, "missing_required_key", doc, required[k], "Missing required top-level key: '%s'",
             required[k]);
  for (i = 0; i < osiris_json_size(doc); i++) {
    const char *key = osiris_json_key_at(doc, i);
    int is_known = 0, is_forbidden = 0;
    for (k = 0; forbidden[k]; k++)
      if (strcmp(key, forbidden[k]) == 0) is_forbidden = 1;
    for (k = 0; known[k]; k++)
      if (strcmp(key, known[k]) == 0) is_known = 1;
    if (is_forbidden)
      CP_ERR(st, "forbidden_key", osiris_json_at(doc, i), key,
             "Forbidden top-level key: '%s'%s", key,
             strcmp(key, "version") == 0 ? " (use 'oml_version')" : "");
    else if (!is_known)
      CP_WARN(st, "unknown_key", osiris_json_at(doc, i), key, "Unknown top-level key: '%s'", key);
  }
  v = osiris_json_get(doc, "oml_version");
  if (v) {
    if (v->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_version_type", v, "oml_version",
             "oml_version must be a string such as \"0.1.0\", got %s", cp_kind_name(v));
    else if (!os_startswith(v->u.s.ptr, "0."))
      CP_ERR(st, "unsupported_version", v, "oml_version", "Unsupported OML version: %s",
             v->u.s.ptr);
  }
  v = osiris_json_get(doc, "name");
  if (v) {
    if (v->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_name_type", v, "name", "name must be a string, got %s", cp_kind_name(v));
    else if (!v->u.s.len)
      CP_ERR(st, "empty_name", v, "name", "name cannot be empty");
  }
  v = osiris_json_get(doc, "metadata");
  if (v && v->kind != OSIRIS_JSON_OBJECT && v->kind != OSIRIS_JSON_NULL)
    CP_ERR(st, "invalid_metadata_type", v, "metadata", "metadata must be a mapping, got %s",
           cp_kind_name(v));
}

/* Index of the first step with id, n when none. */
static size_t cp_find_id(const char *const *ids, size_t n, const char *id) {
  size_t i;
  for (i = 0; i < n; i++)
    if (ids[i] && strcmp(ids[i], id) == 0) return i;
  return n;
}

static void cp_check_config(cp_state *st, const osiris_json *step, size_t i, const char *sid,
                            const char *comp, const osiris_driver *d) {
  const osiris_json *cfg = cp_step_config(step);
  const char *cfgname = osiris_json_get(step, "config") ? "config" : "with";
  const osiris_json *conn, *wm;
  const osiris_config_key *k;
  char loc[CP_LOC_CAP];
  size_t j;
  if (!cfg || cfg->kind == OSIRIS_JSON_NULL) {
    cfg = NULL;
  } else if (cfg->kind != OSIRIS_JSON_OBJECT) {
    snprintf(loc, sizeof loc, "steps[%zu].%s", i, cfgname);
    CP_ERR(st, "invalid_config_type", cfg, loc, "config must be a mapping, got %s",
           cp_kind_name(cfg));
    return;
  }
  conn = osiris_json_get(cfg, "connection");
  if (conn) {
    char fam[CN_MAX_NAME], alias[CN_MAX_NAME];
    snprintf(loc, sizeof loc, "steps[%zu].%s.connection", i, cfgname);
    if (conn->kind != OSIRIS_JSON_STRING)
      CP_ERR(st, "invalid_connection_ref", conn, loc,
             "Invalid connection reference (expected a string '@family.alias', got %s)",
             cp_kind_name(conn));
    else if (!cn_parse_ref(conn->u.s.ptr, fam, sizeof fam, alias, sizeof alias))
      CP_ERR(st, "invalid_connection_ref", conn, loc,
             "Invalid connection reference: '%s' (expected format: '@family.alias')",
             conn->u.s.ptr);
  }
  if (!d) return;
  for (j = 0; j < osiris_json_size(cfg); j++) {
    const char *key = osiris_json_key_at(cfg, j);
    if (strcmp(key, "connection") == 0 || strcmp(key, "mode") == 0 || cp_key_find(d, key, 0))
      continue;
    snprintf(loc, sizeof loc, "steps[%zu].%s.%s", i, cfgname, key);
    CP_ERR(st, "unknown_config_key", osiris_json_at(cfg, j), loc,
           "Unknown configuration key '%s' for component '%s'", key, comp);
  }
  for (k = d->keys; k && k->name; k++) {
    if (!(k->flags & OSIRIS_KEY_REQUIRED) || osiris_json_get(cfg, k->name)) continue;
    if ((k->flags & OSIRIS_KEY_CONN) && conn) continue;
    snprintf(loc, sizeof loc, "steps[%zu].%s.%s", i, cfgname, k->name);
    CP_ERR(st, "missing_config_key", cfg ? cfg : step, loc,
           "Step '%s': missing required config key '%s' for component '%s'", sid, k->name, comp);
  }
  wm = osiris_json_get(cfg, "write_mode");
  if (!wm) wm = osiris_json_get(cfg, "mode");
  if (cp_has_word(d->modes, "write") &&
      (os_streq(osiris_json_str(wm), "replace") || os_streq(osiris_json_str(wm), "upsert")) &&
      !osiris_json_get(cfg, "primary_key")) {
    snprintf(loc, sizeof loc, "steps[%zu].%s.primary_key", i, cfgname);
    CP_ERR(st, "missing_required_field", wm, loc,
           "Step '%s' requires 'primary_key' when write_mode is '%s'", sid, osiris_json_str(wm));
  }
}

static void cp_check_steps(cp_state *st, const osiris_json *doc) {
  const osiris_json *steps = osiris_json_get(doc, "steps");
  const char **ids = NULL;
  size_t **deps = NULL, *ndeps = NULL, *order = NULL;
  unsigned char *done = NULL, *seen = NULL;
  size_t n, i, j;
  char loc[CP_LOC_CAP];
  if (!steps) return;
  if (steps->kind != OSIRIS_JSON_ARRAY) {
    CP_ERR(st, "invalid_steps_type", steps, "steps", "steps must be a list, got %s",
           cp_kind_name(steps));
    return;
  }
  n = steps->u.c.n;
  if (n == 0) {
    CP_ERR(st, "empty_steps", steps, "steps", "Pipeline must have at least one step");
    return;
  }
  ids = os_calloc(n, sizeof *ids);
  deps = os_calloc(n, sizeof *deps);
  ndeps = os_calloc(n, sizeof *ndeps);
  order = os_calloc(n, sizeof *order);
  done = os_calloc(n, 1);
  seen = os_calloc(n, 1);
  if (!ids || !deps || !ndeps || !order || !done || !seen) goto oom;

  /* pass 1: ids, so that needs may name later steps */
  for (i = 0; i < n; i++) {
    const osiris_json *step = steps->u.c.items[i];
    const osiris_json *id = osiris_json_get(step, "id");
    snprintf(loc, sizeof loc, "steps[%zu].id", i);
    if (step->kind != OSIRIS_JSON_OBJECT) {
      snprintf(loc, sizeof loc, "steps[%zu]", i);
      CP_ERR(st, "invalid_step_type", step, loc, "Step must be a mapping, got %s",
             cp_kind_name(step));
      continue;
    }
    if (!id) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'id'");
    } else if (id->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_id_type", id, loc, "Step ID must be a string, got %s", cp_kind_name(id));
    } else if (!cp_valid_step_id(id->u.s.ptr)) {
      CP_ERR(st, "invalid_id", id, loc,
             "Step ID '%s' must match ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ (at most 255 characters)",
             id->u.s.ptr);
    } else if (cp_find_id(ids, i, id->u.s.ptr) < i) {
      CP_ERR(st, "duplicate_id", id, loc, "Duplicate step ID: '%s'", id->u.s.ptr);
    } else {
      ids[i] = id->u.s.ptr;
    }
  }

  /* pass 2: component, mode, needs, config */
  for (i = 0; i < n; i++) {
    const osiris_json *step = steps->u.c.items[i];
    const osiris_json *comp = cp_step_component(step), *mode, *needs;
    const osiris_driver *d = NULL;
    const char *sid = ids[i] ? ids[i] : js_gets(step, "id");
    const char *compname = NULL;
    if (step->kind != OSIRIS_JSON_OBJECT) continue;
    if (!sid) sid = "?";
    snprintf(loc, sizeof loc, "steps[%zu].component", i);
    if (!comp) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'component'");
    } else if (comp->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_component_type", comp, loc, "Component must be a string, got %s",
             cp_kind_name(comp));
    } else {
      compname = comp->u.s.ptr;
      d = osiris_driver_find(st->ctx, compname);
      if (!d) {
        os_buf avail = {0};
        size_t k;
        for (k = 0; k < osiris_driver_count(st->ctx); k++) {
          const char *nm = NULL;
          osiris_driver_at(st->ctx, k, &nm);
          if (ob_printf(&avail, "%s%s", k ? ", " : "", nm ? nm : "?")) st->nomem = 1;
        }
        CP_ERR(st, "unknown_component", comp, loc,
               "Unknown component '%s' in step '%s'. Available: %s", compname, sid,
               avail.p ? avail.p : "(none)");
        ob_free(&avail);
      }
    }
    mode = osiris_json_get(step, "mode");
    snprintf(loc, sizeof loc, "steps[%zu].mode", i);
    if (!mode) {
      CP_ERR(st, "missing_step_field", step, loc, "Step missing required field: 'mode'");
    } else if (mode->kind != OSIRIS_JSON_STRING) {
      CP_ERR(st, "invalid_mode_type", mode, loc, "Mode must be a string, got %s",
             cp_kind_name(mode));
    } else if (!os_streq(mode->u.s.ptr, "read") && !os_streq(mode->u.s.ptr, "write") &&
               !os_streq(mode->u.s.ptr, "transform")) {
      CP_ERR(st, "invalid_mode", mode, loc,
             "Invalid mode: '%s' (must be one of: read, write, transform)", mode->u.s.ptr);
    } else if (d && !cp_has_word(d->modes, cp_map_mode(mode->u.s.ptr))) {
      static const char *const canon[] = {"read", "write", "transform", NULL};
      char allowed[64] = "";
      size_t k, used = 0;
      for (k = 0; canon[k]; k++)
        if (cp_has_word(d->modes, cp_map_mode(canon[k])))
          used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s%s",
                                   used ? ", " : "", canon[k]);
      CP_ERR(st, "incompatible_mode", mode, loc,
             "Step '%s': mode '%s' not supported by component '%s'. Allowed: %s", sid,
             mode->u.s.ptr, compname, used ? allowed : "(none)");
    }
    needs = osiris_json_get(step, "needs");
    snprintf(loc, sizeof loc, "steps[%zu].needs", i);
    if (needs && needs->kind != OSIRIS_JSON_ARRAY && needs->kind != OSIRIS_JSON_NULL) {
      CP_ERR(st, "invalid_needs_type", needs, loc, "needs must be a list of step ids, got %s",
             cp_kind_name(needs));
    } else if (osiris_json_size(needs)) {
      deps[i] = os_calloc(needs->u.c.n, sizeof **deps);
      if (!deps[i]) goto oom;
      for (j = 0; j < needs->u.c.n; j++) {
        const osiris_json *dep = needs->u.c.items[j];
        size_t at;
        char dloc[CP_LOC_CAP];
        snprintf(dloc, sizeof dloc, "steps[%zu].needs[%zu]", i, j);
        if (dep->kind != OSIRIS_JSON_STRING) {
          CP_ERR(st, "invalid_dependency_type", dep, dloc, "Dependency must be a string, got %s",
                 cp_kind_name(dep));
        } else if (ids[i] && strcmp(dep->u.s.ptr, ids[i]) == 0) {
          CP_ERR(st, "self_dependency", dep, dloc, "Step '%s' needs itself", sid);
        } else if ((at = cp_find_id(ids, n, dep->u.s.ptr)) == n) {
          CP_ERR(st, "unknown_dependency", dep, dloc, "Step '%s': unknown dependency '%s'", sid,
                 dep->u.s.ptr);
        } else {
          deps[i][ndeps[i]++] = at;
        }
      }
    }
    cp_check_config(st, step, i, sid, compname ? compname : "?", d);
  }

  /* cycles: only among steps with valid ids */
  if (cp_toposort(n, deps, ndeps, order, done) < n) {
    for (i = 0; i < n; i++) {
      char *text;
      int nomem = 0;
      if (done[i] || seen[i] || !ids[i]) continue;
      text = cp_cycle_text(n, deps, ndeps, done, seen, i, ids, &nomem);
      if (nomem) goto oom;
      if (text) {
        snprintf(loc, sizeof loc, "steps[%zu].needs", i);
        CP_ERR(st, "dependency_cycle", osiris_json_get(steps->u.c.items[i], "needs"), loc, "%s",
               text);
        os_free(text);
      }
    }
  }
  goto done;
oom:
  st->nomem = 1;
done:
  if (deps)
    for (i = 0; i < n; i++) os_free(deps[i]);
  os_free(deps);
  os_free(ids);
  os_free(ndeps);
  os_free(order);
  os_free(done);
  os_free(seen);
}

/* Parse, scan, resolve and validate.  On OSIRIS_OK *doc_out is the
 * resolved OML and *params_out the effective params.  Other results:
 * EVALIDATE / ESECRET (issues in st), EPARSE/EIO/ENOTFOUND (err, and one
 * issue), ENOMEM. */
static osiris_rc cp_prepare(cp_state *st, const char *abs, const char *profile,
                            const char *const *cli, int validate_only, osiris_json **doc_out,
                            osiris_json **params_out, os_err *err) {
  osiris_json *raw = NULL, *doc = NULL, *params = NULL;
  os_buf path = {0};
  osiris_rc rc;
  *doc_out = *params_out = NULL;
  rc = ym_read_file(abs, &raw, err);
  if (rc) {
    osiris_json at;
    if (rc == OSIRIS_ENOMEM) return rc;
    /* the parser says "<file>:line:col: message"; keep line:col apart too */
    memset(&at, 0, sizeof at);
    if (os_startswith(err->msg, abs) && err->msg[strlen(abs)] == ':') {
      char *end;
      unsigned long ln = strtoul(err->msg + strlen(abs) + 1, &end, 10);
      if (*end == ':') {
        unsigned long cl = strtoul(end + 1, &end, 10);
        if (*end == ':' && ln < UINT32_MAX && cl < UINT32_MAX) {
          at.line = (uint32_t)ln;
          at.col = (uint32_t)cl;
        }
      }
    }
    CP_ERR(st, rc == OSIRIS_EPARSE ? "parse_error" : "file_error", &at, "", "%s", err->msg);
    return rc;
  }
  if (raw->kind != OSIRIS_JSON_OBJECT) {
    CP_ERR(st, "invalid_type", raw, "", "OML must be a mapping, got %s", cp_kind_name(raw));
    rc = OSIRIS_EVALIDATE;
    goto done;
  }
  cp_scan_secrets(st, raw, &path, 0);
  cp_scan_component_secrets(st, raw);
  rc = cp_params(st, raw, profile, cli, &params);
  if (rc) goto done;
  rc = cp_resolve(st, raw, params, validate_only, &doc);
  if (rc) goto done;
  cp_check_top(st, doc);
  cp_check_steps(st, doc);
  if (st->nomem) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  if (osiris_json_size(st->errors)) {
    rc = st->secret ? OSIRIS_ESECRET : OSIRIS_EVALIDATE;
    goto done;
  }
  *doc_out = doc;
  *params_out = params;
  doc = params = NULL;
done:
  if (rc == OSIRIS_ELIMIT) CP_ERR(st, "limit", NULL, "", "pipeline nests too deeply");
  osiris_json_free(raw);
  osiris_json_free(doc);
  osiris_json_free(params);
  ob_free(&path);
  return rc;
}

/* {"valid","file","errors","warnings"}; takes the issue lists from st. */
static osiris_json *cp_report(cp_state *st, const char *file, int valid) {
  osiris_json *r = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!r || js_set_bool(r, "valid", valid) || js_set_str(r, "file", file)) goto fail;
  if (osiris_json_set(r, "errors", st->errors)) {
    st->errors = NULL;
    goto fail;
  }
  st->errors = NULL;
  if (osiris_json_set(r, "warnings", st->warnings)) {
    st->warnings = NULL;
    goto fail;
  }
  st->warnings = NULL;
  return r;
fail:
  osiris_json_free(r);
  return NULL;
}

/* "<file>: N validation errors; first: <message> (<location>, line:col)". */
static void cp_summary(os_err *err, osiris_rc rc, const char *file, const osiris_json *errors) {
  const osiris_json *e = osiris_json_at(errors, 0);
  size_t n = osiris_json_size(errors);
  const char *loc = js_gets(e, "location");
  char where[CP_LOC_CAP + 64] = "";
  if (loc && *loc)
    snprintf(where, sizeof where, " (%s, %" PRId64 ":%" PRId64 ")", loc,
             osiris_json_int(osiris_json_get(e, "line"), 0),
             osiris_json_int(osiris_json_get(e, "col"), 0));
  if (!e) {
    os_fail(err, rc, "%s: validation failed", file);
  } else if (n == 1) {
    os_fail(err, rc, "%s: %s%s", file, js_gets(e, "message"), where);
  } else {
    os_fail(err, rc, "%s: %zu validation errors; first: %s%s", file, n, js_gets(e, "message"),
            where);
  }
}

static int cp_state_init(cp_state *st, osiris_ctx *ctx) {
  memset(st, 0, sizeof *st);
  st->ctx = ctx;
  st->errors = osiris_json_new(OSIRIS_JSON_ARRAY);
  st->warnings = osiris_json_new(OSIRIS_JSON_ARRAY);
  return st->errors && st->warnings;
}

static void cp_state_free(cp_state *st) {
  osiris_json_free(st->errors);
  osiris_json_free(st->warnings);
}

osiris_rc osiris_validate(osiris_ctx *ctx, const char *pipeline_path, osiris_json **report) {
  cp_state st;
  os_err err;
  osiris_json *doc = NULL, *params = NULL;
  char *abs = NULL;
  osiris_rc rc;
  if (report) *report = NULL;
  if (!ctx || !pipeline_path) return OSIRIS_EUSAGE;
  memset(&err, 0, sizeof err);
  if (!cp_state_init(&st, ctx) || !(abs = os_path_abs(ctx->base_dir, pipeline_path))) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  rc = cp_prepare(&st, abs, NULL, NULL, 1, &doc, &params, &err);
  if (rc == OSIRIS_ENOMEM) goto done;
  if (rc) {
    if ((rc == OSIRIS_EVALIDATE || rc == OSIRIS_ESECRET) && osiris_json_size(st.errors))
      cp_summary(&err, rc, pipeline_path, st.errors);
    snprintf(ctx->err, sizeof ctx->err, "%s", err.msg);
  }
  if (report) {
    *report = cp_report(&st, pipeline_path, rc == OSIRIS_OK);
    if (!*report) rc = OSIRIS_ENOMEM;
  }
done:
  if (rc == OSIRIS_ENOMEM) snprintf(ctx->err, sizeof ctx->err, "out of memory");
  cp_state_free(&st);
  osiris_json_free(doc);
  osiris_json_free(params);
  os_free(abs);
  return rc;
}

/* ---------------------------------------------------------------- output */

/* "sha256:<hex>" of the canonical JSON of v (keys sorted, compact). */
static osiris_rc cp_fp_json(const osiris_json *v, unsigned flags, char out[72]) {
  os_buf b = {0};
  char hex[65];
  osiris_rc rc = js_dump(&b, v, OSIRIS_JSON_SORTED | flags);
  if (rc) {
    ob_free(&b);
    return rc;
  }
  os_sha256_hex(b.p ? b.p : "", b.len, hex);
  snprintf(out, 72, "sha256:%s", hex);
  ob_free(&b);
  return OSIRIS_OK;
}

static void cp_fp_text(const char *text, char out[72]) {
  char hex[65];
  os_sha256_hex(text, strlen(text), hex);
  snprintf(out, 72, "sha256:%s", hex);
}

/* Reference slugify: lowercase; space and '_' -> '-'; drop other chars
 * outside [a-z0-9-]; collapse runs; trim separators. */
static char *cp_slugify(const char *s) {
  size_t n = strlen(s), o = 0, i;
  char *out = os_malloc(n + 9);
  if (!out) return NULL;
  for (i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)s[i]);
    if (c == ' ' || c == '_') c = '-';
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) continue;
    if (c == '-' && (o == 0 || out[o - 1] == '-')) continue;
    out[o++] = c;
  }
  while (o > 0 && out[o - 1] == '-') o--;
  if (o == 0) {
    memcpy(out, "pipeline", 8);
    o = 8;
  }
  out[o] = 0;
  return out;
}

/* pipeline.id: name lowercased, spaces -> '_' (ASCII only). */
static char *cp_pipeline_id(const char *name) {
  char *id = os_strdup(name);
  char *p;
  if (!id) return NULL;
  for (p = id; *p; p++) *p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
  return id;
}

/* cfg/<id>.json for one step: component, mapped mode (config.mode wins),
 * config minus secret keys, component defaults for absent keys. */
static osiris_json *cp_step_cfg(const osiris_json *step, const osiris_driver *d, os_err *err) {
  osiris_json *cfg = osiris_json_new(OSIRIS_JSON_OBJECT);
  const osiris_json *conf = cp_step_config(step);
  const char *mode = js_gets(step, "mode");
  const osiris_config_key *k;
  int has_conn;
  size_t j;
  if (!cfg || js_set_str(cfg, "component", osiris_json_str(cp_step_component(step))) ||
      js_set_str(cfg, "mode", mode ? cp_map_mode(mode) : ""))
    goto oom;
  for (j = 0; j < osiris_json_size(conf); j++) {
    const char *key = osiris_json_key_at(conf, j);
    if (cp_is_secret(d, key)) continue;
    if (cp_set_copy(cfg, key, osiris_json_at(conf, j))) goto oom;
  }
  has_conn = osiris_json_get(conf, "connection") != NULL;
  for (k = d ? d->keys : NULL; k && k->name; k++) {
    osiris_json *dv = NULL;
    os_err perr;
    if (!k->default_json || osiris_json_get(cfg, k->name) || cp_is_secret(d, k->name)) continue;
    if ((k->flags & OSIRIS_KEY_CONN) && has_conn) continue;
    if (js_parse(k->default_json, strlen(k->default_json), k->name, &dv, &perr)) {
      osiris_json_free(cfg);
      os_fail(err, OSIRIS_EINVAL, "component %s: bad default for key '%s': %s", d->name, k->name,
              perr.msg);
      return NULL;
    }
    if (osiris_json_set(cfg, k->name, dv)) goto oom;
  }
  return cfg;
oom:
  osiris_json_free(cfg);
  os_fail(err, OSIRIS_ENOMEM, "out of memory");
  return NULL;
}

/* UTC "YYYYMMDD_HHMMSS_" + 8 random hex digits. */
static void cp_compile_id(char out[80]) {
  time_t secs = (time_t)(os_wall_us() / 1000000);
  struct tm tm;
  char hex[9];
  gmtime_r(&secs, &tm);
  os_random_hex(hex, 8);
  snprintf(out, 80, "%04d%02d%02d_%02d%02d%02d_%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, hex);
}

static char *cp_logs_dir(osiris_ctx *ctx, const char *logs_dir) {
  return os_path_abs(ctx->base_dir, logs_dir ? logs_dir : "logs");
}

static osiris_rc cp_compile(osiris_ctx *ctx, const char *path, const osiris_compile_opts *opts,
                            osiris_json **result, os_err *err) {
  cp_state st;
  osiris_compile_opts none;
  osiris_json *doc = NULL, *params = NULL, *manifest = NULL, *res = NULL, *fps = NULL;
  osiris_json *msteps = NULL, *pipeline = NULL, *meta = NULL, *hashdoc = NULL;
  osiris_json **cfgs = NULL;
  char *abs = NULL, *logs = NULL, *out_dir = NULL, *compile_dir = NULL, *cfg_dir = NULL;
  char *mpath = NULL, *slug = NULL, *pid = NULL, *tmp = NULL;
  const char *profile, *name;
  const osiris_json *steps;
  char oml_fp[72], params_fp[72], registry_fp[72], compiler_fp[72], manifest_fp[72];
  char hash[65], shortk[8], gen[40];
  os_buf b = {0};
  size_t i, n = 0;
  osiris_rc rc;
  if (result) *result = NULL;
  if (!opts) {
    memset(&none, 0, sizeof none);
    opts = &none;
  }
  if (!cp_state_init(&st, ctx) || !(abs = os_path_abs(ctx->base_dir, path))) {
    cp_state_free(&st);
    return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  }
  profile = opts->profile && *opts->profile ? opts->profile : NULL;
  rc = cp_prepare(&st, abs, profile, opts->params, 0, &doc, &params, err);
  if (rc == OSIRIS_ENOMEM) {
    os_fail(err, rc, "out of memory");
    goto done;
  }
  if (rc) {
    /* parse and file errors keep their own message, which names the file */
    if ((rc == OSIRIS_EVALIDATE || rc == OSIRIS_ESECRET) && osiris_json_size(st.errors))
      cp_summary(err, rc, path, st.errors);
    if (result) {
      res = cp_report(&st, path, 0);
      if (!res || js_set_str(res, "status", "error") || js_set_str(res, "message", err->msg)) {
        rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
        goto done;
      }
    }
    goto done;
  }

  /* fingerprints, as 0.5.7 computes them */
  rc = cp_fp_json(doc, 0, oml_fp);
  if (!rc) rc = cp_fp_json(params, 0, params_fp);
  if (rc) goto oom_or_rc;
  cp_fp_text(CP_REGISTRY_FP_TEXT, registry_fp);
  cp_fp_text(CP_COMPILER, compiler_fp);
  name = js_gets(doc, "name");
  steps = osiris_json_get(doc, "steps");
  n = osiris_json_size(steps);

  fps = osiris_json_new(OSIRIS_JSON_OBJECT);
  pipeline = osiris_json_new(OSIRIS_JSON_OBJECT);
  msteps = osiris_json_new(OSIRIS_JSON_ARRAY);
  meta = osiris_json_new(OSIRIS_JSON_OBJECT);
  manifest = osiris_json_new(OSIRIS_JSON_OBJECT);
  cfgs = os_calloc(n ? n : 1, sizeof *cfgs);
  pid = cp_pipeline_id(name);
  slug = cp_slugify(name);
  if (!fps || !pipeline || !msteps || !meta || !manifest || !cfgs || !pid || !slug) goto oom;
  if (js_set_str(fps, "oml_fp", oml_fp) || js_set_str(fps, "registry_fp", registry_fp) ||
      js_set_str(fps, "compiler_fp", compiler_fp) || js_set_str(fps, "params_fp", params_fp) ||
      js_set_str(fps, "profile", profile ? profile : "default"))
    goto oom;
  /* name lives at the top level, as in 0.5.7: a pipeline.name would change
   * manifest_hash against 0.5.7 for the same input. */
  if (js_set_str(pipeline, "id", pid) || js_set_str(pipeline, "version", "0.1.0"))
    goto oom;
  for (i = 0; i < n; i++) {
    const osiris_json *step = osiris_json_at(steps, i);
    const char *comp = osiris_json_str(cp_step_component(step));
    const osiris_json *needs = osiris_json_get(step, "needs");
    osiris_json *ms = osiris_json_new(OSIRIS_JSON_OBJECT), *nd;
    char *cp;
    if (!ms || osiris_json_push(msteps, ms)) goto oom;
    cp = os_asprintf("cfg/%s.json", js_gets(step, "id"));
    if (!cp || js_set_str(ms, "id", js_gets(step, "id")) || js_set_str(ms, "component", comp) ||
        js_set_str(ms, "driver", comp) || js_set_str(ms, "cfg_path", cp)) {
      os_free(cp);
      goto oom;
    }
    os_free(cp);
    if (needs && needs->kind == OSIRIS_JSON_ARRAY) {
      nd = osiris_json_copy(needs);
    } else {
      nd = osiris_json_new(OSIRIS_JSON_ARRAY);
      if (nd && i > 0 && js_push_str(nd, js_gets(osiris_json_at(steps, i - 1), "id"))) {
        osiris_json_free(nd);
        nd = NULL;
      }
    }
    if (!nd || osiris_json_set(ms, "needs", nd)) goto oom;
    cfgs[i] = cp_step_cfg(step, osiris_driver_find(ctx, comp), err);
    if (!cfgs[i]) {
      rc = err->rc ? err->rc : OSIRIS_ENOMEM;
      goto done;
    }
  }
  if (js_set_str(meta, "oml_version", js_gets(doc, "oml_version")) ||
      js_set_str(meta, "profile", profile ? profile : "default") ||
      js_set_str(meta, "run_id", "${run_id}"))
    goto oom;
  {
    osiris_json *tc = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!tc || js_set_str(tc, "compiler", CP_COMPILER) || js_set_str(tc, "registry", CP_REGISTRY)) {
      osiris_json_free(tc);
      goto oom;
    }
    if (osiris_json_set(meta, "toolchain", tc)) goto oom; /* tc is taken also on failure */
  }
  /* each set takes its value also on failure: run them all, then check */
  rc = osiris_json_set(pipeline, "fingerprints", fps);
  fps = NULL;
  if (osiris_json_set(manifest, "pipeline", pipeline)) rc = OSIRIS_ENOMEM;
  pipeline = NULL;
  if (osiris_json_set(manifest, "steps", msteps)) rc = OSIRIS_ENOMEM;
  msteps = NULL;
  if (osiris_json_set(manifest, "meta", meta)) rc = OSIRIS_ENOMEM;
  meta = NULL;
  if (!rc && name) rc = js_set_str(manifest, "name", name);
  if (!rc && osiris_json_get(doc, "metadata"))
    rc = cp_set_copy(manifest, "metadata", osiris_json_get(doc, "metadata"));
  if (rc) goto oom_or_rc;

  /* Without generated_at and the hash fields the manifest is what both
   * manifest_fp (UTF-8) and manifest_hash (ASCII, with the profile) cover. */
  rc = cp_fp_json(manifest, 0, manifest_fp);
  if (rc) goto oom_or_rc;
  hashdoc = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!hashdoc) goto oom;
  {
    osiris_json *mcopy = osiris_json_copy(manifest);
    if (!mcopy || osiris_json_set(hashdoc, "manifest", mcopy) ||
        js_set_str(hashdoc, "profile", profile ? profile : ""))
      goto oom;
  }
  rc = js_dump(&b, hashdoc, OSIRIS_JSON_SORTED | OSIRIS_JSON_ASCII);
  if (rc) goto oom_or_rc;
  os_sha256_hex(b.p, b.len, hash);
  ob_free(&b);
  memcpy(shortk, hash, 7);
  shortk[7] = 0;
  {
    osiris_json *mp = (osiris_json *)osiris_json_get(manifest, "pipeline");
    osiris_json *mfps = (osiris_json *)osiris_json_get(mp, "fingerprints");
    osiris_json *mm = (osiris_json *)osiris_json_get(manifest, "meta");
    char iso[64];
    os_iso8601(os_wall_us(), iso);
    snprintf(gen, sizeof gen, "%.26sZ", iso); /* Python utcnow().isoformat() + "Z" */
    if (js_set_str(mfps, "manifest_fp", manifest_fp) || js_set_str(mm, "generated_at", gen) ||
        js_set_str(mm, "manifest_hash", hash) || js_set_str(mm, "manifest_short", shortk))
      goto oom;
  }

  /* write: cfg files first, the manifest last, then .last_compile */
  logs = cp_logs_dir(ctx, opts->logs_dir);
  if (!logs) goto oom;
  if (opts->out_dir) {
    out_dir = os_path_abs(ctx->base_dir, opts->out_dir);
    compile_dir = out_dir ? os_strdup(out_dir) : NULL;
  } else {
    char id[80];
    cp_compile_id(id);
    compile_dir = os_asprintf("%s/compile_%s", logs, id);
    out_dir = compile_dir ? os_path_join(compile_dir, "compiled") : NULL;
  }
  if (!out_dir || !compile_dir || !(cfg_dir = os_path_join(out_dir, "cfg"))) goto oom;
  rc = os_mkdir_p(cfg_dir, err);
  if (rc) goto done;
  for (i = 0; i < n; i++) {
    os_free(tmp);
    tmp = os_asprintf("%s/%s.json", cfg_dir, js_gets(osiris_json_at(steps, i), "id"));
    if (!tmp) goto oom;
    rc = js_dump(&b, cfgs[i], OSIRIS_JSON_SORTED);
    if (rc) goto oom_or_rc;
    rc = os_write_file(tmp, b.p ? b.p : "", b.len, err);
    ob_free(&b);
    if (rc) goto done;
  }
  mpath = os_path_join(out_dir, "manifest.yaml");
  if (!mpath) goto oom;
  rc = ym_emit(&b, manifest, YM_SORTED | YM_MARKERS);
  if (rc) goto oom_or_rc;
  rc = os_write_file(mpath, b.p ? b.p : "", b.len, err);
  ob_free(&b);
  if (rc) goto done;
  rc = os_mkdir_p(logs, err);
  if (rc) goto done;
  os_free(tmp);
  tmp = os_path_join(logs, ".last_compile");
  if (!tmp || ob_printf(&b, "%s\n", mpath)) goto oom;
  rc = os_write_file(tmp, b.p, b.len, err);
  ob_free(&b);
  if (rc) goto done;

  if (result) {
    osiris_json *fcopy = osiris_json_copy(osiris_json_get(
        osiris_json_get(manifest, "pipeline"), "fingerprints"));
    char *msg = os_asprintf("Compilation successful: %s", shortk);
    res = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!fcopy || !msg || !res || js_set_str(res, "status", "success") ||
        js_set_str(res, "message", msg) || js_set_str(res, "manifest_path", mpath) ||
        js_set_str(res, "manifest_hash", hash) || js_set_str(res, "manifest_short", shortk) ||
        js_set_str(res, "pipeline_id", pid) || js_set_str(res, "pipeline_slug", slug) ||
        js_set_str(res, "profile", profile ? profile : "default") ||
        js_set_str(res, "compile_dir", compile_dir)) {
      osiris_json_free(fcopy);
      os_free(msg);
      goto oom;
    }
    os_free(msg);
    if (osiris_json_set(res, "fingerprints", fcopy)) goto oom;
  }
  rc = OSIRIS_OK;
  goto done;
oom_or_rc:
  if (rc != OSIRIS_ENOMEM) {
    os_fail(err, rc, "%s: cannot serialize the compiled output (%s)", path, osiris_rc_name(rc));
    goto done;
  }
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  if (result && res && (rc == OSIRIS_OK || osiris_json_get(res, "errors"))) {
    *result = res;
    res = NULL;
  }
  if (cfgs)
    for (i = 0; i < n; i++) osiris_json_free(cfgs[i]);
  os_free(cfgs);
  osiris_json_free(res);
  osiris_json_free(doc);
  osiris_json_free(params);
  osiris_json_free(manifest);
  osiris_json_free(fps);
  osiris_json_free(pipeline);
  osiris_json_free(msteps);
  osiris_json_free(meta);
  osiris_json_free(hashdoc);
  cp_state_free(&st);
  ob_free(&b);
  os_free(abs);
  os_free(logs);
  os_free(out_dir);
  os_free(compile_dir);
  os_free(cfg_dir);
  os_free(mpath);
  os_free(slug);
  os_free(pid);
  os_free(tmp);
  return rc;
}

osiris_rc osiris_compile(osiris_ctx *ctx, const char *pipeline_path,
                         const osiris_compile_opts *opts, osiris_json **result) {
  os_err err;
  osiris_rc rc;
  if (result) *result = NULL;
  if (!ctx || !pipeline_path) return OSIRIS_EUSAGE;
  memset(&err, 0, sizeof err);
  rc = cp_compile(ctx, pipeline_path, opts, result, &err);
  if (rc) snprintf(ctx->err, sizeof ctx->err, "%s", err.msg[0] ? err.msg : osiris_rc_name(rc));
  return rc;
}

/* The newest compile: <logs_dir>/.last_compile, else the greatest
 * compile_<id>/compiled/manifest.yaml by name (ids sort by time). */
char *osiris_last_compile(osiris_ctx *ctx, const char *logs_dir) {
  char *logs, *marker = NULL, *text = NULL, *best = NULL, *found = NULL;
  size_t len = 0;
  DIR *dir;
  struct dirent *de;
  if (!ctx) return NULL;
  logs = cp_logs_dir(ctx, logs_dir);
  if (!logs) return NULL;
  marker = os_path_join(logs, ".last_compile");
  if (marker && os_read_file(marker, &text, &len, NULL) == OSIRIS_OK) {
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
    if (len > 0 && os_is_file(text)) {
      found = text;
      text = NULL;
      goto done;
    }
  }
  dir = opendir(logs);
  if (dir) {
    while ((de = readdir(dir)) != NULL) {
      char *cand;
      if (strncmp(de->d_name, "compile_", 8) != 0) continue;
      if (best && strcmp(de->d_name, best) <= 0) continue;
      cand = os_asprintf("%s/%s/compiled/manifest.yaml", logs, de->d_name);
      if (cand && os_is_file(cand)) {
        char *nb = os_strdup(de->d_name);
        if (nb) {
          os_free(best);
          best = nb;
          os_free(found);
          found = cand;
          cand = NULL;
        }
      }
      os_free(cand);
    }
    closedir(dir);
  }
done:
  if (!found) snprintf(ctx->err, sizeof ctx->err, "No recent compile found in %s", logs);
  os_free(logs);
  os_free(marker);
  os_free(text);
  os_free(best);
  return found;
}

/* ======================================================================
 * 13. Manifest
 *
 * A compiled manifest, ours or one written by Python Osiris 0.5.7: steps
 * with id, driver (or component), cfg_path relative to the manifest's
 * directory, and needs.  Loading checks the shape (unique, file-safe ids;
 * needs naming known steps; cfg_path staying inside the manifest
 * directory); mf_order gives the run order: needs first, manifest order
 * among ready steps, and a named cycle as an error.
 * ====================================================================== */

static int mf_is_manifest(const osiris_json *doc) {
  return osiris_json_kind_of(doc) == OSIRIS_JSON_OBJECT && osiris_json_get(doc, "pipeline") &&
         osiris_json_get(doc, "steps") && osiris_json_get(doc, "meta");
}

static void mf_free(mf_manifest *m) {
  size_t i, k;
  if (!m) return;
  for (i = 0; i < m->n_steps; i++) {
    mf_step *s = &m->steps[i];
    os_free(s->id);
    os_free(s->driver);
    os_free(s->component);
    os_free(s->cfg_path);
    for (k = 0; k < s->n_needs; k++) os_free(s->needs[k]);
    os_free(s->needs);
  }
  os_free(m->steps);
  osiris_json_free(m->doc);
  os_free(m->path);
  os_free(m->dir);
  os_free(m->pipeline_id);
  os_free(m->profile);
  os_free(m);
}

/* Relative, and no ".." segment: cfg files stay under the manifest dir. */
static int mf_safe_rel_path(const char *p) {
  const char *s = p;
  if (!p || !*p || p[0] == '/') return 0;
  while (*s) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.') return 0;
    s += n;
    if (*s) s++;
  }
  return 1;
}

static osiris_rc mf_load(const char *path, mf_manifest **out, os_err *err) {
  mf_manifest *m = NULL;
  const osiris_json *steps, *v;
  osiris_rc rc;
  size_t i, k, n;
  *out = NULL;
  m = os_calloc(1, sizeof *m);
  if (!m) return os_fail(err, OSIRIS_ENOMEM, "out of memory");
  m->path = os_path_abs(NULL, path);
  m->dir = m->path ? os_path_dirname(m->path) : NULL;
  if (!m->path || !m->dir) goto oom;
  rc = ym_read_file(m->path, &m->doc, err);
  if (rc) goto fail;
  if (!mf_is_manifest(m->doc)) {
    rc = os_fail(err, OSIRIS_EPARSE,
                 "%s: not a compiled manifest (needs 'pipeline', 'steps' and 'meta')", m->path);
    goto fail;
  }
  steps = osiris_json_get(m->doc, "steps");
  if (steps->kind != OSIRIS_JSON_ARRAY || steps->u.c.n == 0) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: steps must be a non-empty list", m->path,
                 (unsigned)steps->line, (unsigned)steps->col);
    goto fail;
  }
  n = steps->u.c.n;
  m->steps = os_calloc(n, sizeof *m->steps);
  if (!m->steps) goto oom;
  m->n_steps = n;
  v = osiris_json_get(osiris_json_get(m->doc, "pipeline"), "id");
  m->pipeline_id = os_strdup(osiris_json_str(v) ? osiris_json_str(v) : "");
  v = osiris_json_get(osiris_json_get(m->doc, "meta"), "profile");
  m->profile = os_strdup(osiris_json_str(v) ? osiris_json_str(v) : "");
  if (!m->pipeline_id || !m->profile) goto oom;
  for (i = 0; i < n; i++) {
    const osiris_json *st = steps->u.c.items[i];
    const char *id = js_gets(st, "id"), *drv = js_gets(st, "driver");
    const char *comp = js_gets(st, "component"), *cfgp = js_gets(st, "cfg_path");
    const osiris_json *needs = osiris_json_get(st, "needs");
    mf_step *s = &m->steps[i];
    if (osiris_json_kind_of(st) != OSIRIS_JSON_OBJECT) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: steps[%zu] must be a mapping", m->path,
                   (unsigned)st->line, (unsigned)st->col, i);
      goto fail;
    }
    if (!cp_valid_step_id(id)) {
      rc = os_fail(err, OSIRIS_EPARSE,
                   "%s:%u:%u: steps[%zu].id must be a string matching ^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
                   m->path, (unsigned)st->line, (unsigned)st->col, i);
      goto fail;
    }
    for (k = 0; k < i; k++)
      if (strcmp(m->steps[k].id, id) == 0) {
        rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: duplicate step id '%s'", m->path,
                     (unsigned)st->line, (unsigned)st->col, id);
        goto fail;
      }
    if (!drv) drv = comp;
    if (!comp) comp = drv;
    if (!drv || !*drv) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s' has no driver", m->path,
                   (unsigned)st->line, (unsigned)st->col, id);
      goto fail;
    }
    if (!mf_safe_rel_path(cfgp)) {
      rc = os_fail(err, OSIRIS_EPARSE,
                   "%s:%u:%u: step '%s': cfg_path must be a relative path inside the manifest "
                   "directory",
                   m->path, (unsigned)st->line, (unsigned)st->col, id);
      goto fail;
    }
    s->id = os_strdup(id);
    s->driver = os_strdup(drv);
    s->component = os_strdup(comp);
    s->cfg_path = os_strdup(cfgp);
    if (!s->id || !s->driver || !s->component || !s->cfg_path) goto oom;
    if (needs && needs->kind != OSIRIS_JSON_ARRAY && needs->kind != OSIRIS_JSON_NULL) {
      rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s': needs must be a list", m->path,
                   (unsigned)needs->line, (unsigned)needs->col, id);
      goto fail;
    }
    if (osiris_json_size(needs)) {
      s->needs = os_calloc(needs->u.c.n, sizeof *s->needs);
      if (!s->needs) goto oom;
      for (k = 0; k < needs->u.c.n; k++) {
        const char *dep = osiris_json_str(needs->u.c.items[k]);
        if (!dep) {
          rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: step '%s': needs must list step ids",
                       m->path, (unsigned)needs->line, (unsigned)needs->col, id);
          goto fail;
        }
        if (!(s->needs[s->n_needs++] = os_strdup(dep))) goto oom;
      }
    }
  }
  for (i = 0; i < n; i++)
    for (k = 0; k < m->steps[i].n_needs; k++) {
      size_t j;
      for (j = 0; j < n; j++)
        if (strcmp(m->steps[j].id, m->steps[i].needs[k]) == 0) break;
      if (j == n) {
        rc = os_fail(err, OSIRIS_EPARSE, "%s: step '%s' needs unknown step '%s'", m->path,
                     m->steps[i].id, m->steps[i].needs[k]);
        goto fail;
      }
    }
  *out = m;
  return OSIRIS_OK;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
fail:
  mf_free(m);
  return rc;
}

static osiris_rc mf_order(const mf_manifest *m, size_t *order, os_err *err) {
  size_t n = m->n_steps, i, k;
  size_t **deps = os_calloc(n ? n : 1, sizeof *deps);
  size_t *ndeps = os_calloc(n ? n : 1, sizeof *ndeps);
  unsigned char *done = os_calloc(n ? n : 1, 1), *seen = os_calloc(n ? n : 1, 1);
  const char **ids = os_calloc(n ? n : 1, sizeof *ids);
  osiris_rc rc = OSIRIS_OK;
  if (!deps || !ndeps || !done || !seen || !ids) goto oom;
  for (i = 0; i < n; i++) {
    ids[i] = m->steps[i].id;
    deps[i] = os_calloc(m->steps[i].n_needs ? m->steps[i].n_needs : 1, sizeof **deps);
    if (!deps[i]) goto oom;
    for (k = 0; k < m->steps[i].n_needs; k++) {
      size_t j;
      for (j = 0; j < n; j++)
        if (strcmp(m->steps[j].id, m->steps[i].needs[k]) == 0) break;
      if (j == n) {
        rc = os_fail(err, OSIRIS_EPARSE, "step '%s' needs unknown step '%s'", m->steps[i].id,
                     m->steps[i].needs[k]);
        goto done;
      }
      deps[i][ndeps[i]++] = j;
    }
  }
  if (cp_toposort(n, deps, ndeps, order, done) < n) {
    for (i = 0; i < n; i++) {
      char *text;
      int nomem = 0;
      if (done[i]) continue;
      text = cp_cycle_text(n, deps, ndeps, done, seen, i, ids, &nomem);
      if (nomem) goto oom;
      rc = os_fail(err, OSIRIS_EVALIDATE, "%s: %s", m->path ? m->path : "manifest",
                   text ? text : "dependency cycle");
      os_free(text);
      goto done;
    }
  }
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  if (deps)
    for (i = 0; i < n; i++) os_free(deps[i]);
  os_free(deps);
  os_free(ndeps);
  os_free(done);
  os_free(seen);
  os_free(ids);
  return rc;
}
