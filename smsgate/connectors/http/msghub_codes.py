"""MsgHub JSONv2's codes in canonical terms: one table for error codes, one for statuses.

From the seed (`seeds/msghub-jsonv2.txt`): `status` (1 being delivered, 2 delivered, 3 error;
-1 no final status yet), `substatus` (10 not accepted, 12 accepted, 23 delivered, 24/28/35
not delivered within TTL, 36 delivery error) and the "full_status" numbers of `error_code` and
`msghub_status`, the substatus times 1000 plus a detail: the seed names 36024 "Phone number
incorrect", 35015 "SMS expired", 23011 and 23033 (delivered). The platform's operator configures
the rest, so a number not in the table is read by its substatus (`code // 1000`).
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

# error_code / msghub_status -> canonical error. The seed's rows first.
ERRORS: dict[int, ErrorCode] = {
    36024: ErrorCode.INVALID_PHONE,  # "Phone number incorrect"
    35015: ErrorCode.EXPIRED,  # "SMS expired"
    # Not in the seed: the numbers smsgate's own msghub dialect answers (a chain of two
    # gateways; docs/dialects/msghub.md). A refusal of our account there is UNAVAILABLE: the
    # message was not taken and another route may take it.
    10001: ErrorCode.UNAVAILABLE,  # authorization failed
    10002: ErrorCode.UNAVAILABLE,  # access denied for client_id
    10003: ErrorCode.UNAVAILABLE,  # access denied for IP address
    10004: ErrorCode.MALFORMED_BODY,
    10005: ErrorCode.MISSING_FIELD,
    10006: ErrorCode.INVALID_FIELD,
    10007: ErrorCode.BODY_TOO_LARGE,
    10008: ErrorCode.TOO_MANY_RECIPIENTS,
    10009: ErrorCode.UNSUPPORTED_CHANNEL,
    10010: ErrorCode.NOT_FOUND,
    10011: ErrorCode.UNAVAILABLE,
    10012: ErrorCode.THROTTLED,
    10013: ErrorCode.BAD_REQUEST,
    10014: ErrorCode.DUPLICATE,  # the extra_id is taken: the platform has the message
    10015: ErrorCode.BAD_SCHEDULE,
    10016: ErrorCode.BAD_VALIDITY,
    10017: ErrorCode.NOT_CANCELLABLE,
    36000: ErrorCode.CARRIER_REJECTED,  # delivery error, no detail
    36001: ErrorCode.ABSENT_SUBSCRIBER,
    36002: ErrorCode.UNKNOWN_SUBSCRIBER,
    36003: ErrorCode.BLOCKED_SUBSCRIBER,
    36004: ErrorCode.MEMORY_FULL,
    36005: ErrorCode.NETWORK_ERROR,
    36006: ErrorCode.CARRIER_REJECTED,
    36007: ErrorCode.SYSTEM_ERROR,
    36025: ErrorCode.EMPTY_TEXT,
    36026: ErrorCode.TEXT_TOO_LONG,
    36027: ErrorCode.SENDER_NOT_ALLOWED,
    36028: ErrorCode.STOP_LISTED,
    36029: ErrorCode.INSUFFICIENT_BALANCE,
    36030: ErrorCode.CARRIER_REJECTED,  # cancelled on the platform
}

# substatus -> (canonical status, error where it is a failure)
SUBSTATUSES: dict[int, tuple[Status, ErrorCode | None]] = {
    10: (Status.REJECTED, ErrorCode.CARRIER_REJECTED),  # not accepted for processing
    12: (Status.SUBMITTED, None),  # accepted for processing
    23: (Status.DELIVERED, None),
    24: (Status.EXPIRED, ErrorCode.EXPIRED),  # not delivered within TTL
    28: (Status.EXPIRED, ErrorCode.EXPIRED),
    35: (Status.EXPIRED, ErrorCode.EXPIRED),
    36: (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),  # delivery error
}

# status -> canonical status where the substatus does not say (1: on its way; 2: delivered)
STATUSES: dict[int, Status] = {
    -1: Status.SUBMITTED,  # no channel has it yet, or no final status
    1: Status.SUBMITTED,
    2: Status.DELIVERED,
    3: Status.UNDELIVERED,
}


def error_of(code: int) -> ErrorCode:
    """The canonical error for an `error_code` or failed `msghub_status`."""
    found = ERRORS.get(code)
    if found is not None:
        return found
    family = SUBSTATUSES.get(code // 1000)
    if family is not None and family[1] is not None:
        return family[1]
    return ErrorCode.CARRIER_REJECTED


def status_of(
    status: int | None, substatus: int | None, msghub_status: int | None
) -> tuple[Status, ErrorCode | None]:
    """A DR's (status, substatus, msghub_status) in canonical terms."""
    by_sub = SUBSTATUSES.get(substatus) if substatus is not None else None
    found = by_sub[0] if by_sub else STATUSES.get(status or -1, Status.SUBMITTED)
    if not found.is_final or found is Status.DELIVERED:
        return found, None
    if msghub_status and msghub_status // 1000 != 23:
        return found, error_of(msghub_status)
    return found, (by_sub[1] if by_sub else ErrorCode.CARRIER_REJECTED)
