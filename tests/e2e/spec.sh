#!/usr/bin/env bash
# Validation from the component specs (issue 12): `osiris validate` exits 2
# and names file:line:col for each wrong config value, all at once;
# connection aliases are checked without secrets; `components show` prints
# the spec and --json a JSON Schema; CSV is strict by default.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------- bad config values
new_case bad_values
cat >osiris_connections.yaml <<'EOF'
connections:
  mysql:
    movies:
      host: localhost
      database: movies
      password: ${SPEC_E2E_UNSET_PASSWORD}
EOF
cat >bad.yaml <<'EOF'
oml_version: "0.1.0"
name: bad values
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
      skip_rows: -1
      limit: 1e400
      delimiter: ";;"
      encoding: utf-16
  - id: pick
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
      columns: name
  - id: db
    component: mysql.extractor
    mode: read
    config:
      connection: "@mysql.movies"
  - id: save
    component: mysql.writer
    mode: write
    needs: [read]
    config:
      connection: "@mysql.nosuch"
      table: t
      write_mode: merge
      create_if_missing: "yes"
EOF
run_osiris validate bad.yaml
assert_exit 2 "validate of bad values exits 2"
while IFS='|' read -r where text; do
  assert_contains "$ERR" "bad.yaml:$where: $text" "bad value reported at $where"
done <<'EOF'
9:18|steps[0].config.skip_rows: 'skip_rows' must be an integer >= 0, got -1
10:14|steps[0].config.limit: 'limit' must be an integer >= 0, got a number too large to represent
11:18|steps[0].config.delimiter: 'delimiter' must be one character, got ";;"
12:17|steps[0].config.encoding: 'encoding' must be one of "utf-8", "utf8"
18:16|steps[1].config.columns: 'columns' must be a list of strings, got "name"
23:7|steps[2].config: Step 'db': component 'mysql.extractor' needs one of 'query', 'table'
29:19|steps[3].config.connection: Connection '@mysql.nosuch': no alias 'nosuch' in family 'mysql'
31:19|steps[3].config.write_mode: 'write_mode' must be one of "append", "replace", "upsert"
32:26|steps[3].config.create_if_missing: 'create_if_missing' must be true or false, got "yes"
EOF
assert_contains "$ERR" 'got "utf-16" (did you mean '"'utf-8'"'?)' "allowed values with a did-you-mean"
assert_not_contains "$ERR" "SPEC_E2E_UNSET_PASSWORD" "an unset \${VAR} of a connection is not validate's business"
run_osiris validate bad.yaml --json
assert_exit 2 "validate --json of bad values exits 2"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
d = json.load(open(sys.argv[1], encoding="utf-8"))
errs = d["errors"]
ok(d["valid"] is False, "report says invalid")
ok(len(errs) == 9, "all nine errors at once (got %d)" % len(errs))
ok(all(e["line"] > 0 and e["col"] > 0 for e in errs), "every error has line:col")
' "$OUT"
run_osiris compile bad.yaml
assert_exit 2 "compile of bad values exits 2"
assert_contains "$ERR" "'skip_rows' must be an integer >= 0, got -1" "compile names the first bad value"

# ------------------------------------------------------- aliases and keys
new_case did_you_mean
cat >p.yaml <<'EOF'
oml_version: "0.1.0"
name: typos
steps:
  - id: read
    component: filesystem.csv_extractr
    mode: read
    config: {path: in.csv}
  - id: read2
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
      delimeter: ","
  - id: save
    component: postgres.writer
    mode: write
    needs: [read2]
    config:
      table: t
      write_mode: append
      mode: append
EOF
run_osiris validate p.yaml
assert_exit 2 "typos exit 2"
assert_contains "$ERR" "p.yaml:5:16: steps[0].component: Unknown component 'filesystem.csv_extractr' in step 'read' (did you mean 'filesystem.csv_extractor'?)"
assert_contains "$ERR" "p.yaml:13:18: steps[1].config.delimeter: Unknown configuration key 'delimeter' for component 'filesystem.csv_extractor' (did you mean 'delimiter'?)"
assert_contains "$ERR" "p.yaml:21:13: steps[2].config.mode: 'mode' and 'write_mode' are both given"

# ------------------------------------------------------------- the example
new_case example
copy_example
run_osiris validate examples/movies/pipeline.yaml
assert_exit 0 "the example validates"
cp "$E2E_ROOT/examples/connections/osiris_connections.yaml" .
cat >conn.yaml <<'EOF'
oml_version: "0.1.0"
name: conn
steps:
  - id: read
    component: mysql.extractor
    mode: read
    config: {connection: "@mysql.movies", table: movies}
EOF
env -u MYSQL_PASSWORD "$OSIRIS" validate conn.yaml >/dev/null 2>"$PWD/.err.env" && RC=0 || RC=$?
assert_exit 0 "an alias whose \${MYSQL_PASSWORD} is unset validates"

