#!/usr/bin/env python3
"""A stand-in for systemd's notification socket: binds a datagram socket at PATH and appends
every message it receives to OUT, one per line, until killed."""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", "|") + "\n")
