/* Unit tests of osiris_step_http and osiris_http (section 16, HTTP for
 * drivers): the retry policy against a scripted HTTP server on loopback (a thread of this
 * program), Retry-After, cancellation during a transfer and during a wait,
 * the refusals (plain http elsewhere, other schemes), the size cap, that
 * no credential reaches any file of the run, a driver's own retry event
 * name, and the step-less osiris_http (same loop, its message masked). */
#include "../osiris.c"
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define TOKEN "sekrit-token-4711"
#define QSECRET "qsecret-0815"

/* ---- the scripted server: one response per connection, in order ---- */

typedef struct ts_resp {
  int status;          /* 0: close the connection without answering */
  const char *headers; /* extra header lines ("Retry-After: 1\r\n"), or NULL */
  const char *body;
  int hang;            /* cancel the context, then wait for the client to go */
} ts_resp;

static struct {
  int fd, port;
  pthread_t thread;
  const ts_resp *script;
  size_t n_script, served;
  char last_request[8192];
  int auth_seen;       /* requests that carried the bearer token */
  osiris_ctx *ctx;     /* cancelled by a hang response */
} srv;

static void ts_read_request(int c) {
  size_t n = 0;
  ssize_t r;
  char *end;
  long clen = 0;
  srv.last_request[0] = 0;
  while (n + 1 < sizeof srv.last_request) {
    r = recv(c, srv.last_request + n, sizeof srv.last_request - 1 - n, 0);
    if (r <= 0) break;
    n += (size_t)r;
    srv.last_request[n] = 0;
    end = strstr(srv.last_request, "\r\n\r\n");
    if (end) {
      char *cl = strcasestr(srv.last_request, "Content-Length:");
      if (cl && cl < end) clen = strtol(cl + 15, NULL, 10);
      if ((long)(n - (size_t)(end + 4 - srv.last_request)) >= clen) break;
    }
  }
  if (strstr(srv.last_request, "Authorization: Bearer " TOKEN)) srv.auth_seen++;
}

static void *ts_main(void *arg) {
  (void)arg;
  for (;;) {
    int c = accept(srv.fd, NULL, NULL);
    const ts_resp *r;
    char head[512];
    if (c < 0) return NULL;
    ts_read_request(c);
    r = srv.served < srv.n_script ? &srv.script[srv.served] : NULL;
    srv.served++;
    if (r && r->hang) {
      char b[64];
      struct pollfd p = {c, POLLIN, 0};
      osiris_ctx_cancel(srv.ctx);
      /* held here until the client gives up the transfer (bounded) */
      while (poll(&p, 1, 30000) > 0 && recv(c, b, sizeof b, 0) > 0) {
      }
    } else if (r && r->status) {
      const char *body = r->body ? r->body : "";
      int n = snprintf(head, sizeof head,
                       "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                       r->status, strlen(body), r->headers ? r->headers : "");
      if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
          send(c, body, strlen(body), MSG_NOSIGNAL) < 0) {
        /* the client went away: its problem */
      }
      if (r->hang == 0 && r->headers && strstr(r->headers, "X-Cancel")) osiris_ctx_cancel(srv.ctx);
    }
    close(c);
  }
}

static void ts_start(void) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int one = 1;
  srv.fd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(srv.fd, (struct sockaddr *)&a, sizeof a);
  listen(srv.fd, 16);
  getsockname(srv.fd, (struct sockaddr *)&a, &len);
  srv.port = ntohs(a.sin_port);
  pthread_create(&srv.thread, NULL, ts_main, NULL);
}

/* ---- a driver that makes one request as the test describes it ---- */

static struct {
  osiris_http_req req;
  const char *headers[4];
  char url[256];
  osiris_rc rc;
  long status;
  char body[256];
  int sent;
} call;

static osiris_rc http_driver(osiris_step *s) {
  osiris_buf b = {0};
  call.req.sent = &call.sent;
  call.rc = osiris_step_http(s, &call.req, &call.status, &b);
  snprintf(call.body, sizeof call.body, "%s", b.p ? b.p : "(null)");
  osiris_buf_free(&b);
  /* what a driver does with an error body: into the step's message */
  if (!call.rc && call.status >= 400)
    return osiris_step_fail(s, OSIRIS_EDRIVER, "HTTP %ld: %s", call.status, call.body);
  return call.rc;
}

