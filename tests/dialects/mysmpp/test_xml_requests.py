"""The XML specification's account requests: senders (originator.php), incoming SMS
(incoming.php), the stop list (stop.php, list_stop.php), scheduled SMS (list_scheduled.php,
scheduled.php), time.php, version.php; and every other /xml/ path in the XML error shape.

The PHP client these come from throws "Недопустимый формат ответа" on any answer that does not
start with `<?xml`, then reads `<error>`."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from smsgate.connectors.base import Incoming
from smsgate.core.status import Status
from smsgate.store.base import MessageFilter
from tests.support.backends import both_backends
from tests.support.servers import Gateway

from .conftest import Provision, post_json, post_xml

DECL = '<?xml version="1.0" encoding="utf-8" ?>'


def security(name: str = "acme") -> str:
    return f'<security><login value="{name}" /><password value="{name}-pw" /></security>'


def request(inner: str = "", name: str = "acme") -> str:
    return f"{DECL}<request>{security(name)}{inner}</request>"


def answer(text: str) -> ET.Element:
    assert text.startswith("<?xml"), text  # what the PHP client checks first
    return ET.fromstring(text.encode())


async def ask(http: aiohttp.ClientSession, path: str, body: str) -> ET.Element:
    status, content_type, text = await post_xml(http, path, body)
    assert status == 200 and content_type.startswith("text/xml"), (status, text)
    return answer(text)


async def test_senders(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(senders=["ACME", "Shop"])
    root = await ask(http, "/xml/originator.php", request())
    # The provider's example: <any_originator>FALSE</any_originator><list_originator>
    # <originator ... state="...">Sender</originator></list_originator>
    assert root.findtext("any_originator") == "FALSE"
    listed = root.findall("list_originator/originator")
    assert sorted(o.text or "" for o in listed) == ["ACME", "Shop"]
    assert {o.get("state") for o in listed} == {"completed"}  # "ready for use"


@both_backends
async def test_incoming(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    acme = await provision(timezone="Europe/Moscow")
    beta = await provision("beta")
    zone = ZoneInfo("Europe/Moscow")
    base = datetime(2030, 1, 31, 12, 0, 0, tzinfo=zone).timestamp()
    inject = gateway.app.app.state.gateway.inject_incoming
    await inject(
        [
            Incoming(phone="79612242243", to="ACME", text="before", at=base, account_id=acme),
            Incoming(
                phone="79612242243", to="ACME", text="Сообщение.", at=base + 60, account_id=acme
            ),
            Incoming(phone="79612242244", to="ACME", text="later", at=base + 7200, account_id=acme),
            Incoming(phone="79612242245", to="BETA", text="theirs", at=base + 60, account_id=beta),
        ]
    )
    # Both ends excluded: 12:00:00 is not after the start.
    window = '<time start="2030-01-31 12:00:00" end="2030-01-31 13:00:00" />'
    root = await ask(http, "/xml/incoming.php", request(window))
    (sms,) = root.findall("sms")
    assert sms.text == "Сообщение."
    assert sms.get("date_receive") == "2030-01-31 12:01:00"
    assert (sms.get("originator"), sms.get("phone")) == ("79612242243", "ACME")
    assert (sms.get("id_sms") or "").isdigit() and sms.get("prefix") == ""
    # No end: everything after the start, never another account's.
    root = await ask(http, "/xml/incoming.php", request('<time start="2030-01-31 11:00" />'))
    assert [s.text for s in root.findall("sms")] == ["before", "Сообщение.", "later"]
    # The provider's own example asks up to "2012-02-31": read as PHP does (2 March).
    root = await ask(
        http,
        "/xml/incoming.php",
        request('<time start="2030-01-31 12:00:30" end="2030-02-31 12:23:00" />'),
    )
    assert [s.text for s in root.findall("sms")] == ["Сообщение.", "later"]
    # start is mandatory.
    for bad in ("", '<time end="2030-01-31 13:00" />', '<time start="31.01.2030" />'):
        root = await ask(http, "/xml/incoming.php", request(bad))
        assert root.findtext("error") == "Incorrect XML document format"


@both_backends
async def test_stop_list(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    acme = await provision()
    await provision("beta")
    # The provider's example request shape.
    change = """<add_stop><phone phone="79612242243" /><phone phone="+7 (961) 224-22-44" />
