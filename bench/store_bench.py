"""Storage backends side by side, same run: SQLite (the embedded default) and PostgreSQL.

    python -m bench.store_bench [--pg postgresql://postgres@127.0.0.1:5432/test]
                                [--bulk 50000] [--sends 20000] [--concurrency 256]
                                [--repeat 3] [--nodes] [--node-messages 20000]

(a) bulk: one 50,000-recipient request, accepted and committed (Store.accept of the built
    messages, and the whole Acceptor.submit path with validation and segmenting);
(b) single sends: many concurrent one-recipient requests through Acceptor.submit, each answered
    only after its commit (SQLite: the writer's group commit; PostgreSQL: with and without the
    store's group commit) — durable accepts per second;
(c) with --nodes: real `smsgate serve` processes (one worker each) on one PostgreSQL database,
    one node then two: a backlog sent through the native bulk API and dispatched through the
    simulator until every message is delivered — end-to-end messages per second.

Each backend gets a fresh database (a temporary SQLite file; a PostgreSQL schema dropped after).
Every figure is the median of --repeat runs, interleaved, with the range beside it: on a shared
machine single runs vary by a factor of two or more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.common import stop_all
from smsgate.core.models import Account, Submission
from smsgate.core.validate import Limits, build_message
from smsgate.engine.accept import Acceptor
from smsgate.store import open_store
from smsgate.store.base import Store
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PRICE = 500_000


def _schema_url(server: str, schema: str) -> str:
    parts = urlsplit(server)
    query = f"{parts.query}&search_path={schema}" if parts.query else f"search_path={schema}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class Backends:
    """Fresh databases for a run, cleaned up afterwards."""

    def __init__(self, pg_server: str) -> None:
        self.pg_server = pg_server
        self.tmp = tempfile.TemporaryDirectory(prefix="smsgate-bench-")
        self.schemas: list[str] = []

    def sqlite(self) -> str:
        return f"sqlite:///{self.tmp.name}/{secrets.token_hex(4)}.db"

    async def postgres(self) -> str:
        schema = f"bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.pg_server)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        self.schemas.append(schema)
        return _schema_url(self.pg_server, schema)

    async def cleanup(self) -> None:
        conn = await asyncpg.connect(self.pg_server)
        try:
            for schema in self.schemas:
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()
        self.tmp.cleanup()


async def _opened(url: str, **kw: Any) -> tuple[Store, Account]:
    store = open_store(url)
    for key, value in kw.items():
        setattr(store, key, value)
    await store.open()
    await store.migrate()
    account = await store.create_account(
        Account(id=0, name="bench", balance=10**15, price=PRICE, senders=["Bench"])
    )
    return store, account


def _submissions(n: int, offset: int = 0) -> list[Submission]:
    return [
        Submission(
            phone=f"+7965{offset + i:07d}",
            text="Your code is 1234. Do not share it.",
            sender="Bench",
            client_ref=f"r{offset + i}",
        )
        for i in range(n)
    ]


async def bulk(url: str, n: int) -> tuple[float, float]:
    """Seconds for Store.accept of n built messages, and for Acceptor.submit of n recipients."""
    store, account = await _opened(url)
    try:
        limits = Limits()
        now = time.time()
        built = [build_message(account, "native", s, now, limits) for s in _submissions(n)]
        started = time.perf_counter()
        outcomes = await store.accept(account.id, built)
        store_s = time.perf_counter() - started
        assert all(o.kind == "new" for o in outcomes)
        acceptor = Acceptor(store, limits)
        items = _submissions(n, offset=n)
        started = time.perf_counter()
        outcomes, _job = await acceptor.submit(account, "native", items, job=True)
        submit_s = time.perf_counter() - started
        assert all(o.kind == "new" for o in outcomes)
        return store_s, submit_s
    finally:
        await store.close()


async def single_sends(url: str, n: int, concurrency: int, **kw: Any) -> tuple[float, int]:
    """Durable one-recipient accepts per second, and how many commits they took."""
    store, account = await _opened(url, **kw)
    try:
        acceptor = Acceptor(store, Limits())
        items = _submissions(n)
        queue = iter(items)

        async def worker() -> None:
            for item in queue:
                [outcome], _ = await acceptor.submit(account, "native", [item])
                assert outcome.kind == "new"

        commits_before = int(getattr(store, "commits", 0))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return n / elapsed, int(getattr(store, "commits", 0)) - commits_before
    finally:
        await store.close()


# Nodes ------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(
        {
            "SMSGATE_LOG_LEVEL": "warning",
            "SMSGATE_SIMULATOR__DR_DELAY": "0.05",
            "SMSGATE_DISPATCHER__POLL": "0.02",
        }
    )
    return env


async def nodes_run(url: str, count: int, messages: int) -> float:
    """End-to-end messages per second with `count` nodes on one database."""
    import aiohttp

    doc = Path(tempfile.mkstemp(suffix=".json")[1])
    doc.write_text(
        '{"accounts": [{"name": "bench", "balance": "100000000", "price": "0.01",'
        ' "senders": ["Bench"], "credentials": [{"dialect": "native", "kind": "token",'
        ' "secret": "bench-token"}]}]}'
    )
    py = sys.executable
    for command in (["init"], ["account", "import", str(doc)]):
        subprocess.run(
            [py, "-m", "smsgate.cli", "--database", url, *command],
            check=True,
            env=_env(),
            capture_output=True,
        )
    doc.unlink()
    ports = [free_port() for _ in range(count)]
    procs = [
        subprocess.Popen(
            [
                *(py, "-m", "smsgate.cli", "serve", "--database", url),
                "--port",
                str(p),
                "--workers",
                "1",
            ],
            env=_env(),
        )
        for p in ports
    ]
    try:
        async with aiohttp.ClientSession() as http:
            for p in ports:
                for _ in range(200):
                    try:
                        async with http.get(f"http://127.0.0.1:{p}/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
            chunk = 1000
            auth = {"Authorization": "Bearer bench-token"}
            started = time.perf_counter()

            async def send(i: int) -> None:
                body = {
                    "from": "Bench",
                    "text": "bench",
                    "recipients": [
                        {"to": f"+7965{j:07d}", "client_ref": f"n{j}"}
                        for j in range(i, min(i + chunk, messages))
                    ],
                }
                port = ports[(i // chunk) % count]
                async with http.post(
                    f"http://127.0.0.1:{port}/api/v1/messages/bulk", json=body, headers=auth
                ) as r:
                    assert r.status == 202, await r.text()

            await asyncio.gather(*(send(i) for i in range(0, messages, chunk)))
            conn = await asyncpg.connect(url)
            try:
                while True:
                    done = await conn.fetchval(
                        "SELECT count(*) FROM messages WHERE status = 'delivered'"
                    )
                    if done >= messages:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await conn.close()
            return messages / (time.perf_counter() - started)
    finally:
        stop_all(procs)


def _spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there are several runs (this machine is noisy)."""
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{format(median, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--bulk", type=int, default=50_000)
    parser.add_argument("--sends", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians shown")
    parser.add_argument("--nodes", action="store_true", help="also one node vs two nodes")
    parser.add_argument("--node-messages", type=int, default=20_000)
    args = parser.parse_args()

    backends = Backends(args.pg)
    runs = range(args.repeat)
    try:
        print(f"(a) one {args.bulk:,}-recipient request, accepted and committed (s)")
        sq: list[tuple[float, float]] = []
        pg: list[tuple[float, float]] = []
        for _ in runs:  # interleaved, so both see the same machine
            sq.append(await bulk(backends.sqlite(), args.bulk))
            pg.append(await bulk(await backends.postgres(), args.bulk))
        for name, got in (("SQLite    ", sq), ("PostgreSQL", pg)):
            store_s = _spread([a for a, _ in got], ".2f")
            submit_s = _spread([b for _, b in got], ".2f")
            print(f"    {name}  Store.accept {store_s}   Acceptor.submit {submit_s}")
        ratio = [p[0] / q[0] for p, q in zip(pg, sq, strict=True)]
        print(f"    PostgreSQL / SQLite (Store.accept time, per run): {_spread(ratio, '.2f')}")

        print(f"(b) {args.sends:,} single sends, {args.concurrency} concurrent, durable accepts/s")
        rates: dict[str, list[float]] = {"sqlite": [], "pg": [], "pg1": []}
        commits: dict[str, int] = {}
        for _ in runs:
            for key, url, kw in (
                ("sqlite", backends.sqlite(), {}),
                ("pg", await backends.postgres(), {}),
                ("pg1", await backends.postgres(), {"group_commit": False}),
            ):
                rate, n = await single_sends(url, args.sends, args.concurrency, **kw)
                rates[key].append(rate)
                commits[key] = n
        print(
            f"    SQLite (writer group commit)      {_spread(rates['sqlite'], '.0f')}/s"
            f"  ({commits['sqlite']} commits)"
        )
        print(
            f"    PostgreSQL, group commit          {_spread(rates['pg'], '.0f')}/s"
            f"  ({commits['pg']} commits)"
        )
        print(
            f"    PostgreSQL, one transaction each  {_spread(rates['pg1'], '.0f')}/s"
            f"  ({commits['pg1']} commits)"
        )
        ratio = [p / q for p, q in zip(rates["pg"], rates["sqlite"], strict=True)]
        print(f"    PostgreSQL / SQLite (per run): {_spread(ratio, '.2f')}")

        if args.nodes:
            print(
                f"(c) {args.node_messages:,} messages end to end (HTTP bulk -> delivered),"
                " PostgreSQL, msg/s"
            )
            one: list[float] = []
            two: list[float] = []
            for _ in runs:
                one.append(await nodes_run(await backends.postgres(), 1, args.node_messages))
                two.append(await nodes_run(await backends.postgres(), 2, args.node_messages))
            print(f"    one node  {_spread(one, '.0f')}")
            print(f"    two nodes {_spread(two, '.0f')}")
            ratio = [t / o for t, o in zip(two, one, strict=True)]
            print(f"    two / one (per run): {_spread(ratio, '.2f')}")
    finally:
        await backends.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
