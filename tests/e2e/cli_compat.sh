#!/usr/bin/env bash
# What an Osiris 0.5.7 user types: -p is --profile, --param (long form),
# --json / --verbose before or after the command, `runs list`, --target
# e2b, --dry-run (the plan; nothing created, nothing run), and the
# --e2b-env flags refused for an in-process run.  The remote side of the
# env flags and of --dry-run is in tests/remote/e2b_env.sh.
source "$(dirname "$0")/lib.sh"

# only FILE...: the entries of the current directory are exactly these
only() {
  local want got
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  got=$(ls -A | grep -v '^\.out\.\|^\.err\.' | sort | tr '\n' ' ')
  assert_eq "$want" "$got" "${ONLY_WHAT:-directory contents}"
}

# ------------------------------------------------ -p is --profile
new_case profile
copy_example
run_osiris compile examples/movies/pipeline.yaml -p strict --json
assert_exit 0 "compile -p strict"
assert_eq strict "$(json_get "$OUT" 'd["profile"]')" "-p selects the profile"
run_osiris run examples/movies/pipeline.yaml -p strict --json
assert_exit 0 "run -p strict"
assert_eq strict "$(json_get "$OUT" 'd["session_dir"] and open(d["session_dir"]+"/manifest.yaml").read().split("profile: ")[1].split()[0]')" "the run's manifest has profile strict"
run_osiris run examples/movies/pipeline.yaml --param min_rating=8.5 --json
assert_exit 0 "--param long form"
assert_contains "$(json_get "$OUT" 'd["session_dir"]')/cfg/movies-by-decade.json" "8.5"
run_osiris compile examples/movies/pipeline.yaml -p min_rating=8.5
assert_exit 2 "-p k=v is a usage error now"
assert_contains "$ERR" "--param min_rating=8.5" "the error points to --param"
run_osiris compile examples/movies/pipeline.yaml -p nosuch
assert_exit 2 "-p with an unknown profile"

# ------------------------------------------------ --json / --verbose anywhere
new_case global
copy_example
run_osiris --json compile examples/movies/pipeline.yaml
assert_exit 0 "--json before compile"
assert_eq success "$(json_get "$OUT" 'd["status"]')" "--json before compile prints JSON"
run_osiris --json validate examples/movies/pipeline.yaml
assert_exit 0 "--json before validate"
assert_eq true "$(json_get "$OUT" 'd["valid"]')" "--json before validate prints JSON"
run_osiris -v --json run examples/movies/pipeline.yaml
assert_exit 0 "-v --json before run"
D=$(json_get "$OUT" 'd["session_dir"]')
assert_file "$D/debug.log"
run_osiris --verbose run examples/movies/pipeline.yaml
assert_exit 0 "--verbose before run"
run_osiris run examples/movies/pipeline.yaml --json --verbose
assert_exit 0 "--json --verbose after run"
assert_file "$(json_get "$OUT" 'd["session_dir"]')/debug.log"
run_osiris validate examples/movies/pipeline.yaml --verbose
assert_exit 0 "validate accepts --verbose"
run_osiris components list --verbose --json
assert_exit 0 "components accepts --verbose"
run_osiris --json version
assert_exit 0 "--json version"
assert_eq 0.1.0 "$(json_get "$OUT" 'd["version"]')" "version as JSON"
run_osiris --json --version
assert_exit 0 "--json --version"
run_osiris --frobnicate run examples/movies/pipeline.yaml
assert_exit 2 "an unknown option before the command"
run_osiris --json
assert_exit 2 "global flags without a command"

# ------------------------------------------------ runs list
new_case runs_list
copy_example
run_osiris run examples/movies/pipeline.yaml --json
S=$(json_get "$OUT" 'd["session_id"]')
run_osiris runs list
assert_exit 0 "runs list"
assert_contains "$OUT" "$S"
cp "$OUT" runs.txt
run_osiris logs list
assert_files_equal "$OUT" runs.txt "runs list is logs list"
run_osiris --json runs list
assert_exit 0 "--json runs list"
assert_eq "$S" "$(json_get "$OUT" 'd[0]["session_id"]')" "runs list --json names the run"
run_osiris runs list --logs-dir nowhere --json
assert_eq "[]" "$(json_get "$OUT" 'd')" "runs list --logs-dir"
run_osiris runs frob
assert_exit 2 "runs with an unknown subcommand"

