"""Every fault at once, over real sockets: node A's primary is a MsgHub fake (from its seed)
failing requests in turn (5xx, a timeout and a reset each after taking and before taking, a
slow answer), its secondary is node B, a real smsgate, over B's SMSC dialect.

tests/engine/test_upstream_chain.py has each fault alone; here they meet in one run, with the
breaker held shut so that every queued fault is met. Counted over hub and B together: each
message taken exactly once (0 lost, 0 sent twice: a 5xx fails over, an unknown outcome is
asked about by extra_id and resent only where the hub never took it), and the unknown
outcomes (one per message of a cut request) counted and printed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY

from smsgate.config import RoutingConfig
from smsgate.connectors.http.settings import UpstreamConfig
from smsgate.core.routing import BreakerPolicy, Hop, Route, RoutingTable, Rule
from smsgate.core.status import Status
from smsgate.store.base import MessageFilter
from tests.connectors.http.fakes.msghub import FakeMsgHub
from tests.support.servers import Gateway, account, start_gateway
from tests.support.servers import test_config as gateway_config

LOOPBACK = ["127.0.0.0/8"]
COUNT = 60  # 12 requests of 5 to the hub, before the faults' failovers and resends
FAULTS = [("5xx", True), ("timeout", True), ("reset", False), ("slow", True),
          ("timeout", False), ("reset", True), ("5xx", True)]  # fmt: skip
NEVER_OPEN = BreakerPolicy(window=10, min_requests=10_000)
TABLE = RoutingTable(
    rules=[Rule(name="all", route="main")],
    routes=[Route(name="main", connectors=[Hop(connector="hub"), Hop(connector="b", priority=1)])],
)


@pytest.fixture
async def nodes(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Gateway, FakeMsgHub]]:
    async with FakeMsgHub() as hub:
        b = await start_gateway(gateway_config(f"sqlite:///{tmp_path}/b.db"))
        try:
            await b.provision(account("acme", balance="1000"))
            common: dict[str, Any] = {
                "timeout": 0.5,
                "status_poll": 0.05,
                "allow_networks": LOOPBACK,
            }
            upstreams = [
                UpstreamConfig(name="hub", kind="msghub", url=hub.api, login="user",
                               password="pa55-Xq9", batch=5, **common),
                UpstreamConfig(name="b", kind="smsc", url=b.url, login="acme",
                               password="acme-pw", **common),
            ]  # fmt: skip
            routing = RoutingConfig(reload=0.05, retry_delay=0.2, breaker=NEVER_OPEN)
            a = await start_gateway(
                gateway_config(database_url, upstreams=upstreams, routing=routing)
            )
            try:
                await a.apply_routes(TABLE)
                await a.provision(account("shop", balance="1000"))
                yield a, b, hub
            finally:
                await a.stop()
        finally:
            await b.stop()


def unknown_outcomes() -> float:
    labels = {"connector": "hub", "provider": "msghub", "result": "unknown"}
    return REGISTRY.get_sample_value("smsgate_upstream_messages_total", labels) or 0.0


async def test_every_fault_at_once_counts_out(
    nodes: tuple[Gateway, Gateway, FakeMsgHub],
) -> None:
    a, b, hub = nodes
    hub.slow_delay = 0.3
    for fault, takes in FAULTS:
        hub.fail(fault, takes=takes)
    before = unknown_outcomes()
    async with aiohttp.ClientSession(a.url) as http:
        body = {"from": "ACME", "text": "faults",
                "recipients": [{"to": f"+7965{i:07d}"} for i in range(COUNT)]}  # fmt: skip
        r = await http.post(
            "/api/v1/messages/bulk", json=body, headers={"Authorization": "Bearer shop-token"}
        )
        assert r.status == 202, await r.text()
        ids: list[str] = (await r.json())["message_ids"]
    shop = await a.store.account_by_name("shop")
    assert shop is not None

    async def all_delivered() -> bool:
        found = await a.store.get_messages(shop.id, ids)
        return all(m.status is Status.DELIVERED for m in found)

    await a.wait_for(all_delivered, timeout=30)
    acme = await b.store.account_by_name("acme")
    assert acme is not None
    at_b = await b.store.list_messages(acme.id, MessageFilter(), limit=1000)
    by_hub = Counter(m["extra_id"] for m in hub.messages.values())
    phone_to_id = {m.phone: m.id for m in await a.store.get_messages(shop.id, ids)}
    by_b = Counter(phone_to_id[m.phone] for m in at_b)
    taken = by_hub + by_b
    assert set(taken) == set(ids), "every message taken somewhere"
    assert [k for k, n in taken.items() if n > 1] == [], "none taken twice"
    routes = await a.store.routes_of(ids)
    assert {mid for mid, r in routes.items() if r.connector == "b"} == set(by_b)
    unknown = unknown_outcomes() - before
    cut = sum(1 for fault, _ in FAULTS if fault in ("timeout", "reset"))
    assert unknown == 5 * cut  # one per message of each cut request
    assert by_b, "the 5xx answers failed over to B"
    print(json.dumps({"messages": COUNT, "at_hub": len(by_hub), "at_b": len(by_b),
                      "unknown_outcomes": int(unknown), "sent_twice": 0}))  # fmt: skip
