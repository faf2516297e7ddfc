/*
 * lazylib.c -- libcurl, libpq, MariaDB Connector/C and SQLite loaded on
 * first use, for the host CLI ./osiris only.
 *
 * Why: linked the ordinary way, libcurl and libpq bring ~30 shared
 * libraries (OpenSSL, Kerberos, LDAP, nghttp2, ssh, ...) that the dynamic
 * loader maps and relocates at every start, even for `osiris version` or a
 * pipeline of CSV files (issue 13, "Start-up": version <= 3 ms, measured
 * 3.8 ms linked, 0.7 ms here); SQLite, with no dependencies of its own,
 * still costs ~0.25 ms of `osiris version`.  This file defines every
 * function of those libraries that osiris.c and drivers.c call, under the
 * library's own name and signature (the real headers are included, so the
 * compiler checks each definition against the library's prototype).  The
 * first call that needs a library dlopen()s it by its SONAME and resolves
 * all its functions once; every call then goes through to the real one.
 * osiris.c and drivers.c are unchanged and do not know: their calls simply
 * bind to these definitions.
 *
 * Who links it: only the Makefile's `osiris` target, instead of -lcurl
 * -lpq -lmariadb -lsqlite3.  The tests, the embedding example, the workers
 * and the static builds link the real libraries directly.
 *
 * Contents
 *   1. The libraries       lz_lib: SONAME, Debian package, load state
 *   2. The functions       one X-macro list per library, one line each
 *   3. Loading             lz_ready (once per library, thread-safe)
 *   4. Definitions         generated from the lists; the variadic ones,
 *                          mysql_server_init and sqlite3_open_v2 by hand
 *
 * Rules
 * - Thread-safe: a library is loaded under pthread_once (steps run in
 *   threads); after that a call costs one acquire load and an indirect
 *   call.
 * - A function that returns a value loads its library on first call.  A
 *   function that returns void (the release and setter calls: PQclear,
 *   curl_easy_cleanup, mysql_close, ...) never loads: every argument it can
 *   be given came from its library, so while the library is not loaded it
 *   can only be NULL, and there is nothing to do.
 * - mysql_server_init(0, NULL, NULL), which drivers.c calls once per process
 *   when it registers the drivers (so that two threads' mysql_init cannot
 *   race on the client library's set-up), does not load libmariadb: the
 *   loader itself runs it, inside the same pthread_once, right after the
 *   load.
 * - A library that cannot be loaded (or lacks one of the functions): one
 *   message on stderr naming the library, what needs it and the Debian
 *   package to install, and from then on every call returns the function's
 *   failure value (curl_global_init CURLE_FAILED_INIT, curl_easy_init,
 *   mysql_init, PQconnectdbParams, PQconninfoParse NULL, ...), which the
 *   caller reports as its own error (status.json is written as for any
 *   failed step).  Never a crash, never a call through a NULL pointer.
 * - The binary does not export these names (it is not linked with
 *   -rdynamic and no linked library refers to them), so the loaded
 *   libraries' own internal calls are not interposed by the wrappers.
 */

#define _POSIX_C_SOURCE 200809L
/* curl.h's gcc type-checking macros would rewrite the definitions below. */
#define CURL_DISABLE_TYPECHECK

#include <curl/curl.h>
#include <dlfcn.h>
#include <errmsg.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

/* ======================================================================
 * 1. The libraries
 *
 * The SONAMEs are what -lcurl -lpq -lmariadb -lsqlite3 resolve to with
 * Debian's -dev packages (`readelf -d` of a binary linked that way);
 * the packages are the ones that ship those files.  `ok` is written once,
 * inside the library's pthread_once, after every function pointer is set.
 * ====================================================================== */

typedef struct lz_lib {
  const char *soname;   /* what dlopen is given */
  const char *package;  /* the Debian package that ships it */
  const char *users;    /* what needs it, for the message */
  pthread_once_t once;  /* the load, at most once per process */
  atomic_int ok;        /* 1: loaded, every function resolved */
  void *handle;         /* dlopen's; never closed */
  char why[512];        /* why it failed: what every failing call says */
} lz_lib;

