#!/usr/bin/env python3
"""tests/remote/hostile_worker.py -- a sandbox worker that lies to its host.

Used by tests/remote/hostile.sh through a generated wrapper script that
OSIRIS_WORKER names (the sandbox starts it with a clean environment, so the
wrapper bakes in absolute paths and the settings below):

    hostile_worker.py MODE REAL_WORKER ARGV0 COMMANDS.jsonl SESSION_DIR

It runs the real osiris-worker (REAL_WORKER) on the same arguments and
forwards its stdout line by line, adding, rewriting or dropping lines and
planting files around it as MODE says.  ARGV0 is the path the sandbox
started (the wrapper's $0: the shipped copy of OSIRIS_WORKER).

Environment (set by the wrapper):
  HOSTILE_REPORT  file to append one line per hostile act to, so that the
                  test can tell the attack really happened (not vacuous)
  HOSTILE_TARGET  absolute path a planted symlink / event points at
  HOSTILE_N       a count (files, events); HOSTILE_SIZE  a size in bytes
  HOSTILE_INPUT   session-relative path of the shipped input file

Exit status: the real worker's, except where MODE says otherwise.
"""
import json
import os
import subprocess
import sys

MODE, REAL, ARGV0, CMDS, SESS = sys.argv[1:6]
SESS = SESS.rstrip("/")
REPORT = os.environ.get("HOSTILE_REPORT", "")
TARGET = os.environ.get("HOSTILE_TARGET", "")
N = int(os.environ.get("HOSTILE_N", "0") or 0)
SIZE = int(os.environ.get("HOSTILE_SIZE", "0") or 0)
INPUT = os.environ.get("HOSTILE_INPUT", "data/people.csv")
OUT = sys.stdout.buffer


def report(what):
    if not REPORT:
        return
    try:
        os.makedirs(os.path.dirname(REPORT), exist_ok=True)
        with open(REPORT, "a") as f:
            f.write(what + "\n")
    except OSError as e:
        sys.stderr.write("hostile: cannot write report %s: %s\n" % (REPORT, e))


def emit(obj):
    OUT.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
    OUT.flush()


def event(like, name, **fields):
    """An event line shaped like the real worker's, stamped like `like`."""
    obj = {"type": "event", "ts": like.get("ts", ""), "session": like.get("session", ""),
           "event": name}
    obj.update(fields)
    return obj


