"""Callback targets (SSRF): refused at accept time in each dialect's error, checked again at
connect time against the resolved addresses, redirects never followed.

No test sends traffic to a non-loopback address: the refused ones are refused before any
connection (an error answered at once, nothing stored or nothing connected).
"""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from smsgate.config import CallbacksConfig
from smsgate.core.urls import parse_networks
from smsgate.net.http_client import HttpClient, RefusedTarget
from smsgate.provision import Document, apply
from smsgate.store.base import MessageFilter
from tests.support import servers
from tests.support.servers import (
    Gateway,
    Receiver,
    account,
    free_port,
    start_gateway,
    start_receiver,
)

AUTH = {"Authorization": "Bearer acme-token"}
REFUSED = [
    "http://127.0.0.1:5432/x",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/",
    "http://[::1]/",
]


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway with the default policy: no network opened to callbacks."""
    config = servers.test_config(f"sqlite:///{tmp_path}/strict.db", callbacks=CallbacksConfig())
    gw = await start_gateway(config)
    try:
        yield gw
    finally:
        await gw.stop()


async def _stored(gateway: Gateway) -> int:
    acme = await gateway.store.account_by_name("acme")
    assert acme is not None
    return len(await gateway.store.list_messages(acme.id, MessageFilter(), limit=100))


@pytest.mark.parametrize("url", REFUSED)
async def test_native_send_to_an_inside_address_is_refused(strict: Gateway, url: str) -> None:
    await strict.provision(account("acme"))
    body = {"to": "+79651111111", "text": "hi", "callback_url": url}
    async with aiohttp.ClientSession(base_url=strict.url) as http:
        r = await http.post("/api/v1/messages", json=body, headers=AUTH)
        answer = await r.json()
        assert r.status == 400, answer  # docs/native.md: invalid_field is a 400
        assert answer["error"]["code"] == "invalid_field", answer
        assert answer["error"]["field"] == "callback_url", answer
        assert "callbacks.allow_networks" in answer["error"]["message"]
        bulk = {"text": "hi", "recipients": [{"to": "+79651111111"}], "callback_url": url}
        r = await http.post("/api/v1/messages/bulk", json=bulk, headers=AUTH)
        assert (r.status, (await r.json())["error"]["code"]) == (400, "invalid_field")
    assert await _stored(strict) == 0


async def test_msghub_send_to_an_inside_address_is_refused_in_its_format(
    strict: Gateway,
) -> None:
    """MsgHub takes a per-message callback_url too: its refusal is MsgHub's 10006 (the seed's
    "Invalid parameter value")."""
    await strict.provision(account("acme"))
    body = {
        "phone_number": 79651111111,
        "extra_id": "AD-6640-7006",
        "callback_url": "http://169.254.169.254/latest/meta-data",
        "tag": "Campaign name",
        "channels": ["sms"],
        "channel_options": {"sms": {"text": "hello", "alpha_name": "ACME", "ttl": 300}},
    }
    basic = base64.b64encode(b"acme:acme-pw").decode()
    async with (
        aiohttp.ClientSession(base_url=strict.url) as http,
        http.post(
            "/msghub/api/acme/json2/simple",
            json=body,
            headers={"Authorization": f"Basic {basic}"},
        ) as r,
    ):
        answer = await r.json(content_type=None)
    assert (r.status, answer) == (
        400,
        {"error_code": 10006, "error_text": "Invalid parameter value: callback_url"},
    )
    assert await _stored(strict) == 0


async def test_account_callback_urls_are_checked_when_provisioned(strict: Gateway) -> None:
    spec = account("acme", callback_urls={"native": "http://10.1.2.3/dr"})
    with pytest.raises(Exception, match=re.escape("10.1.2.3 is a private address")):
        await strict.provision(spec)
    assert await strict.store.account_by_name("acme") is None
    # An operator who opens the network may set it.
    allowed = parse_networks(["10.0.0.0/8"])
    await apply(strict.store, Document(accounts=[spec]), allowed_networks=allowed)
    stored = await strict.store.account_by_name("acme")
    assert stored is not None and stored.callback_urls == {"native": "http://10.1.2.3/dr"}


async def test_an_allowed_network_takes_callbacks(gateway: Gateway, receiver: Receiver) -> None:
    """The suite's own configuration opens loopback (tests/support/servers.py)."""
    await gateway.provision(account("acme"))
    body = {"to": "+79651111111", "text": "hi", "callback_url": receiver.url + "/dr"}
    async with aiohttp.ClientSession(base_url=gateway.url) as http:
        r = await http.post("/api/v1/messages", json=body, headers=AUTH)
        assert r.status == 201, await r.text()
    await receiver.wait_count(2)  # submitted, delivered


