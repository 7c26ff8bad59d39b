"""Group commit for SQLite: one transaction per event-loop turn, processes take turns on an flock.

Every write is a function of the connection. Writes requested during one turn of the event loop
form a group: each runs in its own SAVEPOINT of one transaction, the group commits once, and only
then are the callers' futures resolved, so concurrent requests share one fsync and each is
answered after its commit.

While a flush runs, small groups are not committed: their answers would wait for the next
flush anyway, so they commit together when it ends: fewer commits under load (each costs its
savepoints, its WAL pages and a turn of the lock). In four alternated A/B series of
bench/http_bench with two workers, CPU per request fell 2–16% and the rate rose 0–23% (this
machine's noise spans most of that range).

The flush (fdatasync of the WAL) of a small group runs on the event loop too while flushes are
quick (under FLUSH_INLINE_BELOW, on average): handing it to a thread and back costs more CPU than
a fast disk takes, and with several workers the other processes use the core meanwhile. In
alternated runs of bench/http_bench (medians of 4 and 6 pairs) it gave 3–6% more durable single
sends with two workers and 3–6% less CPU per request; with one worker, 6% more and 12% less.
A disk whose flushes are slower moves them to the flush thread, where the loop keeps serving.
So does a process that has a core to spare (`flush_on_loop=False`: fewer workers than cores):
there the flush thread's syscall runs beside the loop rather than in its way. The thread then
needs the GIL back to answer, and waits for it up to the interpreter's switch interval while
the loop runs Python: 5 ms by default, which held every answer of a group back. Such a process
shortens it to SPARE_CORE_SWITCH_INTERVAL. In alternated runs of bench/http_bench with one
worker, durable single sends rose 10-11% in two series (four and six pairs; the flush thread
with the default interval: 4-5%) and 4.5% in a third (the pairwise median of eight), at 10-15%
more CPU per send; with two workers on two cores the same change cost 21%, so there the
flushes stay on the loop.

Small groups run right on the event loop: a thread would cost more than the work, because every
hand-over of the GIL between it and the loop can stall either side for the switch interval.
Heavy groups (a 50,000-recipient request, a dispatcher batch) run on one worker thread so the
loop keeps serving, and that thread flushes the WAL right after their commit (no hand-over to
the flush thread); writes requested meanwhile wait and form the next group. So does a group
whose lock another process holds: the loop never blocks on the flock. A process with no
requests to serve (the engine's, beside HTTP workers) commits heavy groups on its loop too
(`heavy_on_loop`): each hand-over to the thread and back cost it a wake-up of the loop through
its self-pipe, the largest single item of its py-spy profile under bench/engine_bench.py
(about 15% of its samples, with the thread pool's own hand-over).

Checkpoints (copying the WAL into the database) run once a second while writes come, instead
of inside some request's COMMIT: SQLite's automatic checkpoint stalls the loop for milliseconds
every thousand pages. Each runs in two parts. The long one copies the WAL on a thread and
connection of its own, holding no lock, while every process goes on writing. Then the writer
thread, holding the lock, copies what was appended meanwhile, so that the checkpoint completes
and the next write starts the WAL over (without that last part the WAL would grow for as long
as writes come). Before, the whole checkpoint held the lock: every process's commits waited for
it and its fsync of the database, which were the slowest answers under steady load.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("smsgate.store")

HEAVY = 200  # a group weighing more than this (about: rows written) commits off the loop
LOCK_RETRIES = 4  # looks at a lock another process holds before waiting for it on the thread
# Between those looks: the next turn of the loop. uvloop keeps timers in whole milliseconds and
# ran the 0.5 ms this was as 0 (a look each turn); a real 1 ms between looks did no better in
# alternated pairs (docs/operations.md, "A live send at two workers: CPU, waits, and shares").
LOCK_RETRY_DELAY = 0.0
CHECKPOINT_EVERY = 1.0  # seconds between checkpoints while there are writes
FLUSH_INLINE_BELOW = 0.001  # seconds: a WAL flush that usually takes less runs on the loop
FLUSH_AVERAGING = 0.2  # weight of the latest flush in the running average of their durations
WRITER_CACHE_KIB = 64 * 1024  # the writer connection's page cache (allocated as pages are used)
BACKFILL_PASSES = 4  # unlocked passes of a checkpoint at most, each over what came meanwhile
BACKFILL_ENOUGH = 256  # frames (1 MiB at 4 KiB pages): a pass that copied fewer is the last
SPARE_CORE_SWITCH_INTERVAL = 0.0005  # seconds: how long the flush thread may wait for the GIL
Item = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", int]
Result = tuple["asyncio.Future[Any]", bool, Any]  # an operation's future, whether it ran, its value
Flushed = tuple[list[Result], OSError | None]  # a group's results, and its flush's error if any


class Writer:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        lock_path: str,
        merge: Callable[[sqlite3.Connection, list[Any]], list[Any]] | None = None,
        wal_path: str | None = None,
        flush_on_loop: bool = True,
        heavy_on_loop: bool = False,
    ) -> None:
        self._connect = connect
        self._heavy_on_loop = heavy_on_loop  # no group is too heavy for the loop
        self._flush_on_loop = flush_on_loop  # quick flushes of small groups may run on the loop
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
        self._syncer: _Errand[OSError | None] | None = None
        self._backfill: _Backfill | None = None
        self._backfiller: _Errand[None] | None = None
        self._backfilling = False  # the unlocked part of a checkpoint is under way
        self._finish_checkpoint = False  # the locked part is due when the writer thread is free
        self._wal_fd: int | None = None
        self._unsynced: list[Result] = []
        self._unflushed: set[asyncio.Future[Any]] = set()  # answered at commit (run's flush)
        self._syncing = False
        self.flush_seconds = 0.0  # running average of WAL flush durations
        self._lock_misses = 0
        self._next_checkpoint = 0.0
        self._checkpoint_timer: asyncio.TimerHandle | None = None
        self.commits = 0
        self.checkpoints = 0

    def start(self) -> None:
        self._conn = self._connect()
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # ours run off the loop
        # A bulk transaction's pages stay in memory until its commit. With SQLite's default
        # cache (2 MiB) a 50,000-message insert spilled pages to the WAL and read them back
        # mid-transaction: 24,000 writes and 6,900 reads a bulk against 14,500 and 3,500.
        self._conn.execute(f"PRAGMA cache_size={-WRITER_CACHE_KIB}")
        # Every operation of a group runs in a savepoint, whose journal (the original of each
        # page it changes) went to a temporary file past 64 KiB: under live load the engine
        # created, wrote and unlinked one about 46 times a second, a third of its pwrite calls.
        # In memory it is a copy per page and no system call.
        self._conn.execute("PRAGMA temp_store=MEMORY")
        self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="smsgate-writer")
        self._backfill = _Backfill(self._connect)
        self._backfiller = _Errand("smsgate-backfill", self._backfill)
        if self._wal_path is not None:
            self._wal_fd = os.open(self._wal_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._syncer = _Errand("smsgate-fsync", self._flush_wal)
            if not self._flush_on_loop:
                sys.setswitchinterval(min(sys.getswitchinterval(), SPARE_CORE_SWITCH_INTERVAL))

    def stop(self) -> None:
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._syncer is not None:
            self._syncer.close()
        if self._backfiller is not None:
            self._backfiller.close()
        if self._backfill is not None:
            self._backfill.close()
        self._pool = self._syncer = self._backfiller = self._backfill = None
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def run(
        self, fn: Callable[[sqlite3.Connection], T], weight: int = 1, flush: bool = True
    ) -> asyncio.Future[T]:
        """`fn(conn)`, committed in the next group; answered once the group is flushed to disk,
        or (`flush=False`) as soon as it is committed (a group of only those flushes nothing).
        Such a write is durable with the next flush of any process (the WAL is one sequence,
        and a flush covers every commit before it); a kill -9 loses it no more than a flushed
        one (it is in the OS's cache). Only for writes whose loss in a power cut is repaired,
        or repeated, by what runs after it.

        The future itself, not a coroutine awaiting it: one frame less for every write."""
        if self._conn is None:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not flush:
            self._unflushed.add(future)
        self._pending.append((fn, future, weight))
        if not self._scheduled and not self._busy:
            self._scheduled = True
            loop.call_soon(self._flush, loop)
        return future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if self._busy or not self._pending or self._conn is None:
            return
        light = self._heavy_on_loop or sum(weight for _fn, _f, weight in self._pending) <= HEAVY
        if light and self._syncing:
            # A flush is under way, and this group's answers would wait for the one after it
            # anyway: it commits when the flush ends (_synced), with what comes meanwhile. So
            # do writes answered without a flush: they are few, and waiting joins them to the
            # next group rather than costing a commit of their own.
            return
        locked = self._pool is not None and light and self._try_lock()
        if light and not locked and self._pool is not None and self._lock_misses < LOCK_RETRIES:
            # Another process is committing: look again on the next turns of the loop (requests
            # read meanwhile join this group) before paying a thread hand-over, whose flock
            # then takes the lock the moment its holder lets it go.
            self._lock_misses += 1
            self._scheduled = True
            loop.call_later(LOCK_RETRY_DELAY, self._flush, loop)
            return
        self._lock_misses = 0
        group, self._pending = self._pending, []
        if self._pool is None or locked:
            self._durable(loop, self._commit_group(group, locked=locked), light=light)
            self._maybe_checkpoint(loop)
            return
        flush = any(future not in self._unflushed for _fn, future, _w in group)
        self._off_loop(loop, self._commit_flushed, group, flush)

    def _off_loop(
        self, loop: asyncio.AbstractEventLoop, work: Callable[..., Any], *args: Any
    ) -> None:
        """Run `work` on the writer thread; writes requested meanwhile wait for it."""
        self._busy = True
        task = loop.run_in_executor(self._pool, work, *args)
        task.add_done_callback(lambda done: self._after_heavy(loop, done))

    def _try_lock(self) -> bool:
        assert self._lock_fd is not None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # another process is writing: wait for it on the thread
        return True

    def _after_heavy(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[Any]) -> None:
        self._busy = False
        flushed: Flushed | None = done.result()
        if flushed is not None:  # None: a checkpoint
            results, error = flushed
            if self._unflushed:
                results = self._answer_unflushed(results)
            _resolve(_unless_failed(error, results))
            self._maybe_checkpoint(loop)
        if self._finish_checkpoint and not self._busy:
            self._finish_checkpoint = False
            self._off_loop(loop, self._checkpoint)
        elif self._pending and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _maybe_checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        """A checkpoint at most every CHECKPOINT_EVERY seconds, and one after the last write."""
        if self._backfiller is None:
            return  # stopping
        now = loop.time()
        if now < self._next_checkpoint or self._backfilling or self._finish_checkpoint:
            if self._checkpoint_timer is None:
                when = max(self._next_checkpoint, now + 0.01)
                self._checkpoint_timer = loop.call_at(when, self._checkpoint_due, loop)
            return
        self._next_checkpoint = now + CHECKPOINT_EVERY
        self._backfilling = True
        self._backfiller.ask(loop, lambda _: self._backfilled(loop))

    def _checkpoint_due(self, loop: asyncio.AbstractEventLoop) -> None:
        self._checkpoint_timer = None
        self._maybe_checkpoint(loop)

    def _backfilled(self, loop: asyncio.AbstractEventLoop) -> None:
        """The unlocked part is done: the locked part next, once the writer thread is free."""
        self._backfilling = False
        if self._pool is None:
            return  # stopping
        if self._busy:
            self._finish_checkpoint = True  # _after_heavy starts it
        else:
            self._off_loop(loop, self._checkpoint)

    def _checkpoint(self) -> None:
        """Copy what is left of the WAL into the database, holding the lock so that no other
        process appends meanwhile: the checkpoint completes and the next write starts the WAL
        over. Short: the backfill copied the rest without the lock just before."""
        conn, lock_fd = self._conn, self._lock_fd
        assert conn is not None and lock_fd is not None
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:  # the next one will do it
            log.warning("checkpoint failed: %s", exc)
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _durable(
        self,
        loop: asyncio.AbstractEventLoop,
        results: list[Result],
        light: bool = False,
    ) -> None:
        """Answer the group once its commit is on disk.

        A light group's flush runs right here while flushes are quick. Otherwise one fsync at a
        time on the flush thread: groups that commit while one runs wait for the next, which
        covers them all (fewer flushes and thread hand-overs under load, none skipped). Writes
        run without a flush are answered now.
        """
        if self._unflushed:
            results = self._answer_unflushed(results)
        if self._syncer is None or self._wal_fd is None or not any(ok for _f, ok, _v in results):
            _resolve(results)
            return
        if (
            light
            and self._flush_on_loop
            and not self._syncing
            and self.flush_seconds < FLUSH_INLINE_BELOW
        ):
            _resolve(_unless_failed(self._flush_wal(), results))
            return
        self._unsynced += results
        if not self._syncing:
            self._sync(loop)

    def _answer_unflushed(self, results: list[Result]) -> list[Result]:
        """Answer the results of writes run without a flush; the others, to be flushed."""
        now = [r for r in results if r[0] in self._unflushed]
        if not now:
            return results
        answered = {f for f, _ok, _v in now}
        self._unflushed -= answered
        _resolve(now)
        return [r for r in results if r[0] not in answered]

    def _flush_wal(self) -> OSError | None:
        assert self._wal_fd is not None
        return _timed_fdatasync(self._wal_fd, self._timed)

    def _timed(self, seconds: float) -> None:
        """Note how long a flush took (on the loop, or on the flush thread: a float store)."""
        self.flush_seconds += FLUSH_AVERAGING * (seconds - self.flush_seconds)

    def _sync(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._syncer is not None
        batch, self._unsynced = self._unsynced, []
        self._syncing = True
        self._syncer.ask(loop, lambda error: self._synced(loop, error, batch))

    def _synced(
        self,
        loop: asyncio.AbstractEventLoop,
        error: OSError | None,
        batch: list[Result],
    ) -> None:
        self._syncing = False
        _resolve(_unless_failed(error, batch))
        if self._unsynced and self._syncer is not None:
            self._sync(loop)
        elif self._pending and not self._scheduled:  # groups held back during the flush
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _commit_flushed(self, group: list[Item], flush: bool) -> Flushed:
        """A heavy group on the writer thread: committed, then (`flush`: some of its writes
        are answered after a flush) the WAL flushed right there, the lock released in between;
        and the flush's error if it failed. Handed to the flush thread instead, a 50,000-message
        bulk's answer waited for a wake-up of the loop, then one of that thread, each for the
        GIL or a core: 3-40 ms at load 4."""
        results = self._commit_group(group)
        if not flush or self._wal_fd is None or not any(ok for _f, ok, _v in results):
            return results, None
        return results, self._flush_wal()

    def _commit_group(self, group: list[Item], locked: bool = False) -> list[Result]:
        conn, lock_fd = self._conn, self._lock_fd
        assert conn is not None and lock_fd is not None
        results: list[Result] = []
        if not locked:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
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


class _Errand(Generic[R]):
    """One thread that runs `job` when asked and hands its result to `done` on the loop.

    Lighter than an executor: a run costs one queue put, the job (the GIL released in its
    syscalls) and one call_soon_threadsafe, with no futures chained between the thread and the
    loop. The writer has two: the WAL's fsync and a checkpoint's unlocked part.
    """

    def __init__(self, name: str, job: Callable[[], R]) -> None:
        self._job = job
        self._requests: queue.SimpleQueue[tuple[Any, Callable[[R], None]] | None]
        self._requests = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def ask(self, loop: asyncio.AbstractEventLoop, done: Callable[[R], None]) -> None:
        self._requests.put((loop, done))

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (request := self._requests.get()) is not None:
            loop, done = request
            result = self._job()
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(done, result)


class _Backfill:
    """A checkpoint's unlocked part, on a connection of its own (made on the errand's thread
    when first needed): copies the WAL into the database while every process goes on writing
    (see the module docstring)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> None:
        """Copy the WAL, then what was appended meanwhile, until a pass copies little: the
        locked part then has little to copy and little of the database to fsync."""
        try:
            self._conn = conn = self._conn or self._connect()
            copied = 0
            for _ in range(BACKFILL_PASSES):
                _busy, _frames, now_copied = conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
                if now_copied - copied < BACKFILL_ENOUGH:
                    return
                copied = now_copied
        except sqlite3.Error as exc:  # the locked part, and the next checkpoint, go on
            log.warning("checkpoint (unlocked part) failed: %s", exc)

    def close(self) -> None:
        """After its errand's thread has ended."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _timed_fdatasync(fd: int, timed: Callable[[float], None]) -> OSError | None:
    """Flush `fd` to disk, tell `timed` how long it took; the error, if it failed."""
    started = time.perf_counter()
    try:
        os.fdatasync(fd)
    except OSError as exc:
        return exc
    finally:
        timed(time.perf_counter() - started)
    return None


def _merged(
    merge: Callable[[sqlite3.Connection, list[Any]], list[Any]], ops: list[Any]
) -> Callable[[sqlite3.Connection], list[Any]]:
    return lambda conn: merge(conn, ops)


@contextlib.contextmanager
def savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    """Run a block in a savepoint of the transaction: an exception undoes what the block wrote
    (and goes on), the rest of the transaction stands. `name`: a code-made identifier."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        raise
    finally:
        conn.execute(f"RELEASE {name}")


def _try(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> tuple[bool, Any]:
    """Run one operation in its own savepoint: its failure undoes it alone."""
    try:
        with savepoint(conn, "op"):
            value = fn(conn)
            if isinstance(value, sqlite3.Cursor):
                # Never hand a cursor to the caller: freed later on the loop's thread, it would
                # reset its statement while this connection works on the writer thread (SQLite
                # answers "bad parameter or other API misuse" to the statement in use there).
                value.close()
                value = None
    except BaseException as exc:  # the caller gets it; the others still commit
        return False, exc
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


def _unless_failed(error: OSError | None, results: list[Result]) -> list[Result]:
    if error is None:
        return results
    from .base import StoreUnavailable

    log.error("fsync of the WAL failed: %s", error)
    failure = StoreUnavailable(f"database flush failed: {error}")
    return [(future, False, failure) for future, _ok, _v in results]


def _resolve(items: list[Result]) -> None:
    for future, ok, value in items:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
