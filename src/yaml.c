/* ======================================================================
 * 6. YAML
 *
 * One document of the YAML subset that pipelines, manifests and
 * connection files use, read straight into osiris_json trees: block
 * mappings and sequences (also the PyYAML style where a sequence under a
 * key sits at the key's indentation), flow collections, plain, quoted and
 * block scalars, comments.  Anchors, aliases, tags, merge keys, complex
 * keys, directives and second documents are errors, never silently
 * ignored.  Plain scalars resolve with the YAML 1.2 core schema; quoted
 * ones are always strings.  Every node records its 1-based line:col, and
 * errors read "fname:line:col: message".  The block parser keeps one
 * invariant: between nodes the position is at the first character of the
 * next content line, whose indentation is in ym_parser.ind (YM_EOF at the
 * end, YM_MARK on a "---"/"..." line).  Nesting is bounded by
 * OS_MAX_DEPTH, input by OS_MAX_DOC.  The emitter writes PyYAML
 * safe_dump-like block style whose output ym_parse reads back equal.
 * ====================================================================== */

#define YM_EOF (-1)
#define YM_MARK (-2)

enum { YM_LINE, YM_VALUE, YM_ITEM }; /* where a block node starts */

typedef struct ym_parser {
  js_parser b; /* text, position, line and column tracking shared with JSON */
  int ind;     /* indentation of the current content line, YM_EOF, YM_MARK */
} ym_parser;

typedef struct ym_mark {
  uint32_t line, col;
} ym_mark;

static ym_mark ym_here(ym_parser *p) {
  ym_mark m;
  m.line = p->b.line;
  m.col = js_col(&p->b, p->b.i);
  return m;
}

static osiris_rc ym_fail(ym_parser *p, osiris_rc rc, ym_mark m, const char *fmt, ...)
    OS_PRINTF(4, 5);
static osiris_rc ym_fail(ym_parser *p, osiris_rc rc, ym_mark m, const char *fmt, ...) {
  va_list ap;
  osiris_rc r;
  va_start(ap, fmt);
  r = js_vfail(p->b.err, rc, p->b.fname, m.line, m.col, fmt, ap);
  va_end(ap);
  return r;
}

static osiris_rc ym_oom(ym_parser *p) { return os_fail(p->b.err, OSIRIS_ENOMEM, "out of memory"); }

/* Character at i+k, or -1 past the end. */
static int ym_ch(const ym_parser *p, size_t k) {
  size_t j = p->b.i + k;
  return j < p->b.n ? (unsigned char)p->b.s[j] : -1;
}

static int ym_break_at(const ym_parser *p, size_t j) {
  return j < p->b.n && (p->b.s[j] == '\n' || (p->b.s[j] == '\r' && j + 1 < p->b.n && p->b.s[j + 1] == '\n'));
}

static int ym_eol_at(const ym_parser *p, size_t j) { return j >= p->b.n || ym_break_at(p, j); }

/* "Followed by blank": space, tab, line break or end of input. */
static int ym_blank_at(const ym_parser *p, size_t j) {
  return j >= p->b.n || p->b.s[j] == ' ' || p->b.s[j] == '\t' || ym_break_at(p, j);
}

static int ym_flow_ind(int c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

/* Consume the line break at the position. */
static void ym_newline(ym_parser *p) {
  if (p->b.i < p->b.n && p->b.s[p->b.i] == '\r') p->b.i++;
  if (p->b.i < p->b.n && p->b.s[p->b.i] == '\n') p->b.i++;
  p->b.line++;
  p->b.line_start = p->b.i;
}

static void ym_skip_inline_ws(ym_parser *p) {
  while (p->b.i < p->b.n && (p->b.s[p->b.i] == ' ' || p->b.s[p->b.i] == '\t')) p->b.i++;
}

static void ym_skip_to_eol(ym_parser *p) {
  while (!ym_eol_at(p, p->b.i)) p->b.i++;
}

static int ym_marker_at(const ym_parser *p, size_t j) {
  const char *s = p->b.s;
  if (j + 3 > p->b.n) return 0;
  if (!((s[j] == '-' && s[j + 1] == '-' && s[j + 2] == '-') ||
        (s[j] == '.' && s[j + 1] == '.' && s[j + 2] == '.')))
    return 0;
  return ym_blank_at(p, j + 3);
}

/* Move to the first character of the next content line, skipping blank
 * and comment lines, and set p->ind.  The rest of the current line must
 * already be known to be blank. */
static osiris_rc ym_next_content(ym_parser *p) {
  js_parser *b = &p->b;
  if (b->i != b->line_start) {
    ym_skip_to_eol(p);
    if (b->i >= b->n) {
      p->ind = YM_EOF;
      return OSIRIS_OK;
    }
    ym_newline(p);
  }
  for (;;) {
    size_t k = b->i;
    while (k < b->n && b->s[k] == ' ') k++;
    if (k >= b->n) {
      b->i = k;
      p->ind = YM_EOF;
      return OSIRIS_OK;
    }
    if (b->s[k] == '\t') {
      size_t t = k;
      while (t < b->n && (b->s[t] == ' ' || b->s[t] == '\t')) t++;
      if (!ym_eol_at(p, t) && b->s[t] != '#') {
        b->i = k;
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "tab character used for indentation");
      }
      k = t;
    }
    if (ym_eol_at(p, k) || b->s[k] == '#') {
      b->i = k;
      ym_skip_to_eol(p);
      if (b->i >= b->n) {
        p->ind = YM_EOF;
        return OSIRIS_OK;
      }
      ym_newline(p);
      continue;
    }
    b->i = k;
    if (k == b->line_start && ym_marker_at(p, k)) {
      p->ind = YM_MARK;
      return OSIRIS_OK;
    }
    p->ind = (int)(k - b->line_start);
    return OSIRIS_OK;
  }
}

/* A comment starts with '#' at the start of a line or after whitespace. */
static int ym_comment_at(const ym_parser *p, size_t j) {
  const js_parser *b = &p->b;
  return j < b->n && b->s[j] == '#' &&
         (j == b->line_start || b->s[j - 1] == ' ' || b->s[j - 1] == '\t');
}

/* After a value: only spaces and a comment may follow on its line. */
static osiris_rc ym_finish_line(ym_parser *p) {
  ym_skip_inline_ws(p);
  if (ym_comment_at(p, p->b.i)) ym_skip_to_eol(p);
  if (!ym_eol_at(p, p->b.i)) {
    if (p->b.s[p->b.i] == ':' && ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
    return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "unexpected text after a value");
  }
  return ym_next_content(p);
}

