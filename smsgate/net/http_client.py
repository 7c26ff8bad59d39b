"""A small keep-alive HTTP/1.1 client for callbacks: one request, its status and (bounded) body.

Why not aiohttp here: a callback POST through aiohttp's client costs 80-100 µs of CPU on this
machine kind; the same request on a pooled connection written and parsed directly (httptools,
the parser uvicorn already uses; yarl, aiohttp's URL library) costs about 11 µs. At thousands of
callbacks per second that is most of a core. Callbacks need little: a method, a URL, headers and
a body; redirects are not followed; no cookies, proxies or compression.

Connections are kept per origin and reused while the server keeps them alive. A request on a
reused connection that the server had closed meanwhile (EOF before any answer) is sent once
more on a new one; the receiver dedupes on the event id, as for any retry.

Targets: a new connection resolves the URL's host itself, checks every address it resolves to
(core.urls.refused_address: loopback, private, link-local, ... unless in `allowed`) and
connects to a checked address, keeping the name for Host and TLS (SNI and certificate). A name
that resolves to one refused address is refused as a whole (`RefusedTarget`), before any
connection: a DNS answer that changes between the accept and the callback (rebinding) cannot
lead a callback inside the network.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import ssl
import time
from collections import deque
from collections.abc import Mapping

import httptools
from yarl import URL

from ..core.urls import Address, Networks, described, literal_address, refused_address

IDLE_LIMIT = 15.0  # seconds an idle connection is kept: below common server keep-alive limits
SWEEP = 0.1  # seconds between looks for requests past their deadline


class ServerDisconnected(ConnectionError):
    """The connection closed before a complete answer arrived."""


class BadResponse(ConnectionError):
    """The answer is not HTTP/1.x."""


class NotSent(ConnectionError):
    """No byte of the request was written: the connection could not be made (refused, timed
    out, no route). The server certainly did not take the request; another may (failover)."""


class RefusedTarget(NotSent):
    """The URL's host is, or resolves to, an address callbacks may not go to."""


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
        self.deadline = 0.0

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

    def timed_out(self) -> None:
        self._fail(TimeoutError("no answer in time"))
        self.close()

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


Origin = tuple[str, str, int]  # scheme, host, port


