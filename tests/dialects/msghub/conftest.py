"""MsgHub test helpers: Basic auth for the `account()` helper's users, the seed's requests."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from smsgate.core.models import Message
from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway, account, start_gateway, test_config

BASE = "/msghub/api"


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password or user + '-pw'}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = basic("acme")


def url(path: str, client_id: str = "acme") -> str:
    return f"{BASE}/{client_id}{path}"


async def post(
    http: aiohttp.ClientSession, path: str, body: Any, *, client_id: str = "acme", **kw: Any
) -> tuple[int, Any]:
    headers = kw.pop("headers", AUTH)
    async with http.post(url(path, client_id), json=body, headers=headers, **kw) as r:
        return r.status, await r.json(content_type=None)


async def get(
    http: aiohttp.ClientSession, path: str, *, client_id: str = "acme", **kw: Any
) -> tuple[int, Any]:
    headers = kw.pop("headers", AUTH)
    async with http.get(url(path, client_id), headers=headers, **kw) as r:
        return r.status, await r.json(content_type=None)


@pytest.fixture
async def acme(gateway: Gateway) -> int:
    (account_id,) = await gateway.provision(account("acme"))
    return account_id


def simple_body(**changes: Any) -> dict[str, Any]:
    """The seed's single-message request (section 1.2), with changes."""
    body: dict[str, Any] = {
        "phone_number": 79651111111,
        "extra_id": "AD-6640-7006",
        "callback_url": "https://send-dr-here.com",
        "start_time": "2020-12-12 10:10:10+03:00",
        "tag": "Campaign name",
        "channels": ["sms"],
        "channel_options": {"sms": {"text": "Text for SMS", "alpha_name": "Test", "ttl": 300}},
    }
    body.update(changes)
    return body


def sms(**changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"text": "Text for SMS", "alpha_name": "Test", "ttl": 300}
    options.update(changes)
    return {k: v for k, v in options.items() if v is not None}


def assert_like(actual: Any, expected: Any, path: str = "$") -> None:
    """Same keys, same JSON types, same values: except ids and times, which are ours."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert set(actual) == set(expected), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_like(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for n, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_like(a, e, f"{path}[{n}]")
    elif path.rsplit(".", 1)[-1] in IGNORED:
        assert type(actual) is type(expected), f"{path}: {actual!r} vs {expected!r}"
    else:
        assert type(actual) is type(expected) and actual == expected, (
            f"{path}: {actual!r} != {expected!r}"
        )


IGNORED = {"message_id", "job_id", "time"}


def with_msg_status(report: Any) -> Any:
    """A seed report as MTS-Belarus clients also read it (issue 19): every entry with a
    `msghub_status` carries it again as `msg_status`, and a failed campaign entry (which has
    `error_code` instead) carries its error code there."""
    if isinstance(report, list):
        return [with_msg_status(r) for r in report]
    if not isinstance(report, dict):
        return report
    out = {k: with_msg_status(v) for k, v in report.items()}
    for source in ("msghub_status", "error_code"):
        if source in out:
            out["msg_status"] = out[source]
            break
    return out


@pytest.fixture
async def make_gateway(database_url: str) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """A gateway with its own configuration (simulator outcomes, body limit)."""
    started: list[Gateway] = []

    async def make(**overrides: Any) -> Gateway:
        gw = await start_gateway(test_config(database_url, **overrides))
        started.append(gw)
        return gw

    yield make
    for gw in started:
        await gw.stop()


async def messages_of(gateway: Gateway, account_id: int) -> list[Message]:
    return await gateway.store.list_messages(account_id, MessageFilter(), limit=100_000)
