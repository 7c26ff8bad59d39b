"""send.php's other channels (issue 19): HLR queries, pings, binary SMS, and the refused ones.

What the clients send is smsc_api.py's `formats` (flash=1, push=1, hlr=1, bin=1, bin=2,
ping=1, mms=1, mail=1, call=1) and smsc_api.php's (also viber=1, soc=1); its HLR example is
`send_sms("79999999999", "", format=3)` and its binary one the WAP push below with format=5
(bin=2). Nothing but what was asked for may be sent or charged.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import aiohttp
import pytest

from smsgate.store.base import MessageFilter
from tests.dialects.smsc.conftest import AUTH, FAIL_PREFIX, call
from tests.dialects.smsc.test_status import status_of, wait_status
from tests.dialects.smsc.test_status_lines import py_get_status
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

# smsc_api.py's own example of format=5 (bin=2): a WAP push, UDH 0605040B8423F0 first
WAP_PUSH = "0605040B8423F0DC0601AE02056A0045C60C036D79736974652E72750001036D7973697465000101"
HLR_FIELDS = ["imsi", "msc", "mcc", "mnc", "cn", "net", "rcn", "rnet"]  # the seed's
PRICED = {"smsc": {"hlr_price": "0.10", "ping_price": "0.05"}}


async def stored(gateway: Gateway, account_id: int) -> list:
    return await gateway.store.list_messages(account_id, MessageFilter(), limit=100)


async def balance(http: aiohttp.ClientSession) -> str:
    _, body, _ = await call(http, "/sys/balance.php", **AUTH)
    return body.decode()


@pytest.fixture
async def priced(gateway: Gateway) -> int:
    (account_id,) = await gateway.provision(
        account("acme", timezone="Europe/Moscow", settings=PRICED)
    )
    return account_id


@both_backends
async def test_hlr_query_answers_id_and_cnt_then_the_hlr_fields(
    gateway: Gateway, http: aiohttp.ClientSession, priced: int
) -> None:
    # what smsc_api.py sends for format=3: mes empty, hlr=1, fmt=1, cost=3
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="", hlr=1, id=7, fmt=1, cost=3, **AUTH
    )
    assert body == b"7,1,0.10,999.90"  # id, cnt, cost (the account's hlr_price), balance
    [query] = await stored(gateway, priced)
    assert (query.encoding, query.text, query.price) == ("hlr", "", 100_000)
    record = await wait_status(gateway, http, "7", "79651111111", 1)
    assert [k for k in record if k in HLR_FIELDS] == HLR_FIELDS
    assert record["imsi"].startswith("25001") and len(record["imsi"]) == 15
    assert (record["mcc"], record["mnc"], record["cn"]) == ("250", "01", "Russia")
    assert record["msc"].isdigit() and record["net"] and record["rcn"] == record["rnet"] == ""
    # fmt=1, as the libraries read it: status, time, err, imsi, msc, mcc, mnc, cn, net, rcn,
    # rnet ("для HLR-запроса")
    _, body, _ = await call(http, "/sys/status.php", id=7, phone="79651111111", fmt=1, **AUTH)
    m = py_get_status(body, 0)
    assert m == ["1", str(record["last_timestamp"]), "0", *(record[k] for k in HLR_FIELDS)]
    # all=1 adds the six message fields; the sender id "HLR" at [14] keeps the library from
    # re-splitting the line as a text message's
    _, body, _ = await call(
        http, "/sys/status.php", id=7, phone="79651111111", fmt=1, all=1, charset="utf-8", **AUTH
    )
    m = py_get_status(body, 1)
    assert len(m) == 17 and m[14] == "HLR" and m[12] == "79651111111" and m[13] == "0.10"
    full = await status_of(http, "7", "79651111111", all=1, charset="utf-8")
    assert full["type"] == 4 and full["message"] == ""
    assert await balance(http) == "999.90"


async def test_hlr_of_a_dead_number_and_mes_never_sent(
    gateway: Gateway, http: aiohttp.ClientSession, priced: int
) -> None:
    dead = FAIL_PREFIX + "1234567"
    _, body, _ = await call(http, "/sys/send.php", phones=dead, mes="x", hlr=1, id=8, **AUTH)
    assert body == b"OK - 1 SMS, ID - 8"
    # hlr=1 with a text: the text is not sent (before issue 19, "x" reached the phone)
    [query] = await stored(gateway, priced)
    assert query.text == "" and query.encoding == "hlr"
    record = await wait_status(gateway, http, "8", dead, 22)
    assert record["err"] == 1 and all(record[k] == "" for k in HLR_FIELDS)
    # a price quote is one query per number at the HLR price
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111,79651111112", hlr=1, cost=1, **AUTH
    )
    assert body == b"0.20 (2 SMS)"


async def test_hlr_callback_carries_the_hlr_fields(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(
        account("acme", settings=PRICED, callback_urls={"smsc": receiver.url + "/h?charset=utf-8"})
    )
    await call(http, "/sys/send.php", phones="79651111111", hlr=1, id=9, **AUTH)
    [push] = await receiver.wait_count(1)
    fields = dict(parse_qsl(push.body.decode(), keep_blank_values=True))
    assert fields["id"] == "9" and fields["status"] == "1"
    assert fields["type"] == "4" and fields["flag"] == "4"  # 4 - HLR-запрос
    assert fields["mcc"] == "250" and fields["mnc"] == "01" and fields["cn"] == "Russia"
    assert fields["imsi"].startswith("25001") and "rcn" in fields and "rnet" in fields


@both_backends
async def test_ping_is_priced_and_sent_without_text(
    gateway: Gateway, http: aiohttp.ClientSession, priced: int
) -> None:
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="", ping=1, id=10, fmt=3, cost=2, **AUTH
    )
    assert json.loads(body) == {"id": 10, "cnt": 1, "cost": "0.05"}
    [ping] = await stored(gateway, priced)
    assert (ping.encoding, ping.text) == ("ping", "")
    record = await wait_status(gateway, http, "10", "79651111111", 1)
    assert not set(HLR_FIELDS) & set(record)
    assert (await status_of(http, "10", "79651111111", all=1, charset="utf-8"))["type"] == 5


async def test_hlr_and_ping_cost_an_sms_part_without_a_setting(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", hlr=1, cost=1, **AUTH)
    assert body == b"0.50 (1 SMS)"
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", ping=1, cost=1, **AUTH)
    assert body == b"0.50 (1 SMS)"


@both_backends
async def test_binary_sms(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    # bin=2: hex, starting with a UDH (smsc_api.py's example)
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes=WAP_PUSH, bin=2, id=11, fmt=1, **AUTH
    )
    assert body == b"11,1"
    # bin=2 without a UDH, 200 octets: two parts of 134 octets at most
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="AB" * 200, bin=2, id=12, fmt=1, **AUTH
    )
    assert body == b"12,2"
    # bin=1: the octets themselves, in the request's charset
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="ABC", bin=1, id=13, fmt=1, **AUTH
    )
    assert body == b"13,1"
    by_id = {m.client_ref.split(":")[0]: m for m in await stored(gateway, acme)}
    assert (by_id["11"].encoding, by_id["11"].text) == ("binary_udh", WAP_PUSH.lower())
    assert (by_id["12"].encoding, by_id["12"].segments) == ("binary", 2)
    assert (by_id["13"].encoding, by_id["13"].text) == ("binary", "414243")
    await wait_status(gateway, http, "11", "79651111111", 1)
    assert (await status_of(http, "11", "79651111111", all=1, charset="utf-8"))["type"] == 2
    _, body, _ = await call(http, "/sys/balance.php", **AUTH)
    assert body == b"998.00"  # 4 parts of 0.50


# not hex; odd hex; a UDH that names a concatenation (its sender cut it) but 146 octets long
@pytest.mark.parametrize("mes", ["XYZ", "ABC", "050003010201" + "00" * 140])
async def test_binary_that_is_not_hex_or_cannot_be_sent_is_refused(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, mes: str
) -> None:
    _, body, _ = await call(
        http, "/sys/send.php", "POST", phones="79651111111", mes=mes, bin=2, fmt=3, **AUTH
    )
    assert json.loads(body)["error_code"] == 1
    assert await stored(gateway, acme) == [] and await balance(http) == "1000.00"


@pytest.mark.parametrize("channel", ["push", "call", "viber", "mms", "soc", "mail", "tg"])
async def test_other_channels_are_refused_and_nothing_is_charged(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, channel: str
) -> None:
    send = {"phones": "79651111111", "mes": "x", "id": 20, channel: 1, **AUTH}
    _, body, _ = await call(http, "/sys/send.php", **send)
    assert body == b"ERROR = 8 (can't to deliver), ID - 20"
    _, body, _ = await call(http, "/sys/send.php", fmt=1, **send)
    assert body == b"20,-8"
    _, body, _ = await call(http, "/sys/send.php", fmt=3, **send)
    assert json.loads(body) == {"error": "can't to deliver", "error_code": 8, "id": 20}
    assert await stored(gateway, acme) == [] and await balance(http) == "1000.00"


@pytest.mark.parametrize(
    "flags", [{"hlr": 1, "bin": 2}, {"ping": 1, "hlr": 1}, {"flash": 1, "bin": 2}, {"bin": 3}]
)
async def test_conflicting_or_unknown_flags_are_a_parameters_error(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, flags: dict[str, int]
) -> None:
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="0A0B", fmt=1, **flags, **AUTH
    )
    assert body == b"0,-1"
    assert await stored(gateway, acme) == []
