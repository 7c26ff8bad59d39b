from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import aiohttp

from smsgate.core.status import Status
from tests.support.servers import Gateway, Receiver, account

AUTH = {"Authorization": "Bearer acme-token"}


async def test_send_is_delivered_and_pushed_signed(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(
        account(
            callback_urls={"native": receiver.url + "/dr"}, settings={"callback_secret": "s3cret"}
        )
    )
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+7 965 111-11-11", "text": "hello", "from": "ACME"},
        headers=AUTH,
    )
    assert r.status == 201, await r.text()
    sent = await r.json()
    assert sent["to"] == "+79651111111" and sent["segments"] == 1 and sent["price"] == "0.5000"
    calls = await receiver.wait_count(2)
    assert [c.json()["status"] for c in calls] == ["submitted", "delivered"]
    for c in calls:
        assert c.json()["message"]["id"] == sent["id"]
        # the receiver's check, written from docs/native.md: HMAC-SHA256 of "<timestamp>.<body>"
        ts = c.headers["X-Smsgate-Timestamp"]
        expected = hmac.new(b"s3cret", ts.encode() + b"." + c.body, hashlib.sha256).hexdigest()
        assert c.headers["X-Smsgate-Signature"] == "v1=" + expected
        assert c.headers["X-Smsgate-Event-Id"] == c.json()["event_id"]
    events = await (await http.get(f"/api/v1/messages/{sent['id']}/events", headers=AUTH)).json()
    assert [e["status"] for e in events["events"]] == ["submitted", "delivered"]


