"""query_sms.php and check_balance.php against the seed, account isolation, status mapping."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from smsgate.connectors.simulator import SimulatorConfig
from smsgate.engine.gateway import AUTH_TTL
from smsgate.provision import CredentialSpec
from smsgate.store.base import StoreUnavailable
from tests.support import servers
from tests.support.servers import Gateway, account, start_gateway

from .conftest import (
    TIMESTAMP,
    balance_params,
    call,
    error_of,
    query_params,
    send_params,
    sha256,
)

SEND, QUERY, BALANCE = "/sendsms_v1.php", "/query_sms.php", "/check_balance.php"
MISSING_QUERY = "One of the mandatory variables (login,str_hash,msg_id) not set."
MISSING_BALANCE = "One of the mandatory variables (login,str_hash,txn_id) not set."
# The seed's two fields, then the provider's older ones, which clients read (Laravel's
# OsonSmsService returns $body->message_state).
STATUS_FIELDS = {
    "status",
    "timestamp",
    "final_date",
    "message_state_code",
    "error_code",
    "message_state",
}
SEED_STATUSES = {
    "ENROUTE",
    "DELIVERED",
    "EXPIRED",
    "DELETED",
    "UNDELIVERABLE",
    "ACCEPTED",
    "UNKNOWN",
    "REJECTED",
}


async def _sent(http: aiohttp.ClientSession, name: str = "acme", **kw: str) -> int:
    status, body = await call(http, SEND, send_params(name, **kw))
    assert status == 201, body
    return int(body["msg_id"])


async def _status(http: aiohttp.ClientSession, msg_id: int, name: str = "acme") -> str:
    status, body = await call(http, QUERY, query_params(name, msg_id=msg_id))
    assert status == 200, body
    assert set(body) == STATUS_FIELDS and re.match(TIMESTAMP, body["timestamp"])
    assert body["status"] in SEED_STATUSES
    return str(body["status"])


async def test_status_until_delivered(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int
) -> None:
    msg_id = await _sent(http)
    seen = {await _status(http, msg_id)}

    async def delivered() -> bool:
        seen.add(await _status(http, msg_id))
        return "DELIVERED" in seen

    await gateway.wait_for(delivered)
    assert seen <= {"ENROUTE", "ACCEPTED", "DELIVERED"}


@pytest.fixture
async def failing_gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A simulator that never delivers to 99290000009x and refuses 99290000008x at submit."""
    config = servers.test_config(
        f"sqlite:///{tmp_path}/fail.db",
        simulator=SimulatorConfig(
            dr_delay=0.01, fail_prefixes=["99290000009"], reject_prefixes=["99290000008"]
        ),
    )
    gw = await start_gateway(config)
    try:
        yield gw
    finally:
        await gw.stop()


async def test_undeliverable_and_rejected(failing_gateway: Gateway) -> None:
    await failing_gateway.provision(account("acme"))
    async with aiohttp.ClientSession(base_url=failing_gateway.url) as http:
        lost = await _sent(http, phone="992900000091")
        refused = await _sent(http, phone="992900000081")
        outcomes: dict[int, str] = {}

        async def final() -> bool:
            for msg_id in (lost, refused):
                outcomes[msg_id] = await _status(http, msg_id)
            return outcomes[lost] == "UNDELIVERABLE" and outcomes[refused] == "REJECTED"

        await failing_gateway.wait_for(final)


@pytest.mark.parametrize("field", ["login", "str_hash", "msg_id"])
async def test_query_missing_field(http: aiohttp.ClientSession, acme: int, field: str) -> None:
    params = query_params(msg_id=1)
    del params[field]
    status, body = await call(http, QUERY, params)
    assert (status, error_of(body)) == (422, (100, MISSING_QUERY))


