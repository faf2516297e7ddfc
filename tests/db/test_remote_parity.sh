#!/usr/bin/env bash
# Database pipelines in the three adapters (issue "Remote execution", Tests:
# "the database pipelines once the databases issue has landed").  Run under
# tests/db/run.sh (servers up, OSIRIS_TEST_* exported) or alone after
# `eval "$(tests/db/servers.sh start)"`.
#
# Two pipelines shaped like the Osiris examples, each compiled ONCE and the
# same manifest run local, --sandbox local and --e2b (tests/fake_e2b):
#   tables:  three MySQL tables -> three CSV files (mysql_to_local_csv_all_tables)
#   to_pg:   MySQL x2 -> SQL processor (join + aggregate) -> postgres.writer
#            replace with a primary key (the target is reset to a stale state
#            before every run)
# Checks: exit 0; CSV outputs byte-identical across the three; the PostgreSQL
# table (dumped sorted with psql) identical after each run; `osiris runs diff`
# local vs each remote run clean (transport-only lines are listed apart);
# events equal but for transport events; no test password in any file of
# the host run dirs, the kept scratch/package dirs (OSIRIS_KEEP_SANDBOX=1),
# the fake's state dir or its upload/request log.  A probe run over --e2b
# shows the worker reached the databases on 127.0.0.1 (the servers see
# 127.0.0.1 as the client address) and that the fake's processes share the
# host's network namespace (only their mount namespace is private).
# Every run is bounded by `timeout`.  Prints "N passed, N failed" last.
# shellcheck disable=SC1091,SC2012,SC2016,SC2034  # sourced helpers set/read E2E_CASE
source "$(dirname "$0")/lib.sh"

RUN_TIMEOUT=${RUN_TIMEOUT:-60}
OSIRIS_WORKER=${OSIRIS_WORKER:-$E2E_ROOT/osiris-worker}
export OSIRIS_WORKER
export OSIRIS_KEEP_SANDBOX=1
FAKE_PID=
KEPT=()
T=rp_$$ # table prefix: nothing else in the test database is touched

