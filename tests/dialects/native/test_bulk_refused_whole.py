"""A native bulk refused as a whole answers one error (docs/native.md, "Errors" and
"Precedence"): 402 for the balance, 422 for an atomic refusal; not one entry per recipient.

Expected statuses and codes are the documented ones: `402 insufficient_balance` (the Errors
table), `422` for an atomic refusal (Precedence, rule 5).
"""

from __future__ import annotations

import aiohttp

from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

POOR = {"Authorization": "Bearer poor-token"}
AUTH = {"Authorization": "Bearer acme-token"}


def _recipients(n: int) -> list[dict[str, str]]:
    return [{"to": f"+7965{i:07d}"} for i in range(n)]


async def _listed(http: aiohttp.ClientSession, auth: dict[str, str]) -> list[str]:
    r = await http.get("/api/v1/messages", headers=auth)
    return [m["id"] for m in (await r.json())["messages"]]


@both_backends
async def test_bulk_refused_for_balance_is_one_402(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account("poor", balance="10"))  # 20 messages at 0.5
    body = {"text": "hello", "recipients": _recipients(5000)}
    r = await http.post("/api/v1/messages/bulk", json=body, headers=POOR)
    raw = await r.read()
    answer = await r.json()
    assert r.status == 402, answer
    assert answer["error"]["code"] == "insufficient_balance", answer
    assert answer["rejected"] == []  # every recipient fell to the balance: nothing of its own
    assert len(raw) < 1000, len(raw)  # one error, not 5,000 (it was ~420 KB)
    assert await _listed(http, POOR) == []
    balance = await (await http.get("/api/v1/balance", headers=POOR)).json()
    assert balance["balance"] == "10.0000"


@both_backends
async def test_bulk_refused_for_balance_still_names_its_own_bad_recipients(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account("poor", balance="1"))
    recipients = [*_recipients(3), {"to": "call me"}]
    r = await http.post(
        "/api/v1/messages/bulk", json={"text": "hi", "recipients": recipients}, headers=POOR
    )
    answer = await r.json()
    assert r.status == 402, answer
    assert answer["error"]["code"] == "insufficient_balance"
    assert [(e["index"], e["code"]) for e in answer["rejected"]] == [(3, "invalid_phone")]


@both_backends
async def test_atomic_bulk_refused_is_one_422_naming_the_bad_recipient(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    [acme] = await gateway.provision(account())
    await gateway.store.stoplist_add(acme, ["79650000002"])
    body = {"text": "hi", "recipients": _recipients(1500), "atomic": True}
    r = await http.post("/api/v1/messages/bulk", json=body, headers=AUTH)
    raw = await r.read()
    answer = await r.json()
    assert r.status == 422, answer
    assert answer["error"]["code"] == "bad_request", answer
    assert answer["error"]["message"].startswith("batch refused"), answer
    assert [(e["index"], e["code"]) for e in answer["rejected"]] == [(2, "stop_listed")]
    assert len(raw) < 1000, len(raw)
    assert await _listed(http, AUTH) == []


@both_backends
async def test_a_bulk_with_duplicates_is_not_refused_as_a_whole(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """The duplicates answer with their stored messages (rule 1): the request is not refused
    as a whole, so it keeps the per-recipient answer."""
    await gateway.provision(account("poor", balance="0.5"))
    one = {"to": "+79651111111", "text": "hi", "client_ref": "r-1"}
    first = await http.post("/api/v1/messages", json=one, headers=POOR)
    assert first.status == 201, await first.text()
    recipients = [{"to": "+79651111111", "client_ref": "r-1"}, {"to": "+79652222222"}]
    r = await http.post(
        "/api/v1/messages/bulk", json={"text": "hi", "recipients": recipients}, headers=POOR
    )
    answer = await r.json()
    assert r.status == 202, answer
    assert answer["duplicates"] == 1 and answer["accepted"] == 0
    assert [(e["index"], e["code"]) for e in answer["rejected"]] == [(1, "insufficient_balance")]
    assert answer["message_ids"][0] == (await first.json())["id"]
