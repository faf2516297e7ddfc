/* ======================================================================
 * 11. Connections
 *
 * osiris_connections.yaml maps family -> alias -> fields.  Values may
 * refer to the environment as ${VAR}, ${VAR:-default} (default when VAR is
 * unset or empty) and ${VAR-default} (default only when VAR is unset); the
 * environment is the process environment first, then the .env files
 * ($OSIRIS_HOME/.env, then <base_dir>/.env; the first definition wins and
 * the process environment is never overridden).  A resolved connection
 * holds secret values in memory only: nothing in this section writes one
 * to a file or puts one into an error message.  Messages name variables,
 * fields, families and aliases, never values.
 * ====================================================================== */

#define CN_FILE_NAME "osiris_connections.yaml"
#define CN_MASK "***MASKED***"
#define CN_MAX_NAME 128 /* family or alias */

static int cn_is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static int cn_is_env_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int cn_is_env_char(char c) {
  return cn_is_env_start(c) || (c >= '0' && c <= '9');
}

/* ---------------------------------------------------------------- .env */

static int cn_is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parse one .env text and add every KEY not yet defined to obj.  The
 * syntax is the python-dotenv subset people write: KEY=VALUE, `export `,
 * `#` comments, 'single' quotes verbatim, "double" quotes with \n \t \r \\
 * \" escapes (both may span lines), unquoted values trimmed with ` #`
 * starting a comment.  No shell expansion.  Malformed lines are skipped,
 * as python-dotenv does. */
static osiris_rc cn_parse_dotenv(const char *text, size_t len, osiris_json *obj) {
  size_t i = 0;
  os_buf val = {0};
  osiris_rc rc = OSIRIS_OK;
  while (i < len) {
    size_t ks, ke;
    char *key = NULL;
    ob_free(&val);
    while (i < len && (cn_is_blank(text[i]) || text[i] == '\n')) i++;
    if (i >= len) break;
    if (text[i] == '#') goto skip_line;
    if (len - i > 7 && memcmp(text + i, "export", 6) == 0 && (text[i + 6] == ' ' || text[i + 6] == '\t')) {
      i += 6;
      while (i < len && cn_is_blank(text[i])) i++;
    }
    ks = i;
    while (i < len && (cn_is_env_char(text[i]) || text[i] == '.' || text[i] == '-')) i++;
    ke = i;
    if (ke == ks || !cn_is_env_start(text[ks])) goto skip_line;
    while (i < len && cn_is_blank(text[i])) i++;
    if (i >= len || text[i] != '=') goto skip_line;
    i++;
    while (i < len && (text[i] == ' ' || text[i] == '\t')) i++;
    if (i < len && text[i] == '\'') {
      size_t vs = ++i;
      while (i < len && text[i] != '\'') i++;
      if (i >= len) goto skip_line; /* unterminated: skip like dotenv */
      rc = ob_put(&val, text + vs, i - vs);
      if (rc) goto done;
      i++;
    } else if (i < len && text[i] == '"') {
      int closed = 0;
      i++;
      while (i < len) {
        char c = text[i++];
        if (c == '"') {
          closed = 1;
          break;
        }
        if (c == '\\' && i < len) {
          char e = text[i++];
          switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case '\\': c = '\\'; break;
          case '"': c = '"'; break;
          case '\'': c = '\''; break;
          default:
            rc = ob_putc(&val, '\\');
            if (rc) goto done;
            c = e;
          }
        }
        rc = ob_putc(&val, c);
        if (rc) goto done;
      }
      if (!closed) goto skip_line;
    } else {
      size_t vs = i, ve;
      while (i < len && text[i] != '\n') {
        if (text[i] == '#' && i > vs && (text[i - 1] == ' ' || text[i - 1] == '\t')) break;
        i++;
      }
      ve = i;
      while (ve > vs && (cn_is_blank(text[ve - 1]))) ve--;
      rc = ob_put(&val, text + vs, ve - vs);
      if (rc) goto done;
    }
    key = os_strndup(text + ks, ke - ks);
    if (!key) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    if (!osiris_json_get(obj, key)) {
      osiris_json *s = osiris_json_new_str(val.p ? val.p : "", val.len);
      rc = s ? osiris_json_set(obj, key, s) : OSIRIS_ENOMEM;
    }
    os_free(key);
    if (rc) goto done;
  skip_line:
    while (i < len && text[i] != '\n') i++;
  }
