#!/usr/bin/env bash
# graphql.extractor against tests/fake_graphql (graphql-js): the four auth
# modes (and wrong credentials), variables, headers, data_path, flattening,
# cursor pagination with its field names and max_pages, errors in a 200
# response, retries on 429/5xx (retry_delay, max_retries) and their end,
# timeout, validate_ssl over https, validation of the keys, the same output
# with --sandbox local (when osiris-worker is built), and no credential in
# any file a run produced.  Needs node and `make deps` (tests/fake_graphql).
. "$(dirname "$0")/lib.sh"

FAKE_DIR=$E2E_ROOT/tests/fake_graphql
if ! command -v node >/dev/null 2>&1 || [ ! -f "$FAKE_DIR/node_modules/graphql/package.json" ]; then
  echo "FAIL: node and tests/fake_graphql/node_modules are needed (make deps)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
TOKEN="gqTok-$(rnd)"
USERNAME="gqUser-$(rnd)"
PASSWORD="gqPass-$(rnd)"
APIKEY="gqKey-$(rnd)"
export GQL_TOKEN=$TOKEN GQL_USER=$USERNAME GQL_PASSWORD=$PASSWORD GQL_KEY=$APIKEY

# fake_start NAME ARGS...: start the fake (credentials in its environment);
# sets PORT once it listens (its first stdout line, read through a FIFO).
FAKE_PIDS=()
fake_start() {
  local name=$1 fifo line
  shift
  fifo=$E2E_WORK/$name.fifo
  mkfifo "$fifo"
  FAKE_GRAPHQL_TOKEN=$TOKEN FAKE_GRAPHQL_USER=$USERNAME FAKE_GRAPHQL_PASSWORD=$PASSWORD \
    FAKE_GRAPHQL_API_KEY=$APIKEY FAKE_GRAPHQL_API_KEY_HEADER=X-Shop-Key \
    node "$FAKE_DIR/server.mjs" --port 0 "$@" >"$fifo" 2>"$E2E_WORK/$name.err" &
  FAKE_PIDS+=($!)
  exec {line}<"$fifo"
  PORT=
  IFS= read -r -t 30 PORTLINE <&"$line" || true
  PORT=$(printf '%s' "$PORTLINE" | tr -cd '0-9')
  if [ -z "$PORT" ]; then
    echo "FAIL: the fake GraphQL server did not start: $(cat "$E2E_WORK/$name.err")" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
}
cleanup() {
  local p
  for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$E2E_WORK"
}
trap cleanup EXIT

