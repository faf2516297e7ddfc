/* ======================================================================
 * 5. JSON
 *
 * RFC 8259, strict: the parser accepts exactly the grammar (no comments,
 * trailing commas, leading zeros, NaN/Infinity), validates UTF-8 first,
 * rejects lone surrogates and duplicate keys, and bounds nesting to
 * OS_MAX_DEPTH and input to OS_MAX_DOC.  Every parsed value carries its
 * 1-based line and column (columns count characters, not bytes).  Errors
 * read "fname:line:col: message" (or "line:col: message" without a name).
 * The writer is byte-compatible with Python's json.dumps: compact
 * separators "," and ":", indent=2 with ": " when PRETTY, sort_keys when
 * SORTED, ensure_ascii when ASCII, floats in repr() form.  Object keys keep
 * insertion order; lookups are linear scans because objects are small.
 * ====================================================================== */

static osiris_json *js_alloc(osiris_json_kind kind) {
  osiris_json *v = os_calloc(1, sizeof *v);
  if (v) v->kind = kind;
  return v;
}

void osiris_json_free(osiris_json *v) {
  size_t i;
  if (!v) return;
  if (v->kind == OSIRIS_JSON_STRING) {
    os_free(v->u.s.ptr);
  } else if (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) {
    for (i = 0; i < v->u.c.n; i++) {
      osiris_json_free(v->u.c.items[i]);
      if (v->u.c.keys) os_free(v->u.c.keys[i]);
    }
    os_free(v->u.c.items);
    os_free(v->u.c.keys);
  }
  os_free(v);
}

/* Append (key, val) to a container, taking ownership of both; key is NULL
 * for arrays.  On failure both are freed so callers need no cleanup. */
static osiris_rc js_append(osiris_json *c, char *key, osiris_json *val) {
  if (c->u.c.n == c->u.c.cap) {
    size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
    osiris_json **items;
    if (cap > SIZE_MAX / sizeof(void *) / 2) goto oom;
    items = os_realloc(c->u.c.items, cap * sizeof *items);
    if (!items) goto oom;
    c->u.c.items = items;
    if (c->kind == OSIRIS_JSON_OBJECT) {
      char **keys = os_realloc(c->u.c.keys, cap * sizeof *keys);
      if (!keys) goto oom;
      c->u.c.keys = keys;
    }
    c->u.c.cap = cap;
  }
  c->u.c.items[c->u.c.n] = val;
  if (c->kind == OSIRIS_JSON_OBJECT) c->u.c.keys[c->u.c.n] = key;
  c->u.c.n++;
  return OSIRIS_OK;
oom:
  os_free(key);
  osiris_json_free(val);
  return OSIRIS_ENOMEM;
}

/* ---------------------------------------------------------------- parser */

typedef struct js_parser {
  const char *s;
  size_t n, i;
  const char *fname;
  os_err *err;
  uint32_t line;
  size_t line_start;
  size_t col_pos; /* cache: col_num is the column of byte col_pos */
  uint32_t col_num;
} js_parser;

/* Column of byte pos on the current line.  Positions asked for only grow,
 * so the cache keeps the whole parse linear even for one-line documents. */
static uint32_t js_col(js_parser *p, size_t pos) {
  if (p->col_pos < p->line_start || p->col_pos > pos) {
    p->col_pos = p->line_start;
    p->col_num = 1;
  }
  while (p->col_pos < pos && p->col_pos < p->n) {
    if (((unsigned char)p->s[p->col_pos] & 0xC0) != 0x80) p->col_num++;
    p->col_pos++;
  }
  if (p->col_pos < pos) p->col_num += (uint32_t)(pos - p->col_pos), p->col_pos = pos;
  return p->col_num;
}

/* Format "fname:line:col: message" (or "line:col: message") into err. */
static osiris_rc js_vfail(os_err *err, osiris_rc rc, const char *fname, uint32_t line,
                          uint32_t col, const char *fmt, va_list ap) {
  char msg[OS_ERR_CAP];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (fname)
    return os_fail(err, rc, "%s:%u:%u: %s", fname, (unsigned)line, (unsigned)col, msg);
  return os_fail(err, rc, "%u:%u: %s", (unsigned)line, (unsigned)col, msg);
}

static osiris_rc js_fail_at(js_parser *p, osiris_rc rc, size_t pos, const char *fmt, ...)
    OS_PRINTF(4, 5);
static osiris_rc js_fail_at(js_parser *p, osiris_rc rc, size_t pos, const char *fmt, ...) {
  va_list ap;
  osiris_rc r;
  uint32_t col = js_col(p, pos);
  va_start(ap, fmt);
  r = js_vfail(p->err, rc, p->fname, p->line, col, fmt, ap);
  va_end(ap);
  return r;
}

static void js_skip_ws(js_parser *p) {
  while (p->i < p->n) {
    char c = p->s[p->i];
    if (c == '\n') {
      p->line++;
      p->line_start = ++p->i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      p->i++;
    } else {
      break;
    }
  }
}

