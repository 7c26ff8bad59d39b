"""sendsms_v1.php against the seed: every documented answer, limits at their boundary."""

from __future__ import annotations

import asyncio
import glob
import re
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from smsgate.provision import CredentialSpec
from smsgate.store.base import MessageFilter, StoreUnavailable
from tests.support.servers import Gateway, account

from .conftest import TIMESTAMP, call, database_file, error_of, send_params, sha256, txn

SEND = "/sendsms_v1.php"
MISSING = "One of the mandatory variables (from,phone_number,msg,login,str_hash,txn_id) not set."


async def test_success_has_the_seed_fields(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    params = send_params(txn_id="order-1")
    status, body = await call(http, SEND, params)
    assert status == 201
    # Seed: status=ok, txn_id, msg_id, smsc_msg_parts, timestamp; the provider also sends
    # smsc_msg_id and smsc_msg_status ("success").
    assert set(body) == {
        "status",
        "txn_id",
        "msg_id",
        "smsc_msg_parts",
        "timestamp",
        "smsc_msg_id",
        "smsc_msg_status",
    }
    assert body["status"] == "ok"
    assert body["txn_id"] == "order-1"
    assert isinstance(body["msg_id"], int)
    assert body["smsc_msg_parts"] == 1
    assert body["smsc_msg_status"] == "success"
    assert re.match(TIMESTAMP, body["timestamp"])
    stored = await gateway.store.message_by_ref(acme, "osonsms", "order-1")
    assert stored is not None and stored.phone == "992900000001" and stored.text == "hello"
    assert stored.sender == "ACME" and stored.seq == body["msg_id"]


async def test_parts_are_counted(http: aiohttp.ClientSession, acme: int) -> None:
    _, one = await call(http, SEND, send_params(msg="a" * 160))
    _, two = await call(http, SEND, send_params(msg="a" * 161))
    _, cyr = await call(http, SEND, send_params(msg="д" * 71))
    assert (one["smsc_msg_parts"], two["smsc_msg_parts"], cyr["smsc_msg_parts"]) == (1, 2, 2)


@pytest.mark.parametrize("field", ["from", "phone_number", "msg", "login", "str_hash", "txn_id"])
@pytest.mark.parametrize("empty", [False, True])
async def test_each_missing_field(
    http: aiohttp.ClientSession, acme: int, field: str, empty: bool
) -> None:
    params = send_params()
    if empty:
        params[field] = ""
    else:
        del params[field]
    status, body = await call(http, SEND, params)
    assert status == 422
    assert error_of(body) == (100, MISSING)


async def test_wrong_hash(http: aiohttp.ClientSession, acme: int) -> None:
    params = send_params()
    params["phone_number"] = "992900000009"  # hash was made for another number
    status, body = await call(http, SEND, params)
    assert (status, error_of(body)) == (422, (106, "Incorrect hash"))
    status, body = await call(http, SEND, send_params(salt="wrong-salt"))
    assert (status, error_of(body)) == (422, (106, "Incorrect hash"))


async def test_hash_in_capitals_is_accepted(http: aiohttp.ClientSession, acme: int) -> None:
    params = send_params()
    params["str_hash"] = params["str_hash"].upper()
    status, _ = await call(http, SEND, params)
    assert status == 201


async def test_unknown_and_blocked_login(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme"), account("gone", active=False))
    for params in (send_params("nobody"), send_params("gone")):
        status, body = await call(http, SEND, params)
        assert (status, error_of(body)) == (401, (105, "Inactive or non-existent account"))


async def test_wrong_sender(http: aiohttp.ClientSession, acme: int) -> None:
    status, body = await call(http, SEND, send_params(sender="OTHER"))
    assert (status, error_of(body)) == (422, (107, "Incorrect sender"))
    status, body = await call(http, SEND, send_params(sender="acme"))  # senders are exact
    assert (status, error_of(body)) == (422, (107, "Incorrect sender"))


async def test_duplicate_txn_id_sequential(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    first = send_params(txn_id="retry-me")
    status, body = await call(http, SEND, first)
    assert status == 201
    # The seed: a request retried after a timeout is not sent twice.
    for _ in range(3):
        status, again = await call(http, SEND, first)
        assert status == 409
        assert error_of(again) == (108, "Duplicate txn_id. It should be unique.")
    # Even with another text or number under the same txn_id.
    status, again = await call(http, SEND, send_params(txn_id="retry-me", phone="992900000002"))
    assert status == 409
    found = await gateway.store.list_messages(acme, MessageFilter(), limit=100)
    assert [m.seq for m in found] == [body["msg_id"]]
    assert (await gateway.store.get_account(acme)).balance == 999_500_000  # type: ignore[union-attr]


async def test_duplicate_txn_id_concurrent(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    params = send_params(txn_id="storm")
    results = await asyncio.gather(*(call(http, SEND, params) for _ in range(50)))
    statuses = sorted(s for s, _ in results)
    assert statuses == [201] + [409] * 49
    assert all(error_of(b)[0] == 108 for s, b in results if s == 409)
    found = await gateway.store.list_messages(acme, MessageFilter(), limit=100)
    assert len(found) == 1 and found[0].client_ref == "storm"
    assert (await gateway.store.get_account(acme)).balance == 999_500_000  # type: ignore[union-attr]


async def test_ip_allow_list(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(
        account("acme", ip_allowlist=["10.1.0.0/16"]), account("home", ip_allowlist=["127.0.0.1"])
    )
    status, body = await call(http, SEND, send_params("acme"))
    assert (status, error_of(body)) == (401, (114, "Host is not in whitelist"))
    status, _ = await call(http, SEND, send_params("home"))
    assert status == 201


async def test_empty_balance(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    # price 0.5 per part: the balance pays for exactly one part, then nothing more.
    await gateway.provision(account("acme", balance="0.5"))
    status, _ = await call(http, SEND, send_params())
    assert status == 201
    status, body = await call(http, SEND, send_params())
    text = "Balance overdraft limit has reached. Please top up your balance."
    assert (status, error_of(body)) == (402, (119, text))
    # A two-part text on an empty balance is refused the same way.
    status, body = await call(http, SEND, send_params(msg="a" * 161))
    assert (status, error_of(body)[0]) == (402, 119)


async def test_telegram_channel_is_refused(http: aiohttp.ClientSession, acme: int) -> None:
    status, body = await call(http, SEND, send_params(channel="telegram"))
    assert status == 422
    assert error_of(body) == (115, "Channel telegram is not supported")
    status, _ = await call(http, SEND, send_params(channel="sms"))
    assert status == 201


async def test_confidential_text_is_not_kept(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    secret = "Your code 918273 zebra-secret"
    status, body = await call(http, SEND, send_params(msg=secret, is_confidential="true"))
    assert status == 201

    async def delivered() -> bool:
        m = await gateway.store.message_by_seq(acme, body["msg_id"])
        return m is not None and m.status.value == "delivered"

    await gateway.wait_for(delivered)
    with sqlite3.connect(database_file(gateway)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                assert not any(isinstance(c, str) and "zebra-secret" in c for c in row), table
                assert not any(isinstance(c, bytes) and b"zebra-secret" in c for c in row), table


async def _confidential_delivered(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    status, body = await call(http, SEND, send_params(msg="zebra-secret", is_confidential="true"))
    assert status == 201

    async def delivered() -> bool:
        m = await gateway.store.message_by_seq(acme, body["msg_id"])
        return m is not None and m.status.value == "delivered"

    await gateway.wait_for(delivered)


def _copies_on_disk(gateway: Gateway) -> dict[str, int]:
    files = glob.glob(database_file(gateway) + "*")
    return {f: Path(f).read_bytes().count(b"zebra-secret") for f in files}


async def test_confidential_text_not_in_database_file_after_checkpoint(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await _confidential_delivered(gateway, http, acme)
    with sqlite3.connect(database_file(gateway)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert sum(_copies_on_disk(gateway).values()) == 0


async def test_confidential_text_not_in_wal_frames(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    await _confidential_delivered(gateway, http, acme)
    assert sum(_copies_on_disk(gateway).values()) == 0


async def test_is_confidential_values(http: aiohttp.ClientSession, acme: int) -> None:
    for value in ("true", "TRUE", "1", "false", "0", ""):
        status, _ = await call(http, SEND, send_params(is_confidential=value))
        assert status == 201, value
    status, body = await call(http, SEND, send_params(is_confidential="maybe"))
    assert (status, error_of(body)) == (422, (101, "Incorrect value of is_confidential."))


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("992900000002", "992900000002"),
        ("+992900000003", "992900000003"),
        ("992 90 000-00-04", "992900000004"),
        ("900000005", "992900000005"),  # nine digits: a Tajik number without 992
        ("00992900000006", "992900000006"),
    ],
)
async def test_phone_forms(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, raw: str, stored: str
) -> None:
    params = send_params(phone=raw)
    status, body = await call(http, SEND, params)
    assert status == 201, body
    found = await gateway.store.message_by_ref(acme, "osonsms", params["txn_id"])
    assert found is not None and found.phone == stored


async def test_bad_phone(http: aiohttp.ClientSession, acme: int) -> None:
    for raw in ("abc", "12", "+0992900000001"):
        status, body = await call(http, SEND, send_params(phone=raw))
        assert (status, error_of(body)) == (422, (110, "Incorrect phone number")), raw


async def test_sloppy_clients(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    # Real clients add t=23 and dlm=';', use a trailing slash, POST forms or JSON.
    status, _ = await call(http, SEND + "/", send_params(t="23", dlm=";"))
    assert status == 201
    async with http.post(SEND, data=send_params()) as r:
        assert r.status == 201
    params: dict[str, object] = dict(send_params(phone="992900000007"))
    params["phone_number"] = 992900000007  # a JSON number, hashed as its digits
    async with http.post(
        SEND,
        data=__import__("json").dumps(params),
        headers={"Content-Type": "text/json; charset=utf-8;"},
    ) as r:
        assert r.status == 201, await r.text()
    # A form with no Content-Type at all.
    body = "&".join(f"{k}={v}" for k, v in send_params(msg="plain").items())
    async with http.post(SEND, data=body.encode(), headers={"Content-Type": ""}) as r:
        assert r.status == 201, await r.text()


async def test_malformed_json(http: aiohttp.ClientSession, acme: int) -> None:
    for raw in (b'{"from": ', b'{"from": {"a": 1}}', b"[1, 2]"):
        async with http.post(SEND, data=raw, headers={"Content-Type": "application/json"}) as r:
            body = await r.json()
            if raw == b"[1, 2]":  # not an object: no variables at all
                assert (r.status, error_of(body)[0]) in ((422, 101), (422, 100))
            else:
                assert (r.status, error_of(body)[0]) == (422, 101)


async def test_body_limit(http: aiohttp.ClientSession, acme: int) -> None:
    limit = 64 * 1024
    base = "&".join(f"{k}={v}" for k, v in send_params().items()) + "&pad="
    exact = base + "x" * (limit - len(base))
    async with http.post(
        SEND, data=exact.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    ) as r:
        assert r.status == 201
    async with http.post(
        SEND,
        data=(exact + "x").encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert (r.status, error_of(await r.json())) == (413, (120, "Request is too large"))


async def test_txn_id_length(http: aiohttp.ClientSession, acme: int) -> None:
    status, _ = await call(http, SEND, send_params(txn_id="t" * 255))
    assert status == 201
    status, body = await call(http, SEND, send_params(txn_id="u" * 256))
    assert (status, error_of(body)) == (422, (101, "Incorrect value of txn_id."))


async def test_text_length(http: aiohttp.ClientSession, acme: int) -> None:
    # At most 10 parts: 10 x 153 GSM characters, 10 x 67 UCS-2 characters.
    for text, ok in (
        ("a" * 1530, True),
        ("a" * 1531, False),
        ("ж" * 670, True),
        ("ж" * 671, False),
    ):
        status, body = await call(http, SEND, send_params(msg=text))
        if ok:
            assert status == 201 and body["smsc_msg_parts"] == 10
        else:
            assert (status, error_of(body)) == (422, (111, "Message text is too long"))
    status, body = await call(http, SEND, send_params(msg="   "))
    assert (status, error_of(body)) == (422, (111, "Incorrect message text"))


async def test_bearer_token(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    creds = [CredentialSpec(dialect="osonsms", kind="token", secret="acme-oson-token")]
    await gateway.provision(account("acme", credentials=creds))
    params = {"from": "ACME", "phone_number": "992900000001", "msg": "hi", "txn_id": txn()}
    status, body = await call(
        http, SEND, params, headers={"Authorization": "Bearer acme-oson-token"}
    )
    assert status == 201, body
    status, body = await call(http, SEND, params, headers={"Authorization": "Bearer wrong"})
    assert (status, error_of(body)[0]) == (401, 105)
    status, body = await call(http, SEND, {**params, "txn_id": txn()})  # no token, no hash
    assert (status, error_of(body)[0]) == (422, 100)


async def test_store_unavailable(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    monkeypatch.setattr(gateway.app.app.state.gateway.acceptor, "submit", down)
    status, body = await call(http, SEND, send_params())
    assert (status, error_of(body)) == (500, (109, "Unable to store message."))


async def test_other_methods(http: aiohttp.ClientSession, acme: int) -> None:
    async with http.put(SEND, params=send_params()) as r:
        assert (r.status, error_of(await r.json())[0]) == (405, 101)


async def test_answers_well_inside_the_timeout_under_load(
    http: aiohttp.ClientSession, acme: int
) -> None:
    async def timed() -> float:
        started = time.perf_counter()
        status, _ = await call(http, SEND, send_params())
        assert status == 201
        return time.perf_counter() - started

    latencies = await asyncio.gather(*(timed() for _ in range(300)))
    assert max(latencies) < 2.5, max(latencies)  # the seed's client timeout is 5 s


def test_hash_formula() -> None:
    # The seed: sha256 of txn_id;login;from;phone_number;pass_salt_hash.
    from smsgate.dialects.osonsms.auth import str_hash

    assert str_hash("1", "acme", "ACME", "992900000001", "s") == sha256(
        "1;acme;ACME;992900000001;s"
    )


async def test_stop_listed_number(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    await gateway.store.stoplist_add(acme, ["992900000066"])
    status, body = await call(http, SEND, send_params(phone="992900000066"))
    assert (status, error_of(body)) == (422, (116, "Phone number is in the stop list"))
