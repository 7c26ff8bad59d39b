"""SMSGW2 fixtures: a gateway whose simulator fails and rejects known prefixes, and accounts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from smsgate.connectors.simulator import SimulatorConfig
from tests.support.servers import Gateway, Receiver, account, start_gateway, test_config

BASE = "/app/smsgw/rest/v2"
FAILING = "7702"  # Kcell numbers 7702...: undelivered, absent subscriber
REJECTED = "7705"  # Beeline numbers 7705...: refused by the carrier at submit
ALMATY = ZoneInfo("Asia/Almaty")


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password or user + '-pw'}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


KZ = basic("kz")
OTHER = basic("other")


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    config = test_config(
        database_url,
        simulator=SimulatorConfig(
            dr_delay=0.01, fail_prefixes=[FAILING], reject_prefixes=[REJECTED]
        ),
    )
    gw = await start_gateway(config)
    try:
        yield gw
    finally:
        await gw.stop()


def kz_account(name: str = "kz", **fields: Any) -> Any:
    """An SMSGW2 customer: the seed's alias SMSGW, Almaty time, sending at any hour."""
    defaults: dict[str, Any] = {
        "senders": ["SMSGW", "ACME"],
        "timezone": "Asia/Almaty",
        "settings": {"smsgw2": {"default_time_bounds": "full"}},
    }
    defaults.update(fields)
    return account(name, **defaults)


@pytest.fixture
async def kz(gateway: Gateway) -> int:
    (account_id,) = await gateway.provision(kz_account())
    return account_id


@pytest.fixture
async def kz_cb(gateway: Gateway, receiver: Receiver) -> int:
    (account_id,) = await gateway.provision(
        kz_account(callback_urls={"smsgw2": receiver.url + "/client_custom_link"})
    )
    return account_id


async def send(
    http: aiohttp.ClientSession, body: dict[str, Any], headers: dict[str, str] = KZ
) -> tuple[int, Any]:
    r = await http.post(BASE + "/messages", json=body, headers=headers)
    return r.status, await r.json(content_type=None)


def message(client_id: str = "1", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_message_id": client_id,
        "sender": "SMSGW",
        "recipient": "77010000000",
        "message_text": "test",
    }
    body.update(fields)
    return body


def grid_slot(after: timedelta) -> datetime:
    """The first 15-minute slot at least `after` from now, in Almaty time."""
    t = datetime.now(ALMATY) + after
    t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t.minute % 15:
        t += timedelta(minutes=1)
    return t


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")
