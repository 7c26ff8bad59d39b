"""PostgreSQL single sends: this tree against a baseline tree, alternated, same command.

    python -m bench.pg_bench --baseline /tmp/base [--pairs 3] [--seconds 10]
                             [--runs accept:1 accept:2 live:2 nodes:2] [--waits]

Each run imports one account into a fresh PostgreSQL schema and starts `smsgate serve` from a
tree (`PYTHONPATH` pointing at it; the same interpreter and wrk script for both), then drives
native single sends with wrk (c=64, one thread):

- `accept:N`: N workers, every message scheduled an hour ahead (the engine idles: the durable
  accept path alone);
- `live:N`: N workers, messages sent at once through the simulator while wrk runs;
- `nodes:K`: K nodes (one worker each) on one database and one account, one wrk per node with
  64/K connections each; the rate is their sum. `nodes:1` is its baseline;
- `many:N`: as `accept:N`, the sends spread over 50 accounts (bench/post_many.lua).

Runs alternate baseline and this tree, pair by pair (the machine is shared and noisy). Beside
each rate: CPU per request of smsgate's processes and of the PostgreSQL backends serving them
(from /proc: the backends are found by the application_name the URL gives them); with workers,
the supervisor's part of smsgate's, where the engine runs, as `(engine N)`. `--waits`
samples pg_stat_activity every 20 ms during each run and prints what the backends waited on.
`--bare` adds the bare Starlette route (bench/bare_app.py) at 2 workers, for the × bare ratios.
`--hits` prints each run's buffer hits a request by table (`pg_statio_user_tables`, read once
the servers' backends have exited and flushed them; warm-up included) and the share of
`balance_slices` updates that were HOT: what the database did, which the load moves less
than its CPU (docs/operations.md, "Many accounts"); the slices made and the accounts' rows
updated (each a transaction of `_accept`'s way); and how old (in transactions) the oldest
transaction of another session was during the run, and the oldest snapshot of the servers'
own: versions younger than that cannot be pruned, and the slices' pages fill with them
(docs/operations.md, "Many accounts: the slices wait on the oldest transaction").
Beside each rate, the database's transactions a request (commits and rollbacks in the measured
window, from pg_stat_database; one a group commit, and the few reads of the servers' caches):
the inverse of the groups' size, in a database no one else uses.
`--history N` stores N delivered messages with their two events and the simulator's reported
connector-log lines, and ANALYZEs the schema before the servers start: a database in service,
whose statements are planned for tables of its size (on a fresh schema, plans made while
`messages` is empty stay cached: docs/operations.md).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.common import cpu_seconds, parse_wrk, schema_url
from bench.http_bench import group_cpu_seconds, run_bare, stop, wait_ready
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MANY = 50  # accounts of the `many` runs


def _accounts(tokens: list[str]) -> str:
    """The import document: one account per token, each able to pay for every send."""
    return json.dumps(
        {
            "accounts": [
                {
                    "name": f"bench-{i}",
                    "balance": "100000000",
                    "price": "0.01",
                    "senders": ["Test"],
                    "credentials": [{"dialect": "native", "kind": "token", "secret": token}],
                }
                for i, token in enumerate(tokens)
            ]
        }
    )


WAITS = """
SELECT coalesce(wait_event_type || ':' || wait_event, state) || '  ' || left(query, 48)
FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'
"""


class Result:
    def __init__(self, rate: float, cpu_us: float, pg_us: float, waits: collections.Counter[str]):
        self.rate, self.cpu_us, self.pg_us, self.waits = rate, cpu_us, pg_us, waits
        self.requests = 0  # answered, the warm-up's too
        self.hits: dict[str, tuple[int, int]] = {}  # table: (buffer hits, pages)
        self.slice_updates = (0, 0)  # balance_slices: (updates, HOT ones)
        self.message_updates = (0, 0)  # messages: (updates, HOT ones)
        self.xacts = 0.0  # the database's transactions a request in the measured window
        self.horizon = (0, 0)  # the oldest transaction of other sessions, snapshot of the servers'
        self.refills = (0, 0)  # slices made, accounts' rows updated (refills), warm-up included
        self.lead_us = 0.0  # of cpu_us, the `serve` processes' own: with workers, the engine's


STATIO = """
SELECT relname, coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0),
       pg_relation_size(relid) / 8192
