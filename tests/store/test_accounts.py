"""Store contract: schema, accounts, balance, credentials, senders, stop list."""

from __future__ import annotations

import asyncio

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Credential
from smsgate.store.base import Store
from tests.store.helpers import make_account


async def test_migrate_is_idempotent(store: Store) -> None:
    version = await store.migrate()
    assert version >= 1
    assert await store.migrate() == version


async def test_create_and_read_account(store: Store) -> None:
    created = await make_account(
        store,
        "acme",
        currency="KZT",
        tps=50,
        timezone="Asia/Almaty",
        ip_allowlist=["10.0.0.0/8"],
        callback_urls={"native": "http://cb.example/dr"},
        settings={"msghub": {"client_ids": [1, 2]}},
        senders=["Zeta", "ACME"],
    )
    assert created.id > 0
    assert created.senders == ["ACME", "Zeta"]
    again = await store.get_account(created.id)
    assert again == created
    assert await store.account_by_name("acme") == created
    assert again is not None and again.settings == {"msghub": {"client_ids": [1, 2]}}
    assert again.callback_urls == {"native": "http://cb.example/dr"}
    assert again.active is True and again.tps == 50 and again.currency == "KZT"
    assert await store.get_account(created.id + 1000) is None
    assert await store.account_by_name("nobody") is None


async def test_account_names_are_unique(store: Store) -> None:
    await make_account(store, "acme")
    with pytest.raises(GatewayError) as err:
        await make_account(store, "acme")
    assert err.value.code is ErrorCode.DUPLICATE


async def test_list_and_update_accounts(store: Store) -> None:
    a = await make_account(store, "a")
    b = await make_account(store, "b")
    assert [x.name for x in await store.list_accounts()] == ["a", "b"]
    updated = await store.update_account(
        b.id, price=7, active=False, callback_urls={"smsc": "http://x/y"}
    )
    assert updated.price == 7 and updated.active is False
    assert updated.callback_urls == {"smsc": "http://x/y"}
    assert (await store.get_account(a.id)) == a  # untouched
    with pytest.raises(ValueError):
        await store.update_account(a.id, nonsense=1)
    with pytest.raises(GatewayError) as err:
        await store.update_account(a.id + b.id + 100, price=1)
    assert err.value.code is ErrorCode.NOT_FOUND


async def test_update_refusals_are_the_same_on_both_backends(store: Store) -> None:
    a = await make_account(store, "a")
    await make_account(store, "b")
    with pytest.raises(GatewayError) as taken:
        await store.update_account(a.id, name="b")
    assert taken.value.code is ErrorCode.DUPLICATE
    with pytest.raises(GatewayError) as negative:
        await store.update_account(a.id, balance=-1)
    assert negative.value.code is ErrorCode.INVALID_FIELD
    with pytest.raises(GatewayError) as missing:
        await store.update_account(a.id + 1000, price=1)
    assert missing.value.code is ErrorCode.NOT_FOUND
    assert (await store.get_account(a.id)) == a  # nothing changed


async def test_adjust_balance(store: Store) -> None:
    a = await make_account(store, balance=1000)
    assert await store.adjust_balance(a.id, 500) == 1500
    assert await store.adjust_balance(a.id, -1500) == 0
    with pytest.raises(GatewayError) as err:
        await store.adjust_balance(a.id, -1)
    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    with pytest.raises(GatewayError) as err:
        await store.adjust_balance(a.id + 100, 1)
    assert err.value.code is ErrorCode.NOT_FOUND
    assert (await store.get_account(a.id)).balance == 0  # type: ignore[union-attr]


async def test_concurrent_balance_adjustments_never_go_below_zero(
    store: Store, other: Store
) -> None:
    a = await make_account(store, balance=10)

    async def take(s: Store) -> bool:
        try:
            await s.adjust_balance(a.id, -1)
            return True
        except GatewayError:
            return False

    results = await asyncio.gather(*(take(store if i % 2 else other) for i in range(30)))
    assert sum(results) == 10
    assert (await store.get_account(a.id)).balance == 0  # type: ignore[union-attr]


async def test_credentials(store: Store) -> None:
    a = await make_account(store, "a")
    b = await make_account(store, "b")
    cred = Credential(account_id=a.id, dialect="msghub", kind="basic", identifier="u", secret="h1")
    await store.put_credential(cred)
    await store.put_credential(
        Credential(account_id=a.id, dialect="native", kind="token", identifier="t", secret="x")
    )
    assert await store.find_credential("msghub", "basic", "u") == cred
    assert await store.find_credential("msghub", "basic", "v") is None
    # The same (dialect, kind, identifier) again replaces it (here: moves it to b).
    moved = Credential(account_id=b.id, dialect="msghub", kind="basic", identifier="u", secret="h2")
    await store.put_credential(moved)
    assert await store.find_credential("msghub", "basic", "u") == moved
    assert [c.dialect for c in await store.credentials_of(a.id)] == ["native"]
    assert await store.credentials_of(b.id) == [moved]
    assert await store.delete_credential("msghub", "basic", "u") is True
    assert await store.delete_credential("msghub", "basic", "u") is False
    assert await store.find_credential("msghub", "basic", "u") is None


async def test_senders(store: Store) -> None:
    a = await make_account(store, senders=["ACME"])
    await store.add_sender(a.id, "Test")
    await store.add_sender(a.id, "Test")  # idempotent
    assert (await store.get_account(a.id)).senders == ["ACME", "Test"]  # type: ignore[union-attr]
    assert await store.remove_sender(a.id, "ACME") is True
    assert await store.remove_sender(a.id, "ACME") is False
    assert (await store.get_account(a.id)).senders == ["Test"]  # type: ignore[union-attr]


async def test_stop_list(store: Store) -> None:
    a = await make_account(store)
    assert await store.stoplist_add(a.id, ["79650000002", "79650000001", "79650000001"]) == 2
    assert await store.stoplist_add(a.id, ["79650000001"]) == 0
    assert await store.stoplist(a.id) == ["79650000001", "79650000002"]
    assert await store.stoplist(0) == []
    assert await store.stoplist_remove(a.id, ["79650000001", "79659999999"]) == 1
    assert await store.stoplist(a.id) == ["79650000002"]
