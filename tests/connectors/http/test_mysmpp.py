"""The mysmpp (Webcom Mobi) connector against a fake written from seeds/webcom-mysmpp-json.txt.

The send request is compared with the seed's own example, key by key."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from smsgate.connectors.base import OutcomeUnknown
from smsgate.connectors.http import build_upstream
from smsgate.connectors.http.base import UpstreamConfig
from smsgate.connectors.http.mysmpp import MysmppConnector
from smsgate.connectors.http.mysmpp_codes import ERRORS, STATES, error_code, state_of
from smsgate.core.errors import ErrorCode, retryable
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, Sink, message, settled
from tests.connectors.http.fakes.mysmpp import FakeMysmpp
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

# "Example of a sending request"
SEED_SEND = """{
    "login": "login",
    "password": "password",
    "token": "token",
    "message": [
        {
            "type_send_1":"sms",
            "sender":"sender 1",
            "text":"message text 1",
            "phones":[
                {
                    "phone":"79612242243",
                    "client_id_sms":"101",
                    "validity_period":"2001-12-31 15:34:54"
                }
            ]
        }
    ]
}"""

# "Error text for response status 200" and "Error text at response status 400"
SEED_ERRORS = {
    "Incorrect JSON document format": ErrorCode.MALFORMED_BODY,
    "Your account is locked Incorrect login or password": ErrorCode.UNAVAILABLE,
    "POST data is missing": ErrorCode.MALFORMED_BODY,
    "We have run out of SMS. Contact your manager to resolve the problem": ErrorCode.UNAVAILABLE,
    "Out of SMS": ErrorCode.UNAVAILABLE,
    "Account blocked": ErrorCode.UNAVAILABLE,
    "Specify phone number": ErrorCode.INVALID_PHONE,
    "Phone number is on the stop list": ErrorCode.STOP_LISTED,
    "This destination is closed for you": ErrorCode.UNAVAILABLE,
    "This destination is closed": ErrorCode.UNAVAILABLE,
    "SMS text rejected by moderator": ErrorCode.CARRIER_REJECTED,
    "No sender": ErrorCode.SENDER_NOT_ALLOWED,
    "The sender must not exceed 15 characters for numeric numbers and 11 characters for "
    "alphanumeric numbers": ErrorCode.SENDER_NOT_ALLOWED,
    "Phone number must be less than 15 characters": ErrorCode.INVALID_PHONE,
    "No message text": ErrorCode.EMPTY_TEXT,
    "No link": ErrorCode.INVALID_FIELD,
    "Provide the name of the contact and at least one parameter for a business card": (
        ErrorCode.INVALID_FIELD
    ),
    "There is no such sender": ErrorCode.SENDER_NOT_ALLOWED,
    "The sender has not been moderated": ErrorCode.SENDER_NOT_ALLOWED,
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeMysmpp]:
    async with FakeMysmpp(login="acme", password="pa55") as f:
        yield f


def config(fake: FakeMysmpp, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "webcom", "kind": "mysmpp", "url": fake.url, "login": "acme",
        "password": "pa55", "timeout": 1.0, "allow_networks": LOOPBACK,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


@pytest.fixture
async def webcom(fake: FakeMysmpp, store: Store) -> AsyncIterator[MysmppConnector]:
    connector = build_upstream(config(fake), store)
    assert isinstance(connector, MysmppConnector)
    yield connector
    await connector.stop()


def same_shape(ours: Any, seed: Any, where: str = "") -> None:
    """Our JSON has the seed example's form: its keys in its order, each value of its type."""
    if isinstance(seed, dict):
        assert isinstance(ours, dict), where
        assert set(ours) <= set(seed), f"{where}: {set(ours) - set(seed)} not in the seed"
        assert [k for k in seed if k in ours] == list(ours), f"{where}: key order"
        for key in ours:
            same_shape(ours[key], seed[key], f"{where}.{key}")
    elif isinstance(seed, list):
        assert isinstance(ours, list) and ours, where
        for item in ours:
            same_shape(item, seed[0], f"{where}[]")
    else:
        assert type(ours) is type(seed), f"{where}: {ours!r} is no {type(seed).__name__}"


def msg(n: int, phone: str = "+79612242243", **kw: Any) -> Any:
    return message(n, phone=phone, seq=100 + n, **kw)


