"""Memory soak: a live server over many messages with callbacks, its memory sampled over time.

    python -m bench.soak [--messages 1000000] [--workers 2] [--rate 2500]
                         [--database sqlite|postgres] [--every 10] [--warmup N]

Starts `smsgate serve` (bench/http_bench.py's helper) with one account whose native callbacks
(`submitted` and the final status: two a message) go to a receiver on 127.0.0.1 in a process of
its own, so it does not count against smsgate. wrk drives native single sends (bench/post.lua,
paced by bench/soak.lua) at a steady rate below saturation, so the soak measures memory and not
a backlog, until `--messages` are answered. Every `--every` seconds it samples the RSS
(/proc/PID/status VmRSS) and PSS (smaps_rollup) of every process of smsgate's process group
(the engine, which supervises, each HTTP worker, the notifier) and the database's size, and
prints them beside the messages accepted and final and the callbacks received.

At the end, per process: the first sample after warm-up (`--warmup`, by default a tenth of the
messages and at least the store's record of recent messages, 50,000), the last, the lowest and
the highest, and PASS when every sample after warm-up is within ±10 % of the first (issue 18's
bar). Then the checks: every message final, and exactly
two callbacks per message at the receiver (`submitted` and a final one; duplicates counted
apart), for exactly the messages in the database. The exit status is 0 when all holds, 1 when a
check fails, 2 when only memory is not flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import group_cpu_seconds, stop, wait_ready
from bench.http_bench import start_smsgate
from bench.soak_receiver import Tally
from smsgate.core.status import FINAL
from smsgate.store.recent import RecentMessages

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MIB = 1024 * 1024
BAND = 0.10  # issue 18: memory flat within ±10 %
FINALS = tuple(s.value for s in FINAL)
COUNT_SQL = "SELECT count(*), coalesce(sum(CASE WHEN status IN ({}) THEN 1 ELSE 0 END), 0)"
COUNT_SQL += " FROM messages"


@dataclass
class Sample:
    t: float  # seconds since the load began
    accepted: int  # messages stored
    final: int  # of them, in a final status
    calls: Tally  # at the receiver
    rss: dict[str, int]  # bytes, per process label
    pss: dict[str, int]
    disk: dict[str, int]  # bytes: the database's files (SQLite) or the schema's relations


@dataclass
class Group:
    """smsgate's processes, named once: the engine leads the group; workers start first."""

    pgid: int
    workers: int
    labels: dict[int, str] = field(default_factory=dict)

    def pids(self) -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat and int(stat[2]) == self.pgid:
                    found.append(int(entry))
        return found

    def name(self) -> None:
        """Label the processes there now (the engine, workers, notifier, any helper)."""
        others = sorted((p for p in self.pids() if p != self.pgid), key=_started)
        self.labels = {self.pgid: "engine"}
        n = 0
        for pid in others:
            if b"resource_tracker" in _cmdline(pid):
                self.labels[pid] = "tracker"
            elif n < self.workers:
                n += 1
                self.labels[pid] = f"worker{n}"
            else:
                self.labels[pid] = (
                    "notifier" if "notifier" not in self.labels.values() else str(pid)
                )

    def memory(self) -> tuple[dict[str, int], dict[str, int]]:
        rss: dict[str, int] = {}
        pss: dict[str, int] = {}
        for pid in self.pids():
            label = self.labels.get(pid)
            if label is None:  # a process (re)started since: it keeps its pid as its name
                label = self.labels[pid] = f"new{pid}"
                print(f"  ! new process {pid} in smsgate's group: {_cmdline(pid)[:80]!r}")
            rss[label] = _kib(f"/proc/{pid}/status", "VmRSS:")
            pss[label] = _kib(f"/proc/{pid}/smaps_rollup", "Pss:")
        return rss, pss


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the name: state, ppid, pgrp, ... (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _started(pid: int) -> int:
    stat = _stat(pid)
    return int(stat[19]) if stat else 0  # field 22, starttime


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def _kib(path: str, key: str) -> int:
    """Bytes from a /proc `key: N kB` line; 0 where unreadable (PSS needs the same user)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Database:
    """Where the soak's smsgate keeps its data, counted from outside the server."""

    def __init__(self, kind: str, folder: Path, pg: str) -> None:
        self.kind = kind
        self.path = folder / "soak.db"
        self.schema = f"soak_{secrets.token_hex(4)}"
        self.pg = pg
        self.url = (
            f"sqlite:///{self.path}" if kind == "sqlite" else f"{pg}?search_path={self.schema}"
        )
        self.conn: asyncpg.Connection | None = None
        self.count_sql = COUNT_SQL.format(",".join(f"'{s}'" for s in FINALS))

    async def __aenter__(self) -> Database:
        if self.kind == "postgres":
            self.conn = await asyncpg.connect(self.pg)
            await self.conn.execute(f"CREATE SCHEMA {self.schema}")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.conn is not None:
            await self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
            await self.conn.close()

    async def counts(self) -> tuple[int, int]:
        """(messages stored, of them final)."""
        if self.conn is not None:
            row = await self.conn.fetchrow(self.count_sql.replace("FROM ", f"FROM {self.schema}."))
            assert row is not None
            return int(row[0]), int(row[1])
        return await asyncio.to_thread(self._sqlite, self.count_sql)

    def _sqlite(self, sql: str) -> Any:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql).fetchone()
        finally:
            conn.close()

    async def disk(self) -> dict[str, int]:
        if self.conn is not None:
            size = await self.conn.fetchval(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relkind = 'r'",
                self.schema,
            )
            return {"tables": int(size)}
        sizes = {}
        for name, suffix in (("db", ""), ("wal", "-wal")):
            try:
                sizes[name] = os.path.getsize(f"{self.path}{suffix}")
            except OSError:
                sizes[name] = 0
        return sizes

    async def statuses(self) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM messages GROUP BY status"
        if self.conn is not None:
            rows = await self.conn.fetch(sql.replace("FROM ", f"FROM {self.schema}."))
            return {r[0]: r[1] for r in rows}
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return dict(conn.execute(sql).fetchall())
        finally:
            conn.close()

    async def ids(self) -> set[str]:
        sql = "SELECT id FROM messages"
        if self.conn is not None:
            rows = await self.conn.fetch(sql.replace("FROM ", f"FROM {self.schema}."))
            return {r[0] for r in rows}
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return {r[0] for r in conn.execute(sql)}
        finally:
            conn.close()