/* Errors for characters that start constructs outside the subset. */
static osiris_rc ym_check_indicator(ym_parser *p, int flow) {
  int c = ym_ch(p, 0);
  ym_mark m = ym_here(p);
  switch (c) {
  case '&': return ym_fail(p, OSIRIS_EPARSE, m, "anchors (&) are not supported");
  case '*': return ym_fail(p, OSIRIS_EPARSE, m, "aliases (*) are not supported");
  case '!': return ym_fail(p, OSIRIS_EPARSE, m, "tags (!) are not supported");
  case '%':
  case '@':
  case '`': return ym_fail(p, OSIRIS_EPARSE, m, "'%c' cannot start a plain scalar; quote the value", c);
  case '?':
    if (ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, m, "complex keys (?) are not supported");
    break;
  case '|':
  case '>':
    if (flow) return ym_fail(p, OSIRIS_EPARSE, m, "block scalars are not allowed in flow collections");
    break;
  case '-':
    if (flow && ym_blank_at(p, p->b.i + 1))
      return ym_fail(p, OSIRIS_EPARSE, m, "block sequences are not allowed in flow collections");
    break;
  case ',':
  case ']':
  case '}':
    return ym_fail(p, OSIRIS_EPARSE, m, "unexpected '%c'", c);
  default: break;
  }
  return OSIRIS_OK;
}

/* ------------------------------------------------------------- scalars */

static int ym_eq(const char *s, size_t n, const char *w) {
  return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int ym_digits(const char *s, size_t n, int base) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    int ok = base == 16 ? isxdigit(c) : base == 8 ? (c >= '0' && c <= '7') : (c >= '0' && c <= '9');
    if (!ok) return 0;
  }
  return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int ym_is_float(const char *s, size_t n) {
  size_t i = 0, d1 = 0, d2 = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, d1++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, d2++;
    if (d1 == 0 && d2 == 0) return 0;
  } else if (d1 == 0) {
    return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t de = 0;
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, de++;
    if (de == 0) return 0;
  }
  return i == n;
}

/* A new node for a plain scalar under the YAML 1.2 core schema. */
static osiris_json *ym_resolve(const char *s, size_t n) {
  osiris_json *v;
  size_t k = 0;
  int neg = 0, big = 0;
  if (n == 0 || ym_eq(s, n, "~") || ym_eq(s, n, "null") || ym_eq(s, n, "Null") || ym_eq(s, n, "NULL"))
    return js_alloc(OSIRIS_JSON_NULL);
  if (ym_eq(s, n, "true") || ym_eq(s, n, "True") || ym_eq(s, n, "TRUE")) return osiris_json_new_bool(1);
  if (ym_eq(s, n, "false") || ym_eq(s, n, "False") || ym_eq(s, n, "FALSE"))
    return osiris_json_new_bool(0);
  if (s[0] == '-' || s[0] == '+') neg = s[0] == '-', k = 1;
  if (ym_digits(s + k, n - k, 10) ||
      (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x') &&
       ym_digits(s + 2, n - 2, s[1] == 'o' ? 8 : 16))) {
    int base = 10;
    uint64_t acc = 0, limit;
    double dacc = 0;
    int overflow = 0;
    if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) base = s[1] == 'o' ? 8 : 16, k = 2;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < n; k++) {
      int c = (unsigned char)s[k];
      unsigned d = (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      dacc = dacc * base + d;
      if (acc > (limit - d) / (unsigned)base) overflow = 1;
      else acc = acc * (unsigned)base + d;
    }
    if (!overflow) {
      if (neg) return osiris_json_new_int(acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc);
      return osiris_json_new_int((int64_t)acc);
    }
    if (base == 8) return osiris_json_new_double(neg ? -dacc : dacc);
    /* Too big for int64: decimal and hex go through strtod (which reads
     * "0x..." too) for a correctly rounded double. */
    big = 1;
  }
  if (big || ym_is_float(s, n)) {
    /* strtod in the "C" locale (osiris never calls setlocale); the text
     * was checked against the grammar above, so nothing else is read. */
    char small[64], *copy = small;
    double d;
    if (n >= sizeof small) {
      copy = os_malloc(n + 1);
      if (!copy) return NULL;
    }
    memcpy(copy, s, n);
    copy[n] = 0;
    d = strtod(copy, NULL);
    if (copy != small) os_free(copy);
    return osiris_json_new_double(d);
  }
  k = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (ym_eq(s + k, n - k, ".inf") || ym_eq(s + k, n - k, ".Inf") || ym_eq(s + k, n - k, ".INF"))
    return osiris_json_new_double(s[0] == '-' ? -INFINITY : INFINITY);
  if (ym_eq(s, n, ".nan") || ym_eq(s, n, ".NaN") || ym_eq(s, n, ".NAN"))
    return osiris_json_new_double(NAN);
  v = osiris_json_new_str(s, n);
  return v;
}

/* Plain scalar in block context, folding continuation lines indented
 * more than parent.  Stops before a comment or at the end of its last
 * line. */
