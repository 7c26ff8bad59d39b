"""SMSC.ru's send errors, message statuses and delivery errors in canonical terms.

The seed (`seeds/smsc-callbacks.txt`) carries the status push and names the send, status and
balance calls and the error list without reproducing them; the tables are SMSC.ru's public API
pages for those, the same ones smsgate's smsc dialect serves. A fault of our account at SMSC.ru
(credentials, money, a blocked address) is UNAVAILABLE: SMSC.ru certainly did not take the
message and another route may. A fault of the message itself is final.
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

DUPLICATE = 9  # the same request (our id, the same phone) again: SMSC.ru already has it
NOT_FOUND = -3  # status.php: no message with this id and phone

# send.php `error_code` -> canonical refusal (DUPLICATE is not a refusal: see submit)
ERRORS: dict[int, ErrorCode] = {
    1: ErrorCode.INVALID_FIELD,  # parameters error
    2: ErrorCode.UNAVAILABLE,  # authorise error: our login or password there
    3: ErrorCode.UNAVAILABLE,  # no money on our account there
    4: ErrorCode.UNAVAILABLE,  # our address is (temporarily) blocked
    5: ErrorCode.BAD_SCHEDULE,  # invalid date format
    6: ErrorCode.CARRIER_REJECTED,  # message is denied (by its text or sender name)
    7: ErrorCode.INVALID_PHONE,  # invalid number
    8: ErrorCode.CARRIER_REJECTED,  # can't deliver to this number
    9: ErrorCode.THROTTLED,  # duplicate request, wait a minute (when it is not ours again)
}

# status.php / push `status` -> canonical status; None: not a status to report (-3)
STATUSES: dict[int, Status] = {
    -2: Status.UNDELIVERED,  # stopped (by us or the operator of the account)
    -1: Status.SUBMITTED,  # waiting to be sent
    0: Status.SUBMITTED,  # handed to the operator
    1: Status.DELIVERED,
    2: Status.DELIVERED,  # read
    3: Status.EXPIRED,
    4: Status.DELIVERED,  # a link in it was opened
    20: Status.UNDELIVERED,  # impossible to deliver
    22: Status.UNDELIVERED,  # invalid number
    23: Status.REJECTED,  # prohibited
    24: Status.REJECTED,  # insufficient funds
    25: Status.UNDELIVERED,  # unavailable number
}

# The error a failed status names when `err` does not say more.
STATUS_ERRORS: dict[int, ErrorCode] = {
    -2: ErrorCode.CARRIER_REJECTED,
    3: ErrorCode.EXPIRED,
    20: ErrorCode.CARRIER_REJECTED,
    22: ErrorCode.INVALID_PHONE,
    23: ErrorCode.CARRIER_REJECTED,
    24: ErrorCode.UNAVAILABLE,  # our money at SMSC.ru ran out: another route may have some
    25: ErrorCode.BLOCKED_SUBSCRIBER,
}

# `err` (the delivery error, sent when not 0) -> canonical error
DELIVERY_ERRORS: dict[int, ErrorCode] = {
    1: ErrorCode.UNKNOWN_SUBSCRIBER,  # subscriber does not exist
    6: ErrorCode.ABSENT_SUBSCRIBER,  # subscriber not in the network
    11: ErrorCode.CARRIER_REJECTED,  # no SMS service
    12: ErrorCode.CARRIER_REJECTED,  # error in the subscriber's phone
    13: ErrorCode.BLOCKED_SUBSCRIBER,  # subscriber blocked
    21: ErrorCode.CARRIER_REJECTED,  # service not supported
    200: ErrorCode.CARRIER_REJECTED,  # virtual send (test mode): nothing reached the phone
    220: ErrorCode.NETWORK_ERROR,  # the operator's queue is full
    240: ErrorCode.ABSENT_SUBSCRIBER,  # subscriber busy
    243: ErrorCode.CARRIER_REJECTED,  # no contract
    244: ErrorCode.CARRIER_REJECTED,  # mailings prohibited
    245: ErrorCode.SYSTEM_ERROR,  # status not received
    246: ErrorCode.EXPIRED,  # time limit
    247: ErrorCode.THROTTLED,  # message limit exceeded
    248: ErrorCode.NETWORK_ERROR,  # no route
    249: ErrorCode.INVALID_PHONE,  # invalid number format
    250: ErrorCode.STOP_LISTED,  # number prohibited by the settings
    251: ErrorCode.THROTTLED,  # limit for one number exceeded
    252: ErrorCode.STOP_LISTED,  # number prohibited
    253: ErrorCode.CARRIER_REJECTED,  # prohibited by the spam filter
    254: ErrorCode.SENDER_NOT_ALLOWED,  # sender id not registered
    255: ErrorCode.CARRIER_REJECTED,  # rejected by the operator
}


def error_code(code: int | None) -> ErrorCode:
    """The canonical refusal for a send.php error answer (an unlisted code is final)."""
    return (
        ERRORS.get(code, ErrorCode.CARRIER_REJECTED) if code is not None else ErrorCode.BAD_REQUEST
    )


def status_of(status: int, err: int = 0) -> tuple[Status, ErrorCode | None] | None:
    """The canonical status and error of an SMSC.ru status and `err`; None for -3 (not found)
    and for a number the table lacks."""
    canonical = STATUSES.get(status)
    if canonical is None:
        return None
    if not canonical.is_final or canonical is Status.DELIVERED:
        return canonical, None
    if err and err in DELIVERY_ERRORS:
        return canonical, DELIVERY_ERRORS[err]
    return canonical, STATUS_ERRORS.get(status, ErrorCode.CARRIER_REJECTED)
