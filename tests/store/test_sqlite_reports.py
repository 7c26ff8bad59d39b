"""SQLite's reports start from what earlier reports wrote, without reading the rows back."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import pytest

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store import sqlite as sqlite_module
from smsgate.store.base import StoreUnavailable
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


async def test_a_receipt_batch_builds_on_the_submit_batch_before_it(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUBMITTED and DELIVERED of the same messages asked for at once (receipts that came with
    their submit_sm_resps): the second batch knows what the first wrote, reads no row."""
    store = sqlite_store
    account_id, ids = await _claimed(store, 300)
    reads: list[int] = []
    load = sqlite_module._load_by_id

    def counting(conn: sqlite3.Connection, message_ids: list[str]) -> Any:
        if message_ids:
            reads.append(len(message_ids))
        return load(conn, message_ids)

    monkeypatch.setattr(sqlite_module, "_load_by_id", counting)
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
