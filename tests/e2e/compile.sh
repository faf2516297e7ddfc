#!/usr/bin/env bash
# compile: deterministic output, run --last-compile, run MANIFEST, and
# validate --json listing every error of a bad pipeline with its location.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------- determinism with --out
new_case determinism
copy_example
run_osiris compile examples/movies/pipeline.yaml --out out1
assert_exit 0 "compile --out out1"
sleep 1.1   # a different second, so generated_at differs if it is there
run_osiris compile examples/movies/pipeline.yaml --out out2
assert_exit 0 "compile --out out2"
assert_file out1/manifest.yaml
for s in extract-movies movies-by-decade write-summary; do assert_file "out1/cfg/$s.json"; done
assert_contains out1/manifest.yaml generated_at "manifest has generated_at"
grep -v generated_at out1/manifest.yaml >m1.yaml 2>/dev/null
grep -v generated_at out2/manifest.yaml >m2.yaml 2>/dev/null
assert_files_equal m1.yaml m2.yaml "manifests identical except generated_at"
if diff -r out1/cfg out2/cfg >/dev/null 2>&1; then pass "cfg identical"; else fail "cfg differs between two compiles"; fi
assert_eq "$(ls out1/cfg 2>/dev/null | sort | tr '\n' ' ')" "$(ls out2/cfg 2>/dev/null | sort | tr '\n' ' ')" "same cfg files"
py_check '
import json, sys, re
def ok(c, m): print(("ok " if c else "not ok ") + m)
for s in ["extract-movies", "movies-by-decade", "write-summary"]:
    t = open("out1/cfg/%s.json" % s, encoding="utf-8").read()
    try:
        c = json.loads(t)
    except Exception as e:
        ok(False, "cfg %s parses: %s" % (s, e)); continue
    ok(list(c) == sorted(c), "cfg %s keys sorted (canonical)" % s)
    ok(t == json.dumps(c, sort_keys=True, ensure_ascii=False, separators=(",", ":")), "cfg %s is canonical compact JSON" % s)
    ok("component" in c, "cfg %s has component" % s)
c = json.load(open("out1/cfg/extract-movies.json", encoding="utf-8"))
ok(c.get("component") == "filesystem.csv_extractor" and c.get("path") == "examples/movies/data/movies.csv"
   and c.get("mode") == "extract", "extract cfg: component, path, mode extract")
ok(c.get("delimiter") == "," and c.get("header") is True, "extract cfg: defaults filled in")
q = json.load(open("out1/cfg/movies-by-decade.json", encoding="utf-8"))["query"]
ok("${params" not in q and "rating >= 6" in q, "params resolved in the query")
m = open("out1/manifest.yaml", encoding="utf-8").read()
for s in ["extract-movies", "movies-by-decade", "write-summary"]:
    ok("cfg/%s.json" % s in m, "manifest names cfg/%s.json" % s)
ok("movies_by_decade" in m, "manifest has pipeline id movies_by_decade")
ok(re.search(r"manifest_hash:\s*\"?[0-9a-f]{64}", m) is not None, "manifest_hash is 64 hex")
'

# a different param gives a different manifest hash
run_osiris compile examples/movies/pipeline.yaml --out out3 --param min_rating=9
assert_exit 0 "compile --param"
if grep -q 'rating >= 9' out3/cfg/movies-by-decade.json 2>/dev/null; then pass "--param reaches cfg"; else fail "--param not in cfg"; fi
H1=$(grep -E '^\s*manifest_hash:' out1/manifest.yaml 2>/dev/null)
H3=$(grep -E '^\s*manifest_hash:' out3/manifest.yaml 2>/dev/null)
if [ -n "$H1" ] && [ "$H1" != "$H3" ]; then pass "manifest_hash depends on params"; else fail "manifest_hash [$H1] vs [$H3]"; fi

# ---------------------------------------- default location, --last-compile
new_case last_compile
copy_example
run_osiris compile examples/movies/pipeline.yaml --json
assert_exit 0 "compile --json"
MANIFEST=$(json_get "$OUT" 'd["manifest_path"]')
assert_eq success "$(json_get "$OUT" 'd["status"]')" "compile --json status"
if [[ $MANIFEST == *logs/compile_*/compiled/manifest.yaml ]]; then
  pass "manifest under logs/compile_<id>/compiled/"