cleanup() {
  local k
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; fi
  for k in "${KEPT[@]}"; do case $k in /*osiris*) rm -rf "$k" ;; esac; done
  my_sql "DROP TABLE IF EXISTS ${T}_actors, ${T}_movies, ${T}_reviews" >/dev/null 2>&1
  pg_sql "DROP TABLE IF EXISTS ${T}_movie_ratings" >/dev/null 2>&1
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work directory kept: $E2E_WORK" >&2; else rm -rf "$E2E_WORK"; fi
}
trap cleanup EXIT

for b in "$OSIRIS_WORKER" "$(command -v node || echo /nonexistent/node)"; do
  if [ ! -x "$b" ]; then
    fail "missing $b (make worker; node for the fake E2B)"
    finish
  fi
done
if ! "$OSIRIS" run --help 2>&1 | grep -q -- '--sandbox'; then
  fail "$OSIRIS run does not know --sandbox"
  finish
fi

# ------------------------------------------------------------- fake E2B
# As tests/remote/common.sh fake_start does.
node "$E2E_ROOT/tests/fake_e2b/server.mjs" --port 0 --parent-pid $$ \
  >"$E2E_WORK/fake.out" 2>"$E2E_WORK/fake.err" &
FAKE_PID=$!
for _ in $(seq 1 600); do [ -s "$E2E_WORK/fake.out" ] && break; kill -0 "$FAKE_PID" 2>/dev/null || break; sleep 0.1; done
fake_info() { head -1 "$E2E_WORK/fake.out" | py -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
if ! E2B_API_KEY=$(fake_info api_key); then
  fail "fake E2B did not start: $(head -c 400 "$E2E_WORK/fake.err")"
  finish
fi
E2B_API_URL=$(fake_info api_url)
E2B_SANDBOX_URL=$E2B_API_URL
FAKE_URL=$E2B_API_URL
FAKE_STATE_DIR=$(fake_info state_dir)
FAKE_NS=$(fake_info namespace)
export E2B_API_KEY E2B_API_URL E2B_SANDBOX_URL
fake_get() { curl -s --max-time 10 "$FAKE_URL$1"; }

# ------------------------------------------------------------- helpers
# run_mode MODE MANIFEST: one bounded run; sets RC, OUT, ERR, RUN_DIR.
run_mode() {
  local mode=$1 manifest=$2 prev
  local args=(run "$manifest")
  case $mode in
    sandbox) args+=(--sandbox local) ;;
    e2b) args+=(--e2b) ;;
  esac
  prev=$(newest_run_dir)
  E2E_TIMEOUT=$RUN_TIMEOUT run_osiris "${args[@]}"
  RUN_DIR=$(newest_run_dir)
  [ "$RUN_DIR" != "$prev" ] || RUN_DIR=
  if [ -n "$RUN_DIR" ] && [ "$mode" != local ]; then
    local k
    k=$(py -c '
import json, sys
for l in open(sys.argv[1] + "/events.jsonl"):
    e = json.loads(l)
    if e["event"] == "sandbox_deleted" and e.get("kept"): print(e["kept"])' "$RUN_DIR")
    if [ -n "$k" ]; then KEPT+=("$k"); fi
  fi
}

# events of two runs equal except timestamps, durations, paths, hashes and
# transport events (the same comparison as tests/remote/common.sh)
EVENTS_EQUAL=$(cd "$(dirname "$0")/../remote" && pwd)/events_equal.py
events_equal() {
  py "$EVENTS_EQUAL" "$1" "$2" 2>&1
}

# compile_once PIPELINE: sets MANIFEST (absolute)
compile_once() {
  local prev
  prev=$(ls -td logs/compile_* 2>/dev/null | head -1)
  run_osiris compile "$1"
  assert_exit 0 "compile $1"
  MANIFEST=$(ls -td "$PWD"/logs/compile_*/compiled/manifest.yaml 2>/dev/null | head -1)
  if [ -z "$MANIFEST" ] || [ "$(dirname "$(dirname "$MANIFEST")")" = "$PWD/$prev" ]; then
    fail "no new compiled manifest for $1"
    MANIFEST=
  fi
}

# parity MODE: the checks every remote run gets against the local one
remote_checks() { # MODE LOCAL_DIR REMOTE_DIR
  local mode=$1 a=$2 b=$3 drc
  assert_file "$b/commands.jsonl"
  assert_eq "$(json_get "$a/status.json" 'd["total_rows"]')" "$(json_get "$b/status.json" 'd["total_rows"]')" \
    "$mode: status total_rows equals local"
  assert_eq "$(json_get "$a/status.json" 'd["steps_completed"]')" \
    "$(json_get "$b/status.json" 'd["steps_completed"]')" "$mode: steps_completed equals local"
  if events_equal "$a" "$b" >"$E2E_WORK/ev.diff" 2>&1; then
    pass "$mode: events equal local"
  else
    fail "$mode: events differ from local: $(head -c 800 "$E2E_WORK/ev.diff")"
  fi
  timeout 30 "$OSIRIS" runs diff "$a" "$b" >"$E2E_WORK/diff.txt" 2>&1
  drc=$?
  if [ "$drc" = 0 ]; then
    pass "$mode: osiris runs diff clean"
  else
    fail "$mode: osiris runs diff exit $drc: $(grep -v '^  ' "$E2E_WORK/diff.txt" | head -c 600)"
  fi
}

# ------------------------------------------------------------- data
# MySQL: three tables with awkward values (quotes, commas, newlines, UTF-8,
# NULLs, decimals, dates and times).
py - "$T" >"$E2E_WORK/seed.sql" <<'EOF'
import sys
t = sys.argv[1]
def q(v):
    if v is None: return "NULL"
    if isinstance(v, (int, float)): return repr(v)
    return "'" + v.replace("\\", "\\\\").replace("'", "''") + "'"
