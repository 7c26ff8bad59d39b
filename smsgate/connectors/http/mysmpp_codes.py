"""Webcom Mobi's (mysmpp) error texts and states in canonical terms: one table each.

The send errors are the seed's lists (`seeds/webcom-mysmpp-json.txt`: texts for HTTP 200, the
whole request; texts for 400, one phone), matched without regard to case or surrounding space.
The states are the provider's status page's (`send`, `deliver`, `not_deliver`, `expired`,
`partly_deliver`, `read`). A fault of our account at the provider (login, money, a blocked
account, a destination closed to it) is UNAVAILABLE: it certainly did not take the message and
another route may. A fault of the message itself is final.
"""

from __future__ import annotations

from ...core.errors import ErrorCode
from ...core.status import Status

ERRORS: dict[str, ErrorCode] = {
    # whole request (HTTP 200)
    "incorrect json document format": ErrorCode.MALFORMED_BODY,
    "your account is locked": ErrorCode.UNAVAILABLE,
    "incorrect login or password": ErrorCode.UNAVAILABLE,
    "your account is locked incorrect login or password": ErrorCode.UNAVAILABLE,
    "post data is missing": ErrorCode.MALFORMED_BODY,
    # one phone (HTTP 400)
    "we have run out of sms. contact your manager to resolve the problem": ErrorCode.UNAVAILABLE,
    "out of sms": ErrorCode.UNAVAILABLE,
    "account blocked": ErrorCode.UNAVAILABLE,
    "specify phone number": ErrorCode.INVALID_PHONE,
    "phone number is on the stop list": ErrorCode.STOP_LISTED,
    "this destination is closed for you": ErrorCode.UNAVAILABLE,
    "this destination is closed": ErrorCode.UNAVAILABLE,
    "sms text rejected by moderator": ErrorCode.CARRIER_REJECTED,
    "no sender": ErrorCode.SENDER_NOT_ALLOWED,
    "the sender must not exceed 15 characters for numeric numbers and 11 characters for "
    "alphanumeric numbers": ErrorCode.SENDER_NOT_ALLOWED,
    "phone number must be less than 15 characters": ErrorCode.INVALID_PHONE,
    "no message text": ErrorCode.EMPTY_TEXT,
    "no link": ErrorCode.INVALID_FIELD,
    "provide the name of the contact and at least one parameter for a business card": (
        ErrorCode.INVALID_FIELD
    ),
    "there is no such sender": ErrorCode.SENDER_NOT_ALLOWED,
    "the sender has not been moderated": ErrorCode.SENDER_NOT_ALLOWED,
}

# state -> canonical status and, for a failure, its error
STATES: dict[str, tuple[Status, ErrorCode | None]] = {
    "send": (Status.SUBMITTED, None),
    "deliver": (Status.DELIVERED, None),
    "read": (Status.DELIVERED, None),  # a Viber receipt: read implies delivered
    "not_deliver": (Status.UNDELIVERED, ErrorCode.CARRIER_REJECTED),
    "expired": (Status.EXPIRED, ErrorCode.EXPIRED),
    "partly_deliver": (Status.UNKNOWN, None),  # some parts delivered: the outcome is unclear
}


def error_code(text: str) -> ErrorCode:
    """The canonical refusal for an error text; one the seed lacks is a provider fault
    (it named the message, so did not take it: SYSTEM_ERROR, tried elsewhere)."""
    return ERRORS.get(" ".join(text.lower().split()).rstrip("."), ErrorCode.SYSTEM_ERROR)


def state_of(state: str) -> tuple[Status, ErrorCode | None] | None:
    """The canonical status of a state word; None for one the provider does not document."""
    return STATES.get(state.strip().lower())
