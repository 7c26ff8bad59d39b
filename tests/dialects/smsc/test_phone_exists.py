"""A number that cannot exist gets SMSC.ru's error 7; an account's test range lets it in."""

from __future__ import annotations

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway, account

from .conftest import AUTH, call


async def test_an_unassigned_calling_code_is_invalid_number(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    # (Ten digits without '+' are a Russian number to SMSC.ru: 9991234567 is +7 999 123-45-67.)
    for n, phone in enumerate(("+9991234567", "+99912345678", "+1234567")):
        _, body, _ = await call(http, "/sys/send.php", phones=phone, mes="hi", id=90 + n, **AUTH)
        assert body == b"ERROR = 7 (invalid number), ID - %d" % (90 + n), phone
    assert await gateway.store.list_messages(acme, MessageFilter()) == []


async def test_a_test_range_is_accepted(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("lab", settings={"test_numbers": ["+999"]}))
    auth = {"login": "lab", "psw": "lab-pw"}
    _, body, _ = await call(http, "/sys/send.php", phones="+9991234567", mes="hi", **auth)
    assert body.startswith(b"OK - 1 SMS"), body
