/* tests/test_remote.c -- section 16: worker line splitting, event -> step
 * state, Connect envelope parsing (split anywhere), base64, the connection
 * copy that turns secrets into environment references, path mapping, and
 * the exactly-once feed of a broken stream plus worker.out. */
#include "../osiris.c"
#include "harness.h"

static char tr_dir[256];
static osiris_ctx *tr_ctx;

/* A run with an open session and the sandbox adapter, no manifest. */
static rm_state *tr_state(osiris_run **out) {
  osiris_run *run = rn_new(tr_ctx);
  os_err err = {0};
  rm_state *rs;
  char sub[300];
  static int n;
  snprintf(sub, sizeof sub, "%s/s%d", tr_dir, n++);
  run->adapter = &rm_sandbox_adapter;
  if (ss_open_session(&run->ss, tr_ctx, NULL, sub, "sid", 0, -1, &err)) return NULL;
  rs = rm_state_new(run);
  rs->wdir = os_strdup("/w/session");
  *out = run;
  return rs;
}

static void tr_free(rm_state *rs, osiris_run *run) {
  rm_state_free(rs);
  rn_free(run);
}

static char *tr_file(osiris_run *run, const char *name) {
  char *path = os_path_join(run->ss.dir, name), *data = NULL;
  size_t len;
  if (path && os_read_file(path, &data, &len, NULL)) data = NULL;
  os_free(path);
  return data;
}

static void test_line_split_anywhere(void) {
  const char *text =
      "{\"type\":\"event\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"cleanup_start\"}\n"
      "{\"type\":\"metric\",\"ts\":\"T\",\"session\":\"sid\",\"metric\":\"m\",\"value\":1.5}\n"
      "{\"type\":\"response\",\"cmd\":\"cleanup\",\"ok\":true}\n"
      "{\"type\":\"log\",\"ts\":\"T\",\"session\":\"sid\",\"log\":\"osiris\",\"level\":\"INFO\",\"message\":\"hello\"}";
  size_t cut, n = strlen(text);
  for (cut = 1; cut < n; cut += 7) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    char *ev, *me, *lg;
    CHECK(rs != NULL);
    if (!rs) return;
    CHECK_RC(rm_feed(rs, 0, text, cut), OSIRIS_OK);
    CHECK_RC(rm_feed(rs, 0, text + cut, n - cut), OSIRIS_OK);
    rm_flush(rs); /* the last line has no newline */
    ev = tr_file(run, "events.jsonl");
    me = tr_file(run, "metrics.jsonl");
    lg = tr_file(run, "osiris.log");
    CHECK_STR(ev, "{\"ts\":\"T\",\"session\":\"sid\",\"event\":\"cleanup_start\"}\n");
    CHECK_STR(me, "{\"ts\":\"T\",\"session\":\"sid\",\"metric\":\"m\",\"value\":1.5}\n");
    CHECK(lg && strstr(lg, "INFO - hello"));
    CHECK(rs->got_cleanup == 1);
    os_free(ev);
    os_free(me);
    os_free(lg);
    tr_free(rs, run);
  }
}

/* An event's own "type" field: the prefixed form (two "type" keys) and the
 * older clobbered form both give the local line. */
static void test_event_with_own_type_field(void) {
  const char *want = "{\"ts\":\"T\",\"session\":\"sid\",\"event\":\"output_written\",\"step_id\":\"w\","
                     "\"path\":\"/host/o.csv\",\"type\":\"csv\",\"rows\":8,\"size_bytes\":117}\n";
  const char *lines[2] = {
      "{\"type\":\"event\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"output_written\",\"step_id\":\"w\","
      "\"path\":\"/elsewhere/o.csv\",\"type\":\"csv\",\"rows\":8,\"size_bytes\":117}\n",
      "{\"type\":\"csv\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"output_written\",\"step_id\":\"w\","
      "\"path\":\"/elsewhere/o.csv\",\"rows\":8,\"size_bytes\":117}\n"};
  int k;
  for (k = 0; k < 2; k++) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    char *ev;
    rm_add_map(rs, "/elsewhere/o.csv", "/host/o.csv"); /* a declared output */
    rm_feed(rs, 0, lines[k], strlen(lines[k]));
    ev = tr_file(run, "events.jsonl");
    CHECK_STR(ev, want);
    CHECK(osiris_json_size(rs->outputs) == 1);
    os_free(ev);
    tr_free(rs, run);
  }
}

