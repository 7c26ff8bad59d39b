"""OsonSMS errors: `{"error": {"code", "msg", "timestamp"}}` with the seed's HTTP statuses.

Codes 100, 105-109, 112-114 and 119 and their texts are the seed's. The others (101, 110, 111,
115-117, 120) cover refusals the seed does not name; docs/dialects/osonsms.md lists them.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError

PROVIDER_ZONE = "Asia/Dushanbe"  # the provider's clock (UTC+5): timestamps and send_at

# The seed's texts, byte for byte.
MISSING_SEND = (
    "One of the mandatory variables (from,phone_number,msg,login,str_hash,txn_id) not set."
)
MISSING_QUERY = "One of the mandatory variables (login,str_hash,msg_id) not set."
MISSING_BALANCE = "One of the mandatory variables (login,str_hash,txn_id) not set."
INACTIVE = "Inactive or non-existent account"
BAD_HASH = "Incorrect hash"
BAD_SENDER = "Incorrect sender"
DUPLICATE = "Duplicate txn_id. It should be unique."
CANNOT_STORE = "Unable to store message."
SEND_ERROR = "Error while sending sms."
NO_SMSC = "Unable to connect to smsc host."
NOT_WHITELISTED = "Host is not in whitelist"
NO_BALANCE = "Balance overdraft limit has reached. Please top up your balance."


class Problem(Exception):
    """A refusal in OsonSMS terms: HTTP status, numeric code, text."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


# Canonical error -> (HTTP status, OsonSMS code, text). One table, tested.
TABLE: dict[ErrorCode, tuple[int, int, str]] = {
    ErrorCode.MISSING_FIELD: (422, 100, MISSING_SEND),
    ErrorCode.UNAUTHORIZED: (401, 105, INACTIVE),
    ErrorCode.FORBIDDEN: (401, 105, INACTIVE),
    ErrorCode.SENDER_NOT_ALLOWED: (422, 107, BAD_SENDER),
    ErrorCode.DUPLICATE: (409, 108, DUPLICATE),
    ErrorCode.UNAVAILABLE: (500, 109, CANNOT_STORE),
    ErrorCode.SYSTEM_ERROR: (500, 112, SEND_ERROR),
    ErrorCode.NETWORK_ERROR: (599, 113, NO_SMSC),
    ErrorCode.IP_NOT_ALLOWED: (401, 114, NOT_WHITELISTED),
    ErrorCode.INSUFFICIENT_BALANCE: (402, 119, NO_BALANCE),
    # Not in the seed.
    ErrorCode.BAD_REQUEST: (422, 101, "Incorrect request."),
    ErrorCode.MALFORMED_BODY: (422, 101, "Incorrect request body."),
    ErrorCode.INVALID_FIELD: (422, 101, "Incorrect value of a variable."),
    ErrorCode.BAD_SCHEDULE: (422, 101, "Incorrect send time."),
    ErrorCode.BAD_VALIDITY: (422, 101, "Incorrect validity period."),
    ErrorCode.TOO_MANY_RECIPIENTS: (422, 101, "Too many phone numbers."),
    ErrorCode.NOT_FOUND: (404, 107, "Message ID is invalid"),
    ErrorCode.INVALID_PHONE: (422, 110, "Incorrect phone number"),
    ErrorCode.EMPTY_TEXT: (422, 111, "Incorrect message text"),
    ErrorCode.TEXT_TOO_LONG: (422, 111, "Message text is too long"),
    ErrorCode.UNSUPPORTED_CHANNEL: (422, 115, "Channel is not supported"),
    ErrorCode.STOP_LISTED: (422, 116, "Phone number is in the stop list"),
    ErrorCode.THROTTLED: (429, 117, "Too many requests"),
    ErrorCode.BODY_TOO_LARGE: (413, 120, "Request is too large"),
}
FALLBACK = (500, 112, SEND_ERROR)


def problem(exc: GatewayError) -> Problem:
    status, code, msg = TABLE.get(exc.code, FALLBACK)
    if exc.code is ErrorCode.INVALID_FIELD and exc.field:
        msg = f"Incorrect value of {exc.field}."
    return Problem(status, code, msg)


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def timestamp(name: str = PROVIDER_ZONE) -> str:
    """Now as 'YYYY-MM-DD HH24:MI:SS' on the provider's clock."""
    return datetime.now(zone(name)).strftime("%Y-%m-%d %H:%M:%S")


class ErrorDetail(msgspec.Struct):
    code: int
    msg: str
    timestamp: str


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


def error_response(p: Problem) -> Response:
    body = msgspec.json.encode(ErrorBody(ErrorDetail(p.code, p.msg, timestamp())))
    return Response(body, status_code=p.status, media_type="application/json")