else
  fail "manifest_path [$MANIFEST] not under logs/compile_<id>/compiled/"
fi
assert_file "$MANIFEST"
if [[ $(json_get "$OUT" 'd["manifest_hash"]') =~ ^[0-9a-f]{64}$ ]]; then pass "compile --json manifest_hash"; else fail "compile --json manifest_hash"; fi

run_osiris run --last-compile
assert_exit 0 "run --last-compile"
assert_file examples/output/movies_by_decade.csv
assert_contains "$OUT" "3/3 steps"
RUN=$(newest_run_dir)
assert_file "$RUN/manifest.yaml"
assert_eq true "$(json_get "$RUN/status.json" 'd["ok"]')" "--last-compile status ok"

rm -f examples/output/movies_by_decade.csv
run_osiris run "$MANIFEST"
assert_exit 0 "run MANIFEST"
assert_file examples/output/movies_by_decade.csv
assert_eq true "$(json_get "$(newest_run_dir)/status.json" 'd["ok"]')" "run MANIFEST status ok"

# a manifest run from a copied compile dir: cfg paths are relative to it
cp -R "$(dirname "$MANIFEST")" moved
rm -f examples/output/movies_by_decade.csv
run_osiris run moved/manifest.yaml
assert_exit 0 "run a moved manifest"
assert_file examples/output/movies_by_decade.csv

# --last-compile with nothing compiled
new_case no_compile
run_osiris run --last-compile
assert_exit 2 "run --last-compile without a compile exits 2"

# ------------------------------------------------------ validate --json
new_case validate
copy_fixture data
cp "$E2E_FIXTURES/compile/bad_pipeline.yaml" .
run_osiris validate bad_pipeline.yaml --json
assert_exit 2 "validate of a bad pipeline exits 2"
py_check '
import json, sys
def ok(c, m): print(("ok " if c else "not ok ") + m)
try:
    d = json.loads(open(sys.argv[1], encoding="utf-8").read())
except Exception as e:
    ok(False, "validate --json parses: %s" % e); sys.exit(0)
ok(d.get("valid") is False, "valid false")
errs = d.get("errors") or []
ok(len(errs) >= 3, "at least 3 errors (got %d)" % len(errs))
print("errors: " + "; ".join("%s @ %s" % (e.get("type"), e.get("location")) for e in errs))
ok(all(isinstance(e.get("message"), str) and e.get("message") for e in errs), "every error has a message")
ok(all(isinstance(e.get("line"), int) and isinstance(e.get("col"), int) and e["line"] > 0 for e in errs),
   "every error has line and col")
locs = [str(e.get("location", "")) for e in errs]
def has(pred): return any(pred(l) for l in locs)
ok(has(lambda l: l.startswith("steps[1]") and "mode" in l), "error at steps[1].mode")
ok(has(lambda l: l.startswith("steps[1]") and "needs" in l), "error at steps[1].needs")
ok(has(lambda l: l.startswith("steps[2]") and "path" in l), "error at steps[2].config.path")
byloc = {str(e.get("location", "")): e for e in errs}
m = [e for l, e in byloc.items() if l.startswith("steps[1]") and "mode" in l]
ok(m and m[0].get("line") == 15, "steps[1].mode error on line 15 (got %s)" % (m[0].get("line") if m else None))
n = [e for l, e in byloc.items() if l.startswith("steps[1]") and "needs" in l]
ok(n and "no-such-step" in n[0].get("message", ""), "needs error names no-such-step")
' "$OUT"

run_osiris validate bad_pipeline.yaml
assert_exit 2 "validate (human) exits 2"
if cat "$OUT" "$ERR" | grep -q 'steps\[1\]' && cat "$OUT" "$ERR" | grep -q 'steps\[2\]'; then
  pass "human validate output lists the locations"
else
  fail "human validate output lacks locations: $(cat "$OUT" "$ERR" | head -c 500)"
fi

run_osiris compile bad_pipeline.yaml
assert_exit 2 "compile of a bad pipeline exits 2"

copy_example
run_osiris validate examples/movies/pipeline.yaml --json
assert_exit 0 "validate of the example exits 0"
assert_eq true "$(json_get "$OUT" 'd["valid"]')" "example is valid"
assert_eq 0 "$(json_get "$OUT" 'len(d["errors"])')" "example has no errors"

finish