static lz_lib lz_curl = {"libcurl.so.4", "libcurl4",
                         "HTTP: remote runs on E2B, graphql.extractor, posthog.extractor, "
                         "Supabase's REST API",
                         PTHREAD_ONCE_INIT, 0, NULL, ""};
static lz_lib lz_pq = {"libpq.so.5", "libpq5", "the PostgreSQL and Supabase steps",
                       PTHREAD_ONCE_INIT, 0, NULL, ""};
static lz_lib lz_my = {"libmariadb.so.3", "libmariadb3", "the MySQL/MariaDB steps",
                       PTHREAD_ONCE_INIT, 0, NULL, ""};
static lz_lib lz_sqlite = {"libsqlite3.so.0", "libsqlite3-0", "sql.processor",
                           PTHREAD_ONCE_INIT, 0, NULL, ""};

/* ======================================================================
 * 2. The functions
 *
 * Every function of the four libraries that osiris.c and drivers.c call
 * (`nm -u` of their objects; the link fails with an undefined reference
 * when a new one is used and not listed here).  Three kinds of line:
 *   F(lib, return type, name, (parameters), (arguments), failure value)
 *   V(lib, name, (parameters), (arguments))       returns void, never loads
 *   H(lib, return type, name, (parameters))       defined by hand (section 4),
 *                                                 or only resolved (sqlite3_vmprintf)
 * The failure value is what the function returns when its library cannot
 * be loaded: the value the library itself uses for "failed" or "no
 * object", or for message functions the message saying why.
 * ====================================================================== */

#define LZ_CURL_FUNCS(F, V, H)                                                                  \
  F(curl, CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                 \
  F(curl, CURL *, curl_easy_init, (void), (), NULL)                                             \
  H(curl, CURLcode, curl_easy_setopt, (CURL * curl, CURLoption option, ...))                    \
  H(curl, CURLcode, curl_easy_getinfo, (CURL * curl, CURLINFO info, ...))                       \
  F(curl, CURLcode, curl_easy_perform, (CURL * curl), (curl), CURLE_FAILED_INIT)                \
  V(curl, curl_easy_cleanup, (CURL * curl), (curl))                                             \
  F(curl, const char *, curl_easy_strerror, (CURLcode code), (code), lz_curl.why)               \
  F(curl, char *, curl_easy_escape, (CURL * curl, const char *s, int len), (curl, s, len), NULL) \
  V(curl, curl_free, (void *p), (p))                                                            \
  F(curl, struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *s),    \
    (list, s), NULL)                                                                            \
  V(curl, curl_slist_free_all, (struct curl_slist * list), (list))                              \
  F(curl, CURLM *, curl_multi_init, (void), (), NULL)                                           \
  F(curl, CURLMcode, curl_multi_add_handle, (CURLM * m, CURL *curl), (m, curl), CURLM_BAD_HANDLE) \
  F(curl, CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL *curl), (m, curl),              \
    CURLM_BAD_HANDLE)                                                                           \
  F(curl, CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running),               \
    CURLM_BAD_HANDLE)                                                                           \
  F(curl, CURLMcode, curl_multi_poll,                                                           \
    (CURLM * m, struct curl_waitfd extra[], unsigned int nextra, int timeout_ms, int *nready),   \
    (m, extra, nextra, timeout_ms, nready), CURLM_BAD_HANDLE)                                   \
  F(curl, CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)             \
  F(curl, CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_BAD_HANDLE)                    \
  F(curl, const char *, curl_multi_strerror, (CURLMcode code), (code), lz_curl.why)