FROM pg_statio_user_tables WHERE schemaname = $1
"""
SLICE_UPDATES = """
SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
WHERE schemaname = $1 AND relname = 'balance_slices'
"""
REFILLS = """
SELECT sum(n_tup_ins) FILTER (WHERE relname = 'balance_slices'),
       sum(n_tup_upd) FILTER (WHERE relname = 'accounts')
FROM pg_stat_user_tables WHERE schemaname = $1
"""
MESSAGE_UPDATES = """
SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
WHERE schemaname = $1 AND relname = 'messages'
"""


class Cluster:
    """K `smsgate serve` processes of one tree on a fresh schema with one account."""

    def __init__(
        self, server: str, tree: str, nodes: int, workers: int, accounts: int, history: int = 0
    ) -> None:
        self.server, self.tree, self.count, self.workers = server, tree, nodes, workers
        self.accounts, self.history = accounts, history
        self.schema = f"t1bench_{secrets.token_hex(4)}"
        self.app = self.schema
        self.url = schema_url(server, self.schema, self.app)
        self.ports = [free_port() for _ in range(nodes)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.result: Result | None = None  # `measure`'s, given the statistics at the exit
        lua = "post_many.lua" if accounts > 1 else "post.lua"
        self.script = str(ROOT / "bench" / lua)
        self.env = {
            **os.environ,
            "PYTHONPATH": tree,
            "SMSGATE_LOG_LEVEL": "warning",
            "SMSGATE_SMPP__PORT": "0",
        }

    async def __aenter__(self) -> Cluster:
        conn = await asyncpg.connect(self.server)
        try:
            await conn.execute(f"CREATE SCHEMA {self.schema}")
        finally:
            await conn.close()
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as doc:
            many = [f"bench-token-{i}" for i in range(self.accounts)]
            doc.write(_accounts(many if self.accounts > 1 else ["bench-token"]))
        for command in (["init"], ["account", "import", doc.name]):
            done = subprocess.run(
                [PY, "-m", "smsgate.cli", "--database", self.url, *command],
                cwd=self.tree,
                env=self.env,
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise RuntimeError(f"smsgate {command[0]} failed:\n{done.stderr}")
        os.unlink(doc.name)
        if self.history:
            await self._fill()
        for port in self.ports:
            serve = ["serve", "--database", self.url, "--port", str(port)]
            self.procs.append(
                subprocess.Popen(
                    [PY, "-m", "smsgate.cli", *serve, "--workers", str(self.workers)],
                    cwd=self.tree,
                    env=self.env,
                    start_new_session=True,
                )
            )
        for port in self.ports:
            wait_ready(f"http://127.0.0.1:{port}/healthz")
        return self

    async def _fill(self) -> None:
        """`history` delivered messages of the first account, with their events; analyzed."""
        conn = await asyncpg.connect(self.server, server_settings={"search_path": self.schema})
        try:
            await conn.execute(HISTORY, self.history)
            await conn.execute(HISTORY_LINES)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    async def __aexit__(self, *_exc: object) -> None:
        for proc in self.procs:
            stop(proc)
        conn = await asyncpg.connect(self.server)
        try:
            if self.result is not None:
                await asyncio.sleep(1.0)  # the backends flush their statistics as they exit
                found = await conn.fetch(STATIO, self.schema)
                self.result.hits = {r[0]: (r[1], r[2]) for r in found}
                updates = await conn.fetchrow(SLICE_UPDATES, self.schema)
                self.result.slice_updates = (updates[0], updates[1]) if updates else (0, 0)
                moves = await conn.fetchrow(MESSAGE_UPDATES, self.schema)
                made = await conn.fetchrow(REFILLS, self.schema)
                self.result.refills = (made[0], made[1]) if made else (0, 0)
                self.result.message_updates = (moves[0], moves[1]) if moves else (0, 0)
            await conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
        finally:
            await conn.close()

    def _cpu(self) -> tuple[float, float]:
        """CPU so far of the `serve` processes (the supervisors, which run the engines when
        there are workers) and of their workers."""
        lead = cpu_seconds([p.pid for p in self.procs])
        return lead, sum(group_cpu_seconds(p.pid) for p in self.procs) - lead

    @staticmethod
    def url_of(port: int) -> str:
        return f"http://127.0.0.1:{port}/api/v1/messages"

    def wrk(self, seconds: int, connections: int, extra: str) -> list[subprocess.Popen[str]]:
        each = max(1, connections // len(self.ports))
        return [
            subprocess.Popen(
                [*WRK, f"-c{each}", f"-d{seconds}s", "-s", self.script, self.url_of(port)],
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "BENCH_EXTRA": extra, "BENCH_ACCOUNTS": str(self.accounts)},
            )
            for port in self.ports
        ]

    async def measure(self, seconds: int, connections: int, extra: str, waits: bool) -> Result:
        warmed = 0
        for proc in self.wrk(2, connections, extra):  # warm-up: pools and statements
            warmed += parse_wrk(proc.communicate()[0], allow_errors=True).answered
        conn = await asyncpg.connect(self.server)
        try:
            pids = [r[0] for r in await conn.fetch(_PIDS, self.app)]
            cpu0 = self._cpu()
            pg0 = cpu_seconds(pids)
            xacts0 = await conn.fetchval(XACTS)
            started = time.monotonic()
            runs = self.wrk(seconds, connections, extra)
            seen: collections.Counter[str] = collections.Counter()
            horizon, ticks = (0, 0), 0
            while any(r.poll() is None for r in runs):
                if waits:
                    seen.update(r[0] for r in await conn.fetch(WAITS, self.app))
                if ticks % 5 == 0:
                    ages = await conn.fetchrow(HORIZON, self.app)
                    horizon = (max(horizon[0], ages[0] or 0), max(horizon[1], ages[1] or 0))
                ticks += 1
                await asyncio.sleep(0.02)
            elapsed = time.monotonic() - started
            cpu1 = self._cpu()
            cpu = sum(cpu1) - sum(cpu0)
            pg = cpu_seconds(pids) - pg0
            await asyncio.sleep(1.0)  # backends report their counts at most once a second
            xacts = await conn.fetchval(XACTS) - xacts0
        finally:
            await conn.close()
        outs = [r.communicate()[0] for r in runs]
        rate = sum(map(_rate, outs))
        done = rate * elapsed
        self.result = Result(rate, cpu / done * 1e6, pg / done * 1e6, seen)
        self.result.lead_us = (cpu1[0] - cpu0[0]) / done * 1e6
        self.result.xacts = xacts / done
        self.result.horizon = horizon
        self.result.requests = warmed + sum(parse_wrk(out).answered for out in outs)
        return self.result


WRK = ("wrk", "-t1")
HISTORY = """
WITH m AS (
    INSERT INTO messages (id, account_id, dialect, phone, text, encoding, segments, status,
                          price, created_at, updated_at, submitted_at, done_at, carrier_id)
    SELECT 'h' || md5(g::text), (SELECT min(id) FROM accounts), 'native',
           '+7965' || lpad(g::text, 7, '0'), 'history', 'gsm7', 1, 'delivered', 10000,
           0, 0, 0, 0, 'hc' || g
    FROM generate_series(1, $1) AS g RETURNING id, account_id)