done:
  ob_free(&val);
  return rc;
}

static osiris_rc cn_load_dotenv_file(const char *path, osiris_json *obj) {
  char *text = NULL;
  size_t len = 0;
  osiris_rc rc;
  if (!os_is_file(path)) return OSIRIS_OK;
  rc = os_read_file(path, &text, &len, NULL);
  if (rc) return rc == OSIRIS_ENOMEM ? rc : OSIRIS_OK; /* unreadable .env: as if absent */
  rc = cn_parse_dotenv(text, len, obj);
  os_free(text);
  return rc;
}

/* Load the .env files once per context.  Only OSIRIS_HOME itself comes
 * from the real environment: a .env cannot move where .env is read. */
static osiris_rc cn_load_dotenv(osiris_ctx *ctx) {
  osiris_json *obj;
  const char *home = getenv("OSIRIS_HOME");
  char *path = NULL;
  osiris_rc rc = OSIRIS_OK;
  if (!ctx) return OSIRIS_EINVAL;
  if (ctx->dotenv) return OSIRIS_OK;
  obj = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!obj) return OSIRIS_ENOMEM;
  if (home && *home) {
    path = os_path_join(home, ".env");
    if (!path) {
      rc = OSIRIS_ENOMEM;
      goto done;
    }
    rc = cn_load_dotenv_file(path, obj);
    os_free(path);
    path = NULL;
    if (rc) goto done;
  }
  path = os_path_abs(ctx->base_dir, ".env");
  if (!path) {
    rc = OSIRIS_ENOMEM;
    goto done;
  }
  rc = cn_load_dotenv_file(path, obj);
done:
  os_free(path);
  if (rc) {
    osiris_json_free(obj);
    return rc;
  }
  ctx->dotenv = obj;
  return OSIRIS_OK;
}

const char *osiris_ctx_getenv(osiris_ctx *ctx, const char *name) {
  const char *v;
  if (!name) return NULL;
  v = getenv(name);
  if (v) return v;
  if (!ctx) return NULL;
  if (!ctx->dotenv && cn_load_dotenv(ctx) != OSIRIS_OK) return NULL;
  return osiris_json_str(osiris_json_get(ctx->dotenv, name));
}

/* ------------------------------------------------------------ references */

/* "@family.alias" -> 1 with both filled; "@family" -> 1 with alias "" (the
 * family's default); anything else -> 0.  Names are [A-Za-z0-9_-]+. */
static int cn_parse_ref(const char *ref, char *family, size_t fcap, char *alias, size_t acap) {
  const char *p, *fs, *as = NULL;
  size_t fl, al = 0;
  if (!ref || ref[0] != '@' || !family || !alias || fcap == 0 || acap == 0) return 0;
  p = fs = ref + 1;
  while (cn_is_name_char(*p)) p++;
  fl = (size_t)(p - fs);
  if (fl == 0) return 0;
  if (*p == '.') {
    as = ++p;
    while (cn_is_name_char(*p)) p++;
    al = (size_t)(p - as);
    if (al == 0) return 0;
  }
  if (*p != 0 || fl >= fcap || al >= acap) return 0;
  memcpy(family, fs, fl);
  family[fl] = 0;
  if (as) memcpy(alias, as, al);
  alias[al] = 0;
  return 1;
}

/* -------------------------------------------------------------- the file */

/* The first existing connections file: $OSIRIS_HOME, base_dir, base_dir/..
 * ENOTFOUND names every place looked at. */