#define LZ_PQ_FUNCS(F, V, H)                                                                    \
  F(pq, PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),             \
    (conninfo, errmsg), NULL)                                                                   \
  V(pq, PQconninfoFree, (PQconninfoOption * opts), (opts))                                      \
  F(pq, PGconn *, PQconnectdbParams,                                                            \
    (const char *const *keywords, const char *const *values, int expand_dbname),                \
    (keywords, values, expand_dbname), NULL)                                                    \
  V(pq, PQfinish, (PGconn * conn), (conn))                                                      \
  F(pq, ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)                 \
  F(pq, char *, PQerrorMessage, (const PGconn *conn), (conn), lz_pq.why)                        \
  F(pq, char *, PQdb, (const PGconn *conn), (conn), NULL)                                       \
  F(pq, char *, PQhost, (const PGconn *conn), (conn), NULL)                                     \
  F(pq, char *, PQport, (const PGconn *conn), (conn), NULL)                                     \
  F(pq, PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query), NULL)            \
  F(pq, PGresult *, PQexecParams,                                                               \
    (PGconn * conn, const char *command, int nparams, const Oid *types,                          \
     const char *const *values, const int *lengths, const int *formats, int result_format),     \
    (conn, command, nparams, types, values, lengths, formats, result_format), NULL)             \
  F(pq, int, PQsendQuery, (PGconn * conn, const char *query), (conn, query), 0)                 \
  F(pq, int, PQsetSingleRowMode, (PGconn * conn), (conn), 0)                                    \
  F(pq, PGresult *, PQgetResult, (PGconn * conn), (conn), NULL)                                 \
  F(pq, int, PQputCopyData, (PGconn * conn, const char *buffer, int nbytes),                    \
    (conn, buffer, nbytes), -1)                                                                 \
  F(pq, int, PQputCopyEnd, (PGconn * conn, const char *errormsg), (conn, errormsg), -1)         \
  F(pq, PGcancel *, PQgetCancel, (PGconn * conn), (conn), NULL)                                 \
  F(pq, int, PQcancel, (PGcancel * cancel, char *errbuf, int errbufsize),                       \
    (cancel, errbuf, errbufsize), 0)                                                            \
  V(pq, PQfreeCancel, (PGcancel * cancel), (cancel))                                            \
  F(pq, ExecStatusType, PQresultStatus, (const PGresult *res), (res), PGRES_FATAL_ERROR)        \
  F(pq, char *, PQresultErrorMessage, (const PGresult *res), (res), lz_pq.why)                  \
  V(pq, PQclear, (PGresult * res), (res))                                                       \
  F(pq, int, PQntuples, (const PGresult *res), (res), 0)                                        \
  F(pq, int, PQnfields, (const PGresult *res), (res), 0)                                        \
  F(pq, char *, PQfname, (const PGresult *res, int field), (res, field), NULL)                  \
  F(pq, Oid, PQftype, (const PGresult *res, int field), (res, field), 0)                        \
  F(pq, int, PQfmod, (const PGresult *res, int field), (res, field), -1)                        \
  F(pq, char *, PQgetvalue, (const PGresult *res, int row, int field), (res, row, field), NULL) \
  F(pq, int, PQgetlength, (const PGresult *res, int row, int field), (res, row, field), 0)      \
  F(pq, int, PQgetisnull, (const PGresult *res, int row, int field), (res, row, field), 1)

