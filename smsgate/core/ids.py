"""Opaque, unguessable identifiers."""

from __future__ import annotations

import os
import time

_POOL_IDS = 512  # ids drawn per getrandom() call: one syscall per id costs ~4 µs in a bulk
_pool = b""
_offset = 0
_last_ms = 0
_counter = 0


def _forget_pool() -> None:
    """A forked child draws its own randomness: a shared pool would repeat ids."""
    global _pool, _offset
    _pool, _offset = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def _random10() -> bytes:
    global _pool, _offset
    if _offset >= len(_pool):
        _pool, _offset = os.urandom(10 * _POOL_IDS), 0
    _offset += 10
    return _pool[_offset - 10 : _offset]


def new_id() -> str:
    """A version 7 UUID string: 48 bits of milliseconds, then 74 random bits.

    Time-ordered ids append to the end of the id index instead of landing on a random page,
    which keeps inserts cheap as the table grows; 74 random bits keep them unguessable. Within
    one millisecond the 12 bits after the version count up (RFC 9562, method 1), so ids made
    by one process sort in the order they were made.
    """
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms > _last_ms:
        _last_ms, _counter = ms, 0
    else:
        _counter += 1
        if _counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
            _last_ms, _counter = _last_ms + 1, 0
    rand = _random10().hex()
    variant = "89ab"[int(rand[0], 16) & 3]
    stamp = f"{_last_ms:012x}"
    return f"{stamp[:8]}-{stamp[8:]}-7{_counter:03x}-{variant}{rand[1:4]}-{rand[4:16]}"