# ------------------------------------------------ --e2b-env-from, a bad line
# is a usage error naming FILE:LINE (and not the line, which may be a secret)
new_case env_from_bad_line
copy_example
printf 'A=1\nhunter2-not-a-line\n' >w.env
run_osiris run examples/movies/pipeline.yaml --sandbox local --e2b-env-from w.env
assert_exit 2 "--e2b-env-from with a malformed line exits 2"
assert_contains "$ERR" "--e2b-env-from w.env:2: this line is not NAME=VALUE" "--e2b-env-from names FILE:LINE"
assert_not_contains "$ERR" "hunter2-not-a-line" "--e2b-env-from does not echo the line"

# ------------------------------------------------ --dry-run
new_case dry_run
copy_example
run_osiris run examples/movies/pipeline.yaml --dry-run
assert_exit 0 "dry run, in-process"
assert_contains "$OUT" "1. extract-movies"
assert_contains "$OUT" "3. write-summary"
assert_contains "$OUT" "adapter:   local"
ONLY_WHAT="in-process dry run created nothing" only examples
[ ! -e examples/output ] && pass "no output written" || fail "the dry run wrote output"
run_osiris run examples/movies/pipeline.yaml --dry-run --sandbox local --json
assert_exit 0 "dry run, --sandbox local, --json"
assert_eq sandbox "$(json_get "$OUT" 'd["adapter"]')" "adapter sandbox"
assert_eq "$(wc -c <examples/movies/data/movies.csv)" \
  "$(json_get "$OUT" '[f["bytes"] for f in d["upload"] if f["path"]=="examples/movies/data/movies.csv"][0]')" \
  "the input file is in the upload with its size"
assert_eq '["examples/output/movies_by_decade.csv","artifacts/"]' "$(json_get "$OUT" '[f["path"] for f in d["bring_back"]]')" "what comes back"
assert_eq '["extract-movies","movies-by-decade","write-summary"]' "$(json_get "$OUT" '[s["id"] for s in d["steps"]]')" "steps in run order"
run_osiris run examples/movies/pipeline.yaml --dry-run --target e2b --e2b-env SOME_NAME=some-value-314
assert_exit 0 "dry run, --target e2b"
assert_contains "$OUT" "adapter:   e2b"
assert_contains "$OUT" "SOME_NAME"
assert_not_contains "$OUT" "some-value-314"
ONLY_WHAT="remote dry runs created nothing" only examples
run_osiris compile examples/movies/pipeline.yaml
run_osiris run --last-compile --dry-run
assert_exit 0 "dry run of --last-compile"
assert_contains "$OUT" "(manifest)"
run_osiris run examples/movies/pipeline.yaml --dry-run --param nosuch=1 --profile nosuch
assert_exit 2 "a dry run of a pipeline that does not compile: exit 2"

# ------------------------------------------------ --e2b-env needs a worker
new_case env_local
copy_example
run_osiris run examples/movies/pipeline.yaml --e2b-env A_NAME=value
assert_exit 2 "--e2b-env with an in-process run"
assert_contains "$ERR" "--sandbox local or --e2b"
ONLY_WHAT="refused run created nothing" only examples
run_osiris run examples/movies/pipeline.yaml --target mars
assert_exit 2 "--target with an unknown target"

# ------------------------------------------------ --help tells the truth
new_case help
run_osiris run --help
for f in --dry-run --e2b-env --e2b-env-from --e2b-pass-env "--profile NAME, -p NAME" --param --target --json --verbose; do
  assert_contains "$OUT" "$f" "run --help mentions $f"
done
run_osiris compile --help
assert_contains "$OUT" "-p NAME"
run_osiris runs --help
assert_contains "$OUT" "osiris runs list"
assert_contains "$OUT" "manifest.yaml by content"
run_osiris --help
assert_contains "$OUT" "runs list"
assert_contains "$OUT" "before or after it"
run_osiris version --help
assert_exit 0 "version --help"

finish