#define LZ_MY_FUNCS(F, V, H)                                                                    \
  H(my, int, mysql_server_init, (int argc, char **argv, char **groups))                         \
  F(my, MYSQL *, mysql_init, (MYSQL * my), (my), NULL)                                          \
  F(my, int, mysql_options, (MYSQL * my, enum mysql_option option, const void *arg),            \
    (my, option, arg), 1)                                                                       \
  F(my, MYSQL *, mysql_real_connect,                                                            \
    (MYSQL * my, const char *host, const char *user, const char *passwd, const char *db,        \
     unsigned int port, const char *unix_socket, unsigned long clientflag),                     \
    (my, host, user, passwd, db, port, unix_socket, clientflag), NULL)                          \
  V(my, mysql_close, (MYSQL * my), (my))                                                        \
  F(my, unsigned int, mysql_errno, (MYSQL * my), (my), CR_UNKNOWN_ERROR)                        \
  F(my, const char *, mysql_error, (MYSQL * my), (my), lz_my.why)                               \
  F(my, const char *, mysql_get_ssl_cipher, (MYSQL * my), (my), NULL)                           \
  F(my, const char *, mysql_info, (MYSQL * my), (my), NULL)                                     \
  F(my, unsigned long, mysql_thread_id, (MYSQL * my), (my), 0)                                  \
  F(my, unsigned int, mysql_warning_count, (MYSQL * my), (my), 0)                               \
  F(my, unsigned int, mysql_field_count, (MYSQL * my), (my), 0)                                 \
  F(my, int, mysql_query, (MYSQL * my, const char *q), (my, q), 1)                              \
  F(my, int, mysql_real_query, (MYSQL * my, const char *q, unsigned long length),               \
    (my, q, length), 1)                                                                         \
  F(my, unsigned long, mysql_real_escape_string,                                                \
    (MYSQL * my, char *to, const char *from, unsigned long length), (my, to, from, length),     \
    (unsigned long)-1)                                                                          \
  F(my, MYSQL_RES *, mysql_store_result, (MYSQL * my), (my), NULL)                              \
  F(my, MYSQL_RES *, mysql_use_result, (MYSQL * my), (my), NULL)                                \
  V(my, mysql_free_result, (MYSQL_RES * res), (res))                                            \
  F(my, MYSQL_ROW, mysql_fetch_row, (MYSQL_RES * res), (res), NULL)                             \
  F(my, unsigned long *, mysql_fetch_lengths, (MYSQL_RES * res), (res), NULL)                   \
  F(my, MYSQL_FIELD *, mysql_fetch_fields, (MYSQL_RES * res), (res), NULL)                      \
  F(my, unsigned int, mysql_num_fields, (MYSQL_RES * res), (res), 0)                            \
  V(my, mysql_set_local_infile_handler,                                                         \
    (MYSQL * my, int (*infile_init)(void **, const char *, void *),                              \
     int (*infile_read)(void *, char *, unsigned int), void (*infile_end)(void *),              \
     int (*infile_error)(void *, char *, unsigned int), void *userdata),                        \
    (my, infile_init, infile_read, infile_end, infile_error, userdata))                        \
  V(my, mysql_set_local_infile_default, (MYSQL * my), (my))

/* SQLite: its functions other than sqlite3_open_v2, sqlite3_errstr and
 * sqlite3_mprintf run only with a database open, most inside SQLite's own
 * callbacks (the virtual tables of drivers.c), so their failure values
 * are never returned in practice; they are the "nothing" of each type. */
