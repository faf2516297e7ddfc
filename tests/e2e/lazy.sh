#!/usr/bin/env bash
# The host CLI loads libcurl, libpq, libmariadb and libsqlite3 only when a
# step needs them (lazylib.c, issue 13 "Start-up"): `osiris version` loads
# none of them, a pipeline of CSV files and sql.processor libsqlite3 only,
# a MySQL step libmariadb only, a PostgreSQL step libpq only, an HTTP step
# libcurl only (the last three
# against a loopback port where nothing listens: the library is really
# called, and its own error comes back); and a library that cannot be
# loaded (hidden by an empty file bind-mounted over it, in a private mount
# namespace) is named in a clear message with its Debian package, and the
# run fails like any failed step, with status.json written.  What the
# dynamic loader loaded is read from its own trace (LD_DEBUG=libs).
. "$(dirname "$0")/lib.sh"

# loaded_libs TRACE: the base names the loader initialised, one a line.
loaded_libs() { sed -n 's|.*calling init: .*/||p' "$1" | sort -u; }

# traced ARGS...: run the binary with the loader's trace in $TRACE (its
# own stderr stays in $ERR, as with run_osiris).
E2E_TRACES=0
traced() {
  E2E_TRACES=$((E2E_TRACES + 1))
  TRACE=$PWD/.trace.$E2E_TRACES
  LD_DEBUG=libs LD_DEBUG_OUTPUT=$TRACE run_osiris "$@"
  cat "$TRACE".* >"$TRACE" 2>/dev/null
  rm -f "$TRACE".*
}

# assert_loads WANT...: of the four libraries, exactly WANT were loaded
# (and the trace is real: it shows libc being initialised).
assert_loads() {
  local got lib
  got=$(loaded_libs "$TRACE")
  if ! printf '%s\n' "$got" | grep -q '^libc\.so'; then
    fail "$E2E_CASE: the loader's trace shows no libc: LD_DEBUG did not work ($(head -c 300 "$TRACE"))"
    return
  fi
  for lib in libcurl.so.4 libpq.so.5 libmariadb.so.3 libsqlite3.so.0; do
    case " $* " in
      *" $lib "*) printf '%s\n' "$got" | grep -qx "$lib" && pass "$E2E_CASE loads $lib" ||
                    fail "$E2E_CASE: $lib was not loaded; loaded: $(echo $got)" ;;
      *) printf '%s\n' "$got" | grep -qx "$lib" && fail "$E2E_CASE: $lib was loaded; loaded: $(echo $got)" ||
           pass "$E2E_CASE does not load $lib" ;;
    esac
  done
}