static const osiris_driver drv_http = {"test.http", "", "extract", "h", NULL, http_driver, NULL,
                                       OSIRIS_DRIVER_CONN_OPTIONAL};

static char tmp_root[256];

/* Run the one-step pipeline in a fresh directory; returns the run dir
 * (static) and the run's code. */
static osiris_rc run_case(const char *name, const ts_resp *script, size_t n, char *run_dir,
                          size_t cap) {
  char dir[400], path[500];
  os_err err = {0};
  osiris_run *run = NULL;
  osiris_rc rc;
  const char *m = "pipeline:\n  id: p\nmeta:\n  profile: ''\nsteps:\n"
                  "- id: get\n  driver: test.http\n  cfg_path: cfg/get.json\n  needs: []\n";
  snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
  snprintf(path, sizeof path, "%s/compiled/cfg", dir);
  os_mkdir_p(path, &err);
  snprintf(path, sizeof path, "%s/compiled/manifest.yaml", dir);
  os_write_file(path, m, strlen(m), &err);
  snprintf(path, sizeof path, "%s/compiled/cfg/get.json", dir);
  os_write_file(path, "{\"component\":\"test.http\"}", 25, &err);
  srv.script = script;
  srv.n_script = n;
  srv.served = 0;
  srv.auth_seen = 0;
  srv.ctx = osiris_ctx_new(dir);
  osiris_register_driver(srv.ctx, &drv_http, NULL);
  call.rc = OSIRIS_EUSAGE;
  call.status = -1;
  call.body[0] = 0;
  call.sent = -1;
  rc = osiris_run_pipeline(srv.ctx, "compiled/manifest.yaml", NULL, &run);
  snprintf(run_dir, cap, "%s", run ? osiris_run_dir(run) : "");
  osiris_run_free(run);
  osiris_ctx_free(srv.ctx);
  srv.ctx = NULL;
  return rc;
}

static void base_req(const char *path_and_query) {
  memset(&call.req, 0, sizeof call.req);
  snprintf(call.url, sizeof call.url, "http://127.0.0.1:%d%s", srv.port, path_and_query);
  call.headers[0] = "Authorization: Bearer " TOKEN;
  call.headers[1] = "Accept: application/json";
  call.headers[2] = NULL;
  call.req.url = call.url;
  call.req.headers = call.headers;
  call.req.backoff_ms = 1;
  call.req.backoff_max_ms = 5;
  call.req.timeout_s = 30;
}

/* Every file under dir, concatenated (the test's runs are small). */
static void slurp_tree(const char *dir, os_buf *out) {
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) return;
  while ((e = readdir(d)) != NULL) {
    char *p;
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    p = os_path_join(dir, e->d_name);
    if (p && lstat(p, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        slurp_tree(p, out);
      } else if (S_ISREG(st.st_mode)) {
        char *data = NULL;
        size_t n = 0;
        os_err err = {0};
        if (!os_read_file(p, &data, &n, &err)) ob_put(out, data, n);
        os_free(data);
      }
    }
    os_free(p);
  }
  closedir(d);
}

static char *events_of(const char *run_dir) {
  char *p = os_path_join(run_dir, "events.jsonl"), *data = NULL;
  os_err err = {0};
  if (p) os_read_file(p, &data, NULL, &err);
  os_free(p);
  return data ? data : os_strdup("");
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (; hay && (hay = strstr(hay, needle)) != NULL; hay++) n++;
  return n;
}

static void no_secret_in(const char *dir) {
  os_buf all = {0};
  char root[400];
  snprintf(root, sizeof root, "%s", dir);
  slurp_tree(root, &all);
  CHECK(all.len > 0);
  CHECK(!all.p || !memmem(all.p, all.len, TOKEN, strlen(TOKEN)));
  CHECK(!all.p || !memmem(all.p, all.len, QSECRET, strlen(QSECRET)));
  ob_free(&all);
}

