"""Opaque, unguessable identifiers."""

from __future__ import annotations

import os

_POOL_IDS = 512  # ids drawn per getrandom() call: one syscall per id costs ~4 µs in a bulk
_pool = b""
_offset = 0
_pool_pid = 0


def _random16() -> bytes:
    global _pool, _offset, _pool_pid
    if _offset >= len(_pool) or _pool_pid != os.getpid():  # never share a pool across a fork
        _pool, _offset, _pool_pid = os.urandom(16 * _POOL_IDS), 0, os.getpid()
    _offset += 16
    return _pool[_offset - 16 : _offset]


def new_id() -> str:
    """A random (version 4) UUID string: 122 random bits, the form MsgHub clients expect."""
    h = _random16().hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
