"""A field holding U+0000: SQLite would store it and PostgreSQL refuses it, so the core refuses
it first and both backends answer the same (invalid_field, 400 in the native API)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

AUTH = {"Authorization": "Bearer acme-token"}
GOOD = {"to": "+79651111111", "text": "hello"}


@both_backends
@pytest.mark.parametrize(
    "field",
    [{"text": "he\u0000llo"}, {"client_ref": "order\u00001"}, {"tag": "t\u0000"}],
    ids=["text", "client_ref", "tag"],
)
async def test_a_field_with_a_nul_is_invalid(
    gateway: Gateway, http: aiohttp.ClientSession, field: dict[str, str]
) -> None:
    await gateway.provision(account())
    r = await http.post("/api/v1/messages", json={**GOOD, **field}, headers=AUTH)
    answer = await r.json()
    assert r.status == 400, answer
    assert answer["error"]["code"] == "invalid_field"
    assert answer["error"]["field"] == next(iter(field))


@both_backends
async def test_a_nul_refuses_only_its_recipient_of_a_bulk(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    await gateway.provision(account())
    recipients = [
        {"to": "+79651111111", "client_ref": "a\u0000"},
        {"to": "+79652222222", "client_ref": "b"},
    ]
    r = await http.post(
        "/api/v1/messages/bulk", json={"text": "hi", "recipients": recipients}, headers=AUTH
    )
    answer = await r.json()
    assert r.status == 202, answer
    assert answer["accepted"] == 1
    assert [(e["index"], e["code"]) for e in answer["rejected"]] == [(0, "invalid_field")]