<phone phone="not a phone" /></add_stop>
<delete_stop><phone phone="79612242245" /></delete_stop>"""
    root = await ask(http, "/xml/stop.php", request(change))
    assert [(p.get("phone"), p.text) for p in root.findall("phone")] == [
        ("79612242243", "add"),
        ("+7 (961) 224-22-44", "add"),
        ("not a phone", "not_found"),
        ("79612242245", "not_found"),
    ]
    assert sorted(await gateway.store.stoplist(acme)) == ["79612242243", "79612242244"]
    root = await ask(http, "/xml/list_stop.php", request())
    assert [p.get("phone") for p in root.findall("phone")] == ["79612242243", "79612242244"]
    assert (await ask(http, "/xml/list_stop.php", request(name="beta"))).findall("phone") == []
    # A send to a stop-listed phone is refused with the seed's text.
    message = {"sender": "ACME", "text": "x", "phones": ["79612242244"]}
    _, sent = await post_json(http, "/json", {"token": "acme-token", "message": [message]})
    assert sent == {"information": [{"error": "Phone number is on the stop list"}]}
    root = await ask(
        http, "/xml/stop.php", request('<delete_stop><phone phone="79612242244" /></delete_stop>')
    )
    assert [(p.get("phone"), p.text) for p in root.findall("phone")] == [("79612242244", "delete")]
    assert await gateway.store.stoplist(acme) == ["79612242243"]


async def schedule(http: aiohttp.ClientSession, phones: list[str], name: str = "acme") -> list[int]:
    tomorrow = datetime.now(ZoneInfo("UTC")) + timedelta(days=1)
    when = tomorrow.strftime("%Y-%m-%d %H:%M")
    message = {
        "sender": "ACME",
        "text": "later",
        "phones": [{"phone": p, "time_send": when} for p in phones],
    }
    auth = {"login": name, "password": f"{name}-pw"}
    status, sent = await post_json(http, "/json", {**auth, "message": [message]})
    assert status == 200, sent
    return [e["id_sms"] for e in sent["information"]]


@both_backends
async def test_scheduled_list_and_delete(
    gateway: Gateway, http: aiohttp.ClientSession, provision: Provision
) -> None:
    acme = await provision(balance="10", price="1")
    await provision("beta")
    ids = await schedule(http, ["79650000001", "79650000002", "79650000003"])
    (theirs,) = await schedule(http, ["79650000004"], "beta")
    root = await ask(http, "/xml/list_scheduled.php", request('<scheduled page="1" />'))
    (phones,) = root.findall("phones")
    assert (phones.get("page"), phones.get("num_pages")) == ("1", "1")
    rows = phones.findall("scheduled")
    assert [int(r.get("id_sms") or 0) for r in rows] == ids
    first = rows[0]
    assert first.get("phone") == "79650000001" and first.get("originator") == "ACME"
    assert (first.get("type_sms"), first.get("text_sms"), first.get("count_sms")) == (
        "sms",
        "later",
        "1",
    )
    assert len(first.get("time_send") or "") == 16  # YYYY-MM-DD HH:MM
    assert len(first.get("validity_period") or "") == 19  # YYYY-MM-DD HH:MM:SS
    assert (await ask(http, "/xml/list_scheduled.php", request('<scheduled page="2" />'))).findall(
        "phones/scheduled"
    ) == []
    assert (
        await gateway.app.app.state.gateway.balance(await gateway.store.get_account(acme))
        == 7_000_000
    )

    delete = f'<delete_schedule><schedule id_sms="{ids[0]}" /><schedule id_sms="{theirs}" />'
    delete += '<schedule id_sms="999999" /><schedule id_sms="x" /></delete_schedule>'
    root = await ask(http, "/xml/scheduled.php", request(delete))
    assert [(s.get("id_sms"), s.text) for s in root.findall("scheduled")] == [
        (str(ids[0]), "delete"),
        (str(theirs), "not_found"),  # another account's
        ("999999", "not_found"),
        ("x", "not_found"),
    ]
    cancelled = await gateway.store.message_by_seq(acme, ids[0])
    assert cancelled is not None and cancelled.status is Status.CANCELLED
    account = await gateway.store.get_account(acme)
    assert account is not None and account.balance == 8_000_000  # refunded
    again = await ask(http, "/xml/scheduled.php", request(delete))
    assert again.findall("scheduled")[0].text == "not_found"
    root = await ask(
        http, "/xml/list_scheduled.php", request("<scheduled><page>1</page></scheduled>")
    )
    assert [int(r.get("id_sms") or 0) for r in root.findall("phones/scheduled")] == ids[1:]
    beta_list = await ask(
        http, "/xml/list_scheduled.php", request('<scheduled page="1" />', "beta")
    )
    assert [int(r.get("id_sms") or 0) for r in beta_list.findall("phones/scheduled")] == [theirs]
    root = await ask(http, "/xml/list_scheduled.php", request('<scheduled page="0" />'))
    assert root.findtext("error") == "Incorrect XML document format"
    stored = await gateway.store.list_messages(acme, MessageFilter(status="scheduled"))
    assert len(stored) == 2


async def test_time_and_version(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision(timezone="Asia/Novosibirsk")
    root = await ask(http, "/xml/time.php", request())
    shown = datetime.strptime(root.findtext("time") or "", "%Y-%m-%d %H:%M:%S")
    local = shown.replace(tzinfo=ZoneInfo("Asia/Novosibirsk")).timestamp()
    assert abs(local - time.time()) < 5
    root = await ask(http, "/xml/version.php", request())
    assert root.findtext("version")


@pytest.mark.parametrize(
    "path",
    [
        "/xml/list_bases.php",
        "/xml/add_originator.php",
        "/xml/def.php",
        "/xml/nothing/here",
        "/xml/a%0Ab",  # a newline: Starlette's {rest:path} missed it (a native 404)
        "/xml/",  # the send path itself is served: a balance answer
    ],
)
async def test_other_xml_paths_answer_xml(
    http: aiohttp.ClientSession, provision: Provision, path: str
) -> None:
    await provision()
    for method in ("POST", "GET", "PUT"):
        async with http.request(method, path, data=request().encode()) as r:
            text = (await r.read()).decode()
            assert r.headers["Content-Type"].startswith("text/xml"), (method, path)
        root = answer(text)
        if path == "/xml/":
            assert root.find("money") is not None
        else:
            assert r.status == 404 and root.findtext("error") == "Unsupported request"


async def test_requests_need_credentials(http: aiohttp.ClientSession, provision: Provision) -> None:
    await provision()
    for path in (
        "/xml/originator.php",
        "/xml/stop.php",
        "/xml/list_scheduled.php",
        "/xml/time.php",
    ):
        bad = request().replace('value="acme-pw"', 'value="x"')
        root = await ask(http, path, bad)
        assert root.findtext("error") == "Incorrect login or password"
        root = await ask(http, path, "")
        assert root.findtext("error") == "POST data is missing"