static osiris_rc ym_plain_block(ym_parser *p, int parent, os_buf *out) {
  js_parser *b = &p->b;
  osiris_rc rc;
  for (;;) {
    size_t start = b->i, end;
    int comment = 0;
    while (!ym_eol_at(p, b->i)) {
      char c = b->s[b->i];
      if (c == ':' && ym_blank_at(p, b->i + 1))
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
      if (c == '#' && b->i > start && (b->s[b->i - 1] == ' ' || b->s[b->i - 1] == '\t')) {
        comment = 1;
        break;
      }
      b->i++;
    }
    end = b->i;
    while (end > start && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
    if ((rc = ob_put(out, b->s + start, end - start))) return ym_oom(p);
    if (comment) {
      b->i = end; /* the caller sees the whitespace before '#' */
      return OSIRIS_OK;
    }
    {
      /* Look ahead for a continuation line; restore if there is none. */
      size_t save_i = b->i, save_ls = b->line_start, nbreaks = 0;
      uint32_t save_line = b->line;
      int cont = 0;
      while (b->i < b->n) {
        size_t k, sp;
        ym_newline(p);
        nbreaks++;
        k = b->i;
        while (k < b->n && b->s[k] == ' ') k++;
        sp = k - b->line_start;
        while (k < b->n && (b->s[k] == ' ' || b->s[k] == '\t')) k++;
        if (k >= b->n) break;
        if (ym_break_at(p, k)) {
          b->i = k;
          continue;
        }
        if (b->s[k] == '#' || (int)sp <= parent || (sp == 0 && ym_marker_at(p, k))) break;
        b->i = k;
        cont = 1;
        break;
      }
      if (!cont) {
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        return OSIRIS_OK;
      }
      if (nbreaks == 1) rc = ob_putc(out, ' ');
      else
        while (!rc && --nbreaks > 0) rc = ob_putc(out, '\n');
      if (rc) return ym_oom(p);
    }
  }
}

/* Plain scalar in flow context: ends at , [ ] { } ": " " #". */
static osiris_rc ym_plain_flow(ym_parser *p, os_buf *out) {
  js_parser *b = &p->b;
  for (;;) {
    size_t start = b->i, end;
    while (!ym_eol_at(p, b->i)) {
      char c = b->s[b->i];
      if (ym_flow_ind(c)) break;
      if (c == ':' && (ym_blank_at(p, b->i + 1) || (b->i + 1 < b->n && ym_flow_ind(b->s[b->i + 1]))))
        break;
      if (c == '#' && b->i > start && (b->s[b->i - 1] == ' ' || b->s[b->i - 1] == '\t')) break;
      b->i++;
    }
    end = b->i;
    while (end > start && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
    if (ob_put(out, b->s + start, end - start)) return ym_oom(p);
    if (!ym_eol_at(p, b->i) || b->i >= b->n) {
      b->i = end;
      return OSIRIS_OK;
    }
    {
      size_t save_i = b->i, save_ls = b->line_start, nbreaks = 0, k;
      uint32_t save_line = b->line;
      int c;
      while (ym_break_at(p, b->i)) {
        ym_newline(p);
        nbreaks++;
        ym_skip_inline_ws(p);
      }
      k = b->i;
      c = k < b->n ? (unsigned char)b->s[k] : -1;
      if (c < 0 || ym_flow_ind(c) || c == '#' || (c == ':' && (ym_blank_at(p, k + 1) || ym_flow_ind(ym_ch(p, 1)))) ||
          (k == b->line_start && ym_marker_at(p, k))) {
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        return OSIRIS_OK;
      }
      if (nbreaks == 1) {
        if (ob_putc(out, ' ')) return ym_oom(p);
      } else {
        while (--nbreaks > 0)
          if (ob_putc(out, '\n')) return ym_oom(p);
      }
    }
  }
}

static int ym_hexval(const char *s, size_t n, uint32_t *out) {
  uint32_t v = 0;
  size_t k;
  for (k = 0; k < n; k++) {
    int c = (unsigned char)s[k];
    if (!isxdigit(c)) return 0;
    v = v * 16 + (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  *out = v;
  return 1;
}

/* Single- or double-quoted scalar starting at the quote.  Line breaks
 * fold to a space, blank lines to "\n"; *lines is the number of line
 * breaks crossed (0 when the scalar sits on one line). */
static osiris_rc ym_quoted(ym_parser *p, os_buf *out, int *lines) {
  js_parser *b = &p->b;
  ym_mark open = ym_here(p);
  char q = b->s[b->i];
  int dbl = q == '"';
  *lines = 0;
  b->i++;
  for (;;) {
    char c;
    if (b->i >= b->n)
      return ym_fail(p, OSIRIS_EPARSE, open, "unterminated %s-quoted string", dbl ? "double" : "single");
    c = b->s[b->i];
    if (c == q) {
      if (!dbl && ym_ch(p, 1) == '\'') {
        if (ob_putc(out, '\'')) return ym_oom(p);
        b->i += 2;
        continue;
      }
      b->i++;
      return OSIRIS_OK;
    }
    if (c == ' ' || c == '\t') {
      size_t start = b->i;
      ym_skip_inline_ws(p);
      if (!ym_eol_at(p, b->i) && ob_put(out, b->s + start, b->i - start)) return ym_oom(p);
      continue;
    }
    if (ym_break_at(p, b->i) || (dbl && c == '\\' && ym_break_at(p, b->i + 1))) {
      int escaped = c == '\\', nbreaks = 0;
      if (escaped) b->i++;
      ym_newline(p);
      (*lines)++;
      for (;;) {
        ym_skip_inline_ws(p);
        if (b->i == b->line_start && ym_marker_at(p, b->i))
          return ym_fail(p, OSIRIS_EPARSE, open, "unterminated %s-quoted string",
                         dbl ? "double" : "single");
        if (!ym_break_at(p, b->i)) break;
        ym_newline(p);
        (*lines)++;
        nbreaks++;
      }
      if (nbreaks == 0 && !escaped) {
        if (ob_putc(out, ' ')) return ym_oom(p);
      }
      while (nbreaks-- > 0)
        if (ob_putc(out, '\n')) return ym_oom(p);
      continue;
    }
    if (dbl && c == '\\') {
      ym_mark em = ym_here(p);
      int e = ym_ch(p, 1);
      const char *simple = NULL;
      size_t hexlen = 0;
      switch (e) {
      case '0': simple = "\0"; break;
      case 'a': simple = "\a"; break;
      case 'b': simple = "\b"; break;
      case 't':
      case '\t': simple = "\t"; break;
      case 'n': simple = "\n"; break;
      case 'v': simple = "\v"; break;
      case 'f': simple = "\f"; break;
      case 'r': simple = "\r"; break;
      case 'e': simple = "\x1b"; break;
      case ' ': simple = " "; break;
      case '"': simple = "\""; break;
      case '/': simple = "/"; break;
      case '\\': simple = "\\"; break;
      case 'N': simple = "\xc2\x85"; break;
      case '_': simple = "\xc2\xa0"; break;
      case 'L': simple = "\xe2\x80\xa8"; break;
      case 'P': simple = "\xe2\x80\xa9"; break;
      case 'x': hexlen = 2; break;
      case 'u': hexlen = 4; break;
      case 'U': hexlen = 8; break;
      default:
        return ym_fail(p, OSIRIS_EPARSE, em, "invalid escape '\\%c'", e > 0x20 && e < 0x7F ? e : '?');
      }
      if (simple) {
        if (ob_put(out, simple, e == '0' ? 1 : strlen(simple))) return ym_oom(p);
        b->i += 2;
        continue;
      }
      {
        uint32_t cp, lo;
        if (b->i + 2 + hexlen > b->n || !ym_hexval(b->s + b->i + 2, hexlen, &cp))
          return ym_fail(p, OSIRIS_EPARSE, em, "invalid escape '\\%c'", e);
        b->i += 2 + hexlen;
        if (hexlen == 4 && cp >= 0xD800 && cp <= 0xDBFF && ym_ch(p, 0) == '\\' && ym_ch(p, 1) == 'u' &&
            b->i + 6 <= b->n && ym_hexval(b->s + b->i + 2, 4, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          b->i += 6;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          return ym_fail(p, OSIRIS_EPARSE, em, "escape is not a valid code point");
        if (js_put_utf8(out, cp)) return ym_oom(p);
      }
      continue;
    }
    {
      size_t start = b->i;
      while (b->i < b->n && b->s[b->i] != q && b->s[b->i] != ' ' && b->s[b->i] != '\t' &&
             !ym_break_at(p, b->i) && !(dbl && b->s[b->i] == '\\'))
        b->i++;
      if (ob_put(out, b->s + start, b->i - start)) return ym_oom(p);
    }
  }
}

/* Skip the blank lines of a block scalar, returning how many there were;
 * stops at the first content character or at column indent. */
static size_t ym_block_breaks(ym_parser *p, size_t indent) {
  js_parser *b = &p->b;
  size_t nb = 0;
  for (;;) {
    while (b->i < b->n && b->s[b->i] == ' ' && b->i - b->line_start < indent) b->i++;
    if (!ym_break_at(p, b->i)) return nb;
    ym_newline(p);
    nb++;
  }
}

/* Literal (|) or folded (>) block scalar, as PyYAML scans it. */
static osiris_rc ym_block_scalar(ym_parser *p, int parent, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark m = ym_here(p);
  int folded = b->s[b->i] == '>', chomp = 0, incr = 0, k, have_lb = 0;
  size_t indent, min_indent, nb = 0, col;
  os_buf buf = {0};
  osiris_rc rc = OSIRIS_OK;
  b->i++;
  for (k = 0; k < 2; k++) {
    int c = ym_ch(p, 0);
    if ((c == '+' || c == '-') && !chomp) {
      chomp = c == '+' ? 1 : -1;
      b->i++;
    } else if (c >= '0' && c <= '9' && !incr) {
      if (c == '0')
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "block scalar indentation indicator cannot be 0");
      incr = c - '0';
      b->i++;
    }
  }
  {
    size_t start = b->i;
    ym_skip_inline_ws(p);
    if (b->i < b->n && b->s[b->i] == '#' && b->i > start) ym_skip_to_eol(p);
    if (!ym_eol_at(p, b->i))
      return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "unexpected text after a block scalar indicator");
  }
  if (b->i < b->n) ym_newline(p);
  min_indent = parent + 1 < 1 ? 1 : (size_t)(parent + 1);
  if (incr) {
    indent = min_indent + (size_t)incr - 1;
    nb = ym_block_breaks(p, indent);
  } else {
    /* Auto-detect: the widest of the leading blank lines and the first
     * content line, but at least min_indent. */
    size_t max_indent = 0;
    for (;;) {
      while (b->i < b->n && b->s[b->i] == ' ') b->i++;
      col = b->i - b->line_start;
      if (col > max_indent) max_indent = col;
      if (!ym_break_at(p, b->i)) break;
      ym_newline(p);
      nb++;
    }
    indent = max_indent > min_indent ? max_indent : min_indent;
  }
  while (b->i - b->line_start == indent && b->i < b->n) {
    int leading_non_space = b->s[b->i] != ' ' && b->s[b->i] != '\t';
    size_t start = b->i;
    while (nb > 0) {
      if ((rc = ob_putc(&buf, '\n'))) goto oom;
      nb--;
    }
    ym_skip_to_eol(p);
    if ((rc = ob_put(&buf, b->s + start, b->i - start))) goto oom;
    have_lb = b->i < b->n;
    if (have_lb) ym_newline(p);
    nb += ym_block_breaks(p, indent);
    if (b->i - b->line_start != indent || b->i >= b->n) break;
    /* Folding joins two plain lines with a space (or with the blank
     * lines between them); breaks around more-indented lines stay. */
    if (folded && have_lb && leading_non_space && b->s[b->i] != ' ' && b->s[b->i] != '\t') {
      if (nb == 0 && (rc = ob_putc(&buf, ' '))) goto oom;
    } else if (have_lb && (rc = ob_putc(&buf, '\n'))) {
      goto oom;
    }
  }
  if (chomp != -1 && have_lb && (rc = ob_putc(&buf, '\n'))) goto oom;
  if (chomp == 1)
    while (nb-- > 0)
      if ((rc = ob_putc(&buf, '\n'))) goto oom;
  {
    size_t len = buf.len;
    *out = osiris_json_new_str(buf.p ? buf.p : "", len);
    if (!*out) goto oom;
    (*out)->line = m.line;
    (*out)->col = m.col;
  }
  ob_free(&buf);
  if (b->i >= b->n) {
    p->ind = YM_EOF;
    return OSIRIS_OK;
  }
  b->i = b->line_start; /* the scalar ended inside this line's indentation */
  rc = ym_next_content(p);
  if (rc) {
    osiris_json_free(*out);
    *out = NULL;
  }
  return rc;
oom:
  ob_free(&buf);
  return ym_oom(p);
}

/* --------------------------------------------------------- collections */

static osiris_rc ym_node(ym_parser *p, int parent, int ctx, int depth, osiris_json **out);
static osiris_rc ym_flow(ym_parser *p, int depth, osiris_json **out);
static osiris_rc ym_seq(ym_parser *p, int indent, int indentless, int depth, osiris_json **out);

static osiris_rc ym_depth_check(ym_parser *p, int depth) {
  if (depth >= OS_MAX_DEPTH)
    return ym_fail(p, OSIRIS_ELIMIT, ym_here(p), "nesting deeper than %d", OS_MAX_DEPTH);
  return OSIRIS_OK;
}

static osiris_json *ym_null_at(ym_mark m) {
  osiris_json *v = js_alloc(OSIRIS_JSON_NULL);
  if (v) v->line = m.line, v->col = m.col;
  return v;
}

/* Add key (owned) -> val (owned) to obj, rejecting duplicates and keys
 * holding NUL.  Frees both on failure. */
static osiris_rc ym_add_key(ym_parser *p, js_keyset *ks, osiris_json *obj, char *key, size_t klen,
                            ym_mark km, osiris_json *val) {
  int seen;
  osiris_rc rc;
  if (strlen(key) != klen) {
    rc = ym_fail(p, OSIRIS_EPARSE, km, "mapping key contains U+0000");
    goto fail;
  }
  seen = js_key_seen(ks, obj, key);
  if (seen) {
    rc = seen < 0 ? ym_oom(p) : ym_fail(p, OSIRIS_EPARSE, km, "duplicate key \"%s\"", key);
    goto fail;
  }
  if (js_append(obj, key, val)) return ym_oom(p);
  return OSIRIS_OK;
fail:
  os_free(key);
  osiris_json_free(val);
  return rc;
}

/* Does a plain implicit key ("key:" + blank) start at the position?  The
 * colon's offset goes to *colon. */
static int ym_plain_key(const ym_parser *p, size_t *colon) {
  const js_parser *b = &p->b;
  size_t j;
  for (j = b->i; !ym_eol_at(p, j); j++) {
    char c = b->s[j];
    if (c == '#' && j > b->i && (b->s[j - 1] == ' ' || b->s[j - 1] == '\t')) return 0;
    if (c == ':' && ym_blank_at(p, j + 1)) {
      *colon = j;
      return 1;
    }
  }
  return 0;
}

/* Block mapping whose first key starts at the position, at indent. */
static osiris_rc ym_map(ym_parser *p, int indent, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  js_keyset ks = {NULL, 0};
  osiris_json *obj;
  osiris_rc rc;
  ym_mark m = ym_here(p);
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  obj = js_alloc(OSIRIS_JSON_OBJECT);
  if (!obj) return ym_oom(p);
  obj->line = m.line;
  obj->col = m.col;
  for (;;) {
    ym_mark km = ym_here(p);
    os_buf key = {0};
    osiris_json *val = NULL;
    size_t klen;
    int c = ym_ch(p, 0);
    if (c == '"' || c == '\'') {
      int lines;
      if ((rc = ym_quoted(p, &key, &lines))) goto key_fail;
      ym_skip_inline_ws(p);
      if (lines || ym_ch(p, 0) != ':' || !ym_blank_at(p, b->i + 1)) {
        rc = ym_fail(p, OSIRIS_EPARSE, lines ? km : ym_here(p),
                     lines ? "a mapping key must fit on one line" : "expected ':' after a mapping key");
        goto key_fail;
      }
    } else {
      size_t colon, end;
      if (c == '-' && ym_blank_at(p, b->i + 1)) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "expected a mapping key, found a sequence item");
        goto key_fail;
      }
      if (c == '[' || c == '{') {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "complex keys are not supported");
        goto key_fail;
      }
      if ((rc = ym_check_indicator(p, 0))) goto key_fail;
      if (c == '|' || c == '>' || !ym_plain_key(p, &colon)) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "expected 'key: value'");
        goto key_fail;
      }
      end = colon;
      while (end > b->i && (b->s[end - 1] == ' ' || b->s[end - 1] == '\t')) end--;
      if (end == b->i) {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "empty mapping key");
        goto key_fail;
      }
      if (end - b->i == 2 && b->s[b->i] == '<' && b->s[b->i + 1] == '<') {
        rc = ym_fail(p, OSIRIS_EPARSE, km, "merge keys (<<) are not supported");
        goto key_fail;
      }
      if (ob_put(&key, b->s + b->i, end - b->i)) {
        rc = ym_oom(p);
        goto key_fail;
      }
      b->i = colon;
    }
    b->i++; /* the ':' */
    klen = key.len;
    {
      char *k = ob_take(&key);
      if (!k) {
        rc = ym_oom(p);
        goto done;
      }
      ym_skip_inline_ws(p);
      if (ym_eol_at(p, b->i) || b->s[b->i] == '#') {
        if ((rc = ym_finish_line(p))) {
          os_free(k);
          goto done;
        }
        if (p->ind > indent)
          rc = ym_node(p, indent, YM_LINE, depth + 1, &val);
        else if (p->ind == indent && ym_ch(p, 0) == '-' && ym_blank_at(p, b->i + 1))
          rc = ym_seq(p, indent, 1, depth + 1, &val);
        else if (!(val = ym_null_at(km)))
          rc = ym_oom(p);
      } else {
        rc = ym_node(p, indent, YM_VALUE, depth + 1, &val);
      }
      if (rc) {
        os_free(k);
        goto done;
      }
      if ((rc = ym_add_key(p, &ks, obj, k, klen, km, val))) goto done;
    }
    if (p->ind < indent) break;
    if (p->ind > indent) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "bad indentation of a mapping entry");
      goto done;
    }
    continue;
  key_fail:
    ob_free(&key);
    goto done;
  }
