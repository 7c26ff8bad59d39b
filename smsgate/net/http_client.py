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
PIPELINE_DEPTH = 16  # requests written together on one connection, at most
PIPELINE_SLOW = 0.001  # seconds between two pipelined answers that count as slow
PIPELINE_PAUSE = 10.0  # seconds an origin gets one request per connection, then tried again


class ServerDisconnected(ConnectionError):
    """The connection closed before a complete answer arrived."""


class BadResponse(ConnectionError):
    """The answer is not HTTP/1.x."""


class NotSent(ConnectionError):
    """No byte of the request was written: the connection could not be made (refused, timed
    out, no route). The server certainly did not take the request; another may (failover)."""


class RefusedTarget(NotSent):
    """The URL's host is, or resolves to, an address callbacks may not go to."""


class Unanswered(ServerDisconnected):
    """The connection closed before any byte of this request's answer: the server did not
    answer it (it may have read it). Sent once more on a new connection where allowed."""


class _Pending:
    """A request written (or about to be) on a connection, waiting for its answer."""

    __slots__ = ("behind", "deadline", "waiter")

    def __init__(self, waiter: asyncio.Future[tuple[int, bytes]], deadline: float) -> None:
        self.waiter = waiter
        self.deadline = deadline
        self.behind = False  # written while an earlier request on it was unanswered


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: requests answered in the order they were written (more
    than one outstanding when pipelined), each answer parsed as it arrives."""

    def __init__(self, max_body: int, pipelined: bool = False) -> None:
        self.max_body = max_body
        self.pipelined = pipelined  # writes wait for the end of the loop's turn, batched
        self.loop = asyncio.get_running_loop()  # made by create_connection, in its loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.queue: deque[_Pending] = deque()  # unanswered requests, oldest first
        self.out: list[bytes] = []  # requests of this turn, not yet written
        self.body: list[bytes] = []
        self.size = 0
        self.started = False  # any byte of the current answer seen
        self.headed = False  # the answer's headers are complete
        self.framed = False  # the answer has Content-Length or chunked encoding
        self.reusable = True  # more requests may go on it
        self.closed = False
        self.pooled = False  # among its origin's idle connections
        self.misbehaved = False  # closed or refused with requests behind the answered one
        self.idle_since = 0.0
        self.answered_at = 0.0  # monotonic time of the last answer
        self.gaps: list[float] = []  # seconds between answers to pipelined requests

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if self.transport is not None and self.transport.is_closing():
            return  # closed by us (an answer said so, a timeout): what follows is not read
        if not self.queue:  # nothing was asked: a server that talks out of turn
            self.misbehaved = True
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.closed or self.transport is None or self.transport.is_closing():
                return  # bytes after an answer that closes it: those behind go again
            self._fail(BadResponse(f"bad HTTP response: {exc}"))
            self.misbehaved = True
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if not self.queue:
            return
        if self.headed and not self.framed:
            self._finish()  # no length given: the body ends with the connection
        elif self.started:
            self._fail(ServerDisconnected("server closed the connection" + _reason(exc)))
        if len(self.queue) > 1 or (self.queue and self.queue[0].behind):
            self.misbehaved = True  # it dropped pipelined requests
        while self.queue:
            waiter = self.queue.popleft().waiter
            if not waiter.done():
                waiter.set_exception(Unanswered("server closed the connection" + _reason(exc)))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.lower()
        if key == b"content-length" or (key == b"transfer-encoding" and b"chunked" in value):
            self.framed = True

    def on_message_begin(self) -> None:
        self.started = True

    def on_headers_complete(self) -> None:
        self.headed = True

    def on_body(self, body: bytes) -> None:
        room = self.max_body - self.size
        if room > 0:
            self.body.append(body[:room])
        self.size += len(body)

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive() or self.size > self.max_body:
            self.reusable = False  # the server closes it, or its answers are not to be read
        done = self._finish()
        if done is not None and done.behind:
            now = time.monotonic()
            self.gaps.append(now - self.answered_at)
            self.answered_at = now
        else:
            self.answered_at = time.monotonic()
        if not self.reusable:
            if self.queue:
                self.misbehaved = True  # requests behind one it will not follow up
            self.close()

    # requests
    def send(self, data: bytes, deadline: float) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        loop = self.loop
        pending = _Pending(loop.create_future(), deadline)
        pending.behind = bool(self.queue)
        self.queue.append(pending)
        if not self.pipelined:
            self.transport.write(data)
        elif self.out:
            self.out.append(data)
        else:  # the first of this turn: the others join it, one write for all
            self.out.append(data)
            loop.call_soon(self.flush)
        return pending.waiter

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.out))  # (closing: connection_lost fails them)
        self.out = []

    def timed_out(self) -> None:
        self._fail(TimeoutError("no answer in time"))
        self.close()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.transport.close()

    def _finish(self) -> _Pending | None:
        """The oldest request's answer is complete: its result, and ready for the next."""
        if not self.queue:
            return None
        pending = self.queue.popleft()
        if not pending.waiter.done():
            status = self.parser.get_status_code()
            pending.waiter.set_result((status, b"".join(self.body)))
        self.body, self.size = [], 0
        self.started = self.headed = self.framed = False
        return pending

    def _fail(self, exc: Exception) -> None:
        if self.queue:
            waiter = self.queue.popleft().waiter
            if not waiter.done():
                waiter.set_exception(exc)