def plant(path, data=b"planted by hostile_worker\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def artifacts_dir(step="read-people"):
    return os.path.join(SESS, "artifacts", step)


# ------------------------------------------------------------ line filters
# Each takes (raw bytes, parsed dict or None) and returns the lines to send.
def passthrough(raw, obj):
    return [raw]


def after_event(name, step, make):
    """Send the line, then make(obj) extra lines after the first matching event."""
    done = [False]

    def f(raw, obj):
        out = [raw]
        if (not done[0] and obj and obj.get("type") == "event" and obj.get("event") == name
                and (step is None or obj.get("step_id") == step)):
            done[0] = True
            for extra in make(obj):
                out.append(json.dumps(extra, separators=(",", ":")).encode() + b"\n")
        return out
    return f


DECLARED = {}  # the worker path of the writer's output, from its own event


def remember_output(raw, obj):
    if obj and obj.get("event") == "output_written" and obj.get("path"):
        DECLARED["path"] = obj["path"]
    return [raw]


# ------------------------------------------------------------ modes
def pre_hooks():
    if MODE == "out-dotdot":
        victim = SESS + "/../victim/target.txt"
        plant(victim, b"VICTIM-FROM-SANDBOX\n")
    elif MODE == "out-undeclared":
        plant(os.path.join(SESS, "other.csv"), b"id,name\n1,undeclared\n")
    elif MODE == "plant-e2b":
        # files a forged ListDir entry can name (tests/fake_e2b list_inject)
        plant(os.path.normpath(SESS + "/../../victim/target.txt"), b"VICTIM-FROM-SANDBOX\n")
        plant(os.path.normpath(SESS + "/../../planted.txt"), b"PLANTED-IN-SANDBOX\n")
        report("planted %s and %s" % (os.path.normpath(SESS + "/../../victim/target.txt"),
                                       os.path.normpath(SESS + "/../../planted.txt")))
    elif MODE == "tamper":
        inp = os.path.join(SESS, INPUT)
        bin_st = os.stat(ARGV0)
        in_st = os.stat(inp)
        msg = "hostile: tamper input nlink=%d binary nlink=%d" % (in_st.st_nlink, bin_st.st_nlink)
        report(msg)
        done = []
        # append, then overwrite the first bytes in place (no O_TRUNC: same inode);
        # a host that made the files unwritable has defended too
        for path, how, data in ((inp, "ab", b"99,Mallory,Nowhere,1\n"), (inp, "r+b", b"ID"),
                                (ARGV0, "ab", b"\n# written by the sandbox\n")):
            try:
                with open(path, how) as f:
                    f.write(data)
                done.append("%s %s: written" % (path, how))
            except OSError as e:
                done.append("%s %s: %s" % (path, how, e.strerror))
        report("tampered %s" % "; ".join(done))
        emit({"type": "log", "ts": "", "session": "", "log": "osiris", "level": "INFO",
              "message": msg})


def post_hooks():
    if MODE == "plant-e2b":
        # the session's cfg/ as a forged entry beside artifacts/ would bring it back
        cfg = os.path.join(SESS, "cfg", "write-people.json")
        with open(cfg, "w") as f:
            f.write('{"hostile": true}\n')
        report("rewrote %s" % cfg)
    elif MODE == "out-symlink":
        p = DECLARED.get("path")
        if not p or not os.path.isfile(p):
            report("out-symlink: no declared output seen")
            return
        target = TARGET
        if not target:  # e2b: a file of the sandbox's own, named relatively
            secret = os.path.normpath(SESS + "/../../planted-secret.txt")
            plant(secret, b"SANDBOX-SECRET\n")
            target = os.path.relpath(secret, os.path.dirname(p))
        os.unlink(p)
        os.symlink(target, p)
        report("symlinked %s -> %s" % (p, target))
    elif MODE == "art-symlink":
        d = artifacts_dir()
        os.makedirs(d, exist_ok=True)
        target = TARGET or "/etc/passwd"
        os.symlink(target, os.path.join(d, "leak.txt"))
        report("symlinked %s -> %s" % (os.path.join(d, "leak.txt"), target))
    elif MODE == "art-fifo":
        d = artifacts_dir()
        os.makedirs(d, exist_ok=True)
        os.mkfifo(os.path.join(d, "pipe.csv"))
        report("fifo %s" % os.path.join(d, "pipe.csv"))
    elif MODE == "art-ghost":
        p = os.path.join(SESS, "artifacts", "ghost-step", "x.txt")
        plant(p, b"GHOST\n")
        report("ghost %s" % p)
    elif MODE in ("big-file", "many-bytes", "many-files"):
        d = artifacts_dir()
        os.makedirs(d, exist_ok=True)
        count = 1 if MODE == "big-file" else N
        for i in range(count):
            with open(os.path.join(d, "hostile-%03d.bin" % i), "wb") as f:
                f.write(b"x" * SIZE)
        report("%s: %d file(s) of %d bytes in %s" % (MODE, count, SIZE, d))


def make_filter():
    if MODE == "out-dotdot":
        def mk(o):
            p = SESS + "/../victim/target.txt"
            report("output_written %s" % p)
            return [event(o, "output_written", step_id="write-people", path=p, format="csv",
                          rows=1, size_bytes=20)]
        return after_event("output_written", "write-people", mk)
    if MODE == "out-abs":
        def mk(o):
            report("output_written %s" % TARGET)
            return [event(o, "output_written", step_id="write-people", path=TARGET, format="csv",
                          rows=1, size_bytes=20)]
        return after_event("output_written", "write-people", mk)
    if MODE == "out-undeclared":
        def mk(o):
            p = os.path.join(SESS, "other.csv")
            report("output_written %s" % p)
            return [event(o, "output_written", step_id="write-people", path=p, format="csv",
                          rows=1, size_bytes=21)]
        return after_event("output_written", "write-people", mk)
    if MODE == "out-symlink":
        return remember_output
    if MODE in ("art-event-abs", "art-event-dotdot"):
        bad = "/etc/shadow" if MODE == "art-event-abs" else "../x"

        def mk(o):
            report("artifact_created %s" % bad)
            return [event(o, "artifact_created", step_id="read-people", artifact_type="report",
                          path=bad)]
        return after_event("artifact_created", "read-people", mk)
    if MODE == "many-events":
        def mk(o):
            report("many-events: %d events" % N)
            return [event(o, "hostile_noise", step_id="read-people", i=i) for i in range(N)]
        return after_event("step_start", "read-people", mk)
    if MODE == "long-line":
        def mk(o):
            report("long-line: %d bytes" % SIZE)
            return [event(o, "hostile_noise", step_id="read-people", pad="x" * SIZE)]
        return after_event("step_start", "read-people", mk)
    if MODE == "no-cleanup":
        def f(raw, obj):
            if obj and obj.get("type") == "response" and obj.get("cmd") == "cleanup":
                report("dropped the cleanup response")
                return []
            return [raw]
        return f
    return passthrough


def main():
    if MODE == "nothing":
        report("nothing: only a cleanup response")
        emit({"type": "response", "cmd": "cleanup", "ok": True, "steps_completed": 0})
        return 0
    if MODE == "pass":
        report("pass")
    pre_hooks()
    filt = make_filter()
    proc = subprocess.Popen([REAL, CMDS, SESS], stdout=subprocess.PIPE)
    for raw in proc.stdout:
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                obj = None
        except ValueError:
            obj = None
        for line in filt(raw, obj):
            OUT.write(line)
        OUT.flush()
    rc = proc.wait()
    post_hooks()
    if MODE == "no-cleanup":
        return 0
    return rc


if __name__ == "__main__":
    sys.exit(main())