# ---------------------------------------------------------- components show
new_case components
run_osiris components show filesystem.csv_extractor
assert_exit 0 "components show"
assert_contains "$OUT" "skip_rows  an integer >= 0; default 0"
assert_contains "$OUT" "path*  a string; input file"
run_osiris components show mysql.writer
assert_contains "$OUT" "mode  alias of write_mode"
assert_contains "$OUT" "password  a string; secret; connection field"
run_osiris components show filesystem.csv_extractor --json
assert_exit 0 "components show --json"
cp "$OUT" csv_schema.json
run_osiris components show mysql.extractor --json
cp "$OUT" mysql_schema.json
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
s = json.load(open(sys.argv[1], encoding="utf-8"))
m = json.load(open(sys.argv[2], encoding="utf-8"))
p = s["properties"]
ok(s["$schema"] == "https://json-schema.org/draft/2020-12/schema", "draft 2020-12")
ok(s["type"] == "object" and s["additionalProperties"] is False, "object, no other keys")
ok(s["required"] == ["path"], "required: path")
ok(p["skip_rows"] == {"type": "integer", "minimum": 0, "description": p["skip_rows"]["description"], "default": 0}, "skip_rows: integer >= 0, default 0")
ok(p["delimiter"]["minLength"] == 1 and p["delimiter"]["maxLength"] == 1, "delimiter: one character")
ok("latin-1" in p["encoding"]["enum"], "encoding: enum")
ok(p["columns"]["type"] == "array" and p["columns"]["items"] == {"type": "string"}, "columns: list of strings")
ok(p["header"]["type"] == ["integer", "boolean"], "header: integer or boolean")
ok(p["path"].get("x-osiris-input-file") is True, "path: input file")
ok(p["strict"]["type"] == "boolean", "strict: boolean")
ok(m["oneOf"] == [{"required": ["query"]}, {"required": ["table"]}], "mysql.extractor: query or table")
ok(m["properties"]["password"].get("x-osiris-secret") is True, "password: secret")
' csv_schema.json mysql_schema.json
# Where the (non-stdlib) jsonschema package is installed, it checks the
# schemas too; elsewhere the shape checks above stand alone.
if "$PY" -c 'import jsonschema' 2>/dev/null; then
  out=$("$PY" - csv_schema.json mysql_schema.json <<'PY'
import json, sys, jsonschema
v = jsonschema.Draft202012Validator
s = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
v.check_schema(s); v.check_schema(m)
assert v(s).is_valid({"path": "a.csv", "skip_rows": 2})
assert not v(s).is_valid({"path": "a.csv", "skip_rows": -1})
assert not v(s).is_valid({"path": "a.csv", "delimeter": ","})
assert not v(m).is_valid({"host": "h"})
assert v(m).is_valid({"table": "t"})
print("schemas check")
PY
  ) && [ "$out" = "schemas check" ] && pass "jsonschema validates with the schemas" || fail "jsonschema: $out"
fi

# -------------------------------------------------------------- CSV strict
new_case csv_strict
printf 'a,b\n1,2\n"abc"def,3\n' >data.csv
printf 'a\n"abc\n' >open.csv
for name in strict lenient open; do
  path=data.csv extra=""
  [ "$name" = lenient ] && extra="      strict: false"
  [ "$name" = open ] && path=open.csv
  cat >"$name.yaml" <<EOF
oml_version: "0.1.0"
name: $name
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: $path
$extra
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config:
      path: out_$name.csv
EOF
done
run_osiris run strict.yaml
assert_exit 1 "text after a closing quote fails the run"
assert_contains "$ERR" "data.csv:3: text after a closing quote" "the error names the file and line"
assert_no_file out_strict.csv
run_osiris run lenient.yaml
assert_exit 0 "strict: false reads it"
assert_contains out_lenient.csv "abcdef,3" "strict: false keeps the text"
run_osiris run open.yaml
assert_exit 1 "an unterminated quote fails the run"
assert_contains "$ERR" "open.csv:2: unterminated quoted field" "the error names the file and line"

# ------------------------------------------- 0.5.7 keys of csv_extractor
# comment and dtype change what is read; a key without effect given in two
# steps is noted once per run; its compiled default is not noted.
new_case csv_057_keys
printf '# exported\nid,score,day\n# note\n007,7,2024-01-02\n008,,2024-01-03\n' >in.csv
cat >p.yaml <<'EOF'
oml_version: "0.1.0"
name: keys
steps:
  - id: read
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
      comment: "#"
      dtype: {id: str, score: float64, day: datetime64}
      chunk_size: 500
  - id: again
    component: filesystem.csv_extractor
    mode: read
    config:
      path: in.csv
      comment: "#"
      chunk_size: 700
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [read]
    config:
      path: out.csv
EOF
run_osiris run p.yaml
assert_exit 0 "comment, dtype and chunk_size run"
assert_eq "id,score,day
007,7.0,2024-01-02T00:00:00
008,,2024-01-03T00:00:00" "$(cat out.csv)" "comment lines skipped, dtype types forced"
RUN=$(newest_run_dir)
assert_eq 1 "$(grep -c '"event":"config_key_no_effect"' "$RUN/events.jsonl")" "chunk_size noted once for two steps"
assert_matches "$RUN/events.jsonl" '"event":"config_key_no_effect".*"component":"filesystem.csv_extractor".*"key":"chunk_size"'
sed -i '/chunk_size/d' p.yaml
run_osiris run p.yaml
assert_exit 0 "without chunk_size"
assert_eq 0 "$(grep -c '"event":"config_key_no_effect"' "$(newest_run_dir)/events.jsonl")" "compiled defaults are not noted"
sed -i 's/datetime64/datetime65/' p.yaml
run_osiris validate p.yaml
assert_exit 2 "an unknown dtype fails validation"
assert_contains "$ERR" "p.yaml:10:45: steps[0].config.dtype.day: 'dtype' must be a mapping (each one of" "the error names the column's place"
assert_contains "$ERR" "(did you mean 'datetime64'?)" "with the nearest name"

finish
