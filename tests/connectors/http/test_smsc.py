"""The SMSC.ru connector against a fake written from seeds/smsc-callbacks.txt (the status push
and its signature) and the send, status and balance calls it names."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from smsgate.connectors.base import OutcomeUnknown
from smsgate.connectors.http import build_upstream
from smsgate.connectors.http.base import UpstreamConfig
from smsgate.connectors.http.smsc import SmscConnector
from smsgate.connectors.http.smsc_codes import (
    DELIVERY_ERRORS,
    ERRORS,
    STATUSES,
    error_code,
    status_of,
)
from smsgate.core.errors import ErrorCode, retryable
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, Sink, message, settled
from tests.connectors.http.fakes.smsc import FakeSmsc, push
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

SECRET = "dr-Secret_1"  # the seed: "латинские буквы, цифры, минус и подчеркивание"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSmsc]:
    async with FakeSmsc(login="acme", psw="pa55") as f:
        yield f


def config(fake: FakeSmsc, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "smscru", "kind": "smsc", "url": fake.url, "login": "acme", "password": "pa55",
        "timeout": 1.0, "allow_networks": LOOPBACK, "dr_secret": SECRET,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


@pytest.fixture
async def smsc(fake: FakeSmsc, store: Store) -> AsyncIterator[SmscConnector]:
    connector = build_upstream(config(fake), store)
    assert isinstance(connector, SmscConnector)
    yield connector
    await connector.stop()


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def same_text(*phones: str) -> list[Any]:
    return [message(i, phone=p, text="Hello") for i, p in enumerate(phones)]


async def test_several_phones_in_one_request(fake: FakeSmsc, smsc: SmscConnector) -> None:
    batch = same_text("+79651111111", "+79652222222", "+79653333333")
    reports = await smsc.submit(batch)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/sys/send.php")
    sent = form(request.body)
    assert sent["phones"] == "79651111111,79652222222,79653333333"
    assert (sent["mes"], sent["sender"], sent["fmt"], sent["id"]) == (
        "Hello",
        "Test",
        "3",
        batch[0].id,
    )
    assert sent["login"] == "acme" and "pa55" not in request.target  # credentials in the body
    assert [(r.message_id, r.status) for r in reports] == [(m.id, Status.SUBMITTED) for m in batch]
    assert [r.carrier_id for r in reports] == [f"{batch[0].id}:{m.phone[1:]}" for m in batch]


async def test_requests_split_by_text_and_repeated_phone(
    fake: FakeSmsc, smsc: SmscConnector
) -> None:
    batch = [*same_text("+79651111111", "+79651111111"), message(9)]
    reports = await smsc.submit(batch)
    assert all(r.status is Status.SUBMITTED for r in reports)
    assert sorted(form(r.body)["phones"] for r in fake.requests) == ["79651111111"] * 3


async def test_requests_hold_batch_phones_at_most(fake: FakeSmsc, store: Store) -> None:
    smsc = SmscConnector(config(fake, batch=2), store)
    try:
        batch = same_text(*(f"+7965111111{i}" for i in range(5)))
        reports = await smsc.submit(batch)
        assert [r.status for r in reports] == [Status.SUBMITTED] * 5
        sent = sorted(len(form(r.body)["phones"].split(",")) for r in fake.requests)
        assert sent == [1, 2, 2]
    finally:
        await smsc.stop()


async def test_invalid_phone_among_valid_ones(fake: FakeSmsc, smsc: SmscConnector) -> None:
    good, bad = same_text("+79651111111", "+70000000000")
    reports = await smsc.submit([good, bad])
    assert reports[0].status is Status.SUBMITTED
    assert (reports[1].status, reports[1].error_code) == (Status.REJECTED, ErrorCode.INVALID_PHONE)
    assert not retryable(reports[1].error_code)


@pytest.mark.parametrize(
    ("code", "expected"),
    [(2, ErrorCode.UNAVAILABLE), (3, ErrorCode.UNAVAILABLE), (7, ErrorCode.INVALID_PHONE)],
)
async def test_error_answers(
    fake: FakeSmsc, smsc: SmscConnector, store: Store, code: int, expected: ErrorCode
) -> None:
    fake.error_code = code
    [report] = await smsc.submit([message(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, expected)
    assert report.carrier_error is not None and report.carrier_error.startswith(str(code))
    assert await store.connector_log_pending("smscru") == []


async def test_wrong_login_is_retryable_elsewhere(fake: FakeSmsc, store: Store) -> None:
    smsc = SmscConnector(config(fake, password="wrong"), store)
    try:
        [report] = await smsc.submit([message(1)])
        assert report.error_code == ErrorCode.UNAVAILABLE and retryable(report.error_code)
    finally:
        await smsc.stop()


async def test_5xx_is_a_retryable_refusal(fake: FakeSmsc, smsc: SmscConnector) -> None:
    fake.fail("5xx")
    [report] = await smsc.submit([message(1)])
    assert report.status is Status.REJECTED and retryable(report.error_code)
    assert not fake.statuses


async def test_refused_connection_is_retryable(fake: FakeSmsc, smsc: SmscConnector) -> None:
    await fake.refuse()
    [report] = await smsc.submit([message(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.NETWORK_ERROR)


async def test_slow_answer_within_the_timeout_is_ok(fake: FakeSmsc, smsc: SmscConnector) -> None:
    fake.fail("slow")
    [report] = await smsc.submit([message(1)])
    assert report.status is Status.SUBMITTED


@both_backends
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_no_answer_is_unknown_and_recover_asks_by_our_id(
    fake: FakeSmsc, smsc: SmscConnector, store: Store, fault: str
) -> None:
    taken = same_text("+79651111111", "+79652222222")
    lost = message(5, phone="+79653333333")
    fake.fail(fault, takes=True)
    with pytest.raises(OutcomeUnknown) as raised:
        await smsc.submit(taken)
    assert raised.value.unknown == taken
    fake.fail(fault, takes=False)
    with pytest.raises(OutcomeUnknown):
        await smsc.submit([lost])
    sent_before = len(fake.statuses)
    reports, resend = await smsc.recover([*taken, lost])
    assert resend == [lost]  # status.php: -3, never reached SMSC.ru
    final = {r.message_id: r.status for r in reports if r.status.is_final}
    assert final == {m.id: Status.DELIVERED for m in taken}
    assert len(fake.statuses) == sent_before == 2  # nothing sent again by recover
    statuses = [form(r.body) for r in fake.requests if r.path == "/sys/status.php"]
    assert {(s["id"], s["phone"]) for s in statuses} == {
        (taken[0].id, "79651111111"), (taken[0].id, "79652222222"), (lost.id, "79653333333")
    }  # fmt: skip
    assert await store.connector_log_pending("smscru") == []


async def test_resent_after_a_lost_answer_is_taken_not_doubled(
    fake: FakeSmsc, smsc: SmscConnector
) -> None:
    m = message(1)
    fake.fail("timeout", takes=True)
    with pytest.raises(OutcomeUnknown):
        await smsc.submit([m])
    [report] = await smsc.submit([m])  # error 9: the same id to the same phone
    assert (report.status, report.carrier_id) == (Status.SUBMITTED, f"{m.id}:79651111111")
    assert len(fake.statuses) == 1


@both_backends
async def test_status_pull_to_delivered(fake: FakeSmsc, store: Store, sink: Sink) -> None:
    smsc = SmscConnector(config(fake, status_poll=0.05), store)
    await smsc.start(sink)
    try:
        batch = same_text("+79651111111", "+79652222222")
        await smsc.submit(batch)
        final = await sink.wait_final(2)
        assert {final[m.id].status for m in batch} == {Status.DELIVERED}
        await settled(store, "smscru")
    finally:
        await smsc.stop()


async def test_status_pull_to_undelivered(fake: FakeSmsc, store: Store, sink: Sink) -> None:
    fake.final = 20
    smsc = SmscConnector(config(fake, status_poll=0.05), store)
    await smsc.start(sink)
    try:
        m = message(1)
        await smsc.submit([m])
        r = (await sink.wait_final(1))[m.id]
        assert (r.status, r.error_code) == (Status.UNDELIVERED, ErrorCode.UNKNOWN_SUBSCRIBER)
        assert r.carrier_error == "status 20 err 1"
    finally:
        await smsc.stop()


async def test_taken_and_never_reported_stays_submitted(
    fake: FakeSmsc, store: Store, sink: Sink
) -> None:
    fake.never_report = True
    smsc = SmscConnector(config(fake, status_poll=0.02), store)
    await smsc.start(sink)
    try:
        m = message(1)
        [report] = await smsc.submit([m])
        assert report.status is Status.SUBMITTED
        await asyncio.sleep(0.2)
        assert len([r for r in fake.requests if r.path == "/sys/status.php"]) >= 3
        assert sink.final() == {}
        assert m.id in {e.message_id for e in await store.connector_log_pending("smscru")}
    finally:
        await smsc.stop()


# DR push: the seed's parameters and signature --------------------------------------------------
@pytest.mark.parametrize("algorithm", ["md5", "sha1"])
async def test_signed_push(smsc: SmscConnector, algorithm: str) -> None:
    m = message(1)
    await smsc.submit([m])
    body = push(m.id, "79651111111", 1, SECRET, algorithm)
    # the seed: "MD5-хеш строки "id:phone:status:<секретная строка>""
    expected = hashlib.new(algorithm, f"{m.id}:79651111111:1:{SECRET}".encode()).hexdigest()
    assert form(body)[algorithm] == expected
    status, answer, reports = await smsc.handle_push("POST", {}, {}, body)
    assert (status, answer) == (200, b"OK")
    final = [r for r in reports if r.status.is_final]
    assert [(r.message_id, r.status, r.carrier_id, r.at) for r in final] == [
        (m.id, Status.DELIVERED, f"{m.id}:79651111111", 1700000000.0)
    ]


async def test_push_for_a_later_phone_of_a_request_names_the_carrier_id(
    smsc: SmscConnector,
) -> None:
    batch = same_text("+79651111111", "+79652222222")
    await smsc.submit(batch)
    body = push(batch[0].id, "79652222222", 20, SECRET, err="6")
    _, _, reports = await smsc.handle_push("POST", {}, {}, body)
    [r] = [r for r in reports if r.status.is_final]
    assert (r.message_id, r.carrier_id) == ("", f"{batch[0].id}:79652222222")
    assert (r.status, r.error_code) == (Status.UNDELIVERED, ErrorCode.ABSENT_SUBSCRIBER)


@pytest.mark.parametrize(
    "body",
    [
        push("x1", "79651111111", 1, "not-the-secret"),  # wrong secret
        push("x1", "79651111111", 1, SECRET, "sha1").replace(b"status=1", b"status=3"),  # altered
        push("x1", "79651111111", 1, SECRET).split(b"&md5=")[0],  # unsigned
    ],
)
async def test_badly_signed_push_is_refused(
    smsc: SmscConnector, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status, _, reports = await smsc.handle_push("POST", {}, {}, body)
    assert (status, reports) == (403, [])
    assert "no valid signature" in caplog.text and SECRET not in caplog.text


async def test_crc32_and_no_secret_are_refused(fake: FakeSmsc, store: Store) -> None:
    smsc = SmscConnector(config(fake, dr_secret=""), store)
    body = push("x1", "79651111111", 1, SECRET)
    assert (await smsc.handle_push("POST", {}, {}, body))[0] == 403
    crc = push("x1", "79651111111", 1, SECRET).split(b"&md5=")[0] + b"&crc32=12345"
    assert (await smsc.handle_push("POST", {}, {}, crc))[0] == 403


async def test_json_push(smsc: SmscConnector) -> None:
    signed = hashlib.md5(f"a1:79651111111:3:{SECRET}".encode()).hexdigest()
    body = b'{"id": "a1", "phone": "79651111111", "status": 3, "md5": "%s"}' % signed.encode()
    status, _, reports = await smsc.handle_push("POST", {"fmt": "3"}, {}, body)
    assert status == 200 and [r.status for r in reports][-1] is Status.EXPIRED


@pytest.mark.parametrize("charset", ["windows-1251", "utf-8", "koi8-r"])
async def test_incoming_sms_push_in_its_charset(
    fake: FakeSmsc, store: Store, sink: Sink, charset: str
) -> None:
    smsc = SmscConnector(config(fake), store)
    await smsc.start(sink)
    try:
        text, codec = "Привет, мир", {"windows-1251": "cp1251"}.get(charset, charset)
        # the seed: sha1 of "phone:mes:to:<секретная строка>", in the push's charset
        signed = f"79651111111:{text}:79990000000:{SECRET}".encode(codec)
        fields = {"id": "5", "phone": "79651111111", "mes": text, "to": "79990000000",
                  "sent": "1700000000", "time": "1700000001",
                  "sha1": hashlib.sha1(signed).hexdigest()}  # fmt: skip
        if charset != "windows-1251":
            fields["charset"] = charset  # the handler URL's ?charset=, POSTed with the rest
        body = urlencode(fields, encoding=codec).encode()
        assert await smsc.handle_push("POST", {}, {}, body) == (200, b"OK", [])
        [mo] = sink.mo
        assert (mo.phone, mo.to, mo.text, mo.at) == (
            "+79651111111",
            "79990000000",
            text,
            1700000001,
        )
        forged = body.replace(b"to=799", b"to=788")
        assert (await smsc.handle_push("POST", {}, {}, forged))[0] == 403
        assert len(sink.mo) == 1
    finally:
        await smsc.stop()


async def test_call_push_is_answered_and_not_taken(smsc: SmscConnector) -> None:
    signed = hashlib.md5(f"79651111111:1700000000:{SECRET}".encode()).hexdigest()
    body = f"waitcall=1&phone=79651111111&ts=1700000000&md5={signed}".encode()
    assert await smsc.handle_push("POST", {}, {}, body) == (200, b"OK", [])


async def test_balance(fake: FakeSmsc, smsc: SmscConnector) -> None:
    assert await smsc.balance() == 1_000_500_000
    assert fake.requests[-1].path == "/sys/balance.php"


async def test_secrets_never_logged(
    fake: FakeSmsc, smsc: SmscConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("5xx")
    fake.fail("timeout")
    await smsc.submit([message(1)])
    with pytest.raises(OutcomeUnknown):
        await smsc.submit([message(2)])
    await smsc.handle_push("POST", {}, {}, push("x", "7965", 1, "bad"))
    fake.error_code = 7
    await smsc.submit([message(4)])  # refused with HTTP 200: logged all the same
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(smsc.config)
    assert "upstream smscru (smsc): 1 of 1 messages refused (0 may go elsewhere)" in text
    assert "7 invalid number" in text
    assert "upstream smscru (smsc) send POST: HTTP 503" in text
    assert "pa55" not in text and SECRET not in text


# The code tables, row by row ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "expected", "again"),
    [
        (1, ErrorCode.INVALID_FIELD, False),
        (2, ErrorCode.UNAVAILABLE, True),
        (3, ErrorCode.UNAVAILABLE, True),
        (4, ErrorCode.UNAVAILABLE, True),
        (5, ErrorCode.BAD_SCHEDULE, False),
        (6, ErrorCode.CARRIER_REJECTED, False),
        (7, ErrorCode.INVALID_PHONE, False),
        (8, ErrorCode.CARRIER_REJECTED, False),
        (9, ErrorCode.THROTTLED, True),
    ],
)
def test_send_errors(code: int, expected: ErrorCode, again: bool) -> None:
    assert ERRORS[code] is error_code(code) is expected
    assert retryable(expected) is again


@pytest.mark.parametrize(
    ("status", "err", "expected"),
    [
        (-1, 0, (Status.SUBMITTED, None)),
        (0, 0, (Status.SUBMITTED, None)),
        (1, 0, (Status.DELIVERED, None)),
        (2, 0, (Status.DELIVERED, None)),
        (3, 0, (Status.EXPIRED, ErrorCode.EXPIRED)),
        (20, 0, (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)),
        (20, 1, (Status.UNDELIVERED, ErrorCode.UNKNOWN_SUBSCRIBER)),
        (20, 6, (Status.UNDELIVERED, ErrorCode.ABSENT_SUBSCRIBER)),
        (22, 0, (Status.UNDELIVERED, ErrorCode.INVALID_PHONE)),
        (23, 254, (Status.REJECTED, ErrorCode.SENDER_NOT_ALLOWED)),
        (23, 252, (Status.REJECTED, ErrorCode.STOP_LISTED)),
        (24, 0, (Status.REJECTED, ErrorCode.UNAVAILABLE)),
        (25, 0, (Status.UNDELIVERED, ErrorCode.BLOCKED_SUBSCRIBER)),
        (1, 6, (Status.DELIVERED, None)),  # a delivered one carries no error
        (-3, 0, None),
    ],
)
def test_statuses_in_combination(
    status: int, err: int, expected: tuple[Status, ErrorCode | None] | None
) -> None:
    assert status_of(status, err) == expected


def test_every_status_and_delivery_error_is_mapped() -> None:
    assert set(STATUSES) == {-2, -1, 0, 1, 2, 3, 4, 20, 22, 23, 24, 25}
    assert {1, 6, 13, 248, 249, 252, 254, 255} <= set(DELIVERY_ERRORS)


# Against smsgate's own smsc dialect: the same requests, and its pushes' signatures ----------
async def test_against_smsgates_own_dialect(gateway: Gateway, receiver: Receiver) -> None:
    handler = f"{receiver.url}/dr?charset=utf-8&sha1={SECRET}"
    await gateway.provision(account("acme", callback_urls={"smsc": handler}))
    sink = Sink()
    own = SmscConnector(
        UpstreamConfig(
            name="own", kind="smsc", url=gateway.url, login="acme", password="acme-pw",
            allow_networks=LOOPBACK, dr_secret=SECRET, status_poll=0.05, timeout=5.0,
        ),
        gateway.store,
    )  # fmt: skip
    await own.start(sink)
    try:
        batch = [message(1, sender="ACME", text="Hi"), message(2, phone="+79652222222",
                 sender="ACME", text="Hi")]  # fmt: skip
        reports = await own.submit(batch)
        assert [r.status for r in reports] == [Status.SUBMITTED] * 2
        final = await sink.wait_final(2, timeout=10)
        assert {final[m.id].status for m in batch} == {Status.DELIVERED}
        [again] = await own.submit(batch[:1])  # error 9 there: taken, not sent twice
        assert again.status is Status.SUBMITTED
        assert await own.balance() == 999_000_000  # 1000 less two parts at 0.50
        pushes = await receiver.wait_count(2, timeout=10)
        for push_ in pushes:
            status, _, pushed = await own.handle_push(
                push_.method, push_.query, push_.headers, push_.body
            )
            assert status == 200
            assert [r.status for r in pushed if r.status.is_final] == [Status.DELIVERED]
    finally:
        await own.stop()


@pytest.mark.parametrize(
    ("left", "valid"),
    [(None, None), (90.0, "00:01"), (3 * 3600 + 125.0, "03:02"), (86_460.0, None)],
)
async def test_valid_is_the_earliest_expiry(
    fake: FakeSmsc, smsc: SmscConnector, left: float | None, valid: str | None
) -> None:
    now = time.time()
    later = message(2, phone="+79652222222", text="Hi", expires_at=now + 86_400 * 2)
    first = message(1, text="Hi", expires_at=None if left is None else now + left)
    await smsc.submit([first, later])
    assert form(fake.requests[0].body).get("valid") == valid
