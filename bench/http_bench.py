"""Native single-send rate against a bare Starlette+msgspec route, same run, same worker count.

    python -m bench.http_bench [--workers 1 2] [--seconds 10] [--connections 64] [--latency]

Both servers run with uvloop and httptools and no access log; wrk (one thread) drives them from
the same machine (`--one-send-bare` adds the bare app on smsgate's own HTTP protocol, which
sends a response's head and body in one send, and the ratios to that). Beside each rate: the
server's CPU per request (every process and thread of it, from /proc), which a busy machine
disturbs less than the rate. Two smsgate modes: `accept` schedules every message an hour ahead
(the engine stays idle: the durable accept path alone) and `live` sends at once (the
dispatcher and the simulator run beside the HTTP front, on the same cores). After a live run
the bench waits until every message is final and prints how long that took: about zero when
the engine kept up with the load, so that the rate is one of messages sent, not only accepted.
`--latency` adds wrk's 99th percentile latency of each run. `--engine` adds the CPU per request
of smsgate's first process alone (with several workers: the engine, which supervises them).
`--cores` adds the cores each run used: the server's, wrk's, and the whole machine's busy
ones (from /proc/stat: the neighbours' too). A server that leaves a core idle while the machine
has one to give waits on something; on a busy machine each server gets its share of it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH_ACCOUNTS,
    ROOT,
    cpu_seconds,
    group_cpu_seconds,
    port_or_free,
    stop,
    wait_ready,
)
from bench.common import wrk as run_wrk
from smsgate.core.status import FINAL

PY = sys.executable
POST = str(ROOT / "bench/post.lua")


class Run:
    """What one wrk run measured: requests per second, the server's CPU per request, and the
    99th percentile latency in ms when wrk was asked for it; `lead_us`: the CPU per request of
    the process that leads the group (smsgate's engine beside its workers); `cores`: the
    server's, wrk's and the machine's busy cores over the run."""

    def __init__(
        self,
        rate: float,
        cpu_us: float,
        p99_ms: float | None = None,
        lead_us: float = 0.0,
        cores: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        self.rate = rate
        self.cpu_us = cpu_us
        self.p99_ms = p99_ms
        self.lead_us = lead_us
        self.cores = cores
        self.drain: float | None = None  # live: seconds after wrk until every message was final


def drained(db_path: Path, timeout: float = 60.0) -> float:
    """Seconds until every stored message is final (live mode: the engine kept up when this
    is about zero); raises when some are not after `timeout`."""
    final = [s.value for s in FINAL]
    started = time.monotonic()
    while True:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            marks = ",".join("?" * len(final))
            left = conn.execute(
                f"SELECT count(*) FROM messages WHERE status NOT IN ({marks})", final
            ).fetchone()[0]
        finally:
            conn.close()
        waited = time.monotonic() - started
        if not left:
            return waited
        if waited > timeout:
            raise RuntimeError(f"{left} messages not final {timeout:.0f} s after the load")
        time.sleep(0.05)


def machine_ticks() -> tuple[int, int]:
    """Every CPU's ticks since boot, and those idle (idle and iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]


def children_cpu_seconds() -> float:
    """User + system CPU of this process's ended children (wrk, once it has run)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measured(
    pgid: int, url: str, seconds: int, connections: int, extra: str = "", latency: bool = False
) -> Run:
    before, lead_before = group_cpu_seconds(pgid), cpu_seconds([pgid])
    wrk_before, (ticks_before, idle_before) = children_cpu_seconds(), machine_ticks()
    started = time.monotonic()
    done = run_wrk(url, seconds, connections, POST, {"BENCH_EXTRA": extra}, latency)
    elapsed = time.monotonic() - started
    used, lead = group_cpu_seconds(pgid) - before, cpu_seconds([pgid]) - lead_before
    ticks, idle = machine_ticks()
    busy = (1 - (idle - idle_before) / max(1, ticks - ticks_before)) * (os.cpu_count() or 1)
    per_request = 1e6 / (done.rate * elapsed)
    cores = (used / elapsed, (children_cpu_seconds() - wrk_before) / elapsed, busy)
    return Run(done.rate, used * per_request, done.p99_ms, lead * per_request, cores)


def wrk(url: str, seconds: int, connections: int, extra: str = "") -> float:
    """Requests per second of native single sends (bench/post.lua) for `seconds`."""
    return run_wrk(url, seconds, connections, POST, {"BENCH_EXTRA": extra}).rate


def start_smsgate(
    tmp: Path,
    db: str,
    accounts: dict[str, Any],
    port: int,
    workers: int,
    env: dict[str, str] | None = None,
    tree: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Import `accounts` into `db`, then start `smsgate serve` on it (no SMPP listener), from
    the checkout `tree`."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "SMSGATE_LOG_LEVEL": "warning",
        "SMSGATE_SMPP__PORT": "0",
        **(env or {}),
    }
    (tmp / "accounts.json").write_text(json.dumps(accounts))
    for command in (["init"], ["account", "import", str(tmp / "accounts.json")]):
        subprocess.run(
            [PY, "-m", "smsgate.cli", "--database", db, *command],
            cwd=tree,
            env=environment,
            check=True,
            capture_output=True,
        )
    return subprocess.Popen(
        [
            PY,
            "-m",
            "smsgate.cli",
            "serve",
            "--database",
            db,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=tree,
        env=environment,
        start_new_session=True,
    )


def start_bare(port: int, workers: int = 1, one_send: bool = False) -> subprocess.Popen[bytes]:
    """The bare Starlette+msgspec app (bench/bare_app.py) on stock uvicorn (httptools, uvloop).

    `one_send`: on smsgate's HTTP protocol instead (smsgate/http_protocol.py: a response's head
    and body in one send), to tell what that protocol gives from what the durable path costs.
    """
    if one_send:
        command = [
            "-c",
            "import sys, uvicorn;"
            "from smsgate.http_protocol import CoalescingHttpToolsProtocol;"
            "uvicorn.run('bench.bare_app:app', port=int(sys.argv[1]), workers=int(sys.argv[2]),"
            " loop='uvloop', http=CoalescingHttpToolsProtocol, access_log=False,"
            " log_level='warning')",
            str(port),
            str(workers),
        ]
    else:
        command = [
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return subprocess.Popen(
        [PY, *command],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def run_bare(
    workers: int,
    port: int,
    seconds: int,
    connections: int,
    one_send: bool = False,
    latency: bool = False,
) -> Run:
    proc = start_bare(port, workers, one_send)
    url = f"http://127.0.0.1:{port}/api/v1/messages"
    try:
        wait_ready(f"http://127.0.0.1:{port}/")
        wrk(url, 2, connections)  # warm-up
        return measured(proc.pid, url, seconds, connections, latency=latency)
    finally:
        stop(proc)


def run_smsgate(
    workers: int, port: int, seconds: int, connections: int, mode: str, latency: bool = False
) -> Run:
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-bench-"))
    db = f"sqlite:///{tmp}/bench.db"
    proc = start_smsgate(tmp, db, BENCH_ACCOUNTS, port, workers)
    extra = f',"schedule_at":{int(time.time()) + 3600}' if mode == "accept" else ""
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}/api/v1/messages"
        wrk(url, 2, connections, extra)
        run = measured(proc.pid, url, seconds, connections, extra, latency)
        if mode == "live":  # every message reaches a final status once the load stops
            run.drain = drained(tmp / "bench.db")
        return run
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--port", type=int, help="bare on PORT, smsgate on PORT+1 (default: free ports)"
    )
    parser.add_argument("--modes", nargs="+", default=["accept", "live"])
    parser.add_argument(
        "--one-send-bare",
        action="store_true",
        help="also run the bare app on smsgate's HTTP protocol, and print the ratios to it",
    )
    parser.add_argument(
        "--latency", action="store_true", help="print wrk's 99th percentile latency of each run"
    )
    parser.add_argument(
        "--engine",
        action="store_true",
        help="print the CPU per request of smsgate's engine process alone (with 2+ workers)",
    )
    parser.add_argument(
        "--cores",
        action="store_true",
        help="print the cores each run used: the server's, wrk's and the machine's busy ones",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package 'wrk')")
    print(
        f"{'workers':>7} {'bare req/s':>11} "
        + " ".join(f"{m + ' req/s':>12} {'ratio':>6}" for m in args.modes)
        + f" {'CPU µs/request: bare':>21} "
        + " ".join(f"{m:>6}" for m in args.modes)
    )
    for workers in args.workers:
        bare = run_bare(
            workers, port_or_free(args.port), args.seconds, args.connections, latency=args.latency
        )
        runs = [
            run_smsgate(
                workers,
                port_or_free(args.port, 1),
                args.seconds,
                args.connections,
                mode,
                args.latency,
            )
            for mode in args.modes
        ]
        cells = " ".join(f"{r.rate:12.0f} {r.rate / bare.rate:6.2f}" for r in runs)
        cpu = " ".join(f"{r.cpu_us:6.0f}" for r in runs)
        drains = "".join(
            f"  ({m}: final {r.drain:.1f} s after)"
            for m, r in zip(args.modes, runs, strict=True)
            if r.drain is not None
        )
        print(
            f"{workers:>7} {bare.rate:11.0f} {cells} {bare.cpu_us:21.0f} {cpu}{drains}", flush=True
        )
        if args.latency:
            p99 = " ".join(f"{m} {r.p99_ms:.1f}" for m, r in zip(args.modes, runs, strict=True))
            print(f"{'':>7} p99 ms at c={args.connections}: bare {bare.p99_ms:.1f}, {p99}")
        if args.engine:
            lead = " ".join(f"{m} {r.lead_us:.0f}" for m, r in zip(args.modes, runs, strict=True))
            print(f"{'':>7} engine process alone, µs/request: {lead}", flush=True)
        if args.cores:
            used = "; ".join(
                f"{name} {r.cores[0]:.2f} + wrk {r.cores[1]:.2f} (machine {r.cores[2]:.2f})"
                for name, r in zip(["bare", *args.modes], [bare, *runs], strict=True)
            )
            print(f"{'':>7} cores used: {used}", flush=True)
        if args.one_send_bare:
            same = run_bare(
                workers, port_or_free(args.port), args.seconds, args.connections, one_send=True
            )
            ratios = " ".join(
                f"{m} {r.rate / same.rate:.2f}" for m, r in zip(args.modes, runs, strict=True)
            )
            print(
                f"{'':>7} bare on smsgate's HTTP protocol: {same.rate:.0f} req/s,"
                f" {same.cpu_us:.0f} µs/request; ratios to it: {ratios}",
                flush=True,
            )


if __name__ == "__main__":
    main()