static osiris_rc cn_find_file(osiris_ctx *ctx, char **path_out, os_err *err) {
  const char *home = getenv("OSIRIS_HOME");
  char *cands[3] = {NULL, NULL, NULL};
  size_t n = 0, i;
  os_buf looked = {0};
  osiris_rc rc = OSIRIS_OK;
  *path_out = NULL;
  if (home && *home) {
    cands[n] = os_path_join(home, CN_FILE_NAME);
    if (!cands[n++]) goto oom;
  }
  cands[n] = os_path_abs(ctx->base_dir, CN_FILE_NAME);
  if (!cands[n++]) goto oom;
  cands[n] = os_path_abs(ctx->base_dir, "../" CN_FILE_NAME);
  if (!cands[n++]) goto oom;
  for (i = 0; i < n; i++) {
    if (os_is_file(cands[i])) {
      *path_out = cands[i];
      cands[i] = NULL;
      goto done;
    }
  }
  for (i = 0; i < n; i++) {
    if (ob_printf(&looked, "%s%s", i ? ", " : "", cands[i])) goto oom;
  }
  rc = os_fail(err, OSIRIS_ENOTFOUND, "no %s found (looked in: %s)", CN_FILE_NAME,
               looked.p ? looked.p : "");
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  for (i = 0; i < 3; i++) os_free(cands[i]);
  ob_free(&looked);
  return rc;
}

/* Load the file; *conns is its `connections` mapping (an empty object
 * when the key is absent, as 0.5.7 does), owned by *doc. */
static osiris_rc cn_load_file(osiris_ctx *ctx, char **path_out, osiris_json **doc,
                              const osiris_json **conns, os_err *err) {
  osiris_rc rc;
  const osiris_json *c;
  *doc = NULL;
  *conns = NULL;
  rc = cn_find_file(ctx, path_out, err);
  if (rc) return rc;
  rc = ym_read_file(*path_out, doc, err);
  if (rc) goto fail;
  if (osiris_json_kind_of(*doc) == OSIRIS_JSON_NULL) {
    osiris_json_free(*doc);
    *doc = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!*doc) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto fail;
    }
  }
  if (osiris_json_kind_of(*doc) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s: the top level must be a mapping", *path_out);
    goto fail;
  }
  c = osiris_json_get(*doc, "connections");
  if (!c || osiris_json_kind_of(c) == OSIRIS_JSON_NULL) {
    osiris_json *empty = osiris_json_new(OSIRIS_JSON_OBJECT);
    if (!empty || osiris_json_set(*doc, "connections", empty)) {
      rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
      goto fail;
    }
    c = osiris_json_get(*doc, "connections");
  }
  if (osiris_json_kind_of(c) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_EPARSE, "%s:%u:%u: 'connections' must be a mapping", *path_out,
                 (unsigned)c->line, (unsigned)c->col);
    goto fail;
  }
  *conns = c;
  return OSIRIS_OK;
fail:
  osiris_json_free(*doc);
  *doc = NULL;
  os_free(*path_out);
  *path_out = NULL;
  return rc;
}

/* "a, b, c" of an object's keys, "(none)" when empty; NULL on ENOMEM. */
static char *cn_key_list(const osiris_json *obj) {
  os_buf b = {0};
  size_t i, n = osiris_json_size(obj);
  if (n == 0) return os_strdup("(none)");
  for (i = 0; i < n; i++) {
    if (ob_printf(&b, "%s%s", i ? ", " : "", osiris_json_key_at(obj, i))) {
      ob_free(&b);
      return NULL;
    }
  }
  return ob_take(&b);
}

/* ---------------------------------------------------------- substitution */

/* Expand ${VAR}, ${VAR:-d} and ${VAR-d} in s into out.  Text that is not a
 * well-formed reference stays as written.  On an unset variable without a
 * default, *missing receives its name (owned) and ECONN is returned. */
