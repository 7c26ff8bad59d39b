"""Time to accept and commit one 50,000-recipient request, through the real HTTP front.

    python -m bench.bulk_bench [--recipients 50000] [--runs 3] [--database sqlite|postgres|URL]
                               [--baseline TREE --pairs 3] [--pg URL]

Starts `smsgate serve` (one worker) on a fresh database (an SQLite file, or a fresh schema of
the PostgreSQL at `--pg`; or the database URL given, as it is), posts a native bulk request with a %var% template and a client
reference per recipient, and reports the wall time from sending the body to the 202 answer
(which comes only after the commit and its flush). Between runs it waits until the previous
run's messages are all delivered through the simulator, so that each run measures the accept
on an idle gateway (and says how long that took: the dispatcher otherwise shares the two cores
with the next run). Beside each time: the CPU the server's processes spent on the request
(every thread, from /proc) and, on PostgreSQL, the CPU of its backends, per message: a busy
machine disturbs them less than the wall time.

`--baseline TREE` (a worktree of the baseline commit) measures it against this tree, alternated
pair by pair, each pair starting one server per tree and posting `--runs` bulks to it, and
prints the medians and their ratio. Without it, the same body is then posted to a bare
Starlette + msgspec route (bench/bare_app.py) that only decodes it and answers one id per
recipient: what HTTP and JSON alone cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import httpx

from bench.common import cpu_seconds, port_or_free, schema_url
from bench.http_bench import group_cpu_seconds, start_bare, stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HEADERS = {"Authorization": "Bearer bulk-token", "Content-Type": "application/json"}
FINAL = {"delivered", "undelivered", "expired", "rejected", "cancelled", "unknown"}
ACCOUNTS = {
    "accounts": [
        {
            "name": "bulk",
            "balance": "100000000",
            "price": "0.01",
            "senders": ["Test"],
            "credentials": [{"dialect": "native", "kind": "token", "secret": "bulk-token"}],
        }
    ]
}


class Run(NamedTuple):
    seconds: float  # from sending the body to the answer
    cpu_us: float  # smsgate's CPU per message
    pg_us: float  # its PostgreSQL backends' CPU per message (0 on SQLite)


def body(n: int, run: int) -> bytes:
    recipients = [
        {"to": f"+7965{i:07d}", "client_ref": f"r{run}-{i}", "vars": {"name": f"client {i}"}}
        for i in range(n)
    ]
    return json.dumps(
        {"text": "Dear %name%, your order has shipped", "from": "Test", "recipients": recipients}
    ).encode()


def post(http: httpx.Client, url: str, payload: bytes, n: int) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    r = http.post(url, content=payload, headers=HEADERS)
    elapsed = time.perf_counter() - started
    answer = r.json()
    assert r.status_code == 202 and answer["accepted"] == n, r.text[:300]
    return elapsed, answer


def settle(http: httpx.Client, base: str, job_id: str, timeout: float = 300.0) -> float:
    """Seconds until every message of the job is in a final state."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        counts = http.get(f"{base}/api/v1/jobs/{job_id}", headers=HEADERS).json()["by_status"]
        if set(counts) <= FINAL:
            return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} not settled after {timeout} s")


