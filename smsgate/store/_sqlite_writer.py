"""One writer thread per process with group commit; processes take turns on an flock.

Every write is a function of the connection. The thread drains whatever is queued, runs each
function inside its own SAVEPOINT of one transaction, commits once, and only then resolves the
callers' futures: concurrent requests share one fsync and each is answered after its commit.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("smsgate.store")

_STOP = object()
MAX_GROUP = 512


class Writer:
    def __init__(self, connect: Callable[[], sqlite3.Connection], lock_path: str) -> None:
        self._connect = connect
        self._lock_path = lock_path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.commits = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smsgate-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._thread is None:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, future, loop))
        return await future

    def _run(self) -> None:
        conn = self._connect()
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                group = [item]
                stop = False
                while len(group) < MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    group.append(nxt)
                self._commit_group(conn, lock_fd, group)
                if stop:
                    return
        finally:
            conn.close()
            os.close(lock_fd)

    def _commit_group(self, conn: sqlite3.Connection, lock_fd: int, group: list[Any]) -> None:
        results: list[tuple[asyncio.Future[Any], bool, Any]] = []
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, future, _loop in group:
                conn.execute("SAVEPOINT op")
                try:
                    value = fn(conn)
                except BaseException as exc:  # the caller gets it; the others still commit
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((future, False, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((future, True, value))
            conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            log.error("commit failed: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            from .base import StoreUnavailable

            failure = StoreUnavailable(f"database write failed: {exc}")
            results = [(future, False, failure) for _fn, future, _loop in group]
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_fn, _f, loop), result in zip(group, results, strict=True):
            by_loop.setdefault(loop, []).append(result)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # the caller's loop is gone
                pass


def _resolve(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
