"""Outbox rows as a notifier takes them: each callback's notice rendered as it is claimed,
from the rows of its subject, not stored with it (rules.callback_notice).

Both backends' `outbox_items` queries read a callback as its 9 outbox columns (those of
rows.outbox_from_row), then its event's 7 (NULL for an incoming SMS), its message's 28 and its
incoming SMS's 9 (each NULL where it has none). A claim reads its due callbacks without their
messages (`outbox_claimed`: 9, 7 and 9 columns), and each of their messages once
(`claimed_items`). SQLite's claim finds them first, under its write lock, as two columns
(`outbox_due`: the callback and its event's message).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..core.models import Notice
from . import rules
from .base import OutboxItem
from .rows import event_from_row, mo_from_row, row_to_message

_EVENT = slice(9, 16)
_MESSAGE = slice(16, 44)
_MO = slice(44, 53)
_DUE_MO = slice(16, 25)  # outbox_claimed's incoming SMS, after the outbox's 9 and the event's 7
_DUE_MESSAGE = 10  # outbox_claimed's event's message id (the event's second column)


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
    return _item(r, stored, notice)


def chain_messages(due: Iterable[Sequence[Any]]) -> set[str]:
    """The messages whose events the due rows `due` (outbox_claimed's) report."""
    return {r[_DUE_MESSAGE] for r in due if r[_DUE_MESSAGE] is not None}


def due_messages(due: Iterable[Sequence[Any]]) -> set[str]:
    """The messages of SQLite's due rows `due` (outbox_due's: id, message or None)."""
    return {r[1] for r in due if r[1] is not None}


def due_siblings(due: Iterable[Sequence[Any]], now: float) -> list[rules.Sibling]:
    """SQLite's due rows `due` (outbox_due's) as the owed callbacks of their messages that
    rules.order_claim is given beside the others (outbox_chains reads only those outside the
    claim): due by `now` and leased to nobody, as outbox_due found them. A callback of no
    message (an incoming SMS) is nobody's sibling."""
    return [rules.Sibling(i, m, "pending", now, None, None) for i, m in due if m is not None]


def message_ids(due: Iterable[Sequence[Any]]) -> set[str]:
    """The messages the due rows `due` render from: a payload stored with the row
    (rows.outbox_from_row's 6th column) needs none."""
    return chain_messages(r for r in due if not r[6])


def claimed_items(
    due: Sequence[Sequence[Any]], send: Sequence[int], messages: Iterable[Sequence[Any]]
) -> list[OutboxItem]:
    """The callbacks `send` (ids) of a claim's due rows `due` (outbox_claimed's), in that order,
    each rendered as outbox_item does. `messages` are the rows of their messages (as every
    message query selects them): a message's `submitted` and final callback are nearly always
    claimed together, and its row is read and made into a message once for both."""
    made = {m.id: m for m in map(row_to_message, messages)}
    by_id = {r[0]: r for r in due}
    items = []
    for i in send:
        r = tuple(by_id[i])  # an asyncpg Record is not sliced
        stored = bytes(r[6]) if r[6] else b""
        notice = None
        if not stored:
            event = event_from_row(r[_EVENT]) if r[_EVENT.start] is not None else None
            message = made.get(event.message_id) if event is not None else None
            mo = mo_from_row(r[_DUE_MO]) if r[_DUE_MO.start] is not None else None
            notice = rules.callback_notice(r[4], r[1], event, message, mo)
        items.append(_item(r, stored, notice))
    return items


def _item(r: Sequence[Any], stored: bytes, notice: Notice | None) -> OutboxItem:
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
