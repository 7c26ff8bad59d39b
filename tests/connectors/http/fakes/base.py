"""A fake provider's HTTP server on 127.0.0.1, with the faults an upstream connector must survive.

Each provider's fake (`fakes/<provider>.py`) is written from that provider's seed document,
never from smsgate's dialects: it subclasses `FakeProvider` and answers `handle(request)`.
This base reads requests (httptools), keeps every one it read (`requests`), and before a
request reaches `handle` applies the next fault queued with `fail(...)`, or `fault` for all:

- "5xx":     answered `error_status` (503) with a short body; the request is not handled;
- "timeout": handled (the provider took it, when `takes`), then never answered;
- "slow":    handled and answered after `slow_delay` seconds;
- "reset":   handled when `takes`, then the connection is cut (RST) with no answer;
- "refuse":  the listener closed: `await fake.refuse()` makes connections be refused.

"Take and never report" is the provider's own: each fake has `never_report`, under which it
takes messages and neither pushes nor pulls a final status for them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
from collections import deque
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, urlsplit

import httptools

FAULTS = ("5xx", "timeout", "slow", "reset")


class Request(NamedTuple):
    method: str
    target: str  # path and query as sent
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    raw: bytes  # the request as it came: request line, headers and body

    def json(self) -> Any:
        return json.loads(self.body)

    def basic(self) -> tuple[str, str] | None:
        """(user, password) of an `Authorization: Basic` header, or None."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(token).decode().partition(":")
        return user, password


class Reply(NamedTuple):
    status: int
    body: bytes = b""
    headers: dict[str, str] = {}  # noqa: RUF012  (a NamedTuple default: never mutated)

    @classmethod
    def json(cls, status: int, value: Any, **headers: str) -> Reply:
        body = json.dumps(value, ensure_ascii=False).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _Conn(asyncio.Protocol):
    def __init__(self, fake: FakeProvider) -> None:
        self.fake = fake
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.raw: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.fake.connections += 1
        self.fake.open.add(transport)  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.fake.open.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.raw.append(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(Reply(400, b"bad request"))
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        target = self.url.decode("latin-1")
        parts = urlsplit(target)
        request = Request(
            method=self.parser.get_method().decode(),
            target=target,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=self.headers,
            body=b"".join(self.body),
            raw=b"".join(self.raw),
        )
        self._reset()
        self.fake.requests.append(request)
        self.fake.arrivals.append(asyncio.get_running_loop().time())
        asyncio.get_running_loop().create_task(self._answer(request))

    async def _answer(self, request: Request) -> None:
        self.fake.in_flight += 1
        self.fake.most_in_flight = max(self.fake.most_in_flight, self.fake.in_flight)
        try:
            await self._answer_with_faults(request)
        finally:
            self.fake.in_flight -= 1

    async def _answer_with_faults(self, request: Request) -> None:
        fake = self.fake
        fault, takes = fake.next_fault()
        if fault == "5xx":
            self._write(Reply(fake.error_status, b"Service temporarily unavailable"))
            return
        reply = fake.handle(request) if takes or fault in (None, "slow") else None
        if fault == "timeout":
            fake.unanswered.append(request)
            return  # the connection stays open and silent
        if fault == "reset":
            self._cut()
            return
        if fault == "slow":
            await asyncio.sleep(fake.slow_delay)
        assert reply is not None
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        head = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"]
        head += [f"{k}: {v}\r\n" for k, v in reply.headers.items()]
        head.append(f"Content-Length: {len(reply.body)}\r\n\r\n")
        self.transport.write("".join(head).encode() + reply.body)

    def _cut(self) -> None:
        """Close with a TCP reset: SO_LINGER 0, then close."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class FakeProvider:
    """A provider's API on 127.0.0.1 (`url`); subclasses answer `handle`."""

    error_status = 503
    slow_delay = 0.3

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.unanswered: list[Request] = []
        self.connections = 0
        self.open: set[asyncio.Transport] = set()
        self.arrivals: list[float] = []  # loop time each request was read
        self.in_flight = 0  # requests read whose answer is being made (a slow one: a while)
        self.most_in_flight = 0
        self.fault: str | None = None  # applied to every request while set
        self.takes = True  # whether a "timeout" or "reset" request was handled first
        self.never_report = False
        self._faults: deque[tuple[str, bool]] = deque()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def fail(self, fault: str, count: int = 1, *, takes: bool = True) -> None:
        """The next `count` requests meet `fault` (see the module's docstring)."""
        assert fault in FAULTS, fault
        self._faults.extend([(fault, takes)] * count)

    def next_fault(self) -> tuple[str | None, bool]:
        if self._faults:
            return self._faults.popleft()
        return self.fault, self.takes

    async def start(self) -> Self:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def refuse(self) -> None:
        """Stop listening and close the open connections: new ones are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self.open):
            transport.close()
        await asyncio.sleep(0.01)  # the clients see their connections end

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
