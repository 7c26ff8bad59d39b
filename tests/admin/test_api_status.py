"""The status view: SMPP links from the engine's metrics when this process has no link states,
throughput between two looks, the callback backlog per account."""

from __future__ import annotations

import asyncio

import aiohttp

from smsgate.engine import metrics
from tests.admin.support import login, make_admin, session
from tests.support.servers import Gateway, Receiver, account


async def test_links_throughput_and_backlog(gateway: Gateway, receiver: Receiver) -> None:
    receiver.respond = lambda req, n: (500, b"down")  # callbacks stay in the backlog
    [acme] = await gateway.provision(
        account("acme", callback_urls={"native": receiver.url + "/dr"})
    )
    # An SMPP carrier link as the engine samples it (the simulator has none of its own)
    metrics.SMPP_BINDS.labels("client", "carrier-x", "trx").set(2)
    metrics.SMPP_WINDOW_USED.labels("client", "carrier-x").set(3)
    metrics.SMPP_WINDOW_SIZE.labels("client", "carrier-x").set(20)
    metrics.SMPP_BINDS.labels("server", "idle-client", "tx").set(0)
    try:
        async with session(gateway.url) as http:
            alice = await login(http, "alice", await make_admin(gateway.store, "alice"))
            _, first = await alice.get("/status")
            links = {link["name"]: link for link in first["links"]}
            carrier = links["carrier-x"]
            assert (carrier["up"], carrier["binds"], carrier["window_used"]) == (
                True,
                {"trx": 2},
                3,
            )
            assert carrier["window_size"] == 20 and links["idle-client"]["up"] is False
            async with aiohttp.ClientSession(base_url=gateway.url) as client:
                for i in range(3):
                    async with client.post(
                        "/api/v1/messages",
                        json={"to": f"+7965111111{i}", "text": "hi"},
                        headers={"Authorization": "Bearer acme-token"},
                    ) as r:
                        assert r.status in (200, 201, 202), await r.text()
            await receiver.wait_count(1)
            await asyncio.sleep(0.6)  # the hot path's counts reach the metrics in 0.5 s
            _, second = await alice.get("/status")
            sent = second["throughput"]["simulator"]
            assert sent["sent_total"] >= 3 and sent["per_second"] > 0
            backlog = second["callback_backlog"]
            assert backlog[0]["account_id"] == acme and backlog[0]["account"] == "acme"
            assert backlog[0]["pending"] >= 1
    finally:
        metrics.SMPP_BINDS.labels("client", "carrier-x", "trx").set(0)
        metrics.SMPP_BINDS.labels("server", "idle-client", "tx").set(0)
        metrics.SMPP_WINDOW_USED.labels("client", "carrier-x").set(0)
        metrics.SMPP_WINDOW_SIZE.labels("client", "carrier-x").set(0)
