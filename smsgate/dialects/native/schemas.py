"""Request and response bodies of the native API (msgspec: strict types, fast)."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Literal

import msgspec

from ...core.models import Message
from ...core.money import format_amount

# "all": submitted and every final status; "final": final statuses only (like Kannel's dlr-mask
# without its intermediate bits). Kept in the message's meta under EVENTS when not the default.
CallbackEvents = Literal["all", "final"]
EVENTS = "callback_events"


def events_meta(events: CallbackEvents) -> dict[str, Any] | None:
    return {EVENTS: "final"} if events == "final" else None


class SendRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: str | int
    text: str
    sender: str | None = msgspec.field(default=None, name="from")
    client_ref: str | None = None
    schedule_at: str | float | None = None  # ISO 8601 with offset, or UNIX seconds
    ttl: int | None = None  # seconds
    priority: int = 0
    flash: bool = False
    tag: str | None = None
    callback_url: str | None = None
    callback_events: CallbackEvents = "all"
    confidential: bool = False


# Not tracked by the cyclic GC (decoded JSON holds no cycles): a bulk body has 50,000 of them.
class Recipient(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, gc=False):
    to: str | int
    text: str | None = None
    client_ref: str | None = None
    vars: dict[str, str | int | float] | None = None


class BulkRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    recipients: list[Recipient]
    text: str | None = None  # default text; %var% filled from each recipient's vars
    sender: str | None = msgspec.field(default=None, name="from")
    client_ref: str | None = None  # the job's reference
    schedule_at: str | float | None = None
    ttl: int | None = None
    priority: int = 0
    tag: str | None = None
    callback_url: str | None = None
    callback_events: CallbackEvents = "all"
    atomic: bool = False


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    to: str
    sender: str | None = msgspec.field(name="from")
    text: str | None
    status: str
    error: str | None
    client_ref: str | None
    job_id: str | None
    encoding: str
    segments: int
    price: str
    created_at: str
    updated_at: str
    scheduled_at: str | None
    expires_at: str | None
    submitted_at: str | None
    done_at: str | None
    tag: str | None
    priority: int


class BulkError(msgspec.Struct):
    index: int
    code: str
    message: str


class BulkResponse(msgspec.Struct, kw_only=True):
    job_id: str | None
    accepted: int
    duplicates: int
    rejected: list[BulkError]
    message_ids: list[str | None]


def iso(ts: float | None) -> str | None:
    """UTC ISO 8601 with milliseconds, e.g. 2026-11-28T05:37:35.316Z (hot path: no datetime)."""
    if ts is None:
        return None
    whole = int(ts)
    return _second(whole) + _MILLIS[int((ts - whole) * 1000)]


_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]  # the tail of every iso(), made once


@lru_cache(maxsize=256)
def _second(whole: int) -> str:
    t = time.gmtime(whole)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


@lru_cache(maxsize=1024)
def _price(micros: int) -> str:
    """A message's price as answered: few distinct values (parts x an account's price)."""
    return format_amount(micros, 4)


def message_out(m: Message) -> MessageOut:
    created = iso(m.created_at) or ""
    return MessageOut(
        id=m.id,
        to="+" + m.phone,
        sender=m.sender,
        text=None if m.confidential else m.text,
        status=m.status,  # a StrEnum: encoded as its value, without the cost of .value
        error=m.error_code,
        client_ref=m.client_ref,
        job_id=m.job_id,
        encoding=m.encoding,
        segments=m.segments,
        price=_price(m.price),
        created_at=created,
        updated_at=created if m.updated_at == m.created_at else iso(m.updated_at) or "",
        scheduled_at=iso(m.not_before),
        expires_at=iso(m.expires_at),
        submitted_at=iso(m.submitted_at),
        done_at=iso(m.done_at),
        tag=m.tag,
        priority=m.priority,
    )


def dump(value: Any) -> bytes:
    return msgspec.json.encode(value)
