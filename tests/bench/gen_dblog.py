#!/usr/bin/env python3
"""Database audit logs for the benchmark: one fixed-seed sequence of N server messages written
as PostgreSQL stderr (prefix '%m [%p] %q%u@%d %r %a '), csvlog and jsonlog, and N MariaDB
server_audit operations, in the shapes PostgreSQL 15 + pgaudit 1.7 and MariaDB 10.11 write
them. Mix: single-row reads, updates, multi-line statements, COPY exports, logins and failed
logins, server chatter. Prints the record count of each file.

  gen_dblog.py N OUTDIR
"""
import json
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
users = ["teller%02d" % i for i in range(40)] + ["analyst", "dba", "etl"]
# About 1% of accesses touch C3 tables of the example catalogue, as in the JSON benchmark.
sensitive = ["core.customers", "core.cards"]
tables = ["core.branches", "core.products", "core.fx_rates", "ops.jobs", "core.transactions"]
base = 1795792779000  # ms


def ts(i, ms=True):
    t = base + i * 3
    s, m = divmod(t, 1000)
    h, s2 = divmod(s % 86400, 3600)
    return "2026-11-27 %02d:%02d:%02d%s UTC" % (h, s2 // 60, s2 % 60, ".%03d" % m if ms else "")


def csvq(s):
    return '"' + s.replace('"', '""') + '"'


def pgaudit_field(s):
    return csvq(s) if any(c in s for c in ',"\n\r') else s


stderr = open(out + "/pg.log", "w")
csvf = open(out + "/pg.csv", "w")
jsonf = open(out + "/pg.json", "w")
my = open(out + "/server_audit.log", "w")
my_records = 0
for i in range(n):
    u = rnd.choice(users)
    pid = 10000 + i % 5000
    r = rnd.random()
    t = rnd.choice(sensitive) if rnd.random() < 0.01 else rnd.choice(tables)
    if r < 0.80:
        stmt = "SELECT name, phone FROM %s WHERE id = %d;" % (t, rnd.randrange(1, 10**6))
        kind, cls, cmd, rows = "audit", "READ", "SELECT", 1
    elif r < 0.88:
        stmt = "UPDATE %s SET phone = '139%08d' WHERE id = %d;" % (t, rnd.randrange(10**8), i)
        kind, cls, cmd, rows = "audit", "WRITE", "UPDATE", 1
    elif r < 0.93:
        stmt = "SELECT c.name, c.phone\n  FROM %s c\n WHERE c.branch = 'b%d'\n   AND c.id > %d;" % (
            t, i % 7, i)
        kind, cls, cmd, rows = "audit", "READ", "SELECT", rnd.randrange(1, 50)
    elif r < 0.94:
        stmt = "COPY %s TO STDOUT;" % t
        kind, cls, cmd, rows = "audit", "READ", "SELECT", rnd.randrange(100, 5000)
    elif r < 0.97:
        kind, msg = "login", "connection authorized: user=%s database=bank application_name=psql" % u
    elif r < 0.98:
        kind, msg = "failed", 'password authentication failed for user "%s"' % u
    else:
        kind, msg = "chatter", "checkpoint complete: wrote %d buffers" % rnd.randrange(1000)
    if kind == "audit":
        msg = "AUDIT: SESSION,%d,1,%s,%s,TABLE,%s,%s,<none>,%d" % (
            i % 100 + 1, cls, cmd, t, pgaudit_field(stmt), rows)
    sev = "FATAL" if kind == "failed" else "LOG"
    who = "" if kind == "chatter" else "%s@bank 10.1.%d.%d(%d) psql " % (
        u, i % 250, i % 200, 40000 + i % 20000)
    stderr.write("%s [%d] %s%s:  %s\n" % (ts(i), pid, who, sev, msg.replace("\n", "\n\t")))
    if kind == "failed":
        stderr.write("%s [%d] %sDETAIL:  Connection matched pg_hba.conf line 93\n" % (ts(i), pid, who))
    state = "28P01" if kind == "failed" else "00000"
    csvf.write(",".join([ts(i), csvq(u), csvq("bank"), str(pid), csvq("10.1.0.1:40000"), "6b099f8b.3a",
                         str(i % 100), csvq(cmd if kind == "audit" else ""), ts(i, False), "3/7", "0",
                         sev, state, csvq(msg), "", "", "", "", "", "", "", "", csvq("psql"),
                         csvq("client backend"), "", "0"]) + "\n")
    jsonf.write(json.dumps({"timestamp": ts(i), "user": u, "dbname": "bank", "pid": pid,
                            "remote_host": "10.1.0.1", "remote_port": 40000, "session_id": "6b099f8b.3a",
                            "line_num": i % 100, "error_severity": sev, "state_code": state,
                            "message": msg, "application_name": "psql",
                            "backend_type": "client backend", "query_id": 0},
                           separators=(",", ":")) + "\n")
    # MariaDB: the same operation as server_audit writes it
    mt = "%s:%02d:%02d" % ("20261127 15", (i // 60) % 60, i % 60)
    conn, db, tbl = 100 + i % 300, t.split(".")[0], t.split(".")[1]
    if kind == "audit":
        op = "WRITE" if cmd == "UPDATE" else "READ"
        my.write("%s,db1,%s,10.1.0.1,%d,%d,%s,%s,%s,\n" % (mt, u, conn, i, op, db, tbl))
        esc = stmt.rstrip(";").replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        my.write("%s,db1,%s,10.1.0.1,%d,%d,QUERY,%s,'%s',0\n" % (mt, u, conn, i, db, esc))
        my_records += 2
    elif kind in ("login", "failed"):
        my.write("%s,db1,%s,10.1.0.1,%d,0,%s,bank,,%d\n" % (
            mt, u, conn, "CONNECT" if kind == "login" else "FAILED_CONNECT",
            0 if kind == "login" else 1045))
        my_records += 1
    else:
        my.write("%s,db1,%s,10.1.0.1,%d,0,DISCONNECT,bank,,0\n" % (mt, u, conn))
        my_records += 1
print("pg.log %d\npg.csv %d\npg.json %d\nserver_audit.log %d" % (n, n, n, my_records))
