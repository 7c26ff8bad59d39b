"""DR push: received by a real aiohttp server, single and batched, retried, per-message URL."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import aiohttp

from smsgate.connectors.simulator import SimulatorConfig
from tests.support.servers import Gateway, Receiver, account

from .conftest import post, simple_body, sms


def batch(phones: list[int], **extra: object) -> dict[str, object]:
    return {
        "messages": [{"phone_number": p, "extra_id": f"x{p}", "text": "hi"} for p in phones],
        "channels": ["sms"],
        "channel_options": {"sms": sms()},
        **extra,
    }


async def test_single_push_per_final_status_with_retries(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account("acme", callback_urls={"msghub": receiver.url + "/acct"}))
    receiver.respond = lambda req, n: (500, b"busy") if n == 1 else (200, b"OK")
    status, answer = await post(http, "/json2/batch/sync", batch([79651111111]))
    assert status == 200
    first, second = await receiver.wait_count(2)
    assert first.body == second.body  # the same report, retried
    report = second.json()
    assert isinstance(report, dict) and report["number"] == 79651111111
    assert report["message_id"] == answer["messages"][0]["message_id"]
    assert report["extra_id"] == "x79651111111"
    assert (report["status"], report["substatus"], report["msghub_status"]) == (2, 23, 23011)
    assert second.headers["Content-Type"] == "application/json"
    assert len(receiver.requests) == 2  # only the final status is pushed


async def test_message_callback_url_wins_and_extra_id_is_left_out_when_absent(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account("acme", callback_urls={"msghub": receiver.url + "/acct"}))
    data = simple_body(start_time=None, extra_id=None, callback_url=receiver.url + "/mine")
    status, _ = await post(http, "/json2/simple", {k: v for k, v in data.items() if v})
    assert status == 200
    (push,) = await receiver.wait_count(1)
    assert push.path == "/mine"
    assert "extra_id" not in push.json()


async def test_batched_push_flushes_on_size_and_on_interval(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(
        account(
            "acme",
            callback_urls={"msghub": receiver.url},
            settings={"msghub": {"dr_batch_size": 2, "dr_batch_interval": 0.3}},
        )
    )
    status, _ = await post(
        http, "/json2/batch/sync", batch([79650000001, 79650000002, 79650000003])
    )
    assert status == 200
    pushes = await receiver.wait_count(2)
    sizes = sorted(len(p.json()) for p in pushes)
    assert sizes == [1, 2]  # a full batch of 2, then the third alone after the interval
    for p in pushes:
        assert all(isinstance(r["number"], str) for r in p.json())
    numbers = sorted(r["number"] for p in pushes for r in p.json())
    assert numbers == ["79650000001", "79650000002", "79650000003"]


async def test_failures_are_pushed_as_status_3(
    make_gateway: Callable[..., Awaitable[Gateway]], receiver: Receiver
) -> None:
    sim = SimulatorConfig(dr_delay=0.01, fail_prefixes=["7966"], reject_prefixes=["7967"])
    gateway = await make_gateway(simulator=sim)
    await gateway.provision(account("acme", callback_urls={"msghub": receiver.url}))
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        status, _ = await post(http, "/json2/batch/sync", batch([79660000000, 79670000000]))
        assert status == 200
    pushes = await receiver.wait_count(2)
    by_number = {p.json()["number"]: p.json() for p in pushes}
    undelivered = by_number[79660000000]
    assert (undelivered["status"], undelivered["substatus"]) == (3, 36)
    assert undelivered["msghub_status"] == 36001  # absent subscriber
    assert undelivered["sent_via"] == "sms"
    rejected = by_number[79670000000]
    assert (rejected["status"], rejected["msghub_status"]) == (3, 36006)
    assert rejected["sent_via"] == "msghub"  # never reached the SMS channel


async def test_time_to_first_push_at_zero_latency(
    make_gateway: Callable[..., Awaitable[Gateway]], receiver: Receiver
) -> None:
    gateway = await make_gateway(simulator=SimulatorConfig(dr_delay=0.0, submit_latency=0.0))
    await gateway.provision(account("acme", callback_urls={"msghub": receiver.url}))
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        await post(http, "/json2/simple", {**simple_body(start_time=None, callback_url=None)})
        await receiver.wait_count(1)  # warm-up: connections, caches
        started = time.perf_counter()
        data = simple_body(start_time=None, callback_url=None, extra_id="timed")
        status, _ = await post(http, "/json2/simple", data)
        assert status == 200
        await receiver.wait_count(2)
        elapsed = time.perf_counter() - started
    print(f"\ntime to first DR push at simulator latency 0: {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0
