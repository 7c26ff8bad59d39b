"""A number that cannot exist gets mysmpp's "This destination is closed", per phone; an
account's test range lets it in."""

from __future__ import annotations

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import Provision, post_json


def _send(*phones: str) -> dict[str, object]:
    message = {"type_send_1": "sms", "sender": "ACME", "text": "hello", "phones": list(phones)}
    return {"login": "acme", "password": "acme-pw", "message": [message]}


async def test_an_unassigned_calling_code_is_a_closed_destination(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    status, answer = await post_json(http, "/json", _send("9991234567", "79651234567"))
    assert status == 200
    assert answer["information"][0] == {"error": "This destination is closed"}
    assert answer["information"][1]["state"] == "send"  # the real one beside it is sent
    sent = await gateway.store.list_messages(account_id, MessageFilter())
    assert [m.phone for m in sent] == ["79651234567"]


async def test_a_test_range_is_accepted(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(settings={"test_numbers": ["+999"]})
    status, answer = await post_json(http, "/json", _send("9991234567"))
    assert status == 200 and answer["information"][0]["state"] == "send", answer
