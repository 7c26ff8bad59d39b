"""Debits under concurrency: never below zero, never a refusal while the balance covers it.

On PostgreSQL accepts debit slices of the balance (store/postgres_debits.py); a refusal must
still be decided against the whole balance, the balance shown must count the slices, and an
accept must not wait on the account's row. Every test but the last two runs on both backends.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.store import postgres, postgres_debits
from smsgate.store.base import MessageFilter, Outcome, Store
from smsgate.store.postgres import PostgresStore
from smsgate.store.rules import AcceptRequest
from tests.store.helpers import make_account, message

PRICE = 500_000
ROOT = Path(__file__).resolve().parents[2]


async def balance(store: Store, account_id: int) -> int:
    account = await store.get_account(account_id)
    assert account is not None
    return account.balance


async def sends(store: Store, account_id: int, n: int, tag: str) -> list[Outcome]:
    """`n` concurrent single sends, each its own request (group commit shares their commits)."""
    calls = [store.accept(account_id, [message(account_id, f"7965{tag}{i:05d}")]) for i in range(n)]
    return [o for [o] in await asyncio.gather(*calls)]


async def waves(store: Store, account_id: int, n: int) -> list[Outcome]:
    """`n` single sends, 10 at a time: a node that keeps sending while another does."""
    outcomes = []
    for wave in range(0, n, 10):
        outcomes += await sends(store, account_id, 10, str(wave // 10 % 10))
    return outcomes


def kinds(outcomes: list[Outcome]) -> dict[str, int]:
    found: dict[str, int] = {}
    for o in outcomes:
        key = o.kind if o.error is None else f"{o.kind}:{o.error.code.name}"
        found[key] = found.get(key, 0) + 1
    return found


async def test_room_for_100_and_300_concurrent_sends_on_two_stores(
    store: Store, other: Store
) -> None:
    a = await make_account(store, balance=100 * PRICE)
    both = await asyncio.gather(sends(store, a.id, 150, "1"), sends(other, a.id, 150, "2"))
    assert kinds(both[0] + both[1]) == {"new": 100, "error:INSUFFICIENT_BALANCE": 200}
    assert await balance(store, a.id) == 0
    assert await balance(other, a.id) == 0
    assert len(await store.list_messages(a.id, MessageFilter(), limit=1000)) == 100


async def test_accounts_sharing_groups_each_get_exactly_their_room(
    store: Store, other: Store
) -> None:
    """Requests of several accounts commit together: each account's room is exact, whichever
    order their debits are taken in (on PostgreSQL a group that finds some accounts' slices
    but not all takes them again in account order)."""
    rooms = {"a": 7, "b": 30, "c": 1}
    accounts = {n: await make_account(store, n, balance=r * PRICE) for n, r in rooms.items()}
    calls = [
        (store if i % 2 else other).accept(acc.id, [message(acc.id, f"79651{k}{i:05d}")])
        for i in range(40)
        for k, acc in enumerate(accounts.values())
    ]
    outcomes = [o for [o] in await asyncio.gather(*calls)]
    for k, (name, acc) in enumerate(accounts.items()):
        mine = outcomes[k :: len(accounts)]
        assert kinds(mine) == {"new": rooms[name], "error:INSUFFICIENT_BALANCE": 40 - rooms[name]}
        assert await balance(store, acc.id) == 0


async def test_the_balance_shown_counts_what_concurrent_accepts_hold(
    store: Store, other: Store
) -> None:
    a = await make_account(store, balance=1000 * PRICE)
    await asyncio.gather(sends(store, a.id, 60, "1"), sends(other, a.id, 40, "2"))
    assert await balance(store, a.id) == 900 * PRICE
    assert await balance(other, a.id) == 900 * PRICE
    assert [x.balance for x in await store.list_accounts()] == [900 * PRICE]
    found = await other.account_by_name("acme")
    assert found is not None and found.balance == 900 * PRICE


async def test_adjustments_and_updates_see_the_whole_balance(store: Store, other: Store) -> None:
    a = await make_account(store, balance=1000 * PRICE)  # slices take 1/16 of it each
    await asyncio.gather(sends(store, a.id, 20, "1"), sends(other, a.id, 20, "2"))
    # The rest (960 messages' worth) sits partly in slices: taking it all is allowed, a unit
    # more not.
    with pytest.raises(GatewayError) as err:
        await other.adjust_balance(a.id, -960 * PRICE - 1)
    assert err.value.code is ErrorCode.INSUFFICIENT_BALANCE
    assert await store.adjust_balance(a.id, -960 * PRICE) == 0
    [refused] = await sends(other, a.id, 1, "3")
    assert refused.error is not None and refused.error.code is ErrorCode.INSUFFICIENT_BALANCE
    assert await other.adjust_balance(a.id, 5 * PRICE) == 5 * PRICE
    await asyncio.gather(sends(store, a.id, 2, "4"), sends(other, a.id, 2, "5"))
    updated = await store.update_account(a.id, balance=3 * PRICE)  # set outright
    assert updated.balance == 3 * PRICE
    assert kinds(await sends(other, a.id, 5, "6")) == {
        "new": 3,
        "error:INSUFFICIENT_BALANCE": 2,
    }
    assert await balance(store, a.id) == 0


async def test_the_admin_ledger_sees_the_whole_balance(store: Store, other: Store) -> None:
    a = await make_account(store, balance=1000 * PRICE)  # slices take 1/16 of it each
    await asyncio.gather(sends(store, a.id, 20, "1"), sends(other, a.id, 20, "2"))
    now = time.time()
    entry = await other.ledger_post(a.id, "debit", 960 * PRICE, reason="r", actor="op", now=now)
    assert (entry.amount, entry.balance_after) == (-960 * PRICE, 0)
    entry = await store.ledger_post(a.id, "correction", 2 * PRICE, reason="r", actor="op", now=now)
    assert (entry.amount, entry.balance_after) == (2 * PRICE, 2 * PRICE)
    assert kinds(await sends(other, a.id, 3, "3")) == {"new": 2, "error:INSUFFICIENT_BALANCE": 1}


async def test_concurrent_adjustments_and_sends_never_go_below_zero(
    store: Store, other: Store
) -> None:
    a = await make_account(store, balance=50 * PRICE)

    async def take(s: Store) -> bool:
        try:
            await s.adjust_balance(a.id, -PRICE)
            return True
        except GatewayError:
            return False

    taken, sent, sent2 = await asyncio.gather(
        asyncio.gather(*(take(store if i % 2 else other) for i in range(30))),
        sends(store, a.id, 30, "1"),
        sends(other, a.id, 30, "2"),
    )
    new = kinds(sent + sent2).get("new", 0)
    assert sum(taken) + new == 50
    assert await balance(store, a.id) == 0


# PostgreSQL only ---------------------------------------------------------------------------

_NODE = """
import asyncio, json, sys, time
from smsgate.store import postgres, postgres_debits
from smsgate.store.postgres import PostgresStore
from smsgate.store.rules import AcceptRequest
from tests.store.helpers import message

