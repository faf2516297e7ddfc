#!/usr/bin/env python3
"""events_equal.py RUN_A RUN_B: exit 0 when the two runs' events.jsonl are
equal except timestamps, durations, paths, hashes and transport-only events;
otherwise print a diff on stderr and exit 1.  Shared by the remote and the
database parity tests.  Compared per step, in order (and the run's own
events, in order), as `osiris runs diff` does: steps that run at once
(--jobs, streamed pairs) interleave their lines differently from run to
run, while each step's own sequence is fixed."""
import json, sys, difflib
T = {"worker_started", "worker_exited", "artifacts_downloaded", "sandbox_created",
     "sandbox_deleted", "dependency_check"}
DROP = {"ts", "session", "session_id", "session_dir", "duration_ms", "path", "manifest_path",
        "adapter", "sha256", "size", "size_bytes", "delay_ms"}  # delay_ms: a jittered retry wait
def load(d):
    groups = {}  # step id ("" for the run's own events) -> its lines in order
    for line in open(d + "/events.jsonl"):
        e = json.loads(line)
        if e["event"] in T:
            continue
        groups.setdefault(e.get("step_id", ""), []).append(
            json.dumps({k: v for k, v in e.items() if k not in DROP}, sort_keys=True))
    # each group as a block, groups in a fixed order
    return [x for g in sorted(groups) for x in ["# step %s" % (g or "(run)")] + groups[g]]
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    for x in difflib.unified_diff(a, b, lineterm="", n=1):
        print(x, file=sys.stderr)
    sys.exit(1)
