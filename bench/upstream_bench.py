"""smsgate -> smsgate through an upstream connector, beside the same over SMPP, in one run.

    PYTHONPATH=. .venv/bin/python -m bench.upstream_bench [--messages 20000] [--rounds 2]

Node B is a real `smsgate serve` (one worker, SQLite, the simulator as its carrier, its msghub
dialect and its SMPP server). Node A's side is the connector alone, in this process, handed
messages 1000 at a time as the dispatcher hands them:

- ``msghub batch``: `MsgHubConnector`, `batch` messages a request to B's `json2/batch/sync`,
  `concurrency` requests in flight, each message logged to A's connector log (SQLite) first;
- ``msghub single``: the same connector, one message a request (`json2/simple`);
- ``smpp`` (the baseline): `SmppConnector`, one transceiver bind to B's SMPP server, window
  1000 (as smpp_bench's ESME).

A message counts when B has answered for it (taken: committed at B); each run starts once B is
idle again (it dispatched and reported the last run's messages). Runs alternate, `rounds`
times each. Printed: messages per second, the ratio to the SMPP run of the same round, and CPU
per message on each side (A: this process; B: the smsgate process tree).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import msgspec

from bench.smpp_bench import cpu_seconds, start_smsgate, stop
from smsgate.connectors.base import Connector, Incoming
from smsgate.connectors.http.base import UpstreamConfig
from smsgate.connectors.http.msghub import MsgHubConnector
from smsgate.connectors.smpp import SmppClientConfig, SmppConnector
from smsgate.core.models import Message, Report
from smsgate.core.status import Status
from smsgate.core.urls import parse_networks
from smsgate.provision import Document, apply
from smsgate.store import open_store
from smsgate.store.base import Store
from tests.support.servers import account, free_port

NODE_B = """
database = "{database}"
workers = 1
log_level = "warning"
[smpp]
port = {smpp_port}
window = 5000
[simulator]
dr_delay = 0.5
[dispatcher]
batch = 2000
"""
CHUNK = 1000  # messages handed to the connector at once (the dispatcher's batch)


class Sink:
    async def reports(self, reports: Sequence[Report]) -> None:
        pass

    async def incoming(self, messages: Sequence[Incoming]) -> None:
        pass


def messages(n: int) -> list[Message]:
    run = uuid.uuid4().hex[:8]
    return [
        Message(
            id=f"{run}-{i}", account_id=1, dialect="native", phone=f"+7965{i % 10_000_000:07d}",
            text=f"Bench message {i}", encoding="gsm7", segments=1, sender="ACME",
        )
        for i in range(n)
    ]  # fmt: skip


async def drive(connector: Connector, batch: list[Message]) -> int:
    """Hand `batch` over CHUNK at a time, 4 chunks in flight; how many were taken."""
    taken = 0
    pending: set[asyncio.Task[list[Report]]] = set()
    for i in range(0, len(batch), CHUNK):
        if len(pending) >= 4:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            taken += sum(r.status is Status.SUBMITTED for t in done for r in t.result())
        pending.add(asyncio.create_task(connector.submit(batch[i : i + CHUNK])))
    for reports in await asyncio.gather(*pending):
        taken += sum(r.status is Status.SUBMITTED for r in reports)
    return taken


async def settle(pid: int, limit: float = 120.0) -> None:
    """Wait until node B is idle (under 5% of a core for half a second): what it took in the
    last run is dispatched and reported before the next run starts."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return


async def run_one(
    name: str, connector: Connector, n: int, pid: int
) -> tuple[str, float, float, float]:
    batch = messages(n)
    await settle(pid)
    cpu_a, cpu_b, started = time.process_time(), cpu_seconds(pid), time.perf_counter()
    taken = await drive(connector, batch)
    elapsed = time.perf_counter() - started
    if taken != n:
        print(f"  {name}: only {taken} of {n} taken")
    per_a = (time.process_time() - cpu_a) / n * 1e6
    per_b = (cpu_seconds(pid) - cpu_b) / n * 1e6
    return name, taken / elapsed, per_a, per_b


async def main(n: int, rounds: int, batch: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = f"sqlite:///{folder}/b.db"
        store_b = open_store(database)
        await store_b.open()
        await store_b.migrate()
        await apply(store_b, Document(accounts=[account("acme", balance="100000000")]),
                    allowed_networks=parse_networks(["127.0.0.0/8"]))  # fmt: skip
        await store_b.close()
        smpp_port = free_port()
        proc, port = await start_smsgate(
            folder, NODE_B.format(database=database, smpp_port=smpp_port)
        )
        store_a: Store = open_store(f"sqlite:///{folder}/a.db")
        await store_a.open()
        await store_a.migrate()
        hub = UpstreamConfig(
            name="hub-batch", kind="msghub", url=f"http://127.0.0.1:{port}/msghub/api/acme",
            login="acme", password="acme-pw", timeout=30.0, concurrency=concurrency,
            batch=batch, allow_networks=["127.0.0.0/8"],
        )  # fmt: skip
        single = msgspec.structs.replace(hub, name="hub-single", batch=1)
        smpp = SmppClientConfig(port=smpp_port, system_id="acme", password="acme-pw", window=1000)
        connectors: dict[str, Connector] = {
            "msghub batch": MsgHubConnector(hub, store_a),
            "msghub single": MsgHubConnector(single, store_a),
            "smpp": SmppConnector(smpp, store_a),
        }
        try:
            for c in connectors.values():
                await c.start(Sink())
            await drive(connectors["smpp"], messages(200))  # bound, warmed up
            await drive(connectors["msghub batch"], messages(200))
            print(f"{n} messages a run, msghub batch {batch}, concurrency {concurrency}")
            print(f"{'path':<14} {'msg/s':>8} {'x smpp':>7} {'A µs/msg':>9} {'B µs/msg':>9}")
            for _ in range(rounds):
                results = [
                    await run_one(name, c, n if name != "msghub single" else n // 4, proc.pid)
                    for name, c in connectors.items()
                ]
                smpp_rate = results[-1][1]
                for name, rate, per_a, per_b in results:
                    print(f"{name:<14} {rate:>8.0f} {rate / smpp_rate:>6.2f}x "
                          f"{per_a:>9.0f} {per_b:>9.0f}")  # fmt: skip
        finally:
            for c in connectors.values():
                await c.stop()
            await store_a.close()
            await stop(proc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="msghub messages a request")
    parser.add_argument("--concurrency", type=int, default=8, help="msghub requests at once")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds, args.batch, args.concurrency))