done:
  os_free(ks.slots);
  if (rc) {
    osiris_json_free(obj);
    return rc;
  }
  *out = obj;
  return OSIRIS_OK;
}

/* Block sequence whose first "- " is at the position, at indent.  An
 * indentless sequence (PyYAML style, under a key at the same column) ends
 * at the first line of that column that is not an item. */
static osiris_rc ym_seq(ym_parser *p, int indent, int indentless, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  osiris_json *arr;
  osiris_rc rc;
  ym_mark m = ym_here(p);
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  arr = js_alloc(OSIRIS_JSON_ARRAY);
  if (!arr) return ym_oom(p);
  arr->line = m.line;
  arr->col = m.col;
  for (;;) {
    osiris_json *item = NULL;
    ym_mark im = ym_here(p);
    if (!(ym_ch(p, 0) == '-' && ym_blank_at(p, b->i + 1))) {
      if (indentless) break;
      rc = ym_fail(p, OSIRIS_EPARSE, im, "expected a sequence item ('- ')");
      goto done;
    }
    b->i++;
    ym_skip_inline_ws(p);
    if (ym_eol_at(p, b->i) || b->s[b->i] == '#') {
      if ((rc = ym_finish_line(p))) goto done;
      if (p->ind > indent)
        rc = ym_node(p, indent, YM_LINE, depth + 1, &item);
      else if (!(item = ym_null_at(im)))
        rc = ym_oom(p);
    } else {
      rc = ym_node(p, indent, YM_ITEM, depth + 1, &item);
    }
    if (rc) goto done;
    if ((rc = js_append(arr, NULL, item))) {
      rc = ym_oom(p);
      goto done;
    }
    if (p->ind < indent) break;
    if (p->ind > indent) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "bad indentation of a sequence item");
      goto done;
    }
  }
