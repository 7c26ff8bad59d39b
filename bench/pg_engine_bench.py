"""The engine alone on PostgreSQL: its CPU and PostgreSQL's per message, under a steady feed.

    PYTHONPATH=<tree> python bench/pg_engine_bench.py [--pg URL] [--rate 4000] [--seconds 8]
                                                      [--history 200000]

A feeder process accepts single messages at `--rate` a second (groups of concurrent sends, as
the HTTP workers give) into a fresh schema; this process runs the engine (`app.build_dispatcher`,
the simulator, reports; no callbacks) on it, as the engine process of `smsgate serve` does on
PostgreSQL (not exclusive: leases, paced claims). Printed: the engine's CPU a message (this
process, from /proc), the CPU of the engine's PostgreSQL backends a message (found by their
application_name; the feeder's have another), and the engine's store calls a message: claims,
report writes, separate reported marks; and the rows written a message, feeder's and engine's
(`pg_stat_user_tables`, the history's left out): inserts and updates of `messages`, with the
share of the updates that were HOT (no index entry), and of `events` and `connector_log`.
`--history` as `pg_bench --history`. Unlike
`pg_bench --runs live:2`, the engine is measured alone and the rate is fixed (as far as the
feeder keeps up); where the engine falls behind, the simulator's receipt batches grow up to
1,000. Run as a script, PYTHONPATH selects the tree measured (feeder and engine): alternate
two trees for a comparison, the machine is noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import schema_url
from bench.engine_bench import feed


def _counting(obj: Any, name: str, counts: collections.Counter[str]) -> None:
    """Count the calls of obj.name."""
    real = getattr(obj, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return await real(*args, **kwargs)

    setattr(obj, name, counted)


async def _engine(args: argparse.Namespace) -> None:
    import asyncpg

    from bench.common import cpu_seconds
    from bench.pg_bench import HISTORY, HISTORY_LINES
    from smsgate.app import build_dispatcher
    from smsgate.config import Config
    from smsgate.connectors.simulator import Simulator, SimulatorConfig
    from smsgate.core.models import Account
    from smsgate.engine.reports import Reports
    from smsgate.engine.routing import CallbackRouter
    from smsgate.store import open_store

    schema = f"t1eng_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.pg)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = schema_url(args.pg, schema, schema)
    store = open_store(url)
    try:
        await store.open()
        await store.migrate()
        await store.create_account(Account(id=0, name="bench", balance=10**12, price=1))
        if args.history:
            fill = await asyncpg.connect(args.pg, server_settings={"search_path": schema})
            await fill.execute(HISTORY, args.history)
            await fill.execute(HISTORY_LINES)
            await fill.execute("ANALYZE")
            await fill.close()
        counts: collections.Counter[str] = collections.Counter()
        for name in ("claim_due", "record_reports", "connector_log_reported"):
            _counting(store, name, counts)
        sim = Simulator(store, SimulatorConfig(dr_delay=0.05))
        reports = Reports(store, CallbackRouter({}), lambda number: None)
        dispatcher = build_dispatcher(Config(database=url), store, sim, reports)
        await sim.start(reports)
        task = asyncio.create_task(dispatcher.run())
        feeder = subprocess.Popen(
            [
                *(sys.executable, str(Path(__file__).resolve()), "--feed"),
                schema_url(args.pg, schema, schema + "_feed"),
                *("--rate", str(args.rate), "--seconds", str(args.seconds)),
            ]
        )
        await asyncio.sleep(0.5)  # the feed's first accepts: the engine's backends are open
        counts.clear()
        before = await _delivered(admin, schema)
        cpu0 = time.process_time()
        pg0 = {p: cpu_seconds([p]) for p in await _backends(admin, schema)}
        while feeder.poll() is None:
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 60
        while await _open(admin, schema):
            assert time.monotonic() < deadline, "the engine did not finish"
            await asyncio.sleep(0.02)
        cpu = time.process_time() - cpu0
        pg1 = {p: cpu_seconds([p]) for p in await _backends(admin, schema)}
        pg = sum(pg1.values()) - sum(t for p, t in pg0.items() if p in pg1)
        task.cancel()
        await sim.stop()
        done = await _delivered(admin, schema) - before
        await store.close()
        await asyncio.sleep(1.0)  # the backends flush their table statistics as they exit
        rows = await _rows(admin, schema, args.history)
    finally:
        await store.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    per = 1e6 / done
    calls = ", ".join(f"{k} {v / done:.3f}" for k, v in sorted(counts.items()))
    print(
        f"messages {done}: engine {cpu * per:.1f} µs/message, PostgreSQL (engine's backends)"
        f" {pg * per:.1f}; calls a message: {calls}",
        flush=True,
    )
    print(f"  rows a message: {_rows_line(rows, done)}", flush=True)


# Rows the history wrote (pg_bench.HISTORY, HISTORY_LINES), a history message: left out
_HISTORY_ROWS = {"messages": 1, "events": 2, "connector_log": 1}
_ROWS = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
WHERE schemaname = $1 AND relname = ANY($2::text[])
"""


async def _rows(admin: Any, schema: str, history: int) -> dict[str, tuple[int, int, int]]:
    """Rows inserted, updated and HOT-updated in each table of a message's life, since the
    schema was made, the history's inserts left out."""
    found = await admin.fetch(_ROWS, schema, list(_HISTORY_ROWS))
    return {r[0]: (r[1] - history * _HISTORY_ROWS[r[0]], r[2], r[3]) for r in found}


def _rows_line(rows: dict[str, tuple[int, int, int]], done: int) -> str:
    """`_rows` a message delivered (the warm-up's counted too), HOT updates as a share."""
    parts = []
    for name in _HISTORY_ROWS:
        ins, upd, hot = rows.get(name, (0, 0, 0))
        part = f"{name} {ins / done:.2f} inserted, {upd / done:.2f} updated"
        parts.append(part + (f" ({hot / upd:.0%} HOT)" if upd else ""))
    return "; ".join(parts)


async def _backends(admin: Any, schema: str) -> list[int]:
    """The engine's backends (the feeder's have another application name)."""
    q = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
    return [r[0] for r in await admin.fetch(q, schema)]


async def _delivered(admin: Any, schema: str) -> int:
    """Messages delivered so far (the history's not counted)."""
    q = f"SELECT count(*) FROM {schema}.messages WHERE status = 'delivered' AND text <> 'history'"
    return int(await admin.fetchval(q))


async def _open(admin: Any, schema: str) -> int:
    final = "('delivered','undelivered','expired','rejected')"
    return int(
        await admin.fetchval(f"SELECT count(*) FROM {schema}.messages WHERE status NOT IN {final}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rate", type=float, default=4000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--history", type=int, default=200000)
    parser.add_argument("--feed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feed:
        # wrk's connections: up to 64 sends at once
        asyncio.run(feed(args.feed, args.rate, args.seconds, batch=64, pause=0.002))
    else:
        asyncio.run(_engine(args))


if __name__ == "__main__":
    main()
