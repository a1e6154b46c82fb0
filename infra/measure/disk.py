"""The embedded store's file under anonymous load, with the expiry sweep (issue #15).

Starts `xecure serve` on a fresh data directory with authorization requests living 1 minute
and a sweep every 20 s, sends N anonymous `GET /authorize` requests (each parks a pending
request: about 660 bytes stored), waits for them to expire and be swept, sends N more, and
prints the data file's size at each step. Without the sweep the file would keep every request;
with it, the second batch reuses the space the first one freed.

    python3 infra/measure/disk.py --xecure target/debug/xecure --requests 100000
"""
import argparse
import base64
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authorize_path(port, n):
    verifier = "disk-measure-verifier-%032d" % n
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return "/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": "demo-app", "scope": "profile:read",
        "redirect_uri": "http://127.0.0.1:%d/demo/callback" % port, "state": str(n),
        "code_challenge": challenge, "code_challenge_method": "S256"})


def load(port, total, threads=8):
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()

    def worker(start):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(start, total, threads):
            conn.request("GET", authorize_path(port, n))
            response = conn.getresponse()
            response.read()
            with lock:
                counts["ok" if response.status == 303 else "other"] += 1
        conn.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xecure", default="target/debug/xecure")
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    port = free_port()
    data = tempfile.mkdtemp(prefix="xecure-disk-")
    database = os.path.join(data, "xecure.redb")
    env = dict(os.environ, XECURE_AUTHORIZATION_REQUEST_MINUTES="1", XECURE_SWEEP_SECONDS="20")
    serve = subprocess.Popen([args.xecure, "--data-dir", data, "serve", "--listen", "127.0.0.1:%d" % port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        size = lambda: os.path.getsize(database) / 1e6
        print("empty (keys, demo clients and user): %.1f MB" % size(), flush=True)
        for batch in (1, 2):
            counts, took = load(port, args.requests)
            print("batch %d: %d requests (%s) in %.0f s; file %.1f MB" % (batch, args.requests, counts, took, size()), flush=True)
            time.sleep(90)  # 60 s to expire, then a sweep
            print("batch %d expired and swept: file %.1f MB" % (batch, size()), flush=True)
    finally:
        serve.terminate()
        _, errors = serve.communicate()
        swept = [line for line in errors.splitlines() if "swept" in line]
        print("sweeps: %s" % "; ".join(swept[-4:]))


if __name__ == "__main__":
    sys.exit(main())
