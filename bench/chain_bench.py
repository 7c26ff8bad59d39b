"""smsgate -> smsgate over the MsgHub batch API, beside the same chain over SMPP, in one run.

    PYTHONPATH=. .venv/bin/python -m bench.chain_bench [--messages 10000] [--rounds 2]

Two real `smsgate serve` processes (one worker each, SQLite FULL):

- node B: the simulator delivers; its MsgHub dialect and its SMPP server face A; its DRs go
  back to A as MsgHub pushes (arrays of up to 100, `dr_batch_size`) or as SMPP receipts;
- node A: takes the messages from a client (native bulk API, 1000 recipients a request) and
  sends them on, by its routing table: numbers +7965... to the upstream `b` (MsgHub
  `json2/batch/sync`, `batch` messages a request, `concurrency` in flight), every other number
  to its built-in SMPP connector (one transceiver bind to B, window 1000).

A run is `messages` messages to one of the two paths; runs alternate (msghub, smpp, msghub,
...), each starting once both nodes are idle. Printed per run: the rate at which B took them
(every message of the run submitted at A), the end-to-end rate (every message delivered at A:
the DR came back), the ratio of each to the SMPP run of the same round, and CPU per message
on A and on B (their process trees).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.smpp_bench import ROOT, cpu_seconds, stop
from bench.upstream_bench import settle
from smsgate.core.routing import Hop, Route, RoutingTable, Rule
from smsgate.core.urls import parse_networks
from smsgate.provision import CredentialSpec, Document, apply
from smsgate.store import open_store
from tests.support.servers import account, free_port

TOKEN = "bench-dr-token-7c1e5a90d4"
BULK = 1000  # recipients per request to A

NODE_B = """
database = "sqlite:///{folder}/b.db"
workers = 1
log_level = "warning"
[smpp]
port = {smpp_port}
window = 5000
[simulator]
dr_delay = 0.05
[dispatcher]
batch = 2000
[callbacks]
allow_networks = ["127.0.0.0/8"]
"""
NODE_A = """
database = "sqlite:///{folder}/a.db"
workers = 1
log_level = "warning"
connector = "smpp"
[smpp]
port = 0
[smpp_client]
port = {b_smpp}
system_id = "acme"
password = "acme-pw"
window = 1000
[dispatcher]
batch = 2000
[routing]
reload = 1.0
[[upstreams]]
name = "b"
kind = "msghub"
url = "http://127.0.0.1:{b_port}/msghub/api/acme"
login = "acme"
password = "acme-pw"
batch = {batch}
concurrency = {concurrency}
timeout = 30.0
dr_url = "http://127.0.0.1:{a_port}/upstream/b/dr?token={token}"
allow_networks = ["127.0.0.0/8"]
"""
TABLE = RoutingTable(
    rules=[Rule(name="hub", route="hub", prefixes=["7965"])],
    routes=[Route(name="hub", connectors=[Hop(connector="b")])],
)  # any other number: the built-in connector, SMPP to B
PREFIX = {"msghub batch": "+7965", "smpp": "+7916"}


async def prepare(folder: Path) -> None:
    """B's account acme (A's login there, DR pushes batched) and A's client and routes."""
    loopback = parse_networks(["127.0.0.0/8"])
    b = open_store(f"sqlite:///{folder}/b.db")
    await b.open()
    await b.migrate()
    batched = {"msghub": {"dr_batch_size": 100, "dr_batch_interval": 0.1}}
    acme = account("acme", balance="100000000", settings=batched)
    await apply(b, Document(accounts=[acme]), allowed_networks=loopback)
    await b.close()
    a = open_store(f"sqlite:///{folder}/a.db")
    await a.open()
    await a.migrate()
    token = [CredentialSpec(dialect="native", kind="token", secret="shop-token")]
    shop = account("shop", balance="100000000", credentials=token)
    await apply(a, Document(accounts=[shop]), allowed_networks=loopback)
    await a.routing_apply(TABLE)
    await a.close()