def run_bare(n: int, runs: int, port: int) -> list[float]:
    proc = start_bare(port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/")
        with httpx.Client(timeout=60) as http:
            url = f"http://127.0.0.1:{port}/api/v1/messages/bulk"
            return [post(http, url, body(n, run), n)[0] for run in range(runs)]
    finally:
        stop(proc)


class Database:
    """A fresh database for one server: an SQLite file in `tmp`, or a PostgreSQL schema whose
    connections carry its name as application_name (how their backends are found)."""

    def __init__(self, kind: str, pg: str, tmp: Path) -> None:
        self.kind, self.pg = kind, pg
        self.schema = f"bulkbench_{secrets.token_hex(4)}"
        self.app = self.schema
        if kind == "postgres":
            self.url = schema_url(pg, self.schema, self.app)
        elif kind == "sqlite":
            self.url = f"sqlite:///{tmp}/bulk.db"
        else:  # a database URL, used as it is (its application_name finds its backends)
            self.url, self.kind = kind, "url"
            self.app = dict(parse_qsl(urlsplit(kind).query)).get("application_name", "")

    def _sql(self, statement: str, *args: Any) -> list[Any]:
        import asyncpg  # only for PostgreSQL runs

        async def run() -> list[Any]:
            conn = await asyncpg.connect(self.pg if self.kind == "postgres" else self.url)
            try:
                return list(await conn.fetch(statement, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def create(self) -> None:
        if self.kind == "postgres":
            self._sql(f"CREATE SCHEMA {self.schema}")

    def drop(self) -> None:
        if self.kind == "postgres":
            self._sql(f"DROP SCHEMA {self.schema} CASCADE")

    def backends(self) -> list[int]:
        if not self.url.startswith("postgres") or not self.app:
            return []
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
        return [r[0] for r in self._sql(query, self.app)]


def start(tree: str, db: Database, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    """`smsgate serve` from `tree` (its own code: PYTHONPATH and the working directory), one
    worker, on a fresh database with the bulk account imported."""
    env = {
        **os.environ,
        "PYTHONPATH": tree,
        "SMSGATE_LOG_LEVEL": "warning",
        "SMSGATE_SMPP__PORT": "0",
        "SMSGATE_DISPATCHER__POLL": "1",
    }
    db.create()
    (tmp / "accounts.json").write_text(json.dumps(ACCOUNTS))
    for command in (["init"], ["account", "import", str(tmp / "accounts.json")]):
        cli = [PY, "-m", "smsgate.cli", "--database", db.url, *command]
        subprocess.run(cli, cwd=tree, env=env, check=True, capture_output=True)
    serve = ["serve", "--database", db.url, "--port", str(port), "--workers", "1"]
    return subprocess.Popen(
        [PY, "-m", "smsgate.cli", *serve], cwd=tree, env=env, start_new_session=True
    )


def measure(tree: str, kind: str, pg: str, n: int, runs: int, port: int, label: str) -> list[Run]:
    """`runs` bulks posted to one server of `tree`, each once the one before is delivered."""
    tmp = Path(tempfile.mkdtemp(prefix="smsgate-bulk-"))
    db = Database(kind, pg, tmp)
    proc = start(tree, db, tmp, port)
    base = f"http://127.0.0.1:{port}"
    out: list[Run] = []
    try:
        wait_ready(f"{base}/healthz")
        with httpx.Client(timeout=120) as http:
            for run in range(runs):
                payload = body(n, run)
                backends = db.backends()
                cpu0, pg0 = group_cpu_seconds(proc.pid), cpu_seconds(backends)
                elapsed, answer = post(http, f"{base}/api/v1/messages/bulk", payload, n)
                cpu, pg_cpu = group_cpu_seconds(proc.pid) - cpu0, cpu_seconds(backends) - pg0
                out.append(Run(elapsed, cpu / n * 1e6, pg_cpu / n * 1e6))
                settled = settle(http, base, str(answer["job_id"]))
                print(
                    f"{label} run {run + 1}: {n} recipients accepted and committed in"
                    f" {elapsed:.3f} s, smsgate {out[-1].cpu_us:.1f} µs/msg"
                    + (f", PostgreSQL {out[-1].pg_us:.1f} µs/msg" if backends else "")
                    + f"  (then delivered in {settled:.1f} s)",
                    flush=True,
                )
    finally:
        stop(proc)
        db.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _summary(runs: list[Run]) -> str:
    times = [r.seconds for r in runs]
    return (
        f"median {statistics.median(times):.3f} s ({min(times):.3f}-{max(times):.3f}),"
        f" smsgate {statistics.median(r.cpu_us for r in runs):.1f} µs/msg,"
        f" PostgreSQL {statistics.median(r.pg_us for r in runs):.1f} µs/msg"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="bulks per server")
    parser.add_argument(
        "--port", type=int, help="smsgate on PORT, bare on PORT+1 (default: free ports)"
    )
    parser.add_argument(
        "--database",
        default="sqlite",
        help="sqlite (a fresh file), postgres (a fresh schema at --pg) or a database URL",
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--baseline", help="a worktree of the baseline commit")
    parser.add_argument("--tree", default=str(ROOT), help="the tree measured (default: this)")
    parser.add_argument("--pairs", type=int, default=3, help="with --baseline")
    args = parser.parse_args()
    n, kind = args.recipients, args.database
    name = kind if kind in ("sqlite", "postgres") else "given database"
    if args.baseline is None:
        runs = measure(args.tree, kind, args.pg, n, args.runs, port_or_free(args.port), name)
        bare = run_bare(n, args.runs, port_or_free(args.port, 1))
        print(f"smsgate bulk ({name}): {_summary(runs)} of {args.runs} runs")
        print(
            f"bare decode-only route, same body: median {statistics.median(bare):.3f} s"
            f"  ({', '.join(f'{b:.3f}' for b in bare)})"
        )
        return
    trees = {"base": args.baseline, "this": args.tree}
    got: dict[str, list[Run]] = {"base": [], "this": []}
    for pair in range(args.pairs):
        for tree in ["base", "this"] if pair % 2 == 0 else ["this", "base"]:
            label = f"{name} {tree} pair {pair + 1}"
            got[tree] += measure(
                trees[tree], kind, args.pg, n, args.runs, port_or_free(args.port), label
            )
    base, this = (statistics.median(r.seconds for r in got[k]) for k in ("base", "this"))
    print(f"base ({name}): {_summary(got['base'])}")
    print(f"this ({name}): {_summary(got['this'])}")
    print(f"this / base: {this / base:.2f} (medians of {len(got['this'])} bulks each)")


if __name__ == "__main__":
    main()
