"""Bare ASGI helpers for the hottest routes, which skip Starlette's Request and Response.

A native single send costs about 9 µs less this way (routing, the Request and Headers objects,
the Response's header building): a fifth of the handler's whole budget. Only routes that a load
hits per message use them; every other route stays a Starlette endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from .. import logs
from ..core.errors import ErrorCode, GatewayError

RawHandler = Callable[[Scope, Receive, Send], Awaitable[None]]
FastRoutes = Mapping[tuple[str, str], RawHandler]  # (method, path) -> handler

_JSON = (b"content-type", b"application/json")
REQUEST_ID = b"x-request-id"  # the request's id, taken from it or made (smsgate/logs.py)
# The server's one-call answer (smsgate/http_protocol.py): head lines, as uvicorn writes them
ANSWER = "smsgate.answer"
_JSON_HEAD = b"content-type: application/json\r\ncontent-length: %d\r\n"
_NONE: Mapping[str, Any] = {}


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower-case, as ASGI servers deliver names)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def check_declared_length(declared: str | bytes | None, limit: int) -> None:
    """Refuse a body whose Content-Length says it is over `limit`, before reading any of it."""
    if declared is None:
        return
    try:
        too_large = int(declared) > limit
    except ValueError:
        raise GatewayError(ErrorCode.BAD_REQUEST, "bad Content-Length") from None
    if too_large:
        raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"request body over {limit} bytes")


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes (BODY_TOO_LARGE) without reading it all."""
    check_declared_length(header(scope, b"content-length"), limit)
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnect()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"request body over {limit} bytes")
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise GatewayError(ErrorCode.BODY_TOO_LARGE, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def respond_json(send: Send, status: int, body: bytes, scope: Scope | None = None) -> None:
    """The answer, with the request's X-Request-ID (its status noted for the access log and
    the metrics): without wrapping `send`, a fast route's answer costs no more calls. Given
    the request's `scope`, in one call where its server offers that (the `smsgate.answer`
    extension of smsgate/http_protocol.py), with the same bytes as the two sends."""
    context = logs.CONTEXT.get()
    if context is not None:
        context.status = status
    if scope is not None:
        offered = scope.get("extensions", _NONE).get(ANSWER)
        if offered is not None:
            answer = offered["answer"]
            head = _JSON_HEAD % len(body)
            if context is not None:
                head += b"x-request-id: %s\r\n" % context.raw_id
            if answer(send, status, head, body):
                return
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if context is not None:
        headers.append((REQUEST_ID, context.raw_id))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Answered:
    """An ASGI send for answers made elsewhere (Starlette's responses): it adds the request's
    X-Request-ID to the answer's head and notes its status, as respond_json does."""

    __slots__ = ("context", "send")

    def __init__(self, send: Send, context: logs.RequestContext) -> None:
        self.send = send
        self.context = context

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.context.status = message["status"]
            message["headers"] = [*message.get("headers", ()), (REQUEST_ID, self.context.raw_id)]
        await self.send(message)
