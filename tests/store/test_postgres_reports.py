"""PostgreSQL only: reports planned from the states a store remembers, written checked
(store/postgres_reports.py). Another store on the same database is another node."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store.base import ConnectorEntry
from smsgate.store.claim_floor import ClaimFloor
from smsgate.store.postgres import PostgresStore, Q
from tests.store.helpers import make_account, message, route

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def statements_of(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> list[asyncpg.connection.LoggedQuery]:
    """Every statement the store sends from now on (BEGIN and COMMIT too), in order, with its
    arguments; not asyncpg's own look-ups of the types a connection has not used yet."""
    sent: list[asyncpg.connection.LoggedQuery] = []
    conn_of = store._conn
    ours = set(Q.values())

    def logged(record: asyncpg.connection.LoggedQuery) -> None:
        if record.query in ours or record.query.rstrip(";") in ("BEGIN", "COMMIT"):
            sent.append(record)

    @contextlib.asynccontextmanager
    async def conn(generic: bool = False) -> AsyncIterator[asyncpg.Connection]:
        async with conn_of(generic) as c:
            c.add_query_logger(logged)
            try:
                yield c
            finally:
                await asyncio.sleep(0)  # asyncpg calls its loggers soon, not at once
                c.remove_query_logger(logged)

    monkeypatch.setattr(store, "_conn", conn)
    return sent


def report(message_id: str, status: Status, carrier_id: str | None = None) -> Report:
    return Report(message_id=message_id, status=status, carrier_id=carrier_id, at=time.time())