static osiris_rc cn_subst_str(osiris_ctx *ctx, const char *s, size_t len, os_buf *out,
                              char **missing) {
  size_t i = 0;
  osiris_rc rc;
  while (i < len) {
    const char *close;
    size_t ns, ne, j;
    char *name;
    const char *val;
    int has_default = 0, colon = 0;
    size_t ds = 0, de = 0;
    if (s[i] != '$' || i + 1 >= len || s[i + 1] != '{') {
      rc = ob_putc(out, s[i++]);
      if (rc) return rc;
      continue;
    }
    close = memchr(s + i + 2, '}', len - i - 2);
    ns = i + 2;
    j = ns;
    if (close && j < len && cn_is_env_start(s[j])) {
      while (j < len && cn_is_env_char(s[j])) j++;
    }
    ne = j;
    if (!close || ne == ns) goto literal;
    if (s + j == close) {
      /* ${VAR} */
    } else if (s[j] == ':' && j + 1 < len && s[j + 1] == '-') {
      has_default = colon = 1;
      ds = j + 2;
      de = (size_t)(close - s);
    } else if (s[j] == '-') {
      has_default = 1;
      ds = j + 1;
      de = (size_t)(close - s);
    } else {
      goto literal;
    }
    name = os_strndup(s + ns, ne - ns);
    if (!name) return OSIRIS_ENOMEM;
    val = osiris_ctx_getenv(ctx, name);
    if (val && (!colon || *val)) {
      os_free(name);
      rc = ob_puts(out, val);
    } else if (has_default) {
      os_free(name);
      rc = ob_put(out, s + ds, de - ds);
    } else {
      *missing = name;
      return OSIRIS_ECONN;
    }
    if (rc) return rc;
    i = (size_t)(close - s) + 1;
    continue;
  literal:
    rc = ob_put(out, "${", 2);
    if (rc) return rc;
    i += 2;
  }
  return OSIRIS_OK;
}

/* A deep copy of v in which fn may replace any string node (*repl set) or
 * keep it (*repl left NULL).  path carries the dotted location of the node
 * ("steps[0].config.query"); line/col are kept on every copied node.  The
 * compiler reuses this for ${params.x}.  NULL on failure with *rc set. */
typedef osiris_rc (*cn_str_fn)(void *user, const osiris_json *s, const char *path,
                               osiris_json **repl);

static osiris_json *cn_map_strings(const osiris_json *v, cn_str_fn fn, void *user, os_buf *path,
                                   int depth, osiris_rc *rc) {
  osiris_json *out = NULL;
  size_t i;
  if (depth > OS_MAX_DEPTH) {
    *rc = OSIRIS_ELIMIT;
    return NULL;
  }
  if (v->kind == OSIRIS_JSON_STRING) {
    osiris_json *repl = NULL;
    *rc = fn(user, v, path->p ? path->p : "", &repl);
    if (*rc) return NULL;
    out = repl ? repl : osiris_json_copy(v);
  } else if (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) {
    out = osiris_json_new(v->kind);
    if (!out) goto oom;
    for (i = 0; i < v->u.c.n; i++) {
      size_t mark = path->len;
      osiris_json *item;
      osiris_rc prc = v->kind == OSIRIS_JSON_OBJECT
                          ? ob_printf(path, "%s%s", mark ? "." : "", v->u.c.keys[i])
                          : ob_printf(path, "[%zu]", i);
      if (prc) {
        osiris_json_free(out);
        *rc = prc;
        return NULL;
      }
      item = cn_map_strings(v->u.c.items[i], fn, user, path, depth + 1, rc);
      path->len = mark;
      path->p[mark] = 0;
      if (!item) {
        osiris_json_free(out);
        return NULL;
      }
      *rc = v->kind == OSIRIS_JSON_OBJECT ? osiris_json_set(out, v->u.c.keys[i], item)
                                          : osiris_json_push(out, item);
      if (*rc) {
        osiris_json_free(out);
        return NULL;
      }
    }
  } else {
    out = osiris_json_copy(v);
  }
  if (!out) goto oom;
  out->line = v->line;
  out->col = v->col;
  return out;
oom:
  *rc = OSIRIS_ENOMEM;
  return NULL;
}

typedef struct cn_subst_ctx {
  osiris_ctx *ctx;
  const char *ref; /* "@family.alias", for messages */
  os_err *err;
} cn_subst_ctx;

static osiris_rc cn_subst_cb(void *user, const osiris_json *s, const char *path,
                             osiris_json **repl) {
  cn_subst_ctx *sc = user;
  os_buf out = {0};
  char *missing = NULL;
  osiris_rc rc;
  if (!memchr(s->u.s.ptr, '$', s->u.s.len)) return OSIRIS_OK;
  rc = cn_subst_str(sc->ctx, s->u.s.ptr, s->u.s.len, &out, &missing);
  if (rc == OSIRIS_ECONN) {
    rc = os_fail(sc->err, OSIRIS_ECONN,
                 "environment variable %s is not set (needed by %s of connection %s)", missing,
                 *path ? path : "a field", sc->ref);
    os_free(missing);
  } else if (!rc) {
    *repl = osiris_json_new_str(out.p ? out.p : "", out.len);
    if (!*repl) rc = OSIRIS_ENOMEM;
  }
  ob_free(&out);
  return rc;
}

