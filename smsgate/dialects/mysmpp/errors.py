"""Webcom Mobi (mysmpp) error texts, exactly as the provider's documentation gives them.

Two kinds: whole-request errors (`{"error": text}`, `<response><error>text</error></response>`
or, in the HTTP GET API, the bare text) and per-phone errors (the text in that phone's entry).
Both come with HTTP 200: the seed lists the whole-request texts under "Error text for response
status 200". Only a body over the limit (413) and storage down (503) change the status.
"""

from __future__ import annotations

from ...core.errors import ErrorCode, GatewayError

# Whole-request errors (HTTP 200).
JSON_FORMAT = "Incorrect JSON document format"
XML_FORMAT = "Incorrect XML document format"
ACCOUNT_LOCKED = "Your account is locked"
BAD_LOGIN = "Incorrect login or password"
NO_POST_DATA = "POST data is missing"
# Not in the provider's list: storage down (HTTP 503), and a path under /json/ or /xml/ that
# smsgate does not serve (HTTP 404). See docs/dialects/mysmpp.md.
UNAVAILABLE = "Service temporarily unavailable"
UNSUPPORTED = "Unsupported request"
NOT_FOUND = "SMS not found"  # a status request's id unknown to this account

# Per-phone errors (HTTP 200, in the phone's entry).
PLATFORM_OUT_OF_SMS = "We have run out of SMS. Contact your manager to resolve the problem"
OUT_OF_SMS = "Out of SMS"
ACCOUNT_BLOCKED = "Account blocked"
NO_PHONE = "Specify phone number"
STOP_LIST = "Phone number is on the stop list"
CLOSED_FOR_YOU = "This destination is closed for you"
CLOSED = "This destination is closed"
TEXT_REJECTED = "SMS text rejected by moderator"
NO_SENDER = "No sender"
SENDER_TOO_LONG = (
    "The sender must not exceed 15 characters for numeric numbers "
    "and 11 characters for alphanumeric numbers"
)
PHONE_TOO_LONG = "Phone number must be less than 15 characters"
NO_TEXT = "No message text"
NO_LINK = "No link"
NO_VCARD = "Provide the name of the contact and at least one parameter for a business card"
NO_SUCH_SENDER = "There is no such sender"
SENDER_NOT_MODERATED = "The sender has not been moderated"

# Canonical refusal -> the provider's per-phone text.
PER_PHONE: dict[ErrorCode, str] = {
    ErrorCode.INVALID_PHONE: CLOSED,
    ErrorCode.EMPTY_TEXT: NO_TEXT,
    ErrorCode.TEXT_TOO_LONG: TEXT_REJECTED,
    ErrorCode.SENDER_NOT_ALLOWED: NO_SUCH_SENDER,
    ErrorCode.STOP_LISTED: STOP_LIST,
    ErrorCode.INSUFFICIENT_BALANCE: OUT_OF_SMS,
    ErrorCode.UNSUPPORTED_CHANNEL: CLOSED_FOR_YOU,
    ErrorCode.FORBIDDEN: ACCOUNT_BLOCKED,
    ErrorCode.THROTTLED: PLATFORM_OUT_OF_SMS,
}
# Refusals whose cause is a malformed field of that phone: the document-format text.
_FORMAT = {ErrorCode.BAD_SCHEDULE, ErrorCode.BAD_VALIDITY, ErrorCode.INVALID_FIELD}


def per_phone_text(exc: GatewayError, xml: bool = False) -> str:
    if exc.code in _FORMAT:
        return XML_FORMAT if xml else JSON_FORMAT
    return PER_PHONE.get(exc.code, CLOSED)


class MysmppError(Exception):
    """A whole-request refusal: one text and an HTTP status (200 unless 404, 413 or 503)."""

    def __init__(self, text: str, status: int = 200) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


class PhoneError(Exception):
    """One phone refused before submission, with the provider's per-phone text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def format_error(xml: bool) -> MysmppError:
    return MysmppError(XML_FORMAT if xml else JSON_FORMAT)


# Delivery failures reported by carriers, as the `error` of a status entry.
DELIVERY: dict[str, str] = {
    ErrorCode.ABSENT_SUBSCRIBER.value: "Subscriber is absent",
    ErrorCode.UNKNOWN_SUBSCRIBER.value: "Unknown subscriber",
    ErrorCode.BLOCKED_SUBSCRIBER.value: "Subscriber is blocked",
    ErrorCode.MEMORY_FULL.value: "Subscriber's memory is full",
    ErrorCode.NETWORK_ERROR.value: "Network error",
    ErrorCode.CARRIER_REJECTED.value: "Rejected by the operator",
    ErrorCode.EXPIRED.value: "Validity period expired",
    ErrorCode.SYSTEM_ERROR.value: "System error",
    ErrorCode.STOP_LISTED.value: STOP_LIST,
    ErrorCode.INSUFFICIENT_BALANCE.value: OUT_OF_SMS,
    ErrorCode.SENDER_NOT_ALLOWED.value: NO_SUCH_SENDER,
    ErrorCode.INVALID_PHONE.value: CLOSED,
}


def delivery_text(code: str | None) -> str | None:
    if not code:
        return None
    return DELIVERY.get(code, code.replace("_", " ").capitalize())
