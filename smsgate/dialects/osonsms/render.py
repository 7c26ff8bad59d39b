"""OsonSMS's answers built from stored messages: the send answer and the status."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ...core.models import Message
from . import statuses
from .schemas import FinalDate, SendOk, StatusOk
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


def status(message: Message, *, with_message_id: bool) -> StatusOk:
    """`query_sms.php`'s answer: the seed's status, with the provider's older fields."""
    word = statuses.word(message.status)
    final = None
    if message.done_at is not None:
        when = datetime.fromtimestamp(message.done_at, zone(PROVIDER_ZONE))
        final = FinalDate(
            date=when.strftime("%Y-%m-%d %H:%M:%S.%f"), timezone_type=1, timezone="+05:00"
        )
    return StatusOk(
        status=word,
        timestamp=timestamp(),
        message_id=str(message.seq) if with_message_id else msgspec.UNSET,
        final_date=final,
        message_state_code=statuses.STATE_CODES[word],
        error_code=0 if message.error_code is None else 1,
        message_state=word.title(),
    )