/* -------------------------------------------------------------- resolve */

static osiris_rc cn_resolve(osiris_ctx *ctx, const char *ref, const char *family,
                            osiris_json **resolved, char **alias_out, os_err *err) {
  char fam[CN_MAX_NAME], alias[CN_MAX_NAME], refname[2 * CN_MAX_NAME + 4];
  char *path = NULL, *list = NULL;
  osiris_json *doc = NULL, *copy = NULL;
  const osiris_json *conns, *famobj, *entry = NULL;
  os_buf field = {0};
  osiris_rc rc;
  size_t i;
  *resolved = NULL;
  if (alias_out) *alias_out = NULL;
  if (ref) {
    if (!cn_parse_ref(ref, fam, sizeof fam, alias, sizeof alias))
      return os_fail(err, OSIRIS_ECONN,
                     "invalid connection reference '%s' (expected @family.alias)", ref);
    if (family && !os_streq(fam, family))
      return os_fail(err, OSIRIS_ECONN, "connection %s has family %s, but component needs %s",
                     ref, fam, family);
  } else {
    if (!family || !*family || strlen(family) >= sizeof fam)
      return os_fail(err, OSIRIS_ECONN, "no connection family given");
    memcpy(fam, family, strlen(family) + 1);
    alias[0] = 0;
  }
  rc = cn_load_file(ctx, &path, &doc, &conns, err);
  if (rc) return rc;
  famobj = osiris_json_get(conns, fam);
  if (!famobj || osiris_json_kind_of(famobj) != OSIRIS_JSON_OBJECT) {
    if (!(list = cn_key_list(conns))) goto oom;
    rc = os_fail(err, OSIRIS_ECONN, "connection family '%s' not found in %s; available: %s", fam,
                 path, list);
    goto done;
  }
  if (alias[0]) {
    entry = osiris_json_get(famobj, alias);
    if (!entry) {
      if (!(list = cn_key_list(famobj))) goto oom;
      rc = os_fail(err, OSIRIS_ECONN,
                   "connection alias '%s' not found in family '%s' in %s; available: %s", alias,
                   fam, path, list);
      goto done;
    }
  } else {
    for (i = 0; i < osiris_json_size(famobj) && !entry; i++) {
      const osiris_json *e = osiris_json_at(famobj, i);
      if (osiris_json_bool(osiris_json_get(e, "default"), 0)) {
        entry = e;
        snprintf(alias, sizeof alias, "%s", osiris_json_key_at(famobj, i));
      }
    }
    if (!entry && (entry = osiris_json_get(famobj, "default")) != NULL)
      snprintf(alias, sizeof alias, "default");
    if (!entry) {
      if (!(list = cn_key_list(famobj))) goto oom;
      rc = os_fail(err, OSIRIS_ECONN, "no default connection for family '%s'; available aliases: %s",
                   fam, list);
      goto done;
    }
  }
  snprintf(refname, sizeof refname, "@%s.%s", fam, alias);
  if (osiris_json_kind_of(entry) != OSIRIS_JSON_OBJECT) {
    rc = os_fail(err, OSIRIS_ECONN, "connection %s in %s must be a mapping of fields", refname, path);
    goto done;
  }
  {
    cn_subst_ctx sc;
    sc.ctx = ctx;
    sc.ref = refname;
    sc.err = err;
    copy = cn_map_strings(entry, cn_subst_cb, &sc, &field, 0, &rc);
    if (!copy) {
      if (rc == OSIRIS_ECONN) goto done;
      if (rc == OSIRIS_ELIMIT) {
        rc = os_fail(err, rc, "connection %s nests too deeply", refname);
        goto done;
      }
      goto oom;
    }
  }
  osiris_json_remove(copy, "default");
  if (alias_out && !(*alias_out = os_strdup(alias))) goto oom;
  *resolved = copy;
  copy = NULL;
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  osiris_json_free(copy);
  osiris_json_free(doc);
  ob_free(&field);
  os_free(path);
  os_free(list);
  return rc;
}

/* ------------------------------------------------------------------ list */