def _last_errors(database: Path) -> list[tuple[int, str | None]]:
    with sqlite3.connect(database) as db:
        return list(db.execute("SELECT attempts, last_error FROM outbox ORDER BY id"))


async def test_a_name_resolving_inside_is_refused_at_connect_time(
    strict: Gateway, receiver: Receiver, tmp_path: Path
) -> None:
    """`localhost` resolves to 127.0.0.1, where the receiver listens: the callback is never
    made, and the attempt is recorded as failed with the reason. (The URL was set past the
    accept-time check, as by an operator who narrowed the policy since.)"""
    [acme] = await strict.provision(account("acme"))
    port = receiver.url.rsplit(":", 1)[1]
    await strict.store.update_account(acme, callback_urls={"native": f"http://localhost:{port}/dr"})
    async with aiohttp.ClientSession(base_url=strict.url) as http:
        r = await http.post(
            "/api/v1/messages", json={"to": "+79651111111", "text": "hi"}, headers=AUTH
        )
        assert r.status == 201, await r.text()
    database = tmp_path / "strict.db"
    deadline = time.monotonic() + 10
    while not any(attempts for attempts, _ in _last_errors(database)):
        assert time.monotonic() < deadline, _last_errors(database)
        await asyncio.sleep(0.05)
    errors = [error for attempts, error in _last_errors(database) if attempts]
    assert errors and all(
        "localhost resolves to 127.0.0.1, which is a loopback address" in (e or "") for e in errors
    ), errors
    await asyncio.sleep(0.3)
    assert receiver.requests == []


async def test_the_client_checks_resolved_addresses_and_keeps_the_name() -> None:
    receiver = await start_receiver()
    port = receiver.url.rsplit(":", 1)[1]
    try:
        strict = HttpClient()
        with pytest.raises(RefusedTarget, match=re.escape("localhost resolves to 127.0.0.1")):
            await strict.request("POST", f"http://localhost:{port}/a", {}, b"x")
        with pytest.raises(RefusedTarget, match=re.escape("127.0.0.1 is a loopback address")):
            await strict.request("POST", f"http://127.0.0.1:{port}/a", {}, b"x")
        assert receiver.requests == []  # refused before any connection
        await strict.close()
        opened = HttpClient(allowed=parse_networks(["127.0.0.0/8"]))
        assert (await opened.request("POST", f"http://localhost:{port}/b", {}, b"x"))[0] == 200
        await opened.close()
        [seen] = receiver.requests
        assert seen.headers["Host"] == f"localhost:{port}"  # connected by address, named
    finally:
        assert receiver.runner is not None
        await receiver.runner.cleanup()


async def test_redirects_are_not_followed(gateway: Gateway) -> None:
    """A callback answered with a redirect is a failed attempt: its Location is never called
    (it could point anywhere, inside the network included)."""
    elsewhere = await start_receiver()
    asked: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(status=302, headers={"Location": elsewhere.url + "/stolen"})

    app = web.Application()
    app.router.add_post("/dr", redirect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await gateway.provision(account("acme"))
        body = {
            "to": "+79651111111",
            "text": "hi",
            "callback_url": f"http://127.0.0.1:{port}/dr",
            "callback_events": "final",
        }
        async with aiohttp.ClientSession(base_url=gateway.url) as http:
            r = await http.post("/api/v1/messages", json=body, headers=AUTH)
            assert r.status == 201, await r.text()
        deadline = time.monotonic() + 10
        while len(asked) < 3:  # retried: a redirect is no answer
            assert time.monotonic() < deadline, asked
            await asyncio.sleep(0.02)
        assert elsewhere.requests == []
    finally:
        await runner.cleanup()
        assert elsewhere.runner is not None
        await elsewhere.runner.cleanup()
