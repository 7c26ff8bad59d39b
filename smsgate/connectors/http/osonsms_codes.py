"""OsonSMS's error codes and message statuses in canonical terms: one table each.

From the provider's protocol v1.5 (`seeds/osonsms.txt`); rows past the seed's tables are marked.
A fault of our account at the provider (blocked login, wrong hash salt, an address outside its
allow-list, an empty balance) is UNAVAILABLE: the provider certainly did not take the message and
another route may (the router fails over). A fault of the message itself is final.
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

DUPLICATE_TXN = 108  # the txn_id is taken: the provider already has this message

ERRORS: dict[int, ErrorCode] = {
    100: ErrorCode.MISSING_FIELD,  # a mandatory variable not set
    105: ErrorCode.UNAVAILABLE,  # inactive or non-existent account (ours at the provider)
    106: ErrorCode.UNAVAILABLE,  # incorrect hash: our pass_salt_hash is wrong
    107: ErrorCode.SENDER_NOT_ALLOWED,  # incorrect sender
    109: ErrorCode.SYSTEM_ERROR,  # unable to store message (HTTP 500)
    112: ErrorCode.SYSTEM_ERROR,  # error while sending sms
    113: ErrorCode.UNAVAILABLE,  # unable to connect to smsc host (HTTP 599)
    114: ErrorCode.UNAVAILABLE,  # host is not in whitelist
    119: ErrorCode.UNAVAILABLE,  # balance overdraft limit reached (our balance there)
    # Not in the seed: the codes smsgate's own osonsms dialect adds (a chain of two gateways).
    101: ErrorCode.INVALID_FIELD,  # incorrect value of a variable
    110: ErrorCode.INVALID_PHONE,
    111: ErrorCode.EMPTY_TEXT,
    115: ErrorCode.UNSUPPORTED_CHANNEL,
    116: ErrorCode.STOP_LISTED,
    117: ErrorCode.THROTTLED,
    120: ErrorCode.BODY_TOO_LARGE,
}

# status -> canonical status and, for a failure, its error
STATUSES: dict[str, tuple[Status, ErrorCode | None]] = {
    "ENROUTE": (Status.SUBMITTED, None),  # routed, waiting to be sent
    "ACCEPTED": (Status.SUBMITTED, None),  # sent, no receipt from the operator yet
    "DELIVERED": (Status.DELIVERED, None),
    "EXPIRED": (Status.EXPIRED, ErrorCode.EXPIRED),
    "DELETED": (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),  # cancelled at the provider
    "UNDELIVERABLE": (Status.UNDELIVERED, ErrorCode.UNKNOWN_SUBSCRIBER),
    "UNKNOWN": (Status.UNKNOWN, None),
    "REJECTED": (Status.REJECTED, ErrorCode.CARRIER_REJECTED),
}


def error_code(code: int | None, http_status: int) -> ErrorCode:
    """The canonical refusal for an error answer: by its code, else by its HTTP status."""
    if code is not None and code in ERRORS:
        return ERRORS[code]
    if http_status == 429:
        return ErrorCode.THROTTLED
    if http_status >= 500:
        return ErrorCode.SYSTEM_ERROR
    return ErrorCode.CARRIER_REJECTED


def status_of(word: str) -> tuple[Status, ErrorCode | None] | None:
    """The canonical status of a `query_sms.php` status word; None for a word the seed lacks."""
    return STATUSES.get(word.strip().upper())
