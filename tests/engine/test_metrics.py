"""Per-request metrics are batched: the values /metrics shows are those observe() would give."""

from __future__ import annotations

import asyncio
import platform
import re

import aiohttp
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from smsgate import __version__
from smsgate.engine import metrics
from tests.support.servers import Gateway, Receiver, account

LATENCIES = [0.0004, 0.001, 0.001, 0.0031, 0.2, 7.5]  # 0.001 is a bound: it counts as "le"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_flushed_batch_equals_observing_one_by_one() -> None:
    oracle_registry = CollectorRegistry()
    oracle = Histogram(
        "oracle_seconds",
        "the same buckets, observed one by one",
        buckets=metrics.REQUEST_SECONDS._upper_bounds[:-1],
        registry=oracle_registry,
    )
    batch = metrics.Batch()
    for seconds in LATENCIES:
        oracle.observe(seconds)
        batch.observe_request("batchtest", seconds, 200)
    batch.flush()  # no running loop here: observe_request already flushed each one
    [family] = oracle_registry.collect()
    for sample in family.samples:
        if sample.name.endswith("_created"):
            continue
        name = sample.name.replace("oracle_seconds", "smsgate_request_seconds")
        assert _sample(name, dialect="batchtest", **sample.labels) == sample.value, sample


async def test_counts_wait_for_the_flush_then_show() -> None:
    batch = metrics.Batch()
    before = _sample("smsgate_accepted_total", dialect="waittest")
    batch.count_accepted("waittest", 3)
    batch.count_accepted("waittest", 2)
    batch.observe_request("waittest", 0.002, 200)
    assert _sample("smsgate_accepted_total", dialect="waittest") == before  # batched
    await asyncio.sleep(metrics.FLUSH_EVERY + 0.2)  # the timer flushes without a scrape
    assert _sample("smsgate_accepted_total", dialect="waittest") == before + 5
    assert _sample("smsgate_request_seconds_count", dialect="waittest") == 1
    assert _sample("smsgate_request_seconds_bucket", dialect="waittest", le="0.0025") == 1
    assert _sample("smsgate_request_seconds_bucket", dialect="waittest", le="0.001") == 0


def test_a_loop_that_closed_before_its_flush_leaves_nothing_behind() -> None:
    batch = metrics.Batch()
    before = _sample("smsgate_accepted_total", dialect="closedtest")

    async def count(n: int, wait: float) -> None:
        batch.count_accepted("closedtest", n)
        await asyncio.sleep(wait)

    asyncio.run(count(2, 0))  # its flush was due half a second later, on a loop now closed
    assert _sample("smsgate_accepted_total", dialect="closedtest") == before
    asyncio.run(count(3, metrics.FLUSH_EVERY + 0.2))  # a new loop: a new timer flushes all
    assert _sample("smsgate_accepted_total", dialect="closedtest") == before + 5


def _value(text: str, line_start: str) -> float:
    match = re.search(rf"^{re.escape(line_start)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_metrics_show_every_send_at_once(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account())
    auth = {"Authorization": "Bearer acme-token"}
    before = await (await http.get("/metrics")).text()
    for n in range(3):
        answer = await http.post(
            "/api/v1/messages", json={"to": f"+7965111111{n}", "text": "m"}, headers=auth
        )
        assert answer.status == 201
    after = await (await http.get("/metrics")).text()  # no wait: a scrape flushes first
    accepted = 'smsgate_accepted_total{dialect="native"}'
    assert _value(after, accepted) == _value(before, accepted) + 3
    requests = 'smsgate_request_seconds_count{dialect="native"}'
    assert _value(after, requests) == _value(before, requests) + 3


async def test_requests_are_counted_by_status_code(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account())
    before = await (await http.get("/metrics")).text()
    body = {"to": "+79651111111", "text": "m"}
    for token, status in (("acme-token", 201), ("wrong", 401), ("acme-token", 201)):
        answer = await http.post(
            "/api/v1/messages", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status == status
    assert (
        await http.get(
            "/api/v1/messages/no-such-id", headers={"Authorization": "Bearer acme-token"}
        )
    ).status == 404
    after = await (await http.get("/metrics")).text()

    def added(code: str) -> float:
        line = f'smsgate_requests_total{{code="{code}",dialect="native"}}'
        return _value(after, line) - _value(before, line)

    assert (added("201"), added("401"), added("404")) == (2, 1, 1)


async def test_build_info_names_the_version(http: aiohttp.ClientSession) -> None:
    text = await (await http.get("/metrics")).text()
    python = platform.python_version()
    assert _value(text, f'smsgate_build_info{{python="{python}",version="{__version__}"}}') == 1


async def test_the_callback_backlog_per_dialect(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.respond = lambda req, n: (503, b"busy")  # callbacks stay owed
    await gateway.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    auth = {"Authorization": "Bearer acme-token"}
    for n in range(2):
        answer = await http.post(
            "/api/v1/messages", json={"to": f"+7965111111{n}", "text": "m"}, headers=auth
        )
        assert answer.status == 201
    await receiver.wait_count(4)  # submitted and delivered, for each: all four failed once

    async def backlog() -> bool:  # the engine samples it every 2 s
        text = await (await http.get("/metrics")).text()
        owed = (await gateway.store.outbox_backlog()).get("native", 0)
        return 0 < _value(text, 'smsgate_outbox_depth{dialect="native"}') == owed

    await gateway.wait_for(backlog)
    receiver.respond = lambda req, n: (200, b"OK")

    async def drained() -> bool:
        text = await (await http.get("/metrics")).text()
        return _value(text, 'smsgate_outbox_depth{dialect="native"}') == 0

    await gateway.wait_for(drained)
