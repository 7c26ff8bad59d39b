"""Every callback attempt is kept, on real sockets (both backends): a success, a 500 then a
success, a timeout, a closed port and a refused target, each with its URL's host only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import msgspec
import pytest

from smsgate.config import NotifierConfig
from smsgate.store.base import AttemptRecord
from tests.support import servers
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account, free_port, start_gateway

TIMEOUT = 0.3  # the notifier's per attempt, here
SECRETS = ("hook-secret", "sig-key")  # in the callback URL's path and query: never kept


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    notifier = NotifierConfig(poll=0.02, delay_scale=0.001, timeout=TIMEOUT)
    gw = await start_gateway(servers.test_config(database_url, notifier=notifier))
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def silent() -> AsyncIterator[str]:
    """A server that takes the request and never answers (the notifier times out)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


async def send(gateway: Gateway, callback_url: str | None) -> str:
    """A message of acme's asking for its final callback only: one callback per message."""
    body = {"to": "79651230001", "text": "hi", "callback_events": "final"}
    if callback_url:
        body["callback_url"] = callback_url
    headers = {"Authorization": "Bearer acme-token"}
    url = f"{gateway.url}/api/v1/messages"
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["id"])


async def attempts_until(
    gateway: Gateway, message_id: str, enough: Callable[[list[AttemptRecord]], bool]
) -> list[AttemptRecord]:
    found: list[AttemptRecord] = []

    async def check() -> bool:
        found[:] = await gateway.store.callback_attempts(message_id)
        return enough(found)

    await gateway.wait_for(check)
    return found


def no_secret(attempts: list[AttemptRecord]) -> None:
    kept = msgspec.json.encode(attempts).decode()
    assert not [s for s in SECRETS if s in kept], kept


@both_backends
async def test_a_success_and_a_500_then_success(gateway: Gateway, receiver: Receiver) -> None:
    [acme] = await gateway.provision(account("acme"))
    answers = iter([(200, b"OK"), (500, b"busy"), (200, b"OK")])
    receiver.respond = lambda req, n: next(answers)
    first = await send(gateway, f"{receiver.url}/cb/hook-secret?key=sig-key")
    [ok] = await attempts_until(gateway, first, lambda a: len(a) == 1)
    second = await send(gateway, f"{receiver.url}/cb/hook-secret?key=sig-key")
    failed, done = await attempts_until(gateway, second, lambda a: len(a) == 2)
    host = receiver.url.removeprefix("http://")
    assert (ok.attempt, ok.status, ok.error, ok.outcome, ok.host) == (1, 200, None, "done", host)
    assert (failed.attempt, failed.status, failed.outcome) == (1, 500, "retry")
    assert (done.attempt, done.status, done.outcome) == (2, 200, "done")
    assert failed.started_at < done.started_at and 0 <= failed.took_ms < 5000
    assert {a.dialect for a in (ok, failed, done)} == {"native"}
    no_secret([ok, failed, done])
    [state] = await gateway.store.callbacks_of(acme, second)
    assert (state.state, state.attempts) == ("done", 2)  # one kept per attempt counted


@both_backends
async def test_a_timeout_and_a_closed_port_are_kept_as_errors(
    gateway: Gateway, silent: str
) -> None:
    await gateway.provision(account("acme"))
    slow = await send(gateway, f"{silent}/cb/hook-secret?key=sig-key")
    closed = await send(gateway, f"http://127.0.0.1:{free_port()}/cb/hook-secret?key=sig-key")
    timed_out = await attempts_until(gateway, slow, lambda a: len(a) >= 2)
    refused = await attempts_until(gateway, closed, lambda a: len(a) >= 2)
    for a in timed_out:
        assert a.status is None and a.outcome == "retry"
        assert a.error is not None and a.error.startswith("TimeoutError")
        assert TIMEOUT * 1000 * 0.8 <= a.took_ms < TIMEOUT * 1000 * 5
    assert [a.attempt for a in timed_out[:2]] == [1, 2]
    for a in refused:
        assert a.status is None and a.outcome == "retry"
        assert a.error is not None and "ConnectionRefusedError" in a.error
    no_secret(timed_out + refused)


@both_backends
async def test_a_refused_target_is_kept_with_why(gateway: Gateway) -> None:
    """An account's URL stored before its address was refused (10/8 is private, and only
    loopback is opened here): every attempt is refused as it connects, and kept so."""
    [acme] = await gateway.provision(account("acme"))
    private = "http://10.255.0.1:8080/cb/hook-secret?key=sig-key"
    await gateway.store.update_account(acme, callback_urls={"native": private})
    message_id = await send(gateway, None)  # to the account's URL
    found = await attempts_until(gateway, message_id, lambda a: len(a) >= 1)
    first = found[0]
    assert (first.status, first.host, first.outcome) == (None, "10.255.0.1:8080", "retry")
    assert first.error is not None and first.error.startswith("RefusedTarget")
    assert "private" in first.error
    no_secret(found)
