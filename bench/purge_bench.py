"""The retention purge on large tables: how long other writers wait while it runs, code trees
side by side (a baseline checkout against this one), on the same database.

    python -m bench.purge_bench --trees /tmp/base . [--rows 700000] [--old 0.0] [--pairs 2]
                                [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Each run copies one SQLite database holding --rows outbox rows (delivered callbacks) and as
many reported connector-log lines; the first --old share of each table was created and settled
ten days ago, the rest a minute ago (--old 0: nothing to delete, as in bench/soak.py). A
victim process writes one connector-log line after another through its own store, as another
smsgate process would, while the run's process purges (cutoff: seven days ago) with the code
of one tree (PYTHONPATH=tree). Printed per run: the purge's time, the victim's longest write
during it and before it (the first write opens its store), the longest and the median store
call of the purge (SQLite: one transaction with its commit; PostgreSQL: one statement), the
rows deleted and the purging process's RSS growth. Trees alternate, --pairs times. With --pg the same runs on PostgreSQL, a schema each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve()
DAY = 86400.0
SETTLE = 60.0  # seconds after its creation a row is delivered (or reported)

# Both tables' rows, made by the database itself: $N rows, the first $OLD of them old.
FILL_SQLITE = """
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows})
INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, attempts, next_at,
                    state, created_at, done_at, done_attempt, done_status, done_took_ms)
SELECT 'ev-' || i, 1, 'native', 'dr', 'http://127.0.0.1:9/cb', x'', 1, t, 'done', t,
       t + {settle}, 1, 200, 3
FROM (SELECT i, CASE WHEN i <= {old} THEN {then} ELSE {now} END + i * 1e-6 AS t FROM s);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows})
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                           report_due, reported)
SELECT 'sim', printf('%026d', i), 'c' || i, t, 'submitted', t + 3600, 1
FROM (SELECT i, CASE WHEN i <= {old} THEN {then} ELSE {now} END + i * 1e-6 AS t FROM s);
"""
FILL_POSTGRES = """
INSERT INTO outbox (event_id, account_id, dialect, kind, url, payload, attempts, next_at,
                    state, created_at, done_at, done_attempt, done_status, done_took_ms)
SELECT 'ev-' || i, 1, 'native', 'dr', 'http://127.0.0.1:9/cb', '', 1, t, 'done', t,
       t + {settle}, 1, 200, 3
FROM (SELECT i, CASE WHEN i <= {old} THEN {then} ELSE {now} END + i * 1e-6 AS t
      FROM generate_series(1, {rows}) i) s;
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                           report_due, reported)
SELECT 'sim', lpad(i::text, 26, '0'), 'c' || i, t, 'submitted', t + 3600, TRUE
FROM (SELECT i, CASE WHEN i <= {old} THEN {then} ELSE {now} END + i * 1e-6 AS t
      FROM generate_series(1, {rows}) i) s;
