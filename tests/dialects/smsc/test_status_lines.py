"""status.php lines as SMSC.ru's own libraries split them (issue 19: text position).

smsc_api.py and smsc_api.php ask with fmt=1 and split the answer on every comma; with all=1
(and a line longer than 9 fields that is not an HLR query's) they join it again and split it
into at most 9 fields (`split(",", 8)`, `explode(",", ..., 9)`), with all=2 (PHP) into 12. So
the message text, which may hold commas, must be the last field. The helpers below are those
libraries' code, transcribed; the expectations are the field lists their comments name.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import aiohttp

from tests.dialects.smsc.conftest import AUTH, call
from tests.dialects.smsc.test_status import wait_status
from tests.support.servers import Gateway

TEXT = "Hello, world, and a third part, too"


def py_get_status(body: bytes, all_: int) -> list[str]:
    """smsc_api.py 1.9 `get_status` after `_smsc_send_cmd` (`ret.split(",")`)."""
    m = body.decode("utf-8").split(",")
    if all_ and len(m) > 9 and (len(m) < 14 or m[14] != "HLR"):
        m = ",".join(m).split(",", 8)
    return m


def php_get_status(body: bytes, all_: int) -> list[str]:
    """smsc_api.php `get_status` for one id (`explode(",", $ret)` first)."""
    m = body.decode("utf-8").split(",")
    idx = 14 if all_ == 1 else 17
    if all_ and len(m) > 9 and (len(m) <= idx or m[idx] != "HLR"):
        limit = 9 if all_ == 1 else 12
        m = ",".join(m).split(",", limit - 1)
    return m


async def sent_and_delivered(gateway: Gateway, http: aiohttp.ClientSession) -> dict:
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes=TEXT, id=41, sender="ACME", **AUTH
    )
    assert body == b"OK - 1 SMS, ID - 41"
    return await wait_status(gateway, http, "41", "79651111111", 1)


async def status_line(http: aiohttp.ClientSession, fmt: int, all_: int) -> bytes:
    _, body, _ = await call(
        http,
        "/sys/status.php",
        id=41,
        phone="79651111111",
        fmt=fmt,
        all=all_,
        charset="utf-8",
        **AUTH,
    )
    return body


async def test_all_1_line_ends_with_the_text(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    record = await sent_and_delivered(gateway, http)
    body = await status_line(http, 1, 1)
    for split in (py_get_status, php_get_status):
        # (<status>, <time>, <err>, <send time>, <phone>, <cost>, <sender id>, <status name>,
        #  <text>)
        m = split(body, 1)
        assert len(m) == 9, m
        assert m[:3] == ["1", str(record["last_timestamp"]), "0"]
        assert m[3].isdigit() and m[4] == "79651111111" and m[5] == "0.50"
        assert m[6] == "ACME" and m[7] == "Доставлено" and m[8] == TEXT


async def test_all_2_line_has_country_operator_region_before_the_text(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await sent_and_delivered(gateway, http)
    m = php_get_status(await status_line(http, 1, 2), 2)
    # status, time, err, send time, phone, cost, country, operator, region, sender id,
    # status name, text
    assert len(m) == 12, m
    assert m[4:6] == ["79651111111", "0.50"] and m[6] == "RU"
    assert m[9:] == ["ACME", "Доставлено", TEXT]


async def test_all_0_line_and_fmt_0_keep_the_text_last(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    record = await sent_and_delivered(gateway, http)
    assert await status_line(http, 1, 0) == f"1,{record['last_timestamp']},0".encode()
    line = (await status_line(http, 0, 1)).decode()
    assert line.startswith(f"Status = 1, check_time = {record['last_date']}, send_date = ")
    assert line.endswith(", sender_id = ACME, status_name = Доставлено, message = " + TEXT)
    line = (await status_line(http, 0, 2)).decode()
    assert ", country = RU, operator = , region = , sender_id = ACME, " in line
    assert line.endswith("message = " + TEXT)


async def test_json_and_xml_keep_their_named_fields(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await sent_and_delivered(gateway, http)
    answer = json.loads(await status_line(http, 3, 1))
    assert list(answer) == [
        "status",
        "last_date",
        "last_timestamp",
        "send_date",
        "send_timestamp",
        "phone",
        "cost",
        "sender_id",
        "status_name",
        "message",
        "type",
    ]
    assert answer["message"] == TEXT and answer["type"] == 0
    root = ElementTree.fromstring(await status_line(http, 2, 1))
    assert root.findtext("message") == TEXT and root.findtext("type") == "0"


async def test_several_ids_add_the_id(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    record = await sent_and_delivered(gateway, http)
    _, body, _ = await call(
        http, "/sys/status.php", id="41,404", phone="79651111111,79651111111", fmt=1, **AUTH
    )
    # all=0: each line adds <ID> and <phone>
    assert body.decode().split("\n") == [
        f"1,{record['last_timestamp']},0,41,79651111111",
        "-3,0,0,404,79651111111",
    ]
