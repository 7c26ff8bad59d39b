"""A number that cannot exist gets SMSGW2's error 11; an account's test range lets it in."""

from __future__ import annotations

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import message, send


async def test_an_unassigned_calling_code_is_error_11(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    for n, recipient in enumerate(("9991234567", "+9991234567", "7701000")):
        status, body = await send(http, message(f"x{n}", recipient=recipient))
        assert (status, body["error_code"]) == (400, 11), (recipient, body)
        assert body["error_message"] == (
            "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
        )
    assert await gateway.store.list_messages(kz, MessageFilter()) == []


async def test_a_test_range_is_accepted(http: aiohttp.ClientSession, gateway: Gateway) -> None:
    """A test range lifts the existence check (no +7 000 numbers exist), not the seed's
    7xxxYYYzzzz format: a foreign test number is still error 11."""
    from .conftest import kz_account

    settings = {"smsgw2": {"default_time_bounds": "full"}, "test_numbers": ["+7000", "+999"]}
    await gateway.provision(kz_account(settings=settings))
    status, body = await send(http, message("t1", recipient="70001234567"))
    assert status == 201, body
    status, body = await send(http, message("t2", recipient="9991234567"))
    assert (status, body["error_code"]) == (400, 11), body
