"""MsgHub's bodies built from stored messages: sync results, campaign report, DR pull, DR push."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.models import Message, StatusEvent
from ...core.status import FINAL, Status
from .schemas import (
    AdvancedDr,
    AdvancedEntry,
    ChannelTtl,
    JobItem,
    PushReport,
    SimpleDr,
    SyncItem,
)
from .statuses import channel_of, dr_status, of_message

# A recipient refused at acceptance is kept as a rejected message of its campaign; its refusal,
# as answered (phone_number and extra_id as given, error_code, error_text), is in its meta.
REFUSED = "refused"
NOT_FINAL = -1  # "does not yet have the final delivery status, the message status is -1"
_NOT_STARTED = frozenset({Status.ACCEPTED, Status.SCHEDULED})


def ms(ts: float) -> int:
    return round(ts * 1000)


def processed(message: Message) -> bool:
    """True while the platform works on the message: taken in, not finished, not waiting."""
    return message.status not in FINAL and message.status not in _NOT_STARTED


def sync_item(message: Message) -> SyncItem:
    return SyncItem(
        processed=processed(message),
        phone_number=message.phone,
        message_id=message.id,
        extra_id=message.client_ref,
        accepted=True,
    )


def refused_item(phone: str, extra_id: str | None, code: int, text: str) -> SyncItem:
    return SyncItem(
        processed=False,
        phone_number=phone,
        extra_id=extra_id,
        accepted=False,
        error_code=code,
        error_text=text,
    )


def job_item(message: Message) -> JobItem:
    st = of_message(message)
    item = JobItem(
        time=ms(message.updated_at),
        phone_number=message.phone,
        message_id=message.id,
        extra_id=message.client_ref,
        processed=processed(message),
        accepted=True,
        total_sms_parts=message.segments,
    )
    item.msg_status = st.msghub_status  # for a failed one, the error code
    if st.failed:
        item.error_text, item.error_code = st.text, st.msghub_status
    else:
        if message.status is Status.DELIVERED:
            item.delivered_sms_parts = message.segments
        item.status_text, item.status = st.text, st.status
        item.substatus, item.msghub_status = st.substatus, st.msghub_status
    return item


def refused_job_item(at: float, phone: str, extra_id: str | None, code: int, text: str) -> JobItem:
    return JobItem(
        time=ms(at),
        phone_number=phone,
        extra_id=extra_id,
        processed=False,
        accepted=False,
        msg_status=code,
        error_text=text,
        error_code=code,
    )


def kept_refusal(message: Message) -> list[Any] | None:
    """A recipient refused at acceptance: its refusal as answered (see REFUSED); else None."""
    return message.meta.get(REFUSED) if message.meta else None


def simple_dr(message: Message) -> SimpleDr:
    """Status -1 until final; `msg_status` is always there (clients die without it or an
    `error_code`): until final it carries the detail of the status so far."""
    st = of_message(message)
    report = SimpleDr(
        phone_number=message.phone,
        last_partner=channel_of(message),
        message_id=message.id,
        extra_id=message.client_ref,
        time=ms(message.updated_at),
        status=NOT_FINAL,
        msg_status=st.msghub_status,
    )
    if message.status in FINAL:
        report.status, report.substatus, report.msghub_status = (
            st.status,
            st.substatus,
            st.msghub_status,
        )
        if message.status is Status.DELIVERED:
            report.total_sms_parts = report.delivered_sms_parts = message.segments
    return report


def ttl_of(message: Message) -> int:
    if message.meta and isinstance(message.meta.get("ttl"), int):
        return int(message.meta["ttl"])
    due = message.not_before or message.created_at
    return round((message.expires_at or due) - due)


def advanced_dr(message: Message, events: Sequence[StatusEvent]) -> AdvancedDr:
    sent = message.submitted_at is not None
    entries = []
    for event in events:
        if event.status not in FINAL:
            continue
        st = dr_status(event.status, event.error_code, sent)
        entry = AdvancedEntry(
            phone_number=message.phone,
            message_id=message.id,
            extra_id=message.client_ref,
            time=ms(event.at),
            last_partner=channel_of(message),
            status=st.status,
            substatus=st.substatus,
            msghub_status=st.msghub_status,
            msg_status=st.msghub_status,
        )
        if event.status is Status.DELIVERED:
            entry.total_sms_parts = entry.delivered_sms_parts = message.segments
        entries.append(entry)
    if not entries:
        entries.append(
            AdvancedEntry(
                phone_number=message.phone,
                message_id=message.id,
                extra_id=message.client_ref,
                time=ms(message.updated_at),
                last_partner=channel_of(message),
                status=NOT_FINAL,
                msg_status=of_message(message).msghub_status,
            )
        )
    final = message.status in FINAL
    started = sent or message.status not in (*_NOT_STARTED, Status.CANCELLED)
    return AdvancedDr(
        reports=entries,
        started=started,
        processing=started and not final,
        delivered_via="sms" if final and sent else "msghub",
        channels=[ChannelTtl("sms", ttl_of(message))],
    )


def push_report(message: Message, event: StatusEvent, *, batched: bool) -> PushReport:
    st = dr_status(event.status, event.error_code, message.submitted_at is not None)
    return PushReport(
        number=message.phone if batched else int(message.phone),
        time=ms(event.at),
        status=st.status,
        substatus=st.substatus,
        msghub_status=st.msghub_status,
        msg_status=st.msghub_status,
        message_id=message.id,
        extra_id=message.client_ref,
        sent_via=channel_of(message),
    )
