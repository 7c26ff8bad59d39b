"""Outbox rows as a notifier takes them: each callback's notice rendered as it is claimed,
from the rows of its subject, not stored with it (rules.callback_notice).

Both backends' `outbox_subjects` and `outbox_items` queries read a callback as its 9 outbox
columns (those of rows.outbox_from_row), then its event's 7 (NULL for an incoming SMS), its
message's 28 and its incoming SMS's 9 (each NULL where it has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import rules
from .base import OutboxItem
from .rows import event_from_row, mo_from_row, row_to_message

_EVENT = slice(9, 16)
_MESSAGE = slice(16, 44)
_MO = slice(44, 53)


def outbox_item(r: Sequence[Any]) -> OutboxItem:
    """One callback with what it reports: the payload stored with it (rows written before
    payloads were rendered at sending), or a notice rendered from its subject's columns now,
    handed to the notifier as it is (no JSON in between). Neither: its subject is gone (the
    notifier gives it up)."""
    r = tuple(r)  # an asyncpg Record is not sliced
    stored = bytes(r[6]) if r[6] else b""
    notice = None
    if not stored:
        event = event_from_row(r[_EVENT]) if r[_EVENT.start] is not None else None
        message = row_to_message(r[_MESSAGE]) if r[_MESSAGE.start] is not None else None
        mo = mo_from_row(r[_MO]) if r[_MO.start] is not None else None
        notice = rules.callback_notice(r[4], r[1], event, message, mo)
    return OutboxItem(
        id=r[0],
        event_id=r[1],
        account_id=r[2],
        dialect=r[3],
        kind=r[4],
        url=r[5],
        payload=stored,
        attempts=r[7],
        created_at=r[8],
        notice=notice,
    )
