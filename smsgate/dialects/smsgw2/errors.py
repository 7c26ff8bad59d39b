"""SMSGW2 errors: the seed's code table, canonical codes mapped onto it, and the JSON error body.

The seed shows one error body, `{"error_message": "..."}` with HTTP 400. Errors that have a
number in the seed (its 0-255 table, and 10012 for a schedule off the 15-minute grid) also carry
`"error_code"`; the alias error keeps exactly the seed's body.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError

# "Справочник кодов ошибок", the "Description for client" column. Codes 1 and 12 carry two
# texts in the seed (the client's and the SMPP meaning); the first is the delivery-report text.
CODES: dict[int, str] = {
    0: "No error",
    1: "Subscriber not found",
    2: "Command length is invalid",
    3: "Invalid Command ID",
    4: "Incorrect BIND Status for given command",
    5: "ESME Already in Bound State",
    6: "Invalid Priority Flag",
    7: "Invalid Registered Delivery Flag",
    8: "System error (possibly wrong subscriber MISDN)",
    9: "Subscriber was ported to another operator",
    10: "Invalid sender / source address",
    11: "Invalid recipient / destination address (format should be 7xxxYYYzzzz)",
    12: "Equipment does not support SMS service",
    13: "Bind Failed",
    14: "Invalid Password",
    15: "Invalid System ID",
    16: "MSC record not found in HLR for this subscriber",
    17: "cancel_sm failed",
    18: "Provider did not respond to send request. SMS can still be delivered.",
    19: "replace_sm failed",
    20: "Message queue full",
    21: "Invalid service type",
    22: "Message expired",
    23: "Duplicate client_message_id, should be unique for each message.",
    24: "Timebound not allowed for given sender",
    25: "Wrong information in time_bounds field.",
    26: "Internal error: wrong smpp account to send message",
    27: "Mobile equipment is off, out of coverage, or SIM memory is full",
    28: "SMS service is not activated for subscriber",
    29: "Subscriber is in blocked state",
    30: "Subscriber number is banned from receiving SMS. Possible reasons: subscriber complaint,"
    " m2m device, corporate number restriction.",
    31: "Subscriber busy for MT-SMS",
    32: "SIM memory is full / possible errors while transmitting the message",
    33: "Subscriber number can't receive SMS. Possible reasons: insufficient balance or"
    " contradiction with operator's internal service.",
    34: "Subscriber number is in provider's black list / provider doesn't have routing set up"
    " for this number (MNP issue).",
    35: "Operator did not set up support for MNP-migrated subscribers for this sender/source"
    " address",
    36: "SMS declined due to absence of context support for this sender (possibly blocked by"
    " roaming provider).",
    37: "Subscriber is in MNP migration state. Please try again in 4 hours.",
    51: "Invalid number of destinations",
    52: "Invalid distribution list name",
    64: "Destination flag is invalid (submit_multi)",
    66: "Invalid submit with replace request; submit_sm with replace_if_present_flag set",
    67: "Invalid esm_class field data",
    68: "Invalid submit to distribution list",
    69: "submit_sm or submit_multi failed",
    72: "Invalid Source address TON",
    73: "Invalid Source address NPI",
    80: "Invalid Destination address TON",
    81: "Invalid Destination address NPI",
    83: "Invalid system_type field",
    84: "Invalid replace_if_present flag",
    85: "Invalid number of messages",
    88: "Throttling error; ESME has exceeded allowed message limits.",
    97: "Invalid scheduled delivery time",
    98: "Invalid message validity period (Expiry time).",
    99: "Predefined message invalid or not found",
    100: "ESME Receiver temporary error",
    101: "ESME Receiver permanent error",
    102: "ESME Receiver reject message error",
    103: "query_sm request failed",
    192: "Error in the optional part of the PDU body",
    193: "TLV not allowed",
    194: "Invalid parameter length",
    195: "Expected TLV missing",
    196: "Invalid TLV value",
    254: "Transaction delivery failure",
    255: "Unknown Error",
}

EMPTY_TEXT = "Message length is invalid (can't send empty text)"  # code 1, second text
LONG_TEXT = "Message length is invalid"  # code 1, the SMPP meaning without the empty-text note
SCHEDULE_CODE = 10012
SCHEDULE_TEXT = (
    "Invalid schedule: use 'YYYY-MM-DD HH:mm:ss' on a 15-minute step"
    " (HH:00, HH:15, HH:30, HH:45), from 10 minutes to 10 days ahead"
)

# Canonical error -> SMSGW2 code: delivery reports and synchronous refusals alike.
CANONICAL: dict[ErrorCode, int] = {
    ErrorCode.INVALID_PHONE: 11,
    ErrorCode.SENDER_NOT_ALLOWED: 10,
    ErrorCode.EMPTY_TEXT: 1,
    ErrorCode.TEXT_TOO_LONG: 1,
    ErrorCode.STOP_LISTED: 30,
    ErrorCode.BAD_SCHEDULE: 97,
    ErrorCode.BAD_VALIDITY: 98,
    ErrorCode.DUPLICATE: 23,
    ErrorCode.THROTTLED: 88,
    ErrorCode.TOO_MANY_RECIPIENTS: 51,
    ErrorCode.NOT_CANCELLABLE: 17,
    ErrorCode.UNSUPPORTED_CHANNEL: 12,
    ErrorCode.CARRIER_REJECTED: 69,
    ErrorCode.ABSENT_SUBSCRIBER: 27,
    ErrorCode.UNKNOWN_SUBSCRIBER: 1,
    ErrorCode.BLOCKED_SUBSCRIBER: 29,
    ErrorCode.MEMORY_FULL: 32,
    ErrorCode.NETWORK_ERROR: 254,
    ErrorCode.EXPIRED: 22,
    ErrorCode.SYSTEM_ERROR: 8,
    ErrorCode.INSUFFICIENT_BALANCE: 255,
}


def code_of(canonical: str | None, carrier_error: str | None = None) -> int | None:
    """The SMSGW2 code for a stored error: a carrier's own table code wins, else the mapping."""
    if carrier_error and carrier_error.isdigit() and int(carrier_error) in CODES:
        return int(carrier_error)
    if not canonical:
        return None
    try:
        return CANONICAL.get(ErrorCode(canonical), 255)
    except ValueError:
        return 255


