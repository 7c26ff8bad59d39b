"""The two accept cases the backends answered differently, end to end through the native API.

Expected answers are the documented precedence (docs/native.md): a stored `client_ref` is
answered with its stored message whatever else holds now (here: its phone stop-listed since);
with `atomic`, a stop-listed recipient refuses the whole request, the duplicate included.
"""

from __future__ import annotations

import aiohttp

from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

AUTH = {"Authorization": "Bearer acme-token"}


async def _balance(http: aiohttp.ClientSession) -> str:
    r = await http.get("/api/v1/balance", headers=AUTH)
    assert r.status == 200
    return str((await r.json())["balance"])


async def _listed(http: aiohttp.ClientSession) -> list[str]:
    r = await http.get("/api/v1/messages", headers=AUTH)
    assert r.status == 200
    return [m["id"] for m in (await r.json())["messages"]]


@both_backends
async def test_stored_reference_after_its_phone_is_stop_listed(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    [acme] = await gateway.provision(account())
    body = {"to": "+79651111111", "text": "hello", "client_ref": "order-42"}
    first = await http.post("/api/v1/messages", json=body, headers=AUTH)
    assert first.status == 201, await first.text()
    sent = await first.json()
    await gateway.store.stoplist_add(acme, ["79651111111"])

    again = await http.post("/api/v1/messages", json=body, headers=AUTH)
    answer = await again.json()
    assert again.status == 200, answer  # the stored message, not 422 stop_listed
    assert answer["id"] == sent["id"] and answer["to"] == "+79651111111"
    assert await _balance(http) == "999.5000"  # charged once
    assert await _listed(http) == [sent["id"]]


@both_backends
async def test_atomic_bulk_with_a_duplicate_a_stop_listed_phone_and_a_good_one(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    [acme] = await gateway.provision(account())
    one = {"to": "+79651111111", "text": "hello", "client_ref": "m-1"}
    first = await http.post("/api/v1/messages", json=one, headers=AUTH)
    assert first.status == 201, await first.text()
    sent = await first.json()
    await gateway.store.stoplist_add(acme, ["79652222222"])

    bulk = {
        "text": "hello",
        "recipients": [
            {"to": "+79651111111", "client_ref": "m-1"},  # stored
            {"to": "+79652222222"},  # stop-listed
            {"to": "+79653333333"},  # good
        ],
        "atomic": True,
    }
    r = await http.post("/api/v1/messages/bulk", json=bulk, headers=AUTH)
    answer = await r.json()
    assert r.status == 422, answer
    # Refused as a whole: one error, and the recipient refused for a reason of its own.
    assert answer["error"]["code"] == "bad_request", answer
    assert answer["error"]["message"].startswith("batch refused"), answer
    assert [(e["index"], e["code"]) for e in answer["rejected"]] == [(1, "stop_listed")]
    assert await _balance(http) == "999.5000"  # nothing charged for the bulk
    assert await _listed(http) == [sent["id"]]  # nothing stored
