"""SQLite's writer: no COMMIT checkpoints; the writer thread does, after the answer."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smsgate.store import _sqlite_writer
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message


async def test_a_bulk_commit_leaves_the_checkpoint_to_the_writer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_writer, "HEAVY", 5)
    store = SQLiteStore(f"sqlite:///{tmp_path}/x.db")
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store, balance=10**12)
        writer = store._writer
        assert writer is not None and writer._conn is not None
        # a COMMIT never copies the WAL into the database itself...
        assert writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        before = writer.checkpoints
        outcomes = await store.accept(a.id, [message(a.id) for _ in range(3000)])
        assert all(o.kind == "new" for o in outcomes)
        # ...the writer thread does, once the heavy group has committed
        for _ in range(int(_sqlite_writer.CHECKPOINT_EVERY * 100) + 100):
            if writer.checkpoints > before:
                break
            await asyncio.sleep(0.01)
        assert writer.checkpoints > before
    finally:
        await store.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
async def test_a_savepoint_journal_stays_in_memory(sqlite_store: SQLiteStore) -> None:
    """Every operation runs in a savepoint, whose journal keeps the original of each page it
    changes: past 64 KiB SQLite spilled it to a temporary file (created, written and unlinked
    about 46 times a second by a live engine). It stays in memory."""
    store = sqlite_store
    a = await make_account(store, balance=10**12)
    await store.accept(a.id, [message(a.id, text="x" * 100) for _ in range(2000)])

    def temporary_files() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(FileNotFoundError):  # the listing's own, closed since
                if "etilqs" in (target := os.readlink(f"/proc/self/fd/{fd}")):
                    found.append(target)
        return found

    def op(conn: sqlite3.Connection) -> list[str]:
        conn.execute("UPDATE messages SET updated_at = updated_at + 1")  # every page changes
        return temporary_files()

    assert await store._write(op) == []


async def test_no_cursor_leaves_the_writer(tmp_path: Path) -> None:
    """An operation's cursor is closed where it ran: the caller's thread must never free it
    while the connection works on the writer thread (SQLITE_MISUSE, seen under load)."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/x.db")
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store)
        returned = await store._write(
            lambda conn: conn.execute("UPDATE accounts SET tps = 5 WHERE id = ?", (a.id,))
        )
        assert returned is None
        account = await store.get_account(a.id)
        assert account is not None and account.tps == 5
    finally:
        await store.close()