class Smsgw2Error(Exception):
    """A refusal in SMSGW2's own terms: HTTP status, optional numeric code, text, and the
    message field it is about (not part of the answer: it picks a refused batch message's code).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int = 400,
        field: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.extra = extra


def coded(code: int, status: int = 400, text: str | None = None, **extra: Any) -> Smsgw2Error:
    return Smsgw2Error(text or CODES[code], code=code, status=status, **extra)


# A batch message refused without a code of its own (a missing or malformed field) is reported
# with its field's code and the seed's text for it; one about no such field (not an object, its
# client_message_id, flash) with 255, "Unknown Error" in the seed's table, and our own text.
FIELD_CODES: dict[str, int] = {
    "sender": 10,
    "recipient": 11,
    "message_text": 1,
    "time_bounds": 25,
    "schedule": SCHEDULE_CODE,
    "expire_date": 98,
}
UNKNOWN_CODE = 255
# Canonical errors whose SMSGW2 code carries another text than the table's first.
TEXTS: dict[str, str] = {
    ErrorCode.EMPTY_TEXT.value: EMPTY_TEXT,
    ErrorCode.TEXT_TOO_LONG.value: LONG_TEXT,
}
# Message.meta key of a batch message refused by SMSGW2's own rules: {"code", "text"} it is
# reported with, and the client_message_id, sender and message_text it gave.
KEPT = "refused"

# SMSGW2 code -> the canonical error a message refused with it is stored under.
STORED_AS: dict[int, ErrorCode] = {
    1: ErrorCode.EMPTY_TEXT,
    10: ErrorCode.SENDER_NOT_ALLOWED,
    11: ErrorCode.INVALID_PHONE,
    23: ErrorCode.DUPLICATE,
    SCHEDULE_CODE: ErrorCode.BAD_SCHEDULE,
    98: ErrorCode.BAD_VALIDITY,
}


def reported(exc: Smsgw2Error) -> tuple[int, str]:
    """The code and text a refused batch message is reported with (its delivery report, its
    message object)."""
    if exc.code is not None:
        return exc.code, exc.message
    code = FIELD_CODES.get(exc.field or "")
    if code is None:
        return UNKNOWN_CODE, exc.message
    stored = STORED_AS.get(code)
    return code, TEXTS.get(stored.value if stored else "") or CODES.get(code, exc.message)


def canonical(exc: Smsgw2Error) -> GatewayError:
    """A refusal of SMSGW2's own as the core keeps it with the message (native API, console)."""
    kind = STORED_AS.get(reported(exc)[0], ErrorCode.INVALID_FIELD)
    return GatewayError(kind, exc.message, field=exc.field)


_HTTP: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.UNAUTHORIZED: (401, "Bad credentials"),
    ErrorCode.IP_NOT_ALLOWED: (403, "Access denied for this IP address"),
    ErrorCode.FORBIDDEN: (403, "Access denied"),
    ErrorCode.NOT_FOUND: (404, "Not found"),
    ErrorCode.BODY_TOO_LARGE: (413, "Request body is too large"),
    ErrorCode.UNAVAILABLE: (503, "Service temporarily unavailable, retry later"),
    ErrorCode.INSUFFICIENT_BALANCE: (400, "Insufficient balance to send messages"),
}


def from_gateway(exc: GatewayError, sender: str | None = None) -> Smsgw2Error:
    """A canonical refusal as SMSGW2 words it."""
    code = exc.code
    if code is ErrorCode.SENDER_NOT_ALLOWED and sender is not None:
        return alias_error(sender)
    if code is ErrorCode.EMPTY_TEXT:
        return coded(1, text=EMPTY_TEXT)
    if code is ErrorCode.TEXT_TOO_LONG:
        return coded(1, text=LONG_TEXT)
    if code is ErrorCode.BAD_SCHEDULE:
        return coded(SCHEDULE_CODE, text=SCHEDULE_TEXT)
    if code in _HTTP:
        status, text = _HTTP[code]
        return Smsgw2Error(text, status=status)
    if code in CANONICAL:
        return coded(CANONICAL[code])
    return Smsgw2Error(exc.detail, status=400)


def with_index(exc: Smsgw2Error, index: int) -> Smsgw2Error:
    """A batch's refusal naming the message it is about."""
    exc.extra = {**exc.extra, "message_index": index}
    return exc


def alias_error(sender: str) -> Smsgw2Error:
    return Smsgw2Error(f"User can't use alias {sender} to send messages")


def error_response(exc: Smsgw2Error) -> Response:
    body: dict[str, Any] = {}
    if exc.code is not None:
        body["error_code"] = exc.code
    body["error_message"] = exc.message
    body.update(exc.extra)
    headers = {"WWW-Authenticate": 'Basic realm="SMSGW"'} if exc.status == 401 else None
    return Response(
        msgspec.json.encode(body),
        status_code=exc.status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )
