"""send.php parameters real clients send that were ignored before issue 19: `err=1`, `op=1`,
`period` and `freq`, `maxsms`, `tz`."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import aiohttp
import pytest

from smsgate.core.status import Status
from smsgate.store.base import MessageFilter
from tests.dialects.smsc.conftest import AUTH, call
from tests.support.backends import both_backends
from tests.support.servers import Gateway


async def stored(gateway: Gateway, account_id: int) -> dict:
    found = await gateway.store.list_messages(account_id, MessageFilter(), limit=100)
    return {m.phone: m for m in found}


SEND = {"phones": "79651111111,12ab,79651111111", "mes": "hi", "id": 30, **AUTH}
GOOD = {"phone": "79651111111", "cost": "0.50", "cnt": 1, "status": -1, "error": 0}
# "12ab" is no number: refused as status.php would show it, 22 (invalid number), err 249
BAD = {"phone": "12ab", "cost": "0.00", "cnt": 0, "status": 22, "error": 249}


async def test_err_1_lists_the_numbers_nothing_was_sent_to(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(http, "/sys/send.php", fmt=3, err=1, **SEND)
    assert json.loads(body) == {"id": 30, "cnt": 1, "phones": [BAD]}
    send = {**SEND, "id": 31, "phones": "79651111112,12ab"}
    _, body, _ = await call(http, "/sys/send.php", fmt=1, err=1, **send)
    assert body == b"31,1\n12ab,0.00,0,22,249"
    _, body, _ = await call(http, "/sys/send.php", fmt=0, err=1, **{**send, "id": 32})
    assert body == (
        b"OK - 1 SMS, ID - 32\nphone = 12ab, cost = 0.00, cnt = 0, status = 22, error = 249"
    )
    # without err=1 the answer is as before
    _, body, _ = await call(http, "/sys/send.php", fmt=1, **{**send, "id": 33})
    assert body == b"33,1"


async def test_op_1_lists_every_number(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(http, "/sys/send.php", fmt=3, op=1, cost=2, **SEND)
    assert json.loads(body) == {"id": 30, "cnt": 1, "cost": "0.50", "phones": [GOOD, BAD]}
    _, body, _ = await call(http, "/sys/send.php", fmt=2, op=1, **{**SEND, "id": 34})
    root = ElementTree.fromstring(body)
    assert root.findtext("id") == "34" and root.findtext("cnt") == "1"
    listed = [{child.tag: child.text or "" for child in p} for p in root.find("phones") or []]
    assert [r["phone"] for r in listed] == ["79651111111", "12ab"]
    assert listed[0]["cost"] == "0.50" and listed[1]["status"] == "22"
    # a number sent before under the same id: listed with its status, nothing charged now
    _, body, _ = await call(
        http, "/sys/send.php", fmt=3, op=1, **{**SEND, "phones": "79651111111,79651111113"}
    )
    answer = json.loads(body)
    assert answer["cnt"] == 1 and [r["phone"] for r in answer["phones"]] == [
        "79651111111",
        "79651111113",
    ]
    assert answer["phones"][0]["cost"] == "0.00" and answer["phones"][1]["cost"] == "0.50"


@both_backends
async def test_period_and_freq_spread_the_send(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    before = time.time()
    phones = ["79651111111", "79651111112", "79651111113"]
    # over 2 hours, a group every 60 minutes: two groups, the three numbers shared out
    _, body, _ = await call(
        http, "/sys/send.php", phones=",".join(phones), mes="x", period=2, freq=60, id=40, **AUTH
    )
    assert body == b"OK - 3 SMS, ID - 40"
    messages = await stored(gateway, acme)
    first, second, third = (messages[p] for p in phones)
    assert first.not_before is None and second.not_before is None  # the first group: now
    assert third.status is Status.SCHEDULED and third.not_before is not None
    assert before + 3600 <= third.not_before <= time.time() + 3600
    # period alone: a group a minute, the numbers spread evenly (0, 20, 40 minutes)
    phones = ["79651111114", "79651111115", "79651111116"]
    await call(http, "/sys/send.php", phones=",".join(phones), mes="y", period=1, id=41, **AUTH)
    messages = await stored(gateway, acme)
    due = [(messages[p].not_before or before) - before for p in phones]
    assert due[0] < 5 and 1200 <= due[1] < 1205 and 2400 <= due[2] < 2405


@pytest.mark.parametrize(
    "params",
    [{"period": "721"}, {"period": "0.05"}, {"period": "x"}, {"period": 1, "freq": 1441}],
)
async def test_period_and_freq_out_of_range(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, params: dict[str, object]
) -> None:
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", mes="x", **params, **AUTH)
    assert body == b"ERROR = 1 (parameters error)"


async def test_maxsms_cuts_the_text_to_fit(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111111", mes="a" * 400, maxsms=2, fmt=1, **AUTH
    )
    assert body.split(b",")[1] == b"2"  # 3 parts cut to 2: 2 x 153 characters
    (message,) = (await stored(gateway, acme)).values()
    assert message.text == "a" * 306 and message.segments == 2
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111112", mes="a" * 400, maxsms=3, fmt=1, **AUTH
    )
    assert body.split(b",")[1] == b"3"
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111113", mes="x", maxsms="z", **AUTH
    )
    assert body == b"ERROR = 1 (parameters error)"
    # a quote follows the cap too
    _, body, _ = await call(
        http, "/sys/send.php", phones="79651111113", mes="a" * 400, maxsms=1, cost=1, **AUTH
    )
    assert body == b"0.50 (1 SMS)"


async def test_tz_is_the_zone_of_time(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    # tz counts hours from Moscow time (UTC+3): tz=2 is UTC+5; the account's zone is Moscow
    plus5 = timezone(timedelta(hours=5))
    when = (datetime.now(plus5) + timedelta(days=1)).replace(second=0, microsecond=0)
    local = when.strftime("%d.%m.%y %H:%M")
    await call(http, "/sys/send.php", phones="79651111111", mes="x", time=local, tz=2, **AUTH)
    await call(http, "/sys/send.php", phones="79651111112", mes="x", time=local, **AUTH)
    await call(http, "/sys/send.php", phones="79651111113", mes="x", time=local, tz=0, **AUTH)
    messages = await stored(gateway, acme)
    assert messages["79651111111"].not_before == when.timestamp()
    assert messages["79651111112"].not_before == when.timestamp() + 2 * 3600  # Moscow
    assert messages["79651111113"].not_before == when.timestamp() + 2 * 3600  # tz=0: Moscow
    for bad in ("x", "1.5", "20"):
        _, body, _ = await call(
            http, "/sys/send.php", phones="79651111114", mes="x", time=local, tz=bad, **AUTH
        )
        assert body == b"ERROR = 1 (parameters error)", bad


@pytest.mark.parametrize("params", [{"op": "x"}, {"err": "?"}, {"maxsms": "-1"}, {"tz": "x"}])
async def test_a_bad_option_sends_nothing(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, params: dict[str, str]
) -> None:
    _, body, _ = await call(http, "/sys/send.php", phones="79651111111", mes="x", **params, **AUTH)
    assert body == b"ERROR = 1 (parameters error)"
    assert await stored(gateway, acme) == {}
    _, body, _ = await call(http, "/sys/balance.php", **AUTH)
    assert body == b"1000.00"