/* Describe the byte at pos for an error message. */
static void js_describe(const js_parser *p, size_t pos, char *out, size_t cap) {
  unsigned char c;
  if (pos >= p->n) {
    snprintf(out, cap, "end of input");
    return;
  }
  c = (unsigned char)p->s[pos];
  if (c >= 0x21 && c < 0x7F)
    snprintf(out, cap, "character '%c'", c);
  else
    snprintf(out, cap, "character 0x%02X", c);
}

static osiris_rc js_unexpected(js_parser *p, const char *expected) {
  char what[32];
  js_describe(p, p->i, what, sizeof what);
  if (p->i >= p->n)
    return js_fail_at(p, OSIRIS_EPARSE, p->i, "unexpected end of input, expected %s", expected);
  return js_fail_at(p, OSIRIS_EPARSE, p->i, "unexpected %s, expected %s", what, expected);
}

static int js_hex4(const char *s, uint32_t *out) {
  uint32_t v = 0;
  int k;
  for (k = 0; k < 4; k++) {
    char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static osiris_rc js_put_utf8(os_buf *b, uint32_t cp) {
  char u[4];
  size_t k;
  if (cp < 0x80) {
    u[0] = (char)cp;
    k = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    k = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    k = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    k = 4;
  }
  return ob_put(b, u, k);
}

/* Parse the string whose opening quote is at p->i.  The result is
 * NUL-terminated and its length (which may include NULs) is *len. */
static osiris_rc js_parse_string(js_parser *p, char **out, size_t *len) {
  size_t start = ++p->i, run;
  os_buf b = {0};
  osiris_rc rc = OSIRIS_OK;
  *out = NULL;
  /* Fast path: no escapes, the common case for keys and most values. */
  while (p->i < p->n) {
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '"' || c == '\\' || c < 0x20) break;
    p->i++;
  }
  if (p->i < p->n && p->s[p->i] == '"') {
    *out = os_strndup(p->s + start, p->i - start);
    *len = p->i - start;
    p->i++;
    return *out ? OSIRIS_OK : os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
  }
  run = start;
  for (;;) {
    unsigned char c;
    if (p->i >= p->n) {
      rc = js_fail_at(p, OSIRIS_EPARSE, start - 1, "unterminated string");
      goto done;
    }
    c = (unsigned char)p->s[p->i];
    if (c == '"') {
      if ((rc = ob_put(&b, p->s + run, p->i - run))) goto oom;
      p->i++;
      break;
    }
    if (c < 0x20) {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "control character 0x%02X in string", c);
      goto done;
    }
    if (c != '\\') {
      p->i++;
      continue;
    }
    if ((rc = ob_put(&b, p->s + run, p->i - run))) goto oom;
    if (p->i + 1 >= p->n) {
      rc = js_fail_at(p, OSIRIS_EPARSE, start - 1, "unterminated string");
      goto done;
    }
    c = (unsigned char)p->s[p->i + 1];
    {
      char simple = 0;
      switch (c) {
      case '"': simple = '"'; break;
      case '\\': simple = '\\'; break;
      case '/': simple = '/'; break;
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      default: break;
      }
      if (simple) {
        if ((rc = ob_putc(&b, simple))) goto oom;
        p->i += 2;
        run = p->i;
        continue;
      }
    }
    if (c != 'u') {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "invalid escape '\\%c'",
                      c >= 0x21 && c < 0x7F ? (char)c : '?');
      goto done;
    }
    {
      uint32_t cp, lo;
      size_t esc = p->i;
      if (p->i + 6 > p->n || !js_hex4(p->s + p->i + 2, &cp)) {
        rc = js_fail_at(p, OSIRIS_EPARSE, esc, "invalid \\u escape");
        goto done;
      }
      p->i += 6;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {
        rc = js_fail_at(p, OSIRIS_EPARSE, esc, "lone low surrogate \\u%04x", (unsigned)cp);
        goto done;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
            !js_hex4(p->s + p->i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
          rc = js_fail_at(p, OSIRIS_EPARSE, esc, "lone high surrogate \\u%04x", (unsigned)cp);
          goto done;
        }
        p->i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      if ((rc = js_put_utf8(&b, cp))) goto oom;
      run = p->i;
    }
  }
  *len = b.len;
  *out = ob_take(&b);
  if (!*out) rc = os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
  goto done;
oom:
  rc = os_fail(p->err, rc, "out of memory");
done:
  ob_free(&b);
  return rc;
}

