#!/usr/bin/env bash
# bench/db_bench.sh -- database benchmarks of osiris against the native
# clients, on throwaway MariaDB + PostgreSQL servers (tests/db/servers.sh,
# started here and stopped on exit).  Called at the end of bench/run.sh
# (`make bench`) unless BENCH_SKIP_DB=1; runs on its own too.
#
#   (a) MySQL -> CSV:   `mariadb --batch --quick -e 'SELECT * FROM movies_big' > out.tsv`
#                       vs osiris mysql.extractor -> filesystem.csv_writer; goal <= 1.2x
#   (b) CSV -> PG:      `psql -c "\copy movies_big FROM 'f.csv' CSV HEADER"` into the
#                       emptied table vs osiris csv_extractor -> postgres.writer
#                       (append into the emptied table); goal <= 1.2x
#   (c) MySQL -> PG:    osiris mysql.extractor -> postgres.writer; rows/s, peak RSS
#
# Wall time and peak RSS come from /usr/bin/time -v (client side only: the
# servers' own memory is not counted, for either side).  Baseline and osiris
# runs alternate (b o b o b o) so that load from other work on the machine
# hits both alike; the median of each is reported.  Row counts and column
# checksums are verified after every load and export; a mismatch fails.
#
# Data set movies_big (shared/BASELINES.md): bench/gen_movies.py's CSV
# (deterministic, shared with bench/run.sh), converted here to TSV for
# LOAD DATA LOCAL INFILE; PostgreSQL reads the CSV itself.
#
# Environment:
#   OSIRIS=./osiris          binary under test
#   BENCH_ROWS=1000000       rows (e.g. 100000 while developing)
#   BENCH_REPS=3             runs per case (median); BENCH_QUICK=1: one run
#   BENCH_DB_DIR=DIR         server state directory (default /tmp/osiris-bench-db-<uid>,
#                            apart from the tests' servers so neither stops the other)
#   BENCH_KEEP_SERVERS=1     leave the servers running (and the state directory) on exit
#   BENCH_NO_INSTALL=1       never apt-get (the `time` package)
# Output: a table on stdout, bench/out/db_bench.json; work files in bench/out/db/.
# Exit: 0 measured (a missed goal is reported, not fatal), 1 a run or a
# verification failed, 2 setup failed.
set -u
cd "$(dirname "$0")/.." || exit 2

OSIRIS=${OSIRIS:-./osiris}
ROWS=${BENCH_ROWS:-1000000}
REPS=${BENCH_REPS:-3}
[ "${BENCH_QUICK:-0}" = 1 ] && REPS=1
OUTDIR=bench/out
WORK=$OUTDIR/db
JSON_OUT=$OUTDIR/db_bench.json
GOAL_A=1.2
GOAL_B=1.2
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}
PGBIN=/usr/lib/postgresql/15/bin
export OSIRIS_TEST_DB_DIR=${BENCH_DB_DIR:-/tmp/osiris-bench-db-$(id -u)}

die() { echo "db_bench: $*" >&2; exit "${2:-1}"; }

[ -x "$OSIRIS" ] || die "$OSIRIS not found; run make first" 2
mkdir -p "$WORK" || exit 2

if [ ! -x /usr/bin/time ]; then
  if [ "${BENCH_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "db_bench: installing time ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1; }
  fi
  [ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)" 2
fi

# ------------------------------------------------------------ servers
cleanup() {
  rm -f "$WORK/client.cnf"
  if [ "${BENCH_KEEP_SERVERS:-0}" != 1 ]; then
    bash tests/db/servers.sh stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== db: starting MariaDB + PostgreSQL in $OSIRIS_TEST_DB_DIR"
SERVER_ENV=$(bash tests/db/servers.sh start) || die "tests/db/servers.sh start failed" 2
eval "$SERVER_ENV"

# The mariadb client reads the credentials from a private option file (no
# password on the command line); psql from PGPASSWORD.
(umask 077 && cat >"$WORK/client.cnf" <<EOF
[client]
host=$OSIRIS_TEST_MYSQL_HOST
port=$OSIRIS_TEST_MYSQL_PORT
user=$OSIRIS_TEST_MYSQL_USER
password=$OSIRIS_TEST_MYSQL_PASSWORD
database=$OSIRIS_TEST_MYSQL_DB
default-character-set=utf8mb4
EOF
) || exit 2
MY=(mariadb --defaults-file="$WORK/client.cnf")
export PGPASSWORD=$OSIRIS_TEST_PG_PASSWORD PGOPTIONS="-c client_min_messages=warning"
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$OSIRIS_TEST_PG_HOST" -p "$OSIRIS_TEST_PG_PORT"
  -U "$OSIRIS_TEST_PG_USER" -d "$OSIRIS_TEST_PG_DB")