ANALYZE outbox;
ANALYZE connector_log;
"""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# The victim: another process's store, writing one line at a time ------------------------------
async def victim(url: str) -> None:
    from smsgate.store import open_store
    from smsgate.store.base import ConnectorEntry

    store = open_store(url)
    await store.open()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    writes: list[tuple[float, float]] = []
    print("ready", flush=True)
    i = 0
    while not stop.is_set():
        started = time.time()
        line = ConnectorEntry(message_id=f"victim-{i}", carrier_id="v", submitted_at=started)
        await store.connector_log_add("victim", [line])
        writes.append((started, time.time() - started))
        i += 1
        await asyncio.sleep(0.001)
    await store.close()
    print(json.dumps(writes), flush=True)


# One run: the purge, with the victim writing beside it ----------------------------------------
async def run(url: str, cutoff: float) -> dict[str, Any]:
    from smsgate.store import open_store

    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "--victim", url], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    store = open_store(url)
    await store.open()
    calls: list[float] = []
    for name in ("_write", "_fetch", "_execute"):  # the store's units of work, timed
        inner = getattr(store, name, None)
        if inner is not None:
            setattr(store, name, _timed(inner, calls))
    await asyncio.sleep(1.0)
    rss = rss_kib()
    started = time.time()
    gone = await store.purge(cutoff)
    ended = time.time()
    grown = rss_kib() - rss
    await asyncio.sleep(0.5)
    await store.close()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    writes = json.loads(out.strip().splitlines()[-1])
    during = [took for at, took in writes if at + took >= started and at <= ended]
    before = [took for at, took in writes if at + took < started]
    return {
        "purge_s": ended - started,
        "victim_max_ms": 1000 * max(during, default=0.0),
        "victim_writes": len(during),
        "victim_before_max_ms": 1000 * max(before, default=0.0),
        "longest_call_ms": 1000 * max(calls, default=0.0),
        "median_call_ms": 1000 * statistics.median(calls or [0.0]),
        "calls": len(calls),
        "gone": gone,
        "rss_growth_mib": grown / 1024,
    }


def _timed(inner: Any, calls: list[float]) -> Any:
    async def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await inner(*args, **kwargs)
        finally:
            calls.append(time.perf_counter() - started)

    return call


# The driver -----------------------------------------------------------------------------------
def _schema_url(server: str, schema: str) -> str:
    parts = urlsplit(server)
    query = f"{parts.query}&search_path={schema}" if parts.query else f"search_path={schema}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def fill_sql(template: str, rows: int, old: float) -> str:
    now = time.time() - 60
    return template.format(
        rows=rows, old=int(rows * old), then=now - 10 * DAY, now=now, settle=SETTLE
    )


async def sqlite_template(folder: str, rows: int, old: float) -> str:
    import sqlite3

    from smsgate.store import open_store

    url = f"sqlite:///{folder}/template.db"
    store = open_store(url)
    await store.open()
    await store.migrate()
    await store.close()
    conn = sqlite3.connect(f"{folder}/template.db", isolation_level=None)
    conn.executescript(f"BEGIN; {fill_sql(FILL_SQLITE, rows, old)} COMMIT;")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return f"{folder}/template.db"


async def pg_schema(server: str, rows: int, old: float) -> tuple[str, str]:
    import asyncpg

    from smsgate.store import open_store

    schema = f"bench_purge_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    url = _schema_url(server, schema)
    store = open_store(url)
    await store.open()
    await store.migrate()
    await store.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(fill_sql(FILL_POSTGRES, rows, old))
    finally:
        await conn.close()
    return schema, url


async def drop_schema(server: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def child(tree: str, url: str, cutoff: float) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
    out = subprocess.run(
        [sys.executable, str(HERE), "--run", url, "--cutoff", str(cutoff)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def show(tree: str, pair: int, r: dict[str, Any]) -> None:
    print(
        f"  pair {pair} {tree:<24} purge {r['purge_s']:7.3f} s  victim max "
        f"{r['victim_max_ms']:8.1f} ms ({r['victim_writes']} writes; before "
        f"{r['victim_before_max_ms']:.1f})  longest call {r['longest_call_ms']:8.1f} ms "
        f"({r['calls']} calls, median {r['median_call_ms']:.1f})  gone {r['gone']:,}  RSS +{r['rss_growth_mib']:.1f} MiB  "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    cutoff = time.time() - 7 * DAY
    print(f"purge of {args.rows:,} outbox rows and {args.rows:,} lines, old share {args.old}")
    with tempfile.TemporaryDirectory(prefix="smsgate-purge-") as folder:
        started = time.time()
        template = await sqlite_template(folder, args.rows, args.old)
        print(f"sqlite (template built in {time.time() - started:.0f} s)", flush=True)
        for pair in range(1, args.pairs + 1):
            for tree in args.trees:
                db = f"{folder}/run.db"
                shutil.copyfile(template, db)
                show(tree, pair, child(tree, f"sqlite:///{db}", cutoff))
                for suffix in ("", "-wal", "-shm", ".lock", ".engine"):
                    Path(db + suffix).unlink(missing_ok=True)
    if not args.pg:
        return
    print("postgres", flush=True)
    for pair in range(1, args.pairs + 1):
        for tree in args.trees:
            schema, url = await pg_schema(args.pg, args.rows, args.old)
            try:
                show(tree, pair, child(tree, url, cutoff))
            finally:
                await drop_schema(args.pg, schema)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", nargs="+", default=["."], help="code trees, alternated")
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--old", type=float, default=0.0, help="share of rows old enough to go")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--pg", default="", help="PostgreSQL server URL: run there too")
    parser.add_argument("--victim", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--cutoff", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.victim:
        asyncio.run(victim(args.victim))
    elif args.run:
        print(json.dumps(asyncio.run(run(args.run, args.cutoff))))
    else:
        asyncio.run(main(args))