static osiris_rc js_parse_number(js_parser *p, osiris_json **out) {
  size_t start = p->i, i = p->i;
  int is_int = 1;
  const char *s = p->s;
  osiris_json *v;
  if (i < p->n && s[i] == '-') i++;
  if (i >= p->n || s[i] < '0' || s[i] > '9') {
    p->i = i;
    return js_unexpected(p, "digit");
  }
  if (s[i] == '0') {
    i++;
    if (i < p->n && s[i] >= '0' && s[i] <= '9')
      return js_fail_at(p, OSIRIS_EPARSE, start, "leading zeros are not allowed");
  } else {
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < p->n && s[i] == '.') {
    is_int = 0;
    i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9') {
      p->i = i;
      return js_unexpected(p, "digit after '.'");
    }
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
    is_int = 0;
    i++;
    if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9') {
      p->i = i;
      return js_unexpected(p, "digit in exponent");
    }
    while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (is_int) {
    /* Accumulate negatively so INT64_MIN fits. */
    int64_t acc = 0;
    size_t k = start + (s[start] == '-');
    int overflow = 0;
    for (; k < i; k++) {
      int d = s[k] - '0';
      if (acc < (INT64_MIN + d) / 10) {
        overflow = 1;
        break;
      }
      acc = acc * 10 - d;
    }
    if (!overflow && s[start] != '-' && acc == INT64_MIN) overflow = 1;
    if (!overflow) {
      v = js_alloc(OSIRIS_JSON_INT);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      v->u.i = s[start] == '-' ? acc : -acc;
      p->i = i;
      *out = v;
      return OSIRIS_OK;
    }
  }
  {
    /* strtod needs a NUL-terminated copy.  It is locale-dependent, but
     * osiris never calls setlocale, so the "C" locale (decimal point '.')
     * holds; the grammar above already admits only [-0-9.eE+]. */
    char small[64], *copy = small, *end = NULL;
    size_t n = i - start;
    double d;
    if (n >= sizeof small) {
      copy = os_malloc(n + 1);
      if (!copy) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    }
    memcpy(copy, s + start, n);
    copy[n] = 0;
    d = strtod(copy, &end);
    if (copy != small) os_free(copy);
    if (isinf(d)) return js_fail_at(p, OSIRIS_EPARSE, start, "number out of range");
    v = js_alloc(OSIRIS_JSON_DOUBLE);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    v->u.d = d;
  }
  p->i = i;
  *out = v;
  return OSIRIS_OK;
}

/* Objects with many keys check duplicates through a transient hash set of
 * item indexes, so a hostile document cannot make parsing quadratic. */
typedef struct js_keyset {
  size_t *slots; /* index + 1, 0 = empty */
  size_t cap;
} js_keyset;

static uint64_t js_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

/* Returns 1 if key is already in obj, 0 if not, -1 when out of memory. */
static int js_key_seen(js_keyset *ks, const osiris_json *obj, const char *key) {
  size_t i, n = obj->u.c.n;
  if (n < 16 && !ks->slots) {
    for (i = 0; i < n; i++)
      if (strcmp(obj->u.c.keys[i], key) == 0) return 1;
    return 0;
  }
  if (!ks->slots || n * 2 >= ks->cap) {
    size_t cap = ks->cap ? ks->cap * 2 : 64, j;
    size_t *slots;
    if (cap > SIZE_MAX / sizeof(size_t)) return -1;
    slots = os_calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (j = 0; j < n; j++) {
      size_t h = (size_t)js_hash(obj->u.c.keys[j]) & (cap - 1);
      while (slots[h]) h = (h + 1) & (cap - 1);
      slots[h] = j + 1;
    }
    os_free(ks->slots);
    ks->slots = slots;
    ks->cap = cap;
  }
  i = (size_t)js_hash(key) & (ks->cap - 1);
  while (ks->slots[i]) {
    if (strcmp(obj->u.c.keys[ks->slots[i] - 1], key) == 0) return 1;
    i = (i + 1) & (ks->cap - 1);
  }
  /* Reserve the slot for the key the caller is about to append. */
  ks->slots[i] = n + 1;
  return 0;
}

static osiris_rc js_parse_value(js_parser *p, osiris_json **out, int depth);

static osiris_rc js_parse_array(js_parser *p, osiris_json *arr, int depth) {
  osiris_rc rc;
  p->i++;
  js_skip_ws(p);
  if (p->i < p->n && p->s[p->i] == ']') {
    p->i++;
    return OSIRIS_OK;
  }
  for (;;) {
    osiris_json *item = NULL;
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']')
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "trailing comma before ']'");
    if ((rc = js_parse_value(p, &item, depth + 1))) return rc;
    if ((rc = js_append(arr, NULL, item))) return os_fail(p->err, rc, "out of memory");
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == ']') {
      p->i++;
      return OSIRIS_OK;
    }
    return js_unexpected(p, "',' or ']'");
  }
}