static void test_retry_then_success(void) {
  static const ts_resp script[] = {{503, NULL, "busy", 0}, {429, NULL, "slow down", 0},
                                   {200, NULL, "{\"ok\":true}", 0}};
  char run_dir[600];
  char *ev;
  base_req("/graphql");
  call.req.body = "{\"query\":\"{x}\"}";
  call.req.body_len = strlen(call.req.body);
  call.req.what = "page 1";
  CHECK_RC(run_case("retry_ok", script, 3, run_dir, sizeof run_dir), OSIRIS_OK);
  CHECK_RC(call.rc, OSIRIS_OK);
  CHECK(call.status == 200);
  CHECK_STR(call.body, "{\"ok\":true}");
  CHECK(call.sent == 3);
  CHECK(srv.served == 3);
  CHECK(srv.auth_seen == 3); /* the credential went with every attempt */
  CHECK(strstr(srv.last_request, "POST /graphql ") == srv.last_request);
  CHECK(strstr(srv.last_request, "Content-Type: application/json") != NULL);
  CHECK(strstr(srv.last_request, "{\"query\":\"{x}\"}") != NULL);
  ev = events_of(run_dir);
  CHECK(count(ev, "\"event\":\"http_retry\"") == 2);
  CHECK(strstr(ev, "\"http_status\":503") != NULL);
  CHECK(strstr(ev, "\"http_status\":429") != NULL);
  CHECK(strstr(ev, "\"request\":\"page 1\"") != NULL);
  os_free(ev);
  no_secret_in(run_dir);
}

static void test_retries_exhausted(void) {
  static const ts_resp script[] = {{503, NULL, "a", 0}, {502, NULL, "b", 0}, {500, NULL, "c", 0},
                                   {200, NULL, "never", 0}};
  char run_dir[600];
  char *ev;
  base_req("/x");
  call.req.attempts = 3;
  call.req.retry_event = "write.retry"; /* a driver's own name */
  CHECK_RC(run_case("exhausted", script, 4, run_dir, sizeof run_dir), OSIRIS_EDRIVER);
  CHECK_RC(call.rc, OSIRIS_OK); /* a response: the caller judges it (here: fails) */
  CHECK(call.status == 500);
  CHECK_STR(call.body, "c");
  CHECK(call.sent == 3);
  CHECK(srv.served == 3);
  ev = events_of(run_dir);
  CHECK(count(ev, "\"event\":\"write.retry\"") == 2);
  CHECK(count(ev, "\"event\":\"http_retry\"") == 0);
  CHECK(strstr(ev, "\"http_status\":502") != NULL);
  os_free(ev);
}

static void test_4xx_final(void) {
  /* The server echoes the token and the words of another header's value:
   * the token is scrubbed from the step's message, the words are not (the
   * whole value "hello world" would be). */
  static const ts_resp script[] = {{401, NULL, "bad token " TOKEN " for hello, world", 0},
                                   {200, NULL, "", 0}};
  char run_dir[600];
  char *ev;
  base_req("/x");
  call.headers[1] = "X-Note: hello world";
  CHECK_RC(run_case("final4xx", script, 2, run_dir, sizeof run_dir), OSIRIS_EDRIVER);
  CHECK(call.status == 401);
  CHECK(call.sent == 1);
  CHECK(srv.served == 1);
  CHECK(strstr(srv.last_request, "GET /x ") == srv.last_request);
  CHECK(strstr(srv.last_request, "X-Note: hello world") != NULL);
  ev = events_of(run_dir);
  CHECK(strstr(ev, "HTTP 401: bad token ***MASKED*** for hello, world") != NULL);
  os_free(ev);
  no_secret_in(run_dir);
}

