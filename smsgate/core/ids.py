"""Opaque, unguessable identifiers."""

from __future__ import annotations

import os


def new_id() -> str:
    """A random (version 4) UUID string: 122 random bits, the form MsgHub clients expect.

    Built from os.urandom directly: uuid.uuid4() costs several times more, which shows in a
    50,000-recipient request.
    """
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"
