"""Where a live single send's latency tail comes from: every process's write stages, traced.

    python -m bench.live_tail [--seconds 10] [--connections 32] [--runs 1] [--tree PATH]

Runs `smsgate serve --workers 2` on SQLite with live native single sends (wrk, as
`bench.http_bench --modes live --latency`: the p99 row of `bench.lifecycle`), each of its
processes tracing its SQLite writes (bench/tail_trace/sitecustomize.py: lock holds and waits,
group commits, WAL flushes, checkpoints, event-loop lag, collections, each request's time in
its worker), and prints for the measured seconds:

- the rate, the CPU a request and wrk's p99, and the load average;
- the requests' time in their worker, and how wrk's connections fell to the workers;
- each process's holds of the write lock: wall time, and the CPU its thread used meanwhile
  (a hold far longer than its CPU was preempted: every process waits for it);
- its WAL flushes, checkpoints' locked parts and event-loop lag;
- the slowest 1% of requests in the workers: how much of their time overlapped each kind of
  stall, beside the share of the run each kind covered (a stall that makes the tail covers
  more of the slow requests than of the run).

`--tree PATH` serves another checkout's smsgate (traced with this tree's tracer) in turns with
this one's, `--runs` each. The tracing costs a few µs a note: compare runs with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH_ACCOUNTS, ROOT, group_cpu_seconds, stop, wait_ready
from bench.common import wrk as run_wrk
from bench.http_bench import POST, start_smsgate
from tests.support.servers import free_port

TRACER = ROOT / "bench/tail_trace"
Note = list[Any]
Span = tuple[float, float]


@dataclass
class Process:
    """One smsgate process's notes within the measured seconds."""

    pid: int
    role: str  # engine, worker, other
    notes: dict[str, list[Note]] = field(default_factory=dict)

    def spans(self, kind: str) -> list[Span]:
        return [(n[1], n[2]) for n in self.notes.get(kind, [])]


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def covered(spans: Iterable[Span], start: float, end: float) -> float:
    """Seconds of [start, end] within any of `spans` (overlaps counted once)."""
    total, reach = 0.0, start
    for a, b in sorted(spans):
        a, b = max(a, reach), min(b, end)
        if b > a:
            total += b - a
            reach = b
    return total


def load(folder: Path, window: Span, engine: int) -> list[Process]:
    """The notes of every process that wrote some, those begun within `window`."""
    processes = []
    for path in sorted(folder.glob("*.jsonl")):
        pid = int(path.stem)
        notes: dict[str, list[Note]] = {}
        with path.open() as lines:
            for line in lines:
                note = json.loads(line)
                if window[0] <= note[1] <= window[1]:
                    notes.setdefault(note[0], []).append(note)
        role = "engine" if pid == engine else ("worker" if "req" in notes else "other")
        processes.append(Process(pid, role, notes))
    return processes


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def spread(spans: Sequence[Span]) -> str:
    """p50, p99 and max of the spans' durations, in ms."""
    lengths = [b - a for a, b in spans]
    return f"{ms(quantile(lengths, 0.5))} / {ms(quantile(lengths, 0.99))} / {ms(max(lengths))}"


def _per_commit(worker: Process) -> float:
    return len(worker.notes["req"]) / max(1, len(worker.notes.get("group", [])))


def report(processes: list[Process], window: Span) -> list[str]:
    """The lines printed for one run (see the module's docstring)."""
    seconds = window[1] - window[0]
    workers = [p for p in processes if p.role == "worker"]
    lines = []
    requests = [span for w in workers for span in w.spans("req")]
    if requests:
        split = " / ".join(
            f"{len(w.notes['req']):,} ({_per_commit(w):.1f} a commit)" for w in workers
        )
        lines.append(
            f"  requests in the workers, p50 / p99 / max ms: {spread(requests)}; by worker {split}"
        )
    lines.append("  lock holds: n, wall p50 / p99 / max ms, CPU mean ms, share of the run held")
    for p in processes:
        holds = p.notes.get("hold", [])
        if not holds:
            continue
        cpu = sum(n[4] for n in holds) / len(holds)
        held = sum(n[2] - n[1] for n in holds) / seconds
        lines.append(
            f"    {p.role:6} {p.pid:>7}: {len(holds):5} {spread(p.spans('hold'))} {ms(cpu)} {held:.1%}"
        )
    for p in processes:
        parts = []
        for kind, label in (("sync", "flushes"), ("ckpt", "checkpoints"), ("wait", "lock waits")):
            if p.notes.get(kind):
                parts.append(f"{label} {len(p.notes[kind])} ({spread(p.spans(kind))})")
        lag = [n[2] for n in p.notes.get("lag", [])]
        if lag:
            parts.append(f"loop late >1 ms {len(lag)} times, {ms(sum(lag))} ms in all")
        if parts:
            lines.append(f"    {p.role:6} {p.pid:>7}: " + "; ".join(parts))
    lines += _slowest(processes, workers, window)
    return lines


