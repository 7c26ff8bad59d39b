"""smsgate's SMPP client against an independent SMSC (npm's `smpp` package, tests/peers/smsc.js):
submit, long messages, receipts before resps, hex/decimal ids, throttling, a dropped link, MO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from smsgate.connectors.smpp import SmppClientConfig, SmppConnector
from tests.smpp.peers import Smsc, start_smsc
from tests.support import servers
from tests.support.servers import Gateway, Receiver, account, start_gateway

AUTH = {"Authorization": "Bearer acme-token"}


async def carrier_gateway(database_url: str, smsc: Smsc, **client: Any) -> Gateway:
    cfg = SmppClientConfig(
        port=smsc.port,
        system_id="carrier",
        password="secret",
        reconnect_min=0.05,
        response_timeout=2.0,
        early_receipt_wait=1.0,
    )
    config = servers.test_config(
        database_url, connector="smpp", smpp_client=msgspec.structs.replace(cfg, **client)
    )
    gw = await start_gateway(config)
    connector = gw.engine.connector
    assert isinstance(connector, SmppConnector)
    assert await connector.wait_bound(10)
    return gw


@pytest.fixture
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[Smsc]:
    """The npm SMSC; options by indirect parametrisation (see smsc.js for them)."""
    smsc = await start_smsc(**getattr(request, "param", {}))
    try:
        yield smsc
    finally:
        await smsc.stop()


async def send(
    gw: Gateway, receiver: Receiver, texts: list[str], to: str = "79001234567"
) -> list[str]:
    await gw.provision(account("acme", callback_urls={"native": receiver.url + "/dr"}))
    ids = []
    async with aiohttp.ClientSession(base_url=gw.url) as http:
        for text in texts:
            r = await http.post(
                "/api/v1/messages", json={"to": to, "text": text, "from": "ACME"}, headers=AUTH
            )
            assert r.status == 201, await r.text()
            ids.append((await r.json())["id"])
    return ids


async def final_statuses(gw: Gateway, receiver: Receiver, n: int) -> dict[str, str]:
    """message id -> final status from the native callbacks, once n messages are final."""

    def finals() -> dict[str, str]:
        out = {}
        for req in receiver.requests:
            body = req.json()
            if body["status"] not in ("submitted", "queued"):
                out[body["message"]["id"]] = body["status"]
        return out

    async def enough() -> bool:
        return len(finals()) >= n

    await gw.wait_for(enough, timeout=20)
    return finals()


async def test_submit_and_receipt(database_url: str, peer: Smsc, receiver: Receiver) -> None:
    gw = await carrier_gateway(database_url, peer)
    try:
        [mid] = await send(gw, receiver, ["Hello carrier"])
        assert await final_statuses(gw, receiver, 1) == {mid: "delivered"}
        [submit] = peer.of("submit")
        assert submit["text"] == "Hello carrier" and submit["to"] == "79001234567"
        assert submit["from"] == "ACME" and submit["ton"] == 5 and submit["dc"] == 0
        stored = await gw.store.message_by_carrier_id(submit["id"])
        assert stored is not None and stored.id == mid
    finally:
        await gw.stop()


async def test_long_messages_and_failures(
    database_url: str, peer: Smsc, receiver: Receiver
) -> None:
    gw = await carrier_gateway(database_url, peer)
    try:
        long_ru = "Длинное сообщение для проверки. " * 6  # UCS-2, 3 parts
        long_gsm = "A long GSM message that needs two parts. " * 5
        ids = await send(gw, receiver, [long_ru, long_gsm])
        [bad] = await send(gw, receiver, ["to a dead phone"], to="79990000000")
        finals = await final_statuses(gw, receiver, 3)
        assert finals == {ids[0]: "delivered", ids[1]: "delivered", bad: "undelivered"}
        whole = {e["text"]: e["parts"] for e in peer.of("message")}
        assert whole[long_ru] == 3 and whole[long_gsm] == 2
        assert {e["dc"] for e in peer.of("submit") if e["text"] in long_ru} == {8}
    finally:
        await gw.stop()


@pytest.mark.parametrize(
    "peer", [dict(receipt="before", id_format="hex", receipt_ids="dec")], indirect=True
)
async def test_receipts_before_resps_with_hex_and_decimal_ids(
    database_url: str, peer: Smsc, receiver: Receiver
) -> None:
    gw = await carrier_gateway(database_url, peer, receipt_ids="hex-to-dec")
    try:
        ids = await send(gw, receiver, [f"early {n}" for n in range(10)])
        finals = await final_statuses(gw, receiver, 10)
        assert finals == {i: "delivered" for i in ids}
        for event in peer.of("submit"):
            assert await gw.store.message_by_carrier_id(event["id"]) is not None
    finally:
        await gw.stop()


@pytest.mark.parametrize("peer", [dict(throttle_every=3)], indirect=True)
async def test_throttling_backs_off_and_retries(
    database_url: str, peer: Smsc, receiver: Receiver
) -> None:
    gw = await carrier_gateway(database_url, peer, throttle_backoff=0.05)
    try:
        ids = await send(gw, receiver, [f"busy {n}" for n in range(12)])
        finals = await final_statuses(gw, receiver, 12)
        assert finals == {i: "delivered" for i in ids}
        assert len(peer.of("throttled")) >= 4
    finally:
        await gw.stop()


@pytest.mark.parametrize("peer", [dict(drop_after=5, receipt_delay_ms=50)], indirect=True)
async def test_dropped_link_loses_nothing(
    database_url: str, peer: Smsc, receiver: Receiver
) -> None:
    gw = await carrier_gateway(database_url, peer, window=20)
    try:
        texts = [f"window {n}" for n in range(20)]
        ids = await send(gw, receiver, texts)
        finals = await final_statuses(gw, receiver, 20)
        assert finals == {i: "delivered" for i in ids}
        assert len(peer.of("drop")) == 1
        sent = [e["text"] for e in peer.of("submit")]
        assert set(sent) == set(texts)  # none lost
        assert len(sent) - len(texts) <= 20  # duplicates bounded by one window
        connector = gw.engine.connector
        assert isinstance(connector, SmppConnector) and connector.resubmitted >= 1
    finally:
        await gw.stop()


async def test_incoming_sms(database_url: str, peer: Smsc, receiver: Receiver) -> None:
    gw = await carrier_gateway(database_url, peer)
    try:
        await gw.provision(account("acme"))
        await gw.engine.numbers.refresh()  # who owns "ACME", for the reply
        await send(gw, receiver, ["MO please"])
        account_row = await gw.store.account_by_name("acme")
        assert account_row is not None

        async def arrived() -> bool:
            return bool(await gw.store.list_mo(account_row.id))

        await gw.wait_for(arrived)
        [mo] = await gw.store.list_mo(account_row.id)
        assert mo.text == "Reply from handset" and mo.phone == "79001234567" and mo.to == "ACME"
    finally:
        await gw.stop()
