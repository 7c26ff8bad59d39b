"""`bench.live_tail`: put on smsgate's PYTHONPATH, so every one of its processes imports this at
start-up. With TAIL_TRACE_DIR set, a process notes when each stage of its SQLite writes began
and ended (time.monotonic, one clock for every process) and appends them to
$TAIL_TRACE_DIR/<pid>.jsonl every half second, one JSON array a line:

  ["req", start, end]                    an HTTP request, its head's first byte parsed to its
                                         answer written (a worker)
  ["write", start, end, weight]          Writer.run: asked to the caller's future resolved
  ["hold", start, end, thread, cpu]      the write lock (flock of <db>.lock) held; thread "L"
                                         (the event loop's) or "T"; cpu: that thread's CPU
                                         seconds meanwhile (a hold whose wall time is far above
                                         its CPU was preempted, or waited for the disk)
  ["wait", start, end, thread]           a blocking wait for the lock (on the writer thread)
  ["miss", at]                           a look at the lock that found it taken
  ["group", start, end, writes, thread]  a group commit, lock wait included
  ["sync", start, end, thread]           a WAL flush (fdatasync)
  ["ckpt", start, end]                   a checkpoint's locked part
  ["backfill", start, end]               a checkpoint's unlocked part
  ["lag", at, late]                      the event loop ran a 2 ms timer `late` seconds late
                                         (over 1 ms): it was busy, or not on a CPU
  ["gc", start, end, generation]         a collection of the cyclic garbage collector

The patches wrap functions of smsgate.store._sqlite_writer and smsgate.http_protocol; each
note costs a few microseconds, so read the figures against each other, not as the server's
untraced speed.
"""

import gc
import json
import os
import threading
import time

_folder = os.environ.get("TAIL_TRACE_DIR")
_notes: list = []
_now = time.monotonic


def _thread() -> str:
    return "L" if threading.current_thread() is threading.main_thread() else "T"


def _dump() -> None:
    global _notes
    notes, _notes = _notes, []
    if notes:
        with open(os.path.join(_folder, f"{os.getpid()}.jsonl"), "a") as out:
            out.writelines(json.dumps(note) + "\n" for note in notes)


def _dumper() -> None:
    while True:
        time.sleep(0.5)
        _dump()


def _gc(phase: str, info: dict, started: list = [0.0]) -> None:  # noqa: B006 (a cell)
    if phase == "start":
        started[0] = _now()
    else:
        _notes.append(("gc", started[0], _now(), info["generation"]))


class _Flock:
    """fcntl for _sqlite_writer: flock noting holds, waits and misses of the write lock."""

    def __init__(self, fcntl) -> None:
        self._fcntl = fcntl
        self.LOCK_EX, self.LOCK_NB, self.LOCK_UN = fcntl.LOCK_EX, fcntl.LOCK_NB, fcntl.LOCK_UN
        self._held: dict = {}

    def flock(self, fd: int, op: int) -> None:
        start = _now()
        if op == self.LOCK_UN:
            self._fcntl.flock(fd, op)
            held = self._held.pop(fd, None)
            if held is not None:
                _notes.append(("hold", held[0], start, held[1], time.thread_time() - held[2]))
            return
        try:
            self._fcntl.flock(fd, op)
        except BlockingIOError:
            _notes.append(("miss", start))
            raise
        got = _now()
        self._held[fd] = (got, _thread(), time.thread_time())
        if not op & self.LOCK_NB:
            _notes.append(("wait", start, got, _thread()))


def _timed(kind: str, fn):
    def timed(*args, **kwargs):
        start = _now()
        try:
            return fn(*args, **kwargs)
        finally:
            _notes.append((kind, start, _now()))

    return timed


def _install() -> None:
    import fcntl

    from smsgate import http_protocol
    from smsgate.store import _sqlite_writer as writer

    writer.fcntl = _Flock(fcntl)
    real_fdatasync = writer._timed_fdatasync

    def fdatasync(fd, timed):
        start = _now()
        try:
            return real_fdatasync(fd, timed)
        finally:
            _notes.append(("sync", start, _now(), _thread()))

    writer._timed_fdatasync = fdatasync
    real_run, real_group = writer.Writer.run, writer.Writer._commit_group

    def run(self, fn, weight=1, flush=True):
        start = _now()
        future = real_run(self, fn, weight, flush)
        future.add_done_callback(lambda _f: _notes.append(("write", start, _now(), weight)))
        return future

    def commit_group(self, group, locked=False):
        start = _now()
        try:
            return real_group(self, group, locked)
        finally:
            _notes.append(("group", start, _now(), len(group), _thread()))

    writer.Writer.run, writer.Writer._commit_group = run, commit_group
    writer.Writer._checkpoint = _timed("ckpt", writer.Writer._checkpoint)
    writer._Backfill.__call__ = _timed("backfill", writer._Backfill.__call__)
    real_start = writer.Writer.start

    def start(self):
        real_start(self)
        _watch_loop()

    writer.Writer.start = start
    protocol = http_protocol.CoalescingHttpToolsProtocol
    real_begin, real_complete = protocol.on_message_begin, protocol.on_response_complete

    def on_message_begin(self):
        self._tail_started = _now()
        real_begin(self)

    def on_response_complete(self):
        started = getattr(self, "_tail_started", None)
        if started is not None:
            _notes.append(("req", started, _now()))
        real_complete(self)

    protocol.on_message_begin, protocol.on_response_complete = (
        on_message_begin,
        on_response_complete,
    )


def _watch_loop(period: float = 0.002) -> None:
    """A timer every `period` on the running loop, noting how late it ran."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def tick(due: float) -> None:
        now = loop.time()
        if now - due > 0.001:
            _notes.append(("lag", _now(), now - due))
        loop.call_at(now + period, tick, now + period)

    loop.call_at(loop.time() + period, tick, loop.time() + period)


if _folder:
    _install()
    gc.callbacks.append(_gc)
    threading.Thread(target=_dumper, name="tail-trace", daemon=True).start()