static osiris_rc js_parse_object(js_parser *p, osiris_json *obj, int depth) {
  osiris_rc rc = OSIRIS_OK;
  js_keyset ks = {NULL, 0};
  p->i++;
  js_skip_ws(p);
  if (p->i < p->n && p->s[p->i] == '}') {
    p->i++;
    return OSIRIS_OK;
  }
  for (;;) {
    osiris_json *item = NULL;
    char *key = NULL;
    size_t klen, kpos;
    int seen;
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}' && obj->u.c.n > 0) {
      rc = js_fail_at(p, OSIRIS_EPARSE, p->i, "trailing comma before '}'");
      goto done;
    }
    if (p->i >= p->n || p->s[p->i] != '"') {
      rc = js_unexpected(p, "string key");
      goto done;
    }
    kpos = p->i;
    if ((rc = js_parse_string(p, &key, &klen))) goto done;
    if (strlen(key) != klen) {
      os_free(key);
      rc = js_fail_at(p, OSIRIS_EPARSE, kpos, "object key contains U+0000");
      goto done;
    }
    seen = js_key_seen(&ks, obj, key);
    if (seen) {
      if (seen < 0)
        rc = os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      else
        rc = js_fail_at(p, OSIRIS_EPARSE, kpos, "duplicate key \"%s\"", key);
      os_free(key);
      goto done;
    }
    js_skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != ':') {
      os_free(key);
      rc = js_unexpected(p, "':'");
      goto done;
    }
    p->i++;
    js_skip_ws(p);
    if ((rc = js_parse_value(p, &item, depth + 1))) {
      os_free(key);
      goto done;
    }
    if ((rc = js_append(obj, key, item))) {
      rc = os_fail(p->err, rc, "out of memory");
      goto done;
    }
    js_skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == '}') {
      p->i++;
      goto done;
    }
    rc = js_unexpected(p, "',' or '}'");
    goto done;
  }
done:
  os_free(ks.slots);
  return rc;
}

static int js_match_word(const js_parser *p, const char *w) {
  size_t k = strlen(w);
  return p->n - p->i >= k && memcmp(p->s + p->i, w, k) == 0;
}

static osiris_rc js_parse_value(js_parser *p, osiris_json **out, int depth) {
  osiris_json *v = NULL;
  osiris_rc rc = OSIRIS_OK;
  uint32_t line, col;
  char c;
  *out = NULL;
  js_skip_ws(p);
  if (p->i >= p->n) return js_unexpected(p, "a value");
  line = p->line;
  col = js_col(p, p->i);
  c = p->s[p->i];
  switch (c) {
  case '{':
  case '[':
    if (depth >= OS_MAX_DEPTH)
      return js_fail_at(p, OSIRIS_ELIMIT, p->i, "nesting deeper than %d", OS_MAX_DEPTH);
    v = js_alloc(c == '{' ? OSIRIS_JSON_OBJECT : OSIRIS_JSON_ARRAY);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    v->line = line;
    v->col = col;
    rc = c == '{' ? js_parse_object(p, v, depth) : js_parse_array(p, v, depth);
    break;
  case '"':
    v = js_alloc(OSIRIS_JSON_STRING);
    if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
    rc = js_parse_string(p, &v->u.s.ptr, &v->u.s.len);
    break;
  case 't':
  case 'f':
  case 'n':
    if (js_match_word(p, "true") || js_match_word(p, "false")) {
      v = js_alloc(OSIRIS_JSON_BOOL);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      v->u.b = c == 't';
      p->i += c == 't' ? 4 : 5;
    } else if (js_match_word(p, "null")) {
      v = js_alloc(OSIRIS_JSON_NULL);
      if (!v) return os_fail(p->err, OSIRIS_ENOMEM, "out of memory");
      p->i += 4;
    } else {
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "invalid literal");
    }
    break;
  default:
    if (c == '-' || (c >= '0' && c <= '9')) {
      rc = js_parse_number(p, &v);
      break;
    }
    if (c == 'N' || c == 'I')
      return js_fail_at(p, OSIRIS_EPARSE, p->i, "NaN and Infinity are not JSON");
    return js_unexpected(p, "a value");
  }
  if (rc) {
    osiris_json_free(v);
    return rc;
  }
  v->line = line;
  v->col = col;
  *out = v;
  return OSIRIS_OK;
}

static osiris_rc js_parse(const char *text, size_t len, const char *fname, osiris_json **out,
                          os_err *err) {
  js_parser p;
  size_t bad;
  osiris_rc rc;
  osiris_json *v = NULL;
  *out = NULL;
  memset(&p, 0, sizeof p);
  p.s = text;
  p.n = len;
  p.fname = fname;
  p.err = err;
  p.line = 1;
  p.col_num = 1;
  if (len > OS_MAX_DOC)
    return js_fail_at(&p, OSIRIS_ELIMIT, 0, "document larger than %zu bytes", OS_MAX_DOC);
  if (!text && len) return js_fail_at(&p, OSIRIS_EINVAL, 0, "no input");
  if (!os_utf8_valid(text, len, &bad)) {
    size_t k;
    for (k = 0; k < bad; k++)
      if (text[k] == '\n') p.line++, p.line_start = k + 1;
    return js_fail_at(&p, OSIRIS_EPARSE, bad, "invalid UTF-8");
  }
  if ((rc = js_parse_value(&p, &v, 0))) return rc;
  js_skip_ws(&p);
  if (p.i < p.n) {
    osiris_json_free(v);
    return js_fail_at(&p, OSIRIS_EPARSE, p.i, "extra data after the value");
  }
  *out = v;
  return OSIRIS_OK;
}

