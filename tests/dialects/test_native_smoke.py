from __future__ import annotations

import aiohttp

from tests.support.servers import Gateway, Receiver, account

AUTH = {"Authorization": "Bearer acme-token"}


async def test_send_is_delivered_and_pushed(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+7 965 111-11-11", "text": "hello", "from": "ACME"},
        headers=AUTH,
    )
    assert r.status == 201, await r.text()
    sent = await r.json()
    assert sent["to"] == "+79651111111" and sent["segments"] == 1
    calls = await receiver.wait_count(2)
    statuses = [c.json()["status"] for c in calls]
    assert statuses == ["submitted", "delivered"]
    assert all(c.json()["message"]["id"] == sent["id"] for c in calls)