def _slowest(processes: list[Process], workers: list[Process], window: Span) -> list[str]:
    """How the slowest 1% of requests overlapped each kind of stall, against the run."""
    engine = [p for p in processes if p.role == "engine"]
    kinds: dict[str, Any] = {
        "engine's lock holds": lambda w: [s for e in engine for s in e.spans("hold")],
        "other processes' worker holds": lambda w: [
            s for o in workers if o is not w for s in o.spans("hold")
        ],
        "checkpoints' locked parts": lambda w: [s for p in processes for s in p.spans("ckpt")],
        "its own WAL flushes": lambda w: w.spans("sync"),
        "its own loop late": lambda w: [(n[1] - n[2], n[1]) for n in w.notes.get("lag", [])],
    }
    slow: list[tuple[Process, Span]] = []
    for w in workers:
        slow += [(w, s) for s in w.spans("req")]
    if not slow:
        return []
    cut = quantile([b - a for _w, (a, b) in slow], 0.99)
    slow = [(w, s) for w, s in slow if s[1] - s[0] >= cut]
    mean = sum(b - a for _w, (a, b) in slow) / len(slow)
    lines = [
        f"  the slowest 1% ({len(slow)} requests of {ms(cut)} ms or more, mean {ms(mean)} ms):"
    ]
    for name, spans_of in kinds.items():
        inside = sum(covered(spans_of(w), a, b) for w, (a, b) in slow) / len(slow)
        run = sum(covered(spans_of(w), *window) for w in workers) / len(workers)
        share = run / (window[1] - window[0])
        lines.append(
            f"    {name:30} {ms(inside):>6} ms of them ({inside / mean:.0%}); of the run {share:.0%}"
        )
    return lines


def one_run(tree: Path, seconds: int, connections: int) -> tuple[str, list[str]]:
    """Serve `tree`'s smsgate traced, load it, and report: the run's line and the report's."""
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-tail-"))
    try:
        traces = tmp / "trace"
        traces.mkdir()
        window, head, engine = _load_traced(tree, tmp, traces, seconds, connections)
        time.sleep(0.6)  # the tracers' last writes
        return head, report(load(traces, window, engine), window)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_traced(
    tree: Path, tmp: Path, traces: Path, seconds: int, connections: int
) -> tuple[Span, str, int]:
    """The measured seconds, their line, and the engine's pid, of one traced server's run."""
    port = free_port()
    env = {"PYTHONPATH": f"{TRACER}:{tree}", "TAIL_TRACE_DIR": str(traces)}
    proc = start_smsgate(tmp, f"sqlite:///{tmp}/bench.db", BENCH_ACCOUNTS, port, 2, env, tree)
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}/api/v1/messages"
        run_wrk(url, 2, connections, POST, {"BENCH_EXTRA": ""})  # warm-up
        before, started = group_cpu_seconds(proc.pid), time.monotonic()
        done = run_wrk(url, seconds, connections, POST, {"BENCH_EXTRA": ""}, latency=True)
        window = (started, time.monotonic())
        cpu = (group_cpu_seconds(proc.pid) - before) * 1e6 / (done.rate * (window[1] - window[0]))
    finally:
        stop(proc)
    head = (
        f"{done.rate:,.0f} req/s, {cpu:.0f} µs CPU a request, wrk p99 {done.p99_ms:.1f} ms"
        f" at c={connections}, load {os.getloadavg()[0]:.1f}"
    )
    return window, head, proc.pid


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tree", type=Path, help="another checkout, served in turns with this")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package 'wrk')")
    trees = [ROOT] + ([args.tree.resolve()] if args.tree else [])
    for run in range(args.runs):
        for tree in trees if run % 2 == 0 else trees[::-1]:
            head, lines = one_run(tree, args.seconds, args.connections)
            name = "this tree" if tree == ROOT else str(tree)
            print(f"run {run + 1}, {name}: {head}", *lines, sep="\n", flush=True)


if __name__ == "__main__":
    main()