static osiris_rc js_read_file(const char *path, osiris_json **out, os_err *err) {
  char *data = NULL;
  size_t len = 0;
  osiris_rc rc;
  *out = NULL;
  if ((rc = os_read_file(path, &data, &len, err))) return rc;
  rc = js_parse(data, len, path, out, err);
  os_free(data);
  return rc;
}

osiris_rc osiris_json_parse(const char *text, size_t len, osiris_json **out, char *errbuf,
                            size_t errcap) {
  os_err err;
  osiris_rc rc;
  err.rc = OSIRIS_OK;
  err.msg[0] = 0;
  if (!out) return OSIRIS_EINVAL;
  rc = js_parse(text, len, NULL, out, &err);
  if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? err.msg : "");
  return rc;
}

/* ---------------------------------------------------------------- writer */

/* Python repr(float): the shortest of %.{0..16}e that reads back exactly,
 * then positional notation when -4 < decimal-point position <= 16. */
static size_t js_fmt_double(char *out, size_t cap, double d) {
  char tmp[40], sci[40], digits[24];
  size_t nd = 0, k = 0, n;
  int prec, exp10 = 0, decpt, neg = signbit(d) ? 1 : 0;
  const char *e;
  if (isnan(d)) {
    snprintf(tmp, sizeof tmp, "nan");
    goto out;
  }
  if (isinf(d)) {
    snprintf(tmp, sizeof tmp, "%sinf", neg ? "-" : "");
    goto out;
  }
  /* Start at 15 significant digits: a value whose shortest form is
   * shorter reads back from its 15-digit rounding too (that rounding is
   * the short form padded with zeros, stripped below), and the search is
   * about 6 times faster than from 1 digit.  Subnormals carry fewer
   * digits, so their search starts at one. */
  for (prec = fabs(d) < DBL_MIN ? 0 : 14; prec < 17; prec++) {
    snprintf(sci, sizeof sci, "%.*e", prec, fabs(d));
    if (strtod(sci, NULL) == fabs(d)) break;
  }
  /* sci is "D[.DDD]e[+-]XX" in the C locale. */
  for (e = sci; *e && *e != 'e'; e++)
    if (*e >= '0' && *e <= '9' && nd < sizeof digits - 1) digits[nd++] = *e;
  if (*e == 'e') exp10 = (int)strtol(e + 1, NULL, 10);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  decpt = exp10 + 1;
  if (neg) tmp[k++] = '-';
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      int z;
      tmp[k++] = '0';
      tmp[k++] = '.';
      for (z = 0; z < -decpt; z++) tmp[k++] = '0';
      memcpy(tmp + k, digits, nd);
      k += nd;
    } else if ((size_t)decpt < nd) {
      memcpy(tmp + k, digits, (size_t)decpt);
      k += (size_t)decpt;
      tmp[k++] = '.';
      memcpy(tmp + k, digits + decpt, nd - (size_t)decpt);
      k += nd - (size_t)decpt;
    } else {
      size_t z;
      memcpy(tmp + k, digits, nd);
      k += nd;
      for (z = nd; z < (size_t)decpt; z++) tmp[k++] = '0';
      tmp[k++] = '.';
      tmp[k++] = '0';
    }
    tmp[k] = 0;
  } else {
    tmp[k++] = digits[0];
    if (nd > 1) {
      tmp[k++] = '.';
      memcpy(tmp + k, digits + 1, nd - 1);
      k += nd - 1;
    }
    snprintf(tmp + k, sizeof tmp - k, "e%c%02d", exp10 < 0 ? '-' : '+',
             exp10 < 0 ? -exp10 : exp10);
  }
out:
  n = strlen(tmp);
  if (cap) {
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(out, tmp, c);
    out[c] = 0;
  }
  return n;
}

