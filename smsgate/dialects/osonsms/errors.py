"""OsonSMS errors: `{"error": {"code", "msg", "timestamp"}}` with the seed's HTTP statuses.

Codes 100, 105-109, 112-114 and 119 and their texts are the seed's. The others (101, 110, 111,
115-117, 120) cover refusals the seed does not name; docs/dialects/osonsms.md lists them.

The cabinet's bulk endpoint is a Laravel application: its errors have another shape (see
"The cabinet" below).
"""

from __future__ import annotations

import logging

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError
from .schemas import encoder
from .times import timestamp

log = logging.getLogger("smsgate.dialects.osonsms")

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


class Denied(Exception):
    """Authentication failed: `code` is 105 (account), 106 (hash) or 114 (address)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


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
DENIED = {
    105: Problem(401, 105, INACTIVE),
    106: Problem(422, 106, BAD_HASH),
    114: Problem(401, 114, NOT_WHITELISTED),
}
UNAVAILABLE = Problem(503, 109, "Service temporarily unavailable. Please retry later.")
SEND_UNAVAILABLE = Problem(500, 109, CANNOT_STORE)  # the seed's answer


def problem(exc: GatewayError) -> Problem:
    status, code, msg = TABLE.get(exc.code, FALLBACK)
    if exc.code is ErrorCode.INVALID_FIELD and exc.field:
        msg = f"Incorrect value of {exc.field}."
    return Problem(status, code, msg)


class ErrorDetail(msgspec.Struct):
    code: int
    msg: str
    timestamp: str


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


def error_response(p: Problem) -> Response:
    body = msgspec.json.encode(ErrorBody(ErrorDetail(p.code, p.msg, timestamp())))
    return Response(body, status_code=p.status, media_type="application/json")


def api_answer(unavailable: Problem, request: Request, exc: Exception) -> Response:
    """Any failure of the send API in its format: never a traceback, never a request's values
    logged. `unavailable`: the route's answer while storage is down."""
    if isinstance(exc, Problem):
        return error_response(exc)
    if isinstance(exc, Denied):
        return error_response(DENIED[exc.code])
    if isinstance(exc, GatewayError):
        if exc.code is ErrorCode.UNAVAILABLE:
            return error_response(unavailable)
        return error_response(problem(exc))
    _log_bug(request, exc)
    return error_response(Problem(*FALLBACK))


def _log_bug(request: Request, exc: Exception) -> None:
    log.error("osonsms %s failed: %s", request.url.path, type(exc).__name__)


# The cabinet (api/v1/bulk-sms/create): validation errors as
# `{"success": false, "message": "Validation errors", "data": {field: [text]}}`, the rest as
# `{"error": text}`.


class Invalid(Exception):
    """Laravel validation errors: field -> messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


# Canonical errors in the cabinet's words (seed: 404 "User not found", 400 "No phone numbers...").
CABINET: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.UNAUTHORIZED: (404, "User not found"),
    ErrorCode.IP_NOT_ALLOWED: (401, NOT_WHITELISTED),
    ErrorCode.DUPLICATE: (409, DUPLICATE),
    ErrorCode.INSUFFICIENT_BALANCE: (402, NO_BALANCE),
    ErrorCode.BODY_TOO_LARGE: (413, "Request Entity Too Large"),
    ErrorCode.MALFORMED_BODY: (400, "Malformed multipart/form-data body"),
    ErrorCode.BAD_REQUEST: (400, "Bad request"),
    ErrorCode.UNAVAILABLE: (503, "Service temporarily unavailable. Please retry later."),
}
CABINET_DENIED = {
    105: (404, "User not found"),
    106: (422, BAD_HASH),
    114: (401, NOT_WHITELISTED),
}
CABINET_UNAVAILABLE = Refused(*CABINET[ErrorCode.UNAVAILABLE])


def _out(body: object, status: int) -> Response:
    return Response(encoder.encode(body), status_code=status, media_type="application/json")


def invalid_response(fields: dict[str, list[str]]) -> Response:
    return _out({"success": False, "message": "Validation errors", "data": fields}, 422)


def refused_response(status: int, text: str) -> Response:
    return _out({"error": text}, status)


def cabinet_answer(request: Request, exc: Exception) -> Response:
    """Any failure of the cabinet's bulk endpoint in its shapes, logged as api_answer does."""
    if isinstance(exc, Invalid):
        return invalid_response(exc.fields)
    if isinstance(exc, Refused):
        return refused_response(exc.status, exc.text)
    if isinstance(exc, Denied):
        return refused_response(*CABINET_DENIED[exc.code])
    if isinstance(exc, GatewayError):
        if exc.code in CABINET:
            return refused_response(*CABINET[exc.code])
        return invalid_response({exc.field or "request": [problem(exc).msg]})
    _log_bug(request, exc)
    return refused_response(500, CANNOT_STORE)
