/* tests/fuzz/fuzz.c -- libFuzzer targets for the parsers of untrusted bytes.
 *
 * One binary for every target (one compile of the engine): `make fuzz`
 * builds tests/bin/fuzz/osiris_fuzz with clang
 * -fsanitize=fuzzer,address,undefined, and OSIRIS_FUZZ_TARGET=<name> picks
 * the target.  Seeds are in tests/fuzz/<name>/; tests/fuzz/run.sh replays
 * them and fuzzes each target briefly.
 *
 *   json        osiris_json_parse, and dump -> parse gives an equal tree
 *   yaml        the YAML reader, and emit -> read gives an equal tree
 *   oml         osiris_validate of a pipeline file
 *   conn        osiris_connections.yaml + .env + ${VAR} resolution
 *   csv         osiris_csv_read with type inference
 *   parquet     osiris_parquet_read
 *   manifest    the compiled-manifest loader
 *   commands    the worker's command reader (osiris_worker_run)
 *   lines       the worker's stdout lines as the host reads them
 *   envelope    the E2B Connect envelope stream
 *
 * Targets that take a path write the input to a file under $TMPDIR (or
 * /dev/shm when writable) first. */
#include "../../osiris.c"
#include "../../drivers.c"

static char fz_dir[256];
static osiris_ctx *fz_ctx;

enum { FZ_JSON, FZ_YAML, FZ_OML, FZ_CONN, FZ_CSV, FZ_PARQUET, FZ_MANIFEST, FZ_COMMANDS, FZ_LINES,
       FZ_ENVELOPE };
static const char *const fz_names[] = {"json", "yaml", "oml", "conn", "csv", "parquet", "manifest",
                                       "commands", "lines", "envelope", NULL};
static int fz_target = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *t = getenv("OSIRIS_FUZZ_TARGET");
  int i;
  (void)argc;
  (void)argv;
  for (i = 0; t && fz_names[i]; i++)
    if (strcmp(t, fz_names[i]) == 0) fz_target = i;
  if (fz_target < 0) {
    fprintf(stderr, "set OSIRIS_FUZZ_TARGET to one of: json yaml oml conn csv parquet manifest "
                    "commands lines envelope\n");
    exit(2);
  }
  return 0;
}