static osiris_rc js_dump_string(os_buf *b, const char *s, size_t len, int ascii) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;
  osiris_rc rc;
  if ((rc = ob_putc(b, '"'))) return rc;
  while (i < len) {
    unsigned char c = u[i];
    char esc[16];
    size_t elen = 0, adv = 1;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      elen = 2;
    } else if (c < 0x20) {
      esc[0] = '\\';
      elen = 2;
      switch (c) {
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        elen = 6;
      }
    } else if (ascii && c >= 0x7F) {
      /* ensure_ascii: Python escapes DEL too ([^ -~]). */
      uint32_t cp = 0xFFFD;
      if (c == 0x7F) {
        cp = c;
      } else {
        size_t k = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (k && i + k < len && os_utf8_valid(s + i, k + 1, NULL)) {
          size_t j;
          cp = c & (0x3F >> k);
          for (j = 1; j <= k; j++) cp = (cp << 6) | (u[i + j] & 0x3F);
          adv = k + 1;
        }
      }
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
        snprintf(esc, sizeof esc, "\\u%04x\\u%04x", (unsigned)hi, (unsigned)lo);
        elen = 12;
      } else {
        snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        elen = 6;
      }
    }
    if (elen) {
      if ((rc = ob_put(b, s + run, i - run))) return rc;
      if ((rc = ob_put(b, esc, elen))) return rc;
      i += adv;
      run = i;
    } else {
      i++;
    }
  }
  if ((rc = ob_put(b, s + run, i - run))) return rc;
  return ob_putc(b, '"');
}

/* strcmp compares as unsigned char, and UTF-8 byte order is code point
 * order, so this matches Python's sort_keys. */
typedef struct js_keyidx {
  const char *key;
  size_t idx;
} js_keyidx;

static int js_cmp_keys(const void *a, const void *b) {
  return strcmp(((const js_keyidx *)a)->key, ((const js_keyidx *)b)->key);
}

static osiris_rc js_newline(os_buf *b, int level) {
  osiris_rc rc = ob_putc(b, '\n');
  int k;
  for (k = 0; !rc && k < level; k++) rc = ob_put(b, "  ", 2);
  return rc;
}

static osiris_rc js_dump_rec(os_buf *b, const osiris_json *v, unsigned flags, int level) {
  char num[40];
  osiris_rc rc = OSIRIS_OK;
  int pretty = (flags & OSIRIS_JSON_PRETTY) != 0;
  size_t i, n;
  if (!v) return ob_puts(b, "null");
  if (level > OS_MAX_DEPTH * 4) return OSIRIS_ELIMIT;
  switch (v->kind) {
  case OSIRIS_JSON_NULL: return ob_puts(b, "null");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "true" : "false");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    if (isnan(v->u.d) || isinf(v->u.d)) return ob_puts(b, "null");
    n = js_fmt_double(num, sizeof num, v->u.d);
    return ob_put(b, num, n);
  case OSIRIS_JSON_STRING:
    return js_dump_string(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len,
                          (flags & OSIRIS_JSON_ASCII) != 0);
  case OSIRIS_JSON_ARRAY:
    n = v->u.c.n;
    if (n == 0) return ob_puts(b, "[]");
    if ((rc = ob_putc(b, '['))) return rc;
    for (i = 0; i < n; i++) {
      if (i && (rc = ob_putc(b, ','))) return rc;
      if (pretty && (rc = js_newline(b, level + 1))) return rc;
      if ((rc = js_dump_rec(b, v->u.c.items[i], flags, level + 1))) return rc;
    }
    if (pretty && (rc = js_newline(b, level))) return rc;
    return ob_putc(b, ']');
  case OSIRIS_JSON_OBJECT: {
    js_keyidx *order = NULL;
    n = v->u.c.n;
    if (n == 0) return ob_puts(b, "{}");
    if (flags & OSIRIS_JSON_SORTED) {
      if (n > SIZE_MAX / sizeof *order) return OSIRIS_ENOMEM;
      order = os_malloc(n * sizeof *order);
      if (!order) return OSIRIS_ENOMEM;
      for (i = 0; i < n; i++) order[i].key = v->u.c.keys[i], order[i].idx = i;
      qsort(order, n, sizeof *order, js_cmp_keys);
    }
    if ((rc = ob_putc(b, '{'))) goto obj_done;
    for (i = 0; i < n; i++) {
      size_t idx = order ? order[i].idx : i;
      if (i && (rc = ob_putc(b, ','))) goto obj_done;
      if (pretty && (rc = js_newline(b, level + 1))) goto obj_done;
      if ((rc = js_dump_string(b, v->u.c.keys[idx], strlen(v->u.c.keys[idx]),
                               (flags & OSIRIS_JSON_ASCII) != 0)))
        goto obj_done;
      if ((rc = pretty ? ob_put(b, ": ", 2) : ob_putc(b, ':'))) goto obj_done;
      if ((rc = js_dump_rec(b, v->u.c.items[idx], flags, level + 1))) goto obj_done;
    }
    if (pretty && (rc = js_newline(b, level))) goto obj_done;
    rc = ob_putc(b, '}');
  obj_done:
    os_free(order);
    return rc;
  }
  }
  return OSIRIS_EINVAL;
}

static osiris_rc js_dump(os_buf *b, const osiris_json *v, unsigned flags) {
  return js_dump_rec(b, v, flags, 0);
}

char *osiris_json_dump(const osiris_json *v, unsigned flags, size_t *len) {
  os_buf b = {0};
  char *s;
  if (len) *len = 0;
  if (js_dump(&b, v, flags)) {
    ob_free(&b);
    return NULL;
  }
  if (len) *len = b.len;
  s = ob_take(&b);
  return s;
}