static void test_secret_scrubbed_from_worker_lines(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  const char *line = "{\"type\":\"event\",\"event\":\"x\",\"error\":\"login as bob/hunter22 failed\"}\n";
  char *ev;
  ss_add_secret(&run->ss, "hunter22");
  rm_feed(rs, 0, line, strlen(line));
  ev = tr_file(run, "events.jsonl");
  CHECK(ev && !strstr(ev, "hunter22") && strstr(ev, "***MASKED***"));
  os_free(ev);
  tr_free(rs, run);
}

static void test_base64(void) {
  char out[64];
  size_t n = e2_b64_decode("bGluZSBvbmUK", 12, out);
  CHECK(n == 9 && memcmp(out, "line one\n", 9) == 0);
  n = e2_b64_decode("YQ==", 4, out);
  CHECK(n == 1 && out[0] == 'a');
  n = e2_b64_decode("YWI", 3, out);
  CHECK(n == 2 && memcmp(out, "ab", 2) == 0);
}

static void tr_envelope(os_buf *b, int flags, const char *json) {
  size_t n = strlen(json);
  unsigned char h[5];
  h[0] = (unsigned char)flags;
  h[1] = (unsigned char)(n >> 24);
  h[2] = (unsigned char)(n >> 16);
  h[3] = (unsigned char)(n >> 8);
  h[4] = (unsigned char)n;
  ob_put(b, h, 5);
  ob_put(b, json, n);
}

static void test_envelopes_split_anywhere(void) {
  os_buf s = {0};
  size_t slice;
  /* {"type":"event","event":"a"}\n split over two data events, mid-line */
  tr_envelope(&s, 0, "{\"event\":{\"start\":{\"pid\":4242}}}");
  tr_envelope(&s, 0, "{\"event\":{\"data\":{\"stdout\":\"eyJ0eXBlIjoiZXZlbnQiLCJldmVu\"}}}");
  tr_envelope(&s, 0, "{\"event\":{\"data\":{\"stderr\":\"b29wcwo=\"}}}");
  tr_envelope(&s, 0, "{\"event\":{\"keepalive\":{}}}");
  tr_envelope(&s, 0, "{\"event\":{\"data\":{\"stdout\":\"dCI6ImEifQo=\"}}}");
  tr_envelope(&s, 0, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
  tr_envelope(&s, 2, "{}");
  for (slice = 1; slice <= 13; slice += 3) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    size_t off;
    char *ev;
    rs->e2.status = 200;
    rs->e2.feed = 1;
    for (off = 0; off < s.len; off += slice) {
      size_t n = s.len - off < slice ? s.len - off : slice;
      CHECK(e2_stream_cb(s.p + off, 1, n, rs) == n);
    }
    CHECK(rs->e2.got_start && rs->e2.pid == 4242);
    CHECK(rs->e2.got_end && rs->e2.end_exit_code == 0); /* absent exitCode is 0 */
    CHECK(rs->e2.got_eos && !rs->e2.eos_error && !rs->e2.bad);
    ev = tr_file(run, "events.jsonl");
    CHECK_STR(ev, "{\"event\":\"a\"}\n");
    os_free(ev);
    ev = tr_file(run, "debug.log");
    CHECK(ev && strstr(ev, "worker stderr: oops"));
    os_free(ev);
    tr_free(rs, run);
  }
  ob_free(&s);
}

static void tr_b64(os_buf *b, const char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  for (i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)p[i] << 16;
    if (i + 1 < n) v |= (unsigned char)p[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)p[i + 2];
    ob_putc(b, tab[(v >> 18) & 63]);
    ob_putc(b, tab[(v >> 12) & 63]);
    ob_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
    ob_putc(b, i + 2 < n ? tab[v & 63] : '=');
  }
}

/* A stream that breaks after K bytes of stdout, then worker.out: every
 * line once, in order, wherever K falls (mid-line, on a newline, 0, all). */
