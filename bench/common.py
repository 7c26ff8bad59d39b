"""What several benches share: wait for a server, stop a process group, read CPU from /proc,
run wrk and read what it printed, alternate baseline and candidate runs, show a spread."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# The one account the single-send benches import: token `bench-token`, room for 10^10 sends.
BENCH_ACCOUNTS = {
    "accounts": [
        {
            "name": "bench",
            "balance": "100000000",
            "price": "0.01",
            "senders": ["Test"],
            "credentials": [{"dialect": "native", "kind": "token", "secret": "bench-token"}],
        }
    ]
}


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def port_or_free(given: int | None, offset: int = 0) -> int:
    """The port asked for (plus offset), or a free one: several benches may run at once."""
    return free_port() if given is None else given + offset


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group `proc` leads (started with start_new_session=True)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float = 15.0) -> None:
    """SIGTERM to each process (the last started first), then wait for all; SIGKILL to one
    that has not exited within `timeout`."""
    for proc in reversed(procs):
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def _stat(pid: str | int) -> list[str] | None:
    """The fields of /proc/PID/stat after the process name (state, ppid, pgrp, ...)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime: every thread of the process


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every process in process group `pgid` (all their threads)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(entry)) and int(fields[2]) == pgid:
            ticks += _ticks(fields)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (those that have exited count nothing)."""
    ticks = sum(_ticks(fields) for pid in pids if (fields := _stat(pid)))
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Wrk:
    """What one wrk run printed: requests per second, requests answered 2xx or 3xx, and the
    99th percentile latency in milliseconds (with `latency=True` only)."""

    rate: float
    answered: int
    p99_ms: float | None = None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_wrk(out: str, allow_errors: bool = False) -> Wrk:
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors and not allow_errors:
        raise RuntimeError(f"{errors.group(1)} failed requests:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rate or not total:
        raise RuntimeError(f"wrk said:\n{out}")
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.MULTILINE)
    return Wrk(
        rate=float(rate.group(1)),
        answered=int(total.group(1)) - (int(errors.group(1)) if errors else 0),
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else None,
    )


def wrk(
    url: str,
    seconds: float,
    connections: int,
    script: str | None = None,
    env: Mapping[str, str] | None = None,
    latency: bool = False,
) -> Wrk:
    """One wrk thread (the servers have the other core) for `seconds` at `connections`."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s"]
    command += ["-s", script] if script else []
    command += ["--latency"] if latency else []
    out = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    ).stdout
    return parse_wrk(out)


def alternate(pairs: int, runners: Mapping[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Each runner `pairs` times, in turn, the order reversed every other pair (the machine is
    shared: a neighbour's burst then falls on each side alike)."""
    got: dict[str, list[T]] = {name: [] for name in runners}
    for pair in range(pairs):
        names = list(runners) if pair % 2 == 0 else list(runners)[::-1]
        for name in names:
            got[name].append(runners[name]())
    return got


def spread(values: list[float], fmt: str = ",.0f") -> str:
    """The median, and the range when there is more than one value: `8,120 (7,900–8,400)`."""
    middle = format(statistics.median(values), fmt)
    if len(values) < 2:
        return middle
    return f"{middle} ({format(min(values), fmt)}–{format(max(values), fmt)})"


def schema_url(server: str, schema: str, app: str) -> str:
    """`server`'s PostgreSQL URL for one schema, its connections named `app`
    (application_name: how a bench finds the backends that serve them)."""
    parts = urlsplit(server)
    query = f"search_path={schema}&application_name={app}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
