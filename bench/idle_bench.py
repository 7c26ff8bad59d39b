"""What an idle server costs: CPU, and on PostgreSQL the transactions it commits, beside a
baseline tree's, alternated (the machine is shared: pairs, not single runs).

    python -m bench.idle_bench [--baseline /tmp/base] [--database sqlite postgres]
                               [--workers 2] [--seconds 10] [--pairs 3]

Each run starts `smsgate serve` from a tree (PYTHONPATH at it, this interpreter) on a fresh
database with one account, lets it settle for two seconds, then measures for `--seconds`: the
CPU of every process of the server (from /proc), as a share of one core, and on PostgreSQL the
transactions committed in its database (pg_stat_database.xact_commit: each run has a database
of its own, so nothing else is counted). Nothing is sent: the dispatcher and the notifiers only
poll.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.http_bench import group_cpu_seconds, stop, wait_ready
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SERVER = os.environ.get("SMSGATE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
ACCOUNT = {
    "name": "idle",
    "balance": "1000",
    "price": "0.01",
    "senders": ["Test"],
    "credentials": [{"dialect": "native", "kind": "token", "secret": "idle-token"}],
}


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(SERVER)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _commits(name: str) -> int:
    conn = await asyncpg.connect(SERVER)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        found = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name
        )
        return int(found or 0)
    finally:
        await conn.close()


async def one_run(tree: str, database: str, workers: int, seconds: float) -> tuple[float, float]:
    """(share of a core, commits a second) of an idle server from `tree`."""
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-idle-"))
    name = f"smsgate_idle_{secrets.token_hex(4)}"
    if database == "postgres":
        await _admin(f"CREATE DATABASE {name}")
        url = SERVER.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp}/idle.db"
    env = {**os.environ, "PYTHONPATH": tree, "SMSGATE_LOG_LEVEL": "warning"}
    env["SMSGATE_SMPP__PORT"] = "0"
    (tmp / "accounts.json").write_text(json.dumps({"accounts": [ACCOUNT]}))
    for command in (["init"], ["account", "import", str(tmp / "accounts.json")]):
        subprocess.run(
            [PY, "-m", "smsgate.cli", "--database", url, *command],
            cwd=tree,
            env=env,
            check=True,
            capture_output=True,
        )
    port = free_port()
    serve = ["serve", "--database", url, "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(
        [PY, "-m", "smsgate.cli", *serve], cwd=tree, env=env, start_new_session=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        await asyncio.sleep(2.0)  # start-up work done
        cpu0, commits0, started = group_cpu_seconds(proc.pid), 0, time.monotonic()
        if database == "postgres":
            commits0 = await _commits(name)
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        share = (group_cpu_seconds(proc.pid) - cpu0) / elapsed
        commits = (await _commits(name) - commits0) / elapsed if database == "postgres" else 0.0
        return share, commits
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        if database == "postgres":
            await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", help="a tree to measure beside this one (a git worktree)")
    parser.add_argument("--database", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    trees = {"this": str(ROOT), **({"baseline": args.baseline} if args.baseline else {})}
    print(f"{'database':>9} {'tree':>9} {'% of a core':>12} {'commits/s':>10}")
    for database in args.database:
        for _ in range(args.pairs):
            for label, tree in trees.items():
                share, commits = await one_run(tree, database, args.workers, args.seconds)
                shown = f"{commits:10.1f}" if database == "postgres" else f"{'-':>10}"
                print(f"{database:>9} {label:>9} {share * 100:12.2f} {shown}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
