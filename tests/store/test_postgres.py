"""PostgreSQL only: the paths the contract suite cannot reach from outside."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from smsgate.config import Config
from smsgate.connectors.simulator import Simulator, SimulatorConfig
from smsgate.core.status import Status
from smsgate.engine.dispatcher import Dispatcher
from smsgate.engine.reports import Reports
from smsgate.engine.routing import CallbackRouter
from smsgate.store import open_store, postgres
from smsgate.store.postgres import COPY_FROM, PostgresStore, _insert, _stored, split_url
from tests.store.helpers import make_account, message

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def test_url_options_are_ours_and_the_rest_goes_to_the_server(backend: str) -> None:
    dsn, ours = split_url("postgres://u:p@h:5433/db?pool_max=4&search_path=s1&connect_timeout=3")
    assert dsn == "postgresql://u:p@h:5433/db?search_path=s1"
    assert ours == {"pool_max": 4.0, "connect_timeout": 3.0}
    store = open_store("postgresql://h/db?pool_min=2&pool_max=3")
    assert isinstance(store, PostgresStore) and (store.pool_min, store.pool_max) == (2, 3)


@pytest.mark.parametrize("n", [3, COPY_FROM + 5])
async def test_the_index_refuses_a_reference_stored_before(store: PostgresStore, n: int) -> None:
    """Insert-first: a reference stored before writes none of the rows (COPY or INSERT), and
    the stored message is read back by its reference."""
    a = await make_account(store)
    [first] = await store.accept(a.id, [message(a.id, client_ref="taken")])
    batch = [message(a.id, f"7965{i:07d}", client_ref=f"r{i}") for i in range(n - 1)]
    late = message(a.id, client_ref="taken")
    assert store._pool is not None
    async with store._pool.acquire() as conn, conn.transaction():
        assert not await _insert(conn, [*batch, late], copy=n >= COPY_FROM)
        assert await conn.fetchval("SELECT count(*) FROM messages") == 1
        stored = await _stored(conn, {(a.id, "native"): {"taken", "r0"}})
    assert stored == {(a.id, "native", "taken"): first.message}


@pytest.mark.parametrize("n", [1, COPY_FROM + 5])
async def test_a_reference_stored_meanwhile_retries_the_transaction(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    """A reference stored between our read and our insert: the insert finds it, the transaction
    is tried again, and the plan made again from what is then stored."""
    a = await make_account(store, balance=10**12)
    [first] = await store.accept(a.id, [message(a.id, client_ref="taken")])
    reads: list[object] = []

    async def stale(conn: asyncpg.Connection, refs: dict[tuple[int, str], set[str]]) -> object:
        reads.append(refs)
        found = await _stored(conn, refs)
        return {} if len(reads) == 1 else found  # the first read came before the other's commit

    monkeypatch.setattr(postgres, "_stored", stale)
    items = [message(a.id, f"7965{i:07d}", client_ref=f"r{i}") for i in range(n - 1)]
    outcomes = await store.accept(a.id, [*items, message(a.id, client_ref="taken")])
    assert len(reads) == 2
    assert [o.kind for o in outcomes] == ["new"] * (n - 1) + ["duplicate"]
    assert outcomes[-1].message == first.message
    assert [m.seq > 0 for m in items] == [True] * (n - 1)


async def test_group_commit_shares_transactions(store: PostgresStore) -> None:
    a = await make_account(store, balance=10**12)
    before = store.commits
    sends = [store.accept(a.id, [message(a.id, f"7965{i:07d}")]) for i in range(200)]
    outcomes = await asyncio.gather(*sends)
    assert all(o.kind == "new" for [o] in outcomes)
    assert store.commits - before < 100  # shared, not one each


async def test_a_bad_request_in_a_group_fails_alone(store: PostgresStore) -> None:
    from smsgate.core.errors import ErrorCode, GatewayError

    a = await make_account(store, balance=10**12)
    good = [store.accept(a.id, [message(a.id, f"7965{i:07d}")]) for i in range(20)]
    bad = store.accept(a.id, [message(a.id, text="nul \x00 here")])
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(r, list) and r[0].kind == "new" for r in results[:-1])
    assert isinstance(results[-1], GatewayError)
    assert results[-1].code is ErrorCode.INVALID_FIELD


async def test_two_nodes_claim_disjoint_work(store: PostgresStore, other: PostgresStore) -> None:
    a = await make_account(store, balance=10**12)
    await store.accept(a.id, [message(a.id, f"7965{i:07d}") for i in range(300)])
    now = time.time()
    claims = await asyncio.gather(
        *((store if i % 2 else other).claim_due(now, 40, f"node{i}", 60.0) for i in range(10))
    )
    ids = [m.id for claim in claims for m in claim]
    assert len(ids) == len(set(ids)) == 300


async def test_migrations_race(store: PostgresStore, database_url: str) -> None:
    """Nodes starting together: one migrates, the others see the version."""
    stores = [open_store(database_url) for _ in range(3)]
    for s in stores:
        await s.open()
    try:
        versions = await asyncio.gather(*(s.migrate() for s in stores))
        assert len(set(versions)) == 1
    finally:
        for s in stores:
            await s.close()


async def test_schema_constraints(store: PostgresStore) -> None:
    a = await make_account(store, balance=0)
    assert store._pool is not None
    with pytest.raises(asyncpg.CheckViolationError):
        await store._pool.execute("UPDATE accounts SET balance = -1 WHERE id = $1", a.id)


# Each index of `messages` and a statement it serves. A SUBMITTED is never a HOT update (it
# changes `queue` and the carrier id), so every index its new version qualifies for gets an
# entry; a final state after it is HOT (015), and so is a claim (018).
MESSAGE_INDEXES = {
    "messages_pkey": "message_by_id, reports_write",
    "messages_client_ref": "messages_by_refs (idempotency)",
    "messages_account": "messages_list",
    "messages_carrier": "message_by_carrier_id",
    "messages_due": "claim_due, claimed_by_others, renew_leases",
    "messages_scheduled": "scheduled_due",
    "messages_seq": "the console's lists",
}


async def test_every_index_of_messages_serves_a_statement(store: PostgresStore) -> None:
    """An index only the metrics read (messages_active, dropped by version 12) cost every
    message three entries; `counts` reads the dispatchers' indexes instead."""
    assert store._pool is not None
    async with store._pool.acquire() as conn:
        names = await conn.fetch(
            "SELECT indexname FROM pg_indexes"
            " WHERE tablename = 'messages' AND schemaname = current_schema()"
        )
    assert sorted(r[0] for r in names) == sorted(MESSAGE_INDEXES)


