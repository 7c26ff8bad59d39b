"""Turn one parsed recipient into a priced, segmented Message, or refuse it. Pure."""

from __future__ import annotations

import msgspec

from . import phone as phones
from .errors import ErrorCode, GatewayError
from .ids import new_id
from .models import Account, Message, Submission
from .segments import segment
from .status import Status
from .windows import check_schedule


class Limits(msgspec.Struct, kw_only=True):
    max_parts: int = 10
    max_recipients: int = 50_000
    max_schedule_ahead: float = 30 * 86400.0
    default_ttl: float = 86400.0
    max_ttl: float = 7 * 86400.0
    max_text_chars: int = 10_000


def build_message(
    account: Account,
    dialect: str,
    item: Submission,
    now: float,
    limits: Limits,
    *,
    trunk_8_to_7: bool = False,
    job_id: str | None = None,
) -> Message:
    e164 = phones.normalize(item.phone, trunk_8_to_7=trunk_8_to_7)
    text = item.text
    if not text or not text.strip():
        raise GatewayError(ErrorCode.EMPTY_TEXT, "message text is empty", field="text")
    if len(text) > limits.max_text_chars:
        raise GatewayError(ErrorCode.TEXT_TOO_LONG, "message text is too long", field="text")
    seg = segment(text)
    parts = len(seg.parts)
    if parts > limits.max_parts:
        raise GatewayError(
            ErrorCode.TEXT_TOO_LONG,
            f"text needs {parts} parts, at most {limits.max_parts} allowed",
            field="text",
        )
    sender = item.sender if item.sender is not None else account.settings.get("default_sender")
    if sender is not None and sender not in account.senders:
        raise GatewayError(
            ErrorCode.SENDER_NOT_ALLOWED, f"sender {sender!r} is not allowed", field="sender"
        )
    not_before = check_schedule(item.not_before, now, max_ahead=limits.max_schedule_ahead)
    due = not_before or now
    if item.expires_at is not None:
        expires_at = item.expires_at
    else:
        ttl = item.ttl if item.ttl is not None else limits.default_ttl
        if not 0 < ttl <= limits.max_ttl:
            raise GatewayError(ErrorCode.BAD_VALIDITY, "validity period out of range", field="ttl")
        expires_at = due + ttl
    if expires_at <= due:
        raise GatewayError(ErrorCode.BAD_VALIDITY, "message expires before it is due", field="ttl")
    if item.window is not None:
        not_before = item.window.next_open(due) if not item.window.contains(due) else not_before
    return Message(
        id=new_id(),
        account_id=account.id,
        dialect=dialect,
        client_ref=item.client_ref,
        job_id=job_id,
        sender=sender,
        phone=e164,
        text=text,
        encoding=seg.encoding,
        segments=parts,
        priority=item.priority,
        not_before=not_before,
        expires_at=expires_at,
        window=item.window,
        flash=item.flash,
        tag=item.tag,
        callback_url=item.callback_url,
        status=Status.SCHEDULED if not_before else Status.QUEUED,
        price=parts * account.price,
        created_at=now,
        updated_at=now,
        confidential=item.confidential,
        meta=item.meta,
    )
