"""The HTTP GET specification, as its clients use it: `GET /sendsms.php?user=&pwd=&sadr=&dadr=
&text=` answers the bare id_sms, which the client pastes into its next URL (`&smsid=`), whose
answer is the bare state. Plain text throughout, errors too."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.backends import both_backends
from tests.support.servers import Gateway

from .conftest import Provision, post_json

STATES = {"send", "deliver", "not_deliver", "expired", "partly_deliver"}
AUTH = {"user": "acme", "pwd": "acme-pw"}


async def get(http: aiohttp.ClientSession, **query: str) -> tuple[int, str, bytes]:
    async with http.get("/sendsms.php?" + urlencode(query)) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


@both_backends
async def test_send_then_poll_the_pasted_id(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    status, content_type, raw = await get(
        http, **AUTH, sadr="ACME", dadr="79650000001", text="Привет, мир", type_send_1="sms"
    )
    assert status == 200 and content_type.startswith("text/plain")
    assert re.fullmatch(rb"[0-9]+", raw), raw  # the bare id: no space, no newline
    (stored,) = await gateway.store.list_messages(account_id, MessageFilter())
    assert (stored.seq, stored.text, stored.sender) == (int(raw), "Привет, мир", "ACME")
    # The client pastes the body into its next URL as it is.
    async with http.get(f"/sendsms.php?user=acme&pwd=acme-pw&smsid={raw.decode()}") as r:
        state = await r.read()
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert state.decode() in STATES

    async def delivered() -> bool:
        return (await get(http, **AUTH, smsid=raw.decode()))[2] == b"deliver"

    await gateway.wait_for(delivered)


async def test_several_recipients_and_token(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    await gateway.store.stoplist_add(account_id, ["79650000002"])
    status, _, raw = await get(
        http, token="acme-token", sadr="ACME", dadr="79650000001,79650000002,79650000003", text="x"
    )
    assert status == 200
    first, refused, third = raw.decode().split(",")
    assert first.isdigit() and third.isdigit() and first != third
    assert refused == "Phone number is on the stop list"


async def test_errors_are_plain_text(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    await provision("beta")
    send = {"sadr": "ACME", "dadr": "79650000001", "text": "x"}
    for query, text in [
        ({"user": "acme", "pwd": "wrong", **send}, "Incorrect login or password"),
        ({**send}, "Incorrect login or password"),
        ({**AUTH, "sadr": "ACME", "text": "x"}, "Specify phone number"),
        ({**AUTH, "sadr": "ACME", "dadr": "79650000001"}, "No message text"),
        ({**AUTH, "sadr": "NOPE", "dadr": "79650000001", "text": "x"}, "There is no such sender"),
        ({**AUTH, **send, "type_send_1": "viber"}, "This destination is closed for you"),
        ({**AUTH, "smsid": "999999"}, "SMS not found"),
        ({**AUTH, "smsid": "9223372036854775808"}, "SMS not found"),
        ({**AUTH, "smsid": "abc"}, "SMS not found"),
    ]:
        status, content_type, raw = await get(http, **query)
        assert (status, raw.decode()) == (200, text), query
        assert content_type.startswith("text/plain")
    # Another account's id is not found either.
    _, _, raw = await get(http, user="beta", pwd="beta-pw", **send)
    assert (await get(http, **AUTH, smsid=raw.decode()))[2] == b"SMS not found"


async def test_default_lifetime_is_the_get_pages_two_days(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    await get(http, **AUTH, sadr="ACME", dadr="79650000001", text="x")
    await get(
        http, **AUTH, sadr="ACME", dadr="79650000002", text="x", validity_period="2001-12-31 15:34"
    )
    for m in await gateway.store.list_messages(account_id, MessageFilter()):
        assert m.expires_at is not None and abs(m.expires_at - m.created_at - 2 * 86400) < 2


async def test_post_form_and_json_status_agree(
    http: aiohttp.ClientSession, provision: Provision
) -> None:
    await provision()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    data = urlencode({**AUTH, "sadr": "ACME", "dadr": "79650000001", "text": "x"})
    async with http.post("/sendsms.php", data=data, headers=form) as r:
        raw = await r.read()
    assert raw.isdigit()
    status, answer = await post_json(
        http, "/json/state.php", {"token": "acme-token", "id_sms": raw.decode()}
    )
    assert status == 200 and answer[0]["id_sms"] == int(raw)
    assert answer[0]["state"] == (await get(http, **AUTH, smsid=raw.decode()))[2].decode()
