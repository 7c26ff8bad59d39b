"""POST/GET /batches: fail-fast refuses a whole batch by one bad message; the default reports it."""

from __future__ import annotations

from typing import Any

import aiohttp

from smsgate.store.base import MessageFilter
from tests.support.backends import both_backends
from tests.support.servers import Gateway, Receiver

from .conftest import BASE, KZ, OTHER, kz_account, message


def batch(n: int, prefix: str = "b") -> list[dict[str, Any]]:
    return [
        message(f"{prefix}{i}", recipient=f"7701{i:07d}", message_text=f"text {i}")
        for i in range(n)
    ]


async def stored_count(gateway: Gateway, account_id: int) -> int:
    found = await gateway.store.list_messages(account_id, MessageFilter(), limit=10_000)
    return len(found)


async def test_fail_fast_200_with_one_bad_is_refused_whole(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    messages = batch(200)
    messages[137]["recipient"] = "not a number"
    r = await http.post(
        BASE + "/batches", json={"messages": messages, "fail-fast": True}, headers=KZ
    )
    assert r.status == 400
    assert await r.json() == {
        "error_code": 11,
        "error_message": "Invalid recipient / destination address (format should be 7xxxYYYzzzz)",
        "message_index": 137,
    }
    assert await stored_count(gateway, kz) == 0


async def test_fail_fast_refusals_carry_the_index(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    cases: list[tuple[int, dict[str, Any], dict[str, Any]]] = [
        (0, {"sender": "NOPE"}, {"error_message": "User can't use alias NOPE to send messages"}),
        (5, {"time_bounds": "x"}, {"error_code": 25}),
        (9, {"message_text": ""}, {"error_code": 1}),
        (3, {"client_message_id": "b1"}, {"error_code": 23}),  # repeats message 1's id
        (7, {"schedule": "2030-01-01 09:07:00"}, {"error_code": 10012}),
    ]
    for index, change, expected in cases:
        messages = batch(10)
        messages[index].update(change)
        r = await http.post(
            BASE + "/batches", json={"messages": messages, "fail-fast": "true"}, headers=KZ
        )
        assert r.status == 400, change
        body = await r.json()
        assert body["message_index"] == index
        assert {k: body[k] for k in expected} == expected
    assert await stored_count(gateway, kz) == 0
    # An id already used by an earlier request refuses a fail-fast batch too.
    r = await http.post(BASE + "/messages", json=message("used"), headers=KZ)
    messages = batch(3)
    messages[2]["client_message_id"] = "used"
    r = await http.post(
        BASE + "/batches", json={"messages": messages, "fail-fast": True}, headers=KZ
    )
    assert (r.status, (await r.json())["message_index"]) == (400, 2)
    assert await stored_count(gateway, kz) == 1


async def test_default_accepts_the_batch_and_reports_the_bad_message(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    messages = batch(200)
    messages[137]["recipient"] = "not a number"
    messages[50]["sender"] = "NOPE"
    r = await http.post(BASE + "/batches", json={"messages": messages}, headers=KZ)
    assert r.status == 201
    batch_id = (await r.json())["batch_id"]
    reports: dict[str, dict[str, Any]] = {}

    async def all_reported() -> bool:
        for call in list(receiver.requests):
            for item in call.json()["delivery_report"]:
                reports[item["client_message_id"]] = item
        return len(reports) == 200

    await gateway.wait_for(all_reported)
    bad = reports["b137"]
    assert (bad["status"], bad["error_code"]) == ("UNDELIVERABLE", "11")
    assert bad["error_message"] == (
        "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
    )
    assert bad["sent_time"] is None
    assert (reports["b50"]["status"], reports["b50"]["error_code"]) == ("UNDELIVERABLE", "10")
    delivered = [k for k, v in reports.items() if v["status"] == "DELIVERED"]
    assert len(delivered) == 198
    assert max(len(c.json()["delivery_report"]) for c in receiver.requests) > 1  # batched
    listed = await (await http.get(f"{BASE}/batches/{batch_id}", headers=KZ)).json()
    assert len(listed) == 200
    assert [m["client_message_id"] for m in listed] == [f"b{i}" for i in range(200)]
    by_id = {m["client_message_id"]: m for m in listed}
    assert by_id["b137"]["message_status"] == "UNDELIVERABLE"
    assert by_id["b137"]["error_code"] == "11"


# Without fail-fast, each kind of bad message: what it breaks, and the seed's code and text it
# is reported with (None: code 255, "Unknown Error", which the seed gives no better text).
EMPTY = "Message length is invalid (can't send empty text)"  # code 1's second text
FORMAT = "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
UNDELIVERABLE: dict[int, tuple[str, Any, int, str | None]] = {
    1: ("message_text", None, 1, EMPTY),
    2: ("recipient", None, 11, FORMAT),
    3: ("recipient", "7701000000", 11, FORMAT),  # 10 digits: the seed's format is 7xxxYYYzzzz
    4: ("recipient", "+998901234567", 11, FORMAT),  # a foreign number
    5: (
        "client_message_id",
        "b0",
        23,
        "Duplicate client_message_id, should be unique for each message.",
    ),
    6: ("sender", None, 10, "Invalid sender / source address"),
    7: ("time_bounds", "x", 25, "Wrong information in time_bounds field."),
    9: ("client_message_id", None, 255, None),
    10: ("flash", "maybe", 255, None),
    11: ("message_text", "", 1, EMPTY),  # refused by the core, not the dialect
}
NOT_AN_OBJECT = 8


def bad_batch() -> list[Any]:
    messages: list[Any] = batch(13)
    for index, (field, value, _, _) in UNDELIVERABLE.items():
        if value is None:
            del messages[index][field]
        else:
            messages[index][field] = value
    messages[NOT_AN_OBJECT] = 1
    return messages


@both_backends
async def test_default_keeps_and_reports_every_message(
    gateway: Gateway, http: aiohttp.ClientSession, receiver: Receiver, kz_cb: int
) -> None:
    """The seed: without fail-fast "the whole batch is accepted; errors arrive in delivery
    reports". A message missing a field, with a recipient outside 7xxxYYYzzzz, or repeating a
    client_message_id of the batch is stored as failed and reported with its code."""
    r = await http.post(BASE + "/batches", json={"messages": bad_batch()}, headers=KZ)
    assert r.status == 201, await r.text()
    batch_id = int((await r.json())["batch_id"])
    expected = {i: (str(code), text) for i, (_, _, code, text) in UNDELIVERABLE.items()}
    expected[NOT_AN_OBJECT] = ("255", None)
    listed = await (await http.get(f"{BASE}/batches/{batch_id}", headers=KZ)).json()
    assert len(listed) == 13
    assert [m["message_id"] for m in listed] == list(range(batch_id, batch_id + 13))
    ids = [m["client_message_id"] for m in listed]
    assert ids == [
        *("b0", "b1", "b2", "b3", "b4", "b0", "b6", "b7", None, None, "b10", "b11", "b12")
    ]
    for i, m in enumerate(listed):
        if i in expected:
            code, text = expected[i]
            assert (m["message_status"], m["error_code"]) == ("UNDELIVERABLE", code), (i, m)
            assert m["error_message"] == text if text else m["error_message"], (i, m)
        else:
            assert m["error_code"] is None, (i, m)
    assert listed[3]["recipient"] == "7701000000"  # as given
    assert listed[5]["message_text"] == "text 5"

    reports: dict[int, dict[str, Any]] = {}

    async def all_reported() -> bool:
        for call in list(receiver.requests):
            for item in call.json()["delivery_report"]:
                reports[item["message_id"]] = item
        return len(reports) == 13

    await gateway.wait_for(all_reported)
    for i, m in enumerate(listed):
        report = reports[m["message_id"]]
        assert report["client_message_id"] == m["client_message_id"], i
        if i in expected:
            code, text = expected[i]
            assert (report["status"], report["error_code"]) == ("UNDELIVERABLE", code), i
            assert report["error_message"] == text if text else report["error_message"], i
            assert report["sent_time"] is None
        else:
            assert (report["status"], report["error_code"]) == ("DELIVERED", None), i
    # The repeat took nothing from the first occurrence, which keeps its id.
    first = await (await http.get(f"{BASE}/users/kz/client_messages/b0", headers=KZ)).json()
    assert (first["message_id"], first["message_status"]) == (batch_id, "DELIVERED")
    # A message refused on SMSGW2's own rules keeps its id too: the client can look it up.
    for i in (1, 3):
        found = await http.get(f"{BASE}/users/kz/client_messages/b{i}", headers=KZ)
        assert found.status == 200, (i, await found.text())
        refused = await found.json()
        assert (refused["message_id"], refused["message_status"]) == (batch_id + i, "UNDELIVERABLE")
        assert refused["error_code"] == expected[i][0]
    # Nothing refused was charged: 2 good messages of 0.5 each.
    kept = await gateway.store.get_account(kz_cb)
    assert kept is not None and kept.balance == 999_000_000


async def test_fail_fast_refuses_a_recipient_outside_the_format(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    for n, recipient in enumerate(("7701000000", "+998901234567", "770100000001")):
        messages = batch(3, f"f{n}-")
        messages[1]["recipient"] = recipient
        r = await http.post(
            BASE + "/batches", json={"messages": messages, "fail-fast": True}, headers=KZ
        )
        body = await r.json()
        assert (r.status, body["error_code"], body["message_index"]) == (400, 11, 1), recipient
    assert await stored_count(gateway, kz) == 0


async def test_batch_body_errors(http: aiohttp.ClientSession, kz: int) -> None:
    for body in ({}, {"messages": []}, {"messages": "x"}, [], "x", 1):
        r = await http.post(BASE + "/batches", json=body, headers=KZ)
        assert r.status == 400 and "error_message" in await r.json(), body


async def test_bare_array_and_trailing_slash(http: aiohttp.ClientSession, kz: int) -> None:
    r = await http.post(BASE + "/batches/", json=batch(2, "bare"), headers=KZ)
    assert r.status == 201
    listed = await (await http.get(r.headers["Location"] + "/", headers=KZ)).json()
    assert [m["client_message_id"] for m in listed] == ["bare0", "bare1"]


async def test_batch_isolation_and_unknown_ids(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    await gateway.provision(kz_account("other"))
    r = await http.post(BASE + "/batches", json={"messages": batch(3)}, headers=KZ)
    batch_id = int((await r.json())["batch_id"])
    r = await http.get(f"{BASE}/batches/{batch_id}", headers=OTHER)
    assert r.status == 403 and "error_message" in await r.json()
    # The second message of a batch, a single message and a missing id are not batches.
    single = await http.post(BASE + "/messages", json=message("single"), headers=KZ)
    single_id = (await single.json())["message_id"]
    for missing in (str(batch_id + 1), single_id, "77777", "x"):
        r = await http.get(f"{BASE}/batches/{missing}", headers=KZ)
        assert r.status == 404, missing
    got = await (await http.get(f"{BASE}/messages/{batch_id}", headers=KZ)).json()
    assert got["batch_id"] == batch_id
