"""Pushes to the client's handler, checked on the wire against smsc-callbacks.txt.

Every fmt x charset x hash combination of the handler URL receives a status push and an
incoming-SMS push at a real aiohttp handler; bodies are decoded here, hashes recomputed here.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import zlib
from datetime import datetime
from urllib.parse import parse_qsl, quote_plus
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from smsgate.config import NotifierConfig
from smsgate.dialects.smsc.callbacks import SmscCallbacks
from tests.dialects.smsc.conftest import call
from tests.support import servers
from tests.support.servers import Gateway, Received, Receiver, account, start_gateway

ZONE = "Europe/Moscow"
SENDER = "Тест"  # Cyrillic sender: the status push carries it in the handler's charset
MO_TEXT = "Привет мир"
STATUS_FIELDS = ["id", "phone", "status", "time", "ts", "cnt", "type", "cost", "flag", "sender"]
MO_FIELDS = ["id", "phone", "mes", "to", "smsc", "sent", "time"]
PY_CODEC = {"windows-1251": "cp1251", "utf-8": "utf-8", "koi8-r": "koi8_r"}


def fields_of(received: Received, fmt: str | None, codec: str) -> list[tuple[str, str]]:
    """The pushed parameters in order, as strings (a handler's $_POST, in effect)."""
    if fmt == "3":
        return [(k, str(v)) for k, v in json.loads(received.body.decode(codec)).items()]
    if fmt == "2":
        root = ElementTree.fromstring(received.body)
        return [(child.tag, child.text or "") for child in root]
    return parse_qsl(received.body.decode("ascii"), keep_blank_values=True, encoding=codec)


def expected_hash(kind: str, text: str, codec: str) -> str:
    data = text.encode(codec)
    if kind == "md5":
        return hashlib.md5(data).hexdigest()
    if kind == "sha1":
        return hashlib.sha1(data).hexdigest()
    return str(zlib.crc32(data) & 0xFFFFFFFF)


COMBOS = list(
    itertools.product(
        [None, "2", "3"], [None, "windows-1251", "utf-8", "koi8-r"], [None, "md5", "sha1", "crc32"]
    )
)


async def test_every_format_charset_and_hash(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    specs = []
    for i, (fmt, charset, hash_name) in enumerate(COMBOS):
        query = []
        if charset:
            query.append(f"charset={charset}")
        if fmt:
            query.append(f"fmt={fmt}")
        if hash_name:
            query.append(f"{hash_name}=sec-{i}_x")
        url = f"{receiver.url}/h{i}" + ("?" + "&".join(query) if query else "")
        specs.append(
            account(f"c{i}", timezone=ZONE, senders=[SENDER, "ACME"], callback_urls={"smsc": url})
        )
    await gateway.provision(*specs)
    for i in range(len(COMBOS)):
        auth = {"login": f"c{i}", "psw": f"c{i}-pw", "charset": "utf-8"}
        _, body, _ = await call(
            http, "/sys/send.php", phones="79651111111", mes="hi", sender=SENDER, id=i + 1, **auth
        )
        assert body == f"OK - 1 SMS, ID - {i + 1}".encode()
        r = await http.post(
            "/simulator/incoming",
            json={"from": "+79652222222", "to": "ACME", "text": MO_TEXT},
            headers={"Authorization": f"Bearer c{i}-token"},
        )
        assert r.status == 202
    await receiver.wait_count(2 * len(COMBOS), timeout=30)
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 2 * len(COMBOS)  # final status once, incoming once

    for i, (fmt, charset, hash_name) in enumerate(COMBOS):
        effective = charset or "windows-1251"
        if fmt and effective == "koi8-r":
            effective = "windows-1251"  # "with fmt, koi8-r is not used"
        codec = PY_CODEC[effective]
        got = [r for r in receiver.requests if r.path == f"/h{i}"]
        assert len(got) == 2 and all(r.method == "POST" and r.query == {} for r in got)
        mo = next(r for r in got if b"mes" in r.body)
        dr = next(r for r in got if r is not mo)
        extra = [(k, v) for k, v in (("charset", charset), ("fmt", fmt)) if v]
        ctype = {
            None: "application/x-www-form-urlencoded",
            "2": "application/xml",
            "3": "application/json",
        }[fmt]
        assert dr.headers["Content-Type"].startswith(ctype)

        # the status push
        pushed = fields_of(dr, fmt, codec)
        names = [k for k, _ in pushed]
        assert names == STATUS_FIELDS + [k for k, _ in extra] + ([hash_name] if hash_name else [])
        values = dict(pushed)
        assert values["id"] == str(i + 1) and values["phone"] == "79651111111"
        assert values["status"] == "1" and values["cnt"] == "1" and values["type"] == "0"
        assert values["flag"] == "0" and values["cost"] == "0.50" and values["sender"] == SENDER
        ts = int(values["ts"])
        assert values["time"] == datetime.fromtimestamp(ts, ZoneInfo(ZONE)).strftime(
            "%d.%m.%y %H:%M:%S"
        )
        for k, v in extra:
            assert values[k] == v
        if fmt is None:
            assert quote_plus(SENDER.encode(codec)).encode() in dr.body
        elif fmt == "3":
            assert SENDER.encode(codec) in dr.body
        if hash_name:
            assert f"sec-{i}_x".encode() not in dr.body
            text = f"{i + 1}:79651111111:1:sec-{i}_x"
            assert values[hash_name] == expected_hash(hash_name, text, codec)

        # the incoming push
        pushed = fields_of(mo, fmt, codec)
        assert [k for k, _ in pushed] == MO_FIELDS + [k for k, _ in extra] + (
            [hash_name] if hash_name else []
        )
        values = dict(pushed)
        assert values["phone"] == "79652222222" and values["mes"] == MO_TEXT
        assert values["to"] == "ACME" and values["id"].isdigit()
        assert abs(int(values["time"]) - ts) < 30 and values["sent"] == values["time"]
        if fmt is None:
            assert quote_plus(MO_TEXT.encode(codec)).encode() in mo.body
        elif fmt == "3":
            assert MO_TEXT.encode(codec) in mo.body
        if hash_name:
            text = f"79652222222:{MO_TEXT}:ACME:sec-{i}_x"
            assert values[hash_name] == expected_hash(hash_name, text, codec)


async def test_bang_splits_get_and_post(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    url = f"{receiver.url}/handler.php!param1=a&param2?param3=c&param4&md5=topsecret"
    await gateway.provision(account("bang", callback_urls={"smsc": url}))
    await call(
        http, "/sys/send.php", phones="79651111111", mes="x", id=9, login="bang", psw="bang-pw"
    )
    (got,) = await receiver.wait_count(1)
    assert got.method == "POST" and got.path == "/handler.php"
    assert got.query == {"param1": "a", "param2": ""}
    pushed = parse_qsl(got.body.decode(), keep_blank_values=True, encoding="cp1251")
    assert [k for k, _ in pushed] == [*STATUS_FIELDS, "param3", "param4", "md5"]
    values = dict(pushed)
    assert values["param3"] == "c" and values["param4"] == ""
    assert values["md5"] == hashlib.md5(b"9:79651111111:1:topsecret").hexdigest()
    assert b"param1" not in got.body and b"topsecret" not in got.body


async def test_flash_and_failure_fields(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await gateway.provision(account("fl", callback_urls={"smsc": receiver.url + "/f?fmt=3"}))
    auth = {"login": "fl", "psw": "fl-pw"}
    await call(http, "/sys/send.php", phones="79651111111", mes="x", id=1, flash=1, **auth)
    await call(http, "/sys/send.php", phones="79991234567", mes="x", id=2, **auth)
    await receiver.wait_count(2)
    pushes = {json.loads(r.body)["id"]: json.loads(r.body) for r in receiver.requests}
    assert pushes[1]["type"] == 1 and pushes[1]["flag"] == 1 and "err" not in pushes[1]
    assert pushes[2]["status"] == 22 and pushes[2]["err"] == 1  # err only when not zero
    assert list(pushes[2])[:6] == ["id", "phone", "status", "time", "ts", "err"]


async def test_handler_failing_for_a_while_gets_every_push(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    answered: list[int] = []

    def respond(req: Received, n: int) -> tuple[int, bytes]:
        status = 500 if n <= 5 else 200
        answered.append(status)
        return status, b""

    receiver.respond = respond
    (aid,) = await gateway.provision(account("flaky", callback_urls={"smsc": receiver.url + "/"}))
    for i in (1, 2, 3):
        await call(
            http,
            "/sys/send.php",
            phones=f"7965111111{i}",
            mes="x",
            id=i,
            login="flaky",
            psw="flaky-pw",
        )

    async def all_done() -> bool:
        return len(await gateway.store.outbox_items(aid, "done")) == 3

    await gateway.wait_for(all_done, timeout=20)
    ok_ids = {
        dict(parse_qsl(r.body.decode()))["id"]
        for r, status in zip(receiver.requests, answered, strict=True)
        if status == 200
    }
    assert ok_ids == {"1", "2", "3"} and answered.count(500) == 5
    seen = len(receiver.requests)
    await asyncio.sleep(0.6)  # more than two retry intervals (4 minutes x 0.001)
    assert len(receiver.requests) == seen


@pytest.mark.parametrize("status", [404])
async def test_404_stops_retries(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, status: int
) -> None:
    receiver.respond = lambda req, n: (status, b"")
    (aid,) = await gateway.provision(account("gone", callback_urls={"smsc": receiver.url + "/"}))
    await call(
        http, "/sys/send.php", phones="79651111111", mes="x", id=1, login="gone", psw="gone-pw"
    )
    await receiver.wait_count(1)
    await asyncio.sleep(1.0)  # four retry intervals
    assert len(receiver.requests) == 1
    assert len(await gateway.store.outbox_items(aid, "dead")) == 1


def test_retry_policy_is_the_seeds() -> None:
    policy = SmscCallbacks()
    assert policy.verdict(200, b"") == "ok"
    assert policy.verdict(404, b"") == "stop"
    for status in (201, 204, 301, 400, 500, 503):
        assert policy.verdict(status, b"") == "retry"
    assert [policy.retry_delay(n) for n in range(1, 50)] == [240.0] * 49
    assert policy.retry_delay(50) is None


async def test_fifty_attempts_in_all(database_url: str, receiver: Receiver) -> None:
    config = servers.test_config(
        database_url, notifier=NotifierConfig(poll=0.01, delay_scale=0.0001, timeout=5.0)
    )
    gw = await start_gateway(config)
    try:
        receiver.respond = lambda req, n: (500, b"")
        (aid,) = await gw.provision(account("down", callback_urls={"smsc": receiver.url + "/"}))
        async with aiohttp.ClientSession(base_url=gw.url) as http:
            await call(
                http, "/sys/send.php", phones="79651111111", mes="x", login="down", psw="down-pw"
            )

        async def dead() -> bool:
            return len(await gw.store.outbox_items(aid, "dead")) == 1

        await gw.wait_for(dead, timeout=30)
        await asyncio.sleep(0.2)
        assert len(receiver.requests) == 50
        assert len({r.body for r in receiver.requests}) == 1  # the same push each time
    finally:
        await gw.stop()
