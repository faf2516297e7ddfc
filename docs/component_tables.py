#!/usr/bin/env python3
"""Key tables of docs/pipelines.md, from `osiris components show NAME --json`.

Run by hand after changing a driver's key table (not part of the build):

    python3 docs/component_tables.py            # print the tables
    python3 docs/component_tables.py --write    # rewrite them in docs/pipelines.md

In pipelines.md each table sits between `<!-- keys NAME -->` and
`<!-- /keys -->`; the text around the markers is left alone.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OSIRIS = os.environ.get("OSIRIS", os.path.join(ROOT, "osiris"))
DOC = os.path.join(ROOT, "docs", "pipelines.md")


def show(name):
    out = subprocess.run([OSIRIS, "components", "show", name, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def code(v):
    return "`%s`" % json.dumps(v, ensure_ascii=False)


def bound(v):
    return str(int(v)) if float(v).is_integer() else str(v)


def what(p):
    """The value a key takes, as the validator checks it."""
    t = p.get("type")
    types = t if isinstance(t, list) else [t] if t else []
    if "enum" in p:
        return "one of " + ", ".join(code(v) for v in p["enum"])
    words = {"string": "string", "integer": "integer", "number": "number",
             "boolean": "`true`/`false`", "object": "mapping"}
    if p.get("maxLength") == 1:
        text = "one character"
    elif types == ["array"]:
        text = "list of strings"
    elif types == ["string", "array"]:
        text = "string or list of strings"
    elif types == ["integer", "boolean"]:
        text = "`true`/`false` or integer"
    elif types:
        text = " or ".join(words.get(x, x) for x in types)
    else:
        text = "any"
    lo, hi = p.get("minimum"), p.get("maximum")
    if lo is not None and hi is not None:
        text += " %s..%s" % (bound(lo), bound(hi))
    elif lo is not None:
        text += " ≥ %s" % bound(lo)
    elif hi is not None:
        text += " ≤ %s" % bound(hi)
    if "enum" in p.get("items", {}):
        text += " (each one of %s)" % ", ".join(code(v) for v in p["items"]["enum"])
    if "enum" in (p.get("additionalProperties") or {}):
        text += " (each value one of %s)" % ", ".join(
            code(v) for v in p["additionalProperties"]["enum"])
    return text


def table(name):
    s = show(name)
    req = set(s.get("required", []))
    one = [o["required"][0] for o in s.get("oneOf", [])]
    rows = ["| key | takes | default | meaning |", "|---|---|---|---|"]
    for key, p in s["properties"].items():
        mark = "*" if key in req else ""
        notes = []
        if p.get("x-osiris-alias-of"):
            notes.append("another name for `%s` (not both)" % p["x-osiris-alias-of"])
        if p.get("x-osiris-true-means"):
            k, v = p["x-osiris-true-means"].split("=", 1)
            notes.append("`true` means `%s: %s` (an error beside another `%s`)" % (k, v, k))
        if key in one:
            notes.append("give exactly one of %s" % ", ".join("`%s`" % k for k in one))
        if p.get("x-osiris-secret"):
            notes.append("secret: from the connection or `${VAR}`")
        if p.get("x-osiris-connection-field"):
            notes.append("may come from the connection")
        if p.get("x-osiris-no-effect"):
            notes.append("no effect here")
        desc = p.get("description", "")
        if notes:
            desc = (desc + "; " if desc else "") + "; ".join(notes)
        default = code(p["default"]) if "default" in p else ""
        rows.append("| `%s`%s | %s | %s | %s |" % (key, mark, what(p), default,
                                                  desc.replace("|", "\\|")))
    return "\n".join(rows)


def main():
    doc = open(DOC, encoding="utf-8").read()
    names = re.findall(r"<!-- keys ([\w.]+) -->", doc)
    if "--write" not in sys.argv:
        for n in names:
            print("### %s\n\n%s\n" % (n, table(n)))
        return
    for n in names:
        doc = re.sub(r"(<!-- keys %s -->\n).*?(<!-- /keys -->)" % re.escape(n),
                     lambda m: m.group(1) + table(n) + "\n" + m.group(2), doc, flags=re.S)
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