INSERT INTO events (message_id, account_id, status, at)
SELECT id, account_id, s, 0 FROM m, unnest(ARRAY['submitted', 'delivered']) AS s
"""
# The simulator's lines of that history, reported: without them `connector_log` stays planned as
# empty, and the marks' generic plan walks the pending index's dead entries (operations.md).
HISTORY_LINES = """
INSERT INTO connector_log (connector, message_id, carrier_id, submitted_at, outcome,
                           report_due, reported)
SELECT 'simulator', id, carrier_id, 0, 'delivered', 0, TRUE FROM messages WHERE text = 'history'
"""
# Transactions committed or rolled back in the whole database (one a group commit): read in
# a database of its own (`--pg`), where no other client's count in.
XACTS = """
SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()
"""
# How old, in transactions, the oldest transaction another session runs (in any database of
# the server: every snapshot's xmin counts it) or the oldest snapshot another session of this
# database holds; and the oldest snapshot of the servers' own sessions, the horizon they prune
# under: versions younger than it stay, so every slice update then leaves one more behind
# (docs/operations.md, "Many accounts: the slices wait on the oldest transaction").
HORIZON = """
SELECT max(greatest(age(backend_xid),
                    CASE WHEN datname = current_database() THEN age(backend_xmin) END))
           FILTER (WHERE application_name <> $1),
       max(age(backend_xmin)) FILTER (WHERE application_name = $1)
