"""Shared fixtures: a running smsgate on a temporary database and a callback receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import uvloop

from tests.support.servers import Gateway, Receiver, start_gateway, start_receiver, test_config


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """uvloop, as `smsgate serve` runs: asyncio's own loop stalls keep-alive answers ~40 ms here."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/smsgate.db"


@pytest.fixture
async def gateway(database_url: str) -> AsyncIterator[Gateway]:
    gw = await start_gateway(test_config(database_url))
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=gateway.url) as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = await start_receiver()
    try:
        yield rec
    finally:
        assert rec.runner is not None
        await rec.runner.cleanup()
