"""Canonical status -> SMSGW2 `status` / `message_status` word (one table, tested)."""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

STATUS: dict[Status, str] = {
    Status.ACCEPTED: "NEW",
    Status.SCHEDULED: "NEW",
    Status.QUEUED: "NEW",
    Status.SUBMITTED: "SENT",
    Status.UNKNOWN: "EN_ROUTE",  # the carrier does not know yet; a final word may follow
    Status.DELIVERED: "DELIVERED",
    Status.UNDELIVERED: "UNDELIVERABLE",
    Status.EXPIRED: "EXPIRED",
    Status.REJECTED: "REJECTED",
    Status.CANCELLED: "DELETED",
}

# Words the seed lists that smsgate never produces: ACCEPTED (read by an operator's help
# desk) and INVALID (an SMSC-internal fault). FAILED is the SMSC's own fault:
SYSTEM_FAILURES = frozenset({ErrorCode.SYSTEM_ERROR.value})
# REJECTED is the operator refusing a message; one refused before it left smsgate (a bad
# recipient in a batch, as in the seed's UNDELIVERABLE/11 example) is UNDELIVERABLE.
OPERATOR_REFUSALS = frozenset({ErrorCode.CARRIER_REJECTED.value, ErrorCode.THROTTLED.value})


def word(status: Status, error_code: str | None = None) -> str:
    if status is Status.UNDELIVERED and error_code in SYSTEM_FAILURES:
        return "FAILED"
    if status is Status.REJECTED and error_code and error_code not in OPERATOR_REFUSALS:
        return "UNDELIVERABLE"
    return STATUS[status]