async def test_reports_on_messages_it_claimed_are_two_statements(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dispatcher's SUBMITTED and the receipts after it: planned from what the claim and
    the last batch left, without reading or locking the rows; the events' numbers and the
    callback URLs, then one write (the locked way: BEGIN, lock, move, numbers, events, URLs,
    COMMIT)."""
    a = await make_account(store, callback_urls={"native": "http://127.0.0.1:9/cb"})
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(5)])
    claimed = await store.claim_due(time.time(), 10, "t", 60.0)
    ids = [m.id for m in claimed]
    sent = statements_of(store, monkeypatch)
    events = await store.record_reports([report(i, Status.SUBMITTED, f"c{i}") for i in ids], route)
    assert len(events) == 5 and len(sent) == 2
    receipts = [report(i, Status.SUBMITTED, f"c{i}") for i in ids]
    receipts += [report(i, Status.DELIVERED, f"c{i}") for i in ids]
    events = await store.record_reports(receipts, route)
    assert [e.status for e in events] == [Status.DELIVERED] * 5 and len(sent) == 4
    for i in ids:
        got = await store.get_message(a.id, i)
        assert got is not None and (got.status, got.carrier_id) == (Status.DELIVERED, f"c{i}")
        assert [e.status for e in await store.events_of(a.id, i)] == [
            Status.SUBMITTED,
            Status.DELIVERED,
        ]
        assert [c.state for c in await store.callbacks_of(a.id, i)] == ["pending"] * 2


async def test_the_events_numbers_are_taken_without_waiting_for_a_flush(
    store: PostgresStore,
) -> None:
    """nextval gives a statement that logs its sequence a transaction id, so the prelude of a
    batch of 40 reports committed with a WAL flush of its own, a wait the write after it
    makes again. It commits without one (read here in a transaction the test holds open)."""
    a = await make_account(store, callback_urls={"native": "http://127.0.0.1:9/cb"})
    async with store._conn() as conn, conn.transaction():
        row = await conn.fetchrow(Q["report_prelude"], 40, [a.id])
        assert len(row[-3]) == 40 and list(row[-2]) == [a.id]
        assert await conn.fetchval("SELECT pg_current_xact_id_if_assigned()") is not None
        assert await conn.fetchval("SELECT current_setting('synchronous_commit')") == "off"


async def test_claims_and_connector_lines_commit_without_waiting_for_a_flush(
    store: PostgresStore,
) -> None:
    """As on SQLite, the engine's claims, the simulator's connector-log lines and the reported
    marks are answered at their commit: the flushed SUBMITTED (or the connector's own line)
    after each covers it. Read in a transaction the test holds open."""
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(2)])
    line = ConnectorEntry(message_id="m1", carrier_id="c1", submitted_at=time.time())
    statements = [
        ("claim_due", ("t", time.time() + 60, [], 10, 0)),
        ("connector_log_note", ([("sim", "m1", "c1", line.submitted_at, None, None)],)),
        ("connector_log_reported", ("sim", ["m1"])),
    ]
    for name, args in statements:
        async with store._conn() as conn, conn.transaction():
            assert await conn.execute(Q[name], *args) in ("UPDATE 2", "INSERT 0 1", "UPDATE 1")
            setting = await conn.fetchval("SELECT current_setting('synchronous_commit')")
            assert setting == "off", f"{name} waits for its flush"
    await store.connector_log_note("sim", [line])
    assert await store.connector_log_find("sim", ["m1"]) == [line, line]


async def test_a_row_another_node_moved_is_planned_again_from_it(
    store: PostgresStore, other: PostgresStore
) -> None:
    """This node remembers its claim (queued); the other records the carrier's word first. This
    node's SUBMITTED then finds the row delivered: it changes nothing and makes no event."""
    a = await make_account(store)
    [m] = await store.accept(a.id, [message(a.id)])
    assert m.message is not None
    [claimed] = await store.claim_due(time.time(), 10, "t", 60.0)
    done = [report(claimed.id, Status.SUBMITTED, "c1"), report(claimed.id, Status.DELIVERED)]
    assert len(await other.record_reports(done, route)) == 2
    assert await store.record_reports([report(claimed.id, Status.SUBMITTED, "c1")], route) == []
    got = await store.get_message(a.id, claimed.id)
    assert got is not None and got.status is Status.DELIVERED
    assert len(await store.events_of(a.id, claimed.id)) == 2


async def test_a_carrier_id_another_node_learnt_is_kept(
    store: PostgresStore, other: PostgresStore
) -> None:
    """Submitted here without a carrier id; the other node learns it (no change of status);
    the receipt here, without one, moves the message on and keeps the id."""
    a = await make_account(store)
    await store.accept(a.id, [message(a.id)])
    [claimed] = await store.claim_due(time.time(), 10, "t", 60.0)
    await store.record_reports([report(claimed.id, Status.SUBMITTED)], route)
    assert await other.record_reports([report(claimed.id, Status.SUBMITTED, "c9")], route) == []
    [event] = await store.record_reports([report(claimed.id, Status.DELIVERED)], route)
    assert event.status is Status.DELIVERED
    got = await store.get_message(a.id, claimed.id)
    assert got is not None and (got.status, got.carrier_id) == (Status.DELIVERED, "c9")


async def test_a_refund_goes_the_locked_way_and_the_events_keep_the_reports_order(
    store: PostgresStore,
) -> None:
    """A batch with a message rejected before a carrier had it (its price goes back, under the
    account's lock) between two that are submitted: all three written, events in the reports'
    order, the money back once."""
    a = await make_account(store, balance=10 * 500_000)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(3)])
    first, second, third = await store.claim_due(time.time(), 10, "t", 60.0)
    batch = [
        report(first.id, Status.SUBMITTED, "c1"),
        report(second.id, Status.REJECTED),
        report(third.id, Status.SUBMITTED, "c3"),
    ]
    events = await store.record_reports(batch, route)
    assert [(e.message_id, e.status) for e in events] == [(r.message_id, r.status) for r in batch]
    account = await store.get_account(a.id)
    assert account is not None and account.balance == 8 * 500_000