# The text keys of indexes left in the database's collation: names people read and sort,
# on tables no message passes through.
READ_NAMES = {
    ("accounts_name_key", "name"),
    ("senders_pkey", "name"),
    ("admin_users_username_key", "username"),
    ("admin_sessions_pkey", "key"),
    ("admin_login_buckets_pkey", "key"),
    ("routing_entries_pkey", "kind"),
    ("routing_entries_pkey", "name"),
    ("audit_log_target", "target"),
}


async def test_every_key_a_message_path_compares_is_compared_by_byte(
    store: PostgresStore,
) -> None:
    """Ids, references, phones, dialect and connector names are keyed in collation "C"
    (version 25): each entry a message writes or probes compares with memcmp, not the locale's
    strcoll. A new index on such a key left in the database's collation fails here; so would
    one side of a join (an index of the other side then no longer serves it)."""
    assert store._pool is not None
    rows = await store._pool.fetch(
        """SELECT i.indexrelid::regclass::text, a.attname, k.coll
           FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           CROSS JOIN LATERAL unnest(i.indkey, i.indcollation) AS k(attnum, coll)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE t.relnamespace = current_schema()::regnamespace AND a.atttypid = 'text'::regtype"""
    )
    c = await store._pool.fetchval("SELECT oid FROM pg_collation WHERE collname = 'C'")
    in_locale = {(index, column) for index, column, coll in rows if coll != c}
    assert in_locale == READ_NAMES
    assert len(rows) - len(in_locale) >= 20  # every message table's keys were found


async def listening(store: PostgresStore) -> None:
    """The store's listener started, and any wake-up from before forgotten."""
    await store.wait_for_work(asyncio.Event(), 0.01)  # starts the listener
    for _ in range(100):
        if store._listening.is_set():
            break
        await asyncio.sleep(0.05)
    await store.wait_for_work(asyncio.Event(), 0.01)  # forget anything earlier


