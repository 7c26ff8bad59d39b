"""The SMSGW2 connector against a fake Kcell SMSGW2 written from seeds/kcell-smsgw2-rest.txt.

Expected bytes are the seed's own examples, quoted below with their sections."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsgate.connectors.base import OutcomeUnknown
from smsgate.connectors.http import build_upstream
from smsgate.connectors.http.base import UpstreamConfig
from smsgate.connectors.http.smsgw2 import Smsgw2Connector
from smsgate.connectors.http.smsgw2_codes import ERRORS, STATUSES, code_in_text, status_of
from smsgate.core.errors import ErrorCode as E
from smsgate.core.errors import retryable
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, Sink, message, settled
from tests.connectors.http.fakes.smsgw2 import FakeSmsgw2
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

# "Пример запроса" of a single message: its headers and body.
SEED_SINGLE_HEAD = """POST /app/smsgw/rest/v2/messages HTTP/1.1
Host: api.kcell.kz
Accept: application/json, text/plain, */*
Authorization: Basic pxT3bdk4dGYXNzd29db4
Content-Type: application/json;charset=utf-8"""
SEED_SINGLE = """{"client_message_id":"236234857", "sender":"SMSGW",
"recipient":"7701000000", "message_text":" тест"}"""

# "Пачка сообщений": the request body.
SEED_BATCH = """{"messages": [ {"client_message_id" : "236234858", "sender": "SMSGW",
"recipient": "77010000001", "message_text": "test 2"}, {"client_message_id" :
"236234859", "sender": "SMSGW", "recipient": "77010000002", "message_text":
"test 3"}]}"""

# "Пример запроса с http-заголовками" of a DR push, as the page wraps it: a line that ends in
# "-" was cut inside a word, the others at a space.
SEED_DR_WRAPPED = """{"delivery_report":[{"status":"DELIVERED","client_message_id":"batch_tst1104",
"error_code":null,"error_message":null,"segment_count":1,"init_time":"2016-
04-11 17:49:39","sent_time":"2016-04-11 17:49:39","status_time":"2016-04-11
17:49:42","message_id":5916504923,"sent_confirm_time":"2016-04-11
17:49:39","rn_code":"02","retry_count":0}]}"""
SEED_DR = SEED_DR_WRAPPED.replace("-\n", "-").replace("\n", " ").encode()

# The undeliverable report of "Отчеты о доставке MT" (its trailing commas dropped: the page's
# example is not valid JSON as printed).
SEED_DR_UNDELIVERABLE = b"""{"delivery_report": [
    {
      "client_message_id" : "3",
      "message_id"       : "34524",
      "status"           : " UNDELIVERABLE",
      "error_code"       : "11",
      "error_message"    : "Invalid recipient / destination address ",
      "segment_count"    : 1,
      "init_time"        : "2014-12-24 16:33:05",
      "status_time"      : "2014-12-24 16:33:05"
    }
]}"""

# "Уведомления о получении МО", its first report.
SEED_MO = """{
  "incoming_report": [
    {
      "message_id"      : 456795,
      "sender"          : "77010000000",
      "recipient"       : "9090",
      "text"            : "исходящее от абонента",
      "segment_count"  : 1,
      "receive_time"   : "2014-12-24 16:33:06",
      "rn_code"        : "02"
    }
  ]
}""".encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSmsgw2]:
    async with FakeSmsgw2() as f:
        yield f


def config(fake: FakeSmsgw2, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "kcell", "kind": "smsgw2", "url": fake.url + "/app/smsgw/rest/v2",
        "login": "kz-user", "password": "Kc3ll-pw", "timeout": 1.0, "allow_networks": LOOPBACK,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


@pytest.fixture
async def gw(fake: FakeSmsgw2, store: Store) -> AsyncIterator[Smsgw2Connector]:
    connector = build_upstream(config(fake), store)
    assert isinstance(connector, Smsgw2Connector)
    yield connector
    await connector.stop()


def kz(n: int, phone: str = "+77010000001", sender: str | None = "SMSGW", **kw: Any) -> Any:
    return message(n, phone=phone, sender=sender, **kw)


async def test_single_send_is_the_seeds_request(fake: FakeSmsgw2, gw: Smsgw2Connector) -> None:
    m = kz(1, text=" тест")
    [report] = await gw.submit([m])
    assert (report.status, report.carrier_id) == (Status.SUBMITTED, "12313")  # the seed's id
    [request] = fake.requests
    seed_lines = SEED_SINGLE_HEAD.splitlines()
    assert request.raw.split(b"\r\n")[0].decode() == seed_lines[0]
    for line in seed_lines[2:]:  # Accept, Authorization (ours), Content-Type
        name, _, value = line.partition(": ")
        if name == "Authorization":
            value = "Basic " + base64.b64encode(b"kz-user:Kc3ll-pw").decode()
        assert request.headers[name.lower()] == value
    body = request.json()
    assert list(body)[:4] == list(json.loads(SEED_SINGLE))
    assert body == {"client_message_id": m.id, "sender": "SMSGW", "recipient": "77010000001",
                    "message_text": " тест", "time_bounds": "full"}  # fmt: skip
    assert '"message_text":" тест"'.encode() in request.body  # UTF-8, as the seed sends


async def test_batch_send_is_the_seeds_request(fake: FakeSmsgw2, gw: Smsgw2Connector) -> None:
    batch = [kz(1), kz(2, phone="+77010000002")]
    reports = await gw.submit(batch)
    assert [r.status for r in reports] == [Status.SUBMITTED] * 2
    post, listing = fake.requests
    assert (post.method, post.path) == ("POST", "/app/smsgw/rest/v2/batches")
    body = post.json()
    seed = json.loads(SEED_BATCH)
    assert list(body) == list(seed)
    assert [list(i)[:4] for i in body["messages"]] == [list(i) for i in seed["messages"]]
    assert {i["time_bounds"] for i in body["messages"]} == {"full"}  # an optional parameter
    assert listing.method == "GET" and listing.path.startswith("/app/smsgw/rest/v2/batches/")
    assert {r.carrier_id for r in reports} == set(fake.messages)  # learnt from the listing


async def test_batch_id_spelt_as_in_the_seed(fake: FakeSmsgw2, gw: Smsgw2Connector) -> None:
    fake.batch_key = " batch_id"  # {" batch_id": "182532" }
    reports = await gw.submit([kz(1), kz(2)])
    assert [r.status for r in reports] == [Status.SUBMITTED] * 2


async def test_batch_split_by_size(fake: FakeSmsgw2, store: Store) -> None:
    gw = Smsgw2Connector(config(fake, batch=2), store)
    try:
        reports = await gw.submit([kz(i, phone=f"+7701000000{i}") for i in range(5)])
        assert [r.status for r in reports] == [Status.SUBMITTED] * 5
        posts = [r for r in fake.requests if r.method == "POST"]
        assert sorted(r.path.rsplit("/", 1)[1] for r in posts) == ["batches", "batches", "messages"]
    finally:
        await gw.stop()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"sender": "OTHER"}, E.SENDER_NOT_ALLOWED),  # "User can't use alias OTHER ..."
        ({"phone": "+4915112345678"}, E.INVALID_PHONE),  # "format should be 7xxxYYYzzzz"
    ],
)
async def test_400_refusals_in_the_seeds_words(
    gw: Smsgw2Connector, fields: dict[str, Any], error: E
) -> None:
    [report] = await gw.submit([kz(1, **fields)])
    assert (report.status, report.error_code) == (Status.REJECTED, error)
    assert not retryable(report.error_code)


async def test_duplicate_client_message_id_means_taken(
    fake: FakeSmsgw2, gw: Smsgw2Connector
) -> None:
    m = kz(1)
    await gw.submit([m])
    [again] = await gw.submit([m])  # e.g. sent again after a lost answer
    assert again.status is Status.SUBMITTED and len(fake.messages) == 1


async def test_batch_with_a_bad_message_reports_it_by_pull(
    fake: FakeSmsgw2, store: Store, sink: Sink
) -> None:
    gw = Smsgw2Connector(config(fake, status_poll=0.05), store)
    await gw.start(sink)
    try:
        good, bad = kz(1), kz(2, phone="+770100")
        reports = await gw.submit([good, bad])
        assert [r.status for r in reports] == [Status.SUBMITTED] * 2  # fail-fast is off
        final = await sink.wait_final(2)
        assert final[good.id].status is Status.DELIVERED
        assert (final[bad.id].status, final[bad.id].error_code) == (
            Status.UNDELIVERED,
            E.INVALID_PHONE,
        )
        assert (final[bad.id].carrier_error or "").startswith("11: Invalid recipient")
        await settled(store, "kcell")
        pulls = {r.path.rsplit("/", 2)[-2] for r in fake.requests if r.method == "GET"}
        assert "messages" in pulls  # by the provider's id, learnt from the batch listing
    finally:
        await gw.stop()


async def test_5xx_and_refused_connection_are_retryable(
    fake: FakeSmsgw2, gw: Smsgw2Connector
) -> None:
    fake.fail("5xx")
    [report] = await gw.submit([kz(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, E.UNAVAILABLE)
    await fake.refuse()
    [report] = await gw.submit([kz(2)])
    assert (report.status, report.error_code) == (Status.REJECTED, E.NETWORK_ERROR)
    assert not fake.messages


async def test_slow_answer_within_the_timeout_is_ok(fake: FakeSmsgw2, gw: Smsgw2Connector) -> None:
    fake.fail("slow")
    [report] = await gw.submit([kz(1)])
    assert report.status is Status.SUBMITTED


@both_backends
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_no_answer_is_unknown_and_recover_asks_by_our_id(
    fake: FakeSmsgw2, gw: Smsgw2Connector, store: Store, fault: str
) -> None:
    taken, lost = kz(1), kz(2)
    fake.fail(fault, takes=True)
    with pytest.raises(OutcomeUnknown) as raised:
        await gw.submit([taken])
    assert raised.value.unknown == [taken]
    fake.fail(fault, takes=False)
    with pytest.raises(OutcomeUnknown):
        await gw.submit([lost])
    fake.auto_finish = False
    reports, resend = await gw.recover([taken, lost])
    assert resend == [lost]
    assert [(r.message_id, r.status, r.carrier_id) for r in reports] == [
        (taken.id, Status.SUBMITTED, "12313")
    ]
    lookups = [r.path for r in fake.requests if r.method == "GET"]
    assert f"/app/smsgw/rest/v2/users/kz-user/client_messages/{taken.id}" in lookups
    assert len(fake.messages) == 1
    pending = await store.connector_log_pending("kcell")
    assert {(e.message_id, e.carrier_id) for e in pending if e.outcome == "submitted"} == {
        (taken.id, "12313")
    }  # owed its final word, pulled by the provider's id from now on


async def test_taken_and_never_reported_stays_submitted(
    fake: FakeSmsgw2, store: Store, sink: Sink
) -> None:
    fake.never_report = True
    gw = Smsgw2Connector(config(fake, status_poll=0.02), store)
    await gw.start(sink)
    try:
        [report] = await gw.submit([kz(1)])
        assert report.status is Status.SUBMITTED
        await asyncio.sleep(0.2)
        assert len([r for r in fake.requests if r.method == "GET"]) >= 3
        assert sink.final() == {}
        assert len(await store.connector_log_pending("kcell")) == 2  # sending, submitted
    finally:
        await gw.stop()


async def test_dr_push_from_the_seed(gw: Smsgw2Connector) -> None:
    status, body, reports = await gw.handle_push("POST", {}, {}, SEED_DR)
    assert (status, body) == (204, b"")  # the seed: 204, or 200/201 with "OK"
    [r] = [r for r in reports if r.status.is_final]
    assert (r.message_id, r.status, r.carrier_id) == (
        "batch_tst1104",
        Status.DELIVERED,
        "5916504923",
    )
    assert r.at == 1460375382.0  # 2016-04-11 17:49:42 in Almaty (UTC+6 then)
    _, _, reports = await gw.handle_push("POST", {}, {}, SEED_DR_UNDELIVERABLE)
    [r] = [r for r in reports if r.status.is_final]
    assert (r.message_id, r.status, r.error_code) == ("3", Status.UNDELIVERED, E.INVALID_PHONE)


async def test_dr_push_without_client_id_names_the_providers_id(gw: Smsgw2Connector) -> None:
    body = SEED_DR.replace(b'"client_message_id":"batch_tst1104", ', b"")
    assert body != SEED_DR
    _, _, reports = await gw.handle_push("POST", {}, {}, body)
    assert [(r.message_id, r.carrier_id) for r in reports] == [("", "5916504923")] * 2


async def test_mo_push_from_the_seed_goes_to_the_sink(gw: Smsgw2Connector, sink: Sink) -> None:
    await gw.start(sink)
    assert await gw.handle_push("POST", {}, {}, SEED_MO) == (204, b"", [])
    [mo] = sink.mo
    assert (mo.phone, mo.to, mo.text) == ("+77010000000", "9090", "исходящее от абонента")


@pytest.mark.parametrize(
    "body", [b"OK", b"[]", b'{"delivery_report": 5}', b'{"incoming_report": "x"}']
)
async def test_dr_push_of_another_shape_is_refused(gw: Smsgw2Connector, body: bytes) -> None:
    assert (await gw.handle_push("POST", {}, {}, body))[0] == 400


async def test_dr_push_items_we_cannot_read_are_skipped(gw: Smsgw2Connector) -> None:
    body = b'{"delivery_report": [1, {"status": 5}], "incoming_report": [{"sender": 7}]}'
    assert await gw.handle_push("POST", {}, {}, body) == (204, b"", [])


async def test_no_balance_in_the_api(gw: Smsgw2Connector) -> None:
    assert await gw.balance() is None


async def test_secrets_never_logged(
    fake: FakeSmsgw2, gw: Smsgw2Connector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("5xx")
    fake.fail("reset")
    await gw.submit([kz(1)])
    with pytest.raises(OutcomeUnknown):
        await gw.submit([kz(2)])
    await gw.submit([kz(3, sender="OTHER")])
    token = base64.b64encode(b"kz-user:Kc3ll-pw").decode()
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(gw.config)
    assert "upstream kcell (smsgw2) send: reset" in text
    assert "can't use alias OTHER" in text  # the provider's refusal is visible
    assert "Kc3ll-pw" not in text and token not in text


# The code tables, row by row from the seed ------------------------------------------------
SEED_CODES: dict[int, E] = {
    1: E.UNKNOWN_SUBSCRIBER, 2: E.BAD_REQUEST, 3: E.BAD_REQUEST, 4: E.UNAVAILABLE,
    5: E.UNAVAILABLE, 6: E.INVALID_FIELD, 7: E.INVALID_FIELD, 8: E.SYSTEM_ERROR,
    9: E.CARRIER_REJECTED, 10: E.SENDER_NOT_ALLOWED, 11: E.INVALID_PHONE,
    12: E.CARRIER_REJECTED, 13: E.UNAVAILABLE, 14: E.UNAVAILABLE, 15: E.UNAVAILABLE,
    16: E.ABSENT_SUBSCRIBER, 17: E.SYSTEM_ERROR, 18: E.NETWORK_ERROR, 19: E.SYSTEM_ERROR,
    20: E.THROTTLED, 21: E.INVALID_FIELD, 22: E.EXPIRED, 23: E.DUPLICATE, 24: E.INVALID_FIELD,
    25: E.INVALID_FIELD, 26: E.SYSTEM_ERROR, 27: E.ABSENT_SUBSCRIBER,
    28: E.BLOCKED_SUBSCRIBER, 29: E.BLOCKED_SUBSCRIBER, 30: E.BLOCKED_SUBSCRIBER,
    31: E.ABSENT_SUBSCRIBER, 32: E.MEMORY_FULL, 33: E.BLOCKED_SUBSCRIBER,
    34: E.CARRIER_REJECTED, 35: E.CARRIER_REJECTED, 36: E.CARRIER_REJECTED,
    37: E.NETWORK_ERROR, 51: E.INVALID_FIELD, 52: E.INVALID_FIELD, 64: E.INVALID_FIELD,
    66: E.INVALID_FIELD, 67: E.INVALID_FIELD, 68: E.INVALID_FIELD, 69: E.SYSTEM_ERROR,
    72: E.SENDER_NOT_ALLOWED, 73: E.SENDER_NOT_ALLOWED, 80: E.INVALID_PHONE,
    81: E.INVALID_PHONE, 83: E.INVALID_FIELD, 84: E.INVALID_FIELD, 85: E.INVALID_FIELD,
    88: E.THROTTLED, 97: E.BAD_SCHEDULE, 98: E.BAD_VALIDITY, 99: E.INVALID_FIELD,
    100: E.NETWORK_ERROR, 101: E.CARRIER_REJECTED, 102: E.CARRIER_REJECTED,
    103: E.SYSTEM_ERROR, 192: E.INVALID_FIELD, 193: E.INVALID_FIELD, 194: E.INVALID_FIELD,
    195: E.INVALID_FIELD, 196: E.INVALID_FIELD, 254: E.NETWORK_ERROR, 255: E.SYSTEM_ERROR,
    10012: E.BAD_SCHEDULE,  # named under `schedule`
}  # fmt: skip


@pytest.mark.parametrize(("code", "error"), sorted(SEED_CODES.items()))
def test_seed_error_code(code: int, error: E) -> None:
    assert ERRORS[code] is error


def test_every_seed_code_is_in_the_table() -> None:
    assert set(ERRORS) == set(SEED_CODES)  # 0 "No error" is no refusal


def test_retryable_codes_are_the_providers_own_troubles() -> None:
    again = {c for c, e in ERRORS.items() if retryable(e)}
    assert {4, 5, 13, 14, 15, 20, 88} <= again  # links, login, queue, throttle
    assert not again & {1, 10, 11, 22, 23, 27, 29, 32}  # the message's or subscriber's


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("User can't use alias SMSGW to send messages", 10),  # the seed's example answer
        ("Duplicate client_message_id, should be unique for each message.", 23),
        ("Invalid recipient / destination address (format should be 7xxxYYYzzzz)", 11),
        ("Something else", None),
    ],
)
def test_codes_named_in_words(text: str, code: int | None) -> None:
    assert code_in_text(text) == code


@pytest.mark.parametrize(
    ("word", "code", "expected"),
    [
        ("NEW", None, (Status.SUBMITTED, None)),
        ("SENT", None, (Status.SUBMITTED, None)),
        ("EN_ROUTE", None, (Status.SUBMITTED, None)),
        ("DELIVERED", 0, (Status.DELIVERED, None)),
        ("FAILED", None, (Status.UNDELIVERED, E.SYSTEM_ERROR)),
        ("EXPIRED", 22, (Status.EXPIRED, E.EXPIRED)),
        ("UNDELIVERABLE", 27, (Status.UNDELIVERED, E.ABSENT_SUBSCRIBER)),
        (" UNDELIVERABLE", 11, (Status.UNDELIVERED, E.INVALID_PHONE)),  # as the seed spells it
        ("UNDELIVERABLE", None, (Status.UNDELIVERED, E.CARRIER_REJECTED)),
        ("ACCEPTED", None, (Status.DELIVERED, None)),
        ("INVALID", None, (Status.UNDELIVERED, E.SYSTEM_ERROR)),
        ("REJECTED", 34, (Status.REJECTED, E.CARRIER_REJECTED)),
        ("DELETED", None, (Status.UNDELIVERED, E.CARRIER_REJECTED)),
    ],
)
def test_seed_status_words(word: str, code: int | None, expected: tuple[Status, E | None]) -> None:
    assert status_of(word, code) == expected


def test_every_seed_status_word_is_in_the_table() -> None:
    assert set(STATUSES) == {
        "NEW", "SENT", "EN_ROUTE", "DELIVERED", "FAILED", "EXPIRED", "UNDELIVERABLE",
        "ACCEPTED", "INVALID", "REJECTED", "DELETED",
    }  # fmt: skip


# Against smsgate's own smsgw2 dialect: the same requests work there --------------------------
async def test_against_smsgates_own_dialect(gateway: Gateway, receiver: Receiver) -> None:
    await gateway.provision(account("acme", callback_urls={"smsgw2": receiver.url + "/dr"}))
    sink = Sink()
    own = Smsgw2Connector(
        UpstreamConfig(
            name="own", kind="smsgw2", url=gateway.url + "/app/smsgw/rest/v2", login="acme",
            password="acme-pw", allow_networks=LOOPBACK, status_poll=0.05, timeout=5.0,
        ),
        gateway.store,
    )  # fmt: skip
    await own.start(sink)
    try:
        one, two, three = kz(1, sender="ACME"), kz(2, sender="ACME"), kz(3, sender="ACME")
        [first] = await own.submit([one])
        assert first.status is Status.SUBMITTED and first.carrier_id
        batch = await own.submit([two, three])  # POST /batches, then GET /batches/:id
        assert [r.status for r in batch] == [Status.SUBMITTED] * 2
        assert all(r.carrier_id for r in batch)
        final = await sink.wait_final(3, timeout=10)  # pulled by /messages/:id
        assert {r.status for r in final.values()} == {Status.DELIVERED}
        [again] = await own.submit([one])  # error 23 there: not sent twice
        assert again.status is Status.SUBMITTED
        never = kz(9)
        reports, resend = await own.recover([one, never])  # by client_message_id there
        assert resend == [never]
        assert (one.id, Status.DELIVERED) in {(r.message_id, r.status) for r in reports}
        for push in await receiver.wait_count(1):  # the dialect's delivery_report pushes
            status, _, got = await own.handle_push("POST", {}, {}, push.body)
            assert status == 204 and got
            assert {r.message_id for r in got} <= {one.id, two.id, three.id}
    finally:
        await own.stop()
