"""The native API's bodies built from stored messages, and the encoder of every answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import msgspec

from ...core.errors import GatewayError
from ...core.models import Message, StatusEvent
from ...core.money import format_amount
from ...store import rules
from ...store.base import AllNew, CallbackState, Outcome
from .schemas import BulkError, BulkResponse, CallbackOut, EventOut, EventsOut, MessageOut


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
    updated = created if m.updated_at == m.created_at else iso(m.updated_at) or ""
    # By position, in the order of MessageOut's fields: 19 keywords would make CPython build a
    # dict of them first (a call of more than 15), a microsecond of a single send's answer.
    return MessageOut(
        m.id,
        "+" + m.phone,  # to
        m.sender,
        None if m.confidential else m.text,
        m.status,  # a StrEnum: encoded as its value, without the cost of .value
        m.error_code,
        m.client_ref,
        m.job_id,
        m.encoding,
        m.segments,
        _price(m.price),
        created,
        updated,
        iso(m.not_before),  # scheduled_at
        iso(m.expires_at),
        iso(m.submitted_at),
        updated if m.done_at == m.updated_at else iso(m.done_at),  # done_at (a final update)
        m.tag,
        m.priority,
    )


def message_detail(
    m: Message, events: Sequence[StatusEvent], callbacks: Sequence[CallbackState]
) -> MessageOut:
    """One message as GET /api/v1/messages/{id} answers it: with the carrier's latest raw code
    and the error of its latest failed callback attempt."""
    carrier = next((e.carrier_error for e in reversed(events) if e.carrier_error), None)
    failed = next((c.last_error for c in reversed(callbacks) if c.last_error), None)
    return msgspec.structs.replace(message_out(m), carrier_error=carrier, callback_error=failed)


def events_out(events: Sequence[StatusEvent], callbacks: Sequence[CallbackState]) -> EventsOut:
    """A message's history: each event with the carrier's raw code and its callbacks."""
    owed: dict[str, list[CallbackOut]] = {}
    for c in callbacks:
        owed.setdefault(c.event_id, []).append(
            CallbackOut(
                dialect=c.dialect, state=c.state, attempts=c.attempts, last_error=c.last_error
            )
        )
    return EventsOut(
        events=[
            EventOut(
                id=f"ev-{e.seq}",
                status=e.status.value,
                error=e.error_code,
                carrier_error=e.carrier_error,
                at=iso(e.at),
                callbacks=owed.get(f"ev-{e.seq}", []),
            )
            for e in events
        ]
    )


def bulk_response(job_id: str | None, outcomes: Sequence[Outcome]) -> BulkResponse:
    """What became of each recipient of a bulk that was not refused as a whole."""
    if type(outcomes) is AllNew:  # every one stored: counted without a loop (4 of them, ~10 ms)
        ids: list[str | None] = [o.message.id for o in outcomes]  # type: ignore[union-attr]
        return BulkResponse(
            job_id=job_id, accepted=len(ids), duplicates=0, rejected=[], message_ids=ids
        )
    return BulkResponse(
        job_id=job_id,
        accepted=sum(1 for o in outcomes if o.kind == "new"),
        duplicates=sum(1 for o in outcomes if o.kind == "duplicate"),
        rejected=rejected_of(outcomes),
        message_ids=[o.message.id if o.message else None for o in outcomes],
    )


def rejected_of(outcomes: Sequence[Outcome]) -> list[BulkError]:
    """A bulk's refused recipients, by index, each with its code."""
    return [
        BulkError(i, o.error.code.value, o.error.detail)
        for i, o in enumerate(outcomes)
        if o.kind == "error" and o.error is not None
    ]


def refused_bulk(error: GatewayError, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """A bulk refused as a whole: its one error, and only the recipients refused for reasons
    of their own (what the client must fix beside it), not those the request-wide rule
    refused."""
    own = [
        e
        for e in rejected_of(outcomes)
        if not rules.request_wide(outcomes[e.index].error)  # type: ignore[arg-type]
    ]
    return {"error": {"code": error.code.value, "message": error.detail}, "rejected": own}


def dump(value: Any) -> bytes:
    return msgspec.json.encode(value)
