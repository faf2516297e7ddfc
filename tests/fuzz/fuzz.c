/* tests/fuzz/fuzz.c -- libFuzzer targets for the parsers of untrusted bytes.
 *
 * The engine is compiled once, here (tests/bin/fuzz/fuzz.o); each target
 * is tests/fuzz/target.c linked with it under the target's name, so
 * `make fuzz` gives tests/bin/fuzz/<target>, a plain libFuzzer binary.
 * Seeds, kept regression inputs and dictionaries are in tests/fuzz/<target>/
 * and tests/fuzz/<target>.dict; tests/fuzz/run.sh replays and fuzzes them.
 *
 *   json        osiris_json_parse, and dump -> parse gives an equal tree
 *   yaml        the YAML reader, and emit -> read gives an equal tree
 *   oml         osiris_validate_mem, and the compiler's resolve stage
 *               (params, profiles) on what validates
 *   conn        osiris_ctx_set_connections + osiris_ctx_set_dotenv, then
 *               every "@family.alias" of the file resolved with ${VAR};
 *               input "<connections yaml>\0<.env>"
 *   csv         osiris_csv_read_mem with type inference (the first byte
 *               picks the options), and write -> read gives the same frame
 *   parquet     osiris_parquet_read (a file: the reader seeks)
 *   manifest    the compiled-manifest loader and its step order
 *   commands    the worker's command reader (osiris_worker_run)
 *   lines       the worker's stdout lines as the host reads them
 *   envelope    the E2B Connect envelope stream
 *
 * Targets that take a path write the input to a file under /dev/shm (or
 * $TMPDIR) first. */
#include "../../osiris.c"
#include "../../drivers.c"

int fz_pick(const char *name);
int fz_one(int target, const uint8_t *data, size_t size);

static char fz_dir[256];
static osiris_ctx *fz_ctx;

enum { FZ_JSON, FZ_YAML, FZ_OML, FZ_CONN, FZ_CSV, FZ_PARQUET, FZ_MANIFEST, FZ_COMMANDS, FZ_LINES,
       FZ_ENVELOPE };
static const char *const fz_names[] = {"json", "yaml", "oml", "conn", "csv", "parquet", "manifest",
                                       "commands", "lines", "envelope", NULL};

/* A small connections file and .env for the oml target, so that
 * connection references are checked against something. */
static const char fz_conns[] =
    "version: 1\nconnections:\n  mysql:\n    db_movies:\n      host: localhost\n"
    "      database: movies\n      user: u\n      password: ${MYSQL_PASSWORD}\n      default: true\n"
    "  supabase:\n    main:\n      url: https://x.supabase.co\n      key: ${SUPABASE_KEY}\n"
    "  filesystem:\n    local:\n      base_path: ./data\n";
static const char fz_dotenv[] = "MYSQL_PASSWORD=pw\nSUPABASE_KEY=k\n";

int fz_pick(const char *name) {
  int i;
  for (i = 0; fz_names[i]; i++)
    if (strcmp(name, fz_names[i]) == 0) break;
  if (!fz_names[i]) abort();
  return i;
}

static void fz_cleanup(void) { rm_rmtree(fz_dir); }

static void fz_init(void) {
  const char *tmp = getenv("TMPDIR");
  if (fz_dir[0]) return;
  snprintf(fz_dir, sizeof fz_dir, "%s/osiris-fuzz-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(fz_dir)) abort();
  atexit(fz_cleanup);
  setenv("OSIRIS_STREAM", "0", 1);
  fz_ctx = osiris_ctx_new(fz_dir);
  if (!fz_ctx || osiris_register_builtin_drivers(fz_ctx)) abort();
  if (osiris_ctx_set_connections(fz_ctx, fz_conns, sizeof fz_conns - 1, NULL) ||
      osiris_ctx_set_dotenv(fz_ctx, fz_dotenv, sizeof fz_dotenv - 1))
    abort();
}

static void fz_write(const char *name, const uint8_t *d, size_t n, char *path, size_t cap) {
  int fd;
  snprintf(path, cap, "%s/%s", fz_dir, name);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) abort();
  { size_t done; if (ss_write_all(fd, (const char *)d, n, &done)) abort(); }
  close(fd);
}

/* The manifest of the remote run the lines and envelope targets feed: an
 * extract, a processor and two writers, so that the worker's counts reach
 * per-step and run totals. */
