#!/usr/bin/env bash
# tests/remote/graphql.sh -- graphql.extractor in the three run modes: local,
# --sandbox local and --e2b (against tests/fake_e2b) reach the same GraphQL
# server (tests/fake_graphql, bearer token from the connection, several
# pages, a 503 retried) and give byte-identical output, equal events (but
# transport ones) and the same metrics; no file of any run holds the token.
#   bash tests/remote/graphql.sh      (from the repo root, after make)
. "$(dirname "$0")/common.sh"

need_binaries
if [ ! -f "$RT_ROOT/tests/fake_graphql/node_modules/graphql/package.json" ]; then
  echo "FAIL: tests/fake_graphql/node_modules missing (make deps)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
fake_start

TOKEN="rmTok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export GQL_TOKEN=$TOKEN
mkfifo "$RT_WORK/gql.fifo"
FAKE_GRAPHQL_TOKEN=$TOKEN node "$RT_ROOT/tests/fake_graphql/server.mjs" --port 0 \
  >"$RT_WORK/gql.fifo" 2>"$RT_WORK/gql.err" &
GQL_PID=$!
trap 'kill "$GQL_PID" 2>/dev/null; wait "$GQL_PID" 2>/dev/null; rt_cleanup' EXIT
exec {gql_fd}<"$RT_WORK/gql.fifo"
IFS= read -r -t 30 line <&"$gql_fd" || true
PORT=$(printf '%s' "${line:-}" | tr -cd '0-9')
if [ -z "$PORT" ]; then
  echo "FAIL: the fake GraphQL server did not start: $(cat "$RT_WORK/gql.err")" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
BASE=http://127.0.0.1:$PORT

metrics_of() { # the graphql metrics of step items
  "$PY" - "$1/metrics.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m.get("tags", {}).get("step_id") == "items" and m["metric"] in ("rows_read", "requests_made", "pages_fetched"):
        print(m["metric"], int(m["value"]))
PY
}

mkdir -p "$RT_WORK/gql" && cd "$RT_WORK/gql" || exit 1
cat >osiris_connections.yaml <<YAML
version: 1
connections:
  graphql:
    api:
      endpoint: $BASE/bearer/graphql
      auth_token: \${GQL_TOKEN}
YAML
cat >pipeline.yaml <<'YAML'
oml_version: "0.1.0"
name: gql-remote
steps:
  - id: items
    component: graphql.extractor
    mode: read
    config:
      connection: "@graphql.api"
      auth_type: bearer
      query: 'query I($first: Int!, $after: String) { items(first: $first, after: $after) { nodes { id name price ref tags owner { login address { city } } } pageInfo { hasNextPage endCursor } } }'
      variables: {first: 10}
      pagination_enabled: true
      pagination_path: data.items.pageInfo
      data_path: data.items.nodes
      retry_delay: 0.1
  - id: write
    component: filesystem.csv_writer
    mode: write
    needs: [items]
    config:
      path: output/items.csv
YAML
dir_local=
for mode in local sandbox e2b; do
  RT_CASE=$mode
  rm -f output/items.csv
  curl -s -X POST --data '{}' "$BASE/__fake/reset" >/dev/null
  curl -s -X POST --data '{"nth":2,"status":503,"times":1}' "$BASE/__fake/fail" >/dev/null
  remote_run "$mode" pipeline.yaml
  dir=$(last_run)
  check "$mode: exit 0 (got $RT_RC: $RT_OUT)" [ "$RT_RC" = 0 ]
  check "$mode: 25 rows" [ "$(tail -n +2 output/items.csv 2>/dev/null | wc -l)" = 25 ]
  cp output/items.csv "$RT_WORK/items.$mode.csv" 2>/dev/null
  check "$mode: requests_made 4, pages_fetched 3, rows_read 25" \
    [ "$(metrics_of "$dir" | sort | tr '\n' ' ')" = "pages_fetched 3 requests_made 4 rows_read 25 " ]
  check "$mode: the retry is an event" grep -q '"event":"http_retry"' "$dir/events.jsonl"
  if [ "$mode" = local ]; then dir_local=$dir; continue; fi
  check "$mode: output byte-identical to local" cmp -s "$RT_WORK/items.local.csv" "$RT_WORK/items.$mode.csv"
  check "$mode: events equal local" events_equal "$dir_local" "$dir"
  # osiris runs diff ignores the jittered delay_ms of the retry too
  "$OSIRIS" runs diff "$dir_local" "$dir" >"$RT_WORK/diff.out" 2>&1
  check "$mode: osiris runs diff says equivalent ($(tail -n 5 "$RT_WORK/diff.out"))" [ $? = 0 ]
done
RT_CASE=secrets
hits=$(grep -rlF -- "$TOKEN" "$RT_WORK" 2>/dev/null | grep -v '\.fifo$' | tr '\n' ' ')
check "no file of any run holds the token (found in: $hits)" [ -z "$hits" ]
# nor any file of the fake E2B's sandboxes
if [ -n "${FAKE_STATE_DIR:-}" ]; then
  hits=$(grep -rlF -- "$TOKEN" "$FAKE_STATE_DIR" 2>/dev/null | tr '\n' ' ')
  check "no sandbox file holds the token (found in: $hits)" [ -z "$hits" ]
fi
finish
