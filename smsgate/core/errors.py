"""Canonical error codes. Dialects map these to their own numbers and texts."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # Request errors (answered synchronously, nothing stored).
    BAD_REQUEST = "bad_request"
    MALFORMED_BODY = "malformed_body"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    BODY_TOO_LARGE = "body_too_large"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    IP_NOT_ALLOWED = "ip_not_allowed"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    UNAVAILABLE = "unavailable"
    # Message errors (per recipient).
    INVALID_PHONE = "invalid_phone"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    STOP_LISTED = "stop_listed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BAD_SCHEDULE = "bad_schedule"
    BAD_VALIDITY = "bad_validity"
    UNSUPPORTED_CHANNEL = "unsupported_channel"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    NOT_CANCELLABLE = "not_cancellable"
    THROTTLED = "throttled"
    # Delivery outcomes reported by connectors.
    CARRIER_REJECTED = "carrier_rejected"
    ABSENT_SUBSCRIBER = "absent_subscriber"
    UNKNOWN_SUBSCRIBER = "unknown_subscriber"
    BLOCKED_SUBSCRIBER = "blocked_subscriber"
    MEMORY_FULL = "memory_full"
    NETWORK_ERROR = "network_error"
    EXPIRED = "expired"
    SYSTEM_ERROR = "system_error"


class GatewayError(Exception):
    """A refusal with a canonical code; dialects render it in their own format."""

    def __init__(self, code: ErrorCode, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or code.value)
        self.code = code
        self.detail = detail or code.value.replace("_", " ")
        self.field = field

    def __repr__(self) -> str:
        return f"GatewayError({self.code.value!r}, {self.detail!r})"


# Refusals that say the carrier certainly did not take the message and might take it later or
# elsewhere: the router tries the route's next connector. Every other code is final for the
# message (a bad number stays bad on another carrier).
RETRYABLE: frozenset[ErrorCode] = frozenset(
    {
        ErrorCode.THROTTLED,
        ErrorCode.NETWORK_ERROR,
        ErrorCode.UNAVAILABLE,
        ErrorCode.SYSTEM_ERROR,
    }
)


def retryable(code: ErrorCode | str | None) -> bool:
    """Whether a carrier's refusal with `code` may be tried again on another connector."""
    return code is not None and code in RETRYABLE