/* A display copy of one connection: secret fields masked, except a value
 * that is purely an environment reference, which is shown as written (it
 * names a variable, it is not a secret); a reference with an inline
 * default shows the default masked, since the default is a literal. */
static osiris_json *cn_mask_fields(const osiris_json *v, int depth) {
  osiris_json *out;
  size_t i;
  if (osiris_json_kind_of(v) != OSIRIS_JSON_OBJECT || depth > OS_MAX_DEPTH)
    return osiris_json_copy(v);
  out = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!out) return NULL;
  for (i = 0; i < osiris_json_size(v); i++) {
    const char *k = osiris_json_key_at(v, i);
    const osiris_json *item = osiris_json_at(v, i);
    osiris_json *m = NULL;
    if (osiris_json_kind_of(item) == OSIRIS_JSON_OBJECT) {
      m = cn_mask_fields(item, depth + 1);
    } else if (mk_is_masked_key(k) && osiris_json_kind_of(item) != OSIRIS_JSON_NULL) {
      const char *s = osiris_json_str(item);
      size_t n = 0;
      if (s && s[0] == '$' && s[1] == '{' && cn_is_env_start(s[2])) {
        n = 3;
        while (cn_is_env_char(s[n])) n++;
      }
      if (n && s[n] == '}' && s[n + 1] == 0) {
        m = osiris_json_copy(item);
      } else if (n && (s[n] == '-' || (s[n] == ':' && s[n + 1] == '-')) &&
                 s[strlen(s) - 1] == '}') {
        char *shown = os_asprintf("%.*s%s}", (int)(n + (s[n] == ':' ? 2 : 1)), s, CN_MASK);
        m = shown ? osiris_json_new_str(shown, strlen(shown)) : NULL;
        os_free(shown);
      } else {
        m = osiris_json_new_str(CN_MASK, strlen(CN_MASK));
      }
    } else {
      m = osiris_json_copy(item);
    }
    if (!m || osiris_json_set(out, k, m)) {
      osiris_json_free(out);
      return NULL;
    }
  }
  return out;
}

/* {"file": path or null, "connections": {family: {alias: {masked}}}}.  A
 * missing connections file is not an error for a listing: file is null. */
static osiris_rc cn_list(osiris_ctx *ctx, osiris_json **out, os_err *err) {
  char *path = NULL;
  osiris_json *doc = NULL, *res = NULL, *fams = NULL;
  const osiris_json *conns;
  osiris_rc rc;
  size_t i, j;
  *out = NULL;
  res = osiris_json_new(OSIRIS_JSON_OBJECT);
  fams = osiris_json_new(OSIRIS_JSON_OBJECT);
  if (!res || !fams) goto oom;
  rc = cn_load_file(ctx, &path, &doc, &conns, err);
  if (rc == OSIRIS_ENOTFOUND) {
    rc = OSIRIS_OK;
    osiris_json *null_file = osiris_json_new(OSIRIS_JSON_NULL);
    if (!null_file || osiris_json_set(res, "file", null_file)) goto oom;
  } else if (rc) {
    goto done;
  } else {
    if (js_set_str(res, "file", path)) goto oom;
    for (i = 0; i < osiris_json_size(conns); i++) {
      const osiris_json *famobj = osiris_json_at(conns, i);
      osiris_json *f = osiris_json_new(OSIRIS_JSON_OBJECT);
      if (!f || osiris_json_set(fams, osiris_json_key_at(conns, i), f)) goto oom;
      for (j = 0; j < osiris_json_size(famobj); j++) {
        osiris_json *m = cn_mask_fields(osiris_json_at(famobj, j), 0);
        if (!m || osiris_json_set(f, osiris_json_key_at(famobj, j), m)) goto oom;
      }
    }
  }
  if (osiris_json_set(res, "connections", fams)) {
    fams = NULL;
    goto oom;
  }
  fams = NULL;
  *out = res;
  res = NULL;
  rc = OSIRIS_OK;
  goto done;
oom:
  rc = os_fail(err, OSIRIS_ENOMEM, "out of memory");
done:
  osiris_json_free(res);
  osiris_json_free(fams);
  osiris_json_free(doc);
  os_free(path);
  return rc;
}
