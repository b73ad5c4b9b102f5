#!/usr/bin/env python3
"""dgaudit daemon benchmark (not a test), three figures measured in one invocation:

1. latency: 10,000 lines appended one at a time (1,000 a second); for each, the time until its
   finding is in the daemon's findings log (what it has made durable); p50, p99, max;
2. throughput: the time the daemon takes to audit N generated events (copied into its source
   directory) against `dgaudit run` on the same file, as records per second and a ratio;
3. idle CPU: the daemon's CPU use while it watches 1,000 files that do not change.

usage: daemon_bench.py BUILD_DIR [N]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DGAUDIT = os.path.join(BUILD, "dgaudit")
WORK = tempfile.mkdtemp(prefix="dg-dbench.")
os.environ["XDG_STATE_HOME"] = os.path.join(WORK, "xdg")


def config(d, source, rules=None, extra=""):
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    with open(os.path.join(d, "dgaudit.conf"), "w") as f:
        f.write('sources = ( { path = "%s"; format = "json"; } );\n' % source)
        f.write('state_directory = "state";\nreport = { interval = "1h"; };\n')
        if rules:
            f.write('rules = { directories = ["%s"]; };\n' % rules)
        f.write('daemon = { metrics = ""; findings = "findings.jsonl"; %s };\n' % extra)


def start(d):
    log = open(os.path.join(d, "daemon.log"), "w")
    p = subprocess.Popen([DGAUDIT, "daemon", "-c", "dgaudit.conf"], cwd=d, stdout=log, stderr=log)
    for _ in range(200):
        if "following" in open(os.path.join(d, "daemon.log")).read():
            return p
        time.sleep(0.05)
    raise SystemExit("daemon did not start")


def stop(p):
    p.terminate()
    p.wait()


def latency():
    d = os.path.join(WORK, "latency")
    os.makedirs(os.path.join(d, "rules"))
    shutil.copy(os.path.join(SRC, "tests/e2e/every-line.conf"), os.path.join(d, "rules"))
    config(d, "logs/app.log", "rules")
    open(os.path.join(d, "logs/app.log"), "w").close()
    p = start(d)
    findings = os.path.join(d, "findings.jsonl")
    open(findings, "a").close()
    sent, seen = {}, {}
    out = open(os.path.join(d, "logs/app.log"), "a", buffering=1)
    tail = open(findings)
    buf = ""
    for n in range(1, 10001):
        out.write('{"@timestamp":"2026-11-02T00:00:00Z","event.action":"read",'
                  '"message":"n%09d"}\n' % n)
        sent[n] = time.monotonic()
        deadline = time.monotonic() + 0.001  # 1,000 lines a second
        while True:
            buf += tail.read()
            now = time.monotonic()
            while "\n" in buf:
                line, buf = buf.split("\n", 1)
                seen[int(json.loads(line)["fields"]["message"][1:])] = now
            if now >= deadline:
                break
            time.sleep(0.0001)
    end = time.monotonic() + 5
    while len(seen) < len(sent) and time.monotonic() < end:
        buf += tail.read()
        now = time.monotonic()
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            seen[int(json.loads(line)["fields"]["message"][1:])] = now
        time.sleep(0.0005)
    stop(p)
    lat = sorted((seen[n] - sent[n]) * 1000 for n in sent if n in seen)
    print("latency, append to durable finding, %d lines at 1,000/s: p50 %.1f ms, p99 %.1f ms, "
          "max %.1f ms (%d of %d seen)" % (len(sent), lat[len(lat) // 2],
                                           lat[int(len(lat) * 0.99)], lat[-1], len(lat), len(sent)))


def throughput():
    d = os.path.join(WORK, "throughput")
    events = os.path.join(WORK, "events.jsonl")
    with open(events, "w") as f:
        subprocess.run([os.path.join(BUILD, "tests/dg_gen"), str(N), "--seed", "1"], stdout=f,
                       check=True)
    lines = sum(1 for _ in open(events))
    t0 = time.monotonic()
    subprocess.run([DGAUDIT, "run", "-c", os.path.join(SRC, "conf/dgaudit.conf"), "-o",
                    os.path.join(WORK, "run-reports"), events],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_s = time.monotonic() - t0
    # The daemon with the same site configuration, following a directory.
    os.makedirs(os.path.join(d, "logs"))
    # The same site configuration as the run (catalogue, roles, lists, settings), with the
    # daemon's own sources, state and metrics instead of the example's.
    with open(os.path.join(SRC, "conf/dgaudit.conf")) as f:
        site = f.read()
    site = re.sub(r"(?ms)^sources = \(.*?^\);\n", "", site)
    site = re.sub(r"(?ms)^report = \{.*?^\};\n", "", site)
    with open(os.path.join(d, "dgaudit.conf"), "w") as f:
        f.write(site)
        f.write('\nsources = ( { path = "logs/*.jsonl"; format = "json"; } );\n'
                'state_directory = "state";\nreport = { interval = "1h"; };\n'
                'daemon = { metrics = "127.0.0.1:19466"; };\n')
    p = start(d)
    import urllib.request
    shutil.copy(events, os.path.join(d, "logs/tmp.part"))
    t0 = time.monotonic()
    os.rename(os.path.join(d, "logs/tmp.part"), os.path.join(d, "logs/events.jsonl"))
    done = 0
    while done < lines:
        time.sleep(0.02)
        for line in urllib.request.urlopen("http://127.0.0.1:19466/metrics").read().decode().splitlines():
            if line.startswith("dgaudit_records_total "):
                done = int(line.split()[1])
    daemon_s = time.monotonic() - t0
    stop(p)
    print("throughput, %d records: dgaudit run %.0f records/s, daemon %.0f records/s: daemon/run "
          "= %.2f" % (lines, lines / run_s, lines / daemon_s, run_s / daemon_s))


def idle():
    d = os.path.join(WORK, "idle")
    config(d, "logs/*.log")
    for i in range(1000):
        with open(os.path.join(d, "logs/f%04d.log" % i), "w") as f:
            f.write('{"@timestamp":"2026-11-02T00:00:00Z","event.action":"read"}\n')
    p = start(d)
    time.sleep(3)

    def cpu():
        with open("/proc/%d/stat" % p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    c0, t0 = cpu(), time.monotonic()
    time.sleep(20)
    c1, t1 = cpu(), time.monotonic()
    stop(p)
    print("idle, 1,000 watched files, %.0f s: %.2f%% of one CPU" % (t1 - t0,
                                                                    100 * (c1 - c0) / (t1 - t0)))


try:
    # DG_BENCH_ONLY=throughput (or latency, idle) runs one part
    only = os.environ.get("DG_BENCH_ONLY")
    for part in (latency, throughput, idle):
        if only in (None, "", part.__name__):
            part()
finally:
    shutil.rmtree(WORK)
