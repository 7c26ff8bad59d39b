"""The OsonSMS connector against a fake provider written from seeds/osonsms.txt.

The seed's own words are quoted where a test checks bytes (the hashed strings, the variables)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsgate.connectors.base import OutcomeUnknown
from smsgate.connectors.http import build_upstream
from smsgate.connectors.http.base import UpstreamConfig
from smsgate.connectors.http.osonsms import OsonSmsConnector
from smsgate.connectors.http.osonsms_codes import ERRORS, STATUSES, error_code, status_of
from smsgate.core.errors import ErrorCode, retryable
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, Sink, message, settled
from tests.connectors.http.fakes.osonsms import FakeOsonSms
from tests.support.backends import both_backends
from tests.support.servers import Gateway, account

SALT = "s3cret-salt"
# "Переменные:" of "Отправка смс", in the seed's order.
SEED_SEND_VARIABLES = ["from", "phone_number", "msg", "login", "str_hash", "txn_id"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOsonSms]:
    async with FakeOsonSms(login="acme", salt=SALT) as f:
        yield f


def config(fake: FakeOsonSms, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "oson", "kind": "osonsms", "url": fake.url, "login": "acme",
        "password": SALT, "timeout": 1.0, "allow_networks": LOOPBACK,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


@pytest.fixture
async def oson(fake: FakeOsonSms, store: Store) -> AsyncIterator[OsonSmsConnector]:
    connector = build_upstream(config(fake), store)
    assert isinstance(connector, OsonSmsConnector)
    yield connector
    await connector.stop()


def tj(n: int, **kw: Any) -> Any:
    return message(n, phone="+992900000001", sender="ACME", **kw)


async def test_send_is_the_seeds_signed_request(fake: FakeOsonSms, oson: OsonSmsConnector) -> None:
    m = tj(1)
    [report] = await oson.submit([m])
    assert (report.status, report.carrier_id) == (Status.SUBMITTED, "40127")
    [request] = fake.requests
    assert request.method == "GET" and request.path == "/sendsms_v1.php"
    assert list(request.query) == SEED_SEND_VARIABLES
    # "Хеш(sha256) строки txn_id+";"+login+";"+from+";"+phone_number+";"+ pass_salt_hash"
    expected = sha256(f"{m.id};acme;ACME;992900000001;{SALT}")
    assert request.query["str_hash"] == expected
    assert request.query["phone_number"] == "992900000001"  # "в формате 992ХХХХХХХХХ"
    assert request.query["txn_id"] == m.id and request.query["msg"] == m.text
    assert SALT not in request.raw.decode()  # the salt itself never travels


async def test_confidential_text_is_flagged(fake: FakeOsonSms, oson: OsonSmsConnector) -> None:
    await oson.submit([tj(1, confidential=True)])
    assert fake.requests[0].query["is_confidential"] == "true"


async def test_default_sender(fake: FakeOsonSms, store: Store) -> None:
    oson = OsonSmsConnector(config(fake, sender="OsonSMS"), store)
    try:
        [report] = await oson.submit([message(1, phone="+992900000001", sender=None)])
        assert report.status is Status.SUBMITTED
        assert fake.requests[0].query["from"] == "OsonSMS"
    finally:
        await oson.stop()


@pytest.mark.parametrize(
    ("setup", "code", "final"),
    [
        ({"senders": set()}, ErrorCode.SENDER_NOT_ALLOWED, True),  # 422/107
        ({"refuse_code": 119}, ErrorCode.UNAVAILABLE, False),  # 402: our balance there
        ({"refuse_code": 109}, ErrorCode.SYSTEM_ERROR, False),  # 500
        ({"refuse_code": 113}, ErrorCode.UNAVAILABLE, False),  # 599
        ({"salt": "other"}, ErrorCode.UNAVAILABLE, False),  # 422/106: our salt is wrong
        ({"login": "other"}, ErrorCode.UNAVAILABLE, False),  # 401/105
    ],
)
async def test_refusals(
    fake: FakeOsonSms, oson: OsonSmsConnector, store: Store, setup: dict[str, Any],
    code: ErrorCode, final: bool,
) -> None:  # fmt: skip
    for key, value in setup.items():
        setattr(fake, key, value)
    [report] = await oson.submit([tj(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, code)
    assert retryable(report.error_code) is not final
    assert report.carrier_error and report.carrier_error.split()[0].isdigit()
    assert await store.connector_log_pending("oson") == []


async def test_5xx_is_a_retryable_refusal(fake: FakeOsonSms, oson: OsonSmsConnector) -> None:
    fake.fail("5xx")
    [report] = await oson.submit([tj(1)])
    assert report.status is Status.REJECTED and retryable(report.error_code)
    assert not fake.sent


async def test_refused_connection_is_retryable(fake: FakeOsonSms, oson: OsonSmsConnector) -> None:
    await fake.refuse()
    [report] = await oson.submit([tj(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.NETWORK_ERROR)


async def test_slow_answer_within_the_timeout_is_ok(
    fake: FakeOsonSms, oson: OsonSmsConnector
) -> None:
    fake.fail("slow")
    [report] = await oson.submit([tj(1)])
    assert report.status is Status.SUBMITTED


@both_backends
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_no_answer_is_unknown_and_sent_again_under_its_txn_id(
    fake: FakeOsonSms, oson: OsonSmsConnector, store: Store, fault: str
) -> None:
    taken, lost = tj(1), tj(2)
    fake.fail(fault, takes=True)
    with pytest.raises(OutcomeUnknown) as raised:
        await oson.submit([taken])
    assert raised.value.unknown == [taken]
    fake.fail(fault, takes=False)
    with pytest.raises(OutcomeUnknown):
        await oson.submit([lost])
    # Without a msg_id the seed's query_sms.php cannot find either: both are sent again, and
    # the provider's txn_id check keeps the one it had from going out twice (the seed:
    # "При возникновении таймаута запрос можно отправлять заново").
    reports, resend = await oson.recover([taken, lost])
    assert reports == [] and resend == [taken, lost]
    again = await oson.submit(resend)
    assert [(r.status, r.carrier_id) for r in again] == [
        (Status.UNKNOWN, None),  # 409/108: taken before, its msg_id never learnt
        (Status.SUBMITTED, "40128"),
    ]
    assert again[0].carrier_error == "108 Duplicate txn_id. It should be unique."
    assert len(fake.sent) == 2
    assert not [r for r in fake.requests if r.path == "/query_sms.php"]  # nothing to ask by
    assert {e.message_id for e in await store.connector_log_pending("oson")} == {lost.id}


@both_backends
async def test_status_pull_to_delivered(fake: FakeOsonSms, store: Store, sink: Sink) -> None:
    oson = OsonSmsConnector(config(fake, status_poll=0.05), store)
    await oson.start(sink)
    try:
        m = tj(1)
        await oson.submit([m])
        final = await sink.wait_final(1)
        assert (final[m.id].status, final[m.id].carrier_id) == (Status.DELIVERED, "40127")
        await settled(store, "oson")
        pull = next(r for r in fake.requests if r.path == "/query_sms.php")
        # "Хеш (sha256) строки login+';'+txn_id+';'+pass_salt_hash"
        assert pull.query["str_hash"] == sha256(f"acme;{m.id};{SALT}")
        assert pull.query["msg_id"] == "40127"
    finally:
        await oson.stop()


async def test_status_pull_to_undeliverable(fake: FakeOsonSms, store: Store, sink: Sink) -> None:
    fake.final = "UNDELIVERABLE"
    oson = OsonSmsConnector(config(fake, status_poll=0.05), store)
    await oson.start(sink)
    try:
        m = tj(1)
        await oson.submit([m])
        r = (await sink.wait_final(1))[m.id]
        assert (r.status, r.error_code, r.carrier_error) == (
            Status.UNDELIVERED,
            ErrorCode.UNKNOWN_SUBSCRIBER,
            "UNDELIVERABLE",
        )
    finally:
        await oson.stop()


async def test_taken_and_never_reported_stays_submitted(
    fake: FakeOsonSms, store: Store, sink: Sink
) -> None:
    fake.never_report = True
    oson = OsonSmsConnector(config(fake, status_poll=0.02), store)
    await oson.start(sink)
    try:
        m = tj(1)
        [report] = await oson.submit([m])
        assert report.status is Status.SUBMITTED
        await asyncio.sleep(0.2)
        assert len([r for r in fake.requests if r.path == "/query_sms.php"]) >= 3
        assert sink.final() == {}
        assert m.id in {e.message_id for e in await store.connector_log_pending("oson")}
    finally:
        await oson.stop()


async def test_balance(fake: FakeOsonSms, oson: OsonSmsConnector) -> None:
    assert await oson.balance() == 6_070_000
    [request] = fake.requests
    # "Хеш(sha256) строки txn_id+";"+login+";"+pass_salt_hash"
    q = request.query
    assert q["str_hash"] == sha256(f"{q['txn_id']};acme;{SALT}")


async def test_secrets_never_logged(
    fake: FakeOsonSms, oson: OsonSmsConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("5xx")
    fake.fail("timeout")
    await oson.submit([tj(1)])
    with pytest.raises(OutcomeUnknown):
        await oson.submit([tj(2)])
    fake.salt = "other"
    await oson.submit([tj(3)])  # 422/106 logged with its body
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(oson.config)
    assert "upstream oson (osonsms) send GET: HTTP 503" in text
    assert "Incorrect hash" in text
    assert SALT not in text


# The code tables, row by row from the seed ----------------------------------------------------
@pytest.mark.parametrize(
    ("code", "http", "expected"),
    [
        (100, 422, ErrorCode.MISSING_FIELD),
        (105, 401, ErrorCode.UNAVAILABLE),
        (107, 422, ErrorCode.SENDER_NOT_ALLOWED),
        (119, 402, ErrorCode.UNAVAILABLE),
        (106, 422, ErrorCode.UNAVAILABLE),
        (109, 500, ErrorCode.SYSTEM_ERROR),
        (112, 500, ErrorCode.SYSTEM_ERROR),
        (113, 599, ErrorCode.UNAVAILABLE),
        (114, 401, ErrorCode.UNAVAILABLE),
        (None, 503, ErrorCode.SYSTEM_ERROR),
        (None, 429, ErrorCode.THROTTLED),
    ],
)
def test_seed_error_codes(code: int | None, http: int, expected: ErrorCode) -> None:
    assert error_code(code, http) is expected


def test_every_seed_code_is_mapped() -> None:
    seed = {100, 105, 106, 107, 108, 109, 112, 113, 114, 119}
    assert seed - {108} <= set(ERRORS)  # 108 (duplicate txn_id) is "taken before"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("ENROUTE", (Status.SUBMITTED, None)),
        ("DELIVERED", (Status.DELIVERED, None)),
        ("EXPIRED", (Status.EXPIRED, ErrorCode.EXPIRED)),
        ("DELETED", (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)),
        ("UNDELIVERABLE", (Status.UNDELIVERED, ErrorCode.UNKNOWN_SUBSCRIBER)),
        ("ACCEPTED", (Status.SUBMITTED, None)),
        ("UNKNOWN", (Status.UNKNOWN, None)),
        ("REJECTED", (Status.REJECTED, ErrorCode.CARRIER_REJECTED)),
    ],
)
def test_seed_statuses(word: str, expected: tuple[Status, ErrorCode | None]) -> None:
    assert status_of(word) == expected == STATUSES[word]


def test_status_words_outside_the_seed() -> None:
    assert status_of("delivered") == (Status.DELIVERED, None)
    assert status_of("SOMETHING") is None


# Against smsgate's own osonsms dialect: the same requests work there ------------------------
async def test_against_smsgates_own_dialect(gateway: Gateway) -> None:
    await gateway.provision(account("acme"))
    sink = Sink()
    own = OsonSmsConnector(
        UpstreamConfig(
            name="own", kind="osonsms", url=gateway.url, login="acme", password="acme-salt",
            allow_networks=LOOPBACK, status_poll=0.05, timeout=5.0,
        ),
        gateway.store,
    )  # fmt: skip
    await own.start(sink)
    try:
        m = tj(1)
        [report] = await own.submit([m])
        assert report.status is Status.SUBMITTED and report.carrier_id
        final = await sink.wait_final(1, timeout=10)
        assert final[m.id].status is Status.DELIVERED
        [again] = await own.submit([m])  # 409/108 there: not sent twice
        assert again.status is Status.UNKNOWN
        assert await own.balance() == 999_500_000  # 1000 less one part at 0.50
    finally:
        await own.stop()


@pytest.mark.parametrize("encoding", ["hlr", "ping", "binary"])
async def test_no_form_for_binary_hlr_or_ping(
    fake: FakeOsonSms, oson: OsonSmsConnector, encoding: str
) -> None:
    [report] = await oson.submit([tj(1, encoding=encoding, text="0102")])
    assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.UNSUPPORTED_CHANNEL)
    assert fake.requests == []  # never sent as a text