class Receiver:
    """bench/soak_receiver.py in a process of its own, asked for its tally over HTTP."""

    def __init__(self, folder: Path) -> None:
        with socket_port() as port:
            self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        self.dump = folder / "received.txt"
        self.proc = subprocess.Popen(
            [PY, "-m", "bench.soak_receiver", str(self.port), str(self.dump)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            start_new_session=True,
        )
        wait_ready(f"{self.url}/tally")

    def tally(self) -> Tally:
        return Tally(**httpx.get(f"{self.url}/tally", timeout=30).json())

    def received(self) -> dict[str, int]:
        """Every message id called back, with its bits (1: submitted, 2: final)."""
        httpx.get(f"{self.url}/dump", timeout=120)
        pairs = (line.split() for line in self.dump.read_text().splitlines())
        return {i: int(bits) for i, bits in pairs}

    def close(self) -> None:
        stop(self.proc)


class socket_port:
    """A free TCP port on loopback (closed again before it is used)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *_exc: object) -> None:
        return None


CONFIG = """
log_level = "warning"
[callbacks]
allow_networks = ["127.0.0.0/8"]  # the receiver listens on loopback
"""


def accounts(callback_url: str) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "name": "bench",
                "balance": "100000000",
                "price": "0.01",
                "senders": ["Test"],
                "callback_urls": {"native": callback_url},
                "settings": {"callback_secret": "soak-secret"},  # signed, as in production
                "credentials": [{"dialect": "native", "kind": "token", "secret": "bench-token"}],
            }
        ]
    }


class Load:
    """wrk on bench/soak.lua: `total` native single sends at `rate` a second."""

    def __init__(self, url: str, total: int, rate: float, connections: int) -> None:
        self.url, self.total, self.rate, self.connections = url, total, rate, connections
        self.answered = self.failed = 0
        self.out: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None

    async def run(self) -> None:
        env = {
            **os.environ,
            "SOAK_POST": str(ROOT / "bench/post.lua"),
            "SOAK_RATE": str(self.rate),
            "SOAK_MESSAGES": str(self.total),
            "SOAK_EVERY": str(max(1, min(1000, self.total // 100))),
        }
        seconds = int(self.total / self.rate * 3) + 600  # a bound only: "done" ends it
        self.proc = await asyncio.create_subprocess_exec(
            *("wrk", "-t1", f"-c{self.connections}", f"-d{seconds}s", "--latency"),
            *("-s", str(ROOT / "bench/soak.lua"), self.url),
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode().rstrip()
            if line.startswith("answered "):
                words = line.split()
                self.answered, self.failed = int(words[1]), int(words[3])
            elif line == "done":
                self.proc.send_signal(signal.SIGINT)  # wrk prints its summary and exits
            else:
                self.out.append(line)
        await self.proc.wait()

    def summary(self) -> str:
        keep = (
            "failure",
            "Latency",
            "50%",
            "90%",
            "99%",
            "requests in",
            "Requests/sec",
            "Non-2xx",
            "Socket",
        )
        return "\n".join(f"    wrk: {x.strip()}" for x in self.out if x.strip().startswith(keep))


class Tracer:
    """`--trace`: tracemalloc snapshots of every smsgate process (bench/soak_trace), one after
    warm-up and one at the end, and what grew between them, by allocating traceback."""

    def __init__(self, folder: Path, frames: int, tree: str) -> None:
        self.folder = folder / "trace"
        self.tree = tree
        self.folder.mkdir()
        self.frames = frames
        self.taken = 0

    def env(self) -> dict[str, str]:
        return {
            "PYTHONPATH": f"{ROOT / 'bench/soak_trace'}:{self.tree}",
            "PYTHONTRACEMALLOC": str(self.frames),
            "SOAK_TRACE_DIR": str(self.folder),
        }

    async def take(self, group: Group) -> None:
        pids = [p for p, label in group.labels.items() if label != "tracker"]
        for pid in pids:
            os.kill(pid, signal.SIGUSR2)
        deadline = time.monotonic() + 120
        while not all((self.folder / f"{p}-{self.taken}.snap").exists() for p in pids):
            if time.monotonic() > deadline:
                raise TimeoutError("tracemalloc snapshots were not written")
            await asyncio.sleep(0.2)
        self.taken += 1

    def report(self, group: Group, top: int = 8) -> None:
        import tracemalloc

        skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
        for pid, label in group.labels.items():
            paths = [self.folder / f"{pid}-{n}.snap" for n in (0, self.taken - 1)]
            if self.taken < 2 or not all(p.exists() for p in paths):
                continue
            old, new = (tracemalloc.Snapshot.load(str(p)).filter_traces(skip) for p in paths)
            diffs = [d for d in new.compare_to(old, "traceback") if d.size_diff > 0][:top]
            grew = sum(d.size_diff for d in new.compare_to(old, "filename"))
            print(f"\n{label} (pid {pid}): traced memory {grew / MIB:+.1f} MiB; grew most:")
            for d in diffs:
                print(f"  {d.size_diff / 1024:+9.0f} KiB {d.count_diff:+8d} blocks")
                for line in d.traceback.format(limit=6, most_recent_first=True):
                    print(f"      {line}")


class Soak:
    """One soak: smsgate, the receiver and wrk up; samples taken until every callback is in."""

    def __init__(self, args: argparse.Namespace, folder: Path, db: Database) -> None:
        self.args, self.folder, self.db = args, folder, db
        self.samples: list[Sample] = []
        self.started = time.monotonic()
        self.columns: list[str] = []
        self.tracer = Tracer(folder, args.trace, args.tree) if args.trace else None
        self.warm = args.warmup if args.warmup is not None else default_warmup(args.messages)

    async def sample(self, group: Group, receiver: Receiver) -> Sample:
        accepted, final = await self.db.counts()
        rss, pss = group.memory()
        calls = await asyncio.to_thread(receiver.tally)
        disk = await self.db.disk()
        s = Sample(time.monotonic() - self.started, accepted, final, calls, rss, pss, disk)
        self.samples.append(s)
        self.print_row(s)
        return s

    def print_row(self, s: Sample) -> None:
        if not self.columns:
            self.columns = list(s.rss)
            head = " ".join(f"{c:>9}" for c in self.columns)
            disk = " ".join(f"{d + ' MiB':>9}" for d in s.disk)
            print(
                f"{'t s':>6} {'accepted':>9} {'final':>9} {'callbacks':>9}  RSS MiB: {head}"
                f" {'total':>7} {'PSS':>7}  {disk}",
                flush=True,
            )
        for c in s.rss:
            if c not in self.columns:
                self.columns.append(c)
        cells = " ".join(f"{s.rss.get(c, 0) / MIB:9.1f}" for c in self.columns)
        disk = " ".join(f"{v / MIB:9.1f}" for v in s.disk.values())
        print(
            f"{s.t:6.0f} {s.accepted:9d} {s.final:9d} {s.calls.calls:9d}  {'':8} {cells}"
            f" {sum(s.rss.values()) / MIB:7.1f} {sum(s.pss.values()) / MIB:7.1f}  {disk}",
            flush=True,
        )

    async def run(self) -> int:
        args = self.args
        receiver = Receiver(self.folder)
        (self.folder / "smsgate.toml").write_text(CONFIG)
        with socket_port() as port:
            pass
        proc = start_smsgate(
            self.folder,
            self.db.url,
            accounts(f"{receiver.url}/callbacks"),
            port,
            args.workers,
            env={
                "SMSGATE_CONFIG": str(self.folder / "smsgate.toml"),
                "PYTHONPATH": args.tree,
                "PYTHONSAFEPATH": "1",  # the tree on PYTHONPATH, not the working directory
                **(self.tracer.env() if self.tracer else {}),
            },
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=300)  # a busy machine
            group = Group(proc.pid, args.workers)
            await self.settle(group)
            load = Load(
                f"http://127.0.0.1:{port}/api/v1/messages",
                args.messages,
                args.rate,
                args.connections,
            )
            cpu0 = group_cpu_seconds(proc.pid)
            self.started = time.monotonic()
            await self.sample(group, receiver)
            wrk = asyncio.create_task(load.run())
            while not wrk.done():
                await asyncio.wait({wrk}, timeout=args.every)
                if not wrk.done():
                    s = await self.sample(group, receiver)
                    if self.tracer and not self.tracer.taken and s.accepted >= self.warm:
                        await self.tracer.take(group)
            await wrk
            loaded = time.monotonic() - self.started
            print(
                f"  load done: {load.answered} answered ({load.failed} failed) in {loaded:.0f} s,"
                f" {load.answered / loaded:,.0f}/s",
                flush=True,
            )
            await self.drain(group, receiver, args.messages)
            cpu = group_cpu_seconds(proc.pid) - cpu0
            if self.tracer:
                await self.tracer.take(group)
                self.tracer.report(group)
            print(load.summary())
            print(
                f"  smsgate CPU: {cpu:.0f} s, {cpu / max(1, load.answered) * 1e6:.0f} µs a message"
            )
            ok = await self.check(receiver, load)
            flat = self.verdict()
            self.disk_growth()
            return 0 if ok and flat else 1 if not ok else 2
        finally:
            stop(proc)
            receiver.close()

    async def settle(self, group: Group, timeout: float = 30.0) -> None:
        """Wait until every process is up (the notifier starts after the engine), then name
        them."""
        deadline = time.monotonic() + timeout
        while len(group.pids()) < self.args.workers + 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        group.name()

    async def drain(self, group: Group, receiver: Receiver, total: int) -> None:
        """Sample on until every message is final and its two callbacks are in (or a minute
        without progress)."""
        last, still = None, time.monotonic()
        while True:
            s = self.samples[-1]
            if s.accepted >= total and s.final >= s.accepted and s.calls.calls >= 2 * s.accepted:
                return
            progress = (s.final, s.calls.calls)
            if progress != last:
                last, still = progress, time.monotonic()
            elif time.monotonic() - still > 60:
                print("  ! no progress for 60 s: giving up the wait", flush=True)
                return
            await asyncio.sleep(min(self.args.every, 2.0))
            await self.sample(group, receiver)

    async def check(self, receiver: Receiver, load: Load) -> bool:
        s = self.samples[-1]
        statuses = await self.db.statuses()
        stored = await self.db.ids()
        called = await asyncio.to_thread(receiver.received)
        t = s.calls
        both = sum(1 for bits in called.values() if bits == 3)
        checks = [
            (
                f"wrk: {load.answered} sends answered, {load.failed} refused",
                load.answered == self.args.messages and not load.failed,
            ),
            (
                f"stored: {len(stored)} messages; by status {statuses}",
                len(stored) == load.answered - load.failed,
            ),
            (f"final: {s.final} of {s.accepted}", s.final == s.accepted == len(stored)),
            (
                f"callbacks: {t.calls} received ({t.submitted} submitted, {t.final} final,"
                f" duplicates {t.dup_submitted} submitted and {t.dup_final} final, {t.other} other,"
                f" {t.bad} unreadable) for {t.messages} messages; both for {both}",
                t.submitted == t.final == both == len(stored)
                and not (t.dup_submitted or t.dup_final or t.other or t.bad),
            ),
            (
                f"called back for exactly the stored messages: {set(called) == stored}",
                set(called) == stored,
            ),
        ]
        for text, ok in checks:
            print(f"  {'ok  ' if ok else 'FAIL'} {text}")
        return all(ok for _, ok in checks)

    def verdict(self) -> bool:
        warm = self.warm
        after = [s for s in self.samples if s.accepted >= warm]
        if len(after) < 2:
            print(f"  memory: fewer than two samples after warm-up ({warm} messages)")
            return False
        first = after[0]
        print(
            f"\nmemory after warm-up ({warm:,} messages; from t={first.t:.0f} s, {len(after)}"
            f" samples): MiB, and the change against the first"
        )
        print(
            f"  {'process':10} {'first':>8} {'last':>8} {'min':>8} {'max':>8} {'last %':>7}"
            f" {'max %':>7} {'min %':>7}  verdict"
        )
        flat = True
        rows = [*self.columns, "total RSS", "total PSS"]
        for name in rows:
            values = [_memory(s, name) for s in after]
            base = values[0]
            if not base:
                continue
            lo, hi = min(values), max(values)
            ok = base * (1 - BAND) <= lo and hi <= base * (1 + BAND)
            flat = flat and ok
            print(
                f"  {name:10} {base / MIB:8.1f} {values[-1] / MIB:8.1f} {lo / MIB:8.1f}"
                f" {hi / MIB:8.1f} {_pct(values[-1], base):>7} {_pct(hi, base):>7}"
                f" {_pct(lo, base):>7}  {'PASS' if ok else 'FAIL'}"
            )
        print(
            f"  memory {'PASS' if flat else 'FAIL'}: every sample after warm-up within"
            f" ±{BAND:.0%} of the first"
        )
        return flat

    def disk_growth(self) -> None:
        first, last = self.samples[0], self.samples[-1]
        n = max(1, last.accepted - first.accepted)
        grew = {k: last.disk[k] - first.disk.get(k, 0) for k in last.disk}
        parts = ", ".join(f"{k} {v / MIB:+.1f} MiB" for k, v in grew.items())
        print(f"  disk: {parts}; {sum(grew.values()) / n:,.0f} bytes a message ({n:,} messages)")


def _memory(s: Sample, name: str) -> int:
    if name == "total RSS":
        return sum(s.rss.values())
    if name == "total PSS":
        return sum(s.pss.values())
    return s.rss.get(name, 0)


def _pct(value: int, base: int) -> str:
    return f"{(value - base) / base * 100:+.1f}"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=2500.0, help="sends a second")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="messages before the first sample that counts (default: a tenth, and at least"
        " the store's record of recent messages, where the run is long enough)",
    )
    parser.add_argument(
        "--tree", default=str(ROOT), help="the smsgate tree to run (e.g. a baseline worktree)"
    )
    parser.add_argument(
        "--trace",
        type=int,
        default=0,
        metavar="FRAMES",
        help="debug: tracemalloc in every smsgate process, FRAMES deep; print what grew",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    return parser.parse_args()


async def amain(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="smsgate-soak-"))
    print(
        f"soak: {args.messages:,} native single sends at {args.rate:,.0f}/s, {args.workers}"
        f" workers, {args.database}; two callbacks a message; a sample every {args.every:g} s",
        flush=True,
    )
    try:
        async with Database(args.database, folder, args.pg) as db:
            return await Soak(args, folder, db).run()
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def default_warmup(messages: int) -> int:
    """A tenth of the messages, and at least what the store's record of recent messages holds
    (RecentMessages.LIMIT): until it is full the engine grows by design, about 1 KB a message,
    and a 300,000-message run's first sample at 30,000 read that as +22% (the engine was flat
    after 60,000). Never past half the run, so that a short one still has samples to judge."""
    return min(max(messages // 10, RecentMessages.LIMIT), messages // 2)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package 'wrk')")
    sys.exit(asyncio.run(amain(parse())))


if __name__ == "__main__":
    main()
