"""MsgHub error codes: `{"error_code": N, "error_text": "..."}` and the HTTP status of each.

MsgHub codes are "full_status" values: the substatus times 1000 plus a detail number, so a
refused phone number is 36024 (substatus 36, delivery error) and an expired SMS is 35015
(substatus 35). The seed gives two of them (36024 "Phone number incorrect", 35015 "SMS
expired"); the others follow the same scheme, requests refused as a whole under substatus 10
("not accepted for processing"). docs/dialects/msghub.md lists them all.
"""

from __future__ import annotations

import msgspec
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError
from ..http import HTTP_STATUS

# Canonical error -> (MsgHub code, text). Request-level refusals first, then per message.
CODES: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.UNAUTHORIZED: (10001, "Authorization failed"),
    ErrorCode.FORBIDDEN: (10002, "Access denied for client_id"),
    ErrorCode.IP_NOT_ALLOWED: (10003, "Access denied for IP address"),
    ErrorCode.MALFORMED_BODY: (10004, "Invalid JSON"),
    ErrorCode.MISSING_FIELD: (10005, "Mandatory parameter missing"),
    ErrorCode.INVALID_FIELD: (10006, "Invalid parameter value"),
    ErrorCode.BODY_TOO_LARGE: (10007, "Request entity too large"),
    ErrorCode.TOO_MANY_RECIPIENTS: (10008, "Too many recipients"),
    ErrorCode.UNSUPPORTED_CHANNEL: (10009, "Unsupported channel"),
    ErrorCode.NOT_FOUND: (10010, "Not found"),
    ErrorCode.UNAVAILABLE: (10011, "Service temporarily unavailable"),
    ErrorCode.THROTTLED: (10012, "Too many requests"),
    ErrorCode.BAD_REQUEST: (10013, "Bad request"),
    ErrorCode.DUPLICATE: (10014, "Duplicate extra_id"),
    ErrorCode.BAD_SCHEDULE: (10015, "Invalid start_time"),
    ErrorCode.BAD_VALIDITY: (10016, "Invalid ttl"),
    ErrorCode.NOT_CANCELLABLE: (10017, "Message cannot be cancelled"),
    # Per message (also the msghub_status of a message that ends with this error).
    ErrorCode.INVALID_PHONE: (36024, "Phone number incorrect"),
    ErrorCode.EMPTY_TEXT: (36025, "Message text is empty"),
    ErrorCode.TEXT_TOO_LONG: (36026, "Message text is too long"),
    ErrorCode.SENDER_NOT_ALLOWED: (36027, "Alpha name not allowed"),
    ErrorCode.STOP_LISTED: (36028, "Phone number in stop list"),
    ErrorCode.INSUFFICIENT_BALANCE: (36029, "Insufficient funds"),
    # Delivery outcomes.
    ErrorCode.ABSENT_SUBSCRIBER: (36001, "Subscriber absent"),
    ErrorCode.UNKNOWN_SUBSCRIBER: (36002, "Unknown subscriber"),
    ErrorCode.BLOCKED_SUBSCRIBER: (36003, "Subscriber blocked"),
    ErrorCode.MEMORY_FULL: (36004, "Subscriber memory full"),
    ErrorCode.NETWORK_ERROR: (36005, "Network error"),
    ErrorCode.CARRIER_REJECTED: (36006, "Rejected by operator"),
    ErrorCode.SYSTEM_ERROR: (36007, "System error"),
    ErrorCode.EXPIRED: (35015, "SMS expired"),
}
DELIVERY_ERROR = (36000, "Message delivery error")  # an error code we have no number for

METHOD_NOT_ALLOWED = 405


def code_of(code: ErrorCode | str | None) -> tuple[int, str]:
    """(MsgHub code, text) for a canonical error code, as a stored message carries it."""
    try:
        return CODES[ErrorCode(code)] if code else DELIVERY_ERROR
    except (KeyError, ValueError):
        return DELIVERY_ERROR


def error_text(exc: GatewayError) -> str:
    """The code's fixed text, naming the parameter where one is at fault."""
    text = code_of(exc.code)[1]
    if exc.field and exc.code in (
        ErrorCode.MISSING_FIELD,
        ErrorCode.INVALID_FIELD,
        ErrorCode.UNSUPPORTED_CHANNEL,
    ):
        return f"{text}: {exc.field}"
    return text


def http_status(code: ErrorCode) -> int:
    return HTTP_STATUS.get(code, 400)


def refusal(exc: GatewayError) -> tuple[int, str]:
    """(error_code, error_text) of a refusal."""
    return code_of(exc.code)[0], error_text(exc)


def error_body(exc: GatewayError) -> dict[str, object]:
    code, text = refusal(exc)
    return {"error_code": code, "error_text": text}


def error_response(exc: GatewayError, status: int | None = None) -> Response:
    headers = (
        {"WWW-Authenticate": 'Basic realm="msghub"'} if exc.code is ErrorCode.UNAUTHORIZED else None
    )
    return Response(
        msgspec.json.encode(error_body(exc)),
        status_code=status or http_status(exc.code),
        media_type="application/json",
        headers=headers,
    )