fake_start http
BASE=http://127.0.0.1:$PORT
knob() { # knob PATH [JSON]
  if [ $# -gt 1 ]; then curl -s -X POST --data "$2" "$BASE$1"; else curl -s "$BASE$1"; fi
}

ITEMS_Q='query Items($first: Int!, $after: String) { items(first: $first, after: $after) { nodes { id name qty price active ref tags owner { login address { city } } } pageInfo { hasNextPage endCursor } } }'

# setup NAME: a case directory with the connections file.
setup() {
  new_case "$1"
  cat >osiris_connections.yaml <<EOF
version: 1
connections:
  graphql:
    open:
      endpoint: $BASE/graphql
    bearer:
      endpoint: $BASE/bearer/graphql
      auth_type: bearer
      auth_token: \${GQL_TOKEN}
    wrongtoken:
      endpoint: $BASE/bearer/graphql
      auth_token: wrong-\${GQL_TOKEN}
    basic:
      endpoint: $BASE/basic/graphql
      auth_username: \${GQL_USER}
      auth_token: \${GQL_PASSWORD}
    apikey:
      endpoint: $BASE/apikey/graphql
      auth_token: \${GQL_KEY}
      auth_header_name: X-Shop-Key
    apikey_default_header:
      endpoint: $BASE/apikey/graphql
      auth_token: \${GQL_KEY}
    conn_headers:
      endpoint: $BASE/apikey/graphql
      headers:
        X-Shop-Key: \${GQL_KEY}
EOF
  knob /__fake/reset '{}' >/dev/null
}

# pipeline CONFIG_YAML: pipeline.yaml with the extractor (config indented
# by 6) and a CSV writer to out.csv.
pipeline() {
  {
    printf 'oml_version: "0.1.0"\nname: gql-test\nsteps:\n  - id: items\n    component: graphql.extractor\n    mode: read\n    config:\n'
    printf '%s\n' "$1" | sed 's/^/      /'
    printf '  - id: write\n    component: filesystem.csv_writer\n    mode: write\n    needs: [items]\n    config:\n      path: out.csv\n'
  } >pipeline.yaml
}

metric() { # metric NAME: its value for step items in the newest run
  py - "$(newest_run_dir)/metrics.jsonl" "$1" <<'PY'
import json, sys
v = [json.loads(l)["value"] for l in open(sys.argv[1]) if l.strip()
     and json.loads(l)["metric"] == sys.argv[2] and json.loads(l).get("tags", {}).get("step_id") == "items"]
print(int(v[-1]) if v else "none")
PY
}
csv_col() { # csv_col COLUMN: its values joined by |
  py - out.csv "$1" <<'PY'
import csv, sys
r = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
print("|".join(x.get(sys.argv[2], "<none>") for x in r))
PY
}
csv_header() { head -n 1 out.csv | tr -d '\r'; }
rows() { py -c 'import csv,sys; print(len(list(csv.DictReader(open(sys.argv[1], newline="")))))' out.csv; }
status_error() { json_get "$(newest_run_dir)/status.json" 'd["error"]["message"] if isinstance(d["error"], dict) else d["error"]'; }
requests_count() { knob /__fake/log | py -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# ------------------------------------------------ no auth, one page, variables
setup single
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 5}
data_path: data.items.nodes"
run_osiris run pipeline.yaml
assert_exit 0 "no auth: run"
assert_eq 5 "$(rows)" "variables.first 5: five rows"
assert_eq "i1|i2|i3|i4|i5" "$(csv_col id)" "ids in order"
assert_eq 'Zoë "three", with comma' "$(csv_col name | cut -d'|' -f3)" "UTF-8 and quotes survive"
assert_eq 1 "$(metric requests_made)" "requests_made 1"
assert_eq 1 "$(metric pages_fetched)" "pages_fetched 1"
assert_eq 5 "$(metric rows_read)" "rows_read 5"
assert_eq "id,name,qty,price,active,ref,tags,owner.login,owner.address.city,owner.address,owner" "$(csv_header)" \
  "flatten_result (default true): nested objects as a.b columns, in order of appearance; a null object is a column of its own"
assert_eq "City 1|City 2|||City 2" "$(csv_col owner.address.city)" "owner.address.city: null where address or owner is"
assert_eq '["t1","x"]|["t2","x"]|["t3","x"]|["t4","x"]|[]' "$(csv_col tags)" "lists as JSON text"
assert_eq "2|4|6|8|10" "$(csv_col qty)" "Int column"
assert_eq "true|false|true|false|true" "$(csv_col active)" "Boolean column"
assert_eq "1|2|3|4|5" "$(csv_col ref)" "an all-integer JSON column stays integer"

# variables change the result
pipeline "connection: \"@graphql.open\"
query: 'query M(\$m: Int) { items(first: 100, minQty: \$m) { nodes { id qty } } }'
variables: {m: 40}
data_path: data.items.nodes"
run_osiris run pipeline.yaml
assert_exit 0 "variables: run"
assert_eq "i20|i22|i23|i24|i25" "$(csv_col id)" "variables.m filters on the server"
assert_contains "$(newest_run_dir)/artifacts/items/cleaned_config.json" '"m": 40' "variables in cleaned_config"

# data_path default ("data"): the data object is one row
pipeline "connection: \"@graphql.open\"
query: '{ item(id: \"i2\") { id name owner { login } } }'"
run_osiris run pipeline.yaml
assert_exit 0 "data_path default: run"
assert_eq "item.id,item.name,item.owner.login" "$(csv_header)" "data_path default data: one row, flattened"
assert_eq 1 "$(rows)" "data_path default: one row"

# flatten_result false: nested objects as JSON text
pipeline "connection: \"@graphql.open\"
query: '{ items(first: 2) { nodes { id owner { login address { city } } } } }'
data_path: data.items.nodes
flatten_result: false"
run_osiris run pipeline.yaml
assert_exit 0 "flatten_result false: run"
assert_eq "id,owner" "$(csv_header)" "flatten_result false: top-level columns only"
assert_eq '{"login":"user1","address":{"city":"City 1"}}' "$(csv_col owner | cut -d'|' -f1)" \
  "flatten_result false: the object as JSON text"

# ------------------------------------------------ pagination
setup pages
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
pagination_enabled: true
pagination_path: data.items.pageInfo
data_path: data.items.nodes"
run_osiris run pipeline.yaml
assert_exit 0 "pagination: run"
assert_eq 25 "$(rows)" "pagination: all 25 rows over 3 pages"
assert_eq "$(seq -f 'i%g' 1 25 | paste -sd'|')" "$(csv_col id)" "pagination: every id once, in order"
assert_eq 3 "$(metric pages_fetched)" "pagination: pages_fetched 3"
assert_eq 3 "$(metric requests_made)" "pagination: requests_made 3 (one per page)"
assert_eq 25 "$(metric rows_read)" "pagination: rows_read 25"
assert_eq "10.0|20.0" "$(csv_col price | cut -d'|' -f1,2)" \
  "a Float column integral on page 1 and fractional on page 3 is double for every row"
assert_eq "250.5" "$(csv_col price | cut -d'|' -f25)" "the fractional price of page 3"
assert_eq "1|2" "$(csv_col ref | cut -d'|' -f1,2)" "int then text across pages: text for every row"
assert_eq "R-25" "$(csv_col ref | cut -d'|' -f25)" "the text ref of page 3"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
log = json.loads(sys.stdin.read())
v = [r["variables"] for r in log["requests"]]
ok(v[0] == {"first": 10}, "page 1 without a cursor")
ok(all("after" in x and x["first"] == 10 for x in v[1:]), "later pages send the cursor in $after")
ok(len({x.get("after") for x in v}) == 3, "a new cursor per page")
ok(all(r["content_type"] == "application/json" for r in log["requests"]), "Content-Type application/json")
ok(all(r["user_agent"] == "Osiris GraphQL Extractor/1.0" for r in log["requests"]), "0.5.7 User-Agent")
' <<<"$(knob /__fake/log)"

knob /__fake/reset '{}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
pagination_enabled: true
pagination_path: data.items.pageInfo
data_path: data.items.nodes
max_pages: 2"
run_osiris run pipeline.yaml
assert_exit 0 "max_pages: run"
assert_eq 20 "$(rows)" "max_pages 2: 20 rows"
assert_eq 2 "$(metric pages_fetched)" "max_pages 2: pages_fetched 2"
assert_eq 2 "$(requests_count)" "max_pages 2: the server saw 2 requests"

pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes"
run_osiris run pipeline.yaml
assert_eq 10 "$(rows)" "pagination_enabled false (default): one page"

# edges/node with [*], renamed fields (GraphQL aliases) and variable
knob /__fake/reset '{}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: 'query P(\$n: Int!, \$cur: String) { products(first: \$n, after: \$cur) { edges { node { id } } info: pageInfo { more: hasNextPage next: endCursor } } }'
variables: {n: 7}
pagination_enabled: true
pagination_path: \$.data.products.info
pagination_cursor_field: next
pagination_has_next_field: more
pagination_variable_name: cur
data_path: data.products.edges[*].node"
run_osiris run pipeline.yaml
assert_exit 0 "edges + renamed pagination fields: run"
assert_eq 25 "$(rows)" "data_path with [*]: 25 rows over 4 pages"
assert_eq 4 "$(metric pages_fetched)" "pagination_cursor_field/has_next_field/variable_name followed: 4 pages"
assert_eq "id" "$(csv_header)" "edges[*].node: the node's fields"

# a wrong has_next field name: pagination stops after page 1
pipeline "connection: \"@graphql.open\"
query: 'query P(\$n: Int!, \$cur: String) { products(first: \$n, after: \$cur) { edges { node { id } } info: pageInfo { more: hasNextPage next: endCursor } } }'
variables: {n: 7}
pagination_enabled: true
pagination_path: data.products.info
pagination_variable_name: cur
data_path: data.products.edges[*].node"
run_osiris run pipeline.yaml
assert_eq 7 "$(rows)" "pagination_has_next_field default hasNextPage absent: one page"

# data_path that matches nothing: no rows, a warning
pipeline "connection: \"@graphql.open\"
query: '{ items(first: 2) { nodes { id } } }'
data_path: data.nothing.here"
run_osiris run pipeline.yaml
assert_exit 0 "data_path without a match: run succeeds"
assert_contains "$(newest_run_dir)/osiris.log" 'no data at data_path "data.nothing.here"'

# [N] and a path to scalars: one column "value"
pipeline "connection: \"@graphql.open\"
query: '{ items(first: 3) { nodes { id } } }'
data_path: data.items.nodes[*].id"
run_osiris run pipeline.yaml
assert_eq "value" "$(csv_header)" "data_path to scalars: a column named value"
assert_eq "i1|i2|i3" "$(csv_col value)" "data_path [*].id: the ids"
pipeline "connection: \"@graphql.open\"
query: '{ items(first: 3) { nodes { id } } }'
data_path: data.items.nodes[1]"
run_osiris run pipeline.yaml
assert_eq "i2" "$(csv_col id)" "data_path [1]: the second node"

# volume: 120000 rows over 6 pages stream into the writer in batches
pipeline "connection: \"@graphql.open\"
query: 'query N(\$after: String) { numbers(first: 20000, after: \$after, total: 120000) { nodes { n half label } pageInfo { hasNextPage endCursor } } }'
pagination_enabled: true
pagination_path: data.numbers.pageInfo
data_path: data.numbers.nodes"
run_osiris run pipeline.yaml
assert_exit 0 "volume: run"
assert_eq 120000 "$(rows)" "volume: 120000 rows"
assert_eq 6 "$(metric pages_fetched)" "volume: 6 pages"
assert_eq "1,0.5,n1" "$(sed -n 2p out.csv | tr -d '\r')" "volume: first row (half is double from page 1)"
assert_eq "120000,60000.0,n120000" "$(tail -n 1 out.csv | tr -d '\r')" "volume: last row"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ro = [e for e in ev if e["event"] == "rows_out" and e["step_id"] == "items"]
ok(ro and ro[0].get("streamed") is True, "the rows went downstream as a stream: %s" % ro)
ir = [e for e in ev if e["event"] == "inputs_resolved" and e["step_id"] == "write"]
ok(ir and ir[0].get("source") == "stream", "the writer read a stream")
sc = [e for e in ev if e["event"] == "stream_complete"]
ok(sc and sc[0]["rows"] == 120000 and sc[0]["batches"] > 1, "more than one batch: %s" % sc)
' "$(newest_run_dir)/events.jsonl"

# ------------------------------------------------ auth modes
setup auth
q_item='{ item(id: "i4") { id name } }'
for alias in bearer basic apikey conn_headers; do
  auth=bearer
  case $alias in basic) auth=basic ;; apikey) auth=api_key ;; conn_headers) auth=none ;; esac
  pipeline "connection: \"@graphql.$alias\"
