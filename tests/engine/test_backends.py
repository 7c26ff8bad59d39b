"""The engine end to end on each backend: accept, dispatch, receipts, callbacks, cancel, MO."""

from __future__ import annotations

import time

import aiohttp

from smsgate.core.status import Status
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

AUTH = {"Authorization": "Bearer acme-token"}


@both_backends
async def test_send_is_delivered_and_pushed(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+7 965 111-11-11", "text": "hello", "from": "ACME", "client_ref": "c1"},
        headers=AUTH,
    )
    assert r.status == 201, await r.text()
    sent = await r.json()
    calls = await receiver.wait_count(2)
    # in the order of the events, even when both are claimed together (docs/native.md)
    assert [c.json()["status"] for c in calls] == ["submitted", "delivered"]
    assert len({c.headers["X-Smsgate-Event-Id"] for c in calls}) == 2
    again = await http.post(
        "/api/v1/messages",
        json={"to": "+79651111111", "text": "hello", "from": "ACME", "client_ref": "c1"},
        headers=AUTH,
    )
    assert again.status == 200 and (await again.json())["id"] == sent["id"]
    events = await (await http.get(f"/api/v1/messages/{sent['id']}/events", headers=AUTH)).json()
    assert [e["status"] for e in events["events"]] == ["submitted", "delivered"]


@both_backends
async def test_bulk_is_dispatched_exactly_once(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    [account_id] = await gateway.provision(account(balance="100000"))
    body = {
        "from": "ACME",
        "text": "bulk",
        "recipients": [{"to": f"+7965{i:07d}", "client_ref": f"b{i}"} for i in range(2000)],
    }
    r = await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)
    assert r.status == 202, await r.text()
    first = await r.json()
    assert first["accepted"] == 2000
    repeat = await (await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)).json()
    assert repeat["duplicates"] == 2000 and repeat["message_ids"] == first["message_ids"]

    async def all_delivered() -> bool:
        job = await gateway.store.get_job(account_id, first["job_id"])
        return job is not None and job.by_status == {"delivered": 2000}

    await gateway.wait_for(all_delivered, timeout=60)
    log = await gateway.store.connector_log_find("simulator", first["message_ids"])
    assert sorted(e.message_id for e in log) == sorted(first["message_ids"])


@both_backends
async def test_cancel_a_scheduled_message(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    [account_id] = await gateway.provision(account(balance="10"))
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+79651111111", "text": "later", "schedule_at": time.time() + 3600},
        headers=AUTH,
    )
    sent = await r.json()
    assert sent["status"] == "scheduled"
    assert (await gateway.store.get_account(account_id)).balance == 9_500_000  # type: ignore[union-attr]
    r = await http.delete(f"/api/v1/messages/{sent['id']}", headers=AUTH)
    assert r.status == 200 and (await r.json())["status"] == "cancelled"
    assert (await gateway.store.get_account(account_id)).balance == 10_000_000  # type: ignore[union-attr]
    r = await http.delete(f"/api/v1/messages/{sent['id']}", headers=AUTH)
    assert r.status == 409


@both_backends
async def test_schedule_comes_due(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    [account_id] = await gateway.provision(account())
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+79651111111", "text": "soon", "schedule_at": time.time() + 1.0},
        headers=AUTH,
    )
    sent = await r.json()

    async def delivered() -> bool:
        m = await gateway.store.get_message(account_id, sent["id"])
        return m is not None and m.status is Status.DELIVERED

    await gateway.wait_for(delivered, timeout=10)


@both_backends
async def test_incoming_sms_is_stored_and_pushed(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account(callback_urls={"native": receiver.url + "/cb"}))
    r = await http.post(
        "/simulator/incoming",
        json={"from": "+79650000001", "to": "ACME", "text": "STOP"},
        headers=AUTH,
    )
    assert r.status == 202, await r.text()
    [call] = await receiver.wait_count(1)
    assert call.json()["type"] == "incoming" and call.json()["incoming"]["text"] == "STOP"
    listed = await (await http.get("/api/v1/incoming", headers=AUTH)).json()
    assert [m["text"] for m in listed["messages"]] == ["STOP"]


@both_backends
async def test_a_lost_store_is_503(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    await gateway.store.close()
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+79651111111", "text": "x", "client_ref": "z"},
        headers=AUTH,
    )
    assert r.status == 503
    assert (await r.json())["error"]["code"] == "unavailable"
