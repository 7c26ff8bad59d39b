"""Every request and response example of kcell-smsgw2-rest.txt, replayed against a real server.

Expected bodies are copied from the seed (ids and times aside): fields, types and texts.
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
import msgspec

from tests.support.servers import Gateway, Receiver

from .conftest import BASE, KZ, kz_account

# "Пример запроса" of a single message, byte for byte: its recipient has 10 digits, against
# the seed's own format (7xxxYYYzzzz, error 11).
SEED_SINGLE_AS_WRITTEN = (
    b'{"client_message_id":"236234857", "sender":"SMSGW",\n'
    b'"recipient":"7701000000", "message_text":" \xd1\x82\xd0\xb5\xd1\x81\xd1\x82"}'
)
# The same request to the 11-digit recipient of the seed's "Тело запроса".
SEED_SINGLE = SEED_SINGLE_AS_WRITTEN.replace(b'"7701000000"', b'"77010000000"')
SEED_HEADERS = {
    "Accept": "application/json, text/plain, */*",
    "Content-Type": "application/json;charset=utf-8",
}
# "Пачка сообщений / Пример запроса"
SEED_BATCH = (
    b'{"messages": [ {"client_message_id" : "236234858", "sender": "SMSGW",  \n'
    b'"recipient": "77010000001", "message_text": "test 2"}, {"client_message_id" :  \n'
    b'"236234859", "sender": "SMSGW", "recipient": "77010000002", "message_text":  \n'
    b'"test 3"}]}'
)
# "Пример запроса с http-заголовками": the delivery report as captured on the wire.
SEED_DR = {
    "delivery_report": [
        {
            "status": "DELIVERED",
            "client_message_id": "batch_tst1104",
            "error_code": None,
            "error_message": None,
            "segment_count": 1,
            "init_time": "2016-04-11 17:49:39",
            "sent_time": "2016-04-11 17:49:39",
            "status_time": "2016-04-11 17:49:42",
            "message_id": 5916504923,
            "sent_confirm_time": "2016-04-11 17:49:39",
            "rn_code": "02",
            "retry_count": 0,
        }
    ]
}
# "Отчеты о доставке MT", the second (failed) report.
SEED_DR_FAILED = {
    "client_message_id": "3",
    "message_id": "34524",
    "status": "UNDELIVERABLE",
    "error_code": "11",
    "error_message": "Invalid recipient / destination address ",
    "segment_count": 1,
}
# "Уведомления о получении МО"
SEED_MO = {
    "message_id": 456795,
    "sender": "77010000000",
    "recipient": "9090",
    "text": "исходящее от абонента",
    "segment_count": 1,
    "receive_time": "2014-12-24 16:33:06",
    "rn_code": "02",
}
# "Ответ на запрос" by client_message_id: the extra fields, plus the POST parameters.
SEED_STATUS_FIELDS = {
    "message_id",
    "batch_id",
    "message_status",
    "error_code",
    "error_message",
    "segment_count",
    "sent_count",
    "delivery_count",
    "is_informed",
    "init_time",
    "sent_time",
    "sent_confirm_time",
    "status_time",
    "schedule_state",
    "retry_count",
    "rn_code",
}
SEED_POST_FIELDS = {
    "client_message_id",
    "recipient",
    "message_text",
    "sender",
    "priority",
    "expire_date",
    "time_bounds",
    "flash",
    "schedule",
}
SEED_SEGMENT_FIELDS = {"smcsc_id", "status", "status_time", "error_code", "error_message"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def same_shape(ours: dict[str, object], seed: dict[str, object], skip: set[str]) -> None:
    """Same keys; same JSON type for every value (null may stand for a value not known yet)."""
    assert set(ours) == set(seed)
    for key, value in seed.items():
        if key in skip or value is None or ours[key] is None:
            continue
        assert type(ours[key]) is type(value), key


async def test_single_message_example(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    r = await http.post(BASE + "/messages", data=SEED_SINGLE, headers={**SEED_HEADERS, **KZ})
    assert r.status == 201
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = await r.json()
    assert list(body) == ["message_id"] and isinstance(body["message_id"], str)
    assert body["message_id"].isdigit()
    assert r.headers["Location"] == f"{gateway.url}{BASE}/messages/{body['message_id']}"
    r = await http.get(r.headers["Location"], headers=KZ)
    got = await r.json()
    assert got["client_message_id"] == "236234857"
    assert got["recipient"] == "77010000000"
    assert got["message_text"] == " тест"
    assert got["sender"] == "SMSGW"


async def test_single_message_example_as_written_is_error_11(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    """The seed's format is 7xxxYYYzzzz and error 11 says so: its example's 10-digit recipient
    is refused like any other, and nothing is stored, even where a test range would let the
    made-up number exist."""
    await gateway.provision(kz_account(settings={"test_numbers": ["+7701000000"]}))
    r = await http.post(
        BASE + "/messages", data=SEED_SINGLE_AS_WRITTEN, headers={**SEED_HEADERS, **KZ}
    )
    assert r.status == 400
    assert await r.json() == {
        "error_code": 11,
        "error_message": "Invalid recipient / destination address (format should be 7xxxYYYzzzz)",
    }
    r = await http.get(f"{BASE}/users/kz/client_messages/236234857", headers=KZ)
    assert r.status == 404


async def test_alias_error_example(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(kz_account(senders=["ACME"]))
    r = await http.post(BASE + "/messages", data=SEED_SINGLE, headers={**SEED_HEADERS, **KZ})
    assert r.status == 400
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await r.json() == {"error_message": "User can't use alias SMSGW to send messages"}


async def test_batch_example(gateway: Gateway, http: aiohttp.ClientSession, kz: int) -> None:
    headers = {**SEED_HEADERS, "Content-Type": "application/json; charset=utf-8", **KZ}
    r = await http.post(BASE + "/batches", data=SEED_BATCH, headers=headers)
    assert r.status == 201
    body = await r.json()
    assert list(body) == ["batch_id"] and body["batch_id"].isdigit()
    assert r.headers["Location"] == f"{gateway.url}{BASE}/batches/{body['batch_id']}"
    r = await http.get(r.headers["Location"], headers=KZ)
    assert r.status == 200
    listed = await r.json()
    assert [m["client_message_id"] for m in listed] == ["236234858", "236234859"]
    assert [m["message_text"] for m in listed] == ["test 2", "test 3"]
    for m in listed:
        assert set(m) == SEED_STATUS_FIELDS | SEED_POST_FIELDS  # no segments in a batch
        assert m["batch_id"] == int(body["batch_id"])


async def test_status_by_client_id_and_message_id(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    r = await http.post(BASE + "/messages", data=SEED_SINGLE, headers={**SEED_HEADERS, **KZ})
    message_id = (await r.json())["message_id"]

    async def delivered() -> bool:
        r = await http.get(f"{BASE}/messages/{message_id}", headers=KZ)
        return (await r.json())["message_status"] == "DELIVERED"

    await gateway.wait_for(delivered)
    by_client = await (
        await http.get(f"{BASE}/users/kz/client_messages/236234857", headers=KZ)
    ).json()
    by_id = await (await http.get(f"{BASE}/messages/{message_id}", headers=KZ)).json()
    assert by_client == by_id
    assert set(by_id) == SEED_STATUS_FIELDS | SEED_POST_FIELDS
    # The seed's example column: 12345, null, DELIVERED, null, null, 1, 1, 1, ..., 0, 02.
    assert by_id["message_id"] == int(message_id)
    assert by_id["batch_id"] is None
    assert by_id["error_code"] is None and by_id["error_message"] is None
    assert (by_id["segment_count"], by_id["sent_count"], by_id["delivery_count"]) == (1, 1, 1)
    assert by_id["schedule_state"] is None and by_id["retry_count"] == 0
    for key in ("init_time", "sent_time", "sent_confirm_time", "status_time", "expire_date"):
        assert TIME.match(by_id[key]), key

    for path in (
        f"{BASE}/messages/{message_id}?segments_info=true",
        f"{BASE}/users/kz/client_messages/236234857?segments_info=true",
    ):
        full = await (await http.get(path, headers=KZ)).json()
        assert set(full) == SEED_STATUS_FIELDS | SEED_POST_FIELDS | {"segments"}
        (seg,) = full["segments"]
        assert set(seg) == SEED_SEGMENT_FIELDS
        assert seg["status"] == "DELIVERED" and seg["error_code"] is None


async def test_delivery_report_example(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    body = msgspec.json.encode(
        {
            "client_message_id": "batch_tst1104",
            "sender": "SMSGW",
            "recipient": "77010000000",
            "message_text": "test",
        }
    )
    r = await http.post(BASE + "/messages", data=body, headers={**SEED_HEADERS, **KZ})
    assert r.status == 201
    message_id = int((await r.json())["message_id"])
    (call,) = await receiver.wait_count(1)
    assert call.method == "POST" and call.path == "/client_custom_link"
    assert call.headers["Content-Type"] == "application/json"
    report = call.json()
    assert list(report) == ["delivery_report"]
    (ours,) = report["delivery_report"]
    same_shape(ours, SEED_DR["delivery_report"][0], skip=set())
    expected = dict(SEED_DR["delivery_report"][0])
    for key in ("message_id", "init_time", "sent_time", "status_time", "sent_confirm_time"):
        assert TIME.match(ours[key]) if key.endswith("time") else ours[key] == message_id
        expected.pop(key)
    assert {k: ours[k] for k in expected} == expected


async def test_failed_report_example(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    r = await http.post(
        BASE + "/messages",
        json={
            "client_message_id": "3",
            "sender": "SMSGW",
            "recipient": "77020000000",
            "message_text": "x",
        },
        headers=KZ,
    )
    assert r.status == 201
    (call,) = await receiver.wait_count(1)
    (ours,) = call.json()["delivery_report"]
    assert ours["status"] == SEED_DR_FAILED["status"]
    assert isinstance(ours["error_code"], str) and isinstance(ours["error_message"], str)
    assert ours["error_code"] == "27"
    assert (
        ours["error_message"] == "Mobile equipment is off, out of coverage, or SIM memory is full"
    )
    assert ours["segment_count"] == SEED_DR_FAILED["segment_count"]
    assert ours["client_message_id"] == SEED_DR_FAILED["client_message_id"]


async def test_incoming_report_example(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    r = await http.post(
        "/simulator/incoming",
        json={"from": "77010000000", "to": "9090", "text": "исходящее от абонента"},
        headers={"Authorization": "Bearer kz-token"},
    )
    assert r.status == 202
    (call,) = await receiver.wait_count(1)
    body = call.json()
    assert list(body) == ["incoming_report"]
    (ours,) = body["incoming_report"]
    same_shape(ours, SEED_MO, skip=set())
    assert TIME.match(ours["receive_time"])
    assert {k: ours[k] for k in SEED_MO if k not in ("message_id", "receive_time")} == {
        k: v for k, v in SEED_MO.items() if k not in ("message_id", "receive_time")
    }


async def test_answer_to_report_204_or_ok(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    """The seed: SMSGW2 expects 204, or 200/201 with the body "OK"; anything else is retried."""
    answers = iter([(200, b"NOT OK"), (500, b""), (201, b"OK")])
    receiver.respond = lambda req, n: next(answers, (204, b""))
    r = await http.post(
        BASE + "/messages",
        json={
            "client_message_id": "a",
            "sender": "SMSGW",
            "recipient": 77010000000,
            "message_text": "x",
        },
        headers=KZ,
    )
    assert r.status == 201
    calls = await receiver.wait_count(3)
    assert calls[0].body == calls[1].body == calls[2].body
    await asyncio.sleep(0.3)  # retries are 5 ms apart at the tests' delay scale
    assert len(receiver.requests) == 3  # the 201 "OK" was accepted: no fourth attempt
