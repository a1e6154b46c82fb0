#!/usr/bin/env python3
"""Resident memory of `xecure serve` under floods of concurrent failed logins (issue 15,
security rule 19: what an anonymous request can cost). A scripted measurement, not a test.

    python3 infra/measure/login_flood.py --xecure target/debug/xecure [--rounds 5] [--concurrency 100]

Starts `xecure serve` on a free loopback port with a fresh data directory, then runs
--rounds rounds of --concurrency simultaneous `POST /login` with wrong passwords (a distinct
unknown username each, so every attempt is checked against the decoy hash and no account
lockout cuts the flood short; the per-source limit is raised for the same reason). After each
round it prints the server's resident memory (VmRSS), its peak (VmHWM), its thread count and
the answers' status codes; finally the RSS after a few idle seconds. Stops the server it
started (by its PID). Standard library only (and local_server.py beside it).
"""
import argparse
import collections
import http.client
import re
import threading
import time
import urllib.parse

from local_server import LocalServer


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    mb = lambda k: int(fields[k].split()[0]) / 1024
    return {"rss_mb": mb("VmRSS"), "peak_mb": mb("VmHWM"), "threads": int(fields["Threads"])}


def login_form(port):
    """A cookie and the CSRF token bound to it, from GET /login?return=apps."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login?return=apps")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    conn.close()
    return cookie, csrf


def failed_login(port, cookie, csrf, username, statuses, lock):
    body = urllib.parse.urlencode(
        {"username": username, "password": "not the password", "csrf": csrf, "return": "apps"}
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        })
        status = conn.getresponse().status
        conn.close()
    except OSError as error:
        status = type(error).__name__
    with lock:
        statuses[status] += 1


def flood(port, cookie, csrf, concurrency, round_no):
    statuses, lock = collections.Counter(), threading.Lock()
    start = threading.Barrier(concurrency)

    def one(n):
        start.wait()
        failed_login(port, cookie, csrf, f"flood{round_no}x{n}", statuses, lock)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, time.monotonic() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xecure", required=True, help="the xecure binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()

    env = {"XECURE_LOGIN_SOURCE_MAX_FAILURES": "1000000"}
    with LocalServer(args.xecure, env=env) as server:
        port = server.port
        cookie, csrf = login_form(port)
        warm, _ = flood(port, cookie, csrf, 1, "warm")
        print(f"binary {args.xecure}")
        print(f"after one login      {fmt(proc_status(server.pid))}  {dict(warm)}")
        for round_no in range(1, args.rounds + 1):
            statuses, took = flood(port, cookie, csrf, args.concurrency, round_no)
            print(f"after round {round_no} ({args.concurrency} concurrent, {took:.1f} s) "
                  f"{fmt(proc_status(server.pid))}  {dict(statuses)}")
        time.sleep(5)
        print(f"after 5 s idle       {fmt(proc_status(server.pid))}")


def fmt(status):
    return f"RSS {status['rss_mb']:7.1f} MB  peak {status['peak_mb']:7.1f} MB  threads {status['threads']:3d}"


if __name__ == "__main__":
    main()
