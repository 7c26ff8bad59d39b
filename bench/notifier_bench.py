"""The notifier alone: claim, render, send and mark done every callback of an SQLite outbox,
each tree given run in turn in a process of its own (not part of the test suite).

    PYTHONPATH=. .venv/bin/python -m bench.notifier_bench BASELINE_TREE [CANDIDATE_TREE]
        [--messages 10000] [--pairs 2]

Each run fills a fresh outbox with two native callbacks a message (`submitted` and
`delivered`, as smpp_bench's e2e run owes), then starts a `Notifier` with the engine's
`HttpSender` and delivers them all to `bench/smpp_bench.py`'s receiver, which runs in a
process of its own. Prints the notifier's CPU a callback (its process, the SQLite writer's
thread included) and callbacks a second, baseline and candidate alternated.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RECEIVER = """
import asyncio, sys, uvloop
from bench.smpp_bench import counter
async def main():
    url, state, server = await counter(lambda request: True)
    print(url, flush=True)
    await asyncio.sleep(3600)
uvloop.run(main())
"""

RUN = """
import asyncio, json, sys, time, uvloop
from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.dialects.native import dialect
from smsgate.core.urls import parse_networks
from smsgate.engine.notifier import HttpSender, Notifier
from smsgate.config import Config
from smsgate.server import _freeze_heap, _process_store
from tests.store.helpers import make_account, message

async def main(folder, url, n):
    # Opened as `smsgate serve` opens its notifier process's store beside two workers.
    store = _process_store(Config(database=f"sqlite:///{folder}/bench.db", workers=2), notifier=True)
    await store.open()
    await store.migrate()
    acme = await make_account(store, balance=10**15, callback_urls={"native": url})
    batch = [message(acme.id, phone=f"7965{i:07d}") for i in range(n)]
    await store.accept(acme.id, batch)
    await store.claim_due(time.time(), n, "bench", 600.0)
    route = lambda m, e, urls: [("native", url)]
    for status in (Status.SUBMITTED, Status.DELIVERED):
        at = time.time()
        reports = [Report(message_id=m.id, status=status, carrier_id=m.id, at=at) for m in batch]
        await store.record_reports(reports, route)
    owed = (await store.outbox_backlog()).get("native", 0)
    assert owed == 2 * n, (owed, await store.outbox_backlog())
    sender = HttpSender(allowed=parse_networks(["127.0.0.0/8"]))
    _freeze_heap()  # as the notifier process does once it is ready (its collector's settings)
    notifier = Notifier(store, {"native": dialect.callbacks}, sender, concurrency=128)
    started, cpu = time.monotonic(), time.process_time()
    task = asyncio.create_task(notifier.run())
    while (await store.outbox_backlog()).get("native"):
        await asyncio.sleep(0.05)  # (a count of the pending rows: not too often)
    took, spent = time.monotonic() - started, time.process_time() - cpu
    task.cancel()
    await notifier.drain()
    await sender.close()
    await store.close()
    print(json.dumps({"rate": 2 * n / took, "us": spent / (2 * n) * 1e6}))

uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def one(tree: str, url: str, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, PYTHONPATH=tree)
        out = subprocess.run(
            [sys.executable, "-c", RUN, folder, url + "/dr", str(n)],
            env=env,
            cwd=tree,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("baseline")
    parser.add_argument("candidate", nargs="?", default=str(ROOT))
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        url = receiver.stdout.readline().strip()
        print("| pair | tree | callbacks/s | µs CPU a callback (notifier) |")
        print("|---|---|---|---|")
        for pair in range(1, args.pairs + 1):
            for name, tree in (("baseline", args.baseline), ("candidate", args.candidate)):
                r = one(tree, url, args.messages)
                print(f"| {pair} | {name} | {r['rate']:,.0f} | {r['us']:.1f} |", flush=True)
    finally:
        receiver.terminate()
        receiver.wait()


if __name__ == "__main__":
    main()
