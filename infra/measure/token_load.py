"""Token-endpoint load, Xecure beside the certified peer in the same run (issue #21 goal 5).

`xecure serve` (release build) and panva's oidc-provider (`token_peer/`, OpenID Certified),
each issuing client_credentials access tokens as EdDSA-signed JWTs (RFC 9068) on loopback,
driven in turn by wrk (`--connections` connections, `--seconds` each, `--rounds` times,
alternating so both see the same machine). Per run: tokens/s, p50 and p99 latency, the
server's CPU per token (utime + stime from /proc before and after), its RSS after; then
the medians and the ratio.

    python3 infra/measure/token_load.py [--seconds 10] [--connections 16] [--rounds 3]
                                        [--server-cpus 0] [--xecure target/release/xecure]

Needs wrk (Debian: `apt-get install wrk`), node and npm (the peer is installed pinned by its
package-lock.json into token_peer/node_modules), and a release `xecure` (built with
`cargo build --release -p xecure-cli` when missing). Xecure's per-client rate limit
(`XECURE_CLIENT_RATE_PER_MINUTE`, 600 by default) is lifted for the run: the server is
measured, not its limiter; every request must get 200 or the run fails. `--server-cpus 0`
pins both servers to CPU 0 (taskset) for the one-core figure. Standard library only.
"""
import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from local_server import LocalServer, free_port  # noqa: E402

CLIENT = "bench"
PEER_SECRET = "peer-bench-secret-0123456789abcdefghij"
BODY = "grant_type=client_credentials&scope=orders:read"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of `pid` and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wrk_script(basic):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(
        'wrk.method = "POST"\n'
        f'wrk.body = "{BODY}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.headers["Authorization"] = "Basic {basic}"\n'
    )
    script.close()
    return script.name


def seconds_of(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def load(url, script, connections, seconds, pid):
    """One wrk run against `url`: tokens/s, p50, p99 (s), CPU µs per token, RSS MB."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", script, url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if failed or errors or total == 0:
        sys.exit(f"{url}: not every request got a token:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = seconds_of(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = seconds_of(re.search(r"\s99%\s+(\S+)", out).group(1))
    return rate, p50, p99, cpu / total * 1e6, rss_mb(pid)


def pinned(command, cpus):
    return ["taskset", "-c", cpus, *command] if cpus else command


def start_peer(cpus):
    peer_dir = os.path.join(HERE, "token_peer")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=peer_dir, check=True)
    port = free_port()
    process = subprocess.Popen(
        pinned(["node", "peer.mjs", str(port), CLIENT, PEER_SECRET], cpus),
        cwd=peer_dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, NODE_ENV="production"),
    )
    if process.stdout.readline().strip() != "peer ready":
        process.kill()
        sys.exit("oidc-provider did not start")
    return process, f"http://127.0.0.1:{port}/token"


def xecure_client(xecure, data_dir):
    """Registers the bench client beside the server; its secret."""
    command = [xecure, "--data-dir", data_dir, "client", "add", CLIENT, "--name", "Bench",
               "--scope", "orders:read", "--grant", "client_credentials"]
    # The server opens its CLI endpoint just after its port: retry for a few seconds.
    for _ in range(50):
        added = subprocess.run(command, capture_output=True, text=True)
        if added.returncode == 0:
            return re.search(r"client_secret: (\S+)", added.stdout).group(1)
        time.sleep(0.1)
    sys.exit(f"xecure client add failed: {added.stderr}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-cpus", default=None, help="taskset CPU list for both servers")
    parser.add_argument("--xecure", default=os.path.join(ROOT, "target", "release", "xecure"))
    args = parser.parse_args()
    for tool in ("wrk", "node", "npm") + (("taskset",) if args.server_cpus else ()):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required (wrk: apt-get install wrk)")
    if not os.path.exists(args.xecure):
        subprocess.run(["cargo", "build", "--release", "-p", "xecure-cli"], cwd=ROOT, check=True)

    env = {"XECURE_CLIENT_RATE_PER_MINUTE": "1000000000", "XECURE_CLIENT_BURST": "1000000000"}
    results = {"xecure": [], "oidc-provider": []}
    with LocalServer(args.xecure, env=env) as server:
        if args.server_cpus:
            subprocess.run(["taskset", "-a", "-p", "-c", args.server_cpus, str(server.pid)],
                           check=True, capture_output=True)
        secret = xecure_client(args.xecure, server.data)
        peer, peer_url = start_peer(args.server_cpus)
        try:
            targets = [
                ("xecure", f"http://127.0.0.1:{server.port}/token",
                 wrk_script(base64.b64encode(f"{CLIENT}:{secret}".encode()).decode()), server.pid),
                ("oidc-provider", peer_url,
                 wrk_script(base64.b64encode(f"{CLIENT}:{PEER_SECRET}".encode()).decode()),
                 peer.pid),
            ]
            for round_number in range(1, args.rounds + 1):
                for name, url, script, pid in targets:
                    result = load(url, script, args.connections, args.seconds, pid)
                    results[name].append(result)
                    rate, p50, p99, cpu, rss = result
                    print(f"round {round_number} {name:14} {rate:9.0f} tokens/s  p50 {p50 * 1e3:6.2f} ms"
                          f"  p99 {p99 * 1e3:6.2f} ms  {cpu:6.0f} µs CPU/token  RSS {rss:6.0f} MB",
                          flush=True)
                    time.sleep(1)
        finally:
            peer.terminate()
            peer.wait(timeout=10)

    def median(name, index):
        return statistics.median(result[index] for result in results[name])

    print(f"\nmedians over {args.rounds} rounds, {args.connections} connections, "
          f"servers on CPUs {args.server_cpus or 'all'}:")
    for name in results:
        print(f"  {name:14} {median(name, 0):9.0f} tokens/s  p99 {median(name, 2) * 1e3:6.2f} ms"
              f"  {median(name, 3):6.0f} µs CPU/token")
    print(f"  ratio (xecure / oidc-provider): {median('xecure', 0) / median('oidc-provider', 0):.2f}x "
          f"tokens/s, {median('oidc-provider', 3) / median('xecure', 3):.2f}x less CPU per token")


if __name__ == "__main__":
    main()