query: '$q_item'
auth_type: $auth
data_path: data.item"
  run_osiris run pipeline.yaml
  assert_exit 0 "auth $alias ($auth): run"
  assert_eq "i4" "$(csv_col id)" "auth $alias: the item"
  assert_eq ok "$(knob /__fake/log | py -c 'import json,sys; print(json.load(sys.stdin)["requests"][-1]["auth"])')" \
    "auth $alias: the server accepted the credential"
done

# auth_type none sends nothing: the protected endpoint says 401
pipeline "connection: \"@graphql.bearer\"
query: '$q_item'
auth_type: none
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 1 "auth_type none against a protected endpoint fails"
assert_contains "$ERR" "HTTP 401"
assert_contains "$ERR" "authentication required"
assert_contains "$(newest_run_dir)/osiris.log" "auth_token is not sent" "auth_type none with a token: a warning"

# a wrong token fails with a clear message, and is not in it
pipeline "connection: \"@graphql.wrongtoken\"
query: '$q_item'
auth_type: bearer
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 1 "a wrong token fails"
assert_contains "$ERR" "HTTP 401"
assert_contains "$ERR" "invalid credentials"
assert_contains "$(newest_run_dir)/status.json" "invalid credentials"

# auth_header_name: the default X-API-Key is not what this server reads
pipeline "connection: \"@graphql.apikey_default_header\"
query: '$q_item'
auth_type: api_key
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 1 "api_key under the default X-API-Key header: 401"
pipeline "connection: \"@graphql.apikey_default_header\"
query: '$q_item'
auth_type: api_key
auth_header_name: X-Shop-Key
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 0 "auth_header_name X-Shop-Key in the step: accepted"

