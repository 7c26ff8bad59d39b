"""Request helpers every dialect shares: bounded bodies, JSON, credentials, client address,
forms, and the route that answers a dialect's whole namespace."""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar, overload
from urllib.parse import parse_qsl

import msgspec
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.errors import ErrorCode, GatewayError
from .asgi import check_declared_length

DEFAULT_MAX_BODY = 16 * 1024 * 1024
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
TOO_DEEP = "JSON nested too deeply"

T = TypeVar("T")

# The HTTP status of a refusal, for dialects whose provider uses HTTP statuses the usual way.
HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.IP_NOT_ALLOWED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.DUPLICATE: 409,
    ErrorCode.NOT_CANCELLABLE: 409,
    ErrorCode.BODY_TOO_LARGE: 413,
    ErrorCode.INSUFFICIENT_BALANCE: 402,
    ErrorCode.THROTTLED: 429,
    ErrorCode.UNAVAILABLE: 503,
}


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The request body, refusing more than `limit` bytes (BODY_TOO_LARGE) without reading it all."""
    if limit is None:
        limit = getattr(request.app.state, "max_body", DEFAULT_MAX_BODY)
    check_declared_length(request.headers.get("content-length"), limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@overload
def decode_json(body: bytes | str) -> Any: ...
@overload
def decode_json(body: bytes | str, decode: Callable[[bytes | str], T]) -> T: ...
def decode_json(
    body: bytes | str, decode: Callable[[bytes | str], Any] = msgspec.json.decode
) -> Any:
    """`decode(body)` (msgspec's untyped decode, or a typed Decoder's `.decode`), with JSON
    nested deeper than the interpreter's recursion limit (about 1,000 levels) a
    msgspec.DecodeError like any malformed body: msgspec raises RecursionError there, which a
    dialect's `except msgspec.DecodeError` would miss, and the request would end in a 500."""
    try:
        return decode(body)
    except RecursionError:
        raise msgspec.DecodeError(TOO_DEEP) from None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def bearer_token(request: Request) -> str | None:
    return parse_bearer(request.headers.get("authorization", ""))


def parse_bearer(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (scheme in any case)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@lru_cache(maxsize=1024)
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def ip_allowed(allowlist: list[str], address: str) -> bool:
    """An empty allow-list allows everyone; entries are addresses or CIDR networks."""
    if not allowlist:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(tuple(allowlist)))


def media_type(request: Request) -> str:
    """'text/json; charset=utf-8;' -> 'text/json' (lenient about spaces and stray ';')."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def params(request: Request, body: bytes | None = None) -> dict[str, str]:
    """Query string merged with a urlencoded or multipart form body (body values win)."""
    values = dict(request.query_params)
    kind = media_type(request)
    if kind == "application/x-www-form-urlencoded" or (kind == "" and body and b"=" in body):
        raw = body if body is not None else await read_body(request)
        try:
            values.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            # errors="replace": five bytes (0x98 among them) mean nothing in CP1251.
            text = raw.decode("cp1251", errors="replace")
            values.update(parse_qsl(text, keep_blank_values=True))
    elif kind == "multipart/form-data":
        form = await request.form()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values


def release_after(response: Response, *garbage: object) -> Response:
    """Free a large request's objects after its answer has been written, not before.

    A 50,000-recipient request leaves some 300,000 objects behind (decoded recipients, built
    messages, outcomes), and freeing them when the handler returns took ~30 ms that the client
    waited for. Starlette runs a response's background task once the body has been handed to
    the transport; the objects are freed on the loop's next turn, after smsgate's transport has
    sent what that turn wrote (smsgate/http_protocol.py).
    """
    response.background = BackgroundTask(_free_soon, list(garbage))
    return response


async def _free_soon(garbage: list[object]) -> None:
    asyncio.get_running_loop().call_soon(garbage.clear)


class Namespace(Route):
    """Every path at or under `path`, with any usual method: where a dialect answers the paths
    it does not know in its own format. Put it after the dialect's own routes.

    Starlette's `{rest:path}` is `.*`, which stops at a newline (`%0A` in the path): such a
    path fell through to the server's 404, in another format.
    """

    def __init__(self, path: str, run: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, run, methods=EVERY_METHOD)
        self.path_regex = re.compile(f"^{re.escape(path)}(?:/.*)?$", re.DOTALL)
