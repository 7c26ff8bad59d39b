"""send.php: every answer format, SMSC.ru's error codes and texts, limits at their boundaries."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from datetime import datetime
from urllib.parse import quote
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from smsgate.provision import CredentialSpec
from smsgate.store.base import MessageFilter, StoreUnavailable
from tests.dialects.smsc.conftest import AUTH, call
from tests.support.servers import Gateway, account

OK_TEXT = re.compile(r"^OK - (\d+) SMS, ID - (\d+)$")


async def messages(gateway: Gateway, account_id: int) -> list:
    return await gateway.store.list_messages(account_id, MessageFilter(), limit=1000)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_send_answers_in_every_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, method: str
) -> None:
    # fmt=0: "OK - 1 SMS, ID - 279" (SMSC.ru's plain answer)
    status, body, ctype = await call(
        http, "/sys/send.php", method, phones="79651111111", mes="hello", **AUTH
    )
    assert status == 200 and ctype.startswith("text/plain")
    m = OK_TEXT.match(body.decode())
    assert m and m[1] == "1"
    # fmt=1: "<id>,<cnt>"; with cost=3 "<id>,<cnt>,<cost>,<balance>"
    _, body, _ = await call(
        http, "/sys/send.php", method, phones="79651111112", mes="hi", fmt=1, cost=3, **AUTH
    )
    msg_id, cnt, cost, balance = body.decode().split(",")
    assert msg_id.isdigit() and cnt == "1" and cost == "0.50" and balance == "999.00"
    # fmt=2: <result><id/><cnt/></result>
    _, body, ctype = await call(
        http, "/sys/send.php", method, phones="79651111113", mes="hi", fmt=2, cost=2, **AUTH
    )
    root = ElementTree.fromstring(body)
    assert root.tag == "result" and root.findtext("cnt") == "1" and root.findtext("cost") == "0.50"
    assert root.findtext("id", "").isdigit() and "xml" in ctype
    # fmt=3: {"id": 9, "cnt": 1} and, with cost=3, cost and balance as strings
    _, body, ctype = await call(
        http, "/sys/send.php", method, phones="79651111114", mes="hi", fmt=3, **AUTH
    )
    answer = json.loads(body)
    assert set(answer) == {"id", "cnt"} and isinstance(answer["id"], int) and answer["cnt"] == 1
    assert ctype.startswith("application/json")
    _, body, _ = await call(
        http, "/sys/send.php", method, phones="79651111115", mes="hi", fmt=3, cost=3, **AUTH
    )
    answer = json.loads(body)
    assert list(answer) == ["id", "cnt", "cost", "balance"]
    assert answer["cost"] == "0.50" and answer["balance"] == "997.50"
    assert len(await messages(gateway, acme)) == 5


async def test_cost_only_sends_nothing(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    text = "x" * 161  # two GSM parts
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", mes=text, cost=1, **AUTH)
    assert body == b"1.00 (2 SMS)"
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes=text, cost=1, fmt=1, **AUTH
    )
    assert body == b"1.00,2"
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes=text, cost=1, fmt=3, **AUTH
    )
    assert json.loads(body) == {"cost": "1.00", "cnt": 2}
    assert await messages(gateway, acme) == []


async def test_real_client_library_request(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    """The request SMSC.ru's own Python library makes: fmt=1, charset=utf-8, cost=3, id=0."""
    arg = (
        "login=acme&psw=acme-pw&fmt=1&charset=utf-8&cost=3&phones="
        + quote("79651111111")
        + "&mes="
        + quote("Привет")
        + "&translit=0&id=0"
    )
    r = await http.get("/sys/send.php?" + arg)
    msg_id, cnt, cost, balance = (await r.read()).decode("utf-8").split(",")
    assert int(msg_id) > 0 and cnt == "1" and cost == "0.50" and balance == "999.50"
    # its POST variant (used above 2000 characters): the same arguments as the body
    r = await http.post(
        "/sys/send.php",
        data=arg.replace("79651111111", "79651111112").encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (await r.read()).decode().split(",")[1] == "1"
    stored = await messages(gateway, acme)
    assert sorted(m.text for m in stored) == ["Привет", "Привет"]


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [(None, "cp1251"), ("windows-1251", "cp1251"), ("koi8-r", "koi8_r"), ("utf-8", "utf-8")],
)
async def test_mes_is_read_in_the_requested_charset(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, charset: str | None, encoding: str
) -> None:
    body = "login=acme&psw=acme-pw&phones=79651111111&mes=" + quote("Привет мир".encode(encoding))
    if charset:
        body += "&charset=" + charset
    r = await http.post(
        "/sys/send.php", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert OK_TEXT.match((await r.read()).decode()), await r.text()
    (stored,) = await messages(gateway, acme)
    assert stored.text == "Привет мир"
    # the answer comes back in the same charset
    assert r.headers["Content-Type"].endswith(f"charset={charset or 'windows-1251'}")


async def test_sloppy_clients(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    # phones separated by commas and semicolons, with '+', spaces, dashes, trunk 8, no country
    _, body, _ = await call(
        http,
        "/sys/send.php/",
        "POST",
        phones="+7 (965) 111-11-11; 89651111112,9651111113,,79651111111",
        mes="hi",
        fmt=3,
        **AUTH,
    )
    assert json.loads(body)["cnt"] == 3
    assert sorted(m.phone for m in await messages(gateway, acme)) == [
        "79651111111",
        "79651111112",
        "79651111113",
    ]
    # JSON body with a number for the phone and an odd Content-Type, on /rest/send/
    r = await http.post(
        "/rest/send/",
        data=json.dumps(
            {"login": "acme", "psw": "acme-pw", "phones": 79651111114, "mes": "hi", "id": "5"}
        ),
        headers={"Content-Type": " text/json; charset=utf-8;"},
    )
    assert json.loads(await r.read()) == {"id": 5, "cnt": 1}
    # multipart form (the PHP library's form when it attaches files)
    form = aiohttp.FormData()
    for k, v in {**AUTH, "phones": "79651111115", "mes": "hi", "fmt": "1", "id": "6"}.items():
        form.add_field(k, v)
    r = await http.post("/sys/send.php", data=form)
    assert await r.read() == b"6,1"
    # numbers sent as strings with spaces are fine; fmt junk falls back to plain text
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111116", mes="hi", fmt="x", id=" 7 ", **AUTH
    )
    assert body == b"OK - 1 SMS, ID - 7"


async def test_sends_with_sender_flash_translit_and_list(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(
        http,
        "/sys/send.php",
        phones="79651111111",
        mes="Привет",
        sender="ACME",
        flash=1,
        translit=1,
        id=10,
        charset="utf-8",
        **AUTH,
    )
    assert body == b"OK - 1 SMS, ID - 10"
    listed = "79651111112:Code 1\n79651111113:Code 2"
    _, body, _ = await call(http, "/sys/send.php", "POST", list=listed, id=11, fmt=1, **AUTH)
    assert body == b"11,2"
    stored = {m.phone: m for m in await messages(gateway, acme)}
    assert stored["79651111111"].text == "Privet" and stored["79651111111"].flash
    assert stored["79651111111"].sender == "ACME"
    assert stored["79651111112"].text == "Code 1" and stored["79651111113"].text == "Code 2"


ERRORS = {
    0: lambda code, text, mid: f"ERROR = {code} ({text})" + (f", ID - {mid}" if mid else ""),
    1: lambda code, text, mid: f"{mid or 0},-{code}",
}


async def expect_error(
    http: aiohttp.ClientSession, code: int, text: str, msg_id: str | None, **params: object
) -> None:
    """The same error in all four formats, with SMSC.ru's code and text."""
    for fmt in (0, 1, 2, 3):
        status, body, _ = await call(http, "/sys/send.php", "POST", fmt=fmt, **params)
        assert status == 200, body
        if fmt in ERRORS:
            assert body.decode() == ERRORS[fmt](code, text, msg_id), body
        elif fmt == 2:
            root = ElementTree.fromstring(body)
            assert root.tag == "result"
            assert root.findtext("error") == text and root.findtext("error_code") == str(code)
            assert root.findtext("id") == msg_id
        else:
            expected: dict[str, object] = {"error": text, "error_code": code}
            if msg_id:
                expected["id"] = int(msg_id) if msg_id.isdigit() else msg_id
            assert json.loads(body) == expected


async def test_errors_in_every_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await gateway.provision(
        account("poor", balance="0", senders=["ACME"]),
        account("walled", ip_allowlist=["10.1.2.3"]),
    )
    send = {"phones": "79651111111", "mes": "hi"}
    # 1 parameters: no phones, no text
    await expect_error(http, 1, "parameters error", None, mes="hi", **AUTH)
    await expect_error(http, 1, "parameters error", None, phones="79651111111", **AUTH)
    # 2 credentials: wrong password, unknown login, none at all, wrong api key
    await expect_error(http, 2, "authorise error", None, login="acme", psw="nope", **send)
    await expect_error(http, 2, "authorise error", None, login="ghost", psw="acme-pw", **send)
    await expect_error(http, 2, "authorise error", None, **send)
    await expect_error(http, 2, "authorise error", None, apikey="nope", **send)
    # 3 funds, with the message id
    await expect_error(http, 3, "no money", "77", login="poor", psw="poor-pw", id=77, **send)
    # 4 address not allowed for this account
    await expect_error(http, 4, "ip is blocked", None, login="walled", psw="walled-pw", **send)
    # 5 date format
    await expect_error(
        http, 5, "invalid date format", "78", time="31.02.30 10:00", id=78, **AUTH, **send
    )
    await expect_error(http, 5, "invalid date format", "79", time="tomorrow", id=79, **AUTH, **send)
    # 6 prohibited: a sender the account may not use
    await expect_error(http, 6, "message is denied", "80", sender="BANK", id=80, **AUTH, **send)
    # 7 phone format
    await expect_error(http, 7, "invalid number", "81", phones="12ab", mes="hi", id=81, **AUTH)
    # 8 cannot deliver: the carrier refuses it at once (the simulator's refusing prefix)
    # is reported through status 23; send itself succeeds as SMSC.ru's does.
    # 9 duplicate: the same id to the same phone again
    _, body, _ = await call(http, "/sys/send.php", id=82, **AUTH, **send)
    assert body == b"OK - 1 SMS, ID - 82"
    await expect_error(http, 9, "duplicate request, wait a minute", None, id=82, **AUTH, **send)
    assert len(await messages(gateway, acme)) == 1


async def test_apikey_and_md5_password(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    md5 = hashlib.md5(b"secret-pw").hexdigest()
    await gateway.provision(
        account(
            "keyed",
            credentials=[
                CredentialSpec(dialect="smsc", kind="token", secret="the-api-key"),
                CredentialSpec(dialect="smsc", kind="login", identifier="keyed", secret=md5),
            ],
        )
    )
    for auth in (
        {"apikey": "the-api-key"},
        {"login": "keyed", "psw": "secret-pw"},  # plain password, hashed by us
        {"login": "keyed", "psw": md5},  # the MD5 form SMSC.ru clients may send
    ):
        _, body, _ = await call(http, "/sys/balance.php", **auth)
        assert body == b"1000.00", auth
    _, body, _ = await call(http, "/sys/balance.php", login="keyed", psw=md5.upper())
    assert body == b"ERROR = 2 (authorise error)"


async def test_limits_at_the_boundary(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    send = {"phones": "79651111111", **AUTH}
    # mes: at most 1000 characters
    _, body, _ = await call(http, "/sys/send.php", "POST", mes="a" * 1000, fmt=3, **send)
    assert json.loads(body)["cnt"] == 7
    _, body, _ = await call(http, "/sys/send.php", "POST", mes="a" * 1001, **send)
    assert body == b"ERROR = 1 (parameters error)"
    # id: 1..2147483647, or up to 40 of [A-Za-z0-9._-]
    _, body, _ = await call(http, "/sys/send.php", mes="hi", id=2147483647, **send)
    assert body == b"OK - 1 SMS, ID - 2147483647"
    _, body, _ = await call(http, "/sys/send.php", mes="hi", id=2147483648, **send)
    assert body == b"ERROR = 1 (parameters error)"
    _, body, _ = await call(http, "/sys/send.php", mes="hi", id="a" * 40, **send)
    assert body == b"OK - 1 SMS, ID - " + b"a" * 40
    _, body, _ = await call(http, "/sys/send.php", mes="hi", id="a" * 41, **send)
    assert body == b"ERROR = 1 (parameters error)"
    # valid: 00:01 .. 24:00
    for valid, ok in (("24:00", True), ("24:01", False), ("00:01", True), ("00:00", False)):
        _, body, _ = await call(http, "/sys/send.php", mes=f"v{valid}", valid=valid, **send)
        assert body.startswith(b"OK") is ok, (valid, body)
    # phone: 7..15 digits
    _, body, _ = await call(http, "/sys/send.php", mes="hi", phones="+123456789012345", **AUTH)
    assert body.startswith(b"OK")
    _, body, _ = await call(http, "/sys/send.php", mes="hi", phones="+1234567890123456", **AUTH)
    assert body.startswith(b"ERROR = 7 (invalid number), ID - ")


async def test_huge_body_is_refused_in_smsc_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    from smsgate.dialects.smsc.parse import MAX_BODY

    head = b"login=acme&psw=acme-pw&phones=79651111111&mes=hi&fmt=3&pad="
    ok = head + b"x" * (MAX_BODY - len(head))
    r = await http.post("/sys/send.php", data=ok)
    assert r.status == 200 and json.loads(await r.read())["cnt"] == 1
    r = await http.post("/sys/send.php?fmt=3", data=ok + b"x")
    assert r.status == 413
    assert json.loads(await r.read()) == {"error": "parameters error", "error_code": 1}


async def test_malformed_json_body(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    r = await http.post(
        "/rest/send/", data=b'{"login": "acme",', headers={"Content-Type": "application/json"}
    )
    assert r.status == 200
    assert json.loads(await r.read()) == {"error": "parameters error", "error_code": 1}
    r = await http.post(
        "/rest/send/", data=b'{"login": {"x": 1}}', headers={"Content-Type": "application/json"}
    )
    assert json.loads(await r.read()) == {"error": "parameters error", "error_code": 1}


async def test_schedule_formats(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    moscow = ZoneInfo("Europe/Moscow")
    soon = time.time() + 86400
    local = datetime.fromtimestamp(soon, moscow)
    forms = (
        "+60",  # minutes from now
        "0" + str(int(soon)),  # 0 + UNIX time
        local.strftime("%d.%m.%y %H:%M"),  # DD.MM.YY hh:mm in the account's zone
        local.strftime("%d%m%y%H%M"),  # DDMMYYhhmm
    )
    for i, when in enumerate(forms):
        _, body, _ = await call(
            http, "/sys/send.php", phones="79651111111", mes=f"s{i}", id=100 + i, time=when, **AUTH
        )
        assert body.startswith(b"OK"), (when, body)
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="w", id=110, time="9-18", **AUTH
    )
    assert body.startswith(b"OK")
    stored = {m.client_ref: m for m in await messages(gateway, acme)}
    assert abs((stored["100:79651111111"].not_before or 0) - (time.time() + 3600)) < 60
    assert stored["101:79651111111"].not_before == int(soon)
    expected = local.replace(second=0, microsecond=0).timestamp()
    assert stored["102:79651111111"].not_before == expected
    assert stored["103:79651111111"].not_before == expected
    assert stored["110:79651111111"].window is not None
    # beyond the 30 days a message may be scheduled ahead: a date error
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="far", time="+" + str(31 * 1440), **AUTH
    )
    assert body.startswith(b"ERROR = 5 (invalid date format), ID - ")


async def test_idempotency_under_concurrency(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    async def once() -> bytes:
        _, body, _ = await call(
            http, "/sys/send.php", "POST", phones="79651111111", mes="once", id=500, **AUTH
        )
        return body

    bodies = await asyncio.gather(*(once() for _ in range(50)))
    assert bodies.count(b"OK - 1 SMS, ID - 500") == 1
    assert bodies.count(b"ERROR = 9 (duplicate request, wait a minute)") == 49
    assert len(await messages(gateway, acme)) == 1
    # the same id to another phone is a new message, as SMSC.ru ids are not unique by themselves
    _, body, _ = await call(http, "/sys/send.php", phones="79651111112", mes="x", id=500, **AUTH)
    assert body == b"OK - 1 SMS, ID - 500"


async def test_storage_unavailable_is_503_in_smsc_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    facade = gateway.app.app.state.gateway

    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    monkeypatch.setattr(facade, "submit", down)
    status, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="x", fmt=3, **AUTH
    )
    assert status == 503
    assert json.loads(body) == {"error": "too many concurrent requests", "error_code": 9}


@pytest.mark.parametrize(
    "params",
    [
        {"cost": "x"},
        {"cost": "7"},
        {"flash": "yes"},
        {"id": "0000"},
        {"id": "a b"},
        {"time": "+x"},
        {"time": "25-26"},
        {"time": "99.99.99 99:99"},
        {"valid": "1:5"},
        {"phones": ";;;"},
        {"list": "no colon here"},
        {"charset": "ebcdic"},
        {"fmt": "-1"},
    ],
)
async def test_junk_never_fails_the_server(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, params: dict[str, str]
) -> None:
    fields = {"phones": "79651111111", "mes": "hi", "fmt": "3", **AUTH, **params}
    status, body, _ = await call(http, "/sys/send.php", "POST", **fields)
    assert status == 200
    answer = json.loads(body) if fields["fmt"] == "3" else None
    if answer is not None:
        assert set(answer) <= {"id", "cnt", "error", "error_code"}
        assert answer.get("error_code") in (None, 1, 5, 7)
