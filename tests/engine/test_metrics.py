"""Per-request metrics are batched: the values /metrics shows are those observe() would give."""

from __future__ import annotations

import asyncio
import re

import aiohttp
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from smsgate.engine import metrics
from tests.support.servers import Gateway, account

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
        batch.observe_request("batchtest", seconds)
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
    batch.observe_request("waittest", 0.002)
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
