"""SQLite's reports start from what earlier reports wrote, without reading the rows back."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
import time
from typing import Any

import msgspec
import pytest

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store import sqlite as sqlite_module
from smsgate.store import sqlite_reports
from smsgate.store.base import ConnectorEntry, StoreUnavailable
from smsgate.store.recent import RecentMessages
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message, route


async def _claimed(store: SQLiteStore, n: int) -> tuple[int, list[str]]:
    a = await make_account(store, balance=10**12, callback_urls={"native": "http://cb/dr"})
    batch = [message(a.id, phone=f"7965000{i:04d}") for i in range(n)]
    await store.accept(a.id, batch)
    claimed = await store.claim_due(time.time(), n, "t", 60.0)
    return a.id, [m.id for m in claimed]


def _reports(ids: list[str], status: Status, at: float) -> list[Report]:
    return [Report(message_id=i, status=status, carrier_id=f"c-{i}", at=at) for i in ids]


def _watch_write_ahead(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each plan made ahead was written (True) or found stale (False), in order."""
    written: list[bool] = []
    ahead = sqlite_module.write_ahead

    def watched(*args: Any) -> Any:
        plan = ahead(*args)
        written.append(plan is not None)
        return plan

    monkeypatch.setattr(sqlite_module, "write_ahead", watched)
    return written


