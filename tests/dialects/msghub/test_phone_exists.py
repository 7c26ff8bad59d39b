"""A number that cannot exist gets MsgHub's 36024; an account's test range lets it in."""

from __future__ import annotations

import aiohttp

from tests.support.servers import Gateway, account

from .conftest import messages_of, post, simple_body


def _body(phone: object) -> dict[str, object]:
    body = simple_body(phone_number=phone, callback_url=None)
    return {k: v for k, v in body.items() if v is not None}


async def test_an_unassigned_calling_code_is_phone_number_incorrect(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    for phone in (9991234567, "+9991234567", "1234567"):
        status, answer = await post(http, "/json2/simple", _body(phone))
        assert (status, answer) == (
            400,
            {"error_code": 36024, "error_text": "Phone number incorrect"},
        ), phone
    assert await messages_of(gateway, acme) == []


async def test_a_test_range_is_accepted(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme", settings={"test_numbers": ["+999"]}))
    status, answer = await post(http, "/json2/simple", _body(9991234567))
    assert status == 200, answer