async def main(url, account_id, n):
    store = PostgresStore(url)
    await store.open()
    await store.ping()
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    await asyncio.sleep(start - time.time())
    outcomes = []
    for wave in range(0, n, 10):
        calls = [store.accept(account_id, [message(account_id, f"79653{i:05d}")])
                 for i in range(wave, wave + 10)]
        outcomes += [o for [o] in await asyncio.gather(*calls)]
    await store.close()
    print(json.dumps([o.kind if o.error is None else o.error.code.name for o in outcomes]), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_room_for_100_and_300_sends_from_two_processes(
    store: Store, database_url: str
) -> None:
    """Two nodes: this process and another, each with its own pool, sending at once."""
    a = await make_account(store, balance=100 * PRICE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    node = subprocess.Popen(
        [sys.executable, "-c", _NODE, database_url, str(a.id), "150"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert node.stdout is not None and node.stdin is not None
        assert await asyncio.to_thread(node.stdout.readline) == "ready\n"
        start = time.time() + 0.5  # both nodes send from then on
        node.stdin.write(f"{start}\n")
        node.stdin.flush()
        await asyncio.sleep(start - time.time())
        here, there = await asyncio.gather(
            waves(store, a.id, 150), asyncio.to_thread(node.stdout.readline)
        )
    finally:
        node.wait(timeout=30)
    theirs = json.loads(there)
    mine = [o.kind for o in here]
    assert theirs.count("new") > 0 and mine.count("new") > 0  # both nodes took part
    assert theirs.count("new") + mine.count("new") == 100
    assert len(theirs) + len(mine) == 300
    assert await balance(store, a.id) == 0


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_accepts_do_not_wait_on_the_accounts_row(
    store: PostgresStore, database_url: str
) -> None:
    """Once slices hold the balance, an accept takes one and never queues on the account's
    row: here another transaction holds that row locked the whole time."""
    a = await make_account(store, balance=1000 * PRICE)
    await sends(store, a.id, 20, "1")  # slices made and filled
    conn = await asyncpg.connect(
        database_url.split("?")[0], server_settings=_search_path(database_url)
    )
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", a.id)
            started = time.monotonic()
            outcomes = await asyncio.wait_for(sends(store, a.id, 20, "2"), timeout=10)
            waited = time.monotonic() - started
    finally:
        await conn.close()
    assert kinds(outcomes) == {"new": 20}
    assert waited < 5
    assert await balance(store, a.id) == 960 * PRICE


def slow_groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the groups that go `_accept`'s way (four round trips) from now on."""
    taken: list[int] = []
    accept = postgres._accept

    async def recorded(conn: asyncpg.Connection, requests: Any, ordered: bool = False) -> Any:
        taken.append(len(requests))
        return await accept(conn, requests, ordered)

    monkeypatch.setattr(postgres, "_accept", recorded)
    return taken


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_plain_accept_with_its_slice_at_hand_is_one_statement(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual group writes its messages and debits in one statement (`accept_at_once`),
    not in `_accept`'s transaction of four round trips; a stop-listed phone goes there."""
    a = await make_account(store, balance=1000 * PRICE)
    await store.accept(a.id, [message(a.id)])  # the slice made
    taken = slow_groups(monkeypatch)
    assert kinds(await sends(store, a.id, 20, "1")) == {"new": 20}
    assert taken == []
    await store.stoplist_add(a.id, ["79650000001"])
    [stopped] = await store.accept(a.id, [message(a.id, "79650000001")])
    assert stopped.error is not None and stopped.error.code is ErrorCode.STOP_LISTED
    assert taken == [1]
    assert await balance(store, a.id) == 979 * PRICE


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_phone_stop_listed_by_another_account_of_the_group_keeps_it_one_statement(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stop lists are read by each message's own (account, phone): a phone another account
    of the group has stop-listed does not send the group to `_accept` (every phone under every
    account did), and one its own account or the global list has still refuses it there."""
    a = await make_account(store, "a", balance=100 * PRICE)
    b = await make_account(store, "b", balance=100 * PRICE)
    for account in (a, b):
        await store.accept(account.id, [message(account.id)])  # the slices made
    await store.stoplist_add(b.id, ["79650000001"])
    await store.stoplist_add(a.id, ["79650000002"])
    taken = slow_groups(monkeypatch)
    crossed = [
        AcceptRequest(a.id, [message(a.id, "79650000001")]),
        AcceptRequest(b.id, [message(b.id, "79650000002")]),
    ]
    assert [o.kind for [o] in await store._accept_alone(crossed)] == ["new", "new"]
    assert taken == []
    await store.stoplist_add(0, ["79650000003"])
    own = [
        AcceptRequest(a.id, [message(a.id, "79650000002"), message(a.id, "79650000003")]),
        AcceptRequest(b.id, [message(b.id, "79650000001"), message(b.id, "79650000004")]),
    ]
    outcomes = await store._accept_alone(own)
    assert taken == [2]
    assert [[o.kind for o in each] for each in outcomes] == [["error", "error"], ["error", "new"]]
    assert all(o.error.code is ErrorCode.STOP_LISTED for o in outcomes[0] if o.error)
    assert (await balance(store, a.id), await balance(store, b.id)) == (98 * PRICE, 97 * PRICE)


def _search_path(url: str) -> dict[str, str]:
    query = url.split("?", 1)[1] if "?" in url else ""
    pairs = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    return {"search_path": pairs["search_path"]} if "search_path" in pairs else {}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_group_missing_a_lower_accounts_slice_takes_them_again_in_order(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """b has a full slice, a none yet: a group of both holds b's slice and must wait for a's
    row, out of order. It starts again, taking a's then b's."""
    a = await make_account(store, "a", balance=10 * PRICE)
    b = await make_account(store, "b", balance=100 * PRICE)
    await store.accept(b.id, [message(b.id)])  # b's slice made, with 1/16 of its balance
    calls: list[bool] = []
    reserve = postgres_debits.reserve

    async def recorded(*args: Any, ordered: bool = False, **kw: Any) -> postgres_debits.Slices:
        calls.append(ordered)
        return await reserve(*args, ordered=ordered, **kw)

    monkeypatch.setattr(postgres_debits, "reserve", recorded)
    group = [AcceptRequest(a.id, [message(a.id)]), AcceptRequest(b.id, [message(b.id)])]
    outcomes = await store._accept_alone(group)
    assert calls == [False, True]
    assert [o.kind for [o] in outcomes] == ["new", "new"]
    assert (await balance(store, a.id), await balance(store, b.id)) == (9 * PRICE, 98 * PRICE)
