/*
 * osiris.h -- the public API of osiris, a data-pipeline runtime.
 *
 * This header is the whole public surface and its manual.  Everything not
 * declared here is static inside osiris.c.
 *
 *   Embed:   cc -c osiris.c drivers.c   (link with -lsqlite3, and the
 *            database client libraries the drivers use)
 *   Use:     osiris_ctx_new -> osiris_register_builtin_drivers ->
 *            osiris_run_pipeline -> osiris_run_ok / osiris_run_status ->
 *            osiris_run_free -> osiris_ctx_free.
 *
 * Conventions
 *   - Every fallible function returns an osiris_rc; OSIRIS_OK is 0.  The
 *     codes are append-only: a code never changes its number.
 *   - Messages live in the handle that failed (osiris_ctx_error,
 *     osiris_run_error), never in a global, and name the place: file:line:col
 *     for YAML/JSON, steps[2].config.query for OML, the step id at run time.
 *   - Ownership is stated per function.  "Borrowed" pointers stay valid as
 *     long as the object they came from and must not be freed.  Strings
 *     returned as "owned" are released with osiris_free().
 *   - Threads: an osiris_ctx and everything made from it belong to one
 *     thread at a time.  Separate contexts may be used from separate threads.
 *     No function keeps global mutable state.
 *   - The library never calls exit/abort and never prints; it reports
 *     through return codes, run files and the log callback.
 */
#ifndef OSIRIS_H
#define OSIRIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OSIRIS_VERSION "0.1.0"

/* ---------------------------------------------------------------- codes */

typedef enum osiris_rc {
  OSIRIS_OK = 0,
  OSIRIS_ENOMEM = 1,    /* allocation failed */
  OSIRIS_EIO = 2,       /* file system or stream error */
  OSIRIS_EPARSE = 3,    /* malformed JSON, YAML, CSV or manifest */
  OSIRIS_EINVAL = 4,    /* invalid argument or configuration value */
  OSIRIS_EVALIDATE = 5, /* OML validation failed */
  OSIRIS_ESECRET = 6,   /* an inline secret in a pipeline */
  OSIRIS_ENOTFOUND = 7, /* a file, step, connection or driver is missing */
  OSIRIS_ECONN = 8,     /* connection resolution or connect failed */
  OSIRIS_EDRIVER = 9,   /* a driver failed */
  OSIRIS_ELIMIT = 10,   /* a size, depth or count limit was exceeded */
  OSIRIS_ECANCEL = 11,  /* interrupted */
  OSIRIS_ESQL = 12,     /* the SQL engine rejected a statement */
  OSIRIS_EUSAGE = 13    /* bad command-line or API usage */
} osiris_rc;

/* A static, never-NULL name such as "OSIRIS_EPARSE". */
const char *osiris_rc_name(osiris_rc rc);

/* Release memory that an osiris_* function returned as "owned". NULL ok. */
void osiris_free(void *p);

/* Numbers as text, whatever setlocale() the program called: '.' is always
 * the decimal point.  osiris_strtod is strtod(3) in the "C" locale.
 * osiris_format_double writes the shortest text that reads back as d
 * (Python repr style: "1.0", "0.1", "1e+16", "nan", "inf"), NUL-terminated,
 * and returns its length (cut to cap - 1).  Both thread-safe. */
double osiris_strtod(const char *s, char **end);
size_t osiris_format_double(char *out, size_t cap, double d);

/* ---------------------------------------------------- memory and buffers
 * The allocator osiris itself uses.  Its test build (OSIRIS_FAULT_INJECTION)
 * can fail the Nth call, so a driver that allocates through it has its
 * out-of-memory paths tested with the engine's.  Release with osiris_free.
 * A size of 0 still returns a unique pointer; NULL means out of memory
 * (osiris_calloc: also when n * size overflows). */
void *osiris_malloc(size_t n);
void *osiris_calloc(size_t n, size_t size);
void *osiris_realloc(void *p, size_t n);
char *osiris_strdup(const char *s); /* NULL for NULL */
char *osiris_strndup(const char *s, size_t n);

/* A growable byte string.  Start from {0}; p is NUL-terminated once
 * anything was added (NULL before).  A growth that fails (out of memory,
 * or past 16 GiB) sets oom and turns every later call into a no-op, so a
 * builder checks oom once at the end. */