/* ------------------------------------------------------------- accessors */

osiris_json_kind osiris_json_kind_of(const osiris_json *v) {
  return v ? v->kind : OSIRIS_JSON_NULL;
}

size_t osiris_json_size(const osiris_json *v) {
  if (!v || (v->kind != OSIRIS_JSON_ARRAY && v->kind != OSIRIS_JSON_OBJECT)) return 0;
  return v->u.c.n;
}

const osiris_json *osiris_json_at(const osiris_json *v, size_t i) {
  if (i >= osiris_json_size(v)) return NULL;
  return v->u.c.items[i];
}

const char *osiris_json_key_at(const osiris_json *obj, size_t i) {
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || i >= obj->u.c.n) return NULL;
  return obj->u.c.keys[i];
}

static size_t js_find(const osiris_json *obj, const char *key) {
  size_t i;
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || !key) return SIZE_MAX;
  for (i = 0; i < obj->u.c.n; i++)
    if (strcmp(obj->u.c.keys[i], key) == 0) return i;
  return SIZE_MAX;
}

const osiris_json *osiris_json_get(const osiris_json *obj, const char *key) {
  size_t i = js_find(obj, key);
  return i == SIZE_MAX ? NULL : obj->u.c.items[i];
}

const char *osiris_json_str(const osiris_json *v) {
  return v && v->kind == OSIRIS_JSON_STRING ? (v->u.s.ptr ? v->u.s.ptr : "") : NULL;
}

size_t osiris_json_strlen(const osiris_json *v) {
  return v && v->kind == OSIRIS_JSON_STRING ? v->u.s.len : 0;
}

int64_t osiris_json_int(const osiris_json *v, int64_t dflt) {
  if (!v) return dflt;
  if (v->kind == OSIRIS_JSON_INT) return v->u.i;
  /* 2^63 is exact as a double; anything at or above it does not fit. */
  if (v->kind == OSIRIS_JSON_DOUBLE && v->u.d == floor(v->u.d) && v->u.d >= -9223372036854775808.0 &&
      v->u.d < 9223372036854775808.0)
    return (int64_t)v->u.d;
  return dflt;
}

double osiris_json_num(const osiris_json *v, double dflt) {
  if (!v) return dflt;
  if (v->kind == OSIRIS_JSON_INT) return (double)v->u.i;
  if (v->kind == OSIRIS_JSON_DOUBLE) return v->u.d;
  return dflt;
}

int osiris_json_bool(const osiris_json *v, int dflt) {
  return v && v->kind == OSIRIS_JSON_BOOL ? v->u.b : dflt;
}

static const char *js_gets(const osiris_json *obj, const char *key) {
  return osiris_json_str(osiris_json_get(obj, key));
}

/* -------------------------------------------------------------- builders */

osiris_json *osiris_json_new(osiris_json_kind kind) {
  osiris_json *v;
  if ((int)kind < (int)OSIRIS_JSON_NULL || kind > OSIRIS_JSON_OBJECT) return NULL;
  v = js_alloc(kind);
  if (v && kind == OSIRIS_JSON_STRING) {
    v->u.s.ptr = os_strdup("");
    if (!v->u.s.ptr) {
      os_free(v);
      return NULL;
    }
  }
  return v;
}

osiris_json *osiris_json_new_str(const char *s, size_t len) {
  osiris_json *v = js_alloc(OSIRIS_JSON_STRING);
  if (!v) return NULL;
  v->u.s.ptr = os_strndup(s ? s : "", s ? len : 0);
  v->u.s.len = s ? len : 0;
  if (!v->u.s.ptr) {
    os_free(v);
    return NULL;
  }
  return v;
}

osiris_json *osiris_json_new_int(int64_t i) {
  osiris_json *v = js_alloc(OSIRIS_JSON_INT);
  if (v) v->u.i = i;
  return v;
}

osiris_json *osiris_json_new_double(double d) {
  osiris_json *v = js_alloc(OSIRIS_JSON_DOUBLE);
  if (v) v->u.d = d;
  return v;
}

osiris_json *osiris_json_new_bool(int b) {
  osiris_json *v = js_alloc(OSIRIS_JSON_BOOL);
  if (v) v->u.b = b ? 1 : 0;
  return v;
}

static osiris_json *js_copy_rec(const osiris_json *v, int depth) {
  osiris_json *c;
  size_t i;
  if (!v || depth > OS_MAX_DEPTH * 4) return NULL;
  if (v->kind == OSIRIS_JSON_STRING) {
    c = osiris_json_new_str(v->u.s.ptr, v->u.s.len);
  } else {
    c = js_alloc(v->kind);
    if (c && (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT)) {
      for (i = 0; i < v->u.c.n; i++) {
        osiris_json *item = js_copy_rec(v->u.c.items[i], depth + 1);
        char *key = NULL;
        if (!item) goto fail;
        if (v->kind == OSIRIS_JSON_OBJECT) {
          key = os_strdup(v->u.c.keys[i]);
          if (!key) {
            osiris_json_free(item);
            goto fail;
          }
        }
        if (js_append(c, key, item)) goto fail;
      }
    } else if (c) {
      c->u = v->u;
    }
  }
  if (c) {
    c->line = v->line;
    c->col = v->col;
  }
  return c;
fail:
  osiris_json_free(c);
  return NULL;
}