static void test_network_errors(void) {
  static const ts_resp script[] = {{0, NULL, NULL, 0}, {0, NULL, NULL, 0}, {200, NULL, "", 0}};
  char run_dir[600], msg[300];
  char *ev;
  base_req("/x?api_key=" QSECRET "&page=2");
  call.req.attempts = 2;
  call.req.error = msg;
  call.req.error_cap = sizeof msg;
  CHECK_RC(run_case("neterr", script, 3, run_dir, sizeof run_dir), OSIRIS_EIO);
  CHECK_RC(call.rc, OSIRIS_EIO);
  CHECK(strstr(msg, "after 2 attempts") != NULL); /* the step's error, copied */
  CHECK(strstr(msg, "?api_key=***&page=***") != NULL);
  CHECK(call.sent == 2);
  CHECK(srv.served == 2);
  ev = events_of(run_dir);
  CHECK(count(ev, "\"event\":\"http_retry\"") == 1);
  CHECK(strstr(ev, "\"error\":") != NULL);
  CHECK(strstr(ev, "after 2 attempts") != NULL);      /* the step's error */
  CHECK(strstr(ev, "?api_key=***&page=***") != NULL); /* the URL as shown */
  os_free(ev);
  no_secret_in(run_dir);
}

static void test_retry_after(void) {
  static const ts_resp bounded[] = {{429, "Retry-After: 3600\r\n", "", 0}, {200, NULL, "ok", 0}};
  static const ts_resp honoured[] = {{503, "Retry-After: 1\r\n", "", 0}, {200, NULL, "ok", 0}};
  char run_dir[600];
  char *ev;
  double t0;
  base_req("/x");
  call.req.backoff_max_ms = 20; /* an hour asked, 20 ms allowed */
  CHECK_RC(run_case("retry_after_bounded", bounded, 2, run_dir, sizeof run_dir), OSIRIS_OK);
  CHECK(call.status == 200);
  ev = events_of(run_dir);
  CHECK(strstr(ev, "\"delay_ms\":20") != NULL);
  os_free(ev);
  base_req("/x");
  call.req.backoff_max_ms = 10000; /* the backoff alone would wait 1 ms */
  t0 = os_now_ms();
  CHECK_RC(run_case("retry_after", honoured, 2, run_dir, sizeof run_dir), OSIRIS_OK);
  CHECK(os_now_ms() - t0 >= 1000);
  CHECK(call.status == 200);
  ev = events_of(run_dir);
  CHECK(strstr(ev, "\"delay_ms\":1000") != NULL);
  os_free(ev);
}

static void test_cancel(void) {
  static const ts_resp hang[] = {{0, NULL, NULL, 1}};
  /* The server cancels the run once it has sent the 503: the wait of a
   * minute ends at once. */
  static const ts_resp wait[] = {{503, "X-Cancel: 1\r\n", "", 0}, {200, NULL, "", 0}};
  char run_dir[600];
  double t0;
  base_req("/x");
  CHECK_RC(run_case("cancel_transfer", hang, 1, run_dir, sizeof run_dir), OSIRIS_ECANCEL);
  CHECK_RC(call.rc, OSIRIS_ECANCEL);
  CHECK(call.sent == 1);
  base_req("/x");
  call.req.backoff_ms = 60000;
  call.req.backoff_max_ms = 60000;
  t0 = os_now_ms();
  CHECK_RC(run_case("cancel_wait", wait, 2, run_dir, sizeof run_dir), OSIRIS_ECANCEL);
  CHECK_RC(call.rc, OSIRIS_ECANCEL);
  CHECK(srv.served == 1);
  CHECK(os_now_ms() - t0 < 30000);
}

static void test_refusals(void) {
  char run_dir[600];
  char *ev;
  base_req("/x");
  snprintf(call.url, sizeof call.url, "http://example.invalid/graphql");
  unsetenv("OSIRIS_ALLOW_INSECURE_HTTP");
  CHECK_RC(run_case("plain_http", NULL, 0, run_dir, sizeof run_dir), OSIRIS_EINVAL);
  CHECK(call.sent == 0);
  ev = events_of(run_dir);
  CHECK(strstr(ev, "https is required") != NULL);
  os_free(ev);
  base_req("/x");
  snprintf(call.url, sizeof call.url, "ftp://127.0.0.1/x");
  CHECK_RC(run_case("ftp", NULL, 0, run_dir, sizeof run_dir), OSIRIS_EINVAL);
  base_req("/x");
  call.headers[0] = "no colon here";
  CHECK_RC(run_case("bad_header", NULL, 0, run_dir, sizeof run_dir), OSIRIS_EINVAL);
  CHECK(srv.served == 0);
}