out = [f"""DROP TABLE IF EXISTS {t}_actors, {t}_movies, {t}_reviews;
CREATE TABLE {t}_actors (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, born DATE NULL, bio TEXT NULL)
  DEFAULT CHARSET=utf8mb4;
CREATE TABLE {t}_movies (id INT PRIMARY KEY, title VARCHAR(120) NOT NULL, year SMALLINT,
  budget DECIMAL(14,2) NULL, released DATETIME NULL, rating DOUBLE NULL) DEFAULT CHARSET=utf8mb4;
CREATE TABLE {t}_reviews (id INT PRIMARY KEY, movie_id INT NOT NULL, reviewer VARCHAR(40),
  stars TINYINT NOT NULL, comment TEXT NULL, at DATETIME(3) NOT NULL) DEFAULT CHARSET=utf8mb4;"""]
names = ["Zoë Saldaña", "O'Brien, Pat", 'Dwayne "The Rock" Johnson', "李连杰", "Ana\nNewline",
         "plain", "Émile 🎬", "trailing space ", "", "back\\slash"]
rows = []
for i in range(1, 31):
    n = names[i % len(names)] + ("" if i < len(names) else f" #{i}")
    born = None if i % 7 == 0 else f"19{50 + i:02d}-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
    bio = None if i % 5 == 0 else f"bio {i}, with \"quotes\"; tab\there"
    rows.append(f"({i},{q(n)},{q(born)},{q(bio)})")
out.append(f"INSERT INTO {t}_actors VALUES " + ",".join(rows) + ";")
rows = []
for i in range(1, 26):
    budget = None if i % 6 == 0 else f"{i * 1234567.89 % 99999999:.2f}"
    rel = None if i % 9 == 0 else f"{1960 + i * 2}-0{i % 9 + 1}-1{i % 9} 1{i % 10}:0{i % 6}:3{i % 10}"
    rating = None if i % 8 == 0 else round(5 + (i * 37 % 50) / 10, 1)
    rows.append(f"({i},{q('Movie ' + str(i) + (', the sequel' if i % 4 == 0 else ''))},"
                f"{1960 + i * 2},{budget if budget else 'NULL'},{q(rel)},{q(rating)})")
out.append(f"INSERT INTO {t}_movies VALUES " + ",".join(rows) + ";")
rows = []
for i in range(1, 121):
    m = i * 7 % 23 + 1  # movies 24 and 25 get no review
    c = None if i % 10 == 0 else ["great", "meh, ok", "\"classic\"", "naïve ☆", "multi\nline"][i % 5]
    rows.append(f"({i},{m},{q('rev' + str(i % 13))},{i % 5 + 1},{q(c)},"
                f"'2024-0{i % 9 + 1}-{i % 28 + 1:02d} 0{i % 10}:{i % 60:02d}:{i % 60:02d}.{i * 7 % 1000:03d}')")
out.append(f"INSERT INTO {t}_reviews VALUES " + ",".join(rows) + ";")
print("\n".join(out))
EOF
if my_sql "$(cat "$E2E_WORK/seed.sql")"; then pass "MySQL tables created"; else fail "cannot create the MySQL tables"; finish; fi
assert_eq 30 "$(my_sql "SELECT COUNT(*) FROM ${T}_actors")" "30 actors"

# the target of the replace, reset to a stale state before every run
reset_pg_target() {
  pg_sql "DROP TABLE IF EXISTS ${T}_movie_ratings;
    CREATE TABLE ${T}_movie_ratings (movie_id bigint PRIMARY KEY, title text NOT NULL,
      reviews bigint, avg_stars double precision, last_review text);
    INSERT INTO ${T}_movie_ratings VALUES (1, 'stale title', 0, 0, NULL), (999, 'stale row', 1, 1, 'x')"
}
pg_dump_sorted() { pg_csv "SELECT * FROM ${T}_movie_ratings ORDER BY movie_id"; }