class HttpClient:
    """Pooled HTTP/1.1 requests: a connection per request in flight (the caller bounds how many
    run at once: the notifier's concurrency), kept for the next when the server allows.

    Each request's time is bounded by `timeout`: a sweep over the requests in flight, a few
    times a second while there are any, ends those past their deadline (cheaper than a timer
    per request, and a callback's limit need not be exact to the millisecond).
    """

    def __init__(
        self,
        max_body: int = 65536,
        user_agent: str = "smsgate",
        timeout: float = 10.0,
        allowed: Networks = (),
        retry_stale: bool = True,
    ) -> None:
        """`allowed`: networks the operator opened to callbacks (callbacks.allow_networks);
        every other non-public address is refused. `retry_stale`: a request on a kept
        connection that closes before any answer is sent once more on a new one; a sender
        that must not send twice (a server may have read it before it closed) says False."""
        self.max_body = max_body
        self.retry_stale = retry_stale
        self.user_agent = user_agent
        self.timeout = timeout
        self.allowed = tuple(allowed)
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._heads: dict[tuple[str, str], tuple[Origin, str]] = {}
        self._busy: set[_Connection] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """(status, body up to max_body). Raises OSError (ConnectionError) or TimeoutError;
        NotSent (a ConnectionError) when no connection could be made, so nothing was sent."""
        origin, data = self._encode(method, url, headers, body)
        deadline = time.monotonic() + self.timeout
        conn = self._pooled(origin)
        if conn is not None:
            try:
                return await self._exchange(origin, conn, data, deadline)
            except ServerDisconnected:
                if conn.started or not self.retry_stale:
                    raise
                # it had been closed while idle: once more on a new connection
        try:
            conn = await self._connect(origin, deadline)
        except (NotSent, ssl.SSLError):
            raise  # a certificate refused keeps its own type: callers tell it apart
        except (OSError, TimeoutError) as exc:
            raise NotSent(f"cannot connect: {type(exc).__name__}: {exc}") from exc
        return await self._exchange(origin, conn, data, deadline)

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def _encode(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[Origin, bytes]:
        origin, prefix = self._head(method, url)
        probe = "".join(headers) + "".join(headers.values())
        if "\r" in probe or "\n" in probe:
            raise ValueError("a line break in a callback header")  # would forge headers
        lines = [prefix]
        given = {k.lower() for k in headers}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}\r\n")
        if "accept" not in given:
            lines.append("Accept: */*\r\n")
        if method != "GET":
            if "content-type" not in given:
                lines.append("Content-Type: application/octet-stream\r\n")
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines += [f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length"]
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return origin, head + body if method != "GET" else head

    def _head(self, method: str, url: str) -> tuple[Origin, str]:
        """Origin, request line, Host (and Basic credentials from the URL): the same for every
        callback to one URL, so parsed once."""
        cached = self._heads.get((method, url))
        if cached is not None:
            return cached
        target = URL(url)
        if target.scheme not in ("http", "https") or not target.raw_host:
            raise ConnectionError(f"cannot send to {target.scheme}: URLs")
        origin = (target.scheme, target.raw_host, target.port or _default_port(target))
        prefix = f"{method} {target.raw_path_qs or '/'} HTTP/1.1\r\nHost: {_host(target)}\r\n"
        if target.raw_user is not None:
            prefix += f"Authorization: Basic {_basic(target)}\r\n"
        if len(self._heads) >= 1024:  # one-off URLs (query strings) must not pile up
            self._heads.clear()
        self._heads[(method, url)] = origin, prefix
        return origin, prefix

    def _pooled(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to be closed
            if not conn.closed and conn.idle_since + IDLE_LIMIT > now:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: Origin, deadline: float) -> _Connection:
        """A connection to a checked address of the origin's host (the first that answers)."""
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._tls() if scheme == "https" else None
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            addresses = await self._addresses(host, port)
            failure: OSError | None = None
            for address in addresses:
                try:
                    _, conn = await loop.create_connection(
                        lambda: _Connection(self.max_body),
                        str(address),
                        port,
                        ssl=context,
                        server_hostname=host if context is not None else None,
                    )
                    return conn
                except OSError as exc:
                    failure = exc
        assert failure is not None  # _addresses returns at least one
        raise failure

    async def _addresses(self, host: str, port: int) -> list[Address]:
        """Every address `host` stands for, each checked; RefusedTarget if any is refused."""
        literal = literal_address(host)
        if literal is not None:
            found = [literal]
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            found = list(dict.fromkeys(_address(str(info[4][0])) for info in infos))
            if not found:
                raise OSError(f"{host} resolves to no address")
        for address in found:
            reason = refused_address(address, self.allowed)
            if reason is not None:
                shown = host if literal is not None else f"{host} resolves to {address}, which"
                raise RefusedTarget(
                    f"callback target refused: {shown} is {described(reason)}"
                    " (callbacks.allow_networks opens networks)"
                )
        return found

    async def _exchange(
        self, origin: Origin, conn: _Connection, data: bytes, deadline: float
    ) -> tuple[int, bytes]:
        conn.deadline = deadline
        self._busy.add(conn)
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(SWEEP, self._expire)
        try:
            answer = await conn.send(data)
        except BaseException:
            conn.close()  # cancelled or failed mid-answer: the connection is in no known state
            raise
        finally:
            self._busy.discard(conn)
        if conn.reusable and not conn.closed and conn.size <= self.max_body:
            conn.idle_since = now = time.monotonic()
            idle = self._idle.setdefault(origin, deque())
            while idle and (idle[0].closed or idle[0].idle_since + IDLE_LIMIT <= now):
                idle.popleft().close()  # the oldest, unused for too long: not kept open
            idle.append(conn)
        else:
            conn.close()
        return answer

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._busy if c.deadline <= now]:
            conn.timed_out()
        self._sweep = None
        if self._busy:
            self._sweep = asyncio.get_running_loop().call_later(SWEEP, self._expire)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])  # a zone index is no part of it


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