done:
  if (rc) {
    osiris_json_free(arr);
    return rc;
  }
  *out = arr;
  return OSIRIS_OK;
}

/* Skip whitespace, line breaks and comments inside a flow collection. */
static osiris_rc ym_flow_ws(ym_parser *p, ym_mark open, int is_map) {
  js_parser *b = &p->b;
  for (;;) {
    ym_skip_inline_ws(p);
    if (ym_comment_at(p, b->i)) ym_skip_to_eol(p);
    if (b->i >= b->n || (b->i == b->line_start && ym_marker_at(p, b->i)))
      return ym_fail(p, OSIRIS_EPARSE, open, "unterminated flow %s", is_map ? "mapping" : "sequence");
    if (!ym_break_at(p, b->i)) return OSIRIS_OK;
    ym_newline(p);
  }
}

/* A node inside a flow collection.  For a scalar, *text receives its
 * text (so that it can become a key) and *is_scalar is set. */
static osiris_rc ym_flow_node(ym_parser *p, int depth, osiris_json **out, int *is_scalar,
                              os_buf *text) {
  ym_mark m = ym_here(p);
  int c = ym_ch(p, 0);
  os_buf buf = {0};
  osiris_rc rc;
  *out = NULL;
  *is_scalar = 0;
  if (c == '[' || c == '{') return ym_flow(p, depth, out);
  if ((rc = ym_check_indicator(p, 1))) return rc;
  if (c == ':' && (ym_blank_at(p, p->b.i + 1) || ym_flow_ind(ym_ch(p, 1))))
    return ym_fail(p, OSIRIS_EPARSE, m, "empty mapping key");
  *is_scalar = 1;
  if (c == '"' || c == '\'') {
    int lines;
    if ((rc = ym_quoted(p, &buf, &lines))) goto done;
    *out = osiris_json_new_str(buf.p ? buf.p : "", buf.len);
  } else {
    if ((rc = ym_plain_flow(p, &buf))) goto done;
    *out = ym_resolve(buf.p ? buf.p : "", buf.len);
  }
  if (!*out) {
    rc = ym_oom(p);
    goto done;
  }
  (*out)->line = m.line;
  (*out)->col = m.col;
  ob_free(text);
  *text = buf;
  return OSIRIS_OK;
done:
  ob_free(&buf);
  return rc;
}

