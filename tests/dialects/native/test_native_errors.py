"""Every bad input gets a clear error in the native format, and nothing is stored half-way."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest

from smsgate.store.base import StoreUnavailable
from tests.support import servers
from tests.support.servers import Gateway, account

AUTH = {"Authorization": "Bearer acme-token"}


async def _error(r: aiohttp.ClientResponse, status: int, code: str) -> dict[str, str]:
    body = await r.json()
    assert r.status == status, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


async def _count(gateway: Gateway) -> int:
    acme = await gateway.store.account_by_name("acme")
    assert acme is not None
    return len(
        await gateway.store.list_messages(
            acme.id,
            __import__("smsgate.store.base", fromlist=["MessageFilter"]).MessageFilter(),
            limit=1000,
        )
    )


@pytest.fixture
async def acme(gateway: Gateway) -> None:
    await gateway.provision(account("acme"), account("poor", balance="0.4"))
    acme = await gateway.store.account_by_name("acme")
    assert acme is not None
    await gateway.store.stoplist_add(acme.id, ["79650000000"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"to": "+79651111111", "text": "hi"', 400, "malformed_body"),
        (b"", 400, "malformed_body"),
        (b"[1, 2]", 400, "invalid_field"),
        (b'{"to": "+79651111111"}', 400, "invalid_field"),  # missing text
        (b'{"to": "+79651111111", "text": 5}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": "hi", "priority": "high"}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": "hi", "unknown": 1}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": ""}', 422, "empty_text"),
        ('{"to": "+79651111111", "text": "' + "ж" * (67 * 10 + 1) + '"}', 422, "text_too_long"),
        (b'{"to": "call me", "text": "hi"}', 422, "invalid_phone"),
        (b'{"to": "+79651111111", "text": "hi", "from": "EVIL"}', 422, "sender_not_allowed"),
        (b'{"to": "+79650000000", "text": "hi"}', 422, "stop_listed"),
        (
            b'{"to": "+79651111111", "text": "hi", "schedule_at": "2020-01-01T00:00:00+00:00"}',
            422,
            "bad_schedule",
        ),
        (b'{"to": "+79651111111", "text": "hi", "schedule_at": 4102444800}', 422, "bad_schedule"),
        (b'{"to": "+79651111111", "text": "hi", "schedule_at": "tomorrow"}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": "hi", "priority": 10}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": "hi", "callback_url": "ftp://x"}', 400, "invalid_field"),
        (b'{"to": "+79651111111", "text": "hi", "ttl": 0}', 422, "bad_validity"),
    ],
)
async def test_bad_send(
    gateway: Gateway,
    http: aiohttp.ClientSession,
    acme: None,
    body: bytes | str,
    status: int,
    code: str,
) -> None:
    r = await http.post("/api/v1/messages", data=body, headers=AUTH)
    await _error(r, status, code)
    assert await _count(gateway) == 0


async def test_balance_too_low(gateway: Gateway, http: aiohttp.ClientSession, acme: None) -> None:
    r = await http.post(
        "/api/v1/messages",
        json={"to": "+79651111111", "text": "hi"},
        headers={"Authorization": "Bearer poor-token"},
    )
    await _error(r, 402, "insufficient_balance")
    r = await http.get("/api/v1/balance", headers={"Authorization": "Bearer poor-token"})
    assert (await r.json())["balance"] == "0.4000"


async def test_body_over_limit_is_413(
    gateway: Gateway, http: aiohttp.ClientSession, acme: None
) -> None:
    huge = b'{"to": "+79651111111", "text": "' + b"a" * (gateway.config.max_body + 10) + b'"}'
    r = await http.post("/api/v1/messages", data=huge, headers=AUTH)
    await _error(r, 413, "body_too_large")


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", "Basic YWNtZTphY21lLXB3", "Bearer ", "bearer"]
)
async def test_unauthorized(
    gateway: Gateway, http: aiohttp.ClientSession, acme: None, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = await http.post(
        "/api/v1/messages", json={"to": "+79651111111", "text": "hi"}, headers=headers
    )
    await _error(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


async def test_ip_allow_list(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("fenced", ip_allowlist=["10.0.0.0/8"]))
    r = await http.get("/api/v1/balance", headers={"Authorization": "Bearer fenced-token"})
    await _error(r, 403, "ip_not_allowed")
    await gateway.provision(account("fenced", ip_allowlist=["127.0.0.1"]))
    await gateway.wait_for(
        lambda: _status(http, "/api/v1/balance", {"Authorization": "Bearer fenced-token"}, 200)
    )


async def _status(
    http: aiohttp.ClientSession, path: str, headers: dict[str, str], want: int
) -> bool:
    return (await http.get(path, headers=headers)).status == want


async def test_unknown_paths_and_methods(http: aiohttp.ClientSession, acme: None) -> None:
    r = await http.get("/api/v1/nothing-here", headers=AUTH)
    await _error(r, 404, "not_found")
    r = await http.put("/api/v1/messages", headers=AUTH)
    assert r.status == 405
    r = await http.get("/api/v1/messages/does-not-exist", headers=AUTH)
    await _error(r, 404, "not_found")
    r = await http.get("/api/v1/messages?limit=many", headers=AUTH)
    await _error(r, 400, "invalid_field")


async def test_account_isolation(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("alpha"), account("beta"))
    a = {"Authorization": "Bearer alpha-token"}
    b = {"Authorization": "Bearer beta-token"}
    sent = await (
        await http.post(
            "/api/v1/messages",
            json={"to": "+79651111111", "text": "secret", "schedule_at": time.time() + 3600},
            headers=a,
        )
    ).json()
    bulk = await (
        await http.post(
            "/api/v1/messages/bulk",
            json={"text": "x", "recipients": [{"to": "+79651111112"}]},
            headers=a,
        )
    ).json()
    for path in (
        f"/api/v1/messages/{sent['id']}",
        f"/api/v1/messages/{sent['id']}/events",
        f"/api/v1/jobs/{bulk['job_id']}",
    ):
        await _error(await http.get(path, headers=b), 404, "not_found")
        assert (await http.get(path, headers=a)).status == 200
    await _error(await http.delete(f"/api/v1/messages/{sent['id']}", headers=b), 404, "not_found")
    listed = await (await http.get("/api/v1/messages", headers=b)).json()
    assert listed["messages"] == []
    # and the message is still there, uncancelled
    got = await (await http.get(f"/api/v1/messages/{sent['id']}", headers=a)).json()
    assert got["status"] == "scheduled"


async def test_bulk_reports_each_bad_recipient(
    gateway: Gateway, http: aiohttp.ClientSession, acme: None
) -> None:
    body = {
        "text": "Dear %name%",
        "from": "ACME",
        "recipients": [
            {"to": "+79651111111", "vars": {"name": "Michael"}},
            {"to": "bogus"},
            {"to": "+79650000000"},
            {"to": 79652222222, "vars": {"name": "Zoya"}},
            {"to": "+79653333333", "text": ""},  # its own (empty) text, not the request's
            {"to": "+79654444444", "text": "Hi %name%", "vars": {"name": "Own"}},
        ],
    }
    r = await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)
    out = await r.json()
    assert r.status == 202, out
    assert out["accepted"] == 3
    assert [(e["index"], e["code"]) for e in out["rejected"]] == [
        (1, "invalid_phone"),
        (2, "stop_listed"),
        (4, "empty_text"),
    ]
    texts = [
        (await (await http.get(f"/api/v1/messages/{mid}", headers=AUTH)).json())["text"]
        for mid in out["message_ids"]
        if mid
    ]
    assert texts == ["Dear Michael", "Dear Zoya", "Hi Own"]
    # atomic: one bad recipient refuses all
    body["atomic"] = True
    r = await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)
    assert r.status == 422
    assert await _count(gateway) == 3


async def test_forwarded_for_is_not_believed_by_default(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """A client on 127.0.0.1 cannot walk past an allow-list by naming an allowed address."""
    await gateway.provision(account("fenced", ip_allowlist=["10.0.0.0/8"]))
    headers = {"Authorization": "Bearer fenced-token", "X-Forwarded-For": "10.1.2.3"}
    await _error(await http.get("/api/v1/balance", headers=headers), 403, "ip_not_allowed")
    sent = {"to": "+79651111111", "text": "hi"}
    await _error(
        await http.post("/api/v1/messages", json=sent, headers=headers), 403, "ip_not_allowed"
    )


async def test_forwarded_for_is_believed_from_a_configured_proxy(tmp_path: Path) -> None:
    config = servers.test_config(
        f"sqlite:///{tmp_path}/smsgate.db", forwarded_allow_ips="127.0.0.1"
    )
    gw = await servers.start_gateway(config)
    try:
        await gw.provision(account("fenced", ip_allowlist=["10.0.0.0/8"]))
        async with aiohttp.ClientSession(base_url=gw.url) as http:
            headers = {"Authorization": "Bearer fenced-token", "X-Forwarded-For": "10.1.2.3"}
            assert (await http.get("/api/v1/balance", headers=headers)).status == 200
            headers["X-Forwarded-For"] = "192.0.2.7"
            await _error(await http.get("/api/v1/balance", headers=headers), 403, "ip_not_allowed")
    finally:
        await gw.stop()


async def test_store_unavailable_is_503_on_fast_and_routed_paths(
    gateway: Gateway, http: aiohttp.ClientSession, acme: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    facade = gateway.app.app.state.gateway
    monkeypatch.setattr(facade, "submit", down)
    monkeypatch.setattr(facade, "balance", down)
    expected = {"error": {"code": "unavailable", "message": "storage unavailable, retry later"}}
    send = {"to": "+79651111111", "text": "hello"}
    async with http.post("/api/v1/messages", json=send, headers=AUTH) as r:  # the fast route
        assert (r.status, await r.json()) == (503, expected)
    async with http.get("/api/v1/balance", headers=AUTH) as r:
        assert (r.status, await r.json()) == (503, expected)