async def test_final_only_callbacks_skip_submitted(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    """`callback_events: "final"` (docs/native.md): one POST per message, its final status."""
    await gateway.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    one = {"to": "+79651111111", "text": "hi", "callback_events": "final"}
    r = await http.post("/api/v1/messages", json=one, headers=AUTH)
    assert r.status == 201, await r.text()
    bulk = {"recipients": [{"to": "+79652222222"}], "text": "hi", "callback_events": "final"}
    r = await http.post("/api/v1/messages/bulk", json=bulk, headers=AUTH)
    assert r.status == 202, await r.text()
    both = {"to": "+79653333333", "text": "hi"}  # the default: submitted too
    assert (await http.post("/api/v1/messages", json=both, headers=AUTH)).status == 201
    calls = await receiver.wait_count(4)
    await asyncio.sleep(0.3)  # nothing more comes
    seen = sorted((c.json()["message"]["to"], c.json()["status"]) for c in receiver.requests)
    assert seen == [
        ("+79651111111", "delivered"),
        ("+79652222222", "delivered"),
        ("+79653333333", "delivered"),
        ("+79653333333", "submitted"),
    ]
    assert len(calls) == 4
    bad = {"to": "+79651111111", "text": "hi", "callback_events": "some"}
    assert (await http.post("/api/v1/messages", json=bad, headers=AUTH)).status == 400


async def test_idempotent_under_concurrency(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    body = {"to": "+79651111111", "text": "once", "client_ref": "order-42"}
    responses = await asyncio.gather(
        *(http.post("/api/v1/messages", json=body, headers=AUTH) for _ in range(50))
    )
    ids = {(await r.json())["id"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.status for r in responses) == [200] * 49 + [201]
    await asyncio.sleep(0.2)
    balance = await (await http.get("/api/v1/balance", headers=AUTH)).json()
    assert balance["balance"] == "999.5000"  # charged once


async def test_cancel_scheduled_refunds(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    sent = await (
        await http.post(
            "/api/v1/messages",
            json={"to": "+79651111111", "text": "later", "schedule_at": time.time() + 3600},
            headers=AUTH,
        )
    ).json()
    assert sent["status"] == "scheduled"
    assert (await (await http.get("/api/v1/balance", headers=AUTH)).json())["balance"] == "999.5000"
    r = await http.delete(f"/api/v1/messages/{sent['id']}", headers=AUTH)
    assert r.status == 200 and (await r.json())["status"] == "cancelled"
    assert (await (await http.get("/api/v1/balance", headers=AUTH)).json())[
        "balance"
    ] == "1000.0000"
    again = await http.delete(f"/api/v1/messages/{sent['id']}", headers=AUTH)
    assert again.status == 409 and (await again.json())["error"]["code"] == "not_cancellable"


async def test_delivered_message_cannot_be_cancelled(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account())
    sent = await (
        await http.post(
            "/api/v1/messages", json={"to": "+79651111111", "text": "now"}, headers=AUTH
        )
    ).json()

    async def delivered() -> bool:
        got = await (await http.get(f"/api/v1/messages/{sent['id']}", headers=AUTH)).json()
        return got["status"] == "delivered"  # type: ignore[no-any-return]

    await gateway.wait_for(delivered)
    r = await http.delete(f"/api/v1/messages/{sent['id']}", headers=AUTH)
    assert r.status == 409


async def test_list_pagination_and_filters(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    recipients = [{"to": f"+7965111{i:04d}"} for i in range(25)]
    job = await (
        await http.post(
            "/api/v1/messages/bulk", json={"text": "hi", "recipients": recipients}, headers=AUTH
        )
    ).json()
    seen: list[str] = []
    cursor = ""
    while True:
        page = await (
            await http.get(
                f"/api/v1/messages?limit=10&job_id={job['job_id']}&cursor={cursor}", headers=AUTH
            )
        ).json()
        seen += [m["id"] for m in page["messages"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == job["message_ids"]
    one = await (await http.get("/api/v1/messages?to=%2B79651110003", headers=AUTH)).json()
    assert [m["to"] for m in one["messages"]] == ["+79651110003"]
    counts = await (await http.get(f"/api/v1/jobs/{job['job_id']}", headers=AUTH)).json()
    assert counts["total"] == 25 and sum(counts["by_status"].values()) == 25


async def test_callbacks_survive_a_failing_receiver(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account(callback_urls={"native": receiver.url + "/dr"}))
    receiver.respond = lambda req, n: (500, b"down") if n <= 6 else (200, b"OK")
    ids = []
    for i in range(3):
        sent = await (
            await http.post(
                "/api/v1/messages", json={"to": f"+7965111111{i}", "text": "x"}, headers=AUTH
            )
        ).json()
        ids.append(sent["id"])
    await receiver.wait_count(12, timeout=20)

    async def all_done() -> bool:
        return not await gateway.store.outbox_items(state="pending")

    await gateway.wait_for(all_done, timeout=20)
    ok = [
        r.json() for r in receiver.requests[6:] if r.json()["status"] in ("submitted", "delivered")
    ]
    delivered_events = {(c["message"]["id"], c["status"]) for c in ok}
    assert delivered_events == {(i, s) for i in ids for s in ("submitted", "delivered")}
    assert not await gateway.store.outbox_items(state="dead")


async def test_incoming_sms_is_stored_and_pushed(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account(callback_urls={"native": receiver.url + "/in"}))
    r = await http.post(
        "/simulator/incoming",
        json={"from": "+79651111111", "to": "ACME", "text": "STOP"},
        headers=AUTH,
    )
    assert r.status == 202
    call = (await receiver.wait_count(1))[0].json()
    assert (
        call["type"] == "incoming"
        and call["incoming"]["text"] == "STOP"
        and call["incoming"]["from"] == "+79651111111"
    )
    listed = await (await http.get("/api/v1/incoming", headers=AUTH)).json()
    assert [m["text"] for m in listed["messages"]] == ["STOP"]


async def test_openapi_and_docs(http: aiohttp.ClientSession) -> None:
    spec = await (await http.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/messages", "/api/v1/messages/bulk", "/api/v1/balance"} <= set(spec["paths"])
    assert "SendRequest" in spec["components"]["schemas"]
    page = await http.get("/docs")
    assert page.status == 200 and "openapi.json" in await page.text()


async def test_health_and_metrics(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/readyz")).status == 200
    await http.post("/api/v1/messages", json={"to": "+79651111111", "text": "m"}, headers=AUTH)
    text = await (await http.get("/metrics")).text()
    assert 'smsgate_accepted_total{dialect="native"}' in text
    assert "smsgate_request_seconds" in text or "smsgate_outbox_depth" in text


async def test_final_status_reached(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account())
    sent = await (
        await http.post("/api/v1/messages", json={"to": "+79651111111", "text": "x"}, headers=AUTH)
    ).json()

    async def final() -> bool:
        m = await gateway.store.get_message(
            (await gateway.store.account_by_name("acme")).id, sent["id"]
        )  # type: ignore[union-attr]
        return m is not None and m.status is Status.DELIVERED

    await gateway.wait_for(final)
