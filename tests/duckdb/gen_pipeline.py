#!/usr/bin/env python3
"""tests/duckdb/gen_pipeline.py CASES OUT.yaml -- the dialect suite as one
pipeline: extract movies and people, write them to out/in_*.parquet, and
per case a duckdb.processor step (its own streamed extractor for a
"single" case) written to out/<case>.parquet."""
import json, re, sys

cases, cur = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^-- case: (\S+)( single)?", line)
    if m:
        cur = {"name": m.group(1), "single": bool(m.group(2)), "sql": ""}
        cases.append(cur)
    elif cur is not None and not line.startswith("--"):
        cur["sql"] += line

def step(sid, comp, mode, cfg, needs=None):
    s = ["  - id: %s" % sid, "    component: %s" % comp, "    mode: %s" % mode]
    if needs:
        s.append("    needs: [%s]" % ", ".join(needs))
    s.append("    config:")
    for k, v in cfg.items():
        s.append("      %s: %s" % (k, json.dumps(v, ensure_ascii=False)))
    return "\n".join(s)

steps = [
    step("movies", "filesystem.csv_extractor", "read", {"path": "data/movies.csv"}),
    step("people", "filesystem.csv_extractor", "read", {"path": "data/people.csv"}),
    step("w_in_movies", "filesystem.parquet_writer", "write", {"path": "out/in_movies.parquet"}, ["movies"]),
    step("w_in_people", "filesystem.parquet_writer", "write", {"path": "out/in_people.parquet"}, ["people"]),
]
for c in cases:
    needs = ["movies", "people"]
    if c["single"]:
        steps.append(step("m_" + c["name"], "filesystem.csv_extractor", "read", {"path": "data/movies.csv"}))
        needs = ["m_" + c["name"]]
    steps.append(step("q_" + c["name"], "duckdb.processor", "transform", {"query": c["sql"].strip()}, needs))
    steps.append(step("w_" + c["name"], "filesystem.parquet_writer", "write",
                      {"path": "out/%s.parquet" % c["name"]}, ["q_" + c["name"]]))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write('oml_version: "0.1.0"\nname: "DuckDB dialect suite"\nsteps:\n' + "\n".join(steps) + "\n")
print(len(cases))
