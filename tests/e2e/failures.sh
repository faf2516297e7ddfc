#!/usr/bin/env bash
# Failure paths: the exit code, status.json, events and the message on
# stderr for run-time failures (exit 1) and compile-time errors (exit 2).
. "$(dirname "$0")/lib.sh"

# setup_case NAME: a case directory with the fixture data and connections.
setup_case() {
  new_case "$1"
  copy_fixture data
  cp "$E2E_FIXTURES/failures/osiris_connections.yaml" .
  cp "$E2E_FIXTURES/failures/$1.yaml" .
}

# check_run_failure STEP_ID MESSAGE_PART: the common checks of a run that
# failed at STEP_ID with exit 1.
check_run_failure() {
  local step=$1 part=$2 run sid
  assert_exit 1 "$E2E_CASE exits 1"
  assert_contains "$ERR" "failed at step $step:" "$E2E_CASE: stderr names the step"
  assert_contains "$ERR" "$part" "$E2E_CASE: stderr has the message [$part]"
  assert_matches "$ERR" "^✗ run [0-9]{8}_[0-9]{6}_[0-9a-f]{8} failed at step " "$E2E_CASE: failure line format"
  assert_contains "$ERR" "logs: logs/run_" "$E2E_CASE: stderr names the logs dir"
  run=$(newest_run_dir)
  if [ -z "$run" ]; then fail "$E2E_CASE: no run directory"; return; fi
  sid=${run##*/run_}
  assert_file "$run/status.json"
  assert_eq false "$(json_get "$run/status.json" 'd["ok"]')" "$E2E_CASE: status.ok false"
  assert_eq 1 "$(json_get "$run/status.json" 'd["exit_code"]')" "$E2E_CASE: status.exit_code 1"
  assert_eq "$step" "$(json_get "$run/status.json" 'd["error"]["step_id"]')" "$E2E_CASE: status.error.step_id"
  local msg
  msg=$(json_get "$run/status.json" 'd["error"]["message"]')
  case $msg in
    *"$part"*) pass "$E2E_CASE: status.error.message" ;;
    *) fail "$E2E_CASE: status.error.message should contain [$part], got [$msg]" ;;
  esac
  local code
  code=$(json_get "$run/status.json" 'd["error"]["code"]')
  if [[ $code == OSIRIS_E* ]]; then pass "$E2E_CASE: error code"; else fail "$E2E_CASE: status.error.code [$code]"; fi
  local reason
  reason=$(json_get "$run/status.json" 'd["reason"]')
  case $reason in
    execution_failed | connection_failed | preflight_failed) pass "$E2E_CASE: reason $reason" ;;
    *) fail "$E2E_CASE: status.reason [$reason]" ;;
  esac
  assert_file "$run/run_card.json"
  assert_eq failed "$(json_get "$run/run_card.json" 'd["status"]')" "$E2E_CASE: run_card status failed"
  py_check '
import json, sys, os
run, step, case = sys.argv[1], sys.argv[2], sys.argv[3]
def ok(c, m): print(("ok " if c else "not ok ") + case + ": " + m)
evs = [json.loads(l) for l in open(os.path.join(run, "events.jsonl"), encoding="utf-8") if l.strip()]
sf = [e for e in evs if e["event"] == "step_failed"]
ok(len(sf) == 1 and sf[0].get("step_id") == step and str(sf[0].get("error_type", "")).startswith("OSIRIS_E"),
   "one step_failed for %s with error_type" % step)
rc = [e for e in evs if e["event"] == "run_complete"]
ok(len(rc) == 1 and rc[0].get("status") == "failed", "run_complete status failed")
ok(evs and evs[-1]["event"] == "run_complete", "run_complete is last")
' "$run" "$step" "$E2E_CASE"
}

# skipped_steps: the step_skipped step ids of the newest run, space separated.
skipped_steps() {
  py - "$(newest_run_dir)/events.jsonl" <<'PY'
import json, sys
try:
    evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
except Exception as e:
    evs = []
print(" ".join(e.get("step_id", "?") for e in evs if e.get("event") == "step_skipped"))
PY
}

# ------------------------------------------------------ missing input file
setup_case missing_input
run_osiris run missing_input.yaml
check_run_failure extract-people no_such_file.csv
assert_eq "transform write-people" "$(skipped_steps)" "downstream steps are step_skipped"
RUN=$(newest_run_dir)
assert_eq '["failed","skipped","skipped"]' "$(json_get "$RUN/run_card.json" '[s["status"] for s in d["steps"]]')" \
  "run_card step statuses"
assert_eq 0 "$(json_get "$RUN/status.json" 'd["steps_completed"]')" "status.steps_completed 0"
assert_eq 3 "$(json_get "$RUN/status.json" 'd["steps_total"]')" "status.steps_total 3"
assert_no_file output/people.csv

# ------------------------------------------------------------- bad SQL
setup_case bad_sql
run_osiris run bad_sql.yaml
check_run_failure transform "no such column: no_such_column"
assert_eq "write-people" "$(skipped_steps)" "writer is step_skipped"
assert_eq 1 "$(json_get "$(newest_run_dir)/status.json" 'd["steps_completed"]')" "status.steps_completed 1"
assert_no_file output/people.csv

