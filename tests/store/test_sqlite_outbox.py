"""SQLite's outbox under the write lock that every process's commits wait for: a claim reads
there only what its plan needs, and done marks go many rows a statement."""

from __future__ import annotations

import time

from smsgate.core.models import Report
from smsgate.core.status import Status
from smsgate.store.base import CallbackAttempt
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message, route


async def _owed(store: SQLiteStore, n: int) -> list[str]:
    """`n` messages, each owing its `submitted` and `delivered` callbacks."""
    a = await make_account(store, balance=10**12, callback_urls={"native": "http://cb/dr"})
    batch = [message(a.id, phone=f"7965000{i:04d}") for i in range(n)]
    await store.accept(a.id, batch)
    ids = [m.id for m in await store.claim_due(time.time(), n, "t", 60.0)]
    for status, at in ((Status.SUBMITTED, time.time()), (Status.DELIVERED, time.time() + 1)):
        reports = [Report(message_id=i, status=status, carrier_id=f"c-{i}", at=at) for i in ids]
        await store.record_reports(reports, route)
    return ids


async def test_a_claim_reads_what_it_renders_after_its_commit(sqlite_store: SQLiteStore) -> None:
    """Under the lock the claim reads each due callback's id and message, no more: Python's
    sqlite3 lets the GIL go around every column it fetches, and on the writer thread each
    release kept the lock held while the loop ran. The rows to render from are read after."""
    store = sqlite_store
    ids = await _owed(store, 30)
    writer, reader = store._writer, store._reader
    assert writer is not None and writer._conn is not None and reader is not None
    locked: list[str] = []
    after: list[str] = []
    writer._conn.set_trace_callback(locked.append)
    reader.set_trace_callback(after.append)
    try:
        items = await store.outbox_claim(time.time() + 2, 1000, 60.0)
    finally:
        writer._conn.set_trace_callback(None)
        reader.set_trace_callback(None)
    told = [(i.notice.message, i.notice.event) for i in items if i.notice is not None]
    assert sorted((m.id, e.status) for m, e in told if m and e) == sorted(
        (m, s) for m in ids for s in (Status.SUBMITTED, Status.DELIVERED)
    )
    selects = [s for s in locked if s.lstrip().startswith("SELECT")]
    assert selects and not any("o.payload" in s or "e.status" in s for s in selects)
    assert any("o.payload" in s for s in after)  # read by the reader, after the commit


async def test_done_marks_go_many_rows_a_statement(sqlite_store: SQLiteStore) -> None:
    """Each step of a statement lets the GIL go: a mark a row was one release a row."""
    store = sqlite_store
    ids = await _owed(store, 35)  # 70 callbacks: two statements of 32 rows, six of one
    items = await store.outbox_claim(time.time() + 2, 1000, 60.0)
    writer = store._writer
    assert writer is not None and writer._conn is not None
    stepped: list[str] = []
    at = time.time()
    tried = [
        CallbackAttempt(
            outbox_id=i.id,
            account_id=i.account_id,
            attempt=1,
            started_at=at + n / 1000,
            host="cb",
            status=200,
            error=None,
            took_ms=n,
            outcome="done",
        )
        for n, i in enumerate(items)
    ]
    writer._conn.set_trace_callback(stepped.append)
    try:
        await store.outbox_done([i.id for i in items], at + 1, tried)
    finally:
        writer._conn.set_trace_callback(None)
    assert sum(1 for s in stepped if s.lstrip().startswith("UPDATE outbox")) == 2 + 6
    assert await store.outbox_backlog() == {}
    kept = await store.callback_attempts(ids[7])
    mine = {i.id for i in items if i.notice and i.notice.message and i.notice.message.id == ids[7]}
    assert len(mine) == 2
    assert [(a.attempt, a.started_at, a.host, a.status, a.took_ms, a.outcome) for a in kept] == [
        (1, t.started_at, "cb", 200, t.took_ms, "done") for t in tried if t.outbox_id in mine
    ]
