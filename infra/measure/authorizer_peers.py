"""Authorizer decision, Xecure beside the Node peers in the same run (issue #21 goal 1).

Xecure's criterion benchmark (`cargo bench -p authorizer --bench decision`: the crypto floor
`crypto_floor_ed25519_verify`, the raw signature check with a pre-parsed key, then
`full_decision_new_token` and `full_decision_cached_token`) and the same decision written on
AWS's aws-jwt-verify and panva's jose (`authorizer_peers/peers.mjs`, with Node's own Ed25519
verify as their floor), run in turn `--rounds` times so both see the same machine.

Two statistics per benchmark and round: the median sample (criterion's estimate; the peers'
median of 30 samples) and the fastest sample (criterion's `sample.json`; the peers' fastest).
On a shared virtual machine a neighbour slows whole seconds of a run, so two benchmarks
run a few seconds apart can differ by a third with no change in the code; the fastest
sample is the least disturbed, and the ratios to the floor are given on both, as the
median over rounds of each round's ratio.

    python3 infra/measure/authorizer_peers.py [--rounds 3] [--measurement-time 3]

Needs cargo, node and npm (the peers are installed pinned by their package-lock.json into
authorizer_peers/node_modules). Exits 1 when a benchmark's output cannot be read.
Standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS_DIR = os.path.join(HERE, "authorizer_peers")
CRITERION_DIR = os.path.join(ROOT, "target", "criterion", "authorizer")
FLOOR = "crypto_floor_ed25519_verify"
NEW = "full_decision_new_token"
CACHED = "full_decision_cached_token"
WORKS = (FLOOR, NEW, CACHED)
STATISTICS = ("median", "fastest")
PEERS = ("aws-jwt-verify", "jose")


def criterion_figures(work):
    """{statistic: µs} from criterion's files for the benchmark just run."""
    with open(os.path.join(CRITERION_DIR, work, "new", "estimates.json")) as estimates:
        median_ns = json.load(estimates)["median"]["point_estimate"]
    with open(os.path.join(CRITERION_DIR, work, "new", "sample.json")) as sample:
        sample = json.load(sample)
    fastest_ns = min(t / n for t, n in zip(sample["times"], sample["iters"]))
    return {"median": median_ns / 1000, "fastest": fastest_ns / 1000}


def xecure_round(measurement_time):
    """One criterion run of the three benchmarks: {work: {statistic: µs}}."""
    pattern = f"^authorizer/({FLOOR}|{NEW}|{CACHED})$"
    subprocess.run(
        ["cargo", "bench", "--quiet", "-p", "authorizer", "--bench", "decision", "--",
         pattern, "--warm-up-time", "1", "--measurement-time", str(measurement_time)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return {work: criterion_figures(work) for work in WORKS}


def peers_round():
    """One run of peers.mjs: {column: {work: {statistic: µs}}}, Node's floor in each."""
    run = subprocess.run(["node", "peers.mjs"], cwd=PEERS_DIR, check=True,
                         capture_output=True, text=True)
    measured = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        measured[(record["peer"], record["work"])] = {
            "median": record["median_us"], "fastest": record["fastest_us"]}
    try:
        return {peer: {FLOOR: measured[("node", FLOOR)], NEW: measured[(peer, NEW)],
                       CACHED: measured[(peer, CACHED)]} for peer in PEERS}
    except KeyError as missing:
        sys.exit(f"peers.mjs printed no figure for {missing}:\n{run.stdout}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measurement-time", type=int, default=3,
                        help="criterion's seconds per benchmark")
    args = parser.parse_args()
    for tool in ("cargo", "node", "npm"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found")
    if not os.path.isdir(os.path.join(PEERS_DIR, "node_modules")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEERS_DIR,
                       check=True)
    print("building the benchmark (release profile)...", flush=True)
    subprocess.run(["cargo", "bench", "--quiet", "-p", "authorizer", "--bench", "decision",
                    "--no-run"], cwd=ROOT, check=True)

    rounds = []  # [{column: {work: {statistic: µs}}}]
    for round_number in range(1, args.rounds + 1):
        columns = {"xecure": xecure_round(args.measurement_time), **peers_round()}
        rounds.append(columns)
        print(f"round {round_number}: {json.dumps(columns)}", flush=True)

    def median(column, work, statistic):
        return statistics.median(r[column][work][statistic] for r in rounds)

    def ratio(column, statistic):
        return statistics.median(
            r[column][NEW][statistic] / r[column][FLOOR][statistic] for r in rounds)

    columns = rounds[0].keys()
    print(f"\n{args.rounds} alternating rounds; µs per decision, median sample (fastest sample)\n")
    print("| work | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    rows = (
        ("crypto floor: Ed25519 verify, pre-parsed key", FLOOR),
        ("full decision, a new token each call", NEW),
        ("full decision, a repeated token (claims cache)", CACHED),
    )
    for label, work in rows:
        cells = (f"{median(c, work, 'median'):.2f} ({median(c, work, 'fastest'):.2f})"
                 for c in columns)
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = (f"{ratio(c, 'median'):.2f}x ({ratio(c, 'fastest'):.2f}x)" for c in columns)
    print("| new-token decision / own floor | " + " | ".join(cells) + " |")
    cached = {c: f"{median(c, CACHED, 'median'):.2f} ({median(c, CACHED, 'fastest'):.2f}) µs"
              for c in columns}
    print(f"\ngoal 1: new token <= 1.15x the floor: {ratio('xecure', 'median'):.2f}x "
          f"({ratio('xecure', 'fastest'):.2f}x); repeated token <= 4 µs and faster than both "
          f"peers: {cached['xecure']} (" + ", ".join(f"{p} {cached[p]}" for p in PEERS) + ")")


if __name__ == "__main__":
    main()
