#!/usr/bin/env python3
"""Holds what a syslog collector received to what dgaudit found: every finding of FINDINGS (a
findings log or run's output, JSON lines) arrived at the collector, whose output file has a line
per message "MSGID STRUCTURED-DATA JSON" (rsyslog's msgid, structured-data and $!all-json, the
last made by mmjsonparse: so the JSON was parsed by rsyslog itself); each message's structured
data names the same finding id, rule and severity as its JSON. Repeats are counted, and allowed
only with --repeats (after a crash or a broken connection), always with the same id.

usage: check_syslog.py COLLECTED FINDINGS [--repeats] [--integrity TYPE...]
"""
import json
import re
import sys

SD = re.compile(r'^\[dgaudit@32473( [a-z_]+="(?:[^"\\\]]|\\.)*")*\]$')
PARAM = re.compile(r' ([a-z_]+)="((?:[^"\\\]]|\\.)*)"')


def main():
    collected, findings = sys.argv[1], sys.argv[2]
    repeats_ok = "--repeats" in sys.argv
    want_types = sys.argv[sys.argv.index("--integrity") + 1:] if "--integrity" in sys.argv else []
    got, types, bad = {}, set(), []
    with open(collected, encoding="utf-8") as f:
        for line in f:
            msgid, rest = line.rstrip("\n").split(" ", 1)
            end = rest.index("] {") + 1
            sd, body = rest[:end], json.loads(rest[end + 1:])
            if not SD.match(sd):
                bad.append("structured data: " + sd)
                continue
            params = dict(PARAM.findall(sd))
            if msgid == "integrity":
                types.add(params["type"])
                if params["type"] != body["type"]:
                    bad.append("integrity type differs: " + line)
                if "bytes" in params and int(params["bytes"]) != body["bytes"]:
                    bad.append("integrity bytes differ: " + line)
                continue
            if msgid not in ("finding", "alert"):
                bad.append("msgid " + msgid)
                continue
            if (params["id"], params["rule"], params["severity"]) != (
                    body["id"], body["rule"], body["severity"]):
                bad.append("structured data and JSON differ: " + line)
            if not params.get("report_id"):
                bad.append("no report_id: " + line)
            if msgid == "finding":
                got[body["id"]] = got.get(body["id"], 0) + 1
    want = []
    with open(findings) as f:
        for line in f:
            want.append(json.loads(line)["id"])
    wanted = set(want)
    missing = [i for i in wanted if i not in got]
    repeated = sum(n - 1 for n in got.values())
    unknown = [i for i in got if i not in wanted]
    print("collector: %d findings (%d distinct, %d repeated), dgaudit: %d; %d missing, "
          "%d not dgaudit's; integrity events: %s"
          % (sum(got.values()), len(got), repeated, len(want), len(missing), len(unknown),
             ", ".join(sorted(types)) or "none"))
    ok = True
    for b in bad[:5]:
        print("FAIL:", b)
        ok = False
    if missing:
        print("FAIL: not at the collector, e.g.", missing[:5])
        ok = False
    if unknown:
        print("FAIL: findings dgaudit does not have, e.g.", unknown[:5])
        ok = False
    if repeated and not repeats_ok:
        print("FAIL: findings repeated without a crash")
        ok = False
    for t in want_types:
        if t not in types:
            print("FAIL: no integrity event", t)
            ok = False
    sys.exit(0 if ok else 1)


main()