static void fz_init(void) {
  const char *tmp = getenv("TMPDIR");
  if (fz_dir[0]) return;
  snprintf(fz_dir, sizeof fz_dir, "%s/osiris-fuzz-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(fz_dir)) abort();
  setenv("OSIRIS_STREAM", "0", 1);
  fz_ctx = osiris_ctx_new(fz_dir);
  if (!fz_ctx || osiris_register_builtin_drivers(fz_ctx)) abort();
}

static void fz_write(const char *name, const uint8_t *d, size_t n, char *path, size_t cap) {
  int fd;
  snprintf(path, cap, "%s/%s", fz_dir, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) abort();
  ss_write_all(fd, (const char *)d, n);
  close(fd);
}

/* A remote run state with an open session whose files are /dev/null, so
 * that millions of lines do not fill a disk. */
static rm_state *fz_rm_state(osiris_run **out) {
  osiris_run *run = rn_new(fz_ctx);
  os_err err = {0};
  rm_state *rs;
  char sub[300];
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  snprintf(sub, sizeof sub, "%s/session", fz_dir);
  run->adapter = osiris_adapter_find(fz_ctx, "sandbox");
  if (ss_open_session(&run->ss, fz_ctx, NULL, sub, "sid", 0, -1, &err)) abort();
  dup2(null, run->ss.events_fd);
  dup2(null, run->ss.metrics_fd);
  dup2(null, run->ss.log_fd);
  close(null);
  rs = rm_state_new(run);
  if (!rs) abort();
  rs->wdir = os_strdup("/w/session");
  rm_add_map(rs, "/w/session/out/o.csv", "/h/out/o.csv");
  *out = run;
  return rs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[600];
  fz_init();
  (void)path;
  if (fz_target == FZ_JSON)
  {
    osiris_json *v = NULL, *back = NULL;
    if (osiris_json_parse((const char *)data, size, &v, NULL, 0) == OSIRIS_OK) {
      size_t n = 0;
      char *s = osiris_json_dump(v, 0, &n);
      /* what we write, we read back as the same tree */
      if (s && (osiris_json_parse(s, n, &back, NULL, 0) != OSIRIS_OK || !js_equal(v, back))) abort();
      osiris_free(s);
    }
    osiris_json_free(v);
    osiris_json_free(back);
  }
  else if (fz_target == FZ_YAML)
  {
    osiris_json *v = NULL, *back = NULL;
    os_err err = {0};
    if (ym_parse((const char *)data, size, "fuzz.yaml", &v, &err) == OSIRIS_OK) {
      os_buf b = {0};
      if (ym_emit(&b, v, 0) == OSIRIS_OK) {
        os_err e2 = {0};
        if (ym_parse(b.p ? b.p : "", b.len, "emitted.yaml", &back, &e2) != OSIRIS_OK || !js_equal(v, back))
          abort();
      }
      ob_free(&b);
    }
    osiris_json_free(v);
    osiris_json_free(back);
  }
  else if (fz_target == FZ_OML)
  {
    osiris_json *report = NULL;
    fz_write("pipeline.yaml", data, size, path, sizeof path);
    osiris_validate(fz_ctx, path, &report);
    osiris_json_free(report);
  }
  else if (fz_target == FZ_CONN)
  {
    /* "<connections yaml>\0<.env>": a fresh context reads both */
    const uint8_t *z = memchr(data, 0, size);
    size_t n1 = z ? (size_t)(z - data) : size;
    osiris_ctx *ctx;
    osiris_json *conn = NULL;
    os_err err = {0};
    fz_write("osiris_connections.yaml", data, n1, path, sizeof path);
    fz_write(".env", z ? z + 1 : data, z ? size - n1 - 1 : 0, path, sizeof path);
    ctx = osiris_ctx_new(fz_dir);
    if (ctx) {
      static const char *const refs[][2] = {{"@mysql.db", "mysql"}, {"@postgres", "postgres"},
                                            {NULL, "supabase"}, {"@filesystem.x", "filesystem"}};
      size_t k;
      for (k = 0; k < sizeof refs / sizeof *refs; k++) {
        cn_resolve(ctx, refs[k][0], refs[k][1], &conn, NULL, &err);
        osiris_json_free(conn);
        conn = NULL;
      }
      osiris_ctx_free(ctx);
    }
  }
  else if (fz_target == FZ_CSV)
  {
    char err[256];
    osiris_frame *f = NULL;
    fz_write("in.csv", data, size, path, sizeof path);
    osiris_csv_read(path, NULL, &f, err, sizeof err);
    osiris_frame_free(f);
  }
  else if (fz_target == FZ_PARQUET)
  {
    char err[256];
    osiris_frame *f = NULL;
    fz_write("in.parquet", data, size, path, sizeof path);
    osiris_parquet_read(path, &f, err, sizeof err);
    osiris_frame_free(f);
  }
  else if (fz_target == FZ_MANIFEST)
  {
    mf_manifest *m = NULL;
    os_err err = {0};
    fz_write("manifest.yaml", data, size, path, sizeof path);
    if (mf_load(path, &m, &err) == OSIRIS_OK) {
      size_t *order = m->n_steps ? os_calloc(m->n_steps, sizeof *order) : NULL;
      if (order) mf_order(m, order, &err);
      os_free(order);
    }
    mf_free(m);
  }
  else if (fz_target == FZ_COMMANDS)
  {
    char session[600];
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fz_write("commands.jsonl", data, size, path, sizeof path);
    snprintf(session, sizeof session, "%s/worker", fz_dir);
    osiris_worker_run(fz_ctx, path, session, null);
    close(null);
  }
  else if (fz_target == FZ_LINES)
  {
    /* the first byte says where the stream is cut in two reads */
    osiris_run *run;
    rm_state *rs = fz_rm_state(&run);
    size_t cut = size ? data[0] % (size) : 0;
    if (size) {
      rm_feed(rs, 0, (const char *)data + 1, cut ? cut - 1 : 0);
      rm_feed(rs, cut & 1, (const char *)data + (cut ? cut : 1), size - (cut ? cut : 1));
    }
    rm_flush(rs);
    rm_state_free(rs);
    rn_free(run);
  }
  else if (fz_target == FZ_ENVELOPE)
  {
    osiris_run *run;
    rm_state *rs = fz_rm_state(&run);
    size_t half = size / 2;
    rs->e2.status = 200;
    rs->e2.feed = 1;
    if (e2_stream_cb((char *)data, 1, half, rs) == half)
      e2_stream_cb((char *)data + half, 1, size - half, rs);
    rm_flush(rs);
    rm_state_free(rs);
    rn_free(run);
  }
  return 0;
}
