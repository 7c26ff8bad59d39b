"""Canonical status -> MsgHub `status` / `substatus` / `msghub_status` / `status_text`.

`status`: 1 being delivered, 2 delivered, 3 processing or delivery error.
`substatus`: 10 not (yet) accepted for processing, 12 accepted for processing, 23 delivered,
24/28/35 not delivered within TTL, 36 delivery error. `msghub_status` is the substatus times
1000 plus a detail number (the seed's 23011 "SMS delivered", 35015 "SMS expired").
"""

from __future__ import annotations

from typing import NamedTuple

from ...core.models import Message
from ...core.status import Status
from .errors import DELIVERY_ERROR, code_of


class DrStatus(NamedTuple):
    status: int
    substatus: int
    msghub_status: int
    text: str

    @property
    def failed(self) -> bool:
        return self.status == 3


# One row per canonical status; None: the number comes from the message's error code.
TABLE: dict[Status, DrStatus | None] = {
    Status.ACCEPTED: DrStatus(1, 10, 10001, "Message is waiting for processing"),
    Status.QUEUED: DrStatus(1, 10, 10001, "Message is waiting for processing"),
    Status.SCHEDULED: DrStatus(1, 10, 10002, "Message is scheduled"),
    Status.SUBMITTED: DrStatus(1, 12, 12001, "Message is accepted for processing"),
    Status.UNKNOWN: DrStatus(1, 12, 12002, "Delivery status unknown"),
    Status.DELIVERED: DrStatus(2, 23, 23011, "SMS delivered"),
    Status.EXPIRED: DrStatus(3, 35, 35015, "SMS expired"),
    Status.CANCELLED: DrStatus(3, 36, 36030, "Message cancelled"),
    Status.UNDELIVERED: None,
    Status.REJECTED: None,
}
EXPIRED_UNSENT = DrStatus(3, 24, 24015, "SMS expired before sending")
FAILURE_SUBSTATUSES = frozenset({24, 28, 35, 36})


def dr_status(status: Status, error_code: str | None, sent: bool) -> DrStatus:
    """The MsgHub numbers for a status; `sent`: the message reached the SMS channel."""
    if status is Status.EXPIRED and not sent:
        return EXPIRED_UNSENT
    row = TABLE[status]
    if row is not None:
        return row
    code, text = code_of(error_code)
    if code // 1000 not in FAILURE_SUBSTATUSES:  # a request-level code never names a status
        code, text = DELIVERY_ERROR
    return DrStatus(3, code // 1000, code, text)


def of_message(message: Message) -> DrStatus:
    return dr_status(message.status, message.error_code, message.submitted_at is not None)


def channel_of(message: Message) -> str:
    """`sent_via` / `last_partner`: "sms" once the SMS channel had it, else "msghub"."""
    return "sms" if message.submitted_at is not None else "msghub"
