"""SMSC.ru error codes and texts, and the canonical error each one answers for.

The texts are the ones SMSC.ru's HTTP API returns (`ERROR = 7 (invalid number), ID - 541`,
`{"error": "duplicate request, wait a minute", "error_code": 9}`); every answer format uses them.
"""

from __future__ import annotations

from ...core.errors import ErrorCode, GatewayError

TEXTS: dict[int, str] = {
    1: "parameters error",
    2: "authorise error",
    3: "no money",
    4: "ip is blocked",
    5: "invalid date format",
    6: "message is denied",
    7: "invalid number",
    8: "can't to deliver",
    9: "duplicate request, wait a minute",
}

# Canonical refusal -> SMSC.ru error code. Anything not listed is a parameters error (1).
CODES: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHORIZED: 2,
    ErrorCode.FORBIDDEN: 2,
    ErrorCode.INSUFFICIENT_BALANCE: 3,
    ErrorCode.IP_NOT_ALLOWED: 4,
    ErrorCode.BAD_SCHEDULE: 5,
    ErrorCode.SENDER_NOT_ALLOWED: 6,
    ErrorCode.STOP_LISTED: 6,
    ErrorCode.INVALID_PHONE: 7,
    ErrorCode.CARRIER_REJECTED: 8,
    ErrorCode.UNSUPPORTED_CHANNEL: 8,
    ErrorCode.DUPLICATE: 9,
    ErrorCode.THROTTLED: 9,
    ErrorCode.UNAVAILABLE: 9,
}

# Errors that concern the message itself: SMSC.ru names the message id along with them.
WITH_ID = frozenset({3, 5, 6, 7, 8})

# HTTP status: SMSC.ru answers 200 with the error in the body; two cases cannot be 200.
HTTP_STATUS: dict[ErrorCode, int] = {ErrorCode.BODY_TOO_LARGE: 413, ErrorCode.UNAVAILABLE: 503}


class SmscError(Exception):
    """An SMSC.ru error answer: code, text, the message id when it has one, the HTTP status."""

    def __init__(
        self, code: int, *, msg_id: str | None = None, text: str | None = None, http: int = 200
    ) -> None:
        super().__init__(text or TEXTS[code])
        self.code = code
        self.text = text or TEXTS[code]
        self.msg_id = msg_id if code in WITH_ID else None
        self.http = http


def from_gateway(exc: GatewayError, msg_id: str | None = None) -> SmscError:
    code = CODES.get(exc.code, 1)
    text = "too many concurrent requests" if exc.code is ErrorCode.UNAVAILABLE else None
    return SmscError(code, msg_id=msg_id, text=text, http=HTTP_STATUS.get(exc.code, 200))