static void test_reattach_feeds_each_line_once(void) {
  const char *text = "{\"type\":\"event\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"one\"}\n"
                     "{\"type\":\"event\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"two\"}\n"
                     "{\"type\":\"event\",\"ts\":\"T\",\"session\":\"sid\",\"event\":\"three\"}\n"
                     "{\"type\":\"response\",\"cmd\":\"cleanup\",\"ok\":true}\n";
  const char *want = "{\"ts\":\"T\",\"session\":\"sid\",\"event\":\"one\"}\n"
                     "{\"ts\":\"T\",\"session\":\"sid\",\"event\":\"two\"}\n"
                     "{\"ts\":\"T\",\"session\":\"sid\",\"event\":\"three\"}\n";
  size_t n = strlen(text), k;
  char *copy = os_path_join(tr_dir, "worker.out.copy");
  os_err err = {0};
  CHECK_RC(os_write_file(copy, text, n, &err), OSIRIS_OK);
  for (k = 0; k <= n; k += (k < 70 ? 1 : 9)) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    os_buf s = {0}, j = {0};
    size_t half = k / 2, part;
    int64_t rest = -1;
    char *ev;
    rs->e2.status = 200;
    rs->e2.feed = 1;
    tr_envelope(&s, 0, "{\"event\":{\"start\":{\"pid\":7}}}");
    for (part = 0; part < 2; part++) { /* two data events, split mid-line */
      const char *from = text + (part ? half : 0);
      size_t len = part ? k - half : half;
      if (!len) continue;
      j.len = 0;
      ob_puts(&j, "{\"event\":{\"data\":{\"stdout\":\"");
      tr_b64(&j, from, len);
      ob_puts(&j, "\"}}}");
      ob_putc(&j, 0);
      tr_envelope(&s, 0, j.p);
    }
    /* half an envelope, then the connection breaks */
    CHECK(e2_stream_cb(s.p, 1, s.len, rs) == s.len);
    CHECK(e2_stream_cb("\0\0\0\0\x40{\"ev", 1, 9, rs) == 9);
    CHECK(rs->e2.out_fed == (int64_t)k);
    CHECK(e2_dropped(rs, OSIRIS_EIO));
    CHECK_RC(e2_feed_file(rs, copy, &rest, &err), OSIRIS_OK);
    CHECK(rest == (int64_t)(n - k) && rs->e2.out_fed == (int64_t)n);
    rm_flush(rs);
    ev = tr_file(run, "events.jsonl");
    CHECK_STR(ev, want);
    CHECK(rs->got_cleanup == 1);
    os_free(ev);
    ob_free(&s);
    ob_free(&j);
    tr_free(rs, run);
  }
  { /* a file shorter than what the stream delivered is not that stream's */
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    int64_t rest;
    rs->e2.out_fed = (int64_t)n + 1;
    CHECK(e2_feed_file(rs, copy, &rest, &err) == OSIRIS_EIO && strstr(err.msg, "fewer than"));
    tr_free(rs, run);
  }
  { /* no reattaching without a pid, after Ctrl-C or a server-reported error */
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    CHECK(!e2_dropped(rs, OSIRIS_EIO));
    rs->e2.have_pid = 1;
    CHECK(e2_dropped(rs, OSIRIS_EIO) && !e2_dropped(rs, OSIRIS_ECANCEL));
    rs->e2.eos_error = 1;
    CHECK(!e2_dropped(rs, OSIRIS_EIO));
    tr_free(rs, run);
  }
  unlink(copy);
  os_free(copy);
}

