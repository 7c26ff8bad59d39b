"""OsonSMS's answers built from stored messages: the send answer and the legacy status."""

from __future__ import annotations

from datetime import datetime

from ...core.models import Message
from . import statuses
from .schemas import FinalDate, LegacyStatusOk, SendOk
from .times import PROVIDER_ZONE, timestamp, zone


def sent(message: Message, txn_id: str) -> SendOk:
    return SendOk(
        status="ok",
        timestamp=timestamp(),
        txn_id=txn_id,
        msg_id=message.seq,
        smsc_msg_id=f"{message.seq:08x}",
        smsc_msg_status="success",
        smsc_msg_parts=message.segments,
    )


def legacy_status(message: Message, word: str) -> LegacyStatusOk:
    """The seed's status with the provider's older fields (opt-in per account)."""
    final = None
    if message.done_at is not None:
        when = datetime.fromtimestamp(message.done_at, zone(PROVIDER_ZONE))
        final = FinalDate(
            date=when.strftime("%Y-%m-%d %H:%M:%S.%f"), timezone_type=1, timezone="+05:00"
        )
    return LegacyStatusOk(
        status=word,
        timestamp=timestamp(),
        message_id=str(message.seq),
        final_date=final,
        message_state_code=statuses.STATE_CODES[word],
        error_code=0 if message.error_code is None else 1,
        message_state=word.title(),
    )
