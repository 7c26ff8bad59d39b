"""The MsgHub JSONv2 connector against a fake platform written from seeds/msghub-jsonv2.txt.

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
from smsgate.connectors.http.msghub import MsgHubConnector
from smsgate.connectors.http.msghub_codes import ERRORS, STATUSES, SUBSTATUSES, status_of
from smsgate.core.errors import ErrorCode, retryable
from smsgate.core.status import Status
from smsgate.store.base import Store
from tests.connectors.http.conftest import LOOPBACK, Sink, message, settled
from tests.connectors.http.fakes.msghub import EXPIRED, FakeMsgHub
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver, account

# 1.2 Sending a separate message: the request.
SEED_SIMPLE = """{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
"callback_url": "https://send-dr-here.com",
"start_time": "2020-12-12 10:10:10+03:00",
"tag": "Campaign name",
"channels": [
"sms"
],
"channel_options": {
"sms": {
"text": "Text for SMS",
"alpha_name": "Test",
"ttl": 300
}
}
}"""

# 1.3.1 Sending a request for batch SMS messaging.
SEED_BATCH = """{
"messages": [
{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
"text": "Text for all channels, recipient #79651111111"
},
{
"phone_number": 79652222222,
"extra_id": "AD-6640-7007",
"text": "Text for all channels, recipient #79652222222"
}
],
"start_time": "2020-12-12 10:10:10+03:00",
"tag": "Campaign name",
"channels": [
"sms"
],
"channel_options": {
"sms": {
"alpha_name": "Test",
"ttl": 300
}
}
}"""

# 1.3.2 Sending a request for broadcast SMS messages.
SEED_BROADCAST = """{
"recipients": [
{
"phone_number": 79651111111,
"extra_id": "AD-6640-7006",
 "name": "Michael",
 "greeting": "Mr."
 },
 {
 "phone_number": 79652222222,
 "extra_id": "AD-6640-7007",
 "name": "Zoya",
 "greeting": "Ms."
 }
 ],
 "start_time": "2020-12-12 10:10:10+03:00",
 "tag": "Campaign name",
 "channels": [
 "sms"
 ],
 "channel_options": {
 "sms": {
 "text": "Dear %greeting% %name%! Here is an SMS",
"alpha_name": "Test",
"ttl": 300
}
}
}"""

# 1.4.1 Receiving a delivery report for a single message.
SEED_DR = b"""{
"number": 79651111111,
"time": 1477417294667,
"status": 2,
"substatus": 23,
"msghub_status": 23011,
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"sent_via": "sms"
}"""

# 1.4.2 Receiving a batch mailing report.
SEED_DR_BATCH = b"""[
{
"number": "79651111111",
"time": 1477417294667,
"status": 2,
"substatus": 23,
"msghub_status": 23011,
"message_id": "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
"extra_id": "AD-6640-7006",
"sent_via": "sms"
},
{
"number": "79652222222",
"time": 1477417299000,
 "status": 3,
 "substatus": 35,
 "msghub_status": 35015,
 "message_id": "e5ea7286-6849-52d7-9e1b-8719b736283e",
 "extra_id": "AD-6640-7007",
 "sent_via": "sms"
 },
 {
 "number": "79653333333",
 "time": 1477417299050,
 "status": 2,
 "substatus": 23,
 "msghub_status": 23033,
 "message_id": "8a3ff6c5-a1fb-4849-a54b-3c488753cb8b",
"extra_id": "AD-6640-7008",
"sent_via": "sms"
}
]"""


@pytest.fixture
async def fake() -> AsyncIterator[FakeMsgHub]:
    async with FakeMsgHub() as f:
        yield f


def config(fake: FakeMsgHub, **kw: Any) -> UpstreamConfig:
    fields: dict[str, Any] = {
        "name": "beeline", "kind": "msghub", "url": fake.api, "login": "user",
        "password": "pa55-Xq9", "timeout": 1.0, "allow_networks": LOOPBACK,
    }  # fmt: skip
    fields.update(kw)
    return UpstreamConfig(**fields)


@pytest.fixture
async def hub(fake: FakeMsgHub, store: Store) -> AsyncIterator[MsgHubConnector]:
    connector = build_upstream(config(fake), store)
    assert isinstance(connector, MsgHubConnector)
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


async def test_single_send_is_the_seeds_request(fake: FakeMsgHub, hub: MsgHubConnector) -> None:
    m = message(1, tag="Campaign name")
    [report] = await hub.submit([m])
    assert report.status is Status.SUBMITTED and report.carrier_id in fake.messages
    [request] = fake.requests
    assert request.method == "POST" and request.path == "/msghub/api/4567/json2/simple"
    assert (
        request.headers["authorization"] == "Basic " + base64.b64encode(b"user:pa55-Xq9").decode()
    )
    assert request.headers["content-type"] == "application/json"  # the seed's mandatory header
    body = request.json()
    same_shape(body, json.loads(SEED_SIMPLE))
    assert body["phone_number"] == 79651111111 and body["extra_id"] == m.id
    assert body["channels"] == ["sms"]
    assert set(body["channel_options"]["sms"]) == {"text", "alpha_name", "ttl"}
    assert body["channel_options"]["sms"]["alpha_name"] == "Test"
    assert 300 <= body["channel_options"]["sms"]["ttl"] <= 259200


async def test_batch_send_is_the_seeds_request(fake: FakeMsgHub, hub: MsgHubConnector) -> None:
    batch = [message(1), message(2, phone="+79652222222")]
    reports = await hub.submit(batch)
    assert [r.status for r in reports] == [Status.SUBMITTED] * 2
    assert {r.carrier_id for r in reports} == set(fake.messages)
    [request] = fake.requests
    assert request.path == "/msghub/api/4567/json2/batch/sync"
    body = request.json()
    same_shape(body, json.loads(SEED_BATCH))
    assert [i["extra_id"] for i in body["messages"]] == [m.id for m in batch]
    assert [i["phone_number"] for i in body["messages"]] == [79651111111, 79652222222]


async def test_one_text_for_all_is_a_broadcast(fake: FakeMsgHub, hub: MsgHubConnector) -> None:
    same = [message(1, text="Sale: -20%"), message(2, text="Sale: -20%")]  # "%": no broadcast
    await hub.submit(same)
    assert fake.requests[-1].path.endswith("/json2/batch/sync")
    batch = [message(3, text="Sale today"), message(4, phone="+79652222222", text="Sale today")]
    reports = await hub.submit(batch)
    assert [r.status for r in reports] == [Status.SUBMITTED] * 2
    request = fake.requests[-1]
    assert request.path == "/msghub/api/4567/json2/broadcast/sync"
    body = request.json()
    seed = json.loads(SEED_BROADCAST)
    seed["recipients"] = [
        {k: r[k] for k in ("phone_number", "extra_id")} for r in seed["recipients"]
    ]
    same_shape(body, seed)  # the seed's form, without its variables
    assert body["channel_options"]["sms"]["text"] == "Sale today"
    assert [r["extra_id"] for r in body["recipients"]] == [m.id for m in batch]
    assert {m["text"] for m in fake.messages.values()} >= {"Sale today"}


async def test_batches_split_by_size_and_sender(fake: FakeMsgHub, store: Store) -> None:
    hub = MsgHubConnector(config(fake, batch=2, sender="Dflt"), store)
    try:
        batch = [message(i) for i in range(5)] + [message(9, sender=None)]
        reports = await hub.submit(batch)
        assert [r.message_id for r in reports] == [m.id for m in batch]
        assert all(r.status is Status.SUBMITTED for r in reports)
        sizes = sorted(
            (
                len(r.json().get("messages", [None])),
                r.json()["channel_options"]["sms"]["alpha_name"],
            )
            for r in fake.requests
        )
        assert sizes == [(1, "Dflt"), (1, "Test"), (2, "Test"), (2, "Test")]
    finally:
        await hub.stop()


async def test_refused_phone_is_final_in_single_and_batch(
    fake: FakeMsgHub, hub: MsgHubConnector
) -> None:
    fake.refuse_phones = {"79650000000"}
    [one] = await hub.submit([message(1, phone="+79650000000")])
    assert one.status is Status.REJECTED and one.error_code == ErrorCode.INVALID_PHONE
    assert one.carrier_error is not None and "36024" in one.carrier_error
    bad, good = await hub.submit([message(2, phone="+79650000000"), message(3)])
    assert (bad.status, bad.error_code) == (Status.REJECTED, ErrorCode.INVALID_PHONE)
    assert good.status is Status.SUBMITTED
    assert not retryable(bad.error_code)


async def test_5xx_is_a_retryable_refusal(
    fake: FakeMsgHub, hub: MsgHubConnector, store: Store
) -> None:
    fake.fail("5xx")
    m = message(1)
    [report] = await hub.submit([m])
    assert report.status is Status.REJECTED and retryable(report.error_code)
    assert report.error_code == ErrorCode.UNAVAILABLE and "503" in (report.carrier_error or "")
    assert not fake.messages
    assert await store.connector_log_pending("beeline") == []  # settled: nothing owed


async def test_refused_connection_is_retryable(fake: FakeMsgHub, hub: MsgHubConnector) -> None:
    await fake.refuse()
    [report] = await hub.submit([message(1)])
    assert (report.status, report.error_code) == (Status.REJECTED, ErrorCode.NETWORK_ERROR)


async def test_slow_answer_within_the_timeout_is_ok(fake: FakeMsgHub, hub: MsgHubConnector) -> None:
    fake.fail("slow")
    [report] = await hub.submit([message(1)])
    assert report.status is Status.SUBMITTED


@both_backends
@pytest.mark.parametrize("fault", ["timeout", "reset"])
async def test_no_answer_is_unknown_and_recover_finds_it(
    fake: FakeMsgHub, hub: MsgHubConnector, store: Store, fault: str
) -> None:
    taken, lost = message(1), message(2, phone="+79652222222")
    fake.fail(fault, takes=True)  # the single request of the first: taken, unanswered
    with pytest.raises(OutcomeUnknown) as raised:
        await hub.submit([taken])
    assert raised.value.unknown == [taken] and raised.value.known == []
    fake.fail(fault, takes=False)  # the second: never reached the platform
    with pytest.raises(OutcomeUnknown):
        await hub.submit([lost])
    logged = await store.connector_log_find("beeline", [taken.id, lost.id])
    assert {e.message_id for e in logged} == {taken.id, lost.id}  # written before the request
    reports, resend = await hub.recover([taken, lost])
    assert resend == [lost]
    assert [(r.message_id, r.status) for r in reports][-1][0] == taken.id
    assert Status.DELIVERED in {r.status for r in reports}  # auto_finish: delivered by then
    assert len(fake.messages) == 1  # nothing was sent again by recover itself
    assert await store.connector_log_pending("beeline") == []


@both_backends
async def test_status_pull_to_delivered_and_expired(
    fake: FakeMsgHub, store: Store, sink: Sink
) -> None:
    fake.outcomes = {"79652222222": EXPIRED}
    hub = MsgHubConnector(config(fake, status_poll=0.05), store)
    await hub.start(sink)
    try:
        done, gone = message(1), message(2, phone="+79652222222")
        await hub.submit([done, gone])
        final = await sink.wait_final(2)
        assert final[done.id].status is Status.DELIVERED
        assert (final[gone.id].status, final[gone.id].error_code) == (
            Status.EXPIRED,
            ErrorCode.EXPIRED,
        )
        assert final[gone.id].carrier_error == "35015"
        await settled(store, "beeline")  # marked once the sink has them
        pulls = [r for r in fake.requests if r.method == "GET"]
        assert {r.path.split("/")[-2] for r in pulls} <= set(fake.messages)  # by its own id
    finally:
        await hub.stop()


async def test_taken_and_never_reported_stays_submitted(
    fake: FakeMsgHub, store: Store, sink: Sink
) -> None:
    fake.never_report = True
    hub = MsgHubConnector(config(fake, status_poll=0.02), store)
    await hub.start(sink)
    try:
        m = message(1)
        [report] = await hub.submit([m])
        assert report.status is Status.SUBMITTED
        async with asyncio.timeout(5):  # asked, and asked (every 20 ms when not starved)
            while len([r for r in fake.requests if r.method == "GET"]) < 3:
                await asyncio.sleep(0.01)
        assert sink.final() == {}
        assert [e.message_id for e in await store.connector_log_pending("beeline")] == [m.id] * 2
    finally:
        await hub.stop()


async def test_dr_push_single_from_the_seed(hub: MsgHubConnector) -> None:
    status, answer, reports = await hub.handle_push("POST", {}, {}, SEED_DR)
    assert answer == b""
    assert status == 200
    final = [r for r in reports if r.status.is_final]
    [r] = final
    assert (r.message_id, r.status, r.carrier_id) == (
        "AD-6640-7006",
        Status.DELIVERED,
        "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
    )
    assert r.at == 1477417294.667
    assert reports[0].status is Status.SUBMITTED  # the acceptance it implies goes first


async def test_dr_push_batch_from_the_seed(hub: MsgHubConnector) -> None:
    status, _, reports = await hub.handle_push("POST", {}, {}, SEED_DR_BATCH)
    assert status == 200
    final = {r.message_id: (r.status, r.error_code) for r in reports if r.status.is_final}
    assert final == {
        "AD-6640-7006": (Status.DELIVERED, None),
        "AD-6640-7007": (Status.EXPIRED, ErrorCode.EXPIRED),
        "AD-6640-7008": (Status.DELIVERED, None),
    }


async def test_dr_push_without_extra_id_names_the_platforms_id(hub: MsgHubConnector) -> None:
    body = SEED_DR.replace(b'"extra_id": "AD-6640-7006",\n', b"")
    _, _, reports = await hub.handle_push("POST", {}, {}, body)
    assert [(r.message_id, r.carrier_id, r.status) for r in reports][-1] == (
        "",  # for the router to match among this connector's messages
        "9f60ac8f-e721-5027-b838-e6fcb95fcd7a",
        Status.DELIVERED,
    )


async def test_dr_push_that_is_not_json_is_refused(hub: MsgHubConnector) -> None:
    assert await hub.handle_push("POST", {}, {}, b"<xml/>") == (400, b"", [])
    assert await hub.handle_push("POST", {}, {}, b'{"status": 2}') == (200, b"", [])


async def test_no_balance_in_the_api(hub: MsgHubConnector) -> None:
    assert await hub.balance() is None


async def test_secrets_never_logged(
    fake: FakeMsgHub, hub: MsgHubConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("5xx")
    fake.fail("timeout")
    await hub.submit([message(1)])
    with pytest.raises(OutcomeUnknown):
        await hub.submit([message(2)])
    await hub.submit([message(3)])
    token = base64.b64encode(b"user:pa55-Xq9").decode()
    text = "\n".join(r.getMessage() for r in caplog.records) + repr(hub.config)
    assert "upstream beeline (msghub) send POST: HTTP 503" in text
    assert "upstream beeline (msghub) send: timeout" in text
    assert "pa55-Xq9" not in text and token not in text


# The code tables, row by row from the seed (1.7, 1.8) --------------------------------------
def test_seed_error_codes() -> None:
    assert ERRORS[36024] is ErrorCode.INVALID_PHONE  # "Phone number incorrect"
    assert ERRORS[35015] is ErrorCode.EXPIRED  # "SMS expired"


@pytest.mark.parametrize(
    ("substatus", "status", "error"),
    [
        (10, Status.REJECTED, ErrorCode.CARRIER_REJECTED),  # not accepted for processing
        (12, Status.SUBMITTED, None),  # accepted for processing
        (23, Status.DELIVERED, None),
        (24, Status.EXPIRED, ErrorCode.EXPIRED),  # not delivered within TTL
        (28, Status.EXPIRED, ErrorCode.EXPIRED),
        (35, Status.EXPIRED, ErrorCode.EXPIRED),
        (36, Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),  # delivery error
    ],
)
def test_seed_substatuses(substatus: int, status: Status, error: ErrorCode | None) -> None:
    assert SUBSTATUSES[substatus] == (status, error)


def test_seed_statuses() -> None:
    assert STATUSES == {
        -1: Status.SUBMITTED,  # no final status yet
        1: Status.SUBMITTED,  # being delivered
        2: Status.DELIVERED,
        3: Status.UNDELIVERED,  # processing or delivery error
    }


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ((2, 23, 23011), (Status.DELIVERED, None)),  # the seed's DRs
        ((2, 23, 23033), (Status.DELIVERED, None)),
        ((3, 35, 35015), (Status.EXPIRED, ErrorCode.EXPIRED)),
        ((3, 36, 36024), (Status.UNDELIVERED, ErrorCode.INVALID_PHONE)),
        ((3, 36, 36999), (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)),  # by its family
        ((3, 24, 24999), (Status.EXPIRED, ErrorCode.EXPIRED)),
        ((3, None, None), (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED)),
        ((-1, None, None), (Status.SUBMITTED, None)),
        ((1, 12, 12001), (Status.SUBMITTED, None)),
    ],
)
def test_statuses_in_combination(
    numbers: tuple[int, int | None, int | None], expected: tuple[Status, ErrorCode | None]
) -> None:
    assert status_of(*numbers) == expected


# Against smsgate's own msghub dialect: the same requests work there --------------------------
async def test_against_smsgates_own_dialect(gateway: Gateway, receiver: Receiver) -> None:
    await gateway.provision(account("acme"))
    sink = Sink()
    own = MsgHubConnector(
        UpstreamConfig(
            name="own", kind="msghub", url=gateway.url + "/msghub/api/acme", login="acme",
            password="acme-pw", dr_url=receiver.url + "/dr", allow_networks=LOOPBACK,
            status_poll=0.05, timeout=5.0,
        ),
        gateway.store,
    )  # fmt: skip
    await own.start(sink)
    try:
        one, two, three = message(1), message(2, phone="+79652222222"), message(3)
        [first] = await own.submit([one])
        assert first.status is Status.SUBMITTED and first.carrier_id
        batch = await own.submit([two, three])  # json2/batch/sync
        assert [r.status for r in batch] == [Status.SUBMITTED] * 2
        assert all(r.carrier_id for r in batch)
        final = await sink.wait_final(3, timeout=10)  # pulled by dr/{message_id}/simple
        assert {r.status for r in final.values()} == {Status.DELIVERED}
        [again] = await own.submit([one])  # the same extra_id: not sent twice
        assert again.status is Status.SUBMITTED
        never = message(9)
        reports, resend = await own.recover([one, never])  # by extra_id there
        assert resend == [never]
        assert (one.id, Status.DELIVERED) in {(r.message_id, r.status) for r in reports}
        pushed = await receiver.wait_count(1)  # the dialect's DR pushes to callback_url
        for push in pushed:
            status, _, got = await own.handle_push("POST", {}, {}, push.body)
            assert status == 200 and got
            assert {r.message_id for r in got} <= {one.id, two.id, three.id}
    finally:
        await own.stop()