static void test_end_stream_error_and_exit_code(void) {
  os_buf s = {0};
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  tr_envelope(&s, 0, "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,\"status\":\"exit status 3\"}}}");
  tr_envelope(&s, 2, "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"too slow\"}}");
  rs->e2.status = 200;
  CHECK(e2_stream_cb(s.p, 1, s.len, rs) == s.len);
  CHECK(rs->e2.end_exit_code == 3);
  CHECK(rs->e2.eos_error && strstr(rs->e2.eos_msg, "deadline_exceeded: too slow"));
  /* an exit code beyond int saturates: 2^32 was cast to int, 0, success */
  {
    static const char *const codes[][2] = {{"4294967296", "1"}, {"-4294967296", "1"}, {"1e300", "1"},
                                           {"\"0\"", "1"}, {"0.5", "1"}, {"0", "0"}};
    size_t i;
    for (i = 0; i < sizeof codes / sizeof *codes; i++) {
      os_buf b = {0};
      char *msg = os_asprintf("{\"event\":{\"end\":{\"exitCode\":%s}}}", codes[i][0]);
      osiris_run *run2;
      rm_state *rs2 = tr_state(&run2);
      tr_envelope(&b, 0, msg);
      rs2->e2.status = 200;
      CHECK(e2_stream_cb(b.p, 1, b.len, rs2) == b.len);
      CHECK(rs2->e2.got_end && (rs2->e2.end_exit_code != 0) == (codes[i][1][0] == '1'));
      tr_free(rs2, run2);
      ob_free(&b);
      os_free(msg);
    }
  }
  /* an oversized envelope is refused, not allocated */
  {
    unsigned char big[5] = {0, 0x7f, 0xff, 0xff, 0xff};
    rs->e2.env_buf.len = 0;
    CHECK(e2_stream_cb((char *)big, 1, 5, rs) == 0 && rs->e2.bad);
  }
  ob_free(&s);
  tr_free(rs, run);
}

static void test_error_body_not_parsed(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  const char *body = "{\"sandboxId\":\"x\",\"message\":\"The sandbox was not found\",\"code\":502}";
  char d[200];
  rs->e2.status = 502;
  CHECK(e2_stream_cb((char *)body, 1, strlen(body), rs) == strlen(body));
  e2_describe(&rs->e2.err_body, d, sizeof d);
  CHECK_STR(d, "The sandbox was not found");
  tr_free(rs, run);
}

static void test_connection_copy(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  osiris_json *doc = NULL, *copy;
  os_err err = {0};
  osiris_rc rc = OSIRIS_OK;
  int oom = 0;
  const char *yaml = "mysql:\n  db:\n    host: ${TR_HOST:-h1}\n    port: 3306\n"
                     "    password: ${TR_PW}\n    dsn: mysql://u:${TR_PW}@h/d\n"
                     "    other: ${TR_UNSET_VAR}\n";
  char *clean;
  setenv("TR_PW", "pw-secret-1", 1);
  unsetenv("TR_UNSET_VAR");
  unsetenv("TR_HOST");
  CHECK_RC(ym_parse(yaml, strlen(yaml), "t.yaml", &doc, &err), OSIRIS_OK);
  copy = rm_conn_copy(rs, doc, NULL, 0, &rc);
  CHECK(copy != NULL);
  if (copy) {
    const osiris_json *db = osiris_json_get(osiris_json_get(copy, "mysql"), "db");
    CHECK_STR(js_gets(db, "host"), "h1");
    CHECK(osiris_json_int(osiris_json_get(db, "port"), 0) == 3306);
    CHECK_STR(js_gets(db, "password"), "${OSIRIS_SECRET_0}");
    CHECK_STR(js_gets(db, "dsn"), "${OSIRIS_SECRET_1}");
    CHECK_STR(js_gets(db, "other"), "${TR_UNSET_VAR}"); /* the worker reports it unset */
    CHECK_STR(js_gets(rs->envs, "OSIRIS_SECRET_0"), "pw-secret-1");
    CHECK_STR(js_gets(rs->envs, "OSIRIS_SECRET_1"), "mysql://u:pw-secret-1@h/d");
  }
  clean = ss_scrub(&run->ss, "x pw-secret-1 y", 15, NULL, &oom);
  CHECK(clean && strstr(clean, "***MASKED***"));
  os_free(clean);
  osiris_json_free(copy);
  osiris_json_free(doc);
  tr_free(rs, run);
}

