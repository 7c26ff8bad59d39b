"""Group commit for SQLite: one transaction per event-loop turn, processes take turns on an flock.

Every write is a function of the connection. Writes requested during one turn of the event loop
form a group: each runs in its own SAVEPOINT of one transaction, the group commits once, and only
then are the callers' futures resolved, so concurrent requests share one fsync and each is
answered after its commit.

Small groups run right on the event loop: a thread would cost more than the work, because every
hand-over of the GIL between it and the loop can stall either side for the switch interval.
Heavy groups (a 50,000-recipient request, a dispatcher batch) run on one worker thread so the
loop keeps serving; writes requested meanwhile wait and form the next group.

A bulk-sized group (a 50,000-recipient request) fills the WAL past SQLite's automatic
checkpoint (1,000 pages) by itself, so its COMMIT would also copy the WAL into the database and
flush that before the answer. It commits without; a PASSIVE checkpoint (which runs beside
readers and writers) follows on a thread and connection of its own: ~30-50 ms less per bulk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("smsgate.store")

HEAVY = 200  # a group weighing more than this (about: rows written) commits off the loop
AUTOCHECKPOINT = 1000  # SQLite's default: pages of WAL after which a COMMIT checkpoints
BULK = 5000  # a group this heavy fills much of that alone: it leaves the checkpoint to a thread
Item = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", int]


class Writer:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        lock_path: str,
        merge: Callable[[sqlite3.Connection, list[Any]], list[Any]] | None = None,
        wal_path: str | None = None,
    ) -> None:
        self._connect = connect
        # With a WAL path, COMMIT itself does not fsync (synchronous=NORMAL) and the writer
        # fsyncs the WAL on a thread before answering: as durable as synchronous=FULL, but the
        # event loop keeps serving while the disk flushes, and one fsync covers every commit
        # before it.
        self._wal_path = wal_path
        self.merge = merge  # runs a run of mergeable operations as one
        self._lock_path = lock_path
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._pending: list[Item] = []
        self._scheduled = False
        self._busy = False  # a group is committing on the thread
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._syncer: concurrent.futures.ThreadPoolExecutor | None = None
        self._wal_fd: int | None = None
        self._unsynced: list[tuple[asyncio.Future[Any], bool, Any]] = []
        self._syncing = False
        self._checkpointer: concurrent.futures.ThreadPoolExecutor | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._deferring = False  # automatic checkpoints are off for a heavy group
        self.commits = 0

    def start(self) -> None:
        self._conn = self._connect()
        self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="smsgate-writer")
        self._checkpointer = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="smsgate-checkpoint"
        )
        if self._wal_path is not None:
            self._wal_fd = os.open(self._wal_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._syncer = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="smsgate-fsync"
            )

    def stop(self) -> None:
        for pool in (self._pool, self._syncer, self._checkpointer):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._syncer = self._checkpointer = None
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def run(self, fn: Callable[[sqlite3.Connection], T], weight: int = 1) -> T:
        if self._conn is None:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future, weight))
        if not self._scheduled and not self._busy:
            self._scheduled = True
            loop.call_soon(self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._busy or not self._pending or self._conn is None:
            return
        group, self._pending = self._pending, []
        weight = sum(weight for _fn, _f, weight in group)
        if weight <= HEAVY or self._pool is None:
            self._durable(loop, self._commit_group(group))
            return
        self._busy = True
        defer = weight >= BULK and self._checkpointer is not None
        task = loop.run_in_executor(self._pool, self._commit_group, group, defer)
        task.add_done_callback(lambda done: self._after_heavy(loop, done, defer))

    def _after_heavy(
        self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[Any], deferred: bool
    ) -> None:
        self._busy = False
        self._durable(loop, done.result())
        if deferred and self._checkpointer is not None:
            self._checkpointer.submit(self._checkpoint)
        if self._pending and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _durable(
        self, loop: asyncio.AbstractEventLoop, results: list[tuple[asyncio.Future[Any], bool, Any]]
    ) -> None:
        """Answer the group once its commit is on disk.

        One fsync at a time: groups that commit while one runs wait for the next, which covers
        them all (fewer flushes and thread hand-overs under load, none skipped).
        """
        if self._syncer is None or self._wal_fd is None or not any(ok for _f, ok, _v in results):
            _resolve(results)
            return
        self._unsynced += results
        if not self._syncing:
            self._sync(loop)

    def _sync(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._syncer is not None and self._wal_fd is not None
        batch, self._unsynced = self._unsynced, []
        self._syncing = True
        synced = loop.run_in_executor(self._syncer, os.fsync, self._wal_fd)
        synced.add_done_callback(lambda done: self._synced(loop, done, batch))

    def _synced(
        self,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[Any],
        batch: list[tuple[asyncio.Future[Any], bool, Any]],
    ) -> None:
        self._syncing = False
        _resolve(_unless_failed(done, batch))
        if self._unsynced and self._syncer is not None:
            self._sync(loop)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database (on the checkpoint thread; best effort)."""
        try:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = self._connect()
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # busy with another one, or closing: the next will do
            log.debug("checkpoint skipped: %s", exc)

    def _commit_group(
        self, group: list[Item], defer_checkpoint: bool = False
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        conn, lock_fd = self._conn, self._lock_fd
        assert conn is not None and lock_fd is not None
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            if defer_checkpoint != self._deferring:  # then _after_heavy has it done
                pages = 0 if defer_checkpoint else AUTOCHECKPOINT
                conn.execute(f"PRAGMA wal_autocheckpoint={pages}")
                self._deferring = defer_checkpoint
            conn.execute("BEGIN IMMEDIATE")
            for run in _runs(group):
                if len(run) > 1 and self.merge is not None:
                    ok, values = _try(conn, _merged(self.merge, [fn for fn, _f, _w in run]))
                    if ok:
                        results += [
                            (f, True, v) for (_fn, f, _w), v in zip(run, values, strict=True)
                        ]
                        continue
                for fn, future, _w in run:
                    ok, value = _try(conn, fn)
                    results.append((future, ok, value))
            conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            log.error("commit failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            from .base import StoreUnavailable

            failure = StoreUnavailable(f"database write failed: {exc}")
            results = [(future, False, failure) for _fn, future, _w in group]
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        return results


def _merged(
    merge: Callable[[sqlite3.Connection, list[Any]], list[Any]], ops: list[Any]
) -> Callable[[sqlite3.Connection], list[Any]]:
    return lambda conn: merge(conn, ops)


def _try(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> tuple[bool, Any]:
    """Run one operation in its own savepoint: its failure undoes it alone."""
    conn.execute("SAVEPOINT op")
    try:
        value = fn(conn)
    except BaseException as exc:  # the caller gets it; the others still commit
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
        return False, exc
    conn.execute("RELEASE op")
    return True, value


def _runs(group: list[Item]) -> list[list[Item]]:
    """Consecutive operations of the same mergeable type form a run (others: runs of one)."""
    runs: list[list[Item]] = []
    for item in group:
        kind = type(item[0])
        if runs and getattr(kind, "mergeable", False) and type(runs[-1][0][0]) is kind:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _unless_failed(
    done: asyncio.Future[Any], results: list[tuple[asyncio.Future[Any], bool, Any]]
) -> list[tuple[asyncio.Future[Any], bool, Any]]:
    error = done.exception()
    if error is None:
        return results
    from .base import StoreUnavailable

    log.error("fsync of the WAL failed: %s", error)
    failure = StoreUnavailable(f"database flush failed: {error}")
    return [(future, False, failure) for future, _ok, _v in results]


def _resolve(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
