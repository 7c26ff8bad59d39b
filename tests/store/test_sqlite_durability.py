"""SQLite: an accept is answered only after the WAL holding it is flushed to disk."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsgate.config import Config
from smsgate.store import _sqlite_writer, open_store
from smsgate.store.base import ConnectorEntry, Store, StoreUnavailable
from smsgate.store.sqlite import SQLiteStore
from tests.store.helpers import make_account, message


async def test_answer_waits_for_the_wal_flush(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a disk whose flushes are slow, they run on the flush thread: the loop serves on."""
    monkeypatch.setattr(_sqlite_writer, "FLUSH_INLINE_BELOW", 0.0)
    store = sqlite_store
    account = await make_account(store)
    flushed: list[int] = []
    release = threading.Event()
    real_flush = os.fdatasync

    def held_flush(fd: int) -> None:
        release.wait(10)
        real_flush(fd)
        flushed.append(fd)

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", held_flush)
    try:
        pending = asyncio.ensure_future(store.accept(account.id, [message(account.id)]))
        await asyncio.sleep(0.2)
        assert not pending.done()  # committed, but not yet on disk: no answer
        release.set()
        outcomes = await asyncio.wait_for(pending, 5)
        assert [o.kind for o in outcomes] == ["new"] and flushed
    finally:
        release.set()
        monkeypatch.undo()


