"""The engine alone on SQLite: its CPU and its row statements per message, under a steady feed.

    python -m bench.engine_bench [--rate 4000] [--seconds 5] [--batch 20] [--synchronous FULL]

A feeder process accepts `--batch` single messages at a time at `--rate` messages a second
(one group commit a batch, as concurrent HTTP sends give) into a fresh SQLite file; this
process runs the engine's dispatcher, reports and simulator on it (no callbacks), as the engine
process of `smsgate serve` does. Printed: the engine's CPU per message (this process, from
/proc: every thread of it), and the statements its writer connection stepped per message, by
kind (sqlite3's trace callback: each row of an executemany counts once), with its commits and
WAL flushes per message. The engine process is a third of the live path's CPU (the lead's
py-spy of `http_bench --modes live`); these figures move with it alone. The counts are exact;
the CPU is as noisy as the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smsgate import server
from smsgate.config import Config
from smsgate.connectors.simulator import Simulator, SimulatorConfig
from smsgate.core.ids import new_id
from smsgate.core.models import Account, Message
from smsgate.engine.dispatcher import Dispatcher
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store import _sqlite_writer, open_store
from smsgate.store.sqlite import SQLiteStore

_FLUSHES = [0]


def _counted_fdatasync(fd: int, real=os.fdatasync) -> None:  # type: ignore[no-untyped-def]
    _FLUSHES[0] += 1
    real(fd)


def _message(account_id: int, i: int) -> Message:
    now = time.time()
    return Message(
        id=new_id(),
        account_id=account_id,
        dialect="native",
        phone=f"7965{i:07d}",
        text=f"hello {i}",
        encoding="gsm7",
        segments=1,
        price=1,
        created_at=now,
        updated_at=now,
    )


async def feed(url: str, rate: float, seconds: float, batch: int, pause: float = 0.0) -> None:
    """Accept single messages into the store at `url` at `rate` a second for `seconds`, up to
    `batch` at once (one group commit, as concurrent HTTP sends give), waiting `pause` seconds
    (or a batch's time) when ahead. pg_engine_bench feeds PostgreSQL with it."""
    store = open_store(url)
    await store.open()
    account = await store.account_by_name("bench")
    assert account is not None
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        if sent < due:
            n = min(batch, due - sent)
            await asyncio.gather(
                *(store.accept(account.id, [_message(account.id, sent + k)]) for k in range(n))
            )
            sent += n
        else:
            await asyncio.sleep(pause or batch / rate)
    await store.close()


def _cpu() -> tuple[float, float]:
    """This process's user and system CPU seconds (every thread)."""
    with open(f"/proc/{os.getpid()}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _kind(sql: str) -> str:
    words = sql.split()
    if not words:
        return "?"
    head = words[0].upper()
    if head in ("INSERT", "REPLACE"):
        return f"INSERT {words[2]}"
    if head == "UPDATE":
        return f"UPDATE {words[1]} SET {words[3]}"
    if head == "SELECT":
        return "SELECT"
    return head


async def _engine(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "engine.db")
        # Opened as `smsgate serve` opens its engine process's store beside two workers.
        config = Config(
            database=f"sqlite:///{path}", workers=2, sqlite_synchronous=args.synchronous
        )
        store = server._process_store(config)
        assert isinstance(store, SQLiteStore)
        await store.open()
        await store.migrate()
        await store.create_account(Account(id=0, name="bench", balance=10**12, price=1))
        counts: collections.Counter[str] = collections.Counter()
        assert store._writer is not None and store._writer._conn is not None
        store._writer._conn.set_trace_callback(lambda sql: counts.update([_kind(sql)]))
        sim = Simulator(store, SimulatorConfig(dr_delay=0.05))
        reports = Reports(store, CallbackRouter({}), lambda number: None)
        dispatcher = Dispatcher(store, sim, reports, poll=0.005, idle_poll=0.005)
        await sim.start(reports)
        task = asyncio.create_task(dispatcher.run())
        feeder = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.engine_bench", "--feed", path),
                *("--rate", str(args.rate), "--seconds", str(args.seconds)),
                *("--batch", str(args.batch)),
            ]
        )
        counts.clear()
        _sqlite_writer.os.fdatasync = _counted_fdatasync  # type: ignore[attr-defined]
        cpu0 = _cpu()
        while feeder.poll() is None:
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 30
        while (await store.counts())["queued"] or _open(path):
            assert time.monotonic() < deadline, "the engine did not finish"
            await asyncio.sleep(0.02)
        user, system = (b - a for a, b in zip(cpu0, _cpu(), strict=True))
        task.cancel()
        await sim.stop()
        done = _final(path)
        await store.close()
    rows = {k: v for k, v in counts.items() if k not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")}
    per = 1e6 / done
    print(
        f"messages {done}, engine CPU {(user + system) * per:.1f} µs/message"
        f" (user {user * per:.1f}, system {system * per:.1f})"
    )
    print(
        f"commits {counts['COMMIT'] / done:.3f}/message, flushes {_FLUSHES[0] / done:.3f},"
        f" savepoints {counts['SAVEPOINT'] / done:.3f}"
    )
    for kind, n in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {n / done:6.3f}  {kind}")
    print(f"  {sum(rows.values()) / done:6.3f}  statements a message (but transaction control)")


def _open(path: str) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        final = "('delivered','undelivered','expired','rejected')"
        return int(
            conn.execute(f"SELECT count(*) FROM messages WHERE status NOT IN {final}").fetchone()[0]
        )


def _final(path: str) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(
            conn.execute("SELECT count(*) FROM messages WHERE status = 'delivered'").fetchone()[0]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=4000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--synchronous", default="FULL", help="the SQLite store's mode")
    parser.add_argument("--feed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feed:
        asyncio.run(feed(f"sqlite:///{args.feed}", args.rate, args.seconds, args.batch))
    else:
        asyncio.run(_engine(args))


if __name__ == "__main__":
    main()
