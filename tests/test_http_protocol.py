"""The HTTP protocol smsgate serves with: a response's head and body leave in one send, and
a connection must send its request heads in time."""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

import tests.support.servers as servers
from smsgate.config import Config, load
from smsgate.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport
from smsgate.server import http_protocol
from tests.support.servers import Gateway, account, start_gateway


class Recording:
    """The socket transport's side: what was written, and in how many calls."""

    def __init__(self, transport: Any = None) -> None:
        self.inner = transport
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.events.append("write")
        if self.inner is not None:
            self.inner.write(data)

    def close(self) -> None:
        self.closing = True
        self.events.append("close")
        if self.inner is not None:
            self.inner.close()

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def is_closing(self) -> bool:
        return self.inner.is_closing() if self.inner is not None else self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self.inner is not None:
            return self.inner.get_extra_info(name, default)
        return ("127.0.0.1", 1234) if name == "peername" else default

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_writes_of_one_turn_leave_as_one_write() -> None:
    inner = Recording()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert inner.writes == []  # held until the loop's turn ends
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"next"]  # a later turn: its own write, in order


async def test_close_sends_what_was_written_first() -> None:
    inner = Recording()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last response")
    transport.close()
    assert inner.events == ["write", "close"]
    assert inner.writes == [b"last response"]
    await asyncio.sleep(0)
    assert inner.writes == [b"last response"]  # not sent twice


async def test_abort_and_a_vanished_peer_send_nothing() -> None:
    inner = Recording()
    transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"dropped")
    transport.abort()
    await asyncio.sleep(0)
    assert inner.writes == []

    gone = Recording()
    gone.closing = True  # the connection was lost before the loop's turn ended
    transport = CoalescingTransport(gone, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"too late")
    await asyncio.sleep(0)
    assert gone.writes == []
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1234)


class _Counted(CoalescingHttpToolsProtocol):
    """Records what reaches the real socket transport, under the coalescing one."""

    seen: ClassVar[list[Recording]] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        recording = Recording(transport)
        self.seen.append(recording)
        super().connection_made(recording)  # type: ignore[arg-type]


@pytest.fixture
async def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
    _Counted.seen = []
    monkeypatch.setattr(servers, "HTTP_PROTOCOL", _Counted)
    gw = await start_gateway(servers.test_config(f"sqlite:///{tmp_path}/smsgate.db"))
    await gw.provision(account("acme"))
    try:
        yield gw
    finally:
        await gw.stop()


def _port(gateway: Gateway) -> int:
    return int(gateway.url.rsplit(":", 1)[1])


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


async def test_a_send_is_answered_in_one_write(counted: Gateway) -> None:
    body = b'{"to":"+79651234567","text":"Your code is 1234","from":"ACME"}'
    request = (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )

    def exchange() -> bytes:
        with socket.create_connection(("127.0.0.1", _port(counted)), timeout=10) as sock:
            sock.sendall(request)
            return _read_until_closed(sock)

    answer = await asyncio.to_thread(exchange)
    assert answer.startswith(b"HTTP/1.1 201 ")
    assert b'"status":"queued"' in answer
    [connection] = _Counted.seen
    assert connection.writes == [answer]  # head and body: one write on the socket


async def test_pipelined_requests_then_close_get_every_answer(counted: Gateway) -> None:
    requests = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /api/v1/balance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )

    def exchange() -> bytes:
        with socket.create_connection(("127.0.0.1", _port(counted)), timeout=10) as sock:
            sock.sendall(requests)
            return _read_until_closed(sock)

    answer = await asyncio.to_thread(exchange)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert b'"balance":"1000.0000"' in answer
    assert answer.endswith(b"}")  # the last body arrived before the server closed


