"""Native API errors: {"error": {"code", "message", "field"}} with a fitting HTTP status."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

from ...core.errors import ErrorCode, GatewayError
from ..http import HTTP_STATUS


def status_for(code: ErrorCode) -> int:
    return HTTP_STATUS.get(code, 400 if code in _REQUEST_ERRORS else 422)


_REQUEST_ERRORS = {
    ErrorCode.BAD_REQUEST,
    ErrorCode.MALFORMED_BODY,
    ErrorCode.MISSING_FIELD,
    ErrorCode.INVALID_FIELD,
    ErrorCode.TOO_MANY_RECIPIENTS,
}


def error_response(exc: GatewayError, status: int | None = None) -> Response:
    body: dict[str, object] = {"code": exc.code.value, "message": exc.detail}
    if exc.field:
        body["field"] = exc.field
    headers = (
        {"WWW-Authenticate": 'Bearer realm="smsgate"'}
        if exc.code is ErrorCode.UNAUTHORIZED
        else None
    )
    return Response(
        msgspec.json.encode({"error": body}),
        status_code=status or status_for(exc.code),
        media_type="application/json",
        headers=headers,
    )
