"""A carrier failure and a failing callback are each logged (no secret in any line) and visible
in the native API (the message and its events) and in `smsgate status`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from smsgate.connectors.simulator import SimulatorConfig
from tests.support import servers
from tests.support.nodes import cli
from tests.support.servers import Gateway, Receiver, account, start_gateway

FAILING = "7965999"  # the simulated carrier fails numbers starting so
CALLBACK_SECRET = "cb-secret-in-query"


@pytest.fixture
async def failing(database_url: str) -> AsyncIterator[Gateway]:
    simulator = SimulatorConfig(
        dr_delay=0.01, fail_prefixes=[FAILING], failure_codes=["absent_subscriber"]
    )
    gw = await start_gateway(servers.test_config(database_url, simulator=simulator))
    try:
        yield gw
    finally:
        await gw.stop()


async def _send(http: aiohttp.ClientSession, phone: str, callback_url: str | None = None) -> str:
    body = {"to": phone, "text": "hi", "from": "ACME"}
    if callback_url:
        body["callback_url"] = callback_url
    r = await http.post(
        "/api/v1/messages", json=body, headers={"Authorization": "Bearer acme-token"}
    )
    assert r.status == 201, await r.text()
    return str((await r.json())["id"])


async def _get(http: aiohttp.ClientSession, path: str) -> dict:  # type: ignore[type-arg]
    r = await http.get(path, headers={"Authorization": "Bearer acme-token"})
    assert r.status == 200, await r.text()
    return await r.json()  # type: ignore[no-any-return]


async def test_a_carrier_failure_is_logged_and_shown(
    failing: Gateway, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await failing.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    async with aiohttp.ClientSession(base_url=failing.url) as http:
        message_id = await _send(http, f"+{FAILING}1234")
        ok_id = await _send(http, "+79651234567")

        async def settled() -> bool:
            bodies = [await _get(http, f"/api/v1/messages/{m}") for m in (message_id, ok_id)]
            return [b["status"] for b in bodies] == ["undelivered", "delivered"]

        await failing.wait_for(settled)
        message = await _get(http, f"/api/v1/messages/{message_id}")
        events = (await _get(http, f"/api/v1/messages/{message_id}/events"))["events"]
        delivered = await _get(http, f"/api/v1/messages/{ok_id}")
        listed = (await _get(http, "/api/v1/messages"))["messages"]
    callbacks = [r.json() for r in await receiver.wait_count(4)]
    mine = [
        (c["status"], c["carrier_error"]) for c in callbacks if c["message"]["id"] == message_id
    ]
    assert mine == [("submitted", None), ("undelivered", "absent_subscriber")]
    assert message["carrier_error"] == "absent_subscriber"  # the simulator's raw code
    assert message["callback_error"] is None
    assert [(e["status"], e["carrier_error"]) for e in events] == [
        ("submitted", None),
        ("undelivered", "absent_subscriber"),
    ]
    assert delivered["carrier_error"] is None
    assert all("carrier_error" not in m for m in listed)  # only on the one-message read
    [line] = [r for r in caplog.records if r.name == "smsgate.reports"]
    assert line.levelno == logging.INFO
    assert line.__dict__["message_id"] == message_id
    assert line.__dict__["carrier_error"] == "absent_subscriber"
    assert message_id in line.getMessage() and "absent_subscriber" in line.getMessage()


async def test_a_failing_callback_is_logged_and_shown(
    gateway: Gateway, receiver: Receiver, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    receiver.respond = lambda req, n: (500, b"down")
    await gateway.provision(account())
    url = f"{receiver.url}/hooks/acme?token={CALLBACK_SECRET}"
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        message_id = await _send(http, "+79651234567", callback_url=url)
        await receiver.wait_count(4)  # both statuses' callbacks, each tried at least twice
        message = await _get(http, f"/api/v1/messages/{message_id}")
        events = (await _get(http, f"/api/v1/messages/{message_id}/events"))["events"]
    assert message["callback_error"] == "HTTP 500"
    callbacks = [c for e in events for c in e["callbacks"]]
    assert callbacks and all(c["dialect"] == "native" for c in callbacks)
    assert "HTTP 500" in {c["last_error"] for c in callbacks if c["attempts"]}
    assert any(c["state"] == "pending" and c["attempts"] >= 1 for c in callbacks)

    failed = [r for r in caplog.records if r.name == "smsgate.notifier"]
    attempts = sorted({r.__dict__["attempt"] for r in failed})
    assert attempts[:2] == [1, 2]
    host = receiver.url.removeprefix("http://")
    assert all(r.__dict__["host"] == host and r.__dict__["error"] == "HTTP 500" for r in failed)
    assert f"callback attempt 1 to {host} failed: HTTP 500" in failed[0].getMessage()
    for record in caplog.records:
        assert CALLBACK_SECRET not in record.getMessage() and "/hooks/" not in record.getMessage()
        assert CALLBACK_SECRET not in str(record.__dict__)

    shown = await asyncio.to_thread(
        cli, gateway.config.database, "status", message_id, "--account", "acme"
    )
    assert "callback native: pending after" in shown
    assert "last error: HTTP 500" in shown
    assert CALLBACK_SECRET not in shown


async def test_status_shows_the_carriers_raw_code(failing: Gateway) -> None:
    await failing.provision(account())
    async with aiohttp.ClientSession(base_url=failing.url) as http:
        message_id = await _send(http, f"+{FAILING}4321")

        async def undelivered() -> bool:
            return (await _get(http, f"/api/v1/messages/{message_id}"))["status"] == "undelivered"

        await failing.wait_for(undelivered)
    shown = await asyncio.to_thread(
        cli, failing.config.database, "status", message_id, "--account", "acme"
    )
    [line] = [x for x in shown.splitlines() if x.startswith("  ") and "\tundelivered\t" in x]
    assert line.endswith("\tcarrier code absent_subscriber")
