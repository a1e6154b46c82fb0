#!/usr/bin/env python3
"""How `xecure serve` holds up against slow and piled-up connections (issue 15, security
rule 19). A scripted measurement, not a test.

    python3 infra/measure/server_limits.py --xecure target/debug/xecure [--slow 200]

1. slowloris: opens --slow connections that each send half a request's headers and then
   nothing; prints how many the server still holds open after 5 s and after 15 s.
2. out of file descriptors: restarts the server with a soft limit of 64 open files, opens
   100 connections (accept starts failing with EMFILE), and prints the server's CPU time and
   the lines it wrote to stderr over the next 5 s.

Starts each server on a free loopback port with a fresh data directory and stops it by its
PID. Standard library only (and local_server.py beside it).
"""
import argparse
import os
import socket
import time

from local_server import LocalServer


def still_open(connections):
    """Connections the server has not closed (a read would block, not return EOF)."""
    alive = 0
    for conn in connections:
        conn.setblocking(False)
        try:
            alive += 1 if conn.recv(1) else 0
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slowloris(xecure, count):
    with LocalServer(xecure) as server:
        port = server.port
        connections = []
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            connections.append(conn)
        for wait in (5, 10):
            time.sleep(wait)
            print(f"slowloris: {still_open(connections)} of {count} still open after "
                  f"{5 if wait == 5 else 15} s")
        for conn in connections:
            conn.close()


def out_of_descriptors(xecure):
    with LocalServer(xecure, open_files=64) as server:
        port, stderr = server.port, server.stderr
        connections = []
        for _ in range(100):
            try:
                connections.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        before = cpu_seconds(server.pid)
        stderr.seek(0, os.SEEK_END)
        start_size = stderr.tell()
        time.sleep(5)
        used = cpu_seconds(server.pid) - before
        stderr.seek(start_size)
        lines = stderr.read().count(b"\n")
        print(f"out of descriptors: {len(connections)} connections opened; over 5 s the server "
              f"used {used:.2f} s of CPU ({used / 5:.0%}) and wrote {lines} stderr lines")
        for conn in connections:
            conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xecure", required=True)
    parser.add_argument("--slow", type=int, default=200)
    args = parser.parse_args()
    print(f"binary {args.xecure}")
    slowloris(args.xecure, args.slow)
    out_of_descriptors(args.xecure)


if __name__ == "__main__":
    main()