async def serve(folder: Path, config: str, port: int) -> asyncio.subprocess.Process:
    folder.mkdir(exist_ok=True)
    (folder / "smsgate.toml").write_text(config)
    env = dict(os.environ, PYTHONPATH=str(ROOT), SMSGATE_CONFIG=str(folder / "smsgate.toml"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smsgate.cli", "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=open(folder / "smsgate.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or proc.returncode is not None:
                raise RuntimeError(f"smsgate did not start: see {folder}/smsgate.log")
            await asyncio.sleep(0.1)


def counts(db: str, tag: str) -> tuple[int, int]:
    """A's messages of the run `tag`: (taken by B or further, delivered)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status IN ('submitted', 'delivered', 'undelivered')),"
            " count(*) FILTER (WHERE status = 'delivered') FROM messages WHERE text LIKE ?",
            (f"{tag} %",),
        ).fetchone()
        return int(row[0]), int(row[1])
    finally:
        conn.close()


async def run_one(
    path: str, n: int, tag: str, a_url: str, db: str, pids: tuple[int, int]
) -> tuple[float, float, float, float]:
    """(taken msg/s, delivered msg/s, A µs/msg, B µs/msg)."""
    for pid in pids:
        await settle(pid)
    cpu = [cpu_seconds(p) for p in pids]
    started = time.perf_counter()
    taken_at = 0.0
    async with aiohttp.ClientSession(a_url, headers={"Authorization": "Bearer shop-token"}) as h:
        for first in range(0, n, BULK):
            recipients = [
                {"to": f"{PREFIX[path]}{i:07d}", "text": f"{tag} message {i}"}
                for i in range(first, min(n, first + BULK))
            ]
            body = {"from": "ACME", "text": f"{tag} message", "recipients": recipients}
            async with h.post("/api/v1/messages/bulk", json=body) as r:
                assert r.status == 202, (await r.text())[:300]
    while True:
        taken, delivered = await asyncio.to_thread(counts, db, tag)
        now = time.perf_counter() - started
        if taken >= n and not taken_at:
            taken_at = now
        if delivered >= n:
            break
        if now > 600:
            raise RuntimeError(f"{path}: {taken} taken, {delivered} delivered of {n} in 600 s")
        await asyncio.sleep(0.05)
    per = [(cpu_seconds(p) - c) / n * 1e6 for p, c in zip(pids, cpu, strict=True)]
    return n / taken_at, n / now, per[0], per[1]


async def main(n: int, rounds: int, batch: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        await prepare(folder)
        b_port, b_smpp, a_port = free_port(), free_port(), free_port()
        b = await serve(folder / "b", NODE_B.format(folder=folder, smpp_port=b_smpp), b_port)
        a = None
        try:
            config = NODE_A.format(
                folder=folder, b_smpp=b_smpp, b_port=b_port, a_port=a_port, token=TOKEN,
                batch=batch, concurrency=concurrency,
            )  # fmt: skip
            a = await serve(folder / "a", config, a_port)
            a_url, db = f"http://127.0.0.1:{a_port}", f"{folder}/a.db"
            pids = (a.pid, b.pid)
            for path in PREFIX:  # warm up: bound, connected, tables loaded
                await run_one(path, 200, f"warm{path[:3]}", a_url, db, pids)
            print(f"{n} messages a run, msghub batch {batch}, concurrency {concurrency}")
            print(
                f"{'path':<13} {'taken/s':>8} {'x smpp':>7} {'e2e/s':>7} {'x smpp':>7}"
                f" {'A µs/msg':>9} {'B µs/msg':>9}"
            )
            for r in range(rounds):
                results = {
                    path: await run_one(path, n, f"r{r}{path[:3]}", a_url, db, pids)
                    for path in PREFIX
                }
                base = results["smpp"]
                for path, (taken, e2e, per_a, per_b) in results.items():
                    print(
                        f"{path:<13} {taken:>8.0f} {taken / base[0]:>6.2f}x {e2e:>7.0f}"
                        f" {e2e / base[1]:>6.2f}x {per_a:>9.0f} {per_b:>9.0f}"
                    )
        finally:
            if a is not None:
                await stop(a)
            await stop(b)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="msghub messages a request")
    parser.add_argument("--concurrency", type=int, default=8, help="msghub requests at once")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds, args.batch, args.concurrency))