[ -x "${PSQL[0]}" ] || PSQL[0]=psql

# osiris finds its connections through OSIRIS_HOME; secrets stay ${VAR}s.
export OSIRIS_HOME=$WORK/home
mkdir -p "$OSIRIS_HOME"
cat >"$OSIRIS_HOME/osiris_connections.yaml" <<'YAML'
connections:
  mysql:
    bench:
      host: ${OSIRIS_TEST_MYSQL_HOST}
      port: ${OSIRIS_TEST_MYSQL_PORT}
      database: ${OSIRIS_TEST_MYSQL_DB}
      user: ${OSIRIS_TEST_MYSQL_USER}
      password: ${OSIRIS_TEST_MYSQL_PASSWORD}
  postgres:
    bench:
      host: ${OSIRIS_TEST_PG_HOST}
      port: ${OSIRIS_TEST_PG_PORT}
      database: ${OSIRIS_TEST_PG_DB}
      user: ${OSIRIS_TEST_PG_USER}
      password: ${OSIRIS_TEST_PG_PASSWORD}
      sslmode: disable
YAML

# ------------------------------------------------------------ data
DATA=$OUTDIR/movies_$ROWS.csv
TSV=$WORK/movies_$ROWS.tsv
if [ ! -s "$DATA" ] || [ bench/gen_movies.py -nt "$DATA" ]; then
  echo "== db: generating $ROWS rows -> $DATA"
  "$PY" bench/gen_movies.py "$ROWS" "$DATA" >/dev/null || die "generator failed"
fi
if [ ! -s "$TSV" ] || [ "$DATA" -nt "$TSV" ]; then
  echo "== db: converting to TSV -> $TSV"
  # MySQL's default LOAD DATA format: tab-separated, backslash escapes, \N
  # for NULL (the empty director).
  "$PY" - "$DATA" "$TSV" <<'PY' || die "TSV conversion failed"
import csv, os, sys
src, dst = sys.argv[1], sys.argv[2]
def esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
with open(src, encoding="utf-8", newline="") as fi, \
     open(dst + ".tmp", "w", encoding="utf-8", newline="") as fo:
    r = csv.reader(fi)
    next(r)
    for row in r:
        cells = [esc(c) for c in row]
        if row[5] == "":
            cells[5] = "\\N"
        fo.write("\t".join(cells) + "\n")
os.replace(dst + ".tmp", dst)
PY
fi
DATA_MB=$(du -m "$DATA" | cut -f1)

# checksum_file FILE: "rows non-null-directors sum(rating) sum(len(title))
# sum(len(description))" of a CSV with the movies_big header (NULL = empty).
checksum_file() {
  "$PY" - "$1" <<'PY'
import csv, sys
from decimal import Decimal
n = nd = lt = ld = 0
sr = Decimal(0)
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    r = csv.reader(f)
    h = next(r)
    ix = {c: i for i, c in enumerate(h)}
    for row in r:
        n += 1
        if row[ix["director"]] != "":
            nd += 1
        sr += Decimal(row[ix["rating"]])
        lt += len(row[ix["title"]])
        ld += len(row[ix["description"]])
print(n, nd, sr.quantize(Decimal("0.01")), lt, ld)
PY
}
CHECK_SQL="SELECT COUNT(*), COUNT(director), SUM(rating), SUM(CHAR_LENGTH(title)), SUM(CHAR_LENGTH(description)) FROM movies_big"
my_checksum() { "${MY[@]}" -B -N -e "$CHECK_SQL" | tr '\t' ' '; }
pg_checksum() { "${PSQL[@]}" -At -F ' ' -c "$CHECK_SQL"; }

