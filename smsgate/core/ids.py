"""Opaque, unguessable identifiers."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A random UUID (122 random bits), the form MsgHub clients expect for message ids."""
    return str(uuid.uuid4())
