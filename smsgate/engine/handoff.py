"""Callbacks handed from the engine process to the notifier process at their commit.

The engine knows which callbacks its receipts queue, with the message and the event they
render from, when it commits them. Those rules.hand_over lets go are leased to the notifier
process in that commit and sent down a pipe after it (each a msgspec-encoded OutboxItem, its
notice rendered: nothing is read back), so the notifier sends them without a claim. The claim
stays for the rest: retries, restarts, callbacks written by other processes, and these when
the notifier falls behind (the pipe and `PipeHandOver.most` bound what waits; past that the
engine leases none, and they are claimed). A handed-over callback lost with a crash of either
process waits for its lease, as one claimed by a dead notifier does; on SQLite the next
notifier frees every lease but its own as it starts (docs/operations.md, "Callbacks handed
over").
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import struct
import time
from collections.abc import Callable, Sequence

import msgspec

from ..store.base import Handing, HandOver, OutboxItem, OutboxScope, Ticket

log = logging.getLogger("smsgate.handoff")

PIPE_BYTES = 1 << 20  # asked of the kernel for the pipe (Linux caps it at pipe-max-size)
MOST_BYTES = 4 << 20  # encoded callbacks waiting in the engine for the pipe: lease no more
_HEAD = struct.Struct("<I")  # each frame: its length, then a `Handed`
NO_DIALECT = OutboxScope(only=frozenset())
SPACING = 0.005  # seconds: one write to the pipe at most this often (as server.WAKE_SPACING)


class Handed(msgspec.Struct, array_like=True):
    """One commit's callbacks, leased to the notifier `owner`."""

    owner: str
    items: list[OutboxItem]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Handed).decode


class PipeHandOver(HandOver):
    """The engine's side: tickets for its commits while a notifier process is attached and
    not too far behind, and the callbacks given after them written to that process's pipe
    (without blocking: what the pipe does not take waits here, written when it has room).
    A write goes at once when none went in the last SPACING seconds, else when that time is
    up, with every commit's callbacks meanwhile: each write woke the notifier for a few
    callbacks, and a few at a time it pipelines fewer of them to their client."""

    def __init__(self, lease: float, scope: OutboxScope, most: int = MOST_BYTES) -> None:
        self.lease = lease
        self.scope = scope
        self.most = most
        self._owner: str | None = None
        self._handing = Handing(0.0)
        self._fd = -1
        self._waiting = bytearray()
        self._writer_on = False
        self._last = -SPACING
        self._due: asyncio.TimerHandle | None = None

    def attach(self, owner: str, fd: int) -> None:
        """A notifier process started, leasing as `owner`, reading the pipe `fd` writes to.
        What waited for the one before is dropped: its leases are freed by this one's start
        (SQLite) or lapse."""
        self.detach()
        self._owner, self._fd = owner, fd
        self._handing = Handing(time.time())  # what went to the one before is not its
        os.set_blocking(fd, False)
        with contextlib.suppress(OSError):  # a bigger pipe: fewer wake-ups, more in flight
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)

    def detach(self) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None
        if self._writer_on:
            asyncio.get_running_loop().remove_writer(self._fd)
            self._writer_on = False
        if self._fd >= 0:
            os.close(self._fd)
        self._owner, self._fd = None, -1
        self._waiting.clear()

    def ticket(self) -> Ticket | None:
        if self._owner is None:
            return None  # no notifier: its claim takes them (and the next one's Handing
            # begins when it is attached, so it reads what is owed for older messages)
        until = time.time() + self.lease
        # Behind: a ticket for no dialect, so that the rule still notes the messages whose
        # callbacks it keeps back (their later ones must then wait for the claim's order).
        scope = self.scope if len(self._waiting) <= self.most else NO_DIALECT
        return Ticket(self._owner, until, scope, self._handing)

    def give(self, owner: str, items: Sequence[OutboxItem]) -> None:
        if owner != self._owner or not items:
            return  # leased to a notifier that is gone: freed as its successor starts
        body = _encode(Handed(owner, list(items)))
        self._waiting += _HEAD.pack(len(body))
        self._waiting += body
        if self._due is not None or self._writer_on:
            return  # a write is due: it takes these too
        loop = asyncio.get_running_loop()
        wait = self._last + SPACING - loop.time()
        if wait <= 0:
            self._write()
        else:
            self._due = loop.call_later(wait, self._write)

    def _write(self) -> None:
        self._due = None
        self._last = asyncio.get_running_loop().time()
        try:
            written = os.write(self._fd, self._waiting)
        except BlockingIOError:
            written = 0
        except OSError as exc:  # the notifier is gone: its successor frees these leases
            log.warning("notifier pipe closed, %d bytes of callbacks left: %s", len(self), exc)
            self._waiting.clear()
            written = 0
        del self._waiting[:written]
        if self._waiting and not self._writer_on:
            asyncio.get_running_loop().add_writer(self._fd, self._write)
            self._writer_on = True
        elif not self._waiting and self._writer_on:
            asyncio.get_running_loop().remove_writer(self._fd)
            self._writer_on = False

    def __len__(self) -> int:
        return len(self._waiting)


class PipeReader:
    """The notifier process's side: frames read from the pipe `fd`, the callbacks leased to
    `owner` given to `take` (others were leased to a notifier before it: dropped). While
    `take` says it is full, the pipe is not read (the engine then leases no more); `resume`
    reads again."""

    def __init__(self, fd: int, owner: str) -> None:
        self.fd = fd
        self.owner = owner
        self.take: Callable[[list[OutboxItem]], bool] = _refuse
        self._buffer = bytearray()
        self._reading = False
        os.set_blocking(fd, False)

    def start(self, take: Callable[[list[OutboxItem]], bool]) -> None:
        """Read, giving every callback to `take` (a Notifier's)."""
        self.take = take
        self.resume()

    def resume(self) -> None:
        """Read again (the frames already read first)."""
        if self._reading or not self._frames():
            return
        asyncio.get_running_loop().add_reader(self.fd, self._read)
        self._reading = True

    def pause(self) -> None:
        if self._reading:
            asyncio.get_running_loop().remove_reader(self.fd)
            self._reading = False

    def _read(self) -> None:
        try:
            data = os.read(self.fd, PIPE_BYTES)
        except BlockingIOError:
            return
        if not data:  # the engine closed it: it is stopping
            self.pause()
            return
        self._buffer += data
        if not self._frames():
            self.pause()

    def _frames(self) -> bool:
        """Every whole frame of the buffer given to `take`; False when it is full."""
        buffer, at, room = self._buffer, 0, True
        while len(buffer) - at >= _HEAD.size:
            (size,) = _HEAD.unpack_from(buffer, at)
            end = at + _HEAD.size + size
            if end > len(buffer):
                break
            handed = _decode(memoryview(buffer)[at + _HEAD.size : end])
            at = end
            if handed.owner == self.owner:
                room = self.take(handed.items) and room
        del buffer[:at]
        return room


def _refuse(items: list[OutboxItem]) -> bool:
    raise RuntimeError("PipeReader read before start")