static const char fz_manifest_text[] =
    "meta:\n  manifest_hash: 3ac9cfeefa798acd63f2d1cc433ea6ba17d581b970053d710cb8ba8625a1488c\n"
    "  manifest_short: 3ac9cfe\n  oml_version: 0.1.0\n  profile: default\n"
    "name: fz\npipeline:\n  id: fz\n  version: 0.1.0\nsteps:\n"
    "- {id: extract, driver: filesystem.csv_extractor, component: filesystem.csv_extractor,"
    " cfg_path: cfg/extract.json, needs: []}\n"
    "- {id: x, driver: duckdb.processor, component: duckdb.processor, cfg_path: cfg/x.json,"
    " needs: [extract]}\n"
    "- {id: to-pq, driver: filesystem.parquet_writer, component: filesystem.parquet_writer,"
    " cfg_path: cfg/to-pq.json, needs: [x]}\n"
    "- {id: to-csv, driver: filesystem.csv_writer, component: filesystem.csv_writer,"
    " cfg_path: cfg/to-csv.json, needs: [x]}\n";

/* A remote run state with an open session whose files are /dev/null, so
 * that millions of lines do not fill a disk. */
static rm_state *fz_rm_state(osiris_run **out) {
  osiris_run *run = rn_new(fz_ctx);
  os_err err = {0};
  rm_state *rs;
  char sub[300], mpath[600];
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  snprintf(mpath, sizeof mpath, "%s/manifest/manifest.yaml", fz_dir);
  if (!os_is_file(mpath)) {
    snprintf(sub, sizeof sub, "%s/manifest", fz_dir);
    mkdir(sub, 0700);
    fz_write("manifest/manifest.yaml", (const uint8_t *)fz_manifest_text,
             sizeof fz_manifest_text - 1, mpath, sizeof mpath);
  }
  run->source_manifest = os_strdup(mpath);
  if (!run->source_manifest || rn_load(run, &err)) abort();
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

static void fz_json(const uint8_t *data, size_t size) {
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

static void fz_yaml(const uint8_t *data, size_t size) {
  osiris_json *v = NULL, *back = NULL;
  os_err err = {0};
  if (ym_parse((const char *)data, size, "fuzz.yaml", &v, &err) == OSIRIS_OK) {
    os_buf b = {0};
    if (ym_emit(&b, v, 0) == OSIRIS_OK) {
      os_err e2 = {0};
      if (ym_parse(b.p ? b.p : "", b.len, "emitted.yaml", &back, &e2) != OSIRIS_OK ||
          !js_equal(v, back))
        abort();
    }
    ob_free(&b);
  }
  osiris_json_free(v);
  osiris_json_free(back);
}

static void fz_oml(const uint8_t *data, size_t size) {
  static const char *const params[] = {"db=movies", "limit=10", NULL};
  osiris_json *report = NULL, *doc = NULL, *eff = NULL;
  cp_state st;
  os_err err = {0};
  if (osiris_validate_mem(fz_ctx, (const char *)data, size, "pipeline.yaml", &report) == OSIRIS_OK) {
    /* what validates goes through the compiler's own resolve stage too */
    if (!cp_state_init(&st, fz_ctx)) abort();
    cp_prepare(&st, "pipeline.yaml", (const char *)data, size, "dev", params, 0, &doc, &eff, &err);
    cp_state_free(&st);
  }
  osiris_json_free(report);
  osiris_json_free(doc);
  osiris_json_free(eff);
}

static void fz_conn(const uint8_t *data, size_t size) {
  /* "<connections yaml>\0<.env>": a fresh context reads both */
  const uint8_t *z = memchr(data, 0, size);
  size_t n1 = z ? (size_t)(z - data) : size, i, k, resolved = 0;
  osiris_ctx *ctx = osiris_ctx_new(fz_dir);
  osiris_json *doc = NULL, *conn = NULL;
  const osiris_json *conns;
  char *path = NULL;
  os_err err = {0};
  if (!ctx) abort();
  if (osiris_ctx_set_connections(ctx, (const char *)data, n1, NULL) ||
      osiris_ctx_set_dotenv(ctx, z ? (const char *)z + 1 : "", z ? size - n1 - 1 : 0))
    goto done;
  if (cn_load_file(ctx, &path, &doc, &conns, &err)) goto done;
  /* every alias by name, and each family's default */
  for (i = 0; i < osiris_json_size(conns) && resolved < 32; i++) {
    const char *fam = osiris_json_key_at(conns, i);
    const osiris_json *aliases = osiris_json_at(conns, i);
    char ref[512];
    cn_resolve(ctx, NULL, fam, &conn, NULL, &err);
    osiris_json_free(conn);
    conn = NULL;
    for (k = 0; k < osiris_json_size(aliases) && resolved < 32; k++, resolved++) {
      const char *alias = osiris_json_key_at(aliases, k);
      if (!alias) break;
      snprintf(ref, sizeof ref, "@%s.%s", fam, alias);
      cn_resolve(ctx, ref, fam, &conn, NULL, &err);
      osiris_json_free(conn);
      conn = NULL;
    }
  }
done:
  os_free(path);
  osiris_json_free(doc);
  osiris_ctx_free(ctx);
}

/* 1 when a and b hold the same names and cells (as text, NULLs alike). */
static int fz_frames_equal(const osiris_frame *a, const osiris_frame *b) {
  size_t c, r;
  if (osiris_frame_cols(a) != osiris_frame_cols(b) || osiris_frame_rows(a) != osiris_frame_rows(b))
    return 0;
  for (c = 0; c < osiris_frame_cols(a); c++) {
    if (strcmp(osiris_frame_col_name(a, c), osiris_frame_col_name(b, c)) != 0) return 0;
    for (r = 0; r < osiris_frame_rows(a); r++) {
      char ba[64], bb[64];
      size_t la = 0, lb = 0;
      int na = 0, nb = 0;
      const char *sa = osiris_frame_format(a, c, r, ba, sizeof ba, &la, &na);
      const char *sb = osiris_frame_format(b, c, r, bb, sizeof bb, &lb, &nb);
      if (na != nb || la != lb || (la && memcmp(sa, sb, la) != 0)) return 0;
    }
  }
  return 1;
}

static void fz_csv(const uint8_t *data, size_t size) {
  static const char delims[4] = {',', ';', '\t', '|'};
  static const char *const na[] = {"NA", "null", NULL};
  osiris_csv_opts o;
  osiris_frame *f = NULL, *back = NULL;
  char err[256], path[600];
  unsigned flags = size ? data[0] : 0;
  memset(&o, 0, sizeof o);
  if (size) data++, size--;
  o.delimiter = delims[flags & 3];
  o.header = !(flags & 4);
  o.infer_types = !(flags & 8);
  o.lenient_quotes = (flags & 16) != 0;
  o.latin1 = (flags & 32) != 0;
  o.na_values = flags & 64 ? na : NULL;
  o.limit = flags & 128 ? 3 : -1;
  if (osiris_csv_read_mem((const char *)data, size, "in.csv", &o, &f, err, sizeof err) == OSIRIS_OK &&
      !o.infer_types && !o.na_values && !o.latin1) {
    /* strings only: what the writer writes, the reader reads back the same */
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/out.csv", fz_dir);
    if (osiris_csv_write(path, f, &o, err, sizeof err) != OSIRIS_OK) abort();
    if (os_read_file(path, &text, &len, NULL)) abort();
    if (osiris_csv_read_mem(text, len, "out.csv", &o, &back, err, sizeof err) != OSIRIS_OK ||
        !fz_frames_equal(f, back))
      abort();
    os_free(text);
  }
  osiris_frame_free(f);
  osiris_frame_free(back);
}

static void fz_parquet(const uint8_t *data, size_t size) {
  char err[256], path[600];
  osiris_frame *f = NULL;
  fz_write("in.parquet", data, size, path, sizeof path);
  osiris_parquet_read(path, &f, err, sizeof err);
  osiris_frame_free(f);
}

static void fz_manifest(const uint8_t *data, size_t size) {
  char path[600];
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

static void fz_commands(const uint8_t *data, size_t size) {
  char path[600], session[600];
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  fz_write("commands.jsonl", data, size, path, sizeof path);
  snprintf(session, sizeof session, "%s/worker", fz_dir);
  osiris_worker_run(fz_ctx, path, session, null);
  close(null);
}

static void fz_lines(const uint8_t *data, size_t size) {
  /* the first byte says where the stream is cut in two reads */
  osiris_run *run;
  rm_state *rs = fz_rm_state(&run);
  size_t cut = size ? data[0] % size : 0;
  if (size) {
    rm_feed(rs, 0, (const char *)data + 1, cut ? cut - 1 : 0);
    rm_feed(rs, cut & 1, (const char *)data + (cut ? cut : 1), size - (cut ? cut : 1));
  }
  rm_flush(rs);
  /* what the host makes of it, status.json and run_card.json (files: for
   * half the inputs only, to keep the rate up) */
  if (size && (data[0] & 0x80)) rn_write_results(run, 0);
  rm_state_free(rs);
  rn_free(run);
}

static void fz_envelope(const uint8_t *data, size_t size) {
  osiris_run *run;
  rm_state *rs = fz_rm_state(&run);
  size_t half = size / 2;
  rs->e2.status = 200;
  rs->e2.feed = 1;
  if (e2_stream_cb((char *)data, 1, half, rs) == half)
    e2_stream_cb((char *)data + half, 1, size - half, rs);
  rm_flush(rs);
  if (size & 1) rn_write_results(run, 0);
  rm_state_free(rs);
  rn_free(run);
}

int fz_one(int target, const uint8_t *data, size_t size) {
  static void (*const run[])(const uint8_t *, size_t) = {
      fz_json, fz_yaml,     fz_oml,      fz_conn,  fz_csv,
      fz_parquet, fz_manifest, fz_commands, fz_lines, fz_envelope};
  fz_init();
  run[target](data, size);
  return 0;
}
