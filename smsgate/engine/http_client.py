"""A small keep-alive HTTP/1.1 client for callbacks: one request, its status and (bounded) body.

Why not aiohttp here: a callback POST through aiohttp's client costs 80-100 µs of CPU on this
machine kind; the same request on a pooled connection written and parsed directly (httptools,
the parser uvicorn already uses; yarl, aiohttp's URL library) costs about 11 µs. At thousands of
callbacks per second that is most of a core. Callbacks need little: a method, a URL, headers and
a body; redirects are not followed; no cookies, proxies or compression.

Connections are kept per origin and reused while the server keeps them alive. A request on a
reused connection that the server had closed meanwhile (EOF before any answer) is sent once
more on a new one; the receiver dedupes on the event id, as for any retry.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections import deque
from collections.abc import Mapping

import httptools
from yarl import URL

IDLE_LIMIT = 15.0  # seconds an idle connection is kept: below common server keep-alive limits


class ServerDisconnected(ConnectionError):
    """The connection closed before a complete answer arrived."""


class BadResponse(ConnectionError):
    """The answer is not HTTP/1.x."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.started = False  # any byte of the current answer seen
        self.headed = False  # the answer's headers are complete
        self.framed = False  # the answer has Content-Length or chunked encoding
        self.reusable = False
        self.closed = False
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.started = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(BadResponse(f"bad HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headed and not self.framed:
            self._finish()  # no length given: the body ends with the connection
        else:
            self._fail(ServerDisconnected("server closed the connection" + _reason(exc)))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        if key == b"content-length" or (key == b"transfer-encoding" and b"chunked" in value):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headed = True

    def on_body(self, body: bytes) -> None:
        room = self.max_body - self.size
        if room > 0:
            self.body.append(body[:room])
        self.size += len(body)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        self._finish()

    # requests
    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.body, self.size = [], 0
        self.started = self.headed = self.framed = self.reusable = False
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.close()

    def _finish(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def _fail(self, exc: Exception) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class HttpClient:
    """Pooled HTTP/1.1 requests; at most `per_host` connections per origin at a time."""

    def __init__(self, max_body: int = 65536, per_host: int = 64, user_agent: str = "smsgate"):
        self.max_body = max_body
        self.per_host = per_host
        self.user_agent = user_agent
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._limits: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """(status, body up to max_body). Raises OSError (ConnectionError) or TimeoutError."""
        target = URL(url)
        if target.scheme not in ("http", "https") or not target.raw_host:
            raise ConnectionError(f"cannot send to {target.scheme}: URLs")
        port = target.port or (443 if target.scheme == "https" else 80)
        origin = (target.scheme, target.raw_host, port)
        data = self._encode(method, target, headers, body)
        limit = self._limits.get(origin)
        if limit is None:
            limit = self._limits[origin] = asyncio.Semaphore(self.per_host)
        async with limit:
            conn = self._pooled(origin)
            if conn is not None:
                try:
                    return await self._exchange(origin, conn, data)
                except ServerDisconnected:
                    if conn.started:
                        raise
                    # it had been closed while idle: once more on a new connection
            conn = await self._connect(origin)
            return await self._exchange(origin, conn, data)

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def _encode(self, method: str, target: URL, headers: Mapping[str, str], body: bytes) -> bytes:
        lines = [f"{method} {target.raw_path_qs or '/'} HTTP/1.1", f"Host: {_host(target)}"]
        given = {k.lower() for k in headers}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}")
        if "accept" not in given:
            lines.append("Accept: */*")
        if target.raw_user is not None and "authorization" not in given:
            lines.append("Authorization: Basic " + _basic(target))
        if method != "GET":
            if "content-type" not in given:
                lines.append("Content-Type: application/octet-stream")
            lines.append(f"Content-Length: {len(body)}")
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if method != "GET" else head

    def _pooled(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to be closed
            if not conn.closed and conn.idle_since + IDLE_LIMIT > now:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._tls() if scheme == "https" else None
        _, conn = await loop.create_connection(
            lambda: _Connection(self.max_body),
            host,
            port,
            ssl=context,
            server_hostname=host if context is not None else None,
        )
        return conn

    async def _exchange(
        self, origin: tuple[str, str, int], conn: _Connection, data: bytes
    ) -> tuple[int, bytes]:
        try:
            answer = await conn.send(data)
        except BaseException:
            conn.close()  # cancelled or failed mid-answer: the connection is in no known state
            raise
        if conn.reusable and not conn.closed and conn.size <= self.max_body:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(origin, deque()).append(conn)
        else:
            conn.close()
        return answer

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl


def _host(target: URL) -> str:
    host = target.raw_host or ""
    if ":" in host:
        host = f"[{host}]"
    if target.explicit_port is not None and target.explicit_port != _default_port(target):
        host += f":{target.explicit_port}"
    return host


def _default_port(target: URL) -> int:
    return 443 if target.scheme == "https" else 80


def _basic(target: URL) -> str:
    credentials = f"{target.user or ''}:{target.password or ''}"
    return base64.b64encode(credentials.encode()).decode()


def _reason(exc: Exception | None) -> str:
    return f": {exc}" if exc is not None else ""