typedef struct osiris_buf {
  char *p;
  size_t len, cap;
  int oom;
} osiris_buf;
void osiris_buf_put(osiris_buf *b, const void *data, size_t n);
void osiris_buf_puts(osiris_buf *b, const char *s);
void osiris_buf_putc(osiris_buf *b, char c);
void osiris_buf_printf(osiris_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The owned string (osiris_free; "" when nothing was added) and the buffer
 * reset to {0}; NULL (buffer freed) when oom was set. */
char *osiris_buf_take(osiris_buf *b);
void osiris_buf_free(osiris_buf *b);
/* Room for n more bytes (and the NUL after them): a pointer to b->p +
 * b->len, where the caller writes up to n bytes, then adds what it wrote
 * to b->len and stores the NUL at b->p[b->len].  NULL (oom set) when the
 * buffer cannot grow or oom was already set. */
char *osiris_buf_reserve(osiris_buf *b, size_t n);

/* --------------------------------------------------- dates, numbers, text
 * The calendar and text forms the engine itself reads and writes (frames,
 * CSV inference, JSON), for drivers that convert values.  Proleptic
 * Gregorian calendar in UTC: a date is days since 1970-01-01, a timestamp
 * microseconds since 1970-01-01T00:00:00.  Locale-independent, no global
 * state: thread-safe.  Numbers: osiris_strtod / osiris_format_double
 * above. */

/* Days since 1970-01-01 of year y, month m (1..12), day d (1..31; not
 * checked against the month), and back.  Exact (H. Hinnant's algorithms)
 * for years within +-10^16 and day counts within +-10^18. */
int64_t osiris_days_from_civil(int64_t y, int m, int d);
void osiris_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Reading dates and timestamps: pointer + length, the whole text must be
 * one accepted form; 1 and *out set, or 0 (*out untouched).
 * osiris_parse_date: exactly "YYYY-MM-DD" (four-digit year), impossible
 * months and days rejected.
 * osiris_parse_timestamp with flags 0 reads what the engine infers as a
 * timestamp: "YYYY-MM-DD[ T]HH:MM:SS[.f]" with 1 to 6 fraction digits and
 * an optional "Z" or "+00:00".  Flags widen it: */
#define OSIRIS_TS_DATE_ONLY 1u     /* "YYYY-MM-DD" alone is its midnight */
#define OSIRIS_TS_NO_SECONDS 2u    /* "HH:MM" without seconds */
#define OSIRIS_TS_LONG_FRACTION 4u /* any number of fraction digits; past
                                      the sixth they are dropped */
/* Everything SQLite's date functions write (datetime(), strftime()). */
#define OSIRIS_TS_SQLITE (OSIRIS_TS_DATE_ONLY | OSIRIS_TS_NO_SECONDS | OSIRIS_TS_LONG_FRACTION)
int osiris_parse_date(const char *s, size_t len, int64_t *days);
int osiris_parse_timestamp(const char *s, size_t len, unsigned flags, int64_t *micros);

/* Writing them, as the engine does (CSV, JSON): "YYYY-MM-DD", a year
 * outside 0..9999 with its sign ("-0001", "+10000", ISO 8601 expanded);
 * a timestamp adds sep ('T' for ISO 8601, ' ' for the form SQLite's
 * functions read) and "HH:MM:SS", and ".ffffff" when the microseconds are
 * not 0.  No zone suffix.  NUL-terminated into out, returning the length
 * (cut to cap - 1; OSIRIS_DATETIME_CAP always suffices; 0 when cap is 0). */
#define OSIRIS_DATETIME_CAP 48
size_t osiris_format_date(char *out, size_t cap, int64_t days);
size_t osiris_format_timestamp(char *out, size_t cap, int64_t micros, char sep);

/* Text into a buffer (no-ops once b->oom is set, which they set when the
 * buffer cannot grow).  osiris_buf_json_string: s as a double-quoted JSON
 * string, exactly as osiris_json_dump writes one without OSIRIS_JSON_ASCII
 * (", \, \n, \r, \t, \b, \f escaped, other bytes below 0x20 as \u00xx,
 * everything else as it is).  osiris_buf_hex: each byte as two lowercase
 * hex digits. */
void osiris_buf_json_string(osiris_buf *b, const char *s, size_t len);
void osiris_buf_hex(osiris_buf *b, const void *data, size_t n);

/* ------------------------------------------------------------------ JSON
 * A JSON value tree.  Integers and doubles are distinct kinds: "1" is INT,
 * "1.0" and "1e3" are DOUBLE.  Object keys keep insertion order; duplicate
 * keys are rejected by the parser.  The YAML reader builds the same trees.
 */
typedef struct osiris_json osiris_json;

typedef enum osiris_json_kind {
  OSIRIS_JSON_NULL = 0,
  OSIRIS_JSON_BOOL,
  OSIRIS_JSON_INT,
  OSIRIS_JSON_DOUBLE,
  OSIRIS_JSON_STRING,
  OSIRIS_JSON_ARRAY,
  OSIRIS_JSON_OBJECT
} osiris_json_kind;

/* Dump flags. */
#define OSIRIS_JSON_SORTED 1u /* keys sorted by bytes (canonical form) */
#define OSIRIS_JSON_PRETTY 2u /* two-space indentation */
#define OSIRIS_JSON_ASCII 4u  /* non-ASCII as \uXXXX (surrogate pairs) */

/* Parse RFC 8259 JSON from text[0..len).  UTF-8 is validated; depth is
 * limited to 256 and size to 1 GiB.  On success *out is owned by the caller
 * (osiris_json_free).  On failure *out is NULL and, when errbuf is not NULL,
 * errbuf receives "line:col: message" (truncated to errcap). */
osiris_rc osiris_json_parse(const char *text, size_t len, osiris_json **out,
                            char *errbuf, size_t errcap);

/* Serialize v.  Returns an owned NUL-terminated string (osiris_free) and its
 * length in *len when len is not NULL; NULL when out of memory.  Doubles
 * use the shortest text that reads back to the same value. */
char *osiris_json_dump(const osiris_json *v, unsigned flags, size_t *len);

void osiris_json_free(osiris_json *v);

/* Accessors.  All accept NULL and then return the empty answer. */
osiris_json_kind osiris_json_kind_of(const osiris_json *v);
size_t osiris_json_size(const osiris_json *v); /* items of array/object */
const osiris_json *osiris_json_at(const osiris_json *v, size_t i);
const char *osiris_json_key_at(const osiris_json *obj, size_t i);
const osiris_json *osiris_json_get(const osiris_json *obj, const char *key);
const char *osiris_json_str(const osiris_json *v); /* NULL unless STRING */
size_t osiris_json_strlen(const osiris_json *v);
int64_t osiris_json_int(const osiris_json *v, int64_t dflt); /* INT, or integral DOUBLE */
double osiris_json_num(const osiris_json *v, double dflt);   /* INT or DOUBLE */
int osiris_json_bool(const osiris_json *v, int dflt);        /* BOOL only */

/* Builders.  Each returns an owned value, NULL when out of memory. */
osiris_json *osiris_json_new(osiris_json_kind kind); /* null/empty/false/0 */
osiris_json *osiris_json_new_str(const char *s, size_t len);
osiris_json *osiris_json_new_int(int64_t v);
osiris_json *osiris_json_new_double(double v);
osiris_json *osiris_json_new_bool(int v);
osiris_json *osiris_json_copy(const osiris_json *v);
/* Set obj[key] = val, replacing an existing entry in place.  Takes
 * ownership of val, also on failure. */
osiris_rc osiris_json_set(osiris_json *obj, const char *key, osiris_json *val);
/* Remove obj[key] if present; returns 1 when removed. */
int osiris_json_remove(osiris_json *obj, const char *key);
/* Append val to arr.  Takes ownership of val, also on failure. */
osiris_rc osiris_json_push(osiris_json *arr, osiris_json *val);

/* ---------------------------------------------------------------- frames
 * A frame is a typed columnar table with a validity bitmap per column.
 * It is built a row at a time: append one value to every column, then
 * osiris_frame_end_row.  Readers see only completed rows.
 */
typedef struct osiris_frame osiris_frame;

typedef enum osiris_type {
  OSIRIS_TYPE_BOOL = 1,
  OSIRIS_TYPE_INT64,
  OSIRIS_TYPE_DOUBLE,
  OSIRIS_TYPE_DECIMAL,   /* exact; kept as canonical decimal text, with a scale */
  OSIRIS_TYPE_STRING,    /* UTF-8 */
  OSIRIS_TYPE_DATE,      /* days since 1970-01-01 */
  OSIRIS_TYPE_TIMESTAMP  /* microseconds since 1970-01-01T00:00:00 UTC */
} osiris_type;

/* "bool", "int64", "double", "decimal", "string", "date", "timestamp". */
const char *osiris_type_name(osiris_type t);

osiris_frame *osiris_frame_new(void); /* owned; NULL when out of memory */
void osiris_frame_free(osiris_frame *f);

/* Add a column before the first row.  name is copied.  scale is used by
 * DECIMAL only (digits after the point, 0..38). */
osiris_rc osiris_frame_add_column(osiris_frame *f, const char *name,
                                  osiris_type type, int scale);

/* Append one value to column col of the row being built.  The value must
 * match the column type (STRING/DECIMAL take text; DECIMAL text must be a
 * decimal number).  Errors: OSIRIS_EINVAL (type mismatch, bad index,
 * invalid UTF-8), OSIRIS_ENOMEM, OSIRIS_ELIMIT. */
osiris_rc osiris_frame_append_null(osiris_frame *f, size_t col);
osiris_rc osiris_frame_append_bool(osiris_frame *f, size_t col, int v);
osiris_rc osiris_frame_append_int64(osiris_frame *f, size_t col, int64_t v);
osiris_rc osiris_frame_append_double(osiris_frame *f, size_t col, double v);
osiris_rc osiris_frame_append_text(osiris_frame *f, size_t col, const char *s, size_t len);
osiris_rc osiris_frame_append_date(osiris_frame *f, size_t col, int32_t days);
osiris_rc osiris_frame_append_timestamp(osiris_frame *f, size_t col, int64_t micros);
/* Complete the row: every column must have received exactly one value. */
osiris_rc osiris_frame_end_row(osiris_frame *f);

size_t osiris_frame_rows(const osiris_frame *f);
size_t osiris_frame_cols(const osiris_frame *f);
const char *osiris_frame_col_name(const osiris_frame *f, size_t col); /* borrowed */
osiris_type osiris_frame_col_type(const osiris_frame *f, size_t col);
int osiris_frame_col_scale(const osiris_frame *f, size_t col);
/* Value readers; row < rows, col < cols, the type must match the column. */
int osiris_frame_is_null(const osiris_frame *f, size_t col, size_t row);
int osiris_frame_get_bool(const osiris_frame *f, size_t col, size_t row);
int64_t osiris_frame_get_int64(const osiris_frame *f, size_t col, size_t row);
double osiris_frame_get_double(const osiris_frame *f, size_t col, size_t row);
/* STRING or DECIMAL text; borrowed, not NUL-terminated, length in *len. */
const char *osiris_frame_get_text(const osiris_frame *f, size_t col, size_t row, size_t *len);
int32_t osiris_frame_get_date(const osiris_frame *f, size_t col, size_t row);
int64_t osiris_frame_get_timestamp(const osiris_frame *f, size_t col, size_t row);
/* Approximate bytes held by the frame. */
size_t osiris_frame_bytes(const osiris_frame *f);

/* Format any cell as text the way CSV output shows it: NULL -> empty
 * (*is_null = 1), bool true/false, shortest round-trip doubles, ISO-8601
 * dates and timestamps ("2024-01-31", "2024-01-31T12:00:00" with
 * ".ffffff" only when the microseconds are not zero).  Writes into buf
 * (cap bytes, NUL-terminated) unless the value is text, in which case the
 * borrowed text is returned without copying.  Returns the text and its
 * length in *len. */
const char *osiris_frame_format(const osiris_frame *f, size_t col, size_t row,
                                char *buf, size_t cap, size_t *len, int *is_null);

/* ------------------------------------------------------------------- CSV */
typedef struct osiris_csv_opts {
  char delimiter;          /* ',' when 0 */
  int header;              /* 1: first (non-skipped) row names the columns */
  int latin1;              /* 1: input is ISO-8859-1, converted to UTF-8 */
  size_t skip_rows;        /* records skipped before the header/data */
  int64_t limit;           /* max data rows; < 0 for all */
  const char *const *columns;   /* NULL-terminated subset and order, or NULL */
  const char *const *na_values; /* NULL-terminated extra NULL markers, or NULL */
  int infer_types;         /* 1: int64/double/bool/date/timestamp, else strings */
  int crlf;                /* writer: "\r\n" line ends */
  /* reader: when set, called between rows (every few thousand) with the
   * frame built so far; it may take the rows out (osiris_step_flush).  A
   * code other than OSIRIS_OK stops the read with that code. */
  osiris_rc (*on_rows)(void *user, osiris_frame *f);
  void *on_rows_user;
  /* reader: 0 (strict, the default) fails with OSIRIS_EPARSE on a
   * character after a closing quote ("abc"def); 1 keeps it as text
   * (abcdef), as pandas does.  An unterminated quote fails either way. */
  int lenient_quotes;
  /* reader: a line whose first character is comment (an ASCII character
   * other than the delimiter, '"', CR and LF) holds no record and is
   * skipped like a blank line, also before the header; 0: none.  Only
   * whole lines: the character later in a line is data. */
  char comment;
  /* reader: column types forced (pandas dtype): dtype_cols NULL-terminated
   * names, dtype_types the type of each (not DECIMAL).  Every value of such
   * a column must parse as its type (OSIRIS_EPARSE otherwise), a name the
   * file lacks is OSIRIS_EINVAL; applies with infer_types 0 too. */
  const char *const *dtype_cols;
  const osiris_type *dtype_types;
  /* reader, with on_rows: when set, asked before each batch for each
   * column of the frame (by index, called with on_rows_user); a column it
   * answers 0 for is NULL in that batch, its values neither converted nor
   * checked against the column's type (see osiris_step_input_columns). */
  int (*column_used)(void *user, size_t col);
} osiris_csv_opts;

/* Read a CSV file into a new frame (owned by the caller).  The file is
 * read twice in chunks (types are inferred over every value first), so
 * with on_rows taking the rows out memory stays a few MiB whatever the
 * file's size; a pipe is read whole.  Errors name the file and line in
 * errbuf: OSIRIS_ENOTFOUND, OSIRIS_EIO (also: the file changed between the
 * two passes), OSIRIS_EPARSE (unterminated quote, text after a closing quote unless
 * lenient_quotes, field count, bad UTF-8). */
osiris_rc osiris_csv_read(const char *path, const osiris_csv_opts *o,
                          osiris_frame **out, char *errbuf, size_t errcap);
/* The same reader over data[0..len) in memory (borrowed; copied once, so
 * it may be freed when the call returns; NULL with len 0 is an empty
 * input).  name (borrowed, NULL: "<memory>") stands for the file in
 * messages.  Errors as osiris_csv_read but ENOTFOUND and EIO; OSIRIS_EINVAL
 * when data is NULL with len > 0 or out is NULL.  Keeps no state between
 * calls: any thread may call it. */
osiris_rc osiris_csv_read_mem(const char *data, size_t len, const char *name,
                              const osiris_csv_opts *o, osiris_frame **out, char *errbuf,
                              size_t errcap);
/* Write f to path through a temporary file created exclusively beside it, then rename: a failure never leaves a
 * partial file under the final name.  Parent directories are created. */
osiris_rc osiris_csv_write(const char *path, const osiris_frame *f,
                           const osiris_csv_opts *o, char *errbuf, size_t errcap);

/* The same writer fed frame by frame (the header comes from the first
 * frame; later frames must have the same columns).  close with commit 1
 * renames the file into place, with 0 (or after any error) removes it. */
typedef struct osiris_csv_writer osiris_csv_writer;
osiris_rc osiris_csv_writer_open(const char *path, const osiris_csv_opts *o,
                                 osiris_csv_writer **out, char *errbuf, size_t errcap);
osiris_rc osiris_csv_writer_write(osiris_csv_writer *w, const osiris_frame *f, char *errbuf,
                                  size_t errcap);
osiris_rc osiris_csv_writer_close(osiris_csv_writer *w, int commit, char *errbuf, size_t errcap);

/* --------------------------------------------------------------- Parquet
 * A Parquet writer and reader (PLAIN encoding, definition levels for NULLs,
 * row groups, column statistics).  Types: BOOL -> BOOLEAN, INT64 -> INT64,
 * DOUBLE -> DOUBLE, STRING -> BYTE_ARRAY UTF8, DATE -> INT32 DATE,
 * TIMESTAMP -> INT64 TIMESTAMP(MICROS, UTC), DECIMAL -> FIXED_LEN_BYTE_ARRAY
 * DECIMAL(precision, scale).
 */
typedef struct osiris_parquet_opts {
  size_t row_group_rows; /* rows per row group; 0: 1048576 */
} osiris_parquet_opts;

/* Write f to path (through a temporary file created exclusively beside it, then rename; parents created).
 * opts may be NULL.  Errors in errbuf. */
osiris_rc osiris_parquet_write(const char *path, const osiris_frame *f,
                               const osiris_parquet_opts *opts, char *errbuf, size_t errcap);
/* Read a Parquet file into a new frame (owned).  A malformed file is
 * OSIRIS_EPARSE with the reason, never a crash.  The message in errbuf
 * starts with the path ("<path>: column x: ..."), except out of memory. */
osiris_rc osiris_parquet_read(const char *path, osiris_frame **out, char *errbuf, size_t errcap);

/* --------------------------------------------------------------- drivers
 * A driver is a table of facts plus one function.  The runner calls run()
 * with a step handle; the driver reads its config and inputs from it, sets
 * at most one output frame, and reports through it.
 */
typedef struct osiris_ctx osiris_ctx;
typedef struct osiris_step osiris_step;

#define OSIRIS_KEY_REQUIRED 1u /* must be present (after connection fields) */
#define OSIRIS_KEY_SECRET 2u   /* never in compiled files; masked in output */
#define OSIRIS_KEY_CONN 4u     /* may come from the connection instead */
/* The key's value is a path (relative to the connection's base_dir, else
 * to the project directory) of a file the step reads: a remote run ships
 * it to the sandbox. */
#define OSIRIS_KEY_INPUT_FILE 8u
/* The key's value is a path of a file the step writes: a remote run brings
 * it back, and the host accepts a file from a sandbox only at a path that
 * such a key declared (section 16 of osiris.c). */
#define OSIRIS_KEY_OUTPUT_FILE 16u
#define OSIRIS_KEY_RANGE 32u  /* min..max of the key apply */
/* Accepted for compatibility with Osiris 0.5.7 and without effect here:
 * validate warns, and a run notes each such key a step's config gives
 * once (event config_key_no_effect, a warning in osiris.log), not when its
 * value is the key's default (never silently ignored when it would change
 * results: such keys are implemented or refused). */
#define OSIRIS_KEY_NO_EFFECT 64u
/* Exactly one of the keys a driver flags OSIRIS_KEY_ONE_OF must be given
 * (e.g. query or table): validate reports none and more than one. */
#define OSIRIS_KEY_ONE_OF 128u
/* An object of names to strings (HTTP headers) where an entry whose name
 * says it is a credential (osiris_is_credential_name) is a secret: compile
 * refuses a literal value there (write "${VAR}" or put it in the
 * connection), as for an OSIRIS_KEY_SECRET key. */
#define OSIRIS_KEY_SECRET_ENTRIES 256u
/* 1 when a header or field name says its value is a credential: it
 * contains, in any case, auth, key, token, secret, password, cookie,
 * session, credential or signature ("Authorization", "X-Api-Key"). */
int osiris_is_credential_name(const char *name);

/* The type a config value must have (validate and compile check it). */
typedef enum osiris_key_type {
  OSIRIS_KT_ANY = 0, /* not checked (the zero of older tables) */
  OSIRIS_KT_STRING,
  OSIRIS_KT_INT,     /* a JSON integer (an integral number) */
  OSIRIS_KT_NUMBER,  /* integer or floating point */
  OSIRIS_KT_BOOL,
  OSIRIS_KT_CHAR,    /* a string of exactly one character */
  OSIRIS_KT_STRINGS, /* a list of strings */
  OSIRIS_KT_STRING_OR_STRINGS, /* one string or a list of strings */
  OSIRIS_KT_OBJECT,
  OSIRIS_KT_INT_OR_BOOL /* e.g. csv header: true/false or a row number */
} osiris_key_type;

/* A config key of a driver: the spec that `osiris validate`, compile,
 * `components show` (and its JSON Schema), the remote packager and the
 * docs read.  Fields after doc may stay zero in a table. */
typedef struct osiris_config_key {
  const char *name;
  const char *default_json; /* JSON text copied into cfg when absent, or NULL */
  unsigned flags;           /* OSIRIS_KEY_* */
  const char *doc;          /* one line for `components show` */
  osiris_key_type type;     /* OSIRIS_KT_ANY: not checked */
  const char *allowed;      /* "a|b|c": the only values of a string (case-insensitive), or NULL */
  double min, max;          /* range of an INT/NUMBER when flags has OSIRIS_KEY_RANGE */
  const char *alias_of;     /* this name means the key alias_of (one meaning; both is an error);
                               * "key=value": a BOOL whose true means key: value, an error
                               * beside key with another value (false: with that value) */
} osiris_config_key;

typedef osiris_rc (*osiris_driver_fn)(osiris_step *step);

typedef struct osiris_driver {
  const char *name;    /* component name, also the driver name */
  const char *family;  /* connection family: "filesystem", "mysql", ... */
  const char *modes;   /* compiled modes, space separated: "extract discover" */
  const char *summary; /* one line for `components list` */
  const osiris_config_key *keys; /* terminated by an entry with name NULL */
  osiris_driver_fn run;
  /* Optional (NULL: none): connect with a resolved connection of this
   * family and run a trivial query, for `osiris connections doctor`.  On
   * failure write a message that holds no secret value into err. */
  osiris_rc (*check)(const osiris_json *connection, char *err, size_t errcap);
  unsigned flags; /* OSIRIS_DRIVER_* */
} osiris_driver;

/* The driver reads its input with osiris_step_next (or osiris_step_gather),
 * so the runner may stream its one upstream step into it batch by batch. */
#define OSIRIS_DRIVER_STREAMS_IN 1u
/* The step runs without a connection unless its config names one (files,
 * embedded engines); otherwise the family's default connection is
 * resolved before run(). */
#define OSIRIS_DRIVER_CONN_OPTIONAL 2u
/* check() also answers whether a step of this driver can run here: called
 * with the step's config in place of a connection, before any step runs
 * (an engine loaded at run time is missing, a query does not parse).  On
 * failure it writes the reason and the remedy into err. */
#define OSIRIS_DRIVER_PREFLIGHT 4u
/* The driver loads a shared library at run time (dlopen), which the fully
 * static osiris-worker cannot.  A remote run of a pipeline with such a
 * step starts osiris-worker-dyn instead ($OSIRIS_WORKER_DYN, else beside
 * the host program; glibc dynamic, everything else static) and ships the
 * libraries of the directory osiris-worker-dyn.libs/ beside it
 * ($OSIRIS_WORKER_LIBS overrides) to the worker's own directory, where
 * the driver looks for them.  Other pipelines keep the static worker. */
#define OSIRIS_DRIVER_DLOPEN 8u

/* 1 when url may carry a credential (an API key, a token): https://, or
 * plain http:// to a loopback host (localhost, 127.0.0.0/8, [::1]); 0 for
 * plain http elsewhere and any other scheme.  Callers that would send a
 * credential to a url this calls insecure refuse, unless the user set
 * OSIRIS_ALLOW_INSECURE_HTTP=1, and then warn.  Thread-safe. */
int osiris_url_is_secure(const char *url);

/* Register d (borrowed: it must outlive ctx) under its name, and under
 * alias too when alias is not NULL.  OSIRIS_EINVAL for a duplicate name. */
osiris_rc osiris_register_driver(osiris_ctx *ctx, const osiris_driver *d, const char *alias);
/* Defined in drivers.c: registers every built-in driver. */
osiris_rc osiris_register_builtin_drivers(osiris_ctx *ctx);
/* Borrowed driver by name, NULL when unknown. */
const osiris_driver *osiris_driver_find(const osiris_ctx *ctx, const char *name);
size_t osiris_driver_count(const osiris_ctx *ctx);
const osiris_driver *osiris_driver_at(const osiris_ctx *ctx, size_t i, const char **name);

/* The step handle, valid during run() only. */
const char *osiris_step_id(const osiris_step *s);
/* The step's config: cfg minus component/connection meta keys.  Borrowed. */
const osiris_json *osiris_step_config(const osiris_step *s);
/* The resolved connection (secret values in memory only), or NULL when the
 * step has none.  Borrowed. */
const osiris_json *osiris_step_connection(const osiris_step *s);
/* Upstream frames: the i-th input and its name ("df_extract_movies",
 * "df", "input_df").  The same frame may appear under several names.
 * Borrowed: do not free or modify. */
size_t osiris_step_input_count(const osiris_step *s);
const osiris_frame *osiris_step_input(const osiris_step *s, size_t i, const char **name);
/* Hand the output frame to the runner (takes ownership). */
void osiris_step_set_output(osiris_step *s, osiris_frame *f);
/* Record the step's error message (secret values are scrubbed) and return
 * rc, so that a driver can write: return osiris_step_fail(s, rc, "..."). */
osiris_rc osiris_step_fail(osiris_step *s, osiris_rc rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Emit a metric tagged with step_id.  unit may be NULL. */
void osiris_step_metric(osiris_step *s, const char *name, double value, const char *unit);
/* Emit an event; step_id is added.  fields is an object or NULL and is
 * taken over (freed) by the call. */
void osiris_step_event(osiris_step *s, const char *event, osiris_json *fields);
/* Log a line to osiris.log (level 0 debug, 1 info, 2 warning, 3 error). */
void osiris_step_log(osiris_step *s, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The step's artifacts directory (exists), and the directory relative
 * paths in configs resolve against.  Borrowed. */
const char *osiris_step_artifacts_dir(const osiris_step *s);
const char *osiris_step_base_dir(const osiris_step *s);
/* Resolve a config path against the base directory; owned result. */
char *osiris_step_path(const osiris_step *s, const char *path);
/* Tell the run that a file was produced: emits artifact_created for files
 * under the run directory, output_written for others. */
void osiris_step_file_written(osiris_step *s, const char *path, const char *type);
/* Streaming between steps.  When a step's only consumer reads its input
 * in batches (OSIRIS_DRIVER_STREAMS_IN) and needs nothing else, the runner
 * runs the two steps together: the producer in a thread of its own, the
 * consumer as soon as the first batch is there, with a few batches in
 * memory at a time instead of the whole frame.
 *
 * Producer: build the output frame row by row as usual and call
 * osiris_step_flush(s, f) between rows (it is cheap enough for every row).
 * When the step is streamed and f holds enough rows, they move downstream
 * as one batch and f is left with its columns and no rows; otherwise
 * nothing happens.  The frame given to osiris_step_set_output at the end is
 * the last batch.  OSIRIS_ECANCEL means the consumer has stopped (it
 * failed) or the run was interrupted: stop and return that code. */
osiris_rc osiris_step_flush(osiris_step *s, osiris_frame *f);
/* Consumer: the first input batch by batch.  The first call yields a frame
 * with the columns (possibly no rows), later calls further batches with the
 * same columns, then *batch = NULL with OSIRIS_OK.  A batch is borrowed
 * until the next call.  An input that is not streamed comes as one batch.
 * OSIRIS_ECANCEL: the upstream step failed or the run was interrupted;
 * undo what was written and return that code. */
osiris_rc osiris_step_next(osiris_step *s, const osiris_frame **batch);
/* The batch last returned by osiris_step_next (if any) joined with every
 * later one: the whole input as one frame, borrowed until the step ends;
 * osiris_step_next then yields NULL.  For a consumer that must see every
 * value before writing (e.g. to size a column it creates). */
osiris_rc osiris_step_gather(osiris_step *s, const osiris_frame **all);
/* 1 when the step's input arrives as a stream (its row count is known only
 * at the end), 0 when it is one frame. */
int osiris_step_streamed(const osiris_step *s);
/* Projection of a streamed input.  A consumer that has seen the first
 * batch may say which of its columns it reads at all: used[c] nonzero for
 * each column c it reads, n the batch's column count.  The producer may
 * then leave every other column NULL in the batches it builds afterwards
 * (the columns and their types stay the same), so values nobody reads are
 * not converted and carried.  A consumer that says so must not look at
 * the values of the other columns.  OSIRIS_OK and nothing happens when the
 * input is not streamed. */
osiris_rc osiris_step_input_columns(osiris_step *s, const unsigned char *used, size_t n);
/* Producer: 0 when column col of its output is read by no one (its
 * streamed consumer said so with osiris_step_input_columns), else 1.  May
 * change from 1 to 0 while the step runs; cheap enough to ask per batch. */
int osiris_step_output_column_used(osiris_step *s, size_t col);

/* 1 once the run was asked to stop (SIGINT); long drivers poll it. */
int osiris_step_cancelled(const osiris_step *s);
/* Report how many rows a long step has handled so far.  Cheap enough to
 * call per batch: the runner forwards it to the context's progress
 * callback at most five times a second. */
void osiris_step_progress(osiris_step *s, int64_t rows);

/* A variable as the step's context sees it (osiris_ctx_getenv: the
 * environment, then the .env files), or NULL.  Borrowed, valid during
 * run().  In a remote run that is the worker's environment, which holds
 * only what the host passed (--e2b-pass-env; connections travel anyway).  A driver that resolves a "${VAR}" config value with it registers
 * the value with osiris_step_add_secret when it is a credential. */
const char *osiris_step_getenv(osiris_step *s, const char *name);
/* Scrub value from every later message, event, metric tag and log line of
 * the run, as the connection's secret values are (a credential the driver
 * read from a variable, or derived, such as a Basic credential).  The
 * value is copied; NULL and "" are ignored.  OSIRIS_ENOMEM. */
osiris_rc osiris_step_add_secret(osiris_step *s, const char *value);

/* ------------------------------------------------------------------ HTTP
 * One HTTP request of a driver, over libcurl, with osiris's retry policy
 * in one place:
 *   - 429, 5xx and network errors (connect, resolve, timeout, send/receive,
 *     empty reply) are retried, attempts requests in all; any other status
 *     or error is final at once (a 4xx is the caller's to judge).
 *   - The n-th wait is backoff_ms * 2^(n-1), at most backoff_max_ms, with
 *     jitter (a uniform draw in [wait/2, wait]).  A Retry-After header (in
 *     seconds) lengthens the wait to what the server asked, bounded by
 *     backoff_max_ms.
 *   - Each retry is an event "http_retry" (or retry_event) {request,
 *     attempt, attempts, http_status | error, delay_ms} and a warning log
 *     line.
 *   - The run's cancellation (SIGINT, osiris_ctx_cancel) and its --timeout
 *     stop a transfer and a wait at once: OSIRIS_ECANCEL.
 *   - Secrets: the value of every header but the content-negotiation ones
 *     (Accept*, Content-Type, Content-Length, User-Agent, Cache-Control,
 *     Connection, Expect, Prefer) is registered with the run's scrubber
 *     (osiris_step_add_secret), and so is the credential after the scheme
 *     word of (Proxy-)Authorization ("Bearer <token>"), a URL's user-info
 *     password and the value of a secret-named query parameter (api_key=,
 *     token=, ...).  Messages show the URL with its
 *     user info and query values as "***".  Redirects are not followed
 *     (a credential never travels to a host the caller did not name).
 *   - Only http:// and https://.  Plain http only to a loopback host
 *     (osiris_url_is_secure), or anywhere when the process environment has
 *     OSIRIS_ALLOW_INSECURE_HTTP=1 (then a "security_warning" event, once
 *     per step); insecure (no TLS verification) also warns once per step.
 */
typedef struct osiris_http_req {
  const char *method;         /* NULL: GET, or POST when body is not NULL */
  const char *url;
  const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL.
                               * With a body and no Content-Type: application/json */
  const char *body;           /* borrowed, or NULL */
  size_t body_len;
  long timeout_s;             /* whole transfer, per attempt; 0: 60 */
  int attempts;               /* requests in all; 0: 3; 1: no retry */
  long backoff_ms;            /* the first wait; 0: 1000 */
  long backoff_max_ms;        /* the longest wait, Retry-After included; 0: 30000 */
  int insecure;               /* 1: do not verify the TLS peer and host name */
  size_t max_response;        /* body bytes accepted (decoded); 0: 64 MiB */
  const char *what;           /* label of events and messages ("page 3"); NULL: the method */
  int *sent;                  /* not NULL: set to the number of requests sent */
  const char *retry_event;    /* name of the retry events; NULL: "http_retry" */
  char *error;                /* not NULL: a failure's message (scrubbed) is also
                               * copied here, error_cap bytes at most; "" on OK */
  size_t error_cap;
} osiris_http_req;

/* Send q (borrowed) and wait for the answer.  *status receives the final
 * HTTP status (0 when none arrived) and body (a buffer the caller owns and
 * frees with osiris_buf_free; its old contents are replaced) the final
 * response's body, NUL-terminated (p is never NULL after a response).
 * Returns:
 *   OSIRIS_OK      a response arrived: any status, also a 429/5xx after
 *                  the last attempt (logged as such); the caller judges it
 *   OSIRIS_EIO     no response after the last attempt (network error)
 *   OSIRIS_ECANCEL the run was cancelled or timed out
 *   OSIRIS_ELIMIT  the body is larger than max_response
 *   OSIRIS_EINVAL  no URL, a scheme other than http(s), plain http that is
 *                  not allowed, a header line without ':'
 *   OSIRIS_ENOMEM
 * On every code but OSIRIS_OK the step's error is set (osiris_step_fail,
 * scrubbed), so a driver can return the code as it is.  Call from the
 * step's own thread, during run(). */
osiris_rc osiris_step_http(osiris_step *s, const osiris_http_req *q, long *status,
                           osiris_buf *body);

/* osiris_step_http without a step, for a driver's check (doctor), where
 * no run exists: the same request loop and retry policy, the same return
 * codes, but no events, log lines or security warnings, and no
 * cancellation (the transfer timeout and attempts bound it).  On every
 * code but OSIRIS_OK, err (NULL or errcap 0: no message) receives the
 * message with the request's credentials (as listed above) replaced by
 * "***MASKED***", as the run's scrubber does; "" on OK.  Any thread. */
osiris_rc osiris_http(const osiris_http_req *q, long *status, osiris_buf *body, char *err,
                      size_t errcap);

/* --------------------------------------------------------------- context */

/* A new context (owned; osiris_ctx_free).  NULL when out of memory.
 * base_dir: where relative pipeline paths resolve and where
 * osiris_connections.yaml and .env are looked up; NULL for the CWD. */
osiris_ctx *osiris_ctx_new(const char *base_dir);
void osiris_ctx_free(osiris_ctx *ctx);
/* The last error of a context-level call; never NULL. */
const char *osiris_ctx_error(const osiris_ctx *ctx);
/* Ask runs of this context to stop (safe from a signal handler). */
void osiris_ctx_cancel(osiris_ctx *ctx);
/* Receives every log line (level as in osiris_step_log); for --verbose. */
typedef void (*osiris_log_fn)(void *user, int level, const char *line);
void osiris_ctx_set_log(osiris_ctx *ctx, osiris_log_fn fn, void *user);

/* Receives progress of long steps (rows so far, ms since the step began);
 * the CLI draws its --verbose progress line with it. */
typedef void (*osiris_progress_fn)(void *user, const char *step_id, int64_t rows,
                                   double elapsed_ms);
void osiris_ctx_set_progress(osiris_ctx *ctx, osiris_progress_fn fn, void *user);

/* Look up a variable: the process environment first, then the .env
 * files loaded by the context (never overriding the environment). */
const char *osiris_ctx_getenv(osiris_ctx *ctx, const char *name);
/* Give the context its .env from memory: text[0..len) (borrowed, parsed
 * during the call; NULL with len 0 is an empty file) replaces the .env
 * files it would read (from OSIRIS_HOME and base_dir); the environment
 * still wins.  OSIRIS_EINVAL when ctx is NULL or text NULL with len > 0,
 * OSIRIS_ENOMEM; on error the context is unchanged. */
osiris_rc osiris_ctx_set_dotenv(osiris_ctx *ctx, const char *text, size_t len);
/* Give the context its osiris_connections.yaml from memory: text[0..len)
 * (copied) is used instead of looking for the file, by validate, compile,
 * run, doctor and the remote adapters alike; ${VAR} references resolve as
 * for the file.  name (borrowed, NULL: "<memory>/osiris_connections.yaml")
 * stands for the file in messages.  The text is parsed when first used, so
 * its errors come from the call that uses it.  OSIRIS_EINVAL when ctx is
 * NULL or text NULL with len > 0, OSIRIS_ELIMIT, OSIRIS_ENOMEM; on error
 * the context is unchanged. */
osiris_rc osiris_ctx_set_connections(osiris_ctx *ctx, const char *text, size_t len,
                                     const char *name);

/* Check connections: for each connection (ref "@family.alias", "@family"
 * or NULL for all of osiris_connections.yaml) resolve it and call the
 * check of a driver of its family.  *report (owned) is {"file",
 * "connections":[{"ref","family","alias","ok","latency_ms","error"?}]} with
 * messages scrubbed of the connection's secret values.  Returns OSIRIS_OK
 * when every check passed, OSIRIS_ECONN otherwise. */
osiris_rc osiris_connections_doctor(osiris_ctx *ctx, const char *ref, osiris_json **report);

/* --------------------------------------------------------------- compile */
typedef struct osiris_compile_opts {
  const char *profile;            /* NULL: none */
  const char *const *params;      /* "k=v", NULL-terminated, or NULL */
  const char *out_dir;            /* NULL: <logs_dir>/compile_<id>/compiled */
  const char *logs_dir;           /* NULL: "logs" under base_dir */
} osiris_compile_opts;

/* Validate a pipeline.  *report (owned, may be NULL on ENOMEM) is
 * {"valid":bool,"file":..,"errors":[{type,message,location,line,col}],
 *  "warnings":[...]} listing every error at once.  Returns OSIRIS_OK when
 * valid, OSIRIS_EVALIDATE / OSIRIS_EPARSE / OSIRIS_ESECRET otherwise. */
osiris_rc osiris_validate(osiris_ctx *ctx, const char *pipeline_path, osiris_json **report);
/* The same for a pipeline held in memory: text[0..len) (borrowed, read
 * during the call only; NULL with len 0 is an empty document); name
 * (borrowed, NULL: "<memory>") stands for the file in messages and in the
 * report's "file".  Connections and .env are looked up as for a file in
 * base_dir.  OSIRIS_EUSAGE when ctx is NULL or text NULL with len > 0. */
osiris_rc osiris_validate_mem(osiris_ctx *ctx, const char *text, size_t len, const char *name,
                              osiris_json **report);

/* Compile a pipeline into manifest.yaml + cfg/<step>.json.  *result
 * (owned) is {"status","manifest_path","manifest_hash","manifest_short",
 * "pipeline_slug","profile","compile_dir","fingerprints",...} or, on a
 * validation failure, the same report osiris_validate gives. */
osiris_rc osiris_compile(osiris_ctx *ctx, const char *pipeline_path,
                         const osiris_compile_opts *opts, osiris_json **result);

/* ------------------------------------------------------------------- run
 * The execution-adapter contract (seed "Execution Adapter Guide") as C:
 * prepare (load manifest + cfg, preflight, materialize), execute (run the
 * steps), collect (status.json, run_card.json).  collect is called on every
 * path, failures included.  An adapter keeps its private state in the run.
 */
typedef struct osiris_run osiris_run;

typedef struct osiris_adapter {
  const char *name; /* "local", ... */
  osiris_rc (*prepare)(osiris_run *run);
  osiris_rc (*execute)(osiris_run *run);
  osiris_rc (*collect)(osiris_run *run);
} osiris_adapter;

/* The factory: register an adapter (borrowed) or find one by name. */
osiris_rc osiris_adapter_register(osiris_ctx *ctx, const osiris_adapter *a);
const osiris_adapter *osiris_adapter_find(const osiris_ctx *ctx, const char *name);

typedef struct osiris_run_opts {
  const char *adapter;            /* NULL: "local" */
  const char *profile;            /* for OML input */
  const char *const *params;      /* for OML input: "k=v", NULL-terminated */
  const char *logs_dir;           /* NULL: "logs" under base_dir */
  int verbose;                    /* 1: debug.log and debug log lines */
  /* The remote adapters ("sandbox", "e2b") read these two, and the last
   * field applies to every adapter: */
  const char *e2b_template;       /* NULL: "base" */
  int install_deps;               /* accepted: the static worker needs nothing */
  int timeout_s;                  /* > 0: bound the whole run: the run is cancelled then,
                                   * status.json reason "timed_out"; an E2B sandbox lives
                                   * the bound + 60 s at most.  0: no bound.  The
                                   * pipeline's timeout bounds it too (the smaller wins),
                                   * steps[i].timeout each step.  A run with any bound
                                   * wakes a step blocked in a system call with SIGURG:
                                   * a no-op handler without SA_RESTART is installed for
                                   * it unless the program handles SIGURG itself */
  /* Every adapter (the remote ones pass it to the worker): */
  int jobs;                       /* independent steps run at once, each in its own
                                   * thread (a streamed pair counts as one): steps
                                   * whose needs are done start in manifest order
                                   * while fewer than jobs run.  0: the number of
                                   * online cores where the steps run (the sandbox's
                                   * for a remote run); 1: one step after another in
                                   * the calling thread, as before; at most 64.  Each
                                   * step's own events keep their order whatever
                                   * jobs is; steps' events interleave in the files.
                                   * After the first failure nothing new starts, the
                                   * steps still running finish and are reported,
                                   * the rest are skipped.  Drivers must then be
                                   * safe to run in two threads at once (the
                                   * built-in ones are). */
  /* Resuming a failed run (every adapter): */
  int resumable;                  /* 1: also write every step's output frame to
                                   * artifacts/<step>/output.parquet (+ schema.json)
                                   * as it completes, keeping the frame in memory for
                                   * its consumers, and stream no pair (a streamed
                                   * frame is never whole).  0: only frames spilled
                                   * for memory are written.  Every run records
                                   * resume.json (fingerprints) in its directory */
  const char *resume_from;        /* NULL, or the id ("run_<id>" or "<id>") of a failed
                                   * run under logs_dir to resume: a NEW run in which
                                   * the steps that succeeded there are not executed
                                   * again (their saved outputs are linked or copied
                                   * into this run's artifacts/, a step_reused event
                                   * each); the failed step and everything after it
                                   * run.  path may be NULL: that run's own
                                   * manifest.yaml.  Refused before any run
                                   * directory is made, *out NULL, the reason in
                                   * osiris_ctx_error: OSIRIS_ENOTFOUND for an
                                   * unknown run, OSIRIS_EUSAGE when it succeeded,
                                   * the manifest, a step's config or an input file
                                   * of a reused step changed, or an output needed
                                   * downstream was not saved */
} osiris_run_opts;

/* Run a pipeline: path is OML (compiled first) or a compiled manifest.
 * Creates logs/run_<session_id>/ and always writes status.json there once
 * the session exists.  *out (owned, osiris_run_free) is set whenever a
 * session was created, even when the run failed; it is NULL when the
 * failure came before (then see osiris_ctx_error).  Returns OSIRIS_OK when
 * every step succeeded; OSIRIS_EVALIDATE/EPARSE/ESECRET/EUSAGE for compile
 * and input errors; the failing step's code otherwise.  path may be NULL
 * only with opts->resume_from. */
osiris_rc osiris_run_pipeline(osiris_ctx *ctx, const char *path,
                              const osiris_run_opts *opts, osiris_run **out);
/* Path of the newest compiled manifest under logs_dir (owned), or NULL. */
char *osiris_last_compile(osiris_ctx *ctx, const char *logs_dir);

const char *osiris_run_session_id(const osiris_run *run);
const char *osiris_run_dir(const osiris_run *run);
int osiris_run_ok(const osiris_run *run);
const char *osiris_run_error(const osiris_run *run);       /* "" when ok */
const char *osiris_run_failed_step(const osiris_run *run); /* NULL when none */
/* The contents of status.json (borrowed). */
const osiris_json *osiris_run_status(const osiris_run *run);
void osiris_run_free(osiris_run *run);

/* For adapters: the run's context, directory, manifest steps, and the
 * shared runner that executes steps in-process. */
osiris_ctx *osiris_run_ctx(osiris_run *run);
osiris_rc osiris_run_execute_local(osiris_run *run);

/* Compare two run directories (paths relative to the context's base dir).
 * *report (owned) is {"a","b","equivalent":bool,"differences":[text...],
 * "transport_only":[text...]}: events per step and in order, metrics with
 * tags and row counts, artifacts (sha256), status.json, run_card.json and
 * output files, ignoring times, durations, session ids and the adapter.
 * OSIRIS_ENOTFOUND when a directory is missing. */
osiris_rc osiris_runs_diff(osiris_ctx *ctx, const char *run_a, const char *run_b,
                           osiris_json **report);

/* --------------------------------------------------------------- worker
 * Run a commands file (one JSON command a line: ping, prepare, exec_step,
 * reuse_step (--resume: a step done in an earlier run, its saved output a
 * file of the package), cleanup) in session_dir with the same runner,
 * writing one JSON object a line to out_fd, and the same bytes to
 * session_dir/worker.out (created or truncated; a host that lost out_fd's
 * stream reads the rest there).
 * The manifest's steps[i].timeout bounds each step here (step_timeout
 * event, then step_failed); the run's own bound is the host's to keep.
 * prepare's "jobs" is osiris_run_opts.jobs (absent: 1, 0: this machine's
 * cores; the response says the value used); with more than 1 the first
 * exec_step runs every step, up to jobs at once, and each exec_step is
 * answered from its step's outcome.
 * Returns OSIRIS_OK when every command succeeded; OSIRIS_EIO when
 * worker.out cannot be created. */
osiris_rc osiris_worker_run(osiris_ctx *ctx, const char *commands_path,
                            const char *session_dir, int out_fd);

#ifdef __cplusplus
}
#endif
#endif /* OSIRIS_H */
