"""Store contract, the console's part: admin users, sessions, login buckets, ledger, audit.
Every test runs on SQLite and on PostgreSQL (tests/store/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest

from smsgate.core.admin import session_key
from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.core.throttle import Limit
from smsgate.store.base import Store
from tests.store.helpers import make_account, message, route

NOW = 1_800_000_000.0


async def test_admin_users_are_unique_and_listed_without_hashes(store: Store) -> None:
    alice = await store.admin_create("alice", "scrypt$hash-a", "operator", NOW)
    await store.admin_create("bob", "scrypt$hash-b", "readonly", NOW)
    with pytest.raises(GatewayError) as err:
        await store.admin_create("alice", "scrypt$other", "readonly", NOW)
    assert err.value.code is ErrorCode.DUPLICATE
    assert [(u.username, u.role) for u in await store.admin_list()] == [
        ("alice", "operator"),
        ("bob", "readonly"),
    ]
    found = await store.admin_login("alice")
    assert found is not None and found.user == alice and found.password_hash == "scrypt$hash-a"
    assert await store.admin_login("carol") is None


async def test_sessions_expire_and_end(store: Store) -> None:
    alice = await store.admin_create("alice", "h", "operator", NOW)
    await store.session_start(session_key("tok-1"), alice.id, NOW, NOW + 60)
    assert await store.session_user(session_key("tok-1"), NOW + 59) == alice
    assert await store.session_user(session_key("tok-1"), NOW + 60) is None  # expired
    assert await store.session_user(session_key("tok-2"), NOW) is None
    await store.session_end(session_key("tok-1"))
    assert await store.session_user(session_key("tok-1"), NOW) is None


async def test_password_change_and_removal_end_sessions(store: Store) -> None:
    alice = await store.admin_create("alice", "h", "operator", NOW)
    bob = await store.admin_create("bob", "h", "operator", NOW)
    await store.session_start(session_key("a"), alice.id, NOW, NOW + 60)
    await store.session_start(session_key("b"), bob.id, NOW, NOW + 60)
    assert await store.admin_update("alice", password_hash="h2") is True
    assert await store.session_user(session_key("a"), NOW) is None
    assert await store.session_user(session_key("b"), NOW) == bob  # another's: untouched
    assert await store.admin_update("bob", role="readonly") is True
    changed = await store.session_user(session_key("b"), NOW)
    assert changed is not None and changed.role == "readonly"  # a role change keeps sessions
    assert await store.admin_remove("bob") is True
    assert await store.session_user(session_key("b"), NOW) is None
    assert await store.admin_remove("bob") is False
    assert await store.admin_update("nobody", role="operator") is False


async def test_login_throttle_counts_per_key_across_stores(store: Store, other: Store) -> None:
    limit = Limit(burst=3, rate=1.0)
    keys = ["user:alice", "ip:10.0.0.1"]
    for _ in range(2):
        assert await store.login_throttle(keys, limit, NOW) == 0.0
    assert await other.login_throttle(keys, limit, NOW) == 0.0  # the same buckets
    assert await store.login_throttle(keys, limit, NOW) == pytest.approx(1.0)
    # Another user from the same address is refused too (the address's bucket is empty) ...
    assert await store.login_throttle(["user:bob", "ip:10.0.0.1"], limit, NOW) > 0
    # ... and the refusal took nothing from bob's bucket: from elsewhere he has all three.
    for _ in range(3):
        assert await store.login_throttle(["user:bob", "ip:10.0.0.2"], limit, NOW) == 0.0
    assert await store.login_throttle(keys, limit, NOW + 1.0) == 0.0  # one token regained


async def test_concurrent_logins_never_exceed_the_burst(store: Store, other: Store) -> None:
    limit = Limit(burst=5, rate=0.001)
    answers = await asyncio.gather(
        *(s.login_throttle(["user:x"], limit, NOW) for s in [store, other] * 10)
    )
    assert sum(1 for wait in answers if wait == 0.0) == 5


async def test_ledger_entries_change_the_balance_in_one_step(store: Store) -> None:
    account = await make_account(store, "acme", balance=1_000_000)
    top = await store.ledger_post(
        account.id, "top_up", 500_000, reason="invoice 7", actor="alice", now=NOW
    )
    assert (top.amount, top.balance_after, top.reason, top.actor) == (
        500_000,
        1_500_000,
        "invoice 7",
        "alice",
    )
    debit = await store.ledger_post(account.id, "debit", 200_000, reason="fee", actor="a", now=NOW)
    assert (debit.amount, debit.balance_after) == (-200_000, 1_300_000)
    fixed = await store.ledger_post(
        account.id, "correction", 999_650_000, reason="count", actor="a", now=NOW
    )
    assert (fixed.amount, fixed.balance_after) == (998_350_000, 999_650_000)
    again = await store.get_account(account.id)
    assert again is not None and again.balance == 999_650_000
    entries = await store.ledger(account.id)
    assert [e.id for e in entries] == [fixed.id, debit.id, top.id]  # newest first
    assert [e.kind for e in await store.ledger(account.id, before_id=fixed.id, limit=1)] == [
        "debit"
    ]


async def test_a_refused_ledger_entry_changes_nothing(store: Store) -> None:
    account = await make_account(store, "acme", balance=100)
    with pytest.raises(GatewayError) as err:
        await store.ledger_post(account.id, "debit", 101, reason="too much", actor="a", now=NOW)
    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    with pytest.raises(GatewayError) as err:
        await store.ledger_post(account.id + 99, "top_up", 1, reason="", actor="a", now=NOW)
    assert err.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(GatewayError) as err:
        await store.ledger_post(account.id, "top_up", 0, reason="", actor="a", now=NOW)
    assert err.value.code is ErrorCode.INVALID_FIELD
    assert await store.ledger(account.id) == []
    again = await store.get_account(account.id)
    assert again is not None and again.balance == 100


async def test_concurrent_debits_never_take_the_balance_below_zero(store: Store) -> None:
    account = await make_account(store, "acme", balance=1000)

    async def debit() -> bool:
        try:
            await store.ledger_post(account.id, "debit", 300, reason="", actor="a", now=NOW)
        except GatewayError:
            return False
        return True

    done = await asyncio.gather(*(debit() for _ in range(6)))
    assert sum(done) == 3
    again = await store.get_account(account.id)
    assert again is not None and again.balance == 100
    assert [e.balance_after for e in reversed(await store.ledger(account.id))] == [700, 400, 100]


async def test_audit_log_lists_newest_first_and_by_target(store: Store) -> None:
    await store.audit_add("alice", "account.create", "account:1", {"name": "acme"}, NOW)
    await store.audit_add("bob", "credential.revoke", "account:2", {"kind": "token"}, NOW + 1)
    await store.audit_add("alice", "account.update", "account:1", {"tps": 5}, NOW + 2)
    entries = await store.audit_list()
    assert [(e.actor, e.action, e.target) for e in entries] == [
        ("alice", "account.update", "account:1"),
        ("bob", "credential.revoke", "account:2"),
        ("alice", "account.create", "account:1"),
    ]
    assert entries[-1].details == {"name": "acme"} and entries[-1].at == NOW
    mine = await store.audit_list(target="account:1", before_id=entries[0].id)
    assert [e.action for e in mine] == ["account.create"]


async def test_callback_backlog_counts_pending_callbacks_per_account(store: Store) -> None:
    acme = await make_account(store, "acme", callback_urls={"native": "http://cb.example/dr"})
    other = await make_account(store, "other", callback_urls={"native": "http://cb.example/o"})
    await make_account(store, "quiet")
    assert await store.callback_backlog_by_account() == {}
    sent = [message(acme.id, phone="79650000001"), message(acme.id), message(other.id)]
    for m in sent:
        await store.accept(m.account_id, [m])
    reports = [Report(message_id=m.id, status=Status.REJECTED, at=NOW) for m in sent]
    await store.record_reports(reports, route)
    assert await store.callback_backlog_by_account() == {acme.id: 2, other.id: 1}
    done = [i.id for i in await store.outbox_items(acme.id)][:1]
    await store.outbox_done(done, NOW)
    assert await store.callback_backlog_by_account() == {acme.id: 1, other.id: 1}
