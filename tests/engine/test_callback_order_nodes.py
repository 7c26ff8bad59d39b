"""Two nodes, one PostgreSQL, one killed while it holds "submitted" callbacks: a client gets a
message's statuses in the order of its events (docs/native.md, "Callbacks").

The receiver answers "submitted" slowly, so that the killed node dies with many of them in its
hands (leased, some half-sent). Before rules.order_claim, the live node sent "delivered" at
once and "submitted" when the dead node's lease lapsed: that order is what this test looks for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from tests.support.nodes import Node, import_accounts, start_node
from tests.support.servers import free_port

# `alone`: make test runs it in its serial tail. Its nodes renew their leases every third of one; beside
# the parallel run's workers a live node starved of CPU past its lease is taken over, and its
# late "submitted" may then arrive after "delivered" (seen once in CI: 6 of 1,500 messages),
# which is the at-least-once edge of a live node, not the dead node's case this test checks.
# Alone too, right after the parallel run, 3 s leases lapsed now and then (2 runs of 9 on
# 2026-12-07, each 20 s instead of 11, on code that changes nothing here; none of 17 later):
# PostgreSQL writing back the suite's pages stalls the live node's commits. So 8 s leases.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.alone,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

TOTAL = 1500
CHUNK = 250
LEASE = 8.0
AUTH = {"Authorization": "Bearer acme-token"}
SETTINGS = {
    "dispatcher__lease": LEASE,
    "dispatcher__idle_poll": 0.2,
    "notifier__lease": LEASE,
    "notifier__poll": 0.05,
    "simulator__dr_delay": 0.2,
    "simulator__orphan_receipts_after": 3,
}


@dataclass
class Arrival:
    at: float  # when it arrived (UNIX time)
    event_id: str
    message_id: str
    status: str


async def _receiver(arrivals: list[Arrival]) -> tuple[str, web.AppRunner]:
    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        arrivals.append(
            Arrival(time.time(), body["event_id"], body["message"]["id"], body["status"])
        )
        if body["status"] == "submitted":
            await asyncio.sleep(0.3)  # slow: the nodes hold many of these at any moment
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/dr", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return f"http://127.0.0.1:{port}", runner


async def test_a_dead_node_never_makes_submitted_arrive_after_delivered(
    database_url: str, tmp_path: Path
) -> None:
    arrivals: list[Arrival] = []
    url, runner = await _receiver(arrivals)
    import_accounts(
        database_url,
        tmp_path,
        {
            "name": "acme",
            "balance": "100000",
            "price": "0.5",
            "senders": ["Test"],
            "callback_urls": {"native": url + "/dr"},
            "credentials": [{"dialect": "native", "kind": "token", "secret": "acme-token"}],
        },
    )
    a = b = None
    db = await asyncpg.connect(database_url)
    try:
        a, b = await asyncio.gather(
            start_node(database_url, tmp_path, "a", **SETTINGS),
            start_node(database_url, tmp_path, "b", **SETTINGS),
        )
        await _run(a, b, arrivals)
        await _check(db, arrivals)
    except BaseException:
        for node in (a, b):
            if node is not None:
                print(f"--- {node.url}\n" + node.tail())
        raise
    finally:
        for node in (a, b):
            if node is not None:
                node.stop()
        await db.close()
        await runner.cleanup()


async def _run(a: Node, b: Node, arrivals: list[Arrival]) -> None:
    killed = asyncio.Event()

    async def send(http: aiohttp.ClientSession, chunk: range, node: Node) -> None:
        body = {
            "from": "Test",
            "text": "order",
            "recipients": [{"to": f"+7965{i:07d}", "client_ref": f"r{i}"} for i in chunk],
        }
        for target in (node, b):
            try:
                async with http.post(
                    target.url + "/api/v1/messages/bulk", json=body, headers=AUTH
                ) as r:
                    assert r.status == 202, await r.text()
                    return
            except aiohttp.ClientError:
                assert target is a and killed.is_set()
        raise AssertionError("not accepted by any node")

    async def kill_a() -> None:
        while sum(1 for x in arrivals if x.status == "submitted") < 300:
            await asyncio.sleep(0.01)
        killed.set()
        a.kill()  # with "submitted" callbacks in its hands

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        killer = asyncio.create_task(kill_a())
        for i, start in enumerate(range(0, TOTAL, CHUNK)):
            target = a if i % 2 == 0 and not killed.is_set() else b
            await send(http, range(start, min(start + CHUNK, TOTAL)), target)
        await asyncio.wait_for(killer, 60)


async def _check(db: asyncpg.Connection, arrivals: list[Arrival]) -> None:
    deadline = time.monotonic() + 90
    delivered = "SELECT count(*) FROM messages WHERE status = 'delivered'"
    while await db.fetchval(delivered) < TOTAL:  # the live node finishes the dead one's work
        assert time.monotonic() < deadline, await db.fetchval(delivered)
        await asyncio.sleep(0.1)
    expected = {f"ev-{r[0]}" for r in await db.fetch("SELECT seq FROM events")}
    while not expected <= {x.event_id for x in arrivals}:
        assert time.monotonic() < deadline, len(expected - {x.event_id for x in arrivals})
        await asyncio.sleep(0.1)
    assert len(expected) == 2 * TOTAL
    by_message: dict[str, list[Arrival]] = defaultdict(list)
    for x in sorted(arrivals, key=lambda x: x.at):
        by_message[x.message_id].append(x)
    # What a client that dedupes on event ids sees: each event at its first arrival, in the
    # order of the message's events; and what one that keeps the latest status ends on.
    out_of_order, ends_old = [], []
    for m, seen in by_message.items():
        first = list(dict.fromkeys(x.status for x in seen))
        if first != ["submitted", "delivered"]:
            out_of_order.append((m, [x.status for x in seen]))
        if seen[-1].status != "delivered":
            ends_old.append((m, [x.status for x in seen]))
    assert out_of_order == [], f"{len(out_of_order)} messages out of order: {out_of_order[:3]}"
    assert ends_old == [], f"{len(ends_old)} messages end on an older status: {ends_old[:3]}"
    # The case happened: the killed node had sent "submitted" callbacks it never marked done,
    # and the live node sent them again once their lease lapsed (at least once), "delivered"
    # after them.
    resent = [
        m for m, seen in by_message.items() if [x.status for x in seen].count("submitted") > 1
    ]
    assert resent, "the killed node held no 'submitted' callback: nothing was tested"
    print(f"\n{len(resent)} messages had 'submitted' in the killed node's hands")