static osiris_rc ym_flow(ym_parser *p, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark open = ym_here(p);
  int is_map = b->s[b->i] == '{';
  char close = is_map ? '}' : ']';
  js_keyset ks = {NULL, 0};
  osiris_json *c;
  osiris_rc rc;
  *out = NULL;
  if ((rc = ym_depth_check(p, depth))) return rc;
  c = js_alloc(is_map ? OSIRIS_JSON_OBJECT : OSIRIS_JSON_ARRAY);
  if (!c) return ym_oom(p);
  c->line = open.line;
  c->col = open.col;
  b->i++;
  if ((rc = ym_flow_ws(p, open, is_map))) goto done;
  while (b->s[b->i] != close) {
    osiris_json *item = NULL, *val = NULL;
    ym_mark im = ym_here(p);
    size_t klen;
    int scalar;
    os_buf text = {0};
    if ((rc = ym_flow_node(p, depth + 1, &item, &scalar, &text))) goto done;
    if ((rc = ym_flow_ws(p, open, is_map))) goto item_fail;
    if (b->s[b->i] == ':' || is_map) {
      char *key;
      if (!scalar) {
        rc = ym_fail(p, OSIRIS_EPARSE, im, "complex keys are not supported");
        goto item_fail;
      }
      if (b->s[b->i] == ':') {
        b->i++;
        if ((rc = ym_flow_ws(p, open, is_map))) goto item_fail;
        if (b->s[b->i] == ',' || b->s[b->i] == close) {
          val = ym_null_at(im);
          if (!val) {
            rc = ym_oom(p);
            goto item_fail;
          }
        } else {
          int vs;
          os_buf vtext = {0};
          rc = ym_flow_node(p, depth + 1, &val, &vs, &vtext);
          ob_free(&vtext);
          if (rc) goto item_fail;
          if ((rc = ym_flow_ws(p, open, is_map))) {
            osiris_json_free(val);
            goto item_fail;
          }
        }
      } else if (!(val = ym_null_at(im))) {
        rc = ym_oom(p);
        goto item_fail;
      }
      klen = text.len;
      key = ob_take(&text);
      osiris_json_free(item);
      item = NULL;
      if (!key) {
        osiris_json_free(val);
        rc = ym_oom(p);
        goto done;
      }
      if (!is_map) {
        /* [k: v] is a sequence holding the single-pair mapping {k: v}. */
        js_keyset one = {NULL, 0};
        osiris_json *pair = js_alloc(OSIRIS_JSON_OBJECT);
        if (!pair) {
          os_free(key);
          osiris_json_free(val);
          rc = ym_oom(p);
          goto done;
        }
        pair->line = im.line;
        pair->col = im.col;
        if ((rc = ym_add_key(p, &one, pair, key, klen, im, val))) {
          osiris_json_free(pair);
          goto done;
        }
        item = pair;
      } else if ((rc = ym_add_key(p, &ks, c, key, klen, im, val))) {
        goto done;
      }
    }
    ob_free(&text);
    if (item && js_append(c, NULL, item)) {
      rc = ym_oom(p);
      goto done;
    }
    if (b->s[b->i] == ',') {
      b->i++;
      if ((rc = ym_flow_ws(p, open, is_map))) goto done;
      continue;
    }
    if (b->s[b->i] != close) {
      rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "expected ',' or '%c' in flow %s", close,
                   is_map ? "mapping" : "sequence");
      goto done;
    }
    continue;
  item_fail:
    ob_free(&text);
    osiris_json_free(item);
    goto done;
  }
  b->i++;
done:
  os_free(ks.slots);
  if (rc) {
    osiris_json_free(c);
    return rc;
  }
  *out = c;
  return OSIRIS_OK;
}

/* A block node at the position (its first character).  parent is the
 * indentation of the enclosing block collection (-1 at the top); ctx says
 * whether the node follows "key: " or "- " on the same line. */
static osiris_rc ym_node(ym_parser *p, int parent, int ctx, int depth, osiris_json **out) {
  js_parser *b = &p->b;
  ym_mark m = ym_here(p);
  int c = ym_ch(p, 0);
  int col = (int)(b->i - b->line_start);
  os_buf buf = {0};
  osiris_rc rc;
  size_t colon;
  *out = NULL;
  if (c == '-' && ym_blank_at(p, b->i + 1)) {
    if (ctx == YM_VALUE)
      return ym_fail(p, OSIRIS_EPARSE, m, "a block sequence cannot start on the line of its key");
    return ym_seq(p, col, 0, depth, out);
  }
  if (c == '[' || c == '{') {
    if ((rc = ym_flow(p, depth, out))) return rc;
    if ((rc = ym_finish_line(p))) {
      osiris_json_free(*out);
      *out = NULL;
    }
    return rc;
  }
  if (c == '|' || c == '>') return ym_block_scalar(p, parent, out);
  if ((rc = ym_check_indicator(p, 0))) return rc;
  if (c == '"' || c == '\'') {
    size_t save_i = b->i, save_ls = b->line_start;
    uint32_t save_line = b->line;
    int lines;
    if ((rc = ym_quoted(p, &buf, &lines))) goto done;
    if (!lines) {
      size_t k = b->i;
      while (k < b->n && (b->s[k] == ' ' || b->s[k] == '\t')) k++;
      if (k < b->n && b->s[k] == ':' && ym_blank_at(p, k + 1)) {
        if (ctx == YM_VALUE) {
          b->i = k;
          rc = ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
          goto done;
        }
        b->i = save_i;
        b->line_start = save_ls;
        b->line = save_line;
        ob_free(&buf);
        return ym_map(p, col, depth, out);
      }
    }
    *out = osiris_json_new_str(buf.p ? buf.p : "", buf.len);
  } else {
    if (ym_plain_key(p, &colon)) {
      if (ctx == YM_VALUE) {
        b->i = colon;
        return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "mapping values are not allowed here");
      }
      return ym_map(p, col, depth, out);
    }
    if ((rc = ym_plain_block(p, parent, &buf))) goto done;
    *out = ym_resolve(buf.p ? buf.p : "", buf.len);
  }
  if (!*out) {
    rc = ym_oom(p);
    goto done;
  }
  (*out)->line = m.line;
  (*out)->col = m.col;
  if ((rc = ym_finish_line(p))) {
    osiris_json_free(*out);
    *out = NULL;
  }
done:
  ob_free(&buf);
  return rc;
}

/* Check the whole input once: UTF-8, and no control characters other than
 * tab and line breaks (a lone CR is not a line break here). */