new_case pipelines
write_connections
cat >tables.yaml <<YAML
oml_version: "0.1.0"
name: "mysql to local csv, all tables"
steps:
  - id: extract-actors
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT * FROM ${T}_actors ORDER BY id"
  - id: write-actors-csv
    component: filesystem.csv_writer
    mode: write
    needs: [extract-actors]
    config:
      path: output/actors.csv
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      table: ${T}_movies
  - id: write-movies-csv
    component: filesystem.csv_writer
    mode: write
    needs: [extract-movies]
    config:
      path: output/movies.csv
  - id: extract-reviews
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT id, movie_id, reviewer, stars, comment, at FROM ${T}_reviews ORDER BY id"
  - id: write-reviews-csv
    component: filesystem.csv_writer
    mode: write
    needs: [extract-reviews]
    config:
      path: output/reviews.csv
YAML
cat >to_pg.yaml <<YAML
oml_version: "0.1.0"
name: "mysql to postgres via sql"
steps:
  - id: extract-movies
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT id, title FROM ${T}_movies ORDER BY id"
  - id: extract-reviews
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      table: ${T}_reviews
  - id: movie-ratings
    component: sql.processor
    mode: transform
    needs: [extract-movies, extract-reviews]
    config:
      query: |
        SELECT m.id AS movie_id, m.title AS title, COUNT(r.id) AS reviews,
               ROUND(AVG(r.stars), 3) AS avg_stars, MAX(r.at) AS last_review
        FROM df_extract_movies m JOIN df_extract_reviews r ON r.movie_id = m.id
        GROUP BY m.id, m.title
        ORDER BY m.id
  - id: load-ratings
    component: postgres.writer
    mode: write
    needs: [movie-ratings]
    config:
      connection: "@postgres.test"
      table: ${T}_movie_ratings
      write_mode: replace
      primary_key: movie_id
YAML

# ------------------------------------------------------------- tables -> CSV
E2E_CASE=tables
compile_once tables.yaml
declare -A DIRS=()
if [ -n "$MANIFEST" ]; then
  for mode in local sandbox e2b; do
    rm -rf output
    run_mode "$mode" "$MANIFEST"
    DIRS[$mode]=$RUN_DIR
    assert_exit 0 "tables $mode: exit 0"
    for f in actors movies reviews; do
      if [ -s "output/$f.csv" ]; then cp "output/$f.csv" "$E2E_WORK/$f.$mode.csv"; pass "$mode wrote $f.csv"; else fail "$mode: no output/$f.csv"; fi
    done
    assert_eq 3 "$(count_events "$RUN_DIR" output_written)" "tables $mode: 3 output_written events"
  done
  for f in actors movies reviews; do
    for mode in sandbox e2b; do
      assert_files_equal "$E2E_WORK/$f.local.csv" "$E2E_WORK/$f.$mode.csv" "tables: $f.csv $mode byte-identical to local"
    done
  done
  assert_eq 31 "$(py -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], encoding="utf-8")))))' "$E2E_WORK/actors.local.csv")" \
    "actors.csv: header + 30 rows (embedded newlines quoted)"
  assert_contains "$E2E_WORK/actors.local.csv" '"O'"'"'Brien, Pat"'
  for mode in sandbox e2b; do
    [ -n "${DIRS[local]}" ] && [ -n "${DIRS[$mode]}" ] && remote_checks "tables $mode" "${DIRS[local]}" "${DIRS[$mode]}"
  done
fi