# ------------------------------------------------ unknown connection alias
# compile (and so run) checks @family.alias against osiris_connections.yaml:
# the pipeline fails before any run starts, naming the place and the aliases
setup_case unknown_alias
run_osiris run unknown_alias.yaml
assert_exit 2 "unknown alias: run exits 2 (compile error)"
assert_contains "$ERR" "steps[0].config.connection" "unknown alias: run names the key"
assert_contains "$ERR" "no alias 'no_such_alias'" "unknown alias: run says what is missing"
assert_contains "$ERR" "aliases: local, needs_env" "unknown alias: run lists the aliases"
assert_eq "" "$(newest_run_dir)" "unknown alias: no run directory"
run_osiris compile unknown_alias.yaml
assert_exit 2 "unknown alias: compile exits 2"
assert_matches "$ERR" 'unknown_alias\.yaml:8:19: steps\[0\]\.config\.connection' "unknown alias: compile gives file:line:col"
# without any osiris_connections.yaml the pipeline still compiles (its
# output never depends on the file), with a warning; validate is strict
mv osiris_connections.yaml osiris_connections.yaml.away
run_osiris compile unknown_alias.yaml
assert_exit 0 "no connections file: compile exits 0"
assert_contains "$ERR" "Connection references not checked: no osiris_connections.yaml" "no connections file: compile warns"
assert_matches "$ERR" "^warning: unknown_alias\.yaml:8:19: steps\[0\]\.config\.connection: " "no connections file: the warning names the place"
run_osiris validate unknown_alias.yaml
assert_exit 2 "no connections file: validate exits 2"
mv osiris_connections.yaml.away osiris_connections.yaml

# ------------------------------------------- unresolved env var in a connection
setup_case unset_env
unset OSIRIS_E2E_UNSET_DIR_VAR
run_osiris run unset_env.yaml
check_run_failure extract-people OSIRIS_E2E_UNSET_DIR_VAR

# the same in --json mode: one object on stdout
run_osiris run unset_env.yaml --json
assert_exit 1 "unset_env --json exits 1"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
try:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
except Exception as e:
    ok(False, "run --json failure stdout parses: %s" % e); sys.exit(0)
ok(d.get("status") == "error" and d.get("exit_code") == 1, "--json status error, exit_code 1")
ok(d.get("failed_step") == "extract-people", "--json failed_step")
ok("OSIRIS_E2E_UNSET_DIR_VAR" in (d.get("error") or ""), "--json error names the variable")
' "$OUT"

# ------------------------------------------------- a malformed .env line
# skipped as python-dotenv does, but validate and compile say where (never
# what: the line may hold a secret)
setup_case unknown_alias
printf 'GOOD=1\nhunter2-dotenv-line\nexport OK=2\nQ="never closed\n' >.env
run_osiris validate unknown_alias.yaml
assert_contains "$ERR" "warning: $PWD/.env:2: not KEY=VALUE" ".env: validate names line 2"
assert_contains "$ERR" "warning: $PWD/.env:4: not KEY=VALUE" ".env: validate names line 4 (unterminated quote)"
assert_not_contains "$ERR" ".env:3:" ".env: export OK=2 is a good line"
assert_not_contains "$ERR$OUT" "hunter2-dotenv-line" ".env: the line itself is not echoed"
run_osiris compile unknown_alias.yaml
assert_contains "$ERR" "warning: $PWD/.env:2: not KEY=VALUE" ".env: compile warns too"
rm -f .env

# --------------------------------------------------------- cycle in needs
setup_case cycle
run_osiris run cycle.yaml
assert_exit 2 "cycle exits 2"
assert_contains_i "$ERR" cycle "cycle: stderr says cycle"
assert_contains "$ERR" step-a "cycle: stderr names a step of the cycle"
run_osiris compile cycle.yaml
assert_exit 2 "compile of a cycle exits 2"
run_osiris validate cycle.yaml
assert_exit 2 "validate of a cycle exits 2"

# ------------------------------------------------------------ invalid YAML
setup_case invalid_yaml
run_osiris run invalid_yaml.yaml
assert_exit 2 "invalid YAML exits 2"
assert_matches "$ERR" 'invalid_yaml\.yaml:[0-9]+:[0-9]+' "invalid YAML: message has file:line:col"
run_osiris validate invalid_yaml.yaml
assert_exit 2 "validate of invalid YAML exits 2"
if grep -qE 'invalid_yaml\.yaml:[0-9]+:[0-9]+' "$OUT" "$ERR"; then
  pass "validate: file:line:col"
else
  fail "validate invalid YAML: no file:line:col in output"
fi

# ----------------------------------------------------------- inline secret
setup_case inline_secret
run_osiris run inline_secret.yaml
assert_exit 2 "inline secret exits 2"
assert_contains_i "$ERR" secret "inline secret: stderr says secret"
assert_contains "$ERR" "steps[0].config.password" "inline secret: stderr names the place"
assert_not_contains "$ERR" "hunter2-inline-Pw77" "inline secret: the value is not echoed on stderr"
assert_not_contains "$OUT" "hunter2-inline-Pw77" "inline secret: the value is not echoed on stdout"
run_osiris compile inline_secret.yaml
assert_exit 2 "compile with an inline secret exits 2"
if grep -rqF "hunter2-inline-Pw77" logs 2>/dev/null; then
  fail "inline secret value written under logs/"
else
  pass "inline secret value not under logs/"
fi

finish
