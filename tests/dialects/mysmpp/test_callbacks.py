"""Status webhook: [{"id_sms", "time", "state"}], acknowledged by naming the id_sms; 5 attempts."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET

import aiohttp
import msgspec

from smsgate.core.status import Status
from smsgate.dialects.mysmpp.callbacks import MysmppCallbacks
from tests.support.servers import Gateway, Received, Receiver

from .conftest import Provision, post_json

AUTH = {"login": "acme", "password": "acme-pw"}
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def ack_json(req: Received, n: int) -> tuple[int, bytes]:
    """The documented answer: [{"id_sms": 3234}, {"id_sms": 3235}]."""
    return 200, msgspec.json.encode([{"id_sms": e["id_sms"]} for e in req.json()])


async def send(http: aiohttp.ClientSession, phones: list[str]) -> list[int]:
    message = {"type_send_1": "sms", "sender": "ACME", "text": "hello", "phones": phones}
    status, answer = await post_json(http, "/json", {**AUTH, "message": [message]})
    assert status == 200
    return [e["id_sms"] for e in answer["information"]]


async def test_json_webhook_body(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, provision: Provision
) -> None:
    await provision(callback_urls={"mysmpp": receiver.url + "/statuses"})
    receiver.respond = ack_json
    ids = await send(http, ["79650000001", "79650000002"])
    gateway.engine.connector.config.fail_prefixes = ["7965999"]  # type: ignore[attr-defined]
    failed = await send(http, ["79659990001"])

    async def all_reported() -> bool:
        return sum(len(r.json()) for r in receiver.requests) >= 3

    await gateway.wait_for(all_reported)
    entries = [e for r in receiver.requests for e in r.json()]
    assert all(r.method == "POST" and r.path == "/statuses" for r in receiver.requests)
    assert all(r.headers["Content-Type"].startswith("application/json") for r in receiver.requests)
    for entry in entries:
        assert set(entry) == {"id_sms", "time", "state"}
        assert TIME.match(entry["time"])
    states = {e["id_sms"]: e["state"] for e in entries}
    assert states == {ids[0]: "deliver", ids[1]: "deliver", failed[0]: "not_deliver"}
    await asyncio.sleep(0.2)
    assert sum(len(r.json()) for r in receiver.requests) == 3  # acknowledged: not repeated


async def test_unacknowledged_push_is_tried_five_times(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, provision: Provision
) -> None:
    await provision(callback_urls={"mysmpp": receiver.url})
    receiver.respond = lambda req, n: (200, b"OK")  # no id_sms in the answer
    await send(http, ["79650000001"])
    await receiver.wait_count(5)
    await asyncio.sleep(1.0)  # the 6th would come after ~1 s at the test's time scale
    assert len(receiver.requests) == 5
    assert len({r.body for r in receiver.requests}) == 1


async def test_acknowledged_on_second_attempt(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, provision: Provision
) -> None:
    await provision(callback_urls={"mysmpp": receiver.url})
    receiver.respond = lambda req, n: (500, b"") if n == 1 else ack_json(req, n)
    await send(http, ["79650000001"])
    await receiver.wait_count(2)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 2


async def test_xml_webhook(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, provision: Provision
) -> None:
    await provision(
        callback_urls={"mysmpp": receiver.url},
        settings={"mysmpp": {"webhook_format": "xml", "timezone": "Europe/Moscow"}},
    )

    def ack_xml(req: Received, n: int) -> tuple[int, bytes]:
        ids = [s.get("id_sms") for s in ET.fromstring(req.body).findall("state")]
        inner = "".join(f"<id_sms>{i}</id_sms>" for i in ids)
        return 200, f'<?xml version="1.0" encoding="utf-8" ?><response>{inner}</response>'.encode()

    receiver.respond = ack_xml
    (id_sms,) = await send(http, ["79650000001"])
    (req,) = await receiver.wait_count(1)
    assert req.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(req.body)
    assert root.tag == "response"
    (state,) = root.findall("state")
    assert state.get("id_sms") == str(id_sms)
    assert state.text == "deliver" and state.get("sms") == "deliver"
    assert TIME.match(state.get("time", ""))
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1


def test_policy_tables() -> None:
    policy = MysmppCallbacks()
    assert policy.verdict(200, b'[{"id_sms":3234},{"id_sms":3235}]') == "ok"
    assert (
        policy.verdict(200, b'<?xml version="1.0"?><response><id_sms>3234</id_sms></response>')
        == "ok"
    )
    assert policy.verdict(200, b"OK") == "retry"
    assert policy.verdict(200, b"[]") == "retry"
    assert policy.verdict(500, b'[{"id_sms":1}]') == "retry"
    assert policy.retry_delay(4) is not None and policy.retry_delay(5) is None
    assert policy.wants_status(Status.DELIVERED) and policy.wants_status(Status.UNKNOWN)
    assert not policy.wants_status(Status.SUBMITTED)