static void test_paths_and_names(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  char *h;
  rm_add_map(rs, "/w/session/_files/2/out.csv", "/abs/out.csv");
  h = rm_host_path(rs, "/w/session/_files/2/out.csv");
  CHECK_STR(h, "/abs/out.csv");
  os_free(h);
  /* Only declared outputs map, even inside the worker's directory. */
  CHECK(rm_host_path(rs, "/w/session/output/x.csv") == NULL);
  CHECK(rm_host_path(rs, "/w/session/_files/2/../../../victim") == NULL);
  CHECK(rm_host_path(rs, "/elsewhere/x.csv") == NULL);
  CHECK(rm_below("/a/b/c", "/a/b") != NULL && rm_below("/a/bc", "/a/b") == NULL);
  CHECK(rm_rc_from_name("OSIRIS_ECONN") == OSIRIS_ECONN);
  CHECK(rm_rc_from_name("nonsense") == OSIRIS_EDRIVER);
  CHECK(osiris_adapter_find(tr_ctx, "sandbox") != NULL);
  CHECK(osiris_adapter_find(tr_ctx, "e2b") != NULL);
  tr_free(rs, run);
}

static void test_e2b_needs_key(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  os_err err = {0};
  char *saved = getenv("E2B_API_KEY") ? os_strdup(getenv("E2B_API_KEY")) : NULL;
  unsetenv("E2B_API_KEY");
  rs->tp = &rm_e2b;
  CHECK(e2_open(rs, &err) != OSIRIS_OK && strstr(err.msg, "E2B_API_KEY"));
  if (saved) setenv("E2B_API_KEY", saved, 1);
  os_free(saved);
  tr_free(rs, run);
}

/* What a worker says is checked before it is believed. */
static void test_untrusted_worker_lines(void) {
  static const char *const bad_outputs[] = {"/w/session/../victim/t.txt", "/w/session/other.csv",
                                            "/etc/passwd"};
  static const char *const bad_artifacts[] = {"/etc/shadow", "../x", "artifacts/../../x",
                                              "artifacts/nostep/f", "artifacts//f", ""};
  size_t k;
  for (k = 0; k < sizeof bad_outputs / sizeof *bad_outputs; k++) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    char line[512], *ev;
    snprintf(line, sizeof line, "{\"type\":\"event\",\"event\":\"output_written\",\"path\":\"%s\"}\n",
             bad_outputs[k]);
    CHECK(rm_feed(rs, 0, line, strlen(line)) != OSIRIS_OK);
    CHECK(rs->refused && strstr(rs->error, "refused") && strstr(rs->error, bad_outputs[k]));
    CHECK(osiris_json_size(rs->outputs) == 0);
    ev = tr_file(run, "events.jsonl");
    CHECK(!ev || !strstr(ev, "output_written")); /* not written as if believed */
    os_free(ev);
    tr_free(rs, run);
  }
  for (k = 0; k < sizeof bad_artifacts / sizeof *bad_artifacts; k++) {
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    char line[512];
    snprintf(line, sizeof line, "{\"type\":\"event\",\"event\":\"artifact_created\",\"path\":\"%s\"}\n",
             bad_artifacts[k]);
    rm_feed(rs, 0, line, strlen(line));
    CHECK(rs->refused && strstr(rs->error, "refused"));
    tr_free(rs, run);
  }
  { /* caps on lines and line length */
    osiris_run *run;
    rm_state *rs = tr_state(&run);
    const char *l = "{\"type\":\"log\",\"level\":\"INFO\",\"message\":\"x\"}\n";
    rs->caps.lines = 2;
    CHECK_RC(rm_feed(rs, 0, l, strlen(l)), OSIRIS_OK);
    CHECK_RC(rm_feed(rs, 0, l, strlen(l)), OSIRIS_OK);
    CHECK(rm_feed(rs, 0, l, strlen(l)) != OSIRIS_OK && strstr(rs->error, "OSIRIS_REMOTE_MAX_EVENTS"));
    tr_free(rs, run);
    rs = tr_state(&run);
    rs->caps.line_bytes = 10;
    CHECK(rm_feed(rs, 0, "0123456789", 10) == OSIRIS_OK); /* not yet longer */
    CHECK(rm_feed(rs, 0, "A", 1) != OSIRIS_OK && strstr(rs->error, "OSIRIS_REMOTE_MAX_LINE_BYTES"));
    tr_free(rs, run);
  }
  { /* counts from a worker saturate instead of overflowing */
    osiris_json *big = osiris_json_new_double(1e300), *neg = osiris_json_new_double(-5);
    CHECK(rm_count(big) == INT64_C(4611686018427387904));
    CHECK(rm_count(neg) == 0);
    CHECK(os_sat_add(INT64_MAX - 1, 5) == INT64_MAX);
    CHECK(os_sat_add(INT64_MAX, INT64_MAX) == INT64_MAX); /* two steps' totals */
    CHECK(os_sat_add(INT64_MIN + 1, -5) == INT64_MIN && os_sat_add(3, -5) == -2);
    osiris_json_free(big);
    osiris_json_free(neg);
  }
}