# missing credentials are a clear error before any request
knob /__fake/reset '{}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$q_item'
auth_type: basic"
run_osiris run pipeline.yaml
assert_exit 1 "basic without credentials fails"
assert_contains "$ERR" "Basic authentication requires both username and password"
assert_eq 0 "$(requests_count)" "no request without credentials"

# headers in the step: "\${VAR}" is read from the environment
pipeline "connection: \"@graphql.open\"
endpoint: $BASE/apikey/graphql
query: '$q_item'
headers:
  X-Shop-Key: \"\${GQL_KEY}\"
  X-Request-Source: osiris-tests
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 0 "headers with \${VAR}: accepted; endpoint in the step wins over the connection's"
# a literal credential in the step's headers is refused by compile (the
# key declares OSIRIS_KEY_SECRET_ENTRIES), so it never reaches a file
pipeline "connection: \"@graphql.open\"
query: '$q_item'
headers:
  X-Api-Token: not-a-variable
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 2 "a literal credential header in the pipeline is refused (compile error)"
assert_contains "$ERR" "Inline secret at steps[0].config.headers.X-Api-Token"
if grep -rqF not-a-variable logs 2>/dev/null; then fail "the literal header value reached logs/"; else pass "the literal header value is in no file"; fi
# headers without a connection, endpoint in the step
pipeline "endpoint: $BASE/graphql
query: '$q_item'
data_path: data.item"
run_osiris run pipeline.yaml
assert_exit 0 "no connection: endpoint from the step"