static osiris_rc ym_check_text(ym_parser *p) {
  js_parser *b = &p->b;
  size_t bad = b->n, k;
  const char *what = NULL;
  if (!os_utf8_valid(b->s, b->n, &bad)) what = "invalid UTF-8";
  for (k = 0; k < bad; k++) {
    unsigned char c = (unsigned char)b->s[k];
    if ((c < 0x20 && c != '\t' && c != '\n' && !(c == '\r' && k + 1 < b->n && b->s[k + 1] == '\n')) ||
        c == 0x7F) {
      bad = k;
      what = "control character";
      break;
    }
  }
  if (!what) return OSIRIS_OK;
  for (k = 0; k < bad; k++)
    if (b->s[k] == '\n') b->line++, b->line_start = k + 1;
  b->i = bad;
  if (what[0] == 'c')
    return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "control character 0x%02X",
                   (unsigned char)b->s[bad]);
  return ym_fail(p, OSIRIS_EPARSE, ym_here(p), "%s", what);
}

static osiris_rc ym_parse(const char *text, size_t len, const char *fname, osiris_json **out,
                          os_err *err) {
  ym_parser p;
  js_parser *b = &p.b;
  osiris_json *root = NULL;
  osiris_rc rc;
  *out = NULL;
  memset(&p, 0, sizeof p);
  b->s = text ? text : "";
  b->n = text ? len : 0;
  b->fname = fname;
  b->err = err;
  b->line = 1;
  b->col_num = 1;
  if (len > OS_MAX_DOC)
    return ym_fail(&p, OSIRIS_ELIMIT, ym_here(&p), "document larger than %zu bytes", OS_MAX_DOC);
  if ((rc = ym_check_text(&p))) return rc;
  if (b->n >= 3 && memcmp(b->s, "\xef\xbb\xbf", 3) == 0) b->i = b->line_start = 3;
  if ((rc = ym_next_content(&p))) return rc;
  if (p.ind == 0 && b->s[b->i] == '%')
    return ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), "directives (%%YAML, %%TAG) are not supported");
  if (p.ind == YM_MARK && b->s[b->i] == '-') {
    b->i += 3;
    ym_skip_inline_ws(&p);
    if (ym_eol_at(&p, b->i) || b->s[b->i] == '#') {
      if ((rc = ym_finish_line(&p))) return rc;
    } else {
      /* "--- value": only a scalar, flow or block scalar fits here. */
      if ((rc = ym_node(&p, -1, YM_VALUE, 0, &root))) return rc;
    }
  }
  if (!root && p.ind >= 0 && (rc = ym_node(&p, -1, YM_LINE, 0, &root))) return rc;
  if (p.ind >= 0) {
    rc = ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), p.ind > 0 ? "bad indentation" : "unexpected text after a value");
    goto fail;
  }
  if (p.ind == YM_MARK) {
    if (b->s[b->i] == '.') {
      b->i += 3;
      if ((rc = ym_finish_line(&p))) goto fail;
    }
    if (p.ind != YM_EOF) {
      rc = ym_fail(&p, OSIRIS_EPARSE, ym_here(&p), "a second document is not supported");
      goto fail;
    }
  }
  if (!root && !(root = ym_null_at(ym_here(&p)))) return ym_oom(&p);
  if (!root->line) root->line = root->col = 1;
  *out = root;
  return OSIRIS_OK;
fail:
  osiris_json_free(root);
  return rc;
}

static osiris_rc ym_read_file(const char *path, osiris_json **out, os_err *err) {
  char *data = NULL;
  size_t len = 0;
  osiris_rc rc;
  *out = NULL;
  if ((rc = os_read_file(path, &data, &len, err))) return rc;
  rc = ym_parse(data, len, path, out, err);
  os_free(data);
  return rc;
}

/* --------------------------------------------------------------- emitter */

/* Strings a YAML 1.1 reader (PyYAML) would resolve to something else:
 * yes/no/on/off, 1_000, 0b1, 12:30, 2024-01-31, "<<", "=" (PyYAML's
 * resolver list).  Quoting them too keeps the output unambiguous for
 * Python readers. */
static int ym_ambiguous_11(const char *s, size_t n) {
  static const char *const words[] = {"yes", "Yes", "YES", "no", "No", "NO", "on", "On",
                                      "ON", "off", "Off", "OFF", "<<", "="};
  size_t i, k = 0;
  int digit_start;
  for (i = 0; i < sizeof words / sizeof *words; i++)
    if (ym_eq(s, n, words[i])) return 1;
  if (k < n && (s[k] == '-' || s[k] == '+')) k++;
  digit_start = k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '.');
  if (!digit_start) return 0;
  if (n - k > 1 && s[k] == '0' && (s[k + 1] == 'b' || s[k + 1] == 'x' || s[k + 1] == 'o')) return 1;
  for (i = k; i < n; i++)
    if (s[i] == '_' || s[i] == ':') return 1;
  if (n >= 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
      isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-')
    return 1;
  return 0;
}

/* Characters that force double quotes: C0 controls, DEL, NEL, LS, PS, BOM. */
static int ym_needs_double(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i;
  for (i = 0; i < n; i++) {
    if (u[i] < 0x20 || u[i] == 0x7F) return 1;
    if (u[i] == 0xC2 && i + 1 < n && u[i + 1] == 0x85) return 1;
    if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
      return 1;
    if (u[i] == 0xEF && i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF) return 1;
  }
  return 0;
}

static int ym_plain_ok(const char *s, size_t n) {
  size_t i;
  osiris_json *r;
  int is_str;
  if (n == 0 || strchr(",[]{}#&*!|>'\"%@`", s[0])) return 0;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (n == 1 || s[1] == ' ')) return 0;
  if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0)) return 0;
  if (s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':') return 0;
  for (i = 0; i + 1 < n; i++)
    if ((s[i] == ':' && s[i + 1] == ' ') || (s[i] == ' ' && s[i + 1] == '#')) return 0;
  if (ym_ambiguous_11(s, n)) return 0;
  /* Quick filter before allocating: only these can resolve to non-strings. */
  if (!strchr("~nNtTfF0123456789+-.", s[0])) return 1;
  r = ym_resolve(s, n);
  if (!r) return 0;
  is_str = r->kind == OSIRIS_JSON_STRING;
  osiris_json_free(r);
  return is_str;
}

