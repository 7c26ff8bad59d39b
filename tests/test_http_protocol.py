"""The HTTP protocol smsgate serves with: a response's head and body leave in one send."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import tests.support.servers as servers
from smsgate.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport
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
