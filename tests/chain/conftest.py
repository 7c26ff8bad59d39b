"""Two smsgate nodes on 127.0.0.1: A (its own database: `database_url`, so SQLite or
PostgreSQL) routes each message by the dialect it came in through to B's endpoint of that same
dialect, through A's `[[upstreams]]` of that kind; B (SQLite) delivers on its simulator and
reports back by its own dialect's means: a push to A's `/upstream/{name}/dr`, or A's pull.
A's client (account `shop`) gets the outcome at a real receiver, in its own dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smsgate.config import RoutingConfig
from smsgate.connectors.http.settings import UpstreamConfig
from smsgate.connectors.simulator import SimulatorConfig
from smsgate.core.models import Message
from smsgate.core.routing import Hop, Route, RoutingTable, Rule
from smsgate.provision import AccountSpec
from smsgate.store.base import MessageFilter
from tests.chain.clients import CLIENTS, acknowledge
from tests.support.servers import Gateway, Receiver, account, free_port, start_gateway
from tests.support.servers import test_config as gateway_config

LOOPBACK = ["127.0.0.0/8"]
TOKEN = "chain-dr-token-5f2c9a0e71"  # in the dr_url of the upstreams that push by token
MYSMPP_KEY = "chain-k3y-0d8e"  # the key= of the mysmpp webhook URL registered at B
SMSC_SECRET = "Chain-Secret_1"  # the <secret> of the SMSC handler URL registered at B
FAILING = ["7999", "7702", "99290900"]  # B's simulator: never delivered (unknown subscriber)
DIALECTS = list(CLIENTS)


def upstreams(b_url: str, a_url: str) -> list[UpstreamConfig]:
    """A's connectors to B: one per dialect, each as its provider would be configured."""
    common: dict[str, Any] = {"login": "acme", "timeout": 5.0, "allow_networks": LOOPBACK}
    return [
        UpstreamConfig(
            name="b-msghub", kind="msghub", url=f"{b_url}/msghub/api/acme",
            password="acme-pw", dr_url=f"{a_url}/upstream/b-msghub/dr?token={TOKEN}", **common,
        ),  # B pushes to the callback_url each request carries
        UpstreamConfig(
            name="b-smsgw2", kind="smsgw2", url=f"{b_url}/app/smsgw/rest/v2",
            password="acme-pw", dr_url=f"{a_url}/upstream/b-smsgw2/dr?token={TOKEN}", **common,
        ),  # B pushes to the URL on acme's account (b_account)
        UpstreamConfig(
            name="b-osonsms", kind="osonsms", url=b_url, password="acme-salt",
            status_poll=0.05, **common,
        ),  # OsonSMS pushes nothing: A pulls
        UpstreamConfig(
            name="b-mysmpp", kind="mysmpp", url=b_url, password="acme-pw",
            dr_secret=MYSMPP_KEY, **common,
        ),
        UpstreamConfig(
            name="b-smsc", kind="smsc", url=b_url, password="acme-pw",
            dr_secret=SMSC_SECRET, **common,
        ),
    ]  # fmt: skip


def b_account(a_url: str) -> AccountSpec:
    """A's account at B, with the push URLs the dialects that push without a per-request
    callback URL are given at the provider."""
    return account(
        "acme",
        balance="1000",
        callback_urls={
            "smsgw2": f"{a_url}/upstream/b-smsgw2/dr?token={TOKEN}",
            "mysmpp": f"{a_url}/upstream/b-mysmpp/dr?key={MYSMPP_KEY}",
            "smsc": f"{a_url}/upstream/b-smsc/dr?charset=utf-8&sha1={SMSC_SECRET}",
        },
    )


TABLE = RoutingTable(
    rules=[Rule(name=d, route=d, dialects=[d]) for d in DIALECTS],
    routes=[Route(name=d, connectors=[Hop(connector=f"b-{d}")]) for d in DIALECTS],
)


@dataclass
class Chain:
    a: Gateway
    b: Gateway
    receiver: Receiver
    shop: int  # A's client account
    acme: int  # A's account at B

    async def messages(self, node: Gateway, account_id: int) -> list[Message]:
        return await node.store.list_messages(account_id, MessageFilter(), limit=10_000)


@pytest.fixture
async def chain(database_url: str, tmp_path: Path, receiver: Receiver) -> AsyncIterator[Chain]:
    receiver.respond = acknowledge
    simulator = SimulatorConfig(
        dr_delay=0.01, fail_prefixes=FAILING, failure_codes=["unknown_subscriber"]
    )
    b = await start_gateway(gateway_config(f"sqlite:///{tmp_path}/b.db", simulator=simulator))
    a_port = free_port()
    a_url = f"http://127.0.0.1:{a_port}"
    config = gateway_config(
        database_url,
        upstreams=upstreams(b.url, a_url),
        routing=RoutingConfig(reload=0.05, retry_delay=0.2),
    )
    try:
        a = await start_gateway(config, port=a_port)
        try:
            [acme] = await b.provision(b_account(a_url))
            await a.apply_routes(TABLE)
            callbacks = {d: c.callback_url(receiver) for d, c in CLIENTS.items()}
            shop = account("shop", callback_urls={d: url for d, url in callbacks.items() if url})
            [shop_id] = await a.provision(shop)
            yield Chain(a, b, receiver, shop_id, acme)
        finally:
            await a.stop()
    finally:
        await b.stop()
