"""mysmpp fixtures: a gateway with a 1 MiB body limit (so the limit is cheap to test), accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from smsgate.provision import CredentialSpec
from tests.support.servers import Gateway, account, start_gateway, test_config

MAX_BODY = 1024 * 1024
JSON_CT = {"Content-Type": "text/json; charset=utf-8;"}  # the seed's header, stray ';' and all
XML_CT = {"Content-Type": "text/xml; charset=utf-8;"}


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    """SQLite unless a test asks for both backends (`@both_backends`)."""
    gw = await start_gateway(test_config(database_url, max_body=MAX_BODY))
    try:
        yield gw
    finally:
        await gw.stop()


def creds(name: str) -> list[CredentialSpec]:
    """login `name` / password `name-pw`, and token `name-token`, for mysmpp."""
    return [
        CredentialSpec(dialect="mysmpp", kind="login", identifier=name, secret=f"{name}-pw"),
        CredentialSpec(dialect="mysmpp", kind="token", secret=f"{name}-token"),
    ]


Provision = Callable[..., Awaitable[int]]

# Made-up numbers the limit tests send (13 and 15 digits under +7, which no Russian or Kazakh
# number has): test ranges, past the existence check (docs/configuration.md).
TEST_NUMBERS = ["+71", "+7965000000"]


@pytest.fixture
def provision(gateway: Gateway) -> Provision:
    async def make(name: str = "acme", **fields: Any) -> int:
        fields.setdefault("credentials", creds(name))
        fields["settings"] = {"test_numbers": TEST_NUMBERS, **(fields.get("settings") or {})}
        (account_id,) = await gateway.provision(account(name, **fields))
        return account_id

    return make


async def post_json(
    http: aiohttp.ClientSession, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    import msgspec

    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    async with http.post(path, data=data, headers=headers or JSON_CT) as r:
        raw = await r.read()
        return r.status, msgspec.json.decode(raw)


async def post_xml(
    http: aiohttp.ClientSession, path: str, body: str | bytes
) -> tuple[int, str, str]:
    data = body.encode() if isinstance(body, str) else body
    async with http.post(path, data=data, headers=XML_CT) as r:
        return r.status, r.headers.get("Content-Type", ""), (await r.read()).decode()
