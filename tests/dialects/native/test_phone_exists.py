"""Numbers that cannot exist are refused as invalid_phone; an account's test range lets them in."""

from __future__ import annotations

import aiohttp
import pytest

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway, account


@pytest.mark.parametrize("phone", ["+9991234567", "+1234567", "+79651234"])
async def test_a_number_that_cannot_exist_is_invalid_phone(
    gateway: Gateway, http: aiohttp.ClientSession, phone: str
) -> None:
    """+999: no such calling code; +1 234567: too short for +1; +7 9651234: too short for +7."""
    (acme,) = await gateway.provision(account("acme"))
    r = await http.post(
        "/api/v1/messages",
        json={"to": phone, "text": "hi"},
        headers={"Authorization": "Bearer acme-token"},
    )
    body = await r.json()
    assert (r.status, body["error"]["code"]) == (422, "invalid_phone"), body
    assert await gateway.store.list_messages(acme, MessageFilter()) == []


async def test_a_test_range_is_accepted(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("lab", settings={"test_numbers": ["+999"]}))
    headers = {"Authorization": "Bearer lab-token"}
    r = await http.post(
        "/api/v1/messages", json={"to": "+9991234567", "text": "hi"}, headers=headers
    )
    assert r.status == 201, await r.text()
    # The form is still checked: too few digits is refused inside the range too.
    r = await http.post("/api/v1/messages", json={"to": "+999123", "text": "hi"}, headers=headers)
    assert (r.status, (await r.json())["error"]["code"]) == (422, "invalid_phone")
