"""status.php and balance.php: formats, the status table, unknown ids, account isolation."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import aiohttp
import pytest

from smsgate.core.errors import ErrorCode
from smsgate.core.status import Status
from smsgate.dialects.smsc.statuses import STATUS, smsc_status
from tests.dialects.smsc.conftest import AUTH, FAIL_PREFIX, REJECT_PREFIX, call
from tests.support.servers import Gateway, account

DATE = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$")


def test_every_canonical_status_has_an_smsc_code() -> None:
    assert set(STATUS) == set(Status)
    expected = {
        Status.ACCEPTED: -1,
        Status.SCHEDULED: -1,
        Status.QUEUED: -1,
        Status.SUBMITTED: 0,
        Status.UNKNOWN: 0,
        Status.DELIVERED: 1,
        Status.EXPIRED: 3,
        Status.UNDELIVERED: 20,
        Status.CANCELLED: 20,
        Status.REJECTED: 23,
    }
    assert {s: smsc_status(s, None) for s in Status} == {s: (c, 0) for s, c in expected.items()}
    # the error refines a failure: invalid number 22, funds 24, unavailable number 25
    assert smsc_status(Status.UNDELIVERED, ErrorCode.UNKNOWN_SUBSCRIBER) == (22, 1)
    assert smsc_status(Status.UNDELIVERED, ErrorCode.ABSENT_SUBSCRIBER) == (20, 6)
    assert smsc_status(Status.UNDELIVERED, ErrorCode.BLOCKED_SUBSCRIBER) == (25, 13)
    assert smsc_status(Status.REJECTED, ErrorCode.INSUFFICIENT_BALANCE) == (24, 0)
    assert smsc_status(Status.REJECTED, ErrorCode.CARRIER_REJECTED) == (23, 255)
    assert smsc_status(Status.REJECTED, ErrorCode.STOP_LISTED) == (23, 252)
    assert smsc_status(Status.EXPIRED, ErrorCode.EXPIRED) == (3, 0)


async def status_of(http: aiohttp.ClientSession, msg_id: str, phone: str, **extra: object) -> dict:
    _, body, _ = await call(http, "/sys/status.php", id=msg_id, phone=phone, fmt=3, **AUTH, **extra)
    return json.loads(body)  # type: ignore[no-any-return]


async def wait_status(
    gateway: Gateway, http: aiohttp.ClientSession, msg_id: str, phone: str, code: int
) -> dict:
    found: dict = {}

    async def reached() -> bool:
        found.update(await status_of(http, msg_id, phone))
        return found.get("status") == code

    await gateway.wait_for(reached)
    return found


async def test_status_in_every_format(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await call(http, "/sys/send.php", phones="79651111111", mes="hi", id=1, **AUTH)
    record = await wait_status(gateway, http, "1", "79651111111", 1)
    # {"status": 1, "last_date": "28.12.2019 19:20:22", "last_timestamp": 1577550022}
    assert list(record) == ["status", "last_date", "last_timestamp"]
    assert DATE.match(record["last_date"]) and isinstance(record["last_timestamp"], int)
    ts = record["last_timestamp"]
    # fmt=0: "Status = 1, check_time = 10.10.2010 10:10:10"
    _, body, _ = await call(http, "/sys/status.php", id=1, phone="79651111111", **AUTH)
    assert body.decode() == f"Status = 1, check_time = {record['last_date']}"
    # fmt=1: status, time stamp, err (what SMSC.ru's library splits)
    _, body, _ = await call(http, "/sys/status.php", id=1, phone="+79651111111", fmt=1, **AUTH)
    assert body.decode() == f"1,{ts},0"
    # fmt=2
    _, body, _ = await call(http, "/sys/status.php", id=1, phone="79651111111", fmt=2, **AUTH)
    root = ElementTree.fromstring(body)
    assert root.findtext("status") == "1" and root.findtext("last_timestamp") == str(ts)
    # the phone may come as the client sent it: 8..., with '+', with spaces
    assert (await status_of(http, "1", "8 965 111-11-11"))["status"] == 1


async def test_status_codes_follow_the_message(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    failing = FAIL_PREFIX + "1234567"
    refused = REJECT_PREFIX + "1234567"
    await call(http, "/sys/send.php", phones=failing, mes="x", id=2, **AUTH)
    await call(http, "/sys/send.php", phones=refused, mes="x", id=3, **AUTH)
    await call(http, "/sys/send.php", phones="79651111111", mes="x", id=4, time="+600", **AUTH)
    record = await wait_status(gateway, http, "2", failing, 22)
    assert record["err"] == 1  # subscriber does not exist
    record = await wait_status(gateway, http, "3", refused, 23)
    assert record["err"] == 255
    _, body, _ = await call(http, "/sys/status.php", id=2, phone=failing, **AUTH)
    assert body.decode().endswith(", err = 1") and body.startswith(b"Status = 22, check_time = ")
    _, body, _ = await call(http, "/sys/status.php", id=2, phone=failing, fmt=1, **AUTH)
    assert body.decode().split(",")[::2] == ["22", "1"]
    assert (await status_of(http, "4", "79651111111"))["status"] == -1


async def test_unknown_message_is_status_minus_3(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    assert await status_of(http, "404", "79651111111") == {"status": -3}
    _, body, _ = await call(http, "/sys/status.php", id=404, phone="79651111111", **AUTH)
    assert body == b"Status = -3"
    _, body, _ = await call(http, "/sys/status.php", id="x y", phone="nonsense", fmt=1, **AUTH)
    assert body == b"-3,0,0"


async def test_several_statuses_and_full_information(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await call(
        http, "/sys/send.php", phones="79651111111", mes="Привет", id=5, sender="ACME",
        charset="utf-8", **AUTH,
    )  # fmt: skip
    await wait_status(gateway, http, "5", "79651111111", 1)
    _, body, _ = await call(
        http, "/sys/status.php", id="5,6,", phone="79651111111,79651111111,", fmt=3, **AUTH
    )
    first, second = json.loads(body)
    assert first["status"] == 1 and first["id"] == 5 and first["phone"] == "79651111111"
    assert second == {"status": -3, "id": 6, "phone": "79651111111"}
    # all=1: send time, phone, cost, sender, status name, text
    _, body, _ = await call(
        http, "/sys/status.php", id=5, phone="79651111111", fmt=3, all=1, charset="utf-8", **AUTH
    )
    full = json.loads(body)
    assert full["status_name"] == "Доставлено" and full["message"] == "Привет"
    assert full["cost"] == "0.50" and full["sender_id"] == "ACME" and DATE.match(full["send_date"])


async def test_status_errors(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    _, body, _ = await call(
        http, "/sys/status.php", id=1, phone="79651111111", login="acme", psw="x"
    )
    assert body == b"ERROR = 2 (authorise error)"
    _, body, _ = await call(
        http, "/sys/status.php", id=1, phone="79651111111", login="acme", psw="x", fmt=1
    )
    assert body == b"0,-2"
    _, body, _ = await call(http, "/sys/status.php", id=1, fmt=3, **AUTH)
    assert json.loads(body) == {"error": "parameters error", "error_code": 1}


async def test_accounts_cannot_read_each_other(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await gateway.provision(account("other"))
    other = {"login": "other", "psw": "other-pw"}
    await call(http, "/sys/send.php", phones="79651111111", mes="mine", id=7, **AUTH)
    await wait_status(gateway, http, "7", "79651111111", 1)
    _, body, _ = await call(http, "/sys/status.php", id=7, phone="79651111111", fmt=3, **other)
    assert json.loads(body) == {"status": -3}
    # the other account may use the same id for its own message
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", mes="x", id=7, **other)
    assert body == b"OK - 1 SMS, ID - 7"
    _, body, _ = await call(http, "/sys/balance.php", **other)
    assert body == b"999.50"


@pytest.mark.parametrize(
    ("fmt", "cur", "expected"),
    [
        (0, 0, b"1000.00"),
        (0, 1, b"1000.00, RUR"),
        (1, 0, b"1000.00"),
        (1, 1, b"1000.00,RUR"),
        (3, 0, b'{"balance":"1000.00"}'),
        (3, 1, b'{"balance":"1000.00","currency":"RUR"}'),
    ],
)
async def test_balance_formats(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, fmt: int, cur: int, expected: bytes
) -> None:
    status, body, _ = await call(http, "/sys/balance.php", "POST", fmt=fmt, cur=cur, **AUTH)
    assert status == 200 and body == expected


async def test_balance_xml_errors_and_charge(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(http, "/sys/balance.php", fmt=2, **AUTH)
    assert ElementTree.fromstring(body).findtext("balance") == "1000.00"
    await call(http, "/sys/send.php", phones="79651111111", mes="x" * 161, **AUTH)  # 2 parts
    _, body, _ = await call(http, "/sys/balance.php/", **AUTH)
    assert body == b"999.00"
    for fmt, expected in ((0, b"ERROR = 2 (authorise error)"), (1, b"0,-2")):
        _, body, _ = await call(http, "/sys/balance.php", fmt=fmt, login="acme", psw="no")
        assert body == expected
    _, body, _ = await call(http, "/rest/balance/", login="acme", psw="no")
    assert json.loads(body) == {"error": "authorise error", "error_code": 2}
