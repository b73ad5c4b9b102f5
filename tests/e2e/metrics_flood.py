#!/usr/bin/env python3
"""A hostile local client of /metrics: N idle connections held open (slowloris), a request
head over the size limit, a large body. Prints what the server did, one fact a line.

usage: metrics_flood.py HOST PORT N"""
import resource
import socket
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 256), hard))

idle = []
for _ in range(n):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        idle.append(s)
    except OSError:
        s.close()
print("opened", len(idle))


def closed_by_server(s):
    s.settimeout(0.01)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


time.sleep(0.5)
print("closed at once", sum(1 for s in idle if closed_by_server(s)))
deadline = time.time() + 15
while time.time() < deadline and not all(closed_by_server(s) for s in idle):
    time.sleep(0.5)
print("closed within 15 s", sum(1 for s in idle if closed_by_server(s)))
for s in idle:
    s.close()


def exchange(payload):
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(payload)
    except OSError:
        pass
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


print("big head", exchange(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n"))
print("big body", exchange(b"POST /metrics HTTP/1.1\r\nContent-Length: 52428800\r\n\r\n" +
                           b"x" * (8 << 20)))
print("after", exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
