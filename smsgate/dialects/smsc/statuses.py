"""The canonical status model in SMSC.ru's numbers: one table for statuses, one for `err`.

SMSC.ru statuses: -3 not found, -1 waiting to be sent, 0 handed to the operator, 1 delivered,
2 read, 3 expired, 20 impossible to deliver, 22 invalid number, 23 prohibited,
24 insufficient funds, 25 unavailable number.
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.models import Message
from ...core.status import Status

NOT_FOUND = -3

STATUS: dict[Status, int] = {
    Status.ACCEPTED: -1,
    Status.SCHEDULED: -1,
    Status.QUEUED: -1,
    Status.SUBMITTED: 0,
    Status.UNKNOWN: 0,
    Status.DELIVERED: 1,
    Status.EXPIRED: 3,
    Status.UNDELIVERED: 20,
    Status.CANCELLED: 20,
    Status.REJECTED: 23,
}

# A failed message's canonical error can name a more precise SMSC.ru status.
STATUS_BY_ERROR: dict[str, int] = {
    ErrorCode.INVALID_PHONE: 22,
    ErrorCode.UNKNOWN_SUBSCRIBER: 22,
    ErrorCode.INSUFFICIENT_BALANCE: 24,
    ErrorCode.BLOCKED_SUBSCRIBER: 25,
    ErrorCode.STOP_LISTED: 23,
    ErrorCode.SENDER_NOT_ALLOWED: 23,
}

# Canonical error -> SMSC.ru delivery error code (`err`, sent only when not zero).
ERR: dict[str, int] = {
    ErrorCode.UNKNOWN_SUBSCRIBER: 1,
    ErrorCode.ABSENT_SUBSCRIBER: 6,
    ErrorCode.MEMORY_FULL: 6,
    ErrorCode.BLOCKED_SUBSCRIBER: 13,
    ErrorCode.NETWORK_ERROR: 248,
    ErrorCode.INVALID_PHONE: 249,
    ErrorCode.STOP_LISTED: 252,
    ErrorCode.SENDER_NOT_ALLOWED: 254,
    ErrorCode.CARRIER_REJECTED: 255,
    ErrorCode.SYSTEM_ERROR: 255,
}

NAMES: dict[int, str] = {
    -3: "Сообщение не найдено",
    -1: "Ожидает отправки",
    0: "Передано оператору",
    1: "Доставлено",
    2: "Прочитано",
    3: "Просрочено",
    20: "Невозможно доставить",
    22: "Неверный номер",
    23: "Запрещено",
    24: "Недостаточно средств",
    25: "Недоступный номер",
}


def smsc_status(status: Status, error: str | None) -> tuple[int, int]:
    """(SMSC.ru status, err) for a canonical status and error code."""
    code = STATUS[status]
    if status.is_final and status is not Status.DELIVERED and error:
        code = STATUS_BY_ERROR.get(error, code)
    err = ERR.get(error, 0) if error and status is not Status.DELIVERED else 0
    return code, err


def of_message(message: Message) -> tuple[int, int]:
    return smsc_status(message.status, message.error_code)