# A loopback port where nothing listens (bound, then closed).
FREE_PORT=$(py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export LAZY_TEST_PASSWORD=lazy-not-a-secret

write_connections() {
  cat >osiris_connections.yaml <<EOF
version: 1
connections:
  mysql:
    nowhere:
      host: 127.0.0.1
      port: $FREE_PORT
      database: lazy
      user: lazy
      password: \${LAZY_TEST_PASSWORD}
  postgres:
    nowhere:
      host: 127.0.0.1
      port: $FREE_PORT
      database: lazy
      user: lazy
      password: \${LAZY_TEST_PASSWORD}
  graphql:
    nowhere:
      endpoint: http://127.0.0.1:$FREE_PORT/graphql
EOF
}

# one_step NAME COMPONENT CONFIG: NAME.yaml, the step and a CSV writer.
one_step() {
  cat >"$1.yaml" <<EOF
oml_version: "0.1.0"
name: $1
steps:
  - id: read
    component: $2
    mode: read
    config: $3
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config: {path: out/$1.csv}
EOF
}

mysql_step() { one_step mysql mysql.extractor '{connection: "@mysql.nowhere", query: "SELECT 1"}'; }
pg_step() { one_step pg postgres.extractor '{connection: "@postgres.nowhere", query: "SELECT 1"}'; }
http_step() { one_step http graphql.extractor '{connection: "@graphql.nowhere", query: "{ items { id } }", max_retries: 0}'; }

# ------------------------------------------------------------ the binary
new_case binary
for lib in libcurl libpq libmariadb libsqlite3; do
  if readelf -d "$OSIRIS" | grep NEEDED | grep -q "\[$lib\."; then
    fail "binary: $OSIRIS is linked with $lib"
  else
    pass "binary: not linked with $lib"
  fi
done
# The wrappers are not in the dynamic symbol table: a library loaded later
# must bind its own internal calls to itself, not to them.
exported=$(nm -D --defined-only "$OSIRIS" | awk '{print $3}' | grep -E '^(curl_|PQ|mysql_|sqlite3_)' | head -n 3)
assert_eq "" "$exported" "binary: no curl_/PQ/mysql_/sqlite3_ symbol is exported"

# ------------------------------------------------------------ version
new_case version
traced version
assert_exit 0 "osiris version"
assert_loads

# ------------------------------------------------------------ CSV + SQLite
new_case csv
copy_example
cat >csv.yaml <<'EOF'
oml_version: "0.1.0"
name: csv
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config: {path: examples/movies/data/movies.csv}
  - id: count
    component: sql.processor
    mode: transform
    needs: [read]
    config: {query: "SELECT COUNT(*) AS n FROM df"}
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [count]
    config: {path: out/count.csv}
EOF
traced run csv.yaml
assert_exit 0 "a CSV and SQLite pipeline runs"
assert_file out/count.csv
assert_loads libsqlite3.so.0

# ------------------------------------------------------------ each library
new_case mysql
write_connections
mysql_step
traced run mysql.yaml
assert_exit 1 "a MySQL step with no server fails"
assert_contains "$ERR" "MySQL connection to 127.0.0.1:$FREE_PORT/lazy failed"
assert_contains_i "$ERR" "Can't connect" "the error is libmariadb's own"
assert_loads libmariadb.so.3

new_case pg
write_connections
pg_step
traced run pg.yaml
assert_exit 1 "a PostgreSQL step with no server fails"
assert_contains "$ERR" "Is the server running on that host" "the error is libpq's own"
assert_loads libpq.so.5

new_case http
write_connections
http_step
traced run http.yaml
assert_exit 1 "an HTTP step with no server fails"
assert_contains "$ERR" "Couldn't connect to server" "the error is libcurl's own"
assert_loads libcurl.so.4

# ------------------------------------------------------------ a missing library
# hidden LIB PACKAGE YAML [STEP_ERROR]: the run with LIB's file replaced by
# an empty one.
hidden() {
  local lib=$1 package=$2 yaml=$3 step_error=${4:-} path empty=$E2E_WORK/empty.so
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  [ -n "$path" ] || { fail "missing/$lib: ldconfig does not know $lib"; return; }
  : >"$empty"
  E2E_CALLS=$((E2E_CALLS + 1))
  OUT=$PWD/.out.$E2E_CALLS ERR=$PWD/.err.$E2E_CALLS RC=0
  timeout 120 unshare --mount --propagation private sh -c \
    'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$empty" "$path" \
    "$OSIRIS" run "$yaml" >"$OUT" 2>"$ERR" </dev/null || RC=$?
  assert_exit 1 "missing/$lib: the run fails (no crash)"
  assert_contains "$ERR" "osiris: cannot load $lib (needed for "
  assert_contains "$ERR" "install the Debian package $package (apt-get install $package)"
  assert_eq false "$(json_get "$(newest_run_dir)/status.json" 'd["ok"]')" \
    "missing/$lib: status.json says the run failed"
  [ -z "$step_error" ] || assert_contains "$(newest_run_dir)/status.json" "$step_error"
}
new_case missing
if ! unshare --mount --propagation private true 2>/dev/null; then
  # Not a pass: the case did not run.
  echo "SKIP [lazy/missing]: unshare --mount is not permitted here (needs root)" >&2
else
  write_connections
  mysql_step
  pg_step
  http_step
  hidden libmariadb.so.3 libmariadb3 mysql.yaml
  hidden libpq.so.5 libpq5 pg.yaml
  hidden libcurl.so.4 libcurl4 http.yaml "cannot initialize libcurl"
  copy_example
  cp ../csv/csv.yaml .
  hidden libsqlite3.so.0 libsqlite3-0 csv.yaml "SQL error: cannot open SQLite: cannot load libsqlite3.so.0"
fi

finish
