"""Request variables as the provider reads them: query string, form body or JSON, all strings.

The seed documents GET with a query string; real clients also POST forms or JSON
(`text/json; charset=utf-8;` included). Body values win over the query string. The cabinet's
bulk form (multipart, with a CSV file) is validated as Laravel does: every failing field at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ...core import phone as phones
from ...core.errors import ErrorCode, GatewayError
from ...core.models import Account
from ...core.segments import segment
from ...core.validate import Limits
from ...core.windows import check_schedule
from ..http import decode_json, media_type, read_body
from .auth import uses_token
from .errors import Invalid, Problem
from .times import PROVIDER_ZONE, TIME_FORMAT, zone

MAX_BODY = 64 * 1024  # send, query and balance: far above any legal request
MAX_TXN_ID = 255
MAX_LOGIN = 255
MAX_SENDER = 64
AUTH_FIELDS = frozenset({"login", "str_hash"})
MAX_FILE = 5 * 1024 * 1024  # the seed's 5 MB: 5120 kilobytes, as Laravel counts
MAX_BULK_BODY = MAX_FILE + 1024 * 1024  # the file plus room for the other fields and framing
BULK_REQUIRED = ("from", "msg", "login", "str_hash", "txn_id")

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
        # Five bytes (0x98 among them) mean nothing in CP1251: U+FFFD, which no hash matches.
        return raw.decode("cp1251", errors="replace")


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
            data = decode_json(body)
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


def require(request: Request, v: dict[str, str], fields: tuple[str, ...], text: str) -> None:
    """Code 100 when a mandatory variable is absent or empty (login/str_hash not with Bearer)."""
    token = uses_token(request)
    for name in fields:
        if token and name in AUTH_FIELDS:
            continue
        if not v.get(name):
            raise Problem(422, 100, text)


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


# The cabinet's bulk form -----------------------------------------------------------------------
async def bulk_form(request: Request) -> tuple[dict[str, str], UploadFile | None]:
    """The form's variables (over the query string's) and its first `file` part."""
    body = await read_body(request, MAX_BULK_BODY)
    v: dict[str, str] = dict(request.query_params)
    upload: UploadFile | None = None
    if media_type(request) == "multipart/form-data":
        form = await multipart(request, body, max_files=4)
        for key, value in form.multi_items():
            if isinstance(value, str):
                v[key] = value
            elif key == "file" and upload is None:
                upload = value
    elif body.strip():
        v.update(await variables_from(request, body))
    return v, upload


async def bulk_fields(
    request: Request, v: dict[str, str], upload: UploadFile | None
) -> tuple[bytes, float | None]:
    """The file's bytes and the send time, or Invalid naming every failing field at once."""
    token = uses_token(request)
    problems: dict[str, list[str]] = {}
    for name in BULK_REQUIRED:
        if token and name in AUTH_FIELDS:
            continue
        if not v.get(name, "").strip():
            problems[name] = [f"The {name.replace('_', ' ')} field is required."]
    data = b""
    if upload is None:
        problems["file"] = [
            "The file field must be a file." if v.get("file") else "The file field is required."
        ]
    else:
        data = await upload.read()
        if len(data) > MAX_FILE:
            problems["file"] = [
                f"The file field must not be greater than {MAX_FILE // 1024} kilobytes."
            ]
    not_before = None
    try:
        not_before = send_at(v.get("send_at", ""))
    except Invalid as exc:
        problems.update(exc.fields)
    if problems:
        raise Invalid(problems)
    return data, not_before


def bulk_options(
    v: dict[str, str], account: Account, limits: Limits, not_before: float | None, now: float
) -> float | None:
    """What the cabinet checks once it knows the account (`txn_id`, `from`, `msg`, `send_at`):
    the send time the core is to take, or Invalid."""
    if len(v["txn_id"]) > MAX_TXN_ID:
        raise Invalid(
            {"txn_id": [f"The txn id field must not be greater than {MAX_TXN_ID} characters."]}
        )
    if v["from"] not in account.senders:
        raise Invalid({"from": ["The selected from is invalid."]})
    text = v["msg"]
    if len(text) > limits.max_text_chars or segment(text).count > limits.max_parts:
        raise Invalid(
            {"msg": [f"The msg field must not be longer than {limits.max_parts} SMS parts."]}
        )
    try:
        return check_schedule(not_before, now, max_ahead=limits.max_schedule_ahead)
    except GatewayError as exc:
        raise Invalid({"send_at": [_schedule_text(exc, limits.max_schedule_ahead)]}) from None


def send_at(raw: str) -> float | None:
    """`send_at`: 'Y-m-d H:i:s' (or ISO 8601) on the provider's clock unless it has an offset."""
    text = raw.strip()
    if not text:
        return None
    try:
        when = datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(
                {"send_at": ["The send at field must match the format Y-m-d H:i:s."]}
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(PROVIDER_ZONE))
    return when.timestamp()


def _schedule_text(exc: GatewayError, ahead: float) -> str:
    if "past" in exc.detail:
        return "The send at field must be a date after or equal to now."
    return (
        f"The send at field must be a date before or equal to {int(ahead // 86400)} days from now."
    )
