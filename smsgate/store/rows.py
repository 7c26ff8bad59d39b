"""Row readers both backends share: the same columns in the same order give the same records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import msgspec

from ..core.models import Account, Credential, Job, Message, MoMessage, StatusEvent
from ..core.status import Status
from ..core.windows import Window
from .base import CallbackState, ConnectorEntry, OutboxItem

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode
_replace = msgspec.structs.replace
_window_decode = msgspec.json.Decoder(Window).decode
# A stored status by its value: a dict look-up costs a quarter of what Status(value) does, and
# every message and event read goes through it (several times in a message's life).
_status = {s.value: s for s in Status}.__getitem__


# fmt: off
# An account's columns as read (then its senders); an update sets all but the id.
ACCOUNT_COLUMNS = (
    "id", "name", "balance", "price", "currency", "tps", "timezone", "active", "ip_allowlist",
    "callback_urls", "settings", "created_at",
)
# fmt: on
ACCOUNT_FIELDS = ACCOUNT_COLUMNS[1:]
_ACCOUNT_JSON = frozenset(("ip_allowlist", "callback_urls", "settings"))


def field_arrays(items: Sequence[Any], fields: str) -> list[list[Any]]:
    """One array per attribute named in `fields`, for `unnest` (PostgreSQL)."""
    return [list(map(attrgetter(f), items)) for f in fields.split()]


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows to column arrays, for `unnest` (PostgreSQL)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(c) for c in zip(*rows, strict=True)]


def json_or_none(value: Any) -> str | None:
    """A JSON column's text; an empty value is stored as NULL."""
    return _json_encode(value).decode() if value else None


def check_account_fields(fields: Mapping[str, Any]) -> None:
    """An update naming a field accounts do not have is a programming error, not a refusal."""
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValueError(f"unknown account fields: {sorted(unknown)}")


def account_value(field: str, value: Any) -> Any:
    """An account field as the account queries bind it: the JSON ones as text (None: kept)."""
    return _json_encode(value).decode() if field in _ACCOUNT_JSON and value is not None else value


def account_from_row(r: Sequence[Any], senders: Iterable[str]) -> Account:
    """An account from ACCOUNT_COLUMNS (SQLite's 0/1 flag becomes a boolean)."""
    fields = dict(zip(ACCOUNT_COLUMNS, r, strict=False))
    for name in _ACCOUNT_JSON:
        fields[name] = _json_decode(fields[name])
    fields["active"] = bool(fields["active"])
    return Account(**fields, senders=list(senders))


def credential_from_row(r: Sequence[Any]) -> Credential:
    return Credential(account_id=r[0], dialect=r[1], kind=r[2], identifier=r[3], secret=r[4])


def job_from_row(r: Sequence[Any]) -> Job:
    return Job(
        id=r[0],
        account_id=r[1],
        dialect=r[2],
        client_ref=r[3],
        total=r[4],
        created_at=r[5],
        meta=_json_decode(r[6]) if r[6] else None,
    )


def callback_from_row(r: Sequence[Any]) -> CallbackState:
    return CallbackState(event_id=r[0], dialect=r[1], state=r[2], attempts=r[3], last_error=r[4])


def in_given_order(messages: Iterable[Message], ids: Sequence[str]) -> list[Message]:
    """Messages found by id, in the order the caller asked for them (the query's is arbitrary)."""
    order = {mid: i for i, mid in enumerate(ids)}
    return sorted(messages, key=lambda m: order[m.id])


def row_to_message(r: Sequence[Any]) -> Message:
    """A message from the columns every message query selects, seq to meta (SQLite's 0/1 flags
    become booleans)."""
    # Fifteen keywords, then the rest: CPython passes a call of more than 15 keywords through
    # a dict it builds first (tests/test_hot_path_calls.py), a microsecond of every message a
    # claim or a report reads.
    message = Message(
        seq=r[0],
        id=r[1],
        account_id=r[2],
        dialect=r[3],
        client_ref=r[4],
        job_id=r[5],
        sender=r[6],
        phone=r[7],
        text=r[8],
        encoding=r[9],
        segments=r[10],
        priority=r[11],
        not_before=r[12],
        expires_at=r[13],
        status=_status(r[18]),
    )
    return _replace(
        message,
        window=_window_decode(r[14]) if r[14] else None,
        flash=bool(r[15]),
        tag=r[16],
        callback_url=r[17],
        error_code=r[19],
        price=r[20],
        created_at=r[21],
        updated_at=r[22],
        submitted_at=r[23],
        done_at=r[24],
        carrier_id=r[25],
        confidential=bool(r[26]),
        meta=_json_decode(r[27]) if r[27] else None,
    )


def event_from_row(r: Sequence[Any]) -> StatusEvent:
    return StatusEvent(
        seq=r[0],
        message_id=r[1],
        account_id=r[2],
        status=_status(r[3]),
        error_code=r[4],
        carrier_error=r[5],
        at=r[6],
    )


def mo_from_row(r: Sequence[Any]) -> MoMessage:
    return MoMessage(
        seq=r[0],
        id=r[1],
        account_id=r[2],
        phone=r[3],
        to=r[4],
        text=r[5],
        received_at=r[6],
        reply_to=r[7],
        meta=_json_decode(r[8]) if r[8] else None,
    )


def outbox_from_row(r: Sequence[Any]) -> OutboxItem:
    return OutboxItem(
        id=r[0],
        event_id=r[1],
        account_id=r[2],
        dialect=r[3],
        kind=r[4],
        url=r[5],
        payload=bytes(r[6]),
        attempts=r[7],
        created_at=r[8],
    )


def entry_from_row(r: Sequence[Any]) -> ConnectorEntry:
    return ConnectorEntry(
        message_id=r[0], carrier_id=r[1], submitted_at=r[2], outcome=r[3], report_due=r[4]
    )


def snapshot(message: Message) -> Message:
    """The message as a callback carries it: a confidential text never leaves the store."""
    if message.confidential and message.text:
        return msgspec.structs.replace(message, text="")
    return message


def refundable(status: Status, submitted_at: float | None) -> bool:
    """Money goes back for what we refused, cancelled or let expire before a carrier had it."""
    return status in (Status.REJECTED, Status.CANCELLED, Status.EXPIRED) and submitted_at is None