# ------------------------------------------------ errors
setup errors
pipeline "connection: \"@graphql.open\"
query: '{ boom(message: \"the resolver broke\") { id } }'"
run_osiris run pipeline.yaml
assert_exit 1 "errors in a 200 response fail the step"
assert_contains "$ERR" "GraphQL errors (page 1): the resolver broke"
assert_eq "$(json_get "$(newest_run_dir)/status.json" 'd["failed_step"] if "failed_step" in d else "items"')" items \
  "status.json names the step"
pipeline "connection: \"@graphql.open\"
query: '{ nosuchfield }'"
run_osiris run pipeline.yaml
assert_exit 1 "a validation error fails the step"
assert_contains "$ERR" "nosuchfield"

# ------------------------------------------------ retries
setup retries
knob /__fake/fail '{"nth":1,"status":503,"times":1}' >/dev/null
knob /__fake/fail '{"nth":2,"status":429,"times":1}' >/dev/null
knob /__fake/fail '{"nth":3,"status":0,"times":1}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes
retry_delay: 0.2"
run_osiris run pipeline.yaml
assert_exit 0 "503, 429, a dropped connection, then 200: success"
assert_eq 10 "$(rows)" "retries: the page's rows"
assert_eq 4 "$(metric requests_made)" "retries: requests_made counts every attempt"
assert_eq 1 "$(metric pages_fetched)" "retries: one page"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = [e for e in ev if e["event"] == "http_retry"]
ok(len(r) == 3, "three http_retry events")
ok([e.get("http_status") for e in r[:2]] == [503, 429], "http_status 503 then 429")
ok("error" in r[2], "a network error")
ok([e["attempt"] for e in r] == [1, 2, 3] and all(e["attempts"] == 4 for e in r), "attempt n of max_retries + 1")
ok(all(e["step_id"] == "items" and e["request"] == "graphql page 1" for e in r), "step and request named")
# retry_delay 0.2: waits 100..200, 200..400, 400..800 ms (jitter in [d/2, d])
ok(all(100 * 2**i <= e["delay_ms"] <= 200 * 2**i for i, e in enumerate(r)), "retry_delay doubles, with jitter: %s" % [e["delay_ms"] for e in r])
' "$(newest_run_dir)/events.jsonl"
assert_contains "$(newest_run_dir)/osiris.log" "retrying in"

