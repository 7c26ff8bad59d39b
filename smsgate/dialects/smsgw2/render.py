"""SMSGW2's bodies built from stored messages and incoming SMS: the message object, the
delivery report and the incoming report."""

from __future__ import annotations

from typing import Any

from ...core.models import Account, Message, MoMessage, StatusEvent
from ...core.segments import segment
from ...core.status import Status
from .errors import CODES, KEPT, TEXTS, code_of
from .operators import rn_code
from .schemas import DeliveryReport, IncomingReport, MessageOut, Segment
from .settings import DEFAULT_TIME_BOUNDS
from .statuses import word
from .times import format_time

MAX_MO_TEXT = 1500


def error_fields(
    error_code: str | None, carrier_error: str | None = None
) -> tuple[str | None, str | None]:
    code = code_of(error_code, carrier_error)
    if code is None:
        return None, None
    return str(code), TEXTS.get(error_code or "") or CODES.get(code, CODES[255])


def kept(m: Message) -> dict[str, Any]:
    """What a batch message refused by SMSGW2's own rules was reported with and gave (else {})."""
    found = (m.meta or {}).get(KEPT)
    return found if isinstance(found, dict) else {}


def reported_error(
    m: Message, error_code: str | None, carrier_error: str | None = None
) -> tuple[str | None, str | None]:
    """A message's error as SMSGW2 reports it: a kept refusal's own code and text, else the
    stored error's."""
    own = kept(m)
    if "code" in own:
        return str(own["code"]), str(own.get("text", ""))
    return error_fields(error_code, carrier_error)


def _meta(m: Message, key: str) -> str | None:
    value = (m.meta or {}).get(key)
    return str(value) if value is not None else None


def schedule_state(m: Message) -> str | None:
    if _meta(m, "schedule") is None:
        return None
    waiting = m.status in (Status.ACCEPTED, Status.SCHEDULED, Status.CANCELLED)
    return "N" if waiting and m.submitted_at is None else "P"


def message_out(
    m: Message,
    account: Account,
    *,
    batch_id: int | None,
    informed: bool,
    segments: bool = False,
) -> MessageOut:
    tz = account.timezone
    error_code, error_message = reported_error(m, m.error_code)
    sent = m.segments if m.submitted_at is not None else 0
    given = kept(m)
    out = MessageOut(
        client_message_id=m.client_ref or given.get("client_message_id"),
        message_id=m.seq,
        batch_id=batch_id,
        sender=m.sender or given.get("sender"),
        recipient=m.phone,
        message_text=m.text or given.get("message_text", ""),
        priority=m.priority,
        expire_date=format_time(m.expires_at, tz),
        time_bounds=_meta(m, "tb") or DEFAULT_TIME_BOUNDS,
        flash=m.flash,
        schedule=_meta(m, "schedule"),
        message_status=word(m.status, m.error_code),
        error_code=error_code,
        error_message=error_message,
        segment_count=m.segments,
        sent_count=sent,
        delivery_count=m.segments if m.status is Status.DELIVERED else 0,
        is_informed="Y" if informed and m.status.is_final else None,
        init_time=format_time(m.created_at, tz),
        sent_time=format_time(m.submitted_at, tz),
        sent_confirm_time=format_time(m.submitted_at, tz),
        status_time=format_time(m.updated_at, tz),
        schedule_state=schedule_state(m),
        retry_count=0,
        rn_code=rn_code(m.phone),
    )
    if segments:
        out.segments = [
            Segment(
                smcsc_id=_segment_id(m.carrier_id, n, m.segments),
                status=out.message_status,
                status_time=out.status_time,
                error_code=error_code,
                error_message=error_message,
            )
            for n in range(1, m.segments + 1)
        ]
    return out


def _segment_id(carrier_id: str | None, n: int, total: int) -> str | None:
    if carrier_id is None:
        return None
    return carrier_id if total == 1 else f"{carrier_id}-{n}"


def delivery_report(event: StatusEvent, m: Message, account: Account) -> DeliveryReport:
    tz = account.timezone
    error_code, error_message = reported_error(m, event.error_code, event.carrier_error)
    return DeliveryReport(
        client_message_id=m.client_ref or kept(m).get("client_message_id"),
        message_id=m.seq,
        status=word(event.status, event.error_code),
        error_code=error_code,
        error_message=error_message,
        segment_count=m.segments,
        init_time=format_time(m.created_at, tz),
        sent_time=format_time(m.submitted_at, tz),
        sent_confirm_time=format_time(m.submitted_at, tz),
        status_time=format_time(event.at, tz),
        rn_code=rn_code(m.phone),
        retry_count=0,
    )


def incoming_report(mo: MoMessage, account: Account) -> IncomingReport:
    text = mo.text[:MAX_MO_TEXT]
    return IncomingReport(
        message_id=mo.seq,
        sender=mo.phone,
        recipient=mo.to,
        text=text,
        segment_count=segment(text).count if text else 1,
        receive_time=format_time(mo.received_at, account.timezone),
        rn_code=rn_code(mo.phone),
    )