@pytest.mark.parametrize("inline_below", [_sqlite_writer.FLUSH_INLINE_BELOW, 0.0])
async def test_a_failed_flush_is_an_error_not_an_answer(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, inline_below: float
) -> None:
    """On the loop or on the flush thread."""
    monkeypatch.setattr(_sqlite_writer, "FLUSH_INLINE_BELOW", inline_below)
    store = sqlite_store
    account = await make_account(store)

    def failing_flush(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", failing_flush)
    try:
        with pytest.raises(StoreUnavailable):
            await store.accept(account.id, [message(account.id)])
    finally:
        monkeypatch.undo()


async def test_a_heavy_group_is_flushed_by_the_thread_that_committed_it(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk's answer waits for its flush and for no hand-over: the writer thread flushes the
    WAL right after the commit (the flush thread made it wait for a wake-up of the loop, then
    one of that thread: 3-40 ms on a busy machine)."""
    monkeypatch.setattr(_sqlite_writer, "HEAVY", 5)
    seen = await watched_flushes(sqlite_store, monkeypatch, 1, size=50)
    assert seen == [("smsgate-writer_0", False)]  # one flush, by the writer, then the answer


async def test_a_heavy_group_whose_flush_failed_is_an_error(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_writer, "HEAVY", 5)
    account = await make_account(sqlite_store)

    def failing_flush(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", failing_flush)
    with pytest.raises(StoreUnavailable):
        await sqlite_store.accept(account.id, [message(account.id) for _ in range(50)])


async def test_a_heavy_group_of_unflushed_writes_is_not_flushed(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = sqlite_store._writer
    assert writer is not None
    flushes: list[int] = []
    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", flushes.append)
    await writer.run(lambda conn: conn.execute("SELECT 1"), weight=1000, flush=False)
    assert flushes == []


async def watched_flushes(
    store: Store, monkeypatch: pytest.MonkeyPatch, sends: int, size: int = 1
) -> list[tuple[str, bool]]:
    """Make `sends` accepts of `size` messages (single sends by default), one after another;
    for each WAL flush, its thread and whether the accept had been answered already."""
    account = await make_account(store)
    quick_so_far(store)
    real_flush = os.fdatasync
    seen: list[tuple[str, bool]] = []
    pending: asyncio.Future[Any] | None = None

    def watched_flush(fd: int) -> None:
        assert pending is not None
        seen.append((threading.current_thread().name, pending.done()))
        real_flush(fd)

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", watched_flush)
    for _ in range(sends):
        batch = [message(account.id) for _ in range(size)]
        pending = asyncio.ensure_future(store.accept(account.id, batch))
        outcomes = await asyncio.wait_for(pending, 5)
        assert [o.kind for o in outcomes] == ["new"] * size
    return seen


def quick_so_far(store: Store) -> None:
    """The flushes so far (migrate's, the account's) as quick: on a busy machine they take
    more than FLUSH_INLINE_BELOW, and what follows would start on the flush thread."""
    assert isinstance(store, SQLiteStore) and store._writer is not None
    store._writer.flush_seconds = 0.0


async def test_a_quick_flush_runs_on_the_loop_before_the_answer(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = await watched_flushes(sqlite_store, monkeypatch, 1)
    assert seen == [(threading.current_thread().name, False)]  # this loop's thread, then answer


@pytest.fixture
def switch_interval() -> Iterator[float]:
    """The interpreter's switch interval, restored after the test (it is process-wide)."""
    before = sys.getswitchinterval()
    try:
        yield before
    finally:
        sys.setswitchinterval(before)


async def test_with_a_spare_core_quick_flushes_run_on_the_flush_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch_interval: float
) -> None:
    sys.setswitchinterval(0.005)  # Python's default
    store = SQLiteStore(f"sqlite:///{tmp_path}/d.db", flush_on_loop=False)
    await store.open()
    try:
        await store.migrate()
        # the flush thread gets the GIL back within half a millisecond, not five
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        seen = await watched_flushes(store, monkeypatch, 3)
        assert seen == [("smsgate-fsync", False)] * 3  # quick flushes all: still not on the loop
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("workers", "cores", "on_loop"), [(1, 2, False), (0, 2, True), (2, 2, True), (2, 4, False)]
)
def test_flushes_leave_the_loop_where_a_core_is_spare(
    monkeypatch: pytest.MonkeyPatch, workers: int, cores: int, on_loop: bool
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    options = Config(workers=workers).store_options()
    assert options["flush_on_loop"] is on_loop
    store = open_store("sqlite:///unused.db", **options)
    assert isinstance(store, SQLiteStore) and store.flush_on_loop is on_loop


async def test_slow_flushes_move_to_the_flush_thread_and_come_back(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    account = await make_account(store, balance=10**12)
    quick_so_far(store)
    real_flush = os.fdatasync
    delay = 0.02
    threads: list[str] = []

    def timed_flush(fd: int) -> None:
        threads.append(threading.current_thread().name)
        if delay:  # a slow disk; then one that flushes at once
            time.sleep(delay)
            real_flush(fd)

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", timed_flush)

    async def one(i: int) -> None:
        phone = f"796544400{i:02d}"
        [outcome] = await store.accept(account.id, [message(account.id, phone=phone)])
        assert outcome.kind == "new"

    loop_thread = threading.current_thread().name
    for i in range(3):
        await one(i)
    assert threads[0] == loop_thread  # no flush measured yet: the first runs on the loop
    assert threads[1:] == ["smsgate-fsync"] * 2  # 20 ms is slow: the next ones do not
    delay = 0.0
    for i in range(3, 30):
        await one(i)
    assert threads[-1] == loop_thread  # quick again: back on the loop


def _messages_in(path: Path) -> int | None:
    """The messages a copied database file holds, or None while it is not yet whole: before
    the first checkpoint the schema itself may still be only in the WAL ("no such table"), and
    a copy read during a checkpoint may be torn."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


async def test_checkpoints_run_after_writes_stop(sqlite_store: Store, tmp_path: Path) -> None:
    """The WAL is copied into the database in the background: soon after the last write the
    database file alone (without its WAL) holds every message."""
    store = sqlite_store
    account = await make_account(store, balance=10**12)
    await asyncio.gather(*(store.accept(account.id, [message(account.id)]) for _ in range(300)))
    copy = tmp_path / "alone.db"
    deadline = time.monotonic() + 1.0 + _sqlite_writer.CHECKPOINT_EVERY
    while True:
        copy.write_bytes((tmp_path / "d.db").read_bytes())  # the main file, no -wal beside it
        if _messages_in(copy) == 300:
            return
        assert time.monotonic() < deadline, "the WAL was not checkpointed after the writes"
        await asyncio.sleep(0.05)


async def test_the_loop_keeps_serving_while_another_process_holds_the_lock(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    account = await make_account(store)
    other = os.open(f"{tmp_path}/d.db.lock", os.O_RDWR)  # its own open file: a rival lock
    fcntl.flock(other, fcntl.LOCK_EX)
    ticks = 0
    seen_at_release: list[int] = []

    def release_later() -> None:
        time.sleep(0.5)
        seen_at_release.append(ticks)
        fcntl.flock(other, fcntl.LOCK_UN)

    try:
        pending = asyncio.ensure_future(store.accept(account.id, [message(account.id)]))
        releaser = asyncio.ensure_future(asyncio.to_thread(release_later))
        while not pending.done():
            await asyncio.sleep(0.01)
            ticks += 1
        await releaser
        assert seen_at_release[0] > 0  # the loop turned while the write waited for the lock
        assert [o.kind for o in pending.result()] == ["new"]
    finally:
        os.close(other)


async def test_the_notifier_process_marks_callbacks_without_a_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notifier process's writes (leases, done marks) are not flushed: lost in a power cut,
    a callback goes once more. The serving processes' accepts still are."""
    url = f"sqlite:///{tmp_path}/d.db"
    config = Config(database=url, workers=2)
    serving = open_store(url, **config.store_options())
    notifying = open_store(url, **config.notifier_store_options())
    await serving.open()
    await notifying.open()
    flushes: list[str] = []
    real_flush = os.fdatasync

    def counted_flush(fd: int) -> None:
        flushes.append(threading.current_thread().name)
        real_flush(fd)

    try:
        await serving.migrate()
        account = await make_account(serving, balance=10**12)
        monkeypatch.setattr(_sqlite_writer.os, "fdatasync", counted_flush)
        await serving.accept(account.id, [message(account.id)])
        assert len(flushes) == 1  # the accept's answer waited for its flush
        await notifying.outbox_defer([1, 2], time.time())  # a notifier's mark, rows or not
        await notifying.outbox_done([1], time.time())
        assert len(flushes) == 1
    finally:
        monkeypatch.undo()
        await notifying.close()
        await serving.close()


async def test_claims_and_connector_marks_are_answered_without_a_flush(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim, a connector's noted line and its reported mark are answered at their commit,
    with no flush of their own (Writer.run): the flush of what the dispatcher records next
    covers them. An accept still waits for its flush."""
    store = sqlite_store
    account = await make_account(store)
    first = message(account.id)
    flushes: list[int] = []
    real_flush = os.fdatasync

    def counted_flush(fd: int) -> None:
        flushes.append(fd)
        real_flush(fd)

    monkeypatch.setattr(_sqlite_writer.os, "fdatasync", counted_flush)
    try:
        await store.accept(account.id, [first])
        assert len(flushes) == 1
        claimed = await store.claim_due(time.time(), 10, "t", 60.0)
        assert [m.id for m in claimed] == [first.id]
        assert len(flushes) == 1, "the claim waited for a flush"
        entry = ConnectorEntry(message_id=first.id, carrier_id="c1", submitted_at=time.time())
        await store.connector_log_note("sim", [entry])
        await store.connector_log_reported("sim", [first.id])
        assert len(flushes) == 1, "a connector's line or mark waited for a flush"
    finally:
        monkeypatch.undo()
    assert await store.connector_log_find("sim", [first.id]) == [entry]