static void test_paths_and_urls(void) {
  CHECK(rm_rel_ok("artifacts/s/f.json") && rm_rel_ok("a"));
  CHECK(!rm_rel_ok("") && !rm_rel_ok("/a") && !rm_rel_ok("a//b") && !rm_rel_ok("a/./b") &&
        !rm_rel_ok("a/../b") && !rm_rel_ok("..") && !rm_rel_ok("a/"));
  CHECK(osiris_url_is_secure("https://api.e2b.app") && osiris_url_is_secure("http://127.0.0.1:4000/x") &&
        osiris_url_is_secure("http://localhost") && osiris_url_is_secure("http://[::1]:80"));
  CHECK(!osiris_url_is_secure("http://api.e2b.app") && !osiris_url_is_secure("http://127.0.0.1.evil.com/") &&
        !osiris_url_is_secure("http://localhost.evil.com") && !osiris_url_is_secure("http://127.0.0.1@evil.com/") &&
        !osiris_url_is_secure("ftp://x") && !osiris_url_is_secure(NULL) && !osiris_url_is_secure("http://[::1].x"));
}

/* Plain http to a non-loopback endpoint: refused before any request,
 * allowed only with the opt-in (and then a security_warning event). */
static void test_e2b_endpoint_policy(void) {
  osiris_run *run;
  rm_state *rs = tr_state(&run);
  os_err err = {0};
  char *ev;
  setenv("E2B_API_KEY", "e2b_test_key", 1);
  setenv("E2B_API_URL", "http://api.example.com", 1);
  unsetenv("OSIRIS_ALLOW_INSECURE_HTTP");
  rs->tp = &rm_e2b;
  CHECK(e2_open(rs, &err) == OSIRIS_EUSAGE && strstr(err.msg, "https is required") &&
        strstr(err.msg, "OSIRIS_ALLOW_INSECURE_HTTP"));
  tr_free(rs, run);
  rs = tr_state(&run);
  rs->tp = &rm_e2b;
  memset(&err, 0, sizeof err);
  setenv("OSIRIS_ALLOW_INSECURE_HTTP", "1", 1);
  os_free(rs->wdir); /* e2_open sets the sandbox's own */
  rs->wdir = NULL;
  CHECK_RC(e2_open(rs, &err), OSIRIS_OK);
  ev = tr_file(run, "events.jsonl");
  CHECK(ev && strstr(ev, "security_warning") && strstr(ev, "E2B_API_URL"));
  os_free(ev);
  if (rs->scratch) rm_rmtree(rs->scratch);
  tr_free(rs, run);
  unsetenv("OSIRIS_ALLOW_INSECURE_HTTP");
  unsetenv("E2B_API_URL");
  unsetenv("E2B_API_KEY");
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(tr_dir, sizeof tr_dir, "%s/osiris-test-remote-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tr_dir)) return 1;
  tr_ctx = osiris_ctx_new(tr_dir);
  if (!osiris_adapter_find(tr_ctx, "sandbox")) rm_register_adapters(tr_ctx);
  RUN(test_line_split_anywhere);
  RUN(test_event_with_own_type_field);
  RUN(test_secret_scrubbed_from_worker_lines);
  RUN(test_base64);
  RUN(test_envelopes_split_anywhere);
  RUN(test_reattach_feeds_each_line_once);
  RUN(test_end_stream_error_and_exit_code);
  RUN(test_error_body_not_parsed);
  RUN(test_connection_copy);
  RUN(test_paths_and_names);
  RUN(test_e2b_needs_key);
  RUN(test_untrusted_worker_lines);
  RUN(test_paths_and_urls);
  RUN(test_e2b_endpoint_policy);
  osiris_ctx_free(tr_ctx);
  rm_rmtree(tr_dir);
  return th_report();
}
