"""smsgate's SMPP client against smsgate's SMPP server: two gateways, end to end."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from smsgate.connectors.smpp import SmppClientConfig, SmppConnector
from smsgate.core.status import Status
from tests.smpp.conftest import smpp_port
from tests.support import servers
from tests.support.servers import Gateway, Receiver, account, start_gateway


async def test_client_to_server(tmp_path: Path, smsc: Gateway, receiver: Receiver) -> None:
    [upstream_id] = await smsc.provision(account("acme"))
    client = SmppClientConfig(
        port=smpp_port(smsc),
        system_id="acme",
        password="acme-pw",
        sessions=2,
        reconnect_min=0.05,
        response_timeout=2.0,
    )
    config = servers.test_config(
        f"sqlite:///{tmp_path}/edge.db", connector="smpp", smpp_client=client
    )
    edge = await start_gateway(config)
    try:
        connector = edge.engine.connector
        assert isinstance(connector, SmppConnector) and await connector.wait_bound(10)
        await edge.provision(account("shop", callback_urls={"native": receiver.url + "/dr"}))
        texts = [
            "short one",
            "Длинное сообщение через два шлюза. " * 4,
            *(f"n{n}" for n in range(20)),
        ]
        ids = []
        async with aiohttp.ClientSession(base_url=edge.url) as http:
            for text in texts:
                r = await http.post(
                    "/api/v1/messages",
                    json={"to": "79001234567", "text": text, "from": "ACME"},
                    headers={"Authorization": "Bearer shop-token"},
                )
                assert r.status == 201, await r.text()
                ids.append((await r.json())["id"])

        def delivered() -> set[str]:
            return {
                req.json()["message"]["id"]
                for req in receiver.requests
                if req.json()["status"] == "delivered"
            }

        async def all_delivered() -> bool:
            return delivered() == set(ids)

        await edge.wait_for(all_delivered, timeout=20)
        # Upstream, each text is one message (the long one reassembled), all delivered.
        upstream = [
            await smsc.store.message_by_seq(upstream_id, seq) for seq in range(1, len(texts) + 1)
        ]
        assert sorted(m.text for m in upstream if m) == sorted(texts)
        assert all(m and m.status is Status.DELIVERED and m.dialect == "smpp" for m in upstream)
        # The edge keeps the upstream's id as the carrier id.
        shop = await edge.store.account_by_name("shop")
        assert shop is not None
        first = await edge.store.get_message(shop.id, ids[0])
        assert first is not None and first.carrier_id is not None and first.carrier_id.isdigit()
    finally:
        await edge.stop()
