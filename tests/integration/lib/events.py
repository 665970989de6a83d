#!/usr/bin/env python3
"""Queries mamorid's events.jsonl (docs/formats/events.md) for the guard tests.

    events.py FILE [FILTER...] count          the number of matching events
    events.py FILE [FILTER...] field PATH     PATH (a.b.c) of each match, one a line;
                                              strings bare, anything else as JSON,
                                              "<absent>" when the member is missing
    events.py FILE [FILTER...] one PATH       like field, but exactly one match is
                                              required (else exit 3 with the matches)
    events.py FILE [FILTER...] json           each match as a JSON line
    events.py FILE [FILTER...] names          the distinct event names, sorted

Filters (all must hold): --event NAME, --prefix TEXT (event name starts
with), --action A, --reason R, --attack ID (in the attack list), --name COMM
(process.name), --pid N (process.pid), --path P (file.path), --exe P
(process.exe), --has PATH (the member exists), --eq PATH=VALUE (the member's
value as printed by `field` equals VALUE).

A line that is not a JSON object is an error (exit 4): the file is written
by the reporter, one object a line, and a broken line is a defect.
"""
import json
import sys

ABSENT = "<absent>"


def get(ev, path):
    cur = ev
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return ABSENT
    return cur


def show(v):
    if v is ABSENT:
        return ABSENT
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def load(path):
    out = []
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return out
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ev = json.loads(line)
            except ValueError as e:
                sys.stderr.write("%s:%d: not JSON (%s): %r\n" % (path, n, e, line[:200]))
                sys.exit(4)
            if not isinstance(ev, dict):
                sys.stderr.write("%s:%d: not a JSON object\n" % (path, n))
                sys.exit(4)
            out.append(ev)
    return out


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path = argv[1]
    args = argv[2:]
    tests = []
    i = 0
    while i < len(args) and args[i].startswith("--"):
        opt = args[i]
        if i + 1 >= len(args):
            sys.stderr.write("events.py: %s needs a value\n" % opt)
            return 2
        val = args[i + 1]
        i += 2
        if opt == "--event":
            tests.append(lambda e, v=val: e.get("event") == v)
        elif opt == "--prefix":
            tests.append(lambda e, v=val: str(e.get("event", "")).startswith(v))
        elif opt == "--action":
            tests.append(lambda e, v=val: e.get("action") == v)
        elif opt == "--reason":
            tests.append(lambda e, v=val: e.get("reason") == v)
        elif opt == "--attack":
            tests.append(lambda e, v=val: isinstance(e.get("attack"), list) and v in e["attack"])
        elif opt == "--name":
            tests.append(lambda e, v=val: get(e, "process.name") == v)
        elif opt == "--pid":
            tests.append(lambda e, v=val: show(get(e, "process.pid")) == v)
        elif opt == "--path":
            tests.append(lambda e, v=val: get(e, "file.path") == v)
        elif opt == "--exe":
            tests.append(lambda e, v=val: get(e, "process.exe") == v)
        elif opt == "--has":
            tests.append(lambda e, v=val: get(e, v) is not ABSENT)
        elif opt == "--eq":
            if "=" not in val:
                sys.stderr.write("events.py: --eq wants PATH=VALUE\n")
                return 2
            k, want = val.split("=", 1)
            tests.append(lambda e, k=k, want=want: show(get(e, k)) == want)
        else:
            sys.stderr.write("events.py: unknown filter %s\n" % opt)
            return 2
    if i >= len(args):
        sys.stderr.write("events.py: no command\n")
        return 2
    cmd = args[i]
    rest = args[i + 1:]
    evs = [e for e in load(path) if all(t(e) for t in tests)]
    if cmd == "count":
        print(len(evs))
    elif cmd == "json":
        for e in evs:
            print(json.dumps(e, sort_keys=True))
    elif cmd == "names":
        for n in sorted({str(e.get("event")) for e in evs}):
            print(n)
    elif cmd in ("field", "one"):
        if len(rest) != 1:
            sys.stderr.write("events.py: %s wants one PATH\n" % cmd)
            return 2
        if cmd == "one" and len(evs) != 1:
            sys.stderr.write("events.py: %d matches, want exactly 1:\n" % len(evs))
            for e in evs:
                sys.stderr.write(json.dumps(e, sort_keys=True) + "\n")
            return 3
        for e in evs:
            print(show(get(e, rest[0])))
    else:
        sys.stderr.write("events.py: unknown command %s\n" % cmd)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