# max_retries: exhausted
knob /__fake/reset '{}' >/dev/null
knob /__fake/fail '{"nth":1,"status":503,"times":5}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes
retry_delay: 0.1
max_retries: 2"
run_osiris run pipeline.yaml
assert_exit 1 "retries exhausted: the step fails"
assert_contains "$ERR" "HTTP 503"
assert_contains "$ERR" "3 requests"
assert_eq 3 "$(requests_count)" "max_retries 2: three requests"
assert_eq 3 "$(metric requests_made)" "requests_made 3 on failure too"
# a 4xx is not retried
knob /__fake/reset '{}' >/dev/null
knob /__fake/fail '{"nth":1,"status":404,"times":5}' >/dev/null
run_osiris run pipeline.yaml
assert_exit 1 "404: fails"
assert_eq 1 "$(requests_count)" "404: not retried"

# timeout: a request that is never answered ends after timeout seconds
knob /__fake/reset '{}' >/dev/null
knob /__fake/fail '{"nth":1,"status":-1,"times":1}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes
timeout: 5
max_retries: 0"
run_osiris run pipeline.yaml
assert_exit 1 "timeout 5: a held request fails"
assert_contains_i "$ERR" "timed out"

# the run's --timeout stops a transfer the server never answers
knob /__fake/reset '{}' >/dev/null
knob /__fake/fail '{"nth":1,"status":-1,"times":1}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes
timeout: 300"
run_osiris run pipeline.yaml --timeout 2
assert_exit 1 "--timeout 2 stops a held request (timeout 300)"
assert_eq timed_out "$(json_get "$(newest_run_dir)/status.json" 'd["reason"]')" "status.json reason timed_out"
# and a retry's wait: a 503 asking for an hour, retry_delay 60
knob /__fake/reset '{}' >/dev/null
knob /__fake/fail '{"nth":1,"status":503,"times":1,"retry_after":3600}' >/dev/null
pipeline "connection: \"@graphql.open\"
query: '$ITEMS_Q'
variables: {first: 10}
data_path: data.items.nodes
retry_delay: 60"
run_osiris run pipeline.yaml --timeout 2
assert_exit 1 "--timeout 2 stops a retry's wait"
assert_eq timed_out "$(json_get "$(newest_run_dir)/status.json" 'd["reason"]')" "status.json reason timed_out (wait)"
assert_eq 1 "$(requests_count)" "no second request after the timeout"
assert_contains "$(newest_run_dir)/events.jsonl" '"delay_ms":60000' "Retry-After 3600 bounded to 60 s"

# ------------------------------------------------ validate_ssl over https
setup tls
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost \
  >/dev/null 2>&1
fake_start tls --tls-cert "$PWD/cert.pem" --tls-key "$PWD/key.pem"
pipeline "endpoint: https://127.0.0.1:$PORT/graphql
query: '{ item(id: \"i1\") { id } }'
data_path: data.item
max_retries: 0"
run_osiris run pipeline.yaml
assert_exit 1 "validate_ssl true (default): a self-signed certificate is refused"
assert_contains_i "$ERR" "certificate"
pipeline "endpoint: https://127.0.0.1:$PORT/graphql
query: '{ item(id: \"i1\") { id } }'
data_path: data.item
validate_ssl: false"
run_osiris run pipeline.yaml
assert_exit 0 "validate_ssl false: accepted"
assert_eq "i1" "$(csv_col id)" "validate_ssl false: the row"
assert_contains "$(newest_run_dir)/events.jsonl" '"event":"security_warning"' "validate_ssl false warns"
# plain http to a non-loopback host is refused
pipeline "endpoint: http://graphql.example.invalid/graphql
query: '{ x }'"
run_osiris run pipeline.yaml
assert_exit 1 "plain http elsewhere: refused"
assert_contains "$ERR" "https is required"