static void test_size_cap(void) {
  static const ts_resp big[] = {{200, NULL, "0123456789012345678901234567890123456789", 0}};
  char run_dir[600];
  base_req("/x");
  call.req.max_response = 10;
  CHECK_RC(run_case("too_big", big, 1, run_dir, sizeof run_dir), OSIRIS_ELIMIT);
  CHECK_RC(call.rc, OSIRIS_ELIMIT);
}

/* osiris_http: no step, no run.  Retries as osiris_step_http does; a
 * failure's message comes back scrubbed of the request's credentials
 * (here the token also stands in the URL's path, so the raw message holds
 * it). */
static void test_stepless(void) {
  static const ts_resp retry[] = {{503, NULL, "busy", 0}, {200, NULL, "[1]", 0}};
  static const ts_resp drop[] = {{0, NULL, NULL, 0}, {0, NULL, NULL, 0}, {200, NULL, "", 0}};
  static const ts_resp big[] = {{200, NULL, "0123456789012345678901234567890123456789", 0}};
  osiris_buf b = {0};
  char err[400];
  long status = -1;
  int sent = -1;
  base_req("/rest/v1/");
  call.req.sent = &sent;
  srv.script = retry;
  srv.n_script = 2;
  srv.served = 0;
  srv.auth_seen = 0;
  CHECK_RC(osiris_http(&call.req, &status, &b, err, sizeof err), OSIRIS_OK);
  CHECK(status == 200);
  CHECK_STR(b.p, "[1]");
  CHECK_STR(err, "");
  CHECK(sent == 2);
  CHECK(srv.auth_seen == 2);
  base_req("/x/" TOKEN "?api_key=" QSECRET);
  call.req.attempts = 2;
  srv.script = drop;
  srv.n_script = 3;
  srv.served = 0;
  CHECK_RC(osiris_http(&call.req, &status, &b, err, sizeof err), OSIRIS_EIO);
  CHECK(status == 0);
  CHECK(srv.served == 2);
  CHECK(strstr(err, "GET http://127.0.0.1:") == err);
  CHECK(strstr(err, "after 2 attempts") != NULL);
  CHECK(strstr(err, "/x/***MASKED***?api_key=***") != NULL);
  CHECK(strstr(err, TOKEN) == NULL);
  CHECK(strstr(err, QSECRET) == NULL);
  base_req("/x");
  call.req.max_response = 10;
  srv.script = big;
  srv.n_script = 1;
  srv.served = 0;
  CHECK_RC(osiris_http(&call.req, &status, &b, err, sizeof err), OSIRIS_ELIMIT);
  CHECK(strstr(err, "larger than 10 bytes") != NULL);
  CHECK_RC(osiris_http(NULL, &status, &b, err, sizeof err), OSIRIS_EINVAL);
  osiris_buf_free(&b);
}

static void test_url_shown(void) {
  char out[200];
  ht_url_shown("https://user:pw@h.example:8443/a/b?token=t&x=1#frag", out, sizeof out);
  CHECK_STR(out, "https://***@h.example:8443/a/b?token=***&x=***");
  ht_url_shown("http://127.0.0.1/p", out, sizeof out);
  CHECK_STR(out, "http://127.0.0.1/p");
}

int main(void) {
  char tmpl[] = "/tmp/osiris-test-http-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  snprintf(tmp_root, sizeof tmp_root, "%s", tmpl);
  signal(SIGPIPE, SIG_IGN);
  ts_start();
  RUN(test_url_shown);
  RUN(test_retry_then_success);
  RUN(test_retries_exhausted);
  RUN(test_4xx_final);
  RUN(test_network_errors);
  RUN(test_retry_after);
  RUN(test_cancel);
  RUN(test_refusals);
  RUN(test_size_cap);
  RUN(test_stepless);
  rm_rmtree(tmp_root);
  return th_report();
}
