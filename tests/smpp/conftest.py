"""Fixtures for the SMPP server and client: a gateway with its SMPP port open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from smsgate.dialects.smpp.server import SmppServerConfig
from tests.support.servers import Gateway, free_port, start_gateway, test_config


def smpp_config(database_url: str, **overrides: Any) -> Any:
    base = test_config(database_url)
    server = SmppServerConfig(
        port=free_port(), receipt_retry=0.2, response_timeout=2.0, enquire_link=30.0
    )
    smpp_over = overrides.pop("smpp", {})
    return msgspec.structs.replace(
        base, smpp=msgspec.structs.replace(server, **smpp_over), **overrides
    )


@pytest.fixture
async def smsc(database_url: str) -> AsyncIterator[Gateway]:
    """smsgate with its SMPP server on a free port (the simulator as its carrier)."""
    gw = await start_gateway(smpp_config(database_url))
    try:
        yield gw
    finally:
        await gw.stop()


def smpp_port(gw: Gateway) -> int:
    server = gw.engine.smpp_server
    assert server is not None
    return server.port
