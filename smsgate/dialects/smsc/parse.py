"""Request parameters as SMSC.ru reads them: query string and body, in the request's `charset`;
and the values of a send: message ids, phone numbers, recipients.

SMSC.ru takes every call by GET or POST (form-encoded, multipart, or JSON on /rest/), and
decodes values in `charset` (windows-1251 unless `utf-8` or `koi8-r` is named).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

import msgspec
from starlette.requests import Request

from ...core import phone as phones
from ...core.errors import ErrorCode, GatewayError
from ..http import decode_json, media_type, read_body
from .errors import SmscError

MAX_BODY = 1024 * 1024
MAX_ID = 2_147_483_647
_STRING_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_SPLIT = re.compile(r"[,;]")
DEFAULT_CHARSET = "windows-1251"
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "koi8-r": "koi8-r",
    "koi8r": "koi8-r",
    "windows-1251": "windows-1251",
    "cp1251": "windows-1251",
}


def charset_of(value: str | None) -> str:
    return CHARSETS.get((value or "").strip().lower(), DEFAULT_CHARSET)


def _pairs(raw: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in raw.split(b"&"):
        if not part.strip():
            continue
        key, _, value = part.partition(b"=")
        pairs.append(
            (
                unquote_to_bytes(key.replace(b"+", b" ")).strip(),
                unquote_to_bytes(value.replace(b"+", b" ")),
            )
        )
    return pairs


def _charset_in(pairs: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in pairs:
        if key.lower() == b"charset":
            return value.decode("latin-1")
    return None


def _text(value: object, nested: bool = False) -> str:
    """A JSON value as a parameter: a string or a number, or a list of them (`phones`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and not nested:
        return ",".join(_text(v, nested=True) for v in value)
    raise GatewayError(ErrorCode.INVALID_FIELD, "parameter values must be strings or numbers")


class Params:
    """The merged parameters (body over query), their charset, and the response format."""

    def __init__(self, values: dict[str, str], charset: str, default_fmt: int = 0) -> None:
        self.values = values
        self.charset = charset
        try:
            self.fmt = int(values.get("fmt", "").strip() or default_fmt)
        except ValueError:
            self.fmt = default_fmt
        if self.fmt not in (0, 1, 2, 3):
            self.fmt = default_fmt

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def flag(self, name: str) -> int:
        value = self.values.get(name, "").strip()
        if not value:
            return 0
        try:
            return int(value)
        except ValueError:
            raise GatewayError(ErrorCode.INVALID_FIELD, f"{name} must be a number") from None


async def read(request: Request, default_fmt: int = 0) -> Params:
    """Every parameter of a request. Refuses bodies over MAX_BODY (BODY_TOO_LARGE)."""
    query = _pairs(request.scope.get("query_string", b""))
    kind = media_type(request)
    body_pairs: list[tuple[bytes, bytes]] = []
    json_values: dict[str, str] = {}
    form_values: dict[str, str] = {}
    if kind == "multipart/form-data":
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, "request body too large")
        try:
            form = await request.form(max_part_size=MAX_BODY)
        except Exception:
            raise GatewayError(ErrorCode.MALFORMED_BODY, "malformed multipart body") from None
        form_values = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        body = await read_body(request, MAX_BODY)
        stripped = body.strip()
        if kind.endswith("json") or (kind in ("", "text/plain") and stripped[:1] == b"{"):
            try:
                decoded = decode_json(stripped or b"{}")
            except msgspec.DecodeError:
                raise GatewayError(ErrorCode.MALFORMED_BODY, "malformed JSON body") from None
            if not isinstance(decoded, dict):
                raise GatewayError(ErrorCode.MALFORMED_BODY, "JSON body must be an object")
            json_values = {str(k): _text(v) for k, v in decoded.items() if v is not None}
        elif stripped:
            body_pairs = _pairs(stripped)
    charset = charset_of(
        json_values.get("charset")
        or form_values.get("charset")
        or _charset_in(body_pairs)
        or _charset_in(query)
    )
    values: dict[str, str] = {}
    for key, value in [*query, *body_pairs]:
        values[key.decode(charset, "replace")] = value.decode(charset, "replace")
    values.update(form_values)
    values.update(json_values)
    if json_values:
        charset = charset_of(json_values.get("charset") or "utf-8")
    return Params(values, charset, default_fmt)


def fallback(request: Request, default_fmt: int) -> Params:
    """The query string alone: what an error is answered in when the body cannot be read."""
    query = dict(request.query_params)
    return Params(query, charset_of(query.get("charset")), default_fmt)


def check_id(value: str) -> str | None:
    """The client's message id: 1..2147483647 or up to 40 of [A-Za-z0-9._-]; '0'/'' = none."""
    value = value.strip()
    if value in ("", "0"):
        return None
    if value.isdigit():
        if not 0 < int(value) <= MAX_ID:
            raise SmscError(1)
        return str(int(value))
    if not _STRING_ID.match(value):
        raise SmscError(1)
    return value


def normalize_phone(raw: str) -> str:
    """E.164 digits. Without '+', SMSC.ru corrects 8XXXXXXXXXX and 9XXXXXXXXX to +7."""
    raw = raw.strip()
    if raw.startswith("+"):
        return phones.normalize(raw)
    digits = phones.normalize(raw, trunk_8_to_7=True)
    if len(digits) == 10 and digits[0] == "9":
        digits = "7" + digits
    return digits


def split_list(value: str) -> list[str]:
    return [v.strip() for v in _SPLIT.split(value) if v.strip()]


def recipients(p: Params, with_text: bool = True) -> list[tuple[str, str]]:
    """(phone, text) pairs from `phones` + `mes`, or from `list` (one `phone:text` a line).
    Without text (an HLR query, a ping), `mes` is not read and every text is empty."""
    listed = p.get("list")
    if listed.strip():
        pairs = []
        for line in listed.replace("\r\n", "\n").split("\n"):
            phone, sep, text = line.partition(":")
            if line.strip() and not sep:
                raise SmscError(1)
            if line.strip():
                pairs.append((phone.strip(), text.replace("\\n", "\n") if with_text else ""))
        if not pairs:
            raise SmscError(1)
        return pairs
    numbers = split_list(p.get("phones"))
    text = p.get("mes") if with_text else ""
    if not numbers or (with_text and not text.strip()):
        raise SmscError(1)
    return [(n, text) for n in numbers]