async def test_work_on_another_node_wakes_this_one(
    store: PostgresStore, other: PostgresStore
) -> None:
    """LISTEN/NOTIFY: an accept on one node wakes the dispatcher of another at commit."""
    a = await make_account(other)
    await listening(store)
    wakeup = asyncio.Event()
    waiter = asyncio.create_task(store.wait_for_work(wakeup, 10.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await other.accept(a.id, [message(a.id)])
    await asyncio.wait_for(waiter, 5.0)
    assert time.monotonic() - started < 2.0


async def test_a_serving_node_wakes_no_other_yet_a_dead_ones_messages_go_out(
    store: PostgresStore, database_url: str
) -> None:
    """A serving node's accepts wake its own dispatcher only (`wake_nodes=False`): the other
    node hears nothing, and still sends what a node that died before claiming had accepted,
    at its next look (`idle_poll`)."""
    serving = open_store(database_url, **Config().store_options())
    await serving.open()
    try:
        a = await make_account(store)
        await listening(store)
        wakeup = asyncio.Event()
        waiter = asyncio.create_task(store.wait_for_work(wakeup, 0.5))
        await asyncio.sleep(0.05)
        [accepted] = await serving.accept(a.id, [message(a.id)])
        await waiter
        assert not wakeup.is_set()
    finally:
        await serving.close()  # the node that accepted is gone, its message unclaimed
    assert accepted.message is not None
    sim = Simulator(store, SimulatorConfig(dr_delay=0.01))
    reports = Reports(store, CallbackRouter({}), lambda number: None)
    dispatcher = Dispatcher(store, sim, reports, exclusive=False, idle_poll=0.2)
    await sim.start(reports)
    task = asyncio.create_task(dispatcher.run())
    try:
        deadline = time.monotonic() + 5.0
        while True:
            [m] = await store.get_messages(a.id, [accepted.message.id])
            if m.status is Status.DELIVERED:
                break
            assert time.monotonic() < deadline, f"still {m.status}"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await dispatcher.drain()
        await sim.stop()


async def test_group_commits_plan_their_statement_once(store: PostgresStore) -> None:
    """The group commits' connections keep one plan of `accept_at_once` (generic): left to
    choose, the server planned it anew at every execution (its custom plan always looked
    cheaper), which was most of the statement's server time."""
    a = await make_account(store)
    for i in range(12):
        await store.accept(a.id, [message(a.id, f"7965{i:07d}")])
    assert store._held is not None and store._held.idle
    conn = store._held.idle[-1]
    plans = await conn.fetch(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
        postgres.Q["accept_at_once"],
    )
    assert [tuple(p) for p in plans] == [(12, 0)]
    assert await store._pool.fetchval("SHOW plan_cache_mode") == "auto"  # the others choose


async def test_a_new_message_goes_as_a_row_of_the_columns_copy_writes(
    store: PostgresStore,
) -> None:
    """`message_in` (the rows `messages_insert` and `accept_at_once` take) is `message_row`
    less seq, and the type message_in has those columns, in that order."""
    m = message(
        7, client_ref="r", job_id="j", sender="S", priority=2, not_before=1.5, expires_at=9.5,
        flash=True, tag="t", callback_url="http://x/", error_code="E", price=3,
        confidential=True, meta={"k": "v"},
    )  # fmt: skip
    assert postgres.message_in(m) == postgres.message_row(m)[1:]
    assert store._pool is not None
    names = await store._pool.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'message_in'::regclass"
        " AND attnum > 0 ORDER BY attnum"
    )
    assert tuple(r[0] for r in names) == postgres.COPY_COLUMNS[1:]


async def test_held_connections_in_use_send_the_next_call_to_the_pool(
    store: PostgresStore,
) -> None:
    """At most `limit` held connections at once: a call past them takes the pool's way
    rather than waiting; one given back after an error of the call's is used again."""
    assert store._held is not None
    store._held.limit = 1
    release = asyncio.Event()
    seen: list[object] = []

    async def hold(conn: asyncpg.Connection) -> None:
        seen.append(conn)
        await release.wait()

    first = asyncio.create_task(store._tx(hold, tx=False, generic=True))
    while not seen:
        await asyncio.sleep(0.01)

    async def then_let_go(conn: asyncpg.Connection) -> None:
        seen.append(conn)
        release.set()

    await store._tx(then_let_go, tx=False, generic=True)  # the one held is in use
    await first
    held, pooled = seen
    assert isinstance(held, asyncpg.Connection)
    assert isinstance(pooled, asyncpg.pool.PoolConnectionProxy)

    async def fail(conn: asyncpg.Connection) -> None:
        seen.append(conn)
        await conn.execute("SELECT 1/0")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await store._tx(fail, tx=True, generic=True)
    assert seen[-1] is held and store._held.idle == [held] and store._held.busy == 0
