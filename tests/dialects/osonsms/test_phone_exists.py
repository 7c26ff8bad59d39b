"""A number that cannot exist gets OsonSMS's 110; an account's test range lets it in."""

from __future__ import annotations

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway, account

from .conftest import call, error_of, send_params

SEND = "/sendsms_v1.php"


async def test_an_unassigned_calling_code_is_incorrect_phone_number(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    for phone in ("+9991234567", "9991234567", "99212345"):
        status, body = await call(http, SEND, send_params(phone=phone))
        assert (status, error_of(body)) == (422, (110, "Incorrect phone number")), phone
    assert await gateway.store.list_messages(acme, MessageFilter()) == []


async def test_a_test_range_is_accepted(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme", settings={"test_numbers": ["+999"]}))
    status, body = await call(http, SEND, send_params(phone="+9991234567"))
    assert status == 201, body
