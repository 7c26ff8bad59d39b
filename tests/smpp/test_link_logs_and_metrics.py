"""SMPP binds and throttles, on both sides (smsgate's client to a carrier, and clients bound to
smsgate's server): each bind up or down and each throttle is logged, and /metrics shows the
binds, the window and the throttles."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import aiohttp
import pytest

from smsgate.connectors.smpp import SmppClientConfig, SmppConnector
from tests.smpp.conftest import smpp_port
from tests.support import servers
from tests.support.servers import Gateway, account, start_gateway


def _sample(text: str, metric: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{metric}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return None


def _lines(caplog: pytest.LogCaptureFixture, logger: str, contains: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == logger and contains in r.getMessage()
    ]


async def test_binds_and_throttles_are_logged_and_measured(
    smsc: Gateway, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO)
    await smsc.provision(account("acme", settings={"smpp": {"tps": 5}}))
    client = SmppClientConfig(
        port=smpp_port(smsc),
        system_id="acme",
        password="acme-pw",
        window=40,
        reconnect_min=0.05,
        response_timeout=2.0,
        throttle_backoff=0.05,
    )
    edge = await start_gateway(
        servers.test_config(f"sqlite:///{tmp_path}/edge.db", connector="smpp", smpp_client=client)
    )
    try:
        connector = edge.engine.connector
        assert isinstance(connector, SmppConnector) and await connector.wait_bound(10)
        await edge.provision(account("shop"))
        async with aiohttp.ClientSession(base_url=edge.url) as http:
            for n in range(15):  # three times what the carrier takes in a second
                r = await http.post(
                    "/api/v1/messages",
                    json={"to": "79001234567", "text": f"n{n}", "from": "ACME"},
                    headers={"Authorization": "Bearer shop-token"},
                )
                assert r.status == 201

            async def measured() -> bool:
                text = await (await http.get("/metrics")).text()
                return bool(
                    _sample(text, "smsgate_smpp_throttled_total", side="client", name="smpp")
                    and _sample(text, "smsgate_smpp_throttled_total", side="server", name="acme")
                    and _sample(text, "smsgate_smpp_binds", side="server", name="acme", mode="trx")
                )

            await edge.wait_for(measured, timeout=15)  # sampled every 2 s
            text = await (await http.get("/metrics")).text()
        assert _sample(text, "smsgate_smpp_binds", side="client", name="smpp", mode="trx") == 1
        assert _sample(text, "smsgate_smpp_binds", side="server", name="acme", mode="trx") == 1
        assert _sample(text, "smsgate_smpp_window_size", side="client", name="smpp") == 40
        server_window = smsc.config.smpp.bind_window
        assert _sample(text, "smsgate_smpp_window_size", side="server", name="acme") == (
            server_window
        )
        used = _sample(text, "smsgate_smpp_window_used", side="client", name="smpp")
        assert used is not None and 0 <= used <= 40

        assert _lines(caplog, "smsgate.connectors.smpp", "smpp: bound (trx) to 127.0.0.1")
        assert _lines(caplog, "smsgate.smpp.server", "account acme bound (trx) from")
        assert _lines(caplog, "smsgate.connectors.smpp", "throttled by 127.0.0.1")
        assert _lines(caplog, "smsgate.smpp.server", "account acme throttled:")
    finally:
        await edge.stop()

    async def unbound() -> bool:
        return bool(_lines(caplog, "smsgate.smpp.server", "account acme: bind (trx) from"))

    await smsc.wait_for(unbound)
    assert _lines(caplog, "smsgate.connectors.smpp", "smpp: unbinding (trx) from 127.0.0.1")
    assert "acme-pw" not in caplog.text

    async def zero() -> bool:
        async with aiohttp.ClientSession(base_url=smsc.url) as http:
            text = await (await http.get("/metrics")).text()
        return _sample(text, "smsgate_smpp_binds", side="server", name="acme", mode="trx") == 0

    await smsc.wait_for(zero, timeout=10)