async def test_query_hash_and_login(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme"), account("gone", active=False))
    msg_id = await _sent(http)
    params = query_params(msg_id=msg_id)
    params["txn_id"] = "another"  # the hash covers login;txn_id;salt
    status, body = await call(http, QUERY, params)
    assert (status, error_of(body)) == (422, (106, "Incorrect hash"))
    for name in ("nobody", "gone"):
        status, body = await call(http, QUERY, query_params(name, msg_id=msg_id))
        assert (status, error_of(body)) == (401, (105, "Inactive or non-existent account"))


async def test_query_unknown_id(http: aiohttp.ClientSession, acme: int) -> None:
    for msg_id in ("999999", "abc", "-1", "1" * 40):
        status, body = await call(http, QUERY, query_params(msg_id=msg_id))
        assert (status, error_of(body)) == (404, (107, "Message ID is invalid")), msg_id


async def test_accounts_are_isolated(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("alpha"), account("beta"))
    a = await _sent(http, "alpha", sender="ACME")
    b = await _sent(http, "beta", sender="ACME")
    assert await _status(http, a, "alpha") in SEED_STATUSES
    status, body = await call(http, QUERY, query_params("beta", msg_id=a))
    assert (status, error_of(body)[0]) == (404, 107)
    status, body = await call(http, QUERY, query_params("alpha", msg_id=b))
    assert (status, error_of(body)[0]) == (404, 107)


async def test_query_ip_allow_list(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme"))
    msg_id = await _sent(http)
    await gateway.provision(account("acme", ip_allowlist=["192.0.2.1"]))
    gateway.app.app.state.gateway._accounts.clear()  # drop the 2-second account cache
    status, body = await call(http, QUERY, query_params(msg_id=msg_id))
    assert (status, error_of(body)) == (401, (114, "Host is not in whitelist"))


async def test_legacy_status_fields(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme", settings={"osonsms": {"legacy_status_fields": True}}))
    msg_id = await _sent(http)

    async def delivered() -> bool:
        _, body = await call(http, QUERY, query_params(msg_id=msg_id))
        return bool(body["status"] == "DELIVERED")

    await gateway.wait_for(delivered)
    status, body = await call(http, QUERY, query_params(msg_id=msg_id))
    assert status == 200
    # The provider's older answer, e.g. {"message_id": "57861909", "final_date": {...},
    # "message_state_code": 2, "error_code": 0, "message_state": "Delivered"}
    assert body["message_id"] == str(msg_id)
    assert (body["message_state_code"], body["message_state"], body["error_code"]) == (
        2,
        "Delivered",
        0,
    )
    assert body["final_date"]["timezone"] == "+05:00"


async def test_message_state_by_default(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    """Laravel's OsonSmsService returns `$body->message_state` from query_sms.php: it is there
    without any account setting, beside message_state_code, final_date and error_code."""
    await gateway.provision(account("acme"))
    msg_id = await _sent(http)
    status, body = await call(http, QUERY, query_params(msg_id=msg_id))
    assert status == 200 and set(body) == STATUS_FIELDS
    if body["status"] == "ENROUTE":
        assert (body["message_state"], body["message_state_code"]) == ("Enroute", 1)
        assert body["final_date"] is None

    async def delivered() -> bool:
        _, body = await call(http, QUERY, query_params(msg_id=msg_id))
        return bool(body["status"] == "DELIVERED")

    await gateway.wait_for(delivered)
    status, body = await call(http, QUERY, query_params(msg_id=msg_id))
    assert (body["message_state"], body["message_state_code"], body["error_code"]) == (
        "Delivered",
        2,
        0,
    )
    assert set(body["final_date"]) == {"date", "timezone_type", "timezone"}
    assert "message_id" not in body  # only with legacy_status_fields


async def test_blank_msg_id_with_a_bearer_and_no_txn_id(
    gateway: Gateway, http: aiohttp.ClientSession
) -> None:
    """`msg_id=+` is a blank id: with a Bearer token and no txn_id nothing names a message."""
    creds = [CredentialSpec(dialect="osonsms", kind="token", secret="tok")]
    await gateway.provision(account("acme", credentials=creds))
    auth = {"Authorization": "Bearer tok"}
    for query in ("msg_id=+", "msg_id=%20%20", "msg_id=+&txn_id=+"):
        async with http.get(f"{QUERY}?{query}", headers=auth) as r:
            assert r.status == 404, query
            assert error_of(await r.json(content_type=None)) == (107, "Message ID is invalid")


async def test_query_with_bearer_by_txn_id(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    creds = [
        CredentialSpec(dialect="osonsms", kind="token", secret="tok"),
        CredentialSpec(dialect="osonsms", kind="salt", identifier="acme", secret="acme-salt"),
    ]
    await gateway.provision(account("acme", credentials=creds))
    msg_id = await _sent(http, txn_id="order-77")
    auth = {"Authorization": "Bearer tok"}
    status, body = await call(http, QUERY, {"login": "acme", "txn_id": "order-77"}, headers=auth)
    assert status == 200 and body["status"] in SEED_STATUSES
    status, body = await call(http, QUERY, {"msg_id": str(msg_id)}, headers=auth)
    assert status == 200
    status, body = await call(http, QUERY, {"txn_id": "nope"}, headers=auth)
    assert (status, error_of(body)[0]) == (404, 107)


async def test_balance(gateway: Gateway, http: aiohttp.ClientSession, acme: int) -> None:
    status, body = await call(http, BALANCE, balance_params())
    assert status == 200
    assert set(body) == {"balance", "timestamp"} and re.match(TIMESTAMP, body["timestamp"])
    assert body["balance"] == 1000  # a JSON number, as the provider sends (e.g. 6.07)
    await _sent(http)
    _, body = await call(http, BALANCE, balance_params())
    assert body["balance"] == 999.5
    async with http.get(BALANCE, params=balance_params()) as r:
        assert b'"balance":999.50' in await r.read()


@pytest.mark.parametrize("field", ["login", "str_hash", "txn_id"])
async def test_balance_missing_field(http: aiohttp.ClientSession, acme: int, field: str) -> None:
    params = balance_params()
    del params[field]
    status, body = await call(http, BALANCE, params)
    assert (status, error_of(body)) == (422, (100, MISSING_BALANCE))


async def test_balance_errors(gateway: Gateway, http: aiohttp.ClientSession) -> None:
    await gateway.provision(account("acme"), account("walled", ip_allowlist=["10.0.0.1"]))
    params = balance_params()
    params["str_hash"] = sha256(f"{params['txn_id']};acme;wrong")
    status, body = await call(http, BALANCE, params)
    assert (status, error_of(body)) == (422, (106, "Incorrect hash"))
    status, body = await call(http, BALANCE, balance_params("nobody"))
    assert (status, error_of(body)) == (401, (105, "Inactive or non-existent account"))
    status, body = await call(http, BALANCE, balance_params("walled"))
    assert (status, error_of(body)) == (401, (114, "Host is not in whitelist"))


async def test_reads_when_store_is_down(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("disk gone")

    facade = gateway.app.app.state.gateway
    monkeypatch.setattr(facade, "balance", down)
    monkeypatch.setattr(facade, "message_by_seq", down)
    for path, params in ((BALANCE, balance_params()), (QUERY, query_params(msg_id=1))):
        status, body = await call(http, path, params)
        assert (status, error_of(body)[0]) == (503, 109)


async def test_credential_lookups_are_cached(
    gateway: Gateway, http: aiohttp.ClientSession, acme: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verifying str_hash reads nothing from the store once the salt is known."""
    store = gateway.app.app.state.gateway.store
    calls = 0
    real = store.find_credential

    async def counted(*args: object) -> object:
        nonlocal calls
        calls += 1
        return await real(*args)

    monkeypatch.setattr(store, "find_credential", counted)
    started = time.monotonic()
    results = await asyncio.gather(*(call(http, BALANCE, balance_params()) for _ in range(200)))
    assert all(status == 200 for status, _ in results)
    elapsed = time.monotonic() - started
    assert calls <= 2 + int(elapsed / AUTH_TTL), (calls, elapsed)
