"""The platform's XML specification: /xml/ (send), /xml/state.php, /xml/balance.php."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import Provision, post_xml

SECURITY = '<security><login value="acme" /><password value="acme-pw" /></security>'
DECL = '<?xml version="1.0" encoding="utf-8" ?>'


def parse(text: str) -> ET.Element:
    assert text.startswith(DECL), text
    return ET.fromstring(text.encode())


async def test_send_example_replayed(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision(senders=["sender"])
    # The platform's XML example (security after message, as in its published sample).
    request = f"""{DECL}
<request>
<message type="sms">
<sender>sender</sender>
<text>sms text</text>
<abonent phone="79612242243" client_id_sms="3431" number_sms="1"/>
<abonent phone="79612242244" client_id_sms="3425" number_sms="2"/>
</message>
{SECURITY}
</request>"""
    for path in ("/xml/", "/xml"):
        status, content_type, text = await post_xml(http, path, request)
        assert status == 200 and content_type.startswith("text/xml")
        root = parse(text)
        assert root.tag == "response"
        infos = root.findall("information")
        assert [i.get("number_sms") for i in infos] == ["1", "2"]
        for info in infos:
            assert info.text == "send"
            assert info.get("id_sms", "").isdigit() and info.get("parts") == "1"
            assert set(info.attrib) == {"number_sms", "id_sms", "parts"}
    stored = await gateway.store.list_messages(account_id, MessageFilter())
    assert sorted(m.client_ref or "" for m in stored) == ["3425", "3431"]  # second post: repeats


async def test_send_mixed_errors(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision()
    await gateway.store.stoplist_add(account_id, ["79650000002"])
    request = f"""{DECL}<request>{SECURITY}
<message type="sms"><sender>ACME</sender><text>hi &amp; bye</text>
<abonent phone="79650000001" number_sms="1" time_send="" />
<abonent phone="79650000002" number_sms="2" />
<abonent phone="79650000003" number_sms="3" validity_period="2001-01-01 00:00" />
</message>
<message type="wappush"><sender>ACME</sender><text>x</text><abonent phone="79650000004" number_sms="4" /></message>
<message><sender>ACME</sender><text>no numbers</text><abonent phone="79650000005" /></message>
</request>"""
    status, _, text = await post_xml(http, "/xml/", request)
    assert status == 200
    infos = parse(text).findall("information")
    assert infos[0].text == "send"
    assert (infos[1].get("number_sms"), infos[1].text) == ("2", "Phone number is on the stop list")
    assert "id_sms" not in infos[1].attrib
    assert infos[2].text == "send"  # a validity_period already over: the default lifetime
    assert infos[3].text == "This destination is closed for you"
    assert infos[4].get("number_sms") == "5" and infos[4].text == "send"
    (first,) = [
        m
        for m in await gateway.store.list_messages(account_id, MessageFilter())
        if m.phone == "79650000001"
    ]
    assert first.text == "hi & bye"


async def test_state_and_balance(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    account_id = await provision(balance="10", price="1")
    await provision("beta")
    request = f"""{DECL}<request>{SECURITY}<message type="sms"><sender>ACME</sender>
<text>t</text><abonent phone="79650000001" number_sms="1" /></message></request>"""
    _, _, text = await post_xml(http, "/xml/", request)
    id_sms = parse(text).find("information").get("id_sms")  # type: ignore[union-attr]

    async def delivered() -> bool:
        found = await gateway.store.list_messages(account_id, MessageFilter(status="delivered"))
        return len(found) == 1

    await gateway.wait_for(delivered)
    state = f"""{DECL}<request>{SECURITY}<get_state><id_sms>{id_sms}</id_sms>
<id_sms>999999</id_sms></get_state></request>"""
    status, _, text = await post_xml(http, "/xml/state.php", state)
    assert status == 200
    found, missing = parse(text).findall("state")
    assert (
        found.get("id_sms") == id_sms and found.text == "deliver" and found.get("sms") == "deliver"
    )
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", found.get("time", ""))
    assert missing.get("id_sms") == "999999" and missing.get("error") == "SMS not found"
    # Another account asking for this id finds nothing.
    other = state.replace('value="acme"', 'value="beta"').replace("acme-pw", "beta-pw")
    _, _, text = await post_xml(http, "/xml/state.php", other)
    assert parse(text).findall("state")[0].get("error") == "SMS not found"

    status, _, text = await post_xml(
        http, "/xml/balance.php", f"{DECL}<request>{SECURITY}</request>"
    )
    assert status == 200
    root = parse(text)
    money = root.find("money")
    assert money is not None and money.text == "9" and money.get("currency") == "RUR"
    sms = root.find("sms")
    assert sms is not None and sms.get("area") == "Russia" and sms.text == "9"


async def test_token_in_xml(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    status, _, text = await post_xml(
        http,
        "/xml/balance.php",
        f'{DECL}<request><security><token value="acme-token" /></security></request>',
    )
    assert status == 200 and parse(text).find("money") is not None


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<request><security><login value="&lol4;" /><password value="acme-pw" /></security></request>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<request><security><login value="&x;" /><password value="acme-pw" /></security></request>"""


@pytest.mark.parametrize(
    "body",
    [
        "<request><security>",
        "not xml at all",
        BOMB,
        XXE,
        f"{DECL}<other>{SECURITY}</other>",
        "\ufeff\x00",
    ],
)
async def test_malformed_xml(http: aiohttp.ClientSession, provision: Provision, body: str) -> None:
    await provision()
    for path in ("/xml/", "/xml/state.php", "/xml/balance.php"):
        status, content_type, text = await post_xml(http, path, body)
        assert status == 200 and content_type.startswith("text/xml")
        error = parse(text).find("error")
        assert error is not None and error.text == "Incorrect XML document format"


async def test_xml_auth_and_empty(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    status, _, text = await post_xml(http, "/xml/balance.php", "")
    assert status == 200 and parse(text).findtext("error") == "POST data is missing"
    bad = f'{DECL}<request><security><login value="acme" /><password value="x" /></security></request>'
    status, _, text = await post_xml(http, "/xml/balance.php", bad)
    assert status == 200 and parse(text).findtext("error") == "Incorrect login or password"