FROM pg_stat_activity WHERE pid <> pg_backend_pid()
"""
_PIDS = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"


def _rate(out: str) -> float:
    if "Non-2xx" in out:
        raise RuntimeError(f"failed requests:\n{out}")
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


async def one_run(
    server: str, tree: str, run: str, seconds: int, waits: bool, history: int = 0
) -> Result:
    mode, n = run.split(":")
    nodes, workers = (int(n), 1) if mode == "nodes" else (1, int(n))
    accepting = mode in ("accept", "many")
    extra = f',"schedule_at":{int(time.time()) + 3600}' if accepting else ""
    accounts = MANY if mode == "many" else 1
    async with Cluster(server, tree, nodes, workers, accounts, history) as cluster:
        result = await cluster.measure(seconds, 64, extra, waits)
    return result  # with the statistics read at the cluster's exit


def hits_line(r: Result, tables: int = 5) -> str:
    """The tables most read, in buffer hits a request (and their pages), and how many of the
    slices' and the messages' updates were HOT."""
    top = sorted(r.hits.items(), key=lambda kv: -kv[1][0])[:tables]
    each = ", ".join(f"{t} {h / max(r.requests, 1):.1f} ({p} p)" for t, (h, p) in top)
    slices, messages = _hot_share(r.slice_updates), _hot_share(r.message_updates)
    return (
        f"buffer hits/request: {each}; balance_slices updates HOT {slices}, messages {messages};"
        f" slices made {r.refills[0]}, accounts' rows updated {r.refills[1]};"
        f" oldest, in transactions: another session's {r.horizon[0]},"
        f" the servers' snapshot {r.horizon[1]}"
    )


def _hot_share(updates: tuple[int, int]) -> str:
    """The share of (updates, HOT ones) that were HOT, '-' for none."""
    return f"{updates[1] / updates[0]:.1%}" if updates[0] else "-"


def _engine_share(run: str, r: Result) -> str:
    """With workers, the supervisor's part of smsgate's CPU: the engine runs there."""
    mode, n = run.split(":")
    return f" (engine {r.lead_us:.0f})" if mode != "nodes" and int(n) > 1 else ""


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.0f} ({min(values):.0f}-{max(values):.0f})"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", required=True, help="a worktree of the baseline commit")
    parser.add_argument("--tree", default=str(ROOT), help="the tree measured (default: this)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--runs", nargs="+", default=["accept:1", "accept:2", "live:2"])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--waits", action="store_true")
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--hits", action="store_true", help="buffer hits a request by table")
    parser.add_argument("--history", type=int, default=0, help="messages stored before serving")
    args = parser.parse_args()
    trees = {"base": args.baseline, "this": args.tree}
    for run in args.runs:
        got: dict[str, list[Result]] = {"base": [], "this": []}
        bare: list[float] = []
        for pair in range(args.pairs):
            order = ["base", "this"] if pair % 2 == 0 else ["this", "base"]
            for name in order:
                r = await one_run(args.pg, trees[name], run, args.seconds, args.waits, args.history)
                got[name].append(r)
                print(
                    f"  {run:9} {name}: {r.rate:7.0f} req/s, smsgate {r.cpu_us:4.0f} µs/req"
                    f"{_engine_share(run, r)}, PostgreSQL {r.pg_us:4.0f} µs/req,"
                    f" {r.xacts:.3f} transactions/req",
                    flush=True,
                )
                for what, n in r.waits.most_common(6):
                    print(f"      {n:5d}  {what}")
                if args.hits:
                    print(f"      {hits_line(r)}", flush=True)
            if args.bare:
                bare.append(run_bare(2, free_port(), args.seconds, 64).rate)
        base = [r.rate for r in got["base"]]
        this = [r.rate for r in got["this"]]
        ratios = [t / b for t, b in zip(this, base, strict=True)]
        print(
            f"{run:9} base {_spread(base)}  this {_spread(this)}  ratio"
            f" {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f});"
            f" µs/req smsgate {statistics.median(r.cpu_us for r in got['base']):.0f} ->"
            f" {statistics.median(r.cpu_us for r in got['this']):.0f}, PostgreSQL"
            f" {statistics.median(r.pg_us for r in got['base']):.0f} ->"
            f" {statistics.median(r.pg_us for r in got['this']):.0f}",
            flush=True,
        )
        if bare:
            print(
                f"{'':9} bare route at 2 workers {_spread(bare)}: this"
                f" {statistics.median(this) / statistics.median(bare):.2f}x bare, base"
                f" {statistics.median(base) / statistics.median(bare):.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
