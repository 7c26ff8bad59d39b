"""Placement: live single sends with the engine pinned to a CPU of its own beside the same
server unpinned, alternated (the machine is shared: pairs, not single runs).

    python -m bench.placement_bench [--workers 1] [--pairs 3] [--seconds 10] [--connections 64]

Each run starts `smsgate serve` (SQLite, simulator, no callbacks) with `pin_engine = "auto"`
or `"off"`, drives the native single send with wrk as `bench.http_bench --modes live` does,
then waits until every message is final. Printed per run: requests a second, the server's CPU
per request (every process, from /proc; a loaded machine disturbs it less than the rate), and
how long after wrk the last message became final (about zero: the engine kept up).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.common import BENCH_ACCOUNTS
from bench.http_bench import Run, drained, measured, start_smsgate, stop, wait_ready, wrk
from tests.support.servers import free_port


def one_run(pin: str, workers: int, seconds: int, connections: int) -> Run:
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-place-"))
    port = free_port()
    env = {"SMSGATE_PIN_ENGINE": pin}
    proc = start_smsgate(tmp, f"sqlite:///{tmp}/bench.db", BENCH_ACCOUNTS, port, workers, env)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}/api/v1/messages"
        wrk(url, 2, connections)  # warm-up
        run = measured(proc.pid, url, seconds, connections)
        run.drain = drained(tmp / "bench.db")
        return run
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package 'wrk')")
    runs: dict[str, list[Run]] = {"off": [], "auto": []}
    print(f"{'pin_engine':>10} {'req/s':>8} {'CPU µs/req':>11} {'final after':>12}")
    for _ in range(args.pairs):
        for pin, done in runs.items():
            run = one_run(pin, args.workers, args.seconds, args.connections)
            done.append(run)
            print(
                f"{pin:>10} {run.rate:8.0f} {run.cpu_us:11.0f} {run.drain or 0:11.1f}s", flush=True
            )
    rate = [a.rate / b.rate for a, b in zip(runs["auto"], runs["off"], strict=True)]
    cpu = [a.cpu_us / b.cpu_us for a, b in zip(runs["auto"], runs["off"], strict=True)]
    print(
        f"pinned / unpinned, pair by pair: rate {' '.join(f'{r:.2f}' for r in rate)}"
        f" (median {statistics.median(rate):.2f}); CPU per request"
        f" {' '.join(f'{c:.2f}' for c in cpu)} (median {statistics.median(cpu):.2f})"
    )


if __name__ == "__main__":
    main()