SUMS_FILE=$WORK/movies_$ROWS.sums
if [ ! -s "$SUMS_FILE" ] || [ "$DATA" -nt "$SUMS_FILE" ]; then
  checksum_file "$DATA" >"$SUMS_FILE" || die "checksum of $DATA failed"
fi
EXPECT=$(cat "$SUMS_FILE")
[ "${EXPECT%% *}" = "$ROWS" ] || die "$DATA has ${EXPECT%% *} rows, expected $ROWS"

# verify WHAT GOT: fail loudly unless GOT is the expected checksum.
verify() {
  if [ "$2" != "$EXPECT" ]; then
    echo "db_bench: VERIFICATION FAILED: $1" >&2
    echo "  expected (rows, directors, sum rating, title chars, description chars): $EXPECT" >&2
    echo "  got:                                                                   $2" >&2
    exit 1
  fi
}

# ------------------------------------------------------------ timing
# run_timed NAME OUT CMD...: one run of CMD under /usr/bin/time -v with
# stdout to OUT; appends wall seconds and max RSS (MiB) to WORK/NAME.walls
# and WORK/NAME.rss.  A failed run is fatal.
run_timed() {
  local name=$1 out=$2
  shift 2
  if ! /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$out" 2>"$WORK/$name.err"; then
    echo "db_bench: $name failed: $*" >&2
    tail -n 20 "$WORK/$name.err" >&2
    grep -E 'exit|status' "$WORK/$name.time" >&2
    exit 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' \
    "$WORK/$name.time" >>"$WORK/$name.walls"
  awk -F': ' '/Maximum resident set size/ { printf "%.1f\n", $2 / 1024 }' \
    "$WORK/$name.time" >>"$WORK/$name.rss"
  # Client CPU (user + sys): steadier than wall time on a busy machine.
  awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f\n", s }' \
    "$WORK/$name.time" >>"$WORK/$name.cpu"
}
median() {
  sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
med() { median <"$WORK/$1.$2"; }
reset_series() { local n; for n in "$@"; do : >"$WORK/$n.walls"; : >"$WORK/$n.rss"; : >"$WORK/$n.cpu"; done; }
pg_empty() { "${PSQL[@]}" -c "TRUNCATE movies_big" || die "TRUNCATE failed"; }
# osiris run, without a shell function in between (/usr/bin/time execs it).
OSIRIS_RUN=("$OSIRIS" run --logs-dir "$WORK/logs")

# ------------------------------------------------------------ schema + load
echo "== db: loading $ROWS rows ($DATA_MB MB CSV) into MariaDB (LOAD DATA LOCAL INFILE)"
"${MY[@]}" -e "DROP TABLE IF EXISTS movies_big;
CREATE TABLE movies_big (
  id INT NOT NULL PRIMARY KEY,
  title VARCHAR(64) NOT NULL,
  rating DECIMAL(10,2) NOT NULL,
  released DATETIME NOT NULL,
  description TEXT NULL,
  director VARCHAR(64) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" || die "MariaDB schema failed"
"${PSQL[@]}" -c "DROP TABLE IF EXISTS movies_big;
CREATE TABLE movies_big (
  id integer NOT NULL PRIMARY KEY,
  title varchar(64) NOT NULL,
  rating numeric(10,2) NOT NULL,
  released timestamp NOT NULL,
  description text,
  director varchar(64)
)" || die "PostgreSQL schema failed"

reset_series load_mysql
run_timed load_mysql /dev/null "${MY[@]}" --local-infile=1 -e \
  "LOAD DATA LOCAL INFILE '$TSV' INTO TABLE movies_big CHARACTER SET utf8mb4"
verify "MariaDB after LOAD DATA" "$(my_checksum)"
LOAD_MY_S=$(med load_mysql walls)
echo "   LOAD DATA: ${LOAD_MY_S} s (checksum ok)"

# ------------------------------------------------------------ (a) MySQL -> CSV
echo "== (a) MySQL -> CSV, $ROWS rows, $REPS run(s) each"
reset_series a_base a_osiris
A_BASE_OUT=$WORK/mysql_client_out.tsv
A_OSIRIS_OUT=$WORK/osiris_mysql_out.csv
# shellcheck disable=SC2089,SC2090 # display strings for the report, never run
A_BASE_CMD="mariadb --batch --quick -e 'SELECT * FROM movies_big' > $A_BASE_OUT"
A_OSIRIS_CMD="$OSIRIS run bench/pipelines/db_mysql_csv.yaml --param output=$A_OSIRIS_OUT"
for i in $(seq "$REPS"); do
  rm -f "$A_BASE_OUT" "$A_OSIRIS_OUT"
  run_timed a_base "$A_BASE_OUT" "${MY[@]}" --batch --quick -e 'SELECT * FROM movies_big'
  got=$(($(wc -l <"$A_BASE_OUT") - 1))
  [ "$got" = "$ROWS" ] || die "VERIFICATION FAILED: mariadb client wrote $got rows, expected $ROWS"
  rm -rf "$WORK/logs"
  run_timed a_osiris /dev/null "${OSIRIS_RUN[@]}" bench/pipelines/db_mysql_csv.yaml --param "output=$A_OSIRIS_OUT"
  got=$(($(wc -l <"$A_OSIRIS_OUT") - 1))
  [ "$got" = "$ROWS" ] || die "VERIFICATION FAILED: osiris wrote $got rows, expected $ROWS"
  echo "   run $i: client $(tail -n 1 "$WORK/a_base.walls") s, osiris $(tail -n 1 "$WORK/a_osiris.walls") s"
done
verify "osiris MySQL -> CSV output" "$(checksum_file "$A_OSIRIS_OUT")"

# ------------------------------------------------------------ (b) CSV -> PG
echo "== (b) CSV -> PostgreSQL, $ROWS rows, $REPS run(s) each"
reset_series b_base b_osiris
# shellcheck disable=SC2089,SC2090
B_BASE_CMD="psql -c \"\\copy movies_big FROM '$DATA' CSV HEADER\"  (into the emptied table)"
B_OSIRIS_CMD="$OSIRIS run bench/pipelines/db_csv_pg.yaml --param input=$DATA  (append into the emptied table)"
for i in $(seq "$REPS"); do
  pg_empty
  run_timed b_base /dev/null "${PSQL[@]}" -c "\\copy movies_big FROM '$DATA' CSV HEADER"
  verify "PostgreSQL after psql \\copy" "$(pg_checksum)"
  pg_empty
  rm -rf "$WORK/logs"
  run_timed b_osiris /dev/null "${OSIRIS_RUN[@]}" bench/pipelines/db_csv_pg.yaml --param "input=$DATA"
  verify "PostgreSQL after osiris CSV -> PostgreSQL" "$(pg_checksum)"
  echo "   run $i: psql \\copy $(tail -n 1 "$WORK/b_base.walls") s, osiris $(tail -n 1 "$WORK/b_osiris.walls") s"
done

# ------------------------------------------------------------ (c) MySQL -> PG
echo "== (c) MySQL -> PostgreSQL, $ROWS rows, $REPS run(s)"
reset_series c_osiris
C_OSIRIS_CMD="$OSIRIS run bench/pipelines/db_mysql_pg.yaml  (append into the emptied table)"
for i in $(seq "$REPS"); do
  pg_empty
  rm -rf "$WORK/logs"
  run_timed c_osiris /dev/null "${OSIRIS_RUN[@]}" bench/pipelines/db_mysql_pg.yaml
  verify "PostgreSQL after osiris MySQL -> PostgreSQL" "$(pg_checksum)"
  echo "   run $i: osiris $(tail -n 1 "$WORK/c_osiris.walls") s"
done
rm -rf "$WORK/logs"

# ------------------------------------------------------------ report
# shellcheck disable=SC2090
export ROWS REPS DATA DATA_MB EXPECT WORK GOAL_A GOAL_B A_BASE_CMD A_OSIRIS_CMD B_BASE_CMD \
  B_OSIRIS_CMD C_OSIRIS_CMD
"$PY" - "$JSON_OUT" <<'PY' || die "report failed"
import json, os, sys
E = os.environ
def series(name):
    w = [float(v) for v in open(os.path.join(E["WORK"], name + ".walls")).read().split()]
    r = [float(v) for v in open(os.path.join(E["WORK"], name + ".rss")).read().split()]
    c = [float(v) for v in open(os.path.join(E["WORK"], name + ".cpu")).read().split()]
    return w, r, c
def med(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
def side(name, tool, cmd):
    w, r, c = series(name)
    return {"tool": tool, "command": cmd, "wall_s": med(w), "max_rss_mib": med(r),
            "client_cpu_s": med(c), "rows_per_s": round(rows / med(w)) if med(w) > 0 else None,
            "walls_s": w, "max_rss_mib_runs": r, "client_cpu_s_runs": c}
rows = int(E["ROWS"])
cases = []
for key, title, tool, base_cmd, goal in (
        ("a", "MySQL -> CSV", "mariadb client", E["A_BASE_CMD"], float(E["GOAL_A"])),
        ("b", "CSV -> PostgreSQL", "psql \\copy", E["B_BASE_CMD"], float(E["GOAL_B"])),
        ("c", "MySQL -> PostgreSQL", None, None, None)):
    c = {"case": key, "name": title, "rows": rows}
    if base_cmd:
        c["baseline"] = side(key + "_base", tool, base_cmd)
    c["osiris"] = side(key + "_osiris", "osiris", E[key.upper() + "_OSIRIS_CMD"])
    if base_cmd:
        b, o = c["baseline"]["wall_s"], c["osiris"]["wall_s"]
        c["ratio"] = round(o / b, 3) if b > 0 else None
        c["goal_ratio"] = goal
        c["meets_goal"] = c["ratio"] is not None and c["ratio"] <= goal
    cases.append(c)
lw = series("load_mysql")[0]
doc = {"benchmark": "db", "rows": rows, "data_csv": E["DATA"], "data_mb": int(E["DATA_MB"]),
       "reps": int(E["REPS"]), "checksum": E["EXPECT"],
       "checksum_fields": "rows, non-null director, sum(rating), title chars, description chars",
       "load_data_local_infile_s": med(lw),
       "loadavg_at_end": open("/proc/loadavg").read().split()[:3], "cases": cases}
with open(sys.argv[1] + ".tmp", "w") as fo:
    json.dump(doc, fo, indent=2)
    fo.write("\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])

print()
print("db benchmarks: %d rows (%s MB CSV), median of %s, load average %s"
      % (rows, E["DATA_MB"], E["REPS"], " ".join(doc["loadavg_at_end"])))
fmt = "%-24s %-15s %9s %10s %11s %10s %7s %7s %s"
print(fmt % ("case", "side", "wall", "rows/s", "max RSS", "client CPU", "ratio", "goal", ""))
for c in cases:
    first = True
    for s in (c.get("baseline"), c["osiris"]):
        if s is None:
            continue
        ratio = goal = verdict = ""
        if s is c["osiris"] and "ratio" in c:
            ratio, goal = "%.2fx" % c["ratio"], "<=%.1fx" % c["goal_ratio"]
            verdict = "ok" if c["meets_goal"] else "MISSED"
        print(fmt % ("(%s) %s" % (c["case"], c["name"]) if first else "", s["tool"],
                     "%.2f s" % s["wall_s"], s["rows_per_s"], "%.1f MiB" % s["max_rss_mib"],
                     "%.2f s" % s["client_cpu_s"], ratio, goal, verdict))
        first = False
print("ratio = osiris wall / baseline wall (medians); wall, RSS and CPU are medians; RSS and CPU")
print("are the client process only (the servers' work is in the wall time, for both sides).")
print("setup: MariaDB LOAD DATA LOCAL INFILE %.2f s.  JSON: %s" % (med(lw), sys.argv[1]))
PY
exit 0