async def test_send_is_the_seeds_request(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    batch = [
        msg(1, text="message text 1", expires_at=2e9),
        msg(2, phone="+79612242244", text="message text 1"),
        msg(3, phone="+79612242245", sender="ACME", text="message text 1"),
    ]
    reports = await webcom.submit(batch)
    assert [(r.status, r.carrier_id) for r in reports] == [
        (Status.SUBMITTED, "1000"), (Status.SUBMITTED, "1001"), (Status.SUBMITTED, "1002")
    ]  # fmt: skip
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/json")
    assert request.headers["content-type"] == "text/json; charset=utf-8;"  # the seed's header
    body = request.json()
    same_shape(body, json.loads(SEED_SEND))
    assert (body["login"], body["password"]) == ("acme", "pa55")
    first, second = body["message"]  # one entry per sender and text, as in the seed's example
    assert [p["phone"] for p in first["phones"]] == ["79612242243", "79612242244"]
    assert [p["client_id_sms"] for p in first["phones"]] == ["101", "102"]
    assert (second["sender"], second["phones"][0]["phone"]) == ("ACME", "79612242245")


async def test_validity_period_in_the_providers_time(fake: FakeMysmpp, store: Store) -> None:
    webcom = MysmppConnector(config(fake, timezone="Asia/Dushanbe"), store)
    try:
        at = datetime(2030, 3, 31, 10, 34, 54, tzinfo=UTC).timestamp()
        await webcom.submit([msg(1, expires_at=at, text="Hi"), msg(2, text="Hi")])
        first, second = fake.requests[0].json()["message"][0]["phones"]
        assert first["validity_period"] == "2030-03-31 15:34:54"  # the seed's format, UTC+5
        assert "validity_period" not in second
    finally:
        await webcom.stop()


async def test_token_instead_of_login(fake: FakeMysmpp, store: Store) -> None:
    webcom = MysmppConnector(config(fake, login="", password="", token="tok-123"), store)
    try:
        [report] = await webcom.submit([msg(1)])
        assert report.status is Status.SUBMITTED
        assert set(fake.requests[0].json()) == {"token", "message"}
    finally:
        await webcom.stop()


async def test_refused_phone_among_taken_ones(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    batch = [msg(1), msg(2, phone="+79650000000"), msg(3, sender="Nobody")]
    ok, stopped, sender = await webcom.submit(batch)
    assert ok.status is Status.SUBMITTED
    assert (stopped.status, stopped.error_code) == (Status.REJECTED, ErrorCode.STOP_LISTED)
    assert stopped.carrier_error == "Phone number is on the stop list"
    assert (sender.status, sender.error_code) == (Status.REJECTED, ErrorCode.SENDER_NOT_ALLOWED)


@pytest.mark.parametrize(
    ("text", "again"), [("Out of SMS", True), ("SMS text rejected by moderator", False)]
)
async def test_whole_request_error(
    fake: FakeMysmpp, webcom: MysmppConnector, store: Store, text: str, again: bool
) -> None:
    fake.whole_error = text
    reports = await webcom.submit([msg(1), msg(2)])
    assert {(r.status, r.carrier_error) for r in reports} == {(Status.REJECTED, text)}
    assert all(retryable(r.error_code) is again for r in reports)
    assert await store.connector_log_pending("webcom") == []


async def test_wrong_password_fails_over(fake: FakeMysmpp, store: Store) -> None:
    webcom = MysmppConnector(config(fake, password="wrong"), store)
    try:
        [report] = await webcom.submit([msg(1)])
        assert (report.error_code, report.carrier_error) == (
            ErrorCode.UNAVAILABLE,
            "Incorrect login or password",
        )
    finally:
        await webcom.stop()


async def test_5xx_is_a_retryable_refusal(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    fake.fail("5xx")
    [report] = await webcom.submit([msg(1)])
    assert report.status is Status.REJECTED and retryable(report.error_code)
    assert not fake.states


async def test_refused_connection_is_retryable(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    await fake.refuse()
    [report] = await webcom.submit([msg(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.NETWORK_ERROR)


async def test_slow_answer_within_the_timeout_is_ok(
    fake: FakeMysmpp, webcom: MysmppConnector
) -> None:
    fake.fail("slow")
    [report] = await webcom.submit([msg(1)])
    assert report.status is Status.SUBMITTED


@both_backends
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_no_answer_is_unknown_and_sent_again_under_its_client_id(
    fake: FakeMysmpp, webcom: MysmppConnector, store: Store, fault: str
) -> None:
    taken, lost = [msg(1), msg(2, phone="+79612242244")], msg(3)
    fake.fail(fault, takes=True)
    with pytest.raises(OutcomeUnknown) as raised:
        await webcom.submit(taken)
    assert raised.value.unknown == taken
    fake.fail(fault, takes=False)
    with pytest.raises(OutcomeUnknown):
        await webcom.submit([lost])
    reports, resend = await webcom.recover([*taken, lost])
    assert reports == [] and resend == [*taken, lost]  # the status API knows only its own ids
    again = await webcom.submit(resend)
    # "If an SMS with the same number has already been sent from this account, it will not be
    # sent again, but the number of the previously sent SMS will be returned."
    assert [r.carrier_id for r in again] == ["1000", "1001", "1002"]
    assert len(fake.states) == 3


@both_backends
async def test_status_pull_to_delivered(fake: FakeMysmpp, store: Store, sink: Sink) -> None:
    webcom = MysmppConnector(config(fake, status_poll=0.05), store)
    await webcom.start(sink)
    try:
        m = msg(1)
        await webcom.submit([m])
        final = await sink.wait_final(1)
        assert (final[m.id].status, final[m.id].carrier_id) == (Status.DELIVERED, "1000")
        await settled(store, "webcom")
        pull = next(r for r in fake.requests if r.path == "/json/state.php")
        assert pull.json() == {"login": "acme", "password": "pa55", "id_sms": ["1000"]}
    finally:
        await webcom.stop()


async def test_status_pull_to_not_delivered(fake: FakeMysmpp, store: Store, sink: Sink) -> None:
    fake.final = "not_deliver"
    webcom = MysmppConnector(config(fake, status_poll=0.05), store)
    await webcom.start(sink)
    try:
        m = msg(1)
        await webcom.submit([m])
        r = (await sink.wait_final(1))[m.id]
        assert (r.status, r.error_code) == (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)
        assert r.carrier_error == "not_deliver: Subscriber is absent"
    finally:
        await webcom.stop()


async def test_taken_and_never_reported_stays_submitted(
    fake: FakeMysmpp, store: Store, sink: Sink
) -> None:
    fake.never_report = True
    webcom = MysmppConnector(config(fake, status_poll=0.02), store)
    await webcom.start(sink)
    try:
        m = msg(1)
        [report] = await webcom.submit([m])
        assert report.status is Status.SUBMITTED
        deadline = time.monotonic() + 10  # three polls (0.06 s idle; a loaded machine is slower)
        while len([r for r in fake.requests if r.path == "/json/state.php"]) < 3:
            assert time.monotonic() < deadline, "the connector stopped polling"
            await asyncio.sleep(0.02)
        assert sink.final() == {}
        assert m.id in {e.message_id for e in await store.connector_log_pending("webcom")}
    finally:
        await webcom.stop()


async def test_unknown_id_is_not_found(webcom: MysmppConnector) -> None:
    assert await webcom.lookup("m", "4242") is None


async def test_balance(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    assert await webcom.balance() == 19_023_900_000
    assert fake.requests[-1].path == "/json/balance.php"


async def test_secrets_never_logged(
    fake: FakeMysmpp, webcom: MysmppConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("5xx")
    fake.fail("timeout")
    await webcom.submit([msg(1)])
    with pytest.raises(OutcomeUnknown):
        await webcom.submit([msg(2)])
    fake.whole_error = "Out of SMS"
    await webcom.submit([msg(3)])
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(webcom.config)
    assert "upstream webcom (mysmpp) send POST: HTTP 503" in text
    assert "upstream webcom (mysmpp): 1 of 1 messages refused (1 may go elsewhere)" in text
    assert "Out of SMS" in text
    assert "pa55" not in text


# The status webhook ---------------------------------------------------------------------------
WEBHOOK = b'[{"id_sms": 17, "time": "2021-04-26 15:15:03", "state": "deliver"}, ' + (
    b'{"id_sms": 18, "time": "", "state": "not_deliver"}, {"id_sms": 19, "state": "send"}]'
)


async def test_webhook_push_with_our_key(fake: FakeMysmpp, store: Store) -> None:
    webcom = MysmppConnector(config(fake, dr_secret="k3y"), store)
    status, answer, reports = await webcom.handle_push("POST", {"key": "k3y"}, {}, WEBHOOK)
    assert status == 200
    assert json.loads(answer) == [{"id_sms": 17}, {"id_sms": 18}, {"id_sms": 19}]  # all taken
    final = [(r.message_id, r.carrier_id, r.status, r.error_code) for r in reports
             if r.status.is_final]  # fmt: skip
    assert final == [
        ("", "17", Status.DELIVERED, None),
        ("", "18", Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),
    ]
    delivered = next(r for r in reports if r.carrier_id == "17" and r.status.is_final)
    assert delivered.at == datetime(2021, 4, 26, 12, 15, 3, tzinfo=UTC).timestamp()  # Moscow


@pytest.mark.parametrize(("secret", "query"), [("k3y", {}), ("k3y", {"key": "k3"}), ("", {})])
async def test_webhook_push_without_our_key_is_refused(
    fake: FakeMysmpp, store: Store, secret: str, query: dict[str, str]
) -> None:
    webcom = MysmppConnector(config(fake, dr_secret=secret), store)
    assert await webcom.handle_push("POST", query, {}, WEBHOOK) == (403, b"", [])


# The code tables, row by row from the seed ----------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), list(SEED_ERRORS.items()))
def test_seed_error_texts(text: str, expected: ErrorCode) -> None:
    assert error_code(text) is expected
    assert error_code(f"  {text.upper()}. ") is expected  # case and spacing do not matter


def test_every_table_row_is_a_seed_text() -> None:
    seed = {" ".join(t.lower().split()) for t in SEED_ERRORS}
    assert set(ERRORS) - seed == {"your account is locked", "incorrect login or password"}
    assert error_code("Something new") is ErrorCode.SYSTEM_ERROR  # it named the phone: not taken


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("send", (Status.SUBMITTED, None)),
        ("deliver", (Status.DELIVERED, None)),
        ("read", (Status.DELIVERED, None)),
        ("not_deliver", (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)),
        ("expired", (Status.EXPIRED, ErrorCode.EXPIRED)),
        ("partly_deliver", (Status.UNKNOWN, None)),
    ],
)
def test_states(state: str, expected: tuple[Status, ErrorCode | None]) -> None:
    assert state_of(state) == expected == STATES[state]
    assert state_of("bogus") is None


# Against smsgate's own mysmpp dialect: the same requests work there -------------------------
async def test_against_smsgates_own_dialect(gateway: Gateway, receiver: Receiver) -> None:
    hook = f"{receiver.url}/dr?key=k3y"
    await gateway.provision(account("acme", callback_urls={"mysmpp": hook}))
    sink = Sink()
    own = MysmppConnector(
        UpstreamConfig(
            name="own", kind="mysmpp", url=gateway.url, login="acme", password="acme-pw",
            allow_networks=LOOPBACK, status_poll=0.05, timeout=5.0, dr_secret="k3y",
        ),
        gateway.store,
    )  # fmt: skip
    await own.start(sink)
    try:
        batch = [msg(1, sender="ACME"), msg(2, phone="+79612242244", sender="ACME")]
        reports = await own.submit(batch)
        assert [r.status for r in reports] == [Status.SUBMITTED] * 2
        final = await sink.wait_final(2, timeout=10)
        assert {final[m.id].status for m in batch} == {Status.DELIVERED}
        [again] = await own.submit(batch[:1])  # the same client_id_sms: the earlier id_sms
        assert again.carrier_id == reports[0].carrier_id
        assert await own.balance() == 999_000_000  # 1000 less two parts at 0.50
        [push, *_] = await receiver.wait_count(1, timeout=10)  # the dialect's real webhook
        status, answer, pushed = await own.handle_push("POST", push.query, push.headers, push.body)
        assert status == 200 and json.loads(answer)
        ids = {r.carrier_id for r in reports}
        assert {(r.carrier_id, r.status) for r in pushed if r.status.is_final} <= {
            (i, Status.DELIVERED) for i in ids
        } and pushed
    finally:
        await own.stop()


async def test_no_form_for_binary_hlr_or_ping(fake: FakeMysmpp, webcom: MysmppConnector) -> None:
    hlr, text = msg(1, encoding="hlr", text=""), msg(2)
    reports = {r.message_id: r for r in await webcom.submit([hlr, text])}
    assert reports[hlr.id].error_code == ErrorCode.UNSUPPORTED_CHANNEL
    assert reports[text.id].status is Status.SUBMITTED
    [request] = fake.requests
    assert [p["phone"] for m in request.json()["message"] for p in m["phones"]] == ["79612242243"]