#define LZ_SQLITE_FUNCS(F, V, H)                                                                \
  H(sqlite, int, sqlite3_open_v2,                                                               \
    (const char *filename, sqlite3 **db, int flags, const char *vfs))                           \
  F(sqlite, int, sqlite3_close, (sqlite3 * db), (db), SQLITE_ERROR)                             \
  F(sqlite, const char *, sqlite3_errmsg, (sqlite3 * db), (db), lz_sqlite.why)                  \
  F(sqlite, const char *, sqlite3_errstr, (int code), (code), lz_sqlite.why)                    \
  H(sqlite, char *, sqlite3_mprintf, (const char *fmt, ...))                                    \
  H(sqlite, char *, sqlite3_vmprintf, (const char *fmt, va_list ap))                            \
  V(sqlite, sqlite3_free, (void *p), (p))                                                       \
  F(sqlite, int, sqlite3_exec,                                                                  \
    (sqlite3 * db, const char *sql, int (*callback)(void *, int, char **, char **), void *arg,   \
     char **errmsg),                                                                            \
    (db, sql, callback, arg, errmsg), SQLITE_ERROR)                                             \
  F(sqlite, int, sqlite3_prepare_v2,                                                            \
    (sqlite3 * db, const char *sql, int nbyte, sqlite3_stmt **stmt, const char **tail),         \
    (db, sql, nbyte, stmt, tail), SQLITE_ERROR)                                                 \
  F(sqlite, int, sqlite3_step, (sqlite3_stmt * stmt), (stmt), SQLITE_ERROR)                     \
  F(sqlite, int, sqlite3_finalize, (sqlite3_stmt * stmt), (stmt), SQLITE_OK)                    \
  F(sqlite, int, sqlite3_column_count, (sqlite3_stmt * stmt), (stmt), 0)                        \
  F(sqlite, const char *, sqlite3_column_name, (sqlite3_stmt * stmt, int col), (stmt, col), NULL) \
  F(sqlite, const char *, sqlite3_column_decltype, (sqlite3_stmt * stmt, int col), (stmt, col), \
    NULL)                                                                                       \
  F(sqlite, sqlite3_value *, sqlite3_column_value, (sqlite3_stmt * stmt, int col), (stmt, col), \
    NULL)                                                                                       \
  F(sqlite, int, sqlite3_create_module_v2,                                                      \
    (sqlite3 * db, const char *name, const sqlite3_module *module, void *arg,                   \
     void (*destroy)(void *)),                                                                  \
    (db, name, module, arg, destroy), SQLITE_ERROR)                                             \
  F(sqlite, int, sqlite3_declare_vtab, (sqlite3 * db, const char *sql), (db, sql), SQLITE_ERROR) \
  F(sqlite, const char *, sqlite3_vtab_collation, (sqlite3_index_info * info, int i), (info, i), \
    NULL)                                                                                       \
  V(sqlite, sqlite3_progress_handler, (sqlite3 * db, int n, int (*progress)(void *), void *arg), \
    (db, n, progress, arg))                                                                     \
  F(sqlite, int, sqlite3_set_authorizer,                                                        \
    (sqlite3 * db,                                                                              \
     int (*auth)(void *, int, const char *, const char *, const char *, const char *),          \
     void *arg),                                                                                \
    (db, auth, arg), SQLITE_ERROR)                                                              \
  F(sqlite, int, sqlite3_stricmp, (const char *a, const char *b), (a, b), 1)                     \
  F(sqlite, int, sqlite3_value_type, (sqlite3_value * v), (v), SQLITE_NULL)                     \
  F(sqlite, sqlite3_int64, sqlite3_value_int64, (sqlite3_value * v), (v), 0)                    \
  F(sqlite, double, sqlite3_value_double, (sqlite3_value * v), (v), 0.0)                        \
  F(sqlite, const unsigned char *, sqlite3_value_text, (sqlite3_value * v), (v), NULL)          \
  F(sqlite, const void *, sqlite3_value_blob, (sqlite3_value * v), (v), NULL)                   \
  F(sqlite, int, sqlite3_value_bytes, (sqlite3_value * v), (v), 0)                              \
  V(sqlite, sqlite3_result_null, (sqlite3_context * ctx), (ctx))                                \
  V(sqlite, sqlite3_result_int, (sqlite3_context * ctx, int v), (ctx, v))                       \
  V(sqlite, sqlite3_result_int64, (sqlite3_context * ctx, sqlite3_int64 v), (ctx, v))           \
  V(sqlite, sqlite3_result_double, (sqlite3_context * ctx, double v), (ctx, v))                 \
  V(sqlite, sqlite3_result_text,                                                                \
    (sqlite3_context * ctx, const char *s, int n, void (*destroy)(void *)), (ctx, s, n, destroy))

/* The real functions, one struct per library, filled by its loader. */
#define LZ_PTR_F(lib, ret, name, params, args, fail) ret(*name) params;
#define LZ_PTR_V(lib, name, params, args) void(*name) params;
#define LZ_PTR_H(lib, ret, name, params) ret(*name) params;
static struct { LZ_CURL_FUNCS(LZ_PTR_F, LZ_PTR_V, LZ_PTR_H) } lz_curl_fn;
static struct { LZ_PQ_FUNCS(LZ_PTR_F, LZ_PTR_V, LZ_PTR_H) } lz_pq_fn;
static struct { LZ_MY_FUNCS(LZ_PTR_F, LZ_PTR_V, LZ_PTR_H) } lz_my_fn;
static struct { LZ_SQLITE_FUNCS(LZ_PTR_F, LZ_PTR_V, LZ_PTR_H) } lz_sqlite_fn;

/* ======================================================================
 * 3. Loading
 *
 * lz_open runs inside the library's pthread_once: dlopen, then each
 * function's dlsym (a missing one fails the whole library: a half-loaded
 * library would fail later in a place that cannot say why).  On failure
 * `why` says what and the message goes to stderr, once.
 * ====================================================================== */