async def test_the_checked_write_sends_arrays_of_rows(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reports_write` takes the moves, events, callbacks and connector-log lines as one array
    of rows each (the types of migration 014), not one array a column: each row as wide as
    its type."""
    a = await make_account(store, callback_urls={"native": "http://127.0.0.1:9/cb"})
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(3)])
    ids = [m.id for m in await store.claim_due(time.time(), 10, "t", 60.0)]
    sent = statements_of(store, monkeypatch)
    line = ConnectorEntry(message_id=ids[0], carrier_id="c", submitted_at=time.time())
    submitted = [report(i, Status.SUBMITTED, f"c{i}") for i in ids]
    await store.record_reports(submitted, route, [("sim", line)])
    assert store._pool is not None
    widths = []
    for name in ("report_move", "event_in", "outbox_in", "log_line_in"):
        widths.append(
            await store._pool.fetchval(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0",
                name,
            )
        )
    [(moves, events, owed, noted)] = [r.args for r in sent if r.query == Q["reports_write"]]
    assert [len(moves), len(events), len(owed), len(noted)] == [3, 3, 3, 1]
    assert [len(rows[0]) for rows in (moves, events, owed, noted)] == widths
    for i in ids:
        assert [c.state for c in await store.callbacks_of(a.id, i)] == ["pending"]


async def test_the_lines_a_submitted_acknowledges_go_in_its_checked_write(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator's lines of a batch are written in the statement that records their
    SUBMITTED (one commit, as on SQLite), not in one of their own before it; where the batch
    moves nothing, they are still written."""
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(3)])
    ids = [m.id for m in await store.claim_due(time.time(), 10, "t", 60.0)]
    now = time.time()
    lines = [
        ("sim", ConnectorEntry(message_id=i, carrier_id=f"c{i}", submitted_at=now, report_due=now))
        for i in ids
    ]
    sent = statements_of(store, monkeypatch)
    submitted = [report(i, Status.SUBMITTED, f"c{i}") for i in ids]
    assert len(await store.record_reports(submitted, route, lines)) == 3
    assert [r.query for r in sent] == [Q["report_prelude"], Q["reports_write"]]
    assert await store.connector_log_find("sim", ids) == [e for _, e in lines]
    again = [("sim", msgspec.structs.replace(e, carrier_id="d")) for _, e in lines]
    assert await store.record_reports(submitted, route, again) == []  # no change
    assert len(await store.connector_log_find("sim", ids)) == 6


async def test_the_reported_mark_probes_each_line_by_its_key(store: PostgresStore) -> None:
    """connector_log_reported finds each line by (connector, message id), whatever its plan
    thinks of the pending lines. Its plan once walked `connector_log_pending`, taken as nearly
    empty, comparing every pending line with every id given (an array parameter is not
    hashed): 170 ms for 1,000 receipts among 5,000 pending lines. Here the generic plan, on a
    table of lines never analyzed, then what it marks."""
    now = time.time()
    lines = [
        ConnectorEntry(message_id=f"m{i:05d}", carrier_id=f"c{i}", submitted_at=now)
        for i in range(500)
    ]
    await store.connector_log_note("sim", lines)
    ids = [e.message_id for e in lines[100:300]]
    assert store._pool is not None
    async with store._pool.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        try:
            await conn.execute(f"PREPARE mark(text, text[]) AS {Q['connector_log_reported']}")
            listed = ",".join(f"'{i}'" for i in ids)
            plan = await conn.fetch(f"EXPLAIN EXECUTE mark('sim', ARRAY[{listed}])")
        finally:
            await conn.execute("DEALLOCATE ALL")
            await conn.execute("RESET plan_cache_mode")
    text = "\n".join(r[0] for r in plan)
    assert "connector_log_pending" not in text and "connector_log_message" in text, text
    await store.connector_log_reported("sim", ids)
    owed = {e.message_id for e in await store.connector_log_pending("sim")}
    assert owed == {e.message_id for e in lines} - set(ids)


def flushing_statistics(store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each connection the store uses from now on flushes its table statistics as it is given
    back (a backend otherwise sends them up to ten seconds later)."""
    conn_of = store._conn

    @contextlib.asynccontextmanager
    async def conn(generic: bool = False) -> AsyncIterator[asyncpg.Connection]:
        async with conn_of(generic) as c:
            try:
                yield c
            finally:
                await c.execute("SELECT pg_stat_force_next_flush()")

    monkeypatch.setattr(store, "_conn", conn)


async def message_updates(store: PostgresStore) -> tuple[int, int]:
    """`messages`' updates so far, and the HOT ones among them."""
    assert store._pool is not None
    row = await store._pool.fetchrow(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
        " WHERE relname = 'messages' AND schemaname = current_schema()"
    )
    return (row[0], row[1]) if row else (0, 0)


async def test_a_receipts_final_state_writes_no_index_entry(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DELIVERED after SUBMITTED changes no column an index of `messages` names (migration
    015: the dispatchers' indexes select on `queue`, not on status): a HOT update, where the
    SUBMITTED is not."""
    flushing_statistics(store, monkeypatch)
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(5)])
    ids = [m.id for m in await store.claim_due(time.time(), 10, "t", 60.0)]
    await store.record_reports([report(i, Status.SUBMITTED, f"c{i}") for i in ids], route)
    updates, hot = await message_updates(store)
    assert (updates, hot) == (10, 5)  # the claims (HOT: migration 018) and the SUBMITTEDs
    await store.record_reports([report(i, Status.DELIVERED, f"c{i}") for i in ids], route)
    assert await message_updates(store) == (updates + 5, hot + 5)


async def test_a_claim_writes_no_index_entry(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim changes no column an index of `messages` names (migration 018: a claimed
    message stays in messages_due, told apart by its token): a HOT update, where a claim that
    moved `queue` to 'leased' wrote four index entries a message. So is a takeover."""
    flushing_statistics(store, monkeypatch)
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(5)])
    now = time.time()
    assert len(await store.claim_due(now, 10, "dead", 10.0)) == 5
    assert await message_updates(store) == (5, 5)
    assert len(await store.claimed_by_others(now + 11, "alive", 60.0)) == 5
    assert await message_updates(store) == (10, 10)


async def due_entries_read(store: PostgresStore) -> int:
    """Entries of messages_due its scans have given to the rows' checks so far."""
    assert store._pool is not None
    read = await store._pool.fetchval(
        "SELECT idx_tup_read FROM pg_stat_user_indexes"
        " WHERE indexrelname = 'messages_due' AND schemaname = current_schema()"
    )
    return int(read or 0)


async def test_a_claim_passes_over_what_was_sent_while_an_old_snapshot_keeps_it(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SUBMITTED leaves its message's entry in messages_due until the old version can be
    pruned, which an older snapshot (a dump's, another session's) prevents. A claim starts at
    the store's floor (store/claim_floor.py), not at the head: those entries are passed over
    in the index, not each checked against its row."""
    flushing_statistics(store, monkeypatch)
    store._floor = ClaimFloor(slack=5)
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"79650{i:06d}") for i in range(150)])
    now = time.time()
    sent = await store.claim_due(now, 500, "t", 60.0)
    assert store._pool is not None
    async with store._pool.acquire() as old:
        snapshot = old.transaction(isolation="repeatable_read", readonly=True)
        await snapshot.start()
        try:
            await old.fetchval("SELECT 1")  # its snapshot, older than the SUBMITTEDs
            await store.record_reports([report(m.id, Status.SUBMITTED) for m in sent], route)
            await store.accept(a.id, [message(a.id, "79651111111")])
            before = await due_entries_read(store)
            [new] = await store.claim_due(now + 0.01, 500, "t", 60.0)
            read = await due_entries_read(store) - before
        finally:
            await snapshot.rollback()
    assert new.seq > max(m.seq for m in sent)
    assert read < 20, read  # from the head: the 150 sent first


async def test_messages_due_again_below_the_floor_are_claimed(store: PostgresStore) -> None:
    """Released messages come due with their old numbers, below the floor: the claim after a
    release starts at the head; one that committed late is found by the next claim walked
    from the head (at most ClaimFloor.full_every later)."""
    store._floor = ClaimFloor(slack=0, full_every=1.0)
    a = await make_account(store)
    await store.accept(a.id, [message(a.id, f"7965000000{i}") for i in range(3)])
    now = time.time()
    first, *rest = await store.claim_due(now, 10, "t", 60.0)
    await store.release([first.id], None)
    assert [m.id for m in await store.claim_due(now + 0.1, 10, "t", 60.0)] == [first.id]
    await store.release([m.id for m in rest], None)  # as an accept that committed late
    store._floor.start(now + 0.15)  # a claim from the head that took a later message
    store._floor.claimed(0, 10, [rest[-1].seq + 1], skipped=False)
    assert await store.claim_due(now + 0.2, 10, "t", 60.0) == []
    again = await store.claim_due(now + 1.2, 10, "t", 60.0)
    assert [m.id for m in again] == [m.id for m in rest]