# ------------------------------------------------------------- MySQL -> SQL -> PostgreSQL replace
E2E_CASE=to_pg
compile_once to_pg.yaml
DIRS=()
if [ -n "$MANIFEST" ]; then
  for mode in local sandbox e2b; do
    reset_pg_target || fail "cannot reset the PostgreSQL target"
    run_mode "$mode" "$MANIFEST"
    DIRS[$mode]=$RUN_DIR
    assert_exit 0 "to_pg $mode: exit 0"
    pg_dump_sorted >"$E2E_WORK/pg.$mode.csv" 2>&1
  done
  assert_eq "23" "$(($(wc -l <"$E2E_WORK/pg.local.csv") - 1))" "to_pg: 23 movies with reviews in the target"
  assert_not_contains "$E2E_WORK/pg.local.csv" "stale" "to_pg: replace removed the stale rows"
  assert_eq "$(my_sql "SELECT COUNT(*) FROM ${T}_reviews WHERE movie_id = 1")" \
    "$(py -c 'import csv,sys; print([r for r in csv.DictReader(open(sys.argv[1]))][0]["reviews"])' "$E2E_WORK/pg.local.csv")" \
    "to_pg: movie 1 review count as in MySQL"
  for mode in sandbox e2b; do
    assert_files_equal "$E2E_WORK/pg.local.csv" "$E2E_WORK/pg.$mode.csv" "to_pg: PostgreSQL table after $mode equals after local"
  done
  for mode in local sandbox e2b; do
    [ -n "${DIRS[$mode]}" ] || continue
    assert_contains "${DIRS[$mode]}/events.jsonl" \
      '"event":"write.complete","step_id":"load-ratings","table":"'"${T}"'_movie_ratings","mode":"replace","rows_written":23'
  done
  for mode in sandbox e2b; do
    [ -n "${DIRS[local]}" ] && [ -n "${DIRS[$mode]}" ] && remote_checks "to_pg $mode" "${DIRS[local]}" "${DIRS[$mode]}"
  done
fi

# ------------------------------------------------------------- the worker reached 127.0.0.1
# The servers report the client address they see.  The worker is held
# inside step mysql-client while we compare its namespaces with ours: a
# MariaDB session of the test holds a named lock, the probe's GET_LOCK
# waits for it, and only closing that session lets the worker go on
# (no bet on how long a SLEEP outlasts our polling).
E2E_CASE=network
LOCK=osiris_probe_$T
mkfifo "$E2E_WORK/lock.in"
mariadb --no-defaults -h "$OSIRIS_TEST_MYSQL_HOST" -P "$OSIRIS_TEST_MYSQL_PORT" -u "$OSIRIS_TEST_MYSQL_USER" \
  -p"$OSIRIS_TEST_MYSQL_PASSWORD" -B -N --unbuffered "$OSIRIS_TEST_MYSQL_DB" \
  <"$E2E_WORK/lock.in" >"$E2E_WORK/lock.out" 2>&1 &
LOCK_PID=$!
exec 7>"$E2E_WORK/lock.in"
echo "SELECT GET_LOCK('$LOCK', 0);" >&7
for _ in $(seq 1 600); do # 60 s at most
  grep -qx 1 "$E2E_WORK/lock.out" && break
  kill -0 "$LOCK_PID" 2>/dev/null || break
  sleep 0.1
done
assert_eq 1 "$(cat "$E2E_WORK/lock.out")" "the test's session holds the lock $LOCK"
cat >probe.yaml <<YAML
oml_version: "0.1.0"
name: "where does the worker connect from"
steps:
  - id: mysql-client
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.test"
      query: "SELECT SUBSTRING_INDEX(USER(), '@', -1) AS client_host, GET_LOCK('${LOCK}', 120) AS locked"
  - id: write-mysql-client
    component: filesystem.csv_writer
    mode: write
    needs: [mysql-client]
    config:
      path: output/mysql_client.csv
  - id: pg-client
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.test"
      query: "SELECT host(inet_client_addr()) AS client_host, inet_server_port() AS server_port"
  - id: write-pg-client
    component: filesystem.csv_writer
    mode: write
    needs: [pg-client]
    config:
      path: output/pg_client.csv
