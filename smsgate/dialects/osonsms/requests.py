"""Request variables as the provider reads them: query string, form body or JSON, all strings.

The seed documents GET with a query string; real clients also POST forms or JSON
(`text/json; charset=utf-8;` included). Body values win over the query string.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ...core import phone as phones
from ...core.errors import ErrorCode, GatewayError
from ..http import media_type, read_body

MAX_BODY = 64 * 1024  # send, query and balance: far above any legal request
MAX_TXN_ID = 255
MAX_LOGIN = 255
MAX_SENDER = 64

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_JSON_KINDS = {"application/json", "text/json", "application/x-json", "text/x-json"}
_STRIP = str.maketrans("", "", " -().\t\u00a0")


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise GatewayError(ErrorCode.MALFORMED_BODY, "values must be strings or numbers")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


async def variables(request: Request) -> dict[str, str]:
    """The query string merged with the body's variables (the body read up to MAX_BODY)."""
    return await variables_from(request, await read_body(request, MAX_BODY))


async def variables_from(request: Request, body: bytes) -> dict[str, str]:
    values = dict(request.query_params)
    if not body.strip():
        return values
    kind = media_type(request)
    sniff_json = kind != "application/x-www-form-urlencoded" and body.lstrip()[:1] == b"{"
    if kind in _JSON_KINDS or sniff_json:
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise GatewayError(ErrorCode.MALFORMED_BODY, "malformed JSON") from None
        if not isinstance(data, dict):
            raise GatewayError(ErrorCode.MALFORMED_BODY, "JSON body must be an object")
        for key, value in data.items():
            text = _scalar(value)
            if text is not None:
                values[str(key)] = text
    elif kind == "multipart/form-data":
        form = await multipart(request, body)
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        values.update(parse_qsl(_text(body), keep_blank_values=True))
    return values


async def multipart(request: Request, body: bytes, *, max_files: int = 1) -> FormData:
    """Parse an already read (size-checked) multipart body."""

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=max_files, max_fields=100)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise GatewayError(ErrorCode.MALFORMED_BODY, f"malformed multipart body: {exc}") from None


def flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} must be true or false", field=name)


def bounded(value: str, name: str, limit: int) -> str:
    if len(value) > limit:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} over {limit} characters", field=name)
    return value


def recipient(raw: str) -> str:
    """E.164 digits. '992XXXXXXXXX', '+992...', '00992...'; nine digits alone are Tajik."""
    digits = raw.strip().translate(_STRIP)
    if len(digits) == 9 and digits.isascii() and digits.isdigit() and digits[0] != "0":
        return "992" + digits
    return phones.normalize(raw)
