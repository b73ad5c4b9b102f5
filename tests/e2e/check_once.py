#!/usr/bin/env python3
"""Holds the daemon's output to exactly-once: every number 1..N the writer wrote has exactly one
finding in the findings log, the report chain holds the same findings, and (with --gaps) each
number that is missing lies in bytes the reports declare as a gap, byte for byte.

usage: check_once.py FINDINGS REPORTS_DIR LAST_NUMBER [--gaps [MIN_FRACTION]] [--first N]

With --gaps MIN_FRACTION, declared gaps may fall short of the loss (never exceed it) but must
cover at least that fraction of the lost bytes.
"""
import glob
import json
import os
import sys


def line_bytes(num):
    # Mirrors dg_writer's line format.
    return len('{"@timestamp":"2026-11-02T%02d:%02d:%02d.%03dZ","event.action":"read",'
               '"user.name":"w","message":"n%09d"}\n'
               % (num // 3600000 % 24, num // 60000 % 60, num // 1000 % 60, num % 1000, num))


IDS_MAX = 2000000


def main():
    findings, reports, last = sys.argv[1], sys.argv[2], int(sys.argv[3])
    allow_gaps = "--gaps" in sys.argv
    min_fraction = 1.0
    if allow_gaps:
        i = sys.argv.index("--gaps")
        if i + 1 < len(sys.argv) and not sys.argv[i + 1].startswith("--"):
            min_fraction = float(sys.argv[i + 1])
    first = int(sys.argv[sys.argv.index("--first") + 1]) if "--first" in sys.argv else 1
    # A count per number, in one byte each: a soak writes tens of millions of them.
    seen = bytearray(last + 1)
    extra, total = [], 0
    # Finding ids, which a SIEM de-duplicates by: as many as findings (up to a size that fits in
    # memory; the soak's tens of millions are not checked).
    ids, ids_checked = set(), True
    with open(findings) as f:
        for line in f:
            finding = json.loads(line)
            n = int(finding["fields"]["message"][1:])
            total += 1
            if total > IDS_MAX:
                ids_checked, ids = False, set()
            elif ids_checked:
                ids.add(int(finding["id"][:16], 16))
            if n < first or n > last:
                extra.append(n)
            elif seen[n] < 255:
                seen[n] += 1
    twice = [n for n in range(first, last + 1) if seen[n] > 1]
    missing = [n for n in range(first, last + 1) if seen[n] == 0]
    once = sum(1 for n in range(first, last + 1) if seen[n] == 1)
    extra.sort()
    in_reports, gap_bytes, gaps = 0, 0, 0
    for path in glob.glob(os.path.join(reports, "*", "report.json")):
        if os.path.islink(os.path.dirname(path)):
            continue  # "latest"
        with open(path) as f:
            r = json.load(f)
        in_reports += len(r["findings"])
        for e in r["integrity_events"]:
            if e["type"] == "gap":
                gaps += 1
                # a number to add up, the same as its words say
                said = int(e["detail"].split(": ")[1].split(" bytes")[0])
                if e.get("bytes") != said:
                    print("FAIL: a gap's bytes %r, its detail says %d: %s"
                          % (e.get("bytes"), said, e["detail"]))
                    sys.exit(1)
                gap_bytes += e["bytes"]
    lost_bytes = sum(line_bytes(n) for n in missing)
    print("numbers %d..%d: %d audited once, %d twice, %d missing (%d bytes); %d gaps "
          "reported (%d bytes); %d findings in reports, %d in the log"
          % (first, last, once, len(twice), len(missing), lost_bytes, gaps, gap_bytes,
             in_reports, total))
    ok = True
    if twice:
        print("FAIL: audited twice, e.g.", twice[:10])
        ok = False
    if extra:
        print("FAIL: numbers never written", extra[:10])
        ok = False
    if missing and not allow_gaps:
        print("FAIL: never audited, e.g.", missing[:10])
        ok = False
    if allow_gaps and (gap_bytes > lost_bytes or gap_bytes < min_fraction * lost_bytes):
        print("FAIL: %d bytes of lines lost, but gaps declare %d bytes (want between %.3f of "
              "it and all of it)" % (lost_bytes, gap_bytes, min_fraction))
        ok = False
    if allow_gaps and lost_bytes:
        print("gaps declare %.4f of the lost bytes" % (gap_bytes / lost_bytes))
    if ids_checked and len(ids) != total:
        print("FAIL: %d findings share ids: %d ids for %d findings" %
              (total - len(ids), len(ids), total))
        ok = False
    if in_reports != total:
        print("FAIL: the reports hold %d findings, the findings log %d" % (in_reports, total))
        ok = False
    sys.exit(0 if ok else 1)


main()