class _TimerCount:
    """The loop as a protocol sees it, counting the timers it is asked for."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.timers = 0

    def call_later(self, delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        self.timers += 1
        return self.loop.call_later(delay, callback, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)


async def test_a_keep_alive_connection_keeps_one_timer() -> None:
    """uvicorn armed a keep-alive timer after every answer and cancelled it at the next request:
    under load, a timer per request that never fired."""
    from uvicorn.config import Config as UvicornConfig
    from uvicorn.server import ServerState

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = UvicornConfig(app, proxy_headers=False, log_level="warning")
    config.load()
    loop = _TimerCount(asyncio.get_running_loop())
    protocol = CoalescingHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    inner = Recording()
    protocol.connection_made(inner)  # type: ignore[arg-type]
    for n in range(1, 6):
        protocol.data_received(HEALTH)
        await asyncio.wait_for(_until(lambda n=n: len(inner.writes) == n), 5)  # type: ignore[misc]
    assert loop.timers == 2  # the first head's, then one keep-alive timer for all the waits
    protocol.connection_lost(None)


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


# Request-head and keep-alive timeouts, against a real server on real sockets.

HEADER_TIMEOUT = 0.5
KEEP_ALIVE = 2.0
SLACK = 1.0  # the bar: closed within header_timeout + 1 s


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[Gateway]:
    config = servers.test_config(
        f"sqlite:///{tmp_path}/smsgate.db",
        header_timeout=HEADER_TIMEOUT,
        keep_alive_timeout=KEEP_ALIVE,
    )
    gw = await start_gateway(config)
    await gw.provision(account("acme"))
    try:
        yield gw
    finally:
        await gw.stop()


def _connect(gateway: Gateway) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(gateway)), timeout=10)


def _closed_after(sock: socket.socket, since: float) -> tuple[float, bytes]:
    """Read until the server closes: how long after `since` it did, and what it sent."""
    answer = _read_until_closed(sock)
    return time.monotonic() - since, answer


def _read_response(sock: socket.socket) -> bytes:
    """One response with a content-length body, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


async def test_a_silent_connection_is_closed_after_the_header_timeout(timed: Gateway) -> None:
    def silent() -> tuple[float, bytes]:
        with _connect(timed) as sock:
            return _closed_after(sock, time.monotonic())

    elapsed, answer = await asyncio.to_thread(silent)
    assert HEADER_TIMEOUT - 0.1 <= elapsed <= HEADER_TIMEOUT + SLACK
    assert answer == b""  # no request began: nothing to answer


async def test_a_half_sent_head_is_closed_with_408(timed: Gateway) -> None:
    def half() -> tuple[float, bytes]:
        with _connect(timed) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Le")
            return _closed_after(sock, started)

    elapsed, answer = await asyncio.to_thread(half)
    assert HEADER_TIMEOUT - 0.1 <= elapsed <= HEADER_TIMEOUT + SLACK
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close\r\n" in answer


async def test_a_slow_but_complete_request_is_served(timed: Gateway) -> None:
    """A head trickled in within the timeout is served; so is a body that comes later than the
    timeout after its head (the timeout is the head's only)."""
    body = b'{"to":"+79651234567","text":"Your code is 1234","from":"ACME"}'
    head = (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )

    def slow() -> bytes:
        with _connect(timed) as sock:
            for n in range(0, len(head), 40):  # ~0.3 s for the head, in pieces
                sock.sendall(head[n : n + 40])
                time.sleep(0.06)
            time.sleep(HEADER_TIMEOUT + 0.3)
            sock.sendall(body)
            return _read_until_closed(sock)

    answer = await asyncio.to_thread(slow)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]


async def test_an_idle_keep_alive_connection_lasts_the_keep_alive_timeout(
    timed: Gateway,
) -> None:
    def idle() -> tuple[float, bytes, bytes]:
        with _connect(timed) as sock:
            sock.sendall(HEALTH)
            first = _read_response(sock)
            return (*_closed_after(sock, time.monotonic()), first)

    elapsed, rest, first = await asyncio.to_thread(idle)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n")
    assert KEEP_ALIVE - 0.1 <= elapsed <= KEEP_ALIVE + SLACK  # not at the header timeout
    assert rest == b""


async def test_a_keep_alive_connection_serves_its_next_request(timed: Gateway) -> None:
    def twice() -> list[bytes]:
        with _connect(timed) as sock:
            sock.sendall(HEALTH)
            answers = [_read_response(sock)]
            time.sleep(HEADER_TIMEOUT + 0.3)  # idle longer than a head may take
            sock.sendall(HEALTH)
            answers.append(_read_response(sock))
            return answers

    answers = await asyncio.to_thread(twice)
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") for a in answers)


async def test_the_keep_alive_timeout_counts_from_the_last_answer(timed: Gateway) -> None:
    """The connection's one timer, set at the first answer, waits out the rest of the timeout
    after a later one."""

    def twice_then_idle() -> tuple[float, bytes]:
        with _connect(timed) as sock:
            sock.sendall(HEALTH)
            _read_response(sock)
            time.sleep(KEEP_ALIVE * 0.6)
            sock.sendall(HEALTH)
            _read_response(sock)
            return _closed_after(sock, time.monotonic())

    elapsed, rest = await asyncio.to_thread(twice_then_idle)
    assert KEEP_ALIVE - 0.1 <= elapsed <= KEEP_ALIVE + SLACK
    assert rest == b""


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        (b"GET /healthz HTTP/1.1\r\nHo", b"HTTP/1.1 408 "),  # part of a second head
        (b"\r\n", b""),  # blank lines, which begin no request
    ],
)
async def test_a_keep_alive_connection_must_finish_its_next_head(
    timed: Gateway, sent: bytes, answered: bytes
) -> None:
    """After the first byte of a later request, the head's timeout runs, not the keep-alive."""

    def stalled() -> tuple[float, bytes]:
        with _connect(timed) as sock:
            sock.sendall(HEALTH)
            _read_response(sock)
            started = time.monotonic()
            sock.sendall(sent)
            return _closed_after(sock, started)

    elapsed, answer = await asyncio.to_thread(stalled)
    assert HEADER_TIMEOUT - 0.1 <= elapsed <= HEADER_TIMEOUT + SLACK < KEEP_ALIVE
    assert answer.startswith(answered)


