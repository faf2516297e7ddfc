#!/usr/bin/env python3
"""events_equal.py RUN_A RUN_B: exit 0 when the two runs' events.jsonl are
equal except timestamps, durations, paths, hashes and transport-only events;
otherwise print a diff on stderr and exit 1.  Shared by the remote and the
database parity tests."""
import json, sys, difflib
T = {"worker_started", "worker_exited", "artifacts_downloaded", "sandbox_created",
     "sandbox_deleted", "dependency_check"}
DROP = {"ts", "session", "session_id", "session_dir", "duration_ms", "path", "manifest_path",
        "adapter", "sha256", "size", "size_bytes", "delay_ms"}  # delay_ms: a jittered retry wait
def load(d):
    out = []
    for line in open(d + "/events.jsonl"):
        e = json.loads(line)
        if e["event"] in T:
            continue
        out.append(json.dumps({k: v for k, v in e.items() if k not in DROP}, sort_keys=True))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    for x in difflib.unified_diff(a, b, lineterm="", n=1):
        print(x, file=sys.stderr)
    sys.exit(1)
