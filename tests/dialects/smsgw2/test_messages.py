"""POST/GET/DELETE /messages: each rule at its boundary and one past it, sloppy clients, errors."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from smsgate.store.base import MessageFilter
from tests.support.servers import Gateway

from .conftest import ALMATY, BASE, KZ, OTHER, basic, grid_slot, kz_account, message, send, stamp

SCHEDULE_ERROR = 10012


async def test_client_message_id_64_ok_65_refused(http: aiohttp.ClientSession, kz: int) -> None:
    assert (await send(http, message("x" * 64)))[0] == 201
    status, body = await send(http, message("y" * 65))
    assert status == 400 and "client_message_id" in body["error_message"]


async def test_missing_and_mistyped_fields(http: aiohttp.ClientSession, kz: int) -> None:
    for field in ("client_message_id", "sender", "recipient", "message_text"):
        body = message("m-" + field)
        del body[field]
        status, answer = await send(http, body)
        assert status == 400 and field in answer["error_message"], field
    status, answer = await send(http, message("t1", message_text={"a": 1}))
    assert status == 400 and "message_text" in answer["error_message"]
    status, answer = await send(http, message("t2", recipient=["7701"]))
    assert (status, answer["error_code"]) == (400, 11)
    status, answer = await send(http, message("t3", flash="maybe"))
    assert status == 400 and "flash" in answer["error_message"]


async def test_malformed_and_empty_bodies(http: aiohttp.ClientSession, kz: int) -> None:
    for data in (b"{not json", b"", b"[1, 2]", b'"text"'):
        r = await http.post(BASE + "/messages", data=data, headers=KZ)
        assert r.status == 400, data
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert "error_message" in await r.json()


async def test_body_limit_boundary(http: aiohttp.ClientSession, kz: int) -> None:
    import msgspec

    raw = msgspec.json.encode(message("big"))
    exact = raw + b" " * (64 * 1024 - len(raw))
    r = await http.post(BASE + "/messages", data=exact, headers=KZ)
    assert r.status == 201
    r = await http.post(BASE + "/messages", data=exact.replace(b"big", b"bog") + b" ", headers=KZ)
    assert r.status == 413 and "error_message" in await r.json()
    r = await http.post(BASE + "/batches", data=b"{" + b" " * (16 * 1024 * 1024), headers=KZ)
    assert r.status == 413 and "error_message" in await r.json()


async def test_bad_credentials(http: aiohttp.ClientSession, kz: int) -> None:
    for headers in ({}, basic("kz", "wrong"), basic("nobody"), {"Authorization": "Basic ???"}):
        r = await http.post(BASE + "/messages", json=message("auth"), headers=headers)
        assert r.status == 401
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        assert await r.json() == {"error_message": "Bad credentials"}


async def test_sloppy_clients(gateway: Gateway, http: aiohttp.ClientSession, kz: int) -> None:
    """Numbers as numbers, '+' or a trunk 8, odd Content-Types, a trailing slash, a form body."""
    variants = [
        ({"Content-Type": "text/json; charset=utf-8;"}, '"recipient": 77011234567'),
        ({"Content-Type": " application/json;charset=utf-8"}, '"recipient": "+77011234567"'),
        ({"Content-Type": "text/plain"}, '"recipient": "87011234567"'),
        ({}, '"recipient": "+7 (701) 123-45-67"'),
    ]
    for n, (headers, recipient) in enumerate(variants):
        data = (
            f'{{"client_message_id": {1000 + n}, "sender": "SMSGW", {recipient},'
            f' "message_text": "hi", "priority": "2", "flash": "true"}}'
        ).encode()
        r = await http.post(BASE + "/messages/", data=data, headers={**KZ, **headers})
        assert r.status == 201, await r.text()
        got = await (await http.get(r.headers["Location"] + "/", headers=KZ)).json()
        assert got["recipient"] == "77011234567"
        assert got["client_message_id"] == str(1000 + n)
        assert got["priority"] == 2 and got["flash"] is True
    r = await http.post(
        BASE + "/messages",
        data={
            "client_message_id": "form-1",
            "sender": "SMSGW",
            "recipient": "77011234567",
            "message_text": "тест",
        },
        headers=KZ,
    )
    assert r.status == 201
    got = await (await http.get(r.headers["Location"], headers=KZ)).json()
    assert got["message_text"] == "тест"
    cp1251 = '{"client_message_id": "cp", "sender": "SMSGW", "recipient": "77011234567", "message_text": "тест"}'
    r = await http.post(BASE + "/messages", data=cp1251.encode("cp1251"), headers=KZ)
    assert r.status == 201


@pytest.mark.parametrize(
    ("given", "stored"), [(0, 0), (3, 3), (4, 0), (-1, 0), ("3", 3), ("high", 0), (2.0, 2)]
)
async def test_priority_outside_0_3_is_0(
    http: aiohttp.ClientSession, kz: int, given: object, stored: int
) -> None:
    status, body = await send(http, message(f"p{given}", priority=given))
    assert status == 201
    got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
    assert got["priority"] == stored


async def test_sender_must_be_the_accounts(http: aiohttp.ClientSession, kz: int) -> None:
    assert (await send(http, message("s1", sender="ACME")))[0] == 201
    for alias in ("acme", "SMSGW2", "Unknown"):
        status, body = await send(http, message(f"s-{alias}", sender=alias))
        assert (status, body) == (
            400,
            {"error_message": f"User can't use alias {alias} to send messages"},
        )


async def test_recipient_must_be_7xxxyyyzzzz(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    """The seed: "format should be 7xxxYYYzzzz" (error 11): 11 digits starting with 7, however
    written; 10 or 12 digits and foreign numbers are refused, and nothing is stored."""
    accepted = ("77011234567", "+77011234567", 77011234567, "87011234567", "+7 701 123-45-67")
    for n, recipient in enumerate(accepted):
        status, body = await send(http, message(f"ok{n}", recipient=recipient))
        assert status == 201, (recipient, body)
    refused = ("7701123456", "770112345678", "+998901234567", "+4915112345678", "+87011234567")
    for n, recipient in enumerate(refused):
        status, body = await send(http, message(f"no{n}", recipient=recipient))
        assert (status, body) == (
            400,
            {
                "error_code": 11,
                "error_message": (
                    "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
                ),
            },
        ), recipient
    stored = await gateway.store.list_messages(kz, MessageFilter())
    assert len(stored) == len(accepted)


async def test_recipient_and_text_errors(http: aiohttp.ClientSession, kz: int) -> None:
    status, body = await send(http, message("r1", recipient="abc"))
    assert (status, body["error_code"]) == (400, 11)
    assert (
        body["error_message"]
        == "Invalid recipient / destination address (format should be 7xxxYYYzzzz)"
    )
    status, body = await send(http, message("r2", message_text="   "))
    assert (status, body) == (
        400,
        {"error_code": 1, "error_message": "Message length is invalid (can't send empty text)"},
    )
    # 10 GSM parts (1530 characters) is the limit; one character more is refused.
    assert (await send(http, message("r3", message_text="a" * 1530)))[0] == 201
    status, body = await send(http, message("r4", message_text="a" * 1531))
    assert (status, body["error_code"]) == (400, 1)


async def test_time_bounds_values(http: aiohttp.ClientSession, kz: int) -> None:
    for n, bounds in enumerate(["def", "wd99", "wd911", "ad96", "ad99", "ad911", "full", "AD99"]):
        status, body = await send(http, message(f"tb{n}", time_bounds=bounds))
        assert status == 201, bounds
        got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
        assert got["time_bounds"] == bounds.lower()
    status, body = await send(http, message("tb-bad", time_bounds="wd24"))
    assert (status, body) == (
        400,
        {"error_code": 25, "error_message": "Wrong information in time_bounds field."},
    )


async def test_time_bounds_hold_messages_outside_the_window(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """ad96 in a zone where it is night now: the message waits (NEW); full goes at once."""
    now = datetime.now(ZoneInfo("UTC"))
    night = next(
        f"Etc/GMT{-offset:+d}" if offset else "UTC"
        for offset in range(-12, 15)
        if (now + timedelta(hours=offset)).hour in (1, 2, 3, 4, 5)
    )
    await gateway.provision(kz_account(timezone=night))
    _, held = await send(http, message("night", time_bounds="ad96"))
    _, sent = await send(http, message("day", time_bounds="full"))

    async def delivered() -> bool:
        got = await (await http.get(f"{BASE}/messages/{sent['message_id']}", headers=KZ)).json()
        return got["message_status"] == "DELIVERED"  # type: ignore[no-any-return]

    await gateway.wait_for(delivered)
    got = await (await http.get(f"{BASE}/messages/{held['message_id']}", headers=KZ)).json()
    assert got["message_status"] == "NEW" and got["sent_time"] is None


async def test_default_time_bounds_is_def(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(kz_account(settings={}))
    _, body = await send(http, message("no-bounds"))
    got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
    assert got["time_bounds"] == "def"


async def test_schedule_grid_and_range(http: aiohttp.ClientSession, kz: int) -> None:
    soonest = grid_slot(timedelta(minutes=11))
    status, body = await send(http, message("sch1", schedule=stamp(soonest)))
    assert status == 201
    got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
    assert got["schedule"] == stamp(soonest)
    assert (got["message_status"], got["schedule_state"]) == ("NEW", "N")
    latest = grid_slot(timedelta(days=10) - timedelta(minutes=20))
    assert (await send(http, message("sch2", schedule=stamp(latest))))[0] == 201
    refused = [
        stamp(soonest + timedelta(minutes=5)),  # off the grid
        stamp(soonest + timedelta(seconds=1)),  # off the grid by a second
        stamp(grid_slot(timedelta(days=10, minutes=1))),  # more than 10 days ahead
        stamp(grid_slot(timedelta(days=-1))),  # in the past
        "tomorrow at nine",
    ]
    for n, value in enumerate(refused):
        status, body = await send(http, message(f"sch-bad{n}", schedule=value))
        assert (status, body["error_code"]) == (400, SCHEDULE_ERROR), value


async def test_expire_date(http: aiohttp.ClientSession, kz: int) -> None:
    status, body = await send(http, message("e0"))
    got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
    init = datetime.strptime(got["init_time"], "%Y-%m-%d %H:%M:%S")
    expire = datetime.strptime(got["expire_date"], "%Y-%m-%d %H:%M:%S")
    assert expire - init == timedelta(days=1)  # the seed: a day ahead when absent
    later = stamp(datetime.now(ALMATY) + timedelta(hours=2)) + " "  # the seed's trailing space
    status, body = await send(http, message("e1", expire_date=later))
    assert status == 201
    got = await (await http.get(f"{BASE}/messages/{body['message_id']}", headers=KZ)).json()
    assert got["expire_date"] == later.strip()
    for n, value in enumerate([stamp(datetime.now(ALMATY) - timedelta(minutes=1)), "soon"]):
        status, body = await send(http, message(f"e-bad{n}", expire_date=value))
        assert (status, body["error_code"]) == (400, 98)


async def test_duplicate_client_message_id_is_error_23(
    http: aiohttp.ClientSession, kz: int
) -> None:
    assert (await send(http, message("dup")))[0] == 201
    status, body = await send(http, message("dup", message_text="another"))
    assert (status, body) == (
        400,
        {
            "error_code": 23,
            "error_message": "Duplicate client_message_id, should be unique for each message.",
        },
    )


async def test_fifty_concurrent_repeats_make_one_message(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    results = await asyncio.gather(*(send(http, message("same-key")) for _ in range(50)))
    assert sorted(status for status, _ in results) == [201] + [400] * 49
    assert all(body["error_code"] == 23 for status, body in results if status == 400)
    stored = await gateway.store.list_messages(kz, MessageFilter(dialect="smsgw2"), limit=100)
    assert [m.client_ref for m in stored] == ["same-key"]


async def test_get_unknown_and_foreign_messages(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    await gateway.provision(kz_account("other"))
    _, body = await send(http, message("mine"))
    url = f"{BASE}/messages/{body['message_id']}"
    r = await http.get(url, headers=OTHER)
    assert r.status == 403 and "error_message" in await r.json()
    r = await http.delete(url, headers=OTHER)
    assert r.status == 403
    for missing in ("999999", "abc", "0"):
        r = await http.get(f"{BASE}/messages/{missing}", headers=KZ)
        assert r.status == 404 and "error_message" in await r.json()
    r = await http.get(f"{BASE}/users/kz/client_messages/mine", headers=OTHER)
    assert r.status == 403
    r = await http.get(f"{BASE}/users/other/client_messages/mine", headers=OTHER)
    assert r.status == 404
    r = await http.get(f"{BASE}/users/kz/client_messages/nothing", headers=KZ)
    assert r.status == 404


async def test_delete_scheduled_then_sent(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int
) -> None:
    _, body = await send(http, message("later", schedule=stamp(grid_slot(timedelta(hours=1)))))
    url = f"{BASE}/messages/{body['message_id']}"
    r = await http.delete(url, headers=KZ)
    assert r.status == 204 and await r.read() == b""
    got = await (await http.get(url, headers=KZ)).json()
    assert got["message_status"] == "DELETED"
    r = await http.delete(url, headers=KZ)
    assert (r.status, await r.json()) == (
        400,
        {"error_code": 17, "error_message": "cancel_sm failed"},
    )
    _, body = await send(http, message("now"))
    url = f"{BASE}/messages/{body['message_id']}"

    async def delivered() -> bool:
        return (await (await http.get(url, headers=KZ)).json())["message_status"] == "DELIVERED"  # type: ignore[no-any-return]

    await gateway.wait_for(delivered)
    r = await http.delete(url, headers=KZ)
    assert (r.status, (await r.json())["error_code"]) == (400, 17)
    assert (await http.delete(f"{BASE}/messages/424242", headers=KZ)).status == 404


async def test_senders_and_unknown_paths(http: aiohttp.ClientSession, kz: int) -> None:
    r = await http.get(BASE + "/senders/", headers=KZ)
    assert (r.status, await r.json()) == (200, ["ACME", "SMSGW"])
    for path in (
        BASE + "/nothing/here",
        "/app/smsgw/rest/v3/messages",
        "/app/smsgw/rest/v1/messages/1",
        "/app/smsgw/rest",
        "/app/smsgw/",
        "/app/smsgw",
    ):
        for method in ("GET", "POST", "DELETE"):
            r = await http.request(method, path, headers=KZ, allow_redirects=False)
            assert r.status == 404, (method, path)
            assert await r.json() == {"error_message": "Resource not found"}, (method, path)
    r = await http.put(BASE + "/messages", headers=KZ)
    assert r.status == 405 and r.headers["Allow"] == "POST"
    assert "error_message" in await r.json()


async def test_storage_outage_is_503_in_the_dialects_format(
    gateway: Gateway, http: aiohttp.ClientSession, kz: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smsgate.store.base import StoreUnavailable

    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    monkeypatch.setattr(gateway.store, "accept", down)
    monkeypatch.setattr(gateway.store, "message_by_seq", down)
    status, body = await send(http, message("outage"))
    assert (status, body) == (
        503,
        {"error_message": "Service temporarily unavailable, retry later"},
    )
    r = await http.get(f"{BASE}/messages/1", headers=KZ)
    assert r.status == 503 and "error_message" in await r.json()