def test_the_timeouts_are_settings() -> None:
    config = load(env={"SMSGATE_HEADER_TIMEOUT": "0.5", "SMSGATE_KEEP_ALIVE_TIMEOUT": "3"})
    assert (config.header_timeout, config.keep_alive_timeout) == (0.5, 3.0)
    assert (Config().header_timeout, Config().keep_alive_timeout) == (10.0, 30.0)
    for key in ("SMSGATE_HEADER_TIMEOUT", "SMSGATE_KEEP_ALIVE_TIMEOUT"):
        with pytest.raises(ValueError, match=key[len("SMSGATE_") :].lower()):
            load(env={key: "0"})
    protocol = http_protocol(config)
    assert issubclass(protocol, CoalescingHttpToolsProtocol)
    assert (protocol.header_timeout, protocol.keep_alive_timeout) == (0.5, 3.0)


def test_the_uvicorn_internals_the_timeouts_use() -> None:
    """The head timeout hooks into uvicorn's HttpToolsProtocol: a new uvicorn that renames
    these fails here, not silently in production."""
    from uvicorn.protocols.http import httptools_impl

    hooks = ("on_message_begin", "on_headers_complete", "data_received", "connection_lost")
    # on_response_complete is replaced (one keep-alive timer per connection): what it calls
    used = ("on_response_complete", "_start_asgi_task", "timeout_keep_alive_handler")
    for name in hooks + used:
        assert callable(getattr(HttpToolsProtocol, name, None)), name
    assert httptools_impl.STATUS_LINE[408] == b"HTTP/1.1 408 Request Timeout\r\n"
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in (
        "self.timeout_keep_alive_task",
        "self.timeout_keep_alive,",
        "self.cycle",
        "self.server_state",
        "self.loop",
        "self.pipeline",
        "self.flow.resume_reading()",
        "self.server_state.total_requests += 1",
    ):
        assert attribute in source, attribute
    assert "self.response_complete" in inspect.getsource(httptools_impl.RequestResponseCycle)


async def _answered(request: bytes, one_call: bool) -> bytes:
    """What a connection writes for `request` when its app answers with respond_json, given
    the scope (the one-call answer) or not (uvicorn's two sends)."""
    import uvicorn
    from uvicorn.server import ServerState

    from smsgate.dialects.asgi import respond_json

    body = b'{"id":"0190-x","status":"queued"}'

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await respond_json(send, 201, body, scope if one_call else None)

    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Mon, 07 Dec 2026 20:00:00 GMT")]
    loop = asyncio.get_running_loop()
    protocol = CoalescingHttpToolsProtocol(
        config=config, server_state=state, app_state={}, _loop=loop
    )
    inner = Recording()
    protocol.connection_made(inner)  # type: ignore[arg-type]
    protocol.data_received(request)
    for _ in range(5):
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return b"".join(inner.writes)


@pytest.mark.parametrize("connection", [b"", b"Connection: close\r\n"])
async def test_a_one_call_answer_writes_the_two_sends_bytes(connection: bytes) -> None:
    """respond_json's answer through the scope's `smsgate.answer` (one call) is, byte for
    byte, what uvicorn's http.response.start and body sends write, keep-alive or not."""
    request = (
        b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n" + connection + b"\r\n{}"
    )
    one_call = await _answered(request, one_call=True)
    assert one_call.startswith(b"HTTP/1.1 201 Created\r\ndate: Mon, 07 Dec 2026")
    assert one_call.endswith(b'\r\n\r\n{"id":"0190-x","status":"queued"}')
    assert one_call == await _answered(request, one_call=False)


async def test_a_request_scope_offers_the_one_call_answer() -> None:
    from smsgate.http_protocol import ANSWER

    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope.get("extensions", {}).get(ANSWER))
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    import uvicorn
    from uvicorn.server import ServerState

    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
    config.load()
    protocol = CoalescingHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    protocol.connection_made(Recording())  # type: ignore[arg-type]
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0)
    protocol.connection_lost(None)
    assert seen and callable(seen[0]["answer"])
