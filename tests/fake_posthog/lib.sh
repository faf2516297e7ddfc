# tests/fake_posthog/lib.sh -- start/stop the fake PostHog query API and
# talk to its test knobs; sourced by tests/e2e/posthog.sh and
# tests/remote/posthog.sh (after their own lib).  Needs node and curl only.
#
#   ph_gen_data FILE       the data set the tests reason about (see below)
#   ph_start FILE KEY      start server.mjs on a free loopback port with KEY
#                          accepted and project 4242; sets PH_PORT, PH_URL
#   ph_stop                stop it (also at exit)
#   ph_knob PATH [JSON]    POST (or GET without JSON) a /__fake/ knob; prints the answer
#   ph_connections FILE    an osiris_connections.yaml with the aliases
#                          self (default; self_hosted at the fake), us, eu, bad,
#                          numeric (project_id unquoted), noproject (999)
#                          (api_key from ${PH_TEST_KEY} / ${PH_TEST_BAD_KEY})

PH_FAKE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PH_PID=

# Events: 250 of pageview/signup/purchase (i % 3), 20 s apart from
# 2024-01-01T00:00:00Z, uuid ...-<i>, properties {"i": i, ...}; one exact
# duplicate of event 10 (PostHog's events table can hold one); two "probe"
# events 1 day and 40 days before now.  Persons: 120 (created 1 min apart),
# sessions: 5 (typed columns, one NULL url), person_distinct_ids: 130.
ph_gen_data() {
  "$PY" -S - "$1" <<'PY'
import json, sys, datetime
base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
ev = []
for i in range(250):
    ev.append({"uuid": "00000000-0000-4000-8000-%012d" % i, "event": ["pageview", "signup", "purchase"][i % 3],
               "timestamp": iso(base + datetime.timedelta(seconds=20 * i)), "distinct_id": "user-%d" % (i % 7),
               "person_id": "10000000-0000-4000-8000-%012d" % (i % 7),
               "properties": {"i": i, "$current_url": "https://example.com/p/%d" % i, "quote": "it's"}})
ev.insert(11, dict(ev[10]))
now = datetime.datetime.now(datetime.timezone.utc)
ev.append({"uuid": "90000000-0000-4000-8000-000000000001", "event": "probe", "timestamp": iso(now - datetime.timedelta(days=1)),
           "distinct_id": "p", "person_id": None, "properties": {}})
ev.append({"uuid": "90000000-0000-4000-8000-000000000040", "event": "probe", "timestamp": iso(now - datetime.timedelta(days=40)),
           "distinct_id": "p", "person_id": None, "properties": {}})
persons = [{"id": "20000000-0000-4000-8000-%012d" % i, "created_at": iso(base + datetime.timedelta(minutes=i)),
            "properties": {"email": "u%d@example.com" % i}, "is_identified": i % 2 == 0} for i in range(120)]
sessions = [{"session_id": "0190000%d-0000-7000-8000-000000000000" % i, "distinct_id": "user-%d" % i,
             "$start_timestamp": iso(base + datetime.timedelta(hours=i)),
             "$end_timestamp": iso(base + datetime.timedelta(hours=i, seconds=30 + i)),
             "$session_duration": 30 + i, "$pageview_count": i, "$entry_current_url": None if i == 2 else "https://example.com/%d" % i,
             "$is_bounce": i == 0} for i in range(5)]
pdi = [{"distinct_id": "d-%04d" % i, "person_id": "20000000-0000-4000-8000-%012d" % (i % 120)} for i in range(130)]
json.dump({"events": ev, "persons": persons, "sessions": sessions, "person_distinct_ids": pdi}, open(sys.argv[1], "w"))
PY
}

ph_start() {
  local line
  exec {PH_FD}< <(FAKE_POSTHOG_KEYS=$2 FAKE_POSTHOG_PROJECT=4242 FAKE_POSTHOG_DATA=$1 \
    exec node "$PH_FAKE_DIR/server.mjs" --port 0)
  PH_PID=$!
  # The server prints its port once it listens: wait for that line.
  if ! IFS= read -r -t 60 -u "$PH_FD" line; then
    echo "fake_posthog: did not start" >&2
    return 1
  fi
  PH_PORT=$("$PY" -S -c 'import json,sys; print(json.loads(sys.argv[1])["port"])' "$line")
  PH_URL=http://127.0.0.1:$PH_PORT
  export PH_URL
}

ph_stop() {
  if [ -n "$PH_PID" ]; then kill "$PH_PID" 2>/dev/null; wait "$PH_PID" 2>/dev/null; fi
  PH_PID=
}

ph_knob() {
  if [ $# -ge 2 ]; then
    curl -sS --noproxy '*' -X POST -H 'Content-Type: application/json' -d "$2" "$PH_URL/__fake/$1"
  else
    curl -sS --noproxy '*' "$PH_URL/__fake/$1"
  fi
}

ph_connections() {
  cat >"$1" <<'YAML'
connections:
  posthog:
    self:
      default: true
      api_key: ${PH_TEST_KEY}
      project_id: "4242"
      region: self_hosted
      custom_base_url: ${PH_URL}
    us:
      api_key: ${PH_TEST_KEY}
      project_id: "4242"
      region: us
    eu:
      api_key: ${PH_TEST_KEY}
      project_id: "4242"
      region: eu
    bad:
      api_key: ${PH_TEST_BAD_KEY}
      project_id: "4242"
      region: self_hosted
      custom_base_url: ${PH_URL}
    numeric:
      api_key: ${PH_TEST_KEY}
      project_id: 4242
      region: self_hosted
      custom_base_url: ${PH_URL}
    noproject:
      api_key: ${PH_TEST_KEY}
      project_id: "999"
      region: self_hosted
      custom_base_url: ${PH_URL}
YAML
}