static osiris_rc ym_emit_str(os_buf *b, const char *s, size_t n) {
  size_t i;
  osiris_rc rc;
  if (!os_utf8_valid(s, n, NULL)) return OSIRIS_EINVAL;
  if (ym_needs_double(s, n)) {
    const unsigned char *u = (const unsigned char *)s;
    if ((rc = ob_putc(b, '"'))) return rc;
    for (i = 0; i < n; i++) {
      const char *e = NULL;
      char hex[8];
      size_t skip = 0;
      switch (u[i]) {
      case 0: e = "\\0"; break;
      case '\a': e = "\\a"; break;
      case '\b': e = "\\b"; break;
      case '\t': e = "\\t"; break;
      case '\n': e = "\\n"; break;
      case '\v': e = "\\v"; break;
      case '\f': e = "\\f"; break;
      case '\r': e = "\\r"; break;
      case 0x1B: e = "\\e"; break;
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      default:
        if (u[i] < 0x20 || u[i] == 0x7F) {
          snprintf(hex, sizeof hex, "\\x%02X", u[i]);
          e = hex;
        } else if (u[i] == 0xC2 && i + 1 < n && u[i + 1] == 0x85) {
          e = "\\N", skip = 1;
        } else if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && u[i + 2] == 0xA8) {
          e = "\\L", skip = 2;
        } else if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && u[i + 2] == 0xA9) {
          e = "\\P", skip = 2;
        } else if (u[i] == 0xEF && i + 2 < n && u[i + 1] == 0xBB && u[i + 2] == 0xBF) {
          e = "\\uFEFF", skip = 2;
        }
      }
      rc = e ? ob_puts(b, e) : ob_putc(b, (char)u[i]);
      if (rc) return rc;
      i += skip;
    }
    return ob_putc(b, '"');
  }
  if (ym_plain_ok(s, n)) return ob_put(b, s, n);
  if ((rc = ob_putc(b, '\''))) return rc;
  for (i = 0; i < n; i++) {
    if (s[i] == '\'' && (rc = ob_putc(b, '\''))) return rc;
    if ((rc = ob_putc(b, s[i]))) return rc;
  }
  return ob_putc(b, '\'');
}

static osiris_rc ym_emit_scalar(os_buf *b, const osiris_json *v) {
  char num[40];
  size_t n;
  osiris_rc rc;
  if (!v) return ob_puts(b, "null");
  switch (v->kind) {
  case OSIRIS_JSON_NULL: return ob_puts(b, "null");
  case OSIRIS_JSON_BOOL: return ob_puts(b, v->u.b ? "true" : "false");
  case OSIRIS_JSON_INT: return ob_printf(b, "%" PRId64, v->u.i);
  case OSIRIS_JSON_DOUBLE:
    if (isnan(v->u.d)) return ob_puts(b, ".nan");
    if (isinf(v->u.d)) return ob_puts(b, v->u.d < 0 ? "-.inf" : ".inf");
    n = js_fmt_double(num, sizeof num, v->u.d);
    if (!strchr(num, '.') && strchr(num, 'e')) {
      /* PyYAML writes 1e+16 as 1.0e+16: YAML 1.1 floats need a dot, so a
       * Python reader would take the bare form for a string. */
      char *e = strchr(num, 'e');
      if ((rc = ob_put(b, num, (size_t)(e - num)))) return rc;
      if ((rc = ob_puts(b, ".0"))) return rc;
      return ob_puts(b, e);
    }
    return ob_put(b, num, n);
  case OSIRIS_JSON_STRING: return ym_emit_str(b, v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len);
  case OSIRIS_JSON_ARRAY: return ob_puts(b, "[]");
  case OSIRIS_JSON_OBJECT: return ob_puts(b, "{}");
  }
  return OSIRIS_EINVAL;
}

static int ym_is_block(const osiris_json *v) {
  return v && (v->kind == OSIRIS_JSON_ARRAY || v->kind == OSIRIS_JSON_OBJECT) && v->u.c.n > 0;
}

static osiris_rc ym_indent(os_buf *b, int n) {
  osiris_rc rc = OSIRIS_OK;
  while (!rc && n-- > 0) rc = ob_putc(b, ' ');
  return rc;
}

static osiris_rc ym_emit_block(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                               int depth);

static osiris_rc ym_emit_map(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                             int depth) {
  js_keyidx *order = NULL;
  size_t i, n = v->u.c.n;
  osiris_rc rc = OSIRIS_OK;
  if (flags & YM_SORTED) {
    if (n > SIZE_MAX / sizeof *order) return OSIRIS_ENOMEM;
    order = os_malloc(n * sizeof *order);
    if (!order) return OSIRIS_ENOMEM;
    for (i = 0; i < n; i++) order[i].key = v->u.c.keys[i], order[i].idx = i;
    qsort(order, n, sizeof *order, js_cmp_keys);
  }
  for (i = 0; i < n; i++) {
    size_t idx = order ? order[i].idx : i;
    const osiris_json *val = v->u.c.items[idx];
    if ((i > 0 || !inl) && (rc = ym_indent(b, indent))) break;
    if ((rc = ym_emit_str(b, v->u.c.keys[idx], strlen(v->u.c.keys[idx])))) break;
    if ((rc = ob_putc(b, ':'))) break;
    if (ym_is_block(val)) {
      if ((rc = ob_putc(b, '\n'))) break;
      rc = ym_emit_block(b, val, val->kind == OSIRIS_JSON_OBJECT ? indent + 2 : indent, 0, flags,
                         depth + 1);
    } else {
      if (!(rc = ob_putc(b, ' ')) && !(rc = ym_emit_scalar(b, val))) rc = ob_putc(b, '\n');
    }
    if (rc) break;
  }
  os_free(order);
  return rc;
}

static osiris_rc ym_emit_seq(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                             int depth) {
  size_t i;
  osiris_rc rc = OSIRIS_OK;
  for (i = 0; i < v->u.c.n && !rc; i++) {
    const osiris_json *item = v->u.c.items[i];
    if ((i > 0 || !inl) && (rc = ym_indent(b, indent))) break;
    if ((rc = ob_put(b, "- ", 2))) break;
    if (ym_is_block(item))
      rc = ym_emit_block(b, item, indent + 2, 1, flags, depth + 1);
    else if (!(rc = ym_emit_scalar(b, item)))
      rc = ob_putc(b, '\n');
  }
  return rc;
}

static osiris_rc ym_emit_block(os_buf *b, const osiris_json *v, int indent, int inl, unsigned flags,
                               int depth) {
  if (depth > OS_MAX_DEPTH * 4) return OSIRIS_ELIMIT;
  if (v->kind == OSIRIS_JSON_OBJECT) return ym_emit_map(b, v, indent, inl, flags, depth);
  return ym_emit_seq(b, v, indent, inl, flags, depth);
}

static osiris_rc ym_emit(os_buf *b, const osiris_json *v, unsigned flags) {
  osiris_rc rc;
  if ((flags & YM_MARKERS) && (rc = ob_puts(b, "---\n"))) return rc;
  if (ym_is_block(v))
    rc = ym_emit_block(b, v, 0, 0, flags, 0);
  else if (!(rc = ym_emit_scalar(b, v)))
    rc = ob_putc(b, '\n');
  if (!rc && (flags & YM_MARKERS)) rc = ob_puts(b, "...\n");
  return rc;
}