YAML
rm -rf output
fake_get /_fake/state | py -c 'import json,sys; print(len(json.load(sys.stdin)["processes"]))' >"$E2E_WORK/nproc0" 2>/dev/null
( run_mode e2b probe.yaml; echo "$RC" >"$E2E_WORK/probe.rc"; printf '%s\n' "${KEPT[@]}" >"$E2E_WORK/probe.kept" ) 7>&- &
PROBE=$!
wpid=
for _ in $(seq 1 600); do # 60 s at most: the worker cannot end before we close the lock session
  kill -0 "$PROBE" 2>/dev/null || break
  wpid=$(fake_get /_fake/state | py -c '
import json, sys
s = json.load(sys.stdin)
for p in s.get("processes", [])[int(sys.argv[1]):]:
    if "osiris-worker" in p.get("cmd", "") and not p.get("ended_at"):
        print(p["pid"]); break' "$(cat "$E2E_WORK/nproc0" 2>/dev/null || echo 0)" 2>/dev/null)
  [ -n "$wpid" ] && break
  sleep 0.1
done
if [ -n "$wpid" ] && [ -e "/proc/$wpid/ns/net" ]; then
  w_net=$(readlink "/proc/$wpid/ns/net"); w_mnt=$(readlink "/proc/$wpid/ns/mnt")
  assert_eq "$(readlink /proc/self/ns/net)" "$w_net" "fake E2B worker (pid $wpid) shares the host network namespace"
  if [ "$FAKE_NS" = True ] || [ "$FAKE_NS" = true ]; then
    if [ "$(readlink /proc/self/ns/mnt)" != "$w_mnt" ]; then pass "fake E2B worker has a private mount namespace"; else fail "fake E2B worker shares our mount namespace"; fi
  else
    echo "  note: the fake runs without mount namespaces (namespace=$FAKE_NS)" >&2
  fi
else
  fail "could not see the fake's worker process (pid '$wpid') to compare namespaces"
fi
echo "SELECT RELEASE_LOCK('$LOCK');" >&7 # the probe goes on
exec 7>&-                                 # and the session ends
wait "$LOCK_PID"
wait "$PROBE"
[ -f "$E2E_WORK/probe.kept" ] && mapfile -t KEPT <"$E2E_WORK/probe.kept"
assert_eq 0 "$(cat "$E2E_WORK/probe.rc" 2>/dev/null)" "probe over --e2b: exit 0"
assert_eq "client_host,locked
127.0.0.1,1" "$(cat output/mysql_client.csv 2>/dev/null)" "MariaDB saw the e2b worker connect from 127.0.0.1"
assert_eq "client_host,server_port
127.0.0.1,$OSIRIS_TEST_PG_PORT" "$(cat output/pg_client.csv 2>/dev/null)" "PostgreSQL saw the e2b worker connect from 127.0.0.1"

# ------------------------------------------------------------- TLS files
# A connection's CA file (a relative path in osiris_connections.yaml) is
# read where the step runs: a remote run ships it (the fake's sandboxes do
# not see the host's /tmp), and --dry-run lists it with its size.
E2E_CASE=tls_files
if [ -s "${OSIRIS_TEST_TLS_CA:-}" ]; then
  mkdir -p tlsproj/certs && cp "$OSIRIS_TEST_TLS_CA" tlsproj/certs/ca.pem
  cd tlsproj || fail "no tlsproj"
    cat >osiris_connections.yaml <<'YAML'
connections:
  postgres:
    tls:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: verify-full
      sslrootcert: certs/ca.pem
  mysql:
    tls:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
      ssl_mode: VERIFY_IDENTITY
      ssl_ca: certs/ca.pem
YAML
    cat >tls.yaml <<'YAML'
oml_version: "0.1.0"
name: tls-files
steps:
  - id: pg
    component: postgres.extractor
    mode: read
    config:
      connection: "@postgres.tls"
      query: "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
  - id: pg-out
    component: filesystem.csv_writer
    mode: write
    needs: [pg]
    config:
      path: out/pg.csv
  - id: my
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.tls"
      query: "SHOW SESSION STATUS LIKE 'Ssl_cipher'"
  - id: my-out
    component: filesystem.csv_writer
    mode: write
    needs: [my]
    config:
      path: out/my.csv
YAML
    for mode in local sandbox e2b; do
      rm -rf out
      run_mode "$mode" tls.yaml
      assert_exit 0 "tls_files $mode: exit 0 [$(head -c 300 "$ERR")]"
      assert_eq "ssl,true" "$(tr '\n' , <out/pg.csv 2>/dev/null | sed 's/,$//')" "tls_files $mode: PostgreSQL verify-full session is encrypted"
      assert_matches out/my.csv '^Ssl_cipher,[A-Z0-9_-]+$' "tls_files $mode: MySQL VERIFY_IDENTITY session is encrypted"
    done
    run_osiris run tls.yaml --e2b --dry-run
    assert_exit 0 "tls_files: --dry-run exits 0"
    assert_matches "$OUT" "certs/ca.pem +$(stat -c %s certs/ca.pem) bytes +sslrootcert of connection @postgres.tls" \
      "tls_files: --dry-run lists the PostgreSQL CA with its size"
    assert_matches "$OUT" "certs/ca.pem +$(stat -c %s certs/ca.pem) bytes +ssl_ca of connection @mysql.tls" \
      "tls_files: --dry-run lists the MySQL CA with its size"
  cd ..
  fake_get /_fake/state >"$E2E_WORK/state.json"
  if py -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(0 if "_files/conn/" in json.dumps(s["uploads"]) else 1)' "$E2E_WORK/state.json"; then
    pass "tls_files: the CA went to the fake sandbox in the package"
  else
    fail "tls_files: no _files/conn/ upload in the fake's state"
  fi
else
  fail "OSIRIS_TEST_TLS_CA is not a file (servers started by an older servers.sh?)"
fi

# ------------------------------------------------------------- secrets
E2E_CASE=secrets
SECRETS=("$OSIRIS_TEST_MYSQL_PASSWORD" "$OSIRIS_TEST_PG_PASSWORD" "$OSIRIS_TEST_PG_DSN")
hits() { # files under "${SCAN[@]}" holding a secret value
  local s
  for s in "${SECRETS[@]}"; do grep -rlF -- "$s" "${SCAN[@]}" 2>/dev/null; done | sort -u
}
SCAN=("$E2E_WORK/pipelines/logs" "$E2E_WORK/pipelines/tlsproj/logs")
h=$(hits); assert_eq "" "$h" "no DB password in any host run/compile dir"
SCAN=(); for k in "${KEPT[@]}"; do [ -d "$k" ] && SCAN+=("$k"); done
assert_eq 7 "${#SCAN[@]}" "kept scratch/package dirs of the 7 remote runs found (OSIRIS_KEEP_SANDBOX=1)"
if [ "${#SCAN[@]}" -gt 0 ]; then h=$(hits); assert_eq "" "$h" "no DB password in the kept scratch/package dirs"; fi
if [ "${#SCAN[@]}" -gt 0 ]; then
  if grep -rqs 'OSIRIS_SECRET_' "${SCAN[@]}"; then pass "connections shipped as env references"; else fail "no OSIRIS_SECRET_ reference in the package"; fi
fi
SCAN=("$FAKE_STATE_DIR")
if [ -d "$FAKE_STATE_DIR" ]; then
  h=$(hits); assert_eq "" "$h" "no DB password in the fake's sandbox dirs"
  h=$(grep -rlF -- "$E2B_API_KEY" "$FAKE_STATE_DIR" 2>/dev/null); assert_eq "" "$h" "E2B_API_KEY not in the fake's sandbox dirs"
else
  fail "fake state dir $FAKE_STATE_DIR missing"
fi
fake_get /_fake/state >"$E2E_WORK/state.json"
if py -c '
import json, sys
s = json.load(open(sys.argv[1]))
blob = json.dumps({"uploads": s["uploads"], "requests": s["requests"], "live": s["live"], "deleted": s["deleted"]})
sys.exit(1 if any(x in blob for x in sys.argv[2:]) else 0)' "$E2E_WORK/state.json" "${SECRETS[@]}"; then
  pass "no DB password in the fake's uploads/requests"
else
  fail "a DB password in the fake's uploads/requests"
fi
if py -c '
import json, sys
s = json.load(open(sys.argv[1]))
w = [p for p in s["processes"] if "osiris-worker" in p["cmd"]]
sys.exit(0 if len(w) >= 3 and all(sys.argv[2] in p["envs"].values() for p in w) else 1)' "$E2E_WORK/state.json" "$OSIRIS_TEST_MYSQL_PASSWORD"; then
  pass "the password reached every e2b worker as process environment"
else
  fail "the password did not reach the e2b workers through envs"
fi
assert_eq 0 "$(py -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["live"]))' "$E2E_WORK/state.json")" "every fake sandbox deleted"

finish