# ------------------------------------------------ validation and spec
new_case spec
run_osiris components show graphql.extractor
assert_exit 0 "components show graphql.extractor"
for k in endpoint query variables headers auth_type auth_token auth_username auth_header_name timeout \
  max_retries retry_delay pagination_enabled pagination_path pagination_cursor_field \
  pagination_has_next_field pagination_variable_name max_pages data_path flatten_result validate_ssl; do
  assert_contains "$OUT" "$k"
done
cat >pipeline.yaml <<'EOF'
oml_version: "0.1.0"
name: gql-bad
steps:
  - id: items
    component: graphql.extractor
    mode: read
    config:
      endpoint: https://example.com/graphql
      query: "{ x }"
      auth_type: oauth
      timeout: 1
      max_retries: 11
      retry_delay: 0.01
EOF
run_osiris validate pipeline.yaml
assert_exit 2 "validate: bad values"
cat "$OUT" "$ERR" >both.txt
for k in auth_type timeout max_retries retry_delay; do
  assert_contains both.txt "steps[0].config.$k"
done

# ------------------------------------------------ --sandbox local parity
setup remote
pipeline "connection: \"@graphql.bearer\"
query: '$ITEMS_Q'
variables: {first: 10}
pagination_enabled: true
pagination_path: data.items.pageInfo
data_path: data.items.nodes"
run_osiris run pipeline.yaml
assert_exit 0 "parity: local run"
cp out.csv local.csv
LOCAL_RUN=$(newest_run_dir)
WORKER=${OSIRIS_WORKER:-$E2E_ROOT/osiris-worker}
if [ -x "$WORKER" ]; then
  rm -f out.csv
  OSIRIS_WORKER=$WORKER run_osiris run pipeline.yaml --sandbox local
  assert_exit 0 "parity: --sandbox local run"
  assert_files_equal local.csv out.csv "parity: --sandbox local output byte-identical"
  assert_eq "$(metric requests_made) $(metric pages_fetched) $(metric rows_read)" "3 3 25" \
    "parity: --sandbox local metrics"
  if py "$E2E_ROOT/tests/remote/events_equal.py" "$LOCAL_RUN" "$(newest_run_dir)"; then
    pass "parity: events equal"
  else
    fail "parity: events differ"
  fi
  # a "${VAR}" header is read where the step runs: the sandbox gets the
  # variable only when it is passed
  pipeline "endpoint: $BASE/apikey/graphql
query: '{ item(id: \"i7\") { id } }'
headers: {X-Shop-Key: \"\${GQL_KEY}\"}
data_path: data.item"
  OSIRIS_WORKER=$WORKER run_osiris run pipeline.yaml --sandbox local
  assert_exit 1 "--sandbox local: a \${VAR} header without the variable fails"
  assert_contains "$ERR" "environment variable GQL_KEY is not set"
  OSIRIS_WORKER=$WORKER run_osiris run pipeline.yaml --sandbox local --e2b-pass-env GQL_KEY
  assert_exit 0 "--sandbox local --e2b-pass-env GQL_KEY: the header works"
  assert_eq "i7" "$(csv_col id)" "--sandbox local: the row"
else
  echo "  note: $WORKER not built (make osiris-worker): --sandbox local parity skipped" >&2
fi

# ------------------------------------------------ no credential anywhere
cd "$E2E_WORK" || exit 1
hits=$(grep -rlF -e "$TOKEN" -e "$PASSWORD" -e "$APIKEY" -e "$USERNAME" \
  --include='*' . 2>/dev/null | grep -v '\.fifo$' | tr '\n' ' ')
basic_b64=$(printf '%s:%s' "$USERNAME" "$PASSWORD" | base64 -w0)
hits2=$(grep -rlF -e "$basic_b64" . 2>/dev/null | tr '\n' ' ')
E2E_CASE=secrets
if [ -z "$hits$hits2" ]; then pass "no credential in any file the runs produced"; else fail "credential found in: $hits $hits2"; fi
assert_eq 0 "$(grep -rlF -e "$TOKEN" "$E2E_WORK"/*/logs 2>/dev/null | wc -l)" "no token under any logs/"

finish
