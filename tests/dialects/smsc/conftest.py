"""Fixtures for the SMSC.ru dialect: a gateway whose simulator fails and refuses some prefixes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from smsgate.connectors.simulator import SimulatorConfig
from tests.support.servers import Gateway, account, start_gateway, test_config

FAIL_PREFIX = "7999"  # the simulator reports these undelivered (unknown subscriber)
REJECT_PREFIX = "7998"  # the simulator refuses these at submission


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    simulator = SimulatorConfig(
        dr_delay=0.01,
        fail_prefixes=[FAIL_PREFIX],
        reject_prefixes=[REJECT_PREFIX],
        failure_codes=["unknown_subscriber"],
    )
    gw = await start_gateway(test_config(database_url, simulator=simulator))
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def acme(gateway: Gateway) -> int:
    # A test range for the made-up 15-digit number of the length limit's test.
    settings = {"test_numbers": ["+1234567890"]}
    (account_id,) = await gateway.provision(
        account("acme", timezone="Europe/Moscow", settings=settings)
    )
    return account_id


AUTH = {"login": "acme", "psw": "acme-pw"}


async def call(
    http: aiohttp.ClientSession, path: str, method: str = "GET", **params: Any
) -> tuple[int, bytes, str]:
    """One request; GET puts params in the query string, POST in a form body."""
    fields = {k: str(v) for k, v in params.items()}
    if method == "GET":
        r = await http.get(path, params=fields)
    else:
        r = await http.post(path, data=fields)
    return r.status, await r.read(), r.headers.get("Content-Type", "")