async def test_writes_asked_for_during_a_flush_commit_together_after_it(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their answers would wait for the next flush anyway: one commit for all of them."""
    monkeypatch.setattr(_sqlite_writer, "FLUSH_INLINE_BELOW", 0.0)  # a slow disk: on the thread
    store = sqlite_store
    a = await make_account(store, balance=10**12)
    writer = store._writer
    assert writer is not None
    real = os.fdatasync

    def slow_disk(fd: int) -> None:
        time.sleep(0.2)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_disk)
    first = asyncio.ensure_future(store.accept(a.id, [message(a.id)]))
    await asyncio.sleep(0.05)  # committed; its flush is under way
    before = writer.commits
    later = []
    for i in range(3):  # three turns of the loop: three groups, were they committed apart
        phone = f"7965333000{i}"
        later.append(asyncio.ensure_future(store.accept(a.id, [message(a.id, phone=phone)])))
        await asyncio.sleep(0.01)
    assert writer.commits == before  # none while the flush runs
    assert [o.kind for o in await first] == ["new"]
    outcomes = await asyncio.gather(*later)
    assert writer.commits == before + 1
    assert [o[0].kind for o in outcomes] == ["new", "new", "new"]


async def test_idle_claims_do_not_write(sqlite_store: SQLiteStore) -> None:
    """An idle dispatcher (every 20 ms) and notifier (every 100 ms) ask; nothing is written."""
    store = sqlite_store
    a = await make_account(store, balance=10**12)
    now = time.time()
    [accepted] = await store.accept(a.id, [message(a.id, not_before=now + 30)])
    writer = store._writer
    assert writer is not None
    before = writer.commits
    for _ in range(5):
        assert await store.claim_due(now, 10, "t", 60.0) == []
        assert await store.outbox_claim(now, 10, 60.0) == []
    assert writer.commits == before
    [due] = await store.claim_due(now + 31, 10, "t", 60.0)  # the schedule came due
    assert accepted.message is not None and due.id == accepted.message.id
    assert writer.commits == before + 1


async def test_a_checkpoint_copies_the_wal_while_another_process_commits(
    sqlite_store: SQLiteStore,
) -> None:
    """The long part of a checkpoint holds no lock: other processes' commits go on meanwhile.
    Only what they appended during it is copied under the lock, so the WAL still starts over."""
    store = sqlite_store
    path = Path(store.path)
    a = await make_account(store, balance=10**12)
    writer = store._writer
    assert writer is not None
    await writer.run(lambda conn: None)  # a checkpoint of what migrate wrote, then none due
    for _ in range(300):
        if not getattr(writer, "_backfilling", False) and not writer._busy:
            break
        await asyncio.sleep(0.01)
    before = writer.checkpoints
    writer._next_checkpoint = asyncio.get_running_loop().time() + 3600
    outcomes = await store.accept(a.id, [message(a.id) for _ in range(2000)])
    assert all(o.kind == "new" for o in outcomes)
    size = path.stat().st_size  # the new rows are in the WAL only
    other = os.open(f"{path}.lock", os.O_RDWR)  # another process, in the middle of a commit
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        writer._next_checkpoint = 0.0
        writer._maybe_checkpoint(asyncio.get_running_loop())
        for _ in range(500):
            if path.stat().st_size > size:
                break
            await asyncio.sleep(0.01)
        assert path.stat().st_size > size  # copied while that commit held the lock
        assert writer.checkpoints == before  # the locked part waits for it
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    for _ in range(500):
        if writer.checkpoints > before:
            break
        await asyncio.sleep(0.01)
    assert writer.checkpoints > before
    # the checkpoint completed: the next write starts the WAL over from its first frame
    await store.accept(a.id, [message(a.id, phone="79653330001")])
    probe = sqlite3.connect(path)
    try:
        busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    assert busy == 0 and frames == copied and 0 < frames < 50


@pytest.mark.parametrize("on_loop", [False, True])
async def test_a_store_heavy_on_loop_commits_every_group_on_its_loop(
    tmp_path: Path, on_loop: bool
) -> None:
    """The engine's store beside HTTP workers: a claim of many rows commits on the event loop's
    thread, with no hand-over to the writer thread and back (a plain store hands it over)."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/x.db", heavy_on_loop=on_loop)
    await store.open()
    await store.migrate()
    try:
        a = await make_account(store, balance=10**12)
        await store.accept(a.id, [message(a.id) for _ in range(_sqlite_writer.HEAVY + 1)])
        threads: list[str] = []
        real = store._write

        async def noted(fn: Any, weight: int = 1, flush: bool = True) -> Any:
            def op(conn: sqlite3.Connection) -> Any:
                threads.append(threading.current_thread().name)
                return fn(conn)

            return await real(op, weight, flush)

        store._write = noted  # type: ignore[method-assign]
        claimed = await store.claim_due(time.time(), 1000, "t", 60.0)
        assert len(claimed) == _sqlite_writer.HEAVY + 1
        assert (threads == [threading.current_thread().name]) is on_loop, threads
    finally:
        await store.close()


async def test_a_group_of_single_sends_reads_its_inputs_in_one_statement(
    sqlite_store: SQLiteStore,
) -> None:
    """Concurrent single sends of one account commit as one group whose next seq, balance
    and stop list come from one statement (three, two of them through json_each, cost a
    group ~25 us), and whose debit is one plain UPDATE."""
    store = sqlite_store
    a = await make_account(store, balance=10**9)
    writer = store._writer
    assert writer is not None and writer._conn is not None
    run: list[str] = []
    writer._conn.set_trace_callback(lambda sql: run.append(sql.split()[0]))
    answers = await asyncio.gather(*[store.accept(a.id, [message(a.id)]) for _ in range(8)])
    writer._conn.set_trace_callback(None)
    assert [o[0].kind for o in answers] == ["new"] * 8
    group = [sql for sql in run if sql != "PRAGMA"]  # a checkpoint's part may come between
    assert group == ["BEGIN", "SAVEPOINT", "SELECT", "INSERT", "UPDATE", "RELEASE", "COMMIT"]
    account = await store.get_account(a.id)
    assert account is not None
    assert account.balance == 10**9 - sum(o[0].message.price for o in answers)  # type: ignore[union-attr]
