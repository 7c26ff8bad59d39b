"""Routing end to end: a running smsgate whose [[upstreams]] are fake providers on 127.0.0.1
(written from their seeds: tests/connectors/http/fakes), faults injected into the primary.

Each message goes to a phone of its own, so the fakes' books say how many times each was taken
and by whom. Every test counts: 0 lost (each message reaches a final status or, where the
provider never reports, stays submitted with exactly one taker), 0 taken twice where the first
attempt's outcome was known. Where it was not (a request taken and then cut), the count of
unknown outcomes is asserted and recover resolves each without sending it again."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest

from smsgate.app import build_app
from smsgate.config import RoutingConfig
from smsgate.connectors.http.settings import UpstreamConfig
from smsgate.core.routing import BreakerPolicy, Hop, Route, RoutingTable, Rule
from smsgate.core.status import Status
from tests.connectors.http.fakes.msghub import FakeMsgHub
from tests.connectors.http.fakes.smsc import FakeSmsc
from tests.connectors.http.fakes.smsc import push as smsc_push
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account, start_gateway
from tests.support.servers import test_config as gateway_config

AUTH = {"Authorization": "Bearer acme-token"}
TOKEN = "dr-token-0123456789abcdef"
SMSC_SECRET = "dr-Secret_1"
LOOPBACK = ["127.0.0.0/8"]
TABLE = RoutingTable(
    rules=[Rule(name="ru", route="main", prefixes=["7965"])],
    routes=[
        Route(name="main", connectors=[Hop(connector="hub"), Hop(connector="smsc", priority=1)])
    ],
)


class Chain:
    def __init__(self, gateway: Gateway, hub: FakeMsgHub, smsc: FakeSmsc, account_id: int):
        self.gateway, self.hub, self.smsc, self.account_id = gateway, hub, smsc, account_id

    def takers(self) -> Counter[tuple[str, str]]:
        """(provider, phone) -> times taken."""
        taken: Counter[tuple[str, str]] = Counter()
        for m in self.hub.messages.values():
            taken["hub", m["phone_number"]] += 1
        for _, phone in self.smsc.statuses:
            taken["smsc", phone] += 1
        return taken

    async def send(self, http: aiohttp.ClientSession, count: int, first: int = 0) -> list[str]:
        body = {
            "from": "ACME",
            "text": "routed",
            "recipients": [{"to": f"+7965{i:07d}"} for i in range(first, first + count)],
        }
        r = await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)
        assert r.status == 202, await r.text()
        ids: list[str] = (await r.json())["message_ids"]
        return ids

    async def statuses(self, ids: list[str]) -> list[Status]:
        found = await self.gateway.store.get_messages(self.account_id, ids)
        return [m.status for m in found]

    async def settle(self, ids: list[str], want: set[Status], timeout: float = 15.0) -> None:
        async def done() -> bool:
            return all(s in want for s in await self.statuses(ids))

        await self.gateway.wait_for(done, timeout)


@pytest.fixture
async def chain(database_url: str) -> AsyncIterator[Chain]:
    async with FakeMsgHub() as hub, FakeSmsc(login="acme", psw="pa55") as smsc:
        upstreams = [
            UpstreamConfig(
                name="hub", kind="msghub", url=hub.api, login="user", password="pa55-Xq9",
                timeout=0.5, batch=5, status_poll=0.05, allow_networks=LOOPBACK,
                dr_url=f"https://gw.example/upstream/hub/dr?token={TOKEN}",
            ),
            UpstreamConfig(
                name="smsc", kind="smsc", url=smsc.url, login="acme", password="pa55",
                timeout=0.5, batch=5, status_poll=0.05, allow_networks=LOOPBACK,
                dr_secret=SMSC_SECRET,
            ),
        ]  # fmt: skip
        config = gateway_config(
            database_url,
            upstreams=upstreams,
            routing=RoutingConfig(
                reload=0.05,
                retry_delay=0.2,
                breaker=BreakerPolicy(window=10, min_requests=2, slow=0.25, cooldown=3),
            ),
        )
        gateway = await start_gateway(config)
        try:
            await gateway.apply_routes(TABLE)
            [account_id] = await gateway.provision(account(balance="1000"))
            yield Chain(gateway, hub, smsc, account_id)
        finally:
            await gateway.stop()


@pytest.fixture
async def http(chain: Chain) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=chain.gateway.url) as session:
        yield session


def once_each(chain: Chain, count: int) -> Counter[str]:
    """Each of the `count` phones taken exactly once, by one provider: how many by each."""
    taken = chain.takers()
    assert all(n == 1 for n in taken.values()), [k for k, n in taken.items() if n > 1]
    phones = Counter(phone for _, phone in taken)
    assert len(phones) == count and all(n == 1 for n in phones.values())
    return Counter(provider for provider, _ in taken)


async def test_healthy_primary_takes_everything(chain: Chain, http: aiohttp.ClientSession) -> None:
    ids = await chain.send(http, 12)
    await chain.settle(ids, {Status.DELIVERED})
    assert once_each(chain, 12) == {"hub": 12}
    routes = await chain.gateway.store.routes_of(ids)
    assert {r.connector for r in routes.values()} == {"hub"}
    assert all(r.carrier_id for r in routes.values())


@both_backends
async def test_5xx_fails_over_and_nothing_is_sent_twice(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    chain.hub.fault = "5xx"
    ids = await chain.send(http, 12)
    await chain.settle(ids, {Status.DELIVERED})
    assert once_each(chain, 12) == {"smsc": 12}
    assert chain.hub.messages == {}  # 503: it took none


async def test_connection_refused_fails_over(chain: Chain, http: aiohttp.ClientSession) -> None:
    await chain.hub.refuse()
    ids = await chain.send(http, 7)
    await chain.settle(ids, {Status.DELIVERED})
    assert once_each(chain, 7) == {"smsc": 7}


@both_backends
async def test_reset_after_taking_is_recovered_not_resent(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    """The first request (5 messages) is taken and its connection cut: 5 unknown outcomes,
    each found at the hub by our reference; none goes to smsc, none is sent again."""
    chain.hub.fail("reset", 1, takes=True)
    ids = await chain.send(http, 10)
    await chain.settle(ids, {Status.DELIVERED})
    assert once_each(chain, 10) == {"hub": 10}
    assert len(chain.hub.requests) >= 2 + 5  # two sends, then 5 look-ups (and status pulls)


async def test_timeout_before_taking_resends_once(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    """The request never reached the hub's books and was not answered: unknown; recover asks,
    the hub has none of them, so they are sent again (once)."""
    chain.hub.fail("timeout", 1, takes=False)
    ids = await chain.send(http, 5)
    await chain.settle(ids, {Status.DELIVERED})
    assert sum(once_each(chain, 5).values()) == 5
    assert len(chain.hub.unanswered) == 1


async def test_slow_answers_open_the_breaker(chain: Chain, http: aiohttp.ClientSession) -> None:
    chain.hub.fault = "slow"
    chain.hub.slow_delay = 0.3  # slower than the breaker's 0.25, within the 0.5 timeout
    for first in (0, 10):  # two slow answers (one submit each): the breaker opens
        await chain.settle(await chain.send(http, 5, first), {Status.DELIVERED})
    later = await chain.send(http, 5, first=100)
    await chain.settle(later, {Status.DELIVERED})
    by = once_each(chain, 15)
    assert by["hub"] == 10 and by["smsc"] == 5


async def test_taken_and_never_reported_stays_submitted_once(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    chain.hub.never_report = True
    ids = await chain.send(http, 6)
    await chain.settle(ids, {Status.SUBMITTED})
    await asyncio.sleep(0.5)  # several status pulls: still nothing final, nothing resent
    assert set(await chain.statuses(ids)) == {Status.SUBMITTED}
    assert once_each(chain, 6) == {"hub": 6}


async def test_every_connector_down_queues_until_one_is_back(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    chain.hub.fault = "5xx"
    chain.smsc.fault = "5xx"
    ids = await chain.send(http, 3)
    await asyncio.sleep(0.6)  # refused by both, queued again (retry_delay 0.2), refused...
    assert set(await chain.statuses(ids)) <= {Status.SCHEDULED, Status.QUEUED}  # queued again
    chain.smsc.fault = None
    await chain.settle(ids, {Status.DELIVERED})
    assert once_each(chain, 3) == {"smsc": 3}


async def test_dr_push_needs_the_token_and_is_matched(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    chain.hub.never_report = True
    [mid] = await chain.send(http, 1)
    await chain.settle([mid], {Status.SUBMITTED})
    carrier_id = (await chain.gateway.store.routes_of([mid]))[mid].carrier_id
    report = {  # the seed's 1.4.1 push: our id is the extra_id
        "phone_number": 79650000000, "message_id": carrier_id, "extra_id": mid,
        "status": 2, "substatus": 23, "msghub_status": 23011, "time": int(time.time() * 1000),
    }  # fmt: skip
    for url, status in (
        ("/upstream/hub/dr", 403),
        ("/upstream/hub/dr?token=dr-token-0123456789abcdeX", 403),
        (f"/upstream/nobody/dr?token={TOKEN}", 404),
    ):
        r = await http.post(url, json=report)
        assert r.status == status, url
    assert await chain.statuses([mid]) == [Status.SUBMITTED]
    r = await http.post(f"/upstream/hub/dr?token={TOKEN}", json=report)
    assert r.status == 200
    assert await chain.statuses([mid]) == [Status.DELIVERED]
    r = await http.post(f"/upstream/hub/dr?token={TOKEN}", data=b"{not json")
    assert r.status == 400


async def test_signed_push_needs_no_token(chain: Chain, http: aiohttp.ClientSession) -> None:
    """SMSC signs its pushes (dr_secret): the signature authenticates them, checked by the
    connector; an unsigned or badly signed one is refused."""
    chain.smsc.final = 0  # taken, not yet delivered: the push says it
    chain.hub.fault = "5xx"
    [mid] = await chain.send(http, 1)
    await chain.settle([mid], {Status.SUBMITTED})
    [(smsc_id, phone)] = list(chain.smsc.statuses)
    unsigned = f"id={smsc_id}&phone={phone}&status=1".encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await http.post("/upstream/smsc/dr", data=unsigned, headers=form)
    assert r.status == 403
    forged = smsc_push(smsc_id, phone, 1, "not-the-secret")
    assert (await http.post("/upstream/smsc/dr", data=forged, headers=form)).status == 403
    assert await chain.statuses([mid]) == [Status.SUBMITTED]
    signed = smsc_push(smsc_id, phone, 1, SMSC_SECRET)
    r = await http.post("/upstream/smsc/dr", data=signed, headers=form)
    assert r.status == 200, await r.text()
    assert await chain.statuses([mid]) == [Status.DELIVERED]


async def test_a_push_to_an_http_worker_is_recorded(
    chain: Chain, http: aiohttp.ClientSession
) -> None:
    """`smsgate serve` with workers: the push reaches a worker, which has no engine. It reads
    the push with its own copy of the connector and records it through the store."""
    chain.hub.never_report = True
    [mid] = await chain.send(http, 1)
    await chain.settle([mid], {Status.SUBMITTED})
    carrier_id = (await chain.gateway.store.routes_of([mid]))[mid].carrier_id
    worker: Any = build_app(chain.gateway.config, run_engine=False)
    store = worker.app.state.store
    assert worker.app.state.engine == {}  # no engine, no router: the worker's own connectors
    await store.open()
    try:
        transport = httpx.ASGITransport(app=worker)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            report = {"message_id": carrier_id, "status": 2, "substatus": 23,
                      "msghub_status": 23011}  # fmt: skip
            r = await client.post(f"/upstream/hub/dr?token={TOKEN}", json=report)
            assert r.status_code == 200
            r = await client.post("/upstream/hub/dr?token=wrong-0123456789abcdef", json=report)
            assert r.status_code == 403
    finally:
        await store.close()
    await chain.settle([mid], {Status.DELIVERED}, timeout=5)


async def test_an_incoming_sms_push_to_an_http_worker_is_stored(chain: Chain) -> None:
    """An SMSC.ru incoming-SMS push that reaches a worker (no engine, its connector never
    started, its number book never refreshed on a schedule) is stored for the account that
    owns the number, not dropped."""
    worker: Any = build_app(chain.gateway.config, run_engine=False)
    store = worker.app.state.store
    await store.open()
    fields = {"phone": "79650000123", "mes": "STOP", "to": "ACME", "sent": "1700000000"}
    signed = ":".join([fields["phone"], fields["mes"], fields["to"], SMSC_SECRET])
    fields["md5"] = hashlib.md5(signed.encode()).hexdigest()
    try:
        transport = httpx.ASGITransport(app=worker)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            r = await client.post("/upstream/smsc/dr", data=fields)
            assert r.status_code == 200, r.text
    finally:
        await store.close()
    stored = await chain.gateway.store.list_mo(chain.account_id)
    assert [(m.phone, m.to, m.text) for m in stored] == [("+79650000123", "ACME", "STOP")]