async def test_a_receipt_batch_builds_on_the_submit_batch_before_it(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUBMITTED and DELIVERED of the same messages asked for at once (receipts that came with
    their submit_sm_resps): the second batch knows what the first wrote, reads no row."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 300)
    reads: list[int] = []
    load = sqlite_reports._load_by_id

    def counting(conn: sqlite3.Connection, message_ids: list[str]) -> Any:
        if message_ids:
            reads.append(len(message_ids))
        return load(conn, message_ids)

    monkeypatch.setattr(sqlite_reports, "_load_by_id", counting)
    t = time.time()
    submitted, delivered = await asyncio.gather(
        store.record_reports(_reports(ids, Status.SUBMITTED, t), route),
        store.record_reports(_reports(ids, Status.DELIVERED, t + 1), route),
    )
    assert reads == []
    assert len(submitted) == len(delivered) == 300
    for message_id in ids[:3]:
        m = await store.get_message(account_id, message_id)
        assert m is not None and m.status is Status.DELIVERED
        events = await store.events_of(account_id, message_id)
        assert [e.status for e in events] == [Status.SUBMITTED, Status.DELIVERED]


async def test_a_claim_and_its_reports_step_fewer_statements(sqlite_store: SQLiteStore) -> None:
    """A claim with no account to skip has no account filter and leases its messages in one
    statement; a receipt that keeps the carrier id leaves the column out of its update (SQLite
    then leaves the carrier-id index alone), while the SUBMITTED that brings it sets it; events
    and connector-log lines go in many rows a statement."""
    store = sqlite_store
    writer = store._writer
    assert writer is not None and writer._conn is not None
    stepped: list[str] = []
    writer._conn.set_trace_callback(stepped.append)
    account_id, ids = await _claimed(store, 40)
    claims = [s for s in stepped if "ORDER BY priority DESC" in s]
    assert claims and not any("json_each" in s for s in claims)
    assert sum(1 for s in stepped if "SET dispatch_token" in s) == 1
    t = time.time()
    lines = [
        (
            "sim",
            ConnectorEntry(message_id=i, carrier_id=f"c-{i}", submitted_at=t, report_due=t + 1),
        )
        for i in ids
    ]
    for status, at, logged in ((Status.SUBMITTED, t, lines), (Status.DELIVERED, t + 1, [])):
        stepped.clear()
        await store.record_reports(_reports(ids, status, at), route, logged)
        moves = [s for s in stepped if s.lstrip().startswith("UPDATE messages")]
        assert len(moves) == 40
        assert all(("carrier_id =" in s) == (status is Status.SUBMITTED) for s in moves)
        assert sum(1 for s in stepped if s.startswith("INSERT INTO events")) == 1 + 40 % 32
        if logged:
            assert sum(1 for s in stepped if s.startswith("INSERT INTO connector_log")) == 9
    writer._conn.set_trace_callback(None)
    assert [e.message_id for e in await store.connector_log_find("sim", ids)] == ids
    for message_id in ids:
        m = await store.get_message(account_id, message_id)
        assert m is not None and m.status is Status.DELIVERED
        assert await store.message_by_carrier_id(f"c-{message_id}") == m
        events = await store.events_of(account_id, message_id)
        assert [(e.status, e.at) for e in events] == [
            (Status.SUBMITTED, t),
            (Status.DELIVERED, t + 1),
        ]


class _FailingCommit:
    """The writer's connection, whose next COMMIT fails (a full disk, say)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.armed = True

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.armed:
            self.armed = False
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def test_a_failed_commit_forgets_what_its_reports_wrote(sqlite_store: SQLiteStore) -> None:
    """Reports remember their states before the group commits: if it does not, the store must
    not go on believing them, or the retried reports would be taken for repeats and dropped."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 5)
    writer = store._writer
    assert writer is not None and writer._conn is not None
    real = writer._conn
    writer._conn = _FailingCommit(real)  # type: ignore[assignment]
    t = time.time()
    with pytest.raises(StoreUnavailable):
        await store.record_reports(_reports(ids, Status.SUBMITTED, t), route)
    writer._conn = real
    # the connector tries again, and then the receipts come
    await store.record_reports(_reports(ids, Status.SUBMITTED, t), route)
    await store.record_reports(_reports(ids, Status.DELIVERED, t + 1), route)
    for message_id in ids:
        m = await store.get_message(account_id, message_id)
        assert m is not None and m.status is Status.DELIVERED


def test_what_is_remembered_stays_bounded_and_keeps_the_latest() -> None:
    """A live server remembers every message it claims: past its limit the store forgets the
    first remembered, not everything, so memory stays flat (emptying it grew the engine by
    ~1 KB a message up to the limit, 200 MB) and the messages in flight stay known."""
    recent = RecentMessages()
    limit, size = RecentMessages.LIMIT, 500  # claims and reports come in batches
    a = message(1)
    for start in range(0, 3 * limit, size):
        batch = [msgspec.structs.replace(a, id=f"m{i}") for i in range(start, start + size)]
        recent.remember(batch)
        assert len(recent.of(m.id for m in batch)) == size
    assert set(recent.of(f"m{i}" for i in range(3 * limit))) == {
        f"m{i}" for i in range(2 * limit, 3 * limit)
    }
    # an update keeps its place: the report of an old message does not make it young
    first = f"m{2 * limit}"
    recent.remember([msgspec.structs.replace(a, id=first, status=Status.SUBMITTED)])
    recent.remember([msgspec.structs.replace(a, id="new")])
    assert recent.of([first, f"m{2 * limit + 1}", "new"]).keys() == {f"m{2 * limit + 1}", "new"}


async def test_a_receipt_with_its_submitted_is_planned_before_the_lock(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SMPP receipt that overtook the dispatcher's record comes as SUBMITTED, then its final
    status, in one batch: its final status is judged by the state SUBMITTED leaves (not by the
    QUEUED remembered), so the batch is planned before the write lock, as any other, and the
    dispatcher's own SUBMITTED after it changes nothing, with no write at all."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 3)
    written = _watch_write_ahead(monkeypatch)
    t = time.time()
    receipts = [
        r
        for i in ids
        for r in (
            Report(message_id=i, status=Status.SUBMITTED, carrier_id=f"c-{i}", at=t),
            Report(message_id=i, status=Status.DELIVERED, carrier_id=f"c-{i}", at=t + 1),
        )
    ]
    events = await store.record_reports(receipts, route)
    assert written == [True]
    assert [e.status for e in events] == [Status.SUBMITTED, Status.DELIVERED] * 3
    assert store._writer is not None
    commits = store._writer.commits
    assert await store.record_reports(_reports(ids, Status.SUBMITTED, t), route) == []
    assert written == [True] and store._writer.commits == commits
    for message_id in ids:
        m = await store.get_message(account_id, message_id)
        assert m is not None and m.status is Status.DELIVERED and m.carrier_id == f"c-{message_id}"
        assert m.submitted_at == t and m.done_at == t + 1
        events = await store.events_of(account_id, message_id)
        assert [e.status for e in events] == [Status.SUBMITTED, Status.DELIVERED]


async def test_a_plan_made_before_the_lock_gives_way_to_a_row_that_moved_meanwhile(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports planned from remembered states before their operation ran: when another
    process moved a row in between, nothing of that plan is written, and the reports are
    applied to the rows as they are (a final message stays as it is)."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 3)
    t = time.time()
    await store.record_reports(_reports(ids, Status.SUBMITTED, t), route)
    written = _watch_write_ahead(monkeypatch)
    # the first is delivered through another connection (another process's receipt)
    other = sqlite3.connect(store.path)
    try:
        with other:
            other.execute("UPDATE messages SET status = 'undelivered' WHERE id = ?", (ids[0],))
    finally:
        other.close()
    events = await store.record_reports(_reports(ids, Status.DELIVERED, t + 1), route)
    assert written == [False]  # planned ahead, and found stale
    assert sorted(e.message_id for e in events) == sorted(ids[1:])
    first = await store.get_message(account_id, ids[0])
    assert first is not None and first.status is Status.UNDELIVERED
    assert [e.status for e in await store.events_of(account_id, ids[0])] == [Status.SUBMITTED]
    for message_id in ids[1:]:
        m = await store.get_message(account_id, message_id)
        assert m is not None and m.status is Status.DELIVERED
    # a repeated receipt, planned ahead, changes nothing and writes nothing (a plan made
    # ahead on rows that did not move is written as it was made: the test before this one)
    assert (
        await store.record_reports(
            [Report(message_id=ids[1], status=Status.DELIVERED, carrier_id="again", at=t + 2)],
            route,
        )
        == []
    )
    assert written == [False]


def test_two_threads_remembering_past_the_limit_lose_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Claims remember on the event loop's thread while reports remember on the writer's: both
    trimming the oldest at once deleted the same key twice (a KeyError that failed the reports'
    whole group, so a 50,000-recipient bulk never settled)."""
    monkeypatch.setattr(RecentMessages, "LIMIT", 100)
    recent = RecentMessages()
    a = message(1)
    failures: list[BaseException] = []

    def remember(name: str) -> None:
        try:
            for start in range(0, 100_000, 50):
                recent.remember(
                    msgspec.structs.replace(a, id=f"{name}{i}") for i in range(start, start + 50)
                )
        except BaseException as exc:  # reported below, from the test's thread
            failures.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, as a loaded machine does
    try:
        threads = [threading.Thread(target=remember, args=(n,)) for n in "ab"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []
    assert len(recent.of(f"{n}{i}" for n in "ab" for i in range(100_000))) == 100


async def test_callbacks_go_many_rows_a_statement_and_a_repeat_is_ignored(
    sqlite_store: SQLiteStore,
) -> None:
    """A batch's callbacks are written ROWS_A_STATEMENT to an INSERT (callback_insert_rows),
    each due and created at its event's time; one already owed (the same event, dialect and
    URL) is left as it is, in a statement of many rows as in one of one."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 40)
    t = time.time()
    events = await store.record_reports(_reports(ids, Status.SUBMITTED, t), route)
    assert len(events) == 40
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute(
            "SELECT event_id, dialect, kind, url, next_at, created_at FROM outbox ORDER BY id"
        ).fetchall()
        assert rows == [(f"ev-{e.seq}", "native", "dr", "http://cb/dr", t, t) for e in events]
        again = [
            (f"ev-{e.seq}", account_id, "native", "dr", "http://cb/dr", b"", t + 5) for e in events
        ]
        with conn:
            sqlite_reports.insert_rows(conn, "callback_insert", "callback_insert_rows", again)
        assert conn.execute("SELECT count(*), max(next_at) FROM outbox").fetchone() == (40, t)
    finally:
        conn.close()


async def test_callbacks_are_routed_before_the_write_lock(sqlite_store: SQLiteStore) -> None:
    """A batch planned from remembered states is routed to its callbacks before its operation
    runs, outside the transaction (which holds the lock every process waits for); only the
    events' numbers are left to it. The callbacks owed are those routed, numbered by it."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 3)
    t = time.time()
    await store.record_reports(_reports(ids, Status.SUBMITTED, t), route)  # URLs now known
    inside: list[bool] = []

    def watched(message: Any, event: Any, urls: dict[str, str]) -> list[tuple[str, str]]:
        assert store._writer is not None and store._writer._conn is not None
        inside.append(store._writer._conn.in_transaction)
        return route(message, event, urls)

    events = await store.record_reports(_reports(ids, Status.DELIVERED, t + 1), watched)
    assert inside == [False] * 3
    for message_id, event in zip(ids, events, strict=True):
        owed = await store.callbacks_of(account_id, message_id)
        assert [c.event_id for c in owed][-1] == f"ev-{event.seq}"


async def test_a_callback_url_changed_after_routing_is_routed_again(
    sqlite_store: SQLiteStore,
) -> None:
    """The URLs a batch was routed by before the lock are those the last write read: an
    account whose URL changed since is routed again by what the transaction reads."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 2)
    t = time.time()
    await store.record_reports(_reports(ids[:1], Status.SUBMITTED, t), route)  # URL known
    await store.update_account(account_id, callback_urls={"native": "http://cb/new"})
    seen: list[str] = []

    def watched(message: Any, event: Any, urls: dict[str, str]) -> list[tuple[str, str]]:
        seen.append(urls["native"])
        return route(message, event, urls)

    await store.record_reports(_reports(ids[1:], Status.SUBMITTED, t), watched)
    assert seen == ["http://cb/dr", "http://cb/new"]  # before the lock, then in it
    other = sqlite3.connect(store.path)
    try:
        rows = other.execute("SELECT url FROM outbox ORDER BY id").fetchall()
    finally:
        other.close()
    assert rows == [("http://cb/dr",), ("http://cb/new",)]