osiris_json *osiris_json_copy(const osiris_json *v) { return js_copy_rec(v, 0); }

osiris_rc osiris_json_set(osiris_json *obj, const char *key, osiris_json *val) {
  size_t i;
  char *k;
  if (!obj || obj->kind != OSIRIS_JSON_OBJECT || !key || !val) {
    osiris_json_free(val);
    return val ? OSIRIS_EINVAL : OSIRIS_ENOMEM;
  }
  i = js_find(obj, key);
  if (i != SIZE_MAX) {
    osiris_json_free(obj->u.c.items[i]);
    obj->u.c.items[i] = val;
    return OSIRIS_OK;
  }
  k = os_strdup(key);
  if (!k) {
    osiris_json_free(val);
    return OSIRIS_ENOMEM;
  }
  return js_append(obj, k, val);
}

int osiris_json_remove(osiris_json *obj, const char *key) {
  size_t i = js_find(obj, key), rest;
  if (i == SIZE_MAX) return 0;
  osiris_json_free(obj->u.c.items[i]);
  os_free(obj->u.c.keys[i]);
  rest = obj->u.c.n - i - 1;
  memmove(obj->u.c.items + i, obj->u.c.items + i + 1, rest * sizeof *obj->u.c.items);
  memmove(obj->u.c.keys + i, obj->u.c.keys + i + 1, rest * sizeof *obj->u.c.keys);
  obj->u.c.n--;
  return 1;
}

osiris_rc osiris_json_push(osiris_json *arr, osiris_json *val) {
  if (!arr || arr->kind != OSIRIS_JSON_ARRAY || !val) {
    osiris_json_free(val);
    return val ? OSIRIS_EINVAL : OSIRIS_ENOMEM;
  }
  return js_append(arr, NULL, val);
}

static osiris_rc js_set_str(osiris_json *obj, const char *key, const char *s) {
  return osiris_json_set(obj, key, s ? osiris_json_new_str(s, strlen(s)) : js_alloc(OSIRIS_JSON_NULL));
}

static osiris_rc js_set_int(osiris_json *obj, const char *key, int64_t v) {
  return osiris_json_set(obj, key, osiris_json_new_int(v));
}

static osiris_rc js_set_double(osiris_json *obj, const char *key, double v) {
  return osiris_json_set(obj, key, osiris_json_new_double(v));
}

static osiris_rc js_set_bool(osiris_json *obj, const char *key, int v) {
  return osiris_json_set(obj, key, osiris_json_new_bool(v));
}

static osiris_rc js_push_str(osiris_json *arr, const char *s) {
  return osiris_json_push(arr, s ? osiris_json_new_str(s, strlen(s)) : js_alloc(OSIRIS_JSON_NULL));
}

/* Deep equality.  Kinds must match: INT 1 and DOUBLE 1.0 are different
 * values (they print differently and round trips must keep the kind).
 * Doubles compare with ==, except that NaN equals NaN.  Objects are equal
 * when they hold the same keys with equal values, in any order. */
static int js_equal(const osiris_json *a, const osiris_json *b) {
  size_t i;
  if (a == b) return 1;
  if (!a || !b || a->kind != b->kind) return 0;
  switch (a->kind) {
  case OSIRIS_JSON_NULL: return 1;
  case OSIRIS_JSON_BOOL: return a->u.b == b->u.b;
  case OSIRIS_JSON_INT: return a->u.i == b->u.i;
  case OSIRIS_JSON_DOUBLE: return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
  case OSIRIS_JSON_STRING:
    return a->u.s.len == b->u.s.len &&
           (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
  case OSIRIS_JSON_ARRAY:
    if (a->u.c.n != b->u.c.n) return 0;
    for (i = 0; i < a->u.c.n; i++)
      if (!js_equal(a->u.c.items[i], b->u.c.items[i])) return 0;
    return 1;
  case OSIRIS_JSON_OBJECT:
    if (a->u.c.n != b->u.c.n) return 0;
    for (i = 0; i < a->u.c.n; i++) {
      const osiris_json *other;
      if (strcmp(a->u.c.keys[i], b->u.c.keys[i]) == 0)
        other = b->u.c.items[i];
      else
        other = osiris_json_get(b, a->u.c.keys[i]);
      if (!other || !js_equal(a->u.c.items[i], other)) return 0;
    }
    return 1;
  }
  return 0;
}