static int lz_open(lz_lib *lib) {
  const char *e;
  lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (lib->handle) return 1;
  e = dlerror();
  snprintf(lib->why, sizeof lib->why,
           "cannot load %s (needed for %s): %s; install the Debian package %s "
           "(apt-get install %s)",
           lib->soname, lib->users, e ? e : "dlopen failed", lib->package, lib->package);
  fprintf(stderr, "osiris: %s\n", lib->why);
  return 0;
}

static void *lz_sym(lz_lib *lib, const char *name) {
  void *p = dlsym(lib->handle, name);
  if (!p) {
    snprintf(lib->why, sizeof lib->why,
             "%s has no function %s (a different version of the library?); install the Debian "
             "package %s that osiris was built against",
             lib->soname, name, lib->package);
    fprintf(stderr, "osiris: %s\n", lib->why);
  }
  return p;
}

/* A function pointer from dlsym: POSIX guarantees the conversion. */
#define LZ_SYM_F(lib, ret, name, params, args, fail)                                            \
  if (!(lz_##lib##_fn.name = (ret(*) params)lz_sym(&lz_##lib, #name))) return;
#define LZ_SYM_V(lib, name, params, args)                                                       \
  if (!(lz_##lib##_fn.name = (void(*) params)lz_sym(&lz_##lib, #name))) return;
#define LZ_SYM_H(lib, ret, name, params)                                                        \
  if (!(lz_##lib##_fn.name = (ret(*) params)lz_sym(&lz_##lib, #name))) return;

static void lz_curl_load(void) {
  if (!lz_open(&lz_curl)) return;
  LZ_CURL_FUNCS(LZ_SYM_F, LZ_SYM_V, LZ_SYM_H)
  atomic_store_explicit(&lz_curl.ok, 1, memory_order_release);
}

static void lz_pq_load(void) {
  if (!lz_open(&lz_pq)) return;
  LZ_PQ_FUNCS(LZ_SYM_F, LZ_SYM_V, LZ_SYM_H)
  atomic_store_explicit(&lz_pq.ok, 1, memory_order_release);
}

/* The client library's process-wide set-up runs here, once, before any
 * thread can call mysql_init (see mysql_server_init below).  Its failure
 * is left to mysql_init, which retries it and reports. */
static void lz_my_load(void) {
  if (!lz_open(&lz_my)) return;
  LZ_MY_FUNCS(LZ_SYM_F, LZ_SYM_V, LZ_SYM_H)
  (void)lz_my_fn.mysql_server_init(0, NULL, NULL);
  atomic_store_explicit(&lz_my.ok, 1, memory_order_release);
}

static void lz_sqlite_load(void) {
  if (!lz_open(&lz_sqlite)) return;
  LZ_SQLITE_FUNCS(LZ_SYM_F, LZ_SYM_V, LZ_SYM_H)
  atomic_store_explicit(&lz_sqlite.ok, 1, memory_order_release);
}

static int lz_loaded(lz_lib *lib) { return atomic_load_explicit(&lib->ok, memory_order_acquire); }

/* 1 when the library is loaded (loading it now if it never was). */
static int lz_ready(lz_lib *lib, void (*load)(void)) {
  if (lz_loaded(lib)) return 1;
  pthread_once(&lib->once, load);
  return lz_loaded(lib);
}

/* ======================================================================
 * 4. Definitions
 *
 * Generated from the lists, except the H lines: curl_easy_setopt and
 * curl_easy_getinfo are variadic (a variadic call cannot be forwarded, so
 * the one argument is read with its type and passed on), as is
 * sqlite3_mprintf (passed on to sqlite3_vmprintf); mysql_server_init
 * defers to the loader; sqlite3_open_v2 sets its out-parameter on failure.
 * ====================================================================== */

#define LZ_DEF_F(lib, ret, name, params, args, fail)                                            \
  ret name params {                                                                             \
    if (!lz_ready(&lz_##lib, lz_##lib##_load)) return fail;                                     \
    return lz_##lib##_fn.name args;                                                             \
  }
#define LZ_DEF_V(lib, name, params, args)                                                       \
  void name params {                                                                            \
    if (lz_loaded(&lz_##lib)) lz_##lib##_fn.name args;                                          \
  }
#define LZ_DEF_H(lib, ret, name, params)

LZ_CURL_FUNCS(LZ_DEF_F, LZ_DEF_V, LZ_DEF_H)
LZ_PQ_FUNCS(LZ_DEF_F, LZ_DEF_V, LZ_DEF_H)
LZ_MY_FUNCS(LZ_DEF_F, LZ_DEF_V, LZ_DEF_H)
LZ_SQLITE_FUNCS(LZ_DEF_F, LZ_DEF_V, LZ_DEF_H)

/* The option number says the argument's type, in ranges (curl.h's
 * CURLOPTTYPE_*), which is how libcurl itself reads it: long, object
 * pointer, function pointer, curl_off_t, struct curl_blob pointer.  A
 * function pointer travels as a generic one (all have one representation
 * on the platforms glibc runs on) and libcurl reads it as the callback's
 * own type, as it does when the application calls it directly. */
typedef void (*lz_func)(void);

CURLcode(curl_easy_setopt)(CURL *curl, CURLoption option, ...) {
  va_list ap;
  CURLcode rc;
  if (!lz_ready(&lz_curl, lz_curl_load)) return CURLE_FAILED_INIT;
  va_start(ap, option);
  if (option < CURLOPTTYPE_OBJECTPOINT)
    rc = lz_curl_fn.curl_easy_setopt(curl, option, va_arg(ap, long));
  else if (option < CURLOPTTYPE_FUNCTIONPOINT)
    rc = lz_curl_fn.curl_easy_setopt(curl, option, va_arg(ap, void *));
  else if (option < CURLOPTTYPE_OFF_T)
    rc = lz_curl_fn.curl_easy_setopt(curl, option, va_arg(ap, lz_func));
  else if (option < CURLOPTTYPE_BLOB)
    rc = lz_curl_fn.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
  else if (option < CURLOPTTYPE_BLOB + 10000)
    rc = lz_curl_fn.curl_easy_setopt(curl, option, va_arg(ap, struct curl_blob *));
  else
    rc = CURLE_UNKNOWN_OPTION; /* no such range: libcurl would say the same */
  va_end(ap);
  return rc;
}

/* Every CURLINFO takes one pointer to where the answer goes. */
CURLcode(curl_easy_getinfo)(CURL *curl, CURLINFO info, ...) {
  va_list ap;
  CURLcode rc;
  if (!lz_ready(&lz_curl, lz_curl_load)) return CURLE_FAILED_INIT;
  va_start(ap, info);
  rc = lz_curl_fn.curl_easy_getinfo(curl, info, va_arg(ap, void *));
  va_end(ap);
  return rc;
}

/* drivers.c calls mysql_library_init(0, NULL, NULL) (a macro for this)
 * when it registers the drivers, in every run: that must not load the
 * library, and need not, because the loader runs it under the same
 * pthread_once that guards the load.  Any other arguments are passed on
 * as they are, after a load. */
int mysql_server_init(int argc, char **argv, char **groups) {
  if (argc == 0 && !argv && !groups && !lz_loaded(&lz_my)) return 0;
  if (!lz_ready(&lz_my, lz_my_load)) return 1;
  return lz_my_fn.mysql_server_init(argc, argv, groups);
}

/* Like SQLite's own on failure: no database (*db is set either way). */
int sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs) {
  if (!lz_ready(&lz_sqlite, lz_sqlite_load)) {
    *db = NULL;
    return SQLITE_CANTOPEN;
  }
  return lz_sqlite_fn.sqlite3_open_v2(filename, db, flags, vfs);
}

/* A variadic call cannot be forwarded: the va_list one takes it. */
char *sqlite3_mprintf(const char *fmt, ...) {
  va_list ap;
  char *s;
  if (!lz_ready(&lz_sqlite, lz_sqlite_load)) return NULL;
  va_start(ap, fmt);
  s = lz_sqlite_fn.sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return s;
}