Origin = tuple[str, str, int]  # scheme, host, port
# A request head's template (HttpClient._shape): origin, the head with a slot per value, and
# which of the given headers' values fill the slots (None: all of them, in order).
_Shape = tuple[Origin, str, tuple[int, ...] | None]


class HttpClient:
    """Pooled HTTP/1.1 requests: a connection per request in flight (the caller bounds how many
    run at once: the notifier's concurrency), kept for the next when the server allows.

    With `pipeline`, the requests made in one turn of the event loop to one origin go on one
    connection, in one write, up to PIPELINE_DEPTH, without waiting for each other's answers
    (HTTP/1.1 pipelining: answers come in order); the next turn's take an idle connection or
    a new one, so requests never queue behind answers already awaited. An origin that drops
    pipelined requests (closes, or answers one with `Connection: close`, with requests behind
    it) or answers them slowly one after another (most more than PIPELINE_SLOW apart: a
    server that works through them in turn) gets one request per connection for
    PIPELINE_PAUSE.

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
        pipeline: bool = False,
    ) -> None:
        """`allowed`: networks the operator opened to callbacks (callbacks.allow_networks);
        every other non-public address is refused. `retry_stale`: a request on a kept
        connection that closes before any answer is sent once more on a new one; a sender
        that must not send twice (a server may have read it before it closed) says False.
        `pipeline`: requests of one turn share a connection (above); needs `retry_stale`, as
        those behind one the server drops are sent again."""
        self.max_body = max_body
        self.retry_stale = retry_stale
        self.pipeline = pipeline and retry_stale
        self.user_agent = user_agent
        self.timeout = timeout
        self.allowed = tuple(allowed)
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._filling: dict[Origin, _Connection] = {}  # written to this turn, not yet flushed
        self._paused: dict[Origin, float] = {}  # no pipelining to it until this (monotonic)
        self._slow: dict[Origin, float] = {}  # its pipelined answers' share of slow gaps
        self._heads: dict[tuple[str, str], tuple[Origin, str]] = {}
        self._shapes: dict[tuple[str, str, tuple[str, ...]], _Shape] = {}
        self._busy: set[_Connection] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """(status, body up to max_body). Raises OSError (ConnectionError) or TimeoutError;
        NotSent (a ConnectionError) when no connection could be made, so nothing was sent."""
        origin, data = self._encode(method, url, headers, body)
        now = time.monotonic()
        deadline = now + self.timeout
        conn = self._pooled(origin, now)
        if conn is not None:
            # _exchange written out: a coroutine less to make and resume a request
            waiter = self._start(origin, conn, data, deadline)
            try:
                return await waiter
            except BaseException as exc:
                conn.close()  # cancelled or failed mid-answer: in no known state
                if (
                    not isinstance(exc, Unanswered)
                    or not self.retry_stale
                    or time.monotonic() >= deadline
                ):
                    raise
                # closed while idle, or dropped behind a pipelined request the server
                # answered last: once more on a new connection
            finally:
                self._settle(origin, conn)
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
        """The request's bytes: its head filled in from a template made once per method, URL
        and header names (a callback's are the same for every one to its URL, only the values
        differ), then the body. Building each head line by line was 2-4 µs a request."""
        values = tuple(headers.values())
        probe = "".join(values)
        if "\r" in probe or "\n" in probe:
            raise ValueError("a line break in a callback header")  # would forge headers
        shape = (method, url, tuple(headers))
        made = self._shapes.get(shape)
        if made is None:
            made = self._shape(method, url, shape[2])
        origin, template, keep = made
        if keep is not None:  # a Content-Length given: ours stands instead
            values = tuple(values[i] for i in keep)
        if method == "GET":
            return origin, (template % values).encode("latin-1")
        return origin, (template % (len(body), *values)).encode("latin-1") + body

    def _shape(self, method: str, url: str, names: tuple[str, ...]) -> _Shape:
        """A head's template: request line, Host, defaults for the headers not given, our
        Content-Length (not for GET), then each given header's name and a slot for its value;
        with the indexes of the values kept when a Content-Length was among them."""
        if any("\r" in k or "\n" in k for k in names):
            raise ValueError("a line break in a callback header")
        origin, prefix = self._head(method, url)
        lines = [prefix.replace("%", "%%")]
        given = {k.lower() for k in names}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}\r\n".replace("%", "%%"))
        if "accept" not in given:
            lines.append("Accept: */*\r\n")
        if method != "GET":
            if "content-type" not in given:
                lines.append("Content-Type: application/octet-stream\r\n")
            lines.append("Content-Length: %d\r\n")
        kept = [i for i, k in enumerate(names) if k.lower() != "content-length"]
        lines += [f"{names[i].replace('%', '%%')}: %s\r\n" for i in kept]
        lines.append("\r\n")
        made = origin, "".join(lines), None if len(kept) == len(names) else tuple(kept)
        if len(self._shapes) >= 1024:  # one-off URLs (query strings) must not pile up
            self._shapes.clear()
        self._shapes[(method, url, names)] = made
        return made

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

    def _pooled(self, origin: Origin, now: float) -> _Connection | None:
        """This turn's connection to the origin while it has room (pipelining), else the
        most recently used idle one (the least likely to be closed), else None. `now`:
        time.monotonic()."""
        if self.pipeline:
            conn = self._filling.get(origin)
            if (
                conn is not None
                and conn.out
                and conn.reusable
                and len(conn.out) < PIPELINE_DEPTH
                and self._paused.get(origin, 0.0) <= now
            ):
                return conn
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            conn.pooled = False
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
                        lambda: _Connection(self.max_body, self.pipeline),
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
        waiter = self._start(origin, conn, data, deadline)
        try:
            return await waiter
        except BaseException:
            conn.close()  # cancelled or failed mid-answer: the connection is in no known state
            raise
        finally:
            self._settle(origin, conn)

    def _start(
        self, origin: Origin, conn: _Connection, data: bytes, deadline: float
    ) -> asyncio.Future[tuple[int, bytes]]:
        """The request written (or joining this turn's write) on `conn`: its answer."""
        waiter = conn.send(data, deadline)
        if self.pipeline:
            self._filling[origin] = conn
        self._busy.add(conn)
        if self._sweep is None:
            self._sweep = conn.loop.call_later(SWEEP, self._expire)
        return waiter

    def _settle(self, origin: Origin, conn: _Connection) -> None:
        """After one of its answers: what it showed of pipelining to its origin, and the
        connection back among the idle ones once nothing is awaited on it."""
        if conn.misbehaved or conn.gaps:
            self._judge(origin, conn)
        if conn.queue:
            return
        self._busy.discard(conn)
        if not conn.reusable or conn.closed:
            conn.close()
        elif not conn.pooled:
            conn.pooled = True
            conn.idle_since = now = time.monotonic()
            idle = self._idle.setdefault(origin, deque())
            while idle and (idle[0].closed or idle[0].idle_since + IDLE_LIMIT <= now):
                idle.popleft().close()  # the oldest, unused for too long: not kept open
            idle.append(conn)

    def _judge(self, origin: Origin, conn: _Connection) -> None:
        """Pipelining to an origin pauses when it dropped pipelined requests, or when its
        pipelined answers come slowly one after another (one connection would then cap its
        rate: parallel connections serve it better)."""
        slow = self._slow.get(origin, 0.0)
        for seconds in conn.gaps:  # the share of slow gaps: one long stall (ours) is no sign
            slow += ((seconds > PIPELINE_SLOW) - slow) * 0.25
        conn.gaps.clear()
        if conn.misbehaved or slow > 0.5:
            conn.misbehaved = False
            self._paused[origin] = time.monotonic() + PIPELINE_PAUSE
            slow = 0.0
        self._slow[origin] = slow

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self._busy if c.queue and c.queue[0].deadline <= now]:
            conn.timed_out()  # those behind it are sent again on another (Unanswered)
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
